//! The burst of object uploads and deletes, and the messages S3 sends about each: an S3 event
//! notification (key form-encoded) or an EventBridge event (key as it is).

use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Value, json};

use super::config::EventsConfig;
use crate::clock::iso8601;
use crate::rng::SeededRng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectChange {
    Put,
    MultipartUpload,
    Delete,
}

impl ObjectChange {
    /// The S3 notification's `eventName`.
    pub fn event_name(self) -> &'static str {
        match self {
            ObjectChange::Put => "ObjectCreated:Put",
            ObjectChange::MultipartUpload => "ObjectCreated:CompleteMultipartUpload",
            ObjectChange::Delete => "ObjectRemoved:Delete",
        }
    }

    pub fn is_delete(self) -> bool {
        self == ObjectChange::Delete
    }
}

/// One upload or delete of the burst.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectEvent {
    /// Position in the burst, from 0.
    pub index: usize,
    /// The object key, raw (as stored in S3).
    pub key: String,
    pub change: ObjectChange,
    /// When S3 sends its notification, after the start of the burst.
    #[serde(skip)]
    pub at: Duration,
    /// The notification's `sequencer`: unique, and growing for later events of one key.
    pub sequencer: String,
    /// Bytes (0 for a delete).
    pub size: u64,
    pub etag: String,
}

impl ObjectEvent {
    /// The `object` of a message about it: the key as the message writes it, the sequencer,
    /// and (not for a delete) the size and the eTag under the message's own name for it.
    fn object(&self, key: String, etag_name: &str) -> Value {
        let mut object = json!({"key": key, "sequencer": self.sequencer});
        if !self.change.is_delete() {
            object["size"] = json!(self.size);
            object[etag_name] = json!(self.etag);
        }
        object
    }

    /// A directory marker (`folder/`): a zero-byte object the console creates for a folder.
    pub fn is_directory_marker(&self) -> bool {
        self.key.ends_with('/')
    }
}

/// Which message S3 puts on the queue for each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyShape {
    /// S3 event notifications (`{"Records": [...]}`), key form-encoded.
    S3,
    /// EventBridge events (`"detail-type": "Object Created"`), key as it is.
    EventBridge,
    /// Either, drawn per message.
    Mixed,
}

impl std::str::FromStr for BodyShape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "s3" => Ok(BodyShape::S3),
            "eventbridge" => Ok(BodyShape::EventBridge),
            "mixed" => Ok(BodyShape::Mixed),
            other => Err(format!(
                "invalid body shape '{other}': expected s3, eventbridge or mixed"
            )),
        }
    }
}

/// Encodes a key as S3 writes it in an event notification: as a form value (space `+`, `+`
/// `%2B`, `%` `%25`, non-ASCII as the `%XX` of its UTF-8 bytes; letters, digits and `-_.~`
/// as they are, as Python's `quote_plus`), except `/`, which S3 leaves as it is. The
/// documentation says "URL encoded" with "red flower.jpg" becoming "red+flower.jpg"; users
/// report slashes unencoded next to `%3A` for `:` (minio/minio#11665, 2021), though one report
/// from 2015 shows `%2F` (aws/aws-sdk-js#837). Either way a form decoder gives the key back.
pub fn form_encode_key(key: &str) -> String {
    encode_key(key, "+")
}

/// Encodes a key as the path of a URL that asks for it (`/` and then this): as
/// [`form_encode_key`] but a space is `%20`, since a `+` in a path is a plus. Every byte but
/// letters, digits, `-_.~` and `/` is escaped, `?` and `%` included, so the path reaches
/// the key whatever it holds.
pub fn path_encode_key(key: &str) -> String {
    encode_key(key, "%20")
}

fn encode_key(key: &str, space: &str) -> String {
    let mut out = String::with_capacity(key.len() * 3 / 2);
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            b' ' => out.push_str(space),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The bucket the notifications name.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub region: String,
    pub account_id: String,
}

impl Bucket {
    fn arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.name)
    }

    /// The S3 event notification of one event: `{"Records": [one record]}`, key form-encoded.
    pub fn s3_notification(
        &self,
        event: &ObjectEvent,
        at: SystemTime,
        rng: &mut SeededRng,
    ) -> Value {
        json!({"Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": self.region,
            "eventTime": iso8601(at),
            "eventName": event.change.event_name(),
            "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {
                "x-amz-request-id": rng.string_from(b"0123456789ABCDEF", 16),
                "x-amz-id-2": rng.string_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 56),
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "cf-invalidate",
                "bucket": {
                    "name": self.name,
                    "ownerIdentity": {"principalId": "A3NL1KOZZKEXAMPLE"},
                    "arn": self.arn(),
                },
                "object": event.object(form_encode_key(&event.key), "eTag"),
            },
        }]})
    }

    /// The EventBridge event of one event. The key is NOT encoded here: AWS's pages on the
    /// EventBridge message structure (ev-events) show a plain `example-key` and, unlike the
    /// notification page, say nothing of encoding; moto's fix that form-encodes notification
    /// keys (getmoto/moto#9060, 2025) applies to SQS, SNS and Lambda destinations and leaves
    /// its EventBridge events raw. No public report of an encoded EventBridge key was found.
    pub fn eventbridge_event(
        &self,
        event: &ObjectEvent,
        at: SystemTime,
        rng: &mut SeededRng,
    ) -> Value {
        let (detail_type, reason) = match event.change {
            ObjectChange::Put => ("Object Created", "PutObject"),
            ObjectChange::MultipartUpload => ("Object Created", "CompleteMultipartUpload"),
            ObjectChange::Delete => ("Object Deleted", "DeleteObject"),
        };
        let mut detail = json!({
            "version": "0",
            "bucket": {"name": self.name},
            "object": event.object(event.key.clone(), "etag"),
            "request-id": rng.string_from(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 16),
            "requester": self.account_id,
            "source-ip-address": "127.0.0.1",
            "reason": reason,
        });
        if event.change.is_delete() {
            detail["deletion-type"] = json!("Permanently Deleted");
        }
        json!({
            "version": "0",
            "id": rng.uuid(),
            "detail-type": detail_type,
            "source": "aws.s3",
            "account": self.account_id,
            // Without fractions: `2021-11-12T00:00:00Z`.
            "time": humantime::format_rfc3339_seconds(at).to_string(),
            "region": self.region,
            "resources": [self.arn()],
            "detail": detail,
        })
    }

    /// The message S3 sends when a notification is first configured.
    pub fn test_event(&self, at: SystemTime, rng: &mut SeededRng) -> Value {
        json!({
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": iso8601(at),
            "Bucket": self.name,
            "RequestId": rng.string_from(b"0123456789ABCDEF", 16),
            "HostId": rng.string_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 76),
        })
    }
}

/// Folders of generated keys: nested, with spaces, `+`, `%` and non-ASCII names.
const FOLDERS: [&str; 12] = [
    "",
    "assets/",
    "docs/guide/",
    "blog/2024/06/",
    "caf\u{e9}/",
    "\u{65e5}\u{672c}/\u{8cc7}\u{6599}/",
    "with space/",
    "a+b/",
    "100%/",
    "docs/v1.2/api/",
    "deep/er/and/deeper/",
    "emoji \u{1f389}/",
];

/// Folders and names of plain keys: what most of a site's files look like.
const PLAIN_FOLDERS: [&str; 7] = [
    "",
    "assets/js/",
    "assets/css/",
    "img/",
    "blog/2024/06/",
    "docs/guide/",
    "docs/v1.2/api/",
];
const PLAIN_NAMES: [&str; 7] = [
    "index.html",
    "app.js",
    "style.css",
    "logo.png",
    "post.html",
    "guide.pdf",
    "data.json",
];

/// File names: awkward ones, and plenty of `index.html`.
const NAMES: [&str; 16] = [
    "index.html",
    "index.html",
    "about us.html",
    "c++ guide.pdf",
    "100% done.txt",
    "a+b=c.css",
    "report (1).pdf",
    "men\u{fc}.html",
    "\u{30da}\u{30fc}\u{30b8}.html",
    "x:y;z.txt",
    "tilde~file.js",
    "amp&and.html",
    "quote'single.txt",
    "brackets[1].png",
    "star*glob.txt",
    "percent%2Fslash.html",
];

/// The config's burst: every event with its key, change, time, sequencer, size and eTag, spread
/// evenly over the burst duration; the keys given, or generated under `key_prefix`.
pub fn make_burst(
    config: &EventsConfig,
    key_prefix: &str,
    rng: &mut SeededRng,
) -> Vec<ObjectEvent> {
    let given: Vec<(String, bool)> = match &config.keys {
        Some(keys) => keys.clone(),
        None => generate_keys(config, key_prefix, rng),
    };
    let count = given.len().max(1) as u128;
    let span = config.burst_duration.as_micros();
    // Sequencers are hex and grow with time; start somewhere plausible.
    let base = 0x0055_AED6_DCD9_0281u64 + rng.between(0, 1 << 32);
    given
        .into_iter()
        .enumerate()
        .map(|(index, (key, delete))| {
            let at_micros = span * index as u128 / count;
            let change = if delete {
                ObjectChange::Delete
            } else if rng.chance(0.1) {
                ObjectChange::MultipartUpload
            } else {
                ObjectChange::Put
            };
            let size = if delete || key.ends_with('/') {
                0
            } else {
                rng.between(1, 5_000_000)
            };
            let etag = match change {
                ObjectChange::MultipartUpload => format!("{}-{}", rng.hex(32), rng.between(2, 20)),
                _ => rng.hex(32),
            };
            ObjectEvent {
                index,
                key,
                change,
                at: Duration::from_micros(u64::try_from(at_micros).unwrap_or(u64::MAX)),
                sequencer: format!("{:016X}", base + index as u64 * 16),
                size,
                etag,
            }
        })
        .collect()
}

/// `--uploads` keys; `--deletes`, `--outside-prefix` and `--awkward-keys` are fractions of them.
fn generate_keys(
    config: &EventsConfig,
    key_prefix: &str,
    rng: &mut SeededRng,
) -> Vec<(String, bool)> {
    let mut uploaded: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(config.uploads);
    for i in 0..config.uploads {
        // Delete an earlier key, or re-upload one now and then (a deploy overwriting a file).
        if !uploaded.is_empty() {
            let delete = rng.chance(config.deletes);
            if delete || rng.chance(0.05) {
                out.push((pick(rng, &uploaded).clone(), delete));
                continue;
            }
        }
        let prefix = if !key_prefix.is_empty() && rng.chance(config.outside_prefix) {
            "elsewhere/"
        } else {
            key_prefix
        };
        let awkward = rng.chance(config.awkward_keys);
        let (folder, name, space) = if awkward {
            (*pick(rng, &FOLDERS), *pick(rng, &NAMES), " ")
        } else {
            (*pick(rng, &PLAIN_FOLDERS), *pick(rng, &PLAIN_NAMES), "-")
        };
        let key = if rng.chance(0.01) {
            // A directory marker, as the console's "Create folder" makes.
            format!("{prefix}{folder}new{space}folder{space}{i}/")
        } else if name == "index.html" {
            format!("{prefix}{folder}section{space}{i}/index.html")
        } else {
            match name.rsplit_once('.') {
                Some((stem, ext)) => format!("{prefix}{folder}{stem}{space}{i}.{ext}"),
                None => format!("{prefix}{folder}{name}{space}{i}"),
            }
        };
        uploaded.push(key.clone());
        out.push((key, false));
    }
    out
}

/// One of `items` (not empty), drawn evenly.
pub(crate) fn pick<'a, T>(rng: &mut SeededRng, items: &'a [T]) -> &'a T {
    let last = items.len().saturating_sub(1) as u64;
    &items[usize::try_from(rng.between(0, last)).unwrap_or(0)]
}

/// Reads a keys file: one key per line (kept exactly, spaces included); `DELETE key` deletes.
/// Empty lines are skipped. Fails on a file with no key, naming it.
pub fn parse_keys(text: &str) -> Result<Vec<(String, bool)>, String> {
    let keys: Vec<(String, bool)> = text
        .lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| match line.strip_prefix("DELETE ") {
            Some(key) => (key.to_string(), true),
            None => (line.to_string(), false),
        })
        .collect();
    if let Some((key, _)) = keys.iter().find(|(k, _)| k.is_empty()) {
        return Err(format!(
            "an empty key after DELETE ('{key}'): write `DELETE some/key`"
        ));
    }
    if keys.is_empty() {
        return Err("no key in the file: write one key per line, or `DELETE key`".to_string());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_form_encoded_as_s3_sends_them() {
        assert_eq!(form_encode_key("red flower.jpg"), "red+flower.jpg");
        assert_eq!(form_encode_key("c++ guide.pdf"), "c%2B%2B+guide.pdf");
        assert_eq!(form_encode_key("100% done"), "100%25+done");
        assert_eq!(
            form_encode_key("caf\u{e9}/men\u{fc}.html"),
            "caf%C3%A9/men%C3%BC.html"
        );
        assert_eq!(form_encode_key("\u{65e5}"), "%E6%97%A5");
        assert_eq!(form_encode_key("x:y;z*~_-."), "x%3Ay%3Bz%2A~_-.");
        assert_eq!(form_encode_key("percent%2Fslash"), "percent%252Fslash");
    }

    #[test]
    fn keys_are_path_encoded_as_a_viewer_asks_for_them() {
        assert_eq!(path_encode_key("a b+c.html"), "a%20b%2Bc.html");
        assert_eq!(path_encode_key("a?b=1#c"), "a%3Fb%3D1%23c");
        assert_eq!(path_encode_key("100%/~u/caf\u{e9}"), "100%25/~u/caf%C3%A9");
        assert_eq!(
            cf_invalidate::text::percent_decode(&path_encode_key("x y?%+\u{e9}"), false),
            Some("x y?%+\u{e9}".to_string())
        );
    }

    #[test]
    fn a_keys_file_reads_uploads_and_deletes() {
        let keys = parse_keys("a b.html\r\n\nDELETE c+d/e.html\nDELETEx\n").unwrap();
        assert_eq!(
            keys,
            vec![
                ("a b.html".to_string(), false),
                ("c+d/e.html".to_string(), true),
                ("DELETEx".to_string(), false)
            ]
        );
        assert!(parse_keys("\n\n").is_err());
    }

    #[test]
    fn a_generated_burst_is_awkward_and_ordered() {
        // The flags' defaults: 10 % deletes, 2 % outside the prefix, every key awkward, in 2 s.
        let config = EventsConfig {
            uploads: 2000,
            ..EventsConfig::new("f")
        };
        let burst = make_burst(&config, "site/", &mut SeededRng::new(5));
        assert_eq!(burst.len(), 2000);
        let deletes = burst.iter().filter(|e| e.change.is_delete()).count();
        assert!((100..300).contains(&deletes), "{deletes}");
        assert!(
            burst
                .iter()
                .any(|e| e.change == ObjectChange::MultipartUpload)
        );
        assert!(burst.iter().any(|e| e.is_directory_marker()));
        assert!(
            burst
                .iter()
                .any(|e| e.key.contains(' ') && e.key.contains('+'))
        );
        assert!(burst.iter().any(|e| !e.key.is_ascii()));
        assert!(burst.iter().any(|e| e.key.ends_with("/index.html")));
        assert!(burst.iter().any(|e| !e.key.starts_with("site/")));
        let reuploads = burst.len()
            - burst
                .iter()
                .map(|e| e.key.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len();
        assert!(reuploads > 100, "{reuploads}");
        assert!(
            burst
                .windows(2)
                .all(|w| w[0].at <= w[1].at && w[0].sequencer < w[1].sequencer)
        );
        assert!(burst.last().is_some_and(|e| e.at < Duration::from_secs(2)));
    }

    #[test]
    fn notifications_carry_the_encoded_key_and_eventbridge_the_raw_one() {
        let bucket = Bucket {
            name: "b".into(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
        };
        let event = ObjectEvent {
            index: 0,
            key: "a b+c.html".into(),
            change: ObjectChange::Delete,
            at: Duration::ZERO,
            sequencer: "00A".into(),
            size: 0,
            etag: String::new(),
        };
        let mut rng = SeededRng::new(1);
        let n = bucket.s3_notification(&event, SystemTime::UNIX_EPOCH, &mut rng);
        assert_eq!(n["Records"][0]["s3"]["object"]["key"], "a+b%2Bc.html");
        assert_eq!(n["Records"][0]["eventName"], "ObjectRemoved:Delete");
        assert!(n["Records"][0]["s3"]["object"].get("size").is_none());
        let e = bucket.eventbridge_event(&event, SystemTime::UNIX_EPOCH, &mut rng);
        assert_eq!(e["detail"]["object"]["key"], "a b+c.html");
        assert_eq!(e["detail-type"], "Object Deleted");
        assert_eq!(e["time"], "1970-01-01T00:00:00Z");
        let t = bucket.test_event(SystemTime::UNIX_EPOCH, &mut rng);
        assert_eq!(t["Event"], "s3:TestEvent");
    }
}
