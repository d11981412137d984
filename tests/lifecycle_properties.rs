//! Properties of the six steps with every controller running.

use std::collections::BTreeMap;
use std::time::Duration;

use evictsim::cluster::{Cluster, ClusterConfig, EventKind, WriteVerb};
use evictsim::model::{DeleteOptions, Eviction, Node, ObjectKey, Pod, ReplicaSet};
#[allow(dead_code)]
#[path = "../src/proptest.rs"]
mod strategies;

use evictsim::time::SimTime;
use proptest::prelude::*;
use serde_json::json;
use strategies::{cluster_snapshot, operations};

const DAY: Duration = Duration::from_secs(86_400);

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// With every kubelet alive, once every deadline has passed no pod is still terminating.
    #[test]
    fn past_every_deadline_no_pod_is_terminating(snapshot in cluster_snapshot(), ops in operations(16)) {
        let mut cluster = snapshot.build(ClusterConfig::default());
        let mut now = SimTime::ZERO;
        for op in &ops {
            op.apply(&mut cluster, &mut now);
        }
        cluster.advance_to(now + DAY);
        let terminating: Vec<String> = cluster.list::<Pod>().filter(|p| p.is_terminating()).map(|p| p.metadata.name.to_string()).collect();
        prop_assert!(terminating.is_empty(), "still terminating: {:?}", terminating);
        prop_assert!(cluster.next_deadline().is_none_or(|d| d.at > now + DAY));
    }

    /// Every pod the kubelet removes went through the steps in order: noticed (2), stopped
    /// (exited or killed, 4), reported (5), removed (6).
    #[test]
    fn kubelet_removals_follow_the_steps_in_order(snapshot in cluster_snapshot(), ops in operations(16)) {
        let mut cluster = snapshot.build(ClusterConfig::default());
        let mut now = SimTime::ZERO;
        for op in &ops {
            op.apply(&mut cluster, &mut now);
        }
        cluster.advance_to(now + DAY);
        let mut seen: BTreeMap<ObjectKey, Vec<u8>> = BTreeMap::new();
        for event in cluster.events() {
            let (pod, step) = match &event.kind {
                EventKind::KubeletNoticedDeletion { pod, .. } => (pod, 2),
                EventKind::ContainersExited { pod, .. } | EventKind::ContainersKilled { pod, .. } => (pod, 4),
                EventKind::PodTerminated { pod, .. } => (pod, 5),
                EventKind::ObjectWritten { verb: WriteVerb::Deleted, kind: "Pod", key, .. } => (key, 6),
                _ => continue,
            };
            seen.entry(pod.clone()).or_default().push(step);
        }
        for (pod, steps) in seen {
            if !steps.contains(&5) {
                continue; // not removed by its kubelet (a grace-0 delete, say)
            }
            let expected: &[u8] = if steps.first() == Some(&2) { &[2, 4, 5, 6] } else { &[5, 6] };
            prop_assert_eq!(steps.as_slice(), expected, "{}", pod);
        }
    }

    /// Whatever is evicted or deleted, once replacements are Ready every ReplicaSet is back
    /// at its replica count.
    #[test]
    fn replacements_restore_the_replica_count(replicas in 0i64..8, picks in proptest::collection::vec((0usize..16, any::<bool>(), 0u64..40), 0..12)) {
        let mut cluster = Cluster::new(ClusterConfig::default());
        let t0 = SimTime::ZERO;
        for n in ["node-1", "node-2", "node-3"] {
            let node: Node = serde_json::from_value(json!({"metadata": {"name": n}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})).unwrap();
            cluster.load(t0, node).unwrap();
        }
        let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}}}})).unwrap();
        cluster.load(t0, rs).unwrap();
        let pdb: evictsim::model::PodDisruptionBudget = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})).unwrap();
        cluster.load(t0, pdb).unwrap();
        let mut now = t0;
        for (pick, evict, wait) in picks {
            let names: Vec<String> = cluster.list::<Pod>().map(|p| p.metadata.name.to_string()).collect();
            if !names.is_empty() {
                let name = &names[pick % names.len()];
                if evict {
                    let body: Eviction = serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}})).unwrap();
                    let _ = cluster.evict(now, "default", name, body, &[]);
                } else {
                    let _ = cluster.delete::<Pod>(now, &ObjectKey::new("default", name.as_str()), &DeleteOptions::default());
                }
            }
            now = now + Duration::from_secs(wait);
            cluster.advance_to(now);
        }
        cluster.advance_to(now + DAY);
        let ready = cluster.list::<Pod>().filter(|p| p.is_ready() && !p.is_terminating()).count() as i64;
        prop_assert_eq!(ready, replicas);
        prop_assert_eq!(cluster.list::<Pod>().count() as i64, replicas);
    }
}
