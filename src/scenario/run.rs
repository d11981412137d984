//! Playing a scenario: load the objects, send every step through the REST handler on the
//! virtual clock, and check what came back.

use std::collections::BTreeMap;

use serde_json::Value;

use super::matching::{Mismatch, partial_match};
use super::report::{Report, StepReport};
use super::{ObjectRef, Operation, Scenario, Step};
use crate::cluster::Cluster;
use crate::error::ConfigError;
use crate::model::{Kind, PodDisruptionBudget, Resource};
use crate::rest;
use crate::time::SimTime;

/// The C41 match-none expression key written for v1beta1 PDBs with an empty selector.
const DEPRECATED_EMPTY_SELECTOR_KEY: &str =
    "pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match";

impl Scenario {
    /// Builds the cluster with the scenario's objects (through the API's create path, status
    /// kept as written).
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming the object that is not valid.
    pub fn build_cluster(&self) -> Result<Cluster, ConfigError> {
        Scenario::load_objects(self.config.clone(), self.objects.iter().cloned())
    }

    /// Builds the cluster with the scenario's objects as [`Scenario::build_cluster`] does,
    /// consuming the scenario: each object's JSON is moved into the typed object and freed
    /// as it is loaded, so a whole cluster's snapshot is never held twice.
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming the object that is not valid.
    pub fn into_cluster(self) -> Result<Cluster, ConfigError> {
        Scenario::load_objects(self.config, self.objects.into_iter())
    }

    fn load_objects(
        config: crate::cluster::ClusterConfig,
        objects: impl Iterator<Item = Value>,
    ) -> Result<Cluster, ConfigError> {
        let mut cluster = Cluster::new(config);
        // The objects are one snapshot: controllers see it whole, not half-loaded.
        cluster.defer_reactions();
        for (i, object) in objects.enumerate() {
            load_object(&mut cluster, object).map_err(|message| ConfigError::Field {
                path: format!("objects[{i}]"),
                message,
            })?;
        }
        cluster.resume_reactions(SimTime::ZERO);
        Ok(cluster)
    }

    /// Runs the scenario on a fresh cluster.
    ///
    /// # Errors
    /// [`ConfigError`] when an initial object is invalid (the file is invalid).
    pub fn run(&self) -> Result<Report, ConfigError> {
        self.run_keeping_cluster().map(|(report, _)| report)
    }

    /// Runs the scenario on a fresh cluster and returns the cluster as the steps left it
    /// (what `evictsim serve FILE` serves).
    ///
    /// # Errors
    /// [`ConfigError`] when an initial object is invalid (the file is invalid).
    pub fn run_keeping_cluster(&self) -> Result<(Report, Cluster), ConfigError> {
        let mut cluster = self.build_cluster()?;
        let setup_events = cluster.events();
        let mut steps = Vec::new();
        let mut now = SimTime::ZERO;
        for (index, step) in self.steps.iter().enumerate() {
            let cursor = cluster.event_count();
            let mut report = run_step(&mut cluster, &mut now, step);
            report.index = index;
            report.events = cluster.events_since(cursor);
            steps.push(report);
        }
        let report = Report {
            config: self.config.clone(),
            setup_events,
            steps,
        };
        Ok((report, cluster))
    }
}

pub(super) fn load_object(cluster: &mut Cluster, mut object: Value) -> Result<(), String> {
    let kind_name = object
        .get("kind")
        .and_then(Value::as_str)
        .ok_or("kind: required")?
        .to_string();
    let kind =
        Kind::from_name(&kind_name).ok_or_else(|| format!("kind: unknown kind {kind_name:?}"))?;
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind == Kind::PodDisruptionBudget && api_version == "policy/v1beta1" {
        convert_v1beta1_pdb(&mut object);
    } else {
        let expected = crate::with_kind!(kind, T => T::api_version());
        if !api_version.is_empty() && api_version != expected {
            return Err(format!(
                "apiVersion: {kind_name} is served as {expected:?}, not {api_version:?}"
            ));
        }
    }
    crate::with_kind!(kind, T => {
        let typed: T = serde_json::from_value(object).map_err(|e| format!("not a valid {kind_name}: {e}"))?;
        load_typed(cluster, typed)
    })
}

/// [`load_object`] of an object given as its JSON text, as a snapshot's item is: decoded
/// straight into its typed object when its `kind` and `apiVersion` (as the first reading of
/// the text found them) need nothing else, otherwise read as a tree by [`load_object`],
/// as is an object the typed decoder refuses, for its conversion or its error.
pub(super) fn load_object_text(
    cluster: &mut Cluster,
    scan: &crate::model::ObjectScan,
    text: &str,
) -> Result<(), String> {
    let as_tree = |cluster: &mut Cluster| {
        let object: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        load_object(cluster, object)
    };
    let Some(kind) = scan.kind.as_deref().and_then(Kind::from_name) else {
        return as_tree(cluster);
    };
    let api_version = scan.api_version.as_deref().unwrap_or("");
    let expected = crate::with_kind!(kind, T => T::api_version());
    if !api_version.is_empty() && api_version != expected {
        return as_tree(cluster);
    }
    crate::with_kind!(kind, T => match serde_json::from_str::<T>(text) {
        Ok(typed) => load_typed(cluster, typed),
        Err(_) => as_tree(cluster),
    })
}

/// Stores a decoded object as the scenario's setup does: status as written, the namespace
/// defaulted.
fn load_typed<T: crate::cluster::StoredKind>(
    cluster: &mut Cluster,
    mut typed: T,
) -> Result<(), String> {
    if T::NAMESPACED && typed.metadata().namespace.is_empty() {
        typed.metadata_mut().namespace = "default".into();
    }
    cluster
        .load(SimTime::ZERO, typed)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// C41: a v1beta1 `{}` selector is stored as "match none"; the marker key is stripped from
/// other selectors.
fn convert_v1beta1_pdb(object: &mut Value) {
    let Some(selector) = object.pointer_mut("/spec/selector") else {
        return;
    };
    let is_empty = selector.as_object().is_some_and(|m| {
        m.get("matchLabels")
            .and_then(Value::as_object)
            .is_none_or(|l| l.is_empty())
            && m.get("matchExpressions")
                .and_then(Value::as_array)
                .is_none_or(|e| e.is_empty())
    });
    if is_empty {
        *selector = serde_json::json!({"matchExpressions": [{"key": DEPRECATED_EMPTY_SELECTOR_KEY, "operator": "Exists"}]});
    } else if let Some(expressions) = selector
        .get_mut("matchExpressions")
        .and_then(Value::as_array_mut)
    {
        expressions.retain(|e| {
            e.get("key").and_then(Value::as_str) != Some(DEPRECATED_EMPTY_SELECTOR_KEY)
        });
    }
    if let Some(v) = object.get_mut("apiVersion") {
        *v = Value::String(PodDisruptionBudget::api_version());
    }
}

fn object_path(target: &ObjectRef) -> String {
    let kind = target.kind;
    let prefix = if kind.group().is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/v1", kind.group())
    };
    if kind.namespaced() {
        format!(
            "{prefix}/namespaces/{}/{}/{}",
            target.namespace,
            kind.plural(),
            target.name
        )
    } else {
        format!("{prefix}/{}/{}", kind.plural(), target.name)
    }
}

fn collection_path(kind: Kind, namespace: &str) -> String {
    let prefix = if kind.group().is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/v1", kind.group())
    };
    if kind.namespaced() {
        format!("{prefix}/namespaces/{namespace}/{}", kind.plural())
    } else {
        format!("{prefix}/{}", kind.plural())
    }
}

/// The object a partial object (`apply`/`assert`) names.
fn target_of(object: &Value) -> Option<ObjectRef> {
    let kind = Kind::from_name(object.get("kind")?.as_str()?)?;
    let name = object.pointer("/metadata/name")?.as_str()?.to_string();
    let namespace = match object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
    {
        Some(ns) => ns.to_string(),
        None if kind.namespaced() => "default".into(),
        None => String::new(),
    };
    Some(ObjectRef {
        kind,
        namespace,
        name,
    })
}

struct Response {
    code: u16,
    headers: BTreeMap<String, String>,
    body: Value,
}

fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn send(
    cluster: &mut Cluster,
    now: SimTime,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
    headers: &BTreeMap<String, String>,
) -> Response {
    let mut builder = http::Request::builder().method(method).uri(path);
    let has_body = body.as_ref().is_some_and(|b| !b.is_empty());
    if has_body
        && !headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        builder = builder.header("Content-Type", "application/json");
    }
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let response = match builder.body(body.unwrap_or_default()) {
        Ok(request) => rest::handle(cluster, now, &request),
        Err(e) => rest::error_response(&crate::error::ApiError::BadRequest(format!(
            "malformed request: {e}"
        ))),
    };
    let mut out_headers = BTreeMap::new();
    for (name, value) in response.headers() {
        let text = value.to_str().unwrap_or("").to_string();
        out_headers
            .entry(canonical_header(name.as_str()))
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(&text);
            })
            .or_insert(text);
    }
    let body = serde_json::from_slice(response.body())
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(response.body()).into_owned()));
    Response {
        code: response.status().as_u16(),
        headers: out_headers,
        body,
    }
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn run_step(cluster: &mut Cluster, now: &mut SimTime, step: &Step) -> StepReport {
    let mut report = StepReport::new(step, *now, cluster.clock().at(*now));
    let no_headers = BTreeMap::new();
    let response = match &step.operation {
        Operation::Evict(body) => {
            let name = body
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let namespace = body
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default");
            report.summary = format!("evict pod {namespace}/{name}");
            let path = format!("/api/v1/namespaces/{namespace}/pods/{name}/eviction");
            Some(send(
                cluster,
                *now,
                "POST",
                &path,
                Some(json_bytes(body)),
                &no_headers,
            ))
        }
        Operation::Delete(target, options) => {
            report.summary = format!("delete {} {}", target.kind, key_text(target));
            let body = options
                .as_object()
                .filter(|m| !m.is_empty())
                .map(|_| json_bytes(options));
            Some(send(
                cluster,
                *now,
                "DELETE",
                &object_path(target),
                body,
                &no_headers,
            ))
        }
        Operation::Get(target) => {
            report.summary = format!("get {} {}", target.kind, key_text(target));
            Some(send(
                cluster,
                *now,
                "GET",
                &object_path(target),
                None,
                &no_headers,
            ))
        }
        Operation::Apply(object) => match target_of(object) {
            Some(target) => {
                report.summary = format!("apply {} {}", target.kind, key_text(target_ref(&target)));
                let exists = send(
                    cluster,
                    *now,
                    "GET",
                    &object_path(&target),
                    None,
                    &no_headers,
                )
                .code
                    == 200;
                let mut body = object.clone();
                if target.kind.namespaced()
                    && let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut)
                {
                    meta.entry("namespace")
                        .or_insert_with(|| Value::String(target.namespace.clone()));
                }
                Some(if exists {
                    send(
                        cluster,
                        *now,
                        "PUT",
                        &object_path(&target),
                        Some(json_bytes(&body)),
                        &no_headers,
                    )
                } else {
                    send(
                        cluster,
                        *now,
                        "POST",
                        &collection_path(target.kind, &target.namespace),
                        Some(json_bytes(&body)),
                        &no_headers,
                    )
                })
            }
            None => {
                report.error = Some("apply: the object names no known kind and name".into());
                None
            }
        },
        Operation::Request {
            method,
            path,
            body,
            headers,
        } => {
            report.summary = format!("{method} {path}");
            let bytes = body.as_ref().map(|b| match b {
                Value::String(s) => s.clone().into_bytes(),
                other => json_bytes(other),
            });
            Some(send(cluster, *now, method, path, bytes, headers))
        }
        Operation::Advance(d) => {
            *now = *now + *d;
            cluster.advance_to(*now);
            report.summary = format!("advance {}", humantime::format_duration(*d));
            report.elapsed = *now;
            report.at = cluster.clock().at(*now);
            None
        }
        Operation::Assert(expected) => {
            match target_of(expected) {
                Some(target) => {
                    report.summary = format!("assert {} {}", target.kind, key_text(&target));
                    let got = send(
                        cluster,
                        *now,
                        "GET",
                        &object_path(&target),
                        None,
                        &no_headers,
                    );
                    if got.code == 200 {
                        report.mismatches = partial_match(expected, &got.body, "");
                    } else {
                        report.mismatches = vec![Mismatch {
                            path: String::new(),
                            expected: Value::String("the object to exist".into()),
                            actual: Value::String(format!(
                                "{} {}",
                                got.code,
                                got.body
                                    .get("message")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                            )),
                        }];
                    }
                }
                None => {
                    report.error = Some("assert: the object names no known kind and name".into())
                }
            }
            None
        }
        Operation::Absent(target) => {
            report.summary = format!("absent {} {}", target.kind, key_text(target));
            let got = send(
                cluster,
                *now,
                "GET",
                &object_path(target),
                None,
                &no_headers,
            );
            if got.code != 404 {
                report.mismatches = vec![Mismatch {
                    path: String::new(),
                    expected: Value::String("no such object".into()),
                    actual: got.body,
                }];
            }
            None
        }
    };
    if let Some(response) = response {
        if let Some(expect) = &step.expect {
            if let Some(code) = expect.code
                && code != response.code
            {
                report.mismatches.push(Mismatch {
                    path: "code".into(),
                    expected: Value::from(code),
                    actual: Value::from(response.code),
                });
            }
            if let Some(body) = &expect.body {
                report
                    .mismatches
                    .extend(partial_match(body, &response.body, "body"));
            }
            for (name, value) in &expect.headers {
                let actual = response
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone());
                if actual != *value {
                    report.mismatches.push(Mismatch {
                        path: format!("headers.{name}"),
                        expected: value.clone().map(Value::String).unwrap_or(Value::Null),
                        actual: actual.map(Value::String).unwrap_or(Value::Null),
                    });
                }
            }
        }
        report.code = Some(response.code);
        report.headers = Some(response.headers);
        report.body = Some(response.body);
    }
    report
}

fn target_ref(target: &ObjectRef) -> &ObjectRef {
    target
}

fn key_text(target: &ObjectRef) -> String {
    if target.namespace.is_empty() {
        target.name.clone()
    } else {
        format!("{}/{}", target.namespace, target.name)
    }
}
