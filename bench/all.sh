#!/usr/bin/env bash
# Every figure of docs/performance.md in one command (issue 22's "one run"): the reference
# server (bench/suite.sh: null-server ratios, --data-dir, memory, scale, the plot), one node
# over Redis against three (scripts/cluster-bench.sh), the harness's own wall time
# (bench/harness.sh) and a load run as shards merged against one process
# (bench/sharded-load.sh). Each part alternates its own rounds; this runs them one after the
# other into OUT/<part>/ and prints each part's table. Stops at the first part that fails.
#
#   bash bench/all.sh                 # about 15 minutes on 2 cores
#   ROUNDS=1 OUT=/tmp/all bash bench/all.sh
#
# Needs: cargo build --release --bins --examples; wrk, python3, curl, redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-target/bench-all}
ROUNDS=${ROUNDS:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "error: ROUNDS must be a positive integer, not '$ROUNDS'" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
for tool in wrk python3 curl redis-server; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (see the header)" >&2; exit 1; }
done

part() { # name command...
  local name=$1; shift
  echo "== $name" >&2
  mkdir -p "$OUT/$name"
  if ! OUT="$OUT/$name" ROUNDS="$ROUNDS" "$@" > "$OUT/$name/stdout.txt" 2> "$OUT/$name/stderr.txt"; then
    echo "error: $name failed; see $OUT/$name/stderr.txt" >&2
    tail -5 "$OUT/$name/stderr.txt" >&2
    exit 1
  fi
}

part server bash bench/suite.sh
part cluster bash scripts/cluster-bench.sh
part harness bash bench/harness.sh
part sharded-load bash bench/sharded-load.sh

for name in server cluster harness sharded-load; do
  echo
  echo "## $name"
  if [ -f "$OUT/$name/table.md" ]; then cat "$OUT/$name/table.md"; else cat "$OUT/$name/stdout.txt"; fi
done
