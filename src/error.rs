//! Errors. [`ApiError`] is everything a client of the simulated API server can see; each
//! variant maps to one Kubernetes `Status` (reason and code) in [`ApiError::to_status`].

use std::borrow::Cow;

use crate::model::FieldErrorKind;
use crate::model::GoQuoted;
use crate::model::SmolStr;
use crate::wire::{Status, StatusCause, StatusDetails};

/// One field-validation problem (`field.Error`), as it appears in a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The kind of problem.
    pub kind: FieldErrorKind,
    /// The field path, e.g. `spec.minAvailable`.
    pub field: String,
    /// The offending value rendered as upstream does (`true`, `"x"`, `-1`), if shown.
    pub value: Option<String>,
    /// The detail text.
    pub detail: String,
}

impl FieldError {
    /// `field.Error.ErrorBody()`: the text after the field path.
    pub fn body(&self) -> String {
        let mut text = self.kind.phrase().to_string();
        if let Some(v) = &self.value {
            text.push_str(": ");
            text.push_str(v);
        }
        if !self.detail.is_empty() {
            text.push_str(": ");
            text.push_str(&self.detail);
        }
        text
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// An error a client of the simulated API server sees, with upstream's reason, code and text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 400 `BadRequest`.
    #[error("{0}")]
    BadRequest(String),
    /// 404 `NotFound`: `<resource> "<name>" not found`. `resource` is the plural, with
    /// `.group` for non-core groups.
    #[error("{resource} {} not found", GoQuoted(name))]
    NotFound {
        /// e.g. `pods`, `poddisruptionbudgets.policy`.
        resource: String,
        /// The object's name.
        name: String,
    },
    /// 404 `NotFound` for a path no resource is served at.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// 410 `Expired`: a watch asked for a resourceVersion older than the kept history
    /// (upstream's watch cache: `too old resource version: N (oldest)`).
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The resourceVersion asked for.
        requested: u64,
        /// The oldest resourceVersion a watch can still start from.
        oldest: u64,
    },
    /// 401 `Unauthorized`: a request without the server's bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// 405 `MethodNotAllowed`.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 409 `AlreadyExists`.
    #[error("{resource} {} already exists", GoQuoted(name))]
    AlreadyExists {
        /// e.g. `pods`.
        resource: String,
        /// The object's name.
        name: String,
    },
    /// 409 `AlreadyExists` for a name the server generated from `generateName` and found
    /// taken on every attempt (upstream's `errors.NewGenerateNameConflict`), with
    /// `retryAfterSeconds: 1`.
    #[error(
        "{resource} {} already exists, the server was not able to generate a unique name for the object",
        GoQuoted(name)
    )]
    GenerateNameConflict {
        /// e.g. `pods`.
        resource: String,
        /// The last name generated.
        name: String,
    },
    /// 409 `Conflict`: `Operation cannot be fulfilled on <qualified> "<name>": <message>`.
    /// `qualified` is `Pod` for the eviction's precondition texts (E30) and the resource
    /// (`poddisruptionbudgets.policy`) for store conflicts.
    #[error(
        "Operation cannot be fulfilled on {qualified} {}: {message}",
        GoQuoted(name)
    )]
    Conflict {
        /// What the message names.
        qualified: String,
        /// The group for details.
        group: &'static str,
        /// The kind or resource for details.
        kind: &'static str,
        /// The object's name.
        name: String,
        /// Why.
        message: String,
    },
    /// 403 `Forbidden`: `<qualified> "<name>" is forbidden: <message>` (E21).
    #[error("{qualified} {} is forbidden: {message}", GoQuoted(name))]
    Forbidden {
        /// e.g. `poddisruptionbudget.policy`.
        qualified: &'static str,
        /// Group for details.
        group: &'static str,
        /// Kind for details.
        kind: &'static str,
        /// The object's name.
        name: String,
        /// Why.
        message: String,
        /// `details.causes` (the PDB 403s carry one from 1.37, V8).
        causes: Vec<StatusCause>,
    },
    /// 422 `Invalid`: `<Kind[.group]> "<name>" is invalid: <errors>`.
    #[error("{}", invalid_message(kind, group, name, errors))]
    Invalid {
        /// The kind, e.g. `Pod`, `Eviction`.
        kind: &'static str,
        /// The group, e.g. `policy`; empty for core.
        group: &'static str,
        /// The object's name.
        name: String,
        /// The problems.
        errors: Vec<FieldError>,
    },
    /// 429 `TooManyRequests` from the eviction handler (E21, E25).
    #[error("{message}")]
    TooManyRequests {
        /// The message (static text for every refusal the handler makes: a drain retries
        /// them by the thousand).
        message: Cow<'static, str>,
        /// `Retry-After` seconds; 0 for none.
        retry_after_seconds: i64,
        /// Causes (one `DisruptionBudget` cause for PDB answers).
        causes: Vec<StatusCause>,
    },
    /// 429 `TooManyRequests` from the eviction handler when the pod's budget allows no
    /// disruption now (E21.4): upstream's `Cannot evict pod as it would violate the pod's
    /// disruption budget.`, with one `DisruptionBudget` cause, [`BudgetCause`], saying why.
    /// Its own variant, rather than [`ApiError::TooManyRequests`] with the cause's text,
    /// because it is the answer a drain gets by the thousand and reads only the code of:
    /// the cause is kept as data and written when the `Status` is.
    #[error("{}", BUDGET_EXHAUSTED)]
    DisruptionBudgetExhausted(BudgetCause),
    /// 413 `RequestEntityTooLarge`: `Request entity too large: <what>` (upstream's
    /// `errors.NewRequestEntityTooLargeError`).
    #[error("Request entity too large: {what}")]
    RequestEntityTooLarge {
        /// What is too large, e.g. `limit is 3145728`.
        what: String,
    },
    /// 415 `UnsupportedMediaType`.
    #[error(
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"
    )]
    UnsupportedMediaType,
    /// An error without a reason, with its own HTTP code: the multiple-PDB 500 (E14) and
    /// other plain errors that the server answers with 500 (E6, E44).
    #[error("{message}")]
    Unknown {
        /// HTTP code.
        code: u16,
        /// The message.
        message: String,
    },
    /// 500 `InternalError` (broken state, e.g. a stored object that cannot be encoded).
    #[error("Internal error occurred: {0}")]
    Internal(String),
    /// 500 `InternalError`: the store already holds [`ClusterConfig::max_objects`]
    /// objects, so a create is refused, as etcd refuses writes past its space quota.
    ///
    /// [`ClusterConfig::max_objects`]: crate::cluster::ClusterConfig::max_objects
    #[error(
        "Internal error occurred: etcdserver: mvcc: database space exceeded (the simulated store holds at most {max_objects} objects)"
    )]
    StoreFull {
        /// The cap.
        max_objects: usize,
    },
}

fn invalid_message(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> String {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let list = match errors {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("{qualified} {} is invalid: {list}", GoQuoted(name))
}

/// The message of every 429 the eviction handler answers for a budget (E21.4, E25).
pub const BUDGET_EXHAUSTED: &str =
    "Cannot evict pod as it would violate the pod's disruption budget.";

/// Why a PDB allows no disruption now: the `DisruptionBudget` cause of
/// [`ApiError::DisruptionBudgetExhausted`]. `Display` writes upstream's text for it
/// (`checkAndDecrement` in upstream's `pkg/registry/core/pod/storage/eviction.go`); which
/// form applies depends on the Kubernetes version and the PDB's `DisruptionAllowed`
/// condition, and was decided when the refusal was made.
///
/// # Examples
/// ```
/// use evictsim::error::BudgetCause;
/// let cause = BudgetCause::Counts { budget: "web".into(), desired_healthy: 3, current_healthy: 3 };
/// assert_eq!(cause.to_string(), "The disruption budget web needs 3 healthy pods and has 3 currently");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetCause {
    /// `The disruption budget <budget> needs <desired> healthy pods and has <current>
    /// currently` (before 1.35 always; from 1.35 when the counts show it).
    Counts {
        /// The PDB's name.
        budget: SmolStr,
        /// `status.desiredHealthy`.
        desired_healthy: i64,
        /// `status.currentHealthy`.
        current_healthy: i64,
    },
    /// `The disruption budget <budget> does not allow evicting pods currently because it
    /// failed sync: <message>` (from 1.35: the condition's reason is `SyncFailed`).
    SyncFailed {
        /// The PDB's name.
        budget: SmolStr,
        /// The condition's message.
        message: SmolStr,
    },
    /// `The disruption budget <budget> does not allow evicting pods currently (<reason>):
    /// <message>` (from 1.35: another False `DisruptionAllowed` condition with a message).
    Condition {
        /// The PDB's name.
        budget: SmolStr,
        /// The condition's reason.
        reason: SmolStr,
        /// The condition's message.
        message: SmolStr,
    },
    /// `The disruption budget <budget> does not allow evicting pods currently` (from 1.35:
    /// none of the above).
    Refused {
        /// The PDB's name.
        budget: SmolStr,
    },
}

impl std::fmt::Display for BudgetCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BudgetCause::Counts {
                budget,
                desired_healthy,
                current_healthy,
            } => write!(
                f,
                "The disruption budget {budget} needs {desired_healthy} healthy pods and has {current_healthy} currently"
            ),
            BudgetCause::SyncFailed { budget, message } => write!(
                f,
                "The disruption budget {budget} does not allow evicting pods currently because it failed sync: {message}"
            ),
            BudgetCause::Condition {
                budget,
                reason,
                message,
            } => write!(
                f,
                "The disruption budget {budget} does not allow evicting pods currently ({reason}): {message}"
            ),
            BudgetCause::Refused { budget } => write!(
                f,
                "The disruption budget {budget} does not allow evicting pods currently"
            ),
        }
    }
}

impl ApiError {
    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::NotFound { .. } | ApiError::NoRoute => 404,
            ApiError::Expired { .. } => 410,
            ApiError::Unauthorized => 401,
            ApiError::MethodNotAllowed => 405,
            ApiError::AlreadyExists { .. }
            | ApiError::GenerateNameConflict { .. }
            | ApiError::Conflict { .. } => 409,
            ApiError::Forbidden { .. } => 403,
            ApiError::Invalid { .. } => 422,
            ApiError::TooManyRequests { .. } | ApiError::DisruptionBudgetExhausted(_) => 429,
            ApiError::RequestEntityTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Unknown { code, .. } => *code,
            ApiError::Internal(_) | ApiError::StoreFull { .. } => 500,
        }
    }

    /// The Status `reason`; empty for [`ApiError::Unknown`].
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::NotFound { .. } | ApiError::NoRoute => "NotFound",
            ApiError::Expired { .. } => "Expired",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::AlreadyExists { .. } | ApiError::GenerateNameConflict { .. } => {
                "AlreadyExists"
            }
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::TooManyRequests { .. } | ApiError::DisruptionBudgetExhausted(_) => {
                "TooManyRequests"
            }
            ApiError::RequestEntityTooLarge { .. } => "RequestEntityTooLarge",
            ApiError::UnsupportedMediaType => "UnsupportedMediaType",
            ApiError::Unknown { .. } => "",
            ApiError::Internal(_) | ApiError::StoreFull { .. } => "InternalError",
        }
    }

    /// The message, as `Display` writes it: borrowed where it is the error's own text (a
    /// budget's 429, a bad request), formatted otherwise. For logs that keep the text of
    /// every refusal without formatting it again.
    ///
    /// # Examples
    /// ```
    /// use evictsim::error::ApiError;
    /// let e = ApiError::BadRequest("name mismatch".into());
    /// assert_eq!(e.message(), e.to_string());
    /// ```
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            ApiError::BadRequest(message) | ApiError::Unknown { message, .. } => {
                Cow::Borrowed(message)
            }
            ApiError::TooManyRequests { message, .. } => Cow::Borrowed(message),
            ApiError::DisruptionBudgetExhausted(_) => Cow::Borrowed(BUDGET_EXHAUSTED),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// [`ApiError::message`] for keeping: static text stays borrowed (every 429 of the
    /// eviction handler), so a log of refusals copies no text.
    pub(crate) fn kept_message(&self) -> Cow<'static, str> {
        match self {
            ApiError::TooManyRequests {
                message: Cow::Borrowed(text),
                ..
            } => Cow::Borrowed(text),
            ApiError::DisruptionBudgetExhausted(_) => Cow::Borrowed(BUDGET_EXHAUSTED),
            other => Cow::Owned(other.message().into_owned()),
        }
    }

    /// Whether this is a 409 `Conflict` (what the eviction handler's loops retry on).
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Conflict { .. })
    }

    /// Seconds for `Retry-After`, 0 when none.
    pub fn retry_after_seconds(&self) -> i64 {
        match self {
            ApiError::TooManyRequests {
                retry_after_seconds,
                ..
            } => *retry_after_seconds,
            ApiError::GenerateNameConflict { .. } => 1,
            _ => 0,
        }
    }

    /// The `Status` body, as upstream's `errors` package builds it.
    pub fn to_status(&self) -> Status {
        let split = |resource: &str| -> (String, String) {
            match resource.split_once('.') {
                Some((r, g)) => (g.to_string(), r.to_string()),
                None => (String::new(), resource.to_string()),
            }
        };
        let details = match self {
            ApiError::NotFound { resource, name } | ApiError::AlreadyExists { resource, name } => {
                let (group, kind) = split(resource);
                Some(StatusDetails {
                    name: name.clone(),
                    group,
                    kind,
                    ..StatusDetails::default()
                })
            }
            ApiError::GenerateNameConflict { resource, name } => {
                let (group, kind) = split(resource);
                Some(StatusDetails {
                    name: name.clone(),
                    group,
                    kind,
                    retry_after_seconds: 1,
                    ..StatusDetails::default()
                })
            }
            ApiError::Conflict {
                group, kind, name, ..
            } => Some(StatusDetails {
                name: name.clone(),
                group: (*group).into(),
                kind: (*kind).into(),
                ..StatusDetails::default()
            }),
            ApiError::Forbidden {
                group,
                kind,
                name,
                causes,
                ..
            } => Some(StatusDetails {
                name: name.clone(),
                group: (*group).into(),
                kind: (*kind).into(),
                causes: causes.clone(),
                ..StatusDetails::default()
            }),
            ApiError::Invalid {
                kind,
                group,
                name,
                errors,
            } => Some(StatusDetails {
                name: name.clone(),
                group: (*group).into(),
                kind: (*kind).into(),
                causes: errors
                    .iter()
                    .map(|e| StatusCause {
                        reason: e.kind.reason().into(),
                        message: e.body(),
                        field: e.field.clone(),
                    })
                    .collect(),
                ..StatusDetails::default()
            }),
            ApiError::TooManyRequests {
                retry_after_seconds,
                causes,
                ..
            } => Some(StatusDetails {
                causes: causes.clone(),
                retry_after_seconds: *retry_after_seconds,
                ..StatusDetails::default()
            }),
            ApiError::DisruptionBudgetExhausted(cause) => Some(StatusDetails {
                causes: vec![StatusCause {
                    reason: "DisruptionBudget".into(),
                    message: cause.to_string(),
                    field: String::new(),
                }],
                ..StatusDetails::default()
            }),
            ApiError::BadRequest(_)
            | ApiError::NoRoute
            | ApiError::Expired { .. }
            | ApiError::Unauthorized
            | ApiError::MethodNotAllowed
            | ApiError::RequestEntityTooLarge { .. }
            | ApiError::UnsupportedMediaType
            | ApiError::Unknown { .. } => None,
            ApiError::Internal(_) | ApiError::StoreFull { .. } => Some(StatusDetails {
                causes: vec![StatusCause {
                    message: self.to_string(),
                    ..StatusCause::default()
                }],
                ..StatusDetails::default()
            }),
        };
        Status {
            kind: "Status".into(),
            api_version: "v1".into(),
            metadata: serde_json::Map::new(),
            status: "Failure".into(),
            message: self.to_string(),
            reason: self.reason().into(),
            details,
            code: self.code(),
        }
    }

    /// The 413 for a request body over `limit_bytes`.
    pub fn body_too_large(limit_bytes: usize) -> ApiError {
        ApiError::RequestEntityTooLarge {
            what: format!("limit is {limit_bytes}"),
        }
    }

    /// A 404 for `resource` `name`.
    pub fn not_found(resource: &str, name: &str) -> ApiError {
        ApiError::NotFound {
            resource: resource.into(),
            name: name.into(),
        }
    }

    /// A 422 on a single field.
    pub fn invalid_field(
        kind: &'static str,
        group: &'static str,
        name: &str,
        error: FieldError,
    ) -> ApiError {
        ApiError::Invalid {
            kind,
            group,
            name: name.into(),
            errors: vec![error],
        }
    }
}

/// A problem with a scenario file or library configuration (not an API answer).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid YAML or JSON.
    #[error("{0}")]
    Syntax(String),
    /// A field is missing, unknown or has a wrong value; `path` names it.
    #[error("{path}: {message}")]
    Field {
        /// e.g. `steps[3].advance`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `message` is the `Display` text, whether borrowed or formatted.
    #[test]
    fn message_is_the_display_text() {
        let errors = [
            ApiError::BadRequest("bad".into()),
            ApiError::TooManyRequests {
                message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
                retry_after_seconds: 10,
                causes: Vec::new(),
            },
            ApiError::Unknown {
                code: 418,
                message: "teapot".into(),
            },
            ApiError::not_found("pods", "web-1"),
            ApiError::Internal("broken".into()),
            conflict(),
        ];
        for e in errors {
            assert_eq!(e.message(), e.to_string());
        }
    }

    fn conflict() -> ApiError {
        ApiError::Conflict {
            qualified: "Pod".into(),
            group: "",
            kind: "Pod",
            name: "p".into(),
            message: "m".into(),
        }
    }

    /// One row per variant: code, reason, and that the Status carries both.
    #[test]
    fn every_variant_maps_to_a_status() {
        let rows: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::BadRequest("b".into()), 400, "BadRequest"),
            (ApiError::not_found("pods", "p"), 404, "NotFound"),
            (ApiError::NoRoute, 404, "NotFound"),
            (
                ApiError::Expired {
                    requested: 3,
                    oldest: 9,
                },
                410,
                "Expired",
            ),
            (ApiError::Unauthorized, 401, "Unauthorized"),
            (ApiError::MethodNotAllowed, 405, "MethodNotAllowed"),
            (
                ApiError::AlreadyExists {
                    resource: "pods".into(),
                    name: "p".into(),
                },
                409,
                "AlreadyExists",
            ),
            (conflict(), 409, "Conflict"),
            (
                ApiError::GenerateNameConflict {
                    resource: "pods".into(),
                    name: "web-bcdfg".into(),
                },
                409,
                "AlreadyExists",
            ),
            (
                ApiError::Forbidden {
                    qualified: "poddisruptionbudget.policy",
                    group: "policy",
                    kind: "poddisruptionbudget",
                    name: "foo".into(),
                    message: "pdb disruptions allowed is negative".into(),
                    causes: vec![],
                },
                403,
                "Forbidden",
            ),
            (
                ApiError::invalid_field(
                    "Eviction",
                    "policy",
                    "foo",
                    FieldError {
                        kind: FieldErrorKind::Invalid,
                        field: "f".into(),
                        value: Some("true".into()),
                        detail: "d".into(),
                    },
                ),
                422,
                "Invalid",
            ),
            (
                ApiError::TooManyRequests {
                    message: "m".into(),
                    retry_after_seconds: 10,
                    causes: vec![],
                },
                429,
                "TooManyRequests",
            ),
            (
                ApiError::DisruptionBudgetExhausted(BudgetCause::Refused {
                    budget: "foo".into(),
                }),
                429,
                "TooManyRequests",
            ),
            (ApiError::body_too_large(3), 413, "RequestEntityTooLarge"),
            (ApiError::UnsupportedMediaType, 415, "UnsupportedMediaType"),
            (
                ApiError::Unknown {
                    code: 500,
                    message: "m".into(),
                },
                500,
                "",
            ),
            (ApiError::Internal("x".into()), 500, "InternalError"),
            (ApiError::StoreFull { max_objects: 9 }, 500, "InternalError"),
        ];
        for (error, code, reason) in rows {
            let status = error.to_status();
            assert_eq!(
                (status.code, status.reason.as_str()),
                (code, reason),
                "{error:?}"
            );
            assert_eq!(status.status, "Failure");
            assert_eq!(status.message, error.to_string());
        }
    }

    #[test]
    fn texts_match_upstream() {
        assert_eq!(
            ApiError::not_found("pods", "t1").to_string(),
            "pods \"t1\" not found"
        );
        let forbidden = ApiError::Forbidden {
            qualified: "poddisruptionbudget.policy",
            group: "policy",
            kind: "poddisruptionbudget",
            name: "foo".into(),
            message: "pdb disruptions allowed is negative".into(),
            causes: vec![],
        };
        assert_eq!(
            forbidden.to_string(),
            "poddisruptionbudget.policy \"foo\" is forbidden: pdb disruptions allowed is negative"
        );
        let multi = ApiError::Unknown {
            code: 500,
            message: "x".into(),
        }
        .to_status();
        assert!(multi.details.is_none() && multi.reason.is_empty());
        // E21.4, a budget's 429: upstream's message, one DisruptionBudget cause written
        // from the data kept, no Retry-After.
        let exhausted = ApiError::DisruptionBudgetExhausted(BudgetCause::Counts {
            budget: "foo".into(),
            desired_healthy: 2,
            current_healthy: 2,
        });
        assert_eq!(exhausted.message(), BUDGET_EXHAUSTED);
        assert_eq!(exhausted.retry_after_seconds(), 0);
        let details = exhausted.to_status().details.unwrap();
        assert_eq!(details.causes.len(), 1);
        assert_eq!(details.causes[0].reason, "DisruptionBudget");
        assert_eq!(
            details.causes[0].message,
            "The disruption budget foo needs 2 healthy pods and has 2 currently"
        );
        assert_eq!(details.retry_after_seconds, 0);
    }
}
