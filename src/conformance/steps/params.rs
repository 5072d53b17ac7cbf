//! The step vocabulary's parameter types: `{token}` names a token a scenario holds ("the
//! other client's second access token"), written once here instead of in every step's
//! pattern, and parsed once into a [`TokenRef`].

use crate::conformance::world::TokenRef;
use std::str::FromStr;

/// `{token}`: a token reference, as the steps write it.
#[derive(Debug, Clone, Copy, cucumber::Parameter)]
#[param(
    name = "token",
    regex = r"the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token"
)]
pub struct Token(pub TokenRef);

impl FromStr for Token {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TokenRef::parse(s)
            .map(Token)
            .ok_or_else(|| format!("unknown token reference {s:?}"))
    }
}
