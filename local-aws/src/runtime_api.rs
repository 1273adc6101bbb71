//! The Lambda Runtime API (2018-06-01): invocation queues that function processes take and answer.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::clock::{duration_ms, epoch_ms};
use crate::reply::{CallInfo, Reply};
use crate::rng::SeededRng;

const JSON: &str = "application/json";

/// Where an invocation stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InvocationStatus {
    /// Waiting for the function to ask for the next event.
    Queued,
    Running {
        /// When the function took it, in milliseconds since the emulator started.
        started_ms: u64,
        /// The deadline sent in `Lambda-Runtime-Deadline-Ms` (epoch milliseconds).
        deadline_epoch_ms: u64,
    },
    Finished(InvocationOutcome),
    /// Withdrawn with [`crate::EmulatorHandle::abandon_invocation`] (the caller gave up on it).
    Abandoned,
}

/// How the function answered an invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InvocationOutcome {
    /// `POST /runtime/invocation/{id}/response`.
    Response { body: String },
    /// `POST /runtime/invocation/{id}/error`.
    Error {
        /// `errorType` of the body (or the `Lambda-Runtime-Function-Error-Type` header).
        error_type: String,
        /// `errorMessage` of the body.
        error_message: String,
    },
}

/// An invocation put on the queue with [`crate::EmulatorHandle::invoke`]: watch it here.
#[derive(Debug)]
pub struct Invocation {
    request_id: String,
    status: watch::Receiver<InvocationStatus>,
}

impl Invocation {
    /// The Lambda request id (`Lambda-Runtime-Aws-Request-Id`).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn status(&self) -> InvocationStatus {
        self.status.borrow().clone()
    }

    /// Waits until the function takes the event; returns `(started_ms, deadline_epoch_ms)`,
    /// or `None` if the invocation was abandoned (or the emulator stopped) first.
    pub async fn started(&mut self) -> Option<(u64, u64)> {
        self.wait(|status| match status {
            InvocationStatus::Queued => None,
            InvocationStatus::Running {
                started_ms,
                deadline_epoch_ms,
            } => Some(Some((*started_ms, *deadline_epoch_ms))),
            InvocationStatus::Finished(_) | InvocationStatus::Abandoned => Some(None),
        })
        .await
    }

    /// Waits until the function answers; `None` if the invocation was abandoned (or the emulator
    /// stopped) first.
    pub async fn finished(&mut self) -> Option<InvocationOutcome> {
        self.wait(|status| match status {
            InvocationStatus::Finished(outcome) => Some(Some(outcome.clone())),
            InvocationStatus::Abandoned => Some(None),
            InvocationStatus::Queued | InvocationStatus::Running { .. } => None,
        })
        .await
    }

    /// Waits until `settled` reads an answer in the status (`None`: not yet).
    async fn wait<T>(
        &mut self,
        settled: impl Fn(&InvocationStatus) -> Option<Option<T>>,
    ) -> Option<T> {
        loop {
            if let Some(answer) = settled(&self.status.borrow_and_update()) {
                return answer;
            }
            self.status.changed().await.ok()?;
        }
    }
}

/// A `POST /runtime/init/error` the function sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitError {
    /// When, in milliseconds since the emulator started.
    pub at_ms: u64,
    pub error_type: String,
    pub error_message: String,
}

#[derive(Debug)]
struct Queued {
    request_id: String,
    event: Bytes,
    timeout: Duration,
    status: watch::Sender<InvocationStatus>,
}

/// The invocation queues, one per execution environment (each environment's process asks its
/// own Runtime API for the next event, as on Lambda), and the invocations running.
#[derive(Debug, Default)]
pub(crate) struct LambdaState {
    pending: HashMap<u32, VecDeque<Queued>>,
    running: HashMap<String, watch::Sender<InvocationStatus>>,
    init_errors: Vec<InitError>,
}

fn runtime_error(status: u16, error_type: &str, message: &str) -> Reply {
    Reply::new(
        status,
        JSON,
        json!({ "errorMessage": message, "errorType": error_type }).to_string(),
    )
    .with_error_code(error_type)
}

fn accepted() -> Reply {
    Reply::new(202, JSON, r#"{"status":"OK"}"#)
}

/// Reads `{"errorType", "errorMessage"}`, falling back to the header and the raw body; and
/// what the log says of it.
fn read_error(body: &[u8], header_type: Option<&str>) -> (String, String, String) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let error_type = field("errorType")
        .or_else(|| header_type.map(str::to_string))
        .unwrap_or_else(|| "Unknown".to_string());
    let error_message =
        field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let detail = format!(
        "{error_type}: {}",
        crate::text::shorten(&error_message, 200)
    );
    (error_type, error_message, detail)
}

/// The CodePipeline job id inside an event, for the log.
pub(crate) fn event_job_id(event: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(event).ok()?;
    v.get("CodePipeline.job")?
        .get("id")?
        .as_str()
        .map(str::to_string)
}

impl LambdaState {
    /// Queues an event for one execution environment.
    pub(crate) fn enqueue(
        &mut self,
        environment: u32,
        request_id: String,
        event: Bytes,
        timeout: Duration,
    ) -> Invocation {
        let (status, rx) = watch::channel(InvocationStatus::Queued);
        self.pending
            .entry(environment)
            .or_default()
            .push_back(Queued {
                request_id: request_id.clone(),
                event,
                timeout,
                status,
            });
        Invocation {
            request_id,
            status: rx,
        }
    }

    /// Withdraws a queued or running invocation; later posts for it are refused.
    pub(crate) fn abandon(&mut self, request_id: &str) -> bool {
        if let Some(status) = self.running.remove(request_id) {
            status.send_replace(InvocationStatus::Abandoned);
            return true;
        }
        for queue in self.pending.values_mut() {
            if let Some(i) = queue.iter().position(|q| q.request_id == request_id) {
                if let Some(q) = queue.remove(i) {
                    q.status.send_replace(InvocationStatus::Abandoned);
                }
                return true;
            }
        }
        false
    }

    pub(crate) fn init_errors(&self) -> Vec<InitError> {
        self.init_errors.clone()
    }

    /// Hands out the oldest event queued for an execution environment, if any.
    pub(crate) fn take_next(
        &mut self,
        environment: u32,
        now_ms: u64,
        function_arn: &str,
        rng: &mut SeededRng,
    ) -> Option<(Reply, CallInfo)> {
        let q = self.pending.get_mut(&environment)?.pop_front()?;
        let deadline = epoch_ms(SystemTime::now()) + duration_ms(q.timeout);
        q.status.send_replace(InvocationStatus::Running {
            started_ms: now_ms,
            deadline_epoch_ms: deadline,
        });
        let epoch_secs = epoch_ms(SystemTime::now()) / 1000;
        let trace = format!(
            "Root=1-{epoch_secs:08x}-{};Parent={};Sampled=0",
            rng.hex(24),
            rng.hex(16)
        );
        let mut call = CallInfo::op("NextInvocation");
        call.lambda_request_id = Some(q.request_id.clone());
        call.job_id = event_job_id(&q.event);
        let reply = Reply::new(200, JSON, q.event.clone())
            .with_header("Lambda-Runtime-Aws-Request-Id", q.request_id.clone())
            .with_header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .with_header("Lambda-Runtime-Invoked-Function-Arn", function_arn)
            .with_header("Lambda-Runtime-Trace-Id", trace);
        self.running.insert(q.request_id.clone(), q.status);
        Some((reply, call))
    }

    /// `POST /invocation/{id}/response` and `/error`.
    pub(crate) fn answer(
        &mut self,
        request_id: &str,
        is_error: bool,
        body: &[u8],
        header_type: Option<&str>,
    ) -> (Reply, CallInfo) {
        let mut call = CallInfo::op(if is_error {
            "InvocationError"
        } else {
            "InvocationResponse"
        });
        call.lambda_request_id = Some(request_id.to_string());
        let Some(status) = self.running.remove(request_id) else {
            let reply = runtime_error(
                400,
                "InvalidRequestID",
                &format!("Invalid request ID: no invocation {request_id} is running"),
            );
            return (reply, call);
        };
        let outcome = if is_error {
            let (error_type, error_message, detail) = read_error(body, header_type);
            call.detail = Some(detail);
            InvocationOutcome::Error {
                error_type,
                error_message,
            }
        } else {
            InvocationOutcome::Response {
                body: String::from_utf8_lossy(body).into_owned(),
            }
        };
        status.send_replace(InvocationStatus::Finished(outcome));
        (accepted(), call)
    }

    /// `POST /runtime/init/error`.
    pub(crate) fn init_error(
        &mut self,
        now_ms: u64,
        body: &[u8],
        header_type: Option<&str>,
    ) -> (Reply, CallInfo) {
        let (error_type, error_message, detail) = read_error(body, header_type);
        let mut call = CallInfo::op("InitError");
        call.detail = Some(detail);
        self.init_errors.push(InitError {
            at_ms: now_ms,
            error_type,
            error_message,
        });
        (accepted(), call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_deliver_answer() {
        let mut state = LambdaState::default();
        let mut rng = SeededRng::new(1);
        let inv = state.enqueue(
            0,
            "r1".into(),
            Bytes::from_static(br#"{"CodePipeline.job":{"id":"j"}}"#),
            Duration::from_secs(3),
        );
        assert_eq!(inv.status(), InvocationStatus::Queued);
        assert!(state.take_next(1, 10, "arn", &mut rng).is_none());
        let (reply, call) = state.take_next(0, 10, "arn", &mut rng).unwrap();
        assert_eq!(call.job_id.as_deref(), Some("j"));
        assert_eq!(reply.headers["Lambda-Runtime-Aws-Request-Id"], "r1");
        assert!(matches!(
            inv.status(),
            InvocationStatus::Running { started_ms: 10, .. }
        ));
        assert!(state.take_next(0, 11, "arn", &mut rng).is_none());
        let (reply, _) = state.answer(
            "r1",
            true,
            br#"{"errorType":"Boom","errorMessage":"bad"}"#,
            None,
        );
        assert_eq!(reply.status, 202);
        assert_eq!(
            inv.status(),
            InvocationStatus::Finished(InvocationOutcome::Error {
                error_type: "Boom".into(),
                error_message: "bad".into()
            })
        );
        let (reply, _) = state.answer("r1", false, b"{}", None);
        assert_eq!(reply.error_code.as_deref(), Some("InvalidRequestID"));
    }
}
