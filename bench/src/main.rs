//! `cf-invalidate-bench`: measures cf-invalidate against a Python Lambda and the AWS CLI waiter
//! through local-aws, prints the figures, and writes the report and its chart.
//! `scripts/bench.sh` builds everything and runs it; see docs/benchmarks.md.

use std::path::PathBuf;
use std::process::ExitCode;

use cf_invalidate_bench::events::{self, EventsPlan, EventsSettings};
use cf_invalidate_bench::run::{self, Plan, Settings};
use cf_invalidate_bench::{BenchError, chart, events_chart, events_report, report};
use clap::Parser;

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
    /// its figures, writes its chart, and rewrites the events section of the report alone.
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
    /// The markdown report to write.
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

/// This process's command line, as typed (for the report).
fn invocation() -> String {
    quoted_args().join(" ")
}

/// The same, one option a line, as a shell accepts it.
fn invocation_lines() -> String {
    let mut out = String::new();
    for arg in quoted_args() {
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

fn quoted_args() -> Vec<String> {
    std::env::args()
        .map(|arg| {
            if arg.is_empty() || arg.contains([' ', '"', '\'', '$', '`']) {
                format!("'{}'", arg.replace('\'', r"'\''"))
            } else {
                arg
            }
        })
        .collect()
}

fn main() -> ExitCode {
    let args = Args::parse();
    match try_main(args) {
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

fn try_main(args: Args) -> Result<(), BenchError> {
    if args.events_only {
        return events_only(args);
    }
    if args.artifact_only {
        let lambda =
            absolute(args.lambda.ok_or_else(|| {
                BenchError::Run("--artifact-only needs --lambda PATH".to_string())
            })?);
        let sizes: &[usize] = if args.smoke {
            &[2_000]
        } else {
            &[10_000, 100_000]
        };
        let table = runtime()?.block_on(cf_invalidate_bench::artifact::measure(&lambda, sizes))?;
        print!("{table}");
        return Ok(());
    }
    let missing = |flag: &str| {
        BenchError::Run(format!(
            "{flag} is required unless --events-only is given: see --help"
        ))
    };
    let lambda = args.lambda.ok_or_else(|| missing("--lambda"))?;
    let aws = args.aws.ok_or_else(|| missing("--aws"))?;
    let settings = Settings {
        smoke: args.smoke,
        json: absolute(args.work_dir.join(if args.smoke {
            "smoke-results.json"
        } else {
            "results.json"
        })),
        lambda: absolute(lambda),
        cli: args.cli.map(absolute),
        python: absolute(args.python),
        aws: absolute(aws),
        baseline_dir: absolute(args.baseline_dir),
        work_dir: absolute(args.work_dir),
        target_dir: absolute(args.target_dir),
        criterion_dir: args.criterion_dir.map(absolute),
        report: absolute(args.report),
        chart: absolute(args.chart),
        profile: args.profile,
        command: args.command,
        invocation: invocation(),
    };
    let plan = if settings.smoke {
        Plan::smoke()
    } else {
        Plan::full()
    };
    let runtime = runtime()?;
    if args.cold_start_only {
        let cold_start = runtime.block_on(run::cold_start_only(&settings, &plan))?;
        let json = serde_json::to_string_pretty(&cold_start)
            .map_err(|e| BenchError::Run(format!("cannot serialise the results: {e}")))?;
        let path = settings.work_dir.join("cold-start.json");
        write(&path, &json)?;
        print!("{}", report::cold_start_summary(&cold_start));
        println!("  results      {}", path.display());
        return Ok(());
    }
    let results = runtime.block_on(run::run(&settings, &plan))?;

    chart::draw(&results.lag, &settings.chart)?;
    let json = serde_json::to_string_pretty(&results)
        .map_err(|e| BenchError::Run(format!("cannot serialise the results: {e}")))?;
    write(&settings.json, &json)?;
    let previous = std::fs::read_to_string(&settings.report).ok();
    let events_section = previous.as_deref().and_then(events_report::section_of);
    let markdown = report::with_kept_part(
        report::markdown(&results, &settings, events_section),
        previous.as_deref(),
    );
    write(&settings.report, &markdown)?;
    print!(
        "{}",
        report::summary(&results, &settings.report, &settings.chart)
    );
    println!("  results      {}", settings.json.display());
    Ok(())
}

/// The S3-events comparison alone: its chart, its JSON, and its section of the report, the
/// rest of which stays as it is.
fn events_only(args: Args) -> Result<(), BenchError> {
    let function = args.events_function.ok_or_else(|| {
        BenchError::Run(
            "--events-only needs --events-function PATH (cf-invalidate-events)".to_string(),
        )
    })?;
    let settings = EventsSettings {
        smoke: args.smoke,
        function: absolute(function),
        python: absolute(args.python),
        sample_dir: absolute(args.events_sample_dir),
        report: absolute(args.report),
        chart: absolute(args.events_chart),
        json: absolute(args.work_dir.join(if args.smoke {
            "smoke-events-results.json"
        } else {
            "events-results.json"
        })),
        profile: args.profile,
        command: args.command,
        invocation: invocation_lines(),
    };
    let plan = if settings.smoke {
        EventsPlan::smoke()
    } else {
        EventsPlan::full()
    };
    let started = std::time::Instant::now();
    let progress = |line: &str| eprintln!("[{:>6.1}s] {line}", started.elapsed().as_secs_f64());
    let results = runtime()?.block_on(events::run(&settings, &plan, &progress))?;

    events_chart::draw(&results, &settings.chart)?;
    let json = serde_json::to_string_pretty(&results)
        .map_err(|e| BenchError::Run(format!("cannot serialise the results: {e}")))?;
    write(&settings.json, &json)?;
    let previous = std::fs::read_to_string(&settings.report).unwrap_or_default();
    let markdown = events_report::splice(&previous, &events_report::section(&results, &settings));
    write(&settings.report, &markdown)?;
    print!(
        "{}",
        events_report::summary(&results, &settings.report, &settings.chart)
    );
    println!("  results               {}", settings.json.display());
    Ok(())
}

fn write(path: &std::path::Path, text: &str) -> Result<(), BenchError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| BenchError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| BenchError::Write {
        path: path.to_path_buf(),
        source,
    })
}
