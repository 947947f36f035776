# Sourced by scripts/e2e.sh and scripts/attack.sh: the release server on a fresh database.
#
#   release_server <target dir> <database name> <port> <log file> [VAR=value ...]
#
# Drops and creates the database, starts "$TARGET_DIR/release/server" with the demo tenants
# and the given environment, stops it when the calling script exits, and returns once
# /healthz answers (at most 60 s; the server's log is printed if it does not). Sets BASE
# (the Postgres URL without a database) and SERVER (the pid).

release_server() {
  local target_dir=$1 db=$2 port=$3 log=$4
  shift 4
  eval "$(scripts/db.sh postgres)"
  BASE="${DATABASE_URL%/*}"
  psql "$BASE/postgres" -qtA -v ON_ERROR_STOP=1 \
    -c "drop database if exists $db with (force)" -c "create database $db"
  # cargo-leptos writes the site to target/site in the workspace (Leptos.toml), wherever
  # CARGO_TARGET_DIR points; the binary is under the target dir.
  env DATABASE_URL="$BASE/$db" DEMO_SEED=1 \
    LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_OUTPUT_NAME=portal \
    "$@" "$target_dir/release/server" >"$log" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
  # Ready once migrations ran and the demo users exist.
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$SERVER" 2>/dev/null; then cat "$log" >&2; echo "server exited" >&2; exit 1; fi
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$log" >&2; exit 1; }
}

# Fails the calling script when the server's log shows a panic (a panic inside server
# rendering leaves a response unfinished rather than failing loudly).
no_panic_in() {
  local log=$1 what=$2
  if grep -q "panicked" "$log"; then
    grep -B2 -A12 "panicked" "$log" | head -60 >&2
    echo "the server panicked $what (log: $log)" >&2
    return 1
  fi
}
