//! A rolling eviction of every pod of a cluster through the full six steps, replacements
//! included: namespaces of a ReplicaSet of 150 replicas under a PDB with
//! `maxUnavailable: 10%`, on 5,000 nodes. A client evicts every original pod, retrying
//! 429s every 5 s of virtual time as kubectl drain does, until all have been replaced by
//! Ready pods.
//!
//! The rolls of 15,000 and 150,000 pods are timed once each and printed with evictions and
//! events per second of wall time (`EVICTSIM_SKIP_FULL_ROLL` skips the 150,000); then a
//! second roll of each, on a fresh cluster, gives the wall time of their parts: the admitted
//! evictions, the refused attempts and the timers fired between rounds (each call timed on
//! its own, which the first roll is spared). Neither timing includes the check that every
//! pod was replaced. Criterion then measures the 15,000-pod roll.
//!
//! `EVICTSIM_SMALL_ROLLS=n` times, instead, 150,000 × n evictions made as rolls of 1,500 pods
//! (each of a fresh cluster, its build not timed) and as many as rolls of 15,000: the same
//! work per evicted pod with a hundredth and a tenth of the pods (the 5,000 nodes stay). The
//! 1,500-pod rolls' time is the roll's floor on the machine, what the same code would take if
//! every step found its data in the caches; the gap to the 150,000-pod roll is what cache
//! misses cost.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

#[path = "fixture/roll.rs"]
mod roll;
use roll::{NODES, REPLICAS, WallByPart, build, check_replaced, roll, roll_timed};

/// The process's peak resident memory so far (`VmHWM`), in bytes.
fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn timed_once(namespaces: usize) {
    let started = Instant::now();
    let (mut cluster, originals) = build(namespaces);
    let built = started.elapsed();
    let events_before = cluster.event_count();
    let rolled = Instant::now();
    let virtual_time = roll(&mut cluster, &originals);
    let wall = rolled.elapsed();
    check_replaced(&cluster, &originals);
    let events = cluster.event_count() - events_before;
    println!(
        "rolling eviction of {} pods (plus as many replacements) on {NODES} nodes: {wall:.2?} wall \
         ({built:.2?} to build), {virtual_time} of virtual time, {events} events; \
         {:.0} evictions/s, {:.0} events/s; peak resident memory so far {:.2} GB",
        originals.len(),
        originals.len() as f64 / wall.as_secs_f64(),
        events as f64 / wall.as_secs_f64(),
        peak_resident_bytes().unwrap_or(0) as f64 / 1e9,
    );
    drop(cluster);
    // Where the time goes, from a second roll of a fresh cluster whose every call is timed
    // on its own: two clock readings a call (1.6 million calls at 150,000 pods) would add
    // a percent or two to the roll above.
    let (mut cluster, originals) = build(namespaces);
    let mut parts = WallByPart::default();
    let rolled = Instant::now();
    roll_timed(&mut cluster, &originals, &mut parts);
    let timed_wall = rolled.elapsed();
    check_replaced(&cluster, &originals);
    let share = |(took, calls): (Duration, u64)| {
        format!(
            "{took:.2?} in {calls} calls ({:.0} ns each)",
            took.as_nanos() as f64 / calls.max(1) as f64
        )
    };
    println!(
        "  a second roll, each call timed ({timed_wall:.2?}): admitted evictions (with every \
         reaction at their instant) {}; refused attempts {}; timers fired between rounds {:.2?}",
        share(parts.admitted),
        share(parts.refused),
        parts.timers.0,
    );
}

/// Times `rounds` × 150,000 evictions made as rolls of `pods` pods, each of a fresh cluster
/// (its build not timed), and prints the time per evicted pod.
fn small_rolls(pods: usize, rounds: usize) {
    let (mut took, mut evicted) = (Duration::ZERO, 0);
    for _ in 0..rounds * 150_000 / pods {
        let (mut cluster, originals) = build(pods / REPLICAS);
        let started = Instant::now();
        roll(&mut cluster, &originals);
        took += started.elapsed();
        check_replaced(&cluster, &originals);
        evicted += originals.len();
    }
    println!(
        "{evicted} evictions as rolls of {pods} pods: {took:.2?} of rolling, {:.1} µs per evicted pod",
        took.as_secs_f64() * 1e6 / evicted as f64
    );
}

fn rolling(c: &mut Criterion) {
    if let Some(rounds) = std::env::var_os("EVICTSIM_SMALL_ROLLS") {
        let rounds = rounds
            .to_str()
            .and_then(|n| n.parse().ok())
            .expect("EVICTSIM_SMALL_ROLLS is a count of 150,000 evictions");
        for pods in [1_500, 15_000] {
            small_rolls(pods, rounds);
        }
        return;
    }
    timed_once(15_000 / REPLICAS);
    if std::env::var_os("EVICTSIM_SKIP_FULL_ROLL").is_none() {
        timed_once(150_000 / REPLICAS);
    }
    let (base, originals) = build(15_000 / REPLICAS);
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
                    check_replaced(&cluster, &originals);
                }
                total
            })
        },
    );
    group.finish();
}

criterion_group!(benches, rolling);
criterion_main!(benches);
