//! Inputs a hostile or careless client sends: each gets upstream's answer (or a documented
//! cap with a precise Status), never a panic, a hang or unbounded memory, and a refused
//! request leaves everything stored as it was.

mod common;

use common::*;
use evictsim::cluster::{Cluster, ClusterConfig, KubernetesVersion};
use evictsim::model::{ObjectKey, Pod, ReplicaSet, Selector};
use evictsim::rest;
use evictsim::scenario::Scenario;
use evictsim::time::SimTime;
use serde_json::{Value, json};

fn stored(c: &Cluster) -> String {
    let pods: Vec<&Pod> = c.list::<Pod>().collect();
    format!("{pods:?} {}", c.revision())
}

fn replica_set(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
}

#[test]
fn a_replica_set_of_fifty_thousand_settles_in_bursts_of_five_hundred() {
    let mut c = Cluster::new(ClusterConfig {
        controllers: evictsim::cluster::Controllers {
            kubelet: false,
            endpoints: false,
            ..Default::default()
        },
        ..ClusterConfig::default()
    });
    let rs: ReplicaSet = serde_json::from_value(replica_set("big", 50_000)).unwrap();
    c.create(SimTime::ZERO, rs, false).unwrap();
    assert_eq!(c.list::<Pod>().count(), 50_000);
}

#[test]
fn a_store_at_its_cap_refuses_creates_with_a_precise_status() {
    let mut c = Cluster::new(ClusterConfig {
        max_objects: 10,
        ..ClusterConfig::default()
    });
    // The ReplicaSet's controller fills the store, then records why it cannot go on.
    let rs: ReplicaSet = serde_json::from_value(replica_set("huge", i64::from(i32::MAX))).unwrap();
    c.create(SimTime::ZERO, rs, false).unwrap();
    assert_eq!(c.object_count(), 10);
    let Answer { code, body, .. } = send_json(
        &mut c,
        "POST",
        "/api/v1/namespaces/default/pods",
        json!({"metadata": {"name": "one-more"}, "spec": {}}),
        "application/json",
    );
    assert_eq!(
        (code, body["reason"].as_str()),
        (500, Some("InternalError"))
    );
    assert_eq!(
        body["message"],
        "Internal error occurred: etcdserver: mvcc: database space exceeded (the simulated store holds at most 10 objects)"
    );
    assert!(
        c.events()
            .iter()
            .any(|e| e.kind.to_string().contains("database space exceeded"))
    );
}

#[test]
fn replicas_beyond_int32_are_refused_at_decode() {
    let mut c = full_cluster();
    let Answer { code, body, .. } = send_json(
        &mut c,
        "POST",
        "/apis/apps/v1/namespaces/default/replicasets",
        replica_set("x", i64::MAX),
        "application/json",
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("9223372036854775807")
    );
    assert_eq!(c.list::<ReplicaSet>().count(), 0);
}

#[test]
fn int_or_string_integers_are_int32() {
    let mut c = full_cluster();
    let Answer { code, body, .. } = send_json(
        &mut c,
        "POST",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        json!({"metadata": {"name": "p"}, "spec": {"minAvailable": 1_099_511_627_776_i64, "selector": {}}}),
        "application/json",
    );
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cannot unmarshal number 1099511627776 into a value of type int32"),
        "{body}"
    );
    let Answer { code, .. } = send_json(
        &mut c,
        "POST",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        json!({"metadata": {"name": "p"}, "spec": {"minAvailable": 2_147_483_647, "selector": {}}}),
        "application/json",
    );
    assert_eq!(code, 201);
}

#[test]
fn a_percent_budget_over_the_largest_replica_count_does_not_overflow() {
    let text = r#"
controllers: {workloads: false, kubelet: false, endpoints: false}
objects:
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: rs, namespace: default, uid: rs-uid}
    spec: {replicas: 2147483647, selector: {matchLabels: {app: a}}}
  - apiVersion: v1
    kind: Pod
    metadata: {name: p, namespace: default, labels: {app: a},
      ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: rs-uid, controller: true}]}
    spec: {nodeName: n}
    status: {phase: Running, conditions: [{type: Ready, status: "True"}]}
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: pdb, namespace: default}
    spec: {minAvailable: "100%", selector: {matchLabels: {app: a}}}
steps:
  - assert: {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: pdb},
      status: {expectedPods: 2147483647, desiredHealthy: 2147483647, currentHealthy: 1, disruptionsAllowed: 0}}
"#;
    let report = Scenario::parse(text).unwrap().run().unwrap();
    assert!(report.ok(), "{}", report.to_text("t"));
}

#[test]
fn replica_set_statuses_whose_sum_overflows_saturate() {
    let text = r#"
controllers: {kubelet: false, endpoints: false}
objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: d, namespace: default, uid: d-uid}
    spec: {replicas: 0, selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: a}}}}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: old-1, namespace: default, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: d, uid: d-uid, controller: true}]}
    spec: {replicas: 0, selector: {matchLabels: {app: a, v: "1"}}}
    status: {replicas: 18446744073709551615, readyReplicas: 18446744073709551615}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: old-2, namespace: default, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: d, uid: d-uid, controller: true}]}
    spec: {replicas: 0, selector: {matchLabels: {app: a, v: "2"}}}
    status: {replicas: 18446744073709551615, readyReplicas: 18446744073709551615}
steps:
  - get: {kind: Deployment, name: d}
    expect: {code: 200}
"#;
    let report = Scenario::parse(text).unwrap().run().unwrap();
    assert!(report.ok(), "{}", report.to_text("t"));
}

#[test]
fn resource_versions_and_generations_at_the_edge_of_int64() {
    let too_big = r#"
objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: default, resourceVersion: "18446744073709551615"}, spec: {}}
"#;
    let error = Scenario::parse(too_big)
        .unwrap()
        .run()
        .unwrap_err()
        .to_string();
    assert!(error.contains("metadata.resourceVersion"), "{error}");
    // The largest etcd revision loads, and later writes still advance past it.
    let edge = r#"
objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: default, resourceVersion: "9223372036854775807", generation: 9223372036854775807}, spec: {}}
  - {apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: rs, namespace: default, generation: 9223372036854775807}, spec: {replicas: 0, selector: {matchLabels: {a: b}}}}
steps:
  - request: {method: PATCH, path: /apis/apps/v1/namespaces/default/replicasets/rs, headers: {Content-Type: application/merge-patch+json}, body: {spec: {replicas: 1}}}
    expect: {code: 200, body: {metadata: {generation: 9223372036854775807}}}
"#;
    let report = Scenario::parse(edge).unwrap().run().unwrap();
    assert!(report.ok(), "{}", report.to_text("t"));
}

#[test]
fn query_parameters_that_do_not_parse_are_400s() {
    let mut c = full_cluster();
    c.load(
        t0(),
        pod("a", json!({}), json!({"nodeName": "n"}), json!({})),
    )
    .unwrap();
    let before = stored(&c);
    for (method, path, message) in [
        (
            "DELETE",
            "/api/v1/namespaces/default/pods/a?gracePeriodSeconds=abc",
            "strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
        (
            "DELETE",
            "/api/v1/namespaces/default/pods/a?gracePeriodSeconds=99999999999999999999",
            "strconv.ParseInt: parsing \"99999999999999999999\": value out of range",
        ),
        (
            "DELETE",
            "/api/v1/namespaces/default/pods/a?orphanDependents=maybe",
            "strconv.ParseBool: parsing \"maybe\": invalid syntax",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods?limit=ten",
            "strconv.ParseInt: parsing \"ten\": invalid syntax",
        ),
        (
            "GET",
            "/api/v1/pods?timeoutSeconds=1.5",
            "strconv.ParseInt: parsing \"1.5\": invalid syntax",
        ),
    ] {
        let Answer { code, body, .. } =
            send_json(&mut c, method, path, Value::Null, "application/json");
        assert_eq!(
            (code, body["reason"].as_str(), body["message"].as_str()),
            (400, Some("BadRequest"), Some(message)),
            "{path}"
        );
    }
    assert_eq!(stored(&c), before);
}

#[test]
fn json_patches_are_capped_like_kube_apiservers() {
    let mut c = full_cluster();
    c.load(
        t0(),
        pod("a", json!({"k": "v"}), json!({"nodeName": "n"}), json!({})),
    )
    .unwrap();
    let before = stored(&c);
    let path = "/api/v1/namespaces/default/pods/a";
    // Two dozen copies of a growing label map would double it each time.
    let mut bomb = vec![
        json!({"op": "add", "path": "/metadata/annotations", "value": {"x": "y".repeat(1000)}}),
    ];
    for i in 0..24 {
        bomb.push(json!({"op": "copy", "from": "/metadata/annotations", "path": format!("/metadata/annotations/c{i}")}));
    }
    let Answer { code, body, .. } = send_json(
        &mut c,
        "PATCH",
        path,
        Value::Array(bomb),
        "application/json-patch+json",
    );
    assert_eq!(code, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Unable to complete the copy, the accumulated size increase of copy is")
    );
    let many: Vec<Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/kind", "value": "Pod"}))
        .collect();
    let Answer { code, body, .. } = send_json(
        &mut c,
        "PATCH",
        path,
        Value::Array(many),
        "application/json-patch+json",
    );
    assert_eq!(code, 413);
    assert_eq!(
        body["message"],
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
    assert_eq!(body["reason"], "RequestEntityTooLarge");
    assert_eq!(stored(&c), before);
}

#[test]
fn a_request_before_the_clusters_clock_is_refused_without_a_change() {
    let mut c = full_cluster();
    c.advance_to(SimTime::from_secs(10));
    let before = stored(&c);
    let request = http::Request::builder()
        .method("POST")
        .uri("/api/v1/namespaces/default/pods")
        .body(br#"{"metadata":{"name":"late"},"spec":{}}"#.to_vec())
        .unwrap();
    let response = rest::handle(&mut c, SimTime::from_secs(9), &request);
    assert_eq!(response.status(), 500);
    assert_eq!(stored(&c), before);
}

#[test]
fn generated_names_are_retried_from_1_31() {
    let generate = || -> Pod {
        serde_json::from_value(json!({"metadata": {"generateName": "w-", "namespace": "default"}}))
            .unwrap()
    };
    // The same seed draws the same first name; take it beforehand (with a UID given, the
    // restore draws nothing from the RNG).
    let first_name = Cluster::default()
        .create(SimTime::ZERO, generate(), false)
        .unwrap()
        .metadata
        .name;
    let with_first_name_taken = |version| {
        let mut c = Cluster::new(ClusterConfig {
            kubernetes_version: version,
            ..ClusterConfig::default()
        });
        let taken: Pod = serde_json::from_value(
            json!({"metadata": {"name": first_name, "namespace": "default", "uid": "taken"}}),
        )
        .unwrap();
        c.restore(SimTime::ZERO, taken).unwrap();
        let before = c.revision();
        (
            c.create(SimTime::ZERO, generate(), false),
            before,
            c.revision(),
        )
    };
    // 1.30 tries once.
    let (result, before, after) = with_first_name_taken(KubernetesVersion::V1_30);
    let error = result.unwrap_err();
    assert_eq!((error.code(), error.reason()), (409, "AlreadyExists"));
    assert_eq!(
        error.to_string(),
        format!(
            "pods \"{first_name}\" already exists, the server was not able to generate a unique name for the object"
        )
    );
    assert_eq!(error.to_status().details.unwrap().retry_after_seconds, 1);
    assert_eq!(before, after);
    // From 1.31 (RetryGenerateName) a taken name is generated again.
    let (result, _, _) = with_first_name_taken(KubernetesVersion::V1_31);
    assert_ne!(result.unwrap().metadata.name, first_name);
}

#[test]
fn selectors_get_upstreams_answers() {
    // `k in ()` is upstream's `k in ("")`.
    let s = Selector::parse("k in ()").unwrap();
    let labels = |k: &str, v: &str| [(k.to_string(), v.to_string())].into_iter().collect();
    assert!(s.matches(&labels("k", "")));
    assert!(!s.matches(&labels("k", "x")));
    let mut c = full_cluster();
    let Answer { code, body, .. } = send_json(
        &mut c,
        "GET",
        "/api/v1/pods?fieldSelector=spec.nodeName%3Dn%5Cx",
        Value::Null,
        "application/json",
    );
    assert_eq!(
        (code, body["message"].as_str()),
        (
            400,
            Some(r"invalid field selector: invalid escape sequence: \x")
        )
    );
}

#[test]
fn two_controller_owner_references_are_invalid() {
    let mut c = full_cluster();
    let Answer { code, body, .. } = send_json(
        &mut c,
        "POST",
        "/api/v1/namespaces/default/pods",
        json!({"metadata": {"name": "p", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true},
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "b", "uid": "2", "controller": true},
            {"apiVersion": "", "kind": "", "name": "", "uid": ""}]}, "spec": {}}),
        "application/json",
    );
    assert_eq!(code, 422);
    let causes: Vec<&str> = body["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["message"].as_str().unwrap())
        .collect();
    assert!(causes.contains(&"Invalid value: \"object\": Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and StatefulSet/b"), "{causes:?}");
    assert!(
        causes.contains(&"Invalid value: \"\": version must not be empty"),
        "{causes:?}"
    );
}

#[test]
fn names_in_messages_are_quoted_as_go_quotes_them() {
    let mut c = full_cluster();
    let Answer { code, body, .. } = send_json(
        &mut c,
        "GET",
        "/api/v1/namespaces/default/pods/a%00b",
        Value::Null,
        "application/json",
    );
    assert_eq!(
        (code, body["message"].as_str()),
        (404, Some(r#"pods "a\x00b" not found"#))
    );
}

#[test]
fn the_event_log_is_compacted_and_cursors_keep_counting() {
    let mut c = Cluster::new(ClusterConfig {
        event_retention: 100,
        ..ClusterConfig::default()
    });
    c.load(
        t0(),
        pod(
            "a",
            json!({"app": "a"}),
            json!({"nodeName": "n"}),
            json!({"phase": "Running", "conditions": ready()}),
        ),
    )
    .unwrap();
    c.load(
        t0(),
        pdb(
            "p",
            json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}}),
            json!({}),
        ),
    )
    .unwrap();
    for _ in 0..10_000 {
        assert!(
            c.evict(t0(), "default", "a", eviction("a", Value::Null), &[])
                .is_err()
        );
    }
    assert!(c.events().len() < 200);
    assert!(c.event_count() > 10_000);
    let cursor = c.event_count();
    assert!(
        c.evict(t0(), "default", "a", eviction("a", Value::Null), &[])
            .is_err()
    );
    assert_eq!(c.events_since(cursor).len(), 1);
    assert_eq!(c.events_since(cursor)[0].seq, cursor);
}

#[test]
fn a_daemon_set_over_ten_thousand_nodes_is_linear() {
    let mut objects = vec![
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": {"metadata": {"labels": {"app": "ds"}}}}}),
    ];
    for i in 0..10_000 {
        objects.push(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("n{i}")},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        );
    }
    let text = json!({"controllers": {"kubelet": false, "endpoints": false, "disruption": false}, "objects": objects}).to_string();
    let cluster = Scenario::parse(&text).unwrap().build_cluster().unwrap();
    assert_eq!(cluster.list::<Pod>().count(), 10_000);
    let pod = cluster.pods_on_node("n9999");
    assert_eq!(pod.len(), 1);
    assert!(
        cluster
            .get::<Pod>(&ObjectKey::new("default", pod[0].metadata.name.as_str()))
            .is_some()
    );
}

#[test]
fn a_yaml_snapshot_of_ten_thousand_pods_loads() {
    let mut text = String::from(
        "controllers: {kubelet: false, endpoints: false, workloads: false}\nobjects:\n",
    );
    for i in 0..10_000 {
        text.push_str(&format!(
            "- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p{i}, namespace: default, labels: {{app: web}}}}\n  spec: {{nodeName: n{}, containers: [{{name: c, image: nginx}}]}}\n  status: {{phase: Running}}\n",
            i % 100
        ));
    }
    let cluster = Scenario::parse(&text).unwrap().build_cluster().unwrap();
    assert_eq!(cluster.list::<Pod>().count(), 10_000);
}
