//! Errors of the identity engine. Messages name records and columns, never personal values.

use std::path::PathBuf;

/// Everything that can go wrong while resolving identities.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A record with this source and id was already resolved.
    #[error("record {record_id:?} of source {source_name:?} was already resolved")]
    DuplicateRecord {
        /// The record's source.
        source_name: String,
        /// The record's id.
        record_id: String,
    },
    /// No record with this source and id is known.
    #[error("no record {record_id:?} of source {source_name:?}")]
    UnknownRecord {
        /// The record's source.
        source_name: String,
        /// The record's id.
        record_id: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A CSV file is malformed.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: csv::Error,
    },
    /// A `--map COLUMN=ROLE` option is malformed or names an unknown role or column.
    #[error("bad column mapping {0:?}: {1}")]
    BadMapping(String, String),
    /// The input has no column that could serve as a name, date of birth or other identifying
    /// field.
    #[error(
        "{0}: no identifying column recognised (names, date of birth, e-mail, phone, documents)"
    )]
    NothingToMatch(PathBuf),
}

/// Result with [`IdentityError`].
pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
