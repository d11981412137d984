//! `v1.Pod`, with the fields eviction, deletion and the controllers read typed.

use serde::{Deserialize, Serialize};

use super::meta::{ObjectMeta, SmolStr, Unmodeled};
use crate::time::Time;

/// `v1.Pod`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The pod's spec.
    #[serde(default)]
    pub spec: PodSpec,
    /// The pod's observed state.
    #[serde(default)]
    pub status: PodStatus,
}

/// `v1.PodSpec`: the fields read here, the rest kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// The node the pod is bound to; empty while unscheduled.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub node_name: SmolStr,
    /// Seconds between SIGTERM and SIGKILL; defaulted to 30 (G1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Everything else (containers, volumes, …), verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

/// `v1.PodStatus`: the fields read here, the rest kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`, or empty.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub phase: SmolStr,
    /// Pod conditions (`Ready`, `DisruptionTarget`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PodCondition>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

/// `v1.PodCondition`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCondition {
    /// The condition type.
    #[serde(rename = "type", default)]
    pub type_: SmolStr,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: SmolStr,
    /// The pod generation this condition was computed for (1.33+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Last probe time (kept verbatim; usually null). Boxed: a JSON value is larger than
    /// the rest of the condition, and almost every condition has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Box<serde_json::Value>>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A machine-readable reason.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub reason: SmolStr,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub message: SmolStr,
}

/// Pod phases.
pub mod phase {
    /// Accepted, not all containers running yet.
    pub const PENDING: &str = "Pending";
    /// Bound and running.
    pub const RUNNING: &str = "Running";
    /// All containers exited 0.
    pub const SUCCEEDED: &str = "Succeeded";
    /// All containers terminated, at least one in failure.
    pub const FAILED: &str = "Failed";
}

/// The condition type the eviction handler writes before deleting (E30).
pub const DISRUPTION_TARGET: &str = "DisruptionTarget";
/// The reason of the condition written by the eviction handler (E30).
pub const EVICTION_BY_EVICTION_API: &str = "EvictionByEvictionAPI";
/// The message of the condition written by the eviction handler (E30).
pub const EVICTION_API_MESSAGE: &str = "Eviction API: evicting";
/// The kubelet's own DisruptionTarget reason, which C20 never resets.
pub const TERMINATION_BY_KUBELET: &str = "TerminationByKubelet";

impl Pod {
    /// The condition of `type_`, if present.
    pub fn condition(&self, type_: &str) -> Option<&PodCondition> {
        self.status.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Upstream's `IsPodReady`: the `Ready` condition has status `True`. Phase and deletion
    /// state are not consulted (E16, C11).
    pub fn is_ready(&self) -> bool {
        self.condition("Ready").is_some_and(|c| c.status == "True")
    }

    /// Whether the phase is `Succeeded` or `Failed`.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.phase.as_str(), phase::SUCCEEDED | phase::FAILED)
    }

    /// Whether the pod has a `deletionTimestamp`.
    pub fn is_terminating(&self) -> bool {
        self.metadata.deletion_timestamp.is_some()
    }

    /// Sets a condition with upstream's `UpdatePodCondition` merge rule (E31): the
    /// `lastTransitionTime` is kept when the status is unchanged, else set to `now`; other
    /// fields are overwritten. Returns whether anything changed.
    pub fn set_condition(&mut self, mut condition: PodCondition, now: Time) -> bool {
        match self
            .status
            .conditions
            .iter_mut()
            .find(|c| c.type_ == condition.type_)
        {
            Some(existing) => {
                condition.last_transition_time = if existing.status == condition.status {
                    existing.last_transition_time
                } else {
                    Some(now)
                };
                if condition.last_probe_time.is_none() {
                    condition.last_probe_time = existing.last_probe_time.clone();
                }
                let changed = *existing != condition;
                *existing = condition;
                changed
            }
            None => {
                condition.last_transition_time = Some(now);
                self.status.conditions.push(condition);
                true
            }
        }
    }

    /// The value of a field-selector field (`metadata.name`, `spec.nodeName`,
    /// `status.phase`, …) or `None` if pods do not support selecting on it.
    pub fn field(&self, path: &str) -> Option<String> {
        let from_unmodeled = |map: &super::meta::Unmodeled, key: &str| {
            map.get(key)
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        Some(match path {
            "metadata.name" => self.metadata.name.to_string(),
            "metadata.namespace" => self.metadata.namespace.to_string(),
            "spec.nodeName" => self.spec.node_name.to_string(),
            "spec.restartPolicy" => from_unmodeled(&self.spec.unmodeled, "restartPolicy"),
            "spec.schedulerName" => from_unmodeled(&self.spec.unmodeled, "schedulerName"),
            "spec.serviceAccountName" => from_unmodeled(&self.spec.unmodeled, "serviceAccountName"),
            "spec.hostNetwork" => {
                let v = from_unmodeled(&self.spec.unmodeled, "hostNetwork");
                if v.is_empty() { "false".into() } else { v }
            }
            "status.phase" => self.status.phase.to_string(),
            "status.podIP" => from_unmodeled(&self.status.unmodeled, "podIP"),
            "status.nominatedNodeName" => {
                from_unmodeled(&self.status.unmodeled, "nominatedNodeName")
            }
            _ => return None,
        })
    }
}
