//! Proptest strategies for evictsim's domain types (feature `proptest`), so users can
//! property-test their own eviction logic against the simulator.
//!
//! The strategies draw from a deliberately small vocabulary (three label keys, three values)
//! so that selectors and pods collide often. [`ClusterSnapshot`] builds a consistent cluster:
//! 1–3 Ready nodes, one ReplicaSet owning every pod (each bound to one of those nodes), and
//! PDBs over those pods; [`Operation`] drives it. Every strategy below says what it
//! generates; shrinking moves towards fewer pods, PDBs and operations.
//!
//! # Examples
//! ```
//! use evictsim::proptest::{cluster_snapshot, operations};
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! runner.run(&(cluster_snapshot(), operations(10)), |(snapshot, ops)| {
//!     let mut cluster = snapshot.build(Default::default());
//!     let mut now = evictsim::time::SimTime::ZERO;
//!     for op in &ops {
//!         op.apply(&mut cluster, &mut now);
//!     }
//!     prop_assert!(cluster.events().len() >= snapshot.pods.len());
//!     Ok(())
//! }).unwrap();
//! ```

use std::time::Duration;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::json;

use evictsim::cluster::{Cluster, ClusterConfig, Subresource};
use evictsim::model::{
    DeleteOptions, Eviction, IntOrString, LabelSelector, LabelSelectorRequirement, Node, ObjectKey,
    Pod, PodDisruptionBudget, ReplicaSet, StringMap,
};
use evictsim::time::SimTime;

/// The namespace snapshots live in.
pub const NAMESPACE: &str = "default";
const KEYS: [&str; 3] = ["app", "tier", "zone"];
const VALUES: [&str; 3] = ["a", "b", "c"];

/// A label set of 0–3 pairs over the keys `app`, `tier`, `zone` and the values `a`, `b`,
/// `c`.
pub fn labels() -> impl Strategy<Value = StringMap> {
    btree_map(
        prop::sample::select(KEYS.to_vec()).prop_map(String::from),
        prop::sample::select(VALUES.to_vec()).prop_map(String::from),
        0..=3,
    )
    .prop_map(StringMap::from)
}

/// A valid `LabelSelector` over the same vocabulary: 0–3 `matchLabels` pairs plus at most
/// one `In`/`NotIn`/`Exists`/`DoesNotExist` expression; `{}` (select everything) included.
pub fn label_selector() -> impl Strategy<Value = LabelSelector> {
    let expression = (
        prop::sample::select(KEYS.to_vec()),
        prop::sample::select(vec!["In", "NotIn", "Exists", "DoesNotExist"]),
        vec(prop::sample::select(VALUES.to_vec()), 1..=2),
    )
        .prop_map(|(key, operator, values)| LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: matches!(operator, "In" | "NotIn")
                .then(|| values.into_iter().map(String::from).collect()),
        });
    (labels(), vec(expression, 0..=1)).prop_map(|(match_labels, expressions)| LabelSelector {
        match_labels: (!match_labels.is_empty()).then_some(match_labels),
        match_expressions: (!expressions.is_empty()).then_some(expressions),
    })
}

/// A `minAvailable` / `maxUnavailable` value: an integer 0–6, or a percentage 0–100%.
pub fn int_or_percent() -> impl Strategy<Value = IntOrString> {
    prop_oneof![
        (0i32..=6).prop_map(IntOrString::Int),
        (0i64..=100).prop_map(|p| IntOrString::String(format!("{p}%").into())),
    ]
}

/// One pod's state in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct PodState {
    /// Labels.
    pub labels: StringMap,
    /// `Running` (most often), `Pending`, `Succeeded` or `Failed`.
    pub phase: &'static str,
    /// The `Ready` condition.
    pub ready: bool,
    /// Whether it is already terminating.
    pub terminating: bool,
}

/// A pod's state: [`labels`]; `Running` four times in seven, else `Pending`, `Succeeded`
/// or `Failed`; Ready 80% of the time; already terminating 10% of the time.
pub fn pod_state() -> impl Strategy<Value = PodState> {
    (
        labels(),
        prop::sample::select(vec![
            "Running",
            "Running",
            "Running",
            "Running",
            "Pending",
            "Succeeded",
            "Failed",
        ]),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(labels, phase, ready, terminating)| PodState {
            labels,
            phase,
            ready,
            terminating,
        })
}

/// What a PDB guarantees.
#[derive(Debug, Clone, PartialEq)]
pub enum Budget {
    /// `spec.minAvailable`.
    MinAvailable(IntOrString),
    /// `spec.maxUnavailable`.
    MaxUnavailable(IntOrString),
}

/// One PDB of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct PdbState {
    /// The selector.
    pub selector: LabelSelector,
    /// `minAvailable` or `maxUnavailable`.
    pub budget: Budget,
    /// `unhealthyPodEvictionPolicy`.
    pub policy: Option<&'static str>,
}

/// A PDB's spec: a [`label_selector`], a [`Budget`] of either kind over
/// [`int_or_percent`], and no `unhealthyPodEvictionPolicy`, `IfHealthyBudget` or
/// `AlwaysAllow`.
pub fn pdb_state() -> impl Strategy<Value = PdbState> {
    (
        label_selector(),
        prop_oneof![
            int_or_percent().prop_map(Budget::MinAvailable),
            int_or_percent().prop_map(Budget::MaxUnavailable)
        ],
        prop::sample::select(vec![None, Some("IfHealthyBudget"), Some("AlwaysAllow")]),
    )
        .prop_map(|(selector, budget, policy)| PdbState {
            selector,
            budget,
            policy,
        })
}

/// A consistent cluster: Ready nodes `node-0`, `node-1`, …; one ReplicaSet `rs` with
/// `replicas`, owning every pod; PDBs over those pods.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSnapshot {
    /// How many Ready nodes there are; pod `i` is bound to `node-{i % nodes}`.
    pub nodes: usize,
    /// The ReplicaSet's `spec.replicas`.
    pub replicas: i32,
    /// Pods `p0`, `p1`, … in order.
    pub pods: Vec<PodState>,
    /// PDBs `pdb0`, `pdb1`, … in order.
    pub pdbs: Vec<PdbState>,
}

/// A snapshot with 1–3 nodes, a ReplicaSet of 0–12 replicas, 1–12 pods ([`pod_state`]) and
/// 0–3 PDBs ([`pdb_state`]).
pub fn cluster_snapshot() -> impl Strategy<Value = ClusterSnapshot> {
    (
        1usize..=3,
        0i32..=12,
        vec(pod_state(), 1..=12),
        vec(pdb_state(), 0..=3),
    )
        .prop_map(|(nodes, replicas, pods, pdbs)| ClusterSnapshot {
            nodes,
            replicas,
            pods,
            pdbs,
        })
}

impl ClusterSnapshot {
    /// The pod object for pod `i`.
    pub fn pod(&self, i: usize, rs_uid: &str, now: evictsim::time::Time) -> Pod {
        let state = &self.pods[i];
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("p{i}"), "namespace": NAMESPACE,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": rs_uid, "controller": true}]},
            "spec": {"nodeName": format!("node-{}", i % self.nodes.max(1))},
            "status": {"phase": state.phase, "conditions": [{"type": "Ready", "status": if state.ready { "True" } else { "False" }}]},
        }))
        .unwrap_or_default();
        pod.metadata.labels = state.labels.clone();
        if state.terminating {
            pod.metadata.deletion_timestamp = Some(now.plus_seconds(30));
            pod.metadata.deletion_grace_period_seconds = Some(30);
        }
        pod
    }

    /// The PDB object for PDB `i`.
    pub fn pdb(&self, i: usize) -> PodDisruptionBudget {
        let state = &self.pdbs[i];
        let mut pdb = PodDisruptionBudget::default();
        pdb.metadata.name = format!("pdb{i}").into();
        pdb.metadata.namespace = NAMESPACE.into();
        pdb.spec.selector = Some(state.selector.clone());
        match &state.budget {
            Budget::MinAvailable(v) => pdb.spec.min_available = Some(v.clone()),
            Budget::MaxUnavailable(v) => pdb.spec.max_unavailable = Some(v.clone()),
        }
        pdb.spec.unhealthy_pod_eviction_policy = state.policy.map(String::from);
        pdb
    }

    /// Builds the cluster (objects loaded as a scenario's are; every PDB synced).
    pub fn build(&self, config: ClusterConfig) -> Cluster {
        let mut cluster = Cluster::new(config);
        cluster.defer_reactions();
        for i in 0..self.nodes.max(1) {
            cluster
                .load(SimTime::ZERO, Node::ready(&format!("node-{i}")))
                .expect("valid Node");
        }
        let mut rs = ReplicaSet::default();
        rs.metadata.name = "rs".into();
        rs.metadata.namespace = NAMESPACE.into();
        rs.spec.replicas = Some(self.replicas);
        rs.spec.selector = Some(LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "app".into(),
                operator: "Exists".into(),
                values: None,
            }]),
        });
        let rs = cluster.load(SimTime::ZERO, rs).expect("valid ReplicaSet");
        let now = cluster.wall_now();
        for i in 0..self.pods.len() {
            cluster
                .load(SimTime::ZERO, self.pod(i, &rs.metadata.uid.text(), now))
                .expect("valid pod");
        }
        for i in 0..self.pdbs.len() {
            cluster.load(SimTime::ZERO, self.pdb(i)).expect("valid PDB");
        }
        cluster.resume_reactions(SimTime::ZERO);
        for i in 0..self.pdbs.len() {
            cluster.resync_pdb(SimTime::ZERO, &ObjectKey::new(NAMESPACE, format!("pdb{i}")));
        }
        cluster
    }
}

/// Something that happens to a snapshot cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Evict pod `p{0}`, optionally as a dry run, optionally with a grace period.
    Evict(usize, bool, Option<i64>),
    /// Set pod `p{0}`'s Ready condition.
    SetReady(usize, bool),
    /// DELETE pod `p{0}` with a grace period.
    Delete(usize, Option<i64>),
    /// Advance the clock by this many seconds.
    Advance(u64),
}

/// Up to `max` operations, weighted: evictions 4 (one in five a dry run, half with a grace
/// period 0–60 s), Ready flips 2, DELETEs 1, clock advances of 1–180 s 1.
pub fn operations(max: usize) -> impl Strategy<Value = Vec<Operation>> {
    let op = prop_oneof![
        4 => (0usize..12, prop::bool::weighted(0.2), prop::option::of(0i64..=60)).prop_map(|(i, d, g)| Operation::Evict(i, d, g)),
        2 => (0usize..12, any::<bool>()).prop_map(|(i, r)| Operation::SetReady(i, r)),
        1 => (0usize..12, prop::option::of(0i64..=60)).prop_map(|(i, g)| Operation::Delete(i, g)),
        1 => (1u64..=180).prop_map(Operation::Advance),
    ];
    vec(op, 0..=max)
}

impl Operation {
    /// Applies the operation at `*now` (advancing it for [`Operation::Advance`]); returns the
    /// eviction's or delete's result code, if it was one.
    pub fn apply(&self, cluster: &mut Cluster, now: &mut SimTime) -> Option<u16> {
        let key = |i: &usize| ObjectKey::new(NAMESPACE, format!("p{i}"));
        match self {
            Operation::Evict(i, dry_run, grace) => {
                let mut eviction = Eviction::default();
                eviction.metadata.name = format!("p{i}").into();
                eviction.metadata.namespace = NAMESPACE.into();
                eviction.delete_options = Some(DeleteOptions {
                    grace_period_seconds: *grace,
                    dry_run: dry_run.then(|| vec!["All".to_string()]),
                    ..DeleteOptions::default()
                });
                Some(
                    match cluster.evict(*now, NAMESPACE, &format!("p{i}"), eviction, &[]) {
                        Ok(_) => 201,
                        Err(e) => e.code(),
                    },
                )
            }
            Operation::SetReady(i, ready) => {
                let mut pod = cluster.pod(&key(i))?.clone();
                pod.status.conditions.retain(|c| c.type_ != "Ready");
                pod.status.conditions.push(
                    serde_json::from_value(
                        json!({"type": "Ready", "status": if *ready { "True" } else { "False" }}),
                    )
                    .ok()?,
                );
                cluster
                    .update(*now, pod, Subresource::Status, false)
                    .ok()
                    .map(|_| 200)
            }
            Operation::Delete(i, grace) => {
                let options = DeleteOptions {
                    grace_period_seconds: *grace,
                    ..DeleteOptions::default()
                };
                Some(match cluster.delete::<Pod>(*now, &key(i), &options) {
                    Ok(_) => 200,
                    Err(e) => e.code(),
                })
            }
            Operation::Advance(seconds) => {
                *now = *now + Duration::from_secs(*seconds);
                cluster.advance_to(*now);
                None
            }
        }
    }
}
