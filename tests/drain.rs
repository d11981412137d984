//! The library's kubectl drain against kubectl's measured behaviour (the D rules of
//! `docs/rules.md`, kubectl's output as captured against a fake server) and upstream's
//! drain test tables (`kubectl/pkg/cmd/drain/drain_test.go` `TestDrain`).

use std::time::Duration;

use evictsim::cluster::Cluster;
use evictsim::drain::{DrainOptions, DrainRun, DryRun, Ending, PodFate, drain};
use evictsim::model::{ObjectKey, Pod};
use evictsim::time::SimTime;
use serde_json::{Value, json};

mod common;
use common::merge;

fn node(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
}

fn owner(kind: &str, name: &str) -> Value {
    let api = match kind {
        "ReplicationController" | "Job" => {
            if kind == "Job" {
                "batch/v1"
            } else {
                "v1"
            }
        }
        _ => "apps/v1",
    };
    json!([{"apiVersion": api, "kind": kind, "name": name, "uid": format!("{name}-uid"), "controller": true}])
}

/// A Running, Ready pod on `node`.
fn pod(namespace: &str, name: &str, node: &str, extra: Value) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "web"}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    });
    merge(&mut pod, extra);
    pod
}

fn pdb(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    merge(
        &mut spec,
        json!({"selector": {"matchLabels": {"app": "web"}}}),
    );
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

fn cluster(settings: Value, objects: Vec<Value>) -> Cluster {
    let mut document = settings;
    merge(&mut document, json!({"objects": objects}));
    let mut cluster = Cluster::from_yaml(&serde_json::to_string(&document).unwrap()).unwrap();
    cluster.advance_to(SimTime::from_secs(1));
    cluster
}

fn run(cluster: &mut Cluster, nodes: &[&str], options: &DrainOptions) -> DrainRun {
    let nodes: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
    drain(cluster, &nodes, options).unwrap()
}

fn with(f: impl FnOnce(&mut DrainOptions)) -> DrainOptions {
    let mut options = DrainOptions::default();
    f(&mut options);
    options
}

/// The times of the lines, in seconds since the drain started.
fn at(run: &DrainRun, text: &str) -> Vec<f64> {
    run.lines
        .iter()
        .filter(|l| l.text == text)
        .map(|l| l.at.saturating_duration_since(run.started).as_secs_f64())
        .collect()
}

#[test]
fn d_happy_path_prints_kubectls_four_lines() {
    let mut c = cluster(
        json!({}),
        vec![
            node("node-1"),
            node("node-2"),
            pod(
                "default",
                "web-abc",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web")}}),
            ),
        ],
    );
    let r = run(&mut c, &["node-1"], &DrainOptions::default());
    assert_eq!(
        r.stdout(),
        [
            "node/node-1 cordoned",
            "evicting pod default/web-abc",
            "pod/web-abc evicted",
            "node/node-1 drained"
        ]
    );
    assert!(r.stderr().is_empty(), "{:?}", r.stderr());
    assert_eq!(r.ending, Ending::Drained);
    assert_eq!(r.exit_code(), 0);
    // Default behaviour: SIGTERM at once, exit after 1 s; kubectl polls every second.
    assert_eq!(at(&r, "pod/web-abc evicted"), [1.0]);
    assert!(
        c.get::<evictsim::model::Node>(&ObjectKey::new("", "node-1"))
            .unwrap()
            .spec
            .unschedulable
    );
    // Already cordoned: no PATCH, kubectl says so.
    let r = run(&mut c, &["node-1"], &DrainOptions::default());
    assert_eq!(
        r.stdout(),
        ["node/node-1 already cordoned", "node/node-1 drained"]
    );
}

#[test]
fn d8_429_retries_every_5s_until_the_global_timeout() {
    let mut c = cluster(
        json!({}),
        vec![
            node("node-1"),
            pod(
                "default",
                "web",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web")}}),
            ),
            pdb("web-pdb", json!({"minAvailable": 1})),
        ],
    );
    let r = run(
        &mut c,
        &["node-1"],
        &with(|o| o.timeout = Duration::from_secs(20)),
    );
    assert_eq!(
        at(&r, "evicting pod default/web"),
        [0.0, 5.0, 10.0, 15.0, 20.0]
    );
    let retry = "error when evicting pods/\"web\" -n \"default\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.";
    assert_eq!(at(&r, retry), [0.0, 5.0, 10.0, 15.0]);
    let error = "error when evicting pods/\"web\" -n \"default\": global timeout reached: 20s";
    let tail: Vec<String> = r.stderr().into_iter().skip(4).collect();
    assert_eq!(
        tail,
        [
            format!("There are pending pods in node \"node-1\" when an error occurred: {error}"),
            "pod/web".to_string(),
            format!(
                "error: unable to drain node \"node-1\" due to error: {error}, continuing command..."
            ),
            "There are pending nodes to be drained:".to_string(),
            " node-1".to_string(),
            error.to_string(),
        ]
    );
    assert_eq!(r.ending, Ending::Failed);
    assert_eq!(r.exit_code(), 1);
    assert_eq!(r.duration(), Duration::from_secs(20));
}

#[test]
fn d8_429_twice_then_admitted_when_the_budget_recovers() {
    // A second replica becomes Ready at +8 s (startup 8 s from +0), so the third attempt (+10 s) passes.
    let mut c = cluster(
        json!({}),
        vec![
            node("node-1"),
            node("node-2"),
            pod(
                "default",
                "web-a",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web")}}),
            ),
            pdb("web-pdb", json!({"minAvailable": 1})),
        ],
    );
    let late: Pod = serde_json::from_value(pod("default", "web-b", "node-2", json!({
        "metadata": {"annotations": {"evictsim.io/startup-seconds": "8"}, "ownerReferences": owner("ReplicaSet", "web")},
        "status": {"phase": "Pending", "conditions": []}
    })))
    .unwrap();
    let now = c.now();
    c.create(now, late, false).unwrap();
    let r = run(&mut c, &["node-1"], &DrainOptions::default());
    assert_eq!(at(&r, "evicting pod default/web-a"), [0.0, 5.0, 10.0]);
    assert_eq!(r.stdout().last().unwrap(), "node/node-1 drained");
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn d8_a_500_for_two_budgets_fails_the_pod_at_once() {
    let mut c = cluster(
        json!({}),
        vec![
            node("node-1"),
            pod(
                "default",
                "web",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web")}}),
            ),
            pdb("a", json!({"minAvailable": 0})),
            pdb("b", json!({"minAvailable": 0})),
        ],
    );
    let r = run(
        &mut c,
        &["node-1"],
        &with(|o| o.timeout = Duration::from_secs(20)),
    );
    let error = "error when evicting pods/\"web\" -n \"default\": This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";
    assert_eq!(
        r.stdout(),
        ["node/node-1 cordoned", "evicting pod default/web"]
    );
    assert_eq!(
        r.stderr(),
        [
            format!("There are pending pods in node \"node-1\" when an error occurred: {error}"),
            "pod/web".to_string(),
            format!(
                "error: unable to drain node \"node-1\" due to error: {error}, continuing command..."
            ),
            "There are pending nodes to be drained:".to_string(),
            " node-1".to_string(),
            error.to_string(),
        ]
    );
    assert_eq!(r.duration(), Duration::ZERO);
}

/// kubectl.md's pod mix: an RS pod, a StatefulSet pod, a DaemonSet pod, a mirror pod, a bare
/// pod and an RS pod with an emptyDir.
fn mix() -> Cluster {
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system", "uid": "agent-uid"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "a"}]}}}});
    // As measured: kubectl 1.32 (≤ 1.35 doubles the unreplicated error's prefix).
    cluster(
        json!({"kubernetesVersion": "1.32", "controllers": {"workloads": false}}),
        vec![
            node("node-1"),
            node("node-2"),
            ds,
            pod(
                "default",
                "web-5d8f7c9b6-abcde",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web-5d8f7c9b6")}}),
            ),
            pod(
                "default",
                "db-0",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("StatefulSet", "db")}}),
            ),
            pod(
                "kube-system",
                "agent-x7k2p",
                "node-1",
                json!({"metadata": {"labels": {"app": "agent"}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "agent-uid", "controller": true}]}}),
            ),
            pod(
                "kube-system",
                "kube-proxy-node-1",
                "node-1",
                json!({"metadata": {"annotations": {"kubernetes.io/config.mirror": "abc"}, "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n1", "controller": true}]}}),
            ),
            pod("default", "bare", "node-1", json!({})),
            pod(
                "default",
                "cache-5d8f7c9b6-zzzzz",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "cache-5d8f7c9b6")}, "spec": {"volumes": [{"name": "scratch", "emptyDir": {}}]}}),
            ),
        ],
    )
}

#[test]
fn d4_filter_errors_abort_the_node_before_any_eviction() {
    let mut c = mix();
    let r = run(&mut c, &["node-1"], &DrainOptions::default());
    let errors = [
        "cannot delete cannot delete Pods that declare no controller (use --force to override): default/bare",
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache-5d8f7c9b6-zzzzz",
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/agent-x7k2p",
    ];
    assert_eq!(r.stdout(), ["node/node-1 cordoned"]);
    let mut want = vec![
        format!(
            "error: unable to drain node \"node-1\" due to error: [{}], continuing command...",
            errors.join(", ")
        ),
        "There are pending nodes to be drained:".to_string(),
        " node-1".to_string(),
    ];
    want.extend(errors.iter().map(|e| e.to_string()));
    assert_eq!(r.stderr(), want);
    assert_eq!(
        c.list::<Pod>().filter(|p| p.is_terminating()).count(),
        0,
        "nothing evicted"
    );

    let r = run(
        &mut mix(),
        &["node-1"],
        &with(|o| {
            o.ignore_daemonsets = true;
            o.delete_emptydir_data = true;
        }),
    );
    assert_eq!(r.nodes[0].errors, [errors[0]]);
}

#[test]
fn d4_force_evicts_the_rest_and_warns_once() {
    let mut c = mix();
    let r = run(
        &mut c,
        &["node-1"],
        &with(|o| {
            o.ignore_daemonsets = true;
            o.delete_emptydir_data = true;
            o.force = true;
        }),
    );
    assert_eq!(
        r.stderr(),
        [
            "Warning: deleting Pods that declare no controller: default/bare; ignoring DaemonSet-managed Pods: kube-system/agent-x7k2p"
        ]
    );
    let evicting: Vec<String> = r
        .stdout()
        .into_iter()
        .filter(|l| l.starts_with("evicting"))
        .collect();
    assert_eq!(
        evicting,
        [
            "evicting pod default/bare",
            "evicting pod default/cache-5d8f7c9b6-zzzzz",
            "evicting pod default/db-0",
            "evicting pod default/web-5d8f7c9b6-abcde"
        ]
    );
    assert!(
        !r.stdout().iter().any(|l| l.contains("kube-proxy")),
        "the mirror pod is never mentioned"
    );
    assert_eq!(r.exit_code(), 0);
    let fates: Vec<(String, PodFate)> = r.nodes[0]
        .pods
        .iter()
        .map(|p| (p.pod.name.to_string(), p.fate.clone()))
        .collect();
    assert!(
        fates.iter().all(|(_, f)| *f == PodFate::Evicted),
        "{fates:?}"
    );
}

#[test]
fn d4_a_missing_daemonset_is_an_error_or_with_force_a_silent_eviction() {
    let objects = || {
        vec![
            node("node-1"),
            pod(
                "kube-system",
                "ghost-ds-pod",
                "node-1",
                json!({"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ghost", "uid": "g", "controller": true}]}}),
            ),
        ]
    };
    let r = run(
        &mut cluster(json!({"controllers": {"workloads": false}}), objects()),
        &["node-1"],
        &DrainOptions::default(),
    );
    assert_eq!(
        r.nodes[0].errors,
        ["cannot delete daemonsets.apps \"ghost\" not found: kube-system/ghost-ds-pod"]
    );
    let r = run(
        &mut cluster(json!({"controllers": {"workloads": false}}), objects()),
        &["node-1"],
        &with(|o| o.force = true),
    );
    assert!(
        r.stderr().is_empty(),
        "the warning is overwritten by the later filters: {:?}",
        r.stderr()
    );
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn d12_disable_eviction_deletes_and_bypasses_the_budget() {
    let mut c = cluster(
        json!({}),
        vec![
            node("node-1"),
            pod(
                "default",
                "web",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web")}}),
            ),
            pdb("web-pdb", json!({"minAvailable": 1})),
        ],
    );
    let r = run(&mut c, &["node-1"], &with(|o| o.disable_eviction = true));
    assert_eq!(
        r.stdout(),
        [
            "node/node-1 cordoned",
            "pod/web deleted",
            "node/node-1 drained"
        ]
    );
    assert_eq!(
        c.budget_violations().len(),
        1,
        "a DELETE is not guarded, and is recorded"
    );
}

#[test]
fn d7_grace_period_goes_into_the_eviction() {
    let mut c = cluster(
        json!({}),
        vec![
            node("node-1"),
            pod(
                "default",
                "web",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web"), "annotations": {"evictsim.io/shutdown-seconds": "never"}}, "spec": {"terminationGracePeriodSeconds": 60}}),
            ),
        ],
    );
    let r = run(&mut c, &["node-1"], &with(|o| o.grace_period = 5));
    // SIGKILL at the 5 s deadline instead of 60 s.
    assert_eq!(at(&r, "pod/web evicted"), [5.0]);
}

#[test]
fn d5_d9_dry_runs_change_nothing() {
    let objects = || {
        vec![
            node("node-1"),
            pod(
                "default",
                "web",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web")}}),
            ),
        ]
    };
    let mut c = cluster(json!({}), objects());
    let r = run(&mut c, &["node-1"], &with(|o| o.dry_run = DryRun::Server));
    assert_eq!(
        r.stdout(),
        [
            "node/node-1 cordoned (server dry run)",
            "evicting pod default/web (server dry run)",
            "node/node-1 drained (server dry run)"
        ]
    );
    let mut c2 = cluster(json!({}), objects());
    let r = run(&mut c2, &["node-1"], &with(|o| o.dry_run = DryRun::Client));
    assert_eq!(
        r.stdout(),
        [
            "node/node-1 cordoned (dry run)",
            "evicting pod default/web (dry run)",
            "node/node-1 drained (dry run)"
        ]
    );
    for c in [&c, &c2] {
        assert!(
            !c.get::<evictsim::model::Node>(&ObjectKey::new("", "node-1"))
                .unwrap()
                .spec
                .unschedulable
        );
        assert!(
            !c.pod(&ObjectKey::new("default", "web"))
                .unwrap()
                .is_terminating()
        );
    }
}

#[test]
fn d10_the_wait_times_out_with_the_versions_text() {
    for (version, cause) in [
        ("1.31", "global timeout reached: 4s"),
        ("1.32", "context deadline exceeded"),
    ] {
        let mut c = cluster(
            json!({"kubernetesVersion": version}),
            vec![
                node("node-1"),
                pod(
                    "default",
                    "web",
                    "node-1",
                    json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web"), "annotations": {"evictsim.io/shutdown-seconds": "60"}}, "spec": {"terminationGracePeriodSeconds": 90}}),
                ),
            ],
        );
        let r = run(
            &mut c,
            &["node-1"],
            &with(|o| o.timeout = Duration::from_secs(4)),
        );
        let error = format!(
            "error when waiting for pod \"web\" in namespace \"default\" to terminate: {cause}"
        );
        assert_eq!(
            r.stderr()[0],
            format!("There are pending pods in node \"node-1\" when an error occurred: {error}"),
            "{version}"
        );
        assert_eq!(r.duration(), Duration::from_secs(4));
    }
}

#[test]
fn d4_version_deltas_unreplicated_prefix_and_the_daemonset_check() {
    for (version, prefix) in [
        ("1.35", "cannot delete cannot delete"),
        ("1.36", "cannot delete"),
    ] {
        let mut c = cluster(
            json!({"kubernetesVersion": version}),
            vec![node("node-1"), pod("default", "bare", "node-1", json!({}))],
        );
        let r = run(&mut c, &["node-1"], &DrainOptions::default());
        assert_eq!(
            r.nodes[0].errors,
            [format!(
                "{prefix} Pods that declare no controller (use --force to override): default/bare"
            )]
        );
    }
    // A DaemonSet owner of another group: a DaemonSet pod up to 1.33, an ordinary controlled pod from 1.34.
    let old_group = || {
        vec![
            node("node-1"),
            pod(
                "default",
                "legacy",
                "node-1",
                json!({"metadata": {"ownerReferences": [{"apiVersion": "extensions/v1beta1", "kind": "DaemonSet", "name": "gone", "uid": "u", "controller": true}]}}),
            ),
        ]
    };
    let r = run(
        &mut cluster(
            json!({"kubernetesVersion": "1.33", "controllers": {"workloads": false}}),
            old_group(),
        ),
        &["node-1"],
        &DrainOptions::default(),
    );
    assert_eq!(
        r.nodes[0].errors,
        ["cannot delete daemonsets.apps \"gone\" not found: default/legacy"]
    );
    let r = run(
        &mut cluster(
            json!({"kubernetesVersion": "1.34", "controllers": {"workloads": false}}),
            old_group(),
        ),
        &["node-1"],
        &DrainOptions::default(),
    );
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn d4_skip_wait_for_delete_timeout_skips_long_deleted_pods() {
    // A pod deleted on a node whose kubelet is gone stays Terminating; its deletionTimestamp
    // (deletion time + grace) is 70 s in the past 100 s later.
    let objects = || {
        let mut dead = node("node-1");
        dead["status"]["conditions"][0]["status"] = json!("Unknown");
        vec![
            dead,
            pod(
                "default",
                "web",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web")}}),
            ),
        ]
    };
    let mut c = cluster(json!({"controllers": {"workloads": false}}), objects());
    let now = c.now();
    c.delete::<Pod>(
        now,
        &ObjectKey::new("default", "web"),
        &evictsim::model::DeleteOptions::default(),
    )
    .unwrap();
    c.advance_by(Duration::from_secs(100));
    let mut copy = c.clone();
    let r = run(
        &mut c,
        &["node-1"],
        &with(|o| o.skip_wait_for_delete_timeout = 10),
    );
    assert_eq!(r.stdout(), ["node/node-1 cordoned", "node/node-1 drained"]);
    assert_eq!(r.nodes[0].left_alone.len(), 1);
    // Not yet older than the threshold (70 s is not more than 70 s): listed and evicted; a second later the wait skips it.
    let r = run(
        &mut copy,
        &["node-1"],
        &with(|o| o.skip_wait_for_delete_timeout = 70),
    );
    assert_eq!(
        r.stdout(),
        [
            "node/node-1 cordoned",
            "evicting pod default/web",
            "pod \"web\" has DeletionTimestamp older than 70 seconds, skipping",
            "node/node-1 drained"
        ]
    );
}

#[test]
fn d2_unknown_nodes_are_refused_before_any_cordon_and_nodes_drain_in_turn() {
    let mut c = cluster(
        json!({}),
        vec![node("node-1"), node("node-2"), node("node-3")],
    );
    let r = run(&mut c, &["node-1", "nope"], &DrainOptions::default());
    assert_eq!(
        r.ending,
        Ending::Refused("Error from server (NotFound): nodes \"nope\" not found".into())
    );
    assert!(
        !c.get::<evictsim::model::Node>(&ObjectKey::new("", "node-1"))
            .unwrap()
            .spec
            .unschedulable
    );
    let r = run(&mut c, &["node-1", "node-2"], &DrainOptions::default());
    assert_eq!(
        r.stdout(),
        [
            "node/node-1 cordoned",
            "node/node-2 cordoned",
            "node/node-1 drained",
            "node/node-2 drained"
        ]
    );
    assert!(matches!(
        drain(&mut c, &[], &DrainOptions::default()),
        Err(evictsim::drain::DrainError::NoNode)
    ));
    assert!(matches!(
        drain(
            &mut c,
            &["node-1".into()],
            &with(|o| o.pod_selector = "a in (".into())
        ),
        Err(evictsim::drain::DrainError::InvalidPodSelector(_))
    ));
}

#[test]
fn an_endless_drain_is_reported_once_nothing_can_change() {
    let mut c = cluster(
        json!({}),
        vec![
            node("node-1"),
            pod(
                "default",
                "web",
                "node-1",
                json!({"metadata": {"ownerReferences": owner("ReplicaSet", "web")}}),
            ),
            pdb("web-pdb", json!({"minAvailable": 1})),
        ],
    );
    let r = run(&mut c, &["node-1"], &DrainOptions::default());
    assert_eq!(
        r.ending,
        Ending::Endless {
            node: "node-1".into(),
            stuck: true
        }
    );
    assert!(
        r.duration() <= Duration::from_secs(15),
        "{:?}",
        r.duration()
    );
    assert_eq!(r.nodes[0].pods[0].fate, PodFate::Pending);
}

/// `TestDrain` (kubectl `pkg/cmd/drain/drain_test.go`): pod `bar` in `default` on node `node`,
/// each case with eviction and with the delete path. `Ok(true)`: the pod is evicted or deleted
/// and the node drained; `Ok(false)`: drained, the pod left alone; `Err(())`: fatal.
#[test]
fn upstream_test_drain_table() {
    let ds_owner = json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "uid": "ds-uid", "controller": true}]);
    let rc_owner = json!([{"apiVersion": "v1", "kind": "ReplicationController", "name": "rc", "uid": "rc-uid", "controller": true}]);
    let job_owner = json!([{"apiVersion": "v1", "kind": "Job", "name": "job", "uid": "job-uid", "controller": true}]);
    let rs_owner = json!([{"apiVersion": "v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-uid", "controller": true}]);
    let empty_dir = json!({"spec": {"volumes": [{"name": "scratch", "emptyDir": {}}]}});
    let succeeded = json!({"status": {"phase": "Succeeded"}});
    let failed = json!({"status": {"phase": "Failed"}});
    let owned = |o: &Value| json!({"metadata": {"ownerReferences": o}});
    let both = |a: Value, b: Value| {
        let mut a = a;
        merge(&mut a, b);
        a
    };
    type Case = (
        &'static str,
        Option<Value>,
        Vec<&'static str>,
        Result<bool, ()>,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "RC-managed pod",
            Some(owned(&rc_owner)),
            vec![],
            Ok(true),
            None,
        ),
        (
            "DS-managed pod",
            Some(owned(&ds_owner)),
            vec![],
            Err(()),
            None,
        ),
        (
            "DS-managed terminated pod",
            Some(both(owned(&ds_owner), succeeded.clone())),
            vec![],
            Ok(true),
            None,
        ),
        (
            "orphaned DS-managed pod",
            Some(json!({})),
            vec![],
            Err(()),
            None,
        ),
        (
            "orphaned DS-managed pod with --force",
            Some(json!({})),
            vec!["force"],
            Ok(true),
            Some("Warning: deleting Pods that declare no controller: default/bar"),
        ),
        (
            "DS-managed pod with --ignore-daemonsets",
            Some(owned(&ds_owner)),
            vec!["ignore-daemonsets"],
            Ok(false),
            None,
        ),
        (
            "DS-managed pod with emptyDir with --ignore-daemonsets",
            Some(both(owned(&ds_owner), empty_dir.clone())),
            vec!["ignore-daemonsets"],
            Ok(false),
            Some("Warning: ignoring DaemonSet-managed Pods: default/bar"),
        ),
        (
            "Job-managed pod with local storage",
            Some(both(owned(&job_owner), empty_dir.clone())),
            vec!["force", "delete-emptydir-data"],
            Ok(true),
            None,
        ),
        (
            "Job-managed terminated pod",
            Some(both(
                both(owned(&job_owner), empty_dir.clone()),
                succeeded.clone(),
            )),
            vec![],
            Ok(true),
            None,
        ),
        (
            "RS-managed pod",
            Some(owned(&rs_owner)),
            vec![],
            Ok(true),
            None,
        ),
        ("naked pod", Some(json!({})), vec![], Err(()), None),
        (
            "naked pod with --force",
            Some(json!({})),
            vec!["force"],
            Ok(true),
            None,
        ),
        (
            "pod with EmptyDir",
            Some(empty_dir.clone()),
            vec!["force"],
            Err(()),
            None,
        ),
        (
            "terminated pod with emptyDir",
            Some(both(empty_dir.clone(), failed)),
            vec![],
            Ok(true),
            None,
        ),
        (
            "pod with EmptyDir and --delete-emptydir-data",
            Some(empty_dir),
            vec!["force", "delete-emptydir-data"],
            Ok(true),
            None,
        ),
        ("empty node", None, vec![], Ok(false), None),
    ];
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "default", "uid": "ds-uid"},
        "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": {"metadata": {"labels": {"app": "ds"}}, "spec": {"containers": [{"name": "a", "image": "a"}]}}}});
    let mut failures = Vec::new();
    for delete_path in [false, true] {
        for (name, extra, flags, want, stderr) in &cases {
            let mut objects = vec![node("node"), node("other"), ds.clone()];
            if let Some(extra) = extra {
                objects.push(pod("default", "bar", "node", extra.clone()));
            }
            let mut c = cluster(json!({"controllers": {"workloads": false}}), objects);
            let options = with(|o| {
                o.force = flags.contains(&"force");
                o.ignore_daemonsets = flags.contains(&"ignore-daemonsets");
                o.delete_emptydir_data = flags.contains(&"delete-emptydir-data");
                o.disable_eviction = delete_path;
            });
            let r = run(&mut c, &["node"], &options);
            let acted: Vec<&PodFate> = r
                .nodes
                .iter()
                .flat_map(|n| n.pods.iter().map(|p| &p.fate))
                .collect();
            let got = if r.ending != Ending::Drained {
                Err(())
            } else {
                Ok(!acted.is_empty())
            };
            let drained_line = r.stdout().contains(&"node/node drained".to_string());
            let verb_ok = acted.iter().all(|f| {
                **f == if delete_path {
                    PodFate::Deleted
                } else {
                    PodFate::Evicted
                }
            });
            let stderr_ok =
                stderr.is_none_or(|s| r.stderr().first().map(String::as_str) == Some(s));
            if got != *want
                || drained_line != want.is_ok()
                || !verb_ok
                || !stderr_ok
                || acted.len() > 1
            {
                failures.push(format!("{name} (delete path: {delete_path}): want {want:?}, got {got:?}; stdout {:?}; stderr {:?}", r.stdout(), r.stderr()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `TestDeletePods` "Pod found with same name but different UID" (D10): a StatefulSet
/// recreates its pod under the same name, and the wait ends on the new UID.
#[test]
fn d10_a_pod_recreated_under_its_name_counts_as_gone() {
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default", "uid": "db-uid"},
        "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "db"}]}}}});
    let mut c = cluster(
        json!({}),
        vec![
            node("node-1"),
            node("node-2"),
            sts,
            pod(
                "default",
                "db-0",
                "node-1",
                json!({"metadata": {"labels": {"app": "db"}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "db-uid", "controller": true}]}}),
            ),
        ],
    );
    let before = c
        .pod(&ObjectKey::new("default", "db-0"))
        .unwrap()
        .metadata
        .uid
        .clone();
    let r = run(&mut c, &["node-1"], &DrainOptions::default());
    assert_eq!(
        r.stdout(),
        [
            "node/node-1 cordoned",
            "evicting pod default/db-0",
            "pod/db-0 evicted",
            "node/node-1 drained"
        ]
    );
    let after = c.pod(&ObjectKey::new("default", "db-0")).unwrap();
    assert_ne!(after.metadata.uid, before, "a new pod under the old name");
    assert_eq!(after.spec.node_name, "node-2");
}

/// `TestDeleteOrEvict` "eviction supported/enabled" (kubectl `pkg/drain/drain_test.go`): of
/// four pods, the two selected are evicted with `gracePeriodSeconds: 10`; the others remain.
/// Its "eviction supported/disabled" twin deletes them instead.
#[test]
fn upstream_delete_or_evict_two_of_four_pods() {
    for disable_eviction in [false, true] {
        let objects = || {
            let mut objects = vec![node("node-1")];
            for (i, app) in ["pick", "pick", "keep", "keep"].iter().enumerate() {
                objects.push(pod("default", &format!("pod-{i}"), "node-1", json!({"metadata": {"labels": {"app": app}, "ownerReferences": owner("ReplicaSet", app)}, "spec": {"terminationGracePeriodSeconds": 30}})));
            }
            objects
        };
        let mut c = cluster(
            json!({"controllers": {"workloads": false, "kubelet": false}}),
            objects(),
        );
        let r = run(
            &mut c,
            &["node-1"],
            &with(|o| {
                o.pod_selector = "app=pick".into();
                o.grace_period = 10;
                o.disable_eviction = disable_eviction;
                o.timeout = Duration::from_secs(3);
            }),
        );
        let acted: Vec<String> = r.nodes[0]
            .pods
            .iter()
            .map(|p| p.pod.name.to_string())
            .collect();
        assert_eq!(acted, ["pod-0", "pod-1"]);
        for name in ["pod-0", "pod-1"] {
            let p = c.pod(&ObjectKey::new("default", name)).unwrap();
            assert_eq!(p.metadata.deletion_grace_period_seconds, Some(10), "{name}");
            let disrupted = p
                .status
                .conditions
                .iter()
                .any(|c| c.type_ == "DisruptionTarget");
            assert_eq!(
                disrupted, !disable_eviction,
                "an eviction marks the pod, a DELETE does not"
            );
        }
        for name in ["pod-2", "pod-3"] {
            assert!(
                !c.pod(&ObjectKey::new("default", name))
                    .unwrap()
                    .is_terminating(),
                "{name}"
            );
        }
    }
}
