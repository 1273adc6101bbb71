//! How a pipeline run goes: the function, the emulated world, Lambda's and CodePipeline's
//! timings, the chaos to add, and the environment the function gets.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::TimelineEntry;
use super::artifact::ArtifactSource;
use super::deploy::DeployTarget;
use crate::cloudfront::{DistributionConfig, DistributionTenantConfig};
use crate::codepipeline::executions::{ActionExecutionStatus, S3Artifact, SessionCredentials};
use crate::duration::parse_duration_or_zero;
use crate::server::{EmulatorConfig, EmulatorHandle, World};

/// CodePipeline's limit on every action configuration value, `UserParameters` included.
pub const MAX_USER_PARAMETERS: usize = 1000;
/// Environment variables passed from this process to the function when set.
pub const INHERITED_ENV: [&str; 3] = ["AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"];

/// The temporary credentials placed in the job event's `artifactCredentials` and answered by
/// `GetJobDetails`.
pub type ArtifactCredentials = SessionCredentials;

impl Default for SessionCredentials {
    fn default() -> Self {
        Self {
            access_key_id: "ASIALOCALAWSARTIFACT".to_string(),
            secret_access_key: "local-aws-artifact-secret-key-do-not-log".to_string(),
            session_token: "local-aws-artifact-session-token-do-not-log".to_string(),
        }
    }
}

/// Called with each timeline entry as it happens (jobs, invocations, API calls, verdict, and
/// function output lines).
#[derive(Clone)]
pub struct Observer(pub Arc<dyn Fn(&TimelineEntry) + Send + Sync>);

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

/// How to run the pipeline: the `pipeline` command's flags, each with its default. Build with
/// [`PipelineConfig::new`] and change the public fields.
#[derive(Debug, Clone, clap::Args)]
pub struct PipelineConfig {
    /// The function executable: the Lambda `bootstrap` (e.g. target/debug/cf-invalidate-lambda).
    /// A bare name is looked up on PATH.
    #[arg(long, value_name = "PATH")]
    pub function: PathBuf,

    /// An argument for the function executable (for a script run by an interpreter:
    /// `--function python3 --function-arg handler.py`). Repeat for several.
    #[arg(long = "function-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub function_args: Vec<String>,

    /// The action's UserParameters string as written in the pipeline (at most 1000
    /// characters). Its variable references are resolved before the function sees it:
    /// #{codepipeline.PipelineExecutionId} and those given with --variable; a reference to
    /// any other variable fails the action before it runs, as in CodePipeline.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub user_parameters: String,

    /// The value of #{codepipeline.PipelineExecutionId} (8-4-4-4-12 lowercase hex). By default
    /// each run is a new pipeline execution with a new id; give the id a run printed to replay
    /// a pipeline Retry of it.
    #[arg(long, value_name = "ID", value_parser = execution_id_arg)]
    pub pipeline_execution_id: Option<String>,

    /// A variable for #{NAMESPACE.NAME} references in UserParameters, e.g.
    /// `--variable Deploy.CommitId=abc123` or `--variable variables.Stage=prod`. Repeat for
    /// several.
    #[arg(long = "variable", value_name = "NAMESPACE.NAME=VALUE", value_parser = super::parse_variable_assignment)]
    pub variables: Vec<(String, String)>,

    /// The pipeline's name (GetJobDetails' pipelineContext, ListActionExecutions).
    #[arg(long, value_name = "NAME", default_value = "cf-invalidate-pipeline")]
    pub pipeline_name: String,

    /// The stage the action runs in.
    #[arg(long, value_name = "NAME", default_value = "Deploy")]
    pub stage_name: String,

    /// The action's name.
    #[arg(long, value_name = "NAME", default_value = "Invalidate")]
    pub action_name: String,

    /// An input artifact of the action, `NAME=s3://BUCKET/KEY`: in the job event, in
    /// GetJobDetails and in the execution history. Repeat for several.
    #[arg(long = "input-artifact", value_name = "NAME=s3://BUCKET/KEY")]
    pub input_artifacts: Vec<S3Artifact>,

    /// The deployed artifact: a directory (zipped on the fly, the same bytes for the same
    /// files) or a .zip. It is stored in the artifact bucket codepipeline-REGION-ACCOUNT and
    /// becomes the first input artifact; the job's artifact credentials get an access key id
    /// of their own, and S3 refuses any other.
    #[arg(long, value_name = "PATH", value_parser = |s: &str| ArtifactSource::from_path(s))]
    pub artifact: Option<ArtifactSource>,

    /// The name of --artifact and --previous-artifact.
    #[arg(long, value_name = "NAME", default_value = "BuildArtifact")]
    pub artifact_name: String,

    /// The input artifact of this action's previous execution (a directory or a .zip): stored
    /// under another key, and recorded in the history as an earlier execution of the same
    /// action in another pipeline execution.
    #[arg(long, value_name = "PATH", value_parser = |s: &str| ArtifactSource::from_path(s))]
    pub previous_artifact: Option<ArtifactSource>,

    /// The status of that previous execution: `succeeded`, or `failed` (one a lookup of the
    /// last successful execution must skip).
    #[arg(long, value_name = "succeeded|failed", default_value = "succeeded", value_parser = previous_status_arg, requires = "previous_artifact")]
    pub previous_status: ActionExecutionStatus,

    /// Record the previous execution but do not store its object, as after an S3 lifecycle
    /// rule deleted it.
    #[arg(long, requires = "previous_artifact")]
    pub previous_artifact_gone: bool,

    /// The job's artifact credentials may not list the artifact bucket (no s3:ListBucket, as
    /// in many CodePipeline service roles): S3 then answers a missing key with 403
    /// AccessDenied instead of 404 NoSuchKey.
    #[arg(long)]
    pub artifact_credentials_cannot_list: bool,

    /// ListActionExecutions answers AccessDeniedException, as for a function role without
    /// codepipeline:ListActionExecutions.
    #[arg(long)]
    pub list_action_executions_denied: bool,

    /// The S3 deploy action before this one, with "Extract file before deploy": each file of
    /// --artifact becomes an object of BUCKET (created if missing) under PREFIX, with a
    /// Content-Type from its extension. A --previous-artifact is deployed first, as the
    /// previous execution did. A distribution with `--origin ID=BUCKET` serves them.
    #[arg(long, value_name = "BUCKET[/PREFIX]", requires = "artifact")]
    pub deploy_to: Option<DeployTarget>,

    /// The deploy's CacheControl: the Cache-Control of every object it writes, e.g.
    /// `max-age=300`.
    #[arg(long, value_name = "VALUE", requires = "deploy_to")]
    pub deploy_cache_control: Option<String>,

    /// A path a viewer requests through the edge of the distribution whose origin is the
    /// deploy bucket, as it would appear in a URL (`/docs/caf%C3%A9.html`): after each deploy
    /// (twice after the previous one), while each job is in progress, and after the verdict.
    /// Repeat for several.
    #[arg(long = "view", value_name = "PATH", requires = "deploy_to", value_parser = super::viewer::view_path)]
    pub views: Vec<String>,

    #[command(flatten)]
    pub world: World,

    /// The function's timeout: an invocation not answered by then (plus 500 ms) counts as a
    /// function error, and its process is killed and cold-started again.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration_or_zero)]
    pub lambda_timeout: Duration,

    /// Delay before Lambda's first retry of a failed invocation; the second retry waits twice
    /// as long. (Lambda waits about 1 and 2 minutes.)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration_or_zero)]
    pub retry_delay: Duration,

    /// Delay between a "still in progress" result (continuation token) and the next invocation.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration_or_zero)]
    pub reinvoke_delay: Duration,

    /// The action fails when a job gets no PutJob result for this long (CodePipeline: 20m).
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = parse_duration_or_zero)]
    pub no_reply_timeout: Duration,

    /// The action fails when it runs this long in all (CodePipeline: 24h).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration_or_zero)]
    pub total_timeout: Duration,

    /// An extra environment variable for the function, `KEY=VALUE`. Repeat for several.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = env_arg)]
    pub env: Vec<(String, String)>,

    /// Deliver each event a second time with this probability (`0.3` or `30%`): same job id,
    /// same payload, a new request id, as Lambda's at-least-once delivery may do.
    #[arg(long = "duplicate-delivery", value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    pub duplicate_delivery_rate: f64,

    /// SIGKILL an invocation at a random moment before its deadline with this probability
    /// (`0.15` or `15%`): a crash mid-work, which Lambda retries.
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    pub kill_rate: f64,

    /// Kill at most this many deliveries of one event with --kill-rate.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub kills_per_event: u32,

    /// The function name (AWS_LAMBDA_FUNCTION_NAME and the event's FunctionName).
    #[arg(long, value_name = "NAME", default_value = "cf-invalidate")]
    pub function_name: String,

    /// AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB.
    #[arg(long, value_name = "MB", default_value_t = 128)]
    pub memory_size: u32,

    /// AWS_REGION and AWS_DEFAULT_REGION of the function.
    #[arg(long, value_name = "REGION", default_value = "us-east-1")]
    pub region: String,

    /// Port of the emulator on 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,

    // Not flags: Lambda's grace before the kill, the account, the planted credentials (known
    // values prove they never leak), and the live timeline.
    #[arg(skip = Duration::from_millis(500))]
    pub deadline_grace: Duration,
    #[arg(skip = EmulatorConfig::default().account_id)]
    pub account_id: String,
    #[arg(skip)]
    pub artifact_credentials: ArtifactCredentials,
    #[arg(skip)]
    pub observer: Option<Observer>,
}

impl PipelineConfig {
    /// A run of `function` with `user_parameters` and the flags' defaults.
    pub fn new(function: impl Into<PathBuf>, user_parameters: impl Into<String>) -> Self {
        Self {
            function: function.into(),
            user_parameters: user_parameters.into(),
            ..crate::clap_defaults(&["--function", "-"])
        }
    }

    /// The emulator the function talks to: this run's world, on a real-time clock.
    pub(super) fn emulator_config(&self) -> EmulatorConfig {
        EmulatorConfig {
            port: self.port,
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            function_name: self.function_name.clone(),
            s3_required_access_key: self
                .artifact
                .is_some()
                .then(|| self.artifact_credentials.access_key_id.clone()),
            s3_missing_key_denied: self.artifact_credentials_cannot_list,
            list_action_executions_denied: self.list_action_executions_denied,
            ..self.world.emulator_config()
        }
    }

    pub fn distribution(mut self, d: DistributionConfig) -> Self {
        self.world.distributions.push(d);
        self
    }

    /// Sets a variable for `#{NAMESPACE.NAME}` references (`name` is `NAMESPACE.NAME`).
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }

    pub fn distribution_tenant(mut self, t: DistributionTenantConfig) -> Self {
        self.world.distribution_tenants.push(t);
        self
    }
}

/// `0.3` or `30%`.
pub(crate) fn rate_arg(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    };
    match value {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "invalid rate '{text}': expected a probability from 0 to 1 (0.3) or a percentage (30%)"
        )),
    }
}

pub(crate) fn env_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "invalid environment variable '{text}': expected KEY=VALUE"
        )),
    }
}

fn previous_status_arg(text: &str) -> Result<ActionExecutionStatus, String> {
    match text.to_ascii_lowercase().as_str() {
        "succeeded" => Ok(ActionExecutionStatus::Succeeded),
        "failed" => Ok(ActionExecutionStatus::Failed),
        _ => Err(format!(
            "'{text}' is not a status of a previous execution: use succeeded or failed"
        )),
    }
}

fn execution_id_arg(text: &str) -> Result<String, super::PipelineError> {
    if super::is_pipeline_execution_id(text) {
        Ok(text.to_string())
    } else {
        Err(super::PipelineError::PipelineExecutionId(text.to_string()))
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
    let (name, region, endpoint) = (settings.function_name, settings.region, &settings.endpoint);
    let mut env: Vec<(String, String)> = ["PATH", "HOME"]
        .into_iter()
        .filter_map(|k| Some((k.to_string(), std::env::var_os(k)?.to_string_lossy().into())))
        .collect();
    let lambda = [
        ("LANG", "C.UTF-8".to_string()),
        ("TZ", ":UTC".into()),
        ("AWS_LAMBDA_RUNTIME_API", settings.runtime_api.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_string()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            settings.memory_size.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "local-aws/[$LATEST]0000000000000000".into(),
        ),
        ("AWS_REGION", region.to_string()),
        ("AWS_DEFAULT_REGION", region.to_string()),
        ("AWS_ACCESS_KEY_ID", "ASIALOCALAWSFUNCTION".into()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "local-aws-function-secret-key".into(),
        ),
        (
            "AWS_SESSION_TOKEN",
            "local-aws-function-session-token".into(),
        ),
        ("AWS_ENDPOINT_URL_CLOUDFRONT", endpoint.clone()),
        ("AWS_ENDPOINT_URL_CODEPIPELINE", endpoint.clone()),
        ("AWS_ENDPOINT_URL_S3", endpoint.clone()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        // Keep a developer's profile and config out of the function, as on Lambda.
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
    ];
    env.extend(lambda.map(|(k, v)| (k.to_string(), v)));
    let inherited = INHERITED_ENV.into_iter();
    env.extend(inherited.filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?))));
    for (k, v) in extra {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    env
}
