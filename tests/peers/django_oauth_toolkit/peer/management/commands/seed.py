"""
`manage.py seed`: create (or reset) the fixtures of the DOT test peer. Idempotent.

Environment (all required; run.sh sets public defaults when they are unset):
  DOT_USER_PASSWORD        password of user `alice`
  DOT_CLIENT_A_SECRET      secret of confidential app `client-a` (password grant)
  DOT_CLIENT_B_SECRET      secret of confidential app `client-b` (password grant)
  DOT_RS_CLIENT_SECRET     secret of confidential app `resource-server`
                           (client_credentials grant; meant for introspection)

Client secrets are stored UNHASHED (hash_client_secret=False)
--------------------------------------------------------------
DOT >= 2.0 hashes client secrets by default: Application.hash_client_secret
defaults to True and ClientSecretField.pre_save() runs make_password() with
OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"] (Django's default, PBKDF2-SHA256 at
1,000,000 iterations in Django 5.2), so every client authentication
(OAuth2Validator._check_secret -> check_password) costs ~0.2 s CPU. Revocation
probing authenticates the client on every request, and this machine has 2 cores
shared with cargo builds, so that cost would dominate and make timing-sensitive
tests flaky.

hash_client_secret is a per-application model field (migration
0009_add_hash_client_secret). With it False, pre_save() stores the secret as-is and
_check_secret() falls back to constant_time_compare() (identify_hasher() raises
ValueError on a non-hash), so authentication is cheap. The authentication
*semantics* (Basic first, then body credentials, same error responses) are
identical; only storage of the fixture secret differs. The secrets are public
test fixtures anyway.
"""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from oauth2_provider.models import get_application_model


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise CommandError(f"environment variable {name} must be set (run.sh sets defaults)")
    return value


class Command(BaseCommand):
    help = "Create/reset user alice and applications client-a, client-b, resource-server."

    def handle(self, *args, **options):
        Application = get_application_model()
        User = get_user_model()

        user, _ = User.objects.get_or_create(username="alice")
        user.set_password(_env("DOT_USER_PASSWORD"))
        user.is_active = True
        user.save()

        apps = [
            ("client-a", "DOT_CLIENT_A_SECRET", Application.GRANT_PASSWORD),
            ("client-b", "DOT_CLIENT_B_SECRET", Application.GRANT_PASSWORD),
            # DOT's IntrospectTokenView accepts client authentication (Basic or body
            # credentials) of ANY application, or a bearer token carrying the
            # `introspection` scope. This app can do both: Basic auth directly, or
            # mint an `introspection`-scoped token with client_credentials.
            ("resource-server", "DOT_RS_CLIENT_SECRET", Application.GRANT_CLIENT_CREDENTIALS),
        ]
        for client_id, secret_env, grant in apps:
            app = Application.objects.filter(client_id=client_id).first() or Application(client_id=client_id)
            app.name = client_id
            app.user = user
            app.client_type = Application.CLIENT_CONFIDENTIAL
            app.authorization_grant_type = grant
            app.redirect_uris = ""
            app.skip_authorization = True
            # See module docstring: store the secret unhashed so authentication is
            # a constant-time compare instead of a ~0.2 s PBKDF2 run.
            app.hash_client_secret = False
            app.client_secret = _env(secret_env)
            app.full_clean(exclude=["user"])
            app.save()
            self.stdout.write(f"seeded application {client_id} ({grant}, hash_client_secret=False)")
        self.stdout.write("seeded user alice")
