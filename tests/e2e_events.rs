//! End to end: the real `cf-invalidate-events` binary, its real SDK client, and local-aws's
//! events driver over HTTP: S3 uploads through an SQS queue and an event source mapping (or
//! direct invocations), checked key by key against the invalidations CloudFront holds, and
//! through the distribution's edge as a viewer reads the site.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use local_aws::events::{self, BodyShape, Delivery, EventsConfig, EventsReport, Viewed};
use local_aws::{DistributionConfig, DurationRange, Emulator, EmulatorConfig, Faults};

const DIST: &str = "E2QWRUHAPOMQZL";
/// The bucket the edge of DIST reads, and the S3-events function is notified about.
const BUCKET: &str = "site-bucket";

fn events_run(parameters: &str) -> EventsConfig {
    let mut c = EventsConfig::new(env!("CARGO_BIN_EXE_cf-invalidate-events"));
    c.parameters = Some(parameters.to_string());
    c.distributions = vec![DistributionConfig::new(DIST)];
    c.default_completion =
        DurationRange::between(Duration::from_millis(300), Duration::from_secs(1));
    c.burst_duration = Duration::from_millis(300);
    c.concurrency = 3;
    // The function stops retrying 3 s before its deadline: give it a little more than that.
    c.function_timeout = Duration::from_secs(4);
    c.visibility_timeout = Duration::from_secs(4);
    c.seed = Some(5);
    c
}

async fn run(c: EventsConfig) -> EventsReport {
    match events::run(c).await {
        Ok(report) => report,
        Err(e) => panic!("the events run did not start: {e}"),
    }
}

fn explain(report: &EventsReport) -> String {
    format!(
        "{}\n--- function output ---\n{}",
        report.render(),
        report.function_output_tail.join("\n")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_uploaded_key_is_invalidated_through_kills_duplicates_and_cloudfront_errors() {
    // GIVEN awkward keys under site/, both body shapes, S3's test event, and planted kills,
    // duplicate deliveries and CloudFront 503s; the distribution has an edge on the bucket
    let mut c = events_run(&format!(
        r#"{{"distributionIds":["{DIST}"],"keyPrefix":"site/","pathPrefix":"/site/","directoryIndex":"index.html"}}"#
    ));
    c.uploads = 300;
    c.edge = true;
    c.body_shape = BodyShape::Mixed;
    c.test_event = true;
    c.kill_rate = 0.1;
    c.duplicate_rate = 0.05;
    c.faults = match "cloudfront.unavailable=0.05".parse::<Faults>() {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    // WHEN the burst is played through the queue
    let report = run(c).await;
    // THEN every key is covered, no valid event was dead-lettered, and once the invalidations
    // completed the edge serves every key's newest version
    assert!(report.holds(), "{}", explain(&report));
    assert!(report.coverage.expected > 250, "{}", explain(&report));
    let edge = report.edge.as_ref().map(|e| (e.checked > 200, e.stale));
    assert_eq!(edge, Some((true, 0)), "{}", explain(&report));
    // AND the faults fired
    assert!(
        report.faults.duplicates_delivered > 0,
        "{}",
        explain(&report)
    );
    assert_eq!(report.faults.kills_fired, report.invocations.killed);
    assert!(report.faults.kills_planted > 0);
    assert!(report.messages.dead_lettered == 0, "{}", explain(&report));
    // AND one invalidation per batch and distribution at most: the paths were batched
    assert!(
        report.cloudfront.invalidations_created < report.events.uploads / 2,
        "{}",
        explain(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_with_plus_percent_star_and_unicode_are_covered_from_eventbridge_events() {
    let mut c = events_run(&format!(
        r#"{{"distributionId":"{DIST}","keyPrefix":"site/","pathPrefix":"/www/"}}"#
    ));
    c.keys = Some(
        [
            "site/a b.html",
            "site/c++/100%.html",
            "site/caf\u{e9}/men\u{fc}.html",
            "site/star*glob.txt",
            "site/a?b.html",
            "site/%2Bliteral.css",
            "site/folder/",
            "logs/outside.log",
        ]
        .iter()
        .map(|k| (k.to_string(), false))
        .chain([("site/a b.html".to_string(), true)])
        .collect(),
    );
    c.body_shape = BodyShape::EventBridge;
    let report = run(c).await;
    assert!(report.holds(), "{}", explain(&report));
    assert_eq!(report.coverage.expected, 7, "{}", explain(&report));
    assert_eq!(report.events.directory_markers, 1);
    assert_eq!(report.events.outside_prefix, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_asynchronous_invocations_cover_every_key() {
    let mut c = events_run(&format!(r#"{{"distributionId":"{DIST}"}}"#));
    c.uploads = 40;
    c.delivery = Delivery::Direct;
    c.retry_delay = Duration::from_millis(200);
    let report = run(c).await;
    assert!(report.holds(), "{}", explain(&report));
    assert_eq!(report.invocations.total, 40, "{}", explain(&report));
    // One invalidation per event, but none for a directory marker.
    assert_eq!(
        report.cloudfront.invalidations_created,
        40 - report.events.directory_markers,
        "{}",
        explain(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_keys_in_s3_notifications_are_decoded_and_covered() {
    // GIVEN S3's own encoding: a space as "+", a "+" as "%2B", non-ASCII and "%" as %XX
    let mut c = events_run(&format!(
        r#"{{"distributionId":"{DIST}","keyPrefix":"site/","directoryIndex":"index.html"}}"#
    ));
    c.keys = Some(
        [
            "site/my file.html",
            "site/+layout.css",
            "site/c++/100%.html",
            "site/caf\u{e9}/men\u{fc}.html",
            "site/docs/index.html",
            "site/a%20b.html",
        ]
        .iter()
        .map(|k| (k.to_string(), false))
        .chain([("site/+layout.css".to_string(), true)])
        .collect(),
    );
    c.body_shape = BodyShape::S3;
    let report = run(c).await;
    // THEN every key, created or removed, is covered after its event
    assert!(report.holds(), "{}", explain(&report));
    assert_eq!(report.coverage.expected, 7, "{}", explain(&report));
    assert_eq!(report.events.deletes, 1, "{}", explain(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_batch_gets_the_same_invalidation() {
    // GIVEN one batch of 20 uploads, invoked twice whole (the mapping's delete was lost)
    let mut c = events_run(&format!(r#"{{"distributionId":"{DIST}"}}"#));
    c.uploads = 20;
    c.batch_size = 100;
    c.batching_window = Duration::from_secs(1);
    c.concurrency = 1;
    c.redeliver_rate = 1.0;
    let report = run(c).await;
    assert!(report.holds(), "{}", explain(&report));
    assert_eq!(report.faults.batches_redelivered, 1, "{}", explain(&report));
    assert_eq!(report.invocations.total, 2, "{}", explain(&report));
    // THEN both invocations created, and CloudFront holds one invalidation
    assert_eq!(report.cloudfront.create_calls, 2, "{}", explain(&report));
    assert_eq!(
        report.cloudfront.invalidations_created,
        1,
        "{}",
        explain(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_upload_of_the_same_key_gets_a_new_invalidation() {
    // GIVEN the same key uploaded twice, each upload in a batch of its own
    let mut c = events_run(&format!(r#"{{"distributionId":"{DIST}"}}"#));
    c.keys = Some(vec![
        ("index.html".to_string(), false),
        ("index.html".to_string(), false),
    ]);
    c.batch_size = 1;
    c.concurrency = 1;
    let report = run(c).await;
    // THEN the second upload is covered by an invalidation created after it: a new one
    assert!(report.holds(), "{}", explain(&report));
    assert_eq!(report.coverage.expected, 2, "{}", explain(&report));
    assert_eq!(
        report.cloudfront.invalidations_created,
        2,
        "{}",
        explain(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_invalidations_fails_part_of_the_batches_and_redelivery_covers_them() {
    // GIVEN CloudFront refusing most creates with TooManyInvalidationsInProgress
    let mut c = events_run(&format!(r#"{{"distributionId":"{DIST}"}}"#));
    c.uploads = 60;
    c.batch_size = 10;
    c.batching_window = Duration::from_millis(200);
    c.function_timeout = Duration::from_secs(5);
    c.visibility_timeout = Duration::from_secs(5);
    c.test_event = true;
    // Enough receives that no message runs out of them by bad luck: this test is about
    // item failures and their redelivery, not the dead-letter queue.
    c.max_receive_count = Some(30);
    c.faults = match "cloudfront.too-many=0.6".parse::<Faults>() {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    let report = run(c).await;
    // THEN some batches answered item failures, which came back and were covered in the end
    assert!(
        report.invocations.with_item_failures > 0,
        "{}",
        explain(&report)
    );
    assert!(report.messages.redelivered > 0, "{}", explain(&report));
    assert!(report.holds(), "{}", explain(&report));
    assert_eq!(report.messages.dead_lettered, 0, "{}", explain(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_stops_the_function_at_start_up_with_an_init_error() {
    let emu = match local_aws::Emulator::start(local_aws::EmulatorConfig::default()).await {
        Ok(emu) => emu,
        Err(e) => panic!("the emulator did not start: {e}"),
    };
    for (parameters, expected) in [
        (
            r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/*"]}"#,
            "\"paths\" does not apply in CF_INVALIDATE_PARAMETERS",
        ),
        (
            r#"{"distributionID": "E2QWRUHAPOMQZL"}"#,
            "did you mean \"distributionId\"?",
        ),
        ("", "CF_INVALIDATE_PARAMETERS is not set or empty"),
    ] {
        let before = emu.init_errors().len();
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_cf-invalidate-events"))
            .env("CF_INVALIDATE_PARAMETERS", parameters)
            .env("AWS_LAMBDA_RUNTIME_API", emu.runtime_api_address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "cf-invalidate-events")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .output()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(e) => panic!("the function did not run: {e}"),
        };
        let printed = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{parameters}: {printed}");
        assert!(printed.contains(expected), "{parameters}: {printed}");
        let errors = emu.init_errors();
        assert_eq!(errors.len(), before + 1, "{parameters}");
        let error = &errors[before];
        assert_eq!(error.error_type, "CfInvalidate.ConfigurationError");
        assert!(error.error_message.contains(expected), "{error:?}");
    }
    // Nothing reached CloudFront.
    assert!(
        emu.request_log()
            .iter()
            .all(|r| r.api != local_aws::Api::CloudFront)
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_invocation_logs_one_json_summary_under_lambdas_json_format() {
    let mut c = events_run(&format!(r#"{{"distributionId":"{DIST}"}}"#));
    c.keys = Some(vec![
        ("a b.html".to_string(), false),
        ("folder/".to_string(), false),
    ]);
    c.batch_size = 10;
    c.batching_window = Duration::from_millis(500);
    c.concurrency = 1;
    c.env = vec![("AWS_LAMBDA_LOG_FORMAT".to_string(), "JSON".to_string())];
    let report = run(c).await;
    assert!(report.holds(), "{}", explain(&report));
    let summaries: Vec<serde_json::Value> = report
        .function_output_tail
        .iter()
        .filter_map(|line| line.find('{').map(|at| &line[at..]))
        .filter_map(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .filter(|line| line["message"] == "batch done")
        .collect();
    assert_eq!(summaries.len(), 1, "{}", explain(&report));
    let summary = &summaries[0];
    assert_eq!(summary["delivery"], "sqs", "{summary}");
    assert_eq!(summary["messages"], 2, "{summary}");
    assert_eq!(summary["skipped"], "directory_marker=1", "{summary}");
    assert_eq!(summary["paths_sent"], 1, "{summary}");
    assert_eq!(summary["item_failures"], 0, "{summary}");
    assert!(
        summary["invalidations"]
            .as_str()
            .is_some_and(|ids| ids.starts_with("E2QWRUHAPOMQZL=I")),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_log_line_gives_the_version_and_the_commit() {
    let mut c = events_run(&format!(r#"{{"distributionId":"{DIST}"}}"#));
    c.keys = Some(vec![("index.html".to_string(), false)]);
    c.concurrency = 1;
    c.env = vec![("AWS_LAMBDA_LOG_FORMAT".to_string(), "JSON".to_string())];
    let report = run(c).await;
    assert!(report.holds(), "{}", explain(&report));
    let first: serde_json::Value = report
        .function_output_tail
        .iter()
        .find_map(|line| serde_json::from_str(&line[line.find('{')?..]).ok())
        .unwrap_or_else(|| panic!("no JSON log line: {:?}", report.function_output_tail));
    assert_eq!(first["message"], "cf-invalidate-events starting", "{first}");
    assert_eq!(first["version"], env!("CARGO_PKG_VERSION"), "{first}");
    let commit = first["commit"].as_str().unwrap_or_default();
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{first}"
    );
}

/// A viewer's URL path for an object key: every byte but letters, digits, `-_.~` and `/`
/// percent-encoded (written out here, apart from local-aws's own encoder, so that the check
/// does not share the rule it checks).
fn viewer_path(key: &str) -> String {
    let mut path = String::from("/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            path.push(char::from(b));
        } else {
            let _ = write!(path, "%{b:02X}");
        }
    }
    path
}

async fn view(emu: &local_aws::EmulatorHandle, key: &str) -> Viewed {
    let Some(edge) = emu.edge_addr(DIST) else {
        panic!("{DIST} has no edge")
    };
    match events::view(edge, &viewer_path(key)).await {
        Ok(viewed) => viewed,
        Err(e) => panic!("GET {key:?} through the edge: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_keys_are_stale_at_the_edge_after_their_upload_and_fresh_after_the_function_ran() {
    // GIVEN a distribution whose edge reads site-bucket, and v1 of keys with a space, `+`,
    // `%`, `~`, non-ASCII and `?` in the bucket, read through the edge (a miss, then cached)
    let dist = DistributionConfig::new(DIST)
        .origin(BUCKET)
        .completes_after(DurationRange::between(
            Duration::from_millis(300),
            Duration::from_secs(1),
        ));
    let config = EmulatorConfig {
        distributions: vec![dist],
        seed: Some(5),
        ..EmulatorConfig::default()
    };
    let emu = match Emulator::start(config).await {
        Ok(emu) => emu,
        Err(e) => panic!("the emulator did not start: {e}"),
    };
    let keys = [
        "site/a b.html",
        "site/c++/100%.html",
        "site/~user/notes.txt",
        "site/caf\u{e9}/men\u{fc}.html",
        "site/what?.html",
        "site/docs/index.html",
    ];
    let mut v1 = BTreeMap::new();
    for key in keys {
        let stored = match emu.put_object(BUCKET, key, format!("v1 of {key}"), Some("text/html")) {
            Ok(stored) => stored,
            Err(e) => panic!("{e}"),
        };
        let first = view(&emu, key).await;
        assert_eq!(
            (first.status, first.body.as_ref(), first.x_cache.as_deref()),
            (200, stored.body.as_ref(), Some("Miss from cloudfront")),
            "{key}"
        );
        let cached = view(&emu, key).await;
        assert_eq!(
            cached.x_cache.as_deref(),
            Some("Hit from cloudfront"),
            "{key}"
        );
        v1.insert(key, stored);
    }

    // WHEN the events run uploads v2 of each key to the bucket, and S3's notifications of
    // those uploads reach the real function through the queue
    let mut c = events_run(&format!(
        r#"{{"distributionId":"{DIST}","keyPrefix":"site/","pathPrefix":"/site/","directoryIndex":"index.html"}}"#
    ));
    c.bucket = BUCKET.to_string();
    c.keys = Some(keys.iter().map(|k| (k.to_string(), false)).collect());
    c.body_shape = BodyShape::S3;
    let report = match events::run_on(c, &emu).await {
        Ok(report) => report,
        Err(e) => panic!("the events run did not start: {e}"),
    };
    assert!(report.holds(), "{}", explain(&report));
    let Some(edge) = &report.edge else {
        panic!("no edge check: {}", explain(&report))
    };

    // THEN right after each upload, before the function ran, the edge still served v1 (the
    // stale cache), from its cache
    for key in keys {
        let seen = edge.stale_after_upload_views.iter().find(|v| v.key == key);
        let Some(seen) = seen else {
            panic!(
                "{key:?} not seen stale after its upload: {}",
                explain(&report)
            )
        };
        assert_eq!(seen.etag.as_ref(), Some(&v1[key].etag), "{key}");
        assert_eq!(seen.x_cache.as_deref(), Some("Hit from cloudfront"));
    }
    // AND once the function's invalidations completed, a viewer gets v2 of every key
    for key in keys {
        let Some(v2) = emu.object(BUCKET, key) else {
            panic!("{key:?} is not in {BUCKET}")
        };
        assert_ne!(v2.etag, v1[key].etag, "{key} was not uploaded again");
        let fresh = view(&emu, key).await;
        assert_eq!(
            (fresh.status, fresh.etag.as_ref(), fresh.body.as_ref()),
            (200, Some(&v2.etag), v2.body.as_ref()),
            "{key} through the edge after the run\n{}",
            explain(&report)
        );
    }
    // AND the run's own check through the edge agrees
    assert_eq!((edge.checked, edge.stale), (keys.len() as u64, 0));
    assert!(
        report.cloudfront.invalidations_created > 0,
        "{}",
        explain(&report)
    );
    emu.shutdown().await;
}
