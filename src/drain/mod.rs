//! `kubectl drain`, as a library: kubectl's algorithm (`kubectl/pkg/drain`,
//! `kubectl/pkg/cmd/drain`) rule by rule, driving a [`Cluster`] through the REST handler
//! exactly as kubectl drives an API server, on the virtual clock.
//!
//! Cordon every node first (a strategic-merge PATCH of `spec.unschedulable`); then, node
//! after node: list its pods (`fieldSelector=spec.nodeName=…`, in chunks), run kubectl's
//! filters in order (deleted-long-ago, DaemonSet-managed, mirror, local storage,
//! unreplicated — the first that refuses decides, otherwise the last verdict stands), and,
//! when none errs, evict every pod concurrently: each eviction retries a 429 every 5 s, and
//! once accepted, polls the pod every second until it is gone; `--timeout` bounds it all.
//! Without eviction support, or with `--disable-eviction`, pods are deleted one after
//! another and then waited for together. Every line kubectl would print is recorded with
//! its virtual time and stream.
//!
//! kubectl's behaviour follows the cluster's release, as a kubectl of the same minor
//! version: the wait's timeout text (1.32), the DaemonSet check (1.34), the re-read of the
//! pod between retries (1.35), the unreplicated error's prefix (1.36), the server-dry-run
//! delete path (1.37).
//!
//! Where kubectl's output order comes from Go maps (the warning groups and the filter
//! errors, upstream's D14), evictsim prints them in the order of their first pod in the
//! list, so that the same drain always prints the same lines.
//!
//! A drain with no `--timeout` waits forever on a pod that never goes; evictsim stops
//! following it once the cluster can no longer change (no timer is pending and nothing was
//! written for 10 s, two retry rounds) or after [`DrainOptions::patience`], and reports it
//! as [`Ending::Endless`].
//!
//! # Examples
//! ```
//! use evictsim::cluster::Cluster;
//! use evictsim::drain::{drain, DrainOptions, Ending};
//!
//! let mut cluster = Cluster::from_yaml(r#"
//! objects:
//!   - {apiVersion: v1, kind: Node, metadata: {name: node-1}, status: {conditions: [{type: Ready, status: "True"}]}}
//!   - {apiVersion: v1, kind: Node, metadata: {name: node-2}, status: {conditions: [{type: Ready, status: "True"}]}}
//!   - apiVersion: apps/v1
//!     kind: ReplicaSet
//!     metadata: {name: web, namespace: default}
//!     spec:
//!       replicas: 1
//!       selector: {matchLabels: {app: web}}
//!       template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: nginx}]}}
//! "#).unwrap();
//! cluster.run_until_idle(std::time::Duration::from_secs(60));
//! let node = cluster.list::<evictsim::model::Pod>().next().unwrap().spec.node_name.clone();
//! let run = drain(&mut cluster, &[node.clone()], &DrainOptions::default()).unwrap();
//! assert_eq!(run.ending, Ending::Drained);
//! assert_eq!(run.stdout().last().map(String::as_str), Some(format!("node/{node} drained").as_str()));
//! ```

pub mod whatif;

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::model::{ObjectKey, go_quote};
use crate::time::{SimTime, go_duration};

/// kubectl's pause between two eviction attempts refused with a 429.
pub const EVICTION_RETRY: Duration = Duration::from_secs(5);
/// kubectl's interval between two checks that an evicted or deleted pod is gone.
pub const DELETE_POLL: Duration = Duration::from_secs(1);
/// How many times client-go re-sends a request answered with `Retry-After`, invisibly,
/// before the caller sees the error.
pub const CLIENT_RETRIES: u32 = 10;
/// How long without a write, with no timer pending, before evictsim calls an endless drain
/// stuck: two retry rounds, so every retrying pod has been refused again since.
pub const QUIET_BEFORE_STUCK: Duration = Duration::from_secs(10);

/// `--dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DryRun {
    /// Really drain.
    #[default]
    None,
    /// Print what would be evicted; send nothing that writes.
    Client,
    /// Send everything with `dryRun=All`; the server judges, nothing changes.
    Server,
}

/// kubectl drain's flags (their defaults are kubectl's), and how long evictsim follows a
/// drain that never ends.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainOptions {
    /// `--force`: delete pods that declare no controller.
    pub force: bool,
    /// `--ignore-daemonsets`.
    pub ignore_daemonsets: bool,
    /// `--delete-emptydir-data`.
    pub delete_emptydir_data: bool,
    /// `--grace-period` (−1: each pod's own).
    pub grace_period: i64,
    /// `--timeout` (zero: wait forever).
    pub timeout: Duration,
    /// `--pod-selector`: only pods with these labels.
    pub pod_selector: String,
    /// `--disable-eviction`: DELETE instead of evicting (bypasses every PDB).
    pub disable_eviction: bool,
    /// `--skip-wait-for-delete-timeout` in seconds (0: off).
    pub skip_wait_for_delete_timeout: u64,
    /// `--dry-run`.
    pub dry_run: DryRun,
    /// `--chunk-size`: pods per list request.
    pub chunk_size: u32,
    /// evictsim's own: how much virtual time a drain without `--timeout` is followed
    /// before it is reported as endless. Default 24 hours.
    pub patience: Duration,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            force: false,
            ignore_daemonsets: false,
            delete_emptydir_data: false,
            grace_period: -1,
            timeout: Duration::ZERO,
            pod_selector: String::new(),
            disable_eviction: false,
            skip_wait_for_delete_timeout: 0,
            dry_run: DryRun::None,
            chunk_size: 500,
            patience: Duration::from_secs(24 * 3600),
        }
    }
}

impl DrainOptions {
    /// The kubectl flags that differ from kubectl's defaults, as they would be typed
    /// (`--ignore-daemonsets`, `--timeout=5m0s`, …).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut on = |set: bool, flag: &str| {
            if set {
                flags.push(flag.to_string());
            }
        };
        on(self.force, "--force");
        on(self.ignore_daemonsets, "--ignore-daemonsets");
        on(self.delete_emptydir_data, "--delete-emptydir-data");
        on(self.disable_eviction, "--disable-eviction");
        if self.grace_period >= 0 {
            flags.push(format!("--grace-period={}", self.grace_period));
        }
        if !self.timeout.is_zero() {
            flags.push(format!("--timeout={}", go_duration(self.timeout)));
        }
        if !self.pod_selector.is_empty() {
            flags.push(format!("--pod-selector={}", self.pod_selector));
        }
        if self.skip_wait_for_delete_timeout > 0 {
            flags.push(format!(
                "--skip-wait-for-delete-timeout={}",
                self.skip_wait_for_delete_timeout
            ));
        }
        match self.dry_run {
            DryRun::None => {}
            DryRun::Client => flags.push("--dry-run=client".to_string()),
            DryRun::Server => flags.push("--dry-run=server".to_string()),
        }
        if self.chunk_size != 500 {
            flags.push(format!("--chunk-size={}", self.chunk_size));
        }
        flags
    }
}

/// Which of kubectl's output streams a line went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line kubectl prints, and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    /// The virtual time it was printed.
    pub at: SimTime,
    /// The stream.
    pub stream: Stream,
    /// The text, without its newline.
    pub text: String,
}

/// What became of one pod the drain acted on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PodFate {
    /// Evicted and gone.
    Evicted,
    /// Deleted (the delete path) and gone.
    Deleted,
    /// The eviction answered 404: already gone.
    AlreadyGone,
    /// A dry run: nothing happened.
    DryRun,
    /// Its deletion timestamp was older than `--skip-wait-for-delete-timeout`.
    Skipped,
    /// kubectl gave up on it with this error.
    Failed(String),
    /// Still on its way when the drain was last followed (an endless drain).
    Pending,
}

/// One pod's part in a node's drain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PodOutcome {
    /// The pod.
    pub pod: ObjectKey,
    /// What became of it.
    pub fate: PodFate,
    /// When that was settled.
    pub at: SimTime,
}

/// A pod the filters left on the node, and why (kubectl's warning or error text, or the
/// filter that skipped it silently).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeftAlone {
    /// The pod.
    pub pod: ObjectKey,
    /// Why.
    pub reason: String,
    /// Whether it stops the drain (a filter error).
    pub blocking: bool,
}

/// The drain of one node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeDrain {
    /// The node.
    pub node: String,
    /// When its pods were listed.
    pub started: SimTime,
    /// When kubectl finished with it (or last followed it).
    pub finished: SimTime,
    /// Whether kubectl printed `node/<node> drained`.
    pub drained: bool,
    /// kubectl's error for the node, when it failed (an aggregate prints as `[a, b]`).
    pub error: Option<String>,
    /// The errors the node's error aggregates, one each.
    pub errors: Vec<String>,
    /// The pods kubectl evicted or deleted, and what became of each.
    pub pods: Vec<PodOutcome>,
    /// The pods the filters left alone.
    pub left_alone: Vec<LeftAlone>,
}

/// How a drain ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Ending {
    /// Every node drained (exit 0).
    Drained,
    /// kubectl gave up on at least one node (exit 1).
    Failed,
    /// kubectl would still be waiting: no `--timeout`, and either the cluster can no longer
    /// change (`stuck: true`) or the drain was followed for [`DrainOptions::patience`].
    Endless {
        /// The node it is waiting on.
        node: String,
        /// Whether nothing can change any more.
        stuck: bool,
    },
    /// kubectl refused before doing anything (an unknown node, an invalid selector): exit 1.
    Refused(String),
}

/// A whole `kubectl drain` run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DrainRun {
    /// When it started.
    pub started: SimTime,
    /// When it ended (or was last followed).
    pub finished: SimTime,
    /// Everything kubectl printed.
    pub lines: Vec<Line>,
    /// The nodes, in the order drained (nodes never reached are absent).
    pub nodes: Vec<NodeDrain>,
    /// How it ended.
    pub ending: Ending,
}

impl DrainRun {
    /// kubectl's exit status: 0 when every node drained, 1 otherwise (an endless drain has
    /// none; it is reported as 1, not drained).
    pub fn exit_code(&self) -> i32 {
        i32::from(self.ending != Ending::Drained)
    }

    /// The standard output lines.
    pub fn stdout(&self) -> Vec<String> {
        self.stream(Stream::Stdout)
    }

    /// The standard error lines.
    pub fn stderr(&self) -> Vec<String> {
        self.stream(Stream::Stderr)
    }

    fn stream(&self, stream: Stream) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.clone())
            .collect()
    }

    /// How long it took.
    pub fn duration(&self) -> Duration {
        self.finished.saturating_duration_since(self.started)
    }
}

/// Options kubectl refuses before it talks to the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrainError {
    /// `--pod-selector` does not parse.
    #[error("--pod-selector={0} must be a valid label selector")]
    InvalidPodSelector(String),
    /// No node named.
    #[error("USAGE: drain NODE [flags]")]
    NoNode,
}

// ----- the client side: requests as kubectl sends them -------------------------------------

struct Answer {
    code: StatusCode,
    body: Value,
    retry_after: Option<u64>,
}

impl Answer {
    fn ok(&self) -> bool {
        self.code.is_success()
    }

    /// The error text client-go gives for a Status: its message.
    fn message(&self) -> String {
        match self.body.get("message").and_then(Value::as_str) {
            Some(m) => m.to_string(),
            None => format!(
                "the server responded with the status code {}",
                self.code.as_u16()
            ),
        }
    }

    fn has_cause(&self, reason: &str) -> bool {
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

fn call(
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

fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

fn pod_path(pod: &ObjectKey) -> String {
    format!("/api/v1/namespaces/{}/pods/{}", pod.namespace, pod.name)
}

// ----- the drain ------------------------------------------------------------------------------

/// A pod the filters passed, as listed.
#[derive(Debug, Clone)]
struct Listed {
    key: ObjectKey,
    uid: String,
}

struct Printer {
    lines: Vec<Line>,
    suffix: &'static str,
}

impl Printer {
    fn out(&mut self, at: SimTime, text: String) {
        self.lines.push(Line {
            at,
            stream: Stream::Stdout,
            text,
        });
    }
    fn err(&mut self, at: SimTime, text: String) {
        self.lines.push(Line {
            at,
            stream: Stream::Stderr,
            text,
        });
    }
    /// A `node/<name> <verb>` line, with the dry-run suffix.
    fn node(&mut self, at: SimTime, node: &str, verb: &str) {
        let text = format!("node/{node} {verb}{}", self.suffix);
        self.out(at, text);
    }
}

/// Drains `nodes` (in order) as `kubectl drain NODE… [flags]` would, starting at the
/// cluster's current time. The cluster is left as the drain leaves it, its clock at the end.
///
/// # Errors
/// [`DrainError`] for what kubectl refuses before talking to the server (no node, an
/// invalid `--pod-selector`). An unknown node is answered as kubectl answers it: a
/// [`DrainRun`] ending in [`Ending::Refused`].
pub fn drain(
    cluster: &mut Cluster,
    nodes: &[String],
    options: &DrainOptions,
) -> Result<DrainRun, DrainError> {
    if nodes.is_empty() {
        return Err(DrainError::NoNode);
    }
    if !options.pod_selector.is_empty()
        && crate::model::Selector::parse(&options.pod_selector).is_err()
    {
        return Err(DrainError::InvalidPodSelector(options.pod_selector.clone()));
    }
    let started = cluster.now();
    let mut printer = Printer {
        lines: Vec::new(),
        suffix: match options.dry_run {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        },
    };
    // Argument resolution: every node must exist before anything is cordoned.
    let mut objects = Vec::new();
    for node in nodes {
        let answer = call(
            cluster,
            started,
            "GET",
            &format!("/api/v1/nodes/{node}"),
            None,
        );
        if !answer.ok() {
            let text = format!(
                "Error from server ({}): {}",
                reason_of(&answer),
                answer.message()
            );
            printer.err(started, text.clone());
            return Ok(DrainRun {
                started,
                finished: started,
                lines: printer.lines,
                nodes: Vec::new(),
                ending: Ending::Refused(text),
            });
        }
        objects.push(answer.body);
    }
    // D20: cordon them all.
    for (node, object) in nodes.iter().zip(&objects) {
        cordon(cluster, &mut printer, node, object, options);
    }
    let mut drained_nodes = Vec::new();
    let mut remaining = Vec::new();
    let mut fatal: Vec<String> = Vec::new();
    for node in nodes {
        let (result, endless) = drain_node(cluster, &mut printer, node, options);
        let at = cluster.now();
        if let Some(stuck) = endless {
            let finished = result.finished;
            drained_nodes.push(result);
            return Ok(DrainRun {
                started,
                finished,
                lines: printer.lines,
                nodes: drained_nodes,
                ending: Ending::Endless {
                    node: node.clone(),
                    stuck,
                },
            });
        }
        match &result.error {
            None => printer.node(at, node, "drained"),
            Some(error) => {
                printer.err(
                    at,
                    format!("error: unable to drain node {} due to error: {error}, continuing command...", go_quote(node)),
                );
                remaining.push(node.clone());
                fatal.extend(result.errors.iter().cloned());
            }
        }
        drained_nodes.push(result);
    }
    let finished = cluster.now();
    if !remaining.is_empty() {
        printer.err(
            finished,
            "There are pending nodes to be drained:".to_string(),
        );
        for node in &remaining {
            printer.err(finished, format!(" {node}"));
        }
        for error in &fatal {
            printer.err(finished, error.clone());
        }
    }
    Ok(DrainRun {
        started,
        finished,
        lines: printer.lines,
        nodes: drained_nodes,
        ending: if remaining.is_empty() {
            Ending::Drained
        } else {
            Ending::Failed
        },
    })
}

/// The `reason` client-go shows in `Error from server (<reason>)`.
fn reason_of(answer: &Answer) -> String {
    answer
        .body
        .get("reason")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .unwrap_or_else(|| {
            answer
                .code
                .canonical_reason()
                .unwrap_or("Unknown")
                .replace(' ', "")
        })
}

fn cordon(
    cluster: &mut Cluster,
    printer: &mut Printer,
    node: &str,
    object: &Value,
    options: &DrainOptions,
) {
    let now = cluster.now();
    if object
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        == Some(true)
    {
        printer.node(now, node, "already cordoned");
        return;
    }
    if options.dry_run == DryRun::Client {
        printer.node(now, node, "cordoned");
        return;
    }
    let dry = if options.dry_run == DryRun::Server {
        "?dryRun=All"
    } else {
        ""
    };
    let answer = call(
        cluster,
        now,
        "PATCH",
        &format!("/api/v1/nodes/{node}{dry}"),
        Some((
            "application/strategic-merge-patch+json",
            json!({"spec": {"unschedulable": true}}),
        )),
    );
    if answer.ok() {
        printer.node(now, node, "cordoned");
    } else {
        // The cordon step never fails the drain (D20).
        printer.err(
            now,
            format!(
                "error: unable to cordon node {}: {}",
                go_quote(node),
                answer.message()
            ),
        );
    }
}

/// One pod's verdict from the filter chain.
struct Verdict {
    delete: bool,
    /// `Some((message, is_error))` for a warning or an error.
    note: Option<(String, bool)>,
}

impl Verdict {
    fn okay() -> Self {
        Verdict {
            delete: true,
            note: None,
        }
    }
    fn skip() -> Self {
        Verdict {
            delete: false,
            note: None,
        }
    }
    fn warn(delete: bool, message: impl Into<String>) -> Self {
        Verdict {
            delete,
            note: Some((message.into(), false)),
        }
    }
    fn error(message: impl Into<String>) -> Self {
        Verdict {
            delete: false,
            note: Some((message.into(), true)),
        }
    }
}

fn is_finished(pod: &Value) -> bool {
    matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

fn controller_of(pod: &Value) -> Option<&Value> {
    pod.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

fn deletion_older_than(pod: &Value, seconds: u64, now: crate::time::Time) -> bool {
    if seconds == 0 {
        return false;
    }
    pod.pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| crate::time::Time::parse(t).ok())
        .is_some_and(|at| {
            // kubectl: int(time.Since(deletionTimestamp).Seconds()) > N
            let elapsed = now.unix_seconds() - at.unix_seconds();
            elapsed > i64::try_from(seconds).unwrap_or(i64::MAX)
        })
}

/// kubectl's filter chain for one pod (`filters.go makeFilters`).
fn filter(cluster: &mut Cluster, pod: &Value, options: &DrainOptions) -> Verdict {
    let now = cluster.now();
    let minor = cluster.config().kubernetes_version.minor();
    // 1. Pods deleted longer ago than --skip-wait-for-delete-timeout.
    if deletion_older_than(
        pod,
        options.skip_wait_for_delete_timeout,
        cluster.wall_now(),
    ) {
        return Verdict::skip();
    }
    let mut verdict = Verdict::okay();
    // 2. DaemonSet-managed pods (V13: from 1.34, only an `apps/v1` DaemonSet owner counts).
    if let Some(owner) = controller_of(pod) {
        let kind_matches = owner.get("kind").and_then(Value::as_str) == Some("DaemonSet");
        let version_matches =
            minor < 34 || owner.get("apiVersion").and_then(Value::as_str) == Some("apps/v1");
        if kind_matches && version_matches && !is_finished(pod) {
            let namespace = pod
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let name = owner.get("name").and_then(Value::as_str).unwrap_or("");
            let answer = call(
                cluster,
                now,
                "GET",
                &format!("/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}"),
                None,
            );
            verdict = if !answer.ok() {
                if answer.code == StatusCode::NOT_FOUND && options.force {
                    Verdict::warn(true, answer.message())
                } else {
                    Verdict::error(answer.message())
                }
            } else if !options.ignore_daemonsets {
                Verdict::error("DaemonSet-managed Pods (use --ignore-daemonsets to ignore)")
            } else {
                Verdict::warn(false, "ignoring DaemonSet-managed Pods")
            };
            if !verdict.delete {
                return verdict;
            }
        }
    }
    // 3. Mirror pods.
    if pod
        .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
        .is_some()
    {
        return Verdict::skip();
    }
    // 4. Local storage.
    let empty_dir = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .is_some_and(|vs| vs.iter().any(|v| v.get("emptyDir").is_some()));
    if empty_dir && !is_finished(pod) {
        if !options.delete_emptydir_data {
            return Verdict::error(
                "Pods with local storage (use --delete-emptydir-data to override)",
            );
        }
        verdict = Verdict::warn(true, "deleting Pods with local storage");
    }
    // 5. Unreplicated pods. Its verdict replaces the earlier warnings (upstream's D4).
    if is_finished(pod) || controller_of(pod).is_some() {
        return Verdict::okay();
    }
    if options.force {
        return Verdict::warn(true, "deleting Pods that declare no controller");
    }
    // V14: kubectl ≤ 1.35 doubles the prefix (the group adds its own `cannot delete`).
    let prefix = if minor < 36 { "cannot delete " } else { "" };
    let _ = verdict;
    Verdict::error(format!(
        "{prefix}Pods that declare no controller (use --force to override)"
    ))
}

/// The filtered list of a node's pods: those to evict, the groups of warnings and errors.
struct PodList {
    delete: Vec<Listed>,
    warnings: Vec<(String, Vec<String>)>,
    errors: Vec<(String, Vec<String>)>,
    left_alone: Vec<LeftAlone>,
}

fn group(groups: &mut Vec<(String, Vec<String>)>, message: &str, pod: String) {
    match groups.iter_mut().find(|(m, _)| m == message) {
        Some((_, pods)) => pods.push(pod),
        None => groups.push((message.to_string(), vec![pod])),
    }
}

fn list_pods(cluster: &mut Cluster, node: &str, options: &DrainOptions) -> Result<PodList, String> {
    let mut list = PodList {
        delete: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
        left_alone: Vec::new(),
    };
    let field = format!("spec.nodeName={node}");
    let limit = options.chunk_size.to_string();
    let mut token = String::new();
    let mut pods = Vec::new();
    // Bounded: every page returns at least one pod or ends the list.
    for _ in 0..=cluster.object_count() {
        let q = query(&[
            ("fieldSelector", &field),
            ("labelSelector", &options.pod_selector),
            ("limit", if options.chunk_size == 0 { "" } else { &limit }),
            ("continue", &token),
        ]);
        let now = cluster.now();
        let answer = call(cluster, now, "GET", &format!("/api/v1/pods?{q}"), None);
        if !answer.ok() {
            return Err(answer.message());
        }
        if let Some(items) = answer.body.get("items").and_then(Value::as_array) {
            pods.extend(items.iter().cloned());
        }
        token = answer
            .body
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if token.is_empty() {
            break;
        }
    }
    for pod in &pods {
        let namespace = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let key = ObjectKey::new(namespace, name);
        let verdict = filter(cluster, pod, options);
        let shown = format!("{namespace}/{name}");
        if let Some((message, is_error)) = &verdict.note {
            group(
                if *is_error {
                    &mut list.errors
                } else {
                    &mut list.warnings
                },
                message,
                shown,
            );
        }
        if verdict.delete {
            list.delete.push(Listed {
                key,
                uid: pod
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        } else {
            let (reason, blocking) = match &verdict.note {
                Some((message, is_error)) => (message.clone(), *is_error),
                None if pod
                    .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
                    .is_some() =>
                {
                    (
                        "a mirror pod (its kubelet runs it from a static manifest)".to_string(),
                        false,
                    )
                }
                None => (
                    "deleted longer ago than --skip-wait-for-delete-timeout".to_string(),
                    false,
                ),
            };
            list.left_alone.push(LeftAlone {
                pod: key,
                reason,
                blocking,
            });
        }
    }
    Ok(list)
}

fn aggregate(errors: &[String]) -> String {
    let mut seen: Vec<&String> = Vec::new();
    for e in errors {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen[0].clone(),
        _ => format!(
            "[{}]",
            seen.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// An aggregate error carrying its parts, so that the final report can print them one per
/// line (see [`flatten`]).
fn aggregate_error(errors: &[String]) -> (String, Vec<String>) {
    let mut parts: Vec<String> = Vec::new();
    for e in errors {
        if !parts.contains(e) {
            parts.push(e.clone());
        }
    }
    (aggregate(errors), parts)
}

/// Drains one node (already cordoned). Returns the node's result and, for an endless
/// drain, whether it is stuck for good.
fn drain_node(
    cluster: &mut Cluster,
    printer: &mut Printer,
    node: &str,
    options: &DrainOptions,
) -> (NodeDrain, Option<bool>) {
    let started = cluster.now();
    let mut result = NodeDrain {
        node: node.to_string(),
        started,
        finished: started,
        drained: false,
        error: None,
        errors: Vec::new(),
        pods: Vec::new(),
        left_alone: Vec::new(),
    };
    let list = match list_pods(cluster, node, options) {
        Ok(list) => list,
        Err(e) => {
            result.error = Some(e.clone());
            result.errors = vec![e];
            return (result, None);
        }
    };
    result.left_alone = list.left_alone.clone();
    let now = cluster.now();
    if !list.errors.is_empty() {
        let errors: Vec<String> = list
            .errors
            .iter()
            .map(|(m, pods)| format!("cannot delete {m}: {}", pods.join(", ")))
            .collect();
        let (text, parts) = aggregate_error(&errors);
        result.error = Some(text);
        result.errors = parts;
        return (result, None);
    }
    if !list.warnings.is_empty() {
        let groups: Vec<String> = list
            .warnings
            .iter()
            .map(|(m, pods)| format!("{m}: {}", pods.join(", ")))
            .collect();
        printer.err(now, format!("Warning: {}", groups.join("; ")));
    }
    if options.dry_run == DryRun::Client {
        for pod in &list.delete {
            printer.out(
                now,
                format!(
                    "evicting pod {}/{} (dry run)",
                    pod.key.namespace, pod.key.name
                ),
            );
            result.pods.push(PodOutcome {
                pod: pod.key.clone(),
                fate: PodFate::DryRun,
                at: now,
            });
        }
        result.drained = true;
        return (result, None);
    }
    let eviction_version = if options.disable_eviction {
        None
    } else {
        eviction_support(cluster)
    };
    let (outcomes, error, endless) = match eviction_version {
        Some(version) => evict_pods(cluster, printer, &list.delete, options, &version),
        None => delete_pods(cluster, printer, &list.delete, options),
    };
    result.pods = outcomes;
    result.finished = cluster.now();
    if endless.is_some() {
        return (result, endless);
    }
    if let Some((text, parts)) = error {
        // D11: what is still on the node.
        let at = cluster.now();
        if let Ok(pending) = list_pods(cluster, node, options)
            && !pending.delete.is_empty()
        {
            printer.err(
                at,
                format!(
                    "There are pending pods in node {} when an error occurred: {text}",
                    go_quote(node)
                ),
            );
            for pod in &pending.delete {
                printer.err(at, format!("pod/{}", pod.key.name));
            }
        }
        result.error = Some(text);
        result.errors = parts;
        return (result, None);
    }
    result.drained = true;
    (result, None)
}

/// `CheckEvictionSupport`: `pods/eviction` in the core group's discovery, with its group and
/// version.
fn eviction_support(cluster: &mut Cluster) -> Option<String> {
    let now = cluster.now();
    let answer = call(cluster, now, "GET", "/api/v1", None);
    if !answer.ok() {
        return None;
    }
    answer
        .body
        .get("resources")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| {
            r.get("name").and_then(Value::as_str) == Some("pods/eviction")
                && r.get("kind").and_then(Value::as_str) == Some("Eviction")
        })
        .and_then(|r| {
            let group = r.get("group").and_then(Value::as_str).unwrap_or("");
            let version = r.get("version").and_then(Value::as_str).unwrap_or("");
            (!group.is_empty() && !version.is_empty()).then(|| format!("{group}/{version}"))
        })
}

fn delete_options(options: &DrainOptions) -> Value {
    let mut delete = json!({});
    if options.grace_period >= 0 {
        delete["gracePeriodSeconds"] = json!(options.grace_period);
    }
    if options.dry_run == DryRun::Server {
        delete["dryRun"] = json!(["All"]);
    }
    delete
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// An eviction attempt; `visible`: a drain-level attempt (prints its line), not
    /// client-go's invisible re-send after a `Retry-After`.
    Evict { at: SimTime, visible: bool },
    /// A check that the pod is gone.
    Wait { at: SimTime },
    /// Settled.
    Done,
}

impl Step {
    fn at(self) -> Option<SimTime> {
        match self {
            Step::Evict { at, .. } | Step::Wait { at } => Some(at),
            Step::Done => None,
        }
    }
}

struct Worker {
    pod: Listed,
    step: Step,
    client_retries: u32,
    reread: bool,
    fate: Option<(PodFate, SimTime)>,
}

type Failure = Option<(String, Vec<String>)>;

/// Follows the cluster until the next step, and decides whether an endless drain is stuck:
/// `Some(stuck)` to stop following.
struct Follower {
    deadline: Option<SimTime>,
    give_up: SimTime,
    revision: u64,
    changed_at: SimTime,
}

impl Follower {
    fn new(cluster: &Cluster, options: &DrainOptions) -> Self {
        let now = cluster.now();
        Follower {
            deadline: (!options.timeout.is_zero()).then(|| now + options.timeout),
            give_up: now + options.patience,
            revision: cluster.revision(),
            changed_at: now,
        }
    }

    fn saw(&mut self, cluster: &Cluster) {
        if cluster.revision() != self.revision {
            self.revision = cluster.revision();
            self.changed_at = cluster.now();
        }
    }

    /// Before running the steps due at `next`: whether to stop following an endless drain.
    fn endless(&mut self, cluster: &Cluster, next: SimTime) -> Option<bool> {
        if self.deadline.is_some() {
            return None;
        }
        if cluster.next_deadline().is_none()
            && next.saturating_duration_since(self.changed_at) >= QUIET_BEFORE_STUCK
        {
            return Some(true);
        }
        (next > self.give_up).then_some(false)
    }

    fn expired(&self, at: SimTime) -> bool {
        self.deadline.is_some_and(|d| at >= d)
    }
}

/// Polls that only find the pod still there print nothing: while every worker is waiting,
/// jump to the last poll before the cluster's next deadline.
fn skip_quiet_polls(cluster: &Cluster, workers: &mut [Worker], follower: &Follower) {
    if workers.iter().any(|w| matches!(w.step, Step::Evict { .. })) {
        return;
    }
    let Some(next_change) = cluster.next_deadline().map(|d| d.at) else {
        return;
    };
    let horizon = follower
        .deadline
        .unwrap_or(follower.give_up)
        .min(next_change);
    for w in workers.iter_mut() {
        if let Step::Wait { at } = w.step
            && at < horizon
        {
            let gap = horizon.as_millis() - at.as_millis();
            let polls = gap / DELETE_POLL.as_millis() as u64;
            // Land on the last poll strictly before the change, keeping the 1 s phase.
            let polls = if gap % DELETE_POLL.as_millis() as u64 == 0 {
                polls.saturating_sub(1)
            } else {
                polls
            };
            w.step = Step::Wait {
                at: SimTime::from_millis(at.as_millis() + polls * DELETE_POLL.as_millis() as u64),
            };
        }
    }
}

/// `evictPods`: every pod concurrently.
fn evict_pods(
    cluster: &mut Cluster,
    printer: &mut Printer,
    pods: &[Listed],
    options: &DrainOptions,
    version: &str,
) -> (Vec<PodOutcome>, Failure, Option<bool>) {
    let minor = cluster.config().kubernetes_version.minor();
    let start = cluster.now();
    let mut follower = Follower::new(cluster, options);
    let mut workers: Vec<Worker> = pods
        .iter()
        .map(|p| Worker {
            pod: p.clone(),
            step: Step::Evict {
                at: start,
                visible: true,
            },
            client_retries: 0,
            reread: false,
            fate: None,
        })
        .collect();
    let mut errors: Vec<String> = Vec::new();
    let timeout_text = go_duration(options.timeout);
    let mut endless = None;
    // Bounded: every round moves time forward or settles a worker, and time is bounded by
    // the deadline or the patience.
    loop {
        skip_quiet_polls(cluster, &mut workers, &follower);
        let Some(next) = workers.iter().filter_map(|w| w.step.at()).min() else {
            break;
        };
        if let Some(stuck) = follower.endless(cluster, next) {
            endless = Some(stuck);
            break;
        }
        cluster.advance_to(next);
        follower.saw(cluster);
        let at = next;
        // Evictions first, then the waits (an accepted eviction's first check is immediate).
        for w in workers.iter_mut() {
            let Step::Evict { at: due, visible } = w.step else {
                continue;
            };
            if due != at {
                continue;
            }
            let (ns, name) = (w.pod.key.namespace.clone(), w.pod.key.name.clone());
            if visible {
                printer.out(
                    at,
                    format!(
                        "evicting pod {ns}/{name}{}",
                        if options.dry_run == DryRun::Server {
                            " (server dry run)"
                        } else {
                            ""
                        }
                    ),
                );
                if follower.expired(at) {
                    let e = format!(
                        "error when evicting pods/{} -n {}: global timeout reached: {timeout_text}",
                        go_quote(&name),
                        go_quote(&ns)
                    );
                    w.fate = Some((PodFate::Failed(e.clone()), at));
                    errors.push(e);
                    w.step = Step::Done;
                    continue;
                }
                // V9 (1.35): re-read the pod after a retriable error.
                if w.reread && minor >= 35 {
                    let answer = call(cluster, at, "GET", &pod_path(&w.pod.key), None);
                    if answer.ok()
                        && let Some(uid) =
                            answer.body.pointer("/metadata/uid").and_then(Value::as_str)
                    {
                        w.pod.uid = uid.to_string();
                    }
                }
            }
            let body = json!({
                "kind": "Eviction",
                "apiVersion": version,
                "metadata": {"name": name, "namespace": ns, "creationTimestamp": null},
                "deleteOptions": delete_options(options),
            });
            let answer = call(
                cluster,
                at,
                "POST",
                &format!("{}/eviction", pod_path(&w.pod.key)),
                Some(("application/json", body)),
            );
            follower.saw(cluster);
            if answer.ok() {
                w.client_retries = 0;
                if options.dry_run == DryRun::Server {
                    w.fate = Some((PodFate::DryRun, at));
                    w.step = Step::Done;
                } else {
                    w.step = Step::Wait { at };
                }
            } else if answer.code == StatusCode::NOT_FOUND {
                w.fate = Some((PodFate::AlreadyGone, at));
                w.step = Step::Done;
            } else if let (Some(after), true) =
                (answer.retry_after, w.client_retries < CLIENT_RETRIES)
            {
                // client-go re-sends after Retry-After, invisibly.
                w.client_retries += 1;
                w.step = Step::Evict {
                    at: at + Duration::from_secs(after),
                    visible: false,
                };
            } else if answer.code == StatusCode::TOO_MANY_REQUESTS {
                w.client_retries = 0;
                w.reread = true;
                printer.err(
                    at,
                    format!(
                        "error when evicting pods/{} -n {} (will retry after 5s): {}",
                        go_quote(&name),
                        go_quote(&ns),
                        answer.message()
                    ),
                );
                w.step = Step::Evict {
                    at: at + EVICTION_RETRY,
                    visible: true,
                };
            } else if answer.code == StatusCode::FORBIDDEN
                && answer.has_cause("NamespaceTerminating")
            {
                w.client_retries = 0;
                let terminating = call(cluster, at, "GET", &pod_path(&w.pod.key), None)
                    .body
                    .pointer("/metadata/deletionTimestamp")
                    .is_some_and(|t| !t.is_null());
                if terminating {
                    w.step = Step::Wait { at };
                } else {
                    w.reread = true;
                    printer.err(at, format!("error when evicting pod {} from terminating namespace {} (will retry after 5s): {}", go_quote(&name), go_quote(&ns), answer.message()));
                    w.step = Step::Evict {
                        at: at + EVICTION_RETRY,
                        visible: true,
                    };
                }
            } else {
                let e = format!(
                    "error when evicting pods/{} -n {}: {}",
                    go_quote(&name),
                    go_quote(&ns),
                    answer.message()
                );
                w.fate = Some((PodFate::Failed(e.clone()), at));
                errors.push(e);
                w.step = Step::Done;
            }
        }
        for w in workers.iter_mut() {
            if w.step != (Step::Wait { at }) {
                continue;
            }
            let (ns, name) = (w.pod.key.namespace.clone(), w.pod.key.name.clone());
            if follower.expired(at) {
                let cause = if minor >= 32 {
                    "context deadline exceeded".to_string()
                } else {
                    format!("global timeout reached: {timeout_text}")
                };
                let e = format!(
                    "error when waiting for pod {} in namespace {} to terminate: {cause}",
                    go_quote(&name),
                    go_quote(&ns)
                );
                w.fate = Some((PodFate::Failed(e.clone()), at));
                errors.push(e);
                w.step = Step::Done;
                continue;
            }
            match poll(cluster, printer, at, &w.pod, options, "evicted") {
                Polled::Gone => {
                    w.fate = Some((PodFate::Evicted, at));
                    w.step = Step::Done;
                }
                Polled::Skipped => {
                    w.fate = Some((PodFate::Skipped, at));
                    w.step = Step::Done;
                }
                Polled::Error(message) => {
                    let e = format!(
                        "error when waiting for pod {} in namespace {} to terminate: {message}",
                        go_quote(&name),
                        go_quote(&ns)
                    );
                    w.fate = Some((PodFate::Failed(e.clone()), at));
                    errors.push(e);
                    w.step = Step::Done;
                }
                Polled::There => {
                    w.step = Step::Wait {
                        at: at + DELETE_POLL,
                    }
                }
            }
        }
    }
    let end = cluster.now();
    let outcomes = workers
        .into_iter()
        .map(|w| {
            let (fate, at) = w.fate.unwrap_or((PodFate::Pending, end));
            PodOutcome {
                pod: w.pod.key,
                fate,
                at,
            }
        })
        .collect();
    let failure = (!errors.is_empty()).then(|| aggregate_error(&errors));
    (outcomes, failure, endless)
}

enum Polled {
    Gone,
    Skipped,
    There,
    Error(String),
}

/// One check of `waitForDelete`: gone (404, or a new pod under the same name), skipped, or
/// still there.
fn poll(
    cluster: &mut Cluster,
    printer: &mut Printer,
    at: SimTime,
    pod: &Listed,
    options: &DrainOptions,
    verb: &str,
) -> Polled {
    let answer = call(cluster, at, "GET", &pod_path(&pod.key), None);
    let uid = answer
        .body
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("");
    if answer.code == StatusCode::NOT_FOUND || (answer.ok() && uid != pod.uid) {
        printer.out(at, format!("pod/{} {verb}", pod.key.name));
        return Polled::Gone;
    }
    if !answer.ok() {
        printer.out(
            at,
            format!("pod/{} {verb} failed", pod.key.name)
                .replace("evicted failed", "eviction failed"),
        );
        return Polled::Error(answer.message());
    }
    if deletion_older_than(
        &answer.body,
        options.skip_wait_for_delete_timeout,
        cluster.wall_now(),
    ) {
        printer.out(
            at,
            format!(
                "pod {} has DeletionTimestamp older than {} seconds, skipping",
                go_quote(&pod.key.name),
                options.skip_wait_for_delete_timeout
            ),
        );
        return Polled::Skipped;
    }
    Polled::There
}

/// `deletePods`: DELETE each pod in turn, then wait for them all.
fn delete_pods(
    cluster: &mut Cluster,
    printer: &mut Printer,
    pods: &[Listed],
    options: &DrainOptions,
) -> (Vec<PodOutcome>, Failure, Option<bool>) {
    let minor = cluster.config().kubernetes_version.minor();
    let at = cluster.now();
    let mut outcomes: Vec<PodOutcome> = Vec::new();
    for pod in pods {
        let answer = call(
            cluster,
            at,
            "DELETE",
            &pod_path(&pod.key),
            Some(("application/json", delete_options(options))),
        );
        if !answer.ok() && answer.code != StatusCode::NOT_FOUND {
            let e = answer.message();
            outcomes.push(PodOutcome {
                pod: pod.key.clone(),
                fate: PodFate::Failed(e.clone()),
                at,
            });
            return (outcomes, Some((e.clone(), vec![e])), None);
        }
    }
    if options.dry_run == DryRun::Server && minor >= 37 {
        // V17: the dry-run deletes are not waited for.
        let outcomes = pods
            .iter()
            .map(|p| PodOutcome {
                pod: p.key.clone(),
                fate: PodFate::DryRun,
                at,
            })
            .collect();
        return (outcomes, None, None);
    }
    let mut follower = Follower::new(cluster, options);
    let mut workers: Vec<Worker> = pods
        .iter()
        .map(|p| Worker {
            pod: p.clone(),
            step: Step::Wait { at },
            client_retries: 0,
            reread: false,
            fate: None,
        })
        .collect();
    let mut failure: Failure = None;
    let mut endless = None;
    loop {
        skip_quiet_polls(cluster, &mut workers, &follower);
        let Some(next) = workers.iter().filter_map(|w| w.step.at()).min() else {
            break;
        };
        if let Some(stuck) = follower.endless(cluster, next) {
            endless = Some(stuck);
            break;
        }
        cluster.advance_to(next);
        follower.saw(cluster);
        if follower.expired(next) {
            let e = if minor >= 32 {
                "context deadline exceeded"
            } else {
                "timed out waiting for the condition"
            };
            failure = Some((e.to_string(), vec![e.to_string()]));
            break;
        }
        for w in workers
            .iter_mut()
            .filter(|w| w.step == Step::Wait { at: next })
        {
            match poll(cluster, printer, next, &w.pod, options, "deleted") {
                Polled::Gone => {
                    w.fate = Some((PodFate::Deleted, next));
                    w.step = Step::Done;
                }
                Polled::Skipped => {
                    w.fate = Some((PodFate::Skipped, next));
                    w.step = Step::Done;
                }
                Polled::Error(message) => {
                    w.fate = Some((PodFate::Failed(message.clone()), next));
                    failure = Some((message.clone(), vec![message]));
                    w.step = Step::Done;
                }
                Polled::There => {
                    w.step = Step::Wait {
                        at: next + DELETE_POLL,
                    }
                }
            }
        }
        if failure.is_some() {
            break;
        }
    }
    let end = cluster.now();
    outcomes.extend(workers.into_iter().map(|w| {
        let (fate, at) = w.fate.unwrap_or_else(|| match &failure {
            Some((e, _)) => (PodFate::Failed(e.clone()), end),
            None => (PodFate::Pending, end),
        });
        PodOutcome {
            pod: w.pod.key,
            fate,
            at,
        }
    }));
    (outcomes, failure, endless)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_print_as_client_go_does() {
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into(), "a".into()]), "[a, b]");
    }
}
