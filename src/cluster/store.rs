//! Typed object storage: one [`Store`] per kind.
//!
//! Objects are shared (`Arc`): a read hands out a reference or a second handle, never a copy,
//! and the watch history keeps the very object that was stored. Each namespace holds its
//! objects in a hash table of its own, found by the namespace's text, for point lookups by
//! name (what every GET, eviction, write and controller sync does), and a B-tree of the
//! names in order, for LISTs, which etcd returns ordered by key: made by the first read in
//! order and kept up to date from then on, so that a store nobody lists keeps no order. An
//! update touches the hash table only.
//!
//! A table per namespace rather than one for the whole store because work comes a namespace
//! at a time (a controller's sync, a rollout, a drain's pods of one workload, the timers
//! those set): one namespace's table stays in the cache while its objects are worked on,
//! where a lookup in one table of every object took two cache misses (its control bytes,
//! then its slot) before it reached the object. This is the locality etcd's keys give the
//! API server, `/registry/pods/<namespace>/<name>`.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use hashbrown::HashTable;

use super::bucket_hint::BucketHint;

use crate::model::short_text::{self, same, same_shared};
use crate::model::{ObjectKey, Resource, SmolStr};

/// The stored objects of one kind, keyed by namespace and name.
#[derive(Debug, Clone)]
pub struct Store<T> {
    /// Each namespace's objects, found by hash. Its namespaces are the one copy of their
    /// text that the stored keys share: a namespace holds thousands of objects, and each key
    /// would otherwise keep its own.
    by_namespace: HashTable<(Arc<str>, Namespace<T>)>,
    /// The namespaces holding objects, in order (LISTs of every namespace go through them);
    /// changed only when a namespace gets its first object or loses its last.
    namespaces: BTreeSet<Arc<str>>,
    /// How many objects are stored, in all namespaces.
    len: usize,
    /// Where in `by_namespace` the last namespace looked up was found: work comes a
    /// namespace at a time, and most look-ups (nine in ten in a roll) are in the namespace
    /// of the one before.
    last_namespace: BucketHint,
}

/// The objects of one namespace.
#[derive(Debug, Clone)]
struct Namespace<T> {
    /// The names in order, for LISTs, made by the first read that needs them and kept up
    /// to date by every create and delete from then on. Until a LIST asks, no create or
    /// delete pays for the order: a pod's walks into and out of a B-tree of its namespace's
    /// names were about 660 instructions of each evicted pod's 68,000 in a roll, which, like
    /// a drain, lists nothing until its end. Held inline when short (most are), so that a walk down the
    /// B-tree compares names without following a pointer to each.
    names: OnceLock<BTreeSet<OrderedName>>,
    /// Each object with its key, hashed by name, so that a caller holding only text gets a
    /// key that shares the stored one's strings instead of allocating its own.
    by_name: HashTable<(ObjectKey, Arc<T>)>,
    /// Where in `by_name` the last object looked up was found: a pod is looked up several
    /// times over in one step (read, changed, its observers), with other look-ups between.
    last_name: BucketHint,
}

/// A name in a namespace's ordered names, compared eight bytes at a time
/// ([`short_text::order`]) rather than through `memcmp`: a create's or a delete's walk down
/// the B-tree makes a score of comparisons of short names, each of which `str`'s order made
/// a call. The order is `str`'s (bytewise), so the set is searched by borrowed `&str` too.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OrderedName(SmolStr);

impl Ord for OrderedName {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        short_text::order(&self.0, &other.0)
    }
}

impl PartialOrd for OrderedName {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::borrow::Borrow<str> for OrderedName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<T> Default for Namespace<T> {
    fn default() -> Self {
        Namespace {
            names: OnceLock::new(),
            by_name: HashTable::new(),
            last_name: BucketHint::default(),
        }
    }
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store {
            by_namespace: HashTable::new(),
            namespaces: BTreeSet::new(),
            len: 0,
            last_namespace: BucketHint::default(),
        }
    }
}

/// Whether the hinted entry's `stored` name is `name`'s very text. A hinted entry of
/// another name is not read: its text is a line likely out of the caches.
#[inline]
fn hinted_as(stored: &Arc<str>, name: &Arc<str>) -> bool {
    Arc::ptr_eq(stored, name)
}

impl<T> Namespace<T> {
    /// The names in order, made now if no read has needed them yet.
    fn ordered_names(&self) -> &BTreeSet<OrderedName> {
        self.names.get_or_init(|| {
            self.by_name
                .iter()
                .map(|(key, _)| OrderedName(SmolStr::from(Arc::clone(&key.name))))
                .collect()
        })
    }

    /// Looked up by hash alone: a caller holding only text (a request's path, a client's
    /// name) has no stored key to recognise, and a hint's entry would be one more text to
    /// read, likely out of the caches.
    #[inline]
    fn entry(&self, name: &str) -> Option<&(ObjectKey, Arc<T>)> {
        self.by_name
            .find(short_text::hash(name), |(key, _)| same(&key.name, name))
    }

    /// [`Namespace::entry`] tried first at the hinted bucket, and hinted for the next
    /// look-up: for names that come back one after another (a workload looked up for each
    /// write of its pods), whose hinted entry is then read anyway.
    #[inline]
    fn entry_hinted(&self, name: &str) -> Option<&(ObjectKey, Arc<T>)> {
        let is = |(key, _): &(ObjectKey, Arc<T>)| same(&key.name, name);
        self.last_name
            .find(&self.by_name, is, || short_text::hash(name), is)
    }

    /// [`Namespace::entry`] for a name held as shared text: when it is the stored key's own
    /// (a key copied from the store, as queues, timers and indexes hold), the addresses
    /// answer, and the stored text, a separate allocation usually out of the caches, is not
    /// read.
    #[inline]
    fn entry_shared(&self, name: &Arc<str>) -> Option<&(ObjectKey, Arc<T>)> {
        self.last_name.find(
            &self.by_name,
            |(key, _)| hinted_as(&key.name, name),
            || short_text::hash(name),
            |(key, _)| same_shared(&key.name, name),
        )
    }
}

impl<T> Store<T> {
    /// `namespace`'s shared text and objects, found by hash: a caller holding only text (a
    /// request's path, a client's name) asks all over the cluster, where a hint would mostly
    /// be wrong, each wrong guess a text compared for nothing.
    #[inline]
    fn namespace(&self, namespace: &str) -> Option<(&Arc<str>, &Namespace<T>)> {
        self.by_namespace
            .find(short_text::hash(namespace), |(filed, _)| {
                same(filed, namespace)
            })
            .map(|(filed, objects)| (filed, objects))
    }

    /// The namespace `is` recognises, whose text is `namespace`: at the hinted bucket when
    /// it is there, else found by hash (and hinted for the next look-up).
    #[inline]
    fn namespace_by(
        &self,
        namespace: &str,
        is: impl Fn(&Arc<str>) -> bool,
    ) -> Option<(&Arc<str>, &Namespace<T>)> {
        self.last_namespace
            .find(
                &self.by_namespace,
                |(filed, _)| is(filed),
                || short_text::hash(namespace),
                |(filed, _)| is(filed),
            )
            .map(|(filed, objects)| (filed, objects))
    }

    /// [`Store::namespace_by`] for a change.
    #[inline]
    fn namespace_mut(&mut self, namespace: &Arc<str>) -> Option<&mut Namespace<T>> {
        let is = |(filed, _): &(Arc<str>, Namespace<T>)| same_shared(filed, namespace);
        let bucket = self.last_namespace.find_bucket(
            &self.by_namespace,
            is,
            || short_text::hash(namespace),
            is,
        )?;
        self.by_namespace
            .get_bucket_mut(bucket)
            .map(|(_, objects)| objects)
    }
}

impl<T: Resource> Store<T> {
    /// The object at `key`.
    #[inline]
    pub fn get(&self, key: &ObjectKey) -> Option<&T> {
        self.get_by_name(&key.namespace, &key.name)
    }

    /// [`Store::get`] for a key copied from the store (as queues, timers and indexes hold
    /// them): see [`Store::shared_at`].
    #[inline]
    pub(crate) fn at(&self, key: &ObjectKey) -> Option<&T> {
        self.shared_at(key).map(|object| &**object)
    }

    /// The stored handle of the object at `key`. A key sharing the stored key's text is
    /// recognised by address, without reading the text, which is a separate allocation
    /// usually out of the caches; any other key costs a comparison more than
    /// [`Store::shared`], so callers holding a key of their own (the API's) use that.
    #[inline]
    pub(crate) fn shared_at(&self, key: &ObjectKey) -> Option<&Arc<T>> {
        let (_, objects) =
            self.namespace_by(&key.namespace, |filed| same_shared(filed, &key.namespace))?;
        objects.entry_shared(&key.name).map(|(_, object)| object)
    }

    /// The object named `name` in `namespace` (empty for cluster-scoped kinds).
    #[inline]
    pub fn get_by_name(&self, namespace: &str, name: &str) -> Option<&T> {
        self.shared(namespace, name).map(|object| &**object)
    }

    /// The stored handle of the object named `name` in `namespace`: cloning it shares the
    /// object rather than copying it.
    #[inline]
    pub fn shared(&self, namespace: &str, name: &str) -> Option<&Arc<T>> {
        self.entry(namespace, name).map(|(_, object)| object)
    }

    /// The stored key and object named `name` in `namespace`. Always inlined: it is the
    /// whole of a plain look-up by name, which a call would make a third dearer.
    #[inline(always)]
    pub(crate) fn entry(&self, namespace: &str, name: &str) -> Option<(&ObjectKey, &Arc<T>)> {
        self.namespace(namespace)?
            .1
            .entry(name)
            .map(|(key, object)| (key, object))
    }

    /// The stored key and handle of the object named `name` in `namespace`, to change the
    /// object in place.
    pub(crate) fn entry_mut(&mut self, key: &ObjectKey) -> Option<(&ObjectKey, &mut Arc<T>)> {
        let objects = self.namespace_mut(&key.namespace)?;
        let bucket = objects.last_name.find_bucket(
            &objects.by_name,
            |(stored, _)| hinted_as(&stored.name, &key.name),
            || short_text::hash(&key.name),
            |(stored, _)| same_shared(&stored.name, &key.name),
        )?;
        objects
            .by_name
            .get_bucket_mut(bucket)
            .map(|(key, object)| (&*key, object))
    }

    /// A key for `namespace`/`name`: the stored object's own (sharing its strings) when
    /// there is one.
    pub(crate) fn key(&self, namespace: &str, name: &str) -> ObjectKey {
        match self.entry_of_owner(namespace, name) {
            Some((key, _)) => key.clone(),
            None => ObjectKey::new(namespace, name),
        }
    }

    /// The object named by an owner reference, `name` in `namespace`: see
    /// [`Store::entry_of_owner`].
    #[inline]
    pub(crate) fn owner(&self, namespace: &str, name: &str) -> Option<&T> {
        self.entry_of_owner(namespace, name)
            .map(|(_, object)| &**object)
    }

    /// The stored key and object named `name` in `namespace`, tried first where the last
    /// look-up found its entry: owners are looked up so (a workload for each write of its
    /// pods, a budget's controllers for each of its syncs), and the hint is nearly always
    /// right.
    #[inline]
    fn entry_of_owner(&self, namespace: &str, name: &str) -> Option<(&ObjectKey, &Arc<T>)> {
        self.namespace_by(namespace, |filed| same(filed, namespace))
            .and_then(|(_, objects)| objects.entry_hinted(name))
            .map(|(key, object)| (key, object))
    }

    /// A key for `namespace`/`name` when nothing is stored there (`None` when something
    /// is), sharing the namespace's text with the stored keys when the namespace has any: a
    /// create then allocates only the name.
    pub(crate) fn vacant_key(&self, namespace: &str, name: &str) -> Option<ObjectKey> {
        let namespace = match self.namespace(namespace) {
            Some((_, objects)) if objects.entry(name).is_some() => return None,
            Some((shared, _)) => Arc::clone(shared),
            None => Arc::from(namespace),
        };
        Some(ObjectKey::new(namespace, name))
    }

    /// Every object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries().map(|(_, object)| object)
    }

    /// Every object with its stored key, in key order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&ObjectKey, &T)> {
        self.namespaces.iter().flat_map(move |namespace| {
            self.namespace(namespace)
                .into_iter()
                .flat_map(|(_, objects)| {
                    objects
                        .ordered_names()
                        .iter()
                        .filter_map(move |name| objects.entry(&name.0))
                })
                .map(|(key, object)| (key, &**object))
        })
    }

    /// Every object with its stored key, in no particular order: for a reader that puts
    /// them in sets, which the namespaces' ordered names would be made (and then kept up
    /// to date on every create and delete) only to serve.
    pub(crate) fn entries_unordered(&self) -> impl Iterator<Item = (&ObjectKey, &T)> {
        self.by_namespace
            .iter()
            .flat_map(|(_, objects)| objects.by_name.iter().map(|(key, object)| (key, &**object)))
    }

    /// The objects in `namespace`, in name order. Searched by borrowed text: no key is
    /// built (a Service or workload sync runs this on every pod write).
    pub fn in_namespace<'a, 'n>(
        &'a self,
        namespace: &'n str,
    ) -> impl Iterator<Item = &'a T> + use<'a, 'n, T> {
        self.namespace(namespace)
            .into_iter()
            .flat_map(|(_, objects)| {
                objects
                    .ordered_names()
                    .iter()
                    .filter_map(move |name| objects.entry(&name.0))
            })
            .map(|(_, object)| &**object)
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `object` at `key`, which must be the object's own namespace and name; returns
    /// the object it replaces, if any, and the key as stored (its namespace's text shared).
    pub(crate) fn insert(&mut self, key: ObjectKey, object: Arc<T>) -> (Option<Arc<T>>, ObjectKey) {
        debug_assert!(
            object.metadata().namespace == *key.namespace && object.metadata().name == *key.name,
            "an object is stored under its own namespace and name"
        );
        let filed = self.by_namespace.entry(
            short_text::hash(&key.namespace),
            |(filed, _)| same_shared(filed, &key.namespace),
            |(filed, _)| short_text::hash(filed),
        );
        let (namespace, objects) = match filed {
            hashbrown::hash_table::Entry::Occupied(filed) => {
                let (namespace, objects) = filed.into_mut();
                (Arc::clone(namespace), objects)
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                self.namespaces.insert(Arc::clone(&key.namespace));
                let filed = vacant.insert((Arc::clone(&key.namespace), Namespace::default()));
                (key.namespace, &mut filed.into_mut().1)
            }
        };
        let entry = objects.by_name.entry(
            short_text::hash(&key.name),
            |(stored, _)| same_shared(&stored.name, &key.name),
            |(stored, _)| short_text::hash(&stored.name),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(mut slot) => {
                let (stored, held) = slot.get_mut();
                (Some(std::mem::replace(held, object)), stored.clone())
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let key = ObjectKey {
                    namespace,
                    name: key.name,
                };
                slot.insert((key.clone(), object));
                // Inline when short; a long name shares the key's text.
                if let Some(names) = objects.names.get_mut() {
                    names.insert(OrderedName(SmolStr::from(Arc::clone(&key.name))));
                }
                self.len += 1;
                (None, key)
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &ObjectKey) -> Option<Arc<T>> {
        let Ok(mut filed) = self
            .by_namespace
            .find_entry(short_text::hash(&key.namespace), |(filed, _)| {
                same_shared(filed, &key.namespace)
            })
        else {
            return None;
        };
        let objects = &mut filed.get_mut().1;
        let slot = objects
            .by_name
            .find_entry(short_text::hash(&key.name), |(stored, _)| {
                same_shared(&stored.name, &key.name)
            })
            .ok()?;
        let ((stored_key, removed), _) = slot.remove();
        if let Some(names) = objects.names.get_mut() {
            names.remove(&*stored_key.name);
        }
        self.len -= 1;
        if objects.by_name.is_empty() {
            filed.remove();
            self.namespaces.remove(&*stored_key.namespace);
        }
        Some(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::Store;
    use crate::model::{ObjectKey, Pod};
    use std::sync::Arc;

    /// Objects of one namespace stored under keys built apart share one copy of the
    /// namespace's text; an update keeps the stored key.
    #[test]
    fn stored_keys_share_their_namespace() {
        let mut store = Store::<Pod>::default();
        let mut stored = Vec::new();
        for name in ["a", "b", "c"] {
            let key = ObjectKey::new(String::from("shop"), name);
            let (replaced, key) = store.insert(key, Arc::new(Pod::running("shop", name, "n")));
            assert!(replaced.is_none());
            stored.push(key);
        }
        let (_, other) = store.insert(
            ObjectKey::new("default", "a"),
            Arc::new(Pod::running("default", "a", "n")),
        );
        assert!(
            stored
                .iter()
                .all(|k| Arc::ptr_eq(&k.namespace, &stored[0].namespace))
        );
        assert!(!Arc::ptr_eq(&other.namespace, &stored[0].namespace));
        let (replaced, again) = store.insert(
            ObjectKey::new(String::from("shop"), "b"),
            Arc::new(Pod::running("shop", "b", "m")),
        );
        assert!(replaced.is_some());
        assert!(
            Arc::ptr_eq(&again.name, &stored[1].name),
            "the key as stored"
        );
        assert_eq!(store.key("shop", "c"), stored[2]);
        assert!(Arc::ptr_eq(
            &store.key("shop", "c").namespace,
            &stored[0].namespace
        ));
    }

    /// A key finds its object whether it shares the stored key's text (found by address) or
    /// only equals it; an equal name in another namespace, or a removed object's old key,
    /// finds nothing.
    #[test]
    fn a_key_finds_its_object_by_address_or_by_text() {
        let mut store = Store::<Pod>::default();
        let (_, stored) = store.insert(
            ObjectKey::new("shop", "web-1"),
            Arc::new(Pod::running("shop", "web-1", "n1")),
        );
        store.insert(
            ObjectKey::new("other", "web-1"),
            Arc::new(Pod::running("other", "web-1", "n2")),
        );
        let apart = ObjectKey::new(String::from("shop"), String::from("web-1"));
        assert!(!Arc::ptr_eq(&apart.name, &stored.name));
        for key in [&stored, &apart] {
            assert_eq!(store.at(key).map(|p| p.spec.node_name.as_str()), Some("n1"));
            assert_eq!(
                store.get(key).map(|p| p.spec.node_name.as_str()),
                Some("n1")
            );
            assert!(store.entry_mut(key).is_some());
        }
        let elsewhere = ObjectKey::new(Arc::clone(&stored.namespace), "web-2");
        assert!(store.shared_at(&elsewhere).is_none());
        assert!(store.remove(&apart).is_some());
        assert!(
            store.at(&stored).is_none(),
            "the old key finds nothing once removed"
        );
        let (_, again) = store.insert(
            ObjectKey::new("shop", "web-1"),
            Arc::new(Pod::running("shop", "web-1", "n3")),
        );
        assert!(!Arc::ptr_eq(&again.name, &stored.name));
        assert_eq!(
            store.at(&stored).map(|p| p.spec.node_name.as_str()),
            Some("n3"),
            "an old key's text still names the new object"
        );
        assert_eq!(
            store
                .get(&ObjectKey::new("other", "web-1"))
                .map(|p| p.spec.node_name.as_str()),
            Some("n2")
        );
    }

    /// What a store must answer after any sequence of creates, updates and deletes, by a
    /// B-tree of the keys: every object in key order, a namespace's in name order, the count,
    /// and nothing kept for a namespace once its last object is gone.
    mod against_a_btree {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        #[derive(Debug, Clone)]
        enum Op {
            Put(usize, usize, String),
            Remove(usize, usize),
        }

        const NAMESPACES: [&str; 4] = ["", "a", "kube-system", "ns-0001"];
        const NAMES: [&str; 5] = [
            "web-1",
            "web-10",
            "web-2",
            "db",
            "a-very-long-name-past-23-bytes",
        ];

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => (0..NAMESPACES.len(), 0..NAMES.len(), "[a-z]{1,3}")
                    .prop_map(|(ns, name, node)| Op::Put(ns, name, node)),
                2 => (0..NAMESPACES.len(), 0..NAMES.len()).prop_map(|(ns, name)| Op::Remove(ns, name)),
            ]
        }

        proptest! {
            #[test]
            fn lists_in_key_order(
                ops in proptest::collection::vec(op(), 0..60),
                first_lazy_list in 0..60usize,
            ) {
                // `store` lists after every operation, so its ordered names are made at
                // once and kept up to date; `lazy` gets the same operations and lists
                // once midway and once at the end, so that its names are made from
                // whatever the table holds then.
                let mut store = Store::<Pod>::default();
                let mut lazy = Store::<Pod>::default();
                let mut reference: BTreeMap<(String, String), String> = BTreeMap::new();
                let everything = |store: &Store<Pod>| -> Vec<(String, String, String)> {
                    store
                        .iter()
                        .map(|p| (
                            p.metadata.namespace.to_string(),
                            p.metadata.name.to_string(),
                            p.spec.node_name.to_string(),
                        ))
                        .collect()
                };
                for (at, op) in ops.into_iter().enumerate() {
                    match op {
                        Op::Put(ns, name, node) => {
                            let (ns, name) = (NAMESPACES[ns], NAMES[name]);
                            let pod = Arc::new(Pod::running(ns, name, &node));
                            lazy.insert(ObjectKey::new(ns, name), Arc::clone(&pod));
                            let (replaced, key) = store.insert(ObjectKey::new(ns, name), pod);
                            let before = reference.insert((ns.into(), name.into()), node);
                            prop_assert_eq!(replaced.is_some(), before.is_some());
                            prop_assert_eq!((&*key.namespace, &*key.name), (ns, name));
                        }
                        Op::Remove(ns, name) => {
                            let (ns, name) = (NAMESPACES[ns], NAMES[name]);
                            lazy.remove(&ObjectKey::new(ns, name));
                            let removed = store.remove(&ObjectKey::new(ns, name));
                            let before = reference.remove(&(ns.to_string(), name.to_string()));
                            prop_assert_eq!(removed.is_some(), before.is_some());
                        }
                    }
                    let expected: Vec<(String, String, String)> = reference
                        .iter()
                        .map(|((ns, name), node)| (ns.clone(), name.clone(), node.clone()))
                        .collect();
                    prop_assert_eq!(&everything(&store), &expected);
                    if at == first_lazy_list {
                        prop_assert_eq!(&everything(&lazy), &expected);
                    }
                    prop_assert_eq!(store.len(), reference.len());
                    for ns in NAMESPACES {
                        let names: Vec<&str> =
                            store.in_namespace(ns).map(|p| p.metadata.name.as_str()).collect();
                        let expected: Vec<&str> = reference
                            .keys()
                            .filter(|(n, _)| n == ns)
                            .map(|(_, name)| name.as_str())
                            .collect();
                        prop_assert_eq!(names, expected);
                    }
                    prop_assert_eq!(store.by_namespace.len(), store.namespaces.len());
                    prop_assert!(store.by_namespace.iter().all(|(_, objects)| !objects.by_name.is_empty()
                        && objects.names.get().is_some_and(|names| names.len() == objects.by_name.len())));
                }
                let expected: Vec<(String, String, String)> = reference
                    .iter()
                    .map(|((ns, name), node)| (ns.clone(), name.clone(), node.clone()))
                    .collect();
                prop_assert_eq!(everything(&lazy), expected);
            }

            /// The look-ups that try a hinted bucket first answer as the reference does,
            /// however stale the hints are: entries moved by a table's growth, removed, or
            /// put back under the same name, between look-ups of every kind (by text, by
            /// the stored key's copy, by a key of the caller's own, to change in place).
            #[test]
            fn hinted_look_ups_answer_as_the_reference(
                ops in proptest::collection::vec(
                    (0..3usize, 0..24usize, 0..6u8, "[a-z]{1,2}"),
                    0..200,
                )
            ) {
                let mut store = Store::<Pod>::default();
                let mut reference: BTreeMap<(String, String), String> = BTreeMap::new();
                // Keys as the store handed them out, as queues and timers hold them.
                let mut copies: BTreeMap<(String, String), ObjectKey> = BTreeMap::new();
                for (ns, name, action, node) in ops {
                    let ns = NAMESPACES[ns];
                    let name = format!("pod-{name}");
                    let at = (ns.to_string(), name.clone());
                    match action {
                        0 | 1 => {
                            let (_, key) = store.insert(
                                ObjectKey::new(ns, name.as_str()),
                                Arc::new(Pod::running(ns, &name, &node)),
                            );
                            reference.insert(at.clone(), node);
                            copies.insert(at, key);
                        }
                        2 => {
                            let removed = store.remove(&ObjectKey::new(ns, name.as_str()));
                            prop_assert_eq!(removed.is_some(), reference.remove(&at).is_some());
                        }
                        3 => {
                            let found = store.get_by_name(ns, &name).map(|p| p.spec.node_name.to_string());
                            prop_assert_eq!(found.as_ref(), reference.get(&at));
                            let key = store.key(ns, &name);
                            prop_assert_eq!((&*key.namespace, &*key.name), (ns, name.as_str()));
                        }
                        4 => {
                            // A copy may be of an object since removed (and maybe stored again).
                            let key = copies.get(&at).cloned().unwrap_or_else(|| ObjectKey::new(ns, name.as_str()));
                            let found = store.at(&key).map(|p| p.spec.node_name.to_string());
                            prop_assert_eq!(found.as_ref(), reference.get(&at));
                        }
                        _ => {
                            let key = copies.get(&at).cloned().unwrap_or_else(|| ObjectKey::new(ns, name.as_str()));
                            let found = store.entry_mut(&key).map(|(stored, pod)| {
                                (stored.name.to_string(), pod.spec.node_name.to_string())
                            });
                            prop_assert_eq!(found, reference.get(&at).map(|node| (name.clone(), node.clone())));
                        }
                    }
                }
            }
        }
    }
}
