//! The platform every Aloft domain stands on: storage on SQLite or PostgreSQL from one codebase
//! ([`db`], [`migrate`]), domain events through a transactional outbox ([`events`]), RFC 9457
//! errors ([`problem`]), HTTP plumbing and operational endpoints ([`http`]), logs and metrics
//! ([`telemetry`]), writes rendered ahead of their transaction ([`statements`]), instance keys
//! ([`keys`]) and the audit trail ([`audit`]).
//!
//! Invariant: this crate knows no domain, no role and no page. Domains depend on it, never the
//! reverse; the schema history is handed to [`migrate::run`] by the composition root.

pub mod audit;
pub mod cpu;
pub mod db;
pub mod event_types;
pub mod events;
pub mod fields;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod migrate;
pub mod newtype;
pub mod problem;
pub mod statements;
pub mod subscriptions;
pub mod telemetry;
pub mod testing;

pub use aloft_vocab::string_newtype;
pub use audit::{AccessContext, Actor, AuditEntry, Auditor};
pub use db::{Backend, Database, DatabaseSettings, SqliteDurability, StorageError, WriteTx};
pub use events::{CloudEvent, EventBus, EventSink, NoBroker, OutboxRelay, PendingEvent, SinkError};
pub use problem::{ApiError, FieldError, Problem};
pub use statements::{RowValues, Statements};
