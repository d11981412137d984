//! Endpoints and EndpointSlices while pods come and go: rules N1–N5.

mod common;

use common::*;
use evictsim::cluster::{Cluster, ClusterConfig, Controllers, EventKind};
use evictsim::model::{DeleteOptions, EndpointSlice, Endpoints, ObjectKey, Pod, Service};
use evictsim::time::SimTime;
use serde_json::{Value, json};

fn service(publish_not_ready: bool) -> Service {
    serde_json::from_value(json!({"metadata": {"name": "web", "namespace": NS, "labels": {"team": "a"}}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}], "publishNotReadyAddresses": publish_not_ready}})).unwrap()
}

fn web_pod(name: &str, ip: Option<&str>, ready_now: bool) -> Pod {
    let mut status =
        json!({"phase": "Running", "conditions": if ready_now { ready() } else { unready() }});
    if let Some(ip) = ip {
        status["podIP"] = json!(ip);
    }
    pod(
        name,
        json!({"app": "web"}),
        json!({"nodeName": "node-1", "terminationGracePeriodSeconds": 30}),
        status,
    )
}

fn setup(publish_not_ready: bool) -> Cluster {
    let mut c = full_cluster();
    c.load(t0(), web_pod("a", Some("10.0.0.1"), true)).unwrap();
    c.load(t0(), web_pod("b", Some("10.0.0.2"), true)).unwrap();
    c.load(t0(), web_pod("c", Some("10.0.0.3"), false)).unwrap();
    c.load(t0(), web_pod("no-ip", None, true)).unwrap();
    c.load(t0(), service(publish_not_ready)).unwrap();
    c
}

fn addresses(c: &Cluster, field: &str) -> Vec<String> {
    let e = c.get::<Endpoints>(&key("web")).expect("Endpoints exist");
    e.body
        .value("subsets")
        .as_ref()
        .and_then(|s| s[0].get(field))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| a["targetRef"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn slice(c: &Cluster) -> Vec<(String, bool, bool, bool)> {
    let s = c
        .list_in::<EndpointSlice>(NS)
        .find(|s| {
            s.metadata
                .labels
                .get("kubernetes.io/service-name")
                .map(String::as_str)
                == Some("web")
        })
        .expect("slice exists");
    s.body
        .value("endpoints")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let c = &e["conditions"];
            (
                e["targetRef"]["name"].as_str().unwrap().to_string(),
                c["ready"].as_bool().unwrap(),
                c["serving"].as_bool().unwrap(),
                c["terminating"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn evict(c: &mut Cluster, name: &str) {
    c.evict(c.now(), NS, name, eviction(name, Value::Null), &[])
        .unwrap();
}

#[test]
fn ready_and_unready_pods_with_ips_are_listed_n1_n3() {
    let c = setup(false);
    assert_eq!(addresses(&c, "addresses"), ["a", "b"]);
    assert_eq!(addresses(&c, "notReadyAddresses"), ["c"]);
    assert_eq!(
        slice(&c),
        [
            ("a".into(), true, true, false),
            ("b".into(), true, true, false),
            ("c".into(), false, false, false)
        ]
    );
    let e = c.get::<Endpoints>(&key("web")).unwrap();
    assert_eq!(
        e.body.value("subsets").unwrap()[0]["ports"],
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
    );
    assert_eq!(e.metadata.labels.get("team").map(String::as_str), Some("a"));
}

#[test]
fn a_terminating_pod_leaves_endpoints_at_once_and_stays_in_the_slice_as_terminating_n2_n3() {
    let mut c = setup(false);
    evict(&mut c, "a");
    assert_eq!(
        addresses(&c, "addresses"),
        ["b"],
        "removed entirely, not moved to notReadyAddresses"
    );
    assert_eq!(addresses(&c, "notReadyAddresses"), ["c"]);
    assert!(slice(&c).contains(&("a".into(), false, true, true)));
    assert!(c.events().iter().any(
        |e| matches!(&e.kind, EventKind::EndpointRemoved { pod, .. } if pod.name == "a".into())
    ));
    // Once the pod is gone, it leaves the slice too.
    c.advance_to(SimTime::from_secs(5));
    assert!(c.pod(&key("a")).is_none());
    assert!(!slice(&c).iter().any(|(n, ..)| n == "a"));
}

#[test]
fn publish_not_ready_addresses_keeps_terminating_pods_ready_n2_n3() {
    let mut c = setup(true);
    assert_eq!(addresses(&c, "addresses"), ["a", "b", "c"]);
    evict(&mut c, "a");
    assert_eq!(addresses(&c, "addresses"), ["a", "b", "c"]);
    assert!(slice(&c).contains(&("a".into(), true, true, true)));
}

#[test]
fn terminal_pods_leave_both_n1() {
    let mut c = setup(false);
    let mut keep = web_pod("kept", Some("10.0.0.9"), true);
    keep.metadata.finalizers = vec!["example.com/keep".into()];
    c.load(t0(), keep).unwrap();
    assert!(addresses(&c, "addresses").contains(&"kept".to_string()));
    c.delete::<Pod>(t0(), &key("kept"), &DeleteOptions::default())
        .unwrap();
    c.advance_to(SimTime::from_secs(5));
    assert_eq!(
        c.pod(&key("kept")).unwrap().status.phase,
        "Succeeded",
        "terminal, held by its finalizer"
    );
    assert!(!slice(&c).iter().any(|(n, ..)| n == "kept"));
    assert!(!addresses(&c, "addresses").contains(&"kept".to_string()));
}

#[test]
fn label_changes_resync_n4() {
    let mut c = setup(false);
    let mut b = c.pod(&key("b")).unwrap().clone();
    b.metadata.labels.insert("app".into(), "other".into());
    c.update(t0(), b, evictsim::cluster::Subresource::Main, false)
        .unwrap();
    assert_eq!(addresses(&c, "addresses"), ["a"]);
}

#[test]
fn deleting_the_service_deletes_its_endpoints() {
    let mut c = setup(false);
    c.delete::<Service>(t0(), &key("web"), &DeleteOptions::default())
        .unwrap();
    assert!(c.get::<Endpoints>(&key("web")).is_none());
    assert_eq!(c.list_in::<EndpointSlice>(NS).count(), 0);
}

#[test]
fn services_without_selectors_are_left_alone() {
    let mut c = full_cluster();
    let s: Service = serde_json::from_value(json!({"metadata": {"name": "external", "namespace": NS}, "spec": {"ports": [{"port": 80}]}})).unwrap();
    c.load(t0(), s).unwrap();
    assert!(
        c.get::<Endpoints>(&ObjectKey::new(NS, "external"))
            .is_none()
    );
}

#[test]
fn the_endpoints_controller_can_be_switched_off() {
    let mut c = Cluster::new(ClusterConfig {
        controllers: Controllers {
            endpoints: false,
            ..Controllers::default()
        },
        ..ClusterConfig::default()
    });
    c.load(t0(), web_pod("a", Some("10.0.0.1"), true)).unwrap();
    c.load(t0(), service(false)).unwrap();
    assert!(c.get::<Endpoints>(&key("web")).is_none());
}

#[test]
fn nothing_looks_at_disruption_target_n5() {
    let mut c = setup(false);
    let mut a = c.pod(&key("a")).unwrap().clone();
    a.status.conditions.push(serde_json::from_value(json!({"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"})).unwrap());
    c.update(t0(), a, evictsim::cluster::Subresource::Status, false)
        .unwrap();
    assert_eq!(addresses(&c, "addresses"), ["a", "b"]);
}
