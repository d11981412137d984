//! What HTTP costs on top of the handler, measured side by side in one run.
//!
//! - `in_process/*`: `rest::handle` called directly (the floor), and `in_process/server/*` the
//!   same requests through the in-process `Server` (what the server adds, without a socket);
//! - `loopback/*/1` and `/16`: the same requests through `evictsim serve`'s hyper server over
//!   loopback, one at a time on one connection and sixteen at once on sixteen connections;
//! - `kube_rs/*`: a kube-rs `Api::get` through the in-process `Server`, beside the same call
//!   against a canned tower service that answers a fixed pod (kube-rs's own floor);
//! - `startup/10000_pods`: from a 10,000-pod scenario's JSON text to a server accepting
//!   requests.
//!
//! The cluster: 10,000 Ready pods on 100 nodes, and a PDB of minAvailable 99 per 100 pods.
//! Evictions are dry runs (`?dryRun=All`), so the cluster stays the same across iterations.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use evictsim::cluster::Cluster;
use evictsim::server::{Clock, ListenConfig, Server};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

const PODS: usize = 10_000;
const PODS_PER_APP: usize = 100;

fn scenario_json() -> String {
    let mut objects = Vec::new();
    for n in 0..PODS / PODS_PER_APP {
        objects.push(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("node-{n}")},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        );
        objects.push(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": format!("app-{n}"), "namespace": "default"},
            "spec": {"minAvailable": PODS_PER_APP - 1, "selector": {"matchLabels": {"app": format!("app-{n}")}}}}));
    }
    for i in 0..PODS {
        let app = i / PODS_PER_APP;
        objects.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("pod-{i}"), "namespace": "default", "labels": {"app": format!("app-{app}")}},
            "spec": {"nodeName": format!("node-{}", i % (PODS / PODS_PER_APP)), "containers": [{"name": "app", "image": "registry.example/app:1.0"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}));
    }
    json!({"start": "2025-01-01T00:00:00Z", "objects": objects}).to_string()
}

fn cluster(text: &str) -> Cluster {
    evictsim::scenario::Scenario::parse(text)
        .unwrap()
        .build_cluster()
        .unwrap()
}

const GET_POD: &str = "/api/v1/namespaces/default/pods/pod-4242";
const EVICT: &str = "/api/v1/namespaces/default/pods/pod-4242/eviction?dryRun=All";
const EVICTION: &str =
    r#"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"pod-4242"}}"#;

/// The request for `path` (a GET, or the eviction POST), with `body` made by `wrap`.
fn request<B>(path: &str, base: &str, wrap: impl Fn(&'static [u8]) -> B) -> http::Request<B> {
    let uri = format!("{base}{path}");
    if path == EVICT {
        http::Request::post(uri)
            .header("Content-Type", "application/json")
            .body(wrap(EVICTION.as_bytes()))
            .unwrap()
    } else {
        http::Request::get(uri).body(wrap(b"")).unwrap()
    }
}

fn full(bytes: &'static [u8]) -> Full<Bytes> {
    Full::new(Bytes::from_static(bytes))
}

fn benches(c: &mut Criterion) {
    let text = scenario_json();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The floor: the handler alone.
    let mut group = c.benchmark_group("in_process");
    let mut direct = cluster(&text);
    for (name, path) in [("get_pod", GET_POD), ("dry_run_eviction", EVICT)] {
        let request = request(path, "", <[u8]>::to_vec);
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter(|| {
                let now = direct.now();
                let response = evictsim::rest::handle(&mut direct, now, &request);
                assert!(response.status().is_success(), "{:?}", response.body());
                black_box(response)
            })
        });
    }
    // The same requests through the in-process `Server` (tower `oneshot`, body collected):
    // what the server adds to the handler, without a socket or a client.
    let server = runtime.block_on(async { Server::with_clock(cluster(&text), Clock::Manual) });
    for (name, path) in [("get_pod", GET_POD), ("dry_run_eviction", EVICT)] {
        group.bench_function(BenchmarkId::new("server", name), |b| {
            b.to_async(&runtime).iter(|| {
                let server = server.clone();
                async move {
                    use tower::ServiceExt;
                    let response = server.oneshot(request(path, "", full)).await.unwrap();
                    assert!(response.status().is_success());
                    black_box(response.into_body().collect().await.unwrap().to_bytes())
                }
            })
        });
    }
    group.finish();

    // Over loopback.
    let listening = runtime.block_on(async {
        let config = ListenConfig {
            address: "127.0.0.1:0".parse().unwrap(),
            clock: Clock::Manual,
            tls: false,
        };
        evictsim::server::serve(cluster(&text), &config)
            .await
            .unwrap()
    });
    let base = listening.url().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(listening.run(async move {
        let _ = stopped.await;
    }));
    let client: Client<HttpConnector, Full<Bytes>> = {
        let _guard = runtime.enter();
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(32)
            .build(connector)
    };
    let mut group = c.benchmark_group("loopback");
    for (name, path) in [("get_pod", GET_POD), ("dry_run_eviction", EVICT)] {
        for connections in [1usize, 16] {
            group.throughput(Throughput::Elements(connections as u64));
            group.bench_with_input(
                BenchmarkId::new(name, connections),
                &connections,
                |b, &n| {
                    b.to_async(&runtime).iter(|| {
                        let client = client.clone();
                        let base = base.clone();
                        async move {
                            let calls = (0..n).map(|_| {
                                let client = client.clone();
                                let request = request(path, &base, full);
                                async move {
                                    let response = client.request(request).await.unwrap();
                                    assert!(response.status().is_success());
                                    response.into_body().collect().await.unwrap().to_bytes()
                                }
                            });
                            black_box(futures::future::join_all(calls).await)
                        }
                    })
                },
            );
        }
    }
    group.finish();
    let _ = stop.send(());
    let _ = runtime.block_on(serving);

    // kube-rs in process: against evictsim, and against a canned answer.
    let mut group = c.benchmark_group("kube_rs");
    let (evictsim_client, canned_client) = runtime.block_on(async {
        let server = Server::with_clock(cluster(&text), Clock::Manual);
        let pod = {
            let request = http::Request::get(GET_POD).body(Vec::new()).unwrap();
            let mut guard_cluster = cluster(&text);
            let now = guard_cluster.now();
            evictsim::rest::handle(&mut guard_cluster, now, &request).into_body()
        };
        let canned = tower::service_fn(move |_request: http::Request<kube::client::Body>| {
            let body = pod.clone();
            async move {
                let mut response = http::Response::new(Full::new(Bytes::from(body)));
                response.headers_mut().insert(
                    "Content-Type",
                    http::HeaderValue::from_static("application/json"),
                );
                Ok::<_, Infallible>(response)
            }
        });
        (
            kube::Client::new(server, "default"),
            kube::Client::new(canned, "default"),
        )
    });
    for (name, client) in [
        ("evictsim", evictsim_client),
        ("canned_service", canned_client),
    ] {
        group.throughput(Throughput::Elements(1));
        let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::default_namespaced(client);
        group.bench_function(BenchmarkId::new("get_pod", name), |b| {
            b.to_async(&runtime).iter(|| {
                let pods = pods.clone();
                async move { black_box(pods.get("pod-4242").await.unwrap()) }
            })
        });
    }
    group.finish();

    // Start-up: scenario text to a server answering.
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("scenario_to_serving", PODS), |b| {
        b.to_async(&runtime).iter(|| {
            let text = text.clone();
            async move {
                let config = ListenConfig {
                    address: "127.0.0.1:0".parse().unwrap(),
                    clock: Clock::Manual,
                    tls: false,
                };
                let listening = evictsim::server::serve(cluster(&text), &config)
                    .await
                    .unwrap();
                let url = format!("{}/readyz", listening.url());
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let task = tokio::spawn(listening.run(async move {
                    let _ = stopped.await;
                }));
                let client: Client<HttpConnector, Full<Bytes>> =
                    Client::builder(TokioExecutor::new()).build_http();
                let answer = client
                    .request(
                        http::Request::get(url)
                            .body(Full::new(Bytes::new()))
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 200);
                let _ = stop.send(());
                let _ = task.await;
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = server;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(server);
