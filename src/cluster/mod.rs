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

pub mod deletion;
pub mod disruption;
pub mod endpoints;
mod events;
pub mod eviction;
pub mod history;
pub mod kubelet;
mod pdb_index;
mod pod_facts;
mod pod_index;
pub mod rate_limit;
pub mod scheduler;
mod shared_parts;
mod sorted_set;
mod store;
mod timers;
mod work_queue;
pub mod workloads;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

pub use events::{Event, EventKind, WriteVerb};
pub use eviction::{EvictionOutcome, EvictionRequest, EvictionStore};
pub use rate_limit::{RateLimit, TokenBucket};
pub use store::Store;
pub use timers::{Timer, TimerQueue};

use crate::error::{ApiError, FieldError};
use crate::model::GoQuoted;
use crate::model::{
    DISRUPTION_TARGET, DaemonSet, DeleteOptions, Deployment, EVICTION_API_MESSAGE,
    EVICTION_BY_EVICTION_API, EndpointSlice, Endpoints, Eviction, Node, ObjectKey, Pod,
    PodCondition, PodDisruptionBudget, Preconditions, ReplicaSet, ReplicationController, Resource,
    ResourceVersion, Service, SmolStr, StatefulSet, Uid, Unmodeled, validate_delete_options,
    validate_object_meta,
};
use crate::time::{SimTime, Time, WallClock};
use deletion::DeletePlan;
use pod_facts::{FactsBeforeChange, PodFacts};

/// The cluster's look-up tables: hashbrown with a fixed-seed foldhash, fast on the short
/// strings keys are made of. Only looked up, never iterated into an output (determinism).
pub(crate) type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;
/// The set form of [`FastMap`].
pub(crate) type FastSet<T> = hashbrown::HashSet<T, foldhash::fast::FixedState>;

/// The upstream release whose behaviour the cluster reproduces (the V rules of `docs/rules.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum KubernetesVersion {
    /// 1.30.
    V1_30,
    /// 1.31.
    V1_31,
    /// 1.32: E5 (V2).
    V1_32,
    /// 1.33: the G9 clamp (V4), pod generation (V5).
    V1_33,
    /// 1.34: the disruption controller's condition reset writes `observedGeneration` (V11);
    /// streaming lists are served (V10).
    V1_34,
    /// 1.35: the 429's cause text follows the PDB's condition (V7); an undecodable DELETE
    /// body is a 400 (V12); aggregated discovery v2beta1 is no longer served (V18).
    V1_35,
    /// 1.36: no server-side change to eviction (kubectl's changes are client-side).
    V1_36,
    /// 1.37, the newest modelled release and the default: the PDB 403s carry a cause (V8).
    #[default]
    V1_37,
}

impl KubernetesVersion {
    /// The minor version number.
    pub fn minor(self) -> u32 {
        match self {
            KubernetesVersion::V1_30 => 30,
            KubernetesVersion::V1_31 => 31,
            KubernetesVersion::V1_32 => 32,
            KubernetesVersion::V1_33 => 33,
            KubernetesVersion::V1_34 => 34,
            KubernetesVersion::V1_35 => 35,
            KubernetesVersion::V1_36 => 36,
            KubernetesVersion::V1_37 => 37,
        }
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor())
    }
}

impl FromStr for KubernetesVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let trimmed = s.trim().trim_start_matches('v');
        let minor = trimmed
            .strip_prefix("1.")
            .map(|rest| rest.split('.').next().unwrap_or(rest));
        match minor {
            Some("30") => Ok(KubernetesVersion::V1_30),
            Some("31") => Ok(KubernetesVersion::V1_31),
            Some("32") => Ok(KubernetesVersion::V1_32),
            Some("33") => Ok(KubernetesVersion::V1_33),
            Some("34") => Ok(KubernetesVersion::V1_34),
            Some("35") => Ok(KubernetesVersion::V1_35),
            Some("36") => Ok(KubernetesVersion::V1_36),
            Some("37") => Ok(KubernetesVersion::V1_37),
            _ => Err(format!(
                "unsupported kubernetesVersion {s:?}: evictsim models 1.30 through 1.37"
            )),
        }
    }
}

impl Serialize for KubernetesVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KubernetesVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Which controllers run. A controller that is off leaves its objects exactly as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Controllers {
    /// The disruption controller (PDB status).
    #[serde(default = "yes")]
    pub disruption: bool,
    /// Endpoints and EndpointSlice controllers.
    #[serde(default = "yes")]
    pub endpoints: bool,
    /// Workload controllers.
    #[serde(default = "yes")]
    pub workloads: bool,
    /// Each node's kubelet.
    #[serde(default = "yes")]
    pub kubelet: bool,
}

fn yes() -> bool {
    true
}

impl Default for Controllers {
    fn default() -> Self {
        Controllers {
            disruption: true,
            endpoints: true,
            workloads: true,
            kubelet: true,
        }
    }
}

/// How long controllers take to react. Zero (the default) means in the same virtual instant
/// as the change they react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latencies {
    /// Delay between a PDB or pod change and the disruption controller's sync of the PDB.
    pub disruption_sync: Duration,
    /// Delay between a pod change and its kubelet noticing it.
    pub kubelet_observe: Duration,
    /// Delay between a pod or Service change and the endpoints controllers' sync.
    pub endpoints_sync: Duration,
}

impl Latencies {
    /// A documented "realistic" set, one setting away from the idealised default: the
    /// kubelet notices a change about a second later (its pod-lifecycle relist runs every
    /// second), and the disruption controller syncs a second after its inputs change.
    pub fn realistic() -> Self {
        Latencies {
            disruption_sync: Duration::from_secs(1),
            kubelet_observe: Duration::from_secs(1),
            endpoints_sync: Duration::from_secs(1),
        }
    }
}

/// Everything that shapes a cluster before its first command.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// Seeds the one RNG (UIDs, generated names).
    pub seed: u64,
    /// Wall-clock time at virtual time zero.
    pub start: Time,
    /// Which release to behave like.
    pub kubernetes_version: KubernetesVersion,
    /// Which controllers run.
    pub controllers: Controllers,
    /// Controller latencies.
    pub latencies: Latencies,
    /// The optional API rate limiter.
    pub rate_limit: Option<RateLimit>,
    /// The most objects (of all kinds together) the store holds; a create beyond it is
    /// refused with [`ApiError::StoreFull`], as etcd refuses writes past its space quota.
    /// Default [`DEFAULT_MAX_OBJECTS`].
    pub max_objects: usize,
    /// How many of the newest events the log keeps. Older ones are compacted away in
    /// batches (as etcd compacts old revisions), so memory stays bounded however long a
    /// simulation runs; sequence numbers keep counting. Default [`DEFAULT_EVENT_RETENTION`].
    pub event_retention: usize,
    /// How containers behave where a pod's behaviour annotations do not say (start-up,
    /// shutdown, preStop; see [`Behaviour`](crate::model::Behaviour)). Default: a
    /// well-behaved web server ([`Behaviour::default`](crate::model::Behaviour)).
    pub default_behaviour: crate::model::Behaviour,
}

/// The sizes of what a [`Cluster`] holds ([`Cluster::footprint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Stored objects of every kind.
    pub objects: usize,
    /// Events retained in the log (at most twice [`ClusterConfig::event_retention`]).
    pub events: usize,
    /// Pending timers.
    pub timers: usize,
    /// Writes kept for watches (at most the retention given to
    /// [`Cluster::keep_watch_history`], plus a tenth).
    pub watch_history: usize,
    /// Pods the kubelets track.
    pub kubelet_pods: usize,
    /// Entries in the pod and PDB indexes (by node, label and owner; PDBs and their pods).
    pub index_entries: usize,
    /// Recorded budget violations (capped).
    pub budget_violations: usize,
}

/// The default [`ClusterConfig::max_objects`]: a million objects, more than six times
/// Kubernetes' published limit of 150,000 pods per cluster.
pub const DEFAULT_MAX_OBJECTS: usize = 1_000_000;

/// The default [`ClusterConfig::event_retention`].
pub const DEFAULT_EVENT_RETENTION: usize = 1_000_000;

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            seed: 1,
            start: crate::time::DEFAULT_START,
            kubernetes_version: KubernetesVersion::default(),
            controllers: Controllers::default(),
            latencies: Latencies::default(),
            rate_limit: None,
            max_objects: DEFAULT_MAX_OBJECTS,
            event_retention: DEFAULT_EVENT_RETENTION,
            default_behaviour: crate::model::Behaviour::default(),
        }
    }
}

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
    events: Vec<Event>,
    /// The sequence number of `events[0]`: how many events compaction has dropped.
    compacted_events: u64,
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

impl Default for Cluster {
    fn default() -> Self {
        Cluster::new(ClusterConfig::default())
    }
}

/// A kind the cluster stores. Implemented for every [`Resource`] in [`crate::model`].
pub trait StoredKind: Resource + Send + Sync {
    #[doc(hidden)]
    fn store(cluster: &Cluster) -> &Store<Self>;
    #[doc(hidden)]
    fn store_mut(cluster: &mut Cluster) -> &mut Store<Self>;
    /// Reacts to a write of this kind at `key` (indexes, controller queues): `new` is the
    /// object as stored, so indexes can share it. Default: nothing.
    #[doc(hidden)]
    fn observe(
        _cluster: &mut Cluster,
        _key: &ObjectKey,
        _old: Option<&Self>,
        _new: Option<&Arc<Self>>,
        _origin: Origin,
    ) {
    }
    /// Follows a stored object replaced without a write event (a given resourceVersion
    /// restored at load), for indexes that hold the object itself. Default: nothing.
    #[doc(hidden)]
    fn replaced_in_place(_cluster: &mut Cluster, _stored: &Arc<Self>) {}
    /// The part of the spec that the objects of one workload have in common, which the
    /// store keeps one copy of (see `shared_parts`). Default: none.
    #[doc(hidden)]
    fn common_spec(&self) -> Option<&Unmodeled> {
        None
    }
    /// [`common_spec`](Self::common_spec), to point it at the stored copy.
    #[doc(hidden)]
    fn common_spec_mut(&mut self) -> Option<&mut Unmodeled> {
        None
    }
    /// The `matchLabels` of the object's own selector, which the store keeps one copy of
    /// per distinct set, as it does of labels (a budget per app repeats across
    /// namespaces). Default: none.
    #[doc(hidden)]
    fn selector_labels(&self) -> Option<&crate::model::StringMap> {
        None
    }
    /// [`selector_labels`](Self::selector_labels), to point it at the stored copy.
    #[doc(hidden)]
    fn selector_labels_mut(&mut self) -> Option<&mut crate::model::StringMap> {
        None
    }
    /// A pod's conditions, which the store keeps one copy of per distinct list (the pods
    /// started together report the same). Default: none.
    #[doc(hidden)]
    fn common_conditions(&self) -> Option<&crate::model::PodConditions> {
        None
    }
    /// [`common_conditions`](Self::common_conditions), to point it at the stored copy.
    #[doc(hidden)]
    fn common_conditions_mut(&mut self) -> Option<&mut crate::model::PodConditions> {
        None
    }
    /// Plans a DELETE. Default: immediate removal unless finalizers keep the object.
    #[doc(hidden)]
    fn plan_delete(
        object: &Self,
        options: &DeleteOptions,
        now: Time,
        _version: KubernetesVersion,
    ) -> Result<DeletePlan<Self>, ApiError> {
        Ok(
            match deletion::plan_plain_delete(Self::KIND, object.metadata(), options, now)? {
                None => DeletePlan::Remove {
                    stamped: None,
                    shortened: false,
                },
                Some(meta) => {
                    let mut updated = object.clone();
                    *updated.metadata_mut() = meta;
                    DeletePlan::Write {
                        updated,
                        shortened: false,
                    }
                }
            },
        )
    }
    /// A DELETE (options validated) that changes the stored object in place rather than
    /// planning on a copy, for kinds that can: `None` to take the planned path.
    #[doc(hidden)]
    fn delete_in_place(
        _cluster: &mut Cluster,
        _key: &ObjectKey,
        _options: &DeleteOptions,
        _log_steps: bool,
    ) -> Option<Result<DeleteResult<Self>, ApiError>> {
        None
    }
}

macro_rules! workload_kind {
    ($ty:ty, $field:ident, $kind:ident) => {
        impl StoredKind for $ty {
            fn store(cluster: &Cluster) -> &Store<Self> {
                &cluster.$field
            }
            fn store_mut(cluster: &mut Cluster) -> &mut Store<Self> {
                &mut cluster.$field
            }
            fn observe(
                cluster: &mut Cluster,
                key: &ObjectKey,
                old: Option<&Self>,
                new: Option<&Arc<Self>>,
                origin: Origin,
            ) {
                if !cluster.config.controllers.workloads {
                    return;
                }
                match (old, new) {
                    (_, Some(_)) if origin != Origin::Workloads => {
                        cluster
                            .workload_queue
                            .insert((crate::model::Kind::$kind, key.clone()));
                    }
                    (Some(old), None) => {
                        cluster.garbage_queue.insert(old.metadata.uid.clone());
                    }
                    _ => {}
                }
            }
        }
    };
}

macro_rules! stored {
    ($ty:ty, $field:ident) => {
        impl StoredKind for $ty {
            fn store(cluster: &Cluster) -> &Store<Self> {
                &cluster.$field
            }
            fn store_mut(cluster: &mut Cluster) -> &mut Store<Self> {
                &mut cluster.$field
            }
        }
    };
}

impl StoredKind for Node {
    fn store(cluster: &Cluster) -> &Store<Self> {
        &cluster.nodes
    }
    fn store_mut(cluster: &mut Cluster) -> &mut Store<Self> {
        &mut cluster.nodes
    }
    fn observe(
        cluster: &mut Cluster,
        _key: &ObjectKey,
        old: Option<&Self>,
        new: Option<&Arc<Self>>,
        _origin: Origin,
    ) {
        let new = new.map(|object| &**object);
        if let Some(node) = new.or(old) {
            cluster.node_load.node_changed(&node.metadata.name, new);
            if new.is_some_and(|node| !kubelet::node_ready(node)) {
                cluster.unready_nodes.insert(node.metadata.name.clone());
            } else {
                cluster.unready_nodes.remove(&node.metadata.name);
            }
        }
        // A node that comes back (or goes) changes what its kubelet can do.
        if let Some(node) = new.or(old) {
            let keys: Vec<ObjectKey> = cluster
                .pod_index
                .on_node(&node.metadata.name)
                .cloned()
                .collect();
            cluster.kubelet_queue.extend(keys);
        }
        // ... where DaemonSets want pods, and where pending pods can go.
        if cluster.config.controllers.workloads {
            let daemon_sets = cluster.daemon_sets_to_sync();
            cluster.workload_queue.extend(daemon_sets);
            let unscheduled: Vec<ObjectKey> = cluster.pod_index.on_node("").cloned().collect();
            cluster.schedule_queue.extend(unscheduled);
        }
    }
}
workload_kind!(ReplicaSet, replica_sets, ReplicaSet);
workload_kind!(Deployment, deployments, Deployment);
workload_kind!(StatefulSet, stateful_sets, StatefulSet);
workload_kind!(DaemonSet, daemon_sets, DaemonSet);
workload_kind!(
    ReplicationController,
    replication_controllers,
    ReplicationController
);
impl StoredKind for Service {
    fn store(cluster: &Cluster) -> &Store<Self> {
        &cluster.services
    }
    fn store_mut(cluster: &mut Cluster) -> &mut Store<Self> {
        &mut cluster.services
    }
    fn observe(
        cluster: &mut Cluster,
        key: &ObjectKey,
        old: Option<&Self>,
        new: Option<&Arc<Self>>,
        _origin: Origin,
    ) {
        let new = new.map(|object| &**object);
        if cluster.config.controllers.endpoints
            && let Some(selector) = new.and_then(endpoints::service_selector)
        {
            cluster.index_anchor_of(&selector);
        }
        if cluster.config.controllers.endpoints && new.or(old).is_some() {
            cluster.endpoints_queue.insert(key.clone());
        }
    }
}
stored!(Endpoints, endpoints);
stored!(EndpointSlice, endpoint_slices);

impl StoredKind for Pod {
    fn store(cluster: &Cluster) -> &Store<Self> {
        &cluster.pods
    }
    fn store_mut(cluster: &mut Cluster) -> &mut Store<Self> {
        &mut cluster.pods
    }
    // Containers, volumes, tolerations: what a workload's pods have in common.
    fn common_spec(&self) -> Option<&Unmodeled> {
        Some(&self.spec.unmodeled)
    }
    fn common_spec_mut(&mut self) -> Option<&mut Unmodeled> {
        Some(&mut self.spec.unmodeled)
    }
    fn common_conditions(&self) -> Option<&crate::model::PodConditions> {
        Some(&self.status.conditions)
    }
    fn common_conditions_mut(&mut self) -> Option<&mut crate::model::PodConditions> {
        Some(&mut self.status.conditions)
    }
    fn observe(
        cluster: &mut Cluster,
        key: &ObjectKey,
        old: Option<&Self>,
        new: Option<&Arc<Self>>,
        origin: Origin,
    ) {
        let old = old.map(PodFacts::of);
        cluster.observe_pod(key, old.as_ref(), new.map(|pod| &**pod), origin);
    }
    fn plan_delete(
        object: &Self,
        options: &DeleteOptions,
        now: Time,
        version: KubernetesVersion,
    ) -> Result<DeletePlan<Self>, ApiError> {
        deletion::plan_pod_delete(object, options, now, version)
    }
    fn delete_in_place(
        cluster: &mut Cluster,
        key: &ObjectKey,
        options: &DeleteOptions,
        log_steps: bool,
    ) -> Option<Result<DeleteResult<Self>, ApiError>> {
        Some(cluster.delete_pod_in_place(key, options, log_steps))
    }
}

impl StoredKind for PodDisruptionBudget {
    fn store(cluster: &Cluster) -> &Store<Self> {
        &cluster.pdbs
    }
    fn selector_labels(&self) -> Option<&crate::model::StringMap> {
        self.spec.selector.as_ref()?.match_labels.as_ref()
    }
    fn selector_labels_mut(&mut self) -> Option<&mut crate::model::StringMap> {
        self.spec.selector.as_mut()?.match_labels.as_mut()
    }
    fn store_mut(cluster: &mut Cluster) -> &mut Store<Self> {
        &mut cluster.pdbs
    }
    fn replaced_in_place(cluster: &mut Cluster, stored: &Arc<Self>) {
        let key = cluster
            .pdbs
            .key(&stored.metadata.namespace, &stored.metadata.name);
        cluster.file_pdb(&key, stored);
    }
    fn observe(
        cluster: &mut Cluster,
        key: &ObjectKey,
        old: Option<&Self>,
        new: Option<&Arc<Self>>,
        origin: Origin,
    ) {
        match (old, new) {
            (_, Some(stored)) => {
                // The index shares the stored object itself.
                cluster.file_pdb(key, stored);
            }
            (Some(_), None) => {
                cluster.pdb_index.remove(key);
                cluster.timers.cancel(&Timer::PdbSync { pdb: key.clone() });
            }
            (None, None) => {}
        }
        // C2: every PDB add/update/delete enqueues it — except the controller's own writes,
        // whose re-sync would compute the same status.
        if cluster.config.controllers.disruption
            && origin != Origin::DisruptionController
            && (new.is_some() || old.is_some())
        {
            cluster.disruption_queue.insert(key.clone());
        }
    }
}

/// An object changed in place, its write not yet recorded.
struct ChangedInPlace<T> {
    /// Its resourceVersion (the next revision).
    revision: SmolStr,
    /// The object as stored now.
    object: Arc<T>,
    /// The version before, when the watch history keeps versions.
    previous: Option<Arc<T>>,
}

/// Applies `change` to the status of the object in `slot` in place, stamping `revision`
/// when it changed something; `None` when it did not. With `keep_history`, the version
/// before is kept for the watch history, so the change is made to a copy.
fn change_status_in_place<T: StoredKind>(
    slot: &mut Arc<T>,
    revision: u64,
    keep_history: bool,
    change: impl FnOnce(&mut T) -> bool,
) -> Option<ChangedInPlace<T>> {
    let previous = keep_history.then(|| Arc::clone(slot));
    #[cfg(debug_assertions)]
    let before = T::clone(slot);
    let object = Arc::make_mut(slot);
    let changed = change(object);
    #[cfg(debug_assertions)]
    {
        debug_assert_eq!(changed, *object != before, "the change says what it did");
        debug_assert!(
            object.metadata() == before.metadata() && !object.spec_differs(&before),
            "a status change leaves metadata and spec alone"
        );
    }
    if !changed {
        return None;
    }
    let revision = revision_text(revision);
    object.metadata_mut().resource_version = ResourceVersion(revision.clone());
    Some(ChangedInPlace {
        revision,
        object: Arc::clone(slot),
        previous,
    })
}

/// A revision as the API writes it: decimal text, short enough to live inline (no
/// allocation), formatted without the formatting machinery.
fn revision_text(revision: u64) -> SmolStr {
    // At most 20 digits, always inline: `new_inline` copies them without `new`'s search for
    // a whitespace-only text (every write makes one).
    SmolStr::new_inline(itoa::Buffer::new().format(revision))
}

const NAME_SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The five random characters the API server appends to a `generateName`.
pub(crate) struct NameSuffix([u8; 5]);

impl NameSuffix {
    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII, from the alphabet above.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Cluster {
    /// A new, empty cluster.
    pub fn new(config: ClusterConfig) -> Self {
        Cluster {
            clock: WallClock::new(config.start),
            now: SimTime::ZERO,
            revision: 0,
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
            events: Vec::new(),
            compacted_events: 0,
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

    // ----- queries -------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The virtual time of the last command or timer.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The wall-clock time at the cluster's `now`.
    pub fn wall_now(&self) -> Time {
        self.clock.at(self.now)
    }

    /// The wall clock.
    pub fn clock(&self) -> WallClock {
        self.clock
    }

    /// Keeps the newest `writes` store writes, each with the object as written, so that a
    /// watch can resume from any resourceVersion they cover ([`Cluster::writes_since`]).
    /// Writes made before this call are not kept. The server turns this on; 0 turns it off.
    pub fn keep_watch_history(&mut self, writes: usize) {
        self.watch_history.enable(writes, self.revision);
    }

    /// The store writes after `revision`, oldest first, as a watch replays them.
    ///
    /// # Errors
    /// `Err(oldest)` when writes after `revision` are no longer kept (see
    /// [`Cluster::keep_watch_history`]); `oldest` is the oldest revision a watch can start
    /// from — the API server's 410 `Expired`.
    pub fn writes_since(
        &self,
        revision: u64,
    ) -> Result<impl Iterator<Item = &history::HistoryEntry>, u64> {
        self.watch_history.since(revision)
    }

    /// The store's revision: the resourceVersion of the last write.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The object of kind `T` at `key`.
    pub fn get<T: StoredKind>(&self, key: &ObjectKey) -> Option<&T> {
        T::store(self).get(key)
    }

    /// Every object of kind `T`, in namespace/name order.
    pub fn list<T: StoredKind>(&self) -> impl Iterator<Item = &T> {
        T::store(self).iter()
    }

    /// The objects of kind `T` in `namespace`, in name order.
    pub fn list_in<'a, 'n, T: StoredKind>(
        &'a self,
        namespace: &'n str,
    ) -> impl Iterator<Item = &'a T> + use<'a, 'n, T> {
        T::store(self).in_namespace(namespace)
    }

    /// The pod at `key`.
    pub fn pod(&self, key: &ObjectKey) -> Option<&Pod> {
        self.pods.get(key)
    }

    /// The PDB at `key`.
    pub fn pdb(&self, key: &ObjectKey) -> Option<&PodDisruptionBudget> {
        self.pdbs.get(key)
    }

    /// The pods bound to `node`, in namespace/name order.
    pub fn pods_on_node(&self, node: &str) -> Vec<&Pod> {
        self.pod_index
            .on_node(node)
            .filter_map(|k| self.pods.get(k))
            .collect()
    }

    /// Files a written PDB in the index, finding its members when its selector is new.
    fn file_pdb(&mut self, key: &ObjectKey, stored: &Arc<PodDisruptionBudget>) {
        if !self.pdb_index.insert(key, stored) {
            return;
        }
        let Some(selector) = eviction::pdb_selector(stored) else {
            return;
        };
        self.index_anchor_of(&selector);
        let namespace = stored.metadata.namespace.as_str();
        let members: Vec<(Arc<str>, Arc<Pod>)> = self
            .pods_selected(namespace, &selector)
            .into_iter()
            .filter_map(|pod| self.pods.entry(namespace, &pod.metadata.name))
            .map(|(key, pod)| (Arc::clone(&key.name), Arc::clone(pod)))
            .collect();
        let members = members.iter().map(|(name, pod)| (Arc::clone(name), &**pod));
        self.pdb_index.set_members(key, members);
    }

    /// The keys of the pods bound to `node` (terminal ones included), in store order.
    pub(crate) fn pod_keys_on_node(&self, node: &str) -> Vec<ObjectKey> {
        self.pod_index.on_node(node).cloned().collect()
    }

    /// C5 for the PDB at `key`: the pods its selector selects, in name order — kept up to
    /// date on every pod write, so found without a search. `None` when there is no such
    /// PDB or its selector is null or invalid (it selects nothing; the disruption
    /// controller reports an invalid one itself).
    pub fn pdb_members(&self, key: &ObjectKey) -> Option<Vec<&Pod>> {
        // The namespace as stored, which lives as long as the pods returned.
        let (stored, _) = self.pdbs.entry(&key.namespace, &key.name)?;
        let members: Vec<&Pod> = self
            .pdb_index
            .members(key)?
            .in_store(&stored.namespace, &self.pods)
            .pods()
            .collect();
        debug_assert!(
            {
                let pdb = self.pdbs.get(key);
                let recount: Vec<&Pod> = pdb
                    .and_then(eviction::pdb_selector)
                    .map(|s| self.pods_selected(&key.namespace, &s))
                    .unwrap_or_default();
                members.len() == recount.len()
                    && members
                        .iter()
                        .zip(&recount)
                        .all(|(a, b)| std::ptr::eq(*a, *b))
            },
            "the incremental members of {key} are what a recount finds"
        );
        Some(members)
    }

    /// The pods in `namespace` that `selector` selects, in name order (C5), found through
    /// the label index when the selector requires some `key=value` whose label a stored
    /// PDB's or Service's selector is anchored on too; otherwise by scanning the namespace.
    pub fn pods_selected(&self, namespace: &str, selector: &crate::model::Selector) -> Vec<&Pod> {
        let filed = selector
            .anchor()
            .and_then(|(k, v)| self.pod_index.labelled(namespace, k, v));
        match filed {
            Some(names) => names
                .filter_map(|name| self.pods.get_by_name(namespace, name))
                .filter(|p| selector.matches(&p.metadata.labels))
                .collect(),
            None => self
                .pods
                .in_namespace(namespace)
                .filter(|p| selector.matches(&p.metadata.labels))
                .collect(),
        }
    }

    /// Files pods under the label `selector` is anchored on, if it has one, so that
    /// [`Cluster::pods_selected`] finds its pods without scanning the namespace: for the
    /// selectors of stored PDBs and Services, which are asked again and again.
    fn index_anchor_of(&mut self, selector: &crate::model::Selector) {
        if let Some((label, _)) = selector.anchor()
            && !self.pod_index.indexes_label_key(label)
        {
            self.pod_index.index_label_key(label, self.pods.entries());
        }
    }

    /// The names of the PDBs that select `pod` under the eviction handler's rules (E13),
    /// found through the index.
    pub fn pdbs_selecting(&self, pod: &Pod) -> Vec<&str> {
        self.pdb_index
            .selecting(&pod.metadata.namespace, &pod.metadata.labels)
    }

    /// What the cluster holds, counted: for checking that a long run stays flat (a
    /// steady stream of evictions must not grow anything but the clock and the counters).
    pub fn footprint(&self) -> Footprint {
        Footprint {
            objects: self.object_count(),
            events: self.events.len(),
            timers: self.timers.len(),
            watch_history: self.watch_history.len(),
            kubelet_pods: self.kubelet_pods.len(),
            index_entries: self.pod_index.entries() + self.pdb_index.entries(),
            budget_violations: self.budget_violations.len(),
        }
    }

    /// The retained event log: every event not yet compacted away
    /// (see [`ClusterConfig::event_retention`]), oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The retained events from sequence number `seq` on (a cursor: pass
    /// [`Cluster::event_count`] as it was when you last read).
    pub fn events_since(&self, seq: u64) -> &[Event] {
        let start = usize::try_from(seq.saturating_sub(self.compacted_events))
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        &self.events[start..]
    }

    /// How many events have ever been logged: the sequence number the next one gets.
    pub fn event_count(&self) -> u64 {
        self.compacted_events + self.events.len() as u64
    }

    /// Every recorded moment a client's eviction or DELETE left a PDB below its
    /// `desiredHealthy` (see [`BudgetViolation`]), oldest first; empty for a drainer that
    /// respects every budget. At most [`MAX_RECORDED_BUDGET_VIOLATIONS`] are kept.
    ///
    /// # Examples
    /// ```
    /// use evictsim::cluster::{Cluster, Disruption};
    /// use evictsim::model::{DeleteOptions, LabelSelector, ObjectKey, Pod, PodDisruptionBudget};
    /// use evictsim::time::SimTime;
    ///
    /// let mut cluster = Cluster::default();
    /// for name in ["web-1", "web-2"] {
    ///     cluster.load(SimTime::ZERO, Pod::running("default", name, "node-1").with_labels([("app", "web")])).unwrap();
    /// }
    /// let pdb = PodDisruptionBudget::min_available("default", "web", 2, LabelSelector::matching([("app", "web")]));
    /// cluster.create(SimTime::ZERO, pdb, false).unwrap();
    /// // An eviction would be refused (429); a DELETE is not guarded, and is recorded.
    /// cluster.delete::<Pod>(SimTime::ZERO, &ObjectKey::new("default", "web-1"), &DeleteOptions::default()).unwrap();
    /// let violation = &cluster.budget_violations()[0];
    /// assert_eq!((violation.disruption, violation.healthy, violation.desired_healthy), (Disruption::Delete, 1, 2));
    /// ```
    pub fn budget_violations(&self) -> &[BudgetViolation] {
        &self.budget_violations
    }

    /// A copy for a what-if: the same objects, indexes, controllers' queues, timers, clock
    /// and random state, so that it goes on exactly as this cluster would; only the event
    /// log starts empty (its sequence numbers go on from this one's). Cheaper than
    /// [`Clone::clone`] by the log.
    ///
    /// # Examples
    /// ```
    /// use evictsim::cluster::Cluster;
    /// use evictsim::model::Pod;
    /// use evictsim::time::SimTime;
    ///
    /// let mut cluster = Cluster::default();
    /// cluster.load(SimTime::ZERO, Pod::running("default", "web-1", "node-1")).unwrap();
    /// let fork = cluster.fork();
    /// assert_eq!(fork.list::<Pod>().count(), 1);
    /// assert!(fork.events().is_empty());
    /// assert_eq!(fork.event_count(), cluster.event_count());
    /// ```
    pub fn fork(&self) -> Cluster {
        Cluster {
            config: self.config.clone(),
            clock: self.clock,
            now: self.now,
            revision: self.revision,
            rng: self.rng.clone(),
            pods: self.pods.clone(),
            pdbs: self.pdbs.clone(),
            nodes: self.nodes.clone(),
            replica_sets: self.replica_sets.clone(),
            deployments: self.deployments.clone(),
            stateful_sets: self.stateful_sets.clone(),
            daemon_sets: self.daemon_sets.clone(),
            replication_controllers: self.replication_controllers.clone(),
            services: self.services.clone(),
            endpoints: self.endpoints.clone(),
            endpoint_slices: self.endpoint_slices.clone(),
            pod_index: self.pod_index.clone(),
            node_load: self.node_load.clone(),
            pdb_index: self.pdb_index.clone(),
            shared_parts: self.shared_parts.clone(),
            pod_templates: self.pod_templates.clone(),
            last_container_statuses: self.last_container_statuses.clone(),
            replica_statuses: self.replica_statuses.clone(),
            timers: self.timers.clone(),
            events: Vec::new(),
            compacted_events: self.event_count(),
            watch_history: self.watch_history.clone(),
            disruption_queue: self.disruption_queue.clone(),
            kubelet_queue: self.kubelet_queue.clone(),
            endpoints_queue: self.endpoints_queue.clone(),
            workload_queue: self.workload_queue.clone(),
            schedule_queue: self.schedule_queue.clone(),
            garbage_queue: self.garbage_queue.clone(),
            kubelet_pods: self.kubelet_pods.clone(),
            unready_nodes: self.unready_nodes.clone(),
            next_pod_ip: self.next_pod_ip,
            rate_limiter: self.rate_limiter.clone(),
            budget_violations: self.budget_violations.clone(),
            deferring: self.deferring,
        }
    }

    /// Sets how containers behave where their pods' behaviour annotations do not say
    /// ([`ClusterConfig::default_behaviour`]), for pods started or stopped from now on.
    pub fn set_default_behaviour(&mut self, behaviour: crate::model::Behaviour) {
        self.config.default_behaviour = behaviour;
    }

    /// The next deadline, if any, and why.
    pub fn next_deadline(&self) -> Option<Deadline> {
        self.timers.next().map(|(at, timer)| Deadline {
            at,
            timer: timer.clone(),
        })
    }

    // ----- time ----------------------------------------------------------------------------

    /// Fires every timer due at or before `now`, in order, letting controllers react after
    /// each; then sets the clock to `now`. A no-op when nothing is due.
    ///
    /// # Panics
    /// If `now` is before the cluster's clock.
    pub fn advance_to(&mut self, now: SimTime) {
        assert!(
            now >= self.now,
            "time never goes backwards: asked for {now} at {}",
            self.now
        );
        while let Some((at, timer)) = self.timers.pop_due(now) {
            self.now = at;
            self.fire(timer);
            self.settle();
        }
        self.now = now;
    }

    /// Advances the clock by `duration` (see [`Cluster::advance_to`]).
    pub fn advance_by(&mut self, duration: Duration) {
        self.advance_to(self.now + duration);
    }

    /// Fires timers, deadline after deadline, until none is left or the next is more than
    /// `limit` after the current time. Returns whether the cluster went idle: `true` with
    /// the clock at the last deadline fired, `false` with the clock `limit` later.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use evictsim::cluster::Cluster;
    /// use evictsim::model::{Eviction, Pod};
    /// use evictsim::time::SimTime;
    ///
    /// let mut cluster = Cluster::default();
    /// cluster.load(SimTime::ZERO, Pod::running("default", "web-1", "node-1")).unwrap();
    /// cluster.evict_pod(SimTime::ZERO, Eviction::new("default", "web-1")).unwrap();
    /// assert!(cluster.run_until_idle(Duration::from_secs(60)));
    /// assert!(cluster.pods_on_node("node-1").is_empty());
    /// ```
    pub fn run_until_idle(&mut self, limit: Duration) -> bool {
        let end = self.now + limit;
        while let Some(deadline) = self.timers.next().map(|(at, _)| at) {
            if deadline > end {
                self.advance_to(end);
                return false;
            }
            self.advance_to(deadline);
        }
        true
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::PdbSync { pdb } => {
                if self.config.controllers.disruption {
                    self.sync_pdb(&pdb);
                }
            }
            Timer::StalePodDisruptionCheck { pod, uid } => {
                if self.config.controllers.disruption {
                    self.sync_stale_pod_disruption(&pod, &uid);
                }
            }
            Timer::EndpointsSync { service } => {
                if self.config.controllers.endpoints {
                    self.sync_endpoints(&service);
                }
            }
            Timer::Kubelet { pod, uid } => self.kubelet_sync_for(&pod, Some(&uid)),
        }
    }

    /// Lets the controllers react to what the last step changed, until nothing more is due
    /// at this instant.
    fn settle(&mut self) {
        if self.deferring {
            return;
        }
        // Each round handles what the previous one queued; the rounds are bounded because
        // every controller reaches a fixed point (its next write is a no-op). The bound only
        // catches a reaction loop (a bug): it allows every stored object many reactions, and
        // it grows with the store, since controllers create objects as they settle.
        let mut rounds: usize = 0;
        loop {
            rounds += 1;
            // Counting the store only past the fixed part keeps an idle settle (every
            // refused eviction ends with one) to a few loads.
            if rounds > 100_000 {
                assert!(
                    rounds <= 100_000 + 64 * self.object_count(),
                    "controllers did not settle at {}: a reaction loop",
                    self.now
                );
            }
            if let Some(key) = self.kubelet_queue.pop() {
                let delay = self.config.latencies.kubelet_observe;
                if !self.config.controllers.kubelet {
                    self.kubelet_queue.clear();
                } else if delay.is_zero() {
                    self.kubelet_sync(&key);
                } else if let Some(pod) = self.pods.get(&key) {
                    let uid = pod.metadata.uid.clone();
                    self.timers
                        .schedule(self.now + delay, Timer::Kubelet { pod: key, uid });
                }
                continue;
            }
            if let Some(key) = self.endpoints_queue.pop() {
                let delay = self.config.latencies.endpoints_sync;
                if !self.config.controllers.endpoints {
                    self.endpoints_queue.clear();
                } else if delay.is_zero() {
                    self.sync_endpoints(&key);
                } else {
                    self.timers
                        .schedule(self.now + delay, Timer::EndpointsSync { service: key });
                }
                continue;
            }
            if let Some(workload) = self.workload_queue.pop() {
                if self.config.controllers.workloads {
                    self.sync_workload(&workload);
                }
                continue;
            }
            if let Some(key) = self.schedule_queue.pop() {
                if self.config.controllers.workloads {
                    self.schedule(&key);
                }
                continue;
            }
            if let Some(uid) = self.garbage_queue.pop() {
                self.collect_garbage(&uid);
                continue;
            }
            if let Some(key) = self.disruption_queue.pop() {
                let delay = self.config.latencies.disruption_sync;
                if !self.config.controllers.disruption {
                    self.disruption_queue.clear();
                } else if delay.is_zero() {
                    self.sync_pdb(&key);
                } else {
                    self.timers
                        .schedule(self.now + delay, Timer::PdbSync { pdb: key });
                }
                continue;
            }
            return;
        }
    }

    /// Refuses a create once the store holds [`ClusterConfig::max_objects`] objects.
    fn check_room(&self) -> Result<(), ApiError> {
        if self.object_count() >= self.config.max_objects {
            return Err(ApiError::StoreFull {
                max_objects: self.config.max_objects,
            });
        }
        Ok(())
    }

    /// How many objects of every kind are stored.
    pub fn object_count(&self) -> usize {
        self.pods.len()
            + self.pdbs.len()
            + self.nodes.len()
            + self.replica_sets.len()
            + self.deployments.len()
            + self.stateful_sets.len()
            + self.daemon_sets.len()
            + self.replication_controllers.len()
            + self.services.len()
            + self.endpoints.len()
            + self.endpoint_slices.len()
    }

    // ----- the one write path --------------------------------------------------------------

    pub(crate) fn log(&mut self, kind: EventKind) {
        let seq = self.event_count();
        self.events.push(Event {
            seq,
            at: self.now,
            kind,
        });
        // Compaction in batches keeps logging O(1) amortised and memory at most twice the
        // retention.
        let retention = self.config.event_retention.max(1);
        if self.events.len() >= 2 * retention {
            let dropped = self.events.len() - retention;
            self.events.drain(..dropped);
            self.compacted_events += dropped as u64;
        }
    }

    /// Logs `kind` as if it had been logged when the log held `seq` events: it takes that
    /// sequence number and the events after it move up by one.
    fn log_before(&mut self, seq: u64, kind: EventKind) {
        let Some(index) = seq
            .checked_sub(self.compacted_events)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|i| *i <= self.events.len())
        else {
            self.log(kind);
            return;
        };
        let at = self.events.get(index).map_or(self.now, |e| e.at);
        for event in &mut self.events[index..] {
            event.seq += 1;
        }
        self.events.insert(index, Event { seq, at, kind });
    }

    pub(crate) fn record(
        &mut self,
        event_type: &'static str,
        involved: String,
        reason: &'static str,
        message: String,
    ) {
        self.log(EventKind::Recorded {
            event_type,
            involved,
            reason,
            message,
        });
    }

    /// Stores `new` at `key` (or removes the object), bumping the revision unless the write
    /// changes nothing (E31: the store skips identical updates). Returns the stored object.
    pub(crate) fn write<T: StoredKind>(
        &mut self,
        key: ObjectKey,
        new: Option<T>,
        origin: Origin,
    ) -> Option<Arc<T>> {
        let old: Option<Arc<T>> = T::store(self).shared(&key.namespace, &key.name).cloned();
        match new {
            Some(mut object) => {
                let before = old.as_deref();
                let meta = object.metadata_mut();
                let parts = &mut self.shared_parts;
                parts.share_map(&mut meta.labels, before.map(|o| &o.metadata().labels));
                parts.share_map(
                    &mut meta.annotations,
                    before.map(|o| &o.metadata().annotations),
                );
                parts.share_owners(
                    &mut meta.owner_references,
                    before.map(|o| &o.metadata().owner_references),
                );
                if let Some(spec) = object.common_spec_mut() {
                    parts.share_spec(spec, before.and_then(T::common_spec));
                }
                if let Some(selector) = object.selector_labels_mut() {
                    parts.share_map(selector, before.and_then(T::selector_labels));
                }
                if let Some(conditions) = object.common_conditions_mut() {
                    parts.share_conditions(conditions, before.and_then(T::common_conditions));
                }
                if let Some(old) = &old {
                    object.metadata_mut().resource_version =
                        old.metadata().resource_version.clone();
                    if **old == object {
                        return Some(Arc::clone(old));
                    }
                }
                self.revision += 1;
                let revision = revision_text(self.revision);
                object.metadata_mut().resource_version = ResourceVersion(revision.clone());
                let object = Arc::new(object);
                // From here on the key as stored, whose text the indexes and the log share.
                let (_, key) = T::store_mut(self).insert(key, Arc::clone(&object));
                let verb = if old.is_some() {
                    WriteVerb::Updated
                } else {
                    WriteVerb::Created
                };
                self.record_write(verb, T::KIND, &key, revision, || {
                    let previous = old.clone().map(|o| o as Arc<dyn history::WatchedObject>);
                    (
                        Arc::clone(&object) as Arc<dyn history::WatchedObject>,
                        previous,
                    )
                });
                T::observe(self, &key, old.as_deref(), Some(&object), origin);
                Some(object)
            }
            None => {
                let removed = T::store_mut(self).remove(&key)?;
                self.revision += 1;
                let revision = self.revision;
                let last_version = removed.metadata().resource_version.0.clone();
                self.record_write(WriteVerb::Deleted, T::KIND, &key, last_version, || {
                    // The watch sends the last state, stamped with the deletion's revision.
                    let mut last = T::clone(&removed);
                    last.metadata_mut().resource_version = ResourceVersion(revision_text(revision));
                    (Arc::new(last) as Arc<dyn history::WatchedObject>, None)
                });
                T::observe(self, &key, Some(&removed), None, origin);
                None
            }
        }
    }

    /// Changes the stored pod at `key` in place: the same write as [`Cluster::write`] of a
    /// changed copy (a new resourceVersion, the event, the reactions), without copying the
    /// pod to change it and freeing the old version after. `change` edits the pod and says
    /// whether it changed anything: a change of nothing is no write (no resourceVersion, no
    /// event, no reaction), as [`Cluster::write`] finds by comparing. It must leave the parts
    /// written objects share alone (labels, annotations, the spec's unmodeled fields). The
    /// observers compare the pod with what it was filed by before ([`FactsBeforeChange`]),
    /// which is all they read of an old version. Nor may it change the pod's uid or
    /// controller reference: no in-place writer does (debug builds check all of this).
    /// Returns the stored pod, `None` when there is none.
    pub(crate) fn write_pod_in_place(
        &mut self,
        key: &ObjectKey,
        origin: Origin,
        change: impl FnOnce(&mut Pod) -> bool,
    ) -> Option<Arc<Pod>> {
        let keep_history = self.watch_history.is_enabled();
        let (stored_key, slot) = self.pods.entry_mut(&key.namespace, &key.name)?;
        let stored_key = stored_key.clone();
        let old = FactsBeforeChange::of(slot);
        // A watch keeps the versions it was sent: with the history on, the stored pod is
        // shared, and `make_mut` changes a copy.
        let previous = keep_history.then(|| Arc::clone(slot));
        #[cfg(debug_assertions)]
        let before = Pod::clone(slot);
        let pod = Arc::make_mut(slot);
        let conditions_before = pod.status.conditions.address();
        let changed = change(pod);
        #[cfg(debug_assertions)]
        {
            debug_assert_eq!(
                changed,
                *pod != before,
                "{key}: the change says what it did"
            );
            debug_assert!(
                pod.metadata.labels == before.metadata.labels
                    && pod.metadata.annotations == before.metadata.annotations
                    && pod.spec.unmodeled == before.spec.unmodeled,
                "{key}: an in-place change leaves the shared parts alone"
            );
            debug_assert!(
                FactsBeforeChange::unchanged_parts_kept(&before, pod),
                "{key}: an in-place change leaves the uid and controller alone"
            );
        }
        if !changed {
            return Some(Arc::clone(slot));
        }
        // The stored conditions are the shared table's copy, which a change copies first: a
        // list at another address is a changed one, to be looked up.
        if pod.status.conditions.address() != conditions_before {
            self.shared_parts
                .share_conditions(&mut pod.status.conditions, None);
        }
        self.revision += 1;
        let revision = revision_text(self.revision);
        pod.metadata.resource_version = ResourceVersion(revision.clone());
        let object = Arc::clone(slot);
        self.record_write(WriteVerb::Updated, Pod::KIND, &stored_key, revision, || {
            let previous = previous.map(|o| o as Arc<dyn history::WatchedObject>);
            (
                Arc::clone(&object) as Arc<dyn history::WatchedObject>,
                previous,
            )
        });
        self.observe_pod(&stored_key, Some(&old.view(&object)), Some(&object), origin);
        Some(object)
    }

    /// Changes the status of the stored object at `key` in place and records the write: the
    /// same write as [`Cluster::write`] of a copy with the new status, without copying the
    /// object to change it and freeing the old version after. `change` edits the object and
    /// says whether it changed anything: a change of nothing is no write. It runs no
    /// reactions (the caller runs what a status write needs), and an index that shares the
    /// stored object must have let go of it first, or the change is made to a copy. Returns
    /// the stored key and object after a write.
    pub(crate) fn write_status_in_place<T: StoredKind>(
        &mut self,
        key: &ObjectKey,
        change: impl FnOnce(&mut T) -> bool,
    ) -> Option<(ObjectKey, Arc<T>)> {
        let keep_history = self.watch_history.is_enabled();
        let revision = self.revision + 1;
        let (stored_key, slot) = T::store_mut(self).entry_mut(&key.namespace, &key.name)?;
        let stored_key = stored_key.clone();
        let changed = change_status_in_place(slot, revision, keep_history, change)?;
        Some(self.record_write_in_place(stored_key, changed))
    }

    /// The disruption controller's write of a PDB's status (`change` edits it and says
    /// whether it changed anything), in place: the PDB index lets go of the stored budget
    /// while it changes. No reaction follows: the index files the budget by its selector,
    /// which stays, and a re-sync would compute the same status (C2).
    pub(crate) fn write_pdb_status_by_controller(
        &mut self,
        key: &ObjectKey,
        change: impl FnOnce(&mut crate::model::PodDisruptionBudgetStatus) -> bool,
    ) {
        static NONE_HELD: std::sync::OnceLock<Arc<PodDisruptionBudget>> =
            std::sync::OnceLock::new();
        let keep_history = self.watch_history.is_enabled();
        let revision = self.revision + 1;
        let mut indexed = self.pdb_index.shared_pdb_mut(key);
        let Some((stored_key, slot)) = self.pdbs.entry_mut(&key.namespace, &key.name) else {
            return;
        };
        if let Some(indexed) = indexed.as_deref_mut() {
            *indexed = Arc::clone(NONE_HELD.get_or_init(Default::default));
        }
        let changed = change_status_in_place(
            slot,
            revision,
            keep_history,
            |pdb: &mut PodDisruptionBudget| change(&mut pdb.status),
        );
        if let Some(indexed) = indexed {
            *indexed = Arc::clone(slot);
        }
        let stored_key = stored_key.clone();
        if let Some(changed) = changed {
            self.record_write_in_place(stored_key, changed);
        }
    }

    /// Records a write made by [`change_status_in_place`].
    fn record_write_in_place<T: StoredKind>(
        &mut self,
        stored_key: ObjectKey,
        changed: ChangedInPlace<T>,
    ) -> (ObjectKey, Arc<T>) {
        let ChangedInPlace {
            revision,
            object,
            previous,
        } = changed;
        self.revision += 1;
        self.record_write(WriteVerb::Updated, T::KIND, &stored_key, revision, || {
            let previous = previous.map(|o| o as Arc<dyn history::WatchedObject>);
            (
                Arc::clone(&object) as Arc<dyn history::WatchedObject>,
                previous,
            )
        });
        (stored_key, object)
    }

    /// Records the write at the current revision: in the watch history, when one is kept,
    /// with the versions `watched` gives (the object as written and the one before), and as an
    /// `ObjectWritten` event.
    fn record_write(
        &mut self,
        verb: WriteVerb,
        kind: &'static str,
        key: &ObjectKey,
        resource_version: SmolStr,
        watched: impl FnOnce() -> (
            Arc<dyn history::WatchedObject>,
            Option<Arc<dyn history::WatchedObject>>,
        ),
    ) {
        if self.watch_history.is_enabled() {
            let (object, previous) = watched();
            self.watch_history.record(history::HistoryEntry {
                revision: self.revision,
                verb,
                object,
                previous,
            });
        } else {
            self.watch_history.record_unkept(self.revision);
        }
        self.log(EventKind::ObjectWritten {
            verb,
            kind,
            key: key.clone(),
            resource_version,
        });
    }

    fn new_uid(&mut self) -> Uid {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        Uid::from_random_bytes(bytes)
    }

    /// Fills the metadata the API server sets on create, for objects controllers create.
    pub(crate) fn fill_server_metadata(&mut self, meta: &mut crate::model::ObjectMeta) {
        if meta.uid.is_empty() {
            meta.uid = self.new_uid();
        }
        if meta.creation_timestamp.is_none() {
            meta.creation_timestamp = Some(self.wall_now());
        }
    }

    pub(crate) fn name_suffix(&mut self) -> NameSuffix {
        NameSuffix(std::array::from_fn(|_| {
            let i = (self.rng.next_u32() as usize) % NAME_SUFFIX_ALPHABET.len();
            NAME_SUFFIX_ALPHABET[i]
        }))
    }

    /// The API rate limiter's verdict for one request at `now`: `Some(retry_after_seconds)`
    /// when it must be answered 429.
    pub fn rate_limit(&mut self, now: SimTime, method: &str, path: &str) -> Option<u32> {
        self.advance_to(now);
        let bucket = self.rate_limiter.as_mut()?;
        if bucket.try_acquire(now) {
            return None;
        }
        let retry = bucket.limit().retry_after_seconds;
        self.log(EventKind::RateLimited {
            method: method.into(),
            path: path.into(),
        });
        Some(retry)
    }

    // ----- commands ------------------------------------------------------------------------

    fn invalid<T: Resource>(name: &str, errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid {
            kind: T::KIND,
            group: T::GROUP,
            name: name.into(),
            errors,
        }
    }

    /// Creates an object through the API's create path: server-set metadata assigned,
    /// status reset by the kind's create strategy, defaults applied, validated.
    ///
    /// # Errors
    /// 422 `Invalid`, 409 `AlreadyExists`.
    pub fn create<T: StoredKind>(
        &mut self,
        now: SimTime,
        object: T,
        dry_run: bool,
    ) -> Result<T, ApiError> {
        self.advance_to(now);
        // The store keeps its handle: the caller gets a copy.
        let result = self
            .create_inner(object, dry_run, false)
            .map(Arc::unwrap_or_clone);
        self.settle();
        result
    }

    /// Creates an object as a scenario's `objects` list does: like [`Cluster::create`], but
    /// the status is kept exactly as given and server-set metadata that is present (uid,
    /// resourceVersion, creationTimestamp, generation, deletion fields) is kept.
    ///
    /// # Errors
    /// 422 `Invalid`, 409 `AlreadyExists`.
    pub fn load<T: StoredKind>(&mut self, now: SimTime, object: T) -> Result<T, ApiError> {
        self.advance_to(now);
        let result = self
            .create_inner(object, false, true)
            .map(Arc::unwrap_or_clone);
        self.settle();
        result
    }

    /// Imports an object exactly as given, without defaulting or validation: for state that
    /// only old or broken clusters reach (an invalid selector stored before validation
    /// tightened, a negative `disruptionsAllowed`). Server-set metadata that is missing is
    /// filled in. Controllers react as to any create.
    ///
    /// # Errors
    /// 409 `AlreadyExists`.
    pub fn restore<T: StoredKind>(&mut self, now: SimTime, mut object: T) -> Result<T, ApiError> {
        self.advance_to(now);
        let key = object.metadata().key();
        if T::store(self).get(&key).is_some() {
            return Err(ApiError::AlreadyExists {
                resource: T::qualified_resource(),
                name: key.name.to_string(),
            });
        }
        self.check_room()?;
        if object.metadata().uid.is_empty() {
            object.metadata_mut().uid = self.new_uid();
        }
        if object.metadata().creation_timestamp.is_none() {
            object.metadata_mut().creation_timestamp = Some(self.wall_now());
        }
        let stored = self
            .write(key, Some(object), Origin::Api)
            .map(Arc::unwrap_or_clone);
        self.settle();
        stored.ok_or_else(|| ApiError::Internal("write returned nothing".into()))
    }

    /// Holds every controller reaction until [`Cluster::resume_reactions`]: for loading a
    /// snapshot whose objects only make sense together (a ReplicaSet and its pods), so that
    /// no controller acts on a half-loaded cluster.
    pub fn defer_reactions(&mut self) {
        self.deferring = true;
    }

    /// Lets the controllers react, at `now`, to everything written since
    /// [`Cluster::defer_reactions`].
    pub fn resume_reactions(&mut self, now: SimTime) {
        self.deferring = false;
        self.advance_to(now);
        self.settle();
    }

    /// Has the disruption controller sync the PDB at `key` now, as its periodic resync does
    /// (scaling a workload does not by itself re-sync a PDB upstream, C1).
    pub fn resync_pdb(&mut self, now: SimTime, key: &ObjectKey) {
        self.advance_to(now);
        if self.config.controllers.disruption {
            self.disruption_queue.insert(key.clone());
        }
        self.settle();
    }

    pub(crate) fn create_inner<T: StoredKind>(
        &mut self,
        mut object: T,
        dry_run: bool,
        keep_server_fields: bool,
    ) -> Result<Arc<T>, ApiError> {
        let now = self.wall_now();
        let version = self.config.kubernetes_version;
        {
            let meta = object.metadata_mut();
            if !T::NAMESPACED {
                // Cluster-scoped: a namespace in the body is ignored, as upstream clears it.
                meta.namespace = SmolStr::default();
            }
        }
        let generated =
            object.metadata().name.is_empty() && !object.metadata().generate_name.is_empty();
        if generated {
            // RetryGenerateName (beta and on from 1.31, GA in 1.32): a generated name that is
            // taken is generated again, up to 8 attempts in all; 1.30 tries once.
            let attempts = if version >= KubernetesVersion::V1_31 {
                8
            } else {
                1
            };
            let mut name = SmolStr::default();
            for _ in 0..attempts {
                let suffix = self.name_suffix();
                let meta = object.metadata();
                name = SmolStr::from_iter([meta.generate_name.as_str(), suffix.as_str()]);
                if T::store(self).get_by_name(&meta.namespace, &name).is_none() {
                    break;
                }
            }
            object.metadata_mut().name = name;
        }
        if !keep_server_fields {
            object.reset_status_for_create();
        }
        let uid = self.new_uid();
        let meta = object.metadata_mut();
        if !keep_server_fields || meta.uid.is_empty() {
            meta.uid = uid;
        }
        if !keep_server_fields || meta.creation_timestamp.is_none() {
            meta.creation_timestamp = Some(now);
        }
        if !keep_server_fields {
            meta.deletion_timestamp = None;
            meta.deletion_grace_period_seconds = None;
            meta.generation = 0;
        }
        if T::tracks_generation(version) && meta.generation == 0 {
            meta.generation = 1;
        }
        let given_rv = keep_server_fields
            .then(|| meta.resource_version.clone())
            .filter(|rv| !rv.0.is_empty());
        object.apply_defaults();
        let mut errors = validate_object_meta(object.metadata(), T::NAMESPACED);
        if let Some(rv) = &given_rv {
            errors.extend(crate::model::validate_loaded_resource_version(rv));
        }
        errors.extend(object.validate_spec());
        if !errors.is_empty() {
            return Err(Self::invalid::<T>(&object.metadata().name, errors));
        }
        let meta = object.metadata();
        let Some(key) = T::store(self).vacant_key(&meta.namespace, &meta.name) else {
            let name = meta.name.to_string();
            return Err(if generated {
                ApiError::GenerateNameConflict {
                    resource: T::qualified_resource(),
                    name,
                }
            } else {
                ApiError::AlreadyExists {
                    resource: T::qualified_resource(),
                    name,
                }
            });
        };
        self.check_room()?;
        if dry_run {
            return Ok(Arc::new(object));
        }
        let stored = self
            .write(key.clone(), Some(object), Origin::Api)
            .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
        if let Some(rv) = given_rv {
            // Scenario objects keep a given resourceVersion; later writes still advance.
            // It was checked to be at most i64::MAX, so the revision cannot overflow.
            if let Ok(n) = rv.0.parse::<u64>() {
                self.revision = self.revision.max(n);
            }
            let mut fixed = T::clone(&stored);
            fixed.metadata_mut().resource_version = rv;
            let fixed = Arc::new(fixed);
            T::store_mut(self).insert(key, Arc::clone(&fixed));
            T::replaced_in_place(self, &fixed);
            return Ok(fixed);
        }
        Ok(stored)
    }

    /// Replaces an object through PUT (main resource or `status` subresource).
    ///
    /// # Errors
    /// 404, 409 `Conflict` (stale resourceVersion), 422 `Invalid`.
    pub fn update<T: StoredKind>(
        &mut self,
        now: SimTime,
        object: T,
        subresource: Subresource,
        dry_run: bool,
    ) -> Result<T, ApiError> {
        self.advance_to(now);
        let result = self.update_inner(object, subresource, dry_run);
        self.settle();
        result
    }

    pub(crate) fn update_inner<T: StoredKind>(
        &mut self,
        object: T,
        subresource: Subresource,
        dry_run: bool,
    ) -> Result<T, ApiError> {
        let key = object.metadata().key();
        let Some(existing) = T::store(self).get(&key).cloned() else {
            return Err(ApiError::not_found(&T::qualified_resource(), &key.name));
        };
        let conflict = |message: String| ApiError::Conflict {
            qualified: T::qualified_resource(),
            group: T::GROUP,
            kind: T::PLURAL,
            name: key.name.to_string(),
            message,
        };
        let given = object.metadata();
        if !given.resource_version.0.is_empty()
            && given.resource_version != existing.metadata().resource_version
        {
            return Err(conflict("the object has been modified; please apply your changes to the latest version and try again".into()));
        }
        if !given.uid.is_empty() && given.uid != existing.metadata().uid {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                given.uid,
                existing.metadata().uid
            )));
        }
        let mut updated = object;
        let version = self.config.kubernetes_version;
        match subresource {
            Subresource::Main => {
                if T::HAS_STATUS {
                    updated.take_status(&existing);
                }
                let old = existing.metadata();
                let generation = if T::tracks_generation(version) && updated.spec_differs(&existing)
                {
                    old.generation.saturating_add(1)
                } else {
                    old.generation
                };
                let meta = updated.metadata_mut();
                meta.uid = old.uid.clone();
                meta.creation_timestamp = old.creation_timestamp;
                meta.deletion_timestamp = old.deletion_timestamp;
                if meta.deletion_grace_period_seconds.is_none() || old.deletion_timestamp.is_some()
                {
                    meta.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
                }
                meta.generation = generation;
                meta.generate_name = if meta.generate_name.is_empty() {
                    old.generate_name.clone()
                } else {
                    meta.generate_name.clone()
                };
                updated.apply_defaults();
                let mut errors = validate_object_meta(updated.metadata(), T::NAMESPACED);
                errors.extend(updated.validate_spec());
                errors.extend(updated.validate_update(&existing));
                if !errors.is_empty() {
                    return Err(Self::invalid::<T>(&key.name, errors));
                }
            }
            Subresource::Status => {
                updated.take_spec(&existing);
                *updated.metadata_mut() = existing.metadata().clone();
                let errors = updated.validate_status();
                if !errors.is_empty() {
                    return Err(Self::invalid::<T>(&key.name, errors));
                }
            }
        }
        // G11: an update that clears the last finalizer of an object whose deletion is due
        // (grace 0 or none) deletes it.
        let meta = updated.metadata();
        let remove = meta.deletion_timestamp.is_some()
            && meta.finalizers.is_empty()
            && meta.deletion_grace_period_seconds.unwrap_or(0) == 0;
        if dry_run {
            return Ok(updated);
        }
        if remove {
            self.write::<T>(key, None, Origin::Api);
            return Ok(updated);
        }
        self.write(key, Some(updated), Origin::Api)
            .map(Arc::unwrap_or_clone)
            .ok_or_else(|| ApiError::Internal("write returned nothing".into()))
    }

    /// DELETE of the object of kind `T` at `key` (graceful for pods: G1–G14).
    ///
    /// # Errors
    /// 422 for invalid options (G3), 404, 409 for failed preconditions (G4).
    pub fn delete<T: StoredKind>(
        &mut self,
        now: SimTime,
        key: &ObjectKey,
        options: &DeleteOptions,
    ) -> Result<DeleteResult<T>, ApiError> {
        self.advance_to(now);
        let healthy_labels = (T::KIND == "Pod" && !options.is_dry_run())
            .then(|| self.healthy_pod_labels(key))
            .flatten();
        let result = self.delete_inner(key, options, true);
        if let (Ok(_), Some(labels)) = (&result, healthy_labels) {
            self.check_budgets_after(key, &labels, Disruption::Delete);
        }
        self.settle();
        result
    }

    /// `log_steps`: whether to log the deletion step (the API server's stamping); the
    /// kubelet's own grace-0 delete is step 5/6, logged by the kubelet.
    pub(crate) fn delete_inner<T: StoredKind>(
        &mut self,
        key: &ObjectKey,
        options: &DeleteOptions,
        log_steps: bool,
    ) -> Result<DeleteResult<T>, ApiError> {
        let errors = validate_delete_options(options);
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                kind: "DeleteOptions",
                group: "meta.k8s.io",
                name: String::new(),
                errors,
            });
        }
        if let Some(result) = T::delete_in_place(self, key, options, log_steps) {
            return result;
        }
        let Some(existing) = T::store(self).shared(&key.namespace, &key.name).cloned() else {
            return Err(ApiError::not_found(&T::qualified_resource(), &key.name));
        };
        let plan = T::plan_delete(
            &existing,
            options,
            self.wall_now(),
            self.config.kubernetes_version,
        )?;
        let dry_run = options.is_dry_run();
        match plan {
            DeletePlan::Pending => Ok(DeleteResult {
                object: existing,
                removed: false,
            }),
            DeletePlan::Write { updated, shortened } => {
                if dry_run {
                    return Ok(DeleteResult {
                        object: Arc::new(updated),
                        removed: false,
                    });
                }
                let stored = self
                    .write(key.clone(), Some(updated), Origin::Api)
                    .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
                if log_steps {
                    self.log_deletion_step::<T>(key, stored.metadata(), shortened);
                }
                Ok(DeleteResult {
                    object: stored,
                    removed: false,
                })
            }
            DeletePlan::Remove { stamped, shortened } => {
                let mut last = existing;
                if dry_run {
                    return Ok(DeleteResult {
                        object: stamped.map_or(last, Arc::new),
                        removed: true,
                    });
                }
                if let Some(stamped) = stamped
                    && let Some(stored) = self.write(key.clone(), Some(stamped), Origin::Api)
                {
                    if log_steps {
                        self.log_deletion_step::<T>(key, stored.metadata(), shortened);
                    }
                    last = stored;
                }
                self.write::<T>(key.clone(), None, Origin::Api);
                Ok(DeleteResult {
                    object: last,
                    removed: true,
                })
            }
        }
    }

    /// The reactions to a pod write: `old` is what the pod was filed by before (`None` for a
    /// create), `new` the pod as stored (`None` for a removal).
    fn observe_pod(
        &mut self,
        key: &ObjectKey,
        old: Option<&PodFacts>,
        new: Option<&Pod>,
        origin: Origin,
    ) {
        let cluster = self;
        let new_facts = new.map(PodFacts::of);
        let new_facts = new_facts.as_ref();
        if let (Some(gone), None) = (old, new) {
            let uid = gone.uid.clone();
            cluster.timers.cancel(&Timer::Kubelet {
                pod: key.clone(),
                uid: uid.clone(),
            });
            cluster.timers.cancel(&Timer::StalePodDisruptionCheck {
                pod: key.clone(),
                uid,
            });
        }
        cluster.pod_index.update(key, old, new_facts);
        let selecting = cluster.pdb_index.pod_written(key, old, new_facts);
        let freed = cluster.node_load.facts_changed(old, new_facts);
        // S6: a node with fewer pods may take a pod that fits nowhere (kube-scheduler moves
        // unschedulable pods back to its active queue when an assigned pod goes).
        if freed && cluster.config.controllers.workloads {
            let pending: Vec<ObjectKey> = cluster
                .pod_index
                .on_node("")
                .filter(|k| *k != key)
                .cloned()
                .collect();
            cluster.schedule_queue.extend(pending);
        }
        if origin != Origin::Kubelet && cluster.config.controllers.kubelet {
            cluster.kubelet_queue.insert_copy(key);
        }
        if cluster.config.controllers.workloads {
            // The controller before and after; once when it is the same one (nearly always).
            if let Some(old) = old
                && new_facts.is_none_or(|new| !new.same_controller(old))
            {
                cluster.enqueue_owner_of(old);
            }
            if let Some(new) = new_facts {
                cluster.enqueue_owner_of(new);
            }
            if let Some(pod) = new_facts
                && pod.node.is_empty()
            {
                cluster.schedule_queue.insert_copy(key);
            }
        }
        // N4: the Services selecting the pod before or after the change re-sync.
        if cluster.config.controllers.endpoints && !cluster.services.is_empty() {
            for pod in [old, new_facts].into_iter().flatten() {
                let services = cluster.services_selecting(&key.namespace, pod.labels);
                cluster.endpoints_queue.extend(services);
            }
        }
        if !cluster.config.controllers.disruption {
            return;
        }
        // C3: a pod event re-syncs only the first PDB that selects the pod (the PDB index
        // found them while filing the pod).
        if let Some(first) = selecting.first {
            if selecting.count > 1 {
                cluster.record(
                    "Warning",
                    format!("Pod/{key}"),
                    "MultiplePodDisruptionBudgets",
                    format!(
                        "Pod {}/{} matches multiple PodDisruptionBudgets.  Chose {} arbitrarily.",
                        GoQuoted(&key.namespace),
                        GoQuoted(&key.name),
                        GoQuoted(&first.name)
                    ),
                );
            }
            cluster.disruption_queue.insert(first);
        }
        // C20: schedule the stale-condition check.
        if let Some(pod) = new
            && let Some(deadline) = disruption::stale_disruption_deadline(pod)
        {
            let at = deadline
                .map(|d| cluster.clock.sim_time_of(d))
                .unwrap_or(cluster.now)
                .max(cluster.now);
            cluster.timers.schedule(
                at,
                Timer::StalePodDisruptionCheck {
                    pod: key.clone(),
                    uid: pod.metadata.uid.clone(),
                },
            );
        }
    }

    /// A pod DELETE (G1–G14) as [`deletion::plan_pod_stamp`] plans it, the deletion stamp
    /// written into the stored pod in place.
    fn delete_pod_in_place(
        &mut self,
        key: &ObjectKey,
        options: &DeleteOptions,
        log_steps: bool,
    ) -> Result<DeleteResult<Pod>, ApiError> {
        let now = self.wall_now();
        let Some(existing) = self.pods.shared(&key.namespace, &key.name) else {
            return Err(ApiError::not_found(&Pod::qualified_resource(), &key.name));
        };
        let plan =
            deletion::plan_pod_stamp(existing, options, now, self.config.kubernetes_version)?;
        let dry_run = options.is_dry_run();
        // What a dry run answers: the pod as the stamp would leave it, written nowhere.
        let stamped_copy = |stamp: deletion::DeletionStamp| {
            let mut copy = Pod::clone(existing);
            stamp.apply(&mut copy.metadata);
            Arc::new(copy)
        };
        match plan {
            DeletePlan::Pending => Ok(DeleteResult {
                object: Arc::clone(existing),
                removed: false,
            }),
            DeletePlan::Write { updated, shortened } => {
                if dry_run {
                    return Ok(DeleteResult {
                        object: stamped_copy(updated),
                        removed: false,
                    });
                }
                let stored = self
                    .write_pod_in_place(key, Origin::Api, |pod| updated.apply(&mut pod.metadata))
                    .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
                if log_steps {
                    self.log_deletion_step::<Pod>(key, &stored.metadata, shortened);
                }
                Ok(DeleteResult {
                    object: stored,
                    removed: false,
                })
            }
            DeletePlan::Remove { stamped, shortened } => {
                if dry_run {
                    return Ok(DeleteResult {
                        object: stamped.map_or_else(|| Arc::clone(existing), stamped_copy),
                        removed: true,
                    });
                }
                let last = match stamped {
                    None => Arc::clone(existing),
                    Some(stamp) => {
                        let stored = self
                            .write_pod_in_place(key, Origin::Api, |pod| {
                                stamp.apply(&mut pod.metadata)
                            })
                            .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
                        if log_steps {
                            self.log_deletion_step::<Pod>(key, &stored.metadata, shortened);
                        }
                        stored
                    }
                };
                self.write::<Pod>(key.clone(), None, Origin::Api);
                Ok(DeleteResult {
                    object: last,
                    removed: true,
                })
            }
        }
    }

    fn log_deletion_step<T: Resource>(
        &mut self,
        key: &ObjectKey,
        meta: &crate::model::ObjectMeta,
        shortened: bool,
    ) {
        if T::KIND != "Pod" {
            return;
        }
        let (Some(ts), Some(grace)) = (meta.deletion_timestamp, meta.deletion_grace_period_seconds)
        else {
            return;
        };
        let pod = key.clone();
        let deletion_timestamp = ts;
        self.log(if shortened {
            EventKind::GracePeriodShortened {
                pod,
                grace_period_seconds: grace,
                deletion_timestamp,
            }
        } else {
            EventKind::DeletionStarted {
                pod,
                grace_period_seconds: grace,
                deletion_timestamp,
            }
        });
    }

    /// What a dry-run eviction of the pod would answer now (every check of E4–E33), without
    /// writing or logging anything: "would this eviction be admitted?".
    ///
    /// # Errors
    /// The answer a dry-run POST would get, as an [`ApiError`].
    pub fn check_eviction(
        &self,
        namespace: &str,
        name: &str,
        mut eviction: Eviction,
    ) -> Result<EvictionOutcome, ApiError> {
        eviction
            .delete_options
            .get_or_insert_with(DeleteOptions::default)
            .dry_run = Some(vec!["All".to_string()]);
        let request = EvictionRequest {
            namespace: namespace.into(),
            name: name.into(),
            eviction,
            dry_run: Vec::new(),
        };
        eviction::evict(
            &mut DryRunStore::new(self, PdbLookup::Indexed),
            &request,
            self.config.kubernetes_version,
        )
    }

    /// [`Cluster::evict`] of the pod the Eviction names (`metadata.namespace`, empty meaning
    /// `default`, and `metadata.name`), without `?dryRun=` query values.
    ///
    /// # Errors
    /// As [`Cluster::evict`].
    pub fn evict_pod(
        &mut self,
        now: SimTime,
        eviction: Eviction,
    ) -> Result<EvictionOutcome, ApiError> {
        let namespace = if eviction.metadata.namespace.is_empty() {
            SmolStr::new_static("default")
        } else {
            eviction.metadata.namespace.clone()
        };
        let name = eviction.metadata.name.clone();
        self.evict(now, &namespace, &name, eviction, &[])
    }

    /// The labels of the pod at `key` when it is healthy (Ready, not terminating) and some
    /// PDB exists: what [`Cluster::check_budgets_after`] needs once a client has taken it.
    fn healthy_pod_labels(&self, key: &ObjectKey) -> Option<crate::model::StringMap> {
        self.pods
            .get(key)
            .and_then(|pod| self.labels_if_healthy(pod))
    }

    /// `pod`'s labels if it is healthy (Ready, not terminating) and a PDB could count it.
    fn labels_if_healthy(&self, pod: &Pod) -> Option<crate::model::StringMap> {
        (!self.pdbs.is_empty() && pod.is_ready() && !pod.is_terminating())
            .then(|| pod.metadata.labels.clone())
    }

    /// After a client took the healthy pod at `pod` (labelled `labels`) away: records a
    /// [`BudgetViolation`] for each PDB selecting it that is now short.
    fn check_budgets_after(
        &mut self,
        pod: &ObjectKey,
        labels: &crate::model::StringMap,
        disruption: Disruption,
    ) {
        let now = self.wall_now();
        // Found and computed in one pass over the index, without a look-up per PDB: every
        // eviction and DELETE of a healthy pod runs this. Short budgets are rare.
        let mut short: Vec<(&SmolStr, i64, i64)> = Vec::new();
        self.pdb_index
            .for_each_selecting_tallied(&pod.namespace, labels, |pdb, members, tally| {
                let members = members.in_store(&pod.namespace, &self.pods);
                let healthy = tally.ready_not_terminating as i64;
                let computed =
                    disruption::compute_status_tallied(pdb, members, tally, now, |owner, ns| {
                        self.find_controller(owner, ns)
                    });
                if let Ok(computed) = computed
                    && healthy < computed.desired_healthy
                {
                    short.push((&pdb.metadata.name, healthy, computed.desired_healthy));
                }
            });
        if short.is_empty() {
            return;
        }
        short.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let room = MAX_RECORDED_BUDGET_VIOLATIONS.saturating_sub(self.budget_violations.len());
        let violations: Vec<BudgetViolation> = short
            .into_iter()
            .take(room)
            .map(|(name, healthy, desired_healthy)| BudgetViolation {
                at: self.now,
                pdb: self.pdbs.key(&pod.namespace, name),
                pod: pod.clone(),
                disruption,
                healthy,
                desired_healthy,
            })
            .collect();
        self.budget_violations.extend(violations);
    }

    /// POST of an Eviction to `pods/{name}/eviction` in `namespace`, with the request's
    /// `?dryRun=` values (E4–E35).
    ///
    /// # Errors
    /// Every non-201 answer of the E rules (`docs/rules.md`).
    pub fn evict(
        &mut self,
        now: SimTime,
        namespace: &str,
        name: &str,
        eviction: Eviction,
        dry_run: &[String],
    ) -> Result<EvictionOutcome, ApiError> {
        self.advance_to(now);
        // The body names the pod as the path does (E4 checks it): its text is reused.
        let text = |given: &str, in_body: &SmolStr| {
            if in_body == given {
                in_body.clone()
            } else {
                SmolStr::new(given)
            }
        };
        let request = EvictionRequest {
            namespace: text(namespace, &eviction.metadata.namespace),
            name: text(name, &eviction.metadata.name),
            eviction,
            dry_run: dry_run.to_vec(),
        };
        let version = self.config.kubernetes_version;
        // The stored key and, for the budget monitor, the labels of a healthy pod: one look-up.
        let (pod, healthy_labels, first_read) = match self.pods.entry(namespace, name) {
            Some((key, stored)) => (
                key.clone(),
                self.labels_if_healthy(stored),
                Some(Arc::clone(stored)),
            ),
            None => (ObjectKey::new(namespace, name), None, None),
        };
        let first_event = self.event_count();
        let result = eviction::evict(
            &mut ClusterEvictionStore {
                cluster: self,
                pod: &pod,
                first_read,
            },
            &request,
            version,
        );
        match &result {
            Ok(outcome) => {
                // The admission came before the deletion it led to: the timeline shows it
                // ahead of step 1.
                self.log_before(
                    first_event,
                    EventKind::EvictionAdmitted {
                        pod: pod.clone(),
                        pdb: outcome
                            .charged_pdb
                            .as_ref()
                            .map(|pdb| pdb.metadata.name.clone()),
                        dry_run: outcome.dry_run,
                    },
                );
                if let Some(labels) = healthy_labels.filter(|_| !outcome.dry_run) {
                    self.check_budgets_after(&pod, &labels, Disruption::Eviction);
                }
            }
            Err(e) => self.log(EventKind::EvictionRefused {
                pod,
                code: e.code(),
                message: e.kept_message(),
            }),
        }
        self.settle();
        result
    }
}

impl Cluster {
    fn read_pod(&self, namespace: &str, name: &str) -> Result<Arc<Pod>, ApiError> {
        self.pods
            .shared(namespace, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found("pods", name))
    }

    fn read_pdb(&self, namespace: &str, name: &str) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.pdbs
            .shared(namespace, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found("poddisruptionbudgets.policy", name))
    }

    /// The PDBs that select `pod` under E13's matching, found by `lookup`, in name order.
    fn pdbs_for(&self, pod: &Pod, lookup: PdbLookup) -> eviction::MatchingPdbs {
        let namespace = pod.metadata.namespace.as_str();
        match lookup {
            PdbLookup::Indexed => {
                let mut found = eviction::MatchingPdbs::new();
                self.pdb_index
                    .for_each_selecting(namespace, &pod.metadata.labels, |pdb| {
                        debug_assert!(
                            self.pdbs
                                .shared(namespace, &pdb.metadata.name)
                                .is_some_and(|stored| Arc::ptr_eq(stored, pdb)),
                            "the PDB index holds the stored object"
                        );
                        found.push(Arc::clone(pdb));
                    });
                if found.len() > 1 {
                    found.sort_unstable_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
                }
                found
            }
            PdbLookup::NamespaceScan => {
                // Upstream lists (copies) every PDB in the namespace, then matches each.
                let listed: Vec<PodDisruptionBudget> =
                    self.pdbs.in_namespace(namespace).cloned().collect();
                listed
                    .into_iter()
                    .filter(|pdb| eviction::pdb_selects_pod(pdb, pod))
                    .map(Arc::new)
                    .collect()
            }
        }
    }
}

/// How a [`DryRunStore`] finds the PDBs that might select a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdbLookup {
    /// Through the cluster's label index (what the cluster itself uses).
    Indexed,
    /// As upstream does (E13): list (and copy) every PDB in the pod's namespace, then match.
    NamespaceScan,
}

/// A read-only [`EvictionStore`] over a cluster: answers what a dry-run eviction would,
/// writing nothing and logging nothing. Used by [`Cluster::check_eviction`] and by the
/// benchmarks, which compare the two [`PdbLookup`] strategies.
#[derive(Debug, Clone)]
pub struct DryRunStore<'a> {
    cluster: &'a Cluster,
    lookup: PdbLookup,
    /// The pod last read. Nothing writes through this store, so the dry-run delete that
    /// ends a decision re-reads it from here instead of from the cluster.
    last_pod: Option<Arc<Pod>>,
}

impl<'a> DryRunStore<'a> {
    /// A store over `cluster` using `lookup`.
    pub fn new(cluster: &'a Cluster, lookup: PdbLookup) -> Self {
        DryRunStore {
            cluster,
            lookup,
            last_pod: None,
        }
    }
}

impl EvictionStore for DryRunStore<'_> {
    fn now(&self) -> Time {
        self.cluster.wall_now()
    }

    fn get_pod(&mut self, namespace: &str, name: &str) -> Result<Arc<Pod>, ApiError> {
        let pod = self.cluster.read_pod(namespace, name)?;
        self.last_pod = Some(Arc::clone(&pod));
        Ok(pod)
    }

    fn list_pdbs(&mut self, pod: &Pod) -> Result<eviction::MatchingPdbs, ApiError> {
        Ok(self.cluster.pdbs_for(pod, self.lookup))
    }

    fn get_pdb(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.cluster.read_pdb(namespace, name)
    }

    fn update_pdb_status(&mut self, _pdb: PodDisruptionBudget) -> Result<(), ApiError> {
        Err(ApiError::Internal("a dry run writes no PDB status".into()))
    }

    fn add_disruption_condition(
        &mut self,
        _: &str,
        _: &str,
        _: Option<&Preconditions>,
    ) -> Result<ResourceVersion, ApiError> {
        Err(ApiError::Internal(
            "a dry run writes no pod condition".into(),
        ))
    }

    fn delete_pod(
        &mut self,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(), ApiError> {
        let errors = validate_delete_options(options);
        if !errors.is_empty() {
            return Err(ApiError::Invalid {
                kind: "DeleteOptions",
                group: "meta.k8s.io",
                name: String::new(),
                errors,
            });
        }
        // A pod DELETE fails only on its preconditions (G4); everything after is the plan
        // of a write that a dry run never makes.
        let pod = match &self.last_pod {
            Some(pod)
                if crate::model::short_text::same(&pod.metadata.name, name)
                    && crate::model::short_text::same(&pod.metadata.namespace, namespace) =>
            {
                Arc::clone(pod)
            }
            _ => self.get_pod(namespace, name)?,
        };
        deletion::check_preconditions("Pod", &pod.metadata, options.preconditions.as_ref(), false)
    }
}

/// The cluster's own storage behind the eviction handler.
struct ClusterEvictionStore<'a> {
    cluster: &'a mut Cluster,
    /// The key of the pod being evicted (the stored one's, when it is stored).
    pod: &'a ObjectKey,
    /// The pod as the handler found it, for its first read: its key came from the same
    /// look-up. Taken by that read, so no write finds it shared.
    first_read: Option<Arc<Pod>>,
}

impl EvictionStore for ClusterEvictionStore<'_> {
    fn now(&self) -> Time {
        self.cluster.wall_now()
    }

    fn get_pod(&mut self, namespace: &str, name: &str) -> Result<Arc<Pod>, ApiError> {
        if let Some(pod) = self.first_read.take() {
            debug_assert!(namespace == &*self.pod.namespace && name == &*self.pod.name);
            return Ok(pod);
        }
        self.cluster.read_pod(namespace, name)
    }

    fn list_pdbs(&mut self, pod: &Pod) -> Result<eviction::MatchingPdbs, ApiError> {
        Ok(self.cluster.pdbs_for(pod, PdbLookup::Indexed))
    }

    fn get_pdb(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.cluster.read_pdb(namespace, name)
    }

    fn update_pdb_status(&mut self, pdb: PodDisruptionBudget) -> Result<(), ApiError> {
        let Some((key, stored)) = self
            .cluster
            .pdbs
            .entry(&pdb.metadata.namespace, &pdb.metadata.name)
        else {
            return Err(ApiError::not_found(
                "poddisruptionbudgets.policy",
                &pdb.metadata.name,
            ));
        };
        let key = key.clone();
        if stored.metadata.resource_version != pdb.metadata.resource_version {
            return Err(ApiError::Conflict {
                qualified: "poddisruptionbudgets.policy".into(),
                group: "policy",
                kind: "poddisruptionbudgets",
                name: key.name.to_string(),
                message: "the object has been modified; please apply your changes to the latest version and try again".into(),
            });
        }
        // The status subresource writes the status alone. The handler's PDB is the stored
        // one at this very resourceVersion with only its status changed, so it is written
        // as it is, without a second copy of the stored object.
        debug_assert!(stored.spec == pdb.spec && stored.metadata == pdb.metadata);
        self.cluster.write(key, Some(pdb), Origin::Api);
        Ok(())
    }

    fn add_disruption_condition(
        &mut self,
        namespace: &str,
        name: &str,
        preconditions: Option<&Preconditions>,
    ) -> Result<ResourceVersion, ApiError> {
        let Some((key, stored)) = self.cluster.pods.entry(namespace, name) else {
            return Err(ApiError::not_found("pods", name));
        };
        deletion::check_preconditions("Pod", &stored.metadata, preconditions, true)?;
        let key = key.clone();
        let now = self.cluster.wall_now();
        let condition = PodCondition {
            type_: SmolStr::new_static(DISRUPTION_TARGET),
            status: SmolStr::new_static("True"),
            reason: SmolStr::new_static(EVICTION_BY_EVICTION_API),
            message: SmolStr::new_static(EVICTION_API_MESSAGE),
            ..PodCondition::default()
        };
        // The stored list equal to the new one, when there is one: evictions in one second
        // arrive at the same lists.
        let conditions =
            self.cluster
                .shared_parts
                .conditions_set(&stored.status.conditions, [condition], now);
        let stored = self
            .cluster
            .write_pod_in_place(&key, Origin::Api, |pod| match conditions {
                Some(conditions) => {
                    pod.status.conditions = conditions;
                    true
                }
                None => false,
            })
            .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
        Ok(stored.metadata.resource_version.clone())
    }

    fn delete_pod(
        &mut self,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(), ApiError> {
        let same = crate::model::short_text::same;
        let key = if same(&self.pod.namespace, namespace) && same(&self.pod.name, name) {
            self.pod.clone()
        } else {
            self.cluster.pods.key(namespace, name)
        };
        self.cluster
            .delete_inner::<Pod>(&key, options, true)
            .map(|_| ())
    }
}
