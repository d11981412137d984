//! `v1.Pod`, with the fields eviction, deletion and the controllers read typed.

use serde::{Deserialize, Serialize};

use super::meta::{ObjectMeta, SmolStr, Unmodeled};
use crate::time::Time;

/// `v1.Pod`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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

super::status_first_equality!(Pod);

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
///
/// Written as the API writes it: `phase`, `conditions`, then the other fields in the order
/// they came, with `containerStatuses` in its place among them by the order of upstream's
/// `PodStatus` (before `qosClass` and the fields after it).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`, or empty.
    #[serde(default)]
    pub phase: SmolStr,
    /// Pod conditions (`Ready`, `DisruptionTarget`, …).
    #[serde(default)]
    pub conditions: Vec<PodCondition>,
    /// `containerStatuses`, verbatim (`null` reads as none, as upstream's decoder gives an
    /// empty list that it then omits). Shared: the kubelets report the very same statuses
    /// for the many pods of one template that start or stop in the same second, and a pod
    /// written again keeps them without copying.
    #[serde(default)]
    pub container_statuses: Option<std::sync::Arc<serde_json::Value>>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

/// The fields upstream's `PodStatus` declares after `containerStatuses`, which the API
/// therefore writes after it.
const AFTER_CONTAINER_STATUSES: [&str; 9] = [
    "qosClass",
    "ephemeralContainerStatuses",
    "resize",
    "resourceClaimStatuses",
    "extendedResourceClaimStatus",
    "allocatedResources",
    "resources",
    "nodeAllocatableResourceClaimStatuses",
    "volumeHealth",
];

impl PodStatus {
    /// The fields after the typed `phase` and `conditions`, in the order they are written:
    /// the verbatim ones with `containerStatuses` in its place.
    pub(crate) fn other_fields(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        let mut statuses = self.container_statuses.as_deref();
        let mut fields = self.unmodeled.iter().peekable();
        std::iter::from_fn(move || {
            if let Some(value) = statuses {
                let comes_first = fields
                    .peek()
                    .is_none_or(|(name, _)| AFTER_CONTAINER_STATUSES.contains(&name.as_str()));
                if comes_first {
                    statuses = None;
                    return Some(("containerStatuses", value));
                }
            }
            fields.next().map(|(name, value)| (name.as_str(), value))
        })
    }
}

impl Serialize for PodStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if !self.phase.is_empty() {
            map.serialize_entry("phase", &self.phase)?;
        }
        if !self.conditions.is_empty() {
            map.serialize_entry("conditions", &self.conditions)?;
        }
        for (name, value) in self.other_fields() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
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

#[cfg(test)]
mod tests {
    use super::Pod;
    use serde_json::json;

    fn status_text(status: serde_json::Value) -> String {
        let pod: Pod = serde_json::from_value(json!({"status": status})).unwrap();
        serde_json::to_string(&pod.status).unwrap()
    }

    /// `containerStatuses` is written where upstream's `PodStatus` declares it: a status
    /// in upstream's order reads back as it was; one in another order is written in
    /// upstream's; `null` is omitted, as upstream omits an empty list.
    #[test]
    fn container_statuses_take_their_upstream_place() {
        let upstream = r#"{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"hostIP":"10.0.0.1","podIP":"10.244.0.1","startTime":"2025-01-01T00:00:00Z","containerStatuses":[{"name":"app","ready":true}],"qosClass":"BestEffort"}"#;
        assert_eq!(
            status_text(serde_json::from_str(upstream).unwrap()),
            upstream
        );
        let at_end = r#"{"phase":"Running","podIP":"10.244.0.1","containerStatuses":[]}"#;
        assert_eq!(status_text(serde_json::from_str(at_end).unwrap()), at_end);
        assert_eq!(
            status_text(
                json!({"containerStatuses": [], "podIP": "10.244.0.1", "qosClass": "Burstable"})
            ),
            r#"{"podIP":"10.244.0.1","containerStatuses":[],"qosClass":"Burstable"}"#
        );
        assert_eq!(
            status_text(
                json!({"qosClass": "Burstable", "containerStatuses": [], "podIP": "10.244.0.1"})
            ),
            r#"{"containerStatuses":[],"qosClass":"Burstable","podIP":"10.244.0.1"}"#
        );
        assert_eq!(
            status_text(json!({"containerStatuses": null, "podIP": "x"})),
            r#"{"podIP":"x"}"#
        );
    }
}
