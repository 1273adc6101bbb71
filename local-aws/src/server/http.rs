//! The HTTP side: accepting connections, routing each request to its API, injecting faults,
//! logging the call and writing the response.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::{MAX_BODY, Shared, State};
use crate::clock::epoch_ms;
use crate::cloudfront::{self, CfContext, CfError, CfOp};
use crate::codepipeline;
use crate::codepipeline::executions::Caller;
use crate::faults::{Api, FaultKind, FaultTarget};
use crate::log::RequestRecord;
use crate::reply::{CallInfo, Reply, THROTTLED, decoded_or_raw};
use crate::s3;

/// When a listener stops: the emulator shuts down, or (for an execution environment's own
/// listener) the environment is dropped.
#[derive(Clone)]
pub(super) struct Stop {
    pub emulator: watch::Receiver<bool>,
    pub environment: Option<watch::Receiver<bool>>,
}

impl Stop {
    /// Resolves when either side says stop (or is gone).
    pub(super) async fn stopped(&mut self) {
        match self.environment.as_mut() {
            Some(env) => tokio::select! {
                _ = self.emulator.changed() => {}
                _ = env.changed() => {}
            },
            None => {
                let _ = self.emulator.changed().await;
            }
        }
    }
}

/// Accepts connections until `stop`. `environment` is the execution environment whose
/// Runtime API this listener serves (0: the emulator's main port).
pub(super) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: Stop,
    environment: u32,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, shared.clone(), stop.clone(), environment));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = stop.stopped() => return,
        }
    }
}

/// Serves one connection. A handler that decides to drop the connection notifies `kill`; the
/// connection future (and with it the socket) is then dropped without a response.
async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut stop: Stop,
    environment: u32,
) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let conn_kill = kill.clone();
    let service =
        service_fn(move |req| handle(req, shared.clone(), conn_kill.clone(), environment));
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = stop.stopped() => {}
    }
}

enum Route {
    CloudFront(CfOp),
    CodePipeline,
    LambdaNext,
    LambdaAnswer { request_id: String, is_error: bool },
    LambdaInitError,
    Local(String),
    S3,
    Unsupported(Api),
}

impl Route {
    fn of(method: &str, path: &str, query: &str, has_target: bool) -> Route {
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| decoded_or_raw(s, false))
            .collect();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        match segs.as_slice() {
            ["2020-05-31", rest @ ..] => match cloudfront::route(method, rest, query) {
                Some(op) => Route::CloudFront(op),
                None => Route::Unsupported(Api::CloudFront),
            },
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
            // Path-style S3 (`/bucket/key`) is whatever no other API claims.
            _ if !has_target => Route::S3,
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
            Route::S3 => Api::S3,
            Route::Unsupported(api) => *api,
        }
    }
}

struct RequestParts {
    method: String,
    path: String,
    query: String,
    headers: hyper::HeaderMap,
    /// The body was longer than the API accepts (and is left empty).
    body_too_large: bool,
    target: Option<String>,
    error_type: Option<String>,
    body: Bytes,
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    environment: u32,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = shared.clock.elapsed_ms();
    let started = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let (target, error_type) = (
        header("x-amz-target"),
        header("lambda-runtime-function-error-type"),
    );
    let (path, query) = (parts.uri.path(), parts.uri.query().unwrap_or(""));
    let route = Route::of(parts.method.as_str(), path, query, target.is_some());
    let api = route.api();
    let limit = if api == Api::S3 {
        s3::MAX_OBJECT
    } else {
        MAX_BODY
    };
    let (body, body_too_large) = match Limited::new(body, limit).collect().await {
        Ok(collected) => (collected.to_bytes(), false),
        Err(_) => (Bytes::new(), true),
    };
    let request = RequestParts {
        method: parts.method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        target: target.map(str::to_string),
        error_type: error_type.map(str::to_string),
        body_too_large,
        body,
        headers: parts.headers,
    };
    let request_id = shared.lock().request_ids.uuid();
    let arrival = Arrival {
        shared: &shared,
        at_ms: arrived,
        started,
        api,
        request_id: &request_id,
    };

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
        if matches!(kind, FaultKind::Hang | FaultKind::Drop) {
            arrival.log(call, None, Some(kind));
            // A hang is never answered nor closed: only the caller can end it.
            if kind == FaultKind::Drop {
                kill.notify_one();
            }
            return std::future::pending().await;
        }
        let reply = fault_reply(api, kind, &request_id);
        arrival.log(call, Some(&reply), Some(kind));
        return Ok(to_response(reply, api, &request_id));
    }

    let (reply, call) = dispatch(&shared, route, &request, &request_id, environment).await;

    if shared.lock().faults.drop_after(api) {
        let mut call = call;
        let would = match &reply.error_code {
            Some(code) => format!("{} {code}", reply.status),
            None => reply.status.to_string(),
        };
        let dropped = format!("processed ({would}), response dropped");
        call.detail = Some(
            call.detail
                .map_or(dropped.clone(), |d| format!("{d}; {dropped}")),
        );
        arrival.log(call, None, Some(FaultKind::DropAfter));
        kill.notify_one();
        return std::future::pending().await;
    }
    arrival.log(call, Some(&reply), None);
    Ok(to_response(reply, api, &request_id))
}

/// What the log can say about a call that a fault stops before it is handled.
fn pre_call_info(route: &Route, request: &RequestParts) -> CallInfo {
    match route {
        Route::CloudFront(op) => op.call_info(),
        Route::CodePipeline => codepipeline::call_info(request.target.as_deref(), &request.body),
        Route::S3 => CallInfo::op(&s3::operation(
            &request.method,
            &request.path,
            &request.query,
        )),
        _ => CallInfo::op("Unsupported"),
    }
}

/// Which of the call-specific faults may hit this call.
fn fault_target(route: &Route, request: &RequestParts) -> FaultTarget {
    let target = request.target.as_deref();
    FaultTarget {
        create_invalidation: matches!(route, Route::CloudFront(op) if op.is_create()),
        final_report: matches!(route, Route::CodePipeline)
            && codepipeline::is_final_report(target, &request.body),
    }
}

fn fault_reply(api: Api, kind: FaultKind, request_id: &str) -> Reply {
    match (api, kind) {
        // S3 throttles with a 503, not a 400.
        (Api::S3, FaultKind::Throttle) => s3::error_reply(
            503,
            "SlowDown",
            "Please reduce your request rate. (injected by local-aws)",
            request_id,
        ),
        (Api::S3, _) => s3::error_reply(
            503,
            "ServiceUnavailable",
            "Service is unable to handle request. (injected by local-aws)",
            request_id,
        ),
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
    environment: u32,
) -> (Reply, CallInfo) {
    let now_ms = shared.clock.elapsed_ms();
    match route {
        Route::CloudFront(op) => {
            let ctx = CfContext {
                clock: &shared.clock,
                endpoint: &shared.endpoint,
                account_id: &shared.account_id,
                region: &shared.region,
                edges: &shared.edges,
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
            let operation = codepipeline::operation(request.target.as_deref());
            let mut state = shared.lock();
            let State {
                jobs, executions, ..
            } = &mut *state;
            let caller = Caller {
                account_id: &shared.account_id,
                region: &shared.region,
                role: &shared.role,
            };
            match operation {
                Some("GetJobDetails") => {
                    return executions.get_job_details(jobs, &request.body, &caller);
                }
                Some("ListActionExecutions") => {
                    return executions.list_action_executions(&request.body, &caller);
                }
                _ => {}
            }
            let (reply, call, changed) =
                jobs.handle(request.target.as_deref(), &request.body, now_ms);
            if changed {
                if let Some(job_id) = &call.job_id {
                    state.settle_execution(job_id, epoch_ms(shared.clock.wall()));
                }
                drop(state);
                shared.bump_jobs();
            }
            (reply, call)
        }
        Route::LambdaNext => {
            let ready = shared.lambda_ready(environment);
            loop {
                let delivered = {
                    let mut state = shared.lock();
                    let State { lambda, ids, .. } = &mut *state;
                    lambda.take_next(
                        environment,
                        shared.clock.elapsed_ms(),
                        &shared.function_arn,
                        ids,
                    )
                };
                if let Some(delivered) = delivered {
                    return delivered;
                }
                ready.notified().await;
            }
        }
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
        Route::Local(op) => super::control::answer(shared, &op, &request.body),
        Route::S3 if request.body_too_large => {
            let op = s3::operation(&request.method, &request.path, &request.query);
            let reply = s3::error_reply(
                400,
                "EntityTooLarge",
                &format!(
                    "Your proposed upload exceeds the maximum allowed size: local-aws keeps objects of at most {} bytes",
                    s3::MAX_OBJECT
                ),
                request_id,
            );
            (reply, CallInfo::op(&op))
        }
        Route::S3 => {
            let call = s3::S3Call {
                method: &request.method,
                path: &request.path,
                query: &request.query,
                headers: &request.headers,
                body: request.body.clone(),
            };
            shared.s3.serve(call, request_id).await
        }
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

/// A request as the log needs to know it before it ends.
struct Arrival<'a> {
    shared: &'a Shared,
    /// When it arrived, on the emulator's clock.
    at_ms: u64,
    /// When it arrived, in real time (the log's durations are real).
    started: std::time::Instant,
    api: Api,
    request_id: &'a str,
}

impl Arrival<'_> {
    /// Logs how the request ended: its reply (`None`: no response), and the fault that shaped it.
    fn log(&self, call: CallInfo, reply: Option<&Reply>, fault: Option<FaultKind>) {
        self.shared.log.push(RequestRecord {
            seq: 0,
            at_ms: self.at_ms,
            duration_ms: crate::clock::duration_ms(self.started.elapsed()),
            api: self.api,
            operation: call.operation,
            request_id: self.request_id.to_string(),
            distribution_id: call.distribution_id,
            distribution_tenant_id: call.distribution_tenant_id,
            invalidation_id: call.invalidation_id,
            job_id: call.job_id,
            lambda_request_id: call.lambda_request_id,
            status: reply.map(|r| r.status),
            error_code: reply.and_then(|r| r.error_code.clone()),
            fault,
            detail: call.detail,
            caller_reference_reuse: call.caller_reference_reuse,
            body_bytes: call.body_bytes,
        });
    }
}

fn to_response(reply: Reply, api: Api, request_id: &str) -> Response<Full<Bytes>> {
    let mut headers = reply.headers;
    let name = match api {
        Api::CloudFront | Api::S3 => Some("x-amz-request-id"),
        Api::CodePipeline => Some("x-amzn-requestid"),
        Api::LambdaRuntime | Api::Local => None,
    };
    // The request id is a uuid, always a valid value; S3's own, when it sends one, wins.
    if let (Some(name), Ok(value)) = (name, hyper::header::HeaderValue::from_str(request_id)) {
        headers.entry(name).or_insert(value);
    }
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = headers;
    response
}
