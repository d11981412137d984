//! `policy/v1.Eviction` and `meta/v1.DeleteOptions`: the bodies of an eviction POST and of a
//! DELETE.

use serde::{Deserialize, Serialize};

use super::meta::{ResourceVersion, SmolStr, Uid};

/// An `Eviction` body (`policy/v1` or `policy/v1beta1`; `apiVersion`/`kind` may be absent).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Eviction {
    /// `policy/v1` or `policy/v1beta1` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<SmolStr>,
    /// `Eviction` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SmolStr>,
    /// Names the pod.
    #[serde(default)]
    pub metadata: EvictionMeta,
    /// Options for the pod's deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_options: Option<DeleteOptions>,
}

/// The part of an Eviction's metadata the handler reads. Other metadata fields are accepted.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvictionMeta {
    /// Must equal the pod name in the URL (E4).
    #[serde(default)]
    pub name: SmolStr,
    /// Empty is filled from the URL; anything else must match it (E4).
    #[serde(default)]
    pub namespace: SmolStr,
    /// Accepted and ignored, as metav1.ObjectMeta fields on an Eviction are.
    #[serde(flatten)]
    pub unmodeled: super::Unmodeled,
}

super::unmodeled::deserialize_keeping_unmodeled!(EvictionMeta {
    "name" => name,
    "namespace" => namespace,
});

/// `metav1.DeleteOptions`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    /// `DeleteOptions` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `v1` or `meta.k8s.io/v1` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The grace period; `None` uses the object's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    /// Must hold against the stored object, or the delete is a 409.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
    /// Deprecated garbage-collection flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphan_dependents: Option<bool>,
    /// `Orphan`, `Background` or `Foreground`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation_policy: Option<String>,
    /// `["All"]` for a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<String>>,
    /// Unsafe deletion of corrupt objects; never allowed on eviction (E5, 1.32+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_store_read_error_with_cluster_breaking_potential: Option<bool>,
}

/// `metav1.Preconditions`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// The UID the object must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<Uid>,
    /// The resourceVersion the object must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<ResourceVersion>,
}

impl DeleteOptions {
    /// Whether this is a dry run (a non-empty `dryRun` list).
    pub fn is_dry_run(&self) -> bool {
        self.dry_run.as_ref().is_some_and(|d| !d.is_empty())
    }

    /// The resourceVersion precondition, if set and non-empty.
    pub fn resource_version_precondition(&self) -> Option<&ResourceVersion> {
        self.preconditions
            .as_ref()
            .and_then(|p| p.resource_version.as_ref())
            .filter(|rv| !rv.0.is_empty())
    }

    /// Sets the resourceVersion precondition.
    pub fn set_resource_version_precondition(&mut self, rv: ResourceVersion) {
        self.preconditions
            .get_or_insert_with(Preconditions::default)
            .resource_version = Some(rv);
    }
}
