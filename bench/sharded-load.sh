#!/usr/bin/env bash
# Load beyond one machine, measured on one (issue 22): the same load run as SHARDS processes
# (`revspec load --shard I/SHARDS` with one --start-at, then `revspec load merge`) and as one
# process doing the same total work (USERS users, RUN_TIME), in ROUNDS alternating rounds,
# against the release reference server: a three-node cluster on a redis-server of its own when
# Redis is installed (CLUSTER=1, the default then), else one node (CLUSTER=0).
#
#   bash bench/sharded-load.sh                    # defaults: SHARDS=3 USERS=12 RUN_TIME=5s ROUNDS=3
#   ROUNDS=1 RUN_TIME=2s bash bench/sharded-load.sh
#
# Prints ONE Markdown table: per round and mode, the requests, req/s and the revoke p50/p95/p99
# of the summary, whether the merged counts are exactly the sums of the shards' (checked request
# by request), the medians, and sharded/single ratios. Writes into OUT: table.md and every run's
# report folders (round-R/sharded/shard-I, round-R/sharded/merged, round-R/single). Stops every
# process it started on any exit. Progress goes to stderr. Needs: cargo build --release;
# python3; curl; redis-server for the cluster.
#
# Environment (defaults): SHARDS (3), USERS (12), RUN_TIME (5s), ROUNDS (3), PROFILE
# (loadtests/mint-and-revoke.toml), LEAD (3: seconds from launch to --start-at), PORT (18181;
# nodes on PORT..PORT+2), REDIS_PORT (18190), CLUSTER (1 with redis-server, else 0), BIN_DIR
# (target/release), OUT (target/bench-sharded).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-3}
USERS=${USERS:-12}
RUN_TIME=${RUN_TIME:-5s}
ROUNDS=${ROUNDS:-3}
PROFILE=${PROFILE:-loadtests/mint-and-revoke.toml}
LEAD=${LEAD:-3}
PORT=${PORT:-18181}
REDIS_PORT=${REDIS_PORT:-18190}
BIN_DIR=${BIN_DIR:-target/release}
OUT=${OUT:-target/bench-sharded}
if [ -z "${CLUSTER:-}" ]; then
  if command -v redis-server >/dev/null; then CLUSTER=1; else CLUSTER=0; fi
fi
for v in SHARDS USERS ROUNDS LEAD PORT REDIS_PORT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "error: $v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
BIN=$BIN_DIR/revspec
[ -x "$BIN" ] || { echo "error: build first: cargo build --release (looked for $BIN)" >&2; exit 2; }
log() { printf '[sharded-load] %s\n' "$*" >&2; }

pids=()
tmp=$(mktemp -d)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$OUT"
mkdir -p "$OUT"
URL=http://127.0.0.1:$PORT
if [ "$CLUSTER" = 1 ]; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes --save "" \
    --appendonly no --dir "$tmp" --daemonize no --loglevel warning >"$tmp/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.1
  done
  "$BIN" serve --cluster 3 --bind "127.0.0.1:$PORT" --store "redis://127.0.0.1:$REDIS_PORT" \
    --revoke-script scripts/revoke.rhai >"$OUT/server.log" 2>&1 &
  pids+=($!)
  sed -e "s#127.0.0.1:8081#127.0.0.1:$PORT#g" -e "s#127.0.0.1:8082#127.0.0.1:$((PORT + 1))#g" \
    -e "s#127.0.0.1:8083#127.0.0.1:$((PORT + 2))#g" targets/reference-cluster.toml >"$tmp/target.toml"
  WHAT="a three-node reference cluster on Redis"
else
  "$BIN" serve --bind "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
  pids+=($!)
  sed "s#127.0.0.1:8080#127.0.0.1:$PORT#g" targets/reference.toml >"$tmp/target.toml"
  WHAT="the reference server (one node)"
fi
for _ in $(seq 100); do curl -fs "$URL/health" >/dev/null && break; sleep 0.1; done
curl -fs "$URL/health" >/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
log "$WHAT on $URL; $SHARDS shards vs one process, $USERS users, $RUN_TIME, $ROUNDS rounds"

sharded() { # round dir
  local dir=$1 start i
  start=$(($(date +%s) + LEAD))
  local shard_pids=()
  for i in $(seq "$SHARDS"); do
    "$BIN" load --target "$tmp/target.toml" --profile "$PROFILE" --users "$USERS" --run-time "$RUN_TIME" \
      --shard "$i/$SHARDS" --start-at "$start" --report-dir "$dir/shard-$i" >"$dir.shard-$i.log" 2>&1 &
    shard_pids+=($!)
  done
  for pid in "${shard_pids[@]}"; do wait "$pid" || log "a shard exited $? (see $dir.shard-*.log)"; done
  local dirs=()
  for i in $(seq "$SHARDS"); do dirs+=("$dir/shard-$i"); done
  "$BIN" load merge "${dirs[@]}" --report-dir "$dir/merged" >"$dir.merge.log" 2>&1 ||
    log "the merge exited $? (see $dir.merge.log)"
}

single() { # dir
  "$BIN" load --target "$tmp/target.toml" --profile "$PROFILE" --users "$USERS" --run-time "$RUN_TIME" \
    --report-dir "$1" >"$1.log" 2>&1 || log "the single run exited $? (see $1.log)"
}

for round in $(seq "$ROUNDS"); do
  mkdir -p "$OUT/round-$round/sharded"
  if [ $((round % 2)) = 1 ]; then
    log "round $round: sharded, then single"
    sharded "$OUT/round-$round/sharded"
    single "$OUT/round-$round/single"
  else
    log "round $round: single, then sharded"
    single "$OUT/round-$round/single"
    sharded "$OUT/round-$round/sharded"
  fi
done

python3 - "$OUT" "$ROUNDS" "$SHARDS" "$USERS" "$RUN_TIME" "$WHAT" "$PROFILE" <<'PY' | tee "$OUT/table.md"
import json, os, statistics, sys
out, rounds, shards, users, run_time, what, profile = sys.argv[1:]
rounds, shards = int(rounds), int(shards)

def load(path):
    with open(path) as f:
        return json.load(f)

def revoke(s):
    r = [x for x in s["requests"] if x["revocation"]]
    return max(r, key=lambda x: x["count"]) if r else None

print(f"### {shards} shards merged vs one process: {users} users, {run_time}, {os.path.basename(profile)}, against {what}\n")
print("| round | run | requests | req/s | revoke p50 ms | revoke p95 ms | revoke p99 ms | not held | merged counts = sum of shards |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
figures = {"sharded": [], "single": []}
for n in range(1, rounds + 1):
    base = os.path.join(out, f"round-{n}")
    for mode, path in (("sharded", os.path.join(base, "sharded", "merged", "summary.json")),
                       ("single", os.path.join(base, "single", "summary.json"))):
        if not os.path.exists(path):
            print(f"| {n} | {mode} | (no summary: see the logs in {base}) | | | | | | |")
            continue
        s = load(path)
        r = revoke(s)
        exact = ""
        if mode == "sharded":
            parts = [load(os.path.join(base, "sharded", f"shard-{i}", "summary.json")) for i in range(1, shards + 1)]
            exact = "yes" if all(
                req["count"] == sum(x["count"] for p in parts for x in p["requests"] if x["name"] == req["name"])
                for req in s["requests"]) and s["total_requests"] == sum(p["total_requests"] for p in parts) else "NO"
        figures[mode].append((s["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"]))
        print(f"| {n} | {mode} | {s['total_requests']} | {s['rps']:.1f} | {r['p50_ms']:.3f} | {r['p95_ms']:.3f} | "
              f"{r['p99_ms']:.3f} | {s['correctness']['not_held']} of {s['correctness']['sampled']} | {exact} |")
med = {m: [statistics.median(v[i] for v in figures[m]) for i in range(4)] for m in figures if figures[m]}
for m, (rps, p50, p95, p99) in med.items():
    print(f"| median | {m} | | {rps:.1f} | {p50:.3f} | {p95:.3f} | {p99:.3f} | | |")
if len(med) == 2:
    a, b = med["sharded"], med["single"]
    ratio = lambda x, y: f"{x / y:.2f}" if y else "-"
    print(f"| ratio | sharded / single | | {ratio(a[0], b[0])} | {ratio(a[1], b[1])} | {ratio(a[2], b[2])} | {ratio(a[3], b[3])} | | |")
PY
