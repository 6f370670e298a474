#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (Debian's `postgresql` package), on loopback only.
#
#   Tests/postgres-server.sh run CMD…     initdb in a fresh temporary folder, start the server on a free
#                                        port of 127.0.0.1 (no other address, its socket in that folder),
#                                        create the database swiftnas_test, run CMD with
#                                          SWIFTNAS_TEST_POSTGRES_URL    postgresql://swiftnas@127.0.0.1:PORT/swiftnas_test
#                                          SWIFTNAS_TEST_POSTGRES_DIR    the folder (for stop/start below)
#                                          SWIFTNAS_TEST_POSTGRES_SCRIPT this script
#                                        then stop the server and remove the folder, also when CMD fails
#                                        or is interrupted; exits with CMD's status.
#   Tests/postgres-server.sh stop DIR    stop that server (fast shutdown: clients are disconnected)
#   Tests/postgres-server.sh start DIR   start it again on the same port
#
# The server never runs as root: as root, it runs as Debian's `postgres` user (runuser). Without the
# PostgreSQL binaries (the install failed), `run` says so and runs CMD without the variables; the tests
# that need the server then skip with a note.
set -euo pipefail

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_owner() {   # runs "$@" as the server's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
run)
  shift
  BIN=$(bin_dir)
  if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    echo "note: PostgreSQL is not installed; the tests that need a PostgreSQL server will skip"
    exec "$@"
  fi
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/swiftnas-pg.XXXXXX")
  chmod 755 "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "$PORT" > "$DIR/port"
  cleanup() {
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  as_owner "$BIN/initdb" -D "$DIR/data" -U swiftnas --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log"; exit 1; }
  "$0" start "$DIR"
  as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U swiftnas swiftnas_test
  echo "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') for the tests on 127.0.0.1:$PORT ($DIR)"
  status=0
  SWIFTNAS_TEST_POSTGRES_URL="postgresql://swiftnas@127.0.0.1:$PORT/swiftnas_test" SWIFTNAS_TEST_POSTGRES_DIR="$DIR" \
    SWIFTNAS_TEST_POSTGRES_SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@" || status=$?
  exit $status
  ;;
stop)
  as_owner "$(bin_dir)/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
  ;;
start)
  # The server outlives this script: it must not inherit the caller's descriptors (a test runner's
  # pipes, or the socket by which Foundation's Process sees its child exit), or the caller waits on it.
  for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
  exec </dev/null >/dev/null
  PORT=$(cat "$2/port")
  as_owner "$(bin_dir)/pg_ctl" -D "$2/data" -l "$2/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $2 -c max_connections=50" start >/dev/null
  ;;
*)
  echo "usage: $0 run CMD… | stop DIR | start DIR" >&2
  exit 2
  ;;
esac
