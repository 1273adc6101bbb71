//! The events driver: a burst of S3 uploads and deletes, their notifications on an emulated
//! SQS queue, and an event source mapping that invokes the function under test through
//! local-aws's Lambda Runtime API (or, direct, one asynchronous invocation per notification);
//! then a report that checks, from CloudFront's invalidations alone, that every key got
//! invalidated after its upload, and, where a distribution has an edge, that a viewer gets
//! every key's newest version through it. `burst` makes the events and messages, `queue` is
//! SQS, `mapping` polls and invokes, `edge` writes the burst to the origin bucket and reads it
//! back as a viewer, `report` counts and checks, `config` says how a run goes.

mod burst;
mod config;
mod edge;
mod mapping;
mod queue;
mod report;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

pub use burst::{
    BodyShape, ObjectChange, ObjectEvent, form_encode_key, parse_keys, path_encode_key,
};
pub use config::{
    ConfigError, CoverageParameters, DEFAULT_DISTRIBUTION, Delivery, EventsConfig, MAX_BATCH_SIZE,
    MAX_BATCHING_WINDOW, MAX_PAYLOAD_BYTES, Progress,
};
pub use edge::{EdgeCheck, EdgeError, EdgeView, Newest, Viewed, view};
pub use mapping::{BatchAnswer, BatchRule, Rejection, read_batch_answer};
pub use queue::{DeadLetter, QueueCounts};
// The one draw from a list, nearest-rank percentile and count list, which chaos runs share.
pub(crate) use burst::pick;
pub use report::{
    CloudFrontCounts, Coverage, EventCounts, EventsReport, FaultCounts, InvocationCounts,
    UncoveredKey, Violation, WronglyDeadLettered, path_covers,
};
pub(crate) use report::{listed, percentile};

use crate::clock::duration_ms;
use crate::cloudfront::{ConnectionMode, DistributionConfig};
use crate::faults::Api;
use crate::pipeline::config::{LambdaSettings, lambda_env};
use crate::pipeline::function::{FunctionProcess, SpawnSpec};
use crate::pipeline::{PipelineError, find_function};
use crate::rng::SeededRng;
use crate::server::{Emulator, EmulatorConfig, EmulatorError, EmulatorHandle};
use mapping::{MappingSettings, Slot, World, lock};
use queue::{Queue, QueueSettings};

/// How long a run may take in all before it stops with what is left (reported).
pub const TIME_LIMIT: Duration = Duration::from_secs(15 * 60);

/// The run could not be carried out (a usage or environment problem, not a broken invariant).
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Function(#[from] PipelineError),
    /// The emulator (or an execution environment's listener) did not start.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// The burst could not be written to the origin bucket, or read back through an edge.
    #[error(transparent)]
    Edge(#[from] EdgeError),
}

/// Runs the events on an emulator of its own (its distributions, faults and seed from the
/// config) and reports. Needs a Tokio runtime with timers, I/O and processes.
pub async fn run(config: EventsConfig) -> Result<EventsReport, EventsError> {
    let config = checked(config)?;
    let emu = Emulator::start(emulator_config(&config)).await?;
    let report = play(config, &emu).await;
    emu.shutdown().await;
    report
}

/// Runs the events on an emulator the caller started and keeps; the report covers this run
/// alone (its calls and invalidations). The world (distributions, faults, seed) is the
/// emulator's: the config's world fields are not used.
pub async fn run_on(
    config: EventsConfig,
    emu: &EmulatorHandle,
) -> Result<EventsReport, EventsError> {
    let config = checked(config)?;
    play(config, emu).await
}

/// The distributions and tenants the parameters name; when they name none, every
/// distribution of the emulator.
fn coverage_targets(params: &CoverageParameters, emu: &EmulatorHandle) -> Vec<String> {
    let named = params.distribution_ids.iter();
    let targets: Vec<String> = (named.chain(&params.distribution_tenant_ids))
        .cloned()
        .collect();
    if targets.is_empty() {
        emu.distributions().into_iter().map(|d| d.id).collect()
    } else {
        targets
    }
}

fn emulator_config(config: &EventsConfig) -> EmulatorConfig {
    EmulatorConfig {
        distributions: distributions(config),
        distribution_tenants: config.distribution_tenants.clone(),
        default_completion: config.default_completion,
        faults: config.faults.clone(),
        seed: config.seed,
        region: config.region.clone(),
        function_name: config.function_name.clone(),
        ..EmulatorConfig::default()
    }
}

fn distributions(config: &EventsConfig) -> Vec<DistributionConfig> {
    let declared = [&config.distributions, &config.multi_tenant_distributions];
    let all: Vec<DistributionConfig> = declared.into_iter().flatten().cloned().collect();
    let all = if all.is_empty() && config.distribution_tenants.is_empty() {
        vec![DistributionConfig::new(DEFAULT_DISTRIBUTION)]
    } else {
        all
    };
    // `--edge`: an origin for each distribution that can have one (tenants have no edge).
    all.into_iter()
        .map(|d| match d.connection_mode {
            ConnectionMode::TenantOnly => d,
            _ if !config.edge || d.origin.is_some() => d,
            _ => d.origin(config.bucket.clone()),
        })
        .collect()
}

/// The parameters the function gets: as given, or naming the run's first distribution.
fn parameters_text(config: &EventsConfig) -> String {
    match &config.parameters {
        Some(p) => p.clone(),
        None => {
            let id = distributions(config)
                .into_iter()
                .find(|d| d.connection_mode != ConnectionMode::TenantOnly)
                .map_or_else(|| DEFAULT_DISTRIBUTION.to_string(), |d| d.id);
            serde_json::json!({ "distributionId": id }).to_string()
        }
    }
}

/// The config, checked, with its keys file read and its function found.
fn checked(mut config: EventsConfig) -> Result<EventsConfig, EventsError> {
    if let Some(path) = &config.keys_file {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Keys(format!("cannot read --keys file '{shown}': {e}")))?;
        let keys = parse_keys(&text)
            .map_err(|e| ConfigError::Keys(format!("--keys file '{shown}': {e}")))?;
        config.keys = Some(keys);
    }
    if let Some(rate) = config.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(ConfigError::Rate(rate.to_string()).into());
        }
        let count = config.keys.as_ref().map_or(config.uploads, Vec::len);
        config.burst_duration = Duration::from_secs_f64(count as f64 / rate);
    }
    if !(1..=MAX_BATCH_SIZE).contains(&config.batch_size) {
        return Err(ConfigError::BatchSize(config.batch_size).into());
    }
    if config.delivery == Delivery::Sqs
        && config.batch_size > 10
        && config.batching_window.is_zero()
    {
        return Err(ConfigError::BatchNeedsWindow(config.batch_size).into());
    }
    if config.batching_window > MAX_BATCHING_WINDOW {
        return Err(ConfigError::BatchingWindow(crate::duration::format_exact(
            config.batching_window,
        ))
        .into());
    }
    for (flag, zero) in [
        ("--concurrency", config.concurrency == 0),
        ("--function-timeout", config.function_timeout.is_zero()),
        ("--visibility-timeout", config.visibility_timeout.is_zero()),
    ] {
        if zero {
            return Err(ConfigError::Zero(flag).into());
        }
    }
    if config.delivery == Delivery::Sqs && config.visibility_timeout < config.function_timeout {
        return Err(ConfigError::VisibilityBelowTimeout {
            visibility: crate::duration::format_exact(config.visibility_timeout),
            function: crate::duration::format_exact(config.function_timeout),
        }
        .into());
    }
    if config.keys.is_none() && config.uploads == 0 {
        return Err(ConfigError::NoEvents.into());
    }
    CoverageParameters::parse(&parameters_text(&config))?;
    config.function = find_function(&config.function)?;
    Ok(config)
}

async fn play(config: EventsConfig, emu: &EmulatorHandle) -> Result<EventsReport, EventsError> {
    let clock = emu.clock().clone();
    let started_ms = clock.elapsed_ms();
    let requests_before = emu.request_log().len();
    let invalidations_before: BTreeSet<String> =
        emu.all_invalidations().into_iter().map(|i| i.id).collect();
    let parameters = parameters_text(&config);
    let coverage_parameters = CoverageParameters::parse(&parameters)?;
    let seed = emu.seed();
    let fault_spec = emu.faults().to_string();

    // The burst and the message of each event.
    let mut rng = SeededRng::with_stream(seed, 21);
    let key_prefix = config
        .key_prefix
        .as_ref()
        .unwrap_or(&coverage_parameters.key_prefix);
    let mut events = burst::make_burst(&config, key_prefix, &mut rng);
    let targets = coverage_targets(&coverage_parameters, emu);
    let origin = edge::Origin::prepare(
        emu,
        &config.bucket,
        &targets,
        &coverage_parameters,
        &mut events,
        seed,
    )?
    .map(Arc::new);
    if let Some(origin) = &origin {
        origin.warm(&events, emu).await;
    }
    let bucket = burst::Bucket {
        name: config.bucket.clone(),
        region: config.region.clone(),
        account_id: emu.account_id(),
    };
    let bodies: Vec<(Duration, String)> = events
        .iter()
        .map(|e| {
            let at = mapping::wall_at(&clock, e.at);
            let eventbridge = match config.body_shape {
                BodyShape::S3 => false,
                BodyShape::EventBridge => true,
                BodyShape::Mixed => rng.chance(0.5),
            };
            let body = if eventbridge {
                bucket.eventbridge_event(e, at, &mut rng)
            } else {
                bucket.s3_notification(e, at, &mut rng)
            };
            (e.at, body.to_string())
        })
        .collect();
    let test_event = (config.test_event && config.delivery == Delivery::Sqs)
        .then(|| bucket.test_event(clock.wall(), &mut rng).to_string());

    // The queue (for direct delivery: Lambda's asynchronous event queue, three attempts).
    let (visibility, max_receive_count, duplicate_within) = match config.delivery {
        Delivery::Sqs => {
            let visibility = config.visibility_timeout;
            (visibility, config.max_receive_count, visibility)
        }
        Delivery::Direct => {
            let timeout = config.function_timeout;
            (timeout + INIT_AND_GRACE, Some(3), timeout)
        }
    };
    let queue_settings = QueueSettings {
        visibility_timeout_ms: duration_ms(visibility),
        max_receive_count,
        duplicate_rate: config.duplicate_rate,
        duplicate_within_ms: duration_ms(duplicate_within),
    };
    let world = Arc::new(Mutex::new(World {
        queue: Queue::new(queue_settings, SeededRng::with_stream(seed, 22)),
        producer_done: false,
        invocations: InvocationCounts::default(),
        faults: FaultCounts::default(),
        typical_ms: 20.0,
        rng: SeededRng::with_stream(seed, 23),
        gave_up: false,
    }));
    let queue_arn = format!(
        "arn:aws:sqs:{}:{}:cf-invalidate-events",
        config.region,
        emu.account_id()
    );
    let settings = Arc::new(MappingSettings {
        config: config.clone(),
        queue_arn,
        time_limit: Instant::now() + TIME_LIMIT,
        clock: clock.clone(),
    });

    // One environment and process per concurrent invocation.
    let mut extra_env = config.env.clone();
    extra_env.retain(|(k, _)| k != "CF_INVALIDATE_PARAMETERS");
    extra_env.insert(
        0,
        ("CF_INVALIDATE_PARAMETERS".to_string(), parameters.clone()),
    );
    let mut pollers = Vec::with_capacity(config.concurrency);
    for _ in 0..config.concurrency {
        let env = emu.open_environment().await?;
        let spec = SpawnSpec {
            program: config.function.clone(),
            args: config.function_args.clone(),
            env: lambda_env(
                &LambdaSettings {
                    endpoint: emu.endpoint(),
                    runtime_api: env.runtime_api_address(),
                    function_name: &config.function_name,
                    memory_size: 128,
                    region: &config.region,
                },
                &extra_env,
            ),
        };
        let slot = Slot {
            env,
            process: FunctionProcess::new(spec, clock.clone(), None),
        };
        pollers.push(tokio::spawn(mapping::poll(
            slot,
            world.clone(),
            settings.clone(),
        )));
    }
    let producer = tokio::spawn(mapping::produce(
        bodies,
        test_event,
        world.clone(),
        clock.clone(),
        origin.clone(),
    ));

    // Progress until the pollers are done.
    let progress = config.progress.clone().map(|say| {
        let world = world.clone();
        let clock = clock.clone();
        let total = events.len();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let line = {
                    let w = lock(&world);
                    let q = w.queue.counts();
                    format!(
                        "+{:.1}s sent {}/{total}, in queue {}, received {}, deleted {}, dead-lettered {}, invocations {}",
                        clock.elapsed_ms().saturating_sub(started_ms) as f64 / 1000.0,
                        q.sent,
                        w.queue.len(),
                        q.received,
                        q.deleted,
                        q.dead_lettered,
                        w.invocations.total
                    )
                };
                (say.0)(&line);
            }
        })
    });
    let sent_ms = producer.await.unwrap_or_default();
    let burst_ms = clock.elapsed_ms().saturating_sub(started_ms);
    let mut output = Vec::new();
    let mut spawn_error = None;
    let mut function_peak_rss_kib: Option<u64> = None;
    for poller in pollers {
        if let Ok((mut slot, error)) = poller.await {
            if spawn_error.is_none() {
                spawn_error = error;
            }
            output.extend(slot.process.finish().await);
            function_peak_rss_kib = function_peak_rss_kib.max(slot.process.peak_rss_kib());
        }
    }
    if let Some(p) = progress {
        p.abort();
    }
    if let Some(source) = spawn_error {
        let path = config.function.clone();
        return Err(PipelineError::Spawn { path, source }.into());
    }
    let drained_ms = clock.elapsed_ms().saturating_sub(started_ms);

    // The report.
    let requests: Vec<_> = emu
        .request_log()
        .into_iter()
        .skip(requests_before)
        .collect();
    let invalidations: Vec<_> = emu
        .all_invalidations()
        .into_iter()
        .filter(|i| !invalidations_before.contains(&i.id))
        .collect();
    // Coverage is counted from the start of the run's clock, as the events are.
    let sent_ms: Vec<Option<u64>> = sent_ms.into_iter().collect();
    let coverage = report::check_coverage(
        &coverage_parameters,
        &targets,
        &events,
        &sent_ms,
        &invalidations,
    );
    let edge = match &origin {
        Some(origin) => {
            let limit = settings.time_limit;
            Some(
                origin
                    .finish(&events, &sent_ms, &invalidations, limit)
                    .await?,
            )
        }
        None => None,
    };

    let w = lock(&world);
    let (dead_count, wrongly_dead_lettered) =
        report::wrongly_dead_lettered(&coverage_parameters, w.queue.dead_letters());
    let violations = [
        (coverage.uncovered > 0).then_some(Violation::UncoveredKeys {
            count: coverage.uncovered,
        }),
        (dead_count > 0).then_some(Violation::DeadLetteredEvents { count: dead_count }),
        (edge.as_ref().filter(|e| e.stale > 0)).map(|e| Violation::StaleAtEdge { count: e.stale }),
    ];
    let q = w.queue.counts();
    let mut faults = FaultCounts {
        spec: fault_spec,
        duplicates_planted: q.duplicates_planted,
        duplicates_delivered: q.duplicates_delivered,
        ..w.faults.clone()
    };
    let cloudfront = CloudFrontCounts::of(&invalidations, &requests, &mut faults.injected);
    faults.never_fired = planted_kinds(emu)
        .into_iter()
        .filter(|name| !faults.injected.contains_key(name))
        .collect();
    let test_event = config.test_event && config.delivery == Delivery::Sqs;
    let events = EventCounts::of(&events, &coverage_parameters.key_prefix, test_event);
    let tail = output.len().saturating_sub(20);
    let function_output_tail = output[tail..]
        .iter()
        .map(|l| format!("[process {}] {}", l.process, l.text))
        .collect();
    Ok(EventsReport {
        seed,
        delivery: config.delivery,
        parameters,
        coverage_parameters,
        events,
        messages: q.clone(),
        invocations: w.invocations.clone(),
        faults,
        cloudfront,
        coverage,
        edge,
        wrongly_dead_lettered,
        violations: violations.into_iter().flatten().collect(),
        burst_ms,
        drained_ms,
        duration_ms: clock.elapsed_ms().saturating_sub(started_ms),
        gave_up: w.gave_up,
        function_output_tail,
        function_peak_rss_kib,
    })
}

/// Lambda's init allowance and the deadline grace: a direct invocation's message stays
/// hidden this much longer than the function timeout, so it never comes back while it runs.
const INIT_AND_GRACE: Duration = Duration::from_secs(11);

/// The `api.kind` names of the faults in force, as the report counts them: every API that
/// takes faults, S3 included (only a run with an edge calls S3, to write the burst).
fn planted_kinds(emu: &EmulatorHandle) -> Vec<String> {
    let faults = emu.faults();
    let mut out = Vec::new();
    for api in [Api::CloudFront, Api::CodePipeline, Api::S3] {
        for kind in faults.for_api(api).map(|f| f.planted()).unwrap_or_default() {
            out.push(format!("{api}.{}", kind.name()));
        }
    }
    out
}
