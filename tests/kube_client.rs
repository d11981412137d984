//! kube-rs against the in-process server: no socket, no kubeconfig, tokio's paused clock.
//!
//! Each test is what a Rust operator's own test would do: `kube::Client::new(server)`, then
//! the `Api` calls, `evict`, and `kube::runtime::watcher` it uses in production.

use std::time::Duration;

use evictsim::cluster::Cluster;
use evictsim::model::ObjectKey;
use evictsim::server::{Clock, Server};
use evictsim::time::SimTime;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams};
use kube::runtime::watcher;

const EXAMPLE: &str = include_str!("../examples/10-drain-with-kubectl.yaml");

fn cluster() -> Cluster {
    evictsim::scenario::Scenario::parse(EXAMPLE)
        .and_then(|s| s.build_cluster())
        .expect("the example is valid")
}

/// The TooManyRequests a refused eviction returns, as kube-rs surfaces it.
fn api_error(error: kube::Error) -> kube::core::Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn list_get_patch_and_evict_with_a_429() {
    let server = Server::new(cluster());
    let client = kube::Client::new(server.clone(), "default");
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let on_node_1 = pods
        .list(&ListParams::default().fields("spec.nodeName=node-1"))
        .await
        .unwrap();
    let names: Vec<String> = on_node_1
        .items
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["web-7d9f-a", "web-7d9f-b"]);
    assert!(on_node_1.metadata.resource_version.is_some());

    let pdbs: Api<PodDisruptionBudget> = Api::default_namespaced(client.clone());
    let pdb = pdbs.get("web").await.unwrap();
    assert_eq!(pdb.status.unwrap().disruptions_allowed, Some(1));

    let nodes: Api<Node> = Api::all(client.clone());
    let cordoned = nodes
        .patch(
            "node-1",
            &PatchParams::default(),
            &Patch::Strategic(serde_json::json!({"spec": {"unschedulable": true}})),
        )
        .await
        .unwrap();
    assert_eq!(cordoned.spec.unwrap().unschedulable, Some(true));

    pods.evict("web-7d9f-a", &EvictParams::default())
        .await
        .unwrap();
    let refused = api_error(
        pods.evict("web-7d9f-b", &EvictParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 429);
    assert_eq!(
        refused.message,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    let missing = api_error(pods.get("nope").await.unwrap_err());
    assert_eq!(
        (missing.code, missing.message.as_str()),
        (404, "pods \"nope\" not found")
    );
}

/// A watcher sees an evicted pod through the six steps: marked for deletion, then gone,
/// at the virtual times the kubelet's timers say — while the test only waits.
#[tokio::test(start_paused = true)]
async fn a_watcher_follows_an_eviction_to_the_end() {
    let server = Server::new(cluster());
    let client = kube::Client::new(server.clone(), "default");
    let pods: Api<Pod> = Api::default_namespaced(client);
    let config = watcher::Config::default().fields("metadata.name=web-7d9f-a");
    let mut events = watcher(pods.clone(), config).boxed();
    // The initial list.
    let mut seen_initial = false;
    while let Some(event) = events.try_next().await.unwrap() {
        if matches!(event, watcher::Event::InitDone) {
            seen_initial = true;
            break;
        }
    }
    assert!(seen_initial);
    pods.evict("web-7d9f-a", &EvictParams::default())
        .await
        .unwrap();
    let mut terminating_seen = false;
    let deleted = loop {
        match events.try_next().await.unwrap().expect("the watch goes on") {
            watcher::Event::Apply(pod) => {
                terminating_seen |= pod.metadata.deletion_timestamp.is_some();
            }
            watcher::Event::Delete(pod) => break pod,
            _ => {}
        }
    };
    assert!(terminating_seen, "step 1 (deletionTimestamp) was watched");
    assert_eq!(deleted.metadata.name.as_deref(), Some("web-7d9f-a"));
    assert!(
        server
            .cluster()
            .pod(&ObjectKey::new("default", "web-7d9f-a"))
            .is_none()
    );
    // The pod ignored nothing: SIGTERM ends it within the 2 s floor of the kubelet model.
    assert!(server.now() < SimTime::from_secs(30), "{}", server.now());
}

/// kubectl drain's loop, written against kube-rs: evict every pod of the node, retry a 429
/// every 5 s, poll each evicted pod every second until it is gone. On tokio's paused clock
/// it takes the virtual minute it would take in a cluster, and no wall time.
#[tokio::test(start_paused = true)]
async fn a_drain_loop_completes_on_the_paused_clock() {
    let server = Server::new(cluster());
    let client = kube::Client::new(server.clone(), "default");
    let nodes: Api<Node> = Api::all(client.clone());
    nodes.cordon("node-1").await.unwrap();
    let pods: Api<Pod> = Api::all(client.clone());
    let to_evict = pods
        .list(&ListParams::default().fields("spec.nodeName=node-1"))
        .await
        .unwrap();
    let mut refusals = 0;
    for pod in &to_evict.items {
        let name = pod.metadata.name.clone().unwrap();
        let namespaced: Api<Pod> = Api::namespaced(client.clone(), "default");
        loop {
            match namespaced.evict(&name, &EvictParams::default()).await {
                Ok(_) => break,
                Err(kube::Error::Api(status)) if status.code == 429 => {
                    refusals += 1;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(other) => panic!("{other}"),
            }
        }
        let uid = pod.metadata.uid.clone();
        loop {
            match namespaced.get_opt(&name).await.unwrap() {
                Some(current) if current.metadata.uid == uid => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                _ => break,
            }
        }
    }
    assert!(refusals >= 1, "the budget held the second eviction back");
    let left = pods
        .list(&ListParams::default().fields("spec.nodeName=node-1"))
        .await
        .unwrap();
    assert!(left.items.is_empty());
    let now = server.now();
    assert!(
        now >= SimTime::from_secs(5) && now < SimTime::from_secs(60),
        "drained at virtual {now}"
    );
}

/// The manual clock moves only when told; a timer due in between fires on the advance.
#[tokio::test(start_paused = true)]
async fn the_manual_clock_moves_only_by_advance() {
    let server = Server::with_clock(cluster(), Clock::Manual);
    let client = kube::Client::new(server.clone(), "default");
    let pods: Api<Pod> = Api::default_namespaced(client);
    pods.evict("web-7d9f-a", &EvictParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(server.now(), SimTime::ZERO);
    let pod = pods.get("web-7d9f-a").await.unwrap();
    assert!(pod.metadata.deletion_timestamp.is_some());
    server.advance(Duration::from_secs(31));
    assert!(pods.get_opt("web-7d9f-a").await.unwrap().is_none());
}

/// `watcher` over every pod sees exactly the final state when replayed.
#[tokio::test(start_paused = true)]
async fn a_watcher_replays_to_the_final_state() {
    let server = Server::new(cluster());
    let client = kube::Client::new(server.clone(), "default");
    let pods: Api<Pod> = Api::default_namespaced(client);
    let store = {
        let (reader, writer) = kube::runtime::reflector::store::<Pod>();
        let stream =
            kube::runtime::reflector(writer, watcher(pods.clone(), watcher::Config::default()));
        tokio::spawn(stream.for_each(|_| async {}));
        reader
    };
    store.wait_until_ready().await.unwrap();
    pods.evict("web-7d9f-a", &EvictParams::default())
        .await
        .unwrap();
    // Long enough for the eviction, the replacement and its start.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let mut watched: Vec<String> = store
        .state()
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    watched.sort();
    let listed: Vec<String> = server
        .cluster()
        .list::<evictsim::model::Pod>()
        .map(|p| p.metadata.name.to_string())
        .collect();
    assert_eq!(watched, listed);
    assert_eq!(listed.len(), 3);
    assert!(!listed.contains(&"web-7d9f-a".to_string()));
}

/// A watcher that asks for a streaming list (`sendInitialEvents`, as client-go 1.35+ and
/// kube-rs's `streaming_lists()` do) gets the current pods and the end-of-initial-events
/// bookmark, then the changes.
#[tokio::test(start_paused = true)]
async fn a_streaming_list_watcher_starts_from_the_initial_events() {
    let server = Server::new(cluster());
    let client = kube::Client::new(server.clone(), "default");
    let pods: Api<Pod> = Api::default_namespaced(client);
    let config = watcher::Config::default().streaming_lists();
    let mut events = watcher(pods.clone(), config).boxed();
    let mut initial = Vec::new();
    loop {
        match events.try_next().await.unwrap().expect("the watch goes on") {
            watcher::Event::InitApply(pod) => initial.push(pod.metadata.name.unwrap()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(initial, ["web-7d9f-a", "web-7d9f-b", "web-7d9f-c"]);
    pods.evict("web-7d9f-a", &EvictParams::default())
        .await
        .unwrap();
    let next = events.try_next().await.unwrap().expect("an event");
    let watcher::Event::Apply(pod) = next else {
        panic!("{next:?}")
    };
    // The eviction's first write is the DisruptionTarget condition, before step 1.
    assert_eq!(pod.metadata.name.as_deref(), Some("web-7d9f-a"));
    let conditions = pod.status.unwrap().conditions.unwrap();
    assert!(
        conditions.iter().any(|c| c.type_ == "DisruptionTarget"
            && c.reason.as_deref() == Some("EvictionByEvictionAPI")),
        "{conditions:?}"
    );
}
