//! In-memory fakes of the ports: CloudFront with CallerReference rules, scripted errors and
//! delays; CodePipeline's job results; a clock that moves only when the code under test waits.

use std::collections::{HashMap, VecDeque};
use std::future::Future as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::artifact::job::{ArtifactCredentials, ArtifactStore};
use crate::artifact::previous::{
    ActionExecution, ArtifactLocation, ExecutionPage, HISTORY_PAGE_SIZE, HistoryError,
    HistoryErrorKind, JobContext, PipelineHistory,
};
use crate::artifact::{InMemoryZip, ZipError};
use crate::params::Target;
use crate::ports::{
    Clock, CloudFrontError, CloudFrontErrorKind, ExecutionDetails, InvalidationStatus,
    InvalidationSummary, Invalidations, JobFailure, JobReport, JobSuccess, Millis, ReportError,
    ReportErrorKind,
};

pub const T0: Millis = 1_795_000_000_000;
#[cfg(test)]
pub const DIST: &str = "E2QWRUHAPOMQZL";
#[cfg(test)]
pub const OTHER: &str = "E1ABCDEFGHIJKL";
#[cfg(test)]
pub const JOB: &str = "11111111-2222-3333-4444-555555555555";

#[cfg(test)]
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Time that only moves when the code under test sleeps.
///
/// `within` honours its limit: a fake call that "takes" longer (a scripted delay, see
/// [`FakeCloudFront::delay_creates`]) is cut when the limit is reached, and the clock stands at
/// the limit, as it would after a real timeout.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<AtomicU64>);

/// The innermost `within` around the running future: its deadline and whether it was reached.
#[derive(Debug, Clone)]
struct Limit {
    deadline: Millis,
    reached: Arc<AtomicBool>,
}

tokio::task_local! {
    static LIMIT: Limit;
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

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

    /// A delay that a fake call spends "on the wire": cut short by the enclosing `within`.
    async fn spend(&self, duration: Duration) {
        let limit = LIMIT.try_with(Limit::clone).ok();
        let end = self.now().saturating_add(duration.as_millis() as u64);
        match limit {
            Some(limit) if end > limit.deadline => {
                self.0.fetch_max(limit.deadline, Ordering::SeqCst);
                limit.reached.store(true, Ordering::SeqCst);
                // Never finishes: the enclosing `within` sees the flag and gives up.
                std::future::pending::<()>().await;
            }
            _ => self.advance(duration),
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
    async fn sleep(&self, duration: Duration) {
        self.spend(duration).await;
    }
    async fn within<F>(&self, limit: Duration, work: F) -> Option<F::Output>
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        let mut deadline = self.now().saturating_add(limit.as_millis() as u64);
        if let Ok(outer) = LIMIT.try_with(|outer| outer.deadline) {
            deadline = deadline.min(outer);
        }
        let reached = Arc::new(AtomicBool::new(false));
        let scoped = LIMIT.scope(
            Limit {
                deadline,
                reached: reached.clone(),
            },
            work,
        );
        let mut scoped = std::pin::pin!(scoped);
        std::future::poll_fn(|cx| match scoped.as_mut().poll(cx) {
            std::task::Poll::Ready(output) => std::task::Poll::Ready(Some(output)),
            std::task::Poll::Pending if reached.load(Ordering::SeqCst) => {
                std::task::Poll::Ready(None)
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        })
        .await
    }
}

/// One CreateInvalidation call, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCall {
    pub distribution: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfCall {
    Create(CreateCall),
    Get {
        distribution: String,
        id: String,
        at: Millis,
    },
    List {
        distribution: String,
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

impl FakeInvalidation {
    fn done(&self, completes_after: Duration, now: Millis) -> bool {
        now >= self.created_at + completes_after.as_millis() as u64
    }

    fn status(&self, completes_after: Duration, now: Millis) -> InvalidationStatus {
        // Other implementations spell it in capitals; the engine must not care.
        InvalidationStatus {
            id: self.id.clone(),
            status: match self.done(completes_after, now) {
                true => "COMPLETED",
                false => "InProgress",
            }
            .to_owned(),
            caller_reference: Some(self.caller_reference.clone()),
        }
    }
}

/// The answers and delays planted for one operation's next calls.
#[derive(Debug, Default)]
pub struct Faults {
    pub errors: VecDeque<CloudFrontErrorKind>,
    /// How long each call takes before it answers; it takes effect only if not cut short first.
    pub delays: VecDeque<Duration>,
}

#[derive(Debug, Default)]
pub struct FakeDistribution {
    pub completes_after: Duration,
    pub creates: Faults,
    pub gets: Faults,
    pub invalidations: Vec<FakeInvalidation>,
}

impl FakeDistribution {
    fn faults(&mut self, create: bool) -> &mut Faults {
        if create {
            &mut self.creates
        } else {
            &mut self.gets
        }
    }
}

#[derive(Debug, Default)]
struct CloudFrontState {
    distributions: HashMap<String, FakeDistribution>,
    calls: Vec<CfCall>,
    next_id: u32,
    /// Refuse a reused CallerReference even for an identical batch, as CloudFront was seen to.
    strict_caller_reference: bool,
}

impl CloudFrontState {
    /// A new invalidation on distribution `id` (known), numbered in the order they are made.
    fn invalidate(&mut self, id: &str, reference: &str, paths: Vec<String>, now: Millis) -> String {
        self.next_id += 1;
        let invalidation_id = format!("I{:012}", self.next_id);
        let invalidations = &mut self
            .distributions
            .entry(id.to_owned())
            .or_default()
            .invalidations;
        invalidations.push(FakeInvalidation {
            id: invalidation_id.clone(),
            caller_reference: reference.to_owned(),
            paths,
            created_at: now,
        });
        invalidation_id
    }
}

/// CloudFront as the engine sees it: CallerReference idempotency, completion after a delay, scripted errors.
#[derive(Debug, Clone)]
pub struct FakeCloudFront {
    clock: FakeClock,
    state: Arc<Mutex<CloudFrontState>>,
}

/// The distribution a fault is aimed at, which the test must have added: a fault aimed at an
/// unknown id would never fire, and the test could not fail.
fn known<'a>(state: &'a mut CloudFrontState, method: &str, id: &str) -> &'a mut FakeDistribution {
    if !state.distributions.contains_key(id) {
        let mut known: Vec<&String> = state.distributions.keys().collect();
        known.sort();
        panic!(
            "FakeCloudFront::{method}: no distribution {id:?} (known: {known:?}); add it with with_distribution"
        );
    }
    state.distributions.entry(id.to_owned()).or_default()
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

    /// A CloudFront whose invalidations on each `(id, seconds)` complete after those seconds.
    pub fn with_distributions(clock: &FakeClock, distributions: &[(&str, u64)]) -> Self {
        distributions
            .iter()
            .fold(Self::new(clock), |cloudfront, (id, after)| {
                cloudfront.with_distribution(id, Duration::from_secs(*after))
            })
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

    /// Plants a fault through `plant` on distribution `id`, which the test must have added.
    fn plant(&self, method: &str, id: &str, plant: impl FnOnce(&mut FakeDistribution)) {
        plant(known(&mut lock(&self.state), method, id));
    }

    pub fn fail_creates(&self, id: &str, errors: &[CloudFrontErrorKind]) {
        self.plant("fail_creates", id, |d| d.creates.errors.extend(errors));
    }

    pub fn fail_gets(&self, id: &str, errors: &[CloudFrontErrorKind]) {
        self.plant("fail_gets", id, |d| d.gets.errors.extend(errors));
    }

    pub fn delay_creates(&self, id: &str, delays: &[Duration]) {
        self.plant("delay_creates", id, |d| d.creates.delays.extend(delays));
    }

    pub fn delay_gets(&self, id: &str, delays: &[Duration]) {
        self.plant("delay_gets", id, |d| d.gets.delays.extend(delays));
    }

    pub fn strict_caller_reference(self) -> Self {
        lock(&self.state).strict_caller_reference = true;
        self
    }

    /// An invalidation made outside the job under test (another job, a person).
    pub fn add_invalidation(&self, id: &str, caller_reference: &str, paths: &[&str]) -> String {
        let mut state = lock(&self.state);
        known(&mut state, "add_invalidation", id);
        let paths = paths.iter().map(|p| (*p).to_owned()).collect();
        state.invalidate(id, caller_reference, paths, self.clock.now())
    }

    pub fn calls(&self) -> Vec<CfCall> {
        lock(&self.state).calls.clone()
    }

    pub fn creates(&self) -> Vec<CreateCall> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                CfCall::Create(create) => Some(create),
                CfCall::Get { .. } | CfCall::List { .. } => None,
            })
            .collect()
    }

    pub fn get_times(&self) -> Vec<Millis> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                CfCall::Get { at, .. } => Some(at),
                CfCall::Create(_) | CfCall::List { .. } => None,
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
        // Transport failures have no service code.
        CloudFrontErrorKind::Unreachable => {
            return CloudFrontError::new(kind, None, "could not connect: simulated");
        }
        CloudFrontErrorKind::NotCloudFront => {
            return CloudFrontError::new(kind, None, "not a CloudFront answer: simulated");
        }
        // The engine's own finding, with nothing said: `delay_creates` / `delay_gets` make it
        // happen for real.
        CloudFrontErrorKind::NoAnswer { .. } => return CloudFrontError::new(kind, None, ""),
        CloudFrontErrorKind::TooManyInProgress => "TooManyInvalidationsInProgress",
        CloudFrontErrorKind::NoSuchDistribution => "NoSuchDistribution",
        CloudFrontErrorKind::NoSuchInvalidation => "NoSuchInvalidation",
        CloudFrontErrorKind::AccessDenied => "AccessDenied",
        CloudFrontErrorKind::InvalidRequest => "InvalidArgument",
        CloudFrontErrorKind::CallerReferenceReused => "InvalidArgument",
        CloudFrontErrorKind::Unavailable => "ServiceUnavailable",
        CloudFrontErrorKind::Other => "InternalError",
    };
    CloudFrontError::new(kind, Some(code), format!("{code}: simulated"))
}

/// CloudFront names an unknown tenant `EntityNotFound`, an unknown distribution `NoSuchDistribution`.
fn not_found(target: &Target) -> CloudFrontError {
    let code = if target.is_tenant() {
        "EntityNotFound"
    } else {
        "NoSuchDistribution"
    };
    CloudFrontError::new(
        CloudFrontErrorKind::NoSuchDistribution,
        Some(code),
        format!("{code}: simulated"),
    )
}

fn reused_reference() -> CloudFrontError {
    CloudFrontError::new(
        CloudFrontErrorKind::CallerReferenceReused,
        Some("InvalidArgument"),
        "InvalidArgument: Your request contains a caller reference that was used for a previous invalidation batch for the same distribution.",
    )
}

impl FakeCloudFront {
    /// Spends the call's scripted delay (cut short by the enclosing `within`), records the call
    /// as it answers, and answers an unknown distribution or a scripted error.
    async fn arrive(
        &self,
        target: &Target,
        create: bool,
        call: impl FnOnce(Millis) -> CfCall,
    ) -> Result<(MutexGuard<'_, CloudFrontState>, Millis), CloudFrontError> {
        let delay = lock(&self.state)
            .distributions
            .get_mut(target.as_str())
            .and_then(|dist| dist.faults(create).delays.pop_front());
        self.clock.sleep(delay.unwrap_or_default()).await;
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.calls.push(call(now));
        let dist = state
            .distributions
            .get_mut(target.as_str())
            .ok_or_else(|| not_found(target))?;
        match dist.faults(create).errors.pop_front() {
            Some(kind) => Err(error(kind)),
            None => Ok((state, now)),
        }
    }
}

impl Invalidations for FakeCloudFront {
    async fn create(
        &self,
        distribution: &Target,
        paths: &[String],
        caller_reference: &str,
    ) -> Result<InvalidationStatus, CloudFrontError> {
        let (mut state, now) = self
            .arrive(distribution, true, |at| {
                CfCall::Create(CreateCall {
                    distribution: distribution.to_string(),
                    caller_reference: caller_reference.to_owned(),
                    paths: paths.to_vec(),
                    at,
                })
            })
            .await?;
        let dist = &state.distributions[distribution.as_str()];
        let completes_after = dist.completes_after;
        let mut reused = dist.invalidations.iter();
        if let Some(existing) = reused.find(|inv| inv.caller_reference == caller_reference) {
            if state.strict_caller_reference || existing.paths != paths {
                return Err(reused_reference());
            }
            return Ok(existing.status(completes_after, now));
        }
        let id = state.invalidate(distribution.as_str(), caller_reference, paths.to_vec(), now);
        Ok(InvalidationStatus {
            id,
            status: if completes_after.is_zero() {
                "Completed"
            } else {
                "InProgress"
            }
            .to_owned(),
            caller_reference: Some(caller_reference.to_owned()),
        })
    }

    async fn get(
        &self,
        distribution: &Target,
        invalidation_id: &str,
    ) -> Result<InvalidationStatus, CloudFrontError> {
        let (state, now) = self
            .arrive(distribution, false, |at| CfCall::Get {
                distribution: distribution.to_string(),
                id: invalidation_id.to_owned(),
                at,
            })
            .await?;
        let dist = &state.distributions[distribution.as_str()];
        dist.invalidations
            .iter()
            .find(|inv| inv.id == invalidation_id)
            .map(|inv| inv.status(dist.completes_after, now))
            .ok_or_else(|| error(CloudFrontErrorKind::NoSuchInvalidation))
    }

    async fn list(
        &self,
        distribution: &Target,
        limit: usize,
    ) -> Result<Vec<InvalidationSummary>, CloudFrontError> {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.calls.push(CfCall::List {
            distribution: distribution.to_string(),
            at: now,
        });
        let Some(dist) = state.distributions.get(distribution.as_str()) else {
            return Err(not_found(distribution));
        };
        Ok(dist
            .invalidations
            .iter()
            .rev()
            .take(limit)
            .map(|inv| InvalidationSummary {
                id: inv.id.clone(),
                status: match inv.done(dist.completes_after, now) {
                    true => "Completed",
                    false => "InProgress",
                }
                .to_owned(),
                create_time: inv.created_at.to_string(),
            })
            .collect())
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

impl Reported {
    fn job_id(&self) -> &str {
        match self {
            Self::Success { job_id, .. }
            | Self::KeepGoing { job_id, .. }
            | Self::Failure { job_id, .. } => job_id,
        }
    }
}

/// CodePipeline's job API: records every report; a job takes one terminal result only.
#[derive(Debug, Clone, Default)]
pub struct FakeReport {
    reports: Arc<Mutex<Vec<Reported>>>,
    errors: Arc<Mutex<VecDeque<ReportErrorKind>>>,
    delays: Arc<Mutex<VecDeque<Duration>>>,
    calls: Arc<AtomicU64>,
    /// Needed only for delays: a call "takes" its delay on this clock.
    clock: Option<FakeClock>,
}

impl FakeReport {
    pub fn with_clock(clock: &FakeClock) -> Self {
        Self {
            clock: Some(clock.clone()),
            ..Self::default()
        }
    }
    pub fn reports(&self) -> Vec<Reported> {
        lock(&self.reports).clone()
    }
    /// Every PutJob call made, answered or not.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
    pub fn fail_next(&self, kinds: &[ReportErrorKind]) {
        lock(&self.errors).extend(kinds.iter().copied());
    }
    pub fn clear_errors(&self) {
        lock(&self.errors).clear();
    }
    /// The next calls take these times before they answer (with a clock from `with_clock`).
    pub fn delay_next(&self, delays: &[Duration]) {
        lock(&self.delays).extend(delays.iter().copied());
    }
    async fn record(&self, report: Reported) -> Result<(), ReportError> {
        let job = report.job_id().to_owned();
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = lock(&self.delays).pop_front().unwrap_or_default();
        if let Some(clock) = &self.clock {
            clock.sleep(delay).await;
        }
        if let Some(kind) = lock(&self.errors).pop_front() {
            return Err(ReportError {
                kind,
                message: format!("simulated {kind:?}"),
                source: None,
            });
        }
        let mut reports = lock(&self.reports);
        if reports.iter().any(|r| r.job_id() == job) {
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
        let (job_id, success) = (job_id.to_owned(), success.clone());
        self.record(Reported::Success { job_id, success }).await
    }
    async fn keep_going(
        &self,
        job_id: &str,
        token: &str,
        details: &ExecutionDetails,
    ) -> Result<(), ReportError> {
        let (job_id, token, details) = (job_id.to_owned(), token.to_owned(), details.clone());
        self.record(Reported::KeepGoing {
            job_id,
            token,
            details,
        })
        .await
    }
    async fn fail(&self, job_id: &str, failure: &JobFailure) -> Result<(), ReportError> {
        let (job_id, failure) = (job_id.to_owned(), failure.clone());
        self.record(Reported::Failure { job_id, failure }).await
    }
}

/// The pipeline's history and its artifact bucket, in memory, with every call recorded.
#[derive(Debug, Clone, Default)]
pub struct FakeArtifacts(Arc<Mutex<ArtifactsState>>);

#[derive(Debug, Default)]
struct ArtifactsState {
    /// What GetJobDetails answers; `None`: it is refused (AccessDeniedException).
    context: Option<JobContext>,
    /// Newest first.
    executions: Vec<ActionExecution>,
    objects: HashMap<(String, String), Vec<u8>>,
    /// The access key S3 accepts, when set.
    access_key: Option<String>,
    /// Objects S3 refuses to any key.
    denied: Vec<(String, String)>,
    calls: Vec<String>,
}

impl FakeArtifacts {
    fn state(&self) -> MutexGuard<'_, ArtifactsState> {
        lock(&self.0)
    }

    /// GetJobDetails answers `context`; without it, GetJobDetails is refused.
    pub fn with_context(self, context: JobContext) -> Self {
        self.state().context = Some(context);
        self
    }

    /// Adds an execution older than those recorded so far.
    pub fn with_execution(self, execution: ActionExecution) -> Self {
        self.state().executions.push(execution);
        self
    }

    pub fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        self.state()
            .objects
            .insert((bucket.to_owned(), key.to_owned()), bytes);
    }

    /// Panics when there is no such object: a removal that removes nothing proves nothing.
    pub fn remove(&self, bucket: &str, key: &str) {
        let removed = self
            .state()
            .objects
            .remove(&(bucket.to_owned(), key.to_owned()));
        assert!(
            removed.is_some(),
            "FakeArtifacts::remove: no object s3://{bucket}/{key}; put it first"
        );
    }

    /// S3 refuses the object, as it refuses a missing key to credentials that may not list the
    /// bucket.
    pub fn deny(&self, bucket: &str, key: &str) {
        self.state()
            .denied
            .push((bucket.to_owned(), key.to_owned()));
    }

    /// S3 refuses any other access key.
    pub fn require_access_key(self, key: &str) -> Self {
        self.state().access_key = Some(key.to_owned());
        self
    }

    /// Every call so far: `GetJobDetails`, `ListActionExecutions`, `GetObject s3://bucket/key`.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }
}

impl PipelineHistory for FakeArtifacts {
    async fn job_context(&self, _job_id: &str) -> Result<JobContext, HistoryError> {
        let mut state = self.state();
        state.calls.push("GetJobDetails".to_owned());
        state.context.clone().ok_or_else(|| HistoryError {
            kind: HistoryErrorKind::Refused,
            operation: "GetJobDetails",
            code: Some("AccessDeniedException".to_owned()),
            message: "not authorized to perform codepipeline:GetJobDetails".to_owned(),
        })
    }

    async fn action_executions(
        &self,
        pipeline: &str,
        next_token: Option<String>,
    ) -> Result<ExecutionPage, HistoryError> {
        let mut state = self.state();
        state.calls.push("ListActionExecutions".to_owned());
        let known = state
            .context
            .as_ref()
            .is_none_or(|c| c.pipeline_name == pipeline);
        if !known {
            return Err(HistoryError {
                kind: HistoryErrorKind::NotFound,
                operation: "ListActionExecutions",
                code: Some("PipelineNotFoundException".to_owned()),
                message: format!("The account does not have a pipeline with name '{pipeline}'"),
            });
        }
        let from: usize = next_token.map_or(0, |token| token.parse().unwrap_or(0));
        let to = (from + HISTORY_PAGE_SIZE).min(state.executions.len());
        Ok(ExecutionPage {
            executions: state.executions[from.min(to)..to].to_vec(),
            next_token: (to < state.executions.len()).then(|| to.to_string()),
        })
    }
}

impl ArtifactStore for FakeArtifacts {
    type Zip = InMemoryZip;

    async fn open(
        &self,
        location: &ArtifactLocation,
        credentials: &ArtifactCredentials,
    ) -> Result<Self::Zip, ZipError> {
        let mut state = self.state();
        let place = format!("s3://{}/{}", location.bucket, location.key);
        state.calls.push(format!("GetObject {place}"));
        let object = (location.bucket.clone(), location.key.clone());
        if state
            .access_key
            .as_ref()
            .is_some_and(|key| *key != credentials.access_key_id)
            || state.denied.contains(&object)
        {
            return Err(ZipError::Denied(format!(
                "{place}: Access Denied (AccessDenied)"
            )));
        }
        state
            .objects
            .get(&object)
            .cloned()
            .map(InMemoryZip)
            .ok_or(ZipError::Missing(place))
    }
}

#[cfg(test)]
pub const BUCKET: &str = "codepipeline-us-east-1-123456789012";

/// The input artifact `BuildArtifact`, stored at `key` in [`BUCKET`].
#[cfg(test)]
pub fn located(key: &str) -> ArtifactLocation {
    ArtifactLocation {
        name: "BuildArtifact".to_owned(),
        bucket: BUCKET.to_owned(),
        key: key.to_owned(),
    }
}

/// The job of action Deploy/Invalidate in pipeline `site`, run `execution`.
#[cfg(test)]
pub fn job_context(execution: &str) -> JobContext {
    JobContext {
        pipeline_name: "site".to_owned(),
        stage_name: "Deploy".to_owned(),
        action_name: "Invalidate".to_owned(),
        pipeline_execution_id: Some(execution.to_owned()),
    }
}

/// Deploy/Invalidate in run `id`, ended as `status`, having read the artifact at `key`.
#[cfg(test)]
pub fn execution(id: &str, status: &str, key: &str, user_parameters: &str) -> ActionExecution {
    ActionExecution {
        pipeline_execution_id: id.to_owned(),
        action_execution_id: format!("action-{id}"),
        stage_name: "Deploy".to_owned(),
        action_name: "Invalidate".to_owned(),
        status: status.to_owned(),
        input_artifacts: vec![located(key)],
        user_parameters: Some(user_parameters.to_owned()),
    }
}

/// The artifact credentials CodePipeline hands a job; S3 fakes accept `ASIAJOBKEY`.
#[cfg(test)]
pub fn job_credentials() -> ArtifactCredentials {
    ArtifactCredentials {
        access_key_id: "ASIAJOBKEY".to_owned(),
        secret_access_key: "job-secret".to_owned(),
        session_token: Some("job-session".to_owned()),
    }
}

/// Panics unless `text` holds each of `words`, quoting `text`.
#[cfg(test)]
#[track_caller]
pub fn assert_mentions(text: &str, words: &[&str]) {
    for word in words {
        assert!(text.contains(word), "no {word:?} in {text}");
    }
}

/// Panics unless `text` starts with `prefix`, quoting `text`.
#[cfg(test)]
#[track_caller]
pub fn assert_starts(text: &str, prefix: &str) {
    assert!(
        text.starts_with(prefix),
        "{text:?} does not start with {prefix:?}"
    );
}

/// Panics unless `text` ends with `suffix`, quoting `text`.
#[cfg(test)]
#[track_caller]
pub fn assert_ends(text: &str, suffix: &str) {
    assert!(
        text.ends_with(suffix),
        "{text:?} does not end with {suffix:?}"
    );
}

/// A zip of `(name, contents)` written by an independent writer (the `zip` crate), stored
/// without compression; names ending in "/" are directories.
#[cfg(test)]
pub fn stored_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(files, None, false)
}

/// [`stored_zip`] with an archive comment, and ZIP64 size fields when `large`.
#[cfg(test)]
pub fn zip_with(files: &[(&str, &[u8])], comment: Option<&str>, large: bool) -> Vec<u8> {
    use std::io::Write as _;
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, contents) in files {
        if name.ends_with('/') {
            writer.add_directory(*name, options).expect("directory");
        } else {
            writer
                .start_file(*name, options.large_file(large))
                .expect("file");
            writer.write_all(contents).expect("contents");
        }
    }
    if let Some(comment) = comment {
        writer.set_comment(comment).expect("a comment");
    }
    writer.finish().expect("finish").into_inner()
}

/// The site `verify` asks: what the bucket holds and what the edge serves, each by key. Each
/// edge request takes `latency` of the fake clock.
pub struct FakeSite {
    clock: FakeClock,
    pub latency: Duration,
    pub base_url: String,
    pub bucket: String,
    /// Key → body; the ETag is the body's CRC-32.
    pub objects: Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    /// Key → the body the edge serves; a key it does not have is a 403.
    pub edge: Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    /// The edge never answers in time.
    pub silent: bool,
    /// The keys the edge was asked for, in order.
    pub asked: Mutex<Vec<String>>,
}

impl FakeSite {
    pub fn new(clock: &FakeClock) -> Self {
        Self {
            clock: clock.clone(),
            latency: Duration::from_millis(200),
            base_url: "https://d111111abcdef8.cloudfront.net".to_owned(),
            bucket: "example-site".to_owned(),
            objects: Mutex::default(),
            edge: Mutex::default(),
            silent: false,
            asked: Mutex::default(),
        }
    }

    /// `key` deployed as `body` in the bucket, and served so by the edge when `fresh`.
    pub fn put(&self, key: &str, body: &[u8], edge: Option<&[u8]>) {
        lock(&self.objects).insert(key.to_owned(), body.to_vec());
        if let Some(served) = edge {
            lock(&self.edge).insert(key.to_owned(), served.to_vec());
        }
    }

    fn etag(body: &[u8]) -> String {
        format!("\"{:08x}\"", crc32fast::hash(body))
    }
}

impl crate::verify::Site for FakeSite {
    fn distribution<'a>(
        &'a self,
        _id: &'a str,
    ) -> crate::verify::BoxFuture<'a, Result<crate::verify::DistributionSite, String>> {
        Box::pin(async move {
            Ok(crate::verify::DistributionSite {
                base_url: self.base_url.clone(),
                bucket: Some(self.bucket.clone()),
                prefix: String::new(),
            })
        })
    }

    fn ask<'a>(
        &'a self,
        url: &'a str,
        base_url: &'a str,
        with_body: bool,
        _timeout: Duration,
    ) -> crate::verify::BoxFuture<'a, Result<crate::freshness::EdgeAnswer, crate::edge::EdgeError>>
    {
        Box::pin(async move {
            self.clock.advance(self.latency);
            let key = url
                .strip_prefix(base_url)
                .and_then(|path| path.strip_prefix('/'))
                .and_then(|path| crate::text::percent_decode(path, false))
                .unwrap_or_default();
            lock(&self.asked).push(key.clone());
            if self.silent {
                return Err(crate::edge::EdgeError {
                    problem: format!("the edge did not answer GET {url} within 10s"),
                    timed_out: true,
                    source: None,
                });
            }
            let served = lock(&self.edge).get(&key).cloned();
            Ok(match served {
                Some(body) => crate::freshness::EdgeAnswer {
                    status: 200,
                    etag: Some(Self::etag(&body)),
                    x_cache: Some("Hit from cloudfront".to_owned()),
                    age: Some(5),
                    cache_control: None,
                    body: with_body.then_some(body),
                },
                None => crate::freshness::EdgeAnswer {
                    status: 403,
                    ..Default::default()
                },
            })
        })
    }

    fn etag<'a>(
        &'a self,
        _bucket: &'a str,
        key: &'a str,
        _timeout: Duration,
    ) -> crate::verify::BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move { Ok(lock(&self.objects).get(key).map(|body| Self::etag(body))) })
    }

    fn list<'a>(
        &'a self,
        _bucket: &'a str,
        prefix: &'a str,
        limit: usize,
    ) -> crate::verify::BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            Ok(lock(&self.objects)
                .keys()
                .filter(|key| key.starts_with(prefix))
                .take(limit)
                .cloned()
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typo in an id: the fault could never fire, and the test could not fail.
    #[test]
    fn every_fault_refuses_an_unknown_distribution() {
        let cloudfront = FakeCloudFront::new(&FakeClock::new())
            .with_distribution("E2QWRUHAPOMQZL", Duration::ZERO);
        type Fault = fn(&FakeCloudFront);
        let faults: [(&str, Fault); 5] = [
            ("fail_creates", |cf| cf.fail_creates("EX", &[])),
            ("fail_gets", |cf| cf.fail_gets("EX", &[])),
            ("delay_creates", |cf| cf.delay_creates("EX", &[])),
            ("delay_gets", |cf| cf.delay_gets("EX", &[])),
            ("add_invalidation", |cf| {
                cf.add_invalidation("EX", "ref", &["/a"]);
            }),
        ];
        for (method, fault) in faults {
            let panic =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fault(&cloudfront)))
                    .expect_err(method);
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .unwrap_or_default();
            assert!(
                message.starts_with(&format!("FakeCloudFront::{method}: no distribution \"EX\"")),
                "{method}: {message}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "FakeArtifacts::remove: no object s3://bucket/missing.zip")]
    fn removing_an_object_that_is_not_there_panics() {
        FakeArtifacts::default().remove("bucket", "missing.zip");
    }
}
