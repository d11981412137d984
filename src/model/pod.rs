//! `v1.Pod`, with the fields eviction, deletion and the controllers read typed.

use serde::{Deserialize, Serialize};

use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::num::NonZeroU32;

use super::meta::{ObjectMeta, SmolStr};
use super::shared_list::SharedList;
use super::short_text::same;
use super::{RawJson, Unmodeled};
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
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
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

super::unmodeled::deserialize_keeping_unmodeled!(PodSpec {
    "nodeName" => node_name,
    "terminationGracePeriodSeconds" => termination_grace_period_seconds,
});

/// `v1.PodStatus`: the fields read here, the rest kept.
///
/// Written as the API writes it: `phase`, `conditions`, then the other fields in the order
/// they came, with `containerStatuses` and the simulated kubelet's [`StartStamp`] in their
/// places among them by the order of upstream's `PodStatus`: `containerStatuses` before
/// `qosClass` and the fields after it, the stamp's `podIP`, `podIPs` and `startTime`
/// before those and `initContainerStatuses`.
///
/// Equality is equality of what is written, whichever of the two forms holds `podIP`,
/// `podIPs` and `startTime`: a status decoded from a started pod's JSON holds them
/// verbatim, and equals the stamped one it was read from.
#[derive(Debug, Clone, Default)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`, or empty.
    pub phase: SmolStr,
    /// Pod conditions (`Ready`, `DisruptionTarget`, …), shared copy-on-write: the pods a
    /// controller starts together report the very same list.
    pub conditions: PodConditions,
    /// `containerStatuses`, verbatim (`null` reads as none, as upstream's decoder gives an
    /// empty list that it then omits). Shared: the kubelets report the very same statuses
    /// for the many pods of one template that start or stop in the same second, and a pod
    /// written again keeps them without copying.
    pub container_statuses: Option<RawJson>,
    /// Everything else, verbatim.
    pub unmodeled: Unmodeled,
    /// What the simulated kubelet added when it started the pod and the status had no such
    /// fields. Decoding never fills it: a decoded status keeps all its fields in
    /// `unmodeled`. Read the address with [`PodStatus::pod_ip`], which looks in both.
    pub start_stamp: StartStamp,
}

super::unmodeled::deserialize_keeping_unmodeled!(PodStatus {
    "phase" => phase,
    "conditions" => conditions,
    "containerStatuses" => container_statuses,
});

/// The `podIP`, `podIPs` and `startTime` that the simulated kubelet adds to a pod's status
/// when it starts the pod's containers, held as two numbers: as JSON they would be a dozen
/// separate allocations per started pod (three field names, the address twice, the list,
/// its object and field name, the time's text, the map that holds them), the largest share
/// of what a rolling replacement allocates. Written, and compared, as the JSON fields
/// `"podIP":"10.244.0.7","podIPs":[{"ip":"10.244.0.7"}],"startTime":"…"` they stand for,
/// in that order, where upstream's `PodStatus` declares them (see [`PodStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StartStamp {
    /// The IPv4 address, as its 32 bits (the simulated addresses are never 0.0.0.0).
    ip: Option<NonZeroU32>,
    /// The start, in seconds since the epoch (the stamp is not used for a start at the
    /// epoch itself or after 2106).
    start: Option<NonZeroU32>,
}

impl StartStamp {
    /// `podIP` (and the one entry of `podIPs`), if stamped.
    pub fn pod_ip(&self) -> Option<Ipv4Addr> {
        self.ip.map(|bits| Ipv4Addr::from(bits.get()))
    }

    /// `startTime`, if stamped.
    pub fn start_time(&self) -> Option<Time> {
        self.start
            .and_then(|seconds| Time::from_unix_seconds(i64::from(seconds.get())).ok())
    }

    /// Whether nothing is stamped.
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.start.is_none()
    }

    /// The stamped fields as the JSON fields they stand for, in their order.
    fn fields<'a>(&self) -> impl Iterator<Item = (&'a str, StatusField<'a>)> + use<'a> {
        let ip = self.pod_ip();
        let start = self.start_time();
        [
            ip.map(|ip| ("podIP", StatusField::PodIp(ip))),
            ip.map(|ip| ("podIPs", StatusField::PodIps(ip))),
            start.map(|time| ("startTime", StatusField::StartTime(time))),
        ]
        .into_iter()
        .flatten()
    }
}

/// One of a status's fields after `phase` and `conditions`: verbatim JSON, or a field of
/// the [`StartStamp`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum StatusField<'a> {
    /// A field kept as it came (or `containerStatuses`): its JSON text.
    Verbatim(&'a str),
    /// `podIP`: the address as a string.
    PodIp(Ipv4Addr),
    /// `podIPs`: `[{"ip": <the address>}]`.
    PodIps(Ipv4Addr),
    /// `startTime`.
    StartTime(Time),
}

impl StatusField<'_> {
    /// The field as a JSON value.
    fn to_value(self) -> serde_json::Value {
        match self {
            StatusField::Verbatim(text) => super::unmodeled::parse(text),
            StatusField::PodIp(ip) => serde_json::Value::String(ip.to_string()),
            StatusField::PodIps(ip) => serde_json::json!([{ "ip": ip.to_string() }]),
            StatusField::StartTime(time) => serde_json::json!(time),
        }
    }
}

impl Serialize for StatusField<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            StatusField::Verbatim(text) => super::unmodeled::RawField(text).serialize(serializer),
            StatusField::PodIp(ip) => serializer.collect_str(ip),
            StatusField::PodIps(ip) => {
                struct Address(Ipv4Addr);
                impl Serialize for Address {
                    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        let mut map = s.serialize_map(Some(1))?;
                        map.serialize_entry("ip", &format_args!("{}", self.0))?;
                        map.end()
                    }
                }
                let mut list = serializer.serialize_seq(Some(1))?;
                list.serialize_element(&Address(*ip))?;
                list.end()
            }
            StatusField::StartTime(time) => time.serialize(serializer),
        }
    }
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
    /// the verbatim ones with `containerStatuses` and the start stamp's in their places.
    pub(crate) fn other_fields(&self) -> impl Iterator<Item = (Cow<'_, str>, StatusField<'_>)> {
        let mut statuses = self.container_statuses.as_ref().map(RawJson::text);
        // A field the status also holds verbatim (put there through `unmodeled` after the
        // start) is written once, as it is there.
        let verbatim = &self.unmodeled;
        let mut stamped = Some(
            self.start_stamp
                .fields()
                .filter(move |(name, _)| !verbatim.contains_key(name))
                .map(|(name, field)| (Cow::Borrowed(name), field)),
        )
        .filter(|_| !self.start_stamp.is_empty());
        let mut fields = self.unmodeled.iter_raw().peekable();
        std::iter::from_fn(move || {
            let next = fields.peek().map(|(name, _)| &**name);
            if let Some(stamp) = &mut stamped
                && next.is_none_or(|name| {
                    name == "initContainerStatuses" || AFTER_CONTAINER_STATUSES.contains(&name)
                })
            {
                match stamp.next() {
                    Some(field) => return Some(field),
                    None => stamped = None,
                }
            }
            if let Some(value) = statuses
                && next.is_none_or(|name| AFTER_CONTAINER_STATUSES.contains(&name))
            {
                statuses = None;
                return Some((
                    Cow::Borrowed("containerStatuses"),
                    StatusField::Verbatim(value),
                ));
            }
            fields
                .next()
                .map(|(name, value)| (name, StatusField::Verbatim(value)))
        })
    }

    /// `podIP`, wherever the status holds it (empty text counts as none).
    pub fn pod_ip(&self) -> Option<Cow<'_, str>> {
        match self.unmodeled.raw("podIP") {
            Some(text) => super::json_string(text).filter(|ip| !ip.is_empty()),
            None => self.start_stamp.pod_ip().map(|ip| ip.to_string().into()),
        }
    }

    /// Whether the status has a `podIP` field at all, in either form.
    pub(crate) fn has_pod_ip_field(&self) -> bool {
        self.start_stamp.ip.is_some() || self.unmodeled.contains_key("podIP")
    }

    /// Whether the status's `startTime` is `time`, in either form.
    pub(crate) fn started_at(&self, time: Time) -> bool {
        match self.unmodeled.raw("startTime") {
            Some(text) => serde_json::from_str::<serde_json::Value>(text)
                .is_ok_and(|value| value == serde_json::json!(time)),
            None => self.start_stamp.start_time() == Some(time),
        }
    }

    /// Records what the kubelet writes when it starts the pod: `ip` as `podIP` and `podIPs`
    /// (given only when the status has no `podIP`) and `start` as `startTime`, into the
    /// [`StartStamp`]. A start the status holds verbatim is changed where it is, and one
    /// the stamp cannot hold goes to the end of the verbatim fields, the address with it:
    /// what the kubelet wrote before there was a stamp.
    pub(crate) fn record_start(&mut self, ip: Option<Ipv4Addr>, start: Option<Time>) {
        if let Some(ip) = ip {
            match NonZeroU32::new(u32::from(ip)) {
                Some(bits) => self.start_stamp.ip = Some(bits),
                None => self.insert_verbatim_address(ip),
            }
        }
        if let Some(time) = start {
            let seconds = u32::try_from(time.unix_seconds())
                .ok()
                .and_then(NonZeroU32::new)
                .filter(|_| !self.unmodeled.contains_key("startTime"));
            match seconds {
                Some(seconds) => self.start_stamp.start = Some(seconds),
                None => {
                    // Verbatim, after the stamp's address if it holds one: where the
                    // kubelet's additions go when they cannot all be stamped.
                    if let Some(ip) = self.start_stamp.pod_ip() {
                        self.insert_verbatim_address(ip);
                    }
                    self.start_stamp = StartStamp::default();
                    self.unmodeled
                        .insert("startTime".into(), StatusField::StartTime(time).to_value());
                }
            }
        }
    }

    /// `podIP` and `podIPs` for `ip`, added verbatim (at the end, as any new field).
    fn insert_verbatim_address(&mut self, ip: Ipv4Addr) {
        self.unmodeled.edit(|fields| {
            fields.insert("podIP".into(), StatusField::PodIp(ip).to_value());
            fields.insert("podIPs".into(), StatusField::PodIps(ip).to_value());
        });
    }

    /// The fields after `phase`, `conditions` and `containerStatuses` as one JSON map: the
    /// verbatim ones with the stamped ones added.
    fn verbatim_with_stamp(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = self.unmodeled.to_map();
        for (name, field) in self.start_stamp.fields() {
            fields.entry(name).or_insert_with(|| field.to_value());
        }
        fields
    }
}

impl PartialEq for PodStatus {
    fn eq(&self, other: &Self) -> bool {
        let same_other_fields = if self.start_stamp == other.start_stamp {
            self.unmodeled == other.unmodeled
        } else {
            // The same JSON held in the two forms: a stored pod the kubelet started, and a
            // client's copy of it decoded from what it read.
            self.verbatim_with_stamp() == other.verbatim_with_stamp()
        };
        self.phase == other.phase
            && self.conditions == other.conditions
            && self.container_statuses == other.container_statuses
            && same_other_fields
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
            map.serialize_entry(&name, &value)?;
        }
        map.end()
    }
}

/// A pod's conditions, shared copy-on-write ([`SharedList`]): the pods of one workload that
/// the kubelets start in the same second carry equal conditions, and a cluster's Running pods
/// mostly carry one of a handful of lists, of which the store keeps one copy each.
pub type PodConditions = SharedList<PodCondition>;

/// A pod's conditions while they are worked on, on the stack: a pod has at most six or so.
pub(crate) type ConditionsOnStack = smallvec::SmallVec<[PodCondition; 8]>;

/// Where a condition of a merged list ([`merge_conditions`]) comes from: the existing
/// list's condition at an index, kept, or the one set at an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merged {
    /// `existing[i]`, unchanged.
    Kept(usize),
    /// `conditions[i]`, with the times the rule gave it.
    Set(usize),
}

/// The list `existing` becomes with each of `conditions` set in turn by upstream's
/// `UpdatePodCondition` rule (E31): the `lastTransitionTime` is kept when the status is
/// unchanged, else set to `now`; other fields are overwritten; a new type goes at the end.
/// Told as where each of the list's conditions comes from, so that a caller can look the
/// list up among the stored ones without making it; `conditions` get the transition (and
/// probe) times the rule gives them. `None` when nothing would change.
pub(crate) fn merge_conditions<const N: usize>(
    existing: &[PodCondition],
    conditions: &mut [PodCondition; N],
    now: Time,
) -> Option<smallvec::SmallVec<[Merged; 8]>> {
    let mut merged: smallvec::SmallVec<[Merged; 8]> =
        (0..existing.len()).map(Merged::Kept).collect();
    let mut changed = false;
    for set in 0..N {
        let (earlier, rest) = conditions.split_at_mut(set);
        let condition = &mut rest[0];
        let of = |from: &Merged| match *from {
            Merged::Kept(at) => &existing[at],
            Merged::Set(at) => &earlier[at],
        };
        // A condition set in place of another has its type: the types of the list's first
        // `existing.len()` conditions are those of `existing`, and only the appended ones
        // need resolving.
        let position = existing
            .iter()
            .position(|c| c.type_ == condition.type_)
            .or_else(|| {
                let appended = &merged[existing.len()..];
                let at = appended
                    .iter()
                    .position(|from| of(from).type_ == condition.type_)?;
                Some(existing.len() + at)
            });
        match position {
            Some(at) => {
                let old = of(&merged[at]);
                condition.last_transition_time = if old.status == condition.status {
                    old.last_transition_time
                } else {
                    Some(now)
                };
                if condition.last_probe_time.is_none() {
                    condition.last_probe_time = old.last_probe_time.clone();
                }
                if old != condition {
                    merged[at] = Merged::Set(set);
                    changed = true;
                }
            }
            None => {
                condition.last_transition_time = Some(now);
                merged.push(Merged::Set(set));
                changed = true;
            }
        }
    }
    changed.then_some(merged)
}

/// `existing` with each of `conditions` set in turn ([`merge_conditions`]), made on the
/// stack. `None` when nothing would change.
pub(crate) fn conditions_set<const N: usize>(
    existing: &[PodCondition],
    mut conditions: [PodCondition; N],
    now: Time,
) -> Option<ConditionsOnStack> {
    let merged = merge_conditions(existing, &mut conditions, now)?;
    Some(merged_list(existing, &mut conditions, &merged).collect())
}

/// The conditions of the list `merged` tells of ([`merge_conditions`]), in order: copies of
/// the kept ones, the set ones moved out of `conditions`.
pub(crate) fn merged_list<'a>(
    existing: &'a [PodCondition],
    conditions: &'a mut [PodCondition],
    merged: &'a [Merged],
) -> impl ExactSizeIterator<Item = PodCondition> + 'a {
    merged.iter().map(move |from| match *from {
        Merged::Kept(at) => existing[at].clone(),
        Merged::Set(at) => std::mem::take(&mut conditions[at]),
    })
}

/// `v1.PodCondition`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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

impl PartialEq for PodCondition {
    /// Field by field, the transition time first: the conditions of one type that differ
    /// mostly differ there (the list lookups of shared conditions compare many).
    fn eq(&self, other: &Self) -> bool {
        // Destructured, so that a field added to the type is not left out here.
        let PodCondition {
            type_,
            status,
            observed_generation,
            last_probe_time,
            last_transition_time,
            reason,
            message,
        } = self;
        // The texts are short: compared without a call to `memcmp` each.
        *last_transition_time == other.last_transition_time
            && same(status, &other.status)
            && same(type_, &other.type_)
            && same(reason, &other.reason)
            && same(message, &other.message)
            && *observed_generation == other.observed_generation
            && *last_probe_time == other.last_probe_time
    }
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
    pub fn set_condition(&mut self, condition: PodCondition, now: Time) -> bool {
        self.set_conditions([condition], now)
    }

    /// Sets each of `conditions` (of distinct types) as [`set_condition`](Self::set_condition)
    /// would one after the other, making the new list once. Returns whether anything changed.
    pub fn set_conditions<const N: usize>(
        &mut self,
        conditions: [PodCondition; N],
        now: Time,
    ) -> bool {
        match conditions_set(&self.status.conditions, conditions, now) {
            Some(list) => {
                self.status.conditions = PodConditions::from_exact(list);
                true
            }
            None => false,
        }
    }

    /// The value of a field-selector field (`metadata.name`, `spec.nodeName`,
    /// `status.phase`, …) or `None` if pods do not support selecting on it.
    pub fn field(&self, path: &str) -> Option<String> {
        let from_unmodeled = |fields: &super::Unmodeled, key: &str| {
            fields
                .raw(key)
                .map(|text| match super::json_string(text) {
                    Some(string) => string.into_owned(),
                    None => text.to_owned(),
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
            "status.podIP" => match self.status.unmodeled.raw("podIP") {
                Some(_) => from_unmodeled(&self.status.unmodeled, "podIP"),
                None => self
                    .status
                    .start_stamp
                    .pod_ip()
                    .map(|ip| ip.to_string())
                    .unwrap_or_default(),
            },
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

    /// E31: two conditions of one type set at once act as two `set_condition`s in turn:
    /// the second sets the first's slot, whether the type was there before or not.
    #[test]
    fn set_conditions_of_one_type_twice_is_set_condition_twice() {
        use super::PodCondition;
        use crate::time::Time;
        let (before, now) = (
            Time::parse("2025-01-01T00:00:00Z").unwrap(),
            Time::parse("2025-01-01T00:01:00Z").unwrap(),
        );
        let condition = |type_: &str, status: &str| PodCondition {
            type_: type_.into(),
            status: status.into(),
            ..PodCondition::default()
        };
        for had_it in [false, true] {
            let mut start = Pod::running("default", "web-0", "node-1");
            start.set_conditions([condition("Ready", "True")], before);
            if had_it {
                start.set_conditions([condition("A", "True")], before);
            }
            let mut at_once = start.clone();
            at_once.set_conditions([condition("A", "False"), condition("A", "True")], now);
            let mut in_turn = start.clone();
            in_turn.set_condition(condition("A", "False"), now);
            in_turn.set_condition(condition("A", "True"), now);
            assert_eq!(at_once.status.conditions[..], in_turn.status.conditions[..]);
            assert_eq!(at_once.status.conditions.len(), 2, "one A");
        }
    }

    /// E31: `set_conditions` gives what `UpdatePodCondition` applied to each condition in
    /// turn gives (the rule as written before lists were shared, kept here as the
    /// reference), for every list of up to three conditions in two orders and every batch of
    /// up to two (one replacing, one added), and changes nothing, not even the list's
    /// address, when nothing changes.
    #[test]
    fn set_conditions_is_set_condition_in_turn() {
        use super::{PodCondition, PodConditions};
        use crate::time::Time;
        let (before, now) = (
            Time::parse("2025-01-01T00:00:00Z").unwrap(),
            Time::parse("2025-01-01T00:01:00Z").unwrap(),
        );
        let condition = |type_: &str, status: &str, reason: &str| PodCondition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            last_transition_time: Some(before),
            ..PodCondition::default()
        };
        let reference = |list: &mut Vec<PodCondition>, mut c: PodCondition| -> bool {
            match list.iter_mut().find(|e| e.type_ == c.type_) {
                Some(existing) => {
                    c.last_transition_time = if existing.status == c.status {
                        existing.last_transition_time
                    } else {
                        Some(now)
                    };
                    if c.last_probe_time.is_none() {
                        c.last_probe_time = existing.last_probe_time.clone();
                    }
                    let changed = *existing != c;
                    *existing = c;
                    changed
                }
                None => {
                    c.last_transition_time = Some(now);
                    list.push(c);
                    true
                }
            }
        };
        // Each type absent, True or False; with a reason or without.
        let states = [
            None,
            Some(("True", "")),
            Some(("False", "")),
            Some(("True", "R")),
        ];
        let mut cases = 0;
        for order in [["A", "B", "C"], ["C", "A", "B"]] {
            for a in states {
                for b in states {
                    for c in states {
                        let start: Vec<PodCondition> = order
                            .iter()
                            .zip([a, b, c])
                            .filter_map(|(t, s)| s.map(|(st, r)| condition(t, st, r)))
                            .collect();
                        for x in states {
                            for y in states {
                                let batch: Vec<PodCondition> = [("B", x), ("D", y)]
                                    .into_iter()
                                    .filter_map(|(t, s)| s.map(|(st, r)| condition(t, st, r)))
                                    .collect();
                                let mut expected = start.clone();
                                let mut expected_changed = false;
                                for c in batch.clone() {
                                    expected_changed |= reference(&mut expected, c);
                                }
                                let mut pod = Pod::default();
                                pod.status.conditions = PodConditions::from(start.clone());
                                let address = pod.status.conditions.address();
                                let changed = match batch.as_slice() {
                                    [] => pod.set_conditions([], now),
                                    [one] => pod.set_condition(one.clone(), now),
                                    [one, two] => {
                                        pod.set_conditions([one.clone(), two.clone()], now)
                                    }
                                    _ => unreachable!(),
                                };
                                assert_eq!(changed, expected_changed, "{start:?} + {batch:?}");
                                assert_eq!(
                                    *pod.status.conditions, *expected,
                                    "{start:?} + {batch:?}"
                                );
                                if !changed {
                                    assert_eq!(pod.status.conditions.address(), address);
                                }
                                cases += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 2 * 64 * 16);
    }

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

    fn started(status: serde_json::Value) -> super::PodStatus {
        let mut status: super::PodStatus = serde_json::from_value(status).unwrap();
        let start = crate::time::Time::parse("2025-01-01T00:00:07Z").unwrap();
        status.record_start(Some(std::net::Ipv4Addr::new(10, 244, 0, 7)), Some(start));
        status
    }

    /// The stamp is written where upstream's `PodStatus` declares its fields (after
    /// `hostIP`, before `initContainerStatuses`, `containerStatuses` and `qosClass`), in
    /// the JSON the same fields held verbatim make, and reads back equal to the stamped
    /// status.
    #[test]
    fn the_start_stamp_takes_its_upstream_place() {
        let stamp = r#""podIP":"10.244.0.7","podIPs":[{"ip":"10.244.0.7"}],"startTime":"2025-01-01T00:00:07Z""#;
        for (before, after) in [
            (json!({}), format!("{{{stamp}}}")),
            (
                json!({"hostIP": "10.0.0.1", "qosClass": "BestEffort", "x": 1}),
                format!(r#"{{"hostIP":"10.0.0.1",{stamp},"qosClass":"BestEffort","x":1}}"#),
            ),
            (
                json!({"containerStatuses": [], "initContainerStatuses": []}),
                format!(r#"{{{stamp},"initContainerStatuses":[],"containerStatuses":[]}}"#),
            ),
        ] {
            let status = started(before);
            assert!(
                !status.unmodeled.contains_key("podIP"),
                "stamped, not verbatim"
            );
            let text = serde_json::to_string(&status).unwrap();
            assert_eq!(text, after);
            let pod: Pod = serde_json::from_value(json!({"status": status})).unwrap();
            assert_eq!(serde_json::to_string(&pod.status).unwrap(), after);
            assert!(pod.status.start_stamp.is_empty());
            assert_eq!(pod.status, status, "the two forms of one JSON are equal");
            assert_eq!(status, pod.status);
            let mut other = pod.status.clone();
            other.unmodeled.insert("podIP".into(), json!("10.244.0.8"));
            assert_ne!(other, status);
            assert_eq!(status.pod_ip().as_deref(), Some("10.244.0.7"));
            assert_eq!(pod.status.pod_ip().as_deref(), Some("10.244.0.7"));
        }
        // A field set verbatim after the start is written once, as set.
        let mut status = started(json!({}));
        status.unmodeled.insert("podIP".into(), json!("10.0.0.9"));
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            r#"{"podIP":"10.0.0.9","podIPs":[{"ip":"10.244.0.7"}],"startTime":"2025-01-01T00:00:07Z"}"#
        );
        assert_eq!(status.pod_ip().as_deref(), Some("10.0.0.9"));
        let back: super::PodStatus =
            serde_json::from_str(&serde_json::to_string(&status).unwrap()).unwrap();
        assert_eq!(back, status);
    }

    /// A start the status already holds verbatim is changed in place, and one the stamp
    /// cannot hold (before 1970 or after 2106) goes to the end of the verbatim fields; the
    /// address then goes verbatim too, before it: the JSON is the one the kubelet wrote
    /// before there was a stamp.
    #[test]
    fn a_verbatim_start_time_is_changed_where_it_is() {
        let status = started(json!({"startTime": "2020-01-01T00:00:00Z", "qosClass": "Burstable"}));
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            r#"{"startTime":"2025-01-01T00:00:07Z","qosClass":"Burstable","podIP":"10.244.0.7","podIPs":[{"ip":"10.244.0.7"}]}"#
        );
        assert!(status.started_at(crate::time::Time::parse("2025-01-01T00:00:07Z").unwrap()));
        assert!(status.has_pod_ip_field());
        // A start before the epoch, which the stamp cannot hold, goes to the end verbatim.
        let mut status = started(json!({}));
        let long_ago = crate::time::Time::parse("1960-01-01T00:00:00Z").unwrap();
        status.record_start(None, Some(long_ago));
        assert_eq!(status.start_stamp.start_time(), None);
        assert!(status.started_at(long_ago));
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            r#"{"podIP":"10.244.0.7","podIPs":[{"ip":"10.244.0.7"}],"startTime":"1960-01-01T00:00:00Z"}"#
        );
    }
}
