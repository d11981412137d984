//! URL parsing: which kind, namespace, name and subresource a path names, and the query
//! parameters the handler reads.

use super::discovery::Document;
use crate::error::ApiError;
use crate::model::{DeleteOptions, Kind};

/// What a path addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A discovery or OpenAPI document.
    Discovery(Document),
    /// `/readyz`, `/livez`, `/healthz`: the server is up.
    Health,
    /// A collection: LIST, WATCH, or POST to create.
    Collection {
        /// The kind.
        kind: Kind,
    },
    /// One object.
    Object {
        /// The kind.
        kind: Kind,
        /// The object's name.
        name: String,
    },
    /// An object's `status` subresource.
    Status {
        /// The kind.
        kind: Kind,
        /// The object's name.
        name: String,
    },
    /// `pods/{name}/eviction`.
    Eviction {
        /// The pod's name.
        name: String,
    },
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The namespace in the path, empty when none.
    pub namespace: String,
    /// Whether the path had a `namespaces/{ns}/` part.
    pub namespaced_path: bool,
    /// What it addresses.
    pub target: Target,
}

/// Parses a request path.
///
/// # Errors
/// 404 for paths nothing is served at.
pub fn parse(path: &str) -> Result<Route, ApiError> {
    // As Go's `URL.Path`, which the API server routes on: percent-decoded.
    let decoded: std::borrow::Cow<'_, str> = if path.contains('%') {
        percent_encoding::percent_decode_str(path).decode_utf8_lossy()
    } else {
        path.into() // nothing to decode: the common case, without the decoder's pass
    };
    // The non-empty segments between slashes, found in one pass over the bytes ('/' is
    // ASCII, so every cut is on a character boundary).
    let mut segments: smallvec::SmallVec<[&str; 8]> = smallvec::SmallVec::new();
    let mut start = 0;
    for (at, byte) in decoded.bytes().enumerate() {
        if byte == b'/' {
            if at > start {
                segments.push(&decoded[start..at]);
            }
            start = at + 1;
        }
    }
    if start < decoded.len() {
        segments.push(&decoded[start..]);
    }
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Ok(discovery(Document::Version)),
        ["readyz" | "livez" | "healthz"] => {
            return Ok(Route {
                namespace: String::new(),
                namespaced_path: false,
                target: Target::Health,
            });
        }
        ["api"] => return Ok(discovery(Document::CoreGroup)),
        ["apis"] => return Ok(discovery(Document::Groups)),
        ["apis", group] => return Ok(discovery(Document::Group(group.to_string()))),
        ["openapi", "v3"] => return Ok(discovery(Document::OpenApiRoot)),
        ["openapi", "v3", "api", "v1"] => {
            return Ok(discovery(Document::OpenApi {
                group: String::new(),
            }));
        }
        ["openapi", "v3", "apis", group, "v1"] => {
            return Ok(discovery(Document::OpenApi {
                group: group.to_string(),
            }));
        }
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::NoRoute),
    };
    if rest.is_empty() {
        if version != "v1" || !(group.is_empty() || super::discovery::GROUPS.contains(&group)) {
            return Err(ApiError::NoRoute);
        }
        return Ok(discovery(Document::Resources {
            group: group.to_string(),
        }));
    }
    let (namespace, namespaced_path, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (ns.to_string(), true, rest),
        _ => (String::new(), false, rest),
    };
    let kind_of = |plural: &str| -> Result<Kind, ApiError> {
        let kind = Kind::from_resource(group, plural).ok_or(ApiError::NoRoute)?;
        let served_version = crate::with_kind!(kind, T => <T as crate::model::Resource>::VERSION);
        if served_version != version
            || (kind.namespaced() != namespaced_path && !(kind.namespaced() && rest.len() == 1))
        {
            return Err(ApiError::NoRoute);
        }
        Ok(kind)
    };
    let target = match rest {
        [plural] => Target::Collection {
            kind: kind_of(plural)?,
        },
        [plural, name] => Target::Object {
            kind: kind_of(plural)?,
            name: name.to_string(),
        },
        ["pods", name, "eviction"] if group.is_empty() && namespaced_path => Target::Eviction {
            name: name.to_string(),
        },
        [plural, name, "status"] => Target::Status {
            kind: kind_of(plural)?,
            name: name.to_string(),
        },
        _ => return Err(ApiError::NoRoute),
    };
    Ok(Route {
        namespace,
        namespaced_path,
        target,
    })
}

fn discovery(document: Document) -> Route {
    Route {
        namespace: String::new(),
        namespaced_path: false,
        target: Target::Discovery(document),
    }
}

/// The query parameters the handler reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// `dryRun` values.
    pub dry_run: Vec<String>,
    /// `labelSelector`.
    pub label_selector: Option<String>,
    /// `fieldSelector`.
    pub field_selector: Option<String>,
    /// `gracePeriodSeconds` (DELETE), as sent.
    pub grace_period_seconds: Option<String>,
    /// `orphanDependents` (DELETE), as sent.
    pub orphan_dependents: Option<String>,
    /// `propagationPolicy` (DELETE).
    pub propagation_policy: Option<String>,
    /// `fieldValidation` (POST, PUT, PATCH).
    pub field_validation: Option<String>,
    /// `fieldManager` (writes; required for server-side apply).
    pub field_manager: Option<String>,
    /// `resourceVersion` (LIST, WATCH).
    pub resource_version: Option<String>,
    /// `resourceVersionMatch` (LIST, WATCH).
    pub resource_version_match: Option<String>,
    /// The typed parameters of a LIST (`watch`, `timeoutSeconds`, `limit`, …), as sent.
    pub list_parameters: Vec<(String, String)>,
}

/// LIST parameters that upstream decodes into integers or booleans, so that a value that
/// does not parse is a 400.
const TYPED_LIST_PARAMETERS: &[(&str, ParameterType)] = &[
    ("watch", ParameterType::Bool),
    ("allowWatchBookmarks", ParameterType::Bool),
    ("sendInitialEvents", ParameterType::Bool),
    ("timeoutSeconds", ParameterType::Int),
    ("limit", ParameterType::Int),
];

#[derive(Debug, Clone, Copy)]
enum ParameterType {
    Bool,
    Int,
}

/// Go's `strconv.ParseInt(text, 10, 64)`, with its error text.
fn parse_int(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|e| {
        let why = if matches!(
            e.kind(),
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
        ) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        ApiError::BadRequest(format!(
            "strconv.ParseInt: parsing {}: {why}",
            crate::model::GoQuoted(text)
        ))
    })
}

/// Go's `strconv.ParseBool`, with its error text.
fn parse_bool(text: &str) -> Result<bool, ApiError> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            crate::model::GoQuoted(text)
        ))),
    }
}

impl Query {
    /// Parses a query string; unknown parameters are ignored, as upstream ignores them.
    pub fn parse(query: &str) -> Query {
        let mut out = Query::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "dryRun" => out.dry_run.push(v.into_owned()),
                "labelSelector" => out.label_selector = Some(v.into_owned()),
                "fieldSelector" => out.field_selector = Some(v.into_owned()),
                "gracePeriodSeconds" => out.grace_period_seconds = Some(v.into_owned()),
                "orphanDependents" => out.orphan_dependents = Some(v.into_owned()),
                "propagationPolicy" => out.propagation_policy = Some(v.into_owned()),
                "fieldValidation" => out.field_validation = Some(v.into_owned()),
                "resourceVersion" => out.resource_version = Some(v.into_owned()),
                "fieldManager" => out.field_manager = Some(v.into_owned()),
                "resourceVersionMatch" => out.resource_version_match = Some(v.into_owned()),
                name if TYPED_LIST_PARAMETERS.iter().any(|(n, _)| *n == name) => {
                    out.list_parameters.push((name.to_string(), v.into_owned()));
                }
                _ => {}
            }
        }
        out
    }

    /// The DeleteOptions a DELETE without a body takes from its query (upstream's
    /// `ParameterCodec.DecodeParameters`).
    ///
    /// # Errors
    /// 400 with Go's parse error for a `gracePeriodSeconds` or `orphanDependents` that does
    /// not parse.
    pub fn delete_options(&self) -> Result<DeleteOptions, ApiError> {
        Ok(DeleteOptions {
            grace_period_seconds: self
                .grace_period_seconds
                .as_deref()
                .map(parse_int)
                .transpose()?,
            orphan_dependents: self
                .orphan_dependents
                .as_deref()
                .map(parse_bool)
                .transpose()?,
            propagation_policy: self.propagation_policy.clone(),
            dry_run: (!self.dry_run.is_empty()).then(|| self.dry_run.clone()),
            ..DeleteOptions::default()
        })
    }

    /// A boolean LIST parameter (`watch`, `allowWatchBookmarks`, `sendInitialEvents`);
    /// `None` when absent.
    ///
    /// # Errors
    /// 400 with Go's parse error.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.list_parameters
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| parse_bool(v))
            .transpose()
    }

    /// `timeoutSeconds`, when given.
    ///
    /// # Errors
    /// 400 with Go's parse error.
    pub fn timeout_seconds(&self) -> Result<Option<i64>, ApiError> {
        self.list_parameters
            .iter()
            .rev()
            .find(|(n, _)| n == "timeoutSeconds")
            .map(|(_, v)| parse_int(v))
            .transpose()
    }

    /// Checks the typed LIST parameters (upstream decodes them before listing).
    ///
    /// # Errors
    /// 400 with Go's parse error for the first that does not parse.
    pub fn check_list_parameters(&self) -> Result<(), ApiError> {
        for (name, value) in &self.list_parameters {
            match TYPED_LIST_PARAMETERS.iter().find(|(n, _)| n == name) {
                Some((_, ParameterType::Bool)) => {
                    parse_bool(value)?;
                }
                Some((_, ParameterType::Int)) => {
                    parse_int(value)?;
                }
                None => {}
            }
        }
        Ok(())
    }
}
