//! Typed object storage: one [`Store`] per kind.
//!
//! Objects are shared (`Arc`): a read hands out a reference or a second handle, never a copy,
//! and the watch history keeps the very object that was stored. A hash table holds each
//! object with its key, for point lookups by namespace and name (what every GET, eviction,
//! write and controller sync does); B-trees hold the names alone, per namespace, in key
//! order, for LISTs, which etcd returns ordered by key. An update touches the hash table only;
//! a create or a delete finds its namespace's names by hash, not by walking the namespaces.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::FastMap;
use crate::model::short_text::same;
use crate::model::{ObjectKey, Resource, SmolStr};

/// The stored objects of one kind, keyed by namespace and name.
#[derive(Debug, Clone)]
pub struct Store<T> {
    /// Each namespace's names in order, for LISTs: a name is half a key, and names compare
    /// without their namespace. Only a create or a delete changes it: an update (most
    /// writes) replaces the object in the hash table alone. Found by hash: at 1,000
    /// namespaces a walk down a B-tree of them compared a dozen texts on every create and
    /// delete. Its namespaces are the one copy of their text that the stored keys share: a
    /// namespace holds thousands of objects, and each key would otherwise keep its own.
    /// The names are held inline when short (most are), so that a create's or a delete's
    /// walk down the B-tree compares them without following a pointer to each.
    names: FastMap<Arc<str>, BTreeSet<SmolStr>>,
    /// The namespaces holding objects, in order (LISTs of every namespace go through them);
    /// changed only when a namespace gets its first object or loses its last.
    namespaces: BTreeSet<Arc<str>>,
    /// Each object with its key, so that a caller holding only text gets a key that shares
    /// the stored one's strings instead of allocating its own.
    by_key: HashTable<(ObjectKey, Arc<T>)>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store {
            names: FastMap::default(),
            namespaces: BTreeSet::new(),
            by_key: HashTable::new(),
        }
    }
}

/// The hash of a key. Fixed seed: lookups only, so no order reaches an output, and the
/// instruction counts of the benches stay repeatable. No separator between the two parts:
/// a collision only costs a comparison, which tells keys apart.
#[inline]
fn hash_key(namespace: &str, name: &str) -> u64 {
    let mut hasher = FixedState::with_seed(0).build_hasher();
    hasher.write(namespace.as_bytes());
    hasher.write(name.as_bytes());
    hasher.finish()
}

impl<T: Resource> Store<T> {
    /// The object at `key`.
    #[inline]
    pub fn get(&self, key: &ObjectKey) -> Option<&T> {
        self.get_by_name(&key.namespace, &key.name)
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

    /// The stored key and object named `name` in `namespace`.
    #[inline]
    pub(crate) fn entry(&self, namespace: &str, name: &str) -> Option<(&ObjectKey, &Arc<T>)> {
        self.by_key
            .find(hash_key(namespace, name), |(key, _)| {
                same(&key.name, name) && same(&key.namespace, namespace)
            })
            .map(|(key, object)| (key, object))
    }

    /// The stored key and handle of the object named `name` in `namespace`, to change the
    /// object in place.
    pub(crate) fn entry_mut(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Option<(&ObjectKey, &mut Arc<T>)> {
        self.by_key
            .find_mut(hash_key(namespace, name), |(key, _)| {
                same(&key.name, name) && same(&key.namespace, namespace)
            })
            .map(|(key, object)| (&*key, object))
    }

    /// A key for `namespace`/`name`: the stored object's own (sharing its strings) when
    /// there is one.
    pub(crate) fn key(&self, namespace: &str, name: &str) -> ObjectKey {
        match self.entry(namespace, name) {
            Some((key, _)) => key.clone(),
            None => ObjectKey::new(namespace, name),
        }
    }

    /// A key for `namespace`/`name` when nothing is stored there (`None` when something
    /// is), sharing the namespace's text with the stored keys when the namespace has any: a
    /// create then allocates only the name.
    pub(crate) fn vacant_key(&self, namespace: &str, name: &str) -> Option<ObjectKey> {
        if self.entry(namespace, name).is_some() {
            return None;
        }
        let namespace = match self.names.get_key_value(namespace) {
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
            self.names
                .get(namespace)
                .into_iter()
                .flatten()
                .filter_map(move |name| self.entry(namespace, name))
                .map(|(key, object)| (key, &**object))
        })
    }

    /// The objects in `namespace`, in name order. Searched by borrowed text: no key is
    /// built (a Service or workload sync runs this on every pod write).
    pub fn in_namespace<'a, 'n>(
        &'a self,
        namespace: &'n str,
    ) -> impl Iterator<Item = &'a T> + use<'a, 'n, T> {
        self.names
            .get(namespace)
            .into_iter()
            .flatten()
            .filter_map(move |name| self.get_by_name(namespace, name))
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Stores `object` at `key`, which must be the object's own namespace and name; returns
    /// the object it replaces, if any, and the key as stored (its namespace's text shared).
    pub(crate) fn insert(&mut self, key: ObjectKey, object: Arc<T>) -> (Option<Arc<T>>, ObjectKey) {
        debug_assert!(
            object.metadata().namespace == *key.namespace && object.metadata().name == *key.name,
            "an object is stored under its own namespace and name"
        );
        let hash = hash_key(&key.namespace, &key.name);
        let entry = self.by_key.entry(
            hash,
            |(stored, _)| same(&stored.name, &key.name) && same(&stored.namespace, &key.namespace),
            |(stored, _)| hash_key(&stored.namespace, &stored.name),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(mut slot) => {
                let (stored, held) = slot.get_mut();
                (Some(std::mem::replace(held, object)), stored.clone())
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let (namespace, names) = match self.names.get_key_value_mut(&*key.namespace) {
                    Some((filed, names)) => (Arc::clone(filed), names),
                    None => {
                        self.namespaces.insert(Arc::clone(&key.namespace));
                        let names = self.names.entry(Arc::clone(&key.namespace)).or_default();
                        (key.namespace, names)
                    }
                };
                // Inline when short; a long name shares the key's text.
                names.insert(SmolStr::from(Arc::clone(&key.name)));
                let key = ObjectKey {
                    namespace,
                    name: key.name,
                };
                slot.insert((key.clone(), object));
                (None, key)
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &ObjectKey) -> Option<Arc<T>> {
        let slot = self
            .by_key
            .find_entry(hash_key(&key.namespace, &key.name), |(stored, _)| {
                same(&stored.name, &key.name) && same(&stored.namespace, &key.namespace)
            })
            .ok()?;
        let ((stored_key, removed), _) = slot.remove();
        if let Some(names) = self.names.get_mut(&*stored_key.namespace) {
            names.remove(&*stored_key.name);
            if names.is_empty() {
                self.names.remove(&*stored_key.namespace);
                self.namespaces.remove(&*stored_key.namespace);
            }
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
            fn lists_in_key_order(ops in proptest::collection::vec(op(), 0..60)) {
                let mut store = Store::<Pod>::default();
                let mut reference: BTreeMap<(String, String), String> = BTreeMap::new();
                for op in ops {
                    match op {
                        Op::Put(ns, name, node) => {
                            let (ns, name) = (NAMESPACES[ns], NAMES[name]);
                            let (replaced, key) = store.insert(
                                ObjectKey::new(ns, name),
                                Arc::new(Pod::running(ns, name, &node)),
                            );
                            let before = reference.insert((ns.into(), name.into()), node);
                            prop_assert_eq!(replaced.is_some(), before.is_some());
                            prop_assert_eq!((&*key.namespace, &*key.name), (ns, name));
                        }
                        Op::Remove(ns, name) => {
                            let (ns, name) = (NAMESPACES[ns], NAMES[name]);
                            let removed = store.remove(&ObjectKey::new(ns, name));
                            let before = reference.remove(&(ns.to_string(), name.to_string()));
                            prop_assert_eq!(removed.is_some(), before.is_some());
                        }
                    }
                    let listed: Vec<(String, String, String)> = store
                        .iter()
                        .map(|p| (
                            p.metadata.namespace.to_string(),
                            p.metadata.name.to_string(),
                            p.spec.node_name.to_string(),
                        ))
                        .collect();
                    let expected: Vec<(String, String, String)> = reference
                        .iter()
                        .map(|((ns, name), node)| (ns.clone(), name.clone(), node.clone()))
                        .collect();
                    prop_assert_eq!(listed, expected);
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
                    prop_assert_eq!(store.names.len(), store.namespaces.len());
                    prop_assert!(store.names.values().all(|names| !names.is_empty()));
                }
            }
        }
    }
}
