//! How a stretch of work ended, as facts: each shell (the Lambda action, the CLI) words it.

use super::drive::DriveEnd;
use super::state::{Cause, JobRun, Progress};
use crate::params::Target;

/// A distribution CloudFront has not accepted an invalidation for (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedTarget {
    pub target: Target,
    /// TooManyInvalidationsInProgress answers so far.
    pub refusals: u32,
    /// Calls that failed in a row (throttling, 5xx, time-outs), after the SDK's own retries.
    pub failures_in_a_row: u32,
    /// What the last try was answered: a service code, or what failed on the way.
    pub last_error: Option<String>,
}

/// An invalidation that exists and is still in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvalidation {
    pub target: Target,
    pub invalidation_id: String,
}

/// A distribution that failed for good, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTarget {
    pub target: Target,
    /// The invalidation it was waiting for, when there was one.
    pub invalidation_id: Option<String>,
    pub cause: Cause,
}

/// How a stretch of work ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every invalidation completed (or, without waiting, was created).
    Finished,
    /// The job's timeout ran out.
    TimedOut {
        /// Never accepted by CloudFront: nothing was invalidated there.
        queued: Vec<QueuedTarget>,
        /// Created, still in progress: they finish on their own.
        in_progress: Vec<PendingInvalidation>,
    },
    /// At least one distribution failed for good.
    Failed {
        causes: Vec<FailedTarget>,
        /// Created and still in progress elsewhere in the job: they finish on their own.
        in_progress: Vec<PendingInvalidation>,
    },
    /// The invocation's own time ran out first; the job goes on in the next one.
    OutOfTime,
}

impl Verdict {
    pub(crate) fn of(run: &JobRun, end: DriveEnd) -> Self {
        match end {
            DriveEnd::Finished => Self::Finished,
            DriveEnd::OutOfTime => Self::OutOfTime,
            DriveEnd::TimedOut => Self::TimedOut {
                queued: run
                    .distributions
                    .iter()
                    .filter_map(|d| match &d.progress {
                        Progress::Queued {
                            refusals,
                            failures_in_a_row,
                            last_error,
                            ..
                        } => Some(QueuedTarget {
                            target: d.distribution.clone(),
                            refusals: *refusals,
                            failures_in_a_row: *failures_in_a_row,
                            last_error: last_error.clone(),
                        }),
                        _ => None,
                    })
                    .collect(),
                in_progress: in_progress(run),
            },
            DriveEnd::Failed => Self::Failed {
                causes: run
                    .distributions
                    .iter()
                    .filter_map(|d| match &d.progress {
                        Progress::Failed {
                            cause,
                            invalidation_id,
                        } => Some(FailedTarget {
                            target: d.distribution.clone(),
                            invalidation_id: invalidation_id.clone(),
                            cause: cause.clone(),
                        }),
                        _ => None,
                    })
                    .collect(),
                in_progress: in_progress(run),
            },
        }
    }
}

fn in_progress(run: &JobRun) -> Vec<PendingInvalidation> {
    run.distributions
        .iter()
        .filter_map(|d| match &d.progress {
            Progress::InProgress {
                invalidation_id, ..
            } => Some(PendingInvalidation {
                target: d.distribution.clone(),
                invalidation_id: invalidation_id.clone(),
            }),
            _ => None,
        })
        .collect()
}
