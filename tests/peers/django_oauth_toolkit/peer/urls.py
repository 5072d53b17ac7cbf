"""
URL layout of the DOT test peer.

  /o/token/             token endpoint (password, client_credentials, refresh_token)
  /o/revoke_token/      RFC 7009 revocation endpoint
  /o/introspect/        RFC 7662 introspection endpoint (DOT flavour)
  /o/userinfo/          OIDC userinfo (only when OIDC is enabled, i.e. the RSA key exists)
  /o/.well-known/openid-configuration   OIDC discovery (OIDC enabled only)
  /.well-known/oauth-authorization-server  RFC 8414 metadata at the origin root
                        (DOT recommends mounting it at the root as well as under /o/)
  /api/me               tiny protected resource (bearer token with scope `read`)
"""

from django.urls import include, path

from oauth2_provider import urls as oauth2_urls

from . import views

urlpatterns = [
    path("o/", include(oauth2_urls)),
    # RFC 8414 discovery at the origin root. Same view as /o/.well-known/...,
    # registered outside the "oauth2_provider" namespace (its endpoints are
    # reversed through the /o/ include above).
    path("", include((oauth2_urls.metadata_urlpatterns, "oauth2_metadata_root"))),
    path("api/me", views.MeView.as_view(), name="api-me"),
]
