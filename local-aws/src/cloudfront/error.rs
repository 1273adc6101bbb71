//! CloudFront's refusals: each has its HTTP status, its error code and its message, and all are
//! sent as the same XML error document.

use serde::Serialize;

use super::{MAX_PATHS_PER_BATCH, NAMESPACE, Target};
use crate::reply::{Reply, THROTTLED};
use crate::xml;

/// Why CloudFront refuses a call. The variant is the error code; its text is the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CfError {
    #[error(
        "This operation requires a body. Ensure that the body is present and the Content-Type header is set."
    )]
    MissingBody,
    #[error("{0}")]
    MalformedInput(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("The value of Quantity ({quantity}) and the size of Items ({items}) don't match.")]
    InconsistentQuantities { quantity: usize, items: usize },
    #[error(
        "Your request contains {0} invalidation paths; the maximum is {max} per batch.",
        max = MAX_PATHS_PER_BATCH
    )]
    BatchTooLarge(usize),
    #[error("{0}")]
    TooManyInvalidationsInProgress(String),
    #[error("The specified distribution does not exist.")]
    NoSuchDistribution,
    /// A distribution tenant that does not exist.
    #[error("The specified distribution tenant does not exist.")]
    EntityNotFound,
    #[error("The specified invalidation does not exist.")]
    NoSuchInvalidation,
    /// IAM's refusal, in the words IAM uses.
    #[error("{0}")]
    AccessDenied(String),
    /// AWS's own throttling reply, word for word: a client may log it, never recognise it by
    /// its text, and must not see anything that real AWS never sends.
    #[error("{THROTTLED}")]
    Throttling,
    #[error("{0}")]
    ServiceUnavailable(String),
    /// A path or method the emulator does not serve.
    #[error("{0}")]
    NotImplemented(String),
}

impl CfError {
    /// `NoSuchDistribution` for a distribution, `EntityNotFound` for a distribution tenant.
    pub(crate) fn not_found(target: &Target) -> Self {
        match target {
            Target::Distribution(_) => CfError::NoSuchDistribution,
            Target::Tenant(_) => CfError::EntityNotFound,
        }
    }

    /// The error code, as the wire spells it.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            CfError::MissingBody => "MissingBody",
            CfError::MalformedInput(_) => "MalformedInput",
            CfError::InvalidArgument(_) => "InvalidArgument",
            CfError::InconsistentQuantities { .. } => "InconsistentQuantities",
            CfError::BatchTooLarge(_) => "BatchTooLarge",
            CfError::TooManyInvalidationsInProgress(_) => "TooManyInvalidationsInProgress",
            CfError::NoSuchDistribution => "NoSuchDistribution",
            CfError::EntityNotFound => "EntityNotFound",
            CfError::NoSuchInvalidation => "NoSuchInvalidation",
            CfError::AccessDenied(_) => "AccessDenied",
            CfError::Throttling => "Throttling",
            CfError::ServiceUnavailable(_) => "ServiceUnavailable",
            CfError::NotImplemented(_) => "NotImplemented",
        }
    }

    /// The HTTP status CloudFront answers it with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            CfError::BatchTooLarge(_) => 413,
            CfError::AccessDenied(_) => 403,
            CfError::NoSuchDistribution | CfError::EntityNotFound | CfError::NoSuchInvalidation => {
                404
            }
            CfError::NotImplemented(_) => 501,
            CfError::ServiceUnavailable(_) => 503,
            CfError::MissingBody
            | CfError::MalformedInput(_)
            | CfError::InvalidArgument(_)
            | CfError::InconsistentQuantities { .. }
            | CfError::TooManyInvalidationsInProgress(_)
            | CfError::Throttling => 400,
        }
    }

    /// The XML error document CloudFront sends.
    pub(crate) fn reply(&self, request_id: &str) -> Reply {
        let status = self.status();
        let document = ErrorResponse {
            xmlns: NAMESPACE,
            error: ErrorDetail {
                kind: if status >= 500 { "Receiver" } else { "Sender" },
                code: self.code(),
                message: self.to_string(),
            },
            request_id,
        };
        xml::reply(status, &document).with_error_code(self.code())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorResponse<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    error: ErrorDetail,
    request_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorDetail {
    #[serde(rename = "Type")]
    kind: &'static str,
    code: &'static str,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_for_every_refusal() {
        let reply = CfError::BatchTooLarge(3001).reply("req-1");
        assert_eq!(reply.status, 413);
        assert_eq!(reply.error_code.as_deref(), Some("BatchTooLarge"));
        let body = String::from_utf8_lossy(&reply.body);
        assert!(
            body.contains("<Type>Sender</Type><Code>BatchTooLarge</Code><Message>Your request contains 3001 invalidation paths; the maximum is 3000 per batch.</Message></Error><RequestId>req-1</RequestId>"),
            "{body}"
        );
        let unavailable = CfError::ServiceUnavailable("down & out".to_string()).reply("r");
        let body = String::from_utf8_lossy(&unavailable.body);
        assert!(body.contains("<Type>Receiver</Type>") && body.contains("down &amp; out"));
        assert_eq!(
            CfError::not_found(&Target::Tenant("dt_1".to_string())).code(),
            "EntityNotFound"
        );
    }
}
