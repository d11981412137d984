//! `src/model/known_fields.json` — every field Kubernetes knows in the kinds evictsim
//! serves, which strict field validation checks objects against — must equal what upstream's
//! schemas (through k8s-openapi's generated types) say. Regenerate it with
//! `EVICTSIM_UPDATE_KNOWN_FIELDS=1 cargo test --test known_fields`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde_json::{Value, json};

/// Turns one JSON schema into the compact field reference the simulator reads: `null` for a
/// value with no fields to check, `"Type"` for an object (or a list of objects) of that type,
/// `"*Type"` for a map whose values are objects of that type.
fn reference(schema: &Value, defs: &Value, types: &mut BTreeMap<String, Value>) -> Value {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let name = target.trim_start_matches("#/$defs/");
        return define(name, &defs[name], defs, types);
    }
    if let Some(items) = schema.get("items") {
        return reference(items, defs, types);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        return match reference(values, defs, types) {
            Value::String(name) => Value::String(format!("*{name}")),
            _ => Value::Null,
        };
    }
    Value::Null
}

fn define(name: &str, schema: &Value, defs: &Value, types: &mut BTreeMap<String, Value>) -> Value {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Value::Null;
    };
    if !types.contains_key(name) {
        // Reserve the name first: types may refer to themselves.
        types.insert(name.to_string(), Value::Null);
        let fields: BTreeMap<String, Value> = properties
            .iter()
            .map(|(field, property)| (field.clone(), reference(property, defs, types)))
            .collect();
        types.insert(name.to_string(), json!(fields));
    }
    Value::String(name.to_string())
}

fn add_root<T: JsonSchema>(
    kind: &str,
    kinds: &mut BTreeMap<String, Value>,
    types: &mut BTreeMap<String, Value>,
) {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let title = schema["title"].as_str().unwrap().to_string();
    kinds.insert(kind.to_string(), define(&title, &schema, &defs, types));
}

fn generated() -> String {
    use k8s_openapi::api::{
        apps::v1 as apps, core::v1 as core, discovery::v1 as discovery, policy::v1 as policy,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    let mut kinds = BTreeMap::new();
    let mut types = BTreeMap::new();
    add_root::<core::Pod>("Pod", &mut kinds, &mut types);
    add_root::<policy::PodDisruptionBudget>("PodDisruptionBudget", &mut kinds, &mut types);
    add_root::<core::Node>("Node", &mut kinds, &mut types);
    add_root::<apps::ReplicaSet>("ReplicaSet", &mut kinds, &mut types);
    add_root::<apps::Deployment>("Deployment", &mut kinds, &mut types);
    add_root::<apps::StatefulSet>("StatefulSet", &mut kinds, &mut types);
    add_root::<apps::DaemonSet>("DaemonSet", &mut kinds, &mut types);
    add_root::<core::ReplicationController>("ReplicationController", &mut kinds, &mut types);
    add_root::<core::Service>("Service", &mut kinds, &mut types);
    add_root::<core::Endpoints>("Endpoints", &mut kinds, &mut types);
    add_root::<discovery::EndpointSlice>("EndpointSlice", &mut kinds, &mut types);
    add_root::<policy::Eviction>("Eviction", &mut kinds, &mut types);
    add_root::<meta::DeleteOptions>("DeleteOptions", &mut kinds, &mut types);
    let mut text = serde_json::to_string_pretty(&json!({
        "source": "k8s-openapi 0.29, Kubernetes 1.37 (feature `latest`)",
        "kinds": kinds,
        "types": types,
    }))
    .unwrap();
    text.push('\n');
    text
}

#[test]
fn known_fields_match_upstreams_schemas() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/model/known_fields.json");
    let want = generated();
    if std::env::var_os("EVICTSIM_UPDATE_KNOWN_FIELDS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "src/model/known_fields.json is out of date: run EVICTSIM_UPDATE_KNOWN_FIELDS=1 cargo test --test known_fields"
    );
}
