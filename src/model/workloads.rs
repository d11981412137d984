//! Workload controllers (`ReplicaSet`, `Deployment`, `StatefulSet`, `DaemonSet`,
//! `ReplicationController`), `Node`, and the service-discovery kinds (`Service`, `Endpoints`,
//! `EndpointSlice`). The disruption controller reads their replica counts and UIDs (C7); the
//! rest of each object is preserved verbatim.

use serde::{Deserialize, Serialize};

use super::Unmodeled;
use super::meta::{ObjectMeta, StringMap};
use super::selector::LabelSelector;

/// The spec shape shared by `apps/v1` ReplicaSet, Deployment, StatefulSet and DaemonSet.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppsSpec {
    /// Desired pod count (not used by DaemonSets); defaulted to 1 where upstream does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Which pods the workload owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Everything else (template, strategy, …), verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

super::unmodeled::deserialize_keeping_unmodeled!(AppsSpec {
    "replicas" => replicas,
    "selector" => selector,
});

/// `v1.ReplicationControllerSpec`: its selector is a plain label map.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationControllerSpec {
    /// Desired pod count, defaulted to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Equality selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<StringMap>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

super::unmodeled::deserialize_keeping_unmodeled!(ReplicationControllerSpec {
    "replicas" => replicas,
    "selector" => selector,
});

macro_rules! workload {
    ($(#[$doc:meta])* $name:ident, $spec:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        pub struct $name {
            /// Standard metadata.
            #[serde(default)]
            pub metadata: ObjectMeta,
            /// The desired state.
            #[serde(default)]
            pub spec: $spec,
            /// The observed state, verbatim.
            #[serde(default)]
            pub status: Unmodeled,
        }

        super::status_first_equality!($name);
    };
}

workload!(
    /// `apps/v1.ReplicaSet`.
    ReplicaSet,
    AppsSpec
);
workload!(
    /// `apps/v1.Deployment`.
    Deployment,
    AppsSpec
);
workload!(
    /// `apps/v1.StatefulSet`.
    StatefulSet,
    AppsSpec
);
workload!(
    /// `apps/v1.DaemonSet`.
    DaemonSet,
    AppsSpec
);
workload!(
    /// `v1.ReplicationController`.
    ReplicationController,
    ReplicationControllerSpec
);

/// `v1.NodeSpec`: cordoning is read, the rest kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    /// Cordoned: no new pods are scheduled here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unschedulable: bool,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

super::unmodeled::deserialize_keeping_unmodeled!(NodeSpec {
    "unschedulable" => unschedulable,
});

/// `v1.Node`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Node {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The node's spec.
    #[serde(default)]
    pub spec: NodeSpec,
    /// The node's status (conditions, allocatable, …), verbatim.
    #[serde(default)]
    pub status: Unmodeled,
}

/// Serializes a verbatim body without `kind` and `apiVersion`, which the API writes itself.
pub(crate) fn without_type_meta<S: serde::Serializer>(
    body: &Unmodeled,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(
        body.iter_raw()
            .filter(|(key, _)| key != "kind" && key != "apiVersion")
            .map(|(key, value)| (key, super::unmodeled::RawField(value))),
    )
}

macro_rules! verbatim {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct $name {
            /// Standard metadata.
            #[serde(default)]
            pub metadata: ObjectMeta,
            /// Every other top-level field, verbatim. `kind` and `apiVersion` are the
            /// API's to write, never the body's: they are not serialized from here.
            #[serde(flatten, serialize_with = "crate::model::workloads::without_type_meta")]
            pub body: Unmodeled,
        }
    };
}

verbatim!(
    /// `v1.Service` (spec and status kept verbatim).
    Service
);
verbatim!(
    /// `v1.Endpoints` (subsets kept verbatim).
    Endpoints
);
verbatim!(
    /// `discovery.k8s.io/v1.EndpointSlice` (addressType, endpoints, ports kept verbatim).
    EndpointSlice
);
