"""A minimal protected resource, so tests can check whether an access token is
still accepted by a resource server after revocation (independent of OIDC)."""

from django.http import JsonResponse
from django.views.generic import View

from oauth2_provider.views.mixins import OAuthLibMixin, ScopedResourceMixin


class MeView(ScopedResourceMixin, OAuthLibMixin, View):
    """GET/POST /api/me with `Authorization: Bearer <token>` (scope `read`).

    200 + JSON on success. On failure: OAuthLibMixin.unauthenticated_response,
    DOT's default denial (a bare 403, no body), same as ProtectedResourceView."""

    required_scopes = ["read"]

    def dispatch(self, request, *args, **kwargs):
        valid, r = self.verify_request(request)
        if not valid:
            return self.unauthenticated_response(request, r)
        token = r.access_token
        return JsonResponse(
            {
                "username": r.user.get_username() if r.user else None,
                "client_id": token.application.client_id if token.application else None,
                "scope": token.scope,
            }
        )

