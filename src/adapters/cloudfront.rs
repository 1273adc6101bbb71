//! The `Invalidations` port on the AWS SDK's CloudFront client.

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use aws_sdk_cloudfront::types::{Invalidation, InvalidationBatch, Paths};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::date_time::Format as DateTimeFormat;

use super::{Failure, detail, is_transient, split, transport};
use crate::params::Target;
use crate::ports::{
    CloudFrontError, CloudFrontErrorKind, InvalidationStatus, InvalidationSummary, Invalidations,
};

/// CloudFront through the SDK; endpoints, credentials and retries come from the SDK config.
#[derive(Debug, Clone)]
pub struct SdkInvalidations {
    client: Client,
    page_size: usize,
    /// Where the calls go, for messages: the SDK's errors do not say.
    endpoint: String,
}

/// CloudFront's one global endpoint.
pub const CLOUDFRONT_ENDPOINT: &str = "https://cloudfront.amazonaws.com";

/// The endpoint CloudFront calls go to: `explicit` (a flag), else `AWS_ENDPOINT_URL_CLOUDFRONT`,
/// else `AWS_ENDPOINT_URL` (as the SDK reads them), else CloudFront's own. Read once, at start-up.
pub fn configured_endpoint(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_CLOUDFRONT").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| CLOUDFRONT_ENDPOINT.to_owned())
}

impl SdkInvalidations {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            page_size: LIST_PAGE_SIZE,
            endpoint: CLOUDFRONT_ENDPOINT.to_owned(),
        }
    }

    /// The endpoint the client was configured with (an emulator's, or a VPC endpoint), so that
    /// messages about unreachable or foreign endpoints name the right URL.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into().trim_end_matches('/').to_owned();
        self
    }

    fn url(&self, target: &Target, invalidation_id: Option<&str>) -> String {
        let kind = if target.is_tenant() {
            "distribution-tenant"
        } else {
            "distribution"
        };
        let mut url = format!("{}/2020-05-31/{kind}/{target}/invalidation", self.endpoint);
        if let Some(id) = invalidation_id {
            url.push('/');
            url.push_str(id);
        }
        url
    }

    /// Asks for at most `page_size` invalidations per ListInvalidations call (1 to
    /// [`LIST_PAGE_SIZE`]), so that paging can be exercised with few invalidations.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.clamp(1, LIST_PAGE_SIZE);
        self
    }
}

/// Most invalidations CloudFront returns in one ListInvalidations page.
pub const LIST_PAGE_SIZE: usize = 100;

impl Invalidations for SdkInvalidations {
    async fn create(
        &self,
        target: &Target,
        paths: &[String],
        caller_reference: &str,
    ) -> Result<InvalidationStatus, CloudFrontError> {
        let quantity = i32::try_from(paths.len()).unwrap_or(i32::MAX);
        let batch = Paths::builder()
            .quantity(quantity)
            .set_items(Some(paths.to_vec()))
            .build()
            .and_then(|paths| {
                InvalidationBatch::builder()
                    .paths(paths)
                    .caller_reference(caller_reference)
                    .build()
            })
            .map_err(|error| {
                CloudFrontError::new(
                    CloudFrontErrorKind::Other,
                    None,
                    format!("could not build the invalidation batch: {error}"),
                )
                .with_source(error)
            })?;
        let url = self.url(target, None);
        let invalidation = match target {
            Target::Distribution(id) => {
                self.client
                    .create_invalidation()
                    .distribution_id(id.as_str())
                    .invalidation_batch(batch)
                    .send()
                    .await
                    .map_err(|e| port_error(e, "CreateInvalidation", &url))?
                    .invalidation
            }
            Target::Tenant(id) => {
                self.client
                    .create_invalidation_for_distribution_tenant()
                    .id(id.as_str())
                    .invalidation_batch(batch)
                    .send()
                    .await
                    .map_err(|e| port_error(e, "CreateInvalidationForDistributionTenant", &url))?
                    .invalidation
            }
        };
        status_of(invalidation, "CreateInvalidation")
    }

    async fn get(
        &self,
        target: &Target,
        invalidation_id: &str,
    ) -> Result<InvalidationStatus, CloudFrontError> {
        let url = self.url(target, Some(invalidation_id));
        let invalidation = match target {
            Target::Distribution(id) => {
                self.client
                    .get_invalidation()
                    .distribution_id(id.as_str())
                    .id(invalidation_id)
                    .send()
                    .await
                    .map_err(|e| port_error(e, "GetInvalidation", &url))?
                    .invalidation
            }
            Target::Tenant(id) => {
                self.client
                    .get_invalidation_for_distribution_tenant()
                    .distribution_tenant_id(id.as_str())
                    .id(invalidation_id)
                    .send()
                    .await
                    .map_err(|e| port_error(e, "GetInvalidationForDistributionTenant", &url))?
                    .invalidation
            }
        };
        status_of(invalidation, "GetInvalidation")
    }

    /// Follows `NextMarker` across pages of at most [`LIST_PAGE_SIZE`].
    async fn list(
        &self,
        target: &Target,
        limit: usize,
    ) -> Result<Vec<InvalidationSummary>, CloudFrontError> {
        let page_size = self.page_size;
        let url = self.url(target, None);
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        while found.len() < limit {
            let wanted = i32::try_from((limit - found.len()).min(page_size)).unwrap_or(i32::MAX);
            let list = match target {
                Target::Distribution(id) => {
                    self.client
                        .list_invalidations()
                        .distribution_id(id.as_str())
                        .max_items(wanted)
                        .set_marker(marker.take())
                        .send()
                        .await
                        .map_err(|e| port_error(e, "ListInvalidations", &url))?
                        .invalidation_list
                }
                Target::Tenant(id) => {
                    self.client
                        .list_invalidations_for_distribution_tenant()
                        .id(id.as_str())
                        .max_items(wanted)
                        .set_marker(marker.take())
                        .send()
                        .await
                        .map_err(|e| port_error(e, "ListInvalidationsForDistributionTenant", &url))?
                        .invalidation_list
                }
            };
            let Some(list) = list else {
                return Err(CloudFrontError::new(
                    CloudFrontErrorKind::Unavailable,
                    None,
                    "ListInvalidations answered without an InvalidationList element",
                ));
            };
            found.extend(list.items().iter().map(|item| {
                InvalidationSummary {
                    id: item.id().to_owned(),
                    status: item.status().to_owned(),
                    create_time: item
                        .create_time()
                        .fmt(DateTimeFormat::DateTime)
                        .unwrap_or_else(|_| item.create_time().to_string()),
                }
            }));
            // An empty page with a marker would otherwise loop for ever on a misbehaving endpoint.
            match list.next_marker() {
                Some(next) if list.is_truncated() && !list.items().is_empty() => {
                    marker = Some(next.to_owned());
                }
                _ => break,
            }
        }
        found.truncate(limit);
        Ok(found)
    }
}

fn status_of(
    invalidation: Option<Invalidation>,
    operation: &str,
) -> Result<InvalidationStatus, CloudFrontError> {
    let invalidation = invalidation.ok_or_else(|| {
        CloudFrontError::new(
            CloudFrontErrorKind::Unavailable,
            None,
            format!("{operation} answered without an Invalidation element"),
        )
    })?;
    Ok(InvalidationStatus {
        caller_reference: invalidation
            .invalidation_batch()
            .map(|batch| batch.caller_reference().to_owned()),
        id: invalidation.id,
        status: invalidation.status,
    })
}

/// Classifies any failed call: the service's own errors by `classify`, the rest by how they failed.
fn port_error<E>(error: SdkError<E, HttpResponse>, operation: &str, url: &str) -> CloudFrontError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error.code().map(str::to_owned);
    let (kind, message) = match (split(&error), transport::of(&error, operation, url)) {
        (Failure::Service(service, status), _) => {
            match classify(service, operation, status, code.as_deref()) {
                // An answer that is no modelled error and has no code: no CloudFront error document
                // in it. Say what came back, and from where.
                CloudFrontErrorKind::Other if code.is_none() => (
                    CloudFrontErrorKind::NotCloudFront,
                    transport::foreign_answer(&error, operation, url),
                ),
                // A 5xx without a CloudFront error document (a proxy's, a load balancer's) may pass:
                // tried again, but told as it is.
                CloudFrontErrorKind::Unavailable if code.is_none() => (
                    CloudFrontErrorKind::Unavailable,
                    transport::foreign_answer(&error, operation, url),
                ),
                kind => (kind, detail(&error)),
            }
        }
        (Failure::Transient, Some((kind, message))) => (kind, message),
        (Failure::Transient, None) => (CloudFrontErrorKind::Unavailable, detail(&error)),
        (Failure::Construction, _) => (CloudFrontErrorKind::Other, detail(&error)),
    };

    CloudFrontError {
        kind,
        code,
        message,
        source: Some(Box::new(error)),
    }
}

/// Real CloudFront has no error code of its own for a reused CallerReference: only the message
/// tells it apart from a bad path. The engine looks for the invalidation that carries the
/// reference after any InvalidArgument, so a change of wording costs only the precise message.
fn is_reused_reference(message: Option<&str>) -> bool {
    message.is_some_and(|message| message.to_ascii_lowercase().contains("caller reference"))
}

/// A service error by the modelled error it wraps (the distribution and tenant operations share
/// those types, and each operation's error wraps only the ones its model lists), else by code
/// and status.
fn classify(
    error: &(dyn std::error::Error + 'static),
    operation: &str,
    status: u16,
    code: Option<&str>,
) -> CloudFrontErrorKind {
    use CloudFrontErrorKind as Kind;
    use aws_sdk_cloudfront::types::error as modelled;
    let Some(inner) = error.source() else {
        return classify_unmodelled(code, status);
    };
    let creates = operation.starts_with("CreateInvalidation");
    if inner.is::<modelled::TooManyInvalidationsInProgress>() {
        Kind::TooManyInProgress
    } else if inner.is::<modelled::NoSuchDistribution>() || inner.is::<modelled::EntityNotFound>() {
        Kind::NoSuchDistribution
    } else if inner.is::<modelled::NoSuchInvalidation>() {
        Kind::NoSuchInvalidation
    } else if inner.is::<modelled::AccessDenied>() {
        Kind::AccessDenied
    } else if let Some(argument) = inner.downcast_ref::<modelled::InvalidArgument>()
        && creates
        && is_reused_reference(argument.message())
    {
        Kind::CallerReferenceReused
    } else if inner.is::<modelled::InvalidArgument>()
        || inner.is::<modelled::BatchTooLarge>()
        || inner.is::<modelled::InconsistentQuantities>()
        || inner.is::<modelled::MissingBody>()
    {
        Kind::InvalidRequest
    } else if operation == "CreateInvalidation" && code == Some("InvalidationBatchAlreadyExists") {
        // Not in the service model, so the SDK leaves it unhandled: only its code tells.
        Kind::CallerReferenceReused
    } else {
        classify_unmodelled(code, status)
    }
}

fn classify_unmodelled(code: Option<&str>, status: u16) -> CloudFrontErrorKind {
    match code {
        Some("AccessDenied" | "AccessDeniedException") => CloudFrontErrorKind::AccessDenied,
        _ if is_transient(code, status) => CloudFrontErrorKind::Unavailable,
        _ => CloudFrontErrorKind::Other,
    }
}
