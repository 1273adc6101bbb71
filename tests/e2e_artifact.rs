//! End to end, `pathsFromArtifact`: the real `cf-invalidate-lambda` binary reads the job's input
//! artifact and the previous run's from local-aws's S3 with the job's artifact credentials, finds
//! the previous run through CodePipeline's API, and invalidates what the deploy changed.

mod e2e_support;

use e2e_support::{explain, run_to_end};

use std::io::{Cursor, Write};
use std::time::Duration;

use local_aws::pipeline::{
    ArtifactCredentials, ArtifactSource, PipelineConfig, PipelineReport, Verdict,
};
use local_aws::{DistributionConfig, DurationRange, GetJobDetailsMode};
use zip::write::SimpleFileOptions;

const DIST: &str = "E2QWRUHAPOMQZL";
const CHANGED: &str = r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed", "directoryIndex": "index.html"}"#;

/// A zip of `(name, contents)`, written by an independent writer; `large` writes ZIP64 records.
fn zip_of(files: &[(&str, &str)], large: bool) -> Vec<u8> {
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(large);
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents) in files {
        if name.ends_with('/') {
            writer.add_directory(*name, options).expect("directory");
        } else {
            writer.start_file(*name, options).expect("file");
            writer.write_all(contents.as_bytes()).expect("contents");
        }
    }
    writer.finish().expect("finish").into_inner()
}

const OLD: &[(&str, &str)] = &[
    ("index.html", "home"),
    ("docs/", ""),
    ("docs/index.html", "docs v1"),
    ("docs/guide.html", "guide"),
    ("css/site.css", "body{}"),
    ("old.html", "to be removed"),
];

const NEW: &[(&str, &str)] = &[
    ("index.html", "home"),
    ("docs/", ""),
    ("docs/index.html", "docs v2"),
    ("docs/guide.html", "guide"),
    ("css/site.css", "body{color:red}"),
    ("news/new post.html", "new"),
];

fn pipeline(user_parameters: &str, now: Vec<u8>, before: Option<Vec<u8>>) -> PipelineConfig {
    let mut config =
        PipelineConfig::new(env!("CARGO_BIN_EXE_cf-invalidate-lambda"), user_parameters)
            .distribution(
                DistributionConfig::new(DIST)
                    .completes_after(DurationRange::fixed(Duration::from_secs(1))),
            );
    config.world.seed = Some(14);
    config.reinvoke_delay = Duration::from_millis(200);
    config.retry_delay = Duration::from_millis(300);
    config.no_reply_timeout = Duration::from_secs(60);
    config.artifact = Some(ArtifactSource::Bytes(now));
    config.previous_artifact = before.map(ArtifactSource::Bytes);
    config
}

fn invalidated(report: &PipelineReport) -> Vec<String> {
    assert_eq!(report.invalidations.len(), 1, "{}", explain(report));
    report.invalidations[0].paths.clone()
}

fn summary(report: &PipelineReport) -> &str {
    report.summary.as_deref().unwrap_or_default()
}

#[tokio::test]
async fn a_normal_change_set_invalidates_exactly_the_changed_files() {
    let report = run_to_end(pipeline(
        CHANGED,
        zip_of(NEW, false),
        Some(zip_of(OLD, false)),
    ))
    .await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(
        invalidated(&report),
        [
            "/css/site.css",
            "/docs",
            "/docs/",
            "/docs/index.html",
            "/news/new%20post.html",
            "/old.html"
        ]
    );
    assert_eq!(report.output_variables["ChangedFiles"], "4");
    assert!(
        summary(&report).starts_with("1 file added, 2 changed, 1 removed in input artifact BuildArtifact since the last successful run (pipeline execution "),
        "{}",
        explain(&report)
    );
    // Each small artifact is read with one ranged GetObject; nothing else touches S3.
    let gets = report.requests_for("GetObject");
    assert_eq!(gets.len(), 2, "{}", explain(&report));
    assert_eq!(report.requests_for("GetJobDetails").len(), 1);
    assert_eq!(report.requests_for("ListActionExecutions").len(), 1);
}

#[tokio::test]
async fn the_first_run_falls_back_to_every_file_and_says_why() {
    let report = run_to_end(pipeline(CHANGED, zip_of(NEW, false), None)).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(invalidated(&report).len(), 8, "{}", explain(&report));
    assert_eq!(report.output_variables["ChangedFiles"], "5");
    assert!(
        summary(&report).starts_with("Every file of input artifact BuildArtifact invalidated (5 files): no earlier successful run of this action"),
        "{}",
        explain(&report)
    );
}

#[tokio::test]
async fn zero_changes_succeed_without_an_invalidation() {
    let report = run_to_end(pipeline(
        CHANGED,
        zip_of(NEW, false),
        Some(zip_of(NEW, false)),
    ))
    .await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert!(report.invalidations.is_empty(), "{}", explain(&report));
    assert!(report.requests_for("CreateInvalidation").is_empty());
    assert_eq!(report.output_variables["Status"], "NoChanges");
    assert_eq!(report.output_variables["ChangedFiles"], "0");
    assert!(summary(&report).ends_with("Nothing invalidated."));
}

#[tokio::test]
async fn removed_files_are_invalidated_too() {
    let without: Vec<(&str, &str)> = OLD
        .iter()
        .copied()
        .filter(|(name, _)| !name.starts_with("docs/"))
        .collect();
    let report = run_to_end(pipeline(
        CHANGED,
        zip_of(&without, false),
        Some(zip_of(OLD, false)),
    ))
    .await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(
        invalidated(&report),
        ["/docs", "/docs/", "/docs/guide.html", "/docs/index.html"]
    );
    assert!(summary(&report).starts_with("0 files added, 0 changed, 2 removed"));
}

#[tokio::test]
async fn prefixes_and_awkward_names_map_to_url_paths() {
    let params = r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed", "keyPrefix": "dist/", "pathPrefix": "/blog/", "paths": ["/sitemap.xml"]}"#;
    let old = zip_of(
        &[
            ("dist/caf\u{e9}/men\u{fc} 1.html", "v1"),
            ("README.md", "a"),
        ],
        false,
    );
    let new = zip_of(
        &[
            ("dist/caf\u{e9}/men\u{fc} 1.html", "v2"),
            ("dist/100% off+more.html", "new"),
            ("README.md", "b"),
        ],
        false,
    );
    let report = run_to_end(pipeline(params, new, Some(old))).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(
        invalidated(&report),
        [
            "/blog/100%25%20off+more.html",
            "/blog/caf%C3%A9/men%C3%BC%201.html",
            "/sitemap.xml"
        ]
    );
    assert_eq!(report.output_variables["ChangedFiles"], "2");
    assert!(
        summary(&report).contains("1 file outside keyPrefix \"dist/\" ignored."),
        "{}",
        explain(&report)
    );
}

#[tokio::test]
async fn a_zip64_artifact_is_read() {
    // More than 65,535 entries, so that the count lives in the ZIP64 end record, and ZIP64
    // extra fields on every entry; the same bulk on both sides, so the change set stays.
    let bulk: Vec<(String, &str)> = (0..65_600)
        .map(|n| (format!("bulk/{n}.txt"), "same"))
        .collect();
    let with_bulk = |files: &[(&str, &str)]| {
        let mut all: Vec<(&str, &str)> = files.to_vec();
        all.extend(bulk.iter().map(|(name, body)| (name.as_str(), *body)));
        zip_of(&all, true)
    };
    let (new, old) = (with_bulk(NEW), with_bulk(OLD));
    for zip in [&new, &old] {
        assert!(
            zip.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x06]),
            "the fixture has a ZIP64 end record"
        );
    }
    let report = run_to_end(pipeline(CHANGED, new, Some(old))).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(report.output_variables["ChangedFiles"], "4");
}

#[tokio::test]
async fn a_previous_artifact_that_is_gone_falls_back_to_every_file() {
    let mut config = pipeline(CHANGED, zip_of(NEW, false), Some(zip_of(OLD, false)));
    config.previous_artifact_gone = true;
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(invalidated(&report).len(), 8);
    assert!(
        summary(&report).contains("is gone from the artifact bucket"),
        "{}",
        explain(&report)
    );
}

#[tokio::test]
async fn a_refused_get_job_details_asks_for_pipeline_name_and_pipeline_name_works() {
    let mut config = pipeline(CHANGED, zip_of(NEW, false), Some(zip_of(OLD, false)));
    config.world.get_job_details = GetJobDetailsMode::AccessDenied;
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Failed, "{}", explain(&report));
    let failure = report.failure.as_ref().expect("a failure");
    assert_eq!(failure.failure_type.as_deref(), Some("ConfigurationError"));
    assert!(
        failure
            .message
            .contains("add \"pipelineName\": \"<this pipeline's name>\" to UserParameters"),
        "{}",
        explain(&report)
    );
    assert!(report.requests_for("CreateInvalidation").is_empty());

    let named = r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed", "directoryIndex": "index.html", "pipelineName": "local-pipeline"}"#;
    let mut config = pipeline(named, zip_of(NEW, false), Some(zip_of(OLD, false)));
    config.world.get_job_details = GetJobDetailsMode::AccessDenied;
    config.pipeline_name = "local-pipeline".to_owned();
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(report.output_variables["ChangedFiles"], "4");
    assert!(report.requests_for("GetJobDetails").is_empty());
}

#[tokio::test]
async fn a_continuation_keeps_the_plan_and_reads_the_history_once() {
    let mut config = pipeline(CHANGED, zip_of(NEW, false), Some(zip_of(OLD, false)));
    config.world.distributions = vec![
        DistributionConfig::new(DIST).completes_after(DurationRange::fixed(Duration::from_secs(9))),
    ];
    config.lambda_timeout = Duration::from_secs(5);
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert!(report.invocations.len() >= 3, "{}", explain(&report));
    assert_eq!(report.requests_for("CreateInvalidation").len(), 1);
    assert_eq!(invalidated(&report).len(), 6);
    // The previous run is looked up once; later invocations use the location in the token.
    assert_eq!(report.requests_for("ListActionExecutions").len(), 1);
    assert_eq!(report.requests_for("GetJobDetails").len(), 1);
    assert_eq!(
        report.requests_for("GetObject").len(),
        2 * report.invocations.len()
    );
    assert!(summary(&report).starts_with("1 file added, 2 changed, 1 removed"));
}

#[tokio::test]
async fn a_corrupt_or_truncated_artifact_fails_clearly() {
    let mut truncated = zip_of(NEW, false);
    truncated.truncate(truncated.len() - 10);
    for (name, bytes) in [
        ("truncated", truncated),
        ("not a zip", b"<html>not a zip</html>".to_vec()),
    ] {
        let report = run_to_end(pipeline(CHANGED, bytes, Some(zip_of(OLD, false)))).await;
        assert_eq!(
            report.verdict,
            Verdict::Failed,
            "{name}: {}",
            explain(&report)
        );
        let failure = report.failure.as_ref().expect("a failure");
        assert_eq!(failure.failure_type.as_deref(), Some("JobFailed"), "{name}");
        assert!(
            failure
                .message
                .contains("cannot list the files of input artifact BuildArtifact"),
            "{name}: {}",
            explain(&report)
        );
        assert!(report.requests_for("CreateInvalidation").is_empty());
        assert!(
            !report.function_output_text().contains("panicked"),
            "{name}: {}",
            explain(&report)
        );
    }
}

#[tokio::test]
async fn the_artifact_credentials_never_reach_a_log_even_at_trace_level() {
    let credentials = ArtifactCredentials {
        access_key_id: "ASIAE2EARTIFACTREADS".to_owned(),
        secret_access_key: "artifact-secret-access-key-must-not-appear".to_owned(),
        session_token: "artifact-session-token-must-not-appear".to_owned(),
    };
    // Lambda's switch and RUST_LOG: both reach TRACE, the SDK's own targets included.
    let levels = [("AWS_LAMBDA_LOG_LEVEL", "TRACE"), ("RUST_LOG", "trace")];
    for (format, (switch, level)) in ["Text", "JSON"]
        .into_iter()
        .flat_map(|format| levels.map(|level| (format, level)))
    {
        let mut config = pipeline(CHANGED, zip_of(NEW, false), Some(zip_of(OLD, false)));
        config.artifact_credentials = credentials.clone();
        config.env = vec![
            (switch.to_owned(), level.to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT".to_owned(), format.to_owned()),
        ];
        let report = run_to_end(config).await;
        assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
        let output = report.function_output_text();
        assert!(output.contains("listing read"), "{output}");
        // The credentials the job event carried (the run draws the access key id itself):
        // what the function really had, so the check cannot pass for want of them.
        let delivered =
            &report.invocations[0].event["CodePipeline.job"]["data"]["artifactCredentials"];
        let secrets: Vec<&str> = ["accessKeyId", "secretAccessKey", "sessionToken"]
            .iter()
            .map(|field| delivered[field].as_str().unwrap_or_default())
            .collect();
        assert_eq!(secrets[1], credentials.secret_access_key);
        assert_eq!(secrets[2], credentials.session_token);
        assert!(
            secrets[0].starts_with("ASIA") && secrets[0].len() == 20,
            "{delivered}"
        );
        // The function's DEBUG and TRACE lines are there, and so are the SDK's reads of the zip.
        assert!(output.contains("TRACE") || output.contains("\"level\":\"TRACE\""));
        let results = format!("{:?}", report.jobs);
        for secret in secrets {
            assert!(
                !output.contains(secret),
                "{secret} in the {format} logs at {switch}={level}"
            );
            assert!(!results.contains(secret), "{secret} in a PutJob result");
        }
    }
}

#[tokio::test]
async fn a_gone_previous_artifact_refused_as_s3_refuses_it_without_list_bucket_falls_back() {
    // Credentials without s3:ListBucket get 403 AccessDenied, not 404, for a key that is gone.
    let mut config = pipeline(CHANGED, zip_of(NEW, false), Some(zip_of(OLD, false)));
    config.previous_artifact_gone = true;
    config.artifact_credentials_cannot_list = true;
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(invalidated(&report).len(), 8);
    let refused = report
        .requests_for("GetObject")
        .iter()
        .filter(|r| r.error_code.as_deref() == Some("AccessDenied"))
        .count();
    assert_eq!(refused, 1, "{}", explain(&report));
    assert!(
        summary(&report).contains("could not be read with the job's artifact credentials"),
        "{}",
        explain(&report)
    );
}

#[tokio::test]
async fn a_role_that_may_not_list_the_history_is_a_permission_error() {
    let mut config = pipeline(CHANGED, zip_of(NEW, false), Some(zip_of(OLD, false)));
    config.list_action_executions_denied = true;
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Failed, "{}", explain(&report));
    let failure = report.failure.as_ref().expect("a failure");
    assert_eq!(failure.failure_type.as_deref(), Some("PermissionError"));
    assert!(
        failure
            .message
            .contains("may not call codepipeline:ListActionExecutions"),
        "{}",
        explain(&report)
    );
    assert!(report.requests_for("CreateInvalidation").is_empty());
}

#[tokio::test]
async fn get_job_details_with_names_only_still_finds_the_previous_run() {
    let mut config = pipeline(CHANGED, zip_of(NEW, false), Some(zip_of(OLD, false)));
    config.world.get_job_details = GetJobDetailsMode::NamesOnly;
    let report = run_to_end(config).await;
    assert_eq!(report.verdict, Verdict::Succeeded, "{}", explain(&report));
    assert_eq!(report.output_variables["ChangedFiles"], "4");
    // This run's execution and the run before come from one page of the history.
    assert_eq!(report.requests_for("ListActionExecutions").len(), 1);
}
