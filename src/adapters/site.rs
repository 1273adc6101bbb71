//! The `verify` port on the AWS SDK and hyper: GetDistribution for the edge's address and the
//! origin bucket, the edge itself, and the site's bucket with the function's own credentials.

use std::time::Duration;

use crate::adapters::{error_chain, s3::s3_config};
use crate::edge::{EdgeClient, EdgeError};
use crate::freshness::EdgeAnswer;
use crate::verify::{BoxFuture, DistributionSite, Site};

pub struct SdkSite {
    cloudfront: aws_sdk_cloudfront::Client,
    s3: aws_sdk_s3::Client,
    plain: EdgeClient,
    /// https, or why this computer's certificates could not be read.
    tls: Result<EdgeClient, String>,
}

impl SdkSite {
    pub fn new(config: &aws_config::SdkConfig, cloudfront: aws_sdk_cloudfront::Client) -> Self {
        Self {
            cloudfront,
            s3: aws_sdk_s3::Client::from_conf(s3_config(config).build()),
            plain: EdgeClient::plain(),
            tls: EdgeClient::new("https://").map_err(|error| error.problem),
        }
    }
}

impl Site for SdkSite {
    fn distribution<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<DistributionSite, String>> {
        Box::pin(async move {
            let answer = self
                .cloudfront
                .get_distribution()
                .id(id)
                .send()
                .await
                .map_err(|error| {
                    format!(
                        "GetDistribution of {id} failed ({}): the function's role needs cloudfront:GetDistribution on it for \"verify\", or give \"verify\": {{\"baseUrl\": ..., \"bucket\": ...}}",
                        error_chain(&error)
                    )
                })?;
            let distribution = answer
                .distribution()
                .ok_or_else(|| format!("GetDistribution of {id} answered no distribution"))?;
            let domain = distribution.domain_name().trim();
            if domain.is_empty() {
                return Err(format!(
                    "GetDistribution of {id} answered without a DomainName: give \"verify\": {{\"baseUrl\": \"https://www.example.com\"}}"
                ));
            }
            // An emulator's edge carries a port and speaks plain http.
            let base_url = if domain.contains(':') {
                format!("http://{domain}")
            } else {
                format!("https://{domain}")
            };
            let config = distribution.distribution_config();
            let target = config
                .and_then(|c| c.default_cache_behavior())
                .map(|b| b.target_origin_id());
            let origin = config
                .and_then(|c| c.origins())
                .map(|o| o.items())
                .unwrap_or_default()
                .iter()
                .find(|o| Some(o.id()) == target);
            let (bucket, prefix) = match origin {
                Some(origin) => (
                    s3_bucket(origin.domain_name()),
                    origin
                        .origin_path()
                        .map(|p| p.trim_matches('/'))
                        .filter(|p| !p.is_empty())
                        .map(|p| format!("{p}/"))
                        .unwrap_or_default(),
                ),
                None => (None, String::new()),
            };
            Ok(DistributionSite {
                base_url,
                bucket,
                prefix,
            })
        })
    }

    fn ask<'a>(
        &'a self,
        url: &'a str,
        base_url: &'a str,
        with_body: bool,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<EdgeAnswer, EdgeError>> {
        Box::pin(async move {
            let client = if base_url.starts_with("https://") {
                self.tls.as_ref().map_err(|problem| EdgeError {
                    problem: problem.clone(),
                    timed_out: false,
                    source: None,
                })?
            } else {
                &self.plain
            };
            client.ask(url, base_url, timeout, with_body).await
        })
    }

    fn etag<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let call = self.s3.head_object().bucket(bucket).key(key).send();
            match tokio::time::timeout(timeout, call).await {
                Err(_) => Err(format!(
                    "HeadObject of s3://{bucket}/{key} did not answer in time"
                )),
                Ok(Ok(head)) => Ok(Some(head.e_tag().unwrap_or_default().to_owned())),
                Ok(Err(error)) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {
                    Ok(None)
                }
                Ok(Err(error)) => Err(format!(
                    "HeadObject of s3://{bucket}/{key} failed ({}): the function's role needs s3:GetObject on the site's bucket for \"verify\" (and s3:ListBucket, or S3 answers 403 for a missing key)",
                    error_chain(&error)
                )),
            }
        })
    }

    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let mut pages = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .into_paginator()
                .send();
            let mut keys = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|error| {
                    format!(
                        "ListObjectsV2 of s3://{bucket}/{prefix} failed ({}): the function's role needs s3:ListBucket on the site's bucket to expand a wildcard",
                        error_chain(&error)
                    )
                })?;
                for key in page.contents().iter().filter_map(|o| o.key()) {
                    if keys.len() == limit {
                        return Ok(keys);
                    }
                    keys.push(key.to_owned());
                }
            }
            Ok(keys)
        })
    }
}

/// The bucket of an S3 REST origin's domain: `BUCKET.s3.REGION.amazonaws.com`,
/// `BUCKET.s3.amazonaws.com` or `BUCKET.s3-REGION.amazonaws.com`. A website endpoint
/// (`s3-website`) or any other origin is no bucket the function can read.
pub fn s3_bucket(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('.');
    let (bucket, rest) = domain.split_once(".s3")?;
    if bucket.is_empty() || rest.starts_with("-website") || rest.starts_with(".website") {
        return None;
    }
    let amazon = rest.ends_with(".amazonaws.com") || rest.ends_with(".amazonaws.com.cn");
    amazon.then(|| bucket.to_owned())
}

#[cfg(test)]
mod tests {
    use super::s3_bucket;

    #[test]
    fn an_s3_rest_origin_names_its_bucket_and_a_website_endpoint_does_not() {
        assert_eq!(
            s3_bucket("example-site.s3.us-east-1.amazonaws.com").as_deref(),
            Some("example-site")
        );
        assert_eq!(
            s3_bucket("example.site.s3.amazonaws.com").as_deref(),
            Some("example.site")
        );
        assert_eq!(
            s3_bucket("example-site.s3-eu-west-1.amazonaws.com").as_deref(),
            Some("example-site")
        );
        assert_eq!(
            s3_bucket("example-site.s3-website-us-east-1.amazonaws.com"),
            None
        );
        assert_eq!(s3_bucket("www.example.com"), None);
    }
}
