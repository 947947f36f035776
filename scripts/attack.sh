#!/usr/bin/env bash
# The attack suite's HTTP part (server/tests/attack_http.rs) against the release server:
# a fresh database with the demo tenants, the server as production runs it (default
# sign-in and run limits, PUBLIC_URL on https behind a proxy at 127.0.0.1, which
# TRUSTED_PROXIES names), then the ignored tests of attack_http.rs pointed at it.
# Needs `make build` (the release binary); the test binary is the one `make test-unit`
# builds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/release-server.sh
TARGET_DIR="${1:-target}"
PORT="${ATTACK_PORT:-3101}"
LOG="$TARGET_DIR/attack-server.log"
SECRET="attack-$(date +%s%N)-secret-of-enough-length"

release_server "$TARGET_DIR" portal_contmax_attack "$PORT" "$LOG" \
  JWT_SECRET="$SECRET" PUBLIC_URL="https://portal.contmax.example" \
  TRUSTED_PROXIES="127.0.0.1/32" RUST_LOG=warn

status=0
ATTACK_BASE_URL="http://127.0.0.1:$PORT" ATTACK_DATABASE_URL="$BASE/portal_contmax_attack" \
  ATTACK_JWT_SECRET="$SECRET" \
  cargo test --workspace --exclude frontend --features app/ssr --test attack_http -- \
  --ignored --test-threads=1 || status=$?
no_panic_in "$LOG" "under attack" || status=1
exit $status
