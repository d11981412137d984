//! The sans-IO REST handler: routing, selectors, status subresources, and a precise Status
//! for every kind of bad input — never a panic, and nothing stored changes on failure.

mod common;

use common::*;
use evictsim::cluster::{Cluster, ClusterConfig, RateLimit};
use evictsim::rest;
use serde_json::{Value, json};

const PODS: &str = "/api/v1/namespaces/default/pods";
const PDBS: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";

fn seeded() -> Cluster {
    let mut c = cluster(true);
    for (name, node, phase, app) in [
        ("a", "n1", "Running", "web"),
        ("b", "n2", "Running", "web"),
        ("c", "n1", "Pending", "db"),
    ] {
        c.load(
            t0(),
            pod(
                name,
                json!({"app": app}),
                json!({"nodeName": node}),
                json!({"phase": phase}),
            ),
        )
        .unwrap();
    }
    let mut other = pod(
        "z",
        json!({"app": "web"}),
        json!({"nodeName": "n1"}),
        json!({"phase": "Running"}),
    );
    other.metadata.namespace = "other".into();
    c.load(t0(), other).unwrap();
    c
}

fn names(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["metadata"]["namespace"].as_str().unwrap(),
                i["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn list_in_a_namespace_and_across_namespaces() {
    let mut c = seeded();
    let r = send(&mut c, "GET", PODS, b"", None);
    assert_eq!((r.code, r.body["kind"].as_str()), (200, Some("PodList")));
    assert_eq!(names(&r.body), ["default/a", "default/b", "default/c"]);
    assert!(r.body["metadata"]["resourceVersion"].is_string());
    assert!(r.body["items"][0].get("kind").is_none() || r.body["items"][0]["kind"] == "Pod");
    let r = send(&mut c, "GET", "/api/v1/pods", b"", None);
    assert_eq!(
        names(&r.body),
        ["default/a", "default/b", "default/c", "other/z"]
    );
}

#[test]
fn label_and_field_selectors_filter_lists() {
    let mut c = seeded();
    let cases = [
        (
            "/api/v1/pods?labelSelector=app%3Dweb",
            vec!["default/a", "default/b", "other/z"],
        ),
        ("/api/v1/pods?labelSelector=app+in+(db)", vec!["default/c"]),
        (
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1",
            vec!["default/a", "default/c", "other/z"],
        ),
        (
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1,status.phase!%3DPending",
            vec!["default/a", "other/z"],
        ),
        (
            "/api/v1/pods?fieldSelector=metadata.namespace%3Dother",
            vec!["other/z"],
        ),
        (
            "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Db&labelSelector=app",
            vec!["default/b"],
        ),
    ];
    for (path, want) in cases {
        let r = send(&mut c, "GET", path, b"", None);
        assert_eq!(r.code, 200, "{path}: {}", r.body);
        assert_eq!(names(&r.body), want, "{path}");
    }
}

#[test]
fn invalid_selectors_are_400s() {
    let mut c = seeded();
    let r = send(
        &mut c,
        "GET",
        "/api/v1/pods?labelSelector=app+in+web",
        b"",
        None,
    );
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .starts_with("unable to parse requirement")
    );
    let r = send(
        &mut c,
        "GET",
        "/api/v1/pods?fieldSelector=spec.nodeName",
        b"",
        None,
    );
    assert_eq!(
        r.body["message"],
        "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'"
    );
    let r = send(
        &mut c,
        "GET",
        "/api/v1/pods?fieldSelector=spec.containers%3Dx",
        b"",
        None,
    );
    assert_eq!(
        (r.code, r.body["message"].as_str()),
        (400, Some("field label not supported: spec.containers"))
    );
    let r = send(
        &mut c,
        "GET",
        "/apis/apps/v1/replicasets?fieldSelector=spec.replicas%3D1",
        b"",
        None,
    );
    assert_eq!(
        r.body["message"],
        "\"spec.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );
}

#[test]
fn every_kind_is_served_under_its_real_path() {
    let mut c = cluster(true);
    let objects = [
        (
            "/api/v1/nodes",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/replicasets",
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"}, "spec": {"selector": {"matchLabels": {"a": "b"}}}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/statefulsets",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"}, "spec": {"selector": {"matchLabels": {"a": "b"}}}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/daemonsets",
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"}, "spec": {"selector": {"matchLabels": {"a": "b"}}}}),
        ),
        (
            "/api/v1/namespaces/default/replicationcontrollers",
            json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"}, "spec": {"selector": {"a": "b"}}}),
        ),
        (
            "/api/v1/namespaces/default/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}}),
        ),
        (
            "/api/v1/namespaces/default/endpoints",
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual"}, "subsets": []}),
        ),
        (
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "manual-1"}, "addressType": "IPv4", "endpoints": []}),
        ),
        (
            PDBS,
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "spec": {"minAvailable": 1}}),
        ),
        (
            PODS,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}),
        ),
    ];
    for (path, body) in objects {
        let name = body["metadata"]["name"].as_str().unwrap().to_string();
        let created = json_send(&mut c, "POST", path, body.clone());
        assert_eq!(created.code, 201, "{path}: {}", created.body);
        assert_eq!(created.body["kind"], body["kind"]);
        assert_eq!(created.body["apiVersion"], body["apiVersion"]);
        let got = send(&mut c, "GET", &format!("{path}/{name}"), b"", None);
        assert_eq!(got.code, 200, "{path}");
        assert!(
            got.body["metadata"]["uid"]
                .as_str()
                .is_some_and(|u| u.len() == 36)
        );
        assert!(got.body["metadata"]["creationTimestamp"].is_string());
        let again = json_send(&mut c, "POST", path, body.clone());
        assert_eq!(
            (again.code, again.body["reason"].as_str()),
            (409, Some("AlreadyExists")),
            "{path}"
        );
    }
}

#[test]
fn unknown_fields_survive_a_round_trip() {
    let mut c = cluster(true);
    let body = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"x": "y"}, "managedFields": [{"manager": "kubectl"}]},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"limits": {"cpu": "1"}}}], "tolerations": [{"key": "k", "operator": "Exists"}], "futureField": {"a": [1, 2]}}});
    let created = json_send(&mut c, "POST", PODS, body.clone());
    assert_eq!(
        created.body["spec"]["futureField"],
        body["spec"]["futureField"]
    );
    assert_eq!(
        created.body["spec"]["containers"],
        body["spec"]["containers"]
    );
    assert_eq!(
        created.body["metadata"]["managedFields"],
        body["metadata"]["managedFields"]
    );
    assert_eq!(
        created.body["spec"]["terminationGracePeriodSeconds"], 30,
        "G1 default"
    );
    assert_eq!(
        created.body["status"]["phase"], "Pending",
        "create strategy"
    );
}

/// Method, path, body, content type, then the expected code, reason and message fragment.
type BadInput<'a> = (
    &'a str,
    &'a str,
    Vec<u8>,
    Option<&'a str>,
    u16,
    &'a str,
    &'a str,
);

#[test]
fn bad_input_gets_a_precise_status_and_changes_nothing() {
    let mut c = seeded();
    let big = vec![b' '; rest::MAX_REQUEST_BODY_BYTES + 1];
    let cases: Vec<BadInput> = vec![
        ("POST", PODS, b"{not json".to_vec(), Some("application/json"), 400, "BadRequest", "couldn't get version/kind; json parse error"),
        ("POST", PODS, b"[1,2]".to_vec(), Some("application/json"), 400, "BadRequest", "Object 'Kind' is missing"),
        ("POST", PODS, br#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"x"}}"#.to_vec(), Some("application/json"), 400, "BadRequest", "Node in version \"v1\" cannot be handled as a Pod"),
        ("POST", PODS, br#"{"metadata":{"name":5}}"#.to_vec(), Some("application/json"), 400, "BadRequest", "Pod in version \"v1\" cannot be handled as a Pod"),
        ("POST", PODS, br#"{"metadata":{}}"#.to_vec(), Some("application/json"), 422, "Invalid", "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required"),
        ("POST", PODS, br#"{"metadata":{"name":"Bad_Name"}}"#.to_vec(), Some("application/json"), 422, "Invalid", "Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""),
        ("POST", PODS, br#"{"metadata":{"name":"x","namespace":"other"}}"#.to_vec(), Some("application/json"), 400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"),
        ("POST", PODS, big, Some("application/json"), 413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"),
        ("POST", PODS, b"{}".to_vec(), Some("application/vnd.kubernetes.protobuf"), 415, "UnsupportedMediaType", "the body of the request was in an unknown format"),
        ("POST", PDBS, br#"{"metadata":{"name":"p"},"spec":{"minAvailable":1,"maxUnavailable":1}}"#.to_vec(), Some("application/json"), 422, "Invalid", "PodDisruptionBudget.policy \"p\" is invalid: spec: Invalid value: \"object\": minAvailable and maxUnavailable cannot be both set"),
        ("POST", PDBS, br#"{"metadata":{"name":"p"},"spec":{"selector":{"matchExpressions":[{"key":"a","operator":"Sometimes"}]}}}"#.to_vec(), Some("application/json"), 422, "Invalid", "spec.selector.matchExpressions[0].operator: Invalid value: \"Sometimes\": not a valid selector operator"),
        ("GET", "/api/v1/namespaces/default/pods/nope", vec![], None, 404, "NotFound", "pods \"nope\" not found"),
        ("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/nope", vec![], None, 404, "NotFound", "poddisruptionbudgets.policy \"nope\" not found"),
        ("GET", "/api/v1/widgets", vec![], None, 404, "NotFound", "the server could not find the requested resource"),
        ("GET", "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets", vec![], None, 404, "NotFound", "the server could not find the requested resource"),
        ("GET", "/api/v1/namespaces/default/pods/a/eviction", vec![], None, 405, "MethodNotAllowed", ""),
        ("PUT", "/api/v1/namespaces/default/pods/a/eviction", b"{}".to_vec(), Some("application/json"), 405, "MethodNotAllowed", ""),
        ("DELETE", "/api/v1/namespaces/default/pods/a", br#"{"propagationPolicy":"Sideways"}"#.to_vec(), Some("application/json"), 422, "Invalid", "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\""),
        ("DELETE", "/api/v1/namespaces/default/pods/a", br#"{"preconditions":{"uid":"nope"}}"#.to_vec(), Some("application/json"), 409, "Conflict", "Operation cannot be fulfilled on Pod \"a\": the UID in the precondition (nope) does not match"),
        ("PUT", "/api/v1/namespaces/default/pods/a", br#"{"metadata":{"name":"a"},"spec":{"nodeName":"elsewhere"}}"#.to_vec(), Some("application/json"), 422, "Invalid", "Pod \"a\" is invalid: spec: Forbidden: pod updates may not change fields other than"),
        ("PUT", "/api/v1/namespaces/default/pods/a", br#"{"metadata":{"name":"b"}}"#.to_vec(), Some("application/json"), 400, "BadRequest", "the name of the object (b) does not match the name on the URL (a)"),
        ("PUT", "/api/v1/namespaces/default/pods/a", br#"{"metadata":{"name":"a","resourceVersion":"999999"}}"#.to_vec(), Some("application/json"), 409, "Conflict", "Operation cannot be fulfilled on pods \"a\": the object has been modified; please apply your changes to the latest version and try again"),
        ("POST", "/api/v1/namespaces/default/pods/a/eviction", br#"{"apiVersion":"policy/v2","kind":"Eviction","metadata":{"name":"a"}}"#.to_vec(), Some("application/json"), 400, "BadRequest", "policy/v2"),
        ("POST", "/api/v1/namespaces/default/pods/a/eviction", br#"{"apiVersion":"policy/v1","kind":"Pod","metadata":{"name":"a"}}"#.to_vec(), Some("application/json"), 400, "BadRequest", "cannot be handled as a Eviction"),
        ("POST", "/api/v1/namespaces/default/pods/a/eviction", br#"{"metadata":{"name":"a"},"deleteOptions":{"gracePeriodSeconds":"soon"}}"#.to_vec(), Some("application/json"), 400, "BadRequest", "cannot be handled as a Eviction"),
        ("POST", "/api/v1/namespaces/default/pods/a/eviction?dryRun=Maybe", br#"{"metadata":{"name":"a"}}"#.to_vec(), Some("application/json"), 422, "Invalid", "CreateOptions.meta.k8s.io \"\" is invalid: dryRun"),
        ("POST", "/api/v1/namespaces/default/pods/a/eviction?dryRun=All", br#"{"metadata":{"name":"a"},"deleteOptions":{"dryRun":["All","All"]}}"#.to_vec(), Some("application/json"), 500, "", "Non-matching dry-run options in request and content: [All] and [All All]"),
    ];
    for (method, path, body, ct, code, reason, message) in cases {
        let revision = c.revision();
        let before: Vec<_> = c.list::<evictsim::model::Pod>().cloned().collect();
        let r = send(&mut c, method, path, &body, ct);
        let label = format!("{method} {path}");
        assert_eq!(r.code, code, "{label}: {}", r.body);
        assert_eq!(r.body["kind"], "Status", "{label}");
        assert_eq!(r.body["code"], code, "{label}");
        assert_eq!(r.body["reason"].as_str().unwrap_or(""), reason, "{label}");
        assert!(
            r.body["message"].as_str().unwrap_or("").contains(message),
            "{label}: {}",
            r.body["message"]
        );
        if code != 500 {
            assert_eq!(c.revision(), revision, "{label}: nothing written");
            let after: Vec<_> = c.list::<evictsim::model::Pod>().cloned().collect();
            assert_eq!(before, after, "{label}");
        }
    }
}

#[test]
fn invalid_dry_run_query_is_rejected_like_create_options() {
    let mut c = seeded();
    let r = send(
        &mut c,
        "POST",
        &format!("{PODS}?dryRun=Maybe"),
        br#"{"metadata":{"name":"n"}}"#,
        Some("application/json"),
    );
    assert_eq!(r.code, 422);
    assert_eq!(
        r.body["message"],
        "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Maybe\"}: supported values: \"All\""
    );
}

#[test]
fn unknown_eviction_fields_are_dropped_with_a_warning() {
    let mut c = seeded();
    // kube-rs's snake_case `delete_options` is not a field of Eviction: dropped, so the grace
    // period inside it is not applied (the pod gets its own 30 s).
    let r = json_send(
        &mut c,
        "POST",
        &format!("{PODS}/a/eviction"),
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "a", "namespace": "default"}, "delete_options": {"gracePeriodSeconds": 0}}),
    );
    assert_eq!(r.code, 201);
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
    );
    let warnings: Vec<_> = r
        .headers
        .get_all("Warning")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings, ["299 - \"unknown field \\\"delete_options\\\"\""]);
    assert_eq!(
        c.pod(&key("a"))
            .unwrap()
            .metadata
            .deletion_grace_period_seconds,
        Some(30)
    );
}

#[test]
fn status_subresource_writes_only_status_and_main_resource_only_spec() {
    let mut c = cluster(true);
    json_send(
        &mut c,
        "POST",
        PDBS,
        json!({"metadata": {"name": "p"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"a": "b"}}}}),
    );
    let pdb = send(&mut c, "GET", &format!("{PDBS}/p"), b"", None).body;
    assert_eq!(
        (
            pdb["metadata"]["generation"].as_i64(),
            pdb["status"]["observedGeneration"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let mut changed = pdb.clone();
    changed["spec"]["minAvailable"] = json!(2);
    changed["status"]["disruptionsAllowed"] = json!(99);
    let r = json_send(&mut c, "PUT", &format!("{PDBS}/p"), changed);
    assert_eq!(r.code, 200);
    assert_eq!(
        r.body["metadata"]["generation"], 2,
        "spec change bumps generation"
    );
    assert_eq!(r.body["spec"]["minAvailable"], 2);
    assert_ne!(
        r.body["status"]["disruptionsAllowed"], 99,
        "status ignored on the main resource"
    );
    let mut status = send(&mut c, "GET", &format!("{PDBS}/p"), b"", None).body;
    status["status"]["disruptionsAllowed"] = json!(-1);
    let r = json_send(&mut c, "PUT", &format!("{PDBS}/p/status"), status);
    assert_eq!(r.code, 422);
    assert_eq!(
        r.body["message"],
        "PodDisruptionBudget.policy \"p\" is invalid: status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0"
    );
}

#[test]
fn delete_answers_the_pod_or_a_success_status() {
    let mut c = seeded();
    let r = send(
        &mut c,
        "DELETE",
        &format!("{PODS}/a?gracePeriodSeconds=10"),
        b"",
        None,
    );
    assert_eq!((r.code, r.body["kind"].as_str()), (200, Some("Pod")));
    assert_eq!(r.body["metadata"]["deletionGracePeriodSeconds"], 10);
    json_send(
        &mut c,
        "POST",
        "/apis/apps/v1/namespaces/default/replicasets",
        json!({"metadata": {"name": "rs"}, "spec": {"selector": {"matchLabels": {"a": "b"}}}}),
    );
    let r = send(
        &mut c,
        "DELETE",
        "/apis/apps/v1/namespaces/default/replicasets/rs",
        b"",
        None,
    );
    assert_eq!(r.code, 200);
    assert_eq!(r.body["status"], "Success");
    assert_eq!(r.body["details"]["kind"], "replicasets");
    assert_eq!(r.body["details"]["group"], "apps");
    assert!(r.body.get("code").is_none());
}

#[test]
fn merge_patch_cordons_a_node() {
    let mut c = cluster(true);
    json_send(
        &mut c,
        "POST",
        "/api/v1/nodes",
        json!({"metadata": {"name": "n1"}}),
    );
    let r = send(
        &mut c,
        "PATCH",
        "/api/v1/nodes/n1",
        br#"{"spec":{"unschedulable":true}}"#,
        Some("application/strategic-merge-patch+json"),
    );
    assert_eq!(
        (r.code, r.body["spec"]["unschedulable"].as_bool()),
        (200, Some(true))
    );
    let r = send(
        &mut c,
        "GET",
        "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue",
        b"",
        None,
    );
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
}

#[test]
fn generate_name_is_filled_from_the_seeded_rng() {
    let mut names = Vec::new();
    for _ in 0..2 {
        let mut c = cluster(true);
        let r = json_send(
            &mut c,
            "POST",
            PODS,
            json!({"metadata": {"generateName": "web-"}}),
        );
        assert_eq!(r.code, 201);
        names.push(r.body["metadata"]["name"].as_str().unwrap().to_string());
    }
    assert_eq!(names[0], names[1], "same seed, same name");
    assert!(names[0].starts_with("web-") && names[0].len() == 9);
}

#[test]
fn discovery_advertises_pods_eviction_as_kubectl_drain_needs() {
    let mut c = cluster(true);
    let r = send(&mut c, "GET", "/api/v1", b"", None);
    let eviction = r.body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods/eviction")
        .cloned()
        .unwrap();
    assert_eq!(
        eviction,
        json!({"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]})
    );
    assert_eq!(
        send(&mut c, "GET", "/version", b"", None).body["minor"],
        "37",
        "the default release"
    );
}

#[test]
fn api_rate_limit_answers_like_the_apiserver_filters() {
    let mut c = Cluster::new(ClusterConfig {
        rate_limit: Some(RateLimit {
            qps: 0.0,
            burst: 1,
            retry_after_seconds: 1,
        }),
        ..Default::default()
    });
    assert_eq!(send(&mut c, "GET", PODS, b"", None).code, 200);
    let r = send(&mut c, "GET", PODS, b"", None);
    assert_eq!(r.code, 429);
    assert_eq!(r.body, "Too many requests, please try again later.\n");
    assert_eq!(r.headers["Retry-After"], "1");
    assert_eq!(r.headers["Content-Type"], "text/plain; charset=utf-8");
}

/// The one-shot handler answers a watch as a watch stream that has ended: the events since
/// the resourceVersion (or the current objects, with none), never a list; a resourceVersion
/// older than the kept history is an ERROR event with 410 Expired.
#[test]
fn a_watch_through_the_one_shot_handler_is_a_stream_never_a_list() {
    let mut c = seeded();
    c.keep_watch_history(100);
    let frames = |c: &mut Cluster, path: &str| -> Vec<Value> {
        let request = http::Request::get(path).body(Vec::new()).unwrap();
        let now = c.now();
        let response = rest::handle(c, now, &request);
        assert_eq!(response.status(), 200);
        String::from_utf8(response.into_body())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let initial = frames(
        &mut c,
        &format!("{PODS}?watch=true&labelSelector=app%3Dweb"),
    );
    let kinds: Vec<(&str, &str)> = initial
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [("ADDED", "a"), ("ADDED", "b")]);
    let rv = c.revision();
    let relabel = send_json(
        &mut c,
        "PATCH",
        &format!("{PODS}/a"),
        json!({"metadata": {"labels": {"app": "db"}}}),
        "application/merge-patch+json",
    );
    assert_eq!(relabel.code, 200);
    let after = frames(
        &mut c,
        &format!("{PODS}?watch=true&resourceVersion={rv}&labelSelector=app%3Dweb"),
    );
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0]["type"], "DELETED",
        "a pod that stops matching leaves the watch"
    );
    assert_eq!(
        after[0]["object"]["metadata"]["labels"]["app"], "web",
        "with its last matching state"
    );
    assert_eq!(
        after[0]["object"]["metadata"]["resourceVersion"],
        (rv + 1).to_string(),
        "at the write's revision"
    );
    let expired = frames(&mut c, &format!("{PODS}?watch=true&resourceVersion=1"));
    assert_eq!(expired[0]["type"], "ERROR");
    assert_eq!(expired[0]["object"]["code"], 410);
    // On one object's path the parameter is ignored, as upstream does.
    let one = send(&mut c, "GET", &format!("{PODS}/b?watch=true"), b"", None);
    assert_eq!(one.body["kind"], "Pod");
}
