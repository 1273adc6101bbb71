//! The emulator: one HTTP server on 127.0.0.1 serving CloudFront, CodePipeline, the Lambda
//! Runtime API and the `/_local/` control endpoints, with fault injection and a request log.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, broadcast, watch};

use crate::clock::Clock;
use crate::cloudfront::{
    self, CfContext, CfError, CfOp, CloudFrontRules, CloudFrontState, DistributionConfig,
    DistributionTenantConfig, InvalidationInfo, TenantSetupError, UnknownIds,
};
use crate::codepipeline::{self, JobRecord, JobResult, JobStore};
use crate::duration::DurationRange;
use crate::faults::{Api, FaultKind, FaultState, FaultTarget, Faults};
use crate::log::{RequestLog, RequestRecord};
use crate::reply::{CallInfo, Reply, THROTTLED, percent_decode};
use crate::rng::{SeededRng, seed_from_time};
use crate::runtime_api::{InitError, Invocation, LambdaState};

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
                lambda: LambdaState::default(),
                faults: FaultState::new(config.faults.clone(), seed),
                ids: SeededRng::with_stream(seed, 3),
                request_ids: SeededRng::with_stream(seed, 4),
            }),
            log: RequestLog::new(),
            lambda_ready: Notify::new(),
            jobs_changed,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        tokio::spawn(accept_loop(listener, shared.clone(), shutdown_rx));
        Ok(EmulatorHandle {
            shared,
            addr,
            shutdown,
        })
    }
}

/// A running emulator. Dropping it stops the server (open connections are closed).
#[derive(Debug)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

#[derive(Debug)]
struct Shared {
    clock: Clock,
    endpoint: String,
    account_id: String,
    role: String,
    function_arn: String,
    seed: u64,
    state: Mutex<State>,
    log: RequestLog,
    lambda_ready: Notify,
    jobs_changed: watch::Sender<u64>,
}

#[derive(Debug)]
struct State {
    cloudfront: CloudFrontState,
    jobs: JobStore,
    lambda: LambdaState,
    faults: FaultState,
    ids: SeededRng,
    request_ids: SeededRng,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump_jobs(&self) {
        self.jobs_changed.send_modify(|v| *v += 1);
    }
}

impl EmulatorHandle {
    /// The base URL of every API: `http://127.0.0.1:PORT` (use it as `--endpoint-url`,
    /// `AWS_ENDPOINT_URL_CLOUDFRONT`, `AWS_ENDPOINT_URL_CODEPIPELINE`).
    pub fn endpoint(&self) -> String {
        self.shared.endpoint.clone()
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT`.
    pub fn runtime_api_address(&self) -> String {
        self.addr.to_string()
    }

    /// The seed in use (repeat a run by passing it back in [`EmulatorConfig::seed`]).
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// The emulator's clock (advance it in tests built on [`Clock::manual`]).
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The ARN sent as `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> String {
        self.shared.function_arn.clone()
    }

    /// The account id used in ARNs and events.
    pub fn account_id(&self) -> String {
        self.shared.account_id.clone()
    }

    /// Every call so far, in arrival order.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared.log.snapshot()
    }

    /// A live feed of calls as they are logged.
    pub fn subscribe_requests(&self) -> broadcast::Receiver<RequestRecord> {
        self.shared.log.subscribe()
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

    /// The distributions declared.
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
            .invalidations(distribution_id, &self.shared.clock)
            .unwrap_or_default()
    }

    /// The invalidations of one distribution tenant, newest first (empty if it is not
    /// declared); each has `distribution_tenant_id` set.
    pub fn tenant_invalidations(&self, tenant_id: &str) -> Vec<InvalidationInfo> {
        self.shared
            .lock()
            .cloudfront
            .tenant_invalidations(tenant_id, &self.shared.clock)
            .unwrap_or_default()
    }

    /// Turns the strict CallerReference mode on or off (see
    /// [`EmulatorConfig::strict_caller_reference`]).
    pub fn set_strict_caller_reference(&self, strict: bool) {
        let mut state = self.shared.lock();
        let rules = CloudFrontRules {
            strict_caller_reference: strict,
            ..state.cloudfront.rules()
        };
        state.cloudfront.set_rules(rules);
    }

    /// Changes how calls on ids that do not exist are answered (see
    /// [`EmulatorConfig::unknown_ids`]).
    pub fn set_unknown_ids(&self, unknown_ids: UnknownIds) {
        let mut state = self.shared.lock();
        let rules = CloudFrontRules {
            unknown_ids,
            ..state.cloudfront.rules()
        };
        state.cloudfront.set_rules(rules);
    }

    /// Every invalidation of every distribution and tenant, oldest first.
    pub fn all_invalidations(&self) -> Vec<InvalidationInfo> {
        self.shared
            .lock()
            .cloudfront
            .all_invalidations(&self.shared.clock)
    }

    /// Creates a CodePipeline job with a new random id and returns the id. `continuation_token`
    /// is the token its event carries, if it continues an earlier job.
    pub fn create_job(&self, continuation_token: Option<String>) -> String {
        let now = self.shared.clock.elapsed_ms();
        let id = {
            let mut state = self.shared.lock();
            let id = loop {
                let id = state.ids.uuid();
                if state.jobs.get(&id).is_none() {
                    break id;
                }
            };
            state.jobs.create(&id, continuation_token, now);
            id
        };
        self.shared.bump_jobs();
        id
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
        let now = self.shared.clock.elapsed_ms();
        self.shared
            .lock()
            .jobs
            .create(job_id, continuation_token, now);
        self.shared.bump_jobs();
        Ok(())
    }

    /// One job, if it exists.
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
        let changed = self.shared.lock().jobs.time_out(job_id, message, now);
        if changed {
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
        let body = Bytes::from(event.to_string());
        let invocation = {
            let mut state = self.shared.lock();
            let request_id = state.ids.uuid();
            state.lambda.enqueue(request_id, body, timeout)
        };
        self.shared.lambda_ready.notify_one();
        invocation
    }

    /// Withdraws an invocation (queued or running): a later `/response` or `/error` for it is
    /// refused with `InvalidRequestID`. Returns false if it had already ended.
    pub fn abandon_invocation(&self, request_id: &str) -> bool {
        self.shared.lock().lambda.abandon(request_id)
    }

    /// The `/runtime/init/error` posts received.
    pub fn init_errors(&self) -> Vec<InitError> {
        self.shared.lock().lambda.init_errors()
    }

    /// Stops serving and closes every connection.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        tokio::task::yield_now().await;
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, shared.clone(), shutdown.clone()));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Serves one connection. A handler that decides to drop the connection notifies `kill`; the
/// connection future (and with it the socket) is then dropped without a response.
async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let conn_kill = kill.clone();
    let service = service_fn(move |req| handle(req, shared.clone(), conn_kill.clone()));
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = shutdown.changed() => {}
    }
}

enum Route {
    CloudFront(CfOp),
    CodePipeline,
    LambdaNext,
    LambdaAnswer { request_id: String, is_error: bool },
    LambdaInitError,
    Local(String),
    Unsupported(Api),
}

impl Route {
    fn of(method: &str, path: &str, query: &str, has_target: bool) -> Route {
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false))
            .collect();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        match segs.as_slice() {
            ["2020-05-31", rest @ ..] => {
                let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
                match cloudfront::route(method, &rest, query) {
                    Some(op) => Route::CloudFront(op),
                    None => Route::Unsupported(Api::CloudFront),
                }
            }
            ["2018-06-01", "runtime", "invocation", "next"] if method == "GET" => Route::LambdaNext,
            [
                "2018-06-01",
                "runtime",
                "invocation",
                id,
                kind @ ("response" | "error"),
            ] if method == "POST" => Route::LambdaAnswer {
                request_id: id.to_string(),
                is_error: *kind == "error",
            },
            ["2018-06-01", "runtime", "init", "error"] if method == "POST" => {
                Route::LambdaInitError
            }
            ["2018-06-01", ..] => Route::Unsupported(Api::LambdaRuntime),
            ["_local", rest @ ..] => Route::Local(format!("{method} /{}", rest.join("/"))),
            [] if method == "POST" && has_target => Route::CodePipeline,
            _ => Route::Unsupported(Api::Local),
        }
    }

    fn api(&self) -> Api {
        match self {
            Route::CloudFront(_) => Api::CloudFront,
            Route::CodePipeline => Api::CodePipeline,
            Route::LambdaNext | Route::LambdaAnswer { .. } | Route::LambdaInitError => {
                Api::LambdaRuntime
            }
            Route::Local(_) => Api::Local,
            Route::Unsupported(api) => *api,
        }
    }
}

struct RequestParts {
    method: String,
    path: String,
    target: Option<String>,
    error_type: Option<String>,
    body: Bytes,
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    kill: Arc<Notify>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = shared.clock.elapsed_ms();
    let started = std::time::Instant::now();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let target = header("x-amz-target");
    let error_type = header("lambda-runtime-function-error-type");
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let route = Route::of(&method, &path, &query, target.is_some());
    let api = route.api();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let request = RequestParts {
        method,
        path,
        target,
        error_type,
        body,
    };
    let request_id = shared.lock().request_ids.uuid();

    let latency = shared.lock().faults.latency(api);
    if let Some(delay) = latency {
        tokio::time::sleep(delay).await;
    }

    let fault = shared
        .lock()
        .faults
        .before(api, fault_target(&route, &request));
    if let Some(kind) = fault {
        let call = pre_call_info(&route, &request);
        if kind == FaultKind::Hang {
            log(
                &shared,
                (arrived, started),
                api,
                &request_id,
                call,
                None,
                Some(kind),
            );
            // Never answered, never closed: only the caller can end it.
            return std::future::pending().await;
        }
        if kind == FaultKind::Drop {
            log(
                &shared,
                (arrived, started),
                api,
                &request_id,
                call,
                None,
                Some(kind),
            );
            kill.notify_one();
            return std::future::pending().await;
        }
        let reply = fault_reply(api, kind, &request_id);
        log(
            &shared,
            (arrived, started),
            api,
            &request_id,
            call,
            Some(&reply),
            Some(kind),
        );
        return Ok(to_response(reply, api, &request_id));
    }

    let (reply, call) = dispatch(&shared, route, &request, &request_id).await;

    if shared.lock().faults.drop_after(api) {
        let mut call = call;
        let would = match &reply.error_code {
            Some(code) => format!("{} {code}", reply.status),
            None => reply.status.to_string(),
        };
        call.detail = Some(match call.detail {
            Some(d) => format!("{d}; processed ({would}), response dropped"),
            None => format!("processed ({would}), response dropped"),
        });
        log(
            &shared,
            (arrived, started),
            api,
            &request_id,
            call,
            None,
            Some(FaultKind::DropAfter),
        );
        kill.notify_one();
        return std::future::pending().await;
    }
    log(
        &shared,
        (arrived, started),
        api,
        &request_id,
        call,
        Some(&reply),
        None,
    );
    Ok(to_response(reply, api, &request_id))
}

/// What the log can say about a call that a fault stops before it is handled.
fn pre_call_info(route: &Route, request: &RequestParts) -> CallInfo {
    match route {
        Route::CloudFront(op) => op.call_info(),
        Route::CodePipeline => {
            let op = request
                .target
                .as_deref()
                .and_then(|t| t.strip_prefix(codepipeline::TARGET_PREFIX))
                .unwrap_or("Unsupported");
            let mut call = CallInfo::op(op);
            call.job_id = JobStore::peek_job_id(&request.body);
            call
        }
        _ => CallInfo::op("Unsupported"),
    }
}

/// Which of the call-specific faults may hit this call.
fn fault_target(route: &Route, request: &RequestParts) -> FaultTarget {
    match route {
        Route::CloudFront(op) => FaultTarget {
            create_invalidation: op.is_create(),
            final_report: false,
        },
        Route::CodePipeline => FaultTarget {
            create_invalidation: false,
            final_report: codepipeline::is_final_report(request.target.as_deref(), &request.body),
        },
        _ => FaultTarget::default(),
    }
}

fn fault_reply(api: Api, kind: FaultKind, request_id: &str) -> Reply {
    match (api, kind) {
        (Api::CloudFront, FaultKind::Unavailable) => CfError::ServiceUnavailable(
            "CloudFront is temporarily unavailable. Please try again later. (injected by local-aws)"
                .to_string(),
        )
        .reply(request_id),
        (Api::CloudFront, FaultKind::Throttle) => CfError::Throttling.reply(request_id),
        (Api::CloudFront, FaultKind::TooMany) => CfError::TooManyInvalidationsInProgress(
            "Processing your request would cause the maximum number of in-progress invalidations to be exceeded. (injected by local-aws)"
                .to_string(),
        )
        .reply(request_id),
        // AWS's own words, as for CloudFront's Throttling.
        (_, FaultKind::Throttle | FaultKind::ThrottleFinal) => {
            codepipeline::error_reply(400, "ThrottlingException", THROTTLED)
        }
        _ => codepipeline::error_reply(
            503,
            "ServiceUnavailableException",
            "The service is temporarily unavailable. (injected by local-aws)",
        ),
    }
}

async fn dispatch(
    shared: &Arc<Shared>,
    route: Route,
    request: &RequestParts,
    request_id: &str,
) -> (Reply, CallInfo) {
    let now_ms = shared.clock.elapsed_ms();
    match route {
        Route::CloudFront(op) => {
            let ctx = CfContext {
                clock: &shared.clock,
                endpoint: &shared.endpoint,
                account_id: &shared.account_id,
                role: &shared.role,
                request_id,
            };
            let mut state = shared.lock();
            let State {
                cloudfront, ids, ..
            } = &mut *state;
            cloudfront.handle(&op, &request.body, &ctx, ids)
        }
        Route::CodePipeline => {
            let (reply, call, changed) =
                shared
                    .lock()
                    .jobs
                    .handle(request.target.as_deref(), &request.body, now_ms);
            if changed {
                shared.bump_jobs();
            }
            (reply, call)
        }
        Route::LambdaNext => loop {
            let delivered = {
                let mut state = shared.lock();
                let State { lambda, ids, .. } = &mut *state;
                lambda.take_next(shared.clock.elapsed_ms(), &shared.function_arn, ids)
            };
            if let Some(d) = delivered {
                return (d.reply, d.call);
            }
            shared.lambda_ready.notified().await;
        },
        Route::LambdaAnswer {
            request_id: id,
            is_error,
        } => {
            shared
                .lock()
                .lambda
                .answer(&id, is_error, &request.body, request.error_type.as_deref())
        }
        Route::LambdaInitError => {
            shared
                .lock()
                .lambda
                .init_error(now_ms, &request.body, request.error_type.as_deref())
        }
        Route::Local(op) => local(shared, &op, &request.body),
        Route::Unsupported(api) => {
            let message = format!(
                "local-aws does not emulate {} {}",
                request.method, request.path
            );
            let reply = match api {
                Api::CloudFront => CfError::NotImplemented(message).reply(request_id),
                _ => codepipeline::error_reply(404, "UnknownOperationException", &message),
            };
            (reply, CallInfo::op("Unsupported"))
        }
    }
}

fn json_reply(status: u16, value: &Value) -> Reply {
    Reply::new(status, "application/json", value.to_string())
}

/// The `/_local/` control endpoints (for `local-aws serve` users).
fn local(shared: &Arc<Shared>, op: &str, body: &[u8]) -> (Reply, CallInfo) {
    let clock = &shared.clock;
    let to_json = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    match op {
        "POST /jobs" => {
            let asked: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let token = asked
                .get("continuationToken")
                .and_then(Value::as_str)
                .map(str::to_string);
            let id = match asked.get("jobId").and_then(Value::as_str) {
                Some(id) if !codepipeline::is_job_id(id) => {
                    let reply = json_reply(400, &json!({"message": format!("invalid job id '{id}': expected 8-4-4-4-12 lowercase hex digits")}))
                        .with_error_code("ValidationException");
                    return (reply, CallInfo::op("CreateJob"));
                }
                Some(id) => {
                    shared.lock().jobs.create(id, token, clock.elapsed_ms());
                    id.to_string()
                }
                None => {
                    let mut state = shared.lock();
                    let id = loop {
                        let id = state.ids.uuid();
                        if state.jobs.get(&id).is_none() {
                            break id;
                        }
                    };
                    state.jobs.create(&id, token, clock.elapsed_ms());
                    id
                }
            };
            shared.bump_jobs();
            let mut call = CallInfo::op("CreateJob");
            call.job_id = Some(id.clone());
            (json_reply(201, &json!({ "jobId": id })), call)
        }
        "GET /jobs" => {
            let jobs = shared.lock().jobs.all();
            (
                json_reply(200, &to_json(serde_json::to_value(jobs))),
                CallInfo::op("ListJobs"),
            )
        }
        "GET /requests" => {
            let log = shared.log.snapshot();
            (
                json_reply(200, &to_json(serde_json::to_value(log))),
                CallInfo::op("ListRequests"),
            )
        }
        "GET /invalidations" => {
            let all = shared.lock().cloudfront.all_invalidations(clock);
            (
                json_reply(200, &to_json(serde_json::to_value(all))),
                CallInfo::op("ListAllInvalidations"),
            )
        }
        "GET /faults" => {
            let faults = shared.lock().faults.faults().to_string();
            (
                json_reply(200, &json!({ "faults": faults })),
                CallInfo::op("GetFaults"),
            )
        }
        "PUT /faults" | "POST /faults" => {
            let text = String::from_utf8_lossy(body);
            match text.trim().parse::<Faults>() {
                Ok(faults) => {
                    let shown = faults.to_string();
                    shared.lock().faults.set(faults);
                    (
                        json_reply(200, &json!({ "faults": shown })),
                        CallInfo::op("SetFaults"),
                    )
                }
                Err(e) => (
                    json_reply(400, &json!({ "message": e.to_string() }))
                        .with_error_code("InvalidFaults"),
                    CallInfo::op("SetFaults"),
                ),
            }
        }
        _ => (
            json_reply(
                404,
                &json!({ "message": format!("no control endpoint {op}; see docs/local-aws.md") }),
            )
            .with_error_code("NotFound"),
            CallInfo::op("Unsupported"),
        ),
    }
}

fn log(
    shared: &Shared,
    (arrived_ms, started): (u64, std::time::Instant),
    api: Api,
    request_id: &str,
    call: CallInfo,
    reply: Option<&Reply>,
    fault: Option<FaultKind>,
) {
    let status = reply.map(|r| r.status);
    shared.log.push(RequestRecord {
        seq: 0,
        at_ms: arrived_ms,
        duration_ms: crate::clock::duration_ms(started.elapsed()),
        api,
        operation: call.operation,
        request_id: request_id.to_string(),
        distribution_id: call.distribution_id,
        distribution_tenant_id: call.distribution_tenant_id,
        invalidation_id: call.invalidation_id,
        job_id: call.job_id,
        lambda_request_id: call.lambda_request_id,
        status,
        error_code: reply.and_then(|r| r.error_code.clone()),
        fault,
        detail: call.detail,
        caller_reference_reuse: call.caller_reference_reuse,
    });
}

fn to_response(reply: Reply, api: Api, request_id: &str) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type);
    builder = match api {
        Api::CloudFront => builder.header("x-amz-request-id", request_id),
        Api::CodePipeline => builder.header("x-amzn-RequestId", request_id),
        Api::LambdaRuntime | Api::Local => builder,
    };
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder
        .body(Full::new(reply.body.clone()))
        .unwrap_or_else(|_| {
            // Only a bad header value can fail here; answer without the extra headers.
            let mut fallback = Response::new(Full::new(reply.body));
            *fallback.status_mut() = hyper::StatusCode::from_u16(reply.status)
                .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            fallback
        })
}
