//! The event log as it is held: each event encoded in a few dozen bytes, in chunks.
//!
//! A roll of 150,000 pods logs four million events. Held as [`Event`]s they took 104 bytes
//! each (the retained million and the next, 208 MB, most of the roll's peak memory), and
//! each held two counted references to its key's texts: raised when the event was logged,
//! lowered when it was compacted away, by then on a cold line for every pod gone, with the
//! compaction moving the retained events to the front of the vector. Encoded, an event is
//! its bytes alone — the texts copied, numbers as variable-length integers, the few static
//! texts (kinds, reasons) as an index — so logging writes 30 to 50 bytes, compaction drops
//! whole chunks without reading them, and a reader gets [`Event`]s decoded on demand.
//!
//! The log is the one owner of sequence numbers: an event's number is its position, so
//! inserting one before others ([`EventLog::insert_before`]) renumbers them for free.

use std::borrow::Cow;
use std::collections::VecDeque;

use super::events::{Event, EventKind, WriteVerb};
use crate::model::{ObjectKey, SmolStr};
use crate::time::{SimTime, Time};

/// Events per chunk: compaction drops whole chunks, so the log holds at most this many
/// events beyond the retention.
const CHUNK_EVENTS: usize = 1_024;

/// The room a chunk is given for each event it will hold: most take 30 to 50 bytes. A
/// chunk whose room runs out before its count is closed early. A full chunk's room, 48 KB,
/// stays below glibc's threshold for giving a block its own mapping, which would fault in
/// fresh pages for every chunk.
const ROOM_PER_EVENT: usize = 48;

/// The events a chunk has room for beyond its count, for insertions before others.
const INSERTED_PER_CHUNK: usize = 32;

/// How much of a chunk's allocation is cleared for writing at a time.
const ROOM_STEP: usize = 2_048;

/// The retained events, encoded.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventLog {
    /// Oldest first; the first may begin with events already compacted away (before
    /// `first`), dropped with their chunk.
    chunks: VecDeque<Chunk>,
    /// The sequence number of the oldest retained event: how many compaction has dropped.
    first: u64,
    /// The sequence number the next event gets: how many have ever been logged.
    next: u64,
    /// The `&'static str`s events carry (object kinds, event types and reasons, the eviction
    /// handler's messages), encoded as their index here.
    statics: StaticTexts,
    /// The last chunk compaction dropped, kept to be the next one opened: once the log holds
    /// its retention, every chunk it opens is the one it just dropped, so a steady stream of
    /// events allocates nothing. A fresh chunk of this size costs more than its writes: its
    /// allocation makes glibc's malloc consolidate every small free block it holds (a
    /// request this large goes past the small bins), and its pages fault in as they are
    /// cleared.
    spare: Option<Chunk>,
}

/// A run of consecutive events.
#[derive(Debug, Clone)]
struct Chunk {
    /// The sequence number of its first event.
    first: u64,
    /// The events' encodings, back to back, up to the last event's end; the rest of `bytes`
    /// is room, cleared a few kilobytes at a time within the allocation and written through a
    /// slice (a bounds check a write, rather than a capacity check and a stored length a
    /// byte).
    bytes: Vec<u8>,
    /// Where each event's encoding ends in `bytes`.
    ends: Vec<u32>,
}

impl Chunk {
    fn starting_at(first: u64, events: usize) -> Chunk {
        Chunk {
            first,
            bytes: Vec::with_capacity(events * ROOM_PER_EVENT),
            // With room for the events logged before others (`EventLog::insert_before`: an
            // admission goes before its deletion's events, which may have filled the chunk).
            // Grown, the offsets would be moved to a block past malloc's small sizes, whose
            // allocation makes it consolidate every small free block it holds: at scale, a
            // walk over thousands of cold blocks.
            ends: Vec::with_capacity(events + INSERTED_PER_CHUNK),
        }
    }

    /// How much of `bytes` the events take: where the last one ends.
    fn used(&self) -> usize {
        self.ends.last().map_or(0, |&end| end as usize)
    }

    /// The encoding of the chunk's `index`th event.
    fn encoded(&self, index: usize) -> &[u8] {
        &self.bytes[self.start_of(index)..self.ends[index] as usize]
    }

    /// Where the chunk's `index`th event's encoding starts.
    fn start_of(&self, index: usize) -> usize {
        match index {
            0 => 0,
            _ => self.ends[index - 1] as usize,
        }
    }
}

/// The static texts of a log, each given an index on first use.
#[derive(Debug, Clone, Default)]
struct StaticTexts {
    texts: Vec<&'static str>,
    /// The index found last: runs of events carry the same kind.
    last: usize,
}

impl StaticTexts {
    /// Found by address and length, the last one found first, then in order of first use:
    /// a log sees a few dozen at most (the kinds, the controllers' reasons, the handler's
    /// messages), so a scan beats hashing.
    /// The check of the last one found is always inlined (a call cost as much as the
    /// check: every refused eviction's message and every write's kind is found so).
    #[inline(always)]
    fn index_of(&mut self, text: &'static str) -> u32 {
        if self.texts.get(self.last).is_some_and(|t| Self::is(t, text)) {
            return self.last as u32;
        }
        self.index_of_another(text)
    }

    fn is(stored: &'static str, text: &'static str) -> bool {
        std::ptr::eq(stored.as_ptr(), text.as_ptr()) && stored.len() == text.len()
    }

    /// [`StaticTexts::index_of`] of a text other than the last one found.
    #[inline(never)]
    fn index_of_another(&mut self, text: &'static str) -> u32 {
        self.last = match self.texts.iter().position(|t| Self::is(t, text)) {
            Some(index) => index,
            None => {
                self.texts.push(text);
                self.texts.len() - 1
            }
        };
        self.last as u32
    }
}

impl EventLog {
    /// An empty log whose first event will be number `next` (a fork continues its parent's
    /// numbering).
    pub(crate) fn starting_at(next: u64) -> EventLog {
        EventLog {
            first: next,
            next,
            ..EventLog::default()
        }
    }

    /// How many events have ever been logged: the number the next one gets.
    pub(crate) fn count(&self) -> u64 {
        self.next
    }

    /// How many events are retained.
    pub(crate) fn retained(&self) -> usize {
        (self.next - self.first) as usize
    }

    /// The bytes the log holds its events in: the chunks' room and their offsets, the spare
    /// chunk's included.
    pub(crate) fn bytes(&self) -> usize {
        self.chunks
            .iter()
            .chain(&self.spare)
            .map(|c| c.bytes.capacity() + 4 * c.ends.capacity())
            .sum()
    }

    /// Appends `kind`, which happened `at`; once the log holds more than `retention` events,
    /// the oldest are forgotten, so that the newest `retention` remain (their memory is let
    /// go a chunk at a time).
    pub(crate) fn push<K: KeyTexts>(&mut self, at: SimTime, kind: &EventKind<K>, retention: usize) {
        self.push_encoded(retention, |out, from, statics| {
            encode_at(out, from, statics, at, kind)
        });
    }

    /// [`EventLog::push`] of an `ObjectWritten` event, from the write's own key: a store write
    /// (nearly half of all events) logs without a copy of its key to encode and drop.
    pub(crate) fn push_written(&mut self, at: SimTime, written: Written<'_>, retention: usize) {
        self.push_encoded(retention, |out, from, statics| {
            let mut w = Writer {
                out,
                at: from,
                statics,
            };
            w.unsigned(at.as_millis())?;
            w.written(&written)?;
            Some(w.at)
        });
    }

    /// Appends what `encode` writes.
    fn push_encoded(
        &mut self,
        retention: usize,
        encode: impl Fn(&mut [u8], usize, &mut StaticTexts) -> Option<usize>,
    ) {
        let retention = retention.max(1);
        let per_chunk = retention.min(CHUNK_EVENTS);
        if self.retained() >= retention {
            // Room for this one among the newest `retention`; compacted first, so that the
            // chunk this one may need is the one just dropped.
            self.first = self.next + 1 - retention as u64;
            while let Some(oldest) = self.chunks.front()
                && oldest.first + oldest.ends.len() as u64 <= self.first
            {
                self.spare = self.chunks.pop_front();
            }
        }
        if self.chunks.back().is_none_or(|c| c.ends.len() >= per_chunk) {
            self.start_chunk(per_chunk);
        }
        // In the newest chunk's room if it fits there; else the room is extended, in its
        // allocation while there is some (by a few kilobytes at a time: cleared in small
        // steps, never the whole allocation at once), else in a new chunk; an empty chunk's
        // room is doubled until it fits (a long message).
        while let Some(chunk) = self.chunks.back_mut() {
            let used = chunk.used();
            if let Some(end) = encode(&mut chunk.bytes, used, &mut self.statics) {
                chunk.ends.push(end as u32);
                break;
            }
            if chunk.bytes.len() < chunk.bytes.capacity() {
                let room = (chunk.bytes.len() + ROOM_STEP).min(chunk.bytes.capacity());
                chunk.bytes.resize(room, 0);
            } else if chunk.ends.is_empty() {
                let room = (2 * chunk.bytes.len()).max(ROOM_STEP);
                chunk.bytes.resize(room, 0);
            } else {
                self.start_chunk(per_chunk);
            }
        }
        self.next += 1;
    }

    /// Opens a chunk for the next events: the spare one when there is one (its room already
    /// cleared), else a new one.
    fn start_chunk(&mut self, per_chunk: usize) {
        let chunk = match self.spare.take() {
            Some(mut chunk) => {
                chunk.first = self.next;
                chunk.ends.clear();
                chunk
            }
            None => Chunk::starting_at(self.next, per_chunk),
        };
        self.chunks.push_back(chunk);
    }

    /// Logs `kind` as if it had been logged when the log held `seq` events: it takes that
    /// number, with the time of the event it displaces (or `now`), and the events from `seq`
    /// on move up by one. Appended when `seq` is no longer retained.
    pub(crate) fn insert_before<K: KeyTexts>(
        &mut self,
        seq: u64,
        now: SimTime,
        kind: &EventKind<K>,
        retention: usize,
    ) {
        if seq < self.first || seq >= self.next {
            self.push(now, kind, retention);
            return;
        }
        // Nearly always in the newest chunk (an admission goes before the events its own
        // deletion logged a moment ago): tried before searching them all.
        let at_chunk = match self.chunks.back() {
            Some(newest) if newest.first <= seq => self.chunks.len() - 1,
            _ => self.chunks.partition_point(|c| c.first <= seq) - 1,
        };
        let chunk = &mut self.chunks[at_chunk];
        let index = (seq - chunk.first) as usize;
        let at = decode_at(chunk.encoded(index));
        let start = chunk.start_of(index);
        // Encoded on the stack when it fits there (an admission's event always does): an
        // admitted eviction logs one, and a buffer of its own was an allocation each.
        let mut room = [0; 2 * ROOM_PER_EVENT];
        let spilled;
        let encoded: &[u8] = match encode_into(&mut room, &mut self.statics, at, kind) {
            Some(used) => &room[..used],
            None => {
                spilled = encode_alone(&mut self.statics, at, kind);
                &spilled
            }
        };
        let grown = encoded.len();
        let used = chunk.used();
        if used + grown > chunk.bytes.len() {
            chunk.bytes.resize(used + grown, 0);
        }
        chunk.bytes.copy_within(start..used, start + grown);
        chunk.bytes[start..start + grown].copy_from_slice(encoded);
        for end in &mut chunk.ends[index..] {
            *end += grown as u32;
        }
        chunk.ends.insert(index, (start + grown) as u32);
        for later in self.chunks.range_mut(at_chunk + 1..) {
            later.first += 1;
        }
        self.next += 1;
    }

    /// The retained events from number `seq` on (all of them from `0`), decoded.
    pub(crate) fn since(&self, seq: u64) -> impl Iterator<Item = Event> + '_ {
        let from = seq.max(self.first);
        let at_chunk = self
            .chunks
            .partition_point(|c| c.first <= from)
            .saturating_sub(1);
        self.chunks.range(at_chunk..).flat_map(move |chunk| {
            let skip = from.saturating_sub(chunk.first) as usize;
            (skip..chunk.ends.len()).map(move |index| {
                let (at, kind) = decode(chunk.encoded(index), &self.statics.texts);
                Event {
                    seq: chunk.first + index as u64,
                    at,
                    kind,
                }
            })
        })
    }
}

// The encoding. Each event: when it happened (milliseconds), a tag naming its kind, then
// its fields in declaration order. Unsigned numbers are LEB128 (seven bits a byte, low bits
// first), signed ones zigzagged first; texts are their length, then their bytes; a static
// text is its index; an option or a flag is a byte.

const OBJECT_WRITTEN: u8 = 0;
const EVICTION_ADMITTED: u8 = 1;
const EVICTION_REFUSED: u8 = 2;
const DELETION_STARTED: u8 = 3;
const GRACE_PERIOD_SHORTENED: u8 = 4;
const PDB_STATUS_UPDATED: u8 = 5;
const PDB_SYNC_FAILED: u8 = 6;
const DISRUPTION_TARGET_RESET: u8 = 7;
const RECORDED: u8 = 8;
const POD_CREATED: u8 = 9;
const POD_SCHEDULED: u8 = 10;
const POD_STARTED: u8 = 11;
const KUBELET_NOTICED_DELETION: u8 = 12;
const PRE_STOP_FINISHED: u8 = 13;
const ENDPOINT_REMOVED: u8 = 14;
const KILL_REARMED: u8 = 15;
const CONTAINERS_EXITED: u8 = 16;
const CONTAINERS_KILLED: u8 = 17;
const POD_TERMINATED: u8 = 18;
const RATE_LIMITED: u8 = 19;

/// `Some` when the write fitted in the room left.
type Fits = Option<()>;

/// Writes an encoding into a chunk's room, from `at` on.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
    statics: &'a mut StaticTexts,
}

// Every operation always inlined: every write logs an event, and these were left as calls
// (each a few instructions, with as many again to pass the writer through memory): 1.2% of
// a roll's instructions.
impl Writer<'_> {
    #[inline(always)]
    fn byte(&mut self, value: u8) -> Fits {
        *self.out.get_mut(self.at)? = value;
        self.at += 1;
        Some(())
    }

    #[inline(always)]
    fn unsigned(&mut self, mut value: u64) -> Fits {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80)?;
            value >>= 7;
        }
        self.byte(value as u8)
    }

    #[inline(always)]
    fn signed(&mut self, value: i64) -> Fits {
        self.unsigned(((value << 1) ^ (value >> 63)) as u64)
    }

    #[inline(always)]
    fn text(&mut self, text: &str) -> Fits {
        let bytes = text.as_bytes();
        let len = bytes.len();
        self.unsigned(len as u64)?;
        let end = self.at.checked_add(len)?;
        let out = self.out.get_mut(self.at..end)?;
        // Most texts are names of 4 to 16 bytes: copied as two overlapping words, without
        // the call to `memcpy` (see `short_text::same`, which compares them so).
        match len {
            8..=16 => {
                out[..8].copy_from_slice(&bytes[..8]);
                out[len - 8..].copy_from_slice(&bytes[len - 8..]);
            }
            4..=7 => {
                out[..4].copy_from_slice(&bytes[..4]);
                out[len - 4..].copy_from_slice(&bytes[len - 4..]);
            }
            // A workload's or budget's name is often this short ("web"): a call to
            // `memcpy` for three bytes cost more than the rest of the text's write.
            1..=3 => {
                out[0] = bytes[0];
                out[len / 2] = bytes[len / 2];
                out[len - 1] = bytes[len - 1];
            }
            0 => {}
            _ => out.copy_from_slice(bytes),
        }
        self.at = end;
        Some(())
    }

    #[inline(always)]
    fn static_text(&mut self, text: &'static str) -> Fits {
        let index = self.statics.index_of(text);
        self.unsigned(u64::from(index))
    }

    #[inline(always)]
    fn key<K: KeyTexts>(&mut self, key: &K) -> Fits {
        self.text(key.namespace())?;
        self.text(key.name())
    }

    #[inline(always)]
    fn time(&mut self, time: Time) -> Fits {
        self.signed(time.unix_seconds())
    }

    #[inline(always)]
    fn written<K: KeyTexts>(&mut self, written: &Written<'_, K>) -> Fits {
        self.byte(OBJECT_WRITTEN)?;
        self.byte(match written.verb {
            WriteVerb::Created => 0,
            WriteVerb::Updated => 1,
            WriteVerb::Deleted => 2,
        })?;
        self.static_text(written.kind)?;
        self.key(written.key)?;
        self.text(written.resource_version)
    }
}

/// The fields of an `ObjectWritten` event, borrowed from the write.
pub(crate) struct Written<'a, K = ObjectKey> {
    pub(crate) verb: WriteVerb,
    pub(crate) kind: &'static str,
    pub(crate) key: &'a K,
    pub(crate) resource_version: &'a str,
}

/// The texts of the key an event names, which the log copies: a stored key's, or a
/// request's namespace and name ([`KeyNamed`]) where no stored key is at hand.
pub(crate) trait KeyTexts {
    /// The namespace (empty for a cluster-scoped object).
    fn namespace(&self) -> &str;
    /// The name.
    fn name(&self) -> &str;
}

impl KeyTexts for ObjectKey {
    #[inline(always)]
    fn namespace(&self) -> &str {
        &self.namespace
    }
    #[inline(always)]
    fn name(&self) -> &str {
        &self.name
    }
}

impl<K: KeyTexts> KeyTexts for &K {
    #[inline(always)]
    fn namespace(&self) -> &str {
        K::namespace(self)
    }
    #[inline(always)]
    fn name(&self) -> &str {
        K::name(self)
    }
}

/// A key by borrowed texts: what a request names an object by. An event about an object a
/// request did not write (a refused eviction) is logged with it, so that the stored key's
/// texts are not copied (a reference count moved up and down, each on a line out of the
/// caches) only to be read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyNamed<'a> {
    /// The namespace.
    pub(crate) namespace: &'a str,
    /// The name.
    pub(crate) name: &'a str,
}

impl KeyTexts for KeyNamed<'_> {
    #[inline(always)]
    fn namespace(&self) -> &str {
        self.namespace
    }
    #[inline(always)]
    fn name(&self) -> &str {
        self.name
    }
}

/// `kind`'s encoding at the start of `room`: how many bytes it took, `None` when it did not
/// fit.
fn encode_into<K: KeyTexts>(
    room: &mut [u8],
    statics: &mut StaticTexts,
    at: SimTime,
    kind: &EventKind<K>,
) -> Option<usize> {
    encode_at(room, 0, statics, at, kind)
}

/// `kind`'s encoding in `out` from `from` on: where it ends, `None` when it did not fit.
/// The writer is this function's own, so that its position stays in a register rather
/// than behind a pointer its caller lent.
fn encode_at<K: KeyTexts>(
    out: &mut [u8],
    from: usize,
    statics: &mut StaticTexts,
    at: SimTime,
    kind: &EventKind<K>,
) -> Option<usize> {
    let mut w = Writer {
        out,
        at: from,
        statics,
    };
    encode(&mut w, at, kind)?;
    Some(w.at)
}

/// `kind`'s encoding in a buffer of its own, grown until it fits: an insertion's event too
/// long for the stack's room (a long message).
fn encode_alone<K: KeyTexts>(
    statics: &mut StaticTexts,
    at: SimTime,
    kind: &EventKind<K>,
) -> Vec<u8> {
    let mut room = vec![0; 4 * ROOM_PER_EVENT];
    loop {
        if let Some(used) = encode_into(&mut room, statics, at, kind) {
            room.truncate(used);
            return room;
        }
        room.resize(2 * room.len(), 0);
    }
}

#[inline(always)]
fn encode<K: KeyTexts>(w: &mut Writer<'_>, at: SimTime, kind: &EventKind<K>) -> Fits {
    w.unsigned(at.as_millis())?;
    match kind {
        EventKind::ObjectWritten {
            verb,
            kind,
            key,
            resource_version,
        } => w.written(&Written {
            verb: *verb,
            kind,
            key,
            resource_version,
        })?,
        EventKind::EvictionAdmitted { pod, pdb, dry_run } => {
            w.byte(EVICTION_ADMITTED)?;
            w.key(pod)?;
            match pdb {
                Some(pdb) => {
                    w.byte(1)?;
                    w.text(pdb)?;
                }
                None => w.byte(0)?,
            }
            w.byte(u8::from(*dry_run))?;
        }
        EventKind::EvictionRefused { pod, code, message } => {
            w.byte(EVICTION_REFUSED)?;
            w.key(pod)?;
            w.unsigned(u64::from(*code))?;
            match message {
                Cow::Borrowed(message) => {
                    w.byte(0)?;
                    w.static_text(message)?;
                }
                Cow::Owned(message) => {
                    w.byte(1)?;
                    w.text(message)?;
                }
            }
        }
        EventKind::DeletionStarted {
            pod,
            grace_period_seconds,
            deletion_timestamp,
        }
        | EventKind::GracePeriodShortened {
            pod,
            grace_period_seconds,
            deletion_timestamp,
        } => {
            w.byte(match kind {
                EventKind::DeletionStarted { .. } => DELETION_STARTED,
                _ => GRACE_PERIOD_SHORTENED,
            })?;
            w.key(pod)?;
            w.signed(*grace_period_seconds)?;
            w.time(*deletion_timestamp)?;
        }
        EventKind::PdbStatusUpdated {
            pdb,
            disruptions_allowed,
            current_healthy,
            desired_healthy,
            expected_pods,
        } => {
            w.byte(PDB_STATUS_UPDATED)?;
            w.key(pdb)?;
            w.signed(*disruptions_allowed)?;
            w.signed(*current_healthy)?;
            w.signed(*desired_healthy)?;
            w.signed(*expected_pods)?;
        }
        EventKind::PdbSyncFailed { pdb, message } => {
            w.byte(PDB_SYNC_FAILED)?;
            w.key(pdb)?;
            w.text(message)?;
        }
        EventKind::DisruptionTargetReset { pod } => {
            w.byte(DISRUPTION_TARGET_RESET)?;
            w.key(pod)?;
        }
        EventKind::Recorded {
            event_type,
            involved,
            reason,
            message,
        } => {
            w.byte(RECORDED)?;
            w.static_text(event_type)?;
            w.text(involved)?;
            w.static_text(reason)?;
            w.text(message)?;
        }
        EventKind::PodCreated { owner, pod } => {
            w.byte(POD_CREATED)?;
            w.text(owner)?;
            w.key(pod)?;
        }
        EventKind::PodScheduled { pod, node } => {
            w.byte(POD_SCHEDULED)?;
            w.key(pod)?;
            w.text(node)?;
        }
        EventKind::PodStarted { pod, node, ready } => {
            w.byte(POD_STARTED)?;
            w.key(pod)?;
            w.text(node)?;
            w.byte(u8::from(*ready))?;
        }
        EventKind::KubeletNoticedDeletion {
            pod,
            node,
            grace_period_seconds,
            prestop_ms,
        } => {
            w.byte(KUBELET_NOTICED_DELETION)?;
            w.key(pod)?;
            w.text(node)?;
            w.signed(*grace_period_seconds)?;
            match prestop_ms {
                Some(ms) => {
                    w.byte(1)?;
                    w.unsigned(*ms)?;
                }
                None => w.byte(0)?,
            }
        }
        EventKind::PreStopFinished { pod, node } => {
            w.byte(PRE_STOP_FINISHED)?;
            w.key(pod)?;
            w.text(node)?;
        }
        EventKind::EndpointRemoved { pod, service } => {
            w.byte(ENDPOINT_REMOVED)?;
            w.key(pod)?;
            w.key(service)?;
        }
        EventKind::KillRearmed {
            pod,
            node,
            grace_period_seconds,
        } => {
            w.byte(KILL_REARMED)?;
            w.key(pod)?;
            w.text(node)?;
            w.signed(*grace_period_seconds)?;
        }
        EventKind::ContainersExited {
            pod,
            node,
            exit_code,
        } => {
            w.byte(CONTAINERS_EXITED)?;
            w.key(pod)?;
            w.text(node)?;
            w.signed(i64::from(*exit_code))?;
        }
        EventKind::ContainersKilled { pod, node } => {
            w.byte(CONTAINERS_KILLED)?;
            w.key(pod)?;
            w.text(node)?;
        }
        EventKind::PodTerminated { pod, node, phase } => {
            w.byte(POD_TERMINATED)?;
            w.key(pod)?;
            w.text(node)?;
            w.text(phase)?;
        }
        EventKind::RateLimited { method, path } => {
            w.byte(RATE_LIMITED)?;
            w.text(method)?;
            w.text(path)?;
        }
    }
    Some(())
}

/// Reads back what [`encode`] wrote. The bytes are the log's own, never input: running off
/// their end or meeting an unknown tag is a bug in the encoding, and panics.
struct Reader<'a> {
    bytes: &'a [u8],
    statics: &'a [&'static str],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.bytes.split_first().expect("an encoded event's byte");
        self.bytes = rest;
        *first
    }

    fn unsigned(&mut self) -> u64 {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.byte();
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
            shift += 7;
        }
    }

    fn signed(&mut self) -> i64 {
        let zigzag = self.unsigned();
        (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64)
    }

    fn text(&mut self) -> &'a str {
        let len = self.unsigned() as usize;
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(text).expect("an encoded event's text is the text it was given")
    }

    fn static_text(&mut self) -> &'static str {
        self.statics[self.unsigned() as usize]
    }

    fn key(&mut self) -> ObjectKey {
        let namespace = self.text();
        ObjectKey::new(namespace, self.text())
    }

    fn smol(&mut self) -> SmolStr {
        SmolStr::new(self.text())
    }

    fn flag(&mut self) -> bool {
        self.byte() != 0
    }

    fn time(&mut self) -> Time {
        Time::of_seconds(self.signed())
    }
}

/// When the encoded event happened, without decoding the rest.
fn decode_at(bytes: &[u8]) -> SimTime {
    let mut r = Reader {
        bytes,
        statics: &[],
    };
    SimTime::from_millis(r.unsigned())
}

fn decode(bytes: &[u8], statics: &[&'static str]) -> (SimTime, EventKind) {
    let mut r = Reader { bytes, statics };
    let at = SimTime::from_millis(r.unsigned());
    let kind = match r.byte() {
        OBJECT_WRITTEN => EventKind::ObjectWritten {
            verb: match r.byte() {
                0 => WriteVerb::Created,
                1 => WriteVerb::Updated,
                _ => WriteVerb::Deleted,
            },
            kind: r.static_text(),
            key: r.key(),
            resource_version: r.smol(),
        },
        EVICTION_ADMITTED => EventKind::EvictionAdmitted {
            pod: r.key(),
            pdb: r.flag().then(|| r.smol()),
            dry_run: r.flag(),
        },
        EVICTION_REFUSED => EventKind::EvictionRefused {
            pod: r.key(),
            code: r.unsigned() as u16,
            message: match r.flag() {
                false => Cow::Borrowed(r.static_text()),
                true => Cow::Owned(r.text().to_owned()),
            },
        },
        DELETION_STARTED => EventKind::DeletionStarted {
            pod: r.key(),
            grace_period_seconds: r.signed(),
            deletion_timestamp: r.time(),
        },
        GRACE_PERIOD_SHORTENED => EventKind::GracePeriodShortened {
            pod: r.key(),
            grace_period_seconds: r.signed(),
            deletion_timestamp: r.time(),
        },
        PDB_STATUS_UPDATED => EventKind::PdbStatusUpdated {
            pdb: r.key(),
            disruptions_allowed: r.signed(),
            current_healthy: r.signed(),
            desired_healthy: r.signed(),
            expected_pods: r.signed(),
        },
        PDB_SYNC_FAILED => EventKind::PdbSyncFailed {
            pdb: r.key(),
            message: r.text().to_owned(),
        },
        DISRUPTION_TARGET_RESET => EventKind::DisruptionTargetReset { pod: r.key() },
        RECORDED => EventKind::Recorded {
            event_type: r.static_text(),
            involved: r.text().to_owned(),
            reason: r.static_text(),
            message: r.text().to_owned(),
        },
        POD_CREATED => EventKind::PodCreated {
            owner: r.smol(),
            pod: r.key(),
        },
        POD_SCHEDULED => EventKind::PodScheduled {
            pod: r.key(),
            node: r.smol(),
        },
        POD_STARTED => EventKind::PodStarted {
            pod: r.key(),
            node: r.smol(),
            ready: r.flag(),
        },
        KUBELET_NOTICED_DELETION => EventKind::KubeletNoticedDeletion {
            pod: r.key(),
            node: r.smol(),
            grace_period_seconds: r.signed(),
            prestop_ms: r.flag().then(|| r.unsigned()),
        },
        PRE_STOP_FINISHED => EventKind::PreStopFinished {
            pod: r.key(),
            node: r.smol(),
        },
        ENDPOINT_REMOVED => EventKind::EndpointRemoved {
            pod: r.key(),
            service: r.key(),
        },
        KILL_REARMED => EventKind::KillRearmed {
            pod: r.key(),
            node: r.smol(),
            grace_period_seconds: r.signed(),
        },
        CONTAINERS_EXITED => EventKind::ContainersExited {
            pod: r.key(),
            node: r.smol(),
            exit_code: r.signed() as i32,
        },
        CONTAINERS_KILLED => EventKind::ContainersKilled {
            pod: r.key(),
            node: r.smol(),
        },
        POD_TERMINATED => EventKind::PodTerminated {
            pod: r.key(),
            node: r.smol(),
            phase: r.smol(),
        },
        RATE_LIMITED => EventKind::RateLimited {
            method: r.text().to_owned(),
            path: r.text().to_owned(),
        },
        tag => unreachable!("the log wrote no event tagged {tag}"),
    };
    (at, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The log as a vector of `Event`s holding the newest `retention` (the oldest drained as
    /// new ones come). The encoded log must read back exactly as this one does.
    #[derive(Default)]
    struct Reference {
        events: Vec<Event>,
        compacted: u64,
    }

    impl Reference {
        fn push(&mut self, at: SimTime, kind: EventKind, retention: usize) {
            let seq = self.compacted + self.events.len() as u64;
            self.events.push(Event { seq, at, kind });
            let retention = retention.max(1);
            if self.events.len() > retention {
                let dropped = self.events.len() - retention;
                self.events.drain(..dropped);
                self.compacted += dropped as u64;
            }
        }

        fn insert_before(&mut self, seq: u64, now: SimTime, kind: EventKind, retention: usize) {
            let Some(index) = seq
                .checked_sub(self.compacted)
                .map(|i| i as usize)
                .filter(|i| *i < self.events.len())
            else {
                return self.push(now, kind, retention);
            };
            let at = self.events[index].at;
            for event in &mut self.events[index..] {
                event.seq += 1;
            }
            self.events.insert(index, Event { seq, at, kind });
        }
    }

    fn key(namespace: &str, name: &str) -> ObjectKey {
        ObjectKey::new(namespace, name)
    }

    /// One event of every kind, with the edges of the encoding: empty and long texts
    /// (lengths past one byte), non-ASCII text, negative and extreme numbers, both sides of
    /// every option and flag, owned and static messages.
    fn every_kind() -> Vec<EventKind> {
        let pod = key("ns-ü", "web-1");
        let long = "x".repeat(300);
        let t = Time::from_unix_seconds(1_700_000_000).unwrap();
        let early = Time::from_unix_seconds(-62_000_000_000).unwrap();
        vec![
            EventKind::ObjectWritten {
                verb: WriteVerb::Created,
                kind: "Pod",
                key: pod.clone(),
                resource_version: SmolStr::new("12345"),
            },
            EventKind::ObjectWritten {
                verb: WriteVerb::Updated,
                kind: "PodDisruptionBudget",
                key: key("", &long),
                resource_version: SmolStr::new(""),
            },
            EventKind::ObjectWritten {
                verb: WriteVerb::Deleted,
                kind: "Node",
                key: key("", "node-1"),
                resource_version: SmolStr::new("18446744073709551615"),
            },
            EventKind::EvictionAdmitted {
                pod: pod.clone(),
                pdb: Some(SmolStr::new("web")),
                dry_run: false,
            },
            EventKind::EvictionAdmitted {
                pod: pod.clone(),
                pdb: None,
                dry_run: true,
            },
            EventKind::EvictionRefused {
                pod: pod.clone(),
                code: 429,
                message: Cow::Borrowed(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                ),
            },
            EventKind::EvictionRefused {
                pod: pod.clone(),
                code: u16::MAX,
                message: Cow::Owned(format!("{long} ✓")),
            },
            EventKind::DeletionStarted {
                pod: pod.clone(),
                grace_period_seconds: 30,
                deletion_timestamp: t,
            },
            EventKind::GracePeriodShortened {
                pod: pod.clone(),
                grace_period_seconds: i64::MIN,
                deletion_timestamp: early,
            },
            EventKind::PdbStatusUpdated {
                pdb: key("ns-ü", "web"),
                disruptions_allowed: -1,
                current_healthy: i64::MAX,
                desired_healthy: 0,
                expected_pods: 150,
            },
            EventKind::PdbSyncFailed {
                pdb: key("ns-ü", "web"),
                message: String::new(),
            },
            EventKind::DisruptionTargetReset { pod: pod.clone() },
            EventKind::Recorded {
                event_type: "Warning",
                involved: "PodDisruptionBudget/ns-ü/web".to_owned(),
                reason: "NoPods",
                message: long.clone(),
            },
            EventKind::PodCreated {
                owner: SmolStr::new("ReplicaSet ns-ü/web"),
                pod: pod.clone(),
            },
            EventKind::PodScheduled {
                pod: pod.clone(),
                node: SmolStr::new("node-1"),
            },
            EventKind::PodStarted {
                pod: pod.clone(),
                node: SmolStr::new("node-1"),
                ready: true,
            },
            EventKind::PodStarted {
                pod: pod.clone(),
                node: SmolStr::new("node-1"),
                ready: false,
            },
            EventKind::KubeletNoticedDeletion {
                pod: pod.clone(),
                node: SmolStr::new("node-1"),
                grace_period_seconds: 0,
                prestop_ms: Some(u64::MAX),
            },
            EventKind::KubeletNoticedDeletion {
                pod: pod.clone(),
                node: SmolStr::new(&long),
                grace_period_seconds: 3_600,
                prestop_ms: None,
            },
            EventKind::PreStopFinished {
                pod: pod.clone(),
                node: SmolStr::new("node-1"),
            },
            EventKind::EndpointRemoved {
                pod: pod.clone(),
                service: key("ns-ü", "web"),
            },
            EventKind::KillRearmed {
                pod: pod.clone(),
                node: SmolStr::new("node-1"),
                grace_period_seconds: 1,
            },
            EventKind::ContainersExited {
                pod: pod.clone(),
                node: SmolStr::new("node-1"),
                exit_code: i32::MIN,
            },
            EventKind::ContainersKilled {
                pod: pod.clone(),
                node: SmolStr::new("node-1"),
            },
            EventKind::PodTerminated {
                pod,
                node: SmolStr::new("node-1"),
                phase: SmolStr::new("Failed"),
            },
            EventKind::RateLimited {
                method: "POST".to_owned(),
                path: long,
            },
        ]
    }

    #[test]
    fn every_kind_of_event_reads_back_as_logged() {
        let mut log = EventLog::default();
        let logged: Vec<Event> = every_kind()
            .into_iter()
            .enumerate()
            .map(|(seq, kind)| Event {
                seq: seq as u64,
                // Times past one byte and past four.
                at: SimTime::from_millis(1u64 << (3 * seq).min(60)),
                kind,
            })
            .collect();
        for event in &logged {
            log.push(event.at, &event.kind, usize::MAX);
        }
        assert_eq!(log.since(0).collect::<Vec<_>>(), logged);
        assert_eq!(log.since(7).collect::<Vec<_>>(), logged[7..]);
        assert_eq!(log.since(1_000).count(), 0);
        assert_eq!(log.count(), logged.len() as u64);
    }

    /// The cluster logs events that borrow their objects' keys: each reads back as the
    /// same event holding copies of them.
    #[test]
    fn an_event_borrowing_its_keys_reads_as_one_holding_copies() {
        let (pod, service, pdb) = (key("ns-1", "web-7"), key("ns-1", "web"), key("ns-1", "web"));
        let borrowed: Vec<EventKind<&ObjectKey>> = vec![
            EventKind::PodStarted {
                pod: &pod,
                node: "node-3".into(),
                ready: true,
            },
            EventKind::EvictionRefused {
                pod: &pod,
                code: 429,
                message: Cow::Borrowed(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                ),
            },
            EventKind::PdbStatusUpdated {
                pdb: &pdb,
                disruptions_allowed: 1,
                current_healthy: 150,
                desired_healthy: 135,
                expected_pods: 150,
            },
            EventKind::EndpointRemoved {
                pod: &pod,
                service: &service,
            },
        ];
        let copied: Vec<EventKind> = vec![
            EventKind::PodStarted {
                pod: pod.clone(),
                node: "node-3".into(),
                ready: true,
            },
            EventKind::EvictionRefused {
                pod: pod.clone(),
                code: 429,
                message: Cow::Borrowed(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                ),
            },
            EventKind::PdbStatusUpdated {
                pdb: pdb.clone(),
                disruptions_allowed: 1,
                current_healthy: 150,
                desired_healthy: 135,
                expected_pods: 150,
            },
            EventKind::EndpointRemoved {
                pod: pod.clone(),
                service: service.clone(),
            },
        ];
        let mut log = EventLog::default();
        for kind in &borrowed {
            log.push(SimTime::from_millis(5_000), kind, usize::MAX);
        }
        let read: Vec<EventKind> = log.since(0).map(|e| e.kind).collect();
        assert_eq!(read, copied);
        assert_eq!(
            borrowed.iter().map(ToString::to_string).collect::<Vec<_>>(),
            copied.iter().map(ToString::to_string).collect::<Vec<_>>(),
        );
    }

    /// A store write logs its `ObjectWritten` event from its own borrowed key: it reads
    /// back as the same event logged whole.
    #[test]
    fn a_write_logged_from_its_borrowed_key_reads_as_logged_whole() {
        let mut log = EventLog::default();
        let whole: Vec<EventKind> = every_kind()
            .into_iter()
            .filter(|k| matches!(k, EventKind::ObjectWritten { .. }))
            .collect();
        for kind in &whole {
            if let EventKind::ObjectWritten {
                verb,
                kind,
                key,
                resource_version,
            } = kind
            {
                let written = Written {
                    verb: *verb,
                    kind,
                    key,
                    resource_version,
                };
                log.push_written(SimTime::from_millis(5), written, 100);
            }
        }
        assert_eq!(log.since(0).map(|e| e.kind).collect::<Vec<_>>(), whole);
    }

    /// Texts are copied by their length (a few bytes, two overlapping words, or `memcpy`):
    /// every length up to past the longest special case reads back as written, in each of
    /// a write's three texts, one- and two-byte characters included.
    #[test]
    fn texts_of_every_length_read_back_as_written() {
        let mut log = EventLog::default();
        let mut whole = Vec::new();
        for len in 0..=40 {
            for text in ["a".repeat(len), "é".repeat(len / 2) + &"z".repeat(len % 2)] {
                let kind = EventKind::ObjectWritten {
                    verb: WriteVerb::Updated,
                    kind: "Pod",
                    key: key(&text, &text.chars().rev().collect::<String>()),
                    resource_version: SmolStr::new(&text),
                };
                if let EventKind::ObjectWritten {
                    key,
                    resource_version,
                    ..
                } = &kind
                {
                    let written = Written {
                        verb: WriteVerb::Updated,
                        kind: "Pod",
                        key,
                        resource_version,
                    };
                    log.push_written(SimTime::from_millis(len as u64), written, usize::MAX);
                }
                log.push(SimTime::ZERO, &kind, usize::MAX);
                whole.extend([kind.clone(), kind]);
            }
        }
        assert_eq!(log.since(0).map(|e| e.kind).collect::<Vec<_>>(), whole);
    }

    /// An event longer than a chunk's room (a long message) gets a chunk of its own, with
    /// room enough, and the events around it keep their places.
    #[test]
    fn an_event_longer_than_a_chunks_room_is_kept_whole() {
        let mut log = EventLog::default();
        let long = EventKind::RateLimited {
            method: "POST".to_owned(),
            path: "p".repeat(200_000),
        };
        let short = every_kind()[0].clone();
        for kind in [&short, &long, &short, &long] {
            log.push(SimTime::ZERO, kind, 4);
        }
        let kinds: Vec<EventKind> = log.since(0).map(|e| e.kind).collect();
        assert_eq!(kinds, vec![short.clone(), long.clone(), short, long]);
    }

    #[test]
    fn a_fork_numbers_on_from_its_parent() {
        let mut log = EventLog::starting_at(41);
        assert_eq!(
            (log.count(), log.retained(), log.since(0).count()),
            (41, 0, 0)
        );
        log.push(SimTime::ZERO, &every_kind()[0], 10);
        let read: Vec<Event> = log.since(0).collect();
        assert_eq!((read.len(), read[0].seq, log.count()), (1, 41, 42));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(usize, u64),
        /// Insert before the event this far back from the newest (past the oldest
        /// retained, or at the end, it is appended).
        InsertBefore(usize, u64, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let kinds = every_kind().len();
        prop_oneof![
            4 => (0..kinds, 0..1_000u64).prop_map(|(k, dt)| Op::Push(k, dt)),
            1 => (0..kinds, 0..1_000u64, 0..40usize).prop_map(|(k, dt, back)| Op::InsertBefore(k, dt, back)),
        ]
    }

    proptest! {
        /// Logging, inserting before recent events and compacting, in any order and at any
        /// retention, read back event for event, number for number, as the vector of
        /// `Event`s the log used to be; and the bytes held stay bounded by the retention.
        #[test]
        fn the_encoded_log_reads_as_the_vector_of_events(
            retention in 1..50usize,
            ops in proptest::collection::vec(op(), 0..400),
            cursor in 0..500u64,
        ) {
            let kinds = every_kind();
            let (mut log, mut reference) = (EventLog::default(), Reference::default());
            let mut now = SimTime::ZERO;
            for op in ops {
                match op {
                    Op::Push(k, dt) => {
                        now = now + std::time::Duration::from_millis(dt);
                        log.push(now, &kinds[k], retention);
                        reference.push(now, kinds[k].clone(), retention);
                    }
                    Op::InsertBefore(k, dt, back) => {
                        now = now + std::time::Duration::from_millis(dt);
                        let seq = log.count().saturating_sub(back as u64);
                        log.insert_before(seq, now, &kinds[k], retention);
                        reference.insert_before(seq, now, kinds[k].clone(), retention);
                    }
                }
                prop_assert_eq!(log.count(), reference.compacted + reference.events.len() as u64);
                prop_assert_eq!(log.retained(), reference.events.len());
                // Whole chunks are dropped: at most one chunk's worth beyond the events.
                prop_assert!(log.chunks.iter().map(|c| c.ends.len()).sum::<usize>()
                    <= log.retained() + retention.min(CHUNK_EVENTS) + 40);
            }
            prop_assert_eq!(log.since(0).collect::<Vec<_>>(), reference.events.clone());
            let from = reference.events.iter().position(|e| e.seq >= cursor).unwrap_or(reference.events.len());
            prop_assert_eq!(log.since(cursor).collect::<Vec<_>>(), reference.events[from..].to_vec());
        }
    }
}
