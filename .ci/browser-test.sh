#!/usr/bin/env bash
# The real-browser test of revspec's HTML pages: Debian's chromium, headless, opens
# report.html and matrix.html from file:// and .ci/browser_check.py asserts on the DOM it
# dumps and on what it logged:
#   - every rule ID of each run.json is in the DOM with its verdict;
#   - opened with #verdict=FAIL (the filter's state in the URL, applied by the page's script),
#     only the failing rules are shown; on the matrix, #differ shows only rows that differ;
#   - no console message is logged (an uncaught script error is one), and the script ran to
#     its end;
#   - a screenshot of each page is saved under target/browser/screenshots/ (CI artifacts).
# Pages: the golden fixtures (tests/golden/runs/{a,b}: every verdict), and, when run.json
# files are given as arguments, their reports and their matrix (CI passes the reference
# server's and django-oauth-toolkit's runs, and keeps that matrix in target/reports/matrix/).
#
#   .ci/browser-test.sh [RUN.json...]
set -euo pipefail
cd "$(dirname "$0")/.."

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "browser-test: chromium is not installed (apt-get install chromium)" >&2
  exit 1
fi
cargo build --quiet
bin=target/debug/revspec
out=target/browser
rm -rf "$out"
mkdir -p "$out/screenshots" "$out/runs"
profile_dir=$(mktemp -d)
trap 'rm -rf "$profile_dir"' EXIT

# Chromium with nothing from the network and a fresh profile for every page.
chrome() {
  rm -rf "$profile_dir"/*
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile_dir" --enable-logging=stderr --v=0 --window-size=1280,1400 "$@"
}

# check KIND PAGE FRAGMENT SHOT RUN.json... [--only V] [--differ]
failed=0
check() {
  local kind=$1 page=$2 fragment=$3 shot=$4
  shift 4
  local url="file://$(realpath "$page")$fragment"
  local dom="$out/$(basename "$shot" .png).dom.html" log="$out/$(basename "$shot" .png).log"
  chrome --dump-dom "$url" >"$dom" 2>"$log"
  python3 .ci/browser_check.py "$kind" "$dom" "$log" "$@" || failed=1
  chrome --screenshot="$out/screenshots/$shot" "$url" >/dev/null 2>&1 || {
    echo "FAIL screenshot $shot"
    failed=1
  }
}

# The golden fixtures: every verdict, failures to filter on, two runs that differ.
for r in a b; do
  mkdir -p "$out/runs/$r"
  cp "tests/golden/runs/$r/run.json" "$out/runs/$r/run.json"
  "$bin" report html "$out/runs/$r/run.json" >/dev/null
done
"$bin" report matrix "$out/runs/a" "$out/runs/b" --out "$out" >/dev/null
check report "$out/runs/a/report.html" "" fixture-report.png "$out/runs/a/run.json"
check report "$out/runs/a/report.html" "#verdict=FAIL" fixture-report-fail.png "$out/runs/a/run.json" --only FAIL
check matrix "$out/matrix.html" "" fixture-matrix.png "$out/runs/a/run.json" "$out/runs/b/run.json"
check matrix "$out/matrix.html" "#verdict=FAIL" fixture-matrix-fail.png "$out/runs/a/run.json" "$out/runs/b/run.json" --only FAIL
check matrix "$out/matrix.html" "#differ" fixture-matrix-differ.png "$out/runs/a/run.json" "$out/runs/b/run.json" --differ

# Real runs, if given: each report, then their matrix (kept beside the reports).
if [ "$#" -gt 0 ]; then
  i=0
  for run in "$@"; do
    i=$((i + 1))
    check report "$(dirname "$run")/report.html" "" "run$i-report.png" "$run"
  done
  "$bin" report matrix "$@" --out target/reports/matrix
  check matrix target/reports/matrix/matrix.html "" runs-matrix.png "$@"
fi

ls "$out/screenshots"
if [ "$failed" -ne 0 ]; then
  echo "browser-test: FAILED"
  exit 1
fi
echo "browser-test: all pages passed"
