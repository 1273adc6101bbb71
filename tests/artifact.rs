//! The artifact adapters end to end: the real `aws-sdk-s3` and `aws-sdk-codepipeline` clients
//! against local-aws over HTTP. A zip's listing is read with ranged GetObject calls and the
//! job's credentials; the previous deploy is found through GetJobDetails and the history.

use std::io::{Cursor, Write};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use cf_invalidate::adapters::s3::S3Zip;
use cf_invalidate::artifact::{ZipError, read_listing};
use local_aws::{Emulator, EmulatorConfig, EmulatorHandle};

const BUCKET: &str = "codepipeline-us-east-1-123456789012";
const JOB_KEY: &str = "ASIAJOBARTIFACTKEY";

fn client(emu: &EmulatorHandle, access_key: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(emu.endpoint())
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            access_key,
            "secret",
            Some("session-token".to_owned()),
            None,
            "codepipeline-job",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn site_zip(files: usize) -> Vec<u8> {
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for n in 0..files {
        writer
            .start_file(format!("site/section-{}/page-{n}.html", n % 50), options)
            .expect("an entry");
        writer.write_all(&[b'x'; 3000]).expect("contents");
    }
    writer.finish().expect("a zip").into_inner()
}

#[tokio::test]
async fn a_listing_is_read_from_s3_with_two_ranged_reads_and_the_jobs_credentials() {
    let emu = Emulator::start(EmulatorConfig {
        s3_required_access_key: Some(JOB_KEY.to_owned()),
        ..EmulatorConfig::default()
    })
    .await
    .expect("local-aws starts");
    emu.create_bucket(BUCKET);
    let bytes = site_zip(5_000);
    let total = bytes.len() as u64;
    emu.put_object(
        BUCKET,
        "pipe/BuildArtif/abc123",
        bytes,
        Some("application/zip"),
    )
    .expect("the artifact is stored");

    let zip = S3Zip::open(client(&emu, JOB_KEY), BUCKET, "pipe/BuildArtif/abc123")
        .await
        .expect("the artifact opens");
    let listing = read_listing(&zip).await.expect("a listing");
    assert_eq!(listing.files.len(), 5_000);
    // The suffix read of the tail, then the central directory: nothing else.
    let gets: Vec<String> = emu
        .request_log()
        .iter()
        .filter(|r| r.operation == "GetObject")
        .map(|r| r.line(true))
        .collect();
    assert_eq!(gets.len(), 2, "{gets:?}");
    let read = zip.tail_len() + listing.bytes_read;
    assert!(read * 20 < total, "{read} of {total} bytes read: {gets:?}");

    // The function's own role is not the job's: S3 refuses it.
    let refused = S3Zip::open(
        client(&emu, "AKIAFUNCTIONROLE"),
        BUCKET,
        "pipe/BuildArtif/abc123",
    )
    .await
    .expect_err("another key is refused");
    assert!(
        refused.to_string().contains("InvalidAccessKeyId"),
        "{refused}"
    );
    // A removed artifact says so, for the fallback to "all".
    let gone = S3Zip::open(client(&emu, JOB_KEY), BUCKET, "pipe/BuildArtif/expired")
        .await
        .expect_err("a missing key");
    assert!(matches!(gone, ZipError::Missing(_)), "{gone}");
    emu.shutdown().await;
}

fn codepipeline(emu: &EmulatorHandle) -> aws_sdk_codepipeline::Client {
    let config = aws_sdk_codepipeline::Config::builder()
        .behavior_version(aws_sdk_codepipeline::config::BehaviorVersion::latest())
        .region(aws_sdk_codepipeline::config::Region::new("us-east-1"))
        .endpoint_url(emu.endpoint())
        .credentials_provider(aws_sdk_codepipeline::config::Credentials::new(
            "AKIAFUNCTIONROLE",
            "secret",
            None,
            None,
            "function-role",
        ))
        .build();
    aws_sdk_codepipeline::Client::from_conf(config)
}

fn run(
    execution: &str,
    action: &str,
    status: local_aws::ActionExecutionStatus,
) -> local_aws::ActionExecution {
    let mut recorded = local_aws::ActionExecution::started("site", "Deploy", action, execution);
    recorded.status = status;
    recorded.input_artifacts = vec![local_aws::S3Artifact {
        name: "BuildArtifact".to_owned(),
        bucket: BUCKET.to_owned(),
        key: format!("site/BuildArtif/{execution}"),
    }];
    recorded
}

#[tokio::test]
async fn the_previous_artifact_is_found_through_get_job_details_and_the_history() {
    use cf_invalidate::adapters::history::SdkPipelineHistory;
    use cf_invalidate::artifact::previous::{
        HistoryErrorKind, PipelineHistory, Previous, find_previous,
    };
    use local_aws::ActionExecutionStatus::{Failed, InProgress, Succeeded};

    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .expect("local-aws starts");
    // Oldest first, as they happened.
    emu.record_action_execution(run("run-1", "Invalidate", Succeeded));
    emu.record_action_execution(run("run-2", "Invalidate", Failed));
    emu.record_action_execution(run("run-3", "Upload", Succeeded));
    emu.record_action_execution(run("run-3", "Invalidate", InProgress));
    let job_id = emu.create_job_in(
        local_aws::JobContext {
            pipeline_name: "site".to_owned(),
            stage_name: "Deploy".to_owned(),
            action_name: "Invalidate".to_owned(),
            action_execution_id: String::new(),
            pipeline_execution_id: "run-3".to_owned(),
            configuration: Default::default(),
            input_artifacts: Vec::new(),
            artifact_credentials: None,
        },
        None,
    );
    let history = SdkPipelineHistory::new(codepipeline(&emu));
    let context = history
        .job_context(&job_id)
        .await
        .expect("the job's context");
    assert_eq!(
        (
            context.pipeline_name.as_str(),
            context.stage_name.as_str(),
            context.action_name.as_str()
        ),
        ("site", "Deploy", "Invalidate")
    );
    assert_eq!(context.pipeline_execution_id.as_deref(), Some("run-3"));
    let found = find_previous(&history, &context, "BuildArtifact")
        .await
        .expect("the history is read");
    let Previous::Found {
        pipeline_execution_id,
        artifact,
    } = found
    else {
        panic!("expected the run-1 artifact, got {found:?}");
    };
    assert_eq!(pipeline_execution_id, "run-1");
    assert_eq!(
        (artifact.bucket.as_str(), artifact.key.as_str()),
        (BUCKET, "site/BuildArtif/run-1")
    );

    // GetJobDetails refused (its reference says it is meant for custom actions).
    for mode in [
        local_aws::GetJobDetailsMode::AccessDenied,
        local_aws::GetJobDetailsMode::NotFound,
    ] {
        emu.set_get_job_details(mode);
        let refused = history.job_context(&job_id).await.expect_err("refused");
        assert_eq!(refused.kind, HistoryErrorKind::Refused, "{refused}");
    }
    let unknown = history
        .action_executions("no-such-pipeline", None)
        .await
        .expect_err("an unknown pipeline");
    assert_eq!(unknown.kind, HistoryErrorKind::NotFound, "{unknown}");
    emu.shutdown().await;
}
