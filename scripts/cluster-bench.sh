#!/usr/bin/env bash
# Benchmark (not a test): minting (client_credentials) and revoking valid tokens with wrk, in
# one run with rounds whose order rotates, for
#   memory    one node, tokens in memory (the default);
#   data-dir  one node with --data-dir (the journal, fdatasync'd before every answer);
#   redis-1   one node over Redis (--store; Redis append-only, fsync'd on every write);
#   redis-3   three nodes over the same Redis (--cluster 3), one wrk per node at once, summed.
# Each run starts the servers afresh on an empty store, mints for 2 x SECONDS_PER_RUN
# (bench/mint.lua, through the node that later revokes them: the mint figure), then revokes
# them for SECONDS_PER_RUN (bench/revoke-valid.lua: the revoke figure; a warning if the tokens
# ran out). Prints each figure, the medians and the ratios. Loopback only.
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

# mint NODE_URL DIR THREADS CONNS: mints into DIR for 2 x SECONDS_PER_RUN; prints req/s.
mint() { TOKENS_DIR=$2 wrk -t"$3" -c"$4" -d$((SECONDS_PER_RUN * 2))s -s bench/mint.lua "$1/jans-auth/restv1/token" | rps; }
# revoke NODE_URL DIR THREADS CONNS: revokes DIR's tokens for SECONDS_PER_RUN; prints req/s.
revoke() {
  local out sent minted
  out=$(TOKENS_DIR=$2 wrk -t"$3" -c"$4" -d${SECONDS_PER_RUN}s -s bench/revoke-valid.lua "$1/jans-auth/restv1/revoke")
  sent=$(awk '/requests in/ {print $1}' <<< "$out")
  minted=$(cat "$2"/tokens-*.txt | wc -l)
  [ "$sent" -le "$minted" ] || echo "warning: $1: $sent revocations but only $minted tokens minted" >&2
  rps <<< "$out"
}

one_node() { # $1: extra serve flags (runs in a subshell: its own trap stops its server)
  trap stop_servers EXIT
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  rm -rf "$work/dd"
  "$BIN" serve --bind 127.0.0.1:$PORT $1 >"$work/serve.log" 2>&1 &
  pids+=($!)
  wait_up "http://127.0.0.1:$PORT"
  rm -rf "$work/t0"; mkdir "$work/t0"
  local m r
  m=$(mint "http://127.0.0.1:$PORT" "$work/t0" 2 "$CONNS")
  r=$(revoke "http://127.0.0.1:$PORT" "$work/t0" 2 "$CONNS")
  stop_servers
  echo "$m $r"
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
  for i in 0 1 2; do mint "http://127.0.0.1:$((PORT + i))" "$work/t$i" 1 "$per" >"$work/mint-$i" & done
  wait -n; wait -n; wait -n
  for i in 0 1 2; do revoke "http://127.0.0.1:$((PORT + i))" "$work/t$i" 1 "$per" >"$work/rps-$i" & done
  wait -n; wait -n; wait -n
  stop_servers
  echo "$(cat "$work"/mint-[012] | awk '{s += $1} END {printf "%.2f", s}') $(cat "$work"/rps-[012] | awk '{s += $1} END {printf "%.2f", s}')"
}

run_mode() {
  case $1 in
    memory) one_node "" ;;
    data-dir) one_node "--data-dir $work/dd" ;;
    redis-1) one_node "--store $STORE" ;;
    redis-3) three_nodes ;;
  esac
}

MODES=(memory data-dir redis-1 redis-3)
declare -A mint_r revoke_r
for round in $(seq "$ROUNDS"); do
  line="round $round:"
  for k in 0 1 2 3; do
    mode=${MODES[$(( (k + round - 1) % 4 ))]}
    read -r m r < <(run_mode "$mode")
    mint_r[$mode]+="$m "; revoke_r[$mode]+="$r "
    line+=" $mode mint $m revoke $r;"
  done
  echo "$line"
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "medians of $ROUNDS rounds (wrk -c$CONNS in all; mint runs $((SECONDS_PER_RUN * 2)) s, revoke runs $SECONDS_PER_RUN s):"
echo "| store | mint (req/s) | vs memory | revoke valid (req/s) | vs memory |"
echo "|---|---|---|---|---|"
mm=$(echo "${mint_r[memory]}" | median); rm_=$(echo "${revoke_r[memory]}" | median)
for mode in "${MODES[@]}"; do
  m=$(echo "${mint_r[$mode]}" | median); r=$(echo "${revoke_r[$mode]}" | median)
  echo "| $mode | $m | $(ratio "$m" "$mm")x | $r | $(ratio "$r" "$rm_")x |"
done
