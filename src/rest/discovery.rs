//! Discovery: what the server says it serves, in the three forms clients read.
//!
//! - aggregated discovery (`/api`, `/apis` as `APIGroupDiscoveryList`, `apidiscovery.k8s.io`
//!   v2 or v2beta1), chosen only by an exact match of the `Accept` parameters, as upstream's
//!   content negotiation does; kubectl 1.28 asks for v2beta1 alone, and answering it with v2
//!   makes it say `the server doesn't have a resource type "nodes"`;
//! - legacy discovery (`APIVersions`, `APIGroupList`, `APIGroup`, `APIResourceList`);
//! - `/version` and the OpenAPI v3 documents that `kubectl create/apply` fetch before they
//!   send `fieldValidation=Strict`.
//!
//! Short names and the `all` category exist only here: without them kubectl knows no `pdb`
//! and no `get all`. The legacy `/api/v1` list carries `pods/eviction` with its group and
//! version, the one entry `kubectl drain` looks for before it evicts (D6) — without it,
//! drain deletes pods without a word.

use serde_json::{Value, json};

use crate::cluster::KubernetesVersion;
use crate::model::{Kind, Resource};

/// A discovery document a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// `/version`.
    Version,
    /// `/api`.
    CoreGroup,
    /// `/apis`.
    Groups,
    /// `/apis/{group}`.
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`.
    Resources {
        /// The group; empty for core.
        group: String,
    },
    /// `/openapi/v3`.
    OpenApiRoot,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/{group}/{version}`.
    OpenApi {
        /// The group; empty for core.
        group: String,
    },
}

/// The groups evictsim serves besides core, in the order discovery lists them.
pub const GROUPS: [&str; 3] = ["apps", "policy", "discovery.k8s.io"];

/// Which form of `/api` and `/apis` a client's `Accept` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryFormat {
    /// `apidiscovery.k8s.io/v2`.
    AggregatedV2,
    /// `apidiscovery.k8s.io/v2beta1`.
    AggregatedV2Beta1,
    /// `APIVersions` / `APIGroupList`.
    Legacy,
}

impl DiscoveryFormat {
    /// Negotiates from `Accept`: the first media range the server can produce wins. From
    /// 1.35 the server no longer produces v2beta1 (V18: `AggregatedDiscoveryRemoveBetaType`
    /// locked on), so a client asking only for it gets legacy discovery.
    pub fn negotiate(accept: &str, kubernetes: KubernetesVersion) -> DiscoveryFormat {
        let beta_served = kubernetes < KubernetesVersion::V1_35;
        for media in accept.split(',') {
            let mut parts = media.split(';').map(str::trim);
            let kind = parts.next().unwrap_or("");
            let mut g = "";
            let mut v = "";
            let mut as_ = "";
            let mut others = false;
            for p in parts {
                match p.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                    Some(("g", x)) => g = x,
                    Some(("v", x)) => v = x,
                    Some(("as", x)) => as_ = x,
                    Some(("q", _)) => {}
                    _ => others = true,
                }
            }
            if kind != "application/json" && kind != "*/*" && kind != "application/*" {
                continue;
            }
            match (g, v, as_, others) {
                ("apidiscovery.k8s.io", "v2", "APIGroupDiscoveryList", false) => {
                    return DiscoveryFormat::AggregatedV2;
                }
                ("apidiscovery.k8s.io", "v2beta1", "APIGroupDiscoveryList", false)
                    if beta_served =>
                {
                    return DiscoveryFormat::AggregatedV2Beta1;
                }
                ("", "", "", false) => return DiscoveryFormat::Legacy,
                _ => {}
            }
        }
        DiscoveryFormat::Legacy
    }

    /// The response's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            DiscoveryFormat::AggregatedV2 => {
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            }
            DiscoveryFormat::AggregatedV2Beta1 => {
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            }
            DiscoveryFormat::Legacy => "application/json",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            DiscoveryFormat::AggregatedV2Beta1 => "apidiscovery.k8s.io/v2beta1",
            _ => "apidiscovery.k8s.io/v2",
        }
    }
}

/// The kube-apiserver version object for `version`.
pub fn version(version: KubernetesVersion) -> Value {
    json!({
        "major": "1",
        "minor": version.minor().to_string(),
        "gitVersion": format!("v1.{}.0", version.minor()),
        "gitCommit": "evictsim",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `kubectl`'s short names (upstream's `ShortNames()` of each REST storage).
fn short_names(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Pod => &["po"],
        Kind::PodDisruptionBudget => &["pdb"],
        Kind::Node => &["no"],
        Kind::ReplicaSet => &["rs"],
        Kind::Deployment => &["deploy"],
        Kind::StatefulSet => &["sts"],
        Kind::DaemonSet => &["ds"],
        Kind::ReplicationController => &["rc"],
        Kind::Service => &["svc"],
        Kind::Endpoints => &["ep"],
        Kind::EndpointSlice => &[],
    }
}

/// Members of the `all` category, as upstream's `Categories()`.
fn categories(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Pod
        | Kind::ReplicaSet
        | Kind::Deployment
        | Kind::StatefulSet
        | Kind::DaemonSet
        | Kind::ReplicationController
        | Kind::Service => &["all"],
        _ => &[],
    }
}

/// Every verb evictsim serves on a collection and its objects (no `deletecollection`).
const VERBS: [&str; 7] = [
    "create", "delete", "get", "list", "patch", "update", "watch",
];

fn kinds_of(group: &str) -> impl Iterator<Item = Kind> + '_ {
    Kind::ALL.into_iter().filter(move |k| k.group() == group)
}

fn has_status(kind: Kind) -> bool {
    crate::with_kind!(kind, T => <T as Resource>::HAS_STATUS)
}

fn group_version(group: &str) -> String {
    if group.is_empty() {
        "v1".into()
    } else {
        format!("{group}/v1")
    }
}

/// The document at `document`, for a client whose `Accept` is `accept`; `None` when nothing
/// is served there. Returns the body and its Content-Type.
pub fn answer(
    document: &Document,
    accept: &str,
    kubernetes: KubernetesVersion,
) -> Option<(Value, &'static str)> {
    let json = "application/json";
    Some(match document {
        Document::Version => (version(kubernetes), json),
        Document::CoreGroup | Document::Groups => {
            let format = DiscoveryFormat::negotiate(accept, kubernetes);
            let core = *document == Document::CoreGroup;
            let body = match format {
                DiscoveryFormat::Legacy if core => json!({
                    "kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
                }),
                DiscoveryFormat::Legacy => {
                    let groups: Vec<Value> = GROUPS.iter().map(|g| api_group(g)).collect();
                    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
                }
                aggregated => {
                    let items: Vec<Value> = if core {
                        vec![aggregated_group("")]
                    } else {
                        GROUPS.iter().map(|g| aggregated_group(g)).collect()
                    };
                    json!({"kind": "APIGroupDiscoveryList", "apiVersion": aggregated.api_version(),
                           "metadata": {}, "items": items})
                }
            };
            (body, format.content_type())
        }
        Document::Group(group) => {
            if !GROUPS.contains(&group.as_str()) {
                return None;
            }
            let mut body = api_group(group);
            body["kind"] = json!("APIGroup");
            body["apiVersion"] = json!("v1");
            (body, json)
        }
        Document::Resources { group } => (resource_list(group)?, json),
        Document::OpenApiRoot => (openapi_root(), json),
        Document::OpenApi { group } => (openapi_document(group, kubernetes)?, json),
    })
}

fn api_group(group: &str) -> Value {
    json!({
        "name": group,
        "versions": [{"groupVersion": format!("{group}/v1"), "version": "v1"}],
        "preferredVersion": {"groupVersion": format!("{group}/v1"), "version": "v1"}
    })
}

fn aggregated_group(group: &str) -> Value {
    let resources: Vec<Value> = kinds_of(group)
        .map(|kind| {
            let mut subresources = Vec::new();
            if has_status(kind) {
                subresources.push(json!({
                    "subresource": "status",
                    "responseKind": {"group": group, "version": "v1", "kind": kind.name()},
                    "verbs": ["get", "patch", "update"]
                }));
            }
            if kind == Kind::Pod {
                subresources.push(json!({
                    "subresource": "eviction",
                    "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"},
                    "verbs": ["create"]
                }));
            }
            let mut entry = json!({
                "resource": kind.plural(),
                "responseKind": {"group": group, "version": "v1", "kind": kind.name()},
                "scope": if kind.namespaced() { "Namespaced" } else { "Cluster" },
                "singularResource": kind.name().to_lowercase(),
                "verbs": VERBS,
            });
            if !short_names(kind).is_empty() {
                entry["shortNames"] = json!(short_names(kind));
            }
            if !categories(kind).is_empty() {
                entry["categories"] = json!(categories(kind));
            }
            if !subresources.is_empty() {
                entry["subresources"] = Value::Array(subresources);
            }
            entry
        })
        .collect();
    json!({
        "metadata": {"name": group, "creationTimestamp": null},
        "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}]
    })
}

/// The legacy `APIResourceList` of a group's `v1`.
fn resource_list(group: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for kind in kinds_of(group) {
        let mut entry = json!({
            "name": kind.plural(), "singularName": kind.name().to_lowercase(),
            "namespaced": kind.namespaced(), "kind": kind.name(), "verbs": VERBS,
        });
        if !short_names(kind).is_empty() {
            entry["shortNames"] = json!(short_names(kind));
        }
        if !categories(kind).is_empty() {
            entry["categories"] = json!(categories(kind));
        }
        resources.push(entry);
        if kind == Kind::Pod {
            resources.push(
                json!({"name": "pods/eviction", "singularName": "", "namespaced": true,
                "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}),
            );
        }
        if has_status(kind) {
            resources.push(json!({"name": format!("{}/status", kind.plural()), "singularName": "",
                "namespaced": kind.namespaced(), "kind": kind.name(), "verbs": ["get", "patch", "update"]}));
        }
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": group_version(group), "resources": resources}))
}

fn openapi_path(group: &str) -> String {
    if group.is_empty() {
        "api/v1".into()
    } else {
        format!("apis/{group}/v1")
    }
}

/// `/openapi/v3`: one entry per group-version, each pointing at its document.
fn openapi_root() -> Value {
    let mut paths = serde_json::Map::new();
    for group in std::iter::once("").chain(GROUPS) {
        let path = openapi_path(group);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", openapi_hash(group))}),
        );
    }
    json!({"paths": paths})
}

/// A stable hash of a group's document: it changes only with the crate version, so a
/// client's HTTP cache stays valid across restarts of the same build.
fn openapi_hash(group: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    (env!("CARGO_PKG_VERSION"), group).hash(&mut hasher);
    format!("{:016X}", hasher.finish())
}

/// A group-version's OpenAPI v3 document, as much of it as kubectl reads: each kind's
/// paths, with `x-kubernetes-group-version-kind` and the `fieldValidation` parameter that
/// tells kubectl the server validates fields itself (so it sends `fieldValidation=Strict`
/// and skips client-side schema validation).
fn openapi_document(group: &str, kubernetes: KubernetesVersion) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for kind in kinds_of(group) {
        let gvk = json!({"group": group, "version": "v1", "kind": kind.name()});
        let parameter = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
        let write = |content: &[&str], code: &str| {
            let mut media = serde_json::Map::new();
            for c in content {
                media.insert(
                    (*c).to_string(),
                    json!({"schema": {"$ref": format!("#/components/schemas/{}", schema_name(kind))}}),
                );
            }
            json!({
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [parameter("dryRun"), parameter("fieldManager"), parameter("fieldValidation")],
                "requestBody": {"content": media},
                "responses": {code: {"description": "OK"}}
            })
        };
        let base = if group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{group}/v1")
        };
        let collection = if kind.namespaced() {
            format!("{base}/namespaces/{{namespace}}/{}", kind.plural())
        } else {
            format!("{base}/{}", kind.plural())
        };
        paths.insert(
            collection.clone(),
            json!({"post": write(&["application/json"], "201")}),
        );
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({
                "put": write(&["application/json"], "200"),
                // Strategic merge patch is served but not listed: kubectl would then compute
                // its apply patches from these schemas, which name no fields; unlisted, it
                // uses its compiled-in types, as it does against a server without OpenAPI.
                "patch": write(&[
                    "application/apply-patch+yaml",
                    "application/json-patch+json",
                    "application/merge-patch+json",
                ], "200"),
            }),
        );
    }
    if paths.is_empty() {
        return None;
    }
    let mut schemas = serde_json::Map::new();
    for kind in kinds_of(group) {
        schemas.insert(
            schema_name(kind),
            json!({
                "type": "object",
                "x-kubernetes-group-version-kind": [{"group": group, "version": "v1", "kind": kind.name()}],
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{}.0", kubernetes.minor())},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// Upstream's schema name, e.g. `io.k8s.api.core.v1.Pod`.
fn schema_name(kind: Kind) -> String {
    let package = match kind.group() {
        "" => "core",
        "discovery.k8s.io" => "discovery",
        other => other,
    };
    format!("io.k8s.api.{package}.v1.{}", kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_matches_parameters_exactly() {
        let kubectl_132 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        let v134 = KubernetesVersion::V1_34;
        assert_eq!(
            DiscoveryFormat::negotiate(kubectl_132, v134),
            DiscoveryFormat::AggregatedV2
        );
        let kubectl_128 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(
            DiscoveryFormat::negotiate(kubectl_128, v134),
            DiscoveryFormat::AggregatedV2Beta1
        );
        // V18: a 1.35+ server answers a v2beta1-only client with legacy discovery, and
        // kubectl 1.37's v2-only Accept with v2.
        assert_eq!(
            DiscoveryFormat::negotiate(kubectl_128, KubernetesVersion::V1_35),
            DiscoveryFormat::Legacy
        );
        let kubectl_137 =
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
        assert_eq!(
            DiscoveryFormat::negotiate(kubectl_137, KubernetesVersion::V1_37),
            DiscoveryFormat::AggregatedV2
        );
        assert_eq!(
            DiscoveryFormat::negotiate("application/json, */*", v134),
            DiscoveryFormat::Legacy
        );
        assert_eq!(
            DiscoveryFormat::negotiate(
                "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList",
                v134
            ),
            DiscoveryFormat::Legacy
        );
    }

    #[test]
    fn core_v1_lists_the_eviction_subresource_with_group_and_version() {
        let (body, _) = answer(
            &Document::Resources {
                group: String::new(),
            },
            "application/json",
            KubernetesVersion::default(),
        )
        .unwrap();
        let eviction = body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "pods/eviction")
            .unwrap();
        assert_eq!(eviction["group"], "policy");
        assert_eq!(eviction["version"], "v1");
        assert_eq!(eviction["kind"], "Eviction");
    }
}
