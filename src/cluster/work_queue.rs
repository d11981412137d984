//! A FIFO queue that holds each item once, like a controller's work queue: adding an item
//! already waiting does nothing.

use std::collections::VecDeque;

use super::FastSet;
use std::hash::Hash;

/// A de-duplicating FIFO queue. Order is insertion order, so it is deterministic; the set is
/// only looked up.
///
/// A controller's queue is nearly always short (a write queues one or two items, which the
/// next settle takes), so a short queue finds duplicates by scanning itself, which costs less
/// than hashing each item in and out; the set is built once the queue grows past
/// [`SCAN_LIMIT`] items (a whole node's pods at once) and kept until the queue is empty again.
#[derive(Debug, Clone)]
pub struct WorkQueue<T> {
    order: VecDeque<T>,
    /// Empty, or exactly the items of `order`.
    waiting: FastSet<T>,
}

/// The longest queue whose duplicates are found by scanning it.
const SCAN_LIMIT: usize = 16;

impl<T> Default for WorkQueue<T> {
    fn default() -> Self {
        WorkQueue {
            order: VecDeque::new(),
            waiting: FastSet::default(),
        }
    }
}

impl<T: Clone + Eq + Hash> WorkQueue<T> {
    /// Adds `item` unless it is already waiting. It, [`WorkQueue::insert_copy`], the scan
    /// they share and the push are always inlined: every pod write queues two or three
    /// keys, nearly always into an empty or one-key queue, a few instructions that a call
    /// doubled.
    #[inline(always)]
    pub fn insert(&mut self, item: T) {
        if !self.holds(&item) {
            self.push_new(item);
        }
    }

    /// Whether `item` is waiting.
    #[inline(always)]
    fn holds(&self, item: &T) -> bool {
        if self.waiting.is_empty() {
            self.order.contains(item)
        } else {
            self.waiting.contains(item)
        }
    }

    /// Adds `item`, which is not waiting.
    #[inline(always)]
    fn push_new(&mut self, item: T) {
        if !self.waiting.is_empty() || self.order.len() == SCAN_LIMIT {
            if self.waiting.is_empty() {
                self.waiting.extend(self.order.iter().cloned());
            }
            self.waiting.insert(item.clone());
        }
        self.order.push_back(item);
    }

    /// [`WorkQueue::insert`] of a copy of `item`, made only when it is not already waiting:
    /// a pod written several times in a row is queued once, and its key copied once.
    #[inline(always)]
    pub fn insert_copy(&mut self, item: &T) {
        if !self.holds(item) {
            self.push_new(item.clone());
        }
    }

    /// Adds the item `make` makes unless one is waiting: a short queue (one scanned for
    /// duplicates) is asked with `is`, which must recognise exactly the items equal to it,
    /// so that an item already waiting is never made (a caller's key, found by a look-up
    /// and copied) and a new one is not looked for twice; a long queue is asked by hash.
    #[inline(always)]
    pub fn insert_unless_waiting(&mut self, is: impl Fn(&T) -> bool, make: impl FnOnce() -> T) {
        if self.waiting.is_empty() {
            if !self.order.iter().any(is) {
                let item = make();
                debug_assert!(!self.order.contains(&item), "`is` recognises its item");
                self.push_new(item);
            }
        } else {
            self.insert(make());
        }
    }

    /// Adds every item.
    pub fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.insert(item);
        }
    }

    /// Takes the oldest item.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<T> {
        let item = self.order.pop_front()?;
        if !self.waiting.is_empty() {
            self.waiting.remove(&item);
        }
        Some(item)
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.order.clear();
        self.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_each_item_once_in_order() {
        let mut q = WorkQueue::default();
        q.extend([3, 1, 3, 2, 1]);
        assert_eq!(
            (q.pop(), q.pop(), q.pop(), q.pop()),
            (Some(3), Some(1), Some(2), None)
        );
        q.insert(1);
        assert_eq!(q.pop(), Some(1));
    }

    proptest::proptest! {
        /// Across the switch between scanning and the set, in both directions, the queue
        /// behaves as the plain model: FIFO, each waiting item once, whether items come in
        /// by value or as copies.
        #[test]
        fn behaves_as_a_deduplicating_fifo(
            ops in proptest::collection::vec(proptest::option::weighted(0.8, 0u8..40), 0..200)
        ) {
            let mut q = WorkQueue::default();
            let mut model: VecDeque<u8> = VecDeque::new();
            for op in ops {
                match op {
                    Some(item) => {
                        // Three ways in: by value, by reference (copied only if new), and
                        // made only if no item the test recognises is waiting.
                        match item % 3 {
                            0 => q.insert(item),
                            1 => q.insert_copy(&item),
                            _ => {
                                let scanned = q.waiting.is_empty();
                                let waiting = model.contains(&item);
                                let mut made = false;
                                q.insert_unless_waiting(|&i| i == item, || {
                                    made = true;
                                    item
                                });
                                // A new item is always made; one waiting, never when scanned.
                                proptest::prop_assert!(made || waiting);
                                proptest::prop_assert!(!(made && waiting && scanned));
                            }
                        }
                        if !model.contains(&item) {
                            model.push_back(item);
                        }
                    }
                    None => proptest::prop_assert_eq!(q.pop(), model.pop_front()),
                }
                proptest::prop_assert_eq!(q.order.iter().collect::<Vec<_>>(), model.iter().collect::<Vec<_>>());
                proptest::prop_assert!(q.waiting.is_empty() || q.waiting.len() == q.order.len());
            }
        }
    }
}
