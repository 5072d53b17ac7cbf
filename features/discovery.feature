Feature: Publishing the revocation endpoint (RFC 7009 section 2, RFC 8414 section 2, Janssen discovery)
  The revocation endpoint is an https URL (RFC 7009 section 2) that RFC 8414 metadata and the
  Janssen Server's `/.well-known/openid-configuration` publish as `revocation_endpoint`, for as
  long as the REVOKE_TOKEN feature flag is enabled.

  @rule:rfc7009-2-https @MUST @rfc7009
  Scenario: The published revocation endpoint is an https URL
    The published revocation endpoint is an https URL (downgraded to a warning for loopback targets).

    When the authorization server metadata is fetched
    Then the published revocation endpoint is an https URL

  @rule:rfc8414-revocation-endpoint @SHOULD @rfc7009
  Scenario: Authorization server metadata publishes revocation_endpoint
    Discovery metadata publishes `revocation_endpoint` as an absolute URL.

    When the authorization server metadata is fetched
    Then the metadata publishes revocation_endpoint as an absolute URL

  @rule:jans-discovery-endpoint @MUST @janssen
  Scenario: The OpenID configuration publishes revocation_endpoint
    `/.well-known/openid-configuration` publishes `revocation_endpoint`.

    When the discovery document is fetched
    Then the metadata publishes revocation_endpoint as an absolute URL

  @rule:jans-flag-disabled-discovery @MUST @janssen @serial @requires:setting:featureFlags=disabled
  Scenario: With the REVOKE_TOKEN flag disabled discovery no longer publishes revocation_endpoint
    With the flag disabled, discovery no longer publishes `revocation_endpoint`.

    Given the REVOKE_TOKEN feature flag is disabled
    When the discovery document is fetched
    Then the metadata does not publish revocation_endpoint
