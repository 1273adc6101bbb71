//! One benchmark run from start to report: what to measure (full or smoke), in which order,
//! and the results gathered for the report, the chart and the JSON file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// Where everything is and where the results go.
#[derive(Debug, Clone)]
pub struct Settings {
    pub smoke: bool,
    pub lambda: PathBuf,
    pub cli: Option<PathBuf>,
    /// A Python with awslambdaric and boto3.
    pub python: PathBuf,
    pub aws: PathBuf,
    pub baseline_dir: PathBuf,
    /// Scratch space: logs, the harness's zip, the CLI's HOME.
    pub work_dir: PathBuf,
    /// The cargo target directory (for the release's assets in `dist/`).
    pub target_dir: PathBuf,
    /// criterion's output directory, when `cargo bench --bench plan` ran first.
    pub criterion_dir: Option<PathBuf>,
    pub report: PathBuf,
    pub chart: PathBuf,
    /// The cargo profile the binaries were built with (`release`, `debug`).
    pub profile: String,
    /// The command that produced the run, quoted in the report.
    pub command: String,
    /// The harness's own command line, one option a line, quoted in the report.
    pub invocation: String,
}

/// What a run measures.
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

/// Everything measured.
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

/// Measures everything in `plan`.
pub async fn run(
    settings: &Settings,
    plan: &Plan,
    progress: &dyn Fn(&str),
) -> Result<Results, BenchError> {
    let started = Instant::now();
    let machine = machine::describe(&settings.python, Some(&settings.aws));
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
        program: settings.lambda.clone(),
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
            &settings.lambda,
            "build it first: cargo build --release --bin cf-invalidate-lambda (scripts/bench.sh does)",
        ),
        (
            "the baseline's Python",
            &settings.python,
            "scripts/bench.sh creates target/bench-venv from bench/python_baseline/requirements.txt",
        ),
        (
            "the AWS CLI",
            &settings.aws,
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
            let (timeout, lambda) = (Duration::from_secs(timeout_s), settings.lambda.clone());
            tasks.spawn(async move {
                let run = lag::ours(&lambda, duration, timeout, round, seed).await?;
                Ok::<_, BenchError>((case, Measured::Ours(run)))
            });
            if with_waiter {
                let (aws, home) = (settings.aws.clone(), home.to_path_buf());
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
    let seconds = |ms: i64| ms as f64 / 1000.0;
    let median_of = |values: &mut dyn Iterator<Item = f64>| {
        median(&values.collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    let lag = plan.lag_cases.iter().zip(ours.iter().zip(&waiter)).map(
        |(&(duration_s, _), (ours, waiter)): (_, (&Vec<OursRun>, &Vec<WaiterRun>))| {
            let ours_lag: Vec<f64> = ours.iter().map(|r| seconds(r.lag_ms)).collect();
            let waiter_lag: Vec<f64> = waiter.iter().map(|r| seconds(r.lag_ms)).collect();
            let duration = Duration::from_secs(duration_s);
            LagCase {
                duration_s,
                target_s: schedule::lag_target(duration).as_secs_f64(),
                ours_lag_s: median(&ours_lag).unwrap_or(f64::NAN),
                waiter_lag_s: median(&waiter_lag).unwrap_or(f64::NAN),
                ours_calls: median_of(&mut ours.iter().map(|r| r.get_invalidation_calls as f64)),
                waiter_calls: median_of(
                    &mut waiter.iter().map(|r| r.get_invalidation_calls as f64),
                ),
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
            let pick = |f: fn(&OursRun) -> f64| median_of(&mut runs.iter().map(f));
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
