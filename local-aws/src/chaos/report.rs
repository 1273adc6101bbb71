//! What a chaos run measured: each job's facts and violations, the figures, the invariants.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::iter::Sum;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::ChaosConfig;
use super::scenario::{Cause, Expected, Scenario};
use crate::cloudfront::{CallerReferenceReuse, InvalidationInfo};
use crate::codepipeline::JobResult;
use crate::duration::format_exact;
use crate::events::{listed, percentile};
use crate::faults::Api;
use crate::faults::FaultKind::{self, DropAfter, Throttle, ThrottleFinal, Unavailable};
use crate::pipeline::{FailureCause, InvocationEnd, PipelineReport, Verdict};
use crate::text::shorten;

/// One simulated job: what was drawn, what happened, and what broke.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChaosJob {
    pub scenario: Scenario,
    /// `None` when the job could not be run.
    pub verdict: Option<Verdict>,
    pub failure_cause: Option<FailureCause>,
    /// `failureDetails.type` of a reported failure.
    pub failure_type: Option<String>,
    /// The failure message or the success summary (shortened).
    pub message: Option<String>,
    /// The `Status` output variable of a success.
    pub status: Option<String>,
    pub duration_ms: u64,
    /// Why the job could not be run at all.
    pub error: Option<String>,
    #[serde(flatten)]
    pub counters: Counters,
    pub codepipeline_jobs_without_one_result: u32,
    /// Accepted results that end the action (success without token, failure).
    pub terminal_results_accepted: u32,
    /// CloudFront calls hit by a transient fault (503, Throttling, a dropped connection).
    pub cloudfront_transient: u32,
    pub max_invalidations_per_distribution: u32,
    /// Whether every distribution's invalidation was created (and, with `wait`, completed)
    /// within `timeoutMinutes`.
    pub done_within_budget: bool,
    /// Whether every distribution's invalidation reached `Completed` before the job's timeout
    /// (`timeoutMinutes`, or the job's budget when shorter), `wait` or not.
    pub completed_in_time: bool,
    /// The invariants this job broke, in words.
    pub violations: Vec<String>,
}

/// The counts of a job that add up over the run: each job's and the run's figures hold one,
/// so a counter is declared here once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// 1 + continuations.
    pub codepipeline_jobs: u32,
    /// PutJob calls refused with `InvalidJobStateException`.
    pub results_refused: u32,
    /// Duplicates and retries included.
    pub invocations: u32,
    pub cold_starts: u32,
    pub function_errors: u32,
    /// Invocations killed at their deadline (timeouts).
    pub deadline_kills: u32,
    /// Invocations killed before their deadline on purpose.
    pub injected_kills: u32,
    /// Processes that exited before answering.
    pub crashes: u32,
    /// Invocations that posted `/error`, by `errorType`.
    pub error_posts: BTreeMap<String, u32>,
    pub duplicate_deliveries: u32,
    /// CloudFront and CodePipeline calls, and those hit by a fault.
    pub cloudfront_calls: u32,
    pub cloudfront_faulted: u32,
    pub codepipeline_calls: u32,
    pub codepipeline_faulted: u32,
    /// Injected faults by `api.kind`.
    pub faults_by_kind: BTreeMap<String, u32>,
    /// CreateInvalidation calls made, and those CloudFront processed (answered with an
    /// invalidation, or processed before the connection was dropped).
    pub create_calls: u32,
    pub creates_processed: u32,
    /// Invalidations CloudFront holds at the end.
    pub invalidations: u32,
    /// CodePipeline calls answered `ThrottlingException` (injected `throttle` and
    /// `throttle-final`).
    pub codepipeline_throttled: u32,
    /// The longest run of final reports throttled in a row (over the run: the longest of any
    /// job).
    pub longest_final_report_throttle_burst: u32,
    /// Create calls with a reused CallerReference: the existing invalidation returned, refused
    /// with the same batch (strict mode), refused with other paths.
    pub caller_references_returned: u32,
    pub caller_references_refused_strict: u32,
    pub caller_references_refused_other_paths: u32,
    /// Occurrences of the planted credentials in the function's output, the PutJob results and
    /// the request log.
    pub secrets_found: u32,
}

impl<'a> Sum<&'a Counters> for Counters {
    fn sum<I: Iterator<Item = &'a Counters>>(iter: I) -> Self {
        // A struct literal, so that a counter cannot be left out of the sum.
        macro_rules! summed {
            ($a:ident, $other:ident: $($count:ident),*) => {
                Counters {
                    $($count: $a.$count + $other.$count,)*
                    error_posts: merged($a.error_posts, &$other.error_posts),
                    faults_by_kind: merged($a.faults_by_kind, &$other.faults_by_kind),
                    longest_final_report_throttle_burst: $a
                        .longest_final_report_throttle_burst
                        .max($other.longest_final_report_throttle_burst),
                }
            };
        }
        iter.fold(Self::default(), |a, other| {
            summed! { a, other:
                codepipeline_jobs, results_refused, invocations, cold_starts, function_errors,
                deadline_kills, injected_kills, crashes, duplicate_deliveries, cloudfront_calls,
                cloudfront_faulted, codepipeline_calls, codepipeline_faulted, create_calls,
                creates_processed, invalidations, codepipeline_throttled,
                caller_references_returned, caller_references_refused_strict,
                caller_references_refused_other_paths, secrets_found
            }
        })
    }
}

/// How many times each key occurs.
fn tally<K: Ord>(keys: impl IntoIterator<Item = K>) -> BTreeMap<K, u32> {
    let mut counts = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// The targets on which no invalidation of the run is `done`.
fn undone<'a>(
    targets: &'a [String],
    report: &PipelineReport,
    done: impl Fn(&InvalidationInfo) -> bool,
) -> Vec<&'a str> {
    let done_on = |t: &&String| {
        report
            .invalidations
            .iter()
            .any(|i| i.target() == *t && done(i))
    };
    targets
        .iter()
        .filter(|t| !done_on(t))
        .map(String::as_str)
        .collect()
}

fn merged(
    mut counts: BTreeMap<String, u32>,
    more: &BTreeMap<String, u32>,
) -> BTreeMap<String, u32> {
    for (k, n) in more {
        *counts.entry(k.clone()).or_default() += n;
    }
    counts
}

impl ChaosJob {
    pub(crate) fn not_run(scenario: Scenario, error: String) -> Self {
        Self {
            violations: vec![format!("could not run: {error}")],
            error: Some(error),
            scenario,
            ..Self::default()
        }
    }

    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether the action never got a terminal result within its budget.
    pub fn hung(&self) -> bool {
        matches!(
            self.failure_cause,
            Some(FailureCause::NoReply | FailureCause::TotalTimeout)
        )
    }

    /// The outcome in a few words: `succeeded`, `failed PermissionError`, `hung (no reply)`.
    pub fn outcome(&self) -> String {
        match (self.verdict, self.failure_cause) {
            (None, _) => "not run".to_string(),
            (Some(Verdict::Succeeded), _) => match &self.status {
                Some(status) => format!("succeeded ({status})"),
                None => "succeeded".to_string(),
            },
            (_, Some(FailureCause::NoReply)) => "hung (no reply)".to_string(),
            (_, Some(FailureCause::TotalTimeout)) => "hung (over budget)".to_string(),
            (Some(Verdict::Failed), _) => match &self.failure_type {
                Some(kind) => format!("failed {kind}"),
                None => "failed".to_string(),
            },
        }
    }

    /// The failure type a failed job is counted under (`no reply (hung)` for a hang).
    fn failed_as(&self) -> Option<String> {
        let failed = self.verdict == Some(Verdict::Failed);
        failed.then(|| match (self.failure_cause, &self.failure_type) {
            (Some(FailureCause::NoReply), _) => "no reply (hung)".to_string(),
            (Some(FailureCause::TotalTimeout), _) => "over budget (hung)".to_string(),
            (_, Some(kind)) => kind.clone(),
            (_, None) => "unknown".to_string(),
        })
    }

    /// Reads a pipeline run against its scenario.
    pub(crate) fn evaluate(scenario: Scenario, report: &PipelineReport) -> Self {
        let mut job = Self {
            scenario,
            ..Self::default()
        };
        job.verdict = Some(report.verdict);
        job.failure_cause = report.failure.as_ref().map(|f| f.cause);
        job.failure_type = report.failure.as_ref().and_then(|f| f.failure_type.clone());
        job.message = match &report.failure {
            Some(f) => Some(shorten(&f.message, 400)),
            None => report.summary.as_deref().map(|s| shorten(s, 400)),
        };
        job.status = report.output_variables.get("Status").cloned();
        job.duration_ms = report.duration_ms;

        let without_one = report.jobs.iter().filter(|j| j.results_accepted != 1);
        job.codepipeline_jobs_without_one_result = without_one.count() as u32;
        let terminal = report.jobs.iter().filter(|j| {
            matches!(
                j.result,
                Some(JobResult::Failed { .. })
                    | Some(JobResult::Succeeded {
                        continuation_token: None,
                        ..
                    })
            )
        });
        job.terminal_results_accepted = terminal.map(|j| j.results_accepted).sum();

        // The pipeline run has counted its jobs, invocations and invalidations.
        let counts = &report.counts;
        job.counters = Counters {
            codepipeline_jobs: counts.jobs,
            results_refused: counts.results_refused,
            invocations: counts.invocations,
            cold_starts: counts.cold_starts,
            function_errors: counts.function_errors,
            deadline_kills: counts.timeouts,
            injected_kills: counts.kills,
            crashes: counts.crashes,
            duplicate_deliveries: counts.duplicate_deliveries,
            invalidations: counts.invalidations,
            error_posts: tally(report.invocations.iter().filter_map(|i| match &i.end {
                InvocationEnd::Error { error_type, .. } => Some(error_type.clone()),
                _ => None,
            })),
            // Only the APIs that take faults (CloudFront, CodePipeline, S3) show up here.
            faults_by_kind: tally(report.requests.iter().filter_map(|r| {
                let api = r.api.to_string().to_lowercase();
                Some(format!("{api}.{}", r.fault?.name()))
            })),
            ..Counters::default()
        };
        let c = &mut job.counters;

        let mut burst = 0u32;
        for r in &report.requests {
            let faulted = r.fault.is_some();
            if let Some(reuse) = r.caller_reference_reuse {
                *match reuse {
                    CallerReferenceReuse::ReturnedExisting => &mut c.caller_references_returned,
                    CallerReferenceReuse::RefusedStrict => &mut c.caller_references_refused_strict,
                    CallerReferenceReuse::RefusedOtherPaths => {
                        &mut c.caller_references_refused_other_paths
                    }
                } += 1;
            }
            let fault_in =
                |kinds: &[FaultKind]| u32::from(r.fault.is_some_and(|f| kinds.contains(&f)));
            match r.api {
                Api::CloudFront => {
                    c.cloudfront_calls += 1;
                    c.cloudfront_faulted += u32::from(faulted);
                    job.cloudfront_transient +=
                        fault_in(&[Unavailable, Throttle, FaultKind::Drop, DropAfter]);
                }
                Api::CodePipeline => {
                    c.codepipeline_calls += 1;
                    c.codepipeline_faulted += u32::from(faulted);
                    c.codepipeline_throttled += fault_in(&[Throttle, ThrottleFinal]);
                    if r.fault == Some(ThrottleFinal) {
                        burst += 1;
                        c.longest_final_report_throttle_burst =
                            c.longest_final_report_throttle_burst.max(burst);
                    } else if r.operation.starts_with("PutJob") {
                        burst = 0;
                    }
                }
                Api::LambdaRuntime | Api::Local | Api::S3 => {}
            }
            if r.operation.starts_with("CreateInvalidation") {
                c.create_calls += 1;
                let processed =
                    r.invalidation_id.is_some() && (r.succeeded() || r.fault == Some(DropAfter));
                c.creates_processed += u32::from(processed);
            }
        }

        let per_distribution = tally(report.invalidations.iter().map(InvalidationInfo::target));
        job.max_invalidations_per_distribution = per_distribution.into_values().max().unwrap_or(0);

        // Done (created, or completed with `wait`) within the function's own budget
        // (timeoutMinutes) on every distribution? Completed before the job's own timeout, or
        // before the end of the run when that comes first (the driver stops the job there)?
        let start_ms = report.jobs.first().map_or(0, |j| j.created_ms);
        let timeout_ms = u64::from(job.scenario.timeout_minutes) * 60_000;
        let s = &job.scenario;
        let done_ms = |i: &InvalidationInfo| {
            if s.wait {
                i.completes_at_ms
            } else {
                i.created_ms
            }
        };
        let within = |i: &InvalidationInfo| done_ms(i) <= start_ms + timeout_ms;
        job.done_within_budget = undone(&s.targets, report, within).is_empty();
        let deadline = start_ms + timeout_ms.min(s.budget_ms);
        job.completed_in_time =
            undone(&s.targets, report, |i| i.completes_at_ms <= deadline).is_empty();

        let secrets = [
            &job.scenario.credentials.access_key_id,
            &job.scenario.credentials.secret_access_key,
            &job.scenario.credentials.session_token,
        ];
        let mut haystacks = vec![report.function_output_text(), format!("{:?}", report.jobs)];
        haystacks.extend(report.requests.iter().filter_map(|r| r.detail.clone()));
        haystacks.extend(report.invocations.iter().filter_map(|i| match &i.end {
            InvocationEnd::Response { body } => Some(body.clone()),
            InvocationEnd::Error {
                error_type,
                error_message,
            } => Some(format!("{error_type} {error_message}")),
            _ => None,
        }));
        let found = secrets
            .iter()
            .flat_map(|s| haystacks.iter().map(|h| h.matches(s.as_str())));
        job.counters.secrets_found = found.map(|m| m.count() as u32).sum();

        job.check(report);
        job
    }

    fn check(&mut self, report: &PipelineReport) {
        let mut v = Vec::new();
        let (outcome, cause, minutes) = (
            self.outcome(),
            self.scenario.cause,
            self.scenario.timeout_minutes,
        );
        let c = &self.counters;
        if self.hung() {
            let why = shorten(report.failure.as_ref().map_or("", |f| &f.message), 200);
            v.push(format!(
                "hung: no terminal result within the budget ({why})"
            ));
        }
        let terminal = self.terminal_results_accepted;
        if terminal != 1 {
            v.push(format!(
                "{terminal} accepted terminal results (exactly 1 required)"
            ));
        }
        let without_one = self.codepipeline_jobs_without_one_result;
        if without_one > 0 && !self.hung() {
            v.push(format!(
                "{without_one} CodePipeline job(s) without exactly one accepted result"
            ));
        }
        let most = self.max_invalidations_per_distribution;
        if most > 1 {
            v.push(format!(
                "{most} invalidations on one distribution (CallerReference idempotency broken)"
            ));
        }
        if self.failed_although_completed_in_time() {
            v.push(format!(
                "failed ({outcome}) without a planted cause although every invalidation completed before the job's timeout ({minutes} min)"
            ));
        }
        if self.failed_although_done_within_budget() {
            v.push(format!(
                "failed ({outcome}) although every invalidation was done within timeoutMinutes ({minutes})"
            ));
        }
        // A success that says Completed must come after CloudFront completed.
        if self.verdict == Some(Verdict::Succeeded) && self.status.as_deref() == Some("Completed") {
            let reported_ms = report
                .jobs
                .last()
                .and_then(|j| j.result_ms)
                .unwrap_or(u64::MAX);
            let early = undone(&self.scenario.targets, report, |i| {
                i.completes_at_ms <= reported_ms
            });
            if !early.is_empty() {
                let early = early.join(", ");
                v.push(format!(
                    "reported Completed before CloudFront completed on {early}"
                ));
            }
        }
        if !self.matches_cause() {
            let expected = cause.expected();
            v.push(format!(
                "ended {outcome} but the cause '{cause}' requires {expected}"
            ));
        }
        if cause == Cause::MalformedUserParameters && c.cloudfront_calls > 0 {
            let calls = c.cloudfront_calls;
            v.push(format!(
                "{calls} CloudFront call(s) despite invalid UserParameters"
            ));
        }
        let secrets = c.secrets_found;
        if secrets > 0 {
            v.push(format!(
                "the planted artifact credentials appear {secrets} time(s) in the function's output or results"
            ));
        }
        self.violations.extend(v);
    }

    /// Whether the job failed (a hang included) with no failure planted, although every
    /// invalidation was done within `timeoutMinutes`.
    pub fn failed_although_done_within_budget(&self) -> bool {
        self.verdict == Some(Verdict::Failed)
            && self.done_within_budget
            && !matches!(self.scenario.cause.expected(), Expected::Failure(_))
    }

    /// Whether the job failed (a hang included) with nothing planted, although every
    /// invalidation it had to make completed before its timeout.
    pub fn failed_although_completed_in_time(&self) -> bool {
        self.scenario.cause == Cause::None
            && self.verdict == Some(Verdict::Failed)
            && self.completed_in_time
    }

    /// Whether the outcome is the one the job's cause requires (a success for no cause).
    pub fn matches_cause(&self) -> bool {
        let succeeded = self.verdict == Some(Verdict::Succeeded);
        match self.scenario.cause.expected() {
            Expected::Success => {
                succeeded
                    && match self.status.as_deref() {
                        Some("Completed") => true,
                        Some("InProgress") => !self.scenario.wait,
                        _ => false,
                    }
            }
            Expected::TimeoutWarning => {
                succeeded
                    && self.status.as_deref() == Some("InProgress")
                    && self
                        .message
                        .as_deref()
                        .is_some_and(|m| m.starts_with("WARNING:"))
            }
            Expected::Failure(kind) => {
                self.verdict == Some(Verdict::Failed)
                    && self.failure_cause == Some(FailureCause::Reported)
                    && self.failure_type.as_deref() == Some(kind)
            }
        }
    }
}

/// One invariant of the run: what is measured, its value, the largest value allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invariant {
    pub name: &'static str,
    pub value: u64,
    pub max: u64,
}

impl Invariant {
    pub fn holds(&self) -> bool {
        self.value <= self.max
    }
}

/// Jobs of one planted cause, those that ended as it requires, and the outcomes seen
/// (`failed PermissionError`: 5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CauseFigures {
    pub jobs: u32,
    pub matched: u32,
    pub outcomes: BTreeMap<String, u32>,
}

/// The figures of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub jobs: u32,
    /// Jobs that could not be run (a usage or environment problem).
    pub not_run: u32,
    pub hung: u32,
    pub jobs_without_one_terminal_result: u32,
    /// CodePipeline jobs without exactly one accepted result (outside hung jobs).
    pub codepipeline_jobs_without_one_result: u32,
    pub max_invalidations_per_job_and_distribution: u32,
    pub succeeded: u32,
    /// Jobs that failed, by failure type (`no reply` and `over budget` for hung jobs).
    pub failed_by_type: BTreeMap<String, u32>,
    pub failed_although_done_within_budget: u32,
    pub failed_although_completed_in_time: u32,
    /// Successes that said Completed before CloudFront completed.
    pub early_successes: u32,
    pub outcomes_not_matching_cause: u32,
    /// Jobs without a planted cause, and those that succeeded.
    pub unplanted_jobs: u32,
    pub unplanted_succeeded: u32,
    pub planted: BTreeMap<String, CauseFigures>,
    /// Jobs with a planted cause, and those whose failure type (or outcome) matched.
    pub planted_jobs: u32,
    pub planted_matched: u32,
    #[serde(flatten)]
    pub counters: Counters,
    pub continuations: u32,
    /// Jobs by the function's log level (`AWS_LAMBDA_LOG_LEVEL`).
    pub log_levels: BTreeMap<String, u32>,
    /// CloudFront calls of the jobs without a planted outage, and those hit by a transient
    /// fault (503, Throttling, a dropped connection).
    pub cloudfront_calls_without_outage: u32,
    pub cloudfront_transient_without_outage: u32,
    /// Jobs drawn to have CodePipeline throttling (`codepipeline.throttle`).
    pub throttled_jobs: u32,
    /// Jobs drawn to have a burst of throttles on the final report.
    pub final_report_burst_jobs: u32,
    /// Jobs run in the strict CallerReference mode, and those in which a reused
    /// CallerReference was refused.
    pub strict_caller_reference_jobs: u32,
    pub strict_jobs_with_a_refusal: u32,
    /// Job wall time in ms: median, 95th percentile, longest.
    pub job_ms_p50: u64,
    pub job_ms_p95: u64,
    pub job_ms_max: u64,
}

/// Everything a chaos run measured.
#[derive(Debug, Clone, Serialize)]
pub struct ChaosReport {
    pub seed: u64,
    /// Jobs at a time.
    pub concurrency: usize,
    pub function: PathBuf,
    pub duration_ms: u64,
    pub figures: Figures,
    pub invariants: Vec<Invariant>,
    /// Every job, in index order.
    pub jobs: Vec<ChaosJob>,
}

impl ChaosReport {
    pub(crate) fn new(config: &ChaosConfig, jobs: Vec<ChaosJob>, elapsed: Duration) -> Self {
        let sum = |of: &dyn Fn(&ChaosJob) -> u32| jobs.iter().map(of).sum::<u32>();
        let count = |is: &dyn Fn(&ChaosJob) -> bool| sum(&|j| u32::from(is(j)));
        let unplanted = |j: &ChaosJob| j.scenario.cause == Cause::None;
        let drawn_with = |fault: &'static str| count(&move |j| j.scenario.faults.contains(fault));
        let outage = |j: &ChaosJob| j.scenario.cause == Cause::CloudFrontDown;
        let without_outage =
            |of: &dyn Fn(&ChaosJob) -> u32| sum(&|j| if outage(j) { 0 } else { of(j) });
        let mut planted: BTreeMap<String, CauseFigures> = BTreeMap::new();
        for job in jobs.iter().filter(|j| !unplanted(j)) {
            let entry = planted.entry(job.scenario.cause.to_string()).or_default();
            entry.jobs += 1;
            entry.matched += u32::from(job.matches_cause());
            *entry.outcomes.entry(job.outcome()).or_default() += 1;
        }
        let mut durations: Vec<u64> = jobs.iter().map(|j| j.duration_ms).collect();
        durations.sort_unstable();
        let f = Figures {
            jobs: jobs.len() as u32,
            not_run: count(&|j| j.error.is_some()),
            hung: count(&ChaosJob::hung),
            jobs_without_one_terminal_result: count(&|j| j.terminal_results_accepted != 1),
            codepipeline_jobs_without_one_result: sum(&|j| {
                if j.hung() {
                    0
                } else {
                    j.codepipeline_jobs_without_one_result
                }
            }),
            max_invalidations_per_job_and_distribution: jobs
                .iter()
                .map(|j| j.max_invalidations_per_distribution)
                .max()
                .unwrap_or(0),
            succeeded: count(&|j| j.verdict == Some(Verdict::Succeeded)),
            failed_by_type: tally(jobs.iter().filter_map(ChaosJob::failed_as)),
            failed_although_done_within_budget: count(
                &ChaosJob::failed_although_done_within_budget,
            ),
            failed_although_completed_in_time: count(&ChaosJob::failed_although_completed_in_time),
            early_successes: count(&|j| {
                let early = |v: &String| v.starts_with("reported Completed before");
                j.violations.iter().any(early)
            }),
            outcomes_not_matching_cause: count(&|j| !j.matches_cause()),
            unplanted_jobs: count(&unplanted),
            unplanted_succeeded: count(&|j| unplanted(j) && j.verdict == Some(Verdict::Succeeded)),
            planted_jobs: planted.values().map(|c| c.jobs).sum(),
            planted_matched: planted.values().map(|c| c.matched).sum(),
            planted,
            counters: jobs.iter().map(|j| &j.counters).sum(),
            continuations: sum(&|j| j.counters.codepipeline_jobs.saturating_sub(1)),
            log_levels: tally(jobs.iter().map(|j| j.scenario.log_level.to_string())),
            cloudfront_calls_without_outage: without_outage(&|j| j.counters.cloudfront_calls),
            cloudfront_transient_without_outage: without_outage(&|j| j.cloudfront_transient),
            throttled_jobs: drawn_with("codepipeline.throttle="),
            final_report_burst_jobs: drawn_with("codepipeline.throttle-final="),
            strict_caller_reference_jobs: count(&|j| j.scenario.strict_caller_reference),
            strict_jobs_with_a_refusal: count(&|j| j.counters.caller_references_refused_strict > 0),
            job_ms_p50: percentile(&durations, 50).unwrap_or(0),
            job_ms_p95: percentile(&durations, 95).unwrap_or(0),
            job_ms_max: durations.last().copied().unwrap_or(0),
        };
        // A table that rustfmt leaves as written: each invariant, then its value and maximum.
        macro_rules! invariants {
            ($($name:literal: $value:expr, at most $max:literal;)*) => {
                vec![$(Invariant { name: $name, value: u64::from($value), max: $max }),*]
            };
        }
        let invariants = invariants! {
            "hung jobs (no terminal result within the budget)":
                f.hung, at most 0;
            "jobs without exactly one accepted terminal result":
                f.jobs_without_one_terminal_result, at most 0;
            "CodePipeline jobs without exactly one accepted result":
                f.codepipeline_jobs_without_one_result, at most 0;
            "max invalidations per job and distribution":
                f.max_invalidations_per_job_and_distribution, at most 1;
            "failed jobs whose invalidations were done within the budget":
                f.failed_although_done_within_budget, at most 0;
            "unplanted failures whose invalidations completed in time":
                f.failed_although_completed_in_time, at most 0;
            "successes reported before CloudFront completed":
                f.early_successes, at most 0;
            "outcomes not matching their cause (failure type, or success)":
                f.outcomes_not_matching_cause, at most 0;
            "secrets found in function output and results":
                f.counters.secrets_found, at most 0;
            "jobs that could not be run":
                f.not_run, at most 0;
        };
        Self {
            seed: config.seed,
            concurrency: config.concurrency,
            function: config.function.clone(),
            duration_ms: crate::clock::duration_ms(elapsed),
            figures: f,
            invariants,
            jobs,
        }
    }

    pub fn holds(&self) -> bool {
        self.invariants.iter().all(Invariant::holds)
    }

    pub fn offenders(&self) -> Vec<&ChaosJob> {
        self.jobs.iter().filter(|j| !j.is_ok()).collect()
    }

    /// The figures as a readable table, then every offending job with its replay command.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (jobs, at_a_time, seed) = (self.figures.jobs, self.concurrency, self.seed);
        let wall = format_exact(Duration::from_secs(self.duration_ms.div_ceil(1000)));
        let _ = writeln!(
            out,
            "chaos run: {jobs} jobs, {at_a_time} at a time, seed {seed}, {wall} wall time"
        );
        let invariants: Vec<Row> = self
            .invariants
            .iter()
            .map(|inv| {
                let verdict = if inv.holds() { "ok" } else { "BROKEN" };
                Row::new(inv.name, inv.value).aside(format!("(at most {}) {verdict}", inv.max))
            })
            .collect();
        write_section(&mut out, "INVARIANTS", 65, &invariants);
        write_section(&mut out, "OUTCOMES", 43, &self.outcome_rows());
        write_section(&mut out, "CHAOS APPLIED", 43, &self.chaos_rows());
        let offenders = self.offenders();
        if !offenders.is_empty() {
            let count = offenders.len();
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "OFFENDING JOBS ({count}): replay each with the command shown"
            );
            for job in offenders {
                let s = &job.scenario;
                let (index, seed, cause) = (s.index, s.seed, s.cause);
                let _ = writeln!(
                    out,
                    "  job {index} (seed {seed}, cause {cause}): {}",
                    job.outcome()
                );
                for v in &job.violations {
                    let _ = writeln!(out, "    - {v}");
                }
                if let Some(m) = &job.message {
                    let _ = writeln!(out, "    message: {m}");
                }
                let _ = writeln!(out, "    UserParameters: {}", s.user_parameters);
                let _ = writeln!(out, "    {}", s.replay_command(&self.function));
            }
        }
        let result = if self.holds() {
            "every invariant holds"
        } else {
            "an invariant is BROKEN"
        };
        let _ = writeln!(out, "\nRESULT: {result}");
        // Empty lists leave trailing blanks behind.
        out.lines().map(|l| format!("{}\n", l.trim_end())).collect()
    }

    /// How the jobs ended, and how each planted cause did.
    fn outcome_rows(&self) -> Vec<Row> {
        let f = &self.figures;
        let mut rows = vec![
            Row::new("jobs run", f.jobs),
            Row::new("succeeded", f.succeeded),
            Row::new("failed", f.failed_by_type.values().sum::<u32>())
                .aside(listed(&f.failed_by_type, " ")),
            Row::share(
                "jobs without a planted cause that succeeded",
                f.unplanted_succeeded,
                f.unplanted_jobs,
            ),
            Row::share("planted causes matched", f.planted_matched, f.planted_jobs),
        ];
        for (cause, c) in &f.planted {
            let seen = listed(&c.outcomes, " x");
            rows.push(Row::text(format!(
                "  {cause:<28} {}/{}: {seen}",
                c.matched, c.jobs
            )));
        }
        rows
    }

    /// The faults and failures the run went through.
    fn chaos_rows(&self) -> Vec<Row> {
        let f = &self.figures;
        let c = &f.counters;
        vec![
            Row::new("CodePipeline jobs", c.codepipeline_jobs)
                .aside(format!("({} continuations)", f.continuations)),
            Row::new("invocations", c.invocations).aside(format!(
                "({} cold starts, {} function errors)",
                c.cold_starts, c.function_errors
            )),
            Row::new("killed at the deadline", c.deadline_kills),
            Row::new("killed before the deadline (injected)", c.injected_kills),
            Row::new("crashed", c.crashes),
            Row::new(
                "errors returned to Lambda",
                c.error_posts.values().sum::<u32>(),
            )
            .aside(listed(&c.error_posts, " ")),
            Row::new("duplicate deliveries", c.duplicate_deliveries),
            Row::new(
                "PutJob refused (InvalidJobStateException)",
                c.results_refused,
            ),
            Row::new("CloudFront calls", c.cloudfront_calls).aside(format!(
                "({} faulted, {})",
                c.cloudfront_faulted,
                percent(c.cloudfront_faulted, c.cloudfront_calls)
            )),
            Row::new(
                "transient CloudFront failures",
                f.cloudfront_transient_without_outage,
            )
            .aside(format!(
                "of {} calls in jobs without a planted outage ({}): 503, Throttling, dropped connections",
                f.cloudfront_calls_without_outage,
                percent(
                    f.cloudfront_transient_without_outage,
                    f.cloudfront_calls_without_outage
                )
            )),
            Row::new("CodePipeline calls", c.codepipeline_calls).aside(format!(
                "({} faulted, {})",
                c.codepipeline_faulted,
                percent(c.codepipeline_faulted, c.codepipeline_calls)
            )),
            Row::new("faults injected", c.faults_by_kind.values().sum::<u32>())
                .aside(listed(&c.faults_by_kind, " ")),
            Row::new(
                "CodePipeline ThrottlingException",
                c.codepipeline_throttled,
            )
            .aside(format!(
                "({} jobs throttled at random, {} with a burst on the final report, longest burst {})",
                f.throttled_jobs,
                f.final_report_burst_jobs,
                c.longest_final_report_throttle_burst
            )),
            Row::new("CreateInvalidation calls", c.create_calls).aside(format!(
                "({} processed by CloudFront -> {} invalidations)",
                c.creates_processed, c.invalidations
            )),
            Row::new(
                "reused CallerReference",
                c.caller_references_returned
                    + c.caller_references_refused_strict
                    + c.caller_references_refused_other_paths,
            )
            .aside(format!(
                "({} existing returned, {} refused in strict mode in {} of {} strict jobs, {} refused for other paths)",
                c.caller_references_returned,
                c.caller_references_refused_strict,
                f.strict_jobs_with_a_refusal,
                f.strict_caller_reference_jobs,
                c.caller_references_refused_other_paths
            )),
            Row::new("jobs by function log level", "").aside(listed(&f.log_levels, " ")),
            Row::new(
                "job wall time",
                format!(
                    "p50 {}, p95 {}, max {}",
                    seconds(f.job_ms_p50),
                    seconds(f.job_ms_p95),
                    seconds(f.job_ms_max)
                ),
            ),
        ]
    }
}

/// One line of a table: a label, a value right-aligned in the value column (a longer value
/// starts where the column does), and what follows the value.
struct Row {
    label: String,
    value: String,
    after: String,
}

impl Row {
    fn new(label: impl Into<String>, value: impl std::fmt::Display) -> Self {
        Self {
            label: label.into(),
            value: value.to_string(),
            after: String::new(),
        }
    }

    /// A line of its own, outside the columns.
    fn text(line: String) -> Self {
        Self::new(line, "")
    }

    /// A remark after the value: `   (12 faulted, 3.0 %)`.
    fn aside(mut self, remark: String) -> Self {
        self.after = format!("   {remark}");
        self
    }

    /// `part` followed by its share of `whole`: `30 of 30 (100.0 %)`.
    fn share(label: &str, part: u32, whole: u32) -> Self {
        let mut row = Self::new(label, part);
        row.after = format!(" of {whole} ({})", percent(part, whole));
        row
    }
}

/// A blank line, `title`, then each row with its label in a column `width` wide and its value
/// right-aligned in the six after it.
fn write_section(out: &mut String, title: &str, width: usize, rows: &[Row]) {
    let _ = writeln!(out);
    let _ = writeln!(out, "{title}");
    for row in rows {
        let _ = writeln!(out, "  {:<width$}{:>6}{}", row.label, row.value, row.after);
    }
}

/// `part` as a percentage of `whole` (`-` of nothing).
fn percent(part: u32, whole: u32) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{:.1} %", f64::from(part) * 100.0 / f64::from(whole))
    }
}

fn seconds(ms: u64) -> String {
    format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::{InvalidationInfo, InvalidationStatus};
    use crate::codepipeline::JobRecord;
    use crate::log::RequestRecord;
    use crate::pipeline::{Counts, Failure};

    /// The first job of a default run without a planted cause, with one target.
    fn scenario() -> Scenario {
        let config = ChaosConfig::new("f");
        let mut s = (1..=50)
            .map(|i| Scenario::draw(&config, i))
            .find(|s| s.cause == Cause::None)
            .unwrap_or_else(|| panic!("no unplanted job in 50"));
        s.targets = vec!["EDIST".to_string()];
        s.timeout_minutes = 2;
        s.budget_ms = 180_000;
        s
    }

    fn call(operation: &str, fault: Option<FaultKind>, status: u16) -> RequestRecord {
        RequestRecord {
            seq: 0,
            at_ms: 0,
            duration_ms: 0,
            api: if operation.starts_with("PutJob") {
                Api::CodePipeline
            } else {
                Api::CloudFront
            },
            operation: operation.to_string(),
            request_id: "r".to_string(),
            distribution_id: Some("EDIST".to_string()),
            distribution_tenant_id: None,
            invalidation_id: None,
            job_id: None,
            lambda_request_id: None,
            status: Some(status),
            error_code: None,
            fault,
            detail: None,
            caller_reference_reuse: None,
            body_bytes: None,
        }
    }

    /// A failed action whose one invalidation completes at `completes_at_ms`.
    fn failed_run(completes_at_ms: u64, requests: Vec<RequestRecord>) -> PipelineReport {
        PipelineReport {
            verdict: Verdict::Failed,
            failure: Some(Failure {
                cause: FailureCause::Reported,
                failure_type: Some("JobFailed".to_string()),
                message: "gave up".to_string(),
                external_execution_id: None,
                unresolved_variables: Vec::new(),
            }),
            summary: None,
            external_execution_id: None,
            output_variables: BTreeMap::new(),
            jobs: vec![JobRecord {
                number: 1,
                job_id: "11111111-abcd-1111-abcd-111111abcdef".to_string(),
                created_ms: 0,
                continuation_token: None,
                result: Some(JobResult::Failed {
                    failure_type: "JobFailed".to_string(),
                    message: "gave up".to_string(),
                    external_execution_id: None,
                }),
                result_ms: Some(completes_at_ms + 1),
                results_accepted: 1,
                results_refused: 0,
            }],
            invocations: Vec::new(),
            requests,
            invalidations: vec![InvalidationInfo {
                id: "I1".to_string(),
                distribution_id: "EDIST".to_string(),
                distribution_tenant_id: None,
                status: InvalidationStatus::Completed,
                create_time: String::new(),
                created_ms: 10,
                completes_at_ms,
                paths: vec!["/a".to_string()],
                caller_reference: "r".to_string(),
            }],
            init_errors: Vec::new(),
            function_output: Vec::new(),
            counts: Counts {
                jobs: 1,
                invalidations: 1,
                ..Counts::default()
            },
            events: Vec::new(),
            seed: 1,
            endpoint: String::new(),
            pipeline_execution_id: "0f7c8a42-1d2e-4b5f-9a6c-3e4d5f6a7b8c".to_string(),
            action_execution_id: None,
            user_parameters: String::new(),
            started_ms: 0,
            duration_ms: completes_at_ms + 1,
            artifacts: Vec::new(),
            deploys: Vec::new(),
            views: Vec::new(),
            function_peak_rss_kib: None,
        }
    }

    #[test]
    fn a_failure_after_an_invalidation_completed_in_time_breaks_the_invariant() {
        // GIVEN a job with nothing planted whose invalidation completed after 2 s of 2 min
        let job = ChaosJob::evaluate(scenario(), &failed_run(2_000, Vec::new()));
        // THEN its failure is a violation, counted in the run
        assert!(job.completed_in_time);
        assert!(job.failed_although_completed_in_time());
        assert!(
            job.violations
                .iter()
                .any(|v| v.contains("completed before the job's timeout")),
            "{:?}",
            job.violations
        );
        let report = ChaosReport::new(&ChaosConfig::new("f"), vec![job], Duration::ZERO);
        let invariant = report
            .invariants
            .iter()
            .find(|i| i.name.contains("completed in time"))
            .unwrap_or_else(|| panic!("no such invariant: {:?}", report.invariants));
        assert_eq!(invariant.value, 1);
        assert!(!report.holds());
    }

    #[test]
    fn a_failure_after_the_timeout_is_not_counted_by_that_invariant() {
        // The invalidation completes after 3 min, past the 2 minutes of timeoutMinutes.
        let job = ChaosJob::evaluate(scenario(), &failed_run(180_000, Vec::new()));
        assert!(!job.completed_in_time);
        assert!(!job.failed_although_completed_in_time());
        // A planted cause expects its failure.
        let mut planted = scenario();
        planted.cause = Cause::DeniedDistribution;
        let job = ChaosJob::evaluate(planted, &failed_run(2_000, Vec::new()));
        assert!(!job.failed_although_completed_in_time());
    }

    #[test]
    fn the_run_sums_the_jobs_counters_and_keeps_the_longest_burst() {
        let job = |calls: u32, burst: u32, fault: &str| Counters {
            cloudfront_calls: calls,
            longest_final_report_throttle_burst: burst,
            faults_by_kind: BTreeMap::from([(fault.to_string(), 1)]),
            ..Counters::default()
        };
        let total: Counters = [job(2, 3, "a"), job(5, 1, "a"), job(1, 2, "b")]
            .iter()
            .sum();
        assert_eq!(total.cloudfront_calls, 8);
        assert_eq!(total.longest_final_report_throttle_burst, 3);
        let faults = BTreeMap::from([("a".to_string(), 2), ("b".to_string(), 1)]);
        assert_eq!(total.faults_by_kind, faults);
    }

    #[test]
    fn throttle_bursts_and_reused_references_are_counted() {
        let mut requests = vec![
            call("CreateInvalidation", None, 201),
            call("CreateInvalidation", None, 400),
            call("PutJobSuccessResult", Some(FaultKind::Throttle), 400),
            call("PutJobSuccessResult", None, 200),
            call("PutJobSuccessResult", Some(FaultKind::ThrottleFinal), 400),
            call("PutJobSuccessResult", Some(FaultKind::ThrottleFinal), 400),
            call("PutJobSuccessResult", Some(FaultKind::ThrottleFinal), 400),
            call("PutJobSuccessResult", None, 200),
        ];
        requests[1].caller_reference_reuse = Some(CallerReferenceReuse::RefusedStrict);
        let mut s = scenario();
        s.strict_caller_reference = true;
        s.faults = "codepipeline.throttle=0.15,codepipeline.throttle-final=3".to_string();
        let job = ChaosJob::evaluate(s, &failed_run(2_000, requests));
        assert_eq!(job.counters.codepipeline_throttled, 4);
        assert_eq!(job.counters.longest_final_report_throttle_burst, 3);
        assert_eq!(job.counters.caller_references_refused_strict, 1);
        assert_eq!(job.counters.create_calls, 2);
        let report = ChaosReport::new(&ChaosConfig::new("f"), vec![job], Duration::ZERO);
        let f = &report.figures;
        assert_eq!(
            (
                f.throttled_jobs,
                f.final_report_burst_jobs,
                f.strict_caller_reference_jobs,
                f.strict_jobs_with_a_refusal
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(
            f.counters.faults_by_kind.get("codepipeline.throttle-final"),
            Some(&3)
        );
        let table = report.render();
        assert!(
            table.contains("CodePipeline ThrottlingException                4"),
            "{table}"
        );
        assert!(table.contains("longest burst 3"), "{table}");
        assert!(
            table.contains("1 refused in strict mode in 1 of 1 strict jobs"),
            "{table}"
        );
    }
}
