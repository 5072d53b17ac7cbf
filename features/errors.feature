Feature: Error answers of the revocation endpoint (RFC 7009 sections 2.2.1 and 5, RFC 6749 section 5.2)
  Every error answer is an RFC 6749 section 5.2 JSON error (RFC 7009 section 2.2.1), a
  temporarily unavailable server may say when to retry, and the answers should not let a
  client scan for tokens of other clients (RFC 7009 section 5).

  @rule:rfc7009-2.2.1-error-format @MUST @rfc7009 @requires:probe:access @any-token
  Scenario Outline: An error answer to a revocation form is a well-formed OAuth error (<case>)
    Every error answer to a POST of a form to the revocation endpoint (400, 401, 403, 503) is
    `application/json` with an `error` member from RFC 6749 5.2 / RFC 7009 2.2.1, and
    `error`/`error_description` use only the characters 5.2 allows.

    Given an access token of the primary client
    When the primary client sends the revocation form "<form>"
    Then the response is a well-formed OAuth error

    Examples:
      | case            | form                                               |
      | missing token   | token_type_hint=access_token                       |
      | duplicate token | token={the access token}&token={the access token}  |

  @rule:rfc7009-2.2.1-error-format @MUST @rfc7009 @requires:probe:access @any-token
  Scenario: The answer to a wrong client secret is a well-formed OAuth error
    Every error answer to a POST of a form to the revocation endpoint (400, 401, 403, 503) is
    `application/json` with an `error` member from RFC 6749 5.2 / RFC 7009 2.2.1, and
    `error`/`error_description` use only the characters 5.2 allows.

    Given an access token of the primary client
    When the primary client revokes the access token with a wrong secret
    Then the response is a well-formed OAuth error

  @rule:rfc7009-2.2.1-error-format @MUST @rfc7009 @requires:probe:access @any-token
  Scenario: The answer to an unauthenticated request is a well-formed OAuth error
    Every error answer to a POST of a form to the revocation endpoint (400, 401, 403, 503) is
    `application/json` with an `error` member from RFC 6749 5.2 / RFC 7009 2.2.1, and
    `error`/`error_description` use only the characters 5.2 allows.

    Given an access token of the primary client
    When a revocation request for the access token is sent without client authentication
    Then the response is a well-formed OAuth error

  @rule:rfc7009-2.2.1-error-format @MUST @rfc7009 @requires:fault-injection @requires:probe:access @any-token
  Scenario: The 503 of a temporarily unavailable server is a well-formed OAuth error
    Every error answer to a POST of a form to the revocation endpoint (400, 401, 403, 503) is
    `application/json` with an `error` member from RFC 6749 5.2 / RFC 7009 2.2.1, and
    `error`/`error_description` use only the characters 5.2 allows.

    Given an access token of the primary client
    When the primary client revokes the access token while the server is made temporarily unavailable
    Then the response is a well-formed OAuth error

  @rule:rfc7009-2.2.1-retry-after @MAY @rfc7009 @requires:fault-injection @requires:probe:access @any-token
  Scenario: A temporarily unavailable server answers 503 and may add Retry-After
    A temporarily unavailable server answers 503 and may add `Retry-After`; the token stays active.

    Given an access token of the primary client
    When the primary client revokes the access token while the server is made temporarily unavailable
    Then the response status is 503
    And a Retry-After header is recorded if present
    And the access token is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:rfc7009-5-scanning-oracle @INFO @rfc7009 @requires:client:other @requires:probe:access
  Scenario: Record whether an unknown token and another client's token can be told apart
    Whether the answers for an unknown token and for another client's token can be told apart
    (status, body, timing): record it.

    Given an access token of the other client
    When the primary client revokes the token value "revspec-never-issued-8d41b7c0e29a6f35"
    And the answer is remembered as "unknown"
    And the primary client revokes the other client's access token
    And the answer is remembered as "foreign"
    Then record whether the answers "unknown" and "foreign" can be told apart
