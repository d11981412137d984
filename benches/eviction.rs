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
use evictsim::cluster::{Cluster, DryRunStore, KubernetesVersion, PdbLookup};
use evictsim::time::SimTime;

#[path = "fixture/mod.rs"]
mod fixture;
use fixture::{Shape, eviction};

fn shape() -> Shape {
    Shape::with_pods(fixture::FULL_SCALE_PODS)
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
        let shape = shape();
        let cluster = fixture::build(shape);
        if let (Some(before), Some(after)) = (before, resident_bytes()) {
            println!(
                "cluster: {} pods, {} nodes, {} PDBs built in {:.1?}; resident bytes per pod: {}",
                shape.pods,
                shape.nodes,
                shape.pdbs(),
                started.elapsed(),
                (after.saturating_sub(before)) / shape.pods as u64
            );
        }
        cluster
    })
}

fn admission(c: &mut Criterion) {
    let cluster = cluster();
    let mut group = c.benchmark_group("admission_dry_run");
    for (pdbs, namespace, name) in fixture::decision_targets(shape()) {
        let body = eviction(&namespace, &name, true);
        let request = EvictionRequest {
            namespace: &namespace,
            name: &name,
            eviction: &body,
            dry_run: &[],
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
    for (pdbs, namespace, _) in fixture::decision_targets(shape()) {
        let victims = fixture::evictable(shape(), namespace == "big");
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
