//! Eviction admission at Kubernetes' published limits: 150,000 pods, 5,000 nodes,
//! 10,000 PDBs, one namespace with 3,000 pods and 1,000 PDBs.
//!
//! Side by side in the same run: evictsim's indexed PDB lookup and an upstream-style lookup
//! (list the namespace's PDBs, copy them, match each selector: E13), for dry-run decisions
//! at 10 and 1,000 PDBs per namespace; then real evictions (PDB write, condition, graceful
//! delete, controller re-sync). Resident bytes per pod are printed before the benchmarks.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use evictsim::cluster::eviction::{EvictionRequest, evict};
use evictsim::cluster::{Cluster, ClusterConfig, DryRunStore, KubernetesVersion, PdbLookup};
use evictsim::model::{Eviction, Node, Pod, PodDisruptionBudget};
use evictsim::time::SimTime;
use serde_json::json;

const TOTAL_PODS: usize = 150_000;
const NODES: usize = 5_000;
const BIG_NAMESPACE_PODS: usize = 3_000;
const BIG_NAMESPACE_PDBS: usize = 1_000;
const SMALL_NAMESPACES: usize = 900;
const PDBS_PER_SMALL_NAMESPACE: usize = 10;

fn pod(namespace: &str, name: &str, app: &str, node: usize) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app, "tier": "web"}},
        "spec": {"nodeName": format!("node-{node}"), "containers": [{"name": "app", "image": "registry.example/app:1.0"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    }))
    .unwrap()
}

fn pdb(namespace: &str, name: &str, app: &str) -> PodDisruptionBudget {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}}
    }))
    .unwrap()
}

fn small_namespace(k: usize) -> String {
    format!("ns-{k:03}")
}

/// Pods of small namespace `k`: the 147,000 other pods spread evenly.
fn small_namespace_pods(k: usize) -> usize {
    let rest = TOTAL_PODS - BIG_NAMESPACE_PODS;
    rest / SMALL_NAMESPACES + usize::from(k < rest % SMALL_NAMESPACES)
}

fn build() -> Cluster {
    let mut cluster = Cluster::new(ClusterConfig::default());
    let t = SimTime::ZERO;
    for n in 0..NODES {
        let node: Node =
            serde_json::from_value(json!({"metadata": {"name": format!("node-{n}")}})).unwrap();
        cluster.load(t, node).unwrap();
    }
    let mut placed = 0usize;
    for i in 0..BIG_NAMESPACE_PODS {
        cluster
            .load(
                t,
                pod(
                    "big",
                    &format!("big-{i}"),
                    &format!("svc-{}", i / 3),
                    placed % NODES,
                ),
            )
            .unwrap();
        placed += 1;
    }
    for k in 0..SMALL_NAMESPACES {
        let ns = small_namespace(k);
        for i in 0..small_namespace_pods(k) {
            cluster
                .load(
                    t,
                    pod(
                        &ns,
                        &format!("{ns}-{i}"),
                        &format!("svc-{}", i % PDBS_PER_SMALL_NAMESPACE),
                        placed % NODES,
                    ),
                )
                .unwrap();
            placed += 1;
        }
    }
    for j in 0..BIG_NAMESPACE_PDBS {
        cluster
            .load(t, pdb("big", &format!("pdb-{j}"), &format!("svc-{j}")))
            .unwrap();
    }
    for k in 0..SMALL_NAMESPACES {
        let ns = small_namespace(k);
        for j in 0..PDBS_PER_SMALL_NAMESPACE {
            cluster
                .load(t, pdb(&ns, &format!("pdb-{j}"), &format!("svc-{j}")))
                .unwrap();
        }
    }
    assert_eq!(cluster.list::<Pod>().count(), TOTAL_PODS);
    assert_eq!(
        cluster.list::<PodDisruptionBudget>().count(),
        BIG_NAMESPACE_PDBS + SMALL_NAMESPACES * PDBS_PER_SMALL_NAMESPACE
    );
    cluster
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let before = resident_bytes();
        let started = Instant::now();
        let cluster = build();
        if let (Some(before), Some(after)) = (before, resident_bytes()) {
            println!(
                "cluster: {TOTAL_PODS} pods, {NODES} nodes, {} PDBs built in {:.1?}; resident bytes per pod: {}",
                BIG_NAMESPACE_PDBS + SMALL_NAMESPACES * PDBS_PER_SMALL_NAMESPACE,
                started.elapsed(),
                (after.saturating_sub(before)) / TOTAL_PODS as u64
            );
        }
        cluster
    })
}

fn eviction(namespace: &str, name: &str, dry_run: bool) -> Eviction {
    let mut body = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}});
    if dry_run {
        body["deleteOptions"] = json!({"dryRun": ["All"]});
    }
    serde_json::from_value(body).unwrap()
}

/// (PDBs in the namespace, namespace, a pod there).
fn targets() -> [(usize, String, String); 2] {
    let small = small_namespace(0);
    [
        (
            PDBS_PER_SMALL_NAMESPACE,
            small.clone(),
            format!("{small}-5"),
        ),
        (BIG_NAMESPACE_PDBS, "big".into(), "big-1500".into()),
    ]
}

fn admission(c: &mut Criterion) {
    let cluster = cluster();
    let mut group = c.benchmark_group("admission_dry_run");
    for (pdbs, namespace, name) in targets() {
        let request = EvictionRequest {
            namespace: namespace.clone(),
            name: name.clone(),
            eviction: eviction(&namespace, &name, true),
            dry_run: Vec::new(),
        };
        for (label, lookup) in [
            ("indexed", PdbLookup::Indexed),
            ("upstream_scan", PdbLookup::NamespaceScan),
        ] {
            group.bench_with_input(BenchmarkId::new(label, pdbs), &request, |b, request| {
                b.iter(|| {
                    let outcome = evict(
                        &mut DryRunStore::new(cluster, lookup),
                        black_box(request),
                        KubernetesVersion::V1_34,
                    );
                    assert!(outcome.is_ok());
                    outcome
                })
            });
        }
    }
    group.finish();
}

fn real_evictions(c: &mut Criterion) {
    let base = cluster();
    let mut group = c.benchmark_group("eviction_real");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (pdbs, namespace, _) in targets() {
        // Pods that can be evicted one after another: two of each PDB's pods in the big
        // namespace (minAvailable 1 of 3); the first ten of every small namespace.
        let victims: Vec<(String, String)> = if namespace == "big" {
            (0..BIG_NAMESPACE_PODS)
                .filter(|i| i % 3 != 2)
                .map(|i| ("big".to_string(), format!("big-{i}")))
                .collect()
        } else {
            (0..SMALL_NAMESPACES)
                .flat_map(|k| {
                    (0..10)
                        .map(move |i| (small_namespace(k), format!("{}-{i}", small_namespace(k))))
                })
                .collect()
        };
        group.bench_function(BenchmarkId::new("cluster_evict", pdbs), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut remaining = iters as usize;
                while remaining > 0 {
                    let mut cluster = base.clone();
                    // The first write after a clone grows the cloned event log once: not
                    // part of an eviction's cost, so it happens before the clock starts.
                    let (ns, name) = &victims[0];
                    cluster
                        .evict(SimTime::ZERO, ns, name, eviction(ns, name, false), &[])
                        .unwrap();
                    let batch = remaining.min(victims.len() - 1);
                    let started = Instant::now();
                    for (ns, name) in &victims[1..=batch] {
                        let result =
                            cluster.evict(SimTime::ZERO, ns, name, eviction(ns, name, false), &[]);
                        assert!(result.is_ok(), "{ns}/{name}: {result:?}");
                    }
                    total += started.elapsed();
                    remaining -= batch;
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, admission, real_evictions);
criterion_main!(benches);
