//! The CodePipeline job event in, one engine invocation, exactly one PutJob result out.

use serde_json::{Value, json};
use tracing::{Instrument, error, info, info_span, warn};

use aws_lambda_events::event::codepipeline_job::CodePipelineJobEvent;

use crate::engine::{EngineSettings, Invocation, JobOutcome, run_invocation, truncate};
use crate::ports::{
    Clock, FailureType, Invalidations, JobFailure, JobReport, Millis, ReportError, ReportErrorKind,
};

/// The parts of the job event the action uses. The event's `artifactCredentials` are deliberately not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEvent {
    pub job_id: String,
    pub account_id: Option<String>,
    pub user_parameters: Option<String>,
    pub continuation_token: Option<String>,
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
    let job_id = payload
        .get("CodePipeline.job")
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
    Ok(JobEvent {
        job_id,
        account_id: job.account_id,
        user_parameters: job.data.action_configuration.configuration.user_parameters,
        continuation_token: job.data.continuation_token,
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

/// The Lambda function: clients built once, one call of `handle` per invocation.
pub struct Handler<I, R, C> {
    pub cloudfront: I,
    pub report: R,
    pub clock: C,
    pub settings: EngineSettings,
}

impl<I: Invalidations, R: JobReport, C: Clock> Handler<I, R, C> {
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
                return self.report(&job_id, &outcome).instrument(span).await;
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
                },
                &self.cloudfront,
                &self.clock,
                &self.settings,
            )
            .await;
            self.report(&event.job_id, &outcome).await
        }
        .instrument(span)
        .await
    }

    async fn report(&self, job_id: &str, outcome: &JobOutcome) -> Result<Value, HandlerError> {
        let (verdict, sent) = match outcome {
            JobOutcome::Succeeded(success) => {
                info!(summary = %success.details.summary, "reporting success");
                ("succeeded", self.report.succeed(job_id, success).await)
            }
            JobOutcome::StillRunning { token, details } => {
                info!(summary = %details.summary, token_len = token.len(), "reporting still in progress; CodePipeline will invoke again");
                (
                    "continuing",
                    self.report.keep_going(job_id, token, details).await,
                )
            }
            JobOutcome::Failed(failure) => {
                warn!(failure_type = %failure.kind, message = %failure.message, "reporting failure");
                ("failed", self.report.fail(job_id, failure).await)
            }
        };
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
            Err(error)
                if error.kind == ReportErrorKind::Rejected
                    && !matches!(outcome, JobOutcome::Failed(_)) =>
            {
                // CodePipeline refused the success report itself: fail the job visibly rather than leave it hanging.
                error!(error = %error, "CodePipeline refused the result; reporting a failure instead");
                let failure = JobFailure {
                    kind: FailureType::JobFailed,
                    message: truncate(
                        &format!("CodePipeline refused this action's result: {error}"),
                        crate::engine::MAX_FAILURE_MESSAGE_LEN,
                    ),
                    external_execution_id: None,
                };
                self.report
                    .fail(job_id, &failure)
                    .await
                    .map(|()| json!({ "jobId": job_id, "verdict": "failed" }))
                    .map_err(|source| HandlerError::Report {
                        job_id: job_id.to_owned(),
                        source,
                    })
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
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fakes::{FakeClock, FakeCloudFront, FakeReport, Reported, T0};

    fn handler(
        report: FakeReport,
    ) -> (
        Handler<FakeCloudFront, FakeReport, FakeClock>,
        FakeCloudFront,
    ) {
        let clock = FakeClock::new();
        let cloudfront =
            FakeCloudFront::new(&clock).with_distribution("E2QWRUHAPOMQZL", Duration::from_secs(5));
        let handler = Handler {
            cloudfront: cloudfront.clone(),
            report,
            clock,
            settings: EngineSettings::default(),
        };
        (handler, cloudfront)
    }

    fn event(job_id: &str) -> Value {
        json!({"CodePipeline.job": {"id": job_id, "accountId": "111111111111", "data": {
            "actionConfiguration": {"configuration": {"FunctionName": "f", "UserParameters": "E2QWRUHAPOMQZL /index.html"}},
            "inputArtifacts": [], "outputArtifacts": [],
            "artifactCredentials": {"accessKeyId": "A", "secretAccessKey": "S", "sessionToken": "T"}
        }}})
    }

    #[tokio::test]
    async fn a_duplicate_delivery_reports_once_and_creates_once() {
        let report = FakeReport::default();
        let (handler, cloudfront) = handler(report.clone());
        let job = "11111111-2222-3333-4444-555555555555";
        let first = handler
            .handle(event(job), Some(T0 + 900_000))
            .await
            .expect("handled");
        let second = handler
            .handle(event(job), Some(T0 + 900_000))
            .await
            .expect("handled");
        assert_eq!(first["verdict"], "succeeded");
        assert_eq!(second["verdict"], "already-reported");
        assert_eq!(report.reports().len(), 1);
        assert_eq!(cloudfront.invalidations("E2QWRUHAPOMQZL").len(), 1);
    }

    #[tokio::test]
    async fn a_refused_success_report_becomes_a_failure_report() {
        let report = FakeReport::default();
        report.fail_next(&[ReportErrorKind::Rejected]);
        let (handler, _) = handler(report.clone());
        let answer = handler
            .handle(
                event("11111111-2222-3333-4444-555555555555"),
                Some(T0 + 900_000),
            )
            .await
            .expect("handled");
        assert_eq!(answer["verdict"], "failed");
        let reports = report.reports();
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
    async fn an_unavailable_codepipeline_makes_lambda_retry() {
        let report = FakeReport::default();
        report.fail_next(&[ReportErrorKind::Unavailable]);
        let (handler, _) = handler(report.clone());
        let error = handler
            .handle(
                event("11111111-2222-3333-4444-555555555555"),
                Some(T0 + 900_000),
            )
            .await
            .expect_err("not reported");
        assert!(matches!(error, HandlerError::Report { .. }));
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "CfInvalidate.ReportError");
    }
}
