//! "Will this node drain?" at Kubernetes' scale: a what-if for one node of a 5,000-node,
//! 150,000-pod cluster (1,000 namespaces, each a ReplicaSet of 150 replicas under a PDB
//! with `maxUnavailable: 10%`; 30 pods on the node drained).
//!
//! Two cases: a node that drains (copy, settle, cordon, 30 concurrent evictions with their
//! replacements, the wait), and a node that sticks — one namespace's budget set to
//! `maxUnavailable: 0` — where the diagnosis runs and every remedy is verified on its own
//! copy of the cluster. Each is timed once and printed, then measured by criterion.
//! `EVICTSIM_DRAIN_NAMESPACES` scales the cluster down (default 1,000).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use evictsim::cluster::Cluster;
use evictsim::drain::whatif::{Plan, Report, what_if};
use evictsim::model::{ObjectKey, PodDisruptionBudget};

#[path = "fixture/roll.rs"]
mod roll;

fn namespaces() -> usize {
    std::env::var("EVICTSIM_DRAIN_NAMESPACES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000)
}

fn plan() -> Plan {
    let mut plan = Plan::new(["node-0"]);
    plan.options.timeout = Duration::from_secs(300);
    plan
}

/// The cluster with node-0's first namespace's budget made impossible.
fn stuck(cluster: &Cluster) -> Cluster {
    let mut stuck = cluster.clone();
    let first = stuck
        .pods_on_node("node-0")
        .first()
        .map(|p| p.metadata.namespace.clone())
        .expect("node-0 has pods");
    let key = ObjectKey::new(first.as_str(), "web");
    let mut pdb: PodDisruptionBudget = stuck.pdb(&key).unwrap().clone();
    pdb.spec.max_unavailable = Some(evictsim::model::IntOrString::Int(0));
    let now = stuck.now();
    stuck
        .update(now, pdb, evictsim::cluster::Subresource::Main, false)
        .unwrap();
    stuck.run_until_idle(Duration::from_secs(60));
    stuck
}

fn timed(label: &str, cluster: &Cluster) -> Report {
    let started = Instant::now();
    let report = what_if(cluster, &plan());
    println!(
        "what-if, {label}: {:.3?} wall for {} pods on {} nodes; verdict: {}; {} remedies verified",
        started.elapsed(),
        cluster.list::<evictsim::model::Pod>().count(),
        roll::NODES,
        report.verdict,
        report.remedies.len()
    );
    report
}

fn drain(c: &mut Criterion) {
    let started = Instant::now();
    let (cluster, _) = roll::build(namespaces());
    println!("built the cluster in {:.2?}", started.elapsed());
    let report = timed("a node that drains", &cluster);
    assert!(report.drained, "{}", report.to_text());
    let stuck = stuck(&cluster);
    let report = timed("a node that sticks (diagnosis and remedies)", &stuck);
    assert!(!report.drained);
    assert!(
        report.remedies.iter().any(|r| r.works),
        "{}",
        report.to_text()
    );

    let mut group = c.benchmark_group("what_if_one_node");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("drains", |b| b.iter(|| what_if(&cluster, &plan())));
    group.bench_function("sticks_with_remedies", |b| {
        b.iter(|| what_if(&stuck, &plan()))
    });
    group.finish();
}

criterion_group!(benches, drain);
criterion_main!(benches);
