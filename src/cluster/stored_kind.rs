//! The kinds the cluster stores ([`StoredKind`]): each kind's store, and what a write of it
//! sets off — the indexes it moves, the controller queues it feeds. A pod's write reaches the
//! most observers (`observe_pod`); a PDB's files it in the PDB index.

use std::sync::Arc;

use crate::cluster::deletion::{self, DeletePlan};
use crate::cluster::eviction::{self};
use crate::cluster::pod_facts::PodFacts;
use crate::cluster::{
    Cluster, DeleteResult, Deleter, KubernetesVersion, Origin, Store, Timer, TimerRef, disruption,
    endpoints, kubelet,
};
use crate::error::ApiError;
use crate::model::GoQuoted;
use crate::model::{
    DaemonSet, DeleteOptions, Deployment, EndpointSlice, Endpoints, Node, ObjectKey, Pod,
    PodDisruptionBudget, ReplicaSet, ReplicationController, Resource, Service, StatefulSet,
    Unmodeled,
};
use crate::time::Time;

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
        _deleter: Deleter,
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
        // A node that comes back (or goes) changes what its kubelet can do. With no pod
        // stored there is none to sync, and the index of pods by node is not made for it
        // (clusters are built nodes first).
        if let Some(node) = new.or(old)
            && !cluster.pods.is_empty()
        {
            let keys: Vec<ObjectKey> = cluster
                .pod_index
                .on_node(&node.metadata.name, || cluster.pods.entries_unordered())
                .cloned()
                .collect();
            cluster.kubelet_queue.extend(keys);
        }
        // ... where DaemonSets want pods, and where pending pods can go.
        if cluster.config.controllers.workloads {
            let daemon_sets = cluster.daemon_sets_to_sync();
            cluster.workload_queue.extend(daemon_sets);
            // S6: pending pods may fit the changed node.
            let unscheduled: Vec<ObjectKey> = cluster.pod_index.unscheduled().cloned().collect();
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
        deleter: Deleter,
    ) -> Option<Result<DeleteResult<Self>, ApiError>> {
        Some(cluster.delete_pod_in_place(key, options, deleter))
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
                cluster.timers.cancel_named(TimerRef::PdbSync { pdb: key });
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

impl Cluster {
    /// The reactions to a pod write: `old` is what the pod was filed by before (`None` for a
    /// create), `new` the pod as stored (`None` for a removal).
    pub(crate) fn observe_pod(
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
            let uid = &gone.uid;
            cluster
                .timers
                .cancel_named(TimerRef::Kubelet { pod: key, uid });
            cluster
                .timers
                .cancel_named(TimerRef::StalePodDisruptionCheck { pod: key, uid });
        }
        cluster.pod_index.update(key, old, new_facts);
        let selecting = cluster.pdb_index.pod_written(key, old, new_facts);
        // C3: a pod event re-syncs only the first PDB that selects the pod (the PDB index
        // found them while filing the pod), its key copied only when it is not queued.
        let disruption = cluster.config.controllers.disruption;
        if disruption && let Some(first) = &selecting.first {
            cluster.disruption_queue.insert_copy(first);
        }
        // The first's name, for the warning when there are several (rare).
        let several_first = (selecting.count > 1)
            .then(|| {
                selecting
                    .first
                    .as_ref()
                    .map(|first| Arc::clone(&first.name))
            })
            .flatten();
        let freed = cluster.node_load.facts_changed(old, new_facts);
        // S6: a node with fewer pods may take a pod that fits nowhere (kube-scheduler moves
        // unschedulable pods back to its active queue when an assigned pod goes).
        if freed && cluster.config.controllers.workloads {
            let pending: Vec<ObjectKey> = cluster
                .pod_index
                .unscheduled()
                .filter(|k| *k != key)
                .cloned()
                .collect();
            cluster.schedule_queue.extend(pending);
        }
        // The pod's kubelet notices the write. A kubelet watches only the pods bound
        // to its node, so a pod bound to none before and after wakes none when the kubelet
        // would sync at once (its sync would find no node and stop); with an observe latency
        // the kubelet's timer is set as before, since it may fire after a binding.
        let bound_to_none = new_facts.is_some_and(|pod| pod.node.is_empty())
            && old.is_none_or(|pod| pod.node.is_empty())
            && cluster.config.latencies.kubelet_observe.is_zero();
        if origin != Origin::Kubelet && cluster.config.controllers.kubelet && !bound_to_none {
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
        if !disruption {
            return;
        }
        if let Some(first) = several_first {
            cluster.record(
                "Warning",
                format!("Pod/{key}"),
                "MultiplePodDisruptionBudgets",
                format!(
                    "Pod {}/{} matches multiple PodDisruptionBudgets.  Chose {} arbitrarily.",
                    GoQuoted(&key.namespace),
                    GoQuoted(&key.name),
                    GoQuoted(&first)
                ),
            );
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

    /// Files pods under the label `selector` is anchored on, if it has one, so that
    /// [`Cluster::pods_selected`] finds its pods without scanning the namespace: for the
    /// selectors of stored PDBs and Services, which are asked again and again.
    fn index_anchor_of(&mut self, selector: &crate::model::Selector) {
        if let Some((label, _)) = selector.anchor()
            && !self.pod_index.indexes_label_key(label)
        {
            self.pod_index
                .index_label_key(label, self.pods.entries_unordered());
        }
    }
}
