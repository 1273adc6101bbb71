//! The SDK adapters against aws-smithy-mocks and captured requests: the real SDK serialises, errors map to causes.

use aws_sdk_cloudfront::operation::create_invalidation::{
    CreateInvalidationError, CreateInvalidationOutput,
};
use aws_sdk_cloudfront::operation::get_invalidation::{
    GetInvalidationError, GetInvalidationOutput,
};
use aws_sdk_cloudfront::types::error::{
    AccessDenied, BatchTooLarge, InconsistentQuantities, InvalidArgument, NoSuchDistribution,
    NoSuchInvalidation, TooManyInvalidationsInProgress,
};
use aws_sdk_cloudfront::types::{Invalidation, InvalidationBatch, Paths};
use aws_sdk_codepipeline::operation::put_job_failure_result::{
    PutJobFailureResultError, PutJobFailureResultInput, PutJobFailureResultOutput,
};
use aws_sdk_codepipeline::operation::put_job_success_result::{
    PutJobSuccessResultError, PutJobSuccessResultInput, PutJobSuccessResultOutput,
};
use aws_sdk_codepipeline::types::error::{InvalidJobStateException, JobNotFoundException};
use aws_smithy_http_client::test_util::capture_request;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use cf_invalidate::adapters::cloudfront::SdkInvalidations;
use cf_invalidate::adapters::codepipeline::SdkJobReport;
use cf_invalidate::params::Target;
use cf_invalidate::ports::{
    CloudFrontErrorKind, ExecutionDetails, FailureType, Invalidations, JobFailure, JobReport,
    JobSuccess, ReportErrorKind,
};
use std::sync::{Arc, Mutex};

/// A finished job's result, as PutJobSuccessResult carries it.
fn done() -> JobSuccess {
    JobSuccess {
        details: ExecutionDetails {
            summary: "done".into(),
            external_execution_id: None,
            percent_complete: 100,
        },
        output_variables: Default::default(),
    }
}

fn dist() -> Target {
    Target::parse("E2QWRUHAPOMQZL").expect("valid id")
}

fn invalidation(status: &str) -> Invalidation {
    Invalidation::builder()
        .id("I2J0I21PCUYOIK")
        .status(status)
        .create_time(DateTime::from_secs(1_795_000_000))
        .invalidation_batch(
            InvalidationBatch::builder()
                .caller_reference("ref")
                .paths(
                    Paths::builder()
                        .quantity(1)
                        .items("/a")
                        .build()
                        .expect("paths"),
                )
                .build()
                .expect("batch"),
        )
        .build()
        .expect("invalidation")
}

#[tokio::test]
async fn create_serialises_paths_quantity_and_caller_reference() {
    let (http_client, request) = capture_request(None);
    let config = aws_sdk_cloudfront::Config::builder()
        .with_test_defaults_v2()
        .http_client(http_client)
        .build();
    let adapter = SdkInvalidations::new(aws_sdk_cloudfront::Client::from_conf(config));
    let paths = vec![
        "/index.html".to_owned(),
        "/a%20b.png".to_owned(),
        "/css/*".to_owned(),
    ];
    // The canned 200 is no valid CreateInvalidation answer; only the request matters here.
    let _ = adapter
        .create(&dist(), &paths, "job-1-E2QWRUHAPOMQZL-abcd1234")
        .await;
    let request = request.expect_request();
    assert_eq!(request.method(), "POST");
    assert!(
        request
            .uri()
            .ends_with("/2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation"),
        "{}",
        request.uri()
    );
    let body = std::str::from_utf8(request.body().bytes().expect("in-memory body")).expect("UTF-8");
    for expected in [
        "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">",
        "<Quantity>3</Quantity>",
        "<Path>/index.html</Path><Path>/a%20b.png</Path><Path>/css/*</Path>",
        "<CallerReference>job-1-E2QWRUHAPOMQZL-abcd1234</CallerReference>",
    ] {
        assert!(body.contains(expected), "{expected} not in {body}");
    }
}

#[tokio::test]
async fn create_and_get_read_id_and_status() {
    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .match_requests(|req| {
            req.distribution_id() == Some("E2QWRUHAPOMQZL")
                && req
                    .invalidation_batch()
                    .map(|batch| {
                        batch.caller_reference() == "ref-1"
                            && batch.paths().map(|p| p.quantity()) == Some(2)
                    })
                    .unwrap_or(false)
        })
        .then_output(|| {
            CreateInvalidationOutput::builder()
                .invalidation(invalidation("InProgress"))
                .build()
        });
    let get = mock!(aws_sdk_cloudfront::Client::get_invalidation)
        .sequence()
        .output(|| {
            GetInvalidationOutput::builder()
                .invalidation(invalidation("InProgress"))
                .build()
        })
        .times(2)
        .output(|| {
            GetInvalidationOutput::builder()
                .invalidation(invalidation("COMPLETED"))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create, &get]);
    let adapter = SdkInvalidations::new(client);
    let created = adapter
        .create(&dist(), &["/a".to_owned(), "/b".to_owned()], "ref-1")
        .await
        .expect("created");
    assert_eq!(
        (created.id.as_str(), created.is_completed()),
        ("I2J0I21PCUYOIK", false)
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            adapter
                .get(&dist(), "I2J0I21PCUYOIK")
                .await
                .expect("status")
                .is_completed(),
        );
    }
    assert_eq!(seen, vec![false, false, true]);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(get.num_calls(), 3);
}

fn error_body(code: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>simulated {code}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#
    )
}

#[tokio::test]
async fn create_errors_map_to_their_causes() {
    let modelled: Vec<(fn() -> CreateInvalidationError, CloudFrontErrorKind)> = vec![
        (
            || {
                CreateInvalidationError::TooManyInvalidationsInProgress(
                    TooManyInvalidationsInProgress::builder()
                        .message("busy")
                        .build(),
                )
            },
            CloudFrontErrorKind::TooManyInProgress,
        ),
        (
            || {
                CreateInvalidationError::NoSuchDistribution(
                    NoSuchDistribution::builder().message("nope").build(),
                )
            },
            CloudFrontErrorKind::NoSuchDistribution,
        ),
        (
            || {
                CreateInvalidationError::AccessDenied(
                    AccessDenied::builder().message("denied").build(),
                )
            },
            CloudFrontErrorKind::AccessDenied,
        ),
        (
            || {
                CreateInvalidationError::InvalidArgument(
                    InvalidArgument::builder().message("bad path").build(),
                )
            },
            CloudFrontErrorKind::InvalidRequest,
        ),
        (
            // Real CloudFront's answer to a reused CallerReference: no code of its own.
            || {
                CreateInvalidationError::InvalidArgument(
                    InvalidArgument::builder()
                        .message("Your request contains a caller reference that was used for a previous invalidation batch for the same distribution.")
                        .build(),
                )
            },
            CloudFrontErrorKind::CallerReferenceReused,
        ),
        (
            || {
                CreateInvalidationError::BatchTooLarge(
                    BatchTooLarge::builder().message("big").build(),
                )
            },
            CloudFrontErrorKind::InvalidRequest,
        ),
        (
            || {
                CreateInvalidationError::InconsistentQuantities(
                    InconsistentQuantities::builder().message("qty").build(),
                )
            },
            CloudFrontErrorKind::InvalidRequest,
        ),
    ];
    for (error, expected) in modelled {
        let rule = mock!(aws_sdk_cloudfront::Client::create_invalidation).then_error(error);
        let adapter = SdkInvalidations::new(mock_client!(aws_sdk_cloudfront, [&rule]));
        let got = adapter
            .create(&dist(), &["/a".to_owned()], "ref")
            .await
            .expect_err("an error");
        assert_eq!(got.kind, expected, "{got}");
    }
    // Codes outside the model arrive as raw responses and are classified by code and status.
    for (status, code, expected) in [
        (
            400,
            "InvalidationBatchAlreadyExists",
            CloudFrontErrorKind::CallerReferenceReused,
        ),
        (400, "Throttling", CloudFrontErrorKind::Unavailable),
        (503, "ServiceUnavailable", CloudFrontErrorKind::Unavailable),
        (500, "InternalError", CloudFrontErrorKind::Unavailable),
        (400, "SomethingNew", CloudFrontErrorKind::Other),
    ] {
        let body = error_body(code);
        let rule =
            mock!(aws_sdk_cloudfront::Client::create_invalidation).then_http_response(move || {
                http::Response::builder()
                    .status(status)
                    .body(SdkBody::from(body.clone()))
                    .expect("response")
                    .try_into()
                    .expect("smithy response")
            });
        let adapter = SdkInvalidations::new(mock_client!(aws_sdk_cloudfront, [&rule]));
        let got = adapter
            .create(&dist(), &["/a".to_owned()], "ref")
            .await
            .expect_err("an error");
        assert_eq!(got.kind, expected, "{code}: {got}");
        assert_eq!(got.code.as_deref(), Some(code));
    }
}

#[tokio::test]
async fn get_errors_map_to_their_causes() {
    let cases: Vec<(fn() -> GetInvalidationError, CloudFrontErrorKind)> = vec![
        (
            || {
                GetInvalidationError::NoSuchInvalidation(
                    NoSuchInvalidation::builder().message("gone").build(),
                )
            },
            CloudFrontErrorKind::NoSuchInvalidation,
        ),
        (
            || {
                GetInvalidationError::NoSuchDistribution(
                    NoSuchDistribution::builder().message("gone").build(),
                )
            },
            CloudFrontErrorKind::NoSuchDistribution,
        ),
        (
            || {
                GetInvalidationError::AccessDenied(
                    AccessDenied::builder().message("denied").build(),
                )
            },
            CloudFrontErrorKind::AccessDenied,
        ),
    ];
    for (error, expected) in cases {
        let rule = mock!(aws_sdk_cloudfront::Client::get_invalidation).then_error(error);
        let adapter = SdkInvalidations::new(mock_client!(aws_sdk_cloudfront, [&rule]));
        let got = adapter.get(&dist(), "I1").await.expect_err("an error");
        assert_eq!(got.kind, expected);
    }
}

#[tokio::test]
async fn success_reports_carry_details_token_and_output_variables() {
    let seen: Arc<Mutex<Vec<PutJobSuccessResultInput>>> = Arc::default();
    let record = seen.clone();
    let rule = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .match_requests(move |req| {
            record.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let rule_again = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let adapter = SdkJobReport::new(mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&rule, &rule_again]
    ));
    let details = ExecutionDetails {
        summary: "1 of 2 distributions completed, 2m10s elapsed".into(),
        external_execution_id: Some("I1,I2".into()),
        percent_complete: 50,
    };
    adapter
        .keep_going("job-1", "v1.token", &details)
        .await
        .expect("reported");
    let success = JobSuccess {
        details: details.clone(),
        output_variables: [("Status".to_owned(), "Completed".to_owned())].into(),
    };
    adapter.succeed("job-2", &success).await.expect("reported");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].job_id(), Some("job-1"));
    assert_eq!(seen[0].continuation_token(), Some("v1.token"));
    assert!(
        seen[0].output_variables().is_none(),
        "no output variables with a token"
    );
    let sent = seen[0].execution_details().expect("details");
    assert_eq!(
        sent.summary(),
        Some("1 of 2 distributions completed, 2m10s elapsed")
    );
    assert_eq!(sent.external_execution_id(), Some("I1,I2"));
    assert_eq!(sent.percent_complete(), Some(50));
    assert_eq!(seen[1].continuation_token(), None);
    assert_eq!(
        seen[1]
            .output_variables()
            .and_then(|vars| vars.get("Status"))
            .map(String::as_str),
        Some("Completed")
    );
}

#[tokio::test]
async fn failure_reports_carry_type_and_message() {
    let seen: Arc<Mutex<Vec<PutJobFailureResultInput>>> = Arc::default();
    let record = seen.clone();
    let rule = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(move |req| {
            record.lock().expect("lock").push(req.clone());
            true
        })
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let adapter = SdkJobReport::new(mock_client!(aws_sdk_codepipeline, [&rule]));
    adapter
        .fail(
            "job-1",
            &JobFailure {
                kind: FailureType::PermissionError,
                message: "access denied".into(),
                external_execution_id: None,
            },
        )
        .await
        .expect("reported");
    let seen = seen.lock().expect("lock").clone();
    let details = seen[0].failure_details().expect("details");
    assert_eq!(details.r#type().as_str(), "PermissionError");
    assert_eq!(details.message(), "access denied");
}

#[tokio::test]
async fn report_errors_map_to_their_causes() {
    let already = mock!(aws_sdk_codepipeline::Client::put_job_success_result).then_error(|| {
        PutJobSuccessResultError::InvalidJobStateException(
            InvalidJobStateException::builder().message("done").build(),
        )
    });
    let missing = mock!(aws_sdk_codepipeline::Client::put_job_failure_result).then_error(|| {
        PutJobFailureResultError::JobNotFoundException(
            JobNotFoundException::builder().message("who").build(),
        )
    });
    let adapter = SdkJobReport::new(mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&already, &missing]
    ));
    let success = done();
    let error = adapter
        .succeed("job-1", &success)
        .await
        .expect_err("refused");
    assert_eq!(error.kind, ReportErrorKind::AlreadyReported);
    let failure = JobFailure {
        kind: FailureType::JobFailed,
        message: "x".into(),
        external_execution_id: None,
    };
    let error = adapter.fail("job-1", &failure).await.expect_err("refused");
    assert_eq!(error.kind, ReportErrorKind::JobNotFound);
}

fn summary(id: &str, status: &str, secs: i64) -> aws_sdk_cloudfront::types::InvalidationSummary {
    aws_sdk_cloudfront::types::InvalidationSummary::builder()
        .id(id)
        .status(status)
        .create_time(DateTime::from_secs(secs))
        .build()
        .expect("summary")
}

fn page(
    items: Vec<aws_sdk_cloudfront::types::InvalidationSummary>,
    next_marker: Option<&str>,
) -> aws_sdk_cloudfront::operation::list_invalidations::ListInvalidationsOutput {
    let quantity = i32::try_from(items.len()).expect("small");
    aws_sdk_cloudfront::operation::list_invalidations::ListInvalidationsOutput::builder()
        .invalidation_list(
            aws_sdk_cloudfront::types::InvalidationList::builder()
                .marker("")
                .set_next_marker(next_marker.map(str::to_owned))
                .max_items(2)
                .is_truncated(next_marker.is_some())
                .quantity(quantity)
                .set_items(Some(items))
                .build()
                .expect("list"),
        )
        .build()
}

/// The `Marker` and `MaxItems` of each ListInvalidations request.
type SeenPages = Arc<Mutex<Vec<(Option<String>, Option<i32>)>>>;

#[tokio::test]
async fn list_follows_next_marker_newest_first_up_to_the_limit() {
    let markers: SeenPages = Arc::default();
    let record = markers.clone();
    let rule = mock!(aws_sdk_cloudfront::Client::list_invalidations)
        .match_requests(move |req| {
            record
                .lock()
                .expect("lock")
                .push((req.marker().map(str::to_owned), req.max_items()));
            req.distribution_id() == Some("E2QWRUHAPOMQZL")
        })
        .sequence()
        .output(|| {
            page(
                vec![
                    summary("ITHIRD", "InProgress", 1_795_000_300),
                    summary("ISECOND", "Completed", 1_795_000_200),
                ],
                Some("ISECOND"),
            )
        })
        .output(|| page(vec![summary("IFIRST", "Completed", 1_795_000_100)], None))
        .build();
    let adapter = SdkInvalidations::new(mock_client!(
        aws_sdk_cloudfront,
        RuleMode::MatchAny,
        [&rule]
    ));
    let listed = adapter
        .with_page_size(2)
        .list(&dist(), 10)
        .await
        .expect("listed");
    let ids: Vec<&str> = listed.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(ids, vec!["ITHIRD", "ISECOND", "IFIRST"]);
    assert_eq!(listed[0].status, "InProgress");
    assert_eq!(listed[2].create_time, "2026-11-18T11:08:20Z");
    assert_eq!(
        *markers.lock().expect("lock"),
        vec![(None, Some(2)), (Some("ISECOND".to_owned()), Some(2))]
    );
}

#[tokio::test]
async fn list_stops_at_the_limit_without_reading_more_pages() {
    let rule = mock!(aws_sdk_cloudfront::Client::list_invalidations).then_output(|| {
        page(
            vec![
                summary("ITHIRD", "InProgress", 1_795_000_300),
                summary("ISECOND", "Completed", 1_795_000_200),
            ],
            Some("ISECOND"),
        )
    });
    let adapter = SdkInvalidations::new(mock_client!(aws_sdk_cloudfront, [&rule]));
    let listed = adapter.list(&dist(), 2).await.expect("listed");
    assert_eq!(listed.len(), 2);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn list_errors_map_to_their_causes() {
    use aws_sdk_cloudfront::operation::list_invalidations::ListInvalidationsError;
    let cases: Vec<(fn() -> ListInvalidationsError, CloudFrontErrorKind)> = vec![
        (
            || {
                ListInvalidationsError::NoSuchDistribution(
                    NoSuchDistribution::builder().message("gone").build(),
                )
            },
            CloudFrontErrorKind::NoSuchDistribution,
        ),
        (
            || {
                ListInvalidationsError::AccessDenied(
                    AccessDenied::builder().message("denied").build(),
                )
            },
            CloudFrontErrorKind::AccessDenied,
        ),
        (
            || {
                ListInvalidationsError::InvalidArgument(
                    InvalidArgument::builder().message("bad marker").build(),
                )
            },
            CloudFrontErrorKind::InvalidRequest,
        ),
    ];
    for (error, expected) in cases {
        let rule = mock!(aws_sdk_cloudfront::Client::list_invalidations).then_error(error);
        let adapter = SdkInvalidations::new(mock_client!(aws_sdk_cloudfront, [&rule]));
        let got = adapter.list(&dist(), 5).await.expect_err("an error");
        assert_eq!(got.kind, expected);
    }
    let throttled =
        mock!(aws_sdk_cloudfront::Client::list_invalidations).then_http_response(|| {
            http::Response::builder()
                .status(400)
                .body(SdkBody::from(error_body("Throttling")))
                .expect("response")
                .try_into()
                .expect("smithy response")
        });
    let adapter = SdkInvalidations::new(mock_client!(aws_sdk_cloudfront, [&throttled]));
    let got = adapter.list(&dist(), 5).await.expect_err("an error");
    assert_eq!(got.kind, CloudFrontErrorKind::Unavailable);
}

/// Errors PutJob*'s model does not list arrive as raw JSON 1.1 answers: CodePipeline's
/// throttling is one of them, and it must read as "try again", never as a refusal of the result.
#[tokio::test]
async fn unmodelled_report_errors_are_classified_by_code_and_status() {
    for (status, code, expected) in [
        (400, "ThrottlingException", ReportErrorKind::Unavailable),
        (
            503,
            "ServiceUnavailableException",
            ReportErrorKind::Unavailable,
        ),
        (500, "InternalFailure", ReportErrorKind::Unavailable),
        (400, "AccessDeniedException", ReportErrorKind::Refused),
    ] {
        let body = format!(r#"{{"__type": "{code}", "message": "Rate exceeded"}}"#);
        let response = move || {
            http::Response::builder()
                .status(status)
                .header("content-type", "application/x-amz-json-1.1")
                .body(SdkBody::from(body.clone()))
                .expect("response")
                .try_into()
                .expect("smithy response")
        };
        let success = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
            .then_http_response(response.clone());
        let failure = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
            .then_http_response(response);
        let adapter = SdkJobReport::new(mock_client!(
            aws_sdk_codepipeline,
            RuleMode::MatchAny,
            [&success, &failure],
            |config| config
                .retry_config(aws_sdk_codepipeline::config::retry::RetryConfig::disabled())
        ));
        let done = done();
        let error = adapter.succeed("job-1", &done).await.expect_err("refused");
        assert_eq!(error.kind, expected, "{code} on success: {error}");
        assert!(error.message.contains(code), "{error}");
        let error = adapter
            .fail(
                "job-1",
                &JobFailure {
                    kind: FailureType::JobFailed,
                    message: "x".into(),
                    external_execution_id: None,
                },
            )
            .await
            .expect_err("refused");
        assert_eq!(error.kind, expected, "{code} on failure: {error}");
    }
}

/// Throttling and unavailability, as every adapter must read them: "try again", whichever service
/// said it. CloudFront once lacked 429 and `TooManyRequestsException`, which the CodePipeline
/// adapters retried.
const TRANSIENT_ANSWERS: [(u16, &str); 7] = [
    (429, "TooManyRequestsException"),
    (400, "TooManyRequestsException"),
    (429, "SomethingNew"),
    (400, "ThrottlingException"),
    (400, "Throttling"),
    (400, "RequestLimitExceeded"),
    (503, "ServiceUnavailable"),
];

fn raw_answer(
    status: u16,
    content_type: &'static str,
    body: String,
) -> impl Fn() -> aws_smithy_runtime_api::http::Response + Clone {
    move || {
        http::Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(SdkBody::from(body.clone()))
            .expect("response")
            .try_into()
            .expect("smithy response")
    }
}

#[tokio::test]
async fn every_adapter_reads_throttling_as_transient() {
    use cf_invalidate::adapters::history::SdkPipelineHistory;
    use cf_invalidate::artifact::previous::{HistoryErrorKind, PipelineHistory};
    for (status, code) in TRANSIENT_ANSWERS {
        let answer = raw_answer(status, "text/xml", error_body(code));
        let create = mock!(aws_sdk_cloudfront::Client::create_invalidation)
            .then_http_response(answer.clone());
        let get = mock!(aws_sdk_cloudfront::Client::get_invalidation).then_http_response(answer);
        let cloudfront = SdkInvalidations::new(mock_client!(
            aws_sdk_cloudfront,
            RuleMode::MatchAny,
            [&create, &get],
            |config| config
                .retry_config(aws_sdk_cloudfront::config::retry::RetryConfig::disabled())
        ));
        let got = cloudfront
            .create(&dist(), &["/a".to_owned()], "ref")
            .await
            .expect_err("an error");
        assert_eq!(
            got.kind,
            CloudFrontErrorKind::Unavailable,
            "CreateInvalidation {status} {code}: {got}"
        );
        let got = cloudfront.get(&dist(), "I1").await.expect_err("an error");
        assert_eq!(
            got.kind,
            CloudFrontErrorKind::Unavailable,
            "GetInvalidation {status} {code}: {got}"
        );

        let answer = raw_answer(
            status,
            "application/x-amz-json-1.1",
            format!(r#"{{"__type": "{code}", "message": "Rate exceeded"}}"#),
        );
        let success = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
            .then_http_response(answer.clone());
        let details =
            mock!(aws_sdk_codepipeline::Client::get_job_details).then_http_response(answer);
        let codepipeline = mock_client!(
            aws_sdk_codepipeline,
            RuleMode::MatchAny,
            [&success, &details],
            |config| config
                .retry_config(aws_sdk_codepipeline::config::retry::RetryConfig::disabled())
        );
        let done = done();
        let got = SdkJobReport::new(codepipeline.clone())
            .succeed("job-1", &done)
            .await
            .expect_err("an error");
        assert_eq!(
            got.kind,
            ReportErrorKind::Unavailable,
            "PutJobSuccessResult {status} {code}: {got}"
        );
        let got = SdkPipelineHistory::new(codepipeline)
            .job_context("job-1")
            .await
            .expect_err("an error");
        assert_eq!(
            got.kind,
            HistoryErrorKind::Unavailable,
            "GetJobDetails {status} {code}: {got}"
        );
    }
}

/// The engine tries a throttled CreateInvalidation again (the SDK's own retries spent), and the
/// job goes on with the invalidation made on the next attempt.
#[tokio::test]
async fn a_cloudfront_429_is_retried_by_the_engine() {
    use cf_invalidate::engine::{Engine, EngineSettings, JobRun, JobSpec, Verdict};
    use cf_invalidate::params::parse_user_parameters;
    use cf_invalidate::ports::Clock;
    use cf_invalidate::testing::FakeClock;

    let create = mock!(aws_sdk_cloudfront::Client::create_invalidation)
        .sequence()
        .http_response(raw_answer(
            429,
            "text/xml",
            error_body("TooManyRequestsException"),
        ))
        .output(|| {
            CreateInvalidationOutput::builder()
                .invalidation(invalidation("Completed"))
                .build()
        })
        .build();
    let clock = FakeClock::new();
    let engine = Engine {
        cloudfront: SdkInvalidations::new(mock_client!(
            aws_sdk_cloudfront,
            RuleMode::Sequential,
            [&create],
            |config| config
                .retry_config(aws_sdk_cloudfront::config::retry::RetryConfig::disabled())
        )),
        clock: clock.clone(),
        settings: EngineSettings::default(),
    };
    let params = parse_user_parameters("E2QWRUHAPOMQZL /a").expect("valid");
    let spec = JobSpec::new(&params, "job-1".to_owned(), None).expect("valid");
    let mut run = JobRun::start(&spec, clock.now());
    let verdict = engine.drive(&spec, &mut run, None, &()).await;
    assert!(matches!(verdict, Verdict::Finished), "{verdict:?}");
    assert_eq!(
        create.num_calls(),
        2,
        "one throttled attempt, one that made the invalidation"
    );
}

/// A tenant is invalidated through its own operations, never through its distribution's.
#[tokio::test]
async fn tenants_go_to_the_distribution_tenant_operations() {
    let tenant = Target::parse("dt_2wjDZi3hD1ivOXf6rpZJO1AB").expect("tenant");
    let capturing = || {
        let (http_client, request) = capture_request(None);
        let config = aws_sdk_cloudfront::Config::builder()
            .with_test_defaults_v2()
            .http_client(http_client)
            .build();
        (
            SdkInvalidations::new(aws_sdk_cloudfront::Client::from_conf(config)),
            request,
        )
    };
    let (adapter, request) = capturing();
    let _ = adapter.create(&tenant, &["/a".to_owned()], "ref").await;
    let request = request.expect_request();
    assert_eq!(request.method(), "POST");
    assert!(
        request
            .uri()
            .ends_with("/2020-05-31/distribution-tenant/dt_2wjDZi3hD1ivOXf6rpZJO1AB/invalidation"),
        "{}",
        request.uri()
    );
    let (adapter, request) = capturing();
    let _ = adapter.get(&tenant, "I1").await;
    assert!(
        request.expect_request().uri().ends_with(
            "/2020-05-31/distribution-tenant/dt_2wjDZi3hD1ivOXf6rpZJO1AB/invalidation/I1"
        )
    );
    let (adapter, request) = capturing();
    let _ = adapter.list(&tenant, 5).await;
    let uri = request.expect_request().uri().to_owned();
    assert!(
        uri.contains("/2020-05-31/distribution-tenant/dt_2wjDZi3hD1ivOXf6rpZJO1AB/invalidation?"),
        "{uri}"
    );
}

#[tokio::test]
async fn an_unknown_tenant_reads_as_not_found() {
    use aws_sdk_cloudfront::operation::create_invalidation_for_distribution_tenant::CreateInvalidationForDistributionTenantError;
    use aws_sdk_cloudfront::types::error::EntityNotFound;
    let tenant = Target::parse("dt_nosuch").expect("tenant");
    let rule = mock!(aws_sdk_cloudfront::Client::create_invalidation_for_distribution_tenant)
        .then_error(|| {
            CreateInvalidationForDistributionTenantError::EntityNotFound(
                EntityNotFound::builder()
                    .message("The entity was not found.")
                    .build(),
            )
        });
    let adapter = SdkInvalidations::new(mock_client!(aws_sdk_cloudfront, [&rule]));
    let got = adapter
        .create(&tenant, &["/a".to_owned()], "ref")
        .await
        .expect_err("an error");
    assert_eq!(got.kind, CloudFrontErrorKind::NoSuchDistribution, "{got}");
}
