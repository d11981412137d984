//! Entry points shared by the fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`), so the stable toolchain replays what the fuzzer found.
//!
//! Each takes arbitrary bytes and checks the one property that must hold for any input:
//! no panic, and every answer is well-formed.

use crate::cluster::Cluster;
use crate::rest;
use crate::scenario::Scenario;
use crate::time::SimTime;

/// A small cluster for request fuzzing: a node, two pods, a ReplicaSet and a PDB.
pub fn fixture() -> Cluster {
    let text = r#"
objects:
  - {apiVersion: v1, kind: Node, metadata: {name: node-1}}
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
        Ok(cluster) => cluster,
        Err(e) => panic!("the fuzz fixture is valid: {e}"),
    }
}

/// Decodes `data` as requests — each `METHOD PATH\n` line, then the body up to a line `---`
/// — and sends them through the REST handler. Panics (the fuzzer's signal) if the handler
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
        let Some((method, path)) = head.split_once(' ') else {
            continue;
        };
        let Ok(request) = http::Request::builder()
            .method(method)
            .uri(path)
            .header("Content-Type", "application/json")
            .body(body.as_bytes().to_vec())
        else {
            continue;
        };
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
