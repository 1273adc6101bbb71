//! The one PutJob result of an invocation, delivered: tried again while CodePipeline throttles,
//! fails or hangs, until shortly before the deadline, and never swapped for another result.

use std::time::Duration;

use serde_json::{Value, json};
use tracing::{error, info, warn};

use super::outcome::JobOutcome;
use super::{Handler, HandlerError};
use crate::artifact::job::Artifacts;
use crate::duration::format_exact;
use crate::ports::{
    Clock, FailureType, Invalidations, JobReport, Millis, ReportError, ReportErrorKind, millis,
};

/// How a result is delivered to CodePipeline when it does not get through at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRetry {
    /// No single PutJob call may take longer than this (the SDK retries inside it).
    pub max_call: Duration,
    /// The first pause after a transient failure; it doubles after each one.
    pub first_gap: Duration,
    pub max_gap: Duration,
    /// Give up this long before the Lambda deadline, so that the invocation ends with its own
    /// error (and Lambda retries it) rather than being killed.
    pub stop_before_deadline: Duration,
    /// How long to keep trying when the invocation has no deadline (outside Lambda).
    pub budget_without_deadline: Duration,
}

impl Default for ReportRetry {
    fn default() -> Self {
        Self {
            max_call: Duration::from_secs(10),
            first_gap: Duration::from_millis(250),
            max_gap: Duration::from_secs(4),
            stop_before_deadline: Duration::from_millis(500),
            budget_without_deadline: Duration::from_secs(60),
        }
    }
}

impl ReportRetry {
    /// The pause after the `failures`-th transient failure in a row.
    pub fn gap(&self, failures: u32) -> Duration {
        let doubled = self
            .first_gap
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)));
        doubled.min(self.max_gap)
    }
}

/// A result on its way to CodePipeline: the report port, the clock the pauses and time limits
/// use, and how it is tried again (`reporting`).
impl<I: Invalidations, R: JobReport, A: Artifacts, C: Clock> Handler<I, R, A, C> {
    /// Reports `outcome`, the one result of this invocation. A result that cannot get through
    /// for now is never swapped for another: the invocation fails, Lambda runs it again, and the
    /// retry finds the same invalidation (same CallerReference) and reports the same verdict.
    pub(super) async fn report(
        &self,
        job_id: &str,
        outcome: &JobOutcome,
        deadline: Option<Millis>,
    ) -> Result<Value, HandlerError> {
        let verdict = match outcome {
            JobOutcome::Succeeded(success) => {
                info!(summary = %success.details.summary, "reporting success");
                "succeeded"
            }
            JobOutcome::StillRunning { token, details } => {
                info!(summary = %details.summary, token_len = token.len(), "reporting still in progress; CodePipeline will invoke again");
                "continuing"
            }
            JobOutcome::Failed(failure) => {
                warn!(failure_type = %failure.kind, message = %failure.message, "reporting failure");
                "failed"
            }
        };
        match self.deliver(job_id, outcome, deadline).await {
            Err(error)
                if error.kind == ReportErrorKind::Rejected
                    && !matches!(outcome, JobOutcome::Failed(_)) =>
            {
                // ValidationException: CodePipeline refused what this result says, which no retry
                // changes. Fail the job visibly rather than leave it hanging for 20 minutes.
                error!(error = %error, "CodePipeline refused the result; reporting a failure instead");
                let failure = JobOutcome::failed(
                    FailureType::JobFailed,
                    &format!("CodePipeline refused this action's result: {error}"),
                    None,
                );
                let sent = self.deliver(job_id, &failure, deadline).await;
                settle(job_id, "failed", sent)
            }
            sent => settle(job_id, verdict, sent),
        }
    }

    /// Sends `outcome`, trying again after throttling, 5xx answers, broken connections and
    /// calls that hang, until shortly before the deadline.
    async fn deliver(
        &self,
        job_id: &str,
        outcome: &JobOutcome,
        deadline: Option<Millis>,
    ) -> Result<(), ReportError> {
        let (retry, clock) = (&self.reporting, &self.engine.clock);
        let give_up_at = match deadline {
            Some(deadline) => deadline.saturating_sub(millis(retry.stop_before_deadline)),
            None => clock
                .now()
                .saturating_add(millis(retry.budget_without_deadline)),
        };
        let mut failures = 0u32;
        loop {
            let left = Duration::from_millis(give_up_at.saturating_sub(clock.now()));
            // Even with no time left the result gets one short try: it may still get through.
            let limit = left.clamp(Duration::from_millis(200), retry.max_call);
            let sent = match clock.within(limit, self.send(job_id, outcome)).await {
                Some(sent) => sent,
                None => Err(ReportError {
                    kind: ReportErrorKind::Unavailable,
                    message: format!(
                        "{} got no answer from CodePipeline within {}",
                        operation(outcome),
                        // Exact: the limit is often under a second, which people's
                        // wording would round to 0s.
                        format_exact(limit)
                    ),
                    source: None,
                }),
            };
            let error = match sent {
                Err(error) if error.kind.is_transient() => error,
                other => return other,
            };
            failures += 1;
            let gap = retry.gap(failures);
            let now = clock.now();
            // Another try needs the pause and a moment for the call itself.
            if now.saturating_add(millis(gap) + 200) >= give_up_at {
                return Err(error);
            }
            warn!(
                error = %error,
                failures,
                retry_in_ms = millis(gap),
                "could not report the result yet; trying again"
            );
            clock.sleep(gap).await;
        }
    }

    async fn send(&self, job_id: &str, outcome: &JobOutcome) -> Result<(), ReportError> {
        match outcome {
            JobOutcome::Succeeded(success) => self.report.succeed(job_id, success).await,
            JobOutcome::StillRunning { token, details } => {
                self.report.keep_going(job_id, token, details).await
            }
            JobOutcome::Failed(failure) => self.report.fail(job_id, failure).await,
        }
    }
}

fn settle(
    job_id: &str,
    verdict: &'static str,
    sent: Result<(), ReportError>,
) -> Result<Value, HandlerError> {
    match sent {
        Ok(()) => {
            info!(verdict, "result reported");
            Ok(json!({ "jobId": job_id, "verdict": verdict }))
        }
        Err(error) if error.kind == ReportErrorKind::AlreadyReported => {
            // A duplicate delivery of the event, or Lambda's retry after a report that did get through.
            warn!(error = %error, "the job already has a result; nothing more to report");
            Ok(json!({ "jobId": job_id, "verdict": "already-reported" }))
        }
        Err(error) if error.kind == ReportErrorKind::JobNotFound => {
            // The pipeline stopped waiting (no reply for 20 minutes, or the execution was
            // stopped): no result can reach it, and another invocation would not change that.
            error!(error = %error, "CodePipeline no longer knows this job; its result is lost");
            Ok(json!({ "jobId": job_id, "verdict": "job-not-found" }))
        }
        Err(source) => {
            error!(error = %source, "could not report the result; Lambda will retry the invocation");
            Err(HandlerError::Report {
                job_id: job_id.to_owned(),
                source,
            })
        }
    }
}

fn operation(outcome: &JobOutcome) -> &'static str {
    match outcome {
        JobOutcome::Failed(_) => "PutJobFailureResult",
        JobOutcome::Succeeded(_) | JobOutcome::StillRunning { .. } => "PutJobSuccessResult",
    }
}
