//! Finding a pod's PDBs without scanning its namespace's PDBs.
//!
//! Upstream's handler lists every PDB in the namespace and matches each selector (E13), so
//! its cost grows with the namespace's PDB count. The index files each PDB under one
//! `key=value` pair its selector requires (its anchor); a pod is then matched only against
//! the PDBs filed under its own labels, plus the few whose selectors have no anchor
//! (`{}`, or only set-based requirements). Results are the same PDBs as the scan's.
//!
//! Selectors are compiled once, when a PDB is written. A lookup allocates nothing: the
//! anchored PDBs sit in one hash table keyed by (namespace, label key, label value), so a
//! pod costs one probe per label, with the namespace hashed once.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{
    AtomicI64, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

use foldhash::fast::{FixedState, FoldHasher};
use hashbrown::HashTable;

use super::FastMap;
use super::bucket_hint::BucketHint;
use super::eviction::MatchingPdbs;
use super::pod_facts::PodFacts;
use super::store::Store;
use crate::model::short_text::{self, same, same_shared};
use crate::model::{
    ObjectKey, OwnerReference, Pod, PodDisruptionBudget, Selector, SmolStr, StringMap, Uid,
};

/// One filed PDB: the stored object (shared with the store, so a match needs no second
/// lookup) and its compiled selector — for an anchored PDB, only what is left of it once
/// the anchor's label is known to match ([`Selector::residual_after_anchor`]; usually
/// nothing).
#[derive(Debug, Clone)]
struct Filed {
    to_check: Selector,
    /// The PDB's key as stored: what a pod write queues for a sync (C3).
    key: ObjectKey,
    pdb: Arc<PodDisruptionBudget>,
    /// The pods the PDB selects, by name (C5's list, kept up to date on every pod write
    /// instead of re-found on every sync), shared with the store.
    members: Members,
    /// Counts over `members` that the status needs, kept with them.
    tally: Tally,
}

impl Filed {
    fn members_with<'a>(&'a self, anchor: Option<(&'a str, &'a str)>) -> FiledMembers<'a> {
        FiledMembers {
            names: &self.members,
            anchor,
            rest: &self.to_check,
        }
    }
}

/// The PDBs that select a pod: the first by name, and how many.
#[derive(Debug, Default, Clone)]
pub struct Selecting {
    /// The stored key of the one whose name sorts first.
    pub first: Option<ObjectKey>,
    /// How many select it.
    pub count: usize,
}

impl Selecting {
    fn count(&mut self, key: &ObjectKey) {
        self.count += 1;
        if self
            .first
            .as_ref()
            .is_none_or(|first| key.name < first.name)
        {
            self.first = Some(key.clone());
        }
    }
}

/// A PDB's selected pods, by name: the text of the pods' stored keys, shared. Names rather
/// than the pods themselves: a pod is written several times with the same labels (its
/// conditions, its deletion, its phase), and every write would otherwise have to find and
/// replace its entry; a sync reads the pods from the store ([`FiledMembers::in_store`]).
///
/// A hash set, not an ordered one: a pod joins or leaves when it is created or deleted,
/// and the name it comes with is the stored key's own text, found by address in the set's
/// slot without reading any member's text. An ordered set compared the name with a
/// member's text at each level of its search, each text a separate allocation out of the
/// caches (measured: about three memory reads missing every cache per pod that joined). The
/// order is needed only where the members are listed ([`MemberPods::pods`]): a PDB's full
/// recount and the [`Cluster::pdb_members`](super::Cluster::pdb_members) query, which sort.
#[derive(Debug, Clone, Default)]
pub struct Members(HashTable<Arc<str>>);

impl Members {
    /// How many pods.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the pod named `name` is a member.
    fn contains(&self, name: &str) -> bool {
        self.0
            .find(short_text::hash(name), |member| same(member, name))
            .is_some()
    }

    /// Adds the pod whose stored key's name is `name`; `false` when it is a member already.
    fn insert(&mut self, name: &Arc<str>) -> bool {
        match self.0.entry(
            short_text::hash(name),
            |member| same_shared(member, name),
            |member| short_text::hash(member),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(Arc::clone(name));
                true
            }
        }
    }

    /// Removes the pod whose stored key's name is `name`; `false` when it was no member.
    fn remove(&mut self, name: &Arc<str>) -> bool {
        self.0
            .find_entry(short_text::hash(name), |member| same_shared(member, name))
            .map(|member| member.remove())
            .is_ok()
    }

    /// The names in order.
    fn sorted(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.0.iter().map(|name| &**name).collect();
        names.sort_unstable();
        names
    }
}

/// A filed PDB's members with what selects them: the label its entry is filed under (the
/// anchor) and the rest of its selector.
#[derive(Clone, Copy)]
pub struct FiledMembers<'a> {
    names: &'a Members,
    anchor: Option<(&'a str, &'a str)>,
    rest: &'a Selector,
}

impl<'a> FiledMembers<'a> {
    /// The members as the pods stored in `namespace` of `pods`.
    pub fn in_store(self, namespace: &'a str, pods: &'a Store<Pod>) -> MemberPods<'a> {
        MemberPods {
            filed: self,
            namespace,
            pods,
        }
    }
}

/// A PDB's members read from the store ([`FiledMembers::in_store`]).
#[derive(Clone, Copy)]
pub struct MemberPods<'a> {
    filed: FiledMembers<'a>,
    namespace: &'a str,
    pods: &'a Store<Pod>,
}

impl<'a> MemberPods<'a> {
    /// The namespace the pods are in.
    pub fn namespace(&self) -> &'a str {
        self.namespace
    }

    /// How many pods.
    pub fn len(&self) -> usize {
        self.filed.names.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.filed.names.0.is_empty()
    }

    /// The pods, in name order.
    pub fn pods(&self) -> impl Iterator<Item = &'a Pod> + use<'a> {
        let (namespace, pods) = (self.namespace, self.pods);
        self.filed
            .names
            .sorted()
            .into_iter()
            .filter_map(move |name| pods.get_by_name(namespace, name))
    }

    /// The member named `name`: the stored pod, if the PDB selects it. Asked of the pod's
    /// labels (the anchor's value, then the rest of the selector, which is nearly always
    /// empty) rather than searched for among the members' names: the members are exactly
    /// the stored pods the selector matches, and one look-up of the pod is needed anyway.
    pub fn get(&self, name: &str) -> Option<&'a Pod> {
        let pod = self.pods.get_by_name(self.namespace, name)?;
        let labels = &pod.metadata.labels;
        let FiledMembers { anchor, rest, .. } = self.filed;
        let selected = anchor
            .is_none_or(|(key, value)| labels.get(key).is_some_and(|v| v == value))
            && (rest.is_empty() || rest.matches(labels));
        debug_assert_eq!(
            selected,
            self.filed.names.contains(name),
            "{}/{name}: selected by its labels exactly when it is a member",
            self.namespace
        );
        selected.then_some(pod)
    }
}

/// Counts over a PDB's members that its status needs (C6–C8, C11), moved with every
/// member written, so that a sync costs what changed rather than what the PDB selects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Members neither terminating nor un-Ready: C11's healthy pods before the
    /// `disruptedPods` adjustment.
    pub ready_not_terminating: usize,
    /// Members by their controller reference, with counts.
    pub owners: OwnerCounts,
    /// Members without a controller reference (C8).
    pub unmanaged: usize,
}

impl Tally {
    fn add(&mut self, pod: &PodFacts) {
        self.ready_not_terminating += usize::from(pod.ready_not_terminating());
        match pod.controller {
            Some(owner) => self.owners.add(owner),
            None => self.unmanaged += 1,
        }
    }

    fn remove(&mut self, pod: &PodFacts) {
        self.ready_not_terminating -= usize::from(pod.ready_not_terminating());
        match pod.controller {
            Some(owner) => self.owners.remove(owner),
            None => self.unmanaged -= 1,
        }
    }

    /// Replaces `old`'s contribution by `new`'s, touching the owner counts only when the
    /// controller reference changed (a status write leaves it alone).
    fn replace(&mut self, old: &PodFacts, new: &PodFacts) {
        if old.same_controller(new) {
            self.ready_not_terminating -= usize::from(old.ready_not_terminating());
            self.ready_not_terminating += usize::from(new.ready_not_terminating());
        } else {
            self.remove(old);
            self.add(new);
        }
    }
}

/// A tally's controller references (uid, apiVersion, kind, name) with how many members
/// each controls, in that order. Nearly always one (a budget per workload): a sorted vector
/// holding exactly its entries, searched by the borrowed reference, where a B-tree map
/// allocated a node of eleven entries for the one and each member added or removed made
/// the key's four texts to look it up.
#[derive(Debug, Clone, Default)]
pub struct OwnerCounts {
    counts: Vec<(OwnerKey, usize)>,
    /// The scale these controllers give, as last worked out: kept while they stay the same.
    scale: ScaleMemo,
}

/// Two tallies are the same when they count the same: the scale one remembers is a cache.
impl PartialEq for OwnerCounts {
    fn eq(&self, other: &Self) -> bool {
        self.counts == other.counts
    }
}

/// A budget's expected scale (C7) and desired healthy pods (C6) with the controllers'
/// version they were worked out at (see `Cluster::controllers_version`, which also moves
/// with every write of the budget's spec); version 0 is none. Remembered through a shared
/// borrow of the index (the status is worked out while the stores are read beside it), in
/// atomics rather than `Cell`s so that the cluster stays `Sync`; a relaxed load or store is
/// a plain move. The version is stored last (release) and read first (acquire), so that a
/// reader on another thread that finds it finds the figures stored with it.
#[derive(Debug, Default)]
pub struct ScaleMemo {
    version: AtomicU64,
    scale: AtomicI64,
    desired_healthy: AtomicI64,
}

impl Clone for ScaleMemo {
    fn clone(&self) -> Self {
        ScaleMemo {
            version: AtomicU64::new(self.version.load(Acquire)),
            scale: AtomicI64::new(self.scale.load(Relaxed)),
            desired_healthy: AtomicI64::new(self.desired_healthy.load(Relaxed)),
        }
    }
}

impl ScaleMemo {
    /// The expected scale and desired healthy pods remembered at `version`, if any.
    pub fn at(&self, version: u64) -> Option<(i64, i64)> {
        (version != 0 && self.version.load(Acquire) == version)
            .then(|| (self.scale.load(Relaxed), self.desired_healthy.load(Relaxed)))
    }

    /// Remembers the expected scale and desired healthy pods worked out at `version`.
    pub fn remember(&self, version: u64, scale: i64, desired_healthy: i64) {
        self.scale.store(scale, Relaxed);
        self.desired_healthy.store(desired_healthy, Relaxed);
        self.version.store(version, Release);
    }

    fn forget(&mut self) {
        *self.version.get_mut() = 0;
    }
}

/// A controller reference as a tally files it: uid, apiVersion, kind, name.
pub type OwnerKey = (Uid, SmolStr, SmolStr, SmolStr);

impl OwnerCounts {
    /// The references in order, each with its count.
    pub fn iter(&self) -> impl Iterator<Item = (&OwnerKey, usize)> {
        self.counts.iter().map(|(key, count)| (key, *count))
    }

    /// The scale these controllers gave when last worked out, remembered until they change.
    pub fn scale(&self) -> &ScaleMemo {
        &self.scale
    }

    /// Where `owner` is, or would go.
    fn find(&self, owner: &OwnerReference) -> Result<usize, usize> {
        self.counts
            .binary_search_by(|((uid, api_version, kind, name), _)| {
                uid.cmp(&owner.uid)
                    .then_with(|| api_version.as_str().cmp(&owner.api_version))
                    .then_with(|| kind.as_str().cmp(&owner.kind))
                    .then_with(|| name.as_str().cmp(&owner.name))
            })
    }

    fn add(&mut self, owner: &OwnerReference) {
        match self.find(owner) {
            Ok(at) => self.counts[at].1 += 1,
            Err(at) => {
                self.scale.forget();
                let key = (
                    owner.uid.clone(),
                    owner.api_version.clone(),
                    owner.kind.clone(),
                    owner.name.clone(),
                );
                self.counts.insert(at, (key, 1));
            }
        }
    }

    fn remove(&mut self, owner: &OwnerReference) {
        if let Ok(at) = self.find(owner) {
            self.counts[at].1 -= 1;
            if self.counts[at].1 == 0 {
                self.counts.remove(at);
                self.scale.forget();
            }
        }
    }
}

/// The PDBs filed under one anchor (or without one), in name order. Nearly always one (a
/// budget per app): a sorted vector holds up to [`ByName::FEW`] with room for exactly what
/// it holds, where a B-tree would allocate a node of eleven entries for the one (at 10,000
/// PDBs, 13 MB); past that a B-tree, where inserting into a vector would move the rest.
#[derive(Debug, Clone)]
enum ByName {
    Few(Vec<(String, Filed)>),
    Many(BTreeMap<String, Filed>),
}

impl ByName {
    const FEW: usize = 8;

    fn new() -> ByName {
        ByName::Few(Vec::new())
    }

    fn is_empty(&self) -> bool {
        match self {
            ByName::Few(few) => few.is_empty(),
            ByName::Many(many) => many.is_empty(),
        }
    }

    fn get(&self, name: &str) -> Option<&Filed> {
        match self {
            ByName::Few(few) => few.iter().find(|(n, _)| n == name).map(|(_, f)| f),
            ByName::Many(many) => many.get(name),
        }
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Filed> {
        match self {
            ByName::Few(few) => few.iter_mut().find(|(n, _)| n == name).map(|(_, f)| f),
            ByName::Many(many) => many.get_mut(name),
        }
    }

    fn insert(&mut self, name: String, filed: Filed) {
        match self {
            ByName::Few(few) => match few.binary_search_by(|(n, _)| n.as_str().cmp(&name)) {
                Ok(at) => few[at].1 = filed,
                Err(_) if few.len() == Self::FEW => {
                    let mut many: BTreeMap<String, Filed> =
                        std::mem::take(few).into_iter().collect();
                    many.insert(name, filed);
                    *self = ByName::Many(many);
                }
                Err(at) => {
                    few.reserve_exact(1);
                    few.insert(at, (name, filed));
                }
            },
            ByName::Many(many) => {
                many.insert(name, filed);
            }
        }
    }

    fn remove(&mut self, name: &str) {
        match self {
            ByName::Few(few) => few.retain(|(n, _)| n != name),
            ByName::Many(many) => {
                many.remove(name);
            }
        }
    }

    /// The filed PDBs in name order.
    fn values(&self) -> Values<'_> {
        match self {
            ByName::Few(few) => Values::Few(few.iter()),
            ByName::Many(many) => Values::Many(many.values()),
        }
    }

    /// [`ByName::values`], to change.
    fn values_mut(&mut self) -> ValuesMut<'_> {
        match self {
            ByName::Few(few) => ValuesMut::Few(few.iter_mut()),
            ByName::Many(many) => ValuesMut::Many(many.values_mut()),
        }
    }
}

/// [`ByName::values`]: a match per item rather than a chain of two optional iterators,
/// on the decision's path.
enum Values<'a> {
    Few(std::slice::Iter<'a, (String, Filed)>),
    Many(std::collections::btree_map::Values<'a, String, Filed>),
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a Filed;
    fn next(&mut self) -> Option<&'a Filed> {
        match self {
            Values::Few(few) => few.next().map(|(_, filed)| filed),
            Values::Many(many) => many.next(),
        }
    }
}

/// [`ByName::values_mut`].
enum ValuesMut<'a> {
    Few(std::slice::IterMut<'a, (String, Filed)>),
    Many(std::collections::btree_map::ValuesMut<'a, String, Filed>),
}

impl<'a> Iterator for ValuesMut<'a> {
    type Item = &'a mut Filed;
    fn next(&mut self) -> Option<&'a mut Filed> {
        match self {
            ValuesMut::Few(few) => few.next().map(|(_, filed)| filed),
            ValuesMut::Many(many) => many.next(),
        }
    }
}

/// The PDBs of one namespace anchored at one `key=value`.
#[derive(Debug, Clone)]
struct Anchored {
    namespace: String,
    key: String,
    value: String,
    pdbs: ByName,
}

impl Anchored {
    // Inlined into every probe: the decision's look-up pays a call otherwise.
    #[inline(always)]
    fn is(&self, namespace: &str, key: &str, value: &str) -> bool {
        same(&self.value, value) && same(&self.key, key) && same(&self.namespace, namespace)
    }
}

/// The hasher state after the namespace: shared by every label of one pod.
/// No separators between the parts: a collision only costs a comparison, which tells
/// entries apart.
#[inline]
fn namespace_state(namespace: &str) -> FoldHasher<'static> {
    let mut hasher = FixedState::with_seed(0).build_hasher();
    hasher.write(namespace.as_bytes());
    hasher
}

#[inline]
fn anchor_hash(mut state: FoldHasher<'static>, key: &str, value: &str) -> u64 {
    state.write(key.as_bytes());
    state.write(value.as_bytes());
    state.finish()
}

fn hash_anchored(entry: &Anchored) -> u64 {
    anchor_hash(namespace_state(&entry.namespace), &entry.key, &entry.value)
}

/// The hash a PDB's key is filed under in [`PdbIndex::anchors`].
fn key_hash(key: &ObjectKey) -> u64 {
    FixedState::default().hash_one(key)
}

/// The index: the anchored PDBs of every namespace, the unanchored ones by namespace.
#[derive(Debug, Clone, Default)]
pub struct PdbIndex {
    anchored: HashTable<Anchored>,
    unanchored: FastMap<String, ByName>,
    /// Where each PDB is filed (the label it is anchored on, if any), by its key, so that
    /// a sync, a rewrite or a removal finds it.
    anchors: HashTable<(ObjectKey, Option<(String, String)>)>,
    /// Where in `anchors` the last PDB looked up was found: a budget is looked up for
    /// each write of its pods and each of its syncs, one after another. Taken only by a key
    /// that shares the filed key's texts (what the queues and the store hand out), known
    /// by address without reading the texts.
    last_filed: BucketHint,
    /// The label keys anchors use, with how many PDBs use each: a handful in a real cluster
    /// (`app`, `app.kubernetes.io/name`, …), so a pod's other labels are skipped after a
    /// comparison or two instead of a hash and a probe.
    anchor_keys: Vec<(String, usize)>,
    /// Where in `anchored` the last anchor looked up was found: a PDB's pods are written,
    /// and evicted, one after another.
    last_anchor: BucketHint,
    /// Moves whenever a PDB is filed or forgotten: what selects a pod can change only then.
    version: u64,
    /// The PDBs [`PdbIndex::pod_written`] found selecting a pod last, with the labels (a
    /// shared map, held so that its address cannot be reused), the namespace and the
    /// version they were found at. A pod is written several times with the same labels, a
    /// workload's pods share one map, and writes come a namespace at a time: a write that
    /// changes no tally is answered from here, without finding the PDBs again.
    last_selecting: Option<SelectingFound>,
    /// The PDBs [`PdbIndex::selecting_remembered`] found last, as the eviction handler takes
    /// them: a drain's attempts come a workload at a time, most of them refused, each
    /// finding the same budgets for the same shared labels. Its handles on the budgets are
    /// let go whenever a budget is written (filed again, forgotten, or given a status in
    /// place), so that they never hold an old version nor make an in-place write copy.
    last_pdbs: Option<PdbsFound>,
}

/// See [`PdbIndex::last_pdbs`].
#[derive(Debug, Clone)]
struct PdbsFound {
    labels: StringMap,
    namespace: SmolStr,
    pdbs: MatchingPdbs,
}

/// See [`PdbIndex::last_selecting`].
#[derive(Debug, Clone)]
struct SelectingFound {
    labels: StringMap,
    namespace: SmolStr,
    version: u64,
    selecting: Selecting,
}

impl PdbIndex {
    /// Files `pdb` (replacing any earlier entry under its key). A write that leaves the
    /// selector as it was (a status update, most often) only swaps the stored object and
    /// returns `false`; otherwise the PDB is filed with no members and `true` says that
    /// they must be given with [`PdbIndex::set_members`].
    pub fn insert(&mut self, key: &ObjectKey, pdb: &Arc<PodDisruptionBudget>) -> bool {
        self.last_pdbs = None;
        if let Some(filed) = self.filed_mut(key)
            && filed.pdb.spec.selector == pdb.spec.selector
        {
            filed.pdb = Arc::clone(pdb);
            return false;
        }
        self.remove(key);
        // E13: a null or invalid selector selects nothing, so it is not filed at all.
        let Some(selector) = crate::cluster::eviction::pdb_selector(pdb) else {
            return false;
        };
        let anchor = selector
            .anchor()
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let filed = match &anchor {
            Some((k, v)) => {
                let ns = &key.namespace;
                let hash = anchor_hash(namespace_state(ns), k, v);
                let entry = self
                    .anchored
                    .entry(hash, |e| e.is(ns, k, v), hash_anchored)
                    .or_insert_with(|| Anchored {
                        namespace: ns.to_string(),
                        key: k.clone(),
                        value: v.clone(),
                        pdbs: ByName::new(),
                    });
                &mut entry.into_mut().pdbs
            }
            None => self
                .unanchored
                .entry(key.namespace.to_string())
                .or_insert_with(ByName::new),
        };
        let to_check = if anchor.is_some() {
            selector.residual_after_anchor()
        } else {
            selector
        };
        filed.insert(
            key.name.to_string(),
            Filed {
                to_check,
                key: key.clone(),
                pdb: Arc::clone(pdb),
                members: Members::default(),
                tally: Tally::default(),
            },
        );
        if let Some((k, _)) = &anchor {
            match self.anchor_keys.iter_mut().find(|(used, _)| used == k) {
                Some((_, count)) => *count += 1,
                None => self.anchor_keys.push((k.clone(), 1)),
            }
        }
        self.version += 1;
        // `remove` above took out any earlier entry under this key.
        debug_assert!(self.anchor_of(key).is_none(), "{key} is filed once");
        self.anchors
            .insert_unique(key_hash(key), (key.clone(), anchor), |(filed, _)| {
                key_hash(filed)
            });
        true
    }

    /// The label the PDB at `key` is filed under (`None` inside when it is filed
    /// unanchored), `None` when it is not filed.
    #[inline]
    fn anchor_of(&self, key: &ObjectKey) -> Option<&Option<(String, String)>> {
        self.last_filed
            .find(
                &self.anchors,
                |(filed, _)| {
                    Arc::ptr_eq(&filed.name, &key.name)
                        && Arc::ptr_eq(&filed.namespace, &key.namespace)
                },
                || key_hash(key),
                |(filed, _)| filed == key,
            )
            .map(|(_, anchor)| anchor)
    }

    fn filed_mut(&mut self, key: &ObjectKey) -> Option<&mut Filed> {
        let ns = key.namespace.as_ref();
        match self.anchor_of(key)? {
            Some((k, v)) => {
                let is = |e: &Anchored| e.is(ns, k, v);
                let hash = || anchor_hash(namespace_state(ns), k, v);
                let bucket = self.last_anchor.find_bucket(&self.anchored, is, hash, is)?;
                self.anchored
                    .get_bucket_mut(bucket)?
                    .pdbs
                    .get_mut(&key.name)
            }
            None => self.unanchored.get_mut(ns)?.get_mut(&key.name),
        }
    }

    /// The filed PDB at `key` and the label it is filed under.
    fn filed_with_anchor(&self, key: &ObjectKey) -> Option<(&Filed, Option<(&str, &str)>)> {
        let ns = key.namespace.as_ref();
        match self.anchor_of(key)? {
            Some((k, v)) => {
                let is = |e: &Anchored| e.is(ns, k, v);
                let hash = || anchor_hash(namespace_state(ns), k, v);
                let filed = self
                    .last_anchor
                    .find(&self.anchored, is, hash, is)?
                    .pdbs
                    .get(&key.name)?;
                Some((filed, Some((k.as_str(), v.as_str()))))
            }
            None => Some((self.unanchored.get(ns)?.get(&key.name)?, None)),
        }
    }

    /// How many entries the index holds: filed PDBs and their members, all together.
    pub fn entries(&self) -> usize {
        let filed = |names: &ByName| {
            names
                .values()
                .map(|filed| 1 + filed.members.len())
                .sum::<usize>()
        };
        self.anchored.iter().map(|e| filed(&e.pdbs)).sum::<usize>()
            + self.unanchored.values().map(filed).sum::<usize>()
    }

    /// Gives the PDB at `key` its members (after [`PdbIndex::insert`] asked for them): the
    /// selected pods, each with its stored key's name.
    pub fn set_members<'a>(
        &mut self,
        key: &ObjectKey,
        pods: impl IntoIterator<Item = (Arc<str>, &'a Pod)>,
    ) {
        if let Some(filed) = self.filed_mut(key) {
            let mut members = Members::default();
            let mut tally = Tally::default();
            for (name, pod) in pods {
                if members.insert(&name) {
                    tally.add(&PodFacts::of(pod));
                }
            }
            filed.members = members;
            filed.tally = tally;
        }
    }

    /// The filed PDB at `key`: its members by name and their tally.
    pub fn tallied(&self, key: &ObjectKey) -> Option<(FiledMembers<'_>, &Tally)> {
        self.filed_with_anchor(key)
            .map(|(filed, anchor)| (filed.members_with(anchor), &filed.tally))
    }

    /// The names of the pods the filed PDB at `key` selects, in order; `None` when it is not
    /// filed (no PDB, or a null or invalid selector).
    pub fn members(&self, key: &ObjectKey) -> Option<FiledMembers<'_>> {
        self.filed_with_anchor(key)
            .map(|(filed, anchor)| filed.members_with(anchor))
    }

    /// Moves the pod at `key` (the key as stored, whose name the member sets share) between
    /// member sets as it is written: out of every PDB its `old` labels matched, into every
    /// PDB its `new` labels match; a write that keeps the labels moves only the tallies.
    /// Returns the PDBs that select the pod as written (as deleted, when `new` is `None`):
    /// the first by name and how many, which is what C3 needs, found on the same pass.
    pub fn pod_written(
        &mut self,
        key: &ObjectKey,
        old: Option<&PodFacts>,
        new: Option<&PodFacts>,
    ) -> Cow<'_, Selecting> {
        let mut selecting = Selecting::default();
        match (old, new) {
            (Some(old), Some(new)) if old.labels == new.labels => {
                // Nothing to tally (a write of the pod's status, its deletion stamp, its
                // binding): the PDBs found for the same labels last answer, when nothing
                // was filed or forgotten since. Lent, not copied: the caller copies the
                // first's key only to queue it, when it is not queued already.
                let remembered = old.same_controller(new)
                    && old.ready_not_terminating() == new.ready_not_terminating()
                    && self.last_selecting.as_ref().is_some_and(|found| {
                        found.version == self.version
                            && found.labels.shares(new.labels)
                            && same(&found.namespace, new.namespace)
                    });
                if !remembered {
                    self.for_each_selecting_mut(new.namespace, new.labels, |filed| {
                        selecting.count(&filed.key);
                        debug_assert!(filed.members.contains(&key.name), "{key} is a member");
                        filed.tally.replace(old, new);
                    });
                    self.remember_selecting(new, selecting);
                }
            }
            _ => {
                if let Some(old) = old {
                    let count_these = new.is_none();
                    self.for_each_selecting_mut(old.namespace, old.labels, |filed| {
                        if count_these {
                            selecting.count(&filed.key);
                        }
                        if filed.members.remove(&key.name) {
                            filed.tally.remove(old);
                        }
                    });
                }
                let Some(new) = new else {
                    return Cow::Owned(selecting);
                };
                self.for_each_selecting_mut(new.namespace, new.labels, |filed| {
                    selecting.count(&filed.key);
                    if filed.members.insert(&key.name) {
                        filed.tally.add(new);
                    }
                });
                self.remember_selecting(new, selecting);
            }
        }
        // The answer for a pod that stays is the remembered one.
        match &self.last_selecting {
            Some(found) => Cow::Borrowed(&found.selecting),
            None => Cow::Owned(Selecting::default()),
        }
    }

    /// Remembers `selecting` as the answer for pods labelled and namespaced as `pod`.
    fn remember_selecting(&mut self, pod: &PodFacts, selecting: Selecting) {
        match &mut self.last_selecting {
            // Found for the same labels, namespace and PDBs: what it holds is `selecting`
            // already.
            Some(found)
                if found.labels.shares(pod.labels)
                    && found.version == self.version
                    && same(&found.namespace, pod.namespace) =>
            {
                debug_assert_eq!(found.selecting.first, selecting.first);
                debug_assert_eq!(found.selecting.count, selecting.count);
            }
            Some(found) if found.labels.shares(pod.labels) => {
                found.namespace.clone_from(pod.namespace);
                found.version = self.version;
                found.selecting = selecting;
            }
            _ => {
                self.last_selecting = Some(SelectingFound {
                    labels: pod.labels.clone(),
                    namespace: pod.namespace.clone(),
                    version: self.version,
                    selecting,
                })
            }
        }
    }

    /// [`PdbIndex::for_each_selecting`] with each selecting PDB's entry, to change.
    fn for_each_selecting_mut(
        &mut self,
        namespace: &str,
        labels: &StringMap,
        mut found: impl FnMut(&mut Filed),
    ) {
        let mut consider = |filed: &mut ByName| {
            for entry in filed.values_mut() {
                if entry.to_check.is_empty() || entry.to_check.matches(labels) {
                    found(entry);
                }
            }
        };
        if !self.anchored.is_empty() {
            let mut state = None;
            for (k, v) in labels {
                if !self.anchor_keys.iter().any(|(used, _)| same(used, k)) {
                    continue;
                }
                let is = |e: &Anchored| e.is(namespace, k, v);
                let hash = || {
                    let state = state.get_or_insert_with(|| namespace_state(namespace));
                    anchor_hash(state.clone(), k, v)
                };
                if let Some(bucket) = self.last_anchor.find_bucket(&self.anchored, is, hash, is)
                    && let Some(entry) = self.anchored.get_bucket_mut(bucket)
                {
                    consider(&mut entry.pdbs);
                }
            }
        }
        if !self.unanchored.is_empty()
            && let Some(filed) = self.unanchored.get_mut(namespace)
        {
            consider(filed);
        }
    }

    /// The index's handle on the stored PDB at `key`, if it is filed: for a status write in
    /// place, which takes the handle away while it changes the store's copy (so that the
    /// copy is not shared) and then puts the new version in.
    pub fn shared_pdb_mut(&mut self, key: &ObjectKey) -> Option<&mut Arc<PodDisruptionBudget>> {
        self.last_pdbs = None;
        self.filed_mut(key).map(|filed| &mut filed.pdb)
    }

    /// Handles on the PDBs that select a pod labelled `labels` in `namespace`, in name order
    /// (E13's answer, as the eviction handler takes it).
    pub fn selecting_in_order(&self, namespace: &str, labels: &StringMap) -> MatchingPdbs {
        let mut pdbs = MatchingPdbs::new();
        self.for_each_selecting(namespace, labels, |pdb| pdbs.push(Arc::clone(pdb)));
        if pdbs.len() > 1 {
            pdbs.sort_unstable_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        }
        pdbs
    }

    /// [`PdbIndex::selecting_in_order`], remembered, and answered from memory for
    /// the same shared labels and namespace until a budget is written.
    pub fn selecting_remembered(&mut self, namespace: &str, labels: &StringMap) -> MatchingPdbs {
        if let Some(found) = &self.last_pdbs
            && found.labels.shares(labels)
            && same(&found.namespace, namespace)
        {
            return found.pdbs.clone();
        }
        let pdbs = self.selecting_in_order(namespace, labels);
        self.last_pdbs = Some(PdbsFound {
            labels: labels.clone(),
            namespace: SmolStr::new(namespace),
            pdbs: pdbs.clone(),
        });
        pdbs
    }

    /// Forgets the PDB at `key`.
    pub fn remove(&mut self, key: &ObjectKey) {
        self.last_pdbs = None;
        self.version += 1;
        let Ok(entry) = self
            .anchors
            .find_entry(key_hash(key), |(filed, _)| filed == key)
        else {
            return;
        };
        let ((_, anchor), _) = entry.remove();
        let ns = key.namespace.as_ref();
        match anchor {
            Some((k, v)) => {
                if let Some(at) = self.anchor_keys.iter().position(|(used, _)| *used == k) {
                    self.anchor_keys[at].1 -= 1;
                    if self.anchor_keys[at].1 == 0 {
                        self.anchor_keys.swap_remove(at);
                    }
                }
                let hash = anchor_hash(namespace_state(ns), &k, &v);
                if let Ok(mut entry) = self.anchored.find_entry(hash, |e| e.is(ns, &k, &v)) {
                    entry.get_mut().pdbs.remove(&key.name);
                    if entry.get().pdbs.is_empty() {
                        entry.remove();
                    }
                }
            }
            None => {
                if let Some(names) = self.unanchored.get_mut(ns) {
                    names.remove(&key.name);
                    if names.is_empty() {
                        self.unanchored.remove(ns);
                    }
                }
            }
        }
    }

    /// The names of the PDBs in `namespace` that select a pod with `labels`, sorted.
    pub fn selecting<'a>(&'a self, namespace: &str, labels: &StringMap) -> Vec<&'a str> {
        let mut names: Vec<&str> = Vec::new();
        self.for_each_selecting(namespace, labels, |pdb| {
            names.push(pdb.metadata.name.as_str())
        });
        // Each PDB is filed once, so there is nothing to de-duplicate; only to order.
        names.sort_unstable();
        names
    }

    /// Calls `found` with every stored PDB in `namespace` that selects a pod with `labels`,
    /// in no particular order, allocating nothing.
    pub fn for_each_selecting<'a>(
        &'a self,
        namespace: &str,
        labels: &StringMap,
        mut found: impl FnMut(&'a Arc<PodDisruptionBudget>),
    ) {
        self.for_each_selecting_filed(namespace, labels, |filed, _| found(&filed.pdb));
    }

    /// [`PdbIndex::for_each_selecting`] with each PDB's members and their tally.
    pub fn for_each_selecting_tallied<'a>(
        &'a self,
        namespace: &str,
        labels: &StringMap,
        mut found: impl FnMut(&'a Arc<PodDisruptionBudget>, FiledMembers<'a>, &'a Tally),
    ) {
        self.for_each_selecting_filed(namespace, labels, |filed, anchor| {
            found(&filed.pdb, filed.members_with(anchor), &filed.tally)
        });
    }

    #[inline]
    fn for_each_selecting_filed<'a>(
        &'a self,
        namespace: &str,
        labels: &StringMap,
        mut found: impl FnMut(&'a Filed, Option<(&'a str, &'a str)>),
    ) {
        let mut consider = |filed: &'a ByName, anchor: Option<(&'a str, &'a str)>| {
            for entry in filed.values() {
                if entry.to_check.is_empty() || entry.to_check.matches(labels) {
                    found(entry, anchor);
                }
            }
        };
        if !self.anchored.is_empty() {
            // The namespace is hashed once, and only if some label is an anchor's key.
            let mut state = None;
            for (k, v) in labels {
                if !self.anchor_keys.iter().any(|(used, _)| same(used, k)) {
                    continue;
                }
                let is = |e: &Anchored| e.is(namespace, k, v);
                let hash = || {
                    let state = state.get_or_insert_with(|| namespace_state(namespace));
                    anchor_hash(state.clone(), k, v)
                };
                if let Some(entry) = self.last_anchor.find(&self.anchored, is, hash, is) {
                    consider(&entry.pdbs, Some((&entry.key, &entry.value)));
                }
            }
        }
        if !self.unanchored.is_empty()
            && let Some(filed) = self.unanchored.get(namespace)
        {
            consider(filed, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn filed(name: &str) -> Filed {
        let mut pdb = PodDisruptionBudget::default();
        pdb.metadata.name = name.into();
        Filed {
            to_check: Selector::default(),
            key: ObjectKey::new("ns", name),
            pdb: Arc::new(pdb),
            members: Members::default(),
            tally: Tally::default(),
        }
    }

    proptest! {
        /// Across the switch from the vector to the B-tree, the PDBs under one anchor are
        /// those a plain map holds, in name order.
        #[test]
        fn by_name_is_a_map_in_name_order(
            ops in prop::collection::vec((any::<bool>(), 0u8..24), 0..80)
        ) {
            let mut by_name = ByName::new();
            let mut model = BTreeMap::new();
            for (insert, n) in ops {
                let name = format!("pdb-{n}");
                if insert {
                    by_name.insert(name.clone(), filed(&name));
                    model.insert(name, ());
                } else {
                    by_name.remove(&name);
                    model.remove(&name);
                }
                let names: Vec<&str> = by_name.values().map(|f| f.pdb.metadata.name.as_str()).collect();
                prop_assert_eq!(names, model.keys().map(String::as_str).collect::<Vec<_>>());
                prop_assert_eq!(by_name.is_empty(), model.is_empty());
                prop_assert_eq!(by_name.get(&format!("pdb-{n}")).is_some(), model.contains_key(&format!("pdb-{n}")));
                prop_assert_eq!(by_name.values_mut().count(), model.len());
            }
        }
    }
}
