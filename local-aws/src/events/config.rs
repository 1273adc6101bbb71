//! How an events run goes: the burst, the queue, the event source mapping, the function and
//! the faults; and what the coverage check reads from the function's parameters.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::burst::BodyShape;
use crate::cloudfront::{DistributionConfig, DistributionTenantConfig};
use crate::duration::{DurationRange, parse_duration_or_zero};
use crate::faults::Faults;
use crate::pipeline::config::{env_arg, rate_arg};
use crate::server::multi_tenant_distribution;

/// The distribution a run declares when it is given none.
pub const DEFAULT_DISTRIBUTION: &str = "E2QWRUHEXAMPLE";
/// Lambda's payload limit for a synchronous invocation, which caps an SQS batch.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// The largest batch an SQS event source mapping takes from a standard queue.
pub const MAX_BATCH_SIZE: usize = 10_000;
/// The longest batching window (`MaximumBatchingWindowInSeconds`).
pub const MAX_BATCHING_WINDOW: Duration = Duration::from_secs(300);

/// How the notifications reach the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Through an SQS queue and an event source mapping (batches, ReportBatchItemFailures).
    Sqs,
    /// Each notification is its own asynchronous invocation (S3 invoking the function), with
    /// Lambda's two retries after an error.
    Direct,
}

impl Delivery {
    /// How the report names the delivery, a message given up on, and events given up on.
    pub fn words(self) -> [&'static str; 3] {
        match self {
            Delivery::Sqs => ["SQS", "dead-lettered", "were dead-lettered"],
            Delivery::Direct => [
                "direct",
                "dropped after 3 attempts",
                "were dropped after Lambda's retries",
            ],
        }
    }
}

/// Receives a line of progress (sent, in queue, received, deleted, invocations) every 2 s.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// How to run the events driver: the `events` command's flags, each with its default. Build
/// with [`EventsConfig::new`] and change the fields.
#[derive(Debug, Clone, clap::Args)]
pub struct EventsConfig {
    /// The function executable (e.g. target/debug/cf-invalidate-events). A bare name is
    /// looked up on PATH.
    #[arg(long, value_name = "PATH")]
    pub function: PathBuf,

    /// An argument for the function executable (`--function python3 --function-arg f.py`).
    /// Repeat for several.
    #[arg(long = "function-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub function_args: Vec<String>,

    /// The function's parameters, passed unchanged as CF_INVALIDATE_PARAMETERS. The coverage
    /// check reads distributionId(s), distributionTenantId(s), keyPrefix and pathPrefix from
    /// it. Default: {"distributionId":"<the first --distribution>"}.
    #[arg(long, value_name = "JSON")]
    pub parameters: Option<String>,

    /// How many uploads and deletes to generate (awkward keys: spaces, +, %, non-ASCII,
    /// index.html in nested folders, directory markers, re-uploads).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub uploads: usize,

    /// Play these keys instead: one key per line; a line `DELETE key` deletes it.
    #[arg(long = "keys", value_name = "FILE")]
    pub keys_file: Option<PathBuf>,

    /// Fraction of generated events that delete a key uploaded earlier.
    #[arg(long, value_name = "RATE", default_value = "0.1", value_parser = rate_arg)]
    pub deletes: f64,

    /// Generated keys start with this. Default: the keyPrefix of --parameters.
    #[arg(long, value_name = "PREFIX")]
    pub key_prefix: Option<String>,

    /// Fraction of generated keys put outside the key prefix (when there is one); they are
    /// not expected to be invalidated.
    #[arg(long, value_name = "RATE", default_value = "0.02", value_parser = rate_arg)]
    pub outside_prefix: f64,

    /// Fraction of generated keys with awkward names (spaces, `+`, `%`, non-ASCII, ...); the
    /// rest are plain (`assets/js/app-12.js`), as most of a site's files are.
    #[arg(long, value_name = "RATE", default_value = "1", value_parser = rate_arg)]
    pub awkward_keys: f64,

    /// The events are spread evenly over this time.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration_or_zero, conflicts_with = "rate")]
    pub burst_duration: Duration,

    /// Events per second instead of --burst-duration.
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,

    /// The bucket named in the notifications.
    #[arg(long, value_name = "NAME", default_value = "cf-invalidate-site")]
    pub bucket: String,

    /// Give each --distribution an edge whose origin is --bucket: the burst is written to the
    /// bucket, viewers read it through the edge, and after the run every key must be served
    /// fresh there.
    #[arg(long)]
    pub edge: bool,

    /// What S3 sends: S3 event notifications (`s3`, key form-encoded), EventBridge events
    /// (`eventbridge`, key raw), or both drawn per message (`mixed`).
    #[arg(long, value_name = "s3|eventbridge|mixed", default_value = "s3")]
    pub body_shape: BodyShape,

    /// Queue S3's s3:TestEvent message before the burst (SQS delivery).
    #[arg(long)]
    pub test_event: bool,

    /// `sqs`: a queue and an event source mapping; `direct`: one asynchronous invocation
    /// per notification, retried twice after an error.
    #[arg(long, value_name = "sqs|direct", default_value = "sqs")]
    pub delivery: Delivery,

    /// The event source mapping's BatchSize (1 to 10000; above 10 it needs a window).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub batch_size: usize,

    /// MaximumBatchingWindowInSeconds: a batch goes when full, at the window's end, or at
    /// 6 MB (`200ms`, `1s`; AWS takes whole seconds, local-aws any duration up to 300 s).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration_or_zero)]
    pub batching_window: Duration,

    /// The queue's visibility timeout: a failed record or batch comes back after it. At
    /// least the function timeout, as Lambda requires (AWS advises 6 times).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration_or_zero)]
    pub visibility_timeout: Duration,

    /// A message received this many times goes to the dead-letter queue (0: no DLQ).
    // Spelled out so that clap takes the parser's `Option` as the value, not as "optional".
    #[arg(long, value_name = "N", default_value = "5", value_parser = receive_count)]
    pub max_receive_count: std::option::Option<u32>,

    /// Concurrent invocations, each in its own execution environment and process.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,

    /// The function's timeout: an invocation not answered by then (plus 500 ms) is killed.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration_or_zero)]
    pub function_timeout: Duration,

    /// Direct delivery: delay before Lambda's first retry (the second waits twice as long;
    /// Lambda: about 1 and 2 minutes).
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration_or_zero)]
    pub retry_delay: Duration,

    /// Probability per invocation that its process is SIGKILLed while it runs (Lambda starts
    /// a new one; the batch comes back after the visibility timeout).
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    pub kill_rate: f64,

    /// Probability per message that SQS delivers it once more, in another batch, while or
    /// after it is processed (at-least-once delivery).
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    pub duplicate_rate: f64,

    /// Probability per answered batch that the mapping invokes the function again with the
    /// very same batch, as when its delete of the batch was lost (SQS delivery).
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = rate_arg)]
    pub redeliver_rate: f64,

    /// A distribution that exists, with how long its invalidations stay InProgress:
    /// `ID`, `ID:2s` or `ID:1s..3s`. Repeat for several. Default: E2QWRUHEXAMPLE.
    #[arg(long = "distribution", value_name = "ID[:COMPLETES-AFTER]")]
    pub distributions: Vec<DistributionConfig>,

    /// A distribution tenant that exists (see `pipeline --distribution-tenant`).
    #[arg(
        long = "distribution-tenant",
        value_name = "[DISTRIBUTION/]ID[:COMPLETES-AFTER]"
    )]
    pub distribution_tenants: Vec<DistributionTenantConfig>,

    /// A multi-tenant distribution, for --distribution-tenant.
    #[arg(long = "multi-tenant-distribution", value_name = "ID[:COMPLETES-AFTER]", value_parser = multi_tenant_distribution)]
    pub multi_tenant_distributions: Vec<DistributionConfig>,

    /// How long invalidations stay InProgress when --distribution does not say.
    #[arg(
        long = "completes-after",
        value_name = "DURATION[..DURATION]",
        default_value = "1s..3s"
    )]
    pub default_completion: DurationRange,

    /// CloudFront faults, as for `pipeline` (e.g. `cloudfront.too-many=0.05,cloudfront.unavailable=0.02`).
    #[arg(long, value_name = "SPEC", default_value = "none")]
    pub faults: Faults,

    /// Seed of every random choice; the report shows it.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Extra environment for the function (KEY=VALUE). Repeat for several.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = env_arg)]
    pub env: Vec<(String, String)>,

    /// AWS_LAMBDA_FUNCTION_NAME.
    #[arg(long, value_name = "NAME", default_value = "cf-invalidate-events")]
    pub function_name: String,

    /// Keys to play instead of generated ones, in order: `(key, is_delete)`; read from
    /// `--keys` when that is given.
    #[arg(skip)]
    pub keys: Option<Vec<(String, bool)>>,
    #[arg(skip = "us-east-1".to_string())]
    pub region: String,
    #[arg(skip)]
    pub progress: Option<Progress>,
}

impl EventsConfig {
    /// A run of `function` with the flags' short, fast defaults: 1000 uploads in 2 s,
    /// batches of 10, a 10 s function timeout and visibility timeout, 4 concurrent
    /// invocations, invalidations done in 1 to 3 s.
    pub fn new(function: impl Into<PathBuf>) -> Self {
        Self {
            function: function.into(),
            ..crate::clap_defaults(&["--function", "-"])
        }
    }
}

/// `--max-receive-count`: 0 is no dead-letter queue.
fn receive_count(text: &str) -> Result<Option<u32>, std::num::ParseIntError> {
    text.parse().map(|n: u32| (n > 0).then_some(n))
}

/// A bad setting, said with its value and what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "--parameters '{text}' is not a JSON object ({reason}): give the function's parameters, e.g. {{\"distributionIds\":[\"E2QWRUHEXAMPLE\"],\"keyPrefix\":\"site/\"}}"
    )]
    Parameters { text: String, reason: String },
    #[error("--batch-size {0} is out of range: an SQS event source mapping takes 1 to 10000")]
    BatchSize(usize),
    #[error(
        "--batch-size {0} needs a batching window: AWS requires MaximumBatchingWindowInSeconds of at least 1 s above 10 (local-aws accepts any window over 0, e.g. --batching-window 200ms)"
    )]
    BatchNeedsWindow(usize),
    #[error("--batching-window {0} is over AWS's limit of 300 s")]
    BatchingWindow(String),
    /// Zero concurrency or a zero timeout.
    #[error("{0} must be more than 0")]
    Zero(&'static str),
    #[error(
        "--visibility-timeout {visibility} is less than --function-timeout {function}: Lambda refuses such an event source mapping (InvalidParameterValueException \"Queue visibility timeout: ... is less than Function timeout: ...\"); give a visibility timeout of at least the function timeout (AWS advises 6 times)"
    )]
    VisibilityBelowTimeout {
        visibility: String,
        function: String,
    },
    #[error("--uploads 0 and no --keys: give a number of uploads or a keys file")]
    NoEvents,
    /// A keys file that cannot be read, or a line in it that is not a key.
    #[error("{0}")]
    Keys(String),
    #[error("invalid --rate {0}: give events per second, more than 0")]
    Rate(String),
    #[error(
        "distribution '{distribution}' has an edge on bucket '{origin}', but the run writes to --bucket '{bucket}': give --bucket {origin}, or the distribution the origin {bucket}"
    )]
    EdgeBucket {
        distribution: String,
        origin: String,
        bucket: String,
    },
    #[error(
        "key {key:?} maps to the URL path {path:?}, but an edge asks its origin for the key of its own path: with an edge, give a pathPrefix that names the keyPrefix (keyPrefix \"site/\" with pathPrefix \"/site/\"), or no keyPrefix and pathPrefix"
    )]
    EdgePath { key: String, path: String },
}

/// What the coverage check reads from the function's parameters: the ids invalidated and
/// how keys map to URL paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageParameters {
    /// `distributionId` / `distributionIds`.
    pub distribution_ids: Vec<String>,
    /// `distributionTenantId` / `distributionTenantIds`.
    pub distribution_tenant_ids: Vec<String>,
    /// `keyPrefix` (default empty): keys outside it are not expected to be invalidated.
    pub key_prefix: String,
    /// `pathPrefix` (default `/`).
    pub path_prefix: String,
}

impl CoverageParameters {
    /// Reads the parameters JSON (only the fields above; the function owns the rest).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Given {
            distribution_id: Option<String>,
            #[serde(default)]
            distribution_ids: Vec<String>,
            distribution_tenant_id: Option<String>,
            #[serde(default)]
            distribution_tenant_ids: Vec<String>,
            key_prefix: Option<String>,
            path_prefix: Option<String>,
        }
        let bad = |reason: String| ConfigError::Parameters {
            text: text.to_string(),
            reason,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if !value.is_object() {
            return Err(bad("not an object".to_string()));
        }
        let given = Given::deserialize(value).map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            distribution_ids: given
                .distribution_id
                .into_iter()
                .chain(given.distribution_ids)
                .collect(),
            distribution_tenant_ids: (given.distribution_tenant_id.into_iter())
                .chain(given.distribution_tenant_ids)
                .collect(),
            key_prefix: given.key_prefix.unwrap_or_default(),
            path_prefix: given.path_prefix.unwrap_or_else(|| "/".to_string()),
        })
    }

    /// The URL path of a key under the key prefix (`None` outside it): the path prefix and
    /// the rest of the key, joined by one `/`.
    pub fn url_path(&self, key: &str) -> Option<String> {
        let rest = key.strip_prefix(&self.key_prefix)?;
        let base = self.path_prefix.trim_end_matches('/');
        let rest = rest.trim_start_matches('/');
        Some(format!("{base}/{rest}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_give_ids_and_the_key_to_path_mapping() {
        let p = CoverageParameters::parse(
            r#"{"distributionIds":["E1","E2"],"distributionTenantId":"dt_1","maxPaths":100,"keyPrefix":"site/","pathPrefix":"/static"}"#,
        )
        .unwrap();
        assert_eq!(p.distribution_ids, ["E1", "E2"]);
        assert_eq!(p.distribution_tenant_ids, ["dt_1"]);
        assert_eq!(
            p.url_path("site/a b.html").as_deref(),
            Some("/static/a b.html")
        );
        assert_eq!(p.url_path("other/a.html"), None);
        let d = CoverageParameters::parse(r#"{"distributionId":"E1"}"#).unwrap();
        assert_eq!(d.url_path("x/index.html").as_deref(), Some("/x/index.html"));
        let e = CoverageParameters::parse("[1]").unwrap_err().to_string();
        assert!(e.contains("'[1]'") && e.contains("not an object"), "{e}");
        let e = CoverageParameters::parse(r#"{"distributionIds":[1]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("integer `1`, expected a string"), "{e}");
    }
}
