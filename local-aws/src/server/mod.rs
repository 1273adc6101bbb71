//! The emulator: one HTTP server on 127.0.0.1 serving CloudFront, CodePipeline, the Lambda
//! Runtime API, S3 and the `/_local/` control endpoints, with fault injection and a request log.
//! This module starts it and holds its state; `handle` is the API to inspect and steer it,
//! `http` answers the requests, `control` the `/_local/` endpoints.

mod control;
mod handle;
mod http;

use std::collections::HashMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

pub use handle::{EmulatorHandle, ExecutionEnvironment};

/// The execution environment served on the emulator's main port.
const MAIN_ENVIRONMENT: u32 = 0;

use crate::clock::Clock;
use crate::cloudfront::{
    self, CloudFrontRules, CloudFrontState, DistributionConfig, DistributionTenantConfig,
    TenantSetupError, UnknownIds,
};
use crate::codepipeline::executions::{
    ActionExecutionStatus, ActionOutput, Executions, GetJobDetailsMode, JobContext,
};
use crate::codepipeline::{self, JobResult, JobStore};
use crate::duration::DurationRange;
use crate::faults::{FaultState, Faults};
use crate::log::RequestLog;
use crate::rng::{SeededRng, seed_from_time};
use crate::runtime_api::LambdaState;
use crate::s3::S3Server;

/// Largest request body accepted (Lambda's own payload limit is 6 MB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How the emulator starts.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The distributions that exist (standard or multi-tenant); any other id gets
    /// `NoSuchDistribution`, or `AccessDenied` with [`UnknownIds::AccessDenied`].
    pub distributions: Vec<DistributionConfig>,
    /// The distribution tenants that exist; any other tenant id gets `EntityNotFound`, or
    /// `AccessDenied` with [`UnknownIds::AccessDenied`]. A tenant declared without a
    /// distribution belongs to the multi-tenant distribution when exactly one is declared.
    pub distribution_tenants: Vec<DistributionTenantConfig>,
    /// Refuse a reused CallerReference with `InvalidArgument` even when the paths are the same
    /// (the documented answer is the existing invalidation; some users report the refusal).
    /// Default false.
    pub strict_caller_reference: bool,
    /// How calls on ids that do not exist are answered: `NoSuchDistribution` /
    /// `EntityNotFound` (default), or IAM's `AccessDenied` as for a role scoped to ARNs.
    pub unknown_ids: UnknownIds,
    /// How long invalidations stay `InProgress` on distributions that do not say.
    pub default_completion: DurationRange,
    /// Faults to inject from the start (see [`Faults`]).
    pub faults: Faults,
    /// Seed for every random choice (ids, completion times, faults); `None` seeds from the time.
    pub seed: Option<u64>,
    /// The clock for invalidation lifecycles and the log; [`Clock::manual`] for tests.
    pub clock: Clock,
    /// CodePipeline job ids that exist from the start (for `serve`).
    pub jobs: Vec<String>,
    /// The AWS account id shown in ARNs and events.
    pub account_id: String,
    /// The region shown in the function ARN.
    pub region: String,
    /// The Lambda function name (for its ARN).
    pub function_name: String,
    /// The IAM role (and session) named in `AccessDenied` messages.
    pub role: String,
    /// How `GetJobDetails` answers (default: the job's details). Whether CodePipeline answers
    /// it for a Lambda invoke job is not documented: see [`GetJobDetailsMode`].
    pub get_job_details: GetJobDetailsMode,
    /// When set, S3 refuses a request signed with any other access key id (403
    /// `InvalidAccessKeyId`), which proves that a caller uses the job's artifact credentials.
    /// Signatures themselves are never checked. Default `None`: any credentials do.
    pub s3_required_access_key: Option<String>,
    /// S3 answers a key that does not exist with 403 `AccessDenied` instead of 404
    /// `NoSuchKey`, as it does for credentials without `s3:ListBucket` on the bucket (a
    /// CodePipeline service role often has only the object permissions). Default `false`.
    pub s3_missing_key_denied: bool,
    /// ListActionExecutions answers `AccessDeniedException`, as for a function role without
    /// `codepipeline:ListActionExecutions`. Default `false`.
    pub list_action_executions_denied: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            port: 0,
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
            clock: Clock::system(),
            jobs: Vec::new(),
            account_id: "000000000000".to_string(),
            region: "us-east-1".to_string(),
            function_name: "cf-invalidate".to_string(),
            role: "cf-invalidate-role/cf-invalidate".to_string(),
            get_job_details: GetJobDetailsMode::Allow,
            s3_required_access_key: None,
            s3_missing_key_denied: false,
            list_action_executions_denied: false,
        }
    }
}

/// The emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The port could not be bound.
    #[error(
        "cannot listen on 127.0.0.1:{port}: {source} (choose another --port, or 0 for any free port)"
    )]
    Bind {
        /// The port asked for.
        port: u16,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A pre-registered job id has the wrong shape.
    #[error(
        "invalid job id '{0}': expected 8-4-4-4-12 lowercase hex digits, e.g. 11111111-abcd-1111-abcd-111111abcdef"
    )]
    BadJobId(String),
    /// The declared distribution tenants do not fit the declared distributions.
    #[error(transparent)]
    Tenants(#[from] TenantSetupError),
}

/// Starts emulators. See [`Emulator::start`].
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds 127.0.0.1 and serves every emulated API until the handle is shut down or dropped.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let seed = config.seed.unwrap_or_else(seed_from_time);
        let tenants =
            cloudfront::assign_tenants(&config.distributions, &config.distribution_tenants)?;
        let listener = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| EmulatorError::Bind {
                port: config.port,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                port: config.port,
                source,
            })?;
        let endpoint = format!("http://{addr}");

        let mut jobs = JobStore::default();
        for id in &config.jobs {
            if !codepipeline::is_job_id(id) {
                return Err(EmulatorError::BadJobId(id.clone()));
            }
            jobs.create(id, None, 0);
        }
        let (jobs_changed, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            clock: config.clock.clone(),
            endpoint,
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            role: config.role.clone(),
            function_arn: format!(
                "arn:aws:lambda:{}:{}:function:{}",
                config.region, config.account_id, config.function_name
            ),
            seed,
            state: Mutex::new(State {
                cloudfront: CloudFrontState::new(
                    &config.distributions,
                    &tenants,
                    config.default_completion,
                    CloudFrontRules {
                        strict_caller_reference: config.strict_caller_reference,
                        unknown_ids: config.unknown_ids,
                    },
                ),
                jobs,
                executions: Executions::new(
                    config.get_job_details,
                    config.list_action_executions_denied,
                ),
                lambda: LambdaState::default(),
                faults: FaultState::new(config.faults.clone(), seed),
                ids: SeededRng::with_stream(seed, 3),
                request_ids: SeededRng::with_stream(seed, 4),
            }),
            log: RequestLog::new(),
            s3: S3Server::new(
                config.s3_required_access_key.clone(),
                config.s3_missing_key_denied,
            ),
            lambda_ready: Mutex::new(HashMap::new()),
            next_environment: AtomicU32::new(MAIN_ENVIRONMENT + 1),
            jobs_changed,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        tokio::spawn(http::accept_loop(
            listener,
            shared.clone(),
            http::Stop::new(shutdown_rx),
            MAIN_ENVIRONMENT,
        ));
        Ok(EmulatorHandle {
            shared,
            addr,
            shutdown,
        })
    }
}

#[derive(Debug)]
struct Shared {
    clock: Clock,
    endpoint: String,
    account_id: String,
    region: String,
    role: String,
    function_arn: String,
    seed: u64,
    state: Mutex<State>,
    log: RequestLog,
    /// S3's objects, outside `state`: the S3 library answers on its own tasks.
    s3: S3Server,
    /// Wakes the long polls of each execution environment's `/invocation/next`.
    lambda_ready: Mutex<HashMap<u32, Arc<Notify>>>,
    next_environment: AtomicU32,
    jobs_changed: watch::Sender<u64>,
}

#[derive(Debug)]
struct State {
    cloudfront: CloudFrontState,
    jobs: JobStore,
    executions: Executions,
    lambda: LambdaState,
    faults: FaultState,
    ids: SeededRng,
    request_ids: SeededRng,
}

impl State {
    /// Brings the action execution of a job up to date with the job's result, as CodePipeline
    /// does: a final success or a failure ends the execution; a continuation keeps it
    /// InProgress with the latest summary.
    fn settle_execution(&mut self, job_id: &str, now_epoch_ms: u64) {
        let Some(context) = self.executions.context(job_id) else {
            return;
        };
        let Some(result) = self.jobs.get(job_id).and_then(|j| j.result.clone()) else {
            return;
        };
        let execution_id = context.action_execution_id.clone();
        let (status, output) = match result {
            JobResult::Succeeded {
                continuation_token,
                summary,
                external_execution_id,
                output_variables,
                ..
            } => (
                if continuation_token.is_some() {
                    ActionExecutionStatus::InProgress
                } else {
                    ActionExecutionStatus::Succeeded
                },
                ActionOutput {
                    external_execution_id,
                    summary,
                    error: None,
                    output_variables,
                },
            ),
            JobResult::Failed {
                failure_type,
                message,
                external_execution_id,
            } => (
                ActionExecutionStatus::Failed,
                ActionOutput {
                    external_execution_id,
                    error: Some((failure_type, message)),
                    ..ActionOutput::default()
                },
            ),
            JobResult::TimedOut { message } => (
                ActionExecutionStatus::Failed,
                ActionOutput {
                    error: Some(("JobFailed".to_string(), message)),
                    ..ActionOutput::default()
                },
            ),
        };
        self.executions
            .update(&execution_id, status, Some(output), now_epoch_ms);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What wakes the `/invocation/next` long polls of one execution environment.
    fn lambda_ready(&self, environment: u32) -> Arc<Notify> {
        self.lambda_ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(environment)
            .or_default()
            .clone()
    }

    fn bump_jobs(&self) {
        self.jobs_changed.send_modify(|v| *v += 1);
    }

    /// Creates a job with a new random id, tells the watchers, and returns the id.
    fn create_job(&self, continuation_token: Option<String>) -> String {
        self.create_job_in(continuation_token, None)
    }

    /// [`Self::create_job`] for a job that `GetJobDetails` describes with `context`.
    fn create_job_in(
        &self,
        continuation_token: Option<String>,
        context: Option<JobContext>,
    ) -> String {
        let now = self.clock.elapsed_ms();
        let id = {
            let mut state = self.lock();
            let id = loop {
                let id = state.ids.uuid();
                if state.jobs.get(&id).is_none() {
                    break id;
                }
            };
            state.jobs.create(&id, continuation_token, now);
            if let Some(context) = context {
                state.executions.set_context(&id, context);
            }
            id
        };
        self.bump_jobs();
        id
    }

    /// Registers a job with a chosen id of the right shape (a known id is left as it was), and
    /// tells the watchers.
    fn register_job(&self, job_id: &str, continuation_token: Option<String>) {
        let now = self.clock.elapsed_ms();
        self.lock().jobs.create(job_id, continuation_token, now);
        self.bump_jobs();
    }
}
