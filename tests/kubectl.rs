//! kubectl end to end: `evictsim serve` started as a user starts it, driven by the real
//! kubectl installed on the machine (and the versioned binaries beside it). Where kubectl is
//! absent each test says so loudly and passes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `evictsim serve`, stopped (SIGTERM, exit 0 checked) on drop.
struct Served {
    child: Child,
    kubeconfig: PathBuf,
    cache: PathBuf,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("evictsim-kubectl-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Served {
    fn start(label: &str, scenario: &str, extra: &[&str]) -> Served {
        let dir = TempDir::new(label);
        let file = dir.0.join("scenario.yaml");
        std::fs::write(&file, scenario).unwrap();
        let kubeconfig = dir.0.join("kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_evictsim"))
            .arg("serve")
            .arg(&file)
            .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("serving on http://127.0.0.1:"), "{line}");
        Served {
            child,
            kubeconfig,
            cache: dir.0.join("cache"),
            _dir: dir,
        }
    }

    /// Runs kubectl (or `binary`) with the server's kubeconfig; returns (rc, stdout, stderr).
    fn run_with(&self, binary: &Path, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn kubectl(&self, args: &[&str]) -> (i32, String, String) {
        self.run_with(Path::new("kubectl"), args)
    }

    /// Starts kubectl in the background (for `wait`, `get -w`): join for its output.
    fn kubectl_in_background(
        &self,
        args: &[&str],
    ) -> std::thread::JoinHandle<std::process::Output> {
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        std::thread::spawn(move || command.output().unwrap())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                if !std::thread::panicking() {
                    assert!(
                        status.success(),
                        "evictsim serve exits 0 on SIGTERM: {status}"
                    );
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kubectl_present() -> bool {
    let present = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        eprintln!("!!!!!! kubectl is not installed: the kubectl end-to-end test is SKIPPED !!!!!!");
    }
    present
}

const EXAMPLE: &str = include_str!("../examples/10-drain-with-kubectl.yaml");

/// One web pod under a ReplicaSet of one and a budget of minAvailable 1: every eviction is
/// refused, for ever.
const STUCK: &str = r#"
start: "2025-01-01T00:00:00Z"
objects:
  - {apiVersion: v1, kind: Node, metadata: {name: node-1}, status: {conditions: [{type: Ready, status: "True"}]}}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: web-5d8f7c9b6, namespace: default, uid: 00000000-0000-4000-8000-000000000001}
    spec:
      replicas: 1
      selector: {matchLabels: {app: web}}
      template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}
  - apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: web-pdb, namespace: default}
    spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
  - apiVersion: v1
    kind: Pod
    metadata:
      name: web-5d8f7c9b6-abcde
      namespace: default
      labels: {app: web}
      ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7c9b6, uid: 00000000-0000-4000-8000-000000000001, controller: true}]
    spec: {nodeName: node-1, containers: [{name: web, image: nginx}]}
    status: {phase: Running, conditions: [{type: Ready, status: "True"}]}
"#;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn get_prints_upstreams_tables() {
    if !kubectl_present() {
        return;
    }
    let served = Served::start("get", EXAMPLE, &["--manual-clock"]);
    let (rc, out, err) = served.kubectl(&["get", "pods", "-A"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        lines(&out),
        [
            "NAMESPACE   NAME         READY   STATUS    RESTARTS   AGE",
            "default     web-7d9f-a   0/1     Running   0          0s",
            "default     web-7d9f-b   0/1     Running   0          0s",
            "default     web-7d9f-c   0/1     Running   0          0s",
        ]
    );
    let (_, out, _) = served.kubectl(&["get", "pods", "-o", "wide", "--show-labels"]);
    assert_eq!(
        lines(&out)[0],
        "NAME         READY   STATUS    RESTARTS   AGE   IP       NODE     NOMINATED NODE   READINESS GATES   LABELS"
    );
    assert!(
        lines(&out)[1].ends_with("node-1   <none>           <none>            app=web"),
        "{out}"
    );
    let (_, out, _) = served.kubectl(&["get", "pdb"]);
    assert_eq!(
        lines(&out),
        [
            "NAME   MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS   AGE",
            "web    2               N/A               1                     0s",
        ]
    );
    let (rc, out, err) = served.kubectl(&["cordon", "node-1"]);
    assert_eq!((rc, out.trim()), (0, "node/node-1 cordoned"), "{err}");
    let (_, out, _) = served.kubectl(&["cordon", "node-1"]);
    assert_eq!(out.trim(), "node/node-1 already cordoned");
    let (_, out, _) = served.kubectl(&["get", "nodes"]);
    assert_eq!(
        lines(&out),
        [
            "NAME     STATUS                     ROLES    AGE   VERSION",
            "node-1   Ready,SchedulingDisabled   <none>   0s    v1.34.0",
            "node-2   Ready                      <none>   0s    v1.34.0",
        ]
    );
    let (_, out, _) = served.kubectl(&["uncordon", "node-1"]);
    assert_eq!(out.trim(), "node/node-1 uncordoned");
    let (rc, out, err) = served.kubectl(&["get", "all"]);
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.contains("replicaset.apps/web-7d9f   3         3         3       0s"),
        "{out}"
    );
    let (rc, _, err) = served.kubectl(&["get", "pod", "nope"]);
    assert_eq!(rc, 1);
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): pods \"nope\" not found"
    );
    // Every kubectl release beside the installed one: 1.28 asks for aggregated discovery
    // v2beta1 only, later ones for v2 first.
    for minor in 27..=33 {
        let binary = PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.1.{minor}"));
        if !binary.exists() {
            eprintln!("!!!!!! kubectl.1.{minor} is not installed: its check is SKIPPED !!!!!!");
            continue;
        }
        let (rc, out, err) = served.run_with(&binary, &["get", "nodes,pdb"]);
        assert_eq!(rc, 0, "kubectl 1.{minor}: {err}");
        assert!(
            out.contains("node/node-1   Ready    <none>"),
            "kubectl 1.{minor}: {out}"
        );
        assert!(
            out.contains("poddisruptionbudget.policy/web   2"),
            "kubectl 1.{minor}: {out}"
        );
    }
}

#[test]
fn apply_create_and_server_side_apply() {
    if !kubectl_present() {
        return;
    }
    let served = Served::start("apply", EXAMPLE, &["--manual-clock"]);
    let dir = TempDir::new("apply-manifests");
    let manifest = dir.0.join("pod.yaml");
    let write = |image: &str| {
        std::fs::write(
            &manifest,
            format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: demo}}\nspec:\n  nodeName: node-2\n  containers: [{{name: main, image: \"{image}\"}}]\n"),
        )
        .unwrap();
    };
    let path = manifest.to_str().unwrap();
    write("nginx:1.27");
    let (rc, out, err) = served.kubectl(&["apply", "-f", path]);
    assert_eq!((rc, out.trim()), (0, "pod/demo created"), "{err}");
    write("nginx:1.28");
    let (rc, out, err) = served.kubectl(&["apply", "-f", path]);
    assert_eq!((rc, out.trim()), (0, "pod/demo configured"), "{err}");
    assert!(err.is_empty(), "no warning: {err}");
    let (_, out, _) = served.kubectl(&["apply", "-f", path]);
    assert_eq!(out.trim(), "pod/demo unchanged");
    write("nginx:1.29");
    let (rc, out, err) = served.kubectl(&["apply", "--server-side", "-f", path]);
    assert_eq!(
        (rc, out.trim()),
        (0, "pod/demo serverside-applied"),
        "{err}"
    );
    let (_, out, _) = served.kubectl(&[
        "get",
        "pod",
        "demo",
        "-o",
        "jsonpath={.spec.containers[0].image}",
    ]);
    assert_eq!(out, "nginx:1.29");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: typo}\nspec: {containers: [{name: a, image: x, imagePullPolicyy: Always}]}\n",
    )
    .unwrap();
    let (rc, _, err) = served.kubectl(&["create", "-f", path]);
    assert_eq!(rc, 1);
    assert!(
        err.contains(r#"Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolicyy""#),
        "{err}"
    );
}

#[test]
fn drain_retries_on_429_and_prints_upstreams_lines() {
    if !kubectl_present() {
        return;
    }
    let served = Served::start("drain", EXAMPLE, &["--speed", "20"]);
    let (rc, out, err) =
        served.kubectl(&["drain", "node-1", "--ignore-daemonsets", "--timeout=60s"]);
    assert_eq!(rc, 0, "{out}\n{err}");
    let out = lines(&out);
    assert_eq!(out[0], "node/node-1 cordoned");
    assert_eq!(out.last(), Some(&"node/node-1 drained"));
    for pod in ["web-7d9f-a", "web-7d9f-b"] {
        assert!(
            out.contains(&format!("evicting pod default/{pod}").as_str()),
            "{out:?}"
        );
        assert!(
            out.contains(&format!("pod/{pod} evicted").as_str()),
            "{out:?}"
        );
    }
    // One of the two was refused first and retried after 5 s.
    assert_eq!(
        out.iter().filter(|l| l.starts_with("evicting pod")).count(),
        3,
        "{out:?}"
    );
    let refused: Vec<&str> = err.lines().collect();
    assert_eq!(refused.len(), 1, "{err}");
    assert!(
        refused[0].starts_with("error when evicting pods/\"web-7d9f-")
            && refused[0].ends_with("-n \"default\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget."),
        "{err}"
    );
    let (_, pods, _) = served.kubectl(&["get", "pods", "-o", "wide"]);
    assert!(!pods.contains("node-1"), "{pods}");
}

#[test]
fn drain_times_out_on_a_stuck_budget() {
    if !kubectl_present() {
        return;
    }
    let served = Served::start("stuck", STUCK, &[]);
    let (rc, out, err) = served.kubectl(&["drain", "node-1", "--timeout=6s"]);
    assert_eq!(rc, 1);
    let out = lines(&out);
    assert_eq!(out[0], "node/node-1 cordoned");
    // An attempt at 0 s, one 5 s later, and (timing permitting) one more before kubectl
    // notices its timeout.
    assert!(out.len() >= 3, "{out:?}");
    assert!(
        out[1..]
            .iter()
            .all(|l| *l == "evicting pod default/web-5d8f7c9b6-abcde"),
        "{out:?}"
    );
    let retry = "error when evicting pods/\"web-5d8f7c9b6-abcde\" -n \"default\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.";
    let timeout = "error when evicting pods/\"web-5d8f7c9b6-abcde\" -n \"default\": global timeout reached: 6s";
    let err = lines(&err);
    let first_error = err.iter().position(|l| *l != retry).unwrap();
    assert!(first_error >= 1, "{err:?}");
    assert_eq!(
        err[first_error..],
        [
            format!("There are pending pods in node \"node-1\" when an error occurred: {timeout}").as_str(),
            "pod/web-5d8f7c9b6-abcde",
            format!("error: unable to drain node \"node-1\" due to error: {timeout}, continuing command...").as_str(),
            "There are pending nodes to be drained:",
            " node-1",
            timeout,
        ]
    );
}

/// The library's drain on the same cluster `evictsim serve` starts from.
fn library_drain(
    scenario: &str,
    node: &str,
    options: evictsim::drain::DrainOptions,
) -> evictsim::drain::DrainRun {
    let (_, mut cluster) = evictsim::scenario::Scenario::parse(scenario)
        .unwrap()
        .run_keeping_cluster()
        .unwrap();
    evictsim::drain::drain(&mut cluster, &[node.to_string()], &options).unwrap()
}

fn sorted(lines: Vec<String>) -> Vec<String> {
    let mut lines = lines;
    lines.sort();
    lines
}

#[test]
fn kubectl_drain_and_the_library_drain_agree() {
    if !kubectl_present() {
        return;
    }
    // A 429 retried once, then every pod evicted: the same lines (goroutine order aside).
    let served = Served::start("agree", EXAMPLE, &["--speed", "20"]);
    let (rc, out, err) =
        served.kubectl(&["drain", "node-1", "--ignore-daemonsets", "--timeout=60s"]);
    let library = library_drain(
        EXAMPLE,
        "node-1",
        evictsim::drain::DrainOptions {
            ignore_daemonsets: true,
            timeout: Duration::from_secs(60),
            ..Default::default()
        },
    );
    assert_eq!(rc, library.exit_code());
    // Which of the two concurrent evictions reaches the server first is a race in kubectl
    // (one goroutine per pod); the library sends them in list order. Names aside, the lines
    // are the same.
    let anonymous = |lines: Vec<String>| {
        sorted(
            lines
                .into_iter()
                .map(|l| {
                    l.replace("web-7d9f-a", "web-7d9f-?")
                        .replace("web-7d9f-b", "web-7d9f-?")
                })
                .collect(),
        )
    };
    assert_eq!(
        anonymous(lines(&out).iter().map(|l| l.to_string()).collect()),
        anonymous(library.stdout())
    );
    assert_eq!(
        anonymous(lines(&err).iter().map(|l| l.to_string()).collect()),
        anonymous(library.stderr())
    );

    // A budget that never allows the eviction: both give up at the timeout with the same
    // error; kubectl's retries are counted on a real clock, so only their text is compared.
    let served = Served::start("agree-stuck", STUCK, &["--speed", "5"]);
    let (rc, out, err) = served.kubectl(&["drain", "node-1", "--timeout=12s"]);
    let library = library_drain(
        STUCK,
        "node-1",
        evictsim::drain::DrainOptions {
            timeout: Duration::from_secs(12),
            ..Default::default()
        },
    );
    assert_eq!(rc, library.exit_code());
    let distinct = |lines: Vec<String>| {
        let mut lines = lines;
        lines.dedup();
        lines.sort();
        lines.dedup();
        lines
    };
    assert_eq!(
        distinct(lines(&out).iter().map(|l| l.to_string()).collect()),
        distinct(library.stdout())
    );
    assert_eq!(
        distinct(lines(&err).iter().map(|l| l.to_string()).collect()),
        distinct(library.stderr())
    );
}

#[test]
fn delete_waits_through_a_watch_and_wait_ends_on_deleted() {
    if !kubectl_present() {
        return;
    }
    // At speed 1 a pod takes a second of real time to go: time enough for kubectl wait to
    // be watching before it does, however loaded the machine.
    let served = Served::start("delete", EXAMPLE, &[]);
    let (rc, out, err) = served.kubectl(&["delete", "pod", "web-7d9f-a"]);
    assert_eq!((rc, out.trim()), (0, "pod \"web-7d9f-a\" deleted"), "{err}");
    let (rc, _, _) = served.kubectl(&["get", "pod", "web-7d9f-a"]);
    assert_eq!(rc, 1, "gone when delete returns");
    let waiter =
        served.kubectl_in_background(&["wait", "--for=delete", "pod/web-7d9f-b", "--timeout=30s"]);
    std::thread::sleep(Duration::from_millis(500));
    let (rc, _, err) = served.kubectl(&["delete", "pod", "web-7d9f-b", "--wait=false"]);
    assert_eq!(rc, 0, "{err}");
    let waited = waiter.join().unwrap();
    assert_eq!(
        waited.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&waited.stdout).trim(),
        "pod/web-7d9f-b condition met"
    );
    let (rc, out, _) = served.kubectl(&["wait", "--for=delete", "pod/web-7d9f-c", "--timeout=2s"]);
    assert_eq!(rc, 1, "{out}");
}

#[test]
fn get_watch_prints_a_terminating_pod() {
    if !kubectl_present() {
        return;
    }
    let served = Served::start("watch", EXAMPLE, &[]);
    let watcher = served.kubectl_in_background(&["get", "pods", "-w", "--request-timeout=4s"]);
    std::thread::sleep(Duration::from_millis(700));
    let (rc, _, err) = served.kubectl(&["delete", "pod", "web-7d9f-a", "--wait=false"]);
    assert_eq!(rc, 0, "{err}");
    let output = watcher.join().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows[0], "NAME         READY   STATUS    RESTARTS   AGE");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("web-7d9f-a   0/1     Terminating")),
        "{out}"
    );
    assert!(
        rows.iter().any(|r| r.contains("Pending")),
        "the replacement: {out}"
    );
}

/// `--disable-eviction` deletes through client-go's typed client, which sends its
/// DeleteOptions as protobuf: the grace period inside must reach the pod. Dry runs change
/// nothing.
#[test]
fn drain_with_deletes_and_dry_runs() {
    if !kubectl_present() {
        return;
    }
    let served = Served::start("disable-eviction", EXAMPLE, &["--speed", "10"]);
    let (rc, out, err) = served.kubectl(&["drain", "node-2", "--dry-run=server"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        lines(&out),
        [
            "node/node-2 cordoned (server dry run)",
            "evicting pod default/web-7d9f-c (server dry run)",
            "node/node-2 drained (server dry run)",
        ]
    );
    let (_, out, _) = served.kubectl(&["drain", "node-2", "--dry-run=client"]);
    assert_eq!(out.lines().next(), Some("node/node-2 cordoned (dry run)"));
    let (_, nodes, _) = served.kubectl(&["get", "nodes"]);
    assert!(
        !nodes.contains("SchedulingDisabled"),
        "dry runs change nothing: {nodes}"
    );

    let (rc, out, err) = served.kubectl(&[
        "drain",
        "node-1",
        "--disable-eviction",
        "--grace-period=5",
        "--timeout=30s",
    ]);
    assert_eq!(rc, 0, "{err}");
    let mut out = lines(&out);
    out.sort();
    assert_eq!(
        out,
        [
            "node/node-1 cordoned",
            "node/node-1 drained",
            "pod/web-7d9f-a deleted",
            "pod/web-7d9f-b deleted",
        ]
    );
    let (_, events, _) = served.kubectl(&["get", "--raw", "/evictsim/v1/events?since=0"]);
    let events: serde_json::Value = serde_json::from_str(&events).unwrap();
    let graceful: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["text"].as_str())
        .filter(|t| t.starts_with("step 1:"))
        .collect();
    assert_eq!(graceful.len(), 2, "{graceful:?}");
    assert!(
        graceful.iter().all(|t| t.ends_with("grace period 5s")),
        "{graceful:?}"
    );
}
