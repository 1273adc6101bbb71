//! The events the S3-events function accepts, told apart by shape: an SQS batch whose bodies are
//! S3 notifications or EventBridge events, or one of those delivered directly.

use serde::Deserialize;

use crate::text::truncate;

/// Longest preview of an unrecognised body in the log: enough to tell what sent it.
pub const PREVIEW_CHARS: usize = 120;

/// Every shape at once: the fields that tell them apart, all optional (a missing `Option` is
/// `None`), so that no event fails to parse and unknown fields cost nothing.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "Records")]
    pub records: Option<Vec<Record>>,
    // EventBridge
    pub source: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: Option<String>,
    pub id: Option<String>,
    pub detail: Option<Detail>,
    // S3's test message
    #[serde(rename = "Event")]
    pub event: Option<String>,
    // An SNS notification (S3 -> SNS -> SQS fan-out without raw message delivery)
    #[serde(rename = "Type")]
    pub sns_type: Option<String>,
    #[serde(rename = "Message")]
    pub sns_message: Option<String>,
}

/// An SQS message or an S3 notification record.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub event_source: Option<String>,
    pub message_id: Option<String>,
    pub body: Option<String>,
    pub event_name: Option<String>,
    pub s3: Option<Detail>,
}

/// `s3` of a notification record, or `detail` of an EventBridge event: the same two parts.
#[derive(Debug, Deserialize)]
pub struct Detail {
    pub bucket: Option<Named>,
    pub object: Option<Object>,
}

#[derive(Debug, Deserialize)]
pub struct Named {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Object {
    pub key: Option<String>,
    pub sequencer: Option<String>,
}

/// Created or removed: both leave a stale copy in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Removed,
}

/// How the key was written in the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodedKey {
    /// S3 notifications encode it as a form value (`+` for a space).
    Form(String),
    /// EventBridge's documentation shows the key without saying how it is encoded.
    EventBridge(String),
}

impl EncodedKey {
    /// The key as the event wrote it.
    pub fn as_written(&self) -> &str {
        match self {
            Self::Form(raw) | Self::EventBridge(raw) => raw,
        }
    }
}

/// What tells one event from another, as the event gave it. Only direct invocations, which
/// have no SQS message ids, turn it into an identity ([`Change::identity`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventId {
    /// An S3 notification record: its event name and the object's sequencer.
    S3 {
        event_name: String,
        sequencer: String,
    },
    /// An EventBridge event: its id, and the object's sequencer for an event without one.
    EventBridge {
        id: Option<String>,
        sequencer: String,
    },
}

/// One object created or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub bucket: String,
    pub key: EncodedKey,
    pub event: EventId,
}

impl Change {
    /// The identity of the event: S3's sequencer with bucket, key and event name, or the
    /// EventBridge event id.
    pub fn identity(&self) -> String {
        let (bucket, key) = (&self.bucket, self.key.as_written());
        match &self.event {
            EventId::S3 {
                event_name,
                sequencer,
            } => format!("{event_name}|{bucket}|{key}|{sequencer}"),
            EventId::EventBridge { id: Some(id), .. } => id.clone(),
            EventId::EventBridge {
                id: None,
                sequencer,
            } => format!("{bucket}|{key}|{sequencer}"),
        }
    }
}

/// Why part of an event asks for no invalidation, before its key is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventSkip {
    /// S3's `s3:TestEvent`, sent when a notification is configured.
    TestEvent,
    /// An S3 event that changes no content (restore, tagging, ACL, replication, transition).
    OtherEventType,
    /// A bucket other than the configured one.
    OtherBucket,
    /// Not an event this function knows.
    Unrecognised,
}

impl EventSkip {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TestEvent => "test_event",
            Self::OtherEventType => "other_event_type",
            Self::OtherBucket => "other_bucket",
            Self::Unrecognised => "unrecognised",
        }
    }
}

/// What one S3 notification, EventBridge event or test message holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Contents {
    pub changes: Vec<Change>,
    pub skipped: Vec<EventSkip>,
}

impl Contents {
    /// The identity of each change's event ([`Change::identity`]). Used for direct
    /// invocations, which have no message ids.
    pub fn identities(&self) -> Vec<String> {
        self.changes.iter().map(Change::identity).collect()
    }
}

/// The shape of an invocation's payload.
#[derive(Debug)]
pub enum Delivery {
    /// An event source mapping's batch: (message id, body) pairs.
    Sqs(Vec<(String, String)>),
    /// S3 or EventBridge, invoked directly.
    Direct(Contents),
    /// Nothing this function knows.
    Unrecognised,
}

impl Envelope {
    /// Tells the shape apart. The bodies of an SQS batch are read later, one at a time.
    pub fn into_delivery(self) -> Delivery {
        let is_sqs = self.records.as_ref().is_some_and(|records| {
            records
                .first()
                .is_some_and(|record| record.event_source.as_deref() == Some("aws:sqs"))
        });
        if is_sqs {
            let messages = self
                .records
                .unwrap_or_default()
                .into_iter()
                .map(|record| {
                    (
                        record.message_id.unwrap_or_default(),
                        record.body.unwrap_or_default(),
                    )
                })
                .collect();
            return Delivery::Sqs(messages);
        }
        match self.into_contents() {
            Some(contents) => Delivery::Direct(contents),
            None => Delivery::Unrecognised,
        }
    }

    /// An S3 notification, an EventBridge S3 event or S3's test message; `None` otherwise.
    fn into_contents(self) -> Option<Contents> {
        let mut contents = Contents::default();
        if self.event.as_deref() == Some("s3:TestEvent") {
            contents.skipped.push(EventSkip::TestEvent);
            return Some(contents);
        }
        if let Some(records) = self.records {
            if records.is_empty()
                || records
                    .iter()
                    .any(|record| record.event_source.as_deref() != Some("aws:s3"))
            {
                return None;
            }
            for record in records {
                let name = record.event_name.unwrap_or_default();
                let Some(kind) = s3_change_kind(&name) else {
                    contents.skipped.push(EventSkip::OtherEventType);
                    continue;
                };
                let Some((bucket, key, sequencer)) = record.s3.and_then(Detail::parts) else {
                    contents.skipped.push(EventSkip::Unrecognised);
                    continue;
                };
                contents.changes.push(Change {
                    kind,
                    bucket,
                    key: EncodedKey::Form(key),
                    event: EventId::S3 {
                        event_name: name,
                        sequencer,
                    },
                });
            }
            return Some(contents);
        }
        if self.source.as_deref() == Some("aws.s3") {
            let kind = match self.detail_type.as_deref() {
                Some("Object Created") => Some(ChangeKind::Created),
                Some("Object Deleted") => Some(ChangeKind::Removed),
                _ => None,
            };
            let Some(kind) = kind else {
                contents.skipped.push(EventSkip::OtherEventType);
                return Some(contents);
            };
            let (bucket, key, sequencer) = self.detail.and_then(Detail::parts)?;
            contents.changes.push(Change {
                kind,
                bucket,
                key: EncodedKey::EventBridge(key),
                event: EventId::EventBridge {
                    id: self.id,
                    sequencer,
                },
            });
            return Some(contents);
        }
        None
    }
}

impl Detail {
    fn parts(self) -> Option<(String, String, String)> {
        let bucket = self.bucket?.name?;
        let object = self.object?;
        Some((bucket, object.key?, object.sequencer.unwrap_or_default()))
    }
}

/// Created and removed objects; lifecycle expiry removes them too.
fn s3_change_kind(event_name: &str) -> Option<ChangeKind> {
    let name = event_name.strip_prefix("s3:").unwrap_or(event_name);
    if name.starts_with("ObjectCreated:") {
        Some(ChangeKind::Created)
    } else if name.starts_with("ObjectRemoved:") || name.starts_with("LifecycleExpiration:") {
        Some(ChangeKind::Removed)
    } else {
        None
    }
}

/// Reads one SQS message body; `Err` holds a short preview of a body that is no known event.
/// A body may also be an SNS notification whose message is one (a bucket that notifies an SNS
/// topic, with the queue subscribed without raw message delivery).
pub fn read_body(body: &str) -> Result<Contents, String> {
    let envelope = serde_json::from_str::<Envelope>(body).map_err(|_| preview(body))?;
    if envelope.sns_type.as_deref() == Some("Notification")
        && let Some(message) = &envelope.sns_message
    {
        return serde_json::from_str::<Envelope>(message)
            .ok()
            .and_then(Envelope::into_contents)
            .ok_or_else(|| preview(body));
    }
    envelope.into_contents().ok_or_else(|| preview(body))
}

/// The first characters of a body, control characters escaped, for a log line.
pub fn preview(body: &str) -> String {
    // Every character escapes to at least one byte, so the escape of the first
    // PREVIEW_CHARS + 1 characters of a longer body is already over PREVIEW_CHARS bytes and is
    // cut where the whole body's escape would be: a body of up to 256 KiB is not escaped whole.
    let escaped: String = body
        .chars()
        .take(PREVIEW_CHARS + 1)
        .flat_map(char::escape_debug)
        .collect();
    truncate(&escaped, PREVIEW_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_body(event_name: &str, key: &str) -> String {
        serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-29T08:00:00.000Z", "eventName": event_name,
            "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "example-site", "arn": "arn:aws:s3:::example-site"},
                   "object": {"key": key, "size": 12, "eTag": "abc", "sequencer": "0061F0A1B2C3D4E5F6"}}}]})
        .to_string()
    }

    #[test]
    fn notifications_of_created_removed_and_expired_objects_are_changes() {
        for (name, kind) in [
            ("ObjectCreated:Put", ChangeKind::Created),
            ("ObjectCreated:CompleteMultipartUpload", ChangeKind::Created),
            ("ObjectRemoved:Delete", ChangeKind::Removed),
            ("ObjectRemoved:DeleteMarkerCreated", ChangeKind::Removed),
            ("LifecycleExpiration:Delete", ChangeKind::Removed),
        ] {
            let contents = read_body(&s3_body(name, "a+b.html")).unwrap();
            assert_eq!(
                contents.changes,
                vec![Change {
                    kind,
                    bucket: "example-site".to_owned(),
                    key: EncodedKey::Form("a+b.html".to_owned()),
                    event: EventId::S3 {
                        event_name: name.to_owned(),
                        sequencer: "0061F0A1B2C3D4E5F6".to_owned()
                    }
                }],
                "{name}"
            );
            assert_eq!(contents.identities().len(), 1);
        }
    }

    #[test]
    fn other_s3_events_are_skipped_by_type() {
        let contents = read_body(&s3_body("ObjectRestore:Completed", "a.html")).unwrap();
        assert!(contents.changes.is_empty());
        assert_eq!(contents.skipped, vec![EventSkip::OtherEventType]);
    }

    #[test]
    fn eventbridge_events_carry_the_key_as_eventbridge_writes_it() {
        let body = serde_json::json!({"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Deleted", "source": "aws.s3", "account": "123456789012",
            "time": "2026-11-29T08:00:00Z", "region": "us-east-1", "resources": ["arn:aws:s3:::example-site"],
            "detail": {"version": "0", "bucket": {"name": "example-site"},
                       "object": {"key": "a b.html", "sequencer": "00617F08299329D189"},
                       "reason": "DeleteObject"}})
        .to_string();
        let contents = read_body(&body).unwrap();
        assert_eq!(contents.changes[0].kind, ChangeKind::Removed);
        assert_eq!(
            contents.changes[0].key,
            EncodedKey::EventBridge("a b.html".to_owned())
        );
        assert_eq!(
            contents.identities(),
            vec!["17793124-05d4-b198-2fde-7ededc63b103"]
        );
    }

    #[test]
    fn the_test_event_is_known_and_holds_nothing() {
        let body = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-29T08:00:00.000Z","Bucket":"example-site","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#;
        let contents = read_body(body).unwrap();
        assert!(contents.changes.is_empty());
        assert_eq!(contents.skipped, vec![EventSkip::TestEvent]);
    }

    #[test]
    fn an_sns_notification_of_an_s3_event_is_read_through() {
        let inner = s3_body("ObjectCreated:Put", "a+b.html");
        let body = serde_json::json!({"Type": "Notification", "MessageId": "22b80b92",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:site-events", "Subject": "Amazon S3 Notification",
            "Message": inner, "Timestamp": "2026-11-29T08:00:00.000Z"})
        .to_string();
        let contents = read_body(&body).unwrap();
        assert_eq!(
            contents.changes[0].key,
            EncodedKey::Form("a+b.html".to_owned())
        );
        let not_s3 = serde_json::json!({"Type": "Notification", "Message": "hello"}).to_string();
        assert!(read_body(&not_s3).is_err());
    }

    #[test]
    fn unknown_bodies_give_a_short_escaped_preview() {
        let long = format!("{{\"hello\": \"{}\"}}\n", "x".repeat(500));
        for body in [
            "not json at all",
            "[1,2]",
            "{\"Records\": []}",
            long.as_str(),
        ] {
            let preview = read_body(body).unwrap_err();
            assert!(preview.chars().count() <= PREVIEW_CHARS + 1, "{preview}");
            assert!(!preview.contains('\n'), "{preview}");
        }
    }

    #[test]
    fn identities_name_the_event_or_its_object_and_sequencer() {
        let contents = read_body(&s3_body("ObjectCreated:Put", "a+b.html")).unwrap();
        assert_eq!(
            contents.identities(),
            ["ObjectCreated:Put|example-site|a+b.html|0061F0A1B2C3D4E5F6"]
        );
        let without_id = serde_json::json!({"detail-type": "Object Created", "source": "aws.s3",
            "detail": {"bucket": {"name": "example-site"}, "object": {"key": "a b.html"}}})
        .to_string();
        assert_eq!(
            read_body(&without_id).unwrap().identities(),
            ["example-site|a b.html|"]
        );
    }

    #[test]
    fn the_preview_is_the_cut_of_the_whole_escaped_body() {
        let whole = |body: &str| {
            let escaped: String = body.chars().flat_map(char::escape_debug).collect();
            truncate(&escaped, PREVIEW_CHARS)
        };
        let mut bodies = vec![String::new(), "\n".to_owned(), "é".repeat(300)];
        for length in [
            PREVIEW_CHARS - 2,
            PREVIEW_CHARS,
            PREVIEW_CHARS + 1,
            PREVIEW_CHARS + 5,
        ] {
            for tail in ["x", "\n", "\u{7}", "日", "\u{301}", "\""] {
                bodies.push(format!("{}{}", "x".repeat(length - 1), tail));
                bodies.push(format!(
                    "{}{}x",
                    tail.repeat(length / 2),
                    "y".repeat(length)
                ));
            }
        }
        for body in &bodies {
            assert_eq!(preview(body), whole(body), "{body:?}");
        }
    }

    #[test]
    fn an_sqs_batch_is_told_apart_from_a_direct_notification() {
        let batch: Envelope = serde_json::from_value(serde_json::json!({"Records": [
            {"messageId": "m1", "receiptHandle": "r", "body": s3_body("ObjectCreated:Put", "a"),
             "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
             "md5OfBody": "x", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
             "awsRegion": "us-east-1"}]}))
        .unwrap();
        assert!(
            matches!(batch.into_delivery(), Delivery::Sqs(messages) if messages.len() == 1 && messages[0].0 == "m1")
        );
        let direct: Envelope = serde_json::from_str(&s3_body("ObjectCreated:Put", "a")).unwrap();
        assert!(matches!(direct.into_delivery(), Delivery::Direct(c) if c.changes.len() == 1));
        let other: Envelope = serde_json::from_str(r#"{"hello": 1}"#).unwrap();
        assert!(matches!(other.into_delivery(), Delivery::Unrecognised));
    }
}
