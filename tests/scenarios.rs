//! Scenario tests: every example holds, runs deterministically, and matches its golden
//! timeline; the CLI's exit codes and messages follow the scenario contract.
//!
//! Regenerate the goldens after an intended change with `UPDATE_GOLDEN=1 cargo test --test scenarios`.

use std::path::{Path, PathBuf};

mod common;

use evictsim::scenario::Scenario;

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
    files.sort();
    files
}

fn run(file: &Path) -> (String, String) {
    let text = std::fs::read_to_string(file).unwrap();
    let report = Scenario::parse(&text).unwrap().run().unwrap();
    assert!(
        report.ok(),
        "{}",
        report.to_text(&file.display().to_string())
    );
    (report.to_text("example"), report.to_json_lines())
}

#[test]
fn every_example_holds_and_is_deterministic() {
    let files = examples();
    assert!(files.len() >= 6);
    for file in files {
        let first = run(&file);
        let second = run(&file);
        assert_eq!(first, second, "{}: same seed, same output", file.display());
    }
}

#[test]
fn examples_match_their_golden_json_timelines() {
    for file in examples() {
        let (_, json) = run(&file);
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(file.file_name().unwrap())
            .with_extension("jsonl");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &json).unwrap();
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("missing golden {}", golden.display()));
        assert_eq!(
            json,
            expected,
            "{} differs from its golden timeline",
            file.display()
        );
    }
}

#[cfg(feature = "cli")]
fn cli(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_evictsim"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Writes `text` to `name` in `dir`, a directory the test holds and that goes with it.
#[cfg(feature = "cli")]
fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(feature = "cli")]
#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_printing_not_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let passing: Vec<String> = examples()
        .iter()
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["run"];
    args.extend(passing.iter().map(String::as_str));
    let (code, stderr) = common::evictsim_into_a_closed_pipe(&args);
    assert_eq!(code, 0, "every example still ran and passed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A failure after the close still sets the status: the remaining files run unprinted.
    let failing = temp_file(
        &dir,
        "failing.yaml",
        "objects:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {nodeName: n}, status: {phase: Running}}\nsteps:\n  - evict: {metadata: {name: p, namespace: default}}\n    expect: {code: 429}\n",
    );
    args.push(failing.to_str().unwrap());
    let (code, stderr) = common::evictsim_into_a_closed_pipe(&args);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.is_empty(), "a closed pipe is no error: {stderr}");
    let (code, stderr) = common::evictsim_into_a_closed_pipe(&["run", "--output", "json", args[1]]);
    assert_eq!((code, stderr.as_str()), (0, ""));
}

#[cfg(feature = "cli")]
#[test]
fn cli_exit_codes_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let ok = examples()[0].clone();
    let (code, stdout, _) = cli(&["run", ok.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("passed, 0 failed"));

    let failing = temp_file(
        &dir,
        "failing.yaml",
        "objects:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {nodeName: n}, status: {phase: Running}}\nsteps:\n  - evict: {metadata: {name: p, namespace: default}}\n    expect: {code: 429}\n  - assert: {apiVersion: v1, kind: Pod, metadata: {name: p, deletionGracePeriodSeconds: 5}}\n",
    );
    let (code, stdout, _) = cli(&["run", failing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("✗ code: expected 429, got 201"), "{stdout}");
    assert!(
        stdout.contains("✗ metadata.deletionGracePeriodSeconds: expected 5, got 30"),
        "{stdout}"
    );

    let invalid = temp_file(
        &dir,
        "invalid.yaml",
        "steps:\n  - advance: 1s\n  - advance: later\n",
    );
    let (code, _, stderr) = cli(&["run", invalid.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("invalid.yaml: steps[1].advance: invalid duration"),
        "{stderr}"
    );

    let invalid_object = temp_file(
        &dir,
        "invalid-object.yaml",
        "objects:\n  - {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: p}, spec: {minAvailable: 1, maxUnavailable: 1}}\n",
    );
    let (code, _, stderr) = cli(&["run", invalid_object.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("objects[0]: PodDisruptionBudget.policy \"p\" is invalid"),
        "{stderr}"
    );

    let (code, _, stderr) = cli(&["run", "/nonexistent/scenario.yaml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/scenario.yaml: cannot read"));
}

#[cfg(feature = "cli")]
#[test]
fn json_output_has_one_object_per_step() {
    let file = examples()[1].clone();
    let (code, stdout, _) = cli(&["run", "--output", "json", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&file).unwrap();
    let steps = Scenario::parse(&text).unwrap().steps.len();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), steps);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["step"], i);
        for key in ["op", "at", "code", "headers", "body", "ok"] {
            assert!(line.get(key).is_some(), "step {i} lacks {key}");
        }
    }
}

#[test]
fn v1beta1_pdb_with_empty_selector_selects_nothing_c41() {
    let text = r#"
controllers: {disruption: false}
objects:
  - apiVersion: policy/v1beta1
    kind: PodDisruptionBudget
    metadata: {name: legacy}
    spec: {minAvailable: 1, selector: {}}
    status: {observedGeneration: 1, disruptionsAllowed: 0}
  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {nodeName: n}, status: {phase: Running, conditions: [{type: Ready, status: "True"}]}}
steps:
  - assert:
      apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata: {name: legacy}
      spec: {selector: {matchExpressions: [{key: pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match, operator: Exists}]}}
  - evict: {metadata: {name: p, namespace: default}}
    expect: {code: 201}
"#;
    let report = Scenario::parse(text).unwrap().run().unwrap();
    assert!(report.ok(), "{}", report.to_text("c41"));
}

#[test]
fn a_slow_disruption_controller_makes_evictions_race_its_status() {
    // With the disruption controller 5 s behind, the budget still counts the replacement as
    // missing after it became Ready: the eviction is refused until the controller catches up.
    let text = r#"
latencies: {disruption: 5s}
objects:
  - {apiVersion: v1, kind: Node, metadata: {name: n1}, status: {conditions: [{type: Ready, status: "True"}]}}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: web, uid: 11111111-0000-4000-8000-000000000001}
    spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web}]}}}
  - {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: web}, spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web-a, labels: {app: web}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: 11111111-0000-4000-8000-000000000001, controller: true}]}, spec: {nodeName: n1}, status: {phase: Running, conditions: [{type: Ready, status: "True"}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web-b, labels: {app: web}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: 11111111-0000-4000-8000-000000000001, controller: true}]}, spec: {nodeName: n1}, status: {phase: Running, conditions: [{type: Ready, status: "True"}]}}
steps:
  - name: the new PDB has not been processed yet
    evict: {metadata: {name: web-a, namespace: default}}
    expect: {code: 429, headers: {Retry-After: "10"}, body: {details: {causes: [{message: The disruption budget web is still being processed by the server.}]}}}
  - advance: 5s
  - evict: {metadata: {name: web-a, namespace: default}}
    expect: {code: 201}
  - advance: 3s
  - name: the replacement is Ready (at +7s) but the controller has not re-synced yet
    evict: {metadata: {name: web-b, namespace: default}}
    expect: {code: 429}
  - advance: 5s
  - evict: {metadata: {name: web-b, namespace: default}}
    expect: {code: 201}
"#;
    let report = Scenario::parse(text).unwrap().run().unwrap();
    assert!(report.ok(), "{}", report.to_text("race"));
}

#[test]
fn realistic_latencies_are_one_setting_away() {
    let s = Scenario::parse("latencies: realistic").unwrap();
    assert_eq!(
        s.config.latencies,
        evictsim::cluster::Latencies::realistic()
    );
    assert!(!s.config.latencies.kubelet_observe.is_zero());
}

/// `evictsim serve` refuses what it cannot serve before it serves anything: bad flags and
/// invalid files exit 2, a scenario whose expectation fails exits 1, each with a message on
/// stderr and nothing on stdout.
#[cfg(feature = "cli")]
#[test]
fn serve_refuses_bad_input_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let failing = temp_file(
        &dir,
        "serve-failing.yaml",
        "objects:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {nodeName: n}, status: {phase: Running}}\nsteps:\n  - evict: {metadata: {name: p, namespace: default}}\n    expect: {code: 429}\n",
    );
    let invalid = temp_file(&dir, "serve-invalid.yaml", "steps:\n  - advance: later\n");
    for (args, code, message) in [
        (vec!["serve", "--speed", "0"], 2, "--speed"),
        (
            vec!["serve", "--speed", "2", "--manual-clock"],
            2,
            "cannot be used with",
        ),
        (
            vec!["serve", "--listen", "nowhere"],
            2,
            "invalid socket address",
        ),
        (
            vec!["serve", "/nonexistent/scenario.yaml"],
            2,
            "cannot read",
        ),
        (
            vec!["serve", invalid.to_str().unwrap()],
            2,
            "steps[0].advance",
        ),
        (
            vec![
                "serve",
                failing.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ],
            1,
            "nothing served",
        ),
    ] {
        let (got, stdout, stderr) = cli(&args);
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
