//! What an API handler answers, before it becomes an HTTP response, and what it tells the log.

use bytes::Bytes;
use hyper::HeaderMap;
use hyper::header::{CONTENT_TYPE, HeaderValue};

use crate::cloudfront::CallerReferenceReuse;

/// The message of AWS's throttling errors (CloudFront `Throttling`, CodePipeline
/// `ThrottlingException`).
pub(crate) const THROTTLED: &str = "Rate exceeded";

/// An answer to one call.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    /// `content-type` and the API's own headers; a library that writes the whole response
    /// (S3) replaces them with its own.
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The AWS error code, for error replies.
    pub error_code: Option<String>,
}

impl Reply {
    pub(crate) fn new(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        Self {
            status,
            headers,
            body: body.into(),
            error_code: None,
        }
    }

    /// Adds a header; a value HTTP cannot carry is left out, as no API here sends one.
    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        if let Ok(value) = HeaderValue::try_from(value.into()) {
            self.headers.insert(name, value);
        }
        self
    }

    pub(crate) fn with_error_code(mut self, code: impl Into<String>) -> Self {
        self.error_code = Some(code.into());
        self
    }
}

/// The facts about a call that go into the request log.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallInfo {
    pub operation: String,
    pub distribution_id: Option<String>,
    pub distribution_tenant_id: Option<String>,
    pub invalidation_id: Option<String>,
    pub job_id: Option<String>,
    pub lambda_request_id: Option<String>,
    pub detail: Option<String>,
    pub caller_reference_reuse: Option<CallerReferenceReuse>,
    pub body_bytes: Option<u64>,
}

impl CallInfo {
    pub(crate) fn op(operation: &str) -> Self {
        Self {
            operation: operation.to_string(),
            ..Self::default()
        }
    }
}

/// `text` through the workspace's percent-decoder, or as sent when its escapes are not UTF-8:
/// no id, key or parameter of the emulated APIs looks like that, so it then matches nothing.
pub(crate) fn decoded_or_raw(text: &str, plus_is_space: bool) -> String {
    cf_invalidate::text::percent_decode(text, plus_is_space).unwrap_or_else(|| text.to_owned())
}

/// The `key=value` pairs of a query string, decoded.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decoded_or_raw(k, true), decoded_or_raw(v, true)),
            None => (decoded_or_raw(p, true), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        assert_eq!(
            query_pairs("Marker=I%2FX&MaxItems=2&flag"),
            [
                ("Marker".to_string(), "I/X".to_string()),
                ("MaxItems".to_string(), "2".to_string()),
                ("flag".to_string(), String::new())
            ]
        );
        assert_eq!(decoded_or_raw("a%2", false), "a%2");
        assert_eq!(decoded_or_raw("%zz%41", false), "%zzA");
        // Once decoded lossily to "a\u{FFFD}b": now kept as sent, like every undecodable text.
        assert_eq!(decoded_or_raw("a%FFb", false), "a%FFb");
    }
}
