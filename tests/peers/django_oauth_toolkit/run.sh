#!/usr/bin/env bash
# django-oauth-toolkit 3.4.1 as a loopback-only RFC 7009 test peer for revspec.
#
#   run.sh install   create the venv (${DOT_VENV:-/tmp/revspec-dot-venv}) and pip
#                    install requirements.txt; a no-op when already up to date
#   run.sh start     generate the OIDC key if missing, migrate, seed, start gunicorn
#                    (2 workers) on 127.0.0.1:${DOT_PORT:-8765}, wait (<= 60 s) until
#                    it answers
#   run.sh stop      stop it via the pid file; a no-op when not running
#   run.sh status    say whether it is running
#
# Environment (defaults in brackets):
#   DOT_VENV              [/tmp/revspec-dot-venv]
#   DOT_DATA_DIR          [/tmp/revspec-dot-data]  SQLite db, OIDC key, logs, pid file
#   DOT_PORT              [8765]                   always bound on 127.0.0.1
#   DOT_USER_PASSWORD     [alice-password]         user `alice`
#   DOT_CLIENT_A_SECRET   [client-a-secret]        confidential app `client-a`
#   DOT_CLIENT_B_SECRET   [client-b-secret]        confidential app `client-b`
#   DOT_RS_CLIENT_SECRET  [resource-server-secret] app `resource-server` (introspection)
#   DOT_DJANGO_SECRET_KEY [fixed fallback in peer/settings.py]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DOT_VENV="${DOT_VENV:-/tmp/revspec-dot-venv}"
DOT_DATA_DIR="${DOT_DATA_DIR:-/tmp/revspec-dot-data}"
DOT_PORT="${DOT_PORT:-8765}"
DOT_HOST=127.0.0.1
PIDFILE="$DOT_DATA_DIR/gunicorn.pid"
START_TIMEOUT=60
export DOT_DATA_DIR DOT_PORT DJANGO_SETTINGS_MODULE=peer.settings PYTHONDONTWRITEBYTECODE=1

log() { printf 'run.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Public fixture secrets for a loopback-only test peer: only defaulted when unset.
set_default_secrets() {
    local defaulted=() pair name value
    for pair in DOT_USER_PASSWORD=alice-password DOT_CLIENT_A_SECRET=client-a-secret \
        DOT_CLIENT_B_SECRET=client-b-secret DOT_RS_CLIENT_SECRET=resource-server-secret; do
        name="${pair%%=*}"
        value="${pair#*=}"
        if [ -z "${!name:-}" ]; then
            export "$name=$value"
            defaulted+=("$name")
        else
            export "${name?}"
        fi
    done
    if [ "${#defaulted[@]}" -gt 0 ]; then
        log "note: using public test-fixture defaults for ${defaulted[*]} (loopback-only test peer)"
    fi
}

venv_python() { printf '%s/bin/python' "$DOT_VENV"; }

requirements_stamp() { sha256sum "$HERE/requirements.txt" | cut -d' ' -f1; }

cmd_install() {
    local stamp_file="$DOT_VENV/.revspec-requirements.sha256" want
    want="$(requirements_stamp)"
    if [ -x "$(venv_python)" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] \
        && "$(venv_python)" -c 'import oauth2_provider, gunicorn' 2>/dev/null; then
        log "venv $DOT_VENV is up to date"
        return 0
    fi
    if [ ! -x "$(venv_python)" ]; then
        log "creating venv $DOT_VENV"
        python3 -m venv "$DOT_VENV"
    fi
    log "installing requirements into $DOT_VENV"
    "$(venv_python)" -m pip install --disable-pip-version-check -q -r "$HERE/requirements.txt"
    printf '%s\n' "$want" >"$stamp_file"
    log "installed: $("$(venv_python)" -m pip show django-oauth-toolkit 2>/dev/null | sed -n 's/^Version: /django-oauth-toolkit /p')"
}

# Prints the pid of the running gunicorn master, or nothing.
running_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 0
    pid="$(tr -dc '0-9' <"$PIDFILE")"
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q gunicorn; then
        printf '%s' "$pid"
    fi
}

# HTTP status of the RFC 8414 metadata document, "000" when nothing answers.
probe() {
    "$(venv_python)" - "$DOT_HOST" "$DOT_PORT" <<'PY' 2>/dev/null || printf '000'
import http.client, sys
try:
    c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=2)
    c.request("GET", "/.well-known/oauth-authorization-server")
    print(c.getresponse().status, end="")
except Exception:
    print("000", end="")
PY
}

manage() { (cd "$HERE" && "$(venv_python)" manage.py "$@"); }

cmd_start() {
    local pid deadline code
    [ -x "$(venv_python)" ] || die "no venv at $DOT_VENV; run '$0 install' first"
    set_default_secrets
    mkdir -p "$DOT_DATA_DIR"

    pid="$(running_pid)"
    if [ -n "$pid" ]; then
        log "already running (pid $pid) on http://$DOT_HOST:$DOT_PORT; re-seeding only"
        manage seed
        return 0
    fi
    rm -f "$PIDFILE"
    code="$(probe)"
    [ "$code" = "000" ] || die "something else already answers on $DOT_HOST:$DOT_PORT (HTTP $code)"

    # OIDC needs an RSA signing key: generate it once, outside the repo.
    if [ ! -s "$DOT_DATA_DIR/oidc_rsa.pem" ]; then
        log "generating OIDC RSA key in $DOT_DATA_DIR/oidc_rsa.pem"
        (umask 077 && "$(venv_python)" - "$DOT_DATA_DIR/oidc_rsa.pem" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
with open(sys.argv[1], "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
PY
        )
    fi

    manage migrate --noinput -v 0
    manage seed

    : >"$DOT_DATA_DIR/error.log"
    # --no-control-socket: gunicorn >= 24 otherwise opens a Unix control socket in
    # ~/.gunicorn/ (shared between instances, outside the data dir).
    (cd "$HERE" && "$DOT_VENV/bin/gunicorn" \
        --bind "$DOT_HOST:$DOT_PORT" \
        --workers 2 \
        --pid "$PIDFILE" \
        --daemon \
        --no-control-socket \
        --access-logfile "$DOT_DATA_DIR/access.log" \
        --error-logfile "$DOT_DATA_DIR/error.log" \
        --capture-output \
        peer.wsgi:application)

    deadline=$((SECONDS + START_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        code="$(probe)"
        if [ "$code" = "200" ]; then
            log "started (pid $(running_pid)) on http://$DOT_HOST:$DOT_PORT (data dir $DOT_DATA_DIR)"
            return 0
        fi
        # Fail fast if the master died (pid file written, process gone).
        if [ -f "$PIDFILE" ] && [ -z "$(running_pid)" ]; then
            break
        fi
        sleep 0.5
    done
    log "gunicorn did not answer 200 on http://$DOT_HOST:$DOT_PORT within ${START_TIMEOUT}s (last status $code)"
    log "last lines of $DOT_DATA_DIR/error.log:"
    tail -n 30 "$DOT_DATA_DIR/error.log" >&2 || true
    cmd_stop || true
    exit 1
}

cmd_stop() {
    local pid i
    pid="$(running_pid)"
    if [ -z "$pid" ]; then
        rm -f "$PIDFILE"
        log "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "gunicorn (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    log "stopped (pid $pid)"
}

cmd_status() {
    local pid
    pid="$(running_pid)"
    if [ -n "$pid" ]; then
        log "running (pid $pid) on http://$DOT_HOST:$DOT_PORT"
    else
        log "not running"
        return 1
    fi
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        printf 'usage: %s {install|start|stop|status}\n' "$0" >&2
        exit 2
        ;;
esac
