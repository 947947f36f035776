#!/usr/bin/env bash
# Peak RSS of an Acessórias sync at 1,000 and 10,000 companies, the sandbox in a process of
# its own (`make bench-memory`): the companies pass, then companies and deliveries
# (WITH_DELIVERIES=1). Prints; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
TARGET="${CARGO_TARGET_DIR:-target}"
[ -x "$TARGET/release/server" ] || make build
cargo build --release --quiet -p backend --example acessorias_memory
eval "$(scripts/db.sh portal_contmax_bench)"
for n in 1000 10000; do
  port=$((4100 + RANDOM % 500))
  "$TARGET/release/server" sandbox acessorias --companies "$n" --port "$port" >/dev/null &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/_sandbox/stats" >/dev/null && break; sleep 0.1; done
  for deliveries in 0 1; do
    printf '%6s companies, deliveries %s: ' "$n" "$deliveries"
    WITH_DELIVERIES=$deliveries SANDBOX_URL="http://127.0.0.1:$port" \
      "$TARGET/release/examples/acessorias_memory"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
