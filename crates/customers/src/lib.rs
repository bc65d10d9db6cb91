//! The customer profile domain: who the passenger is, how to reach them, their loyalty standing,
//! travel documents and service preferences.
//!
//! - [`model`]: the profile and its value types; pure rules, no IO.
//! - [`disclosure`]: field-level masking by permission (travel documents).
//! - [`sealing`]: encryption of sensitive fields at rest (per-customer data keys) and blind indexes.
//! - [`survivorship`]: which value a merged golden profile keeps, field by field (pure rules).
//! - [`storage`]: persistence on either backend, with optimistic concurrency and outbox events.
//! - [`routes`]: the REST API (`/api/v1/customers`).
//! - [`pages`]: the server-rendered pages (`/customers`).
//! - [`demo`]: a deterministic synthetic passenger population.

pub mod demo;
pub mod disclosure;
pub mod model;
pub mod pages;
pub mod routes;
pub mod sealing;
pub mod storage;
pub mod survivorship;

pub use model::{CustomerId, Profile};
pub use storage::{Customer, CustomerError, CustomerQuery, CustomerStore, NewCustomers};
