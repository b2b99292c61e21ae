#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on a free local port and print its URL on stdout.
# Usage: scripts/pg-throwaway.sh DIR   (stop it with: pg_ctl -D DIR/data stop)
# initdb refuses to run as root, so as root the server runs as the 'postgres' user.
set -euo pipefail
dir=${1:?usage: pg-throwaway.sh DIR}
bin=$(dirname "$(readlink -f "$(command -v pg_ctl || echo /usr/lib/postgresql/15/bin/pg_ctl)")")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir"
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
  chown -R postgres "$dir"
  # the postgres user must be able to reach DIR: open the parents for traversal (mktemp -d makes them 0700)
  d=$(dirname "$(readlink -f "$dir")")
  while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
fi
as_pg "'$bin/initdb' -D '$dir/data' -U matcher --auth=trust -E UTF8 >'$dir/initdb.log' 2>&1"
as_pg "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"
as_pg "'$bin/createdb' -h 127.0.0.1 -p $port -U matcher matcher_test"
echo "postgresql://matcher@127.0.0.1:$port/matcher_test"
