//! The `cf-invalidate` binary driven as a user or a build would drive it, against local-aws over HTTP.

mod support;

use support::{code, json, stderr, stdout};

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use local_aws::{
    DistributionConfig, DistributionTenantConfig, DurationRange, Emulator, EmulatorConfig,
    EmulatorHandle,
};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cf-invalidate");
const DIST: &str = "E2QWRUHAPOMQZL";
const OTHER: &str = "E1ABCDEFGHIJKL";
const SLOW: &str = "ESLOW000000001";
const DENIED: &str = "EDENIED0000001";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn secs(n: u64) -> DurationRange {
    DurationRange::fixed(Duration::from_secs(n))
}

/// An emulator with fast, slow and denied distributions.
async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DIST).completes_after(secs(1)),
            DistributionConfig::new(OTHER)
                .completes_after(DurationRange::fixed(Duration::from_millis(1500))),
            DistributionConfig::new(SLOW).completes_after(secs(60)),
            DistributionConfig::denied(DENIED),
        ],
        seed: Some(7),
        ..EmulatorConfig::default()
    })
    .await
    .expect("local-aws starts")
}

/// The binary with a clean environment pointing at the emulator: no TTY, no profile, no IMDS.
fn cli(emu: &EmulatorHandle) -> Command {
    let mut command = cli_without_endpoint();
    command.env("AWS_ENDPOINT_URL_CLOUDFRONT", emu.endpoint());
    command
}

async fn run(command: &mut Command, args: &[&str]) -> Output {
    command.args(args).output().await.expect("the binary runs")
}

async fn run_with_stdin(command: &mut Command, args: &[&str], input: &[u8]) -> Output {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input).await.expect("stdin written");
    drop(stdin);
    child.wait_with_output().await.expect("the binary runs")
}

/// CloudFront operations the emulator answered, in order.
fn calls(emu: &EmulatorHandle) -> Vec<String> {
    emu.request_log()
        .into_iter()
        .filter(|record| record.api.to_string() == "CloudFront")
        .map(|record| record.operation)
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
    items.sort();
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidate_waits_for_completed_and_logs_status_lines_without_a_terminal() {
    // GIVEN a distribution whose invalidations take 1 s, and a heartbeat every 300 ms
    let emu = emulator().await;
    // WHEN a build runs the command with stderr going to its log (no TTY)
    let output = run(
        cli(&emu).env("CF_INVALIDATE_HEARTBEAT", "300ms"),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "/index.html",
            "/my file.html",
            "/css/*",
        ],
    )
    .await;
    // THEN it exits 0 once CloudFront says Completed
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let invalidations = emu.invalidations(DIST);
    assert_eq!(invalidations.len(), 1);
    let created = &invalidations[0];
    assert_eq!(
        created.paths,
        vec!["/css/*", "/index.html", "/my%20file.html"]
    );
    assert_eq!(created.status.as_str(), "Completed");
    // AND the log shows one line per status change, plus heartbeats while waiting
    let log = stderr(&output);
    assert!(
        log.contains(&format!("] {DIST} {} InProgress (created)", created.id)),
        "{log}"
    );
    assert!(
        log.contains(&format!("] {DIST} {} Completed", created.id)),
        "{log}"
    );
    assert!(log.contains("InProgress, still waiting"), "{log}");
    assert_eq!(
        log.matches("InProgress (created)").count(),
        1,
        "a poll that changes nothing writes no line: {log}"
    );
    // AND the summary on stdout names the id, the paths and the time
    let summary = stdout(&output);
    assert!(
        summary.starts_with(&format!(
            "Invalidated 3 paths on {DIST} ({}) in ",
            created.id
        )),
        "{summary}"
    );
    assert!(
        summary.contains("Paths (3 billed): /css/* /index.html /my%20file.html"),
        "{summary}"
    );
    // AND it created once and polled until Completed
    let calls = calls(&emu);
    assert_eq!(calls[0], "CreateInvalidation");
    assert_eq!(
        calls.iter().filter(|c| *c == "CreateInvalidation").count(),
        1
    );
    assert!(calls.iter().any(|c| c == "GetInvalidation"), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_is_one_document_for_scripts() {
    // GIVEN two distributions, given as one comma-separated flag
    let emu = emulator().await;
    let output = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            &format!("{DIST},{OTHER}"),
            "--output",
            "json",
            "/a.html",
            "/b.html",
        ],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // THEN stdout is exactly one JSON document, and the progress went to stderr
    let doc = json(&output);
    assert!(stderr(&output).contains("InProgress (created)"));
    assert_eq!(doc["command"], "invalidate");
    assert_eq!(doc["result"], "completed");
    assert_eq!(doc["succeeded"], true);
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["billed_paths"], 2);
    assert_eq!(strings(&doc["paths"]), vec!["/a.html", "/b.html"]);
    let distributions = doc["distributions"].as_array().expect("distributions");
    assert_eq!(distributions.len(), 2);
    for (entry, id) in distributions.iter().zip([DIST, OTHER]) {
        let created = &emu.invalidations(id)[0];
        assert_eq!(entry["distribution_id"], id);
        assert_eq!(entry["Id"], created.id.as_str());
        assert_eq!(entry["Status"], "Completed");
        assert!(
            entry["duration_seconds"].as_f64().is_some_and(|s| s >= 1.0),
            "{entry}"
        );
        assert!(
            entry["completed_after_seconds"].as_f64().is_some(),
            "{entry}"
        );
        assert_eq!(entry["caller_reference"], created.caller_reference.as_str());
        assert!(entry["error"].is_null());
    }
    assert!(doc["elapsed_seconds"].as_f64().is_some_and(|s| s >= 1.5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wait_exits_once_created_and_wait_status_pick_it_up() {
    let emu = emulator().await;
    // WHEN invalidating without waiting
    let created = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--no-wait",
            "--output",
            "json",
            "/x.html",
        ],
    )
    .await;
    assert_eq!(code(&created), 0, "{}", stderr(&created));
    let doc = json(&created);
    assert_eq!(doc["result"], "created");
    assert_eq!(doc["distributions"][0]["Status"], "InProgress");
    let id = doc["distributions"][0]["Id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(calls(&emu), vec!["CreateInvalidation"]);

    // THEN status shows it in progress
    let status = run(
        &mut cli(&emu),
        &["status", "--distribution-id", DIST, "--id", &id],
    )
    .await;
    assert_eq!(code(&status), 0, "{}", stderr(&status));
    // The status alone, as the AWS CLI's `--query Invalidation.Status --output text` prints it.
    assert_eq!(stdout(&status), "InProgress\n");

    // AND wait waits for Completed
    let waited = run(
        &mut cli(&emu),
        &["wait", "--distribution-id", DIST, "--id", &id],
    )
    .await;
    assert_eq!(code(&waited), 0, "{}", stderr(&waited));
    assert!(
        stdout(&waited).starts_with(&format!("Invalidation {id} on {DIST} is Completed")),
        "{}",
        stdout(&waited)
    );
    assert!(stderr(&waited).contains(&format!("{DIST} {id} Completed")));

    // AND status in JSON says so too
    let status = run(
        &mut cli(&emu),
        &[
            "status",
            "--distribution-id",
            DIST,
            "--id",
            &id,
            "--output",
            "json",
        ],
    )
    .await;
    let doc = json(&status);
    assert_eq!(doc["Status"], "Completed");
    assert_eq!(doc["completed"], true);
    assert_eq!(doc["Id"], id.as_str());

    // AND an unknown id is exit 1 with what to do
    for subcommand in ["status", "wait"] {
        let missing = run(
            &mut cli(&emu),
            &[
                subcommand,
                "--distribution-id",
                DIST,
                "--id",
                "INOSUCHTHING1",
            ],
        )
        .await;
        assert_eq!(code(&missing), 1, "{subcommand}");
        let message = stderr(&missing);
        assert!(
            message.contains("CloudFront has no invalidation INOSUCHTHING1")
                && message.contains("cf-invalidate list --distribution-id"),
            "{message}"
        );
    }
    // Nothing but that one invalidation was ever created.
    assert_eq!(emu.invalidations(DIST).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_exit_1_unless_on_timeout_succeed() {
    let emu = emulator().await;
    let failed = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            SLOW,
            "--timeout",
            "1s",
            "/a.html",
        ],
    )
    .await;
    assert_eq!(code(&failed), 1);
    let id = emu.invalidations(SLOW)[0].id.clone();
    let message = stderr(&failed);
    assert!(
        message.contains("error: timed out after 1s waiting for CloudFront")
            && message.contains(&format!(
                "cf-invalidate wait --distribution-id {SLOW} --id {id}"
            ))
            && message.contains("--on-timeout succeed"),
        "{message}"
    );

    let tolerated = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            SLOW,
            "--timeout",
            "1s",
            "--on-timeout",
            "succeed",
            "--output",
            "json",
            "/b.html",
        ],
    )
    .await;
    assert_eq!(code(&tolerated), 0, "{}", stderr(&tolerated));
    let doc = json(&tolerated);
    assert_eq!(doc["result"], "timed_out");
    assert_eq!(doc["succeeded"], true);
    assert_eq!(doc["distributions"][0]["Status"], "InProgress");
    assert!(stderr(&tolerated).contains("warning: timed out after 1s"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_refusals_are_exit_1_with_what_to_do() {
    let emu = emulator().await;
    // AccessDenied names the IAM action and the distribution's ARN.
    let denied = run(
        &mut cli(&emu),
        &["invalidate", "--distribution-id", DENIED, "/a.html"],
    )
    .await;
    assert_eq!(code(&denied), 1);
    let message = stderr(&denied);
    let arn = format!(
        "arn:aws:cloudfront::{}:distribution/{DENIED}",
        emu.account_id()
    );
    assert!(
        message.contains(&format!(
            "error: access denied: these AWS credentials may not call cloudfront:CreateInvalidation on {arn}"
        )),
        "{message}"
    );
    assert!(message.contains("cloudfront:GetInvalidation"), "{message}");

    // ListInvalidations names its own action.
    let listed = run(&mut cli(&emu), &["list", "--distribution-id", DENIED]).await;
    assert_eq!(code(&listed), 1);
    assert!(
        stderr(&listed).contains(&format!(
            "may not call cloudfront:ListInvalidations on {arn}"
        )),
        "{}",
        stderr(&listed)
    );

    // An unknown distribution says to check the flag.
    let unknown = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            "ENOSUCHDIST01",
            "/a.html",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&unknown), 1);
    let doc = json(&unknown);
    assert_eq!(doc["result"], "failed");
    // The CLI's own word, not CodePipeline's failure type.
    assert_eq!(doc["distributions"][0]["failure_type"], "configuration");
    assert!(
        doc["message"].as_str().is_some_and(|m| m
            .contains("CloudFront has no distribution ENOSUCHDIST01")
            && m.contains("--distribution-id")),
        "{doc}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_are_exit_2_and_send_nothing() {
    let emu = emulator().await;
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["invalidate", "--distribution-id", "e2qwruhapomqzl", "/a"],
            "did you mean \"E2QWRUHAPOMQZL\"?",
        ),
        (vec!["invalidate", "/a"], "set CF_DISTRIBUTION_ID"),
        (
            vec!["invalidate", "--distribution-id", DIST],
            "no paths given",
        ),
        (
            vec!["invalidate", "--distribution-id", DIST, "/img/*/a.png"],
            "CloudFront accepts a wildcard only as the last character",
        ),
        (
            vec![
                "invalidate",
                "--distribution-id",
                DIST,
                "/a",
                "--timeout",
                "30",
            ],
            "write 30s for seconds or 30m for minutes",
        ),
        (
            vec![
                "invalidate",
                "--distribution-id",
                DIST,
                "--paths-from",
                "/nonexistent/paths.txt",
            ],
            "cannot read --paths-from /nonexistent/paths.txt",
        ),
        (
            vec![
                "invalidate",
                "--distribution-id",
                DIST,
                "/a",
                "--caller-reference",
                "",
            ],
            "CODEBUILD_BUILD_ID",
        ),
        (
            vec![
                "invalidate",
                "--distribution-id",
                DIST,
                "/a",
                "--max-paths",
                "5000",
            ],
            "from 1 to 3000",
        ),
        (
            vec![
                "invalidate",
                "--distribution-id",
                DIST,
                "/a",
                "--endpoint-url",
                "localhost:1",
            ],
            "starting with http:// or https://",
        ),
        (
            vec!["wait", "--distribution-id", DIST, "--id", "i2j0i21pcuyoik"],
            "did you mean I2J0I21PCUYOIK?",
        ),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let output = run(&mut cli(&emu), &args).await;
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
    // A missing profile is a configuration error found before anything is sent.
    let no_profile = run(
        cli(&emu)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY"),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "/a",
            "--profile",
            "nosuchprofile",
        ],
    )
    .await;
    assert_eq!(code(&no_profile), 2, "{}", stderr(&no_profile));
    assert!(
        stderr(&no_profile).contains("the config profile (nosuchprofile) could not be found"),
        "{}",
        stderr(&no_profile)
    );
    assert_eq!(calls(&emu), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unquoted_wildcard_expanded_by_the_shell_is_refused() {
    let emu = emulator().await;
    // WHEN a real shell expands an unquoted /* (the bug this guard exists for)
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#""$0" invalidate --distribution-id E2QWRUHAPOMQZL /*"#)
        .arg(BIN)
        .env_clear()
        .env("AWS_ENDPOINT_URL_CLOUDFRONT", emu.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("sh runs");
    // THEN it refuses with exit 2, says to quote it, and sends nothing
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("look like your shell expanded an unquoted /*")
            && message.contains("'/*'")
            && message.contains("--allow-root-like-paths"),
        "{message}"
    );
    assert_eq!(calls(&emu), Vec::<String>::new());

    // AND the quoted form goes through
    let quoted = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#""$0" invalidate --distribution-id E2QWRUHAPOMQZL '/*' --no-wait --quiet"#)
        .arg(BIN)
        .env_clear()
        .env("AWS_ENDPOINT_URL_CLOUDFRONT", emu.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("sh runs");
    assert_eq!(code(&quoted), 0, "{}", stderr(&quoted));
    assert_eq!(stdout(&quoted), "", "--quiet prints nothing on success");
    assert_eq!(stderr(&quoted), "");
    assert_eq!(emu.invalidations(DIST)[0].paths, vec!["/*"]);

    // AND --allow-root-like-paths overrides the guard
    let allowed = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--allow-root-like-paths",
            "--dry-run",
            "/bin",
            "/etc",
            "/usr",
        ],
    )
    .await;
    assert_eq!(code(&allowed), 0, "{}", stderr(&allowed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_s3_sync_invalidates_exactly_what_changed() {
    let emu = emulator().await;
    let sync = fixture("s3-sync-site.txt");
    let output = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--paths-from-s3-sync",
            sync.to_str().expect("UTF-8 path"),
            "--directory-index",
            "index.html",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // Uploads and deletes, spaces encoded, non-ASCII encoded, index.html with its directory.
    let expected = sorted(&[
        "/",
        "/index.html",
        "/css/app.css",
        "/docs",
        "/docs/",
        "/docs/index.html",
        "/docs/getting%20started.html",
        "/img/caf%C3%A9.png",
        "/old%20page.html",
        "/blog/2019/draft.html",
    ]);
    let mut sent = emu.invalidations(DIST)[0].paths.clone();
    sent.sort();
    assert_eq!(sent, expected);
    let doc = json(&output);
    assert_eq!(doc["changes"]["uploaded"], 5);
    assert_eq!(doc["changes"]["deleted"], 2);
    assert_eq!(doc["billed_paths"], 10);
    assert!(
        stderr(&output).contains("The sync changed 7 objects: 5 uploaded, 0 copied, 2 deleted."),
        "{}",
        stderr(&output)
    );

    // With a budget of 2 paths, the change only fits as /*: sent, and warned about once.
    let squeezed = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--paths-from-s3-sync",
            sync.to_str().expect("UTF-8 path"),
            "--max-paths",
            "2",
            "--no-wait",
        ],
    )
    .await;
    assert_eq!(code(&squeezed), 0, "{}", stderr(&squeezed));
    assert_eq!(emu.invalidations(DIST)[0].paths, vec!["/*"]);
    let log = stderr(&squeezed);
    assert_eq!(
        log.matches("warning: the 7 changed paths were collapsed into /*")
            .count(),
        1,
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_log_with_progress_lines_is_read_from_stdin_under_a_site_prefix() {
    let emu = emulator().await;
    let log = std::fs::read(fixture("s3-sync-progress.txt")).expect("fixture");
    let output = run_with_stdin(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--paths-from-s3-sync",
            "-",
            "--site-prefix",
            "s3://example-site-bucket/www",
            "--no-wait",
        ],
        &log,
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let mut sent = emu.invalidations(DIST)[0].paths.clone();
    sent.sort();
    // The failed upload and the warning changed nothing.
    assert_eq!(
        sent,
        sorted(&["/index.html", "/about%20us.html", "/old/news%202019.html"])
    );

    // A wrong prefix is a usage error that names the object.
    let wrong = run_with_stdin(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--paths-from-s3-sync",
            "-",
            "--site-prefix",
            "site",
        ],
        &log,
    )
    .await;
    assert_eq!(code(&wrong), 2);
    assert!(
        stderr(&wrong)
            .contains("s3://example-site-bucket/www/index.html, which is not under --site-prefix"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(emu.invalidations(DIST).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_changed_nothing_invalidates_nothing_and_says_so() {
    let emu = emulator().await;
    let unchanged = fixture("s3-sync-unchanged.txt");
    let unchanged = unchanged.to_str().expect("UTF-8 path");
    let text = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--paths-from-s3-sync",
            unchanged,
        ],
    )
    .await;
    assert_eq!(code(&text), 0, "{}", stderr(&text));
    assert_eq!(
        stdout(&text),
        "The sync changed nothing: no invalidation was created (nothing sent to AWS).\n"
    );
    let doc = json(
        &run(
            &mut cli(&emu),
            &[
                "invalidate",
                "--distribution-id",
                DIST,
                "--paths-from-s3-sync",
                unchanged,
                "--output",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(doc["result"], "nothing_to_invalidate");
    assert_eq!(doc["billed_paths"], 0);
    assert_eq!(calls(&emu), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_and_calls_nothing() {
    let emu = emulator().await;
    let output = run_with_stdin(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--dry-run",
            "--caller-reference",
            "build-42",
            "--paths-from",
            "-",
            "/index.html",
        ],
        b"/about us.html\n\n/css/*\n/css/app.css\n",
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with(
            "Plan: 3 paths to invalidate (4 requested):\n  /about%20us.html\n  /css/*\n  /index.html\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Would invalidate {DIST} with CallerReference build-42-{DIST}-"
        )),
        "{text}"
    );
    assert!(text.contains("Dry run: nothing was sent to AWS."), "{text}");
    let doc = json(
        &run(
            &mut cli(&emu),
            &[
                "invalidate",
                "--distribution-id",
                DIST,
                "--dry-run",
                "/a",
                "--output",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["distributions"][0]["distribution_id"], DIST);
    // CF_DISTRIBUTION_ID is the fallback, comma-separated like the flag.
    let doc = json(
        &run(
            cli(&emu).env("CF_DISTRIBUTION_ID", format!("{DIST},{OTHER}")),
            &["invalidate", "--dry-run", "/a", "--output", "json"],
        )
        .await,
    );
    let targets: Vec<&str> = doc["distributions"]
        .as_array()
        .expect("distributions")
        .iter()
        .filter_map(|target| target["distribution_id"].as_str())
        .collect();
    assert_eq!(targets, vec![DIST, OTHER]);
    assert_eq!(doc["cost"]["billed_paths"], 2);
    assert_eq!(calls(&emu), Vec::<String>::new());
    assert!(emu.request_log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_billed_paths_cost_and_a_warning_without_any_call() {
    let emu = emulator().await;
    // 1,500 changed files within a 3,000 budget: 500 paths beyond the free 1,000.
    let many: String = (0..1500).map(|n| format!("/pages/p{n}.html\n")).collect();
    let output = run_with_stdin(
        &mut cli(&emu),
        &["plan", "--paths-from", "-", "--max-paths", "3000"],
        many.as_bytes(),
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("Cost: 1,500 billed paths: about US$2.500 (500 paths beyond the 1,000 free ones, at US$0.005 a path)"),
        "{}",
        &text[text.len().saturating_sub(600)..]
    );
    assert!(text.contains("assuming nothing else was invalidated"));

    // The same change with the default budget is collapsed, and the JSON says what it costs.
    let doc = json(
        &run_with_stdin(
            &mut cli(&emu),
            &["plan", "--paths-from", "-", "--output", "json"],
            many.as_bytes(),
        )
        .await,
    );
    assert_eq!(doc["requested_paths"], 1500);
    assert_eq!(doc["collapsed"], true);
    assert!(
        doc["billed_paths"].as_u64().is_some_and(|n| n <= 100),
        "{doc}"
    );
    assert_eq!(doc["cost"]["estimated_usd"], 0.0);
    assert_eq!(doc["cost"]["price_per_path_usd"], 0.005);

    // A big change that only fits as /* gets a warning.
    let sync = fixture("s3-sync-site.txt");
    let collapsed = run(
        &mut cli(&emu),
        &[
            "plan",
            "--paths-from-s3-sync",
            sync.to_str().expect("UTF-8 path"),
            "--max-paths",
            "2",
        ],
    )
    .await;
    let text = stdout(&collapsed);
    assert!(text.contains("Plan: 1 path to invalidate (7 requested, collapsed to stay within --max-paths 2):\n  /*\n"), "{text}");
    assert!(
        text.contains("warning: the 7 changed paths were collapsed into /*"),
        "{text}"
    );
    assert!(emu.request_log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_recent_invalidations_newest_first_across_pages() {
    let emu = emulator().await;
    for path in ["/one.html", "/two.html", "/three.html"] {
        let output = run(
            &mut cli(&emu),
            &[
                "invalidate",
                "--distribution-id",
                DIST,
                "--no-wait",
                "--quiet",
                path,
            ],
        )
        .await;
        assert_eq!(code(&output), 0, "{}", stderr(&output));
    }
    let newest_first: Vec<String> = emu
        .invalidations(DIST)
        .into_iter()
        .map(|invalidation| invalidation.id)
        .collect();
    // Pages of two: the third comes from following NextMarker.
    let output = run(
        &mut cli(&emu),
        &[
            "list",
            "--distribution-id",
            DIST,
            "--page-size",
            "2",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let doc = json(&output);
    let ids: Vec<String> = doc["invalidations"]
        .as_array()
        .expect("invalidations")
        .iter()
        .filter_map(|item| item["Id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids, newest_first);
    assert_eq!(doc["invalidations"][0]["Status"], "InProgress");
    assert!(
        doc["invalidations"][0]["CreateTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let lists = calls(&emu)
        .iter()
        .filter(|c| *c == "ListInvalidations")
        .count();
    assert_eq!(lists, 2);

    // --limit stops early; the text is a table.
    let output = run(
        &mut cli(&emu),
        &["list", "--distribution-id", DIST, "--limit", "2"],
    )
    .await;
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATUS") && lines[0].ends_with("CREATED")
    );
    assert!(lines[1].starts_with(&newest_first[0]), "{text}");
    assert!(lines[2].starts_with(&newest_first[1]), "{text}");

    let empty = run(&mut cli(&emu), &["list", "--distribution-id", OTHER]).await;
    assert_eq!(stdout(&empty), format!("No invalidations on {OTHER}.\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_says_what_goes_on_and_exits_130() {
    let emu = emulator().await;
    let child = cli(&emu)
        .args(["invalidate", "--distribution-id", SLOW, "/a.html"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let pid = child.id().expect("running").to_string();
    // Long enough for the invalidation to be created (the emulator answers in milliseconds).
    let mut created = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !emu.invalidations(SLOW).is_empty() {
            created = true;
            break;
        }
    }
    assert!(created, "no invalidation was created");
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(killed.success());
    let output = child.wait_with_output().await.expect("ends");
    assert_eq!(code(&output), 130, "{}", stderr(&output));
    let id = &emu.invalidations(SLOW)[0].id;
    let message = stderr(&output);
    assert!(
        message.contains("error: interrupted: still in progress in CloudFront")
            && message.contains(&format!(
                "cf-invalidate wait --distribution-id {SLOW} --id {id}"
            )),
        "{message}"
    );
}

/// The buildspec, read as CodeBuild reads it: YAML with `version`, `env` and `phases`.
fn buildspec() -> serde_norway::Value {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../buildspec.yml"))
            .expect("buildspec.yml at the top of the repository");
    serde_norway::from_str(&text).expect("buildspec.yml is YAML")
}

fn commands_of(spec: &serde_norway::Value, phase: &str) -> Vec<String> {
    spec["phases"][phase]["commands"]
        .as_sequence()
        .map(|commands| {
            commands
                .iter()
                .filter_map(|command| command.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buildspec_syncs_with_delete_and_invalidates_what_changed() {
    // GIVEN the repository's buildspec.yml
    let spec = buildspec();
    assert_eq!(spec["version"].as_f64(), Some(0.2));
    let install = commands_of(&spec, "install");
    let build = commands_of(&spec, "build");
    // The install phase fetches the pinned release's install.sh, then runs it for that release
    // (cli/tests/action.rs runs install.sh itself against a release server).
    assert_eq!(
        install,
        [
            "curl -fsSL --retry 3 -o /tmp/cf-invalidate-install.sh \"https://raw.githubusercontent.com/cf-invalidate/cf-invalidate/v$CF_INVALIDATE_VERSION/install.sh\"",
            "sh /tmp/cf-invalidate-install.sh --version \"$CF_INVALIDATE_VERSION\" --dir /usr/local/bin",
            "cf-invalidate --version",
        ],
        "{install:?}"
    );
    assert_eq!(
        spec["env"]["variables"]["CF_INVALIDATE_VERSION"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    let sync = build
        .iter()
        .find(|c| c.starts_with("aws s3 sync"))
        .expect("a sync command");
    assert!(
        sync.contains("\"$SITE_DIR\" \"s3://$SITE_BUCKET/\"")
            && sync.contains("--delete")
            && sync.ends_with("> \"$SYNC_LOG\""),
        "{sync}"
    );
    let all: Vec<String> = install.iter().chain(&build).cloned().collect();
    let ours: Vec<&String> = all
        .iter()
        .filter(|c| c.starts_with("cf-invalidate "))
        .collect();
    assert!(
        ours.iter()
            .any(|c| c.contains("--paths-from-s3-sync \"$SYNC_LOG\"")
                && c.contains("\"$DISTRIBUTION_ID\"")
                && c.contains("--caller-reference \"$CODEBUILD_BUILD_ID\"")),
        "{ours:?}"
    );
    // The invalidation comes after the sync, in the same phase, so a failed sync stops it.
    let sync_at = build.iter().position(|c| c == sync).expect("sync");
    let invalidate_at = build
        .iter()
        .position(|c| c.starts_with("cf-invalidate invalidate"))
        .expect("invalidate");
    assert!(sync_at < invalidate_at);

    // WHEN its cf-invalidate lines run as CodeBuild would run them (bash, the project's
    // variables, the binary on PATH), with a recorded sync output in place of a real sync
    let emu = emulator().await;
    let workdir =
        std::env::temp_dir().join(format!("cf-invalidate-buildspec-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).expect("work dir");
    std::fs::copy(fixture("s3-sync-site.txt"), workdir.join("s3-sync.txt")).expect("sync output");
    let bin_dir = Path::new(BIN).parent().expect("bin dir");
    let variables = spec["env"]["variables"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    let build_id = "site-deploy:7d1c2f0e-0b8a-4c3e-9f5a-2b4d6e8f0a1c";
    for line in &ours {
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(line.as_str())
            .current_dir(&workdir)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", emu.endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("DISTRIBUTION_ID", DIST)
            .env("SITE_BUCKET", "example-site-bucket")
            .env("SITE_DIR", "public")
            .env("CODEBUILD_BUILD_ID", build_id)
            .stdin(Stdio::null());
        for (key, value) in &variables {
            if let (Some(key), Some(value)) = (key.as_str(), value.as_str()) {
                command.env(key, value);
            }
        }
        // The recorded sync output stands where the buildspec keeps the real one.
        command.env("SYNC_LOG", workdir.join("s3-sync.txt"));
        let output = command.output().await.expect("bash runs");
        // THEN each exits 0
        assert_eq!(
            code(&output),
            0,
            "{line}: {}{}",
            stdout(&output),
            stderr(&output)
        );
    }
    let _ = std::fs::remove_dir_all(&workdir);
    // AND exactly the synced changes were invalidated, waited for, under the build's id
    let invalidations = emu.invalidations(DIST);
    assert_eq!(invalidations.len(), 1);
    assert_eq!(invalidations[0].status.as_str(), "Completed");
    assert_eq!(invalidations[0].paths.len(), 10);
    assert!(
        invalidations[0]
            .paths
            .contains(&"/old%20page.html".to_owned())
    );
    assert!(
        invalidations[0]
            .caller_reference
            .starts_with(&format!("{build_id}-{DIST}-")),
        "{}",
        invalidations[0].caller_reference
    );
}

/// Tenants of a multi-tenant distribution, through every command, named as tenants in the JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_tenants_work_on_every_command() {
    const MULTI: &str = "E3MULTITENANT0";
    const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
    let emu = Emulator::start(EmulatorConfig {
        distributions: vec![DistributionConfig::multi_tenant(MULTI)],
        distribution_tenants: vec![DistributionTenantConfig::new(TENANT).completes_after(secs(1))],
        seed: Some(7),
        ..EmulatorConfig::default()
    })
    .await
    .expect("local-aws starts");

    // invalidate, waiting for Completed
    let out = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-tenant-id",
            TENANT,
            "/index.html",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    let entry = &doc["distributions"][0];
    assert_eq!(entry["distribution_tenant_id"], TENANT, "{doc}");
    assert!(entry.get("distribution_id").is_none(), "{doc}");
    assert_eq!(entry["Status"], "Completed");
    let id = entry["Id"].as_str().expect("id").to_owned();
    assert_eq!(emu.tenant_invalidations(TENANT).len(), 1);
    assert!(
        calls(&emu).contains(&"CreateInvalidationForDistributionTenant".to_owned()),
        "{:?}",
        calls(&emu)
    );

    // status, wait and list name the tenant too
    let out = run(
        &mut cli(&emu),
        &[
            "status",
            "--distribution-tenant-id",
            TENANT,
            "--id",
            &id,
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["distribution_tenant_id"], TENANT);
    let out = run(
        &mut cli(&emu),
        &["wait", "--distribution-tenant-id", TENANT, "--id", &id],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(
        &mut cli(&emu),
        &[
            "list",
            "--distribution-tenant-id",
            TENANT,
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["invalidations"][0]["Id"], id.as_str());

    // an unknown tenant is explained as one; a tenant id given as a distribution id is a usage error
    let out = run(
        &mut cli(&emu),
        &["invalidate", "--distribution-tenant-id", "dt_nosuch", "/a"],
    )
    .await;
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("no distribution tenant dt_nosuch (EntityNotFound)"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &mut cli(&emu),
        &["invalidate", "--distribution-id", TENANT, "/a"],
    )
    .await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--distribution-tenant-id"),
        "{}",
        stderr(&out)
    );
    // the multi-tenant distribution itself is refused, with advice to name its tenants
    let out = run(
        &mut cli(&emu),
        &["invalidate", "--distribution-id", MULTI, "/a"],
    )
    .await;
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("invalidate its tenants with --distribution-tenant-id"),
        "{}",
        stderr(&out)
    );
}

/// One rule for `directoryIndex`: the command line and the action's UserParameters accept and
/// refuse exactly the same values (they once drifted: `index*` passed the CLI only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_index_is_judged_alike_by_the_cli_and_the_action() {
    let emu = emulator().await;
    let long = "a".repeat(256);
    let table: [(&str, bool); 10] = [
        ("index.html", true),
        ("default.htm", true),
        ("index*", false),
        ("docs/index.html", false),
        ("", false),
        (" index.html", false),
        ("index .html", false),
        ("index\t.html", false),
        (&long, false),
        ("ÍNDEX.html", true),
    ];
    for (value, accepted) in table {
        let json = serde_json::json!({"distributionId": DIST, "directoryIndex": value}).to_string();
        let action = cf_invalidate::params::parse_user_parameters(&json);
        let out = run(
            &mut cli(&emu),
            &["plan", "--directory-index", value, "/docs/index.html"],
        )
        .await;
        assert_eq!(
            action.is_ok(),
            accepted,
            "the action on {value:?}: {action:?}"
        );
        assert_eq!(
            code(&out),
            if accepted { 0 } else { 2 },
            "the CLI on {value:?}: {}",
            stderr(&out)
        );
    }
    assert!(calls(&emu).is_empty(), "plan sends nothing");
}

/// A stand-in CloudFront that answers every call with a completed GetInvalidation and keeps the
/// `Authorization` header of each request, to see which key signed it.
async fn signature_recorder() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request).into_owned();
            if let Some(line) = text
                .lines()
                .find(|line| line.to_ascii_lowercase().starts_with("authorization:"))
            {
                record.lock().expect("lock").push(line.to_owned());
            }
            let body = r#"<?xml version="1.0" encoding="UTF-8"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I1</Id><Status>Completed</Status><CreateTime>2026-11-29T00:00:00Z</CreateTime><InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/a</Path></Items></Paths><CallerReference>r</CallerReference></InvalidationBatch></Invalidation>"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

/// `--profile` picks the account as the AWS CLI does: an explicit profile beats keys in the
/// environment, AWS_PROFILE does not, and an unknown profile is a usage error naming the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_profile_signs_with_the_profiles_keys_even_with_keys_in_the_environment() {
    let (url, seen) = signature_recorder().await;
    let dir = std::env::temp_dir().join(format!("cf-invalidate-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(&config, "[profile site]\nregion = eu-west-1\n").expect("config");
    std::fs::write(
        &credentials,
        "[site]\naws_access_key_id = AKIAPROFILESITE00001\naws_secret_access_key = profile-secret\n",
    )
    .expect("credentials");
    let with_files = |command: &mut Command| {
        command
            .env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001")
            .env("AWS_SECRET_ACCESS_KEY", "environment-secret")
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", &url);
    };
    let status = ["status", "--distribution-id", DIST, "--id", "I1"];

    // --profile site: the profile's keys sign, whatever the environment holds
    let mut command = cli_without_endpoint();
    with_files(&mut command);
    let out = run(
        &mut command,
        &[&status[..], &["--profile", "site"]].concat(),
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // AWS_PROFILE=site: the environment's keys come first, as in the AWS CLI
    let mut command = cli_without_endpoint();
    command.env("AWS_PROFILE", "site");
    with_files(&mut command);
    let out = run(&mut command, &status).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].contains("Credential=AKIAPROFILESITE00001/"),
        "{}",
        seen[0]
    );
    assert!(
        seen[1].contains("Credential=AKIAENVIRONMENT00001/"),
        "{}",
        seen[1]
    );

    // --profile nosuch: exit 2, nothing sent, the files searched named
    let mut command = cli_without_endpoint();
    with_files(&mut command);
    let out = run(
        &mut command,
        &[&status[..], &["--profile", "nosuch"]].concat(),
    )
    .await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains("the config profile (nosuch) could not be found")
            && message.contains(&config.display().to_string())
            && message.contains(&credentials.display().to_string()),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server on 127.0.0.1 that is not CloudFront: it answers every request with `reply` (a whole
/// HTTP response), or, with `None`, takes the connection and never answers.
async fn stub_server(reply: Option<&'static str>) -> String {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0u8; 8192];
            let _ = socket.read(&mut buffer).await;
            match reply {
                Some(reply) => {
                    let _ = socket.write_all(reply.as_bytes()).await;
                }
                None => held.push(socket),
            }
        }
    });
    url
}

async fn bounded(command: &mut Command, args: &[&str]) -> Output {
    tokio::time::timeout(Duration::from_secs(90), run(command, args))
        .await
        .expect("the command ends on its own")
}

/// The binary with a clean environment and fake keys, talking to no endpoint yet.
fn cli_without_endpoint() -> Command {
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
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Every command ends: an endpoint that takes the connection and never answers is given up on
/// after --cli-read-timeout, and the message names the URL and the operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_never_answers_ends_the_command_with_its_url() {
    let url = stub_server(None).await;
    let out = bounded(
        &mut cli_without_endpoint(),
        &[
            "status",
            "--distribution-id",
            DIST,
            "--id",
            "I1",
            "--endpoint-url",
            &url,
            "--cli-read-timeout",
            "1",
        ],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "GetInvalidation: no answer from {url}/2020-05-31/distribution/{DIST}/invalidation/I1"
        )),
        "{message}"
    );
    let out = run(&mut cli_without_endpoint(), &["status", "--help"]).await;
    assert!(
        stdout(&out).contains("--cli-read-timeout") && stdout(&out).contains("default 30"),
        "{}",
        stdout(&out)
    );
}

/// Nothing listening: "could not connect to <URL>" at once, not minutes of retries that blame
/// CloudFront. Something that is not CloudFront: its status, content type and first bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_errors_say_what_happened_and_where() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        format!("http://{}", listener.local_addr().expect("address"))
    };
    let out = bounded(
        &mut cli_without_endpoint(),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "/a",
            "--endpoint-url",
            &closed,
        ],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "CreateInvalidation: could not connect to {closed}/2020-05-31/distribution/{DIST}/invalidation"
        )),
        "{message}"
    );
    assert!(!message.contains("too many invalidations"), "{message}");

    let foreign = stub_server(Some(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 32\r\nConnection: close\r\n\r\n<html><h1>Not Found</h1></html>\n",
    ))
    .await;
    let out = bounded(
        &mut cli_without_endpoint(),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "/a",
            "--endpoint-url",
            &foreign,
        ],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let message = stderr(&out);
    for expected in [
        "is not a CloudFront answer",
        "HTTP 404",
        "content type text/html",
        "<html><h1>Not Found",
        foreign.as_str(),
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    assert!(!message.contains("too many invalidations"), "{message}");
}

/// The AWS CLI's habit: `--paths A B` names the paths, as `aws cloudfront create-invalidation`
/// takes them, and the shell-expansion guard still looks at them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_may_be_given_with_the_aws_clis_flag() {
    let emu = emulator().await;
    let out = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--paths",
            "/index.html",
            "/css/*",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        strings(&json(&out)["paths"]),
        sorted(&["/css/*", "/index.html"])
    );
    // An unquoted /* that the shell expanded is refused under --paths too.
    let out = run(
        &mut cli(&emu),
        &[
            "plan", "--paths", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/proc", "/usr",
            "/var",
        ],
    )
    .await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

/// Words fit for logs: "billed" only for what CloudFront created, and no suggestion of an id
/// that could not be one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_creates_bill_nothing_and_bad_ids_get_no_false_suggestion() {
    let emu = emulator().await;
    let out = run(
        &mut cli(&emu),
        &["invalidate", "--distribution-id", DENIED, "/a"],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(
        summary.contains("Paths (none created, nothing billed): /a"),
        "{summary}"
    );
    assert!(!summary.contains("(1 billed)"), "{summary}");

    let out = run(
        &mut cli(&emu),
        &["status", "--distribution-id", DIST, "--id", "nope"],
    )
    .await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!stderr(&out).contains("NOPE"), "{}", stderr(&out));
    let out = run(
        &mut cli(&emu),
        &[
            "status",
            "--distribution-id",
            DIST,
            "--id",
            "i2j0i21pcuyoik",
        ],
    )
    .await;
    assert!(
        stderr(&out).contains("did you mean I2J0I21PCUYOIK?"),
        "{}",
        stderr(&out)
    );
}

/// Above the free tier, `invalidate` says what it will cost before it sends, as `plan` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_above_the_free_tier_is_priced_before_it_is_sent() {
    let emu = emulator().await;
    let file = std::env::temp_dir().join(format!("cf-invalidate-many-{}.txt", std::process::id()));
    // 2,000 files: within --max-paths, so nothing is collapsed, and 1,000 beyond the free tier.
    let paths: Vec<String> = (0..2_000)
        .map(|n| format!("/section{}/page{n}.html", n % 40))
        .collect();
    std::fs::write(&file, paths.join("\n")).expect("paths file");
    let out = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--paths-from",
            &file.display().to_string(),
            "--max-paths",
            "3000",
            "--no-wait",
        ],
    )
    .await;
    let _ = std::fs::remove_file(&file);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains("Cost: ") && log.contains("beyond the 1,000 free ones"),
        "{log}"
    );
}

/// `--debug` shows the SDK's traffic, as the AWS CLI's flag does, and never the credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_shows_the_wire_without_credentials() {
    let emu = emulator().await;
    let out = run(
        cli(&emu)
            .env("AWS_ACCESS_KEY_ID", "AKIADEBUGKEY00000001")
            .env("AWS_SECRET_ACCESS_KEY", "debug-secret-key-do-not-print")
            .env("AWS_SESSION_TOKEN", "debug-session-token-do-not-print"),
        &["list", "--distribution-id", DIST, "--debug"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains("/2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation"),
        "the request is not in the debug log:\n{log}"
    );
    for secret in [
        "AKIADEBUGKEY00000001",
        "debug-secret-key-do-not-print",
        "debug-session-token-do-not-print",
    ] {
        assert!(!log.contains(secret), "{secret} in the debug log:\n{log}");
    }
    assert!(!log.contains('\u{1b}'), "colour codes without a terminal");
}

/// `--output text` prints bare, tab-separated values as the AWS CLI does, for `cut` and `read`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_is_bare_values() {
    let emu = emulator().await;
    let out = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "/a",
            "--output",
            "text",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line = stdout(&out);
    let fields: Vec<&str> = line.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 3, "{line:?}");
    assert_eq!(fields[0], DIST);
    assert_eq!(fields[2], "Completed");
    let id = fields[1].to_owned();
    let out = run(
        &mut cli(&emu),
        &["list", "--distribution-id", DIST, "--output", "text"],
    )
    .await;
    let first = stdout(&out);
    let first = first.lines().next().expect("a line");
    assert!(
        first.starts_with(&format!("{id}\tCompleted\t")) && first.ends_with('Z'),
        "{first:?}"
    );
    let out = run(&mut cli(&emu), &["plan", "/b", "/a", "--output", "text"]).await;
    assert_eq!(stdout(&out), "/a\n/b\n");
    // JSON: CloudFront's field names where they overlap.
    let out = run(
        &mut cli(&emu),
        &[
            "wait",
            "--distribution-id",
            DIST,
            "--id",
            &id,
            "--output",
            "json",
        ],
    )
    .await;
    let doc = json(&out);
    assert_eq!(doc["distributions"][0]["Id"], id.as_str());
    assert_eq!(doc["distributions"][0]["Status"], "Completed");
}

#[tokio::test]
async fn plan_and_invalidate_what_changed_between_two_builds() {
    let emu = emulator().await;
    let scratch = std::env::temp_dir().join(format!("cfi-builds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let write = |root: &str, files: &[(&str, &str)]| {
        for (name, contents) in files {
            let path = scratch.join(root).join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
            std::fs::write(path, contents).expect("a file");
        }
    };
    write(
        "old",
        &[
            ("dist/index.html", "v1"),
            ("dist/docs/index.html", "1"),
            ("dist/a.css", "a"),
        ],
    );
    write(
        "new",
        &[
            ("dist/index.html", "v1"),
            ("dist/docs/index.html", "2"),
            ("dist/b c.css", "b"),
        ],
    );
    let (old, new) = (scratch.join("old"), scratch.join("new"));
    let (old, new) = (old.to_str().expect("UTF-8"), new.to_str().expect("UTF-8"));
    let common = [
        "--changed-between",
        old,
        new,
        "--key-prefix",
        "dist/",
        "--directory-index",
        "index.html",
    ];

    let mut plan_args = vec!["plan"];
    plan_args.extend(common);
    let output = run(&mut cli(&emu), &plan_args).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("The builds differ in 3 files: 1 added, 1 changed, 1 removed."),
        "{text}"
    );
    plan_args.extend(["--output", "text"]);
    let output = run(&mut cli(&emu), &plan_args).await;
    let listed = stdout(&output);
    let mut paths: Vec<&str> = listed.split_whitespace().collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/a.css",
            "/b%20c.css",
            "/docs",
            "/docs/",
            "/docs/index.html"
        ]
    );

    let mut invalidate = vec!["invalidate", "--distribution-id", DIST, "--no-wait"];
    invalidate.extend(common);
    let output = run(&mut cli(&emu), &invalidate).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let created = emu.invalidations(DIST);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].paths.len(), 5, "{:?}", created[0].paths);

    // The same build twice: nothing to invalidate, nothing sent.
    let output = run(
        &mut cli(&emu),
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--changed-between",
            new,
            new,
        ],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("The builds are the same"),
        "{}",
        stdout(&output)
    );
    assert_eq!(emu.invalidations(DIST).len(), 1);

    // A wrong side or prefix is named, and nothing is sent.
    let output = run(
        &mut cli(&emu),
        &["plan", "--changed-between", old, "/nonexistent/build.zip"],
    )
    .await;
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("--changed-between: /nonexistent/build.zip does not exist"),
        "{}",
        stderr(&output)
    );
    let output = run(
        &mut cli(&emu),
        &[
            "plan",
            "--changed-between",
            old,
            new,
            "--path-prefix",
            "/blog",
        ],
    )
    .await;
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output)
            .contains("--path-prefix is \"/blog\", which does not start and end with \"/\""),
        "{}",
        stderr(&output)
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A stored zip of `(name, contents)`, written by an independent writer.
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

#[tokio::test]
async fn builds_in_s3_are_compared_from_their_central_directories() {
    let emu = emulator().await;
    let bucket = "codepipeline-us-east-1-123456789012";
    emu.create_bucket(bucket);
    let old = zip_bytes(&[
        ("index.html", "v1"),
        ("docs/index.html", "1"),
        ("a.css", "a"),
    ]);
    let new = zip_bytes(&[
        ("index.html", "v1"),
        ("docs/index.html", "2"),
        ("b c.css", "b"),
    ]);
    emu.put_object(bucket, "site/BuildArtif/old", old, None)
        .expect("stored");
    emu.put_object(bucket, "site/BuildArtif/new", new.clone(), None)
        .expect("stored");
    let scratch = std::env::temp_dir().join(format!("cfi-s3-builds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("a directory");
    let local_new = scratch.join("new.zip");
    std::fs::write(&local_new, &new).expect("a zip");
    let s3 = |command: &mut Command| {
        command.env("AWS_ENDPOINT_URL_S3", emu.endpoint());
    };
    let old_url = format!("s3://{bucket}/site/BuildArtif/old");
    let new_url = format!("s3://{bucket}/site/BuildArtif/new");

    // S3 on both sides, then S3 against a local zip: the same paths.
    for new_side in [new_url.as_str(), local_new.to_str().expect("UTF-8")] {
        let mut command = cli(&emu);
        s3(&mut command);
        let output = run(
            &mut command,
            &[
                "plan",
                "--changed-between",
                &old_url,
                new_side,
                "--directory-index",
                "index.html",
                "--output",
                "text",
            ],
        )
        .await;
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let listed = stdout(&output);
        let mut paths: Vec<&str> = listed.split_whitespace().collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "/a.css",
                "/b%20c.css",
                "/docs",
                "/docs/",
                "/docs/index.html"
            ],
            "{new_side}"
        );
    }
    // Only the tails were read: one ranged GetObject per small zip, no whole download.
    let gets: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|r| r.operation == "GetObject")
        .collect();
    assert_eq!(gets.len(), 3, "{gets:?}");

    let mut command = cli(&emu);
    s3(&mut command);
    let output = run(
        &mut command,
        &[
            "invalidate",
            "--distribution-id",
            DIST,
            "--no-wait",
            "--changed-between",
            &old_url,
            &new_url,
        ],
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(emu.invalidations(DIST).len(), 1);

    // A missing object and a URL without a key are named, and nothing is sent.
    for (side, says) in [
        (
            format!("s3://{bucket}/site/BuildArtif/gone"),
            "does not exist",
        ),
        (
            format!("s3://{bucket}"),
            "is not an S3 object URL: write s3://BUCKET/KEY",
        ),
    ] {
        let mut command = cli(&emu);
        s3(&mut command);
        let output = run(
            &mut command,
            &[
                "invalidate",
                "--distribution-id",
                DIST,
                "--changed-between",
                &old_url,
                &side,
            ],
        )
        .await;
        assert_eq!(code(&output), 2, "{side}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("--changed-between: {side} {says}")),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(emu.invalidations(DIST).len(), 1);
    let _ = std::fs::remove_dir_all(&scratch);
}
