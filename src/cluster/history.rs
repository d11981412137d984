//! The watch history: every store write with the object as it was written, so that a watch
//! can resume from any resourceVersion it still covers.
//!
//! The event log says *that* a pod was written at revision 42; a watch must send the pod
//! *as it was* at 42, even if later writes changed it. So each write keeps a shared copy of
//! the object (and of the one it replaced, which a filtered watch needs to tell "stopped
//! matching" from "changed"). Like etcd's compaction and the API server's watch cache, the
//! history keeps only the newest writes: a watch from an older resourceVersion is told it
//! expired (410) and relists.
//!
//! Off unless asked for ([`crate::cluster::Cluster::keep_watch_history`]): the simulator's
//! library users pay nothing for it; the server turns it on.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::WriteVerb;
use crate::model::{ObjectMeta, Resource};

/// A stored object of any kind, as the watch history keeps it.
pub trait WatchedObject: Any + Send + Sync + fmt::Debug {
    /// The object's kind, e.g. `Pod`.
    fn kind(&self) -> &'static str;
    /// The object's metadata.
    fn metadata(&self) -> &ObjectMeta;
    /// The value of a field-selector field ([`Resource::field`]).
    fn field(&self, path: &str) -> Option<String>;
    /// The object, for downcasting to its type.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Resource + Send + Sync> WatchedObject for T {
    fn kind(&self) -> &'static str {
        T::KIND
    }
    fn metadata(&self) -> &ObjectMeta {
        Resource::metadata(self)
    }
    fn field(&self, path: &str) -> Option<String> {
        Resource::field(self, path)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One write, as a watch replays it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The store revision the write made.
    pub revision: u64,
    /// Created, updated or deleted.
    pub verb: WriteVerb,
    /// The object after the write; for a delete, the last state with `resourceVersion` set
    /// to the deletion's revision, as the API server's watch sends it.
    pub object: Arc<dyn WatchedObject>,
    /// The object the write replaced (updates only).
    pub previous: Option<Arc<dyn WatchedObject>>,
}

/// The newest writes, oldest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct WatchHistory {
    /// How many writes to keep; 0 keeps none.
    retention: usize,
    entries: VecDeque<HistoryEntry>,
    /// Every revision up to and including this one is no longer available.
    compacted_through: u64,
}

impl WatchHistory {
    pub(crate) fn enable(&mut self, retention: usize, current_revision: u64) {
        if self.retention == 0 {
            // Writes before now were never recorded.
            self.compacted_through = current_revision;
        }
        self.retention = retention;
        self.trim();
    }

    /// How many writes are kept.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.retention > 0
    }

    pub(crate) fn record(&mut self, entry: HistoryEntry) {
        self.entries.push_back(entry);
        self.trim();
    }

    /// Notes a write the history does not keep: no watch can start before it.
    pub(crate) fn record_unkept(&mut self, revision: u64) {
        self.compacted_through = revision;
    }

    /// Keeps memory bounded: drops the oldest writes in batches of a tenth of the retention,
    /// so that trimming is amortised O(1) per write.
    fn trim(&mut self) {
        if self.retention == 0 {
            if let Some(last) = self.entries.back() {
                self.compacted_through = self.compacted_through.max(last.revision);
            }
            self.entries.clear();
            return;
        }
        let slack = (self.retention / 10).max(1);
        if self.entries.len() > self.retention + slack {
            let drop = self.entries.len() - self.retention;
            for entry in self.entries.drain(..drop) {
                self.compacted_through = self.compacted_through.max(entry.revision);
            }
        }
    }

    /// The writes after `revision`, or `Err(oldest)` — the oldest revision a watch can
    /// still start from — when some of them have been compacted away.
    pub(crate) fn since(&self, revision: u64) -> Result<impl Iterator<Item = &HistoryEntry>, u64> {
        if revision < self.compacted_through {
            return Err(self.compacted_through);
        }
        let first = self.entries.partition_point(|e| e.revision <= revision);
        Ok(self.entries.range(first..))
    }
}

#[cfg(test)]
mod tests {
    use crate::cluster::Cluster;
    use crate::model::Node;
    use crate::time::SimTime;

    /// Like etcd's compaction: a bounded history, and a resume point before it is refused
    /// with the oldest revision still available.
    #[test]
    fn the_history_is_bounded_and_refuses_what_it_dropped() {
        let mut cluster = Cluster::default();
        cluster.keep_watch_history(10);
        let start = cluster.revision();
        for i in 0..100 {
            cluster
                .create(SimTime::ZERO, Node::ready(&format!("node-{i}")), false)
                .unwrap();
        }
        let kept = cluster
            .writes_since(cluster.revision() - 10)
            .unwrap()
            .count();
        assert_eq!(kept, 10);
        let oldest = cluster.writes_since(start).err().expect("compacted");
        assert!(oldest >= cluster.revision() - 11, "{oldest}");
        assert!(cluster.writes_since(oldest).is_ok());
        assert!(
            cluster.watch_history.entries.len() <= 11,
            "memory stays bounded"
        );
        // Without a history, only "from now" works.
        let mut plain = Cluster::default();
        plain
            .create(SimTime::ZERO, Node::ready("n"), false)
            .unwrap();
        assert_eq!(plain.writes_since(plain.revision()).unwrap().count(), 0);
        assert!(plain.writes_since(plain.revision() - 1).is_err());
    }
}
