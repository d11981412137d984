//! The eviction commands: the `pods/{name}/eviction` POST (E4–E35) run against the cluster's
//! own storage, the dry-run check behind it, and the budget monitor that records a
//! disruption a PDB could not afford.

use std::sync::Arc;

use crate::cluster::commands::check_delete_options;
use crate::cluster::deletion::{self};
use crate::cluster::event_log::KeyNamed;
use crate::cluster::eviction::{self, EvictionOutcome, EvictionRequest, EvictionStore};
use crate::cluster::{
    BudgetViolation, Cluster, Deleter, Disruption, EventKind, MAX_RECORDED_BUDGET_VIOLATIONS,
    Origin, disruption,
};
use crate::error::ApiError;
use crate::model::short_text::same;
use crate::model::{
    DISRUPTION_TARGET, DeleteOptions, EVICTION_API_MESSAGE, EVICTION_BY_EVICTION_API, Eviction,
    ObjectKey, Pod, PodCondition, PodDisruptionBudget, Preconditions, ResourceVersion, SmolStr,
};
use crate::time::{SimTime, Time};

/// The condition an admitted eviction sets on its pod before deleting it (E30). A static:
/// the shared parts recognise a change they worked out by the address of the conditions it
/// set.
static EVICTION_DISRUPTION_TARGET: [PodCondition; 1] = [PodCondition {
    type_: SmolStr::new_static(DISRUPTION_TARGET),
    status: SmolStr::new_static("True"),
    observed_generation: None,
    last_probe_time: None,
    last_transition_time: None,
    reason: SmolStr::new_static(EVICTION_BY_EVICTION_API),
    message: SmolStr::new_static(EVICTION_API_MESSAGE),
}];

impl Cluster {
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
            namespace,
            name,
            eviction: &eviction,
            dry_run: &[],
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
    pub(crate) fn healthy_pod_labels(&self, key: &ObjectKey) -> Option<crate::model::StringMap> {
        self.pods
            .get(key)
            .and_then(|pod| self.labels_if_healthy(pod))
    }

    /// `pod`'s labels if it is healthy (Ready, not terminating) and a PDB could count it.
    fn labels_if_healthy(&self, pod: &Pod) -> Option<crate::model::StringMap> {
        self.healthy_for_budgets(pod)
            .then(|| pod.metadata.labels.clone())
    }

    /// Whether `pod` is healthy (Ready, not terminating) and a PDB could count it: whether
    /// the budget monitor looks at what taking it away leaves.
    fn healthy_for_budgets(&self, pod: &Pod) -> bool {
        !self.pdbs.is_empty() && pod.is_ready() && !pod.is_terminating()
    }

    /// After a client took the healthy pod at `pod` (labelled `labels`) away: records a
    /// [`BudgetViolation`] for each PDB selecting it that is now short.
    pub(crate) fn check_budgets_after(
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
                let computed = disruption::compute_status_tallied(
                    pdb,
                    members,
                    tally,
                    now,
                    self.controllers_version,
                    |owner, ns| self.find_controller(owner, ns),
                );
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
        let request = EvictionRequest {
            namespace,
            name,
            eviction: &eviction,
            dry_run,
        };
        let version = self.config.kubernetes_version;
        // The pod for its first read and, for the budget monitor, whether it is healthy:
        // one look-up. Its stored key is copied only by a write, and its labels only once it
        // is admitted (most attempts are refused): the events name the pod by the request's
        // texts, which are its key's.
        let (healthy, first_read) = match self.pods.entry(namespace, name) {
            Some((_, stored)) => (self.healthy_for_budgets(stored), Some(Arc::clone(stored))),
            None => (false, None),
        };
        let first_event = self.event_count();
        let mut store = ClusterEvictionStore {
            cluster: self,
            namespace,
            name,
            written: None,
            deleted: None,
            first_read,
        };
        let result = eviction::evict(&mut store, &request, version);
        let (written, deleted) = (store.written.take(), store.deleted.take());
        let pod = KeyNamed { namespace, name };
        match &result {
            Ok(outcome) => {
                // The admission came before the deletion it led to: the timeline shows it
                // ahead of step 1.
                self.log_before(
                    first_event,
                    EventKind::EvictionAdmitted {
                        pod,
                        pdb: outcome.charged_pdb_name.clone(),
                        dry_run: outcome.dry_run,
                    },
                );
                // The labels the pod had, read from what the delete answered (the pod as
                // stored, or its last state when it removed it): an eviction changes a pod's
                // conditions and deletion stamp only.
                let labels = deleted
                    .filter(|_| healthy && !outcome.dry_run)
                    .map(|pod| pod.metadata.labels.clone());
                if let Some(labels) = labels {
                    let key = written.unwrap_or_else(|| self.pods.key(namespace, name));
                    self.check_budgets_after(&key, &labels, Disruption::Eviction);
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

    /// The PDBs that select `pod`, which is in `namespace`, under E13's matching, found by
    /// `lookup`, in name order. The namespace comes from the caller's key rather than from
    /// the pod: a refused attempt reads no more of the pod than it must (its labels, phase
    /// and conditions), each line of it a trip to memory for a pod out of the caches.
    fn pdbs_for(&self, namespace: &str, pod: &Pod, lookup: PdbLookup) -> eviction::MatchingPdbs {
        debug_assert_eq!(namespace, pod.metadata.namespace);
        match lookup {
            PdbLookup::Indexed => {
                let found = self
                    .pdb_index
                    .selecting_in_order(namespace, &pod.metadata.labels);
                debug_assert!(
                    found.iter().all(|pdb| self
                        .pdbs
                        .shared(namespace, &pdb.metadata.name)
                        .is_some_and(|stored| Arc::ptr_eq(stored, pdb))),
                    "the PDB index holds the stored objects"
                );
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
        Ok(self
            .cluster
            .pdbs_for(&pod.metadata.namespace, pod, self.lookup))
    }

    fn get_pdb(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.cluster.read_pdb(namespace, name)
    }

    fn update_pdb_status(
        &mut self,
        _read: Arc<PodDisruptionBudget>,
        _decrement: eviction::BudgetDecrement<'_>,
    ) -> Result<(), ApiError> {
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
        check_delete_options(options)?;
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
    /// The namespace and name of the pod being evicted, as the request gives them.
    namespace: &'a str,
    name: &'a str,
    /// A copy of the pod's stored key, made by the first write to the pod and kept for the
    /// next (an admitted eviction's condition, then its delete) and for the budget monitor.
    written: Option<ObjectKey>,
    /// The pod as its delete answered it (as stored, or its last state when the delete
    /// removed it): the budget monitor reads its labels. Let go before the reactions run,
    /// so that they change the stored pod in place.
    deleted: Option<Arc<Pod>>,
    /// The pod as the handler found it, for its first read: found by the request's namespace
    /// and name. Taken by that read, so no write finds it shared.
    first_read: Option<Arc<Pod>>,
}

/// The copy of a stored key an earlier write made (`written`), taken when it names the pod
/// at `namespace`/`name`, as it does: the handler writes the request's pod alone.
fn written_key(written: &mut Option<ObjectKey>, namespace: &str, name: &str) -> Option<ObjectKey> {
    written
        .take()
        .filter(|key| same(&key.namespace, namespace) && same(&key.name, name))
}

impl EvictionStore for ClusterEvictionStore<'_> {
    fn now(&self) -> Time {
        self.cluster.wall_now()
    }

    fn get_pod(&mut self, namespace: &str, name: &str) -> Result<Arc<Pod>, ApiError> {
        if let Some(pod) = self.first_read.take() {
            debug_assert!(namespace == self.namespace && name == self.name);
            return Ok(pod);
        }
        self.cluster.read_pod(namespace, name)
    }

    fn list_pdbs(&mut self, pod: &Pod) -> Result<eviction::MatchingPdbs, ApiError> {
        // A drain's attempts on a workload's pods (most of them refused) find the same
        // budgets one after another: remembered by the index until a budget is written.
        let namespace = self.namespace;
        debug_assert_eq!(namespace, pod.metadata.namespace);
        let pdbs = self
            .cluster
            .pdb_index
            .selecting_remembered(namespace, &pod.metadata.labels);
        debug_assert!(
            pdbs.iter().map(|pdb| &pdb.metadata.name).eq(self
                .cluster
                .pdbs_for(namespace, pod, PdbLookup::Indexed)
                .iter()
                .map(|pdb| &pdb.metadata.name))
                && pdbs.iter().all(|pdb| self
                    .cluster
                    .pdbs
                    .shared(namespace, &pdb.metadata.name)
                    .is_some_and(|stored| Arc::ptr_eq(stored, pdb))),
            "the remembered PDBs are the stored ones that select the pod"
        );
        Ok(pdbs)
    }

    fn get_pdb(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        self.cluster.read_pdb(namespace, name)
    }

    fn update_pdb_status(
        &mut self,
        read: Arc<PodDisruptionBudget>,
        decrement: eviction::BudgetDecrement<'_>,
    ) -> Result<(), ApiError> {
        let Some((key, stored)) = self
            .cluster
            .pdbs
            .entry(&read.metadata.namespace, &read.metadata.name)
        else {
            return Err(ApiError::not_found(
                "poddisruptionbudgets.policy",
                &read.metadata.name,
            ));
        };
        let key = key.clone();
        if stored.metadata.resource_version != read.metadata.resource_version {
            return Err(ApiError::Conflict {
                qualified: "poddisruptionbudgets.policy".into(),
                group: "policy",
                kind: "poddisruptionbudgets",
                name: key.name.to_string(),
                message: "the object has been modified; please apply your changes to the latest version and try again".into(),
            });
        }
        // The status subresource writes the status alone, here the decrement of the budget
        // at the version the check read. With the handler's handle let go, nothing but the
        // store holds the budget, which then changes in place: no copy, no allocation.
        drop(read);
        self.cluster.write_pdb_status(&key, Origin::Api, |status| {
            decrement.apply(status);
            true
        });
        Ok(())
    }

    fn add_disruption_condition(
        &mut self,
        namespace: &str,
        name: &str,
        preconditions: Option<&Preconditions>,
    ) -> Result<ResourceVersion, ApiError> {
        let Some((found, stored)) = self.cluster.pods.entry(namespace, name) else {
            return Err(ApiError::not_found("pods", name));
        };
        deletion::check_preconditions("Pod", &stored.metadata, preconditions, true)?;
        let key = written_key(&mut self.written, namespace, name).unwrap_or_else(|| found.clone());
        let now = self.cluster.wall_now();
        // The stored list equal to the new one, when there is one: evictions in one second
        // arrive at the same lists.
        let conditions = self.cluster.shared_parts.conditions_set(
            &stored.status.conditions,
            &EVICTION_DISRUPTION_TARGET,
            now,
        );
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
        self.written = Some(key);
        Ok(stored.metadata.resource_version.clone())
    }

    fn delete_pod(
        &mut self,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(), ApiError> {
        let key = written_key(&mut self.written, namespace, name)
            .unwrap_or_else(|| self.cluster.pods.key(namespace, name));
        let deleted = self
            .cluster
            .delete_inner::<Pod>(&key, options, Deleter::Client);
        self.written = Some(key);
        self.deleted = Some(deleted?.object);
        Ok(())
    }
}
