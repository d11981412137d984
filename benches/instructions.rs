//! Deterministic instruction counts for the table in the README's "Performance" section.
//!
//! Wall time on a shared machine is noise; the number of instructions a call executes is not.
//! Run as `cargo bench --bench instructions`, this binary is its own runner: for each scale
//! it runs itself under `valgrind --tool=callgrind` with collection switched on only inside
//! the functions named `measured_*`, dumps the count as each returns
//! (`--dump-after`), and divides by the number of operations the function performed.
//! Setup (building the cluster, making requests) is never counted.
//!
//! Rows: a plain pod lookup; a dry-run admission decision for a Ready pod under one PDB with
//! 10 and with 1,000 PDBs in its namespace, by evictsim's index and by an upstream-style scan
//! (list the namespace's PDBs and match every selector, as the registry's eviction handler
//! does); a real eviction (PDB write, `DisruptionTarget`, graceful delete and every
//! controller's reaction at that instant); a REST GET of one pod, JSON included; a REST
//! eviction POST as kubectl drain sends it (with `?dryRun=All`), body decoded and `Status`
//! written; and a whole
//! roll through the six steps, per evicted pod (the roll alone, not the check of its outcome
//! that follows it). Each at 1,500, 15,000 and 150,000 pods
//! (`EVICTSIM_SCALES=1500,15000` to choose; the 150,000-pod roll only with
//! `EVICTSIM_FULL_ROLL=1`, it takes long under valgrind). Resident memory per pod is measured
//! natively, without valgrind, from `/proc/self/statm`, in a fresh process for each scale;
//! so is, up to 15,000 pods, that of a loaded `kubectl get -o json` snapshot of as many pods
//! (the shop fixture's objects copied into as many namespaces as it takes), whose unmodeled
//! fields — managedFields, containers, container statuses — are most of a real object.
//! Loading that snapshot is counted too, per pod, up to 15,000 pods: a fresh process reads
//! the file and runs `Cluster::from_snapshot_or_scenario` under callgrind
//! (`--load-snapshot FILE`), every item checked, decoded and stored and the controllers'
//! first reactions included.
//!
//! `EVICTSIM_CACHE_SIM=1` adds, for each scale, the roll's simulated data-cache misses per
//! evicted pod: the roll alone, run again under callgrind's cache simulation with a fixed
//! geometry (32 KiB 8-way first level, 32 MiB 16-way last level: the benches' machine's L1d
//! and L3), so the count is the same on every machine. It says where the misses are, not
//! what they cost: streaming misses (appends, moves), which the processor's prefetchers
//! hide, count as much as the scattered ones that set the roll's time past 15,000 pods
//! (see the README's "The 150,000-pod roll in 2 s"); at 150,000 pods this run takes about
//! ten minutes.
//!
//! `EVICTSIM_ATOMICS=1` adds, for each scale, the roll's atomic read-modify-write
//! instructions per evicted pod (mostly reference counts moved: an `Arc` cloned or dropped),
//! a cost the instruction count does not weigh (each takes several nanoseconds even on a line
//! in the cache): the roll runs again under callgrind with `--dump-instr=yes`, and the
//! executions of this binary's `lock`-prefixed instructions, found in its disassembly
//! (`objdump -d`, from binutils), are summed.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use evictsim::cluster::eviction::{EvictionRequest, evict};
use evictsim::cluster::{Cluster, DryRunStore, KubernetesVersion, PdbLookup};
use evictsim::model::{Eviction, ObjectKey};
use evictsim::time::SimTime;

#[path = "fixture/mod.rs"]
mod fixture;
#[path = "fixture/roll.rs"]
mod roll;
use fixture::Shape;

/// Operations per measured function: enough that the loop's own cost vanishes.
const LOOKUPS: usize = 1_000;
const DECISIONS: usize = 200;
const EVICTIONS: usize = 100;
const GETS: usize = 200;
const REST_EVICTIONS: usize = 200;

#[inline(never)]
fn measured_pod_lookup(cluster: &Cluster, keys: &[ObjectKey]) -> usize {
    keys.iter()
        .filter(|key| black_box(cluster.pod(black_box(key))).is_some())
        .count()
}

/// `row` only keeps the four callers' bodies distinct, so that the linker cannot fold them
/// into one symbol and callgrind names each.
fn decide(cluster: &Cluster, request: &EvictionRequest<'_>, lookup: PdbLookup, row: u32) {
    black_box(row);
    for _ in 0..DECISIONS {
        let outcome = evict(
            &mut DryRunStore::new(cluster, lookup),
            black_box(request),
            KubernetesVersion::default(),
        );
        assert!(black_box(outcome).is_ok());
    }
}

#[inline(never)]
fn measured_decision_10_pdbs_indexed(cluster: &Cluster, request: &EvictionRequest) {
    decide(cluster, request, PdbLookup::Indexed, 0);
}

#[inline(never)]
fn measured_decision_10_pdbs_upstream_scan(cluster: &Cluster, request: &EvictionRequest) {
    decide(cluster, request, PdbLookup::NamespaceScan, 1);
}

#[inline(never)]
fn measured_decision_1000_pdbs_indexed(cluster: &Cluster, request: &EvictionRequest) {
    decide(cluster, request, PdbLookup::Indexed, 2);
}

#[inline(never)]
fn measured_decision_1000_pdbs_upstream_scan(cluster: &Cluster, request: &EvictionRequest) {
    decide(cluster, request, PdbLookup::NamespaceScan, 3);
}

/// `victims` carry their Eviction bodies, decoded beforehand: the decoding is the REST
/// layer's cost, not the eviction's.
#[inline(never)]
fn measured_real_eviction(cluster: &mut Cluster, victims: Vec<(String, String, Eviction)>) {
    for (ns, name, body) in victims {
        let result = cluster.evict(SimTime::ZERO, &ns, &name, body, &[]);
        assert!(black_box(result).is_ok(), "{ns}/{name}");
    }
}

#[inline(never)]
fn measured_rest_get_pod(cluster: &mut Cluster, requests: &[http::Request<Vec<u8>>]) {
    for request in requests {
        let response = evictsim::rest::handle(cluster, SimTime::ZERO, request);
        assert_eq!(black_box(response).status(), 200);
    }
}

/// Each request is kubectl drain's eviction POST, body and all, with `?dryRun=All` so that
/// every one is decided on the same cluster: the body decoded, the pod and its budget read,
/// the decision made and the `Status` written.
#[inline(never)]
fn measured_rest_eviction_dry_run(cluster: &mut Cluster, requests: &[http::Request<Vec<u8>>]) {
    for request in requests {
        let response = evictsim::rest::handle(cluster, SimTime::ZERO, request);
        assert_eq!(black_box(response).status(), 201);
    }
}

#[inline(never)]
fn measured_roll(cluster: &mut Cluster, originals: &[(String, String)]) {
    black_box(roll::roll(cluster, originals));
}

/// Runs every measured function once at `pods` (under callgrind, from the runner); with
/// `roll_only`, the roll alone (for the cache simulation).
fn child(pods: usize, with_roll: bool, roll_only: bool) {
    if roll_only {
        let (mut cluster, originals) = roll::build(pods / roll::REPLICAS);
        measured_roll(&mut cluster, &originals);
        roll::check_replaced(&cluster, &originals);
        return;
    }
    let shape = Shape::with_pods(pods);
    let mut cluster = fixture::build(shape);

    let all: Vec<ObjectKey> = cluster
        .list::<evictsim::model::Pod>()
        .map(|p| p.metadata.key())
        .collect();
    let step = (all.len() / LOOKUPS).max(1);
    let keys: Vec<ObjectKey> = all.iter().step_by(step).take(LOOKUPS).cloned().collect();
    measured_pod_lookup(&cluster, &keys);

    let [(_, small_ns, small_pod), (_, big_ns, big_pod)] = fixture::decision_targets(shape);
    let (small_body, big_body) = (
        fixture::eviction(&small_ns, &small_pod, true),
        fixture::eviction(&big_ns, &big_pod, true),
    );
    let request = |namespace, name, eviction| EvictionRequest {
        namespace,
        name,
        eviction,
        dry_run: &[],
    };
    let small = request(&small_ns, &small_pod, &small_body);
    let big = request(&big_ns, &big_pod, &big_body);
    measured_decision_10_pdbs_indexed(&cluster, &small);
    measured_decision_10_pdbs_upstream_scan(&cluster, &small);
    measured_decision_1000_pdbs_indexed(&cluster, &big);
    measured_decision_1000_pdbs_upstream_scan(&cluster, &big);

    let gets: Vec<http::Request<Vec<u8>>> = keys
        .iter()
        .take(GETS)
        .map(|k| {
            http::Request::get(format!(
                "/api/v1/namespaces/{}/pods/{}",
                k.namespace, k.name
            ))
            .body(Vec::new())
            .unwrap()
        })
        .collect();
    measured_rest_get_pod(&mut cluster, &gets);

    let evictions: Vec<http::Request<Vec<u8>>> = fixture::evictable(shape, false)
        .into_iter()
        .cycle()
        .take(REST_EVICTIONS)
        .map(|(ns, name)| {
            // Byte for byte what kubectl drain sends.
            let body = format!(
                r#"{{"kind":"Eviction","apiVersion":"policy/v1","metadata":{{"name":"{name}","namespace":"{ns}","creationTimestamp":null}},"deleteOptions":{{}}}}"#
            );
            http::Request::post(format!(
                "/api/v1/namespaces/{ns}/pods/{name}/eviction?dryRun=All"
            ))
            .header("content-type", "application/json")
            .body(body.into_bytes())
            .unwrap()
        })
        .collect();
    // The first body checked against Kubernetes' fields builds the field tree, once per
    // process: not a request's cost.
    evictsim::rest::handle(&mut cluster, SimTime::ZERO, &evictions[0]);
    measured_rest_eviction_dry_run(&mut cluster, &evictions);

    // One eviction per small namespace, so every one is allowed.
    let victims: Vec<(String, String, Eviction)> = fixture::evictable(shape, false)
        .into_iter()
        .step_by(10)
        .take(EVICTIONS)
        .map(|(ns, name)| {
            let body = fixture::eviction(&ns, &name, false);
            (ns, name, body)
        })
        .collect();
    assert_eq!(victims.len(), EVICTIONS.min(shape.small_namespaces));
    measured_real_eviction(&mut cluster, victims);
    drop(cluster);

    if with_roll {
        let (mut cluster, originals) = roll::build(pods / roll::REPLICAS);
        measured_roll(&mut cluster, &originals);
        roll::check_replaced(&cluster, &originals);
    }
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Resident bytes per pod once the cluster of `pods` is built, in this process as it is.
fn resident_per_pod_here(pods: usize) -> Option<u64> {
    let before = resident_bytes()?;
    let cluster = fixture::build(Shape::with_pods(pods));
    let after = resident_bytes()?;
    black_box(&cluster);
    Some(after.saturating_sub(before) / pods as u64)
}

/// Resident bytes per pod once the cluster of `pods` is built, measured natively in a
/// fresh process (`--resident PODS`), as a program that builds such a cluster starts: in a
/// process that has built and dropped a smaller cluster before, the build reuses that
/// memory, and at 150,000 pods the figure read about a tenth low (1,009 against 1,110 bytes).
fn resident_per_pod(exe: &std::path::Path, pods: usize) -> Option<u64> {
    let out = Command::new(exe)
        .args(["--resident", &pods.to_string()])
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

/// A `kubectl get -A -o json` snapshot of about `pods` pods: the shop fixture's namespaced
/// objects (its pods with their managedFields, container statuses and the rest, their
/// workloads and budgets) copied into as many namespaces as it takes, each copy with UIDs of
/// its own, beside the fixture's nodes.
fn snapshot_text(pods: usize) -> (String, usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop-snapshot.json");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the shop fixture"))
            .expect("the shop fixture is JSON");
    let items = fixture["items"].as_array().expect("a List");
    let namespaced = |item: &&serde_json::Value| item["metadata"].get("namespace").is_some();
    let per_copy = items
        .iter()
        .filter(namespaced)
        .filter(|i| i["kind"] == "Pod")
        .count();
    let copies = pods.div_ceil(per_copy);
    let own_uid = |uid: &serde_json::Value, copy: usize| {
        let uid = uid.as_str().expect("a UID");
        serde_json::Value::from(format!("{}{copy:012x}", &uid[..24]))
    };
    let mut out: Vec<serde_json::Value> =
        items.iter().filter(|i| !namespaced(i)).cloned().collect();
    for copy in 0..copies {
        for item in items.iter().filter(namespaced) {
            let mut item = item.clone();
            let meta = &mut item["metadata"];
            meta["namespace"] = format!("{}-{copy}", meta["namespace"].as_str().unwrap()).into();
            meta["uid"] = own_uid(&meta["uid"], copy);
            let owners = meta
                .get_mut("ownerReferences")
                .and_then(|o| o.as_array_mut());
            for owner in owners.into_iter().flatten() {
                owner["uid"] = own_uid(&owner["uid"], copy);
            }
            out.push(item);
        }
    }
    let list =
        serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": out});
    (list.to_string(), copies * per_copy)
}

/// Resident bytes per pod once the snapshot in `file` is loaded and its text dropped, in
/// this process as it is.
fn snapshot_resident_per_pod_here(file: &Path, pods: usize) -> Option<u64> {
    let before = resident_bytes()?;
    let text = std::fs::read_to_string(file).ok()?;
    let (cluster, _) = Cluster::from_snapshot_or_scenario(&text).ok()?;
    drop(text);
    let after = resident_bytes()?;
    black_box(&cluster);
    Some(after.saturating_sub(before) / pods as u64)
}

/// Runs `measure` on a file holding the snapshot of about `pods` pods ([`snapshot_text`])
/// and the number of pods it has, then removes the file; gives what `measure` gave and that
/// number.
fn with_snapshot_file<R>(
    pods: usize,
    measure: impl FnOnce(&Path, usize) -> R,
) -> Option<(R, usize)> {
    let (text, pods) = snapshot_text(pods);
    let file = std::env::temp_dir().join(format!(
        "evictsim-snapshot-{pods}-{}.json",
        std::process::id()
    ));
    std::fs::write(&file, text).ok()?;
    let measured = measure(&file, pods);
    let _ = std::fs::remove_file(&file);
    Some((measured, pods))
}

#[inline(never)]
fn measured_snapshot_load(text: &str) -> Cluster {
    Cluster::from_snapshot_or_scenario(text)
        .expect("the copied snapshot loads")
        .0
}

/// Instructions per pod to load a snapshot of about `pods` pods ([`snapshot_text`]) with
/// `Cluster::from_snapshot_or_scenario` (every item checked, decoded and stored, the
/// controllers' first reactions included), under callgrind in a fresh process
/// (`--load-snapshot FILE`).
fn snapshot_load_instructions(exe: &Path, pods: usize) -> Option<(usize, f64)> {
    let (out, pods) = with_snapshot_file(pods, |file, _| {
        Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg("--callgrind-out-file=/dev/null")
            .arg("--collect-atstart=no")
            .arg("--toggle-collect=*measured_snapshot_load*")
            .arg(exe)
            .arg("--load-snapshot")
            .arg(file)
            .output()
    })?;
    let stderr = String::from_utf8(out.ok()?.stderr).ok()?;
    let collected: u64 = stderr
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))?
        .trim()
        .parse()
        .ok()?;
    Some((pods, collected as f64 / pods as f64))
}

/// Resident bytes per pod of a loaded snapshot of about `pods` pods ([`snapshot_text`]),
/// measured natively in a fresh process (`--resident-snapshot FILE PODS`): the objects of a
/// real cluster, whose unmodeled fields are most of them.
fn snapshot_resident_per_pod(exe: &Path, pods: usize) -> Option<(usize, u64)> {
    let (out, pods) = with_snapshot_file(pods, |file, pods| {
        Command::new(exe)
            .arg("--resident-snapshot")
            .arg(file)
            .arg(pods.to_string())
            .output()
    })?;
    let bytes = String::from_utf8(out.ok()?.stdout)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some((pods, bytes))
}

/// `(row, instructions)` for every call of a `measured_*` function, from the dumps callgrind
/// wrote as each one returned (`--dump-after`): `<out>.1`, `<out>.2`, … in call order.
fn dumped_counts(out: &std::path::Path) -> Vec<(String, u64)> {
    dumped_events(out, &[&["Ir"]])
        .into_iter()
        .map(|(row, sums)| (row, sums[0]))
        .collect()
}

/// For every dump, as [`dumped_counts`] reads them, the row and one sum per group of event
/// names: callgrind names its events on the `events:` line and gives their totals, in that
/// order, on the `summary:` line. The dumps are removed once read.
fn dumped_events(out: &std::path::Path, groups: &[&[&str]]) -> Vec<(String, Vec<u64>)> {
    let mut counts = Vec::new();
    for n in 1.. {
        let path = format!("{}.{n}", out.display());
        let Ok(text) = std::fs::read_to_string(&path) else {
            break;
        };
        let _ = std::fs::remove_file(&path);
        let row = text
            .lines()
            .find_map(|l| l.strip_prefix("desc: Trigger: --dump-after="))
            .and_then(|f| f.rsplit("measured_").next())
            .map(str::to_string);
        let names: Vec<&str> = text
            .lines()
            .find_map(|l| l.strip_prefix("events: "))
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default();
        let values: Option<Vec<u64>> = text
            .lines()
            .find_map(|l| l.strip_prefix("summary: "))
            .and_then(|l| l.split_whitespace().map(|v| v.parse().ok()).collect());
        let sums: Option<Vec<u64>> = values.and_then(|values| {
            groups
                .iter()
                .map(|group| {
                    group
                        .iter()
                        .map(|event| {
                            let at = names.iter().position(|n| n == event)?;
                            values.get(at).copied()
                        })
                        .sum::<Option<u64>>()
                })
                .collect()
        });
        if let (Some(row), Some(sums)) = (row, sums) {
            counts.push((row, sums));
        }
    }
    let _ = std::fs::remove_file(out);
    counts
}

/// The roll's data-cache misses per evicted pod at `pods`, `(first level, last level)`, reads
/// and writes, under callgrind's cache simulation with a fixed geometry.
fn roll_cache_misses(exe: &std::path::Path, pods: usize) -> (f64, f64) {
    let out = std::env::temp_dir().join(format!(
        "evictsim-cachesim-{pods}-{}.out",
        std::process::id()
    ));
    callgrind_roll(
        exe,
        pods,
        &out,
        &[
            "--cache-sim=yes",
            "--I1=32768,8,64",
            "--D1=32768,8,64",
            "--LL=33554432,16,64",
            "--dump-after=instructions::measured_roll",
        ],
    );
    let dumps = dumped_events(&out, &[&["D1mr", "D1mw"], &["DLmr", "DLmw"]]);
    let (_, sums) = dumps.first().expect("the roll's dump");
    (sums[0] as f64 / pods as f64, sums[1] as f64 / pods as f64)
}

/// Runs the roll of `pods` alone under callgrind, collecting inside it only, with `options`,
/// its profile written to `out`.
fn callgrind_roll(exe: &Path, pods: usize, out: &Path, options: &[&str]) {
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .args(options)
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--collect-atstart=no")
        .arg("--toggle-collect=*measured_roll*")
        .arg(exe)
        .args(["--child", &pods.to_string(), "--roll-only"])
        .output()
        .expect("valgrind runs");
    assert!(
        status.status.success(),
        "valgrind failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// The roll's atomic read-modify-write instructions per evicted pod at `pods`; `None` when the
/// binary cannot be disassembled (no `objdump`).
fn roll_atomic_operations(exe: &Path, pods: usize) -> Option<f64> {
    let locked = locked_instructions(exe)?;
    let out = std::env::temp_dir().join(format!(
        "evictsim-atomics-{pods}-{}.out",
        std::process::id()
    ));
    callgrind_roll(exe, pods, &out, &["--dump-instr=yes"]);
    let profile = std::fs::read_to_string(&out).expect("callgrind's profile");
    let _ = std::fs::remove_file(&out);
    Some(executions_at(&profile, exe, &locked) as f64 / pods as f64)
}

/// The addresses of the `lock`-prefixed instructions in `exe`, from its disassembly.
fn locked_instructions(exe: &Path) -> Option<HashSet<u64>> {
    let out = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(exe)
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let locked = text
        .lines()
        .filter_map(|line| {
            let (address, instruction) = line.trim_start().split_once(':')?;
            let locked = instruction.trim_start().starts_with("lock ");
            locked.then(|| u64::from_str_radix(address, 16).ok())?
        })
        .collect();
    Some(locked)
}

/// How many times the instructions of `exe` at `addresses` ran, from a callgrind profile
/// written with `--dump-instr=yes`. Its cost lines start with the instruction's address:
/// absolute (`0x…`), relative to the previous line's (`+n`, `-n`) or the same (`*`); the
/// line after a `calls=` line is the call's inclusive cost, not the instruction's own; `ob=`
/// names the object the costs that follow are in, by its name and number where the object
/// first appears (in an `ob=` or a called function's `cob=` line), by its number after.
fn executions_at(profile: &str, exe: &Path, addresses: &HashSet<u64>) -> u64 {
    let number = |text: &str| match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    };
    let mut objects: HashMap<&str, &str> = HashMap::new();
    let (mut in_exe, mut after_call) = (false, false);
    let (mut last, mut total) = (0u64, 0u64);
    for line in profile.lines() {
        let (costs_in, called) = (line.strip_prefix("ob="), line.strip_prefix("cob="));
        if let Some(object) = costs_in.or(called) {
            let (id, name) = object.split_once(' ').unwrap_or((object, ""));
            if !name.is_empty() {
                objects.insert(id, name);
            }
            if costs_in.is_some() {
                let name = objects.get(id).copied().unwrap_or(name);
                in_exe = Path::new(name).file_name() == exe.file_name();
            }
            continue;
        }
        if line.starts_with("calls=") {
            after_call = true;
            continue;
        }
        let mut fields = line.split_whitespace();
        let Some(position) = fields.next() else {
            continue;
        };
        let address = match position.as_bytes()[0] {
            b'*' => Some(last),
            b'+' => number(&position[1..]).map(|d| last + d),
            b'-' => number(&position[1..]).map(|d| last - d),
            b'0'..=b'9' => number(position),
            _ => continue,
        };
        let Some(address) = address else {
            continue;
        };
        last = address;
        if std::mem::take(&mut after_call) || !in_exe || !addresses.contains(&address) {
            continue;
        }
        // The source line, then the executions.
        total += fields.nth(1).and_then(number).unwrap_or(0);
    }
    total
}

fn operations(row: &str, pods: usize) -> u64 {
    match row {
        "pod_lookup" => LOOKUPS.min(pods) as u64,
        "real_eviction" => EVICTIONS.min(Shape::with_pods(pods).small_namespaces) as u64,
        "rest_get_pod" => GETS as u64,
        "rest_eviction_dry_run" => REST_EVICTIONS as u64,
        "roll" => pods as u64,
        _ => DECISIONS as u64,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let pods: usize = args[at + 1].parse().expect("--child PODS");
        child(
            pods,
            args.iter().any(|a| a == "--roll"),
            args.iter().any(|a| a == "--roll-only"),
        );
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--resident") {
        let pods: usize = args[at + 1].parse().expect("--resident PODS");
        if let Some(bytes) = resident_per_pod_here(pods) {
            println!("{bytes}");
        }
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--resident-snapshot") {
        let file = Path::new(&args[at + 1]);
        let pods: usize = args[at + 2].parse().expect("--resident-snapshot FILE PODS");
        if let Some(bytes) = snapshot_resident_per_pod_here(file, pods) {
            println!("{bytes}");
        }
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--load-snapshot") {
        let text = std::fs::read_to_string(&args[at + 1]).expect("--load-snapshot FILE");
        black_box(measured_snapshot_load(&text));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // cargo's bench listing: nothing to list.
    }
    let scales: Vec<usize> = std::env::var("EVICTSIM_SCALES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_500, 15_000, 150_000]);
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("instructions: valgrind is not installed; nothing measured");
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    let full_roll = std::env::var_os("EVICTSIM_FULL_ROLL").is_some();
    let cache_sim = std::env::var_os("EVICTSIM_CACHE_SIM").is_some();
    let atomics = std::env::var_os("EVICTSIM_ATOMICS").is_some();
    println!("| pods | what | instructions per operation |");
    println!("|---:|---|---:|");
    for &pods in &scales {
        let out = std::env::temp_dir().join(format!(
            "evictsim-callgrind-{pods}-{}.out",
            std::process::id()
        ));
        let with_roll = pods < 150_000 || full_roll;
        let mut command = Command::new("valgrind");
        command
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg("--collect-atstart=no")
            .arg("--toggle-collect=*measured_*")
            .arg("--dump-after=instructions::measured_*")
            .arg(&exe)
            .args(["--child", &pods.to_string()]);
        if with_roll {
            command.arg("--roll");
        }
        let status = command.output().expect("valgrind runs");
        assert!(
            status.status.success(),
            "valgrind failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let counts = dumped_counts(&out);
        let per_operation: Vec<(String, f64)> = counts
            .into_iter()
            .map(|(row, total)| {
                let per = total as f64 / operations(&row, pods) as f64;
                (row, per)
            })
            .collect();
        for (row, per) in &per_operation {
            println!("| {pods} | {row} | {per:.0} |");
        }
        let find = |name: &str| {
            per_operation
                .iter()
                .find(|(r, _)| r == name)
                .map(|(_, v)| *v)
        };
        if let (Some(decision), Some(lookup)) =
            (find("decision_10_pdbs_indexed"), find("pod_lookup"))
        {
            println!("| {pods} | decision ÷ lookup | {:.1}× |", decision / lookup);
        }
        if let Some(bytes) = resident_per_pod(&exe, pods) {
            println!("| {pods} | resident bytes per pod | {bytes} |");
        }
        // A snapshot of 150,000 such pods is 700 MB of JSON: measured up to 15,000.
        if pods <= 15_000
            && let Some((pods, bytes)) = snapshot_resident_per_pod(&exe, pods)
        {
            println!(
                "| {pods} | resident bytes per pod of a loaded kubectl snapshot (the shop fixture's objects, copied) | {bytes} |"
            );
        }
        if pods <= 15_000
            && let Some((pods, per_pod)) = snapshot_load_instructions(&exe, pods)
        {
            println!(
                "| {pods} | instructions per pod to load that kubectl snapshot | {per_pod:.0} |"
            );
        }
        if cache_sim && with_roll {
            let misses = roll_cache_misses(&exe, pods);
            println!(
                "| {pods} | roll: simulated data misses per evicted pod, first level / last level | {:.0} / {:.0} |",
                misses.0, misses.1
            );
        }
        if atomics && with_roll {
            match roll_atomic_operations(&exe, pods) {
                Some(per_pod) => println!(
                    "| {pods} | roll: atomic read-modify-writes per evicted pod | {per_pod:.0} |"
                ),
                None => eprintln!("instructions: objdump did not run; atomics not counted"),
            }
        }
    }
}
