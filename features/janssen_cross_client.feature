Feature: Revoking another client's tokens (Janssen "Revoke tokens of other clients")
  Janssen Server: by default the endpoint revokes only the calling client's own tokens. A token
  of another client is revoked only when allowRevokeForOtherClients=true AND the calling client
  has the `revoke_any_token` scope; otherwise 400 `invalid_request`. The `revoke-any` client of
  the target profile holds that scope, the `primary` client does not.

  @rule:jans-cross-client-default @MUST @janssen @serial @requires:setting:allowRevokeForOtherClients=false @requires:client:other @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: By default another client's token is refused with invalid_request
    With allowRevokeForOtherClients=false (default): another client's token gives 400
    `invalid_request` and stays active.

    Given the setting allowRevokeForOtherClients is false
    And an access token and a refresh token from one grant of the other client
    When the primary client revokes the other client's access token
    Then the response is the OAuth error "invalid_request" with status 400
    And the other client's access token is still active
    And the other client's refresh token is still active
    And as a positive control, the other client's access token can still be revoked by its client

  @rule:jans-cross-client-no-scope @MUST @janssen @serial @requires:setting:allowRevokeForOtherClients=true @requires:client:other @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A client without revoke_any_token cannot revoke another client's token
    allowRevokeForOtherClients=true, but the caller lacks the `revoke_any_token` scope: 400
    `invalid_request`, token stays active.

    Given the setting allowRevokeForOtherClients is true
    And an access token and a refresh token from one grant of the other client
    When the primary client revokes the other client's access token
    Then the response is the OAuth error "invalid_request" with status 400
    And the other client's access token is still active
    And the other client's refresh token is still active
    And as a positive control, the other client's access token can still be revoked by its client

  @rule:jans-cross-client-scope-only @MUST @janssen @serial @requires:setting:allowRevokeForOtherClients=false @requires:client:other @requires:client:revoke-any @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: The revoke_any_token scope alone does not allow revoking another client's token
    The caller has `revoke_any_token` but allowRevokeForOtherClients=false: 400 `invalid_request`,
    token stays active.

    Given the setting allowRevokeForOtherClients is false
    And an access token and a refresh token from one grant of the other client
    When the revoke-any client revokes the other client's access token
    Then the response is the OAuth error "invalid_request" with status 400
    And the other client's access token is still active
    And the other client's refresh token is still active
    And as a positive control, the revoke-any client's granted scope includes "revoke_any_token"
    And as a positive control, the other client's access token can still be revoked by its client

  @rule:jans-cross-client-allowed @MUST @janssen @serial @requires:setting:allowRevokeForOtherClients=true @requires:client:other @requires:client:revoke-any @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: With the setting and the scope another client's token and its grant are revoked
    allowRevokeForOtherClients=true and the caller has `revoke_any_token`: 200 and the other
    client's token (and its grant) is revoked.

    Given the setting allowRevokeForOtherClients is true
    And an access token and a refresh token from one grant of the other client
    When the revoke-any client revokes the other client's access token
    Then the response status is 200
    And the other client's access token is inactive
    And the other client's refresh token is inactive
