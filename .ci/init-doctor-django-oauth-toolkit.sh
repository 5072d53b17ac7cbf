#!/usr/bin/env bash
# `revspec doctor` and `revspec init` against django-oauth-toolkit (the loopback test peer of
# .ci/check-django-oauth-toolkit.sh), as a new user meets them:
#   1. doctor on the shipped profile (targets/django-oauth-toolkit.toml): no problem, exit 0;
#   2. init --issuer http://127.0.0.1:8765/o writes a profile (exit 0) naming what it could not
#      determine; the user fills in the client ids and the user name;
#   3. doctor on it names the one problem DOT has for a guessed profile (its introspection does
#      not know refresh tokens) with the fix, exit 3; check on it stops with the same reason,
#      exit 3, never a profile error (2);
#   4. with doctor's fix applied, doctor reports no problem and check runs (exit 0).
# The peer is started here and stopped on every exit. Output goes to target/init-doctor/.
set -euo pipefail
cd "$(dirname "$0")/.."

peer=tests/peers/django_oauth_toolkit/run.sh
: "${DOT_USER_PASSWORD:=alice-password}"
: "${DOT_CLIENT_A_SECRET:=client-a-secret}"
: "${DOT_CLIENT_B_SECRET:=client-b-secret}"
: "${DOT_RS_CLIENT_SECRET:=resource-server-secret}"
export DOT_USER_PASSWORD DOT_CLIENT_A_SECRET DOT_CLIENT_B_SECRET DOT_RS_CLIENT_SECRET
# The variables `init --name dot-init` names, holding the same fixture secrets.
export DOT_INIT_PRIMARY_SECRET="$DOT_CLIENT_A_SECRET" DOT_INIT_OTHER_SECRET="$DOT_CLIENT_B_SECRET"
export DOT_INIT_USER_PASSWORD="$DOT_USER_PASSWORD"

stop_peer() {
  local rc=$?
  trap - EXIT
  "$peer" stop || echo "warning: stopping the DOT peer failed" >&2
  exit "$rc"
}
trap stop_peer EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cargo build --quiet
bin=target/debug/revspec
out=target/init-doctor
rm -rf "$out"
mkdir -p "$out"
"$peer" install
"$peer" start

fail() { echo "init-doctor: FAIL: $*" >&2; exit 1; }
# expect CODE FILE -- command...: runs it, keeps its output in FILE, checks the exit code.
expect() {
  local want=$1 file=$2 rc=0
  shift 3
  "$@" >"$file" 2>&1 || rc=$?
  cat "$file"
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want"
}

echo "-- 1. doctor, shipped profile"
expect 0 "$out/doctor-shipped.txt" -- "$bin" doctor --target targets/django-oauth-toolkit.toml
grep -q "^  none: " "$out/doctor-shipped.txt" || fail "doctor reported a problem on the shipped profile"

echo "-- 2. init"
expect 0 "$out/init.txt" -- "$bin" init --issuer http://127.0.0.1:8765/o --name dot-init --out "$out/dot-init.toml"
grep -q "could not determine" "$out/init.txt" || fail "init did not say what it could not determine"
sed -e 's/REPLACE-primary-client-id/client-a/' -e 's/REPLACE-other-client-id/client-b/' \
  -e 's/REPLACE-test-user/alice/' "$out/dot-init.toml" >"$out/dot-filled.toml"

echo "-- 3. doctor and check, guessed profile"
expect 3 "$out/doctor-guessed.txt" -- "$bin" doctor --target "$out/dot-filled.toml"
grep -q "1. the introspection probe for refresh tokens cannot be believed" "$out/doctor-guessed.txt" \
  || fail "doctor did not name the refresh-token probe"
grep -q "fix: .*refresh_probe_scope" "$out/doctor-guessed.txt" || fail "doctor gave no fix"
expect 3 "$out/check-guessed.txt" -- "$bin" check --target "$out/dot-filled.toml" --report-dir "$out/reports"
grep -q "a probe cannot be believed" "$out/check-guessed.txt" || fail "check did not say why"

echo "-- 4. doctor's fix applied"
sed -e 's/^refresh_token = "introspection"/refresh_token = "refresh"\nrefresh_probe_scope = "introspection"/' \
  "$out/dot-filled.toml" >"$out/dot-fixed.toml"
expect 0 "$out/doctor-fixed.txt" -- "$bin" doctor --target "$out/dot-fixed.toml"
grep -q "^  none: " "$out/doctor-fixed.txt" || fail "doctor still reports a problem"
expect 0 "$out/check-fixed.txt" -- "$bin" check --target "$out/dot-fixed.toml" --report-dir "$out/reports" \
  --rule rfc7009-2-refresh-revocable --rule rfc7009-2.1-hint-optional --rule rfc7009-2.2-idempotent
echo "init-doctor: all steps passed"
