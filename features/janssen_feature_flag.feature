Feature: The REVOKE_TOKEN feature flag (Janssen "Disabling The Endpoint Using Feature Flag")
  Janssen Server: the endpoint is enabled or disabled with the REVOKE_TOKEN feature flag. A
  non-empty `featureFlags` list without `revoke_token` disables it (403 `access_denied` after
  client authentication); an empty list enables every feature.

  @rule:jans-flag-disabled @MUST @janssen @serial @requires:setting:featureFlags=disabled @requires:probe:access @any-token
  Scenario: With the REVOKE_TOKEN flag disabled an authenticated request gets access_denied
    With `featureFlags` non-empty and lacking `revoke_token`: an authenticated request gets 403
    `access_denied` and nothing is revoked.

    Given the REVOKE_TOKEN feature flag is disabled
    And an access token of the primary client
    When the primary client revokes the access token
    Then the response is the OAuth error "access_denied" with status 403
    And the access token is still active

  @rule:jans-flag-auth-first @SHOULD @janssen @serial @requires:setting:featureFlags=disabled @requires:probe:access @any-token
  Scenario: With the REVOKE_TOKEN flag disabled bad client credentials still get invalid_client
    With the flag disabled, a request with bad client credentials still gets 401 `invalid_client`
    (authentication runs first).

    Given the REVOKE_TOKEN feature flag is disabled
    And an access token of the primary client
    When the primary client revokes the access token with a wrong secret
    Then the response is the OAuth error "invalid_client" for the way the client authenticated
    And the access token is still active
    And as a positive control, a revocation of the access token by its client is refused with "access_denied" and status 403

  @rule:jans-flag-empty-means-enabled @MUST @janssen @serial @requires:setting:featureFlags=empty @requires:probe:access @any-token
  Scenario: An empty featureFlags list enables the revocation endpoint
    An empty `featureFlags` list enables the endpoint.

    Given the featureFlags list is empty
    And an access token of the primary client
    When the primary client revokes the access token
    Then the response status is 200
    And the access token is inactive
