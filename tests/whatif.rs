//! "Will this node drain?": verdicts, diagnoses and verified remedies, table-driven over the
//! stuck stories (the examples', a real cluster's snapshot, and the causes one by one), with
//! golden reports. Regenerate the goldens after an intended change with
//! `UPDATE_GOLDEN=1 cargo test --test whatif`.

use std::path::Path;
use std::time::Duration;

use evictsim::cluster::Cluster;
use evictsim::drain::whatif::{Blocker, Cause, Plan, Pool, Report, what_if};
use serde_json::{Value, json};

const SHOP: &str = include_str!("fixtures/shop-snapshot.json");
const W1: &str = "ip-10-0-2-34.eu-west-1.compute.internal";
const W2: &str = "ip-10-0-3-56.eu-west-1.compute.internal";

fn load(text: &str) -> Cluster {
    Cluster::from_snapshot_or_scenario(text).unwrap().0
}

fn example(name: &str) -> Cluster {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    load(&std::fs::read_to_string(path).unwrap())
}

fn plan(nodes: &[&str], timeout_secs: u64, f: impl FnOnce(&mut Plan)) -> Plan {
    let mut plan = Plan::new(nodes.iter().copied());
    plan.options.timeout = Duration::from_secs(timeout_secs);
    f(&mut plan);
    plan
}

fn golden(name: &str, report: &Report) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = report.to_text();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden {}", path.display()));
    assert!(
        text == want,
        "{} differs from its golden report:\n{text}",
        path.display()
    );
}

fn working(report: &Report) -> Vec<String> {
    report
        .remedies
        .iter()
        .filter(|r| r.works)
        .map(|r| r.title.clone())
        .collect()
}

fn cause_of(report: &Report, pod: &str) -> Cause {
    report
        .diagnoses
        .iter()
        .find(|d| d.pod.name == pod.into())
        .unwrap_or_else(|| panic!("{pod} is not diagnosed: {:?}", report.diagnoses))
        .cause
        .clone()
}

#[test]
fn the_seeds_first_stuck_case_replacements_never_ready() {
    let report = what_if(
        &example("07-stuck-never-ready.yaml"),
        &plan(&["node-1"], 120, |_| {}),
    );
    assert!(!report.drained);
    let Cause::Budget {
        expected,
        healthy,
        desired,
        because,
        ..
    } = cause_of(&report, "web-1")
    else {
        panic!("web-1 is blocked by its budget");
    };
    assert_eq!((expected, healthy, desired), (3, 2, 2));
    assert!(
        because
            .iter()
            .any(|b| matches!(b, Blocker::NeverReady { .. })),
        "{because:?}"
    );
    let works = working(&report);
    assert!(
        works
            .iter()
            .any(|t| t.starts_with("delete the pod directly")),
        "{works:?}"
    );
    assert!(
        !works.iter().any(|t| t.starts_with("add a node")),
        "a node does not make a never-ready pod Ready: {works:?}"
    );
    golden("drain-07-stuck-never-ready.txt", &report);
}

#[test]
fn the_seeds_second_stuck_case_a_long_grace_period() {
    let report = what_if(
        &example("08-stuck-long-grace.yaml"),
        &plan(&["node-1"], 120, |_| {}),
    );
    assert_eq!(
        cause_of(&report, "db-0"),
        Cause::LongGrace { grace_seconds: 300 }
    );
    let Cause::Budget { because, .. } = cause_of(&report, "db-1") else {
        panic!()
    };
    assert!(
        matches!(&because[0], Blocker::Terminating { pod } if pod.name == "db-0".into()),
        "{because:?}"
    );
    assert!(
        working(&report)
            .iter()
            .any(|t| t.starts_with("force-delete"))
    );
    golden("drain-08-stuck-long-grace.txt", &report);
}

#[test]
fn a_dead_kubelet_leaves_the_pod_terminating_until_it_is_force_deleted() {
    let report = what_if(
        &example("09-stuck-dead-kubelet.yaml"),
        &plan(&["node-1"], 120, |_| {}),
    );
    assert_eq!(
        cause_of(&report, "api-0"),
        Cause::DeadKubelet {
            node: "node-1".into()
        }
    );
    assert_eq!(working(&report).len(), 1);
    assert!(working(&report)[0].starts_with("force-delete"));
    golden("drain-09-stuck-dead-kubelet.txt", &report);
}

#[test]
fn without_a_timeout_a_stuck_drain_is_called_once_nothing_can_change() {
    let report = what_if(
        &example("02-pdb-exhausted.yaml"),
        &plan(&["node-1"], 0, |_| {}),
    );
    assert!(!report.drained);
    assert!(
        report.verdict.contains("nothing can change any more"),
        "{}",
        report.verdict
    );
    assert!(
        report.duration < Duration::from_secs(60),
        "{:?}",
        report.duration
    );
}

#[test]
fn two_budgets_mean_500s_and_deleting_one_unsticks_the_drain() {
    let mut c = example("03-two-pdbs.yaml");
    let node: evictsim::model::Node = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})).unwrap();
    let now = c.now();
    c.create(now, node, false).unwrap();
    let report = what_if(&c, &plan(&["node-1"], 60, |p| p.options.force = true));
    let Cause::TwoBudgets { pdbs } = cause_of(&report, "api-0") else {
        panic!("{}", report.to_text())
    };
    assert_eq!(pdbs.len(), 2);
    let works = working(&report);
    // Deleting `api` leaves `backend` (minAvailable 0): the eviction passes. Deleting
    // `backend` leaves `api`, a maxUnavailable budget over a pod with no controller, whose
    // expected count the disruption controller cannot find (C8): it allows nothing.
    assert!(
        works
            .iter()
            .any(|t| t == "delete the overlapping budget default/api"),
        "{works:?}"
    );
    assert!(
        !works
            .iter()
            .any(|t| t == "delete the overlapping budget default/backend"),
        "{works:?}"
    );
    assert!(
        works
            .iter()
            .any(|t| t.starts_with("delete the pod directly"))
    );
}

fn objects(list: Vec<Value>) -> Cluster {
    load(&serde_json::to_string(&json!({"objects": list})).unwrap())
}

fn node(name: &str, cpu: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"pool": "general"}},
           "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}, "conditions": [{"type": "Ready", "status": "True"}]}})
}

fn running(name: &str, node: &str, cpu: &str, labels: Value, owner: Option<(&str, &str)>) -> Value {
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
    if let Some((kind, owner)) = owner {
        pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": owner, "uid": format!("{owner}-uid"), "controller": true}]);
    }
    pod
}

fn replica_set(name: &str, replicas: i32, cpu: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default", "uid": format!("{name}-uid")},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}]}}}})
}

fn pdb(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

#[test]
fn a_replacement_that_fits_nowhere_names_the_schedulers_reason_and_a_new_node_helps() {
    let c = objects(vec![
        node("node-1", "2"),
        node("node-2", "2"),
        replica_set("web", 2, "1"),
        running(
            "web-a",
            "node-1",
            "1",
            json!({"app": "web"}),
            Some(("ReplicaSet", "web")),
        ),
        running(
            "web-b",
            "node-1",
            "1",
            json!({"app": "web"}),
            Some(("ReplicaSet", "web")),
        ),
        replica_set("batch", 2, "1"),
        running(
            "batch-a",
            "node-2",
            "1",
            json!({"app": "batch"}),
            Some(("ReplicaSet", "batch")),
        ),
        running(
            "batch-b",
            "node-2",
            "1",
            json!({"app": "batch"}),
            Some(("ReplicaSet", "batch")),
        ),
        pdb(
            "web",
            json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}),
        ),
    ]);
    let report = what_if(&c, &plan(&["node-1"], 60, |_| {}));
    let Cause::Budget { because, .. } = cause_of(&report, "web-b") else {
        panic!()
    };
    let Blocker::Unschedulable { message, .. } = &because[0] else {
        panic!("{because:?}")
    };
    assert_eq!(
        message,
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.."
    );
    let works = working(&report);
    assert!(
        works
            .iter()
            .any(|t| t.starts_with("add a node like node-1")),
        "{works:?}"
    );
    assert!(
        !works.iter().any(|t| t.starts_with("scale")),
        "more replicas do not fit either: {works:?}"
    );
    assert_eq!(report.unschedulable.len(), 1);
}

#[test]
fn a_pod_without_a_controller_under_a_budget_is_never_spared() {
    let c = objects(vec![
        node("node-1", "4"),
        node("node-2", "4"),
        running("solo", "node-1", "1", json!({"app": "solo"}), None),
        pdb(
            "solo",
            json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "solo"}}}),
        ),
    ]);
    let report = what_if(&c, &plan(&["node-1"], 30, |p| p.options.force = true));
    let Cause::Budget { because, .. } = cause_of(&report, "solo") else {
        panic!()
    };
    assert_eq!(because, [Blocker::NoController]);
    let works = working(&report);
    assert!(
        works
            .iter()
            .any(|t| t.starts_with("delete the pod directly"))
    );
    assert!(works.iter().any(|t| t.starts_with("relax the budget")));
}

#[test]
fn a_filter_refusal_names_the_flag_and_the_flag_is_verified() {
    let c = objects(vec![
        node("node-1", "4"),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default", "uid": "agent-uid"},
               "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "a"}]}}}}),
        running(
            "agent-x",
            "node-1",
            "0",
            json!({"app": "agent"}),
            Some(("DaemonSet", "agent")),
        ),
    ]);
    let report = what_if(&c, &plan(&["node-1"], 30, |_| {}));
    assert!(matches!(
        cause_of(&report, "agent-x"),
        Cause::Refused { .. }
    ));
    assert_eq!(working(&report), ["drain with --ignore-daemonsets"]);
}

#[test]
fn a_real_clusters_snapshot_loads_as_printed_and_its_stuck_budget_is_explained() {
    let c = load(SHOP);
    // Every object of the List, every field a real cluster writes, is kept.
    assert_eq!(c.list::<evictsim::model::Node>().count(), 3);
    assert_eq!(c.list::<evictsim::model::Pod>().count(), 15);
    // Its clock starts when it was taken: the newest time it records (a managedFields entry).
    assert_eq!(c.wall_now().to_string(), "2026-11-02T08:14:31Z");
    let report = what_if(
        &c,
        &plan(&[W1], 300, |p| p.options.ignore_daemonsets = true),
    );
    // The snapshot's own ReplicaSets are adopted, not replaced: the pods drained are the snapshot's.
    let evicted: Vec<String> = report.runs[0].1.nodes[0]
        .pods
        .iter()
        .map(|p| p.pod.name.to_string())
        .collect();
    assert_eq!(
        evicted,
        [
            "coredns-674b8bbfcf-4xqzt",
            "checkout-7c5d9f6b8d-fq2lx",
            "db-0",
            "report-29370240-8kq2z",
            "web-6d9f7c8b54-2kx9p",
            "web-6d9f7c8b54-7mzqd"
        ]
    );
    // The StatefulSet recreates db-0 under its name elsewhere; the finished Job pod just goes.
    assert!(
        report.runs[0]
            .1
            .stdout()
            .contains(&"pod/db-0 evicted".to_string())
    );
    let Cause::Budget {
        expected,
        healthy,
        desired,
        because,
        ..
    } = cause_of(&report, "checkout-7c5d9f6b8d-fq2lx")
    else {
        panic!()
    };
    assert_eq!(
        (expected, healthy, desired, because),
        (2, 2, 2, vec![Blocker::NoRoom])
    );
    let works = working(&report);
    assert!(
        works
            .iter()
            .any(|t| t == "scale Deployment shop/checkout up by 1"),
        "{works:?}"
    );
    assert!(
        works.iter().any(|t| t == "relax the budget shop/checkout"),
        "{works:?}"
    );
    // The mirror pod and the DaemonSet pod are left as kubectl leaves them.
    assert_eq!(
        report.unschedulable.len(),
        1,
        "the third web replica fits nowhere once the node is gone"
    );
    golden("drain-shop-snapshot.txt", &report);
    // The JSON form carries the same verdict.
    let json: Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["drained"], json!(false));
    assert_eq!(json["diagnoses"][0]["cause"]["kind"], json!("budget"));
}

#[test]
fn a_node_pool_drains_one_node_after_another_and_stops_at_the_first_that_sticks() {
    let c = load(SHOP);
    // The control-plane node first: its mirror pod is skipped, kube-proxy ignored, nothing evicted.
    let report = what_if(
        &c,
        &plan(&[W2, W1], 300, |p| {
            p.options.ignore_daemonsets = true;
            p.pool = Pool::OneByOne;
        }),
    );
    assert!(!report.drained);
    assert_eq!(
        report.stuck_node.as_deref(),
        Some(W2),
        "checkout's budget sticks on the first worker"
    );
    assert_eq!(
        report.runs.len(),
        1,
        "the pool stops at the first node that sticks"
    );
    // Without the impossible budget, the whole pool drains, node after node.
    let mut relaxed = c.clone();
    let now = relaxed.now();
    relaxed
        .delete::<evictsim::model::PodDisruptionBudget>(
            now,
            &evictsim::model::ObjectKey::new("shop", "checkout"),
            &Default::default(),
        )
        .unwrap();
    let cp = "ip-10-0-1-12.eu-west-1.compute.internal";
    let report = what_if(
        &relaxed,
        &plan(&[cp, W1, W2], 300, |p| {
            p.options.ignore_daemonsets = true;
            p.pool = Pool::OneByOne;
        }),
    );
    assert!(report.drained, "{}", report.to_text());
    assert_eq!(report.runs.len(), 3);
    assert!(
        report.runs[0]
            .1
            .stdout()
            .iter()
            .all(|l| !l.contains("kube-apiserver")),
        "the mirror pod is never mentioned"
    );
}

/// A JSON List is loaded one item at a time; the result is the cluster the whole-document
/// path builds from the same objects (wrapped as a scenario), errors named the same way.
#[test]
fn a_streamed_snapshot_is_the_cluster_the_document_path_builds() {
    let streamed = load(SHOP);
    let list: Value = serde_json::from_str(SHOP).unwrap();
    let start = streamed.wall_now().to_string();
    let wrapped = serde_json::to_string(&json!({"start": start, "objects": [list]})).unwrap();
    let whole = load(&wrapped);
    let everything = |c: &mut Cluster| {
        let mut out = Vec::new();
        for path in [
            "/api/v1/nodes",
            "/api/v1/pods",
            "/apis/apps/v1/replicasets",
            "/apis/policy/v1/poddisruptionbudgets",
        ] {
            let request = http::Request::get(path).body(Vec::new()).unwrap();
            let now = c.now();
            out.push(evictsim::rest::handle(c, now, &request).into_body());
        }
        out
    };
    let (mut streamed, mut whole) = (streamed, whole);
    assert_eq!(everything(&mut streamed), everything(&mut whole));
    assert_eq!(streamed.wall_now(), whole.wall_now());

    let mut bad = list.clone();
    bad["items"][5]["spec"]["bogus"] = json!(1);
    let err =
        Cluster::from_snapshot_or_scenario(&serde_json::to_string(&bad).unwrap()).unwrap_err();
    let wrapped = serde_json::to_string(&json!({"objects": [bad]})).unwrap();
    let err_whole = Cluster::from_snapshot_or_scenario(&wrapped).unwrap_err();
    assert_eq!(err.to_string(), err_whole.to_string());
    assert!(
        err.to_string().contains("objects[0].items[5].spec.bogus"),
        "{err}"
    );
}

/// Two budgets that each allow nothing: no change to one of them drains the node; deleting
/// the pods, or the changes that keep them made together, do.
#[test]
fn two_blocking_budgets_need_their_changes_together() {
    let mut objects = vec![node("node-1", "4"), node("node-2", "4")];
    for app in ["a", "b"] {
        objects.push(replica_set(app, 2, "100m"));
        objects.push(pdb(
            app,
            json!({"minAvailable": 2, "selector": {"matchLabels": {"app": app}}}),
        ));
        for (i, node) in ["node-1", "node-2"].iter().enumerate() {
            objects.push(running(
                &format!("{app}-{i}"),
                node,
                "100m",
                json!({"app": app}),
                Some(("ReplicaSet", app)),
            ));
        }
    }
    let report = what_if(&self::objects(objects), &plan(&["node-1"], 60, |_| {}));
    assert_eq!(report.diagnoses.len(), 2);
    let works = working(&report);
    assert!(
        !works
            .iter()
            .any(|t| t.starts_with("scale") || t.starts_with("relax")),
        "{works:?}"
    );
    assert!(
        works
            .iter()
            .any(|t| t.starts_with("delete the pod directly")),
        "{works:?}"
    );
    assert!(
        works
            .iter()
            .any(|t| t == "all 4 changes above that keep the pods, together"),
        "{works:?}"
    );
}
