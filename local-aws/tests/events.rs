//! The events driver against a stand-in function (tests/support/events_function.py): uploads
//! through a queue and an event source mapping, the answers Lambda reads, redeliveries, the
//! dead-letter queue, planted faults, and the coverage invariant catching a function that
//! invalidates nothing.

use std::path::PathBuf;
use std::time::Duration;

use local_aws::events::{self, BodyShape, Delivery, EventsConfig, EventsReport, Violation};
use local_aws::{DistributionConfig, DurationRange, Faults};

fn standin() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/events_function.py")
        .to_string_lossy()
        .into_owned()
}

/// A short run of the stand-in in `mode`.
fn config(mode: &str, uploads: usize) -> EventsConfig {
    let mut c = EventsConfig::new("python3");
    c.function_args = vec![standin()];
    c.env = vec![("STANDIN_MODE".to_string(), mode.to_string())];
    c.uploads = uploads;
    c.burst_duration = Duration::from_millis(300);
    c.seed = Some(11);
    c.concurrency = 3;
    c.visibility_timeout = Duration::from_millis(800);
    c.function_timeout = Duration::from_millis(800);
    c.default_completion =
        DurationRange::between(Duration::from_millis(300), Duration::from_secs(1));
    c
}

async fn run(c: EventsConfig) -> EventsReport {
    match events::run(c).await {
        Ok(report) => report,
        Err(e) => panic!("the run did not start: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_fault_that_never_fires_is_named_whatever_its_api() {
    // GIVEN faults on S3 and CodePipeline, which nothing in an events run calls
    let mut c = config("paths", 20);
    c.faults = "s3.unavailable=1,codepipeline.throttle=0.5"
        .parse::<Faults>()
        .unwrap();
    // WHEN the burst is played
    let report = run(c).await;
    // THEN the report names both as planted but never fired, and the keys are still covered
    assert_eq!(
        report.faults.never_fired,
        ["CodePipeline.throttle", "S3.unavailable"],
        "{}",
        report.render()
    );
    assert!(
        report
            .render()
            .contains("planted but never fired: CodePipeline.throttle, S3.unavailable"),
        "{}",
        report.render()
    );
    assert!(report.holds(), "{}", report.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_invalidates_each_path_covers_every_key_through_every_fault() {
    // GIVEN awkward keys under a prefix, mixed body shapes, a test event first, and planted
    // kills, duplicate deliveries and CloudFront 503s
    let mut c = config("paths", 300);
    c.parameters = Some(
        r#"{"distributionIds":["E2QWRUHEXAMPLE"],"keyPrefix":"site/","pathPrefix":"/www"}"#
            .to_string(),
    );
    c.distributions = vec![DistributionConfig::new("E2QWRUHEXAMPLE")];
    c.body_shape = BodyShape::Mixed;
    c.test_event = true;
    c.kill_rate = 0.15;
    c.duplicate_rate = 0.1;
    c.faults = "cloudfront.unavailable=0.1".parse::<Faults>().unwrap();
    // Each invocation takes at least 40 ms, so that a planted kill lands while it runs.
    c.env
        .push(("STANDIN_SLOW_MS".to_string(), "40".to_string()));

    // WHEN the burst is played
    let report = run(c).await;

    // THEN every key under the prefix is covered, nothing valid was dead-lettered
    assert!(report.holds(), "{}", report.render());
    assert_eq!(report.coverage.uncovered, 0);
    assert!(report.coverage.expected > 250, "{}", report.render());
    assert!(report.coverage.latency_p95_ms.is_some());
    assert!(report.events.outside_prefix > 0 && report.events.directory_markers > 0);
    assert_eq!(report.messages.sent, 301, "300 events and the test event");
    // AND each planted fault fired, and its effect shows
    let f = &report.faults;
    assert!(f.kills_fired > 0, "{}", report.render());
    assert_eq!(f.kills_planted, f.kills_fired + f.kills_missed);
    assert_eq!(report.invocations.killed, f.kills_fired);
    assert!(f.duplicates_planted > 0);
    assert_eq!(f.duplicates_delivered, f.duplicates_planted);
    assert!(
        f.injected
            .get("CloudFront.unavailable")
            .is_some_and(|n| *n > 0)
    );
    assert!(f.never_fired.is_empty());
    assert!(report.messages.redelivered > 0, "killed batches come back");
    assert!(
        report.invocations.cold_starts > 3,
        "a killed process is started again"
    );
    assert_eq!(
        report.cloudfront.other_errors.get("ServiceUnavailable"),
        f.injected.get("CloudFront.unavailable")
    );
    assert!(report.text_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_edge_every_key_is_stale_after_its_upload_and_fresh_after_the_run() {
    // GIVEN an edge on the bucket, awkward keys with re-uploads and deletes, cached before
    // the burst
    let mut c = config("paths", 120);
    c.edge = true;
    c.parameters = Some(
        r#"{"distributionId":"E2QWRUHEXAMPLE","keyPrefix":"site/","pathPrefix":"/site/"}"#
            .to_string(),
    );
    c.duplicate_rate = 0.1;
    // WHEN the burst is written to the bucket and played
    let report = run(c).await;
    // THEN every key checked through the edge serves its newest upload, or nothing once deleted
    assert!(report.holds(), "{}", report.render());
    let Some(edge) = &report.edge else {
        panic!("no edge check: {}", report.render())
    };
    assert_eq!(edge.distributions, ["E2QWRUHEXAMPLE"]);
    assert_eq!(edge.bucket, "cf-invalidate-site");
    assert!(edge.checked > 80, "{}", report.render());
    assert_eq!((edge.fresh, edge.stale), (edge.checked, 0));
    // AND right after each upload, before its notification, the edge still served the
    // version it had cached: the stale cache the invalidations cured
    let played = report.coverage.expected;
    assert_eq!(edge.views_after_upload, played, "{}", report.render());
    assert!(edge.stale_after_upload > 0, "{}", report.render());
    let view = &edge.stale_after_upload_views[0];
    assert_eq!(view.x_cache.as_deref(), Some("Hit from cloudfront"));
    assert_ne!(view.etag, view.expected_etag);
    let text = report.render();
    assert!(text.contains("INVARIANT HOLDS through the edge"), "{text}");
    assert!(text.contains(" 0 stale"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_invalidations_the_edge_serves_every_key_stale_and_the_invariant_breaks() {
    let mut c = config("nothing", 40);
    c.edge = true;
    let report = run(c).await;
    let Some(edge) = &report.edge else {
        panic!("no edge check: {}", report.render())
    };
    assert!(edge.checked > 20, "{}", report.render());
    assert_eq!((edge.stale, edge.fresh), (edge.checked, 0));
    assert!(
        report
            .violations
            .contains(&Violation::StaleAtEdge { count: edge.stale }),
        "{:?}",
        report.violations
    );
    let stale = &edge.stale_keys[0];
    assert_eq!(stale.x_cache.as_deref(), Some("Hit from cloudfront"));
    let text = report.render();
    assert!(
        text.contains(&format!(
            "INVARIANT BROKEN: {} key(s) served stale through the edge",
            edge.stale
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "stale at edge: {:?} (GET {})",
            stale.key, stale.path
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_dropped_after_lambdas_retries_leave_their_keys_stale_at_the_edge_alone() {
    // GIVEN direct delivery and CloudFront failing 60 % of calls: some events fail three times
    let mut c = config("paths", 40);
    c.edge = true;
    c.delivery = Delivery::Direct;
    c.retry_delay = Duration::from_millis(100);
    c.faults = "cloudfront.unavailable=0.6".parse::<Faults>().unwrap();
    let report = run(c).await;
    let Some(edge) = &report.edge else {
        panic!("no edge check: {}", report.render())
    };
    // THEN the keys of dropped events are stale at the edge, and only they: each stale key
    // has an uncovered event, and the covered keys are fresh
    assert!(report.messages.dead_lettered > 0, "{}", report.render());
    assert!(edge.stale > 0, "{}", report.render());
    assert!(
        edge.stale <= report.coverage.uncovered,
        "{}",
        report.render()
    );
    assert!(edge.fresh > 0, "{}", report.render());
    assert!(
        report
            .violations
            .contains(&Violation::StaleAtEdge { count: edge.stale })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_on_another_bucket_or_a_path_the_edge_cannot_reach_is_a_usage_error() {
    let mut c = config("paths", 5);
    c.distributions = vec![DistributionConfig::new("E2QWRUHEXAMPLE").origin("other-bucket")];
    let err = events::run(c).await.err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(
            |e| e.contains("'other-bucket'") && e.contains("--bucket 'cf-invalidate-site'")
        ),
        "{err:?}"
    );
    let mut c = config("paths", 5);
    c.edge = true;
    c.parameters = Some(r#"{"distributionId":"E2QWRUHEXAMPLE","keyPrefix":"site/"}"#.to_string());
    c.outside_prefix = 0.0;
    let err = events::run(c).await.err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("pathPrefix \"/site/\"")),
        "{err:?}"
    );
}

trait TextOk {
    fn text_ok(&self) -> bool;
}

impl TextOk for EventsReport {
    fn text_ok(&self) -> bool {
        let text = self.render();
        text.contains("INVARIANT HOLDS") && text.contains("paths billed")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_invalidates_nothing_breaks_the_invariant_and_names_the_keys() {
    let report = run(config("nothing", 60)).await;
    assert!(!report.holds());
    assert_eq!(report.cloudfront.create_calls, 0);
    assert_eq!(report.coverage.covered, 0);
    assert_eq!(report.coverage.uncovered, report.coverage.expected);
    assert_eq!(report.coverage.uncovered_keys.len(), 10);
    assert_eq!(
        report.violations,
        vec![Violation::UncoveredKeys {
            count: report.coverage.uncovered
        }]
    );
    let text = report.render();
    assert!(text.contains("INVARIANT BROKEN"), "{text}");
    assert!(
        text.contains(&format!("{:?}", report.coverage.uncovered_keys[0].key)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_items_come_back_after_the_visibility_timeout_then_go_to_the_dead_letter_queue() {
    // GIVEN a function that reports every record failed, and maxReceiveCount 2
    let mut c = config("fail", 20);
    c.max_receive_count = Some(2);
    c.visibility_timeout = Duration::from_millis(300);
    c.function_timeout = Duration::from_millis(300);
    let report = run(c).await;
    // THEN each message is received twice, then dead-lettered, and the invariant says so
    assert_eq!(report.messages.received, 40, "{}", report.render());
    assert_eq!(report.messages.redelivered, 20);
    assert_eq!(report.messages.dead_lettered, 20);
    assert_eq!(report.invocations.item_failures, 40);
    assert_eq!(report.wrongly_dead_lettered.len(), 10);
    assert!(
        report
            .violations
            .contains(&Violation::DeadLetteredEvents { count: 20 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_item_identifier_fails_the_whole_batch() {
    let mut c = config("unknown-id", 10);
    c.max_receive_count = Some(1);
    let report = run(c).await;
    assert!(report.invocations.rejected_responses > 0);
    assert_eq!(report.invocations.ok, 0);
    assert_eq!(report.messages.deleted, 0, "{}", report.render());
    assert_eq!(report.messages.dead_lettered, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards_under_load_meet_too_many_invalidations_in_progress() {
    // GIVEN a function that sends /* per batch, batches of up to 5, slow invalidations
    let mut c = config("wildcard", 150);
    c.batch_size = 5;
    c.default_completion = DurationRange::between(Duration::from_secs(2), Duration::from_secs(2));
    c.max_receive_count = Some(10);
    let report = run(c).await;
    // THEN CloudFront's real limit of 15 wildcards in progress answers, the records come back,
    // and in the end every key is covered
    assert!(
        report.cloudfront.too_many_in_progress > 0,
        "{}",
        report.render()
    );
    assert_eq!(report.cloudfront.too_many_injected, 0);
    assert_eq!(
        report.cloudfront.paths_billed,
        report.cloudfront.wildcard_paths
    );
    assert!(report.invocations.with_item_failures > 0);
    assert!(report.holds(), "{}", report.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batching_window_fills_batches() {
    let mut c = config("paths", 200);
    c.batch_size = 100;
    c.batching_window = Duration::from_millis(250);
    c.concurrency = 1;
    let report = run(c).await;
    assert!(report.holds(), "{}", report.render());
    // 200 messages over 300 ms in windows of 250 ms: a handful of batches, not 200.
    assert!(report.invocations.total <= 6, "{}", report.render());
    // AND the largest batch is counted, up to the batch size, with its event's size
    let largest = report.invocations.largest_batch;
    assert!((34..=100).contains(&largest), "{}", report.render());
    assert!(
        report.invocations.largest_payload_bytes > largest * 500,
        "{}",
        report.render()
    );
    // AND the process's peak memory was read when the driver stopped it
    #[cfg(target_os = "linux")]
    assert!(
        report.function_peak_rss_kib.is_some_and(|kib| kib > 1000),
        "{}",
        report.render()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_stops_at_the_six_megabyte_payload_limit() {
    // GIVEN a mapping that asks for 10,000 records, and 4000 notifications queued within its
    // window (each about 2 KB as an SQS record), and a function that invalidates `/*`
    let mut c = config("wildcard", 4000);
    c.batch_size = 10_000;
    c.batching_window = Duration::from_secs(2);
    c.concurrency = 1;
    c.function_timeout = Duration::from_secs(10);
    c.visibility_timeout = Duration::from_secs(10);
    let report = run(c).await;
    // THEN no invocation's event is over 6 MB, so the 4000 records take more than one
    assert!(report.holds(), "{}", report.render());
    let i = &report.invocations;
    assert!(
        i.largest_payload_bytes <= local_aws::events::MAX_PAYLOAD_BYTES as u64,
        "{}",
        report.render()
    );
    assert!(
        i.largest_batch < 4000 && i.total >= 2,
        "{}",
        report.render()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_delivery_retries_an_event_twice_then_drops_it() {
    let mut c = config("fail", 8);
    c.delivery = Delivery::Direct;
    c.retry_delay = Duration::from_millis(100);
    let report = run(c).await;
    assert_eq!(report.invocations.total, 24, "{}", report.render());
    assert_eq!(report.invocations.errored, 24);
    assert_eq!(report.messages.dead_lettered, 8);
    assert!(
        report
            .violations
            .contains(&Violation::DeadLetteredEvents { count: 8 })
    );
    assert!(report.render().contains("dropped after 3 attempts"));
}

#[test]
fn the_command_reads_a_keys_file_and_exits_1_when_a_key_is_left_uncovered() {
    let dir = std::env::temp_dir().join(format!("local-aws-events-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let keys = dir.join("keys.txt");
    let _ = std::fs::write(
        &keys,
        "a b.html\nc+d/\u{e9}.html\nfolder/\nDELETE a b.html\n",
    );
    let run_with = |mode: &str, more: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
            .args(["events", "--function", "python3", "--function-arg"])
            .arg(standin())
            .arg("--keys")
            .arg(&keys)
            .args(["--env", &format!("STANDIN_MODE={mode}"), "--json", "-q"])
            .args(["--burst-duration", "50ms", "--completes-after", "100ms"])
            .args(more)
            .output()
    };
    let run = |mode: &str| run_with(mode, &[]);
    let Ok(out) = run("paths") else {
        panic!("local-aws did not run")
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(json["events"]["uploads"], 3);
    assert_eq!(json["events"]["deletes"], 1);
    assert_eq!(json["events"]["directory_markers"], 1);
    assert_eq!(json["coverage"]["expected"], 3, "{json}");
    assert_eq!(json["coverage"]["covered"], 3);
    let Ok(out) = run("nothing") else {
        panic!("local-aws did not run")
    };
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(json["violations"][0]["invariant"], "uncovered_keys");
    assert_eq!(json["coverage"]["uncovered_keys"][0]["key"], "a b.html");
    assert!(json["edge"].is_null(), "no edge without --edge: {json}");
    // With --edge, the deleted key is still served from the edge's cache.
    let Ok(out) = run_with("nothing", &["--edge"]) else {
        panic!("local-aws did not run")
    };
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(json["edge"]["checked"], 2, "{json}");
    assert_eq!(json["edge"]["stale"], 2, "{json}");
    assert_eq!(json["edge"]["stale_keys"][0]["key"], "a b.html", "{json}");
    assert_eq!(
        json["edge"]["stale_keys"][0]["expected_etag"],
        serde_json::Value::Null
    );
    assert_eq!(
        json["violations"][1]["invariant"], "stale_at_edge",
        "{json}"
    );
    let Ok(out) = run_with("paths", &["--edge"]) else {
        panic!("local-aws did not run")
    };
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(
        (
            json["edge"]["fresh"].as_u64(),
            json["edge"]["stale"].as_u64()
        ),
        (Some(2), Some(0)),
        "{json}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .args([
            "events",
            "--function",
            "python3",
            "--batch-size",
            "100",
            "-q",
        ])
        .output();
    let Ok(out) = out else {
        panic!("local-aws did not run")
    };
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--batch-size 100 needs a batching window"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .args([
            "events",
            "--function",
            "python3",
            "--parameters",
            "{oops",
            "-q",
        ])
        .output();
    let Ok(out) = out else {
        panic!("local-aws did not run")
    };
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--parameters '{oops' is not a JSON object"),
        "{err}"
    );
}
