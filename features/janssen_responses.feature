Feature: The Janssen revocation answers (Janssen token revocation, jans-auth-server OpenAPI)
  What the Janssen Server's /revoke answers look like: a 200 with no-store caching headers and
  an empty body, a 401 with a Basic realm challenge, and several space-separated tokens in one
  `token` parameter each revoked (a Janssen extension).

  @rule:jans-success-headers @SHOULD @janssen @requires:probe:access @any-token
  Scenario: A successful revocation carries no-store and no-cache and an empty body
    A 200 carries `Cache-Control: no-store` and `Pragma: no-cache`, and an empty body.

    Given an access token of the primary client
    When the primary client revokes the access token
    Then the response status is 200
    And the response's Cache-Control has the directive "no-store"
    And the response's Pragma has the directive "no-cache"
    And the response body is empty

  @rule:jans-invalid-client-realm @SHOULD @janssen @requires:probe:access @any-token
  Scenario: The 401 for a wrong secret carries a Basic realm challenge
    The 401 carries `WWW-Authenticate: Basic realm="..."`.

    Given an access token of the primary client
    When the primary client revokes the access token with a wrong secret in the Authorization header
    Then the response status is 401
    And the response carries a Basic challenge with a realm

  @rule:jans-multi-token @MAY @janssen @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Several space-separated tokens in one token parameter are each revoked
    Several tokens separated by a space in `token` are each revoked.

    Given an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    When the primary client sends the revocation form "token={the access token} {the second access token}"
    Then the response status is 200
    And the access token is inactive
    And the second access token is inactive
