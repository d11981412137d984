//! `policy/v1.PodDisruptionBudget`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Unmodeled;
use super::meta::{IntOrString, ObjectMeta, SmolStr};
use super::selector::LabelSelector;
use crate::time::Time;

/// `policy/v1.PodDisruptionBudget`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDisruptionBudget {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The budget.
    #[serde(default)]
    pub spec: PodDisruptionBudgetSpec,
    /// Written by the disruption controller and the eviction handler.
    #[serde(default)]
    pub status: PodDisruptionBudgetStatus,
}

super::status_first_equality!(PodDisruptionBudget);

/// `policy/v1.PodDisruptionBudgetSpec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDisruptionBudgetSpec {
    /// Pods that must stay available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrString>,
    /// `null` selects no pods; `{}` selects every pod in the namespace (E13, V1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Pods that may be unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// `IfHealthyBudget` (the default when unset) or `AlwaysAllow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_pod_eviction_policy: Option<String>,
    /// Unmodeled fields, verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

super::unmodeled::deserialize_keeping_unmodeled!(PodDisruptionBudgetSpec {
    "minAvailable" => min_available,
    "selector" => selector,
    "maxUnavailable" => max_unavailable,
    "unhealthyPodEvictionPolicy" => unhealthy_pod_eviction_policy,
});

/// `policy/v1.PodDisruptionBudgetStatus`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDisruptionBudgetStatus {
    /// The generation the controller last acted on.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub observed_generation: i64,
    /// Evicted pods not yet seen terminating by the controller: pod name → eviction time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disrupted_pods: Option<BTreeMap<SmolStr, Time>>,
    /// Evictions allowed now.
    #[serde(default)]
    pub disruptions_allowed: i64,
    /// Healthy selected pods.
    #[serde(default)]
    pub current_healthy: i64,
    /// Healthy pods required.
    #[serde(default)]
    pub desired_healthy: i64,
    /// Pods counted by the budget.
    #[serde(default)]
    pub expected_pods: i64,
    /// `DisruptionAllowed` and any other conditions, shared copy-on-write: the copy of a
    /// budget that an eviction charges keeps them without copying them.
    #[serde(default, skip_serializing_if = "<[Condition]>::is_empty")]
    pub conditions: super::SharedList<Condition>,
    /// Unmodeled fields, verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

super::unmodeled::deserialize_keeping_unmodeled!(PodDisruptionBudgetStatus {
    "observedGeneration" => observed_generation,
    "disruptedPods" => disrupted_pods,
    "disruptionsAllowed" => disruptions_allowed,
    "currentHealthy" => current_healthy,
    "desiredHealthy" => desired_healthy,
    "expectedPods" => expected_pods,
    "conditions" => conditions,
});

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `metav1.Condition` (every field but `observedGeneration` is always serialized).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition type.
    #[serde(rename = "type", default)]
    pub type_: SmolStr,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: SmolStr,
    /// The generation the condition was set for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub observed_generation: i64,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase reason.
    #[serde(default)]
    pub reason: SmolStr,
    /// A human-readable message.
    #[serde(default)]
    pub message: SmolStr,
}

/// The PDB condition type.
pub const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";
/// Reason when the controller fail-safed (C15).
pub const SYNC_FAILED: &str = "SyncFailed";
/// Reason when disruptions are allowed (C30).
pub const SUFFICIENT_PODS: &str = "SufficientPods";
/// Reason when no disruption is allowed (C30).
pub const INSUFFICIENT_PODS: &str = "InsufficientPods";
/// The unhealthy-pod policy that always lets unready pods go (E16).
pub const ALWAYS_ALLOW: &str = "AlwaysAllow";
/// The default unhealthy-pod policy (E17).
pub const IF_HEALTHY_BUDGET: &str = "IfHealthyBudget";
/// More entries than this in `disruptedPods` make evictions fail (E21.3).
pub const MAX_DISRUPTED_POD_SIZE: usize = 2000;

impl PodDisruptionBudgetStatus {
    /// Sets a condition with `meta.SetStatusCondition`'s merge rule (C30): a new condition
    /// gets `now`; an existing one keeps its `lastTransitionTime` unless its status flips;
    /// reason, message and observedGeneration are overwritten.
    pub fn set_condition(&mut self, mut condition: Condition, now: Time) {
        match self
            .conditions
            .iter()
            .position(|c| c.type_ == condition.type_)
        {
            Some(at) => {
                let existing = &self.conditions[at];
                condition.last_transition_time = if existing.status == condition.status {
                    existing.last_transition_time
                } else {
                    Some(now)
                };
                // Compared before written: a list another copy shares is copied only to
                // change it.
                if *existing != condition {
                    self.conditions[at] = condition;
                }
            }
            None => {
                condition.last_transition_time = Some(now);
                // A list made to its size: a budget has one or two conditions.
                self.conditions.push(condition);
            }
        }
    }

    /// Upstream's `UpdateDisruptionAllowedCondition` (C30).
    pub fn update_disruption_allowed_condition(&mut self, now: Time) {
        let (status, reason) = if self.disruptions_allowed > 0 {
            ("True", SUFFICIENT_PODS)
        } else {
            ("False", INSUFFICIENT_PODS)
        };
        // Most status writes change a count and leave the condition as it was: answered by
        // comparing the stored one's fields, without building the condition to compare
        // and drop (the merge keeps `lastTransitionTime` when the status is unchanged).
        if let Some(existing) = self.condition(DISRUPTION_ALLOWED)
            && existing.status == status
            && existing.reason == reason
            && existing.message.is_empty()
            && existing.observed_generation == self.observed_generation
        {
            return;
        }
        // Static texts: every sync that writes a status builds this condition.
        let condition = Condition {
            type_: SmolStr::new_static(DISRUPTION_ALLOWED),
            status: SmolStr::new_static(status),
            observed_generation: self.observed_generation,
            last_transition_time: None,
            reason: SmolStr::new_static(reason),
            message: SmolStr::default(),
        };
        self.set_condition(condition, now);
    }

    /// The condition of `type_`, if present.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C30's merge, step by step: the condition follows the status, the reason, the
    /// observed generation and an emptied message, and its `lastTransitionTime` moves only
    /// when the status flips.
    #[test]
    fn the_disruption_allowed_condition_follows_each_field() {
        let at = |s: i64| Time::from_unix_seconds(1_700_000_000 + s).unwrap();
        let condition = |status: &PodDisruptionBudgetStatus| {
            let c = status.condition(DISRUPTION_ALLOWED).unwrap().clone();
            let when = c.last_transition_time.unwrap();
            (c.status, c.reason, c.message, c.observed_generation, when)
        };
        let mut status = PodDisruptionBudgetStatus {
            disruptions_allowed: 1,
            observed_generation: 1,
            ..Default::default()
        };
        status.update_disruption_allowed_condition(at(1));
        let allowed = |g, when| {
            (
                "True".into(),
                SUFFICIENT_PODS.into(),
                SmolStr::default(),
                g,
                when,
            )
        };
        assert_eq!(condition(&status), allowed(1, at(1)));
        status.update_disruption_allowed_condition(at(2));
        assert_eq!(condition(&status), allowed(1, at(1)), "nothing changed");
        status.observed_generation = 2;
        status.update_disruption_allowed_condition(at(3));
        assert_eq!(
            condition(&status),
            allowed(2, at(1)),
            "the generation followed"
        );
        status.disruptions_allowed = 0;
        status.update_disruption_allowed_condition(at(4));
        let refused = |when, message: &str| {
            (
                "False".into(),
                INSUFFICIENT_PODS.into(),
                message.into(),
                2,
                when,
            )
        };
        assert_eq!(condition(&status), refused(at(4), ""), "the status flipped");
        // Conditions this controller does not write (a fail-safe's, C15, or one loaded as
        // given), each a field away from the one it writes: each is rewritten, keeping its
        // `lastTransitionTime` when the status is the same.
        for (given_status, reason, message) in [
            ("True", INSUFFICIENT_PODS, ""),
            ("False", SYNC_FAILED, ""),
            ("False", INSUFFICIENT_PODS, "no scale"),
        ] {
            set_as_given(&mut status, given_status, reason, message, at(6));
            status.update_disruption_allowed_condition(at(7));
            let when = if given_status == "False" {
                at(6)
            } else {
                at(7)
            };
            assert_eq!(
                condition(&status),
                refused(when, ""),
                "{given_status} {reason} {message:?}"
            );
        }
    }

    fn set_as_given(
        status: &mut PodDisruptionBudgetStatus,
        given_status: &str,
        reason: &str,
        message: &str,
        at: Time,
    ) {
        let observed_generation = status.observed_generation;
        status.conditions = vec![Condition {
            type_: DISRUPTION_ALLOWED.into(),
            status: given_status.into(),
            observed_generation,
            last_transition_time: Some(at),
            reason: reason.into(),
            message: message.into(),
        }]
        .into();
    }
}
