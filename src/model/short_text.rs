//! Equality, order and hashing for the short strings that keys are made of (namespaces,
//! names, label keys and values), without the call to `memcmp` that `==` and `cmp` make: for
//! strings of a few bytes the call itself costs more than the comparison. Looking objects
//! up and keeping indexes in order compare such strings many times per write.

use std::cmp::Ordering;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use foldhash::fast::FixedState;

/// A hash of `text` for lookups (fixed seed: no order reaches an output, and instruction
/// counts stay repeatable). A string of up to 16 bytes is read as two machine words (each
/// byte, its length folded in) and mixed by foldhash in one 128-bit multiply, where a
/// `write` of its bytes costs two, with the hasher's rotations: a store lookup hashes its
/// namespace and its name. Longer strings are hashed as bytes.
#[inline]
pub(crate) fn hash(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let word = |at: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |at: usize| -> u64 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    // The common lengths first: most names and namespaces have 4 to 16 bytes.
    let (first, last) = if len >= 8 {
        if len > 16 {
            let mut hasher = FixedState::with_seed(0).build_hasher();
            hasher.write(bytes);
            return hasher.finish();
        }
        (word(0), word(len - 8))
    } else if len >= 4 {
        (half(0), half(len - 4))
    } else if len > 0 {
        let packed =
            u64::from(bytes[0]) | u64::from(bytes[len / 2]) << 8 | u64::from(bytes[len - 1]) << 16;
        (packed, 0)
    } else {
        (0, 0)
    };
    let mut hasher = FixedState::with_seed(0).build_hasher();
    hasher.write_u128(u128::from(first) | u128::from(last ^ ((len as u64) << 56)) << 64);
    hasher.finish()
}

/// [`same`] for shared texts: two handles on one allocation are equal without reading it.
/// Keys copied from a stored key share its texts, so a look-up or a comparison holding such a
/// copy answers from the addresses, where the text is a separate allocation, usually out of
/// the caches.
#[inline]
pub(crate) fn same_shared(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || same(a, b)
}

/// String equality for the short strings keys are made of: compares lengths, then up to
/// 16 bytes as two overlapping machine words, without the call to `memcmp` that `==` makes
/// (a third of a lookup's cost). Longer strings fall back to `==`.
#[inline]
pub(crate) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let word = |bytes: &[u8], at: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    let half = |bytes: &[u8], at: usize| -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[at..at + 4]);
        u32::from_ne_bytes(w)
    };
    // The common lengths first: most keys' texts have 4 to 16 bytes.
    let len = a.len();
    if len >= 8 {
        if len > 16 {
            return a == b;
        }
        word(a, 0) == word(b, 0) && word(a, len - 8) == word(b, len - 8)
    } else if len >= 4 {
        half(a, 0) == half(b, 0) && half(a, len - 4) == half(b, len - 4)
    } else if len > 0 {
        // First, middle and last byte: every byte of a string this short.
        a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1]
    } else {
        true
    }
}

/// The order of `a` and `b`, as `a.cmp(b)` gives it (bytewise, then shorter first), read
/// eight bytes at a time as big-endian words, whose order as numbers is the order of their
/// bytes. Strings longer than 64 bytes go to `cmp`, which is faster there.
#[inline]
pub(crate) fn order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let common = a.len().min(b.len());
    if common > 64 {
        return a.cmp(b);
    }
    let word = |bytes: &[u8], at: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_be_bytes(w)
    };
    let mut at = 0;
    while at + 8 <= common {
        match word(a, at).cmp(&word(b, at)) {
            Ordering::Equal => at += 8,
            unequal => return unequal,
        }
    }
    if at < common {
        let tail = if common >= 8 {
            // The last eight common bytes: those before `at` are known equal.
            word(a, common - 8).cmp(&word(b, common - 8))
        } else if common >= 4 {
            // The first four bytes, then the last four (overlapping them): the first
            // difference in this sequence is the first difference in the strings.
            let four = |bytes: &[u8], at: usize| -> u64 {
                let mut w = [0u8; 4];
                w.copy_from_slice(&bytes[at..at + 4]);
                u64::from(u32::from_be_bytes(w))
            };
            let pack = |bytes: &[u8]| (four(bytes, 0) << 32) | four(bytes, common - 4);
            pack(a).cmp(&pack(b))
        } else {
            // First, middle and last byte: every byte of a string this short, in order.
            let pack = |bytes: &[u8]| {
                (u32::from(bytes[0]) << 16)
                    | (u32::from(bytes[common / 2]) << 8)
                    | u32::from(bytes[common - 1])
            };
            pack(a).cmp(&pack(b))
        };
        if tail != Ordering::Equal {
            return tail;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::{hash, order, same, same_shared};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// Shared texts are equal by address or, in separate allocations, by their bytes.
    #[test]
    fn shared_texts_compare_by_address_then_by_text() {
        let a: Arc<str> = Arc::from("web-1");
        assert!(same_shared(&a, &Arc::clone(&a)));
        assert!(same_shared(&a, &Arc::from("web-1")));
        assert!(!same_shared(&a, &Arc::from("web-2")));
        assert!(!same_shared(&a, &Arc::from("web-10")));
    }

    /// A string of each length from 0 to 39 (every length class of the functions here),
    /// with the strings that differ from it in one byte, and one a byte longer.
    fn with_neighbours() -> impl Iterator<Item = (String, Vec<String>)> {
        (0..40).map(|len| {
            let a: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let mut neighbours: Vec<String> = (0..len)
                .map(|at| {
                    let mut b = a.clone().into_bytes();
                    b[at] = b'Z';
                    String::from_utf8(b).unwrap()
                })
                .collect();
            neighbours.push(format!("{a}a"));
            (a, neighbours)
        })
    }

    /// Equal strings hash alike; strings of every length class that differ in one byte, or
    /// only in length, hash apart (not a promise of the hash, which only spares comparisons,
    /// but a check that every byte and the length reach it).
    #[test]
    fn hash_reads_every_byte_and_the_length() {
        for (a, neighbours) in with_neighbours() {
            assert_eq!(hash(&a), hash(&a.clone()));
            for b in neighbours {
                assert_ne!(hash(&a), hash(&b), "{a} vs {b}");
            }
        }
        assert_ne!(hash("abcdefgh"), hash("abcdefghabcdefgh"));
        assert_ne!(hash("\u{0}"), hash(""));
    }

    /// `same` agrees with `==` at every length class, for equal strings and for strings that
    /// differ in any one byte or in length.
    #[test]
    fn same_is_string_equality() {
        for (a, neighbours) in with_neighbours() {
            assert!(same(&a, &a.clone()));
            for b in neighbours {
                assert!(!same(&a, &b), "{a} vs {b}");
            }
        }
        assert!(same("ns-é", "ns-é"));
        assert!(!same("ns-é", "ns-è"));
    }
    proptest! {
        /// `order` is `cmp` for strings of every length class, including strings that share
        /// a long prefix, prefixes of each other, and bytes above 0x7f.
        #[test]
        fn order_is_string_order(
            prefix in "[a-c]{0,70}",
            a in "[a-cé\u{0}\u{7f}]{0,12}",
            b in "[a-cé\u{0}\u{7f}]{0,12}",
        ) {
            let (a, b) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
            prop_assert_eq!(order(&a, &b), a.cmp(&b), "{:?} vs {:?}", a, b);
            prop_assert_eq!(order(&a, &a), std::cmp::Ordering::Equal);
            prop_assert_eq!(order(&prefix, &a), prefix.cmp(&a));
            // Keys order by namespace, then name, whether or not they share the text.
            let key = |ns: &str, name: &str| crate::model::ObjectKey::new(ns, name);
            prop_assert_eq!(key(&a, &b).cmp(&key(&b, &a)), (&a, &b).cmp(&(&b, &a)));
            let shared = key(&a, &b);
            let same_namespace = crate::model::ObjectKey::new(shared.namespace.clone(), a.as_str());
            prop_assert_eq!(shared.cmp(&same_namespace), b.cmp(&a));
        }
    }
}
