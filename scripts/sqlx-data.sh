#!/usr/bin/env bash
# sqlx's offline query data (.sqlx/): `write` regenerates it, `check` fails when the
# committed files differ from what the current queries and migrations produce.
# Both expand the query macros online against a fresh database with every migration applied.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-check}"
eval "$(scripts/db.sh postgres)"
BASE="${DATABASE_URL%/*}"
DB=portal_sqlx_data
psql "$BASE/postgres" -qtA -v ON_ERROR_STOP=1 -c "drop database if exists $DB with (force)" -c "create database $DB"
export DATABASE_URL="$BASE/$DB"
# The migrations are plain SQL: psql applies them, so this works while a changed query
# does not compile offline yet (the server's own migrate binary would need it to).
for f in migrations/*.sql; do
  psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 --single-transaction -f "$f" >/dev/null
done

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# The macros re-expand only when the crate recompiles: bump the mtime of backend's root
# for this check, then put the original back so the other builds stay fresh.
ROOT=backend/src/lib.rs
ORIG_MTIME=$(stat -c %Y "$ROOT")
touch "$ROOT"
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$OUT" cargo check --quiet -p backend --tests
touch -d "@$ORIG_MTIME" "$ROOT"

if [ "$MODE" = write ]; then
  rm -rf .sqlx && mkdir .sqlx && cp "$OUT"/*.json .sqlx/
  echo ".sqlx/ regenerated: $(ls .sqlx | wc -l) queries"
elif diff -r .sqlx "$OUT" >/dev/null; then
  echo ".sqlx/ is up to date ($(ls .sqlx | wc -l) queries)"
else
  diff -r .sqlx "$OUT" | head -20 >&2
  echo ".sqlx/ is stale: run 'make sqlx-prepare' and commit .sqlx/" >&2
  exit 1
fi
