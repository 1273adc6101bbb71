//! The pipeline driver: plays CodePipeline and Lambda against a function binary. It creates
//! jobs, delivers job events through the Runtime API, enforces Lambda's deadline and retries,
//! follows continuation tokens with new jobs, and applies CodePipeline's timeouts.

mod function;
mod report;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::time::{Instant, sleep, sleep_until};

pub use function::{ExitInfo, OutputLine, OutputStream};
pub use report::{
    Counts, Failure, FailureCause, InvocationEnd, InvocationReport, PipelineReport, TimelineEntry,
    TimelineKind, Verdict,
};

/// One CodePipeline job of a run: the emulator's own record of it.
pub use crate::codepipeline::JobRecord as JobReport;

use crate::clock::{Clock, epoch_ms};
use crate::cloudfront::{DistributionConfig, DistributionTenantConfig, UnknownIds};
use crate::codepipeline::JobResult;
use crate::duration::{DurationRange, format_duration};
use crate::faults::{Api, Faults};
use crate::rng::SeededRng;
use crate::runtime_api::InvocationStatus;
use crate::server::{Emulator, EmulatorConfig, EmulatorError, EmulatorHandle};
use crate::text::shorten;
use function::{FunctionProcess, OutputSink, SpawnSpec};
use report::short_id;

/// CodePipeline's limit on every action configuration value, `UserParameters` included.
pub const MAX_USER_PARAMETERS: usize = 1000;
/// How long a cold-started process may take to ask for its first event (Lambda's init limit).
pub const INIT_ALLOWANCE: Duration = Duration::from_secs(10);
/// Environment variables passed from this process to the function when set.
pub const INHERITED_ENV: [&str; 3] = ["AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"];

/// The temporary credentials placed in the job event's `artifactCredentials`.
#[derive(Clone, PartialEq, Eq)]
pub struct ArtifactCredentials {
    /// `accessKeyId`.
    pub access_key_id: String,
    /// `secretAccessKey`.
    pub secret_access_key: String,
    /// `sessionToken`.
    pub session_token: String,
}

impl Default for ArtifactCredentials {
    fn default() -> Self {
        Self {
            access_key_id: "ASIALOCALAWSARTIFACT".to_string(),
            secret_access_key: "local-aws-artifact-secret-key-do-not-log".to_string(),
            session_token: "local-aws-artifact-session-token-do-not-log".to_string(),
        }
    }
}

impl fmt::Debug for ArtifactCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtifactCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .finish()
    }
}

/// Called with each timeline entry as it happens (jobs, invocations, API calls, verdict, and
/// function output lines).
pub type Observer = Arc<dyn Fn(&TimelineEntry) + Send + Sync>;

/// How to run the pipeline. Build with [`PipelineConfig::new`] and change the public fields.
#[derive(Clone)]
pub struct PipelineConfig {
    /// The function executable (e.g. `env!("CARGO_BIN_EXE_cf-invalidate-lambda")`); a bare
    /// name such as `python3` is looked up on `PATH`.
    pub function: PathBuf,
    /// Arguments for the executable (none for a Lambda bootstrap).
    pub function_args: Vec<String>,
    /// The action's `UserParameters` (at most 1000 characters).
    pub user_parameters: String,
    /// Distributions that exist (standard or multi-tenant); others get `NoSuchDistribution`
    /// (or `AccessDenied`, see [`Self::unknown_ids`]).
    pub distributions: Vec<DistributionConfig>,
    /// Distribution tenants that exist; others get `EntityNotFound` (or `AccessDenied`). See
    /// [`crate::EmulatorConfig::distribution_tenants`].
    pub distribution_tenants: Vec<DistributionTenantConfig>,
    /// Refuse a reused CallerReference even with the same paths (default false). See
    /// [`crate::EmulatorConfig::strict_caller_reference`].
    pub strict_caller_reference: bool,
    /// How calls on ids that do not exist are answered (default `NotFound`).
    pub unknown_ids: UnknownIds,
    /// Completion time of invalidations on distributions that do not set one (default 2s..5s).
    pub default_completion: DurationRange,
    /// Faults to inject.
    pub faults: Faults,
    /// Seed for every random choice; `None` picks one (shown in the report).
    pub seed: Option<u64>,
    /// Port of the emulator on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// The function's timeout: each invocation must answer within it (default 30 s). A process
    /// that does not take its event within this time (for a cold start: within the larger of
    /// this and 10 s, Lambda's init limit) also times out.
    pub lambda_timeout: Duration,
    /// Extra time after the deadline before the process is killed (default 500 ms).
    pub deadline_grace: Duration,
    /// Delay before Lambda's first retry of a failed invocation; the second waits twice as
    /// long (Lambda: about 1 and 2 minutes; default 1 s).
    pub retry_delay: Duration,
    /// Delay between a "still in progress" reply and the next job's invocation (default 1 s).
    pub reinvoke_delay: Duration,
    /// CodePipeline fails the action when a job gets no result for this long (default 20 min).
    pub no_reply_timeout: Duration,
    /// CodePipeline fails the action when it runs this long in all (default 24 h).
    pub total_timeout: Duration,
    /// The `artifactCredentials` of every event (plant known values to prove they never leak).
    pub artifact_credentials: ArtifactCredentials,
    /// `AWS_LAMBDA_FUNCTION_NAME` and `FunctionName` (default `cf-invalidate`).
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (default 128).
    pub memory_size: u32,
    /// `AWS_REGION` / `AWS_DEFAULT_REGION` (default `us-east-1`).
    pub region: String,
    /// The account id in events and ARNs (default `000000000000`).
    pub account_id: String,
    /// Extra environment variables for the function (set last: they override).
    pub env: Vec<(String, String)>,
    /// Probability (0..=1) that an event is delivered a second time: same job id, same
    /// payload, a new Lambda request id, as Lambda's at-least-once asynchronous delivery may
    /// do. Drawn once per event; the duplicate runs right after the first delivery ends (one
    /// execution environment) and is not retried itself. Default 0.
    pub duplicate_delivery_rate: f64,
    /// Probability (0..=1) that an invocation is SIGKILLed at a random moment between taking
    /// its event and its deadline (a crash, an out-of-memory kill, a host failure). Lambda
    /// counts it as a function error and retries the event. Default 0.
    pub kill_rate: f64,
    /// At most this many deliveries of one event are killed by [`Self::kill_rate`] (default 1),
    /// so that Lambda's three deliveries keep at least one that is not killed on purpose.
    pub kills_per_event: u32,
    /// Receives timeline entries live.
    pub observer: Option<Observer>,
}

impl fmt::Debug for PipelineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineConfig")
            .field("function", &self.function)
            .field("function_args", &self.function_args)
            .field("user_parameters", &self.user_parameters)
            .field("distributions", &self.distributions)
            .field("distribution_tenants", &self.distribution_tenants)
            .field("strict_caller_reference", &self.strict_caller_reference)
            .field("unknown_ids", &self.unknown_ids)
            .field("default_completion", &self.default_completion)
            .field("faults", &self.faults.to_string())
            .field("seed", &self.seed)
            .field("port", &self.port)
            .field("lambda_timeout", &self.lambda_timeout)
            .field("deadline_grace", &self.deadline_grace)
            .field("retry_delay", &self.retry_delay)
            .field("reinvoke_delay", &self.reinvoke_delay)
            .field("no_reply_timeout", &self.no_reply_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("artifact_credentials", &self.artifact_credentials)
            .field("function_name", &self.function_name)
            .field("memory_size", &self.memory_size)
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .field("env", &self.env)
            .field("duplicate_delivery_rate", &self.duplicate_delivery_rate)
            .field("kill_rate", &self.kill_rate)
            .field("kills_per_event", &self.kills_per_event)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl PipelineConfig {
    /// A run of `function` with `user_parameters` and the defaults above.
    pub fn new(function: impl Into<PathBuf>, user_parameters: impl Into<String>) -> Self {
        Self {
            function: function.into(),
            function_args: Vec::new(),
            user_parameters: user_parameters.into(),
            distributions: Vec::new(),
            distribution_tenants: Vec::new(),
            strict_caller_reference: false,
            unknown_ids: UnknownIds::NotFound,
            default_completion: DurationRange::between(
                Duration::from_secs(2),
                Duration::from_secs(5),
            ),
            faults: Faults::none(),
            seed: None,
            port: 0,
            lambda_timeout: Duration::from_secs(30),
            deadline_grace: Duration::from_millis(500),
            retry_delay: Duration::from_secs(1),
            reinvoke_delay: Duration::from_secs(1),
            no_reply_timeout: Duration::from_secs(20 * 60),
            total_timeout: Duration::from_secs(24 * 3600),
            artifact_credentials: ArtifactCredentials::default(),
            function_name: "cf-invalidate".to_string(),
            memory_size: 128,
            region: "us-east-1".to_string(),
            account_id: "000000000000".to_string(),
            env: Vec::new(),
            duplicate_delivery_rate: 0.0,
            kill_rate: 0.0,
            kills_per_event: 1,
            observer: None,
        }
    }

    /// Adds a distribution.
    pub fn distribution(mut self, d: DistributionConfig) -> Self {
        self.distributions.push(d);
        self
    }

    /// Adds a distribution tenant.
    pub fn distribution_tenant(mut self, t: DistributionTenantConfig) -> Self {
        self.distribution_tenants.push(t);
        self
    }
}

/// The run could not be carried out (a usage or environment problem, not a failed action).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The function path does not name a file.
    #[error(
        "function '{0}' not found: give the path of the Lambda bootstrap executable (for example target/debug/cf-invalidate-lambda)"
    )]
    FunctionNotFound(PathBuf),
    /// The function could not be started.
    #[error("cannot start function '{path}': {source} (is it executable?)")]
    Spawn {
        /// The executable.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `UserParameters` is over CodePipeline's limit.
    #[error(
        "UserParameters is {0} characters; CodePipeline allows at most 1000 per action configuration value"
    )]
    UserParametersTooLong(usize),
    /// The emulator did not start.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
}

/// Runs the action to its end and reports. Needs a Tokio runtime with timers, I/O and process
/// support (`#[tokio::test]` is fine).
pub async fn run(config: PipelineConfig) -> Result<PipelineReport, PipelineError> {
    let length = config.user_parameters.chars().count();
    if length > MAX_USER_PARAMETERS {
        return Err(PipelineError::UserParametersTooLong(length));
    }
    let mut config = config;
    config.function = resolve_program(&config.function)
        .ok_or_else(|| PipelineError::FunctionNotFound(config.function.clone()))?;
    let emu = Emulator::start(EmulatorConfig {
        port: config.port,
        distributions: config.distributions.clone(),
        distribution_tenants: config.distribution_tenants.clone(),
        strict_caller_reference: config.strict_caller_reference,
        unknown_ids: config.unknown_ids,
        default_completion: config.default_completion,
        faults: config.faults.clone(),
        seed: config.seed,
        clock: Clock::system(),
        jobs: Vec::new(),
        account_id: config.account_id.clone(),
        region: config.region.clone(),
        function_name: config.function_name.clone(),
        ..EmulatorConfig::default()
    })
    .await?;
    let mut driver = Driver::new(config, emu);
    let outcome = driver.drive().await;
    driver.finish(outcome).await
}

/// The executable a path names: the file itself, or for a bare name (`python3`) the first
/// match on `PATH`.
fn resolve_program(program: &std::path::Path) -> Option<PathBuf> {
    if program.is_file() {
        return Some(program.to_path_buf());
    }
    if program.components().count() != 1 {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// [`run`] on a runtime of its own, for synchronous callers.
pub fn run_blocking(config: PipelineConfig) -> Result<PipelineReport, PipelineError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| PipelineError::Spawn {
            path: config.function.clone(),
            source,
        })?;
    runtime.block_on(run(config))
}

/// The function's environment, as Lambda sets it (plus endpoints pointing at the emulator).
fn function_env(config: &PipelineConfig, emu: &EmulatorHandle) -> Vec<(String, String)> {
    let endpoint = emu.endpoint();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| env.push((k.to_string(), v));
    for name in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(name) {
            set(name, v.to_string_lossy().into_owned());
        }
    }
    set("LANG", "C.UTF-8".into());
    set("TZ", ":UTC".into());
    set("AWS_LAMBDA_RUNTIME_API", emu.runtime_api_address());
    set("AWS_LAMBDA_FUNCTION_NAME", config.function_name.clone());
    set(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        config.memory_size.to_string(),
    );
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    set(
        "AWS_LAMBDA_LOG_GROUP_NAME",
        format!("/aws/lambda/{}", config.function_name),
    );
    set(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "local-aws/[$LATEST]0000000000000000".into(),
    );
    set("AWS_REGION", config.region.clone());
    set("AWS_DEFAULT_REGION", config.region.clone());
    set("AWS_ACCESS_KEY_ID", "ASIALOCALAWSFUNCTION".into());
    set(
        "AWS_SECRET_ACCESS_KEY",
        "local-aws-function-secret-key".into(),
    );
    set(
        "AWS_SESSION_TOKEN",
        "local-aws-function-session-token".into(),
    );
    set("AWS_ENDPOINT_URL_CLOUDFRONT", endpoint.clone());
    set("AWS_ENDPOINT_URL_CODEPIPELINE", endpoint);
    set("AWS_EC2_METADATA_DISABLED", "true".into());
    // Keep a developer's profile and config out of the function, as on Lambda.
    set("AWS_CONFIG_FILE", "/dev/null".into());
    set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into());
    for name in INHERITED_ENV {
        if let Ok(v) = std::env::var(name) {
            set(name, v);
        }
    }
    for (k, v) in &config.env {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// Facts about one invocation gathered before it ends.
struct InvocationRecord {
    number: u32,
    request_id: String,
    cold_start: bool,
    process: u32,
    queued_ms: u64,
    started_ms: Option<u64>,
}

/// Why [`Driver::drive`] stopped.
enum Ending {
    Verdict,
    SpawnFailed(std::io::Error),
}

/// How one job ended.
enum JobEnd {
    Result(JobResult),
    NoReply,
    TotalTimeout,
}

struct Driver {
    config: PipelineConfig,
    emu: EmulatorHandle,
    process: FunctionProcess,
    clock: Clock,
    total_deadline: Instant,
    /// Jobs created so far (the emulator numbers them the same way).
    jobs_created: u32,
    invocations: Vec<InvocationReport>,
    events: Arc<Mutex<Vec<TimelineEntry>>>,
    verdict: Option<(Verdict, Option<Failure>)>,
    /// The driver's own draws (duplicate deliveries, kills), on a stream of the run's seed.
    rng: SeededRng,
}

/// One delivery of a job event to the function.
#[derive(Clone, Copy)]
struct Delivery<'a> {
    job_number: u32,
    job_id: &'a str,
    attempt: u32,
    duplicate: bool,
    event: &'a Value,
    /// Kill the process this long after it takes the event (`kill_rate`).
    kill_after: Option<Duration>,
}

impl Driver {
    fn new(config: PipelineConfig, emu: EmulatorHandle) -> Self {
        let clock = emu.clock().clone();
        let events: Arc<Mutex<Vec<TimelineEntry>>> = Arc::new(Mutex::new(Vec::new()));
        let sink: Option<OutputSink> = config.observer.clone().map(|observer| {
            let sink: OutputSink = Arc::new(move |line: &OutputLine| {
                let stream = match line.stream {
                    OutputStream::Stdout => "out",
                    OutputStream::Stderr => "err",
                };
                observer(&TimelineEntry {
                    at_ms: line.at_ms,
                    kind: TimelineKind::Output,
                    text: format!("[process {} {stream}] {}", line.process, line.text),
                });
            });
            sink
        });
        let spec = SpawnSpec {
            program: config.function.clone(),
            args: config.function_args.clone(),
            env: function_env(&config, &emu),
        };
        if let Some(observer) = config.observer.clone() {
            let mut feed = emu.subscribe_requests();
            tokio::spawn(async move {
                loop {
                    let r = match feed.recv().await {
                        Ok(r) => r,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    };
                    if let Some(entry) = TimelineEntry::of_request(&r) {
                        observer(&entry);
                    }
                }
            });
        }
        let total_deadline = Instant::now() + config.total_timeout;
        let rng = SeededRng::with_stream(emu.seed(), 7);
        Self {
            rng,
            process: FunctionProcess::new(spec, clock.clone(), sink),
            config,
            emu,
            clock,
            total_deadline,
            jobs_created: 0,
            invocations: Vec::new(),
            events,
            verdict: None,
        }
    }

    fn event(&self, kind: TimelineKind, text: String) {
        let entry = TimelineEntry {
            at_ms: self.clock.elapsed_ms(),
            kind,
            text,
        };
        if let Some(observer) = &self.config.observer {
            observer(&entry);
        }
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    fn job_event(&self, job_id: &str, continuation_token: Option<&str>) -> Value {
        let creds = &self.config.artifact_credentials;
        let expiration = epoch_ms(SystemTime::now()) + 3_600_000;
        let mut data = json!({
            "actionConfiguration": {
                "configuration": {
                    "FunctionName": self.config.function_name,
                    "UserParameters": self.config.user_parameters,
                }
            },
            "inputArtifacts": [],
            "outputArtifacts": [],
            "artifactCredentials": {
                "accessKeyId": creds.access_key_id,
                "secretAccessKey": creds.secret_access_key,
                "sessionToken": creds.session_token,
                "expirationTime": expiration,
            },
        });
        if let (Some(token), Some(obj)) = (continuation_token, data.as_object_mut()) {
            obj.insert(
                "continuationToken".to_string(),
                Value::String(token.to_string()),
            );
        }
        json!({
            "CodePipeline.job": {
                "id": job_id,
                "accountId": self.config.account_id,
                "data": data,
            }
        })
    }

    /// Jobs until a terminal result or a timeout.
    async fn drive(&mut self) -> Ending {
        let mut token: Option<String> = None;
        loop {
            self.jobs_created += 1;
            let number = self.jobs_created;
            let job_id = self.emu.create_job(token.clone());
            self.event(
                TimelineKind::Job,
                match &token {
                    None => format!("job {number} {job_id} created"),
                    Some(t) => format!(
                        "job {number} {job_id} created, continuing with token ({} chars)",
                        t.chars().count()
                    ),
                },
            );
            let event = self.job_event(&job_id, token.as_deref());
            let end = match self.run_job(number, &job_id, &event).await {
                Ok(end) => end,
                Err(e) => return Ending::SpawnFailed(e),
            };
            match end {
                JobEnd::Result(JobResult::Succeeded {
                    continuation_token: Some(next),
                    summary,
                    ..
                }) => {
                    self.event(
                        TimelineKind::Job,
                        format!(
                            "job {number} {}: in progress{}; next invocation in {}",
                            short_id(&job_id),
                            summary
                                .map(|s| format!(" ({})", shorten(&s, 160)))
                                .unwrap_or_default(),
                            format_duration(self.config.reinvoke_delay)
                        ),
                    );
                    let wake = Instant::now() + self.config.reinvoke_delay;
                    if wake >= self.total_deadline {
                        sleep_until(self.total_deadline).await;
                        self.fail_total(&job_id);
                        return Ending::Verdict;
                    }
                    sleep_until(wake).await;
                    token = Some(next);
                }
                JobEnd::Result(JobResult::Succeeded { .. }) => {
                    self.verdict = Some((Verdict::Succeeded, None));
                    self.event(
                        TimelineKind::Verdict,
                        format!(
                            "job {number} {}: SUCCEEDED, the action succeeded",
                            short_id(&job_id)
                        ),
                    );
                    return Ending::Verdict;
                }
                JobEnd::Result(JobResult::Failed {
                    failure_type,
                    message,
                    external_execution_id,
                }) => {
                    self.event(
                        TimelineKind::Verdict,
                        format!(
                            "job {number} {}: FAILED {failure_type}: {}",
                            short_id(&job_id),
                            shorten(&message, 300)
                        ),
                    );
                    self.verdict = Some((
                        Verdict::Failed,
                        Some(Failure {
                            cause: FailureCause::Reported,
                            failure_type: Some(failure_type),
                            message,
                            external_execution_id,
                        }),
                    ));
                    return Ending::Verdict;
                }
                JobEnd::Result(JobResult::TimedOut { .. }) | JobEnd::NoReply => {
                    let message = format!(
                        "no result for job {job_id} within {}: CodePipeline fails a Lambda invoke action whose function sends neither PutJobSuccessResult nor PutJobFailureResult in time",
                        format_duration(self.config.no_reply_timeout)
                    );
                    self.emu.time_out_job(&job_id, &message);
                    self.event(
                        TimelineKind::Verdict,
                        format!("job {number} {}: FAILED, {message}", short_id(&job_id)),
                    );
                    self.verdict = Some((
                        Verdict::Failed,
                        Some(Failure {
                            cause: FailureCause::NoReply,
                            failure_type: None,
                            message,
                            external_execution_id: None,
                        }),
                    ));
                    return Ending::Verdict;
                }
                JobEnd::TotalTimeout => {
                    self.fail_total(&job_id);
                    return Ending::Verdict;
                }
            }
        }
    }

    fn fail_total(&mut self, job_id: &str) {
        let message = format!(
            "the action ran longer than {}: CodePipeline fails a Lambda invoke action after 24 hours in all",
            format_duration(self.config.total_timeout)
        );
        self.emu.time_out_job(job_id, &message);
        self.event(TimelineKind::Verdict, format!("FAILED, {message}"));
        self.verdict = Some((
            Verdict::Failed,
            Some(Failure {
                cause: FailureCause::TotalTimeout,
                failure_type: None,
                message,
                external_execution_id: None,
            }),
        ));
    }

    fn job_result(&self, job_id: &str) -> Option<JobResult> {
        self.emu.job(job_id).and_then(|j| j.result)
    }

    /// Whether the next delivery of an event is killed on purpose, and when.
    fn draw_kill(&mut self, kills_so_far: u32) -> Option<Duration> {
        if kills_so_far >= self.config.kills_per_event || !self.rng.chance(self.config.kill_rate) {
            return None;
        }
        let window = u64::try_from(self.config.lambda_timeout.as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(
            self.rng.between(0, window.saturating_sub(1)),
        ))
    }

    /// Invocations of one job (first delivery, a duplicate delivery, Lambda's retries) until
    /// it has a result or CodePipeline gives up.
    async fn run_job(
        &mut self,
        number: u32,
        job_id: &str,
        event: &Value,
    ) -> Result<JobEnd, std::io::Error> {
        let no_reply_deadline = Instant::now() + self.config.no_reply_timeout;
        let deadline = no_reply_deadline.min(self.total_deadline);
        let no_reply_first = no_reply_deadline <= self.total_deadline;
        let timeout_end = || {
            if no_reply_first {
                JobEnd::NoReply
            } else {
                JobEnd::TotalTimeout
            }
        };
        // Drawn once per event, before anything else, so that a seed always duplicates the
        // same events.
        let mut duplicate_pending = self.rng.chance(self.config.duplicate_delivery_rate);
        let mut kills = 0u32;
        let mut attempt = 1u32;
        loop {
            let kill_after = self.draw_kill(kills);
            let delivery = Delivery {
                job_number: number,
                job_id,
                attempt,
                duplicate: false,
                event,
                kill_after,
            };
            let report = tokio::select! {
                biased;
                report = self.invoke(delivery) => report?,
                _ = sleep_until(deadline) => {
                    // CodePipeline gives up; the function's process goes with the run.
                    return Ok(timeout_end());
                }
            };
            let failed = report.end.is_function_error();
            if matches!(report.end, InvocationEnd::Killed { .. }) {
                kills += 1;
            }
            self.invocations.push(report);
            if duplicate_pending {
                // Lambda delivers the same event once more, whatever became of the first one.
                duplicate_pending = false;
                self.event(
                    TimelineKind::Invocation,
                    format!(
                        "Lambda delivers the event of job {number} {} again (duplicate delivery)",
                        short_id(job_id)
                    ),
                );
                let kill_after = self.draw_kill(kills);
                let delivery = Delivery {
                    duplicate: true,
                    kill_after,
                    ..delivery
                };
                let report = tokio::select! {
                    biased;
                    report = self.invoke(delivery) => report?,
                    _ = sleep_until(deadline) => return Ok(timeout_end()),
                };
                if matches!(report.end, InvocationEnd::Killed { .. }) {
                    kills += 1;
                }
                self.invocations.push(report);
            }
            if let Some(result) = self.job_result(job_id) {
                return Ok(JobEnd::Result(result));
            }
            if failed && attempt < 3 {
                let delay = self.config.retry_delay * attempt;
                self.event(
                    TimelineKind::Invocation,
                    format!(
                        "Lambda retries the event (attempt {} of 3) in {}",
                        attempt + 1,
                        format_duration(delay)
                    ),
                );
                let wake = Instant::now() + delay;
                if wake >= deadline {
                    sleep_until(deadline).await;
                    return Ok(timeout_end());
                }
                sleep(delay).await;
                attempt += 1;
                continue;
            }
            // Nothing more will invoke the function for this job: wait for a late result
            // (none is expected) until CodePipeline gives up.
            let mut changes = self.emu.watch_jobs();
            loop {
                if let Some(result) = self.job_result(job_id) {
                    return Ok(JobEnd::Result(result));
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { sleep_until(deadline).await; return Ok(timeout_end()); },
                    _ = sleep_until(deadline) => return Ok(timeout_end()),
                }
            }
        }
    }

    /// One invocation: start the process if needed, queue the event, wait for the answer, a
    /// crash, the deadline, or an injected kill.
    async fn invoke(&mut self, delivery: Delivery<'_>) -> Result<InvocationReport, std::io::Error> {
        let number = self.invocations.len() as u32 + 1;
        let exited_idle = self.process.is_running();
        if let Some(exit) = exited_idle {
            self.event(
                TimelineKind::Invocation,
                format!(
                    "function process {} had exited ({})",
                    self.process.generation(),
                    exit.describe()
                ),
            );
        }
        let cold_start = !self.process.alive();
        if cold_start {
            self.process.spawn()?;
        }
        let process = self.process.generation();
        let queued_ms = self.clock.elapsed_ms();
        let queued_at = Instant::now();
        let mut invocation = self.emu.invoke(delivery.event, self.config.lambda_timeout);
        let request_id = invocation.request_id().to_string();
        self.event(
            TimelineKind::Invocation,
            format!(
                "invocation {number}: job {} {}, attempt {}{}, {} (process {process}), request {request_id}",
                delivery.job_number,
                short_id(delivery.job_id),
                delivery.attempt,
                if delivery.duplicate { " (duplicate)" } else { "" },
                if cold_start { "cold start" } else { "warm" },
            ),
        );
        let mut record = InvocationRecord {
            number,
            request_id: request_id.clone(),
            cold_start,
            process,
            queued_ms,
            started_ms: None,
        };
        let limit = self.config.lambda_timeout + self.config.deadline_grace;
        // Lambda gives a cold start's init phase up to 10 s on top of the function timeout.
        let pickup_limit = if cold_start {
            limit.max(INIT_ALLOWANCE)
        } else {
            limit
        };

        // Until the function takes the event.
        let started = tokio::select! {
            biased;
            s = invocation.started() => s,
            exit = self.process.exited() => {
                self.emu.abandon_invocation(&request_id);
                return Ok(self.ended(&delivery, record, InvocationEnd::Crashed { exit, started: false }));
            }
            _ = sleep_until(queued_at + pickup_limit) => {
                self.emu.abandon_invocation(&request_id);
                self.process.kill().await;
                return Ok(self.ended(&delivery, record, InvocationEnd::Timeout { started: false }));
            }
        };
        record.started_ms = started.map(|(ms, _)| ms);
        let started_at = Instant::now();
        let kill_at = started_at + delivery.kill_after.unwrap_or(limit);

        // Until it answers.
        let end = tokio::select! {
            biased;
            outcome = invocation.finished() => match outcome {
                Some(crate::runtime_api::InvocationOutcome::Response { body }) => InvocationEnd::Response { body },
                Some(crate::runtime_api::InvocationOutcome::Error { error_type, error_message }) => InvocationEnd::Error { error_type, error_message },
                None => InvocationEnd::Timeout { started: true },
            },
            exit = self.process.exited() => {
                // The process may have answered just before exiting.
                match invocation.status() {
                    InvocationStatus::Finished(crate::runtime_api::InvocationOutcome::Response { body }) => InvocationEnd::Response { body },
                    InvocationStatus::Finished(crate::runtime_api::InvocationOutcome::Error { error_type, error_message }) => InvocationEnd::Error { error_type, error_message },
                    _ => {
                        self.emu.abandon_invocation(&request_id);
                        InvocationEnd::Crashed { exit, started: true }
                    }
                }
            }
            _ = sleep_until(kill_at), if delivery.kill_after.is_some() => {
                self.emu.abandon_invocation(&request_id);
                self.process.kill().await;
                InvocationEnd::Killed { after_ms: crate::clock::duration_ms(started_at.elapsed()) }
            }
            _ = sleep_until(started_at + limit) => {
                self.emu.abandon_invocation(&request_id);
                self.process.kill().await;
                InvocationEnd::Timeout { started: true }
            }
        };
        Ok(self.ended(&delivery, record, end))
    }

    fn ended(
        &self,
        delivery: &Delivery<'_>,
        record: InvocationRecord,
        end: InvocationEnd,
    ) -> InvocationReport {
        let report = InvocationReport {
            number: record.number,
            job_number: delivery.job_number,
            job_id: delivery.job_id.to_string(),
            attempt: delivery.attempt,
            duplicate: delivery.duplicate,
            request_id: record.request_id,
            cold_start: record.cold_start,
            process: record.process,
            queued_ms: record.queued_ms,
            started_ms: record.started_ms,
            ended_ms: self.clock.elapsed_ms(),
            end,
            event: delivery.event.clone(),
        };
        self.event(
            TimelineKind::Invocation,
            format!(
                "invocation {} ended after {} ms: {}",
                report.number,
                report.duration_ms(),
                report.end.describe()
            ),
        );
        report
    }

    async fn finish(mut self, ending: Ending) -> Result<PipelineReport, PipelineError> {
        let function_output = self.process.finish().await;
        if let Ending::SpawnFailed(source) = ending {
            return Err(PipelineError::Spawn {
                path: self.config.function.clone(),
                source,
            });
        }
        let (verdict, failure) = self.verdict.take().unwrap_or((Verdict::Failed, None));
        let duration_ms = self.clock.elapsed_ms();
        let jobs = self.emu.jobs();
        let (mut summary, mut external_execution_id, mut output_variables) =
            (None, None, BTreeMap::new());
        for job in &jobs {
            if let Some(JobResult::Succeeded {
                summary: s,
                external_execution_id: x,
                output_variables: vars,
                ..
            }) = &job.result
            {
                if s.is_some() {
                    summary = s.clone();
                }
                if x.is_some() {
                    external_execution_id = x.clone();
                }
                if !vars.is_empty() {
                    output_variables = vars.clone();
                }
            }
        }
        let requests = self.emu.request_log();
        let invalidations = self.emu.all_invalidations();
        let mut counts = Counts {
            jobs: jobs.len() as u32,
            invocations: self.invocations.len() as u32,
            cold_starts: self.invocations.iter().filter(|i| i.cold_start).count() as u32,
            function_errors: self
                .invocations
                .iter()
                .filter(|i| i.end.is_function_error())
                .count() as u32,
            timeouts: self
                .invocations
                .iter()
                .filter(|i| matches!(i.end, InvocationEnd::Timeout { .. }))
                .count() as u32,
            crashes: self
                .invocations
                .iter()
                .filter(|i| matches!(i.end, InvocationEnd::Crashed { .. }))
                .count() as u32,
            kills: self
                .invocations
                .iter()
                .filter(|i| matches!(i.end, InvocationEnd::Killed { .. }))
                .count() as u32,
            duplicate_deliveries: self.invocations.iter().filter(|i| i.duplicate).count() as u32,
            results_refused: jobs.iter().map(|j| j.results_refused).sum(),
            invalidations: invalidations.len() as u32,
            paths: invalidations.iter().map(|i| i.paths.len() as u32).sum(),
            ..Counts::default()
        };
        for r in &requests {
            if r.fault.is_some() {
                counts.faults_injected += 1;
            }
            if matches!(r.api, Api::CloudFront | Api::CodePipeline) {
                counts.api_calls += 1;
                *counts
                    .calls_by_operation
                    .entry(r.operation.clone())
                    .or_default() += 1;
            }
            if let Some(code) = &r.error_code {
                *counts.errors_by_code.entry(code.clone()).or_default() += 1;
            }
        }
        let events = self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let report = PipelineReport {
            verdict,
            failure,
            summary,
            external_execution_id,
            output_variables,
            jobs,
            invocations: std::mem::take(&mut self.invocations),
            requests,
            invalidations,
            init_errors: self.emu.init_errors(),
            function_output,
            counts,
            events,
            seed: self.emu.seed(),
            endpoint: self.emu.endpoint(),
            duration_ms,
        };
        self.emu.shutdown().await;
        Ok(report)
    }
}
