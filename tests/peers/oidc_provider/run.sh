#!/usr/bin/env bash
# node-oidc-provider 9.13.3 (npm) as a loopback-only test peer for revspec: private_key_jwt and
# client_secret_jwt clients at the revocation endpoint (server.mjs).
#
#   run.sh install   npm ci (package-lock.json) into this folder; a no-op when up to date
#   run.sh start     start `node server.mjs` on 127.0.0.1:${OP_PORT:-8766}, wait (<= 30 s)
#                    until its discovery answers
#   run.sh stop      stop it via the pid file; a no-op when not running
#
# Environment (defaults in brackets): OP_PORT [8766], OP_DATA_DIR [/tmp/revspec-op-data] (log,
# pid file), OP_SECJWT_SECRET, OP_BASIC_SECRET and OP_USER_PASSWORD [public test fixtures].
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OP_PORT="${OP_PORT:-8766}"
OP_DATA_DIR="${OP_DATA_DIR:-/tmp/revspec-op-data}"
PIDFILE="$OP_DATA_DIR/node.pid"
export OP_PORT
: "${OP_SECJWT_SECRET:=secjwt-secret-of-32-bytes-or-more!!}"
: "${OP_USER_PASSWORD:=alice-password}"
: "${OP_BASIC_SECRET:=basic-secret-of-the-test-peer}"
export OP_SECJWT_SECRET OP_USER_PASSWORD OP_BASIC_SECRET

log() { printf 'run.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cmd_install() {
    command -v node >/dev/null || die "node is not installed (CI: .ci/run installs Debian's nodejs and npm)"
    local stamp="$HERE/node_modules/.revspec-lock.sha256" want
    want="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        log "node_modules is up to date"
        return 0
    fi
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$want" >"$stamp"
    log "installed oidc-provider $(node -p "require('$HERE/node_modules/oidc-provider/package.json').version")"
}

running_pid() {
    [ -f "$PIDFILE" ] || return 0
    local pid
    pid="$(tr -dc '0-9' <"$PIDFILE")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then printf '%s' "$pid"; fi
}

answers() { curl -fs "http://127.0.0.1:$OP_PORT/.well-known/openid-configuration" >/dev/null 2>&1; }

cmd_start() {
    [ -d "$HERE/node_modules/oidc-provider" ] || die "run '$0 install' first"
    mkdir -p "$OP_DATA_DIR"
    if [ -n "$(running_pid)" ]; then log "already running"; return 0; fi
    answers && die "something else already answers on 127.0.0.1:$OP_PORT"
    (cd "$HERE" && exec node server.mjs >"$OP_DATA_DIR/server.log" 2>&1) &
    echo $! >"$PIDFILE"
    for _ in $(seq 300); do
        if answers; then log "oidc-provider answers on http://127.0.0.1:$OP_PORT"; return 0; fi
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { cat "$OP_DATA_DIR/server.log" >&2; die "the server exited"; }
        sleep 0.1
    done
    cat "$OP_DATA_DIR/server.log" >&2
    die "no answer within 30 s"
}

cmd_stop() {
    local pid
    pid="$(running_pid)"
    [ -n "$pid" ] || { log "not running"; return 0; }
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PIDFILE"
    log "stopped"
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    *) die "usage: $0 install|start|stop" ;;
esac
