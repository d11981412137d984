//! A Pod as the API returns it, written straight to bytes: exactly the text serde_json
//! writes for it, in a fraction of the instructions.
//!
//! Why a writer by hand for this one kind: pods are what clients read most (every GET in a
//! drain, every LIST of a node's pods), and a pod is mostly short strings. serde_json
//! writes each field name as a string at run time, looking every byte up in its escape
//! table and writing each quote, colon and comma through `io::Write`: about two thirds of
//! a pod GET. Here the field names, with their quotes, colon and comma, are constants
//! copied in one go; values are checked for the three kinds of byte JSON escapes eight
//! bytes at a time and copied whole when there are none (nearly always). Escaping, numbers
//! in verbatim fields and every verbatim value are left to serde_json, so the text is its
//! text: `tests` compares the two on generated pods of every shape.
//! (A general serializer with the same string fast path, the crates `sonic-rs` and
//! `simd-json` were measured for this and bought 0.5%, 5% and −25%.)

use std::net::Ipv4Addr;

use serde_json::Value;

use crate::model::{
    ObjectMeta, OwnerReference, Pod, PodCondition, StatusField, StringMap, Unmodeled,
};
use crate::time::Time;

/// Appends the API's JSON for `pod`, with `kind` and `apiVersion` first.
pub(crate) fn write_pod(pod: &Pod, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"kind":"Pod","apiVersion":"v1","metadata":"#);
    write_meta(&pod.metadata, out);
    out.extend_from_slice(br#","spec":"#);
    let spec = &pod.spec;
    let mut fields = Object::open(out);
    if !spec.node_name.is_empty() {
        fields.key(br#""nodeName":"#);
        string(fields.out, &spec.node_name);
    }
    if let Some(seconds) = spec.termination_grace_period_seconds {
        fields.key(br#""terminationGracePeriodSeconds":"#);
        integer(fields.out, seconds);
    }
    fields.verbatim(&spec.unmodeled);
    fields.close();
    out.extend_from_slice(br#","status":"#);
    let status = &pod.status;
    let mut fields = Object::open(out);
    if !status.phase.is_empty() {
        fields.key(br#""phase":"#);
        string(fields.out, &status.phase);
    }
    if !status.conditions.is_empty() {
        fields.key(br#""conditions":"#);
        array(fields.out, &status.conditions, write_condition);
    }
    for (name, field) in status.other_fields() {
        fields.key_named(&name);
        match field {
            StatusField::Verbatim(text) => fields.out.extend_from_slice(text.as_bytes()),
            StatusField::PodIp(ip) => address(fields.out, ip),
            StatusField::PodIps(ip) => {
                fields.out.extend_from_slice(br#"[{"ip":"#);
                address(fields.out, ip);
                fields.out.extend_from_slice(b"}]");
            }
            StatusField::StartTime(time) => timestamp(fields.out, &time),
        }
    }
    fields.close();
    out.push(b'}');
}

fn write_meta(meta: &ObjectMeta, out: &mut Vec<u8>) {
    let mut fields = Object::open(out);
    for (key, text) in [
        (&br#""name":"#[..], meta.name.as_str()),
        (br#""generateName":"#, &meta.generate_name),
        (br#""namespace":"#, &meta.namespace),
    ] {
        if !text.is_empty() {
            fields.key(key);
            string(fields.out, text);
        }
    }
    if !meta.uid.is_empty() {
        fields.key(br#""uid":"#);
        uid(fields.out, &meta.uid);
    }
    if !meta.resource_version.0.is_empty() {
        fields.key(br#""resourceVersion":"#);
        string(fields.out, &meta.resource_version.0);
    }
    if meta.generation != 0 {
        fields.key(br#""generation":"#);
        integer(fields.out, meta.generation);
    }
    if let Some(time) = &meta.creation_timestamp {
        fields.key(br#""creationTimestamp":"#);
        timestamp(fields.out, time);
    }
    if let Some(time) = &meta.deletion_timestamp {
        fields.key(br#""deletionTimestamp":"#);
        timestamp(fields.out, time);
    }
    if let Some(seconds) = meta.deletion_grace_period_seconds {
        fields.key(br#""deletionGracePeriodSeconds":"#);
        integer(fields.out, seconds);
    }
    if !meta.labels.is_empty() {
        fields.key(br#""labels":"#);
        string_map(fields.out, &meta.labels);
    }
    if !meta.annotations.is_empty() {
        fields.key(br#""annotations":"#);
        string_map(fields.out, &meta.annotations);
    }
    if !meta.owner_references.is_empty() {
        fields.key(br#""ownerReferences":"#);
        array(fields.out, &meta.owner_references, write_owner);
    }
    if !meta.finalizers.is_empty() {
        fields.key(br#""finalizers":"#);
        array(fields.out, &meta.finalizers, |finalizer, out| {
            string(out, finalizer)
        });
    }
    fields.verbatim(&meta.unmodeled);
    fields.close();
}

fn write_owner(owner: &OwnerReference, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"apiVersion":"#);
    string(out, &owner.api_version);
    out.extend_from_slice(br#","kind":"#);
    string(out, &owner.kind);
    out.extend_from_slice(br#","name":"#);
    string(out, &owner.name);
    out.extend_from_slice(br#","uid":"#);
    uid(out, &owner.uid);
    if let Some(controller) = owner.controller {
        out.extend_from_slice(br#","controller":"#);
        boolean(out, controller);
    }
    if let Some(block) = owner.block_owner_deletion {
        out.extend_from_slice(br#","blockOwnerDeletion":"#);
        boolean(out, block);
    }
    out.push(b'}');
}

fn write_condition(condition: &PodCondition, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"type":"#);
    string(out, &condition.type_);
    out.extend_from_slice(br#","status":"#);
    string(out, &condition.status);
    if let Some(generation) = condition.observed_generation {
        out.extend_from_slice(br#","observedGeneration":"#);
        integer(out, generation);
    }
    if let Some(probe) = &condition.last_probe_time {
        out.extend_from_slice(br#","lastProbeTime":"#);
        verbatim(out, probe);
    }
    if let Some(time) = &condition.last_transition_time {
        out.extend_from_slice(br#","lastTransitionTime":"#);
        timestamp(out, time);
    }
    if !condition.reason.is_empty() {
        out.extend_from_slice(br#","reason":"#);
        string(out, &condition.reason);
    }
    if !condition.message.is_empty() {
        out.extend_from_slice(br#","message":"#);
        string(out, &condition.message);
    }
    out.push(b'}');
}

/// A JSON object being written: a comma goes before every field but the first.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    /// Starts a field: `quoted_key` is its name in quotes with the colon after.
    fn key(&mut self, quoted_key: &[u8]) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        self.out.extend_from_slice(quoted_key);
    }

    /// The fields kept verbatim, after the typed ones (as `#[serde(flatten)]` puts them):
    /// copied as they are held, `"name":value`.
    fn verbatim(&mut self, fields: &Unmodeled) {
        for field in fields.written_fields() {
            if !std::mem::take(&mut self.first) {
                self.out.push(b',');
            }
            self.out.extend_from_slice(field.as_bytes());
        }
    }

    /// A field's name known only at run time, with its comma and colon: its value follows.
    fn key_named(&mut self, name: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        string(self.out, name);
        self.out.push(b':');
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// `[` the items, written by `write` and separated by commas, `]`.
fn array<T>(out: &mut Vec<u8>, items: &[T], write: impl Fn(&T, &mut Vec<u8>)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(item, out);
    }
    out.push(b']');
}

fn string_map(out: &mut Vec<u8>, map: &StringMap) {
    object(out, map.iter(), |value, out| string(out, value));
}

/// `{` each `"name":` and its value written by `write`, separated by commas, `}`.
fn object<'a, V: 'a>(
    out: &mut Vec<u8>,
    fields: impl Iterator<Item = (&'a String, &'a V)>,
    write: impl Fn(&V, &mut Vec<u8>),
) {
    out.push(b'{');
    for (i, (name, value)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, name);
        out.push(b':');
        write(value, out);
    }
    out.push(b'}');
}

fn verbatim(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => boolean(out, *b),
        Value::String(text) => string(out, text),
        Value::Array(items) => array(out, items, |item, out| verbatim(out, item)),
        Value::Object(fields) => object(out, fields.iter(), |item, out| verbatim(out, item)),
        // Numbers as serde_json formats them. Writing to a `Vec` cannot fail.
        Value::Number(n) => drop(serde_json::to_writer(&mut *out, n)),
    }
}

fn string(out: &mut Vec<u8>, text: &str) {
    if needs_no_escape(text.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        drop(serde_json::to_writer(&mut *out, text));
    }
}

/// A UID as a JSON string; a UUID's text is copied without looking for characters to escape.
fn uid(out: &mut Vec<u8>, uid: &crate::model::Uid) {
    let text = uid.text();
    match text.uuid_ascii() {
        Some(ascii) => {
            out.push(b'"');
            out.extend_from_slice(ascii);
            out.push(b'"');
        }
        None => string(out, &text),
    }
}

/// An IPv4 address as a JSON string.
fn address(out: &mut Vec<u8>, ip: Ipv4Addr) {
    out.push(b'"');
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(itoa::Buffer::new().format(octet).as_bytes());
    }
    out.push(b'"');
}

fn integer(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

fn timestamp(out: &mut Vec<u8>, time: &Time) {
    match time.rfc3339() {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(&text);
            out.push(b'"');
        }
        // Years past 9999: as `Time` serializes itself.
        None => drop(serde_json::to_writer(&mut *out, time)),
    }
}

/// Whether `text` can go between quotes as it is: no control character, `"` or `\`.
fn needs_no_escape(text: &[u8]) -> bool {
    // Eight bytes at a time. In a word, a byte below 0x20, a `"` or a `\` is one for which
    // one of three subtractions borrows into the byte's high bit while the byte's own high
    // bit is clear (the classic "has a byte less than n" test; it never misses one). The
    // last, short word is padded with a byte that needs no escape.
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    fn has_byte_to_escape(word: u64) -> bool {
        let control = word.wrapping_sub(ONES * 0x20);
        let quote = (word ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
        let backslash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
        (control | quote | backslash) & !word & HIGH != 0
    }
    let mut words = text.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        if has_byte_to_escape(u64::from_ne_bytes(bytes)) {
            return false;
        }
    }
    let rest = words.remainder();
    let mut last = [b'a'; 8];
    for (slot, byte) in last.iter_mut().zip(rest) {
        *slot = *byte;
    }
    !has_byte_to_escape(u64::from_ne_bytes(last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RawJson;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::json;

    /// The API's JSON for `pod` as serde writes it: the text `write_pod` must match.
    fn by_serde(pod: &Pod) -> String {
        #[derive(Serialize)]
        struct Typed<'a> {
            kind: &'static str,
            #[serde(rename = "apiVersion")]
            api_version: &'static str,
            #[serde(flatten)]
            object: &'a Pod,
        }
        serde_json::to_string(&Typed {
            kind: "Pod",
            api_version: "v1",
            object: pod,
        })
        .unwrap()
    }

    fn by_hand(pod: &Pod) -> String {
        let mut out = b"[".to_vec(); // what is there already is kept
        write_pod(pod, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn text() -> impl Strategy<Value = String> {
        // Plain, every byte JSON escapes, anything; from empty to longer than a word.
        prop_oneof![
            "[a-z0-9.-]{0,20}",
            "[\\x00-\\x1f\"\\\\a\u{7f}é]{0,10}",
            ".{0,20}",
        ]
    }

    fn optional<T: std::fmt::Debug + Clone>(
        inner: impl Strategy<Value = T>,
    ) -> impl Strategy<Value = Option<T>> {
        proptest::option::of(inner)
    }

    prop_compose! {
        fn pod()(
            names in prop::collection::vec(text(), 5),
            numbers in (any::<i64>(), optional(any::<i64>()), optional(-100_000_000_000i64..300_000_000_000)),
            maps in prop::collection::vec(prop::collection::btree_map(text(), text(), 0..3), 2),
            owners in prop::collection::vec((text(), optional(any::<bool>()), optional(any::<bool>())), 0..3),
            // UIDs as the API server writes them (held as 16 bytes) or any text.
            uuids in prop::collection::vec(optional(any::<[u8; 16]>()), 4),
            finalizers in prop::collection::vec(text(), 0..3),
            conditions in prop::collection::vec((text(), text(), optional(any::<i64>()), any::<bool>(), optional(0i64..4_000_000_000), text()), 0..3),
            spec in (text(), optional(any::<i64>())),
            phase in text(),
            statuses in optional(text()),
            started in (optional(any::<u32>()), optional(-100_000_000_000i64..300_000_000_000)),
            extra in prop::collection::vec((text(), prop_oneof![
                Just(json!(null)), any::<f64>().prop_map(|f| json!(f)), text().prop_map(|t| json!(t)),
                text().prop_map(|t| json!({"nested": [t, 1, true]})),
            ]), 0..3),
        ) -> Pod {
            let mut pod = Pod::default();
            let meta = &mut pod.metadata;
            meta.name = names[0].as_str().into();
            meta.generate_name = names[1].as_str().into();
            meta.namespace = names[2].as_str().into();
            let uid = |i: usize, text: &str| match uuids[i % 4] {
                Some(bytes) => crate::model::Uid::from(uuid::Uuid::from_bytes(bytes).hyphenated().to_string()),
                None => crate::model::Uid::from(text),
            };
            meta.uid = uid(0, names[3].as_str());
            meta.resource_version = crate::model::ResourceVersion(names[4].as_str().into());
            meta.generation = numbers.0;
            meta.deletion_grace_period_seconds = numbers.1;
            meta.creation_timestamp = numbers.2.and_then(|s| Time::from_unix_seconds(s).ok());
            meta.deletion_timestamp = numbers.2.and_then(|s| Time::from_unix_seconds(s / 2).ok());
            meta.labels = maps[0].clone().into_iter().collect();
            meta.annotations = maps[1].clone().into_iter().collect();
            meta.owner_references = owners.into_iter().enumerate().map(|(i, (name, controller, block))| OwnerReference {
                api_version: "apps/v1".into(), kind: "ReplicaSet".into(), name: name.as_str().into(),
                uid: uid(i + 1, name.as_str()), controller, block_owner_deletion: block,
            }).collect();
            meta.finalizers = finalizers;
            for (field, value) in &extra {
                meta.unmodeled.insert(format!("m{field}"), value.clone());
            }
            pod.spec.node_name = spec.0.as_str().into();
            pod.spec.termination_grace_period_seconds = spec.1;
            for (field, value) in &extra {
                pod.spec.unmodeled.insert(format!("s{field}"), value.clone());
            }
            pod.status.phase = phase.as_str().into();
            pod.status.conditions = conditions.into_iter().map(|(type_, status, generation, probe, at, reason)| PodCondition {
                type_: type_.as_str().into(), status: status.as_str().into(), observed_generation: generation,
                last_probe_time: probe.then(|| Box::new(Value::Null)),
                last_transition_time: at.and_then(|s| Time::from_unix_seconds(s).ok()),
                reason: reason.as_str().into(), message: reason.as_str().into(),
            }).collect();
            pod.status.container_statuses =
                statuses.map(|name| RawJson::from(json!([{"name": name, "ready": true}])));
            // The second field is one upstream writes after `containerStatuses`.
            for (i, (field, value)) in extra.into_iter().enumerate() {
                let name = if i == 1 { "qosClass".to_string() } else { format!("t{field}") };
                pod.status.unmodeled.insert(name, value);
            }
            // What the kubelet writes at a start: stamped, or verbatim where the stamp cannot
            // hold it (the address 0.0.0.0, a start before 1970 or after 2106).
            pod.status.record_start(
                started.0.map(std::net::Ipv4Addr::from),
                started.1.and_then(|s| Time::from_unix_seconds(s).ok()),
            );
            pod
        }
    }

    proptest! {
        #[test]
        fn a_pod_of_any_shape_is_written_as_serde_writes_it(pod in pod()) {
            prop_assert_eq!(by_hand(&pod), format!("[{}", by_serde(&pod)));
        }

        /// A stamped status and the status decoded from its JSON (all verbatim) are equal
        /// and write the same JSON.
        #[test]
        fn a_status_reads_back_as_it_was_written(pod in pod()) {
            // Conditions and numbers aside: a null `lastProbeTime` does not survive
            // decoding, nor does every float's last digit.
            let mut status = pod.status;
            status.conditions.clear();
            status.unmodeled.edit(|fields| fields.retain(|_, value| !value.is_number()));
            let text = serde_json::to_string(&status).unwrap();
            let back: crate::model::PodStatus = serde_json::from_str(&text).unwrap();
            prop_assert!(back.start_stamp.is_empty());
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), text);
            prop_assert_eq!(&back, &status);
            prop_assert_eq!(&status, &back);
        }
    }

    #[test]
    fn the_everyday_pod_and_the_empty_one_too() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1", "resourceVersion": "12",
                "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs", "controller": true}]},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "app:1", "resources": {"requests": {"cpu": 0.5}}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null}]}}))
        .unwrap();
        assert_eq!(by_hand(&pod), format!("[{}", by_serde(&pod)));
        let empty = Pod::default();
        assert_eq!(by_hand(&empty), format!("[{}", by_serde(&empty)));
        assert_eq!(
            by_serde(&empty),
            r#"{"kind":"Pod","apiVersion":"v1","metadata":{},"spec":{},"status":{}}"#
        );
        // Before year 0 a time has no RFC 3339 text of the usual width.
        let mut far = Pod::default();
        far.metadata.creation_timestamp = Time::from_unix_seconds(-62_167_219_201).ok();
        assert!(
            far.metadata
                .creation_timestamp
                .is_some_and(|t| t.rfc3339().is_none())
        );
        assert_eq!(by_hand(&far), format!("[{}", by_serde(&far)));
    }
}
