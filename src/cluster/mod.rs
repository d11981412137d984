//! The state machine. Everything the simulated cluster *is* lives in one [`Cluster`].
//!
//! # Calling contract
//!
//! Methods come in four families:
//! - **Queries** take `&self` and no time: [`Cluster::get`], [`Cluster::list`],
//!   [`Cluster::pod`], [`Cluster::pdb`], [`Cluster::pods_on_node`], [`Cluster::now`].
//! - **Commands** take `&mut self` and `now`, first fire every timer due by `now`, then act,
//!   then let the controllers react at the same instant (unless a latency is configured).
//!   They are all-or-nothing: an `Err` leaves the cluster as it was — with the two
//!   exceptions upstream itself has, which evictsim reproduces: an eviction whose final
//!   delete fails keeps its PDB decrement and `DisruptionTarget` condition (E24, E34).
//! - **Time**: [`Cluster::next_deadline`] says when something is next due and why;
//!   [`Cluster::advance_to`] fires everything due, in `(deadline, scheduling order)`.
//! - **Output**: the append-only event log, read by cursor with [`Cluster::events_since`].
//!
//! Time never goes backwards: a command or `advance_to` with a `now` earlier than the
//! cluster's clock panics.
//!
//! Each family has its file: `queries.rs`, `commands/` (objects, eviction), `advance.rs`;
//! every command's writes go through the one write path in `write.rs`, and each stored
//! kind's observers (indexes, controller queues) are in `stored_kind.rs`. This file holds the
//! `Cluster` value itself and the types its methods share.

mod advance;
mod bucket_hint;
mod commands;
mod config;
pub mod deletion;
pub mod disruption;
pub mod endpoints;
mod event_log;
mod events;
pub mod eviction;
pub mod history;
pub mod kubelet;
mod pdb_index;
mod pod_facts;
mod pod_index;
mod queries;
pub mod rate_limit;
pub mod scheduler;
mod shared_parts;
mod sorted_set;
mod store;
mod stored_kind;
mod timers;
mod work_queue;
pub mod workloads;
mod write;

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use serde::Serialize;

pub use crate::model::KubernetesVersion;
pub use commands::{DryRunStore, PdbLookup};
pub use config::{
    ClusterConfig, Controllers, DEFAULT_EVENT_RETENTION, DEFAULT_MAX_OBJECTS, Latencies,
};
pub use events::{Event, EventKind, WriteVerb};
pub use eviction::{EvictionOutcome, EvictionRequest, EvictionStore};
pub use queries::Footprint;
pub use rate_limit::{RateLimit, TokenBucket};
pub use store::Store;
pub use stored_kind::StoredKind;
pub(crate) use timers::TimerRef;
pub use timers::{Timer, TimerQueue};

use crate::model::{
    DaemonSet, Deployment, EndpointSlice, Endpoints, Node, ObjectKey, Pod, PodDisruptionBudget,
    ReplicaSet, ReplicationController, Service, SmolStr, StatefulSet, Uid,
};
use crate::time::{SimTime, WallClock};

/// The cluster's look-up tables: hashbrown with a fixed-seed foldhash, fast on the short
/// strings keys are made of. Only looked up, never iterated into an output (determinism).
pub(crate) type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;
/// The set form of [`FastMap`].
pub(crate) type FastSet<T> = hashbrown::HashSet<T, foldhash::fast::FixedState>;

/// Who made a write: controllers do not re-trigger themselves on their own writes.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client request.
    Api,
    /// The disruption controller.
    DisruptionController,
    /// A kubelet.
    Kubelet,
    /// The endpoints controllers.
    Endpoints,
    /// The workload controllers and the scheduler.
    Workloads,
}

/// A deadline and why it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// When.
    pub at: SimTime,
    /// What will happen.
    pub timer: Timer,
}

/// Who deletes an object, which says what the delete logs and whom its removal wakes.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleter {
    /// A client of the API (a user, kubectl, a controller, the eviction handler): the API
    /// server's stamping is logged as a deletion step, and every write wakes the watchers.
    Client,
    /// The kubelet's own delete with grace 0 after the pod's containers stopped (K5, step
    /// 5/6), which the kubelet logs itself. A delete that removes the pod (its stamp with
    /// grace 0 written first, then the removal) wakes no kubelet: the sync it would queue
    /// would find the pod gone, only to forget the kubelet's entry for it, which the kubelet
    /// forgets itself once its delete returns. A stamp that does not remove the pod (a
    /// finalizer holds it) wakes the kubelet as any write does.
    Kubelet,
}

impl Deleter {
    pub(crate) fn logs_steps(self) -> bool {
        self == Deleter::Client
    }

    /// The origin of the writes of a delete that removes the object: the stamp written
    /// first, if any, and the removal.
    pub(crate) fn removal_origin(self) -> Origin {
        match self {
            Deleter::Client => Origin::Api,
            Deleter::Kubelet => Origin::Kubelet,
        }
    }
}

/// How a client took a pod away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Disruption {
    /// An admitted eviction (`POST …/pods/{name}/eviction`).
    Eviction,
    /// A DELETE of the pod, which no budget guards.
    Delete,
}

/// A moment when a client's disruption took a healthy pod away while a PDB selecting it
/// could not afford it: afterwards fewer of the PDB's pods were healthy (Ready and not
/// terminating) than its `desiredHealthy`, computed afresh from its spec and the pods.
/// This is what every drainer test asserts never happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetViolation {
    /// When.
    pub at: SimTime,
    /// The PDB left short.
    pub pdb: ObjectKey,
    /// The pod taken away.
    pub pod: ObjectKey,
    /// How.
    pub disruption: Disruption,
    /// Healthy pods left.
    pub healthy: i64,
    /// The PDB's `desiredHealthy`.
    pub desired_healthy: i64,
}

/// How many [`BudgetViolation`]s a cluster keeps (the first ones; later ones are counted).
pub const MAX_RECORDED_BUDGET_VIOLATIONS: usize = 10_000;

/// The result of a DELETE.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteResult<T> {
    /// The object as the API answers it: its last stored state (or the state it would have,
    /// on a dry run), shared with the store rather than copied.
    pub object: Arc<T>,
    /// Whether it was removed from storage.
    pub removed: bool,
}

/// Which part of an object a PUT writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// The main resource: spec and metadata; the status is kept as stored.
    Main,
    /// The `status` subresource: status only.
    Status,
}

/// The simulated API server and controllers: one deterministic state machine.
///
/// # Examples
/// ```
/// use evictsim::cluster::Cluster;
/// use evictsim::model::{Eviction, ObjectKey, Pod};
/// use evictsim::time::SimTime;
///
/// let mut cluster = Cluster::default();
/// let pod: Pod = serde_json::from_str(r#"{
///     "metadata": {"name": "web-1", "namespace": "default"},
///     "spec": {"nodeName": "node-1"},
///     "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
/// }"#).unwrap();
/// cluster.load(SimTime::ZERO, pod).unwrap();
///
/// let eviction: Eviction = serde_json::from_str(
///     r#"{"metadata": {"name": "web-1", "namespace": "default"}}"#).unwrap();
/// cluster.evict(SimTime::ZERO, "default", "web-1", eviction, &[]).unwrap();
///
/// let pod = cluster.pod(&ObjectKey::new("default", "web-1")).unwrap();
/// assert_eq!(pod.metadata.deletion_grace_period_seconds, Some(30));
/// ```
#[derive(Debug, Clone)]
pub struct Cluster {
    pub(crate) config: ClusterConfig,
    pub(crate) clock: WallClock,
    pub(crate) now: SimTime,
    revision: u64,
    /// How many writes of objects other than pods the stores have taken, from 1: a
    /// budget's expected scale (C7) reads only controllers, and its desired healthy pods
    /// (C6) that and the budget's spec, so figures worked out at this version hold until it
    /// moves. Status writes in place (a ReplicaSet's counts, a budget's status) change
    /// neither and do not move it.
    controllers_version: u64,
    rng: ChaCha8Rng,
    pub(crate) pods: Store<Pod>,
    pub(crate) pdbs: Store<PodDisruptionBudget>,
    pub(crate) nodes: Store<Node>,
    pub(crate) replica_sets: Store<ReplicaSet>,
    pub(crate) deployments: Store<Deployment>,
    pub(crate) stateful_sets: Store<StatefulSet>,
    pub(crate) daemon_sets: Store<DaemonSet>,
    pub(crate) replication_controllers: Store<ReplicationController>,
    pub(crate) services: Store<Service>,
    pub(crate) endpoints: Store<Endpoints>,
    pub(crate) endpoint_slices: Store<EndpointSlice>,
    pod_index: pod_index::PodIndex,
    pub(crate) node_load: scheduler::NodeLoad,
    pdb_index: pdb_index::PdbIndex,
    shared_parts: shared_parts::SharedParts,
    pod_templates: workloads::PodTemplates,
    last_container_statuses: kubelet::LastContainerStatuses,
    replica_statuses: workloads::ReplicaStatuses,
    pub(crate) timers: TimerQueue,
    events: event_log::EventLog,
    watch_history: history::WatchHistory,
    disruption_queue: work_queue::WorkQueue<ObjectKey>,
    kubelet_queue: work_queue::WorkQueue<ObjectKey>,
    endpoints_queue: work_queue::WorkQueue<ObjectKey>,
    workload_queue: work_queue::WorkQueue<workloads::WorkloadRef>,
    schedule_queue: work_queue::WorkQueue<ObjectKey>,
    garbage_queue: work_queue::WorkQueue<Uid>,
    /// What each kubelet is doing with its pods; looked up by key, never iterated.
    pub(crate) kubelet_pods: FastMap<ObjectKey, kubelet::KubeletPod>,
    /// The stored nodes whose `Ready` condition is not `True`, whose kubelets are down:
    /// kept by the node observer so that a kubelet sync asks a set (empty in a healthy
    /// cluster) instead of reading the node's conditions. Looked up, never iterated.
    pub(crate) unready_nodes: FastSet<SmolStr>,
    pub(crate) next_pod_ip: u32,
    rate_limiter: Option<TokenBucket>,
    budget_violations: Vec<BudgetViolation>,
    /// While set, controllers queue their reactions instead of running them.
    deferring: bool,
}

// A cluster can be read from several threads at once (a program's parallel what-ifs over
// one snapshot): caches filled through `&Cluster` use atomics or `OnceLock`, never `Cell`.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Cluster>()
};

impl Default for Cluster {
    fn default() -> Self {
        Cluster::new(ClusterConfig::default())
    }
}

impl Cluster {
    /// A new, empty cluster.
    pub fn new(config: ClusterConfig) -> Self {
        Cluster {
            clock: WallClock::new(config.start),
            now: SimTime::ZERO,
            revision: 0,
            controllers_version: 1,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            pods: Store::default(),
            pdbs: Store::default(),
            nodes: Store::default(),
            replica_sets: Store::default(),
            deployments: Store::default(),
            stateful_sets: Store::default(),
            daemon_sets: Store::default(),
            replication_controllers: Store::default(),
            services: Store::default(),
            endpoints: Store::default(),
            endpoint_slices: Store::default(),
            pod_index: pod_index::PodIndex::default(),
            node_load: scheduler::NodeLoad::default(),
            pdb_index: pdb_index::PdbIndex::default(),
            shared_parts: shared_parts::SharedParts::default(),
            pod_templates: workloads::PodTemplates::default(),
            last_container_statuses: kubelet::LastContainerStatuses::default(),
            replica_statuses: workloads::ReplicaStatuses::default(),
            timers: TimerQueue::default(),
            events: event_log::EventLog::default(),
            watch_history: history::WatchHistory::default(),
            disruption_queue: work_queue::WorkQueue::default(),
            kubelet_queue: work_queue::WorkQueue::default(),
            endpoints_queue: work_queue::WorkQueue::default(),
            workload_queue: work_queue::WorkQueue::default(),
            schedule_queue: work_queue::WorkQueue::default(),
            garbage_queue: work_queue::WorkQueue::default(),
            kubelet_pods: FastMap::default(),
            unready_nodes: FastSet::default(),
            next_pod_ip: 0,
            rate_limiter: config.rate_limit.map(TokenBucket::new),
            budget_violations: Vec::new(),
            deferring: false,
            config,
        }
    }
}
