//! CodePipeline's action execution history and each job's pipeline context, and the two
//! operations that read them: `GetJobDetails` and `ListActionExecutions`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{JSON, JobStore, Refusal, Violations, job_not_found, read_input, refused};
use crate::reply::{CallInfo, Reply};

/// `ListActionExecutions` answers at most this many executions per page (and by default).
pub const MAX_RESULTS: u32 = 100;
const NAME_PATTERN: &str = "[A-Za-z0-9.@\\-_]+";

/// How `GetJobDetails` answers. The API reference says it is "used for custom actions only";
/// what a Lambda function calling it for a Lambda invoke job gets is not documented, so both
/// plausible refusals can be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GetJobDetailsMode {
    /// The job's details, as for a custom action's job.
    #[default]
    Allow,
    /// `AccessDeniedException` for every job.
    AccessDenied,
    /// `JobNotFoundException` for every job, as if Lambda invoke jobs were not visible there.
    NotFound,
    /// The job's details with a `pipelineContext` of names only (pipeline, stage, action), as
    /// the AWS CLI's example answer shows it: `pipelineExecutionId`, `pipelineArn` and
    /// `actionExecutionId` are documented for custom actions' jobs.
    NamesOnly,
}

impl fmt::Display for GetJobDetailsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = clap::ValueEnum::to_possible_value(self);
        f.write_str(value.as_ref().map_or("", |v| v.get_name()))
    }
}

/// An input artifact and where it lies in the artifact bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Artifact {
    /// The artifact's name in the pipeline (`SourceOutput`).
    pub name: String,
    pub bucket: String,
    /// The object key of the artifact's zip.
    pub key: String,
}

impl S3Artifact {
    /// The artifact as a job's `inputArtifacts` lists it (in the job event, `revision` is
    /// null; `GetJobDetails` leaves it out).
    pub(crate) fn job_input(&self) -> Value {
        json!({
            "name": self.name,
            "revision": null,
            "location": {
                "type": "S3",
                "s3Location": {"bucketName": self.bucket, "objectKey": self.key},
            },
        })
    }
}

impl FromStr for S3Artifact {
    type Err = String;

    /// `NAME=s3://BUCKET/KEY`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || format!("invalid artifact '{s}': expected NAME=s3://BUCKET/KEY");
        let (name, location) = s.split_once('=').ok_or_else(usage)?;
        let (bucket, key) = location
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(usage)?;
        if name.is_empty() || bucket.is_empty() || key.is_empty() {
            return Err(usage());
        }
        Ok(S3Artifact {
            name: name.to_string(),
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

/// The session credentials of a job's `artifactCredentials`.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

impl SessionCredentials {
    /// `artifactCredentials` as `GetJobDetails` answers them (the job event adds
    /// `expirationTime`).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "accessKeyId": self.access_key_id,
            "secretAccessKey": self.secret_access_key,
            "sessionToken": self.session_token,
        })
    }
}

// By hand, so that a logged context never shows the secret.
impl fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where a job runs: what `GetJobDetails` says of it beyond the job record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobContext {
    pub pipeline_name: String,
    pub stage_name: String,
    pub action_name: String,
    pub action_execution_id: String,
    pub pipeline_execution_id: String,
    /// `actionConfiguration.configuration`, as the function sees it (resolved).
    pub configuration: BTreeMap<String, String>,
    pub input_artifacts: Vec<S3Artifact>,
    /// `artifactCredentials`; never serialized.
    #[serde(skip)]
    pub artifact_credentials: Option<SessionCredentials>,
}

/// `ActionExecutionDetail.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ActionExecutionStatus {
    InProgress,
    /// Stopped by a newer execution or a stop.
    Abandoned,
    Succeeded,
    Failed,
}

/// What an action execution produced (`ActionExecutionDetail.output`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ActionOutput {
    pub external_execution_id: Option<String>,
    /// `executionResult.externalExecutionSummary`.
    pub summary: Option<String>,
    /// `executionResult.errorDetails` (`code`, `message`).
    pub error: Option<(String, String)>,
    pub output_variables: BTreeMap<String, String>,
}

/// One execution of one action, as `ListActionExecutions` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionExecution {
    pub pipeline_name: String,
    /// The pipeline execution it ran in.
    pub pipeline_execution_id: String,
    /// Its own id; left empty, the emulator draws one when it is recorded.
    pub action_execution_id: String,
    /// `pipelineVersion` (default 1).
    pub pipeline_version: u32,
    pub stage_name: String,
    pub action_name: String,
    /// `startTime`, in milliseconds since the Unix epoch; 0: when it is recorded.
    pub start_epoch_ms: u64,
    /// `lastUpdateTime`, in milliseconds since the Unix epoch; 0: when it is recorded.
    pub last_update_epoch_ms: u64,
    pub status: ActionExecutionStatus,
    /// `input.configuration` (as written in the pipeline).
    pub configuration: BTreeMap<String, String>,
    /// `input.resolvedConfiguration` (variables resolved).
    pub resolved_configuration: BTreeMap<String, String>,
    pub region: String,
    pub input_artifacts: Vec<S3Artifact>,
    pub output: ActionOutput,
}

impl ActionExecution {
    /// An execution of a Lambda invoke action that has just started, with no configuration
    /// nor artifacts yet.
    pub fn started(
        pipeline_name: impl Into<String>,
        stage_name: impl Into<String>,
        action_name: impl Into<String>,
        pipeline_execution_id: impl Into<String>,
    ) -> Self {
        Self {
            pipeline_name: pipeline_name.into(),
            pipeline_execution_id: pipeline_execution_id.into(),
            action_execution_id: String::new(),
            pipeline_version: 1,
            stage_name: stage_name.into(),
            action_name: action_name.into(),
            start_epoch_ms: 0,
            last_update_epoch_ms: 0,
            status: ActionExecutionStatus::InProgress,
            configuration: BTreeMap::new(),
            resolved_configuration: BTreeMap::new(),
            region: "us-east-1".to_string(),
            input_artifacts: Vec::new(),
            output: ActionOutput::default(),
        }
    }
}

/// What the emulator knows of pipelines: their action executions, and the context of each job
/// created for one.
#[derive(Debug, Default)]
pub(crate) struct Executions {
    /// Per pipeline, in the order recorded.
    history: BTreeMap<String, Vec<ActionExecution>>,
    contexts: HashMap<String, JobContext>,
    pub(crate) get_job_details: GetJobDetailsMode,
    /// ListActionExecutions answers `AccessDeniedException`, as for a role without the grant.
    pub(crate) list_action_executions_denied: bool,
}

/// Who is calling, for `GetJobDetails`'s answer and refusals.
pub(crate) struct Caller<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub role: &'a str,
}

impl Executions {
    pub(crate) fn new(
        get_job_details: GetJobDetailsMode,
        list_action_executions_denied: bool,
    ) -> Self {
        Self {
            get_job_details,
            list_action_executions_denied,
            ..Self::default()
        }
    }

    /// Declares a pipeline with no executions yet (a known one is left as it is).
    pub(crate) fn add_pipeline(&mut self, name: &str) {
        self.history.entry(name.to_string()).or_default();
    }

    /// Records an execution (its id must be set); an execution with the same id in the same
    /// pipeline is replaced.
    pub(crate) fn record(&mut self, execution: ActionExecution) {
        let list = self.history.entry(execution.pipeline_name.clone());
        let list = list.or_default();
        let id = &execution.action_execution_id;
        match list.iter_mut().find(|e| e.action_execution_id == *id) {
            Some(existing) => *existing = execution,
            None => list.push(execution),
        }
    }

    /// Changes an execution's status and output; false if no pipeline has it.
    pub(crate) fn update(
        &mut self,
        action_execution_id: &str,
        status: ActionExecutionStatus,
        output: Option<ActionOutput>,
        now_epoch_ms: u64,
    ) -> bool {
        let mut all = self.history.values_mut().flatten();
        let Some(e) = all.find(|e| e.action_execution_id == action_execution_id) else {
            return false;
        };
        e.status = status;
        if let Some(output) = output {
            e.output = output;
        }
        e.last_update_epoch_ms = now_epoch_ms;
        true
    }

    /// A pipeline's executions, newest first (by start time, then the later recorded first);
    /// `None` if the pipeline is unknown.
    pub(crate) fn newest_first(&self, pipeline_name: &str) -> Option<Vec<ActionExecution>> {
        // Reversed, then a stable sort: of two started at once, the later recorded comes first.
        let list = self.history.get(pipeline_name)?;
        let mut ordered: Vec<_> = list.iter().rev().cloned().collect();
        ordered.sort_by_key(|e| std::cmp::Reverse(e.start_epoch_ms));
        Some(ordered)
    }

    pub(crate) fn set_context(&mut self, job_id: &str, context: JobContext) {
        self.contexts.insert(job_id.to_string(), context);
    }

    pub(crate) fn context(&self, job_id: &str) -> Option<&JobContext> {
        self.contexts.get(job_id)
    }

    pub(crate) fn get_job_details(
        &self,
        jobs: &JobStore,
        body: &[u8],
        caller: &Caller<'_>,
    ) -> (Reply, CallInfo) {
        let mut call = CallInfo::op("GetJobDetails");
        call.job_id = JobStore::peek_job_id(body);
        let reply = self
            .job_details(jobs, body, caller, &mut call)
            .unwrap_or_else(refused);
        (reply, call)
    }

    fn job_details(
        &self,
        jobs: &JobStore,
        body: &[u8],
        caller: &Caller<'_>,
        call: &mut CallInfo,
    ) -> Result<Reply, Refusal> {
        // IAM decides before the service reads the request.
        if self.get_job_details == GetJobDetailsMode::AccessDenied {
            return Err(caller.denied("GetJobDetails", "--get-job-details access-denied"));
        }
        let input: JobInput = read_input(body)?;
        let mut v = Violations::default();
        v.job_id(input.job_id.as_deref());
        v.check()?;
        let job_id = input.job_id.unwrap_or_default();
        let job = match (self.get_job_details, jobs.get(&job_id)) {
            (GetJobDetailsMode::Allow | GetJobDetailsMode::NamesOnly, Some(job)) => job,
            _ => return Err(job_not_found(&job_id)),
        };
        let data = match self.contexts.get(&job_id) {
            None => json!({}),
            Some(context) => {
                call.detail = Some(format!(
                    "{} / {} / {}",
                    context.pipeline_name, context.stage_name, context.action_name
                ));
                let mut pipeline_context = json!({
                    "pipelineName": context.pipeline_name,
                    "stage": {"name": context.stage_name},
                    "action": {"name": context.action_name},
                });
                if self.get_job_details == GetJobDetailsMode::Allow {
                    let arn = format!(
                        "arn:aws:codepipeline:{}:{}:{}",
                        caller.region, caller.account_id, context.pipeline_name
                    );
                    pipeline_context["action"]["actionExecutionId"] =
                        json!(context.action_execution_id);
                    pipeline_context["pipelineArn"] = json!(arn);
                    pipeline_context["pipelineExecutionId"] = json!(context.pipeline_execution_id);
                }
                let artifacts = context.input_artifacts.iter().map(S3Artifact::job_input);
                json!({
                    "actionTypeId": lambda_action_type(),
                    "actionConfiguration": {"configuration": context.configuration},
                    "pipelineContext": pipeline_context,
                    "inputArtifacts": artifacts.map(present).collect::<Vec<_>>(),
                    "outputArtifacts": [],
                    "artifactCredentials": context.artifact_credentials.as_ref().map(SessionCredentials::to_json),
                })
            }
        };
        let mut data = present(data);
        if let Some(token) = &job.continuation_token {
            data["continuationToken"] = json!(token);
        }
        let body = json!({
            "jobDetails": {"id": job_id, "data": data, "accountId": caller.account_id}
        });
        Ok(Reply::new(200, JSON, body.to_string()))
    }

    pub(crate) fn list_action_executions(
        &self,
        body: &[u8],
        caller: &Caller<'_>,
    ) -> (Reply, CallInfo) {
        let mut call = CallInfo::op("ListActionExecutions");
        let reply = self.list(body, caller, &mut call).unwrap_or_else(refused);
        (reply, call)
    }

    fn list(
        &self,
        body: &[u8],
        caller: &Caller<'_>,
        call: &mut CallInfo,
    ) -> Result<Reply, Refusal> {
        // IAM decides before the service reads the request.
        if self.list_action_executions_denied {
            return Err(caller.denied("ListActionExecutions", "--list-action-executions-denied"));
        }
        let request = ListRequest::check(read_input(body)?)?;
        call.detail = Some(format!("pipeline {}", request.pipeline_name));
        let Some(all) = self.newest_first(&request.pipeline_name) else {
            return Err((
                "PipelineNotFoundException",
                format!(
                    "Pipeline with name '{}' does not exist in account",
                    request.pipeline_name
                ),
            ));
        };
        let filter = request.pipeline_execution_id.as_deref();
        if let Some(id) = filter
            && !all.iter().any(|e| e.pipeline_execution_id == id)
        {
            return Err((
                "PipelineExecutionNotFoundException",
                format!(
                    "Pipeline execution with id '{id}' does not exist in pipeline '{}'",
                    request.pipeline_name
                ),
            ));
        }
        let selected: Vec<&ActionExecution> = all
            .iter()
            .filter(|e| filter.is_none_or(|id| e.pipeline_execution_id == id))
            .collect();
        let token = PageToken::new(&request.pipeline_name, filter);
        let start = match &request.next_token {
            None => 0,
            Some(sent) => token
                .decode(sent)
                .and_then(|next| selected.iter().position(|e| e.action_execution_id == next))
                .ok_or((
                    "InvalidNextTokenException",
                    "The next token was specified in an invalid format. Make sure that the next token you provide is the token returned by a previous call.".to_string(),
                ))?,
        };
        let page_size = usize::try_from(request.max_results).unwrap_or(usize::MAX);
        let end = start.saturating_add(page_size).min(selected.len());
        let next_token = selected
            .get(end)
            .map(|next| token.encode(&next.action_execution_id));
        let details: Vec<Value> = selected[start..end].iter().map(|e| detail(e)).collect();
        let answer = json!({"actionExecutionDetails": details, "nextToken": next_token});
        Ok(Reply::new(200, JSON, present(answer).to_string()))
    }
}

impl Caller<'_> {
    /// IAM's refusal of `action` to the caller's role; `why` names the switch that chose it.
    fn denied(&self, action: &str, why: &str) -> Refusal {
        let message = format!(
            "User: arn:aws:sts::{account}:assumed-role/{role} is not authorized to perform: codepipeline:{action} (refused by local-aws: {why})",
            account = self.account_id,
            role = self.role,
        );
        ("AccessDeniedException", message)
    }
}

/// The `actionTypeId` of a Lambda invoke action.
fn lambda_action_type() -> Value {
    json!({"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"})
}

/// `GetJobDetails`'s input.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobInput {
    job_id: Option<String>,
}

/// `ListActionExecutions`'s input.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    pipeline_name: Option<String>,
    filter: Option<ListFilter>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListFilter {
    pipeline_execution_id: Option<String>,
    latest_in_pipeline_execution: Option<Value>,
}

struct ListRequest {
    pipeline_name: String,
    pipeline_execution_id: Option<String>,
    max_results: u32,
    next_token: Option<String>,
}

impl ListRequest {
    fn check(input: ListInput) -> Result<ListRequest, Refusal> {
        let mut v = Violations::default();
        let name = input.pipeline_name.as_deref();
        v.required(name, "pipelineName", 1, 100);
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            v.pattern(n, "pipelineName", super::is_name(n, b"."), NAME_PATTERN);
        }
        let (execution_id, latest) = match input.filter {
            Some(f) => (f.pipeline_execution_id, f.latest_in_pipeline_execution),
            None => (None, None),
        };
        if let Some(id) = execution_id.as_deref() {
            let at = "filter.pipelineExecutionId";
            v.pattern(id, at, super::is_job_id(id), super::JOB_ID_PATTERN);
        }
        if latest.is_some() {
            return Err((
                "ValidationException",
                "local-aws does not emulate filter.latestInPipelineExecution; filter by pipelineExecutionId".to_string(),
            ));
        }
        let max = i64::from(MAX_RESULTS);
        v.range(input.max_results, "maxResults", 1, max);
        v.length(input.next_token.as_deref(), "nextToken", 1, 2048);
        v.check()?;
        Ok(ListRequest {
            pipeline_name: input.pipeline_name.unwrap_or_default(),
            pipeline_execution_id: execution_id,
            max_results: input
                .max_results
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(MAX_RESULTS),
            next_token: input.next_token,
        })
    }
}

const TOKEN_VERSION: &str = "la1";

/// Where the next page of a listing starts. Opaque to clients: hex of the listing's pipeline
/// and filter and of the next execution's id, so that a token from another listing is refused.
struct PageToken {
    listing: String,
}

impl PageToken {
    fn new(pipeline_name: &str, filter: Option<&str>) -> Self {
        let filter = filter.unwrap_or("");
        let listing = format!("{TOKEN_VERSION}\n{pipeline_name}\n{filter}\n");
        PageToken { listing }
    }

    fn encode(&self, next_action_execution_id: &str) -> String {
        let plain = format!("{}{next_action_execution_id}", self.listing);
        cf_invalidate::text::hex(plain.as_bytes())
    }

    /// The next execution's id, if `token` is one of this listing's.
    fn decode(&self, token: &str) -> Option<String> {
        let bytes: Option<Vec<u8>> = (0..token.len())
            .step_by(2)
            .map(|i| {
                token
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        let plain = String::from_utf8(bytes?).ok()?;
        plain.strip_prefix(&self.listing).map(str::to_string)
    }
}

/// Epoch seconds with milliseconds, as JSON 1.1 writes timestamps.
fn epoch_seconds(ms: u64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// The object without its `null` members: JSON 1.1 leaves an absent member out.
fn present(mut value: Value) -> Value {
    if let Value::Object(members) = &mut value {
        members.retain(|_, member| !member.is_null());
    }
    value
}

fn detail(e: &ActionExecution) -> Value {
    let artifacts: Vec<Value> = e
        .input_artifacts
        .iter()
        .map(|a| json!({"name": a.name, "s3location": {"bucket": a.bucket, "key": a.key}}))
        .collect();
    let error =
        (e.output.error.as_ref()).map(|(code, message)| json!({"code": code, "message": message}));
    json!({
        "pipelineExecutionId": e.pipeline_execution_id,
        "actionExecutionId": e.action_execution_id,
        "pipelineVersion": e.pipeline_version,
        "stageName": e.stage_name,
        "actionName": e.action_name,
        "startTime": epoch_seconds(e.start_epoch_ms),
        "lastUpdateTime": epoch_seconds(e.last_update_epoch_ms),
        "status": e.status,
        "input": {
            "actionTypeId": lambda_action_type(),
            "configuration": e.configuration,
            "resolvedConfiguration": e.resolved_configuration,
            "region": e.region,
            "inputArtifacts": artifacts,
        },
        "output": {
            "outputArtifacts": [],
            "executionResult": present(json!({
                "externalExecutionId": e.output.external_execution_id,
                "externalExecutionSummary": e.output.summary,
                "errorDetails": error,
            })),
            "outputVariables": e.output.output_variables,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
    const EXEC_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
    const JOB: &str = "11111111-abcd-1111-abcd-111111abcdef";
    const CALLER: Caller<'static> = Caller {
        account_id: "123456789012",
        region: "eu-west-1",
        role: "r/s",
    };

    /// GIVEN pipeline `site` with executions a1 (EXEC_A, t=1000), b1 (EXEC_B, t=2000) and
    /// a2 (EXEC_A, t=3000, a Retry), recorded out of order.
    fn history() -> Executions {
        let mut ex = Executions::default();
        for (id, execution, start) in [
            ("b1", EXEC_B, 2000),
            ("a1", EXEC_A, 1000),
            ("a2", EXEC_A, 3000),
        ] {
            let mut e = ActionExecution::started("site", "Deploy", "Invalidate", execution);
            e.action_execution_id = id.to_string();
            e.start_epoch_ms = start;
            e.last_update_epoch_ms = start;
            e.input_artifacts.push(S3Artifact {
                name: "SourceOutput".into(),
                bucket: "artifacts".into(),
                key: format!("site/Source/{id}.zip"),
            });
            ex.record(e);
        }
        ex
    }

    fn list(ex: &Executions, body: Value) -> (u16, Option<String>, Value) {
        let (reply, _) = ex.list_action_executions(body.to_string().as_bytes(), &CALLER);
        let parsed = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        (reply.status, reply.error_code, parsed)
    }

    fn ids(page: &Value) -> Vec<String> {
        page["actionExecutionDetails"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d["actionExecutionId"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn newest_first_with_the_model_shapes() {
        let ex = history();
        let (status, code, page) = list(&ex, json!({"pipelineName": "site"}));
        assert_eq!((status, code), (200, None));
        assert_eq!(ids(&page), ["a2", "b1", "a1"]);
        assert!(page.get("nextToken").is_none());
        let first = &page["actionExecutionDetails"][0];
        assert_eq!(first["pipelineExecutionId"], EXEC_A);
        assert_eq!(first["stageName"], "Deploy");
        assert_eq!(first["status"], "InProgress");
        assert_eq!(first["startTime"], json!(3.0));
        // ListActionExecutions spells it `s3location {bucket, key}`.
        assert_eq!(
            first["input"]["inputArtifacts"][0]["s3location"],
            json!({"bucket": "artifacts", "key": "site/Source/a2.zip"})
        );
    }

    #[test]
    fn filter_by_pipeline_execution_and_unknown_ones() {
        let ex = history();
        let (_, _, page) = list(
            &ex,
            json!({"pipelineName": "site", "filter": {"pipelineExecutionId": EXEC_A}}),
        );
        assert_eq!(ids(&page), ["a2", "a1"]);
        let (status, code, _) = list(
            &ex,
            json!({"pipelineName": "site", "filter": {"pipelineExecutionId": "cccccccc-0000-4000-8000-000000000003"}}),
        );
        assert_eq!(
            (status, code.as_deref()),
            (400, Some("PipelineExecutionNotFoundException"))
        );
        let (_, code, _) = list(&ex, json!({"pipelineName": "other"}));
        assert_eq!(code.as_deref(), Some("PipelineNotFoundException"));
    }

    #[test]
    fn pages_follow_the_token_and_refuse_foreign_ones() {
        let mut ex = history();
        let (_, _, page1) = list(&ex, json!({"pipelineName": "site", "maxResults": 2}));
        assert_eq!(ids(&page1), ["a2", "b1"]);
        let token = page1["nextToken"].as_str().unwrap_or_default().to_string();
        assert!(!token.is_empty() && !token.contains("a1"), "{token}");
        // A new execution meanwhile does not shift the next page.
        let mut newer = ActionExecution::started("site", "Deploy", "Invalidate", EXEC_B);
        newer.action_execution_id = "b2".into();
        newer.start_epoch_ms = 4000;
        ex.record(newer);
        let (_, _, page2) = list(
            &ex,
            json!({"pipelineName": "site", "maxResults": 2, "nextToken": token}),
        );
        assert_eq!(ids(&page2), ["a1"]);
        assert!(page2.get("nextToken").is_none());
        // The token of another filter, or garbage, is refused.
        let (_, code, _) = list(
            &ex,
            json!({"pipelineName": "site", "filter": {"pipelineExecutionId": EXEC_A}, "nextToken": token}),
        );
        assert_eq!(code.as_deref(), Some("InvalidNextTokenException"));
        let (_, code, _) = list(&ex, json!({"pipelineName": "site", "nextToken": "zz"}));
        assert_eq!(code.as_deref(), Some("InvalidNextTokenException"));
    }

    #[test]
    fn validation_follows_the_model() {
        let ex = history();
        for (body, fragment) in [
            (
                json!({"pipelineName": "site", "maxResults": 0}),
                "greater than or equal to 1",
            ),
            (
                json!({"pipelineName": "site", "maxResults": 101}),
                "less than or equal to 100",
            ),
            (
                json!({}),
                "'pipelineName' failed to satisfy constraint: Member must not be null",
            ),
            (json!({"pipelineName": "a b"}), "regular expression pattern"),
            (
                json!({"pipelineName": "x".repeat(101)}),
                "less than or equal to 100",
            ),
            (
                json!({"pipelineName": "site", "nextToken": ""}),
                "'nextToken'",
            ),
            (
                json!({"pipelineName": "site", "filter": {"pipelineExecutionId": "nope"}}),
                "filter.pipelineExecutionId",
            ),
        ] {
            let (status, code, answer) = list(&ex, body.clone());
            assert_eq!(
                (status, code.as_deref()),
                (400, Some("ValidationException")),
                "{body}"
            );
            assert!(
                answer["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(fragment)),
                "{body} -> {answer}"
            );
        }
        let (_, code, _) = list(&ex, json!({"pipelineName": 5}));
        assert_eq!(code.as_deref(), Some("SerializationException"));
    }

    #[test]
    fn update_ends_an_execution_and_keeps_its_place() {
        let mut ex = history();
        let output = ActionOutput {
            summary: Some("2 invalidations".into()),
            ..ActionOutput::default()
        };
        assert!(ex.update("a1", ActionExecutionStatus::Succeeded, Some(output), 9000));
        assert!(!ex.update("nope", ActionExecutionStatus::Failed, None, 9000));
        let (_, _, page) = list(&ex, json!({"pipelineName": "site"}));
        let last = &page["actionExecutionDetails"][2];
        assert_eq!(last["actionExecutionId"], "a1");
        assert_eq!(last["status"], "Succeeded");
        assert_eq!(last["lastUpdateTime"], json!(9.0));
        assert_eq!(
            last["output"]["executionResult"]["externalExecutionSummary"],
            "2 invalidations"
        );
    }

    fn details(ex: &Executions, jobs: &JobStore, body: Value) -> (Option<String>, Value) {
        let (reply, _) = ex.get_job_details(jobs, body.to_string().as_bytes(), &CALLER);
        (
            reply.error_code,
            serde_json::from_slice(&reply.body).unwrap_or(Value::Null),
        )
    }

    #[test]
    fn get_job_details_answers_the_context_or_refuses_as_switched() {
        let mut ex = history();
        let mut jobs = JobStore::default();
        jobs.create(JOB, Some("tok".into()), 0);
        ex.set_context(
            JOB,
            JobContext {
                pipeline_name: "site".into(),
                stage_name: "Deploy".into(),
                action_name: "Invalidate".into(),
                action_execution_id: "a2".into(),
                pipeline_execution_id: EXEC_A.into(),
                configuration: BTreeMap::from([("FunctionName".into(), "f".into())]),
                input_artifacts: vec![S3Artifact {
                    name: "SourceOutput".into(),
                    bucket: "artifacts".into(),
                    key: "k.zip".into(),
                }],
                artifact_credentials: None,
            },
        );
        let (code, answer) = details(&ex, &jobs, json!({"jobId": JOB}));
        assert_eq!(code, None);
        let data = &answer["jobDetails"]["data"];
        assert_eq!(answer["jobDetails"]["accountId"], "123456789012");
        assert_eq!(data["pipelineContext"]["pipelineName"], "site");
        assert_eq!(data["pipelineContext"]["action"]["actionExecutionId"], "a2");
        assert_eq!(
            data["pipelineContext"]["pipelineArn"],
            "arn:aws:codepipeline:eu-west-1:123456789012:site"
        );
        // GetJobDetails spells it `s3Location {bucketName, objectKey}`.
        assert_eq!(
            data["inputArtifacts"][0]["location"]["s3Location"],
            json!({"bucketName": "artifacts", "objectKey": "k.zip"})
        );
        assert_eq!(data["continuationToken"], "tok");

        let (code, _) = details(
            &ex,
            &jobs,
            json!({"jobId": "22222222-abcd-1111-abcd-111111abcdef"}),
        );
        assert_eq!(code.as_deref(), Some("JobNotFoundException"));
        let (code, _) = details(&ex, &jobs, json!({"jobId": "bad"}));
        assert_eq!(code.as_deref(), Some("ValidationException"));
        ex.get_job_details = GetJobDetailsMode::NotFound;
        let (code, _) = details(&ex, &jobs, json!({"jobId": JOB}));
        assert_eq!(code.as_deref(), Some("JobNotFoundException"));
        ex.get_job_details = GetJobDetailsMode::AccessDenied;
        let (code, answer) = details(&ex, &jobs, json!({"jobId": JOB}));
        assert_eq!(code.as_deref(), Some("AccessDeniedException"));
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("codepipeline:GetJobDetails"))
        );
    }

    #[test]
    fn mode_and_artifact_parse() {
        use clap::ValueEnum;
        for (name, mode) in [
            ("allow", GetJobDetailsMode::Allow),
            ("access-denied", GetJobDetailsMode::AccessDenied),
            ("not-found", GetJobDetailsMode::NotFound),
            ("names-only", GetJobDetailsMode::NamesOnly),
        ] {
            assert_eq!(GetJobDetailsMode::from_str(name, false), Ok(mode));
        }
        assert!(GetJobDetailsMode::from_str("deny", false).is_err());
        assert_eq!(
            "Src=s3://bucket/a/b.zip".parse::<S3Artifact>(),
            Ok(S3Artifact {
                name: "Src".into(),
                bucket: "bucket".into(),
                key: "a/b.zip".into()
            })
        );
        for bad in ["Src", "Src=bucket/key", "Src=s3://bucket", "=s3://b/k"] {
            assert!(bad.parse::<S3Artifact>().is_err(), "{bad}");
        }
    }
}
