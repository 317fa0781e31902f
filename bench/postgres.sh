#!/usr/bin/env bash
# Runs the whole-server benchmark on a throwaway PostgreSQL: initdb in a
# temporary directory, start it on a free loopback port (as the postgres
# user when run as root, like .ci/run), run
#   go run ./bench/cmd/junction-bench -db postgres "$@"
# and stop and delete the server afterwards.
#
#   bench/postgres.sh -rounds 3 -duration 5s -profile /tmp/junction-profiles
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)}
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "bench: no PostgreSQL server binaries found; install them with: apt-get install -y postgresql" >&2
  echo "       (or set PGBIN, or run the harness against your own server with JUNCTION_DATABASE_URL)" >&2
  exit 1
fi
command -v wrk >/dev/null || { echo "bench: wrk not found; install it with: apt-get install -y wrk" >&2; exit 1; }

PGDATA=$(mktemp -d /tmp/junction-bench-pg.XXXXXX)
chmod 755 "$PGDATA"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd -r -m postgres
  chown postgres "$PGDATA"
  RUNAS=(runuser -u postgres --)
else
  RUNAS=()
fi
PGPORT=${PGPORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
cleanup() {
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PGDATA"
}
trap cleanup EXIT
"${RUNAS[@]}" "$PGBIN/initdb" -D "$PGDATA/data" -U postgres -A trust --no-sync >/dev/null
# fsync off as in CI: the benchmark reads; durability of a throwaway server
# does not matter. max_connections covers three Junction pools and the raw one.
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data" \
  -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
  -l "$PGDATA/log" -w start >/dev/null
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE ROLE junction LOGIN SUPERUSER PASSWORD 'junction'"
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE junction_bench OWNER junction"

echo "bench: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT ($PGDATA)" >&2
JUNCTION_DATABASE_URL="postgres://junction:junction@127.0.0.1:$PGPORT/junction_bench?sslmode=disable" \
  go run ./bench/cmd/junction-bench -db postgres "$@"
