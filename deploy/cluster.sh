#!/usr/bin/env bash
# Run a whole Switchboard cluster on this machine: redis-server, PostgreSQL,
# N `switchboard serve` nodes and nginx (deploy/nginx.conf) in front of them.
#
#   deploy/cluster.sh [N]        (or `make cluster NODES=N`), Ctrl-C stops everything
#
# Everything lives in $CLUSTER_DIR (default ./.cluster) and listens on 127.0.0.1 only:
#   nginx  :${LB_PORT:-8080}   nodes :8001..800N   redis :${REDIS_PORT:-6390}   postgres :${PG_PORT:-5440}
# Every process is started here and stopped by its PID on exit.
set -euo pipefail

NODES=${1:-${NODES:-3}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${CLUSTER_DIR:-$ROOT/.cluster}
LB_PORT=${LB_PORT:-8080}
REDIS_PORT=${REDIS_PORT:-6390}
PG_PORT=${PG_PORT:-5440}
FIRST_NODE_PORT=${FIRST_NODE_PORT:-8001}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
VENV=${VENV:-$ROOT/.venv}
PIDS=()

mkdir -p "$DIR"/{logs,nginx/logs,nginx/temp,data}
chmod 777 "$DIR/nginx/temp" "$DIR/nginx/logs"

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_all() {
  trap - INT TERM EXIT
  echo "stopping cluster"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -f "$DIR/pg/data/postmaster.pid" ]; then
    kill -INT "$(head -1 "$DIR/pg/data/postmaster.pid")" 2>/dev/null || true
  fi
  wait || true
}
trap stop_all INT TERM EXIT

wait_port() {  # wait_port PORT NAME
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$2 did not start on port $1" >&2; exit 1
}

# Redis: no persistence; presence and the event log rebuild themselves after a restart.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$DIR" --logfile "$DIR/logs/redis.log" &
PIDS+=($!)
wait_port "$REDIS_PORT" redis

# PostgreSQL: runs as the postgres user in a directory it owns.
if [ ! -d "$DIR/pg/data" ]; then
  mkdir -p "$DIR/pg"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR/pg"
  chmod 700 "$DIR/pg"
  as_postgres "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
  NEW_DB=1
fi
as_postgres "$PG_BIN/postgres" -D "$DIR/pg/data" -p "$PG_PORT" -k "$DIR/pg" \
  -c listen_addresses=127.0.0.1 >>"$DIR/logs/postgres.log" 2>&1 &
PIDS+=($!)
wait_port "$PG_PORT" postgres
until as_postgres pg_isready -q -h "$DIR/pg" -p "$PG_PORT"; do sleep 0.2; done
if [ "${NEW_DB:-0}" = 1 ]; then
  as_postgres psql -q -h "$DIR/pg" -p "$PG_PORT" -d postgres -c "CREATE DATABASE switchboard"
fi

export SWITCHBOARD_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:$PG_PORT/switchboard"
export SWITCHBOARD_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export SWITCHBOARD_DATA_DIR="$DIR/data"   # one generated JWT secret for every node
export SWITCHBOARD_API_KEY=${SWITCHBOARD_API_KEY:-cluster-dev-key}
export SWITCHBOARD_LOG_JSON=${SWITCHBOARD_LOG_JSON:-true}
# Schema first, once, so that nodes do not race to migrate.
"$VENV/bin/switchboard" migrate

NODE_PORTS=()
for i in $(seq 0 $((NODES - 1))); do
  port=$((FIRST_NODE_PORT + i))
  SWITCHBOARD_NODE_ID="node-$((i + 1))" "$VENV/bin/switchboard" serve --port "$port" \
    >>"$DIR/logs/node-$((i + 1)).log" 2>&1 &
  PIDS+=($!)
  NODE_PORTS+=("$port")
done
for port in "${NODE_PORTS[@]}"; do wait_port "$port" "node :$port"; done

# nginx: deploy/nginx.conf with this run's ports.
upstreams=""
for port in "${NODE_PORTS[@]}"; do
  upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=10s;\n"
done
sed -e '/^\s*server 127\.0\.0\.1:[0-9]* /d' \
    -e "s|hash \$remote_addr consistent;|&\n$upstreams|" \
    -e "s|listen 127\.0\.0\.1:[0-9]*;|listen 127.0.0.1:$LB_PORT;|" \
    "$ROOT/deploy/nginx.conf" >"$DIR/nginx/nginx.conf"
nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -g "daemon off;" &
PIDS+=($!)
wait_port "$LB_PORT" nginx

echo "cluster up: http://127.0.0.1:$LB_PORT  (nodes: ${NODE_PORTS[*]}; logs in $DIR/logs; Ctrl-C stops)"
wait -n "${PIDS[@]}" || true
echo "a cluster process exited; see $DIR/logs" >&2
