//! Constructors for the objects a test of eviction logic starts from, so that building a
//! cluster in Rust takes a line per object instead of a JSON document. Each returns an
//! ordinary object: change any field afterwards, or chain the `with_*` methods.

use super::{
    DeleteOptions, Deployment, Eviction, EvictionMeta, IntOrString, LabelSelector, Node,
    OwnerReference, Pod, PodCondition, PodDisruptionBudget, Preconditions, ReplicaSet, Resource,
    ResourceVersion, SmolStr, StatefulSet, StringMap, Uid, phase,
};
use serde_json::json;

/// `text` as a `SmolStr`, copied inline when it fits without `SmolStr::new`'s call to
/// `memcpy` and its look for whitespace-only text: a drain makes an eviction per attempt,
/// whose namespace and name are short.
fn short_smol(text: &str) -> SmolStr {
    if text.len() <= 23 {
        SmolStr::new_inline(text)
    } else {
        SmolStr::new(text)
    }
}

fn labels<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> StringMap {
    pairs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

impl OwnerReference {
    /// The reference a controller puts on what it owns: `controller: true`,
    /// `blockOwnerDeletion: true`.
    pub fn controller_of<T: Resource>(owner: &T) -> OwnerReference {
        OwnerReference {
            api_version: if T::GROUP.is_empty() {
                SmolStr::new_static(T::VERSION)
            } else {
                SmolStr::from_iter([T::GROUP, "/", T::VERSION])
            },
            kind: SmolStr::new_static(T::KIND),
            name: owner.metadata().name.clone(),
            uid: owner.metadata().uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }
}

impl From<i32> for IntOrString {
    fn from(n: i32) -> Self {
        IntOrString::Int(n)
    }
}

impl From<&str> for IntOrString {
    /// A string such as `"50%"`.
    fn from(text: &str) -> Self {
        IntOrString::String(text.into())
    }
}

impl LabelSelector {
    /// A selector of `key=value` pairs (`matchLabels`).
    ///
    /// # Examples
    /// ```
    /// use evictsim::model::LabelSelector;
    /// let selector = LabelSelector::matching([("app", "web")]);
    /// assert_eq!(selector.match_labels.unwrap()["app"], "web");
    /// ```
    pub fn matching<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> LabelSelector {
        LabelSelector {
            match_labels: Some(labels(pairs)),
            match_expressions: None,
        }
    }
}

impl Node {
    /// A node whose kubelet is alive (`Ready=True`) and that takes pods (110 of them, the
    /// kubelet's default).
    ///
    /// # Examples
    /// ```
    /// use evictsim::model::Node;
    /// let node = Node::ready("node-1").cordoned();
    /// assert!(node.spec.unschedulable);
    /// ```
    pub fn ready(name: &str) -> Node {
        let mut node = Node::default();
        node.metadata.name = name.into();
        node.status.insert(
            "conditions".into(),
            json!([{"type": "Ready", "status": "True"}]),
        );
        node.status
            .insert("allocatable".into(), json!({"pods": "110"}));
        node
    }

    /// The same node, cordoned (`spec.unschedulable: true`), as `kubectl cordon` leaves it.
    pub fn cordoned(mut self) -> Node {
        self.spec.unschedulable = true;
        self
    }

    /// The same node with a dead kubelet (`Ready=Unknown`): nothing on it progresses.
    pub fn not_ready(mut self) -> Node {
        self.status.insert(
            "conditions".into(),
            json!([{"type": "Ready", "status": "Unknown"}]),
        );
        self
    }
}

impl Pod {
    /// A pod bound to `node`, `Running` and `Ready`, with one container and the default
    /// 30-second grace period.
    ///
    /// # Examples
    /// ```
    /// use evictsim::model::Pod;
    /// let pod = Pod::running("default", "web-1", "node-1").with_labels([("app", "web")]);
    /// assert!(pod.is_ready());
    /// ```
    pub fn running(namespace: &str, name: &str, node: &str) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.namespace = namespace.into();
        pod.metadata.name = name.into();
        pod.spec.node_name = node.into();
        pod.spec.unmodeled.insert(
            "containers".into(),
            json!([{"name": "app", "image": "registry.k8s.io/pause:3.10"}]),
        );
        pod.status.phase = phase::RUNNING.into();
        pod.status.conditions.push(PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..PodCondition::default()
        });
        pod
    }

    /// The same pod with these labels added.
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Pod {
        self.metadata.labels.extend(labels(pairs));
        self
    }

    /// The same pod with `Ready=False` (running, but not counted as healthy by a PDB).
    pub fn unready(mut self) -> Pod {
        for condition in self.status.conditions.iter_mut() {
            if condition.type_ == "Ready" {
                condition.status = "False".into();
            }
        }
        self
    }

    /// The same pod with `terminationGracePeriodSeconds`.
    pub fn with_grace_period_seconds(mut self, seconds: i64) -> Pod {
        self.spec.termination_grace_period_seconds = Some(seconds);
        self
    }

    /// The same pod with an annotation, such as one of the `evictsim.io/*` behaviour
    /// annotations ([`super::SHUTDOWN_SECONDS`], …).
    pub fn with_annotation(mut self, key: &str, value: &str) -> Pod {
        self.metadata.annotations.insert(key.into(), value.into());
        self
    }

    /// The same pod, controlled by `owner` (an owner reference with `controller: true`;
    /// `owner` must carry the UID the cluster gave it).
    pub fn controlled_by<T: Resource>(mut self, owner: &T) -> Pod {
        self.metadata.owner_references = vec![OwnerReference::controller_of(owner)].into();
        self
    }
}

impl PodDisruptionBudget {
    /// A PDB that keeps at least `min_available` (a count, or a percentage such as
    /// `"50%"`) of the pods `selector` selects.
    ///
    /// # Examples
    /// ```
    /// use evictsim::model::{LabelSelector, PodDisruptionBudget};
    /// let pdb = PodDisruptionBudget::min_available("default", "web", 2, LabelSelector::matching([("app", "web")]));
    /// let pct = PodDisruptionBudget::max_unavailable("default", "db", "25%", LabelSelector::matching([("app", "db")]));
    /// assert!(pdb.spec.min_available.is_some() && pct.spec.max_unavailable.is_some());
    /// ```
    pub fn min_available(
        namespace: &str,
        name: &str,
        min_available: impl Into<IntOrString>,
        selector: LabelSelector,
    ) -> PodDisruptionBudget {
        let mut pdb = Self::selecting(namespace, name, selector);
        pdb.spec.min_available = Some(min_available.into());
        pdb
    }

    /// A PDB that lets at most `max_unavailable` (a count or a percentage) of the pods
    /// `selector` selects be unavailable.
    pub fn max_unavailable(
        namespace: &str,
        name: &str,
        max_unavailable: impl Into<IntOrString>,
        selector: LabelSelector,
    ) -> PodDisruptionBudget {
        let mut pdb = Self::selecting(namespace, name, selector);
        pdb.spec.max_unavailable = Some(max_unavailable.into());
        pdb
    }

    fn selecting(namespace: &str, name: &str, selector: LabelSelector) -> PodDisruptionBudget {
        let mut pdb = PodDisruptionBudget::default();
        pdb.metadata.namespace = namespace.into();
        pdb.metadata.name = name.into();
        pdb.spec.selector = Some(selector);
        pdb
    }

    /// The same PDB with `unhealthyPodEvictionPolicy` set (`IfHealthyBudget` or
    /// `AlwaysAllow`).
    pub fn with_unhealthy_pod_eviction_policy(mut self, policy: &str) -> PodDisruptionBudget {
        self.spec.unhealthy_pod_eviction_policy = Some(policy.into());
        self
    }
}

macro_rules! replicated_workload {
    ($ty:ident, $what:literal) => {
        impl $ty {
            #[doc = concat!("A ", $what, " of `replicas` pods labelled `labels` (its selector")]
            /// and its pod template's labels). Its pods get the template's one container;
            /// give them behaviour with [`Self::with_pod_annotation`].
            ///
            /// # Examples
            /// ```
            #[doc = concat!("use evictsim::model::", stringify!($ty), ";")]
            #[doc = concat!("let workload = ", stringify!($ty), "::new(\"default\", \"web\", 3, [(\"app\", \"web\")]);")]
            /// assert_eq!(workload.spec.replicas, Some(3));
            /// ```
            pub fn new<K: Into<String>, V: Into<String>>(
                namespace: &str,
                name: &str,
                replicas: i32,
                pod_labels: impl IntoIterator<Item = (K, V)>,
            ) -> $ty {
                let pod_labels = labels(pod_labels);
                let mut workload = $ty::default();
                workload.metadata.namespace = namespace.into();
                workload.metadata.name = name.into();
                workload.spec.replicas = Some(replicas);
                workload.spec.selector = Some(LabelSelector {
                    match_labels: Some(pod_labels.clone()),
                    match_expressions: None,
                });
                workload.spec.unmodeled.insert(
                    "template".into(),
                    json!({"metadata": {"labels": pod_labels},
                        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}),
                );
                workload
            }

            /// The same workload whose pods carry this annotation (the `evictsim.io/*`
            /// behaviour annotations: startup time, never Ready, shutdown time, …).
            pub fn with_pod_annotation(mut self, key: &str, value: &str) -> $ty {
                self.spec.unmodeled.edit(|spec| {
                    if let Some(template) = spec.get_mut("template") {
                        template["metadata"]["annotations"][key] = json!(value);
                    }
                });
                self
            }
        }
    };
}

replicated_workload!(ReplicaSet, "ReplicaSet");
replicated_workload!(Deployment, "Deployment");
replicated_workload!(StatefulSet, "StatefulSet");

impl Eviction {
    /// A `policy/v1` Eviction of the pod `namespace/name`, as `kubectl drain` sends it.
    ///
    /// # Examples
    /// ```
    /// use evictsim::model::Eviction;
    /// let eviction = Eviction::new("default", "web-1").with_grace_period_seconds(10).dry_run();
    /// assert_eq!(eviction.delete_options.unwrap().dry_run, Some(vec!["All".to_string()]));
    /// ```
    pub fn new(namespace: &str, name: &str) -> Eviction {
        // Built in place, field by field: a client makes one per attempt, and a default
        // eviction changed after would be moved twice (it is a few hundred bytes).
        Eviction {
            api_version: Some(SmolStr::new_static("policy/v1")),
            kind: Some(SmolStr::new_static("Eviction")),
            metadata: EvictionMeta {
                name: short_smol(name),
                namespace: short_smol(namespace),
                unmodeled: Default::default(),
            },
            delete_options: None,
        }
    }

    fn options(&mut self) -> &mut DeleteOptions {
        self.delete_options
            .get_or_insert_with(DeleteOptions::default)
    }

    /// The same eviction with `deleteOptions.gracePeriodSeconds`.
    pub fn with_grace_period_seconds(mut self, seconds: i64) -> Eviction {
        self.options().grace_period_seconds = Some(seconds);
        self
    }

    /// The same eviction as a dry run (`deleteOptions.dryRun: [All]`).
    pub fn dry_run(mut self) -> Eviction {
        self.options().dry_run = Some(vec!["All".into()]);
        self
    }

    /// The same eviction with preconditions on the pod's UID and resourceVersion.
    pub fn with_preconditions(
        mut self,
        uid: Option<Uid>,
        resource_version: Option<ResourceVersion>,
    ) -> Eviction {
        self.options().preconditions = Some(Preconditions {
            uid,
            resource_version,
        });
        self
    }
}
