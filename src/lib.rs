//! evictsim: the eviction path of a Kubernetes API server, simulated.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cluster;
pub mod error;
pub mod fuzzing;
pub mod model;
#[cfg(feature = "proptest")]
pub mod proptest;
pub mod rest;
pub mod scenario;
pub mod time;
pub mod wire;
