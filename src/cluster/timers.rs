//! The timer queue: deadlines the state machine has set itself, fired by
//! [`Cluster::advance_to`](super::Cluster::advance_to) in `(at, seq)` order.

use std::collections::{BTreeMap, VecDeque};
use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

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

/// Pending timers, fired in deadline order, then scheduling order.
///
/// Timers are held in slots, found by their hash, and ordered by a calendar (`Calendar`) of
/// `(sequence, slot)` entries filed under their deadlines. A cancelled or rescheduled timer
/// leaves its entry behind, stale (its slot no longer holds that sequence number): stale
/// entries are dropped when they reach the front, and every day is swept of them when they
/// outnumber the live ones, so memory follows the pending timers.
#[derive(Debug, Clone, Default)]
pub struct TimerQueue {
    /// Earliest first; may hold stale entries, never at the front.
    calendar: Calendar,
    slots: Vec<Slot>,
    /// Slots free for reuse.
    free: Vec<u32>,
    /// `(hash, slot)` of every pending timer, for de-duplication (looked up, never iterated).
    by_timer: HashTable<(u64, u32)>,
    next_seq: u64,
}

/// Timer entries `(sequence, slot)` by deadline: one queue per distinct deadline (a day),
/// the days in order.
///
/// Why not a binary heap of `(deadline, sequence, slot)`: deadlines come in few distinct
/// values (each command's instant plus a handful of fixed delays: grace periods, start-up
/// times, sync delays), so the days are few and each is appended to and taken from its
/// ends, in the order the entries were made — where a heap of a burst's tens of thousands
/// of timers moved each entry along a path of about seventeen levels, most of them out of
/// the caches. Entries are numbered from one counter, so each day is already in sequence
/// order: its front is the day's first timer.
#[derive(Debug, Clone, Default)]
struct Calendar {
    days: BTreeMap<SimTime, VecDeque<(u64, u32)>>,
    /// Emptied days' queues, kept for the next days (a roll's bursts make days of the
    /// same size each round: their memory is reused rather than allocated and freed).
    spare: Vec<VecDeque<(u64, u32)>>,
    /// Entries in all days, stale ones included.
    len: usize,
}

/// How many emptied days' queues a calendar keeps for reuse.
const SPARE_DAYS: usize = 8;

impl Calendar {
    fn push(&mut self, at: SimTime, seq: u64, slot: u32) {
        self.len += 1;
        if let Some(day) = self.days.get_mut(&at) {
            day.push_back((seq, slot));
            return;
        }
        let mut day = self.spare.pop().unwrap_or_default();
        day.push_back((seq, slot));
        self.days.insert(at, day);
    }

    /// The earliest entry: `(deadline, sequence, slot)`.
    fn first(&self) -> Option<(SimTime, u64, u32)> {
        let (&at, day) = self.days.first_key_value()?;
        day.front().map(|&(seq, slot)| (at, seq, slot))
    }

    /// Removes the earliest entry.
    fn pop_first(&mut self) {
        let Some(mut first) = self.days.first_entry() else {
            return;
        };
        if first.get_mut().pop_front().is_some() {
            self.len -= 1;
        }
        if first.get().is_empty() {
            let day = first.remove();
            self.recycle(day);
        }
    }

    /// Keeps only the entries `live` holds for, dropping days left empty.
    fn retain(&mut self, mut live: impl FnMut((SimTime, u64, u32)) -> bool) {
        let mut emptied = Vec::new();
        for (&at, day) in &mut self.days {
            day.retain(|&(seq, slot)| live((at, seq, slot)));
            if day.is_empty() {
                emptied.push(at);
            }
        }
        for at in emptied {
            if let Some(day) = self.days.remove(&at) {
                self.recycle(day);
            }
        }
        self.len = self.days.values().map(VecDeque::len).sum();
    }

    fn recycle(&mut self, mut day: VecDeque<(u64, u32)>) {
        if self.spare.len() < SPARE_DAYS {
            day.clear();
            self.spare.push(day);
        }
    }

    /// Empties the calendar, keeping its days' queues as spares: the next burst of timers
    /// is the size of the last, and dropping and growing again queues of a whole cluster's
    /// timers (megabytes at 150,000 pods) costs the allocator a consolidation of its free
    /// memory each time.
    fn clear(&mut self) {
        for (_, day) in std::mem::take(&mut self.days) {
            self.recycle(day);
        }
        self.len = 0;
    }
}

/// A timer slot: the timer pending in it, if any, with its deadline and sequence number.
#[derive(Debug, Clone)]
struct Slot {
    timer: Option<Timer>,
    hash: u64,
    at: SimTime,
    seq: u64,
}

/// Whether a calendar entry still stands for its slot's timer (not cancelled, not moved).
fn is_live_in(slots: &[Slot], (_, seq, slot): (SimTime, u64, u32)) -> bool {
    let pending = &slots[slot as usize];
    pending.timer.is_some() && pending.seq == seq
}

fn hash_of(timer: &Timer) -> u64 {
    FixedState::default().hash_one(timer)
}

/// A [`Timer`] named by borrowed parts: what a cancellation looks for, so that naming a
/// timer to cancel copies no key (each copy of a shared text moves its reference count, an
/// atomic operation on a line likely out of the caches when a pod goes). Its variants and
/// fields are the timer's, in the same order, so that it hashes as the timer it names.
#[derive(Debug, Clone, Copy, Hash)]
pub(crate) enum TimerRef<'a> {
    /// [`Timer::PdbSync`].
    PdbSync {
        /// The PDB.
        pdb: &'a ObjectKey,
    },
    /// [`Timer::Kubelet`].
    Kubelet {
        /// The pod.
        pod: &'a ObjectKey,
        /// The pod's UID.
        uid: &'a Uid,
    },
    /// [`Timer::EndpointsSync`].
    EndpointsSync {
        /// The Service.
        service: &'a ObjectKey,
    },
    /// [`Timer::StalePodDisruptionCheck`].
    StalePodDisruptionCheck {
        /// The pod.
        pod: &'a ObjectKey,
        /// The pod's UID.
        uid: &'a Uid,
    },
}

impl Timer {
    /// The timer by borrowed parts.
    fn named(&self) -> TimerRef<'_> {
        match self {
            Timer::PdbSync { pdb } => TimerRef::PdbSync { pdb },
            Timer::Kubelet { pod, uid } => TimerRef::Kubelet { pod, uid },
            Timer::EndpointsSync { service } => TimerRef::EndpointsSync { service },
            Timer::StalePodDisruptionCheck { pod, uid } => {
                TimerRef::StalePodDisruptionCheck { pod, uid }
            }
        }
    }

    /// Whether this is the timer `named`.
    fn is(&self, named: TimerRef<'_>) -> bool {
        match (self, named) {
            (Timer::PdbSync { pdb }, TimerRef::PdbSync { pdb: other }) => pdb == other,
            (Timer::Kubelet { pod, uid }, TimerRef::Kubelet { pod: p, uid: u })
            | (
                Timer::StalePodDisruptionCheck { pod, uid },
                TimerRef::StalePodDisruptionCheck { pod: p, uid: u },
            ) => pod == p && uid == u,
            (Timer::EndpointsSync { service }, TimerRef::EndpointsSync { service: other }) => {
                service == other
            }
            _ => false,
        }
    }
}

impl TimerQueue {
    /// Schedules `timer` at `at`, unless the same timer is already due at or before `at`.
    pub fn schedule(&mut self, at: SimTime, timer: Timer) {
        let hash = hash_of(&timer);
        let seq = self.next_seq;
        let slots = &self.slots;
        let found = self.by_timer.find(hash, |&(h, slot)| {
            h == hash && slots[slot as usize].timer.as_ref() == Some(&timer)
        });
        if let Some(&(_, slot)) = found {
            let pending = &mut self.slots[slot as usize];
            if pending.at <= at {
                return;
            }
            // Earlier: the slot's old entry goes stale.
            pending.at = at;
            pending.seq = seq;
            self.next_seq += 1;
            self.calendar.push(at, seq, slot);
            self.compact_if_mostly_stale();
            return;
        }
        self.next_seq += 1;
        let filled = Slot {
            timer: Some(timer),
            hash,
            at,
            seq,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = filled;
                slot
            }
            None => {
                self.slots.push(filled);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending timers")
            }
        };
        self.by_timer.insert_unique(hash, (hash, slot), |&(h, _)| h);
        self.calendar.push(at, seq, slot);
    }

    /// Drops `timer` if it is pending: for timers whose object is gone, so that they
    /// neither hold memory nor count as work still to do.
    pub fn cancel(&mut self, timer: &Timer) {
        self.cancel_named(timer.named());
    }

    /// [`TimerQueue::cancel`] of the timer `named` by borrowed parts.
    pub(crate) fn cancel_named(&mut self, named: TimerRef<'_>) {
        let hash = FixedState::default().hash_one(named);
        let slots = &self.slots;
        let Ok(entry) = self.by_timer.find_entry(hash, |&(h, slot)| {
            h == hash
                && slots[slot as usize]
                    .timer
                    .as_ref()
                    .is_some_and(|timer| timer.is(named))
        }) else {
            return;
        };
        let ((_, slot), _) = entry.remove();
        self.release(slot);
        self.drop_stale_top();
        self.compact_if_mostly_stale();
    }

    /// The earliest deadline and its timer.
    pub fn next(&self) -> Option<(SimTime, &Timer)> {
        let (at, _, slot) = self.calendar.first()?;
        self.slots[slot as usize].timer.as_ref().map(|t| (at, t))
    }

    /// Removes and returns the earliest timer if it is due at or before `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<(SimTime, Timer)> {
        let (at, _, slot) = self.calendar.first()?;
        if at > now {
            return None;
        }
        self.calendar.pop_first();
        let hash = self.slots[slot as usize].hash;
        if let Ok(entry) = self.by_timer.find_entry(hash, |&(_, s)| s == slot) {
            entry.remove();
        }
        let timer = self.release(slot);
        self.drop_stale_top();
        self.compact_if_mostly_stale();
        timer.map(|timer| (at, timer))
    }

    /// How many timers are pending.
    pub fn len(&self) -> usize {
        self.by_timer.len()
    }

    /// Whether no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.by_timer.is_empty()
    }

    /// Empties `slot` for reuse, returning its timer.
    fn release(&mut self, slot: u32) -> Option<Timer> {
        let timer = self.slots[slot as usize].timer.take();
        self.free.push(slot);
        if self.by_timer.is_empty() {
            // Nothing pending: start over, so that the slots are not a burst's length of
            // free ones to reuse; the vectors keep their capacity and the calendar its
            // queues, for the next burst.
            self.calendar.clear();
            self.slots.clear();
            self.free.clear();
        }
        timer
    }

    fn is_live(&self, entry: (SimTime, u64, u32)) -> bool {
        is_live_in(&self.slots, entry)
    }

    /// Keeps the calendar's first entry live, so that [`TimerQueue::next`] can answer from
    /// it.
    fn drop_stale_top(&mut self) {
        while let Some(first) = self.calendar.first() {
            if self.is_live(first) {
                return;
            }
            self.calendar.pop_first();
        }
    }

    /// Sweeps the calendar of stale entries once they outnumber the live ones.
    fn compact_if_mostly_stale(&mut self) {
        if self.calendar.len <= 2 * self.by_timer.len() + 16 {
            return;
        }
        let slots = &self.slots;
        self.calendar.retain(|entry| is_live_in(slots, entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: every pending timer with its `(deadline, sequence)`, searched by
    /// scanning, fired by the smallest pair — what the queue must answer, without its heap,
    /// slots or hashes.
    #[derive(Default)]
    struct Reference {
        pending: Vec<(SimTime, u64, Timer)>,
        next_seq: u64,
    }

    impl Reference {
        fn schedule(&mut self, at: SimTime, timer: Timer) {
            if let Some(i) = self.pending.iter().position(|(_, _, t)| *t == timer) {
                if self.pending[i].0 <= at {
                    return;
                }
                self.pending.remove(i);
            }
            self.pending.push((at, self.next_seq, timer));
            self.next_seq += 1;
        }
        fn cancel(&mut self, timer: &Timer) {
            self.pending.retain(|(_, _, t)| t != timer);
        }
        fn earliest(&self) -> Option<usize> {
            (0..self.pending.len()).min_by_key(|&i| (self.pending[i].0, self.pending[i].1))
        }
        fn next(&self) -> Option<(SimTime, &Timer)> {
            self.earliest()
                .map(|i| (self.pending[i].0, &self.pending[i].2))
        }
        fn pop_due(&mut self, now: SimTime) -> Option<(SimTime, Timer)> {
            let i = self.earliest()?;
            if self.pending[i].0 > now {
                return None;
            }
            let (at, _, timer) = self.pending.remove(i);
            Some((at, timer))
        }
    }

    fn timer(n: usize) -> Timer {
        let pod = ObjectKey::new("ns", format!("pod-{}", n % 6));
        match n % 4 {
            0 => Timer::Kubelet {
                pod,
                uid: Uid::from(format!("uid-{}", n / 4 % 2)),
            },
            1 => Timer::StalePodDisruptionCheck {
                pod,
                uid: Uid::from(format!("uid-{}", n / 4 % 2)),
            },
            2 => Timer::EndpointsSync { service: pod },
            _ => Timer::PdbSync { pdb: pod },
        }
    }

    /// A timer named by borrowed parts is found where the timer itself is filed (by its
    /// hash) and matches that timer alone: not another kind of timer of the same object, nor
    /// the same kind of another object or UID.
    #[test]
    fn a_named_timer_hashes_and_matches_as_the_timer() {
        let timers: Vec<Timer> = (0..48).map(timer).collect();
        for a in &timers {
            assert_eq!(
                FixedState::default().hash_one(a.named()),
                hash_of(a),
                "{a:?}"
            );
            for b in &timers {
                assert_eq!(a.is(b.named()), a == b, "{a:?} against {b:?}");
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Schedule(u64, usize),
        Cancel(usize),
        PopDue(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..50u64, 0..36usize).prop_map(|(at, t)| Op::Schedule(at, t)),
            2 => (0..36usize).prop_map(Op::Cancel),
            2 => (0..60u64).prop_map(Op::PopDue),
        ]
    }

    proptest! {
        /// After every operation of any sequence the queue answers `next`, `len` and
        /// `pop_due` as the reference does, and its calendar holds at most twice the pending
        /// timers (plus a constant) however many were cancelled or moved earlier, and at most
        /// its few spare queues, empty, whether or not the queue emptied meanwhile.
        #[test]
        fn answers_as_the_reference_does(ops in prop::collection::vec(op(), 0..600)) {
            let mut queue = TimerQueue::default();
            let mut reference = Reference::default();
            for op in ops {
                match op {
                    Op::Schedule(at, t) => {
                        queue.schedule(SimTime::from_secs(at), timer(t));
                        reference.schedule(SimTime::from_secs(at), timer(t));
                    }
                    Op::Cancel(t) => {
                        queue.cancel(&timer(t));
                        reference.cancel(&timer(t));
                    }
                    Op::PopDue(now) => {
                        let now = SimTime::from_secs(now);
                        prop_assert_eq!(queue.pop_due(now), reference.pop_due(now));
                    }
                }
                prop_assert_eq!(queue.next(), reference.next());
                prop_assert_eq!(queue.len(), reference.pending.len());
                prop_assert_eq!(queue.is_empty(), reference.pending.is_empty());
                prop_assert!(queue.calendar.len <= 2 * queue.len() + 17);
                prop_assert_eq!(
                    queue.calendar.len,
                    queue.calendar.days.values().map(VecDeque::len).sum::<usize>()
                );
                prop_assert!(queue.calendar.days.values().all(|day| !day.is_empty()));
                prop_assert!(queue.calendar.spare.len() <= SPARE_DAYS);
                prop_assert!(queue.calendar.spare.iter().all(VecDeque::is_empty));
            }
        }
    }

    /// A queue that empties keeps its days' queues, emptied, for the next burst: a burst's
    /// timers are not allocated again each round.
    #[test]
    fn an_emptied_queue_keeps_its_days_queues_for_the_next_burst() {
        let mut queue = TimerQueue::default();
        for n in 0..100 {
            let pdb = ObjectKey::new("ns", format!("pdb-{n}"));
            queue.schedule(SimTime::from_secs(7), Timer::PdbSync { pdb });
        }
        assert_eq!(queue.len(), 100);
        while queue.pop_due(SimTime::from_secs(7)).is_some() {}
        assert!(queue.is_empty());
        assert_eq!(queue.calendar.len, 0);
        assert!(queue.calendar.days.is_empty());
        assert_eq!(queue.calendar.spare.len(), 1);
        assert!(queue.calendar.spare[0].is_empty() && queue.calendar.spare[0].capacity() >= 100);
        queue.schedule(SimTime::from_secs(9), timer(3));
        assert!(queue.calendar.spare.is_empty(), "the next day reuses it");
        assert_eq!(queue.next().map(|(at, _)| at), Some(SimTime::from_secs(9)));
    }

    #[test]
    fn a_timer_moved_earlier_fires_once_at_its_new_deadline() {
        let mut queue = TimerQueue::default();
        queue.schedule(SimTime::from_secs(10), timer(0));
        queue.schedule(SimTime::from_secs(20), timer(0)); // later: ignored
        queue.schedule(SimTime::from_secs(5), timer(0));
        assert_eq!(queue.len(), 1);
        assert_eq!(
            queue.pop_due(SimTime::from_secs(100)),
            Some((SimTime::from_secs(5), timer(0)))
        );
        assert_eq!(queue.pop_due(SimTime::from_secs(100)), None);
        assert!(queue.is_empty());
    }
}
