//! End to end: the real `cf-invalidate-events` binary, its real SDK client, and local-aws's
//! events driver over HTTP: S3 uploads through an SQS queue and an event source mapping (or
//! direct invocations), checked key by key against the invalidations CloudFront holds.

use std::time::Duration;

use local_aws::events::{self, BodyShape, Delivery, EventsConfig, EventsReport};
use local_aws::{DistributionConfig, DurationRange, Faults};

const DIST: &str = "E2QWRUHAPOMQZL";

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
    // duplicate deliveries and CloudFront 503s
    let mut c = events_run(&format!(
        r#"{{"distributionIds":["{DIST}"],"keyPrefix":"site/","directoryIndex":"index.html"}}"#
    ));
    c.uploads = 300;
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
    // THEN every key is covered and no valid event was dead-lettered
    assert!(report.holds(), "{}", explain(&report));
    assert!(report.coverage.expected > 250, "{}", explain(&report));
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
