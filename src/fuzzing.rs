//! Entry points shared by the fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`), so the stable toolchain replays what the fuzzer found.
//!
//! Each takes arbitrary bytes and checks the one property that must hold for any input:
//! no panic, and every answer is well-formed.

use crate::cluster::Cluster;
use crate::rest;
use crate::scenario::Scenario;
use crate::time::SimTime;

/// A small cluster for request fuzzing: a Ready node, two pods, a ReplicaSet and a PDB.
pub fn fixture() -> Cluster {
    let text = r#"
objects:
  - {apiVersion: v1, kind: Node, metadata: {name: node-1}, status: {conditions: [{type: Ready, status: "True"}]}}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: rs, uid: 00000000-0000-4000-8000-000000000001}
    spec: {replicas: 2, selector: {matchLabels: {app: web}}}
  - apiVersion: v1
    kind: Pod
    metadata: {name: web-1, labels: {app: web}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: 00000000-0000-4000-8000-000000000001, controller: true}]}
    spec: {nodeName: node-1}
    status: {phase: Running, conditions: [{type: Ready, status: "True"}]}
  - apiVersion: v1
    kind: Pod
    metadata: {name: web-2, labels: {app: web}, finalizers: [example.com/keep]}
    spec: {nodeName: node-1}
    status: {phase: Pending}
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: web}
    spec: {maxUnavailable: "50%", selector: {matchLabels: {app: web}}}
"#;
    match Scenario::parse(text).and_then(|s| s.build_cluster()) {
        Ok(mut cluster) => {
            // Watches replay from the history, as the server's do.
            cluster.keep_watch_history(64);
            cluster
        }
        Err(e) => panic!("the fuzz fixture is valid: {e}"),
    }
}

/// The `Accept` headers a request may carry: JSON, Tables, aggregated discovery.
const ACCEPTS: &[&str] = &[
    "application/json",
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
    "application/vnd.kubernetes.protobuf,application/json",
];

/// The Content-Types a request may carry: every body format the handler reads, and some
/// it must refuse.
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
    "text/plain",
    "",
];

/// Decodes `data` as requests — each a `METHOD PATH [N [A]]\n` line, where the optional
/// numbers pick a Content-Type (`N`: JSON by default; the patch types, protobuf, none, …) and
/// an `Accept` (`A`: JSON by default; Tables, aggregated discovery), then the
/// body up to a line `---` — and sends them through the REST handler. Panics (the fuzzer's signal) if the handler
/// panics, answers an error without a `Status` body of the same code, or changes storage
/// on a failed request.
pub fn rest_requests(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut cluster = fixture();
    let mut now = SimTime::ZERO;
    for chunk in text.split("\n---\n").take(16) {
        let (head, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let mut words = head.split(' ');
        let (Some(method), Some(path)) = (words.next(), words.next()) else {
            continue;
        };
        let content_type = words
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .map_or("application/json", |n| {
                CONTENT_TYPES[n % CONTENT_TYPES.len()]
            });
        let accept = words
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .map_or(ACCEPTS[0], |n| ACCEPTS[n % ACCEPTS.len()]);
        let mut builder = http::Request::builder()
            .method(method)
            .uri(path)
            .header("Accept", accept);
        if !content_type.is_empty() {
            builder = builder.header("Content-Type", content_type);
        }
        let Ok(request) = builder.body(body.as_bytes().to_vec()) else {
            continue;
        };
        // Timers due by now fire first (the fixture's node is alive, so its kubelet works):
        // their writes are not the request's.
        cluster.advance_to(now);
        let revision = cluster.revision();
        let response = rest::handle(&mut cluster, now, &request);
        let code = response.status().as_u16();
        if code >= 400 && code != 429 {
            let status: serde_json::Value = match serde_json::from_slice(response.body()) {
                Ok(v) => v,
                Err(e) => panic!("{method} {path}: error {code} without a JSON Status: {e}"),
            };
            assert_eq!(status["kind"], "Status", "{method} {path}");
            assert_eq!(status["code"], code, "{method} {path}");
            // E24/E34: only an eviction whose final delete fails may have written.
            if !path.contains("/eviction") {
                assert_eq!(
                    cluster.revision(),
                    revision,
                    "{method} {path}: a failed request wrote"
                );
            }
        }
        now = now + std::time::Duration::from_millis(250);
    }
}

/// Parses `data` as a scenario and, if it is valid, runs it. Panics only if parsing or
/// running panics, or a report cannot be rendered.
pub fn scenario_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = Scenario::parse(text) else {
        return;
    };
    if scenario.steps.len() > 64 || scenario.objects.len() > 64 {
        return;
    }
    if let Ok(report) = scenario.run() {
        let _ = report.to_text("fuzz");
        let _ = report.to_json_lines();
    }
}

/// A cluster for operation fuzzing: three Ready nodes, a ReplicaSet of three pods that
/// start at once, and one PDB over them.
pub fn operations_fixture() -> Cluster {
    // Built once: the fuzzer runs thousands of inputs a second against copies.
    static FIXTURE: std::sync::OnceLock<Cluster> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(build_operations_fixture).clone()
}

fn build_operations_fixture() -> Cluster {
    let text = r#"
controllers: {endpoints: false}
objects:
  - {apiVersion: v1, kind: Node, metadata: {name: node-0}, status: {conditions: [{type: Ready, status: "True"}]}}
  - {apiVersion: v1, kind: Node, metadata: {name: node-1}, status: {conditions: [{type: Ready, status: "True"}]}}
  - {apiVersion: v1, kind: Node, metadata: {name: node-2}, status: {conditions: [{type: Ready, status: "True"}]}}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}, annotations: {evictsim.io/startup-seconds: "0"}}
        spec: {containers: [{name: web, image: nginx}]}
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: web}
    spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}
"#;
    match Scenario::parse(text).and_then(|s| s.build_cluster()) {
        Ok(cluster) => cluster,
        Err(e) => panic!("the fuzz fixture is valid: {e}"),
    }
}

/// Decodes `data` as a sequence of operations on [`operations_fixture`] — evictions,
/// DELETEs with grace periods, Ready flips, scaling, budget changes, cordons, clock advances
/// and requests with broken bodies — three bytes each, and checks after every one that:
/// a failed request changed nothing; the PDB's status equals a recount from scratch (the
/// reference model below); no pod is still terminating past its deadline.
pub fn operations(data: &[u8]) {
    use crate::model::{Pod, PodDisruptionBudget, ReplicaSet};
    let mut cluster = operations_fixture();
    let mut now = SimTime::ZERO;
    for op in data.chunks(3).take(64) {
        let (kind, a, b) = (op[0], *op.get(1).unwrap_or(&0), *op.get(2).unwrap_or(&0));
        let pods: Vec<String> = cluster
            .list::<Pod>()
            .map(|p| p.metadata.name.to_string())
            .collect();
        let pod = pods
            .get(usize::from(a) % pods.len().max(1))
            .cloned()
            .unwrap_or_default();
        let pod_path = format!("/api/v1/namespaces/default/pods/{pod}");
        let (method, path, content_type, body) = match kind % 9 {
            0 => (
                "POST",
                format!("{pod_path}/eviction"),
                "application/json",
                format!(
                    r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{pod}"}}}}"#
                ),
            ),
            1 => (
                "DELETE",
                pod_path.clone(),
                "application/json",
                format!(r#"{{"gracePeriodSeconds":{}}}"#, i64::from(b % 40) - 2),
            ),
            2 => (
                "PATCH",
                format!("{pod_path}/status"),
                "application/merge-patch+json",
                format!(
                    r#"{{"status":{{"conditions":[{{"type":"Ready","status":"{}"}}]}}}}"#,
                    if b % 2 == 0 { "True" } else { "False" }
                ),
            ),
            3 => (
                "PATCH",
                "/apis/apps/v1/namespaces/default/replicasets/web".into(),
                "application/merge-patch+json",
                format!(r#"{{"spec":{{"replicas":{}}}}}"#, b % 7),
            ),
            4 => (
                "PATCH",
                "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web".into(),
                "application/merge-patch+json",
                if b % 2 == 0 {
                    format!(
                        r#"{{"spec":{{"minAvailable":{},"maxUnavailable":null}}}}"#,
                        b % 5
                    )
                } else {
                    format!(
                        r#"{{"spec":{{"maxUnavailable":"{}%","minAvailable":null}}}}"#,
                        b % 101
                    )
                },
            ),
            5 => (
                "PATCH",
                format!("/api/v1/nodes/node-{}", a % 3),
                "application/merge-patch+json",
                format!(r#"{{"spec":{{"unschedulable":{}}}}}"#, b % 2 == 0),
            ),
            6 => {
                now =
                    now + std::time::Duration::from_millis(u64::from(a) * 250 + u64::from(b) * 10);
                cluster.advance_to(now);
                ("", String::new(), "", String::new())
            }
            7 => (
                "PUT",
                pod_path.clone(),
                "application/json",
                String::from_utf8_lossy(op).into_owned(),
            ),
            _ => (
                "POST",
                format!("{pod_path}/eviction"),
                "application/json",
                format!(
                    r#"{{"metadata":{{"name":"{pod}"}},"deleteOptions":{{"preconditions":{{"resourceVersion":"{b}"}}}}}}"#
                ),
            ),
        };
        if !method.is_empty() {
            let Ok(request) = http::Request::builder()
                .method(method)
                .uri(&path)
                .header("Content-Type", content_type)
                .body(body.into_bytes())
            else {
                continue;
            };
            // Timers due by now fire first: their writes are not the request's.
            cluster.advance_to(now);
            let revision = cluster.revision();
            let response = rest::handle(&mut cluster, now, &request);
            let code = response.status().as_u16();
            if code >= 400 && !path.ends_with("/eviction") {
                assert_eq!(
                    cluster.revision(),
                    revision,
                    "{method} {path} failed ({code}) but wrote"
                );
            }
        }
        // The reference model: PDB status recounted from the pods and the ReplicaSet.
        let wall = cluster.wall_now();
        if let Some(pdb) =
            cluster.get::<PodDisruptionBudget>(&crate::model::ObjectKey::new("default", "web"))
        {
            let selected: Vec<&Pod> = cluster
                .list::<Pod>()
                .filter(|p| p.metadata.labels.get("app").map(String::as_str) == Some("web"))
                .collect();
            let replicas = cluster
                .get::<ReplicaSet>(&crate::model::ObjectKey::new("default", "web"))
                .and_then(|rs| rs.spec.replicas)
                .map_or(0, i64::from);
            let expected = if selected.is_empty() { 0 } else { replicas };
            let healthy = selected
                .iter()
                .filter(|p| p.is_ready() && !p.is_terminating())
                .count() as i64;
            let (expected, desired) = match (&pdb.spec.min_available, &pdb.spec.max_unavailable) {
                (_, Some(max)) => {
                    let max = max.scaled_value(expected).unwrap_or(0);
                    (expected, (expected - max).max(0))
                }
                (Some(crate::model::IntOrString::Int(n)), None) => {
                    (selected.len() as i64, i64::from(*n))
                }
                (Some(min), None) => (expected, min.scaled_value(expected).unwrap_or(0)),
                (None, None) => (0, 0),
            };
            let status = &pdb.status;
            if status.disrupted_pods.as_ref().is_none_or(|d| d.is_empty()) {
                let allowed = if expected <= 0 {
                    0
                } else {
                    (healthy - desired).max(0)
                };
                assert_eq!(
                    (
                        status.expected_pods,
                        status.desired_healthy,
                        status.current_healthy,
                        status.disruptions_allowed
                    ),
                    (expected, desired, healthy, allowed),
                    "PDB status differs from a recount at {wall}"
                );
            }
        }
        for pod in cluster.list::<Pod>() {
            if let Some(deadline) = pod.metadata.deletion_timestamp {
                assert!(
                    wall <= deadline.plus_seconds(2),
                    "pod {} still terminating at {wall}, past its deadline {deadline}",
                    pod.metadata.name
                );
            }
        }
    }
}
