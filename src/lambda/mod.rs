//! The CodePipeline job event in, one engine invocation, exactly one PutJob result out.

use serde_json::{Value, json};
use tracing::{Instrument, error, info, info_span, warn};

use aws_lambda_events::event::codepipeline_job::CodePipelineJobEvent;

use std::time::Duration;

mod outcome;

pub use outcome::{
    Invocation, JobOutcome, MAX_EXTERNAL_ID_LEN, MAX_FAILURE_MESSAGE_LEN, MAX_SUMMARY_LEN, outcome,
    run_invocation,
};

use crate::artifact::job::{ArtifactCredentials, Artifacts, EncryptionKey, JobInputs};
use crate::artifact::previous::ArtifactLocation;
use crate::engine::{Engine, EngineSettings};
use crate::ports::{
    Clock, FailureType, Invalidations, JobFailure, JobReport, Millis, ReportError, ReportErrorKind,
};
use crate::text::truncate;

/// The parts of the job event the action uses. The `artifactCredentials` are kept only to read
/// the input artifact for `pathsFromArtifact`; their `Debug` shows nothing of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEvent {
    pub job_id: String,
    pub account_id: Option<String>,
    pub user_parameters: Option<String>,
    pub continuation_token: Option<String>,
    /// The input artifacts, their credentials and KMS key, for `pathsFromArtifact`.
    pub inputs: JobInputs,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error(
        "the event is not a CodePipeline job event: it has no \"CodePipeline.job\".\"id\", so no result can be reported"
    )]
    NoJobId,
    #[error("the CodePipeline job event does not have the expected shape ({what})")]
    Malformed { job_id: String, what: String },
}

/// Reads the job event. Only field names go into error messages: values may be secrets.
pub fn read_job_event(payload: &Value) -> Result<JobEvent, EventError> {
    let raw_job = payload.get("CodePipeline.job");
    let job_id = raw_job
        .and_then(|job| job.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or(EventError::NoJobId)?
        .to_owned();
    let event: CodePipelineJobEvent =
        serde_json::from_value(payload.clone()).map_err(|error| EventError::Malformed {
            job_id: job_id.clone(),
            // serde's message can quote a value, and values may be credentials: keep only where it broke.
            what: format!("line {} column {}", error.line(), error.column()),
        })?;
    let job = event.code_pipeline_job;
    let artifacts = job
        .data
        .input_artifacts
        .into_iter()
        .filter_map(|artifact| {
            let location = artifact.location.s3_location;
            Some(ArtifactLocation {
                name: artifact.name?,
                bucket: location.bucket_name?,
                key: location.object_key?,
            })
        })
        .collect();
    let credentials = job.data.artifact_credentials;
    let credentials = match (credentials.access_key_id, credentials.secret_access_key) {
        (Some(access_key_id), Some(secret_access_key)) => Some(ArtifactCredentials {
            access_key_id,
            secret_access_key,
            session_token: credentials.session_token,
        }),
        _ => None,
    };
    // Not in aws_lambda_events' type: read from the event itself.
    let encryption_key = raw_job
        .and_then(|job| job.get("data"))
        .and_then(|data| data.get("encryptionKey"))
        .and_then(|key| {
            Some(EncryptionKey {
                id: key.get("id")?.as_str()?.to_owned(),
                kind: key
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("KMS")
                    .to_owned(),
            })
        });
    Ok(JobEvent {
        job_id,
        account_id: job.account_id,
        user_parameters: job.data.action_configuration.configuration.user_parameters,
        continuation_token: job.data.continuation_token,
        inputs: JobInputs {
            artifacts,
            credentials,
            encryption_key,
        },
    })
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(EventError),
    #[error("could not report the result of job {job_id} to CodePipeline: {source}")]
    Report {
        job_id: String,
        #[source]
        source: ReportError,
    },
}

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

/// The Lambda function: clients built once, one call of `handle` per invocation.
pub struct Handler<I, R, A, C> {
    pub engine: Engine<I, C>,
    pub report: R,
    /// The pipeline's history and artifact bucket, for `pathsFromArtifact`.
    pub artifacts: A,
    pub reporting: ReportRetry,
}

impl<I, R, A, C> Handler<I, R, A, C> {
    pub fn new(cloudfront: I, report: R, artifacts: A, clock: C, settings: EngineSettings) -> Self {
        Self {
            engine: Engine {
                cloudfront,
                clock,
                settings,
            },
            report,
            artifacts,
            reporting: ReportRetry::default(),
        }
    }
}

impl<I: Invalidations, R: JobReport, A: Artifacts, C: Clock> Handler<I, R, A, C> {
    /// Handles one event; errs only when no result could be reported at all, so that Lambda retries.
    pub async fn handle(
        &self,
        payload: Value,
        deadline: Option<Millis>,
    ) -> Result<Value, HandlerError> {
        let event = match read_job_event(&payload) {
            Ok(event) => event,
            Err(EventError::NoJobId) => {
                error!("{}", EventError::NoJobId);
                return Err(HandlerError::Event(EventError::NoJobId));
            }
            Err(EventError::Malformed { job_id, what }) => {
                let failure = JobFailure {
                    kind: FailureType::ConfigurationError,
                    message: format!(
                        "the CodePipeline job event does not have the expected shape ({what}); is this function invoked by a CodePipeline Lambda invoke action?"
                    ),
                    external_execution_id: None,
                };
                let outcome = JobOutcome::Failed(failure);
                let span = info_span!("job", job_id = %job_id);
                return self
                    .report(&job_id, &outcome, deadline)
                    .instrument(span)
                    .await;
            }
        };
        drop(payload);
        let span = info_span!("job", job_id = %event.job_id);
        async {
            info!(
                continuation = event.continuation_token.is_some(),
                deadline_ms = deadline,
                "job started"
            );
            let outcome = run_invocation(
                Invocation {
                    job_id: &event.job_id,
                    account_id: event.account_id.as_deref(),
                    user_parameters: event.user_parameters.as_deref(),
                    continuation_token: event.continuation_token.as_deref(),
                    deadline,
                    inputs: &event.inputs,
                },
                &self.engine,
                &self.artifacts,
            )
            .await;
            self.report(&event.job_id, &outcome, deadline).await
        }
        .instrument(span)
        .await
    }

    /// Reports `outcome`, the one result of this invocation. A result that cannot get through
    /// for now is never swapped for another: the invocation fails, Lambda runs it again, and the
    /// retry finds the same invalidation (same CallerReference) and reports the same verdict.
    async fn report(
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
                let failure = JobOutcome::Failed(JobFailure {
                    kind: FailureType::JobFailed,
                    message: truncate(
                        &format!("CodePipeline refused this action's result: {error}"),
                        MAX_FAILURE_MESSAGE_LEN,
                    ),
                    external_execution_id: None,
                });
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
        let retry = &self.reporting;
        let give_up_at = match deadline {
            Some(deadline) => deadline.saturating_sub(millis(retry.stop_before_deadline)),
            None => self
                .engine
                .clock
                .now()
                .saturating_add(millis(retry.budget_without_deadline)),
        };
        let mut failures = 0u32;
        loop {
            let left = Duration::from_millis(give_up_at.saturating_sub(self.engine.clock.now()));
            // Even with no time left the result gets one short try: it may still get through.
            let limit = left.clamp(Duration::from_millis(200), retry.max_call);
            let sent = match self
                .engine
                .clock
                .within(limit, self.send(job_id, outcome))
                .await
            {
                Some(sent) => sent,
                None => Err(ReportError {
                    kind: ReportErrorKind::Unavailable,
                    message: format!(
                        "{} got no answer from CodePipeline within {}",
                        operation(outcome),
                        // Exact: the limit is often under a second, which people's
                        // wording would round to 0s.
                        crate::duration::format_exact(limit)
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
            let now = self.engine.clock.now();
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
            self.engine.clock.sleep(gap).await;
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

fn millis(duration: Duration) -> Millis {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Event(_) => "CfInvalidate.EventError",
            HandlerError::Report { .. } => "CfInvalidate.ReportError",
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod scenarios;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::{FakeArtifacts, FakeClock, FakeCloudFront, FakeReport, Reported, T0};

    const JOB: &str = "11111111-2222-3333-4444-555555555555";
    const DIST: &str = "E2QWRUHAPOMQZL";

    struct Rig {
        handler: Handler<FakeCloudFront, FakeReport, FakeArtifacts, FakeClock>,
        cloudfront: FakeCloudFront,
        report: FakeReport,
        clock: FakeClock,
    }

    /// A distribution whose invalidations complete after `completes_after` seconds.
    fn rig(completes_after: u64) -> Rig {
        let clock = FakeClock::new();
        let cloudfront = FakeCloudFront::new(&clock)
            .with_distribution(DIST, Duration::from_secs(completes_after));
        let report = FakeReport::with_clock(&clock);
        let handler = Handler::new(
            cloudfront.clone(),
            report.clone(),
            FakeArtifacts::default(),
            clock.clone(),
            EngineSettings::default(),
        );
        Rig {
            handler,
            cloudfront,
            report,
            clock,
        }
    }

    fn event(job_id: &str) -> Value {
        event_with_token(job_id, None)
    }

    fn event_with_token(job_id: &str, token: Option<&str>) -> Value {
        let mut data = json!({
            "actionConfiguration": {"configuration": {"FunctionName": "f", "UserParameters": "E2QWRUHAPOMQZL /index.html"}},
            "inputArtifacts": [], "outputArtifacts": [],
            "artifactCredentials": {"accessKeyId": "A", "secretAccessKey": "S", "sessionToken": "T"}
        });
        if let Some(token) = token {
            data["continuationToken"] = json!(token);
        }
        json!({"CodePipeline.job": {"id": job_id, "accountId": "111111111111", "data": data}})
    }

    impl Rig {
        /// One invocation with `timeout` seconds to run, as Lambda would give it.
        async fn invoke(&self, event: Value, timeout: u64) -> Result<Value, HandlerError> {
            let deadline = self.clock.now() + timeout * 1000;
            let answer = self.handler.handle(event, Some(deadline)).await;
            assert!(
                self.clock.now() <= deadline,
                "the invocation ran {} ms past its deadline",
                self.clock.now() - deadline
            );
            answer
        }
    }

    fn throttled(count: usize) -> Vec<ReportErrorKind> {
        vec![ReportErrorKind::Unavailable; count]
    }

    fn no_failure_reported(report: &FakeReport) {
        let reports = report.reports();
        assert!(
            !reports
                .iter()
                .any(|r| matches!(r, Reported::Failure { .. })),
            "a failure was reported: {reports:?}"
        );
    }

    #[tokio::test]
    async fn a_duplicate_delivery_reports_once_and_creates_once() {
        let rig = rig(5);
        let first = rig.invoke(event(JOB), 900).await.expect("handled");
        let second = rig.invoke(event(JOB), 900).await.expect("handled");
        assert_eq!(first["verdict"], "succeeded");
        assert_eq!(second["verdict"], "already-reported");
        assert_eq!(rig.report.reports().len(), 1);
        assert_eq!(rig.cloudfront.invalidations(DIST).len(), 1);
    }

    #[tokio::test]
    async fn a_throttled_success_report_is_sent_again_until_accepted() {
        let rig = rig(5);
        rig.report.fail_next(&throttled(3));
        let answer = rig.invoke(event(JOB), 900).await.expect("handled");
        assert_eq!(answer["verdict"], "succeeded");
        let reports = rig.report.reports();
        assert!(
            matches!(reports.as_slice(), [Reported::Success { .. }]),
            "{reports:?}"
        );
        assert_eq!(rig.report.calls(), 4);
    }

    #[tokio::test]
    async fn a_report_throttled_until_the_deadline_fails_the_invocation_and_the_retry_reports_the_same_verdict()
     {
        let rig = rig(5);
        rig.report.fail_next(&throttled(10_000));
        let error = rig.invoke(event(JOB), 30).await.expect_err("not reported");
        assert!(matches!(error, HandlerError::Report { .. }), "{error}");
        assert!(rig.report.calls() > 3, "tried {} times", rig.report.calls());
        assert!(
            rig.report.reports().is_empty(),
            "{:?}",
            rig.report.reports()
        );
        let created = rig.cloudfront.invalidations(DIST);
        assert_eq!(created.len(), 1);

        // Lambda's asynchronous retry: the same event, a minute later, CodePipeline answering again.
        rig.report.clear_errors();
        rig.clock.advance(Duration::from_secs(60));
        let answer = rig.invoke(event(JOB), 30).await.expect("handled");
        assert_eq!(answer["verdict"], "succeeded");
        let reports = rig.report.reports();
        let [Reported::Success { success, .. }] = reports.as_slice() else {
            panic!("expected one success, got {reports:?}");
        };
        assert_eq!(
            success.output_variables["InvalidationId"], created[0].id,
            "the retry must report the invalidation the first attempt created"
        );
        assert_eq!(rig.cloudfront.invalidations(DIST).len(), 1);
    }

    #[tokio::test]
    async fn a_throttled_continuation_report_is_sent_again_until_accepted() {
        let rig = rig(600);
        rig.report.fail_next(&throttled(3));
        let answer = rig.invoke(event(JOB), 20).await.expect("handled");
        assert_eq!(answer["verdict"], "continuing");
        let reports = rig.report.reports();
        assert!(
            matches!(reports.as_slice(), [Reported::KeepGoing { .. }]),
            "{reports:?}"
        );
        assert_eq!(rig.report.calls(), 4);
    }

    #[tokio::test]
    async fn a_continuation_report_throttled_until_the_deadline_is_retried_with_the_same_event() {
        let rig = rig(600);
        let first = rig.invoke(event(JOB), 20).await.expect("handled");
        assert_eq!(first["verdict"], "continuing");
        let Some(Reported::KeepGoing { token, .. }) = rig.report.reports().pop() else {
            panic!("expected a continuation");
        };
        let next_job = "22222222-2222-3333-4444-555555555555";
        rig.report.fail_next(&throttled(10_000));
        let error = rig
            .invoke(event_with_token(next_job, Some(&token)), 20)
            .await
            .expect_err("not reported");
        assert!(matches!(error, HandlerError::Report { .. }), "{error}");
        no_failure_reported(&rig.report);
        assert_eq!(rig.report.reports().len(), 1);

        rig.report.clear_errors();
        rig.clock.advance(Duration::from_secs(60));
        let answer = rig
            .invoke(event_with_token(next_job, Some(&token)), 20)
            .await
            .expect("handled");
        assert_eq!(answer["verdict"], "continuing");
        let reports = rig.report.reports();
        assert!(
            matches!(&reports[1], Reported::KeepGoing { job_id, .. } if job_id == next_job),
            "{reports:?}"
        );
        assert_eq!(rig.cloudfront.creates().len(), 1, "no second create");
        assert_eq!(rig.cloudfront.invalidations(DIST).len(), 1);
    }

    #[tokio::test]
    async fn a_report_call_that_hangs_is_cut_and_sent_again() {
        let rig = rig(5);
        rig.report.delay_next(&[Duration::from_secs(3600)]);
        let started = rig.clock.now();
        let answer = rig.invoke(event(JOB), 900).await.expect("handled");
        assert_eq!(answer["verdict"], "succeeded");
        assert_eq!(rig.report.calls(), 2);
        assert_eq!(rig.report.reports().len(), 1);
        // Cut after ReportRetry::max_call (10 s), then a short pause; not an hour.
        let took = rig.clock.now() - started;
        assert!((15_000..20_000).contains(&took), "took {took} ms");
    }

    #[tokio::test]
    async fn a_report_that_hangs_until_the_deadline_ends_the_invocation_in_time() {
        let rig = rig(5);
        rig.report.delay_next(&[Duration::from_secs(3600); 100]);
        let error = rig.invoke(event(JOB), 30).await.expect_err("not reported");
        assert!(error.to_string().contains("no answer"), "{error}");
        assert!(rig.report.reports().is_empty());
    }

    #[tokio::test]
    async fn a_refused_success_report_becomes_a_failure_report() {
        let rig = rig(5);
        rig.report.fail_next(&[ReportErrorKind::Rejected]);
        let answer = rig.invoke(event(JOB), 900).await.expect("handled");
        assert_eq!(answer["verdict"], "failed");
        let reports = rig.report.reports();
        let [Reported::Failure { failure, .. }] = reports.as_slice() else {
            panic!("expected one failure report, got {reports:?}");
        };
        assert_eq!(failure.kind, FailureType::JobFailed);
        assert!(
            failure.message.contains("CodePipeline refused"),
            "{}",
            failure.message
        );
    }

    #[tokio::test]
    async fn an_unknown_job_ends_the_invocation_without_another_report() {
        let rig = rig(5);
        rig.report.fail_next(&[ReportErrorKind::JobNotFound]);
        let answer = rig.invoke(event(JOB), 900).await.expect("handled");
        assert_eq!(answer["verdict"], "job-not-found");
        assert_eq!(rig.report.calls(), 1, "a closed job gets no failure report");
    }

    #[tokio::test]
    async fn a_refused_call_is_an_error_for_lambda_without_a_failure_report() {
        let rig = rig(5);
        rig.report.fail_next(&[ReportErrorKind::Refused]);
        let error = rig.invoke(event(JOB), 900).await.expect_err("refused");
        assert_eq!(rig.report.calls(), 1);
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "CfInvalidate.ReportError");
    }

    #[tokio::test]
    async fn an_unreachable_codepipeline_makes_lambda_retry() {
        let rig = rig(5);
        rig.report.fail_next(&throttled(10_000));
        let error = rig.invoke(event(JOB), 60).await.expect_err("not reported");
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "CfInvalidate.ReportError");
        assert!(rig.clock.now() <= T0 + 60_000);
    }

    #[test]
    fn report_gaps_double_up_to_the_cap() {
        let retry = ReportRetry::default();
        let gaps: Vec<u128> = (1..=7).map(|n| retry.gap(n).as_millis()).collect();
        assert_eq!(gaps, vec![250, 500, 1000, 2000, 4000, 4000, 4000]);
    }
}
