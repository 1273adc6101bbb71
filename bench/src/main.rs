//! `cf-invalidate-bench`: measures cf-invalidate against a Python Lambda and the AWS CLI waiter
//! through local-aws, writes the figures into the report's blocks, its charts and a JSON file,
//! and prints the headline. `scripts/bench.sh` builds everything and runs it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use cf_invalidate_bench::events::{self, EventsPlan, EventsSettings};
use cf_invalidate_bench::run::{self, Plan, Settings};
use cf_invalidate_bench::{BenchError, chart, events_report, report, write_file, write_json};
use clap::Parser;
use serde::Serialize;

/// Benchmarks cf-invalidate-lambda against a Python Lambda (boto3 + awslambdaric) and
/// `aws cloudfront wait invalidation-completed`, on this machine, through local-aws.
#[derive(Debug, Parser)]
#[command(name = "cf-invalidate-bench", version)]
struct Args {
    /// The tiny version for CI: one run of each, 2-3 s invalidations, no 90 s case.
    #[arg(long)]
    smoke: bool,
    /// Only the cold-start pairs (a few seconds): prints their figures and writes
    /// cold-start.json in the work directory, and no report. For comparing builds of the function.
    #[arg(long, conflicts_with = "smoke")]
    cold_start_only: bool,
    /// Only the S3-events comparison (cf-invalidate-events against the Python sample): prints
    /// its figures, writes its chart, and rewrites the events blocks of the report alone.
    /// With --smoke: 300 uploads.
    #[arg(long, conflicts_with = "cold_start_only", requires = "events_function")]
    events_only: bool,
    /// Only the pathsFromArtifact figures (10,000 and 100,000 files; 2,000 with --smoke):
    /// printed as a markdown table, for docs/benchmarks.md. Needs --lambda.
    #[arg(long, conflicts_with_all = ["cold_start_only", "events_only"])]
    artifact_only: bool,
    /// The cf-invalidate-events executable (for --events-only).
    #[arg(long, value_name = "PATH")]
    events_function: Option<PathBuf>,
    /// The Python events sample's directory.
    #[arg(long, value_name = "DIR", default_value = "bench/python_events_sample")]
    events_sample_dir: PathBuf,
    /// The S3-events chart to write.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "docs/benchmarks/events.svg"
    )]
    events_chart: PathBuf,
    /// The cf-invalidate-lambda executable to measure.
    #[arg(long, value_name = "PATH", required_unless_present = "events_only")]
    lambda: Option<PathBuf>,
    /// The cf-invalidate CLI executable (for its size).
    #[arg(long, value_name = "PATH")]
    cli: Option<PathBuf>,
    /// A Python interpreter with awslambdaric and boto3.
    #[arg(long, value_name = "PATH")]
    python: PathBuf,
    /// The AWS CLI executable.
    #[arg(long, value_name = "PATH", required_unless_present_any = ["events_only", "artifact_only"])]
    aws: Option<PathBuf>,
    /// The Python baseline's directory.
    #[arg(long, value_name = "DIR", default_value = "bench/python_baseline")]
    baseline_dir: PathBuf,
    /// Scratch directory (logs, the CLI's HOME, the harness's zip, results.json).
    #[arg(long, value_name = "DIR", default_value = "target/bench")]
    work_dir: PathBuf,
    /// The cargo target directory (the release's assets in its dist/ are reported).
    #[arg(long, value_name = "DIR", default_value = "target")]
    target_dir: PathBuf,
    /// criterion's output directory, to report `cargo bench --bench plan`'s estimates.
    #[arg(long, value_name = "DIR")]
    criterion_dir: Option<PathBuf>,
    /// The markdown report whose blocks are rewritten (the rest of it is kept).
    #[arg(long, value_name = "PATH", default_value = "docs/benchmarks.md")]
    report: PathBuf,
    /// The SVG chart to write.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "docs/benchmarks/detection-lag.svg"
    )]
    chart: PathBuf,
    /// The cargo profile the binaries were built with, for the report.
    #[arg(long, value_name = "NAME", default_value = "release")]
    profile: String,
    /// The command to quote in the report as the one that produced it.
    #[arg(long, value_name = "TEXT", default_value = "./scripts/bench.sh")]
    command: String,
}

/// This process's command line, one option a line, as a shell accepts it (for the report).
fn invocation() -> String {
    let mut out = String::new();
    for arg in std::env::args() {
        let arg = if arg.is_empty() || arg.contains([' ', '"', '\'', '$', '`']) {
            format!("'{}'", arg.replace('\'', r"'\''"))
        } else {
            arg
        };
        if !out.is_empty() {
            out.push_str(if arg.starts_with("--") {
                " \\\n  "
            } else {
                " "
            });
        }
        out.push_str(&arg);
    }
    out
}

fn main() -> ExitCode {
    match try_main(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cf-invalidate-bench: {error}");
            match error {
                BenchError::Missing { .. } => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// Absolute, not canonical: the baseline runs in its own directory, and a virtualenv's
/// `python` must stay the symlink inside the venv.
fn absolute(p: PathBuf) -> PathBuf {
    std::path::absolute(&p).unwrap_or(p)
}

fn runtime() -> Result<tokio::runtime::Runtime, BenchError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| BenchError::Run(format!("cannot start the Tokio runtime: {source}")))
}

/// Writes `results` as JSON into `json`, the report's `blocks` (keeping the rest of it) and
/// the chart's path, and prints block `shown` and where everything went.
fn publish(
    results: &impl Serialize,
    json: &Path,
    (report, blocks): (&Path, &[report::Block]),
    chart: &Path,
    shown: usize,
) -> Result<(), BenchError> {
    write_json(json, results)?;
    // Only a missing report starts afresh: any other error must not overwrite the prose.
    let previous = match std::fs::read_to_string(report) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_string(),
        read => {
            read.map_err(|e| BenchError::Run(format!("cannot read {}: {e}", report.display())))?
        }
    };
    write_file(report, &report::splice(&previous, blocks))?;
    let (report, chart, json) = (report.display(), chart.display(), json.display());
    println!(
        "{}\nreport {report}\nchart {chart}\nresults {json}",
        blocks[shown].body
    );
    Ok(())
}

fn try_main(args: Args) -> Result<(), BenchError> {
    let started = Instant::now();
    let progress = |line: &str| eprintln!("[{:>6.1}s] {line}", started.elapsed().as_secs_f64());
    let smoke = if args.smoke { "smoke-" } else { "" };
    let work_dir = absolute(args.work_dir);
    if args.events_only {
        let function = args.events_function.ok_or_else(|| {
            BenchError::Run(
                "--events-only needs --events-function PATH (cf-invalidate-events)".into(),
            )
        })?;
        let settings = EventsSettings {
            smoke: args.smoke,
            function: absolute(function),
            python: absolute(args.python),
            sample_dir: absolute(args.events_sample_dir),
            report: absolute(args.report),
            chart: absolute(args.events_chart),
            profile: args.profile,
            command: args.command,
            invocation: invocation(),
        };
        let plan = if args.smoke {
            EventsPlan::smoke()
        } else {
            EventsPlan::full()
        };
        let results = runtime()?.block_on(events::run(&settings, &plan, &progress))?;
        chart::events(&results, &settings.chart)?;
        let json = work_dir.join(format!("{smoke}events-results.json"));
        let blocks = events_report::blocks(&results, &settings);
        return publish(
            &results,
            &json,
            (&settings.report, &blocks),
            &settings.chart,
            2,
        );
    }
    let lambda = absolute(
        args.lambda
            .ok_or_else(|| BenchError::Run("--lambda PATH is required: see --help".into()))?,
    );
    if args.artifact_only {
        let sizes: &[usize] = if args.smoke {
            &[2_000]
        } else {
            &[10_000, 100_000]
        };
        let table = runtime()?.block_on(cf_invalidate_bench::artifact::measure(&lambda, sizes))?;
        print!("{table}");
        return Ok(());
    }
    let aws = args
        .aws
        .ok_or_else(|| BenchError::Run("--aws PATH is required: see --help".into()))?;
    let settings = Settings {
        smoke: args.smoke,
        lambda,
        cli: args.cli.map(absolute),
        python: absolute(args.python),
        aws: absolute(aws),
        baseline_dir: absolute(args.baseline_dir),
        work_dir: work_dir.clone(),
        target_dir: absolute(args.target_dir),
        criterion_dir: args.criterion_dir.map(absolute),
        report: absolute(args.report),
        chart: absolute(args.chart),
        profile: args.profile,
        command: args.command,
        invocation: invocation(),
    };
    let plan = if args.smoke {
        Plan::smoke()
    } else {
        Plan::full()
    };
    let runtime = runtime()?;
    if args.cold_start_only {
        let cold_start = runtime.block_on(run::cold_starts(&settings, &plan, &progress))?;
        let json = work_dir.join("cold-start.json");
        write_json(&json, &cold_start)?;
        println!(
            "{}\nresults {}",
            report::cold_start(&cold_start),
            json.display()
        );
        return Ok(());
    }
    let results = runtime.block_on(run::run(&settings, &plan, &progress))?;
    chart::lag(&results.lag, &settings.chart)?;
    let json = work_dir.join(format!("{smoke}results.json"));
    let blocks = report::blocks(&results, &settings);
    publish(
        &results,
        &json,
        (&settings.report, &blocks),
        &settings.chart,
        1,
    )
}
