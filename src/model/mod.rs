//! The lean object model: the Kubernetes kinds evictsim serves, with the fields the simulation
//! reads typed and every other field preserved verbatim, plus the [`Resource`] trait that
//! tells the store and the REST handler how each kind is served.

/// `PartialEq` for a kind of `metadata`, `spec` and `status`, field by field as a derived
/// one, but the status first: controllers and the kubelet write statuses, and the store
/// compares every write with the stored version, which shares the object's identity.
/// Destructured, so that a new field cannot be left out.
macro_rules! status_first_equality {
    ($name:ident) => {
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                let $name {
                    metadata,
                    spec,
                    status,
                } = self;
                *status == other.status && *metadata == other.metadata && *spec == other.spec
            }
        }
    };
}
pub(crate) use status_first_equality;

mod behaviour;
mod constructors;
mod eviction;
mod go_quote;
mod kind;
mod known_fields;
mod meta;
mod object_text;
mod pdb;
mod pod;
mod selector;
mod shared_list;
pub(crate) mod short_text;
mod unmodeled;
mod validation;
mod version;
mod workloads;

pub use behaviour::{
    Behaviour, EXIT_CODE, NEVER_READY, PRESTOP_SECONDS, SHUTDOWN_SECONDS, STARTUP_SECONDS, Shutdown,
};
pub use eviction::{DeleteOptions, Eviction, EvictionMeta, Preconditions};
pub use go_quote::{GoQuoted, go_quote};
pub use kind::Kind;
pub use known_fields::unknown_fields;
pub(crate) use known_fields::{check_object_text, unknown_fields_in_text};
pub use meta::{
    IntOrString, ObjectKey, ObjectMeta, OwnerReference, OwnerReferences, ResourceVersion, SmolStr,
    StringMap, Uid, UidText, percent_of_rounded_up,
};
pub(crate) use object_text::ObjectScan;
pub use pdb::{
    ALWAYS_ALLOW, Condition, DISRUPTION_ALLOWED, IF_HEALTHY_BUDGET, INSUFFICIENT_PODS,
    MAX_DISRUPTED_POD_SIZE, PodDisruptionBudget, PodDisruptionBudgetSpec,
    PodDisruptionBudgetStatus, SUFFICIENT_PODS, SYNC_FAILED,
};
pub use pod::{
    DISRUPTION_TARGET, EVICTION_API_MESSAGE, EVICTION_BY_EVICTION_API, Pod, PodCondition,
    PodConditions, PodSpec, PodStatus, StartStamp, TERMINATION_BY_KUBELET, phase,
};
pub(crate) use pod::{Merged, StatusField, merge_conditions, merged_list};
pub(crate) use validation::{KnownValid, validate_object_meta_except};
// The shared conditions path checks itself against it in debug builds only.
#[cfg(debug_assertions)]
pub(crate) use pod::conditions_set;
pub use selector::{
    FieldErrorKind, FieldRequirement, FieldSelector, LabelSelector, LabelSelectorRequirement,
    Operator, Requirement, Selector, SelectorFieldError, label_value_errors, qualified_name_errors,
};
pub use shared_list::SharedList;
pub(crate) use unmodeled::json_value_of;
pub use unmodeled::{RawJson, Unmodeled};
pub use validation::{
    validate_delete_options, validate_loaded_resource_version, validate_object_meta,
};
pub use version::KubernetesVersion;
pub use workloads::{
    AppsSpec, DaemonSet, Deployment, EndpointSlice, Endpoints, Node, NodeSpec, ReplicaSet,
    ReplicationController, ReplicationControllerSpec, Service, StatefulSet,
};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The field `name` of a JSON object, found by scanning its fields: the objects the
/// controllers read on every pass (a node's status and its conditions, a taint, a
/// toleration) hold a few fields each, and a look-up hashes every name it is given.
pub(crate) fn scanned_field<'a>(
    object: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    object.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The string a JSON text is, if it is one: borrowed from the text unless it has escapes.
pub(crate) fn json_string(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(inner.into());
    }
    serde_json::from_str::<String>(text).ok().map(Into::into)
}

/// [`scanned_field`] of `value`, when it is an object.
pub(crate) fn scanned<'a>(
    value: &'a serde_json::Value,
    name: &str,
) -> Option<&'a serde_json::Value> {
    value
        .as_object()
        .and_then(|object| scanned_field(object, name))
}

use crate::error::FieldError;

/// How a kind is served: its names, scope and the strategy hooks the store calls.
///
/// Implemented by every kind in this module; the store and the REST handler are generic
/// over it, so adding a kind is one `impl`.
pub trait Resource:
    Clone + Default + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + 'static
{
    /// The kind, e.g. `Pod`.
    const KIND: &'static str;
    /// The API group; empty for core.
    const GROUP: &'static str;
    /// The served version.
    const VERSION: &'static str;
    /// The resource (lower-case plural), e.g. `pods`.
    const PLURAL: &'static str;
    /// Whether objects live in namespaces.
    const NAMESPACED: bool;
    /// Whether the kind has a `status` subresource (main-resource writes keep the stored
    /// status; status writes keep the stored spec).
    const HAS_STATUS: bool;

    /// Standard metadata.
    fn metadata(&self) -> &ObjectMeta;
    /// Standard metadata, mutable.
    fn metadata_mut(&mut self) -> &mut ObjectMeta;

    /// The [`Kind`] of this type.
    ///
    /// # Panics
    /// Never for evictsim's own types: every one of them is a served kind.
    fn kind() -> Kind {
        Kind::from_name(Self::KIND).expect("every Resource type is a served Kind")
    }

    /// `group/version`, or `version` for the core group.
    fn api_version() -> String {
        if Self::GROUP.is_empty() {
            Self::VERSION.to_string()
        } else {
            format!("{}/{}", Self::GROUP, Self::VERSION)
        }
    }

    /// The resource as named in error messages: `pods`, `poddisruptionbudgets.policy`.
    fn qualified_resource() -> String {
        if Self::GROUP.is_empty() {
            Self::PLURAL.to_string()
        } else {
            format!("{}.{}", Self::PLURAL, Self::GROUP)
        }
    }

    /// Whether `metadata.generation` is tracked and bumped on spec changes.
    fn tracks_generation(_version: KubernetesVersion) -> bool {
        true
    }

    /// Whether the spec of `self` differs from `other`'s.
    fn spec_differs(&self, other: &Self) -> bool;

    /// Replaces this object's status with `from`'s.
    fn take_status(&mut self, from: &Self);

    /// Replaces this object's spec (and every field but metadata and status) with `from`'s.
    fn take_spec(&mut self, from: &Self);

    /// The create strategy's `PrepareForCreate`: what a created object's status starts as.
    fn reset_status_for_create(&mut self) {}

    /// Defaulting, as the API server applies it on create and update.
    fn apply_defaults(&mut self) {}

    /// Validation of spec on create and update (metadata is validated separately).
    fn validate_spec(&self) -> Vec<FieldError> {
        Vec::new()
    }

    /// Validation of an update against the stored object (immutable fields).
    fn validate_update(&self, _old: &Self) -> Vec<FieldError> {
        Vec::new()
    }

    /// Validation of a status write through the status subresource.
    fn validate_status(&self) -> Vec<FieldError> {
        Vec::new()
    }

    /// The value of a field-selector field, or `None` when the kind does not support it.
    fn field(&self, path: &str) -> Option<String> {
        let meta = self.metadata();
        match path {
            "metadata.name" => Some(meta.name.to_string()),
            "metadata.namespace" if Self::NAMESPACED => Some(meta.namespace.to_string()),
            _ => None,
        }
    }
}

macro_rules! typed_resource {
    ($ty:ty, $kind:literal, $group:literal, $version:literal, $plural:literal, namespaced: $ns:literal) => {
        fn metadata(&self) -> &ObjectMeta {
            &self.metadata
        }
        fn metadata_mut(&mut self) -> &mut ObjectMeta {
            &mut self.metadata
        }
        fn spec_differs(&self, other: &Self) -> bool {
            self.spec != other.spec
        }
        fn take_status(&mut self, from: &Self) {
            self.status = from.status.clone();
        }
        fn take_spec(&mut self, from: &Self) {
            self.spec = from.spec.clone();
        }
    };
}

macro_rules! resource_consts {
    ($kind:literal, $group:literal, $version:literal, $plural:literal, $ns:literal, $status:literal) => {
        const KIND: &'static str = $kind;
        const GROUP: &'static str = $group;
        const VERSION: &'static str = $version;
        const PLURAL: &'static str = $plural;
        const NAMESPACED: bool = $ns;
        const HAS_STATUS: bool = $status;
    };
}

impl Resource for Pod {
    resource_consts!("Pod", "", "v1", "pods", true, true);
    typed_resource!(Pod, "Pod", "", "v1", "pods", namespaced: true);

    /// Pods carry a generation from 1.33 (V5).
    fn tracks_generation(version: KubernetesVersion) -> bool {
        version >= KubernetesVersion::V1_33
    }

    fn reset_status_for_create(&mut self) {
        self.status = PodStatus {
            phase: phase::PENDING.into(),
            ..PodStatus::default()
        };
    }

    /// G1: `terminationGracePeriodSeconds` defaults to 30; a negative value is stored as 1.
    fn apply_defaults(&mut self) {
        match self.spec.termination_grace_period_seconds {
            None => self.spec.termination_grace_period_seconds = Some(30),
            Some(n) if n < 0 => self.spec.termination_grace_period_seconds = Some(1),
            Some(_) => {}
        }
    }

    fn field(&self, path: &str) -> Option<String> {
        Pod::field(self, path)
    }

    /// The `evictsim.io/*` behaviour annotations must be well-formed.
    fn validate_spec(&self) -> Vec<FieldError> {
        Behaviour::validate(&self.metadata.annotations)
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        validation::validate_pod_spec_update(&self.spec, &old.spec)
    }
}

impl Resource for PodDisruptionBudget {
    resource_consts!(
        "PodDisruptionBudget",
        "policy",
        "v1",
        "poddisruptionbudgets",
        true,
        true
    );
    typed_resource!(PodDisruptionBudget, "PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", namespaced: true);

    fn reset_status_for_create(&mut self) {
        self.status = PodDisruptionBudgetStatus::default();
    }

    fn validate_spec(&self) -> Vec<FieldError> {
        validation::validate_pdb_spec(&self.spec)
    }

    fn validate_status(&self) -> Vec<FieldError> {
        validation::validate_pdb_status(&self.status)
    }
}

macro_rules! apps_resource {
    ($ty:ident, $kind:literal, $plural:literal, default_replicas: $dr:literal) => {
        impl Resource for $ty {
            resource_consts!($kind, "apps", "v1", $plural, true, true);
            typed_resource!($ty, $kind, "apps", "v1", $plural, namespaced: true);

            fn reset_status_for_create(&mut self) {
                self.status = Unmodeled::new();
            }

            fn apply_defaults(&mut self) {
                if $dr && self.spec.replicas.is_none() {
                    self.spec.replicas = Some(1);
                }
            }

            fn validate_spec(&self) -> Vec<FieldError> {
                validation::validate_apps_spec(&self.spec, $dr)
            }
        }
    };
}

apps_resource!(ReplicaSet, "ReplicaSet", "replicasets", default_replicas: true);
apps_resource!(Deployment, "Deployment", "deployments", default_replicas: true);
apps_resource!(StatefulSet, "StatefulSet", "statefulsets", default_replicas: true);
apps_resource!(DaemonSet, "DaemonSet", "daemonsets", default_replicas: false);

impl Resource for ReplicationController {
    resource_consts!(
        "ReplicationController",
        "",
        "v1",
        "replicationcontrollers",
        true,
        true
    );
    typed_resource!(ReplicationController, "ReplicationController", "", "v1", "replicationcontrollers", namespaced: true);

    fn reset_status_for_create(&mut self) {
        self.status = Unmodeled::new();
    }

    fn apply_defaults(&mut self) {
        if self.spec.replicas.is_none() {
            self.spec.replicas = Some(1);
        }
    }

    fn validate_spec(&self) -> Vec<FieldError> {
        validation::validate_replicas(self.spec.replicas)
    }
}

impl Resource for Node {
    resource_consts!("Node", "", "v1", "nodes", false, true);
    typed_resource!(Node, "Node", "", "v1", "nodes", namespaced: false);

    fn tracks_generation(_version: KubernetesVersion) -> bool {
        false
    }

    fn field(&self, path: &str) -> Option<String> {
        match path {
            "metadata.name" => Some(self.metadata.name.to_string()),
            "spec.unschedulable" => Some(self.spec.unschedulable.to_string()),
            _ => None,
        }
    }
}

macro_rules! verbatim_resource {
    ($ty:ident, $kind:literal, $group:literal, $plural:literal, status: $status:literal) => {
        impl Resource for $ty {
            resource_consts!($kind, $group, "v1", $plural, true, $status);

            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
            fn tracks_generation(_version: KubernetesVersion) -> bool {
                false
            }
            fn spec_differs(&self, other: &Self) -> bool {
                !self.body.same_field(&other.body, "spec")
            }
            fn take_status(&mut self, from: &Self) {
                if $status {
                    match from.body.value("status") {
                        Some(s) => self.body.insert("status".into(), s),
                        None => self.body.remove("status"),
                    };
                }
            }
            fn take_spec(&mut self, from: &Self) {
                let status = self.body.value("status");
                self.body = from.body.clone();
                match status {
                    Some(s) => self.body.insert("status".into(), s),
                    None => self.body.remove("status"),
                };
            }
            fn reset_status_for_create(&mut self) {
                if $status {
                    self.body.remove("status");
                }
            }
        }
    };
}

verbatim_resource!(Service, "Service", "", "services", status: true);
verbatim_resource!(Endpoints, "Endpoints", "", "endpoints", status: false);
verbatim_resource!(EndpointSlice, "EndpointSlice", "discovery.k8s.io", "endpointslices", status: false);
