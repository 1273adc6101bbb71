//! The CodePipeline Lambda invoke action, one way through: the job event in (`event`), one
//! invocation of the engine (`invocation`), its verdict in CodePipeline's words (`outcome`), and
//! exactly one PutJob result delivered (`delivery`). `Handler` strings them together.

use serde_json::Value;
use tracing::{Instrument, error, info, info_span};

mod delivery;
mod event;
mod invocation;
mod outcome;

pub use delivery::ReportRetry;
pub use event::{EventError, JobEvent, read_job_event};
pub use invocation::{Invocation, run_invocation};
pub use outcome::{
    JobOutcome, MAX_EXTERNAL_ID_LEN, MAX_FAILURE_MESSAGE_LEN, MAX_SUMMARY_LEN, outcome,
};

use crate::artifact::job::Artifacts;
use crate::engine::{Engine, EngineSettings};
use crate::ports::{Clock, FailureType, Invalidations, JobReport, Millis, ReportError};

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

/// The Lambda function: clients built once, one call of `handle` per invocation.
pub struct Handler<I, R, A, C> {
    pub engine: Engine<I, C>,
    pub report: R,
    /// The pipeline's history and artifact bucket, for `pathsFromArtifact`.
    pub artifacts: A,
    pub reporting: ReportRetry,
    /// GetDistribution, the edge and the site's bucket, for `verify`; `None` refuses it.
    pub site: Option<std::sync::Arc<dyn crate::verify::Site>>,
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
            site: None,
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
                let outcome = JobOutcome::failed(
                    FailureType::ConfigurationError,
                    &format!(
                        "the CodePipeline job event does not have the expected shape ({what}); is this function invoked by a CodePipeline Lambda invoke action?"
                    ),
                    None,
                );
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
                self.site.as_deref(),
            )
            .await;
            self.report(&event.job_id, &outcome, deadline).await
        }
        .instrument(span)
        .await
    }
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
    use serde_json::json;

    use crate::ports::ReportErrorKind;
    use std::time::Duration;

    use super::*;
    use crate::testing::{
        DIST, FakeArtifacts, FakeClock, FakeCloudFront, FakeReport, JOB, Reported, T0,
        assert_mentions,
    };

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

    fn event(job_id: &str, token: Option<&str>) -> Value {
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

    #[tokio::test]
    async fn a_duplicate_delivery_reports_once_and_creates_once() {
        let rig = rig(5);
        let first = rig.invoke(event(JOB, None), 900).await.expect("handled");
        let second = rig.invoke(event(JOB, None), 900).await.expect("handled");
        assert_eq!(first["verdict"], "succeeded");
        assert_eq!(second["verdict"], "already-reported");
        assert_eq!(rig.report.reports().len(), 1);
        assert_eq!(rig.cloudfront.invalidations(DIST).len(), 1);
    }

    #[tokio::test]
    async fn a_report_throttled_until_the_deadline_fails_the_invocation_and_the_retry_reports_the_same_verdict()
     {
        let rig = rig(5);
        rig.report.fail_next(&throttled(10_000));
        let error = rig
            .invoke(event(JOB, None), 30)
            .await
            .expect_err("not reported");
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
        let answer = rig.invoke(event(JOB, None), 30).await.expect("handled");
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
    async fn a_throttled_report_is_sent_again_until_accepted() {
        type Expected = fn(&Reported) -> bool;
        let success: Expected = |r| matches!(r, Reported::Success { .. });
        let continuation: Expected = |r| matches!(r, Reported::KeepGoing { .. });
        for (case, completes_after, timeout, verdict, expected) in [
            ("success", 5, 900, "succeeded", success),
            ("continuation", 600, 20, "continuing", continuation),
        ] {
            let rig = rig(completes_after);
            rig.report.fail_next(&throttled(3));
            let answer = rig.invoke(event(JOB, None), timeout).await.expect(case);
            assert_eq!(answer["verdict"], verdict, "{case}");
            let reports = rig.report.reports();
            assert!(
                matches!(reports.as_slice(), [one] if expected(one)),
                "{case}: {reports:?}"
            );
            assert_eq!(rig.report.calls(), 4, "{case}");
        }
    }

    #[tokio::test]
    async fn a_continuation_report_throttled_until_the_deadline_is_retried_with_the_same_event() {
        let rig = rig(600);
        let first = rig.invoke(event(JOB, None), 20).await.expect("handled");
        assert_eq!(first["verdict"], "continuing");
        let Some(Reported::KeepGoing { token, .. }) = rig.report.reports().pop() else {
            panic!("expected a continuation");
        };
        let next_job = "22222222-2222-3333-4444-555555555555";
        rig.report.fail_next(&throttled(10_000));
        let error = rig
            .invoke(event(next_job, Some(&token)), 20)
            .await
            .expect_err("not reported");
        assert!(matches!(error, HandlerError::Report { .. }), "{error}");
        let reports = rig.report.reports();
        assert!(
            matches!(reports.as_slice(), [Reported::KeepGoing { .. }]),
            "only the first continuation was reported: {reports:?}"
        );

        rig.report.clear_errors();
        rig.clock.advance(Duration::from_secs(60));
        let answer = rig
            .invoke(event(next_job, Some(&token)), 20)
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
        let answer = rig.invoke(event(JOB, None), 900).await.expect("handled");
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
        let error = rig
            .invoke(event(JOB, None), 30)
            .await
            .expect_err("not reported");
        assert!(error.to_string().contains("no answer"), "{error}");
        assert!(rig.report.reports().is_empty());
    }

    #[tokio::test]
    async fn a_refused_success_report_becomes_a_failure_report() {
        let rig = rig(5);
        rig.report.fail_next(&[ReportErrorKind::Rejected]);
        let answer = rig.invoke(event(JOB, None), 900).await.expect("handled");
        assert_eq!(answer["verdict"], "failed");
        let reports = rig.report.reports();
        let [Reported::Failure { failure, .. }] = reports.as_slice() else {
            panic!("expected one failure report, got {reports:?}");
        };
        assert_eq!(failure.kind, FailureType::JobFailed);
        assert_mentions(&failure.message, &["CodePipeline refused"]);
    }

    #[tokio::test]
    async fn an_unknown_job_ends_the_invocation_without_another_report() {
        let rig = rig(5);
        rig.report.fail_next(&[ReportErrorKind::JobNotFound]);
        let answer = rig.invoke(event(JOB, None), 900).await.expect("handled");
        assert_eq!(answer["verdict"], "job-not-found");
        assert_eq!(rig.report.calls(), 1, "a closed job gets no failure report");
    }

    #[tokio::test]
    async fn a_refused_call_is_an_error_for_lambda_without_a_failure_report() {
        let rig = rig(5);
        rig.report.fail_next(&[ReportErrorKind::Refused]);
        let error = rig
            .invoke(event(JOB, None), 900)
            .await
            .expect_err("refused");
        assert_eq!(rig.report.calls(), 1);
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "CfInvalidate.ReportError");
    }

    #[tokio::test]
    async fn an_unreachable_codepipeline_makes_lambda_retry() {
        let rig = rig(5);
        rig.report.fail_next(&throttled(10_000));
        let error = rig
            .invoke(event(JOB, None), 60)
            .await
            .expect_err("not reported");
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
