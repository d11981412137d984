//! The incremental PDB bookkeeping against a from-scratch recount, after every operation of
//! random sequences: pods created, relabelled, made unready and deleted; PDBs created,
//! re-pointed to other selectors and deleted; time passing. Each PDB's members must be
//! exactly the pods a scan of the namespace selects, in name order (the stored objects
//! themselves, not stale copies), any selector must select what a scan does (whether the
//! label index files its anchor's key or not), and a PDB synced just now must carry the
//! counts the disruption controller's arithmetic gives on the scanned pods.

use evictsim::cluster::disruption::compute_status;
use evictsim::cluster::eviction::pdb_selects_pod;
use evictsim::cluster::{Cluster, ClusterConfig};
use evictsim::model::{Node, ObjectKey, Pod, PodDisruptionBudget, ReplicaSet, Selector};
use evictsim::rest;
use evictsim::time::SimTime;
use proptest::prelude::*;
use serde_json::json;

const NS: &str = "default";

#[derive(Debug, Clone)]
enum Op {
    CreatePod(usize, usize),
    Relabel(usize, usize),
    SetReady(usize, bool),
    DeletePod(usize),
    PutPdb(usize, usize, bool),
    DeletePdb(usize),
    Advance(u64),
    /// A pod controlled by ReplicaSet `rs{2}` (by its uid, a stale one when it is gone).
    CreateOwnedPod(usize, usize, usize),
    /// Creates `rs{0}` with this many replicas, or scales it to them.
    PutReplicaSet(usize, i32),
    DeleteReplicaSet(usize),
    /// Sets `pdb{0}`'s `maxUnavailable` (a count or a percentage), its selector kept.
    PatchBudget(usize, usize),
}

/// Label sets drawn from a small alphabet, so that selectors overlap often.
fn labels(i: usize) -> serde_json::Value {
    let app = ["a", "b", "c"][i % 3];
    let tier = ["x", "y"][(i / 3) % 2];
    if i % 7 == 6 {
        json!({"tier": tier})
    } else {
        json!({"app": app, "tier": tier})
    }
}

/// Selectors: anchored (matchLabels), set-based only (unanchored), empty (everything),
/// null, and invalid.
fn selector(i: usize) -> serde_json::Value {
    match i % 7 {
        0 => json!({"matchLabels": {"app": "a"}}),
        1 => json!({"matchLabels": {"app": "b", "tier": "x"}}),
        2 => json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "c"]}]}),
        3 => json!({}),
        4 => {
            json!({"matchLabels": {"tier": "y"}, "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["b"]}]})
        }
        5 => serde_json::Value::Null,
        _ => json!({"matchExpressions": [{"key": "app", "operator": "Sideways"}]}),
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..8, 0usize..12).prop_map(|(i, l)| Op::CreatePod(i, l)),
        3 => (0usize..8, 0usize..12).prop_map(|(i, l)| Op::Relabel(i, l)),
        2 => (0usize..8, any::<bool>()).prop_map(|(i, r)| Op::SetReady(i, r)),
        1 => (0usize..8).prop_map(Op::DeletePod),
        2 => (0usize..4, 0usize..7, any::<bool>()).prop_map(|(j, s, m)| Op::PutPdb(j, s, m)),
        1 => (0usize..4).prop_map(Op::DeletePdb),
        1 => (1u64..90).prop_map(Op::Advance),
    ]
}

/// [`op`], and pods under controllers that come, go and change scale: a budget's expected
/// scale (C7) is remembered while its controllers stay the same, and must follow them.
fn op_with_controllers() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => op(),
        2 => (0usize..8, 0usize..12, 0usize..2).prop_map(|(i, l, r)| Op::CreateOwnedPod(i, l, r)),
        2 => (0usize..2, 0i32..6).prop_map(|(r, n)| Op::PutReplicaSet(r, n)),
        1 => (0usize..2).prop_map(Op::DeleteReplicaSet),
        1 => (0usize..4, 0usize..4).prop_map(|(j, k)| Op::PatchBudget(j, k)),
    ]
}

fn send(
    cluster: &mut Cluster,
    now: SimTime,
    method: &str,
    path: &str,
    content_type: &str,
    body: serde_json::Value,
) -> u16 {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        })
        .unwrap();
    rest::handle(cluster, now, &request).status().as_u16()
}

fn apply(cluster: &mut Cluster, now: &mut SimTime, op: &Op) {
    let pods = format!("/api/v1/namespaces/{NS}/pods");
    let pdbs = format!("/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets");
    let merge = "application/merge-patch+json";
    match op {
        Op::CreatePod(i, l) => {
            let body = json!({"metadata": {"name": format!("p{i}"), "labels": labels(*l)},
                "spec": {"containers": [{"name": "c", "image": "i"}]}});
            send(cluster, *now, "POST", &pods, "application/json", body);
        }
        Op::Relabel(i, l) => {
            // A merge patch replaces the whole label map when given null first.
            send(
                cluster,
                *now,
                "PATCH",
                &format!("{pods}/p{i}"),
                merge,
                json!({"metadata": {"labels": null}}),
            );
            send(
                cluster,
                *now,
                "PATCH",
                &format!("{pods}/p{i}"),
                merge,
                json!({"metadata": {"labels": labels(*l)}}),
            );
        }
        Op::SetReady(i, ready) => {
            let status = if *ready { "True" } else { "False" };
            send(
                cluster,
                *now,
                "PATCH",
                &format!("{pods}/p{i}/status"),
                merge,
                json!({"status": {"conditions": [{"type": "Ready", "status": status}]}}),
            );
        }
        Op::DeletePod(i) => {
            send(
                cluster,
                *now,
                "DELETE",
                &format!("{pods}/p{i}"),
                "application/json",
                serde_json::Value::Null,
            );
        }
        Op::PutPdb(j, s, max_unavailable) => {
            let budget = if *max_unavailable {
                json!({"maxUnavailable": 1})
            } else {
                json!({"minAvailable": 1})
            };
            let mut spec = budget;
            spec["selector"] = selector(*s);
            let path = format!("{pdbs}/pdb{j}");
            let exists = cluster
                .pdb(&ObjectKey::new(NS, format!("pdb{j}")))
                .is_some();
            if exists {
                send(
                    cluster,
                    *now,
                    "PATCH",
                    &path,
                    merge,
                    json!({"spec": {"selector": null}}),
                );
                send(cluster, *now, "PATCH", &path, merge, json!({"spec": spec}));
            } else {
                send(
                    cluster,
                    *now,
                    "POST",
                    &pdbs,
                    "application/json",
                    json!({"metadata": {"name": format!("pdb{j}")}, "spec": spec}),
                );
            }
        }
        Op::DeletePdb(j) => {
            send(
                cluster,
                *now,
                "DELETE",
                &format!("{pdbs}/pdb{j}"),
                "application/json",
                serde_json::Value::Null,
            );
        }
        Op::Advance(seconds) => {
            *now = *now + std::time::Duration::from_secs(*seconds);
            cluster.advance_to(*now);
        }
        Op::CreateOwnedPod(i, l, r) => {
            let uid = cluster
                .get::<ReplicaSet>(&ObjectKey::new(NS, format!("rs{r}")))
                .map_or_else(|| "stale".to_owned(), |rs| rs.metadata.uid.to_string());
            let body = json!({"metadata": {"name": format!("p{i}"), "labels": labels(*l),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": format!("rs{r}"), "uid": uid, "controller": true}]},
                "spec": {"containers": [{"name": "c", "image": "i"}]}});
            send(cluster, *now, "POST", &pods, "application/json", body);
        }
        Op::PutReplicaSet(r, replicas) => {
            let sets = format!("/apis/apps/v1/namespaces/{NS}/replicasets");
            let name = format!("rs{r}");
            if cluster
                .get::<ReplicaSet>(&ObjectKey::new(NS, name.clone()))
                .is_some()
            {
                let patch = json!({"spec": {"replicas": replicas}});
                send(
                    cluster,
                    *now,
                    "PATCH",
                    &format!("{sets}/{name}"),
                    merge,
                    patch,
                );
            } else {
                // Selecting labels no generated pod carries: the controller makes its own
                // replicas, and the pods above stay what the operations made them.
                let body = json!({"metadata": {"name": name}, "spec": {"replicas": replicas,
                    "selector": {"matchLabels": {"rs": name}},
                    "template": {"metadata": {"labels": {"rs": name, "app": "a"}},
                        "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
                send(cluster, *now, "POST", &sets, "application/json", body);
            }
        }
        Op::PatchBudget(j, k) => {
            let max_unavailable = [json!(0), json!(2), json!("50%"), json!("100%")][*k].clone();
            let patch = json!({"spec": {"minAvailable": null, "maxUnavailable": max_unavailable}});
            send(
                cluster,
                *now,
                "PATCH",
                &format!("{pdbs}/pdb{j}"),
                merge,
                patch,
            );
        }
        Op::DeleteReplicaSet(r) => {
            let path = format!("/apis/apps/v1/namespaces/{NS}/replicasets/rs{r}");
            send(
                cluster,
                *now,
                "DELETE",
                &path,
                "application/json",
                serde_json::Value::Null,
            );
        }
    }
}

/// `just_synced`: the PDB written by the last operation, which the controller synced at
/// that instant. Other statuses may lag as upstream's do: a pod event re-syncs only the PDB
/// selecting the pod's new labels (C3), never the one it left.
fn check(cluster: &Cluster, just_synced: Option<&str>) -> Result<(), TestCaseError> {
    // The label index files pods only under the keys a stored PDB's selector is anchored on
    // (`tier` only once a PDB anchored on it exists); any selector, filed or scanned,
    // selects what a scan does.
    for text in [
        "app=a",
        "tier=x",
        "app=b,tier=y",
        "app in (a,c)",
        "tier=y,app notin (b)",
    ] {
        let selector = Selector::parse(text).unwrap();
        let names = |pods: Vec<&Pod>| -> Vec<String> {
            pods.iter().map(|p| p.metadata.name.to_string()).collect()
        };
        let scan: Vec<&Pod> = cluster
            .list_in::<Pod>(NS)
            .filter(|pod| selector.matches(&pod.metadata.labels))
            .collect();
        prop_assert_eq!(
            names(cluster.pods_selected(NS, &selector)),
            names(scan),
            "{}",
            text
        );
    }
    let pdbs: Vec<&PodDisruptionBudget> = cluster.list_in::<PodDisruptionBudget>(NS).collect();
    for pdb in &pdbs {
        let key = pdb.metadata.key();
        let scan: Vec<&Pod> = cluster
            .list_in::<Pod>(NS)
            .filter(|pod| pdb_selects_pod(pdb, pod))
            .collect();
        let selects_something = pdb
            .spec
            .selector
            .as_ref()
            .is_some_and(|s| s.as_selector().is_ok());
        match cluster.pdb_members(&key) {
            Some(members) => {
                let names = |pods: &[&Pod]| {
                    pods.iter()
                        .map(|p| p.metadata.name.clone())
                        .collect::<Vec<_>>()
                };
                prop_assert_eq!(names(&members), names(&scan), "members of {}", key);
                for (member, scanned) in members.iter().zip(&scan) {
                    prop_assert_eq!(*member, *scanned, "{} holds a stale copy", key);
                }
            }
            None => prop_assert!(
                !selects_something && scan.is_empty(),
                "{} is not filed",
                key
            ),
        }
        if just_synced != Some(pdb.metadata.name.as_str()) || !selects_something {
            continue;
        }
        let recount = compute_status(pdb, &scan, cluster.wall_now(), |owner, pod| {
            cluster.find_controller(owner, &pod.metadata.namespace)
        });
        if let Ok(recount) = recount {
            prop_assert_eq!(
                (
                    pdb.status.expected_pods,
                    pdb.status.desired_healthy,
                    pdb.status.current_healthy,
                    pdb.status.disruptions_allowed
                ),
                (
                    recount.expected_pods,
                    recount.desired_healthy,
                    recount.current_healthy,
                    recount.disruptions_allowed
                ),
                "status of {}",
                key
            );
        }
    }
    Ok(())
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut cluster = Cluster::new(ClusterConfig::default());
    let node: Node = serde_json::from_value(json!({"metadata": {"name": "node-1"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}}))
    .unwrap();
    cluster.load(SimTime::ZERO, node).unwrap();
    let mut now = SimTime::ZERO;
    // A budget's resourceVersion: a write that changes nothing is no write (E31), and leaves
    // the budget unsynced, as upstream's controller (C2 syncs on an update event, and C3
    // syncs only the first of several budgets on a pod event).
    let version = |cluster: &Cluster, name: &str| {
        cluster
            .pdb(&ObjectKey::new(NS, name))
            .map(|pdb| pdb.metadata.resource_version.clone())
    };
    for op in ops {
        let touched = match op {
            Op::PutPdb(j, ..) | Op::PatchBudget(j, _) => Some(format!("pdb{j}")),
            _ => None,
        };
        let before = touched.as_deref().and_then(|name| version(&cluster, name));
        apply(&mut cluster, &mut now, op);
        let synced = touched.filter(|name| version(&cluster, name) != before);
        check(&cluster, synced.as_deref())?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn incremental_members_and_status_equal_a_recount(ops in proptest::collection::vec(op(), 1..40)) {
        run(&ops)?;
    }

    // Every sync (in the test's debug build) also checks its tallied status against the
    // recount: with controllers scaled, deleted and made again between pod events, a
    // remembered scale that outlived its controllers fails it.
    #[test]
    fn incremental_status_follows_the_controllers_scale(
        ops in proptest::collection::vec(op_with_controllers(), 1..40)
    ) {
        run(&ops)?;
    }
}
