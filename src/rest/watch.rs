//! WATCH (`GET <collection>?watch=true`): a cursor into the cluster's write history.
//!
//! Sans-IO like the rest of the handler: [`start`] checks the request and fixes where the
//! watch begins; [`Watch::poll`] turns every write since the last poll into newline-framed
//! watch events (`{"type":"ADDED","object":…}`). A driver — the server, or
//! [`super::handle`] for a one-shot answer — decides when to poll: the server polls after
//! every change and when a timer falls due, so a client sees each event as it happens.
//!
//! The semantics are the API server's watch cache (`staging/src/k8s.io/apiserver/pkg/
//! storage/cacher`): events strictly after the given resourceVersion; with no
//! resourceVersion (or `0`) the current objects first, as synthetic ADDED events; label and
//! field selectors applied to the object before and after each write, so an object that
//! stops matching is DELETED and one that starts matching is ADDED (`cacheWatcher.
//! convertToWatchEvent`); a resourceVersion older than the kept history is an ERROR event
//! carrying 410 `Expired` (`too old resource version: N (M)`), after which the client
//! relists; `allowWatchBookmarks` brings BOOKMARK events, and `sendInitialEvents` the
//! `k8s.io/initial-events-end` bookmark that a streaming list ends with.

use std::time::Duration;

use serde_json::{Value, json};

use super::route::{self, Query, Route, Target};
use super::{Request, object_json, table};
use crate::cluster::history::WatchedObject;
use crate::cluster::{Cluster, WriteVerb};
use crate::error::{ApiError, FieldError};
use crate::model::{FieldErrorKind, FieldSelector, Kind, Resource, Selector};
use crate::time::SimTime;

/// A LIST (not a watch) with `sendInitialEvents` is refused (`ValidateListOptions`).
///
/// # Errors
/// 422 on `ListOptions`.
pub(crate) fn check_list_options(query: &Query) -> Result<(), ApiError> {
    if query.flag("sendInitialEvents")?.is_none() {
        return Ok(());
    }
    Err(ApiError::Invalid {
        kind: "ListOptions",
        group: "meta.k8s.io",
        name: String::new(),
        errors: vec![FieldError {
            kind: FieldErrorKind::Forbidden,
            field: "sendInitialEvents".into(),
            value: None,
            detail: "sendInitialEvents is forbidden for list".into(),
        }],
    })
}

/// Which objects a LIST or WATCH selects.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub(crate) namespace: Option<String>,
    pub(crate) labels: Selector,
    pub(crate) fields: FieldSelector,
}

impl Filter {
    /// The selectors of a LIST or WATCH of `kind`.
    pub(crate) fn parse(kind: Kind, route: &Route, query: &Query) -> Result<Filter, ApiError> {
        let labels = match &query.label_selector {
            Some(text) => Selector::parse(text).map_err(ApiError::BadRequest)?,
            None => Selector::everything(),
        };
        let fields = match &query.field_selector {
            Some(text) => FieldSelector::parse(text).map_err(ApiError::BadRequest)?,
            None => FieldSelector::default(),
        };
        for r in &fields.requirements {
            let supported = crate::with_kind!(kind, T => <T as Resource>::field(&T::default(), &r.field).is_some());
            if !supported {
                return Err(ApiError::BadRequest(match kind {
                    Kind::Pod | Kind::Node => format!("field label not supported: {}", r.field),
                    _ => format!(
                        "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                        crate::model::GoQuoted(&r.field)
                    ),
                }));
            }
        }
        Ok(Filter {
            namespace: (kind.namespaced() && route.namespaced_path)
                .then(|| route.namespace.clone()),
            labels,
            fields,
        })
    }

    pub(crate) fn matches(&self, object: &dyn WatchedObject) -> bool {
        let meta = object.metadata();
        self.namespace
            .as_ref()
            .is_none_or(|ns| *ns == meta.namespace)
            && self.labels.matches(&meta.labels)
            && self.fields.matches(|f| object.field(f))
    }
}

/// An open watch.
#[derive(Debug)]
pub struct Watch {
    kind: Kind,
    filter: Filter,
    /// The last revision this watch has looked at.
    cursor: u64,
    /// Frames decided at the start (initial state, an expiry) not yet handed out.
    pending: Vec<u8>,
    bookmarks: bool,
    as_table: bool,
    columns_sent: bool,
    timeout: Option<Duration>,
    finished: bool,
}

/// Whether `request` asks for a watch: `?watch=true` on a collection GET (on one object's
/// path upstream ignores the parameter and answers the object).
pub fn is_watch(request: &Request) -> bool {
    route::parse(request.uri().path()).is_ok_and(|route| {
        wants_watch(
            request,
            &route,
            &Query::parse(request.uri().query().unwrap_or("")),
        )
    })
}

pub(super) fn wants_watch(request: &Request, route: &Route, query: &Query) -> bool {
    request.method() == http::Method::GET
        && matches!(route.target, Target::Collection { .. })
        && query.flag("watch") == Ok(Some(true))
}

/// Opens a watch at virtual time `now` (which fires what is due first).
///
/// # Errors
/// What upstream answers before a watch stream starts: 404 for a path that is not a
/// collection, 400 for bad parameters or selectors, 422 for inconsistent streaming-list
/// options.
pub fn start(cluster: &mut Cluster, now: SimTime, request: &Request) -> Result<Watch, ApiError> {
    let route = route::parse(request.uri().path())?;
    let query = Query::parse(request.uri().query().unwrap_or(""));
    open(cluster, now, request, &route, &query)
}

pub(super) fn open(
    cluster: &mut Cluster,
    now: SimTime,
    request: &Request,
    route: &Route,
    query: &Query,
) -> Result<Watch, ApiError> {
    let Target::Collection { kind } = route.target else {
        return Err(ApiError::MethodNotAllowed);
    };
    query.check_list_parameters()?;
    let filter = Filter::parse(kind, route, query)?;
    let bookmarks = query.flag("allowWatchBookmarks")?.unwrap_or(false);
    let send_initial = query.flag("sendInitialEvents")?;
    check_streaming_options(
        query,
        send_initial,
        bookmarks,
        cluster.config().kubernetes_version,
    )?;
    let timeout = query
        .timeout_seconds()?
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s.unsigned_abs()));
    let requested = match query.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid resource version: {}",
                crate::model::GoQuoted(text)
            ))
        })?),
    };
    cluster.advance_to(now);
    let accept = request
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut watch = Watch {
        kind,
        filter,
        cursor: cluster.revision(),
        pending: Vec::new(),
        bookmarks,
        as_table: table::wants_table(accept),
        columns_sent: false,
        timeout,
        finished: false,
    };
    let initial_state = send_initial.unwrap_or(requested.is_none());
    if initial_state {
        let objects: Vec<Value> = crate::with_kind!(kind, T => {
            cluster
                .list::<T>()
                .filter(|o| watch.filter.matches(*o))
                .map(object_json)
                .collect()
        });
        for object in objects {
            let object = watch.render(object, cluster);
            watch.push_frame("ADDED", object);
        }
        if send_initial == Some(true) {
            let mut bookmark = watch.bookmark_object(cluster.revision());
            bookmark["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            watch.push_frame("BOOKMARK", bookmark);
        }
    } else if let Some(from) = requested {
        if let Err(oldest) = cluster.writes_since(from) {
            let status = ApiError::Expired {
                requested: from,
                oldest,
            }
            .to_status();
            watch.push_frame("ERROR", serde_json::to_value(status).unwrap_or(Value::Null));
            watch.finished = true;
        } else {
            watch.cursor = from;
        }
    }
    Ok(watch)
}

/// Upstream's `ValidateListOptions` for a watch: a streaming list needs
/// `resourceVersionMatch=NotOlderThan` and bookmarks; `resourceVersionMatch` alone is not
/// allowed on a watch; before 1.34, whose `WatchList` gate is on by default, a streaming list
/// is refused outright.
fn check_streaming_options(
    query: &Query,
    send_initial: Option<bool>,
    bookmarks: bool,
    kubernetes: crate::cluster::KubernetesVersion,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let forbidden = |field: &str, detail: &str| FieldError {
        kind: FieldErrorKind::Forbidden,
        field: field.into(),
        value: None,
        detail: detail.into(),
    };
    let rv_match = query.resource_version_match.as_deref().unwrap_or("");
    match send_initial {
        Some(_) if kubernetes < crate::cluster::KubernetesVersion::V1_34 => {
            errors.push(forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
            ));
        }
        Some(_) => {
            if rv_match != "NotOlderThan" {
                errors.push(forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if send_initial == Some(true) && !bookmarks {
                errors.push(forbidden(
                    "allowWatchBookmarks",
                    "sendInitialEvents requires setting allowWatchBookmarks to true",
                ));
            }
        }
        None if !rv_match.is_empty() => errors.push(forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        )),
        None => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            kind: "ListOptions",
            group: "meta.k8s.io",
            name: String::new(),
            errors,
        })
    }
}

impl Watch {
    /// The watch's `timeoutSeconds`, when the client gave one: the server ends the stream
    /// after it (measured on the driver's clock).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Whether the client asked for BOOKMARK events.
    pub fn wants_bookmarks(&self) -> bool {
        self.bookmarks
    }

    /// Whether the stream is over (after an ERROR event): the driver ends the response.
    pub fn is_finished(&self) -> bool {
        self.finished && self.pending.is_empty()
    }

    /// The frames of every event since the last poll, newline-separated JSON; empty when
    /// nothing happened that this watch selects.
    pub fn poll(&mut self, cluster: &Cluster) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.pending);
        if self.finished {
            return out;
        }
        let entries: Vec<(&'static str, Value)> = match cluster.writes_since(self.cursor) {
            Ok(entries) => entries
                .filter_map(|entry| {
                    if entry.object.kind() != self.kind.name() {
                        return None;
                    }
                    let now_matches = self.filter.matches(entry.object.as_ref());
                    let (verb, object) = match entry.verb {
                        WriteVerb::Created if now_matches => ("ADDED", &entry.object),
                        WriteVerb::Deleted if now_matches => ("DELETED", &entry.object),
                        WriteVerb::Updated => {
                            let before = entry
                                .previous
                                .as_ref()
                                .is_some_and(|p| self.filter.matches(p.as_ref()));
                            match (before, now_matches) {
                                (true, true) => ("MODIFIED", &entry.object),
                                (false, true) => ("ADDED", &entry.object),
                                (true, false) => {
                                    // The last state that matched, at this write's revision.
                                    let mut last = watched_json(entry.previous.as_deref()?);
                                    last["metadata"]["resourceVersion"] =
                                        json!(entry.revision.to_string());
                                    return Some(("DELETED", last));
                                }
                                (false, false) => return None,
                            }
                        }
                        _ => return None,
                    };
                    Some((verb, watched_json(object.as_ref())))
                })
                .collect(),
            Err(oldest) => {
                // Compacted while this watch was behind: it must relist.
                self.finished = true;
                let status = ApiError::Expired {
                    requested: self.cursor,
                    oldest,
                }
                .to_status();
                vec![("ERROR", serde_json::to_value(status).unwrap_or(Value::Null))]
            }
        };
        if !self.finished {
            self.cursor = cluster.revision();
        }
        for (verb, object) in entries {
            let object = if verb == "ERROR" {
                object
            } else {
                self.render(object, cluster)
            };
            self.push_frame(verb, object);
        }
        out.append(&mut self.pending);
        out
    }

    /// A BOOKMARK frame at the cluster's current revision, or nothing when the client did
    /// not ask for bookmarks.
    pub fn bookmark(&mut self, cluster: &Cluster) -> Vec<u8> {
        if !self.bookmarks || self.finished {
            return Vec::new();
        }
        let mut out = self.poll(cluster);
        let object = self.bookmark_object(cluster.revision());
        self.push_frame("BOOKMARK", object);
        out.append(&mut self.pending);
        out
    }

    /// A bookmark carries an empty object of the watched kind with only its
    /// resourceVersion.
    fn bookmark_object(&self, revision: u64) -> Value {
        let api_version = crate::with_kind!(self.kind, T => T::api_version());
        json!({
            "kind": self.kind.name(),
            "apiVersion": api_version,
            "metadata": {"resourceVersion": revision.to_string(), "creationTimestamp": null},
        })
    }

    fn render(&mut self, object: Value, cluster: &Cluster) -> Value {
        if !self.as_table {
            return object;
        }
        let revision = object["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let with_columns = !self.columns_sent;
        self.columns_sent = true;
        table::table(
            self.kind,
            std::slice::from_ref(&object),
            &revision,
            cluster.wall_now(),
            with_columns,
        )
    }

    fn push_frame(&mut self, verb: &str, object: Value) {
        let frame = json!({"type": verb, "object": object});
        if serde_json::to_writer(&mut self.pending, &frame).is_ok() {
            self.pending.push(b'\n');
        }
    }
}

/// The API's JSON for an object from the watch history.
fn watched_json(object: &dyn WatchedObject) -> Value {
    let Some(kind) = Kind::from_name(object.kind()) else {
        return Value::Null;
    };
    crate::with_kind!(kind, T => object.as_any().downcast_ref::<T>().map(object_json).unwrap_or(Value::Null))
}
