//! "Will this node drain?": a drain played on a copy of a cluster, a verdict, a diagnosis of
//! every pod left behind, and remedies, each verified by applying it to a copy of the stuck
//! cluster and draining again.
//!
//! # Examples
//! ```
//! use evictsim::cluster::Cluster;
//! use evictsim::drain::whatif::{Plan, what_if};
//!
//! let cluster = Cluster::from_yaml(r#"
//! objects:
//!   - {apiVersion: v1, kind: Node, metadata: {name: node-1}, status: {conditions: [{type: Ready, status: "True"}]}}
//!   - apiVersion: v1
//!     kind: Pod
//!     metadata: {name: solo, namespace: default, labels: {app: solo}}
//!     spec: {nodeName: node-1, containers: [{name: c, image: i}]}
//!     status: {phase: Running, conditions: [{type: Ready, status: "True"}]}
//!   - apiVersion: policy/v1
//!     kind: PodDisruptionBudget
//!     metadata: {name: solo, namespace: default}
//!     spec: {minAvailable: 1, selector: {matchLabels: {app: solo}}}
//! "#).unwrap();
//! let mut plan = Plan::new(["node-1"]);
//! plan.options.force = true;
//! plan.options.timeout = std::time::Duration::from_secs(60);
//! let report = what_if(&cluster, &plan);
//! assert!(!report.drained);
//! assert!(report.diagnoses[0].sentence.contains("no controller"));
//! assert!(report.remedies.iter().any(|r| r.works && r.command.starts_with("kubectl delete pod")));
//! ```

use std::time::Duration;

use serde_json::json;

mod diagnosis;
mod remedies;

pub use diagnosis::{Blocker, Cause, Diagnosis};

use diagnosis::diagnose;
use remedies::verify;

use super::{DrainOptions, DrainRun, Ending, PodFate, drain};
use crate::cluster::Cluster;
use crate::model::{ObjectKey, Pod};
use crate::time::{SimTime, go_duration};

/// How several nodes are drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Pool {
    /// One `kubectl drain NODE…` for them all: every node cordoned first, then drained in
    /// turn.
    #[default]
    Together,
    /// One node after another, as upgrade tools go: drain it, then (it has been upgraded)
    /// uncordon it before the next; stop at the first node that does not drain.
    OneByOne,
}

/// What to drain, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The nodes, in order.
    pub nodes: Vec<String>,
    /// kubectl drain's flags.
    pub options: DrainOptions,
    /// How several nodes go.
    pub pool: Pool,
    /// Whether to verify remedies (each re-runs the drain on a copy).
    pub verify_remedies: bool,
    /// How long the cluster may settle before the drain (pods starting, controllers
    /// catching up); the drain starts once nothing is pending or this has passed.
    pub settle: Duration,
}

impl Plan {
    /// A plan to drain `nodes` with kubectl's default flags, verifying remedies.
    pub fn new<S: Into<String>>(nodes: impl IntoIterator<Item = S>) -> Plan {
        Plan {
            nodes: nodes.into_iter().map(Into::into).collect(),
            options: DrainOptions::default(),
            pool: Pool::Together,
            verify_remedies: true,
            settle: Duration::from_secs(600),
        }
    }
}

/// A remedy, and what it did to a copy of the stuck cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemedyCheck {
    /// What it is.
    pub title: String,
    /// The command an operator would run.
    pub command: String,
    /// Whether the drain, run again after it, finished.
    pub works: bool,
    /// How long that drain took.
    pub drained_after: Option<Duration>,
    /// What happened, in words.
    pub outcome: String,
}

/// The answer to "will this node drain?".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Whether every node drained.
    pub drained: bool,
    /// How long the drain ran (to the end, or until it was given up on).
    pub duration: Duration,
    /// The first node that did not drain.
    pub stuck_node: Option<String>,
    /// The verdict in one line.
    pub verdict: String,
    /// The runs, each with its kubectl command line: one for [`Pool::Together`], one per
    /// node for [`Pool::OneByOne`].
    pub runs: Vec<(String, DrainRun)>,
    /// The pods left behind.
    pub diagnoses: Vec<Diagnosis>,
    /// The remedies tried, in order.
    pub remedies: Vec<RemedyCheck>,
    /// Pods the scheduler could not place when the drain ended (replacements that fit
    /// nowhere), with its message: capacity the drain cost even where it finished.
    pub unschedulable: Vec<(ObjectKey, String)>,
    /// What the simulation assumed.
    pub assumptions: Vec<String>,
}

/// Lets the cluster settle (pods starting, controllers catching up), up to `limit`.
pub fn settle(cluster: &mut Cluster, limit: Duration) {
    cluster.run_until_idle(limit);
}

/// Plays `plan` on a copy of `cluster` and answers: the drain as kubectl prints it, the
/// verdict, a diagnosis of each pod left behind, and verified remedies.
pub fn what_if(cluster: &Cluster, plan: &Plan) -> Report {
    let mut copy = cluster.fork();
    settle(&mut copy, plan.settle);
    let start = copy.now();
    let (runs, stuck_node) = run_plan(&mut copy, plan);
    let end = runs.last().map_or(start, |(_, r)| r.finished);
    let duration = end.saturating_duration_since(start);
    let drained = stuck_node.is_none();
    let mut diagnoses = Vec::new();
    let mut remedies = Vec::new();
    if let Some(node) = &stuck_node
        && let Some((_, run)) = runs.last()
    {
        diagnoses = diagnose(&copy, run, &plan.options);
        if plan.verify_remedies {
            let remaining: Vec<String> = match plan.pool {
                Pool::Together => plan.nodes.clone(),
                Pool::OneByOne => plan
                    .nodes
                    .iter()
                    .skip_while(|n| *n != node)
                    .cloned()
                    .collect(),
            };
            remedies = verify(&copy, plan, &remaining, &diagnoses);
        }
    }
    let verdict = verdict_line(plan, &runs, drained, duration, stuck_node.as_deref());
    let unschedulable = copy
        .list::<Pod>()
        .filter(|p| p.spec.node_name.is_empty() && !p.is_terminating())
        .filter_map(|p| {
            let condition = p
                .status
                .conditions
                .iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
            Some((p.metadata.key(), condition.message.to_string()))
        })
        .collect();
    Report {
        unschedulable,
        drained,
        duration,
        stuck_node,
        verdict,
        runs,
        diagnoses,
        remedies,
        assumptions: assumptions(cluster, plan),
    }
}

pub(super) fn run_plan(
    cluster: &mut Cluster,
    plan: &Plan,
) -> (Vec<(String, DrainRun)>, Option<String>) {
    let mut runs = Vec::new();
    match plan.pool {
        Pool::Together => {
            let run = drain_or_refuse(cluster, &plan.nodes, &plan.options);
            let stuck = first_not_drained(&run, &plan.nodes);
            runs.push((command_line(&plan.nodes, &plan.options), run));
            (runs, stuck)
        }
        Pool::OneByOne => {
            for node in &plan.nodes {
                let run = drain_or_refuse(cluster, std::slice::from_ref(node), &plan.options);
                let stuck = first_not_drained(&run, std::slice::from_ref(node));
                runs.push((command_line(std::slice::from_ref(node), &plan.options), run));
                if stuck.is_some() {
                    return (runs, stuck);
                }
                // Upgraded: back in service before the next node.
                if plan.options.dry_run == super::DryRun::None {
                    let now = cluster.now();
                    super::client::call(
                        cluster,
                        now,
                        "PATCH",
                        &format!("/api/v1/nodes/{node}"),
                        Some((
                            "application/strategic-merge-patch+json",
                            json!({"spec": {"unschedulable": null}}),
                        )),
                    );
                }
            }
            (runs, None)
        }
    }
}

fn command_line(nodes: &[String], options: &DrainOptions) -> String {
    let mut words = vec!["kubectl drain".to_string()];
    words.extend(nodes.iter().cloned());
    words.extend(options.flags());
    words.join(" ")
}

fn drain_or_refuse(cluster: &mut Cluster, nodes: &[String], options: &DrainOptions) -> DrainRun {
    drain(cluster, nodes, options).unwrap_or_else(|e| {
        let now = cluster.now();
        DrainRun {
            started: now,
            finished: now,
            lines: vec![super::Line {
                at: now,
                stream: super::Stream::Stderr,
                text: format!("error: {e}"),
            }],
            nodes: Vec::new(),
            ending: Ending::Refused(e.to_string()),
        }
    })
}

fn first_not_drained(run: &DrainRun, nodes: &[String]) -> Option<String> {
    match &run.ending {
        Ending::Drained => None,
        Ending::Endless { node, .. } => Some(node.clone()),
        Ending::Refused(_) => nodes.first().cloned(),
        Ending::Failed => run
            .nodes
            .iter()
            .find(|n| !n.drained)
            .map(|n| n.node.clone())
            .or_else(|| nodes.first().cloned()),
    }
}

fn verdict_line(
    plan: &Plan,
    runs: &[(String, DrainRun)],
    drained: bool,
    duration: Duration,
    stuck: Option<&str>,
) -> String {
    let took = go_duration(duration);
    let what = if plan.nodes.len() == 1 {
        format!("node {}", plan.nodes[0])
    } else {
        format!("{} nodes", plan.nodes.len())
    };
    if drained {
        return match plan.options.dry_run {
            super::DryRun::None => format!("{what}: drained in {took}"),
            super::DryRun::Client => format!(
                "{what}: a client dry run: kubectl would evict the pods listed above; nothing was sent, so the budgets were not consulted"
            ),
            super::DryRun::Server => format!(
                "{what}: a server dry run: every eviction above was admitted now, one at a time; nothing was evicted, so replacements and the wait were not tried"
            ),
        };
    }
    let stuck = stuck.unwrap_or("?");
    let refused = runs.last().and_then(|(_, r)| {
        r.nodes
            .iter()
            .find(|n| n.node == stuck && n.left_alone.iter().any(|l| l.blocking))
    });
    if refused.is_some() {
        return format!(
            "{what}: not drained: kubectl's filters refuse node {stuck} before any eviction"
        );
    }
    let last = runs.last().map(|(_, r)| &r.ending);
    let how = match last {
        Some(Ending::Endless { stuck: true, .. }) => {
            format!(
                "stuck on node {stuck}: after {took} nothing can change any more, and kubectl drain (no --timeout) would wait forever"
            )
        }
        Some(Ending::Endless { stuck: false, .. }) => {
            format!(
                "not drained: node {stuck} still not empty after {took} (kubectl drain has no --timeout and keeps waiting)"
            )
        }
        Some(Ending::Refused(message)) => format!("not drained: kubectl refused: {message}"),
        _ => format!("not drained: kubectl drain gave up on node {stuck} after {took}"),
    };
    format!("{what}: {how}")
}

fn assumptions(cluster: &Cluster, plan: &Plan) -> Vec<String> {
    let b = cluster.config().default_behaviour;
    let shutdown = match b.shutdown {
        crate::model::Shutdown::After(d) => format!("exit {} after SIGTERM", go_duration(d)),
        crate::model::Shutdown::Never => {
            "ignore SIGTERM (killed at the end of the grace period)".to_string()
        }
    };
    let mut lines = vec![
        format!(
            "containers without evictsim.io/* annotations start in {} and {shutdown}; annotated pods and templates say their own",
            go_duration(b.startup)
        ),
        format!(
            "kubectl 1.{minor} against a 1.{minor} API server (kubectl's version follows the cluster's)",
            minor = cluster.config().kubernetes_version.minor()
        ),
        "every kubelet that reports Ready keeps running; a node whose Ready condition is not True has no kubelet acting".to_string(),
        "the scheduler places replacements by requests, nodeSelector, required node affinity, taints and cordons; no preemption, no cluster autoscaler".to_string(),
    ];
    if plan.options.timeout.is_zero() {
        lines.push(format!(
            "no --timeout: a drain that cannot finish is followed until nothing can change, or for {}",
            go_duration(plan.options.patience)
        ));
    }
    lines
}

/// A time as elapsed since `start`, for reports.
pub fn since(start: SimTime, at: SimTime) -> String {
    go_duration(at.saturating_duration_since(start))
}

impl Report {
    /// The report as `evictsim drain` prints it: kubectl's lines with their virtual times
    /// (`out`/`err` for the stream; a retry loop's repeats folded), the verdict, the pods
    /// left behind, the remedies and the assumptions.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut text = String::new();
        let origin = self.runs.first().map_or(SimTime::ZERO, |(_, r)| r.started);
        for (label, run) in &self.runs {
            let _ = writeln!(text, "$ {label}");
            let mut printed: std::collections::BTreeMap<(super::Stream, &str), usize> =
                std::collections::BTreeMap::new();
            let mut folded = 0usize;
            for line in &run.lines {
                let seen = printed
                    .entry((line.stream, line.text.as_str()))
                    .or_insert(0);
                *seen += 1;
                if *seen > 2 {
                    folded += 1;
                    continue;
                }
                if folded > 0 {
                    let _ = writeln!(
                        text,
                        "{:>10}  …    ({folded} more lines repeating the ones above)",
                        ""
                    );
                    folded = 0;
                }
                let stream = match line.stream {
                    super::Stream::Stdout => "out",
                    super::Stream::Stderr => "err",
                };
                let _ = writeln!(
                    text,
                    "{:>10}  {stream}  {}",
                    format!("+{}", since(origin, line.at)),
                    line.text
                );
            }
            if folded > 0 {
                let _ = writeln!(
                    text,
                    "{:>10}  …    ({folded} more lines repeating the ones above)",
                    ""
                );
            }
        }
        let _ = writeln!(text);
        let _ = writeln!(text, "verdict: {}", self.verdict);
        if !self.diagnoses.is_empty() {
            let _ = writeln!(text);
            let _ = writeln!(text, "left behind:");
            for d in &self.diagnoses {
                let _ = writeln!(text, "  - {}", d.sentence);
            }
        }
        if !self.unschedulable.is_empty() {
            let _ = writeln!(text);
            let _ = writeln!(text, "pending when the drain ended (no node takes them):");
            for (pod, message) in &self.unschedulable {
                let _ = writeln!(text, "  - {pod}: {message}");
            }
        }
        if !self.remedies.is_empty() {
            let _ = writeln!(text);
            let _ = writeln!(
                text,
                "remedies (each applied to a copy of the stuck cluster, then the drain run again):"
            );
            for r in &self.remedies {
                let mark = if r.works { "works " } else { "no    " };
                let _ = writeln!(text, "  {mark} {}", r.title);
                let _ = writeln!(text, "         $ {}", r.command);
                let _ = writeln!(text, "         {}", r.outcome);
            }
        }
        let _ = writeln!(text);
        let _ = writeln!(text, "assumed:");
        for a in &self.assumptions {
            let _ = writeln!(text, "  - {a}");
        }
        text
    }
}
