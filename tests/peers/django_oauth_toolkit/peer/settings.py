"""
Django settings for the revspec django-oauth-toolkit (DOT) test peer.

This is a loopback-only test fixture (gunicorn binds 127.0.0.1), never a
deployment. Everything that is state lives in DOT_DATA_DIR, outside the repo:

  DOT_DATA_DIR           SQLite database, OIDC RSA key, logs, pid file
                         (default /tmp/revspec-dot-data; run.sh exports it)
  DOT_DJANGO_SECRET_KEY  Django SECRET_KEY (fixed fallback below: public fixture)
  DOT_OIDC_KEY_FILE      PEM RSA private key for OIDC (default
                         $DOT_DATA_DIR/oidc_rsa.pem; run.sh generates it). If the
                         file does not exist OIDC is left disabled so manage.py
                         still works without it.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(os.environ.get("DOT_DATA_DIR", "/tmp/revspec-dot-data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Public, fixed fallback: acceptable only because this server listens on loopback
# and exists to be probed by tests.
SECRET_KEY = os.environ.get(
    "DOT_DJANGO_SECRET_KEY",
    "revspec-dot-test-peer-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
)

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
    "peer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "peer.urls"
WSGI_APPLICATION = "peer.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "db.sqlite3"),
        "OPTIONS": {
            # Two gunicorn workers share one SQLite file: WAL + IMMEDIATE
            # transactions + a generous busy timeout avoid "database is locked".
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}

# User passwords (alice) are checked on every password-grant token request. Django's
# default PBKDF2 (1,000,000 iterations) costs ~0.23 s CPU per check on this 2-core
# machine, which only slows down token minting in tests without changing any OAuth
# behaviour. This is a loopback test fixture with a public password, so the cheap
# MD5 hasher (the one Django's docs recommend for test suites) is listed first;
# PBKDF2 stays in the list so existing PBKDF2 hashes still verify.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- OIDC key (optional) ------------------------------------------------------
OIDC_KEY_FILE = Path(os.environ.get("DOT_OIDC_KEY_FILE", str(DATA_DIR / "oidc_rsa.pem")))
OIDC_RSA_PRIVATE_KEY = OIDC_KEY_FILE.read_text() if OIDC_KEY_FILE.is_file() else ""

OAUTH2_PROVIDER = {
    # `introspection` is the scope DOT's IntrospectTokenView requires when it is
    # called with a bearer token instead of client credentials.
    "SCOPES": {
        "read": "Reading scope",
        "write": "Writing scope",
        "introspection": "Introspect tokens",
        "openid": "OpenID Connect",
    },
    # Without this, DOT's default is "__all__" (every scope, including
    # introspection); require clients to ask for introspection/openid explicitly.
    "DEFAULT_SCOPES": ["read", "write"],
    # The resource owner password grant is what the probes use to mint tokens for a
    # user. DOT 3.4.x keeps it allowed while this RFC 9700 gate is False (it logs a
    # DeprecationWarning per use); set explicitly so a future default flip is visible.
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": False,
    # DOT defaults, spelled out because revocation results depend on them.
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 36000,
    # OIDC gives the discovery document, JWKS and /o/userinfo/ (a protected
    # resource for free). Only on when the RSA key exists (run.sh creates it).
    "OIDC_ENABLED": bool(OIDC_RSA_PRIVATE_KEY),
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
