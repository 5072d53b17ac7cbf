Feature: The shape of a revocation request (RFC 7009 section 2.1, RFC 6749 sections 2.3.1 and 3.2)
  A revocation request is a POST of an application/x-www-form-urlencoded body with a
  non-empty `token` parameter, sent once (RFC 7009 section 2.1, RFC 6749 section 3.2);
  anything else is refused or at least never revokes (RFC 6749 section 2.3.1 for the query).

  @rule:rfc7009-2.1-token-required @MUST @rfc7009 @requires:probe:access @any-token
  Scenario: A request without a token parameter is refused with invalid_request
    No `token` parameter: 400 `invalid_request`, nothing revoked.

    Given an access token of the primary client
    When the primary client sends the revocation form "token_type_hint=access_token"
    Then the response is the OAuth error "invalid_request" with status 400
    And the access token is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:rfc7009-2.1-empty-token @SHOULD @rfc7009 @requires:probe:access @any-token
  Scenario: An empty token parameter is treated as missing
    `token=` (empty) is treated as missing: 400 `invalid_request`.

    Given an access token of the primary client
    When the primary client sends the revocation form "token=&token_type_hint=access_token"
    Then the response is the OAuth error "invalid_request" with status 400
    And the access token is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:rfc6749-3.2-duplicate-param @SHOULD @rfc7009 @requires:probe:access @any-token
  Scenario: A repeated token parameter is refused with invalid_request
    A repeated `token` parameter: 400 `invalid_request`.

    Given an access token of the primary client
    When the primary client sends the revocation form "token={the access token}&token={the access token}"
    Then the response is the OAuth error "invalid_request" with status 400
    And the access token is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:rfc7009-2.1-post-only @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A GET to the revocation endpoint never revokes a token
    A GET (or any non-POST) never revokes a token (JSONP aside, which is only ever a capability).
    The client authenticates as it is registered (Basic), so only the method differs.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client sends a GET to the revocation endpoint with the refresh token in the query
    Then the refresh token is still active
    And the access token is still active
    And as a positive control, the refresh token can still be revoked by its client

  @rule:rfc7009-2.1-form-only @SHOULD @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A JSON body is not accepted as a revocation
    A JSON body is not accepted as a revocation (4xx, token stays active).

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token with a JSON body
    Then the response is refused with a 4xx status
    And the refresh token is still active
    And the access token is still active
    And as a positive control, the refresh token can still be revoked by its client

  @rule:rfc6749-2.3.1-no-query-credentials @MUST @rfc7009 @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A token in the URL query of a POST is not honoured
    Credentials or `token` in the URL query of the POST are not honoured (no revocation by query).
    The client authenticates as it is registered (Basic), so only the token is in the query.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client sends the refresh token in the URL query of an empty POST
    Then the refresh token is still active
    And the access token is still active
    And as a positive control, the refresh token can still be revoked by its client

  @rule:rfc6749-2.3.1-no-query-credentials @MUST @rfc7009 @requires:client:other @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: Client credentials in the URL query of a POST are not honoured
    Credentials or `token` in the URL query of the POST are not honoured (no revocation by query).
    The token is in the body, so only the credentials are in the query.

    Given an access token and a refresh token from one grant of the other client
    When the other client sends its credentials in the URL query and the other client's refresh token in the body
    Then the other client's refresh token is still active
    And the other client's access token is still active
    And as a positive control, the other client's refresh token can still be revoked by its client
