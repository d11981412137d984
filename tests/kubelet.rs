//! The kubelet side of graceful deletion: rules K1–K5, container behaviour annotations, dead
//! nodes, and the re-armed kill.

mod common;

use common::*;
use evictsim::cluster::{Cluster, ClusterConfig, Controllers, EventKind, Latencies, Subresource};
use evictsim::model::{DeleteOptions, Node, Pod};
use evictsim::time::SimTime;
use serde_json::{Value, json};

fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

fn running_pod(name: &str, grace: i64, annotations: Value, finalizers: &[&str]) -> Pod {
    let mut p = pod(
        name,
        json!({"app": "web"}),
        json!({"nodeName": "node-1", "terminationGracePeriodSeconds": grace, "containers": [{"name": "a"}, {"name": "b"}]}),
        json!({"phase": "Running", "conditions": ready()}),
    );
    p.metadata.annotations = serde_json::from_value(annotations).unwrap();
    p.metadata.finalizers = finalizers.iter().map(|f| f.to_string()).collect();
    p
}

fn node(name: &str, ready_now: bool) -> Node {
    serde_json::from_value(json!({"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": if ready_now { "True" } else { "False" }}]}})).unwrap()
}

fn delete(c: &mut Cluster, at: SimTime, name: &str, grace: Option<i64>) {
    c.delete::<Pod>(
        at,
        &key(name),
        &DeleteOptions {
            grace_period_seconds: grace,
            ..Default::default()
        },
    )
    .unwrap();
}

/// The virtual time at which `name` was removed from storage, if it was by `until`.
fn removed_at(c: &mut Cluster, name: &str, until: SimTime) -> Option<SimTime> {
    c.advance_to(until);
    c.events().iter().find_map(|e| match &e.kind {
        EventKind::ObjectWritten {
            verb: evictsim::cluster::WriteVerb::Deleted,
            kind: "Pod",
            key: k,
            ..
        } if k.name == name.into() => Some(e.at),
        _ => None,
    })
}

fn has_event(c: &Cluster, pred: impl Fn(&EventKind) -> bool) -> bool {
    c.events().iter().any(|e| pred(&e.kind))
}

#[test]
fn containers_exit_after_sigterm_and_the_pod_is_removed_k4_k5() {
    let mut c = full_cluster();
    c.load(
        t0(),
        running_pod("p", 30, json!({"evictsim.io/shutdown-seconds": "4"}), &[]),
    )
    .unwrap();
    delete(&mut c, t0(), "p", None);
    assert!(has_event(&c, |k| matches!(
        k,
        EventKind::KubeletNoticedDeletion {
            grace_period_seconds: 30,
            ..
        }
    )));
    assert_eq!(removed_at(&mut c, "p", secs(60)), Some(secs(4)));
    assert!(has_event(&c, |k| matches!(
        k,
        EventKind::ContainersExited { exit_code: 0, .. }
    )));
    assert!(has_event(
        &c,
        |k| matches!(k, EventKind::PodTerminated { phase, .. } if phase == "Succeeded")
    ));
}

#[test]
fn sigkill_comes_at_the_deadline_k3() {
    let mut c = full_cluster();
    c.load(
        t0(),
        running_pod(
            "p",
            30,
            json!({"evictsim.io/shutdown-seconds": "never"}),
            &[],
        ),
    )
    .unwrap();
    delete(&mut c, t0(), "p", None);
    assert_eq!(removed_at(&mut c, "p", secs(29)), None);
    assert_eq!(removed_at(&mut c, "p", secs(60)), Some(secs(30)));
    assert!(has_event(&c, |k| matches!(
        k,
        EventKind::ContainersKilled { .. }
    )));
}

#[test]
fn prestop_runs_first_and_is_bounded_by_the_grace_period_k3() {
    let mut c = full_cluster();
    c.load(
        t0(),
        running_pod(
            "p",
            30,
            json!({"evictsim.io/prestop-seconds": "5", "evictsim.io/shutdown-seconds": "1"}),
            &[],
        ),
    )
    .unwrap();
    delete(&mut c, t0(), "p", None);
    assert_eq!(removed_at(&mut c, "p", secs(60)), Some(secs(6)));
    assert!(has_event(&c, |k| matches!(
        k,
        EventKind::PreStopFinished { .. }
    )));

    // A preStop longer than the grace period is cut at it; the containers still get 2 s.
    let mut c = full_cluster();
    c.load(
        t0(),
        running_pod(
            "p",
            30,
            json!({"evictsim.io/prestop-seconds": "40", "evictsim.io/shutdown-seconds": "never"}),
            &[],
        ),
    )
    .unwrap();
    delete(&mut c, t0(), "p", None);
    assert_eq!(removed_at(&mut c, "p", secs(100)), Some(secs(32)));
}

#[test]
fn the_containers_get_at_least_two_seconds_k1_k3() {
    let mut c = full_cluster();
    c.load(
        t0(),
        running_pod(
            "p",
            30,
            json!({"evictsim.io/shutdown-seconds": "never"}),
            &[],
        ),
    )
    .unwrap();
    delete(&mut c, t0(), "p", Some(1));
    assert_eq!(removed_at(&mut c, "p", secs(10)), Some(secs(2)));
}

#[test]
fn a_shorter_grace_period_re_arms_the_kill_k1() {
    let mut c = full_cluster();
    c.load(
        t0(),
        running_pod(
            "p",
            60,
            json!({"evictsim.io/shutdown-seconds": "never"}),
            &[],
        ),
    )
    .unwrap();
    delete(&mut c, t0(), "p", None);
    c.advance_to(secs(10));
    // The kubelet restarts the kill with the shorter period from when it sees it.
    delete(&mut c, secs(10), "p", Some(20));
    assert!(has_event(&c, |k| matches!(
        k,
        EventKind::KillRearmed {
            grace_period_seconds: 20,
            ..
        }
    )));
    assert_eq!(removed_at(&mut c, "p", secs(100)), Some(secs(30)));
}

#[test]
fn shortening_into_the_past_clamps_to_one_second_then_the_two_second_floor_g9_k3() {
    let mut c = full_cluster();
    c.load(
        t0(),
        running_pod(
            "p",
            60,
            json!({"evictsim.io/shutdown-seconds": "never"}),
            &[],
        ),
    )
    .unwrap();
    delete(&mut c, t0(), "p", None);
    c.advance_to(secs(10));
    delete(&mut c, secs(10), "p", Some(5));
    assert_eq!(
        c.pod(&key("p"))
            .map(|p| p.metadata.deletion_grace_period_seconds),
        Some(Some(1))
    );
    assert_eq!(removed_at(&mut c, "p", secs(100)), Some(secs(12)));
}

fn terminal_status(annotations: Value, phase_now: &str) -> Pod {
    let mut c = full_cluster();
    let mut p = running_pod("p", 30, annotations, &["example.com/keep"]);
    p.status.phase = phase_now.into();
    p.status.conditions.push(serde_json::from_value(json!({"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI", "lastTransitionTime": "2025-01-01T00:00:00Z"})).unwrap());
    c.load(t0(), p).unwrap();
    delete(&mut c, t0(), "p", None);
    c.advance_to(secs(100));
    c.pod(&key("p")).expect("the finalizer keeps it").clone()
}

/// The pod's `containerStatuses`, which the kubelet has reported.
fn container_statuses(p: &Pod) -> Vec<Value> {
    match p.status.container_statuses.as_ref().map(|s| s.to_value()) {
        Some(Value::Array(statuses)) => statuses,
        _ => panic!("the kubelet reported containerStatuses"),
    }
}

fn exit_codes(p: &Pod) -> Vec<(i64, String)> {
    container_statuses(p)
        .iter()
        .map(|s| {
            (
                s["state"]["terminated"]["exitCode"].as_i64().unwrap(),
                s["state"]["terminated"]["reason"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn terminal_status_after_a_clean_exit_k4() {
    let p = terminal_status(json!({}), "Running");
    assert_eq!(p.status.phase, "Succeeded");
    assert_eq!(
        exit_codes(&p),
        vec![(0, "Completed".into()), (0, "Completed".into())]
    );
    assert_eq!(p.condition("Ready").unwrap().status, "False");
    assert_eq!(p.condition("ContainersReady").unwrap().status, "False");
    assert_eq!(
        p.condition("DisruptionTarget").unwrap().status,
        "True",
        "conditions the kubelet does not own are kept"
    );
    // K5 with finalizers: the kubelet's grace-0 delete leaves the object at grace 0.
    assert_eq!(p.metadata.deletion_grace_period_seconds, Some(0));
}

#[test]
fn terminal_status_after_an_error_exit_or_a_kill_k4() {
    let p = terminal_status(json!({"evictsim.io/exit-code": "3"}), "Running");
    assert_eq!(
        (p.status.phase.as_str(), exit_codes(&p)[0].0),
        ("Failed", 3)
    );
    let p = terminal_status(json!({"evictsim.io/shutdown-seconds": "never"}), "Running");
    assert_eq!(
        (p.status.phase.as_str(), exit_codes(&p)[0].0),
        ("Failed", 137)
    );
}

#[test]
fn containers_that_never_started_are_container_status_unknown_k4() {
    let p = terminal_status(json!({}), "Pending");
    assert_eq!(p.status.phase, "Failed");
    let status = &container_statuses(&p)[0]["state"]["terminated"];
    assert_eq!(status["reason"], "ContainerStatusUnknown");
    assert_eq!(
        status["message"],
        "The container could not be located when the pod was terminated"
    );
    assert_eq!(status["exitCode"], 137);
}

#[test]
fn clearing_the_finalizer_removes_the_terminated_pod_g11() {
    let mut c = full_cluster();
    c.load(t0(), running_pod("p", 30, json!({}), &["example.com/keep"]))
        .unwrap();
    delete(&mut c, t0(), "p", None);
    c.advance_to(secs(10));
    let mut p = c.pod(&key("p")).unwrap().clone();
    p.metadata.finalizers.clear();
    c.update(secs(10), p, Subresource::Main, false).unwrap();
    assert!(c.pod(&key("p")).is_none());
}

#[test]
fn a_dead_kubelet_leaves_the_pod_terminating_until_the_node_recovers() {
    let mut c = full_cluster();
    c.load(t0(), node("node-1", false)).unwrap();
    c.load(t0(), running_pod("p", 30, json!({}), &[])).unwrap();
    delete(&mut c, t0(), "p", None);
    assert_eq!(
        removed_at(&mut c, "p", secs(3600)),
        None,
        "nothing progresses on a dead node"
    );
    assert!(c.pod(&key("p")).unwrap().is_terminating());
    let mut recovered = c
        .get::<Node>(&evictsim::model::ObjectKey::new("", "node-1"))
        .unwrap()
        .clone();
    recovered.status =
        serde_json::from_value(json!({"conditions": [{"type": "Ready", "status": "True"}]}))
            .unwrap();
    c.update(secs(3600), recovered, Subresource::Status, false)
        .unwrap();
    assert_eq!(removed_at(&mut c, "p", secs(4000)), Some(secs(3601)));
}

#[test]
fn force_delete_removes_the_pod_from_a_dead_node_g14() {
    let mut c = full_cluster();
    c.load(t0(), node("node-1", false)).unwrap();
    c.load(t0(), running_pod("p", 30, json!({}), &[])).unwrap();
    delete(&mut c, t0(), "p", None);
    delete(&mut c, secs(60), "p", Some(0));
    assert!(c.pod(&key("p")).is_none());
}

#[test]
fn pending_pods_start_on_their_node() {
    let mut c = full_cluster();
    let pending = |name: &str, annotations: Value| {
        let mut p = pod(
            name,
            json!({}),
            json!({"nodeName": "node-1"}),
            json!({"phase": "Pending"}),
        );
        p.metadata.annotations = serde_json::from_value(annotations).unwrap();
        p
    };
    c.load(
        t0(),
        pending("ok", json!({"evictsim.io/startup-seconds": "3"})),
    )
    .unwrap();
    c.load(
        t0(),
        pending("stuck", json!({"evictsim.io/never-ready": "true"})),
    )
    .unwrap();
    c.advance_to(secs(2));
    assert_eq!(c.pod(&key("ok")).unwrap().status.phase, "Pending");
    let stuck = c.pod(&key("stuck")).unwrap();
    assert_eq!(
        (stuck.status.phase.as_str(), stuck.is_ready()),
        ("Running", false)
    );
    c.advance_to(secs(3));
    let ok = c.pod(&key("ok")).unwrap();
    assert_eq!((ok.status.phase.as_str(), ok.is_ready()), ("Running", true));
    assert!(ok.status.pod_ip().unwrap().starts_with("10.244."));
    // A client's copy, decoded from the JSON it read, holds what the kubelet wrote
    // verbatim; written back unchanged it is the same object: no write, no event.
    let copy: Pod = serde_json::from_value(serde_json::to_value(ok).unwrap()).unwrap();
    assert_eq!(copy.status.pod_ip(), ok.status.pod_ip());
    let (version, events) = (ok.metadata.resource_version.clone(), c.event_count());
    for subresource in [Subresource::Main, Subresource::Status] {
        let written = c.update(secs(3), copy.clone(), subresource, false).unwrap();
        assert_eq!(written.metadata.resource_version, version);
    }
    assert_eq!(c.event_count(), events);
}

#[test]
fn the_kubelet_can_be_switched_off() {
    let mut c = Cluster::new(ClusterConfig {
        controllers: Controllers {
            kubelet: false,
            ..Controllers::default()
        },
        ..ClusterConfig::default()
    });
    c.load(t0(), running_pod("p", 30, json!({}), &[])).unwrap();
    delete(&mut c, t0(), "p", None);
    assert_eq!(removed_at(&mut c, "p", secs(3600)), None);
}

#[test]
fn kubelet_latency_delays_every_step() {
    let mut c = Cluster::new(ClusterConfig {
        latencies: Latencies {
            kubelet_observe: std::time::Duration::from_secs(2),
            ..Latencies::default()
        },
        ..ClusterConfig::default()
    });
    c.load(
        t0(),
        running_pod("p", 30, json!({"evictsim.io/shutdown-seconds": "1"}), &[]),
    )
    .unwrap();
    delete(&mut c, t0(), "p", None);
    assert!(!has_event(&c, |k| matches!(
        k,
        EventKind::KubeletNoticedDeletion { .. }
    )));
    assert_eq!(removed_at(&mut c, "p", secs(60)), Some(secs(3)));
}

#[test]
fn invalid_behaviour_annotations_are_rejected_at_create() {
    let mut c = full_cluster();
    let err = c
        .load(
            t0(),
            running_pod(
                "p",
                30,
                json!({"evictsim.io/shutdown-seconds": "soon"}),
                &[],
            ),
        )
        .unwrap_err();
    assert_eq!(err.code(), 422);
    assert!(
        err.to_string()
            .contains("metadata.annotations[evictsim.io/shutdown-seconds]"),
        "{err}"
    );
}

/// Pods that start or stop in the same second get the statuses of their own containers and
/// their own readiness and exit, whatever the kubelets reported for the pod before them.
#[test]
fn container_statuses_are_each_pods_own_in_a_busy_second_k4() {
    let mut c = full_cluster();
    let spec_ab = json!({"nodeName": "node-1", "terminationGracePeriodSeconds": 5, "containers": [{"name": "a"}, {"name": "b"}]});
    let spec_c = json!({"nodeName": "node-1", "terminationGracePeriodSeconds": 5, "containers": [{"name": "c"}]});
    let starting = |name: &str, spec: &Value, annotations: Value| {
        let mut p = pod(name, json!({}), spec.clone(), json!({"phase": "Pending"}));
        p.metadata.annotations = serde_json::from_value(annotations).unwrap();
        p
    };
    c.defer_reactions();
    for (name, spec, annotations) in [
        ("ab-1", &spec_ab, json!({})),
        ("c-1", &spec_c, json!({})),
        (
            "ab-never-ready",
            &spec_ab,
            json!({"evictsim.io/never-ready": "true"}),
        ),
        ("ab-2", &spec_ab, json!({"evictsim.io/exit-code": "3"})),
    ] {
        c.load(t0(), starting(name, spec, annotations)).unwrap();
    }
    c.resume_reactions(t0());
    c.advance_to(secs(10));
    let statuses = |c: &Cluster, name: &str| -> Vec<(String, bool, String)> {
        container_statuses(c.pod(&key(name)).unwrap())
            .iter()
            .map(|s| {
                let state = s["state"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .next()
                    .unwrap()
                    .clone();
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["ready"].as_bool().unwrap(),
                    state,
                )
            })
            .collect()
    };
    let running = |n: &str, ready: bool| (n.to_string(), ready, "running".to_string());
    assert_eq!(
        statuses(&c, "ab-1"),
        vec![running("a", true), running("b", true)]
    );
    assert_eq!(statuses(&c, "c-1"), vec![running("c", true)]);
    assert_eq!(
        statuses(&c, "ab-never-ready"),
        vec![running("a", false), running("b", false)]
    );
    assert_eq!(
        statuses(&c, "ab-2"),
        vec![running("a", true), running("b", true)]
    );

    // All four stop in one second; finalizers keep the objects to look at.
    for name in ["ab-1", "c-1", "ab-never-ready", "ab-2"] {
        let mut p = c.pod(&key(name)).unwrap().clone();
        p.metadata.finalizers = vec!["example.com/keep".into()];
        c.update(secs(10), p, Subresource::Main, false).unwrap();
        // A status field the kubelet does not own, after containerStatuses: it keeps its place.
        let mut p = c.pod(&key(name)).unwrap().clone();
        p.status
            .unmodeled
            .insert("qosClass".into(), json!("BestEffort"));
        c.update(secs(10), p, Subresource::Status, false).unwrap();
    }
    for name in ["ab-1", "c-1", "ab-never-ready", "ab-2"] {
        delete(&mut c, secs(20), name, Some(1));
    }
    c.advance_to(secs(40));
    let terminated = |name: &str| -> Vec<(String, i64)> {
        container_statuses(c.pod(&key(name)).unwrap())
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["state"]["terminated"]["exitCode"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(terminated("ab-1"), vec![("a".into(), 0), ("b".into(), 0)]);
    assert_eq!(terminated("c-1"), vec![("c".into(), 0)]);
    assert_eq!(terminated("ab-2"), vec![("a".into(), 3), ("b".into(), 3)]);
    let status = serde_json::to_value(&c.pod(&key("ab-1")).unwrap().status).unwrap();
    let fields: Vec<&String> = status.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "phase",
            "conditions",
            "podIP",
            "podIPs",
            "startTime",
            "containerStatuses",
            "qosClass"
        ],
        "the kubelet's new statuses are written in their upstream place"
    );
}
