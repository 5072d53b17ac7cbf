Feature: Client authentication with JWT assertions at the revocation endpoint (RFC 7521 section 4.2, RFC 7523 sections 2.2 and 3, OpenID Connect Core 1.0 section 9, RFC 8414 section 2)
  A client registered for `private_key_jwt` or `client_secret_jwt` authenticates with a signed
  JWT (`client_assertion`, with `client_assertion_type` the JWT bearer URN) whose `iss` and
  `sub` are the client, whose `aud` names the server, which expires soon and carries a `jti`
  used once. Every defect of such an assertion is a failed client authentication: 401
  `invalid_client` (a malformed one may be 400 `invalid_request`), and nothing is revoked.
  "The jwt client" is the first client of the profile that authenticates with an assertion.

  @rule:rfc7523-assertion-revokes @MUST @rfc7009 @requires:jwt-client @requires:probe:access
  Scenario: Every JWT client revokes its own token with a valid assertion
    A client authenticating with a valid JWT assertion (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, `private_key_jwt` or `client_secret_jwt`) revokes its own token: 200, then inactive.

    When each JWT client of the profile revokes a fresh token of its own
    Then every one of them revoked its token

  @rule:rfc7523-3-audience @MUST @rfc7009 @requires:jwt-client @requires:probe:access @any-token
  Scenario: An assertion for another audience is refused
    An assertion whose `aud` does not identify this server (not its issuer, token endpoint or revocation endpoint) is refused with `invalid_client`; the token stays active.

    Given an access token of the jwt client
    When the jwt client revokes the jwt client's access token with an assertion for another audience
    Then the response is the OAuth error "invalid_client" for the way the client authenticated
    And the jwt client's access token is still active
    And as a positive control, the jwt client's access token can still be revoked by its client

  @rule:rfc7523-3-expired @MUST @rfc7009 @requires:jwt-client @requires:probe:access @any-token
  Scenario: An expired assertion is refused
    An assertion whose `exp` has passed (beyond a minute of clock skew) is refused with `invalid_client`; the token stays active.

    Given an access token of the jwt client
    When the jwt client revokes the jwt client's access token with an assertion that expired five minutes ago
    Then the response is the OAuth error "invalid_client" for the way the client authenticated
    And the jwt client's access token is still active
    And as a positive control, the jwt client's access token can still be revoked by its client

  @rule:rfc7523-3-signature @MUST @rfc7009 @requires:jwt-client @requires:probe:access @any-token
  Scenario Outline: An assertion that is not validly signed by the client is refused (<defect>)
    An assertion with a bad signature, signed by another key, or with `alg` `none` is refused with `invalid_client`; the token stays active.

    Given an access token of the jwt client
    When the jwt client revokes the jwt client's access token with <defect>
    Then the response is refused with a 4xx status
    And the error code should be "invalid_client"
    And the jwt client's access token is still active
    And as a positive control, the jwt client's access token can still be revoked by its client

    Examples:
      | defect                                              |
      | an unsigned assertion (alg none)                    |
      | an assertion with a broken signature                |
      | an assertion signed with a key it did not register  |

  @rule:rfc7523-3-subject @MUST @rfc7009 @requires:jwt-client @requires:client:other @requires:probe:access @any-token
  Scenario: An assertion naming another client as its subject cannot revoke that client's token
    An assertion whose `iss`/`sub` is another client than the token's owner cannot revoke it: refused, token stays active.

    Given an access token of the other client
    When the jwt client revokes the other client's access token with an assertion naming the other client as its subject
    Then the response is refused with a 4xx status
    And the other client's access token is still active
    And as a positive control, the other client's access token can still be revoked by its client

  @rule:rfc7521-4.2-assertion-type @MUST @rfc7009 @requires:jwt-client @requires:probe:access @any-token
  Scenario Outline: An assertion without the JWT bearer client_assertion_type is refused (<how>)
    A `client_assertion` with a missing or wrong `client_assertion_type` is refused (400 `invalid_request` or 401 `invalid_client`); the token stays active.

    Given an access token of the jwt client
    When the jwt client revokes the jwt client's access token with <how>
    Then the response is a 400 "invalid_request" or a 401 "invalid_client"
    And the jwt client's access token is still active
    And as a positive control, the jwt client's access token can still be revoked by its client

    Examples:
      | how                                                  |
      | its assertion but no client_assertion_type           |
      | its assertion and a wrong client_assertion_type      |

  @rule:oidc-9-assertion-once @SHOULD @rfc7009 @requires:jwt-client @requires:refresh-tokens @requires:probe:refresh
  Scenario: An assertion already used does not authenticate again
    The same assertion (same `jti`) presented a second time is refused (OIDC Core 9: "these tokens MUST only be used once"); the second request revokes nothing.

    Given an access token and a refresh token from one grant of the jwt client
    And an access token and a refresh token from a second grant of the jwt client
    When the jwt client revokes the jwt client's refresh token
    Then the response status is 200
    When the jwt client revokes the jwt client's second refresh token with the assertion it sent before
    Then the response is refused with a 4xx status
    And the jwt client's second refresh token is still active
    And as a positive control, the jwt client's second refresh token can still be revoked by its client

  @rule:rfc8414-2-auth-signing-algs @SHOULD @rfc7009 @requires:jwt-client @requires:probe:access
  Scenario: The published signing algorithms leave out none and each one the harness can make works
    If `revocation_endpoint_auth_methods_supported` lists a JWT method, `revocation_endpoint_auth_signing_alg_values_supported` is published and does not contain `none`; each listed algorithm the harness can produce works.

    When the authorization server metadata is fetched
    Then the metadata publishes revocation signing algorithms for its JWT methods, without none
    When each published signing algorithm the harness can produce revokes a fresh token
    Then every one of them revoked its token
