//! kubectl's side of the wire: requests as kubectl sends them (its headers, bodies and
//! query strings), through the REST handler, and what client-go makes of the answers.

use http::StatusCode;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::model::ObjectKey;
use crate::time::SimTime;

pub(super) struct Answer {
    pub(super) code: StatusCode,
    pub(super) body: Value,
    pub(super) retry_after: Option<u64>,
}

impl Answer {
    pub(super) fn ok(&self) -> bool {
        self.code.is_success()
    }

    /// The error text client-go gives for a Status: its message.
    pub(super) fn message(&self) -> String {
        match self.body.get("message").and_then(Value::as_str) {
            Some(m) => m.to_string(),
            None => format!(
                "the server responded with the status code {}",
                self.code.as_u16()
            ),
        }
    }

    pub(super) fn has_cause(&self, reason: &str) -> bool {
        self.body
            .pointer("/details/causes")
            .and_then(Value::as_array)
            .is_some_and(|causes| {
                causes
                    .iter()
                    .any(|c| c.get("reason").and_then(Value::as_str) == Some(reason))
            })
    }
}

pub(super) fn call(
    cluster: &mut Cluster,
    at: SimTime,
    method: &str,
    uri: &str,
    body: Option<(&str, Value)>,
) -> Answer {
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("Accept", "application/json, */*")
        .header("User-Agent", "kubectl/evictsim-drain");
    let bytes = match body {
        Some((content_type, body)) => {
            request = request.header("Content-Type", content_type);
            serde_json::to_vec(&body).unwrap_or_default()
        }
        None => Vec::new(),
    };
    let request = match request.body(bytes) {
        Ok(r) => r,
        Err(e) => {
            return Answer {
                code: StatusCode::BAD_REQUEST,
                body: json!({"message": e.to_string()}),
                retry_after: None,
            };
        }
    };
    let response = crate::rest::handle(cluster, at, &request);
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    Answer {
        code: response.status(),
        body: serde_json::from_slice(response.body()).unwrap_or(Value::Null),
        retry_after,
    }
}

pub(super) fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

pub(super) fn pod_path(pod: &ObjectKey) -> String {
    format!("/api/v1/namespaces/{}/pods/{}", pod.namespace, pod.name)
}
