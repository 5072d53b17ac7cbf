#!/usr/bin/env python3
"""
Probe the running DOT test peer's RFC 7009 behaviour and print a Markdown
transcript (request and response of every case) on stdout. Stdlib only.

  ./run.sh start && python3 probe.py > /tmp/dot-transcript.md && ./run.sh stop

Reads DOT_PORT and the same secret env vars as run.sh (with the same public
defaults). Secrets are redacted in the transcript and every token is replaced
by a stable label such as <AT_a1> / <RT_a1>. Only talks to 127.0.0.1.
FINDINGS.md was written from this transcript.
"""

import base64
import http.client
import json
import os
import sys
import time
from urllib.parse import urlencode

HOST = "127.0.0.1"
PORT = int(os.environ.get("DOT_PORT", "8765"))
SECRETS = {
    "DOT_USER_PASSWORD": os.environ.get("DOT_USER_PASSWORD") or "alice-password",
    "DOT_CLIENT_A_SECRET": os.environ.get("DOT_CLIENT_A_SECRET") or "client-a-secret",
    "DOT_CLIENT_B_SECRET": os.environ.get("DOT_CLIENT_B_SECRET") or "client-b-secret",
    "DOT_RS_CLIENT_SECRET": os.environ.get("DOT_RS_CLIENT_SECRET") or "resource-server-secret",
}
CLIENT_SECRET_ENV = {
    "client-a": "DOT_CLIENT_A_SECRET",
    "client-b": "DOT_CLIENT_B_SECRET",
    "resource-server": "DOT_RS_CLIENT_SECRET",
}
SHOW_HEADERS = (
    "content-type",
    "content-length",
    "cache-control",
    "pragma",
    "www-authenticate",
    "allow",
    "location",
    "access-control-allow-origin",
)

labels = {}  # raw token -> label


def label(token, name):
    labels[token] = f"<{name}>"
    return token


def redact(text):
    for name, value in SECRETS.items():
        text = text.replace(value, f"<{name}>")
    for raw, lab in sorted(labels.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(raw, lab)
    return text


def basic(client_id, secret=None):
    if secret is None:
        secret = SECRETS[CLIENT_SECRET_ENV[client_id]]
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def redact_header(name, value):
    if name.lower() == "authorization" and value[:6].lower() == "basic ":
        try:
            cid, sec = base64.b64decode(value[6:]).decode().split(":", 1)
            return f"{value[:5]} base64({cid}:{redact(sec)})"
        except Exception:
            return value
    return redact(value)


out = sys.stdout


def emit(s=""):
    out.write(s + "\n")


def req(method, path, body=None, headers=None, form=True, quiet=False):
    """Send one request; print it and the response; return (status, headers, body)."""
    headers = dict(headers or {})
    if isinstance(body, (list, tuple)):
        body = urlencode(body)
    if body is not None and form and "Content-Type" not in headers:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    data = body.encode() if isinstance(body, str) else body
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    t0 = time.monotonic()
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    rbody = resp.read().decode("utf-8", "replace")
    ms = (time.monotonic() - t0) * 1000
    rheaders = resp.getheaders()
    conn.close()
    if not quiet:
        emit("```http")
        emit(f"{method} {redact(path)} HTTP/1.1")
        for k, v in headers.items():
            emit(f"{k}: {redact_header(k, v)}")
        if body is not None:
            emit("")
            emit(redact(body if isinstance(body, str) else body.decode()))
        emit("")
        emit(f"HTTP/1.1 {resp.status} {resp.reason}   [{ms:.0f} ms]")
        for k, v in rheaders:
            if k.lower() in SHOW_HEADERS:
                emit(f"{k}: {v}")
        emit("")
        emit(redact(rbody) if rbody else "(empty body)")
        emit("```")
    return resp.status, {k.lower(): v for k, v in rheaders}, rbody


def case(title):
    emit()
    emit(f"### {title}")
    emit()


def note(s):
    emit(f"> {s}")
    emit()


def mint(client, name, scope="read write"):
    """Password grant for alice; returns (access_token, refresh_token)."""
    st, _, body = req(
        "POST",
        "/o/token/",
        [("grant_type", "password"), ("username", "alice"), ("password", SECRETS["DOT_USER_PASSWORD"]), ("scope", scope)],
        {"Authorization": basic(client)},
        quiet=True,
    )
    assert st == 200, body
    j = json.loads(body)
    label(j["access_token"], f"AT_{name}")
    label(j["refresh_token"], f"RT_{name}")
    emit(f"- minted `<AT_{name}>` / `<RT_{name}>`: password grant, {client} (Basic), scope `{j['scope']}`")
    return j["access_token"], j["refresh_token"]


def revoke(token, client="client-a", hint=None, extra=None):
    body = [("token", token)]
    if hint:
        body.append(("token_type_hint", hint))
    body += extra or []
    return req("POST", "/o/revoke_token/", body, {"Authorization": basic(client)})


def introspect(token, client="client-a"):
    return req("POST", "/o/introspect/", [("token", token)], {"Authorization": basic(client)})


def refresh(rt, client="client-a"):
    return req(
        "POST",
        "/o/token/",
        [("grant_type", "refresh_token"), ("refresh_token", rt)],
        {"Authorization": basic(client)},
    )


def use(at):
    return req("GET", "/api/me", None, {"Authorization": f"Bearer {at}"})


def main():
    emit(f"# DOT revocation probe transcript (http://{HOST}:{PORT})")
    emit()
    emit("Response headers shown: " + ", ".join(SHOW_HEADERS) + " (others omitted).")

    # ---------------------------------------------------------------- a
    case("a. revoke a refresh token of client-a (Basic), then introspect / refresh / use its access token")
    at, rt = mint("client-a", "a1")
    revoke(rt, hint="refresh_token")
    note("introspect the revoked refresh token")
    introspect(rt)
    note("refresh with the revoked refresh token")
    refresh(rt)
    note("the access token of the same grant: introspect, then use at /api/me")
    introspect(at)
    use(at)
    note("control: introspect an (unrevoked) refresh token of a fresh grant")
    at2, rt2 = mint("client-a", "a2")
    introspect(rt2)

    # ---------------------------------------------------------------- b
    case("b. revoke an access token, then introspect it and try the refresh token of the same grant")
    at, rt = mint("client-a", "b1")
    revoke(at, hint="access_token")
    introspect(at)
    use(at)
    refresh(rt)

    # ---------------------------------------------------------------- c
    case("c. missing / empty / unknown / already-revoked token")
    note("missing `token` parameter")
    req("POST", "/o/revoke_token/", [("token_type_hint", "access_token")], {"Authorization": basic("client-a")})
    note("missing `token` AND no client authentication (which check wins?)")
    req("POST", "/o/revoke_token/", [("token_type_hint", "access_token")])
    note("`token=` (empty)")
    req("POST", "/o/revoke_token/", "token=", {"Authorization": basic("client-a")})
    note("unknown token value")
    revoke("this-token-was-never-issued")
    note("already revoked token (<RT_a1>, revoked in case a) and <AT_b1> (revoked in case b)")
    revoke(labels_inv("<RT_a1>"))
    revoke(labels_inv("<AT_b1>"))

    # ---------------------------------------------------------------- d
    case("d. client authentication failures")
    at, rt = mint("client-a", "d1")
    note("no client authentication at all")
    req("POST", "/o/revoke_token/", [("token", at)])
    note("client_id only in the body (confidential client, no secret)")
    req("POST", "/o/revoke_token/", [("token", at), ("client_id", "client-a")])
    note("Basic with the wrong secret")
    req("POST", "/o/revoke_token/", [("token", at)], {"Authorization": basic("client-a", "wrong-secret")})
    note("client_secret_post with the wrong secret")
    req("POST", "/o/revoke_token/", [("token", at), ("client_id", "client-a"), ("client_secret", "wrong-secret")])
    note("Basic with an unknown client id")
    req("POST", "/o/revoke_token/", [("token", at)], {"Authorization": basic("no-such-client", "whatever")})
    note("Authorization: Basic with garbage (not base64)")
    req("POST", "/o/revoke_token/", [("token", at)], {"Authorization": "Basic %%%not-base64%%%"})
    note("auth-scheme in lower case: `Authorization: basic ...` (RFC 7235: schemes are case-insensitive)")
    req("POST", "/o/revoke_token/", [("token", at)], {"Authorization": "basic " + basic("client-a")[6:]})
    note("Authorization: Bearer <client-a's own access token> (not a client authentication method)")
    req("POST", "/o/revoke_token/", [("token", at)], {"Authorization": f"Bearer {at}"})
    note("token still active after all those failures?")
    introspect(at)
    note("control: client_secret_post with the right secret")
    req(
        "POST",
        "/o/revoke_token/",
        [("token", at), ("client_id", "client-a"), ("client_secret", SECRETS["DOT_CLIENT_A_SECRET"])],
    )
    introspect(at)

    # ---------------------------------------------------------------- e
    case("e. a token of client-b revoked by client-a")
    at, rt = mint("client-b", "e1")
    revoke(at, client="client-a", hint="access_token")
    introspect(at)
    revoke(rt, client="client-a", hint="refresh_token")
    note("client-b can still refresh with <RT_e1>? (rotates; prints new tokens)")
    st, _, body = req(
        "POST",
        "/o/token/",
        [("grant_type", "refresh_token"), ("refresh_token", rt)],
        {"Authorization": basic("client-b")},
        quiet=True,
    )
    if st == 200:
        j = json.loads(body)
        label(j["access_token"], "AT_e1_refreshed")
        label(j["refresh_token"], "RT_e1_refreshed")
    emit(f"- refresh of <RT_e1> by client-b: HTTP {st} {redact(body)}")
    emit()
    note("client-a refreshing client-b's refresh token (token endpoint, for comparison)")
    at, rt = mint("client-b", "e2")
    refresh(rt, client="client-a")

    # ---------------------------------------------------------------- f
    case("f. wrong and unknown token_type_hint")
    at, rt = mint("client-a", "f1")
    note("refresh token with token_type_hint=access_token")
    revoke(rt, hint="access_token")
    refresh(rt)
    introspect(at)
    at, rt = mint("client-a", "f2")
    note("access token with token_type_hint=refresh_token")
    revoke(at, hint="refresh_token")
    introspect(at)
    refresh(rt)
    at, rt = mint("client-a", "f3")
    note("unknown hint `foo` on an access token")
    revoke(at, hint="foo")
    introspect(at)
    note("unknown hint `foo` on an unknown token")
    revoke("never-issued-token-f", hint="foo")

    # ---------------------------------------------------------------- g
    case("g. malformed requests")
    at1, rt1 = mint("client-a", "g1")
    at2, rt2 = mint("client-a", "g2")
    note("duplicate `token` parameter: token=<AT_g1>&token=<AT_g2>")
    req("POST", "/o/revoke_token/", [("token", at1), ("token", at2)], {"Authorization": basic("client-a")})
    introspect(at1)
    introspect(at2)

    at, rt = mint("client-a", "g3")
    note("Basic (right) + client_id/client_secret in body (right) together")
    req(
        "POST",
        "/o/revoke_token/",
        [("token", at), ("client_id", "client-a"), ("client_secret", SECRETS["DOT_CLIENT_A_SECRET"])],
        {"Authorization": basic("client-a")},
    )
    introspect(at)
    at, rt = mint("client-a", "g4")
    note("Basic (right) + client_secret in body (WRONG)")
    req(
        "POST",
        "/o/revoke_token/",
        [("token", at), ("client_id", "client-a"), ("client_secret", "wrong-secret")],
        {"Authorization": basic("client-a")},
    )
    introspect(at)
    at, rt = mint("client-a", "g5")
    note("Basic (WRONG secret) + client_id/client_secret in body (right)")
    req(
        "POST",
        "/o/revoke_token/",
        [("token", at), ("client_id", "client-a"), ("client_secret", SECRETS["DOT_CLIENT_A_SECRET"])],
        {"Authorization": basic("client-a", "wrong-secret")},
    )
    introspect(at)
    at, rt = mint("client-a", "g6")
    note("Basic as client-b + body credentials of client-a (two different clients)")
    req(
        "POST",
        "/o/revoke_token/",
        [("token", at), ("client_id", "client-a"), ("client_secret", SECRETS["DOT_CLIENT_A_SECRET"])],
        {"Authorization": basic("client-b")},
    )
    introspect(at)

    at, rt = mint("client-a", "g7")
    note("token and client credentials in the URL query, empty POST body")
    q = urlencode([("token", at), ("client_id", "client-a"), ("client_secret", SECRETS["DOT_CLIENT_A_SECRET"])])
    req("POST", "/o/revoke_token/?" + q, "", {"Content-Type": "application/x-www-form-urlencoded"})
    note("token in the URL query, Basic auth, empty POST body")
    req("POST", "/o/revoke_token/?" + urlencode([("token", at)]), "", {"Authorization": basic("client-a"), "Content-Type": "application/x-www-form-urlencoded"})
    note("valid form body + an unrelated query parameter (?foo=bar)")
    req("POST", "/o/revoke_token/?foo=bar", [("token", at)], {"Authorization": basic("client-a")})
    introspect(at)
    note("GET with the token in the query")
    req("GET", "/o/revoke_token/?" + urlencode([("token", at)]), None, {"Authorization": basic("client-a")})
    introspect(at)
    note("JSON body")
    req(
        "POST",
        "/o/revoke_token/",
        json.dumps({"token": at}),
        {"Authorization": basic("client-a"), "Content-Type": "application/json"},
    )
    note("form-encoded body sent with Content-Type: text/plain")
    req("POST", "/o/revoke_token/", "token=" + at, {"Authorization": basic("client-a"), "Content-Type": "text/plain"})
    introspect(at)
    note("PUT / DELETE / OPTIONS / HEAD on the revocation endpoint")
    req("PUT", "/o/revoke_token/", [("token", at)], {"Authorization": basic("client-a")})
    req("DELETE", "/o/revoke_token/", None, {"Authorization": basic("client-a")})
    req("OPTIONS", "/o/revoke_token/", None, {})
    req("HEAD", "/o/revoke_token/", None, {})
    note("no trailing slash: /o/revoke_token (CommonMiddleware APPEND_SLASH)")
    req("POST", "/o/revoke_token", [("token", at)], {"Authorization": basic("client-a")})

    # ---------------------------------------------------------------- i
    case("i. discovery documents")
    for path in (
        "/.well-known/openid-configuration",
        "/o/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/o/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/o",
    ):
        req("GET", path)

    # ---------------------------------------------------------------- j
    case("j. introspection")
    at, rt = mint("client-a", "j1")
    note("Basic auth of the issuing client (client-a)")
    introspect(at, "client-a")
    note("Basic auth of ANOTHER client (client-b) on client-a's token")
    introspect(at, "client-b")
    note("Basic auth of resource-server")
    introspect(at, "resource-server")
    note("client_secret_post (client-a)")
    req("POST", "/o/introspect/", [("token", at), ("client_id", "client-a"), ("client_secret", SECRETS["DOT_CLIENT_A_SECRET"])])
    note("bearer token with the `introspection` scope (client_credentials by resource-server)")
    st, _, body = req(
        "POST",
        "/o/token/",
        [("grant_type", "client_credentials"), ("scope", "introspection")],
        {"Authorization": basic("resource-server")},
        quiet=True,
    )
    assert st == 200, body
    rs_at = label(json.loads(body)["access_token"], "AT_rs_introspection")
    emit(f"- minted `<AT_rs_introspection>`: client_credentials, resource-server (Basic): {redact(body)}")
    req("POST", "/o/introspect/", [("token", at)], {"Authorization": f"Bearer {rs_at}"})
    note("bearer token WITHOUT the introspection scope (<AT_j1> itself)")
    req("POST", "/o/introspect/", [("token", at)], {"Authorization": f"Bearer {at}"})
    note("no authentication")
    req("POST", "/o/introspect/", [("token", at)])
    note("wrong secret")
    req("POST", "/o/introspect/", [("token", at)], {"Authorization": basic("client-a", "wrong-secret")})
    note("missing token parameter")
    req("POST", "/o/introspect/", "", {"Authorization": basic("client-a")})
    note("unknown token")
    introspect("never-issued-token-j")
    note("refresh token (valid, unrevoked)")
    introspect(rt)
    note("GET with token in query")
    req("GET", "/o/introspect/?" + urlencode([("token", at)]), None, {"Authorization": basic("client-a")})
    note("token with `openid` scope: userinfo before and after revocation")
    at, rt = mint("client-a", "j2", scope="read openid")
    req("GET", "/o/userinfo/", None, {"Authorization": f"Bearer {at}"})
    revoke(at)
    req("GET", "/o/userinfo/", None, {"Authorization": f"Bearer {at}"})
    use(at)

    # ---------------------------------------------------------------- timing
    case("timing: 20 revocations of unknown tokens (client-a, Basic)")
    t0 = time.monotonic()
    for i in range(20):
        st, _, _ = req("POST", "/o/revoke_token/", [("token", f"unknown-{i}")], {"Authorization": basic("client-a")}, quiet=True)
        assert st == 200
    emit(f"- 20 sequential revocations: {(time.monotonic() - t0) * 1000 / 20:.1f} ms mean")


def labels_inv(lab):
    for raw, l in labels.items():
        if l == lab:
            return raw
    raise KeyError(lab)


if __name__ == "__main__":
    main()
