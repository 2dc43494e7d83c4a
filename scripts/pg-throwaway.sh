#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and scripts: a temp data dir, a unix socket in it and a
# free local TCP port, run as an unprivileged user (initdb refuses root).
#   scripts/pg-throwaway.sh start   prints  DIR URL  (one line) once the server accepts connections
#   scripts/pg-throwaway.sh stop DIR   stops it and deletes DIR
set -euo pipefail

bin_dir() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && dirname "$(command -v initdb)" && return
  echo "no PostgreSQL server binaries (initdb) found; install the Debian package postgresql or set PG_BIN" >&2
  exit 2
}

# Runs a command as the cluster's owner: ourselves, or the unprivileged "postgres" user when root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

case "${1:-}" in
  start)
    BIN=$(bin_dir)
    DIR=$(mktemp -d -t genir-pg.XXXXXX)
    chmod 755 "$DIR"
    [ "$(id -u)" = 0 ] && { id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres; chown postgres "$DIR"; }
    PORT=$(free_port)
    as_owner "$BIN/initdb" -D "$DIR/data" -U genir --auth=trust --encoding=UTF8 --no-sync >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 1; }
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
      || { cat "$DIR/server.log" >&2; exit 1; }
    echo "$DIR postgres://genir@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    DIR=${2:?usage: pg-throwaway.sh stop DIR}
    [ -d "$DIR/data" ] && as_owner "$(bin_dir)/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
