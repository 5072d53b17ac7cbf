Feature: Revoking every token of a client (Janssen "Revoke all tokens by client_id")
  Janssen Server: with allowAllValueForRevokeEndpoint=true, the value `all` revokes every token
  of the authenticated client. The documentation says `token_type_hint=all`, the code keys on
  `token=all`; the catalogue sends both and records which spelling works.

  @rule:jans-all-enabled @MUST @janssen @serial @requires:setting:allowAllValueForRevokeEndpoint=true @requires:client:other @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: token=all with token_type_hint=all revokes every token of the client
    `token_type_hint=all` (the documented form; send `token=all&token_type_hint=all`, which the
    Janssen code also accepts) revokes every token of the authenticated client, across all its
    grants: 200.

    Given the setting allowAllValueForRevokeEndpoint is true
    And an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    And an access token and a refresh token from one grant of the other client
    When the primary client sends the revocation form "token=all&token_type_hint=all"
    Then the response status is 200
    And every token of the primary client is inactive

  @rule:jans-all-own-client @MUST @janssen @serial @requires:setting:allowAllValueForRevokeEndpoint=true @requires:client:other @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Revoking all tokens of the client leaves the other client's tokens active
    The all-revocation leaves every other client's tokens active.

    Given the setting allowAllValueForRevokeEndpoint is true
    And an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    And an access token and a refresh token from one grant of the other client
    When the primary client sends the revocation form "token=all&token_type_hint=all"
    Then the response status is 200
    And as a positive control, every token of the primary client is inactive
    And every token of the other client is still active

  @rule:jans-all-disabled @MUST @janssen @serial @requires:setting:allowAllValueForRevokeEndpoint=false @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: With allowAllValueForRevokeEndpoint=false the all request revokes nothing
    The same request revokes nothing except a token literally named by `token`: 200, all of the
    client's tokens stay active.

    Given the setting allowAllValueForRevokeEndpoint is false
    And an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    When the primary client sends the revocation form "token=all&token_type_hint=all"
    Then the response status is 200
    And every token of the primary client is still active
    And as a positive control, the access token can still be revoked by its client

  @rule:jans-all-variants @INFO @janssen @serial @requires:setting:allowAllValueForRevokeEndpoint=true @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Record whether token_type_hint=all with a real token value revokes every token
    Which of the two spellings the server honours: `token_type_hint=all` with a real token value
    (documentation), `token=all` without a hint (Janssen code).

    Given the setting allowAllValueForRevokeEndpoint is true
    And an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    When the primary client sends the revocation form "token={the access token}&token_type_hint=all"
    Then record whether the second access token is still active
    And record whether the second refresh token is still active

  @rule:jans-all-variants @INFO @janssen @serial @requires:setting:allowAllValueForRevokeEndpoint=true @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: Record whether token=all without a hint revokes every token
    Which of the two spellings the server honours: `token_type_hint=all` with a real token value
    (documentation), `token=all` without a hint (Janssen code).

    Given the setting allowAllValueForRevokeEndpoint is true
    And an access token and a refresh token from one grant of the primary client
    And an access token and a refresh token from a second grant of the primary client
    When the primary client sends the revocation form "token=all"
    Then record whether the access token is still active
    And record whether the second refresh token is still active

  @rule:jans-all-public-client @SHOULD @janssen @serial @requires:setting:allowAllValueForRevokeEndpoint=true @requires:public-client @requires:client:public @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: A public client cannot revoke every token of the client
    A public client (identified by `client_id` alone) cannot revoke every token of the client
    with `token=all`: anyone can name a public client, so the request must revoke nothing (a 400
    or a silent 200).

    Given the setting allowAllValueForRevokeEndpoint is true
    And an access token and a refresh token from one grant of the public client
    When the public client sends the revocation form "token=all&token_type_hint=all"
    Then the response status is 200 or a 4xx
    And every token of the public client is still active
    And as a positive control, the public client's refresh token can still be revoked by its client
