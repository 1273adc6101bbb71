//! `cf-invalidate verify` driven against local-aws's edge over HTTP: fresh, stale and what to do.

mod support;

use support::{code, json, silent_server, stderr, stdout};

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use local_aws::{DistributionConfig, DurationRange, Emulator, EmulatorConfig, EmulatorHandle};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cf-invalidate");
const DIST: &str = "E2QWRUHEXAMPLE";
const BUCKET: &str = "site-bucket";
const YEAR: &str = "max-age=31536000";
/// A distribution whose invalidations stay InProgress for a minute, with its own origin.
const SLOW: &str = "ESLOWEXAMPLE01";
const SLOW_BUCKET: &str = "slow-bucket";

/// A distribution whose edge reads `site-bucket`; invalidations complete after 1 s.
async fn emulator() -> EmulatorHandle {
    let dist = DistributionConfig::new(DIST)
        .origin(BUCKET)
        .completes_after(DurationRange::fixed(Duration::from_secs(1)));
    let slow = DistributionConfig::new(SLOW)
        .origin(SLOW_BUCKET)
        .completes_after(DurationRange::fixed(Duration::from_secs(60)));
    Emulator::start(EmulatorConfig {
        distributions: vec![dist, slow],
        seed: Some(11),
        ..EmulatorConfig::default()
    })
    .await
    .expect("local-aws starts")
}

/// The binary with a clean environment, CloudFront and S3 at the emulator.
fn cli(emu: &EmulatorHandle) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws/credentials",
        )
        .env("AWS_ENDPOINT_URL_CLOUDFRONT", emu.endpoint())
        .env("AWS_ENDPOINT_URL_S3", emu.endpoint())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs the binary, which must end on its own within a minute.
async fn run(emu: &EmulatorHandle, args: &[&str]) -> Output {
    let output = cli(emu).args(args).output();
    tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("the command ends on its own")
        .expect("the binary runs")
}

/// PutObject over HTTP with a Cache-Control header, as `aws s3 cp --cache-control` sends it.
async fn upload(emu: &EmulatorHandle, encoded_key: &str, body: &str, cache_control: &str) {
    upload_to(emu, BUCKET, encoded_key, body, cache_control).await;
}

async fn upload_to(
    emu: &EmulatorHandle,
    bucket: &str,
    encoded_key: &str,
    body: &str,
    cache_control: &str,
) {
    let mut socket = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("S3 reachable");
    let request = format!(
        "PUT /{bucket}/{encoded_key} HTTP/1.1\r\nHost: {}\r\nCache-Control: {cache_control}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        emu.addr(),
        body.len()
    );
    socket
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut reply = String::new();
    socket.read_to_string(&mut reply).await.expect("reply read");
    assert!(reply.starts_with("HTTP/1.1 200"), "PutObject: {reply}");
}

fn object<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["objects"]
        .as_array()
        .and_then(|objects| objects.iter().find(|o| o["path"] == path))
        .unwrap_or_else(|| panic!("no object {path} in {report:#}"))
}

/// The key has a space, a `+` and a non-ASCII letter; the path is given as a person types it.
const AWKWARD_KEY_ENCODED: &str = "docs/a%20b%2Bc%C3%A9.html";
const AWKWARD_PATH: &str = "/docs/a b+cé.html";
const AWKWARD_PATH_ENCODED: &str = "/docs/a%20b+c%C3%A9.html";

/// GIVEN an object cached for a year and then replaced in the bucket, with an earlier
/// invalidation of another path only WHEN verified THEN it is stale, exit 1, naming the
/// uncovered path and the command that fixes it; AFTER its invalidation completes it is fresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_long_max_age_no_invalidation_covered_is_stale_until_invalidated() {
    let emu = emulator().await;
    upload(&emu, AWKWARD_KEY_ENCODED, "v1", YEAR).await;
    upload(&emu, "index.html", "home", "max-age=60").await;
    let verify = [
        "verify",
        "--distribution-id",
        DIST,
        "--bucket",
        BUCKET,
        AWKWARD_PATH,
        "/index.html",
        "--output",
        "json",
    ];

    // The first look caches both objects at the edge: they are fresh.
    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["fresh"], 2, "{report:#}");
    let awkward = object(&report, AWKWARD_PATH_ENCODED);
    assert_eq!(awkward["verdict"], "fresh");
    assert_eq!(awkward["key"], "docs/a b+cé.html");
    assert_eq!(awkward["cache_control"], YEAR);
    assert_eq!(awkward["x_cache"], "Miss from cloudfront");

    // A new upload, and an invalidation of another path only.
    upload(&emu, AWKWARD_KEY_ENCODED, "v2", YEAR).await;
    let other = run(
        &emu,
        &["invalidate", "--distribution-id", DIST, "/other.html"],
    )
    .await;
    assert_eq!(code(&other), 0, "{}", stderr(&other));

    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let awkward = object(&report, AWKWARD_PATH_ENCODED);
    assert_eq!(awkward["verdict"], "stale", "{report:#}");
    assert_eq!(awkward["x_cache"], "Hit from cloudfront");
    assert!(awkward["age"].as_u64().is_some(), "{awkward:#}");
    let advice = awkward["advice"].as_str().unwrap_or_default();
    assert!(
        advice.starts_with(&format!(
            "no invalidation covered {AWKWARD_PATH_ENCODED} (of the 1 newest): the edge keeps its copy until its TTL of 365d00h runs out"
        )),
        "{advice}"
    );
    assert!(
        advice.contains(&format!(
            "cf-invalidate invalidate --distribution-id {DIST} '{AWKWARD_PATH_ENCODED}'"
        )),
        "{advice}"
    );
    assert_eq!(object(&report, "/index.html")["verdict"], "fresh");
    assert_eq!(
        (report["stale"].as_u64(), report["fresh"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        stderr(&out).contains(&format!(
            "error: 2 objects checked through http://{}",
            edge(&emu)
        )),
        "{}",
        stderr(&out)
    );

    // The summary a person reads names the verdict, the figures and what to do.
    let text = run(&emu, &verify[..verify.len() - 2]).await;
    assert_eq!(code(&text), 1);
    let shown = stdout(&text);
    assert!(
        shown.contains(&format!(
            "stale          {AWKWARD_PATH_ENCODED}  (200, X-Cache: Hit from cloudfront, Age: "
        )) && shown.contains("Cache-Control: max-age=31536000)")
            && shown.contains("what to do: no invalidation covered"),
        "{shown}"
    );

    // Invalidated (and waited for), it is fresh again.
    let fixed = run(
        &emu,
        &["invalidate", "--distribution-id", DIST, AWKWARD_PATH],
    )
    .await;
    assert_eq!(code(&fixed), 0, "{}", stderr(&fixed));
    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(object(&report, AWKWARD_PATH_ENCODED)["verdict"], "fresh");
}

/// GIVEN a replaced object whose invalidation is still InProgress WHEN verified THEN it is stale,
/// covered by that invalidation, and the advice is to wait for it, with the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_object_under_an_invalidation_in_progress_is_told_to_wait() {
    let emu = emulator().await;
    upload_to(&emu, SLOW_BUCKET, "app.js", "v1", YEAR).await;
    let verify = [
        "verify",
        "--distribution-id",
        SLOW,
        "--bucket",
        SLOW_BUCKET,
        "/app.js",
        "--output",
        "json",
    ];
    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    upload_to(&emu, SLOW_BUCKET, "app.js", "v2", YEAR).await;
    let created = run(
        &emu,
        &["invalidate", "--distribution-id", SLOW, "--no-wait", "/*"],
    )
    .await;
    assert_eq!(code(&created), 0, "{}", stderr(&created));
    let id = emu
        .invalidations(SLOW)
        .first()
        .map(|invalidation| invalidation.id.clone())
        .unwrap_or_default();

    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let app = object(&report, "/app.js");
    assert_eq!(app["verdict"], "stale", "{report:#}");
    assert_eq!(app["covered_by"], id.as_str());
    let advice = app["advice"].as_str().unwrap_or_default();
    assert!(
        advice.starts_with(&format!(
            "invalidation {id} covers it and is still InProgress: wait for it (cf-invalidate wait --distribution-id {SLOW} --id {id}), then verify again"
        )),
        "{advice}"
    );
}

/// GIVEN an object cached after a completed `/*` invalidation and then replaced WHEN verified
/// (one request at a time) THEN the completed invalidation is named, and the advice is that the
/// upload came after it: invalidate again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_object_after_a_completed_invalidation_is_told_to_invalidate_again() {
    let emu = emulator().await;
    upload(&emu, "app.js", "v1", YEAR).await;
    let first = run(&emu, &["invalidate", "--distribution-id", DIST, "/*"]).await;
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let verify = [
        "verify",
        "--distribution-id",
        DIST,
        "--bucket",
        BUCKET,
        "/app.js",
        "--concurrency",
        "1",
        "--output",
        "json",
    ];
    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    upload(&emu, "app.js", "v2", YEAR).await;

    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let id = emu
        .invalidations(DIST)
        .first()
        .map(|invalidation| invalidation.id.clone())
        .unwrap_or_default();
    let app = object(&report, "/app.js");
    assert_eq!(app["covered_by"], id.as_str(), "{report:#}");
    let advice = app["advice"].as_str().unwrap_or_default();
    assert!(
        advice.starts_with(&format!(
            "invalidation {id} covers it and is Completed, yet the edge serves an older copy: the object was probably uploaded after that invalidation; invalidate it again: cf-invalidate invalidate --distribution-id {DIST} '/app.js'"
        )),
        "{advice}"
    );
}

fn edge(emu: &EmulatorHandle) -> String {
    emu.edge_addr(DIST)
        .map(|addr| addr.to_string())
        .unwrap_or_default()
}

/// GIVEN three objects under /css/ WHEN `/css/*` is verified THEN it is expanded against the
/// bucket's listing, and --max-objects 3 checks three of the four paths, evenly chosen (the
/// first and the last among them), and says so; a wildcard matching no key and a cache tag are reported not comparable
/// with a warning, never passed; a key in neither place is fresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards_are_expanded_against_the_listing_and_sampled_evenly() {
    let emu = emulator().await;
    for name in ["a", "b", "c"] {
        upload(&emu, &format!("css/{name}.css"), name, "max-age=60").await;
    }
    let base_url = format!("http://{}/", edge(&emu));
    let out = run(
        &emu,
        &[
            "verify",
            "--base-url",
            &base_url,
            "--bucket",
            BUCKET,
            "/css/*",
            "/gone.html",
            "/none/*",
            "#tag",
            "--max-objects",
            "3",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    let verdicts: Vec<(String, String)> = report["objects"]
        .as_array()
        .map(|objects| {
            objects
                .iter()
                .map(|o| (o["path"].to_string(), o["verdict"].to_string()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(report["listed"], 4, "{report:#}");
    assert_eq!(
        verdicts,
        [
            ("\"/gone.html\"", "\"fresh\""),
            ("\"/css/a.css\"", "\"fresh\""),
            ("\"/css/c.css\"", "\"fresh\""),
            ("\"#tag\"", "\"not_comparable\""),
            ("\"/none/*\"", "\"not_comparable\""),
        ]
        .map(|(p, v)| (p.to_owned(), v.to_owned())),
        "{report:#}"
    );
    assert_eq!(object(&report, "/css/c.css")["key"], "css/c.css");
    let warnings = stderr(&out);
    assert!(
        warnings.contains("warning: 4 objects named: 3 of them checked, chosen evenly across the list (--max-objects 3)")
            && warnings.contains(&format!("warning: /none/*: a wildcard that matches no object in s3://{BUCKET}/: not checkable"))
            && warnings.contains("warning: #tag: a cache tag names no object"),
        "{warnings}"
    );
}

/// GIVEN the output of `aws s3 sync --delete` into the origin bucket WHEN verify reads it THEN
/// the bucket comes from the log, the uploaded object is checked by its ETag and the deleted one
/// is gone from both: fresh, without --bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paths_and_the_bucket_come_from_a_sync_log() {
    let emu = emulator().await;
    upload(&emu, "my%20page.html", "page", "max-age=60").await;
    let log = std::env::temp_dir().join(format!("verify-sync-{}.txt", std::process::id()));
    std::fs::write(
        &log,
        format!(
            "upload: public/my page.html to s3://{BUCKET}/my page.html\ndelete: s3://{BUCKET}/old.html\n"
        ),
    )
    .expect("sync log written");
    let log_path = log.display().to_string();
    let out = run(
        &emu,
        &[
            "verify",
            "--distribution-id",
            DIST,
            "--paths-from-s3-sync",
            &log_path,
            "--output",
            "text",
        ],
    )
    .await;
    let _ = std::fs::remove_file(&log);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "fresh\t/my%20page.html\t200\tMiss from cloudfront\t-\tmax-age=60\nfresh\t/old.html\t403\tError from cloudfront\t-\t-\n"
    );
}

/// GIVEN a build directory uploaded and read once through the edge WHEN the build changes and
/// is uploaded again THEN verify --build compares the edge's body with the files (a wildcard
/// walks the directory): the cached page is stale, a page the edge never cached is fresh. The
/// same build as a zip is compared by its entries' CRC-32, and an entry no URL can name is
/// reported not comparable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_directory_is_compared_by_content() {
    let emu = emulator().await;
    let build = std::env::temp_dir().join(format!("verify-build-{}", std::process::id()));
    std::fs::create_dir_all(build.join("docs")).expect("build directory");
    std::fs::write(build.join("index.html"), "v1").expect("file written");
    upload(&emu, "index.html", "v1", YEAR).await;
    let dir = build.display().to_string();
    let verify = [
        "verify",
        "--base-url",
        &format!("http://{}", edge(&emu)),
        "--build",
        &dir,
        "/*",
        "--output",
        "json",
    ];
    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        object(&json(&out), "/index.html")["reason"],
        "the edge serves the build's 2 bytes"
    );

    std::fs::write(build.join("index.html"), "v2!").expect("file written");
    std::fs::write(build.join("docs/new page.html"), "new").expect("file written");
    upload(&emu, "index.html", "v2!", YEAR).await;
    upload(&emu, "docs/new%20page.html", "new", YEAR).await;
    let out = run(&emu, &verify).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["origin"], dir.as_str());
    let index = object(&report, "/index.html");
    assert_eq!(index["verdict"], "stale", "{report:#}");
    assert_eq!(
        index["reason"],
        "the edge serves 2 bytes that differ from the build's 3"
    );
    assert_eq!(object(&report, "/docs/new%20page.html")["verdict"], "fresh");

    // The same build as a zip: compared with its entries' CRC-32 and size.
    let zip = build.join("site.zip");
    std::fs::write(
        &zip,
        zip_bytes(&[
            ("index.html", "v2!"),
            ("docs/new page.html", "new"),
            ("docs/bell\u{7}.html", "ding"),
        ]),
    )
    .expect("zip written");
    let zip_path = zip.display().to_string();
    let mut with_zip = verify;
    with_zip[4] = &zip_path;
    let out = run(&emu, &with_zip).await;
    let _ = std::fs::remove_dir_all(&build);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["listed"], 2, "{report:#}");
    // An entry no URL can name is reported, not dropped.
    let bell = object(&report, "/docs/bell\u{7}.html");
    assert_eq!(bell["verdict"], "not_comparable");
    assert!(
        bell["reason"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("listed, but no path CloudFront serves: path")),
        "{bell:#}"
    );
    assert_eq!(object(&report, "/index.html")["verdict"], "stale");
    let page = object(&report, "/docs/new%20page.html");
    assert_eq!(page["verdict"], "fresh", "{report:#}");
    assert_eq!(
        page["reason"],
        format!(
            "the edge serves the zip entry's 3 bytes (CRC-32 {:08x})",
            crc32fast::hash(b"new")
        )
    );
}

fn zip_bytes(files: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write as _;
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, contents) in files {
        writer.start_file(*name, options).expect("a file");
        writer.write_all(contents.as_bytes()).expect("contents");
    }
    writer.finish().expect("finish").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_that_never_answers_ends_within_the_timeout_with_its_url() {
    let emu = emulator().await;
    upload(&emu, "a.html", "a", "max-age=60").await;
    let url = silent_server().await;
    let started = Instant::now();
    let out = run(
        &emu,
        &[
            "verify",
            "--base-url",
            &url,
            "--bucket",
            BUCKET,
            "/a.html",
            "--timeout",
            "1s",
        ],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "error: the edge did not answer HEAD {url}/a.html within 1s (--timeout)"
        )),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_and_say_what_to_give() {
    let emu = emulator().await;
    let cases: [(&[&str], &str); 7] = [
        (
            &[
                "verify",
                "--distribution-id",
                DIST,
                "--bucket",
                BUCKET,
                "--max-paths",
                "5",
                "/a",
            ],
            "--max-paths \"5\" does not apply to verify, which collapses nothing: bound the objects checked with --max-objects",
        ),
        (
            &[
                "verify",
                "--distribution-id",
                DIST,
                "--build",
                "/nonexistent/build",
                "/a",
            ],
            "--build \"/nonexistent/build\" does not exist: give the build's output directory, or its zip",
        ),
        (&["verify", "--bucket", BUCKET, "/a"], "--distribution-id"),
        (
            &["verify", "--distribution-id", DIST, "/a"],
            "nothing to compare the edge with: give the origin bucket with --bucket BUCKET",
        ),
        (
            &["verify", "--base-url", "ftp://x", "--bucket", BUCKET, "/a"],
            "--base-url \"ftp://x\" does not start with http:// or https://",
        ),
        (
            &[
                "verify",
                "--base-url",
                "https://www.example.com/docs",
                "--bucket",
                BUCKET,
                "/a",
            ],
            "has a path or query: give the site's root",
        ),
        (
            &[
                "verify",
                "--distribution-id",
                DIST,
                "--bucket",
                BUCKET,
                "--max-objects",
                "0",
                "/a",
            ],
            "\"0\" is not a count",
        ),
    ];
    for (args, said) in cases {
        let out = run(&emu, args).await;
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
    }
    let out = run(
        &emu,
        &["verify", "--distribution-id", DIST, "--bucket", BUCKET],
    )
    .await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("no paths given"), "{}", stderr(&out));
    // Nothing reached the edge or CloudFront.
    assert!(
        emu.request_log()
            .iter()
            .all(|r| r.api.to_string() != "CloudFront")
    );
}
