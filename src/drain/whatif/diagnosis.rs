//! Why each pod stayed: the cause in one sentence with the numbers.

use super::{DrainOptions, DrainRun, PodFate};
use crate::cluster::Cluster;
use crate::model::{ObjectKey, Pod};
use crate::time::go_duration;

/// Why a pod stayed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Cause {
    /// kubectl's filters refused the node before any eviction.
    Refused {
        /// kubectl's message.
        message: String,
    },
    /// The PDB does not allow the eviction (429), and it does not recover.
    Budget {
        /// The PDB.
        pdb: ObjectKey,
        /// `status.expectedPods`.
        expected: i64,
        /// `status.currentHealthy`.
        healthy: i64,
        /// `status.desiredHealthy`.
        desired: i64,
        /// Why the budget stays exhausted: every reason found, the most direct first.
        because: Vec<Blocker>,
    },
    /// More than one PDB selects the pod: every eviction is a 500.
    TwoBudgets {
        /// The PDBs.
        pdbs: Vec<ObjectKey>,
    },
    /// Evicted, but still terminating: its grace period outlasts the drain's timeout.
    LongGrace {
        /// The pod's grace period in seconds.
        grace_seconds: i64,
    },
    /// Evicted, but its node's kubelet does not report, so nothing finishes the deletion.
    DeadKubelet {
        /// The node.
        node: String,
    },
    /// Anything else kubectl reported.
    Other {
        /// kubectl's message.
        message: String,
    },
}

/// Why a PDB that blocks an eviction does not recover.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Blocker {
    /// A replacement cannot be scheduled.
    Unschedulable {
        /// The replacement.
        pod: ObjectKey,
        /// The scheduler's message.
        message: String,
    },
    /// A replacement runs but never becomes Ready.
    NeverReady {
        /// The replacement.
        pod: ObjectKey,
    },
    /// A pod of the budget is still terminating, and its replacement waits for it.
    Terminating {
        /// The terminating pod.
        pod: ObjectKey,
    },
    /// The pod has no controller, so nothing replaces it, and the budget needs it.
    NoController,
    /// Even with every pod healthy the budget allows no disruption.
    NoRoom,
}

/// One pod left behind, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnosis {
    /// The pod.
    pub pod: ObjectKey,
    /// Its node.
    pub node: String,
    /// The cause.
    pub cause: Cause,
    /// The cause in one sentence, with the numbers.
    pub sentence: String,
}

pub(super) fn diagnose(
    cluster: &Cluster,
    run: &DrainRun,
    options: &DrainOptions,
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for node in run.nodes.iter().filter(|n| !n.drained) {
        for left in node.left_alone.iter().filter(|l| l.blocking) {
            let sentence = format!(
                "{}: kubectl refuses the node before evicting anything: cannot delete {}",
                left.pod, left.reason
            );
            out.push(Diagnosis {
                pod: left.pod.clone(),
                node: node.node.clone(),
                cause: Cause::Refused {
                    message: left.reason.clone(),
                },
                sentence,
            });
        }
        for outcome in &node.pods {
            let message = match &outcome.fate {
                PodFate::Failed(m) => m.clone(),
                PodFate::Pending => String::new(),
                _ => continue,
            };
            let Some(pod) = cluster.pod(&outcome.pod) else {
                continue; // gone by now
            };
            let cause = classify(cluster, pod, &message, options);
            let sentence = sentence(cluster, pod, &cause, options);
            out.push(Diagnosis {
                pod: outcome.pod.clone(),
                node: node.node.clone(),
                cause,
                sentence,
            });
        }
    }
    out
}

pub(super) fn classify(
    cluster: &Cluster,
    pod: &Pod,
    message: &str,
    _options: &DrainOptions,
) -> Cause {
    if pod.is_terminating() {
        let node =
            cluster.get::<crate::model::Node>(&ObjectKey::new("", pod.spec.node_name.as_str()));
        if node.is_none_or(|n| !crate::cluster::kubelet::node_ready(n)) {
            return Cause::DeadKubelet {
                node: pod.spec.node_name.to_string(),
            };
        }
        return Cause::LongGrace {
            grace_seconds: pod.metadata.deletion_grace_period_seconds.unwrap_or(30),
        };
    }
    let pdbs: Vec<ObjectKey> = cluster
        .pdbs_selecting(pod)
        .into_iter()
        .map(|name| ObjectKey::new(pod.metadata.namespace.as_str(), name))
        .collect();
    if pdbs.len() > 1 {
        return Cause::TwoBudgets { pdbs };
    }
    let Some(key) = pdbs.first() else {
        return Cause::Other {
            message: if message.is_empty() {
                "kubectl was still trying".to_string()
            } else {
                message.to_string()
            },
        };
    };
    let Some(pdb) = cluster.pdb(key) else {
        return Cause::Other {
            message: message.to_string(),
        };
    };
    Cause::Budget {
        pdb: key.clone(),
        expected: pdb.status.expected_pods,
        healthy: pdb.status.current_healthy,
        desired: pdb.status.desired_healthy,
        because: blockers(cluster, pod, key),
    }
}

pub(super) fn blockers(cluster: &Cluster, pod: &Pod, pdb: &ObjectKey) -> Vec<Blocker> {
    let members = cluster.pdb_members(pdb).unwrap_or_default();
    let mut found = Vec::new();
    for member in &members {
        let unschedulable = member
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False");
        if member.spec.node_name.is_empty()
            && let Some(condition) = unschedulable
        {
            found.push(Blocker::Unschedulable {
                pod: member.metadata.key(),
                message: condition.message.to_string(),
            });
            break;
        }
    }
    for member in &members {
        if member.is_terminating() && member.metadata.key() != pod.metadata.key() {
            found.push(Blocker::Terminating {
                pod: member.metadata.key(),
            });
            break;
        }
    }
    // A pod that runs unready, or one that would never be Ready once it runs (its
    // behaviour says so, whether or not it has a node yet).
    let never_ready = |p: &Pod| {
        crate::model::Behaviour::of_with_defaults(
            &p.metadata.annotations,
            cluster.config().default_behaviour,
        )
        .never_ready
    };
    for member in &members {
        let active = !member.is_terminating() && !member.is_terminal() && !member.is_ready();
        if active
            && (!member.spec.node_name.is_empty() || never_ready(member))
            && (never_ready(member) || member.status.phase == "Running")
        {
            found.push(Blocker::NeverReady {
                pod: member.metadata.key(),
            });
            break;
        }
    }
    if pod.metadata.controller_ref().is_none() {
        found.push(Blocker::NoController);
    }
    if found.is_empty() {
        found.push(Blocker::NoRoom);
    }
    found
}

pub(super) fn sentence(
    cluster: &Cluster,
    pod: &Pod,
    cause: &Cause,
    options: &DrainOptions,
) -> String {
    let who = pod.metadata.key();
    match cause {
        Cause::Refused { message } => format!("{who}: kubectl refuses the node: {message}"),
        Cause::TwoBudgets { pdbs } => format!(
            "{who}: {} PDBs select it ({}), so every eviction is refused with 500 (\"This pod has more than one PodDisruptionBudget\")",
            pdbs.len(),
            pdbs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Cause::LongGrace { grace_seconds } => format!(
            "{who}: evicted, but its grace period of {grace_seconds}s outlasts the drain's --timeout of {}; the kubelet kills it only when the grace period ends",
            go_duration(options.timeout)
        ),
        Cause::DeadKubelet { node } => format!(
            "{who}: evicted, but node {node} does not report Ready: no kubelet finishes the deletion, so the pod stays Terminating until the node returns or the pod is force-deleted"
        ),
        Cause::Other { message } => format!("{who}: {message}"),
        Cause::Budget {
            pdb,
            expected,
            healthy,
            desired,
            because,
        } => {
            let allowed = cluster.pdb(pdb).map_or(0, |p| p.status.disruptions_allowed);
            let head = format!(
                "{who}: PDB {pdb} needs {desired} healthy pods and has {healthy} (expected {expected}, disruptionsAllowed {allowed}), so every eviction is a 429"
            );
            let why: Vec<String> = because
                .iter()
                .map(|b| match b {
                    Blocker::Unschedulable { pod, message } => {
                        format!("its replacement {pod} cannot be scheduled: {message}")
                    }
                    Blocker::NeverReady { pod } => {
                        let annotated = cluster.pod(pod).is_some_and(|p| {
                            p.metadata.annotations.get(crate::model::NEVER_READY).is_some_and(|v| v == "true")
                        });
                        let hint = if annotated { " (evictsim.io/never-ready)" } else { "" };
                        format!("{pod} never becomes Ready{hint}, so the budget never recovers")
                    }
                    Blocker::Terminating { pod } => {
                        let grace = cluster
                            .pod(pod)
                            .and_then(|p| p.metadata.deletion_grace_period_seconds)
                            .unwrap_or(30);
                        format!("{pod} is still terminating (grace period {grace}s) and its replacement waits for it")
                    }
                    Blocker::NoController => {
                        "it has no controller, so nothing replaces it and the budget can never spare it".to_string()
                    }
                    Blocker::NoRoom => "even with every pod healthy the budget allows no disruption".to_string(),
                })
                .collect();
            let why = why.join("; and ");
            format!("{head}: {why}")
        }
    }
}
