Feature: Client authentication at the revocation endpoint (RFC 7009 section 2.1, RFC 6749 sections 2.3 and 5.2, RFC 8414 section 2)
  The revocation endpoint authenticates a confidential client exactly as the token endpoint
  does (RFC 6749 section 2.3), answers a failed authentication with 401 `invalid_client`
  (section 5.2), and revokes only tokens issued to the authenticated client (RFC 7009
  section 2.1); a public client identifies itself with `client_id` alone.

  @rule:rfc7009-2.1-client-auth-required @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A request without client credentials is refused and revokes nothing
    A request without any client credentials for a confidential client's token is refused (4xx)
    and the token stays active. The error code should be `invalid_client` (RFC 6749 5.2 lists
    "no client authentication included" under it): another code is a warning.

    Given an access token and a refresh token from one grant of the primary client
    When a revocation request for the refresh token is sent without client authentication
    Then the response is refused with a 4xx status
    And the error code should be "invalid_client"
    And the refresh token is still active
    And the access token is still active
    And as a positive control, the refresh token can still be revoked by its client

  @rule:rfc7009-2.1-wrong-secret @MUST @rfc7009 @requires:probe:access @any-token
  Scenario: A wrong client secret is refused with invalid_client
    A wrong client secret: `invalid_client` and the token stays active. The status is 401 when
    the client authenticated with the Authorization header (RFC 6749 5.2); with credentials in
    the body, 400 or 401.

    Given an access token of the primary client
    When the primary client revokes the access token with a wrong secret
    Then the response is the OAuth error "invalid_client" for the way the client authenticated
    And the access token is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:rfc7009-2.1-wrong-secret @MUST @rfc7009 @requires:client:other @requires:probe:access @any-token
  Scenario: A wrong client secret in the body is refused with invalid_client
    A wrong client secret: `invalid_client` and the token stays active. The status is 401 when
    the client authenticated with the Authorization header (RFC 6749 5.2); with credentials in
    the body, 400 or 401.

    Given an access token of the other client
    When the other client revokes the other client's access token with a wrong secret
    Then the response is the OAuth error "invalid_client" for the way the client authenticated
    And the other client's access token is still active
    And as a positive control, the other client's access token can still be revoked by its client

  @rule:rfc6749-5.2-invalid-client-scheme @MUST @rfc7009 @requires:probe:access @any-token
  Scenario: A failed Basic authentication carries a Basic WWW-Authenticate challenge
    A failed Basic authentication answers 401 with a `WWW-Authenticate` header of the Basic scheme.

    Given an access token of the primary client
    When the primary client revokes the access token with a wrong secret in the Authorization header
    Then the response status is 401
    And the response carries a Basic challenge

  @rule:rfc6749-2.3-one-auth-method @SHOULD @rfc7009 @requires:probe:access @any-token
  Scenario: Credentials in both the Authorization header and the body are refused
    Basic and `client_secret` in the body together: 400 `invalid_request`.

    Given an access token of the primary client
    When the primary client revokes the access token with credentials in both the Authorization header and the body
    Then the response is the OAuth error "invalid_request" with status 400
    And the access token is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:rfc7009-2.1-own-tokens-only @MUST @rfc7009 @requires:client:other @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Another client's refresh token is not revoked
    A token issued to another client is not revoked. The status may be 200 (silent) or a
    400-family error; the token must stay active.

    Given an access token and a refresh token from one grant of the other client
    When the primary client revokes the other client's refresh token
    Then the response status is 200 or a 4xx
    And the other client's refresh token is still active
    And the other client's access token is still active
    And as a positive control, the other client's refresh token can still be revoked by its client

  @rule:rfc7009-2.1-own-tokens-only @MUST @rfc7009 @requires:client:other @requires:probe:access @any-token
  Scenario: Another client's access token is not revoked
    A token issued to another client is not revoked. The status may be 200 (silent) or a
    400-family error; the token must stay active.

    Given an access token of the other client
    When the primary client revokes the other client's access token
    Then the response status is 200 or a 4xx
    And the other client's access token is still active
    And as a positive control, the other client's access token can still be revoked by its client

  @rule:rfc7009-2.1-public-client @MUST @rfc7009 @requires:public-client @requires:client:public @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A public client revokes its own refresh token with client_id alone
    A public client (`token_endpoint_auth_method=none`) revokes its own token with `client_id` alone.

    Given an access token and a refresh token from one grant of the public client
    When the public client revokes the public client's refresh token
    Then the response status is 200
    And the public client's refresh token is inactive

  @rule:rfc8414-auth-methods @MUST @rfc7009
  Scenario: Every published revocation auth method works
    If `revocation_endpoint_auth_methods_supported` is published, each listed method that the
    harness can perform works; if it is absent, `client_secret_basic` works.

    When the authorization server metadata is fetched
    And each published revocation auth method revokes a fresh token of its client
    Then every published method the harness can perform revoked its token
