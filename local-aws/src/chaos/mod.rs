//! Chaos runs: hundreds of simulated pipeline jobs, several at a time, each with its own
//! emulator, random distributions, UserParameters and faults, checked against the invariants
//! of an action that never hangs, never duplicates an invalidation and never lies.
//!
//! ```no_run
//! # async fn demo() {
//! use local_aws::chaos::{self, ChaosConfig};
//! let mut config = ChaosConfig::new("target/debug/cf-invalidate-lambda");
//! config.jobs = 30;
//! let report = chaos::run(config).await;
//! println!("{}", report.render());
//! assert!(report.holds());
//! # }
//! ```

mod report;
mod scenario;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use report::{ChaosJob, ChaosReport, Counters, Figures, Invariant};
pub use scenario::{Cause, Expected, PLANTED, Scenario, ScenarioDistribution};

use crate::duration::DurationRange;

/// Called with each job as it ends (for progress lines).
#[derive(Clone)]
pub struct JobObserver(pub Arc<dyn Fn(&ChaosJob) + Send + Sync>);

impl std::fmt::Debug for JobObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobObserver")
    }
}

/// How to run the chaos: the `chaos` command's flags, and the mix each job is drawn from.
/// Build with [`ChaosConfig::new`] and change the public fields.
#[derive(Debug, Clone, clap::Args)]
pub struct ChaosConfig {
    /// The function executable: the Lambda `bootstrap` (e.g. target/debug/cf-invalidate-lambda).
    #[arg(long, value_name = "PATH")]
    pub function: PathBuf,

    /// An argument for the function executable. Repeat for several.
    #[arg(long = "function-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub function_args: Vec<String>,

    /// How many pipeline jobs to run.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub jobs: u32,

    /// How many jobs run at the same time (each runs its own emulator and function process).
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub concurrency: usize,

    /// Seed every job is drawn from; the same seed draws the same jobs.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// Every this many jobs, one gets a planted cause with a known outcome, in the order of
    /// [`PLANTED`].
    #[arg(skip = 10u32)]
    pub planted_every: u32,
    /// How long invalidations take, drawn per distribution.
    #[arg(skip = range(500, 8_000))]
    pub completion: DurationRange,
    /// The function timeout, drawn per job: continuations and deadline kills happen in every
    /// job.
    #[arg(skip = range(4_000, 8_000))]
    pub lambda_timeout: DurationRange,
    /// Lambda's retry delay and the reinvoke delay, drawn per job (for Lambda's 1-2 minutes
    /// and CodePipeline's pause).
    #[arg(skip = range(100, 300))]
    pub delays: DurationRange,
    /// CodePipeline's no-reply timeout, scaled down from 20 minutes: far more than three
    /// deliveries of one event can take.
    #[arg(skip = Duration::from_secs(90))]
    pub no_reply_timeout: Duration,
    /// The longest budget of a job: a job's budget is its `timeoutMinutes` plus one minute,
    /// at most this.
    #[arg(skip = Duration::from_secs(300))]
    pub max_budget: Duration,
    /// The CloudFront fault mix of every job without a planted outage: about 30 % of calls
    /// fail transiently.
    #[arg(skip = "cloudfront.unavailable=0.1,cloudfront.throttle=0.1,cloudfront.drop=0.1,cloudfront.drop-after=0.05".to_string())]
    pub cloudfront_transient: String,
    /// The kill rate of the jobs drawn to have kills (a kill drawn for a moment after the
    /// invocation ended does nothing).
    #[arg(skip = 0.35)]
    pub kill_rate: f64,
    /// The duplicate delivery rate of the jobs drawn to have duplicates.
    #[arg(skip = 0.5)]
    pub duplicate_delivery_rate: f64,
    /// The rate of `ThrottlingException` on CodePipeline calls in the jobs drawn to have
    /// throttling (about half).
    #[arg(skip = 0.15)]
    pub codepipeline_throttle: f64,
    /// The longest burst of `ThrottlingException` in a row on the final report, in the jobs
    /// drawn to have one (about a quarter; each draws 3 to this many). Longer than an SDK's
    /// default retries, so the function must keep retrying itself.
    #[arg(skip = 5u32)]
    pub final_report_throttle_burst: u32,
    /// The share of jobs run in the strict CallerReference mode, where a reused reference is
    /// refused even with the same paths.
    #[arg(skip = 0.5)]
    pub strict_caller_reference_share: f64,
    #[arg(skip)]
    pub on_job: Option<JobObserver>,
}

fn range(min_ms: u64, max_ms: u64) -> DurationRange {
    DurationRange::between(Duration::from_millis(min_ms), Duration::from_millis(max_ms))
}

impl ChaosConfig {
    /// A run of `function` with the defaults above.
    pub fn new(function: impl Into<PathBuf>) -> Self {
        Self {
            function: function.into(),
            ..crate::clap_defaults(&["--function", "-"])
        }
    }

    /// Every job of the run, in index order.
    pub fn scenarios(&self) -> Vec<Scenario> {
        (1..=self.jobs).map(|i| Scenario::draw(self, i)).collect()
    }
}

/// Runs every job, `concurrency` at a time, and checks the invariants. Needs a Tokio runtime
/// with timers, I/O and process support. Jobs with a planted cause that lasts about a minute
/// start first, so that they overlap the others.
pub async fn run(config: ChaosConfig) -> ChaosReport {
    let started = std::time::Instant::now();
    let mut scenarios = config.scenarios();
    scenarios.sort_by_key(|s| (!s.cause.is_long(), s.index));
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut running = tokio::task::JoinSet::new();
    for scenario in scenarios {
        // Jobs start in this order, each as soon as one of the `concurrency` slots is free.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let config = config.clone();
        running.spawn(async move {
            let job = run_one(&config, scenario).await;
            drop(slot);
            if let Some(JobObserver(observer)) = &config.on_job {
                observer(&job);
            }
            job
        });
    }
    let mut jobs = Vec::new();
    while let Some(job) = running.join_next().await {
        jobs.extend(job.ok());
    }
    jobs.sort_by_key(|j| j.scenario.index);
    ChaosReport::new(&config, jobs, started.elapsed())
}

async fn run_one(config: &ChaosConfig, scenario: Scenario) -> ChaosJob {
    let pipeline = match scenario.pipeline_config(&config.function, &config.function_args) {
        Ok(p) => p,
        Err(e) => return ChaosJob::not_run(scenario, format!("its flags do not parse: {e}")),
    };
    match crate::pipeline::run(pipeline).await {
        Ok(report) => ChaosJob::evaluate(scenario, &report),
        Err(e) => ChaosJob::not_run(scenario, e.to_string()),
    }
}
