#!/usr/bin/env bash
# Every load profile for RUN_TIME against the release reference server (started as its own
# process), then wrk on the revoke-unknown request against the same server, alternated
# ROUNDS times for the ratio goose/wrk. Needs: cargo build --release; apt-get install wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_TIME=${RUN_TIME:-30s}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18081}
BIN=./target/release/revspec
URL=http://127.0.0.1:$PORT
OUT=$(mktemp -d)
$BIN serve --bind 127.0.0.1:$PORT > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 50); do curl -fs "$URL/health" >/dev/null && break; sleep 0.1; done
sed "s#^issuer = .*#issuer = \"$URL\"#" targets/reference.toml > "$OUT/target.toml"

for profile in revoke-unknown mint-and-revoke grant-cascade revoke-all mixed; do
  $BIN load --target "$OUT/target.toml" --profile loadtests/$profile.toml --run-time "$RUN_TIME" \
    --report-dir "$OUT/$profile" > "$OUT/$profile.txt" 2>/dev/null || true
  python3 - "$OUT/$profile/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
revoke = [r for r in s["requests"] if "revoke" in r["name"]]
p99 = max(r["p99_ms"] for r in revoke)
print(f'{s["profile"]:16} {s["rps"]:9.1f} req/s total, revoke {sum(r["rps"] for r in revoke):9.1f} req/s, revoke p99 {p99:.2f} ms, errors {s["total_fails"]}, not held {s["correctness"]["not_held"]} of {s["correctness"]["sampled"]} sampled')
PY
done

echo "goose vs wrk on revoke-unknown (16 users / 16 connections), alternated:"
for round in $(seq "$ROUNDS"); do
  $BIN load --target "$OUT/target.toml" --profile loadtests/revoke-unknown.toml --run-time 10s \
    --report-dir "$OUT/ru-$round" > /dev/null 2>&1 || true
  g=$(python3 -c "import json;print(round(json.load(open('$OUT/ru-$round/summary.json'))['rps'],1))")
  w=$(wrk -t2 -c16 -d10s -s bench/revoke-unknown.lua "$URL/jans-auth/restv1/revoke" | awk '/Requests\/sec/ {print $2}')
  echo "round $round: goose $g req/s, wrk $w req/s, goose/wrk $(awk "BEGIN{printf \"%.2f\", $g/$w}")"
done
