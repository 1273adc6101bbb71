//! The CodePipeline Lambda invoke action: `bootstrap` for the `provided.al2023` runtime.

use aws_config::BehaviorVersion;
use cf_invalidate::adapters::cloudfront::{SdkInvalidations, configured_endpoint};
use cf_invalidate::adapters::codepipeline::SdkJobReport;
use cf_invalidate::adapters::s3::SdkArtifacts;
use cf_invalidate::engine::EngineSettings;
use cf_invalidate::lambda::Handler;
use cf_invalidate::ports::SystemClock;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    cf_invalidate::logging::start("cf-invalidate-lambda");
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let codepipeline = aws_sdk_codepipeline::Client::new(&config);
    let handler = Handler::new(
        SdkInvalidations::new(aws_sdk_cloudfront::Client::new(&config))
            .with_endpoint(configured_endpoint(None)),
        SdkJobReport::new(codepipeline.clone()),
        SdkArtifacts::new(&config, codepipeline),
        SystemClock,
        EngineSettings::default(),
    );
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = Some(event.context.deadline);
        // Boxed: the handler's future is deep enough to overflow the compiler's layout query.
        Box::pin(handler.handle(event.payload, deadline)).await
    }))
    .await
}
