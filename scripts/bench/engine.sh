#!/usr/bin/env bash
# make bench, the engine's part (also alone: `make bench-engine`): prints JSON lines.
#  - sync throughput and peak RSS of an Acessórias companies sync at SYNC_SIZES companies
#    (default "1000 100000"), the sandbox in a process of its own, beside the floor (the
#    same rows by one INSERT … UNNEST per 1,000; backend/examples/acessorias_sync.rs);
#  - the orchestrator's overhead with 1, 2 and 4 workers
#    (backend/examples/orchestrator_overhead.rs).
# Each on a fresh database. Times are reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
TARGET="${CARGO_TARGET_DIR:-target}"
[ -x "$TARGET/release/server" ] || make build >&2
cargo build --release --quiet -p backend --example acessorias_sync --example orchestrator_overhead >&2
eval "$(scripts/db.sh postgres)"
BASE="${DATABASE_URL%/*}"
fresh() {
  psql "$BASE/postgres" -qtA -v ON_ERROR_STOP=1 \
    -c "drop database if exists $1 with (force)" -c "create database $1" >&2
  echo "$BASE/$1"
}

SANDBOX=""
trap '[ -n "$SANDBOX" ] && kill $SANDBOX 2>/dev/null || true' EXIT
for n in ${SYNC_SIZES:-1000 100000}; do
  db=$(fresh portal_contmax_bench_sync)
  port=$((4100 + RANDOM % 500))
  "$TARGET/release/server" sandbox acessorias --companies "$n" --port "$port" >/dev/null &
  SANDBOX=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/_sandbox/stats" >/dev/null && break; sleep 0.1; done
  echo "[bench] Acessórias sync of $n companies" >&2
  out=$(DATABASE_URL="$db" SANDBOX_URL="http://127.0.0.1:$port" RUST_LOG=warn \
    "$TARGET/release/examples/acessorias_sync")
  echo "{\"sync\": $out, \"companies\": $n}"
  kill "$SANDBOX"; wait "$SANDBOX" 2>/dev/null || true; SANDBOX=""
done

echo "[bench] orchestrator overhead (1, 2 and 4 workers)" >&2
db=$(fresh portal_contmax_bench_engine)
out=$(DATABASE_URL="$db" RUST_LOG=warn "$TARGET/release/examples/orchestrator_overhead")
echo "{\"orchestrator\": $out}"
