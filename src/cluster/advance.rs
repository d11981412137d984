//! Time: the next deadline and why, `advance_to` firing every timer due in `(at, seq)` order,
//! and `settle`, which runs the controllers' queued reactions at the current instant.

use std::time::Duration;

use crate::cluster::{Cluster, Deadline, Timer};
use crate::time::SimTime;

impl Cluster {
    /// The next deadline, if any, and why.
    pub fn next_deadline(&self) -> Option<Deadline> {
        self.timers.next().map(|(at, timer)| Deadline {
            at,
            timer: timer.clone(),
        })
    }

    /// Fires every timer due at or before `now`, in order, letting controllers react after
    /// each; then sets the clock to `now`. A no-op when nothing is due.
    ///
    /// # Panics
    /// If `now` is before the cluster's clock.
    pub fn advance_to(&mut self, now: SimTime) {
        assert!(
            now >= self.now,
            "time never goes backwards: asked for {now} at {}",
            self.now
        );
        while let Some((at, timer)) = self.timers.pop_due(now) {
            self.now = at;
            self.fire(timer);
            self.settle();
        }
        self.now = now;
    }

    /// Advances the clock by `duration` (see [`Cluster::advance_to`]).
    pub fn advance_by(&mut self, duration: Duration) {
        self.advance_to(self.now + duration);
    }

    /// Fires timers, deadline after deadline, until none is left or the next is more than
    /// `limit` after the current time. Returns whether the cluster went idle: `true` with
    /// the clock at the last deadline fired, `false` with the clock `limit` later.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use evictsim::cluster::Cluster;
    /// use evictsim::model::{Eviction, Pod};
    /// use evictsim::time::SimTime;
    ///
    /// let mut cluster = Cluster::default();
    /// cluster.load(SimTime::ZERO, Pod::running("default", "web-1", "node-1")).unwrap();
    /// cluster.evict_pod(SimTime::ZERO, Eviction::new("default", "web-1")).unwrap();
    /// assert!(cluster.run_until_idle(Duration::from_secs(60)));
    /// assert!(cluster.pods_on_node("node-1").is_empty());
    /// ```
    pub fn run_until_idle(&mut self, limit: Duration) -> bool {
        let end = self.now + limit;
        while let Some(deadline) = self.timers.next().map(|(at, _)| at) {
            if deadline > end {
                self.advance_to(end);
                return false;
            }
            self.advance_to(deadline);
        }
        true
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::PdbSync { pdb } => {
                if self.config.controllers.disruption {
                    self.sync_pdb(&pdb);
                }
            }
            Timer::StalePodDisruptionCheck { pod, uid } => {
                if self.config.controllers.disruption {
                    self.sync_stale_pod_disruption(&pod, &uid);
                }
            }
            Timer::EndpointsSync { service } => {
                if self.config.controllers.endpoints {
                    self.sync_endpoints(&service);
                }
            }
            Timer::Kubelet { pod, uid } => self.kubelet_sync_for(&pod, Some(&uid)),
        }
    }

    /// Lets the controllers react to what the last step changed, until nothing more is due
    /// at this instant.
    pub(crate) fn settle(&mut self) {
        if self.deferring {
            return;
        }
        // Each round handles what the previous one queued; the rounds are bounded because
        // every controller reaches a fixed point (its next write is a no-op). The bound only
        // catches a reaction loop (a bug): it allows every stored object many reactions, and
        // it grows with the store, since controllers create objects as they settle.
        let mut rounds: usize = 0;
        loop {
            rounds += 1;
            // Counting the store only past the fixed part keeps an idle settle (every
            // refused eviction ends with one) to a few loads.
            if rounds > 100_000 {
                assert!(
                    rounds <= 100_000 + 64 * self.object_count(),
                    "controllers did not settle at {}: a reaction loop",
                    self.now
                );
            }
            if let Some(key) = self.kubelet_queue.pop() {
                let delay = self.config.latencies.kubelet_observe;
                if !self.config.controllers.kubelet {
                    self.kubelet_queue.clear();
                } else if delay.is_zero() {
                    self.kubelet_sync(&key);
                } else if let Some(pod) = self.pods.at(&key) {
                    let uid = pod.metadata.uid.clone();
                    self.timers
                        .schedule(self.now + delay, Timer::Kubelet { pod: key, uid });
                }
                continue;
            }
            if let Some(key) = self.endpoints_queue.pop() {
                let delay = self.config.latencies.endpoints_sync;
                if !self.config.controllers.endpoints {
                    self.endpoints_queue.clear();
                } else if delay.is_zero() {
                    self.sync_endpoints(&key);
                } else {
                    self.timers
                        .schedule(self.now + delay, Timer::EndpointsSync { service: key });
                }
                continue;
            }
            if let Some(workload) = self.workload_queue.pop() {
                if self.config.controllers.workloads {
                    self.sync_workload(&workload);
                }
                continue;
            }
            if let Some(key) = self.schedule_queue.pop() {
                if self.config.controllers.workloads {
                    self.schedule(&key);
                }
                continue;
            }
            if let Some(uid) = self.garbage_queue.pop() {
                self.collect_garbage(&uid);
                continue;
            }
            if let Some(key) = self.disruption_queue.pop() {
                let delay = self.config.latencies.disruption_sync;
                if !self.config.controllers.disruption {
                    self.disruption_queue.clear();
                } else if delay.is_zero() {
                    self.sync_pdb(&key);
                } else {
                    self.timers
                        .schedule(self.now + delay, Timer::PdbSync { pdb: key });
                }
                continue;
            }
            return;
        }
    }
}
