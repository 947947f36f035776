#!/usr/bin/env bash
# End-to-end tests: a fresh database, the release server with demo users on port 3100,
# then Playwright driving Debian's Chromium. Stops the server on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${1:-target}"
DB=portal_contmax_e2e
PORT="${E2E_PORT:-3100}"

eval "$(scripts/db.sh postgres)"
BASE="${DATABASE_URL%/*}"
psql "$BASE/postgres" -qtA -v ON_ERROR_STOP=1 -c "drop database if exists $DB with (force)" -c "create database $DB"

# Outside test-results/, which Playwright empties when it starts.
LOG=end2end/server.log
# Heartbeats every second, so that a run's progress reaches the cards within a demo run.
# Every test signs in from 127.0.0.1, most as the same few demo users: the sign-in limits
# and the per-user run limit are the suite's, not an office's (their own tests run against
# the defaults).
DATABASE_URL="$BASE/$DB" DEMO_SEED=1 HEARTBEAT_SECS=1 LOGIN_ATTEMPTS_PER_ADDRESS=1000 \
  LOGIN_ATTEMPTS_PER_ACCOUNT=1000 RUNS_PER_USER_PER_MINUTE=1000 JWT_SECRET="e2e-$(date +%s%N)-secret-of-enough-length" \
  LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_OUTPUT_NAME=portal \
  RUST_LOG=info "$TARGET_DIR/release/server" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT

# cargo-leptos writes the site to target/site in the workspace (Leptos.toml), wherever
# CARGO_TARGET_DIR points; the binary is under the target dir.
# Wait for readiness (migrations + demo users), at most 60 s.
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 $SERVER 2>/dev/null; then cat "$LOG" >&2; echo "server exited" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$LOG" >&2; exit 1; }
# History the tests page through (130 rows for P&G).
psql "$BASE/$DB" -qtA -v ON_ERROR_STOP=1 -f end2end/fixtures/history.sql >/dev/null

cd end2end
status=0
BASE_URL="http://127.0.0.1:$PORT" npx playwright test || status=$?
cd ..
# A panic inside server rendering leaves a response unfinished rather than failing loudly:
# any panic in the server's log fails the run.
if grep -q "panicked" "$LOG"; then
  grep -B2 -A12 "panicked" "$LOG" | head -60 >&2
  echo "the server panicked during the end-to-end tests (log: $LOG)" >&2
  status=1
fi
exit $status
