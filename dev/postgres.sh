#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster of adrail's own on 127.0.0.1:${ADRAIL_PG_PORT:-54322}, with pg_cron
# and pg_stat_statements preloaded as on Supabase. Trust auth on loopback only: it holds test data,
# nothing else. It listens on 127.0.0.1 and nothing else, whatever its postgresql.conf says (the
# address is given at start).
# Its files live in /tmp (ADRAIL_PG_DIR), not in the checkout: as root, the cluster runs as the
# postgres system user, which may not be able to enter the folder the checkout is in.
#   dev/postgres.sh start   create the cluster if missing, start it if stopped; prints DATABASE_URL
#   dev/postgres.sh stop    stop it (its data stays in $ADRAIL_PG_DIR)
#   dev/postgres.sh url     print DATABASE_URL
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
port="${ADRAIL_PG_PORT:-54322}"
dir="${ADRAIL_PG_DIR:-/tmp/adrail-postgres-$port}"
data="$dir/data"
sockets="$dir/run"
log="$dir/postgres.log"
url="postgresql://postgres:postgres@127.0.0.1:$port/postgres"

# initdb and postgres refuse to run as root: run them as the postgres system user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    as_pg mkdir -p "$sockets"
    cat >>"$data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$sockets'
cron.database_name = 'postgres'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  # Given at start, not in postgresql.conf, so that a cluster made by an earlier version gets them too.
  local options="-c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_cron,pg_stat_statements"
  if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "$options" start >/dev/null
  elif ! as_pg "$bin/psql" -h "$sockets" -p "$port" -U postgres -d postgres -Atc \
    "show shared_preload_libraries" | grep -q pg_stat_statements; then
    # Running since an earlier version of this script started it without pg_stat_statements.
    as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 -m fast -o "$options" restart >/dev/null
  fi
  echo "$url"
}

case "${1:-}" in
  start) start ;;
  stop) [ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true ;;
  url) echo "$url" ;;
  *) echo "usage: dev/postgres.sh start|stop|url" >&2; exit 2 ;;
esac
