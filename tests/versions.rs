//! Each server-side delta between Kubernetes releases, pinned on both sides of the release
//! that brought it (the V rules of `docs/rules.md`), through the REST handler.

mod common;

use std::time::Duration;

use common::*;
use evictsim::cluster::{Cluster, ClusterConfig, KubernetesVersion, Latencies};
use evictsim::model::{LabelSelector, ObjectKey, Pod, PodDisruptionBudget};
use evictsim::time::SimTime;
use serde_json::{Value, json};

const PODS: &str = "/api/v1/namespaces/default/pods";

fn at(version: KubernetesVersion) -> Cluster {
    Cluster::new(ClusterConfig {
        kubernetes_version: version,
        ..ClusterConfig::default()
    })
}

/// Three Ready pods of a ReplicaSet under `maxUnavailable: 1`, with a disruption
/// controller that takes 30 s to react: the status stays as the first eviction left it.
fn slow_controller(version: KubernetesVersion) -> Cluster {
    let text = format!(
        r#"
kubernetesVersion: "{version}"
latencies: {{disruption: 30s}}
objects:
  - {{apiVersion: v1, kind: Node, metadata: {{name: n}}, status: {{conditions: [{{type: Ready, status: "True"}}]}}}}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {{name: web, namespace: default, uid: 00000000-0000-4000-8000-000000000001}}
    spec: {{replicas: 3, selector: {{matchLabels: {{app: web}}}}, template: {{metadata: {{labels: {{app: web}}}}, spec: {{containers: [{{name: c, image: i}}]}}}}}}
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {{name: web, namespace: default}}
    spec: {{maxUnavailable: 1, selector: {{matchLabels: {{app: web}}}}}}
"#
    );
    let mut pods = String::new();
    for name in ["a", "b", "c"] {
        pods.push_str(&format!(
            r#"  - apiVersion: v1
    kind: Pod
    metadata: {{name: {name}, namespace: default, labels: {{app: web}}, ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: 00000000-0000-4000-8000-000000000001, controller: true}}]}}
    spec: {{nodeName: n, containers: [{{name: c, image: i}}]}}
    status: {{phase: Running, conditions: [{{type: Ready, status: "True"}}]}}
"#
        ));
    }
    let mut cluster = evictsim::scenario::Scenario::parse(&(text + &pods))
        .and_then(|s| s.build_cluster())
        .unwrap();
    // Let the slow controller compute the first status.
    cluster.advance_by(Duration::from_secs(31));
    cluster
}

fn evict(cluster: &mut Cluster, name: &str) -> Answer {
    send_json(
        cluster,
        "POST",
        &format!("{PODS}/{name}/eviction"),
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}),
        "application/json",
    )
}

fn cause(answer: &Answer) -> &str {
    answer.body["details"]["causes"][0]["message"]
        .as_str()
        .unwrap_or("")
}

/// V7: a second eviction before the controller has re-synced. Up to 1.34 the cause gives
/// the counts; from 1.35 the `InsufficientPods` condition with an empty message that the
/// first eviction wrote (E22) makes it a plain refusal. kubectl prints neither.
#[test]
fn v7_the_429_cause_follows_the_condition_from_1_35() {
    for (version, expected) in [
        (
            KubernetesVersion::V1_34,
            "The disruption budget web needs 2 healthy pods and has 3 currently",
        ),
        (
            KubernetesVersion::V1_35,
            "The disruption budget web does not allow evicting pods currently",
        ),
    ] {
        let mut cluster = slow_controller(version);
        assert_eq!(evict(&mut cluster, "a").code, 201, "{version}");
        let refused = evict(&mut cluster, "b");
        assert_eq!(refused.code, 429, "{version}");
        assert_eq!(
            refused.body["message"],
            "Cannot evict pod as it would violate the pod's disruption budget."
        );
        assert_eq!(cause(&refused), expected, "{version}");
    }
}

/// V8: the negative-budget 403 gains a cause in 1.37. (A negative budget is what only a
/// broken cluster holds: it is restored as a snapshot, with no controller to fix it.)
#[test]
fn v8_the_pdb_403s_carry_a_cause_from_1_37() {
    for (version, causes) in [(KubernetesVersion::V1_36, 0), (KubernetesVersion::V1_37, 1)] {
        let mut cluster = Cluster::new(ClusterConfig {
            kubernetes_version: version,
            controllers: evictsim::cluster::Controllers {
                disruption: false,
                ..evictsim::cluster::Controllers::default()
            },
            ..ClusterConfig::default()
        });
        cluster
            .restore(
                SimTime::ZERO,
                Pod::running("default", "a", "n").with_labels([("app", "web")]),
            )
            .unwrap();
        let mut pdb = PodDisruptionBudget::min_available(
            "default",
            "web",
            1,
            LabelSelector::matching([("app", "web")]),
        );
        pdb.metadata.generation = 1;
        pdb.status.observed_generation = 1;
        pdb.status.disruptions_allowed = -1;
        cluster.restore(SimTime::ZERO, pdb).unwrap();
        let refused = evict(&mut cluster, "a");
        assert_eq!(refused.code, 403, "{version}: {}", refused.body);
        assert_eq!(
            refused.body["message"],
            "poddisruptionbudget.policy \"web\" is forbidden: pdb disruptions allowed is negative"
        );
        let got = refused.body["details"]["causes"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(got, causes, "{version}: {}", refused.body);
        if causes == 1 {
            assert_eq!(
                refused.body["details"]["causes"][0]["reason"],
                "DisruptionBudget"
            );
            assert_eq!(
                cause(&refused),
                "The disruption budget web does not allow evicting pods currently: pdb disruptions allowed is negative"
            );
        }
    }
}

/// V12: a DELETE body that does not decode is a 500 without a reason up to 1.34, and the
/// decoder's 400 from 1.35. Nothing is deleted either way.
#[test]
fn v12_an_undecodable_delete_body_is_a_400_from_1_35() {
    for (version, code, reason) in [
        (KubernetesVersion::V1_34, 500, ""),
        (KubernetesVersion::V1_35, 400, "BadRequest"),
    ] {
        let mut cluster = at(version);
        cluster
            .create(SimTime::ZERO, Pod::running("default", "p", "n"), false)
            .unwrap();
        let answer = send(
            &mut cluster,
            "DELETE",
            &format!("{PODS}/p"),
            b"{not json",
            Some("application/json"),
        );
        assert_eq!(answer.code, code, "{version}: {}", answer.body);
        assert_eq!(answer.body["reason"].as_str().unwrap_or(""), reason);
        assert!(
            answer.body["message"]
                .as_str()
                .unwrap()
                .starts_with("couldn't get version/kind; json parse error")
        );
        assert!(cluster.pod(&ObjectKey::new("default", "p")).is_some());
    }
}

/// V11: the disruption controller's reset of a stale DisruptionTarget condition carries
/// the pod's generation from 1.34 (PodObservedGenerationTracking on by default); in 1.33
/// the gate is alpha and off.
#[test]
fn v11_the_condition_reset_writes_observed_generation_from_1_34() {
    for (version, observed) in [
        (KubernetesVersion::V1_33, Value::Null),
        (KubernetesVersion::V1_34, json!(1)),
    ] {
        let mut cluster = Cluster::new(ClusterConfig {
            kubernetes_version: version,
            controllers: evictsim::cluster::Controllers {
                kubelet: false,
                workloads: false,
                endpoints: false,
                disruption: true,
            },
            latencies: Latencies::default(),
            ..ClusterConfig::default()
        });
        let mut pod = Pod::running("default", "p", "n");
        pod.status.conditions.push(
            serde_json::from_value(json!({"type": "DisruptionTarget", "status": "True",
                "reason": "EvictionByEvictionAPI", "lastTransitionTime": "2025-01-01T00:00:00Z"}))
            .unwrap(),
        );
        cluster.load(SimTime::ZERO, pod).unwrap();
        cluster.advance_to(SimTime::from_secs(121));
        let stored = cluster.pod(&ObjectKey::new("default", "p")).unwrap();
        let condition =
            serde_json::to_value(stored.condition("DisruptionTarget").unwrap()).unwrap();
        assert_eq!(condition["status"], "False", "{version}");
        assert_eq!(condition["observedGeneration"], observed, "{version}");
    }
}

/// V10/WatchList: streaming lists are served from 1.34 (the `WatchList` gate's default);
/// before, they are refused at once with upstream's 422, so a client falls back to
/// LIST+WATCH instead of hanging. A LIST with `sendInitialEvents` is always refused.
#[test]
fn streaming_lists_are_served_from_1_34() {
    let streaming = format!(
        "{PODS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    );
    let mut old = at(KubernetesVersion::V1_33);
    let refused = send(&mut old, "GET", &streaming, b"", None);
    assert_eq!(refused.code, 422);
    assert_eq!(
        refused.body["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
    );
    let mut new = at(KubernetesVersion::V1_34);
    new.create(SimTime::ZERO, Pod::running("default", "p", "n"), false)
        .unwrap();
    let request = http::Request::get(&streaming).body(Vec::new()).unwrap();
    let response = evictsim::rest::handle(&mut new, SimTime::ZERO, &request);
    assert_eq!(response.status(), 200);
    let events: Vec<Value> = String::from_utf8(response.into_body())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[1]["type"], "BOOKMARK");
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let list = send(
        &mut new,
        "GET",
        &format!("{PODS}?sendInitialEvents=true"),
        b"",
        None,
    );
    assert_eq!(list.code, 422);
    assert_eq!(
        list.body["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"
    );
}

/// `/version` and `kubernetesVersion` cover 1.30 through 1.37; 1.37 is the default.
#[test]
fn every_modelled_release_reports_itself() {
    assert_eq!(KubernetesVersion::default(), KubernetesVersion::V1_37);
    for minor in 30..=37 {
        let version: KubernetesVersion = format!("1.{minor}").parse().unwrap();
        let mut cluster = at(version);
        let answer = send(&mut cluster, "GET", "/version", b"", None);
        assert_eq!(answer.body["minor"], minor.to_string());
        assert_eq!(answer.body["gitVersion"], format!("v1.{minor}.0"));
    }
    assert!("1.38".parse::<KubernetesVersion>().is_err());
}
