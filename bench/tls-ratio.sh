#!/usr/bin/env bash
# The HTTPS figures of issue 20, in one run: unknown-token revoke over HTTPS against the
# release reference server (`revspec serve --tls self-signed`) and against the null TLS server
# (examples/null_tls_server.rs: the same accept loop, the same rustls configuration, the same
# kind of throw-away certificate), ROUNDS alternating rounds of wrk (keep-alive: the handshake is
# paid once per connection, as a real client pays it), the plain-HTTP pair in the same rounds
# for comparison, then the client-side cost of one client assertion per algorithm
# (examples/assertion_cost.rs). Prints one Markdown table; every server it starts is stopped on
# any exit.
#
#   bash bench/tls-ratio.sh          # ROUNDS=3 SECONDS_PER_RUN=4 THREADS=2 CONNS=16 ASSERTIONS=2000
#
# Needs: cargo build --release --bins --example null_server --example null_tls_server
# --example assertion_cost; wrk (it does not verify certificates, so the throw-away CA needs no
# installing). On 2 shared cores, run it when the machine is otherwise idle (`uptime`).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
ASSERTIONS=${ASSERTIONS:-2000}
B=${BIN_DIR:-target/release}
for bin in "$B/revspec" "$B/examples/null_server" "$B/examples/null_tls_server" "$B/examples/assertion_cost"; do
  [ -x "$bin" ] || { echo "missing $bin: cargo build --release --bins --example null_server --example null_tls_server --example assertion_cost" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
D=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P_REF=$(free_port); P_REFTLS=$(free_port); P_NULL=$(free_port); P_NULLTLS=$(free_port)
"$B/revspec" serve --bind "127.0.0.1:$P_REF" >"$D/ref.log" 2>&1 & pids+=($!)
"$B/revspec" serve --tls self-signed --data-dir "$D/tlsdata" --bind "127.0.0.1:$P_REFTLS" >"$D/reftls.log" 2>&1 & pids+=($!)
"$B/examples/null_server" "127.0.0.1:$P_NULL" >"$D/null.log" 2>&1 & pids+=($!)
"$B/examples/null_tls_server" "127.0.0.1:$P_NULLTLS" "$D/nulltls" >"$D/nulltls.log" 2>&1 & pids+=($!)
for p in $P_REF $P_NULL; do
  for _ in $(seq 100); do curl -fs -o /dev/null -X POST "http://127.0.0.1:$p/jans-auth/restv1/revoke" 2>/dev/null && break; curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
done
for p in $P_REFTLS $P_NULLTLS; do
  for _ in $(seq 100); do curl -ks -o /dev/null "https://127.0.0.1:$p/health" && break; sleep 0.1; done
done
rps() { wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_PER_RUN}s" -s bench/revoke-unknown.lua "$1" | awk '/Requests\/sec/ {print $2}'; }
path=/jans-auth/restv1/revoke
echo "| round | null TLS req/s | reference HTTPS req/s | HTTPS ratio | null req/s | reference HTTP req/s | HTTP ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
ratios=()
for i in $(seq "$ROUNDS"); do
  nt=$(rps "https://127.0.0.1:$P_NULLTLS$path")
  rt=$(rps "https://127.0.0.1:$P_REFTLS$path")
  n=$(rps "http://127.0.0.1:$P_NULL$path")
  r=$(rps "http://127.0.0.1:$P_REF$path")
  tr=$(awk "BEGIN{printf \"%.2f\", $rt/$nt}")
  hr=$(awk "BEGIN{printf \"%.2f\", $r/$n}")
  ratios+=("$tr")
  echo "| $i | $nt | $rt | ${tr}x | $n | $r | ${hr}x |"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
echo
echo "median HTTPS ratio (reference / null TLS): ${median}x (target >= 0.8x)"
echo
echo "client-side cost of one client assertion (release, $ASSERTIONS each):"
echo
echo "| alg | µs per assertion |"
echo "|---|---:|"
"$B/examples/assertion_cost" "$ASSERTIONS" | awk -F'\t' 'NR > 1 {print "| " $1 " | " $3 " |"}'
