//! A list shared copy-on-write, for the parts of objects that many objects hold equal: a
//! pod's conditions, an object's owner references.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A list shared copy-on-write: copying it (every write copies the stored object to change
/// it) shares the list, and the store keeps one copy of each distinct list, which every
/// object stored with an equal one shares.
///
/// The list lives in one allocation with its reference counts, so reading it follows one
/// pointer, as a `Vec`'s would; the empty list allocates nothing. Reads see it through
/// `Deref`; a change through `DerefMut` copies it first if another value still shares it,
/// and [`push`](Self::push) and [`retain`](Self::retain) make a new list.
///
/// ```
/// use evictsim::model::{PodCondition, PodConditions};
///
/// let ready: PodConditions = vec![PodCondition {
///     type_: "Ready".into(),
///     status: "True".into(),
///     ..Default::default()
/// }]
/// .into();
/// let mut copy = ready.clone(); // shares the list
/// copy[0].status = "False".into(); // copies it, then changes the copy
/// assert_eq!(ready[0].status, "True");
/// assert_eq!(copy[0].status, "False");
/// ```
pub struct SharedList<T>(Option<Arc<[T]>>);

impl<T> SharedList<T> {
    /// Whether both share one list (a copy not changed since): equal without comparing.
    pub fn shares(&self, other: &SharedList<T>) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// Where the shared list lives: equal for copies that share it, 0 for the empty list.
    pub(crate) fn address(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |list| Arc::as_ptr(list).cast::<T>() as usize)
    }

    /// How many values share this list.
    pub(crate) fn strong_count(&self) -> usize {
        self.0.as_ref().map_or(0, Arc::strong_count)
    }
}

impl<T: Default> SharedList<T> {
    /// The list of `items`, moved into one allocation made at their number.
    pub(crate) fn from_exact<I: IntoIterator<Item = T, IntoIter: ExactSizeIterator>>(
        items: I,
    ) -> Self {
        let mut items = items.into_iter();
        // A `Map` of a range is of known length, so the list is allocated once, at its size
        // (an iterator of another kind would be collected twice).
        let list: Arc<[T]> = (0..items.len())
            .map(|_| items.next().unwrap_or_default())
            .collect();
        SharedList((!list.is_empty()).then_some(list))
    }
}

impl<T: Clone> SharedList<T> {
    /// Adds `item` at the end.
    pub fn push(&mut self, item: T) {
        // One allocation: a chain of a slice's copies and one item has a known length.
        let list: Arc<[T]> = self.iter().cloned().chain(std::iter::once(item)).collect();
        self.0 = Some(list);
    }

    /// Keeps only the items `keep` says to keep.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        *self = self.iter().filter(|item| keep(item)).cloned().collect();
    }
}

impl<T> Clone for SharedList<T> {
    fn clone(&self) -> Self {
        SharedList(self.0.clone())
    }
}

impl<T> Default for SharedList<T> {
    /// The empty list: no allocation until an item is added.
    fn default() -> Self {
        SharedList(None)
    }
}

impl<T> std::ops::Deref for SharedList<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<T: Clone> std::ops::DerefMut for SharedList<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Some(list) => Arc::make_mut(list),
            None => &mut [],
        }
    }
}

impl<T: PartialEq> PartialEq for SharedList<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shares(other) || **self == **other
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for SharedList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T> From<Vec<T>> for SharedList<T> {
    fn from(list: Vec<T>) -> Self {
        if list.is_empty() {
            SharedList(None)
        } else {
            SharedList(Some(list.into()))
        }
    }
}

impl<T> FromIterator<T> for SharedList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<_>>().into()
    }
}

impl<'a, T> IntoIterator for &'a SharedList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Serialize> Serialize for SharedList<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SharedList<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(SharedList::from)
    }
}

#[cfg(test)]
mod tests {
    use super::SharedList;

    /// The empty list, however made, allocates nothing and shares with every other empty
    /// one; `push`, `retain` and `clear` make new lists and leave copies alone.
    #[test]
    fn changes_make_new_lists_and_leave_copies_alone() {
        let empty: SharedList<u32> = Vec::new().into();
        assert!(empty.shares(&SharedList::default()) && empty.address() == 0);
        let mut list = empty.clone();
        list.push(1);
        list.push(2);
        assert_eq!((&*empty, &*list), (&[][..], &[1, 2][..]));
        let copy = list.clone();
        assert!(copy.shares(&list) && copy.strong_count() == 2);
        list.retain(|n| *n != 1);
        list[0] = 7;
        assert_eq!((&*copy, &*list), (&[1, 2][..], &[7][..]));
        let mut alone = list.clone();
        drop(list);
        let address = alone.address();
        alone[0] = 8; // not shared any more: changed where it is
        assert_eq!((alone.address(), &*alone), (address, &[8][..]));
        alone.clear();
        assert!(alone.shares(&empty) && alone.is_empty());
        let decoded: SharedList<u32> = serde_json::from_str("[3,4]").unwrap();
        assert_eq!(serde_json::to_string(&decoded).unwrap(), "[3,4]");
        assert_eq!(decoded, [3, 4].into_iter().collect::<SharedList<u32>>());
    }
}
