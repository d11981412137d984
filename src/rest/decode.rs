//! Request bodies: JSON into typed objects, with upstream-style 400s for what cannot be
//! decoded, and the unknown-field warnings a server with default field validation sends.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cluster::KubernetesVersion;
use crate::error::ApiError;
use crate::model::{DeleteOptions, Eviction, Resource};
use crate::rest::MAX_REQUEST_BODY_BYTES;

/// What the server does with fields Kubernetes does not know (the `fieldValidation`
/// query parameter of POST, PUT and PATCH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Keep going, with one `Warning` header per field (upstream's default).
    #[default]
    Warn,
    /// Refuse the request: 400 `strict decoding error: unknown field "…"`.
    Strict,
}

impl FieldValidation {
    /// The directive named by a `fieldValidation` value (`""` is the default, `Warn`).
    pub fn parse(text: &str) -> Option<FieldValidation> {
        match text {
            "" | "Warn" => Some(FieldValidation::Warn),
            "Ignore" => Some(FieldValidation::Ignore),
            "Strict" => Some(FieldValidation::Strict),
            _ => None,
        }
    }

    /// Applies the directive to the unknown-field paths of a decoded body.
    ///
    /// # Errors
    /// 400 `strict decoding error: unknown field "<path>", …` under [`FieldValidation::Strict`].
    pub fn judge(self, unknown: &[String], warnings: &mut Vec<String>) -> Result<(), ApiError> {
        let messages = unknown
            .iter()
            .map(|path| format!("unknown field {}", crate::model::GoQuoted(path)));
        match self {
            FieldValidation::Ignore => Ok(()),
            FieldValidation::Warn => {
                warnings.extend(messages);
                Ok(())
            }
            FieldValidation::Strict if unknown.is_empty() => Ok(()),
            FieldValidation::Strict => Err(ApiError::BadRequest(format!(
                "strict decoding error: {}",
                messages.collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!("couldn't get version/kind; json parse error: {e}"))
    })
}

/// Checks `apiVersion`/`kind` when given: they must name `kind` in one of `versions`.
fn check_type(value: &Value, kind: &str, versions: &[&str]) -> Result<(), ApiError> {
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let given_kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    if !api_version.is_empty() && !versions.contains(&api_version) {
        return Err(ApiError::BadRequest(format!(
            "no kind {} is registered for version {} in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
            crate::model::GoQuoted(if given_kind.is_empty() {
                kind
            } else {
                given_kind
            }),
            crate::model::GoQuoted(api_version)
        )));
    }
    if !given_kind.is_empty() && given_kind != kind {
        let shown_version = if api_version.is_empty() {
            versions[0]
        } else {
            api_version
        };
        return Err(ApiError::BadRequest(format!(
            "{given_kind} in version {shown_version_q} cannot be handled as a {kind}: the kind in the data does not match the expected kind",
            shown_version_q = crate::model::GoQuoted(shown_version)
        )));
    }
    Ok(())
}

/// Decodes an object body of kind `T`.
///
/// # Errors
/// 400 for malformed JSON, a wrong kind or apiVersion, or fields of the wrong type.
pub fn object<T: Resource>(
    body: &[u8],
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<T, ApiError> {
    let value = parse_json(body)?;
    object_from_value(value, body, validation, warnings)
}

/// The media type of server-side apply.
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// Decodes a server-side apply body (YAML, of which JSON is a subset) into an object of kind
/// `T`, for an apply that creates.
///
/// # Errors
/// 400 for a body that is not YAML, not an object, or not a `T`.
pub fn applied<T: Resource>(
    body: &[u8],
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<T, ApiError> {
    object_from_value(apply_document(body)?, body, validation, warnings)
}

/// The document of an apply patch.
fn apply_document(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))?;
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Value>(text, options)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))
}

fn object_from_value<T: Resource>(
    value: Value,
    body: &[u8],
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::BadRequest(format!(
            "Object 'Kind' is missing in '{}'",
            truncate(body)
        )));
    }
    let api_version = T::api_version();
    check_type(&value, T::KIND, &[api_version.as_str()])?;
    let unknown = crate::model::unknown_fields(T::KIND, &value);
    let object = typed(value, T::KIND, &api_version)?;
    // A create or update names the kind it could not decode (upstream's
    // `transformDecodeError`); a patch does not.
    validation.judge(&unknown, warnings).map_err(|e| match e {
        ApiError::BadRequest(message) => ApiError::BadRequest(format!(
            "{kind} in version {version} cannot be handled as a {kind}: {message}",
            kind = T::KIND,
            version = crate::model::GoQuoted(T::VERSION)
        )),
        other => other,
    })?;
    Ok(object)
}

fn typed<T: DeserializeOwned>(value: Value, kind: &str, version: &str) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| {
        ApiError::BadRequest(format!(
            "{kind} in version {version_q} cannot be handled as a {kind}: {e}",
            version_q = crate::model::GoQuoted(version)
        ))
    })
}

fn truncate(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

/// Decodes an Eviction (policy/v1 or policy/v1beta1, E3), collecting unknown fields as
/// warnings (`unknown field "<path>"`).
///
/// # Errors
/// 400 for malformed JSON, another group/version (naming it), or wrong field types.
pub fn eviction(
    body: &[u8],
    version: KubernetesVersion,
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<Eviction, ApiError> {
    let value = parse_json(body)?;
    if !value.is_object() {
        return Err(ApiError::BadRequest(format!(
            "Object 'Kind' is missing in '{}'",
            truncate(body)
        )));
    }
    check_type(&value, "Eviction", &["policy/v1", "policy/v1beta1"])?;
    let mut unknown = Vec::new();
    let eviction: Eviction =
        serde_ignored::deserialize(value, |path| unknown.push(path.to_string())).map_err(|e| {
            ApiError::BadRequest(format!(
                "Eviction in version \"v1\" cannot be handled as a Eviction: {e}"
            ))
        })?;
    let mut eviction = eviction;
    if let Some(options) = &mut eviction.delete_options {
        drop_fields_newer_than(version, options, "deleteOptions.", &mut unknown);
    }
    validation.judge(&unknown, warnings)?;
    Ok(eviction)
}

/// Decodes a DELETE body.
///
/// # Errors
/// 400 for malformed JSON or wrong field types.
pub fn delete_options(
    body: &[u8],
    version: KubernetesVersion,
    warnings: &mut Vec<String>,
) -> Result<DeleteOptions, ApiError> {
    let value = parse_json(body)?;
    check_type(&value, "DeleteOptions", &["v1", "meta.k8s.io/v1"])?;
    let mut unknown = crate::model::unknown_fields("DeleteOptions", &value);
    let mut options: DeleteOptions = typed(value, "DeleteOptions", "meta.k8s.io/v1")?;
    drop_fields_newer_than(version, &mut options, "", &mut unknown);
    FieldValidation::Warn.judge(&unknown, warnings)?;
    Ok(options)
}

/// DeleteOptions fields the chosen release does not have yet are unknown fields there:
/// dropped, and reported like any other. `ignoreStoreReadErrorWithClusterBreakingPotential`
/// arrived in 1.32.
fn drop_fields_newer_than(
    version: KubernetesVersion,
    options: &mut DeleteOptions,
    prefix: &str,
    unknown: &mut Vec<String>,
) {
    if version < KubernetesVersion::V1_32
        && options
            .ignore_store_read_error_with_cluster_breaking_potential
            .take()
            .is_some()
    {
        unknown.push(format!(
            "{prefix}ignoreStoreReadErrorWithClusterBreakingPotential"
        ));
    }
}

/// Applies a PATCH body to `current`: JSON merge patch (`application/merge-patch+json`), JSON
/// patch (`application/json-patch+json`), strategic merge patch, and server-side apply
/// (merged as a strategic merge patch; field ownership is not tracked).
///
/// # Errors
/// 415 for other patch types, 422/400 for patches that do not apply.
pub fn patched<T: Resource>(
    current: &T,
    request: &http::Request<Vec<u8>>,
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<T, ApiError> {
    let media = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_string();
    let mut document =
        crate::model::json_value_of(current).map_err(|e| ApiError::Internal(e.to_string()))?;
    match media.as_str() {
        "application/merge-patch+json" => {
            let patch = parse_json(request.body())?;
            json_patch::merge(&mut document, &patch);
        }
        "application/strategic-merge-patch+json" => {
            let patch = parse_json(request.body())?;
            super::strategic_merge::apply(&mut document, &patch, T::KIND)?;
        }
        APPLY_PATCH => {
            // Server-side apply without field ownership: the applied configuration is merged
            // into the live object as a strategic merge patch would be.
            let patch = apply_document(request.body())?;
            let api_version = T::api_version();
            check_type(&patch, T::KIND, &[api_version.as_str()])?;
            super::strategic_merge::apply(&mut document, &patch, T::KIND)?;
        }
        "application/json-patch+json" => {
            let patch: json_patch::Patch = serde_json::from_slice(request.body())
                .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?;
            apply_json_patch(&mut document, &patch)?;
        }
        _ => return Err(ApiError::UnsupportedMediaType),
    }
    if serialized_len(&document) > MAX_REQUEST_BODY_BYTES {
        return Err(ApiError::body_too_large(MAX_REQUEST_BODY_BYTES));
    }
    let unknown = crate::model::unknown_fields(T::KIND, &document);
    let object = typed(document, T::KIND, &T::api_version())?;
    validation.judge(&unknown, warnings)?;
    Ok(object)
}

/// The most operations one JSON patch may hold (upstream's `maxJSONPatchOperations` in
/// `apiserver/pkg/endpoints/handlers/patch.go`).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// How many bytes a JSON patch's `copy` operations may add in all (kube-apiserver sets
/// json-patch's `AccumulatedCopySizeLimit` to `JSONPatchMaxCopyBytes`, 3 MiB, the largest
/// request body it accepts).
pub const MAX_JSON_PATCH_COPY_BYTES: usize = MAX_REQUEST_BODY_BYTES;

/// Applies an RFC 6902 patch under kube-apiserver's two caps, so that a small patch of
/// repeated `copy`s cannot grow a document exponentially.
fn apply_json_patch(document: &mut Value, patch: &json_patch::Patch) -> Result<(), ApiError> {
    if patch.0.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(ApiError::RequestEntityTooLarge {
            what: format!(
                "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                patch.0.len()
            ),
        });
    }
    let unprocessable = |message: String| ApiError::Unknown { code: 422, message };
    let mut copied = 0usize;
    for (index, operation) in patch.0.iter().enumerate() {
        if let json_patch::PatchOperation::Copy(copy) = operation
            && let Some(source) = document.pointer(copy.from.as_str())
        {
            copied = copied.saturating_add(serialized_len(source));
            if copied > MAX_JSON_PATCH_COPY_BYTES {
                return Err(unprocessable(format!(
                    "Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {MAX_JSON_PATCH_COPY_BYTES}"
                )));
            }
        }
        json_patch::patch(document, std::slice::from_ref(operation)).map_err(|e| {
            // The crate numbers the failing operation within what it was given: one.
            unprocessable(e.to_string().replacen(
                "operation '/0'",
                &format!("operation '/{index}'"),
                1,
            ))
        })?;
    }
    Ok(())
}

/// The length of `value`'s compact JSON, counted without building it.
fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// The Kubernetes protobuf envelope (`k8s.io/apimachinery/pkg/runtime.Unknown`) and the
/// `DeleteOptions` message inside it, as `generated.proto` numbers their fields. kubectl
/// drain's DELETE of a pod sends its options this way (client-go's typed clients prefer
/// protobuf).
mod protobuf {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Unknown {
        #[prost(message, optional, tag = "1")]
        pub type_meta: Option<TypeMeta>,
        #[prost(bytes = "vec", optional, tag = "2")]
        pub raw: Option<Vec<u8>>,
        #[prost(string, optional, tag = "3")]
        pub content_encoding: Option<String>,
        #[prost(string, optional, tag = "4")]
        pub content_type: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeMeta {
        #[prost(string, optional, tag = "1")]
        pub api_version: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub kind: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DeleteOptions {
        #[prost(int64, optional, tag = "1")]
        pub grace_period_seconds: Option<i64>,
        #[prost(message, optional, tag = "2")]
        pub preconditions: Option<Preconditions>,
        #[prost(bool, optional, tag = "3")]
        pub orphan_dependents: Option<bool>,
        #[prost(string, optional, tag = "4")]
        pub propagation_policy: Option<String>,
        #[prost(string, repeated, tag = "5")]
        pub dry_run: Vec<String>,
        #[prost(bool, optional, tag = "6")]
        pub ignore_store_read_error_with_cluster_breaking_potential: Option<bool>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Preconditions {
        #[prost(string, optional, tag = "1")]
        pub uid: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub resource_version: Option<String>,
    }
}

/// The media type of Kubernetes protobuf bodies.
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// Decodes a protobuf DELETE body: the `k8s\0` magic, a `runtime.Unknown` envelope naming
/// `DeleteOptions`, and the options inside.
///
/// # Errors
/// 400 for a body that is not such a message, with upstream's protobuf serializer's text.
pub fn delete_options_protobuf(
    body: &[u8],
    version: KubernetesVersion,
    warnings: &mut Vec<String>,
) -> Result<DeleteOptions, ApiError> {
    use prost::Message;
    let Some(envelope) = body.strip_prefix(b"k8s\0") else {
        // Go prints the byte slice as `[107 56 115 0]`.
        return Err(ApiError::BadRequest(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
                .into(),
        ));
    };
    let unknown = protobuf::Unknown::decode(envelope)
        .map_err(|e| ApiError::BadRequest(format!("unable to decode protobuf envelope: {e}")))?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    if kind != "DeleteOptions" || !["v1", "meta.k8s.io/v1"].contains(&api_version.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "no kind {:?} is registered for version {:?} in scheme \"k8s.io/apimachinery/pkg/runtime/scheme.go:100\"",
            kind, api_version
        )));
    }
    let message = protobuf::DeleteOptions::decode(unknown.raw.unwrap_or_default().as_slice())
        .map_err(|e| ApiError::BadRequest(format!("unable to decode DeleteOptions: {e}")))?;
    let mut options = DeleteOptions {
        grace_period_seconds: message.grace_period_seconds,
        preconditions: message.preconditions.map(|p| crate::model::Preconditions {
            uid: p.uid.map(crate::model::Uid::from),
            resource_version: p
                .resource_version
                .map(|rv| crate::model::ResourceVersion(rv.into())),
        }),
        orphan_dependents: message.orphan_dependents,
        propagation_policy: message.propagation_policy,
        dry_run: (!message.dry_run.is_empty()).then_some(message.dry_run),
        ignore_store_read_error_with_cluster_breaking_potential: message
            .ignore_store_read_error_with_cluster_breaking_potential,
        ..DeleteOptions::default()
    };
    let mut unknown_fields = Vec::new();
    drop_fields_newer_than(version, &mut options, "", &mut unknown_fields);
    FieldValidation::Warn.judge(&unknown_fields, warnings)?;
    Ok(options)
}

#[cfg(test)]
mod protobuf_tests {
    use super::*;

    /// The bytes kubectl drain sent with `--grace-period=5` (measured on the wire).
    #[test]
    fn decodes_kubectl_drains_delete_options() {
        let mut body = b"k8s\0".to_vec();
        body.extend_from_slice(&[0x0a, 0x13, 0x0a, 0x02]);
        body.extend_from_slice(b"v1");
        body.extend_from_slice(&[0x12, 0x0d]);
        body.extend_from_slice(b"DeleteOptions");
        body.extend_from_slice(&[0x12, 0x02, 0x08, 0x05, 0x1a, 0x00, 0x22, 0x00]);
        let options =
            delete_options_protobuf(&body, KubernetesVersion::default(), &mut Vec::new()).unwrap();
        assert_eq!(options.grace_period_seconds, Some(5));
        assert_eq!(options.dry_run, None);
        let empty = [
            &body[..body.len() - 8],
            &[0x12, 0x00, 0x1a, 0x00, 0x22, 0x00],
        ]
        .concat();
        let options =
            delete_options_protobuf(&empty, KubernetesVersion::default(), &mut Vec::new()).unwrap();
        assert_eq!(options, DeleteOptions::default());
        let error = delete_options_protobuf(b"{}", KubernetesVersion::default(), &mut Vec::new())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        );
    }
}
