//! What the pod observers file a pod by: its node, labels, controller, spec and whether it
//! is terminating, terminal or Ready. The indexes, the node load, the PDB tallies and the
//! controllers' queues each compare these between a pod's version before a write and after
//! it, and read nothing else of the old version; so a write that changes a stored pod in
//! place (see `Cluster::write_pod_in_place`) keeps only these of the old version rather than
//! a copy of the whole pod.

use crate::model::{ObjectMeta, OwnerReference, Pod, SmolStr, StringMap, Uid, Unmodeled};

/// A pod's facts, borrowed from the pod (or from [`KeptPodFacts`]).
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

/// A pod's facts kept apart from the pod: cheap copies (shared text and maps), no
/// allocation.
#[derive(Debug, Clone)]
pub(crate) struct KeptPodFacts {
    namespace: SmolStr,
    uid: Uid,
    node: SmolStr,
    labels: StringMap,
    controller: Option<OwnerReference>,
    spec: Unmodeled,
    terminating: bool,
    terminal: bool,
    ready: bool,
}

impl KeptPodFacts {
    pub fn of(pod: &Pod) -> KeptPodFacts {
        let facts = PodFacts::of(pod);
        let ObjectMeta {
            namespace,
            uid,
            labels,
            ..
        } = &pod.metadata;
        KeptPodFacts {
            namespace: namespace.clone(),
            uid: uid.clone(),
            node: pod.spec.node_name.clone(),
            labels: labels.clone(),
            controller: facts.controller.cloned(),
            spec: pod.spec.unmodeled.clone(),
            terminating: facts.terminating,
            terminal: facts.terminal,
            ready: facts.ready,
        }
    }

    pub fn view(&self) -> PodFacts<'_> {
        PodFacts {
            namespace: &self.namespace,
            uid: &self.uid,
            node: &self.node,
            labels: &self.labels,
            controller: self.controller.as_ref(),
            spec: &self.spec,
            terminating: self.terminating,
            terminal: self.terminal,
            ready: self.ready,
        }
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
        pod.metadata.uid = Uid("u-1".into());
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
        ];
        pod.spec.node_name = "node-1".into();
        pod.status.conditions.push(PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..PodCondition::default()
        });
        let kept = KeptPodFacts::of(&pod);
        let (a, b) = (PodFacts::of(&pod), kept.view());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(b.controller.map(|o| o.name.as_str()), Some("web"));
        assert!(b.ready && b.active() && b.ready_not_terminating());
    }
}
