//! evictsim simulates, in memory and deterministically, the part of the Kubernetes API server
//! that API-initiated eviction lives in: the `pods/eviction` subresource with its
//! PodDisruptionBudget admission, the disruption controller that keeps PDB status, and graceful
//! deletion — on a virtual clock, speaking Kubernetes' own JSON.
//!
//! # Tutorial
//!
//! Build a cluster. Time is an argument to every command; nothing reads a clock. The
//! constructors make the objects a test starts from; `load` keeps their status as given
//! (`create` resets it, as the API server does, and lets the kubelet start the pod).
//!
//! ```
//! use evictsim::cluster::{Cluster, ClusterConfig};
//! use evictsim::model::{LabelSelector, ObjectKey, Pod, PodDisruptionBudget};
//! use evictsim::time::SimTime;
//!
//! let mut cluster = Cluster::new(ClusterConfig { seed: 42, ..ClusterConfig::default() });
//! let t0 = SimTime::ZERO;
//! for name in ["web-1", "web-2"] {
//!     cluster.load(t0, Pod::running("default", name, "node-1").with_labels([("app", "web")])).unwrap();
//! }
//! let pdb = PodDisruptionBudget::min_available("default", "web", 1, LabelSelector::matching([("app", "web")]));
//! cluster.load(t0, pdb).unwrap();
//!
//! // The disruption controller reacted at once: two healthy pods, one may go.
//! let budget = cluster.pdb(&ObjectKey::new("default", "web")).unwrap();
//! assert_eq!(budget.status.disruptions_allowed, 1);
//! ```
//!
//! The same cluster from YAML — a scenario file's `objects`, or what `kubectl get -o yaml`
//! prints:
//!
//! ```
//! use evictsim::cluster::Cluster;
//!
//! let cluster = Cluster::from_yaml(r#"
//! objects:
//!   - {apiVersion: v1, kind: Pod, metadata: {name: web-1, labels: {app: web}}, spec: {nodeName: node-1},
//!      status: {phase: Running, conditions: [{type: Ready, status: "True"}]}}
//!   - {apiVersion: v1, kind: Pod, metadata: {name: web-2, labels: {app: web}}, spec: {nodeName: node-1},
//!      status: {phase: Running, conditions: [{type: Ready, status: "True"}]}}
//!   - {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: web},
//!      spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}}
//! "#).unwrap();
//! # let _ = cluster;
//! ```
//!
//! Evict, from Rust or through the REST handler exactly as a client would POST it. Success is
//! HTTP 201 (the docs say 200); the budget is now spent, so the next eviction is a 429 with
//! the budget's numbers in a `DisruptionBudget` cause.
//!
//! ```
//! use evictsim::model::Eviction;
//! use evictsim::time::SimTime;
//! # let mut cluster = evictsim::cluster::Cluster::from_yaml(r#"
//! # objects:
//! #   - {apiVersion: v1, kind: Pod, metadata: {name: web-1, labels: {app: web}}, spec: {nodeName: node-1}, status: {phase: Running, conditions: [{type: Ready, status: "True"}]}}
//! #   - {apiVersion: v1, kind: Pod, metadata: {name: web-2, labels: {app: web}}, spec: {nodeName: node-1}, status: {phase: Running, conditions: [{type: Ready, status: "True"}]}}
//! #   - {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: web}, spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}}
//! # "#).unwrap();
//! cluster.evict_pod(SimTime::ZERO, Eviction::new("default", "web-1")).unwrap();
//!
//! let request = http::Request::post("/api/v1/namespaces/default/pods/web-2/eviction")
//!     .header("Content-Type", "application/json")
//!     .body(br#"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-2"}}"#.to_vec())
//!     .unwrap();
//! let response = evictsim::rest::handle(&mut cluster, SimTime::ZERO, &request);
//! assert_eq!(response.status(), 429);
//! let status: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
//! assert_eq!(status["details"]["causes"][0]["message"],
//!     "The disruption budget web needs 1 healthy pods and has 1 currently");
//!
//! // No budget was ever broken: the monitor every drainer test asserts on.
//! assert!(cluster.budget_violations().is_empty());
//! ```
//!
//! Move the clock: [`Cluster::next_deadline`](cluster::Cluster::next_deadline) says when
//! something is next due and why; [`Cluster::advance_to`](cluster::Cluster::advance_to) and
//! [`Cluster::advance_by`](cluster::Cluster::advance_by) fire what is due;
//! [`Cluster::run_until_idle`](cluster::Cluster::run_until_idle) fires everything. Read what
//! happened from the event log, a cursor into an append-only log.
//!
//! ```
//! use std::time::Duration;
//! use evictsim::cluster::EventKind;
//! use evictsim::time::SimTime;
//! # let mut cluster = evictsim::cluster::Cluster::from_yaml(r#"
//! # objects:
//! #   - {apiVersion: v1, kind: Pod, metadata: {name: web-1, labels: {app: web}}, spec: {nodeName: node-1}, status: {phase: Running, conditions: [{type: Ready, status: "True"}, {type: DisruptionTarget, status: "True", reason: EvictionByEvictionAPI, lastTransitionTime: "2025-01-01T00:00:00Z"}]}}
//! # "#).unwrap();
//! // A DisruptionTarget condition left on a live pod goes stale after two minutes (C20).
//! let deadline = cluster.next_deadline().unwrap();
//! assert_eq!(deadline.at, SimTime::from_secs(120));
//! let cursor = cluster.event_count();
//! assert!(cluster.run_until_idle(Duration::from_secs(600)));
//! assert!(cluster.events_since(cursor).iter()
//!     .any(|e| matches!(e.kind, EventKind::DisruptionTargetReset { .. })));
//! ```
//!
//! Or write it all as a scenario file and run it with `evictsim run` — see [`scenario`] and
//! `docs/scenario-files.md`. The rule ids in the documentation (`E21`, `C12`, `G8`, …) are
//! explained in `docs/rules.md`.
//!
//! # Modules
//!
//! - [`cluster`]: the state machine — stores, eviction admission, graceful deletion, the
//!   disruption controller, timers and the event log.
//! - [`rest`]: the sans-IO REST handler every client path goes through: routing, decoding,
//!   Tables, discovery, watches, Status encoding.
//! - `server` (feature `server`): the simulator as an API server — a `tower::Service` that
//!   kube-rs drives in process, and `evictsim serve`'s TCP listener.
//! - [`model`]: the object model and its validation.
//! - [`scenario`]: scenario files — parse, run, report.
//! - [`time`]: virtual and wall-clock time.
//! - [`error`]: [`ApiError`](error::ApiError) (maps to a Kubernetes `Status`) and
//!   [`ConfigError`](error::ConfigError).
//! - [`wire`]: `Status` bodies.
//! - [`fuzzing`]: the fuzz targets' entry points.
//! - `proptest` (feature `proptest`): strategies for property-testing against evictsim.
//!
//! # Features
//!
//! - `cli`: the `evictsim` command-line tool, with `evictsim serve` (off for library users).
//! - `server`: `evictsim::server` (hyper, tokio, rustls); on with `cli`.
//! - `proptest`: the `proptest` module.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cluster;
pub mod drain;
pub mod error;
pub mod fuzzing;
pub mod model;
pub mod rest;
pub mod scenario;
#[cfg(feature = "server")]
pub mod server;
pub mod time;
pub mod wire;

// `evictsim::` paths resolve inside the crate too, so that the proptest strategies compile
// both as this module and as a module of the integration tests (which run them under a
// plain `cargo test`, without the feature).
extern crate self as evictsim;

#[cfg(feature = "proptest")]
pub mod proptest;
