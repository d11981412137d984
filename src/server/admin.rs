//! evictsim's own endpoints beside the Kubernetes API, under `/evictsim/v1/`:
//! `POST /evictsim/v1/advance` moves the virtual clock, `GET /evictsim/v1/events?since=N`
//! reads the event log (the timeline `evictsim run` prints).

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::Server;
use crate::error::ApiError;
use crate::rest;
use crate::time::{Time, parse_duration};

/// The answer to an admin request, or `None` when the path is not one.
pub(super) fn answer(server: &Server, request: &rest::Request) -> Option<http::Response<Vec<u8>>> {
    let path = request.uri().path().trim_end_matches('/');
    let rest_of = path.strip_prefix("/evictsim/v1")?;
    let result = match (request.method(), rest_of) {
        (&Method::POST, "/advance") => advance(server, request.body()),
        (&Method::GET, "/events") => events(server, request.uri().query().unwrap_or("")),
        (_, "/advance" | "/events") => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NoRoute),
    };
    Some(match result {
        Ok(body) => {
            let mut response = http::Response::new(serde_json::to_vec(&body).unwrap_or_default());
            *response.status_mut() = StatusCode::OK;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(error) => rest::error_response(&error),
    })
}

/// `{"by": "30s"}` or `{"to": "<RFC 3339>"}`; never backwards.
fn advance(server: &Server, body: &[u8]) -> Result<Value, ApiError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("advance: the body is not JSON: {e}")))?;
    let by = request.get("by").and_then(Value::as_str);
    let to = request.get("to").and_then(Value::as_str);
    let step = match (by, to) {
        (Some(by), None) => {
            parse_duration(by).map_err(|e| ApiError::BadRequest(format!("advance: by: {e}")))?
        }
        (None, Some(to)) => {
            let wall =
                Time::parse(to).map_err(|e| ApiError::BadRequest(format!("advance: to: {e}")))?;
            let now = server.now();
            let target = server.cluster().clock().sim_time_of(wall);
            if target < now {
                return Err(ApiError::BadRequest(format!(
                    "advance: to: {to} is before the simulated clock ({}); time never goes backwards",
                    server.cluster().clock().at(now)
                )));
            }
            target.saturating_duration_since(now)
        }
        _ => {
            return Err(ApiError::BadRequest(
                "advance: give exactly one of \"by\" (a duration such as \"30s\") or \"to\" (an RFC 3339 time)".into(),
            ));
        }
    };
    let now = server.advance(step);
    Ok(json!({"now": server.cluster().clock().at(now).to_string()}))
}

/// The events from sequence `since` (default 0), each with its timeline text.
fn events(server: &Server, query: &str) -> Result<Value, ApiError> {
    let mut since = 0u64;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == "since" {
            since = value.parse().map_err(|_| {
                ApiError::BadRequest(format!("since: {value:?} is not a sequence number"))
            })?;
        }
    }
    let cluster = server.cluster();
    let clock = cluster.clock();
    let events: Vec<Value> = cluster
        .events_iter(since)
        .map(|event| {
            let mut value = serde_json::to_value(&event).unwrap_or(Value::Null);
            value["time"] = json!(clock.at(event.at).to_string());
            value["text"] = json!(event.kind.to_string());
            value
        })
        .collect();
    Ok(json!({"events": events, "next": cluster.event_count()}))
}
