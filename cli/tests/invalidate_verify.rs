//! `cf-invalidate invalidate --verify` against local-aws: objects with awkward keys uploaded
//! through S3's API, seen stale through the edge, then invalidated and proved fresh.

mod support;

use support::{code, json, silent_server, stderr, stdout};

use std::process::{Output, Stdio};
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use local_aws::{DistributionConfig, DurationRange, Emulator, EmulatorConfig, EmulatorHandle};
use serde_json::Value;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cf-invalidate");
const DIST: &str = "E2QWRUHEXAMPLE";
/// A second distribution in front of the same bucket (a staging address, say).
const OTHER: &str = "E3OTHEREXAMPLE";
/// A distribution whose invalidations stay InProgress for a minute.
const SLOW: &str = "ESLOWEXAMPLE01";
const BUCKET: &str = "site-bucket";
const YEAR: &str = "max-age=31536000";

/// Keys holding a space, `+`, `%` (alone and before two hex digits), `~`, `é` and `?`.
const AWKWARD_KEYS: [&str; 7] = [
    "docs/a b.html",
    "docs/a+b.html",
    "docs/100%.html",
    "docs/100%41.html",
    "docs/a~b.html",
    "docs/café.html",
    "docs/what?.html",
];

async fn emulator() -> EmulatorHandle {
    let one_second = DurationRange::fixed(Duration::from_secs(1));
    let mut distributions: Vec<DistributionConfig> = [DIST, OTHER]
        .map(|id| {
            DistributionConfig::new(id)
                .origin(BUCKET)
                .completes_after(one_second)
        })
        .into();
    distributions.push(
        DistributionConfig::new(SLOW)
            .origin(BUCKET)
            .completes_after(DurationRange::fixed(Duration::from_secs(60))),
    );
    let emu = Emulator::start(EmulatorConfig {
        distributions,
        seed: Some(21),
        ..EmulatorConfig::default()
    })
    .await
    .expect("local-aws starts");
    emu.create_bucket(BUCKET);
    emu
}

/// The AWS SDK's S3 client, as a deploy script would use it.
fn s3(emu: &EmulatorHandle) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(emu.endpoint())
        .force_path_style(true)
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: &str) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .content_type("text/html")
        .cache_control(YEAR)
        .send()
        .await
        .unwrap_or_else(|error| panic!("PutObject {key}: {error:?}"));
}

/// The path a browser requests for a key: every byte outside RFC 3986's unreserved characters,
/// its sub-delimiters, `:`, `@` and `/` percent-encoded (so `?` and `%` are, `+` and `~` not).
fn viewer_path(key: &str) -> String {
    let mut path = String::from("/");
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte) {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path
}

/// What a viewer's GET through the edge answers: status, X-Cache and body.
async fn view(emu: &EmulatorHandle, edge_of: &str, key: &str) -> (u16, String, String) {
    let base = emu
        .edge_endpoint(edge_of)
        .expect("the distribution has an edge");
    let url = format!("{base}{}", viewer_path(key));
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri = url.parse().unwrap_or_else(|error| panic!("{url}: {error}"));
    let response = client
        .get(uri)
        .await
        .unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let status = response.status().as_u16();
    let x_cache = response
        .headers()
        .get("x-cache")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("(no X-Cache)")
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|error| panic!("GET {url}: body: {error}"))
        .to_bytes();
    (status, x_cache, String::from_utf8_lossy(&body).into_owned())
}

/// Every key through `edge_of`'s edge must answer `body`, with `x_cache`.
async fn assert_served(emu: &EmulatorHandle, edge_of: &str, body: &str, x_cache: &str) {
    for key in AWKWARD_KEYS {
        let (status, cache, served) = view(emu, edge_of, key).await;
        assert_eq!(
            (status, cache.as_str(), served.as_str()),
            (200, x_cache, body),
            "GET {} through {edge_of}'s edge",
            viewer_path(key)
        );
    }
}

/// v1 uploaded and cached at both edges (Miss, then Hit), then v2 uploaded: both edges serve v1.
async fn stale_site(emu: &EmulatorHandle) {
    let s3 = s3(emu);
    for key in AWKWARD_KEYS {
        put(&s3, key, "v1").await;
    }
    for edge_of in [DIST, OTHER] {
        assert_served(emu, edge_of, "v1", "Miss from cloudfront").await;
        assert_served(emu, edge_of, "v1", "Hit from cloudfront").await;
    }
    for key in AWKWARD_KEYS {
        put(&s3, key, "v2").await;
    }
    for edge_of in [DIST, OTHER] {
        assert_served(emu, edge_of, "v1", "Hit from cloudfront").await;
    }
}

/// The output of `aws s3 sync site/ s3://BUCKET/` that uploaded the keys, which it prints
/// unencoded.
fn sync_log(name: &str) -> std::path::PathBuf {
    let log = std::env::temp_dir().join(format!("{name}-{}.txt", std::process::id()));
    let text: String = AWKWARD_KEYS
        .iter()
        .map(|key| format!("upload: site/{key} to s3://{BUCKET}/{key}\n"))
        .collect();
    std::fs::write(&log, text).expect("sync log written");
    log
}

async fn run(emu: &EmulatorHandle, args: &[&str]) -> Output {
    let output = Command::new(BIN)
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
        .kill_on_drop(true)
        .args(args)
        .output();
    tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("the command ends on its own")
        .expect("the binary runs")
}

fn objects(verify: &Value) -> Vec<(String, String, String)> {
    verify["objects"]
        .as_array()
        .map(|objects| {
            objects
                .iter()
                .map(|o| {
                    let text = |field: &str| o[field].as_str().unwrap_or_default().to_owned();
                    (text("path"), text("key"), text("verdict"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// GIVEN awkward keys cached at the edge as v1 and replaced by v2 in the bucket, the edge still
/// serving v1 (Hit) WHEN `invalidate --verify` reads the sync's output THEN it exits 0, its JSON
/// carries verify's figures with every key fresh, and a viewer's GET of each key returns v2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_keys_are_stale_before_and_verified_fresh_after_invalidate_verify() {
    let emu = emulator().await;
    stale_site(&emu).await;
    let log = sync_log("invalidate-verify");
    let log_path = log.display().to_string();
    let out = run(
        &emu,
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--paths-from-s3-sync",
            &log_path,
            "--verify",
            "--output",
            "json",
        ],
    )
    .await;
    let _ = std::fs::remove_file(&log);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["result"], "completed", "{report:#}");
    assert_eq!(report["exit_code"], 0);
    let verify = &report["verify"];
    assert_eq!(
        [
            &verify["checked"],
            &verify["fresh"],
            &verify["stale"],
            &verify["missing"],
            &verify["not_comparable"]
        ],
        [7, 7, 0, 0, 0].map(Value::from).each_ref(),
        "{report:#}"
    );
    assert_eq!(verify["origin"], format!("s3://{BUCKET}/"));
    assert_eq!(
        verify["base_url"],
        emu.edge_endpoint(DIST).unwrap_or_default()
    );
    // Each key checked under the path CloudFront was sent, and HeadObject of the key itself.
    let expected: Vec<(String, String, String)> = [
        ("/docs/a%20b.html", "docs/a b.html"),
        ("/docs/a+b.html", "docs/a+b.html"),
        ("/docs/100%25.html", "docs/100%.html"),
        ("/docs/100%2541.html", "docs/100%41.html"),
        ("/docs/a%7Eb.html", "docs/a~b.html"),
        ("/docs/caf%C3%A9.html", "docs/café.html"),
        ("/docs/what%3F.html", "docs/what?.html"),
    ]
    .iter()
    .map(|(path, key)| ((*path).to_owned(), (*key).to_owned(), "fresh".to_owned()))
    .collect();
    assert_eq!(objects(verify), expected, "{report:#}");
    let sent = emu
        .invalidations(DIST)
        .first()
        .map(|invalidation| invalidation.paths.clone())
        .unwrap_or_default();
    let mut paths: Vec<String> = expected.into_iter().map(|(path, _, _)| path).collect();
    paths.sort();
    let mut sent_sorted = sent.clone();
    sent_sorted.sort();
    assert_eq!(sent_sorted, paths, "the invalidation's paths");

    // Verify's own requests fetched v2 into the edge, which viewers now get from its cache.
    assert_served(&emu, DIST, "v2", "Hit from cloudfront").await;
}

/// GIVEN two distributions in front of one bucket, both serving v1 of the awkward keys after v2
/// was uploaded WHEN only the first is invalidated but the second's address is verified THEN
/// the run exits 1 naming the stale paths and saying that the invalidation itself completed;
/// the text output is the invalidation's summary, then verify's lines and counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_object_after_the_invalidation_fails_the_run_and_is_named() {
    let emu = emulator().await;
    stale_site(&emu).await;
    let other_edge = emu.edge_endpoint(OTHER).unwrap_or_default();
    let out = run(
        &emu,
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--verify",
            "--base-url",
            &other_edge,
            "--bucket",
            BUCKET,
            // A `?` in a path starts a query string, as in a URL: the key's is given escaped.
            "/docs/what%3F.html",
            "/docs/café.html",
        ],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let id = emu
        .invalidations(DIST)
        .first()
        .map(|invalidation| invalidation.id.clone())
        .unwrap_or_default();
    let shown = stdout(&out);
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines.first().is_some_and(
            |first| first.starts_with(&format!("Invalidated 2 paths on {DIST} ({id}) in "))
        ),
        "{shown}"
    );
    assert!(
        lines.iter().any(|line| line.starts_with(
            "stale          /docs/what%3F.html  (200, X-Cache: Hit from cloudfront, Age: "
        )),
        "{shown}"
    );
    let counts = format!(
        "2 objects checked through {other_edge}: 0 fresh, 2 stale, 0 missing. Not fresh: /docs/what%3F.html, /docs/caf%C3%A9.html"
    );
    assert_eq!(lines.last().copied(), Some(counts.as_str()), "{shown}");
    assert!(
        stderr(&out).contains(&format!(
            "error: the invalidation completed, but not every object is fresh through the edge: {counts}"
        )),
        "{}",
        stderr(&out)
    );
    // The invalidated distribution serves v2; the other still serves v1.
    assert_eq!(
        view(&emu, DIST, "docs/what?.html").await.2,
        "v2",
        "through {DIST}"
    );
    assert_eq!(view(&emu, OTHER, "docs/what?.html").await.2, "v1");

    // JSON: the run completed, verify says what is stale.
    let out = run(
        &emu,
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--verify",
            "--base-url",
            &other_edge,
            "--bucket",
            BUCKET,
            "/docs/a b.html",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(
        (
            &report["result"],
            &report["succeeded"],
            &report["verify"]["stale"],
            &report["verify"]["fresh"],
        ),
        (
            &Value::from("completed"),
            &Value::from(false),
            &Value::from(1),
            &Value::from(0)
        ),
        "{report:#}"
    );
    assert_eq!(
        objects(&report["verify"]),
        [(
            "/docs/a%20b.html".to_owned(),
            "docs/a b.html".to_owned(),
            "stale".to_owned()
        )]
    );
}

/// `--verify` needs the wait and verify's input; each mistake is refused before anything is
/// sent (exit 2), and verify's flags mean nothing without `--verify`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_flags_are_refused_where_they_cannot_work() {
    let emu = emulator().await;
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "invalidate",
                "--distribution-id",
                DIST,
                "--verify",
                "--no-wait",
                "--bucket",
                BUCKET,
                "/a.html",
            ],
            "the argument '--verify' cannot be used with '--no-wait'",
        ),
        (
            &[
                "invalidate",
                "--distribution-id",
                DIST,
                "--verify",
                "/a.html",
            ],
            "nothing to compare the edge with: give the origin bucket with --bucket BUCKET",
        ),
        (
            &[
                "invalidate",
                "--distribution-id",
                &format!("{DIST},{OTHER}"),
                "--verify",
                "--bucket",
                BUCKET,
                "/a.html",
            ],
            "names no single distribution whose domain verify could ask: give the site's address with --base-url",
        ),
        (
            &[
                "invalidate",
                "--distribution-id",
                DIST,
                "--bucket",
                BUCKET,
                "/a.html",
            ],
            "--bucket \"site-bucket\" applies only with --verify",
        ),
        (
            &[
                "invalidate",
                "--distribution-id",
                DIST,
                "--verify",
                "--bucket",
                BUCKET,
                "--base-url",
                "ftp://x",
                "/a.html",
            ],
            "--base-url \"ftp://x\" does not start with http:// or https://",
        ),
    ];
    for (args, said) in cases {
        let out = run(&emu, args).await;
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
    }
    assert!(
        emu.request_log()
            .iter()
            .all(|r| r.api.to_string() != "CloudFront"),
        "nothing was sent to CloudFront"
    );
}

/// GIVEN an invalidation that completes but an edge that never answers WHEN verified THEN the
/// run fails (1) saying that the invalidation completed and verify could not finish; GIVEN one
/// still InProgress at --timeout THEN verify does not run, a warning says so, and the exit code
/// is the invalidation's (0 with --on-timeout succeed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_runs_only_after_completed_and_its_own_failure_is_told_apart() {
    let emu = emulator().await;
    put(&s3(&emu), "a.html", "v1").await;
    let silent = silent_server().await;
    let out = run(
        &emu,
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--verify",
            "--base-url",
            &silent,
            "--bucket",
            BUCKET,
            "--verify-timeout",
            "1s",
            "/a.html",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["result"], "completed", "{report:#}");
    assert_eq!(report["verify"], Value::Null);
    let message = report["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "the invalidation completed, but verify could not finish: the edge did not answer HEAD {silent}/a.html within 1s"
        )),
        "{message}"
    );

    let slow = [
        "invalidate",
        "--distribution-id",
        SLOW,
        "--verify",
        "--bucket",
        BUCKET,
        "--timeout",
        "1s",
        "/a.html",
        "--output",
        "json",
    ];
    for (on_timeout, exit) in [("fail", 1), ("succeed", 0)] {
        let mut args = slow.to_vec();
        args.extend(["--on-timeout", on_timeout]);
        let out = run(&emu, &args).await;
        assert_eq!(code(&out), exit, "{on_timeout}: {}", stderr(&out));
        let report = json(&out);
        assert_eq!(report["result"], "timed_out", "{report:#}");
        assert_eq!(report["verify"], Value::Null);
        assert!(
            stderr(&out)
                .contains("warning: --verify: not run, because the invalidation did not complete"),
            "{}",
            stderr(&out)
        );
    }
}
