//! `metav1.Status`: the body of every error answer and of a successful eviction.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// `metav1.Status`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Always `Status`.
    pub kind: String,
    /// Always `v1`.
    pub api_version: String,
    /// Always empty.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Machine-readable reason (`NotFound`, `TooManyRequests`, …); empty for unknown errors.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Extra data about the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code (omitted when 0, as in a DELETE's success Status).
    #[serde(default, skip_serializing_if = "is_zero_code")]
    pub code: u16,
}

/// `metav1.StatusDetails`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// The object's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The API group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The kind or resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The object's UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Individual causes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Seconds a client should wait; also sent as `Retry-After` (E42).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_after_seconds: i64,
}

fn is_zero_code(n: &u16) -> bool {
    *n == 0
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `metav1.StatusCause`; its type serializes as `reason` (E43).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCause {
    /// The cause type (`DisruptionBudget`, `FieldValueInvalid`, …): static text when we
    /// make it.
    #[serde(default, skip_serializing_if = "str::is_empty")]
    pub reason: Cow<'static, str>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The field, for validation causes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

impl Status {
    /// A `Success` status with `code` (201 for a created eviction, E40).
    pub fn success(code: u16) -> Status {
        Status {
            kind: "Status".into(),
            api_version: "v1".into(),
            status: "Success".into(),
            code,
            ..Status::default()
        }
    }
}
