//! In-memory fakes of the ports, for the engine's and the handler's tests.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::params::DistributionId;
use crate::ports::{
    Clock, CloudFrontError, CloudFrontErrorKind, ExecutionDetails, InvalidationStatus,
    Invalidations, JobFailure, JobReport, JobSuccess, Millis, ReportError, ReportErrorKind,
};

pub const T0: Millis = 1_795_000_000_000;

/// Time that only moves when the code under test sleeps.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    pub fn new() -> Self {
        Self(Arc::new(AtomicU64::new(T0)))
    }
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.now() - T0)
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
    async fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
    async fn within<F>(&self, _limit: Duration, work: F) -> Option<F::Output>
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        Some(work.await)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfCall {
    Create {
        distribution: String,
        caller_reference: String,
        paths: Vec<String>,
        at: Millis,
    },
    Get {
        distribution: String,
        id: String,
        at: Millis,
    },
}

#[derive(Debug, Clone)]
pub struct FakeInvalidation {
    pub id: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
    pub created_at: Millis,
}

#[derive(Debug, Default)]
pub struct FakeDistribution {
    pub completes_after: Duration,
    /// Answers to the next CreateInvalidation calls before it succeeds.
    pub create_errors: VecDeque<CloudFrontErrorKind>,
    pub get_errors: VecDeque<CloudFrontErrorKind>,
    pub invalidations: Vec<FakeInvalidation>,
}

#[derive(Debug, Default)]
struct CloudFrontState {
    distributions: HashMap<String, FakeDistribution>,
    calls: Vec<CfCall>,
    next_id: u32,
}

/// CloudFront as the engine sees it: CallerReference idempotency, completion after a delay, scripted errors.
#[derive(Debug, Clone)]
pub struct FakeCloudFront {
    clock: FakeClock,
    state: Arc<Mutex<CloudFrontState>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FakeCloudFront {
    pub fn new(clock: &FakeClock) -> Self {
        Self {
            clock: clock.clone(),
            state: Arc::default(),
        }
    }

    pub fn with_distribution(self, id: &str, completes_after: Duration) -> Self {
        lock(&self.state).distributions.insert(
            id.to_owned(),
            FakeDistribution {
                completes_after,
                ..FakeDistribution::default()
            },
        );
        self
    }

    pub fn fail_creates(&self, id: &str, errors: &[CloudFrontErrorKind]) {
        if let Some(dist) = lock(&self.state).distributions.get_mut(id) {
            dist.create_errors.extend(errors.iter().copied());
        }
    }

    pub fn fail_gets(&self, id: &str, errors: &[CloudFrontErrorKind]) {
        if let Some(dist) = lock(&self.state).distributions.get_mut(id) {
            dist.get_errors.extend(errors.iter().copied());
        }
    }

    pub fn calls(&self) -> Vec<CfCall> {
        lock(&self.state).calls.clone()
    }

    pub fn creates(&self) -> Vec<CfCall> {
        self.calls()
            .into_iter()
            .filter(|call| matches!(call, CfCall::Create { .. }))
            .collect()
    }

    pub fn get_times(&self) -> Vec<Millis> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                CfCall::Get { at, .. } => Some(at),
                CfCall::Create { .. } => None,
            })
            .collect()
    }

    pub fn invalidations(&self, id: &str) -> Vec<FakeInvalidation> {
        lock(&self.state)
            .distributions
            .get(id)
            .map(|dist| dist.invalidations.clone())
            .unwrap_or_default()
    }
}

fn error(kind: CloudFrontErrorKind) -> CloudFrontError {
    let code = match kind {
        CloudFrontErrorKind::TooManyInProgress => "TooManyInvalidationsInProgress",
        CloudFrontErrorKind::NoSuchDistribution => "NoSuchDistribution",
        CloudFrontErrorKind::NoSuchInvalidation => "NoSuchInvalidation",
        CloudFrontErrorKind::AccessDenied => "AccessDenied",
        CloudFrontErrorKind::InvalidRequest => "InvalidArgument",
        CloudFrontErrorKind::BatchAlreadyExists => "InvalidationBatchAlreadyExists",
        CloudFrontErrorKind::Unavailable => "ServiceUnavailable",
        CloudFrontErrorKind::Other => "InternalError",
    };
    CloudFrontError::new(kind, Some(code), format!("{code}: simulated"))
}

impl Invalidations for FakeCloudFront {
    async fn create(
        &self,
        distribution: &DistributionId,
        paths: &[String],
        caller_reference: &str,
    ) -> Result<InvalidationStatus, CloudFrontError> {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.calls.push(CfCall::Create {
            distribution: distribution.to_string(),
            caller_reference: caller_reference.to_owned(),
            paths: paths.to_vec(),
            at: now,
        });
        let next_id = state.next_id + 1;
        let Some(dist) = state.distributions.get_mut(distribution.as_str()) else {
            return Err(error(CloudFrontErrorKind::NoSuchDistribution));
        };
        if let Some(kind) = dist.create_errors.pop_front() {
            return Err(error(kind));
        }
        let completes_after = dist.completes_after;
        if let Some(existing) = dist
            .invalidations
            .iter()
            .find(|inv| inv.caller_reference == caller_reference)
        {
            if existing.paths != paths {
                return Err(error(CloudFrontErrorKind::BatchAlreadyExists));
            }
            let done = now >= existing.created_at + completes_after.as_millis() as u64;
            return Ok(InvalidationStatus {
                id: existing.id.clone(),
                status: if done { "Completed" } else { "InProgress" }.to_owned(),
            });
        }
        let id = format!("I{next_id:012}");
        dist.invalidations.push(FakeInvalidation {
            id: id.clone(),
            caller_reference: caller_reference.to_owned(),
            paths: paths.to_vec(),
            created_at: now,
        });
        state.next_id = next_id;
        Ok(InvalidationStatus {
            id,
            status: if completes_after.is_zero() {
                "Completed"
            } else {
                "InProgress"
            }
            .to_owned(),
        })
    }

    async fn get(
        &self,
        distribution: &DistributionId,
        invalidation_id: &str,
    ) -> Result<InvalidationStatus, CloudFrontError> {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.calls.push(CfCall::Get {
            distribution: distribution.to_string(),
            id: invalidation_id.to_owned(),
            at: now,
        });
        let Some(dist) = state.distributions.get_mut(distribution.as_str()) else {
            return Err(error(CloudFrontErrorKind::NoSuchDistribution));
        };
        if let Some(kind) = dist.get_errors.pop_front() {
            return Err(error(kind));
        }
        let completes_after = dist.completes_after.as_millis() as u64;
        let found = dist
            .invalidations
            .iter()
            .find(|inv| inv.id == invalidation_id)
            .ok_or_else(|| error(CloudFrontErrorKind::NoSuchInvalidation))?;
        let done = now >= found.created_at + completes_after;
        // Other implementations spell it in capitals; the engine must not care.
        Ok(InvalidationStatus {
            id: found.id.clone(),
            status: if done { "COMPLETED" } else { "InProgress" }.to_owned(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    Success {
        job_id: String,
        success: JobSuccess,
    },
    KeepGoing {
        job_id: String,
        token: String,
        details: ExecutionDetails,
    },
    Failure {
        job_id: String,
        failure: JobFailure,
    },
}

/// CodePipeline's job API: records every report; a job takes one terminal result only.
#[derive(Debug, Clone, Default)]
pub struct FakeReport {
    reports: Arc<Mutex<Vec<Reported>>>,
    errors: Arc<Mutex<VecDeque<ReportErrorKind>>>,
}

impl FakeReport {
    pub fn reports(&self) -> Vec<Reported> {
        lock(&self.reports).clone()
    }
    pub fn fail_next(&self, kinds: &[ReportErrorKind]) {
        lock(&self.errors).extend(kinds.iter().copied());
    }
    fn record(&self, job_id: &str, report: Reported) -> Result<(), ReportError> {
        if let Some(kind) = lock(&self.errors).pop_front() {
            return Err(ReportError {
                kind,
                message: format!("simulated {kind:?}"),
                source: None,
            });
        }
        let mut reports = lock(&self.reports);
        let finished = reports.iter().any(|r| match r {
            Reported::Success { job_id: id, .. } | Reported::Failure { job_id: id, .. } => {
                id == job_id
            }
            Reported::KeepGoing { job_id: id, .. } => id == job_id,
        });
        if finished {
            return Err(ReportError {
                kind: ReportErrorKind::AlreadyReported,
                message: "InvalidJobStateException: job already has a result".to_owned(),
                source: None,
            });
        }
        reports.push(report);
        Ok(())
    }
}

impl JobReport for FakeReport {
    async fn succeed(&self, job_id: &str, success: &JobSuccess) -> Result<(), ReportError> {
        self.record(
            job_id,
            Reported::Success {
                job_id: job_id.to_owned(),
                success: success.clone(),
            },
        )
    }
    async fn keep_going(
        &self,
        job_id: &str,
        token: &str,
        details: &ExecutionDetails,
    ) -> Result<(), ReportError> {
        self.record(
            job_id,
            Reported::KeepGoing {
                job_id: job_id.to_owned(),
                token: token.to_owned(),
                details: details.clone(),
            },
        )
    }
    async fn fail(&self, job_id: &str, failure: &JobFailure) -> Result<(), ReportError> {
        self.record(
            job_id,
            Reported::Failure {
                job_id: job_id.to_owned(),
                failure: failure.clone(),
            },
        )
    }
}
