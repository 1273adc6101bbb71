//! S3-events scenarios: batches in, CloudFront calls and item failures out, over in-memory
//! CloudFront and injected time.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::engine::EngineSettings;
use crate::params::events::parse_events_parameters;
use crate::ports::CloudFrontErrorKind as Kind;
use crate::testing::{DIST, FakeClock, FakeCloudFront, OTHER};

struct Scenario {
    clock: FakeClock,
    cloudfront: FakeCloudFront,
    function: EventsFunction<FakeCloudFront, FakeClock>,
}

impl Scenario {
    fn new(parameters: &str) -> Self {
        let clock = FakeClock::new();
        let cloudfront = FakeCloudFront::with_distributions(&clock, &[(DIST, 30), (OTHER, 30)]);
        let params = parse_events_parameters(Some(parameters)).expect("valid parameters");
        let function = EventsFunction::new(
            Engine {
                cloudfront: cloudfront.clone(),
                clock: clock.clone(),
                settings: EngineSettings::default(),
            },
            params,
        );
        Self {
            clock,
            cloudfront,
            function,
        }
    }

    /// Invokes with `event` and 60 s left, as a function with a 60 s timeout.
    async fn invoke(&self, event: Value) -> Result<(Value, BatchSummary), EventsError> {
        let envelope: Envelope = serde_json::from_value(event).expect("an envelope");
        let deadline = self.clock.now() + 60_000;
        let (response, summary) = self.function.handle(envelope, Some(deadline)).await?;
        let response = serde_json::to_value(response).expect("a JSON response");
        Ok((response, summary))
    }

    /// Invokes with an SQS batch of `(message id, body)`: the ids whose items failed, and the
    /// summary.
    async fn batch(&self, messages: &[(&str, String)]) -> (Vec<String>, BatchSummary) {
        let (response, summary) = self.invoke(batch(messages)).await.expect("a batch answer");
        let failed = response["batchItemFailures"]
            .as_array()
            .expect("batchItemFailures");
        let id = |item: &Value| {
            item["itemIdentifier"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        (failed.iter().map(id).collect(), summary)
    }
}

fn notification(event_name: &str, key: &str, sequencer: &str) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-29T08:00:00.000Z", "eventName": event_name,
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "site",
               "bucket": {"name": "example-site", "arn": "arn:aws:s3:::example-site"},
               "object": {"key": key, "size": 1, "eTag": "e", "sequencer": sequencer}}}]})
}

fn uploaded(key: &str) -> String {
    notification("ObjectCreated:Put", key, "0061F0A1B2C3D4E5F6").to_string()
}

fn batch(messages: &[(&str, String)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({"messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                   "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764403200000"},
                   "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:site-events",
                   "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn every_record_of_a_batch_becomes_one_invalidation_per_distribution() {
    let s = Scenario::new(&format!(
        r#"{{"distributionIds": ["{DIST}", "{OTHER}"], "keyPrefix": "site/", "directoryIndex": "index.html"}}"#
    ));
    let (failed, summary) = s
        .batch(&[
            ("m1", uploaded("site/my+file.html")),
            ("m2", uploaded("site/%2Blayout.css")),
            (
                "m3",
                notification("ObjectRemoved:Delete", "site/docs/index.html", "01").to_string(),
            ),
            ("m4", uploaded("site/caf%C3%A9.html")),
            ("m5", uploaded("site/100%25.html")),
        ])
        .await;
    assert_eq!(failed, Vec::<String>::new());
    let creates = s.cloudfront.creates();
    assert_eq!(creates.len(), 2, "{creates:?}");
    let mut paths = creates[0].paths.clone();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/+layout.css",
            "/100%25.html",
            "/caf%C3%A9.html",
            "/docs",
            "/docs/",
            "/docs/index.html",
            "/my%20file.html"
        ]
    );
    assert_eq!(creates[0].paths, creates[1].paths);
    assert_eq!((summary.created, summary.removed), (4, 1));
    assert_eq!(summary.invalidations.len(), 2);
    assert_eq!(summary.item_failures, 0);
}

#[tokio::test]
async fn a_redelivered_batch_gets_the_same_invalidation_and_a_new_upload_a_new_one() {
    let s = Scenario::new(&format!(r#"{{"distributionId": "{DIST}"}}"#));
    let first = [("m1", uploaded("a.html")), ("m2", uploaded("b.html"))];
    // The same messages in another order: SQS redelivers a batch as it likes.
    let again = [("m2", uploaded("b.html")), ("m1", uploaded("a.html"))];
    let reupload = [("m3", uploaded("a.html")), ("m4", uploaded("b.html"))];
    let (_, one) = s.batch(&first).await;
    let (_, two) = s.batch(&again).await;
    let (_, three) = s.batch(&reupload).await;
    assert_eq!(one.invalidations, two.invalidations);
    assert_ne!(one.invalidations, three.invalidations);
    assert_eq!(s.cloudfront.invalidations(DIST).len(), 2);
    let references: Vec<String> = s
        .cloudfront
        .creates()
        .into_iter()
        .map(|c| c.caller_reference)
        .collect();
    assert_eq!(references[0], references[1]);
    assert_ne!(references[0], references[2]);
}

#[tokio::test]
async fn a_large_batch_collapses_within_max_paths() {
    let s = Scenario::new(&format!(
        r#"{{"distributionId": "{DIST}", "maxPaths": 20}}"#
    ));
    let messages: Vec<(String, String)> = (0..2000)
        .map(|n| {
            (
                format!("m{n}"),
                uploaded(&format!("assets/{}/file-{n}.js", n % 7)),
            )
        })
        .collect();
    let refs: Vec<(&str, String)> = messages
        .iter()
        .map(|(id, body)| (id.as_str(), body.clone()))
        .collect();
    let (failed, summary) = s.batch(&refs).await;
    assert!(failed.is_empty());
    let creates = s.cloudfront.creates();
    assert_eq!(creates.len(), 1);
    assert!(creates[0].paths.len() <= 20, "{:?}", creates[0].paths);
    assert_eq!(summary.paths_planned, 2000);
    assert_eq!(summary.paths_sent, creates[0].paths.len());
    for n in 0..7 {
        assert!(
            creates[0]
                .paths
                .iter()
                .any(|p| p == &format!("/assets/{n}/*")),
            "{:?}",
            creates[0].paths
        );
    }
}

#[tokio::test]
async fn too_many_invalidations_until_the_deadline_fails_exactly_the_contributing_messages() {
    let s = Scenario::new(&format!(r#"{{"distributionId": "{DIST}"}}"#));
    s.cloudfront
        .fail_creates(DIST, &[Kind::TooManyInProgress; 100]);
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"example-site"}"#;
    let (failed, summary) = s
        .batch(&[
            ("m1", uploaded("a.html")),
            ("m2", test_event.to_owned()),
            ("m3", "garbage".to_owned()),
            ("m4", uploaded("folder/")),
            ("m5", uploaded("b.html")),
        ])
        .await;
    assert_eq!(failed, ["m1", "m5"]);
    assert_eq!(summary.item_failures, 2);
    assert!(
        summary.not_created[0].contains("TooManyInvalidationsInProgress"),
        "{:?}",
        summary.not_created
    );
    // Tried again and again, and stopped before the deadline so the answer still gets out.
    assert!(
        s.cloudfront.creates().len() >= 4,
        "{}",
        s.cloudfront.creates().len()
    );
    assert!(s.clock.elapsed() <= Duration::from_secs(60));
    assert_eq!(summary.skipped["test_event"], 1);
    assert_eq!(summary.skipped["unrecognised"], 1);
    assert_eq!(summary.skipped["directory_marker"], 1);
}

#[tokio::test]
async fn a_refusal_that_clears_is_retried_within_the_invocation() {
    let s = Scenario::new(&format!(r#"{{"distributionId": "{DIST}"}}"#));
    s.cloudfront
        .fail_creates(DIST, &[Kind::TooManyInProgress, Kind::Unavailable]);
    let (failed, summary) = s.batch(&[("m1", uploaded("a.html"))]).await;
    assert!(failed.is_empty());
    assert_eq!(s.cloudfront.creates().len(), 3);
    assert_eq!(summary.invalidations.len(), 1);
}

#[tokio::test]
async fn a_batch_of_nothing_to_invalidate_calls_no_one() {
    let s = Scenario::new(&format!(
        r#"{{"distributionId": "{DIST}", "keyPrefix": "site/", "bucket": "example-site"}}"#
    ));
    let elsewhere = uploaded("site/a.html").replace("example-site", "other-bucket");
    let (failed, summary) = s
        .batch(&[
            ("m1", uploaded("logs/x.log")),
            ("m2", elsewhere),
            (
                "m3",
                notification("ObjectRestore:Completed", "site/a.html", "1").to_string(),
            ),
        ])
        .await;
    assert!(failed.is_empty());
    assert!(s.cloudfront.calls().is_empty());
    assert_eq!(summary.skipped["outside_key_prefix"], 1);
    assert_eq!(summary.skipped["other_bucket"], 1);
    assert_eq!(summary.skipped["other_event_type"], 1);
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_messages_with_advice() {
    let s = Scenario::new(&format!(r#"{{"distributionIds": ["{DIST}", "{OTHER}"]}}"#));
    s.cloudfront.fail_creates(OTHER, &[Kind::AccessDenied]);
    let (failed, summary) = s.batch(&[("m1", uploaded("a.html"))]).await;
    assert_eq!(failed, ["m1"]);
    let reason = summary.not_created.join("; ");
    assert!(reason.contains("grant cloudfront:CreateInvalidation on arn:aws:cloudfront::<account-id>:distribution/E1ABCDEFGHIJKL"), "{reason}");
}

#[tokio::test]
async fn direct_notifications_and_eventbridge_events_are_invalidated_or_fail_the_invocation() {
    let s = Scenario::new(&format!(r#"{{"distributionId": "{DIST}"}}"#));
    let (_, summary) = s
        .invoke(notification("ObjectCreated:Put", "a+b.html", "0A"))
        .await
        .unwrap();
    assert_eq!(summary.delivery, "s3");
    let eventbridge = json!({"version": "0", "id": "eb-1", "detail-type": "Object Created",
        "source": "aws.s3", "account": "123456789012", "time": "2026-11-29T08:00:00Z",
        "region": "us-east-1", "resources": ["arn:aws:s3:::example-site"],
        "detail": {"version": "0", "bucket": {"name": "example-site"},
                   "object": {"key": "c d+e.html", "size": 3, "sequencer": "0B"}, "reason": "PutObject"}});
    let (_, summary) = s.invoke(eventbridge).await.unwrap();
    assert_eq!(summary.delivery, "eventbridge");
    let creates = s.cloudfront.creates();
    assert_eq!(creates[0].paths, ["/a%20b.html"]);
    // EventBridge's key is sent as written and as decoded: one of them is the object.
    let mut both = creates[1].paths.clone();
    both.sort();
    assert_eq!(both, ["/c%20d%20e.html", "/c%20d+e.html"]);

    s.cloudfront
        .fail_creates(DIST, &[Kind::TooManyInProgress; 100]);
    let error = s
        .invoke(notification("ObjectRemoved:Delete", "x.html", "0C"))
        .await
        .unwrap_err();
    assert!(matches!(error, EventsError::NotCreated { .. }), "{error}");
    let error = s.invoke(json!({"hello": "world"})).await.unwrap_err();
    assert_eq!(error, EventsError::Unrecognised);
}

#[test]
fn the_reference_depends_on_every_identity_and_nothing_else() {
    let one = reference_base(&["m1".to_owned(), "m2".to_owned()]);
    assert!(one.starts_with("s3-events-") && one.len() == 42, "{one}");
    assert_ne!(one, reference_base(&["m1".to_owned()]));
    assert_ne!(one, reference_base(&["m1m2".to_owned()]));
    assert!(crate::values::caller_reference(&one).is_ok());
}

#[test]
fn responses_serialise_as_lambda_expects_them() {
    let batch = Response::Batch(BatchResponse {
        batch_item_failures: vec![ItemFailure {
            item_identifier: "m1".to_owned(),
        }],
    });
    assert_eq!(
        serde_json::to_string(&batch).unwrap(),
        r#"{"batchItemFailures":[{"itemIdentifier":"m1"}]}"#
    );
    let none = Response::Batch(BatchResponse {
        batch_item_failures: Vec::new(),
    });
    assert_eq!(
        serde_json::to_string(&none).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
    assert_eq!(serde_json::to_string(&Response::Direct {}).unwrap(), "{}");
}

#[tokio::test]
async fn records_of_another_bucket_are_each_counted() {
    let s = Scenario::new(&format!(
        r#"{{"distributionId": "{DIST}", "bucket": "example-site"}}"#
    ));
    let elsewhere = uploaded("a.html").replace("example-site", "other-bucket");
    let (failed, summary) = s
        .batch(&[
            ("m1", elsewhere.clone()),
            ("m2", uploaded("b.html")),
            ("m3", elsewhere),
        ])
        .await;
    assert!(failed.is_empty());
    assert_eq!(summary.skipped["other_bucket"], 2);
    assert_eq!(s.cloudfront.creates()[0].paths, ["/b.html"]);
}
