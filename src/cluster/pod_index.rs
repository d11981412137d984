//! Secondary indexes over stored pods: by node (`spec.nodeName`) and by label, so that the
//! disruption controller's "pods selected by this PDB" (C5) and a node's pods are found
//! without scanning. Look-ups return name-ordered sets, the order a namespace scan gives.

use std::collections::BTreeSet;

use super::FastMap;
use crate::model::{ObjectKey, Pod, SmolStr, Uid};

/// The pod indexes. Only looked up, never iterated into an output except through the
/// ordered sets they hold.
#[derive(Debug, Clone, Default)]
pub struct PodIndex {
    by_node: FastMap<SmolStr, BTreeSet<ObjectKey>>,
    by_label: FastMap<(SmolStr, SmolStr, SmolStr), BTreeSet<ObjectKey>>,
    by_owner: FastMap<Uid, BTreeSet<ObjectKey>>,
    /// Per controller: (active pods, active Ready pods); active = not terminating, not terminal.
    owner_counts: FastMap<Uid, (usize, usize)>,
}

fn active(pod: &Pod) -> bool {
    !pod.is_terminating() && !pod.is_terminal()
}

impl PodIndex {
    /// Moves the entries of the pod at `key` from its `old` to its `new` state.
    pub fn update(&mut self, key: &ObjectKey, old: Option<&Pod>, new: Option<&Pod>) {
        if let (Some(old), Some(new)) = (old, new)
            && old.spec.node_name == new.spec.node_name
            && old.metadata.labels == new.metadata.labels
            && old.metadata.controller_ref().map(|r| &r.uid)
                == new.metadata.controller_ref().map(|r| &r.uid)
        {
            // Most pod writes (status, conditions, deletion stamps) move no entry: only the
            // owner's counts can change.
            self.recount_owner(old, new);
            return;
        }
        if let Some(old) = old {
            let key = key.clone();
            if let Some(set) = self.by_node.get_mut(old.spec.node_name.as_str()) {
                set.remove(&key);
                if set.is_empty() {
                    self.by_node.remove(old.spec.node_name.as_str());
                }
            }
            if let Some(owner) = old.metadata.controller_ref()
                && active(old)
                && let Some(counts) = self.owner_counts.get_mut(&owner.uid)
            {
                counts.0 -= 1;
                counts.1 -= usize::from(old.is_ready());
                if counts.0 == 0 {
                    self.owner_counts.remove(&owner.uid);
                }
            }
            if let Some(owner) = old.metadata.controller_ref()
                && let Some(set) = self.by_owner.get_mut(&owner.uid)
            {
                set.remove(&key);
                if set.is_empty() {
                    self.by_owner.remove(&owner.uid);
                }
            }
            for (k, v) in &old.metadata.labels {
                let index_key = label_key(&key.namespace, k, v);
                if let Some(set) = self.by_label.get_mut(&index_key) {
                    set.remove(&key);
                    if set.is_empty() {
                        self.by_label.remove(&index_key);
                    }
                }
            }
        }
        if let Some(new) = new {
            let key = key.clone();
            self.by_node
                .entry(new.spec.node_name.clone())
                .or_default()
                .insert(key.clone());
            if let Some(owner) = new.metadata.controller_ref() {
                self.by_owner
                    .entry(owner.uid.clone())
                    .or_default()
                    .insert(key.clone());
                if active(new) {
                    let counts = self.owner_counts.entry(owner.uid.clone()).or_default();
                    counts.0 += 1;
                    counts.1 += usize::from(new.is_ready());
                }
            }
            for (k, v) in &new.metadata.labels {
                self.by_label
                    .entry(label_key(&key.namespace, k, v))
                    .or_default()
                    .insert(key.clone());
            }
        }
    }

    fn recount_owner(&mut self, old: &Pod, new: &Pod) {
        let Some(owner) = new.metadata.controller_ref() else {
            return;
        };
        let before = (
            usize::from(active(old)),
            usize::from(active(old) && old.is_ready()),
        );
        let after = (
            usize::from(active(new)),
            usize::from(active(new) && new.is_ready()),
        );
        if before == after {
            return;
        }
        let counts = self.owner_counts.entry(owner.uid.clone()).or_default();
        counts.0 = counts.0 + after.0 - before.0;
        counts.1 = counts.1 + after.1 - before.1;
        if counts.0 == 0 {
            self.owner_counts.remove(&owner.uid);
        }
    }

    /// How many entries the indexes hold, all together.
    pub fn entries(&self) -> usize {
        self.by_node.values().map(BTreeSet::len).sum::<usize>()
            + self.by_label.values().map(BTreeSet::len).sum::<usize>()
            + self.by_owner.values().map(BTreeSet::len).sum::<usize>()
            + self.owner_counts.len()
    }

    /// The pods bound to `node`, in key order.
    pub fn on_node(&self, node: &str) -> impl Iterator<Item = &ObjectKey> {
        self.by_node.get(node).into_iter().flatten()
    }

    /// The pods whose controller is the object with `uid`, in key order.
    pub fn owned_by(&self, uid: &Uid) -> impl Iterator<Item = &ObjectKey> {
        self.by_owner.get(uid).into_iter().flatten()
    }

    /// How many of a controller's pods are active (not terminating, not terminal), and how
    /// many of those are Ready.
    pub fn owner_counts(&self, uid: &Uid) -> (usize, usize) {
        self.owner_counts.get(uid).copied().unwrap_or_default()
    }

    /// The pods in `namespace` labelled `key=value`, in name order.
    pub fn labelled(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> impl Iterator<Item = &ObjectKey> {
        self.by_label
            .get(&label_key(namespace, key, value))
            .into_iter()
            .flatten()
    }
}

/// The label index's key: short text lives inline, so building one to look up or to file
/// a pod allocates nothing.
fn label_key(namespace: &str, key: &str, value: &str) -> (SmolStr, SmolStr, SmolStr) {
    (
        SmolStr::new(namespace),
        SmolStr::new(key),
        SmolStr::new(value),
    )
}
