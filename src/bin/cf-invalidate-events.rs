//! The S3-events function: `bootstrap` for the `provided.al2023` runtime. An SQS event source
//! mapping (or S3 and EventBridge directly) invokes it with uploads and deletes.

use aws_config::BehaviorVersion;
use cf_invalidate::adapters::cloudfront::{SdkInvalidations, configured_endpoint};
use cf_invalidate::engine::{Engine, EngineSettings};
use cf_invalidate::events::EventsFunction;
use cf_invalidate::events::incoming::Envelope;
use cf_invalidate::params::events::{VARIABLE, parse_events_parameters};
use cf_invalidate::ports::SystemClock;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use lambda_runtime_api_client::body::Body;
use tracing::error;

/// The error type of a configuration the function refuses: in its log line and its init error.
const CONFIGURATION_ERROR: &str = "CfInvalidate.ConfigurationError";

#[tokio::main]
async fn main() -> Result<(), Error> {
    cf_invalidate::logging::start("cf-invalidate-events");
    let params = match parse_events_parameters(std::env::var(VARIABLE).ok().as_deref()) {
        Ok(params) => params,
        Err(problem) => {
            error!(error_type = CONFIGURATION_ERROR, "{problem}");
            report_init_error(&problem.to_string()).await;
            std::process::exit(1);
        }
    };
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let function = EventsFunction::new(
        Engine {
            cloudfront: SdkInvalidations::new(aws_sdk_cloudfront::Client::new(&config))
                .with_endpoint(configured_endpoint(None)),
            clock: SystemClock,
            settings: EngineSettings::default(),
        },
        params,
    );
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Envelope>| async move {
        let deadline = Some(event.context.deadline);
        // Boxed: the future is deep enough to overflow the compiler's layout query.
        Box::pin(function.handle(event.payload, deadline))
            .await
            .map(|(response, _summary)| response)
    }))
    .await
}

/// Tells Lambda why the function cannot start (`Runtime.InitError` in the console and logs),
/// before the process exits; lambda_runtime has no public call for it.
async fn report_init_error(message: &str) {
    let diagnostic = serde_json::json!({
        "errorType": CONFIGURATION_ERROR,
        "errorMessage": message,
    });
    let request = lambda_runtime_api_client::build_request()
        .method(http::Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .body(Body::from(diagnostic.to_string()));
    let sent = match (
        lambda_runtime_api_client::Client::builder().build(),
        request,
    ) {
        (Ok(client), Ok(request)) => client.call(request).await.map(|_| ()),
        (Err(problem), _) => Err(problem.into()),
        (_, Err(problem)) => Err(problem.into()),
    };
    if let Err(problem) = sent {
        error!(error = %problem, "could not report the init error to the Runtime API");
    }
}
