//! CodePipeline job results (JSON 1.1): PutJobSuccessResult and PutJobFailureResult, with the
//! service model's validation and the job state rules; `executions` holds the pipelines'
//! action execution history (GetJobDetails, ListActionExecutions).

pub mod executions;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::reply::{CallInfo, Reply};

/// The `X-Amz-Target` prefix of CodePipeline operations.
pub const TARGET_PREFIX: &str = "CodePipeline_20150709.";
/// The failure types `PutJobFailureResult` accepts.
pub const FAILURE_TYPES: [&str; 6] = [
    "JobFailed",
    "ConfigurationError",
    "PermissionError",
    "RevisionOutOfSync",
    "RevisionUnavailable",
    "SystemUnavailable",
];
/// Largest total size (keys and values, in characters) of a job's output variables.
pub const MAX_OUTPUT_VARIABLES_SIZE: usize = 122_880;

const JSON: &str = "application/x-amz-json-1.1";
const JOB_ID_PATTERN: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/// What a job ended with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobResult {
    /// `PutJobSuccessResult`. With a continuation token it means "still running, invoke me
    /// again"; without one the action succeeded.
    Succeeded {
        /// The continuation token, if the function asked to be invoked again.
        continuation_token: Option<String>,
        /// `executionDetails.summary`.
        summary: Option<String>,
        /// `executionDetails.externalExecutionId`.
        external_execution_id: Option<String>,
        /// `executionDetails.percentComplete`.
        percent_complete: Option<u8>,
        /// `outputVariables`.
        output_variables: BTreeMap<String, String>,
        /// `currentRevision`, as sent.
        current_revision: Option<Value>,
    },
    /// `PutJobFailureResult`.
    Failed {
        /// `failureDetails.type` (`JobFailed`, `ConfigurationError`, ...).
        failure_type: String,
        /// `failureDetails.message`.
        message: String,
        /// `failureDetails.externalExecutionId`.
        external_execution_id: Option<String>,
    },
    /// CodePipeline gave up on the job itself (no reply in time); set by the pipeline driver
    /// or [`crate::EmulatorHandle::time_out_job`].
    TimedOut {
        /// Why.
        message: String,
    },
}

impl JobResult {
    /// Whether this result asks for another invocation.
    pub fn continuation_token(&self) -> Option<&str> {
        match self {
            JobResult::Succeeded {
                continuation_token, ..
            } => continuation_token.as_deref(),
            _ => None,
        }
    }
}

/// A CodePipeline job as the emulator holds it (and as a pipeline run reports it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// Its place in the order jobs were created: 1 for the first.
    pub number: u32,
    /// The job id.
    pub job_id: String,
    /// When it was created, in milliseconds since the emulator started.
    pub created_ms: u64,
    /// The continuation token its event carried (`data.continuationToken`), if any.
    pub continuation_token: Option<String>,
    /// The result, once reported.
    pub result: Option<JobResult>,
    /// When the result was recorded, in milliseconds since the emulator started.
    pub result_ms: Option<u64>,
    /// PutJob calls for this job that were accepted (0 or 1: the first result wins). Calls
    /// stopped by an injected fault before reaching the job are not counted.
    pub results_accepted: u32,
    /// PutJob calls for this job refused with `InvalidJobStateException` because it already had
    /// a result (a duplicate delivery, a retry after a lost reply).
    pub results_refused: u32,
}

#[derive(Debug, Default)]
pub(crate) struct JobStore {
    jobs: BTreeMap<String, JobRecord>,
    order: Vec<String>,
}

/// An error reply in CodePipeline's JSON shape.
pub(crate) fn error_reply(status: u16, code: &str, message: &str) -> Reply {
    let body = json!({ "__type": code, "message": message }).to_string();
    Reply::new(status, JSON, body).with_error_code(code)
}

/// Whether a call reports a job's final result: `PutJobFailureResult`, or
/// `PutJobSuccessResult` without a continuation token (a body that is not JSON counts as one:
/// it names no token).
pub(crate) fn is_final_report(target: Option<&str>, body: &[u8]) -> bool {
    match target.and_then(|t| t.strip_prefix(TARGET_PREFIX)) {
        Some("PutJobFailureResult") => true,
        Some("PutJobSuccessResult") => serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("continuationToken").cloned())
            .is_none_or(|t| t.is_null()),
        _ => false,
    }
}

/// Whether `id` has the job id shape.
pub fn is_job_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn is_output_variable_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'-' | b'_'))
}

/// Collects validation messages in AWS's wording.
#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    fn add(&mut self, value: &Value, at: &str, constraint: &str) {
        let shown = match value {
            Value::String(s) => format!("'{s}'"),
            Value::Null => "null".to_string(),
            other => format!("'{other}'"),
        };
        self.0.push(format!(
            "Value {shown} at '{at}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn length(&mut self, value: &Value, text: &str, at: &str, min: usize, max: usize) {
        let n = text.chars().count();
        if n < min {
            self.add(
                value,
                at,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.add(
                value,
                at,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    fn into_message(self) -> Option<String> {
        match self.0.len() {
            0 => None,
            1 => Some(format!("1 validation error detected: {}", self.0[0])),
            n => Some(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            )),
        }
    }
}

/// A type error in the body: AWS answers these with `SerializationException`.
struct WrongType(String);

fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a str>, WrongType> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(WrongType(format!("'{at}' must be a string"))),
    }
}

fn opt_obj<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a Map<String, Value>>, WrongType> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(WrongType(format!("'{at}' must be an object"))),
    }
}

impl JobStore {
    /// Registers a job; returns false if the id is already known.
    pub(crate) fn create(
        &mut self,
        job_id: &str,
        continuation_token: Option<String>,
        now_ms: u64,
    ) -> bool {
        if self.jobs.contains_key(job_id) {
            return false;
        }
        self.jobs.insert(
            job_id.to_string(),
            JobRecord {
                number: u32::try_from(self.order.len() + 1).unwrap_or(u32::MAX),
                job_id: job_id.to_string(),
                created_ms: now_ms,
                continuation_token,
                result: None,
                result_ms: None,
                results_accepted: 0,
                results_refused: 0,
            },
        );
        self.order.push(job_id.to_string());
        true
    }

    pub(crate) fn get(&self, job_id: &str) -> Option<&JobRecord> {
        self.jobs.get(job_id)
    }

    pub(crate) fn all(&self) -> Vec<JobRecord> {
        self.order
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .cloned()
            .collect()
    }

    /// Ends a pending job as CodePipeline itself would; false if unknown or already ended.
    pub(crate) fn time_out(&mut self, job_id: &str, message: &str, now_ms: u64) -> bool {
        match self.jobs.get_mut(job_id) {
            Some(job) if job.result.is_none() => {
                job.result = Some(JobResult::TimedOut {
                    message: message.to_string(),
                });
                job.result_ms = Some(now_ms);
                true
            }
            _ => false,
        }
    }

    /// The job id named in a request body, for the log (even when the call is refused).
    pub(crate) fn peek_job_id(body: &[u8]) -> Option<String> {
        let v: Value = serde_json::from_slice(body).ok()?;
        v.get("jobId")?.as_str().map(str::to_string)
    }

    /// Handles one call. Returns the reply, the log facts, and whether a job changed.
    pub(crate) fn handle(
        &mut self,
        target: Option<&str>,
        body: &[u8],
        now_ms: u64,
    ) -> (Reply, CallInfo, bool) {
        let operation = target
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .unwrap_or("");
        let mut call = CallInfo::op(if operation.is_empty() {
            "Unsupported"
        } else {
            operation
        });
        call.job_id = Self::peek_job_id(body);
        let is_success = match operation {
            "PutJobSuccessResult" => true,
            "PutJobFailureResult" => false,
            _ => {
                let shown = target.unwrap_or("(no X-Amz-Target header)");
                let reply = error_reply(
                    400,
                    "UnknownOperationException",
                    &format!("local-aws does not emulate the operation {shown}"),
                );
                return (reply, call, false);
            }
        };
        let parsed: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                let reply = error_reply(
                    400,
                    "SerializationException",
                    &format!("The request body is not valid JSON: {e}"),
                );
                return (reply, call, false);
            }
        };
        let Some(obj) = parsed.as_object() else {
            let reply = error_reply(
                400,
                "SerializationException",
                "The request body must be a JSON object.",
            );
            return (reply, call, false);
        };
        let result = if is_success {
            validate_success(obj)
        } else {
            validate_failure(obj)
        };
        let result = match result {
            Ok(Ok(result)) => result,
            Ok(Err((code, message))) => return (error_reply(400, code, &message), call, false),
            Err(WrongType(m)) => {
                return (error_reply(400, "SerializationException", &m), call, false);
            }
        };
        call.detail = Some(describe(&result));
        let job_id = call.job_id.clone().unwrap_or_default();
        let Some(job) = self.jobs.get_mut(&job_id) else {
            let reply = error_reply(
                400,
                "JobNotFoundException",
                &format!("The job {job_id} was specified in an invalid format or cannot be found."),
            );
            return (reply, call, false);
        };
        if let Some(previous) = &job.result {
            job.results_refused += 1;
            let state = match previous {
                JobResult::Succeeded {
                    continuation_token: Some(_),
                    ..
                } => "Succeeded (with a continuation token)",
                JobResult::Succeeded { .. } => "Succeeded",
                JobResult::Failed { .. } => "Failed",
                JobResult::TimedOut { .. } => "Failed (timed out)",
            };
            let reply = error_reply(
                400,
                "InvalidJobStateException",
                &format!("The job {job_id} is in state {state} and cannot accept another result."),
            );
            return (reply, call, false);
        }
        job.result = Some(result);
        job.result_ms = Some(now_ms);
        job.results_accepted += 1;
        (Reply::new(200, JSON, "{}"), call, true)
    }
}

fn describe(result: &JobResult) -> String {
    match result {
        JobResult::Succeeded {
            continuation_token: Some(t),
            ..
        } => format!("continuation token ({} chars)", t.chars().count()),
        JobResult::Succeeded {
            output_variables, ..
        } => format!(
            "final success, {} output variable(s)",
            output_variables.len()
        ),
        JobResult::Failed {
            failure_type,
            message,
            ..
        } => format!(
            "{failure_type}: {}",
            message.chars().take(200).collect::<String>()
        ),
        JobResult::TimedOut { message } => message.clone(),
    }
}

type Checked = Result<Result<JobResult, (&'static str, String)>, WrongType>;

fn check_job_id(obj: &Map<String, Value>, v: &mut Violations) -> Result<(), WrongType> {
    match obj.get("jobId") {
        None | Some(Value::Null) => v.add(&Value::Null, "jobId", "Member must not be null"),
        Some(Value::String(id)) => {
            if !is_job_id(id) {
                v.add(
                    &Value::String(id.clone()),
                    "jobId",
                    &format!("Member must satisfy regular expression pattern: {JOB_ID_PATTERN}"),
                );
            }
        }
        Some(_) => return Err(WrongType("'jobId' must be a string".into())),
    }
    Ok(())
}

fn validate_success(obj: &Map<String, Value>) -> Checked {
    let mut v = Violations::default();
    check_job_id(obj, &mut v)?;
    let token = opt_str(obj, "continuationToken", "continuationToken")?;
    if let Some(t) = token {
        v.length(&Value::String(t.into()), t, "continuationToken", 1, 2048);
    }
    let (mut summary, mut external, mut percent) = (None, None, None);
    if let Some(details) = opt_obj(obj, "executionDetails", "executionDetails")? {
        summary = opt_str(details, "summary", "executionDetails.summary")?;
        if let Some(s) = summary {
            v.length(
                &Value::String(s.into()),
                s,
                "executionDetails.summary",
                1,
                2048,
            );
        }
        external = opt_str(
            details,
            "externalExecutionId",
            "executionDetails.externalExecutionId",
        )?;
        if let Some(e) = external {
            v.length(
                &Value::String(e.into()),
                e,
                "executionDetails.externalExecutionId",
                1,
                1500,
            );
        }
        match details.get("percentComplete") {
            None | Some(Value::Null) => {}
            Some(n @ Value::Number(num)) => match num.as_i64() {
                Some(p) if (0..=100).contains(&p) => percent = u8::try_from(p).ok(),
                Some(p) if p < 0 => v.add(
                    n,
                    "executionDetails.percentComplete",
                    "Member must have value greater than or equal to 0",
                ),
                Some(_) => v.add(
                    n,
                    "executionDetails.percentComplete",
                    "Member must have value less than or equal to 100",
                ),
                None => {
                    return Err(WrongType(
                        "'executionDetails.percentComplete' must be an integer".into(),
                    ));
                }
            },
            Some(_) => {
                return Err(WrongType(
                    "'executionDetails.percentComplete' must be an integer".into(),
                ));
            }
        }
    }
    let mut output_variables = BTreeMap::new();
    let vars = opt_obj(obj, "outputVariables", "outputVariables")?;
    if let Some(vars) = vars {
        for (key, value) in vars {
            let Value::String(value) = value else {
                return Err(WrongType(format!(
                    "'outputVariables.{key}' must be a string"
                )));
            };
            if !is_output_variable_key(key) {
                v.add(
                    &Value::String(key.clone()),
                    "outputVariables",
                    "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [A-Za-z0-9@\\-_]+]",
                );
            }
            output_variables.insert(key.clone(), value.clone());
        }
    }
    let current_revision = match opt_obj(obj, "currentRevision", "currentRevision")? {
        None => None,
        Some(rev) => {
            match opt_str(rev, "revision", "currentRevision.revision")? {
                None => v.add(
                    &Value::Null,
                    "currentRevision.revision",
                    "Member must not be null",
                ),
                Some(r) => v.length(
                    &Value::String(r.into()),
                    r,
                    "currentRevision.revision",
                    1,
                    1500,
                ),
            }
            match opt_str(rev, "changeIdentifier", "currentRevision.changeIdentifier")? {
                None => v.add(
                    &Value::Null,
                    "currentRevision.changeIdentifier",
                    "Member must not be null",
                ),
                Some(c) => v.length(
                    &Value::String(c.into()),
                    c,
                    "currentRevision.changeIdentifier",
                    1,
                    100,
                ),
            }
            Some(Value::Object(rev.clone()))
        }
    };
    if let Some(message) = v.into_message() {
        return Ok(Err(("ValidationException", message)));
    }
    if token.is_some() && vars.is_some() {
        return Ok(Err((
            "ValidationException",
            "Output variables cannot be set when a continuation token is provided; report them with the final PutJobSuccessResult.".to_string(),
        )));
    }
    let size: usize = output_variables
        .iter()
        .map(|(k, val)| k.chars().count() + val.chars().count())
        .sum();
    if size > MAX_OUTPUT_VARIABLES_SIZE {
        return Ok(Err((
            "OutputVariablesSizeExceededException",
            format!(
                "The output variables total {size} characters, over the limit of {MAX_OUTPUT_VARIABLES_SIZE}."
            ),
        )));
    }
    Ok(Ok(JobResult::Succeeded {
        continuation_token: token.map(str::to_string),
        summary: summary.map(str::to_string),
        external_execution_id: external.map(str::to_string),
        percent_complete: percent,
        output_variables,
        current_revision,
    }))
}

fn validate_failure(obj: &Map<String, Value>) -> Checked {
    let mut v = Violations::default();
    check_job_id(obj, &mut v)?;
    let (mut failure_type, mut message, mut external) = (None, None, None);
    match opt_obj(obj, "failureDetails", "failureDetails")? {
        None => v.add(&Value::Null, "failureDetails", "Member must not be null"),
        Some(details) => {
            failure_type = opt_str(details, "type", "failureDetails.type")?;
            match failure_type {
                None => v.add(
                    &Value::Null,
                    "failureDetails.type",
                    "Member must not be null",
                ),
                Some(t) if !FAILURE_TYPES.contains(&t) => v.add(
                    &Value::String(t.into()),
                    "failureDetails.type",
                    &format!(
                        "Member must satisfy enum value set: [{}]",
                        FAILURE_TYPES.join(", ")
                    ),
                ),
                Some(_) => {}
            }
            message = opt_str(details, "message", "failureDetails.message")?;
            match message {
                None => v.add(
                    &Value::Null,
                    "failureDetails.message",
                    "Member must not be null",
                ),
                Some(m) => v.length(
                    &Value::String(m.into()),
                    m,
                    "failureDetails.message",
                    1,
                    5000,
                ),
            }
            external = opt_str(
                details,
                "externalExecutionId",
                "failureDetails.externalExecutionId",
            )?;
            if let Some(e) = external {
                v.length(
                    &Value::String(e.into()),
                    e,
                    "failureDetails.externalExecutionId",
                    1,
                    1500,
                );
            }
        }
    }
    if let Some(m) = v.into_message() {
        return Ok(Err(("ValidationException", m)));
    }
    Ok(Ok(JobResult::Failed {
        failure_type: failure_type.unwrap_or_default().to_string(),
        message: message.unwrap_or_default().to_string(),
        external_execution_id: external.map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = "11111111-abcd-1111-abcd-111111abcdef";

    fn call(store: &mut JobStore, op: &str, body: Value) -> (u16, Option<String>, String) {
        let target = format!("{TARGET_PREFIX}{op}");
        let (reply, _, _) = store.handle(Some(&target), body.to_string().as_bytes(), 5);
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        (reply.status, reply.error_code, text)
    }

    #[test]
    fn success_then_second_result_is_invalid_state() {
        let mut store = JobStore::default();
        assert!(store.create(JOB, None, 0));
        let (status, code, body) = call(
            &mut store,
            "PutJobSuccessResult",
            json!({"jobId": JOB, "outputVariables": {"Ids": "I1"}}),
        );
        assert_eq!((status, code, body.as_str()), (200, None, "{}"));
        let (status, code, _) = call(
            &mut store,
            "PutJobFailureResult",
            json!({"jobId": JOB, "failureDetails": {"type": "JobFailed", "message": "x"}}),
        );
        assert_eq!(
            (status, code.as_deref()),
            (400, Some("InvalidJobStateException"))
        );
        assert!(matches!(
            store.get(JOB).unwrap().result,
            Some(JobResult::Succeeded { .. })
        ));
    }

    #[test]
    fn validation_follows_the_model() {
        let mut store = JobStore::default();
        store.create(JOB, None, 0);
        let cases = [
            (json!({"jobId": "not-a-job"}), "regular expression pattern"),
            (json!({}), "Member must not be null"),
            (
                json!({"jobId": JOB, "continuationToken": ""}),
                "greater than or equal to 1",
            ),
            (
                json!({"jobId": JOB, "continuationToken": "x".repeat(2049)}),
                "less than or equal to 2048",
            ),
            (
                json!({"jobId": JOB, "executionDetails": {"summary": "s".repeat(2049)}}),
                "executionDetails.summary",
            ),
            (
                json!({"jobId": JOB, "executionDetails": {"externalExecutionId": "e".repeat(1501)}}),
                "externalExecutionId",
            ),
            (
                json!({"jobId": JOB, "executionDetails": {"percentComplete": 101}}),
                "less than or equal to 100",
            ),
            (
                json!({"jobId": JOB, "outputVariables": {"bad key": "v"}}),
                "Map keys",
            ),
            (
                json!({"jobId": JOB, "continuationToken": "t", "outputVariables": {"a": "b"}}),
                "continuation token",
            ),
        ];
        for (body, fragment) in cases {
            let (status, code, text) = call(&mut store, "PutJobSuccessResult", body.clone());
            assert_eq!(
                (status, code.as_deref()),
                (400, Some("ValidationException")),
                "{body}"
            );
            assert!(text.contains(fragment), "{body} -> {text}");
        }
        let failures = [
            (
                json!({"jobId": JOB, "failureDetails": {"type": "Oops", "message": "m"}}),
                "enum value set",
            ),
            (
                json!({"jobId": JOB, "failureDetails": {"type": "JobFailed", "message": ""}}),
                "failureDetails.message",
            ),
            (
                json!({"jobId": JOB, "failureDetails": {"type": "JobFailed", "message": "m".repeat(5001)}}),
                "less than or equal to 5000",
            ),
            (json!({"jobId": JOB}), "'failureDetails'"),
        ];
        for (body, fragment) in failures {
            let (status, code, text) = call(&mut store, "PutJobFailureResult", body.clone());
            assert_eq!(
                (status, code.as_deref()),
                (400, Some("ValidationException")),
                "{body}"
            );
            assert!(text.contains(fragment), "{body} -> {text}");
        }
        // Nothing above may have changed the job.
        assert_eq!(store.get(JOB).unwrap().result, None);
    }

    #[test]
    fn unknown_job_type_errors_and_unknown_operation() {
        let mut store = JobStore::default();
        let (_, code, _) = call(&mut store, "PutJobSuccessResult", json!({"jobId": JOB}));
        assert_eq!(code.as_deref(), Some("JobNotFoundException"));
        let (_, code, _) = call(&mut store, "PutJobSuccessResult", json!({"jobId": 5}));
        assert_eq!(code.as_deref(), Some("SerializationException"));
        let (_, code, _) = call(&mut store, "AcknowledgeJob", json!({}));
        assert_eq!(code.as_deref(), Some("UnknownOperationException"));
        let (reply, _, _) = store.handle(
            Some("CodePipeline_20150709.PutJobSuccessResult"),
            b"{not json",
            0,
        );
        assert_eq!(reply.error_code.as_deref(), Some("SerializationException"));
    }

    #[test]
    fn output_variable_size_limit() {
        let mut store = JobStore::default();
        store.create(JOB, None, 0);
        let (_, code, _) = call(
            &mut store,
            "PutJobSuccessResult",
            json!({"jobId": JOB, "outputVariables": {"big": "v".repeat(MAX_OUTPUT_VARIABLES_SIZE)}}),
        );
        assert_eq!(
            code.as_deref(),
            Some("OutputVariablesSizeExceededException")
        );
    }

    #[test]
    fn timed_out_jobs_refuse_results() {
        let mut store = JobStore::default();
        store.create(JOB, None, 0);
        assert!(store.time_out(JOB, "no reply", 9));
        assert!(!store.time_out(JOB, "again", 10));
        let (_, code, _) = call(&mut store, "PutJobSuccessResult", json!({"jobId": JOB}));
        assert_eq!(code.as_deref(), Some("InvalidJobStateException"));
    }
}
