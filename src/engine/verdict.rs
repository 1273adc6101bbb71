//! How a stretch of work ended, as facts: each shell (the Lambda action, the CLI) words it.

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
    pub(crate) fn timed_out(run: &JobRun) -> Self {
        Self::TimedOut {
            queued: each(run, |target, progress| match progress {
                Progress::Queued {
                    refusals,
                    failures_in_a_row,
                    last_error,
                    ..
                } => Some(QueuedTarget {
                    target: target.clone(),
                    refusals: *refusals,
                    failures_in_a_row: *failures_in_a_row,
                    last_error: last_error.clone(),
                }),
                _ => None,
            }),
            in_progress: in_progress(run),
        }
    }

    pub(crate) fn failed(run: &JobRun) -> Self {
        Self::Failed {
            causes: each(run, |target, progress| match progress {
                Progress::Failed {
                    cause,
                    invalidation_id,
                } => Some(FailedTarget {
                    target: target.clone(),
                    invalidation_id: invalidation_id.clone(),
                    cause: cause.clone(),
                }),
                _ => None,
            }),
            in_progress: in_progress(run),
        }
    }
}

/// What `wanted` makes of each distribution's progress, where it makes something.
fn each<T>(run: &JobRun, wanted: impl Fn(&Target, &Progress) -> Option<T>) -> Vec<T> {
    run.distributions
        .iter()
        .filter_map(|d| wanted(&d.distribution, &d.progress))
        .collect()
}

fn in_progress(run: &JobRun) -> Vec<PendingInvalidation> {
    each(run, |target, progress| match progress {
        Progress::InProgress {
            invalidation_id, ..
        } => Some(PendingInvalidation {
            target: target.clone(),
            invalidation_id: invalidation_id.clone(),
        }),
        _ => None,
    })
}
