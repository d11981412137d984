//! Create/update validation with upstream's field paths and texts
//! (`apimachinery/pkg/api/validation`, `pkg/apis/policy/validation`, C40, G3).

use super::eviction::DeleteOptions;
use super::meta::{IntOrString, ObjectMeta, ResourceVersion, parse_percent};
use super::pdb::PodDisruptionBudgetSpec;
use super::pdb::{ALWAYS_ALLOW, IF_HEALTHY_BUDGET, PodDisruptionBudgetStatus};
use super::pod::PodSpec;
use super::selector::{FieldErrorKind, LabelSelector, label_value_errors, qualified_name_errors};
use super::workloads::AppsSpec;
use crate::error::FieldError;
use serde_json::Value;

const DNS_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn invalid(field: &str, value: impl Into<Option<String>>, detail: &str) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.into(),
        value: value.into(),
        detail: detail.into(),
    }
}

/// Upstream's `IsDNS1123Subdomain` (`apimachinery/pkg/util/validation/validation.go`), which
/// `ValidateObjectMeta` applies to names and namespaces: at most 253 bytes of dot-separated
/// labels, each of lowercase letters, digits and `-`, starting and ending with a letter or
/// digit. One pass
/// over the bytes, each judged by the one before it (every create checks a name and a
/// namespace; splitting into labels first cost three times as much). Also the rule for a
/// qualified name's prefix (label keys, annotation keys).
pub(crate) fn is_dns_subdomain(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 253 {
        return false;
    }
    // A label starts after a dot (and at the start): there neither `-` nor `.` may come,
    // and a label may not end with `-`.
    let mut before = b'.';
    for &byte in bytes {
        match byte {
            b'a'..=b'z' | b'0'..=b'9' => {}
            b'-' if before != b'.' => {}
            b'.' if before != b'.' && before != b'-' => {}
            _ => return false,
        }
        before = byte;
    }
    before != b'-' && before != b'.'
}

/// Checks a resourceVersion given with a snapshot object: etcd's revisions are int64
/// counters, so anything but a decimal number in `1..=i64::MAX` cannot have come from a
/// cluster (and a larger one would leave the store's revision no room to advance).
pub fn validate_loaded_resource_version(rv: &ResourceVersion) -> Vec<FieldError> {
    match rv.0.parse::<i64>() {
        Ok(n) if n > 0 && rv.0.bytes().all(|b| b.is_ascii_digit()) => Vec::new(),
        _ => vec![invalid(
            "metadata.resourceVersion",
            super::go_quote(&rv.0),
            "must be a decimal integer from 1 to 9223372036854775807, as etcd's revisions are",
        )],
    }
}

/// Upstream's `ValidateOwnerReferences` (`apimachinery/pkg/api/validation/objectmeta.go`):
/// every reference names an apiVersion with a version, a kind, a name and a uid, and at
/// most one is the controller. The list itself, which upstream prints as a Go struct dump
/// with pointer addresses, is rendered as `object`.
fn validate_owner_references(references: &[super::OwnerReference]) -> Vec<FieldError> {
    const PATH: &str = "metadata.ownerReferences";
    let mut errors = Vec::new();
    let mut first_controller: Option<&super::OwnerReference> = None;
    for reference in references {
        let version = match reference.api_version.split_once('/') {
            Some((_, version)) => version,
            None => reference.api_version.as_str(),
        };
        for (field, value, empty, detail) in [
            (
                "apiVersion",
                reference.api_version.as_str(),
                version.is_empty(),
                "version must not be empty",
            ),
            (
                "kind",
                reference.kind.as_str(),
                reference.kind.is_empty(),
                "must not be empty",
            ),
            (
                "name",
                reference.name.as_str(),
                reference.name.is_empty(),
                "must not be empty",
            ),
            (
                "uid",
                // Only ever shown empty: its text is not made for a UID that is there.
                "",
                reference.uid.is_empty(),
                "must not be empty",
            ),
        ] {
            if empty {
                errors.push(invalid(
                    &format!("{PATH}.{field}"),
                    super::go_quote(value),
                    detail,
                ));
            }
        }
        if reference.controller == Some(true) {
            match first_controller {
                Some(first) => errors.push(invalid(
                    PATH,
                    "\"object\"".to_string(),
                    &format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {}/{} and {}/{}",
                        first.kind, first.name, reference.kind, reference.name
                    ),
                )),
                None => first_controller = Some(reference),
            }
        }
    }
    errors
}

/// Validates metadata as upstream's `ValidateObjectMeta` does for a DNS-subdomain-named kind:
/// name required and well-formed, namespace present exactly for namespaced kinds, label keys
/// and values well-formed.
pub fn validate_object_meta(meta: &ObjectMeta, namespaced: bool) -> Vec<FieldError> {
    validate_object_meta_except(meta, namespaced, KnownValid::default())
}

/// Parts of an object's metadata already found valid: a list or map shared with one that
/// validated with no error (the store keeps one copy of each distinct label set and owner
/// list, so the pods a workload makes share theirs). Validity depends on the content alone,
/// so a shared copy's answer is the same.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KnownValid {
    /// The labels.
    pub labels: bool,
    /// The owner references.
    pub owner_references: bool,
}

/// [`validate_object_meta`], skipping the parts `known` says are valid: the errors of the
/// others come in the same order.
pub(crate) fn validate_object_meta_except(
    meta: &ObjectMeta,
    namespaced: bool,
    known: KnownValid,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if meta.name.is_empty() {
        errors.push(FieldError {
            kind: FieldErrorKind::Required,
            field: "metadata.name".into(),
            value: None,
            detail: "name or generateName is required".into(),
        });
    } else if !is_dns_subdomain(&meta.name) {
        errors.push(invalid(
            "metadata.name",
            super::go_quote(&meta.name),
            DNS_SUBDOMAIN,
        ));
    }
    if meta.generation < 0 {
        errors.push(invalid(
            "metadata.generation",
            meta.generation.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    if !known.owner_references {
        errors.extend(validate_owner_references(&meta.owner_references));
    }
    if namespaced && meta.namespace.is_empty() {
        errors.push(FieldError {
            kind: FieldErrorKind::Required,
            field: "metadata.namespace".into(),
            value: None,
            detail: String::new(),
        });
    } else if namespaced && !is_dns_subdomain(&meta.namespace) {
        errors.push(invalid(
            "metadata.namespace",
            super::go_quote(&meta.namespace),
            DNS_SUBDOMAIN,
        ));
    } else if !namespaced && !meta.namespace.is_empty() {
        errors.push(FieldError {
            kind: FieldErrorKind::Forbidden,
            field: "metadata.namespace".into(),
            value: None,
            detail: "not allowed on this type".into(),
        });
    }
    let labels = (!known.labels).then_some(&meta.labels);
    for (k, v) in labels.into_iter().flatten() {
        for detail in qualified_name_errors(k) {
            errors.push(invalid("metadata.labels", super::go_quote(k), &detail));
        }
        for detail in label_value_errors(v) {
            errors.push(invalid("metadata.labels", super::go_quote(v), &detail));
        }
    }
    for k in meta.annotations.keys() {
        for detail in qualified_name_errors(&k.to_lowercase()) {
            errors.push(invalid("metadata.annotations", super::go_quote(k), &detail));
        }
    }
    errors
}

fn validate_int_or_percent(value: &IntOrString, field: &str) -> Vec<FieldError> {
    match value {
        IntOrString::Int(n) if *n < 0 => vec![invalid(
            field,
            n.to_string(),
            "must be greater than or equal to 0",
        )],
        IntOrString::Int(_) => Vec::new(),
        IntOrString::String(s) => match parse_percent(s) {
            None => vec![invalid(
                field,
                super::go_quote(s),
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            )],
            Some(p) if p > 100 => vec![invalid(
                field,
                super::go_quote(s),
                "must not be greater than 100%",
            )],
            Some(_) => Vec::new(),
        },
    }
}

fn validate_selector(selector: &LabelSelector, field: &str) -> Vec<FieldError> {
    selector
        .validate()
        .into_iter()
        .map(|e| FieldError {
            kind: e.kind,
            field: format!("{field}.{}", e.field),
            value: e.value,
            detail: e.detail,
        })
        .collect()
}

/// C40: PDB spec validation.
pub(crate) fn validate_pdb_spec(spec: &PodDisruptionBudgetSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        errors.push(invalid(
            "spec",
            "\"object\"".to_string(),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    if let Some(v) = &spec.min_available {
        errors.extend(validate_int_or_percent(v, "spec.minAvailable"));
    }
    if let Some(v) = &spec.max_unavailable {
        errors.extend(validate_int_or_percent(v, "spec.maxUnavailable"));
    }
    if let Some(selector) = &spec.selector {
        errors.extend(validate_selector(selector, "spec.selector"));
    }
    if let Some(policy) = &spec.unhealthy_pod_eviction_policy
        && policy != ALWAYS_ALLOW
        && policy != IF_HEALTHY_BUDGET
    {
        errors.push(FieldError {
            kind: FieldErrorKind::NotSupported,
            field: "spec.unhealthyPodEvictionPolicy".into(),
            value: Some(super::go_quote(policy)),
            detail: format!(
                "supported values: {}, {}",
                super::GoQuoted(ALWAYS_ALLOW),
                super::GoQuoted(IF_HEALTHY_BUDGET)
            ),
        });
    }
    errors
}

/// C40: status writes through policy/v1 keep the counters non-negative.
pub(crate) fn validate_pdb_status(status: &PodDisruptionBudgetStatus) -> Vec<FieldError> {
    [
        ("status.disruptionsAllowed", status.disruptions_allowed),
        ("status.currentHealthy", status.current_healthy),
        ("status.desiredHealthy", status.desired_healthy),
        ("status.expectedPods", status.expected_pods),
    ]
    .into_iter()
    .filter(|(_, v)| *v < 0)
    .map(|(f, v)| invalid(f, v.to_string(), "must be greater than or equal to 0"))
    .collect()
}

pub(crate) fn validate_replicas(replicas: Option<i32>) -> Vec<FieldError> {
    match replicas {
        Some(n) if n < 0 => vec![invalid(
            "spec.replicas",
            n.to_string(),
            "must be greater than or equal to 0",
        )],
        _ => Vec::new(),
    }
}

pub(crate) fn validate_apps_spec(spec: &AppsSpec, has_replicas: bool) -> Vec<FieldError> {
    let mut errors = if has_replicas {
        validate_replicas(spec.replicas)
    } else {
        Vec::new()
    };
    match &spec.selector {
        None => errors.push(FieldError {
            kind: FieldErrorKind::Required,
            field: "spec.selector".into(),
            value: None,
            detail: String::new(),
        }),
        Some(selector) => {
            let empty = selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
                && selector
                    .match_expressions
                    .as_ref()
                    .is_none_or(|e| e.is_empty());
            if empty {
                errors.push(invalid(
                    "spec.selector",
                    "\"object\"".to_string(),
                    "empty selector is invalid for deployment",
                ));
            }
            errors.extend(validate_selector(selector, "spec.selector"));
        }
    }
    errors
}

/// `ValidatePodUpdate`: a pod's spec is immutable but for container images, the active
/// deadline, added tolerations, and a negative grace period raised to 1.
pub(crate) fn validate_pod_spec_update(new: &PodSpec, old: &PodSpec) -> Vec<FieldError> {
    fn masked(spec: &PodSpec) -> PodSpec {
        let mut m = spec.clone();
        m.termination_grace_period_seconds = None;
        m.unmodeled.edit(|fields| {
            fields.remove("activeDeadlineSeconds");
            fields.remove("tolerations");
            for list in ["containers", "initContainers"] {
                if let Some(Value::Array(items)) = fields.get_mut(list) {
                    for item in items.iter_mut() {
                        if let Some(map) = item.as_object_mut() {
                            map.remove("image");
                        }
                    }
                }
            }
        });
        m
    }
    let grace_ok = new.termination_grace_period_seconds == old.termination_grace_period_seconds
        || (old.termination_grace_period_seconds.is_some_and(|g| g < 0)
            && new.termination_grace_period_seconds == Some(1));
    if masked(new) == masked(old) && grace_ok {
        return Vec::new();
    }
    vec![FieldError {
        kind: FieldErrorKind::Forbidden,
        field: "spec".into(),
        value: None,
        detail: "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)".into(),
    }]
}

/// G3: `ValidateDeleteOptions`.
#[inline]
pub fn validate_delete_options(options: &DeleteOptions) -> Vec<FieldError> {
    if options.propagation_policy.is_none() && options.dry_run.iter().flatten().all(|v| v == "All")
    {
        return Vec::new(); // The common case, decided without building anything.
    }
    let mut errors = Vec::new();
    if options.orphan_dependents.is_some()
        && let Some(policy) = &options.propagation_policy
    {
        errors.push(invalid(
            "propagationPolicy",
            super::go_quote(policy),
            "orphanDependents and deletionPropagation cannot be both set",
        ));
    }
    if let Some(policy) = &options.propagation_policy
        && !matches!(policy.as_str(), "Foreground" | "Background" | "Orphan")
    {
        errors.push(FieldError {
            kind: FieldErrorKind::NotSupported,
            field: "propagationPolicy".into(),
            value: Some(super::go_quote(policy)),
            detail: "supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"".into(),
        });
    }
    errors.extend(validate_dry_run(
        options.dry_run.as_deref().unwrap_or(&[]),
        "dryRun",
    ));
    errors
}

/// `ValidateDryRun`: every value must be `All`.
pub(crate) fn validate_dry_run(values: &[String], field: &str) -> Vec<FieldError> {
    if values.iter().all(|v| v == "All") {
        return Vec::new();
    }
    let rendered = values
        .iter()
        .map(super::go_quote)
        .collect::<Vec<_>>()
        .join(", ");
    vec![FieldError {
        kind: FieldErrorKind::NotSupported,
        field: field.into(),
        value: Some(format!("[]string{{{rendered}}}")),
        detail: "supported values: \"All\"".into(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule as upstream's regular expression states it, label by label: the reference
    /// the one-pass check is compared with.
    fn is_dns_subdomain_by_labels(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            })
    }

    /// Cases of upstream's `IsDNS1123Subdomain` (apimachinery's `validation.go`).
    #[test]
    fn dns_subdomains_as_upstream_tells_them() {
        for name in [
            "a",
            "web-1",
            "kube-system",
            "a.b-c.d0",
            "0",
            &"a".repeat(253),
        ] {
            assert!(is_dns_subdomain(name), "{name}");
        }
        for name in [
            "",
            "-a",
            "a-",
            ".a",
            "a.",
            "a..b",
            "a.-b",
            "a-.b",
            "A",
            "a_b",
            "a b",
            "é",
            &"a".repeat(254),
        ] {
            assert!(!is_dns_subdomain(name), "{name}");
        }
    }

    proptest! {
        /// The one-pass check agrees with the label-by-label statement of the rule, on names
        /// made of the characters that matter to it (and a few it refuses), up to past the
        /// length limit.
        #[test]
        fn the_one_pass_dns_check_is_the_rule(name in "[a-c0-1.A_-]{0,12}|[a.-]{250,256}") {
            prop_assert_eq!(is_dns_subdomain(&name), is_dns_subdomain_by_labels(&name));
        }
    }

    fn pdb_spec(json: &str) -> PodDisruptionBudgetSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn pdb_validation_c40() {
        let cases = [
            (r#"{"minAvailable":1}"#, None),
            (r#"{"maxUnavailable":"100%"}"#, None),
            (
                r#"{"minAvailable":1,"maxUnavailable":1}"#,
                Some(
                    "spec: Invalid value: \"object\": minAvailable and maxUnavailable cannot be both set",
                ),
            ),
            (
                r#"{"minAvailable":-1}"#,
                Some("spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"),
            ),
            (
                r#"{"maxUnavailable":"101%"}"#,
                Some("spec.maxUnavailable: Invalid value: \"101%\": must not be greater than 100%"),
            ),
            (
                r#"{"minAvailable":"abc"}"#,
                Some(
                    "spec.minAvailable: Invalid value: \"abc\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                ),
            ),
            (
                r#"{"unhealthyPodEvictionPolicy":"Never"}"#,
                Some(
                    "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\"",
                ),
            ),
            (
                r#"{"selector":{"matchExpressions":[{"key":"a","operator":"illegal"}]}}"#,
                Some(
                    "spec.selector.matchExpressions[0].operator: Invalid value: \"illegal\": not a valid selector operator",
                ),
            ),
        ];
        for (json, want) in cases {
            let got = validate_pdb_spec(&pdb_spec(json))
                .first()
                .map(ToString::to_string);
            assert_eq!(got.as_deref(), want, "{json}");
        }
    }

    #[test]
    fn delete_options_validation_g3() {
        let opts: DeleteOptions =
            serde_json::from_str(r#"{"propagationPolicy":"Sideways"}"#).unwrap();
        assert_eq!(
            validate_delete_options(&opts)[0].to_string(),
            "propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
        );
        let opts: DeleteOptions = serde_json::from_str(r#"{"dryRun":["Some"]}"#).unwrap();
        assert_eq!(
            validate_delete_options(&opts)[0].to_string(),
            "dryRun: Unsupported value: []string{\"Some\"}: supported values: \"All\""
        );
    }

    #[test]
    fn names_must_be_dns_subdomains() {
        let meta = ObjectMeta {
            name: "Bad_Name".into(),
            namespace: "default".into(),
            ..ObjectMeta::default()
        };
        assert_eq!(validate_object_meta(&meta, true)[0].field, "metadata.name");
        let missing = ObjectMeta::default();
        assert_eq!(
            validate_object_meta(&missing, false)[0].to_string(),
            "metadata.name: Required value: name or generateName is required"
        );
    }

    /// Skipping the parts known valid leaves the other parts' errors, in their order;
    /// skipping none is the whole validation.
    #[test]
    fn known_valid_parts_are_skipped_and_only_they() {
        let mut meta = ObjectMeta {
            name: "Bad_Name".into(),
            namespace: "Bad_Namespace".into(),
            ..ObjectMeta::default()
        };
        meta.labels.insert("bad key!".into(), "bad value!".into());
        meta.owner_references = vec![crate::model::OwnerReference::default()]
            .into_iter()
            .collect();
        let fields = |known: KnownValid| -> Vec<String> {
            validate_object_meta_except(&meta, true, known)
                .iter()
                .map(|e| e.field.clone())
                .collect()
        };
        let all = fields(KnownValid::default());
        assert_eq!(
            all,
            validate_object_meta(&meta, true)
                .iter()
                .map(|e| e.field.clone())
                .collect::<Vec<_>>()
        );
        assert!(all.iter().any(|f| f == "metadata.labels"));
        assert!(
            all.iter()
                .any(|f| f.starts_with("metadata.ownerReferences"))
        );
        let without = |part: &str| -> Vec<String> {
            all.iter()
                .filter(|f| !f.starts_with(part))
                .cloned()
                .collect()
        };
        let labels_known = KnownValid {
            labels: true,
            owner_references: false,
        };
        assert_eq!(fields(labels_known), without("metadata.labels"));
        let owners_known = KnownValid {
            labels: false,
            owner_references: true,
        };
        assert_eq!(fields(owners_known), without("metadata.ownerReferences"));
    }
}
