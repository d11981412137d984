//! Typed object storage: one [`Store`] per kind, ordered by key as an etcd LIST is.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::model::{ObjectKey, Resource};

/// The stored objects of one kind, keyed by namespace and name.
#[derive(Debug, Clone)]
pub struct Store<T> {
    objects: BTreeMap<ObjectKey, T>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store {
            objects: BTreeMap::new(),
        }
    }
}

impl<T: Resource> Store<T> {
    /// The object at `key`.
    pub fn get(&self, key: &ObjectKey) -> Option<&T> {
        self.objects.get(key)
    }

    /// Every object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.objects.values()
    }

    /// The objects in `namespace`, in name order.
    pub fn in_namespace<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a T> + 'a {
        let start = ObjectKey::new(namespace, "");
        let ns = namespace.to_string();
        self.objects
            .range((Bound::Included(start), Bound::Unbounded))
            .take_while(move |(k, _)| k.namespace == ns)
            .map(|(_, v)| v)
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    pub(crate) fn insert(&mut self, key: ObjectKey, object: T) -> Option<T> {
        self.objects.insert(key, object)
    }

    pub(crate) fn remove(&mut self, key: &ObjectKey) -> Option<T> {
        self.objects.remove(key)
    }
}
