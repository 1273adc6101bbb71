//! The job engine: one invalidation per distribution, created idempotently, watched until Completed, concluded once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use futures::future::join_all;
use tracing::{info, warn};

use crate::params::{JobParams, OnTimeout, Target, parse_user_parameters};
use crate::plan::{InvalidationPlan, PlanOptions, plan_paths};
use crate::ports::{
    Clock, CloudFrontError, CloudFrontErrorKind, ExecutionDetails, FailureType, InvalidationStatus,
    Invalidations, JobFailure, JobSuccess, Millis,
};
pub use crate::text::{format_duration, truncate};
use crate::text::{plural, preview};
use crate::token::{ContinuationToken, TokenDistribution};

/// CodePipeline's limits on the fields we send back.
pub const MAX_SUMMARY_LEN: usize = 2048;
pub const MAX_FAILURE_MESSAGE_LEN: usize = 5000;
pub const MAX_EXTERNAL_ID_LEN: usize = 1500;

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

/// How many of a distribution's newest invalidations are searched for the job's CallerReference
/// when CloudFront refuses a create because the reference was used before. A retried or
/// duplicated invocation finds its own invalidation among the first few; 50 covers a busy
/// distribution (one ListInvalidations page and at most 50 GetInvalidation calls).
pub const REFERENCE_SEARCH_LIMIT: usize = 50;

/// The wait before trying CreateInvalidation again after `attempts` refusals: 2 s, 4 s, 8 s, … at most 30 s.
pub fn retry_gap(attempts: u32) -> Duration {
    let doubled = 2u64.saturating_pow(attempts.clamp(1, 16));
    Duration::from_secs(doubled.min(30))
}

/// Everything fixed about a job: what to invalidate, where, and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub distributions: Vec<Target>,
    pub plan: InvalidationPlan,
    pub wait: bool,
    pub timeout: Duration,
    pub on_timeout: OnTimeout,
    /// The stable part of every CallerReference: the first job id, or the user's callerReference.
    pub reference_base: String,
    /// For messages that name an ARN; `None` outside CodePipeline.
    pub account_id: Option<String>,
}

impl JobSpec {
    pub fn new(
        params: &JobParams,
        reference_base: String,
        account_id: Option<String>,
    ) -> Result<Self, crate::plan::PlanError> {
        let plan = plan_paths(
            &params.paths,
            &PlanOptions {
                max_paths: params.max_paths,
                directory_index: params.directory_index.clone(),
            },
        )?;
        Ok(Self {
            distributions: params.targets.clone(),
            plan,
            wait: params.wait,
            timeout: params.timeout,
            on_timeout: params.on_timeout,
            reference_base,
            account_id,
        })
    }

    /// Stable for the job, so a repeated create returns the same invalidation instead of a new, billed one.
    pub fn caller_reference(&self, distribution: &Target) -> String {
        format!(
            "{}-{}-{}",
            self.reference_base,
            distribution,
            self.plan.fingerprint()
        )
    }

    pub fn distribution_arn(&self, distribution: &Target) -> String {
        distribution.arn(self.account_id.as_deref().unwrap_or("<account-id>"))
    }
}

/// Where one distribution stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Not created yet: first try, or CloudFront asked us to come back later.
    Queued {
        refusals: u32,
        failures_in_a_row: u32,
        retry_at: Millis,
    },
    InProgress {
        invalidation_id: String,
        created_at: Millis,
        next_poll_at: Millis,
        failures_in_a_row: u32,
    },
    Completed {
        invalidation_id: String,
    },
    Failed {
        kind: FailureType,
        message: String,
        invalidation_id: Option<String>,
    },
}

impl Progress {
    pub fn invalidation_id(&self) -> Option<&str> {
        match self {
            Self::Queued { .. } => None,
            Self::InProgress {
                invalidation_id, ..
            }
            | Self::Completed { invalidation_id } => Some(invalidation_id),
            Self::Failed {
                invalidation_id, ..
            } => invalidation_id.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionRun {
    pub distribution: Target,
    pub progress: Progress,
}

/// The changing part of a job: when it started and where each distribution stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub started_at: Millis,
    pub distributions: Vec<DistributionRun>,
}

/// Why a stretch of work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveEnd {
    /// Every invalidation completed (or, without waiting, was created).
    Finished,
    /// A distribution failed for good.
    Failed,
    /// `timeoutMinutes` ran out.
    TimedOut,
    /// The invocation's own time ran out; the job goes on in the next one.
    OutOfTime,
}

/// How the job ends this invocation: the one thing reported to CodePipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded(JobSuccess),
    StillRunning {
        token: String,
        details: ExecutionDetails,
    },
    Failed(JobFailure),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResumeError {
    #[error(
        "the continuation token names distributions {found:?}, but UserParameters names {expected:?}; the token does not belong to this action"
    )]
    DistributionsDiffer {
        expected: Vec<String>,
        found: Vec<String>,
    },
}

impl JobRun {
    pub fn start(spec: &JobSpec, now: Millis) -> Self {
        Self {
            started_at: now,
            distributions: spec
                .distributions
                .iter()
                .map(|distribution| DistributionRun {
                    distribution: distribution.clone(),
                    progress: Progress::Queued {
                        refusals: 0,
                        failures_in_a_row: 0,
                        retry_at: now,
                    },
                })
                .collect(),
        }
    }

    /// Picks up where the previous invocation left off; everything due is done at once.
    pub fn resume(
        spec: &JobSpec,
        token: &ContinuationToken,
        now: Millis,
    ) -> Result<Self, ResumeError> {
        let found: Vec<&str> = token
            .distributions
            .iter()
            .map(|entry| entry.distribution_id.as_str())
            .collect();
        let expected: Vec<&str> = spec.distributions.iter().map(|d| d.as_str()).collect();
        if found != expected {
            return Err(ResumeError::DistributionsDiffer {
                expected: expected.into_iter().map(str::to_owned).collect(),
                found: found.into_iter().map(str::to_owned).collect(),
            });
        }
        let distributions = spec
            .distributions
            .iter()
            .zip(&token.distributions)
            .map(|(distribution, entry)| {
                let progress = match (&entry.invalidation_id, entry.completed) {
                    (None, _) => Progress::Queued {
                        refusals: entry.refusals,
                        failures_in_a_row: entry.failures_in_a_row,
                        retry_at: now,
                    },
                    (Some(id), true) => Progress::Completed {
                        invalidation_id: id.clone(),
                    },
                    (Some(id), false) => Progress::InProgress {
                        invalidation_id: id.clone(),
                        created_at: token
                            .started_at
                            .saturating_add(entry.created_after_s.saturating_mul(1000)),
                        next_poll_at: now,
                        failures_in_a_row: entry.failures_in_a_row,
                    },
                };
                DistributionRun {
                    distribution: distribution.clone(),
                    progress,
                }
            })
            .collect();
        Ok(Self {
            started_at: token.started_at,
            distributions,
        })
    }

    pub fn to_token(&self, spec: &JobSpec) -> ContinuationToken {
        ContinuationToken {
            reference_base: spec.reference_base.clone(),
            started_at: self.started_at,
            distributions: self
                .distributions
                .iter()
                .map(|run| {
                    let mut entry = TokenDistribution {
                        distribution_id: run.distribution.to_string(),
                        invalidation_id: None,
                        created_after_s: 0,
                        completed: false,
                        refusals: 0,
                        failures_in_a_row: 0,
                    };
                    match &run.progress {
                        Progress::Queued {
                            refusals,
                            failures_in_a_row,
                            ..
                        } => {
                            entry.refusals = *refusals;
                            entry.failures_in_a_row = *failures_in_a_row;
                        }
                        Progress::InProgress {
                            invalidation_id,
                            created_at,
                            failures_in_a_row,
                            ..
                        } => {
                            entry.invalidation_id = Some(invalidation_id.clone());
                            entry.created_after_s =
                                created_at.saturating_sub(self.started_at) / 1000;
                            entry.failures_in_a_row = *failures_in_a_row;
                        }
                        Progress::Completed { invalidation_id } => {
                            entry.invalidation_id = Some(invalidation_id.clone());
                            entry.completed = true;
                        }
                        // A failed job is concluded at once and never continued.
                        Progress::Failed {
                            invalidation_id, ..
                        } => entry.invalidation_id = invalidation_id.clone(),
                    }
                    entry
                })
                .collect(),
        }
    }

    fn count(&self, wanted: impl Fn(&Progress) -> bool) -> usize {
        self.distributions
            .iter()
            .filter(|run| wanted(&run.progress))
            .count()
    }

    fn is_done(&self, wait: bool) -> bool {
        self.distributions.iter().all(|run| match run.progress {
            Progress::Completed { .. } => true,
            Progress::InProgress { .. } => !wait,
            Progress::Queued { .. } | Progress::Failed { .. } => false,
        })
    }
}

enum Call {
    Create,
    Poll(String),
}

/// What happened to one distribution, for front ends that show progress (the CLI's live lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent<'a> {
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
        attempts: u32,
        retry_in: Duration,
    },
    Failed {
        distribution: &'a Target,
        kind: FailureType,
        message: &'a str,
    },
}

/// Receives every change of a distribution's progress; `()` ignores them.
pub trait JobObserver: Send + Sync {
    fn on_event(&self, elapsed: Duration, event: JobEvent<'_>);
}

impl JobObserver for () {
    fn on_event(&self, _elapsed: Duration, _event: JobEvent<'_>) {}
}

fn event_of<'a>(
    distribution: &'a Target,
    before: &Progress,
    after: &'a Progress,
    now: Millis,
) -> Option<JobEvent<'a>> {
    Some(match (before, after) {
        (
            Progress::Queued { .. },
            Progress::InProgress {
                invalidation_id, ..
            },
        ) => JobEvent::Created {
            distribution,
            invalidation_id,
        },
        (
            Progress::InProgress { .. },
            Progress::InProgress {
                invalidation_id, ..
            },
        ) => JobEvent::StillInProgress {
            distribution,
            invalidation_id,
        },
        (_, Progress::Completed { invalidation_id }) => JobEvent::Completed {
            distribution,
            invalidation_id,
        },
        (
            Progress::Queued { .. },
            Progress::Queued {
                refusals,
                failures_in_a_row,
                retry_at,
            },
        ) => JobEvent::Deferred {
            distribution,
            attempts: refusals + failures_in_a_row,
            retry_in: Duration::from_millis(retry_at.saturating_sub(now)),
        },
        (_, Progress::Failed { kind, message, .. }) => JobEvent::Failed {
            distribution,
            kind: *kind,
            message,
        },
        _ => return None,
    })
}

/// Creates what is queued and polls what is in progress until the job is done, fails, or `stop_at` comes.
///
/// `invocation_end` is the Lambda deadline (`None` in the CLI: no end but the job's timeout).
pub async fn drive<I: Invalidations, C: Clock>(
    spec: &JobSpec,
    run: &mut JobRun,
    cloudfront: &I,
    clock: &C,
    settings: &EngineSettings,
    invocation_end: Option<Millis>,
    observer: &dyn JobObserver,
) -> DriveEnd {
    let job_end = run
        .started_at
        .saturating_add(u64::try_from(spec.timeout.as_millis()).unwrap_or(u64::MAX));
    let margin = u64::try_from(settings.report_margin.as_millis()).unwrap_or(u64::MAX);
    let work_end = invocation_end.map(|end| end.saturating_sub(margin));
    loop {
        let now = clock.now();
        if run.count(|p| matches!(p, Progress::Failed { .. })) > 0 {
            return DriveEnd::Failed;
        }
        if run.is_done(spec.wait) {
            return DriveEnd::Finished;
        }
        if now >= job_end {
            return DriveEnd::TimedOut;
        }
        let stop_at = work_end.map_or(job_end, |end| end.min(job_end));
        if now >= stop_at {
            return DriveEnd::OutOfTime;
        }

        let due: Vec<(usize, Target, Call)> = run
            .distributions
            .iter()
            .enumerate()
            .filter_map(|(index, dist)| match &dist.progress {
                Progress::Queued { retry_at, .. } if *retry_at <= now => {
                    Some((index, dist.distribution.clone(), Call::Create))
                }
                Progress::InProgress {
                    invalidation_id,
                    next_poll_at,
                    ..
                } if spec.wait && *next_poll_at <= now => Some((
                    index,
                    dist.distribution.clone(),
                    Call::Poll(invalidation_id.clone()),
                )),
                _ => None,
            })
            .collect();

        if due.is_empty() {
            let next = run
                .distributions
                .iter()
                .filter_map(|dist| match &dist.progress {
                    Progress::Queued { retry_at, .. } => Some(*retry_at),
                    Progress::InProgress { next_poll_at, .. } if spec.wait => Some(*next_poll_at),
                    _ => None,
                })
                .min()
                .unwrap_or(stop_at)
                .min(stop_at);
            clock
                .sleep(Duration::from_millis(next.saturating_sub(now)))
                .await;
            continue;
        }

        let budget = Duration::from_millis(stop_at.saturating_sub(now));
        let limit = budget.min(settings.max_call);
        let cut_by_deadline = limit < settings.max_call;
        let calls = due.iter().map(|(index, distribution, call)| {
            let caller_reference = spec.caller_reference(distribution);
            async move {
                let outcome = match call {
                    Call::Create => {
                        clock
                            .within(
                                limit,
                                create_or_find(
                                    cloudfront,
                                    distribution,
                                    spec.plan.items(),
                                    &caller_reference,
                                ),
                            )
                            .await
                    }
                    Call::Poll(id) => clock.within(limit, cloudfront.get(distribution, id)).await,
                };
                (*index, outcome)
            }
        });
        let results = join_all(calls).await;
        let now = clock.now();
        for (index, outcome) in results {
            let Some(dist) = run.distributions.get_mut(index) else {
                continue;
            };
            let outcome = match outcome {
                Some(result) => result,
                // The invocation's own time ran out mid-call: not CloudFront's fault, so not counted.
                None if cut_by_deadline => continue,
                None => Err(CloudFrontError::new(
                    CloudFrontErrorKind::Unavailable,
                    None,
                    format!(
                        "CloudFront did not answer within {}",
                        format_duration(settings.max_call)
                    ),
                )),
            };
            let before = dist.progress.clone();
            apply(spec, run.started_at, dist, outcome, now, settings);
            let created_completed = matches!(before, Progress::Queued { .. })
                && matches!(dist.progress, Progress::Completed { .. });
            let elapsed = Duration::from_millis(now.saturating_sub(run.started_at));
            // Created already complete: observers still see the creation first.
            if created_completed && let Some(invalidation_id) = dist.progress.invalidation_id() {
                observer.on_event(
                    elapsed,
                    JobEvent::Created {
                        distribution: &dist.distribution,
                        invalidation_id,
                    },
                );
            }
            if let Some(event) = event_of(&dist.distribution, &before, &dist.progress, now) {
                observer.on_event(elapsed, event);
            }
        }
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
) -> Result<InvalidationStatus, CloudFrontError> {
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
        other => return other,
    };
    let distribution_id = distribution.as_str();
    for candidate in cloudfront
        .list(distribution, REFERENCE_SEARCH_LIMIT)
        .await?
    {
        let found = cloudfront.get(distribution, &candidate.id).await?;
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
    Err(refused)
}

fn apply(
    spec: &JobSpec,
    started_at: Millis,
    dist: &mut DistributionRun,
    outcome: Result<InvalidationStatus, CloudFrontError>,
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
            Err(error),
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
                }
            }
            CloudFrontErrorKind::Unavailable
                if failures_in_a_row + 1 < settings.transient_failure_limit =>
            {
                let failures_in_a_row = failures_in_a_row + 1;
                let gap = retry_gap(failures_in_a_row);
                warn!(distribution_id, error = %error, failures_in_a_row, elapsed_ms, "CreateInvalidation failed; will try again");
                Progress::Queued {
                    refusals: *refusals,
                    failures_in_a_row,
                    retry_at: now + millis(gap),
                }
            }
            _ => failed(
                spec,
                &dist.distribution,
                None,
                distribution_call::CREATE,
                &error,
                settings,
            ),
        },
        (
            Progress::InProgress {
                invalidation_id,
                created_at,
                ..
            },
            Ok(status),
        ) => {
            if status.is_completed() {
                info!(
                    distribution_id,
                    invalidation_id = %invalidation_id,
                    status = %status.status,
                    elapsed_ms,
                    waited_ms = now.saturating_sub(*created_at),
                    "invalidation completed"
                );
                Progress::Completed {
                    invalidation_id: invalidation_id.clone(),
                }
            } else {
                let waited = Duration::from_millis(now.saturating_sub(*created_at));
                Progress::InProgress {
                    invalidation_id: invalidation_id.clone(),
                    created_at: *created_at,
                    next_poll_at: now + millis(poll_gap(waited)),
                    failures_in_a_row: 0,
                }
            }
        }
        (
            Progress::InProgress {
                invalidation_id,
                created_at,
                failures_in_a_row,
                ..
            },
            Err(error),
        ) => {
            if error.kind == CloudFrontErrorKind::Unavailable
                && failures_in_a_row + 1 < settings.transient_failure_limit
            {
                let waited = Duration::from_millis(now.saturating_sub(*created_at));
                warn!(distribution_id, invalidation_id = %invalidation_id, error = %error, elapsed_ms, "GetInvalidation failed; will poll again");
                Progress::InProgress {
                    invalidation_id: invalidation_id.clone(),
                    created_at: *created_at,
                    next_poll_at: now + millis(poll_gap(waited)),
                    failures_in_a_row: failures_in_a_row + 1,
                }
            } else {
                failed(
                    spec,
                    &dist.distribution,
                    Some(invalidation_id.clone()),
                    distribution_call::GET,
                    &error,
                    settings,
                )
            }
        }
        (Progress::Completed { .. } | Progress::Failed { .. }, _) => return,
    };
    if let Progress::Failed { kind, message, .. } = &next {
        warn!(distribution_id, failure_type = %kind, elapsed_ms, "{message}");
    }
    dist.progress = next;
}

/// Which call failed, as an index into [`Target::iam_actions`].
mod distribution_call {
    pub const CREATE: usize = 0;
    pub const GET: usize = 1;
}

fn failed(
    spec: &JobSpec,
    distribution: &Target,
    invalidation_id: Option<String>,
    call: usize,
    error: &CloudFrontError,
    settings: &EngineSettings,
) -> Progress {
    let code = error.code.as_deref().unwrap_or("error");
    let actions = distribution.iam_actions();
    let action = actions[call];
    let (kind, message) = match error.kind {
        CloudFrontErrorKind::NoSuchDistribution if distribution.is_tenant() => (
            FailureType::ConfigurationError,
            format!(
                "CloudFront has no distribution tenant {distribution} ({code}): check distributionTenantId(s) in UserParameters and that the tenant belongs to this AWS account"
            ),
        ),
        CloudFrontErrorKind::NoSuchDistribution => (
            FailureType::ConfigurationError,
            format!(
                "CloudFront has no distribution {distribution} (NoSuchDistribution): check the distribution id in UserParameters and that it belongs to this AWS account. If {distribution} is a multi-tenant distribution, CloudFront answers this for the distribution itself: invalidate its tenants with distributionTenantId(s) instead"
            ),
        ),
        CloudFrontErrorKind::InvalidRequest => (
            FailureType::ConfigurationError,
            format!(
                "CloudFront refused the invalidation for {distribution} ({code}): {}. Paths sent: {}",
                error.message,
                preview(spec.plan.items(), 5)
            ),
        ),
        CloudFrontErrorKind::CallerReferenceReused => (
            FailureType::ConfigurationError,
            format!(
                "CloudFront refused CallerReference {:?} for {distribution}: it was used for an earlier invalidation batch of that distribution ({code}: {}), and none of its {REFERENCE_SEARCH_LIMIT} newest invalidations carries it, so it is not this job's. Give callerReference a value unique to each pipeline run, such as #{{codepipeline.PipelineExecutionId}}, or leave it out",
                spec.caller_reference(distribution),
                error.message
            ),
        ),
        CloudFrontErrorKind::AccessDenied => (
            FailureType::PermissionError,
            format!(
                "access denied: the function's role may not call {action} on {arn}. Grant {}, {} and {} on {arn}; or, if {distribution} is not the {noun} you meant, correct the id in UserParameters: a role limited to its {noun}s' ARNs is refused this way for any other id, before CloudFront looks it up (CloudFront said: {})",
                actions[0],
                actions[1],
                actions[2],
                error.message,
                noun = distribution.noun(),
                arn = spec.distribution_arn(distribution)
            ),
        ),
        CloudFrontErrorKind::Unavailable => (
            FailureType::SystemUnavailable,
            format!(
                "CloudFront kept failing for {distribution}: {} ({} calls in a row failed after the SDK's own retries); run the action again later",
                error.message, settings.transient_failure_limit
            ),
        ),
        CloudFrontErrorKind::NoSuchInvalidation => (
            FailureType::JobFailed,
            format!(
                "CloudFront no longer knows invalidation {} of {distribution} (NoSuchInvalidation)",
                invalidation_id.as_deref().unwrap_or("?")
            ),
        ),
        CloudFrontErrorKind::TooManyInProgress | CloudFrontErrorKind::Other => (
            FailureType::JobFailed,
            format!(
                "{action} failed for {distribution} ({code}): {}",
                error.message
            ),
        ),
    };
    Progress::Failed {
        kind,
        message,
        invalidation_id,
    }
}

/// Turns the end of a stretch of work into the result CodePipeline gets.
pub fn conclude(spec: &JobSpec, run: &JobRun, end: DriveEnd, now: Millis) -> JobOutcome {
    let elapsed = format_duration(Duration::from_millis(now.saturating_sub(run.started_at)));
    let external_id = external_execution_id(run);
    match end {
        DriveEnd::Finished => JobOutcome::Succeeded(success(spec, run, &elapsed, None)),
        DriveEnd::Failed => JobOutcome::Failed(failure_of_failed(run, external_id)),
        DriveEnd::TimedOut => {
            let queued: Vec<String> = run
                .distributions
                .iter()
                .filter_map(|d| match d.progress {
                    Progress::Queued {
                        refusals,
                        failures_in_a_row,
                        ..
                    } => Some(if failures_in_a_row > 0 {
                        format!(
                            "{} (its last {failures_in_a_row} CreateInvalidation calls failed: CloudFront was unavailable or throttling)",
                            d.distribution
                        )
                    } else {
                        format!(
                            "{} (CloudFront refused it {refusals} times with TooManyInvalidationsInProgress)",
                            d.distribution
                        )
                    }),
                    _ => None,
                })
                .collect();
            let waiting = in_progress_list(run);
            let timeout = format_duration(spec.timeout);
            if !queued.is_empty() {
                // Nothing was invalidated there: succeeding would leave stale content behind silently.
                let mut message = format!(
                    "timed out after {timeout} before CloudFront accepted the invalidation for {}. Other invalidations in progress on the distribution must finish first; raise timeoutMinutes or invalidate fewer wildcard paths at once",
                    queued.join(", ")
                );
                if !waiting.is_empty() {
                    let _ = write!(
                        message,
                        ". Still in progress (they finish on their own): {}",
                        waiting.join(", ")
                    );
                }
                return JobOutcome::Failed(JobFailure {
                    kind: FailureType::JobFailed,
                    message: truncate(&message, MAX_FAILURE_MESSAGE_LEN),
                    external_execution_id: external_id,
                });
            }
            match spec.on_timeout {
                OnTimeout::Fail => JobOutcome::Failed(JobFailure {
                    kind: FailureType::JobFailed,
                    message: truncate(
                        &format!(
                            "timed out after {timeout} waiting for CloudFront: {} still in progress. They finish on their own; raise timeoutMinutes, or set onTimeout to \"succeed\" so that a slow invalidation does not fail the pipeline",
                            waiting.join(", ")
                        ),
                        MAX_FAILURE_MESSAGE_LEN,
                    ),
                    external_execution_id: external_id,
                }),
                OnTimeout::Succeed => {
                    let warning = format!(
                        "WARNING: still in progress after {timeout}: {}. They finish on their own (onTimeout is \"succeed\").",
                        waiting.join(", ")
                    );
                    JobOutcome::Succeeded(success(spec, run, &elapsed, Some(warning)))
                }
            }
        }
        DriveEnd::OutOfTime => {
            let total = run.distributions.len();
            let completed = run.count(|p| matches!(p, Progress::Completed { .. }));
            let queued = run.count(|p| matches!(p, Progress::Queued { .. }));
            let mut summary = if spec.wait {
                format!(
                    "{completed} of {total} distribution{} completed, {elapsed} elapsed",
                    plural(total)
                )
            } else {
                format!(
                    "{} of {total} invalidation{} created, {elapsed} elapsed",
                    total - queued,
                    plural(total)
                )
            };
            if queued > 0 {
                let _ = write!(
                    summary,
                    "; waiting for CloudFront to accept {queued} invalidation{}",
                    plural(queued)
                );
            }
            let percent = u8::try_from((completed * 100 / total.max(1)).min(99)).unwrap_or(99);
            JobOutcome::StillRunning {
                token: run.to_token(spec).encode(),
                details: ExecutionDetails {
                    summary: truncate(&summary, MAX_SUMMARY_LEN),
                    external_execution_id: external_id,
                    percent_complete: percent,
                },
            }
        }
    }
}

fn success(spec: &JobSpec, run: &JobRun, elapsed: &str, warning: Option<String>) -> JobSuccess {
    let all_completed = run
        .distributions
        .iter()
        .all(|d| matches!(d.progress, Progress::Completed { .. }));
    let status = if all_completed {
        "Completed"
    } else {
        "InProgress"
    };
    let pairs: Vec<String> = run
        .distributions
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d.distribution,
                d.progress.invalidation_id().unwrap_or("")
            )
        })
        .collect();
    let paths = spec.plan.billed_paths();
    let collapsed = if spec.plan.was_collapsed() {
        format!(
            " (collapsed from {} requested to stay within maxPaths)",
            spec.plan.requested_paths()
        )
    } else {
        String::new()
    };
    let tenants = spec.distributions.iter().filter(|d| d.is_tenant()).count();
    let targets = if run.distributions.len() == 1 {
        let d = &run.distributions[0];
        let noun = if d.distribution.is_tenant() {
            "distribution tenant "
        } else {
            ""
        };
        format!(
            "{noun}{} ({})",
            d.distribution,
            d.progress.invalidation_id().unwrap_or("?")
        )
    } else {
        let counted = match (run.distributions.len() - tenants, tenants) {
            (distributions, 0) => format!("{distributions} distributions"),
            (0, tenants) => format!("{tenants} distribution tenants"),
            (distributions, tenants) => format!(
                "{distributions} distribution{} and {tenants} distribution tenant{}",
                plural(distributions),
                plural(tenants)
            ),
        };
        format!("{counted}: {}", pairs.join(", "))
    };
    let mut summary = match (&warning, all_completed) {
        (Some(warning), _) => format!(
            "{warning} Invalidation of {paths} path{} on {targets}{collapsed} created {elapsed} ago.",
            plural(paths)
        ),
        (None, true) => format!(
            "Invalidated {paths} path{} on {targets}{collapsed} in {elapsed}.",
            plural(paths)
        ),
        (None, false) => format!(
            "Created invalidation of {paths} path{} on {targets}{collapsed}; not waiting for it to complete (wait is false).",
            plural(paths)
        ),
    };
    let _ = write!(summary, " Paths: {}", preview(spec.plan.items(), 10));
    let mut output_variables = BTreeMap::new();
    output_variables.insert(
        "InvalidationId".to_owned(),
        run.distributions
            .first()
            .and_then(|d| d.progress.invalidation_id())
            .unwrap_or("")
            .to_owned(),
    );
    output_variables.insert("InvalidationIds".to_owned(), pairs.join(","));
    let ids_of = |tenant: bool| {
        spec.distributions
            .iter()
            .filter(|d| d.is_tenant() == tenant)
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    output_variables.insert("DistributionIds".to_owned(), ids_of(false));
    if tenants > 0 {
        output_variables.insert("DistributionTenantIds".to_owned(), ids_of(true));
    }
    output_variables.insert("PathCount".to_owned(), paths.to_string());
    output_variables.insert("Status".to_owned(), status.to_owned());
    JobSuccess {
        details: ExecutionDetails {
            summary: truncate(&summary, MAX_SUMMARY_LEN),
            external_execution_id: external_execution_id(run),
            percent_complete: 100,
        },
        output_variables,
    }
}

fn failure_of_failed(run: &JobRun, external_id: Option<String>) -> JobFailure {
    let mut kind = FailureType::JobFailed;
    let mut parts = Vec::new();
    for d in &run.distributions {
        if let Progress::Failed {
            kind: this,
            message,
            ..
        } = &d.progress
        {
            // The most actionable cause decides the type: configuration, then permissions.
            kind = kind.min(*this);
            parts.push(message.clone());
        }
    }
    let mut message = parts.join("; ");
    let others = in_progress_list(run);
    if !others.is_empty() {
        let _ = write!(
            message,
            ". Already created and still in progress (they finish on their own): {}",
            others.join(", ")
        );
    }
    JobFailure {
        kind,
        message: truncate(&message, MAX_FAILURE_MESSAGE_LEN),
        external_execution_id: external_id,
    }
}

fn in_progress_list(run: &JobRun) -> Vec<String> {
    run.distributions
        .iter()
        .filter_map(|d| match &d.progress {
            Progress::InProgress {
                invalidation_id, ..
            } => Some(format!("{} invalidation {invalidation_id}", d.distribution)),
            _ => None,
        })
        .collect()
}

fn external_execution_id(run: &JobRun) -> Option<String> {
    let ids: Vec<&str> = run
        .distributions
        .iter()
        .filter_map(|d| d.progress.invalidation_id())
        .collect();
    (!ids.is_empty()).then(|| truncate(&ids.join(","), MAX_EXTERNAL_ID_LEN))
}

/// What one Lambda invocation was handed.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub job_id: &'a str,
    pub account_id: Option<&'a str>,
    pub user_parameters: Option<&'a str>,
    pub continuation_token: Option<&'a str>,
    /// The Lambda deadline in ms since the epoch.
    pub deadline: Option<Millis>,
}

/// One invocation of the CodePipeline action, from UserParameters to the outcome to report.
pub async fn run_invocation<I: Invalidations, C: Clock>(
    invocation: Invocation<'_>,
    cloudfront: &I,
    clock: &C,
    settings: &EngineSettings,
) -> JobOutcome {
    let configuration_error = |message: String| {
        warn!(failure_type = "ConfigurationError", "{message}");
        JobOutcome::Failed(JobFailure {
            kind: FailureType::ConfigurationError,
            message: truncate(&message, MAX_FAILURE_MESSAGE_LEN),
            external_execution_id: None,
        })
    };
    let Some(raw) = invocation
        .user_parameters
        .filter(|raw| !raw.trim().is_empty())
    else {
        return configuration_error(
            "UserParameters is empty: give a JSON object such as {\"distributionId\": \"E2QWRUHAPOMQZL\", \"paths\": [\"/*\"]}, or the plain form \"E2QWRUHAPOMQZL /index.html\"".to_owned(),
        );
    };
    let params = match parse_user_parameters(raw) {
        Ok(params) => params,
        Err(error) => return configuration_error(format!("invalid UserParameters: {error}")),
    };
    let token = match invocation.continuation_token.map(ContinuationToken::decode) {
        None => None,
        Some(Ok(token)) => Some(token),
        Some(Err(error)) => {
            warn!(failure_type = "JobFailed", "{error}");
            return JobOutcome::Failed(JobFailure {
                kind: FailureType::JobFailed,
                message: format!(
                    "{error}. The job cannot continue safely; run the action again (retrying reuses any invalidation already created)"
                ),
                external_execution_id: None,
            });
        }
    };
    let reference_base = match (&token, &params.caller_reference) {
        (Some(token), _) => token.reference_base.clone(),
        (None, Some(reference)) => reference.clone(),
        (None, None) => invocation.job_id.to_owned(),
    };
    let spec = match JobSpec::new(
        &params,
        reference_base,
        invocation.account_id.map(str::to_owned),
    ) {
        Ok(spec) => spec,
        Err(error) => {
            return configuration_error(format!("invalid paths in UserParameters: {error}"));
        }
    };
    let now = clock.now();
    let mut run = match &token {
        None => JobRun::start(&spec, now),
        Some(token) => match JobRun::resume(&spec, token, now) {
            Ok(run) => run,
            Err(error) => {
                return JobOutcome::Failed(JobFailure {
                    kind: FailureType::JobFailed,
                    message: error.to_string(),
                    external_execution_id: None,
                });
            }
        },
    };
    info!(
        distributions = %spec.distributions.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(","),
        paths = spec.plan.billed_paths(),
        requested_paths = spec.plan.requested_paths(),
        collapsed = spec.plan.was_collapsed(),
        continuation = token.is_some(),
        elapsed_ms = now.saturating_sub(run.started_at),
        "job planned"
    );
    let end = drive(
        &spec,
        &mut run,
        cloudfront,
        clock,
        settings,
        invocation.deadline,
        &(),
    )
    .await;
    conclude(&spec, &run, end, clock.now())
}

fn millis(duration: Duration) -> Millis {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
