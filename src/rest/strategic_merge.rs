//! Strategic merge patch (`application/strategic-merge-patch+json`): what `kubectl apply`
//! (client-side), `kubectl cordon` and `kubectl edit` send.
//!
//! Unlike a JSON merge patch, lists of objects with a merge key (containers by `name`,
//! conditions by `type`, …) merge element by element, lists declared `merge` of primitives
//! (finalizers) are unions, and the patch may carry directives: `$patch` (`replace`,
//! `delete`, `merge`), `$setElementOrder/<list>`, `$retainKeys` and
//! `$deleteFromPrimitiveList/<list>`. The merge keys are those upstream's API types declare
//! (`patchStrategy:"merge" patchMergeKey:"…"` in `k8s.io/api`), as apimachinery's
//! `strategicpatch.StrategicMergePatch` reads them; every other list is replaced whole.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListStrategy {
    /// Objects matched by this key merge; others are appended.
    MergeKey(&'static str),
    /// A set of primitives: the patch's values are added.
    Union,
    /// The patch's list replaces the original.
    Replace,
}

/// The strategy of list `field` at `path` (field names from the object's root) in `kind`.
fn strategy(kind: &str, path: &[String], field: &str) -> ListStrategy {
    let in_container = path.iter().rev().take(1).any(|p| {
        matches!(
            p.as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        )
    });
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => ListStrategy::MergeKey("name"),
        "ports" if in_container => ListStrategy::MergeKey("containerPort"),
        "ports" if kind == "Service" => ListStrategy::MergeKey("port"),
        "volumeMounts" => ListStrategy::MergeKey("mountPath"),
        "volumeDevices" => ListStrategy::MergeKey("devicePath"),
        "conditions" => ListStrategy::MergeKey("type"),
        "addresses" if kind == "Node" => ListStrategy::MergeKey("type"),
        "hostAliases" | "podIPs" | "hostIPs" => ListStrategy::MergeKey("ip"),
        "ownerReferences" => ListStrategy::MergeKey("uid"),
        "topologySpreadConstraints" => ListStrategy::MergeKey("topologyKey"),
        "finalizers" | "podCIDRs" => ListStrategy::Union,
        _ => ListStrategy::Replace,
    }
}

/// Applies `patch` to `document` (an object of `kind`).
///
/// # Errors
/// 400 `BadRequest` for a patch that is not an object, or a directive with a value
/// upstream refuses.
pub fn apply(document: &mut Value, patch: &Value, kind: &str) -> Result<(), ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::BadRequest(
            "error decoding patch: the patch is not a JSON object".into(),
        ));
    };
    if !document.is_object() {
        *document = Value::Object(Map::new());
    }
    let Value::Object(map) = document else {
        return Ok(());
    };
    let mut path = Vec::new();
    if merge_map(map, patch, kind, &mut path)? == Outcome::Delete {
        *document = Value::Object(Map::new());
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Keep,
    Delete,
}

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

fn merge_map(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    kind: &str,
    path: &mut Vec<String>,
) -> Result<Outcome, ApiError> {
    match patch.get("$patch") {
        None => {}
        Some(Value::String(d)) if d == "replace" => {
            *original = strip(patch);
            return Ok(Outcome::Keep);
        }
        Some(Value::String(d)) if d == "delete" => return Ok(Outcome::Delete),
        Some(Value::String(d)) if d == "merge" => {}
        Some(other) => {
            return Err(bad(format!(
                "Unknown patch type: {}, {other}",
                other.as_str().unwrap_or("")
            )));
        }
    }
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        path.push(key.clone());
        match value {
            Value::Null => {
                original.remove(key);
            }
            Value::Object(child) => match original.get_mut(key) {
                Some(Value::Object(existing)) => {
                    if merge_map(existing, child, kind, path)? == Outcome::Delete {
                        original.remove(key);
                    }
                }
                _ => {
                    if child.get("$patch").and_then(Value::as_str) == Some("delete") {
                        original.remove(key);
                    } else {
                        original.insert(key.clone(), Value::Object(strip(child)));
                    }
                }
            },
            Value::Array(items) => {
                let strategy = strategy(kind, &path[..path.len() - 1], key);
                let merged = merge_list(original.get(key), items, strategy, kind, path)?;
                original.insert(key.clone(), Value::Array(merged));
            }
            scalar => {
                original.insert(key.clone(), scalar.clone());
            }
        }
        path.pop();
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let Value::Array(remove) = value else {
                return Err(bad(format!("invalid value for {key}: not a list")));
            };
            if let Some(Value::Array(list)) = original.get_mut(field) {
                list.retain(|v| !remove.contains(v));
            }
        }
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$setElementOrder/") {
            let Value::Array(order) = value else {
                return Err(bad(format!("invalid value for {key}: not a list")));
            };
            path.push(field.to_string());
            let strategy = strategy(kind, &path[..path.len() - 1], field);
            path.pop();
            if let Some(Value::Array(list)) = original.get_mut(field) {
                reorder(list, order, strategy);
            }
        }
    }
    if let Some(retain) = patch.get("$retainKeys") {
        let Value::Array(keys) = retain else {
            return Err(bad("invalid value for $retainKeys: not a list".into()));
        };
        let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        original.retain(|k, _| keys.contains(&k.as_str()));
    }
    Ok(Outcome::Keep)
}

fn merge_list(
    original: Option<&Value>,
    patch: &[Value],
    strategy: ListStrategy,
    kind: &str,
    path: &mut Vec<String>,
) -> Result<Vec<Value>, ApiError> {
    let mut list: Vec<Value> = match original {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    match strategy {
        ListStrategy::Replace => Ok(patch.iter().map(strip_value).collect()),
        ListStrategy::Union => {
            for item in patch {
                if !list.contains(item) {
                    list.push(item.clone());
                }
            }
            Ok(list)
        }
        ListStrategy::MergeKey(merge_key) => {
            if patch.iter().any(|item| {
                item.get("$patch").and_then(Value::as_str) == Some("replace")
                    && item.as_object().is_some_and(|m| m.len() == 1)
            }) {
                return Ok(patch
                    .iter()
                    .filter(|item| item.get("$patch").is_none())
                    .map(strip_value)
                    .collect());
            }
            for item in patch {
                let Value::Object(element) = item else {
                    list.push(item.clone());
                    continue;
                };
                let Some(key) = element.get(merge_key) else {
                    return Err(bad(format!(
                        "map: {} does not contain declared merge key: {merge_key}",
                        Value::Object(strip(element))
                    )));
                };
                let position = list
                    .iter()
                    .position(|existing| existing.get(merge_key) == Some(key));
                let delete = element.get("$patch").and_then(Value::as_str) == Some("delete");
                match (position, delete) {
                    (Some(i), true) => {
                        list.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => {
                        if let Value::Object(existing) = &mut list[i]
                            && merge_map(existing, element, kind, path)? == Outcome::Delete
                        {
                            list.remove(i);
                        }
                    }
                    (None, false) => list.push(Value::Object(strip(element))),
                }
            }
            Ok(list)
        }
    }
}

/// `$setElementOrder`: the listed elements first, in the listed order; the rest after, in
/// their own order.
fn reorder(list: &mut Vec<Value>, order: &[Value], strategy: ListStrategy) {
    let key_of = |v: &Value| -> Value {
        match strategy {
            ListStrategy::MergeKey(k) => v.get(k).cloned().unwrap_or(Value::Null),
            _ => v.clone(),
        }
    };
    let wanted: Vec<Value> = order.iter().map(key_of).collect();
    let mut rest = std::mem::take(list);
    for key in &wanted {
        if let Some(i) = rest.iter().position(|item| key_of(item) == *key) {
            list.push(rest.remove(i));
        }
    }
    list.append(&mut rest);
}

fn strip(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k.clone(), strip_value(v)))
        .collect()
}

fn strip_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(strip(map)),
        Value::Array(items) => Value::Array(items.iter().map(strip_value).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(document: Value, patch: Value, kind: &str) -> Value {
        let mut document = document;
        apply(&mut document, &patch, kind).unwrap();
        document
    }

    /// The PATCH kubectl 1.32's client-side apply sends when an image changes.
    #[test]
    fn client_side_apply_merges_containers_by_name() {
        let live = json!({"spec": {"containers": [
            {"name": "main", "image": "nginx:1.27", "resources": {}},
            {"name": "sidecar", "image": "envoy"}
        ]}});
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "main"}],
            "containers": [{"image": "nginx:1.28", "name": "main"}]
        }});
        assert_eq!(
            patched(live, patch, "Pod"),
            json!({"spec": {"containers": [
                {"name": "sidecar", "image": "envoy"},
                {"name": "main", "image": "nginx:1.28", "resources": {}}
            ]}})
        );
    }

    #[test]
    fn directives_delete_replace_and_retain() {
        let live = json!({"metadata": {"finalizers": ["a"]}, "spec": {
            "containers": [{"name": "a"}, {"name": "b"}],
            "nodeSelector": {"x": "1"},
            "unschedulable": true
        }});
        let patch = json!({
            "metadata": {"finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {
                "containers": [{"name": "a", "$patch": "delete"}],
                "nodeSelector": {"$patch": "replace", "y": "2"},
                "unschedulable": null
            }
        });
        assert_eq!(
            patched(live, patch, "Pod"),
            json!({"metadata": {"finalizers": ["b"]}, "spec": {
                "containers": [{"name": "b"}],
                "nodeSelector": {"y": "2"}
            }})
        );
        let live = json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]}});
        let patch =
            json!({"spec": {"volumes": [{"name": "v", "$retainKeys": ["name", "emptyDir"]}]}});
        assert_eq!(
            patched(live, patch, "Pod"),
            json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}})
        );
    }

    #[test]
    fn lists_without_a_merge_key_are_replaced() {
        let live = json!({"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}});
        let patch = json!({"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}});
        assert_eq!(
            patched(live, patch, "Node"),
            json!({"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}})
        );
    }

    #[test]
    fn an_element_without_its_merge_key_is_refused() {
        let mut live = json!({"spec": {"containers": [{"name": "a"}]}});
        let error = apply(
            &mut live,
            &json!({"spec": {"containers": [{"image": "x"}]}}),
            "Pod",
        )
        .unwrap_err();
        assert_eq!(error.code(), 400);
    }
}
