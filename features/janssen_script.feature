Feature: The Revoke Token interception script (Janssen "Revoke Interception Script")
  Janssen Server: a Revoke Token interception script runs after client authentication and
  before the token lookup; when it answers false the endpoint answers 200 and revokes nothing,
  when it answers true revocation proceeds as usual. The harness makes the script veto through
  the request header that the target profile names.

  @rule:jans-script-veto @MUST @janssen @requires:revoke-script @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A revoke script that answers false makes the revocation a silent no-op
    A revoke interception script that answers false: 200 and nothing is revoked; one that
    answers true: normal revocation.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token with the revoke script vetoing
    Then the response status is 200
    And the refresh token is still active
    And the access token is still active
    And as a positive control, the refresh token can still be revoked by its client

  @rule:jans-script-veto @MUST @janssen @requires:revoke-script @requires:refresh-tokens @requires:probe:access @requires:probe:refresh @any-token
  Scenario: A revoke script that answers true lets the revocation proceed
    A revoke interception script that answers false: 200 and nothing is revoked; one that
    answers true: normal revocation.

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token
    Then the response status is 200
    And the refresh token is inactive
