//! What an object's JSON text says before it is decoded: whether a tree of `Value`s built
//! from it would be an object holding exactly what the text holds, its `kind` and
//! `apiVersion`, and (for snapshots) the newest time it records.
//!
//! Readers that decode an object straight from its text (a snapshot's items, request
//! bodies) ask this first, so that they take the text path only where it reads as the tree
//! path does: a tree keeps the last value of a key given twice, in the first one's place,
//! where a typed decoder refuses the second (or, inside unmodeled fields, keeps both).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::known_fields::KeyText;
use crate::time::Time;

/// What a reading of an object's text found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectScan {
    /// The newest RFC 3339 time held by a key the scan was asked to time.
    pub latest: Option<Time>,
    /// The top-level `kind`, when a string.
    pub kind: Option<String>,
    /// The top-level `apiVersion`, when a string.
    pub api_version: Option<String>,
}

impl ObjectScan {
    /// The scan of `text`, the newest time read from the string values of keys `timed`
    /// accepts; `None` when the text is not one JSON object, or has an object (at any depth)
    /// with a key twice.
    pub(crate) fn of(text: &str, timed: impl Fn(&str) -> bool) -> Option<ObjectScan> {
        let mut scan = Scan {
            timed,
            latest: None,
            check: KeyCheck::default(),
        };
        let mut reader = serde_json::Deserializer::from_str(text);
        let top = Node {
            scan: &mut scan,
            timed: false,
            top: true,
            captured: None,
        };
        let is_object = top.deserialize(&mut reader).ok()?;
        reader.end().ok()?;
        let KeyCheck {
            repeated,
            kind,
            api_version,
            ..
        } = scan.check;
        (is_object && !repeated).then_some(ObjectScan {
            latest: scan.latest,
            kind,
            api_version,
        })
    }
}

/// What [`ObjectScan`] checks of a text besides its times, kept by a reader that walks the
/// text its own way (the field walk of a request body, which reads the text once): the keys
/// of the objects being read, to find one given twice, and the top-level `kind` and
/// `apiVersion`.
#[derive(Debug, Default)]
pub(crate) struct KeyCheck<'de> {
    /// The keys of the objects being read, innermost last (each object's from where it
    /// began).
    keys: Vec<Cow<'de, str>>,
    /// Whether an object gave a key twice.
    pub(crate) repeated: bool,
    /// The top-level `kind`, when a string.
    pub(crate) kind: Option<String>,
    /// The top-level `apiVersion`, when a string.
    pub(crate) api_version: Option<String>,
}

impl<'de> KeyCheck<'de> {
    /// Where the keys of an object about to be read begin.
    #[inline]
    pub(crate) fn object_begins(&self) -> usize {
        self.keys.len()
    }

    /// Notes `key`, read from the object that began at `begins`. Inlined: every key of a
    /// snapshot's items passes here.
    #[inline(always)]
    pub(crate) fn note_key(&mut self, begins: usize, key: Cow<'de, str>) {
        if self.keys[begins..].contains(&key) {
            self.repeated = true;
        }
        self.keys.push(key);
    }

    /// Forgets the keys of the object that began at `begins`, now read.
    #[inline]
    pub(crate) fn object_ends(&mut self, begins: usize) {
        self.keys.truncate(begins);
    }

    /// A seed that reads a value the caller needs nothing of, checking the keys of every
    /// object in it; `top_key` is its key when it is a field of the top-level object (its
    /// `kind` and `apiVersion` are kept).
    pub(crate) fn skip<'r>(&'r mut self, top_key: Option<&str>) -> Skip<'r, 'de> {
        Skip {
            check: self,
            captured: top_key.and_then(Captured::of),
        }
    }
}

/// A value read only to check its objects' keys ([`KeyCheck::skip`]).
pub(crate) struct Skip<'r, 'de> {
    check: &'r mut KeyCheck<'de>,
    captured: Option<Captured>,
}

impl<'de> DeserializeSeed<'de> for Skip<'_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // The scan's own reading, untimed, over the caller's check (moved in and back: a
        // move of its vector, not a copy).
        let mut scan = Scan {
            timed: |_: &str| false,
            latest: None,
            check: std::mem::take(self.check),
        };
        let read = Node::inner(&mut scan, false, self.captured).deserialize(deserializer);
        *self.check = scan.check;
        read.map(|_| ())
    }
}

/// A reading in progress. Generic over `timed`, so that a snapshot's test of each key is
/// inlined where the key is read.
struct Scan<'de, F> {
    timed: F,
    latest: Option<Time>,
    check: KeyCheck<'de>,
}

/// Which top-level string a value is, when it is one the scan keeps.
#[derive(Clone, Copy)]
enum Captured {
    Kind,
    ApiVersion,
}

impl Captured {
    /// What the top-level field `key` holds, when kept.
    fn of(key: &str) -> Option<Captured> {
        match key {
            "kind" => Some(Captured::Kind),
            "apiVersion" => Some(Captured::ApiVersion),
            _ => None,
        }
    }
}

/// One value of the text: the object itself (`top`), or one inside it, held by a timed key
/// or not. Gives whether it was an object.
struct Node<'s, 'de, F> {
    scan: &'s mut Scan<'de, F>,
    timed: bool,
    top: bool,
    captured: Option<Captured>,
}

impl<'s, 'de, F> Node<'s, 'de, F> {
    fn inner(scan: &'s mut Scan<'de, F>, timed: bool, captured: Option<Captured>) -> Self {
        Node {
            scan,
            timed,
            top: false,
            captured,
        }
    }
}

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for Node<'_, 'de, F> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for Node<'_, 'de, F> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, text: &str) -> Result<bool, E> {
        if self.timed {
            self.scan.latest = self.scan.latest.max(Time::parse(text).ok());
        }
        let check = &mut self.scan.check;
        match self.captured {
            Some(Captured::Kind) => check.kind = Some(text.to_owned()),
            Some(Captured::ApiVersion) => check.api_version = Some(text.to_owned()),
            None => {}
        }
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<bool, A::Error> {
        while items
            .next_element_seed(Node::inner(&mut *self.scan, false, None))?
            .is_some()
        {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<bool, A::Error> {
        let begins = self.scan.check.object_begins();
        while let Some(key) = fields.next_key_seed(KeyText)? {
            let captured = if self.top { Captured::of(&key) } else { None };
            let timed = (self.scan.timed)(&key);
            fields.next_value_seed(Node::inner(&mut *self.scan, timed, captured))?;
            self.scan.check.note_key(begins, key);
        }
        self.scan.check.object_ends(begins);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn untimed(_: &str) -> bool {
        false
    }

    fn timed(key: &str) -> bool {
        key.ends_with("Time")
    }

    #[test]
    fn an_object_gives_its_kind_and_api_version_as_strings_only() {
        let scan = ObjectScan::of(
            r#"{"kind":"Pod","apiVersion":"v1","metadata":{"kind":"x","apiVersion":"y"}}"#,
            untimed,
        )
        .unwrap();
        assert_eq!(scan.kind.as_deref(), Some("Pod"));
        assert_eq!(scan.api_version.as_deref(), Some("v1"));
        let scan = ObjectScan::of(r#"{"kind":5,"apiVersion":{"a":"v1"}}"#, untimed).unwrap();
        assert_eq!((scan.kind, scan.api_version), (None, None));
    }

    #[test]
    fn a_key_given_twice_at_any_depth_or_a_text_that_is_not_one_object_is_refused() {
        for text in [
            r#"{"kind":"Pod","kind":"Pod"}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"{"a":[{"b":1},{"c":{"d":1,"d":1}}]}"#,
            "[]",
            "\"Pod\"",
            "{} {}",
            "{",
            "",
        ] {
            assert_eq!(ObjectScan::of(text, untimed), None, "{text}");
        }
        // The same key in sibling or nested objects is no repetition.
        for text in [r#"{"a":{"b":1},"c":{"b":2}}"#, r#"{"b":{"b":{"b":1}}}"#] {
            assert!(ObjectScan::of(text, untimed).is_some(), "{text}");
        }
    }

    #[test]
    fn the_newest_time_is_read_only_from_timed_keys_holding_strings() {
        let text = r#"{"startTime":"2024-01-01T00:00:00Z","x":{"endTime":"2025-06-01T00:00:00Z"},
            "other":"2030-01-01T00:00:00Z","listTime":["2031-01-01T00:00:00Z"],"badTime":"soon"}"#;
        let scan = ObjectScan::of(text, timed).unwrap();
        assert_eq!(
            scan.latest,
            Some(Time::parse("2025-06-01T00:00:00Z").unwrap())
        );
        assert_eq!(ObjectScan::of(text, untimed).unwrap().latest, None);
    }
}
