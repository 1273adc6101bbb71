//! Driving a job: the calls that are due, their outcomes applied to the run, progress told to
//! an observer, until the job is done, fails, times out, or the invocation's time runs out.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::future::join_all;
use tracing::{info, warn};

use super::state::{Cause, DistributionRun, JobRun, JobSpec, Operation, Progress};
use super::verdict::Verdict;
use super::{EngineSettings, poll_gap, retry_gap};
use crate::params::Target;
use crate::ports::{
    Clock, CloudFrontError, CloudFrontErrorKind, InvalidationStatus, Invalidations, Millis, millis,
};

/// How many of a distribution's newest invalidations are searched for the job's CallerReference
/// when CloudFront refuses a create because the reference was used before. A retried or
/// duplicated invocation finds its own invalidation among the first few; 50 covers a busy
/// distribution (one ListInvalidations page and at most 50 GetInvalidation calls).
pub const REFERENCE_SEARCH_LIMIT: usize = 50;

/// The call due for one distribution.
enum Due {
    Create,
    Poll(String),
}

/// What happened to one distribution, for front ends that show progress (the CLI's live lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressEvent<'a> {
    Created {
        distribution: &'a Target,
        invalidation_id: &'a str,
    },
    /// Polled, and still in progress.
    StillInProgress {
        distribution: &'a Target,
        invalidation_id: &'a str,
    },
    Completed {
        distribution: &'a Target,
        invalidation_id: &'a str,
    },
    /// Creation was refused for now (TooManyInvalidationsInProgress or a transient failure).
    Deferred {
        distribution: &'a Target,
        /// The service's error code it waits on, or what failed on the way.
        reason: Option<&'a str>,
        attempts: u32,
        retry_in: Duration,
    },
    Failed {
        distribution: &'a Target,
        cause: &'a Cause,
    },
}

/// Receives every change of a distribution's progress; `()` ignores them.
pub trait JobObserver: Send + Sync {
    fn on_event(&self, elapsed: Duration, event: ProgressEvent<'_>);
}

impl JobObserver for () {
    fn on_event(&self, _elapsed: Duration, _event: ProgressEvent<'_>) {}
}

/// What a change of progress tells observers, in order.
fn events_of<'a>(
    distribution: &'a Target,
    before: &Progress,
    after: &'a Progress,
    now: Millis,
) -> Vec<ProgressEvent<'a>> {
    let invalidation_id = after.invalidation_id().unwrap_or_default();
    let created = ProgressEvent::Created {
        distribution,
        invalidation_id,
    };
    vec![match (before, after) {
        (Progress::Queued { .. }, Progress::InProgress { .. }) => created,
        // Created already complete: observers still see the creation first.
        (Progress::Queued { .. }, Progress::Completed { .. }) => {
            let completed = ProgressEvent::Completed {
                distribution,
                invalidation_id,
            };
            return vec![created, completed];
        }
        (Progress::InProgress { .. }, Progress::InProgress { .. }) => {
            ProgressEvent::StillInProgress {
                distribution,
                invalidation_id,
            }
        }
        (_, Progress::Completed { .. }) => ProgressEvent::Completed {
            distribution,
            invalidation_id,
        },
        (
            Progress::Queued { .. },
            Progress::Queued {
                refusals,
                failures_in_a_row,
                retry_at,
                last_error,
            },
        ) => ProgressEvent::Deferred {
            reason: last_error.as_deref(),
            distribution,
            attempts: refusals + failures_in_a_row,
            retry_in: Duration::from_millis(retry_at.saturating_sub(now)),
        },
        (_, Progress::Failed { cause, .. }) => ProgressEvent::Failed {
            distribution,
            cause,
        },
        _ => return Vec::new(),
    }]
}

/// The engine: a CloudFront port, a clock and the settings, ready to drive any number of jobs.
pub struct Engine<I, C> {
    pub cloudfront: I,
    pub clock: C,
    pub settings: EngineSettings,
}

impl<I: Invalidations, C: Clock> Engine<I, C> {
    /// Creates what is queued and polls what is in progress until the job is done, fails, times
    /// out, or the invocation's time runs out, and says which as a [`Verdict`].
    ///
    /// `deadline` is the end of the invocation (the Lambda deadline; `None` in the CLI: no end but
    /// the job's timeout). Work stops `report_margin` before it, so that the verdict still gets out.
    pub async fn drive(
        &self,
        spec: &JobSpec,
        run: &mut JobRun,
        deadline: Option<Millis>,
        observer: &dyn JobObserver,
    ) -> Verdict {
        let (cloudfront, clock, settings) = (&self.cloudfront, &self.clock, &self.settings);
        let job_end = run.started_at.saturating_add(millis(spec.timeout));
        let margin = millis(settings.report_margin);
        let work_end = deadline.map(|end| end.saturating_sub(margin));
        loop {
            let now = clock.now();
            if run.count(|p| matches!(p, Progress::Failed { .. })) > 0 {
                return Verdict::failed(run);
            }
            if run.is_done(spec.wait) {
                return Verdict::Finished;
            }
            if now >= job_end {
                return Verdict::timed_out(run);
            }
            let stop_at = work_end.map_or(job_end, |end| end.min(job_end));
            if now >= stop_at {
                return Verdict::OutOfTime;
            }

            // Each distribution's next call and when it is due.
            let scheduled: Vec<(usize, Millis, Due)> = run
                .distributions
                .iter()
                .enumerate()
                .filter_map(|(index, dist)| match &dist.progress {
                    Progress::Queued { retry_at, .. } => Some((index, *retry_at, Due::Create)),
                    Progress::InProgress {
                        invalidation_id,
                        next_poll_at,
                        ..
                    } if spec.wait => {
                        Some((index, *next_poll_at, Due::Poll(invalidation_id.clone())))
                    }
                    _ => None,
                })
                .collect();
            let (due, later): (Vec<_>, Vec<_>) =
                scheduled.into_iter().partition(|(_, at, _)| *at <= now);
            if due.is_empty() {
                let next = later.iter().map(|(_, at, _)| *at).min().unwrap_or(stop_at);
                let next = next.min(stop_at);
                clock
                    .sleep(Duration::from_millis(next.saturating_sub(now)))
                    .await;
                continue;
            }

            let budget = Duration::from_millis(stop_at.saturating_sub(now));
            let limit = budget.min(settings.max_call);
            let cut_by_deadline = limit < settings.max_call;
            let calls = due.iter().map(|(index, _, call)| {
                let distribution = &run.distributions[*index].distribution;
                let caller_reference = spec.caller_reference(distribution);
                async move {
                    // The call on the wire, so that one cut short is blamed on the right one.
                    let in_flight = InFlight::default();
                    let outcome = match call {
                        Due::Create => {
                            clock
                                .within(
                                    limit,
                                    create_or_find(
                                        cloudfront,
                                        distribution,
                                        spec.plan.items(),
                                        &caller_reference,
                                        &in_flight,
                                    ),
                                )
                                .await
                        }
                        Due::Poll(id) => {
                            in_flight.set(Operation::Get);
                            clock
                                .within(limit, async {
                                    cloudfront
                                        .get(distribution, id)
                                        .await
                                        .map_err(|e| (Operation::Get, e))
                                })
                                .await
                        }
                    };
                    (*index, outcome.ok_or_else(|| in_flight.get()))
                }
            });
            let results = join_all(calls).await;
            let now = clock.now();
            for (index, outcome) in results {
                let Some(dist) = run.distributions.get_mut(index) else {
                    continue;
                };
                let outcome = match outcome {
                    Ok(result) => result,
                    // The invocation's own time ran out mid-call: not CloudFront's fault, so not counted.
                    Err(_) if cut_by_deadline => continue,
                    Err(operation) => Err((
                        operation,
                        CloudFrontError::new(
                            CloudFrontErrorKind::NoAnswer {
                                within: settings.max_call,
                            },
                            None,
                            String::new(),
                        ),
                    )),
                };
                let before = dist.progress.clone();
                apply(spec, run.started_at, dist, outcome, now, settings);
                let elapsed = Duration::from_millis(now.saturating_sub(run.started_at));
                for event in events_of(&dist.distribution, &before, &dist.progress, now) {
                    observer.on_event(elapsed, event);
                }
            }
        }
    }
}

/// The CloudFront call a distribution is waiting on, read when the call is cut short.
#[derive(Debug, Default)]
struct InFlight(Mutex<Operation>);

impl InFlight {
    fn set(&self, operation: Operation) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = operation;
    }

    fn get(&self) -> Operation {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// CreateInvalidation, or the invalidation that already carries `caller_reference`.
///
/// CloudFront documents that a repeated CallerReference with the same batch returns the
/// existing invalidation, but it has been seen to refuse it with `InvalidArgument` instead. A
/// retried or duplicated invocation then looks for its own invalidation and goes on with it.
/// Any `InvalidArgument` triggers the search, since only the message tells a reused reference
/// apart; a bad path finds nothing and fails as before.
async fn create_or_find<I: Invalidations>(
    cloudfront: &I,
    distribution: &Target,
    paths: &[String],
    caller_reference: &str,
    in_flight: &InFlight,
) -> Result<InvalidationStatus, (Operation, CloudFrontError)> {
    in_flight.set(Operation::Create);
    let refused = match cloudfront
        .create(distribution, paths, caller_reference)
        .await
    {
        Err(error)
            if error.kind == CloudFrontErrorKind::CallerReferenceReused
                || (error.kind == CloudFrontErrorKind::InvalidRequest
                    && error.code.as_deref() == Some("InvalidArgument")) =>
        {
            error
        }
        other => return other.map_err(|error| (Operation::Create, error)),
    };
    let distribution_id = distribution.as_str();
    in_flight.set(Operation::List);
    let candidates = cloudfront
        .list(distribution, REFERENCE_SEARCH_LIMIT)
        .await
        .map_err(|error| (Operation::List, error))?;
    in_flight.set(Operation::Get);
    for candidate in candidates {
        let found = cloudfront
            .get(distribution, &candidate.id)
            .await
            .map_err(|error| (Operation::Get, error))?;
        if found.caller_reference.as_deref() == Some(caller_reference) {
            info!(
                distribution_id,
                invalidation_id = %found.id,
                caller_reference,
                "CloudFront refused the CallerReference as used before; going on with the invalidation that carries it"
            );
            return Ok(found);
        }
    }
    Err((Operation::Create, refused))
}

fn apply(
    spec: &JobSpec,
    started_at: Millis,
    dist: &mut DistributionRun,
    outcome: Result<InvalidationStatus, (Operation, CloudFrontError)>,
    now: Millis,
    settings: &EngineSettings,
) {
    let elapsed_ms = now.saturating_sub(started_at);
    let distribution_id = dist.distribution.as_str();
    let next = match (&dist.progress, outcome) {
        (Progress::Queued { .. }, Ok(status)) => {
            info!(
                distribution_id,
                invalidation_id = %status.id,
                status = %status.status,
                paths = spec.plan.billed_paths(),
                elapsed_ms,
                "invalidation created"
            );
            if status.is_completed() {
                info!(distribution_id, invalidation_id = %status.id, elapsed_ms, "invalidation completed");
                Progress::Completed {
                    invalidation_id: status.id,
                }
            } else {
                Progress::InProgress {
                    invalidation_id: status.id,
                    created_at: now,
                    next_poll_at: now + millis(poll_gap(Duration::ZERO)),
                    failures_in_a_row: 0,
                }
            }
        }
        (
            Progress::Queued {
                refusals,
                failures_in_a_row,
                ..
            },
            Err((operation, error)),
        ) => match error.kind {
            CloudFrontErrorKind::TooManyInProgress => {
                let refusals = refusals.saturating_add(1);
                let gap = retry_gap(refusals);
                warn!(
                    distribution_id,
                    refusals,
                    retry_in_ms = millis(gap),
                    elapsed_ms,
                    "CloudFront has too many invalidations in progress; will try again"
                );
                Progress::Queued {
                    refusals,
                    failures_in_a_row: 0,
                    retry_at: now + millis(gap),
                    last_error: Some(
                        error
                            .code
                            .unwrap_or_else(|| "TooManyInvalidationsInProgress".to_owned()),
                    ),
                }
            }
            kind if kind.is_transient()
                && failures_in_a_row + 1 < settings.transient_failure_limit =>
            {
                let failures_in_a_row = failures_in_a_row + 1;
                let gap = retry_gap(failures_in_a_row);
                warn!(distribution_id, ?operation, error_kind = ?kind, error = %error, failures_in_a_row, elapsed_ms, "CloudFront call failed; will try again");
                Progress::Queued {
                    refusals: *refusals,
                    failures_in_a_row,
                    // No answer at all leaves nothing to quote: `None`, and the shells say so.
                    last_error: error.code.clone().or_else(|| {
                        (!error.message.is_empty())
                            .then(|| crate::text::truncate(&error.message, 120))
                    }),
                    retry_at: now + millis(gap),
                }
            }
            _ => Progress::Failed {
                cause: Cause::of(operation, &error),
                invalidation_id: None,
            },
        },
        (
            Progress::InProgress {
                invalidation_id,
                created_at,
                failures_in_a_row,
                ..
            },
            outcome,
        ) => {
            let waited = Duration::from_millis(now.saturating_sub(*created_at));
            let poll_again = |failures_in_a_row| Progress::InProgress {
                invalidation_id: invalidation_id.clone(),
                created_at: *created_at,
                next_poll_at: now + millis(poll_gap(waited)),
                failures_in_a_row,
            };
            match outcome {
                Ok(status) if status.is_completed() => {
                    info!(
                        distribution_id,
                        invalidation_id = %invalidation_id,
                        status = %status.status,
                        elapsed_ms,
                        waited_ms = millis(waited),
                        "invalidation completed"
                    );
                    Progress::Completed {
                        invalidation_id: invalidation_id.clone(),
                    }
                }
                Ok(_) => poll_again(0),
                Err((_, error))
                    if error.kind.is_transient()
                        && failures_in_a_row + 1 < settings.transient_failure_limit =>
                {
                    warn!(distribution_id, invalidation_id = %invalidation_id, error_kind = ?error.kind, error = %error, elapsed_ms, "GetInvalidation failed; will poll again");
                    poll_again(failures_in_a_row + 1)
                }
                Err((operation, error)) => Progress::Failed {
                    cause: Cause::of(operation, &error),
                    invalidation_id: Some(invalidation_id.clone()),
                },
            }
        }
        (Progress::Completed { .. } | Progress::Failed { .. }, _) => return,
    };
    if let Progress::Failed { cause, .. } = &next {
        warn!(
            distribution_id,
            operation = ?cause.operation,
            error_kind = ?cause.kind,
            code = cause.code.as_deref().unwrap_or(""),
            elapsed_ms,
            "failed for good: {}",
            cause.message
        );
    }
    dist.progress = next;
}
