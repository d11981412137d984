//! What the append-only event log records: every thing that happened, in order, read by
//! cursor. The log holds them encoded (`event_log.rs`); readers get these types.

use std::borrow::Cow;

use serde::Serialize;

use crate::model::{ObjectKey, SmolStr};
use crate::time::{SimTime, Time};

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When it happened.
    pub at: SimTime,
    /// What happened.
    pub kind: EventKind,
}

/// What a store write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WriteVerb {
    /// The object was created.
    Created,
    /// The object was updated (resourceVersion advanced).
    Updated,
    /// The object was removed from storage.
    Deleted,
}

/// Everything the log can record.
///
/// `K` is how the event holds the keys it names: a reader of the log gets events that own
/// theirs (`ObjectKey`, the default); the cluster logs events that borrow the keys of the
/// objects they are about (`&ObjectKey`), since the log copies their text and a copied key
/// would only be counted up and down again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum EventKind<K = ObjectKey> {
    /// An object was written to storage (what a watch would stream).
    ObjectWritten {
        /// `Created`, `Updated` or `Deleted`.
        verb: WriteVerb,
        /// The object's kind.
        kind: &'static str,
        /// The object's key.
        key: K,
        /// The resourceVersion after the write (the last one, for deletes).
        resource_version: SmolStr,
    },
    /// An eviction was admitted (201). `pdb` names the budget that was charged, if any.
    EvictionAdmitted {
        /// The pod.
        pod: K,
        /// The budget decremented, when the PDB path ran.
        pdb: Option<SmolStr>,
        /// Whether it was a dry run (nothing persisted).
        dry_run: bool,
    },
    /// An eviction was refused.
    EvictionRefused {
        /// The pod.
        pod: K,
        /// The HTTP code.
        code: u16,
        /// The Status message (static text, shared rather than copied, for the handler's
        /// 429s).
        message: Cow<'static, str>,
    },
    /// Step 1 of the six: the API server stamped `deletionTimestamp` and the grace period.
    DeletionStarted {
        /// The pod.
        pod: K,
        /// The grace period written.
        grace_period_seconds: i64,
        /// The `deletionTimestamp` written.
        deletion_timestamp: Time,
    },
    /// A terminating pod's grace period was shortened by a later DELETE (G8, G9).
    GracePeriodShortened {
        /// The pod.
        pod: K,
        /// The new grace period.
        grace_period_seconds: i64,
        /// The new `deletionTimestamp`.
        deletion_timestamp: Time,
    },
    /// The disruption controller wrote a PDB's status.
    PdbStatusUpdated {
        /// The PDB.
        pdb: K,
        /// `status.disruptionsAllowed`.
        disruptions_allowed: i64,
        /// `status.currentHealthy`.
        current_healthy: i64,
        /// `status.desiredHealthy`.
        desired_healthy: i64,
        /// `status.expectedPods`.
        expected_pods: i64,
    },
    /// The disruption controller failed to compute a PDB's status and fail-safed it (C15).
    PdbSyncFailed {
        /// The PDB.
        pdb: K,
        /// The error text written to the condition.
        message: String,
    },
    /// The disruption controller reset a stale `DisruptionTarget` condition (C20).
    DisruptionTargetReset {
        /// The pod.
        pod: K,
    },
    /// A Kubernetes Event a controller recorded (`NoPods`, `UnmanagedPods`, `NotDeleted`, …).
    Recorded {
        /// `Normal` or `Warning`.
        event_type: &'static str,
        /// `Kind/namespace/name` of the involved object.
        involved: String,
        /// The event reason.
        reason: &'static str,
        /// The event message.
        message: String,
    },
    /// A workload controller created a pod.
    PodCreated {
        /// `Kind namespace/name` of the controller (short enough, most often, to be held
        /// inline: the event costs no allocation).
        owner: SmolStr,
        /// The pod.
        pod: K,
    },
    /// The scheduler bound a pod to a node.
    PodScheduled {
        /// The pod.
        pod: K,
        /// The node.
        node: SmolStr,
    },
    /// A kubelet started a pod's containers (Running; Ready unless it never becomes Ready).
    PodStarted {
        /// The pod.
        pod: K,
        /// Its node.
        node: SmolStr,
        /// Whether it became Ready.
        ready: bool,
    },
    /// Step 2: the kubelet noticed the deletion and began graceful shutdown.
    KubeletNoticedDeletion {
        /// The pod.
        pod: K,
        /// Its node.
        node: SmolStr,
        /// The grace period it honours (K1).
        grace_period_seconds: i64,
        /// The preStop hook's run time, if the pod has one (ms).
        prestop_ms: Option<u64>,
    },
    /// The preStop hook finished and SIGTERM was sent.
    PreStopFinished {
        /// The pod.
        pod: K,
        /// Its node.
        node: SmolStr,
    },
    /// Step 3: the endpoints controllers took a terminating pod out of a Service's
    /// Endpoints (its EndpointSlice keeps it as terminating, N2/N3).
    EndpointRemoved {
        /// The pod.
        pod: K,
        /// The Service.
        service: K,
    },
    /// A shorter grace period re-armed the kill (K1).
    KillRearmed {
        /// The pod.
        pod: K,
        /// Its node.
        node: SmolStr,
        /// The new grace period.
        grace_period_seconds: i64,
    },
    /// The containers exited by themselves after SIGTERM.
    ContainersExited {
        /// The pod.
        pod: K,
        /// Its node.
        node: SmolStr,
        /// Their exit code.
        exit_code: i32,
    },
    /// Step 4: the grace period expired and the kubelet killed what was left (SIGKILL).
    ContainersKilled {
        /// The pod.
        pod: K,
        /// Its node.
        node: SmolStr,
    },
    /// Step 5: the kubelet reported the pod terminated (terminal phase written).
    PodTerminated {
        /// The pod.
        pod: K,
        /// Its node.
        node: SmolStr,
        /// `Succeeded` or `Failed`.
        phase: SmolStr,
    },
    /// The API rate limiter answered 429 (not a PDB answer).
    RateLimited {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
}

impl<K: std::fmt::Display> std::fmt::Display for EventKind<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventKind::ObjectWritten {
                verb,
                kind,
                key,
                resource_version,
            } => match (verb, *kind) {
                (WriteVerb::Deleted, "Pod") => write!(f, "step 6: API server removed pod {key}"),
                (WriteVerb::Deleted, _) => write!(f, "{kind} {key} removed from storage"),
                _ => write!(f, "{kind} {key} {verb:?} (rv {resource_version})"),
            },
            EventKind::EvictionAdmitted { pod, pdb, dry_run } => {
                write!(f, "eviction of pod {pod} admitted")?;
                if let Some(pdb) = pdb {
                    write!(f, " (charged to PDB {pdb})")?;
                }
                if *dry_run {
                    write!(f, " (dry run)")?;
                }
                Ok(())
            }
            EventKind::EvictionRefused { pod, code, message } => {
                write!(f, "eviction of pod {pod} refused: {code} {message}")
            }
            EventKind::DeletionStarted {
                pod,
                grace_period_seconds,
                deletion_timestamp,
            } => write!(
                f,
                "step 1: API server marked pod {pod} for deletion: deletionTimestamp {deletion_timestamp}, grace period {grace_period_seconds}s"
            ),
            EventKind::GracePeriodShortened {
                pod,
                grace_period_seconds,
                deletion_timestamp,
            } => write!(
                f,
                "grace period of pod {pod} shortened to {grace_period_seconds}s: deletionTimestamp {deletion_timestamp}"
            ),
            EventKind::PdbStatusUpdated {
                pdb,
                disruptions_allowed,
                current_healthy,
                desired_healthy,
                expected_pods,
            } => write!(
                f,
                "PDB {pdb} status: disruptionsAllowed={disruptions_allowed} currentHealthy={current_healthy} desiredHealthy={desired_healthy} expectedPods={expected_pods}"
            ),
            EventKind::PdbSyncFailed { pdb, message } => {
                write!(
                    f,
                    "PDB {pdb} sync failed (fail-safe, disruptionsAllowed=0): {message}"
                )
            }
            EventKind::DisruptionTargetReset { pod } => {
                write!(
                    f,
                    "stale DisruptionTarget condition of pod {pod} reset to False"
                )
            }
            EventKind::Recorded {
                event_type,
                involved,
                reason,
                message,
            } => write!(f, "{event_type} {reason} on {involved}: {message}"),
            EventKind::PodCreated { owner, pod } => write!(f, "{owner} created pod {pod}"),
            EventKind::PodScheduled { pod, node } => {
                write!(f, "scheduler bound pod {pod} to {node}")
            }
            EventKind::PodStarted { pod, node, ready } => write!(
                f,
                "kubelet on {node} started pod {pod}{}",
                if *ready {
                    " (Ready)"
                } else {
                    " (running, never Ready)"
                }
            ),
            EventKind::KubeletNoticedDeletion {
                pod,
                node,
                grace_period_seconds,
                prestop_ms,
            } => match prestop_ms {
                Some(ms) => write!(
                    f,
                    "step 2: kubelet on {node} noticed pod {pod} is being deleted: running its preStop hook ({}), grace period {grace_period_seconds}s",
                    SimTime::from_millis(*ms)
                        .to_string()
                        .trim_start_matches('+')
                ),
                None => write!(
                    f,
                    "step 2: kubelet on {node} noticed pod {pod} is being deleted: SIGTERM sent, grace period {grace_period_seconds}s"
                ),
            },
            EventKind::EndpointRemoved { pod, service } => write!(
                f,
                "step 3: endpoints controller took pod {pod} out of service {service} (Endpoints: removed; EndpointSlice: ready=false, terminating=true)"
            ),
            EventKind::PreStopFinished { pod, node } => {
                write!(
                    f,
                    "kubelet on {node}: preStop hook of pod {pod} done, SIGTERM sent"
                )
            }
            EventKind::KillRearmed {
                pod,
                node,
                grace_period_seconds,
            } => write!(
                f,
                "kubelet on {node}: grace period of pod {pod} shortened to {grace_period_seconds}s, kill re-armed"
            ),
            EventKind::ContainersExited {
                pod,
                node,
                exit_code,
            } => write!(
                f,
                "kubelet on {node}: containers of pod {pod} exited after SIGTERM (exit code {exit_code})"
            ),
            EventKind::ContainersKilled { pod, node } => write!(
                f,
                "step 4: grace period expired: kubelet on {node} killed the remaining containers of pod {pod} (SIGKILL, exit code 137)"
            ),
            EventKind::PodTerminated { pod, node, phase } => write!(
                f,
                "step 5: kubelet on {node} reported pod {pod} terminated (phase {phase}) and deleted it with grace 0"
            ),
            EventKind::RateLimited { method, path } => {
                write!(f, "API rate limit: 429 for {method} {path}")
            }
        }
    }
}
