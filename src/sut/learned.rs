//! What calibration learned about how the target revokes, that later requests rely on: the
//! request shape that revokes each type of token (without a hint, only with the right hint, or
//! not at all), and whether the refresh-token probe was confirmed for a refresh token whose
//! access token was revoked. Positive controls and settings confirmations use the learned
//! shape, so a server that honours only hinted requests is not blamed through a control; the
//! rules about hints still send exactly the shapes they are about.

use crate::catalogue::TokenType;

/// How a type of token is revoked on this target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// `token` alone revokes it (what RFC 7009 asks; assumed until calibration says more).
    #[default]
    Unhinted,
    /// Only a request with its own `token_type_hint` revokes it.
    Hinted,
    /// The server refuses to revoke it (400 `unsupported_token_type`, RFC 7009 2.2.1).
    Refused,
}

impl Shape {
    /// The form that revokes `token` of this type on this target.
    pub fn form(self, kind: TokenType, token: &str) -> Vec<(String, String)> {
        let mut form = vec![("token".to_owned(), token.to_owned())];
        if self == Shape::Hinted {
            form.push(("token_type_hint".into(), hint(kind).into()));
        }
        form
    }

    /// In words, for the run record.
    pub fn describe(self, kind: TokenType) -> String {
        match self {
            Shape::Unhinted => "token alone".into(),
            Shape::Hinted => format!("token with token_type_hint={}", hint(kind)),
            Shape::Refused => "refused: 400 unsupported_token_type".into(),
        }
    }
}

/// The registered hint of a token type.
pub fn hint(kind: TokenType) -> &'static str {
    match kind {
        TokenType::Access => "access_token",
        TokenType::Refresh => "refresh_token",
    }
}

/// Everything calibration learned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Learned {
    pub access: Shape,
    pub refresh: Shape,
    /// The refresh-token probe could not be checked for a refresh token whose access token
    /// was revoked: what it says of one rests on an unconfirmed probe.
    pub refresh_after_access_revoked_unconfirmed: bool,
}

impl Learned {
    pub fn shape(&self, kind: TokenType) -> Shape {
        match kind {
            TokenType::Access => self.access,
            TokenType::Refresh => self.refresh,
        }
    }

    pub fn set(&mut self, kind: TokenType, shape: Shape) {
        match kind {
            TokenType::Access => self.access = shape,
            TokenType::Refresh => self.refresh = shape,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_learned_shape_makes_the_form() {
        assert_eq!(
            Shape::Hinted.form(TokenType::Refresh, "t"),
            vec![
                ("token".to_owned(), "t".to_owned()),
                ("token_type_hint".to_owned(), "refresh_token".to_owned())
            ]
        );
        assert_eq!(Shape::Unhinted.form(TokenType::Access, "t").len(), 1);
        assert_eq!(
            Shape::Hinted.describe(TokenType::Access),
            "token with token_type_hint=access_token"
        );
    }
}
