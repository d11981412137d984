//! The disruption controller: PodDisruptionBudget status (C5–C15, C30, C31) and the stale
//! `DisruptionTarget` cleanup (C20), upstream's `pkg/controller/disruption/disruption.go`.
//!
//! The arithmetic is pure ([`compute_status`]); [`Cluster`] feeds it the stored pods and
//! controllers and applies the result in one write.

use std::collections::BTreeMap;

use super::Cluster;
use crate::model::{
    DISRUPTION_ALLOWED, DISRUPTION_TARGET, INSUFFICIENT_PODS, IntOrString, ObjectKey,
    OwnerReference, Pod, PodCondition, PodDisruptionBudget, PodDisruptionBudgetStatus,
    SUFFICIENT_PODS, SYNC_FAILED, SmolStr, TERMINATION_BY_KUBELET, Uid,
};
use crate::time::Time;

/// How long an evicted pod may stay in `disruptedPods` unseen (`DeletionTimeout`, C10).
pub const DELETION_TIMEOUT_SECONDS: i64 = 120;
/// How long a `DisruptionTarget=True` condition may sit on a live pod (C20).
pub const STALE_POD_DISRUPTION_TIMEOUT_SECONDS: i64 = 120;

/// A pod's managing controller as the finders resolve it (C7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerScale {
    /// The UID the scale is counted under (a Deployment's for Deployment-owned pods).
    pub uid: Uid,
    /// `spec.replicas` (an int32 upstream).
    pub replicas: i32,
}

/// What a controller lookup found for an owner reference (C7a, C7b).
pub type FinderResult = Result<Option<ControllerScale>, String>;

/// The counts one sync computes, before the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedStatus {
    /// `expectedPods`.
    pub expected_pods: i64,
    /// `desiredHealthy`.
    pub desired_healthy: i64,
    /// `currentHealthy`.
    pub current_healthy: i64,
    /// `disruptionsAllowed`.
    pub disruptions_allowed: i64,
    /// The new `disruptedPods`.
    pub disrupted_pods: BTreeMap<SmolStr, Time>,
    /// Pods selected but unmanaged (C8).
    pub unmanaged_pods: Vec<SmolStr>,
    /// When the earliest kept `disruptedPods` entry expires (C13).
    pub recheck_at: Option<Time>,
    /// Pods whose `disruptedPods` entry expired unseen (the `NotDeleted` events of C10).
    pub not_deleted: Vec<SmolStr>,
}

impl ComputedStatus {
    /// Completes a sync's counts with C12: `disruptionsAllowed`, never negative, zero when
    /// nothing is expected.
    fn with_allowed_disruptions(
        expected_pods: i64,
        desired_healthy: i64,
        current_healthy: i64,
        disrupted_pods: BTreeMap<SmolStr, Time>,
        unmanaged_pods: Vec<SmolStr>,
        recheck_at: Option<Time>,
        not_deleted: Vec<SmolStr>,
    ) -> ComputedStatus {
        let mut disruptions_allowed = current_healthy - desired_healthy;
        if expected_pods <= 0 || disruptions_allowed <= 0 {
            disruptions_allowed = 0;
        }
        ComputedStatus {
            expected_pods,
            desired_healthy,
            current_healthy,
            disruptions_allowed,
            disrupted_pods,
            unmanaged_pods,
            recheck_at,
            not_deleted,
        }
    }
}

/// C7: `getExpectedScale`: the summed replicas of the selected pods' distinct controllers.
///
/// # Errors
/// A finder error, or `found no controllers for pod "<name>"`.
pub fn expected_scale(
    pods: &[&Pod],
    mut find: impl FnMut(&OwnerReference, &Pod) -> FinderResult,
) -> Result<(i64, Vec<SmolStr>), String> {
    let mut scales: BTreeMap<Uid, i32> = BTreeMap::new();
    let mut unmanaged = Vec::new();
    for pod in pods {
        let Some(owner) = pod.metadata.controller_ref() else {
            unmanaged.push(pod.metadata.name.clone());
            continue;
        };
        if scales.contains_key(&owner.uid) {
            continue;
        }
        match find(owner, pod)? {
            Some(scale) => {
                scales.insert(scale.uid, scale.replicas);
            }
            None => {
                return Err(format!(
                    "found no controllers for pod {}",
                    crate::model::GoQuoted(&pod.metadata.name)
                ));
            }
        }
    }
    Ok((scales.values().map(|&r| i64::from(r)).sum(), unmanaged))
}

fn scaled(value: &IntOrString, total: i64) -> Result<i64, String> {
    match value {
        IntOrString::Int(n) => Ok(i64::from(*n)),
        IntOrString::String(s) => {
            let Some(digits) = s.strip_suffix('%') else {
                return Err(
                    "invalid value for IntOrString: invalid type: string is not a percentage"
                        .into(),
                );
            };
            let percent: i64 = digits.parse().map_err(|_| {
                format!(
                    "invalid value for IntOrString: invalid value {}: strconv.Atoi: parsing {}: invalid syntax",
                    crate::model::GoQuoted(s),
                    crate::model::GoQuoted(digits)
                )
            })?;
            Ok(crate::model::percent_of_rounded_up(percent, total))
        }
    }
}

/// C5–C12: one sync's arithmetic. `pods` are the selected pods; `find` resolves controllers.
///
/// # Errors
/// The sync error text that the fail-safe (C15) writes into the condition.
pub fn compute_status(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    now: Time,
    find: impl FnMut(&OwnerReference, &Pod) -> FinderResult,
) -> Result<ComputedStatus, String> {
    // C6.
    let (expected_pods, desired_healthy, unmanaged_pods) =
        if let Some(max_unavailable) = &pdb.spec.max_unavailable {
            let (expected, unmanaged) = expected_scale(pods, find)?;
            let max_unavailable = scaled(max_unavailable, expected)?;
            (expected, (expected - max_unavailable).max(0), unmanaged)
        } else if let Some(min_available) = &pdb.spec.min_available {
            match min_available {
                IntOrString::Int(n) => (pods.len() as i64, i64::from(*n), Vec::new()),
                IntOrString::String(_) => {
                    let (expected, unmanaged) = expected_scale(pods, find)?;
                    (expected, scaled(min_available, expected)?, unmanaged)
                }
            }
        } else {
            (0, 0, Vec::new())
        };

    // C10: buildDisruptedPodMap.
    let mut disrupted_pods = BTreeMap::new();
    let mut recheck_at: Option<Time> = None;
    let mut not_deleted = Vec::new();
    if let Some(stored) = &pdb.status.disrupted_pods {
        for pod in pods {
            if pod.is_terminating() {
                continue;
            }
            let Some(disrupted_at) = stored.get(pod.metadata.name.as_str()) else {
                continue;
            };
            let expires = disrupted_at.plus_seconds(DELETION_TIMEOUT_SECONDS);
            if expires < now {
                not_deleted.push(pod.metadata.name.clone());
            } else {
                recheck_at = Some(recheck_at.map_or(expires, |r| r.min(expires)));
                disrupted_pods.insert(pod.metadata.name.clone(), *disrupted_at);
            }
        }
    }

    // C11: countHealthyPods.
    let current_healthy = pods
        .iter()
        .filter(|pod| !pod.is_terminating())
        .filter(|pod| {
            disrupted_pods
                .get(pod.metadata.name.as_str())
                .is_none_or(|at| at.plus_seconds(DELETION_TIMEOUT_SECONDS) <= now)
        })
        .filter(|pod| pod.is_ready())
        .count() as i64;

    Ok(ComputedStatus::with_allowed_disruptions(
        expected_pods,
        desired_healthy,
        current_healthy,
        disrupted_pods,
        unmanaged_pods,
        recheck_at,
        not_deleted,
    ))
}

/// C7 over a tally's distinct controllers: the sum of their scales, counting once the
/// controllers found through two references (two ReplicaSets of one Deployment); `None`
/// when a reference is doubtful (two under one uid, or not found), which the full pass
/// answers.
fn expected_scale_of(
    owners: &super::pdb_index::OwnerCounts,
    namespace: &str,
    find: &mut impl FnMut(&OwnerReference, &str) -> FinderResult,
) -> Option<i64> {
    // Nearly always one entry, so held inline.
    let mut scales: smallvec::SmallVec<[(Uid, i32); 2]> = smallvec::SmallVec::new();
    let mut previous: Option<&Uid> = None;
    for ((uid, api_version, kind, name), _) in owners.iter() {
        if previous == Some(uid) {
            return None;
        }
        previous = Some(uid);
        let owner = OwnerReference {
            api_version: api_version.clone(),
            kind: kind.clone(),
            name: name.clone(),
            uid: uid.clone(),
            controller: Some(true),
            block_owner_deletion: None,
        };
        match find(&owner, namespace) {
            Ok(Some(scale)) => scales.push((scale.uid, scale.replicas)),
            _ => return None,
        }
    }
    if scales.len() > 1 {
        // The same controller's entries hold the same scale: which one stays is moot.
        scales.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        scales.dedup_by(|a, b| a.0 == b.0);
    }
    Some(scales.iter().map(|&(_, r)| i64::from(r)).sum())
}

/// [`compute_status`] from a PDB's tallied members ([`super::pdb_index::Tally`]): the
/// same result, at the cost of the PDB's distinct controllers and its `disruptedPods`
/// entries rather than of its pods. Whenever the answer depends on the order of the pods
/// — a finder that fails or finds nothing, whose error names the first such pod, or two
/// references sharing a UID — it is [`compute_status`] on the members that answers.
///
/// # Errors
/// As [`compute_status`].
pub(crate) fn compute_status_tallied(
    pdb: &PodDisruptionBudget,
    members: super::pdb_index::MemberPods<'_>,
    tally: &super::pdb_index::Tally,
    now: Time,
    controllers_version: u64,
    mut find: impl FnMut(&OwnerReference, &str) -> FinderResult,
) -> Result<ComputedStatus, String> {
    let namespace = members.namespace();
    let full = |find: &mut dyn FnMut(&OwnerReference, &str) -> FinderResult| {
        let pods: Vec<&Pod> = members.pods().collect();
        compute_status(pdb, &pods, now, |owner, pod| {
            find(owner, &pod.metadata.namespace)
        })
    };
    let needs_scale = pdb.spec.max_unavailable.is_some()
        || matches!(pdb.spec.min_available, Some(IntOrString::String(_)));
    // C7 over the distinct controllers; any doubt, and the full pass answers.
    let mut expected_scale = 0i64;
    let mut remembered_desired_healthy = None;
    let mut unmanaged_pods = Vec::new();
    if needs_scale {
        // The finder looks in the members' namespace: no pod is read for it.
        if members.is_empty() {
            return full(&mut find);
        }
        // The controllers' scale is read again only when they, or some controller or the
        // budget's spec, changed since it was: a sync and the budget check after each
        // eviction ask, and between them pods come and go under the same controllers.
        if let Some((scale, desired_healthy)) = tally.owners.scale().at(controllers_version) {
            expected_scale = scale;
            remembered_desired_healthy = Some(desired_healthy);
        } else {
            expected_scale = match expected_scale_of(&tally.owners, namespace, &mut find) {
                Some(scale) => scale,
                None => return full(&mut find),
            };
        }
        if tally.unmanaged > 0 {
            unmanaged_pods = members
                .pods()
                .filter(|pod| pod.metadata.controller_ref().is_none())
                .map(|pod| pod.metadata.name.clone())
                .collect();
        }
    }
    // C6, remembered with the scale: a budget that needs the scale expects that many pods.
    let (expected_pods, desired_healthy) = if let Some(desired_healthy) = remembered_desired_healthy
    {
        (expected_scale, desired_healthy)
    } else if let Some(max_unavailable) = &pdb.spec.max_unavailable {
        let max_unavailable = scaled(max_unavailable, expected_scale)?;
        (expected_scale, (expected_scale - max_unavailable).max(0))
    } else if let Some(min_available) = &pdb.spec.min_available {
        match min_available {
            IntOrString::Int(n) => (members.len() as i64, i64::from(*n)),
            IntOrString::String(_) => (expected_scale, scaled(min_available, expected_scale)?),
        }
    } else {
        unmanaged_pods.clear();
        (0, 0)
    };
    if needs_scale && remembered_desired_healthy.is_none() {
        tally
            .owners
            .scale()
            .remember(controllers_version, expected_scale, desired_healthy);
    }
    // C10 over the stored entries (in name order, as the pods are), then C11: the tallied
    // healthy pods less those a kept entry still holds back.
    let mut disrupted_pods = BTreeMap::new();
    let mut recheck_at: Option<Time> = None;
    let mut not_deleted = Vec::new();
    let mut held_back = 0usize;
    for (name, disrupted_at) in pdb.status.disrupted_pods.iter().flatten() {
        let Some(pod) = members.get(name) else {
            continue;
        };
        if pod.is_terminating() {
            continue;
        }
        let expires = disrupted_at.plus_seconds(DELETION_TIMEOUT_SECONDS);
        if expires < now {
            not_deleted.push(name.as_str().into());
        } else {
            recheck_at = Some(recheck_at.map_or(expires, |r| r.min(expires)));
            disrupted_pods.insert(name.clone(), *disrupted_at);
            held_back += usize::from(expires > now && pod.is_ready());
        }
    }
    let current_healthy = (tally.ready_not_terminating - held_back) as i64;
    Ok(ComputedStatus::with_allowed_disruptions(
        expected_pods,
        desired_healthy,
        current_healthy,
        disrupted_pods,
        unmanaged_pods,
        recheck_at,
        not_deleted,
    ))
}

/// C31 `ConditionsAreUpToDate`.
pub fn conditions_are_up_to_date(pdb: &PodDisruptionBudget) -> bool {
    let Some(condition) = pdb.status.condition(DISRUPTION_ALLOWED) else {
        return false;
    };
    if pdb.status.observed_generation != pdb.metadata.generation {
        return false;
    }
    if pdb.status.disruptions_allowed > 0 {
        condition.status == "True" && condition.reason == SUFFICIENT_PODS
    } else {
        condition.status == "False" && condition.reason == INSUFFICIENT_PODS
    }
}

/// C12 `updatePdbStatus`: the status to write, or `None` when everything is already right.
pub fn status_update(
    pdb: &PodDisruptionBudget,
    computed: &ComputedStatus,
    now: Time,
) -> Option<PodDisruptionBudgetStatus> {
    if status_is_up_to_date(pdb, computed) {
        return None;
    }
    let mut status = PodDisruptionBudgetStatus {
        conditions: pdb.status.conditions.clone(),
        ..PodDisruptionBudgetStatus::default()
    };
    write_computed_status(
        &mut status,
        pdb.metadata.generation,
        computed,
        computed.disrupted_pods.clone(),
        now,
    );
    Some(status)
}

/// C12's test: whether `pdb`'s stored status already says what `computed` does.
pub fn status_is_up_to_date(pdb: &PodDisruptionBudget, computed: &ComputedStatus) -> bool {
    let stored = &pdb.status;
    let same_disrupted = match &stored.disrupted_pods {
        Some(stored) => *stored == computed.disrupted_pods,
        None => computed.disrupted_pods.is_empty(),
    };
    stored.current_healthy == computed.current_healthy
        && stored.desired_healthy == computed.desired_healthy
        && stored.expected_pods == computed.expected_pods
        && stored.disruptions_allowed == computed.disruptions_allowed
        && same_disrupted
        && stored.observed_generation == pdb.metadata.generation
        && conditions_are_up_to_date(pdb)
}

/// C12's new status, written over `status` (the stored one, whose conditions it keeps and
/// updates): the counts of `computed`, its `disrupted` pods (given apart, so that they can
/// be moved), the PDB's `generation` observed, nothing unmodeled kept.
fn write_computed_status(
    status: &mut PodDisruptionBudgetStatus,
    generation: i64,
    computed: &ComputedStatus,
    disrupted: BTreeMap<SmolStr, Time>,
    now: Time,
) {
    status.observed_generation = generation;
    status.disrupted_pods = (!disrupted.is_empty()).then_some(disrupted);
    status.disruptions_allowed = computed.disruptions_allowed;
    status.current_healthy = computed.current_healthy;
    status.desired_healthy = computed.desired_healthy;
    status.expected_pods = computed.expected_pods;
    status.unmodeled = Default::default();
    status.update_disruption_allowed_condition(now);
}

/// C15 `failSafe`: DA 0 and a `SyncFailed` condition; everything else as stored.
pub fn fail_safe(pdb: &PodDisruptionBudget, message: &str, now: Time) -> PodDisruptionBudgetStatus {
    let mut status = pdb.status.clone();
    status.disruptions_allowed = 0;
    let observed_generation = status.observed_generation;
    status.set_condition(
        crate::model::Condition {
            type_: DISRUPTION_ALLOWED.into(),
            status: "False".into(),
            observed_generation,
            last_transition_time: None,
            reason: SYNC_FAILED.into(),
            message: message.into(),
        },
        now,
    );
    status
}

/// C20 `nonTerminatingPodHasStaleDisruptionCondition`: when (if ever) the pod's
/// `DisruptionTarget=True` goes stale.
pub fn stale_disruption_deadline(pod: &Pod) -> Option<Option<Time>> {
    if pod.is_terminating() || pod.is_terminal() {
        return None;
    }
    let condition = pod.condition(DISRUPTION_TARGET)?;
    if condition.status != "True" || condition.reason == TERMINATION_BY_KUBELET {
        return None;
    }
    Some(
        condition
            .last_transition_time
            .map(|t| t.plus_seconds(STALE_POD_DISRUPTION_TIMEOUT_SECONDS)),
    )
}

/// The condition C20 writes: `DisruptionTarget=False`, reason and message emptied.
pub fn reset_disruption_condition(observed_generation: Option<i64>) -> PodCondition {
    PodCondition {
        type_: DISRUPTION_TARGET.into(),
        status: "False".into(),
        observed_generation,
        ..PodCondition::default()
    }
}

impl Cluster {
    /// C7a/C7b: resolves a pod's controller owner reference to a scale. The finders, in upstream's order: ReplicationController, Deployment (via its
    /// ReplicaSet), ReplicaSet, StatefulSet, then the generic scale subresource.
    ///
    /// # Errors
    /// A sync error (`no matches for kind …`, `… does not implement the scale subresource`).
    pub fn find_controller(&self, owner: &OwnerReference, namespace: &str) -> FinderResult {
        let group = owner.group();
        let name = owner.name.as_str();
        let apps_or_extensions = matches!(group, "apps" | "extensions");
        // ReplicationController.
        if owner.kind == "ReplicationController"
            && group.is_empty()
            && let Some(rc) = self.replication_controllers.owner(namespace, name)
            && rc.metadata.uid == owner.uid
        {
            return Ok(Some(ControllerScale {
                uid: rc.metadata.uid.clone(),
                replicas: rc.spec.replicas.unwrap_or(1),
            }));
        }
        // Deployment via ReplicaSet.
        if owner.kind == "ReplicaSet"
            && apps_or_extensions
            && let Some(rs) = self.replica_sets.owner(namespace, name)
            && rs.metadata.uid == owner.uid
        {
            if let Some(rs_owner) = rs.metadata.controller_ref()
                && rs_owner.kind == "Deployment"
                && matches!(rs_owner.group(), "apps" | "extensions")
                && let Some(d) = self.deployments.owner(namespace, &rs_owner.name)
                && d.metadata.uid == rs_owner.uid
            {
                return Ok(Some(ControllerScale {
                    uid: d.metadata.uid.clone(),
                    replicas: d.spec.replicas.unwrap_or(1),
                }));
            }
            // ReplicaSet, unless a Deployment controls it.
            if rs
                .metadata
                .controller_ref()
                .is_none_or(|r| r.kind != "Deployment")
            {
                return Ok(Some(ControllerScale {
                    uid: rs.metadata.uid.clone(),
                    replicas: rs.spec.replicas.unwrap_or(1),
                }));
            }
        }
        // StatefulSet.
        if owner.kind == "StatefulSet"
            && group == "apps"
            && let Some(ss) = self.stateful_sets.owner(namespace, name)
            && ss.metadata.uid == owner.uid
        {
            return Ok(Some(ControllerScale {
                uid: ss.metadata.uid.clone(),
                replicas: ss.spec.replicas.unwrap_or(1),
            }));
        }
        self.find_by_scale_subresource(owner, &ObjectKey::new(namespace, name))
    }

    /// C7b: the generic scale finder over the kinds this API server serves.
    fn find_by_scale_subresource(&self, owner: &OwnerReference, key: &ObjectKey) -> FinderResult {
        let version = owner.api_version.rsplit('/').next().unwrap_or_default();
        let group = owner.group();
        // The REST mapping: which served resource is this group/kind, and has it /scale?
        let resource = match (group, owner.kind.as_str(), version) {
            ("", "ReplicationController", "v1") => Some(("replicationcontrollers", true)),
            ("apps", "ReplicaSet", "v1") => Some(("replicasets", true)),
            ("apps", "Deployment", "v1") => Some(("deployments", true)),
            ("apps", "StatefulSet", "v1") => Some(("statefulsets", true)),
            ("apps", "DaemonSet", "v1") => Some(("daemonsets", false)),
            ("batch", "Job", "v1") => Some(("jobs", false)),
            ("batch", "CronJob", "v1") => Some(("cronjobs", false)),
            ("", "Pod", "v1") => Some(("pods", false)),
            ("", "Node", "v1") => Some(("nodes", false)),
            ("", "Service", "v1") => Some(("services", false)),
            _ => None,
        };
        let Some((resource, has_scale)) = resource else {
            return Err(format!(
                "no matches for kind {} in version {}",
                crate::model::GoQuoted(&owner.kind),
                crate::model::GoQuoted(&owner.api_version)
            ));
        };
        let scale = match resource {
            "replicationcontrollers" => self
                .replication_controllers
                .get(key)
                .map(|o| (o.metadata.uid.clone(), o.spec.replicas.unwrap_or(1))),
            "replicasets" => self
                .replica_sets
                .get(key)
                .map(|o| (o.metadata.uid.clone(), o.spec.replicas.unwrap_or(1))),
            "deployments" => self
                .deployments
                .get(key)
                .map(|o| (o.metadata.uid.clone(), o.spec.replicas.unwrap_or(1))),
            "statefulsets" => self
                .stateful_sets
                .get(key)
                .map(|o| (o.metadata.uid.clone(), o.spec.replicas.unwrap_or(1))),
            _ => None,
        };
        match scale {
            Some((uid, replicas)) if uid == owner.uid => {
                Ok(Some(ControllerScale { uid, replicas }))
            }
            Some(_) => Ok(None),
            None if has_scale => Ok(None),
            None => {
                let group_resource = if group.is_empty() {
                    resource.to_string()
                } else {
                    format!("{resource}.{group}")
                };
                Err(format!(
                    "{group_resource} does not implement the scale subresource"
                ))
            }
        }
    }

    /// One disruption-controller sync of `key` (C4): `trySync`, fail-safe on error.
    pub(crate) fn sync_pdb(&mut self, key: &ObjectKey) {
        let Some(pdb) = self.pdbs.shared_at(key).cloned() else {
            return; // C4: gone, nothing to do.
        };
        let now = self.wall_now();
        // Formatted only for an event: most syncs record none.
        let involved = || format!("PodDisruptionBudget/{key}");
        // C5: the selected pods, kept by the index (with their tally) as pods are written;
        // a null selector selects nothing, an invalid one fails the sync.
        let mut records: Vec<(&'static str, &'static str, String)> = Vec::new();
        let find = |owner: &OwnerReference, pod: &Pod| {
            self.find_controller(owner, &pod.metadata.namespace)
        };
        let expected_count_failed = |records: &mut Vec<_>, e: &String| {
            records.push((
                "Warning",
                "CalculateExpectedPodCountFailed",
                format!("Failed to calculate the number of expected pods: {e}"),
            ));
        };
        let result = match (&pdb.spec.selector, self.pdb_index.tallied(key)) {
            (Some(_), Some((members, tally))) => {
                let members = members.in_store(&key.namespace, &self.pods);
                if members.is_empty() {
                    records.push(("Normal", "NoPods", "No matching pods found".into()));
                }
                let version = self.controllers_version;
                let tallied =
                    compute_status_tallied(&pdb, members, tally, now, version, |owner, ns| {
                        self.find_controller(owner, ns)
                    });
                debug_assert_eq!(
                    tallied,
                    compute_status(&pdb, &members.pods().collect::<Vec<_>>(), now, find),
                    "the tallied status of {key} is a recount's"
                );
                tallied.inspect_err(|e| expected_count_failed(&mut records, e))
            }
            (selector, _) => {
                let selected: Result<Vec<&Pod>, String> = match selector {
                    None => Ok(Vec::new()),
                    Some(selector) => selector
                        .as_selector()
                        .map(|s| self.pods_selected(&key.namespace, &s)),
                };
                selected.and_then(|pods| {
                    if pods.is_empty() {
                        records.push(("Normal", "NoPods", "No matching pods found".into()));
                    }
                    compute_status(&pdb, &pods, now, find)
                        .inspect_err(|e| expected_count_failed(&mut records, e))
                })
            }
        };
        for (event_type, reason, message) in records {
            self.record(event_type, involved(), reason, message);
        }
        match result {
            Ok(mut computed) => {
                if !computed.unmanaged_pods.is_empty() {
                    let selector = pdb
                        .spec
                        .selector
                        .as_ref()
                        .and_then(|s| s.as_selector().ok())
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    self.record("Warning", involved(), "UnmanagedPods", format!("Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."));
                }
                for pod in &computed.not_deleted {
                    // Upstream prints the namespace twice (C10).
                    self.record(
                        "Warning",
                        format!("Pod/{}/{pod}", key.namespace),
                        "NotDeleted",
                        format!(
                            "Pod was expected by PDB {}/{} to be deleted but it wasn't",
                            key.namespace, key.namespace
                        ),
                    );
                }
                if !status_is_up_to_date(&pdb, &computed) {
                    #[cfg(debug_assertions)]
                    let expected = status_update(&pdb, &computed, now);
                    let generation = pdb.metadata.generation;
                    // Let go of, so that the stored budget is changed in place.
                    drop(pdb);
                    let disrupted = std::mem::take(&mut computed.disrupted_pods);
                    self.write_pdb_status(key, super::Origin::DisruptionController, |status| {
                        write_computed_status(status, generation, &computed, disrupted, now);
                        #[cfg(debug_assertions)]
                        debug_assert_eq!(Some(&*status), expected.as_ref());
                        // A status not up to date differs in a count, the disrupted pods,
                        // the generation observed or the condition, which this rewrote.
                        true
                    });
                    self.log(super::EventKind::PdbStatusUpdated {
                        pdb: key,
                        disruptions_allowed: computed.disruptions_allowed,
                        current_healthy: computed.current_healthy,
                        desired_healthy: computed.desired_healthy,
                        expected_pods: computed.expected_pods,
                    });
                }
                if let Some(recheck) = computed.recheck_at {
                    // The entry is dropped once `expiry < now` holds on the seconds-truncated
                    // clock (E44a): one second after the expiry. Always strictly later than
                    // now, so a recheck can never re-arm itself at the same instant.
                    let at = self
                        .clock
                        .sim_time_of(recheck.plus_seconds(1))
                        .max(self.now + std::time::Duration::from_millis(1));
                    self.timers
                        .schedule(at, super::Timer::PdbSync { pdb: key.clone() });
                }
            }
            Err(message) => {
                let status = fail_safe(&pdb, &message, now);
                drop(pdb);
                self.write_pdb_status(key, super::Origin::DisruptionController, |stored| {
                    let changed = *stored != status;
                    *stored = status;
                    changed
                });
                self.log(super::EventKind::PdbSyncFailed { pdb: key, message });
            }
        }
    }

    /// C20 `syncStalePodDisruption`.
    pub(crate) fn sync_stale_pod_disruption(&mut self, key: &ObjectKey, uid: &Uid) {
        let Some(pod) = self.pods.at(key) else {
            return;
        };
        if &pod.metadata.uid != uid {
            return;
        }
        let now = self.wall_now();
        match stale_disruption_deadline(pod) {
            None => {}
            Some(Some(deadline)) if deadline > now => {
                let at = self.clock.sim_time_of(deadline);
                self.timers.schedule(
                    at,
                    super::Timer::StalePodDisruptionCheck {
                        pod: key.clone(),
                        uid: uid.clone(),
                    },
                );
            }
            Some(_) => {
                let mut updated = pod.clone();
                // V11: default-on from 1.34 (PodObservedGenerationTracking beta); an alpha gate in 1.33.
                let observed = (self.config.kubernetes_version >= super::KubernetesVersion::V1_34)
                    .then_some(updated.metadata.generation);
                let mut condition = reset_disruption_condition(observed);
                condition.last_transition_time = Some(now);
                if let Some(existing) = updated
                    .status
                    .conditions
                    .iter_mut()
                    .find(|c| c.type_ == DISRUPTION_TARGET)
                {
                    *existing = condition;
                }
                self.write(
                    key.clone(),
                    Some(updated),
                    super::Origin::DisruptionController,
                );
                self.log(super::EventKind::DisruptionTargetReset { pod: key });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_scaling_rounds_up() {
        assert_eq!(scaled(&IntOrString::String("30%".into()), 7), Ok(3));
        assert_eq!(scaled(&IntOrString::String("30%".into()), 3), Ok(1));
        assert!(
            scaled(&IntOrString::String("5".into()), 3)
                .unwrap_err()
                .contains("not a percentage")
        );
    }
}
