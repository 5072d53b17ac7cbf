#!/usr/bin/env bash
# The harness's own wall time (issue 22), in one command:
#
#   bash bench/harness.sh                    # ROUNDS=5
#   ROUNDS=3 OUT=/tmp/harness bash bench/harness.sh
#
# Runs, in ROUNDS alternating rounds, `revspec check` with the janssen catalogue (a) against
# the built-in reference server and (b) against `revspec serve --config-reload-delay 2s`
# (targets/reference.toml, which changes settings through the Config API), and (c) the
# rfc7009 catalogue against the built-in server. Each run's wall time and floor (the waits no
# schedule can avoid, from run.json's run.timing) are written to OUT/raw.csv; OUT/table.md
# has the medians, the ratio to the floor and the targets. Every server it starts it stops.
# Needs: cargo build --release --bins; python3 (standard library only).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-target/bench-harness}
BIN=${BIN:-target/release/revspec}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "error: ROUNDS must be a positive integer, not '$ROUNDS'" >&2; exit 2; }
[ -x "$BIN" ] || { echo "error: build first: cargo build --release --bins (looked for $BIN)" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/reports" && mkdir -p "$OUT/reports"
echo "figure,round,wall_s,floor_s" > "$OUT/raw.csv"

SERVE_PID=
stop() { [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null; SERVE_PID=; }
trap stop EXIT

# The one run.json a check wrote under a fresh report folder: "wall,floor" in seconds.
figures() {
  python3 - "$1" <<'EOF'
import glob, json, sys
paths = glob.glob(sys.argv[1] + "/*/*/run.json")
assert len(paths) == 1, paths
run = json.load(open(paths[0]))["run"]
t = run["timing"]
print(f'{run["duration_ms"] / 1000:.3f},{t["floor_ms"] / 1000:.3f}')
EOF
}

check() { # figure round args...
  local figure=$1 round=$2; shift 2
  local dir="$OUT/reports/$figure-$round"
  "$BIN" check --report-dir "$dir" --progress never "$@" > "$dir.log" 2>&1 ||
    { echo "error: $figure round $round failed, see $dir.log" >&2; exit 1; }
  echo "$figure,$round,$(figures "$dir")" >> "$OUT/raw.csv"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  check janssen-built-in "$round"
  check rfc7009-built-in "$round" --rules rfc7009
  "$BIN" serve --bind 127.0.0.1:18180 --config-reload-delay 2s --revoke-script scripts/revoke.rhai \
    > "$OUT/serve-$round.log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:18180/health >/dev/null 2>&1 && break; sleep 0.1; done
  sed 's#http://127.0.0.1:8080#http://127.0.0.1:18180#' targets/reference.toml > "$OUT/reference-18180.toml"
  check janssen-reload-2s "$round" --target "$OUT/reference-18180.toml"
  stop
done

python3 - "$OUT/raw.csv" > "$OUT/table.md" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
targets = {"janssen-built-in": "< 10 s and <= 1.5x the floor", "janssen-reload-2s": "< 30 s", "rfc7009-built-in": "-"}
print("| figure | rounds | wall (median) | floor (median) | wall / floor | target |")
print("|---|---|---|---|---|---|")
for figure in ["janssen-built-in", "rfc7009-built-in", "janssen-reload-2s"]:
    rs = [r for r in rows if r["figure"] == figure]
    wall = statistics.median(float(r["wall_s"]) for r in rs)
    floor = statistics.median(float(r["floor_s"]) for r in rs)
    print(f"| {figure} | {len(rs)} | {wall:.2f} s | {floor:.2f} s | {wall / floor:.2f}x | {targets[figure]} |")
EOF
cat "$OUT/table.md"
