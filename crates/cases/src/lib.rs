//! Case management: a passenger's complaint, claim, request or praise, from opening to closure.
//!
//! - [`model`]: the rules, pure: categories, workflows as versioned data, priority with its
//!   reasons, SLA targets and clocks on business-hours calendars, routing and round-robin
//!   assignment.
#![forbid(unsafe_code)]

pub mod model;
