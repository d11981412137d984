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
    let known = known_fields();
    let mut unknown = Vec::new();
    let mut reader = serde_json::Deserializer::from_str(text);
    match known.kinds.get(kind) {
        Some(&root) => {
            let mut walk = TextWalk {
                known,
                path: String::new(),
                unknown: &mut unknown,
            };
            Fields {
                walk: &mut walk,
                type_index: root,
            }
            .deserialize(&mut reader)?;
        }
        None => {
            IgnoredAny::deserialize(&mut reader)?;
        }
    }
    reader.end()?;
    Ok(unknown)
}

/// The state of a walk of a text: where it is and what it found.
struct TextWalk<'a> {
    known: &'static KnownFields,
    path: String,
    unknown: &'a mut Vec<String>,
}

/// A value whose objects are of the type at `type_index` (lists of them included, as in
/// [`walk`]).
struct Fields<'w, 'a> {
    walk: &'w mut TextWalk<'a>,
    type_index: Option<TypeIndex>,
}

/// A value that is a map of objects of the type at `value_type` (`"*Type"` in the field
/// tree).
struct MapOf<'w, 'a> {
    walk: &'w mut TextWalk<'a>,
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

impl<'de> DeserializeSeed<'de> for Fields<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_, '_> {
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
        let Some(schema) = self.walk.known.fields(self.type_index) else {
            while fields.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        while let Some(name) = fields.next_key_seed(KeyText)? {
            let len = self.walk.path.len();
            if len > 0 {
                self.walk.path.push('.');
            }
            self.walk.path.push_str(&name);
            match schema.get(&*name) {
                None => {
                    self.walk.unknown.push(self.walk.path.clone());
                    fields.next_value::<IgnoredAny>()?;
                }
                Some(Holds::Anything) => {
                    fields.next_value::<IgnoredAny>()?;
                }
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
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for MapOf<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MapOf<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    ignore_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        while let Some(key) = entries.next_key_seed(KeyText)? {
            let len = self.walk.path.len();
            let _ = write!(self.walk.path, "[{key}]");
            entries.next_value_seed(Fields {
                walk: &mut *self.walk,
                type_index: self.value_type,
            })?;
            self.walk.path.truncate(len);
        }
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
}
