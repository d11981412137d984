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

use serde_json::{Value, json};

use super::{DrainOptions, DrainRun, Ending, PodFate, drain};
use crate::cluster::Cluster;
use crate::model::{IntOrString, ObjectKey, Pod, PodDisruptionBudget};
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

/// Why a pod stayed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Cause {
    /// kubectl's filters refused the node before any eviction.
    Refused {
        /// kubectl's message.
        message: String,
    },
    /// The PDB does not allow the eviction (429), and it does not recover.
    Budget {
        /// The PDB.
        pdb: ObjectKey,
        /// `status.expectedPods`.
        expected: i64,
        /// `status.currentHealthy`.
        healthy: i64,
        /// `status.desiredHealthy`.
        desired: i64,
        /// Why the budget stays exhausted: every reason found, the most direct first.
        because: Vec<Blocker>,
    },
    /// More than one PDB selects the pod: every eviction is a 500.
    TwoBudgets {
        /// The PDBs.
        pdbs: Vec<ObjectKey>,
    },
    /// Evicted, but still terminating: its grace period outlasts the drain's timeout.
    LongGrace {
        /// The pod's grace period in seconds.
        grace_seconds: i64,
    },
    /// Evicted, but its node's kubelet does not report, so nothing finishes the deletion.
    DeadKubelet {
        /// The node.
        node: String,
    },
    /// Anything else kubectl reported.
    Other {
        /// kubectl's message.
        message: String,
    },
}

/// Why a PDB that blocks an eviction does not recover.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Blocker {
    /// A replacement cannot be scheduled.
    Unschedulable {
        /// The replacement.
        pod: ObjectKey,
        /// The scheduler's message.
        message: String,
    },
    /// A replacement runs but never becomes Ready.
    NeverReady {
        /// The replacement.
        pod: ObjectKey,
    },
    /// A pod of the budget is still terminating, and its replacement waits for it.
    Terminating {
        /// The terminating pod.
        pod: ObjectKey,
    },
    /// The pod has no controller, so nothing replaces it, and the budget needs it.
    NoController,
    /// Even with every pod healthy the budget allows no disruption.
    NoRoom,
}

/// One pod left behind, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnosis {
    /// The pod.
    pub pod: ObjectKey,
    /// Its node.
    pub node: String,
    /// The cause.
    pub cause: Cause,
    /// The cause in one sentence, with the numbers.
    pub sentence: String,
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
            remedies = verify(&copy, plan, &remaining, &diagnoses, run);
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
            Some((p.metadata.key(), condition.message.clone()))
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

fn run_plan(cluster: &mut Cluster, plan: &Plan) -> (Vec<(String, DrainRun)>, Option<String>) {
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

// ----- diagnosis ----------------------------------------------------------------------------

fn diagnose(cluster: &Cluster, run: &DrainRun, options: &DrainOptions) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for node in run.nodes.iter().filter(|n| !n.drained) {
        for left in node.left_alone.iter().filter(|l| l.blocking) {
            let sentence = format!(
                "{}: kubectl refuses the node before evicting anything: cannot delete {}",
                left.pod, left.reason
            );
            out.push(Diagnosis {
                pod: left.pod.clone(),
                node: node.node.clone(),
                cause: Cause::Refused {
                    message: left.reason.clone(),
                },
                sentence,
            });
        }
        for outcome in &node.pods {
            let message = match &outcome.fate {
                PodFate::Failed(m) => m.clone(),
                PodFate::Pending => String::new(),
                _ => continue,
            };
            let Some(pod) = cluster.pod(&outcome.pod) else {
                continue; // gone by now
            };
            let cause = classify(cluster, pod, &message, options);
            let sentence = sentence(cluster, pod, &cause, options);
            out.push(Diagnosis {
                pod: outcome.pod.clone(),
                node: node.node.clone(),
                cause,
                sentence,
            });
        }
    }
    out
}

fn classify(cluster: &Cluster, pod: &Pod, message: &str, _options: &DrainOptions) -> Cause {
    if pod.is_terminating() {
        let node =
            cluster.get::<crate::model::Node>(&ObjectKey::new("", pod.spec.node_name.as_str()));
        if node.is_none_or(|n| !crate::cluster::kubelet::node_ready(n)) {
            return Cause::DeadKubelet {
                node: pod.spec.node_name.clone(),
            };
        }
        return Cause::LongGrace {
            grace_seconds: pod.metadata.deletion_grace_period_seconds.unwrap_or(30),
        };
    }
    let pdbs: Vec<ObjectKey> = cluster
        .pdbs_selecting(pod)
        .into_iter()
        .map(|name| ObjectKey::new(pod.metadata.namespace.as_str(), name))
        .collect();
    if pdbs.len() > 1 {
        return Cause::TwoBudgets { pdbs };
    }
    let Some(key) = pdbs.first() else {
        return Cause::Other {
            message: if message.is_empty() {
                "kubectl was still trying".to_string()
            } else {
                message.to_string()
            },
        };
    };
    let Some(pdb) = cluster.pdb(key) else {
        return Cause::Other {
            message: message.to_string(),
        };
    };
    Cause::Budget {
        pdb: key.clone(),
        expected: pdb.status.expected_pods,
        healthy: pdb.status.current_healthy,
        desired: pdb.status.desired_healthy,
        because: blockers(cluster, pod, key),
    }
}

fn blockers(cluster: &Cluster, pod: &Pod, pdb: &ObjectKey) -> Vec<Blocker> {
    let members = cluster.pdb_members(pdb).unwrap_or_default();
    let mut found = Vec::new();
    for member in &members {
        let unschedulable = member
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False");
        if member.spec.node_name.is_empty()
            && let Some(condition) = unschedulable
        {
            found.push(Blocker::Unschedulable {
                pod: member.metadata.key(),
                message: condition.message.clone(),
            });
            break;
        }
    }
    for member in &members {
        if member.is_terminating() && member.metadata.key() != pod.metadata.key() {
            found.push(Blocker::Terminating {
                pod: member.metadata.key(),
            });
            break;
        }
    }
    // A pod that runs unready, or one that would never be Ready once it runs (its
    // behaviour says so, whether or not it has a node yet).
    let never_ready = |p: &Pod| {
        crate::model::Behaviour::of_with_defaults(
            &p.metadata.annotations,
            cluster.config().default_behaviour,
        )
        .never_ready
    };
    for member in &members {
        let active = !member.is_terminating() && !member.is_terminal() && !member.is_ready();
        if active
            && (!member.spec.node_name.is_empty() || never_ready(member))
            && (never_ready(member) || member.status.phase == "Running")
        {
            found.push(Blocker::NeverReady {
                pod: member.metadata.key(),
            });
            break;
        }
    }
    if pod.metadata.controller_ref().is_none() {
        found.push(Blocker::NoController);
    }
    if found.is_empty() {
        found.push(Blocker::NoRoom);
    }
    found
}

fn sentence(cluster: &Cluster, pod: &Pod, cause: &Cause, options: &DrainOptions) -> String {
    let who = pod.metadata.key();
    match cause {
        Cause::Refused { message } => format!("{who}: kubectl refuses the node: {message}"),
        Cause::TwoBudgets { pdbs } => format!(
            "{who}: {} PDBs select it ({}), so every eviction is refused with 500 (\"This pod has more than one PodDisruptionBudget\")",
            pdbs.len(),
            pdbs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Cause::LongGrace { grace_seconds } => format!(
            "{who}: evicted, but its grace period of {grace_seconds}s outlasts the drain's --timeout of {}; the kubelet kills it only when the grace period ends",
            go_duration(options.timeout)
        ),
        Cause::DeadKubelet { node } => format!(
            "{who}: evicted, but node {node} does not report Ready: no kubelet finishes the deletion, so the pod stays Terminating until the node returns or the pod is force-deleted"
        ),
        Cause::Other { message } => format!("{who}: {message}"),
        Cause::Budget {
            pdb,
            expected,
            healthy,
            desired,
            because,
        } => {
            let allowed = cluster.pdb(pdb).map_or(0, |p| p.status.disruptions_allowed);
            let head = format!(
                "{who}: PDB {pdb} needs {desired} healthy pods and has {healthy} (expected {expected}, disruptionsAllowed {allowed}), so every eviction is a 429"
            );
            let why: Vec<String> = because
                .iter()
                .map(|b| match b {
                    Blocker::Unschedulable { pod, message } => {
                        format!("its replacement {pod} cannot be scheduled: {message}")
                    }
                    Blocker::NeverReady { pod } => {
                        let annotated = cluster.pod(pod).is_some_and(|p| {
                            p.metadata.annotations.get(crate::model::NEVER_READY).is_some_and(|v| v == "true")
                        });
                        let hint = if annotated { " (evictsim.io/never-ready)" } else { "" };
                        format!("{pod} never becomes Ready{hint}, so the budget never recovers")
                    }
                    Blocker::Terminating { pod } => {
                        let grace = cluster
                            .pod(pod)
                            .and_then(|p| p.metadata.deletion_grace_period_seconds)
                            .unwrap_or(30);
                        format!("{pod} is still terminating (grace period {grace}s) and its replacement waits for it")
                    }
                    Blocker::NoController => {
                        "it has no controller, so nothing replaces it and the budget can never spare it".to_string()
                    }
                    Blocker::NoRoom => "even with every pod healthy the budget allows no disruption".to_string(),
                })
                .collect();
            let why = why.join("; and ");
            format!("{head}: {why}")
        }
    }
}

// ----- remedies -----------------------------------------------------------------------------

/// A change to try: through the REST handler, as an operator's kubectl command would, or to
/// the drain's own flags.
#[derive(Debug, Clone)]
enum Fix {
    /// A request (method, path, content type, body).
    Request(&'static str, String, &'static str, Value),
    /// Several requests.
    Requests(Vec<(&'static str, String, &'static str, Value)>),
    /// Different drain flags.
    Flags(DrainOptions),
    /// Nothing to apply: the remedy is advice.
    Advice,
}

struct Candidate {
    title: String,
    command: String,
    fix: Fix,
}

fn candidates(
    cluster: &Cluster,
    plan: &Plan,
    diagnoses: &[Diagnosis],
    run: &DrainRun,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let stuck_pods: Vec<&ObjectKey> = diagnoses.iter().map(|d| &d.pod).collect();
    let cordoned_nodes = run.nodes.iter().filter(|n| !n.drained).count();
    // The docs' first remedy: pause the automation.
    out.push(Candidate {
        title: "pause the automation (the docs' remedy): stop retrying, leave the node cordoned, and investigate".to_string(),
        command: "interrupt kubectl drain (Ctrl-C) or pause the upgrade tool".to_string(),
        fix: Fix::Advice,
    });
    // The docs' second: delete the pods directly (bypasses the budget).
    let budget_blocked: Vec<&Diagnosis> = diagnoses
        .iter()
        .filter(|d| {
            matches!(
                d.cause,
                Cause::Budget { .. } | Cause::TwoBudgets { .. } | Cause::Other { .. }
            )
        })
        .collect();
    if !budget_blocked.is_empty() {
        let requests = budget_blocked
            .iter()
            .map(|d| ("DELETE", pod_path(&d.pod), "application/json", json!({})))
            .collect();
        out.push(Candidate {
            title: "delete the pod directly (the docs' remedy; it bypasses the budget)".to_string(),
            command: budget_blocked
                .iter()
                .map(|d| format!("kubectl delete pod -n {} {}", d.pod.namespace, d.pod.name))
                .collect::<Vec<_>>()
                .join(" && "),
            fix: Fix::Requests(requests),
        });
    }
    let terminating = diagnoses
        .iter()
        .any(|d| matches!(d.cause, Cause::LongGrace { .. } | Cause::DeadKubelet { .. }));
    let longest_grace = diagnoses
        .iter()
        .filter_map(|d| cluster.pod(&d.pod))
        .map(|p| {
            p.metadata
                .deletion_grace_period_seconds
                .or(p.spec.termination_grace_period_seconds)
                .unwrap_or(30)
        })
        .max()
        .unwrap_or(0);
    let outlasts_timeout = !plan.options.timeout.is_zero()
        && u64::try_from(longest_grace).unwrap_or(0) >= plan.options.timeout.as_secs();
    if terminating || outlasts_timeout {
        out.push(Candidate {
            title: "force-delete the pods left (removes the objects at once; their containers may still run)".to_string(),
            command: diagnoses
                .iter()
                .map(|d| format!("kubectl delete pod -n {} {} --grace-period=0 --force", d.pod.namespace, d.pod.name))
                .collect::<Vec<_>>()
                .join(" && "),
            fix: Fix::Requests(
                diagnoses
                    .iter()
                    .map(|d| ("DELETE", pod_path(&d.pod), "application/json", json!({"gracePeriodSeconds": 0})))
                    .collect(),
            ),
        });
    }
    if diagnoses
        .iter()
        .any(|d| matches!(d.cause, Cause::LongGrace { .. }))
        && !plan.options.timeout.is_zero()
    {
        let mut flags = plan.options.clone();
        flags.timeout = Duration::ZERO;
        out.push(Candidate {
            title: format!("let the drain wait out the grace periods (up to {longest_grace}s each): no --timeout"),
            command: format!("kubectl drain {} --timeout=0s", plan.nodes.join(" ")),
            fix: Fix::Flags(flags),
        });
    }
    // Per budget: scale up, relax, AlwaysAllow.
    let mut seen: Vec<ObjectKey> = Vec::new();
    for d in diagnoses {
        match &d.cause {
            Cause::Budget {
                pdb,
                desired,
                because,
                ..
            } => {
                if seen.contains(pdb) {
                    continue;
                }
                seen.push(pdb.clone());
                let blocked = diagnoses
                    .iter()
                    .filter(
                        |other| matches!(&other.cause, Cause::Budget { pdb: p, .. } if p == pdb),
                    )
                    .count() as i64;
                let Some(budget) = cluster.pdb(pdb) else {
                    continue;
                };
                if let Some(pod) = cluster.pod(&d.pod)
                    && let Some((kind, path, name, replicas)) = top_owner(cluster, pod)
                {
                    out.push(Candidate {
                        title: format!("scale {kind} {}/{name} up by {blocked}", pdb.namespace),
                        command: format!(
                            "kubectl scale -n {} {}/{name} --replicas={}",
                            pdb.namespace,
                            kind.to_lowercase(),
                            replicas + blocked
                        ),
                        fix: Fix::Request(
                            "PATCH",
                            path,
                            "application/merge-patch+json",
                            json!({"spec": {"replicas": replicas + blocked}}),
                        ),
                    });
                }
                if let Some(patch) = relaxed(budget, *desired, blocked) {
                    out.push(Candidate {
                        title: format!("relax the budget {pdb}"),
                        command: format!(
                            "kubectl patch pdb -n {} {} --type=merge -p '{}'",
                            pdb.namespace, pdb.name, patch
                        ),
                        fix: Fix::Request(
                            "PATCH",
                            pdb_path(pdb),
                            "application/merge-patch+json",
                            patch,
                        ),
                    });
                }
                let unhealthy = cluster
                    .pdb_members(pdb)
                    .unwrap_or_default()
                    .iter()
                    .any(|p| !p.spec.node_name.is_empty() && !p.is_terminating() && !p.is_ready());
                if unhealthy
                    && budget.spec.unhealthy_pod_eviction_policy.as_deref() != Some("AlwaysAllow")
                {
                    let patch = json!({"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}});
                    out.push(Candidate {
                        title: format!(
                            "let unhealthy pods go: unhealthyPodEvictionPolicy AlwaysAllow on {pdb}"
                        ),
                        command: format!(
                            "kubectl patch pdb -n {} {} --type=merge -p '{}'",
                            pdb.namespace, pdb.name, patch
                        ),
                        fix: Fix::Request(
                            "PATCH",
                            pdb_path(pdb),
                            "application/merge-patch+json",
                            patch,
                        ),
                    });
                }
                if because
                    .iter()
                    .any(|b| matches!(b, Blocker::Unschedulable { .. }))
                {
                    for node in cluster.list::<crate::model::Node>() {
                        let name = &node.metadata.name;
                        if node.spec.unschedulable && !plan.nodes.contains(name) {
                            out.push(Candidate {
                                title: format!("uncordon node {name}"),
                                command: format!("kubectl uncordon {name}"),
                                fix: Fix::Request(
                                    "PATCH",
                                    format!("/api/v1/nodes/{name}"),
                                    "application/strategic-merge-patch+json",
                                    json!({"spec": {"unschedulable": null}}),
                                ),
                            });
                        }
                    }
                    if let Some(template) = plan.nodes.first().and_then(|n| {
                        cluster.get::<crate::model::Node>(&ObjectKey::new("", n.as_str()))
                    }) {
                        let body = spare_node(template);
                        let name = body
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        out.push(Candidate {
                            title: format!("add a node like {} ({name})", template.metadata.name),
                            command: format!(
                                "scale the node group up by one (a node like {})",
                                template.metadata.name
                            ),
                            fix: Fix::Request(
                                "POST",
                                "/api/v1/nodes".to_string(),
                                "application/json",
                                body,
                            ),
                        });
                    }
                }
            }
            Cause::TwoBudgets { pdbs } => {
                for pdb in pdbs {
                    if seen.contains(pdb) {
                        continue;
                    }
                    seen.push(pdb.clone());
                    out.push(Candidate {
                        title: format!("delete the overlapping budget {pdb}"),
                        command: format!("kubectl delete pdb -n {} {}", pdb.namespace, pdb.name),
                        fix: Fix::Request("DELETE", pdb_path(pdb), "application/json", json!({})),
                    });
                }
            }
            _ => {}
        }
    }
    // Filter refusals: the flag kubectl names.
    let refused: Vec<&str> = diagnoses
        .iter()
        .filter_map(|d| match &d.cause {
            Cause::Refused { message } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    let mut flags = plan.options.clone();
    let mut named = Vec::new();
    if refused.iter().any(|m| m.contains("--ignore-daemonsets")) {
        flags.ignore_daemonsets = true;
        named.push("--ignore-daemonsets");
    }
    if refused.iter().any(|m| m.contains("--delete-emptydir-data")) {
        flags.delete_emptydir_data = true;
        named.push("--delete-emptydir-data");
    }
    if refused
        .iter()
        .any(|m| m.contains("--force") || m.contains("not found"))
    {
        flags.force = true;
        named.push("--force");
    }
    if !named.is_empty() {
        out.push(Candidate {
            title: format!("drain with {}", named.join(" ")),
            command: format!("kubectl drain {} {}", plan.nodes.join(" "), named.join(" ")),
            fix: Fix::Flags(flags),
        });
    }
    let _ = (stuck_pods, cordoned_nodes);
    out
}

/// The workload to scale for `pod`: its Deployment (through its ReplicaSet), or its
/// ReplicaSet, StatefulSet or ReplicationController. (kind, path, name, replicas).
fn top_owner(cluster: &Cluster, pod: &Pod) -> Option<(&'static str, String, String, i64)> {
    let owner = pod.metadata.controller_ref()?;
    let ns = pod.metadata.namespace.as_str();
    let replicas = |r: Option<i32>| i64::from(r.unwrap_or(1));
    match owner.kind.as_str() {
        "ReplicaSet" => {
            let rs = cluster
                .get::<crate::model::ReplicaSet>(&ObjectKey::new(ns, owner.name.as_str()))?;
            if let Some(deployment) = rs
                .metadata
                .controller_ref()
                .filter(|r| r.kind == "Deployment")
            {
                let d = cluster.get::<crate::model::Deployment>(&ObjectKey::new(
                    ns,
                    deployment.name.as_str(),
                ))?;
                return Some((
                    "Deployment",
                    format!(
                        "/apis/apps/v1/namespaces/{ns}/deployments/{}",
                        deployment.name
                    ),
                    deployment.name.clone(),
                    replicas(d.spec.replicas),
                ));
            }
            Some((
                "ReplicaSet",
                format!("/apis/apps/v1/namespaces/{ns}/replicasets/{}", owner.name),
                owner.name.clone(),
                replicas(rs.spec.replicas),
            ))
        }
        "StatefulSet" => {
            let s = cluster
                .get::<crate::model::StatefulSet>(&ObjectKey::new(ns, owner.name.as_str()))?;
            Some((
                "StatefulSet",
                format!("/apis/apps/v1/namespaces/{ns}/statefulsets/{}", owner.name),
                owner.name.clone(),
                replicas(s.spec.replicas),
            ))
        }
        "ReplicationController" => {
            let r = cluster.get::<crate::model::ReplicationController>(&ObjectKey::new(
                ns,
                owner.name.as_str(),
            ))?;
            Some((
                "ReplicationController",
                format!(
                    "/api/v1/namespaces/{ns}/replicationcontrollers/{}",
                    owner.name
                ),
                owner.name.clone(),
                replicas(r.spec.replicas),
            ))
        }
        _ => None,
    }
}

/// A budget `by` pods looser: `minAvailable` lower (as a number), or `maxUnavailable`
/// higher.
fn relaxed(pdb: &PodDisruptionBudget, desired: i64, by: i64) -> Option<Value> {
    if pdb.spec.min_available.is_some() {
        let lower = match &pdb.spec.min_available {
            Some(IntOrString::Int(n)) => i64::from(*n) - by,
            _ => desired - by,
        };
        return Some(json!({"spec": {"minAvailable": lower.max(0)}}));
    }
    let now = match &pdb.spec.max_unavailable {
        Some(IntOrString::Int(n)) => i64::from(*n),
        _ => (pdb.status.expected_pods - desired).max(0),
    };
    Some(json!({"spec": {"maxUnavailable": now + by}}))
}

/// A Ready, schedulable node shaped like `template` (labels, allocatable, taints).
fn spare_node(template: &crate::model::Node) -> Value {
    let name = format!("{}-spare", template.metadata.name);
    let mut labels = serde_json::to_value(&template.metadata.labels).unwrap_or(json!({}));
    if labels.get("kubernetes.io/hostname").is_some() {
        labels["kubernetes.io/hostname"] = json!(name);
    }
    let mut spec = serde_json::to_value(&template.spec).unwrap_or(json!({}));
    if let Some(map) = spec.as_object_mut() {
        map.remove("unschedulable");
        map.remove("providerID");
        map.remove("podCIDR");
        map.remove("podCIDRs");
        if let Some(taints) = map.get_mut("taints").and_then(Value::as_array_mut) {
            taints.retain(|t| {
                let key = t.get("key").and_then(Value::as_str).unwrap_or("");
                !key.starts_with("node.kubernetes.io/")
            });
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {
            "allocatable": template.status.get("allocatable").cloned().unwrap_or(json!({})),
            "capacity": template.status.get("capacity").cloned().unwrap_or(json!({})),
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]
        }
    })
}

fn pod_path(pod: &ObjectKey) -> String {
    super::client::pod_path(pod)
}

fn pdb_path(pdb: &ObjectKey) -> String {
    format!(
        "/apis/policy/v1/namespaces/{}/poddisruptionbudgets/{}",
        pdb.namespace, pdb.name
    )
}

/// Verifies every candidate remedy, each on its own copy of the stuck cluster. The copies
/// are independent, so they run on as many threads as the machine has; the report keeps
/// the candidates' order.
fn verify(
    stuck: &Cluster,
    plan: &Plan,
    nodes: &[String],
    diagnoses: &[Diagnosis],
    run: &DrainRun,
) -> Vec<RemedyCheck> {
    let candidates = candidates(stuck, plan, diagnoses, run);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(candidates.len())
        .max(1);
    let mut checks: Vec<(usize, RemedyCheck)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(candidate) = candidates.get(i) else {
                            return done;
                        };
                        done.push((i, check(stuck, plan, nodes, diagnoses, candidate)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    checks.sort_by_key(|(i, _)| *i);
    checks.into_iter().map(|(_, c)| c).collect()
}

/// Applies one remedy to a copy of the stuck cluster and drains again.
fn check(
    stuck: &Cluster,
    plan: &Plan,
    nodes: &[String],
    diagnoses: &[Diagnosis],
    candidate: &Candidate,
) -> RemedyCheck {
    let title = candidate.title.clone();
    let command = candidate.command.clone();
    let mut options = plan.options.clone();
    if let Fix::Advice = candidate.fix {
        return RemedyCheck {
            title,
            command,
            works: false,
            drained_after: None,
            outcome: format!(
                "changes nothing by itself: the node stays cordoned with {} pod(s) on it; it buys time for the remedies below",
                diagnoses.len()
            ),
        };
    }
    let mut copy = stuck.fork();
    let applied = match &candidate.fix {
        Fix::Advice => Ok(()),
        Fix::Flags(flags) => {
            options = flags.clone();
            Ok(())
        }
        Fix::Request(method, path, content_type, body) => apply(
            &mut copy,
            &[(method, path.clone(), content_type, body.clone())],
        ),
        Fix::Requests(requests) => apply(
            &mut copy,
            &requests
                .iter()
                .map(|(m, p, c, b)| (m, p.clone(), c, b.clone()))
                .collect::<Vec<_>>(),
        ),
    };
    if let Err(message) = applied {
        return RemedyCheck {
            title,
            command,
            works: false,
            drained_after: None,
            outcome: format!("cannot be applied: {message}"),
        };
    }
    let sub_plan = Plan {
        nodes: nodes.to_vec(),
        options,
        pool: plan.pool,
        verify_remedies: false,
        settle: Duration::ZERO,
    };
    let start = copy.now();
    let (runs, stuck_node) = run_plan(&mut copy, &sub_plan);
    let end = runs.last().map_or(start, |(_, r)| r.finished);
    let took = end.saturating_duration_since(start);
    let works = stuck_node.is_none();
    let outcome = if works {
        format!(
            "works: the drain run again finishes in {}",
            go_duration(took)
        )
    } else {
        let left: Vec<String> = runs
            .last()
            .map(|(_, r)| {
                r.nodes
                    .iter()
                    .flat_map(|n| {
                        n.pods
                            .iter()
                            .filter(|p| matches!(p.fate, PodFate::Failed(_) | PodFate::Pending))
                            .map(|p| p.pod.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        if left.is_empty() {
            "does not help: the drain run again still does not finish".to_string()
        } else {
            format!(
                "does not help: the drain run again still leaves {}",
                left.join(", ")
            )
        }
    };
    RemedyCheck {
        title,
        command,
        works,
        drained_after: works.then_some(took),
        outcome,
    }
}

fn apply(
    cluster: &mut Cluster,
    requests: &[(&&'static str, String, &&'static str, Value)],
) -> Result<(), String> {
    for (method, path, content_type, body) in requests {
        let now = cluster.now();
        let answer = super::client::call(
            cluster,
            now,
            method,
            path,
            Some((content_type, body.clone())),
        );
        if !answer.ok() {
            return Err(format!("{method} {path}: {}", answer.message()));
        }
    }
    Ok(())
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
