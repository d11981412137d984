//! A FIFO queue that holds each item once, like a controller's work queue: adding an item
//! already waiting does nothing.

use std::collections::VecDeque;

use super::FastSet;
use std::hash::Hash;

/// A de-duplicating FIFO queue. Order is insertion order, so it is deterministic; the set is
/// only looked up.
#[derive(Debug, Clone)]
pub struct WorkQueue<T> {
    order: VecDeque<T>,
    waiting: FastSet<T>,
}

impl<T> Default for WorkQueue<T> {
    fn default() -> Self {
        WorkQueue {
            order: VecDeque::new(),
            waiting: FastSet::default(),
        }
    }
}

impl<T: Clone + Eq + Hash> WorkQueue<T> {
    /// Adds `item` unless it is already waiting.
    pub fn insert(&mut self, item: T) {
        if self.waiting.insert(item.clone()) {
            self.order.push_back(item);
        }
    }

    /// Adds every item.
    pub fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.insert(item);
        }
    }

    /// Takes the oldest item.
    pub fn pop(&mut self) -> Option<T> {
        let item = self.order.pop_front()?;
        self.waiting.remove(&item);
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
}
