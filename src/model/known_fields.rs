//! Which fields Kubernetes knows in each served kind, for strict field validation: a field
//! evictsim does not model is kept as it is, but a field no Kubernetes release has (a typo
//! such as `minAvailabel`) is reported, as kube-apiserver's `fieldValidation` reports it.
//!
//! The field tree is `known_fields.json`, generated from upstream's OpenAPI schemas
//! (through k8s-openapi's types, Kubernetes 1.37) and checked against them by
//! `tests/known_fields.rs`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::object_text::KeyCheck;
use serde_json::Value;

/// `known_fields.json` as it is written.
#[derive(Debug, Deserialize)]
struct Generated {
    /// Kind → its root type.
    kinds: BTreeMap<String, String>,
    /// Type → field → what the field holds: `None` for nothing to check, `"Type"` for
    /// objects (or lists of objects) of that type, `"*Type"` for maps of them.
    types: BTreeMap<String, BTreeMap<String, Option<String>>>,
}

/// The field tree with its types resolved to their places, so that a walk looks up one
/// hash per field (a snapshot's load walks every field of every object) rather than
/// searching types by their long names.
struct KnownFields {
    /// Kind → its root type.
    kinds: BTreeMap<String, Option<TypeIndex>>,
    /// Each type's fields.
    types: Vec<TypeFields>,
}

/// A type's place in [`KnownFields::types`]. Where a type has no fields listed, its
/// `Option<TypeIndex>` is `None`: nothing inside it is checked.
type TypeIndex = usize;

/// A type's fields: name → what the field holds.
type TypeFields = hashbrown::HashMap<String, Holds, foldhash::fast::FixedState>;

/// What a field holds.
#[derive(Debug, Clone, Copy)]
enum Holds {
    /// Nothing checked.
    Anything,
    /// Objects (or lists of them) of a type.
    Objects(Option<TypeIndex>),
    /// A map of objects of a type.
    MapOf(Option<TypeIndex>),
}

impl KnownFields {
    fn resolve(generated: Generated) -> KnownFields {
        let index: BTreeMap<&str, TypeIndex> = generated
            .types
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let find = |name: &str| index.get(name).copied();
        let types = generated
            .types
            .values()
            .map(|fields| {
                let mut resolved =
                    TypeFields::with_capacity_and_hasher(fields.len(), Default::default());
                for (name, holds) in fields {
                    let holds = match holds.as_deref() {
                        None => Holds::Anything,
                        Some(inner) => match inner.strip_prefix('*') {
                            Some(value_type) => Holds::MapOf(find(value_type)),
                            None => Holds::Objects(find(inner)),
                        },
                    };
                    resolved.insert(name.clone(), holds);
                }
                resolved
            })
            .collect();
        let kinds = generated
            .kinds
            .iter()
            .map(|(kind, root)| (kind.clone(), find(root)))
            .collect();
        KnownFields { kinds, types }
    }

    fn fields(&self, type_index: Option<TypeIndex>) -> Option<&TypeFields> {
        type_index.map(|i| &self.types[i])
    }
}

fn known_fields() -> &'static KnownFields {
    static KNOWN: OnceLock<KnownFields> = OnceLock::new();
    KNOWN.get_or_init(|| {
        KnownFields::resolve(
            serde_json::from_str(include_str!("known_fields.json"))
                .expect("known_fields.json is generated and checked by tests/known_fields.rs"),
        )
    })
}

/// The paths of the fields in `object` that Kubernetes does not know for `kind`, in
/// document order, written as upstream's strict decoder writes them
/// (`spec.minAvailabel`, `spec.containers[0].imagee`). Empty for a kind it has no schema
/// for.
///
/// # Examples
/// ```
/// use serde_json::json;
/// let pdb = json!({"metadata": {"name": "web", "managedFields": []},
///     "spec": {"minAvailabel": 1, "selector": {"matchLabels": {"app": "web"}}}});
/// assert_eq!(evictsim::model::unknown_fields("PodDisruptionBudget", &pdb), ["spec.minAvailabel"]);
/// ```
pub fn unknown_fields(kind: &str, object: &Value) -> Vec<String> {
    let known = known_fields();
    let mut unknown = Vec::new();
    if let Some(&root) = known.kinds.get(kind) {
        walk(known, root, object, &mut String::new(), &mut unknown);
    }
    unknown
}

fn walk(
    known: &KnownFields,
    type_index: Option<TypeIndex>,
    value: &Value,
    path: &mut String,
    out: &mut Vec<String>,
) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                walk(known, type_index, item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(fields) => {
            let Some(schema) = known.fields(type_index) else {
                return;
            };
            for (name, field) in fields {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                match schema.get(name.as_str()) {
                    None => out.push(path.clone()),
                    Some(Holds::Anything) => {}
                    Some(Holds::MapOf(value_type)) => {
                        if let Value::Object(entries) = field {
                            for (key, entry) in entries {
                                let before = path.len();
                                let _ = write!(path, "[{key}]");
                                walk(known, *value_type, entry, path, out);
                                path.truncate(before);
                            }
                        }
                    }
                    Some(Holds::Objects(inner)) => walk(known, *inner, field, path, out),
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// [`unknown_fields`] of an object given as its JSON text, read without building it: what
/// loading a snapshot of a whole cluster checks of each of its items, where the trees of
/// `Value`s cost more than the rest of the load. The same paths in the same order as
/// [`unknown_fields`] gives for the text's value, when the text has no object with a key
/// twice (that value would hold the last; the walk sees both).
///
/// # Errors
/// The JSON parser's, when `text` is not one JSON value.
pub(crate) fn unknown_fields_in_text(kind: &str, text: &str) -> serde_json::Result<Vec<String>> {
    let mut unknown = Vec::new();
    walk_text(kind, text, &mut unknown, &mut NoKeyCheck)?;
    Ok(unknown)
}

/// What one reading of a request body's text found: the paths of its unknown fields
/// ([`unknown_fields_in_text`]) and its top-level `kind` and `apiVersion` when strings.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CheckedText {
    pub(crate) unknown: Vec<String>,
    pub(crate) kind: Option<String>,
    pub(crate) api_version: Option<String>,
}

/// [`unknown_fields_in_text`] and [`ObjectScan`](super::ObjectScan)'s checks in one reading
/// of `text`, for a request body that is read once before it is decoded: `None` when the
/// text is not one JSON object, or has an object (at any depth) with a key twice.
pub(crate) fn check_object_text(kind: &str, text: &str) -> Option<CheckedText> {
    let mut unknown = Vec::new();
    let mut check = KeyCheck::default();
    let top_is_object = walk_text(kind, text, &mut unknown, &mut check).ok()?;
    (top_is_object && !check.repeated).then_some(CheckedText {
        unknown,
        kind: check.kind,
        api_version: check.api_version,
    })
}

/// Walks `text` against `kind`'s fields, the unknown ones into `unknown`, its keys checked
/// by `check`. Gives whether the text is an object.
fn walk_text<'de, C: KeyChecking<'de>>(
    kind: &str,
    text: &'de str,
    unknown: &mut Vec<String>,
    check: &mut C,
) -> serde_json::Result<bool> {
    let known = known_fields();
    let mut reader = serde_json::Deserializer::from_str(text);
    let mut walk = TextWalk {
        known,
        path: String::new(),
        unknown,
        check,
        top_is_object: false,
    };
    // A kind with no schema has no unknown fields; its keys are still checked.
    let root = known.kinds.get(kind).copied().flatten();
    Fields {
        walk: &mut walk,
        type_index: root,
    }
    .deserialize(&mut reader)?;
    reader.end()?;
    Ok(walk.top_is_object)
}

/// What a walk does with the keys it reads and the values it does not look into: nothing
/// ([`NoKeyCheck`], a snapshot's walk, whose first pass checked them), or [`KeyCheck`]'s
/// checks (a request body's one reading). A type rather than a flag, so that the
/// snapshot's walk carries no trace of the checks.
trait KeyChecking<'de> {
    /// Where the keys of an object about to be read begin.
    fn object_begins(&self) -> usize;
    /// Notes `key`, read from the object that began at `begins`.
    fn note_key(&mut self, begins: usize, key: Cow<'de, str>);
    /// The object that began at `begins` is read.
    fn object_ends(&mut self, begins: usize);
    /// Reads the next value of `fields` without looking into it; `top_key` is its key when
    /// it is a field of the top-level object.
    fn skip_value<A: MapAccess<'de>>(
        &mut self,
        fields: &mut A,
        top_key: Option<&str>,
    ) -> Result<(), A::Error>;
    /// [`KeyChecking::skip_value`] of the next item of `items`; `false` at their end.
    fn skip_item<A: SeqAccess<'de>>(&mut self, items: &mut A) -> Result<bool, A::Error>;
}

/// Keys not checked.
struct NoKeyCheck;

impl<'de> KeyChecking<'de> for NoKeyCheck {
    #[inline(always)]
    fn object_begins(&self) -> usize {
        0
    }

    #[inline(always)]
    fn note_key(&mut self, _: usize, _: Cow<'de, str>) {}

    #[inline(always)]
    fn object_ends(&mut self, _: usize) {}

    #[inline(always)]
    fn skip_value<A: MapAccess<'de>>(
        &mut self,
        fields: &mut A,
        _: Option<&str>,
    ) -> Result<(), A::Error> {
        fields.next_value::<IgnoredAny>().map(|_| ())
    }

    #[inline(always)]
    fn skip_item<A: SeqAccess<'de>>(&mut self, items: &mut A) -> Result<bool, A::Error> {
        items.next_element::<IgnoredAny>().map(|i| i.is_some())
    }
}

impl<'de> KeyChecking<'de> for KeyCheck<'de> {
    fn object_begins(&self) -> usize {
        KeyCheck::object_begins(self)
    }

    fn note_key(&mut self, begins: usize, key: Cow<'de, str>) {
        KeyCheck::note_key(self, begins, key);
    }

    fn object_ends(&mut self, begins: usize) {
        KeyCheck::object_ends(self, begins);
    }

    fn skip_value<A: MapAccess<'de>>(
        &mut self,
        fields: &mut A,
        top_key: Option<&str>,
    ) -> Result<(), A::Error> {
        fields.next_value_seed(self.skip(top_key))
    }

    fn skip_item<A: SeqAccess<'de>>(&mut self, items: &mut A) -> Result<bool, A::Error> {
        items
            .next_element_seed(self.skip(None))
            .map(|i| i.is_some())
    }
}

/// The state of a walk of a text: where it is and what it found.
struct TextWalk<'a, C> {
    known: &'static KnownFields,
    path: String,
    unknown: &'a mut Vec<String>,
    check: &'a mut C,
    /// Whether the text's value is an object.
    top_is_object: bool,
}

/// A value whose objects are of the type at `type_index` (lists of them included, as in
/// [`walk`]).
struct Fields<'w, 'a, C> {
    walk: &'w mut TextWalk<'a, C>,
    type_index: Option<TypeIndex>,
}

/// A value that is a map of objects of the type at `value_type` (`"*Type"` in the field
/// tree).
struct MapOf<'w, 'a, C> {
    walk: &'w mut TextWalk<'a, C>,
    value_type: Option<TypeIndex>,
}

/// An object's key read from JSON text: borrowed from the text unless it has escapes.
pub(crate) struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(text))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text.to_owned()))
    }
}

/// Scalars are accepted and ignored wherever a walk meets them.
macro_rules! ignore_scalars {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

impl<'de, C: KeyChecking<'de>> DeserializeSeed<'de> for Fields<'_, '_, C> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, C: KeyChecking<'de>> Visitor<'de> for Fields<'_, '_, C> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    ignore_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let len = self.walk.path.len();
            let _ = write!(self.walk.path, "[{i}]");
            let item = items.next_element_seed(Fields {
                walk: &mut *self.walk,
                type_index: self.type_index,
            })?;
            self.walk.path.truncate(len);
            if item.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<(), A::Error> {
        // Only the top-level object is read with an empty path (its fields' paths are not).
        let top = self.walk.path.is_empty() && !self.walk.top_is_object;
        self.walk.top_is_object |= top;
        let begins = self.walk.check.object_begins();
        let schema = self.walk.known.fields(self.type_index);
        while let Some(name) = fields.next_key_seed(KeyText)? {
            let top_key = top.then_some(&*name);
            let Some(schema) = schema else {
                self.walk.check.skip_value(&mut fields, top_key)?;
                self.walk.check.note_key(begins, name);
                continue;
            };
            let len = self.walk.path.len();
            if len > 0 {
                self.walk.path.push('.');
            }
            self.walk.path.push_str(&name);
            match schema.get(&*name) {
                None => {
                    self.walk.unknown.push(self.walk.path.clone());
                    self.walk.check.skip_value(&mut fields, top_key)?;
                }
                Some(Holds::Anything) => self.walk.check.skip_value(&mut fields, top_key)?,
                Some(&Holds::MapOf(value_type)) => fields.next_value_seed(MapOf {
                    walk: &mut *self.walk,
                    value_type,
                })?,
                Some(&Holds::Objects(inner)) => fields.next_value_seed(Fields {
                    walk: &mut *self.walk,
                    type_index: inner,
                })?,
            }
            self.walk.path.truncate(len);
            self.walk.check.note_key(begins, name);
        }
        self.walk.check.object_ends(begins);
        Ok(())
    }
}

impl<'de, C: KeyChecking<'de>> DeserializeSeed<'de> for MapOf<'_, '_, C> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, C: KeyChecking<'de>> Visitor<'de> for MapOf<'_, '_, C> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    ignore_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while self.walk.check.skip_item(&mut items)? {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        let begins = self.walk.check.object_begins();
        while let Some(key) = entries.next_key_seed(KeyText)? {
            let len = self.walk.path.len();
            let _ = write!(self.walk.path, "[{key}]");
            entries.next_value_seed(Fields {
                walk: &mut *self.walk,
                type_index: self.value_type,
            })?;
            self.walk.path.truncate(len);
            self.walk.check.note_key(begins, key);
        }
        self.walk.check.object_ends(begins);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_walk_finds_what_the_tree_walk_finds() {
        let objects = [
            (
                "Pod",
                json!({"metadata": {"name": "p", "labelz": {}, "managedFields": [{"fieldsV1": {"x": 1}, "tme": 2}]},
                "spec": {"containers": [{"name": "a", "imagee": "x", "ports": [{"containerPort": 1, "hostPortt": 2}]}, {"name": "b"}],
                    "volumes": [[{"nme": 1}]], "nodeName": "n"},
                "status": {"conditions": [{"type": "Ready", "reason": "r", "lastProbeTim": null}]}, "extra": [1, {"a": 2}]}),
            ),
            (
                "PodDisruptionBudget",
                json!({"spec": {"minAvailabel": 1, "selector": {"matchLabels": {"app": "web"}}}}),
            ),
            (
                "Node",
                json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "NoSchedule", "valu": "v"}]}}),
            ),
            ("Gadget", json!({"anything": {"goes": [1, 2]}})),
            ("Pod", json!({"spec": "not an object", "status": [1, 2]})),
            (
                "Pod",
                json!({"spec": {"containers": [{"na\"me": "a", "\u{e9}": 1}]}}),
            ),
        ];
        for (kind, object) in objects {
            let by_tree = unknown_fields(kind, &object);
            let by_text = unknown_fields_in_text(kind, &object.to_string()).expect("JSON");
            assert_eq!(by_text, by_tree, "{kind} {object}");
        }
        let pod = json!({"spec": {"containers": [{"imagee": 1}], "nodeNamee": 2}});
        assert_eq!(
            unknown_fields_in_text("Pod", &pod.to_string()).expect("JSON"),
            ["spec.containers[0].imagee", "spec.nodeNamee"]
        );
        assert!(unknown_fields_in_text("Pod", "{").is_err());
    }

    /// The one-pass reading of a request body agrees with its two parts read apart: the
    /// scan's verdict, kind and apiVersion, and the field walk's paths.
    #[test]
    fn checking_a_text_in_one_reading_finds_what_the_scan_and_the_walk_find() {
        let fixture: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/shop-snapshot.json"))
                .expect("the shop fixture");
        let mut texts: Vec<(String, String)> = fixture["items"]
            .as_array()
            .expect("a List")
            .iter()
            .map(|item| {
                (
                    item["kind"].as_str().unwrap_or("").to_string(),
                    item.to_string(),
                )
            })
            .collect();
        let odd = [
            (
                "Pod",
                r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","nmae":"b"}}"#,
            ),
            ("Pod", r#"{"kind":"Pod","kind":"Pod"}"#),
            ("Pod", r#"{"metadata":{"name":"a","name":"b"}}"#),
            (
                "Pod",
                r#"{"spec":{"containers":[{"name":"a","resources":{"x":1,"x":2}}]}}"#,
            ),
            (
                "Pod",
                r#"{"spec":{"containers":[{"name":"a"},{"name":"b","name":"c"}]}}"#,
            ),
            ("Pod", r#"{"metadata":{"labels":{"a":"1","a":"2"}}}"#),
            (
                "Pod",
                r#"{"metadata":{"managedFields":[{"fieldsV1":{"f:a":{},"f:a":{}}}]}}"#,
            ),
            ("Pod", r#"{"bogus":{"x":1,"x":1}}"#),
            (
                "Pod",
                r#"{"kind":{"kind":"Pod"},"apiVersion":5,"spec":{"kind":"x"}}"#,
            ),
            ("Pod", r#"{"a":{"b":1},"c":{"b":2},"b":{"b":{"b":1}}}"#),
            ("Pod", r#"{"":{"kind":"x"},"kind":"Pod"}"#),
            (
                "Gadget",
                r#"{"kind":"Gadget","anything":{"goes":[1,{"a":1,"a":2}]}}"#,
            ),
            (
                "Gadget",
                r#"{"kind":"Gadget","apiVersion":"x/v1","anything":{"goes":[1,2]}}"#,
            ),
            (
                "Service",
                r#"{"kind":"Service","spec":{"selector":{"app":"web"},"ports":[{"port":80,"prot":1}]}}"#,
            ),
            ("Pod", "[]"),
            ("Pod", "[{}]"),
            ("Pod", "\"Pod\""),
            ("Pod", "{} {}"),
            ("Pod", "{"),
            ("Pod", ""),
            ("Pod", "{}"),
        ];
        texts.extend(
            odd.iter()
                .map(|(kind, text)| (kind.to_string(), text.to_string())),
        );
        for (kind, text) in &texts {
            let scan = super::super::ObjectScan::of(text, |_| false);
            let checked = check_object_text(kind, text);
            match (&scan, &checked) {
                (None, None) => {}
                (Some(scan), Some(checked)) => {
                    assert_eq!(checked.kind, scan.kind, "{text}");
                    assert_eq!(checked.api_version, scan.api_version, "{text}");
                    assert_eq!(
                        checked.unknown,
                        unknown_fields_in_text(kind, text).expect("JSON"),
                        "{text}"
                    );
                }
                _ => panic!("{text}: the scan gives {scan:?}, the one reading {checked:?}"),
            }
        }
    }
}
