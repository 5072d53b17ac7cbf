Feature: Cross-origin revocation (RFC 7009 section 2.3)
  RFC 7009 section 2.3 lets a revocation endpoint support CORS so that user-agent-based
  applications can revoke their tokens; where the target declares the capability, preflight
  and the cross-origin POST behave as the Fetch standard's CORS protocol says.

  @rule:rfc7009-2.3-cors @MAY @rfc7009 @requires:cors
  Scenario: A CORS preflight from the allowed origin allows the POST method
    Preflight and cross-origin POST behave as CORS says for an allowed origin.

    When a CORS preflight for the revocation endpoint is sent from the allowed origin
    Then the preflight allows the origin and the POST method

  @rule:rfc7009-2.3-cors @MAY @rfc7009 @requires:cors @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: A cross-origin revocation from the allowed origin is allowed and revokes
    Preflight and cross-origin POST behave as CORS says for an allowed origin.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token from the allowed origin
    Then the response status is 200
    And the response allows the origin
    And the refresh token is inactive
