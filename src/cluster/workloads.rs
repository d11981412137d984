//! Workload controllers and the scheduler: ReplicaSets and ReplicationControllers keep their
//! replica count of active pods (a terminating pod no longer counts, so its replacement is
//! created at once); Deployments own a ReplicaSet per pod template and scale it; StatefulSets
//! keep ordinal pods, creating a replacement only once the old pod is gone and in order
//! (OrderedReady); DaemonSets keep one pod per node (cordoning does not matter to them). A
//! deterministic scheduler binds pending pods to Ready, schedulable nodes with room. Pods
//! whose controller is deleted are garbage-collected (background propagation).

use std::borrow::Cow;
use std::hash::Hasher as _;

use serde_json::{Value, json};

use serde::Deserialize as _;

use super::pod_facts::PodFacts;
use super::shared_parts::PerSpec;
use super::{Cluster, Deleter, EventKind, FastMap, Origin};
use crate::error::ApiError;
use crate::model::short_text::same;
use crate::model::{
    DaemonSet, DeleteOptions, Deployment, Kind, LabelSelector, ObjectKey, OwnerReference, Pod,
    PodSpec, ReplicaSet, ReplicationController, SmolStr, StatefulSet, StringMap, Uid, Unmodeled,
    phase,
};

/// The label Deployments add to their ReplicaSets and pods.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The label StatefulSets add to their pods.
pub const STATEFULSET_POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// The most pods one ReplicaSet or ReplicationController sync creates or deletes
/// (upstream's `BurstReplicas` in `pkg/controller/replicaset/replica_set.go`); the rest
/// follow in the next syncs, which each creation triggers.
pub const BURST_REPLICAS: usize = 500;
/// The most pods one DaemonSet sync creates (upstream's `BurstReplicas` in
/// `pkg/controller/daemon/daemon_controller.go`).
pub const DAEMON_SET_BURST_REPLICAS: usize = 250;

/// A workload the controllers keep: which kind, and where.
pub type WorkloadRef = (Kind, ObjectKey);

/// A workload's pod template, decoded: what every pod created from it starts with.
#[derive(Debug, Clone, Default)]
pub(crate) struct PodTemplateParts {
    labels: StringMap,
    annotations: StringMap,
    spec: PodSpec,
}

impl PodTemplateParts {
    /// Reads `template` from a workload's spec; a part that is absent or not the shape a pod
    /// template has is left empty, as the controllers treat it.
    fn decode(workload_spec: &Unmodeled) -> Self {
        let template = workload_spec.value("template");
        let template = template.as_ref();
        let meta = template.and_then(|t| t.get("metadata"));
        let string_map_at = |field: &str| {
            meta.and_then(|m| m.get(field))
                .and_then(|v| StringMap::deserialize(v).ok())
                .unwrap_or_default()
        };
        PodTemplateParts {
            labels: string_map_at("labels"),
            annotations: string_map_at("annotations"),
            spec: template
                .and_then(|t| t.get("spec"))
                .and_then(|v| PodSpec::deserialize(v).ok())
                .unwrap_or_default(),
        }
    }
}

/// Decoded pod templates by the workload spec they came from: every sync of an unchanged
/// workload finds its template here instead of decoding the template's JSON for every pod
/// it creates, and the pods made from it share their labels and spec.
pub(crate) type PodTemplates = PerSpec<PodTemplateParts>;

fn template(unmodeled: &Unmodeled) -> Value {
    unmodeled.value("template").unwrap_or_else(|| json!({}))
}

/// Upstream's `rand.SafeEncodeString` of a hash: a label-safe text.
fn template_hash(template: &Value) -> String {
    let mut hasher = FnvHasher::default();
    hasher.write(template.to_string().as_bytes());
    let mut n = hasher.finish() as u32;
    let mut out = String::new();
    loop {
        out.push(SAFE_ALPHABET[(n % SAFE_ALPHABET.len() as u32) as usize] as char);
        n /= SAFE_ALPHABET.len() as u32;
        if n == 0 {
            break;
        }
    }
    out
}

/// 32-bit FNV-1a, as upstream hashes pod templates.
#[derive(Default)]
struct FnvHasher(Option<u32>);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        u64::from(self.0.unwrap_or(0x811c_9dc5))
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0.unwrap_or(0x811c_9dc5);
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
        self.0 = Some(h);
    }
}

fn is_active(pod: &Pod) -> bool {
    !pod.is_terminating() && !pod.is_terminal()
}

impl Cluster {
    /// The pods whose controller is the object with `uid`.
    pub fn pods_owned_by(&self, uid: &Uid) -> Vec<&Pod> {
        self.pod_index
            .owned_by(uid, || self.pods.entries_unordered())
            .filter_map(|k| self.pods.get(k))
            .collect()
    }

    /// Queues a workload (and, for a pod event, the pod's controller) for a sync.
    pub(crate) fn enqueue_owner_of(&mut self, pod: &PodFacts) {
        if let Some(owner) = pod.controller
            && let Some(kind) = Kind::from_name(&owner.kind)
            && matches!(
                kind,
                Kind::ReplicaSet
                    | Kind::ReplicationController
                    | Kind::StatefulSet
                    | Kind::DaemonSet
            )
        {
            let (namespace, name) = (pod.namespace.as_str(), owner.name.as_str());
            // A pod is written several times in a row, and its controller is queued by the
            // first write: found by text, no key is made for the others (and the first
            // does not look for it again).
            self.workload_queue.insert_unless_waiting(
                |(k, key)| *k == kind && same(&key.name, name) && same(&key.namespace, namespace),
                // The owner's stored key, when it is stored, shares its text.
                || {
                    let key = match kind {
                        Kind::ReplicaSet => self.replica_sets.key(namespace, name),
                        Kind::ReplicationController => {
                            self.replication_controllers.key(namespace, name)
                        }
                        Kind::StatefulSet => self.stateful_sets.key(namespace, name),
                        _ => self.daemon_sets.key(namespace, name),
                    };
                    (kind, key)
                },
            );
        }
    }

    /// One sync of a workload.
    pub(crate) fn sync_workload(&mut self, (kind, key): &WorkloadRef) {
        let result = match kind {
            Kind::ReplicaSet => self.sync_replica_set(key),
            Kind::ReplicationController => self.sync_replication_controller(key),
            Kind::Deployment => self.sync_deployment(key),
            Kind::StatefulSet => self.sync_stateful_set(key),
            Kind::DaemonSet => self.sync_daemon_set(key),
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.record(
                "Warning",
                format!("{kind}/{key}"),
                "FailedCreate",
                e.to_string(),
            );
        }
    }

    /// Creates a pod from a workload's template, through the API's create path.
    fn create_from_template(
        &mut self,
        owner: OwnerReference,
        namespace: &str,
        template: &PodTemplateParts,
        name: Option<String>,
        extra_labels: StringMap,
        node: Option<SmolStr>,
    ) -> Result<(), ApiError> {
        let mut pod = Pod::default();
        pod.metadata.labels = template.labels.clone();
        pod.metadata.annotations = template.annotations.clone();
        if !extra_labels.is_empty() {
            pod.metadata.labels.extend(extra_labels);
        }
        pod.spec = template.spec.clone();
        if let Some(node) = node {
            pod.spec.node_name = node;
        }
        pod.metadata.namespace = namespace.into();
        match name {
            Some(n) => pod.metadata.name = n.into(),
            None => pod.metadata.generate_name = SmolStr::from_iter([owner.name.as_str(), "-"]),
        }
        let owner_label = SmolStr::from_iter([&*owner.kind, " ", namespace, "/", &*owner.name]);
        pod.metadata.owner_references = self.shared_parts.sole_owner(owner);
        let created = self.create_inner(pod, false, false)?;
        // The event names the stored key, borrowed (the log copies its text): logged here
        // rather than through `log`, which would borrow the whole cluster.
        let (namespace, name) = (&created.metadata.namespace, &created.metadata.name);
        let pod = match self.pods.entry(namespace, name) {
            Some((stored, _)) => Cow::Borrowed(stored),
            None => Cow::Owned(ObjectKey::new(namespace.as_str(), name.as_str())),
        };
        let event = EventKind::PodCreated {
            owner: owner_label,
            pod: &*pod,
        };
        self.events
            .push(self.now, &event, self.config.event_retention);
        Ok(())
    }

    /// The pod template in `workload_spec`, decoded once per spec. Its labels, annotations
    /// and pod spec are the store's shared copies, so the pods made from it are stored
    /// without hashing them to find those.
    fn pod_template(&mut self, workload_spec: &Unmodeled) -> PodTemplateParts {
        let parts = &mut self.shared_parts;
        self.pod_templates
            .get(workload_spec, |spec| {
                let mut template = PodTemplateParts::decode(spec);
                parts.share_map(&mut template.labels, None);
                parts.share_map(&mut template.annotations, None);
                parts.share_spec(&mut template.spec.unmodeled, None);
                template
            })
            .clone()
    }

    /// Deletes a pod the way controllers do: a plain DELETE with the pod's own grace period.
    fn controller_delete(&mut self, pod: &ObjectKey) {
        let _ = self.delete_inner::<Pod>(pod, &DeleteOptions::default(), Deleter::Client);
    }

    /// Brings a ReplicaSet's or ReplicationController's active pods to `replicas`; the
    /// template is read only when pods must be created (this runs on every pod event).
    fn sync_replicas(
        &mut self,
        key: &ObjectKey,
        kind: Kind,
        uid: &Uid,
        replicas: i32,
    ) -> Result<(usize, usize), ApiError> {
        let want = usize::try_from(replicas.max(0)).unwrap_or(0);
        let counts = self.pod_index.owner_counts(uid);
        let count = counts.0;
        if count == want {
            // Most syncs (one for each write of an owned pod) change nothing.
            return Ok(counts);
        }
        if count < want {
            let (owner, workload_spec) = match kind {
                Kind::ReplicaSet => self
                    .replica_sets
                    .at(key)
                    .map(|o| (OwnerReference::controller_of(o), o.spec.unmodeled.clone())),
                _ => self
                    .replication_controllers
                    .at(key)
                    .map(|o| (OwnerReference::controller_of(o), o.spec.unmodeled.clone())),
            }
            .ok_or_else(|| ApiError::not_found(&kind.to_string(), &key.name))?;
            let template = self.pod_template(&workload_spec);
            for _ in count..want.min(count + BURST_REPLICAS) {
                self.create_from_template(
                    owner.clone(),
                    &key.namespace,
                    &template,
                    None,
                    StringMap::new(),
                    None,
                )?;
            }
        } else if count > want {
            // Upstream's ranking of which pods go first, in short: unscheduled, then pending,
            // then unready, then the newest.
            let mut ranked: Vec<_> = self
                .pods_owned_by(uid)
                .into_iter()
                .filter(|p| is_active(p))
                .map(|p| {
                    (
                        !p.spec.node_name.is_empty(),
                        p.status.phase != phase::PENDING,
                        p.is_ready(),
                        std::cmp::Reverse(p.metadata.creation_timestamp),
                        std::cmp::Reverse(p.metadata.name.clone()),
                        p.metadata.key(),
                    )
                })
                .collect();
            ranked.sort();
            let victims: Vec<ObjectKey> = ranked
                .into_iter()
                .take((count - want).min(BURST_REPLICAS))
                .map(|entry| entry.5)
                .collect();
            for victim in victims {
                self.controller_delete(&victim);
            }
        }
        Ok(self.pod_index.owner_counts(uid))
    }

    /// A ReplicaSet's or ReplicationController's status: the counts it reports.
    fn replica_status(generation: i64, replicas: usize, ready: usize) -> Unmodeled {
        let mut status = Unmodeled::new();
        status.insert("observedGeneration".into(), json!(generation));
        status.insert("replicas".into(), json!(replicas));
        status.insert("fullyLabeledReplicas".into(), json!(replicas));
        if ready > 0 {
            status.insert("readyReplicas".into(), json!(ready));
            status.insert("availableReplicas".into(), json!(ready));
        }
        status
    }

    fn sync_replica_set(&mut self, key: &ObjectKey) -> Result<(), ApiError> {
        let Some(rs) = self.replica_sets.at(key) else {
            return Ok(());
        };
        // Most syncs (one for each write of an owned pod) find the replicas it wants and the
        // status up to date: answered on the one look-up, nothing copied.
        let want = usize::try_from(rs.spec.replicas.unwrap_or(1).max(0)).unwrap_or(0);
        let (active, ready) = self.pod_index.owner_counts(&rs.metadata.uid);
        if active == want
            && self
                .replica_statuses
                .hold(&rs.status, rs.metadata.generation, active, ready)
            && rs
                .metadata
                .controller_ref()
                .is_none_or(|o| o.kind != "Deployment")
        {
            return Ok(());
        }
        let (uid, replicas, generation) = (
            rs.metadata.uid.clone(),
            rs.spec.replicas.unwrap_or(1),
            rs.metadata.generation,
        );
        let deployment = rs
            .metadata
            .controller_ref()
            .filter(|o| o.kind == "Deployment")
            .map(|o| ObjectKey::new(key.namespace.clone(), o.name.clone()));
        let (active, ready) = self.sync_replicas(key, Kind::ReplicaSet, &uid, replicas)?;
        if let Some(rs) = self.replica_sets.at(key)
            && !self
                .replica_statuses
                .hold(&rs.status, generation, active, ready)
        {
            // The controller's own status write: no reaction (a workload reacts to writes
            // by others), so it is made in place.
            let status = self.replica_statuses.of(generation, active, ready);
            self.write_status_in_place(key, |rs: &mut ReplicaSet| {
                rs.status = status;
                true
            });
        }
        // A Deployment's status follows its ReplicaSets.
        if let Some(deployment) = deployment {
            self.workload_queue.insert((Kind::Deployment, deployment));
        }
        Ok(())
    }

    fn sync_replication_controller(&mut self, key: &ObjectKey) -> Result<(), ApiError> {
        let Some(rc) = self.replication_controllers.at(key) else {
            return Ok(());
        };
        let (uid, replicas, generation) = (
            rc.metadata.uid.clone(),
            rc.spec.replicas.unwrap_or(1),
            rc.metadata.generation,
        );
        let (active, ready) =
            self.sync_replicas(key, Kind::ReplicationController, &uid, replicas)?;
        if let Some(rc) = self.replication_controllers.at(key)
            && !self
                .replica_statuses
                .hold(&rc.status, generation, active, ready)
        {
            // The controller's own status write: no reaction (a workload reacts to writes
            // by others), so it is made in place.
            let status = self.replica_statuses.of(generation, active, ready);
            self.write_status_in_place(key, |rc: &mut ReplicationController| {
                rc.status = status;
                true
            });
        }
        Ok(())
    }

    fn sync_deployment(&mut self, key: &ObjectKey) -> Result<(), ApiError> {
        let Some(deployment) = self.deployments.at(key).cloned() else {
            return Ok(());
        };
        let mut pod_template = template(&deployment.spec.unmodeled);
        let hash = template_hash(&pod_template);
        if let Some(labels) = pod_template
            .pointer_mut("/metadata/labels")
            .and_then(Value::as_object_mut)
        {
            labels.insert(POD_TEMPLATE_HASH.into(), json!(hash));
        } else if let Some(t) = pod_template.as_object_mut() {
            t.entry("metadata").or_insert(json!({}))["labels"] = json!({POD_TEMPLATE_HASH: hash});
        }
        let replicas = deployment.spec.replicas.unwrap_or(1);
        let owned: Vec<ReplicaSet> = self
            .replica_sets
            .in_namespace(&key.namespace)
            .filter(|rs| {
                rs.metadata
                    .controller_ref()
                    .is_some_and(|o| o.uid == deployment.metadata.uid)
            })
            .cloned()
            .collect();
        // The current ReplicaSet is the oldest whose template is the Deployment's, the
        // pod-template-hash label aside (upstream's `FindNewReplicaSet`, `EqualIgnoreHash`):
        // a real cluster's ReplicaSets, named by upstream's hash, are adopted as they are.
        let without_hash = |template: Value| {
            let mut template = template;
            if let Some(labels) = template
                .pointer_mut("/metadata/labels")
                .and_then(Value::as_object_mut)
            {
                labels.remove(POD_TEMPLATE_HASH);
            }
            template
        };
        let wanted = without_hash(template(&deployment.spec.unmodeled));
        let rs_name = owned
            .iter()
            .filter(|rs| without_hash(template(&rs.spec.unmodeled)) == wanted)
            .min_by_key(|rs| (rs.metadata.creation_timestamp, rs.metadata.name.clone()))
            .map_or_else(
                || format!("{}-{hash}", key.name),
                |rs| rs.metadata.name.to_string(),
            );
        // The current template's ReplicaSet gets every replica; older ones are scaled to 0.
        for rs in &owned {
            if rs.metadata.name != rs_name && rs.spec.replicas != Some(0) {
                let mut scaled = rs.clone();
                scaled.spec.replicas = Some(0);
                self.update_workload(scaled)?;
            }
        }
        match owned.iter().find(|rs| rs.metadata.name == rs_name) {
            Some(rs) if rs.spec.replicas == Some(replicas) => {}
            Some(rs) => {
                let mut scaled = rs.clone();
                scaled.spec.replicas = Some(replicas);
                self.update_workload(scaled)?;
            }
            None => {
                let mut selector: LabelSelector =
                    deployment.spec.selector.clone().unwrap_or_default();
                selector
                    .match_labels
                    .get_or_insert_with(StringMap::new)
                    .insert(POD_TEMPLATE_HASH.into(), hash.clone());
                let mut rs = ReplicaSet::default();
                rs.metadata.name = rs_name.into();
                rs.metadata.namespace = SmolStr::from(&*key.namespace);
                rs.metadata.labels = serde_json::from_value(
                    pod_template
                        .pointer("/metadata/labels")
                        .cloned()
                        .unwrap_or(json!({})),
                )
                .unwrap_or_default();
                rs.metadata.owner_references =
                    vec![OwnerReference::controller_of(&deployment)].into();
                rs.spec.replicas = Some(replicas);
                rs.spec.selector = Some(selector);
                rs.spec.unmodeled.insert("template".into(), pod_template);
                self.create_inner(rs, false, false)?;
            }
        }
        let (mut total, mut ready, mut updated_replicas) = (0, 0, 0);
        for rs in self.replica_sets.in_namespace(&key.namespace).filter(|rs| {
            rs.metadata
                .controller_ref()
                .is_some_and(|o| o.uid == deployment.metadata.uid)
        }) {
            let n = rs
                .status
                .value("replicas")
                .and_then(|n| n.as_u64())
                .unwrap_or(0);
            // Statuses are kept as written, so their sums must not overflow.
            total = u64::saturating_add(total, n);
            ready = u64::saturating_add(
                ready,
                rs.status
                    .value("readyReplicas")
                    .and_then(|n| n.as_u64())
                    .unwrap_or(0),
            );
            if rs.metadata.labels.get(POD_TEMPLATE_HASH) == Some(&hash) {
                updated_replicas = u64::saturating_add(updated_replicas, n);
            }
        }
        let mut updated = deployment.clone();
        updated.status = Unmodeled::new();
        updated.status.insert(
            "observedGeneration".into(),
            json!(deployment.metadata.generation),
        );
        updated.status.insert("replicas".into(), json!(total));
        updated
            .status
            .insert("updatedReplicas".into(), json!(updated_replicas));
        updated.status.insert("readyReplicas".into(), json!(ready));
        updated
            .status
            .insert("availableReplicas".into(), json!(ready));
        self.write(key.clone(), Some(updated), Origin::Workloads);
        Ok(())
    }

    /// A controller's spec write to a workload (scaling), through the update path.
    fn update_workload<T: super::StoredKind>(&mut self, object: T) -> Result<(), ApiError> {
        self.update_inner(object, super::Subresource::Main, false)
            .map(|_| ())
    }

    fn sync_stateful_set(&mut self, key: &ObjectKey) -> Result<(), ApiError> {
        let Some(sts) = self.stateful_sets.at(key).cloned() else {
            return Ok(());
        };
        let replicas = usize::try_from(sts.spec.replicas.unwrap_or(1).max(0)).unwrap_or(0);
        let owner = OwnerReference::controller_of(&sts);
        let pod_template = self.pod_template(&sts.spec.unmodeled);
        // OrderedReady: ordinals are created in order, each once the one before is Running
        // and Ready; a replacement only once the old pod is gone (it keeps the name).
        for ordinal in 0..replicas {
            let name = format!("{}-{ordinal}", key.name);
            match self
                .pods
                .get(&ObjectKey::new(key.namespace.clone(), name.clone()))
            {
                Some(p) if is_active(p) && p.status.phase == phase::RUNNING && p.is_ready() => {
                    continue;
                }
                Some(_) => break,
                None => {
                    let mut labels = StringMap::new();
                    labels.insert(STATEFULSET_POD_NAME.into(), name.clone());
                    labels.insert("apps.kubernetes.io/pod-index".into(), ordinal.to_string());
                    self.create_from_template(
                        owner.clone(),
                        &key.namespace,
                        &pod_template,
                        Some(name),
                        labels,
                        None,
                    )?;
                    break;
                }
            }
        }
        // Scale down from the highest ordinal, one at a time.
        let owned: Vec<&Pod> = self.pods_owned_by(&owner.uid);
        let any_terminating = owned.iter().any(|p| p.is_terminating());
        let surplus = owned
            .iter()
            .filter(|p| is_active(p))
            .filter_map(|p| {
                p.metadata
                    .name
                    .rsplit('-')
                    .next()
                    .and_then(|o| o.parse::<usize>().ok())
                    .map(|o| (o, p.metadata.key()))
            })
            .filter(|(o, _)| *o >= replicas)
            .max_by_key(|(o, _)| *o);
        if let Some((_, victim)) = surplus
            && !any_terminating
        {
            self.controller_delete(&victim);
        }
        let owned: Vec<&Pod> = self.pods_owned_by(&owner.uid);
        let active = owned.iter().filter(|p| is_active(p)).count();
        let ready = owned
            .iter()
            .filter(|p| is_active(p) && p.is_ready())
            .count();
        let mut updated = sts.clone();
        updated.status = Self::replica_status(sts.metadata.generation, active, ready);
        updated.status.remove("fullyLabeledReplicas");
        self.write(key.clone(), Some(updated), Origin::Workloads);
        Ok(())
    }

    fn sync_daemon_set(&mut self, key: &ObjectKey) -> Result<(), ApiError> {
        let Some(ds) = self.daemon_sets.at(key).cloned() else {
            return Ok(());
        };
        let owner = OwnerReference::controller_of(&ds);
        let pod_template = self.pod_template(&ds.spec.unmodeled);
        let nodes: Vec<SmolStr> = self.nodes.iter().map(|n| n.metadata.name.clone()).collect();
        // One pass over the DaemonSet's pods, grouped by node, then one over the nodes.
        let mut by_node: std::collections::BTreeMap<&str, Vec<ObjectKey>> =
            std::collections::BTreeMap::new();
        for pod in self.pods_owned_by(&owner.uid) {
            if is_active(pod) {
                by_node
                    .entry(pod.spec.node_name.as_str())
                    .or_default()
                    .push(pod.metadata.key());
            }
        }
        let plan: Vec<(SmolStr, Vec<ObjectKey>)> = nodes
            .iter()
            .map(|node| {
                (
                    node.clone(),
                    by_node.remove(node.as_str()).unwrap_or_default(),
                )
            })
            .collect();
        let mut created = 0;
        for (node, on_node) in plan {
            if on_node.is_empty() {
                if created == DAEMON_SET_BURST_REPLICAS {
                    continue;
                }
                created += 1;
                self.create_from_template(
                    owner.clone(),
                    &key.namespace,
                    &pod_template,
                    None,
                    StringMap::new(),
                    Some(node),
                )?;
            }
            for extra in on_node.iter().skip(1) {
                self.controller_delete(extra);
            }
        }
        let owned: Vec<&Pod> = self.pods_owned_by(&owner.uid);
        let scheduled = owned.iter().filter(|p| is_active(p)).count();
        let ready = owned
            .iter()
            .filter(|p| is_active(p) && p.is_ready())
            .count();
        let mut updated = ds.clone();
        updated.status = Unmodeled::new();
        updated
            .status
            .insert("observedGeneration".into(), json!(ds.metadata.generation));
        updated
            .status
            .insert("desiredNumberScheduled".into(), json!(nodes.len()));
        updated
            .status
            .insert("currentNumberScheduled".into(), json!(scheduled));
        updated.status.insert("numberReady".into(), json!(ready));
        updated.status.insert("numberMisscheduled".into(), json!(0));
        self.write(key.clone(), Some(updated), Origin::Workloads);
        Ok(())
    }

    /// Garbage collection of a deleted controller's pods (background propagation).
    pub(crate) fn collect_garbage(&mut self, owner: &Uid) {
        let keys: Vec<ObjectKey> = self
            .pod_index
            .owned_by(owner, || self.pods.entries_unordered())
            .cloned()
            .collect();
        for key in keys {
            if self.pods.at(&key).is_some_and(|p| !p.is_terminating()) {
                self.controller_delete(&key);
            }
        }
    }

    /// The scheduler ([`scheduler`](super::scheduler) has the rules): binds an unscheduled
    /// pod to a node that takes it, or marks it `PodScheduled=False` with reason
    /// `Unschedulable` and kube-scheduler's message, recording a `FailedScheduling` event
    /// when the message changes.
    pub(crate) fn schedule(&mut self, key: &ObjectKey) {
        let Some(pod) = self.pods.at(key) else {
            return;
        };
        if !pod.spec.node_name.is_empty() || !is_active(pod) {
            return;
        }
        let placement = self.node_load.placement(pod);
        match self.node_load.place(&placement, &self.nodes) {
            Ok(node) => {
                let now = self.wall_now();
                self.write_pod_in_place(key, Origin::Workloads, |bound| {
                    bound.spec.node_name = node.clone();
                    // The binding sets PodScheduled=True (registry/core/pod/storage
                    // `setPodNodeAndMetadata`). Found before it is changed: a shared list
                    // without the condition is not copied.
                    let conditions = &bound.status.conditions;
                    if let Some(at) = conditions.iter().position(|c| c.type_ == "PodScheduled") {
                        let condition = &mut bound.status.conditions[at];
                        condition.status = SmolStr::new_static("True");
                        condition.reason = SmolStr::default();
                        condition.message = SmolStr::default();
                        condition.last_transition_time = Some(now);
                    }
                    true // an unbound pod is bound now
                });
                self.log(EventKind::PodScheduled { pod: key, node });
            }
            Err(message) => {
                let already = pod.status.conditions.iter().any(|c| {
                    c.type_ == "PodScheduled" && c.status == "False" && c.message == message
                });
                if already {
                    return;
                }
                let mut pending = pod.clone();
                let now = self.wall_now();
                let condition = crate::model::PodCondition {
                    type_: SmolStr::new_static("PodScheduled"),
                    status: SmolStr::new_static("False"),
                    observed_generation: None,
                    last_probe_time: Some(Box::new(Value::Null)),
                    last_transition_time: Some(now),
                    reason: SmolStr::new_static("Unschedulable"),
                    message: message.as_str().into(),
                };
                match pending
                    .status
                    .conditions
                    .iter_mut()
                    .find(|c| c.type_ == "PodScheduled")
                {
                    Some(existing) => {
                        if existing.status == "False" {
                            // Same status, new message: the transition time stays.
                            let since = existing.last_transition_time;
                            *existing = crate::model::PodCondition {
                                last_transition_time: since,
                                ..condition
                            };
                        } else {
                            *existing = condition;
                        }
                    }
                    None => pending.status.conditions.push(condition),
                }
                self.write(key.clone(), Some(pending), Origin::Workloads);
                self.record("Warning", format!("Pod/{key}"), "FailedScheduling", message);
            }
        }
    }

    /// The workloads a node change concerns: every DaemonSet.
    pub(crate) fn daemon_sets_to_sync(&self) -> Vec<WorkloadRef> {
        self.daemon_sets
            .iter()
            .map(|d| (Kind::DaemonSet, d.metadata.key()))
            .collect()
    }
}

impl StatefulSet {
    /// The name of the pod with `ordinal`.
    pub fn pod_name(&self, ordinal: usize) -> String {
        format!("{}-{ordinal}", self.metadata.name)
    }
}

impl DaemonSet {
    /// The pod template.
    pub fn template(&self) -> Value {
        template(&self.spec.unmodeled)
    }
}

impl Deployment {
    /// The hash evictsim names this Deployment's current ReplicaSet with.
    pub fn template_hash(&self) -> String {
        template_hash(&template(&self.spec.unmodeled))
    }
}

impl ReplicationController {
    /// The pod template.
    pub fn template(&self) -> Value {
        template(&self.spec.unmodeled)
    }
}

/// The statuses the ReplicaSet and ReplicationController controllers write, one shared copy
/// per distinct (generation, replicas, ready): a roll writes the same few counts over and
/// over, and sharing the copy spares building the map and, for every status written, the
/// copy the old object held (statuses are copy-on-write). Bounded: forgotten past 1,024.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplicaStatuses {
    /// The shared status of each count.
    by_counts: FastMap<(i64, usize, usize), Unmodeled>,
    /// The counts of each shared status, by its address (kept alive by `by_counts`, so no
    /// other status has it).
    by_address: FastMap<usize, (i64, usize, usize)>,
}

impl ReplicaStatuses {
    const LIMIT: usize = 1_024;

    /// [`Cluster::replica_status`] of these counts.
    pub(crate) fn of(&mut self, generation: i64, replicas: usize, ready: usize) -> Unmodeled {
        let key = (generation, replicas, ready);
        if let Some(status) = self.by_counts.get(&key) {
            return status.clone();
        }
        if self.by_counts.len() >= Self::LIMIT {
            self.by_counts.clear();
            self.by_address.clear();
        }
        let status = Cluster::replica_status(generation, replicas, ready);
        self.by_address.insert(status.address(), key);
        self.by_counts.insert(key, status.clone());
        status
    }
}

impl ReplicaStatuses {
    /// Whether `status` is exactly what [`Cluster::replica_status`] would build from these
    /// counts: a sync after every pod event mostly finds nothing to change, and the rest
    /// mostly find the status the controller wrote for the counts before. A shared copy,
    /// which the controller wrote, is known by its address, with the counts it was built
    /// from; any other status (loaded, restored, or a copy the table has let go of) is read
    /// field by field.
    fn hold(&self, status: &Unmodeled, generation: i64, replicas: usize, ready: usize) -> bool {
        match self.by_address.get(&status.address()) {
            Some(&counts) => counts == (generation, replicas, ready),
            None => replica_status_is(status, generation, replicas, ready),
        }
    }
}

/// Whether `status` is exactly what [`Cluster::replica_status`] would build from these counts,
/// read in place: building the map to compare costs more than the rest of the sync.
fn replica_status_is(status: &Unmodeled, generation: i64, replicas: usize, ready: usize) -> bool {
    let (replicas, ready) = (replicas as u64, ready as u64);
    let expected_fields = if ready > 0 { 5 } else { 3 };
    // A scan of the few fields, each value read as the integer its text may be.
    status.len() == expected_fields
        && status.all_written(|field, value| {
            let value = json_integer(value);
            match field {
                "observedGeneration" => value == Some(i128::from(generation)),
                "replicas" | "fullyLabeledReplicas" => value == Some(i128::from(replicas)),
                "readyReplicas" | "availableReplicas" => {
                    ready > 0 && value == Some(i128::from(ready))
                }
                _ => false,
            }
        })
}

/// The integer a JSON number's text is, if it is one (`3`, `-2`; not `3.0`, which
/// serde_json reads as a float): what `Value::as_i64` and `as_u64` read it as.
fn json_integer(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for digit in digits.bytes() {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    let value = i128::from(value);
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A number's text is read as the integer serde_json reads it as, or not at all.
    #[test]
    fn json_integers_read_as_serde_json_reads_them() {
        for text in [
            "0",
            "7",
            "-2",
            "150",
            "18446744073709551615",
            "-9223372036854775808",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let expected = value
                .as_i64()
                .map(i128::from)
                .or(value.as_u64().map(i128::from));
            assert_eq!(json_integer(text), expected, "{text}");
        }
        for text in [
            "3.0",
            "1e3",
            "\"3\"",
            "",
            "-",
            "null",
            "true",
            "18446744073709551616",
        ] {
            assert_eq!(json_integer(text), None, "{text}");
        }
    }

    /// The in-place comparison agrees with comparing against the status the controller
    /// would write, for matching counts and for each count or field that differs.
    #[test]
    fn replica_status_is_the_built_status() {
        let cases = [(1, 3, 0), (1, 3, 2), (2, 0, 0), (7, 5, 5)];
        for (generation, replicas, ready) in cases {
            let built = Cluster::replica_status(generation, replicas, ready);
            assert!(replica_status_is(&built, generation, replicas, ready));
            for (g, r, rd) in [
                (generation + 1, replicas, ready),
                (generation, replicas + 1, ready),
                (generation, replicas, ready + 1),
            ] {
                let other = Cluster::replica_status(g, r, rd);
                assert_eq!(replica_status_is(&built, g, r, rd), built == other);
                assert!(!replica_status_is(&built, g, r, rd));
            }
        }
        // The shared copies are the statuses the controller builds, and are shared.
        let mut statuses = ReplicaStatuses::default();
        for (generation, replicas, ready) in [(1, 3, 0), (1, 3, 2), (2, 4, 0), (1, 3, 0)] {
            let status = statuses.of(generation, replicas, ready);
            let built = Cluster::replica_status(generation, replicas, ready);
            assert_eq!(status, built);
            assert_eq!(status.text(), built.text(), "the same order");
            assert!(status.shares(&statuses.of(generation, replicas, ready)));
            // The shared copy, and an equal status built apart, hold these counts; neither
            // holds others.
            assert!(statuses.hold(&status, generation, replicas, ready));
            assert!(statuses.hold(&built, generation, replicas, ready));
            assert!(!statuses.hold(&status, generation, replicas + 1, ready));
            assert!(!statuses.hold(&built, generation + 1, replicas, ready));
        }
        for n in 0..2 * ReplicaStatuses::LIMIT {
            assert_eq!(statuses.of(1, n, 0), Cluster::replica_status(1, n, 0));
        }
        assert!(statuses.by_counts.len() <= ReplicaStatuses::LIMIT);
        assert_eq!(statuses.by_address.len(), statuses.by_counts.len());
        let mut extra = Cluster::replica_status(1, 3, 2);
        extra.insert("conditions".into(), serde_json::json!([]));
        assert!(!replica_status_is(&extra, 1, 3, 2));
        let mut float = Cluster::replica_status(1, 3, 0);
        float.insert("replicas".into(), serde_json::json!(3.0));
        assert!(!replica_status_is(&float, 1, 3, 0));
    }
}
