#!/usr/bin/env bash
# Checks node-oidc-provider (the loopback test peer in tests/peers/oidc_provider/, installed
# from npm) against revspec's rfc7009 rule profile with a private_key_jwt primary client and a
# client_secret_jwt other client, with its ledger of known deviations:
#   1. tests/peers/oidc_provider/run.sh install   (npm ci; a no-op when up to date)
#   2. tests/peers/oidc_provider/run.sh start     (node server.mjs on 127.0.0.1:8766)
#   3. revspec check --target targets/oidc-provider.toml --rules rfc7009
#        --expectations targets/oidc-provider.expect.toml --report-dir target/reports
# The server is stopped on every exit. The exit code is the check's (0: conformant apart from
# the listed deviations); a failure to install or start exits non-zero before the check runs.
# Secrets are the peer's public test fixtures unless OP_SECJWT_SECRET, OP_BASIC_SECRET and
# OP_USER_PASSWORD are set.
set -euo pipefail
cd "$(dirname "$0")/.."

peer=tests/peers/oidc_provider/run.sh
: "${OP_SECJWT_SECRET:=secjwt-secret-of-32-bytes-or-more!!}"
: "${OP_BASIC_SECRET:=basic-secret-of-the-test-peer}"
: "${OP_USER_PASSWORD:=alice-password}"
export OP_SECJWT_SECRET OP_BASIC_SECRET OP_USER_PASSWORD

stop_peer() {
  local rc=$?
  trap - EXIT
  "$peer" stop || echo "warning: stopping the oidc-provider peer failed" >&2
  exit "$rc"
}
trap stop_peer EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$peer" install
"$peer" start

rc=0
cargo run --quiet -- check \
  --target targets/oidc-provider.toml \
  --rules rfc7009 \
  --expectations targets/oidc-provider.expect.toml \
  --report-dir target/reports || rc=$?
exit "$rc"
