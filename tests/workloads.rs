//! Workload controllers and the scheduler: replacements, names, owner references, ordering,
//! cordoning, garbage collection.

mod common;

use common::*;
use evictsim::cluster::{Cluster, EventKind, Subresource};
use evictsim::model::{
    DaemonSet, DeleteOptions, Deployment, Node, ObjectKey, Pod, ReplicaSet, StatefulSet,
};
use evictsim::time::SimTime;
use serde_json::{Value, json};

fn node(name: &str, ready_now: bool, unschedulable: bool, max_pods: Option<u32>) -> Node {
    let mut status = json!({"conditions": [{"type": "Ready", "status": if ready_now { "True" } else { "False" }}]});
    if let Some(n) = max_pods {
        status["allocatable"] = json!({"pods": n.to_string()});
    }
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"unschedulable": unschedulable}, "status": status})).unwrap()
}

fn template(labels: Value, annotations: Value) -> Value {
    json!({"metadata": {"labels": labels, "annotations": annotations}, "spec": {"terminationGracePeriodSeconds": 30, "containers": [{"name": "app", "image": "app:1"}]}})
}

fn with_nodes(names: &[&str]) -> Cluster {
    let mut c = full_cluster();
    for n in names {
        c.load(t0(), node(n, true, false, None)).unwrap();
    }
    c
}

fn pods(c: &Cluster) -> Vec<&Pod> {
    c.list_in::<Pod>(NS).collect()
}

fn active(c: &Cluster) -> Vec<&Pod> {
    pods(c)
        .into_iter()
        .filter(|p| !p.is_terminating() && !p.is_terminal())
        .collect()
}

#[test]
fn a_replica_set_creates_its_pods_and_replaces_terminating_ones_at_once() {
    let mut c = with_nodes(&["node-1", "node-2"]);
    let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": NS}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"}), json!({}))}})).unwrap();
    let rs = c.load(t0(), rs).unwrap();
    assert_eq!(active(&c).len(), 3);
    for p in pods(&c) {
        assert!(
            p.metadata.name.starts_with("web-") && p.metadata.name.len() == 9,
            "{}",
            p.metadata.name
        );
        assert_eq!(p.metadata.generate_name, "web-");
        let owner = p.metadata.controller_ref().unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.api_version.as_str(), &owner.uid),
            ("ReplicaSet", "apps/v1", &rs.metadata.uid)
        );
        assert_eq!(
            p.metadata.labels.get("app").map(String::as_str),
            Some("web")
        );
        assert!(!p.spec.node_name.is_empty(), "scheduled");
    }
    c.advance_to(SimTime::from_secs(2));
    assert!(active(&c).iter().all(|p| p.is_ready()), "started and Ready");
    let victim = pods(&c)[0].metadata.key();
    c.delete::<Pod>(SimTime::from_secs(2), &victim, &DeleteOptions::default())
        .unwrap();
    assert_eq!(
        active(&c).len(),
        3,
        "the replacement exists while the old pod terminates"
    );
    assert_eq!(pods(&c).len(), 4);
    let status = &c.get::<ReplicaSet>(&key("web")).unwrap().status;
    assert_eq!(status.value("replicas"), Some(json!(3)));
}

#[test]
fn the_scheduler_spreads_pods_and_never_uses_cordoned_or_not_ready_nodes() {
    let mut c = full_cluster();
    c.load(t0(), node("a", true, false, None)).unwrap();
    c.load(t0(), node("b", true, true, None)).unwrap();
    c.load(t0(), node("c", false, false, None)).unwrap();
    c.load(t0(), node("d", true, false, Some(1))).unwrap();
    let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": NS}, "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"}), json!({}))}})).unwrap();
    c.load(t0(), rs).unwrap();
    let mut placement: Vec<&str> = pods(&c).iter().map(|p| p.spec.node_name.as_str()).collect();
    placement.sort();
    assert_eq!(placement, ["a", "a", "a", "d"]);
}

#[test]
fn pending_pods_wait_for_a_node() {
    let mut c = full_cluster();
    let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": NS}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"}), json!({}))}})).unwrap();
    c.load(t0(), rs).unwrap();
    assert!(pods(&c)[0].spec.node_name.is_empty());
    assert!(c.events().iter().any(|e| matches!(
        &e.kind,
        EventKind::Recorded {
            reason: "FailedScheduling",
            ..
        }
    )));
    c.load(t0(), node("late", true, false, None)).unwrap();
    assert_eq!(pods(&c)[0].spec.node_name, "late");
}

#[test]
fn a_deployment_owns_a_replica_set_and_scales_it() {
    let mut c = with_nodes(&["node-1"]);
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "api", "namespace": NS}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}}, "template": template(json!({"app": "api"}), json!({}))}})).unwrap();
    let d = c.load(t0(), d).unwrap();
    let hash = d.template_hash();
    let rs = c
        .get::<ReplicaSet>(&key(&format!("api-{hash}")))
        .expect("ReplicaSet named after the template hash");
    assert_eq!(rs.metadata.controller_ref().unwrap().uid, d.metadata.uid);
    assert_eq!(rs.spec.replicas, Some(2));
    assert_eq!(active(&c).len(), 2);
    assert!(
        active(&c)
            .iter()
            .all(|p| p.metadata.labels.get("pod-template-hash") == Some(&hash))
    );
    let mut scaled = c.get::<Deployment>(&key("api")).unwrap().clone();
    scaled.spec.replicas = Some(4);
    c.update(t0(), scaled, Subresource::Main, false).unwrap();
    assert_eq!(active(&c).len(), 4);
    c.advance_to(SimTime::from_secs(3));
    assert_eq!(
        c.get::<Deployment>(&key("api"))
            .unwrap()
            .status
            .value("readyReplicas"),
        Some(json!(4))
    );
}

#[test]
fn a_stateful_set_creates_ordinals_in_order_and_replaces_a_pod_only_once_it_is_gone() {
    let mut c = with_nodes(&["node-1"]);
    let sts: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "db", "namespace": NS}, "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": template(json!({"app": "db"}), json!({"evictsim.io/shutdown-seconds": "never"}))}})).unwrap();
    c.load(t0(), sts).unwrap();
    let names = |c: &Cluster| {
        pods(c)
            .iter()
            .map(|p| p.metadata.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&c), ["db-0"], "one at a time (OrderedReady)");
    c.advance_to(SimTime::from_secs(2));
    assert_eq!(names(&c), ["db-0", "db-1"]);
    c.advance_to(SimTime::from_secs(6));
    assert_eq!(names(&c), ["db-0", "db-1", "db-2"]);
    assert_eq!(
        c.pod(&key("db-1"))
            .unwrap()
            .metadata
            .labels
            .get("statefulset.kubernetes.io/pod-name")
            .map(String::as_str),
        Some("db-1")
    );
    let old_uid = c.pod(&key("db-1")).unwrap().metadata.uid.clone();
    c.delete::<Pod>(
        SimTime::from_secs(10),
        &key("db-1"),
        &DeleteOptions::default(),
    )
    .unwrap();
    c.advance_to(SimTime::from_secs(39));
    assert_eq!(
        c.pod(&key("db-1")).unwrap().metadata.uid,
        old_uid,
        "the old pod holds the name for its whole grace period"
    );
    c.advance_to(SimTime::from_secs(40));
    let replacement = c.pod(&key("db-1")).expect("recreated under the same name");
    assert_ne!(replacement.metadata.uid, old_uid);
}

#[test]
fn a_daemon_set_runs_one_pod_per_node_cordoned_ones_included() {
    let mut c = full_cluster();
    c.load(t0(), node("a", true, false, None)).unwrap();
    c.load(t0(), node("b", true, true, None)).unwrap();
    let ds: DaemonSet = serde_json::from_value(json!({"metadata": {"name": "agent", "namespace": NS}, "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template(json!({"app": "agent"}), json!({}))}})).unwrap();
    c.load(t0(), ds).unwrap();
    let mut nodes: Vec<String> = pods(&c)
        .iter()
        .map(|p| p.spec.node_name.to_string())
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["a", "b"]);
    c.load(t0(), node("c", true, false, None)).unwrap();
    assert_eq!(pods(&c).len(), 3);
}

#[test]
fn deleting_a_controller_garbage_collects_its_pods() {
    let mut c = with_nodes(&["node-1"]);
    let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": NS}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"}), json!({}))}})).unwrap();
    c.load(t0(), rs).unwrap();
    c.delete::<ReplicaSet>(t0(), &key("web"), &DeleteOptions::default())
        .unwrap();
    assert!(pods(&c).iter().all(|p| p.is_terminating()));
    c.advance_to(SimTime::from_secs(5));
    assert!(pods(&c).is_empty());
}

#[test]
fn replicas_return_to_the_count_once_replacements_are_ready() {
    let mut c = with_nodes(&["node-1", "node-2"]);
    let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": NS}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"}), json!({}))}})).unwrap();
    c.load(t0(), rs).unwrap();
    c.advance_to(SimTime::from_secs(5));
    let names: Vec<ObjectKey> = pods(&c).iter().map(|p| p.metadata.key()).collect();
    for (i, k) in names.iter().enumerate() {
        c.evict(
            SimTime::from_secs(5 + i as u64),
            NS,
            &k.name,
            eviction(&k.name, Value::Null),
            &[],
        )
        .unwrap();
    }
    c.advance_to(SimTime::from_secs(60));
    assert_eq!(pods(&c).len(), 3);
    assert!(
        pods(&c)
            .iter()
            .all(|p| p.is_ready() && !names.contains(&p.metadata.key()))
    );
}

#[test]
fn replacements_follow_the_template_the_replica_set_has_when_they_are_created() {
    let mut c = with_nodes(&["node-1", "node-2"]);
    let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": NS}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web", "track": "one"}), json!({"note": "first"}))}})).unwrap();
    c.load(t0(), rs).unwrap();
    c.advance_to(SimTime::from_secs(5));
    assert!(
        active(&c)
            .iter()
            .all(|p| p.metadata.labels.get("track").map(String::as_str) == Some("one"))
    );
    // A new template (as `kubectl edit` would leave it): pods already running keep theirs,
    // every pod created from now on is made from the new one.
    let mut edited = c.get::<ReplicaSet>(&key("web")).unwrap().clone();
    let mut new_template = template(
        json!({"app": "web", "track": "two"}),
        json!({"note": "second"}),
    );
    new_template["spec"]["terminationGracePeriodSeconds"] = json!(7);
    edited
        .spec
        .unmodeled
        .insert("template".into(), new_template);
    c.update(SimTime::from_secs(6), edited, Subresource::Main, false)
        .unwrap();
    let first = active(&c)[0].metadata.key();
    c.delete::<Pod>(SimTime::from_secs(7), &first, &DeleteOptions::default())
        .unwrap();
    let created: Vec<&Pod> = active(&c)
        .into_iter()
        .filter(|p| p.metadata.labels.get("track").map(String::as_str) == Some("two"))
        .collect();
    assert_eq!(created.len(), 1, "one replacement, from the new template");
    assert_eq!(
        created[0]
            .metadata
            .annotations
            .get("note")
            .map(String::as_str),
        Some("second")
    );
    assert_eq!(created[0].spec.termination_grace_period_seconds, Some(7));
    assert_eq!(
        active(&c)
            .iter()
            .filter(|p| p.metadata.labels.get("track").map(String::as_str) == Some("one"))
            .count(),
        1,
        "the pod left running keeps the old template's labels"
    );
}
