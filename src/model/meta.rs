//! Object metadata shared by every kind: `metav1.ObjectMeta`, owner references, identifiers.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
pub use smol_str::SmolStr;

use super::Unmodeled;
use super::short_text;
use crate::time::Time;

/// Labels and annotations: string maps that serialize with sorted keys, as Go does.
///
/// Shared copy-on-write, like [`Unmodeled`]: every write copies the stored object to change
/// it, and almost none changes its labels, so the copy shares them instead of copying every
/// key and value. Reads see the map through `Deref`; a change through `DerefMut` copies it
/// first if another object still shares it.
///
/// ```
/// use evictsim::model::StringMap;
///
/// let labels: StringMap = [("app", "web")].into_iter().collect();
/// let mut copy = labels.clone(); // shares the map
/// copy.insert("tier".into(), "front".into()); // copies it, then changes the copy
/// assert_eq!(labels.len(), 1);
/// assert_eq!(copy.get("tier").map(String::as_str), Some("front"));
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StringMap(Arc<BTreeMap<String, String>>);

impl Default for StringMap {
    /// The empty map, shared by every object that has none (most objects' annotations):
    /// no allocation until something is added.
    fn default() -> Self {
        static EMPTY: std::sync::OnceLock<Arc<BTreeMap<String, String>>> =
            std::sync::OnceLock::new();
        StringMap(Arc::clone(EMPTY.get_or_init(|| Arc::new(BTreeMap::new()))))
    }
}

impl StringMap {
    /// An empty map.
    pub fn new() -> Self {
        StringMap::default()
    }

    /// Whether both share one map (a copy not changed since): equal without comparing.
    pub fn shares(&self, other: &StringMap) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Where the shared map lives: equal for copies that share it.
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// How many values share this map.
    pub(crate) fn strong_count(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl std::ops::Deref for StringMap {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

impl std::ops::DerefMut for StringMap {
    fn deref_mut(&mut self) -> &mut BTreeMap<String, String> {
        Arc::make_mut(&mut self.0)
    }
}

impl fmt::Debug for StringMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<BTreeMap<String, String>> for StringMap {
    fn from(map: BTreeMap<String, String>) -> Self {
        if map.is_empty() {
            StringMap::default()
        } else {
            StringMap(Arc::new(map))
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect::<BTreeMap<String, String>>()
            .into()
    }
}

impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for StringMap {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for StringMap {
    type Item = (String, String);
    type IntoIter = std::collections::btree_map::IntoIter<String, String>;
    fn into_iter(self) -> Self::IntoIter {
        Arc::unwrap_or_clone(self.0).into_iter()
    }
}

impl Serialize for StringMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(StringMap::from)
    }
}

/// A Kubernetes object UID.
///
/// Held as its 16 bytes when it is a UUID written as the API server writes them (36
/// characters, lowercase hexadecimal, hyphenated), as every UID the simulator makes is, and
/// as its text otherwise (a client may send any string). Either way it is its text: it
/// reads, compares, orders, hashes and writes as that text.
///
/// ```
/// use evictsim::model::Uid;
///
/// let uid = Uid::from("0f8fad5b-d9cb-469f-a165-70867728950e");
/// assert_eq!(uid.to_string(), "0f8fad5b-d9cb-469f-a165-70867728950e");
/// assert_eq!(&*uid.text(), "0f8fad5b-d9cb-469f-a165-70867728950e");
/// assert!(Uid::from("any text") > uid);
/// assert!(Uid::default().is_empty());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Uid(UidForm);

/// The two forms; a text that reads as a UUID written the API server's way is always held
/// as the UUID, so that equality and hashing of the forms agree with the text's.
#[derive(Clone, PartialEq, Eq, Hash)]
enum UidForm {
    Uuid(uuid::Uuid),
    Text(SmolStr),
}

impl Uid {
    /// The UID of the UUID made of `bytes` (random ones: version 4).
    pub(crate) fn from_random_bytes(bytes: [u8; 16]) -> Uid {
        Uid(UidForm::Uuid(
            uuid::Builder::from_random_bytes(bytes).into_uuid(),
        ))
    }

    /// The UID's text, without allocating.
    pub fn text(&self) -> UidText<'_> {
        UidText(match &self.0 {
            UidForm::Uuid(uuid) => {
                let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
                uuid.hyphenated().encode_lower(&mut text);
                UidTextForm::Uuid(text)
            }
            UidForm::Text(text) => UidTextForm::Text(text),
        })
    }

    /// Whether the UID is empty (an object not stored yet).
    pub fn is_empty(&self) -> bool {
        matches!(&self.0, UidForm::Text(text) if text.is_empty())
    }
}

/// The UID's text if it is a UUID written as the API server writes them.
fn api_server_uuid(text: &str) -> Option<uuid::Uuid> {
    let canonical = text.len() == uuid::fmt::Hyphenated::LENGTH
        && text.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        });
    canonical
        .then(|| uuid::Uuid::try_parse(text).ok())
        .flatten()
}

impl From<&str> for Uid {
    fn from(text: &str) -> Uid {
        match api_server_uuid(text) {
            Some(uuid) => Uid(UidForm::Uuid(uuid)),
            None => Uid(UidForm::Text(text.into())),
        }
    }
}

impl From<String> for Uid {
    fn from(text: String) -> Uid {
        Uid::from(text.as_str())
    }
}

impl From<SmolStr> for Uid {
    fn from(text: SmolStr) -> Uid {
        match api_server_uuid(&text) {
            Some(uuid) => Uid(UidForm::Uuid(uuid)),
            None => Uid(UidForm::Text(text)),
        }
    }
}

impl Default for Uid {
    fn default() -> Uid {
        Uid(UidForm::Text(SmolStr::default()))
    }
}

impl Ord for Uid {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (&self.0, &other.0) {
            // Byte order is the text's order: hexadecimal digits in order, hyphens in
            // fixed places.
            (UidForm::Uuid(a), UidForm::Uuid(b)) => a.as_bytes().cmp(b.as_bytes()),
            _ => (*self.text()).cmp(&*other.text()),
        }
    }
}

impl PartialOrd for Uid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Uid").field(&&*self.text()).finish()
    }
}

impl Serialize for Uid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for Uid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UidVisitor;
        impl serde::de::Visitor<'_> for UidVisitor {
            type Value = Uid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Uid, E> {
                Ok(Uid::from(text))
            }
        }
        deserializer.deserialize_str(UidVisitor)
    }
}

/// A [`Uid`]'s text, made without allocating: it reads as a `&str`.
pub struct UidText<'a>(UidTextForm<'a>);

enum UidTextForm<'a> {
    Uuid([u8; uuid::fmt::Hyphenated::LENGTH]),
    Text(&'a str),
}

impl std::ops::Deref for UidText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            // Always ASCII: written by the encoder just above.
            UidTextForm::Uuid(text) => std::str::from_utf8(text).unwrap_or_default(),
            UidTextForm::Text(text) => text,
        }
    }
}

impl UidText<'_> {
    /// The text's bytes when they are a UUID's, which JSON takes as they are (hexadecimal
    /// digits and hyphens): a writer copies them without checking them.
    pub(crate) fn uuid_ascii(&self) -> Option<&[u8]> {
        match &self.0 {
            UidTextForm::Uuid(text) => Some(text),
            UidTextForm::Text(_) => None,
        }
    }
}

impl fmt::Display for UidText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// A resourceVersion: the store's revision counter when the object was last written,
/// rendered as a decimal string on the wire (clients must treat it as opaque).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceVersion(pub SmolStr);

impl fmt::Display for ResourceVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an object lives: namespace (empty for cluster-scoped kinds) and name.
/// Ordered namespace first, then name, which is the order an etcd-backed LIST returns.
#[derive(Debug, Clone, Eq, Default)]
pub struct ObjectKey {
    /// The namespace; empty for cluster-scoped objects.
    pub namespace: Arc<str>,
    /// The object's name.
    pub name: Arc<str>,
}

impl ObjectKey {
    /// A key in `namespace` named `name`. Keys are shared text, so copies of a key (in
    /// indexes, queues, timers, the event log, a forked cluster) cost no allocation.
    pub fn new(namespace: impl Into<Arc<str>>, name: impl Into<Arc<str>>) -> Self {
        ObjectKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl ObjectKey {
    /// Whether `other` is a copy of this very key, sharing both its texts: a writer handed
    /// the stored key's copy uses it as it is, where copying the stored key again would move
    /// two reference counts up, and later down.
    #[inline]
    pub(crate) fn shares_texts(&self, other: &ObjectKey) -> bool {
        Arc::ptr_eq(&self.name, &other.name) && Arc::ptr_eq(&self.namespace, &other.namespace)
    }
}

impl PartialEq for ObjectKey {
    /// Equal texts, found equal by address when shared (as keys copied from one stored key
    /// are) and otherwise compared without a call to `memcmp`: work queues, timers and
    /// indexes compare keys of one namespace, whose names differ in a few bytes. The name
    /// first, as it tells keys apart.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        short_text::same_shared(&self.name, &other.name)
            && short_text::same_shared(&self.namespace, &other.namespace)
    }
}

impl std::hash::Hash for ObjectKey {
    /// The texts, as equality compares them: each hashed as the stores hash a name (a
    /// short one read as two words), and the pair given as one number (a hasher's `write`
    /// of each text's bytes cost twice as much; the kubelet's table and the timers hash
    /// keys on every step of a pod's lifecycle).
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(
            short_text::hash(&self.namespace) ^ short_text::hash(&self.name).rotate_left(32),
        );
    }
}

impl Ord for ObjectKey {
    /// Namespace, then name, bytewise. Keys in one namespace usually share its text (the
    /// stores hand out one copy per namespace), so the namespaces are first compared by
    /// address; index B-trees compare keys on every write.
    fn cmp(&self, other: &Self) -> Ordering {
        let text = |a: &Arc<str>, b: &Arc<str>| {
            if Arc::ptr_eq(a, b) {
                Ordering::Equal
            } else {
                short_text::order(a, b)
            }
        };
        text(&self.namespace, &other.namespace).then_with(|| text(&self.name, &other.name))
    }
}

impl PartialOrd for ObjectKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for ObjectKey {
    /// As `namespace/name` (just `name` for cluster-scoped objects).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// `metav1.ObjectMeta`, with the fields the simulation reads typed and the rest preserved.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub name: SmolStr,
    /// A prefix from which the server generates a name when `name` is empty.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub generate_name: SmolStr,
    /// The namespace; empty for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub namespace: SmolStr,
    /// Server-assigned unique id.
    #[serde(default, skip_serializing_if = "is_empty_uid")]
    pub uid: Uid,
    /// Server-assigned version of this object's last write.
    #[serde(default, skip_serializing_if = "is_empty_rv")]
    pub resource_version: ResourceVersion,
    /// Spec generation, bumped on every spec change of kinds that track it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: i64,
    /// When the object was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Time>,
    /// When graceful deletion ends (set by the first DELETE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<Time>,
    /// The grace period of the deletion in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Labels.
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub labels: StringMap,
    /// Annotations (evictsim reads its `evictsim.io/*` behaviour annotations from here).
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub annotations: StringMap,
    /// Owners; at most one with `controller: true`. Shared copy-on-write: the pods of one
    /// workload hold one list.
    #[serde(default, skip_serializing_if = "is_empty_list")]
    pub owner_references: OwnerReferences,
    /// Finalizers that keep the object until they are removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Fields not modeled (managedFields, selfLink, …), kept verbatim.
    #[serde(flatten)]
    pub unmodeled: Unmodeled,
}

super::unmodeled::deserialize_keeping_unmodeled!(ObjectMeta {
    "name" => name,
    "generateName" => generate_name,
    "namespace" => namespace,
    "uid" => uid,
    "resourceVersion" => resource_version,
    "generation" => generation,
    "creationTimestamp" => creation_timestamp,
    "deletionTimestamp" => deletion_timestamp,
    "deletionGracePeriodSeconds" => deletion_grace_period_seconds,
    "labels" => labels,
    "annotations" => annotations,
    "ownerReferences" => owner_references,
    "finalizers" => finalizers,
});

fn is_empty_map(map: &StringMap) -> bool {
    map.is_empty()
}
fn is_empty_list(list: &OwnerReferences) -> bool {
    list.is_empty()
}
fn is_zero(n: &i64) -> bool {
    *n == 0
}
fn is_empty_uid(u: &Uid) -> bool {
    u.is_empty()
}
fn is_empty_rv(r: &ResourceVersion) -> bool {
    r.0.is_empty()
}

/// Field by field, as a derived equality would, but the fields a write changes first
/// (deletion stamps, generation, labels, finalizers) and the identity of the object last:
/// the store compares every write with the stored version, and two versions of one object
/// share their name, namespace and UID, so comparing those first would only delay the
/// answer. Destructured so that a new field cannot be left out.
impl PartialEq for ObjectMeta {
    fn eq(&self, other: &Self) -> bool {
        let ObjectMeta {
            name,
            generate_name,
            namespace,
            uid,
            resource_version,
            generation,
            creation_timestamp,
            deletion_timestamp,
            deletion_grace_period_seconds,
            labels,
            annotations,
            owner_references,
            finalizers,
            unmodeled,
        } = self;
        *deletion_timestamp == other.deletion_timestamp
            && *deletion_grace_period_seconds == other.deletion_grace_period_seconds
            && *generation == other.generation
            && *resource_version == other.resource_version
            && *labels == other.labels
            && *annotations == other.annotations
            && *finalizers == other.finalizers
            && *owner_references == other.owner_references
            && *creation_timestamp == other.creation_timestamp
            && *unmodeled == other.unmodeled
            && *name == other.name
            && *namespace == other.namespace
            && *uid == other.uid
            && *generate_name == other.generate_name
    }
}

impl ObjectMeta {
    /// The object's key.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(self.namespace.clone(), self.name.clone())
    }

    /// The owner reference with `controller: true`, if any.
    pub fn controller_ref(&self) -> Option<&OwnerReference> {
        self.owner_references
            .iter()
            .find(|r| r.controller == Some(true))
    }
}

/// An object's owner references, shared copy-on-write ([`SharedList`](super::SharedList)).
pub type OwnerReferences = super::SharedList<OwnerReference>;

/// `metav1.OwnerReference`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// The owner's apiVersion, e.g. `apps/v1`.
    #[serde(default)]
    pub api_version: SmolStr,
    /// The owner's kind.
    #[serde(default)]
    pub kind: SmolStr,
    /// The owner's name.
    #[serde(default)]
    pub name: SmolStr,
    /// The owner's UID.
    #[serde(default)]
    pub uid: Uid,
    /// Whether this owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether the owner's deletion waits for this object (foreground deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

impl OwnerReference {
    /// The API group of `api_version` (`""` for the core group).
    pub fn group(&self) -> &str {
        // A plain scan of a few bytes: `split_once` goes through the general character
        // searcher, several times the cost, and every PDB sync asks this of each owner.
        let version = self.api_version.as_str();
        match version.bytes().position(|b| b == b'/') {
            Some(slash) => &version[..slash],
            None => "",
        }
    }
}

/// `intstr.IntOrString`: an integer or a string such as `"25%"`. The integer is an int32,
/// as upstream's: a larger number does not decode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// An integer.
    Int(i32),
    /// A string, normally a percentage (inline: a PDB is copied at every eviction it
    /// admits, and its `"10%"` with it).
    String(SmolStr),
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IntOrString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an int32 or a string")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<IntOrString, E> {
                i32::try_from(n).map(IntOrString::Int).map_err(|_| {
                    E::custom(format!(
                        "cannot unmarshal number {n} into a value of type int32"
                    ))
                })
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<IntOrString, E> {
                i32::try_from(n).map(IntOrString::Int).map_err(|_| {
                    E::custom(format!(
                        "cannot unmarshal number {n} into a value of type int32"
                    ))
                })
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<IntOrString, E> {
                Err(E::custom(format!(
                    "cannot unmarshal number {n} into a value of type int32"
                )))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<IntOrString, E> {
                Ok(IntOrString::String(text.into()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl IntOrString {
    /// Resolves against `total` as upstream's `GetScaledValueFromIntOrPercent(.., roundUp=true)`
    /// does: integers are themselves, `"N%"` is `ceil(N * total / 100)`.
    ///
    /// # Errors
    /// Upstream's text for a string that is not `<integer>%`.
    ///
    /// # Examples
    /// ```
    /// use evictsim::model::IntOrString;
    /// assert_eq!(IntOrString::String("30%".into()).scaled_value(7), Ok(3));
    /// assert_eq!(IntOrString::Int(2).scaled_value(7), Ok(2));
    /// assert!(IntOrString::String("half".into()).scaled_value(7).is_err());
    /// ```
    pub fn scaled_value(&self, total: i64) -> Result<i64, String> {
        match self {
            IntOrString::Int(n) => Ok(i64::from(*n)),
            IntOrString::String(s) => {
                let percent = parse_percent(s).ok_or_else(|| {
                    format!(
                        "invalid value for IntOrString: invalid value {s_q}",
                        s_q = crate::model::GoQuoted(s)
                    )
                })?;
                Ok(percent_of_rounded_up(percent, total))
            }
        }
    }
}

/// `ceil(percent * total / 100)`, computed in floating point as upstream's
/// `GetScaledValueFromIntOrPercent` does (exact for every count a cluster can hold), so
/// that no percentage or replica count can overflow; out-of-range results saturate.
pub fn percent_of_rounded_up(percent: i64, total: i64) -> i64 {
    (percent as f64 * total as f64 / 100.0).ceil() as i64
}

/// Parses `"N%"` into N.
pub(crate) fn parse_percent(text: &str) -> Option<i64> {
    let digits = text.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    /// Keys hash equal exactly when they are equal: by their texts, not their allocations,
    /// with namespace and name not interchangeable.
    #[test]
    fn keys_hash_as_they_compare() {
        use std::hash::BuildHasher;
        let hash = |key: &ObjectKey| foldhash::fast::FixedState::with_seed(7).hash_one(key);
        let keys = [
            ObjectKey::new("shop", "web-1"),
            ObjectKey::new(String::from("shop"), String::from("web-1")),
            ObjectKey::new("web-1", "shop"),
            ObjectKey::new("shop", "web-2"),
            ObjectKey::new("a-namespace-of-forty-bytes-and-more-0001", "web-1"),
            ObjectKey::new("a-namespace-of-forty-bytes-and-more-0002", "web-1"),
            ObjectKey::new("", "node-1"),
        ];
        for a in &keys {
            for b in &keys {
                assert_eq!(a == b, hash(a) == hash(b), "{a} and {b}");
            }
        }
    }

    /// Empty maps, however made, share one allocation; changing one copies it first.
    #[test]
    fn empty_string_maps_share_one_map() {
        let decoded: StringMap = serde_json::from_str("{}").unwrap();
        let collected: StringMap = Vec::<(String, String)>::new().into_iter().collect();
        let mut changed = StringMap::default();
        assert!(decoded.shares(&StringMap::new()) && collected.shares(&decoded));
        changed.insert("app".into(), "web".into());
        assert!(!changed.shares(&decoded));
        assert!(StringMap::default().is_empty() && decoded.is_empty());
    }

    proptest::proptest! {
        /// A UID is its text whichever form holds it: it writes back and displays as the
        /// text it was made from, and two UIDs compare, order and hash as their texts do —
        /// UUIDs written the API server's way (held as bytes) beside near misses held as
        /// text (uppercase, braced, short, other characters) and arbitrary strings.
        #[test]
        fn uids_are_their_text(
            texts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::array::uniform16(proptest::num::u8::ANY)
                        .prop_map(|b| uuid::Uuid::from_bytes(b).hyphenated().to_string()),
                    proptest::array::uniform16(proptest::num::u8::ANY)
                        .prop_map(|b| uuid::Uuid::from_bytes(b).hyphenated().to_string().to_uppercase()),
                    proptest::array::uniform16(proptest::num::u8::ANY)
                        .prop_map(|b| uuid::Uuid::from_bytes(b).braced().to_string()),
                    "[0-9a-f-]{34,37}",
                    ".{0,40}",
                ],
                2..6,
            ),
        ) {
            use proptest::prop_assert_eq;
            use std::hash::BuildHasher;
            let state = std::collections::hash_map::RandomState::new();
            let hash_with = |uid: &Uid| state.hash_one(uid);
            let uids: Vec<Uid> = texts.iter().map(|t| Uid::from(t.as_str())).collect();
            for (text, uid) in texts.iter().zip(&uids) {
                prop_assert_eq!(&*uid.text(), text.as_str());
                prop_assert_eq!(uid.to_string(), text.clone());
                prop_assert_eq!(serde_json::to_value(uid).unwrap(), serde_json::Value::from(text.as_str()));
                let decoded: Uid = serde_json::from_value(serde_json::Value::from(text.as_str())).unwrap();
                prop_assert_eq!(&decoded, uid);
                prop_assert_eq!(Uid::from(SmolStr::from(text.as_str())), uid.clone());
            }
            for (a, x) in texts.iter().zip(&uids) {
                for (b, y) in texts.iter().zip(&uids) {
                    prop_assert_eq!(x.cmp(y), a.cmp(b));
                    prop_assert_eq!(x == y, a == b);
                    if a == b {
                        prop_assert_eq!(hash_with(x), hash_with(y));
                    }
                }
            }
        }
    }

    #[test]
    fn percentages_round_up_c6() {
        let cases = [
            ("30%", 7, 3),
            ("30%", 3, 1),
            ("28%", 11, 4),
            ("28%", 22, 7),
            ("1%", 1, 1),
            ("0%", 10, 0),
            ("100%", 10, 10),
            ("34%", 3, 2),
            ("20%", 10, 2),
        ];
        for (percent, total, want) in cases {
            assert_eq!(
                IntOrString::String(percent.into()).scaled_value(total),
                Ok(want),
                "{percent} of {total}"
            );
        }
    }

    #[test]
    fn malformed_percentages_are_errors() {
        for bad in ["", "%", "5", "5.5%", "-5%", "abc%"] {
            assert!(
                IntOrString::String(bad.into()).scaled_value(10).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_metadata_fields_survive_a_round_trip() {
        let text = r#"{"name":"a","managedFields":[{"manager":"kubectl"}],"selfLink":"/x"}"#;
        let meta: ObjectMeta = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&meta).unwrap(), text);
    }
}
