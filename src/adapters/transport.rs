//! What went wrong on the way to a service and back, for errors without a service error code:
//! an endpoint that cannot be reached, one that does not answer in time, and an answer that is
//! not the service's.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::error_chain;
use crate::ports::CloudFrontErrorKind;

/// How many bytes of a foreign answer's body a message quotes.
const BODY_PREVIEW: usize = 120;

/// The kind and message of a failure that happened below the service, or `None` when it needs
/// no more than the error chain (a connection closed mid-answer: worth another try).
pub(crate) fn of<E>(
    error: &SdkError<E, HttpResponse>,
    operation: &str,
    url: &str,
) -> Option<(CloudFrontErrorKind, String)>
where
    E: std::error::Error + 'static,
{
    let timed_out = match error {
        SdkError::DispatchFailure(failure) => failure.is_timeout(),
        other => matches!(other, SdkError::TimeoutError(_)),
    };
    match error {
        _ if timed_out => Some((
            CloudFrontErrorKind::Unavailable,
            format!(
                "{operation}: no answer from {url} in time: {}",
                error_chain(error)
            ),
        )),
        SdkError::DispatchFailure(_) if cannot_connect(error) => Some((
            CloudFrontErrorKind::Unreachable,
            format!(
                "{operation}: could not connect to {url}: {}",
                error_chain(error)
            ),
        )),
        SdkError::ResponseError(_) => Some((
            CloudFrontErrorKind::NotCloudFront,
            foreign_answer(error, operation, url),
        )),
        _ => None,
    }
}

/// A refused connection, a name that does not resolve, or a TLS handshake that fails: the
/// endpoint is wrong or down, and trying again for minutes will not change that.
fn cannot_connect(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
            )
        {
            return true;
        }
        cause = current.source();
    }
    // Name resolution and TLS failures carry no kind of their own, only their text.
    let text = error_chain(error).to_ascii_lowercase();
    [
        "dns error",
        "failed to lookup address",
        "certificate",
        "tls handshake",
    ]
    .iter()
    .any(|sign| text.contains(sign))
}

/// "OPERATION: the answer from URL is not a CloudFront answer: HTTP 404, content type text/html, body <...>"
pub(crate) fn foreign_answer<E>(
    error: &SdkError<E, HttpResponse>,
    operation: &str,
    url: &str,
) -> String {
    let Some(raw) = error.raw_response() else {
        return format!("{operation}: the answer from {url} could not be read as CloudFront's");
    };
    let content_type = raw.headers().get("content-type").unwrap_or("none given");
    let body = raw
        .body()
        .bytes()
        .map(|bytes| {
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_PREVIEW)])
                .replace(['\n', '\r'], " ");
            if bytes.len() > BODY_PREVIEW {
                format!("{shown:?}…")
            } else {
                format!("{shown:?}")
            }
        })
        .unwrap_or_else(|| "not read".to_owned());
    format!(
        "{operation}: the answer from {url} is not a CloudFront answer (is the endpoint URL right?): HTTP {}, content type {content_type}, body {body}",
        raw.status().as_u16()
    )
}
