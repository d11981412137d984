//! Test your drainer: a small node drainer, written as a user of evictsim would write one,
//! with the unit tests and the property test that pin its behaviour — no cluster needed.
//!
//! `cargo run --example test_your_drainer` drains a node of a simulated cluster and prints
//! what happened; `cargo test --example test_your_drainer` runs the tests below.

use std::time::Duration;

use evictsim::cluster::{Cluster, Subresource};
use evictsim::model::{Eviction, LabelSelector, Node, ObjectKey, PodDisruptionBudget, ReplicaSet};
use evictsim::time::SimTime;

/// What a drain came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    /// Every pod left the node, after this long.
    After(Duration),
    /// The timeout passed with these pods still on the node.
    TimedOut(Vec<String>),
}

/// The drainer under test: cordon `node`, then evict each of its pods, retrying a 429 every
/// 5 seconds as `kubectl drain` does, until the node is empty or `timeout` has passed.
pub fn drain(cluster: &mut Cluster, node: &str, timeout: Duration) -> Drained {
    let start = cluster.now();
    let mut cordoned = cluster
        .get::<Node>(&ObjectKey::new("", node))
        .expect("the node exists")
        .clone();
    cordoned.spec.unschedulable = true;
    cluster
        .update(start, cordoned, Subresource::Main, false)
        .expect("cordon");
    loop {
        let now = cluster.now();
        let left: Vec<(String, String)> = cluster
            .pods_on_node(node)
            .into_iter()
            .map(|p| {
                (
                    p.metadata.namespace.to_string(),
                    p.metadata.name.to_string(),
                )
            })
            .collect();
        if left.is_empty() {
            return Drained::After(now.saturating_duration_since(start));
        }
        if now.saturating_duration_since(start) >= timeout {
            return Drained::TimedOut(left.into_iter().map(|(_, name)| name).collect());
        }
        for (namespace, name) in &left {
            let pod = cluster.pod(&ObjectKey::new(namespace.as_str(), name.as_str()));
            if pod.is_some_and(|p| p.metadata.deletion_timestamp.is_none()) {
                // 201: on its way out; 429: the budget says not now, try again in 5 s.
                let _ = cluster.evict_pod(now, Eviction::new(namespace, name));
            }
        }
        cluster.advance_by(Duration::from_secs(5));
    }
}

/// A cluster of `nodes` Ready nodes running a ReplicaSet of `replicas` web pods under a PDB
/// with `minAvailable: min_available`, every pod Running and Ready.
pub fn web_cluster(nodes: usize, replicas: i32, min_available: i32) -> Cluster {
    let mut cluster = Cluster::default();
    let t0 = SimTime::ZERO;
    for i in 0..nodes {
        cluster
            .create(t0, Node::ready(&format!("node-{i}")), false)
            .unwrap();
    }
    let web = [("app", "web")];
    cluster
        .create(t0, ReplicaSet::new("default", "web", replicas, web), false)
        .unwrap();
    let pdb = PodDisruptionBudget::min_available(
        "default",
        "web",
        min_available,
        LabelSelector::matching(web),
    );
    cluster.create(t0, pdb, false).unwrap();
    // The ReplicaSet's pods are scheduled and start (2 s each, by default).
    cluster.advance_by(Duration::from_secs(10));
    cluster
}

fn main() {
    let mut cluster = web_cluster(3, 6, 5);
    let outcome = drain(&mut cluster, "node-0", Duration::from_secs(300));
    println!("draining node-0 of 3 nodes, 6 web replicas, minAvailable 5: {outcome:?}");
    println!("budget violations: {}", cluster.budget_violations().len());
    let mut stuck = web_cluster(3, 3, 3);
    let outcome = drain(&mut stuck, "node-0", Duration::from_secs(60));
    println!("draining node-0 of 3 nodes, 3 web replicas, minAvailable 3: {outcome:?}");
    assert!(matches!(outcome, Drained::TimedOut(_)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use evictsim::cluster::Disruption;
    use evictsim::model::{DeleteOptions, Pod};
    use proptest::prelude::*;

    #[test]
    fn a_drain_waits_for_replacements_and_never_breaks_the_budget() {
        let mut cluster = web_cluster(3, 6, 5);
        let outcome = drain(&mut cluster, "node-0", Duration::from_secs(300));
        // One disruption at a time: each evicted pod's replacement must start (2 s) and the
        // 429s are retried every 5 s, so two pods take more than one round.
        assert!(
            matches!(outcome, Drained::After(d) if d >= Duration::from_secs(5)),
            "{outcome:?}"
        );
        assert_eq!(cluster.budget_violations(), []);
    }

    #[test]
    fn a_budget_that_allows_no_disruption_makes_the_drain_time_out() {
        let mut cluster = web_cluster(3, 3, 3);
        let outcome = drain(&mut cluster, "node-0", Duration::from_secs(60));
        assert!(
            matches!(&outcome, Drained::TimedOut(pods) if pods.len() == 1),
            "{outcome:?}"
        );
    }

    #[test]
    fn the_budget_monitor_catches_a_drainer_that_deletes_instead_of_evicting() {
        let mut cluster = web_cluster(3, 3, 3);
        let now = cluster.now();
        let victim = cluster.pods_on_node("node-0")[0].metadata.key();
        cluster
            .delete::<Pod>(now, &victim, &DeleteOptions::default())
            .unwrap();
        let violation = &cluster.budget_violations()[0];
        assert_eq!(violation.disruption, Disruption::Delete);
        assert_eq!((violation.healthy, violation.desired_healthy), (2, 3));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Whatever the shape of the cluster, draining a node through the eviction API
        /// never leaves the budget short, and finishes whenever the budget allows one
        /// disruption and the other nodes have room.
        #[test]
        fn draining_never_breaks_a_budget(nodes in 2usize..5, replicas in 1i32..8, slack in 0i32..3) {
            let min_available = (replicas - slack).max(0);
            let mut cluster = web_cluster(nodes, replicas, min_available);
            let outcome = drain(&mut cluster, "node-0", Duration::from_secs(600));
            prop_assert_eq!(cluster.budget_violations(), &[]);
            if slack > 0 {
                prop_assert!(matches!(outcome, Drained::After(_)), "{:?}", outcome);
            }
        }
    }
}
