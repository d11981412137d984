//! Each node's kubelet (K1–K5): it starts the pods bound to its node, and carries out the
//! graceful termination of the ones the API server marked for deletion — preStop, SIGTERM,
//! SIGKILL at the deadline, the terminal status, and its own grace-0 delete. The containers'
//! behaviour comes from the pod's annotations ([`Behaviour`]).
//!
//! A kubelet acts on a pod only while its node is alive: a Node object whose `Ready` condition
//! is not `True` has a dead kubelet, and nothing on it progresses until the node recovers (a
//! pod bound to a node that has no Node object is served by an implicit, live kubelet).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Cluster, Deleter, EventKind, Origin, Timer};
use crate::model::{
    Behaviour, DeleteOptions, Node, ObjectKey, Pod, PodCondition, Preconditions, RawJson, Shutdown,
    SmolStr, Uid, Unmodeled, phase, scanned_field,
};
use crate::time::SimTime;
use crate::time::Time;

/// Never less than this between SIGTERM and SIGKILL (`minimumGracePeriodInSeconds`, K3).
pub const MINIMUM_KILL_GRACE_SECONDS: u64 = 2;

/// What a kubelet is doing with one pod. A pod whose containers run, the state almost every
/// pod is in, has no entry: the table holds only pods with something pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KubeletPod {
    /// Pulling images and starting containers until `running_at`.
    Starting {
        /// The pod instance.
        uid: Uid,
        /// When the containers are up.
        running_at: SimTime,
    },
    /// Graceful termination in progress.
    Terminating {
        /// The pod instance.
        uid: Uid,
        /// The grace period being honoured.
        grace_seconds: i64,
        /// When SIGTERM is (was) sent: after the preStop hook.
        sigterm_at: SimTime,
        /// Whether SIGTERM has been reported.
        sigterm_sent: bool,
        /// When the containers exit by themselves, if they do.
        exit_at: Option<SimTime>,
        /// When SIGKILL comes.
        kill_at: SimTime,
    },
    /// Terminal status written; the kubelet's delete is done (finalizers may hold the object).
    Terminated {
        /// The pod instance.
        uid: Uid,
    },
}

impl KubeletPod {
    fn uid(&self) -> &Uid {
        match self {
            KubeletPod::Starting { uid, .. }
            | KubeletPod::Terminating { uid, .. }
            | KubeletPod::Terminated { uid } => uid,
        }
    }
}

/// What the kubelet reports of a pod's containers: all running (`ready` or not) since a
/// time, or all terminated with an exit code (`None`: never ran) at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContainersAre {
    Running { ready: bool, since: Time },
    Terminated { exit_code: Option<i32>, at: Time },
}

/// The `containerStatuses` the kubelets last reported, one of each kind, kept for the next
/// pod that gets the very same report: the pods of one ReplicaSet share their spec (so
/// their containers' names), and start and stop by the dozen in the same second. Each is
/// kept with the spec it was made for, so that spec's address cannot be reused meanwhile.
#[derive(Debug, Clone, Default)]
pub(crate) struct LastContainerStatuses {
    running: Option<(Unmodeled, ContainersAre, RawJson)>,
    terminated: Option<(Unmodeled, ContainersAre, RawJson)>,
}

impl LastContainerStatuses {
    /// The `containerStatuses` value for `pod`'s containers being as `are` says.
    fn of(&mut self, pod: &Pod, are: ContainersAre) -> RawJson {
        let slot = match are {
            ContainersAre::Running { .. } => &mut self.running,
            ContainersAre::Terminated { .. } => &mut self.terminated,
        };
        let spec = &pod.spec.unmodeled;
        if let Some((for_spec, last, value)) = slot
            && for_spec.shares(spec)
            && *last == are
        {
            return value.clone();
        }
        let value = RawJson::from(Value::Array(
            container_names(pod)
                .into_iter()
                .map(|name| container_status(name, are))
                .collect(),
        ));
        *slot = Some((spec.clone(), are, value.clone()));
        value
    }
}

/// One container's status, as the kubelet reports it.
fn container_status(name: String, are: ContainersAre) -> Value {
    match are {
        ContainersAre::Running { ready, since } => {
            json!({"name": name, "ready": ready, "restartCount": 0, "started": true, "state": {"running": {"startedAt": since}}})
        }
        ContainersAre::Terminated { exit_code, at } => {
            let terminated = match exit_code {
                Some(code) => {
                    json!({"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" }, "finishedAt": at})
                }
                None => {
                    json!({"exitCode": 137, "reason": "ContainerStatusUnknown", "message": "The container could not be located when the pod was terminated"})
                }
            };
            json!({"name": name, "ready": false, "restartCount": 0, "started": false, "state": {"terminated": terminated}})
        }
    }
}

fn container_names(pod: &Pod) -> Vec<String> {
    let names: Vec<String> = pod
        .spec
        .unmodeled
        .value("containers")
        .as_ref()
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        vec!["main".to_string()]
    } else {
        names
    }
}

/// The `n`th address the simulated pod network hands out: 10.244.0.1, 10.244.0.2, … over
/// eight /16s, as a cluster's pod CIDR would.
fn pod_ip(n: u32) -> Ipv4Addr {
    let byte = |b: u32| (b & 0xff) as u8;
    Ipv4Addr::new(10, byte(244 + (n >> 16) % 8), byte(n >> 8), byte(n))
}

const fn condition(type_: &'static str, status: bool) -> PodCondition {
    PodCondition {
        type_: SmolStr::new_static(type_),
        status: SmolStr::new_static(if status { "True" } else { "False" }),
        observed_generation: None,
        last_probe_time: None,
        last_transition_time: None,
        reason: SmolStr::new_static(""),
        message: SmolStr::new_static(""),
    }
}

/// The conditions a start sets, by whether the containers are ready. Statics: the shared
/// parts recognise a change they worked out by the address of the conditions it set.
static STARTED: [[PodCondition; 4]; 2] = [
    [
        condition("PodScheduled", true),
        condition("Initialized", true),
        condition("ContainersReady", false),
        condition("Ready", false),
    ],
    [
        condition("PodScheduled", true),
        condition("Initialized", true),
        condition("ContainersReady", true),
        condition("Ready", true),
    ],
];

/// The conditions a stop sets once the containers have exited.
static STOPPED: [PodCondition; 2] = [
    condition("ContainersReady", false),
    condition("Ready", false),
];

impl Cluster {
    /// Whether the kubelet of `node` is alive (see the module docs).
    pub fn node_alive(&self, node: &str) -> bool {
        let alive = !self.unready_nodes.contains(node);
        debug_assert_eq!(
            alive,
            self.nodes.get_by_name("", node).is_none_or(node_ready),
            "the unready nodes follow the stored nodes' Ready conditions"
        );
        alive
    }

    /// Lets the kubelet of `pod`'s node act on it now: what is due happens, and the next
    /// deadline is scheduled.
    pub(crate) fn kubelet_sync(&mut self, key: &ObjectKey) {
        self.kubelet_sync_for(key, None);
    }

    /// [`Cluster::kubelet_sync`], or with `timer_uid` a kubelet timer's: the sync of the pod
    /// the timer was set for, and of no other (a pod gone, or a new one under the same
    /// name, is left alone). One look-up of the pod serves both the check and the sync: a
    /// roll fires two such timers per evicted pod (the end of its grace period, its
    /// replacement's start), each on a pod long out of the caches.
    pub(crate) fn kubelet_sync_for(&mut self, key: &ObjectKey, timer_uid: Option<&Uid>) {
        if !self.config.controllers.kubelet {
            return;
        }
        let Some(stored) = self.pods.shared_at(key) else {
            if timer_uid.is_none() {
                self.kubelet_pods.remove(key);
            }
            return;
        };
        if timer_uid.is_some_and(|uid| stored.metadata.uid != *uid) {
            return;
        }
        if stored.spec.node_name.is_empty() {
            return;
        }
        let tracked = self.kubelet_pods.get(key);
        // Most syncs find a running (or finished) pod that the kubelet tracks nothing of:
        // nothing to do, whatever the node's state. Asked of the borrowed pod and entry:
        // such a sync takes no handle (each an atomic count on a cold line) and copies
        // nothing.
        if tracked.is_none()
            && stored.metadata.deletion_timestamp.is_none()
            && (stored.status.phase == phase::RUNNING || stored.is_terminal())
        {
            return;
        }
        // A second handle on the stored pod, not a copy: the sync may still change nothing.
        let pod = Arc::clone(stored);
        let tracked = tracked.cloned();
        let node = &pod.spec.node_name;
        if !self.node_alive(node) {
            return;
        }
        let state = match tracked {
            Some(state) if *state.uid() != pod.metadata.uid => {
                self.kubelet_pods.remove(key); // a new pod under the old name
                None
            }
            state => state,
        };
        let now = self.now;
        let uid = pod.metadata.uid.clone();
        let behaviour =
            Behaviour::of_with_defaults(&pod.metadata.annotations, self.config.default_behaviour);
        if pod.metadata.deletion_timestamp.is_some() {
            self.kubelet_terminate(key, pod, state, behaviour);
            return;
        }
        match state {
            None if pod.is_terminal() => {}
            None if pod.status.phase == phase::RUNNING => {} // running: nothing to track
            None => {
                let running_at = now + behaviour.startup;
                self.kubelet_pods.insert(
                    key.clone(),
                    KubeletPod::Starting {
                        uid: uid.clone(),
                        running_at,
                    },
                );
                self.timers.schedule(
                    running_at,
                    Timer::Kubelet {
                        pod: key.clone(),
                        uid,
                    },
                );
            }
            Some(KubeletPod::Starting { running_at, .. }) if running_at <= now => {
                // Started in place: the stored pod is held here no longer.
                drop(pod);
                self.kubelet_start(key, behaviour);
            }
            Some(KubeletPod::Starting { running_at, .. }) => {
                self.timers.schedule(
                    running_at,
                    Timer::Kubelet {
                        pod: key.clone(),
                        uid,
                    },
                );
            }
            Some(_) => {}
        }
    }

    fn kubelet_start(&mut self, key: &ObjectKey, behaviour: Behaviour) {
        let Some(stored) = self.pods.at(key) else {
            return;
        };
        let ready = !behaviour.never_ready;
        let now_wall = self.wall_now();
        // What the start writes that the kubelet works out from its own state: the
        // containers' statuses (by the spec's containers) and, for a pod without one, an IP.
        let statuses = self.last_container_statuses.of(
            stored,
            ContainersAre::Running {
                ready,
                since: now_wall,
            },
        );
        let ip = (!stored.status.has_pod_ip_field()).then(|| {
            self.next_pod_ip += 1;
            pod_ip(self.next_pod_ip)
        });
        // The conditions the start sets, as the stored list equal to them when there is one.
        let conditions = self.shared_parts.conditions_set(
            &stored.status.conditions,
            &STARTED[usize::from(ready)],
            now_wall,
        );
        let started = self.write_pod_in_place(key, Origin::Kubelet, |pod| {
            let mut changed = pod.status.phase != phase::RUNNING;
            pod.status.phase = SmolStr::new_static(phase::RUNNING);
            if let Some(conditions) = conditions {
                pod.status.conditions = conditions;
                changed = true;
            }
            let stamp_start = !pod.status.started_at(now_wall);
            if ip.is_some() || stamp_start {
                pod.status.record_start(ip, stamp_start.then_some(now_wall));
                changed = true;
            }
            if pod.status.container_statuses.as_ref() != Some(&statuses) {
                pod.status.container_statuses = Some(statuses);
                changed = true;
            }
            changed
        });
        let Some(started) = started else {
            return;
        };
        self.kubelet_pods.remove(key); // started: nothing left to track
        self.log(EventKind::PodStarted {
            pod: key,
            node: started.spec.node_name.clone(),
            ready,
        });
    }

    /// `pod` is the stored pod's handle, let go of before the pod is written (so that the
    /// write changes it in place).
    fn kubelet_terminate(
        &mut self,
        key: &ObjectKey,
        pod: Arc<Pod>,
        state: Option<KubeletPod>,
        behaviour: Behaviour,
    ) {
        let now = self.now;
        let node = pod.spec.node_name.clone();
        let uid = pod.metadata.uid.clone();
        // K1: the effective grace period, never below 1 s.
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or(pod.spec.termination_grace_period_seconds)
            .unwrap_or(30)
            .max(1);
        let never_ran = matches!(state, None | Some(KubeletPod::Starting { .. }))
            && !matches!(pod.status.phase.as_str(), phase::RUNNING);
        let mut plan = match state {
            Some(KubeletPod::Terminated { .. }) => return,
            Some(mut terminating @ KubeletPod::Terminating { .. }) => {
                if let KubeletPod::Terminating {
                    grace_seconds,
                    sigterm_at,
                    kill_at,
                    ..
                } = &mut terminating
                    && grace < *grace_seconds
                {
                    // K1: a shorter grace period cancels the in-flight kill and restarts it.
                    let restart =
                        Duration::from_secs(grace.max(MINIMUM_KILL_GRACE_SECONDS as i64) as u64);
                    *grace_seconds = grace;
                    *kill_at = (*kill_at).min(now + restart);
                    *sigterm_at = (*sigterm_at).min(*kill_at);
                    self.log(EventKind::KillRearmed {
                        pod: key,
                        node: node.clone(),
                        grace_period_seconds: grace,
                    });
                }
                terminating
            }
            _ if pod.is_terminal() || never_ran => {
                // Nothing is running: report and delete at once.
                drop(pod);
                self.kubelet_finish(key, None);
                return;
            }
            _ => {
                // K3: preStop bounded by the grace period, then SIGTERM with at least 2 s.
                let grace_duration = Duration::from_secs(grace as u64);
                let prestop = behaviour
                    .prestop
                    .map(|p| p.min(grace_duration))
                    .unwrap_or_default();
                let sigterm_at = now + prestop;
                let remaining = grace_duration
                    .saturating_sub(prestop)
                    .max(Duration::from_secs(MINIMUM_KILL_GRACE_SECONDS));
                let kill_at = sigterm_at + remaining;
                let exit_at = match behaviour.shutdown {
                    Shutdown::After(d) => Some(sigterm_at + d),
                    Shutdown::Never => None,
                };
                self.log(EventKind::KubeletNoticedDeletion {
                    pod: key,
                    node: node.clone(),
                    grace_period_seconds: grace,
                    prestop_ms: behaviour.prestop.map(|_| prestop.as_millis() as u64),
                });
                KubeletPod::Terminating {
                    uid: uid.clone(),
                    grace_seconds: grace,
                    sigterm_at,
                    sigterm_sent: prestop.is_zero(),
                    exit_at,
                    kill_at,
                }
            }
        };
        let KubeletPod::Terminating {
            sigterm_at,
            sigterm_sent,
            exit_at,
            kill_at,
            ..
        } = &mut plan
        else {
            return;
        };
        if !*sigterm_sent && *sigterm_at <= now {
            *sigterm_sent = true;
            self.log(EventKind::PreStopFinished {
                pod: key,
                node: node.clone(),
            });
        }
        let stop_at = exit_at.map_or(*kill_at, |e| e.min(*kill_at));
        if stop_at <= now {
            let killed = exit_at.is_none_or(|e| e > *kill_at);
            let exit_code = if killed { 137 } else { behaviour.exit_code };
            if killed {
                self.log(EventKind::ContainersKilled {
                    pod: key,
                    node: node.clone(),
                });
            } else {
                self.log(EventKind::ContainersExited {
                    pod: key,
                    node: node.clone(),
                    exit_code,
                });
            }
            drop(pod);
            self.kubelet_finish(key, Some(exit_code));
            return;
        }
        let next = if *sigterm_sent {
            stop_at
        } else {
            (*sigterm_at).min(stop_at)
        };
        self.kubelet_pods.insert(key.clone(), plan);
        self.timers.schedule(
            next,
            Timer::Kubelet {
                pod: key.clone(),
                uid,
            },
        );
    }

    /// K4 and K5: the terminal status, then the kubelet's own delete with grace 0 and a UID
    /// precondition. `exit_code` is `None` when no container ever ran.
    fn kubelet_finish(&mut self, key: &ObjectKey, exit_code: Option<i32>) {
        let now_wall = self.wall_now();
        let Some(stored) = self.pods.at(key) else {
            return;
        };
        let node = stored.spec.node_name.clone();
        let uid = stored.metadata.uid.clone();
        if !stored.is_terminal() {
            let succeeded = exit_code == Some(0);
            let terminal_phase = if succeeded {
                phase::SUCCEEDED
            } else {
                phase::FAILED
            };
            let statuses = self.last_container_statuses.of(
                stored,
                ContainersAre::Terminated {
                    exit_code,
                    at: now_wall,
                },
            );
            let conditions =
                self.shared_parts
                    .conditions_set(&stored.status.conditions, &STOPPED, now_wall);
            self.write_pod_in_place(key, Origin::Kubelet, |pod| {
                pod.status.phase = SmolStr::new_static(terminal_phase);
                pod.status.container_statuses = Some(statuses);
                if let Some(conditions) = conditions {
                    pod.status.conditions = conditions;
                }
                true // a phase that was not terminal now is
            });
            self.log(EventKind::PodTerminated {
                pod: key,
                node: node.clone(),
                phase: SmolStr::new_static(terminal_phase),
            });
        }
        let options = DeleteOptions {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..DeleteOptions::default()
        };
        // Nothing in the delete reads the kubelet's table (its reactions are only queued),
        // so the pod's entry is settled after it: gone with the pod (nearly always), or
        // `Terminated` while finalizers hold the object.
        match self.delete_inner::<Pod>(key, &options, Deleter::Kubelet) {
            Ok(result) if result.removed => {
                self.kubelet_pods.remove(key);
            }
            Ok(_) | Err(_) => {
                self.kubelet_pods
                    .insert(key.clone(), KubeletPod::Terminated { uid });
            }
        }
    }
}

/// Whether a Node's `Ready` condition is `True`.
pub fn node_ready(node: &Node) -> bool {
    let field = scanned_field;
    node.status
        .value("conditions")
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().filter_map(Value::as_object).any(|c| {
                field(c, "type").and_then(Value::as_str) == Some("Ready")
                    && field(c, "status").and_then(Value::as_str) == Some("True")
            })
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::cluster::{Cluster, ClusterConfig, Deleter, Latencies};
    use crate::model::{DeleteOptions, ObjectKey, Pod, SmolStr};
    use crate::time::SimTime;

    /// The keys queued for their kubelet, oldest first; the queue is emptied.
    fn queued_for_the_kubelet(cluster: &mut Cluster) -> Vec<ObjectKey> {
        std::iter::from_fn(|| cluster.kubelet_queue.pop()).collect()
    }

    fn unbound(name: &str) -> Pod {
        let mut pod = Pod::running("default", name, "");
        pod.spec.node_name = SmolStr::default();
        pod
    }

    #[test]
    fn a_kubelet_is_woken_by_bound_pods_and_not_by_its_own_removal() {
        let key = |name: &str| ObjectKey::new("default", name);
        let mut cluster = Cluster::default();
        // Reactions deferred, the queues keep what the writes put in them.
        cluster.defer_reactions();
        cluster.load(SimTime::ZERO, unbound("pending")).unwrap();
        cluster
            .load(SimTime::ZERO, Pod::running("default", "web", "node-1"))
            .unwrap();
        assert_eq!(queued_for_the_kubelet(&mut cluster), [key("web")]);

        let grace_zero = DeleteOptions {
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        };
        // K5: the kubelet's own grace-0 delete removes the pod, and wakes no kubelet.
        let removed = cluster
            .delete_inner::<Pod>(&key("web"), &grace_zero, Deleter::Kubelet)
            .unwrap();
        assert!(removed.removed);
        assert_eq!(queued_for_the_kubelet(&mut cluster), []);

        cluster
            .load(SimTime::ZERO, Pod::running("default", "web", "node-1"))
            .unwrap();
        queued_for_the_kubelet(&mut cluster);
        cluster
            .delete_inner::<Pod>(&key("web"), &grace_zero, Deleter::Client)
            .unwrap();
        assert_eq!(queued_for_the_kubelet(&mut cluster), [key("web")]);

        // A finalizer holds the pod: the kubelet's stamp is a write like any other.
        let mut held = Pod::running("default", "held", "node-1");
        held.metadata.finalizers = vec!["example.com/hold".into()];
        cluster.load(SimTime::ZERO, held).unwrap();
        queued_for_the_kubelet(&mut cluster);
        let stamped = cluster
            .delete_inner::<Pod>(&key("held"), &grace_zero, Deleter::Kubelet)
            .unwrap();
        assert!(!stamped.removed);
        assert_eq!(queued_for_the_kubelet(&mut cluster), [key("held")]);

        // With an observe latency the kubelet's timer is set for an unbound pod too.
        let mut cluster = Cluster::new(ClusterConfig {
            latencies: Latencies {
                kubelet_observe: Duration::from_secs(1),
                ..Latencies::default()
            },
            ..ClusterConfig::default()
        });
        cluster.defer_reactions();
        cluster.load(SimTime::ZERO, unbound("pending")).unwrap();
        assert_eq!(queued_for_the_kubelet(&mut cluster), [key("pending")]);
    }

    #[test]
    fn pod_ips_count_through_eight_networks() {
        assert_eq!(super::pod_ip(1).to_string(), "10.244.0.1");
        assert_eq!(super::pod_ip(256 + 7).to_string(), "10.244.1.7");
        assert_eq!(super::pod_ip(3 << 16).to_string(), "10.247.0.0");
        assert_eq!(super::pod_ip((8 << 16) + 5).to_string(), "10.244.0.5");
    }
}
