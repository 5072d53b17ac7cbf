#!/usr/bin/env bash
# The benchmark suite of the reference server (issue 11), in one command:
#
#   bash bench/suite.sh                      # defaults: ROUNDS=3 SECONDS_PER_RUN=4 SCALE_MAX=1000000
#   ROUNDS=1 SECONDS_PER_RUN=1 SCALE_MAX=20000 OUT=/tmp/bench-small bash bench/suite.sh
#
# Starts the release reference server (in memory, and with --data-dir in a temporary folder)
# and the null axum server (examples/null_server.rs) on free loopback ports, runs every figure
# with wrk in ROUNDS alternating rounds, stops every server it started on any exit, prints ONE
# Markdown table (per-round values, medians, ratios, targets) and writes into OUT:
#   table.md     the table
#   raw.csv      every measured value (figure,round,value)
#   scale.csv    the scale runs (one line per mode, size and round)
#   rss.csv      resident memory of the scale servers at each store size
#   performance-scale.svg   the plot of scale.csv (bench/plot.py); copied to
#                docs/performance-scale.svg with COPY_TO_DOCS=1
#   wrk/         wrk's output of every run, servers/ the servers' logs
# Progress goes to stderr. Needs: cargo build --release --bins --example null_server; wrk;
# python3 (standard library only).
#
# Environment (defaults): ROUNDS (3), SECONDS_PER_RUN (4), SCALE_MAX (1000000), OUT
# (target/bench), COPY_TO_DOCS (0); THREADS (2) and CONNS (16): wrk for the throughput
# figures; SCALE_THREADS (1) and SCALE_CONNS (2): wrk for the scale figures (few connections:
# on 2 cores shared with wrk, -t2 -c8 makes p99 the wait for a core, 3-9 ms against a p50 of
# 0.06 ms); SCALE_BATCH (5000): tokens minted then revoked per scale batch, at most half the
# smallest size, so that the store stays between the size and the size plus one batch;
# SCALE_SAMPLES (30000): revocations per size, mode and round, in SCALE_SAMPLES / SCALE_BATCH
# batches whose latency histograms are merged; FILL_CONNS (32) and FILL_CONNS_DD (64): wrk
# connections for unmeasured minting; REVOKE_ALL_TOKENS (100000, or SCALE_MAX if smaller);
# BIN_DIR (target/release); TMPDIR (where the data directories go); KEEP_TMP (0).
#
# The Lua scripts for wrk are generated into the temporary folder: bench/revoke-unknown.lua is
# used as it is; the others add what a fixed-count run needs (count the 200 answers, stop a
# thread when its budget or its token file is used up, a monotonic clock) to the requests of
# bench/mint.lua and bench/revoke-valid.lua. Each script prints one machine-readable RESULT line.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
REPO=$PWD
T0=$SECONDS

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
SCALE_MAX=${SCALE_MAX:-1000000}
OUT=${OUT:-target/bench}
COPY_TO_DOCS=${COPY_TO_DOCS:-0}
THREADS=${THREADS:-2}
SCALE_THREADS=${SCALE_THREADS:-1}
CONNS=${CONNS:-16}
SCALE_CONNS=${SCALE_CONNS:-2}
SCALE_BATCH=${SCALE_BATCH:-5000}
SCALE_SAMPLES=${SCALE_SAMPLES:-30000}
FILL_CONNS=${FILL_CONNS:-32}
FILL_CONNS_DD=${FILL_CONNS_DD:-64}
BIN_DIR=${BIN_DIR:-target/release}
KEEP_TMP=${KEEP_TMP:-0}
if [ "$SCALE_MAX" -ge 100000 ]; then
  REVOKE_ALL_TOKENS=${REVOKE_ALL_TOKENS:-100000}
else
  REVOKE_ALL_TOKENS=${REVOKE_ALL_TOKENS:-$SCALE_MAX}
fi
for v in ROUNDS SECONDS_PER_RUN SCALE_MAX THREADS SCALE_THREADS CONNS SCALE_CONNS SCALE_BATCH SCALE_SAMPLES FILL_CONNS \
  FILL_CONNS_DD REVOKE_ALL_TOKENS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "error: $v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
D=$SECONDS_PER_RUN
# The unknown-token control at each store size runs half as long as a throughput figure.
SCALE_UNKNOWN_SECONDS=$(( D / 2 > 0 ? D / 2 : 1 ))
# The longest a fixed-count run may take before it is given up (it normally ends much earlier).
COUNT_LIMIT=900s

log() { printf '[suite %4ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v python3 >/dev/null || die "python3 is not installed"
command -v curl >/dev/null || die "curl is not installed"
[ -x "$BIN_DIR/revspec" ] && [ -x "$BIN_DIR/examples/null_server" ] ||
  die "build first: cargo build --release --bins --example null_server (looked in $BIN_DIR)"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/wrk" "$OUT/servers"
rm -f "$OUT/table.md" "$OUT/raw.csv" "$OUT/scale.csv" "$OUT/rss.csv" "$OUT/notes.txt" \
  "$OUT/meta.txt" "$OUT/performance-scale.svg"
mkdir -p "$OUT/wrk" "$OUT/servers"
echo "figure,round,value" > "$OUT/raw.csv"
echo "mode,size,round,stored,valid_p99_ms,valid_p50_ms,valid_rps,valid_revoked,unknown_p99_ms,unknown_rps" > "$OUT/scale.csv"
echo "mode,size,stored,rss_kib" > "$OUT/rss.csv"
: > "$OUT/notes.txt"

W=
# --- processes: every server started here is in SPID (name -> pid) and stopped on exit ----
declare -A SPID=() SURL=()
WRK_PID=
alive() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
stop_pid() { # PID [SIGNAL]: signal, wait up to 15 s, then SIGKILL
  local pid=$1 sig=${2:-TERM}
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 150); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$WRK_PID" ]; then kill -KILL "$WRK_PID" 2>/dev/null || true; fi
  local name
  for name in "${!SPID[@]}"; do stop_pid "${SPID[$name]}"; done
  if [ -n "$W" ]; then
    if [ "$KEEP_TMP" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

W=$(mktemp -d "${TMPDIR:-/tmp}/revspec-bench.XXXXXX")
# Copies, so that a rebuild during the run changes nothing (the restart figure starts the
# server again).
cp "$BIN_DIR/revspec" "$W/revspec"
cp "$BIN_DIR/examples/null_server" "$W/null_server"

warn() { log "WARNING: $*"; echo "$*" >> "$OUT/notes.txt"; }
rec() { echo "$1,$2,$3" >> "$OUT/raw.csv"; }

# start_server NAME CMD...: starts CMD (which prints "listening at|on [http://]ADDR"), waits
# for that line, sets SPID[NAME] and SURL[NAME]; the log is servers/$PHASE-NAME.log.
start_server() {
  local name=$1 addr=""
  shift
  : > "$OUT/servers/$PHASE-$name.log"
  "$@" >> "$OUT/servers/$PHASE-$name.log" 2>&1 &
  SPID[$name]=$!
  for _ in $(seq 1200); do
    addr=$(sed -n 's#.*listening \(at\|on\) \(http://\)\{0,1\}\(127\.0\.0\.1:[0-9][0-9]*\).*#\3#p' \
      "$OUT/servers/$PHASE-$name.log" | tail -n1)
    [ -n "$addr" ] && break
    alive "${SPID[$name]}" || die "$name exited: $(tail -n5 "$OUT/servers/$PHASE-$name.log")"
    sleep 0.1
  done
  [ -n "$addr" ] || die "$name did not start within 120 s"
  SURL[$name]="http://$addr"
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "${SURL[$name]}/health")" = 200 ] && return 0
    sleep 0.1
  done
  die "$name does not answer ${SURL[$name]}/health"
}
stop_server() { # NAME [SIGNAL]
  stop_pid "${SPID[$1]}" "${2:-TERM}"
  unset "SPID[$1]"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- wrk --------------------------------------------------------------------------------
COMMON_LUA='-- generated by bench/suite.sh: a monotonic clock, thread ids, stopping a thread
-- (with a marker file for the suite) and one RESULT line at the end.
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } rs_timespec; int clock_gettime(int, rs_timespec *); ]]
local rs_ts = ffi.new("rs_timespec")
function rs_now()
  ffi.C.clock_gettime(1, rs_ts)
  return tonumber(rs_ts.tv_sec) + tonumber(rs_ts.tv_nsec) * 1e-9
end
local rs_threads = {}
local rs_counter = 0
function setup(thread)
  thread:set("id", rs_counter)
  rs_counter = rs_counter + 1
  table.insert(rs_threads, thread)
end
function rs_stop(reason)
  if stopped then return end
  stopped = true
  local f = io.open((os.getenv("MARK_DIR") or "/tmp") .. "/stop-" .. id, "w")
  if f then f:write(reason, "\n"); f:close() end
  wrk.thread:stop()
end
function done(summary, latency, requests)
  local e = summary.errors
  local counted, crate, exhausted, failed = 0, 0, 0, 0
  for _, t in ipairs(rs_threads) do
    local ok = t:get("ok")
    if ok then
      counted = counted + ok
      local t0, t1 = t:get("t0"), t:get("tlast")
      if t0 and t1 and t1 > t0 then crate = crate + ok / (t1 - t0) end
      exhausted = exhausted + (t:get("exhausted") or 0)
      failed = failed + (t:get("failed") or 0)
    end
  end
  local secs = summary.duration / 1e6
  local function ms(p) return latency:percentile(p) / 1000 end
  io.write(string.format("RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.4f p90_ms=%.4f p99_ms=%.4f max_ms=%.4f mean_ms=%.4f errors=%d status_errors=%d counted=%d counted_rps=%.1f exhausted=%d failed=%d\n",
    summary.requests, secs, summary.requests / secs, ms(50), ms(90), ms(99), latency.max / 1000,
    latency.mean / 1000, e.connect + e.read + e.write + e.timeout, e.status, counted, crate,
    exhausted, failed))
  -- With HIST_FILE, the latency histogram ("microseconds count" lines) is appended there, so
  -- that several runs can be merged.
  local hist = os.getenv("HIST_FILE")
  if hist then
    local f = io.open(hist, "a")
    for i = 1, #latency do
      local value, count = latency(i)
      f:write(string.format("%d %d\n", value, count))
    end
    f:close()
  end
end
'
write_lua() {
  # The unknown-token revocation as bench/revoke-unknown.lua has it (a static request).
  { echo "$COMMON_LUA"; cat bench/revoke-unknown.lua; } > "$W/unknown.lua"
  # The same, but built by Lua for every request as for valid tokens (the client's cost of
  # the valid-token run, as a control).
  { echo "$COMMON_LUA"; cat <<'LUA'
local hdrs = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic Y2xpZW50LWE6c2VjcmV0LWE=",
}
function init(args) i = 0 end
function request()
  i = i + 1
  return wrk.format("POST", nil, hdrs, "token=revspec-bench-never-issued-" .. i .. "&token_type_hint=access_token")
end
LUA
  } > "$W/unknown-lua.lua"
  # Minting as bench/mint.lua does, without reading the answers (the mint figure).
  { echo "$COMMON_LUA"; cat <<'LUA'
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic Y2xpZW50LWE6c2VjcmV0LWE="
LUA
  } > "$W/mint-plain.lua"
  # Minting PER_THREAD tokens per thread (200 answers) as MINT_CLIENT (a: client-a with
  # client_secret_basic, b: client-b with client_secret_post); with WRITE_TOKENS=1 the tokens
  # go to $TOKENS_DIR/tokens-<thread>.txt as with bench/mint.lua.
  { echo "$COMMON_LUA"; cat <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
if os.getenv("MINT_CLIENT") == "b" then
  wrk.body = "grant_type=client_credentials&client_id=client-b&client_secret=secret-b"
else
  wrk.body = "grant_type=client_credentials"
  wrk.headers["Authorization"] = "Basic Y2xpZW50LWE6c2VjcmV0LWE="
end
function init(args)
  budget = tonumber(os.getenv("PER_THREAD") or "1")
  ok, failed, exhausted = 0, 0, 0
  t0 = rs_now()
  tlast = t0
  if os.getenv("WRITE_TOKENS") == "1" then
    out = io.open(os.getenv("TOKENS_DIR") .. "/tokens-" .. id .. ".txt", "w")
  end
end
function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    tlast = rs_now()
    if out then
      local token = body:match('"access_token":"([^"]+)"')
      if token then out:write(token, "\n") end
    end
    if ok >= budget then
      if out then out:close(); out = nil end
      rs_stop("budget")
    end
  else
    failed = failed + 1
    if failed > 1000 then rs_stop("failed") end
  end
end
LUA
  } > "$W/mint-count.lua"
  # Revoking each token of $TOKENS_DIR/tokens-<thread>.txt once, as bench/revoke-valid.lua,
  # but a thread stops when its file is used up (no request for an unknown token is counted).
  { echo "$COMMON_LUA"; cat <<'LUA'
local hdrs = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic Y2xpZW50LWE6c2VjcmV0LWE=",
}
function init(args)
  tokens = {}
  local f = io.open(os.getenv("TOKENS_DIR") .. "/tokens-" .. id .. ".txt", "r")
  if f then
    for line in f:lines() do tokens[#tokens + 1] = line end
    f:close()
  end
  i, ok, failed, exhausted = 0, 0, 0, 0
  t0 = rs_now()
  tlast = t0
end
function request()
  i = i + 1
  local t = tokens[i]
  if not t then
    exhausted = 1
    rs_stop("exhausted")
    t = "revspec-bench-exhausted"
  end
  return wrk.format("POST", nil, hdrs, "token=" .. t .. "&token_type_hint=access_token")
end
function response(status, headers, body)
  if status == 200 and ok < #tokens then
    ok = ok + 1
    tlast = rs_now()
  elseif status ~= 200 then
    failed = failed + 1
  end
end
LUA
  } > "$W/revoke-pool.lua"
}

# wrk_run NAME SCRIPT URL CONNS DURATION [VAR=VALUE...]: runs wrk (WT threads) with the
# variables in its environment; a run whose every thread has stopped (budget or tokens used
# up) is ended at once with SIGINT. Sets R to the script's RESULT line.
R=
WT=$THREADS
wrk_run() {
  local name=$1 script=$2 url=$3 conns=$4 dur=$5 p
  shift 5
  local mark="$W/mark/$name"
  rm -rf "$mark"
  mkdir -p "$mark" "$(dirname "$OUT/wrk/$name")"
  env MARK_DIR="$mark" "$@" wrk -t"$WT" -c"$conns" -d"$dur" --latency -s "$script" "$url" \
    > "$OUT/wrk/$name.txt" 2>&1 &
  WRK_PID=$!
  while alive "$WRK_PID"; do
    if [ "$(find "$mark" -type f | wc -l)" -ge "$WT" ]; then
      kill -INT "$WRK_PID" 2>/dev/null || true
      break
    fi
    for p in "${SPID[@]}"; do
      alive "$p" || die "a server exited during the wrk run $name"
    done
    sleep 0.05
  done
  wait "$WRK_PID" || true
  WRK_PID=
  R=$(grep '^RESULT' "$OUT/wrk/$name.txt" | tail -n1) || true
  [ -n "$R" ] || die "wrk $name gave no result: $(tail -n5 "$OUT/wrk/$name.txt")"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< "$R"; }
# check_errors NAME: a warning if the last run had socket errors or non-2xx answers.
check_errors() {
  local e s f
  e=$(field errors); s=$(field status_errors); f=$(field failed)
  if [ "$e" != 0 ] || [ "$s" != 0 ] || [ "$f" != 0 ]; then
    warn "$1: $e socket errors, $s answers >= 400, $f answers other than 200"
  fi
}

# mint_count NAME URL COUNT CLIENT(a|b) TOKENS_DIR|- CONNS: mints COUNT tokens (about: each
# thread stops at its share), writing them to TOKENS_DIR unless it is "-". Sets MINTED.
MINTED=0
mint_count() {
  local name=$1 url=$2 count=$3 client=$4 dir=$5 conns=$6 per write=0
  per=$(( (count + WT - 1) / WT ))
  if [ "$dir" != - ]; then
    write=1
    rm -rf "$dir"
    mkdir -p "$dir"
  else
    dir=$W
  fi
  wrk_run "$name" "$W/mint-count.lua" "$url/jans-auth/restv1/token" "$conns" "$COUNT_LIMIT" \
    PER_THREAD="$per" MINT_CLIENT="$client" WRITE_TOKENS="$write" TOKENS_DIR="$dir"
  MINTED=$(field counted)
  [ "$(field failed)" = 0 ] || warn "$name: $(field failed) mint requests were not answered 200"
  [ "$MINTED" -ge "$count" ] || warn "$name: minted $MINTED of $count tokens"
}

# --- OAuth helpers --------------------------------------------------------------------------
mint_one() { # URL a|b: prints a fresh access token
  local body
  if [ "$2" = b ]; then
    body=$(curl -sf -d 'grant_type=client_credentials&client_id=client-b&client_secret=secret-b' \
      "$1/jans-auth/restv1/token")
  else
    body=$(curl -sf -u client-a:secret-a -d grant_type=client_credentials "$1/jans-auth/restv1/token")
  fi
  sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<< "$body"
}
active() { # URL TOKEN: prints true or false (introspection as the resource server)
  if curl -sf -u resource-server:resource-secret --data-urlencode "token=$2" \
    "$1/jans-auth/restv1/introspection" | grep -q '"active":true'; then
    echo true
  else
    echo false
  fi
}
# enable_revoke_all URL: sets allowAllValueForRevokeEndpoint through the Config API (as the
# demo's config-admin client; the server applies stored settings at once, its default
# --config-reload-delay being 0).
enable_revoke_all() {
  local token answer
  token=$(curl -sf -u config-admin:config-secret -d grant_type=client_credentials \
    --data-urlencode 'scope=https://jans.io/oauth/jans-auth-server/config/properties.write' \
    "$1/jans-auth/restv1/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  [ -n "$token" ] || die "no Config API token from $1"
  answer=$(curl -sf -X PATCH -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json-patch+json' \
    -d '[{"op":"replace","path":"/allowAllValueForRevokeEndpoint","value":true}]' \
    "$1/jans-config-api/api/v1/jans-auth-server/config") || die "Config API PATCH failed on $1"
  grep -q '"allowAllValueForRevokeEndpoint":true' <<< "$answer" ||
    die "allowAllValueForRevokeEndpoint not set on $1: $answer"
}

# pair ROUND F G: runs F then G in odd rounds, G then F in even rounds (alternating order).
pair() {
  if (( $1 % 2 )); then "$2" "$1"; "$3" "$1"; else "$3" "$1"; "$2" "$1"; fi
}

write_lua
git_rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  git_rev="$git_rev (with uncommitted changes)"
fi
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "git=$git_rev"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "cores=$(nproc)"
  echo "mem_gib=$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "wrk=$(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}')"
  echo "data_fs=$(df -T "$W" | awk 'NR == 2 {print $2}')"
  echo "rounds=$ROUNDS"
  echo "seconds=$D"
  echo "scale_max=$SCALE_MAX"
  echo "threads=$THREADS"
  echo "scale_threads=$SCALE_THREADS"
  echo "conns=$CONNS"
  echo "scale_conns=$SCALE_CONNS"
  echo "scale_unknown_seconds=$SCALE_UNKNOWN_SECONDS"
  echo "revoke_all_tokens=$REVOKE_ALL_TOKENS"
} > "$OUT/meta.txt"

# --- A. throughput: null server, unknown and valid revocation, minting ----------------------
PHASE=a
log "A. throughput figures: $ROUNDS rounds, wrk -t$THREADS -c$CONNS, ${D} s per run"
start_server null "$W/null_server" 127.0.0.1:0
start_server mem "$W/revspec" serve --bind 127.0.0.1:0
start_server dd "$W/revspec" serve --bind 127.0.0.1:0 --data-dir "$W/data-a"
log "servers: null ${SURL[null]}, in memory ${SURL[mem]}, --data-dir ${SURL[dd]} ($W/data-a)"

a_null() {
  wrk_run "a-r$1-null" "$W/unknown.lua" "${SURL[null]}/jans-auth/restv1/revoke" "$CONNS" "${D}s"
  check_errors "round $1 null server"
  rec null_rps "$1" "$(field rps)"
  log "round $1: null server $(field rps) req/s"
}
a_unknown() {
  wrk_run "a-r$1-unknown" "$W/unknown.lua" "${SURL[mem]}/jans-auth/restv1/revoke" "$CONNS" "${D}s"
  check_errors "round $1 unknown-token revoke"
  rec unknown_rps "$1" "$(field rps)"
  rec unknown_p99_ms "$1" "$(field p99_ms)"
  log "round $1: unknown-token revoke $(field rps) req/s"
}
a_unknown_lua() {
  wrk_run "a-r$1-unknown-lua" "$W/unknown-lua.lua" "${SURL[mem]}/jans-auth/restv1/revoke" "$CONNS" "${D}s"
  check_errors "round $1 unknown-token revoke (Lua-built)"
  rec unknown_lua_rps "$1" "$(field rps)"
  log "round $1: unknown-token revoke, Lua-built requests $(field rps) req/s"
}
a_mint() { # ROUND MODE
  wrk_run "a-r$1-mint-$2" "$W/mint-plain.lua" "${SURL[$2]}/jans-auth/restv1/token" "$CONNS" "${D}s"
  check_errors "round $1 mint ($2)"
  rec "mint_$2_rps" "$1" "$(field rps)"
  rec "mint_$2_p50_ms" "$1" "$(field p50_ms)"
  rec "mint_$2_p99_ms" "$1" "$(field p99_ms)"
  log "round $1: mint ($2) $(field rps) req/s, p50 $(field p50_ms) ms, p99 $(field p99_ms) ms"
}
a_mint_mem() { a_mint "$1" mem; }
a_mint_dd() { a_mint "$1" dd; }
# Mint latency with few connections (those of the scale figures): what a request costs, not
# the wait for a core (the -c$CONNS runs above saturate the 2 cores).
a_mint_latency() { # ROUND MODE
  WT=$SCALE_THREADS
  wrk_run "a-r$1-mint-latency-$2" "$W/mint-plain.lua" "${SURL[$2]}/jans-auth/restv1/token" "$SCALE_CONNS" "${D}s"
  WT=$THREADS
  check_errors "round $1 mint latency ($2)"
  rec "mint_lat_$2_p50_ms" "$1" "$(field p50_ms)"
  rec "mint_lat_$2_p99_ms" "$1" "$(field p99_ms)"
  rec "mint_lat_$2_rps" "$1" "$(field rps)"
  log "round $1: mint ($2) with wrk -t$SCALE_THREADS -c$SCALE_CONNS: p50 $(field p50_ms) ms, p99 $(field p99_ms) ms, $(field rps) req/s"
}
a_mint_latency_mem() { a_mint_latency "$1" mem; }
a_mint_latency_dd() { a_mint_latency "$1" dd; }
a_valid() { # ROUND MODE
  wrk_run "a-r$1-valid-$2" "$W/revoke-pool.lua" "${SURL[$2]}/jans-auth/restv1/revoke" "$CONNS" "${D}s" \
    TOKENS_DIR="$W/pool-$2"
  check_errors "round $1 valid-token revoke ($2)"
  rec "valid_$2_rps" "$1" "$(field counted_rps)"
  rec "valid_$2_p99_ms" "$1" "$(field p99_ms)"
  rec "valid_$2_revoked" "$1" "$(field counted)"
  if [ "$(field exhausted)" != 0 ]; then
    warn "round $1 valid-token revoke ($2): the minted tokens ran out after $(field duration_s) s of ${D} s ($(field counted) revoked); the rate is over the time they lasted"
  fi
  LAST_VALID[$2]=$(field counted_rps)
  log "round $1: valid-token revoke ($2) $(field counted_rps) req/s ($(field counted) revoked in $(field duration_s) s)"
}
a_valid_mem() { a_valid "$1" mem; }
a_valid_dd() { a_valid "$1" dd; }
declare -A LAST_VALID=()
for r in $(seq "$ROUNDS"); do
  pair "$r" a_null a_unknown
  a_unknown_lua "$r"
  pair "$r" a_mint_mem a_mint_dd
  pair "$r" a_mint_latency_mem a_mint_latency_dd
  # Tokens for the valid-token runs: enough for the whole run at the rate expected (the last
  # round's valid rate, else an upper bound: the unknown-token rate, twice the mint rate with
  # --data-dir), plus a quarter.
  u=$(grep "^unknown_rps,$r," "$OUT/raw.csv" | cut -d, -f3)
  m=$(grep "^mint_dd_rps,$r," "$OUT/raw.csv" | cut -d, -f3)
  est_mem=${LAST_VALID[mem]:-$u}
  est_dd=${LAST_VALID[dd]:-$(awk -v m="$m" 'BEGIN {print 2 * m}')}
  for mode in mem dd; do
    est=$([ "$mode" = mem ] && echo "$est_mem" || echo "$est_dd")
    n=$(awk -v e="$est" -v d="$D" 'BEGIN {n = int(e * d * 1.25) + 1000; print (n > 3000000 ? 3000000 : n)}')
    log "round $r: minting $n tokens for the valid-token revoke ($mode)"
    mint_count "a-r$r-pool-$mode" "${SURL[$mode]}" "$n" a "$W/pool-$mode" \
      "$([ "$mode" = mem ] && echo "$FILL_CONNS" || echo "$FILL_CONNS_DD")"
  done
  pair "$r" a_valid_mem a_valid_dd
done
stop_server mem
stop_server dd
stop_server null
rm -rf "$W/data-a" "$W"/pool-*

# --- B. scale: 10k .. SCALE_MAX stored tokens, in memory and with --data-dir ---------------
# client-a holds every stored token, each its own grant: the cap on live grants per client
# (--max-grants-per-client, 1,000,000 by default) is raised above SCALE_MAX and what C adds.
GRANT_CAP="--max-grants-per-client $(( SCALE_MAX * 2 + 10000 ))"
SIZES=()
for s in 10000 100000 300000 1000000; do
  if [ "$s" -le "$SCALE_MAX" ]; then SIZES+=("$s"); fi
done
if [ "${#SIZES[@]}" = 0 ] || [ "${SIZES[-1]}" -lt "$SCALE_MAX" ]; then SIZES+=("$SCALE_MAX"); fi
K=$SCALE_BATCH
if [ $(( SIZES[0] / 2 )) -lt "$K" ]; then K=$(( SIZES[0] / 2 > 0 ? SIZES[0] / 2 : 1 )); fi
echo "scale_sizes=${SIZES[*]}" >> "$OUT/meta.txt"
SCALE_BATCHES=$(( (SCALE_SAMPLES + K - 1) / K ))
echo "scale_batch=$K" >> "$OUT/meta.txt"
echo "scale_batches=$SCALE_BATCHES" >> "$OUT/meta.txt"
log "B. scale: sizes ${SIZES[*]}; at each size and round $SCALE_BATCHES batches of $K fresh tokens minted then revoked (wrk -t$SCALE_THREADS -c$SCALE_CONNS), and ${SCALE_UNKNOWN_SECONDS} s of unknown-token revoke"
PHASE=s
start_server mem "$W/revspec" serve --bind 127.0.0.1:0 $GRANT_CAP
start_server dd "$W/revspec" serve --bind 127.0.0.1:0 $GRANT_CAP --data-dir "$W/data-s"
DD_ADDR=${SURL[dd]#http://}
declare -A STORED=([mem]=0 [dd]=0)
for mode in mem dd; do
  # One token and one revocation, so that what the first request allocates is in the baseline.
  t=$(mint_one "${SURL[$mode]}" a)
  curl -sf -u client-a:secret-a -d "token=$t" "${SURL[$mode]}/jans-auth/restv1/revoke" > /dev/null
  echo "$([ "$mode" = mem ] && echo memory || echo data-dir),0,0,$(rss_kib "${SPID[$mode]}")" >> "$OUT/rss.csv"
done
# hist_ms FILE PERCENT: the percentile (ms) of merged "microseconds count" histogram lines.
hist_ms() {
  sort -n "$1" | awk -v p="$2" '{v[NR] = $1; c[NR] = $2; n += $2}
    END {rank = int(p / 100 * n + 0.5); if (rank < 1) rank = 1
         for (i = 1; i <= NR; i++) {cum += c[i]; if (cum >= rank) {printf "%.4f", v[i] / 1000; exit}}}'
}
b_measure() { # ROUND MODE SIZE
  local r=$1 mode=$2 s=$3 b vp99 vp50 vrps vn=0 vt=0 hist="$W/hist-$2-$3-$1"
  : > "$hist"
  WT=$SCALE_THREADS
  for b in $(seq "$SCALE_BATCHES"); do
    mint_count "scale/$mode-$s-r$r-b$b-mint" "${SURL[$mode]}" "$K" a "$W/scale-pool" "$FILL_CONNS"
    wrk_run "scale/$mode-$s-r$r-b$b-valid" "$W/revoke-pool.lua" "${SURL[$mode]}/jans-auth/restv1/revoke" \
      "$SCALE_CONNS" 120s TOKENS_DIR="$W/scale-pool" HIST_FILE="$hist"
    check_errors "scale $mode $s round $r batch $b valid-token revoke"
    # the batch's revocations and the time they took (revoked / rate)
    vn=$(( vn + $(field counted) ))
    vt=$(awk -v t="$vt" -v n="$(field counted)" -v q="$(field counted_rps)" 'BEGIN {printf "%.6f", t + (q > 0 ? n / q : 0)}')
  done
  vp99=$(hist_ms "$hist" 99); vp50=$(hist_ms "$hist" 50)
  vrps=$(awk -v n="$vn" -v t="$vt" 'BEGIN {printf "%.1f", (t > 0 ? n / t : 0)}')
  wrk_run "scale/$mode-$s-r$r-unknown" "$W/unknown.lua" "${SURL[$mode]}/jans-auth/restv1/revoke" \
    "$SCALE_CONNS" "${SCALE_UNKNOWN_SECONDS}s"
  check_errors "scale $mode $s round $r unknown-token revoke"
  WT=$THREADS
  echo "$([ "$mode" = mem ] && echo memory || echo data-dir),$s,$r,${STORED[$mode]},$vp99,$vp50,$vrps,$vn,$(field p99_ms),$(field rps)" >> "$OUT/scale.csv"
  log "scale $mode $s round $r: valid revoke p99 $vp99 ms, $vrps req/s ($vn revoked in $SCALE_BATCHES batches); unknown p99 $(field p99_ms) ms, $(field rps) req/s"
}
for s in "${SIZES[@]}"; do
  for mode in mem dd; do
    need=$(( s - ${STORED[$mode]} ))
    if [ "$need" -gt 0 ]; then
      log "filling ($mode) to $s tokens: minting $need"
      mint_count "b-$mode-fill-$s" "${SURL[$mode]}" "$need" a - \
        "$([ "$mode" = mem ] && echo "$FILL_CONNS" || echo "$FILL_CONNS_DD")"
      STORED[$mode]=$(( ${STORED[$mode]} + MINTED ))
      log "filled ($mode): ${STORED[$mode]} tokens stored, $(field counted_rps) mints/s"
    fi
  done
  sleep 1
  for mode in mem dd; do
    echo "$([ "$mode" = mem ] && echo memory || echo data-dir),$s,${STORED[$mode]},$(rss_kib "${SPID[$mode]}")" >> "$OUT/rss.csv"
  done
  b_mem() { b_measure "$1" mem "$s"; }
  b_dd() { b_measure "$1" dd "$s"; }
  for r in $(seq "$ROUNDS"); do pair "$r" b_mem b_dd; done
done

# --- C. revoke-all of a client holding REVOKE_ALL_TOKENS tokens (beside the fill) --------
log "C. revoke-all: client-b with $REVOKE_ALL_TOKENS tokens, beside client-a's ${STORED[mem]} (memory) / ${STORED[dd]} (--data-dir)"
for mode in mem dd; do enable_revoke_all "${SURL[$mode]}"; done
LAST_B_DD=
c_round() { # ROUND MODE
  local r=$1 mode=$2 ctl chk before out code secs ms ok=1 after ctl_after
  ctl=$(mint_one "${SURL[$mode]}" a)
  chk=$(mint_one "${SURL[$mode]}" b)
  mint_count "c-$mode-r$r-client-b" "${SURL[$mode]}" $(( REVOKE_ALL_TOKENS - 1 )) b - "$FILL_CONNS"
  before=$(active "${SURL[$mode]}" "$chk")
  out=$(curl -s -o "$W/revoke-all.body" -w '%{http_code} %{time_total}' \
    -d 'client_id=client-b&client_secret=secret-b&token=all&token_type_hint=all' \
    "${SURL[$mode]}/jans-auth/restv1/revoke")
  code=${out% *}
  secs=${out#* }
  ms=$(awk -v s="$secs" 'BEGIN {printf "%.2f", s * 1000}')
  after=$(active "${SURL[$mode]}" "$chk")
  ctl_after=$(active "${SURL[$mode]}" "$ctl")
  if [ "$code" != 200 ] || [ "$before" != true ] || [ "$after" != false ] || [ "$ctl_after" != true ]; then
    ok=0
    warn "revoke-all ($mode) round $r: answer $code, client-b token active before $before and after $after, client-a token active after $ctl_after"
  fi
  rec "revoke_all_${mode}_ms" "$r" "$ms"
  rec "revoke_all_${mode}_ok" "$r" "$ok"
  rec "revoke_all_${mode}_tokens" "$r" $(( MINTED + 1 ))
  if [ "$mode" = dd ]; then LAST_B_DD=$chk; fi
  log "revoke-all ($mode) round $r: $((MINTED + 1)) tokens in $ms ms, answer $code, checks $([ $ok = 1 ] && echo passed || echo FAILED)"
}
c_mem() { c_round "$1" mem; }
c_dd() { c_round "$1" dd; }
for r in $(seq "$ROUNDS"); do pair "$r" c_mem c_dd; done
stop_server mem

# --- D. restart of the --data-dir server holding SCALE_MAX tokens --------------------------
log "D. restart with ${STORED[dd]} tokens in --data-dir ($(du -sh "$W/data-s" | cut -f1) on disk)"
echo "restart_tokens=${STORED[dd]}" >> "$OUT/meta.txt"
echo "restart_db=$(du -sh "$W/data-s" | cut -f1)" >> "$OUT/meta.txt"
d_restart() { # ROUND SIGNAL
  local r=$1 sig=$2 tok t0 th t1 code="" ok=1 act=false revoked_stays=true
  tok=$(mint_one "${SURL[dd]}" a)
  [ -n "$tok" ] || die "no token before the restart"
  stop_server dd "$sig"
  t0=$EPOCHREALTIME
  "$W/revspec" serve --bind "$DD_ADDR" $GRANT_CAP --data-dir "$W/data-s" >> "$OUT/servers/s-dd.log" 2>&1 &
  SPID[dd]=$!
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 "${SURL[dd]}/health" || true)
    [ "$code" = 200 ] && break
    alive "${SPID[dd]}" || die "the --data-dir server did not restart: $(tail -n5 "$OUT/servers/s-dd.log")"
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {exit !(b - a > 300)}' && die "no /health after 300 s"
    sleep 0.01
  done
  th=$EPOCHREALTIME
  for _ in $(seq 100); do
    act=$(active "${SURL[dd]}" "$tok")
    [ "$act" = true ] && break
    sleep 0.01
  done
  t1=$EPOCHREALTIME
  if [ -n "$LAST_B_DD" ]; then revoked_stays=$([ "$(active "${SURL[dd]}" "$LAST_B_DD")" = false ] && echo true || echo false); fi
  if [ "$act" != true ] || [ "$revoked_stays" != true ]; then
    ok=0
    warn "restart after SIG$sig round $r: token minted before active after: $act; revoked client-b token still revoked: $revoked_stays"
  fi
  rec "restart_${sig}_s" "$r" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')"
  rec "restart_${sig}_health_s" "$r" "$(awk -v a="$t0" -v b="$th" 'BEGIN {printf "%.3f", b - a}')"
  rec "restart_${sig}_ok" "$r" "$ok"
  log "restart after SIG$sig round $r: /health after $(awk -v a="$t0" -v b="$th" 'BEGIN {printf "%.3f", b - a}') s, token active after $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') s"
}
d_term() { d_restart "$1" TERM; }
d_int() { d_restart "$1" INT; }
for r in $(seq "$ROUNDS"); do pair "$r" d_term d_int; done
stop_server dd
echo "runtime_s=$((SECONDS - T0))" >> "$OUT/meta.txt"

# --- the table and the plot ----------------------------------------------------------------
python3 - "$OUT" <<'PY'
import csv, os, statistics, sys

out = sys.argv[1]
meta = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(out, "meta.txt")) if "=" in line)
R = int(meta["rounds"])
raw = {}
for row in csv.DictReader(open(os.path.join(out, "raw.csv"))):
    raw[(row["figure"], int(row["round"]))] = float(row["value"])
scale = list(csv.DictReader(open(os.path.join(out, "scale.csv"))))
rss = list(csv.DictReader(open(os.path.join(out, "rss.csv"))))
notes = [l.strip() for l in open(os.path.join(out, "notes.txt")) if l.strip()]
sizes = [int(s) for s in meta["scale_sizes"].split()]
MODES = [("memory", "in memory"), ("data-dir", "--data-dir")]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def rps(v):
    return "—" if v is None else f"{v:,.0f}"


def ms(v):
    if v is None:
        return "—"
    return f"{v:.3g}" if v < 100 else f"{v:,.0f}"


def secs(v):
    return "—" if v is None else f"{v:.2f}"


def ratio(v):
    return "—" if v is None else f"{v:.2f}×"


def size_label(n):
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def met(value, op, target):
    if value is None:
        return "—"
    ok = value >= target if op == "≥" else value <= target
    return "yes" if ok else "**no**"


rows = []


def row(label, cells, median, derived="", target="", ok=""):
    rows.append([label] + cells + [median, derived, target, ok])


def series(key):
    return [raw.get((key, r)) for r in range(1, R + 1)]


def value_row(label, key, fmt, base=None, base_label="", op=None, target=None):
    vals = series(key)
    if base is None:
        row(label, [fmt(v) for v in vals], fmt(med(vals)))
        return
    bases = series(base)
    ratios = [v / b if v is not None and b else None for v, b in zip(vals, bases)]
    cells = [f"{fmt(v)} ({ratio(q)})" if v is not None else "—" for v, q in zip(vals, ratios)]
    m = med(ratios)
    row(label, cells, fmt(med(vals)), f"{ratio(m)} {base_label}",
        f"{op} {target}×" if op else "", met(m, op, target) if op else "")


def cost_row(label, key, base):
    vals, bases = series(key), series(base)
    diffs = [v - b if v is not None and b is not None else None for v, b in zip(vals, bases)]
    ratios = [v / b if v is not None and b else None for v, b in zip(vals, bases)]
    def signed(d):
        return "—" if d is None else ("+" if d >= 0 else "−") + ms(abs(d))
    cells = [f"{ms(v)} ({signed(d)})" if v is not None else "—" for v, d in zip(vals, diffs)]
    row(label, cells, ms(med(vals)), f"{signed(med(diffs))} ms, {ratio(med(ratios))} in memory")


c, t = meta["conns"], meta["threads"]
value_row(f"null axum server, unknown-token revoke request (req/s) [-c{c}]", "null_rps", rps)
value_row("unknown-token revoke (req/s)", "unknown_rps", rps, "null_rps", "of null", "≥", 0.8)
value_row("valid-token revoke, in memory (req/s); each request a fresh token", "valid_mem_rps", rps,
          "unknown_rps", "of unknown", "≥", 0.7)
value_row("  control: unknown-token revoke with Lua-built requests like the valid run (req/s)",
          "unknown_lua_rps", rps, "unknown_rps", "of unknown")
vals, bases = series("valid_mem_rps"), series("unknown_lua_rps")
q = [v / b if v is not None and b else None for v, b in zip(vals, bases)]
row("  valid-token revoke ÷ the Lua-built control (same client cost)", [ratio(x) for x in q], ratio(med(q)))
value_row("mint (client_credentials), in memory (req/s)", "mint_mem_rps", rps)
value_row("mint, --data-dir (req/s)", "mint_dd_rps", rps, "mint_mem_rps", "of in memory", "≥", 0.5)
value_row("valid-token revoke, --data-dir (req/s)", "valid_dd_rps", rps, "valid_mem_rps", "of in memory", "≥", 0.5)
lt = f"wrk -t{meta['scale_threads']} -c{meta['scale_conns']}"
value_row(f"mint latency p50, in memory (ms) [{lt}]", "mint_lat_mem_p50_ms", ms)
cost_row(f"mint latency p50, --data-dir (ms; + cost) [{lt}]", "mint_lat_dd_p50_ms", "mint_lat_mem_p50_ms")
value_row(f"mint latency p99, in memory (ms) [{lt}]", "mint_lat_mem_p99_ms", ms)
cost_row(f"mint latency p99, --data-dir (ms; + cost) [{lt}]", "mint_lat_dd_p99_ms", "mint_lat_mem_p99_ms")
for key, mlabel in (("mem", "in memory"), ("dd", "--data-dir")):
    p50, p99 = series(f"mint_{key}_p50_ms"), series(f"mint_{key}_p99_ms")
    row(f"mint latency p50 / p99 under the -c{c} throughput load, {mlabel} (ms)",
        [f"{ms(a)} / {ms(b)}" for a, b in zip(p50, p99)], f"{ms(med(p50))} / {ms(med(p99))}")

# scale
sc = meta["scale_conns"]
by = {}
for s in scale:
    by.setdefault((s["mode"], int(s["size"])), {})[int(s["round"])] = s


def scale_vals(mode, size, column):
    d = by.get((mode, size), {})
    out = []
    for r in range(1, R + 1):
        try:
            out.append(float(d[r][column]))
        except (KeyError, ValueError):
            out.append(None)
    return out


for mode, mlabel in MODES:
    for size in sizes:
        stored = next((int(x["stored"]) for x in scale if x["mode"] == mode and int(x["size"]) == size), size)
        p = scale_vals(mode, size, "valid_p99_ms")
        row(f"scale {mlabel}, {size_label(size)} stored ({stored:,}): valid-token revoke p99 (ms)",
            [ms(v) for v in p], ms(med(p)))
        v = scale_vals(mode, size, "valid_rps")
        row(f"scale {mlabel}, {size_label(size)}: valid-token revoke (req/s)", [rps(x) for x in v], rps(med(v)))
        p = scale_vals(mode, size, "unknown_p99_ms")
        v = scale_vals(mode, size, "unknown_rps")
        row(f"scale {mlabel}, {size_label(size)}: unknown-token revoke p99 (ms) / req/s",
            [f"{ms(a)} / {rps(b)}" for a, b in zip(p, v)], f"{ms(med(p))} / {rps(med(v))}")
    lo, hi = sizes[0], sizes[-1]
    if hi != lo:
        a, b = scale_vals(mode, hi, "valid_p99_ms"), scale_vals(mode, lo, "valid_p99_ms")
        per = [x / y if x is not None and y else None for x, y in zip(a, b)]
        m = med(a) / med(b) if med(a) is not None and med(b) else None
        row(f"scale {mlabel}: valid-token revoke p99 at {size_label(hi)} ÷ at {size_label(lo)}",
            [ratio(x) for x in per], "", f"{ratio(m)} (of the medians)", "≤ 1.2×", met(m, "≤", 1.2))
        a, b = scale_vals(mode, hi, "valid_rps"), scale_vals(mode, lo, "valid_rps")
        m = med(a) / med(b) if med(a) is not None and med(b) else None
        row(f"scale {mlabel}: valid-token revoke req/s at {size_label(hi)} ÷ at {size_label(lo)}",
            ["" for _ in range(R)], "", f"{ratio(m)} (of the medians)")

# memory
for mode, mlabel in MODES:
    pts = {int(x["size"]): (int(x["stored"]), int(x["rss_kib"])) for x in rss if x["mode"] == mode}
    cells = ", ".join(f"{size_label(s)}: {pts[s][1] / 1024:,.0f} MiB" for s in sorted(pts) if s)
    base = min((s for s in pts if s), default=None)
    top = max(pts, default=None)
    per = None
    if base is not None and top != base:
        per = (pts[top][1] - pts[base][1]) * 1024 / (pts[top][0] - pts[base][0])
    per0 = None
    if 0 in pts and top:
        per0 = (pts[top][1] - pts[0][1]) * 1024 / (pts[top][0] - pts[0][0])
    target = "≤ 300 B" if mode == "memory" else ""
    ok = met(per, "≤", 300) if mode == "memory" else ""
    row(f"memory per stored token, {mlabel} (B): (RSS at {size_label(top) if top else '?'} − RSS at "
        f"{size_label(base) if base else '?'}) ÷ tokens added; RSS {cells}; from an empty store: "
        f"{'—' if per0 is None else f'{per0:,.0f} B'}",
        ["" for _ in range(R)], "—" if per is None else f"{per:,.0f}", "", target, ok)

# revoke-all
for key, mlabel in (("mem", "in memory"), ("dd", "--data-dir")):
    vals, oks = series(f"revoke_all_{key}_ms"), series(f"revoke_all_{key}_ok")
    n = med(series(f"revoke_all_{key}_tokens"))
    cells = [f"{ms(v)} {'✓' if o == 1 else '✗ check failed'}" if v is not None else "—" for v, o in zip(vals, oks)]
    m = med(vals)
    row(f"revoke-all (token=all) of client-b's {n:,.0f} tokens, {mlabel} (ms); ✓ = 200, a client-b token "
        f"inactive after, a client-a token active", cells, ms(m), "", "≤ 200 ms", met(m, "≤", 200))

# restart
for sig, how in (("TERM", "SIGTERM"), ("INT", "SIGINT (graceful)")):
    vals, oks, health = series(f"restart_{sig}_s"), series(f"restart_{sig}_ok"), series(f"restart_{sig}_health_s")
    cells = [f"{secs(v)} {'✓' if o == 1 else '✗ check failed'}" if v is not None else "—" for v, o in zip(vals, oks)]
    m = med(vals)
    row(f"restart of --data-dir with {int(meta['restart_tokens']):,} tokens ({meta['restart_db']}) after {how} (s): "
        f"until /health is 200 and a token minted before is active", cells, secs(m),
        f"/health after {secs(med(health))} s", "≤ 3 s" if sig == "TERM" else "", met(m, "≤", 3) if sig == "TERM" else "")

header = ["figure"] + [f"round {r}" for r in range(1, R + 1)] + ["median", "ratio / derived", "target", "met"]
lines = [
    "# revspec benchmark suite",
    "",
    f"{meta['date']}, revspec {meta['git']}, release build. Machine: {meta['cores']} cores ({meta['cpu']}), "
    f"{meta['mem_gib']} GiB, Linux {meta['kernel']}; data directories on {meta['data_fs']}; {meta['wrk']}. "
    f"Load generator and servers on the same machine (loopback).",
    "",
    f"`ROUNDS={R} SECONDS_PER_RUN={meta['seconds']} SCALE_MAX={meta['scale_max']} bash bench/suite.sh` "
    f"({int(meta['runtime_s']) // 60} min {int(meta['runtime_s']) % 60} s). "
    f"Throughput figures: wrk -t{t} -c{c}, {meta['seconds']} s per run, the figures of a pair in alternating order; "
    f"a cell is that round's value and (ratio) to the baseline of the same round; the ratio column is the median "
    f"of the rounds' ratios. Scale figures: wrk -t{meta['scale_threads']} -c{sc} (few connections, so that p99 is the cost of a request rather than the wait for one of 2 cores shared with wrk); at each size and round {meta['scale_batches']} batches "
    f"of {int(meta['scale_batch']):,} tokens minted and then revoked (so the store holds the size plus at most one "
    f"batch; p50/p99 from the merged latency histograms of the batches, req/s = revocations ÷ their time), then "
    f"{meta['scale_unknown_seconds']} s of unknown-token revoke (a store of constant size). Memory: VmRSS of the "
    f"server process after filling to each size. Revoke-all and restart: one timed request or start per round "
    f"(curl; restart = from starting the process until /health answers 200 and a token minted before the stop "
    f"introspects active).",
    "",
    "| " + " | ".join(header) + " |",
    "|" + "---|" * len(header),
]
for r in rows:
    lines.append("| " + " | ".join(str(x) for x in r) + " |")
if notes:
    lines += ["", "Warnings:", ""] + [f"- {n}" for n in notes]
open(os.path.join(out, "table.md"), "w").write("\n".join(lines) + "\n")
PY

python3 bench/plot.py "$OUT/scale.csv" "$OUT/performance-scale.svg" --subtitle \
  "wrk -t$SCALE_THREADS -c$SCALE_CONNS on loopback; each point: median of $ROUNDS round(s) of $SCALE_BATCHES batches of $K freshly minted tokens revoked; $(nproc) cores"
if [ "$COPY_TO_DOCS" = 1 ]; then
  cp "$OUT/performance-scale.svg" docs/performance-scale.svg
  log "copied the plot to docs/performance-scale.svg"
fi
cat "$OUT/table.md"
log "done in $((SECONDS - T0)) s: $OUT/table.md, raw.csv, scale.csv, rss.csv, performance-scale.svg"
