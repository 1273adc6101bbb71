//! Log set-up shared by the binaries: Lambda's own switches, and never the job event's secrets.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{Directive, LevelFilter};

/// lambda_runtime prints the raw event, `artifactCredentials` included, at TRACE under this target.
const RAW_EVENT_TARGET_CAP: &str = "lambda_runtime::layers::api_response=debug";

/// The effective filter: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`; the raw-event log always off.
pub fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let spec = lambda_level
        .map(lambda_level_directive)
        .or(rust_log.map(str::to_owned))
        .unwrap_or_else(|| "info".to_owned());
    let cap: Directive = RAW_EVENT_TARGET_CAP
        .parse()
        .unwrap_or_else(|_| LevelFilter::DEBUG.into());
    EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(spec)
        .add_directive(cap)
}

/// Lambda's levels are TRACE, DEBUG, INFO, WARN, ERROR and FATAL; tracing has no FATAL.
fn lambda_level_directive(level: &str) -> String {
    match level.trim().to_ascii_lowercase().as_str() {
        "fatal" => "error".to_owned(),
        other => other.to_owned(),
    }
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
    fn the_raw_event_target_stays_capped_whatever_the_level() {
        for (lambda, rust) in [
            (Some("TRACE"), None),
            (None, Some("trace")),
            (None, Some("lambda_runtime=trace")),
            (Some("trace"), Some("info")),
        ] {
            let text = filter(lambda, rust).to_string();
            assert!(
                text.contains("lambda_runtime::layers::api_response=debug"),
                "{lambda:?} {rust:?} gave {text}"
            );
        }
    }

    #[test]
    fn lambda_level_wins_over_rust_log_and_fatal_means_error() {
        assert!(
            filter(Some("FATAL"), Some("trace"))
                .to_string()
                .contains("error")
        );
        assert!(
            !filter(Some("FATAL"), Some("trace"))
                .to_string()
                .contains("trace")
        );
        assert!(filter(None, None).to_string().contains("info"));
    }
}
