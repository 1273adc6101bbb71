//! The action's scenarios: UserParameters in, the outcome CodePipeline gets out, over in-memory
//! CloudFront and injected time, no real sleeping.

use std::time::Duration;

use super::*;
use crate::artifact::job::JobInputs;
use crate::engine::REFERENCE_SEARCH_LIMIT;
use crate::engine::{Engine, EngineSettings, JobSpec};
use crate::params::{Target, parse_user_parameters};
use crate::ports::CloudFrontErrorKind as Kind;
use crate::ports::{FailureType, JobFailure, JobSuccess, Millis};
use crate::testing::{
    CfCall, DIST, FakeArtifacts, FakeClock, FakeCloudFront, JOB, OTHER, T0, assert_ends,
    assert_mentions, assert_starts, job_credentials, secs,
};
use crate::text::truncate;
use crate::token::ContinuationToken;

fn job_id(n: usize) -> String {
    format!("{n:08x}-2222-3333-4444-555555555555")
}

struct Scenario {
    clock: FakeClock,
    cloudfront: FakeCloudFront,
    settings: EngineSettings,
    artifacts: FakeArtifacts,
    inputs: JobInputs,
    site: Option<std::sync::Arc<dyn crate::verify::Site>>,
}

impl Scenario {
    fn new(distributions: &[(&str, u64)]) -> Self {
        let clock = FakeClock::new();
        Self {
            cloudfront: FakeCloudFront::with_distributions(&clock, distributions),
            clock,
            settings: EngineSettings::default(),
            artifacts: FakeArtifacts::default(),
            inputs: JobInputs {
                credentials: Some(job_credentials()),
                ..JobInputs::default()
            },
            site: None,
        }
    }

    /// One Lambda invocation that may run for `lambda_timeout` from now.
    async fn invoke(
        &self,
        job_id: &str,
        params: &str,
        token: Option<&str>,
        lambda_timeout: Duration,
    ) -> JobOutcome {
        let deadline = self.clock.now() + lambda_timeout.as_millis() as u64;
        let outcome = run_invocation(
            Invocation {
                job_id,
                account_id: Some("123456789012"),
                user_parameters: Some(params),
                continuation_token: token,
                deadline: Some(deadline),
                inputs: &self.inputs,
            },
            &Engine {
                cloudfront: self.cloudfront.clone(),
                clock: self.clock.clone(),
                settings: self.settings.clone(),
            },
            &self.artifacts,
            self.site.as_deref(),
        )
        .await;
        assert!(
            self.clock.now() + 3_000 <= deadline,
            "work ended {} ms before the deadline; at least 3000 are needed to report",
            deadline.saturating_sub(self.clock.now())
        );
        outcome
    }

    /// One invocation of job `JOB`, with a 900 s Lambda timeout.
    async fn once(&self, params: &str) -> JobOutcome {
        self.invoke(JOB, params, None, secs(900)).await
    }

    /// The CloudFront calls made, in order, as `Create ID`, `Get ID` or `List ID`.
    fn calls(&self) -> Vec<String> {
        let call = |call: CfCall| match call {
            CfCall::Create(create) => format!("Create {}", create.distribution),
            CfCall::Get { distribution, .. } => format!("Get {distribution}"),
            CfCall::List { distribution, .. } => format!("List {distribution}"),
        };
        self.cloudfront.calls().into_iter().map(call).collect()
    }

    /// How many of [`Self::calls`] are `call`.
    fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|made| *made == call).count()
    }

    async fn run_to_end(&self, params: &str, lambda_timeout: Duration) -> (JobOutcome, usize) {
        self.run_until_done(None, params, lambda_timeout).await
    }

    /// Invokes again after every "still running", as CodePipeline does, each time with a new job id.
    async fn run_until_done(
        &self,
        mut token: Option<String>,
        params: &str,
        lambda_timeout: Duration,
    ) -> (JobOutcome, usize) {
        for invocation in 1..=500 {
            let outcome = self
                .invoke(
                    &job_id(invocation),
                    params,
                    token.as_deref(),
                    lambda_timeout,
                )
                .await;
            match outcome {
                JobOutcome::StillRunning { token: next, .. } => {
                    token = Some(next);
                    self.clock.advance(secs(1));
                }
                done => return (done, invocation),
            }
        }
        panic!("the job never ended");
    }
}

fn success(outcome: &JobOutcome) -> &JobSuccess {
    match outcome {
        JobOutcome::Succeeded(success) => success,
        other => panic!("expected success, got {other:?}"),
    }
}

/// The failure `outcome` must be: of `kind`, its message holding each of `words`.
#[track_caller]
fn failure(outcome: JobOutcome, kind: FailureType, words: &[&str]) -> JobFailure {
    let JobOutcome::Failed(failure) = outcome else {
        panic!("expected failure, got {outcome:?}");
    };
    assert_eq!(failure.kind, kind, "{}", failure.message);
    assert_mentions(&failure.message, words);
    failure
}

#[tokio::test]
async fn completes_within_one_invocation() {
    // GIVEN an invalidation that takes 25 s and a 900 s Lambda timeout
    let s = Scenario::new(&[(DIST, 25)]);
    let params = r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/index.html", "/css/*"]}"#;
    // WHEN the job runs
    let outcome = s.once(params).await;
    // THEN it succeeds in that invocation, with the output variables CodePipeline shows
    let success = success(&outcome);
    let vars = &success.output_variables;
    assert_eq!(vars["InvalidationId"], "I000000000001");
    assert_eq!(vars["InvalidationIds"], "E2QWRUHAPOMQZL:I000000000001");
    assert_eq!(vars["DistributionIds"], DIST);
    assert_eq!(vars["PathCount"], "2");
    assert_eq!(vars["Status"], "Completed");
    assert_starts(
        &success.details.summary,
        "Invalidated 2 paths on E2QWRUHAPOMQZL (I000000000001) in 2",
    );
    assert_eq!(
        success.details.external_execution_id.as_deref(),
        Some("I000000000001")
    );
    // AND the exact batch was sent once, with a CallerReference stable for this job
    let creates = s.cloudfront.creates();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].paths, ["/css/*", "/index.html"]);
    let caller_reference = &creates[0].caller_reference;
    assert_starts(caller_reference, &format!("{JOB}-{DIST}-"));
    // AND completion was noticed within max(1 s, 10 %) of the 25 s
    let lag = s.clock.elapsed().saturating_sub(secs(25));
    assert!(lag <= Duration::from_millis(2_500), "noticed {lag:?} late");
}

#[tokio::test]
async fn polls_on_a_schedule_that_stays_within_ten_percent() {
    let s = Scenario::new(&[(DIST, 600)]);
    let outcome = s.once(r#"{"distributionId": "E2QWRUHAPOMQZL"}"#).await;
    success(&outcome);
    let times = s.cloudfront.get_times();
    let mut previous = T0;
    for at in &times {
        let gap = at - previous;
        let waited = previous - T0;
        assert!(
            gap <= (waited / 10).max(1_000),
            "gap {gap} ms after {waited} ms"
        );
        assert!(gap <= 20_000);
        previous = *at;
    }
    assert!(
        times.len() <= 65,
        "{} GetInvalidation calls for 10 minutes",
        times.len()
    );
    assert!(s.clock.elapsed() <= secs(600 + 60));
}

#[tokio::test]
async fn completes_after_three_continuations() {
    // GIVEN a 100 s invalidation and a function that may run 30 s at a time
    let s = Scenario::new(&[(DIST, 100)]);
    let params = r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": "/a /b"}"#;
    let mut token: Option<String> = None;
    let mut summaries = Vec::new();
    for invocation in 1..=3 {
        let outcome = s
            .invoke(&job_id(invocation), params, token.as_deref(), secs(30))
            .await;
        let JobOutcome::StillRunning {
            token: next,
            details,
        } = outcome
        else {
            panic!("invocation {invocation} ended: {outcome:?}");
        };
        assert!(next.len() <= 2048);
        assert_eq!(
            details.external_execution_id.as_deref(),
            Some("I000000000001")
        );
        assert_eq!(details.percent_complete, 0);
        summaries.push(details.summary);
        token = Some(next);
        s.clock.advance(secs(5));
    }
    assert_starts(&summaries[0], "0 of 1 distribution completed, 27s elapsed");
    // WHEN CodePipeline invokes a fourth time with the token
    let outcome = s
        .invoke(&job_id(4), params, token.as_deref(), secs(30))
        .await;
    // THEN the job succeeds, having created exactly one invalidation with the first job's reference
    success(&outcome);
    let creates = s.cloudfront.creates();
    assert_eq!(creates.len(), 1);
    assert_starts(&creates[0].caller_reference, &job_id(1));
}

#[tokio::test]
async fn too_many_invalidations_in_progress_twice_then_created() {
    let s = Scenario::new(&[(DIST, 3)]);
    s.cloudfront
        .fail_creates(DIST, &[Kind::TooManyInProgress, Kind::TooManyInProgress]);
    let outcome = s.once(r#"{"distributionId": "E2QWRUHAPOMQZL"}"#).await;
    success(&outcome);
    let create_times: Vec<Millis> = s
        .cloudfront
        .creates()
        .iter()
        .map(|call| call.at - T0)
        .collect();
    // Backs off 2 s, then 4 s, and keeps the same CallerReference, so retries never double-bill.
    assert_eq!(create_times, vec![0, 2_000, 6_000]);
    assert_eq!(s.cloudfront.invalidations(DIST).len(), 1);
}

#[tokio::test]
async fn too_many_in_progress_is_carried_across_continuations() {
    let s = Scenario::new(&[(DIST, 1)]);
    s.cloudfront
        .fail_creates(DIST, &[Kind::TooManyInProgress; 6]);
    let (outcome, invocations) = s
        .run_to_end(r#"{"distributionId": "E2QWRUHAPOMQZL"}"#, secs(10))
        .await;
    success(&outcome);
    assert!(invocations >= 3, "{invocations}");
    assert_eq!(s.cloudfront.creates().len(), 7);
}

#[tokio::test]
async fn two_distributions_complete_with_one_verdict() {
    let s = Scenario::new(&[(DIST, 5), (OTHER, 40)]);
    let params = format!(r#"{{"distributionIds": ["{DIST}", "{OTHER}"]}}"#);
    let (outcome, _) = s.run_to_end(&params, secs(20)).await;
    let success = success(&outcome);
    assert_eq!(
        success.output_variables["InvalidationIds"],
        "E2QWRUHAPOMQZL:I000000000001,E1ABCDEFGHIJKL:I000000000002"
    );
    assert_eq!(
        success.output_variables["DistributionIds"],
        "E2QWRUHAPOMQZL,E1ABCDEFGHIJKL"
    );
    assert_eq!(s.cloudfront.creates().len(), 2);
}

#[tokio::test]
async fn timeout_fails_the_job_by_default() {
    let s = Scenario::new(&[(DIST, 3_600)]);
    let (outcome, _) = s
        .run_to_end(
            r#"{"distributionId": "E2QWRUHAPOMQZL", "timeoutMinutes": 2}"#,
            secs(60),
        )
        .await;
    let words = [
        "timed out after 2m00s",
        "E2QWRUHAPOMQZL invalidation I000000000001",
        "finish on their own",
    ];
    failure(outcome, FailureType::JobFailed, &words);
    assert!(s.clock.elapsed() <= secs(130));
    assert_eq!(s.count(&format!("Create {DIST}")), 1, "{:?}", s.calls());
}

#[tokio::test]
async fn timeout_with_on_timeout_succeed_is_a_warning_success() {
    let s = Scenario::new(&[(DIST, 3_600)]);
    let (outcome, _) = s
        .run_to_end(
            r#"{"distributionId": "E2QWRUHAPOMQZL", "timeoutMinutes": 1, "onTimeout": "succeed"}"#,
            secs(900),
        )
        .await;
    let success = success(&outcome);
    assert_eq!(success.output_variables["Status"], "InProgress");
    assert_starts(
        &success.details.summary,
        "WARNING: still in progress after 1m00s",
    );
    assert_eq!(s.count(&format!("Create {DIST}")), 1, "{:?}", s.calls());
}

#[tokio::test]
async fn timeout_before_creation_fails_even_with_on_timeout_succeed() {
    let s = Scenario::new(&[(DIST, 1)]);
    s.cloudfront
        .fail_creates(DIST, &[Kind::TooManyInProgress; 100]);
    let (outcome, _) = s
        .run_to_end(
            r#"{"distributionId": "E2QWRUHAPOMQZL", "timeoutMinutes": 1, "onTimeout": "succeed"}"#,
            secs(900),
        )
        .await;
    failure(
        outcome,
        FailureType::JobFailed,
        &["before CloudFront accepted"],
    );
}

#[tokio::test]
async fn duplicate_delivery_gets_the_same_invalidation_back() {
    let s = Scenario::new(&[(DIST, 10)]);
    let params = r#"{"distributionId": "E2QWRUHAPOMQZL"}"#;
    let first = s.once(params).await;
    let second = s.once(params).await;
    assert_eq!(
        success(&first).output_variables["InvalidationId"],
        success(&second).output_variables["InvalidationId"]
    );
    assert_eq!(s.cloudfront.creates().len(), 2);
    assert_eq!(s.cloudfront.invalidations(DIST).len(), 1);
}

#[tokio::test]
async fn retries_of_a_run_with_a_caller_reference_reuse_the_invalidation() {
    let s = Scenario::new(&[(DIST, 10)]);
    let params = r#"{"distributionId": "E2QWRUHAPOMQZL", "callerReference": "6b5ed6a2-4c1e-4f6a-9d2b-0c8e7f1a2b3c"}"#;
    success(&s.invoke(&job_id(1), params, None, secs(900)).await);
    success(&s.invoke(&job_id(2), params, None, secs(900)).await);
    assert_eq!(s.cloudfront.invalidations(DIST).len(), 1);
    let caller_reference = &s.cloudfront.creates()[1].caller_reference;
    assert_starts(
        caller_reference,
        "6b5ed6a2-4c1e-4f6a-9d2b-0c8e7f1a2b3c-E2QWRUHAPOMQZL-",
    );
}

const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";

#[tokio::test]
async fn a_distribution_and_a_tenant_complete_with_one_verdict_that_names_the_tenant() {
    let s = Scenario::new(&[(DIST, 5), (TENANT, 8)]);
    let params = format!(
        r#"{{"distributionId": "{DIST}", "distributionTenantId": "{TENANT}", "paths": ["/a"]}}"#
    );
    let outcome = s.once(&params).await;
    let done = success(&outcome);
    assert_eq!(done.output_variables["DistributionIds"], DIST);
    assert_eq!(done.output_variables["DistributionTenantIds"], TENANT);
    assert_mentions(
        &done.details.summary,
        &["1 distribution and 1 distribution tenant:"],
    );
    assert_eq!(s.cloudfront.invalidations(TENANT).len(), 1);
}

#[tokio::test]
async fn a_lone_tenant_is_named_as_a_tenant() {
    let s = Scenario::new(&[(TENANT, 5)]);
    let params = format!(r#"{{"distributionTenantId": "{TENANT}"}}"#);
    let outcome = s.once(&params).await;
    let done = success(&outcome);
    assert_mentions(
        &done.details.summary,
        &[&format!("on distribution tenant {TENANT} (")],
    );
    assert!(!done.output_variables.contains_key("DistributionTenantId"));
    assert_eq!(done.output_variables["DistributionIds"], "");
    assert_eq!(s.count(&format!("Create {TENANT}")), 1, "{:?}", s.calls());
    assert!(s.count(&format!("Get {TENANT}")) >= 1, "{:?}", s.calls());
}

/// Real CloudFront may refuse a reused CallerReference with InvalidArgument even when the batch is
/// identical: a duplicate delivery and a retry must still end with the one invalidation.
#[tokio::test]
async fn a_refused_reused_reference_finds_its_own_invalidation() {
    let mut s = Scenario::new(&[]);
    s.cloudfront = FakeCloudFront::new(&s.clock)
        .with_distribution(DIST, secs(10))
        .strict_caller_reference();
    let first = s.once("E2QWRUHAPOMQZL /index.html").await;
    // Someone else's invalidations after ours: the search reads newest first.
    s.cloudfront
        .add_invalidation(DIST, "another-tool-1", &["/x"]);
    s.cloudfront
        .add_invalidation(DIST, "another-tool-2", &["/y"]);
    let again = s.once("E2QWRUHAPOMQZL /index.html").await;
    assert_eq!(
        success(&first).output_variables["InvalidationId"],
        success(&again).output_variables["InvalidationId"]
    );
    assert_eq!(s.cloudfront.invalidations(DIST).len(), 3);
    let lists = s
        .cloudfront
        .calls()
        .into_iter()
        .filter(|call| matches!(call, CfCall::List { .. }))
        .count();
    assert_eq!(lists, 1, "one ListInvalidations for the one refusal");
}

#[tokio::test]
async fn a_reference_nobody_in_the_job_holds_is_a_configuration_error_naming_it() {
    let s = Scenario::new(&[(DIST, 10)]);
    let params =
        r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/a"], "callerReference": "release-42"}"#;
    let spec = JobSpec::new(
        &parse_user_parameters(params).expect("params"),
        "release-42".to_owned(),
        None,
    )
    .expect("spec");
    let reference = spec.caller_reference(&Target::parse(DIST).expect("id"));
    // The reference was used long ago, by an invalidation with other paths, and 50 newer ones
    // hide it from the search.
    s.cloudfront.add_invalidation(DIST, &reference, &["/other"]);
    for n in 0..REFERENCE_SEARCH_LIMIT {
        s.cloudfront
            .add_invalidation(DIST, &format!("later-{n}"), &["/z"]);
    }
    let outcome = s.once(params).await;
    failure(
        outcome,
        FailureType::ConfigurationError,
        &[&reference, "callerReference"],
    );
    assert_eq!(s.cloudfront.invalidations(DIST).len(), 51);
}

#[tokio::test]
async fn a_create_that_hangs_past_max_call_is_given_up_and_tried_again() {
    let s = Scenario::new(&[(DIST, 10)]);
    s.cloudfront.delay_creates(DIST, &[secs(3600)]);
    let outcome = s.once("E2QWRUHAPOMQZL").await;
    success(&outcome);
    let [created] = s.cloudfront.invalidations(DIST).try_into().expect("one");
    // Cut at max_call (20 s), then the back-off of one failure (2 s).
    assert_eq!(created.created_at - T0, 22_000);
    assert_eq!(
        s.cloudfront.creates().len(),
        1,
        "the hung call never arrived"
    );
}

#[tokio::test]
async fn a_poll_that_hangs_past_the_deadline_still_hands_over_a_continuation_in_time() {
    let s = Scenario::new(&[(DIST, 60)]);
    s.cloudfront.delay_gets(DIST, &[secs(3600)]);
    // `invoke` asserts that at least the report margin was left before the deadline.
    let outcome = s.invoke(&job_id(1), "E2QWRUHAPOMQZL", None, secs(15)).await;
    let JobOutcome::StillRunning { token, .. } = &outcome else {
        panic!("expected a continuation, got {outcome:?}");
    };
    let decoded = ContinuationToken::decode(token).expect("token");
    assert_eq!(
        decoded.distributions[0].failures_in_a_row, 0,
        "a call cut by the deadline is not CloudFront's failure"
    );
    s.clock.advance(secs(1));
    let (end, _) = s
        .run_until_done(Some(token.clone()), "E2QWRUHAPOMQZL", secs(15))
        .await;
    success(&end);
}

#[tokio::test]
async fn wait_false_succeeds_right_after_creation() {
    let s = Scenario::new(&[(DIST, 300)]);
    let outcome = s
        .once(r#"{"distributionId": "E2QWRUHAPOMQZL", "wait": false}"#)
        .await;
    let success = success(&outcome);
    assert_eq!(success.output_variables["Status"], "InProgress");
    assert!(s.cloudfront.get_times().is_empty());
    assert_eq!(s.clock.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn transient_failures_below_the_limit_are_absorbed() {
    let s = Scenario::new(&[(DIST, 10)]);
    s.cloudfront.fail_creates(DIST, &[Kind::Unavailable; 4]);
    s.cloudfront.fail_gets(DIST, &[Kind::Unavailable; 4]);
    success(&s.once("E2QWRUHAPOMQZL").await);
}

#[tokio::test]
async fn a_tampered_token_fails_cleanly_without_calls() {
    let s = Scenario::new(&[(DIST, 10)]);
    for token in ["garbage", "v1.e30.000000000000", &"v1.".repeat(700)] {
        let outcome = s.invoke(JOB, "E2QWRUHAPOMQZL", Some(token), secs(900));
        failure(
            outcome.await,
            FailureType::JobFailed,
            &["continuation token"],
        );
    }
    assert!(s.cloudfront.calls().is_empty());
}

#[tokio::test]
async fn a_token_for_other_distributions_is_refused() {
    let s = Scenario::new(&[(DIST, 100), (OTHER, 100)]);
    let JobOutcome::StillRunning { token, .. } =
        s.invoke(JOB, "E2QWRUHAPOMQZL", None, secs(10)).await
    else {
        panic!("expected a continuation");
    };
    let before = s.calls();
    let outcome = s.invoke(JOB, "E1ABCDEFGHIJKL", Some(&token), secs(10));
    failure(outcome.await, FailureType::JobFailed, &["does not belong"]);
    // Refused before any call: nothing is created on or asked of the other distribution.
    assert_eq!(s.calls(), before);
}

#[test]
fn summaries_are_cut_to_codepipeline_limits() {
    let long = "é".repeat(3000);
    let cut = truncate(&long, MAX_SUMMARY_LEN);
    assert!(cut.len() <= MAX_SUMMARY_LEN);
    assert!(cut.ends_with('…'));
}

/// Hostile and malformed UserParameters: every one ends as a ConfigurationError that names the
/// problem, before any CloudFront call, and nothing panics.
#[tokio::test]
async fn hostile_user_parameters_are_configuration_errors_without_calls() {
    let deep = format!(
        "{{\"distributionId\": \"{DIST}\", \"paths\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep_object = format!(
        "{}{}",
        "{\"a\":".repeat(5_000),
        "1".to_owned() + &"}".repeat(5_000)
    );
    let long_value = "x".repeat(1000);
    let ten_thousand_paths = format!(
        "{DIST} {}",
        (0..10_000)
            .map(|i| format!("/p{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let three_thousand_and_one = format!(
        "{{\"distributionId\": \"{DIST}\", \"paths\": [{}]}}",
        (0..3_001)
            .map(|i| format!("\"/p{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let huge = format!(
        "{{\"distributionId\": \"{DIST}\", \"paths\": [\"/{}\"]}}",
        "a".repeat(70_000)
    );
    let eleven = format!(
        "{{\"distributionIds\": [{}]}}",
        (0..11)
            .map(|i| format!("\"E{i:013}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let long_path = format!(
        "{{\"distributionId\": \"{DIST}\", \"paths\": [\"/a{}b\"]}}",
        " ".repeat(1_500)
    );
    let long_tag = format!(
        "{{\"distributionId\": \"{DIST}\", \"paths\": [\"#{}\"]}}",
        "t".repeat(300)
    );
    let long_reference =
        format!("{{\"distributionId\": \"{DIST}\", \"callerReference\": \"{long_value}\"}}");
    let long_key = format!("{{\"distributionId\": \"{DIST}\", \"{long_value}\": 1}}");
    let long_id = format!("{{\"distributionId\": \"{long_value}\"}}");
    let table: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "empty"),
        ("whitespace only", "   \n\t ".into(), "empty"),
        ("JSON null", "null".into(), "JSON object"),
        ("JSON array", "[\"E2QWRUHAPOMQZL\"]".into(), "JSON object"),
        ("JSON string", "\"E2QWRUHAPOMQZL\"".into(), "JSON object"),
        ("truncated JSON", "{\"distributionId\": \"E2QWRUHAPOMQZL\"".into(), "not valid JSON"),
        ("deeply nested arrays", deep, "levels deep"),
        ("deeply nested objects", deep_object, "levels deep"),
        ("NUL byte in a path", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"/a\\u0000b\"]}}"), "control character"),
        ("raw NUL in a JSON string", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"/a\u{0}b\"]}}"), "control character"),
        ("newline in a path", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"/a\\nb\"]}}"), "control character"),
        ("NUL in the plain form", format!("{DIST} /a\u{0}b"), "control character"),
        ("number as distribution id", "{\"distributionId\": 12345}".into(), "distributionId"),
        ("object as distribution id", "{\"distributionId\": {\"id\": \"E2QWRUHAPOMQZL\"}}".into(), "distributionId"),
        ("number as a path", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [42]}}"), "paths"),
        ("string as wait", format!("{{\"distributionId\": \"{DIST}\", \"wait\": \"true\"}}"), "wait"),
        ("negative timeout", format!("{{\"distributionId\": \"{DIST}\", \"timeoutMinutes\": -5}}"), "timeoutMinutes"),
        ("zero timeout", format!("{{\"distributionId\": \"{DIST}\", \"timeoutMinutes\": 0}}"), "timeoutMinutes"),
        ("huge timeout", format!("{{\"distributionId\": \"{DIST}\", \"timeoutMinutes\": 99999999999999999999}}"), "timeoutMinutes"),
        ("fractional timeout", format!("{{\"distributionId\": \"{DIST}\", \"timeoutMinutes\": 2.5}}"), "timeoutMinutes"),
        ("timeout as a string", format!("{{\"distributionId\": \"{DIST}\", \"timeoutMinutes\": \"30\"}}"), "timeoutMinutes"),
        ("maxPaths over 3000", format!("{{\"distributionId\": \"{DIST}\", \"maxPaths\": 3001}}"), "maxPaths"),
        ("maxPaths negative", format!("{{\"distributionId\": \"{DIST}\", \"maxPaths\": -1}}"), "maxPaths"),
        ("onTimeout in capitals", format!("{{\"distributionId\": \"{DIST}\", \"onTimeout\": \"FAIL\"}}"), "onTimeout"),
        ("1000-character distribution id", long_id, "distribution id"),
        ("1000-character key", long_key, "unknown key"),
        ("1000-character callerReference", long_reference, "callerReference"),
        ("10,000 paths in one string", ten_thousand_paths, "fewer paths"),
        ("3,001 paths in an array", three_thousand_and_one, "3000"),
        ("over 64 KiB", huge, "bytes"),
        ("eleven distributions", eleven, "split them"),
        ("wildcard in the middle", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"/img/*/a.png\"]}}"), "/img/*/a.png"),
        ("two wildcards", format!("{DIST} /a**"), "/a**"),
        ("wildcard between letters", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"/a*b\"]}}"), "/a*b"),
        ("lowercase distribution id", "{\"distributionId\": \"e2qwruhapomqzl\"}".into(), "uppercase"),
        ("wildcard before a combining accent", format!("{DIST} /a*\u{301}"), "wildcard"),
        ("path over 4000 characters once encoded", long_path, "4000"),
        ("cache tag with a comma", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"#a,b\"]}}"), "comma"),
        ("cache tag with a wildcard", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"#tag*\"]}}"), "#tag*"),
        ("cache tag over 256 characters", long_tag, "256"),
        ("non-ASCII cache tag", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"#café\"]}}"), "#caf"),
        ("empty path", format!("{{\"distributionId\": \"{DIST}\", \"paths\": [\"   \"]}}"), "empty path"),
        ("Cyrillic lookalike in the id", "{\"distributionId\": \"\u{415}2QWRUHAPOMQZL\"}".into(), "U+0415"),
        ("fullwidth id", "\u{FF25}\u{FF12}QWRUHAPOMQZL /a".into(), "distribution id"),
        ("Cyrillic lookalike in a key", "{\"distr\u{456}butionId\": \"E2QWRUHAPOMQZL\"}".into(), "unknown key"),
        ("key with a combining accent", "{\"distributionId\u{301}\": \"E2QWRUHAPOMQZL\"}".into(), "unknown key"),
        ("typo in a key", "{\"distributionID\": \"E2QWRUHAPOMQZL\"}".into(), "did you mean \"distributionId\""),
        ("both id keys", format!("{{\"distributionId\": \"{DIST}\", \"distributionIds\": [\"{DIST}\"]}}"), "both"),
        ("an ARN instead of an id", "{\"distributionId\": \"arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL\"}".into(), "E2QWRUHAPOMQZL"),
        ("unresolved pipeline variable", format!("{{\"distributionId\": \"{DIST}\", \"callerReference\": \"#{{codepipeline.PipelineExecutionId}}\"}}"), "not"),
        ("path first in the plain form", "/index.html E2QWRUHAPOMQZL".into(), "must come first"),
        ("directoryIndex with a slash", format!("{{\"distributionId\": \"{DIST}\", \"directoryIndex\": \"a/b\"}}"), "directoryIndex"),
    ];
    assert!(table.len() >= 40);
    let s = Scenario::new(&[(DIST, 1)]);
    for (name, params, expected) in &table {
        let outcome = s.once(params).await;
        let JobOutcome::Failed(failure) = &outcome else {
            panic!("{name}: expected a failure, got {outcome:?}");
        };
        assert_eq!(
            failure.kind,
            FailureType::ConfigurationError,
            "{name}: {}",
            failure.message
        );
        assert!(
            failure.message.contains(expected),
            "{name}: {:?} does not mention {expected:?}",
            failure.message
        );
        assert!(failure.message.len() <= MAX_FAILURE_MESSAGE_LEN, "{name}");
    }
    assert!(
        s.cloudfront.calls().is_empty(),
        "CloudFront was called: {:?}",
        s.cloudfront.calls()
    );
}

#[tokio::test]
async fn a_persistent_outage_adds_up_across_continuations() {
    // GIVEN CloudFront failing every call, and invocations too short for five failures in one
    let s = Scenario::new(&[(DIST, 1)]);
    s.cloudfront.fail_creates(DIST, &[Kind::Unavailable; 50]);
    // WHEN the job runs through as many continuations as it takes
    let (outcome, invocations) = s.run_to_end("E2QWRUHAPOMQZL /a", secs(12)).await;
    // THEN the failures add up across invocations to SystemUnavailable, long before the timeout
    assert!(invocations > 1, "{invocations}");
    failure(outcome, FailureType::SystemUnavailable, &[]);
    assert_eq!(s.cloudfront.creates().len(), 5);
    assert!(s.clock.elapsed() < secs(120));
}

#[tokio::test]
async fn an_unknown_key_names_user_parameters_once() {
    let s = Scenario::new(&[(DIST, 10)]);
    let outcome = s.once(r#"{"distributionID": "E2QWRUHAPOMQZL"}"#).await;
    let failure = failure(outcome, FailureType::ConfigurationError, &[]);
    assert_eq!(
        failure.message.matches("UserParameters").count(),
        1,
        "{}",
        failure.message
    );
    assert_eq!(s.calls(), Vec::<String>::new());
}
/// CloudFront's refusals and faults, each ending the job in one invocation: the failure kind
/// CodePipeline gets, the words its message must and must not hold, and every call made (a
/// refusal is not retried; a missing tenant neither). An unreachable or foreign endpoint fails at
/// once with its cause, never as "too many invalidations in progress"; a hung poll is
/// GetInvalidation's failure (it once read as CreateInvalidation's).
#[tokio::test]
async fn cloudfront_faults_end_the_job_with_their_kind_and_words() {
    type Fault = fn(&FakeCloudFront);
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, u64)],
        Fault,
        &'a str,
        FailureType,
        &'a [&'a str],
        &'a [&'a str],
        &'a [&'a str],
    );
    let tenant = r#"{"distributionTenantId": "dt_2wjDZi3hD1ivOXf6rpZJO1AB"}"#;
    let both = r#"{"distributionIds": ["E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL"], "paths": ["/x"]}"#;
    let access_denied = [
        "cloudfront:CreateInvalidation",
        "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
        "if E2QWRUHAPOMQZL is not the distribution you meant, correct the id",
    ];
    let tenant_denied = [
        "may not call cloudfront:CreateInvalidationForDistributionTenant on arn:aws:cloudfront::123456789012:distribution-tenant/dt_2wjDZi3hD1ivOXf6rpZJO1AB",
        "cloudfront:GetInvalidationForDistributionTenant",
        "cloudfront:ListInvalidationsForDistributionTenant",
        "not the distribution tenant you meant",
    ];
    let hung_poll = "CloudFront kept failing for E2QWRUHAPOMQZL: cloudfront:GetInvalidation did not answer within 20s";
    let create = "Create E2QWRUHAPOMQZL";
    let table: [Case; 11] = [
        (
            "access denied",
            &[(DIST, 10)],
            |cf| cf.fail_creates(DIST, &[Kind::AccessDenied]),
            DIST,
            FailureType::PermissionError,
            &access_denied,
            &[],
            &[create],
        ),
        (
            "access denied on polling",
            &[(DIST, 10)],
            |cf| cf.fail_gets(DIST, &[Kind::AccessDenied]),
            DIST,
            FailureType::PermissionError,
            &["cloudfront:GetInvalidation"],
            &[],
            &[create, "Get E2QWRUHAPOMQZL"],
        ),
        (
            "access denied on a tenant",
            &[(TENANT, 5)],
            |cf| cf.fail_creates(TENANT, &[Kind::AccessDenied]),
            tenant,
            FailureType::PermissionError,
            &tenant_denied,
            &[],
            &["Create dt_2wjDZi3hD1ivOXf6rpZJO1AB"],
        ),
        (
            "unknown tenant",
            &[(DIST, 5)],
            |_| {},
            tenant,
            FailureType::ConfigurationError,
            &["no distribution tenant dt_2wjDZi3hD1ivOXf6rpZJO1AB (EntityNotFound)"],
            &[],
            &["Create dt_2wjDZi3hD1ivOXf6rpZJO1AB"],
        ),
        (
            "one of two distributions missing",
            &[(DIST, 30)],
            |_| {},
            both,
            FailureType::ConfigurationError,
            &[
                "no distribution E1ABCDEFGHIJKL",
                "E2QWRUHAPOMQZL invalidation I000000000001",
            ],
            &[],
            &[create, "Create E1ABCDEFGHIJKL"],
        ),
        (
            "invalid argument",
            &[(DIST, 10)],
            |cf| cf.fail_creates(DIST, &[Kind::InvalidRequest]),
            "E2QWRUHAPOMQZL /a",
            FailureType::ConfigurationError,
            &["InvalidArgument", "/a"],
            &[],
            &[create, "List E2QWRUHAPOMQZL"],
        ),
        (
            "persistent unavailability",
            &[(DIST, 10)],
            |cf| cf.fail_creates(DIST, &[Kind::Unavailable; 5]),
            DIST,
            FailureType::SystemUnavailable,
            &[],
            &[],
            &[create; 5],
        ),
        (
            "unreachable endpoint",
            &[(DIST, 10)],
            |cf| cf.fail_creates(DIST, &[Kind::Unreachable]),
            "E2QWRUHAPOMQZL /a",
            FailureType::SystemUnavailable,
            &["could not connect", "did not reach CloudFront"],
            &["too many"],
            &[create],
        ),
        (
            "endpoint that is not CloudFront",
            &[(DIST, 10)],
            |cf| cf.fail_creates(DIST, &[Kind::NotCloudFront]),
            "E2QWRUHAPOMQZL /a",
            FailureType::SystemUnavailable,
            &["not a CloudFront answer", "did not reach CloudFront"],
            &["too many"],
            &[create],
        ),
        (
            "a poll that keeps hanging",
            &[(DIST, 600)],
            |cf| cf.delay_gets(DIST, &[secs(3600); 5]),
            DIST,
            FailureType::SystemUnavailable,
            &[hung_poll],
            &["CreateInvalidation"],
            &[create],
        ),
        (
            "any other error",
            &[(DIST, 10)],
            |cf| cf.fail_creates(DIST, &[Kind::Other]),
            DIST,
            FailureType::JobFailed,
            &[],
            &[],
            &[create],
        ),
    ];
    for (case, distributions, fault, params, kind, words, absent, calls) in table {
        let s = Scenario::new(distributions);
        fault(&s.cloudfront);
        let outcome = s.once(params).await;
        let JobOutcome::Failed(failure) = &outcome else {
            panic!("{case}: expected a failure, got {outcome:?}");
        };
        assert_eq!(failure.kind, kind, "{case}: {}", failure.message);
        for word in words {
            assert!(
                failure.message.contains(word),
                "{case}: no {word:?} in {}",
                failure.message
            );
        }
        for word in absent {
            assert!(
                !failure.message.contains(word),
                "{case}: {word:?} in {}",
                failure.message
            );
        }
        // The fake records a call when it answers: a hung poll never arrives.
        assert_eq!(s.calls(), calls, "{case}");
    }
}

mod from_artifact {
    //! `pathsFromArtifact` through whole jobs: the plan a continuation keeps, zero changes,
    //! and the union with listed paths.

    use super::*;
    use crate::testing::{BUCKET, execution, job_context, located, stored_zip};

    const CHANGED: &str = r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed", "directoryIndex": "index.html"}"#;

    /// A site whose last successful deploy was `old` and whose input artifact now is `new`.
    fn deployed(completes_after: u64, old: &[(&str, &[u8])], new: &[(&str, &[u8])]) -> Scenario {
        let mut s = Scenario::new(&[(DIST, completes_after)]);
        s.artifacts = FakeArtifacts::default()
            .with_context(job_context("run-2"))
            .with_execution(execution(
                "run-1",
                "Succeeded",
                "site/BuildArtif/old",
                CHANGED,
            ))
            .require_access_key("ASIAJOBKEY");
        s.artifacts
            .put(BUCKET, "site/BuildArtif/old", stored_zip(old));
        s.artifacts
            .put(BUCKET, "site/BuildArtif/new", stored_zip(new));
        s.inputs.artifacts = vec![located("site/BuildArtif/new")];
        s
    }

    const OLD: &[(&str, &[u8])] = &[
        ("index.html", b"home"),
        ("docs/index.html", b"docs v1"),
        ("a.css", b"a"),
    ];
    const NEW: &[(&str, &[u8])] = &[
        ("index.html", b"home"),
        ("docs/index.html", b"docs v2"),
        ("b.css", b"b"),
    ];

    #[tokio::test]
    async fn a_long_job_keeps_its_plan_and_reads_the_history_once() {
        let s = deployed(600, OLD, NEW);
        let (outcome, invocations) = s.run_to_end(CHANGED, secs(60)).await;
        assert!(invocations > 5, "{invocations} invocations");
        let done = success(&outcome);
        assert_eq!(done.output_variables["ChangedFiles"], "3");
        assert_starts(
            &done.details.summary,
            "1 file added, 1 changed, 1 removed in input artifact BuildArtifact since the last successful run (pipeline execution run-1). Invalidated 5 paths",
        );
        let creates: Vec<Vec<String>> = s
            .cloudfront
            .creates()
            .into_iter()
            .map(|c| c.paths)
            .collect();
        assert_eq!(
            creates,
            [["/a.css", "/b.css", "/docs", "/docs/", "/docs/index.html"]]
        );
        let history_calls = s
            .artifacts
            .calls()
            .iter()
            .filter(|call| !call.starts_with("GetObject"))
            .count();
        assert_eq!(history_calls, 2, "{:?}", s.artifacts.calls());
    }

    #[tokio::test]
    async fn a_job_whose_artifacts_change_meanwhile_fails_instead_of_planning_anew() {
        let s = deployed(600, OLD, NEW);
        let first = s.invoke(&job_id(1), CHANGED, None, secs(60)).await;
        let JobOutcome::StillRunning { token, .. } = first else {
            panic!("expected a continuation, got {first:?}");
        };
        s.artifacts
            .put(BUCKET, "site/BuildArtif/old", stored_zip(NEW));
        let outcome = s.invoke(&job_id(2), CHANGED, Some(&token), secs(60)).await;
        let JobOutcome::Failed(failure) = outcome else {
            panic!("expected a failure, got {outcome:?}");
        };
        assert_mentions(
            &failure.message,
            &["give other paths than the job's first invocation planned"],
        );
    }

    #[tokio::test]
    async fn zero_changes_succeed_without_calling_cloudfront() {
        let s = deployed(10, NEW, NEW);
        let outcome = s.invoke(JOB, CHANGED, None, secs(60)).await;
        let done = success(&outcome);
        assert!(s.cloudfront.calls().is_empty());
        assert_eq!(done.output_variables["Status"], "NoChanges");
        assert_eq!(done.output_variables["ChangedFiles"], "0");
        assert_eq!(done.output_variables["PathCount"], "0");
        assert_ends(
            &done.details.summary,
            "changed since the last successful run (pipeline execution run-1). Nothing invalidated.",
        );
    }

    #[tokio::test]
    async fn listed_paths_are_invalidated_with_the_changes_even_when_nothing_changed() {
        let params = r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed", "paths": ["/sitemap.xml"]}"#;
        let s = deployed(10, NEW, NEW);
        let (outcome, _) = s.run_to_end(params, secs(60)).await;
        assert_eq!(success(&outcome).output_variables["PathCount"], "1");
        let s = deployed(10, OLD, NEW);
        s.run_to_end(params, secs(60)).await;
        let Some(CfCall::Create(first)) = s.cloudfront.calls().into_iter().next() else {
            panic!("no invalidation");
        };
        assert_eq!(
            first.paths,
            ["/a.css", "/b.css", "/docs/index.html", "/sitemap.xml"]
        );
    }
}

mod verify;
