//! Requests through a distribution's edge, as a viewer makes them: HEAD, or GET when the body is
//! compared, over http or https, each bounded by a timeout.

use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::freshness::EdgeAnswer;
use crate::ports::BoxError;
use crate::text::format_duration;

/// Why the edge gave no answer. `Display` says what happened and what to check.
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub struct EdgeError {
    pub problem: String,
    /// The edge did not answer within the timeout (as opposed to refusing the connection).
    pub timed_out: bool,
    #[source]
    pub source: Option<BoxError>,
}

impl EdgeError {
    fn new(problem: String, source: Option<BoxError>) -> Self {
        Self {
            problem,
            timed_out: false,
            source,
        }
    }
}

/// An HTTP client for one site's root, http or https.
pub struct EdgeClient {
    http: Http,
    /// The setting that gives the timeout (`--timeout`), named when the edge is too slow.
    timeout_setting: Option<&'static str>,
}

enum Http {
    Plain(Client<HttpConnector, Empty<Bytes>>),
    Tls(Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>),
}

impl EdgeClient {
    /// A client for plain http.
    pub fn plain() -> Self {
        Self {
            http: Http::Plain(Client::builder(TokioExecutor::new()).build_http()),
            timeout_setting: None,
        }
    }

    /// Names the setting that gives the timeout, in the message of an edge that is too slow.
    pub fn with_timeout_setting(mut self, setting: &'static str) -> Self {
        self.timeout_setting = Some(setting);
        self
    }

    /// A client for `base_url`: https checks the certificate against this computer's roots.
    pub fn new(base_url: &str) -> Result<Self, EdgeError> {
        if !base_url.starts_with("https://") {
            return Ok(Self::plain());
        }
        let builder = Client::builder(TokioExecutor::new());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| {
                EdgeError::new(
                    format!(
                        "cannot read this computer's trusted certificates to reach {base_url}: {error}. Install the CA certificates (ca-certificates), or set SSL_CERT_FILE"
                    ),
                    Some(Box::new(error)),
                )
            })?
            .https_only()
            .enable_http1()
            .build();
        Ok(Self {
            http: Http::Tls(builder.build(connector)),
            timeout_setting: None,
        })
    }

    /// The answer's status and the headers that tell freshness: HEAD, or GET with its body
    /// read when `with_body` (a comparison by content); `timeout` bounds the whole exchange.
    pub async fn ask(
        &self,
        url: &str,
        base_url: &str,
        timeout: Duration,
        with_body: bool,
    ) -> Result<EdgeAnswer, EdgeError> {
        let method = if with_body {
            hyper::Method::GET
        } else {
            hyper::Method::HEAD
        };
        let request = hyper::Request::builder()
            .method(method.clone())
            .uri(url)
            .header(
                hyper::header::USER_AGENT,
                format!("cf-invalidate/{}", crate::VERSION),
            )
            .body(Empty::new())
            .map_err(|error| {
                EdgeError::new(
                    format!("cannot ask the edge for {url}: {error}"),
                    Some(Box::new(error)),
                )
            })?;
        let exchange = async {
            let response = match &self.http {
                Http::Plain(client) => client.request(request).await,
                Http::Tls(client) => client.request(request).await,
            }?;
            let (parts, body) = response.into_parts();
            let body = if with_body {
                Some(http_body_util::BodyExt::collect(body).await?.to_bytes())
            } else {
                None
            };
            Ok::<_, BoxError>((parts, body))
        };
        let (response, body) = match tokio::time::timeout(timeout, exchange).await {
            Err(_) => {
                let (named, raise) = match self.timeout_setting {
                    Some(setting) => (format!(" ({setting})"), format!(", or raise {setting}")),
                    None => (String::new(), String::new()),
                };
                return Err(EdgeError {
                    problem: format!(
                        "the edge did not answer {method} {url} within {}{named}: check that {base_url} is the distribution's address and reachable from here{raise}",
                        format_duration(timeout)
                    ),
                    timed_out: true,
                    source: None,
                });
            }
            Ok(Err(error)) => {
                return Err(EdgeError::new(
                    format!(
                        "cannot reach the edge for {method} {url}: {}: check that {base_url} is the distribution's address and reachable from here",
                        crate::adapters::error_chain(&*error)
                    ),
                    Some(error),
                ));
            }
            Ok(Ok(response)) => response,
        };
        let header = |name: &str| {
            response
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        Ok(EdgeAnswer {
            status: response.status.as_u16(),
            etag: header("etag"),
            x_cache: header("x-cache"),
            age: header("age").and_then(|age| age.trim().parse().ok()),
            cache_control: header("cache-control"),
            body: body.map(|body| body.to_vec()),
        })
    }
}
