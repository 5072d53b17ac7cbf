//! The store's one error. It says what failed and whether a later try may succeed; how a
//! request is answered is the endpoints' business (`server::error`), not the store's.

/// A storage failure: a data directory's database failed (the server answers 500 until it is
/// restarted), or the shared store cannot be reached now (503 `temporarily_unavailable`, and
/// the next request tries again).
#[derive(Debug, thiserror::Error)]
#[error("token store: {message}")]
pub struct StoreError {
    message: String,
    unavailable: bool,
}

impl StoreError {
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: false,
        }
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: true,
        }
    }

    /// The store could not be reached (a later request may succeed): nothing was changed by
    /// this unit, or what was changed is not known to be stored.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        StoreError::failed(e.to_string())
    }
}

macro_rules! redb_from {
    ($($t:ty),*) => {$(impl From<$t> for StoreError {
        fn from(e: $t) -> Self { StoreError::from(redb::Error::from(e)) }
    })*};
}
redb_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
