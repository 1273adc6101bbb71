//! Conformance of local-aws's S3 with the real AWS CLI (botocore): the calls the pipeline
//! action makes on its artifact bucket (ranged GetObject above all) and their errors.

mod support;

use local_aws::{Emulator, EmulatorConfig, EmulatorHandle, Faults};
use support::aws;

const BUCKET: &str = "codepipeline-us-east-1-artifacts";
const KEY: &str = "site-pipeline/SourceArti/abc123.zip";
/// 26 bytes: every range below is checked against it.
const BODY: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

async fn emulator(config: EmulatorConfig) -> EmulatorHandle {
    let emu = match Emulator::start(config).await {
        Ok(h) => h,
        Err(e) => panic!("emulator did not start: {e}"),
    };
    emu.create_bucket(BUCKET);
    if let Err(e) = emu.put_object(BUCKET, KEY, BODY, Some("application/zip")) {
        panic!("{e}");
    }
    emu
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("local-aws-s3-{}-{name}", std::process::id()))
}

/// Reads a ranged object through `get-object`, and returns the JSON printed and the bytes.
async fn get_range(ep: &str, range: &str, name: &str) -> (support::CliRun, Vec<u8>) {
    let out = temp_path(name);
    let out_arg = out.to_string_lossy().into_owned();
    let run = aws(
        ep,
        &[
            "s3api",
            "get-object",
            "--bucket",
            BUCKET,
            "--key",
            KEY,
            "--range",
            range,
            &out_arg,
        ],
        &[],
    )
    .await;
    let bytes = std::fs::read(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    (run, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranged_reads_answer_as_s3_does() {
    let emu = emulator(EmulatorConfig::default()).await;
    let ep = emu.endpoint();

    let (run, bytes) = get_range(&ep, "bytes=0-9", "first").await;
    let json = run.ok();
    assert_eq!(bytes, b"abcdefghij");
    assert_eq!(json["ContentRange"], "bytes 0-9/26");
    assert_eq!(json["ContentLength"], 10);
    assert_eq!(json["AcceptRanges"], "bytes");
    assert_eq!(json["ETag"], "\"c3fcd3d76192e4007dfb496cca67e13b\"");
    assert_eq!(json["ContentType"], "application/zip");
    assert!(json["LastModified"].as_str().is_some(), "{json}");

    // A suffix range: the last 22 bytes, as a zip reader asks for its end record.
    let (run, bytes) = get_range(&ep, "bytes=-22", "suffix").await;
    let json = run.ok();
    assert_eq!(bytes, b"efghijklmnopqrstuvwxyz");
    assert_eq!(json["ContentRange"], "bytes 4-25/26");

    // An open range, and an end past the object, cut to its last byte.
    let (run, bytes) = get_range(&ep, "bytes=20-", "open").await;
    assert_eq!(run.ok()["ContentRange"], "bytes 20-25/26");
    assert_eq!(bytes, b"uvwxyz");
    let (run, bytes) = get_range(&ep, "bytes=24-100", "past").await;
    assert_eq!(run.ok()["ContentRange"], "bytes 24-25/26");
    assert_eq!(bytes, b"yz");

    // A start past the end: 416 InvalidRange.
    let (run, _) = get_range(&ep, "bytes=26-30", "unsatisfiable").await;
    run.fails_with("InvalidRange");

    let details: Vec<String> = emu
        .request_log()
        .iter()
        .filter(|r| r.operation == "GetObject")
        .map(|r| r.line(true))
        .collect();
    assert_eq!(
        details,
        [
            "S3 GetObject -> 206 (bytes 0-9/26, 10 body bytes sent)",
            "S3 GetObject -> 206 (bytes 4-25/26, 22 body bytes sent)",
            "S3 GetObject -> 206 (bytes 20-25/26, 6 body bytes sent)",
            "S3 GetObject -> 206 (bytes 24-25/26, 2 body bytes sent)",
            "S3 GetObject -> 416 InvalidRange",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_s3_cannot_read_is_ignored_and_the_whole_object_sent() {
    let emu = emulator(EmulatorConfig::default()).await;
    let ep = emu.endpoint();
    for (range, name) in [
        ("bytes=abc", "garbled"),
        ("bytes=5-2", "backwards"),
        ("bytes=0-1,4-5", "several"),
    ] {
        let (run, bytes) = get_range(&ep, range, name).await;
        let json = run.ok();
        assert_eq!(bytes, b"abcdefghijklmnopqrstuvwxyz", "{range}");
        assert!(json.get("ContentRange").is_none(), "{range}: {json}");
        assert_eq!(json["ContentLength"], 26, "{range}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_up_and_down_head_and_list() {
    let emu = emulator(EmulatorConfig::default()).await;
    let ep = emu.endpoint();

    let local = temp_path("upload.zip");
    let payload: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    if let Err(e) = std::fs::write(&local, &payload) {
        panic!("cannot write {}: {e}", local.display());
    }
    let local_arg = local.to_string_lossy().into_owned();
    let target = format!("s3://{BUCKET}/site-pipeline/BuildArtif/up.zip");
    let up = aws(&ep, &["s3", "cp", &local_arg, &target], &[]).await;
    assert!(up.success, "aws s3 cp up failed: {}", up.stderr);
    let stored = emu.object(BUCKET, "site-pipeline/BuildArtif/up.zip");
    assert_eq!(stored.map(|o| o.body.to_vec()), Some(payload.clone()));

    let down = temp_path("download.zip");
    let down_arg = down.to_string_lossy().into_owned();
    let down_run = aws(&ep, &["s3", "cp", &target, &down_arg], &[]).await;
    assert!(
        down_run.success,
        "aws s3 cp down failed: {}",
        down_run.stderr
    );
    assert_eq!(std::fs::read(&down).unwrap_or_default(), payload);
    let _ = std::fs::remove_file(&local);
    let _ = std::fs::remove_file(&down);

    let head = aws(
        &ep,
        &["s3api", "head-object", "--bucket", BUCKET, "--key", KEY],
        &[],
    )
    .await
    .ok();
    assert_eq!(head["ContentLength"], 26);
    assert_eq!(head["ETag"], "\"c3fcd3d76192e4007dfb496cca67e13b\"");
    assert_eq!(head["AcceptRanges"], "bytes");

    // head-object on a missing key: 404 without a body, which botocore reports as "Not Found".
    let missing = aws(
        &ep,
        &[
            "s3api",
            "head-object",
            "--bucket",
            BUCKET,
            "--key",
            "nope.zip",
        ],
        &[],
    )
    .await;
    assert!(!missing.success);
    assert!(missing.stderr.contains("404"), "{}", missing.stderr);

    let listed = aws(
        &ep,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            BUCKET,
            "--prefix",
            "site-pipeline/",
        ],
        &[],
    )
    .await
    .ok();
    let keys: Vec<&str> = listed["Contents"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["Key"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "site-pipeline/BuildArtif/up.zip",
            "site-pipeline/SourceArti/abc123.zip"
        ]
    );

    // One key a page: the CLI follows the continuation token until the end.
    let paged = aws(
        &ep,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            BUCKET,
            "--page-size",
            "1",
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(
        paged["Contents"].as_array().map(Vec::len),
        Some(2),
        "{paged}"
    );
    let list_calls = emu
        .request_log()
        .iter()
        .filter(|r| r.operation == "ListObjectsV2")
        .count();
    assert_eq!(
        list_calls,
        1 + 2,
        "one call for --prefix, two pages of one key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_keys_buckets_and_faults_give_s3_errors() {
    let emu = emulator(EmulatorConfig::default()).await;
    let ep = emu.endpoint();

    let out = temp_path("missing");
    let out_arg = out.to_string_lossy().into_owned();
    let missing = aws(
        &ep,
        &[
            "s3api",
            "get-object",
            "--bucket",
            BUCKET,
            "--key",
            "nope.zip",
            &out_arg,
        ],
        &[],
    )
    .await;
    missing.fails_with("NoSuchKey");
    let no_bucket = aws(
        &ep,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "no-such-bucket",
            "--key",
            KEY,
            &out_arg,
        ],
        &[],
    )
    .await;
    no_bucket.fails_with("NoSuchBucket");

    let faults: Faults = match "s3.throttle=1,s3.unavailable=1".parse() {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    emu.set_faults(faults);
    // Unavailable is drawn before throttling, as for every API.
    let (run, _) = get_range(&ep, "bytes=0-9", "unavailable").await;
    run.fails_with("ServiceUnavailable");
    let (run, _) = get_range(&ep, "bytes=0-9", "throttled").await;
    run.fails_with("SlowDown");
    let (run, bytes) = get_range(&ep, "bytes=0-9", "after").await;
    run.ok();
    assert_eq!(bytes, b"abcdefghij");
    let outcomes: Vec<String> = emu
        .request_log()
        .iter()
        .map(|r| format!("{} {}", r.operation, r.outcome()))
        .collect();
    assert_eq!(
        outcomes,
        [
            "GetObject 404 NoSuchKey",
            "GetObject 404 NoSuchBucket",
            "GetObject 503 ServiceUnavailable",
            "GetObject 503 SlowDown",
            "GetObject 206",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_access_key_refuses_every_other() {
    let emu = emulator(EmulatorConfig {
        s3_required_access_key: Some("ASIAJOBARTIFACTS".to_string()),
        ..EmulatorConfig::default()
    })
    .await;
    let ep = emu.endpoint();

    // The CLI's own credentials (AKIDLOCALAWSTEST) stand for the function's role.
    let (run, _) = get_range(&ep, "bytes=0-9", "role").await;
    run.fails_with("InvalidAccessKeyId");

    let out = temp_path("job");
    let out_arg = out.to_string_lossy().into_owned();
    let job = aws(
        &ep,
        &[
            "s3api",
            "get-object",
            "--bucket",
            BUCKET,
            "--key",
            KEY,
            "--range",
            "bytes=-4",
            &out_arg,
        ],
        &[
            ("AWS_ACCESS_KEY_ID", "ASIAJOBARTIFACTS"),
            ("AWS_SESSION_TOKEN", "job-session-token"),
        ],
    )
    .await;
    job.ok();
    assert_eq!(std::fs::read(&out).unwrap_or_default(), b"wxyz");
    let _ = std::fs::remove_file(&out);

    let log = emu.request_log();
    assert_eq!(
        log.first().and_then(|r| r.detail.clone()).as_deref(),
        Some("access key id AKIDLOCALAWSTEST refused")
    );
}

/// `get-object` of `key` with `range`, the bytes written to a scratch file.
async fn get_key(ep: &str, key: &str, range: &str, name: &str) -> (support::CliRun, Vec<u8>) {
    let out = temp_path(name);
    let out_arg = out.to_string_lossy().into_owned();
    let run = aws(
        ep,
        &[
            "s3api",
            "get-object",
            "--bucket",
            BUCKET,
            "--key",
            key,
            "--range",
            range,
            &out_arg,
        ],
        &[],
    )
    .await;
    let bytes = std::fs::read(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    (run, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_object_answers_a_suffix_range_with_itself_and_any_other_range_with_416() {
    let emu = emulator(EmulatorConfig::default()).await;
    let ep = emu.endpoint();
    if let Err(e) = emu.put_object(BUCKET, "empty.zip", &b""[..], None) {
        panic!("{e}");
    }
    // As a zip reader's first read of an empty artifact: S3 sends it whole, 200.
    let (run, bytes) = get_key(&ep, "empty.zip", "bytes=-8192", "empty-suffix").await;
    let json = run.ok();
    assert!(bytes.is_empty());
    assert_eq!(json["ContentLength"], 0);
    assert!(json.get("ContentRange").is_none(), "{json}");
    let (run, _) = get_key(&ep, "empty.zip", "bytes=0-9", "empty-start").await;
    run.fails_with("InvalidRange");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_access_denied_to_credentials_that_may_not_list_the_bucket() {
    let listing = emulator(EmulatorConfig::default()).await;
    let (run, _) = get_key(
        &listing.endpoint(),
        "gone.zip",
        "bytes=-8192",
        "gone-listing",
    )
    .await;
    run.fails_with("NoSuchKey");
    let not_listing = emulator(EmulatorConfig {
        s3_missing_key_denied: true,
        ..EmulatorConfig::default()
    })
    .await;
    let ep = not_listing.endpoint();
    let (run, _) = get_key(&ep, "gone.zip", "bytes=-8192", "gone-denied").await;
    run.fails_with("AccessDenied");
    // An object that exists is still readable.
    let (run, bytes) = get_key(&ep, KEY, "bytes=0-2", "there").await;
    run.ok();
    assert_eq!(bytes, b"abc");
}
