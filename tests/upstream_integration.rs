//! Upstream's `test/integration/evictions/evictions_test.go`, through the REST
//! handler with the disruption controller running. As upstream, pods have no nodeName, so a
//! real delete removes them at once (G2).

mod common;

use common::*;
use evictsim::cluster::Cluster;
use evictsim::rest;
use evictsim::time::SimTime;
use serde_json::{Value, json};

fn call(
    c: &mut Cluster,
    method: &str,
    path: &str,
    body: Option<Value>,
    content_type: &str,
) -> (u16, Value, http::HeaderMap) {
    let now = c.now();
    call_at(c, now, method, path, body, content_type)
}

fn call_at(
    c: &mut Cluster,
    now: SimTime,
    method: &str,
    path: &str,
    body: Option<Value>,
    content_type: &str,
) -> (u16, Value, http::HeaderMap) {
    let mut builder = http::Request::builder().method(method).uri(path);
    if body.is_some() {
        builder = builder.header("Content-Type", content_type);
    }
    let request = builder
        .body(
            body.map(|b| serde_json::to_vec(&b).unwrap())
                .unwrap_or_default(),
        )
        .unwrap();
    let response = rest::handle(c, now, &request);
    let value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (
        response.status().as_u16(),
        value,
        response.headers().clone(),
    )
}

fn post(c: &mut Cluster, path: &str, body: Value) -> (u16, Value) {
    let (code, value, _) = call(c, "POST", path, Some(body), "application/json");
    (code, value)
}

const PODS: &str = "/api/v1/namespaces/default/pods";
const PDBS: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";

fn create_pod(c: &mut Cluster, name: &str, phase: &str, ready_now: bool, finalizers: &[&str]) {
    let (code, _) = post(
        c,
        PODS,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "test-evictions"}, "finalizers": finalizers}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    );
    assert_eq!(code, 201);
    // Created Pending (the create strategy resets status); the kubelet's status write:
    let status = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready_now { "True" } else { "False" }}]}});
    let (code, _, _) = call(
        c,
        "PUT",
        &format!("{PODS}/{name}/status"),
        Some(status),
        "application/json",
    );
    assert_eq!(code, 200);
}

fn create_pdb(c: &mut Cluster, policy: Option<&str>) {
    let mut spec =
        json!({"minAvailable": 0, "selector": {"matchLabels": {"app": "test-evictions"}}});
    if let Some(p) = policy {
        spec["unhealthyPodEvictionPolicy"] = json!(p);
    }
    let (code, _) = post(
        c,
        PDBS,
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "test-pdb"}, "spec": spec}),
    );
    assert_eq!(code, 201);
}

fn evict_body(name: &str, delete_options: Value) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}, "deleteOptions": delete_options})
}

fn pod_exists(c: &mut Cluster, name: &str) -> bool {
    call(c, "GET", &format!("{PODS}/{name}"), None, "").0 == 200
}

#[test]
fn test_concurrent_eviction_requests() {
    let mut c = cluster(true);
    create_pdb(&mut c, None);
    for i in 0..10 {
        create_pod(&mut c, &format!("test-pod-{i}"), "Running", true, &[]);
    }
    assert_eq!(c.pdb(&key("test-pdb")).unwrap().status.current_healthy, 10);
    // Interleaved, each retried on 429 every 5 s for at most 60 s.
    let mut pending: Vec<String> = (0..10).map(|i| format!("test-pod-{i}")).collect();
    let mut now = c.now();
    for _ in 0..12 {
        pending.retain(|name| {
            let (code, body, _) = call_at(
                &mut c,
                now,
                "POST",
                &format!("{PODS}/{name}/eviction"),
                Some(evict_body(name, json!({"gracePeriodSeconds": 30}))),
                "application/json",
            );
            assert_ne!(code, 409, "no conflict surfaces: {body}");
            code != 201 && code != 404
        });
        if pending.is_empty() {
            break;
        }
        now = now + std::time::Duration::from_secs(5);
    }
    assert!(pending.is_empty(), "still pending: {pending:?}");
    for i in 0..10 {
        assert!(!pod_exists(&mut c, &format!("test-pod-{i}")));
    }
}

#[test]
fn test_terminal_pod_eviction() {
    let mut c = cluster(true);
    create_pdb(&mut c, None);
    create_pod(&mut c, "test-terminal-pod1", "Succeeded", true, &[]);
    assert_eq!(
        c.pdb(&key("test-pdb")).unwrap().status.current_healthy,
        1,
        "phase is ignored (C11)"
    );
    let observed = c.pdb(&key("test-pdb")).unwrap().status.observed_generation;
    let (code, _) = post(
        &mut c,
        &format!("{PODS}/test-terminal-pod1/eviction"),
        evict_body("test-terminal-pod1", json!({})),
    );
    assert_eq!(code, 201);
    assert_eq!(
        c.pdb(&key("test-pdb")).unwrap().status.observed_generation,
        observed
    );
}

#[test]
fn test_eviction_versions() {
    let mut c = cluster(true);
    create_pod(&mut c, "test", "Running", true, &[]);
    let path = format!("{PODS}/test/eviction");
    assert_eq!(call(&mut c, "GET", &path, None, "").0, 405);
    for patch_type in [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ] {
        let (code, body, _) = call(&mut c, "PATCH", &path, Some(json!({})), patch_type);
        assert_eq!(
            (code, body["reason"].as_str()),
            (405, Some("MethodNotAllowed")),
            "{patch_type}"
        );
    }
    for (api_version, kind) in [
        (Some("policy/v1beta1"), Some("Eviction")),
        (None, None),
        (Some("policy/v1"), Some("Eviction")),
        (None, None),
    ] {
        let mut body = json!({"metadata": {"name": "test", "namespace": "default"}, "deleteOptions": {"dryRun": ["All"]}});
        if let (Some(v), Some(k)) = (api_version, kind) {
            body["apiVersion"] = json!(v);
            body["kind"] = json!(k);
        }
        let (code, status) = post(&mut c, &path, body);
        assert_eq!(
            (code, status["apiVersion"].as_str(), status["kind"].as_str()),
            (201, Some("v1"), Some("Status"))
        );
    }
    let (code, status) = post(
        &mut c,
        &path,
        json!({"apiVersion": "policy/v2", "kind": "Eviction", "metadata": {"name": "test", "namespace": "default"}}),
    );
    assert_eq!(code, 400);
    assert!(
        status["message"].as_str().unwrap().contains("policy/v2"),
        "{status}"
    );
}

fn finalizer_case(phase: &str, dry_run: bool) -> Cluster {
    let mut c = cluster(true);
    create_pod(&mut c, "test", phase, true, &["test.k8s.io/finalizer"]);
    let options = if dry_run {
        json!({"dryRun": ["All"]})
    } else {
        json!({})
    };
    let (code, _) = post(
        &mut c,
        &format!("{PODS}/test/eviction"),
        evict_body("test", options),
    );
    assert_eq!(code, 201);
    assert!(
        pod_exists(&mut c, "test"),
        "the finalizer keeps the pod (G11)"
    );
    c
}

#[test]
fn test_eviction_with_finalizers_terminal_pod() {
    let c = finalizer_case("Succeeded", false);
    assert!(
        c.pod(&key("test"))
            .unwrap()
            .condition("DisruptionTarget")
            .is_some()
    );
}

#[test]
fn test_eviction_with_finalizers_running_pod() {
    let c = finalizer_case("Running", false);
    assert!(
        c.pod(&key("test"))
            .unwrap()
            .condition("DisruptionTarget")
            .is_some()
    );
}

#[test]
fn test_eviction_with_finalizers_running_pod_should_not_update_conditions_in_dry_run_mode() {
    let c = finalizer_case("Running", true);
    assert!(
        c.pod(&key("test"))
            .unwrap()
            .condition("DisruptionTarget")
            .is_none()
    );
}

fn unhealthy_policy_case(policy: Option<&str>, ready_now: bool) {
    let mut c = cluster(true);
    create_pdb(&mut c, policy);
    create_pod(&mut c, "test-pod", "Running", ready_now, &[]);
    let status = &c.pdb(&key("test-pdb")).unwrap().status;
    if ready_now {
        assert_eq!(status.current_healthy, 1);
    } else {
        assert_eq!(status.expected_pods, 1);
    }
    let (code, body) = post(
        &mut c,
        &format!("{PODS}/test-pod/eviction"),
        evict_body("test-pod", json!({})),
    );
    assert_eq!(code, 201, "{body}");
    assert!(!pod_exists(&mut c, "test-pod"));
    assert_eq!(c.pdb(&key("test-pdb")).unwrap().status.current_healthy, 0);
}

#[test]
fn test_eviction_with_unhealthy_pod_eviction_policy_policy_not_set() {
    unhealthy_policy_case(None, true);
}

#[test]
fn test_eviction_with_unhealthy_pod_eviction_policy_if_healthy_budget_with_ready_pod() {
    unhealthy_policy_case(Some("IfHealthyBudget"), true);
}

#[test]
fn test_eviction_with_unhealthy_pod_eviction_policy_always_allow_with_ready_pod() {
    unhealthy_policy_case(Some("AlwaysAllow"), true);
}

#[test]
fn test_eviction_with_unhealthy_pod_eviction_policy_always_allow_with_unready_pod() {
    unhealthy_policy_case(Some("AlwaysAllow"), false);
}

fn precondition_case(preconditions: impl Fn(&Value, &str) -> Value) -> u16 {
    let mut c = cluster(true);
    let (_, created) = post(
        &mut c,
        PODS,
        json!({"metadata": {"name": "test-pod"}, "spec": {}}),
    );
    let rv_before_status = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let status = json!({"metadata": {"name": "test-pod"}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
    let (_, current, _) = call(
        &mut c,
        "PUT",
        &format!("{PODS}/test-pod/status"),
        Some(status),
        "application/json",
    );
    let (code, _) = post(
        &mut c,
        &format!("{PODS}/test-pod/eviction"),
        evict_body(
            "test-pod",
            json!({"preconditions": preconditions(&current, &rv_before_status)}),
        ),
    );
    code
}

#[test]
fn test_eviction_with_precondition_enforcing_resource_version() {
    assert_eq!(
        precondition_case(|p, _| json!({"resourceVersion": p["metadata"]["resourceVersion"]})),
        201
    );
}

#[test]
fn test_eviction_with_precondition_enforcing_uid() {
    assert_eq!(
        precondition_case(|p, _| json!({"uid": p["metadata"]["uid"]})),
        201
    );
}

#[test]
fn test_eviction_with_precondition_enforcing_resource_version_and_uid() {
    assert_eq!(
        precondition_case(
            |p, _| json!({"uid": p["metadata"]["uid"], "resourceVersion": p["metadata"]["resourceVersion"]})
        ),
        201
    );
}

#[test]
fn test_eviction_with_precondition_enforcing_wrong_resource_version_should_fail() {
    assert_eq!(
        precondition_case(|_, before| json!({"resourceVersion": before})),
        409
    );
}

#[test]
fn test_eviction_with_precondition_enforcing_wrong_uid_should_fail() {
    assert_eq!(
        precondition_case(|_, _| json!({"uid": "2ecf1bb9-2b23-4d1c-8d5b-6e4c3cc0f2a7"})),
        409
    );
}
