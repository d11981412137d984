//! An ordered set for the pod index's many small sets (a node's pods): a sorted vector while
//! it is small, a B-tree once it is not.
//!
//! A B-tree allocates nodes of eleven entries plus an internal node as soon as it holds
//! twelve, so a set of a few dozen keys costs about twice its entries; a sorted vector costs
//! its entries, finds by binary search in contiguous memory, and an insert moves at most
//! [`SortedSet::MOST_IN_A_VECTOR`] entries. Past that (the pending pods of a cluster with
//! no room, a node whose pod limit was raised) a B-tree, where a vector's moves would grow
//! with the set.

use std::borrow::Borrow;
use std::collections::{BTreeSet, btree_set};

/// A set of `T` in order. See the module docs.
#[derive(Debug, Clone)]
pub(crate) enum SortedSet<T> {
    /// Up to [`SortedSet::MOST_IN_A_VECTOR`] items, sorted, no two equal.
    Few(Vec<T>),
    /// More.
    Many(BTreeSet<T>),
}

impl<T> Default for SortedSet<T> {
    fn default() -> Self {
        SortedSet::Few(Vec::new())
    }
}

impl<T: Ord> SortedSet<T> {
    /// The most items kept in a vector: a set grows into a B-tree past it, and back into a
    /// vector once it holds half as many (not at the same size, so that a set going back
    /// and forth across it does not convert every time).
    pub(crate) const MOST_IN_A_VECTOR: usize = 256;

    /// How many items.
    pub(crate) fn len(&self) -> usize {
        match self {
            SortedSet::Few(few) => few.len(),
            SortedSet::Many(many) => many.len(),
        }
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `item`; returns whether it was not there.
    pub(crate) fn insert(&mut self, item: T) -> bool {
        self.replace(item).is_none()
    }

    /// Adds `item`, returning the equal item it replaces.
    pub(crate) fn replace(&mut self, item: T) -> Option<T> {
        match self {
            SortedSet::Few(few) => match few.binary_search(&item) {
                Ok(at) => Some(std::mem::replace(&mut few[at], item)),
                Err(_) if few.len() == Self::MOST_IN_A_VECTOR => {
                    let mut many: BTreeSet<T> = std::mem::take(few).into_iter().collect();
                    many.insert(item);
                    *self = SortedSet::Many(many);
                    None
                }
                Err(at) => {
                    few.insert(at, item);
                    None
                }
            },
            SortedSet::Many(many) => many.replace(item),
        }
    }

    /// Takes out the item equal to `item`.
    pub(crate) fn take<Q>(&mut self, item: &Q) -> Option<T>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self {
            SortedSet::Few(few) => {
                let at = few.binary_search_by(|held| held.borrow().cmp(item)).ok()?;
                let taken = few.remove(at);
                if few.len() <= few.capacity() / 4 {
                    few.shrink_to(few.len() * 2);
                }
                Some(taken)
            }
            SortedSet::Many(many) => {
                let taken = many.take(item);
                if many.len() <= Self::MOST_IN_A_VECTOR / 2 {
                    *self = SortedSet::Few(std::mem::take(many).into_iter().collect());
                }
                taken
            }
        }
    }

    /// Takes out the item equal to `item`; returns whether it was there.
    pub(crate) fn remove<Q>(&mut self, item: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.take(item).is_some()
    }

    /// The items in order.
    pub(crate) fn iter(&self) -> Iter<'_, T> {
        match self {
            SortedSet::Few(few) => Iter::Few(few.iter()),
            SortedSet::Many(many) => Iter::Many(many.iter()),
        }
    }
}

impl<T: Ord> FromIterator<T> for SortedSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let many: BTreeSet<T> = items.into_iter().collect();
        if many.len() <= Self::MOST_IN_A_VECTOR {
            SortedSet::Few(many.into_iter().collect())
        } else {
            SortedSet::Many(many)
        }
    }
}

/// The items of a [`SortedSet`], in order.
pub(crate) enum Iter<'a, T> {
    Few(std::slice::Iter<'a, T>),
    Many(btree_set::Iter<'a, T>),
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        match self {
            Iter::Few(few) => few.next(),
            Iter::Many(many) => many.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Few(few) => few.size_hint(),
            Iter::Many(many) => many.size_hint(),
        }
    }
}

impl<'a, T: Ord> IntoIterator for &'a SortedSet<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::SortedSet;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Any sequence of inserts, replaces and removes, across the switch between vector
        /// and B-tree both ways (mostly inserts, then mostly removes), leaves the set a plain
        /// B-tree set would hold, in the same order, and answers every query as it does.
        #[test]
        fn behaves_as_a_btree_set(
            steps in prop::collection::vec((0u8..10, 0u16..1_000), 0..3_000),
        ) {
            let mut set: SortedSet<u16> = SortedSet::default();
            let mut model: BTreeSet<u16> = BTreeSet::new();
            let half = steps.len() / 2;
            for (step, (dice, item)) in steps.into_iter().enumerate() {
                let add = if step < half { dice < 7 } else { dice < 3 };
                if add {
                    prop_assert_eq!(set.insert(item), model.insert(item));
                } else {
                    prop_assert_eq!(set.remove(&item), model.remove(&item));
                }
                prop_assert_eq!(set.len(), model.len());
            }
            prop_assert!(set.iter().eq(model.iter()));
            prop_assert!(set.iter().copied().collect::<SortedSet<u16>>().iter().eq(model.iter()));
        }
    }

    /// A set grows into a B-tree past the vector's limit and back once it has shrunk to
    /// half of it.
    #[test]
    fn switches_both_ways() {
        let most = SortedSet::<u32>::MOST_IN_A_VECTOR as u32;
        let mut set: SortedSet<u32> = (0..most).collect();
        assert!(matches!(set, SortedSet::Few(_)));
        set.insert(most);
        assert!(matches!(set, SortedSet::Many(_)));
        for item in 0..most / 2 {
            set.remove(&item);
        }
        assert!(matches!(set, SortedSet::Many(_)));
        set.remove(&(most / 2));
        assert!(matches!(set, SortedSet::Few(_)));
        assert!(set.iter().copied().eq(most / 2 + 1..=most));
    }
}
