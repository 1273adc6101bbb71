//! The AWS side of the CLI: SDK configuration from the flags, and CloudFront errors told in CLI terms.

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::profile::region::ProfileFileRegionProvider;
use aws_runtime::env_config::file::EnvConfigFiles as ProfileFiles;
use aws_sdk_cloudfront::config::{ProvideCredentials, Region};
use aws_types::os_shim_internal::{Env, Fs};

use aws_config::timeout::TimeoutConfig;
use cf_invalidate::adapters::cloudfront::{SdkInvalidations, configured_endpoint};
use cf_invalidate::engine::Cause;
use cf_invalidate::params::Target;
use cf_invalidate::ports::CloudFrontErrorKind;

use super::args::AwsArgs;
use super::error::CliError;

/// CloudFront is global; the SDK still wants a region to resolve its endpoint and sign.
const FALLBACK_REGION: &str = "us-east-1";

/// The SDK configuration the flags describe, loaded (and its credentials checked) once per
/// run, when a client is first needed: a `--dry-run` needs none.
pub struct Session<'a> {
    aws: &'a AwsArgs,
    config: tokio::sync::OnceCell<aws_config::SdkConfig>,
}

impl<'a> Session<'a> {
    pub fn new(aws: &'a AwsArgs) -> Self {
        Self {
            aws,
            config: tokio::sync::OnceCell::new(),
        }
    }

    async fn config(&self) -> Result<&aws_config::SdkConfig, CliError> {
        self.config.get_or_try_init(|| load(self.aws)).await
    }

    /// The CloudFront adapter, configured the way the AWS CLI would be, with `--endpoint-url`
    /// when given; credentials are checked up front so that a missing profile is a usage error
    /// (exit 2) before anything is sent.
    pub async fn cloudfront(&self) -> Result<SdkInvalidations, CliError> {
        Ok(SdkInvalidations::new(self.cloudfront_client().await?)
            .with_endpoint(self.cloudfront_endpoint()))
    }

    /// The SDK's CloudFront client itself, for the calls the engine's port does not make
    /// (GetDistribution, an invalidation's paths).
    pub async fn cloudfront_client(&self) -> Result<aws_sdk_cloudfront::Client, CliError> {
        let mut cloudfront = aws_sdk_cloudfront::config::Builder::from(self.config().await?);
        if let Some(url) = &self.aws.endpoint_url {
            cloudfront = cloudfront.endpoint_url(url);
        }
        Ok(aws_sdk_cloudfront::Client::from_conf(cloudfront.build()))
    }

    /// Where CloudFront calls go, for messages.
    pub fn cloudfront_endpoint(&self) -> String {
        configured_endpoint(self.aws.endpoint_url.as_deref())
    }

    /// An S3 client for `--changed-between s3://...`, with the same region, profile and
    /// credentials as CloudFront. `--endpoint-url` is CloudFront's, as the AWS CLI's is one
    /// service's: S3 takes its own from `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`).
    pub async fn s3(&self) -> Result<aws_sdk_s3::Client, CliError> {
        Ok(aws_sdk_s3::Client::from_conf(
            cf_invalidate::adapters::s3::s3_config(self.config().await?).build(),
        ))
    }
}

/// The SDK configuration the flags describe, with credentials checked up front.
async fn load(aws: &AwsArgs) -> Result<aws_config::SdkConfig, CliError> {
    if let Some(url) = &aws.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(CliError::Flag {
            flag: "--endpoint-url",
            value: url.clone(),
            problem: "is not a URL: give one starting with http:// or https://, such as http://127.0.0.1:4566".to_owned(),
        });
    }
    let mut region = RegionProviderChain::first_try(aws.region.clone().map(Region::new));
    if let Some(profile) = &aws.profile {
        region = region.or_else(
            ProfileFileRegionProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    let region = region
        .or_default_provider()
        .or_else(Region::from_static(FALLBACK_REGION));
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
    if let Some(profile) = &aws.profile {
        check_profile_exists(profile).await?;
        // As the AWS CLI: an explicit --profile beats AWS_ACCESS_KEY_ID in the environment (the
        // default chain would read the environment first and sign with another account's
        // keys); AWS_PROFILE does not, so the default chain stays for it.
        loader = loader.profile_name(profile).credentials_provider(
            ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(aws.cli_connect_timeout)
        .read_timeout(aws.cli_read_timeout)
        .build();
    let config = loader.timeout_config(timeouts).load().await;
    let Some(credentials) = config.credentials_provider() else {
        return Err(CliError::Credentials {
            profile: aws.profile.clone(),
            detail: "no credentials provider is configured".to_owned(),
        });
    };
    credentials
        .provide_credentials()
        .await
        .map_err(|error| CliError::Credentials {
            profile: aws.profile.clone(),
            detail: cf_invalidate::adapters::error_chain(&error),
        })?;
    Ok(config)
}

/// A named profile must exist in the shared config or credentials file, as the AWS CLI demands.
async fn check_profile_exists(profile: &str) -> Result<(), CliError> {
    let env = Env::real();
    let profiles = aws_config::profile::load(&Fs::real(), &env, &ProfileFiles::default(), None)
        .await
        .map_err(|error| CliError::Credentials {
            profile: Some(profile.to_owned()),
            detail: cf_invalidate::adapters::error_chain(&error),
        })?;
    if profiles.get_profile(profile).is_none() {
        let path = |var: &str, default: &str| env.get(var).unwrap_or_else(|_| default.to_owned());
        return Err(CliError::UnknownProfile {
            profile: profile.to_owned(),
            searched: format!(
                "{} and {}",
                path("AWS_CONFIG_FILE", "~/.aws/config"),
                path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
            ),
        });
    }
    Ok(())
}

/// The distribution's ARN: CloudFront's AccessDenied message names it with the account id, which
/// the CLI does not otherwise know; without it, a placeholder the reader fills in.
pub fn distribution_arn(distribution: &Target, cloudfront_message: &str) -> String {
    let placeholder = distribution.arn("<account-id>");
    let suffix = placeholder
        .split_once("<account-id>")
        .map_or(String::new(), |(_, suffix)| suffix.to_owned());
    cloudfront_message
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\''))
        .map(|word| word.trim_end_matches(['.', ')']))
        .find(|word| {
            word.starts_with("arn:") && word.contains(":cloudfront::") && word.ends_with(&suffix)
        })
        .map(str::to_owned)
        .unwrap_or(placeholder)
}

/// What went wrong with `distribution`, and what to do about it, for a person at a shell or
/// reading a build log. `invalidation_id` is the one being waited for, if any.
pub fn explain(
    error: &Cause,
    distribution: &Target,
    invalidation_id: Option<&str>,
    caller_reference: Option<&str>,
) -> String {
    let said = &error.message;
    let code = error.code.as_deref().unwrap_or("error");
    match error.kind {
        CloudFrontErrorKind::AccessDenied => {
            let arn = distribution_arn(distribution, said);
            let [create, get, list] = distribution.iam_actions();
            format!(
                "access denied: these AWS credentials may not call {action} on {arn}. Allow {create}, {get} and {list} on {arn} for the role or user that runs cf-invalidate (in CodeBuild: the project's service role). If {distribution} is not the id you meant, correct it: a policy limited to some {noun}s' ARNs refuses any other id this way before CloudFront looks it up. CloudFront said: {said}",
                action = error.operation.iam_action(distribution),
                noun = distribution.noun()
            )
        }
        CloudFrontErrorKind::NoSuchDistribution if distribution.is_tenant() => format!(
            "CloudFront has no distribution tenant {distribution} ({code}): check --distribution-tenant-id (or CF_DISTRIBUTION_TENANT_ID), and that these credentials belong to the tenant's AWS account"
        ),
        CloudFrontErrorKind::NoSuchDistribution => format!(
            "CloudFront has no distribution {distribution} (NoSuchDistribution): check --distribution-id (or CF_DISTRIBUTION_ID), and that these credentials belong to the distribution's AWS account. If {distribution} is a multi-tenant distribution, CloudFront answers this for the distribution itself: invalidate its tenants with --distribution-tenant-id instead"
        ),
        CloudFrontErrorKind::NoSuchInvalidation => format!(
            "CloudFront has no invalidation {} on distribution {distribution} (NoSuchInvalidation): check --id and --distribution-id; `cf-invalidate list --distribution-id {distribution}` shows the recent ones",
            invalidation_id.unwrap_or("?")
        ),
        CloudFrontErrorKind::InvalidRequest => {
            format!("CloudFront refused the request for {distribution} ({code}): {said}")
        }
        CloudFrontErrorKind::CallerReferenceReused => format!(
            "CloudFront refused CallerReference {} on {distribution}: it was used for an earlier invalidation batch of that distribution ({code}: {said}), and none of its {limit} newest invalidations carries it, so it is not this run's. Give --caller-reference a value unique to each deployment, such as \"$CODEBUILD_BUILD_ID\", or leave it out",
            caller_reference.unwrap_or("?"),
            limit = cf_invalidate::engine::REFERENCE_SEARCH_LIMIT
        ),
        CloudFrontErrorKind::Unreachable | CloudFrontErrorKind::NotCloudFront => format!(
            "{said}. Check --endpoint-url (or AWS_ENDPOINT_URL_CLOUDFRONT), the network and any proxy; without them the CLI talks to https://cloudfront.amazonaws.com"
        ),
        CloudFrontErrorKind::Unavailable => format!(
            "CloudFront kept failing for {distribution}: {said}. Run the command again later; with the same --caller-reference, a run that already created the invalidation gets it back instead of paying twice"
        ),
        CloudFrontErrorKind::NoAnswer { within } => format!(
            "CloudFront kept failing for {distribution}: {} did not answer within {}. Run the command again later; with the same --caller-reference, a run that already created the invalidation gets it back instead of paying twice",
            error.operation.iam_action(distribution),
            cf_invalidate::text::format_duration(within)
        ),
        CloudFrontErrorKind::TooManyInProgress | CloudFrontErrorKind::Other => format!(
            "{} failed for {distribution} ({code}): {said}",
            error.operation.iam_action(distribution)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist() -> Target {
        Target::parse("EDENIED0000001").expect("id")
    }

    #[test]
    fn the_arn_comes_from_cloudfront_when_it_names_it() {
        let said = "User: arn:aws:sts::000000000000:assumed-role/r/s is not authorized to perform: cloudfront:CreateInvalidation on resource: arn:aws:cloudfront::000000000000:distribution/EDENIED0000001 because no identity-based policy allows it";
        assert_eq!(
            distribution_arn(&dist(), said),
            "arn:aws:cloudfront::000000000000:distribution/EDENIED0000001"
        );
        assert_eq!(
            distribution_arn(&dist(), "Access denied."),
            "arn:aws:cloudfront::<account-id>:distribution/EDENIED0000001"
        );
    }

    #[test]
    fn access_denied_names_the_action_and_the_arn() {
        let error = Cause {
            operation: cf_invalidate::engine::Operation::Get,
            kind: CloudFrontErrorKind::AccessDenied,
            code: Some("AccessDenied".to_owned()),
            message: "Access denied".to_owned(),
        };
        let text = explain(&error, &dist(), Some("I1"), None);
        assert!(
            text.starts_with("access denied: these AWS credentials may not call cloudfront:GetInvalidation on arn:aws:cloudfront::<account-id>:distribution/EDENIED0000001."),
            "{text}"
        );
    }

    /// A poll that hangs is blamed on GetInvalidation, not on the CreateInvalidation before it.
    #[test]
    fn a_call_without_an_answer_names_its_operation_and_the_limit() {
        let error = Cause {
            operation: cf_invalidate::engine::Operation::Get,
            kind: CloudFrontErrorKind::NoAnswer {
                within: std::time::Duration::from_secs(20),
            },
            code: None,
            message: String::new(),
        };
        let text = explain(&error, &dist(), Some("I1"), None);
        assert!(
            text.starts_with("CloudFront kept failing for EDENIED0000001: cloudfront:GetInvalidation did not answer within 20s. Run the command again later"),
            "{text}"
        );
        assert!(!text.contains("CreateInvalidation"), "{text}");
    }
}
