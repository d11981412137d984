//! Finding a pod's PDBs without scanning its namespace's PDBs.
//!
//! Upstream's handler lists every PDB in the namespace and matches each selector (E13), so
//! its cost grows with the namespace's PDB count. The index files each PDB under one
//! `key=value` pair its selector requires (its anchor); a pod is then matched only against
//! the PDBs filed under its own labels, plus the few whose selectors have no anchor
//! (`{}`, or only set-based requirements). Results are the same PDBs as the scan's.

use std::collections::{BTreeSet, HashMap};

use crate::model::{ObjectKey, PodDisruptionBudget, Selector, StringMap};

#[derive(Debug, Clone, Default)]
struct NamespaceIndex {
    anchored: HashMap<(String, String), BTreeSet<String>>,
    unanchored: BTreeSet<String>,
}

/// The index: per namespace, PDB names by anchor, plus each PDB's compiled selector.
#[derive(Debug, Clone, Default)]
pub struct PdbIndex {
    namespaces: HashMap<String, NamespaceIndex>,
    selectors: HashMap<ObjectKey, (Selector, Option<(String, String)>)>,
}

impl PdbIndex {
    /// Files `pdb` (replacing any earlier entry under its key).
    pub fn insert(&mut self, pdb: &PodDisruptionBudget) {
        let key = pdb.metadata.key();
        self.remove(&key);
        // E13: a null or invalid selector selects nothing, so it is not filed at all.
        let Some(selector) = crate::cluster::eviction::pdb_selector(pdb) else {
            return;
        };
        let anchor = selector
            .anchor()
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let ns = self.namespaces.entry(key.namespace.clone()).or_default();
        match &anchor {
            Some(a) => {
                ns.anchored
                    .entry(a.clone())
                    .or_default()
                    .insert(key.name.clone());
            }
            None => {
                ns.unanchored.insert(key.name.clone());
            }
        }
        self.selectors.insert(key, (selector, anchor));
    }

    /// Forgets the PDB at `key`.
    pub fn remove(&mut self, key: &ObjectKey) {
        let Some((_, anchor)) = self.selectors.remove(key) else {
            return;
        };
        if let Some(ns) = self.namespaces.get_mut(&key.namespace) {
            match anchor {
                Some(a) => {
                    if let Some(set) = ns.anchored.get_mut(&a) {
                        set.remove(&key.name);
                        if set.is_empty() {
                            ns.anchored.remove(&a);
                        }
                    }
                }
                None => {
                    ns.unanchored.remove(&key.name);
                }
            }
        }
    }

    /// The names of the PDBs in `namespace` that select a pod with `labels`, sorted.
    pub fn selecting(&self, namespace: &str, labels: &StringMap) -> Vec<String> {
        let Some(ns) = self.namespaces.get(namespace) else {
            return Vec::new();
        };
        let mut names: BTreeSet<&String> = BTreeSet::new();
        for (k, v) in labels {
            // Allocation-free lookup would need a borrowed tuple key; labels are few.
            if let Some(set) = ns.anchored.get(&(k.clone(), v.clone())) {
                names.extend(set.iter());
            }
        }
        names.extend(ns.unanchored.iter());
        names
            .into_iter()
            .filter(|name| {
                self.selectors
                    .get(&ObjectKey::new(namespace, name.as_str()))
                    .is_some_and(|(s, _)| s.matches(labels))
            })
            .cloned()
            .collect()
    }
}
