//! local-aws: the command line. `pipeline` plays CodePipeline + Lambda against a function
//! binary; `serve` runs the emulated APIs alone for a CLI or SDK to call; `chaos` runs many
//! pipeline jobs with random faults and checks the invariants of a reliable action; `events`
//! plays S3 uploads through a queue and an event source mapping and checks every key got
//! invalidated.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use std::sync::atomic::{AtomicU32, Ordering};

use local_aws::chaos::{self, ChaosConfig, ChaosJob};
use local_aws::events::EventsConfig;
use local_aws::pipeline::{self, ArtifactSource, PipelineConfig, TimelineEntry};
use local_aws::{
    ActionExecutionStatus, ConnectionMode, DistributionAccess, DistributionConfig,
    DistributionTenantConfig, DurationRange, Emulator, EmulatorConfig, Faults, GetJobDetailsMode,
    RequestRecord, S3Artifact, UnknownIds,
};

/// Local emulator of the CloudFront invalidation, CodePipeline job and Lambda Runtime APIs,
/// and a driver that runs a CodePipeline Lambda invoke action against a real function binary.
///
/// Every API is served over HTTP on one 127.0.0.1 port. Requests are not signature-checked.
/// See docs/local-aws.md for the rules emulated and the fault syntax.
#[derive(Debug, Parser)]
#[command(name = "local-aws", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a function binary as CodePipeline and Lambda would, until the action ends.
    ///
    /// Starts the emulator, starts the function as a child process with Lambda's environment
    /// (pointing its AWS endpoints at the emulator), delivers a CodePipeline job event, and
    /// follows what the function reports: a continuation token makes a new job and a new
    /// invocation after --reinvoke-delay; a failed invocation (error, crash, timeout) is retried
    /// twice with the same event; no result within --no-reply-timeout fails the action.
    ///
    /// Prints a timeline and the verdict (or a JSON report with --json). Exit status: 0 if the
    /// action succeeded, 1 if it failed, 2 for a usage error.
    Pipeline(Box<PipelineArgs>),
    /// Serve the emulated APIs until Ctrl-C, for the AWS CLI or an SDK to call.
    ///
    /// Prints the environment variables that point a CLI at it. Create CodePipeline jobs to
    /// report on with --job, or with `curl -X POST http://127.0.0.1:PORT/_local/jobs`. Each
    /// call is logged on standard error as it happens.
    Serve(Box<ServeArgs>),
    /// Run many simulated pipeline jobs, several at a time, with random faults, and check the
    /// invariants of a reliable action.
    ///
    /// Each job gets its own emulator, one or two distributions of varied speed, random
    /// UserParameters, about 30 % transient CloudFront failures, TooManyInvalidationsInProgress
    /// storms, CodePipeline 5xx, throttling (sometimes a burst on the final report) and hangs,
    /// the strict CallerReference mode in half the jobs, invocations killed before or at their
    /// deadline, and duplicate deliveries; every tenth job plants a cause with a known failure
    /// type. Prints
    /// the figures (or a JSON report with --json) and, for every job that broke an invariant,
    /// the `local-aws pipeline` command that replays it.
    ///
    /// Exit status: 0 if every invariant holds, 1 if one is broken, 2 for a usage error.
    Chaos(Box<ChaosArgs>),
    /// Play a burst of S3 uploads and deletes through an SQS queue and a Lambda event source
    /// mapping against a function binary, and check that every key got invalidated.
    ///
    /// Each upload or delete makes an S3 event notification (or an EventBridge event) on an
    /// emulated standard queue; pollers gather batches (--batch-size, --batching-window, 6 MB)
    /// and invoke the function, each of --concurrency invocations in its own process, reused
    /// between invocations. Answers are read as ReportBatchItemFailures; failed records and
    /// failed batches come back after --visibility-timeout, and go to a dead-letter queue
    /// after --max-receive-count receives. `--delivery direct` invokes the function once per
    /// notification instead, with Lambda's two asynchronous retries.
    ///
    /// The report counts events, messages, invocations, CreateInvalidation calls, paths billed
    /// and TooManyInvalidationsInProgress answers, proves that each planted fault fired, and
    /// checks from CloudFront's invalidations alone that every key under the parameters'
    /// keyPrefix is covered by an invalidation created after its notification.
    ///
    /// Exit status: 0 if the invariant holds, 1 if a key is left uncovered or a valid event
    /// was dead-lettered, 2 for a usage error.
    Events(Box<EventsArgs>),
}

/// What `pipeline` and `serve` emulate (`chaos` draws its own worlds).
#[derive(Debug, Args)]
struct WorldArgs {
    /// A distribution that exists, with how long its invalidations stay InProgress:
    /// `ID`, `ID:3s` or `ID:2s..5s`. Repeat for several. Other ids get NoSuchDistribution.
    #[arg(long = "distribution", value_name = "ID[:COMPLETES-AFTER]")]
    distributions: Vec<DistributionConfig>,

    /// A distribution that exists but is not allowed: every call on it gets AccessDenied.
    #[arg(long = "denied-distribution", value_name = "ID")]
    denied: Vec<DistributionConfig>,

    /// A multi-tenant distribution (ConnectionMode tenant-only): invalidation calls naming it
    /// get NoSuchDistribution; its tenants are invalidated instead. `COMPLETES-AFTER` is the
    /// default of its tenants. Repeat for several.
    #[arg(
        long = "multi-tenant-distribution",
        value_name = "ID[:COMPLETES-AFTER]"
    )]
    multi_tenant: Vec<DistributionConfig>,

    /// A distribution tenant that exists: `dt_...`, `dt_...:3s`, or `DISTRIBUTION/dt_...:3s`
    /// to name its multi-tenant distribution (needed only when several are declared). Repeat
    /// for several. Other tenant ids get EntityNotFound.
    #[arg(
        long = "distribution-tenant",
        value_name = "[DISTRIBUTION/]ID[:COMPLETES-AFTER]"
    )]
    tenants: Vec<DistributionTenantConfig>,

    /// A distribution tenant that exists but is not allowed: every call on it gets
    /// AccessDenied.
    #[arg(long = "denied-distribution-tenant", value_name = "[DISTRIBUTION/]ID")]
    denied_tenants: Vec<DistributionTenantConfig>,

    /// How calls on distribution or tenant ids that do not exist are answered: `not-found`
    /// (NoSuchDistribution / EntityNotFound) or `access-denied` (IAM's AccessDenied, as for a
    /// role whose policy lists distribution ARNs).
    #[arg(
        long,
        value_name = "not-found|access-denied",
        default_value = "not-found"
    )]
    unknown_ids: UnknownIds,

    /// Refuse a reused CallerReference with InvalidArgument even when the paths are the same
    /// (by default the same batch returns the existing invalidation, as AWS documents).
    #[arg(long)]
    strict_caller_reference: bool,

    /// How long invalidations stay InProgress when --distribution does not say: a duration
    /// (`3s`) or a range to draw from (`2s..5s`).
    #[arg(long, value_name = "DURATION[..DURATION]", default_value = "2s..5s")]
    completes_after: DurationRange,

    /// Faults to inject, e.g. `cloudfront.unavailable=0.1,cloudfront.too-many=3,codepipeline.unavailable=0.2`.
    /// Kinds: unavailable, throttle, throttle-final (codepipeline: final reports only), drop,
    /// drop-after, hang, too-many (cloudfront), latency.
    /// A value with a decimal point or % is a rate per call; a whole number N fails the next N calls.
    #[arg(long, value_name = "SPEC", default_value = "none")]
    faults: Faults,

    /// Seed for every random choice (ids, completion times, faults), to repeat a run exactly.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

impl WorldArgs {
    fn distributions(&self) -> Vec<DistributionConfig> {
        let mut all = self.distributions.clone();
        for d in &self.denied {
            all.push(DistributionConfig::denied(d.id.clone()));
        }
        for d in &self.multi_tenant {
            all.push(DistributionConfig {
                connection_mode: ConnectionMode::TenantOnly,
                ..d.clone()
            });
        }
        all
    }

    fn tenants(&self) -> Vec<DistributionTenantConfig> {
        let mut all = self.tenants.clone();
        for t in &self.denied_tenants {
            all.push(DistributionTenantConfig {
                access: DistributionAccess::Denied,
                ..t.clone()
            });
        }
        all
    }
}

#[derive(Debug, Args)]
struct PipelineArgs {
    /// The function executable: the Lambda `bootstrap` (e.g. target/debug/cf-invalidate-lambda).
    /// A bare name is looked up on PATH.
    #[arg(long, value_name = "PATH")]
    function: PathBuf,

    /// An argument for the function executable (for a script run by an interpreter:
    /// `--function python3 --function-arg handler.py`). Repeat for several.
    #[arg(long = "function-arg", value_name = "ARG", allow_hyphen_values = true)]
    function_args: Vec<String>,

    /// The action's UserParameters string as written in the pipeline (at most 1000
    /// characters). Its variable references are resolved before the function sees it:
    /// #{codepipeline.PipelineExecutionId} and those given with --variable; a reference to
    /// any other variable fails the action before it runs, as in CodePipeline.
    #[arg(long, value_name = "TEXT", default_value = "")]
    user_parameters: String,

    /// The value of #{codepipeline.PipelineExecutionId} (8-4-4-4-12 lowercase hex). By default
    /// each run is a new pipeline execution with a new id; give the id a run printed to replay
    /// a pipeline Retry of it.
    #[arg(long, value_name = "ID", value_parser = execution_id_arg)]
    pipeline_execution_id: Option<String>,

    /// A variable for #{NAMESPACE.NAME} references in UserParameters, e.g.
    /// `--variable Deploy.CommitId=abc123` or `--variable variables.Stage=prod`. Repeat for
    /// several.
    #[arg(long = "variable", value_name = "NAMESPACE.NAME=VALUE", value_parser = pipeline::parse_variable_assignment)]
    variables: Vec<(String, String)>,

    /// The pipeline's name (GetJobDetails' pipelineContext, ListActionExecutions).
    #[arg(long, value_name = "NAME", default_value = "cf-invalidate-pipeline")]
    pipeline_name: String,

    /// The stage the action runs in.
    #[arg(long, value_name = "NAME", default_value = "Deploy")]
    stage_name: String,

    /// The action's name.
    #[arg(long, value_name = "NAME", default_value = "Invalidate")]
    action_name: String,

    /// An input artifact of the action, `NAME=s3://BUCKET/KEY`: in the job event, in
    /// GetJobDetails and in the execution history. Repeat for several.
    #[arg(long = "input-artifact", value_name = "NAME=s3://BUCKET/KEY")]
    input_artifacts: Vec<S3Artifact>,

    /// The deployed artifact: a directory (zipped on the fly, the same bytes for the same
    /// files) or a .zip. It is stored in the artifact bucket codepipeline-REGION-ACCOUNT and
    /// becomes the first input artifact; the job's artifact credentials get an access key id
    /// of their own, and S3 refuses any other.
    #[arg(long, value_name = "PATH", value_parser = artifact_arg)]
    artifact: Option<ArtifactSource>,

    /// The name of --artifact and --previous-artifact.
    #[arg(long, value_name = "NAME", default_value = "BuildArtifact")]
    artifact_name: String,

    /// The input artifact of this action's previous execution (a directory or a .zip): stored
    /// under another key, and recorded in the history as an earlier execution of the same
    /// action in another pipeline execution.
    #[arg(long, value_name = "PATH", value_parser = artifact_arg)]
    previous_artifact: Option<ArtifactSource>,

    /// The status of that previous execution: `succeeded`, or `failed` (one a lookup of the
    /// last successful execution must skip).
    #[arg(long, value_name = "succeeded|failed", default_value = "succeeded", value_parser = previous_status_arg, requires = "previous_artifact")]
    previous_status: ActionExecutionStatus,

    /// Record the previous execution but do not store its object, as after an S3 lifecycle
    /// rule deleted it.
    #[arg(long, requires = "previous_artifact")]
    previous_artifact_gone: bool,

    /// The job's artifact credentials may not list the artifact bucket (no s3:ListBucket, as
    /// in many CodePipeline service roles): S3 then answers a missing key with 403
    /// AccessDenied instead of 404 NoSuchKey.
    #[arg(long)]
    artifact_credentials_cannot_list: bool,

    /// ListActionExecutions answers AccessDeniedException, as for a function role without
    /// codepipeline:ListActionExecutions.
    #[arg(long)]
    list_action_executions_denied: bool,

    /// How GetJobDetails answers: `allow` (the job's pipeline context and artifacts),
    /// `names-only` (a pipelineContext of pipeline, stage and action names, without the
    /// execution ids documented for custom actions), `access-denied` (AccessDeniedException) or
    /// `not-found` (JobNotFoundException). AWS
    /// documents GetJobDetails for custom actions only; what a Lambda invoke job gets is
    /// unconfirmed, so try the function against each.
    #[arg(
        long,
        value_name = "allow|names-only|access-denied|not-found",
        default_value = "allow"
    )]
    get_job_details: GetJobDetailsMode,

    #[command(flatten)]
    world: WorldArgs,

    /// The function's timeout: an invocation not answered by then (plus 500 ms) counts as a
    /// function error, and its process is killed and cold-started again.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration_arg)]
    lambda_timeout: Duration,

    /// Delay before Lambda's first retry of a failed invocation; the second retry waits twice
    /// as long. (Lambda waits about 1 and 2 minutes.)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration_arg)]
    retry_delay: Duration,

    /// Delay between a "still in progress" result (continuation token) and the next invocation.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration_arg)]
    reinvoke_delay: Duration,

    /// The action fails when a job gets no PutJob result for this long (CodePipeline: 20m).
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = duration_arg)]
    no_reply_timeout: Duration,

    /// The action fails when it runs this long in all (CodePipeline: 24h).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration_arg)]
    total_timeout: Duration,

    /// An extra environment variable for the function, `KEY=VALUE`. Repeat for several.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = env_arg)]
    env: Vec<(String, String)>,

    /// Deliver each event a second time with this probability (`0.3` or `30%`): same job id,
    /// same payload, a new request id, as Lambda's at-least-once delivery may do.
    #[arg(long = "duplicate-delivery", value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    duplicate_delivery: f64,

    /// SIGKILL an invocation at a random moment before its deadline with this probability
    /// (`0.15` or `15%`): a crash mid-work, which Lambda retries.
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    kill_rate: f64,

    /// Kill at most this many deliveries of one event with --kill-rate.
    #[arg(long, value_name = "N", default_value_t = 1)]
    kills_per_event: u32,

    /// The function name (AWS_LAMBDA_FUNCTION_NAME and the event's FunctionName).
    #[arg(long, value_name = "NAME", default_value = "cf-invalidate")]
    function_name: String,

    /// AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB.
    #[arg(long, value_name = "MB", default_value_t = 128)]
    memory_size: u32,

    /// AWS_REGION and AWS_DEFAULT_REGION of the function.
    #[arg(long, value_name = "REGION", default_value = "us-east-1")]
    region: String,

    /// Port of the emulator on 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    port: u16,

    /// Print a JSON report instead of the timeline.
    #[arg(long)]
    json: bool,

    /// Include the function's output (stdout and stderr) in the timeline.
    #[arg(long, short)]
    verbose: bool,

    /// Also print each event on standard error as it happens.
    #[arg(long)]
    live: bool,
}

#[derive(Debug, Args)]
struct ChaosArgs {
    /// The function executable: the Lambda `bootstrap` (e.g. target/debug/cf-invalidate-lambda).
    #[arg(long, value_name = "PATH")]
    function: PathBuf,

    /// An argument for the function executable. Repeat for several.
    #[arg(long = "function-arg", value_name = "ARG", allow_hyphen_values = true)]
    function_args: Vec<String>,

    /// How many pipeline jobs to run.
    #[arg(long, value_name = "N", default_value_t = 300)]
    jobs: u32,

    /// How many jobs run at the same time (each runs its own emulator and function process).
    #[arg(long, value_name = "N", default_value_t = 6)]
    concurrency: usize,

    /// Seed every job is drawn from; the same seed draws the same jobs.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,

    /// Print the JSON report (every job, the figures, the invariants) instead of the table.
    #[arg(long)]
    json: bool,

    /// Do not print a line on standard error as each job ends.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct EventsArgs {
    /// The function executable (e.g. target/debug/cf-invalidate-events). A bare name is
    /// looked up on PATH.
    #[arg(long, value_name = "PATH")]
    function: PathBuf,

    /// An argument for the function executable (`--function python3 --function-arg f.py`).
    /// Repeat for several.
    #[arg(long = "function-arg", value_name = "ARG", allow_hyphen_values = true)]
    function_args: Vec<String>,

    /// The function's parameters, passed unchanged as CF_INVALIDATE_PARAMETERS. The coverage
    /// check reads distributionId(s), distributionTenantId(s), keyPrefix and pathPrefix from
    /// it. Default: {"distributionId":"<the first --distribution>"}.
    #[arg(long, value_name = "JSON")]
    parameters: Option<String>,

    /// How many uploads and deletes to generate (awkward keys: spaces, +, %, non-ASCII,
    /// index.html in nested folders, directory markers, re-uploads).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    uploads: usize,

    /// Play these keys instead: one key per line; a line `DELETE key` deletes it.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,

    /// Fraction of generated events that delete a key uploaded earlier.
    #[arg(long, value_name = "RATE", default_value = "0.1", value_parser = rate_arg)]
    deletes: f64,

    /// Generated keys start with this. Default: the keyPrefix of --parameters.
    #[arg(long, value_name = "PREFIX")]
    key_prefix: Option<String>,

    /// Fraction of generated keys put outside the key prefix (when there is one); they are
    /// not expected to be invalidated.
    #[arg(long, value_name = "RATE", default_value = "0.02", value_parser = rate_arg)]
    outside_prefix: f64,

    /// Fraction of generated keys with awkward names (spaces, `+`, `%`, non-ASCII, ...); the
    /// rest are plain (`assets/js/app-12.js`), as most of a site's files are.
    #[arg(long, value_name = "RATE", default_value = "1", value_parser = rate_arg)]
    awkward_keys: f64,

    /// The events are spread evenly over this time.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration_arg, conflicts_with = "rate")]
    burst_duration: Duration,

    /// Events per second instead of --burst-duration.
    #[arg(long, value_name = "N")]
    rate: Option<f64>,

    /// The bucket named in the notifications.
    #[arg(long, value_name = "NAME", default_value = "cf-invalidate-site")]
    bucket: String,

    /// What S3 sends: S3 event notifications (`s3`, key form-encoded), EventBridge events
    /// (`eventbridge`, key raw), or both drawn per message (`mixed`).
    #[arg(long, value_name = "s3|eventbridge|mixed", default_value = "s3")]
    body_shape: local_aws::events::BodyShape,

    /// Queue S3's s3:TestEvent message before the burst (SQS delivery).
    #[arg(long)]
    test_event: bool,

    /// `sqs`: a queue and an event source mapping; `direct`: one asynchronous invocation
    /// per notification, retried twice after an error.
    #[arg(long, value_name = "sqs|direct", default_value = "sqs")]
    delivery: local_aws::events::Delivery,

    /// The event source mapping's BatchSize (1 to 10000; above 10 it needs a window).
    #[arg(long, value_name = "N", default_value_t = 10)]
    batch_size: usize,

    /// MaximumBatchingWindowInSeconds: a batch goes when full, at the window's end, or at
    /// 6 MB (`200ms`, `1s`; AWS takes whole seconds, local-aws any duration up to 300 s).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration_arg)]
    batching_window: Duration,

    /// The queue's visibility timeout: a failed record or batch comes back after it. At
    /// least the function timeout, as Lambda requires (AWS advises 6 times).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg)]
    visibility_timeout: Duration,

    /// A message received this many times goes to the dead-letter queue (0: no DLQ).
    #[arg(long, value_name = "N", default_value_t = 5)]
    max_receive_count: u32,

    /// Concurrent invocations, each in its own execution environment and process.
    #[arg(long, value_name = "N", default_value_t = 4)]
    concurrency: usize,

    /// The function's timeout: an invocation not answered by then (plus 500 ms) is killed.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg)]
    function_timeout: Duration,

    /// Direct delivery: delay before Lambda's first retry (the second waits twice as long;
    /// Lambda: about 1 and 2 minutes).
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = duration_arg)]
    retry_delay: Duration,

    /// Probability per invocation that its process is SIGKILLed while it runs (Lambda starts
    /// a new one; the batch comes back after the visibility timeout).
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    kill_rate: f64,

    /// Probability per message that SQS delivers it once more, in another batch, while or
    /// after it is processed (at-least-once delivery).
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    duplicate_rate: f64,

    /// Probability per answered batch that the mapping invokes the function again with the
    /// very same batch, as when its delete of the batch was lost (SQS delivery).
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    redeliver_rate: f64,

    /// A distribution that exists, with how long its invalidations stay InProgress:
    /// `ID`, `ID:2s` or `ID:1s..3s`. Repeat for several. Default: E2QWRUHEXAMPLE.
    #[arg(long = "distribution", value_name = "ID[:COMPLETES-AFTER]")]
    distributions: Vec<DistributionConfig>,

    /// A distribution tenant that exists (see `pipeline --distribution-tenant`).
    #[arg(
        long = "distribution-tenant",
        value_name = "[DISTRIBUTION/]ID[:COMPLETES-AFTER]"
    )]
    tenants: Vec<DistributionTenantConfig>,

    /// A multi-tenant distribution, for --distribution-tenant.
    #[arg(
        long = "multi-tenant-distribution",
        value_name = "ID[:COMPLETES-AFTER]"
    )]
    multi_tenant: Vec<DistributionConfig>,

    /// How long invalidations stay InProgress when --distribution does not say.
    #[arg(long, value_name = "DURATION[..DURATION]", default_value = "1s..3s")]
    completes_after: DurationRange,

    /// CloudFront faults, as for `pipeline` (e.g. `cloudfront.too-many=0.05,cloudfront.unavailable=0.02`).
    #[arg(long, value_name = "SPEC", default_value = "none")]
    faults: Faults,

    /// Seed of every random choice; the report shows it.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Extra environment for the function (KEY=VALUE). Repeat for several.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = env_arg)]
    env: Vec<(String, String)>,

    /// AWS_LAMBDA_FUNCTION_NAME.
    #[arg(long, value_name = "NAME", default_value = "cf-invalidate-events")]
    function_name: String,

    /// Print the JSON report instead of the text.
    #[arg(long)]
    json: bool,

    /// Do not print progress on standard error.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 4580)]
    port: u16,

    #[command(flatten)]
    world: WorldArgs,

    /// How GetJobDetails answers: `allow` (the job's pipeline context and artifacts),
    /// `names-only` (a pipelineContext of pipeline, stage and action names, without the
    /// execution ids documented for custom actions), `access-denied` (AccessDeniedException) or
    /// `not-found` (JobNotFoundException). AWS
    /// documents GetJobDetails for custom actions only; what a Lambda invoke job gets is
    /// unconfirmed, so try the function against each.
    #[arg(
        long,
        value_name = "allow|names-only|access-denied|not-found",
        default_value = "allow"
    )]
    get_job_details: GetJobDetailsMode,

    /// A pipeline that exists, with no action executions yet: ListActionExecutions answers
    /// it with an empty list rather than PipelineNotFoundException. Repeat for several.
    #[arg(long = "pipeline", value_name = "NAME")]
    pipelines: Vec<String>,

    /// A CodePipeline job id that exists from the start (8-4-4-4-12 lowercase hex). Repeat
    /// for several.
    #[arg(long = "job", value_name = "ID")]
    jobs: Vec<String>,

    /// Do not log calls on standard error.
    #[arg(long, short)]
    quiet: bool,
}

/// `ID (note, note)`, or `ID` alone.
fn with_notes(id: &str, notes: &[String]) -> String {
    if notes.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({})", notes.join(", "))
    }
}

/// One call as `serve` logs it on standard error: its detail only when it tells what became
/// of a reused CallerReference.
fn log_line(r: &RequestRecord) -> String {
    format!(
        "+{}.{:03}s {}",
        r.at_ms / 1000,
        r.at_ms % 1000,
        r.line(r.caller_reference_reuse.is_some())
    )
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    cf_invalidate::duration::parse_duration_or_zero(text).map_err(|e| e.to_string())
}

fn rate_arg(text: &str) -> Result<f64, String> {
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

fn artifact_arg(text: &str) -> Result<ArtifactSource, String> {
    ArtifactSource::from_path(text).map_err(|e| e.to_string())
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

fn execution_id_arg(text: &str) -> Result<String, String> {
    if pipeline::is_pipeline_execution_id(text) {
        Ok(text.to_string())
    } else {
        Err(pipeline::PipelineError::PipelineExecutionId(text.to_string()).to_string())
    }
}

fn env_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "invalid environment variable '{text}': expected KEY=VALUE"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("local-aws: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Pipeline(args) => run_pipeline(*args).await,
            Command::Serve(args) => serve(*args).await,
            Command::Chaos(args) => chaos(*args).await,
            Command::Events(args) => events(*args).await,
        }
    });
    ExitCode::from(code)
}

async fn run_pipeline(args: PipelineArgs) -> u8 {
    let mut config = PipelineConfig::new(&args.function, args.user_parameters.clone());
    config.function_args = args.function_args.clone();
    config.pipeline_execution_id = args.pipeline_execution_id.clone();
    config.variables = args.variables.iter().cloned().collect();
    config.pipeline_name = args.pipeline_name.clone();
    config.stage_name = args.stage_name.clone();
    config.action_name = args.action_name.clone();
    config.input_artifacts = args.input_artifacts.clone();
    config.artifact = args.artifact.clone();
    config.artifact_name = args.artifact_name.clone();
    config.previous_artifact = args.previous_artifact.clone();
    config.previous_status = args.previous_status;
    config.previous_artifact_gone = args.previous_artifact_gone;
    config.artifact_credentials_cannot_list = args.artifact_credentials_cannot_list;
    config.list_action_executions_denied = args.list_action_executions_denied;
    config.get_job_details = args.get_job_details;
    config.distributions = args.world.distributions();
    config.distribution_tenants = args.world.tenants();
    config.strict_caller_reference = args.world.strict_caller_reference;
    config.unknown_ids = args.world.unknown_ids;
    config.default_completion = args.world.completes_after;
    config.faults = args.world.faults.clone();
    config.seed = args.world.seed;
    config.port = args.port;
    config.lambda_timeout = args.lambda_timeout;
    config.retry_delay = args.retry_delay;
    config.reinvoke_delay = args.reinvoke_delay;
    config.no_reply_timeout = args.no_reply_timeout;
    config.total_timeout = args.total_timeout;
    config.env = args.env.clone();
    config.duplicate_delivery_rate = args.duplicate_delivery;
    config.kill_rate = args.kill_rate;
    config.kills_per_event = args.kills_per_event;
    config.function_name = args.function_name.clone();
    config.memory_size = args.memory_size;
    config.region = args.region.clone();
    if args.live {
        let verbose = args.verbose;
        config.observer = Some(Arc::new(move |e: &TimelineEntry| {
            if verbose || e.kind != pipeline::TimelineKind::Output {
                eprintln!("{}", e.render());
            }
        }));
    }
    let run = pipeline::run(config);
    let report = tokio::select! {
        r = run => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("local-aws: interrupted; the function process was killed");
            return 1;
        }
    };
    match report {
        Ok(report) => {
            let mut out = std::io::stdout().lock();
            let written = if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => writeln!(out, "{text}"),
                    Err(e) => writeln!(out, "{{\"error\": \"{e}\"}}"),
                }
            } else {
                write!(out, "{}", report.render(args.verbose))
            };
            if written.is_err() {
                return 2;
            }
            if report.succeeded() { 0 } else { 1 }
        }
        Err(e) => {
            eprintln!("local-aws: {e}");
            2
        }
    }
}

async fn chaos(args: ChaosArgs) -> u8 {
    if let Err(e) = pipeline::find_function(&args.function) {
        eprintln!("local-aws: {e}");
        return 2;
    }
    if args.jobs == 0 || args.concurrency == 0 {
        eprintln!("local-aws: --jobs and --concurrency must be at least 1");
        return 2;
    }
    let mut config = ChaosConfig::new(&args.function);
    config.function_args = args.function_args.clone();
    config.jobs = args.jobs;
    config.concurrency = args.concurrency;
    config.seed = args.seed;
    if !args.quiet {
        let total = args.jobs;
        let finished = Arc::new(AtomicU32::new(0));
        config.on_job = Some(Arc::new(move |job: &ChaosJob| {
            let n = finished.fetch_add(1, Ordering::Relaxed) + 1;
            eprintln!(
                "[{n:>4}/{total}] job {:>4} seed {:>9} {:<26} {:<30} {:>6.1}s  {} invocation(s), {} fault(s){}",
                job.scenario.index,
                job.scenario.seed,
                job.scenario.cause.name(),
                job.outcome(),
                job.duration_ms as f64 / 1000.0,
                job.counters.invocations,
                job.counters.faults_by_kind.values().sum::<u32>(),
                if job.is_ok() { "" } else { "  BROKEN" }
            );
        }));
    }
    let run = chaos::run(config);
    let report = tokio::select! {
        r = run => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("local-aws: interrupted");
            return 1;
        }
    };
    print_report(args.json, &report, &report.render(), report.holds())
}

async fn events(args: EventsArgs) -> u8 {
    let mut config = EventsConfig::new(&args.function);
    config.function_args = args.function_args.clone();
    config.parameters = args.parameters.clone();
    config.uploads = args.uploads;
    if let Some(path) = &args.keys {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --keys file '{}': {e}", path.display()))
            .and_then(|text| {
                local_aws::events::parse_keys(&text)
                    .map_err(|e| format!("--keys file '{}': {e}", path.display()))
            });
        match parsed {
            Ok(keys) => config.keys = Some(keys),
            Err(e) => {
                eprintln!("local-aws: {e}");
                return 2;
            }
        }
    }
    config.deletes = args.deletes;
    config.key_prefix = args.key_prefix.clone();
    config.outside_prefix = args.outside_prefix;
    config.awkward_keys = args.awkward_keys;
    config.burst_duration = match args.rate {
        Some(rate) if rate > 0.0 && rate.is_finite() => {
            let count = config.keys.as_ref().map_or(args.uploads, Vec::len);
            Duration::from_secs_f64(count as f64 / rate)
        }
        Some(rate) => {
            eprintln!("local-aws: invalid --rate {rate}: give events per second, more than 0");
            return 2;
        }
        None => args.burst_duration,
    };
    config.bucket = args.bucket.clone();
    config.body_shape = args.body_shape;
    config.test_event = args.test_event;
    config.delivery = args.delivery;
    config.batch_size = args.batch_size;
    config.batching_window = args.batching_window;
    config.visibility_timeout = args.visibility_timeout;
    config.max_receive_count = (args.max_receive_count > 0).then_some(args.max_receive_count);
    config.concurrency = args.concurrency;
    config.function_timeout = args.function_timeout;
    config.retry_delay = args.retry_delay;
    config.kill_rate = args.kill_rate;
    config.duplicate_rate = args.duplicate_rate;
    config.redeliver_rate = args.redeliver_rate;
    config.distributions = args.distributions.clone();
    for d in &args.multi_tenant {
        config.distributions.push(DistributionConfig {
            connection_mode: ConnectionMode::TenantOnly,
            ..d.clone()
        });
    }
    config.distribution_tenants = args.tenants.clone();
    config.default_completion = args.completes_after;
    config.faults = args.faults.clone();
    config.seed = args.seed;
    config.env = args.env.clone();
    config.function_name = args.function_name.clone();
    if !args.quiet {
        config.progress = Some(local_aws::events::Progress(Arc::new(|line: &str| {
            eprintln!("{line}");
        })));
    }
    let report = tokio::select! {
        r = local_aws::events::run(config) => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("local-aws: interrupted; the function processes were killed");
            return 1;
        }
    };
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            eprintln!("local-aws: {e}");
            return 2;
        }
    };
    print_report(args.json, &report, &report.render(), report.holds())
}

/// Prints a driver's report (pretty JSON, or its text) and gives the exit status: 0 when its
/// invariant holds, 1 when not, 2 when stdout is gone.
fn print_report(json: bool, report: &impl serde::Serialize, text: &str, holds: bool) -> u8 {
    let mut out = std::io::stdout().lock();
    let written = if json {
        match serde_json::to_string_pretty(report) {
            Ok(text) => writeln!(out, "{text}"),
            Err(e) => writeln!(out, "{{\"error\": \"{e}\"}}"),
        }
    } else {
        write!(out, "{text}")
    };
    if written.is_err() {
        return 2;
    }
    if holds { 0 } else { 1 }
}

async fn serve(args: ServeArgs) -> u8 {
    let config = EmulatorConfig {
        port: args.port,
        distributions: args.world.distributions(),
        distribution_tenants: args.world.tenants(),
        strict_caller_reference: args.world.strict_caller_reference,
        unknown_ids: args.world.unknown_ids,
        default_completion: args.world.completes_after,
        faults: args.world.faults.clone(),
        seed: args.world.seed,
        jobs: args.jobs.clone(),
        get_job_details: args.get_job_details,
        ..EmulatorConfig::default()
    };
    let emu = match Emulator::start(config).await {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("local-aws: {e}");
            return 2;
        }
    };
    for name in &args.pipelines {
        emu.add_pipeline(name);
    }
    let ep = emu.endpoint();
    println!("# local-aws is serving CloudFront, CodePipeline and the Lambda Runtime API on {ep}");
    println!("export AWS_ENDPOINT_URL_CLOUDFRONT={ep}");
    println!("export AWS_ENDPOINT_URL_CODEPIPELINE={ep}");
    println!("export AWS_ACCESS_KEY_ID=AKIDLOCALAWS");
    println!("export AWS_SECRET_ACCESS_KEY=local-aws-not-checked");
    println!("export AWS_REGION=us-east-1");
    println!("export AWS_DEFAULT_REGION=us-east-1");
    println!(
        "export AWS_LAMBDA_RUNTIME_API={}",
        emu.runtime_api_address()
    );
    let dists: Vec<String> = emu
        .distributions()
        .iter()
        .map(|d| {
            let mut notes = Vec::new();
            if d.is_multi_tenant() {
                notes.push("multi-tenant".to_string());
            }
            if d.access == DistributionAccess::Denied {
                notes.push("denied".to_string());
            }
            if let Some(c) = &d.completes_after {
                notes.push(format!("completes after {c}"));
            }
            with_notes(&d.id, &notes)
        })
        .collect();
    println!(
        "# distributions: {}",
        if dists.is_empty() {
            "none (add --distribution ID)".to_string()
        } else {
            dists.join(", ")
        }
    );
    let tenants: Vec<String> = emu
        .distribution_tenants()
        .iter()
        .map(|t| {
            let mut notes = Vec::new();
            if let Some(d) = &t.distribution_id {
                notes.push(format!("of {d}"));
            }
            if t.access == DistributionAccess::Denied {
                notes.push("denied".to_string());
            }
            if let Some(c) = &t.completes_after {
                notes.push(format!("completes after {c}"));
            }
            with_notes(&t.id, &notes)
        })
        .collect();
    if !tenants.is_empty() {
        println!("# distribution tenants: {}", tenants.join(", "));
    }
    println!(
        "# unknown ids: {}; reused CallerReference with the same paths: {}",
        args.world.unknown_ids,
        if args.world.strict_caller_reference {
            "refused (strict)"
        } else {
            "returns the existing invalidation"
        }
    );
    for job in emu.jobs() {
        println!("# job: {}", job.job_id);
    }
    println!("# new job: curl -s -X POST {ep}/_local/jobs");
    println!(
        "# faults: {} (change: curl -s -X PUT --data 'cloudfront.throttle=0.5' {ep}/_local/faults)",
        emu.faults()
    );
    println!("# seed: {}. Ctrl-C to stop.", emu.seed());
    let _ = std::io::stdout().flush();

    if !args.quiet {
        emu.watch_requests(|r| eprintln!("{}", log_line(r)));
    }
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use local_aws::{Api, CallerReferenceReuse};

    fn record() -> RequestRecord {
        RequestRecord {
            seq: 2,
            at_ms: 1_250,
            duration_ms: 1,
            api: Api::CloudFront,
            operation: "CreateInvalidationForDistributionTenant".to_string(),
            request_id: "r".to_string(),
            distribution_id: None,
            distribution_tenant_id: Some("dt_abc".to_string()),
            invalidation_id: None,
            job_id: None,
            lambda_request_id: None,
            status: Some(400),
            error_code: Some("InvalidArgument".to_string()),
            fault: None,
            detail: Some(
                "1 path(s), CallerReference r (same batch as I1, refused by the strict CallerReference mode)"
                    .to_string(),
            ),
            caller_reference_reuse: Some(CallerReferenceReuse::RefusedStrict),
            body_bytes: None,
        }
    }

    #[test]
    fn serve_shows_why_a_reused_caller_reference_was_refused() {
        assert_eq!(
            log_line(&record()),
            "+1.250s CloudFront CreateInvalidationForDistributionTenant dt_abc -> 400 InvalidArgument (1 path(s), CallerReference r (same batch as I1, refused by the strict CallerReference mode))"
        );
        // Other details stay out of the live log.
        let plain = RequestRecord {
            caller_reference_reuse: None,
            body_bytes: None,
            ..record()
        };
        assert_eq!(
            log_line(&plain),
            "+1.250s CloudFront CreateInvalidationForDistributionTenant dt_abc -> 400 InvalidArgument"
        );
    }
}
