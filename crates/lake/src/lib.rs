//! The lake export (`aloft export parquet --output DIR`): pseudonymised facts for analysts'
//! own tools — DuckDB, Spark, Trino — as Parquet files partitioned by date, written
//! incrementally (each run exports what changed since the directory's last run).
//!
//! - [`columns`] — flat Parquet files from typed columns (no Arrow), Snappy-compressed.
//! - [`export`] — what is read, how it is pseudonymised, the layout and the manifest.
//!
//! Invariants: no direct identifier leaves — customers appear only as a keyed pseudonym
//! (HMAC-SHA256 under a key derived from the instance's index key for this purpose alone), with
//! no name, e-mail, phone, loyalty or passport number, date of birth (an age band instead),
//! booking reference, ticket number or free text (subjects, bodies and feedback texts are
//! sealed in storage and are not opened). Every export is audited (`lake.exported`, with the
//! fields read) before its first file is written.

#![forbid(unsafe_code)]

pub mod columns;
pub mod export;

pub use export::{Exporter, Manifest, Report};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The database.
    #[error(transparent)]
    Storage(#[from] aloft_kernel::StorageError),
    /// The file system.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// The Parquet writer.
    #[error("cannot write a Parquet file: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// The output directory's manifest.
    #[error("{0}")]
    Manifest(String),
    /// Columns that do not make a table (a bug).
    #[error("columns do not form a table: {0}")]
    Shape(String),
}

impl From<sqlx::Error> for LakeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

/// What the lake export records in the audit trail.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `lake.exported`: the population's facts read for a lake export.
    pub const LAKE_EXPORTED: AuditAction = AuditAction::new("lake.exported");

    /// Every action of this crate.
    pub const ALL: &[AuditAction] = &[LAKE_EXPORTED];
}
