#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL cluster on loopback, exported as ANZEBOT_TEST_POSTGRES_URL.
# Used by `make test` when the PostgreSQL server binaries are on the machine.
set -euo pipefail
PG_BIN=${PG_BIN:-$(dirname "$(readlink -f "$(command -v postgres)")")}
PORT=${PG_PORT:-54329}
DIR=$(mktemp -d /tmp/anzebot-pg.XXXXXX)
RUN_AS=()
if [ "$(id -u)" = "0" ]; then
  # The server refuses to run as root.
  chown postgres "$DIR" 2>/dev/null || { useradd -r postgres && chown postgres "$DIR"; }
  RUN_AS=(runuser -u postgres --)
fi
cleanup() { "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT
"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$DIR/data" -U anzebot --auth=trust -E UTF8 >/dev/null
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
export ANZEBOT_TEST_POSTGRES_URL="postgresql+asyncpg://anzebot@127.0.0.1:$PORT/postgres"
"$@"
