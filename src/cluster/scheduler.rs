//! The scheduler: which node an unscheduled pod goes to, and, when none will take it, why —
//! in the words of kube-scheduler's `FitError` (`pkg/scheduler/framework/types.go`).
//!
//! A node takes a pod when it passes kube-scheduler's filters (S1), in upstream's order, the
//! first failure deciding the node's reason: `NodeUnschedulable` (a cordoned node, unless
//! the pod tolerates `node.kubernetes.io/unschedulable:NoSchedule`), `TaintToleration`
//! (`NoSchedule`/`NoExecute` taints; a node that is not Ready carries the node lifecycle
//! controller's `node.kubernetes.io/not-ready` or `unreachable` taint even when the
//! snapshot does not list it), `NodeAffinity` (`nodeSelector` and the required node
//! affinity) and `NodeResourcesFit` (requests of cpu, memory and any other resource
//! against `status.allocatable`, and the pod count against `allocatable.pods`). Among the
//! nodes that pass, the one with the fewest pods wins, ties by name.
//!
//! Deliberate simplifications, documented in the README: no preemption (every pod is
//! treated as equal priority, so the message's preemption clause says no victims were
//! found); a node whose `allocatable` does not list a resource takes any request of it
//! (scenarios can leave out what they do not test; the pod limit then defaults to 110, the
//! kubelet's); pod affinity, topology spread, volumes and ports are not filters.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bit_set::BitSet;

use serde_json::Value;

use super::FastMap;
use super::pod_facts::PodFacts;
use super::shared_parts::PerSpec;
use super::store::Store;
use crate::model::{Node, Pod, SmolStr, Unmodeled, scanned};

/// Whether a pod counts towards its node's load: bound to it and not terminal.
fn counts(pod: &PodFacts) -> bool {
    !pod.node.is_empty() && !pod.terminal
}

/// Pods a node takes when its `status.allocatable.pods` does not say (the kubelet default).
pub const DEFAULT_MAX_PODS: usize = 110;

/// The taint a cordoned node behaves as if it had (`v1.TaintNodeUnschedulable`).
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// The taint the node lifecycle controller puts on a node whose Ready condition is False.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint the node lifecycle controller puts on a node whose Ready condition is Unknown.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// Amounts of resources by name, in thousandths of their unit (millicores for cpu,
/// millibytes for memory), so that every quantity compares exactly.
pub type Resources = BTreeMap<String, i128>;

/// Parses a Kubernetes quantity (`500m`, `2`, `1.5Gi`, `128974848`, `1e3`, `10k`) into
/// thousandths of its unit, rounded up as `Quantity.MilliValue` rounds. `None` when the
/// text is not a quantity.
///
/// # Examples
/// ```
/// use evictsim::cluster::scheduler::parse_quantity;
/// assert_eq!(parse_quantity("500m"), Some(500));
/// assert_eq!(parse_quantity("2"), Some(2_000));
/// assert_eq!(parse_quantity("1Ki"), Some(1_024_000));
/// assert_eq!(parse_quantity("1.5G"), Some(1_500_000_000_000));
/// assert_eq!(parse_quantity("lots"), None);
/// ```
pub fn parse_quantity(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    // The number as an integer mantissa over 10^scale.
    let mut mantissa: i128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(digit - b'0'))?;
    }
    let mut scale = i32::try_from(fraction.len()).ok()?;
    // The suffix: binary (Ki…Ei), decimal (m, k, M…E) or an exponent (e3, E-2).
    let mut binary_shift = 0u32;
    match suffix {
        "" => {}
        "Ki" => binary_shift = 10,
        "Mi" => binary_shift = 20,
        "Gi" => binary_shift = 30,
        "Ti" => binary_shift = 40,
        "Pi" => binary_shift = 50,
        "Ei" => binary_shift = 60,
        "n" => scale += 9,
        "u" => scale += 6,
        "m" => scale += 3,
        "k" => scale -= 3,
        "M" => scale -= 6,
        "G" => scale -= 9,
        "T" => scale -= 12,
        "P" => scale -= 15,
        "E" => scale -= 18,
        exponent => {
            let digits = exponent
                .strip_prefix('e')
                .or_else(|| exponent.strip_prefix('E'))?;
            let power: i32 = digits.parse().ok()?;
            if !(-30..=30).contains(&power) {
                return None;
            }
            scale -= power;
        }
    }
    // milli = ceil(mantissa · 2^shift · 1000 / 10^scale)
    let mut numerator = mantissa.checked_mul(1i128 << binary_shift)?;
    let mut scale = scale - 3;
    while scale < 0 {
        numerator = numerator.checked_mul(10)?;
        scale += 1;
    }
    let denominator = 10i128.checked_pow(u32::try_from(scale).ok()?)?;
    let milli = numerator / denominator + i128::from(numerator % denominator != 0);
    Some(if negative { -milli } else { milli })
}

fn add_resources(into: &mut Resources, from: &Resources) {
    for (name, amount) in from {
        let total = into.entry(name.clone()).or_insert(0);
        *total = total.saturating_add(*amount);
    }
}

/// A `requests` map (`{cpu: 500m, memory: 1Gi}`) in milli-units; what does not parse is
/// left out (validation refuses it on a real server).
fn requests_of(requests: Option<&Value>) -> Resources {
    requests
        .and_then(Value::as_object)
        .map(|requests| {
            requests
                .iter()
                .filter_map(|(name, q)| Some((name.clone(), parse_quantity(q.as_str()?)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn container_requests(container: &Value) -> Resources {
    requests_of(container.pointer("/resources/requests"))
}

/// S2: what a pod requests of its node, as kube-scheduler adds it up (`resourcehelper.PodRequests`):
/// the containers' requests and the restartable (sidecar) init containers', or an
/// ordinary init container's when that is more (plus the sidecars started before it), plus
/// the pod's `overhead`.
pub fn pod_requests(pod: &Pod) -> Resources {
    spec_requests(&pod.spec.unmodeled)
}

/// [`pod_requests`] of a pod whose spec's unmodeled fields are `spec`.
fn spec_requests(spec: &Unmodeled) -> Resources {
    let mut total = Resources::new();
    for container in spec
        .value("containers")
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add_resources(&mut total, &container_requests(container));
    }
    let mut sidecars = Resources::new();
    let mut init_peak = Resources::new();
    for init in spec
        .value("initContainers")
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let requests = container_requests(init);
        if init.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            add_resources(&mut total, &requests);
            add_resources(&mut sidecars, &requests);
        } else {
            let mut peak = sidecars.clone();
            add_resources(&mut peak, &requests);
            for (name, amount) in peak {
                let slot = init_peak.entry(name).or_insert(0);
                *slot = (*slot).max(amount);
            }
        }
    }
    for (name, amount) in init_peak {
        let slot = total.entry(name).or_insert(0);
        *slot = (*slot).max(amount);
    }
    if let Some(overhead) = spec.value("overhead") {
        add_resources(&mut total, &requests_of(Some(&overhead)));
    }
    total.retain(|_, amount| *amount != 0);
    total
}

/// A node taint (`spec.taints[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    /// The key.
    pub key: String,
    /// The value (often empty).
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// The taints that keep pods off `node` (S1, S3): its own `NoSchedule` and `NoExecute` taints, and
/// the not-ready/unreachable taint its Ready condition implies when the node does not list it
/// (the node lifecycle controller adds them within seconds on a real cluster).
pub fn blocking_taints(node: &Node) -> Vec<Taint> {
    let mut taints: Vec<Taint> = node
        .spec
        .unmodeled
        .value("taints")
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| Taint {
            key: str_field(t, "key").to_string(),
            value: str_field(t, "value").to_string(),
            effect: str_field(t, "effect").to_string(),
        })
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .collect();
    let implied = match ready_status(node) {
        "True" => None,
        "False" => Some(TAINT_NOT_READY),
        _ => Some(TAINT_UNREACHABLE),
    };
    if let Some(key) = implied
        && !taints.iter().any(|t| t.key == key)
    {
        taints.push(Taint {
            key: key.to_string(),
            value: String::new(),
            effect: "NoSchedule".to_string(),
        });
    }
    taints
}

/// The node's `Ready` condition's status: `True`, `False`, or `Unknown` for anything else.
fn ready_status(node: &Node) -> &'static str {
    let status = node
        .status
        .value("conditions")
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| scanned(c, "type").and_then(Value::as_str) == Some("Ready"))
        .and_then(|c| scanned(c, "status").and_then(Value::as_str))
        .map(|status| match status {
            "True" => "True",
            "False" => "False",
            _ => "Unknown",
        });
    status.unwrap_or("Unknown")
}

fn str_field<'a>(value: &'a Value, name: &str) -> &'a str {
    scanned(value, name).and_then(Value::as_str).unwrap_or("")
}

/// Whether one of `tolerations` tolerates `taint` (`v1.Toleration.ToleratesTaint`).
fn tolerates(tolerations: &[Value], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let effect = str_field(t, "effect");
        if !effect.is_empty() && effect != taint.effect {
            return false;
        }
        let key = str_field(t, "key");
        if !key.is_empty() && key != taint.key {
            return false;
        }
        match str_field(t, "operator") {
            "Exists" => true,
            "" | "Equal" => str_field(t, "value") == taint.value,
            _ => false,
        }
    })
}

/// S4: whether `node` satisfies one node selector requirement (`In`, `NotIn`, `Exists`,
/// `DoesNotExist`, `Gt`, `Lt`) on its labels, or on its `metadata.name` for a `matchFields`
/// requirement.
fn requirement_holds(requirement: &Value, value: Option<&str>) -> bool {
    let values: Vec<&str> = requirement
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match str_field(requirement, "operator") {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => value.is_none_or(|v| !values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        op @ ("Gt" | "Lt") => {
            let (Some(have), [bound]) = (value.and_then(|v| v.parse::<i64>().ok()), &values[..])
            else {
                return false;
            };
            let Ok(bound) = bound.parse::<i64>() else {
                return false;
            };
            if op == "Gt" {
                have > bound
            } else {
                have < bound
            }
        }
        _ => false,
    }
}

/// A pod's placement constraints, read once per scheduling attempt.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// What the pod requests.
    pub requests: Resources,
    node_selector: Vec<(String, String)>,
    affinity_terms: Option<Vec<Value>>,
    tolerations: Vec<Value>,
}

impl Placement {
    /// Reads `pod`'s requests, `nodeSelector`, required node affinity and tolerations.
    pub fn of(pod: &Pod) -> Placement {
        Self::of_spec(&pod.spec.unmodeled)
    }

    /// [`Placement::of`] a pod whose spec's unmodeled fields are `spec`: nothing else of the
    /// pod matters to it.
    fn of_spec(spec: &Unmodeled) -> Placement {
        Placement {
            requests: spec_requests(spec),
            node_selector: spec
                .value("nodeSelector")
                .as_ref()
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect(),
            affinity_terms: spec
                .value("affinity")
                .as_ref()
                .and_then(|a| {
                    a.pointer("/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
                })
                .and_then(Value::as_array)
                .cloned(),
            tolerations: match spec.value("tolerations") {
                Some(Value::Array(tolerations)) => tolerations,
                _ => Vec::new(),
            },
        }
    }

    fn tolerates_closed_nodes(&self) -> bool {
        !self.tolerations.is_empty()
    }

    fn matches_node(&self, node: &Node) -> bool {
        let labels = &node.metadata.labels;
        if !self
            .node_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
        {
            return false;
        }
        let Some(terms) = &self.affinity_terms else {
            return true;
        };
        // Terms are ORed; an empty term matches nothing; a term's requirements are ANDed.
        terms.iter().any(|term| {
            let expressions = term.get("matchExpressions").and_then(Value::as_array);
            let fields = term.get("matchFields").and_then(Value::as_array);
            let count = expressions.map_or(0, Vec::len) + fields.map_or(0, Vec::len);
            count > 0
                && expressions.into_iter().flatten().all(|r| {
                    requirement_holds(r, labels.get(str_field(r, "key")).map(String::as_str))
                })
                && fields.into_iter().flatten().all(|r| {
                    let name = (str_field(r, "key") == "metadata.name")
                        .then_some(node.metadata.name.as_str());
                    requirement_holds(r, name)
                })
        })
    }
}

/// Why a node does not take a pod: one of kube-scheduler's filter reasons.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unfit {
    /// `node(s) were unschedulable` (NodeUnschedulable).
    Cordoned,
    /// `node(s) had untolerated taint {key: value}` (TaintToleration).
    Taint(String, String),
    /// `node(s) didn't match Pod's node affinity/selector` (NodeAffinity).
    Affinity,
    /// `Too many pods` (NodeResourcesFit).
    TooManyPods,
    /// `Insufficient <resource>` (NodeResourcesFit).
    Insufficient(String),
}

impl Unfit {
    /// Whether preemption could help (NodeResourcesFit answers `Unschedulable`; the others
    /// `UnschedulableAndUnresolvable`).
    fn resolvable(&self) -> bool {
        matches!(self, Unfit::TooManyPods | Unfit::Insufficient(_))
    }
}

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unfit::Cordoned => f.write_str("node(s) were unschedulable"),
            Unfit::Taint(key, value) => {
                write!(f, "node(s) had untolerated taint {{{key}: {value}}}")
            }
            Unfit::Affinity => f.write_str("node(s) didn't match Pod's node affinity/selector"),
            Unfit::TooManyPods => f.write_str("Too many pods"),
            Unfit::Insufficient(resource) => write!(f, "Insufficient {resource}"),
        }
    }
}

/// Node load, indexed for placement: pods and requests per node, and the open nodes (Ready,
/// not cordoned, no blocking taint) ordered by load so that placing a pod rarely scans.
#[derive(Debug, Clone, Default)]
pub struct NodeLoad {
    /// Each node's count of pods and, when it is open, its pod limit and rank: one look-up
    /// for both, as a pod counted onto or off a node needs both (a node with no pods that is
    /// not open has no entry).
    nodes: FastMap<SmolStr, NodeState>,
    requested: FastMap<SmolStr, Resources>,
    /// The open nodes by name.
    open: BTreeSet<SmolStr>,
    /// The open nodes ordered by (pods, name), for placement.
    by_load: ByLoad,
    /// Pods' placements by their shared specs: every pod of a ReplicaSet asks the same.
    placements: PerSpec<Arc<Placement>>,
    /// Nodes that only pods with tolerations can use (cordoned, tainted or not Ready).
    closed: BTreeSet<SmolStr>,
}

/// What [`NodeLoad`] knows of one node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct NodeState {
    /// Pods counted on it (bound and not terminal).
    pods: usize,
    /// When it is open: its pod limit and its slot in [`ByLoad`] (meaningful while the
    /// slots are not stale).
    open: Option<(usize, usize)>,
}

/// The open nodes ordered by (pods, name): for each pod count, the set of nodes holding
/// that many, as bits, each node a bit at its slot, its place among the open nodes in name
/// order. A pod counted on or off a node (every bind, every pod that finishes) moves one
/// bit from a set to its neighbour's; a placement reads the sets from the fewest pods up,
/// each in slot order. A B-tree of (pods, name) took two walks down and a rebalancing for
/// each move (about 1,100 instructions, three moves per pod a roll evicts).
///
/// A node opening or closing (a cordon, a node going NotReady, a node loaded) leaves the
/// slots stale: they are dealt again, in one pass over the open nodes, when next needed.
/// Nodes open and close rarely next to the pods that come and go, and a cluster's nodes are
/// mostly loaded before its pods; dealing slots as each node opened would renumber every
/// node after it.
#[derive(Debug, Clone, Default)]
struct ByLoad {
    /// The node at each slot: the open nodes in name order when the slots were dealt.
    names: Vec<SmolStr>,
    /// The open nodes holding each pod count.
    by_count: Vec<Bucket>,
    /// Whether a node opened or closed since the slots were dealt.
    stale: bool,
}

/// The open nodes holding one pod count, by slot.
#[derive(Debug, Clone, Default)]
struct Bucket {
    /// How many: an empty bucket is skipped without reading its bits.
    members: usize,
    /// No block of `slots` before this one holds a slot. A placement reads the bucket of
    /// the fewest pods from its first slot, and a roll leaves a few nodes there, anywhere
    /// among thousands: the blocks before them are read once, not by every placement.
    first_block: usize,
    slots: BitSet<u64>,
}

impl ByLoad {
    /// The node at `slot` now holds `to` pods rather than `from`.
    fn moved(&mut self, slot: usize, from: usize, to: usize) {
        if let Some(bucket) = self.by_count.get_mut(from)
            && bucket.slots.remove(slot)
        {
            bucket.members -= 1;
        }
        self.file(slot, to);
    }

    /// Files the node at `slot` as holding `pods`.
    fn file(&mut self, slot: usize, pods: usize) {
        if self.by_count.len() <= pods {
            self.by_count.resize_with(pods + 1, Default::default);
        }
        let bucket = &mut self.by_count[pods];
        if bucket.slots.insert(slot) {
            bucket.members += 1;
            bucket.first_block = bucket.first_block.min(slot / 64);
        }
    }

    /// Moves each bucket's first block up to the first that holds a slot.
    fn skip_empty_blocks(&mut self) {
        for bucket in self.by_count.iter_mut().filter(|b| b.members > 0) {
            let blocks = bucket.slots.get_ref().storage();
            while blocks.get(bucket.first_block) == Some(&0) {
                bucket.first_block += 1;
            }
        }
    }

    /// The open nodes with their pod counts, the fewest pods first, ties by name.
    fn iter(&self) -> impl Iterator<Item = (usize, &str)> {
        debug_assert!(!self.stale, "the slots are dealt before they are read");
        self.by_count
            .iter()
            .enumerate()
            .filter(|(_, bucket)| bucket.members > 0)
            .flat_map(move |(pods, bucket)| {
                let blocks = bucket.slots.get_ref().storage();
                blocks
                    .iter()
                    .enumerate()
                    .skip(bucket.first_block)
                    .flat_map(|(at, &block)| {
                        let mut rest = block;
                        std::iter::from_fn(move || {
                            (rest != 0).then(|| {
                                let bit = rest.trailing_zeros() as usize;
                                rest &= rest - 1;
                                64 * at + bit
                            })
                        })
                    })
                    .map(move |slot| (pods, self.names[slot].as_str()))
            })
    }
}

fn max_pods(node: &Node) -> usize {
    node.status
        .value("allocatable")
        .as_ref()
        .and_then(|a| scanned(a, "pods"))
        .and_then(|p| match p {
            Value::String(s) => parse_quantity(s).and_then(|m| usize::try_from(m / 1000).ok()),
            Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
            _ => None,
        })
        .unwrap_or(DEFAULT_MAX_PODS)
}

fn allocatable(node: &Node) -> Resources {
    node.status
        .value("allocatable")
        .as_ref()
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.as_str() != "pods")
        .filter_map(|(name, q)| {
            let milli = match q {
                Value::String(s) => parse_quantity(s)?,
                Value::Number(n) => i128::from(n.as_i64()?).checked_mul(1000)?,
                _ => return None,
            };
            Some((name.clone(), milli))
        })
        .collect()
}

impl NodeLoad {
    /// One pod more (`up`) or fewer on `node`, with one look-up of its count (every bind and
    /// every pod that finishes runs this).
    fn shift_count(&mut self, node: &str, up: bool) {
        let (old, count, open) = match self.nodes.get_mut(node) {
            Some(state) => {
                let old = state.pods;
                state.pods = if up { old + 1 } else { old.saturating_sub(1) };
                let shifted = (old, state.pods, state.open);
                if *state == NodeState::default() {
                    self.nodes.remove(node);
                }
                shifted
            }
            None if up => {
                let state = NodeState {
                    pods: 1,
                    open: None,
                };
                self.nodes.insert(SmolStr::new(node), state);
                (0, 1, None)
            }
            None => (0, 0, None),
        };
        // An open node is filed under its new pod count (unless the slots are to be dealt
        // again, which files every open node under its count).
        if old != count
            && let Some((_, slot)) = open
            && !self.by_load.stale
        {
            self.by_load.moved(slot, old, count);
        }
    }

    /// The pods counted on `node`.
    fn count(&self, node: &str) -> usize {
        self.nodes.get(node).map_or(0, |state| state.pods)
    }

    fn charge(&mut self, node: &str, spec: &Unmodeled, sign: i128) {
        let placement = self.placement_of_spec(spec);
        let requests = &placement.requests;
        if requests.is_empty() {
            return;
        }
        let totals = self.requested.entry(SmolStr::new(node)).or_default();
        for (name, amount) in requests {
            let total = totals.entry(name.clone()).or_insert(0);
            *total = total.saturating_add(sign * amount);
        }
        totals.retain(|_, amount| *amount != 0);
        if totals.is_empty() {
            self.requested.remove(node);
        }
    }

    /// Accounts for a pod write. Returns whether a node's load went down (a pending pod may
    /// fit now).
    pub fn pod_changed(&mut self, old: Option<&Pod>, new: Option<&Pod>) -> bool {
        self.facts_changed(
            old.map(PodFacts::of).as_ref(),
            new.map(PodFacts::of).as_ref(),
        )
    }

    /// [`NodeLoad::pod_changed`] from the versions' facts.
    pub(crate) fn facts_changed(&mut self, old: Option<&PodFacts>, new: Option<&PodFacts>) -> bool {
        // Counted: bound to a node and not terminal.
        if let (Some(old), Some(new)) = (old, new)
            && old.node == new.node
            && counts(old) == counts(new)
        {
            return false; // most writes: the same node, counted the same way
        }
        let mut freed = false;
        if let Some(old) = old.filter(|p| counts(p)) {
            self.shift_count(old.node, false);
            self.charge(old.node, old.spec, -1);
            freed = true;
        }
        if let Some(new) = new.filter(|p| counts(p)) {
            self.shift_count(new.node, true);
            self.charge(new.node, new.spec, 1);
        }
        freed
    }

    /// `pod`'s placement, read from its spec once per distinct spec.
    pub fn placement(&mut self, pod: &Pod) -> Arc<Placement> {
        self.placement_of_spec(&pod.spec.unmodeled)
    }

    fn placement_of_spec(&mut self, spec: &Unmodeled) -> Arc<Placement> {
        self.placements
            .get(spec, |spec| Arc::new(Placement::of_spec(spec)))
            .clone()
    }

    /// Accounts for a Node write (`None` when it was deleted).
    pub fn node_changed(&mut self, name: &str, node: Option<&Node>) {
        self.closed.remove(name);
        match node {
            Some(node) if !node.spec.unschedulable && blocking_taints(node).is_empty() => {
                let limit = max_pods(node);
                match self
                    .nodes
                    .get_mut(name)
                    .and_then(|state| state.open.as_mut())
                {
                    Some(open) => open.0 = limit, // still open: its slot stands
                    None => self.open_node(SmolStr::new(name), limit),
                }
            }
            _ => {
                if let Some(state) = self.nodes.get_mut(name)
                    && state.open.take().is_some()
                {
                    if state.pods == 0 {
                        self.nodes.remove(name);
                    }
                    self.open.remove(name);
                    self.by_load.stale = true;
                }
                if node.is_some() {
                    self.closed.insert(SmolStr::new(name));
                }
            }
        }
    }

    /// Files a node that was not open among the open ones.
    fn open_node(&mut self, name: SmolStr, limit: usize) {
        let state = self.nodes.entry(name.clone()).or_default();
        state.open = Some((limit, 0));
        self.open.insert(name);
        self.by_load.stale = true;
    }

    /// Deals the open nodes their slots again, in name order, if a node opened or closed
    /// since they were last dealt, and files each under its pod count.
    fn deal_slots(&mut self) {
        if !self.by_load.stale {
            return;
        }
        let by_load = &mut self.by_load;
        by_load.names.clear();
        by_load.names.extend(self.open.iter().cloned());
        by_load.by_count.clear();
        for slot in 0..by_load.names.len() {
            let name = by_load.names[slot].as_str();
            let state = self.nodes.get_mut(name).and_then(|state| {
                let pods = state.pods;
                state.open.as_mut().map(|open| {
                    open.1 = slot;
                    pods
                })
            });
            debug_assert!(state.is_some(), "an open node {name} has its state");
            if let Some(pods) = state {
                by_load.file(slot, pods);
            }
        }
        by_load.stale = false;
    }

    /// Runs the filters of one node, in kube-scheduler's order, returning the first
    /// failing filter's reasons (NodeResourcesFit can give several).
    pub fn unfit(&self, placement: &Placement, node: &Node) -> Vec<Unfit> {
        let name = node.metadata.name.as_str();
        if node.spec.unschedulable {
            let taint = Taint {
                key: TAINT_UNSCHEDULABLE.to_string(),
                value: String::new(),
                effect: "NoSchedule".to_string(),
            };
            if !tolerates(&placement.tolerations, &taint) {
                return vec![Unfit::Cordoned];
            }
        }
        if let Some(taint) = blocking_taints(node)
            .into_iter()
            .find(|t| !tolerates(&placement.tolerations, t))
        {
            return vec![Unfit::Taint(taint.key, taint.value)];
        }
        if !placement.matches_node(node) {
            return vec![Unfit::Affinity];
        }
        let mut reasons = Vec::new();
        let pods = self.count(name);
        if pods + 1 > max_pods(node) {
            reasons.push(Unfit::TooManyPods);
        }
        if placement.requests.is_empty() {
            return reasons;
        }
        let allocatable = allocatable(node);
        let empty = Resources::new();
        let requested = self.requested.get(name).unwrap_or(&empty);
        // cpu and memory first, then the others by name, as NodeResourcesFit reports them.
        let mut names: Vec<&String> = placement.requests.keys().collect();
        names.sort_by_key(|n| (n.as_str() != "cpu", n.as_str() != "memory", n.as_str()));
        for resource in names {
            let want = placement.requests[resource];
            // Resources the node does not list are not limited (see the module docs),
            // except extended resources, which a node without them cannot give.
            let Some(&have) = allocatable.get(resource.as_str()) else {
                if resource.contains('/') && want > 0 {
                    reasons.push(Unfit::Insufficient(resource.clone()));
                }
                continue;
            };
            let used = requested.get(resource.as_str()).copied().unwrap_or(0);
            if want > 0 && want > have.saturating_sub(used) {
                reasons.push(Unfit::Insufficient(resource.clone()));
            }
        }
        reasons
    }

    /// S5: the node for a pod: among the nodes whose filters pass, the one with the fewest pods,
    /// ties by name; or, when none passes, the scheduler's message, as
    /// [`FitError`](https://github.com/kubernetes/kubernetes/blob/master/pkg/scheduler/framework/types.go)
    /// words it (`0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable.
    /// preemption: …`).
    pub(crate) fn place(
        &mut self,
        placement: &Placement,
        nodes: &Store<Node>,
    ) -> Result<SmolStr, String> {
        self.deal_slots();
        self.by_load.skip_empty_blocks();
        let node = |name: &str| nodes.get_by_name("", name);
        let open = self.by_load.iter().find(|&(pods, name)| {
            let fits = self.open_node_fits(placement, name, pods, node);
            debug_assert_eq!(
                fits,
                node(name).is_some_and(|n| self.unfit(placement, n).is_empty()),
                "an open node's filters, run from what opened it"
            );
            fits
        });
        let closed = if placement.tolerates_closed_nodes() {
            self.closed
                .iter()
                .filter(|name| node(name).is_some_and(|n| self.unfit(placement, n).is_empty()))
                .map(|name| (self.count(name), name.as_str()))
                .min()
        } else {
            None
        };
        match (open, closed) {
            // A node's name is short enough, most often, to be held inline: no allocation.
            (Some(a), Some(b)) => return Ok(a.min(b).1.into()),
            (Some((_, name)), None) | (None, Some((_, name))) => return Ok(name.into()),
            (None, None) => {}
        }
        Err(self.fit_error(placement, nodes))
    }

    /// S5: whether the open node `name`, holding `pods` pods, passes `placement`'s filters: what
    /// [`NodeLoad::unfit`] answers, without what is known of an open node. It is neither
    /// cordoned nor tainted (or it would be closed), and its pod limit is the one filed when
    /// it was last written; so only a pod that asks something of the node (a selector,
    /// affinity, requests) needs the node itself. A roll places every replacement, and
    /// reading a node's taints, conditions and limit out of its JSON cost more than the rest
    /// of the placement.
    fn open_node_fits<'n>(
        &self,
        placement: &Placement,
        name: &str,
        pods: usize,
        node: impl Fn(&str) -> Option<&'n Node>,
    ) -> bool {
        let Some((limit, _)) = self.nodes.get(name).and_then(|state| state.open) else {
            return false;
        };
        if pods + 1 > limit {
            return false;
        }
        let asks_of_node = !placement.node_selector.is_empty()
            || placement.affinity_terms.is_some()
            || !placement.requests.is_empty();
        !asks_of_node || node(name).is_some_and(|n| self.unfit(placement, n).is_empty())
    }

    fn fit_error(&self, placement: &Placement, nodes: &Store<Node>) -> String {
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut preemption: BTreeMap<&str, usize> = BTreeMap::new();
        for node in nodes.iter() {
            let unfit = self.unfit(placement, node);
            let helpful = unfit.iter().all(Unfit::resolvable);
            for reason in unfit {
                *reasons.entry(reason.to_string()).or_default() += 1;
            }
            let verdict = if helpful {
                "No preemption victims found for incoming pod"
            } else {
                "Preemption is not helpful for scheduling"
            };
            *preemption.entry(verdict).or_default() += 1;
        }
        let total = nodes.len();
        let histogram = |counts: Vec<String>| {
            let mut counts = counts;
            counts.sort(); // kube-scheduler sorts the "<count> <reason>" strings
            counts.join(", ")
        };
        let filters = histogram(reasons.iter().map(|(r, n)| format!("{n} {r}")).collect());
        let preempt = histogram(preemption.iter().map(|(r, n)| format!("{n} {r}")).collect());
        if total == 0 {
            return "no nodes available to schedule pods".to_string();
        }
        format!(
            "0/{total} nodes are available: {filters}. preemption: 0/{total} nodes are available: {preempt}.."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Ready node, cordoned unless `open`.
    fn node(name: &str, open: bool) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"unschedulable": !open},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }))
        .expect("a valid node")
    }

    impl NodeLoad {
        /// The views of the open nodes agree, once the slots are dealt: each open node's
        /// slot names it, and it is filed at that slot under its pod count and nowhere
        /// else; the sets' counts are their sizes.
        fn holds_its_slots(&mut self) -> bool {
            self.deal_slots();
            let open = self
                .nodes
                .values()
                .filter(|state| state.open.is_some())
                .count();
            let filed: usize = self.by_load.by_count.iter().map(|b| b.members).sum();
            open == self.open.len()
                && open == self.by_load.names.len()
                && open == filed
                && self
                    .by_load
                    .by_count
                    .iter()
                    .all(|b| b.members == b.slots.count())
                && self.nodes.iter().all(|(name, state)| {
                    *state != NodeState::default()
                        && state.open.is_none_or(|(_, slot)| {
                            self.by_load.names.get(slot) == Some(name)
                                && self.by_load.by_count[state.pods].slots.contains(slot)
                        })
                })
        }

        /// The open nodes as a placement reads them.
        fn by_load(&mut self) -> Vec<(usize, String)> {
            self.deal_slots();
            self.by_load.skip_empty_blocks();
            self.by_load
                .iter()
                .map(|(pods, name)| (pods, name.to_string()))
                .collect()
        }
    }

    proptest! {
        /// Through any sequence of nodes opening, closing and going, and pods arriving and
        /// leaving, the open nodes are ordered by (pods, name), names compared as text
        /// (short ones, ones sharing a prefix, NUL and non-ASCII): the least loaded first.
        /// Read after some steps only, so that pods come and go on slots dealt before
        /// nodes opened and closed around them.
        #[test]
        fn open_nodes_order_by_pods_then_name(
            steps in prop::collection::vec((0usize..208, 0u8..4, 0usize..4, any::<bool>()), 0..300),
        ) {
            let mut names: Vec<String> =
                ["node-1", "node-10", "node-2", "a", "é", "b\u{0}", "", "node-100"]
                    .map(String::from)
                    .to_vec();
            names.extend((0..40).map(|i| format!("m{}", "z".repeat(i))));
            // Open from the start: slots over three blocks of bits.
            names.extend((0..160).map(|i| format!("n{i:03}")));
            let mut load = NodeLoad::default();
            let mut model: BTreeMap<&str, (bool, usize)> = BTreeMap::new();
            for name in &names[48..] {
                load.node_changed(name, Some(&node(name, true)));
                model.insert(name, (true, 0));
            }
            for (which, action, pods, read) in steps {
                let name = names[which].as_str();
                match action {
                    0 => {
                        load.node_changed(name, Some(&node(name, true)));
                        model.entry(name).or_insert((true, 0)).0 = true;
                    }
                    1 => {
                        load.node_changed(name, Some(&node(name, false)));
                        model.entry(name).or_insert((false, 0)).0 = false;
                    }
                    2 => {
                        load.node_changed(name, None);
                        if let Some(entry) = model.get_mut(name) {
                            entry.0 = false;
                        }
                    }
                    _ => {
                        // A pod arrives (on even draws) or leaves.
                        let up = pods % 2 == 0;
                        load.shift_count(name, up);
                        let count = &mut model.entry(name).or_insert((false, 0)).1;
                        *count = if up { *count + 1 } else { count.saturating_sub(1) };
                    }
                }
                if !read {
                    continue;
                }
                let got = load.by_load();
                let mut want: Vec<(usize, String)> = model
                    .iter()
                    .filter(|(_, (open, _))| *open)
                    .map(|(name, (_, pods))| (*pods, name.to_string()))
                    .collect();
                want.sort();
                prop_assert_eq!(got, want);
                prop_assert!(load.holds_its_slots());
            }
        }
    }

    /// Nodes opening one after another, each sorting before the last one opened, are
    /// ordered by name; a pod on the first moves it last, and its leaving moves it back.
    #[test]
    fn nodes_opening_between_others_are_ordered_by_name() {
        let mut load = NodeLoad::default();
        let names: Vec<String> = (0..100).map(|i| format!("a{}", "z".repeat(i))).collect();
        load.node_changed("b", Some(&node("b", true)));
        for name in &names {
            load.node_changed(name, Some(&node(name, true)));
        }
        assert!(load.holds_its_slots());
        load.shift_count(&names[0], true);
        let order: Vec<String> = load.by_load().into_iter().map(|(_, n)| n).collect();
        let mut want: Vec<String> = names[1..].to_vec();
        want.extend(["b".to_string(), names[0].clone()]);
        assert_eq!(order, want);
        load.shift_count(&names[0], false);
        let order: Vec<String> = load.by_load().into_iter().map(|(_, n)| n).collect();
        let mut want: Vec<String> = names.clone();
        want.push("b".to_string());
        assert_eq!(order, want);
        assert!(load.holds_its_slots());
    }
}
