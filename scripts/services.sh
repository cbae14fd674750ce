#!/usr/bin/env bash
# Real engines for tests and local production-mode runs, on 127.0.0.1 only:
# Redis and RabbitMQ from Debian packages, FerretDB 1.24 (MongoDB wire protocol, SQLite handler), MinIO (S3).
#
#   scripts/services.sh start            install what is missing, start all three, print the environment
#   scripts/services.sh stop             stop all three
#   scripts/services.sh start|stop NAME  one engine: redis, rabbitmq, mongo or s3
#   scripts/services.sh env              print the environment that points the product at them
#   scripts/services.sh vhost NAME       add a RabbitMQ virtual host (tests isolate extra stacks with it)
#   scripts/services.sh build-ferretdb   build the FerretDB binary only (the compose test's stand-in image)
#   scripts/services.sh build-s3         build the MinIO binary only, and print its path (the same)
#
# Idempotent: an engine already answering is left alone. State lives in .engines/ (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${ENGINES_DIR:-$ROOT/.engines}"
REDIS_PORT="${ENGINE_REDIS_PORT:-6379}"
AMQP_PORT="${ENGINE_AMQP_PORT:-5672}"
MONGO_PORT="${ENGINE_MONGO_PORT:-27017}"
FERRETDB_VERSION="v1.24.2"
FERRETDB_MODULE="github.com/FerretDB/FerretDB"
GOBIN_DIR="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
FERRETDB_BIN="${FERRETDB_BIN:-$GOBIN_DIR/ferretdb}"
S3_PORT="${ENGINE_S3_PORT:-9000}"
# MinIO's tags are not semantic versions: the module proxy serves its default branch as a pseudo-version.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_MODULE="github.com/minio/minio"
MINIO_BIN="${MINIO_BIN:-$GOBIN_DIR/minio-${MINIO_VERSION##*-}}"
# Root credentials of the local MinIO (loopback only); the product reads the standard AWS variables.
S3_ACCESS_KEY="files-manager"
S3_SECRET_KEY="files-manager-local-secret"

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

log() { printf 'services: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid of the process listening on 127.0.0.1:PORT (iproute2's ss), or nothing.
listener_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true; }

wait_port() {
  local port=$1 name=$2 tries=${3:-120}
  for _ in $(seq "$tries"); do
    port_open "$port" && return 0
    sleep 0.5
  done
  log "$name did not open port $port"
  return 1
}

# --- Redis -------------------------------------------------------------------
start_redis() {
  if port_open "$REDIS_PORT"; then log "redis already on 127.0.0.1:$REDIS_PORT"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$STATE/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$STATE/redis" \
    --appendonly yes --appendfsync everysec --save "" --protected-mode yes \
    --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log"
  wait_port "$REDIS_PORT" redis
  log "redis on 127.0.0.1:$REDIS_PORT"
}

stop_redis() {
  if port_open "$REDIS_PORT"; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
    for _ in $(seq 40); do port_open "$REDIS_PORT" || break; sleep 0.25; done
  fi
  log "redis stopped"
}

# --- RabbitMQ ----------------------------------------------------------------
rabbit_env() {
  export RABBITMQ_NODENAME="rabbit@localhost"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000))
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$STATE/rabbitmq/mnesia"
  export RABBITMQ_LOG_BASE="$STATE/rabbitmq/log"
  export RABBITMQ_PID_FILE="$STATE/rabbitmq/rabbit.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/rabbitmq/enabled_plugins"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export HOME="${HOME:-/root}"
}

start_rabbitmq() {
  if port_open "$AMQP_PORT"; then log "rabbitmq already on 127.0.0.1:$AMQP_PORT"; return; fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  rabbit_env
  mkdir -p "$STATE/rabbitmq/mnesia" "$STATE/rabbitmq/log"
  [ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ] || echo "[]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
  # Debian's wrapper drops to the rabbitmq user when started as root: it must own its state.
  if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then chown -R rabbitmq:rabbitmq "$STATE/rabbitmq"; fi
  if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    rabbitmqctl -q start_app >/dev/null   # the node runs, only its app was stopped
  else
    nohup rabbitmq-server >"$STATE/rabbitmq/server.out" 2>&1 &
  fi
  wait_port "$AMQP_PORT" rabbitmq 240
  log "rabbitmq on 127.0.0.1:$AMQP_PORT"
}

stop_rabbitmq() {
  rabbit_env
  # stop_app closes the AMQP port but keeps the Erlang node: a restart then takes about a second.
  rabbitmqctl -q stop_app >/dev/null 2>&1 || true
  for _ in $(seq 40); do port_open "$AMQP_PORT" || break; sleep 0.25; done
  log "rabbitmq stopped"
}

halt_rabbitmq() {
  rabbit_env
  rabbitmqctl -q shutdown >/dev/null 2>&1 || rabbitmqctl -q stop >/dev/null 2>&1 || true
  log "rabbitmq node halted"
}

# --- FerretDB (MongoDB wire protocol) ----------------------------------------
build_ferretdb() {
  [ -x "$FERRETDB_BIN" ] && "$FERRETDB_BIN" --version >/dev/null 2>&1 && return 0
  command -v go >/dev/null || { log "Go is needed to build FerretDB"; return 1; }
  log "building FerretDB $FERRETDB_VERSION"
  if ! GOBIN="$(dirname "$FERRETDB_BIN")" go install "$FERRETDB_MODULE/cmd/ferretdb@$FERRETDB_VERSION" \
      >"$STATE/ferretdb-build.log" 2>&1 \
      || ! "$FERRETDB_BIN" --version >/dev/null 2>&1; then
    # Where the module proxy will not list versions (go install's deprecation check), fetch the exact
    # version and build it; its version file is generated at release time, so write it.
    log "go install failed (see $STATE/ferretdb-build.log); building from the downloaded module"
    local work
    work="$(mktemp -d)"
    (cd "$work" && go mod init ferretdb-build >/dev/null 2>&1 \
      && go mod download "$FERRETDB_MODULE@$FERRETDB_VERSION")
    local src
    src="$(go env GOMODCACHE)/github.com/!ferret!d!b/!ferret!d!b@$FERRETDB_VERSION"
    cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
    echo "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
    mkdir -p "$(dirname "$FERRETDB_BIN")"
    (cd "$work/src" && go build -o "$FERRETDB_BIN" ./cmd/ferretdb)
    rm -rf "$work"
  fi
  # The whole output is read (no `head`): under pipefail a writer cut off by SIGPIPE fails the script.
  "$FERRETDB_BIN" --version | sed -n 1p >&2
}

start_mongo() {
  if port_open "$MONGO_PORT"; then log "mongodb wire protocol already on 127.0.0.1:$MONGO_PORT"; return; fi
  mkdir -p "$STATE/ferretdb/data" "$STATE/ferretdb/state"
  build_ferretdb
  FERRETDB_TELEMETRY=disable nohup "$FERRETDB_BIN" --handler=sqlite \
    --sqlite-url="file:$STATE/ferretdb/data/" --listen-addr="127.0.0.1:$MONGO_PORT" \
    --state-dir="$STATE/ferretdb/state" --telemetry=disable --debug-addr=- --log-level=WARN \
    >"$STATE/ferretdb/ferretdb.log" 2>&1 &
  echo $! >"$STATE/ferretdb/ferretdb.pid"
  wait_port "$MONGO_PORT" ferretdb
  log "ferretdb (sqlite handler) on 127.0.0.1:$MONGO_PORT"
}

stop_mongo() {
  # SIGTERM is graceful: FerretDB closes its listener but keeps serving open client connections.
  # An outage drops them, so a process still alive after two seconds is killed.
  # The recorded pid, or (started from another checkout, whose pid file is elsewhere) the process that
  # owns our port's listening socket: the engine this script serves on that port, never a name match.
  local pids
  pids="$(cat "$STATE/ferretdb/ferretdb.pid" 2>/dev/null || true) $(listener_pid "$MONGO_PORT")"
  for pid in $pids; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 8); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$STATE/ferretdb/ferretdb.pid"
  for _ in $(seq 40); do port_open "$MONGO_PORT" || break; sleep 0.25; done
  log "ferretdb stopped"
}

# --- MinIO (S3) ----------------------------------------------------------------
build_minio() {
  [ -x "$MINIO_BIN" ] && return 0
  command -v go >/dev/null || { log "Go is needed to build MinIO"; return 1; }
  log "building MinIO $MINIO_VERSION (a few minutes, once)"
  local work
  work="$(mktemp -d)"
  GOBIN="$work" go install "$MINIO_MODULE@$MINIO_VERSION" >"$STATE/minio-build.log" 2>&1 \
    || { tail -n 20 "$STATE/minio-build.log" >&2; rm -rf "$work"; return 1; }
  mkdir -p "$(dirname "$MINIO_BIN")"
  mv "$work/minio" "$MINIO_BIN"
  rm -rf "$work"
}

s3_live() { curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/minio/health/live" 2>/dev/null; }

start_s3() {
  if port_open "$S3_PORT"; then log "s3 already on 127.0.0.1:$S3_PORT"; return; fi
  build_minio
  mkdir -p "$STATE/minio/data"
  MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" MINIO_BROWSER=off \
    MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off nohup "$MINIO_BIN" server "$STATE/minio/data" \
    --address "127.0.0.1:$S3_PORT" --quiet >"$STATE/minio/minio.log" 2>&1 &
  echo $! >"$STATE/minio/minio.pid"
  for _ in $(seq 120); do s3_live && break; sleep 0.5; done
  s3_live || { log "minio did not come up"; tail -n 20 "$STATE/minio/minio.log" >&2; return 1; }
  log "minio (s3) on 127.0.0.1:$S3_PORT"
}

stop_s3() {
  local pid
  pid="$(cat "$STATE/minio/minio.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -f "$STATE/minio/minio.pid"
  log "minio stopped"
}

# The load balancer the replicas tests put in front of two files services (started by the tests).
balancer() { [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || apt_install nginx-light; }

add_vhost() {
  rabbit_env
  rabbitmqctl -q add_vhost "$1" >/dev/null 2>&1 || true
  rabbitmqctl -q set_permissions -p "$1" guest ".*" ".*" ".*" >/dev/null
}

print_env() {
  cat <<EOF
export MONGO_URL='mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true&retryWrites=false'
export REDIS_URL='redis://127.0.0.1:$REDIS_PORT/0'
export AMQP_URL='amqp://guest:guest@127.0.0.1:$AMQP_PORT/'
export S3_ENDPOINT='http://127.0.0.1:$S3_PORT'
export AWS_ACCESS_KEY_ID='$S3_ACCESS_KEY'
export AWS_SECRET_ACCESS_KEY='$S3_SECRET_KEY'
EOF
}

mkdir -p "$STATE"
action="${1:-start}"
target="${2:-all}"
case "$action:$target" in
  start:all) start_redis; start_rabbitmq; start_mongo; start_s3; balancer; print_env ;;
  stop:all) stop_s3; stop_mongo; stop_redis; halt_rabbitmq ;;
  start:redis | start:rabbitmq | start:mongo | start:s3 | stop:redis | stop:rabbitmq | stop:mongo | stop:s3)
    "${action}_${target}" ;;
  env:*) print_env ;;
  vhost:*) add_vhost "$target" ;;
  build-ferretdb:*) build_ferretdb ;;
  build-s3:*) build_minio && echo "$MINIO_BIN" ;;
  *) echo "usage: $0 [start|stop [redis|rabbitmq|mongo|s3]] | env" >&2; exit 2 ;;
esac
