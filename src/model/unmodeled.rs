//! [`Unmodeled`]: the fields of an object this model does not interpret, held as JSON text;
//! [`RawJson`]: one such value on its own.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::known_fields::KeyText;

/// Fields this model does not interpret, kept so that objects survive a round trip unchanged.
///
/// Held as their JSON text, compact, as serde_json writes it (`{"name":value,…}`, in the
/// order the fields came), beside where each field's name and value are in it: the bulk of
/// a real object is fields like these (containers, volumes, `managedFields`, statuses), and
/// as trees of `serde_json::Value`s they took five times their text — about 23 KB for each
/// pod of a `kubectl get -o json` snapshot. A read of one field finds it by name in the
/// list of positions and gives its text ([`Unmodeled::raw`]) or parses it
/// ([`Unmodeled::value`]); writing an object copies the text.
///
/// Shared copy-on-write: copying an object (every write copies the stored one to change it)
/// shares these fields instead of copying the text. A change ([`Unmodeled::edit`],
/// [`Unmodeled::insert`], [`Unmodeled::remove`]) reads the fields as a map, changes it and
/// writes the text anew, for this value alone. The empty set (most statuses, most
/// conditions, every request's metadata) is no allocation and no handle: making, copying
/// and dropping one touches no reference count.
///
/// Equality is the maps' (the order of fields does not matter), decided on the texts when
/// they are equal or their fields come in the same order, as two versions of one object's do.
///
/// ```
/// use evictsim::model::Unmodeled;
/// use serde_json::json;
///
/// let mut fields = Unmodeled::new();
/// fields.insert("restartPolicy".into(), json!("Always"));
/// fields.insert("dnsPolicy".into(), json!("ClusterFirst"));
/// assert_eq!(fields.raw("restartPolicy"), Some(r#""Always""#));
/// assert_eq!(fields.value("dnsPolicy"), Some(json!("ClusterFirst")));
/// assert_eq!(fields.text(), r#"{"restartPolicy":"Always","dnsPolicy":"ClusterFirst"}"#);
///
/// let copy = fields.clone(); // shares the text
/// assert!(copy.shares(&fields));
/// fields.edit(|map| map.remove("dnsPolicy"));
/// assert_eq!(fields.len(), 1);
/// assert_eq!(copy.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct Unmodeled(Option<Arc<Fields>>);

/// The text of a non-empty set of fields and where each field is in it.
struct Fields {
    /// `{"name":value,…}`, compact.
    text: Box<str>,
    /// One per field, in the text's order.
    spans: Box<[Span]>,
}

/// Where one field is in [`Fields::text`]: its name's opening quote, and its value.
#[derive(Clone, Copy)]
struct Span {
    name_start: u32,
    value_start: u32,
    value_end: u32,
}

impl Fields {
    /// The text of `fields`, in their order, with the positions of each.
    fn of<'a>(fields: impl IntoIterator<Item = (&'a String, &'a Value)>) -> Option<Fields> {
        let mut writer = FieldsWriter::new();
        for (name, value) in fields {
            writer.start_field(name);
            // Writing to a vector cannot fail, and a map's values always serialize.
            serde_json::to_writer(&mut writer.text, value).expect("a JSON value serializes");
            writer.end_field();
        }
        writer.finish()
    }

    /// The field at `span`'s name, as written in the text (escapes and all).
    fn written_name(&self, span: &Span) -> &str {
        &self.text[span.name_start as usize + 1..span.value_start as usize - 2]
    }

    /// The field at `span`'s name.
    fn name(&self, span: &Span) -> Cow<'_, str> {
        let written = self.written_name(span);
        if !written.contains('\\') {
            return Cow::Borrowed(written);
        }
        let quoted = &self.text[span.name_start as usize..span.value_start as usize - 1];
        // The text was written from this very name.
        Cow::Owned(serde_json::from_str(quoted).expect("a written name reads back"))
    }

    /// The field at `span`'s value, as JSON text.
    fn value(&self, span: &Span) -> &str {
        &self.text[span.value_start as usize..span.value_end as usize]
    }

    /// The span of the field named `name`.
    fn find(&self, name: &str) -> Option<&Span> {
        // A name written without escapes is its own text; one with escapes is read.
        self.spans.iter().find(|span| {
            let written = self.written_name(span);
            match written.contains('\\') {
                false => written == name,
                true => self.name(span) == name,
            }
        })
    }
}

/// A position in a text of fields, which is never near 4 GiB: a request's body is at most
/// 3 MiB, and a file would need more than 4 GiB of JSON for one object (and several times
/// that in memory to parse it).
fn offset(at: usize) -> u32 {
    u32::try_from(at).expect("a set of fields is shorter than 4 GiB")
}

/// Writes the text of a set of fields and the positions of each, one field at a time: the
/// name by [`FieldsWriter::start_field`], then the value's JSON into `text`, then
/// [`FieldsWriter::end_field`].
struct FieldsWriter {
    text: Vec<u8>,
    spans: Vec<Span>,
    /// Where the field being written starts: its name's opening quote, its value.
    started: (usize, usize),
}

impl FieldsWriter {
    fn new() -> FieldsWriter {
        FieldsWriter {
            text: Vec::with_capacity(64),
            spans: Vec::new(),
            started: (0, 0),
        }
    }

    fn start_field(&mut self, name: &str) {
        self.text
            .push(if self.spans.is_empty() { b'{' } else { b',' });
        let name_start = self.text.len();
        // Writing to a vector cannot fail, and a string always serializes.
        serde_json::to_writer(&mut self.text, name).expect("a string serializes");
        self.text.push(b':');
        self.started = (name_start, self.text.len());
    }

    /// Whether the field being written has the name of one written before it (serde_json
    /// writes a name one way only, so the written texts compare).
    fn repeats_name(&self) -> bool {
        let (name_start, value_start) = self.started;
        let name = &self.text[name_start..value_start];
        self.spans
            .iter()
            .any(|span| &self.text[span.name_start as usize..span.value_start as usize] == name)
    }

    fn end_field(&mut self) {
        let (name_start, value_start) = self.started;
        self.spans.push(Span {
            name_start: offset(name_start),
            value_start: offset(value_start),
            value_end: offset(self.text.len()),
        });
    }

    /// The fields written so far as a map, the field being written left out.
    fn into_map(mut self) -> Map<String, Value> {
        self.text.truncate(self.started.0 - 1);
        self.text.push(b'}');
        let text = String::from_utf8(self.text).expect("serde_json writes UTF-8");
        match parse(&text) {
            Value::Object(map) => map,
            _ => unreachable!("fields are written as an object"),
        }
    }

    fn finish(mut self) -> Option<Fields> {
        if self.spans.is_empty() {
            return None;
        }
        self.text.push(b'}');
        let text = String::from_utf8(self.text).expect("serde_json writes UTF-8");
        Some(Fields {
            text: text.into_boxed_str(),
            spans: self.spans.into_boxed_slice(),
        })
    }
}

/// A value read from a deserializer straight into its compact JSON text, appended to a
/// buffer, with no tree built ([`serde_transcode`] from the deserializer to serde_json's
/// writer).
struct JsonTextOf<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for JsonTextOf<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let mut writer = serde_json::Serializer::new(self.0);
        serde_transcode::transcode(deserializer, &mut writer).map_err(serde::de::Error::custom)
    }
}

/// Reads an object's fields into [`Fields`], each value as its text.
struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Unmodeled;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Unmodeled, A::Error> {
        let mut writer = FieldsWriter::new();
        while let Some(name) = entries.next_key_seed(KeyText)? {
            writer.start_field(&name);
            if writer.repeats_name() {
                // A name given twice: a map's semantics (the last value, in the first
                // one's place) for this rare object.
                let mut map = writer.into_map();
                map.insert(name.into_owned(), entries.next_value()?);
                while let Some((name, value)) = entries.next_entry::<String, Value>()? {
                    map.insert(name, value);
                }
                return Ok(Unmodeled::from(map));
            }
            entries.next_value_seed(JsonTextOf(&mut writer.text))?;
            writer.end_field();
        }
        Ok(Unmodeled(writer.finish().map(Arc::new)))
    }
}

/// The unmodeled fields of an object, read one at a time by the visitor of the struct that
/// keeps them ([`deserialize_keeping_unmodeled`]): each value written as its text as it is
/// read, where serde's `flatten` first buffered the whole object as a tree of its own
/// `Content` values, then read the fields it did not know out of that tree.
pub(crate) struct UnmodeledFields {
    writer: FieldsWriter,
    /// Set once a name is given twice: a map's semantics from then on (the last value, in
    /// the first one's place), as [`Unmodeled`]'s own reading has.
    map: Option<Map<String, Value>>,
}

impl UnmodeledFields {
    pub(crate) fn new() -> UnmodeledFields {
        UnmodeledFields {
            writer: FieldsWriter::new(),
            map: None,
        }
    }

    /// Reads the next value of `entries` as the field `name`.
    pub(crate) fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: Cow<'de, str>,
        entries: &mut A,
    ) -> Result<(), A::Error> {
        if let Some(map) = &mut self.map {
            map.insert(name.into_owned(), entries.next_value()?);
            return Ok(());
        }
        self.writer.start_field(&name);
        if self.writer.repeats_name() {
            let mut map = std::mem::replace(&mut self.writer, FieldsWriter::new()).into_map();
            map.insert(name.into_owned(), entries.next_value()?);
            self.map = Some(map);
            return Ok(());
        }
        entries.next_value_seed(JsonTextOf(&mut self.writer.text))?;
        self.writer.end_field();
        Ok(())
    }

    pub(crate) fn finish(self) -> Unmodeled {
        match self.map {
            Some(map) => Unmodeled::from(map),
            None => Unmodeled(self.writer.finish().map(Arc::new)),
        }
    }
}

/// `Deserialize` for a struct that reads the fields it names as their types read
/// themselves and keeps every other field in its `unmodeled: Unmodeled`, as
/// `#[derive(Deserialize)]` with `#[serde(default)]` on each named field and
/// `#[serde(flatten)]` on `unmodeled` does, without `flatten`'s buffering of the whole
/// object as a tree first (a pod's metadata with its managedFields, a spec with its
/// containers: most of a snapshot's decoding). The same results: a named field missing is
/// its type's default, one given twice is an error (`duplicate field`), a value of the wrong
/// type is the type's own error, the other fields are kept in order, and anything but an
/// object is `invalid type: …, expected struct <Name>`. The struct's `Default` gives the
/// fields it does not read.
///
/// `deserialize_keeping_unmodeled!(PodSpec { "nodeName" => node_name, … });`
macro_rules! deserialize_keeping_unmodeled {
    ($ty:ident { $($name:literal => $field:ident),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields;

                impl<'de> serde::de::Visitor<'de> for Fields {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(concat!("struct ", stringify!($ty)))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut entries: A,
                    ) -> Result<$ty, A::Error> {
                        let mut object = $ty::default();
                        let mut unmodeled = $crate::model::unmodeled::UnmodeledFields::new();
                        // Whether each named field was read (hygiene keeps these apart from
                        // the locals above, whatever the fields' names).
                        $(let mut $field = false;)+
                        while let Some(name) =
                            entries.next_key_seed($crate::model::known_fields::KeyText)?
                        {
                            match &*name {
                                $($name => {
                                    if $field {
                                        return Err(<A::Error as serde::de::Error>::duplicate_field($name));
                                    }
                                    $field = true;
                                    object.$field = entries.next_value()?;
                                })+
                                _ => unmodeled.read(name, &mut entries)?,
                            }
                        }
                        object.unmodeled = unmodeled.finish();
                        Ok(object)
                    }
                }

                deserializer.deserialize_map(Fields)
            }
        }
    };
}
pub(crate) use deserialize_keeping_unmodeled;

/// The value of a field's text.
pub(crate) fn parse(text: &str) -> Value {
    // The text was written from a value, which may nest deeper than serde_json reads by
    // default (128 levels): a YAML body's, or one a program built. Its reading recurses
    // no deeper than its writing did.
    let mut reader = serde_json::Deserializer::from_str(text);
    reader.disable_recursion_limit();
    Value::deserialize(&mut reader).expect("a written value reads back")
}

impl Unmodeled {
    /// An empty set of fields.
    pub fn new() -> Self {
        Unmodeled::default()
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |fields| fields.spans.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The JSON text of the field `name`'s value, if there is such a field.
    pub fn raw(&self, name: &str) -> Option<&str> {
        let fields = self.0.as_deref()?;
        fields.find(name).map(|span| fields.value(span))
    }

    /// The field `name`'s value, parsed from its text, if there is such a field.
    pub fn value(&self, name: &str) -> Option<Value> {
        self.raw(name).map(parse)
    }

    /// Whether there is a field `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// The fields in order: each name, and its value's JSON text.
    pub fn iter_raw(&self) -> impl Iterator<Item = (Cow<'_, str>, &str)> {
        self.0.as_deref().into_iter().flat_map(|fields| {
            fields
                .spans
                .iter()
                .map(|span| (fields.name(span), fields.value(span)))
        })
    }

    /// The fields in order, each as written in [`Unmodeled::text`]: `"name":value`.
    pub(crate) fn written_fields(&self) -> impl Iterator<Item = &str> {
        self.0.as_deref().into_iter().flat_map(|fields| {
            fields
                .spans
                .iter()
                .map(|span| &fields.text[span.name_start as usize..span.value_end as usize])
        })
    }

    /// Whether `test` holds for every field, given each name as written (a name with
    /// escapes is not a plain name's text, so it equals none) and its value's JSON text:
    /// for scans against plain names, which need not read escapes.
    pub(crate) fn all_written(&self, mut test: impl FnMut(&str, &str) -> bool) -> bool {
        let Some(fields) = self.0.as_deref() else {
            return true;
        };
        for span in &*fields.spans {
            if !test(fields.written_name(span), fields.value(span)) {
                return false;
            }
        }
        true
    }

    /// The fields as one JSON object's text (`{}` when there are none).
    pub fn text(&self) -> &str {
        self.0.as_deref().map_or("{}", |fields| &fields.text)
    }

    /// The fields as a map, parsed from their text.
    pub fn to_map(&self) -> Map<String, Value> {
        match self.0.as_deref() {
            Some(fields) => fields
                .spans
                .iter()
                .map(|span| (fields.name(span).into_owned(), parse(fields.value(span))))
                .collect(),
            None => Map::new(),
        }
    }

    /// Changes the fields as a map: `change` gets them parsed, and what it leaves is written
    /// back, for this value alone (copies made before keep theirs).
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut Map<String, Value>) -> R) -> R {
        let mut map = self.to_map();
        let result = change(&mut map);
        *self = Unmodeled::from(map);
        result
    }

    /// Sets the field `name` to `value`, where it is if there is one (giving back the value
    /// it had), else after the others.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        self.edit(|map| map.insert(name, value))
    }

    /// Removes the field `name`, giving back its value, as `serde_json::Map::remove` does
    /// (the last field takes its place).
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        if !self.contains_key(name) {
            return None;
        }
        self.edit(|map| map.remove(name))
    }

    /// Whether both have the field `name` with equal values, or neither has it.
    pub(crate) fn same_field(&self, other: &Unmodeled, name: &str) -> bool {
        match (self.raw(name), other.raw(name)) {
            (Some(a), Some(b)) => a == b || parse(a) == parse(b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }

    /// Whether both share one set of fields (a copy not changed since), or are both empty.
    pub fn shares(&self, other: &Unmodeled) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }

    /// Where the shared fields live: equal for copies that share them, 0 for the empty set.
    pub(crate) fn address(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |fields| Arc::as_ptr(fields) as usize)
    }

    /// How many values share these fields (0 for the empty set, which is not held).
    pub(crate) fn strong_count(&self) -> usize {
        self.0.as_ref().map_or(0, Arc::strong_count)
    }
}

impl PartialEq for Unmodeled {
    /// Map equality: equal texts are equal maps, and when both hold their fields in the same
    /// order (two versions of one object do) the fields are compared one by one, a value
    /// parsed only when its texts differ (its objects' fields may be in another order);
    /// otherwise the maps are.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = match (self.0.as_deref(), other.0.as_deref()) {
            (Some(a), Some(b)) => (a, b),
            (a, b) => return a.is_none() && b.is_none(),
        };
        if std::ptr::eq(a, b) || a.text == b.text {
            return true;
        }
        if a.spans.len() != b.spans.len() {
            return false;
        }
        let same_order = a
            .spans
            .iter()
            .zip(b.spans.iter())
            .all(|(x, y)| a.written_name(x) == b.written_name(y));
        if !same_order {
            return self.to_map() == other.to_map();
        }
        a.spans.iter().zip(b.spans.iter()).all(|(x, y)| {
            let (x, y) = (a.value(x), b.value(y));
            x == y || parse(x) == parse(y)
        })
    }
}

impl fmt::Debug for Unmodeled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_map().fmt(f)
    }
}

impl From<Map<String, Value>> for Unmodeled {
    fn from(map: Map<String, Value>) -> Self {
        Unmodeled(Fields::of(&map).map(Arc::new))
    }
}

impl<'a> FromIterator<(&'a String, &'a Value)> for Unmodeled {
    fn from_iter<I: IntoIterator<Item = (&'a String, &'a Value)>>(fields: I) -> Self {
        Unmodeled(Fields::of(fields).map(Arc::new))
    }
}

/// `object` as a JSON value, at any depth: what `serde_json::to_value` gives, which reads
/// each unmodeled field's text back with serde_json's default depth limit (128 levels)
/// and so fails on the deeper values a YAML body or a program may have stored.
pub(crate) fn json_value_of<T: Serialize + ?Sized>(object: &T) -> serde_json::Result<Value> {
    let text = serde_json::to_string(object)?;
    let mut reader = serde_json::Deserializer::from_str(&text);
    reader.disable_recursion_limit();
    Value::deserialize(&mut reader)
}

/// A field's value text, serialized as that very JSON.
pub(crate) struct RawField<'a>(pub(crate) &'a str);

impl Serialize for RawField<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // serde_json writes a `RawValue` verbatim and reads it into a `Value` for
        // `to_value`; the text is checked as JSON again on the way (it always is), at any
        // depth, as `parse` reads it.
        let mut reader = serde_json::Deserializer::from_str(self.0);
        reader.disable_recursion_limit();
        let raw = <&serde_json::value::RawValue>::deserialize(&mut reader)
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl Serialize for Unmodeled {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter_raw().map(|(name, value)| (name, RawField(value))))
    }
}

impl<'de> Deserialize<'de> for Unmodeled {
    /// Each field's value is written as text as it is read (a name given twice keeps its
    /// last value in its first place, as in a map).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// One JSON value this model does not interpret (a pod's `containerStatuses`), held as its
/// compact text, as serde_json writes it, and shared: copies made of it hold the same text.
///
/// For the reason [`Unmodeled`] is text: a pod's container statuses (container and image
/// IDs, start times) are its own on a real cluster, and as a tree of `serde_json::Value`s
/// took several times their text. Equality is the values' (texts first, then parsed).
///
/// ```
/// use evictsim::model::RawJson;
/// use serde_json::json;
///
/// let statuses = RawJson::from(json!([{"name": "app", "ready": true}]));
/// assert_eq!(statuses.text(), r#"[{"name":"app","ready":true}]"#);
/// assert_eq!(statuses.to_value()[0]["ready"], json!(true));
/// assert_eq!(statuses, RawJson::from(json!([{"ready": true, "name": "app"}])));
/// ```
#[derive(Clone)]
pub struct RawJson(Arc<str>);

impl RawJson {
    /// The value's JSON text, compact.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The value, parsed from its text.
    pub fn to_value(&self) -> Value {
        parse(&self.0)
    }

    /// Whether both hold one text (a copy of the other).
    pub fn shares(&self, other: &RawJson) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        RawJson::from(&value)
    }
}

impl From<&Value> for RawJson {
    fn from(value: &Value) -> Self {
        RawJson(Arc::from(value.to_string()))
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.shares(other) || self.0 == other.0 || self.to_value() == other.to_value()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_value().fmt(f)
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawField(&self.0).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut text = Vec::new();
        JsonTextOf(&mut text).deserialize(deserializer)?;
        let text = String::from_utf8(text).expect("serde_json writes UTF-8");
        Ok(RawJson(Arc::from(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(value: Value) -> Unmodeled {
        match value {
            Value::Object(map) => Unmodeled::from(map),
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn fields_read_from_any_deserializer_are_written_as_the_map_would_be() {
        let texts = [
            r#"{"b":[1,{"x":"y"}],"a":null,"c":{"d":1.5,"e":-0.0}}"#,
            r#"{"a\"b":"\u00e9\n","n":[18446744073709551615,-9223372036854775808,1e300,0.1]}"#,
            r#"{"a":1,"b":2,"a":{"x":3}}"#,
            r#"{"deep":[[[{"a":[]}]]],"t":true,"f":false}"#,
            "{}",
        ];
        for text in texts {
            let map: Map<String, Value> = serde_json::from_str(text).unwrap();
            let by_map = Unmodeled::from(map.clone());
            let from_text: Unmodeled = serde_json::from_str(text).unwrap();
            let from_value: Unmodeled = serde_json::from_value(Value::Object(map)).unwrap();
            assert_eq!(from_text.text(), by_map.text(), "{text}");
            assert_eq!(from_value.text(), by_map.text(), "{text}");
            assert_eq!(from_text.len(), by_map.len(), "{text}");
        }
        // A name given twice keeps the last value, in the first one's place.
        let repeated: Unmodeled = serde_json::from_str(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(repeated.text(), r#"{"a":3,"b":2}"#);
        let statuses: RawJson =
            serde_json::from_str(r#"[ {"name": "app", "ready" : true} ]"#).unwrap();
        assert_eq!(statuses.text(), r#"[{"name":"app","ready":true}]"#);
    }

    #[test]
    fn fields_read_back_as_given_in_their_order() {
        let fields = of(json!({"b": [1, {"x": "y"}], "a": null, "c": {"d": 1.5}}));
        assert_eq!(fields.len(), 3);
        assert_eq!(
            fields.text(),
            r#"{"b":[1,{"x":"y"}],"a":null,"c":{"d":1.5}}"#
        );
        assert_eq!(fields.raw("a"), Some("null"));
        assert_eq!(fields.value("c"), Some(json!({"d": 1.5})));
        assert_eq!(
            fields.raw("d"),
            None,
            "only the top level's fields are fields"
        );
        let names: Vec<_> = fields.iter_raw().map(|(n, _)| n.into_owned()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(
            serde_json::to_string(&fields).unwrap(),
            r#"{"b":[1,{"x":"y"}],"a":null,"c":{"d":1.5}}"#
        );
        assert_eq!(
            serde_json::to_value(&fields).unwrap(),
            json!({"b": [1, {"x": "y"}], "a": null, "c": {"d": 1.5}})
        );
    }

    #[test]
    fn names_with_escapes_are_found_by_their_text() {
        let fields = of(json!({"a\"b": 1, "tab\t": 2, "plain": 3}));
        assert_eq!(fields.raw("a\"b"), Some("1"));
        assert_eq!(fields.raw("tab\t"), Some("2"));
        assert_eq!(fields.raw("plain"), Some("3"));
        assert_eq!(fields.raw("a\\\"b"), None);
        assert_eq!(
            fields.to_map(),
            json!({"a\"b": 1, "tab\t": 2, "plain": 3})
                .as_object()
                .unwrap()
                .clone()
        );
    }

    #[test]
    fn a_raw_value_reads_writes_and_compares_as_its_value() {
        let value =
            json!([{"name": "app", "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]);
        let raw = RawJson::from(&value);
        assert_eq!(raw.to_value(), value);
        assert_eq!(serde_json::to_string(&raw).unwrap(), value.to_string());
        assert_eq!(serde_json::to_value(&raw).unwrap(), value);
        let decoded: RawJson = serde_json::from_str(&format!(" {value} ")).unwrap();
        assert_eq!(decoded.text(), raw.text(), "decoded compact");
        assert!(raw.clone().shares(&raw) && !decoded.shares(&raw) && decoded == raw);
        assert_ne!(raw, RawJson::from(json!([])));
        let none: Option<RawJson> = serde_json::from_str("null").unwrap();
        assert!(none.is_none());
    }

    /// Values nested deeper than serde_json reads by default (128 levels: a YAML body, or a
    /// value a program built) read back, compare and write as they were given.
    #[test]
    fn deeply_nested_values_read_back() {
        let mut deep = json!("bottom");
        for _ in 0..300 {
            deep = json!([deep]);
        }
        let mut map = Map::new();
        map.insert("deep".into(), deep.clone());
        let fields = Unmodeled::from(map.clone());
        assert_eq!(fields.value("deep"), Some(deep.clone()));
        assert_eq!(fields.to_map(), map);
        let mut other = map.clone();
        other.insert("deep".into(), json!([deep]));
        assert_ne!(fields, Unmodeled::from(other));
        let raw = RawJson::from(&deep);
        assert_eq!(raw.to_value(), deep);
        assert_eq!(serde_json::to_string(&raw).unwrap(), deep.to_string());
        assert_eq!(
            serde_json::to_string(&fields).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(json_value_of(&fields).unwrap(), Value::Object(map));
        // As the API writes an object holding it.
        let node = crate::model::Node {
            status: fields,
            ..Default::default()
        };
        assert_eq!(crate::rest::object_json(&node)["status"]["deep"], deep);
    }

    #[test]
    fn equality_is_the_maps() {
        let a = of(json!({"x": 1, "y": {"p": 1, "q": 2}}));
        assert_eq!(a, of(json!({"x": 1, "y": {"q": 2, "p": 1}})));
        assert_eq!(a, of(json!({"y": {"p": 1, "q": 2}, "x": 1})));
        assert_ne!(a, of(json!({"x": 2, "y": {"p": 1, "q": 2}})));
        assert_ne!(a, of(json!({"x": 1})));
        assert_ne!(a, Unmodeled::new());
        assert_eq!(Unmodeled::new(), of(json!({})));
        assert!(of(json!({})).is_empty());
    }

    #[test]
    fn changes_are_the_maps_and_leave_copies_alone() {
        let mut a = of(json!({"x": 1, "y": 2, "z": 3}));
        let copy = a.clone();
        assert_eq!(a.insert("y".into(), json!("two")), Some(json!(2)));
        assert_eq!(a.text(), r#"{"x":1,"y":"two","z":3}"#);
        assert_eq!(a.remove("x"), Some(json!(1)));
        let mut map = json!({"x": 1, "y": "two", "z": 3})
            .as_object()
            .unwrap()
            .clone();
        map.remove("x");
        assert_eq!(
            a.text(),
            serde_json::to_string(&map).unwrap(),
            "as Map::remove orders"
        );
        assert_eq!(a.remove("absent"), None);
        assert_eq!(copy.text(), r#"{"x":1,"y":2,"z":3}"#);
        a.edit(|map| map.clear());
        assert!(a.is_empty());
    }

    /// An empty set of unmodeled fields, however made, holds nothing and reads, compares,
    /// writes and shares as the empty map; one emptied by a change is such a set too.
    #[test]
    fn empty_unmodeled_fields_hold_nothing() {
        let decoded: Unmodeled = serde_json::from_str("{}").unwrap();
        let made = Unmodeled::from(Map::new());
        assert_eq!((decoded.address(), decoded.strong_count()), (0, 0));
        assert!(decoded.shares(&Unmodeled::new()) && made.shares(&decoded));
        assert_eq!(serde_json::to_string(&made).unwrap(), "{}");
        let mut changed = Unmodeled::default();
        changed.insert("replicas".into(), Value::from(3));
        assert!(!changed.shares(&decoded) && changed != decoded);
        let copy = changed.clone();
        assert!(copy.shares(&changed) && copy.strong_count() == 2);
        changed.remove("replicas");
        assert!(changed.is_empty() && changed == decoded && changed.shares(&decoded));
        assert_eq!(changed.strong_count(), 0, "emptied, it holds nothing");
        assert_eq!(
            copy.value("replicas"),
            Some(Value::from(3)),
            "the copy kept its field"
        );
        assert_eq!(format!("{decoded:?}"), "{}");
    }

    proptest::proptest! {
        /// Fields equal as maps are: in any order, with any value differing or not.
        #[test]
        fn unmodeled_fields_compare_as_maps(
            fields in proptest::collection::vec((0u8..4, 0u8..3), 0..5),
            other in proptest::collection::vec((0u8..4, 0u8..3), 0..5),
            reverse in proptest::bool::ANY,
        ) {
            let map = |fields: &[(u8, u8)]| -> Map<String, Value> {
                fields.iter().map(|(k, v)| (format!("f{k}"), Value::from(*v))).collect()
            };
            let a = map(&fields);
            let mut same_fields: Vec<(u8, u8)> = fields.clone();
            if reverse {
                same_fields.reverse();
            }
            for b in [map(&other), map(&same_fields)] {
                proptest::prop_assert_eq!(
                    Unmodeled::from(a.clone()) == Unmodeled::from(b.clone()),
                    a == b
                );
            }
        }
    }

    /// A JSON value of any shape, with names and strings that need escapes among them.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Fractions whose decimal text is exact, which any parser reads back exactly.
            (any::<i32>(), 0..8i32).prop_map(|(m, e)| Value::from(f64::from(m) / 2f64.powi(e))),
            "[a-z\"\\\\\t\u{e9}\u{1F600}]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::vec(("[a-z\"\\\\]{0,4}", inner), 0..4)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Held as text, any set of fields reads back as the map it was made from: each field
        /// by its name, the whole as serde_json writes the map, in its order.
        #[test]
        fn fields_read_back_as_the_map_they_were_made_from(
            fields in proptest::collection::vec(("[a-z\"\\\\.]{0,5}", json_value()), 0..6),
        ) {
            use proptest::prop_assert_eq;
            let map: Map<String, Value> = fields.into_iter().collect();
            let held = Unmodeled::from(map.clone());
            prop_assert_eq!(held.len(), map.len());
            prop_assert_eq!(held.to_map(), map.clone());
            prop_assert_eq!(held.text(), serde_json::to_string(&map).unwrap());
            prop_assert_eq!(serde_json::to_string(&held).unwrap(), serde_json::to_string(&map).unwrap());
            prop_assert_eq!(serde_json::to_value(&held).unwrap(), Value::Object(map.clone()));
            for (name, value) in &map {
                prop_assert_eq!(held.value(name), Some(value.clone()));
            }
            let names: Vec<String> = held.iter_raw().map(|(n, _)| n.into_owned()).collect();
            prop_assert_eq!(names, map.keys().cloned().collect::<Vec<_>>());
            let absent = "absent-name-\u{1}";
            proptest::prop_assert!(!held.contains_key(absent));
        }
    }

    /// The structs that keep their unmodeled fields read exactly as serde's derive with
    /// `flatten` reads them (mirrors of them, derived, are the reference): the same fields,
    /// the same unmodeled text, the same errors, from trees and from text.
    mod against_derived_flatten {
        use super::super::*;
        use crate::model::{ObjectMeta, PodConditions, PodSpec, PodStatus, SmolStr};
        use serde_json::json;

        /// serde's derive with `flatten`: the reference, named as the model's structs are (a
        /// struct's name is in its errors).
        mod mirror {
            use super::super::super::*;
            use crate::model::{
                IntOrString, LabelSelector, OwnerReferences, PodConditions, ResourceVersion,
                SmolStr, StringMap, Uid,
            };
            use crate::time::Time;

            #[derive(Debug, Deserialize)]
            #[serde(rename_all = "camelCase")]
            pub(super) struct ObjectMeta {
                #[serde(default)]
                pub(super) name: SmolStr,
                #[serde(default)]
                pub(super) generate_name: SmolStr,
                #[serde(default)]
                pub(super) namespace: SmolStr,
                #[serde(default)]
                pub(super) uid: Uid,
                #[serde(default)]
                pub(super) resource_version: ResourceVersion,
                #[serde(default)]
                pub(super) generation: i64,
                #[serde(default)]
                pub(super) creation_timestamp: Option<Time>,
                #[serde(default)]
                pub(super) deletion_timestamp: Option<Time>,
                #[serde(default)]
                pub(super) deletion_grace_period_seconds: Option<i64>,
                #[serde(default)]
                pub(super) labels: StringMap,
                #[serde(default)]
                pub(super) annotations: StringMap,
                #[serde(default)]
                pub(super) owner_references: OwnerReferences,
                #[serde(default)]
                pub(super) finalizers: Vec<String>,
                #[serde(flatten)]
                pub(super) unmodeled: Unmodeled,
            }

            #[derive(Debug, Deserialize)]
            #[serde(rename_all = "camelCase")]
            pub(super) struct PodSpec {
                #[serde(default)]
                pub(super) node_name: SmolStr,
                #[serde(default)]
                pub(super) termination_grace_period_seconds: Option<i64>,
                #[serde(flatten)]
                pub(super) unmodeled: Unmodeled,
            }

            #[derive(Debug, Deserialize)]
            #[serde(rename_all = "camelCase")]
            pub(super) struct PodStatus {
                #[serde(default)]
                pub(super) phase: SmolStr,
                #[serde(default)]
                pub(super) conditions: PodConditions,
                #[serde(default)]
                pub(super) container_statuses: Option<RawJson>,
                #[serde(flatten)]
                pub(super) unmodeled: Unmodeled,
            }

            #[derive(Debug, Deserialize)]
            #[serde(rename_all = "camelCase")]
            pub(super) struct PodDisruptionBudgetSpec {
                #[serde(default)]
                pub(super) min_available: Option<IntOrString>,
                #[serde(default)]
                pub(super) selector: Option<LabelSelector>,
                #[serde(default)]
                pub(super) max_unavailable: Option<IntOrString>,
                #[serde(default)]
                pub(super) unhealthy_pod_eviction_policy: Option<String>,
                #[serde(flatten)]
                pub(super) unmodeled: Unmodeled,
            }
        }

        /// Both readings of `value`, from the tree and from its text, as comparable text.
        fn readings<T: serde::de::DeserializeOwned>(
            value: &Value,
            show: impl Fn(&T) -> String,
        ) -> (String, String) {
            let tree = match serde_json::from_value::<T>(value.clone()) {
                Ok(read) => show(&read),
                Err(e) => format!("error {e}"),
            };
            // From text only the outcome is compared: an error's line and column are
            // where each reading noticed it.
            let text = match serde_json::from_str::<T>(&value.to_string()) {
                Ok(read) => show(&read),
                Err(_) => "error".into(),
            };
            (tree, text)
        }

        fn assert_same<T, M>(
            values: &[Value],
            show: impl Fn(&T) -> String,
            mirror: impl Fn(&M) -> String,
        ) where
            T: serde::de::DeserializeOwned,
            M: serde::de::DeserializeOwned,
        {
            for value in values {
                let (ours, theirs) = (readings(value, &show), readings(value, &mirror));
                assert_eq!(ours.0, theirs.0, "from the tree: {value}");
                let outcome = |text: &str| text.starts_with("error");
                assert_eq!(outcome(&ours.1), outcome(&theirs.1), "from text: {value}");
                if !outcome(&ours.1) {
                    assert_eq!(ours.1, theirs.1, "from text: {value}");
                }
            }
        }

        fn odd_values() -> Vec<Value> {
            vec![
                json!({}),
                json!(null),
                json!([]),
                json!("x"),
                json!(5),
                json!({"extra": {"a": [1, {"b": null}]}, "more": -0.0, "n": 18446744073709551615u64}),
            ]
        }

        #[test]
        fn metadata_reads_as_the_derived_flatten_reads_it() {
            let fixture: Value =
                serde_json::from_str(include_str!("../../tests/fixtures/shop-snapshot.json"))
                    .unwrap();
            let mut values: Vec<Value> = fixture["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["metadata"].clone())
                .collect();
            values.extend(odd_values());
            values.extend([
                json!({"name": 5}),
                json!({"name": null}),
                json!({"labels": {"a": 1}}),
                json!({"labels": null}),
                json!({"generation": "1"}),
                json!({"generation": 1.5}),
                json!({"creationTimestamp": "yesterday"}),
                json!({"creationTimestamp": null, "deletionTimestamp": "2026-01-01T00:00:00Z"}),
                json!({"ownerReferences": [{"name": "a", "controller": true, "uid": "u", "kind": "ReplicaSet", "apiVersion": "apps/v1"}], "zz": 1, "aa": 2}),
                json!({"ownerReferences": {}}),
                json!({"finalizers": ["a", 1]}),
                json!({"managedFields": [{"manager": "m", "fieldsV1": {"f:a": {}}}], "name": "n", "selfLink": "/x"}),
            ]);
            // The same fields of both types, as text.
            macro_rules! text_of {
                ($m:expr) => {{
                    let m = $m;
                    format!(
                        "{} {} {} {} {:?} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {}",
                        m.name,
                        m.generate_name,
                        m.namespace,
                        m.uid,
                        m.resource_version,
                        m.generation,
                        m.creation_timestamp,
                        m.deletion_timestamp,
                        m.deletion_grace_period_seconds,
                        m.labels,
                        m.annotations,
                        m.owner_references,
                        m.finalizers,
                        m.unmodeled.text()
                    )
                }};
            }
            assert_same::<ObjectMeta, mirror::ObjectMeta>(
                &values,
                |m| text_of!(m),
                |m| text_of!(m),
            );
        }

        #[test]
        fn pod_specs_statuses_and_budget_specs_read_as_the_derived_flatten_reads_them() {
            let fixture: Value =
                serde_json::from_str(include_str!("../../tests/fixtures/shop-snapshot.json"))
                    .unwrap();
            let items = fixture["items"].as_array().unwrap();
            let of_kind = |kind: &str, part: &str| -> Vec<Value> {
                items
                    .iter()
                    .filter(|i| i["kind"] == kind)
                    .map(|i| i[part].clone())
                    .collect()
            };
            let mut specs = of_kind("Pod", "spec");
            specs.extend(odd_values());
            specs.extend([
                json!({"nodeName": 1}),
                json!({"terminationGracePeriodSeconds": "30"}),
                json!({"terminationGracePeriodSeconds": null, "containers": [{"name": "c"}]}),
                json!({"containers": [], "nodeName": "n", "volumes": null}),
            ]);
            assert_same::<PodSpec, mirror::PodSpec>(
                &specs,
                |s| {
                    format!(
                        "{} {:?} {}",
                        s.node_name,
                        s.termination_grace_period_seconds,
                        s.unmodeled.text()
                    )
                },
                |s| {
                    format!(
                        "{} {:?} {}",
                        s.node_name,
                        s.termination_grace_period_seconds,
                        s.unmodeled.text()
                    )
                },
            );
            let mut statuses = of_kind("Pod", "status");
            statuses.extend(odd_values());
            statuses.extend([
                json!({"phase": 1}),
                json!({"conditions": null}),
                json!({"conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": null, "podIP": "10.0.0.1"}),
                json!({"conditions": "x"}),
                json!({"containerStatuses": [{"name": "c", "ready": true}], "qosClass": "BestEffort"}),
            ]);
            let show_status = |c: &PodConditions,
                               statuses: &Option<RawJson>,
                               phase: &SmolStr,
                               rest: &Unmodeled| {
                format!(
                    "{phase} {c:?} {:?} {}",
                    statuses.as_ref().map(RawJson::text),
                    rest.text()
                )
            };
            assert_same::<PodStatus, mirror::PodStatus>(
                &statuses,
                |s| show_status(&s.conditions, &s.container_statuses, &s.phase, &s.unmodeled),
                |s| show_status(&s.conditions, &s.container_statuses, &s.phase, &s.unmodeled),
            );
            let mut budgets = of_kind("PodDisruptionBudget", "spec");
            budgets.extend(odd_values());
            budgets.extend([
                json!({"minAvailable": "50%", "selector": {"matchLabels": {"a": "b"}}, "x": 1}),
                json!({"maxUnavailable": 1.5}),
                json!({"maxUnavailable": true}),
                json!({"selector": null, "unhealthyPodEvictionPolicy": "AlwaysAllow"}),
            ]);
            assert_same::<crate::model::PodDisruptionBudgetSpec, mirror::PodDisruptionBudgetSpec>(
                &budgets,
                |s| {
                    format!(
                        "{:?} {:?} {:?} {:?} {}",
                        s.min_available,
                        s.selector,
                        s.max_unavailable,
                        s.unhealthy_pod_eviction_policy,
                        s.unmodeled.text()
                    )
                },
                |s| {
                    format!(
                        "{:?} {:?} {:?} {:?} {}",
                        s.min_available,
                        s.selector,
                        s.max_unavailable,
                        s.unhealthy_pod_eviction_policy,
                        s.unmodeled.text()
                    )
                },
            );
        }

        #[test]
        fn a_named_field_given_twice_is_refused_and_an_unmodeled_one_keeps_its_last_value() {
            let twice = r#"{"nodeName":"a","nodeName":"b"}"#;
            let ours = serde_json::from_str::<PodSpec>(twice)
                .unwrap_err()
                .to_string();
            let theirs = serde_json::from_str::<mirror::PodSpec>(twice)
                .unwrap_err()
                .to_string();
            assert!(ours.starts_with("duplicate field `nodeName`"), "{ours}");
            assert!(theirs.starts_with("duplicate field `nodeName`"), "{theirs}");
            let text = r#"{"a":1,"nodeName":"n","b":2,"a":3}"#;
            let ours: PodSpec = serde_json::from_str(text).unwrap();
            let theirs: mirror::PodSpec = serde_json::from_str(text).unwrap();
            assert_eq!(ours.unmodeled.text(), theirs.unmodeled.text());
            assert_eq!(ours.unmodeled.text(), r#"{"a":3,"b":2}"#);
        }
    }
}
