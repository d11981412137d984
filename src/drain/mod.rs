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
//! let run = drain(&mut cluster, &[node.to_string()], &DrainOptions::default()).unwrap();
//! assert_eq!(run.ending, Ending::Drained);
//! assert_eq!(run.stdout().last().map(String::as_str), Some(format!("node/{node} drained").as_str()));
//! ```

mod client;
mod evict;
mod filters;
pub mod whatif;

use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::model::{ObjectKey, go_quote};
use crate::time::{SimTime, go_duration};
use client::{Answer, call};
use evict::{aggregate_error, delete_pods, evict_pods, eviction_support};
use filters::list_pods;

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

#[cfg(test)]
mod tests {
    use super::evict::aggregate;

    #[test]
    fn aggregates_print_as_client_go_does() {
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into(), "a".into()]), "[a, b]");
    }
}
