Feature: Client authentication with the client's own access token (Janssen)
  Janssen's revocation endpoint lets a client authenticate with one of its own live access
  tokens as `Authorization: Bearer` (AuthenticationFilter, jans #686): the token's client is the
  caller. A revoked or never-issued access token authenticates nobody: 401, nothing revoked.

  @rule:jans-bearer-client-auth @MUST @rfc7009 @requires:bearer-client-auth @requires:refresh-tokens @requires:probe:refresh
  Scenario: A live access token of the client authenticates it
    Janssen lets a client authenticate with its own access token (`Authorization: Bearer AT`). A revoked or never-issued access token used that way is refused with 401 and revokes nothing; a live one revokes the client's own token.

    Given an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    When the primary client revokes the refresh token authenticating with the second access token as a bearer token
    Then the response status is 200
    And the refresh token is inactive

  @rule:jans-bearer-client-auth @MUST @rfc7009 @requires:bearer-client-auth @requires:refresh-tokens @requires:probe:refresh
  Scenario: A revoked access token does not authenticate
    Janssen lets a client authenticate with its own access token (`Authorization: Bearer AT`). A revoked or never-issued access token used that way is refused with 401 and revokes nothing; a live one revokes the client's own token.

    Given an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    When the primary client revokes the second access token
    Then the response status is 200
    And the second access token is inactive
    When the primary client revokes the refresh token authenticating with the second access token as a bearer token
    Then the response status is 401
    And the refresh token is still active
    And as a positive control, the refresh token can still be revoked by its client

  @rule:jans-bearer-client-auth @MUST @rfc7009 @requires:bearer-client-auth @requires:refresh-tokens @requires:probe:refresh
  Scenario: A never-issued access token does not authenticate
    Janssen lets a client authenticate with its own access token (`Authorization: Bearer AT`). A revoked or never-issued access token used that way is refused with 401 and revokes nothing; a live one revokes the client's own token.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token authenticating with the bearer token "revspec-never-issued-access-token"
    Then the response status is 401
    And the refresh token is still active
    And as a positive control, the refresh token can still be revoked by its client
