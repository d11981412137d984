//! Loading a snapshot of a whole cluster: the JSON `List` that `kubectl get -A -o json`
//! prints, read one item at a time and each item from its text.
//!
//! A snapshot of 150,000 pods is some 700 MB of JSON. Held as one tree of
//! `serde_json::Value`s it would take ten times that, so the list is split into its items'
//! texts first. Each item is then read twice, both times from its text and without building
//! a tree: once to learn when the snapshot was taken (every item's newest time, since the
//! clock must start there before the first object is stored), once to check its fields
//! against Kubernetes' and decode it straight into its typed object. Trees of `Value`s for
//! each item, built, walked and dropped twice, cost four fifths of a load before; they are
//! built now only for the rare item the text path does not take (a key given twice, a
//! `policy/v1beta1` budget, an invalid object), which is then read exactly as any other
//! document is, so results and error messages do not depend on the path.

use serde_json::Value;
use serde_json::value::RawValue;

use super::parse::{field, unknown_fields_error};
use crate::cluster::{Cluster, ClusterConfig};
use crate::error::ConfigError;
use crate::model::ObjectScan;
use crate::time::{SimTime, Time};

/// A JSON `List` (what `kubectl get -A -o json` prints) loaded one item at a time: the text
/// is split into its items without building them, then each is checked against
/// Kubernetes' fields, loaded and dropped, so a snapshot of a whole cluster never exists as
/// one JSON tree. `None` when the text is not such a List; the caller then reads it as any
/// other document, with the same results.
pub(super) fn stream_json_list(text: &str) -> Option<Result<Cluster, ConfigError>> {
    #[derive(serde::Deserialize)]
    struct RawList<'a> {
        kind: Option<String>,
        #[serde(borrow)]
        items: Vec<&'a RawValue>,
    }
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let list: RawList = serde_json::from_str(text).ok()?;
    if list.kind.as_deref() != Some("List") {
        return None;
    }
    Some(load_items(&list.items, ItemReading::Text))
}

/// How a snapshot's items are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemReading {
    /// From their text, as trees only when the text path does not apply.
    Text,
    /// As trees, every one: the reading the text path must agree with (tests compare them).
    #[cfg(test)]
    Trees,
}

fn load_items(items: &[&RawValue], reading: ItemReading) -> Result<Cluster, ConfigError> {
    let path = |i: usize| format!("objects[0].items[{i}]");
    // An item read as a tree, for the items the text path leaves.
    let parse = |i: usize, raw: &RawValue| {
        let item: Value =
            serde_json::from_str(raw.get()).map_err(|e| field(path(i), e.to_string()))?;
        if !item.is_object() {
            return Err(field(path(i), "must be a Kubernetes object"));
        }
        Ok(item)
    };
    // First pass: when the snapshot was taken (its clock starts there).
    let mut config = ClusterConfig::default();
    let mut taken: Option<Time> = None;
    let mut scans = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let scan = match reading {
            ItemReading::Text => ObjectScan::of(raw.get(), is_timed),
            #[cfg(test)]
            ItemReading::Trees => None,
        };
        match scan {
            Some(scan) => {
                taken = taken.max(scan.latest);
                scans.push(Some(scan));
            }
            None => {
                taken = taken.max(latest_time(&parse(i, raw)?));
                scans.push(None);
            }
        }
    }
    if let Some(taken) = taken {
        config.start = taken;
    }
    // Second pass: check and load each item.
    let mut cluster = Cluster::new(config);
    cluster.defer_reactions();
    for (i, (raw, scan)) in items.iter().zip(scans).enumerate() {
        let loaded = match scan {
            Some(scan) => {
                if let Some(kind) = &scan.kind {
                    // The text parsed once already, so the walk cannot fail.
                    let unknown = crate::model::unknown_fields_in_text(kind, raw.get())
                        .map_err(|e| field(path(i), e.to_string()))?;
                    if !unknown.is_empty() {
                        return Err(unknown_fields_error(&path(i), &unknown));
                    }
                }
                super::run::load_object_text(&mut cluster, &scan, raw.get())
            }
            None => {
                let item = parse(i, raw)?;
                if let Some(kind) = item.get("kind").and_then(Value::as_str) {
                    let unknown = crate::model::unknown_fields(kind, &item);
                    if !unknown.is_empty() {
                        return Err(unknown_fields_error(&path(i), &unknown));
                    }
                }
                super::run::load_object(&mut cluster, item)
            }
        };
        loaded.map_err(|message| ConfigError::Field {
            path: format!("objects[{i}]"),
            message,
        })?;
    }
    cluster.resume_reactions(SimTime::ZERO);
    Ok(cluster)
}

/// Whether a key holds a time the snapshot records (see [`latest_time`]).
fn is_timed(key: &str) -> bool {
    key != "deletionTimestamp"
        && (key.ends_with("Time")
            || key.ends_with("Timestamp")
            || key == "time"
            || key == "startedAt")
}

/// The newest time a snapshot records: the largest RFC 3339 value of a key ending in
/// `Time` or `Timestamp` (or a `time` key, as `managedFields` has), `deletionTimestamp` aside
/// (it lies in the future while a pod terminates).
pub(super) fn latest_time(value: &Value) -> Option<Time> {
    match value {
        Value::Object(map) => map
            .iter()
            .filter_map(|(key, v)| match v {
                Value::String(text) if is_timed(key) => Time::parse(text).ok(),
                _ => latest_time(v),
            })
            .max(),
        Value::Array(items) => items.iter().filter_map(latest_time).max(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        DaemonSet, Deployment, Node, Pod, PodDisruptionBudget, ReplicaSet, Service, StatefulSet,
    };

    /// What a load gave: the clock, every object's JSON, kind by kind, and the event log;
    /// or the error.
    fn outcome(text: &str, reading: ItemReading) -> String {
        #[derive(serde::Deserialize)]
        struct RawList<'a> {
            #[serde(borrow)]
            items: Vec<&'a RawValue>,
        }
        let list: RawList = serde_json::from_str(text).expect("a List");
        let cluster = match load_items(&list.items, reading) {
            Ok(cluster) => cluster,
            Err(e) => return format!("error: {e}"),
        };
        fn all<T: crate::cluster::StoredKind>(cluster: &Cluster) -> Vec<String> {
            cluster
                .list::<T>()
                .map(|o| serde_json::to_string(o).expect("serializable"))
                .collect()
        }
        let objects = [
            all::<Pod>(&cluster),
            all::<Node>(&cluster),
            all::<PodDisruptionBudget>(&cluster),
            all::<ReplicaSet>(&cluster),
            all::<Deployment>(&cluster),
            all::<StatefulSet>(&cluster),
            all::<DaemonSet>(&cluster),
            all::<Service>(&cluster),
        ];
        let start = cluster.clock().at(SimTime::ZERO);
        format!("{start}\n{objects:#?}\n{:#?}", cluster.events())
    }

    fn assert_same_load(text: &str) -> String {
        let by_text = outcome(text, ItemReading::Text);
        assert_eq!(by_text, outcome(text, ItemReading::Trees), "{text}");
        by_text
    }

    fn list(items: &[&str]) -> String {
        format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
            items.join(",")
        )
    }

    const NODE: &str = r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","creationTimestamp":"2026-01-01T00:00:00Z"}}"#;

    #[test]
    fn the_shop_snapshot_loads_the_same_from_text_as_from_trees() {
        let shop = include_str!("../../tests/fixtures/shop-snapshot.json");
        let loaded = assert_same_load(shop);
        assert!(loaded.contains("web-6d9f7c8b54-2kx9p"), "{loaded}");
    }

    #[test]
    fn every_item_loads_as_its_tree_would() {
        let pod = |rest: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p","namespace":"ns"}},"spec":{{"nodeName":"n1"{rest}}}}}"#
            )
        };
        // Off the text path: a key twice (the tree holds the last value, in the first
        // one's place), not an object, or not JSON as serde_json reads it.
        let as_trees = [
            pod(r#","nodeName":"n2""#),
            pod(r#","containers":[{"name":"a","name":"b"}]"#),
            r#"{"kind":"Pod","apiVersion":"v1","kind":"Node","metadata":{"name":"x"}}"#.into(),
            pod(
                r#","x":{"lastProbeTime":"2030-01-01T00:00:00Z","lastProbeTime":"2020-01-01T00:00:00Z"}"#,
            ),
            r#"[1,2]"#.into(),
            r#""text""#.into(),
            pod(r#","n":1e400"#),
        ];
        // Read from the text: then decoded typed, or read as a tree for a conversion (C41)
        // or an error; escapes, times held in odd places (where no field is checked), a
        // non-string apiVersion (read as none), numbers of every kind.
        let free_form = |fields: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p","namespace":"ns","managedFields":[{{"manager":"m","fieldsV1":{{{fields}}}}}]}}}}"#
            )
        };
        let by_text = [
            r#"{"apiVersion":"policy/v1beta1","kind":"PodDisruptionBudget","metadata":{"name":"b","namespace":"ns"},"spec":{"selector":{}}}"#.into(),
            r#"{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"p"}}"#.into(),
            r#"{"apiVersion":"v1","kind":"Gadget","metadata":{"name":"g"}}"#.into(),
            r#"{"apiVersion":"v1","kind":5,"metadata":{"name":"g"}}"#.into(),
            r#"{"apiVersion":"v1","metadata":{"name":"g"}}"#.into(),
            pod(r#","terminationGracePeriodSeconds":"thirty""#),
            pod(r#","imagee":"nginx""#),
            pod(r#","containers":[{"name":"a","imagee":"nginx"}]"#),
            pod(r#","containers":[{"name":"a\"b","env":[{"name":"\u00e9","value":"\n"}]}]"#),
            free_form(r#""startTime":{"time":"2031-01-01T00:00:00Z"},"y":["2032-01-01T00:00:00Z"]"#),
            free_form(r#""z":{"deletionTimestamp":"2033-01-01T00:00:00Z","startedAt":"2027-05-01T00:00:00Z"}"#),
            free_form(r#""lastTime":5,"fooTimestamp":"not a time","time":"2026-06-01T00:00:00Z""#),
            free_form(r#""n":[-0,1e300,18446744073709551615,-9223372036854775808,1.5e-7,0.1]"#),
            free_form(r#""k\"ey":{"\u00e9":"\n","":null,"t":true}"#),
            r#"{"apiVersion":7,"kind":"Node","metadata":{"name":"n2"}}"#.into(),
        ];
        for case in as_trees {
            assert!(ObjectScan::of(&case, is_timed).is_none(), "{case}");
            assert_same_load(&list(&[NODE, &case]));
        }
        for case in by_text {
            assert!(ObjectScan::of(&case, is_timed).is_some(), "{case}");
            assert_same_load(&list(&[NODE, &case]));
        }
    }

    #[test]
    fn the_clock_starts_at_the_newest_time_any_item_records() {
        let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns"},"status":{"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-03-04T05:06:07Z"}]}}"#;
        let loaded = assert_same_load(&list(&[NODE, pod]));
        assert!(loaded.starts_with("2026-03-04T05:06:07Z\n"), "{loaded}");
    }

    #[test]
    fn an_item_that_is_not_json_is_refused_by_the_list_reader() {
        let text = list(&[
            NODE,
            r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n3"}} "#,
        ]);
        assert_same_load(&text);
    }
}
