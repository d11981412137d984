//! One copy of each label set, annotation set, owner reference list, pod spec and pod
//! condition list the store holds.
//!
//! The pods of one ReplicaSet carry the same labels, owner and containers, volumes and
//! tolerations, and those the kubelets start in the same second report the same conditions:
//! in a real cluster and in the benches alike, most of what a pod's object holds is held by
//! hundreds of others. These parts are shared copy-on-write values ([`StringMap`],
//! [`Unmodeled`], [`SharedList`]), so the store keeps one copy of each distinct value and
//! every object stored with an equal one shares it. A write whose part is the very one the object
//! already had (the usual status or condition write) costs a pointer comparison; only a new
//! part is hashed and looked up.
//!
//! Copies nothing else holds are dropped from the tables now and then, so a stream of objects
//! that come and go does not grow them; when that happens never reaches an output.

use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::cluster::FastSet;
use crate::model::{
    KnownValid, Merged, ObjectMeta, OwnerReference, OwnerReferences, PodCondition, PodConditions,
    SharedList, StringMap, Unmodeled,
};
use crate::time::Time;

/// Values read out of shared specs, each kept while its spec lives. Pods made from one
/// template share one spec (see [`SharedParts`]), and a workload's spec is shared by every
/// copy of the workload until it changes, so what has to be read out of one — a pod's
/// requests and placement, a workload's decoded pod template — is read once and found
/// again by the spec's address. Each entry holds its spec, so that address cannot be
/// freed and reused while the entry lives; past [`PerSpec::CAPACITY`] specs the table
/// starts over, so that specs nothing uses any more do not pile up.
#[derive(Debug, Clone)]
pub(crate) struct PerSpec<V> {
    entries: crate::cluster::FastMap<usize, (Unmodeled, V)>,
}

impl<V> Default for PerSpec<V> {
    fn default() -> Self {
        PerSpec {
            entries: Default::default(),
        }
    }
}

impl<V> PerSpec<V> {
    /// The most specs remembered at once.
    pub(crate) const CAPACITY: usize = 1024;

    /// What `read` gives for `spec`, read only the first time `spec` is seen.
    pub(crate) fn get(&mut self, spec: &Unmodeled, read: impl FnOnce(&Unmodeled) -> V) -> &V {
        let address = spec.address();
        if !self.entries.contains_key(&address) && self.entries.len() >= Self::CAPACITY {
            self.entries.clear();
        }
        &self
            .entries
            .entry(address)
            .or_insert_with(|| (spec.clone(), read(spec)))
            .1
    }
}

/// The distinct parts the store holds; see the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedParts {
    string_maps: Table<StringMap>,
    specs: Table<Unmodeled>,
    conditions: Table<PodConditions>,
    owners: Table<OwnerReferences>,
    /// The list [`SharedParts::sole_owner`] gave last: a workload's replacements are made
    /// one after another, and each after the first is answered by comparing the reference
    /// with it instead of hashing the reference and probing the table.
    last_sole_owner: Option<OwnerReferences>,
    /// The last condition changes [`SharedParts::conditions_set`] worked out.
    condition_changes: RecentConditionChanges,
    /// The last label set and owner list an object was created with and found valid:
    /// held, so that neither address can be reused while remembered.
    valid_labels: Option<StringMap>,
    valid_owners: Option<OwnerReferences>,
}

/// The last few condition changes worked out, each found again by the list it started
/// from, the instant and the conditions it set: the pods a kubelet starts (or stops) in
/// one second, and the pods evicted in one second, go from one shared list to one other,
/// and each after the first is answered by two pointer comparisons and the instant,
/// without merging, hashing and comparing whole lists again. A change holds the lists it
/// goes from and to, so neither address can be reused while it is remembered: the same
/// address is the same list. The conditions set are a static array (each caller sets one
/// of a few fixed sets, the kubelet's start, its stop, the eviction's `DisruptionTarget`),
/// recognised by its address: compared field by field they cost more than the rest of the
/// change's look-up (about 450 instructions a look-up for the kubelet's four conditions).
/// Several, because the kinds of change interleave (a start, then a stop, then an
/// eviction at another instant).
#[derive(Debug, Clone, Default)]
struct RecentConditionChanges {
    changes: [Option<ConditionChange>; RecentConditionChanges::REMEMBERED],
    /// The slot the next change goes into (the oldest).
    next: usize,
}

#[derive(Debug, Clone)]
struct ConditionChange {
    from: PodConditions,
    now: Time,
    set: &'static [PodCondition],
    to: Option<PodConditions>,
}

impl RecentConditionChanges {
    const REMEMBERED: usize = 4;

    /// The remembered change from `from` at `now` setting `set`: the same static array,
    /// by address (an equal array elsewhere is not recognised, and is worked out again).
    fn find(
        &self,
        from: &PodConditions,
        set: &'static [PodCondition],
        now: Time,
    ) -> Option<&ConditionChange> {
        self.changes.iter().flatten().find(|change| {
            change.now == now && std::ptr::eq(change.set, set) && change.from.shares(from)
        })
    }

    fn remember(&mut self, change: ConditionChange) {
        self.changes[self.next] = Some(change);
        self.next = (self.next + 1) % Self::REMEMBERED;
    }
}

impl SharedParts {
    /// The parts of `meta` that are the very label set and owner list a create last found
    /// valid: the replacements a workload makes share both, and checking them again cost
    /// a created pod a quarter of its metadata's validation.
    pub(crate) fn known_valid(&self, meta: &ObjectMeta) -> KnownValid {
        KnownValid {
            labels: self
                .valid_labels
                .as_ref()
                .is_some_and(|labels| labels.shares(&meta.labels)),
            owner_references: self
                .valid_owners
                .as_ref()
                .is_some_and(|owners| owners.shares(&meta.owner_references)),
        }
    }

    /// Remembers the label set and owner list of `meta`, which validated with no error.
    pub(crate) fn remember_valid(&mut self, meta: &ObjectMeta) {
        if !self
            .valid_labels
            .as_ref()
            .is_some_and(|labels| labels.shares(&meta.labels))
        {
            self.valid_labels = Some(meta.labels.clone());
        }
        if !self
            .valid_owners
            .as_ref()
            .is_some_and(|owners| owners.shares(&meta.owner_references))
        {
            self.valid_owners = Some(meta.owner_references.clone());
        }
    }

    /// Points `map` at the stored copy equal to it, storing it if it is the first. `before`
    /// is what the object held until now: when `map` is still that one, nothing is looked up.
    pub(crate) fn share_map(&mut self, map: &mut StringMap, before: Option<&StringMap>) {
        if map.is_empty() || before.is_some_and(|b| b.shares(map)) {
            return;
        }
        self.string_maps
            .share(map, StringMap::address, StringMap::strong_count, hash_map);
    }

    /// As [`share_map`](Self::share_map), for a spec's unmodeled fields.
    pub(crate) fn share_spec(&mut self, spec: &mut Unmodeled, before: Option<&Unmodeled>) {
        if spec.is_empty() || before.is_some_and(|b| b.shares(spec)) {
            return;
        }
        self.specs.share(
            spec,
            Unmodeled::address,
            Unmodeled::strong_count,
            hash_fields,
        );
    }

    /// As [`share_map`](Self::share_map), for an object's owner references.
    pub(crate) fn share_owners(
        &mut self,
        owners: &mut OwnerReferences,
        before: Option<&OwnerReferences>,
    ) {
        share_list(&mut self.owners, owners, before, |owners| {
            hash_owners(owners.iter())
        });
    }

    /// The stored list of `owner` alone, found without making one when it is stored (a
    /// workload's every pod holds it), stored if it is the first.
    pub(crate) fn sole_owner(&mut self, owner: OwnerReference) -> OwnerReferences {
        if let Some(last) = &self.last_sole_owner
            && last.len() == 1
            && last[0] == owner
        {
            return last.clone();
        }
        let h = hash_owners(std::iter::once(&owner));
        let list = match self
            .owners
            .values
            .find(h, |(sh, s)| *sh == h && s.len() == 1 && s[0] == owner)
        {
            Some((_, stored)) => stored.clone(),
            None => {
                let mut list = OwnerReferences::from(vec![owner]);
                self.share_owners(&mut list, None);
                list
            }
        };
        self.last_sole_owner = Some(list.clone());
        list
    }

    /// The stored list equal to `existing` with each of `conditions` (a static array, see
    /// [`RecentConditionChanges`]) set as
    /// [`Pod::set_conditions`](crate::model::Pod::set_conditions) sets them, found without
    /// making it when it is stored (the pods the kubelets start or stop in one second, the
    /// pods evicted in one second, arrive at the same lists); stored if it is the first.
    /// `None` when nothing would change.
    ///
    /// The merged list is worked out as where each of its conditions comes from (one of
    /// `existing`, kept, or one of `conditions`, set), not copied: it is hashed and compared
    /// with the stored lists as that, and made only when no stored list equals it.
    pub(crate) fn conditions_set<const N: usize>(
        &mut self,
        existing: &PodConditions,
        conditions: &'static [PodCondition; N],
        now: Time,
    ) -> Option<PodConditions> {
        #[cfg(debug_assertions)]
        let expected = crate::model::conditions_set(existing, conditions.clone(), now);
        if let Some(change) = self.condition_changes.find(existing, conditions, now) {
            #[cfg(debug_assertions)]
            debug_assert_eq!(
                expected.as_deref(),
                change.to.as_deref(),
                "a remembered change is the merge"
            );
            return change.to.clone();
        }
        let list = self.merged_and_shared(existing, conditions.clone(), now);
        #[cfg(debug_assertions)]
        debug_assert_eq!(
            expected.as_deref(),
            list.as_deref(),
            "the merge as Pod::set_conditions makes it"
        );
        self.condition_changes.remember(ConditionChange {
            from: existing.clone(),
            now,
            set: conditions,
            to: list.clone(),
        });
        list
    }

    /// [`SharedParts::conditions_set`] worked out: the merge, found among the stored lists
    /// or stored.
    fn merged_and_shared<const N: usize>(
        &mut self,
        existing: &PodConditions,
        mut conditions: [PodCondition; N],
        now: Time,
    ) -> Option<PodConditions> {
        let merged = crate::model::merge_conditions(existing, &mut conditions, now)?;
        let condition = |from: &Merged| match *from {
            Merged::Kept(at) => &existing[at],
            Merged::Set(at) => &conditions[at],
        };
        let h = hash_conditions(merged.iter().map(condition));
        let found = self.conditions.values.find(h, |(sh, s)| {
            *sh == h
                && s.len() == merged.len()
                && s.iter().zip(&merged).all(|(c, from)| c == condition(from))
        });
        let list = match found {
            Some((_, stored)) => stored.clone(),
            None => {
                let made = crate::model::merged_list(existing, &mut conditions, &merged);
                let mut list = PodConditions::from_exact(made);
                self.share_conditions(&mut list, None);
                list
            }
        };
        Some(list)
    }

    /// As [`share_map`](Self::share_map), for a pod's conditions.
    pub(crate) fn share_conditions(
        &mut self,
        conditions: &mut PodConditions,
        before: Option<&PodConditions>,
    ) {
        share_list(&mut self.conditions, conditions, before, |list| {
            hash_conditions(list.iter())
        });
    }
}

/// Points `list` at the stored copy in `table` equal to it, storing it if it is the first;
/// nothing is looked up when it is empty or still `before`.
fn share_list<T: Clone + PartialEq>(
    table: &mut Table<SharedList<T>>,
    list: &mut SharedList<T>,
    before: Option<&SharedList<T>>,
    hash: fn(&SharedList<T>) -> u64,
) {
    if list.is_empty() || before.is_some_and(|b| b.shares(list)) {
        return;
    }
    table.share(list, SharedList::address, SharedList::strong_count, hash);
}

/// One table of distinct values, with its clean-up schedule.
#[derive(Debug, Clone)]
struct Table<T> {
    values: HashTable<(u64, T)>,
    /// Where each stored value lives. A value already shared from the table (the labels
    /// and spec of a pod made from a template, which are the table's own) is known by its
    /// address, without hashing it: an address here is the table's value, which the table
    /// keeps alive so that no other value can be given the address meanwhile.
    addresses: FastSet<usize>,
    /// The size at which the next clean-up runs: twice the size the last one left.
    clean_at: usize,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            values: HashTable::new(),
            addresses: FastSet::default(),
            clean_at: 1_024,
        }
    }
}

impl<T: Clone + PartialEq> Table<T> {
    fn share(
        &mut self,
        value: &mut T,
        address: fn(&T) -> usize,
        holders: fn(&T) -> usize,
        hash: fn(&T) -> u64,
    ) {
        if self.addresses.contains(&address(value)) {
            return;
        }
        let h = hash(value);
        if let Some((_, stored)) = self.values.find(h, |(sh, s)| *sh == h && s == value) {
            *value = stored.clone();
            return;
        }
        if self.values.len() >= self.clean_at {
            // Amortised O(1): a clean-up runs after the table has doubled since the last.
            let addresses = &mut self.addresses;
            self.values.retain(|(_, stored)| {
                let held = holders(stored) > 1;
                if !held {
                    addresses.remove(&address(stored));
                }
                held
            });
            self.clean_at = (2 * self.values.len()).max(1_024);
        }
        self.addresses.insert(address(value));
        self.values
            .insert_unique(h, (h, value.clone()), |(sh, _)| *sh);
    }
}

fn hasher() -> impl Hasher {
    FixedState::with_seed(0).build_hasher()
}

fn hash_map(map: &StringMap) -> u64 {
    let mut h = hasher();
    for (k, v) in map.iter() {
        k.hash(&mut h);
        v.hash(&mut h);
    }
    h.finish()
}

/// A hash of the fields' text: equal texts are equal fields; equal fields written in
/// another order hash apart and are stored twice, which is harmless.
fn hash_fields(fields: &Unmodeled) -> u64 {
    let mut h = hasher();
    fields.text().hash(&mut h);
    h.finish()
}

/// A hash of the parts that tell owner lists apart — each owner's UID and name — cheap
/// and consistent with equality, as [`hash_conditions`]'s.
fn hash_owners<'a>(owners: impl Iterator<Item = &'a OwnerReference>) -> u64 {
    let mut h = hasher();
    for owner in owners {
        owner.uid.hash(&mut h);
        owner.name.hash(&mut h);
    }
    h.finish()
}

/// A hash of the parts that tell condition lists apart in practice — each condition's type,
/// status and transition time — so that a list is hashed in a few instructions per condition
/// (the kubelet writes one per pod it starts or stops). Equal lists hash equally; lists that
/// differ only in reasons or messages collide, and equality tells them apart.
fn hash_conditions<'a>(conditions: impl ExactSizeIterator<Item = &'a PodCondition>) -> u64 {
    let mut h = hasher();
    h.write_usize(conditions.len());
    for condition in conditions {
        h.write_usize(condition.type_.len());
        h.write_u8(condition.status.as_bytes().first().copied().unwrap_or(0));
        condition.last_transition_time.hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal maps end up as one copy; a different one stays apart; the table forgets copies
    /// nothing holds any more once it has doubled.
    #[test]
    fn equal_parts_share_one_copy() {
        let mut parts = SharedParts::default();
        let mut a: StringMap = [("app", "web")].into();
        let mut b: StringMap = [("app", "web")].into();
        let mut c: StringMap = [("app", "db")].into();
        parts.share_map(&mut a, None);
        parts.share_map(&mut b, None);
        parts.share_map(&mut c, None);
        assert!(a.shares(&b));
        assert!(!a.shares(&c));
        assert_eq!(parts.string_maps.values.len(), 2);

        drop((a, b, c));
        for i in 0..1_100 {
            let mut m: StringMap = [("app", format!("app-{i}"))].into();
            parts.share_map(&mut m, None);
        }
        assert!(parts.string_maps.values.len() < 1_100);

        let spec = |image: &str| -> Unmodeled {
            serde_json::json!({"containers": [{"name": "c", "image": image, "ports": [80, 1.5]}]})
                .as_object()
                .cloned()
                .unwrap()
                .into()
        };
        let (mut x, mut y, mut z) = (spec("a"), spec("a"), spec("b"));
        parts.share_spec(&mut x, None);
        parts.share_spec(&mut y, None);
        parts.share_spec(&mut z, None);
        assert!(x.shares(&y) && !x.shares(&z));
        assert_eq!(x, spec("a"));
    }

    /// The table knows each stored copy by its address, and only those: a copy it forgot in
    /// a clean-up is forgotten by address too, so a value later given that address is
    /// looked up and shared like any other.
    #[test]
    fn stored_copies_are_known_by_their_address_only() {
        let table_addresses = |parts: &SharedParts| -> std::collections::BTreeSet<usize> {
            parts.string_maps.addresses.iter().copied().collect()
        };
        let stored = |parts: &SharedParts| -> std::collections::BTreeSet<usize> {
            parts
                .string_maps
                .values
                .iter()
                .map(|(_, m)| m.address())
                .collect()
        };
        let mut parts = SharedParts::default();
        let mut kept: StringMap = [("app", "kept")].into();
        parts.share_map(&mut kept, None);
        // Sharing the stored copy again changes nothing.
        let mut again = kept.clone();
        parts.share_map(&mut again, None);
        assert!(again.shares(&kept));
        for i in 0..3_000 {
            let mut m: StringMap = [("app", format!("app-{i}"))].into();
            parts.share_map(&mut m, None);
            if i % 64 == 0 {
                assert_eq!(table_addresses(&parts), stored(&parts));
            }
        }
        assert_eq!(table_addresses(&parts), stored(&parts));
        assert!(parts.string_maps.values.len() < 3_000, "clean-ups ran");
        // A fresh copy equal to a kept one is pointed at the stored one.
        let mut fresh: StringMap = [("app", "kept")].into();
        parts.share_map(&mut fresh, None);
        assert!(fresh.shares(&kept));
    }

    /// Budgets with equal `matchLabels` in different namespaces share one copy once stored,
    /// and a budget updated to another selector holds that one.
    #[test]
    fn stored_budgets_share_equal_selectors() {
        use crate::cluster::{Cluster, Subresource};
        use crate::model::{LabelSelector, ObjectKey, PodDisruptionBudget};
        use crate::time::SimTime;
        let mut cluster = Cluster::default();
        for ns in ["a", "b"] {
            let selector = LabelSelector::matching([("app", "web")]);
            let pdb = PodDisruptionBudget::min_available(ns, "web", 1, selector);
            cluster.load(SimTime::ZERO, pdb).unwrap();
        }
        let stored = |cluster: &Cluster, ns: &str| {
            let pdb = cluster.get::<PodDisruptionBudget>(&ObjectKey::new(ns, "web"));
            pdb.unwrap().clone()
        };
        let labels = |pdb: &PodDisruptionBudget| pdb.spec.selector.clone().unwrap().match_labels;
        let (a, mut b) = (stored(&cluster, "a"), stored(&cluster, "b"));
        assert!(labels(&a).unwrap().shares(&labels(&b).unwrap()));
        b.spec.selector = Some(LabelSelector::matching([("app", "db")]));
        cluster
            .update(SimTime::ZERO, b, Subresource::Main, false)
            .unwrap();
        let b = stored(&cluster, "b");
        assert_eq!(labels(&b).unwrap()["app"], "db");
        assert!(!labels(&a).unwrap().shares(&labels(&b).unwrap()));
    }

    /// Pods stored with equal conditions share one list; the eviction's in-place
    /// `DisruptionTarget` changes the evicted pod's copy only, and a second pod evicted in
    /// the same second shares the first one's new list.
    #[test]
    fn stored_pods_share_equal_conditions() {
        use crate::cluster::Cluster;
        use crate::model::{Eviction, ObjectKey, Pod};
        use crate::time::SimTime;
        let mut cluster = Cluster::default();
        for name in ["a", "b", "c"] {
            cluster
                .load(SimTime::ZERO, Pod::running("default", name, "node-1"))
                .unwrap();
        }
        let conditions = |cluster: &Cluster, name: &str| {
            let pod = cluster.pod(&ObjectKey::new("default", name)).unwrap();
            pod.status.conditions.clone()
        };
        assert!(conditions(&cluster, "a").shares(&conditions(&cluster, "b")));
        let evict = |cluster: &mut Cluster, name: &str| {
            let eviction: Eviction = serde_json::from_value(
                serde_json::json!({"metadata": {"name": name, "namespace": "default"}}),
            )
            .unwrap();
            cluster
                .evict(SimTime::ZERO, "default", name, eviction, &[])
                .unwrap();
        };
        evict(&mut cluster, "a");
        let (a, b) = (conditions(&cluster, "a"), conditions(&cluster, "b"));
        assert_eq!((a.len(), b.len()), (2, 1), "b's list left as it was");
        assert!(!a.shares(&b) && b.shares(&conditions(&cluster, "c")));
        evict(&mut cluster, "b");
        assert!(conditions(&cluster, "b").shares(&conditions(&cluster, "a")));
    }

    /// A ReplicaSet's pods hold one owner list, found without making one; pods loaded with
    /// an equal owner share it too, and a pod of another owner holds its own.
    #[test]
    fn a_workloads_pods_share_one_owner_list() {
        use crate::cluster::Cluster;
        use crate::model::{ObjectKey, Pod};
        use crate::time::SimTime;
        let mut cluster = Cluster::default();
        let rs = cluster.load(SimTime::ZERO, web_replica_set()).unwrap();
        cluster.advance_to(SimTime::ZERO);
        let owners: Vec<_> = cluster
            .list::<Pod>()
            .map(|pod| pod.metadata.owner_references.clone())
            .collect();
        assert_eq!(owners.len(), 3);
        assert!(owners.iter().all(|o| o.shares(&owners[0])));
        assert_eq!(owners[0][0].uid, rs.metadata.uid);
        let loaded = Pod::running("default", "loaded", "node-1").controlled_by(&rs);
        let loaded = cluster.load(SimTime::ZERO, loaded).unwrap();
        assert!(loaded.metadata.owner_references.shares(&owners[0]));
        let mut other = rs.clone();
        other.metadata.name = "db".into();
        other.metadata.uid = "another".into();
        let apart = cluster
            .load(
                SimTime::ZERO,
                Pod::running("default", "apart", "node-1").controlled_by(&other),
            )
            .unwrap();
        assert!(!apart.metadata.owner_references.shares(&owners[0]));
        assert_eq!(
            cluster
                .pod(&ObjectKey::new("default", "apart"))
                .unwrap()
                .metadata
                .owner_references[0]
                .name,
            "db"
        );
    }

    /// The list `sole_owner` gave last answers the next ask for the same owner; an ask for
    /// another owner, or for one that differs in any field, gets its own list, and the first
    /// owner's stored list is found again after it.
    #[test]
    fn the_last_sole_owner_answers_only_for_its_owner() {
        let mut parts = SharedParts::default();
        let web = OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web".into(),
            uid: "u-web".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        let first = parts.sole_owner(web.clone());
        assert_eq!(&*first, std::slice::from_ref(&web));
        assert!(parts.sole_owner(web.clone()).shares(&first));
        let variants = [
            OwnerReference {
                uid: "u-other".into(),
                ..web.clone()
            },
            OwnerReference {
                kind: "ReplicationController".into(),
                ..web.clone()
            },
            OwnerReference {
                block_owner_deletion: None,
                ..web.clone()
            },
        ];
        for variant in variants {
            let list = parts.sole_owner(variant.clone());
            assert_eq!(&*list, std::slice::from_ref(&variant));
            assert!(!list.shares(&first));
            assert!(parts.sole_owner(web.clone()).shares(&first));
        }
    }

    /// A create's labels and owners are known valid only when they are the very copies
    /// last found valid: an equal copy elsewhere, or the remembered one changed (copied on
    /// write), is checked again.
    #[test]
    fn only_the_very_copies_found_valid_are_known_valid() {
        let mut parts = SharedParts::default();
        let mut meta = ObjectMeta::default();
        meta.labels.insert("app".into(), "web".into());
        meta.owner_references = parts.sole_owner(OwnerReference::default());
        let known = |parts: &SharedParts, meta: &ObjectMeta| {
            let known = parts.known_valid(meta);
            (known.labels, known.owner_references)
        };
        assert_eq!(known(&parts, &meta), (false, false));
        parts.remember_valid(&meta);
        assert_eq!(known(&parts, &meta), (true, true));
        let mut equal = meta.clone();
        equal.labels = meta
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(known(&parts, &equal), (false, true));
        let mut changed = meta.clone();
        changed.labels.insert("app".into(), "Bad Value!".into());
        changed.owner_references = vec![OwnerReference::default(); 2].into_iter().collect();
        assert_eq!(known(&parts, &changed), (false, false));
        assert_eq!(known(&parts, &meta), (true, true));
    }

    /// The pods a ReplicaSet's kubelet starts in one second end up with one shared
    /// condition list, stored once.
    #[test]
    fn pods_started_together_share_their_conditions() {
        use crate::cluster::Cluster;
        use crate::model::{Node, Pod};
        use crate::time::SimTime;
        let mut cluster = Cluster::default();
        cluster.load(SimTime::ZERO, Node::ready("node-1")).unwrap();
        cluster.load(SimTime::ZERO, web_replica_set()).unwrap();
        cluster.advance_to(SimTime::from_millis(60_000));
        let pods: Vec<_> = cluster.list::<Pod>().collect();
        assert_eq!(pods.len(), 3);
        let first = &pods[0].status.conditions;
        assert!(pods.iter().all(|p| p.is_ready()), "started: {first:?}");
        assert!(first.len() >= 4);
        assert!(pods.iter().all(|p| p.status.conditions.shares(first)));
        assert_eq!(
            parts_holding(&cluster, first),
            1,
            "one stored list for the three pods"
        );
    }

    /// A condition of `type_` with `status`, nothing else set.
    fn condition(type_: &str, status: &str) -> PodCondition {
        PodCondition {
            type_: type_.into(),
            status: status.into(),
            ..PodCondition::default()
        }
    }

    /// E31: setting conditions through the shared parts makes the list `Pod::set_conditions`
    /// makes; the second time (another pod, the same list and conditions) it is the stored
    /// copy, found without making one; and nothing is made when nothing changes.
    #[test]
    fn conditions_set_is_set_conditions_and_finds_the_stored_copy() {
        use crate::model::Pod;
        let (then, now) = (
            Time::parse("2025-01-01T00:00:00Z").unwrap(),
            Time::parse("2025-01-01T00:01:00Z").unwrap(),
        );
        let mut pod = Pod::running("default", "web-0", "node-1");
        pod.set_conditions(
            [
                condition("Ready", "True"),
                condition("PodScheduled", "True"),
            ],
            then,
        );
        let mut parts = SharedParts::default();
        let setting = [
            condition("Ready", "False"),
            condition("DisruptionTarget", "True"),
        ];
        let first = parts
            .conditions_set(&pod.status.conditions, leaked(setting.clone()), now)
            .expect("a change");
        let mut expected = pod.clone();
        assert!(expected.set_conditions(setting.clone(), now));
        assert_eq!(first[..], expected.status.conditions[..]);
        // Equal conditions at another address: not the remembered change, so worked out
        // again, and found among the stored lists.
        let again = parts
            .conditions_set(&pod.status.conditions, leaked(setting.clone()), now)
            .expect("a change");
        assert!(again.shares(&first), "the stored copy");
        assert!(
            parts.conditions_set(&first, leaked(setting), now).is_none(),
            "nothing changes"
        );
    }

    /// `conditions` as a static array, as the shared parts take them (a test makes a few).
    fn leaked<const N: usize>(conditions: [PodCondition; N]) -> &'static [PodCondition; N] {
        Box::leak(Box::new(conditions))
    }

    /// E31: a remembered change answers only the same list, instant and conditions: another
    /// list (a copy, equal but not shared, or a different one), another instant or other
    /// conditions are worked out again, and each answer is the merge `Pod::set_conditions`
    /// makes.
    #[test]
    fn a_remembered_condition_change_answers_only_the_same_change() {
        use crate::model::Pod;
        let at = |minute: u32| Time::parse(&format!("2025-01-01T00:{minute:02}:00Z")).unwrap();
        let mut pod = Pod::running("default", "web-0", "node-1");
        pod.set_conditions([condition("Ready", "True")], at(0));
        let shared = pod.status.conditions.clone();
        let copy = PodConditions::from_exact(shared.to_vec());
        assert!(!copy.shares(&shared));
        let mut other_pod = pod.clone();
        other_pod.set_conditions([condition("Ready", "False")], at(0));
        let different = other_pod.status.conditions.clone();
        let mut parts = SharedParts::default();
        let merge = |from: &PodConditions, set: [PodCondition; 1], now: Time| {
            let mut pod = pod.clone();
            pod.status.conditions = from.clone();
            pod.set_conditions(set, now)
                .then(|| pod.status.conditions[..].to_vec())
        };
        let check = |parts: &mut SharedParts,
                     from: &PodConditions,
                     set: &'static [PodCondition; 1],
                     now| {
            let got = parts.conditions_set(from, set, now);
            assert_eq!(
                got.as_deref().map(<[PodCondition]>::to_vec),
                merge(from, set.clone(), now),
                "{set:?} at {now:?}, from a list shared: {}",
                from.shares(&shared)
            );
        };
        // Each change remembered, then each that differs from it in one thing asked
        // right after it, while it is still remembered: the conditions as another array
        // (equal, or not), the list (a copy, or another), the instant.
        for (type_, status) in [("Ready", "False"), ("Ready", "True"), ("Other", "True")] {
            let set = leaked([condition(type_, status)]);
            check(&mut parts, &shared, set, at(1));
            check(&mut parts, &shared, set, at(1));
            check(&mut parts, &shared, leaked(set.clone()), at(1));
            check(&mut parts, &shared, set, at(2));
            check(&mut parts, &copy, set, at(1));
            check(&mut parts, &different, set, at(1));
            let other = condition(type_, if status == "True" { "False" } else { "True" });
            check(&mut parts, &shared, leaked([other]), at(1));
            let mut reasoned = set[0].clone();
            reasoned.reason = "Because".into();
            check(&mut parts, &shared, leaked([reasoned]), at(1));
        }
        // More changes than are remembered, interleaved, each asked again later.
        let not_ready = leaked([condition("Ready", "False")]);
        for _ in 0..2 {
            for minute in 3..=5 {
                for from in [&shared, &copy] {
                    check(&mut parts, from, not_ready, at(minute));
                }
            }
        }
    }

    /// A ReplicaSet of three `app: web` pods in `default`.
    fn web_replica_set() -> crate::model::ReplicaSet {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "web"}]}}}
        }))
        .unwrap()
    }

    fn parts_holding(cluster: &crate::cluster::Cluster, list: &PodConditions) -> usize {
        cluster
            .shared_parts
            .conditions
            .values
            .iter()
            .filter(|(_, stored)| stored == list)
            .count()
    }
}
