//! Queries: `&self`, no time. What is stored, what the indexes know, the event log read by
//! cursor, the cluster's size.

use crate::cluster::eviction::{self};
use crate::cluster::{BudgetViolation, Cluster, ClusterConfig, Event, StoredKind, history};
use crate::model::{ObjectKey, Pod, PodDisruptionBudget};
use crate::time::{SimTime, Time, WallClock};

/// The sizes of what a [`Cluster`] holds ([`Cluster::footprint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Stored objects of every kind.
    pub objects: usize,
    /// Events retained in the log (at most [`ClusterConfig::event_retention`]).
    pub events: usize,
    /// Bytes the log holds them in (encoded: a few dozen bytes an event).
    pub event_bytes: usize,
    /// Pending timers.
    pub timers: usize,
    /// Writes kept for watches (at most the retention given to
    /// [`Cluster::keep_watch_history`], plus a tenth).
    pub watch_history: usize,
    /// Pods the kubelets track.
    pub kubelet_pods: usize,
    /// Entries in the pod and PDB indexes (by node, label and owner; PDBs and their pods).
    /// The indexes by node and by owner count from the first read that made them: until a
    /// node's or a controller's pods are asked for, they hold nothing.
    pub index_entries: usize,
    /// Recorded budget violations (capped).
    pub budget_violations: usize,
}

impl Cluster {
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
            .on_node(node, || self.pods.entries_unordered())
            .filter_map(|k| self.pods.get(k))
            .collect()
    }

    /// The keys of the pods bound to `node` (terminal ones included), in store order.
    pub(crate) fn pod_keys_on_node(&self, node: &str) -> Vec<ObjectKey> {
        self.pod_index
            .on_node(node, || self.pods.entries_unordered())
            .cloned()
            .collect()
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
            events: self.events.retained(),
            event_bytes: self.events.bytes(),
            timers: self.timers.len(),
            watch_history: self.watch_history.len(),
            kubelet_pods: self.kubelet_pods.len(),
            index_entries: self.pod_index.entries() + self.pdb_index.entries(),
            budget_violations: self.budget_violations.len(),
        }
    }

    /// The retained event log: every event not yet compacted away
    /// (see [`ClusterConfig::event_retention`]), oldest first.
    ///
    /// The log holds its events encoded (a few dozen bytes each); each call decodes them
    /// afresh. To follow the log, read by cursor with [`Cluster::events_since`] or
    /// [`Cluster::events_iter`].
    pub fn events(&self) -> Vec<Event> {
        self.events_iter(0).collect()
    }

    /// The retained events from sequence number `seq` on (a cursor: pass
    /// [`Cluster::event_count`] as it was when you last read).
    pub fn events_since(&self, seq: u64) -> Vec<Event> {
        self.events_iter(seq).collect()
    }

    /// The retained events from sequence number `seq` on, decoded one by one as the
    /// iterator is advanced.
    ///
    /// # Examples
    /// ```
    /// use evictsim::cluster::{Cluster, EventKind};
    /// use evictsim::model::{Eviction, Pod};
    /// use evictsim::time::SimTime;
    ///
    /// let mut cluster = Cluster::default();
    /// cluster.load(SimTime::ZERO, Pod::running("default", "web-1", "node-1")).unwrap();
    /// let cursor = cluster.event_count();
    /// cluster.evict_pod(SimTime::ZERO, Eviction::new("default", "web-1")).unwrap();
    /// let mut events = cluster.events_iter(cursor);
    /// let first = events.next().unwrap();
    /// assert_eq!(first.seq, cursor);
    /// assert!(matches!(first.kind, EventKind::EvictionAdmitted { .. }));
    /// ```
    pub fn events_iter(&self, seq: u64) -> impl Iterator<Item = Event> + '_ {
        self.events.since(seq)
    }

    /// How many events have ever been logged: the sequence number the next one gets.
    pub fn event_count(&self) -> u64 {
        self.events.count()
    }

    /// Every recorded moment a client's eviction or DELETE left a PDB below its
    /// `desiredHealthy` (see [`BudgetViolation`]), oldest first; empty for a drainer that
    /// respects every budget. At most [`MAX_RECORDED_BUDGET_VIOLATIONS`](super::MAX_RECORDED_BUDGET_VIOLATIONS) are kept.
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
            controllers_version: self.controllers_version,
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
            events: super::event_log::EventLog::starting_at(self.event_count()),
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
}
