//! How a pipeline run goes: the function, the emulated world, Lambda's and CodePipeline's
//! timings, the chaos to add, and the environment the function gets.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::TimelineEntry;
use super::artifact::ArtifactSource;
use crate::clock::Clock;
use crate::cloudfront::{DistributionConfig, DistributionTenantConfig, UnknownIds};
use crate::codepipeline::executions::{ActionExecutionStatus, GetJobDetailsMode, S3Artifact};
use crate::duration::DurationRange;
use crate::faults::Faults;
use crate::server::{EmulatorConfig, EmulatorHandle};

/// CodePipeline's limit on every action configuration value, `UserParameters` included.
pub const MAX_USER_PARAMETERS: usize = 1000;
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
    /// The action's `UserParameters` as written in the pipeline (at most 1000 characters,
    /// checked before variables are resolved, as CodePipeline checks the configuration it is
    /// given). Its `#{Namespace.Name}` references are resolved once, before the first job:
    /// see [`Self::pipeline_execution_id`] and [`Self::variables`].
    pub user_parameters: String,
    /// `#{codepipeline.PipelineExecutionId}`: the pipeline execution the action runs in, the
    /// same for every job (continuations) and every Lambda retry of the run. `None` (the
    /// default) draws a new id (8-4-4-4-12 lowercase hex, from the emulator's seeded ids) for
    /// each run. A pipeline "Retry" runs the action again in the same execution: give the id
    /// of the run it retries.
    pub pipeline_execution_id: Option<String>,
    /// The other variables the action may reference, by full name: `Deploy.CommitId` (an
    /// action's namespace) or `variables.Stage` (pipeline-level) to its value, which replaces
    /// `#{Deploy.CommitId}` as is. A reference to a variable not given here fails the action
    /// before the function is invoked, as CodePipeline does. The `codepipeline` namespace is
    /// [`Self::pipeline_execution_id`].
    pub variables: BTreeMap<String, String>,
    /// The pipeline the action belongs to: `pipelineContext.pipelineName` of `GetJobDetails`
    /// and the history `ListActionExecutions` pages through (default `cf-invalidate-pipeline`).
    pub pipeline_name: String,
    /// The action's stage (default `Deploy`).
    pub stage_name: String,
    /// The action's name (default `Invalidate`).
    pub action_name: String,
    /// The action's input artifacts: in each job event's `inputArtifacts`, in `GetJobDetails`
    /// and in the history's `input.inputArtifacts` (default none).
    pub input_artifacts: Vec<S3Artifact>,
    /// The deployed artifact: its zip is stored in the artifact bucket
    /// (`codepipeline-REGION-ACCOUNT`) under `PIPELINE/ARTIFACT/ID` (names cut to 20 and 10
    /// characters, a random 7-character id, as CodePipeline names them) and it becomes the first
    /// input artifact, named [`Self::artifact_name`]. The run then draws a new access key id
    /// (`ASIA` + 16 characters) for [`Self::artifact_credentials`] and, with [`super::run`],
    /// starts the emulator with `s3_required_access_key` set to it: only the job's
    /// credentials read the artifacts. Default `None`.
    pub artifact: Option<ArtifactSource>,
    /// The name of [`Self::artifact`] and [`Self::previous_artifact`] (default `BuildArtifact`).
    pub artifact_name: String,
    /// The input artifact of this action's previous execution: stored under another key, and
    /// recorded in the history as an execution of the same pipeline, stage and action, in
    /// another pipeline execution, an hour before this run, with status
    /// [`Self::previous_status`]. Default `None`.
    pub previous_artifact: Option<ArtifactSource>,
    /// The status of the previous execution (default `Succeeded`; `Failed` plants a run that
    /// a "last successful execution" lookup must skip).
    pub previous_status: ActionExecutionStatus,
    /// Record the previous execution but do not store its object, as after an S3 lifecycle
    /// rule expired it (default false).
    pub previous_artifact_gone: bool,
    /// The artifact credentials may not list the artifact bucket (no `s3:ListBucket`), so S3
    /// answers a missing key (such as a gone previous artifact) with 403 `AccessDenied`
    /// rather than 404 `NoSuchKey` (default false).
    pub artifact_credentials_cannot_list: bool,
    /// ListActionExecutions answers `AccessDeniedException` (default false).
    pub list_action_executions_denied: bool,
    /// How `GetJobDetails` answers (default `Allow`); see [`GetJobDetailsMode`].
    pub get_job_details: GetJobDetailsMode,
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
            .field("pipeline_execution_id", &self.pipeline_execution_id)
            .field("variables", &self.variables)
            .field("pipeline_name", &self.pipeline_name)
            .field("stage_name", &self.stage_name)
            .field("action_name", &self.action_name)
            .field("input_artifacts", &self.input_artifacts)
            .field("artifact", &self.artifact)
            .field("artifact_name", &self.artifact_name)
            .field("previous_artifact", &self.previous_artifact)
            .field("previous_status", &self.previous_status)
            .field("previous_artifact_gone", &self.previous_artifact_gone)
            .field(
                "artifact_credentials_cannot_list",
                &self.artifact_credentials_cannot_list,
            )
            .field(
                "list_action_executions_denied",
                &self.list_action_executions_denied,
            )
            .field("get_job_details", &self.get_job_details)
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
        // The emulated world starts as a bare emulator's does.
        let world = EmulatorConfig::default();
        Self {
            function: function.into(),
            function_args: Vec::new(),
            user_parameters: user_parameters.into(),
            pipeline_execution_id: None,
            variables: BTreeMap::new(),
            pipeline_name: "cf-invalidate-pipeline".to_string(),
            stage_name: "Deploy".to_string(),
            action_name: "Invalidate".to_string(),
            input_artifacts: Vec::new(),
            artifact: None,
            artifact_name: "BuildArtifact".to_string(),
            previous_artifact: None,
            previous_status: ActionExecutionStatus::Succeeded,
            previous_artifact_gone: false,
            artifact_credentials_cannot_list: false,
            list_action_executions_denied: false,
            get_job_details: world.get_job_details,
            distributions: world.distributions,
            distribution_tenants: world.distribution_tenants,
            strict_caller_reference: world.strict_caller_reference,
            unknown_ids: world.unknown_ids,
            default_completion: world.default_completion,
            faults: world.faults,
            seed: world.seed,
            port: world.port,
            lambda_timeout: Duration::from_secs(30),
            deadline_grace: Duration::from_millis(500),
            retry_delay: Duration::from_secs(1),
            reinvoke_delay: Duration::from_secs(1),
            no_reply_timeout: Duration::from_secs(20 * 60),
            total_timeout: Duration::from_secs(24 * 3600),
            artifact_credentials: ArtifactCredentials::default(),
            function_name: world.function_name,
            memory_size: 128,
            region: world.region,
            account_id: world.account_id,
            env: Vec::new(),
            duplicate_delivery_rate: 0.0,
            kill_rate: 0.0,
            kills_per_event: 1,
            observer: None,
        }
    }

    /// The emulator the function talks to: this run's world, on a real-time clock.
    pub(super) fn emulator_config(&self) -> EmulatorConfig {
        EmulatorConfig {
            port: self.port,
            distributions: self.distributions.clone(),
            distribution_tenants: self.distribution_tenants.clone(),
            strict_caller_reference: self.strict_caller_reference,
            unknown_ids: self.unknown_ids,
            default_completion: self.default_completion,
            faults: self.faults.clone(),
            seed: self.seed,
            clock: Clock::system(),
            jobs: Vec::new(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            function_name: self.function_name.clone(),
            get_job_details: self.get_job_details,
            s3_required_access_key: self
                .artifact
                .is_some()
                .then(|| self.artifact_credentials.access_key_id.clone()),
            s3_missing_key_denied: self.artifact_credentials_cannot_list,
            list_action_executions_denied: self.list_action_executions_denied,
            ..EmulatorConfig::default()
        }
    }

    /// Adds a distribution.
    pub fn distribution(mut self, d: DistributionConfig) -> Self {
        self.distributions.push(d);
        self
    }

    /// Sets a variable for `#{NAMESPACE.NAME}` references (`name` is `NAMESPACE.NAME`).
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    /// Adds a distribution tenant.
    pub fn distribution_tenant(mut self, t: DistributionTenantConfig) -> Self {
        self.distribution_tenants.push(t);
        self
    }
}

/// The function's environment, as Lambda sets it (plus endpoints pointing at the emulator).
pub(super) fn function_env(config: &PipelineConfig, emu: &EmulatorHandle) -> Vec<(String, String)> {
    lambda_env(
        &LambdaSettings {
            endpoint: emu.endpoint(),
            runtime_api: emu.runtime_api_address(),
            function_name: &config.function_name,
            memory_size: config.memory_size,
            region: &config.region,
        },
        &config.env,
    )
}

/// What Lambda's environment says of the function and where its APIs are.
pub(crate) struct LambdaSettings<'a> {
    /// `AWS_ENDPOINT_URL_CLOUDFRONT`, `AWS_ENDPOINT_URL_CODEPIPELINE` and `AWS_ENDPOINT_URL_S3`.
    pub endpoint: String,
    /// `AWS_LAMBDA_RUNTIME_API`.
    pub runtime_api: String,
    pub function_name: &'a str,
    pub memory_size: u32,
    pub region: &'a str,
}

/// Lambda's environment for a function process, then `extra` (which overrides).
pub(crate) fn lambda_env(
    settings: &LambdaSettings<'_>,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let endpoint = settings.endpoint.clone();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| env.push((k.to_string(), v));
    for name in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(name) {
            set(name, v.to_string_lossy().into_owned());
        }
    }
    set("LANG", "C.UTF-8".into());
    set("TZ", ":UTC".into());
    set("AWS_LAMBDA_RUNTIME_API", settings.runtime_api.clone());
    set(
        "AWS_LAMBDA_FUNCTION_NAME",
        settings.function_name.to_string(),
    );
    set(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        settings.memory_size.to_string(),
    );
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    set(
        "AWS_LAMBDA_LOG_GROUP_NAME",
        format!("/aws/lambda/{}", settings.function_name),
    );
    set(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "local-aws/[$LATEST]0000000000000000".into(),
    );
    set("AWS_REGION", settings.region.to_string());
    set("AWS_DEFAULT_REGION", settings.region.to_string());
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
    set("AWS_ENDPOINT_URL_CODEPIPELINE", endpoint.clone());
    set("AWS_ENDPOINT_URL_S3", endpoint);
    set("AWS_EC2_METADATA_DISABLED", "true".into());
    // Keep a developer's profile and config out of the function, as on Lambda.
    set("AWS_CONFIG_FILE", "/dev/null".into());
    set("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into());
    for name in INHERITED_ENV {
        if let Ok(v) = std::env::var(name) {
            set(name, v);
        }
    }
    for (k, v) in extra {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    env
}
