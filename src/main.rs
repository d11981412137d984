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
