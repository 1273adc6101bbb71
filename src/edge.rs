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

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener on 127.0.0.1 that accepts and then, per `answer`, writes bytes or stays silent.
    async fn listener(answer: Option<&'static [u8]>) -> std::net::SocketAddr {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                if let Some(bytes) = answer {
                    let _ = socket.write_all(bytes).await;
                }
                // Held open until the client gives up.
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(socket);
            }
        });
        addr
    }

    /// GIVEN an https site whose server speaks plain HTTP WHEN asked THEN the TLS client refuses,
    /// and the message names the URL and what to check.
    #[tokio::test]
    async fn https_goes_through_tls_and_a_plain_server_is_refused_clearly() {
        let addr = listener(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")).await;
        let base = format!("https://{addr}");
        let client = EdgeClient::new(&base).expect("this computer's certificates");
        let url = format!("{base}/index.html");
        let error = client
            .ask(&url, &base, Duration::from_secs(5), false)
            .await
            .expect_err("no TLS handshake");
        assert!(!error.timed_out);
        assert!(
            error
                .problem
                .starts_with(&format!("cannot reach the edge for HEAD {url}: ")),
            "{}",
            error.problem
        );
        assert!(
            error.problem.ends_with(&format!(
                "check that {base} is the distribution's address and reachable from here"
            )),
            "{}",
            error.problem
        );
    }

    /// GIVEN an https edge that accepts and never answers WHEN asked THEN it ends at the timeout,
    /// naming the setting that gave it.
    #[tokio::test]
    async fn a_silent_https_edge_ends_at_the_timeout() {
        let addr = listener(None).await;
        let base = format!("https://{addr}");
        let client = EdgeClient::new(&base)
            .expect("this computer's certificates")
            .with_timeout_setting("--timeout");
        let url = format!("{base}/a.html");
        let started = std::time::Instant::now();
        let error = client
            .ask(&url, &base, Duration::from_secs(1), true)
            .await
            .expect_err("silence");
        assert!(error.timed_out);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            error.problem,
            format!(
                "the edge did not answer GET {url} within 1s (--timeout): check that {base} is the distribution's address and reachable from here, or raise --timeout"
            )
        );
    }
}
