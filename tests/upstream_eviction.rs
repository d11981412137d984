//! Upstream's `pkg/registry/core/pod/storage/eviction_test.go`, case by case.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use evictsim::cluster::eviction::{
    BudgetDecrement, EvictionRequest, EvictionStore, MatchingPdbs, evict, pdb_selects_pod,
};
use evictsim::cluster::{Cluster, KubernetesVersion};
use evictsim::error::ApiError;
use evictsim::model::{
    DeleteOptions, INSUFFICIENT_PODS, Pod, PodDisruptionBudget, Preconditions, ResourceVersion,
    SUFFICIENT_PODS,
};
use evictsim::time::Time;
use serde_json::{Value, json};

const POLICIES: [Option<&str>; 3] = [None, Some("IfHealthyBudget"), Some("AlwaysAllow")];

fn pdb_with_policy(
    selector: Value,
    da: i64,
    ch: i64,
    dh: i64,
    policy: Option<&str>,
) -> PodDisruptionBudget {
    let mut spec = json!({"selector": selector});
    if let Some(p) = policy {
        spec["unhealthyPodEvictionPolicy"] = json!(p);
    }
    pdb(
        "foo",
        spec,
        json!({"disruptionsAllowed": da, "currentHealthy": ch, "desiredHealthy": dh}),
    )
}

// ----- §1.1 TestEviction -------------------------------------------------------------------

struct EvictionCase {
    name: &'static str,
    pod: &'static str,
    phase: &'static str,
    selector: Value,
    da: i64,
    policies: &'static [Option<&'static str>],
    url_name: Option<&'static str>,
    expect_error: Option<&'static str>,
}

fn run_test_eviction(case: &EvictionCase) {
    for policy in case.policies {
        let mut c = cluster(false);
        c.load(
            t0(),
            pod(
                case.pod,
                json!({"a": "true"}),
                json!({"nodeName": "foo"}),
                json!({"phase": case.phase}),
            ),
        )
        .unwrap();
        c.load(
            t0(),
            pdb_with_policy(case.selector.clone(), case.da, 0, 0, *policy),
        )
        .unwrap();
        let before = c.pdb(&key("foo")).cloned();
        let url_name = case.url_name.unwrap_or(case.pod);
        let result = c.evict(
            t0(),
            NS,
            url_name,
            eviction(case.pod, json!({"gracePeriodSeconds": 0})),
            &[],
        );
        match case.expect_error {
            None => {
                assert!(result.is_ok(), "{} / {policy:?}: {result:?}", case.name);
                assert!(
                    c.pod(&key(case.pod)).is_none(),
                    "{}: pod should be deleted",
                    case.name
                );
            }
            Some(text) => {
                assert_eq!(
                    render(&result.unwrap_err()),
                    text,
                    "{} / {policy:?}",
                    case.name
                );
                assert!(c.pod(&key(case.pod)).is_some(), "{}: pod kept", case.name);
                assert_eq!(
                    c.pdb(&key("foo")).cloned(),
                    before,
                    "{}: PDB unchanged",
                    case.name
                );
            }
        }
    }
}

const NOT_ALWAYS: &[Option<&str>] = &[None, Some("IfHealthyBudget")];

#[test]
fn test_eviction_matching_pdbs_with_no_disruptions_allowed_pod_running() {
    run_test_eviction(&EvictionCase {
        name: "matching pdbs with no disruptions allowed, pod running",
        pod: "t1",
        phase: "Running",
        selector: json!({"matchLabels": {"a": "true"}}),
        da: 0,
        policies: NOT_ALWAYS,
        url_name: None,
        expect_error: Some(
            "Cannot evict pod as it would violate the pod's disruption budget.: TooManyRequests: The disruption budget foo needs 0 healthy pods and has 0 currently",
        ),
    });
}

#[test]
fn test_eviction_matching_pdbs_with_no_disruptions_allowed_pod_pending() {
    run_test_eviction(&EvictionCase {
        name: "pod pending",
        pod: "t2",
        phase: "Pending",
        selector: json!({"matchLabels": {"a": "true"}}),
        da: 0,
        policies: &POLICIES,
        url_name: None,
        expect_error: None,
    });
}

#[test]
fn test_eviction_matching_pdbs_with_no_disruptions_allowed_pod_succeeded() {
    run_test_eviction(&EvictionCase {
        name: "pod succeeded",
        pod: "t3",
        phase: "Succeeded",
        selector: json!({"matchLabels": {"a": "true"}}),
        da: 0,
        policies: &POLICIES,
        url_name: None,
        expect_error: None,
    });
}

#[test]
fn test_eviction_matching_pdbs_with_no_disruptions_allowed_pod_failed() {
    run_test_eviction(&EvictionCase {
        name: "pod failed",
        pod: "t4",
        phase: "Failed",
        selector: json!({"matchLabels": {"a": "true"}}),
        da: 0,
        policies: &POLICIES,
        url_name: None,
        expect_error: None,
    });
}

#[test]
fn test_eviction_matching_pdbs_with_disruptions_allowed() {
    // Pending: the bypass deletes it, so the PDB is not decremented.
    for policy in POLICIES {
        let mut c = cluster(false);
        c.load(
            t0(),
            pod(
                "t5",
                json!({"a": "true"}),
                json!({"nodeName": "foo"}),
                json!({"phase": "Pending"}),
            ),
        )
        .unwrap();
        c.load(
            t0(),
            pdb_with_policy(json!({"matchLabels": {"a": "true"}}), 1, 0, 0, policy),
        )
        .unwrap();
        c.evict(
            t0(),
            NS,
            "t5",
            eviction("t5", json!({"gracePeriodSeconds": 0})),
            &[],
        )
        .unwrap();
        assert!(c.pod(&key("t5")).is_none());
        assert_eq!(
            c.pdb(&key("foo")).unwrap().status.disruptions_allowed,
            1,
            "{policy:?}"
        );
    }
}

#[test]
fn test_eviction_non_matching_pdbs() {
    run_test_eviction(&EvictionCase {
        name: "non-matching pdbs",
        pod: "t6",
        phase: "Pending",
        selector: json!({"matchLabels": {"b": "true"}}),
        da: 0,
        policies: &POLICIES,
        url_name: None,
        expect_error: None,
    });
}

#[test]
fn test_eviction_matching_pdbs_with_disruptions_allowed_but_bad_name_in_url() {
    run_test_eviction(&EvictionCase {
        name: "bad name in Url",
        pod: "t7",
        phase: "Pending",
        selector: json!({"matchLabels": {"a": "true"}}),
        da: 1,
        policies: &POLICIES,
        url_name: Some("t7bad-name"),
        expect_error: Some("name in URL does not match name in Eviction object: BadRequest"),
    });
}

#[test]
fn test_eviction_matching_pdbs_with_no_disruptions_allowed_pod_running_empty_selector() {
    run_test_eviction(&EvictionCase {
        name: "empty selector",
        pod: "t8",
        phase: "Running",
        selector: json!({}),
        da: 0,
        policies: NOT_ALWAYS,
        url_name: None,
        expect_error: Some(
            "Cannot evict pod as it would violate the pod's disruption budget.: TooManyRequests: The disruption budget foo needs 0 healthy pods and has 0 currently",
        ),
    });
}

// ----- §1.2 TestEvictionIgnorePDB: the scripted mock store ---------------------------------

/// upstream's mock pod store: one pod, `Delete` scripted by pod name and call count, an
/// `Update` that returns the pod unchanged without checking preconditions.
struct MockStore {
    pod: Pod,
    pdb: PodDisruptionBudget,
    deletes: usize,
    written_pdb: Option<PodDisruptionBudget>,
}

fn conflict() -> ApiError {
    ApiError::Conflict {
        qualified: "tests".into(),
        group: "",
        kind: "tests",
        name: "2".into(),
        message: "message".into(),
    }
}

impl EvictionStore for MockStore {
    fn now(&self) -> Time {
        Time::parse("2025-01-01T00:00:00Z").unwrap()
    }
    fn get_pod(&mut self, _: &str, _: &str) -> Result<Arc<Pod>, ApiError> {
        Ok(Arc::new(self.pod.clone()))
    }
    fn list_pdbs(&mut self, pod: &Pod) -> Result<MatchingPdbs, ApiError> {
        // Upstream's lister returns the namespace's one PDB; the handler matches it (E13).
        Ok(Some(&self.pdb)
            .filter(|pdb| pdb_selects_pod(pdb, pod))
            .map(|pdb| Arc::new(pdb.clone()))
            .into_iter()
            .collect())
    }
    fn get_pdb(&mut self, _: &str, _: &str) -> Result<Arc<PodDisruptionBudget>, ApiError> {
        Ok(Arc::new(self.pdb.clone()))
    }
    fn update_pdb_status(
        &mut self,
        read: Arc<PodDisruptionBudget>,
        decrement: BudgetDecrement<'_>,
    ) -> Result<(), ApiError> {
        let mut pdb = PodDisruptionBudget::clone(&read);
        decrement.apply(&mut pdb.status);
        self.written_pdb = Some(pdb.clone());
        self.pdb = pdb;
        Ok(())
    }
    fn add_disruption_condition(
        &mut self,
        _: &str,
        _: &str,
        _: Option<&Preconditions>,
    ) -> Result<ResourceVersion, ApiError> {
        Ok(self.pod.metadata.resource_version.clone())
    }
    fn delete_pod(&mut self, _: &str, name: &str, options: &DeleteOptions) -> Result<(), ApiError> {
        self.deletes += 1;
        match name {
            "t4" => Err(conflict()),
            "t6" | "t8" => Ok(()),
            "t10" => Err(ApiError::BadRequest("test designed to error".into())),
            _ if self.deletes == 1 => {
                if name != "t1" && name != "t5" {
                    self.pod.status.phase = "Running".into();
                }
                self.pod.metadata.resource_version = ResourceVersion("999".into());
                Err(conflict())
            }
            _ => match options.resource_version_precondition() {
                None => Ok(()),
                Some(rv) if rv.0 != "1000" => {
                    self.pod.metadata.resource_version = ResourceVersion("1000".into());
                    Err(conflict())
                }
                Some(_) => Ok(()),
            },
        }
    }
}

struct IgnorePdbCase {
    name: &'static str,
    pod: &'static str,
    phase: &'static str,
    ready: Option<bool>,
    terminating: bool,
    da: i64,
    ch: i64,
    dh: i64,
    selector: Value,
    grace: Option<i64>,
    caller_rv: Option<&'static str>,
    policies: &'static [Option<&'static str>],
    expect_error: Option<&'static str>,
    deletes: usize,
    /// For successful PDB-path cases: the PDB must be written with DA 0 and the pod in
    /// disruptedPods.
    expect_pdb_written: bool,
}

fn run_ignore_pdb(case: &IgnorePdbCase) {
    // Upstream iterates the policies in this order.
    let order = [Some("AlwaysAllow"), None, Some("IfHealthyBudget")];
    for policy in order.into_iter().filter(|p| case.policies.contains(p)) {
        let mut p = pod(
            case.pod,
            json!({"a": "true"}),
            json!({"nodeName": "foo"}),
            json!({"phase": case.phase}),
        );
        if let Some(ready) = case.ready {
            p.status.conditions = serde_json::from_value(
                json!([{"type": "Ready", "status": if ready { "True" } else { "False" }}]),
            )
            .unwrap();
        }
        if case.terminating {
            p.metadata.deletion_timestamp = Some(Time::parse("2025-01-01T00:00:00Z").unwrap());
        }
        let mut store = MockStore {
            pod: p,
            pdb: pdb_with_policy(case.selector.clone(), case.da, case.ch, case.dh, policy),
            deletes: 0,
            written_pdb: None,
        };
        let mut options = json!({});
        if let Some(g) = case.grace {
            options["gracePeriodSeconds"] = json!(g);
        }
        if let Some(rv) = case.caller_rv {
            options["preconditions"] = json!({"resourceVersion": rv});
        }
        let body = eviction(case.pod, options);
        let request = EvictionRequest {
            namespace: NS,
            name: case.pod,
            eviction: &body,
            dry_run: &[],
        };
        let result = evict(&mut store, &request, KubernetesVersion::V1_34);
        let label = format!("{} / {policy:?}", case.name);
        match case.expect_error {
            None => assert!(result.is_ok(), "{label}: {result:?}"),
            Some(text) => assert_eq!(render(&result.unwrap_err()), text, "{label}"),
        }
        assert_eq!(store.deletes, case.deletes, "{label}: delete calls");
        if case.expect_pdb_written {
            let written = store.written_pdb.expect("PDB written");
            assert_eq!(written.status.disruptions_allowed, 0, "{label}");
            assert!(
                written
                    .status
                    .disrupted_pods
                    .unwrap()
                    .contains_key(case.pod),
                "{label}"
            );
            let condition = &written.status.conditions[0];
            assert_eq!(
                (condition.status.as_str(), condition.reason.as_str()),
                ("False", INSUFFICIENT_PODS),
                "{label}"
            );
        } else {
            assert!(
                store.written_pdb.is_none(),
                "{label}: PDB must not be written"
            );
        }
    }
}

fn a_true() -> Value {
    json!({"matchLabels": {"a": "true"}})
}

const ALL: &[Option<&str>] = &[None, Some("IfHealthyBudget"), Some("AlwaysAllow")];
const ALWAYS: &[Option<&str>] = &[Some("AlwaysAllow")];

fn ignore_case(name: &'static str, pod: &'static str, phase: &'static str) -> IgnorePdbCase {
    IgnorePdbCase {
        name,
        pod,
        phase,
        ready: None,
        terminating: false,
        da: 0,
        ch: 0,
        dh: 0,
        selector: a_true(),
        grace: Some(0),
        caller_rv: None,
        policies: ALL,
        expect_error: None,
        deletes: 1,
        expect_pdb_written: false,
    }
}

const TOO_MANY_0_0: &str = "Cannot evict pod as it would violate the pod's disruption budget.: TooManyRequests: The disruption budget foo needs 0 healthy pods and has 0 currently";
const STILL_PROCESSING: &str = "Cannot evict pod as it would violate the pod's disruption budget.: TooManyRequests: The disruption budget foo is still being processed by the server.";

#[test]
fn pdbs_no_disruptions_allowed_pod_pending_first_delete_conflict_pod_still_pending_pod_deleted_successfully()
 {
    run_ignore_pdb(&IgnorePdbCase {
        deletes: 3,
        ..ignore_case("row 1", "t1", "Pending")
    });
}

#[test]
fn pdbs_no_disruptions_allowed_pod_pending_first_delete_conflict_pod_becomes_running_continue_to_pdbs()
 {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(false),
        policies: NOT_ALWAYS,
        expect_error: Some(TOO_MANY_0_0),
        deletes: 1,
        ..ignore_case("row 2", "t2", "Pending")
    });
}

#[test]
fn pdbs_no_disruptions_allowed_pod_pending_first_delete_conflict_pod_becomes_running_skip_pdb_check_conflict()
 {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(false),
        policies: ALWAYS,
        expect_error: Some(STILL_PROCESSING),
        deletes: 2,
        ..ignore_case("row 3", "t2", "Pending")
    });
}

#[test]
fn pdbs_disruptions_allowed_pod_pending_first_delete_conflict_pod_becomes_running_continue_to_pdbs()
{
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(false),
        da: 1,
        policies: NOT_ALWAYS,
        deletes: 2,
        expect_pdb_written: true,
        ..ignore_case("row 4", "t3", "Pending")
    });
}

#[test]
fn pod_pending_always_conflict_on_delete() {
    run_ignore_pdb(&IgnorePdbCase {
        expect_error: Some("Operation cannot be fulfilled on tests \"2\": message: Conflict"),
        deletes: 20,
        ..ignore_case("row 5", "t4", "Pending")
    });
}

#[test]
fn pod_pending_always_conflict_on_delete_user_provided_resource_version_constraint() {
    run_ignore_pdb(&IgnorePdbCase {
        grace: None,
        caller_rv: Some("userProvided"),
        expect_error: Some("Operation cannot be fulfilled on tests \"2\": message: Conflict"),
        deletes: 1,
        ..ignore_case("row 6", "t5", "Pending")
    });
}

#[test]
fn matching_pdbs_with_no_disruptions_allowed_pod_terminating() {
    run_ignore_pdb(&IgnorePdbCase {
        terminating: true,
        grace: Some(300),
        ..ignore_case("row 7", "t6", "")
    });
}

#[test]
fn matching_pdbs_with_no_disruptions_allowed_pod_running_pod_healthy_unhealthy_pod_not_ours() {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(true),
        ch: 2,
        dh: 2,
        expect_error: Some(
            "Cannot evict pod as it would violate the pod's disruption budget.: TooManyRequests: The disruption budget foo needs 2 healthy pods and has 2 currently",
        ),
        deletes: 0,
        ..ignore_case("row 8", "t7", "Running")
    });
}

#[test]
fn matching_pdbs_with_disruptions_allowed_pod_running_pod_healthy_healthy_pod_ours_deletes_pod_by_honoring_the_pdb()
 {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(true),
        da: 1,
        ch: 3,
        dh: 3,
        expect_pdb_written: true,
        ..ignore_case("row 9", "t8", "Running")
    });
}

#[test]
fn matching_pdbs_with_no_disruptions_allowed_pod_running_pod_unhealthy_unhealthy_pod_ours() {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(false),
        ch: 2,
        dh: 2,
        ..ignore_case("row 10", "t8", "Running")
    });
}

#[test]
fn matching_pdbs_with_no_disruptions_allowed_pod_running_pod_unhealthy_unhealthy_pod_ours_skips_the_pdb_check_and_deletes()
 {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(false),
        policies: ALWAYS,
        ..ignore_case("row 11", "t8", "Running")
    });
}

#[test]
fn matching_pdbs_with_no_disruptions_allowed_pod_running_pod_unhealthy_unhealthy_pod_ours_resource_version_conflict()
 {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(false),
        ch: 2,
        dh: 2,
        expect_error: Some(STILL_PROCESSING),
        ..ignore_case("row 12", "t9", "Running")
    });
}

#[test]
fn matching_pdbs_with_no_disruptions_allowed_pod_running_pod_unhealthy_unhealthy_pod_ours_other_error_on_delete()
 {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(false),
        ch: 2,
        dh: 2,
        expect_error: Some("test designed to error: BadRequest"),
        ..ignore_case("row 13", "t10", "Running")
    });
}

#[test]
fn matching_pdbs_with_no_disruptions_allowed_pod_running_pod_healthy_empty_selector_pod_not_deleted_by_honoring_the_pdb()
 {
    run_ignore_pdb(&IgnorePdbCase {
        ready: Some(true),
        ch: 3,
        dh: 3,
        selector: json!({}),
        expect_error: Some(
            "Cannot evict pod as it would violate the pod's disruption budget.: TooManyRequests: The disruption budget foo needs 3 healthy pods and has 3 currently",
        ),
        deletes: 0,
        ..ignore_case("row 14", "t11", "Running")
    });
}

// ----- §1.3 TestEvictionWithDeleteOptions --------------------------------------------------

fn delete_options_case(
    request_dry_run: &[&str],
    body: Value,
    with_pdb: bool,
) -> (Cluster, Result<(), ApiError>) {
    let mut c = cluster(false);
    c.load(
        t0(),
        pod(
            "foo",
            json!({"a": "true"}),
            json!({"nodeName": "foo"}),
            json!({"phase": "Pending"}),
        ),
    )
    .unwrap();
    if with_pdb {
        c.load(
            t0(),
            pdb(
                "foo",
                json!({"selector": a_true()}),
                json!({"disruptionsAllowed": 1}),
            ),
        )
        .unwrap();
    }
    let dry: Vec<String> = request_dry_run.iter().map(|s| s.to_string()).collect();
    let before = c.pod(&key("foo")).cloned();
    let result = c
        .evict(t0(), NS, "foo", eviction("foo", body), &dry)
        .map(|_| ());
    if result.is_ok() {
        assert_eq!(
            c.pod(&key("foo")).cloned(),
            before,
            "dry run persists nothing"
        );
    }
    (c, result)
}

#[test]
fn dry_run_just_request_options() {
    delete_options_case(&["All"], json!({}), false).1.unwrap();
}

#[test]
fn dry_run_just_eviction_options() {
    delete_options_case(&[], json!({"dryRun": ["All"]}), false)
        .1
        .unwrap();
}

#[test]
fn dry_run_both_options() {
    delete_options_case(&["All"], json!({"dryRun": ["All"]}), false)
        .1
        .unwrap();
}

#[test]
fn dry_run_with_pdbs() {
    let (c, result) = delete_options_case(&["All"], json!({"dryRun": ["All"]}), true);
    result.unwrap();
    assert_eq!(c.pdb(&key("foo")).unwrap().status.disruptions_allowed, 1);
}

#[test]
fn ignore_store_read_error_with_cluster_breaking_potential_is_set_invalid_error_expected() {
    let (_, result) = delete_options_case(
        &[],
        json!({"ignoreStoreReadErrorWithClusterBreakingPotential": true}),
        false,
    );
    let status = result.unwrap_err().to_status();
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        "Eviction.policy \"foo\" is invalid: deleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential: Invalid value: true: can not be set for pod eviction, try after removing the option"
    );
    let details = status.details.unwrap();
    assert_eq!(
        (
            details.group.as_str(),
            details.kind.as_str(),
            details.name.as_str()
        ),
        ("policy", "Eviction", "foo")
    );
    assert_eq!(details.causes.len(), 1);
    assert_eq!(details.causes[0].reason, "FieldValueInvalid");
    assert_eq!(
        details.causes[0].field,
        "deleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential"
    );
    assert_eq!(
        details.causes[0].message,
        "Invalid value: true: can not be set for pod eviction, try after removing the option"
    );
}

#[test]
fn ignore_store_read_error_is_not_checked_before_1_32_v2() {
    let mut c = evictsim::cluster::Cluster::new(evictsim::cluster::ClusterConfig {
        kubernetes_version: KubernetesVersion::V1_31,
        ..Default::default()
    });
    c.load(
        t0(),
        pod(
            "foo",
            json!({}),
            json!({"nodeName": "foo"}),
            json!({"phase": "Pending"}),
        ),
    )
    .unwrap();
    c.evict(
        t0(),
        NS,
        "foo",
        eviction(
            "foo",
            json!({"ignoreStoreReadErrorWithClusterBreakingPotential": true}),
        ),
        &[],
    )
    .unwrap();
}

// ----- §1.4 TestEvictionPDBStatus ----------------------------------------------------------

fn pdb_status_case(da: i64) -> PodDisruptionBudget {
    let mut c = cluster(false);
    for name in ["foo-1", "foo-2"] {
        c.load(
            t0(),
            pod(
                name,
                json!({"a": "true"}),
                json!({"nodeName": "foo"}),
                json!({"phase": "Running"}),
            ),
        )
        .unwrap();
    }
    c.load(t0(), pdb("foo", json!({"selector": a_true()}), json!({"disruptionsAllowed": da, "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": SUFFICIENT_PODS, "message": "", "lastTransitionTime": "2025-01-01T00:00:00Z"}]}))).unwrap();
    c.evict(t0(), NS, "foo-1", eviction("foo-1", json!({})), &[])
        .unwrap();
    assert!(
        c.pod(&key("foo-1"))
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some(),
        "graceful delete"
    );
    c.pdb(&key("foo")).cloned().unwrap()
}

#[test]
fn pdb_status_is_updated_after_eviction() {
    let pdb = pdb_status_case(1);
    assert_eq!(pdb.status.disruptions_allowed, 0);
    assert_eq!(pdb.status.conditions[0].reason, INSUFFICIENT_PODS);
}

#[test]
fn condition_reason_is_only_updated_if_allowed_disruptions_becomes_0() {
    let pdb = pdb_status_case(3);
    assert_eq!(pdb.status.disruptions_allowed, 2);
    assert_eq!(pdb.status.conditions[0].reason, SUFFICIENT_PODS);
}

// ----- §1.5 TestAddConditionAndDelete (through the no-PDB path, which runs it directly) -----

fn add_condition_case(
    exists: bool,
    preconditions: impl Fn(&Pod) -> Value,
) -> Result<(), Box<ApiError>> {
    let mut c = cluster(false);
    let p = pod(
        "foo",
        json!({}),
        json!({"nodeName": "foo"}),
        json!({"phase": "Running", "conditions": ready()}),
    );
    let stored = c.load(t0(), p).unwrap();
    if !exists {
        c.delete::<Pod>(
            t0(),
            &key("foo"),
            &DeleteOptions {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let options = json!({"preconditions": preconditions(&stored)});
    c.evict(t0(), NS, "foo", eviction("foo", options), &[])
        .map(|_| ())
        .map_err(Box::new)
}

#[test]
fn add_condition_and_delete_simple() {
    add_condition_case(true, |_| json!({})).unwrap();
}

#[test]
fn add_condition_and_delete_missing() {
    assert!(
        add_condition_case(false, |_| json!({}))
            .unwrap_err()
            .to_string()
            .contains("not found")
    );
}

#[test]
fn add_condition_and_delete_valid_uid() {
    add_condition_case(true, |p| json!({"uid": p.metadata.uid})).unwrap();
}

#[test]
fn add_condition_and_delete_invalid_uid() {
    let err =
        add_condition_case(true, |p| json!({"uid": format!("{}1", p.metadata.uid)})).unwrap_err();
    assert!(
        err.to_string()
            .contains("The object might have been deleted and then recreated"),
        "{err}"
    );
    assert_eq!(err.code(), 409);
}

#[test]
fn add_condition_and_delete_valid_resource_version() {
    add_condition_case(
        true,
        |p| json!({"resourceVersion": p.metadata.resource_version}),
    )
    .unwrap();
}

#[test]
fn add_condition_and_delete_invalid_resource_version() {
    let err = add_condition_case(
        true,
        |p| json!({"resourceVersion": format!("{}1", p.metadata.resource_version)}),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("The object might have been modified"),
        "{err}"
    );
}

// ----- E-rules the tables do not pin on their own ------------------------------------------

/// The pod the E-rule tests evict: `p`, Running and Ready, labelled `a=true`, on a node.
fn ready_pod_p() -> Pod {
    pod(
        "p",
        json!({"a": "true"}),
        json!({"nodeName": "n"}),
        json!({"phase": "Running", "conditions": ready()}),
    )
}

#[test]
fn multiple_pdbs_answer_500_without_reason_and_write_nothing_e14() {
    let mut c = cluster(false);
    c.load(t0(), ready_pod_p()).unwrap();
    c.load(
        t0(),
        pdb(
            "one",
            json!({"selector": a_true()}),
            json!({"disruptionsAllowed": 1}),
        ),
    )
    .unwrap();
    c.load(
        t0(),
        pdb(
            "two",
            json!({"selector": {}}),
            json!({"disruptionsAllowed": 1}),
        ),
    )
    .unwrap();
    let revision = c.revision();
    let err = c
        .evict(t0(), NS, "p", eviction("p", Value::Null), &[])
        .unwrap_err();
    let status = err.to_status();
    assert_eq!(
        (status.code, status.reason.as_str(), status.details),
        (500, "", None)
    );
    assert_eq!(
        status.message,
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    );
    assert_eq!(c.revision(), revision, "nothing written");
}

#[test]
fn null_selector_selects_nothing_and_invalid_selector_is_skipped_e13() {
    let mut c = cluster(false);
    c.load(t0(), ready_pod_p()).unwrap();
    c.load(
        t0(),
        pdb("null", json!({}), json!({"disruptionsAllowed": 0})),
    )
    .unwrap();
    c.restore(
        t0(),
        pdb(
            "bad",
            json!({"selector": {"matchExpressions": [{"key": "a", "operator": "illegal"}]}}),
            json!({"disruptionsAllowed": 0}),
        ),
    )
    .unwrap();
    c.evict(t0(), NS, "p", eviction("p", Value::Null), &[])
        .unwrap();
}

#[test]
fn stale_observed_generation_answers_429_with_retry_after_10_e21() {
    let mut c = cluster(false);
    c.load(t0(), ready_pod_p()).unwrap();
    let mut p = pdb(
        "foo",
        json!({"selector": a_true()}),
        json!({"disruptionsAllowed": 5, "observedGeneration": 1}),
    );
    p.metadata.generation = 2;
    c.load(t0(), p).unwrap();
    let err = c
        .evict(t0(), NS, "p", eviction("p", Value::Null), &[])
        .unwrap_err();
    assert_eq!(render(&err), STILL_PROCESSING);
    assert_eq!(err.retry_after_seconds(), 10);
}

#[test]
fn negative_disruptions_allowed_is_forbidden_e21() {
    let mut c = cluster(false);
    c.load(t0(), ready_pod_p()).unwrap();
    c.load(
        t0(),
        pdb(
            "foo",
            json!({"selector": a_true()}),
            json!({"disruptionsAllowed": -1}),
        ),
    )
    .unwrap();
    let status = c
        .evict(t0(), NS, "p", eviction("p", Value::Null), &[])
        .unwrap_err()
        .to_status();
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "poddisruptionbudget.policy \"foo\" is forbidden: pdb disruptions allowed is negative"
    );
    let details = status.details.unwrap();
    assert_eq!(
        (
            details.name.as_str(),
            details.group.as_str(),
            details.kind.as_str()
        ),
        ("foo", "policy", "poddisruptionbudget")
    );
}

#[test]
fn eviction_writes_disruption_target_before_delete_and_disrupted_pods_at_now_e24_e30() {
    let mut c = cluster(false);
    c.load(t0(), ready_pod_p()).unwrap();
    c.load(
        t0(),
        pdb(
            "foo",
            json!({"selector": a_true()}),
            json!({"disruptionsAllowed": 2, "currentHealthy": 3, "desiredHealthy": 1}),
        ),
    )
    .unwrap();
    let later = evictsim::time::SimTime::from_secs(42);
    c.evict(later, NS, "p", eviction("p", Value::Null), &[])
        .unwrap();
    let pdb = c.pdb(&key("foo")).unwrap();
    let disrupted: BTreeMap<_, _> = pdb.status.disrupted_pods.clone().unwrap();
    assert_eq!(disrupted["p"].to_string(), "2025-01-01T00:00:42Z");
    assert_eq!(pdb.status.disruptions_allowed, 1);
    let p = c.pod(&key("p")).unwrap();
    let condition = p.condition("DisruptionTarget").unwrap();
    assert_eq!(
        (
            condition.status.as_str(),
            condition.reason.as_str(),
            condition.message.as_str()
        ),
        ("True", "EvictionByEvictionAPI", "Eviction API: evicting")
    );
    assert_eq!(
        p.metadata.deletion_timestamp.unwrap().to_string(),
        "2025-01-01T00:01:12Z"
    );
}

#[test]
fn failed_delete_after_pdb_write_keeps_the_decrement_and_condition_e24_e34() {
    let mut c = cluster(false);
    c.load(t0(), ready_pod_p()).unwrap();
    c.load(
        t0(),
        pdb(
            "foo",
            json!({"selector": a_true()}),
            json!({"disruptionsAllowed": 1}),
        ),
    )
    .unwrap();
    let err = c
        .evict(
            t0(),
            NS,
            "p",
            eviction("p", json!({"propagationPolicy": "Sideways"})),
            &[],
        )
        .unwrap_err();
    assert_eq!(err.code(), 422);
    assert_eq!(c.pdb(&key("foo")).unwrap().status.disruptions_allowed, 0);
    assert!(
        c.pod(&key("p"))
            .unwrap()
            .condition("DisruptionTarget")
            .is_some()
    );
    assert!(
        c.pod(&key("p"))
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_none()
    );
}

#[test]
fn namespace_mismatch_is_400_e4() {
    let mut c = cluster(false);
    let mut e = eviction("p", Value::Null);
    e.metadata.namespace = "other".into();
    let err = c.evict(t0(), NS, "p", e, &[]).unwrap_err();
    assert_eq!(
        render(&err),
        "the namespace of the provided object does not match the namespace sent on the request: BadRequest"
    );
}

#[test]
fn dry_run_mismatch_is_a_500_without_reason_e6() {
    let mut c = cluster(false);
    c.load(
        t0(),
        pod(
            "p",
            json!({}),
            json!({"nodeName": "n"}),
            json!({"phase": "Running"}),
        ),
    )
    .unwrap();
    let err = c
        .evict(
            t0(),
            NS,
            "p",
            eviction("p", json!({"dryRun": ["All", "All"]})),
            &["All".to_string()],
        )
        .unwrap_err();
    assert_eq!((err.code(), err.reason()), (500, ""));
}

/// `Cluster::check_eviction` answers what the same eviction POSTed as a dry run answers —
/// the 201 with the budget it would charge, the 429 of an exhausted budget, and G3's 422 for
/// invalid delete options — and writes nothing, logs nothing.
#[test]
fn check_eviction_answers_as_a_dry_run_post_and_writes_nothing_e23_g3() {
    let cases = [
        (1, json!(null), Ok(())),
        (0, json!(null), Err(429)),
        (1, json!({"propagationPolicy": "Sideways"}), Err(422)),
    ];
    for (allowed, options, expected) in cases {
        let mut c = cluster(false);
        c.load(t0(), ready_pod_p()).unwrap();
        c.load(
            t0(),
            pdb(
                "foo",
                json!({"selector": a_true()}),
                json!({"disruptionsAllowed": allowed}),
            ),
        )
        .unwrap();
        let (revision, events) = (c.revision(), c.event_count());
        let checked = c.check_eviction(NS, "p", eviction("p", options.clone()));
        assert_eq!(
            (c.revision(), c.event_count()),
            (revision, events),
            "{options}"
        );
        let posted = c.evict(
            t0(),
            NS,
            "p",
            eviction("p", options.clone()),
            &["All".to_string()],
        );
        match (&checked, &posted, expected) {
            (Ok(a), Ok(b), Ok(())) => {
                assert!(a.dry_run && b.dry_run);
                let charged = |o: &evictsim::cluster::EvictionOutcome| {
                    o.charged_pdb_name.as_ref().map(|name| name.to_string())
                };
                assert_eq!(charged(a), Some("foo".to_string()));
                assert_eq!(charged(a), charged(b));
            }
            (Err(a), Err(b), Err(code)) => {
                assert_eq!((a.code(), b.code()), (code, code), "{options}");
                assert_eq!(a.to_string(), b.to_string());
            }
            _ => panic!("{options}: checked {checked:?}, posted {posted:?}"),
        }
        assert_eq!(
            c.pdb(&key("foo")).unwrap().status.disruptions_allowed,
            allowed
        );
        assert!(
            c.pod(&key("p"))
                .unwrap()
                .condition("DisruptionTarget")
                .is_none()
        );
    }
}
