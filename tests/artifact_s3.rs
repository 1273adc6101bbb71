//! The S3 adapter for artifacts: the real `aws-sdk-s3` client against local-aws's S3 over
//! HTTP, reading a zip's listing with ranged GetObject calls and the job's credentials.

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
