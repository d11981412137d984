//! Upstream's `pkg/controller/disruption/disruption_test.go`, case by case.
//! The controller runs inside the cluster and syncs a PDB when it or one of its pods
//! changes (C2, C3); `resync_pdb` stands in for upstream's hand-called `sync` where a
//! change (a workload's scale) triggers no sync upstream either.

mod common;

use common::*;
use evictsim::cluster::{Cluster, EventKind, Subresource};
use evictsim::model::{
    Deployment, OwnerReference, Pod, ReplicaSet, ReplicationController, StatefulSet, Uid,
};
use evictsim::time::SimTime;
use serde_json::{Value, json};

fn foobar_pdb(spec: Value) -> evictsim::model::PodDisruptionBudget {
    let mut spec = spec;
    if spec.get("selector").is_none() {
        spec["selector"] = json!({"matchLabels": {"foo": "bar"}});
    }
    pdb("foobar", spec, json!({}))
}

fn foo_pod(name: &str, ready_now: bool) -> Pod {
    pod(
        name,
        json!({"foo": "bar"}),
        json!({}),
        json!({"conditions": if ready_now { ready() } else { unready() }}),
    )
}

fn owned(mut p: Pod, api_version: &str, kind: &str, name: &str, uid: &Uid) -> Pod {
    p.metadata.owner_references = vec![OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.clone(),
        controller: Some(true),
        block_owner_deletion: None,
    }]
    .into();
    p
}

fn ps(c: &Cluster) -> (i64, i64, i64, i64, Vec<String>) {
    let t = status_tuple(c, "foobar");
    let pdb = c.pdb(&key("foobar")).unwrap();
    assert_eq!(
        pdb.status.observed_generation, pdb.metadata.generation,
        "observedGeneration = generation"
    );
    let condition = pdb
        .status
        .condition("DisruptionAllowed")
        .expect("DisruptionAllowed condition");
    assert_eq!(
        condition.status == "True",
        t.0 > 0,
        "condition True iff DA > 0"
    );
    t
}

fn none() -> Vec<String> {
    Vec::new()
}

fn recorded(c: &Cluster, reason: &str) -> bool {
    c.events()
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Recorded { reason: r, .. } if *r == reason))
}

fn set_ready(c: &mut Cluster, name: &str, ready_now: bool) {
    let mut p = c.pod(&key(name)).unwrap().clone();
    p.status.conditions =
        serde_json::from_value(if ready_now { ready() } else { unready() }).unwrap();
    c.update(t0(), p, Subresource::Status, false).unwrap();
}

fn replica_set(name: &str, replicas: i64, labels: Value) -> ReplicaSet {
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": NS}, "spec": {"replicas": replicas, "selector": {"matchLabels": labels}}})).unwrap()
}

#[test]
fn test_no_selector() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": 3, "selector": {}})))
        .unwrap();
    assert_eq!(ps(&c), (0, 0, 3, 0, none()));
    c.load(t0(), foo_pod("p0", true)).unwrap();
    assert_eq!(ps(&c), (0, 1, 3, 1, none()));
}

#[test]
fn test_unavailable() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": 3})))
        .unwrap();
    for i in 0..4 {
        assert_eq!(ps(&c), (0, i, 3, i, none()));
        c.load(t0(), foo_pod(&format!("p{i}"), true)).unwrap();
    }
    assert_eq!(ps(&c), (1, 4, 3, 4, none()));
    set_ready(&mut c, "p0", false);
    assert_eq!(ps(&c), (0, 3, 3, 4, none()));
}

#[test]
fn test_integer_max_unavailable() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"maxUnavailable": 1})))
        .unwrap();
    assert_eq!(ps(&c).0, 0);
    c.load(t0(), foo_pod("p0", true)).unwrap();
    assert_eq!(ps(&c).0, 0);
    assert!(recorded(&c, "UnmanagedPods"));
}

#[test]
fn test_integer_max_unavailable_with_scaling() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"maxUnavailable": 2})))
        .unwrap();
    let rs = c
        .load(t0(), replica_set("foobar", 7, json!({"foo": "bar"})))
        .unwrap();
    c.load(
        t0(),
        owned(
            foo_pod("p0", true),
            "apps/v1",
            "ReplicaSet",
            "foobar",
            &rs.metadata.uid,
        ),
    )
    .unwrap();
    assert_eq!(ps(&c), (0, 1, 5, 7, none()));
    let mut rs = c.get::<ReplicaSet>(&key("foobar")).unwrap().clone();
    rs.spec.replicas = Some(5);
    c.update(t0(), rs, Subresource::Main, false).unwrap();
    c.resync_pdb(t0(), &key("foobar"));
    assert_eq!(ps(&c), (0, 1, 3, 5, none()));
}

#[test]
fn test_percentage_max_unavailable_with_scaling() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"maxUnavailable": "30%"})))
        .unwrap();
    let rs = c
        .load(t0(), replica_set("foobar", 7, json!({"foo": "bar"})))
        .unwrap();
    c.load(
        t0(),
        owned(
            foo_pod("p0", true),
            "apps/v1",
            "ReplicaSet",
            "foobar",
            &rs.metadata.uid,
        ),
    )
    .unwrap();
    assert_eq!(ps(&c), (0, 1, 4, 7, none()));
    let mut rs = c.get::<ReplicaSet>(&key("foobar")).unwrap().clone();
    rs.spec.replicas = Some(3);
    c.update(t0(), rs, Subresource::Main, false).unwrap();
    c.resync_pdb(t0(), &key("foobar"));
    assert_eq!(ps(&c), (0, 1, 2, 3, none()));
}

#[test]
fn test_naked_pod() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": "28%"})))
        .unwrap();
    assert_eq!(ps(&c).0, 0);
    c.load(t0(), foo_pod("p0", true)).unwrap();
    assert_eq!(ps(&c).0, 0);
    assert!(recorded(&c, "UnmanagedPods"));
}

#[test]
fn test_unsupported_controller_pod() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": "28%"})))
        .unwrap();
    c.load(
        t0(),
        owned(
            foo_pod("p0", true),
            "apps.test.io/v1",
            "TestWorkload",
            "w",
            &Uid::from("u"),
        ),
    )
    .unwrap();
    let pdb = c.pdb(&key("foobar")).unwrap();
    assert_eq!(pdb.status.disruptions_allowed, 0);
    let condition = pdb.status.condition("DisruptionAllowed").unwrap();
    assert_eq!(
        (condition.reason.as_str(), condition.message.as_str()),
        (
            "SyncFailed",
            "no matches for kind \"TestWorkload\" in version \"apps.test.io/v1\""
        )
    );
    assert!(recorded(&c, "CalculateExpectedPodCountFailed"));
}

#[test]
fn test_status_for_unmanaged_pod() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": "28%"})))
        .unwrap();
    c.load(t0(), foo_pod("p0", true)).unwrap();
    let pdb = c.pdb(&key("foobar")).unwrap();
    assert_eq!(pdb.status.disruptions_allowed, 0);
    assert_ne!(
        pdb.status.condition("DisruptionAllowed").unwrap().reason,
        "SyncFailed"
    );
    assert!(recorded(&c, "UnmanagedPods"));
}

#[test]
fn test_total_unmanaged_pods() {
    let p = foo_pod("p0", true);
    let (expected, unmanaged) =
        evictsim::cluster::disruption::expected_scale(&[&p], |_, _| Ok(None)).unwrap();
    assert_eq!((expected, unmanaged), (0, vec!["p0".into()]));
}

#[test]
fn test_replica_set() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": "20%"})))
        .unwrap();
    let rs = c
        .load(t0(), replica_set("foobar", 10, json!({"foo": "bar"})))
        .unwrap();
    c.load(
        t0(),
        owned(
            foo_pod("p0", true),
            "apps/v1",
            "ReplicaSet",
            "foobar",
            &rs.metadata.uid,
        ),
    )
    .unwrap();
    assert_eq!(ps(&c), (0, 1, 2, 10, none()));
}

#[test]
fn test_scale_finder_no_resource_resource_implements_scale() {
    // Analog of 12a for a served kind: a ReplicaSet owner that does not exist is a NotFound
    // from a resource that implements /scale, so the finder yields nothing (and the sync then
    // reports that no controller was found).
    let c = cluster(true);
    let owner = OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: "gone".into(),
        uid: Uid::from("u"),
        controller: Some(true),
        block_owner_deletion: None,
    };
    assert_eq!(c.find_controller(&owner, NS), Ok(None));
}

#[test]
fn test_scale_finder_no_resource_resource_does_not_implement_scale() {
    // Analog of 12c: DaemonSets have no scale subresource.
    let c = cluster(true);
    let owner = OwnerReference {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        name: "ds".into(),
        uid: Uid::from("u"),
        controller: Some(true),
        block_owner_deletion: None,
    };
    assert_eq!(
        c.find_controller(&owner, NS),
        Err("daemonsets.apps does not implement the scale subresource".into())
    );
}

#[test]
fn test_multiple_controllers() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": "1%"})))
        .unwrap();
    c.load(t0(), foo_pod("p0", true)).unwrap();
    c.load(t0(), foo_pod("p1", true)).unwrap();
    assert_eq!(ps(&c).0, 0);
    let rc: ReplicationController = serde_json::from_value(json!({"metadata": {"name": "rc-1", "namespace": NS}, "spec": {"replicas": 1, "selector": {"foo": "bar"}}})).unwrap();
    let rc = c.load(t0(), rc).unwrap();
    for name in ["p0", "p1"] {
        let p = owned(
            c.pod(&key(name)).unwrap().clone(),
            "v1",
            "ReplicationController",
            "rc-1",
            &rc.metadata.uid,
        );
        c.update(t0(), p, Subresource::Main, false).unwrap();
    }
    assert_eq!(ps(&c), (1, 2, 1, 1, none()));
}

fn controller_case<T: evictsim::cluster::StoredKind>(object: T, api_version: &str) {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": "34%", "selector": {"matchLabels": {"foo": "bar", "baz": "quux"}}}))).unwrap();
    let stored = c.load(t0(), object).unwrap();
    let uid = stored.metadata().uid.clone();
    let kind = T::KIND;
    assert_eq!(ps(&c), (0, 0, 0, 0, none()));
    let expected = [(0, 1, 2, 3), (0, 2, 2, 3), (1, 3, 2, 3)];
    for (i, want) in expected.into_iter().enumerate() {
        let p = pod(
            &format!("p{i}"),
            json!({"foo": "bar", "baz": "quux"}),
            json!({}),
            json!({"conditions": ready()}),
        );
        c.load(t0(), owned(p, api_version, kind, "foobar", &uid))
            .unwrap();
        let got = ps(&c);
        assert_eq!((got.0, got.1, got.2, got.3), want, "{kind} pod {i}");
    }
    if kind == "ReplicationController" {
        // A rogue pod without a controller counts as healthy (C8).
        c.load(
            t0(),
            pod(
                "rogue",
                json!({"foo": "bar", "baz": "quux"}),
                json!({}),
                json!({"conditions": ready()}),
            ),
        )
        .unwrap();
        assert_eq!(ps(&c).0, 2);
    }
}

#[test]
fn test_replication_controller() {
    let rc: ReplicationController = serde_json::from_value(json!({"metadata": {"name": "foobar", "namespace": NS}, "spec": {"replicas": 3, "selector": {"foo": "bar", "baz": "quux"}}})).unwrap();
    controller_case(rc, "v1");
}

#[test]
fn test_stateful_set_controller() {
    let ss: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "foobar", "namespace": NS}, "spec": {"replicas": 3, "selector": {"matchLabels": {"foo": "bar", "baz": "quux"}}}})).unwrap();
    controller_case(ss, "apps/v1");
}

#[test]
fn test_two_controllers() {
    let mut c = cluster(true);
    c.load(
        t0(),
        foobar_pdb(json!({"minAvailable": "28%", "selector": {"matchLabels": {"foo": "bar"}}})),
    )
    .unwrap();
    let rc: ReplicationController = serde_json::from_value(json!({"metadata": {"name": "rc", "namespace": NS}, "spec": {"replicas": 11, "selector": {"foo": "bar", "baz": "quux"}}})).unwrap();
    let rc_uid = c.load(t0(), rc).unwrap().metadata.uid;
    for i in 1..=11 {
        let p = pod(
            &format!("rc-{i}"),
            json!({"foo": "bar", "baz": "quux"}),
            json!({}),
            json!({"conditions": if i <= 6 { unready() } else { ready() }}),
        );
        c.load(t0(), owned(p, "v1", "ReplicationController", "rc", &rc_uid))
            .unwrap();
        let got = ps(&c);
        let want = if i <= 6 {
            (0, 0, 4, 11)
        } else if i < 11 {
            (0, i - 6, 4, 11)
        } else {
            (1, 5, 4, 11)
        };
        assert_eq!((got.0, got.1, got.2, got.3), want, "rc pod {i}");
    }
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "d", "namespace": NS}, "spec": {"replicas": 11, "selector": {"matchLabels": {"foo": "bar", "baz": "quuux"}}}})).unwrap();
    c.load(t0(), d).unwrap();
    let rs_uid = c
        .load(
            t0(),
            replica_set("rs", 11, json!({"foo": "bar", "baz": "quuux"})),
        )
        .unwrap()
        .metadata
        .uid;
    c.resync_pdb(t0(), &key("foobar"));
    let got = ps(&c);
    assert_eq!((got.0, got.1, got.2, got.3), (1, 5, 4, 11));
    let rs_expect = [
        (0, 5, 7, 22),
        (0, 5, 7, 22),
        (0, 5, 7, 22),
        (0, 5, 7, 22),
        (0, 5, 7, 22),
        (0, 5, 7, 22),
        (0, 5, 7, 22),
        (0, 6, 7, 22),
        (0, 7, 7, 22),
        (1, 8, 7, 22),
        (2, 9, 7, 22),
    ];
    for (j, want) in rs_expect.into_iter().enumerate() {
        let i = j + 1;
        let p = pod(
            &format!("rs-{i}"),
            json!({"foo": "bar", "baz": "quuux"}),
            json!({}),
            json!({"conditions": if i <= 7 { unready() } else { ready() }}),
        );
        c.load(t0(), owned(p, "apps/v1", "ReplicaSet", "rs", &rs_uid))
            .unwrap();
        let got = ps(&c);
        assert_eq!((got.0, got.1, got.2, got.3), want, "rs pod {i}");
    }
    set_ready(&mut c, "rc-11", false);
    assert_eq!(ps(&c).0, 1);
    set_ready(&mut c, "rc-10", false);
    let got = ps(&c);
    assert_eq!((got.0, got.1, got.2, got.3), (0, 7, 7, 22));
    set_ready(&mut c, "rc-11", true);
    let got = ps(&c);
    assert_eq!((got.0, got.1, got.2, got.3), (1, 8, 7, 22));
}

#[test]
fn test_pdb_not_exist() {
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": 1})))
        .unwrap();
    let revision = c.revision();
    c.resync_pdb(t0(), &key("notExist"));
    assert_eq!(c.revision(), revision, "nothing written");
}

#[test]
fn test_update_disrupted_pods() {
    let mut c = cluster(true);
    let now = c.clock().at(SimTime::from_secs(600));
    let mut p1 = foo_pod("p1", true);
    p1.metadata.deletion_timestamp = Some(now);
    p1.metadata.deletion_grace_period_seconds = Some(30);
    c.load(SimTime::from_secs(600), p1).unwrap();
    c.load(SimTime::from_secs(600), foo_pod("p2", true))
        .unwrap();
    c.load(SimTime::from_secs(600), foo_pod("p3", true))
        .unwrap();
    let disrupted = json!({"p1": now.to_string(), "p2": now.plus_seconds(-180).to_string(), "p3": now.plus_seconds(-60).to_string(), "notthere": now.to_string()});
    let p = pdb(
        "foobar",
        json!({"minAvailable": 1, "selector": {"matchLabels": {"foo": "bar"}}}),
        json!({"disruptedPods": disrupted}),
    );
    c.load(SimTime::from_secs(600), p).unwrap();
    assert_eq!(ps(&c), (0, 1, 1, 3, vec!["p3".to_string()]));
    assert!(recorded(&c, "NotDeleted"));
    // C13: the recheck after p3's expiry (2m after its entry, compared at whole seconds, so
    // the first instant past it is one second later) drops it and counts p3 healthy again.
    let deadline = c.next_deadline().expect("recheck scheduled");
    assert_eq!(deadline.at, SimTime::from_secs(661));
    c.advance_to(SimTime::from_secs(660));
    assert_eq!(ps(&c), (0, 1, 1, 3, vec!["p3".to_string()]));
    c.advance_to(SimTime::from_secs(661));
    assert_eq!(ps(&c), (1, 2, 1, 3, none()));
}

/// C10 over the PDB's selected pods only (upstream's `buildDisruptedPodMap` walks the pods
/// the selector matches): an entry naming a stored pod the selector does not match is
/// dropped and holds nothing back, whichever part of the selector it fails — the label the
/// index files the PDB under, or the rest.
#[test]
fn a_disrupted_entry_for_a_pod_not_selected_is_dropped_c10() {
    let mut c = cluster(true);
    let at = SimTime::from_secs(600);
    let now = c.clock().at(at);
    let labelled = |name: &str, foo: &str, tier: &str| {
        pod(
            name,
            json!({"foo": foo, "tier": tier}),
            json!({}),
            json!({"conditions": ready()}),
        )
    };
    for p in [
        labelled("p1", "bar", "b"),
        labelled("p2", "bar", "a"),
        labelled("p3", "bar", "a"),
        labelled("p4", "baz", "a"),
    ] {
        c.load(at, p).unwrap();
    }
    let selector = json!({"matchLabels": {"foo": "bar"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]});
    let disrupted = json!({"p1": now.to_string(), "p2": now.to_string(), "p4": now.to_string()});
    let p = pdb(
        "foobar",
        json!({"minAvailable": 1, "selector": selector}),
        json!({"disruptedPods": disrupted}),
    );
    c.load(at, p).unwrap();
    // Selected: p2 and p3, both Ready; p2's entry holds it back; p1 and p4 are gone from
    // the map.
    assert_eq!(ps(&c), (0, 1, 1, 2, vec!["p2".to_string()]));
}

#[test]
fn test_basic_finder_functions() {
    let mut c = cluster(false);
    let rs = c
        .load(t0(), replica_set("rs", 10, json!({"a": "b"})))
        .unwrap();
    let rc: ReplicationController = serde_json::from_value(json!({"metadata": {"name": "rc", "namespace": NS}, "spec": {"replicas": 12, "selector": {"a": "b"}}})).unwrap();
    let rc = c.load(t0(), rc).unwrap();
    let ss: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "ss", "namespace": NS}, "spec": {"replicas": 14, "selector": {"matchLabels": {"a": "b"}}}})).unwrap();
    let ss = c.load(t0(), ss).unwrap();
    let r = |api: &str, kind: &str, name: &str, uid: &Uid| OwnerReference {
        api_version: api.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.clone(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    let scale =
        |res: evictsim::cluster::disruption::FinderResult| res.ok().flatten().map(|s| s.replicas);
    assert_eq!(
        scale(c.find_controller(&r("apps/v1", "ReplicaSet", "rs", &rs.metadata.uid), NS)),
        Some(10)
    );
    assert_eq!(
        scale(c.find_controller(&r("invalid/v1", "ReplicaSet", "rs", &rs.metadata.uid), NS)),
        None
    );
    assert_eq!(
        scale(c.find_controller(
            &r("v1", "ReplicationController", "rc", &rc.metadata.uid),
            NS
        )),
        Some(12)
    );
    assert_eq!(
        scale(c.find_controller(
            &r("apps/v1", "ReplicationController", "rc", &rc.metadata.uid),
            NS
        )),
        None
    );
    assert_eq!(
        scale(c.find_controller(&r("apps/v1", "StatefulSet", "ss", &ss.metadata.uid), NS)),
        Some(14)
    );
    assert_eq!(
        scale(c.find_controller(&r("apps/v1", "ReplicaSet", "ss", &ss.metadata.uid), NS)),
        None
    );
}

#[test]
fn test_deployment_finder_function() {
    let cases = [
        (
            "happy path",
            "apps/v1",
            "ReplicaSet",
            "extensions/v1",
            "Deployment",
            Some(10),
        ),
        (
            "invalid rs apiVersion",
            "invalid/v1",
            "ReplicaSet",
            "extensions/v1",
            "Deployment",
            None,
        ),
        (
            "invalid rs kind",
            "apps/v1",
            "InvalidKind",
            "extensions/v1",
            "Deployment",
            None,
        ),
        (
            "invalid deployment apiVersion",
            "apps/v1",
            "ReplicaSet",
            "deployment/v1",
            "Deployment",
            None,
        ),
        (
            "invalid deployment kind",
            "apps/v1",
            "ReplicaSet",
            "extensions/v1",
            "InvalidKind",
            None,
        ),
    ];
    for (name, pod_api, pod_kind, rs_api, rs_kind, want) in cases {
        let mut c = cluster(false);
        let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "d", "namespace": NS}, "spec": {"replicas": 10, "selector": {"matchLabels": {"a": "b"}}}})).unwrap();
        let d = c.load(t0(), d).unwrap();
        let mut rs = replica_set("rs", 5, json!({"a": "b"}));
        rs.metadata.owner_references = vec![OwnerReference {
            api_version: rs_api.into(),
            kind: rs_kind.into(),
            name: "d".into(),
            uid: d.metadata.uid.clone(),
            controller: Some(true),
            block_owner_deletion: None,
        }]
        .into();
        let rs = c.load(t0(), rs).unwrap();
        let owner = OwnerReference {
            api_version: pod_api.into(),
            kind: pod_kind.into(),
            name: "rs".into(),
            uid: rs.metadata.uid.clone(),
            controller: Some(true),
            block_owner_deletion: None,
        };
        let got = c.find_controller(&owner, NS).ok().flatten();
        match want {
            Some(replicas) => {
                let got = got.unwrap_or_else(|| panic!("{name}: no result"));
                assert_eq!(
                    (got.replicas, &got.uid),
                    (replicas, &d.metadata.uid),
                    "{name}"
                );
            }
            None => assert!(
                got.as_ref().is_none_or(|g| g.uid != d.metadata.uid),
                "{name}: {got:?}"
            ),
        }
    }
}

#[test]
fn test_update_pdb_status_retries() {
    // In-process there is no informer lag to race with, so the controller cannot write a
    // stale value; what upstream guards is the outcome: after two evictions on top of a
    // deleted pod, DA is 0, never the controller's earlier 2.
    let mut c = cluster(true);
    c.load(t0(), foobar_pdb(json!({"minAvailable": 1})))
        .unwrap();
    for i in 1..=3 {
        c.load(
            t0(),
            pod(
                &format!("p{i}"),
                json!({"foo": "bar"}),
                json!({"nodeName": "n"}),
                json!({"phase": "Running", "conditions": ready()}),
            ),
        )
        .unwrap();
    }
    assert_eq!(ps(&c).0, 2);
    c.delete::<Pod>(t0(), &key("p1"), &Default::default())
        .unwrap();
    for name in ["p2", "p3"] {
        let _ = c.evict(t0(), NS, name, eviction(name, Value::Null), &[]);
    }
    assert_eq!(c.pdb(&key("foobar")).unwrap().status.disruptions_allowed, 0);
}

#[test]
fn test_invalid_selectors_illegal_value_key() {
    invalid_selector_case(json!({"matchLabels": {"k8s.io/too/many/slashes": "value"}}));
}

#[test]
fn test_invalid_selectors_illegal_operator() {
    invalid_selector_case(
        json!({"matchExpressions": [{"key": "foo", "operator": "illegal", "values": ["bar"]}]}),
    );
}

fn invalid_selector_case(selector: Value) {
    let mut c = cluster(true);
    c.load(t0(), foo_pod("p0", true)).unwrap();
    c.restore(
        t0(),
        pdb(
            "foobar",
            json!({"minAvailable": 3, "selector": selector}),
            json!({}),
        ),
    )
    .unwrap();
    let pdb = c.pdb(&key("foobar")).unwrap();
    assert_eq!(status_tuple(&c, "foobar"), (0, 0, 0, 0, none()));
    let condition = pdb.status.condition("DisruptionAllowed").unwrap();
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        ("False", "SyncFailed")
    );
}

fn stale_case(terminating: bool, condition: Option<&str>, advance_ms: u64) -> Option<String> {
    let mut c = cluster(true);
    let mut p = foo_pod("p", true);
    if let Some(status) = condition {
        p.status.conditions.push(serde_json::from_value(json!({"type": "DisruptionTarget", "status": status, "reason": "EvictionByEvictionAPI", "lastTransitionTime": "2025-01-01T00:00:00Z"})).unwrap());
    }
    if terminating {
        p.metadata.deletion_timestamp = Some(c.clock().at(SimTime::from_secs(600)));
        p.metadata.deletion_grace_period_seconds = Some(600);
    }
    c.load(t0(), p).unwrap();
    c.advance_to(SimTime::from_millis(advance_ms));
    c.pod(&key("p"))
        .unwrap()
        .condition("DisruptionTarget")
        .map(|c| c.status.to_string())
}

#[test]
fn test_stale_pod_disruption_stale_pod_disruption() {
    assert_eq!(
        stale_case(false, Some("True"), 121_000),
        Some("False".into())
    );
}

#[test]
fn test_stale_pod_disruption_pod_disruption_in_progress() {
    assert_eq!(
        stale_case(false, Some("True"), 119_000),
        Some("True".into())
    );
}

#[test]
fn test_stale_pod_disruption_pod_disruption_actuated() {
    assert_eq!(stale_case(true, Some("True"), 121_000), Some("True".into()));
}

#[test]
fn test_stale_pod_disruption_no_pod_disruption() {
    assert_eq!(stale_case(true, None, 121_000), None);
}

#[test]
fn test_stale_pod_disruption_pod_disruption_cleared() {
    assert_eq!(
        stale_case(true, Some("False"), 121_000),
        Some("False".into())
    );
}

#[test]
fn test_keep_existing_pdb_condition_during_sync() {
    let mut c = cluster(true);
    let p = pdb(
        "foobar",
        json!({"minAvailable": 3, "selector": {}}),
        json!({"conditions": [{"type": "ExistingTestCondition", "status": "True", "reason": "", "message": "", "lastTransitionTime": "2025-01-01T00:00:00Z"}]}),
    );
    c.load(t0(), p).unwrap();
    assert_eq!(ps(&c), (0, 0, 3, 0, none()));
    let conditions = &c.pdb(&key("foobar")).unwrap().status.conditions;
    assert_eq!(conditions.len(), 2);
    assert_eq!(conditions[0].type_, "ExistingTestCondition");
}

/// C3 (`getPdbForPod`): a pod selected by several PDBs re-syncs only the first by name, and
/// the controller records a warning naming it, on writes and deletes alike.
#[test]
fn a_pod_under_two_pdbs_resyncs_only_the_first_by_name_c3() {
    let mut c = cluster(true);
    c.load(t0(), foo_pod("p0", true)).unwrap();
    for name in ["pdb-b", "pdb-a"] {
        c.load(
            t0(),
            pdb(
                name,
                json!({"minAvailable": 0, "selector": {"matchLabels": {"foo": "bar"}}}),
                json!({}),
            ),
        )
        .unwrap();
    }
    let healthy = |c: &Cluster, name: &str| c.pdb(&key(name)).unwrap().status.current_healthy;
    assert_eq!(
        (healthy(&c, "pdb-a"), healthy(&c, "pdb-b")),
        (1, 1),
        "both synced as they were created"
    );
    let warnings = |c: &Cluster| -> Vec<String> {
        c.events()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Recorded {
                    reason: "MultiplePodDisruptionBudgets",
                    message,
                    ..
                } => Some(message.clone()),
                _ => None,
            })
            .collect()
    };
    assert!(warnings(&c).is_empty(), "no pod event yet under two PDBs");
    set_ready(&mut c, "p0", false);
    assert_eq!(
        (healthy(&c, "pdb-a"), healthy(&c, "pdb-b")),
        (0, 1),
        "only the first PDB by name re-syncs on a pod event"
    );
    assert_eq!(
        warnings(&c),
        [
            r#"Pod "default"/"p0" matches multiple PodDisruptionBudgets.  Chose "pdb-a" arbitrarily."#
        ]
    );
    c.delete::<Pod>(
        t0(),
        &key("p0"),
        &evictsim::model::DeleteOptions {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(warnings(&c).len() >= 2, "a delete warns too");
}

/// C3 on writes that change nothing a budget counts (an annotation, a condition other
/// than `Ready`): the PDBs found selecting the pod are the ones filed at the write, however
/// many were filed or forgotten since the pod's last write, so the warning for a pod under
/// two PDBs comes and goes with the second one.
#[test]
fn a_pod_write_finds_the_pdbs_filed_since_its_last_write_c3() {
    let mut c = cluster(true);
    c.load(t0(), foo_pod("p0", true)).unwrap();
    let selecting_foo = || json!({"minAvailable": 0, "selector": {"matchLabels": {"foo": "bar"}}});
    c.load(t0(), pdb("pdb-a", selecting_foo(), json!({})))
        .unwrap();
    let touch = |c: &mut Cluster, n: usize| {
        let mut p = c.pod(&key("p0")).unwrap().clone();
        p.metadata
            .annotations
            .insert("touched".into(), n.to_string());
        c.update(t0(), p, Subresource::Main, false).unwrap();
        let mut p = c.pod(&key("p0")).unwrap().clone();
        p.status.conditions.push(evictsim::model::PodCondition {
            type_: format!("Custom{n}").into(),
            status: "True".into(),
            ..Default::default()
        });
        c.update(t0(), p, Subresource::Status, false).unwrap();
    };
    let warned = |c: &Cluster| {
        c.events()
            .iter()
            .filter(|e| {
                matches!(
                    &e.kind,
                    EventKind::Recorded {
                        reason: "MultiplePodDisruptionBudgets",
                        ..
                    }
                )
            })
            .count()
    };
    touch(&mut c, 1);
    assert_eq!(warned(&c), 0, "one PDB");
    c.load(t0(), pdb("pdb-b", selecting_foo(), json!({})))
        .unwrap();
    touch(&mut c, 2);
    assert_eq!(warned(&c), 2, "two PDBs: each write warns");
    c.delete::<evictsim::model::PodDisruptionBudget>(t0(), &key("pdb-a"), &Default::default())
        .unwrap();
    touch(&mut c, 3);
    assert_eq!(warned(&c), 2, "one PDB again");
}

/// E24 and C2: an eviction whose pod write then fails (a UID precondition the pod does not
/// meet, E30) leaves the budget decremented, with the pod in `disruptedPods`; that update
/// of the budget re-syncs it (C2), which counts the pod as disrupted and arms the recheck of
/// the entry's expiry (C13), so that two minutes on, the pod never deleted counts healthy
/// again and a disruption is allowed.
#[test]
fn a_budget_decremented_by_a_failed_eviction_is_resynced_c2_e24() {
    let mut c = cluster(true);
    let at = SimTime::from_secs(600);
    for name in ["p1", "p2", "p3"] {
        c.load(at, foo_pod(name, true)).unwrap();
    }
    c.load(at, foobar_pdb(json!({"minAvailable": 2}))).unwrap();
    assert_eq!(ps(&c), (1, 3, 2, 3, none()));
    let wrong_uid = eviction(
        "p1",
        json!({"preconditions": {"uid": "00000000-0000-4000-8000-000000000000"}}),
    );
    let refused = c.evict(at, NS, "p1", wrong_uid, &[]).unwrap_err();
    assert_eq!(refused.code(), 409);
    assert!(c.pod(&key("p1")).is_some_and(|p| !p.is_terminating()));
    // The handler wrote disruptionsAllowed 0 and the entry; the re-sync counts p1 out.
    assert_eq!(ps(&c), (0, 2, 2, 3, vec!["p1".to_string()]));
    // The entry expires two minutes after it was made; the recheck comes at the first
    // whole second past that.
    c.advance_to(SimTime::from_secs(720));
    assert_eq!(ps(&c), (0, 2, 2, 3, vec!["p1".to_string()]));
    c.advance_to(SimTime::from_secs(721));
    assert_eq!(ps(&c), (1, 3, 2, 3, none()));
}

/// An eviction of `name` with no options: `Ok` when admitted, else the status code.
fn evict_code(c: &mut Cluster, name: &str) -> Result<(), u16> {
    c.evict(t0(), NS, name, eviction(name, Value::Null), &[])
        .map(|_| ())
        .map_err(|e| e.code())
}

/// Updates the stored `foobar` budget with its spec's `field` set to `value` (a PUT of the
/// budget as read, the selector kept).
fn update_foobar_spec(c: &mut Cluster, field: &str, value: Value) {
    let mut updated = serde_json::to_value(c.pdb(&key("foobar")).unwrap()).unwrap();
    updated["spec"][field] = value;
    c.update(
        t0(),
        serde_json::from_value::<evictsim::model::PodDisruptionBudget>(updated).unwrap(),
        Subresource::Main,
        false,
    )
    .unwrap();
}

/// E13 on attempts one after another: each eviction finds the budgets that select the pod
/// as they are at its request, however many attempts on pods with the same labels came
/// before it — after the budget's spec is updated with its selector kept, after an earlier
/// eviction wrote its status, and after it is deleted.
#[test]
fn each_eviction_finds_the_budgets_as_they_are_e13() {
    let mut c = cluster(true);
    for name in ["p1", "p2", "p3", "p4"] {
        c.load(t0(), foo_pod(name, true)).unwrap();
    }
    c.load(t0(), foobar_pdb(json!({"minAvailable": 4})))
        .unwrap();
    assert_eq!(evict_code(&mut c, "p1"), Err(429));
    assert_eq!(
        evict_code(&mut c, "p2"),
        Err(429),
        "the same labels, the same budget"
    );
    update_foobar_spec(&mut c, "minAvailable", json!(3));
    assert_eq!(ps(&c), (1, 4, 3, 4, none()));
    assert_eq!(
        evict_code(&mut c, "p1"),
        Ok(()),
        "the budget as updated allows one"
    );
    assert_eq!(
        evict_code(&mut c, "p2"),
        Err(429),
        "the status the admitted eviction wrote allows none"
    );
    c.delete::<evictsim::model::PodDisruptionBudget>(t0(), &key("foobar"), &Default::default())
        .unwrap();
    assert_eq!(
        evict_code(&mut c, "p2"),
        Ok(()),
        "no budget: the pod is evicted"
    );
}

/// E16 and E13 with no controller to write the status: an eviction refused under a
/// budget's default policy for unhealthy pods is admitted by the next request once the
/// budget's spec says `AlwaysAllow` — the budget read is the one stored at the request,
/// though the pods' labels and the budget's selector did not change in between.
#[test]
fn an_eviction_reads_the_budget_as_updated_e16() {
    let mut c = cluster(false);
    c.load(t0(), foo_pod("p1", false)).unwrap();
    for name in ["p2", "p3", "p4"] {
        c.load(t0(), foo_pod(name, true)).unwrap();
    }
    let status = json!({"disruptionsAllowed": 0, "currentHealthy": 3, "desiredHealthy": 4, "expectedPods": 4});
    c.load(
        t0(),
        pdb(
            "foobar",
            json!({"minAvailable": 4, "selector": {"matchLabels": {"foo": "bar"}}}),
            status,
        ),
    )
    .unwrap();
    assert_eq!(evict_code(&mut c, "p2"), Err(429));
    assert_eq!(
        evict_code(&mut c, "p1"),
        Err(429),
        "unhealthy, and the budget short"
    );
    update_foobar_spec(&mut c, "unhealthyPodEvictionPolicy", json!("AlwaysAllow"));
    assert_eq!(
        evict_code(&mut c, "p1"),
        Ok(()),
        "AlwaysAllow lets the unhealthy pod go"
    );
}
