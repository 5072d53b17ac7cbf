Feature: Revocation across the nodes of a cluster (RFC 7009 section 2.1)
  RFC 7009 section 2.1 allows a propagation delay before a revoked token is invalid everywhere,
  which implementations "should minimize". When the target profile lists the nodes of a
  cluster, every revocation goes through one node in turn and every observation is made on
  every node; this rule asks for the slowest node to see the revocation within the
  propagation window the profile declares.

  @rule:cluster-propagation @SHOULD @rfc7009 @requires:nodes @requires:refresh-tokens @requires:probe:access @requires:probe:refresh
  Scenario: A revocation acknowledged by one node is visible on every node within the propagation window
    A revocation acknowledged by one node of a cluster is visible on every node within the
    propagation window (the slowest node decides, and each node's delay is reported).

    Given an access token and a refresh token from one grant of the primary client
    When the primary client revokes the refresh token
    Then the response status is 200
    And every node sees the refresh token inactive within the propagation window
    And every node sees the access token inactive within the propagation window
