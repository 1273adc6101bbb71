//! Ports: the small capabilities the engine needs from CloudFront, CodePipeline and time.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::params::Target;

/// Milliseconds since the Unix epoch: the unit of every instant the engine stores.
pub type Millis = u64;

/// `duration` in [`Millis`], saturating: a span too long for them is "forever".
pub fn millis(duration: std::time::Duration) -> Millis {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What CloudFront says about one invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidationStatus {
    pub id: String,
    /// The status as CloudFront spelled it (`InProgress`, `Completed`; other implementations say `COMPLETED`).
    pub status: String,
    /// `InvalidationBatch.CallerReference`, when the answer carried it.
    pub caller_reference: Option<String>,
}

impl InvalidationStatus {
    pub fn is_completed(&self) -> bool {
        self.status.eq_ignore_ascii_case("completed")
    }
}

/// Why a CloudFront call failed, as far as the engine needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudFrontErrorKind {
    /// TooManyInvalidationsInProgress: wait and try again.
    TooManyInProgress,
    NoSuchDistribution,
    NoSuchInvalidation,
    AccessDenied,
    /// InvalidArgument, BatchTooLarge, InconsistentQuantities, MissingBody: the request itself is wrong.
    InvalidRequest,
    /// The CallerReference was used before on this distribution. Real CloudFront says so with
    /// `InvalidArgument` (sometimes even for an identical batch); the documentation names
    /// `InvalidationBatchAlreadyExists`, which the service model does not have.
    CallerReferenceReused,
    /// Throttling, 5xx, time-outs and broken connections that outlasted the SDK's own retries.
    Unavailable,
    /// The call did not answer within the engine's limit on one call
    /// ([`EngineSettings::max_call`](crate::engine::EngineSettings)): the engine's own finding,
    /// so the error carries no message. Tried again like [`Self::Unavailable`].
    NoAnswer {
        within: Duration,
    },
    /// The endpoint cannot be reached at all: connection refused, an unknown name, a failed TLS
    /// handshake. Trying again for minutes would only hide a wrong or dead endpoint.
    Unreachable,
    /// Something answered, but not as CloudFront does (no CloudFront error document): a wrong
    /// endpoint URL, a proxy, another service.
    NotCloudFront,
    Other,
}

impl CloudFrontErrorKind {
    /// Worth trying again: the engine does, up to `transient_failure_limit` failures in a row.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Unavailable | Self::NoAnswer { .. })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CloudFrontError {
    pub kind: CloudFrontErrorKind,
    /// The service's error code when there is one (`NoSuchDistribution`), for messages and logs.
    pub code: Option<String>,
    pub message: String,
    #[source]
    pub source: Option<BoxError>,
}

impl CloudFrontError {
    pub fn new(kind: CloudFrontErrorKind, code: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.map(str::to_owned),
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
}

/// The CloudFront invalidation API, reduced to what the engine uses.
pub trait Invalidations: Send + Sync {
    fn create(
        &self,
        distribution: &Target,
        paths: &[String],
        caller_reference: &str,
    ) -> impl Future<Output = Result<InvalidationStatus, CloudFrontError>> + Send;

    fn get(
        &self,
        distribution: &Target,
        invalidation_id: &str,
    ) -> impl Future<Output = Result<InvalidationStatus, CloudFrontError>> + Send;

    /// The `limit` most recent invalidations of `distribution`, newest first.
    fn list(
        &self,
        distribution: &Target,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<InvalidationSummary>, CloudFrontError>> + Send;
}

/// One line of ListInvalidations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidationSummary {
    pub id: String,
    /// As CloudFront spelled it (`InProgress`, `Completed`).
    pub status: String,
    /// ISO 8601 in UTC, as in `2026-11-22T01:02:03Z`.
    pub create_time: String,
}

/// Wall-clock time and waiting, injected so that schedules are testable without real sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
    /// Runs `work`, giving up after `limit`; `None` means the limit was reached.
    fn within<F>(&self, limit: Duration, work: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send,
        F::Output: Send;
}

/// The real clock: system time and tokio timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        millis(since_epoch)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await
    }

    async fn within<F>(&self, limit: Duration, work: F) -> Option<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        tokio::time::timeout(limit, work).await.ok()
    }
}

/// CodePipeline's failure types (`FailureDetails.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureType {
    ConfigurationError,
    PermissionError,
    SystemUnavailable,
    JobFailed,
}

impl FailureType {
    /// The failure type of a CloudFront error that failed a job: what the pipeline's user must
    /// change (configuration, then permissions), or that the service was down.
    pub fn of(kind: CloudFrontErrorKind) -> Self {
        match kind {
            CloudFrontErrorKind::NoSuchDistribution
            | CloudFrontErrorKind::InvalidRequest
            | CloudFrontErrorKind::CallerReferenceReused => Self::ConfigurationError,
            CloudFrontErrorKind::AccessDenied => Self::PermissionError,
            CloudFrontErrorKind::Unavailable
            | CloudFrontErrorKind::NoAnswer { .. }
            | CloudFrontErrorKind::Unreachable
            | CloudFrontErrorKind::NotCloudFront => Self::SystemUnavailable,
            CloudFrontErrorKind::NoSuchInvalidation
            | CloudFrontErrorKind::TooManyInProgress
            | CloudFrontErrorKind::Other => Self::JobFailed,
        }
    }
}

/// CodePipeline's name of the type, which is the variant's.
impl fmt::Display for FailureType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `executionDetails` of a PutJobSuccessResult.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionDetails {
    pub summary: String,
    pub external_execution_id: Option<String>,
    pub percent_complete: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSuccess {
    pub details: ExecutionDetails,
    pub output_variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub kind: FailureType,
    pub message: String,
    pub external_execution_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportErrorKind {
    /// InvalidJobStateException: the job already has a result (a duplicate delivery reported first).
    AlreadyReported,
    /// JobNotFoundException: CodePipeline no longer knows the job (timed out, or the pipeline
    /// was stopped); no result can ever be delivered.
    JobNotFound,
    /// ValidationException: a field broke the model's rules; a bug on our side.
    Rejected,
    /// Throttling, 5xx, time-outs and broken connections: the result may get through later.
    Unavailable,
    /// Any other refusal of the call itself (AccessDeniedException, ...): trying again in this
    /// invocation will not help, and no other result would get through either.
    Refused,
}

impl ReportErrorKind {
    pub fn is_transient(self) -> bool {
        self == Self::Unavailable
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ReportError {
    pub kind: ReportErrorKind,
    pub message: String,
    #[source]
    pub source: Option<BoxError>,
}

/// The CodePipeline job API: how a job's result gets back to the pipeline.
pub trait JobReport: Send + Sync {
    fn succeed(
        &self,
        job_id: &str,
        success: &JobSuccess,
    ) -> impl Future<Output = Result<(), ReportError>> + Send;

    /// "Still in progress": CodePipeline invokes the function again with `token`.
    fn keep_going(
        &self,
        job_id: &str,
        token: &str,
        details: &ExecutionDetails,
    ) -> impl Future<Output = Result<(), ReportError>> + Send;

    fn fail(
        &self,
        job_id: &str,
        failure: &JobFailure,
    ) -> impl Future<Output = Result<(), ReportError>> + Send;
}
