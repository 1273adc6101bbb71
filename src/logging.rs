//! Log set-up shared by the binaries: Lambda's own switches, and never the job event's secrets.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{Directive, LevelFilter};

/// Targets whose logs would hold the job's credentials, each with the most it may log.
/// lambda_runtime prints the raw event, `artifactCredentials` included, at TRACE. The SDK's
/// orchestrator and signer print the resolved identity (the `Credentials`' Debug shows the access
/// key id; only the secret and the token are redacted) at DEBUG and TRACE, in the runtime
/// components, the endpoint parameters' property bag and the signing request: for the S3 reads
/// of `pathsFromArtifact` that identity is the job's `artifactCredentials`. So the SDK's crates
/// log at INFO at most, whatever `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` ask; the function's own
/// DEBUG and TRACE lines are unaffected.
const SECRET_BEARING_TARGETS: &[(&str, LevelFilter)] = &[
    ("lambda_runtime::layers::api_response", LevelFilter::DEBUG),
    ("aws_smithy_runtime", LevelFilter::INFO),
    ("aws_smithy_runtime_api", LevelFilter::INFO),
    ("aws_smithy_http", LevelFilter::INFO),
    ("aws_smithy_http_client", LevelFilter::INFO),
    ("aws_smithy_types", LevelFilter::INFO),
    ("aws_runtime", LevelFilter::INFO),
    ("aws_sigv4", LevelFilter::INFO),
    ("aws_credential_types", LevelFilter::INFO),
    ("aws_config", LevelFilter::INFO),
    ("aws_sdk_s3", LevelFilter::INFO),
    ("aws_sdk_cloudfront", LevelFilter::INFO),
    ("aws_sdk_codepipeline", LevelFilter::INFO),
];

/// The effective filter: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`; the targets that
/// would print the job's credentials always capped ([`SECRET_BEARING_TARGETS`]).
pub fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let spec = lambda_level
        .map(lambda_level_directive)
        .or(rust_log.map(str::to_owned))
        .unwrap_or_else(|| "info".to_owned());
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(spec);
    // Added after the user's directives: for the same target, the later directive wins.
    SECRET_BEARING_TARGETS
        .iter()
        .filter_map(|(target, level)| format!("{target}={level}").parse::<Directive>().ok())
        .fold(filter, EnvFilter::add_directive)
}

/// Lambda's levels are TRACE, DEBUG, INFO, WARN, ERROR and FATAL; tracing has no FATAL.
fn lambda_level_directive(level: &str) -> String {
    match level.trim().to_ascii_lowercase().as_str() {
        "fatal" => "error".to_owned(),
        other => other.to_owned(),
    }
}

/// Logging from Lambda's variables, then the first line: which build of `function` starts.
pub fn start(function: &str) {
    init_from_env();
    tracing::info!(
        version = crate::VERSION,
        commit = crate::COMMIT,
        "{function} starting"
    );
}

/// Installs the global subscriber, writing to stdout as Lambda expects. JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`.
pub fn init_from_env() {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|format| format.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    let filter = filter(lambda_level.as_deref(), rust_log.as_deref());
    // CloudWatch shows colour codes as raw escapes: the function never writes them.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stdout);
    // Another subscriber may already be installed (tests): keep it.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.without_time().try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_targets_that_would_print_credentials_stay_capped_whatever_the_level() {
        for (lambda, rust) in [
            (Some("TRACE"), None),
            (None, Some("trace")),
            (None, Some("lambda_runtime=trace")),
            (None, Some("aws_smithy_runtime=trace,aws_sigv4=debug")),
            (Some("trace"), Some("info")),
        ] {
            let text = filter(lambda, rust).to_string();
            for (target, level) in SECRET_BEARING_TARGETS {
                assert!(
                    text.contains(&format!("{target}={level}")),
                    "{lambda:?} {rust:?} gave {text}"
                );
            }
            assert!(!text.contains("aws_smithy_runtime=trace"), "{text}");
            assert!(!text.contains("aws_sigv4=debug"), "{text}");
        }
    }

    #[test]
    fn lambda_level_wins_over_rust_log_and_fatal_means_error() {
        let fatal = filter(Some("FATAL"), Some("trace")).to_string();
        assert!(
            fatal.contains("error") && !fatal.contains("trace"),
            "{fatal}"
        );
        assert!(filter(None, None).to_string().contains("info"));
    }
}
