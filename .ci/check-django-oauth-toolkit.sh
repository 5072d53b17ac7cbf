#!/usr/bin/env bash
# Checks django-oauth-toolkit (the loopback test peer in tests/peers/django_oauth_toolkit/)
# against revspec's rfc7009 rule profile, with its ledger of known deviations:
#   1. tests/peers/django_oauth_toolkit/run.sh install   (venv + pip; a no-op when up to date)
#   2. tests/peers/django_oauth_toolkit/run.sh start     (migrate, seed, gunicorn on 127.0.0.1)
#   3. revspec check --target targets/django-oauth-toolkit.toml --profile rfc7009
#        --expectations targets/django-oauth-toolkit.expect.toml --report-dir target/reports
# The server is stopped on every exit (success, failure, Ctrl-C). The exit code is the
# check's: 0 conformant apart from the listed deviations, 1 rule failures or unmet
# expectations, 2 profile/usage error, 3 target unreachable or token minting failed.
# A failure in install/start exits non-zero before the check runs.
#
# Secrets: the profile names environment variables only. When they are unset, this script
# exports the same public test-fixture values run.sh seeds the peer with (the peer listens on
# loopback only); set them beforehand to use other values. DOT_PORT, DOT_VENV and
# DOT_DATA_DIR are passed through to run.sh (the profile assumes port 8765).
set -euo pipefail
cd "$(dirname "$0")/.."

peer=tests/peers/django_oauth_toolkit/run.sh

: "${DOT_USER_PASSWORD:=alice-password}"
: "${DOT_CLIENT_A_SECRET:=client-a-secret}"
: "${DOT_CLIENT_B_SECRET:=client-b-secret}"
: "${DOT_RS_CLIENT_SECRET:=resource-server-secret}"
export DOT_USER_PASSWORD DOT_CLIENT_A_SECRET DOT_CLIENT_B_SECRET DOT_RS_CLIENT_SECRET

stop_peer() {
  local rc=$?
  trap - EXIT
  "$peer" stop || echo "warning: stopping the DOT peer failed" >&2
  exit "$rc"
}
trap stop_peer EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$peer" install
"$peer" start

rc=0
cargo run --quiet -- check \
  --target targets/django-oauth-toolkit.toml \
  --profile rfc7009 \
  --expectations targets/django-oauth-toolkit.expect.toml \
  --report-dir target/reports || rc=$?
exit "$rc"
