//! The CodePipeline Lambda invoke action: `bootstrap` for the `provided.al2023` runtime.

use aws_config::BehaviorVersion;
use cf_invalidate::adapters::cloudfront::{SdkInvalidations, configured_endpoint};
use cf_invalidate::adapters::codepipeline::SdkJobReport;
use cf_invalidate::adapters::s3::SdkArtifacts;
use cf_invalidate::adapters::site::SdkSite;
use cf_invalidate::engine::EngineSettings;
use cf_invalidate::lambda::Handler;
use cf_invalidate::ports::SystemClock;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    cf_invalidate::logging::start("cf-invalidate-lambda");
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let mut handler = Handler::new(
        SdkInvalidations::new(cloudfront.clone()).with_endpoint(configured_endpoint(None)),
        SdkJobReport::new(codepipeline.clone()),
        SdkArtifacts::new(&config, codepipeline),
        SystemClock,
        EngineSettings::default(),
    );
    handler.site = Some(Arc::new(SdkSite::new(&config, cloudfront)));
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = Some(event.context.deadline);
        // Boxed: the handler's future is deep enough to overflow the compiler's layout query.
        Box::pin(handler.handle(event.payload, deadline)).await
    }))
    .await
}
