//! Which fields Kubernetes knows in each served kind, for strict field validation: a field
//! evictsim does not model is kept as it is, but a field no Kubernetes release has (a typo
//! such as `minAvailabel`) is reported, as kube-apiserver's `fieldValidation` reports it.
//!
//! The field tree is `known_fields.json`, generated from upstream's OpenAPI schemas
//! (through k8s-openapi's types, Kubernetes 1.37) and checked against them by
//! `tests/known_fields.rs`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct KnownFields {
    /// Kind → its root type.
    kinds: BTreeMap<String, String>,
    /// Type → field → what the field holds: `None` for nothing to check, `"Type"` for
    /// objects (or lists of objects) of that type, `"*Type"` for maps of them.
    types: BTreeMap<String, BTreeMap<String, Option<String>>>,
}

fn known_fields() -> &'static KnownFields {
    static KNOWN: OnceLock<KnownFields> = OnceLock::new();
    KNOWN.get_or_init(|| {
        serde_json::from_str(include_str!("known_fields.json"))
            .expect("known_fields.json is generated and checked by tests/known_fields.rs")
    })
}

/// The paths of the fields in `object` that Kubernetes does not know for `kind`, in
/// document order, written as upstream's strict decoder writes them
/// (`spec.minAvailabel`, `spec.containers[0].imagee`). Empty for a kind it has no schema
/// for.
///
/// # Examples
/// ```
/// use serde_json::json;
/// let pdb = json!({"metadata": {"name": "web", "managedFields": []},
///     "spec": {"minAvailabel": 1, "selector": {"matchLabels": {"app": "web"}}}});
/// assert_eq!(evictsim::model::unknown_fields("PodDisruptionBudget", &pdb), ["spec.minAvailabel"]);
/// ```
pub fn unknown_fields(kind: &str, object: &Value) -> Vec<String> {
    let known = known_fields();
    let mut unknown = Vec::new();
    if let Some(root) = known.kinds.get(kind) {
        walk(known, root, object, &mut String::new(), &mut unknown);
    }
    unknown
}

fn walk(
    known: &KnownFields,
    type_name: &str,
    value: &Value,
    path: &mut String,
    out: &mut Vec<String>,
) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(known, type_name, item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(fields) => {
            let Some(schema) = known.types.get(type_name) else {
                return;
            };
            for (name, field) in fields {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                match schema.get(name) {
                    None => out.push(path.clone()),
                    Some(None) => {}
                    Some(Some(inner)) => match inner.strip_prefix('*') {
                        Some(value_type) => {
                            if let Value::Object(entries) = field {
                                for (key, entry) in entries {
                                    let before = path.len();
                                    path.push_str(&format!("[{key}]"));
                                    walk(known, value_type, entry, path, out);
                                    path.truncate(before);
                                }
                            }
                        }
                        None => walk(known, inner, field, path, out),
                    },
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}
