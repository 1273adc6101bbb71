//! Adapters: the ports implemented on the AWS SDK clients, keeping SDK types out of the engine.

pub mod cloudfront;
pub mod codepipeline;
pub mod history;
pub mod s3;
pub mod site;
mod transport;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// What any SDK call failure looks like before the service's own error is looked at.
pub(crate) enum Failure<'a, E> {
    /// The service answered with an error: its parsed form and the HTTP status.
    Service(&'a E, u16),
    /// Time-outs, broken connections, unreadable responses: worth trying again.
    Transient,
    /// The request could not even be built: a bug or bad input on our side.
    Construction,
}

/// What a failed call said, on one line: `Code: message` from the service, else the error and
/// its causes (the SDK's top-level text alone says little: "dispatch failure").
pub(crate) fn detail<E>(error: &E) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        (None, _) => error_chain(error),
    }
}

/// Whether an error the operation's model does not list means "try again later": throttling, an
/// overloaded or failing service. One list for every adapter, so that no service's throttling is
/// read as a refusal by one adapter and retried by another. Each adapter maps the answer to its
/// own error kind.
///
/// Hand-written rather than the SDK's own list of retryable codes: that list holds quotas
/// (`LimitExceededException`) that waiting does not lift.
pub(crate) fn is_transient(code: Option<&str>, status: u16) -> bool {
    matches!(
        code,
        Some(
            "Throttling"
                | "ThrottlingException"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "ServiceUnavailable"
                | "ServiceUnavailableException"
                | "InternalFailure"
                | "RequestTimeout"
                | "RequestTimeoutException"
        )
    ) || status == 429
        || status >= 500
}

pub(crate) fn split<E>(error: &SdkError<E, HttpResponse>) -> Failure<'_, E> {
    match error {
        SdkError::ServiceError(service) => {
            Failure::Service(service.err(), service.raw().status().as_u16())
        }
        SdkError::ConstructionFailure(_) => Failure::Construction,
        _ => Failure::Transient,
    }
}

/// The error and its causes on one line: the SDK's top-level text alone says little ("dispatch failure").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
