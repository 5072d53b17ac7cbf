//! The nodes of a cluster: each node's endpoints derived from the issuer's (or its own
//! overrides), and the node the next revocation goes through, in turn across the run.

use super::discovery::Endpoints;
use super::error::TargetError;
use super::profile;
use url::Url;

/// One node of a cluster: its base URL and its endpoints.
#[derive(Debug, Clone)]
pub struct Node {
    pub base: String,
    pub endpoints: Endpoints,
}

impl Node {
    /// The node's endpoints: the issuer's, with the issuer's URL (or origin) replaced by the
    /// node's base URL, then the node's own overrides.
    pub fn derive(
        base: &str,
        issuer: &str,
        of_issuer: &Endpoints,
        overrides: Option<&profile::EndpointOverrides>,
    ) -> Result<Node, TargetError> {
        let issuer = issuer.trim_end_matches('/');
        let node = base.trim_end_matches('/');
        let move_to_node = |u: &Url| -> Option<Url> {
            let text = u.as_str();
            let moved = match text.strip_prefix(issuer) {
                Some(rest) => format!("{node}{rest}"),
                None => {
                    let origin = u.origin().ascii_serialization();
                    let base_origin = Url::parse(node).ok()?.origin().ascii_serialization();
                    format!("{base_origin}{}", &text[origin.len()..])
                }
            };
            Url::parse(&moved).ok()
        };
        let pick = |over: Option<&String>, issuer_url: Option<&Url>| -> Option<Url> {
            over.and_then(|s| Url::parse(s).ok())
                .or_else(|| issuer_url.and_then(move_to_node))
        };
        let o = overrides;
        let revocation = pick(
            o.and_then(|o| o.revocation.as_ref()),
            Some(&of_issuer.revocation),
        )
        .ok_or_else(|| {
            TargetError::Profile(format!(
                "node {base}: cannot derive its revocation endpoint"
            ))
        })?;
        Ok(Node {
            base: base.to_owned(),
            endpoints: Endpoints {
                revocation,
                token: pick(o.and_then(|o| o.token.as_ref()), of_issuer.token.as_ref()),
                introspection: pick(
                    o.and_then(|o| o.introspection.as_ref()),
                    of_issuer.introspection.as_ref(),
                ),
                userinfo: pick(
                    o.and_then(|o| o.userinfo.as_ref()),
                    of_issuer.userinfo.as_ref(),
                ),
                discovery: of_issuer.discovery.clone(),
                metadata: of_issuer.metadata.clone(),
            },
        })
    }
}

/// The next of `nodes` in turn, `turn` counting the choices made so far (shared by every
/// scenario of a run, so concurrent scenarios still spread evenly).
pub fn node_in_turn<'a>(
    nodes: &'a [Node],
    turn: &std::sync::atomic::AtomicUsize,
) -> Option<&'a Node> {
    if nodes.is_empty() {
        return None;
    }
    let i = turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    nodes.get(i % nodes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations_go_through_the_nodes_in_turn_even_from_many_threads() {
        let nodes: Vec<Node> = ["http://n1", "http://n2", "http://n3"]
            .iter()
            .map(|b| Node {
                base: b.to_string(),
                endpoints: endpoints(b),
            })
            .collect();
        let turn = std::sync::atomic::AtomicUsize::new(0);
        let order: Vec<&str> = (0..7)
            .map(|_| node_in_turn(&nodes, &turn).unwrap().base.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "http://n1",
                "http://n2",
                "http://n3",
                "http://n1",
                "http://n2",
                "http://n3",
                "http://n1"
            ]
        );
        assert!(node_in_turn(&[], &turn).is_none());

        let turn = std::sync::atomic::AtomicUsize::new(0);
        let counts: Vec<std::sync::atomic::AtomicUsize> = (0..3)
            .map(|_| std::sync::atomic::AtomicUsize::new(0))
            .collect();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..300 {
                        let node = node_in_turn(&nodes, &turn).unwrap();
                        let i = nodes.iter().position(|n| n.base == node.base).unwrap();
                        counts[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        for c in &counts {
            assert_eq!(c.load(std::sync::atomic::Ordering::Relaxed), 400);
        }
    }

    fn endpoints(base: &str) -> Endpoints {
        let u = |p: &str| Url::parse(&format!("{base}{p}")).unwrap();
        Endpoints {
            revocation: u("/realm/revoke"),
            token: Some(u("/realm/token")),
            introspection: Some(u("/realm/introspect")),
            userinfo: None,
            discovery: u("/realm/.well-known/openid-configuration"),
            metadata: u("/.well-known/oauth-authorization-server/realm"),
        }
    }

    #[test]
    fn a_node_gets_the_issuers_endpoints_on_its_base_unless_overridden() {
        let issuer = endpoints("https://lb.example");
        let node = Node::derive(
            "http://10.0.0.2:8080",
            "https://lb.example/realm",
            &issuer,
            None,
        )
        .unwrap();
        assert_eq!(
            node.endpoints.revocation.as_str(),
            "http://10.0.0.2:8080/revoke"
        );
        assert_eq!(
            node.endpoints.token.unwrap().as_str(),
            "http://10.0.0.2:8080/token"
        );
        assert_eq!(node.endpoints.userinfo, None);
        let overrides = profile::EndpointOverrides {
            revocation: None,
            token: None,
            introspection: Some("http://10.0.0.2:9000/other".into()),
            userinfo: None,
        };
        let node = Node::derive(
            "http://10.0.0.2:8080/realm",
            "https://lb.example/realm",
            &issuer,
            Some(&overrides),
        )
        .unwrap();
        assert_eq!(
            node.endpoints.revocation.as_str(),
            "http://10.0.0.2:8080/realm/revoke"
        );
        assert_eq!(
            node.endpoints.introspection.unwrap().as_str(),
            "http://10.0.0.2:9000/other"
        );
        // An endpoint on another origin than the issuer keeps its path on the node's origin.
        let mut elsewhere = issuer.clone();
        elsewhere.token = Some(Url::parse("https://auth.example/oauth/token").unwrap());
        let node = Node::derive(
            "http://10.0.0.3:8080",
            "https://lb.example/realm",
            &elsewhere,
            None,
        )
        .unwrap();
        assert_eq!(
            node.endpoints.token.unwrap().as_str(),
            "http://10.0.0.3:8080/oauth/token"
        );
    }
}
