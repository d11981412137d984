//! Eviction admission: upstream's `EvictionREST.Create`
//! (`pkg/registry/core/pod/storage/eviction.go`), rules E4–E35.
//!
//! The handler is written against [`EvictionStore`], the seam between the decision and the
//! storage it reads and writes. The cluster implements it over its own stores; tests
//! implement it with scripted stores to reproduce upstream's mock-store cases (E10, E19).
//! The handler's retry loops (E8) run at one virtual instant: the 500 ms pauses upstream takes
//! between attempts are not modelled, because nothing else in the simulation runs between
//! them.

use std::borrow::Cow;
use std::sync::Arc;

use crate::cluster::KubernetesVersion;
use crate::error::{ApiError, BUDGET_EXHAUSTED, BudgetCause, FieldError};
use crate::model::short_text::same;
use crate::model::{
    ALWAYS_ALLOW, DISRUPTION_ALLOWED, DeleteOptions, Eviction, FieldErrorKind, IF_HEALTHY_BUDGET,
    INSUFFICIENT_PODS, MAX_DISRUPTED_POD_SIZE, Pod, PodDisruptionBudget, PodDisruptionBudgetStatus,
    Preconditions, ResourceVersion, Selector, SmolStr,
};
use crate::time::Time;
use crate::wire::StatusCause;

/// Attempts of each retry loop (`EvictionsRetry.Steps`, E8).
pub const EVICTION_RETRY_ATTEMPTS: usize = 20;

/// The storage the eviction handler reads and writes (E2: pods through the status strategy
/// for the condition, the normal strategy for the delete; PDBs through their status).
pub trait EvictionStore {
    /// The API server's wall-clock time.
    fn now(&self) -> Time;
    /// Reads the pod (404 when missing). A shared handle: the handler never copies a pod.
    ///
    /// # Errors
    /// `NotFound` or a storage error.
    fn get_pod(&mut self, namespace: &str, name: &str) -> Result<Arc<Pod>, ApiError>;
    /// The PDBs in `pod`'s namespace that select it under E13's matching
    /// ([`pdb_selects_pod`]: a null or invalid selector selects nothing), in name order.
    /// Upstream's handler lists the namespace and matches each; a store may use an index.
    ///
    /// # Errors
    /// A list error, returned as is (E13).
    fn list_pdbs(&mut self, pod: &Pod) -> Result<MatchingPdbs, ApiError>;
    /// Reads a PDB (the E20 re-read).
    ///
    /// # Errors
    /// `NotFound` or a storage error.
    fn get_pdb(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<PodDisruptionBudget>, ApiError>;
    /// E24: `UpdateStatus` of the budget the check read, `read`, with `decrement` applied,
    /// under optimistic concurrency on `read`'s resourceVersion. The handler hands its
    /// handle over, keeping none, so that a store holding the budget shared (as the cluster
    /// does) can change the stored budget in place instead of writing a changed copy.
    ///
    /// # Errors
    /// `Conflict` when the stored resourceVersion is no longer `read`'s.
    fn update_pdb_status(
        &mut self,
        read: Arc<PodDisruptionBudget>,
        decrement: BudgetDecrement<'_>,
    ) -> Result<(), ApiError>;
    /// E30–E31: on the latest stored pod, checks `preconditions` (UID, then non-empty
    /// resourceVersion) and sets the `DisruptionTarget` condition; returns the resulting
    /// resourceVersion (unchanged when the condition was already there).
    ///
    /// # Errors
    /// `NotFound`, or `Conflict` with the E30 texts.
    fn add_disruption_condition(
        &mut self,
        namespace: &str,
        name: &str,
        preconditions: Option<&Preconditions>,
    ) -> Result<ResourceVersion, ApiError>;
    /// A pod DELETE with `options` (the G rules of `docs/rules.md`), dry-run aware.
    ///
    /// # Errors
    /// Whatever the delete answers (404, 409, 422, …).
    fn delete_pod(
        &mut self,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(), ApiError>;
}

/// The PDBs that select a pod: almost always none or one, so kept inline, allocating
/// nothing (more than one is E14's 500). Build one with `collect()`, `MatchingPdbs::new()`
/// and `push`, or `MatchingPdbs::from_vec`.
pub type MatchingPdbs = smallvec::SmallVec<[Arc<PodDisruptionBudget>; 1]>;

/// An eviction request as the REST layer hands it over, borrowed: the handler reads it and
/// keeps nothing of it, so the body (a few hundred bytes) is not moved into the request on
/// each of a drain's attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvictionRequest<'a> {
    /// The namespace in the URL.
    pub namespace: &'a str,
    /// The pod name in the URL.
    pub name: &'a str,
    /// The decoded body.
    pub eviction: &'a Eviction,
    /// The request's `?dryRun=` values.
    pub dry_run: &'a [String],
}

/// What an admitted eviction did.
#[derive(Debug, Clone, PartialEq)]
pub struct EvictionOutcome {
    /// The name of the PDB that was checked and (unless dry run) decremented, if the PDB
    /// path ran; it is in the pod's namespace. A name rather than the budget: the decrement
    /// changes the stored budget in place, so no version of it is held for the caller (a GET
    /// reads it as it now is).
    pub charged_pdb_name: Option<SmolStr>,
    /// Whether nothing was persisted.
    pub dry_run: bool,
}

/// Upstream's PDB matching for the eviction handler (E13, V1): a `null` selector selects
/// nothing, `{}` selects everything, an invalid selector is skipped.
pub fn pdb_selects_pod(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    pdb_selector(pdb).is_some_and(|s| s.matches(&pod.metadata.labels))
}

/// The PDB's selector as the handler and the controller match with it; `None` for a `null`
/// or invalid selector (both select nothing).
pub fn pdb_selector(pdb: &PodDisruptionBudget) -> Option<Selector> {
    pdb.spec.selector.as_ref()?.as_selector().ok()
}

/// E9 `canIgnorePDB`: terminal, Pending and terminating pods bypass PDBs.
pub fn can_ignore_pdb(pod: &Pod) -> bool {
    pod.is_terminal() || pod.status.phase == crate::model::phase::PENDING || pod.is_terminating()
}

/// E11 `shouldEnforceResourceVersion`: only a pod that is neither terminal nor terminating
/// (so, on the bypass path, a Pending one) is pinned to the resourceVersion just read.
fn should_enforce_resource_version(pod: &Pod) -> bool {
    !pod.is_terminal() && !pod.is_terminating()
}

/// E25: the "still being processed" 429, Retry-After 10.
pub fn still_being_processed(pdb_name: &str) -> ApiError {
    ApiError::TooManyRequests {
        message: BUDGET_EXHAUSTED.into(),
        retry_after_seconds: 10,
        causes: vec![StatusCause {
            reason: "DisruptionBudget".into(),
            message: format!(
                "The disruption budget {pdb_name} is still being processed by the server."
            ),
            field: String::new(),
        }],
    }
}

/// A PDB 403 (E21.2, E21.3); from 1.37 with a `DisruptionBudget` cause (V8).
fn pdb_forbidden(pdb: &str, message: &str, cause: &str, version: KubernetesVersion) -> ApiError {
    let causes = if version >= KubernetesVersion::V1_37 {
        vec![StatusCause {
            reason: "DisruptionBudget".into(),
            message: format!(
                "The disruption budget {pdb} does not allow evicting pods currently: {cause}"
            ),
            field: String::new(),
        }]
    } else {
        Vec::new()
    };
    ApiError::Forbidden {
        qualified: "poddisruptionbudget.policy",
        group: "policy",
        kind: "poddisruptionbudget",
        name: pdb.into(),
        message: message.into(),
        causes,
    }
}

/// E21.4's cause. Up to 1.34 always the counts; from 1.35 (V7) the PDB's
/// `DisruptionAllowed` condition decides, first rule that holds: a failed sync names its
/// error; counts at or below the desired ones give the counts; another False condition
/// with a message names its reason and message; else a plain refusal. Kept as data (names
/// and messages are shared text): the refusal is answered far more often than its cause
/// is read.
fn budget_exhausted_cause(pdb: &PodDisruptionBudget, version: KubernetesVersion) -> BudgetCause {
    let budget = pdb.metadata.name.clone();
    let status = &pdb.status;
    let counts = || BudgetCause::Counts {
        budget: budget.clone(),
        desired_healthy: status.desired_healthy,
        current_healthy: status.current_healthy,
    };
    if version < KubernetesVersion::V1_35 {
        return counts();
    }
    let condition = status
        .condition(DISRUPTION_ALLOWED)
        .filter(|c| c.status == "False" && !c.message.is_empty());
    match condition {
        Some(c) if c.reason == "SyncFailed" => BudgetCause::SyncFailed {
            budget,
            message: c.message.clone(),
        },
        _ if status.current_healthy <= status.desired_healthy => counts(),
        Some(c) => BudgetCause::Condition {
            budget,
            reason: c.reason.clone(),
            message: c.message.clone(),
        },
        None => BudgetCause::Refused { budget },
    }
}

/// What E22 and E24 write to the budget that admits an eviction: one disruption fewer
/// allowed, the `DisruptionAllowed=False`/`InsufficientPods` condition when none is left,
/// and the pod in `disruptedPods` at the time of the write. Described, not applied to a
/// copy, so that a store applies it to the stored budget itself
/// ([`EvictionStore::update_pdb_status`]).
///
/// ```
/// use evictsim::cluster::eviction::BudgetDecrement;
/// use evictsim::model::PodDisruptionBudgetStatus;
/// use evictsim::time::Time;
///
/// let at = Time::parse("2025-01-01T00:00:00Z").unwrap();
/// let mut status = PodDisruptionBudgetStatus { disruptions_allowed: 1, ..Default::default() };
/// BudgetDecrement { pod_name: "web-0", at }.apply(&mut status);
/// assert_eq!(status.disruptions_allowed, 0);
/// assert_eq!(status.disrupted_pods.unwrap()["web-0"], at);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetDecrement<'a> {
    /// The evicted pod's name, its `disruptedPods` key.
    pub pod_name: &'a str,
    /// The API server's time of the write.
    pub at: Time,
}

impl BudgetDecrement<'_> {
    /// Applies the decrement to `status`, the status of the budget the check passed.
    pub fn apply(&self, status: &mut PodDisruptionBudgetStatus) {
        status.disruptions_allowed -= 1;
        if status.disruptions_allowed == 0 {
            // E22: helper C30 with the status's own observedGeneration.
            status.update_disruption_allowed_condition(self.at);
            debug_assert!(
                status
                    .condition(DISRUPTION_ALLOWED)
                    .is_some_and(|c| c.reason == INSUFFICIENT_PODS)
            );
        }
        status
            .disrupted_pods
            .get_or_insert_with(Default::default)
            .insert(self.pod_name.into(), self.at);
    }
}

/// E21 and E22: the checks, in order, and the decrement. Pure: returns the decrement to
/// write, or `None` on a dry run (which writes nothing and reads no clock: `now` is called
/// only for a write's timestamps).
///
/// # Errors
/// The 429/403 answers of E21.
pub fn check_and_decrement<'a>(
    pod_name: &'a str,
    pdb: &PodDisruptionBudget,
    dry_run: bool,
    now: impl FnOnce() -> Time,
    version: KubernetesVersion,
) -> Result<Option<BudgetDecrement<'a>>, ApiError> {
    let name = &pdb.metadata.name;
    if pdb.status.observed_generation < pdb.metadata.generation {
        return Err(still_being_processed(name));
    }
    if pdb.status.disruptions_allowed < 0 {
        return Err(pdb_forbidden(
            name,
            "pdb disruptions allowed is negative",
            "pdb disruptions allowed is negative",
            version,
        ));
    }
    if pdb
        .status
        .disrupted_pods
        .as_ref()
        .is_some_and(|m| m.len() > MAX_DISRUPTED_POD_SIZE)
    {
        return Err(pdb_forbidden(
            name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
            "too many pending evictions not confirmed by PDB controller",
            version,
        ));
    }
    if pdb.status.disruptions_allowed == 0 {
        return Err(ApiError::DisruptionBudgetExhausted(budget_exhausted_cause(
            pdb, version,
        )));
    }
    if dry_run {
        // The decrement and E22's condition would be discarded unwritten.
        return Ok(None);
    }
    Ok(Some(BudgetDecrement {
        pod_name,
        at: now(),
    }))
}

/// The options of an eviction whose body has none and whose request is not a dry run:
/// `DeleteOptions::default()`, held once.
static NO_DELETE_OPTIONS: DeleteOptions = DeleteOptions {
    kind: None,
    api_version: None,
    grace_period_seconds: None,
    preconditions: None,
    orphan_dependents: None,
    propagation_policy: None,
    dry_run: None,
    ignore_store_read_error_with_cluster_breaking_potential: None,
};

/// E6 `propagateDryRun`: merges the request's `?dryRun` into the body's delete options.
/// Borrows the body's options when they need no change (the common case: no `?dryRun`, or
/// the same list in both).
///
/// # Errors
/// The plain-error 500 for mismatching lists.
pub fn propagate_dry_run<'a>(
    body: Option<&'a DeleteOptions>,
    request_dry_run: &[String],
) -> Result<Cow<'a, DeleteOptions>, ApiError> {
    let Some(body) = body else {
        if request_dry_run.is_empty() {
            // Most requests (every attempt of a drain): nothing to merge, nothing to make.
            return Ok(Cow::Borrowed(&NO_DELETE_OPTIONS));
        }
        return Ok(Cow::Owned(DeleteOptions {
            dry_run: Some(request_dry_run.to_vec()),
            ..DeleteOptions::default()
        }));
    };
    let body_dry_run = body.dry_run.as_deref().unwrap_or_default();
    if body_dry_run.is_empty() {
        if request_dry_run.is_empty() && body.dry_run.is_none() {
            return Ok(Cow::Borrowed(body));
        }
        let mut merged = body.clone();
        merged.dry_run = (!request_dry_run.is_empty()).then(|| request_dry_run.to_vec());
        return Ok(Cow::Owned(merged));
    }
    if request_dry_run.is_empty() || request_dry_run == body_dry_run {
        return Ok(Cow::Borrowed(body));
    }
    Err(ApiError::Unknown {
        code: 500,
        message: format!(
            "Non-matching dry-run options in request and content: [{}] and [{}]",
            request_dry_run.join(" "),
            body_dry_run.join(" ")
        ),
    })
}

/// Runs the eviction handler (E4–E35) against `store`.
///
/// # Errors
/// Every non-201 answer of the E rules (`docs/rules.md`), as an [`ApiError`].
pub fn evict(
    store: &mut impl EvictionStore,
    request: &EvictionRequest<'_>,
    version: KubernetesVersion,
) -> Result<EvictionOutcome, ApiError> {
    let eviction = request.eviction;
    // Each text read once: a short string's bytes are found by a branch on where it lives.
    let (namespace, name) = (request.namespace, request.name);
    let body_namespace = eviction.metadata.namespace.as_str();
    // E4: namespace first (the generic create handler), then the name.
    if !body_namespace.is_empty() && !same(body_namespace, namespace) {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    if !same(&eviction.metadata.name, name) {
        return Err(ApiError::BadRequest(
            "name in URL does not match name in Eviction object".into(),
        ));
    }
    // E5 (1.32+).
    if version >= KubernetesVersion::V1_32
        && eviction
            .delete_options
            .as_ref()
            .and_then(|o| o.ignore_store_read_error_with_cluster_breaking_potential)
            == Some(true)
    {
        return Err(ApiError::invalid_field(
            "Eviction",
            "policy",
            name,
            FieldError {
                kind: FieldErrorKind::Invalid,
                field: "deleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential".into(),
                value: Some("true".into()),
                detail: "can not be set for pod eviction, try after removing the option".into(),
            },
        ));
    }
    let original = propagate_dry_run(eviction.delete_options.as_ref(), request.dry_run)?;
    let dry_run = original.is_dry_run();
    let caller_pinned_rv = original.resource_version_precondition().is_some();

    // Phase A (E10–E12): pods that can ignore their PDBs.
    let mut last_error = None;
    let mut pod = None;
    for _ in 0..EVICTION_RETRY_ATTEMPTS {
        let current = store.get_pod(namespace, name)?;
        if !can_ignore_pdb(&current) {
            pod = Some(current);
            break;
        }
        let mut options = original.clone();
        if should_enforce_resource_version(&current) && !caller_pinned_rv {
            options
                .to_mut()
                .set_resource_version_precondition(current.metadata.resource_version.clone());
        }
        // The store changes the pod in place when no one else holds it.
        drop(current);
        match add_condition_and_delete(store, namespace, name, &options) {
            Ok(()) => {
                return Ok(EvictionOutcome {
                    charged_pdb_name: None,
                    dry_run,
                });
            }
            Err(e) if e.is_conflict() && !caller_pinned_rv => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    let Some(pod) = pod else {
        return Err(
            last_error.unwrap_or_else(|| ApiError::Internal("retry loop ran no attempt".into()))
        );
    };

    // Phase B (E13–E15): the PDB lookup.
    let pdbs = store.list_pdbs(&pod)?;
    if pdbs.len() > 1 {
        return Err(ApiError::Unknown {
            code: 500,
            message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
        });
    }
    let mut pdbs = pdbs;
    let Some(pdb) = pdbs.pop() else {
        drop(pod);
        add_condition_and_delete(store, namespace, name, &original)?;
        return Ok(EvictionOutcome {
            charged_pdb_name: None,
            dry_run,
        });
    };
    let charged = pdb.metadata.name.clone();
    let pdb_name = charged.as_str();

    // E16–E19: unready pods may skip the budget.
    if !pod.is_ready() {
        let policy = pdb.spec.unhealthy_pod_eviction_policy.as_deref();
        let shortcut = match policy {
            Some(ALWAYS_ALLOW) => true,
            None | Some(IF_HEALTHY_BUDGET) => {
                pdb.status.current_healthy >= pdb.status.desired_healthy
                    && pdb.status.desired_healthy > 0
            }
            Some(_) => false,
        };
        if shortcut {
            let mut options = original.clone();
            options
                .to_mut()
                .set_resource_version_precondition(pod.metadata.resource_version.clone());
            drop(pod);
            return match add_condition_and_delete(store, namespace, name, &options) {
                Ok(()) => Ok(EvictionOutcome {
                    charged_pdb_name: None,
                    dry_run,
                }),
                Err(e) if e.is_conflict() && !caller_pinned_rv => {
                    Err(still_being_processed(pdb_name))
                }
                Err(e) => Err(e),
            };
        }
    }

    // E20–E24: check and decrement under the conflict-retry loop.
    drop(pod);
    let mut current_pdb = Some(pdb);
    let mut last_error = None;
    let mut decremented = false;
    for _ in 0..EVICTION_RETRY_ATTEMPTS {
        let candidate = match current_pdb.take() {
            Some(p) => p,
            None => store.get_pdb(namespace, pdb_name)?,
        };
        match check_and_decrement(name, &candidate, dry_run, || store.now(), version)? {
            None => {
                decremented = true;
                break;
            }
            Some(decrement) => match store.update_pdb_status(candidate, decrement) {
                Ok(()) => {
                    decremented = true;
                    break;
                }
                Err(e) if e.is_conflict() => last_error = Some(e),
                Err(e) => return Err(e),
            },
        }
    }
    if !decremented {
        // E26: the loop surfaces the last conflict, never a timeout.
        return Err(
            last_error.unwrap_or_else(|| ApiError::Internal("retry loop ran no attempt".into()))
        );
    }
    add_condition_and_delete(store, namespace, name, &original)?;
    Ok(EvictionOutcome {
        charged_pdb_name: Some(charged),
        dry_run,
    })
}

/// E30–E33: the `DisruptionTarget` condition (unless dry run), then the delete.
fn add_condition_and_delete(
    store: &mut impl EvictionStore,
    namespace: &str,
    name: &str,
    options: &DeleteOptions,
) -> Result<(), ApiError> {
    if !options.is_dry_run() {
        let rv = store.add_disruption_condition(namespace, name, options.preconditions.as_ref())?;
        if options.resource_version_precondition().is_some() {
            // E32: don't conflict with our own condition write.
            let mut pinned = options.clone();
            pinned.set_resource_version_precondition(rv);
            return store.delete_pod(namespace, name, &pinned);
        }
    }
    store.delete_pod(namespace, name, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V34: KubernetesVersion = KubernetesVersion::V1_34;

    #[test]
    fn dry_run_propagation_e6() {
        let all = vec!["All".to_string()];
        let with = |d: Option<Vec<String>>| DeleteOptions {
            dry_run: d,
            grace_period_seconds: Some(3),
            ..DeleteOptions::default()
        };
        assert_eq!(
            propagate_dry_run(None, &all).unwrap().dry_run,
            Some(all.clone())
        );
        assert_eq!(
            propagate_dry_run(None, &[]).unwrap().into_owned(),
            DeleteOptions::default()
        );
        let merged = propagate_dry_run(Some(&with(None)), &all)
            .unwrap()
            .into_owned();
        assert_eq!(
            (merged.dry_run, merged.grace_period_seconds),
            (Some(all.clone()), Some(3))
        );
        assert_eq!(
            propagate_dry_run(Some(&with(Some(all.clone()))), &[])
                .unwrap()
                .dry_run,
            Some(all.clone())
        );
        assert_eq!(
            propagate_dry_run(Some(&with(Some(all.clone()))), &all)
                .unwrap()
                .dry_run,
            Some(all.clone())
        );
        let err = propagate_dry_run(Some(&with(Some(vec!["All".into(), "All".into()]))), &all)
            .unwrap_err();
        assert_eq!(err.code(), 500);
        assert_eq!(err.reason(), "");
        assert_eq!(
            err.to_string(),
            "Non-matching dry-run options in request and content: [All] and [All All]"
        );
    }

    fn pdb(da: i64, ch: i64, dh: i64) -> PodDisruptionBudget {
        let mut p = PodDisruptionBudget::default();
        p.metadata.name = "foo".into();
        p.status.disruptions_allowed = da;
        p.status.current_healthy = ch;
        p.status.desired_healthy = dh;
        p
    }

    /// E21: the checks run in order; the first that fails answers.
    #[test]
    fn check_order_e21() {
        let now = Time::parse("2025-01-01T00:00:00Z").unwrap();
        let mut stale = pdb(-1, 0, 0);
        stale.metadata.generation = 2;
        stale.status.observed_generation = 1;
        assert_eq!(
            check_and_decrement("p", &stale, false, || now, V34)
                .unwrap_err()
                .retry_after_seconds(),
            10
        );
        let negative = check_and_decrement("p", &pdb(-1, 0, 0), false, || now, V34).unwrap_err();
        assert_eq!(negative.code(), 403);
        let mut big = pdb(0, 0, 0);
        big.status.disrupted_pods =
            Some((0..=2000).map(|i| (format!("p{i}").into(), now)).collect());
        assert!(
            check_and_decrement("p", &big, false, || now, V34)
                .unwrap_err()
                .to_string()
                .contains("DisruptedPods map too big")
        );
        let mut at_limit = pdb(1, 0, 0);
        at_limit.status.disrupted_pods =
            Some((0..2000).map(|i| (format!("p{i}").into(), now)).collect());
        assert!(check_and_decrement("p", &at_limit, false, || now, V34).is_ok());
        let exhausted = check_and_decrement("p", &pdb(0, 2, 2), false, || now, V34).unwrap_err();
        assert_eq!(
            (exhausted.code(), exhausted.retry_after_seconds()),
            (429, 0)
        );
        assert_eq!(
            exhausted.to_status().details.unwrap().causes[0].message,
            "The disruption budget foo needs 2 healthy pods and has 2 currently"
        );
    }

    /// E22, E24: decrement, condition at zero, disruptedPods entry; dry run writes nothing.
    #[test]
    fn decrement_e22_e24() {
        let now = Time::parse("2025-01-01T00:00:00Z").unwrap();
        let decremented = |read: PodDisruptionBudget| {
            let decrement = check_and_decrement("t8", &read, false, || now, V34)
                .unwrap()
                .unwrap();
            assert_eq!(
                decrement,
                BudgetDecrement {
                    pod_name: "t8",
                    at: now
                }
            );
            let mut written = read;
            decrement.apply(&mut written.status);
            written
        };
        let written = decremented(pdb(1, 3, 3));
        assert_eq!(written.status.disruptions_allowed, 0);
        assert_eq!(written.status.disrupted_pods.unwrap()["t8"], now);
        let c = written.status.conditions[0].clone();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", INSUFFICIENT_PODS)
        );
        let kept = decremented(pdb(2, 3, 1));
        assert_eq!(kept.status.disruptions_allowed, 1);
        assert!(kept.status.conditions.is_empty());
        assert_eq!(
            check_and_decrement("t8", &pdb(1, 3, 3), true, || now, V34).unwrap(),
            None
        );
    }

    fn cause(error: &ApiError) -> String {
        error.to_status().details.unwrap().causes[0].message.clone()
    }

    fn with_condition(
        mut pdb: PodDisruptionBudget,
        reason: &str,
        message: &str,
    ) -> PodDisruptionBudget {
        pdb.status.conditions.push(crate::model::Condition {
            type_: DISRUPTION_ALLOWED.into(),
            status: "False".into(),
            reason: reason.into(),
            message: message.into(),
            ..Default::default()
        });
        pdb
    }

    /// V7: from 1.35 the 429's cause follows the PDB's condition, first rule that holds;
    /// up to 1.34 it is always the counts.
    #[test]
    fn the_budget_exhausted_cause_follows_the_condition_from_1_35() {
        let now = Time::parse("2025-01-01T00:00:00Z").unwrap();
        let refuse = |pdb: PodDisruptionBudget, version| {
            cause(&check_and_decrement("p", &pdb, false, || now, version).unwrap_err())
        };
        let v35 = KubernetesVersion::V1_35;
        let failed = with_condition(
            pdb(0, 0, 0),
            "SyncFailed",
            "found no controllers for pod \"web-1\"",
        );
        assert_eq!(
            refuse(failed.clone(), V34),
            "The disruption budget foo needs 0 healthy pods and has 0 currently"
        );
        assert_eq!(
            refuse(failed, v35),
            "The disruption budget foo does not allow evicting pods currently because it failed sync: found no controllers for pod \"web-1\""
        );
        let at_minimum = with_condition(pdb(0, 2, 2), "InsufficientPods", "");
        assert_eq!(
            refuse(at_minimum, v35),
            "The disruption budget foo needs 2 healthy pods and has 2 currently"
        );
        // E22's condition after the first eviction: InsufficientPods, empty message.
        let just_charged = with_condition(pdb(0, 3, 2), "InsufficientPods", "");
        assert_eq!(
            refuse(just_charged.clone(), V34),
            "The disruption budget foo needs 2 healthy pods and has 3 currently"
        );
        assert_eq!(
            refuse(just_charged, v35),
            "The disruption budget foo does not allow evicting pods currently"
        );
        let other = with_condition(pdb(0, 3, 2), "SomeReason", "a message");
        assert_eq!(
            refuse(other, KubernetesVersion::V1_37),
            "The disruption budget foo does not allow evicting pods currently (SomeReason): a message"
        );
    }

    /// V8: from 1.37 the two PDB 403s carry a DisruptionBudget cause; before, none.
    #[test]
    fn the_pdb_403s_carry_a_cause_from_1_37() {
        let now = Time::parse("2025-01-01T00:00:00Z").unwrap();
        for (version, expected) in [
            (KubernetesVersion::V1_36, None),
            (
                KubernetesVersion::V1_37,
                Some(
                    "The disruption budget foo does not allow evicting pods currently: pdb disruptions allowed is negative",
                ),
            ),
        ] {
            let error =
                check_and_decrement("p", &pdb(-1, 0, 0), false, || now, version).unwrap_err();
            assert_eq!(
                error.to_string(),
                "poddisruptionbudget.policy \"foo\" is forbidden: pdb disruptions allowed is negative"
            );
            let details = error.to_status().details.unwrap();
            assert_eq!(details.causes.first().map(|c| c.message.as_str()), expected);
            assert_eq!(
                details
                    .causes
                    .first()
                    .map_or("DisruptionBudget", |c| &*c.reason),
                "DisruptionBudget"
            );
        }
        let mut big = pdb(1, 0, 0);
        big.status.disrupted_pods =
            Some((0..=2000).map(|i| (format!("p{i}").into(), now)).collect());
        let error =
            check_and_decrement("p", &big, false, || now, KubernetesVersion::V1_37).unwrap_err();
        assert!(error.to_string().ends_with(
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller"
        ));
        assert_eq!(
            cause(&error),
            "The disruption budget foo does not allow evicting pods currently: too many pending evictions not confirmed by PDB controller"
        );
    }
}
