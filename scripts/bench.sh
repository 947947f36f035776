#!/usr/bin/env bash
# make bench: the release server on port 3102 over a fresh database per size, loaded with
# BENCH_SIZES log rows (default "10000 1000000") over 500 tenants; pages and server
# functions timed beside their floors (scripts/bench/measure.py), the bundle's sizes, and
# how soon a run started through the API reaches an open page's live stream
# (scripts/bench/live.py), the dashboard's time to interactive in Chromium (end2end/bench/tti.mjs), then the engine's
# part (scripts/bench/engine.sh: sync throughput, orchestrator overhead). Prints one table
# and writes docs/benchmarks.md. Times are reported, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/release-server.sh
TARGET_DIR="${1:-target}"
PORT="${BENCH_PORT:-3102}"
SIZES="${BENCH_SIZES:-10000 1000000}"
DB=portal_contmax_bench
RESULTS=$(mktemp)
LOG=$(mktemp)

for rows in $SIZES; do
  if [ -n "${SERVER:-}" ]; then kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; fi
  release_server "$TARGET_DIR" "$DB" "$PORT" "$LOG" RUST_LOG=warn \
    LOGIN_ATTEMPTS_PER_ADDRESS=1000 LOGIN_ATTEMPTS_PER_ACCOUNT=1000 RUNS_PER_USER_PER_MINUTE=1000 \
    HEARTBEAT_SECS=1
  echo "[bench] loading $rows log rows" >&2
  psql "$BASE/$DB" -q -v rows="$rows" -f scripts/bench/seed.sql >/dev/null
  echo "[bench] measuring at $rows rows" >&2
  python3 scripts/bench/measure.py --base "http://127.0.0.1:$PORT" --db "$BASE/$DB" --rows "$rows" >>"$RESULTS"
done

echo "[bench] live status" >&2
contmax=$(psql "$BASE/$DB" -Atc "select id from public.organizacoes where slug = 'contmax'")
python3 scripts/bench/live.py --base "http://127.0.0.1:$PORT" --tenant "$contmax" >>"$RESULTS"

# This build's files, by the names in hash.txt (older builds' hashed files may still be
# there), and each page's part of the split wasm.
python3 scripts/bench/bundle.py "$TARGET_DIR/release/hash.txt" target/site/pkg >>"$RESULTS"

echo "[bench] time to interactive" >&2
(cd end2end && node bench/tti.mjs "http://127.0.0.1:$PORT") >>"$RESULTS"
# The engine's part with the web server stopped (two cores).
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
scripts/bench/engine.sh >>"$RESULTS"
python3 scripts/bench/report.py "$RESULTS"
