Feature: Mutual-TLS client authentication at the revocation endpoint (RFC 8705 sections 2 and 5, Janssen's forwarded client certificates)
  A client registered for `tls_client_auth` (a CA-issued certificate with its registered
  subject) or `self_signed_tls_client_auth` (a certificate whose key it registered)
  authenticates with that certificate on the TLS connection, sending its `client_id`; a server
  that publishes `mtls_endpoint_aliases` takes it there. Another client's certificate, one the
  client never registered, none at all, or one the client forwards itself in a header meant for
  the server's TLS terminator authenticates nobody. "The mtls client" is the first client of the
  profile that authenticates with its certificate.

  @rule:rfc8705-2-mtls-revokes @MUST @rfc7009 @requires:mtls-client @requires:probe:access
  Scenario: Every mTLS client revokes its own token with its registered certificate
    A `tls_client_auth` or `self_signed_tls_client_auth` client presenting its registered certificate (and its `client_id`) revokes its own token: 200, then inactive. The request goes to `mtls_endpoint_aliases.revocation_endpoint` when that is published.

    When each mTLS client of the profile revokes a fresh token of its own
    Then every one of them revoked its token

  @rule:rfc8705-2-wrong-certificate @MUST @rfc7009 @requires:mtls-client @requires:probe:access @any-token
  Scenario Outline: A request of an mTLS client with <certificate> is refused
    The same request with another client's certificate, a certificate the client did not register, or no certificate: `invalid_client`, the token stays active.

    Given an access token of the mtls client
    When the mtls client revokes the mtls client's access token presenting <certificate>
    Then the response is the OAuth error "invalid_client" for the way the client authenticated
    And the mtls client's access token is still active
    And as a positive control, the mtls client's access token can still be revoked by its client

    Examples:
      | certificate                        |
      | a certificate it did not register  |
      | another client's certificate       |
      | no certificate                     |

  @rule:rfc8705-5-endpoint-alias @SHOULD @rfc7009 @requires:mtls-client @requires:probe:access @any-token
  Scenario: The published mTLS alias of the revocation endpoint is https and takes the client's certificate
    A published `mtls_endpoint_aliases.revocation_endpoint` is an https URL that accepts the client's certificate.

    Given an access token of the mtls client
    When the authorization server metadata is fetched
    Then the metadata publishes mtls_endpoint_aliases.revocation_endpoint as an https URL
    When the mtls client revokes the mtls client's access token
    Then the response status is 200
    And the mtls client's access token is inactive

  @rule:jans-forwarded-cert-untrusted @SHOULD @rfc7009 @requires:mtls-client @requires:forwarded-cert @requires:probe:access @any-token
  Scenario: A client certificate the client forwards itself does not authenticate
    A client certificate sent by the client itself in a forwarded-certificate header (`X-ClientCert`, `X-Forwarded-Client-Cert`, `X-Forwarded-Tls-Client-Cert`) on a connection that did not come through the configured TLS terminator does not authenticate.

    Given an access token of the mtls client
    When the mtls client revokes the mtls client's access token with its certificate in the forwarded-certificate header
    Then the response is the OAuth error "invalid_client" for the way the client authenticated
    And the mtls client's access token is still active
    And as a positive control, the mtls client's access token can still be revoked by its client
