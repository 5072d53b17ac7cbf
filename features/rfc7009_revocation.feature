Feature: Revoking tokens (RFC 7009 sections 2, 2.1 and 2.2)
  What a successful revocation does: which tokens are revocable (RFC 7009 section 2),
  token_type_hint and the cascade over a grant (section 2.1), and the 200 answer for
  invalid and already revoked tokens while other grants stay untouched (section 2.2).

  @rule:rfc7009-2-refresh-revocable @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @request-shape
  Scenario: A refresh token of the client is revoked
    A refresh token of the client is revoked: 200, then it is inactive.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token with hint "refresh_token"
    Then the response status is 200
    And the refresh token is inactive

  @rule:rfc7009-2-access-revocable @SHOULD @rfc7009 @requires:probe:access @request-shape
  Scenario: An access token of the client is revoked
    An access token of the client is revoked: 200, then it is inactive. A server that cannot
    revoke access tokens answers 400 `unsupported_token_type` instead (then the rule is INFO).

    Given an access token of the primary client
    When the primary client revokes the access token with hint "access_token"
    Then the access token is inactive unless the server answered "unsupported_token_type"

  @rule:rfc7009-2.1-immediate @SHOULD @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: The very next request after the 200 already sees the refresh token inactive
    The very next request after the 200 already sees the token inactive. RFC 7009 allows a
    propagation delay that implementations "should minimize": every other rule observes
    inactivity within the profile's propagation window, and this rule reports whether the
    first observation already saw it.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token
    Then the response status is 200
    And the first observation already shows the refresh token inactive

  @rule:rfc7009-2.1-hint-optional @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @request-shape
  Scenario: A refresh token sent without token_type_hint is revoked
    Without `token_type_hint` both access and refresh tokens are revoked.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token
    Then the response status is 200
    And the refresh token is inactive

  @rule:rfc7009-2.1-hint-optional @MUST @rfc7009 @requires:probe:access @request-shape
  Scenario: An access token sent without token_type_hint is revoked
    Without `token_type_hint` both access and refresh tokens are revoked.

    Given an access token of the primary client
    When the primary client revokes the access token
    Then the access token is inactive unless the server answered "unsupported_token_type"

  @rule:rfc7009-2.1-hint-fallback @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @request-shape
  Scenario: A refresh token sent with the hint access_token is still revoked
    A wrong hint (refresh token sent as `access_token`, access token sent as `refresh_token`)
    still revokes: the server must extend its search to all token types.
    (Janssen code does not for refresh tokens sent as `access_token`: a known deviation.)

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token with hint "access_token"
    Then the response status is 200
    And the refresh token is inactive

  @rule:rfc7009-2.1-hint-fallback @MUST @rfc7009 @requires:probe:access @request-shape
  Scenario: An access token sent with the hint refresh_token is still revoked
    A wrong hint (refresh token sent as `access_token`, access token sent as `refresh_token`)
    still revokes: the server must extend its search to all token types.

    Given an access token of the primary client
    When the primary client revokes the access token with hint "refresh_token"
    Then the access token is inactive unless the server answered "unsupported_token_type"

  @rule:rfc7009-2.2-unknown-hint-ignored @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @request-shape
  Scenario: An unregistered token_type_hint value is ignored
    An unregistered hint value (`token_type_hint=foo`) is ignored: 200 and the token is revoked.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token with hint "foo"
    Then the response status is 200
    And the refresh token is inactive

  @rule:rfc7009-2.1-rt-cascade @SHOULD @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Revoking a refresh token also invalidates the access token of its grant
    Revoking a refresh token also invalidates the access tokens of the same grant.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token
    Then the response status is 200
    And the refresh token is inactive
    And the access token is inactive

  @rule:rfc7009-2.1-at-cascade @INFO @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Record whether revoking an access token also revokes the refresh token of its grant
    Whether revoking an access token also revokes the refresh token of its grant (a MAY):
    record the observed policy.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the access token with hint "access_token"
    Then record whether the refresh token is still active

  @rule:rfc7009-2.2-invalid-token-200 @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: An unknown token value is answered 200 and changes nothing
    An unknown or malformed token: 200, and no other token changes state.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the token value "revspec-never-issued-3f9c2a7e51d84b06"
    Then the response status is 200
    And the access token is still active
    And the refresh token is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:rfc7009-2.2-invalid-token-200 @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A malformed token value is answered 200 and changes nothing
    An unknown or malformed token: 200, and no other token changes state.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the token value "!!malformed..token~~"
    Then the response status is 200
    And the access token is still active
    And the refresh token is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:rfc7009-2.2-idempotent @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: Revoking an already revoked refresh token is answered 200
    Revoking an already revoked token: 200.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token
    Then the response status is 200
    And the refresh token is inactive
    When the primary client revokes the refresh token
    Then the response status is 200

  @rule:rfc7009-2.2-grant-isolation @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: Revoking a token of one grant leaves the client's other grant active
    Revoking a token of one grant leaves the client's other grants active.

    Given an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    When the primary client revokes the refresh token
    Then the response status is 200
    And as a positive control, the refresh token is inactive
    And the second access token is still active
    And the second refresh token is still active
