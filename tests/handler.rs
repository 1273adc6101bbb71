//! The Lambda handler from JSON event fixtures, over the real SDK adapters with mocked responses.

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationOutput;
use aws_sdk_cloudfront::operation::get_invalidation::GetInvalidationOutput;
use aws_sdk_cloudfront::types::{Invalidation, InvalidationBatch, Paths};
use aws_sdk_codepipeline::operation::put_job_failure_result::{
    PutJobFailureResultInput, PutJobFailureResultOutput,
};
use aws_sdk_codepipeline::operation::put_job_success_result::{
    PutJobSuccessResultError, PutJobSuccessResultInput, PutJobSuccessResultOutput,
};
use aws_sdk_codepipeline::types::error::InvalidJobStateException;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use cf_invalidate::adapters::cloudfront::SdkInvalidations;
use cf_invalidate::adapters::codepipeline::SdkJobReport;
use cf_invalidate::adapters::s3::SdkArtifacts;
use cf_invalidate::engine::EngineSettings;
use cf_invalidate::lambda::{Handler, HandlerError};
use cf_invalidate::ports::Millis;
use cf_invalidate::testing::{FakeClock, T0};
use serde_json::Value;

const SECRETS: [&str; 3] = [
    "FIXTURE-SECRET-ACCESS-KEY-wJalrXUtnFEMI",
    "FIXTURE-SESSION-TOKEN-IQoJb3JpZ2luX2VjEJr",
    "ASIAFIXTUREACCESSKEY",
];

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn invalidation(id: &str, status: &str) -> Invalidation {
    Invalidation::builder()
        .id(id)
        .status(status)
        .create_time(DateTime::from_secs(1_795_000_000))
        .invalidation_batch(
            InvalidationBatch::builder()
                .caller_reference("ref")
                .paths(
                    Paths::builder()
                        .quantity(1)
                        .items("/")
                        .build()
                        .expect("paths"),
                )
                .build()
                .expect("batch"),
        )
        .build()
        .expect("invalidation")
}

/// Everything a handler test looks at afterwards.
struct Rig {
    handler: Handler<SdkInvalidations, SdkJobReport, SdkArtifacts, FakeClock>,
    create: Rule,
    get: Rule,
    successes: Arc<Mutex<Vec<PutJobSuccessResultInput>>>,
    failures: Arc<Mutex<Vec<PutJobFailureResultInput>>>,
}

fn rig(success_rule: Option<Rule>) -> Rig {
    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation).then_output(|| {
        CreateInvalidationOutput::builder()
            .invalidation(invalidation("I2J0I21PCUYOIK", "InProgress"))
            .build()
    });
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .sequence()
        .output(|| {
            GetInvalidationOutput::builder()
                .invalidation(invalidation("I2J0I21PCUYOIK", "InProgress"))
                .build()
        })
        .times(2)
        .output(|| {
            GetInvalidationOutput::builder()
                .invalidation(invalidation("I2J0I21PCUYOIK", "Completed"))
                .build()
        })
        .repeatedly()
        .build();
    let successes: Arc<Mutex<Vec<PutJobSuccessResultInput>>> = Arc::default();
    let failures: Arc<Mutex<Vec<PutJobFailureResultInput>>> = Arc::default();
    let record_success = successes.clone();
    let record_failure = failures.clone();
    let success = success_rule.unwrap_or_else(|| {
        mock!(aws_sdk_codepipeline::Client::put_job_success_result)
            .match_requests(move |req| {
                record_success.lock().expect("lock").push(req.clone());
                true
            })
            .then_output(|| PutJobSuccessResultOutput::builder().build())
    });
    let failure = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(move |req| {
            record_failure.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let cloudfront = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create, &get]);
    // The handler retries reports itself; the SDK's own retries would only add real sleeps.
    let codepipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&success, &failure],
        |config| config.retry_config(aws_sdk_codepipeline::config::retry::RetryConfig::disabled())
    );
    Rig {
        handler: Handler::new(
            SdkInvalidations::new(cloudfront),
            SdkJobReport::new(codepipeline.clone()),
            // No job here reads artifacts; the adapter is the production one.
            SdkArtifacts::new(
                &aws_config::SdkConfig::builder()
                    .behavior_version(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new("us-east-1"))
                    .build(),
                codepipeline,
            ),
            FakeClock::new(),
            EngineSettings::default(),
        ),
        create,
        get,
        successes,
        failures,
    }
}

const DEADLINE: Option<Millis> = Some(T0 + 900_000);

#[tokio::test]
async fn first_invocation_creates_waits_and_reports_success() {
    let rig = rig(None);
    let answer = rig
        .handler
        .handle(fixture("first-invocation.json"), DEADLINE)
        .await
        .expect("handled");
    assert_eq!(answer["verdict"], "succeeded");
    assert_eq!(rig.create.num_calls(), 1);
    assert_eq!(rig.get.num_calls(), 3);
    let successes = rig.successes.lock().expect("lock").clone();
    assert_eq!(successes.len(), 1);
    assert_eq!(
        successes[0].job_id(),
        Some("11111111-abcd-1111-abcd-111111111111")
    );
    let vars = successes[0].output_variables().expect("output variables");
    assert_eq!(vars["InvalidationId"], "I2J0I21PCUYOIK");
    assert_eq!(vars["Status"], "Completed");
    // directoryIndex turned /index.html into / as well.
    assert_eq!(vars["PathCount"], "3");
    assert!(rig.failures.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn continuation_polls_without_creating_again() {
    let rig = rig(None);
    rig.handler
        .handle(fixture("continuation.json"), DEADLINE)
        .await
        .expect("handled");
    assert_eq!(rig.create.num_calls(), 0);
    let successes = rig.successes.lock().expect("lock").clone();
    assert_eq!(successes.len(), 1);
    // Reported against the job id of the current event, not the first one.
    assert_eq!(
        successes[0].job_id(),
        Some("22222222-abcd-2222-abcd-222222222222")
    );
    assert_eq!(
        successes[0].output_variables().expect("vars")["InvalidationId"],
        "I2J0I21PCUYOIK"
    );
}

#[tokio::test]
async fn a_short_deadline_hands_over_a_continuation_token() {
    let rig = rig(None);
    rig.handler
        .handle(fixture("first-invocation.json"), Some(T0 + 5_000))
        .await
        .expect("handled");
    let successes = rig.successes.lock().expect("lock").clone();
    assert_eq!(successes.len(), 1);
    let token = successes[0]
        .continuation_token()
        .expect("a continuation token");
    assert!(token.starts_with("v1.") && token.len() <= 2048);
    assert!(successes[0].output_variables().is_none());
    assert_eq!(
        successes[0]
            .execution_details()
            .and_then(|d| d.external_execution_id()),
        Some("I2J0I21PCUYOIK")
    );
}

#[tokio::test]
async fn malformed_parameters_fail_as_configuration_error_without_cloudfront_calls() {
    let rig = rig(None);
    rig.handler
        .handle(fixture("malformed-parameters.json"), DEADLINE)
        .await
        .expect("handled");
    assert_eq!(rig.create.num_calls() + rig.get.num_calls(), 0);
    let failures = rig.failures.lock().expect("lock").clone();
    let details = failures[0].failure_details().expect("details");
    assert_eq!(details.r#type().as_str(), "ConfigurationError");
    assert!(
        details
            .message()
            .contains("did you mean \"distributionId\""),
        "{}",
        details.message()
    );
}

#[tokio::test]
async fn a_malformed_event_is_still_reported_and_quotes_no_value() {
    let rig = rig(None);
    rig.handler
        .handle(fixture("malformed-event.json"), DEADLINE)
        .await
        .expect("handled");
    let failures = rig.failures.lock().expect("lock").clone();
    assert_eq!(
        failures[0].job_id(),
        Some("44444444-abcd-4444-abcd-444444444444")
    );
    let details = failures[0].failure_details().expect("details");
    assert_eq!(details.r#type().as_str(), "ConfigurationError");
    for secret in SECRETS {
        assert!(!details.message().contains(secret));
    }
}

#[tokio::test]
async fn an_event_without_a_job_id_is_an_error_for_lambda() {
    let rig = rig(None);
    let error = rig
        .handler
        .handle(fixture("not-a-job.json"), DEADLINE)
        .await
        .expect_err("no job id");
    assert!(matches!(error, HandlerError::Event(_)));
    assert!(rig.successes.lock().expect("lock").is_empty());
    assert!(rig.failures.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn an_already_reported_job_ends_the_invocation_normally() {
    let already = mock!(aws_sdk_codepipeline::Client::put_job_success_result).then_error(|| {
        PutJobSuccessResultError::InvalidJobStateException(
            InvalidJobStateException::builder().message("done").build(),
        )
    });
    let rig = rig(Some(already));
    let answer = rig
        .handler
        .handle(fixture("first-invocation.json"), DEADLINE)
        .await
        .expect("handled");
    assert_eq!(answer["verdict"], "already-reported");
}

#[tokio::test]
async fn an_unreachable_codepipeline_is_an_error_so_lambda_retries() {
    let down =
        mock!(aws_sdk_codepipeline::Client::put_job_success_result).then_http_response(|| {
            http::Response::builder()
                .status(503)
                .body(aws_smithy_types::body::SdkBody::from("{}"))
                .expect("response")
                .try_into()
                .expect("smithy response")
        });
    let rig = rig(Some(down));
    let error = rig
        .handler
        .handle(fixture("first-invocation.json"), DEADLINE)
        .await
        .expect_err("unreported");
    assert!(matches!(error, HandlerError::Report { .. }), "{error}");
    assert!(
        rig.failures.lock().expect("lock").is_empty(),
        "a 503 must never turn into a failure report"
    );
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_appear_in_no_log_line_at_trace_and_in_no_report() {
    for json in [false, true] {
        let logs = Captured::default();
        let builder = tracing_subscriber::fmt()
            .with_env_filter(cf_invalidate::logging::filter(Some("TRACE"), None))
            .with_writer(logs.clone());
        let _guard = if json {
            tracing::subscriber::set_default(builder.json().finish())
        } else {
            tracing::subscriber::set_default(builder.finish())
        };
        // The SDK's crates log at INFO at most (src/logging.rs), and the function's code has no
        // TRACE line of its own here: this probe proves the capture takes TRACE lines.
        tracing::trace!(target: "cf_invalidate::lambda", "trace probe");
        let rig = rig(None);
        for name in [
            "first-invocation.json",
            "continuation.json",
            "malformed-parameters.json",
            "malformed-event.json",
            "not-a-job.json",
        ] {
            let _ = rig.handler.handle(fixture(name), DEADLINE).await;
        }
        let text = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("UTF-8 logs");
        assert!(
            text.contains("job started"),
            "the capture must see the handler's logs"
        );
        assert!(
            text.contains("trace probe")
                && (text.contains("TRACE") || text.contains("\"level\":\"TRACE\"")),
            "TRACE lines must be captured too"
        );
        let mut reports: Vec<String> = rig
            .failures
            .lock()
            .expect("lock")
            .iter()
            .map(|r| format!("{r:?}"))
            .collect();
        reports.extend(
            rig.successes
                .lock()
                .expect("lock")
                .iter()
                .map(|r| format!("{r:?}")),
        );
        for secret in SECRETS {
            assert!(
                !text.contains(secret),
                "secret {secret} in the logs (json: {json})"
            );
            for report in &reports {
                assert!(!report.contains(secret), "secret {secret} in a report");
            }
        }
    }
}
