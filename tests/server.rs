//! `evictsim::server` over loopback, driven by a Rust HTTP client as curl would drive it:
//! every endpoint of the serve contract, watch semantics, auth, and concurrent clients.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use evictsim::server::{Clock, ListenConfig, Server};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tower::ServiceExt;

const EXAMPLE: &str = include_str!("../examples/10-drain-with-kubectl.yaml");

struct Running {
    url: String,
    server: Server,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(clock: Clock) -> Running {
        let config = ListenConfig {
            address: "127.0.0.1:0".parse().unwrap(),
            clock,
            tls: false,
        };
        let listening = evictsim::server::serve(
            evictsim::scenario::Scenario::parse(EXAMPLE)
                .and_then(|s| s.build_cluster())
                .unwrap(),
            &config,
        )
        .await
        .unwrap();
        let url = listening.url().to_string();
        let server = listening.server().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(listening.run(async move {
            let _ = stopped.await;
        }));
        Running {
            url,
            server,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

struct Answer {
    code: u16,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

async fn send(method: &str, url: &str, accept: &str, content_type: &str, body: &str) -> Answer {
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("Accept", accept)
        .header("Content-Type", content_type)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client().request(request).await.unwrap();
    let code = response.status().as_u16();
    let content_type = response
        .headers()
        .get("Content-Type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        code,
        content_type,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn post(url: &str, body: &str) -> Answer {
    send("POST", url, "application/json", "application/json", body).await
}

/// Evicts a pod of the default namespace through `base` (`…/pods`).
async fn evict(pods: &str, name: &str) -> Answer {
    post(
        &format!("{pods}/{name}/eviction"),
        &format!(
            r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{name}"}}}}"#
        ),
    )
    .await
}

async fn get(url: &str) -> Answer {
    send("GET", url, "application/json", "application/json", "").await
}

/// Reads a watch stream's events until `done` says stop or the stream ends.
async fn watch_events(url: &str, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let request = http::Request::get(url)
        .header("Accept", "application/json")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client().request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut events = Vec::new();
    let mut buffer = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            events.push(serde_json::from_slice(&line).unwrap());
        }
        if done(&events) {
            break;
        }
    }
    events
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test]
async fn health_version_and_admin_endpoints() {
    let running = Running::start(Clock::Manual).await;
    let url = &running.url;
    for path in ["/readyz", "/livez", "/healthz"] {
        let answer = get(&format!("{url}{path}")).await;
        assert_eq!((answer.code, answer.text.as_str()), (200, "ok"), "{path}");
    }
    let version = get(&format!("{url}/version")).await.json();
    assert_eq!(version["major"], "1");
    assert_eq!(version["minor"], "37");
    assert_eq!(version["gitVersion"], "v1.37.0");

    let advanced = post(&format!("{url}/evictsim/v1/advance"), r#"{"by": "90s"}"#).await;
    assert_eq!(advanced.code, 200, "{}", advanced.text);
    assert_eq!(advanced.json(), json!({"now": "2025-01-01T00:01:30Z"}));
    let to = post(
        &format!("{url}/evictsim/v1/advance"),
        r#"{"to": "2025-01-01T00:05:00Z"}"#,
    )
    .await;
    assert_eq!(to.json(), json!({"now": "2025-01-01T00:05:00Z"}));
    let backwards = post(
        &format!("{url}/evictsim/v1/advance"),
        r#"{"to": "2025-01-01T00:00:00Z"}"#,
    )
    .await;
    assert_eq!(backwards.code, 400);
    assert_eq!(backwards.json()["reason"], "BadRequest");
    let neither = post(&format!("{url}/evictsim/v1/advance"), "{}").await;
    assert_eq!(neither.code, 400);

    // An eviction, then the events from the cursor before it.
    let before = get(&format!("{url}/evictsim/v1/events")).await.json()["next"]
        .as_u64()
        .unwrap();
    let evicted = evict(
        &format!("{url}/api/v1/namespaces/default/pods"),
        "web-7d9f-a",
    )
    .await;
    assert_eq!(evicted.code, 201, "{}", evicted.text);
    let events = get(&format!("{url}/evictsim/v1/events?since={before}"))
        .await
        .json();
    let texts: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        texts[0].starts_with("eviction of pod default/web-7d9f-a admitted"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.starts_with("step 1:")), "{texts:?}");
    assert_eq!(events["events"][0]["time"], "2025-01-01T00:05:00Z");
    running.stop().await;
}

#[tokio::test]
async fn discovery_is_negotiated_by_exact_accept_parameters() {
    let running = Running::start(Clock::Manual).await;
    let url = &running.url;
    let v2 = send("GET", &format!("{url}/apis"), "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", "", "").await;
    assert_eq!(
        v2.content_type,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let body = v2.json();
    assert_eq!(body["apiVersion"], "apidiscovery.k8s.io/v2");
    let groups: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["apps", "policy", "discovery.k8s.io"]);
    // kubectl 1.28 asks for v2beta1 alone: a 1.37 server (V18) no longer serves it.
    let kubectl_128 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    let refused = send("GET", &format!("{url}/api"), kubectl_128, "", "").await;
    assert_eq!(refused.content_type, "application/json");
    assert_eq!(refused.json()["kind"], "APIVersions");
    let core_v2 = send(
        "GET",
        &format!("{url}/api"),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        "",
        "",
    )
    .await;
    let pods = &core_v2.json()["items"][0]["versions"][0]["resources"][0];
    assert_eq!(pods["resource"], "pods");
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(pods["categories"], json!(["all"]));
    assert!(
        pods["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["subresource"] == "eviction" && s["responseKind"]["group"] == "policy")
    );
    let legacy = get(&format!("{url}/api")).await;
    assert_eq!(legacy.json()["kind"], "APIVersions");
    let core = get(&format!("{url}/api/v1")).await.json();
    assert!(
        core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "pods/eviction"
                && r["group"] == "policy"
                && r["version"] == "v1")
    );
    let policy = get(&format!("{url}/apis/policy/v1")).await.json();
    assert!(
        policy["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "poddisruptionbudgets" && r["shortNames"] == json!(["pdb"]))
    );
    assert_eq!(get(&format!("{url}/apis/batch/v1")).await.code, 404);
    let openapi = get(&format!("{url}/openapi/v3")).await.json();
    let pointer = openapi["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let document = get(&format!("{url}{pointer}")).await.json();
    let patch = &document["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    running.stop().await;
}

#[tokio::test]
async fn tables_print_what_kubectl_shows() {
    let running = Running::start(Clock::Manual).await;
    let url = &running.url;
    let table_accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let patched = send(
        "PATCH",
        &format!("{url}/api/v1/nodes/node-1"),
        "application/json",
        "application/strategic-merge-patch+json",
        r#"{"spec":{"unschedulable":true}}"#,
    )
    .await;
    assert_eq!(patched.code, 200, "{}", patched.text);
    let nodes = send("GET", &format!("{url}/api/v1/nodes"), table_accept, "", "")
        .await
        .json();
    assert_eq!(nodes["kind"], "Table");
    let names: Vec<&str> = nodes["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[..5], ["Name", "Status", "Roles", "Age", "Version"]);
    assert_eq!(nodes["rows"][0]["cells"][1], "Ready,SchedulingDisabled");
    assert_eq!(nodes["rows"][1]["cells"][1], "Ready");
    let evicted = evict(
        &format!("{url}/api/v1/namespaces/default/pods"),
        "web-7d9f-a",
    )
    .await;
    assert_eq!(evicted.code, 201);
    let pods = send("GET", &format!("{url}/api/v1/pods"), table_accept, "", "")
        .await
        .json();
    let rows: BTreeMap<String, Value> = pods["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["cells"][0].as_str().unwrap().to_string(), r.clone()))
        .collect();
    assert_eq!(rows["web-7d9f-a"]["cells"][2], "Terminating");
    assert_eq!(
        rows["web-7d9f-a"]["object"]["kind"],
        "PartialObjectMetadata"
    );
    assert_eq!(
        rows["web-7d9f-a"]["object"]["metadata"]["namespace"],
        "default"
    );
    assert_eq!(
        rows["web-7d9f-a"]["object"]["metadata"]["labels"]["app"],
        "web"
    );
    let replacement = rows
        .keys()
        .find(|n| !["web-7d9f-a", "web-7d9f-b", "web-7d9f-c"].contains(&n.as_str()))
        .unwrap();
    assert_eq!(rows[replacement]["cells"][1], "0/1");
    assert_eq!(rows[replacement]["cells"][2], "Pending");
    let pdb = send(
        "GET",
        &format!("{url}/apis/policy/v1/namespaces/default/poddisruptionbudgets/web"),
        table_accept,
        "",
        "",
    )
    .await
    .json();
    let cells = &pdb["rows"][0]["cells"];
    assert_eq!(cells[1], "2");
    assert_eq!(cells[2], "N/A");
    assert_eq!(cells[3], 0);
    running.stop().await;
}

#[tokio::test]
async fn watches_resume_filter_expire_bookmark_and_time_out() {
    let running = Running::start(Clock::Manual).await;
    let url = running.url.clone();
    let pods = format!("{url}/api/v1/namespaces/default/pods");
    let list = get(&pods).await.json();
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    // A watch from the list's resourceVersion sees only what happens after it.
    let watcher = tokio::spawn({
        let url = format!(
            "{pods}?watch=true&resourceVersion={rv}&fieldSelector=metadata.name%3Dweb-7d9f-a"
        );
        async move { watch_events(&url, |events| events.iter().any(|e| e["type"] == "DELETED")).await }
    });
    // A label-selected watch of the replacement pods only.
    let labelled = tokio::spawn({
        let url = format!(
            "{pods}?watch=true&resourceVersion={rv}&labelSelector=app%3Dweb&timeoutSeconds=5"
        );
        async move { watch_events(&url, |_| false).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let evicted = evict(&pods, "web-7d9f-a").await;
    assert_eq!(evicted.code, 201);
    // Nothing moves on the manual clock until told: the kubelet's SIGTERM handling takes a
    // second of virtual time.
    running.server.advance(Duration::from_secs(5));
    let events = tokio::time::timeout(Duration::from_secs(10), watcher)
        .await
        .unwrap()
        .unwrap();
    let seen = types(&events);
    assert_eq!(
        seen.first().map(String::as_str),
        Some("MODIFIED web-7d9f-a"),
        "{seen:?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("DELETED web-7d9f-a"),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|s| s.ends_with("web-7d9f-a")),
        "the field selector holds: {seen:?}"
    );
    let deleted = &events.last().unwrap()["object"];
    assert!(deleted["metadata"]["deletionTimestamp"].is_string());
    let mut last_rv = 0u64;
    for event in &events {
        let rv: u64 = event["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rv > last_rv, "resourceVersions increase");
        last_rv = rv;
    }

    // The label-selected watch ends by its timeoutSeconds.
    let labelled = tokio::time::timeout(Duration::from_secs(10), labelled)
        .await
        .unwrap()
        .unwrap();
    let labelled = types(&labelled);
    assert!(
        labelled.iter().any(|s| s.starts_with("ADDED web-7d9f-")),
        "the replacement: {labelled:?}"
    );

    // Resuming from the middle replays what came after.
    let resumed = watch_events(
        &format!("{pods}?watch=true&resourceVersion={rv}&timeoutSeconds=1"),
        |_| false,
    )
    .await;
    assert!(resumed.len() >= seen.len(), "{:?}", types(&resumed));

    // A resourceVersion before the server's history: 410 Expired in an ERROR event.
    let expired = watch_events(&format!("{pods}?watch=true&resourceVersion=1"), |_| false).await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["type"], "ERROR");
    assert_eq!(expired[0]["object"]["code"], 410);
    assert_eq!(expired[0]["object"]["reason"], "Expired");
    assert!(
        expired[0]["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version: 1 (")
    );

    // No resourceVersion: the current objects as ADDED, then a bookmark before the timeout.
    let fresh = watch_events(
        &format!("{pods}?watch=true&allowWatchBookmarks=true&timeoutSeconds=1"),
        |_| false,
    )
    .await;
    let kinds: Vec<&str> = fresh.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ADDED", "ADDED", "ADDED", "BOOKMARK"]);
    assert_eq!(fresh[3]["object"]["kind"], "Pod");

    // A streaming list: initial events, then the bookmark that ends them.
    let streaming = watch_events(
        &format!("{pods}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"),
        |_| false,
    )
    .await;
    let end = streaming.iter().find(|e| e["type"] == "BOOKMARK").unwrap();
    assert_eq!(
        end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let refused = get(&format!("{pods}?watch=true&sendInitialEvents=true")).await;
    assert_eq!(refused.code, 422);
    assert_eq!(refused.json()["details"]["kind"], "ListOptions");
    running.stop().await;
}

/// Timers fire when due on the real clock (speed 1000): a watcher sees a pod's whole
/// deletion without any other request.
#[tokio::test]
async fn timers_fire_for_watchers_without_requests() {
    let running = Running::start(Clock::Tokio { speed: 1000.0 }).await;
    let pods = format!("{}/api/v1/namespaces/default/pods", running.url);
    let rv = get(&pods).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let evicted = evict(&pods, "web-7d9f-a").await;
    assert_eq!(evicted.code, 201);
    let events = tokio::time::timeout(
        Duration::from_secs(20),
        watch_events(
            &format!(
                "{pods}?watch=true&resourceVersion={rv}&fieldSelector=metadata.name%3Dweb-7d9f-a"
            ),
            |events| events.iter().any(|e| e["type"] == "DELETED"),
        ),
    )
    .await
    .expect("the kubelet's timers fire while only a watch is open");
    assert_eq!(events.last().unwrap()["type"], "DELETED");
    running.stop().await;
}

#[tokio::test]
async fn a_token_is_required_when_set() {
    let server = Server::with_token(
        evictsim::scenario::Scenario::parse(EXAMPLE)
            .and_then(|s| s.build_cluster())
            .unwrap(),
        Clock::Manual,
        "s3cret",
    );
    let request = |auth: Option<&str>, path: &str| {
        let mut builder = http::Request::get(path);
        if let Some(auth) = auth {
            builder = builder.header("Authorization", auth);
        }
        builder.body(Full::new(Bytes::new())).unwrap()
    };
    let denied = server
        .clone()
        .oneshot(request(None, "/api/v1/pods"))
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let body: Value =
        serde_json::from_slice(&denied.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["reason"], "Unauthorized");
    let wrong = server
        .clone()
        .oneshot(request(Some("Bearer nope"), "/api/v1/pods"))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let allowed = server
        .clone()
        .oneshot(request(Some("Bearer s3cret"), "/api/v1/pods"))
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let public = server
        .clone()
        .oneshot(request(None, "/readyz"))
        .await
        .unwrap();
    assert_eq!(public.status(), 200);
}

/// 64 clients at once over loopback: GETs, LISTs, evictions, optimistic-concurrency PATCHes
/// and watches. No error beyond upstream's own (429, 409), no lost update, and every
/// watcher's stream, replayed, gives exactly the final state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_clients() {
    let running = Running::start(Clock::Tokio { speed: 100.0 }).await;
    let url = running.url.clone();
    let pods = format!("{url}/api/v1/namespaces/default/pods");
    let first = get(&pods).await.json();
    let rv = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let initial_state = names_and_versions(&first);
    // A counter on a ConfigMap-like object: the node's annotation, incremented with
    // read-modify-write and resourceVersion preconditions.
    let watchers: Vec<_> = (0..8)
        .map(|_| {
            let url = format!("{pods}?watch=true&resourceVersion={rv}&timeoutSeconds=20");
            tokio::spawn(async move { watch_events(&url, |_| false).await })
        })
        .collect();
    let increments_per_client = 5;
    let mut clients = Vec::new();
    for i in 0..56 {
        let url = url.clone();
        clients.push(tokio::spawn(async move {
            let mut increments = 0;
            let mut codes = Vec::new();
            for round in 0..increments_per_client {
                match (i + round) % 4 {
                    0 => codes.push(get(&format!("{url}/api/v1/namespaces/default/pods/web-7d9f-c")).await.code),
                    1 => codes.push(get(&format!("{url}/api/v1/pods?labelSelector=app%3Dweb")).await.code),
                    2 => {
                        let victim = ["web-7d9f-a", "web-7d9f-b"][i % 2];
                        let answer = send(
                            "POST",
                            &format!("{url}/api/v1/namespaces/default/pods/{victim}/eviction"),
                            "application/json",
                            "application/json",
                            &format!(r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{victim}"}}}}"#),
                        )
                        .await;
                        codes.push(answer.code);
                    }
                    _ => {}
                }
                // A read-modify-write on the node's counter annotation, retried on 409.
                for _attempt in 0..1000 {
                    let node = get(&format!("{url}/api/v1/nodes/node-2")).await.json();
                    let count: u64 = node["metadata"]["annotations"]["count"].as_str().unwrap_or("0").parse().unwrap();
                    let patch = json!({"metadata": {"resourceVersion": node["metadata"]["resourceVersion"], "annotations": {"count": (count + 1).to_string()}}});
                    let answer = send("PATCH", &format!("{url}/api/v1/nodes/node-2"), "application/json", "application/merge-patch+json", &patch.to_string()).await;
                    codes.push(answer.code);
                    if answer.code == 200 {
                        increments += 1;
                        break;
                    }
                }
            }
            (increments, codes)
        }));
    }
    let mut total = 0;
    for client in clients {
        let (increments, codes) = client.await.unwrap();
        total += increments;
        for code in codes {
            assert!(
                matches!(code, 200 | 201 | 404 | 409 | 429),
                "only upstream's own errors: {code}"
            );
        }
    }
    assert_eq!(total, 56 * increments_per_client);
    let node = get(&format!("{url}/api/v1/nodes/node-2")).await.json();
    assert_eq!(
        node["metadata"]["annotations"]["count"],
        total.to_string(),
        "no lost update"
    );

    // Let everything settle, then compare each watcher's replay with the final list.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let expected = names_and_versions(&get(&pods).await.json());
    running.server.shut_down();
    for watcher in watchers {
        let events = watcher.await.unwrap();
        let mut state = initial_state.clone();
        for event in &events {
            let name = event["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string();
            let rv = event["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .to_string();
            match event["type"].as_str().unwrap() {
                "ADDED" | "MODIFIED" => {
                    state.insert(name, rv);
                }
                "DELETED" => {
                    state.remove(&name);
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(state, expected, "a watcher's replay is the final state");
    }
    running.stop().await;
}

/// Name → resourceVersion of a list's items.
fn names_and_versions(list: &Value) -> BTreeMap<String, String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["metadata"]["name"].as_str().unwrap().to_string(),
                item["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// Input at the edges of every range the server reads: answered, never a panic.
#[tokio::test(start_paused = true)]
async fn hostile_inputs_get_answers() {
    let cluster = || {
        evictsim::scenario::Scenario::parse(EXAMPLE)
            .and_then(|s| s.build_cluster())
            .unwrap()
    };
    let call = |server: &Server, method: &str, path: &str, body: Vec<u8>| {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        server.clone().oneshot(request)
    };
    for speed in [1e300, 1e-300, 0.0] {
        let server = Server::with_clock(cluster(), Clock::Tokio { speed });
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let answer = call(&server, "GET", "/api/v1/pods", Vec::new())
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "speed {speed}");
    }
    let server = Server::with_clock(cluster(), Clock::Manual);
    let huge = call(
        &server,
        "POST",
        "/evictsim/v1/advance",
        br#"{"by": "9999999999999h"}"#.to_vec(),
    )
    .await
    .unwrap();
    assert!(
        huge.status() == 200 || huge.status() == 400,
        "{}",
        huge.status()
    );
    let again = call(
        &server,
        "POST",
        "/evictsim/v1/advance",
        br#"{"by": "1s"}"#.to_vec(),
    )
    .await
    .unwrap();
    assert!(again.status() == 200 || again.status() == 400);
    let server = Server::with_clock(cluster(), Clock::Manual);
    let watch = call(
        &server,
        "GET",
        "/api/v1/pods?watch=true&timeoutSeconds=9223372036854775807",
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(watch.status(), 200);
    let mut body = watch.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"{\"type\":\"ADDED\""));
    server.shut_down();
    while let Some(frame) = body.frame().await {
        frame.unwrap();
    }
    let too_big = call(
        &server,
        "POST",
        "/api/v1/namespaces/default/pods",
        vec![b' '; 3 * 1024 * 1024 + 1],
    )
    .await
    .unwrap();
    assert_eq!(too_big.status(), 413);
    let bad = call(
        &server,
        "POST",
        "/evictsim/v1/advance",
        b"not json".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    let negative = call(
        &server,
        "GET",
        "/api/v1/pods?watch=true&timeoutSeconds=-5&resourceVersion=abc",
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(negative.status(), 400);
}

/// kubectl 1.35+ `wait --for=delete` and `delete` open this streaming list before anything
/// else (V10): the pod as ADDED, the end-of-initial-events bookmark, then its DELETED on
/// the same stream — never a hang.
#[tokio::test]
async fn kubectl_1_35_wait_stream_ends_on_deleted() {
    let running = Running::start(Clock::Tokio { speed: 100.0 }).await;
    let pods = format!("{}/api/v1/namespaces/default/pods", running.url);
    let url = format!(
        "{pods}?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dweb-7d9f-c&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&timeoutSeconds=417&watch=true"
    );
    let waiter = tokio::spawn(async move {
        watch_events(&url, |events| events.iter().any(|e| e["type"] == "DELETED")).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let deleted = send(
        "DELETE",
        &format!("{pods}/web-7d9f-c"),
        "application/json",
        "application/json",
        r#"{"propagationPolicy":"Background"}"#,
    )
    .await;
    assert_eq!(deleted.code, 200, "{}", deleted.text);
    let events = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .expect("the DELETED event arrives")
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds[..2], ["ADDED", "BOOKMARK"]);
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(kinds.last(), Some(&"DELETED"));
    running.stop().await;
}
