//! Scenario files (`docs/scenario-files.md` is the reference): a cluster, a list of API calls on the
//! virtual clock, and what each must answer. [`Scenario::parse`] reads one,
//! [`Scenario::run`] plays it through the REST handler and returns a [`Report`].
//!
//! # Examples
//! ```
//! use evictsim::scenario::Scenario;
//! let scenario = Scenario::parse(r#"
//! objects:
//!   - apiVersion: v1
//!     kind: Pod
//!     metadata: {name: quux}
//!     spec: {nodeName: node-1}
//!     status: {phase: Running, conditions: [{type: Ready, status: "True"}]}
//! steps:
//!   - evict: {apiVersion: policy/v1, kind: Eviction, metadata: {name: quux, namespace: default}}
//!     expect: {code: 201}
//! "#).unwrap();
//! let report = scenario.run().unwrap();
//! assert!(report.ok());
//! ```

mod matching;
mod parse;
mod report;
mod run;
mod snapshot;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

pub use matching::{Mismatch, partial_match};
pub use report::{Report, StepReport, describe};

use crate::cluster::ClusterConfig;
use crate::model::Kind;

/// A parsed scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The cluster's configuration (seed, start, version, controllers, latencies, limiter).
    pub config: ClusterConfig,
    /// The initial objects, as written (Lists already expanded).
    pub objects: Vec<Value>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// What the file's `fieldValidation` setting (default `Strict`) did with fields that
    /// Kubernetes does not know: under `Warn`, one line per field, naming where it is.
    pub warnings: Vec<String>,
}

/// One step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The optional label.
    pub name: Option<String>,
    /// What the step does.
    pub operation: Operation,
    /// What its response must be.
    pub expect: Option<Expectation>,
}

/// Names one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// The kind.
    pub kind: Kind,
    /// The namespace (`default` when omitted for namespaced kinds).
    pub namespace: String,
    /// The name.
    pub name: String,
}

/// A step's operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// POST an Eviction body.
    Evict(Value),
    /// DELETE an object with these DeleteOptions fields.
    Delete(ObjectRef, Value),
    /// Create or replace an object.
    Apply(Value),
    /// GET an object.
    Get(ObjectRef),
    /// A raw request.
    Request {
        /// HTTP method.
        method: String,
        /// Path with optional query string.
        path: String,
        /// The body: a string is sent as is, anything else as JSON.
        body: Option<Value>,
        /// Request headers.
        headers: BTreeMap<String, String>,
    },
    /// Move the virtual clock forward.
    Advance(Duration),
    /// The stored object must match this partial object.
    Assert(Value),
    /// No such object may exist.
    Absent(ObjectRef),
}

impl Operation {
    /// The operation's key in the file.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Evict(_) => "evict",
            Operation::Delete(..) => "delete",
            Operation::Apply(_) => "apply",
            Operation::Get(_) => "get",
            Operation::Request { .. } => "request",
            Operation::Advance(_) => "advance",
            Operation::Assert(_) => "assert",
            Operation::Absent(_) => "absent",
        }
    }
}

/// A step's expectation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expectation {
    /// The HTTP status code.
    pub code: Option<u16>,
    /// A partial match of the JSON body.
    pub body: Option<Value>,
    /// Headers and their values (names case-insensitive); `None` means the header must be
    /// absent.
    pub headers: BTreeMap<String, Option<String>>,
}
