//! The timer queue: deadlines the state machine has set itself, fired by
//! [`Cluster::advance_to`](super::Cluster::advance_to) in `(at, seq)` order.

use std::collections::BTreeMap;

use super::FastMap;

use serde::Serialize;

use crate::model::{ObjectKey, Uid};
use crate::time::SimTime;

/// Something the cluster will do at a deadline. Each names its object by key and UID where
/// a replaced object must not be acted on; a timer whose object is gone does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "timer")]
pub enum Timer {
    /// The disruption controller syncs this PDB: after its configured sync delay, or at the
    /// earliest `disruptedPods` expiry (the recheck of C13).
    PdbSync {
        /// The PDB.
        pdb: ObjectKey,
    },
    /// The pod's kubelet acts on it: a container start completes, preStop ends and SIGTERM
    /// is sent, containers exit, or the grace period expires and SIGKILL comes (K1–K5). The
    /// kubelet's own state says which; a stale timer finds nothing due.
    Kubelet {
        /// The pod.
        pod: ObjectKey,
        /// The pod's UID when the timer was set.
        uid: Uid,
    },
    /// The endpoints controllers sync this Service's Endpoints and EndpointSlice (after
    /// their configured delay).
    EndpointsSync {
        /// The Service.
        service: ObjectKey,
    },
    /// The disruption controller checks whether this pod's `DisruptionTarget=True`
    /// condition has gone stale and resets it (C20).
    StalePodDisruptionCheck {
        /// The pod.
        pod: ObjectKey,
        /// The pod's UID when the check was scheduled.
        uid: Uid,
    },
}

impl Timer {
    /// A short label saying why the deadline exists.
    pub fn label(&self) -> String {
        match self {
            Timer::PdbSync { pdb } => format!("disruption controller sync of PDB {pdb}"),
            Timer::StalePodDisruptionCheck { pod, .. } => {
                format!("stale DisruptionTarget check of pod {pod}")
            }
            Timer::Kubelet { pod, .. } => format!("kubelet work on pod {pod}"),
            Timer::EndpointsSync { service } => format!("endpoints sync of service {service}"),
        }
    }
}

/// Pending timers, ordered by deadline then by scheduling order.
#[derive(Debug, Clone, Default)]
pub struct TimerQueue {
    pending: BTreeMap<(SimTime, u64), Timer>,
    /// Where each pending timer sits, for de-duplication (looked up, never iterated).
    slots: FastMap<Timer, (SimTime, u64)>,
    next_seq: u64,
}

impl TimerQueue {
    /// Schedules `timer` at `at`, unless the same timer is already due at or before `at`.
    pub fn schedule(&mut self, at: SimTime, timer: Timer) {
        if let Some(&existing) = self.slots.get(&timer) {
            if existing.0 <= at {
                return;
            }
            self.pending.remove(&existing);
        }
        let slot = (at, self.next_seq);
        self.next_seq += 1;
        self.slots.insert(timer.clone(), slot);
        self.pending.insert(slot, timer);
    }

    /// Drops `timer` if it is pending: for timers whose object is gone, so that they
    /// neither hold memory nor count as work still to do.
    pub fn cancel(&mut self, timer: &Timer) {
        if let Some(slot) = self.slots.remove(timer) {
            self.pending.remove(&slot);
        }
    }

    /// The earliest deadline and its timer.
    pub fn next(&self) -> Option<(SimTime, &Timer)> {
        self.pending.iter().next().map(|((at, _), t)| (*at, t))
    }

    /// Removes and returns the earliest timer if it is due at or before `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<(SimTime, Timer)> {
        let (&(at, seq), _) = self.pending.iter().next()?;
        if at > now {
            return None;
        }
        let timer = self.pending.remove(&(at, seq))?;
        self.slots.remove(&timer);
        Some((at, timer))
    }

    /// How many timers are pending.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
