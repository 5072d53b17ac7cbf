#!/usr/bin/env bash
# Benchmark (not a test): revocation throughput of valid tokens with wrk, in one run with
# alternating rounds, for
#   memory    one node, tokens in memory (the default);
#   redis-1   one node over Redis (--store; Redis append-only, fsync'd on every write);
#   redis-3   three nodes over the same Redis (--cluster 3), one wrk per node at once, summed.
# Each round starts the servers afresh on an empty store, mints more tokens than the revoke
# run can use (bench/mint.lua, through the node that later revokes them), then revokes them
# (bench/revoke-valid.lua). Prints each figure and the medians. Loopback only.
# Needs: cargo build --release; apt-get install wrk redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONNS=${CONNS:-16}
PORT=${PORT:-18181}
REDIS_PORT=${REDIS_PORT:-16399}
BIN=./target/release/revspec
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
pids=()
stop_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
redis_pid=
cleanup() {
  stop_servers
  [ -z "$redis_pid" ] || { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes \
  --appendfsync always --dir "$work" --daemonize no --loglevel warning >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
STORE=redis://127.0.0.1:$REDIS_PORT

wait_up() { for _ in $(seq 100); do curl -fs "$1/health" >/dev/null && return; sleep 0.05; done; echo "$1 did not start" >&2; exit 1; }
rps() { awk '/Requests\/sec/ {print $2}'; }

# revoke_through NODE_URL DIR THREADS CONNS: mints into DIR, then revokes; prints req/s.
mint() { TOKENS_DIR=$2 wrk -t"$3" -c"$4" -d$((SECONDS_PER_RUN * 2))s -s bench/mint.lua "$1/jans-auth/restv1/token" >/dev/null; }
revoke() { TOKENS_DIR=$2 wrk -t"$3" -c"$4" -d${SECONDS_PER_RUN}s -s bench/revoke-valid.lua "$1/jans-auth/restv1/revoke" | rps; }

one_node() { # $1: extra serve flags (runs in a subshell: its own trap stops its server)
  trap stop_servers EXIT
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  "$BIN" serve --bind 127.0.0.1:$PORT $1 >"$work/serve.log" 2>&1 &
  pids+=($!)
  wait_up "http://127.0.0.1:$PORT"
  rm -rf "$work/t0"; mkdir "$work/t0"
  mint "http://127.0.0.1:$PORT" "$work/t0" 2 "$CONNS"
  revoke "http://127.0.0.1:$PORT" "$work/t0" 2 "$CONNS"
  stop_servers
}

three_nodes() {
  trap stop_servers EXIT
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  "$BIN" serve --cluster 3 --bind 127.0.0.1:$PORT --store "$STORE" >"$work/serve.log" 2>&1 &
  pids+=($!)
  local per=$(( (CONNS + 2) / 3 ))
  for i in 0 1 2; do
    wait_up "http://127.0.0.1:$((PORT + i))"
    rm -rf "$work/t$i"; mkdir "$work/t$i"
  done
  for i in 0 1 2; do mint "http://127.0.0.1:$((PORT + i))" "$work/t$i" 1 "$per" & done
  wait -n; wait -n; wait -n
  for i in 0 1 2; do revoke "http://127.0.0.1:$((PORT + i))" "$work/t$i" 1 "$per" >"$work/rps-$i" & done
  wait -n; wait -n; wait -n
  stop_servers
  cat "$work"/rps-0 "$work"/rps-1 "$work"/rps-2 | awk '{s += $1} END {printf "%.2f\n", s}'
}

declare -A results
for round in $(seq "$ROUNDS"); do
  m=$(one_node "")
  r1=$(one_node "--store $STORE")
  r3=$(three_nodes)
  echo "round $round: memory $m req/s, redis-1 $r1 req/s, redis-3 $r3 req/s (sum of 3 nodes)"
  results[m]+="$m "; results[r1]+="$r1 "; results[r3]+="$r3 "
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mm=$(echo "${results[m]}" | median); m1=$(echo "${results[r1]}" | median); m3=$(echo "${results[r3]}" | median)
echo "median of $ROUNDS ($CONNS connections, ${SECONDS_PER_RUN}s revoke runs): memory $mm req/s; redis-1 $m1 req/s ($(awk "BEGIN{printf \"%.2f\", $m1/$mm}") x memory); redis-3 $m3 req/s ($(awk "BEGIN{printf \"%.2f\", $m3/$m1}") x redis-1)"
