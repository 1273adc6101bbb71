//! End to end: the real `cf-invalidate-lambda` binary, its real SDK clients, and local-aws over HTTP,
//! driven the way CodePipeline and Lambda drive the action.

mod e2e_support;

use e2e_support::{explain, run_to_end};

use std::time::Duration;

use local_aws::pipeline::{ArtifactCredentials, PipelineConfig, PipelineReport, Verdict};
use local_aws::{DistributionConfig, DistributionTenantConfig, DurationRange};

const DIST: &str = "E2QWRUHAPOMQZL";
const OTHER: &str = "E1ABCDEFGHIJKL";
const MULTI: &str = "E3MULTITENANT0";
const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";

fn completes_after(id: &str, after: Duration) -> DistributionConfig {
    DistributionConfig::new(id).completes_after(DurationRange::fixed(after))
}

fn pipeline(user_parameters: &str) -> PipelineConfig {
    let mut config =
        PipelineConfig::new(env!("CARGO_BIN_EXE_cf-invalidate-lambda"), user_parameters);
    config.world.seed = Some(7);
    config.reinvoke_delay = Duration::from_millis(200);
    config.retry_delay = Duration::from_millis(300);
    config.no_reply_timeout = Duration::from_secs(60);
    config
}

fn creates(report: &PipelineReport) -> usize {
    report.requests_for("CreateInvalidation").len()
}

fn cloudfront_calls(report: &PipelineReport) -> usize {
    creates(report)
        + report.requests_for("GetInvalidation").len()
        + report.requests_for("ListInvalidations").len()
}

fn failure_type(report: &PipelineReport) -> Option<&str> {
    report
        .failure
        .as_ref()
        .and_then(|f| f.failure_type.as_deref())
}

#[tokio::test]
async fn happy_path_in_one_invocation() {
    let config =
        pipeline(r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/index.html", "/css/*"]}"#)
            .distribution(completes_after(DIST, Duration::from_secs(2)));
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(report.invocations.len(), 1, "{}", explain(&report));
    assert_eq!(creates(&report), 1);
    assert_eq!(report.invalidations.len(), 1);
    assert_eq!(report.invalidations[0].paths, vec!["/css/*", "/index.html"]);
    assert_eq!(report.output_variables["Status"], "Completed");
    assert_eq!(
        report.output_variables["InvalidationId"],
        report.invalidations[0].id
    );
    assert_eq!(report.output_variables["PathCount"], "2");
    // Completion noticed within about a second of the 2 s the invalidation took.
    let gets = report.requests_for("GetInvalidation");
    assert!((2..=5).contains(&gets.len()), "{} polls", gets.len());
}

#[tokio::test]
async fn a_slow_invalidation_crosses_continuations() {
    let mut config = pipeline("E2QWRUHAPOMQZL /index.html")
        .distribution(completes_after(DIST, Duration::from_secs(9)));
    config.lambda_timeout = Duration::from_secs(5);
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert!(
        report.invocations.len() >= 3,
        "{} invocations\n{}",
        report.invocations.len(),
        explain(&report)
    );
    // Each continuation came as a new job, and each job got exactly one result.
    assert_eq!(report.jobs.len(), report.invocations.len());
    let mut job_ids: Vec<&str> = report.jobs.iter().map(|job| job.job_id.as_str()).collect();
    job_ids.dedup();
    assert_eq!(job_ids.len(), report.jobs.len());
    assert!(report.jobs.iter().all(|job| job.result.is_some()));
    assert!(
        report.jobs[1..]
            .iter()
            .all(|job| job.continuation_token.is_some())
    );
    // One invalidation, created once, its CallerReference based on the first job.
    assert_eq!(creates(&report), 1, "{}", explain(&report));
    assert!(
        report.invalidations[0]
            .caller_reference
            .starts_with(&report.jobs[0].job_id)
    );
    assert!(
        report
            .invocations
            .iter()
            .all(|inv| !inv.end.is_function_error()),
        "{}",
        explain(&report)
    );
}

#[tokio::test]
async fn a_storm_of_too_many_invalidations_is_waited_out() {
    let mut config = pipeline("E2QWRUHAPOMQZL /a.html")
        .distribution(completes_after(DIST, Duration::from_secs(1)));
    config.world.faults = "cloudfront.too-many=2".parse().expect("fault syntax");
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    let refused = report
        .requests_for("CreateInvalidation")
        .iter()
        .filter(|r| r.error_code.as_deref() == Some("TooManyInvalidationsInProgress"))
        .count();
    assert_eq!(refused, 2, "{}", explain(&report));
    assert_eq!(creates(&report), 3);
    assert_eq!(report.invalidations.len(), 1);
}

#[tokio::test]
async fn thirty_percent_transient_faults_still_end_in_one_invalidation() {
    let mut config =
        pipeline(r#"{"distributionIds": ["E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL"], "paths": ["/*"]}"#)
            .distribution(completes_after(DIST, Duration::from_secs(2)))
            .distribution(completes_after(OTHER, Duration::from_secs(3)));
    config.world.faults = "cloudfront.unavailable=0.1,cloudfront.throttle=0.1,cloudfront.drop=0.1"
        .parse()
        .expect("fault syntax");
    config.world.seed = Some(30);
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert!(
        report.counts.faults_injected >= 2,
        "{} faults injected",
        report.counts.faults_injected
    );
    // Retries reuse the CallerReference: never a second invalidation per distribution.
    assert_eq!(report.invalidations.len(), 2, "{}", explain(&report));
}

#[tokio::test]
async fn access_denied_is_a_permission_error() {
    let config = pipeline("EDENIED0000001 /index.html")
        .distribution(DistributionConfig::denied("EDENIED0000001"));
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(
        failure_type(&report),
        Some("PermissionError"),
        "{}",
        explain(&report)
    );
    let message = &report.failure.as_ref().expect("failure").message;
    assert!(
        message.contains("cloudfront:CreateInvalidation"),
        "{message}"
    );
    assert!(
        message.contains("arn:aws:cloudfront::000000000000:distribution/EDENIED0000001"),
        "{message}"
    );
    assert_eq!(report.invalidations.len(), 0);
}

#[tokio::test]
async fn an_unknown_distribution_is_a_configuration_error() {
    let config = pipeline("E9NOSUCHDIST00 /index.html")
        .distribution(completes_after(DIST, Duration::from_secs(1)));
    let report = run_to_end(config).await;
    assert_eq!(
        failure_type(&report),
        Some("ConfigurationError"),
        "{}",
        explain(&report)
    );
    let message = &report.failure.as_ref().expect("failure").message;
    assert!(message.contains("E9NOSUCHDIST00"), "{message}");
}

#[tokio::test]
async fn malformed_user_parameters_fail_without_cloudfront_calls() {
    let config = pipeline(r#"{"distributionID": "E2QWRUHAPOMQZL", "paths": ["/a*b"]}"#)
        .distribution(completes_after(DIST, Duration::from_secs(1)));
    let report = run_to_end(config).await;
    assert_eq!(
        failure_type(&report),
        Some("ConfigurationError"),
        "{}",
        explain(&report)
    );
    assert!(
        report
            .failure
            .as_ref()
            .expect("failure")
            .message
            .contains("distributionId")
    );
    assert_eq!(cloudfront_calls(&report), 0);
}

#[tokio::test]
async fn wait_false_succeeds_while_the_invalidation_is_in_progress() {
    let config = pipeline(r#"{"distributionId": "E2QWRUHAPOMQZL", "wait": false}"#)
        .distribution(completes_after(DIST, Duration::from_secs(60)));
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(report.output_variables["Status"], "InProgress");
    assert_eq!(report.requests_for("GetInvalidation").len(), 0);
    assert_eq!(creates(&report), 1);
}

#[tokio::test]
async fn two_distributions_one_verdict() {
    let config = pipeline(r#"{"distributionIds": ["E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL"], "paths": "/index.html /about.html"}"#)
        .distribution(completes_after(DIST, Duration::from_secs(1)))
        .distribution(completes_after(OTHER, Duration::from_secs(3)));
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(report.invalidations.len(), 2);
    let pairs = &report.output_variables["InvalidationIds"];
    for invalidation in &report.invalidations {
        assert!(
            pairs.contains(&format!(
                "{}:{}",
                invalidation.distribution_id, invalidation.id
            )),
            "{pairs}"
        );
    }
    assert_eq!(
        report.output_variables["DistributionIds"],
        "E2QWRUHAPOMQZL,E1ABCDEFGHIJKL"
    );
}

#[tokio::test]
async fn secrets_never_leave_the_function_at_trace_level() {
    let credentials = ArtifactCredentials {
        access_key_id: "ASIAE2ESECRETACCESS1".to_owned(),
        secret_access_key: "e2e-secret-access-key-must-not-appear".to_owned(),
        session_token: "e2e-session-token-must-not-appear".to_owned(),
    };
    for format in ["Text", "JSON"] {
        let mut config = pipeline("E2QWRUHAPOMQZL /index.html")
            .distribution(completes_after(DIST, Duration::from_secs(1)));
        config.artifact_credentials = credentials.clone();
        config.env = vec![
            ("AWS_LAMBDA_LOG_LEVEL".to_owned(), "TRACE".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT".to_owned(), format.to_owned()),
        ];
        let report = run_to_end(config).await;
        assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
        let output = report.function_output_text();
        assert!(
            output.lines().count() > 20,
            "TRACE output expected, got:\n{output}"
        );
        let results = format!("{:?}", report.jobs);
        for secret in [
            &credentials.access_key_id,
            &credentials.secret_access_key,
            &credentials.session_token,
        ] {
            assert!(
                !output.contains(secret.as_str()),
                "{secret} in the {format} logs"
            );
            assert!(
                !results.contains(secret.as_str()),
                "{secret} in a PutJob result"
            );
        }
    }
}

#[tokio::test]
async fn an_invocation_killed_at_its_deadline_is_retried_without_a_second_invalidation() {
    // GIVEN a CodePipeline whose first PutJob call never answers: the function overruns its deadline
    let mut config = pipeline("E2QWRUHAPOMQZL /index.html")
        .distribution(completes_after(DIST, Duration::from_secs(1)));
    config.lambda_timeout = Duration::from_secs(6);
    config.world.faults = "codepipeline.hang=1".parse().expect("fault syntax");
    // WHEN Lambda kills it and retries the same event
    let report = run_to_end(config).await;
    // THEN the retry reports success, with the very same invalidation
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    let first = &report.invocations[0];
    assert!(
        first.end.is_function_error(),
        "the first invocation must be killed: {}",
        explain(&report)
    );
    assert!(report.invocations.len() >= 2);
    assert_eq!(
        report.invocations[1].job_id, first.job_id,
        "retried with the same event"
    );
    assert_eq!(report.invocations[1].attempt, 2);
    assert_eq!(report.invalidations.len(), 1, "{}", explain(&report));
    assert!(
        creates(&report) >= 2,
        "the retry created again and got the same invalidation back"
    );
}

/// With `AWS_MAX_ATTEMPTS=1` the SDK sends each report once, so every throttling answer the
/// emulator injects meets the function's own retries, and their number is known.
fn one_sdk_attempt(mut config: PipelineConfig) -> PipelineConfig {
    config
        .env
        .push(("AWS_MAX_ATTEMPTS".to_owned(), "1".to_owned()));
    config
}

fn failure_reports(report: &PipelineReport) -> usize {
    report.requests_for("PutJobFailureResult").len()
}

/// A one-path job on an invalidation that takes `completes_after`, under CodePipeline `faults`.
async fn throttled_run(
    completes_after_secs: u64,
    lambda_timeout_secs: u64,
    faults: &str,
) -> PipelineReport {
    let mut config = one_sdk_attempt(pipeline("E2QWRUHAPOMQZL /index.html").distribution(
        completes_after(DIST, Duration::from_secs(completes_after_secs)),
    ));
    config.lambda_timeout = Duration::from_secs(lambda_timeout_secs);
    config.world.faults = faults.parse().expect("fault syntax");
    let report = run_to_end(config).await;
    // Whatever happened, throttling is never turned into a failure.
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(failure_reports(&report), 0, "{}", explain(&report));
    assert_eq!(report.invalidations.len(), 1, "{}", explain(&report));
    report
}

/// The first invocation could not report and ended in an error; Lambda's retry (same event) did.
fn reported_by_the_retry(report: &PipelineReport) {
    assert!(
        report.invocations[0].end.is_function_error(),
        "{}",
        explain(report)
    );
    assert_eq!(report.invocations[1].job_id, report.invocations[0].job_id);
}

#[tokio::test]
async fn a_throttled_final_report_is_sent_again_and_the_job_succeeds() {
    // CodePipeline throttles the next three PutJob calls: the fourth gets through.
    let report = throttled_run(2, 30, "codepipeline.throttle=3").await;
    assert_eq!(report.invocations.len(), 1, "{}", explain(&report));
    assert_eq!(report.requests_for("PutJobSuccessResult").len(), 4);
}

#[tokio::test]
async fn a_final_report_throttled_until_the_deadline_is_reported_by_the_retried_invocation() {
    // At most 5 tries fit between the report and the deadline of a 6 s invocation.
    let report = throttled_run(2, 6, "codepipeline.throttle-final=6").await;
    reported_by_the_retry(&report);
}

#[tokio::test]
async fn a_throttled_continuation_report_is_sent_again_and_the_job_goes_on() {
    let report = throttled_run(8, 5, "codepipeline.throttle=3").await;
    assert!(
        report.jobs[0]
            .result
            .as_ref()
            .and_then(|result| result.continuation_token())
            .is_some(),
        "the first job ends with a continuation: {}",
        explain(&report)
    );
    assert!(
        !report.invocations[0].end.is_function_error(),
        "{}",
        explain(&report)
    );
}

#[tokio::test]
async fn a_continuation_report_throttled_until_the_deadline_is_handed_over_by_the_retry() {
    // Continuation reports come 3 s before the deadline: at most 5 tries fit in one invocation.
    let report = throttled_run(9, 5, "codepipeline.throttle=6").await;
    reported_by_the_retry(&report);
}

#[tokio::test]
async fn strict_caller_references_still_give_one_invalidation_across_duplicates_and_retries() {
    // GIVEN CloudFront refusing every reused CallerReference, even with the same paths,
    // duplicate deliveries of every event, and a first PutJob call that never answers
    let mut config = pipeline("E2QWRUHAPOMQZL /index.html")
        .distribution(completes_after(DIST, Duration::from_secs(1)));
    config.world.strict_caller_reference = true;
    config.duplicate_delivery_rate = 1.0;
    config.lambda_timeout = Duration::from_secs(6);
    config.world.faults = "codepipeline.hang=1".parse().expect("fault syntax");
    let report = run_to_end(config).await;
    // THEN the refused creates find the first invalidation and the job succeeds
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(report.invalidations.len(), 1, "{}", explain(&report));
    let refused = report
        .requests_for("CreateInvalidation")
        .iter()
        .filter(|request| request.error_code.as_deref() == Some("InvalidArgument"))
        .count();
    assert!(refused >= 1, "no create was refused: {}", explain(&report));
    assert!(
        !report.requests_for("ListInvalidations").is_empty(),
        "{}",
        explain(&report)
    );
    assert_eq!(
        report.output_variables["InvalidationId"],
        report.invalidations[0].id
    );
}

#[tokio::test]
async fn a_mistyped_id_under_a_scoped_role_is_a_permission_error_that_says_to_check_the_id() {
    let mut config = pipeline("E9MISTYPED0000 /index.html")
        .distribution(completes_after(DIST, Duration::from_secs(1)));
    config.world.unknown_ids = local_aws::UnknownIds::AccessDenied;
    let report = run_to_end(config).await;
    assert_eq!(
        failure_type(&report),
        Some("PermissionError"),
        "{}",
        explain(&report)
    );
    let message = &report.failure.as_ref().expect("failure").message;
    assert!(
        message.contains("if E9MISTYPED0000 is not the distribution you meant, correct the id"),
        "{message}"
    );
}

#[tokio::test]
async fn a_distribution_and_a_tenant_in_one_job() {
    let params = format!(
        r#"{{"distributionId": "{DIST}", "distributionTenantId": "{TENANT}", "paths": ["/a"]}}"#
    );
    let config = pipeline(&params)
        .distribution(completes_after(DIST, Duration::from_secs(1)))
        .distribution(DistributionConfig::multi_tenant(MULTI))
        .distribution_tenant(
            DistributionTenantConfig::new(TENANT)
                .completes_after(DurationRange::fixed(Duration::from_secs(2))),
        );
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(
        report
            .requests_for("CreateInvalidationForDistributionTenant")
            .len(),
        1
    );
    assert_eq!(report.output_variables["DistributionTenantIds"], TENANT);
    assert_eq!(report.output_variables["DistributionIds"], DIST);
    assert!(
        report
            .invalidations
            .iter()
            .any(|inv| inv.distribution_tenant_id.as_deref() == Some(TENANT)),
        "{}",
        explain(&report)
    );
}

#[tokio::test]
async fn a_multi_tenant_distribution_itself_is_refused_with_advice_to_name_its_tenants() {
    let config = pipeline(&format!("{MULTI} /index.html"))
        .distribution(DistributionConfig::multi_tenant(MULTI))
        .distribution_tenant(DistributionTenantConfig::new(TENANT));
    let report = run_to_end(config).await;
    assert_eq!(
        failure_type(&report),
        Some("ConfigurationError"),
        "{}",
        explain(&report)
    );
    let message = &report.failure.as_ref().expect("failure").message;
    assert!(
        message.contains("multi-tenant distribution") && message.contains("distributionTenantId"),
        "{message}"
    );
}

/// CloudWatch shows colour codes as raw escapes: the function's text log has none.
#[tokio::test]
async fn the_function_writes_no_colour_codes() {
    let mut config = pipeline("E2QWRUHAPOMQZL /index.html")
        .distribution(completes_after(DIST, Duration::from_secs(1)));
    config
        .env
        .push(("AWS_LAMBDA_LOG_LEVEL".to_owned(), "DEBUG".to_owned()));
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    let output = report.function_output_text();
    assert!(output.contains("job started"), "{output}");
    assert!(
        !output.contains('\u{1b}'),
        "colour codes in the log:\n{output}"
    );
}

/// The commit as build.rs records it: a full git hash, or `unknown` outside a checkout.
fn is_commit(value: &serde_json::Value) -> bool {
    value.as_str().is_some_and(|commit| {
        commit == "unknown" || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()))
    })
}

#[tokio::test]
async fn the_first_log_line_gives_the_version_and_the_commit() {
    let mut config = pipeline("E2QWRUHAPOMQZL /index.html")
        .distribution(completes_after(DIST, Duration::from_millis(200)));
    config.env = vec![("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned())];
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    let output = report.function_output_text();
    let first: serde_json::Value = output
        .lines()
        .find_map(|line| serde_json::from_str(&line[line.find('{')?..]).ok())
        .unwrap_or_else(|| panic!("no JSON log line:\n{output}"));
    assert_eq!(first["message"], "cf-invalidate-lambda starting", "{first}");
    assert_eq!(first["version"], env!("CARGO_PKG_VERSION"), "{first}");
    assert!(is_commit(&first["commit"]), "{first}");
}
