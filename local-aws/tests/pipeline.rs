//! The pipeline driver against a tiny fake function (tests/support/fake_function.py): job
//! continuation with new job ids, deadline kill and retries with the same event, CodePipeline's
//! timeouts, faults, captured output, and the CLI's exit codes.

mod support;

use support::{fake_function, json_lines, state_dir};

use std::path::PathBuf;
use std::time::Duration;

use local_aws::pipeline::{
    self, ArtifactCredentials, FailureCause, InvocationEnd, OutputStream, PipelineConfig,
    PipelineError, Verdict,
};
use local_aws::{Api, JobResult};
use serde_json::{Value, json};

/// A run of the fake function with short timings.
fn config(params: Value) -> PipelineConfig {
    let mut c = PipelineConfig::new("python3", params.to_string());
    c.function_args = vec![fake_function()];
    c.lambda_timeout = Duration::from_secs(5);
    c.deadline_grace = Duration::from_millis(200);
    c.retry_delay = Duration::from_millis(100);
    c.reinvoke_delay = Duration::from_millis(100);
    c.no_reply_timeout = Duration::from_secs(10);
    c.world.seed = Some(7);
    c
}

async fn run(c: PipelineConfig) -> pipeline::PipelineReport {
    match pipeline::run(c).await {
        Ok(r) => r,
        Err(e) => panic!("the run did not complete: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_tokens_make_new_jobs_until_success() {
    let report = run(config(json!({"steps": 2}))).await;
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.jobs.len(), 3);
    let ids: std::collections::BTreeSet<&str> =
        report.jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids.len(), 3, "every continuation is a new job id");
    assert!(
        report
            .jobs
            .iter()
            .all(|j| local_aws::codepipeline::is_job_id(&j.job_id))
    );
    let tokens: Vec<Option<&str>> = report
        .jobs
        .iter()
        .map(|j| j.continuation_token.as_deref())
        .collect();
    assert_eq!(tokens, [None, Some("step-1"), Some("step-2")]);
    // Each invocation carried its own job's id and token, and the same UserParameters.
    for (inv, job) in report.invocations.iter().zip(&report.jobs) {
        let data = &inv.event["CodePipeline.job"]["data"];
        assert_eq!(inv.event["CodePipeline.job"]["id"], job.job_id.as_str());
        assert_eq!(
            data["continuationToken"].as_str(),
            job.continuation_token.as_deref()
        );
        assert_eq!(
            data["actionConfiguration"]["configuration"]["UserParameters"],
            json!({"steps": 2}).to_string()
        );
        assert_eq!(data["inputArtifacts"], json!([]));
        assert_eq!(data["outputArtifacts"], json!([]));
    }
    // The next job starts no sooner than the reinvoke delay after the continuation result.
    for pair in report.jobs.windows(2) {
        let result_ms = pair[0].result_ms.unwrap_or(u64::MAX);
        assert!(
            pair[1].created_ms >= result_ms + 100,
            "{} < {} + 100",
            pair[1].created_ms,
            result_ms
        );
    }
    assert_eq!(report.summary.as_deref(), Some("all 2 steps done"));
    assert_eq!(
        report.output_variables.get("Steps").map(String::as_str),
        Some("2")
    );
    assert_eq!(
        report.output_variables.get("LastJob"),
        Some(&report.jobs[2].job_id)
    );
    assert_eq!(
        (report.counts.invocations, report.counts.cold_starts),
        (3, 1),
        "one process serves every warm invocation"
    );
    let puts: Vec<String> = report
        .requests_for("PutJobSuccessResult")
        .iter()
        .map(|r| r.outcome())
        .collect();
    assert_eq!(puts, ["200", "200", "200"]);
    let text = report.render(false);
    assert!(
        text.contains("VERDICT: the action SUCCEEDED") && text.contains("Steps = 2"),
        "{text}"
    );
    assert!(
        text.contains("cold start") && text.contains("warm"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_invocation_is_killed_and_retried_with_the_same_event() {
    let dir = state_dir("hang");
    let mut c = config(json!({"hang_attempts": [1], "state_dir": dir}));
    c.lambda_timeout = Duration::from_secs(1);
    let report = run(c).await;
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    let ends: Vec<&InvocationEnd> = report.invocations.iter().map(|i| &i.end).collect();
    assert!(
        matches!(
            ends[..],
            [
                InvocationEnd::Timeout { started: true },
                InvocationEnd::Response { .. }
            ]
        ),
        "{ends:?}"
    );
    let (first, second) = (&report.invocations[0], &report.invocations[1]);
    assert_eq!((first.attempt, second.attempt), (1, 2));
    assert_eq!(first.job_id, second.job_id);
    assert_eq!(first.event, second.event, "a retry delivers the same event");
    assert_ne!(first.request_id, second.request_id);
    assert!(
        second.cold_start && second.process == 2,
        "the killed process is replaced by a cold start"
    );
    assert!(
        second.queued_ms >= first.ended_ms + 100,
        "the retry waits the retry delay"
    );
    let seen = json_lines(&dir, "events.jsonl");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["job"], seen[1]["job"]);
    assert_ne!(
        seen[0]["pid"], seen[1]["pid"],
        "the first process was killed"
    );
    assert_eq!(
        (report.counts.timeouts, report.counts.function_errors),
        (1, 1)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_crashes_get_two_retries_then_the_action_times_out() {
    let dir = state_dir("crash");
    let mut c = config(json!({"crash_attempts": [1, 3], "error_attempts": [2], "state_dir": dir}));
    c.no_reply_timeout = Duration::from_secs(2);
    let report = run(c).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(report.exit_code(), 1);
    let failure = report
        .failure
        .clone()
        .unwrap_or_else(|| panic!("no failure"));
    assert_eq!(failure.cause, FailureCause::NoReply);
    assert!(
        failure.message.contains("no result for job"),
        "{}",
        failure.message
    );
    let ends: Vec<&InvocationEnd> = report.invocations.iter().map(|i| &i.end).collect();
    assert!(
        matches!(
            ends[..],
            [
                InvocationEnd::Crashed { started: true, .. },
                InvocationEnd::Error { .. },
                InvocationEnd::Crashed { started: true, .. }
            ]
        ),
        "{ends:?}"
    );
    match ends[0] {
        InvocationEnd::Crashed { exit, .. } => assert_eq!(exit.code, Some(3)),
        other => panic!("{other:?}"),
    }
    assert!(
        report
            .invocations
            .iter()
            .all(|i| i.job_id == report.jobs[0].job_id)
    );
    assert_eq!(
        report
            .invocations
            .iter()
            .map(|i| i.attempt)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // The second retry waits twice the retry delay.
    assert!(report.invocations[2].queued_ms >= report.invocations[1].ended_ms + 200);
    assert!(matches!(
        report.jobs[0].result,
        Some(JobResult::TimedOut { .. })
    ));
    assert_eq!(report.counts.function_errors, 3);
    let _ = std::fs::remove_dir_all(&dir);
}

// On a current-thread runtime, as a plain `#[tokio::test]` runs it.
#[tokio::test]
async fn a_function_that_never_reports_fails_after_the_no_reply_timeout() {
    let mut c = config(json!({"no_report": true}));
    c.no_reply_timeout = Duration::from_secs(1);
    let report = run(c).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(
        report.failure.as_ref().map(|f| f.cause),
        Some(FailureCause::NoReply)
    );
    assert_eq!(
        report.invocations.len(),
        1,
        "a successful invocation is not retried"
    );
    assert!(report.duration_ms >= 1000);
    assert!(report.render(false).contains("VERDICT: the action FAILED"));
}

// Synchronous callers use run_blocking.
#[test]
fn reported_failure_ends_the_action() {
    let report = pipeline::run_blocking(config(json!({"fail": "distribution E1 is not allowed"})))
        .unwrap_or_else(|e| panic!("the run did not complete: {e}"));
    assert_eq!(report.verdict, Verdict::Failed);
    let failure = report
        .failure
        .clone()
        .unwrap_or_else(|| panic!("no failure"));
    assert_eq!(failure.cause, FailureCause::Reported);
    assert_eq!(failure.failure_type.as_deref(), Some("JobFailed"));
    assert_eq!(failure.message, "distribution E1 is not allowed");
    let text = report.render(false);
    assert!(
        text.contains("failure type:   JobFailed")
            && text.contains("distribution E1 is not allowed"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_timeout_ends_an_endless_action() {
    let mut c = config(json!({"steps": 1000}));
    c.total_timeout = Duration::from_millis(1500);
    c.reinvoke_delay = Duration::from_millis(200);
    let report = run(c).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(
        report.failure.as_ref().map(|f| f.cause),
        Some(FailureCause::TotalTimeout)
    );
    assert!(!report.jobs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codepipeline_5xx_and_lost_replies_are_visible_and_harmless_or_not() {
    // Two 503s: the function retries, the job result is recorded once.
    let mut c = config(json!({"steps": 0}));
    c.world.faults = "codepipeline.unavailable=2".parse().unwrap_or_default();
    let report = run(c).await;
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    let puts: Vec<String> = report
        .requests_for("PutJobSuccessResult")
        .iter()
        .map(|r| r.outcome())
        .collect();
    assert_eq!(
        puts,
        [
            "503 ServiceUnavailableException",
            "503 ServiceUnavailableException",
            "200"
        ]
    );
    assert_eq!(report.counts.faults_injected, 2);

    // A reply lost after processing: the retry meets InvalidJobStateException, yet the job
    // had succeeded.
    let mut c = config(json!({"steps": 0}));
    c.world.faults = "codepipeline.drop-after=1".parse().unwrap_or_default();
    let report = run(c).await;
    assert_eq!(report.verdict, Verdict::Succeeded);
    let puts: Vec<String> = report
        .requests_for("PutJobSuccessResult")
        .iter()
        .map(|r| r.outcome())
        .collect();
    assert_eq!(puts, ["dropped", "400 InvalidJobStateException"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_repeats_the_event_and_meets_invalid_job_state() {
    // GIVEN Lambda delivers every event twice
    let dir = state_dir("duplicate");
    let mut c = config(json!({"steps": 1, "state_dir": dir}));
    c.duplicate_delivery_rate = 1.0;
    // WHEN the action runs
    let report = run(c).await;
    // THEN each job's event came twice, with the same payload and a new request id
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    assert_eq!(report.jobs.len(), 2);
    assert_eq!(report.invocations.len(), 4, "{}", report.render(false));
    for pair in report.invocations.chunks(2) {
        let (first, again) = (&pair[0], &pair[1]);
        assert!(!first.duplicate && again.duplicate);
        assert_eq!(first.job_id, again.job_id);
        assert_eq!(first.event, again.event);
        assert_ne!(first.request_id, again.request_id);
    }
    let delivered: Vec<String> = json_lines(&dir, "events.jsonl")
        .iter()
        .map(|e| e["request"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(delivered.len(), 4);
    // AND the duplicate's own result was refused, so each job has exactly one
    for job in &report.jobs {
        assert_eq!((job.results_accepted, job.results_refused), (1, 1));
    }
    assert_eq!(report.counts.duplicate_deliveries, 2);
    assert_eq!(report.counts.results_refused, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_kill_comes_before_the_deadline_and_is_retried() {
    // GIVEN a function that hangs on its first attempt, and every invocation drawn for a kill
    let dir = state_dir("kill");
    let mut c = config(json!({"hang_attempts": [1], "state_dir": dir}));
    c.kill_rate = 1.0;
    c.kills_per_event = 1;
    // WHEN the action runs
    let report = run(c).await;
    // THEN the first delivery was killed before its deadline, and the retry (not killed: one
    // kill per event) reported
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    let ends: Vec<&InvocationEnd> = report.invocations.iter().map(|i| &i.end).collect();
    match ends[..] {
        [
            InvocationEnd::Killed { after_ms },
            InvocationEnd::Response { .. },
        ] => {
            assert!(*after_ms < 5_000, "killed after {after_ms} ms");
        }
        _ => panic!("{ends:?}"),
    }
    assert_eq!(report.invocations[1].attempt, 2);
    assert_eq!(report.invocations[1].job_id, report.invocations[0].job_id);
    assert!(report.invocations[1].cold_start);
    assert_eq!(report.counts.kills, 1);
    assert_eq!(report.counts.function_errors, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_captured_and_credentials_are_planted() {
    let mut c = config(json!({"steps": 0}));
    c.artifact_credentials = ArtifactCredentials {
        access_key_id: "ASIAPLANTEDKEY".into(),
        secret_access_key: "planted-secret-123".into(),
        session_token: "planted-token-456".into(),
    };
    c.env = vec![("EXTRA_FLAG".into(), "1".into())];
    let report = run(c).await;
    let creds = &report.invocations[0].event["CodePipeline.job"]["data"]["artifactCredentials"];
    assert_eq!(creds["secretAccessKey"], "planted-secret-123");
    assert_eq!(creds["sessionToken"], "planted-token-456");
    assert!(creds["expirationTime"].is_u64());
    let json_text = report.to_json().to_string();
    assert!(!json_text.contains("planted-secret-123") && !json_text.contains("planted-token-456"));
    assert!(
        report
            .function_output
            .iter()
            .any(|l| l.stream == OutputStream::Stdout && l.text.starts_with("fake-function: job"))
    );
    assert!(report.function_output.iter().any(
        |l| l.stream == OutputStream::Stderr && l.text.starts_with("fake-function stderr line")
    ));
    assert!(
        report
            .function_output_text()
            .contains("PutJobSuccessResult -> 200")
    );
    assert!(
        report
            .render(true)
            .contains("[process 1 err] fake-function stderr line")
    );
    assert!(!report.render(false).contains("fake-function stderr line"));
    assert!(
        report
            .requests
            .iter()
            .any(|r| r.api == Api::LambdaRuntime && r.operation == "NextInvocation")
    );
}

#[tokio::test]
async fn bad_configurations_are_errors() {
    let c = config(json!({"x": "y".repeat(1000)}));
    assert!(matches!(
        pipeline::run(c).await,
        Err(PipelineError::UserParametersTooLong(_))
    ));
    let c = PipelineConfig::new("/nonexistent/bootstrap", "");
    let err = pipeline::run(c)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("'/nonexistent/bootstrap' not found"), "{err}");
}

fn local_aws(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run local-aws: {e}"))
}

#[tokio::test]
async fn the_cli_exits_0_1_or_2() {
    let s = fake_function();
    let ok = local_aws(&[
        "pipeline",
        "--function",
        "python3",
        "--function-arg",
        &s,
        "--user-parameters",
        r#"{"steps":1}"#,
        "--reinvoke-delay",
        "100ms",
        "--json",
        "--seed",
        "5",
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap_or(Value::Null);
    assert_eq!(report["verdict"], "succeeded");
    assert_eq!(report["counts"]["jobs"], 2);
    assert_eq!(report["seed"], 5);
    assert_eq!(report["output_variables"]["Steps"], "1");

    let failed = local_aws(&[
        "pipeline",
        "--function",
        "python3",
        "--function-arg",
        &s,
        "--user-parameters",
        r#"{"fail":"nope"}"#,
    ]);
    assert_eq!(failed.status.code(), Some(1));
    let text = String::from_utf8_lossy(&failed.stdout);
    assert!(
        text.contains("VERDICT: the action FAILED") && text.contains("nope"),
        "{text}"
    );

    for (args, fragment) in [
        (
            vec![
                "pipeline",
                "--function",
                "python3",
                "--lambda-timeout",
                "5x",
            ],
            "'5x'",
        ),
        (
            vec![
                "pipeline",
                "--function",
                "python3",
                "--faults",
                "cloudfront.boom=1",
            ],
            "cloudfront.boom=1",
        ),
        (
            vec![
                "pipeline",
                "--function",
                "python3",
                "--distribution",
                "E1:soon",
            ],
            "'soon'",
        ),
        (
            vec!["pipeline", "--function", "/nonexistent/bootstrap"],
            "/nonexistent/bootstrap",
        ),
        (vec!["serve", "--job", "not-a-job"], "'not-a-job'"),
        (
            vec![
                "pipeline",
                "--function",
                "python3",
                "--duplicate-delivery",
                "1.5",
            ],
            "'1.5'",
        ),
        (
            vec!["chaos", "--function", "/nonexistent/bootstrap"],
            "/nonexistent/bootstrap",
        ),
        (
            vec![
                "pipeline",
                "--function",
                "python3",
                "--distribution-tenant",
                "dt-2wjDZi3hD1ivOXf6rpZJO1AB",
            ],
            "'dt-2wjDZi3hD1ivOXf6rpZJO1AB'",
        ),
        (
            vec!["serve", "--unknown-ids", "denied"],
            "'denied': use not-found or access-denied",
        ),
        (
            vec![
                "serve",
                "--multi-tenant-distribution",
                "EM1",
                "--multi-tenant-distribution",
                "EM2",
                "--distribution-tenant",
                "dt_a",
            ],
            "write DISTRIBUTION/dt_a",
        ),
    ] {
        let out = local_aws(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(fragment), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn the_world_flags_reach_the_emulator_the_function_talks_to() {
    // GIVEN a pipeline run with a multi-tenant distribution and its tenant, the strict
    // CallerReference mode, IAM's answer for unknown ids, and a burst of two throttles on the
    // final report
    let tenant = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
    let params = json!({
        "steps": 1,
        "invalidations": [
            {"tenant": tenant, "paths": ["/index.html"], "reference": "run-1"},
            {"tenant": tenant, "paths": ["/index.html"], "reference": "run-1"},
            {"distribution": "ETYPO", "paths": ["/index.html"], "reference": "run-1"},
        ],
    });
    let s = fake_function();
    let out = local_aws(&[
        "pipeline",
        "--function",
        "python3",
        "--function-arg",
        &s,
        "--user-parameters",
        &params.to_string(),
        "--multi-tenant-distribution",
        "EMULTITENANT",
        "--distribution-tenant",
        &format!("{tenant}:1s"),
        "--strict-caller-reference",
        "--unknown-ids",
        "access-denied",
        "--faults",
        "codepipeline.throttle-final=2",
        "--reinvoke-delay",
        "100ms",
        "--json",
        "--seed",
        "9",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let requests = report["requests"].as_array().cloned().unwrap_or_default();
    let outcome = |r: &Value| match (&r["status"], &r["error_code"]) {
        (Value::Number(n), Value::String(code)) => format!("{n} {code}"),
        (Value::Number(n), _) => n.to_string(),
        _ => "dropped".to_string(),
    };
    let seen = |operation: &str| -> Vec<String> {
        requests
            .iter()
            .filter(|r| r["operation"] == operation)
            .map(outcome)
            .collect()
    };

    // THEN the function's calls met each rule: the tenant took the first batch and refused
    // the same batch ever after (the second job sends it twice more), the unknown
    // distribution was AccessDenied
    assert_eq!(
        seen("CreateInvalidationForDistributionTenant"),
        [
            "201",
            "400 InvalidArgument",
            "400 InvalidArgument",
            "400 InvalidArgument"
        ]
    );
    assert_eq!(
        seen("CreateInvalidation"),
        ["403 AccessDenied", "403 AccessDenied"]
    );
    let strict = requests
        .iter()
        .filter(|r| r["caller_reference_reuse"] == "refused-strict")
        .count();
    assert_eq!(strict, 3, "{requests:?}");
    // AND the continuation went through while the final report was throttled twice
    assert_eq!(
        seen("PutJobSuccessResult"),
        [
            "200",
            "400 ThrottlingException",
            "400 ThrottlingException",
            "200"
        ]
    );
    assert_eq!(report["verdict"], "succeeded");
    let invalidations = report["invalidations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(invalidations.len(), 1, "{invalidations:?}");
    assert_eq!(invalidations[0]["distribution_tenant_id"], tenant);
    assert_eq!(invalidations[0]["distribution_id"], "EMULTITENANT");
    assert_eq!(
        invalidations[0]["completes_at_ms"].as_u64().unwrap_or(0)
            - invalidations[0]["created_ms"].as_u64().unwrap_or(0),
        1000
    );
}

#[test]
fn a_missing_function_points_at_the_build_that_exists() {
    // GIVEN a workspace where only the release build of the Lambda exists
    let root = state_dir("profiles");
    let release = root.join("target/release/cf-invalidate-lambda");
    if let Some(dir) = release.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    std::fs::write(&release, "").unwrap_or_else(|e| panic!("write {}: {e}", release.display()));
    let run = |function: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
            .args(["pipeline", "--function", function])
            .current_dir(&root)
            .output()
            .unwrap_or_else(|e| panic!("cannot run local-aws: {e}"))
    };
    // WHEN the debug build is asked for, THEN the usage error names the release one
    let out = run("target/debug/cf-invalidate-lambda");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "function 'target/debug/cf-invalidate-lambda' not found: 'target/release/cf-invalidate-lambda' exists"
        ),
        "{stderr}"
    );
    // AND with neither, it says how to build it
    let _ = std::fs::remove_file(&release);
    let out = run("target/release/cf-invalidate-lambda");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "build it first: cargo build -p cf-invalidate --bin cf-invalidate-lambda --release"
        ),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// A site directory with nested folders.
fn site(dir: &std::path::Path, version: &str) -> PathBuf {
    let root = dir.join(format!("site-{version}"));
    for (name, body) in [
        ("index.html", format!("<h1>{version}</h1>")),
        ("assets/css/site.css", "body{margin:0}".to_string()),
        ("docs/guide/index.html", format!("guide {version}")),
    ] {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_artifact_and_the_previous_one_are_in_the_bucket_the_event_and_the_history() {
    // GIVEN a deployed site, the one the last successful execution deployed, and a function
    // that asks for its job details and history and reads 10 bytes of its artifact
    let dir = state_dir("artifact");
    let current = site(&dir, "v2");
    let previous = site(&dir, "v1");
    let mut c = config(json!({
        "history": true,
        "read_artifact": "bytes=0-9",
        "state_dir": dir.display().to_string(),
    }));
    c.artifact = Some(pipeline::ArtifactSource::Directory(current.clone()));
    c.previous_artifact = Some(pipeline::ArtifactSource::Directory(previous.clone()));
    let secret = c.artifact_credentials.secret_access_key.clone();
    // WHEN the action runs
    let report = run(c).await;
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    let bucket = "codepipeline-us-east-1-000000000000";
    let [old, new] = [&report.artifacts[0], &report.artifacts[1]];
    assert_eq!(old.role, pipeline::ArtifactRole::Previous);
    assert_eq!(new.role, pipeline::ArtifactRole::Current);
    let zipped = pipeline::zip_directory(&current).unwrap_or_default();
    assert_eq!(new.size, zipped.len() as u64);
    for a in [old, new] {
        assert_eq!(a.location.name, "BuildArtifact");
        assert_eq!(a.location.bucket, bucket);
        assert!(
            a.location
                .key
                .starts_with("cf-invalidate-pipeli/BuildArtif/"),
            "{}",
            a.location.key
        );
    }
    assert_ne!(old.location.key, new.location.key);

    // THEN the event names the artifact, with credentials of the job's own
    let data = &report.invocations[0].event["CodePipeline.job"]["data"];
    let location = json!({"bucketName": bucket, "objectKey": new.location.key});
    assert_eq!(data["inputArtifacts"][0]["name"], "BuildArtifact");
    assert_eq!(
        data["inputArtifacts"][0]["location"]["s3Location"],
        location
    );
    let key = data["artifactCredentials"]["accessKeyId"]
        .as_str()
        .unwrap_or_default();
    assert!(
        key.starts_with("ASIA") && key.len() == 20 && key != "ASIALOCALAWSARTIFACT",
        "{key}"
    );

    // AND GetJobDetails shows it
    let history = json_lines(&dir, "history.jsonl");
    assert_eq!(history.len(), 1, "{history:?}");
    let details = &history[0]["details"]["jobDetails"]["data"];
    assert_eq!(details["inputArtifacts"][0]["name"], "BuildArtifact");
    assert_eq!(
        details["inputArtifacts"][0]["location"]["s3Location"],
        location
    );

    // AND ListActionExecutions shows this execution in progress, then the previous one
    // succeeded in another pipeline execution, with the previous artifact
    let executions = history[0]["list"]["actionExecutionDetails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(executions.len(), 2, "{executions:?}");
    assert_eq!(executions[0]["status"], "InProgress");
    assert_eq!(
        executions[0]["actionExecutionId"].as_str(),
        report.action_execution_id.as_deref()
    );
    assert_eq!(executions[1]["status"], "Succeeded");
    assert_eq!(
        executions[1]["actionExecutionId"].as_str(),
        old.action_execution_id.as_deref()
    );
    assert_ne!(
        executions[1]["pipelineExecutionId"],
        executions[0]["pipelineExecutionId"]
    );
    for field in ["stageName", "actionName"] {
        assert_eq!(executions[1][field], executions[0][field]);
    }
    assert_eq!(
        executions[1]["input"]["inputArtifacts"][0],
        json!({"name": "BuildArtifact", "s3location": {"bucket": bucket, "key": old.location.key}})
    );

    // AND S3 served the job's key a ranged read, and refused the function's own
    let reads = json_lines(&dir, "artifacts.jsonl");
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["job_key"]["status"], 206);
    assert_eq!(reads[0]["job_key"]["bytes"], 10);
    assert_eq!(
        reads[0]["job_key"]["content_range"],
        format!("bytes 0-9/{}", zipped.len())
    );
    assert_eq!(reads[0]["own_key"]["status"], 403);
    assert_eq!(reads[0]["own_key"]["code"], "InvalidAccessKeyId");

    // AND the report counts the reads against the artifacts' sizes, and shows each one
    assert_eq!(report.counts.s3_get_object_calls, 2);
    assert_eq!(report.counts.s3_body_bytes_sent, 10);
    let text = report.render(false);
    assert!(
        text.contains(&format!(
            "S3 GetObject -> 206 (bytes 0-9/{}, 10 body bytes sent)",
            zipped.len()
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "S3 GetObject -> 403 InvalidAccessKeyId (access key id ASIALOCALAWSFUNCTION refused)"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "S3 reads:       2 GetObject call(s), 10 body byte(s) sent (previous artifact {} bytes, artifact {} bytes)",
            old.size, new.size
        )),
        "{text}"
    );
    // AND the secret is in no log nor report
    let json = serde_json::to_string(&report).unwrap_or_default();
    assert!(!json.is_empty());
    for shown in [&text, &report.render(true), &json] {
        assert!(!shown.contains(&secret), "the secret leaked");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_previous_run_and_an_expired_object_are_planted_as_asked() {
    let dir = state_dir("artifact-failed");
    let mut c = config(json!({"history": true, "state_dir": dir.display().to_string()}));
    c.artifact = Some(pipeline::ArtifactSource::Directory(site(&dir, "v2")));
    c.previous_artifact = Some(pipeline::ArtifactSource::Directory(site(&dir, "v1")));
    c.previous_status = local_aws::ActionExecutionStatus::Failed;
    c.previous_artifact_gone = true;
    c.artifact_name = "SiteOutput".to_string();
    let report = run(c).await;
    assert_eq!(
        report.verdict,
        Verdict::Succeeded,
        "{}",
        report.render(true)
    );
    let old = &report.artifacts[0];
    assert!(!old.stored);
    assert!(
        old.location
            .key
            .starts_with("cf-invalidate-pipeli/SiteOutput/")
    );
    let history = json_lines(&dir, "history.jsonl");
    let executions = &history[0]["list"]["actionExecutionDetails"];
    assert_eq!(executions[1]["status"], "Failed");
    assert_eq!(
        executions[1]["output"]["executionResult"]["errorDetails"]["code"],
        "JobFailed"
    );
    assert_eq!(
        executions[1]["input"]["inputArtifacts"][0]["s3location"]["key"],
        old.location.key.as_str()
    );
    assert!(
        report.render(false).contains(&format!(
            "previous artifact {} bytes, object deleted",
            old.size
        )),
        "{}",
        report.render(false)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_artifact_that_is_no_directory_nor_zip_is_a_usage_error() {
    let dir = state_dir("artifact-bad");
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "not a zip").unwrap_or_else(|e| panic!("write: {e}"));
    let notes = notes.display().to_string();
    let out = local_aws(&["pipeline", "--function", "python3", "--artifact", &notes]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{notes} is neither a directory nor a zip")),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
