//! Cold start: a fresh process for one job, from spawn to its first `/next` and to its
//! PutJob result, and its peak memory, ours against the Python baseline.

use std::path::Path;
use std::time::{Duration, Instant};

use local_aws::{DistributionConfig, DurationRange, Emulator, EmulatorConfig, JobResult};
use serde::Serialize;

use crate::BenchError;
use crate::process::{FunctionCommand, MeasuredProcess, job_event, lambda_env};
use crate::stats::{median, median_ratio, range};

/// The distribution of the cold-start job; its invalidations are `Completed` at once, so the
/// job measures start-up and one round of calls, not waiting.
pub const DISTRIBUTION: &str = "E2BENCHCOLDSTART";
/// How long a cold start may take before the run is declared broken.
const LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Implementation {
    Ours,
    Python,
}

impl Implementation {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ours => "cf-invalidate-lambda",
            Self::Python => "Python baseline",
        }
    }
}

/// One cold start; times in ms from spawn.
#[derive(Debug, Clone, Serialize)]
pub struct ColdStartSample {
    pub implementation: Implementation,
    /// 1 for the first measured pair.
    pub run: usize,
    /// To the first `GET /runtime/invocation/next`.
    pub to_first_next_ms: f64,
    /// To the job's PutJobSuccessResult.
    pub to_result_ms: f64,
    /// Over the whole life of the process (start-up and the job).
    pub peak_rss_kib: u64,
}

/// Medians of both implementations, and the medians of their ratios pair by pair (baseline
/// ÷ ours).
#[derive(Debug, Clone, Serialize)]
pub struct ColdStartSummary {
    /// Measured pairs (after the warm-up pair).
    pub runs: usize,
    pub samples: Vec<ColdStartSample>,
    pub ours: Medians,
    pub python: Medians,
    pub init_ratio: f64,
    /// Smallest and largest pair ratio, spawn to first `/next`.
    pub init_ratio_range: (f64, f64),
    pub result_ratio: f64,
    pub memory_ratio: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Medians {
    pub to_first_next_ms: f64,
    pub to_result_ms: f64,
    pub peak_rss_kib: f64,
}

/// Runs one warm-up pair (not counted: it brings both programs' files into the page cache),
/// then `runs` pairs, alternating which of the two goes first.
pub async fn measure(
    ours: &FunctionCommand,
    python: &FunctionCommand,
    runs: usize,
    logs: &Path,
    progress: &dyn Fn(&str),
) -> Result<ColdStartSummary, BenchError> {
    for (implementation, command) in [
        (Implementation::Ours, ours),
        (Implementation::Python, python),
    ] {
        let log = logs.join(format!("cold-start-warm-up-{implementation:?}.log"));
        once(implementation, command, 0, &log).await?;
    }
    let mut samples = Vec::new();
    for run in 1..=runs {
        let mut order = [
            (Implementation::Ours, ours),
            (Implementation::Python, python),
        ];
        if run % 2 == 0 {
            order.reverse();
        }
        for (implementation, command) in order {
            let log = logs.join(format!("cold-start-{implementation:?}-{run}.log"));
            let sample = once(implementation, command, run, &log).await?;
            progress(&format!(
                "cold start {run}/{runs} {}: first /next {:.1} ms, PutJob result {:.1} ms, peak RSS {:.1} MiB",
                implementation.label(),
                sample.to_first_next_ms,
                sample.to_result_ms,
                sample.peak_rss_kib as f64 / 1024.0
            ));
            samples.push(sample);
        }
    }
    summarise(runs, samples)
}

fn summarise(runs: usize, samples: Vec<ColdStartSample>) -> Result<ColdStartSummary, BenchError> {
    let series = |who: Implementation, pick: fn(&ColdStartSample) -> f64| -> Vec<f64> {
        let mut of: Vec<&ColdStartSample> =
            samples.iter().filter(|s| s.implementation == who).collect();
        of.sort_by_key(|s| s.run);
        of.into_iter().map(pick).collect()
    };
    let next = |s: &ColdStartSample| s.to_first_next_ms;
    let result = |s: &ColdStartSample| s.to_result_ms;
    let rss = |s: &ColdStartSample| s.peak_rss_kib as f64;
    let medians = |who| -> Option<Medians> {
        Some(Medians {
            to_first_next_ms: median(&series(who, next))?,
            to_result_ms: median(&series(who, result))?,
            peak_rss_kib: median(&series(who, rss))?,
        })
    };
    let missing = || BenchError::Run("no cold start was measured".to_string());
    let (o, p) = (Implementation::Ours, Implementation::Python);
    let init_ratios: Vec<f64> = series(p, next)
        .iter()
        .zip(series(o, next))
        .map(|(p, o)| p / o)
        .collect();
    Ok(ColdStartSummary {
        runs,
        ours: medians(o).ok_or_else(missing)?,
        python: medians(p).ok_or_else(missing)?,
        init_ratio: median_ratio(&series(p, next), &series(o, next)).ok_or_else(missing)?,
        init_ratio_range: range(&init_ratios).ok_or_else(missing)?,
        result_ratio: median_ratio(&series(p, result), &series(o, result)).ok_or_else(missing)?,
        memory_ratio: median_ratio(&series(p, rss), &series(o, rss)).ok_or_else(missing)?,
        samples,
    })
}

/// One cold start on a fresh emulator: the event is queued before the process starts, so its
/// first `/next` is answered at once.
async fn once(
    implementation: Implementation,
    command: &FunctionCommand,
    run: usize,
    log: &Path,
) -> Result<ColdStartSample, BenchError> {
    let emu = Emulator::start(EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DISTRIBUTION)
                .completes_after(DurationRange::fixed(Duration::ZERO)),
        ],
        seed: Some(run as u64 + 1),
        ..EmulatorConfig::default()
    })
    .await?;
    let job_id = emu.create_job(None);
    let parameters = format!(r#"{{"distributionId": "{DISTRIBUTION}", "paths": ["/index.html"]}}"#);
    let event = job_event(&job_id, &emu.account_id(), &parameters);
    let mut invocation = emu.invoke(&event, Duration::from_secs(60));
    let env = lambda_env(&emu.endpoint(), &emu.runtime_api_address());

    let spawned = Instant::now();
    let process = MeasuredProcess::spawn(command, &env, log)?;
    let first_next = async { invocation.started().await.map(|_| spawned.elapsed()) };
    let result = async {
        emu.wait_for_job_result(&job_id, LIMIT)
            .await
            .map(|r| (r, spawned.elapsed()))
    };
    let (first_next, result) = tokio::join!(tokio::time::timeout(LIMIT, first_next), result);
    let reaped = process.kill_and_reap()?;
    emu.shutdown().await;

    let output = || crate::tail(&std::fs::read_to_string(log).unwrap_or_default(), 2000);
    let Ok(Some(first_next)) = first_next else {
        return Err(BenchError::Run(format!(
            "cold start of {} (run {run}): the process never asked for its event within {}s; its output ({}):\n{}",
            implementation.label(),
            LIMIT.as_secs(),
            log.display(),
            output()
        )));
    };
    match result {
        Some((
            JobResult::Succeeded {
                continuation_token: None,
                ..
            },
            at,
        )) => Ok(ColdStartSample {
            implementation,
            run,
            to_first_next_ms: ms(first_next),
            to_result_ms: ms(at),
            peak_rss_kib: reaped,
        }),
        other => Err(BenchError::Run(format!(
            "cold start of {} (run {run}): the job did not end with PutJobSuccessResult (got {:?}); its output ({}):\n{}",
            implementation.label(),
            other.map(|(r, _)| r),
            log.display(),
            output()
        ))),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
