//! An hour of steady evictions must not grow the cluster: a ReplicaSet under a PDB, behind
//! a Service, one eviction every 10 s of virtual time, each pod replaced. After a warm-up,
//! nothing the cluster holds — objects, timers, watch history, the kubelets' pods, index
//! entries, recorded
//! violations — may be larger in the second half hour than in the first, and the event log
//! holds its retention.

use std::time::Duration;

use evictsim::cluster::{Cluster, ClusterConfig, Footprint};
use evictsim::model::{Eviction, Node, Pod, PodDisruptionBudget, ReplicaSet, Service};
use evictsim::time::SimTime;
use serde_json::json;

const RETENTION: usize = 1_000;
const WATCH_HISTORY: usize = 500;

fn steady_cluster() -> Cluster {
    let mut cluster = Cluster::new(ClusterConfig {
        event_retention: RETENTION,
        ..ClusterConfig::default()
    });
    cluster.keep_watch_history(WATCH_HISTORY);
    let t = SimTime::ZERO;
    for n in 0..3 {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": format!("node-{n}")},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}))
        .unwrap();
        cluster.load(t, node).unwrap();
    }
    let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 10, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [{"name": "web", "image": "web:1"}]}}}}))
    .unwrap();
    cluster.load(t, rs).unwrap();
    let pdb: PodDisruptionBudget =
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}}))
        .unwrap();
    cluster.load(t, pdb).unwrap();
    let service: Service =
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))
        .unwrap();
    cluster.load(t, service).unwrap();
    cluster
}

fn larger(a: Footprint, b: Footprint) -> Footprint {
    Footprint {
        objects: a.objects.max(b.objects),
        events: a.events.max(b.events),
        event_bytes: a.event_bytes.max(b.event_bytes),
        timers: a.timers.max(b.timers),
        watch_history: a.watch_history.max(b.watch_history),
        kubelet_pods: a.kubelet_pods.max(b.kubelet_pods),
        index_entries: a.index_entries.max(b.index_entries),
        budget_violations: a.budget_violations.max(b.budget_violations),
    }
}

#[test]
fn an_hour_of_steady_evictions_grows_nothing() {
    let mut cluster = steady_cluster();
    let mut now = SimTime::ZERO;
    let (mut admitted, mut first_half, mut second_half) = (0, None::<Footprint>, None::<Footprint>);
    for tick in 1..=360u32 {
        now = now + Duration::from_secs(10);
        cluster.advance_to(now);
        // The oldest Ready, running pod of the ReplicaSet.
        let target = cluster
            .list_in::<Pod>("default")
            .filter(|p| p.is_ready() && !p.is_terminating())
            .min_by_key(|p| (p.metadata.creation_timestamp, p.metadata.name.clone()))
            .map(|p| p.metadata.name.clone());
        if let Some(name) = target {
            let body: Eviction =
                serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}}))
                    .unwrap();
            admitted += usize::from(cluster.evict(now, "default", &name, body, &[]).is_ok());
        }
        let footprint = cluster.footprint();
        // Minutes 10–30 against minutes 30–60.
        match tick {
            60..=180 => first_half = Some(first_half.map_or(footprint, |f| larger(f, footprint))),
            181.. => second_half = Some(second_half.map_or(footprint, |f| larger(f, footprint))),
            _ => {}
        }
    }
    let (first, second) = (first_half.unwrap(), second_half.unwrap());
    assert!(admitted > 300, "only {admitted} evictions were admitted");
    assert!(
        first.events >= RETENTION,
        "the log reached its retention: {first:?}"
    );
    // The log keeps the newest events it retains, forgetting the oldest as new ones come.
    assert_eq!(second.events, RETENTION, "{second:?}");
    // Its bytes follow its events: only the numbers an event holds (resourceVersions,
    // times) gain a digit now and then.
    assert!(
        second.event_bytes <= first.event_bytes + first.event_bytes / 10,
        "{first:?} -> {second:?}"
    );
    assert!(
        second.watch_history <= WATCH_HISTORY + WATCH_HISTORY / 10,
        "{second:?}"
    );
    assert!(
        second.objects <= first.objects
            && second.timers <= first.timers
            && second.watch_history <= first.watch_history
            && second.kubelet_pods <= first.kubelet_pods
            && second.index_entries <= first.index_entries
            && second.budget_violations <= first.budget_violations,
        "grew: {first:?} -> {second:?}"
    );
    // Every eviction's pod was replaced: ten Ready replicas at the end.
    cluster.advance_to(now + Duration::from_secs(120));
    let ready = cluster
        .list_in::<Pod>("default")
        .filter(|p| p.is_ready() && !p.is_terminating())
        .count();
    assert_eq!(ready, 10);
}
