#!/usr/bin/env bash
# Quick ratios in one run, 3 alternating rounds (wrk -t2 -c20, 4 s each): unknown-token revoke
# of the release reference server against the null axum server (examples/null_server.rs), and
# minting (client_credentials) with --data-dir against in memory. Needs:
# cargo build --release --bins --example null_server; apt-get install wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
B=target/release
D=$(mktemp -d)
$B/revspec serve --bind 127.0.0.1:18201 >/dev/null 2>&1 & M=$!
$B/revspec serve --bind 127.0.0.1:18202 --data-dir "$D/data" >/dev/null 2>&1 & P=$!
$B/examples/null_server 127.0.0.1:18203 >/dev/null 2>&1 & N=$!
trap 'kill $M $P $N 2>/dev/null; rm -rf "$D"' EXIT
sleep 1
r() { wrk -t2 -c20 -d4s -s "$2" "$1" | awk '/Requests\/sec/ {print $2}'; }
export TOKENS_DIR=$D
for i in 1 2 3; do
  n=$(r http://127.0.0.1:18203/jans-auth/restv1/revoke bench/revoke-unknown.lua)
  u=$(r http://127.0.0.1:18201/jans-auth/restv1/revoke bench/revoke-unknown.lua)
  mm=$(r http://127.0.0.1:18201/jans-auth/restv1/token bench/mint.lua)
  md=$(r http://127.0.0.1:18202/jans-auth/restv1/token bench/mint.lua)
  echo "round $i: null $n, unknown revoke $u ($(awk "BEGIN{printf \"%.2f\", $u/$n}")x); mint in memory $mm, with --data-dir $md ($(awk "BEGIN{printf \"%.2f\", $md/$mm}")x)"
done
