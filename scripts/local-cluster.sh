#!/usr/bin/env bash
# A local cluster of the reference server in one command: a durable redis-server on loopback
# (append-only, fsync'd on every write, in a temporary folder) and `revspec serve --cluster`
# with NODES nodes (default 3) on consecutive ports from PORT (default 8081), the demo
# configuration and the example revoke script, as targets/reference-cluster.toml describes
# them. Runs until Ctrl-C, then stops everything it started. See docs/cluster.md.
#
#   scripts/local-cluster.sh                          # Redis on 127.0.0.1:6390, nodes 8081-8083
#   STORE=redis://127.0.0.1:6379/2 scripts/local-cluster.sh   # an existing Redis instead
#   scripts/local-cluster.sh --fault stale-node       # any further `revspec serve` flags
#
# Needs Debian's redis-server (apt-get install redis-server) unless STORE is given.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-3}
PORT=${PORT:-8081}
REDIS_PORT=${REDIS_PORT:-6390}
STORE=${STORE:-}
BIN=${REVSPEC:-./target/debug/revspec}
[ -n "${REVSPEC:-}" ] || cargo build --quiet

pids=()
redis_dir=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$redis_dir" ]; then rm -rf "$redis_dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$STORE" ]; then
  if ! command -v redis-server >/dev/null; then
    echo "redis-server not found: apt-get install redis-server (or give STORE=redis://HOST:PORT)" >&2
    exit 1
  fi
  redis_dir=$(mktemp -d)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes --save "" \
    --appendonly yes --appendfsync always --dir "$redis_dir" --daemonize no \
    --loglevel warning >"$redis_dir/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping >/dev/null || { cat "$redis_dir/redis.log" >&2; exit 1; }
  STORE=redis://127.0.0.1:$REDIS_PORT
  echo "redis-server on $STORE (data in $redis_dir, removed at exit)"
fi

"$BIN" serve --cluster "$NODES" --bind "127.0.0.1:$PORT" --store "$STORE" \
  --revoke-script scripts/revoke.rhai "$@" &
pids+=($!)
wait "${pids[-1]}"
