//! The `evictsim` command line: a thin driver around the library's scenario runner.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use evictsim::scenario::Scenario;

/// `eprintln!` that cannot panic: a message for a standard error that is closed (`evictsim
/// serve 2>&1 | head`) is dropped, where `eprintln!` would panic on the broken pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Standard output, which its reader may close before the end (`evictsim run … | head`).
///
/// A closed pipe stops the printing quietly: the reader has had what it wanted. Any other
/// failure to write is reported once on standard error and makes the exit status 2. Either
/// way the work goes on, so that the exit status still says whether expectations held (what
/// `set -o pipefail` reads), where `print!` would panic on the first write after the close.
#[derive(Debug, Default)]
struct Printer {
    stopped: bool,
    failed: bool,
}

impl Printer {
    fn print(&mut self, text: &str) {
        if self.stopped {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            self.stopped = true;
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                say!("error: cannot write to standard output: {e}");
                self.failed = true;
            }
        }
    }
}

/// A deterministic simulator of the Kubernetes API server's eviction path.
#[derive(Debug, Parser)]
#[command(
    name = "evictsim",
    version,
    about,
    after_help = "Scenario files are described in docs/scenario-files.md; the rule ids (E…, C…, G…, K…, N…) in messages and tests in docs/rules.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs scenario files, each on a fresh cluster, and prints their timelines.
    ///
    /// Exit status: 0 when every expectation held, 1 when one failed, 2 when a file is
    /// invalid or the output cannot be written (a reader that closes the pipe early, as
    /// `head` does, is no failure: the files still run, for the status). The file format
    /// (objects, steps, expectations, settings) is described in docs/scenario-files.md;
    /// examples/*.yaml are worked examples.
    Run {
        /// How to print the results.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// Scenario files (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Serves the simulated cluster as a Kubernetes API server for kubectl, curl, client-go
    /// and kube-rs.
    ///
    /// FILE is a scenario file: its objects make the starting cluster and its steps run
    /// first (a failed expectation: exit 1, nothing served). When ready it prints
    /// `serving on URL` on stdout; the timeline goes to stderr as it happens. Loopback is
    /// plain HTTP; any other address gets TLS and a bearer token (both in the kubeconfig).
    /// SIGINT or SIGTERM ends it (exit 0). Bad flags or an invalid file: exit 2.
    Serve {
        /// A scenario file (YAML or JSON); without it, an empty cluster.
        file: Option<PathBuf>,
        /// The address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8001")]
        listen: std::net::SocketAddr,
        /// Virtual seconds per real second (60: a 30 s grace period takes half a second).
        #[arg(long, default_value_t = 1.0, conflicts_with = "manual_clock")]
        speed: f64,
        /// Virtual time moves only by `POST /evictsim/v1/advance`.
        #[arg(long)]
        manual_clock: bool,
        /// Writes a kubeconfig for the server here (context `evictsim`).
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// Serves TLS with a bearer token on loopback too (always on beyond loopback).
        #[arg(long)]
        tls: bool,
    },
    /// Will this node drain? Drains NODEs of a cluster snapshot on the virtual clock, as
    /// `kubectl drain` would, and prints kubectl's lines, a verdict, the pods left behind
    /// with their causes, and remedies verified on copies of the stuck cluster.
    ///
    /// FILE is a scenario file (its objects; its steps are not played) or a snapshot: the
    /// List that `kubectl get -A -o json` prints for
    /// nodes,pods,pdb,deployments,replicasets,statefulsets,daemonsets,replicationcontrollers,services. Several NODEs drain as one
    /// kubectl command (all cordoned first); `--all-nodes` and `--selector` drain one node
    /// after another, uncordoning each once drained, as upgrade tools do, and stop at the
    /// first that sticks. Exit status: 0 drained, 1 not drained, 2 invalid input or output
    /// that cannot be written.
    Drain {
        /// The nodes to drain.
        nodes: Vec<String>,
        /// The cluster: a scenario file or a `kubectl get … -o json` snapshot.
        #[arg(long = "from", value_name = "FILE")]
        from: PathBuf,
        /// Drain every node, one after another.
        #[arg(long, conflicts_with_all = ["nodes", "selector"])]
        all_nodes: bool,
        /// Drain the nodes with these labels, one after another.
        #[arg(short = 'l', long, conflicts_with = "nodes")]
        selector: Option<String>,
        /// Drain the named nodes one after another (each uncordoned once drained).
        #[arg(long)]
        one_by_one: bool,
        #[command(flatten)]
        kubectl: DrainFlags,
        /// Seconds a container takes to start and become Ready, where its pod's
        /// evictsim.io/startup-seconds annotation does not say.
        #[arg(long, default_value_t = 2.0)]
        startup_seconds: f64,
        /// Seconds containers take to exit after SIGTERM, where the pod's
        /// evictsim.io/shutdown-seconds annotation does not say.
        #[arg(long, default_value_t = 1.0)]
        shutdown_seconds: f64,
        /// Skip verifying remedies.
        #[arg(long)]
        no_remedies: bool,
        /// How to print the report.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

/// kubectl drain's own flags, with kubectl's defaults.
#[derive(Debug, clap::Args)]
struct DrainFlags {
    /// kubectl's --force: also delete pods that declare no controller.
    #[arg(long)]
    force: bool,
    /// kubectl's --ignore-daemonsets.
    #[arg(long)]
    ignore_daemonsets: bool,
    /// kubectl's --delete-emptydir-data.
    #[arg(long)]
    delete_emptydir_data: bool,
    /// kubectl's --grace-period (-1: each pod's own).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    grace_period: i64,
    /// kubectl's --timeout (0: wait forever).
    #[arg(long, default_value = "0s", value_parser = evictsim::time::parse_duration)]
    timeout: std::time::Duration,
    /// kubectl's --pod-selector.
    #[arg(long, default_value = "")]
    pod_selector: String,
    /// kubectl's --disable-eviction: DELETE instead of evicting (bypasses PDBs).
    #[arg(long)]
    disable_eviction: bool,
    /// kubectl's --skip-wait-for-delete-timeout, in seconds.
    #[arg(long, default_value_t = 0)]
    skip_wait_for_delete_timeout: u64,
    /// kubectl's --dry-run.
    #[arg(long, value_enum, default_value_t = DryRunArg::None, num_args = 0..=1, default_missing_value = "client")]
    dry_run: DryRunArg,
    /// kubectl's --chunk-size.
    #[arg(long, default_value_t = 500)]
    chunk_size: u32,
    /// How much virtual time a drain without --timeout is followed before it is called
    /// endless.
    #[arg(long, default_value = "24h", value_parser = evictsim::time::parse_duration)]
    patience: std::time::Duration,
}

impl DrainFlags {
    fn options(self) -> evictsim::drain::DrainOptions {
        evictsim::drain::DrainOptions {
            force: self.force,
            ignore_daemonsets: self.ignore_daemonsets,
            delete_emptydir_data: self.delete_emptydir_data,
            grace_period: self.grace_period,
            timeout: self.timeout,
            pod_selector: self.pod_selector,
            disable_eviction: self.disable_eviction,
            skip_wait_for_delete_timeout: self.skip_wait_for_delete_timeout,
            dry_run: match self.dry_run {
                DryRunArg::None => evictsim::drain::DryRun::None,
                DryRunArg::Client => evictsim::drain::DryRun::Client,
                DryRunArg::Server => evictsim::drain::DryRun::Server,
            },
            chunk_size: self.chunk_size,
            patience: self.patience,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DryRunArg {
    None,
    Client,
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// A readable timeline.
    Text,
    /// One JSON object per step and line.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Drain {
            nodes,
            from,
            all_nodes,
            selector,
            one_by_one,
            kubectl,
            startup_seconds,
            shutdown_seconds,
            no_remedies,
            output,
        } => {
            let which = if all_nodes {
                Nodes::All
            } else if let Some(selector) = selector {
                Nodes::Selected(selector)
            } else {
                Nodes::Named(nodes, one_by_one)
            };
            let timings = (startup_seconds, shutdown_seconds);
            drain(
                &from,
                which,
                kubectl.options(),
                timings,
                !no_remedies,
                output,
            )
        }
        Command::Run { output, files } => run(output, &files),
        Command::Serve {
            file,
            listen,
            speed,
            manual_clock,
            kubeconfig,
            tls,
        } => serve(
            file.as_deref(),
            listen,
            speed,
            manual_clock,
            kubeconfig.as_deref(),
            tls,
        ),
    }
}

fn serve(
    file: Option<&std::path::Path>,
    address: std::net::SocketAddr,
    speed: f64,
    manual_clock: bool,
    kubeconfig: Option<&std::path::Path>,
    tls: bool,
) -> ExitCode {
    use evictsim::server::{Clock, ListenConfig};
    if !speed.is_finite() || speed <= 0.0 {
        say!("error: --speed: {speed:?} is not a positive number of virtual seconds per second");
        return ExitCode::from(2);
    }
    let cluster = match file {
        None => evictsim::cluster::Cluster::default(),
        Some(path) => {
            let shown = path.display();
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) => {
                    say!("error: {shown}: cannot read: {e}");
                    return ExitCode::from(2);
                }
            };
            let scenario = match Scenario::parse(&text) {
                Ok(scenario) => scenario,
                Err(e) => {
                    say!("error: {shown}: {e}");
                    return ExitCode::from(2);
                }
            };
            for warning in &scenario.warnings {
                say!("warning: {shown}: {warning}");
            }
            match scenario.run_keeping_cluster() {
                Ok((report, cluster)) => {
                    let _ = write!(std::io::stderr(), "{}", report.to_text(&shown.to_string()));
                    if !report.ok() {
                        say!("error: {shown}: an expectation failed; nothing served");
                        return ExitCode::from(1);
                    }
                    cluster
                }
                Err(e) => {
                    say!("error: {shown}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            say!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let clock = if manual_clock {
        Clock::Manual
    } else {
        Clock::Tokio { speed }
    };
    runtime.block_on(async move {
        let config = ListenConfig {
            address,
            clock,
            tls,
        };
        let listening = match evictsim::server::serve(cluster, &config).await {
            Ok(listening) => listening,
            Err(e) => {
                say!("error: --listen {address}: {e}");
                return ExitCode::from(2);
            }
        };
        if let Some(path) = kubeconfig
            && let Err(e) = std::fs::write(path, listening.kubeconfig())
        {
            say!("error: --kubeconfig {}: {e}", path.display());
            return ExitCode::from(2);
        }
        tokio::spawn(print_timeline(listening.server().clone()));
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "serving on {}", listening.url());
        let _ = stdout.flush();
        match listening.run(stop_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                say!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// Prints the timeline to stderr as events happen.
async fn print_timeline(server: evictsim::server::Server) {
    let mut changes = server.changes();
    let mut cursor = server.cluster().event_count();
    while changes.changed().await.is_ok() {
        let lines: Vec<String> = {
            let cluster = server.cluster();
            let clock = cluster.clock();
            let lines = cluster
                .events_iter(cursor)
                .filter_map(|event| {
                    evictsim::scenario::describe(&event)
                        .map(|text| format!("{}  {text}", clock.at(event.at)))
                })
                .collect();
            cursor = cluster.event_count();
            lines
        };
        // A closed standard error ends the timeline, not the server.
        let mut stderr = std::io::stderr().lock();
        for line in lines {
            if writeln!(stderr, "{line}").is_err() {
                return;
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut terminate) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn run(output: Output, files: &[PathBuf]) -> ExitCode {
    let mut invalid = false;
    let mut failed = false;
    let mut stdout = Printer::default();
    for file in files {
        let shown = file.display();
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                say!("error: {shown}: cannot read: {e}");
                invalid = true;
                continue;
            }
        };
        let report = match Scenario::parse(&text).and_then(|s| {
            for warning in &s.warnings {
                say!("warning: {shown}: {warning}");
            }
            s.run()
        }) {
            Ok(report) => report,
            Err(e) => {
                say!("error: {shown}: {e}");
                invalid = true;
                continue;
            }
        };
        match output {
            Output::Text => stdout.print(&report.to_text(&shown.to_string())),
            Output::Json => stdout.print(&report.to_json_lines()),
        }
        failed |= !report.ok();
    }
    if invalid || stdout.failed {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Which nodes `evictsim drain` drains.
enum Nodes {
    /// Named ones; `true`: one after another.
    Named(Vec<String>, bool),
    /// Those a label selector picks, one after another.
    Selected(String),
    /// Every node, one after another.
    All,
}

fn drain(
    file: &std::path::Path,
    which: Nodes,
    options: evictsim::drain::DrainOptions,
    (startup, shutdown): (f64, f64),
    verify_remedies: bool,
    output: Output,
) -> ExitCode {
    use evictsim::drain::whatif::{Plan, Pool, what_if};
    use evictsim::model::{Behaviour, Node, Selector, Shutdown};

    let shown = file.display();
    let seconds = |flag: &str, value: f64| {
        if value.is_finite() && (0.0..1e9).contains(&value) {
            Ok(std::time::Duration::from_millis(
                (value * 1000.0).round() as u64
            ))
        } else {
            Err(format!(
                "error: --{flag}: {value:?} is not a number of seconds"
            ))
        }
    };
    let (startup, shutdown) = match (
        seconds("startup-seconds", startup),
        seconds("shutdown-seconds", shutdown),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            say!("{e}");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            say!("error: {shown}: cannot read: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cluster = match evictsim::cluster::Cluster::from_snapshot_or_scenario(&text) {
        Ok((cluster, warnings)) => {
            for warning in &warnings {
                say!("warning: {shown}: {warning}");
            }
            cluster
        }
        Err(e) => {
            say!("error: {shown}: {e}");
            return ExitCode::from(2);
        }
    };
    cluster.set_default_behaviour(Behaviour {
        startup,
        shutdown: Shutdown::After(shutdown),
        ..Behaviour::default()
    });
    let all: Vec<&Node> = cluster.list::<Node>().collect();
    let (nodes, pool) = match which {
        Nodes::Named(nodes, one_by_one) => {
            if nodes.is_empty() {
                say!("error: name the nodes to drain, or use --all-nodes or --selector");
                return ExitCode::from(2);
            }
            if let Some(unknown) = nodes
                .iter()
                .find(|n| !all.iter().any(|node| node.metadata.name == **n))
            {
                say!(
                    "error: {shown}: no node named {unknown:?} (the file has {} nodes)",
                    all.len()
                );
                return ExitCode::from(2);
            }
            (
                nodes,
                if one_by_one {
                    Pool::OneByOne
                } else {
                    Pool::Together
                },
            )
        }
        Nodes::Selected(selector) => {
            let parsed = match Selector::parse(&selector) {
                Ok(parsed) => parsed,
                Err(e) => {
                    say!("error: --selector: {e}");
                    return ExitCode::from(2);
                }
            };
            let nodes: Vec<String> = all
                .iter()
                .filter(|n| parsed.matches(&n.metadata.labels))
                .map(|n| n.metadata.name.to_string())
                .collect();
            if nodes.is_empty() {
                say!("error: {shown}: no node matches --selector {selector:?}");
                return ExitCode::from(2);
            }
            (nodes, Pool::OneByOne)
        }
        Nodes::All => {
            let nodes: Vec<String> = all.iter().map(|n| n.metadata.name.to_string()).collect();
            if nodes.is_empty() {
                say!("error: {shown}: the file has no nodes");
                return ExitCode::from(2);
            }
            (nodes, Pool::OneByOne)
        }
    };
    if !options.pod_selector.is_empty()
        && let Err(e) = Selector::parse(&options.pod_selector)
    {
        say!(
            "error: --pod-selector={} must be a valid label selector: {e}",
            options.pod_selector
        );
        return ExitCode::from(2);
    }
    let mut plan = Plan::new(nodes);
    plan.options = options;
    plan.pool = pool;
    plan.verify_remedies = verify_remedies;
    let report = what_if(&cluster, &plan);
    let mut stdout = Printer::default();
    match output {
        Output::Text => stdout.print(&report.to_text()),
        Output::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => stdout.print(&format!("{json}\n")),
            Err(e) => {
                say!("error: cannot print the report: {e}");
                return ExitCode::from(2);
            }
        },
    }
    if stdout.failed {
        ExitCode::from(2)
    } else if report.drained {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
