//! What a run produced, and its two renderings: the readable timeline and one JSON object
//! per step (the `--output json` contract).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::Step;
use super::matching::Mismatch;
use crate::cluster::{ClusterConfig, Event, EventKind, WriteVerb};
use crate::time::{SimTime, Time};

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// Position, from 0.
    pub index: usize,
    /// The operation key.
    pub op: &'static str,
    /// The step's label.
    pub name: Option<String>,
    /// A one-line description.
    pub summary: String,
    /// Virtual time when the step ran (after it, for `advance`).
    pub elapsed: SimTime,
    /// Wall-clock time of the same instant.
    pub at: Time,
    /// HTTP code, for steps with a response.
    pub code: Option<u16>,
    /// Response headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// Response body (a string when it was not JSON).
    pub body: Option<Value>,
    /// Where expectations or assertions failed.
    pub mismatches: Vec<Mismatch>,
    /// A step that could not run at all.
    pub error: Option<String>,
    /// What happened during the step.
    pub events: Vec<Event>,
}

impl StepReport {
    pub(crate) fn new(step: &Step, elapsed: SimTime, at: Time) -> Self {
        StepReport {
            index: 0,
            op: step.operation.name(),
            name: step.name.clone(),
            summary: String::new(),
            elapsed,
            at,
            code: None,
            headers: None,
            body: None,
            mismatches: Vec::new(),
            error: None,
            events: Vec::new(),
        }
    }

    /// Whether every expectation and assertion held.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty() && self.error.is_none()
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The configuration the cluster ran with.
    pub config: ClusterConfig,
    /// Events from loading the initial objects.
    pub setup_events: Vec<Event>,
    /// One report per step.
    pub steps: Vec<StepReport>,
}

/// The timeline's text for an event, or `None` for the writes it leaves out (every create
/// and update; deletes are shown).
pub fn describe(event: &Event) -> Option<String> {
    match &event.kind {
        EventKind::ObjectWritten {
            verb: WriteVerb::Deleted,
            ..
        } => Some(event.kind.to_string()),
        EventKind::ObjectWritten { .. } => None,
        other => Some(other.to_string()),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

impl Report {
    /// Whether every step held.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(StepReport::ok)
    }

    /// The number of failed steps.
    pub fn failures(&self) -> usize {
        self.steps.iter().filter(|s| !s.ok()).count()
    }

    /// The readable timeline.
    pub fn to_text(&self, title: &str) -> String {
        let mut out = String::new();
        let c = &self.config;
        let _ = writeln!(
            out,
            "── {title} ── seed {} · Kubernetes {} · start {}",
            c.seed, c.kubernetes_version, c.start
        );
        for event in &self.setup_events {
            if let Some(text) = describe(event) {
                let _ = writeln!(out, "        · {text}");
            }
        }
        for step in &self.steps {
            let mark = if step.ok() { "✓" } else { "✗" };
            let label = step
                .name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let outcome = match (step.code, &step.body) {
                (Some(code), Some(body)) => {
                    let reason = body
                        .get("reason")
                        .and_then(Value::as_str)
                        .filter(|r| !r.is_empty())
                        .or_else(|| {
                            body.get("status")
                                .and_then(Value::as_str)
                                .filter(|s| *s == "Success")
                        })
                        .or_else(|| body.get("kind").and_then(Value::as_str))
                        // A plain-text answer, such as the API rate limiter's 429.
                        .or_else(|| body.as_str().map(str::trim))
                        .unwrap_or("");
                    let mut text = format!(" → {code} {reason}");
                    if code >= 400
                        && let Some(message) = body.get("message").and_then(Value::as_str)
                    {
                        let _ = write!(text, ": {message}");
                    }
                    if let Some(cause) = body
                        .pointer("/details/causes/0/message")
                        .and_then(Value::as_str)
                    {
                        let _ = write!(text, " [{cause}]");
                    }
                    if let Some(retry) = step.headers.as_ref().and_then(|h| h.get("Retry-After")) {
                        let _ = write!(text, " (Retry-After: {retry})");
                    }
                    text
                }
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  [{}] {} {} {}{label}{outcome} {mark}",
                step.index, step.at, step.elapsed, step.summary
            );
            for event in &step.events {
                if let Some(text) = describe(event) {
                    let _ = writeln!(out, "        · {} {text}", event.at);
                }
            }
            if let Some(error) = &step.error {
                let _ = writeln!(out, "      ✗ {error}");
            }
            for m in &step.mismatches {
                let path = if m.path.is_empty() {
                    "(object)"
                } else {
                    &m.path
                };
                let _ = writeln!(
                    out,
                    "      ✗ {path}: expected {}, got {}",
                    short(&m.expected),
                    short(&m.actual)
                );
            }
        }
        let failed = self.failures();
        let _ = writeln!(
            out,
            "  {} steps, {} passed, {} failed",
            self.steps.len(),
            self.steps.len() - failed,
            failed
        );
        out
    }

    /// One JSON object per line, one per step, in order.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            let line = json!({
                "step": step.index,
                "op": step.op,
                "name": step.name,
                "at": step.at.to_string(),
                "elapsedMs": step.elapsed.as_millis(),
                "code": step.code,
                "headers": step.headers,
                "body": step.body,
                "ok": step.ok(),
                "failures": step.mismatches.iter().map(|m| json!({"path": m.path, "expected": m.expected, "actual": m.actual})).collect::<Vec<_>>(),
                "error": step.error,
                "events": step.events.iter().map(|e| json!({"seq": e.seq, "atMs": e.at.as_millis(), "event": e.kind, "text": e.kind.to_string()})).collect::<Vec<_>>(),
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        out
    }
}
