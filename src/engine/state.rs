//! The state of a job: what is fixed about it (`JobSpec`) and where each distribution stands
//! (`JobRun`), carried between invocations by the continuation token.

use std::time::Duration;

use crate::params::{JobParams, OnTimeout, Target};
use crate::plan::{InvalidationPlan, PlanOptions, plan_paths};
use crate::ports::{CloudFrontError, CloudFrontErrorKind, Millis};
use crate::token::{ContinuationToken, TokenArtifact, TokenDistribution};

/// The CloudFront call a distribution was busy with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Operation {
    /// CreateInvalidation (or the tenant's).
    #[default]
    Create,
    /// GetInvalidation.
    Get,
    /// ListInvalidations, while looking for the invalidation a refused CallerReference names.
    List,
}

impl Operation {
    /// The IAM action of this call on `target`, for messages about AccessDenied.
    pub fn iam_action(self, target: &Target) -> &'static str {
        let [create, get, list] = target.iam_actions();
        match self {
            Self::Create => create,
            Self::Get => get,
            Self::List => list,
        }
    }
}

/// Why a distribution failed for good: the facts, for each shell to put in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub operation: Operation,
    pub kind: CloudFrontErrorKind,
    /// The service's error code, when it gave one (`NoSuchDistribution`).
    pub code: Option<String>,
    /// What the service (or the transport) said.
    pub message: String,
}

impl Cause {
    pub fn of(operation: Operation, error: &CloudFrontError) -> Self {
        Self {
            operation,
            kind: error.kind,
            code: error.code.clone(),
            message: error.message.clone(),
        }
    }
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
    /// For messages that name an ARN; `None` when the shell does not know the account.
    pub account_id: Option<String>,
    /// What `pathsFromArtifact` found, when the paths came (partly) from the input artifact.
    pub from_artifact: Option<crate::artifact::job::ArtifactFacts>,
}

impl JobSpec {
    /// Watching one invalidation that already exists: nothing is planned and nothing created.
    pub fn watch(target: Target, timeout: Duration, on_timeout: OnTimeout) -> Self {
        Self {
            distributions: vec![target],
            plan: InvalidationPlan::nothing(),
            wait: true,
            timeout,
            on_timeout,
            reference_base: String::new(),
            account_id: None,
            from_artifact: None,
        }
    }

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
            from_artifact: None,
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
        /// Why the last try did not create it: the service's code, such as
        /// `TooManyInvalidationsInProgress`, or what failed on the way.
        last_error: Option<String>,
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
    /// Failed for good; the job fails.
    Failed {
        cause: Cause,
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

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResumeError {
    #[error(
        "the continuation token names distributions {found:?}, but the job names {expected:?}; the token does not belong to this job"
    )]
    DistributionsDiffer {
        expected: Vec<String>,
        found: Vec<String>,
    },
}

impl JobRun {
    pub fn start(spec: &JobSpec, now: Millis) -> Self {
        Self::each(spec, now, |_| Progress::Queued {
            refusals: 0,
            failures_in_a_row: 0,
            retry_at: now,
            last_error: None,
        })
    }

    /// Every distribution of `spec` at the progress `first` gives it.
    fn each(spec: &JobSpec, now: Millis, first: impl Fn(&Target) -> Progress) -> Self {
        Self {
            started_at: now,
            distributions: spec
                .distributions
                .iter()
                .map(|distribution| DistributionRun {
                    distribution: distribution.clone(),
                    progress: first(distribution),
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
        let found: Vec<String> = token
            .distributions
            .iter()
            .map(|entry| entry.distribution_id.clone())
            .collect();
        let expected: Vec<String> = spec.distributions.iter().map(Target::to_string).collect();
        if found != expected {
            return Err(ResumeError::DistributionsDiffer { expected, found });
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
                        last_error: None,
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
                    let entry = TokenDistribution {
                        distribution_id: run.distribution.to_string(),
                        invalidation_id: run.progress.invalidation_id().map(str::to_owned),
                        ..TokenDistribution::default()
                    };
                    // A failed job is concluded at once and never continued: its id is enough.
                    match run.progress {
                        Progress::Queued {
                            refusals,
                            failures_in_a_row,
                            ..
                        } => TokenDistribution {
                            refusals,
                            failures_in_a_row,
                            ..entry
                        },
                        Progress::InProgress {
                            created_at,
                            failures_in_a_row,
                            ..
                        } => TokenDistribution {
                            created_after_s: created_at.saturating_sub(self.started_at) / 1000,
                            failures_in_a_row,
                            ..entry
                        },
                        Progress::Completed { .. } => TokenDistribution {
                            completed: true,
                            ..entry
                        },
                        Progress::Failed { .. } => entry,
                    }
                })
                .collect(),
            artifact: spec.from_artifact.as_ref().map(|facts| TokenArtifact {
                plan: spec.plan.fingerprint(),
                ..facts.pin.clone()
            }),
            verify: None,
        }
    }

    /// The run of [`JobSpec::watch`]: the invalidation exists and is polled from `now`.
    pub fn watching(spec: &JobSpec, invalidation_id: &str, now: Millis) -> Self {
        Self::each(spec, now, |_| Progress::InProgress {
            invalidation_id: invalidation_id.to_owned(),
            created_at: now,
            next_poll_at: now,
            failures_in_a_row: 0,
        })
    }

    pub fn count(&self, wanted: impl Fn(&Progress) -> bool) -> usize {
        self.distributions
            .iter()
            .filter(|run| wanted(&run.progress))
            .count()
    }

    pub(crate) fn is_done(&self, wait: bool) -> bool {
        self.distributions.iter().all(|run| match run.progress {
            Progress::Completed { .. } => true,
            Progress::InProgress { .. } => !wait,
            Progress::Queued { .. } | Progress::Failed { .. } => false,
        })
    }
}
