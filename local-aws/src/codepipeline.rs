//! CodePipeline job results (JSON 1.1): PutJobSuccessResult and PutJobFailureResult, with the
//! service model's validation and the job state rules; `executions` holds the pipelines'
//! action execution history (GetJobDetails, ListActionExecutions).

pub mod executions;

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
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
pub(crate) const JOB_ID_PATTERN: &str =
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/// What a job ended with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobResult {
    /// `PutJobSuccessResult`. With a continuation token it means "still running, invoke me
    /// again"; without one the action succeeded.
    Succeeded {
        continuation_token: Option<String>,
        /// `executionDetails.summary`.
        summary: Option<String>,
        external_execution_id: Option<String>,
        percent_complete: Option<u8>,
        output_variables: BTreeMap<String, String>,
        /// As sent.
        current_revision: Option<Value>,
    },
    /// `PutJobFailureResult`.
    Failed {
        /// `failureDetails.type` (`JobFailed`, `ConfigurationError`, ...).
        failure_type: String,
        message: String,
        external_execution_id: Option<String>,
    },
    /// CodePipeline gave up on the job itself (no reply in time); set by the pipeline driver
    /// or [`crate::EmulatorHandle::time_out_job`].
    TimedOut { message: String },
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobRecord {
    /// Its place in the order jobs were created: 1 for the first.
    pub number: u32,
    pub job_id: String,
    /// When it was created, in milliseconds since the emulator started.
    pub created_ms: u64,
    /// The continuation token its event carried (`data.continuationToken`), if any.
    pub continuation_token: Option<String>,
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

/// Why a call is refused: its error code and message (CodePipeline answers each with 400).
pub(crate) type Refusal = (&'static str, String);

pub(crate) fn refused((code, message): Refusal) -> Reply {
    error_reply(400, code, &message)
}

/// The body as the operation's input: a body that is not JSON, or not of the input's shape
/// (a string where a number belongs), is refused with `SerializationException`.
pub(crate) fn read_input<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(serialization)
}

fn serialization(e: serde_json::Error) -> Refusal {
    let why = if e.is_data() {
        "does not have the operation's shape"
    } else {
        "is not valid JSON"
    };
    (
        "SerializationException",
        format!("The request body {why}: {e}"),
    )
}

pub(crate) fn job_not_found(job_id: &str) -> Refusal {
    (
        "JobNotFoundException",
        format!("The job {job_id} was specified in an invalid format or cannot be found."),
    )
}

/// The operation an `X-Amz-Target` header names, if it is CodePipeline's.
pub(crate) fn operation(target: Option<&str>) -> Option<&str> {
    target.and_then(|t| t.strip_prefix(TARGET_PREFIX))
}

/// What the log says of a call before it is handled: its operation and the job it names.
pub(crate) fn call_info(target: Option<&str>, body: &[u8]) -> CallInfo {
    let operation = operation(target).filter(|o| !o.is_empty());
    let mut call = CallInfo::op(operation.unwrap_or("Unsupported"));
    call.job_id = JobStore::peek_job_id(body);
    call
}

/// Whether a call reports a job's final result: `PutJobFailureResult`, or
/// `PutJobSuccessResult` without a continuation token (a body that is not JSON counts as one:
/// it names no token).
pub(crate) fn is_final_report(target: Option<&str>, body: &[u8]) -> bool {
    match operation(target) {
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

/// Whether `text` matches the service model's name pattern `[A-Za-z0-9@\-_]+`, with the
/// characters of `also` allowed too.
pub(crate) fn is_name(text: &str, also: &[u8]) -> bool {
    !text.is_empty()
        && (text.bytes()).all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'@' | b'-' | b'_') || also.contains(&b)
        })
}

/// Collects validation messages in AWS's wording, in the order of the service model's members.
#[derive(Default)]
pub(crate) struct Violations(Vec<String>);

impl Violations {
    /// `shown` is the value as AWS quotes it: `'text'`, or `null`.
    pub(crate) fn add(&mut self, shown: impl Display, at: &str, constraint: impl Display) {
        self.0.push(format!(
            "Value {shown} at '{at}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub(crate) fn length(&mut self, value: Option<&str>, at: &str, min: usize, max: usize) {
        let Some(text) = value else { return };
        let n = text.chars().count();
        if n < min {
            let constraint = format!("Member must have length greater than or equal to {min}");
            self.add(format_args!("'{text}'"), at, constraint);
        } else if n > max {
            let constraint = format!("Member must have length less than or equal to {max}");
            self.add(format_args!("'{text}'"), at, constraint);
        }
    }

    /// A required member: `null` when missing, else held to its length.
    pub(crate) fn required(&mut self, value: Option<&str>, at: &str, min: usize, max: usize) {
        match value {
            None => self.add("null", at, "Member must not be null"),
            Some(_) => self.length(value, at, min, max),
        }
    }

    pub(crate) fn range(&mut self, value: Option<i64>, at: &str, min: i64, max: i64) {
        match value {
            Some(n) if n < min => self.add(
                format_args!("'{n}'"),
                at,
                format_args!("Member must have value greater than or equal to {min}"),
            ),
            Some(n) if n > max => self.add(
                format_args!("'{n}'"),
                at,
                format_args!("Member must have value less than or equal to {max}"),
            ),
            _ => {}
        }
    }

    pub(crate) fn pattern(&mut self, value: &str, at: &str, matches: bool, pattern: &str) {
        if !matches {
            let constraint = format!("Member must satisfy regular expression pattern: {pattern}");
            self.add(format_args!("'{value}'"), at, constraint);
        }
    }

    /// The required `jobId`, in the job id shape.
    pub(crate) fn job_id(&mut self, value: Option<&str>) {
        match value {
            None => self.add("null", "jobId", "Member must not be null"),
            Some(id) => self.pattern(id, "jobId", is_job_id(id), JOB_ID_PATTERN),
        }
    }

    /// `ValidationException` with every violation, if there is any.
    pub(crate) fn check(self) -> Result<(), Refusal> {
        let message = match self.0.len() {
            0 => return Ok(()),
            1 => format!("1 validation error detected: {}", self.0[0]),
            n => format!("{n} validation errors detected: {}", self.0.join("; ")),
        };
        Err(("ValidationException", message))
    }
}

/// `PutJobSuccessResult`'s input.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuccessInput {
    job_id: Option<String>,
    continuation_token: Option<String>,
    execution_details: Option<ExecutionDetails>,
    output_variables: Option<BTreeMap<String, String>>,
    /// Kept as sent.
    current_revision: Option<Map<String, Value>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionDetails {
    summary: Option<String>,
    external_execution_id: Option<String>,
    percent_complete: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CurrentRevision {
    revision: Option<String>,
    change_identifier: Option<String>,
}

/// `PutJobFailureResult`'s input.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureInput {
    job_id: Option<String>,
    failure_details: Option<FailureDetails>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureDetails {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
    external_execution_id: Option<String>,
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
                ..JobRecord::default()
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
        let mut call = call_info(target, body);
        let operation = call.operation.clone();
        match self.put_result(&operation, target, body, now_ms, &mut call) {
            Ok(()) => (Reply::new(200, JSON, "{}"), call, true),
            Err(refusal) => (refused(refusal), call, false),
        }
    }

    fn put_result(
        &mut self,
        operation: &str,
        target: Option<&str>,
        body: &[u8],
        now_ms: u64,
        call: &mut CallInfo,
    ) -> Result<(), Refusal> {
        let result = match operation {
            "PutJobSuccessResult" => validate_success(read_input(body)?)?,
            "PutJobFailureResult" => validate_failure(read_input(body)?)?,
            _ => {
                let shown = target.unwrap_or("(no X-Amz-Target header)");
                return Err((
                    "UnknownOperationException",
                    format!("local-aws does not emulate the operation {shown}"),
                ));
            }
        };
        call.detail = Some(describe(&result));
        let job_id = call.job_id.clone().unwrap_or_default();
        let job = self
            .jobs
            .get_mut(&job_id)
            .ok_or_else(|| job_not_found(&job_id))?;
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
            return Err((
                "InvalidJobStateException",
                format!("The job {job_id} is in state {state} and cannot accept another result."),
            ));
        }
        job.result = Some(result);
        job.result_ms = Some(now_ms);
        job.results_accepted += 1;
        Ok(())
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
            cf_invalidate::text::head_chars(message, 200).unwrap_or(message)
        ),
        JobResult::TimedOut { message } => message.clone(),
    }
}

fn validate_success(input: SuccessInput) -> Result<JobResult, Refusal> {
    let mut v = Violations::default();
    v.job_id(input.job_id.as_deref());
    let token = input.continuation_token;
    v.length(token.as_deref(), "continuationToken", 1, 2048);
    let details = input.execution_details.unwrap_or_default();
    let at = "executionDetails.summary";
    v.length(details.summary.as_deref(), at, 1, 2048);
    let external = details.external_execution_id;
    let at = "executionDetails.externalExecutionId";
    v.length(external.as_deref(), at, 1, 1500);
    let at = "executionDetails.percentComplete";
    v.range(details.percent_complete, at, 0, 100);
    for key in input.output_variables.iter().flat_map(BTreeMap::keys) {
        if !is_name(key, b"") {
            v.add(
                format_args!("'{key}'"),
                "outputVariables",
                "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [A-Za-z0-9@\\-_]+]",
            );
        }
    }
    if let Some(sent) = &input.current_revision {
        let revision =
            CurrentRevision::deserialize(Value::Object(sent.clone())).map_err(serialization)?;
        let at = "currentRevision.revision";
        v.required(revision.revision.as_deref(), at, 1, 1500);
        let at = "currentRevision.changeIdentifier";
        v.required(revision.change_identifier.as_deref(), at, 1, 100);
    }
    v.check()?;
    if token.is_some() && input.output_variables.is_some() {
        return Err((
            "ValidationException",
            "Output variables cannot be set when a continuation token is provided; report them with the final PutJobSuccessResult.".to_string(),
        ));
    }
    let output_variables = input.output_variables.unwrap_or_default();
    let size: usize = output_variables
        .iter()
        .map(|(k, val)| k.chars().count() + val.chars().count())
        .sum();
    if size > MAX_OUTPUT_VARIABLES_SIZE {
        return Err((
            "OutputVariablesSizeExceededException",
            format!(
                "The output variables total {size} characters, over the limit of {MAX_OUTPUT_VARIABLES_SIZE}."
            ),
        ));
    }
    Ok(JobResult::Succeeded {
        continuation_token: token,
        summary: details.summary,
        external_execution_id: external,
        percent_complete: details.percent_complete.and_then(|p| u8::try_from(p).ok()),
        output_variables,
        current_revision: input.current_revision.map(Value::Object),
    })
}

fn validate_failure(input: FailureInput) -> Result<JobResult, Refusal> {
    let mut v = Violations::default();
    v.job_id(input.job_id.as_deref());
    match &input.failure_details {
        None => v.add("null", "failureDetails", "Member must not be null"),
        Some(details) => {
            match details.kind.as_deref() {
                None => v.add("null", "failureDetails.type", "Member must not be null"),
                Some(t) if !FAILURE_TYPES.contains(&t) => v.add(
                    format_args!("'{t}'"),
                    "failureDetails.type",
                    format_args!(
                        "Member must satisfy enum value set: [{}]",
                        FAILURE_TYPES.join(", ")
                    ),
                ),
                Some(_) => {}
            }
            let at = "failureDetails.message";
            v.required(details.message.as_deref(), at, 1, 5000);
            let at = "failureDetails.externalExecutionId";
            v.length(details.external_execution_id.as_deref(), at, 1, 1500);
        }
    }
    v.check()?;
    let details = input.failure_details.unwrap_or_default();
    Ok(JobResult::Failed {
        failure_type: details.kind.unwrap_or_default(),
        message: details.message.unwrap_or_default(),
        external_execution_id: details.external_execution_id,
    })
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
        let success = cases.map(|case| ("PutJobSuccessResult", case));
        let failure = failures.map(|case| ("PutJobFailureResult", case));
        for (op, (body, fragment)) in success.into_iter().chain(failure) {
            let (status, code, text) = call(&mut store, op, body.clone());
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
