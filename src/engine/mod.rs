//! The job engine: one invalidation per distribution (or distribution tenant), created
//! idempotently, watched until Completed. It knows nothing of CodePipeline, Lambda or a terminal:
//! each stretch of work ends in a [`Verdict`], facts as data, and each shell words it.
//!
//! - [`state`]: what is fixed about a job and where each distribution stands;
//! - [`drive`]: the loop of due calls and their outcomes;
//! - [`verdict`]: how a stretch of work ended.

pub mod drive;
pub mod state;
pub mod verdict;

use std::time::Duration;

pub use drive::{Engine, JobObserver, ProgressEvent, REFERENCE_SEARCH_LIMIT};
pub use state::{Cause, DistributionRun, JobRun, JobSpec, Operation, Progress, ResumeError};
pub use verdict::{FailedTarget, PendingInvalidation, QueuedTarget, Verdict};

/// Knobs of the engine; the defaults are the documented behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// Stop working this long before the Lambda deadline, so that the report still gets out.
    pub report_margin: Duration,
    /// No single CloudFront call may take longer than this (the SDK retries inside it).
    pub max_call: Duration,
    /// This many failed calls in a row for one distribution (each already retried by the SDK) fail the job.
    pub transient_failure_limit: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            report_margin: Duration::from_secs(3),
            max_call: Duration::from_secs(20),
            transient_failure_limit: 5,
        }
    }
}

/// The gap before the next GetInvalidation: 10 % of the time waited so far, between 1 s and 20 s.
///
/// Completion is then noticed at most max(1 s, 10 %) late, and a 10-minute invalidation costs 62 calls.
pub fn poll_gap(waited: Duration) -> Duration {
    (waited / 10).clamp(Duration::from_secs(1), Duration::from_secs(20))
}

/// The wait before trying CreateInvalidation again after `attempts` refusals: 2 s, 4 s, 8 s, … at most 30 s.
pub fn retry_gap(attempts: u32) -> Duration {
    let doubled = 2u64.saturating_pow(attempts.clamp(1, 16));
    Duration::from_secs(doubled.min(30))
}
#[cfg(test)]
mod tests;
