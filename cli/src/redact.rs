//! Debug logs without secrets: signatures, access key ids, session tokens and secret keys are
//! masked before a line reaches standard error.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// What follows each of these (up to a separator) is masked.
const SECRET_AFTER: [&str; 9] = [
    "access_key_id: \"",
    "Signature=",
    "Credential=",
    "x-amz-security-token: ",
    "x-amz-security-token\": \"",
    "authorization: ",
    "authorization\": \"",
    "session_token: ",
    "secret_access_key: \"",
];

/// Masks every secret in `line`; the rest is kept, so that the log still tells what happened.
pub fn redact(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    'scan: while !rest.is_empty() {
        let lower = rest.to_ascii_lowercase();
        let next = SECRET_AFTER
            .iter()
            .filter_map(|marker| {
                lower
                    .find(&marker.to_ascii_lowercase())
                    .map(|at| (at, marker.len()))
            })
            .min();
        let Some((at, len)) = next else {
            out.push_str(rest);
            break 'scan;
        };
        let (before, after) = rest.split_at(at + len);
        out.push_str(before);
        let secret_len = after
            .find([',', '"', '\'', ' ', '\n', ')', '}', '&'])
            .unwrap_or(after.len());
        out.push_str("*** redacted ***");
        rest = &after[secret_len..];
    }
    out
}

/// Standard error, one redacted line at a time.
pub struct Stderr;

pub struct RedactingWriter {
    buffer: Vec<u8>,
}

impl Write for RedactingWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let _ = io::stderr().lock().write_all(redact(&text).as_bytes());
    }
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter { buffer: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_keys_and_tokens_are_masked() {
        let line = r#"headers: {"authorization": "AWS4-HMAC-SHA256 Credential=AKIASECRET/20261129/us-east-1/cloudfront/aws4_request, SignedHeaders=host, Signature=abc123", "x-amz-security-token": "TOKENSECRET"}"#;
        let masked = redact(line);
        for secret in ["AKIASECRET", "abc123", "TOKENSECRET", "AWS4-HMAC"] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        assert!(masked.contains("headers:"), "{masked}");
        assert_eq!(
            redact("GET /2020-05-31/distribution/E1/invalidation"),
            "GET /2020-05-31/distribution/E1/invalidation"
        );
    }
}
