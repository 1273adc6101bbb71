//! Conformance with the real AWS CLI (botocore): every call the project makes, and the error
//! codes, must parse as they would against AWS.

mod support;

use std::time::Duration;

use local_aws::{
    ActionExecution, ActionExecutionStatus, ActionOutput, Clock, DistributionConfig, DurationRange,
    Emulator, EmulatorConfig, EmulatorHandle, GetJobDetailsMode, JobContext, JobResult, S3Artifact,
    SessionCredentials,
};
use support::aws;

const DIST: &str = "E2QWRUHEXAMPLE";
const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
/// What CloudFront says about a reused CallerReference.
const REUSED: &str = "Your request contains a caller reference that was used for a previous invalidation batch for the same distribution.";

async fn emulator(completes_after: Duration) -> EmulatorHandle {
    let config = EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DIST).completes_after(DurationRange::fixed(completes_after)),
            DistributionConfig::denied("EDENIEDEXAMPLE"),
        ],
        seed: Some(11),
        ..EmulatorConfig::default()
    };
    match Emulator::start(config).await {
        Ok(h) => h,
        Err(e) => panic!("emulator did not start: {e}"),
    }
}

fn batch_arg(paths: &[&str], reference: &str) -> String {
    serde_json::json!({
        "Paths": {"Quantity": paths.len(), "Items": paths},
        "CallerReference": reference,
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_create_get_list_with_the_cli() {
    let emu = emulator(Duration::from_secs(600)).await;
    let ep = emu.endpoint();

    // --invalidation-batch form.
    let batch = batch_arg(&["/index.html", "/assets/*"], "ref-1");
    let created = aws(
        &ep,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            DIST,
            "--invalidation-batch",
            &batch,
        ],
        &[],
    )
    .await
    .ok();
    let inv = &created["Invalidation"];
    let id = inv["Id"].as_str().unwrap_or_default().to_string();
    assert!(id.starts_with('I') && (13..=26).contains(&id.len()), "{id}");
    assert_eq!(inv["Status"], "InProgress");
    assert_eq!(inv["InvalidationBatch"]["Paths"]["Quantity"], 2);
    assert_eq!(
        inv["InvalidationBatch"]["Paths"]["Items"],
        serde_json::json!(["/index.html", "/assets/*"])
    );
    assert_eq!(inv["InvalidationBatch"]["CallerReference"], "ref-1");
    assert!(
        inv["CreateTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') || t.contains("+00:00"))
    );
    assert_eq!(
        created["Location"],
        format!("{ep}/2020-05-31/distribution/{DIST}/invalidation/{id}")
    );

    // Same CallerReference and paths: the same invalidation, no new one.
    let again = aws(
        &ep,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            DIST,
            "--invalidation-batch",
            &batch_arg(&["/assets/*", "/index.html"], "ref-1"),
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(again["Invalidation"]["Id"], id.as_str());
    assert_eq!(emu.invalidations(DIST).len(), 1);

    // --paths form: the CLI makes up the CallerReference.
    let by_paths = aws(
        &ep,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            DIST,
            "--paths",
            "/a.html",
            "/b/*",
        ],
        &[],
    )
    .await
    .ok();
    let id2 = by_paths["Invalidation"]["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_ne!(id2, id);
    assert!(
        by_paths["Invalidation"]["InvalidationBatch"]["CallerReference"]
            .as_str()
            .is_some_and(|r| r.starts_with("cli-"))
    );

    let got = aws(
        &ep,
        &[
            "cloudfront",
            "get-invalidation",
            "--distribution-id",
            DIST,
            "--id",
            &id,
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(got["Invalidation"]["Id"], id.as_str());
    assert_eq!(got["Invalidation"]["Status"], "InProgress");

    let third = aws(
        &ep,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            DIST,
            "--paths",
            "/c.html",
        ],
        &[],
    )
    .await
    .ok();
    let id3 = third["Invalidation"]["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // One API page, newest first.
    let page = aws(
        &ep,
        &[
            "cloudfront",
            "list-invalidations",
            "--distribution-id",
            DIST,
            "--max-items",
            "2",
            "--no-paginate",
        ],
        &[],
    )
    .await
    .ok();
    let list = &page["InvalidationList"];
    assert_eq!(list["Quantity"], 2);
    assert_eq!(list["IsTruncated"], true);
    assert_eq!(list["MaxItems"], 2);
    let ids: Vec<&str> = list["Items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["Id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, [id3.as_str(), id2.as_str()]);
    assert_eq!(list["NextMarker"], id2.as_str());
    assert_eq!(list["Items"][0]["Status"], "InProgress");

    // The API-level marker gives the rest.
    let rest = aws(
        &ep,
        &[
            "cloudfront",
            "list-invalidations",
            "--distribution-id",
            DIST,
            "--no-paginate",
            "--marker",
            &id2,
            "--max-items",
            "2",
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(rest["InvalidationList"]["IsTruncated"], false);
    assert_eq!(rest["InvalidationList"]["Items"][0]["Id"], id.as_str());
    assert!(rest["InvalidationList"].get("NextMarker").is_none());

    // The CLI's paginator walks pages of one.
    let walked = aws(
        &ep,
        &[
            "cloudfront",
            "list-invalidations",
            "--distribution-id",
            DIST,
            "--page-size",
            "1",
        ],
        &[],
    )
    .await
    .ok();
    let all: Vec<&str> = walked["InvalidationList"]["Items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["Id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(all, [id3.as_str(), id2.as_str(), id.as_str()]);
    let list_calls = emu
        .request_log()
        .iter()
        .filter(|r| r.operation == "ListInvalidations")
        .count();
    assert!(
        list_calls >= 2 + 3,
        "the paginator made {list_calls} ListInvalidations calls in all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_errors_reach_the_cli_with_their_codes() {
    let emu = emulator(Duration::from_secs(600)).await;
    let ep = emu.endpoint();
    let create = |dist: &'static str, batch: String| {
        let ep = ep.clone();
        async move {
            aws(
                &ep,
                &[
                    "cloudfront",
                    "create-invalidation",
                    "--distribution-id",
                    dist,
                    "--invalidation-batch",
                    &batch,
                ],
                &[],
            )
            .await
        }
    };

    create("ENOSUCHDIST", batch_arg(&["/a"], "r"))
        .await
        .fails_with("NoSuchDistribution");
    let denied = create("EDENIEDEXAMPLE", batch_arg(&["/a"], "r")).await;
    denied.fails_with("AccessDenied");
    assert!(denied.stderr.contains("is not authorized to perform: cloudfront:CreateInvalidation on resource: arn:aws:cloudfront::000000000000:distribution/EDENIEDEXAMPLE"), "{}", denied.stderr);
    create(DIST, batch_arg(&["/a b"], "r-space"))
        .await
        .fails_with("InvalidArgument");
    create(DIST, batch_arg(&["no-slash"], "r-slash"))
        .await
        .fails_with("InvalidArgument");
    create(DIST, batch_arg(&["/a*/b"], "r-star"))
        .await
        .fails_with("InvalidArgument");
    let inconsistent =
        serde_json::json!({"Paths": {"Quantity": 3, "Items": ["/a"]}, "CallerReference": "r-q"})
            .to_string();
    create(DIST, inconsistent)
        .await
        .fails_with("InconsistentQuantities");

    create(DIST, batch_arg(&["/x"], "r-dup")).await.ok();
    let reused = create(DIST, batch_arg(&["/y"], "r-dup")).await;
    reused.fails_with("InvalidArgument");
    assert!(reused.stderr.contains(REUSED), "{}", reused.stderr);

    let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
    let wild: Vec<&str> = wild.iter().map(String::as_str).collect();
    create(DIST, batch_arg(&wild, "r-wild")).await.ok();
    create(DIST, batch_arg(&["/one-more/*"], "r-wild-2"))
        .await
        .fails_with("TooManyInvalidationsInProgress");

    aws(
        &ep,
        &[
            "cloudfront",
            "get-invalidation",
            "--distribution-id",
            DIST,
            "--id",
            "INOSUCHINVALIDATION",
        ],
        &[],
    )
    .await
    .fails_with("NoSuchInvalidation");

    let batch_too_large: Vec<String> = (0..3001).map(|i| format!("/f{i}")).collect();
    let batch_too_large: Vec<&str> = batch_too_large.iter().map(String::as_str).collect();
    create(DIST, batch_arg(&batch_too_large, "r-big"))
        .await
        .fails_with("BatchTooLarge");

    // Injected throttling reaches the CLI as Throttling (retries are off in these runs).
    emu.set_faults("cloudfront.throttle=1".parse().unwrap_or_default());
    aws(
        &ep,
        &[
            "cloudfront",
            "get-invalidation",
            "--distribution-id",
            DIST,
            "--id",
            "I1",
        ],
        &[],
    )
    .await
    .fails_with("Throttling");
    emu.set_faults("cloudfront.unavailable=1".parse().unwrap_or_default());
    aws(
        &ep,
        &[
            "cloudfront",
            "get-invalidation",
            "--distribution-id",
            DIST,
            "--id",
            "I1",
        ],
        &[],
    )
    .await
    .fails_with("ServiceUnavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_waiter_returns_once_the_invalidation_completes() {
    // A manual clock: the invalidation completes exactly when the test says so.
    let emu = Emulator::start(EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DIST)
                .completes_after(DurationRange::fixed(Duration::from_secs(60))),
        ],
        clock: Clock::manual(),
        seed: Some(12),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("emulator did not start: {e}"));
    let ep = emu.endpoint();
    let created = aws(
        &ep,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            DIST,
            "--paths",
            "/index.html",
        ],
        &[],
    )
    .await
    .ok();
    let id = created["Invalidation"]["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // botocore's waiter polls every 20 s: give it a 1 s delay through AWS_DATA_PATH so the test
    // can watch it poll while the invalidation is InProgress and then see it Completed.
    let data = tempdir("waiter");
    let waiter_dir = data.join("cloudfront").join("2020-05-31");
    std::fs::create_dir_all(&waiter_dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let waiters = serde_json::json!({"version": 2, "waiters": {"InvalidationCompleted": {
        "delay": 1, "maxAttempts": 30, "operation": "GetInvalidation",
        "acceptors": [{"matcher": "path", "argument": "Invalidation.Status", "state": "success", "expected": "Completed"}]}}});
    std::fs::write(waiter_dir.join("waiters-2.json"), waiters.to_string())
        .unwrap_or_else(|e| panic!("write: {e}"));
    let data_path = data.display().to_string();
    let waiter = {
        let (ep, id, data_path) = (ep.clone(), id.clone(), data_path.clone());
        tokio::spawn(async move {
            aws(
                &ep,
                &[
                    "cloudfront",
                    "wait",
                    "invalidation-completed",
                    "--distribution-id",
                    DIST,
                    "--id",
                    &id,
                ],
                &[("AWS_DATA_PATH", &data_path)],
            )
            .await
        })
    };
    let gets = || {
        emu.request_log()
            .iter()
            .filter(|r| r.operation == "GetInvalidation")
            .count()
    };
    let started = std::time::Instant::now();
    while gets() < 2 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gets() >= 2, "the waiter did not poll twice");
    assert!(
        !waiter.is_finished(),
        "the waiter returned while the invalidation was InProgress"
    );
    emu.clock().advance(Duration::from_secs(60));
    let run = waiter.await.unwrap_or_else(|e| panic!("waiter task: {e}"));
    run.ok();
    let outcomes: Vec<String> = emu
        .request_log()
        .iter()
        .filter(|r| r.operation == "GetInvalidation")
        .map(|r| r.outcome())
        .collect();
    assert!(outcomes.iter().all(|o| o == "200"), "{outcomes:?}");
    assert_eq!(
        emu.invalidations(DIST)[0].status,
        local_aws::InvalidationStatus::Completed
    );

    // And the stock waiter (20 s delay) returns at once on a completed invalidation.
    aws(
        &ep,
        &[
            "cloudfront",
            "wait",
            "invalidation-completed",
            "--distribution-id",
            DIST,
            "--id",
            &id,
        ],
        &[],
    )
    .await
    .ok();
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codepipeline_results_with_the_cli() {
    let emu = emulator(Duration::from_secs(1)).await;
    let ep = emu.endpoint();
    let job = emu.create_job(None);
    aws(
        &ep,
        &[
            "codepipeline",
            "put-job-success-result",
            "--job-id",
            &job,
            "--continuation-token",
            "tok-1",
            "--execution-details",
            "summary=waiting,externalExecutionId=I123,percentComplete=50",
        ],
        &[],
    )
    .await
    .ok();
    assert!(matches!(
        emu.job(&job).and_then(|j| j.result),
        Some(JobResult::Succeeded { continuation_token: Some(ref t), percent_complete: Some(50), .. }) if t == "tok-1"
    ));
    aws(
        &ep,
        &["codepipeline", "put-job-success-result", "--job-id", &job],
        &[],
    )
    .await
    .fails_with("InvalidJobStateException");

    let job2 = emu.create_job(Some("tok-1".into()));
    aws(
        &ep,
        &[
            "codepipeline",
            "put-job-success-result",
            "--job-id",
            &job2,
            "--output-variables",
            "InvalidationIds=I123,Paths=2",
        ],
        &[],
    )
    .await
    .ok();
    match emu.job(&job2).and_then(|j| j.result) {
        Some(JobResult::Succeeded {
            output_variables,
            continuation_token: None,
            ..
        }) => {
            assert_eq!(
                output_variables.get("InvalidationIds").map(String::as_str),
                Some("I123")
            );
        }
        other => panic!("unexpected job result {other:?}"),
    }

    let job3 = emu.create_job(None);
    aws(
        &ep,
        &[
            "codepipeline",
            "put-job-failure-result",
            "--job-id",
            &job3,
            "--failure-details",
            "type=ConfigurationError,message=no distribution",
        ],
        &[],
    )
    .await
    .ok();
    assert!(
        matches!(emu.job(&job3).and_then(|j| j.result), Some(JobResult::Failed { ref failure_type, .. }) if failure_type == "ConfigurationError")
    );

    aws(
        &ep,
        &[
            "codepipeline",
            "put-job-success-result",
            "--job-id",
            "11111111-abcd-1111-abcd-111111abcdef",
        ],
        &[],
    )
    .await
    .fails_with("JobNotFoundException");
    aws(
        &ep,
        &[
            "codepipeline",
            "put-job-success-result",
            "--job-id",
            "not-a-job-id",
        ],
        &[],
    )
    .await
    .fails_with("ValidationException");
    let job4 = emu.create_job(None);
    aws(
        &ep,
        &[
            "codepipeline",
            "put-job-success-result",
            "--job-id",
            &job4,
            "--continuation-token",
            "t",
            "--output-variables",
            "a=b",
        ],
        &[],
    )
    .await
    .fails_with("ValidationException");
    aws(
        &ep,
        &[
            "codepipeline",
            "put-job-failure-result",
            "--job-id",
            &job4,
            "--failure-details",
            "type=Oops,message=m",
        ],
        &[],
    )
    .await
    .fails_with("ValidationException");
    // None of the refused calls changed job4.
    assert_eq!(emu.job(&job4).and_then(|j| j.result), None);

    // A 5xx reaches the CLI and does not change the job either.
    emu.set_faults("codepipeline.unavailable=1".parse().unwrap_or_default());
    let run = aws(
        &ep,
        &["codepipeline", "put-job-success-result", "--job-id", &job4],
        &[],
    )
    .await;
    assert!(
        !run.success && (run.stderr.contains("503") || run.stderr.contains("ServiceUnavailable")),
        "{}",
        run.stderr
    );
    assert_eq!(emu.job(&job4).and_then(|j| j.result), None);

    let log = emu.request_log();
    let codes: Vec<Option<&str>> = log
        .iter()
        .filter(|r| r.job_id.as_deref() == Some(job4.as_str()))
        .map(|r| r.error_code.as_deref())
        .collect();
    assert_eq!(
        codes,
        [
            Some("ValidationException"),
            Some("ValidationException"),
            Some("ServiceUnavailableException")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_throttles_as_aws_does_and_the_cli_reports_it() {
    // GIVEN `local-aws serve` throttling every CodePipeline and CloudFront call
    let job = "33333333-abcd-3333-abcd-333333abcdef";
    let (_serve, ep) = support::start_serve(&[
        "--distribution",
        DIST,
        "--job",
        job,
        "--faults",
        "codepipeline.throttle=1.0,cloudfront.throttle=1.0",
    ])
    .await;

    // WHEN the AWS CLI reports on the job and creates an invalidation, without retries
    let no_retry = [("AWS_MAX_ATTEMPTS", "1")];
    let put = aws(
        &ep,
        &["codepipeline", "put-job-success-result", "--job-id", job],
        &no_retry,
    )
    .await;
    let create = aws(
        &ep,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            DIST,
            "--paths",
            "/index.html",
        ],
        &no_retry,
    )
    .await;

    // THEN botocore recognises AWS's throttling errors, with AWS's message
    put.fails_with("ThrottlingException");
    assert!(put.stderr.contains("Rate exceeded"), "{}", put.stderr);
    create.fails_with("Throttling");
    assert!(create.stderr.contains("Rate exceeded"), "{}", create.stderr);

    // AND neither call changed anything
    let addr: std::net::SocketAddr = ep
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("bad endpoint {ep}: {e}"));
    let jobs = support::http(addr, "GET", "/_local/jobs", &[], "")
        .await
        .json();
    assert_eq!(jobs[0]["job_id"], job);
    assert!(jobs[0]["result"].is_null(), "{jobs}");
    let invalidations = support::http(addr, "GET", "/_local/invalidations", &[], "")
        .await
        .json();
    assert_eq!(invalidations, serde_json::json!([]));
}

const EXECUTION_1: &str = "0f7c8a42-1d2e-4b5f-9a6c-3e4d5f6a7b8c";
const EXECUTION_2: &str = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

/// Records an execution of `site`'s Invalidate action that started at `start_s` (epoch s).
fn record(emu: &EmulatorHandle, execution: &str, start_s: u64, key: &str) -> String {
    let mut e = ActionExecution::started("site", "Deploy", "Invalidate", execution);
    e.start_epoch_ms = start_s * 1000;
    e.last_update_epoch_ms = start_s * 1000 + 1500;
    e.status = ActionExecutionStatus::Succeeded;
    e.input_artifacts.push(S3Artifact {
        name: "SourceOutput".to_string(),
        bucket: "artifact-bucket".to_string(),
        key: key.to_string(),
    });
    e.output = ActionOutput {
        summary: Some("done".to_string()),
        ..ActionOutput::default()
    };
    emu.record_action_execution(e)
}

fn execution_ids(answer: &serde_json::Value) -> Vec<String> {
    answer["actionExecutionDetails"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["actionExecutionId"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_details_and_action_executions_with_the_cli() {
    let emu = emulator(Duration::from_secs(1)).await;
    let ep = emu.endpoint();
    // GIVEN three executions of the action in two pipeline executions (the last a Retry)
    let first = record(&emu, EXECUTION_1, 1_780_000_000, "a.zip");
    let second = record(&emu, EXECUTION_2, 1_780_000_100, "b.zip");
    let retry = record(&emu, EXECUTION_1, 1_780_000_200, "a.zip");
    // AND a job of the retry
    let job = emu.create_job_in(
        JobContext {
            pipeline_name: "site".to_string(),
            stage_name: "Deploy".to_string(),
            action_name: "Invalidate".to_string(),
            action_execution_id: retry.clone(),
            pipeline_execution_id: EXECUTION_1.to_string(),
            configuration: [("FunctionName".to_string(), "cf-invalidate".to_string())].into(),
            input_artifacts: vec![S3Artifact {
                name: "SourceOutput".to_string(),
                bucket: "artifact-bucket".to_string(),
                key: "a.zip".to_string(),
            }],
            artifact_credentials: Some(SessionCredentials {
                access_key_id: "ASIAEXAMPLE".to_string(),
                secret_access_key: "secret".to_string(),
                session_token: "token".to_string(),
            }),
        },
        None,
    );

    // GetJobDetails parses as botocore's model says.
    let details = aws(
        &ep,
        &["codepipeline", "get-job-details", "--job-id", &job],
        &[],
    )
    .await
    .ok();
    let data = &details["jobDetails"]["data"];
    assert_eq!(details["jobDetails"]["id"], job.as_str());
    assert_eq!(details["jobDetails"]["accountId"], "000000000000");
    assert_eq!(data["pipelineContext"]["pipelineName"], "site");
    assert_eq!(data["pipelineContext"]["stage"]["name"], "Deploy");
    assert_eq!(
        data["pipelineContext"]["action"]["actionExecutionId"],
        retry.as_str()
    );
    assert_eq!(data["pipelineContext"]["pipelineExecutionId"], EXECUTION_1);
    assert_eq!(
        data["pipelineContext"]["pipelineArn"],
        "arn:aws:codepipeline:us-east-1:000000000000:site"
    );
    assert_eq!(
        data["inputArtifacts"][0]["location"],
        serde_json::json!({"type": "S3", "s3Location": {"bucketName": "artifact-bucket", "objectKey": "a.zip"}})
    );
    assert_eq!(data["actionTypeId"]["provider"], "Lambda");
    assert_eq!(data["artifactCredentials"]["accessKeyId"], "ASIAEXAMPLE");
    aws(
        &ep,
        &[
            "codepipeline",
            "get-job-details",
            "--job-id",
            "11111111-abcd-1111-abcd-111111abcdef",
        ],
        &[],
    )
    .await
    .fails_with("JobNotFoundException");
    aws(
        &ep,
        &["codepipeline", "get-job-details", "--job-id", "not-a-job"],
        &[],
    )
    .await
    .fails_with("ValidationException");

    // ListActionExecutions: the CLI pages through every execution, newest first. With
    // cli_timestamp_format iso8601 it prints the timestamps botocore parsed.
    let dir = tempdir("history");
    let config = dir.join("config");
    std::fs::write(&config, "[default]\ncli_timestamp_format = iso8601\n")
        .unwrap_or_else(|e| panic!("write {}: {e}", config.display()));
    let config = config.display().to_string();
    let all = aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--pipeline-name",
            "site",
            "--page-size",
            "1",
        ],
        &[("AWS_CONFIG_FILE", config.as_str())],
    )
    .await
    .ok();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        execution_ids(&all),
        [retry.clone(), second.clone(), first.clone()]
    );
    let calls = emu
        .request_log()
        .iter()
        .filter(|r| r.operation == "ListActionExecutions")
        .count();
    assert_eq!(calls, 3, "one call per page of one");
    let newest = &all["actionExecutionDetails"][0];
    assert_eq!(newest["status"], "Succeeded");
    assert_eq!(newest["pipelineVersion"], 1);
    assert_eq!(
        newest["input"]["inputArtifacts"][0]["s3location"],
        serde_json::json!({"bucket": "artifact-bucket", "key": "a.zip"})
    );
    assert_eq!(
        newest["output"]["executionResult"]["externalExecutionSummary"],
        "done"
    );
    // botocore parsed the epoch-seconds timestamps.
    assert_eq!(newest["startTime"], "2026-05-28T20:30:00+00:00", "{newest}");
    assert_eq!(
        newest["lastUpdateTime"], "2026-05-28T20:30:01.500000+00:00",
        "{newest}"
    );

    // --max-items stops early with the CLI's token; --starting-token resumes.
    let page = aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--pipeline-name",
            "site",
            "--max-items",
            "2",
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(execution_ids(&page), [retry.clone(), second.clone()]);
    let token = page["NextToken"].as_str().unwrap_or_default().to_string();
    assert!(!token.is_empty(), "{page}");
    let rest = aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--pipeline-name",
            "site",
            "--starting-token",
            &token,
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(execution_ids(&rest), [first.as_str()]);

    // One API page (maxResults passed as is): the service's own nextToken.
    let one = aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--no-paginate",
            "--cli-input-json",
            r#"{"pipelineName": "site", "maxResults": 2}"#,
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(execution_ids(&one), [retry.clone(), second.clone()]);
    assert!(
        one["nextToken"].as_str().is_some_and(|t| !t.is_empty()),
        "{one}"
    );

    // The filter.
    let filtered = aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--pipeline-name",
            "site",
            "--filter",
            &format!("pipelineExecutionId={EXECUTION_1}"),
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(execution_ids(&filtered), [retry.clone(), first.clone()]);

    // The errors.
    aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--pipeline-name",
            "nope",
        ],
        &[],
    )
    .await
    .fails_with("PipelineNotFoundException");
    aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--pipeline-name",
            "site",
            "--filter",
            "pipelineExecutionId=99999999-0000-4000-8000-000000000000",
        ],
        &[],
    )
    .await
    .fails_with("PipelineExecutionNotFoundException");
    aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--no-paginate",
            "--cli-input-json",
            r#"{"pipelineName": "site", "maxResults": 101}"#,
        ],
        &[],
    )
    .await
    .fails_with("ValidationException");
    aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--no-paginate",
            "--cli-input-json",
            r#"{"pipelineName": "site", "nextToken": "not-a-token-of-ours"}"#,
        ],
        &[],
    )
    .await
    .fails_with("InvalidNextTokenException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_job_details_refusals_and_faults_reach_the_cli() {
    let emu = emulator(Duration::from_secs(1)).await;
    let ep = emu.endpoint();
    let job = emu.create_job(None);
    emu.add_pipeline("empty");
    let empty = aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--pipeline-name",
            "empty",
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(empty["actionExecutionDetails"], serde_json::json!([]));

    // A job created without a context still answers, with what is known of it.
    let bare = aws(
        &ep,
        &["codepipeline", "get-job-details", "--job-id", &job],
        &[],
    )
    .await
    .ok();
    assert_eq!(bare["jobDetails"]["id"], job.as_str());

    emu.set_get_job_details(GetJobDetailsMode::AccessDenied);
    let denied = aws(
        &ep,
        &["codepipeline", "get-job-details", "--job-id", &job],
        &[],
    )
    .await;
    denied.fails_with("AccessDeniedException");
    assert!(
        denied.stderr.contains("codepipeline:GetJobDetails"),
        "{}",
        denied.stderr
    );
    emu.set_get_job_details(GetJobDetailsMode::NotFound);
    aws(
        &ep,
        &["codepipeline", "get-job-details", "--job-id", &job],
        &[],
    )
    .await
    .fails_with("JobNotFoundException");

    // The CodePipeline faults hit the new operations too.
    emu.set_get_job_details(GetJobDetailsMode::Allow);
    emu.set_faults("codepipeline.throttle=2".parse().unwrap_or_default());
    aws(
        &ep,
        &["codepipeline", "get-job-details", "--job-id", &job],
        &[],
    )
    .await
    .fails_with("ThrottlingException");
    aws(
        &ep,
        &[
            "codepipeline",
            "list-action-executions",
            "--pipeline-name",
            "empty",
        ],
        &[],
    )
    .await
    .fails_with("ThrottlingException");
    aws(
        &ep,
        &["codepipeline", "get-job-details", "--job-id", &job],
        &[],
    )
    .await
    .ok();
}

/// `aws cloudfront create-invalidation` (or the tenant form) with a batch and a reference.
async fn create_with_reference(
    ep: &str,
    operation: &str,
    id_flag: &str,
    id: &str,
    paths: &[&str],
    reference: &str,
) -> support::CliRun {
    let batch = batch_arg(paths, reference);
    aws(
        ep,
        &[
            "cloudfront",
            operation,
            id_flag,
            id,
            "--invalidation-batch",
            &batch,
        ],
        &[],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_caller_reference_reaches_the_cli_as_invalid_argument() {
    // GIVEN the default mode: the same batch returns the existing invalidation
    let (_lenient, ep) = support::start_serve(&["--distribution", DIST]).await;
    let create = |paths: &'static [&'static str]| {
        let ep = ep.clone();
        async move {
            create_with_reference(
                &ep,
                "create-invalidation",
                "--distribution-id",
                DIST,
                paths,
                "deploy-42",
            )
            .await
        }
    };
    let first = create(&["/index.html"]).await.ok();
    let again = create(&["/index.html"]).await.ok();
    assert_eq!(again["Invalidation"]["Id"], first["Invalidation"]["Id"]);
    // WHEN the reference comes back with other paths THEN InvalidArgument, CloudFront's words
    let other = create(&["/other.html"]).await;
    other.fails_with("InvalidArgument");
    assert!(other.stderr.contains(REUSED), "{}", other.stderr);

    // GIVEN the strict mode, on a distribution and on a tenant
    let (_strict, ep) = support::start_serve(&[
        "--distribution",
        DIST,
        "--multi-tenant-distribution",
        "EMULTITENANT",
        "--distribution-tenant",
        TENANT,
        "--strict-caller-reference",
    ])
    .await;
    for (operation, id_flag, id) in [
        ("create-invalidation", "--distribution-id", DIST),
        (
            "create-invalidation-for-distribution-tenant",
            "--id",
            TENANT,
        ),
    ] {
        create_with_reference(&ep, operation, id_flag, id, &["/index.html"], "deploy-42")
            .await
            .ok();
        // WHEN the very same batch is sent again THEN it is refused all the same
        let refused =
            create_with_reference(&ep, operation, id_flag, id, &["/index.html"], "deploy-42").await;
        refused.fails_with("InvalidArgument");
        assert!(
            refused.stderr.contains(REUSED),
            "{operation}: {}",
            refused.stderr
        );
    }
    // AND the request log tells why
    let addr: std::net::SocketAddr = ep
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("bad endpoint {ep}: {e}"));
    let log = support::http(addr, "GET", "/_local/requests", &[], "")
        .await
        .json();
    let strict: Vec<&serde_json::Value> = log
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["caller_reference_reuse"] == "refused-strict")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(strict.len(), 2, "{log}");
    assert!(
        strict.iter().all(|r| r["detail"]
            .as_str()
            .is_some_and(|d| d.contains("strict CallerReference mode"))),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_tenants_with_the_cli() {
    // GIVEN `serve` with a multi-tenant distribution and one of its tenants
    let (_serve, ep) = support::start_serve(&[
        "--multi-tenant-distribution",
        "EMULTITENANT:10m",
        "--distribution-tenant",
        TENANT,
    ])
    .await;

    // WHEN the CLI creates, gets and lists the tenant's invalidations
    let created = create_with_reference(
        &ep,
        "create-invalidation-for-distribution-tenant",
        "--id",
        TENANT,
        &["/index.html", "/assets/*"],
        "tenant-ref-1",
    )
    .await
    .ok();
    let id = created["Invalidation"]["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(id.starts_with('I') && (13..=26).contains(&id.len()), "{id}");
    assert_eq!(created["Invalidation"]["Status"], "InProgress");
    assert_eq!(
        created["Invalidation"]["InvalidationBatch"]["Paths"]["Items"],
        serde_json::json!(["/index.html", "/assets/*"])
    );
    assert_eq!(
        created["Location"],
        format!("{ep}/2020-05-31/distribution-tenant/{TENANT}/invalidation/{id}")
    );
    let second = create_with_reference(
        &ep,
        "create-invalidation-for-distribution-tenant",
        "--id",
        TENANT,
        &["/b.html"],
        "tenant-ref-2",
    )
    .await
    .ok();
    let id2 = second["Invalidation"]["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let got = aws(
        &ep,
        &[
            "cloudfront",
            "get-invalidation-for-distribution-tenant",
            "--distribution-tenant-id",
            TENANT,
            "--id",
            &id,
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(got["Invalidation"]["Id"], id.as_str());
    assert_eq!(
        got["Invalidation"]["InvalidationBatch"]["CallerReference"],
        "tenant-ref-1"
    );
    let page = aws(
        &ep,
        &[
            "cloudfront",
            "list-invalidations-for-distribution-tenant",
            "--id",
            TENANT,
            "--max-items",
            "1",
            "--no-paginate",
        ],
        &[],
    )
    .await
    .ok();
    let list = &page["InvalidationList"];
    assert_eq!(list["Quantity"], 1);
    assert_eq!(list["IsTruncated"], true);
    assert_eq!(list["NextMarker"], id2.as_str());
    assert_eq!(list["Items"][0]["Id"], id2.as_str());
    assert_eq!(list["Items"][0]["Status"], "InProgress");
    let all = aws(
        &ep,
        &[
            "cloudfront",
            "list-invalidations-for-distribution-tenant",
            "--id",
            TENANT,
        ],
        &[],
    )
    .await
    .ok();
    let ids: Vec<&str> = all["InvalidationList"]["Items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["Id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, [id2.as_str(), id.as_str()]);

    // THEN an unknown tenant is EntityNotFound for each of the three operations
    let unknown = "dt_2x9GhoK0TZRsohWzv1b9It8J1AB";
    create_with_reference(
        &ep,
        "create-invalidation-for-distribution-tenant",
        "--id",
        unknown,
        &["/a"],
        "r",
    )
    .await
    .fails_with("EntityNotFound");
    aws(
        &ep,
        &[
            "cloudfront",
            "get-invalidation-for-distribution-tenant",
            "--distribution-tenant-id",
            unknown,
            "--id",
            &id,
        ],
        &[],
    )
    .await
    .fails_with("EntityNotFound");
    aws(
        &ep,
        &[
            "cloudfront",
            "list-invalidations-for-distribution-tenant",
            "--id",
            unknown,
        ],
        &[],
    )
    .await
    .fails_with("EntityNotFound");
    // AND the multi-tenant distribution itself takes no invalidation
    aws(
        &ep,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            "EMULTITENANT",
            "--paths",
            "/a",
        ],
        &[],
    )
    .await
    .fails_with("NoSuchDistribution");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_reach_the_cli_as_access_denied() {
    let (_serve, ep) = support::start_serve(&[
        "--distribution",
        DIST,
        "--distribution-tenant",
        TENANT,
        "--unknown-ids",
        "access-denied",
    ])
    .await;
    let denied = aws(
        &ep,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            "E2QWRUHEXAMPLF",
            "--paths",
            "/a",
        ],
        &[],
    )
    .await;
    denied.fails_with("AccessDenied");
    assert!(
        denied.stderr.contains("is not authorized to perform: cloudfront:CreateInvalidation on resource: arn:aws:cloudfront::000000000000:distribution/E2QWRUHEXAMPLF because no identity-based policy allows the cloudfront:CreateInvalidation action"),
        "{}",
        denied.stderr
    );
    let denied = aws(
        &ep,
        &[
            "cloudfront",
            "list-invalidations-for-distribution-tenant",
            "--id",
            "dt_typo",
        ],
        &[],
    )
    .await;
    denied.fails_with("AccessDenied");
    assert!(
        denied
            .stderr
            .contains("cloudfront:ListInvalidationsForDistributionTenant on resource: arn:aws:cloudfront::000000000000:distribution-tenant/dt_typo"),
        "{}",
        denied.stderr
    );
    // The ids that exist still work.
    aws(
        &ep,
        &[
            "cloudfront",
            "list-invalidations",
            "--distribution-id",
            DIST,
        ],
        &[],
    )
    .await
    .ok();
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "local-aws-{tag}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
