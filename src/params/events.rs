//! `CF_INVALIDATE_PARAMETERS`: the S3-events function's configuration, read once at start-up with
//! the same keys, rules and messages as UserParameters where they apply.

use serde_json::Value;

use super::{
    MAX_USER_PARAMETERS_BYTES, ParamsError, Source, bucket_name, directory_index, max_paths,
    read_json, targets, trimmed,
};
use crate::values::shown;

/// The environment variable that holds the configuration.
pub const VARIABLE: &str = "CF_INVALIDATE_PARAMETERS";

/// A complete configuration, for messages.
pub const EXAMPLE: &str = r#"{"distributionId": "E2QWRUHAPOMQZL", "keyPrefix": "site/"}"#;

/// Every key accepted here, in the order the documentation lists them.
pub const KNOWN_KEYS: [&str; 9] = [
    "distributionId",
    "distributionIds",
    "distributionTenantId",
    "distributionTenantIds",
    "maxPaths",
    "directoryIndex",
    "keyPrefix",
    "pathPrefix",
    "bucket",
];

/// UserParameters keys that have no meaning for uploads, and why.
const PIPELINE_ONLY_KEYS: [(&str, &str); 6] = [
    (
        "paths",
        "the paths are the uploaded and deleted keys themselves",
    ),
    (
        "wait",
        "nothing waits for an upload's invalidation, so the function returns as soon as it is \
         created",
    ),
    (
        "timeoutMinutes",
        "the function never waits for Completed; its own Lambda timeout bounds the retries",
    ),
    (
        "onTimeout",
        "the function never waits for Completed; a batch it could not invalidate comes back \
         from the queue",
    ),
    (
        "callerReference",
        "each batch derives its own from the identities of its events, so a redelivered batch \
         gets the same invalidation and a new upload of the same key a new one",
    ),
    (
        "verify",
        "the function never waits for Completed, so there is no moment to ask the edge; run \
         cf-invalidate verify after the uploads instead",
    ),
];

/// The validated configuration of the S3-events function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsParams {
    /// Distributions, then tenants, as for UserParameters.
    pub targets: Vec<crate::values::Target>,
    pub max_paths: usize,
    pub directory_index: Option<String>,
    /// Only keys under it count, and it is removed from them ("" = every key).
    pub key_prefix: String,
    /// Starts and ends with "/"; put before the rest of the key to form the URL path.
    pub path_prefix: String,
    /// When set, records of other buckets are skipped.
    pub bucket: Option<String>,
}

/// Reads the variable's value (`None` when it is not set).
pub fn parse_events_parameters(input: Option<&str>) -> Result<EventsParams, ParamsError> {
    let origin = Source::EventsEnvironment;
    let text = trimmed(input.unwrap_or_default());
    if text.is_empty() {
        return Err(ParamsError::EventsUnset);
    }
    if text.len() > MAX_USER_PARAMETERS_BYTES {
        return Err(ParamsError::EventsNotAnObject {
            got: format!("{} bytes of text", text.len()),
        });
    }
    if !text.starts_with('{') {
        return Err(ParamsError::EventsNotAnObject { got: shown(text) });
    }
    // Keys of the pipeline action first: they are known, just not here, and deserve their reason.
    if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text)
        && let Some((key, why)) = PIPELINE_ONLY_KEYS
            .iter()
            .find(|(key, _)| object.contains_key(*key))
    {
        return Err(ParamsError::NotForEvents { key, why });
    }
    let raw = read_json(text, origin)?;
    let targets = targets(&raw, origin)?;
    let max_paths = max_paths(raw.max_paths.as_ref(), origin)?;
    let directory_index = directory_index(raw.directory_index.as_deref(), origin)?;
    let (key_prefix, path_prefix) = raw.prefixes(origin)?;
    Ok(EventsParams {
        targets,
        max_paths,
        directory_index,
        key_prefix,
        path_prefix,
        bucket: raw
            .bucket
            .as_deref()
            .map(|raw| bucket_name(raw, origin, "bucket"))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EventsParams, String> {
        parse_events_parameters(Some(text)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_cover_the_whole_bucket_at_the_site_root() {
        let params = parse(r#"{"distributionId": "E2QWRUHAPOMQZL"}"#).unwrap();
        assert_eq!(params.key_prefix, "");
        assert_eq!(params.path_prefix, "/");
        assert_eq!(params.bucket, None);
        assert_eq!(params.max_paths, super::super::DEFAULT_MAX_PATHS);
        assert_eq!(params.targets.len(), 1);
    }

    #[test]
    fn every_key_of_this_mode_is_read() {
        let params = parse(
            r#"{"distributionIds": ["E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL"],
                "distributionTenantId": "dt_2wjDZi3hD1ivOXf6rpZJO1AB", "maxPaths": 50,
                "directoryIndex": "index.html", "keyPrefix": "site/",
                "pathPrefix": "/blog/", "bucket": "example-site"}"#,
        )
        .unwrap();
        assert_eq!(params.targets.len(), 3);
        assert_eq!(params.max_paths, 50);
        assert_eq!(params.directory_index.as_deref(), Some("index.html"));
        assert_eq!(params.key_prefix, "site/");
        assert_eq!(params.path_prefix, "/blog/");
        assert_eq!(params.bucket.as_deref(), Some("example-site"));
    }

    #[test]
    fn unset_or_empty_says_what_to_set() {
        for input in [None, Some(""), Some("  \n")] {
            let message = parse_events_parameters(input).unwrap_err().to_string();
            assert!(
                message.starts_with("CF_INVALIDATE_PARAMETERS is not set or empty"),
                "{message}"
            );
            assert!(message.contains(EXAMPLE), "{message}");
        }
    }

    #[test]
    fn the_plain_form_is_refused_with_the_json_to_write() {
        let message = parse("E2QWRUHAPOMQZL /index.html").unwrap_err();
        assert!(
            message.contains("must be a JSON object, got \"E2QWRUHAPOMQZL /index.html\""),
            "{message}"
        );
    }

    #[test]
    fn pipeline_keys_are_refused_with_their_reason() {
        for (key, fragment) in [
            ("paths", "the uploaded and deleted keys themselves"),
            ("wait", "nothing waits"),
            ("timeoutMinutes", "never waits"),
            ("onTimeout", "comes back from the queue"),
            (
                "callerReference",
                "a redelivered batch gets the same invalidation",
            ),
        ] {
            let message = parse(&format!(
                r#"{{"distributionId": "E2QWRUHAPOMQZL", "{key}": 1}}"#
            ))
            .unwrap_err();
            assert!(
                message.starts_with(&format!(
                    "\"{key}\" does not apply in CF_INVALIDATE_PARAMETERS"
                )),
                "{message}"
            );
            assert!(message.contains(fragment), "{message}");
        }
    }

    #[test]
    fn shared_rules_speak_of_this_variable() {
        let cases = [
            (
                r#"{"distributionID": "E2QWRUHAPOMQZL"}"#,
                "unknown key \"distributionID\" in CF_INVALIDATE_PARAMETERS: did you mean \"distributionId\"?",
            ),
            (
                r#"{"keyPrefx": "site/", "distributionId": "E2QWRUHAPOMQZL"}"#,
                "did you mean \"keyPrefix\"?",
            ),
            (
                r#"{"maxPaths": 100}"#,
                "CF_INVALIDATE_PARAMETERS names no distribution",
            ),
            (
                r#"{"distributionId": "E2QWRUHAPOMQZL", "maxPaths": 0}"#,
                "\"maxPaths\" in CF_INVALIDATE_PARAMETERS is 0, out of range",
            ),
            (
                r#"{"distributionId": "E2QWRUHAPOMQZL", "directoryIndex": "a/b"}"#,
                "\"directoryIndex\" in CF_INVALIDATE_PARAMETERS is \"a/b\"",
            ),
            (
                r#"{"distributionId": "e2qwruhapomqzl"}"#,
                "\"distributionId\" in CF_INVALIDATE_PARAMETERS",
            ),
            (
                r#"{"distributionId": "E2QWRUHAPOMQZL",}"#,
                "CF_INVALIDATE_PARAMETERS starts with \"{\" but is not valid JSON",
            ),
        ];
        for (input, expected) in cases {
            let message = parse(input).unwrap_err();
            assert!(message.contains(expected), "{input}: {message}");
            assert!(!message.contains("UserParameters"), "{input}: {message}");
            assert!(!message.contains("plain form"), "{input}: {message}");
        }
    }

    #[test]
    fn prefixes_and_bucket_are_checked() {
        let cases = [
            (
                r#""pathPrefix": "blog/""#,
                "does not start and end with \"/\"",
            ),
            (
                r#""pathPrefix": "/blog""#,
                "does not start and end with \"/\"",
            ),
            (
                r#""pathPrefix": "/blog/*/""#,
                "contains \"*\", \"?\" or \"#\"",
            ),
            (
                r#""keyPrefix": "site/\u0007""#,
                "contains a control character",
            ),
            (
                r#""bucket": "arn:aws:s3:::example-site""#,
                "is an ARN or a URL",
            ),
            (r#""bucket": "Example_Site""#, "is not an S3 bucket name"),
            (
                r#""keyPrefix": 3"#,
                "\"keyPrefix\" in CF_INVALIDATE_PARAMETERS must be",
            ),
        ];
        for (entry, expected) in cases {
            let input = format!(r#"{{"distributionId": "E2QWRUHAPOMQZL", {entry}}}"#);
            let message = parse(&input).unwrap_err();
            assert!(message.contains(expected), "{input}: {message}");
        }
    }
}
