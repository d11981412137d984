//! The `evictsim` command line: a thin driver around the library's scenario runner.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use evictsim::scenario::Scenario;

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
    /// invalid. The file format (objects, steps, expectations, settings) is described in
    /// docs/scenario-files.md; examples/*.yaml are worked examples.
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
    use std::io::Write;

    if !speed.is_finite() || speed <= 0.0 {
        eprintln!("error: --speed: {speed} is not a positive number of virtual seconds per second");
        return ExitCode::from(2);
    }
    let cluster = match file {
        None => evictsim::cluster::Cluster::default(),
        Some(path) => {
            let shown = path.display();
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) => {
                    eprintln!("error: {shown}: cannot read: {e}");
                    return ExitCode::from(2);
                }
            };
            let scenario = match Scenario::parse(&text) {
                Ok(scenario) => scenario,
                Err(e) => {
                    eprintln!("error: {shown}: {e}");
                    return ExitCode::from(2);
                }
            };
            for warning in &scenario.warnings {
                eprintln!("warning: {shown}: {warning}");
            }
            match scenario.run_keeping_cluster() {
                Ok((report, cluster)) => {
                    eprint!("{}", report.to_text(&shown.to_string()));
                    if !report.ok() {
                        eprintln!("error: {shown}: an expectation failed; nothing served");
                        return ExitCode::from(1);
                    }
                    cluster
                }
                Err(e) => {
                    eprintln!("error: {shown}: {e}");
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
            eprintln!("error: cannot start the runtime: {e}");
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
                eprintln!("error: --listen {address}: {e}");
                return ExitCode::from(2);
            }
        };
        if let Some(path) = kubeconfig
            && let Err(e) = std::fs::write(path, listening.kubeconfig())
        {
            eprintln!("error: --kubeconfig {}: {e}", path.display());
            return ExitCode::from(2);
        }
        tokio::spawn(print_timeline(listening.server().clone()));
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "serving on {}", listening.url());
        let _ = stdout.flush();
        match listening.run(stop_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
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
                .events_since(cursor)
                .iter()
                .filter_map(|event| {
                    evictsim::scenario::describe(event)
                        .map(|text| format!("{}  {text}", clock.at(event.at)))
                })
                .collect();
            cursor = cluster.event_count();
            lines
        };
        for line in lines {
            eprintln!("{line}");
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
    for file in files {
        let shown = file.display();
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: {shown}: cannot read: {e}");
                invalid = true;
                continue;
            }
        };
        let report = match Scenario::parse(&text).and_then(|s| {
            for warning in &s.warnings {
                eprintln!("warning: {shown}: {warning}");
            }
            s.run()
        }) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("error: {shown}: {e}");
                invalid = true;
                continue;
            }
        };
        match output {
            Output::Text => print!("{}", report.to_text(&shown.to_string())),
            Output::Json => print!("{}", report.to_json_lines()),
        }
        failed |= !report.ok();
    }
    if invalid {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
