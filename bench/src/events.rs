//! The S3-events comparison: `cf-invalidate-events` behind an SQS queue and an event source
//! mapping, as `infra/events.yaml` deploys it, against the Python sample users copy
//! (`bench/python_events_sample`, invoked by S3 once per notification), the same burst on one
//! local-aws; then our function's peak memory on the largest batch a mapping can hand it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use local_aws::events::{self, Delivery, EventsConfig, EventsReport, Progress};
use local_aws::{DistributionConfig, DurationRange, Emulator, EmulatorConfig, EmulatorHandle};
use serde::Serialize;

use crate::BenchError;
use crate::machine::{self, Machine};
use crate::run::Settings;

/// Peak memory our function must stay under on the largest batch, KiB (32 MiB).
pub const MEMORY_TARGET_KIB: u64 = 32 * 1024;

/// How the comparison runs. Ours is set as `infra/events.yaml` deploys it, except for the
/// times of AWS's that would make a run last minutes, which are scaled down (the report says
/// by how much); times are in ms unless the name says s.
#[derive(Debug, Clone, Serialize)]
pub struct EventsPlan {
    /// Notifications in the burst (uploads, re-uploads and deletes).
    pub uploads: usize,
    /// The emulator's seed: the burst's keys, order and bodies.
    pub seed: u64,
    pub burst_ms: u64,
    /// Invalidations stay `InProgress` between these.
    pub completion_ms: (u64, u64),
    /// Share of generated keys with awkward names (the rest plain, as most of a site's are).
    pub awkward_keys: f64,
    pub batch_size: usize,
    pub batching_window_ms: u64,
    pub concurrency: usize,
    pub function_timeout_s: u64,
    /// The template's 360 s, scaled down to the function timeout, the least Lambda accepts.
    pub visibility_timeout_s: u64,
    pub max_receive_count: u32,
    pub max_paths: usize,
    /// Lambda scales an asynchronous function out by itself; this is the run's choice.
    pub sample_concurrency: usize,
    pub sample_timeout_s: u64,
    /// Before Lambda's first asynchronous retry (about a minute on AWS; the second waits
    /// twice as long).
    pub retry_delay_ms: u64,
    pub memory_batch_size: usize,
    /// Long enough for the whole burst to be queued.
    pub memory_window_ms: u64,
}

impl EventsPlan {
    pub fn full() -> Self {
        Self {
            uploads: 10_000,
            seed: 2026,
            burst_ms: 2_000,
            // On the scale of Lambda's retry delay (1 s here for its 1 minute): 2 to 6 minutes.
            completion_ms: (2_000, 6_000),
            awkward_keys: 0.1,
            batch_size: 1_000,
            batching_window_ms: 1_000,
            concurrency: 2,
            function_timeout_s: 60,
            visibility_timeout_s: 60,
            max_receive_count: 10,
            max_paths: cf_invalidate::params::DEFAULT_MAX_PATHS,
            sample_concurrency: 16,
            sample_timeout_s: 10,
            retry_delay_ms: 1_000,
            memory_batch_size: 10_000,
            memory_window_ms: 5_000,
        }
    }

    /// CI's run: every code path once, a few seconds.
    pub fn smoke() -> Self {
        Self {
            uploads: 300,
            burst_ms: 300,
            completion_ms: (300, 1_000),
            batch_size: 100,
            batching_window_ms: 200,
            sample_concurrency: 2,
            retry_delay_ms: 200,
            memory_window_ms: 500,
            ..Self::full()
        }
    }

    /// At most this many invalidations per distribution: one per full batch.
    pub fn invalidations_target(&self) -> u64 {
        self.uploads.div_ceil(self.batch_size) as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Ours,
    Sample,
    Memory,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ours => "cf-invalidate-events",
            Self::Sample => "Python sample",
            Self::Memory => "cf-invalidate-events, largest batch",
        }
    }

    /// Its two distributions, new on the emulator, so that a run meets none of another's
    /// invalidations in progress.
    fn distributions(self) -> [&'static str; 2] {
        match self {
            Self::Ours => ["E2BENCHOURSA", "E2BENCHOURSB"],
            Self::Sample => ["E2BENCHSAMPLEA", "E2BENCHSAMPLEB"],
            Self::Memory => ["E2BENCHMEMORYA", "E2BENCHMEMORYB"],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SideResult {
    pub side: Side,
    pub invalidations_per_distribution: BTreeMap<String, u64>,
    pub most_paths_in_one_invalidation: u64,
    /// Uploads and deletes, times distributions, expected to be invalidated.
    pub key_events: u64,
    /// Of those, not covered by an invalidation created after their notification.
    pub stale_key_events: u64,
    /// From a notification to the completion of its covering invalidation, the longest;
    /// `None` when a key stays stale.
    pub last_key_covered_ms: Option<u64>,
    /// From the start of the run to the queue drained and the processes stopped.
    pub wall_ms: u64,
    pub report: EventsReport,
}

impl SideResult {
    pub fn most_invalidations_on_one_distribution(&self) -> u64 {
        self.invalidations_per_distribution
            .values()
            .copied()
            .max()
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EventsResults {
    pub smoke: bool,
    pub plan: EventsPlan,
    pub machine: Machine,
    pub load_at_end: String,
    pub ours: SideResult,
    pub sample: SideResult,
    /// Ours again, with one batch as large as a mapping allows, for its peak memory.
    pub memory: SideResult,
    pub wall_s: f64,
}

/// Runs the three runs on one emulator, printing progress on stderr.
pub async fn run(
    settings: &Settings,
    plan: &EventsPlan,
    progress: &dyn Fn(&str),
) -> Result<EventsResults, BenchError> {
    let started = Instant::now();
    let function = settings.events_function()?;
    check_inputs(settings, function)?;
    let machine = machine::describe(&settings.python, None);
    progress(&format!(
        "S3 events: {} uploads, seed {}, load {}",
        plan.uploads, plan.seed, machine.load_at_start
    ));
    let emu = Emulator::start(EmulatorConfig {
        default_completion: DurationRange::between(
            Duration::from_millis(plan.completion_ms.0),
            Duration::from_millis(plan.completion_ms.1),
        ),
        seed: Some(plan.seed),
        ..EmulatorConfig::default()
    })
    .await?;
    let play = |side| play(&emu, config(settings, function, plan, side), side, progress);
    let runs = async {
        Ok::<_, BenchError>([
            play(Side::Ours).await?,
            play(Side::Sample).await?,
            play(Side::Memory).await?,
        ])
    };
    let runs = runs.await;
    emu.shutdown().await;
    let [ours, sample, memory] = runs?;
    Ok(EventsResults {
        smoke: settings.smoke,
        plan: plan.clone(),
        machine,
        load_at_end: machine::load_now(),
        ours,
        sample,
        memory,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// The same burst for every run (the emulator's seed draws it); ours delivered as
/// `infra/events.yaml` deploys it (the memory run: one large batch, one process); the sample
/// invoked by S3 once per notification, its distributions in its environment.
fn config(settings: &Settings, function: &Path, plan: &EventsPlan, side: Side) -> EventsConfig {
    let [a, b] = side.distributions();
    let ms = Duration::from_millis;
    let program = if side == Side::Sample {
        &settings.python
    } else {
        function
    };
    let mut c = EventsConfig::new(program);
    c.uploads = plan.uploads;
    c.burst_duration = ms(plan.burst_ms);
    c.seed = Some(plan.seed);
    c.awkward_keys = plan.awkward_keys;
    if side == Side::Sample {
        c.function_args = ["-m", "awslambdaric", "handler.handler"]
            .map(String::from)
            .to_vec();
        // The sample reads its environment; the parameters tell the coverage check its targets.
        c.parameters = Some(serde_json::json!({ "distributionIds": [a, b] }).to_string());
        let sample_dir = settings.events_sample_dir.display().to_string();
        c.env = [
            ("DISTRIBUTION_ID", a),
            ("SECOND_DISTRIBUTION_ID", b),
            ("PYTHONPATH", &sample_dir),
            // Lambda's code directory is read-only: no .pyc written next to handler.py.
            ("PYTHONDONTWRITEBYTECODE", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        c.function_name = "invalidate-on-upload".into();
        c.delivery = Delivery::Direct;
        c.concurrency = plan.sample_concurrency;
        c.function_timeout = Duration::from_secs(plan.sample_timeout_s);
        c.retry_delay = ms(plan.retry_delay_ms);
        return c;
    }
    let parameters =
        serde_json::json!({ "distributionIds": [a, b], "directoryIndex": "index.html" });
    c.parameters = Some(parameters.to_string());
    c.delivery = Delivery::Sqs;
    c.function_timeout = Duration::from_secs(plan.function_timeout_s);
    c.visibility_timeout = Duration::from_secs(plan.visibility_timeout_s);
    c.max_receive_count = Some(plan.max_receive_count);
    (c.batch_size, c.batching_window, c.concurrency) = match side {
        Side::Memory => (plan.memory_batch_size, ms(plan.memory_window_ms), 1),
        _ => (
            plan.batch_size,
            ms(plan.batching_window_ms),
            plan.concurrency,
        ),
    };
    c
}

async fn play(
    emu: &EmulatorHandle,
    mut config: EventsConfig,
    side: Side,
    progress: &dyn Fn(&str),
) -> Result<SideResult, BenchError> {
    let ids = side.distributions();
    for id in ids {
        emu.add_distribution(DistributionConfig::new(id));
    }
    let label = side.label();
    progress(&format!("S3 events: {label}"));
    let started = Instant::now();
    config.progress = Some(Progress(Arc::new(move |line: &str| {
        eprintln!(
            "[{:>6.1}s]   {label}: {line}",
            started.elapsed().as_secs_f64()
        );
    })));
    let report = events::run_on(config, emu).await?;
    let wall_ms = started.elapsed().as_millis() as u64;
    let mut invalidations_per_distribution = BTreeMap::new();
    let mut most_paths = 0;
    for id in ids {
        let created = emu.invalidations(id);
        invalidations_per_distribution.insert(id.to_string(), created.len() as u64);
        most_paths = created
            .iter()
            .map(|i| i.paths.len() as u64)
            .fold(most_paths, u64::max);
    }
    let coverage = &report.coverage;
    let result = SideResult {
        side,
        invalidations_per_distribution,
        most_paths_in_one_invalidation: most_paths,
        key_events: coverage.expected,
        stale_key_events: coverage.uncovered,
        last_key_covered_ms: if coverage.uncovered == 0 {
            coverage.latency_max_ms
        } else {
            None
        },
        wall_ms,
        report,
    };
    progress(&format!(
        "  {label}: {} of {} key events stale, {:.1} s",
        result.stale_key_events,
        result.key_events,
        wall_ms as f64 / 1000.0
    ));
    if result.key_events == 0 || result.report.invocations.total == 0 {
        return Err(BenchError::Run(format!(
            "S3 events, {label}: the run invoked nothing or expected no key ({} invocations, {} key events); the driver's report:\n{}\nthe function's last lines:\n{}",
            result.report.invocations.total,
            result.key_events,
            result.report.render(),
            result.report.function_output_tail.join("\n")
        )));
    }
    Ok(result)
}

fn check_inputs(settings: &Settings, function: &Path) -> Result<(), BenchError> {
    let checks: [(&'static str, &Path, &'static str); 3] = [
        (
            "cf-invalidate-events",
            function,
            "build it first: cargo build --release --bin cf-invalidate-events (scripts/bench.sh --events does)",
        ),
        (
            "the sample's Python",
            &settings.python,
            "scripts/bench.sh creates target/bench-venv from bench/python_baseline/requirements.txt",
        ),
        (
            "the Python sample",
            &settings.events_sample_dir.join("handler.py"),
            "give --events-sample-dir the repository's bench/python_events_sample",
        ),
    ];
    crate::require_files(&checks)
}
