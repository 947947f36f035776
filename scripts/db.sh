#!/usr/bin/env bash
# Finds or starts a Postgres and prints `export DATABASE_URL=...` for the given database
# name (default portal_contmax), creating the database when missing. Use:
#     eval "$(scripts/db.sh [dbname])"
# Order: DATABASE_URL when set (used as is: an existing Postgres or a Supabase database);
# else a Postgres answering on 127.0.0.1:5432 (user postgres, trust auth);
# else a private cluster under .data/pg on port 5544 (Debian's PostgreSQL installed when
# missing), run as the unprivileged `postgres` user when started as root.
set -euo pipefail
cd "$(dirname "$0")/.."
DB="${1:-portal_contmax}"
log() { printf '\033[1;34m[db]\033[0m %s\n' "$*" >&2; }

if [ -n "${DATABASE_URL:-}" ]; then
  echo "export DATABASE_URL='$DATABASE_URL'"
  exit 0
fi

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ -z "${PORTAL_PRIVATE_PG:-}" ] && answers 5432; then
  BASE="postgres://postgres@127.0.0.1:5432"
else
  PORT="${PORTAL_PG_PORT:-5544}"
  DATA="$PWD/.data/pg"
  RUN="$PWD/.data/pg-run"
  if ! answers "$PORT"; then
    BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$BIN" ]; then
      log "no PostgreSQL found: installing Debian's postgresql"
      if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi
      $SUDO apt-get update -qq
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    mkdir -p "$DATA" "$RUN"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
      chown -R postgres "$DATA" "$RUN"
      AS=(runuser -u postgres --)
    else
      AS=()
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
      log "initialising a private cluster in $DATA"
      "${AS[@]}" "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    log "starting the private cluster on 127.0.0.1:$PORT"
    "${AS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
      -o "-p $PORT -k $RUN -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  BASE="postgres://postgres@127.0.0.1:$PORT"
fi

PSQL=(psql "$BASE/postgres" -v ON_ERROR_STOP=1 -qtA)
if ! command -v psql >/dev/null; then
  PSQL=("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" "$BASE/postgres" -v ON_ERROR_STOP=1 -qtA)
fi
if [ "$("${PSQL[@]}" -c "select 1 from pg_database where datname = '$DB'")" != 1 ]; then
  log "creating database $DB"
  "${PSQL[@]}" -c "create database \"$DB\""
fi
echo "export DATABASE_URL='$BASE/$DB'"
