//! Secondary indexes over stored pods: by node (`spec.nodeName`) and by label, so that the
//! disruption controller's "pods selected by this PDB" (C5) and a node's pods are found
//! without scanning. Look-ups return the pods in name order, the order a namespace scan
//! gives.
//!
//! The indexes by node and by controller are made by their first read, from the stored
//! pods, and kept up to date from then on: their readers (a drain's LIST of a node's pods, a
//! node's own writes, a workload scaled down, the garbage collector) are rare, and until one
//! comes a pod's create, binding and delete file nothing there. The pods no node has yet
//! are kept from the start, as the scheduler asks for them whenever a node frees room.
//!
//! A controller's and a label's pods are hash sets, put in order when read. Every pod create
//! and delete files and unfiles the pod in them, while their readers are few (a PDB created,
//! a workload scaled down): at a ReplicaSet's size an ordered set found the place by a
//! binary search whose every step followed a pointer to a name no longer cached, and moved
//! the entries after it, where a hash set hashes the pod's own key and compares it with the
//! one entry it finds. A node's pods, a few dozen, stay an ordered set: its search is short,
//! and a hash set's empty buckets would cost more memory, over thousands of nodes, than it
//! saves time.
//!
//! Labels are filed only under the keys some selector is anchored on (see
//! [`PodIndex::index_label_key`]): a pod carries labels no selector asks for
//! (`pod-template-hash`, versions, teams), and an entry per pod and label would cost memory
//! and a B-tree update on every create and delete for nothing.

use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::bucket_hint::BucketHint;
use super::pod_facts::PodFacts;
use super::sorted_set::SortedSet;
use super::{FastMap, FastSet};
use crate::model::short_text::same;
use crate::model::{ObjectKey, Pod, SmolStr, Uid};

/// The pod indexes. Only looked up, never iterated into an output except through the
/// ordered sets they hold or [`in_order`].
#[derive(Debug, Clone, Default)]
pub struct PodIndex {
    /// The pods no node has yet (an empty `spec.nodeName`), kept on every write: the
    /// scheduler re-queues them whenever a node frees room (S6), which a roll's every
    /// finished pod does.
    unscheduled: SortedSet<ObjectKey>,
    /// The pods bound to each node, made by the first read from the stored pods and kept
    /// up to date from then on: a drain's LIST of a node's pods and a node's own writes ask,
    /// while every binding and delete would file and unfile a copy of the pod's key.
    by_node: OnceLock<FastMap<SmolStr, SortedSet<ObjectKey>>>,
    /// Names only: a label's pods share the namespace it is filed under.
    by_label: FastMap<(SmolStr, SmolStr, SmolStr), FastSet<Arc<str>>>,
    /// The label keys `by_label` files pods under. It only grows: a key once anchored on is
    /// likely to be again (the next ReplicaSet's PDB), and there are few of them.
    label_keys: FastSet<SmolStr>,
    /// Made by the first read from the stored pods and kept up to date from then on:
    /// only a workload scaled down, a StatefulSet's or DaemonSet's sync and the garbage
    /// collector ask for a controller's pods, while every create and delete would file and
    /// unfile a copy of the pod's key (a drain or a roll asks nothing of it).
    by_owner: OnceLock<FastMap<Uid, FastSet<ObjectKey>>>,
    /// Per controller: (active pods, active Ready pods); active = not terminating, not terminal.
    owner_counts: ControllerCounts,
}

/// The active and Ready pods of each controller, looked up with a hint: a controller's
/// sync asks for its counts twice in a row, and its pods' writes come in runs (a roll's
/// evictions, a namespace at a time), so most look-ups find the entry of the one before.
#[derive(Debug, Clone, Default)]
struct ControllerCounts {
    table: HashTable<(Uid, (usize, usize))>,
    last: BucketHint,
}

impl ControllerCounts {
    fn hash(uid: &Uid) -> u64 {
        FixedState::default().hash_one(uid)
    }

    fn get(&self, uid: &Uid) -> (usize, usize) {
        let is = |(stored, _): &(Uid, (usize, usize))| stored == uid;
        self.last
            .find(&self.table, is, || Self::hash(uid), is)
            .map_or((0, 0), |(_, counts)| *counts)
    }

    /// Counts one more active pod of `uid`, Ready or not.
    fn add(&mut self, uid: &Uid, ready: usize) {
        let is = |(stored, _): &(Uid, (usize, usize))| stored == uid;
        match self
            .last
            .find_bucket(&self.table, is, || Self::hash(uid), is)
            .and_then(|bucket| self.table.get_bucket_mut(bucket))
        {
            Some((_, counts)) => {
                counts.0 += 1;
                counts.1 += ready;
            }
            None => {
                self.table
                    .insert_unique(Self::hash(uid), (uid.clone(), (1, ready)), |(u, _)| {
                        Self::hash(u)
                    });
            }
        }
    }

    /// Counts one active pod of `uid` fewer, forgetting the controller at none.
    fn remove(&mut self, uid: &Uid, ready: usize) {
        let is = |(stored, _): &(Uid, (usize, usize))| stored == uid;
        let Some(bucket) = self
            .last
            .find_bucket(&self.table, is, || Self::hash(uid), is)
        else {
            return;
        };
        let Ok(mut entry) = self.table.get_bucket_entry(bucket) else {
            return;
        };
        let counts = &mut entry.get_mut().1;
        counts.0 -= 1;
        counts.1 -= ready;
        if counts.0 == 0 {
            entry.remove();
        }
    }

    fn len(&self) -> usize {
        self.table.len()
    }
}

fn node<'a>(pod: Option<&PodFacts<'a>>) -> Option<&'a str> {
    pod.map(|p| p.node.as_str())
}

fn owner<'a>(pod: Option<&PodFacts<'a>>) -> Option<&'a Uid> {
    pod.and_then(|p| p.controller).map(|o| &o.uid)
}

fn labels<'a>(pod: Option<&PodFacts<'a>>) -> Option<&'a crate::model::StringMap> {
    pod.map(|p| p.labels)
}

/// What a pod adds to its controller's counts: its controller, and whether it is Ready;
/// `None` when it counts for none (no controller, terminating, terminal).
fn counted<'a>(pod: Option<&PodFacts<'a>>) -> Option<(&'a Uid, usize)> {
    let pod = pod.filter(|p| p.active())?;
    Some((&pod.controller?.uid, usize::from(pod.ready)))
}

impl PodIndex {
    /// Moves the entries of the pod at `key` from its `old` to its `new` state. Each index
    /// is touched only when what it files the pod under changed: most pod writes (status,
    /// conditions, deletion stamps) move nothing, a binding moves only the node entry.
    pub fn update(&mut self, key: &ObjectKey, old: Option<&PodFacts>, new: Option<&PodFacts>) {
        let same_node = match (node(old), node(new)) {
            (Some(a), Some(b)) => same(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        if !same_node {
            match node(old) {
                Some("") => {
                    self.unscheduled.remove(key);
                }
                Some(node) => {
                    if let Some(by_node) = self.by_node.get_mut()
                        && let Some(set) = by_node.get_mut(node)
                    {
                        set.remove(key);
                        if set.is_empty() {
                            by_node.remove(node);
                        }
                    }
                }
                None => {}
            }
            match new {
                Some(new) if new.node.is_empty() => {
                    self.unscheduled.insert(key.clone());
                }
                Some(new) => {
                    if let Some(by_node) = self.by_node.get_mut() {
                        by_node
                            .entry(new.node.clone())
                            .or_default()
                            .insert(key.clone());
                    }
                }
                None => {}
            }
        }
        let same_owner = match (old, new) {
            (Some(old), Some(new)) => old.same_controller(new),
            _ => owner(old) == owner(new),
        };
        if !same_owner && let Some(by_owner) = self.by_owner.get_mut() {
            if let Some(uid) = owner(old) {
                remove_entry(by_owner, uid, key);
            }
            if let Some(uid) = owner(new) {
                by_owner.entry(uid.clone()).or_default().insert(key.clone());
            }
        }
        let (before, after) = (counted(old), counted(new));
        let same_count = match (before, after) {
            (Some((a, ready_a)), Some((b, ready_b))) => {
                ready_a == ready_b && (same_owner || a == b)
            }
            (a, b) => a.is_none() && b.is_none(),
        };
        if !same_count {
            if let Some((uid, ready)) = before {
                self.owner_counts.remove(uid, ready);
            }
            if let Some((uid, ready)) = after {
                self.owner_counts.add(uid, ready);
            }
        }
        if labels(old) != labels(new) && !self.label_keys.is_empty() {
            if let Some(old) = old {
                for (k, v) in old.labels {
                    if self.label_keys.contains(k.as_str()) {
                        let at = LabelAt(&key.namespace, k, v);
                        remove_entry(&mut self.by_label, &at, &*key.name);
                    }
                }
            }
            if let Some(new) = new {
                for (k, v) in new.labels {
                    if self.label_keys.contains(k.as_str()) {
                        self.file_label(key, k, v);
                    }
                }
            }
        }
    }

    fn file_label(&mut self, key: &ObjectKey, label: &str, value: &str) {
        let name = Arc::clone(&key.name);
        // Looked up by the borrowed texts: the set nearly always exists (a workload's
        // replacement pod joins its siblings).
        if let Some(set) = self
            .by_label
            .get_mut(&LabelAt(&key.namespace, label, value))
        {
            set.insert(name);
            return;
        }
        let at = (
            SmolStr::new(&key.namespace),
            SmolStr::new(label),
            SmolStr::new(value),
        );
        self.by_label.entry(at).or_default().insert(name);
    }

    /// Whether pods are filed under their `label` values.
    pub fn indexes_label_key(&self, label: &str) -> bool {
        self.label_keys.contains(label)
    }

    /// Files pods under their values of `label` from now on, starting with the stored
    /// `pods` (every pod, as `(key, pod)`): for a selector anchored on it. Does nothing for
    /// a key already filed.
    pub fn index_label_key<'a>(
        &mut self,
        label: &str,
        pods: impl IntoIterator<Item = (&'a ObjectKey, &'a Pod)>,
    ) {
        if !self.label_keys.insert(SmolStr::new(label)) {
            return;
        }
        for (key, pod) in pods {
            if let Some(value) = pod.metadata.labels.get(label) {
                self.file_label(key, label, value);
            }
        }
    }

    /// How many entries the indexes hold, all together.
    pub fn entries(&self) -> usize {
        self.unscheduled.len()
            + self.by_node.get().map_or(0, |by_node| {
                by_node.values().map(SortedSet::len).sum::<usize>()
            })
            + self.by_label.values().map(FastSet::len).sum::<usize>()
            + self.by_owner.get().map_or(0, |by_owner| {
                by_owner.values().map(FastSet::len).sum::<usize>()
            })
            + self.owner_counts.len()
    }

    /// The pods no node has yet, in key order: what the scheduler tries again when a node
    /// changes or an assigned pod goes (S6). Kept from the start, never made by a read.
    pub fn unscheduled(&self) -> impl Iterator<Item = &ObjectKey> {
        self.unscheduled.iter()
    }

    /// The pods bound to `node`, in key order; the empty name asks for the pods no node
    /// has yet (see [`PodIndex::unscheduled`]). `pods` are the stored pods (with their stored keys), which the first read of
    /// a node files by node.
    pub fn on_node<'a, 'p, I>(
        &'a self,
        node: &str,
        pods: impl FnOnce() -> I,
    ) -> std::iter::Flatten<std::option::IntoIter<&'a SortedSet<ObjectKey>>>
    where
        I: IntoIterator<Item = (&'p ObjectKey, &'p Pod)>,
    {
        if node.is_empty() {
            return Some(&self.unscheduled).into_iter().flatten();
        }
        let by_node = self.by_node.get_or_init(|| {
            let mut by_node: FastMap<SmolStr, SortedSet<ObjectKey>> = FastMap::default();
            for (key, pod) in pods() {
                if !pod.spec.node_name.is_empty() {
                    by_node
                        .entry(pod.spec.node_name.clone())
                        .or_default()
                        .insert(key.clone());
                }
            }
            by_node
        });
        by_node.get(node).into_iter().flatten()
    }

    /// The pods whose controller is the object with `uid`, in key order. `pods` are the
    /// stored pods (with their stored keys), which the first read files by controller.
    pub fn owned_by<'a, 'p, I>(
        &'a self,
        uid: &Uid,
        pods: impl FnOnce() -> I,
    ) -> std::vec::IntoIter<&'a ObjectKey>
    where
        I: IntoIterator<Item = (&'p ObjectKey, &'p Pod)>,
    {
        let by_owner = self.by_owner.get_or_init(|| {
            let mut by_owner: FastMap<Uid, FastSet<ObjectKey>> = FastMap::default();
            for (key, pod) in pods() {
                if let Some(controller) = pod.metadata.controller_ref() {
                    by_owner
                        .entry(controller.uid.clone())
                        .or_default()
                        .insert(key.clone());
                }
            }
            by_owner
        });
        in_order(by_owner.get(uid))
    }

    /// How many of a controller's pods are active (not terminating, not terminal), and how
    /// many of those are Ready.
    pub fn owner_counts(&self, uid: &Uid) -> (usize, usize) {
        self.owner_counts.get(uid)
    }

    /// The names of the pods in `namespace` labelled `key=value`, in order; `None` when pods are
    /// not filed under `key` (see [`PodIndex::index_label_key`]): the caller scans.
    pub fn labelled(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Option<impl Iterator<Item = &str>> {
        if !self.label_keys.contains(key) {
            return None;
        }
        Some(in_order(self.by_label.get(&LabelAt(namespace, key, value))).map(|name| &**name))
    }
}

/// The items of `set` (none when there is no set) in order.
fn in_order<T: Ord>(set: Option<&FastSet<T>>) -> std::vec::IntoIter<&T> {
    let mut items: Vec<&T> = set.into_iter().flatten().collect();
    items.sort_unstable();
    items.into_iter()
}

/// Takes `key` out of the set filed under `at`, and the set out of `index` once empty.
fn remove_entry<K, Q, E, R>(index: &mut FastMap<K, FastSet<E>>, at: &Q, key: &R)
where
    K: Eq + std::hash::Hash,
    Q: hashbrown::Equivalent<K> + std::hash::Hash + ?Sized,
    E: Eq + std::hash::Hash,
    R: hashbrown::Equivalent<E> + std::hash::Hash + ?Sized,
{
    if let Some(set) = index.get_mut(at) {
        set.remove(key);
        if set.is_empty() {
            index.remove(at);
        }
    }
}

/// A key of the label index, `(namespace, label key, value)`, borrowed to look up by: it
/// hashes and compares as the stored `(SmolStr, SmolStr, SmolStr)` does (a `SmolStr`
/// hashes as its text), so a look-up builds no key.
#[derive(Hash)]
struct LabelAt<'a>(&'a str, &'a str, &'a str);

impl hashbrown::Equivalent<(SmolStr, SmolStr, SmolStr)> for LabelAt<'_> {
    fn equivalent(&self, (namespace, key, value): &(SmolStr, SmolStr, SmolStr)) -> bool {
        same(self.2, value) && same(self.1, key) && same(self.0, namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OwnerReference, PodCondition};
    use proptest::prelude::*;

    /// The borrowed key finds what the stored key files: same hash, same equality.
    #[test]
    fn a_borrowed_label_key_hashes_and_compares_as_the_stored_one() {
        use std::hash::BuildHasher;
        let state = foldhash::fast::FixedState::default();
        let stored = (SmolStr::new("ns"), SmolStr::new("app"), SmolStr::new("web"));
        let borrowed = LabelAt("ns", "app", "web");
        assert_eq!(state.hash_one(&borrowed), state.hash_one(&stored));
        assert!(hashbrown::Equivalent::equivalent(&borrowed, &stored));
        // The parts are not run together: ("n", "sapp") is another key.
        assert!(!hashbrown::Equivalent::equivalent(
            &LabelAt("n", "sapp", "web"),
            &stored
        ));
        assert_ne!(
            state.hash_one(LabelAt("n", "sapp", "web")),
            state.hash_one(&stored)
        );
    }

    /// A pod in one of the states the indexes tell apart.
    fn pod(name: &str, node: u8, owner: u8, label: u8, ready: bool, terminating: bool) -> Pod {
        let node = if node == 0 {
            String::new()
        } else {
            format!("node-{node}")
        };
        let mut pod = Pod::running("ns", name, &node);
        if label > 0 {
            pod = pod.with_labels([("app", format!("app-{label}"))]);
        }
        if owner > 0 {
            pod.metadata.owner_references = vec![OwnerReference {
                uid: Uid::from(format!("uid-{owner}")),
                controller: Some(true),
                ..OwnerReference::default()
            }]
            .into();
        }
        pod.status.conditions = vec![PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..PodCondition::default()
        }]
        .into();
        if terminating {
            pod.metadata.deletion_timestamp = crate::time::Time::from_unix_seconds(0).ok();
        }
        pod
    }

    type State = Option<(u8, u8, u8, bool, bool)>;

    fn state() -> impl Strategy<Value = State> {
        proptest::option::weighted(0.8, (0..3u8, 0..3u8, 0..3u8, any::<bool>(), any::<bool>()))
    }

    /// Everything a reader can ask the indexes, in the order they answer; `pods` are the
    /// pods stored, from which a controller's are filed at the first read.
    fn answers(index: &PodIndex, pods: &[(ObjectKey, Pod)]) -> Vec<String> {
        let mut out = vec![format!("entries {}", index.entries())];
        for n in 0..3u8 {
            let node = if n == 0 {
                String::new()
            } else {
                format!("node-{n}")
            };
            out.push(format!(
                "node {node}: {:?}",
                index
                    .on_node(&node, || pods.iter().map(|(k, p)| (k, p)))
                    .collect::<Vec<_>>()
            ));
            let uid = Uid::from(format!("uid-{n}"));
            out.push(format!(
                "owner {n}: {:?} {:?}",
                index
                    .owned_by(&uid, || pods.iter().map(|(k, p)| (k, p)))
                    .collect::<Vec<_>>(),
                index.owner_counts(&uid)
            ));
            let app = format!("app-{n}");
            out.push(format!(
                "label {n}: {:?}",
                index
                    .labelled("ns", "app", &app)
                    .map(|keys| keys.collect::<Vec<_>>())
            ));
        }
        out
    }

    /// Pods filed in any order are read back in name order, from the hash sets as from the
    /// ordered ones.
    #[test]
    fn reads_come_in_name_order_whatever_the_filing_order() {
        let mut index = PodIndex::default();
        index.index_label_key("app", []);
        let names = [
            "web-q", "web-b", "web-zz", "db-0", "web-a", "web-10", "web-9",
        ];
        let mut stored = Vec::new();
        for name in names {
            let new = pod(name, 1, 1, 1, true, false);
            index.update(&ObjectKey::new("ns", name), None, Some(&PodFacts::of(&new)));
            stored.push((ObjectKey::new("ns", name), new));
        }
        let mut sorted = names.to_vec();
        sorted.sort();
        let keys =
            |keys: Vec<&ObjectKey>| keys.iter().map(|k| k.name.to_string()).collect::<Vec<_>>();
        let on_node = index.on_node("node-1", || stored.iter().map(|(k, p)| (k, p)));
        assert_eq!(keys(on_node.collect()), sorted);
        let owned = index.owned_by(&Uid::from("uid-1"), || stored.iter().map(|(k, p)| (k, p)));
        assert_eq!(keys(owned.collect()), sorted);
        let labelled: Vec<&str> = index.labelled("ns", "app", "app-1").unwrap().collect();
        assert_eq!(labelled, sorted);
    }

    /// A pod created unscheduled and then bound leaves the unscheduled pods; a node's pods,
    /// filed by the first read, follow the writes after it, and a node's set goes with its
    /// last pod.
    #[test]
    fn a_bound_pod_leaves_the_unscheduled_and_a_nodes_set_goes_with_its_last_pod() {
        let mut index = PodIndex::default();
        let key = ObjectKey::new("ns", "web-1");
        let (created, bound) = (
            pod("web-1", 0, 1, 0, false, false),
            pod("web-1", 1, 1, 0, false, false),
        );
        index.update(&key, None, Some(&PodFacts::of(&created)));
        assert_eq!(index.unscheduled().count(), 1);
        index.update(
            &key,
            Some(&PodFacts::of(&created)),
            Some(&PodFacts::of(&bound)),
        );
        assert_eq!(index.unscheduled().count(), 0);
        assert!(
            index.by_node.get().is_none(),
            "no node's pods asked for yet"
        );
        let stored = [(key.clone(), bound.clone())];
        let read = index.on_node("node-1", || stored.iter().map(|(k, p)| (k, p)));
        assert_eq!(read.count(), 1);
        index.update(&key, Some(&PodFacts::of(&bound)), None);
        assert!(
            index
                .by_node
                .get()
                .is_some_and(|by_node| by_node.is_empty())
        );
        assert_eq!(index.entries(), 0);
    }

    proptest! {
        /// Moving pods through any sequence of states leaves the indexes as filing their
        /// final states into empty ones does, whenever the `app` label began to be filed
        /// (never, at the start, between two steps) and whenever a controller's or a
        /// node's pods were first asked for (which files every pod by controller, or by
        /// node, from then on).
        #[test]
        fn updates_leave_what_a_fresh_index_holds(
            steps in prop::collection::vec((0..4usize, state()), 0..60),
            label_filed_at in proptest::option::of(0..60usize),
            owners_read_at in proptest::option::of(0..60usize),
            nodes_read_at in proptest::option::of(0..60usize),
        ) {
            let names = ["a", "b", "c", "d"];
            let mut current: Vec<Option<Pod>> = vec![None; names.len()];
            let mut index = PodIndex::default();
            let keys: Vec<ObjectKey> = names.iter().map(|n| ObjectKey::new("ns", *n)).collect();
            let stored = |current: &[Option<Pod>]| -> Vec<(ObjectKey, Pod)> {
                keys.iter()
                    .zip(current)
                    .filter_map(|(k, p)| Some((k.clone(), p.clone()?)))
                    .collect()
            };
            let file_label = |index: &mut PodIndex, current: &[Option<Pod>]| {
                let pods = keys.iter().zip(current).filter_map(|(k, p)| Some((k, p.as_ref()?)));
                index.index_label_key("app", pods);
            };
            for (step, (which, next)) in steps.into_iter().enumerate() {
                if label_filed_at == Some(step) {
                    file_label(&mut index, &current);
                }
                if owners_read_at == Some(step) {
                    let pods = stored(&current);
                    let _ = index.owned_by(&Uid::from("uid-0"), || pods.iter().map(|(k, p)| (k, p)));
                }
                if nodes_read_at == Some(step) {
                    let pods = stored(&current);
                    let _ = index.on_node("node-1", || pods.iter().map(|(k, p)| (k, p)));
                }
                let key = ObjectKey::new("ns", names[which]);
                let next = next.map(|(node, owner, label, ready, terminating)| {
                    pod(names[which], node, owner, label, ready, terminating)
                });
                index.update(
                    &key,
                    current[which].as_ref().map(PodFacts::of).as_ref(),
                    next.as_ref().map(PodFacts::of).as_ref(),
                );
                current[which] = next;
            }
            if label_filed_at.is_some() && !index.indexes_label_key("app") {
                file_label(&mut index, &current);
            }
            // Read at the end when the steps ran out first; the fresh index's read comes
            // before any pod, so that it files every pod as it is written.
            if owners_read_at.is_some() && index.by_owner.get().is_none() {
                let pods = stored(&current);
                let _ = index.owned_by(&Uid::from("uid-0"), || pods.iter().map(|(k, p)| (k, p)));
            }
            if nodes_read_at.is_some() && index.by_node.get().is_none() {
                let pods = stored(&current);
                let _ = index.on_node("node-1", || pods.iter().map(|(k, p)| (k, p)));
            }
            let mut fresh = PodIndex::default();
            if label_filed_at.is_some() {
                fresh.index_label_key("app", []);
            }
            if owners_read_at.is_some() {
                let _ = fresh.owned_by(&Uid::from("uid-0"), std::iter::empty);
            }
            if nodes_read_at.is_some() {
                let _ = fresh.on_node("node-1", std::iter::empty);
            }
            for (name, pod) in names.iter().zip(&current) {
                fresh.update(
                    &ObjectKey::new("ns", *name),
                    None,
                    pod.as_ref().map(PodFacts::of).as_ref(),
                );
            }
            let pods = stored(&current);
            prop_assert_eq!(answers(&index, &pods), answers(&fresh, &pods));
        }
    }
}
