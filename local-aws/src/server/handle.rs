//! [`EmulatorHandle`]: what a test or the command line sees of a running emulator.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use super::{EmulatorError, Shared};
use crate::clock::Clock;
use crate::clock::epoch_ms;
use crate::cloudfront::{
    DistributionConfig, DistributionTenantConfig, InvalidationInfo, Target, UnknownIds,
};
use crate::codepipeline::executions::{
    ActionExecution, ActionExecutionStatus, ActionOutput, GetJobDetailsMode, JobContext,
};
use crate::codepipeline::{self, JobRecord, JobResult};
use crate::faults::Faults;
use crate::log::RequestRecord;
use crate::runtime_api::{InitError, Invocation};
use crate::s3::{NoSuchBucket, StoredObject};

/// A running emulator. Dropping it stops the server (open connections are closed).
#[derive(Debug)]
pub struct EmulatorHandle {
    pub(super) shared: Arc<Shared>,
    pub(super) addr: SocketAddr,
    pub(super) shutdown: watch::Sender<bool>,
}

impl EmulatorHandle {
    /// The base URL of every API: `http://127.0.0.1:PORT` (use it as `--endpoint-url`,
    /// `AWS_ENDPOINT_URL_CLOUDFRONT`, `AWS_ENDPOINT_URL_CODEPIPELINE`, `AWS_ENDPOINT_URL_S3`
    /// with path-style addressing).
    pub fn endpoint(&self) -> String {
        self.shared.endpoint.clone()
    }

    /// The base URL of a distribution's edge, `http://127.0.0.1:PORT`, where its viewers
    /// are served; `None` unless the distribution was started with an origin.
    pub fn edge_endpoint(&self, distribution_id: &str) -> Option<String> {
        self.edge_addr(distribution_id)
            .map(|addr| format!("http://{addr}"))
    }

    /// The address of a distribution's edge (see [`Self::edge_endpoint`]).
    pub fn edge_addr(&self, distribution_id: &str) -> Option<SocketAddr> {
        self.shared.edges.get(distribution_id).copied()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT`.
    pub fn runtime_api_address(&self) -> String {
        self.addr.to_string()
    }

    /// The seed in use (repeat a run by passing it back in [`crate::EmulatorConfig::seed`]).
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// The emulator's clock (advance it in tests built on [`Clock::manual`]).
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Sent as `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> String {
        self.shared.function_arn.clone()
    }

    pub fn account_id(&self) -> String {
        self.shared.account_id.clone()
    }

    /// Every call so far, in arrival order.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared.log.snapshot()
    }

    /// Calls `on_request` with each call as it is logged, on a task of its own, until the
    /// emulator stops. A watcher that falls behind misses calls rather than slowing the
    /// emulator down. Needs a Tokio runtime.
    pub fn watch_requests(&self, on_request: impl Fn(&RequestRecord) + Send + 'static) {
        let mut feed = self.shared.log.subscribe();
        tokio::spawn(async move {
            loop {
                match feed.recv().await {
                    Ok(r) => on_request(&r),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    /// Replaces the faults in force (counts start afresh).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults.set(faults);
    }

    /// The faults in force, with what remains of their counts.
    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.faults().clone()
    }

    /// Declares a distribution (or changes an existing one, keeping its invalidations).
    pub fn add_distribution(&self, config: DistributionConfig) {
        self.shared.lock().cloudfront.add_distribution(config);
    }

    pub fn distributions(&self) -> Vec<DistributionConfig> {
        self.shared.lock().cloudfront.distribution_configs()
    }

    /// Declares a distribution tenant (or changes an existing one, keeping its invalidations).
    /// Its `distribution_id` is taken as given.
    pub fn add_distribution_tenant(&self, config: DistributionTenantConfig) {
        self.shared.lock().cloudfront.add_tenant(config);
    }

    /// The distribution tenants declared, with the distribution each belongs to.
    pub fn distribution_tenants(&self) -> Vec<DistributionTenantConfig> {
        self.shared.lock().cloudfront.tenant_configs()
    }

    /// The invalidations of one distribution, newest first (empty if it is not declared). A
    /// multi-tenant distribution has none: its tenants' are in [`Self::tenant_invalidations`].
    pub fn invalidations(&self, distribution_id: &str) -> Vec<InvalidationInfo> {
        self.shared
            .lock()
            .cloudfront
            .invalidations(
                &Target::Distribution(distribution_id.into()),
                &self.shared.clock,
            )
            .unwrap_or_default()
    }

    /// The invalidations of one distribution tenant, newest first (empty if it is not
    /// declared); each has `distribution_tenant_id` set.
    pub fn tenant_invalidations(&self, tenant_id: &str) -> Vec<InvalidationInfo> {
        self.shared
            .lock()
            .cloudfront
            .invalidations(&Target::Tenant(tenant_id.into()), &self.shared.clock)
            .unwrap_or_default()
    }

    /// Turns the strict CallerReference mode on or off (see
    /// [`crate::EmulatorConfig::strict_caller_reference`]).
    pub fn set_strict_caller_reference(&self, strict: bool) {
        self.shared
            .lock()
            .cloudfront
            .rules_mut()
            .strict_caller_reference = strict;
    }

    /// Changes how calls on ids that do not exist are answered (see
    /// [`crate::EmulatorConfig::unknown_ids`]).
    pub fn set_unknown_ids(&self, unknown_ids: UnknownIds) {
        self.shared.lock().cloudfront.rules_mut().unknown_ids = unknown_ids;
    }

    /// Every invalidation of every distribution and tenant, oldest first.
    pub fn all_invalidations(&self) -> Vec<InvalidationInfo> {
        self.shared
            .lock()
            .cloudfront
            .all_invalidations(&self.shared.clock)
    }

    /// A new pipeline execution id (8-4-4-4-12 lowercase hex), drawn like job ids from the
    /// emulator's seeded ids: each call gives another.
    pub fn new_pipeline_execution_id(&self) -> String {
        self.shared.lock().ids.uuid()
    }

    /// Creates a CodePipeline job with a new random id and returns the id. `continuation_token`
    /// is the token its event carries, if it continues an earlier job.
    pub fn create_job(&self, continuation_token: Option<String>) -> String {
        self.shared.create_job_in(continuation_token, None)
    }

    /// Creates a job as [`Self::create_job`] does, for an action of a pipeline: `GetJobDetails`
    /// answers its `pipelineContext`, configuration, input artifacts and credentials from
    /// `context`, and the job's final result (or its timeout) ends the action execution
    /// `context.action_execution_id` in the history, as CodePipeline does.
    pub fn create_job_in(&self, context: JobContext, continuation_token: Option<String>) -> String {
        self.shared.create_job_in(continuation_token, Some(context))
    }

    /// The context a job was created with ([`Self::create_job_in`]).
    pub fn job_context(&self, job_id: &str) -> Option<JobContext> {
        self.shared.lock().executions.context(job_id).cloned()
    }

    /// Records an action execution in its pipeline's history (declaring the pipeline if
    /// needed) and returns its id: the one it carries, or a new one drawn from the seeded ids
    /// when it is empty. A zero start or update time means now. An execution with the same id
    /// in the same pipeline is replaced.
    pub fn record_action_execution(&self, mut execution: ActionExecution) -> String {
        let now = epoch_ms(self.shared.clock.wall());
        let mut state = self.shared.lock();
        if execution.action_execution_id.is_empty() {
            execution.action_execution_id = state.ids.uuid();
        }
        if execution.start_epoch_ms == 0 {
            execution.start_epoch_ms = now;
        }
        if execution.last_update_epoch_ms == 0 {
            execution.last_update_epoch_ms = execution.start_epoch_ms.max(now);
        }
        let id = execution.action_execution_id.clone();
        state.executions.record(execution);
        id
    }

    /// Sets an action execution's status (and its output, when given); its `lastUpdateTime`
    /// becomes now. Returns false if no pipeline has that execution.
    pub fn update_action_execution(
        &self,
        action_execution_id: &str,
        status: ActionExecutionStatus,
        output: Option<ActionOutput>,
    ) -> bool {
        let now = epoch_ms(self.shared.clock.wall());
        self.shared
            .lock()
            .executions
            .update(action_execution_id, status, output, now)
    }

    /// A pipeline's action executions, newest first, as `ListActionExecutions` pages through
    /// them; `None` if the pipeline is unknown.
    pub fn action_executions(&self, pipeline_name: &str) -> Option<Vec<ActionExecution>> {
        self.shared.lock().executions.newest_first(pipeline_name)
    }

    /// Declares a pipeline with no executions yet, so that `ListActionExecutions` answers an
    /// empty list rather than `PipelineNotFoundException`.
    pub fn add_pipeline(&self, pipeline_name: &str) {
        self.shared.lock().executions.add_pipeline(pipeline_name);
    }

    /// Changes how `GetJobDetails` answers (see [`crate::EmulatorConfig::get_job_details`]).
    pub fn set_get_job_details(&self, mode: GetJobDetailsMode) {
        self.shared.lock().executions.get_job_details = mode;
    }

    /// Registers a job with a chosen id. Fails if the id has the wrong shape; registering a
    /// known id again is a no-op.
    pub fn register_job(
        &self,
        job_id: &str,
        continuation_token: Option<String>,
    ) -> Result<(), EmulatorError> {
        if !codepipeline::is_job_id(job_id) {
            return Err(EmulatorError::BadJobId(job_id.to_string()));
        }
        self.shared.register_job(job_id, continuation_token);
        Ok(())
    }

    pub fn job(&self, job_id: &str) -> Option<JobRecord> {
        self.shared.lock().jobs.get(job_id).cloned()
    }

    /// Every job, in creation order.
    pub fn jobs(&self) -> Vec<JobRecord> {
        self.shared.lock().jobs.all()
    }

    /// Ends a pending job as CodePipeline does when the function never reports; later results
    /// get `InvalidJobStateException`. Returns false if the job is unknown or already ended.
    pub fn time_out_job(&self, job_id: &str, message: &str) -> bool {
        let now = self.shared.clock.elapsed_ms();
        let mut state = self.shared.lock();
        let changed = state.jobs.time_out(job_id, message, now);
        if changed {
            state.settle_execution(job_id, epoch_ms(self.shared.clock.wall()));
            drop(state);
            self.shared.bump_jobs();
        }
        changed
    }

    /// Waits (up to `timeout`, real time) for a job's result.
    pub async fn wait_for_job_result(&self, job_id: &str, timeout: Duration) -> Option<JobResult> {
        let mut changes = self.shared.jobs_changed.subscribe();
        let wait = async {
            loop {
                if let Some(result) = self.job(job_id).and_then(|j| j.result) {
                    return Some(result);
                }
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// A receiver that changes whenever a job is created or gets a result.
    pub fn watch_jobs(&self) -> watch::Receiver<u64> {
        self.shared.jobs_changed.subscribe()
    }

    /// Queues an invocation for the function: the next `GET /runtime/invocation/next` gets
    /// `event`, with a deadline `timeout` after it is taken.
    pub fn invoke(&self, event: &Value, timeout: Duration) -> Invocation {
        enqueue(&self.shared, super::MAIN_ENVIRONMENT, event, timeout)
    }

    /// Opens an execution environment: a Runtime API of its own, on a port of its own, for
    /// one function process (Lambda gives each concurrent process its own environment, so an
    /// event queued there is taken by that process alone). Every other API is served there
    /// too. The listener closes when the environment is dropped or the emulator stops.
    pub async fn open_environment(&self) -> Result<ExecutionEnvironment, EmulatorError> {
        let bind = |source| EmulatorError::Bind { port: 0, source };
        let listener = (tokio::net::TcpListener::bind(("127.0.0.1", 0)).await).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let id = self
            .shared
            .next_environment
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (closed, closed_rx) = watch::channel(false);
        let stop = super::http::Stop {
            emulator: self.shutdown.subscribe(),
            environment: Some(closed_rx),
        };
        tokio::spawn(super::http::accept_loop(
            listener,
            self.shared.clone(),
            stop,
            id,
        ));
        Ok(ExecutionEnvironment {
            shared: self.shared.clone(),
            id,
            addr,
            _closed: closed,
        })
    }

    /// Withdraws an invocation (queued or running): a later `/response` or `/error` for it is
    /// refused with `InvalidRequestID`. Returns false if it had already ended.
    pub fn abandon_invocation(&self, request_id: &str) -> bool {
        self.shared.lock().lambda.abandon(request_id)
    }

    /// The `/runtime/init/error` posts.
    pub fn init_errors(&self) -> Vec<InitError> {
        self.shared.lock().lambda.init_errors()
    }

    /// Creates an S3 bucket (an existing one keeps its objects).
    pub fn create_bucket(&self, bucket: &str) {
        self.shared.s3.store().create_bucket(bucket);
    }

    /// Stores an S3 object as PutObject would (MD5 ETag, Last-Modified now), without HTTP;
    /// `content_type` defaults to `binary/octet-stream`. The bucket must exist.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Bytes>,
        content_type: Option<&str>,
    ) -> Result<StoredObject, NoSuchBucket> {
        self.shared
            .s3
            .store()
            .put(bucket, key, body.into(), content_type.map(str::to_string))
    }

    /// Stores `object` as it is (its Content-Type, Cache-Control and metadata included),
    /// replacing any object under `key`. The bucket must exist.
    pub fn insert_object(
        &self,
        bucket: &str,
        key: &str,
        object: StoredObject,
    ) -> Result<StoredObject, NoSuchBucket> {
        self.shared.s3.store().insert(bucket, key, object)
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<StoredObject> {
        self.shared.s3.store().get(bucket, key).ok().flatten()
    }

    /// Stops serving and closes every connection.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        tokio::task::yield_now().await;
    }
}

/// Queues `event` on one environment's Runtime API and wakes its long poll.
fn enqueue(shared: &Shared, environment: u32, event: &Value, timeout: Duration) -> Invocation {
    let body = Bytes::from(event.to_string());
    let invocation = {
        let mut state = shared.lock();
        let request_id = state.ids.uuid();
        state.lambda.enqueue(environment, request_id, body, timeout)
    };
    shared.lambda_ready(environment).notify_one();
    invocation
}

/// One execution environment opened with [`EmulatorHandle::open_environment`]: give its
/// [`Self::runtime_api_address`] to one function process as `AWS_LAMBDA_RUNTIME_API`.
#[derive(Debug)]
pub struct ExecutionEnvironment {
    shared: Arc<Shared>,
    id: u32,
    addr: SocketAddr,
    /// Dropped with the environment, which closes its listener.
    _closed: watch::Sender<bool>,
}

impl ExecutionEnvironment {
    /// The value for `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT` of this environment.
    pub fn runtime_api_address(&self) -> String {
        self.addr.to_string()
    }

    /// The emulator's main port is environment 0.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Queues an invocation for this environment's process alone (see
    /// [`EmulatorHandle::invoke`]). Abandon it with [`EmulatorHandle::abandon_invocation`].
    pub fn invoke(&self, event: &Value, timeout: Duration) -> Invocation {
        enqueue(&self.shared, self.id, event, timeout)
    }

    /// Withdraws an invocation (see [`EmulatorHandle::abandon_invocation`]).
    pub fn abandon_invocation(&self, request_id: &str) -> bool {
        self.shared.lock().lambda.abandon(request_id)
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
