//! A rolling eviction of every pod of a cluster through the full six steps, replacements
//! included: 1,000 namespaces, each a ReplicaSet of 150 replicas under a PDB with
//! `maxUnavailable: 10%`, on 5,000 nodes (150,000 pods). A client evicts every original pod,
//! retrying 429s every 5 s of virtual time as kubectl drain does, until all have been
//! replaced by Ready pods.
//!
//! The full-scale run is timed once and printed; criterion then measures the same roll at a
//! tenth of the scale.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use evictsim::cluster::{Cluster, ClusterConfig};
use evictsim::model::{Eviction, Node, Pod, PodDisruptionBudget, ReplicaSet};
use evictsim::time::SimTime;
use serde_json::json;

const NODES: usize = 5_000;
const REPLICAS: usize = 150;

fn build(namespaces: usize) -> (Cluster, Vec<(String, String)>) {
    let mut cluster = Cluster::new(ClusterConfig::default());
    cluster.defer_reactions();
    let t = SimTime::ZERO;
    for n in 0..NODES {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": format!("node-{n}")}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})).unwrap();
        cluster.load(t, node).unwrap();
    }
    let mut originals = Vec::new();
    for k in 0..namespaces {
        let ns = format!("ns-{k:04}");
        let uid = format!("00000000-0000-4000-8000-{k:012}");
        let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": ns, "uid": uid}, "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}})).unwrap();
        cluster.load(t, rs).unwrap();
        let pdb: PodDisruptionBudget = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": ns}, "spec": {"maxUnavailable": "10%", "selector": {"matchLabels": {"app": "web"}}}})).unwrap();
        cluster.load(t, pdb).unwrap();
        for i in 0..REPLICAS {
            let name = format!("web-{i}");
            let pod: Pod = serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns, "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": uid, "controller": true}]},
                "spec": {"nodeName": format!("node-{}", (k * REPLICAS + i) % NODES), "containers": [{"name": "web", "image": "web:1"}]},
                "status": {"phase": "Running", "podIP": format!("10.{}.{}.{}", k / 256, k % 256, i), "conditions": [{"type": "Ready", "status": "True"}]}})).unwrap();
            cluster.load(t, pod).unwrap();
            originals.push((ns.clone(), name));
        }
    }
    cluster.resume_reactions(t);
    (cluster, originals)
}

/// Evicts every original pod, retrying refusals every 5 s; returns the virtual time taken.
fn roll(cluster: &mut Cluster, originals: &[(String, String)]) -> SimTime {
    let mut pending: Vec<&(String, String)> = originals.iter().collect();
    let mut now = cluster.now();
    for _ in 0..100_000 {
        if pending.is_empty() {
            break;
        }
        pending.retain(|(ns, name)| {
            let body: Eviction =
                serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns}}))
                    .unwrap();
            match cluster.evict(now, ns, name, body, &[]) {
                Ok(_) => false,
                Err(e) => e.code() != 404,
            }
        });
        now = now + Duration::from_secs(5);
        cluster.advance_to(now);
    }
    assert!(pending.is_empty(), "{} pods never evicted", pending.len());
    cluster.advance_to(now + Duration::from_secs(60));
    let ready = cluster
        .list::<Pod>()
        .filter(|p| p.is_ready() && !p.is_terminating())
        .count();
    assert_eq!(ready, originals.len(), "every replica replaced and Ready");
    now
}

fn full_scale_once() {
    let started = Instant::now();
    let (mut cluster, originals) = build(1_000);
    let built = started.elapsed();
    let rolled = Instant::now();
    let virtual_time = roll(&mut cluster, &originals);
    println!(
        "rolling eviction of {} pods (plus {} replacements) on {NODES} nodes: {:.1?} wall ({:.1?} build), {} of virtual time, {} events",
        originals.len(),
        originals.len(),
        rolled.elapsed(),
        built,
        virtual_time,
        cluster.event_count()
    );
}

fn rolling(c: &mut Criterion) {
    if std::env::var_os("EVICTSIM_SKIP_FULL_ROLL").is_none() {
        full_scale_once();
    }
    let (base, originals) = build(100);
    let mut group = c.benchmark_group("rolling_eviction");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function(
        BenchmarkId::new("six_steps_with_replacements", originals.len()),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut cluster = base.clone();
                    let started = Instant::now();
                    roll(&mut cluster, &originals);
                    total += started.elapsed();
                }
                total
            })
        },
    );
    group.finish();
}

criterion_group!(benches, rolling);
criterion_main!(benches);
