//! How an events run goes: the burst, the queue, the event source mapping, the function and
//! the faults; and what the coverage check reads from the function's parameters.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::burst::BodyShape;
use crate::cloudfront::{DistributionConfig, DistributionTenantConfig};
use crate::duration::DurationRange;
use crate::faults::Faults;

/// The distribution a run declares when it is given none.
pub const DEFAULT_DISTRIBUTION: &str = "E2QWRUHEXAMPLE";
/// Lambda's payload limit for a synchronous invocation, which caps an SQS batch.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// The largest batch an SQS event source mapping takes from a standard queue.
pub const MAX_BATCH_SIZE: usize = 10_000;
/// The longest batching window (`MaximumBatchingWindowInSeconds`).
pub const MAX_BATCHING_WINDOW: Duration = Duration::from_secs(300);

/// How the notifications reach the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Through an SQS queue and an event source mapping (batches, ReportBatchItemFailures).
    Sqs,
    /// Each notification is its own asynchronous invocation (S3 invoking the function), with
    /// Lambda's two retries after an error.
    Direct,
}

impl std::str::FromStr for Delivery {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sqs" => Ok(Delivery::Sqs),
            "direct" => Ok(Delivery::Direct),
            other => Err(format!(
                "invalid delivery '{other}': expected sqs or direct"
            )),
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

/// How to run the events driver. Build with [`EventsConfig::new`] and change the fields.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// The function executable (a bare name is looked up on `PATH`).
    pub function: PathBuf,
    /// Its arguments.
    pub function_args: Vec<String>,
    /// `CF_INVALIDATE_PARAMETERS`, passed as is; `None`: `{"distributionId": <the first
    /// distribution>}`.
    pub parameters: Option<String>,
    /// Generated uploads and deletes (ignored when [`Self::keys`] is set).
    pub uploads: usize,
    /// Keys to play instead, in order: `(key, is_delete)`.
    pub keys: Option<Vec<(String, bool)>>,
    /// Fraction of generated events that delete an earlier key.
    pub deletes: f64,
    /// Generated keys start with this; `None`: the `keyPrefix` of the parameters.
    pub key_prefix: Option<String>,
    /// Fraction of generated keys put outside the prefix (when there is one).
    pub outside_prefix: f64,
    /// Fraction of generated keys with awkward names (the rest are plain).
    pub awkward_keys: f64,
    /// The burst is spread over this time.
    pub burst_duration: Duration,
    /// The bucket's name.
    pub bucket: String,
    /// What S3 sends.
    pub body_shape: BodyShape,
    /// Queue S3's `s3:TestEvent` message first.
    pub test_event: bool,
    /// SQS and an event source mapping, or one asynchronous invocation per notification.
    pub delivery: Delivery,
    /// The event source mapping's `BatchSize` (1..=10000).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds` (local-aws accepts fractions of a second).
    pub batching_window: Duration,
    /// The queue's visibility timeout.
    pub visibility_timeout: Duration,
    /// The redrive policy's `maxReceiveCount`; `None`: no dead-letter queue.
    pub max_receive_count: Option<u32>,
    /// Concurrent invocations, each in its own execution environment and process.
    pub concurrency: usize,
    /// The function's timeout.
    pub function_timeout: Duration,
    /// Delay before Lambda's first asynchronous retry (direct delivery); the second waits
    /// twice as long.
    pub retry_delay: Duration,
    /// Probability per invocation that its process is SIGKILLed while it runs.
    pub kill_rate: f64,
    /// Probability per message (or per event, direct) of a second delivery.
    pub duplicate_rate: f64,
    /// Probability per answered SQS batch that the mapping invokes the function again with the
    /// very same batch (same messages, same ids), as when its delete of the batch was lost.
    pub redeliver_rate: f64,
    /// Distributions that exist; none: [`DEFAULT_DISTRIBUTION`].
    pub distributions: Vec<DistributionConfig>,
    /// Distribution tenants that exist.
    pub distribution_tenants: Vec<DistributionTenantConfig>,
    /// Completion time of invalidations where a distribution does not say.
    pub default_completion: DurationRange,
    /// CloudFront (and other) faults, in the `--faults` syntax.
    pub faults: Faults,
    /// Seed of every draw; `None`: from the time.
    pub seed: Option<u64>,
    /// Extra environment for the function.
    pub env: Vec<(String, String)>,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_REGION`.
    pub region: String,
    /// Called with a line of progress now and then (none by default).
    pub progress: Option<Progress>,
}

impl EventsConfig {
    /// A run of `function` with short, fast defaults: 1000 uploads in 2 s, batches of 10, a
    /// 10 s function timeout and visibility timeout, 4 concurrent invocations, invalidations
    /// done in 1 to 3 s.
    pub fn new(function: impl Into<PathBuf>) -> Self {
        Self {
            function: function.into(),
            function_args: Vec::new(),
            parameters: None,
            uploads: 1000,
            keys: None,
            deletes: 0.1,
            key_prefix: None,
            outside_prefix: 0.02,
            awkward_keys: 1.0,
            burst_duration: Duration::from_secs(2),
            bucket: "cf-invalidate-site".to_string(),
            body_shape: BodyShape::S3,
            test_event: false,
            delivery: Delivery::Sqs,
            batch_size: 10,
            batching_window: Duration::ZERO,
            visibility_timeout: Duration::from_secs(10),
            max_receive_count: Some(5),
            concurrency: 4,
            function_timeout: Duration::from_secs(10),
            retry_delay: Duration::from_millis(500),
            kill_rate: 0.0,
            duplicate_rate: 0.0,
            redeliver_rate: 0.0,
            distributions: Vec::new(),
            distribution_tenants: Vec::new(),
            default_completion: DurationRange::between(
                Duration::from_secs(1),
                Duration::from_secs(3),
            ),
            faults: Faults::none(),
            seed: None,
            env: Vec::new(),
            function_name: "cf-invalidate-events".to_string(),
            region: "us-east-1".to_string(),
            progress: None,
        }
    }
}

/// A bad setting, said with its value and what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `--parameters` is not a JSON object.
    #[error(
        "--parameters '{text}' is not a JSON object ({reason}): give the function's parameters, e.g. {{\"distributionIds\":[\"E2QWRUHEXAMPLE\"],\"keyPrefix\":\"site/\"}}"
    )]
    Parameters {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Batch size out of range.
    #[error("--batch-size {0} is out of range: an SQS event source mapping takes 1 to 10000")]
    BatchSize(usize),
    /// A batch over 10 without a window.
    #[error(
        "--batch-size {0} needs a batching window: AWS requires MaximumBatchingWindowInSeconds of at least 1 s above 10 (local-aws accepts any window over 0, e.g. --batching-window 200ms)"
    )]
    BatchNeedsWindow(usize),
    /// Window too long.
    #[error("--batching-window {0} is over AWS's limit of 300 s")]
    BatchingWindow(String),
    /// Zero concurrency or a zero timeout.
    #[error("{0} must be more than 0")]
    Zero(&'static str),
    /// A visibility timeout shorter than the function timeout.
    #[error(
        "--visibility-timeout {visibility} is less than --function-timeout {function}: Lambda refuses such an event source mapping (InvalidParameterValueException \"Queue visibility timeout: ... is less than Function timeout: ...\"); give a visibility timeout of at least the function timeout (AWS advises 6 times)"
    )]
    VisibilityBelowTimeout {
        /// The visibility timeout given.
        visibility: String,
        /// The function timeout given.
        function: String,
    },
    /// No event to play.
    #[error("--uploads 0 and no --keys: give a number of uploads or a keys file")]
    NoEvents,
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
        let bad = |reason: String| ConfigError::Parameters {
            text: text.to_string(),
            reason,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let Some(object) = value.as_object() else {
            return Err(bad("not an object".to_string()));
        };
        let strings = |one: &str, many: &str| -> Result<Vec<String>, ConfigError> {
            let mut out = Vec::new();
            if let Some(v) = object.get(one) {
                match v.as_str() {
                    Some(s) => out.push(s.to_string()),
                    None => return Err(bad(format!("\"{one}\" is not a string"))),
                }
            }
            if let Some(v) = object.get(many) {
                let Some(items) = v.as_array() else {
                    return Err(bad(format!("\"{many}\" is not an array")));
                };
                for item in items {
                    match item.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => return Err(bad(format!("\"{many}\" holds {item}, not a string"))),
                    }
                }
            }
            Ok(out)
        };
        let text_field = |name: &str, default: &str| -> Result<String, ConfigError> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(default.to_string()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(bad(format!("\"{name}\" is {other}, not a string"))),
            }
        };
        Ok(Self {
            distribution_ids: strings("distributionId", "distributionIds")?,
            distribution_tenant_ids: strings("distributionTenantId", "distributionTenantIds")?,
            key_prefix: text_field("keyPrefix", "")?,
            path_prefix: text_field("pathPrefix", "/")?,
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
        assert!(e.contains("holds 1"), "{e}");
    }
}
