//! kubectl drain's pod list and filter chain (D3, D4; V13, V14): which pods of a node are
//! evicted, which are left alone with a warning, and which stop the drain.

use http::StatusCode;
use serde_json::Value;

use super::client::{call, query};
use super::{DrainOptions, LeftAlone, Listed};
use crate::cluster::Cluster;
use crate::model::ObjectKey;

/// One pod's verdict from the filter chain.
pub(super) struct Verdict {
    delete: bool,
    /// `Some((message, is_error))` for a warning or an error.
    note: Option<(String, bool)>,
}

impl Verdict {
    fn okay() -> Self {
        Verdict {
            delete: true,
            note: None,
        }
    }
    fn skip() -> Self {
        Verdict {
            delete: false,
            note: None,
        }
    }
    fn warn(delete: bool, message: impl Into<String>) -> Self {
        Verdict {
            delete,
            note: Some((message.into(), false)),
        }
    }
    fn error(message: impl Into<String>) -> Self {
        Verdict {
            delete: false,
            note: Some((message.into(), true)),
        }
    }
}

pub(super) fn is_finished(pod: &Value) -> bool {
    matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

pub(super) fn controller_of(pod: &Value) -> Option<&Value> {
    pod.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

pub(super) fn deletion_older_than(pod: &Value, seconds: u64, now: crate::time::Time) -> bool {
    if seconds == 0 {
        return false;
    }
    pod.pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| crate::time::Time::parse(t).ok())
        .is_some_and(|at| {
            // kubectl: int(time.Since(deletionTimestamp).Seconds()) > N
            let elapsed = now.unix_seconds() - at.unix_seconds();
            elapsed > i64::try_from(seconds).unwrap_or(i64::MAX)
        })
}

/// kubectl's filter chain for one pod (`filters.go makeFilters`).
pub(super) fn filter(cluster: &mut Cluster, pod: &Value, options: &DrainOptions) -> Verdict {
    let now = cluster.now();
    let minor = cluster.config().kubernetes_version.minor();
    // 1. Pods deleted longer ago than --skip-wait-for-delete-timeout.
    if deletion_older_than(
        pod,
        options.skip_wait_for_delete_timeout,
        cluster.wall_now(),
    ) {
        return Verdict::skip();
    }
    // Each filter that lets the pod go may attach a warning, but the chain goes on and the
    // last filter's verdict is the one kept (D4): a warning that lets the pod go is always
    // overwritten by the unreplicated filter's verdict, so only the refusals below return.
    // 2. DaemonSet-managed pods (V13: from 1.34, only an `apps/v1` DaemonSet owner counts).
    if let Some(owner) = controller_of(pod) {
        let kind_matches = owner.get("kind").and_then(Value::as_str) == Some("DaemonSet");
        let version_matches =
            minor < 34 || owner.get("apiVersion").and_then(Value::as_str) == Some("apps/v1");
        if kind_matches && version_matches && !is_finished(pod) {
            let namespace = pod
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let name = owner.get("name").and_then(Value::as_str).unwrap_or("");
            let answer = call(
                cluster,
                now,
                "GET",
                &format!("/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}"),
                None,
            );
            if !answer.ok() {
                // A missing DaemonSet with --force: deleted, its warning overwritten later.
                if answer.code != StatusCode::NOT_FOUND || !options.force {
                    return Verdict::error(answer.message());
                }
            } else if !options.ignore_daemonsets {
                return Verdict::error(
                    "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)",
                );
            } else {
                return Verdict::warn(false, "ignoring DaemonSet-managed Pods");
            }
        }
    }
    // 3. Mirror pods.
    if pod
        .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
        .is_some()
    {
        return Verdict::skip();
    }
    // 4. Local storage.
    let empty_dir = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .is_some_and(|vs| vs.iter().any(|v| v.get("emptyDir").is_some()));
    // Allowed with --delete-emptydir-data: upstream's "deleting Pods with local storage"
    // warning is overwritten by the next filter.
    if empty_dir && !is_finished(pod) && !options.delete_emptydir_data {
        return Verdict::error("Pods with local storage (use --delete-emptydir-data to override)");
    }
    // 5. Unreplicated pods. Its verdict replaces the earlier warnings (upstream's D4).
    if is_finished(pod) || controller_of(pod).is_some() {
        return Verdict::okay();
    }
    if options.force {
        return Verdict::warn(true, "deleting Pods that declare no controller");
    }
    // V14: kubectl ≤ 1.35 doubles the prefix (the group adds its own `cannot delete`).
    let prefix = if minor < 36 { "cannot delete " } else { "" };
    Verdict::error(format!(
        "{prefix}Pods that declare no controller (use --force to override)"
    ))
}

/// The filtered list of a node's pods: those to evict, the groups of warnings and errors.
pub(super) struct PodList {
    pub(super) delete: Vec<Listed>,
    pub(super) warnings: Vec<(String, Vec<String>)>,
    pub(super) errors: Vec<(String, Vec<String>)>,
    pub(super) left_alone: Vec<LeftAlone>,
}

pub(super) fn group(groups: &mut Vec<(String, Vec<String>)>, message: &str, pod: String) {
    match groups.iter_mut().find(|(m, _)| m == message) {
        Some((_, pods)) => pods.push(pod),
        None => groups.push((message.to_string(), vec![pod])),
    }
}

pub(super) fn list_pods(
    cluster: &mut Cluster,
    node: &str,
    options: &DrainOptions,
) -> Result<PodList, String> {
    let mut list = PodList {
        delete: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
        left_alone: Vec::new(),
    };
    let field = format!("spec.nodeName={node}");
    let limit = options.chunk_size.to_string();
    let mut token = String::new();
    let mut pods = Vec::new();
    // Bounded: every page returns at least one pod or ends the list.
    for _ in 0..=cluster.object_count() {
        let q = query(&[
            ("fieldSelector", &field),
            ("labelSelector", &options.pod_selector),
            ("limit", if options.chunk_size == 0 { "" } else { &limit }),
            ("continue", &token),
        ]);
        let now = cluster.now();
        let answer = call(cluster, now, "GET", &format!("/api/v1/pods?{q}"), None);
        if !answer.ok() {
            return Err(answer.message());
        }
        if let Some(items) = answer.body.get("items").and_then(Value::as_array) {
            pods.extend(items.iter().cloned());
        }
        token = answer
            .body
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if token.is_empty() {
            break;
        }
    }
    for pod in &pods {
        let namespace = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let key = ObjectKey::new(namespace, name);
        let verdict = filter(cluster, pod, options);
        let shown = format!("{namespace}/{name}");
        if let Some((message, is_error)) = &verdict.note {
            group(
                if *is_error {
                    &mut list.errors
                } else {
                    &mut list.warnings
                },
                message,
                shown,
            );
        }
        if verdict.delete {
            list.delete.push(Listed {
                key,
                uid: pod
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        } else {
            let (reason, blocking) = match &verdict.note {
                Some((message, is_error)) => (message.clone(), *is_error),
                None if pod
                    .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
                    .is_some() =>
                {
                    (
                        "a mirror pod (its kubelet runs it from a static manifest)".to_string(),
                        false,
                    )
                }
                None => (
                    "deleted longer ago than --skip-wait-for-delete-timeout".to_string(),
                    false,
                ),
            };
            list.left_alone.push(LeftAlone {
                pod: key,
                reason,
                blocking,
            });
        }
    }
    Ok(list)
}
