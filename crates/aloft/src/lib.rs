//! The Aloft application assembled from its domains: [`app`] wires storage, events, HTTP routes
//! and pages into one server; [`bench`] load-tests it and [`bench_ingest`] measures ingestion. The binary (`main.rs`) only parses flags.

pub mod app;
pub mod bench;
pub mod bench_ingest;
pub mod roles;
pub mod tls;
