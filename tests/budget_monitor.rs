//! The budget monitor: every moment a client's eviction or DELETE took a healthy pod away
//! while a PDB selecting it was left below `desiredHealthy`.

use std::time::Duration;

use evictsim::cluster::{
    BudgetViolation, Cluster, ClusterConfig, Disruption, Latencies, Subresource,
};
use evictsim::model::{
    DeleteOptions, Eviction, LabelSelector, ObjectKey, Pod, PodDisruptionBudget,
};
use evictsim::time::SimTime;

fn web(config: ClusterConfig, pods: usize, min_available: i32) -> Cluster {
    let mut cluster = Cluster::new(config);
    for i in 0..pods {
        let pod =
            Pod::running("default", &format!("web-{i}"), "node-1").with_labels([("app", "web")]);
        cluster.load(SimTime::ZERO, pod).unwrap();
    }
    let selector = LabelSelector::matching([("app", "web")]);
    let pdb = PodDisruptionBudget::min_available("default", "web", min_available, selector);
    cluster.load(SimTime::ZERO, pdb).unwrap();
    cluster
}

#[test]
fn evictions_the_budget_allows_are_not_violations() {
    let mut cluster = web(ClusterConfig::default(), 3, 2);
    cluster
        .evict_pod(SimTime::ZERO, Eviction::new("default", "web-0"))
        .unwrap();
    let refused = cluster.evict_pod(SimTime::ZERO, Eviction::new("default", "web-1"));
    assert_eq!(refused.unwrap_err().code(), 429);
    assert_eq!(cluster.budget_violations(), []);
}

/// Three pods under `minAvailable: 2`, the PDB's status lagging five seconds behind the pods
/// (as a busy controller's does), and web-0 just turned unready: the status still says one
/// disruption is allowed. Returns the cluster and the instant.
fn web_0_unready_under_a_slow_controller() -> (Cluster, SimTime) {
    let config = ClusterConfig {
        latencies: Latencies {
            disruption_sync: Duration::from_secs(5),
            ..Latencies::default()
        },
        ..ClusterConfig::default()
    };
    let mut cluster = web(config, 3, 2);
    cluster.advance_by(Duration::from_secs(5));
    let now = cluster.now();
    let unready = cluster
        .pod(&ObjectKey::new("default", "web-0"))
        .unwrap()
        .clone()
        .unready();
    cluster
        .update(now, unready, Subresource::Status, false)
        .unwrap();
    assert_eq!(
        cluster
            .pdb(&ObjectKey::new("default", "web"))
            .unwrap()
            .status
            .disruptions_allowed,
        1
    );
    (cluster, now)
}

/// The violation an eviction of web-1 at `now` records in that cluster: one healthy pod of
/// two desired.
fn web_1_taken(now: SimTime) -> [BudgetViolation; 1] {
    [BudgetViolation {
        at: now,
        pdb: ObjectKey::new("default", "web"),
        pod: ObjectKey::new("default", "web-1"),
        disruption: Disruption::Eviction,
        healthy: 1,
        desired_healthy: 2,
    }]
}

#[test]
fn a_pod_turning_unready_under_a_slow_disruption_controller_lets_an_eviction_break_the_budget() {
    let (mut cluster, now) = web_0_unready_under_a_slow_controller();
    // An eviction of a Ready pod is admitted, leaving one healthy pod of two desired.
    cluster
        .evict_pod(now, Eviction::new("default", "web-1"))
        .unwrap();
    assert_eq!(cluster.budget_violations(), web_1_taken(now));
}

/// The same break with an eviction whose delete removes the pod at once (grace period 0):
/// the monitor reads the labels of the pod's last state, no longer stored.
#[test]
fn an_eviction_that_removes_the_pod_at_once_is_recorded_too() {
    let (mut cluster, now) = web_0_unready_under_a_slow_controller();
    let mut eviction = Eviction::new("default", "web-1");
    eviction.delete_options = Some(DeleteOptions {
        grace_period_seconds: Some(0),
        ..DeleteOptions::default()
    });
    cluster.evict_pod(now, eviction).unwrap();
    assert!(cluster.pod(&ObjectKey::new("default", "web-1")).is_none());
    assert_eq!(cluster.budget_violations(), web_1_taken(now));
}

#[test]
fn deletes_are_not_guarded_and_are_recorded() {
    let mut cluster = web(ClusterConfig::default(), 2, 2);
    let key = ObjectKey::new("default", "web-0");
    cluster
        .delete::<Pod>(SimTime::ZERO, &key, &DeleteOptions::default())
        .unwrap();
    let violations = cluster.budget_violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(
        (
            violations[0].disruption,
            violations[0].healthy,
            violations[0].desired_healthy
        ),
        (Disruption::Delete, 1, 2)
    );
    // Deleting the already-terminating pod again takes nothing more away.
    cluster
        .delete::<Pod>(SimTime::ZERO, &key, &DeleteOptions::default())
        .unwrap();
    assert_eq!(cluster.budget_violations().len(), 1);
}

#[test]
fn dry_runs_and_unready_pods_are_not_disruptions() {
    let mut cluster = web(ClusterConfig::default(), 2, 2);
    let dry = DeleteOptions {
        dry_run: Some(vec!["All".into()]),
        ..DeleteOptions::default()
    };
    cluster
        .delete::<Pod>(SimTime::ZERO, &ObjectKey::new("default", "web-0"), &dry)
        .unwrap();
    let unready = Pod::running("default", "web-9", "node-1")
        .with_labels([("app", "web")])
        .unready();
    cluster.load(SimTime::ZERO, unready).unwrap();
    cluster
        .delete::<Pod>(
            SimTime::ZERO,
            &ObjectKey::new("default", "web-9"),
            &DeleteOptions::default(),
        )
        .unwrap();
    assert_eq!(cluster.budget_violations(), []);
}
