//! `evictsim drain` as a user runs it: the report, `--output json`, and the exit status
//! (0 drained, 1 not drained, 2 invalid input).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn evictsim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evictsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `text` to `<label>.yaml` in `dir`, a directory the test holds and that goes
/// with it.
fn temp_file(dir: &tempfile::TempDir, label: &str, text: &str) -> PathBuf {
    let path = dir.path().join(format!("{label}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

const SHOP: &str = "tests/fixtures/shop-snapshot.json";
const W1: &str = "ip-10-0-2-34.eu-west-1.compute.internal";

#[test]
fn a_node_that_drains_exits_0_with_the_verdict() {
    let (rc, out, err) = evictsim(&[
        "drain",
        "node-2",
        "--from",
        "examples/10-drain-with-kubectl.yaml",
        "--ignore-daemonsets",
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("verdict: node node-2: drained in "), "{out}");
}

#[test]
fn a_reader_that_closes_the_pipe_early_leaves_the_exit_status() {
    let drains = [
        ("node-2", "examples/10-drain-with-kubectl.yaml", 0),
        (W1, SHOP, 1),
    ];
    for ((node, from, status), output) in
        drains.into_iter().flat_map(|d| [(d, "text"), (d, "json")])
    {
        let args = ["drain", node, "--from", from, "--ignore-daemonsets"];
        let args = [&args[..], &["--timeout", "2m", "--output", output]].concat();
        let (rc, stderr) = common::evictsim_into_a_closed_pipe(&args);
        assert_eq!(rc, status, "{node} {output}: {stderr}");
        assert!(stderr.is_empty(), "a closed pipe is no error: {stderr}");
    }
}

#[test]
fn a_stuck_node_exits_1_with_causes_and_remedies() {
    let (rc, out, _) = evictsim(&[
        "drain",
        W1,
        "--from",
        SHOP,
        "--ignore-daemonsets",
        "--timeout",
        "2m",
    ]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("left behind:\n  - shop/checkout-7c5d9f6b8d-fq2lx: PDB shop/checkout needs 2 healthy pods and has 2"), "{out}");
    assert!(
        out.contains("works  scale Deployment shop/checkout up by 1"),
        "{out}"
    );
    assert!(
        out.contains("$ kubectl delete pod -n shop checkout-7c5d9f6b8d-fq2lx"),
        "{out}"
    );
    // --no-remedies skips the verification.
    let (rc, out, _) = evictsim(&[
        "drain",
        W1,
        "--from",
        SHOP,
        "--ignore-daemonsets",
        "--timeout",
        "2m",
        "--no-remedies",
    ]);
    assert_eq!(rc, 1);
    assert!(!out.contains("remedies"), "{out}");
}

#[test]
fn json_output_for_machines() {
    let (rc, out, _) = evictsim(&[
        "drain",
        W1,
        "--from",
        SHOP,
        "--ignore-daemonsets",
        "--timeout",
        "1m",
        "--output",
        "json",
    ]);
    assert_eq!(rc, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["drained"], false);
    assert_eq!(
        report["stuckNode"]
            .as_str()
            .or(report["stuck_node"].as_str()),
        Some(W1)
    );
    assert!(report["runs"][0][1]["lines"].as_array().unwrap().len() > 10);
}

#[test]
fn a_pool_by_selector_stops_at_the_first_node_that_sticks() {
    let (rc, out, _) = evictsim(&[
        "drain",
        "--from",
        SHOP,
        "-l",
        "!node-role.kubernetes.io/control-plane",
        "--ignore-daemonsets",
        "--timeout",
        "1m",
        "--no-remedies",
    ]);
    assert_eq!(rc, 1);
    assert!(
        out.contains(&format!(
            "$ kubectl drain {W1} --ignore-daemonsets --timeout=1m0s\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "verdict: 2 nodes: not drained: kubectl drain gave up on node {W1}"
        )),
        "{out}"
    );
}

#[test]
fn the_assumed_timings_come_from_the_flags() {
    let (_, out, _) = evictsim(&[
        "drain",
        "node-2",
        "--from",
        "examples/10-drain-with-kubectl.yaml",
        "--ignore-daemonsets",
        "--startup-seconds",
        "30",
        "--shutdown-seconds",
        "10",
    ]);
    assert!(
        out.contains(
            "containers without evictsim.io/* annotations start in 30s and exit 10s after SIGTERM"
        ),
        "{out}"
    );
}

#[test]
fn invalid_input_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["drain".into(), "nope".into(), "--from".into(), SHOP.into()],
            "no node named \"nope\"",
        ),
        (
            vec![
                "drain".into(),
                "x".into(),
                "--from".into(),
                "/nonexistent/file.yaml".into(),
            ],
            "cannot read",
        ),
        (
            vec!["drain".into(), "--from".into(), SHOP.into()],
            "name the nodes to drain",
        ),
        (
            vec![
                "drain".into(),
                W1.into(),
                "--from".into(),
                SHOP.into(),
                "--pod-selector".into(),
                "a in (".into(),
            ],
            "--pod-selector=a in ( must be a valid label selector",
        ),
        (
            vec![
                "drain".into(),
                "x".into(),
                "--from".into(),
                temp_file(
                    &dir,
                    "bad",
                    "objects: [{kind: Pod, apiVersion: v1, metadata: {name: p}, spec: {bogus: 1}}]",
                )
                .display()
                .to_string(),
            ],
            "bogus",
        ),
        (
            vec![
                "drain".into(),
                "x".into(),
                "--from".into(),
                SHOP.into(),
                "--timeout".into(),
                "soon".into(),
            ],
            "soon",
        ),
        (
            vec![
                "drain".into(),
                "x".into(),
                "--from".into(),
                SHOP.into(),
                "--startup-seconds".into(),
                "1e300".into(),
            ],
            // As given, not three hundred digits.
            "--startup-seconds: 1e300 is not a number of seconds",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (rc, out, err) = evictsim(&args);
        assert_eq!(rc, 2, "{args:?}: {out}{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let _ = Path::new(SHOP);
}
