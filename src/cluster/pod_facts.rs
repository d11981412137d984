//! What the pod observers file a pod by: its node, labels, controller, spec and whether it
//! is terminating, terminal or Ready. The indexes, the node load, the PDB tallies and the
//! controllers' queues each compare these between a pod's version before a write and after
//! it, and read nothing else of the old version; so a write that changes a stored pod in
//! place (see `Cluster::write_pod_in_place`) keeps only those of the old version that such a
//! change may alter, rather than a copy of the whole pod.

use crate::model::{OwnerReference, Pod, SmolStr, StringMap, Uid, Unmodeled};

/// A pod's facts, borrowed from the pod (or partly from [`FactsBeforeChange`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PodFacts<'a> {
    pub namespace: &'a SmolStr,
    pub uid: &'a Uid,
    /// `spec.nodeName`; empty while the pod is unscheduled.
    pub node: &'a SmolStr,
    pub labels: &'a StringMap,
    /// The owner reference with `controller: true`.
    pub controller: Option<&'a OwnerReference>,
    /// The spec's unmodeled fields (containers, node selector, tolerations): what the
    /// scheduler places the pod by.
    pub spec: &'a Unmodeled,
    /// Has a `deletionTimestamp`.
    pub terminating: bool,
    /// Phase `Succeeded` or `Failed`.
    pub terminal: bool,
    /// Condition `Ready` is `True`.
    pub ready: bool,
}

impl<'a> PodFacts<'a> {
    pub fn of(pod: &'a Pod) -> PodFacts<'a> {
        PodFacts {
            namespace: &pod.metadata.namespace,
            uid: &pod.metadata.uid,
            node: &pod.spec.node_name,
            labels: &pod.metadata.labels,
            controller: pod.metadata.controller_ref(),
            spec: &pod.spec.unmodeled,
            terminating: pod.is_terminating(),
            terminal: pod.is_terminal(),
            ready: pod.is_ready(),
        }
    }

    /// Whether `other` has the same controller reference. The facts of a pod before and
    /// after an in-place write borrow it from the same pod, so it is first compared by
    /// address: most writes then compare no text (the owner's kind, name and API version).
    pub fn same_controller(&self, other: &PodFacts) -> bool {
        match (self.controller, other.controller) {
            (Some(a), Some(b)) => std::ptr::eq(a, b) || a == b,
            (a, b) => a.is_none() && b.is_none(),
        }
    }

    /// Neither terminating nor terminal: what a controller counts as one of its replicas.
    pub fn active(&self) -> bool {
        !self.terminating && !self.terminal
    }

    /// Ready and not terminating: a healthy pod before the disruption controller's
    /// `disruptedPods` adjustment.
    pub fn ready_not_terminating(&self) -> bool {
        self.ready && !self.terminating
    }
}

/// The facts of a pod about to be changed in place (see `Cluster::write_pod_in_place`): only
/// those such a change may alter. The rest (namespace, uid, labels, controller, spec) an
/// in-place change leaves alone by contract, so they are read from the pod as changed, and
/// keeping them costs no copy: no reference count is touched on the pod's ten or so writes.
#[derive(Debug, Clone)]
pub(crate) struct FactsBeforeChange {
    node: SmolStr,
    terminating: bool,
    terminal: bool,
    ready: bool,
}

impl FactsBeforeChange {
    pub fn of(pod: &Pod) -> FactsBeforeChange {
        FactsBeforeChange {
            node: pod.spec.node_name.clone(),
            terminating: pod.is_terminating(),
            terminal: pod.is_terminal(),
            ready: pod.is_ready(),
        }
    }

    /// The facts before the change, the unchanging ones borrowed from `changed` (the same
    /// pod after an in-place change).
    pub fn view<'a>(&'a self, changed: &'a Pod) -> PodFacts<'a> {
        // Spelled out rather than `..PodFacts::of(changed)`, which would work out the
        // changed pod's readiness (a scan of its conditions) only to drop it.
        PodFacts {
            namespace: &changed.metadata.namespace,
            uid: &changed.metadata.uid,
            node: &self.node,
            labels: &changed.metadata.labels,
            controller: changed.metadata.controller_ref(),
            spec: &changed.spec.unmodeled,
            terminating: self.terminating,
            terminal: self.terminal,
            ready: self.ready,
        }
    }

    /// Whether `changed` kept what an in-place change must leave alone, as `before` had it.
    #[cfg(any(debug_assertions, test))]
    pub fn unchanged_parts_kept(before: &Pod, changed: &Pod) -> bool {
        let (a, b) = (PodFacts::of(before), PodFacts::of(changed));
        a.namespace == b.namespace
            && a.uid == b.uid
            && a.labels == b.labels
            && a.controller == b.controller
            && a.spec == b.spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PodCondition;

    #[test]
    fn kept_facts_read_as_the_pods_own() {
        let mut pod = Pod::default();
        pod.metadata.namespace = "ns".into();
        pod.metadata.uid = Uid::from("u-1");
        pod.metadata.labels.insert("app".into(), "web".into());
        pod.metadata.owner_references = vec![
            OwnerReference {
                name: "other".into(),
                ..OwnerReference::default()
            },
            OwnerReference {
                name: "web".into(),
                controller: Some(true),
                ..OwnerReference::default()
            },
        ]
        .into();
        pod.spec.node_name = "node-1".into();
        pod.status.conditions.push(PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..PodCondition::default()
        });
        let kept = FactsBeforeChange::of(&pod);
        let (a, b) = (PodFacts::of(&pod), kept.view(&pod));
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(b.controller.map(|o| o.name.as_str()), Some("web"));
        assert!(b.ready && b.active() && b.ready_not_terminating());
    }

    #[test]
    fn facts_before_a_change_keep_what_it_may_alter() {
        let mut pod = Pod::default();
        pod.metadata.labels.insert("app".into(), "web".into());
        pod.status.conditions.push(PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..PodCondition::default()
        });
        let before = pod.clone();
        let kept = FactsBeforeChange::of(&pod);
        // What in-place writes do: bind, stamp the deletion, finish, turn un-Ready.
        pod.spec.node_name = "node-1".into();
        pod.metadata.deletion_timestamp = Some(crate::time::Time::from_unix_seconds(1).unwrap());
        pod.status.phase = "Succeeded".into();
        pod.status.conditions[0].status = "False".into();
        let old = kept.view(&pod);
        assert_eq!(old.node.as_str(), "");
        assert!(!old.terminating && !old.terminal && old.ready);
        assert_eq!(old.labels, &before.metadata.labels);
        assert!(FactsBeforeChange::unchanged_parts_kept(&before, &pod));
        pod.metadata.labels.insert("tier".into(), "front".into());
        assert!(!FactsBeforeChange::unchanged_parts_kept(&before, &pod));
    }
}
