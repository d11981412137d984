//! The scheduler's rules, table-driven: where a pod goes, and kube-scheduler's words when it
//! fits nowhere (`PodScheduled=False`, reason `Unschedulable`, `FitError`'s message).

use evictsim::cluster::Cluster;
use evictsim::model::{ObjectKey, Pod};
use evictsim::time::SimTime;
use serde_json::{Value, json};

mod common;
use common::merge;

/// A Ready node with 2 cpu, 4Gi of memory and room for 3 pods.
fn node(name: &str, extra: Value) -> Value {
    let mut node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "3"},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    });
    merge(&mut node, extra);
    node
}

fn running(name: &str, node: &str, cpu: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

/// Creates `pod` (unscheduled) on a cluster of `objects` and returns it after the scheduler ran.
fn schedule(objects: Vec<Value>, spec: Value) -> Pod {
    let yaml = serde_json::to_string(&json!({"objects": objects})).unwrap();
    let mut cluster = Cluster::from_yaml(&yaml).unwrap();
    let mut pod_spec = json!({"containers": [{"name": "c", "image": "i"}]});
    merge(&mut pod_spec, spec);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "new", "namespace": "default"},
        "spec": pod_spec
    }))
    .unwrap();
    cluster.create(SimTime::ZERO, pod, false).unwrap();
    cluster
        .pod(&ObjectKey::new("default", "new"))
        .unwrap()
        .clone()
}

fn outcome(pod: &Pod) -> String {
    if !pod.spec.node_name.is_empty() {
        return format!("bound to {}", pod.spec.node_name);
    }
    let c = pod
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "PodScheduled")
        .expect("an unschedulable pod has a PodScheduled condition");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "Unschedulable")
    );
    c.message.to_string()
}

const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

#[test]
fn placement_rules() {
    let cases: Vec<(&str, Vec<Value>, Value, String)> = vec![
        (
            "S5: fewest pods wins, ties by name",
            vec![
                node("b", json!({})),
                node("a", json!({})),
                running("x", "a", "100m"),
            ],
            json!({}),
            "bound to b".into(),
        ),
        (
            "S1: a cordoned node is skipped",
            vec![
                node("a", json!({"spec": {"unschedulable": true}})),
                node("b", json!({})),
                running("x", "b", "100m"),
            ],
            json!({}),
            "bound to b".into(),
        ),
        (
            "S1, S5: only cordoned nodes",
            vec![node("a", json!({"spec": {"unschedulable": true}}))],
            json!({}),
            format!(
                "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 {NOT_HELPFUL}.."
            ),
        ),
        (
            "S1: tolerating the unschedulable taint lands on a cordoned node",
            vec![node("a", json!({"spec": {"unschedulable": true}}))],
            json!({"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}),
            "bound to a".into(),
        ),
        (
            "S1, S2: cpu requests against allocatable minus what is requested",
            vec![node("a", json!({})), running("x", "a", "1500m")],
            json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "600m"}}}]}),
            format!(
                "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.."
            ),
        ),
        (
            "S1, S2: exactly what is left fits",
            vec![node("a", json!({})), running("x", "a", "1500m")],
            json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "500m", "memory": "4Gi"}}}]}),
            "bound to a".into(),
        ),
        (
            "S1, S5: cpu and memory both short on one node count twice",
            vec![node("a", json!({}))],
            json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "3", "memory": "5Gi"}}}]}),
            format!(
                "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.."
            ),
        ),
        (
            "S1: the pod limit",
            vec![
                node("a", json!({})),
                running("x", "a", "0"),
                running("y", "a", "0"),
                running("z", "a", "0"),
            ],
            json!({}),
            format!(
                "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.."
            ),
        ),
        (
            "S2: an init container's request counts when it is the larger",
            vec![node("a", json!({}))],
            json!({"initContainers": [{"name": "init", "image": "i", "resources": {"requests": {"cpu": "2500m"}}}]}),
            format!(
                "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.."
            ),
        ),
        (
            "S1: an extended resource no node has",
            vec![node("a", json!({}))],
            json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"nvidia.com/gpu": "1"}}}]}),
            format!(
                "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.."
            ),
        ),
        (
            "S1: nodeSelector",
            vec![
                node("a", json!({})),
                node("b", json!({"metadata": {"labels": {"pool": "gpu"}}})),
                running("x", "b", "0"),
            ],
            json!({"nodeSelector": {"pool": "gpu"}}),
            "bound to b".into(),
        ),
        (
            "S1, S5: nodeSelector nothing matches",
            vec![node("a", json!({})), node("b", json!({}))],
            json!({"nodeSelector": {"pool": "gpu"}}),
            format!(
                "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 {NOT_HELPFUL}.."
            ),
        ),
        (
            "S4: required node affinity: terms are ORed, Gt compares integers, matchFields names the node",
            vec![
                node("a", json!({"metadata": {"labels": {"gen": "3"}}})),
                node("b", json!({"metadata": {"labels": {"gen": "5"}}})),
                node("c", json!({})),
                running("x", "b", "0"),
                running("y", "c", "0"),
            ],
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["c"]}]}
            ]}}}}),
            "bound to b".into(),
        ),
        (
            "S4: an empty term matches nothing",
            vec![node("a", json!({}))],
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}}}}),
            format!(
                "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 {NOT_HELPFUL}.."
            ),
        ),
        (
            "S1: an untolerated NoSchedule taint, and a PreferNoSchedule one that does not block",
            vec![
                node(
                    "a",
                    json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
                ),
                node(
                    "b",
                    json!({"spec": {"taints": [{"key": "soft", "effect": "PreferNoSchedule"}]}}),
                ),
                running("x", "b", "0"),
                running("y", "b", "0"),
                running("z", "b", "0"),
            ],
            json!({}),
            format!(
                "0/2 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint {{dedicated: gpu}}. preemption: 0/2 nodes are available: 1 {NO_VICTIMS}, 1 {NOT_HELPFUL}.."
            ),
        ),
        (
            "S1: a toleration with operator Equal and the taint's value",
            vec![node(
                "a",
                json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
            )],
            json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu"}]}),
            "bound to a".into(),
        ),
        (
            "S3: a node that is not Ready carries the not-ready taint",
            vec![node(
                "a",
                json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
            )],
            json!({}),
            format!(
                "0/1 nodes are available: 1 node(s) had untolerated taint {{node.kubernetes.io/not-ready: }}. preemption: 0/1 nodes are available: 1 {NOT_HELPFUL}.."
            ),
        ),
        (
            "S1: the filters' order: a cordoned node that is also full reports the cordon only",
            vec![
                node("a", json!({"spec": {"unschedulable": true}})),
                node("b", json!({})),
            ],
            json!({"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "4"}}}]}),
            format!(
                "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 1 {NO_VICTIMS}, 1 {NOT_HELPFUL}.."
            ),
        ),
        (
            "S5: no nodes at all",
            vec![],
            json!({}),
            "no nodes available to schedule pods".into(),
        ),
    ];
    let mut failures = Vec::new();
    for (name, objects, spec, want) in cases {
        let got = outcome(&schedule(objects, spec));
        if got != want {
            failures.push(format!("{name}:\n  want {want}\n  got  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn s6_a_pending_pod_is_placed_when_a_pod_leaves_and_the_condition_turns_true() {
    let yaml = serde_json::to_string(
        &json!({"objects": [node("a", json!({})), running("big", "a", "1800m")]}),
    )
    .unwrap();
    let mut cluster = Cluster::from_yaml(&yaml).unwrap();
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "new", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "1"}}}]}
    }))
    .unwrap();
    cluster.create(SimTime::ZERO, pod, false).unwrap();
    let key = ObjectKey::new("default", "new");
    assert!(cluster.pod(&key).unwrap().spec.node_name.is_empty());
    let failed = cluster
        .events()
        .iter()
        .filter(|e| e.kind.to_string().contains("FailedScheduling"))
        .count();
    assert_eq!(failed, 1, "one FailedScheduling event");
    let big = cluster
        .pod(&ObjectKey::new("default", "big"))
        .unwrap()
        .clone();
    cluster
        .delete::<Pod>(
            SimTime::ZERO,
            &big.metadata.key(),
            &evictsim::model::DeleteOptions {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    let placed = cluster.pod(&key).unwrap();
    assert_eq!(placed.spec.node_name, "a");
    let condition = placed
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "PodScheduled")
        .unwrap();
    assert_eq!(condition.status, "True");
}

#[test]
fn quantities() {
    use evictsim::cluster::scheduler::parse_quantity;
    for (text, milli) in [
        ("0", Some(0)),
        ("100m", Some(100)),
        ("0.1", Some(100)),
        ("1.5", Some(1500)),
        ("1", Some(1000)),
        ("1k", Some(1_000_000)),
        ("1Mi", Some(1_048_576_000)),
        ("128974848", Some(128_974_848_000)),
        ("129e6", Some(129_000_000_000)),
        ("1E3", Some(1_000_000)),
        ("1n", Some(1)), // rounded up, as MilliValue rounds
        ("1.5Gi", Some(1_610_612_736_000)),
        ("", None),
        ("Gi", None),
        ("1Xi", None),
        ("1e99", None),
    ] {
        assert_eq!(parse_quantity(text), milli, "{text}");
    }
}
