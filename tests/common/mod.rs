//! Builders shared by the integration tests.
#![allow(dead_code)]

use evictsim::cluster::{Cluster, ClusterConfig, Controllers};
use evictsim::error::ApiError;
use evictsim::model::{Eviction, ObjectKey, Pod, PodDisruptionBudget};
use evictsim::time::SimTime;
use serde_json::{Value, json};

pub const NS: &str = "default";

pub fn key(name: &str) -> ObjectKey {
    ObjectKey::new(NS, name)
}

/// The API server, with or without the disruption controller, and nothing else — the setup
/// of upstream's eviction and disruption tests (no kubelet, no workload controllers).
pub fn cluster(disruption_controller: bool) -> Cluster {
    Cluster::new(ClusterConfig {
        controllers: Controllers {
            disruption: disruption_controller,
            endpoints: false,
            workloads: false,
            kubelet: false,
        },
        ..ClusterConfig::default()
    })
}

/// Every controller running, as in a real cluster.
pub fn full_cluster() -> Cluster {
    Cluster::new(ClusterConfig::default())
}

/// A pod from JSON fragments: labels, spec and status are merged over a bare pod.
pub fn pod(name: &str, labels: Value, spec: Value, status: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": spec,
        "status": status,
    }))
    .unwrap()
}

pub fn ready() -> Value {
    json!([{"type": "Ready", "status": "True"}])
}

pub fn unready() -> Value {
    json!([{"type": "Ready", "status": "False"}])
}

/// A PDB whose status counts as observed (observedGeneration 1 = the generation a create
/// assigns), unless the status says otherwise: upstream's tests use generation 0 with
/// observedGeneration 0, which is the same relation.
pub fn pdb(name: &str, spec: Value, mut status: Value) -> PodDisruptionBudget {
    if let Some(map) = status.as_object_mut() {
        map.entry("observedGeneration").or_insert(json!(1));
    }
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
        "status": status,
    }))
    .unwrap()
}

pub fn eviction(name: &str, delete_options: Value) -> Eviction {
    let mut body = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": NS}});
    if !delete_options.is_null() {
        body["deleteOptions"] = delete_options;
    }
    serde_json::from_value(body).unwrap()
}

/// Upstream's test rendering of an error: `err.Error()`, then `: <reason>`, then
/// `: <cause message>` for each cause not already at the end of the message.
pub fn render(error: &ApiError) -> String {
    let status = error.to_status();
    let mut text = status.message.clone();
    if !status.reason.is_empty() {
        text.push_str(": ");
        text.push_str(&status.reason);
    }
    for cause in status.details.map(|d| d.causes).unwrap_or_default() {
        if !text.ends_with(&cause.message) {
            text.push_str(": ");
            text.push_str(&cause.message);
        }
    }
    text
}

pub fn t0() -> SimTime {
    SimTime::ZERO
}

pub fn status_tuple(cluster: &Cluster, name: &str) -> (i64, i64, i64, i64, Vec<String>) {
    let pdb = cluster.pdb(&key(name)).expect("pdb exists");
    let s = &pdb.status;
    (
        s.disruptions_allowed,
        s.current_healthy,
        s.desired_healthy,
        s.expected_pods,
        s.disrupted_pods
            .clone()
            .unwrap_or_default()
            .into_keys()
            .map(String::from)
            .collect(),
    )
}

/// What the REST handler answered: code, JSON body (a plain-text body as a JSON string),
/// headers.
pub struct Answer {
    pub code: u16,
    pub body: Value,
    pub headers: http::HeaderMap,
}

impl Answer {
    /// The `Warning` headers, in order.
    pub fn warnings(&self) -> Vec<String> {
        self.headers
            .get_all("Warning")
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// Sends one request through the REST handler at the cluster's time.
pub fn send(
    c: &mut Cluster,
    method: &str,
    path: &str,
    body: &[u8],
    content_type: Option<&str>,
) -> Answer {
    let mut b = http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        b = b.header("Content-Type", ct);
    }
    let now = c.now();
    let response = evictsim::rest::handle(c, now, &b.body(body.to_vec()).unwrap());
    Answer {
        code: response.status().as_u16(),
        body: serde_json::from_slice(response.body())
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(response.body()).into())),
        headers: response.headers().clone(),
    }
}

/// [`send`] with a JSON body (none for `null`) and this Content-Type.
pub fn send_json(
    c: &mut Cluster,
    method: &str,
    path: &str,
    body: Value,
    content_type: &str,
) -> Answer {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    send(c, method, path, &bytes, Some(content_type))
}

/// [`send_json`] as `application/json`.
pub fn json_send(c: &mut Cluster, method: &str, path: &str, body: Value) -> Answer {
    send_json(c, method, path, body, "application/json")
}

/// Merges `from` into `into`, key by key (a JSON merge patch without deletions): how the
/// tests vary one field of a base object.
pub fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Runs the `evictsim` command (from the crate's directory) with a standard output whose
/// reader is gone before anything is written, as `| head -1` leaves it once it has its
/// line; returns (exit status, standard error).
#[cfg(feature = "cli")]
pub fn evictsim_into_a_closed_pipe(args: &[&str]) -> (i32, String) {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_evictsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The only read end: the child's first write fails with a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
