//! Reading a scenario file: YAML (or JSON) into [`Scenario`], with errors that name the field.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Expectation, ObjectRef, Operation, Scenario, Step};
use crate::cluster::{
    Cluster, ClusterConfig, Controllers, KubernetesVersion, Latencies, RateLimit,
};
use crate::error::ConfigError;
use crate::model::Kind;
use crate::rest::FieldValidation;
use crate::time::{Time, parse_duration};

pub(super) fn field(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        path: path.into(),
        message: message.into(),
    }
}

const TOP_LEVEL_KEYS: &[&str] = &[
    "start",
    "seed",
    "kubernetesVersion",
    "controllers",
    "latencies",
    "rateLimit",
    "fieldValidation",
    "maxObjects",
    "objects",
    "steps",
];

const OPERATIONS: &[&str] = &[
    "evict", "delete", "apply", "get", "request", "advance", "assert", "absent",
];

impl Scenario {
    /// Parses scenario text (YAML; JSON is valid YAML).
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] for text that is not YAML, [`ConfigError::Field`] naming the
    /// field (`steps[2].advance`, `controllers.kubelet`, …) for anything else.
    pub fn parse(text: &str) -> Result<Scenario, ConfigError> {
        Self::from_document(parse_document(text)?)
    }

    fn from_document(document: Value) -> Result<Scenario, ConfigError> {
        let mut top = match document {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(field("(top level)", "must be a map")),
        };
        for key in top.keys() {
            if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
                return Err(field(
                    key.clone(),
                    format!("unknown key {key:?} (known: {})", TOP_LEVEL_KEYS.join(", ")),
                ));
            }
        }
        let mut config = ClusterConfig::default();
        if let Some(start) = top.get("start") {
            let text = start
                .as_str()
                .ok_or_else(|| field("start", "must be an RFC 3339 time string"))?;
            config.start = Time::parse(text).map_err(|e| field("start", e))?;
        }
        if let Some(seed) = top.get("seed") {
            config.seed = seed
                .as_u64()
                .ok_or_else(|| field("seed", "must be a non-negative integer"))?;
        }
        if let Some(version) = top.get("kubernetesVersion") {
            let text = match version {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(field(
                        "kubernetesVersion",
                        "must be a string such as \"1.37\"",
                    ));
                }
            };
            config.kubernetes_version = text
                .parse::<KubernetesVersion>()
                .map_err(|e| field("kubernetesVersion", e))?;
        }
        if let Some(controllers) = top.get("controllers") {
            config.controllers = serde_json::from_value::<Controllers>(controllers.clone())
                .map_err(|e| field("controllers", e.to_string()))?;
        }
        if let Some(latencies) = top.get("latencies") {
            config.latencies = parse_latencies(latencies)?;
        }
        if let Some(limit) = top.get("rateLimit") {
            config.rate_limit = Some(
                serde_json::from_value::<RateLimit>(limit.clone())
                    .map_err(|e| field("rateLimit", e.to_string()))?,
            );
        }
        if let Some(max) = top.get("maxObjects") {
            config.max_objects = max
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| field("maxObjects", "must be a positive integer"))?;
        }
        let validation = match top.get("fieldValidation") {
            None => FieldValidation::Strict,
            Some(value) => value
                .as_str()
                .filter(|text| !text.is_empty())
                .and_then(FieldValidation::parse)
                .ok_or_else(|| {
                    field(
                        "fieldValidation",
                        "must be \"Strict\" (the default), \"Warn\" or \"Ignore\"",
                    )
                })?,
        };
        let mut objects = Vec::new();
        let mut object_paths = Vec::new();
        // Taken, not copied: a whole cluster's snapshot can be hundreds of megabytes.
        match top.remove("objects") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    let path = format!("objects[{i}]");
                    if !item.is_object() {
                        return Err(field(path, "must be a Kubernetes object"));
                    }
                    if item.get("kind").and_then(Value::as_str) == Some("List") {
                        let Some(Value::Array(inner)) = item.get("items") else {
                            return Err(field(format!("{path}.items"), "a List needs items"));
                        };
                        object_paths.extend((0..inner.len()).map(|j| format!("{path}.items[{j}]")));
                        if let Value::Object(mut list) = item
                            && let Some(Value::Array(inner)) = list.remove("items")
                        {
                            objects.extend(inner);
                        }
                    } else {
                        objects.push(item);
                        object_paths.push(path);
                    }
                }
            }
            Some(_) => return Err(field("objects", "must be a list")),
        }
        let mut steps = Vec::new();
        match top.get("steps") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    steps.push(parse_step(item, &format!("steps[{i}]"))?);
                }
            }
            Some(_) => return Err(field("steps", "must be a list")),
        }
        // Fields no Kubernetes release knows (a typo such as `minAvailabel`) would otherwise
        // be kept as unmodeled fields and silently do nothing.
        let mut checked: Vec<(String, &str, &Value)> = Vec::new();
        for (path, object) in object_paths.iter().zip(&objects) {
            if let Some(kind) = object.get("kind").and_then(Value::as_str) {
                checked.push((path.clone(), kind, object));
            }
        }
        for (i, step) in steps.iter().enumerate() {
            match &step.operation {
                Operation::Apply(object) => {
                    if let Some(kind) = object.get("kind").and_then(Value::as_str) {
                        checked.push((format!("steps[{i}].apply"), kind, object));
                    }
                }
                Operation::Evict(body) => {
                    checked.push((format!("steps[{i}].evict"), "Eviction", body))
                }
                _ => {}
            }
        }
        let mut warnings = Vec::new();
        for (path, kind, object) in checked {
            let unknown = crate::model::unknown_fields(kind, object);
            match validation {
                FieldValidation::Ignore => {}
                FieldValidation::Warn => {
                    warnings.extend(unknown.iter().map(|f| {
                        format!("{path}.{f}: unknown field {}", crate::model::GoQuoted(f))
                    }))
                }
                FieldValidation::Strict => {
                    if !unknown.is_empty() {
                        return Err(unknown_fields_error(&path, &unknown));
                    }
                }
            }
        }
        Ok(Scenario {
            config,
            objects,
            steps,
            warnings,
        })
    }
}

impl Cluster {
    /// Builds a cluster from YAML (or JSON) text: a scenario document's settings and
    /// `objects` (see the scenario reference, `docs/scenario-files.md`), or objects as
    /// `kubectl get -o yaml` prints them — one object or a `kind: List`. Objects load as one
    /// snapshot, exactly as a scenario's do, strictly validated unless the document sets
    /// `fieldValidation`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field, as for a scenario file; a document with `steps`
    /// is refused (run those with [`Scenario::run`]).
    ///
    /// # Examples
    /// ```
    /// use evictsim::cluster::Cluster;
    /// use evictsim::model::ObjectKey;
    ///
    /// let cluster = Cluster::from_yaml(r#"
    /// apiVersion: v1
    /// kind: List
    /// items:
    ///   - {apiVersion: v1, kind: Node, metadata: {name: node-1}, status: {conditions: [{type: Ready, status: "True"}]}}
    ///   - {apiVersion: v1, kind: Pod, metadata: {name: web-1, namespace: default}, spec: {nodeName: node-1}}
    /// "#).unwrap();
    /// assert!(cluster.pod(&ObjectKey::new("default", "web-1")).is_some());
    /// ```
    pub fn from_yaml(text: &str) -> Result<Cluster, ConfigError> {
        let mut document = parse_document(text)?;
        if document.get("kind").is_some() {
            document = serde_json::json!({ "objects": [document] });
        }
        let scenario = Scenario::from_document(document)?;
        if !scenario.steps.is_empty() {
            return Err(field(
                "steps",
                "Cluster::from_yaml builds the objects only: run a scenario's steps with Scenario::run",
            ));
        }
        scenario.build_cluster()
    }
}

impl Cluster {
    /// Builds the starting cluster of a file `evictsim drain` is given: a snapshot (one
    /// object, or the `List` that `kubectl get … -o json` prints) or a scenario, whose
    /// settings and objects are used and whose steps are not played. A snapshot's clock
    /// starts at the newest time it records (when it was taken), so ages and deletion
    /// timestamps read as they did on the cluster. Returns the cluster and the warnings of
    /// the file's `fieldValidation: Warn`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field.
    ///
    /// # Examples
    /// ```
    /// use evictsim::cluster::Cluster;
    /// let (cluster, _) = Cluster::from_snapshot_or_scenario(r#"{"kind": "List", "apiVersion": "v1", "items": [
    ///   {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}}]}"#).unwrap();
    /// assert_eq!(cluster.list::<evictsim::model::Node>().count(), 1);
    /// ```
    pub fn from_snapshot_or_scenario(text: &str) -> Result<(Cluster, Vec<String>), ConfigError> {
        if let Some(loaded) = super::snapshot::stream_json_list(text) {
            return loaded.map(|cluster| (cluster, Vec::new()));
        }
        let mut document = parse_document(text)?;
        if document.get("kind").is_some() {
            // A snapshot's clock starts when it was taken: the newest time it records (a
            // creation, a condition's transition or heartbeat, a managedFields entry), so
            // ages, skip thresholds and new timestamps read as they would on the cluster.
            let taken = super::snapshot::latest_time(&document);
            document = serde_json::json!({ "objects": [document] });
            if let Some(taken) = taken {
                document["start"] = Value::String(taken.to_string());
            }
        }
        let mut scenario = Scenario::from_document(document)?;
        let warnings = std::mem::take(&mut scenario.warnings);
        Ok((scenario.into_cluster()?, warnings))
    }
}

/// A strict file's error for fields no Kubernetes release knows, at the first of them.
pub(super) fn unknown_fields_error(path: &str, unknown: &[String]) -> ConfigError {
    field(
        format!("{path}.{}", unknown[0]),
        format!(
            "strict decoding error: {} (set `fieldValidation: Warn` or `Ignore` at the top of the file to keep such fields)",
            unknown
                .iter()
                .map(|f| format!("unknown field {}", crate::model::GoQuoted(f)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// The document as JSON values. A JSON file (a real cluster's `kubectl get -o json`
/// snapshot, say) is read by the JSON parser, many times faster than as YAML; anything else
/// as YAML 1.2.
fn parse_document(text: &str) -> Result<Value, ConfigError> {
    if text.trim_start().starts_with('{')
        && let Ok(document) = serde_json::from_str::<Value>(text)
    {
        return Ok(document);
    }
    // The YAML parser's budget guards against documents that expand far beyond their text
    // (alias bombs); its node and event counts scale with the text, so a snapshot of a
    // whole cluster (150,000 pods, some 4 million nodes) loads, while anchors and aliases
    // keep the parser's fixed caps.
    let defaults = serde_saphyr::Budget::default();
    let budget = serde_saphyr::budget! {
        max_nodes: defaults.max_nodes.max(text.len()),
        max_events: defaults.max_events.max(text.len().saturating_mul(2)),
        max_total_scalar_bytes: defaults.max_total_scalar_bytes.max(text.len()),
    };
    // YAML 1.2 booleans only: `n`, `y`, `no`, `on` stay strings, as kubectl reads them
    // (a node named `n` must not become `false`).
    let options = serde_saphyr::options! { strict_booleans: true, budget: budget };
    serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| ConfigError::Syntax(format!("not a YAML document: {e}")))
}

/// `latencies: realistic`, or a map of controller → duration (`disruption`, `kubelet`).
fn parse_latencies(value: &Value) -> Result<Latencies, ConfigError> {
    if value.as_str() == Some("realistic") {
        return Ok(Latencies::realistic());
    }
    let map = value.as_object().ok_or_else(|| {
        field(
            "latencies",
            "must be \"realistic\" or a map of controller to duration",
        )
    })?;
    let mut latencies = Latencies::default();
    for (k, v) in map {
        let path = format!("latencies.{k}");
        let d = duration(v, &path)?;
        match k.as_str() {
            "disruption" => latencies.disruption_sync = d,
            "kubelet" => latencies.kubelet_observe = d,
            "endpoints" => latencies.endpoints_sync = d,
            other => {
                return Err(field(
                    path,
                    format!("unknown key {other:?} (known: disruption, kubelet, endpoints)"),
                ));
            }
        }
    }
    Ok(latencies)
}

fn duration(value: &Value, path: &str) -> Result<Duration, ConfigError> {
    match value {
        Value::String(s) => parse_duration(s).map_err(|e| field(path, e)),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(Duration::ZERO),
        _ => Err(field(
            path,
            "must be a duration such as \"30s\", \"2m\" or \"1h30m\"",
        )),
    }
}

fn parse_step(item: &Value, path: &str) -> Result<Step, ConfigError> {
    let map = item
        .as_object()
        .ok_or_else(|| field(path, "a step must be a map"))?;
    let mut operation = None;
    let mut name = None;
    let mut expect = None;
    for (key, value) in map {
        let key_path = format!("{path}.{key}");
        match key.as_str() {
            "name" => {
                name = Some(
                    value
                        .as_str()
                        .ok_or_else(|| field(key_path, "must be a string"))?
                        .to_string(),
                )
            }
            "expect" => expect = Some(parse_expect(value, &key_path)?),
            op if OPERATIONS.contains(&op) => {
                if operation.is_some() {
                    return Err(field(path, "a step has exactly one operation key"));
                }
                operation = Some(parse_operation(op, value, &key_path)?);
            }
            other => {
                return Err(field(
                    key_path,
                    format!(
                        "unknown key {other:?} (operations: {})",
                        OPERATIONS.join(", ")
                    ),
                ));
            }
        }
    }
    let operation = operation.ok_or_else(|| {
        field(
            path,
            format!("a step needs one operation key ({})", OPERATIONS.join(", ")),
        )
    })?;
    if expect.is_some()
        && matches!(
            operation,
            Operation::Advance(_) | Operation::Assert(_) | Operation::Absent(_)
        )
    {
        return Err(field(
            format!("{path}.expect"),
            format!("`{}` gets no response to expect", operation.name()),
        ));
    }
    Ok(Step {
        name,
        operation,
        expect,
    })
}

/// Resolves `{kind, namespace, name}`, returning the rest of the map.
fn object_ref(value: &Value, path: &str) -> Result<(ObjectRef, Map<String, Value>), ConfigError> {
    let mut map = value
        .as_object()
        .cloned()
        .ok_or_else(|| field(path, "must be a map with kind, namespace and name"))?;
    let kind_name = map
        .remove("kind")
        .and_then(|k| k.as_str().map(str::to_string))
        .ok_or_else(|| field(format!("{path}.kind"), "required"))?;
    let kind = Kind::from_name(&kind_name).ok_or_else(|| {
        field(
            format!("{path}.kind"),
            format!("unknown kind {kind_name:?}"),
        )
    })?;
    let name = map
        .remove("name")
        .and_then(|n| n.as_str().map(str::to_string))
        .ok_or_else(|| field(format!("{path}.name"), "required"))?;
    let namespace = match map.remove("namespace") {
        Some(Value::String(ns)) => ns,
        Some(_) => return Err(field(format!("{path}.namespace"), "must be a string")),
        None if kind.namespaced() => "default".into(),
        None => String::new(),
    };
    map.remove("apiVersion");
    Ok((
        ObjectRef {
            kind,
            namespace,
            name,
        },
        map,
    ))
}

fn parse_operation(op: &str, value: &Value, path: &str) -> Result<Operation, ConfigError> {
    Ok(match op {
        "evict" => {
            if !value.is_object() {
                return Err(field(path, "must be an Eviction body"));
            }
            Operation::Evict(value.clone())
        }
        "delete" => {
            let (target, rest) = object_ref(value, path)?;
            Operation::Delete(target, Value::Object(rest))
        }
        "get" | "absent" => {
            let (target, rest) = object_ref(value, path)?;
            if let Some(extra) = rest.keys().next() {
                return Err(field(format!("{path}.{extra}"), "unknown key"));
            }
            if op == "get" {
                Operation::Get(target)
            } else {
                Operation::Absent(target)
            }
        }
        "apply" | "assert" => {
            let kind = value
                .get("kind")
                .and_then(Value::as_str)
                .ok_or_else(|| field(format!("{path}.kind"), "required"))?;
            if Kind::from_name(kind).is_none() {
                return Err(field(
                    format!("{path}.kind"),
                    format!("unknown kind {kind:?}"),
                ));
            }
            if value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_none()
            {
                return Err(field(format!("{path}.metadata.name"), "required"));
            }
            if op == "apply" {
                Operation::Apply(value.clone())
            } else {
                Operation::Assert(value.clone())
            }
        }
        "request" => {
            let map = value
                .as_object()
                .ok_or_else(|| field(path, "must be a map with method and path"))?;
            for key in map.keys() {
                if !["method", "path", "body", "headers"].contains(&key.as_str()) {
                    return Err(field(format!("{path}.{key}"), "unknown key"));
                }
            }
            let method = map
                .get("method")
                .and_then(Value::as_str)
                .ok_or_else(|| field(format!("{path}.method"), "required"))?;
            if http::Method::from_bytes(method.as_bytes()).is_err() {
                return Err(field(
                    format!("{path}.method"),
                    format!("not an HTTP method: {method:?}"),
                ));
            }
            let request_path = map
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| field(format!("{path}.path"), "required"))?;
            if !request_path.starts_with('/') || request_path.parse::<http::Uri>().is_err() {
                return Err(field(
                    format!("{path}.path"),
                    format!("not a request path: {request_path:?}"),
                ));
            }
            let mut headers = BTreeMap::new();
            if let Some(h) = map.get("headers") {
                let h = h
                    .as_object()
                    .ok_or_else(|| field(format!("{path}.headers"), "must be a map"))?;
                for (k, v) in h {
                    headers.insert(
                        k.clone(),
                        scalar_text(v).ok_or_else(|| {
                            field(format!("{path}.headers.{k}"), "must be a string")
                        })?,
                    );
                }
            }
            Operation::Request {
                method: method.to_uppercase(),
                path: request_path.to_string(),
                body: map.get("body").cloned(),
                headers,
            }
        }
        "advance" => Operation::Advance(duration(value, path)?),
        _ => return Err(field(path, "unknown operation")),
    })
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_expect(value: &Value, path: &str) -> Result<Expectation, ConfigError> {
    let map = value
        .as_object()
        .ok_or_else(|| field(path, "must be a map"))?;
    let mut expect = Expectation::default();
    for (k, v) in map {
        let key_path = format!("{path}.{k}");
        match k.as_str() {
            "code" => {
                let code = v
                    .as_u64()
                    .filter(|c| (100..=599).contains(c))
                    .ok_or_else(|| field(key_path, "must be an HTTP status code"))?;
                expect.code = u16::try_from(code).ok();
            }
            "body" => expect.body = Some(v.clone()),
            "headers" => {
                let h = v
                    .as_object()
                    .ok_or_else(|| field(key_path.clone(), "must be a map"))?;
                for (name, value) in h {
                    let text = match value {
                        Value::Null => None,
                        other => Some(scalar_text(other).ok_or_else(|| {
                            field(
                                format!("{key_path}.{name}"),
                                "must be a string, or null for absent",
                            )
                        })?),
                    };
                    expect.headers.insert(name.clone(), text);
                }
            }
            other => {
                return Err(field(
                    key_path,
                    format!("unknown key {other:?} (known: code, body, headers)"),
                ));
            }
        }
    }
    Ok(expect)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        Scenario::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        assert!(
            error_of("bogus: 1").starts_with("bogus: unknown key \"bogus\" (known: start, seed,")
        );
        assert!(
            error_of("steps: [{advance: soon}]").starts_with("steps[0].advance: invalid duration")
        );
        assert!(
            error_of("steps: [{advance: 1s, get: {kind: Pod, name: a}}]")
                .starts_with("steps[0]: a step has exactly one")
        );
        assert!(error_of("steps: [{name: x}]").starts_with("steps[0]: a step needs one operation"));
        assert!(
            error_of("steps: [{get: {kind: Widget, name: a}}]")
                .starts_with("steps[0].get.kind: unknown kind")
        );
        assert!(error_of("controllers: {kubelet: maybe}").starts_with("controllers:"));
        assert!(
            error_of("kubernetesVersion: \"1.29\"").starts_with("kubernetesVersion: unsupported")
        );
        assert!(
            error_of("steps: [{advance: 1s, expect: {code: 200}}]").starts_with("steps[0].expect:")
        );
        assert!(matches!(
            Scenario::parse("a: [").unwrap_err(),
            ConfigError::Syntax(_)
        ));
    }

    #[test]
    fn full_shape_parses() {
        let s = Scenario::parse(
            r#"
start: "2025-06-01T00:00:00Z"
seed: 7
kubernetesVersion: "1.32"
controllers: {disruption: false}
latencies: {disruption: 5s}
rateLimit: {qps: 1, burst: 2}
objects:
  - {kind: List, items: [{apiVersion: v1, kind: Node, metadata: {name: n1}}]}
steps:
  - name: look
    get: {kind: Node, name: n1}
    expect: {code: 200, headers: {Content-Type: application/json}}
  - advance: 1h30m
  - request: {method: get, path: "/api/v1/pods?labelSelector=a%3Db"}
"#,
        )
        .unwrap();
        assert_eq!(s.config.seed, 7);
        assert_eq!(s.config.kubernetes_version, KubernetesVersion::V1_32);
        assert!(!s.config.controllers.disruption && s.config.controllers.kubelet);
        assert_eq!(s.config.latencies.disruption_sync, Duration::from_secs(5));
        assert_eq!(s.objects.len(), 1);
        assert_eq!(s.steps.len(), 3);
        assert_eq!(
            s.steps[1].operation,
            Operation::Advance(Duration::from_secs(5400))
        );
    }
}
