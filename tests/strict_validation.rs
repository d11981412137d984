//! Field validation, as kube-apiserver does it: a field no Kubernetes release knows is a
//! `Warning` by default, a 400 under `?fieldValidation=Strict`, nothing under `Ignore`; a
//! valid field that evictsim does not model is kept, never refused. Scenario files are
//! strict unless they say otherwise.

mod common;

use common::*;
use evictsim::cluster::{Cluster, ClusterConfig, KubernetesVersion};
use evictsim::error::ConfigError;
use evictsim::model::{ObjectKey, PodDisruptionBudget};
use evictsim::scenario::Scenario;
use serde_json::{Value, json};

const PDBS: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";

fn typo_pdb() -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
        "spec": {"minAvailabel": 1, "selector": {"matchLabels": {"app": "web"}, "matchExpresions": []}}})
}

#[test]
fn unknown_fields_warn_by_default() {
    let mut c = full_cluster();
    let answer = send_json(&mut c, "POST", PDBS, typo_pdb(), "application/json");
    assert_eq!(answer.code, 201);
    assert_eq!(
        answer.warnings(),
        [
            r#"299 - "unknown field \"spec.minAvailabel\"""#,
            r#"299 - "unknown field \"spec.selector.matchExpresions\"""#
        ]
    );
}

#[test]
fn unknown_fields_are_a_400_under_strict_and_nothing_is_stored() {
    let mut c = full_cluster();
    let answer = send_json(
        &mut c,
        "POST",
        &format!("{PDBS}?fieldValidation=Strict"),
        typo_pdb(),
        "application/json",
    );
    assert_eq!(answer.code, 400);
    assert_eq!(answer.body["reason"], "BadRequest");
    assert_eq!(
        answer.body["message"],
        r#"PodDisruptionBudget in version "v1" cannot be handled as a PodDisruptionBudget: strict decoding error: unknown field "spec.minAvailabel", unknown field "spec.selector.matchExpresions""#
    );
    assert!(c.pdb(&key("web")).is_none());
    // Known fields that evictsim does not model are fine, and kept.
    let mut good = typo_pdb();
    good["spec"] = json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}});
    good["metadata"]["annotations"] = json!({"a": "b"});
    let answer = send_json(
        &mut c,
        "POST",
        &format!("{PDBS}?fieldValidation=Strict"),
        good,
        "application/json",
    );
    assert_eq!(answer.code, 201, "{}", answer.body);
    assert_eq!(
        answer.body["metadata"]["managedFields"][0]["manager"],
        "kubectl"
    );
}

#[test]
fn strict_applies_to_puts_and_to_the_result_of_a_patch() {
    let mut c = full_cluster();
    c.load(
        t0(),
        pod(
            "a",
            json!({}),
            json!({"nodeName": "n", "containers": [{"name": "c", "image": "i"}]}),
            json!({}),
        ),
    )
    .unwrap();
    let answer = send_json(
        &mut c,
        "PATCH",
        "/api/v1/namespaces/default/pods/a?fieldValidation=Strict",
        json!({"spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicyy": "Always"}]}}),
        "application/merge-patch+json",
    );
    assert_eq!(answer.code, 400);
    assert_eq!(
        answer.body["message"],
        r#"strict decoding error: unknown field "spec.containers[0].imagePullPolicyy""#
    );
    let answer = send_json(
        &mut c,
        "PATCH",
        "/api/v1/namespaces/default/pods/a?fieldValidation=Ignore",
        json!({"metadata": {"labelz": {"x": "y"}}}),
        "application/merge-patch+json",
    );
    assert_eq!((answer.code, answer.warnings().len()), (200, 0));
}

#[test]
fn an_unsupported_field_validation_value_is_invalid() {
    let mut c = full_cluster();
    let answer = send_json(
        &mut c,
        "POST",
        &format!("{PDBS}?fieldValidation=strict"),
        typo_pdb(),
        "application/json",
    );
    assert_eq!(answer.code, 422);
    assert_eq!(
        answer.body["message"],
        r#"CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn""#
    );
}

#[test]
fn an_evictions_unknown_fields_are_named_by_their_paths_as_upstream_names_them() {
    // E3: the body is decoded as the API decodes any object, its fields checked against
    // the Eviction's schema. Metadata is a whole ObjectMeta there (a field it lacks is unknown, though the
    // handler reads only the name and namespace), and paths run through the optional
    // deleteOptions and preconditions as through any object.
    let body = json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": "a", "labelz": {}, "creationTimestamp": null},
        "deleteOptions": {"gracePeriodSecond": 5, "preconditions": {"uuid": "u"}}, "spec": {}});
    let expected = [
        "metadata.labelz",
        "deleteOptions.gracePeriodSecond",
        "deleteOptions.preconditions.uuid",
        "spec",
    ];
    let mut c = full_cluster();
    c.load(
        t0(),
        pod("a", json!({}), json!({"nodeName": "n"}), json!({})),
    )
    .unwrap();
    let eviction = "/api/v1/namespaces/default/pods/a/eviction";
    let answer = send_json(
        &mut c,
        "POST",
        &format!("{eviction}?fieldValidation=Strict"),
        body.clone(),
        "application/json",
    );
    assert_eq!(answer.code, 400);
    let quoted: Vec<String> = expected
        .iter()
        .map(|path| format!(r#"unknown field "{path}""#))
        .collect();
    assert_eq!(
        answer.body["message"],
        format!("strict decoding error: {}", quoted.join(", "))
    );
    assert!(
        c.pod(&key("a")).is_some(),
        "a refused eviction deletes nothing"
    );
    let answer = send_json(&mut c, "POST", eviction, body, "application/json");
    assert_eq!(answer.code, 201);
    let warned: Vec<String> = quoted
        .iter()
        .map(|field| format!("299 - {}", Value::String(field.clone())))
        .collect();
    assert_eq!(answer.warnings(), warned);
}

#[test]
fn the_newest_delete_option_is_an_unknown_field_before_1_32() {
    for (version, warned) in [
        (KubernetesVersion::V1_31, true),
        (KubernetesVersion::V1_32, false),
    ] {
        let mut c = Cluster::new(ClusterConfig {
            kubernetes_version: version,
            ..ClusterConfig::default()
        });
        c.load(
            t0(),
            pod("a", json!({}), json!({"nodeName": "n"}), json!({})),
        )
        .unwrap();
        let answer = send_json(
            &mut c,
            "DELETE",
            "/api/v1/namespaces/default/pods/a",
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "ignoreStoreReadErrorWithClusterBreakingPotential": false}),
            "application/json",
        );
        assert_eq!(answer.code, 200, "{version}");
        let expected: &[&str] = if warned {
            &[r#"299 - "unknown field \"ignoreStoreReadErrorWithClusterBreakingPotential\"""#]
        } else {
            &[]
        };
        assert_eq!(answer.warnings(), expected, "{version}");
        // An eviction's deleteOptions follow the same rule.
        c.load(
            t0(),
            pod("b", json!({}), json!({"nodeName": "n"}), json!({})),
        )
        .unwrap();
        let answer = send_json(
            &mut c,
            "POST",
            "/api/v1/namespaces/default/pods/b/eviction",
            json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "b"},
                "deleteOptions": {"ignoreStoreReadErrorWithClusterBreakingPotential": false}}),
            "application/json",
        );
        assert_eq!(answer.code, 201);
        assert_eq!(answer.warnings().len(), usize::from(warned), "{version}");
    }
}

#[test]
fn scenario_files_are_strict_unless_they_relax_it() {
    let objects = r#"
objects:
  - kind: List
    items:
      - apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: web}
        spec: {minAvailabel: 1, selector: {matchLabels: {app: web}}}
"#;
    let error = Scenario::parse(objects).unwrap_err();
    let ConfigError::Field { path, message } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(path, "objects[0].items[0].spec.minAvailabel");
    assert!(
        message.starts_with(r#"strict decoding error: unknown field "spec.minAvailabel""#),
        "{message}"
    );

    let warn = Scenario::parse(&format!("fieldValidation: Warn\n{objects}")).unwrap();
    assert_eq!(
        warn.warnings,
        [r#"objects[0].items[0].spec.minAvailabel: unknown field "spec.minAvailabel""#]
    );
    let cluster = warn.build_cluster().unwrap();
    let pdb: &PodDisruptionBudget = cluster.get(&ObjectKey::new("default", "web")).unwrap();
    assert!(
        pdb.spec.min_available.is_none(),
        "a misspelt budget is no budget"
    );

    let ignore = Scenario::parse(&format!("fieldValidation: Ignore\n{objects}")).unwrap();
    assert!(ignore.warnings.is_empty());

    let step = "steps:\n  - evict: {apiVersion: policy/v1, kind: Eviction, metadata: {name: a}, deleteOption: {}}\n";
    let error = Scenario::parse(step).unwrap_err().to_string();
    assert!(
        error.starts_with("steps[0].evict.deleteOption: strict decoding error"),
        "{error}"
    );
    let error = Scenario::parse("fieldValidation: strict\n")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("fieldValidation: must be"), "{error}");
}
