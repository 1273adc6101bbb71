//! Adapters: the ports implemented on the AWS SDK clients, keeping SDK types out of the engine.

pub mod cloudfront;
pub mod codepipeline;

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

pub(crate) fn split<E>(error: &SdkError<E, HttpResponse>) -> Failure<'_, E> {
    match error {
        SdkError::ServiceError(service) => {
            Failure::Service(service.err(), service.raw().status().as_u16())
        }
        SdkError::ConstructionFailure(_) => Failure::Construction,
        _ => Failure::Transient,
    }
}
