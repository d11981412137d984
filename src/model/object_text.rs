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
    pub(crate) fn of(text: &str, timed: fn(&str) -> bool) -> Option<ObjectScan> {
        let mut scan = Scan {
            timed,
            latest: None,
            keys: Vec::new(),
            repeated_key: false,
            kind: None,
            api_version: None,
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
        (is_object && !scan.repeated_key).then_some(ObjectScan {
            latest: scan.latest,
            kind: scan.kind,
            api_version: scan.api_version,
        })
    }
}

/// A reading in progress.
struct Scan<'de> {
    timed: fn(&str) -> bool,
    latest: Option<Time>,
    /// The keys of the objects being read, innermost last (each object's from where it
    /// began), to find a key given twice.
    keys: Vec<Cow<'de, str>>,
    repeated_key: bool,
    kind: Option<String>,
    api_version: Option<String>,
}

/// Which top-level string a value is, when it is one the scan keeps.
#[derive(Clone, Copy)]
enum Captured {
    Kind,
    ApiVersion,
}

/// One value of the text: the object itself (`top`), or one inside it, held by a timed key
/// or not. Gives whether it was an object.
struct Node<'s, 'de> {
    scan: &'s mut Scan<'de>,
    timed: bool,
    top: bool,
    captured: Option<Captured>,
}

impl<'s, 'de> Node<'s, 'de> {
    fn inner(scan: &'s mut Scan<'de>, timed: bool, captured: Option<Captured>) -> Self {
        Node {
            scan,
            timed,
            top: false,
            captured,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, 'de> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, 'de> {
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
        match self.captured {
            Some(Captured::Kind) => self.scan.kind = Some(text.to_owned()),
            Some(Captured::ApiVersion) => self.scan.api_version = Some(text.to_owned()),
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
        let begins = self.scan.keys.len();
        while let Some(key) = fields.next_key_seed(KeyText)? {
            if self.scan.keys[begins..].contains(&key) {
                self.scan.repeated_key = true;
            }
            let captured = match &*key {
                "kind" if self.top => Some(Captured::Kind),
                "apiVersion" if self.top => Some(Captured::ApiVersion),
                _ => None,
            };
            let timed = (self.scan.timed)(&key);
            fields.next_value_seed(Node::inner(&mut *self.scan, timed, captured))?;
            self.scan.keys.push(key);
        }
        self.scan.keys.truncate(begins);
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
