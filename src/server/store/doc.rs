//! What the Config API stores, as the store keeps it: documents (the settings, and each
//! client's scopes on its own), each at a version, written only as a compare-and-set on the
//! version the write was made from. Two writers never undo each other: the later one is told
//! the document changed under it ([`Saved::Conflict`]), reads it again and retries, and a write
//! to one client's scopes never touches another's.

/// One document the Config API stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Doc {
    /// The auth server settings (one JSON document).
    Settings,
    /// One client's scopes (a JSON list).
    ClientScopes(String),
}

/// The name of [`Doc::Settings`].
const SETTINGS: &str = "settings";
/// The prefix of a [`Doc::ClientScopes`] name.
const SCOPES: &str = "scopes:";

impl Doc {
    /// Its name in the store (and in announcements): `settings`, or `scopes:<client id>`.
    pub fn name(&self) -> String {
        match self {
            Doc::Settings => SETTINGS.to_owned(),
            Doc::ClientScopes(client) => format!("{SCOPES}{client}"),
        }
    }

    /// The document a name names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        if name == SETTINGS {
            return Some(Doc::Settings);
        }
        name.strip_prefix(SCOPES)
            .map(|client| Doc::ClientScopes(client.to_owned()))
    }
}

/// A stored document and its version (versions only grow; 0 means "never stored").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub version: u64,
    pub value: Vec<u8>,
}

/// What a compare-and-set write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Stored at this version.
    Stored(u64),
    /// Not stored: the document is at this version, not the one the write was made from.
    Conflict(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for doc in [
            Doc::Settings,
            Doc::ClientScopes("client-a".into()),
            Doc::ClientScopes("a client:with colons".into()),
        ] {
            assert_eq!(Doc::from_name(&doc.name()), Some(doc));
        }
        assert_eq!(Doc::from_name("client_scopes"), None);
    }
}
