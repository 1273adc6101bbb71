//! `--paths-from-s3-sync` given something other than a finished `aws s3 sync`: a file of prose,
//! an empty file, the log of a sync that failed half-way, a build log around the sync's lines.
//! The real binary is run; `plan` needs no AWS.

mod support;

use support::{code, json, stderr, stdout};

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cf-invalidate");

fn fixture(name: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    path.to_str().expect("UTF-8 fixture path").to_owned()
}

/// The binary with an environment that could reach no real AWS account.
fn cli() -> Command {
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
        .stdin(Stdio::null());
    command
}

fn run(args: &[&str]) -> Output {
    cli().args(args).output().expect("the binary runs")
}

fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = cli()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input).expect("stdin written");
    drop(stdin);
    child.wait_with_output().expect("the binary runs")
}

fn warnings(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter_map(|line| line.strip_prefix("warning: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_file_of_prose_is_a_usage_error_that_quotes_its_first_line() {
    // GIVEN release notes given where the sync's output belongs
    let notes = fixture("not-a-sync.txt");
    // WHEN the plan is asked for
    let output = run(&["plan", "--paths-from-s3-sync", &notes]);
    // THEN it is refused as usage, quoting the file's first line, and nothing is planned
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output).lines().next().unwrap_or_default(),
        format!(
            "error: --paths-from-s3-sync {notes} does not look like `aws s3 sync` output: its first line is \"Release notes for the spring site update\", and no line of it is one the sync prints (upload:, copy:, delete:, a failure, progress). Give the sync's output unchanged, as in: aws s3 sync public/ s3://my-bucket/ > s3-sync.txt 2>&1. A sync that changed nothing prints nothing: give an empty file for that"
        )
    );
}

#[test]
fn a_long_first_line_from_standard_input_is_shortened() {
    let prose = format!("{}\nsecond line\n", "All work and no play. ".repeat(10));
    let output = run_with_stdin(&["plan", "--paths-from-s3-sync", "-"], prose.as_bytes());
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    let message = stderr(&output);
    let shown: String = prose.chars().take(80).collect();
    assert!(
        message.starts_with(&format!(
            "error: --paths-from-s3-sync - (standard input) does not look like `aws s3 sync` output: its first line is \"{shown}…\", and"
        )),
        "{message}"
    );
}

#[test]
fn invalidate_refuses_prose_before_any_call_to_aws() {
    // GIVEN an endpoint that would notice a connection
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    listener.set_nonblocking(true).expect("non-blocking");
    let endpoint = format!(
        "http://{}",
        listener.local_addr().expect("the listener's address")
    );
    // WHEN invalidate is given prose
    let output = run(&[
        "invalidate",
        "--distribution-id",
        "E2QWRUHAPOMQZL",
        "--paths-from-s3-sync",
        &fixture("not-a-sync.txt"),
        "--endpoint-url",
        &endpoint,
        "--no-wait",
    ]);
    // THEN it exits 2 with the same message, and nobody connected
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("does not look like `aws s3 sync` output"),
        "{}",
        stderr(&output)
    );
    assert!(
        matches!(listener.accept(), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "cf-invalidate connected to the endpoint"
    );
}

#[test]
fn an_empty_or_blank_sync_output_still_changed_nothing() {
    let empty = run(&[
        "plan",
        "--paths-from-s3-sync",
        &fixture("s3-sync-unchanged.txt"),
    ]);
    assert_eq!(code(&empty), 0, "{}", stderr(&empty));
    assert_eq!(
        stdout(&empty),
        "The sync changed nothing: there is nothing to invalidate and nothing to pay.\n"
    );
    assert_eq!(stderr(&empty), "");

    // Blank lines, as a terminal's cleared progress line leaves them, say the same.
    let blank = run_with_stdin(&["plan", "--paths-from-s3-sync", "-"], b"\n   \r\n\n");
    assert_eq!(code(&blank), 0, "{}", stderr(&blank));
    assert_eq!(stdout(&blank), stdout(&empty));
    assert_eq!(stderr(&blank), "");
}

#[test]
fn a_sync_that_did_not_finish_is_warned_about_and_what_it_uploaded_is_planned() {
    // GIVEN the output (stdout and stderr) of a sync that lost one upload, then its credentials
    let log = fixture("s3-sync-failed.txt");
    // WHEN the plan is asked for
    let output = run(&["plan", "--paths-from-s3-sync", &log]);
    // THEN it succeeds and plans the three uploads that happened
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("The sync changed 3 objects: 3 uploaded, 0 copied, 0 deleted.\n"),
        "{text}"
    );
    for path in [
        "  /index.html\n",
        "  /css/app.css\n",
        "  /docs/getting%20started.html\n",
    ] {
        assert!(text.contains(path), "{path} missing from:\n{text}");
    }
    assert!(!text.contains("intro.mp4"), "{text}");
    // AND the failed upload and the error that stopped the sync are named, once each, on stderr
    assert_eq!(
        warnings(&output),
        vec![
            "the sync did not finish: 1 transfer failed, so its object was not changed and is not invalidated (line 3: \"upload failed: public/video/intro.mp4 to s3://example-site-bucket/video/intro.mp4 An error occurred (AccessDenied) when calling the CreateMultipartUpload operation: Access Denied\"). Fix the cause and run the sync again; only what the sync did change is invalidated",
            "the sync did not finish: it stopped at line 5: \"fatal error: An error occurred (ExpiredToken) when calling the ListObjectsV2 operation: The provided token has expired.\", so what it had not reached was not changed and is not invalidated. Fix the cause and run the sync again; only what the sync did change is invalidated",
        ]
    );
    assert!(
        !text.contains("did not finish"),
        "warnings belong on stderr:\n{text}"
    );

    // The JSON document carries them too.
    let doc = json(&run(&[
        "plan",
        "--paths-from-s3-sync",
        &log,
        "--output",
        "json",
    ]));
    assert_eq!(doc["changes"]["uploaded"], 3);
    let carried: Vec<&str> = doc["warnings"]
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(carried, warnings(&output));
}

#[test]
fn a_sync_stopped_by_a_missing_bucket_changed_nothing_and_says_why() {
    let output = run(&[
        "plan",
        "--paths-from-s3-sync",
        &fixture("s3-sync-no-such-bucket.txt"),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "The sync changed nothing: there is nothing to invalidate and nothing to pay.\n"
    );
    let [warning] = warnings(&output)
        .try_into()
        .unwrap_or_else(|all: Vec<String>| {
            panic!("one warning expected: {all:?}");
        });
    assert!(
        warning.starts_with(
            "the sync did not finish: it stopped at line 1: \"fatal error: An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation"
        ),
        "{warning}"
    );
}

#[test]
fn lines_around_the_sync_are_counted_in_one_warning() {
    // GIVEN a build log: shell trace and echo lines around the sync's own
    let log = fixture("s3-sync-build-log.txt");
    let output = run(&["plan", "--paths-from-s3-sync", &log]);
    // THEN the sync's changes are planned, and the three other lines are one warning
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("The sync changed 2 objects: 1 uploaded, 0 copied, 1 deleted.\n"),
        "{text}"
    );
    assert!(text.contains("  /old%20page.html\n"), "{text}");
    assert_eq!(
        warnings(&output),
        vec![format!(
            "3 lines of {log} were not sync lines and were skipped (first: line 1: \"+ aws s3 sync public/ s3://example-site-bucket/ --delete --no-progress\")"
        )]
    );
}

#[test]
fn the_progress_and_warnings_of_the_sync_itself_are_not_counted_as_foreign() {
    // The captured terminal log: progress joined by `\r`, a skipped file, a failed upload.
    let output = run(&[
        "plan",
        "--paths-from-s3-sync",
        &fixture("s3-sync-progress.txt"),
        "--site-prefix",
        "s3://example-site-bucket/www",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let warned = warnings(&output);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with(
            "the sync did not finish: 1 transfer failed, so its object was not changed and is not invalidated (line 4: \"upload failed: build/big.bin to s3://example-site-bucket/www/big.bin An error occurred (AccessDenied)"
        ),
        "{warned:?}"
    );
}
