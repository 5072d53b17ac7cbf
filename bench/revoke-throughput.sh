#!/usr/bin/env bash
# Revocation throughput of the release reference server on loopback, with wrk: a trivial
# endpoint (GET /health), revoking an unknown token, and revoking valid tokens (each request a
# different freshly minted token), alternated over ROUNDS rounds in one run; prints each figure
# and the medians. Needs: cargo build --release; apt-get install wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
BIN=./target/release/revspec
URL=http://127.0.0.1:$PORT
export TOKENS_DIR=$(mktemp -d)
$BIN serve --bind 127.0.0.1:$PORT > "$TOKENS_DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$TOKENS_DIR"' EXIT
for _ in $(seq 50); do curl -fs "$URL/health" >/dev/null && break; sleep 0.1; done

rps() { awk '/Requests\/sec/ {print $2}'; }
declare -A results
for round in $(seq "$ROUNDS"); do
  h=$(wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s -s bench/health.lua "$URL/health" | rps)
  u=$(wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s -s bench/revoke-unknown.lua "$URL/jans-auth/restv1/revoke" | rps)
  # Mint more tokens than the revoke run can use, then revoke them.
  rm -f "$TOKENS_DIR"/tokens-*.txt
  wrk -t$THREADS -c$CONNS -d$((SECONDS_PER_RUN * 2))s -s bench/mint.lua "$URL/jans-auth/restv1/token" > /dev/null
  minted=$(cat "$TOKENS_DIR"/tokens-*.txt | wc -l)
  out=$(wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s -s bench/revoke-valid.lua "$URL/jans-auth/restv1/revoke")
  v=$(echo "$out" | rps)
  sent=$(echo "$out" | awk '/requests in/ {print $1}')
  if [ "$sent" -gt "$minted" ]; then echo "warning: $sent revocations but only $minted tokens minted" >&2; fi
  echo "round $round: health $h req/s, revoke unknown $u req/s, revoke valid $v req/s ($sent revocations of $minted minted tokens)"
  results[h]+="$h "; results[u]+="$u "; results[v]+="$v "
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mh=$(echo "${results[h]}" | median); mu=$(echo "${results[u]}" | median); mv=$(echo "${results[v]}" | median)
echo "median of $ROUNDS: health $mh req/s; revoke unknown $mu req/s ($(awk "BEGIN{printf \"%.2f\", $mu/$mh}") x health); revoke valid $mv req/s ($(awk "BEGIN{printf \"%.2f\", $mv/$mh}") x health)"
