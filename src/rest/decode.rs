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
    let text_of = |field| value.get(field).and_then(Value::as_str).unwrap_or("");
    check_given_type(text_of("apiVersion"), text_of("kind"), kind, versions)
}

/// [`check_type`] of the `apiVersion` and `kind` a body gives (empty when absent or not
/// strings).
fn check_given_type(
    api_version: &str,
    given_kind: &str,
    kind: &str,
    versions: &[&str],
) -> Result<(), ApiError> {
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

/// How a body is read: from its text when it reads there as its tree would (the server's
/// way), or always as a tree of `Value`s (the reading the text path must agree with; tests
/// compare them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Text,
    #[cfg(test)]
    Tree,
}

/// The body's text and the paths of its unknown fields, its `apiVersion` and `kind`
/// checked, when the body can be decoded from its text exactly as from its tree: UTF-8
/// holding one JSON object in which no object gives a key twice (all found in one reading
/// of the text, [`check_object_text`](crate::model::check_object_text)). `None` otherwise:
/// the tree reading then gives the error, or the value a repeated key holds. Decoding a
/// tree of `Value`s first cost more than the rest of an eviction request (kubectl drain's
/// body: some 18,000 instructions of 35,000).
fn checked_text<'a>(
    body: &'a [u8],
    kind: &str,
    versions: &[&str],
    reading: Reading,
) -> Option<Result<(&'a str, Vec<String>), ApiError>> {
    if reading != Reading::Text {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let checked = crate::model::check_object_text(kind, text)?;
    let api_version = checked.api_version.as_deref().unwrap_or("");
    let given_kind = checked.kind.as_deref().unwrap_or("");
    Some(
        check_given_type(api_version, given_kind, kind, versions).map(|()| (text, checked.unknown)),
    )
}

/// An object decoded from checked text, with the paths of its unknown fields; `None` when
/// the typed decoder refuses it (the tree reading gives the error, without the text's line
/// and column).
fn typed_from_text<T: DeserializeOwned>(
    (text, unknown): (&str, Vec<String>),
) -> Option<(T, Vec<String>)> {
    let object = serde_json::from_str(text).ok()?;
    Some((object, unknown))
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
    read_object(body, validation, warnings, Reading::Text)
}

fn read_object<T: Resource>(
    body: &[u8],
    validation: FieldValidation,
    warnings: &mut Vec<String>,
    reading: Reading,
) -> Result<T, ApiError> {
    let api_version = T::api_version();
    let (object, unknown) = decoded(body, &BodyType::object::<T>(&[&api_version]), reading)?;
    judge_object_fields::<T>(validation, &unknown, warnings)?;
    Ok(object)
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
    let api_version = T::api_version();
    let document = apply_document(body)?;
    let (object, unknown) = decoded_tree(document, body, &BodyType::object::<T>(&[&api_version]))?;
    judge_object_fields::<T>(validation, &unknown, warnings)?;
    Ok(object)
}

/// The document of an apply patch.
fn apply_document(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))?;
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Value>(text, options)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))
}

/// What a body must be.
struct BodyType<'a> {
    kind: &'a str,
    /// The `apiVersion`s it may name.
    versions: &'a [&'a str],
    /// The version a decoding error names.
    shown_version: &'a str,
    /// Whether anything but an object is refused up front, as upstream's decoder of
    /// objects refuses it (`Object 'Kind' is missing`); DELETE options are not.
    object_only: bool,
}

impl<'a> BodyType<'a> {
    /// An object of kind `T`, which names its one `apiVersion` (`versions`).
    fn object<T: Resource>(versions: &'a [&'a str; 1]) -> BodyType<'a> {
        BodyType {
            kind: T::KIND,
            versions,
            shown_version: versions[0],
            object_only: true,
        }
    }
}

/// A body of type `of` decoded, with the paths of its unknown fields: from its text when
/// [`checked_text`] and the typed decoder take it, else from its tree, which gives the
/// errors.
fn decoded<T: DeserializeOwned>(
    body: &[u8],
    of: &BodyType,
    reading: Reading,
) -> Result<(T, Vec<String>), ApiError> {
    if let Some(checked) = checked_text(body, of.kind, of.versions, reading)
        && let Some(decoded) = typed_from_text(checked?)
    {
        return Ok(decoded);
    }
    decoded_tree(parse_json(body)?, body, of)
}

/// [`decoded`] from the body's tree, `value`: refused when not an object (if `of` says so),
/// then its type checked, its unknown fields found, and it decoded.
fn decoded_tree<T: DeserializeOwned>(
    value: Value,
    body: &[u8],
    of: &BodyType,
) -> Result<(T, Vec<String>), ApiError> {
    if of.object_only && !value.is_object() {
        return Err(ApiError::BadRequest(format!(
            "Object 'Kind' is missing in '{}'",
            truncate(body)
        )));
    }
    check_type(&value, of.kind, of.versions)?;
    let unknown = crate::model::unknown_fields(of.kind, &value);
    Ok((typed(value, of.kind, of.shown_version)?, unknown))
}

/// [`FieldValidation::judge`] of a created or updated object's unknown fields: its refusal
/// names the kind it could not decode (upstream's `transformDecodeError`); a patch's does
/// not.
fn judge_object_fields<T: Resource>(
    validation: FieldValidation,
    unknown: &[String],
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    validation.judge(unknown, warnings).map_err(|e| match e {
        ApiError::BadRequest(message) => ApiError::BadRequest(format!(
            "{kind} in version {version} cannot be handled as a {kind}: {message}",
            kind = T::KIND,
            version = crate::model::GoQuoted(T::VERSION)
        )),
        other => other,
    })
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
    read_eviction(body, version, validation, warnings, Reading::Text)
}

fn read_eviction(
    body: &[u8],
    version: KubernetesVersion,
    validation: FieldValidation,
    warnings: &mut Vec<String>,
    reading: Reading,
) -> Result<Eviction, ApiError> {
    let of = BodyType {
        kind: "Eviction",
        versions: &["policy/v1", "policy/v1beta1"],
        shown_version: "v1",
        object_only: true,
    };
    let (mut eviction, mut unknown): (Eviction, _) = decoded(body, &of, reading)?;
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
    read_delete_options(body, version, warnings, Reading::Text)
}

fn read_delete_options(
    body: &[u8],
    version: KubernetesVersion,
    warnings: &mut Vec<String>,
    reading: Reading,
) -> Result<DeleteOptions, ApiError> {
    let of = BodyType {
        kind: "DeleteOptions",
        versions: &["v1", "meta.k8s.io/v1"],
        shown_version: "meta.k8s.io/v1",
        object_only: false,
    };
    let (mut options, mut unknown): (DeleteOptions, _) = decoded(body, &of, reading)?;
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

/// The text reading of request bodies against the tree reading, body by body: the same
/// object (as JSON), the same warnings, the same error Status.
#[cfg(test)]
mod text_reading_tests {
    use super::*;
    use crate::model::{Pod, PodDisruptionBudget};

    /// What a reading gave, comparable: the object's JSON and the warnings, or the error's
    /// Status.
    fn outcome<T: serde::Serialize>(
        read: impl Fn(&mut Vec<String>, Reading) -> Result<T, ApiError>,
        reading: Reading,
    ) -> String {
        let mut warnings = Vec::new();
        match read(&mut warnings, reading) {
            Ok(object) => format!(
                "ok {} warnings {warnings:?}",
                serde_json::to_string(&object).unwrap()
            ),
            Err(error) => format!("error {:?}", error.to_status()),
        }
    }

    /// Asserts both readings agree on `body`, and that the text path is taken exactly
    /// when `by_text` says (a body it leaves is read as a tree; `None`: whether `T`'s model
    /// accepts the body decides).
    fn assert_same<T: serde::Serialize + DeserializeOwned>(
        body: &str,
        kind: &str,
        versions: &[&str],
        by_text: Option<bool>,
        read: impl Fn(&mut Vec<String>, Reading) -> Result<T, ApiError>,
    ) {
        let (text, tree) = (outcome(&read, Reading::Text), outcome(&read, Reading::Tree));
        assert_eq!(text, tree, "{body}");
        let took_text = match checked_text(body.as_bytes(), kind, versions, Reading::Text) {
            Some(Ok(checked)) => typed_from_text::<T>(checked).is_some(),
            Some(Err(_)) => true,
            None => false,
        };
        if let Some(by_text) = by_text {
            assert_eq!(took_text, by_text, "path taken for {body}");
        }
    }

    /// Bodies any object reader meets: (body, read from its text; `None` where the kind's
    /// model decides).
    fn object_bodies(kind: &str, api_version: &str) -> Vec<(String, Option<bool>)> {
        let head = format!(r#""kind":"{kind}","apiVersion":"{api_version}""#);
        [
            (format!(r#"{{{head},"metadata":{{"name":"web","namespace":"ns"}}}}"#), Some(true)),
            (r#"{"metadata":{"name":"web"}}"#.to_string(), Some(true)),
            (
                format!(r#"{{{head},"metadata":{{"name":"web","nmae":"x","labels":{{"a":"b"}}}},"spec":{{"bogus":1}},"extra":[1]}}"#),
                Some(true),
            ),
            (
                format!(r#"{{{head},"metadata":{{"name":"w\u0065b","annotations":{{"k":"line\nbreak \u00e9 \ud83d\ude00"}}}}}}"#),
                Some(true),
            ),
            // Every kind of number, where the schema keeps what it does not model.
            (
                format!(r#"{{{head},"metadata":{{"name":"n"}},"spec":{{"x":[0,-0,1.0,1e3,-1.5e-7,18446744073709551615,18446744073709551616,123456789012345678901234567890]}}}}"#),
                Some(true),
            ),
            // A key given twice, at the top, nested, inside what is not modelled.
            (format!(r#"{{{head},"metadata":{{"name":"a"}},"metadata":{{"name":"b"}}}}"#), Some(false)),
            (format!(r#"{{{head},"metadata":{{"name":"a","name":"b"}}}}"#), Some(false)),
            (format!(r#"{{{head},"metadata":{{"name":"a"}},"spec":{{"x":{{"y":1,"y":2}}}}}}"#), Some(false)),
            (format!(r#"{{"kind":"{kind}","kind":"{kind}"}}"#), Some(false)),
            // Wrong or odd kinds and versions: refused on the text, as on the tree.
            (format!(r#"{{"kind":"Wrong","apiVersion":"{api_version}"}}"#), Some(true)),
            (format!(r#"{{"kind":"{kind}","apiVersion":"nope/v9"}}"#), Some(true)),
            (r#"{"kind":"Wrong","apiVersion":"nope/v9"}"#.to_string(), Some(true)),
            (r#"{"kind":5,"apiVersion":["x"]}"#.to_string(), None),
            (r#"{"kind":null,"apiVersion":null}"#.to_string(), None),
            // Fields of the wrong type: the tree's message, without the text's position.
            (format!(r#"{{{head},"metadata":{{"name":5}}}}"#), None),
            (format!(r#"{{{head},"metadata":[]}}"#), None),
            (format!(r#"{{{head},"metadata":{{"labels":{{"a":1}}}}}}"#), None),
            // Not an object, not JSON, not one value.
            ("[]".to_string(), Some(false)),
            ("null".to_string(), Some(false)),
            ("\"x\"".to_string(), Some(false)),
            ("5".to_string(), Some(false)),
            ("".to_string(), Some(false)),
            ("{".to_string(), Some(false)),
            ("{} {}".to_string(), Some(false)),
            ("{}x".to_string(), Some(false)),
            (" \n{}\t".to_string(), Some(true)),
            ("{}".to_string(), Some(true)),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn objects_read_from_their_text_as_from_their_tree() {
        fn check<T: Resource>(extra: &[(String, Option<bool>)]) {
            let api_version = T::api_version();
            let mut bodies = object_bodies(T::KIND, &api_version);
            bodies.extend_from_slice(extra);
            for (body, by_text) in bodies {
                for validation in [
                    FieldValidation::Warn,
                    FieldValidation::Strict,
                    FieldValidation::Ignore,
                ] {
                    assert_same::<T>(
                        &body,
                        T::KIND,
                        &[api_version.as_str()],
                        by_text,
                        |warnings, reading| {
                            read_object::<T>(body.as_bytes(), validation, warnings, reading)
                        },
                    );
                }
            }
        }
        check::<Pod>(&[
            (
                r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","uid":"u","controller":true}]},
                "spec":{"nodeName":"n","terminationGracePeriodSeconds":30,"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}]}]},
                "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}"#
                    .to_string(),
                Some(true),
            ),
            (
                r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"terminationGracePeriodSeconds":1.5}}"#.to_string(),
                Some(false),
            ),
            (
                r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","name":"d"}]}}"#.to_string(),
                Some(false),
            ),
        ]);
        check::<PodDisruptionBudget>(&[
            (
                r#"{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"b"},"spec":{"minAvailable":"50%","selector":{"matchLabels":{"app":"web"}},"unhealthyPodEvictionPolicy":"AlwaysAllow"}}"#.to_string(),
                Some(true),
            ),
            (
                r#"{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"b"},"spec":{"maxUnavailable":1,"selector":{"matchExpressions":[{"key":"a","operator":"In","values":["x"]}]}}}"#.to_string(),
                Some(true),
            ),
            (
                r#"{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"b"},"spec":{"minAvailable":true}}"#.to_string(),
                Some(false),
            ),
        ]);
    }

    #[test]
    fn evictions_read_from_their_text_as_from_their_tree() {
        const VERSIONS: [&str; 2] = ["policy/v1", "policy/v1beta1"];
        let mut bodies = object_bodies("Eviction", "policy/v1");
        bodies.extend(
            [
                // kubectl drain's, byte for byte, and its policy/v1beta1 twin.
                (r#"{"kind":"Eviction","apiVersion":"policy/v1","metadata":{"name":"web-1","namespace":"default","creationTimestamp":null},"deleteOptions":{}}"#, Some(true)),
                (r#"{"kind":"Eviction","apiVersion":"policy/v1beta1","metadata":{"name":"web-1","namespace":"default","creationTimestamp":null},"deleteOptions":{}}"#, Some(true)),
                (r#"{"kind":"Eviction","apiVersion":"policy/v1","metadata":{"name":"w"},"deleteOptions":{"gracePeriodSeconds":5,"dryRun":["All"],"preconditions":{"uid":"u","resourceVersion":"7"},"propagationPolicy":"Background"}}"#, Some(true)),
                (r#"{"kind":"Eviction","apiVersion":"policy/v1","metadata":{"name":"w","bogus":1},"deleteOptions":{"gracePeriodSecond":5,"preconditions":{"uuid":"u"}},"spec":{}}"#, Some(true)),
                (r#"{"kind":"Eviction","apiVersion":"policy/v1","deleteOptions":{"ignoreStoreReadErrorWithClusterBreakingPotential":true}}"#, Some(true)),
                (r#"{"kind":"Eviction","apiVersion":"policy/v1","deleteOptions":null}"#, Some(true)),
                (r#"{"kind":"Eviction","apiVersion":"policy/v1","deleteOptions":{"gracePeriodSeconds":"5"}}"#, Some(false)),
                (r#"{"kind":"Eviction","apiVersion":"policy/v1","deleteOptions":{"dryRun":["All"],"dryRun":[]}}"#, Some(false)),
            ]
            .map(|(body, by_text)| (body.to_string(), by_text)),
        );
        for (body, by_text) in bodies {
            // 1.31 has not `ignoreStoreReadErrorWithClusterBreakingPotential`: dropped, and
            // reported like an unknown field.
            for version in [KubernetesVersion::V1_31, KubernetesVersion::default()] {
                for validation in [FieldValidation::Warn, FieldValidation::Strict] {
                    assert_same::<Eviction>(
                        &body,
                        "Eviction",
                        &VERSIONS,
                        by_text,
                        |warnings, reading| {
                            read_eviction(body.as_bytes(), version, validation, warnings, reading)
                        },
                    );
                }
            }
        }
    }

    #[test]
    fn delete_options_read_from_their_text_as_from_their_tree() {
        const VERSIONS: [&str; 2] = ["v1", "meta.k8s.io/v1"];
        let mut bodies = object_bodies("DeleteOptions", "v1");
        bodies.extend(
            [
                (r#"{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","gracePeriodSeconds":0,"propagationPolicy":"Foreground"}"#, Some(true)),
                (r#"{"gracePeriodSeconds":5,"dryRun":["All"],"orphanDependents":false,"preconditions":{"uid":"u"}}"#, Some(true)),
                (r#"{"ignoreStoreReadErrorWithClusterBreakingPotential":true,"gracePeriodSecond":1}"#, Some(true)),
                (r#"{"gracePeriodSeconds":-1.5}"#, Some(false)),
            ]
            .map(|(body, by_text)| (body.to_string(), by_text)),
        );
        for (body, by_text) in bodies {
            for version in [KubernetesVersion::V1_31, KubernetesVersion::default()] {
                assert_same::<DeleteOptions>(
                    &body,
                    "DeleteOptions",
                    &VERSIONS,
                    by_text,
                    |warnings, reading| {
                        read_delete_options(body.as_bytes(), version, warnings, reading)
                    },
                );
            }
        }
    }

    /// JSON texts built from the names and values request bodies hold, keys sometimes
    /// given twice, numbers and strings of every awkward kind.
    fn json_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = proptest::sample::select(vec![
            "null",
            "true",
            "0",
            "-0",
            "1.5",
            "-7",
            "1e3",
            "18446744073709551616",
            r#""a""#,
            r#""Ready""#,
            r#""True""#,
            r#""All""#,
            r#""2026-01-01T00:00:00Z""#,
            r#""x\u0041\n""#,
            r#""v1""#,
            r#""Pod""#,
            r#""Eviction""#,
            r#""policy/v1""#,
        ])
        .prop_map(str::to_owned);
        leaf.prop_recursive(4, 48, 5, json_containers)
    }

    /// Objects and arrays of `inner`'s values.
    fn json_containers(
        inner: proptest::strategy::BoxedStrategy<String>,
    ) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        {
            let key = proptest::sample::select(vec![
                "kind",
                "apiVersion",
                "metadata",
                "spec",
                "status",
                "name",
                "namespace",
                "labels",
                "nodeName",
                "containers",
                "conditions",
                "type",
                "phase",
                "deleteOptions",
                "gracePeriodSeconds",
                "dryRun",
                "preconditions",
                "uid",
                "x",
            ]);
            prop_oneof![
                proptest::collection::vec((key, inner.clone()), 0..5).prop_map(|fields| {
                    let fields: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!(r#""{k}":{v}"#))
                        .collect();
                    format!("{{{}}}", fields.join(","))
                }),
                proptest::collection::vec(inner, 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
            ]
        }
    }

    /// A body: mostly an object (what the text path reads), now and then anything.
    fn body() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            4 => json_containers(json_text().boxed()).prop_filter("an object", |t| t.starts_with('{')),
            1 => json_text(),
        ]
    }

    proptest::proptest! {
        /// Whatever the body, both readings give the same object, warnings and error.
        #[test]
        fn any_body_reads_the_same_from_its_text_as_from_its_tree(body in body()) {
            let compare = |read: &dyn Fn(&mut Vec<String>, Reading) -> String| {
                let mut warnings = Vec::new();
                let text = read(&mut warnings, Reading::Text);
                let text = format!("{text} {warnings:?}");
                let mut warnings = Vec::new();
                let tree = read(&mut warnings, Reading::Tree);
                (text, format!("{tree} {warnings:?}"))
            };
            fn shown<T: serde::Serialize>(read: Result<T, ApiError>) -> String {
                match read {
                    Ok(object) => serde_json::to_string(&object).unwrap(),
                    Err(error) => format!("{:?}", error.to_status()),
                }
            }
            let bytes = body.as_bytes();
            let (text, tree) = compare(&|warnings, reading| {
                shown(read_object::<Pod>(bytes, FieldValidation::Warn, warnings, reading))
            });
            proptest::prop_assert_eq!(text, tree, "a pod: {}", body);
            let (text, tree) = compare(&|warnings, reading| {
                shown(read_eviction(bytes, KubernetesVersion::V1_31, FieldValidation::Strict, warnings, reading))
            });
            proptest::prop_assert_eq!(text, tree, "an eviction: {}", body);
            let (text, tree) = compare(&|warnings, reading| {
                shown(read_delete_options(bytes, KubernetesVersion::default(), warnings, reading))
            });
            proptest::prop_assert_eq!(text, tree, "delete options: {}", body);
        }
    }
}
