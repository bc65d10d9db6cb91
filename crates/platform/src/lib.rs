//! The platform every Aloft domain stands on: storage on SQLite or PostgreSQL from one codebase
//! ([`db`], [`migrate`]), domain events through a transactional outbox ([`events`]), RFC 9457
//! errors ([`problem`]), HTTP plumbing and operational endpoints ([`http`]), logs and metrics
//! ([`telemetry`]), writes rendered ahead of their transaction ([`statements`]), and the web UI
//! shell ([`web`]).
//!
//! Invariant: this crate knows no domain. Domains depend on it, never the reverse (the one
//! exception is the migration list, which is the single ordered schema history of the product).

pub mod access;
pub mod audit;
pub mod audit_pages;
pub mod cpu;
pub mod db;
pub mod events;
pub mod fields;
pub mod http;
pub mod keys;
pub mod migrate;
pub mod newtype;
pub mod problem;
pub mod statements;
pub mod telemetry;
pub mod testing;
pub mod web;

pub use audit::{AccessContext, Actor, AuditEntry, Auditor};
pub use db::{Backend, Database, DatabaseSettings, SqliteDurability, StorageError, WriteTx};
pub use events::{CloudEvent, EventBus, EventSink, NoBroker, OutboxRelay, PendingEvent, SinkError};
pub use problem::{ApiError, FieldError, Problem};
pub use statements::{RowValues, Statements};
