//! Remedies: candidates for the causes found, each applied to its own copy of the stuck
//! cluster (through the REST handler, as the operator's command would be) and the drain run
//! again.

use std::time::Duration;

use serde_json::{Value, json};

use super::diagnosis::{Blocker, Cause, Diagnosis};
use super::{DrainOptions, Plan, PodFate, RemedyCheck, run_plan};
use crate::cluster::Cluster;
use crate::drain::client::call;
use crate::model::{IntOrString, ObjectKey, Pod, PodDisruptionBudget};
use crate::time::go_duration;

/// A change to try: through the REST handler, as an operator's kubectl command would, or to
/// the drain's own flags.
#[derive(Debug, Clone)]
pub(super) enum Fix {
    /// A request (method, path, content type, body).
    Request(&'static str, String, &'static str, Value),
    /// Several requests.
    Requests(Vec<(&'static str, String, &'static str, Value)>),
    /// Different drain flags.
    Flags(DrainOptions),
    /// Nothing to apply: the remedy is advice.
    Advice,
}

pub(super) struct Candidate {
    title: String,
    command: String,
    fix: Fix,
}

pub(super) fn candidates(
    cluster: &Cluster,
    plan: &Plan,
    diagnoses: &[Diagnosis],
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    // The docs' first remedy: pause the automation.
    out.push(Candidate {
        title: "pause the automation (the docs' remedy): stop retrying, leave the node cordoned, and investigate".to_string(),
        command: "interrupt kubectl drain (Ctrl-C) or pause the upgrade tool".to_string(),
        fix: Fix::Advice,
    });
    // The docs' second: delete the pods directly (bypasses the budget).
    let budget_blocked: Vec<&Diagnosis> = diagnoses
        .iter()
        .filter(|d| {
            matches!(
                d.cause,
                Cause::Budget { .. } | Cause::TwoBudgets { .. } | Cause::Other { .. }
            )
        })
        .collect();
    if !budget_blocked.is_empty() {
        let requests = budget_blocked
            .iter()
            .map(|d| ("DELETE", pod_path(&d.pod), "application/json", json!({})))
            .collect();
        out.push(Candidate {
            title: "delete the pod directly (the docs' remedy; it bypasses the budget)".to_string(),
            command: budget_blocked
                .iter()
                .map(|d| format!("kubectl delete pod -n {} {}", d.pod.namespace, d.pod.name))
                .collect::<Vec<_>>()
                .join(" && "),
            fix: Fix::Requests(requests),
        });
    }
    let terminating = diagnoses
        .iter()
        .any(|d| matches!(d.cause, Cause::LongGrace { .. } | Cause::DeadKubelet { .. }));
    let longest_grace = diagnoses
        .iter()
        .filter_map(|d| cluster.pod(&d.pod))
        .map(|p| {
            p.metadata
                .deletion_grace_period_seconds
                .or(p.spec.termination_grace_period_seconds)
                .unwrap_or(30)
        })
        .max()
        .unwrap_or(0);
    let outlasts_timeout = !plan.options.timeout.is_zero()
        && u64::try_from(longest_grace).unwrap_or(0) >= plan.options.timeout.as_secs();
    if terminating || outlasts_timeout {
        out.push(Candidate {
            title: "force-delete the pods left (removes the objects at once; their containers may still run)".to_string(),
            command: diagnoses
                .iter()
                .map(|d| format!("kubectl delete pod -n {} {} --grace-period=0 --force", d.pod.namespace, d.pod.name))
                .collect::<Vec<_>>()
                .join(" && "),
            fix: Fix::Requests(
                diagnoses
                    .iter()
                    .map(|d| ("DELETE", pod_path(&d.pod), "application/json", json!({"gracePeriodSeconds": 0})))
                    .collect(),
            ),
        });
    }
    if diagnoses
        .iter()
        .any(|d| matches!(d.cause, Cause::LongGrace { .. }))
        && !plan.options.timeout.is_zero()
    {
        let mut flags = plan.options.clone();
        flags.timeout = Duration::ZERO;
        out.push(Candidate {
            title: format!("let the drain wait out the grace periods (up to {longest_grace}s each): no --timeout"),
            command: format!("kubectl drain {} --timeout=0s", plan.nodes.join(" ")),
            fix: Fix::Flags(flags),
        });
    }
    // Per budget: scale up, relax, AlwaysAllow.
    let mut seen: Vec<ObjectKey> = Vec::new();
    for d in diagnoses {
        match &d.cause {
            Cause::Budget {
                pdb,
                desired,
                because,
                ..
            } => {
                if seen.contains(pdb) {
                    continue;
                }
                seen.push(pdb.clone());
                let blocked = diagnoses
                    .iter()
                    .filter(
                        |other| matches!(&other.cause, Cause::Budget { pdb: p, .. } if p == pdb),
                    )
                    .count() as i64;
                let Some(budget) = cluster.pdb(pdb) else {
                    continue;
                };
                if let Some(pod) = cluster.pod(&d.pod)
                    && let Some((kind, path, name, replicas)) = top_owner(cluster, pod)
                {
                    out.push(Candidate {
                        title: format!("scale {kind} {}/{name} up by {blocked}", pdb.namespace),
                        command: format!(
                            "kubectl scale -n {} {}/{name} --replicas={}",
                            pdb.namespace,
                            kind.to_lowercase(),
                            replicas + blocked
                        ),
                        fix: Fix::Request(
                            "PATCH",
                            path,
                            "application/merge-patch+json",
                            json!({"spec": {"replicas": replicas + blocked}}),
                        ),
                    });
                }
                if let Some(patch) = relaxed(budget, *desired, blocked) {
                    out.push(patch_pdb(pdb, format!("relax the budget {pdb}"), patch));
                }
                let unhealthy = cluster
                    .pdb_members(pdb)
                    .unwrap_or_default()
                    .iter()
                    .any(|p| !p.spec.node_name.is_empty() && !p.is_terminating() && !p.is_ready());
                if unhealthy
                    && budget.spec.unhealthy_pod_eviction_policy.as_deref() != Some("AlwaysAllow")
                {
                    out.push(patch_pdb(
                        pdb,
                        format!(
                            "let unhealthy pods go: unhealthyPodEvictionPolicy AlwaysAllow on {pdb}"
                        ),
                        json!({"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}}),
                    ));
                }
                if because
                    .iter()
                    .any(|b| matches!(b, Blocker::Unschedulable { .. }))
                {
                    for node in cluster.list::<crate::model::Node>() {
                        let name = &node.metadata.name;
                        if node.spec.unschedulable && !plan.nodes.iter().any(|n| n == name) {
                            out.push(Candidate {
                                title: format!("uncordon node {name}"),
                                command: format!("kubectl uncordon {name}"),
                                fix: Fix::Request(
                                    "PATCH",
                                    format!("/api/v1/nodes/{name}"),
                                    "application/strategic-merge-patch+json",
                                    json!({"spec": {"unschedulable": null}}),
                                ),
                            });
                        }
                    }
                    if let Some(template) = plan.nodes.first().and_then(|n| {
                        cluster.get::<crate::model::Node>(&ObjectKey::new("", n.as_str()))
                    }) {
                        let body = spare_node(template);
                        let name = body
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        out.push(Candidate {
                            title: format!("add a node like {} ({name})", template.metadata.name),
                            command: format!(
                                "scale the node group up by one (a node like {})",
                                template.metadata.name
                            ),
                            fix: Fix::Request(
                                "POST",
                                "/api/v1/nodes".to_string(),
                                "application/json",
                                body,
                            ),
                        });
                    }
                }
            }
            Cause::TwoBudgets { pdbs } => {
                for pdb in pdbs {
                    if seen.contains(pdb) {
                        continue;
                    }
                    seen.push(pdb.clone());
                    out.push(Candidate {
                        title: format!("delete the overlapping budget {pdb}"),
                        command: format!("kubectl delete pdb -n {} {}", pdb.namespace, pdb.name),
                        fix: Fix::Request("DELETE", pdb_path(pdb), "application/json", json!({})),
                    });
                }
            }
            _ => {}
        }
    }
    // Several budgets blocking at once: no single change to one of them drains the node, so
    // the changes that keep the pods (scaling, relaxing, nodes) are also tried together.
    let blocking_budgets: std::collections::BTreeSet<&ObjectKey> = diagnoses
        .iter()
        .filter_map(|d| match &d.cause {
            Cause::Budget { pdb, .. } => Some(pdb),
            _ => None,
        })
        .collect();
    let keeping: Vec<&Candidate> = out
        .iter()
        .filter(|c| matches!(&c.fix, Fix::Request(method, ..) if *method != "DELETE"))
        .collect();
    if blocking_budgets.len() > 1 && keeping.len() > 1 {
        let requests = keeping
            .iter()
            .filter_map(|c| match &c.fix {
                Fix::Request(method, path, content_type, body) => {
                    Some((*method, path.clone(), *content_type, body.clone()))
                }
                _ => None,
            })
            .collect();
        out.push(Candidate {
            title: format!(
                "all {} changes above that keep the pods, together",
                keeping.len()
            ),
            command: keeping
                .iter()
                .map(|c| c.command.as_str())
                .collect::<Vec<_>>()
                .join(" && "),
            fix: Fix::Requests(requests),
        });
    }
    // Filter refusals: the flag kubectl names.
    let refused: Vec<&str> = diagnoses
        .iter()
        .filter_map(|d| match &d.cause {
            Cause::Refused { message } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    let mut flags = plan.options.clone();
    let mut named = Vec::new();
    if refused.iter().any(|m| m.contains("--ignore-daemonsets")) {
        flags.ignore_daemonsets = true;
        named.push("--ignore-daemonsets");
    }
    if refused.iter().any(|m| m.contains("--delete-emptydir-data")) {
        flags.delete_emptydir_data = true;
        named.push("--delete-emptydir-data");
    }
    if refused
        .iter()
        .any(|m| m.contains("--force") || m.contains("not found"))
    {
        flags.force = true;
        named.push("--force");
    }
    if !named.is_empty() {
        out.push(Candidate {
            title: format!("drain with {}", named.join(" ")),
            command: format!("kubectl drain {} {}", plan.nodes.join(" "), named.join(" ")),
            fix: Fix::Flags(flags),
        });
    }
    out
}

/// A merge patch of a PDB, as `kubectl patch pdb … --type=merge -p …`.
fn patch_pdb(pdb: &ObjectKey, title: String, patch: Value) -> Candidate {
    Candidate {
        title,
        command: format!(
            "kubectl patch pdb -n {} {} --type=merge -p '{}'",
            pdb.namespace, pdb.name, patch
        ),
        fix: Fix::Request(
            "PATCH",
            pdb_path(pdb),
            "application/merge-patch+json",
            patch,
        ),
    }
}

/// The workload to scale for `pod`: its Deployment (through its ReplicaSet), or its
/// ReplicaSet, StatefulSet or ReplicationController. (kind, path, name, replicas).
pub(super) fn top_owner(
    cluster: &Cluster,
    pod: &Pod,
) -> Option<(&'static str, String, String, i64)> {
    let owner = pod.metadata.controller_ref()?;
    let ns = pod.metadata.namespace.as_str();
    let replicas = |r: Option<i32>| i64::from(r.unwrap_or(1));
    match owner.kind.as_str() {
        "ReplicaSet" => {
            let rs = cluster
                .get::<crate::model::ReplicaSet>(&ObjectKey::new(ns, owner.name.as_str()))?;
            if let Some(deployment) = rs
                .metadata
                .controller_ref()
                .filter(|r| r.kind == "Deployment")
            {
                let d = cluster.get::<crate::model::Deployment>(&ObjectKey::new(
                    ns,
                    deployment.name.as_str(),
                ))?;
                return Some((
                    "Deployment",
                    format!(
                        "/apis/apps/v1/namespaces/{ns}/deployments/{}",
                        deployment.name
                    ),
                    deployment.name.to_string(),
                    replicas(d.spec.replicas),
                ));
            }
            Some((
                "ReplicaSet",
                format!("/apis/apps/v1/namespaces/{ns}/replicasets/{}", owner.name),
                owner.name.to_string(),
                replicas(rs.spec.replicas),
            ))
        }
        "StatefulSet" => {
            let s = cluster
                .get::<crate::model::StatefulSet>(&ObjectKey::new(ns, owner.name.as_str()))?;
            Some((
                "StatefulSet",
                format!("/apis/apps/v1/namespaces/{ns}/statefulsets/{}", owner.name),
                owner.name.to_string(),
                replicas(s.spec.replicas),
            ))
        }
        "ReplicationController" => {
            let r = cluster.get::<crate::model::ReplicationController>(&ObjectKey::new(
                ns,
                owner.name.as_str(),
            ))?;
            Some((
                "ReplicationController",
                format!(
                    "/api/v1/namespaces/{ns}/replicationcontrollers/{}",
                    owner.name
                ),
                owner.name.to_string(),
                replicas(r.spec.replicas),
            ))
        }
        _ => None,
    }
}

/// A budget `by` pods looser: `minAvailable` lower (as a number), or `maxUnavailable`
/// higher.
pub(super) fn relaxed(pdb: &PodDisruptionBudget, desired: i64, by: i64) -> Option<Value> {
    if pdb.spec.min_available.is_some() {
        let lower = match &pdb.spec.min_available {
            Some(IntOrString::Int(n)) => i64::from(*n) - by,
            _ => desired - by,
        };
        return Some(json!({"spec": {"minAvailable": lower.max(0)}}));
    }
    let now = match &pdb.spec.max_unavailable {
        Some(IntOrString::Int(n)) => i64::from(*n),
        _ => (pdb.status.expected_pods - desired).max(0),
    };
    Some(json!({"spec": {"maxUnavailable": now + by}}))
}

/// A Ready, schedulable node shaped like `template` (labels, allocatable, taints).
pub(super) fn spare_node(template: &crate::model::Node) -> Value {
    let name = format!("{}-spare", template.metadata.name);
    let mut labels = serde_json::to_value(&template.metadata.labels).unwrap_or(json!({}));
    if labels.get("kubernetes.io/hostname").is_some() {
        labels["kubernetes.io/hostname"] = json!(name);
    }
    let mut spec = crate::model::json_value_of(&template.spec).unwrap_or(json!({}));
    if let Some(map) = spec.as_object_mut() {
        map.remove("unschedulable");
        map.remove("providerID");
        map.remove("podCIDR");
        map.remove("podCIDRs");
        if let Some(taints) = map.get_mut("taints").and_then(Value::as_array_mut) {
            taints.retain(|t| {
                let key = t.get("key").and_then(Value::as_str).unwrap_or("");
                !key.starts_with("node.kubernetes.io/")
            });
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {
            "allocatable": template.status.value("allocatable").unwrap_or(json!({})),
            "capacity": template.status.value("capacity").unwrap_or(json!({})),
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]
        }
    })
}

pub(super) fn pod_path(pod: &ObjectKey) -> String {
    crate::drain::client::pod_path(pod)
}

pub(super) fn pdb_path(pdb: &ObjectKey) -> String {
    format!(
        "/apis/policy/v1/namespaces/{}/poddisruptionbudgets/{}",
        pdb.namespace, pdb.name
    )
}

/// Verifies every candidate remedy, each on its own copy of the stuck cluster. The copies
/// are independent, so they run on as many threads as the machine has; the report keeps
/// the candidates' order.
pub(super) fn verify(
    stuck: &Cluster,
    plan: &Plan,
    nodes: &[String],
    diagnoses: &[Diagnosis],
) -> Vec<RemedyCheck> {
    let candidates = candidates(stuck, plan, diagnoses);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(candidates.len())
        .max(1);
    let mut checks: Vec<(usize, RemedyCheck)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(candidate) = candidates.get(i) else {
                            return done;
                        };
                        done.push((i, check(stuck, plan, nodes, diagnoses, candidate)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    checks.sort_by_key(|(i, _)| *i);
    checks.into_iter().map(|(_, c)| c).collect()
}

/// Applies one remedy to a copy of the stuck cluster and drains again.
pub(super) fn check(
    stuck: &Cluster,
    plan: &Plan,
    nodes: &[String],
    diagnoses: &[Diagnosis],
    candidate: &Candidate,
) -> RemedyCheck {
    let title = candidate.title.clone();
    let command = candidate.command.clone();
    let mut options = plan.options.clone();
    if let Fix::Advice = candidate.fix {
        return RemedyCheck {
            title,
            command,
            works: false,
            drained_after: None,
            outcome: format!(
                "changes nothing by itself: the node stays cordoned with {} pod(s) on it; it buys time for the remedies below",
                diagnoses.len()
            ),
        };
    }
    let mut copy = stuck.fork();
    let applied = match &candidate.fix {
        Fix::Advice => Ok(()),
        Fix::Flags(flags) => {
            options = flags.clone();
            Ok(())
        }
        Fix::Request(method, path, content_type, body) => apply(
            &mut copy,
            &[(method, path.clone(), content_type, body.clone())],
        ),
        Fix::Requests(requests) => apply(
            &mut copy,
            &requests
                .iter()
                .map(|(m, p, c, b)| (m, p.clone(), c, b.clone()))
                .collect::<Vec<_>>(),
        ),
    };
    if let Err(message) = applied {
        return RemedyCheck {
            title,
            command,
            works: false,
            drained_after: None,
            outcome: format!("cannot be applied: {message}"),
        };
    }
    let sub_plan = Plan {
        nodes: nodes.to_vec(),
        options,
        pool: plan.pool,
        verify_remedies: false,
        settle: Duration::ZERO,
    };
    let start = copy.now();
    let (runs, stuck_node) = run_plan(&mut copy, &sub_plan);
    let end = runs.last().map_or(start, |(_, r)| r.finished);
    let took = end.saturating_duration_since(start);
    let works = stuck_node.is_none();
    let outcome = if works {
        format!(
            "works: the drain run again finishes in {}",
            go_duration(took)
        )
    } else {
        let left: Vec<String> = runs
            .last()
            .map(|(_, r)| {
                r.nodes
                    .iter()
                    .flat_map(|n| {
                        n.pods
                            .iter()
                            .filter(|p| matches!(p.fate, PodFate::Failed(_) | PodFate::Pending))
                            .map(|p| p.pod.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        if left.is_empty() {
            "does not help: the drain run again still does not finish".to_string()
        } else {
            format!(
                "does not help: the drain run again still leaves {}",
                left.join(", ")
            )
        }
    };
    RemedyCheck {
        title,
        command,
        works,
        drained_after: works.then_some(took),
        outcome,
    }
}

pub(super) fn apply(
    cluster: &mut Cluster,
    requests: &[(&&'static str, String, &&'static str, Value)],
) -> Result<(), String> {
    for (method, path, content_type, body) in requests {
        let now = cluster.now();
        let answer = call(
            cluster,
            now,
            method,
            path,
            Some((content_type, body.clone())),
        );
        if !answer.ok() {
            return Err(format!("{method} {path}: {}", answer.message()));
        }
    }
    Ok(())
}
