//! The scheduler's view of the nodes: which are Ready and schedulable, and how many
//! non-terminal pods each runs, kept ordered by load so that placing a pod does not scan the
//! cluster's nodes.

use std::collections::BTreeSet;

use super::FastMap;

use serde_json::Value;

use crate::model::{Node, Pod};

/// Pods a node takes when its `status.allocatable.pods` does not say (the kubelet default).
pub const DEFAULT_MAX_PODS: usize = 110;

fn max_pods(node: &Node) -> usize {
    node.status
        .get("allocatable")
        .and_then(|a| a.get("pods"))
        .and_then(|p| match p {
            Value::String(s) => s.parse().ok(),
            Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
            _ => None,
        })
        .unwrap_or(DEFAULT_MAX_PODS)
}

fn counts(pod: &Pod) -> bool {
    !pod.spec.node_name.is_empty() && !pod.is_terminal()
}

/// Node load, indexed for placement.
#[derive(Debug, Clone, Default)]
pub struct NodeLoad {
    pods: FastMap<String, usize>,
    /// Eligible nodes (Ready, not cordoned) and their pod limit.
    eligible: FastMap<String, usize>,
    /// Eligible nodes ordered by (pods, name).
    by_load: BTreeSet<(usize, String)>,
}

impl NodeLoad {
    fn set_count(&mut self, node: &str, count: usize) {
        let old = self.pods.get(node).copied().unwrap_or(0);
        if self.eligible.contains_key(node) {
            self.by_load.remove(&(old, node.to_string()));
            self.by_load.insert((count, node.to_string()));
        }
        if count == 0 {
            self.pods.remove(node);
        } else {
            self.pods.insert(node.to_string(), count);
        }
    }

    /// Accounts for a pod write.
    pub fn pod_changed(&mut self, old: Option<&Pod>, new: Option<&Pod>) {
        if let (Some(old), Some(new)) = (old, new)
            && old.spec.node_name == new.spec.node_name
            && counts(old) == counts(new)
        {
            return; // most writes: the same node, counted the same way
        }
        if let Some(old) = old.filter(|p| counts(p)) {
            let n = self.pods.get(&old.spec.node_name).copied().unwrap_or(0);
            self.set_count(&old.spec.node_name, n.saturating_sub(1));
        }
        if let Some(new) = new.filter(|p| counts(p)) {
            let n = self.pods.get(&new.spec.node_name).copied().unwrap_or(0);
            self.set_count(&new.spec.node_name, n + 1);
        }
    }

    /// Accounts for a Node write (`None` when it was deleted).
    pub fn node_changed(&mut self, name: &str, node: Option<&Node>) {
        let count = self.pods.get(name).copied().unwrap_or(0);
        self.by_load.remove(&(count, name.to_string()));
        self.eligible.remove(name);
        if let Some(node) = node
            && super::kubelet::node_ready(node)
            && !node.spec.unschedulable
        {
            self.eligible.insert(name.to_string(), max_pods(node));
            self.by_load.insert((count, name.to_string()));
        }
    }

    /// The least-loaded eligible node with room, ties broken by name.
    pub fn pick(&self) -> Option<&str> {
        self.by_load
            .iter()
            .find(|(count, name)| self.eligible.get(name).is_some_and(|max| count < max))
            .map(|(_, name)| name.as_str())
    }
}
