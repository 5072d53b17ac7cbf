Feature: Revocation removes the whole grant (Janssen token revocation)
  Janssen Server: "since a token is part of a grant, when the token is invalidated, all other
  token within the same grant are also revoked", in both directions, and only that grant.

  @rule:jans-grant-cascade-rt @MUST @janssen @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Revoking a refresh token removes the access token of its grant
    Revoking a refresh token removes every access token of the same grant (also ones obtained
    by refreshing).

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token
    Then the response status is 200
    And the refresh token is inactive
    And the access token is inactive

  @rule:jans-grant-cascade-rt @MUST @janssen @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Revoking the current refresh token removes access tokens obtained by refreshing
    Revoking a refresh token removes every access token of the same grant (also ones obtained
    by refreshing).

    Given an access token and a refresh token from one grant of the primary client
    And the refresh token is used to obtain a new access token
    When the primary client revokes the refreshed refresh token
    Then the response status is 200
    And the refreshed refresh token is inactive
    And the refreshed access token is inactive
    And the access token is inactive

  @rule:jans-grant-cascade-at @MUST @janssen @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Revoking an access token removes the refresh token of its grant
    Revoking an access token removes the refresh token (and other access tokens) of the same grant.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the access token
    Then the response status is 200
    And the access token is inactive
    And the refresh token is inactive

  @rule:jans-grant-cascade-at @MUST @janssen @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Revoking a refreshed access token removes the other access token of its grant
    Revoking an access token removes the refresh token (and other access tokens) of the same grant.

    Given an access token and a refresh token from one grant of the primary client
    And the refresh token is used to obtain a new access token
    When the primary client revokes the refreshed access token
    Then the response status is 200
    And the refreshed access token is inactive
    And the access token is inactive

  @rule:jans-grant-cascade-isolation @MUST @janssen @requires:client:other @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Revoking a refresh token leaves other grants and other clients active
    Tokens of the client's other grants, and of other clients, stay active.

    Given an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    And an access token and a refresh token from one grant of the other client
    When the primary client revokes the refresh token
    Then the response status is 200
    And as a positive control, the refresh token is inactive
    And the second access token is still active
    And the second refresh token is still active
    And the other client's access token is still active
    And the other client's refresh token is still active

  @rule:jans-grant-cascade-isolation @MUST @janssen @requires:client:other @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Revoking an access token leaves other grants and other clients active
    Tokens of the client's other grants, and of other clients, stay active.

    Given an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    And an access token and a refresh token from one grant of the other client
    When the primary client revokes the access token
    Then the response status is 200
    And as a positive control, the access token is inactive
    And the second access token is still active
    And the second refresh token is still active
    And the other client's access token is still active
    And the other client's refresh token is still active
