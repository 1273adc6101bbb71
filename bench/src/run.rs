//! One benchmark run from start to report: what to measure (full or smoke), in which order,
//! and the results gathered for the report, the chart and the JSON file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::builder::{PathBufValueParser, TypedValueParser};
use serde::Serialize;

use crate::BenchError;
use crate::cold_start::{self, ColdStartSummary};
use crate::lag::{self, OursRun, WaiterRun};
use crate::machine::{self, Machine};
use crate::planning::{self, PlanTiming};
use crate::process::FunctionCommand;
use crate::schedule::{self, Prediction};
use crate::size::{self, Artefact};
use crate::stats::{median, median_ratio};

/// Benchmarks cf-invalidate-lambda against a Python Lambda (boto3 + awslambdaric) and
/// `aws cloudfront wait invalidation-completed`, on this machine, through local-aws.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "cf-invalidate-bench", version)]
pub struct Settings {
    /// The tiny version for CI: one run of each, 2-3 s invalidations, no 90 s case.
    #[arg(long)]
    pub smoke: bool,
    /// Only the cold-start pairs (a few seconds): prints their figures and writes
    /// cold-start.json in the work directory, and no report. For comparing builds of the function.
    #[arg(long, conflicts_with = "smoke")]
    pub cold_start_only: bool,
    /// Only the S3-events comparison (cf-invalidate-events against the Python sample): prints
    /// its figures, writes its chart, and rewrites the events blocks of the report alone.
    /// With --smoke: 300 uploads.
    #[arg(long, conflicts_with = "cold_start_only", requires = "events_function")]
    pub events_only: bool,
    /// Only the pathsFromArtifact figures (10,000 and 100,000 files; 2,000 with --smoke):
    /// printed as a markdown table, for docs/benchmarks.md. Needs --lambda.
    #[arg(long, conflicts_with_all = ["cold_start_only", "events_only"])]
    pub artifact_only: bool,
    /// The cf-invalidate-events executable (for --events-only).
    #[arg(long, value_parser = absolute(), value_name = "PATH")]
    pub events_function: Option<PathBuf>,
    /// The Python events sample's directory.
    #[arg(value_parser = absolute())]
    #[arg(long, value_name = "DIR", default_value = "bench/python_events_sample")]
    pub events_sample_dir: PathBuf,
    /// The S3-events chart to write.
    #[arg(value_parser = absolute())]
    #[arg(
        long,
        value_name = "PATH",
        default_value = "docs/benchmarks/events.svg"
    )]
    pub events_chart: PathBuf,
    /// The cf-invalidate-lambda executable to measure.
    #[arg(value_parser = absolute())]
    #[arg(long, value_name = "PATH", required_unless_present = "events_only")]
    pub lambda: Option<PathBuf>,
    /// The cf-invalidate CLI executable (for its size).
    #[arg(long, value_parser = absolute(), value_name = "PATH")]
    pub cli: Option<PathBuf>,
    /// A Python interpreter with awslambdaric and boto3.
    #[arg(long, value_parser = absolute(), value_name = "PATH")]
    pub python: PathBuf,
    /// The AWS CLI executable.
    #[arg(value_parser = absolute())]
    #[arg(
        long,
        value_name = "PATH",
        required_unless_present_any = ["events_only", "artifact_only"],
    )]
    pub aws: Option<PathBuf>,
    /// The Python baseline's directory.
    #[arg(value_parser = absolute())]
    #[arg(long, value_name = "DIR", default_value = "bench/python_baseline")]
    pub baseline_dir: PathBuf,
    /// Scratch directory (logs, the CLI's HOME, the harness's zip, results.json).
    #[arg(long, value_parser = absolute(), value_name = "DIR", default_value = "target/bench")]
    pub work_dir: PathBuf,
    /// The cargo target directory (the release's assets in its dist/ are reported).
    #[arg(long, value_parser = absolute(), value_name = "DIR", default_value = "target")]
    pub target_dir: PathBuf,
    /// criterion's output directory, to report `cargo bench --bench plan`'s estimates.
    #[arg(long, value_parser = absolute(), value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
    /// The markdown report whose blocks are rewritten (the rest of it is kept).
    #[arg(value_parser = absolute())]
    #[arg(long, value_name = "PATH", default_value = "docs/benchmarks.md")]
    pub report: PathBuf,
    /// The SVG chart to write.
    #[arg(value_parser = absolute())]
    #[arg(
        long,
        value_name = "PATH",
        default_value = "docs/benchmarks/detection-lag.svg"
    )]
    pub chart: PathBuf,
    /// The cargo profile the binaries were built with, for the report.
    #[arg(long, value_name = "NAME", default_value = "release")]
    pub profile: String,
    /// The command to quote in the report as the one that produced it.
    #[arg(long, value_name = "TEXT", default_value = "./scripts/bench.sh")]
    pub command: String,
    /// The harness's own command line, one option a line, quoted in the report.
    #[arg(skip)]
    pub invocation: String,
}

impl Settings {
    pub fn lambda(&self) -> Result<&Path, BenchError> {
        required(&self.lambda, "--lambda")
    }

    pub fn aws(&self) -> Result<&Path, BenchError> {
        required(&self.aws, "--aws")
    }

    pub fn events_function(&self) -> Result<&Path, BenchError> {
        required(&self.events_function, "--events-function")
    }
}

/// Paths are made absolute, not canonical, as they are parsed: the baseline runs in its own
/// directory, and a virtualenv's `python` must stay the symlink inside the venv.
fn absolute() -> impl TypedValueParser<Value = PathBuf> {
    PathBufValueParser::new().map(|path| std::path::absolute(&path).unwrap_or(path))
}

/// A path clap requires in the mode that uses it.
fn required<'a>(path: &'a Option<PathBuf>, flag: &str) -> Result<&'a Path, BenchError> {
    let missing = || BenchError::Run(format!("{flag} PATH is required: see --help"));
    path.as_deref().ok_or_else(missing)
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Measured cold-start pairs (after one warm-up pair).
    pub cold_start_runs: usize,
    /// Invalidation durations (s) and runs for the lag comparison.
    pub lag_cases: Vec<(u64, usize)>,
    pub lag_lambda_timeout_s: u64,
    /// Invocations per job are also read from the lag runs of this duration (s).
    pub invocations_from_lag_s: u64,
    /// Extra pipeline runs: invalidation duration (s), function timeout (s), runs.
    pub invocation_cases: Vec<(u64, u64, usize)>,
    pub planning_sizes: Vec<usize>,
    /// The harness's own planning runs per size.
    pub planning_runs: usize,
}

impl Plan {
    /// The report's run: about ten minutes of measurements.
    pub fn full() -> Self {
        Self {
            // Pairs are cheap (half a second) and our few milliseconds are the noisy side.
            cold_start_runs: 15,
            lag_cases: vec![(5, 5), (25, 5), (90, 3)],
            lag_lambda_timeout_s: 900,
            invocations_from_lag_s: 25,
            invocation_cases: vec![(90, 30, 3)],
            planning_sizes: crate::tree::SIZES.to_vec(),
            planning_runs: 9,
        }
    }

    /// CI's run: every code path once, about half a minute (the waiter's 20 s poll sets it).
    pub fn smoke() -> Self {
        Self {
            cold_start_runs: 1,
            lag_cases: vec![(2, 1), (3, 1)],
            lag_lambda_timeout_s: 900,
            invocations_from_lag_s: 3,
            invocation_cases: vec![(8, 6, 1)],
            planning_sizes: vec![1_000, 10_000],
            planning_runs: 3,
        }
    }
}

/// The lag comparison at one invalidation duration; lags in s, medians over the runs.
#[derive(Debug, Clone, Serialize)]
pub struct LagCase {
    pub duration_s: u64,
    /// max(1 s, 10 % of the duration).
    pub target_s: f64,
    pub ours: Vec<OursRun>,
    /// Run `i` ran alongside our run `i`.
    pub waiter: Vec<WaiterRun>,
    pub ours_lag_s: f64,
    pub waiter_lag_s: f64,
    pub ours_calls: f64,
    pub waiter_calls: f64,
    /// Median over the pairs of waiter lag / our lag (`None` if ours was 0 every time).
    pub lag_ratio: Option<f64>,
    pub predicted_ours: Prediction,
    pub predicted_waiter: Prediction,
}

/// Invocations of one pipeline action, medians over its runs.
#[derive(Debug, Clone, Serialize)]
pub struct InvocationCase {
    pub duration_s: u64,
    pub lambda_timeout_s: u64,
    pub runs: Vec<OursRun>,
    pub invocations: f64,
    /// 1 + continuations.
    pub jobs: f64,
    /// From `Completed` to the final PutJobSuccessResult, s.
    pub lag_s: f64,
}

/// The schedules for a 10-minute invalidation.
#[derive(Debug, Clone, Serialize)]
pub struct TenMinutes {
    pub ours: Prediction,
    pub waiter: Prediction,
    pub our_gaps_s: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub smoke: bool,
    pub plan: Plan,
    pub machine: Machine,
    pub load_at_end: String,
    pub cold_start: ColdStartSummary,
    pub lag: Vec<LagCase>,
    pub invocations: Vec<InvocationCase>,
    pub ten_minutes: TenMinutes,
    pub planning: Vec<PlanTiming>,
    pub sizes: Vec<Artefact>,
    pub wall_s: f64,
}

pub async fn run(
    settings: &Settings,
    plan: &Plan,
    progress: &dyn Fn(&str),
) -> Result<Results, BenchError> {
    let started = Instant::now();
    let machine = machine::describe(&settings.python, Some(settings.aws()?));
    progress(&format!("machine: {} × {}", machine.cpus, machine.cpu));
    let cold_start = cold_starts(settings, plan, progress).await?;
    let home = settings.work_dir.join("home");
    crate::create_dir(&home)?;
    let (lag, invocations) = lag_and_invocations(settings, plan, &home, progress).await?;
    progress("planning");
    let planning = planning::measure(
        &plan.planning_sizes,
        plan.planning_runs,
        settings.criterion_dir.as_deref(),
    )?;
    let sizes = size::measure(settings)?;
    let ten = Duration::from_secs(600);
    Ok(Results {
        smoke: settings.smoke,
        plan: plan.clone(),
        machine,
        load_at_end: machine::load_now(),
        cold_start,
        lag,
        invocations,
        ten_minutes: TenMinutes {
            ours: schedule::ours(ten),
            waiter: schedule::waiter(ten),
            our_gaps_s: schedule::our_gaps(ten),
        },
        planning,
        sizes,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// The cold-start pairs (alone, with `--cold-start-only`, a few seconds: enough to compare
/// two builds of the function, each against the same baseline, run after run).
pub async fn cold_starts(
    settings: &Settings,
    plan: &Plan,
    progress: &dyn Fn(&str),
) -> Result<ColdStartSummary, BenchError> {
    check_inputs(settings)?;
    let logs = settings.work_dir.join("logs");
    crate::create_dir(&logs)?;
    progress(&format!(
        "cold start: one warm-up pair, then {} pairs; load {}",
        plan.cold_start_runs,
        machine::load_now()
    ));
    let ours = FunctionCommand {
        program: settings.lambda()?.to_path_buf(),
        ..FunctionCommand::default()
    };
    let python = FunctionCommand {
        program: settings.python.clone(),
        args: ["-m", "awslambdaric", "handler.handler"]
            .map(String::from)
            .to_vec(),
        cwd: Some(settings.baseline_dir.clone()),
        // Lambda's code directory is read-only: no .pyc written next to handler.py.
        extra_env: vec![("PYTHONDONTWRITEBYTECODE".into(), "1".into())],
    };
    cold_start::measure(&ours, &python, plan.cold_start_runs, &logs, progress).await
}

fn check_inputs(settings: &Settings) -> Result<(), BenchError> {
    let checks: [(&'static str, &Path, &'static str); 4] = [
        (
            "cf-invalidate-lambda",
            settings.lambda()?,
            "build it first: cargo build --release --bin cf-invalidate-lambda (scripts/bench.sh does)",
        ),
        (
            "the baseline's Python",
            &settings.python,
            "scripts/bench.sh creates target/bench-venv from bench/python_baseline/requirements.txt",
        ),
        (
            "the AWS CLI",
            settings.aws()?,
            "scripts/bench.sh installs it into target/bench-venv (awscli from PyPI)",
        ),
        (
            "the Python baseline",
            &settings.baseline_dir.join("handler.py"),
            "give --baseline-dir the repository's bench/python_baseline",
        ),
    ];
    crate::require_files(&checks)
}

enum Measured {
    Ours(OursRun),
    Waiter(WaiterRun),
}

/// The lag comparison and the invocation runs, in rounds: round `r` runs, all at once, the
/// `r`-th run of every case that has one (ours and the waiter side by side, each on its own
/// emulator), so that a round lasts as long as its longest case.
async fn lag_and_invocations(
    settings: &Settings,
    plan: &Plan,
    home: &Path,
    progress: &dyn Fn(&str),
) -> Result<(Vec<LagCase>, Vec<InvocationCase>), BenchError> {
    // Duration (s), function timeout (s), runs, and whether the waiter runs beside ours.
    let lag_cases = plan.lag_cases.iter();
    let cases: Vec<(u64, u64, usize, bool)> = lag_cases
        .map(|&(d, runs)| (d, plan.lag_lambda_timeout_s, runs, true))
        .chain(
            plan.invocation_cases
                .iter()
                .map(|&(d, t, runs)| (d, t, runs, false)),
        )
        .collect();
    let rounds = cases.iter().map(|c| c.2).max().unwrap_or(0);
    let (lambda, aws) = (settings.lambda()?, settings.aws()?);
    let (mut ours, mut waiter) = (vec![Vec::new(); cases.len()], vec![Vec::new(); cases.len()]);
    for round in 1..=rounds {
        let mut tasks = tokio::task::JoinSet::new();
        let mut seed = round as u64 * 100;
        for (case, &(duration_s, timeout_s, _, with_waiter)) in cases.iter().enumerate() {
            if cases[case].2 < round {
                continue;
            }
            seed += 2;
            let duration = Duration::from_secs(duration_s);
            let (timeout, lambda) = (Duration::from_secs(timeout_s), lambda.to_path_buf());
            tasks.spawn(async move {
                let run = lag::ours(&lambda, duration, timeout, round, seed).await?;
                Ok::<_, BenchError>((case, Measured::Ours(run)))
            });
            if with_waiter {
                let (aws, home) = (aws.to_path_buf(), home.to_path_buf());
                tasks.spawn(async move {
                    let run = lag::waiter(&aws, &home, duration, round, seed + 1).await?;
                    Ok((case, Measured::Waiter(run)))
                });
            }
        }
        progress(&format!(
            "detection lag and invocations: round {round}/{rounds}, {} runs at once",
            tasks.len()
        ));
        while let Some(joined) = tasks.join_next().await {
            let failed = |e| BenchError::Run(format!("a measurement task failed: {e}"));
            match joined.map_err(failed)?? {
                (case, Measured::Ours(run)) => ours[case].push(run),
                (case, Measured::Waiter(run)) => waiter[case].push(run),
            }
        }
    }
    let lag = plan.lag_cases.iter().zip(ours.iter().zip(&waiter)).map(
        |(&(duration_s, _), (ours, waiter)): (_, (&Vec<OursRun>, &Vec<WaiterRun>))| {
            let ours_lag = of(ours, |r| r.lag_ms as f64 / 1000.0);
            let waiter_lag = of(waiter, |r| r.lag_ms as f64 / 1000.0);
            let duration = Duration::from_secs(duration_s);
            LagCase {
                duration_s,
                target_s: schedule::lag_target(duration).as_secs_f64(),
                ours_lag_s: median_or_nan(&ours_lag),
                waiter_lag_s: median_or_nan(&waiter_lag),
                ours_calls: median_or_nan(&of(ours, |r| r.get_invalidation_calls as f64)),
                waiter_calls: median_or_nan(&of(waiter, |r| r.get_invalidation_calls as f64)),
                lag_ratio: median_ratio(&waiter_lag, &ours_lag),
                predicted_ours: schedule::ours(duration),
                predicted_waiter: schedule::waiter(duration),
                ours: ours.clone(),
                waiter: waiter.clone(),
            }
        },
    );
    let lag: Vec<LagCase> = lag.collect();
    // Invocations per job: those of the lag runs of one duration, then the extra cases.
    let from_lag = plan
        .lag_cases
        .iter()
        .position(|c| c.0 == plan.invocations_from_lag_s);
    let picked = from_lag
        .into_iter()
        .chain(plan.lag_cases.len()..cases.len());
    let invocations = picked
        .map(|case| {
            let runs: Vec<OursRun> = ours[case].clone();
            let pick = |f: fn(&OursRun) -> f64| median_or_nan(&of(&runs, f));
            InvocationCase {
                duration_s: cases[case].0,
                lambda_timeout_s: cases[case].1,
                invocations: pick(|r| r.invocations as f64),
                jobs: pick(|r| r.jobs as f64),
                lag_s: pick(|r| r.lag_ms as f64 / 1000.0),
                runs,
            }
        })
        .collect();
    Ok((lag, invocations))
}

fn of<T>(runs: &[T], pick: impl Fn(&T) -> f64) -> Vec<f64> {
    runs.iter().map(pick).collect()
}

/// NaN for a case without runs: the report prints it as a missing figure.
fn median_or_nan(values: &[f64]) -> f64 {
    median(values).unwrap_or(f64::NAN)
}
