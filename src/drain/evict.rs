//! The evictions and the wait (D6–D12; V9, V17): every pod's eviction concurrent on the
//! virtual clock, 429s retried every 5 s, deletion polled every second, the global timeout;
//! and the delete path.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use super::client::{call, pod_path};
use super::filters::deletion_older_than;
use super::{
    CLIENT_RETRIES, DELETE_POLL, DrainOptions, DryRun, EVICTION_RETRY, Listed, PodFate, PodOutcome,
    Printer, QUIET_BEFORE_STUCK,
};
use crate::cluster::Cluster;
use crate::model::go_quote;
use crate::time::{SimTime, go_duration};

pub(super) fn aggregate(errors: &[String]) -> String {
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
pub(super) fn aggregate_error(errors: &[String]) -> (String, Vec<String>) {
    let mut parts: Vec<String> = Vec::new();
    for e in errors {
        if !parts.contains(e) {
            parts.push(e.clone());
        }
    }
    (aggregate(errors), parts)
}

/// `CheckEvictionSupport`: `pods/eviction` in the core group's discovery, with its group and
/// version.
pub(super) fn eviction_support(cluster: &mut Cluster) -> Option<String> {
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

pub(super) fn delete_options(options: &DrainOptions) -> Value {
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
pub(super) enum Step {
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

pub(super) struct Worker {
    pod: Listed,
    step: Step,
    client_retries: u32,
    reread: bool,
    fate: Option<(PodFate, SimTime)>,
}

pub(super) type Failure = Option<(String, Vec<String>)>;

/// What [`Follower::next_round`] found.
enum Round {
    /// Steps are due at this time (the cluster is there).
    Due(SimTime),
    /// Every worker has settled.
    Settled,
    /// An endless drain, no longer followed (`true`: nothing can change any more).
    Endless(bool),
}

/// Follows the cluster until the next step, and decides whether an endless drain is stuck:
/// `Some(stuck)` to stop following.
pub(super) struct Follower {
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

    /// Moves the cluster to the workers' next due step: the time to run the steps due
    /// then, or that every worker has settled, or that an endless drain stops being followed.
    fn next_round(&mut self, cluster: &mut Cluster, workers: &mut [Worker]) -> Round {
        skip_quiet_polls(cluster, workers, self);
        let Some(next) = workers.iter().filter_map(|w| w.step.at()).min() else {
            return Round::Settled;
        };
        if let Some(stuck) = self.endless(cluster, next) {
            return Round::Endless(stuck);
        }
        cluster.advance_to(next);
        self.saw(cluster);
        Round::Due(next)
    }

    fn expired(&self, at: SimTime) -> bool {
        self.deadline.is_some_and(|d| at >= d)
    }
}

/// Polls that only find the pod still there print nothing: while every worker is waiting,
/// jump to the last poll before the cluster's next deadline.
pub(super) fn skip_quiet_polls(cluster: &Cluster, workers: &mut [Worker], follower: &Follower) {
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
pub(super) fn evict_pods(
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
        let at = match follower.next_round(cluster, &mut workers) {
            Round::Due(at) => at,
            Round::Settled => break,
            Round::Endless(stuck) => {
                endless = Some(stuck);
                break;
            }
        };
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

pub(super) enum Polled {
    Gone,
    Skipped,
    There,
    Error(String),
}

/// One check of `waitForDelete`: gone (404, or a new pod under the same name), skipped, or
/// still there.
pub(super) fn poll(
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
pub(super) fn delete_pods(
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
        let next = match follower.next_round(cluster, &mut workers) {
            Round::Due(at) => at,
            Round::Settled => break,
            Round::Endless(stuck) => {
                endless = Some(stuck);
                break;
            }
        };
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
