#!/usr/bin/env bash
# The attack suite's HTTP part (server/tests/attack_http.rs) against the release server:
# a fresh database with the demo tenants, the server as production runs it (default
# sign-in and run limits, PUBLIC_URL on https behind a proxy at 127.0.0.1, which
# TRUSTED_PROXIES names), then the ignored tests of attack_http.rs pointed at it.
# Needs `make build` (the release binary) and the test build `make test-unit` makes.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${1:-target}"
DB=portal_contmax_attack
PORT="${ATTACK_PORT:-3101}"

eval "$(scripts/db.sh postgres)"
BASE="${DATABASE_URL%/*}"
psql "$BASE/postgres" -qtA -v ON_ERROR_STOP=1 -c "drop database if exists $DB with (force)" -c "create database $DB"

LOG="${TARGET_DIR}/attack-server.log"
SECRET="attack-$(date +%s%N)-secret-of-enough-length"
DATABASE_URL="$BASE/$DB" DEMO_SEED=1 JWT_SECRET="$SECRET" \
  PUBLIC_URL="https://portal.contmax.example" TRUSTED_PROXIES="127.0.0.1/32" \
  LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_OUTPUT_NAME=portal \
  RUST_LOG=warn "$TARGET_DIR/release/server" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 $SERVER 2>/dev/null; then cat "$LOG" >&2; echo "server exited" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$LOG" >&2; exit 1; }

status=0
ATTACK_BASE_URL="http://127.0.0.1:$PORT" ATTACK_DATABASE_URL="$BASE/$DB" ATTACK_JWT_SECRET="$SECRET" \
  cargo test --workspace --exclude frontend --features app/ssr --test attack_http -- \
  --ignored --test-threads=1 || status=$?
if grep -q "panicked" "$LOG"; then
  grep -B2 -A12 "panicked" "$LOG" | head -60 >&2
  echo "the server panicked under attack (log: $LOG)" >&2
  status=1
fi
exit $status
