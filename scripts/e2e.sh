#!/usr/bin/env bash
# End-to-end tests: a fresh database, the release server with demo users on port 3100,
# then Playwright driving Debian's Chromium (all tests, or the arguments after the target
# directory). Stops the server on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/release-server.sh
TARGET_DIR="${1:-target}"
# Any further arguments go to Playwright (a file, -g "a title"): scripts/e2e.sh "$T" tests/live.spec.ts
shift || true
PORT="${E2E_PORT:-3100}"
# Outside test-results/, which Playwright empties when it starts.
LOG=end2end/server.log

# Heartbeats every second, so that a run's progress reaches the cards within a demo run.
# Every test signs in from 127.0.0.1, most as the same few demo users: the sign-in limits
# and the per-user run limit are the suite's, not an office's (their own tests run against
# the defaults, and the attack suite against the release server: scripts/attack.sh).
release_server "$TARGET_DIR" portal_contmax_e2e "$PORT" "$LOG" \
  HEARTBEAT_SECS=1 LOGIN_ATTEMPTS_PER_ADDRESS=1000 LOGIN_ATTEMPTS_PER_ACCOUNT=1000 \
  RUNS_PER_USER_PER_MINUTE=1000 JWT_SECRET="e2e-$(date +%s%N)-secret-of-enough-length" \
  RUST_LOG=info
# History the tests page through (130 rows for P&G).
psql "$BASE/portal_contmax_e2e" -qtA -v ON_ERROR_STOP=1 -f end2end/fixtures/history.sql >/dev/null

cd end2end
status=0
BASE_URL="http://127.0.0.1:$PORT" npx playwright test "$@" || status=$?
cd ..
no_panic_in "$LOG" "during the end-to-end tests" || status=1
exit $status
