//! A remembered bucket of a hash table, tried before hashing.
//!
//! A simulation's look-ups come in runs: one pod is read, changed and observed in one
//! step, with other look-ups between; a workload or a PDB is looked up for each write of
//! its pods; work comes a namespace at a time. A table that remembers where it last found
//! an entry answers such a run at the cost of one comparison, without hashing the key or
//! probing (measured over a roll: more than four in five look-ups of a stored object
//! repeat one of the last four).

use std::sync::atomic::{AtomicUsize, Ordering};

use hashbrown::HashTable;

/// A bucket of a hash table where a look-up is likely to find its entry again. A hint is
/// only ever a guess, checked against the entry it points at before it is used (the table
/// may have moved or dropped the entry since), so a stale one costs a look-up as before.
/// Held atomically so that reads through `&self` can update it while its owner stays
/// `Sync`; a relaxed load or store is a plain move.
#[derive(Debug, Default)]
pub(crate) struct BucketHint(AtomicUsize);

impl BucketHint {
    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, bucket: usize) {
        self.0.store(bucket, Ordering::Relaxed);
    }

    /// The entry of `table` sought: the hinted one when `hinted_is` takes it, else the one
    /// `is` finds among the entries hashed to `hash` (and hinted for the next look-up).
    #[inline]
    pub(crate) fn find<'t, E>(
        &self,
        table: &'t HashTable<E>,
        hinted_is: impl FnOnce(&E) -> bool,
        hash: impl FnOnce() -> u64,
        is: impl FnMut(&E) -> bool,
    ) -> Option<&'t E> {
        if let Some(entry) = table.get_bucket(self.get())
            && hinted_is(entry)
        {
            return Some(entry);
        }
        let bucket = table.find_bucket_index(hash(), is)?;
        self.set(bucket);
        table.get_bucket(bucket)
    }

    /// [`BucketHint::find`]'s bucket, for a change.
    #[inline]
    pub(crate) fn find_bucket<E>(
        &self,
        table: &HashTable<E>,
        hinted_is: impl FnOnce(&E) -> bool,
        hash: impl FnOnce() -> u64,
        is: impl FnMut(&E) -> bool,
    ) -> Option<usize> {
        let hinted = self.get();
        if table.get_bucket(hinted).is_some_and(hinted_is) {
            return Some(hinted);
        }
        let bucket = table.find_bucket_index(hash(), is)?;
        self.set(bucket);
        Some(bucket)
    }
}

impl Clone for BucketHint {
    fn clone(&self) -> Self {
        BucketHint(AtomicUsize::new(self.get()))
    }
}
