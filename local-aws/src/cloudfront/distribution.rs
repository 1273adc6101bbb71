//! GetDistribution: a declared distribution as CloudFront describes it, with the viewer address
//! of its edge as its `DomainName` when it has an origin.

use md5::{Digest, Md5};
use serde::Serialize;

use super::{CfContext, ConnectionMode, DistributionConfig, InvalidationStatus, NAMESPACE};
use crate::clock::iso8601;
use crate::reply::Reply;
use crate::xml;

/// The id of the managed cache policy CachingOptimized, which the edge follows.
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";

/// The `<Distribution>` document and its `ETag` header.
pub(super) fn reply(config: &DistributionConfig, in_progress: usize, ctx: &CfContext<'_>) -> Reply {
    let id = &config.id;
    let origin_id = config.origin.as_ref().map(|bucket| format!("S3-{bucket}"));
    let origins: Vec<Origin> = (config.origin.iter())
        .zip(&origin_id)
        .map(|(bucket, origin_id)| Origin {
            id: origin_id.clone(),
            domain_name: format!("{bucket}.s3.{}.amazonaws.com", ctx.region),
            origin_path: String::new(),
            s3_origin_config: S3OriginConfig {
                origin_access_identity: String::new(),
            },
        })
        .collect();
    let domain_name = match ctx.edges.get(id) {
        Some(addr) => addr.to_string(),
        None => format!("d{}.cloudfront.net", id.to_ascii_lowercase()),
    };
    let document = Distribution {
        xmlns: NAMESPACE,
        id,
        arn: format!("arn:aws:cloudfront::{}:distribution/{id}", ctx.account_id),
        status: "Deployed",
        last_modified_time: iso8601(ctx.clock.wall_at(std::time::Duration::ZERO)),
        in_progress_invalidation_batches: in_progress,
        domain_name,
        distribution_config: Config {
            caller_reference: format!("local-aws-{id}"),
            aliases: Quantity { quantity: 0 },
            default_root_object: config.default_root_object.clone().unwrap_or_default(),
            origins: Origins {
                quantity: origins.len(),
                items: OriginItems { origin: origins },
            },
            default_cache_behavior: DefaultCacheBehavior {
                target_origin_id: origin_id.unwrap_or_default(),
                viewer_protocol_policy: "allow-all",
                cache_policy_id: CACHING_OPTIMIZED,
            },
            comment: String::new(),
            enabled: true,
            connection_mode: match config.connection_mode {
                ConnectionMode::Direct => "direct",
                ConnectionMode::TenantOnly => "tenant-only",
            },
            cache_tag_config: (config.cache_tag_header.clone())
                .map(|header_name| CacheTagConfig { header_name }),
        },
    };
    let digest = cf_invalidate::text::hex(&Md5::digest(format!("{config:?}").as_bytes()));
    let etag = format!("E{}", digest[..13].to_ascii_uppercase());
    xml::reply(200, &document).with_header("ETag", etag)
}

/// How many of the invalidations are in progress.
pub(super) fn count_in_progress(statuses: impl IntoIterator<Item = InvalidationStatus>) -> usize {
    statuses
        .into_iter()
        .filter(|s| *s == InvalidationStatus::InProgress)
        .count()
}

// The document, element for element in the service model's order.

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Distribution<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    id: &'a str,
    #[serde(rename = "ARN")]
    arn: String,
    status: &'static str,
    last_modified_time: String,
    in_progress_invalidation_batches: usize,
    domain_name: String,
    distribution_config: Config,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Config {
    caller_reference: String,
    aliases: Quantity,
    default_root_object: String,
    origins: Origins,
    default_cache_behavior: DefaultCacheBehavior,
    comment: String,
    enabled: bool,
    connection_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_tag_config: Option<CacheTagConfig>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Quantity {
    quantity: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Origins {
    quantity: usize,
    items: OriginItems,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OriginItems {
    origin: Vec<Origin>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Origin {
    id: String,
    domain_name: String,
    origin_path: String,
    #[serde(rename = "S3OriginConfig")]
    s3_origin_config: S3OriginConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct S3OriginConfig {
    origin_access_identity: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DefaultCacheBehavior {
    target_origin_id: String,
    viewer_protocol_policy: &'static str,
    cache_policy_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CacheTagConfig {
    header_name: String,
}
