//! A viewer of the deployed site: GETs through the edge over HTTP, and which deploy's version
//! each answer carries, so that a run shows stale before `Completed` and fresh after.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::Serialize;

use super::deploy::{DeployTarget, SiteFile};

/// How long a viewer waits for the edge's whole answer.
const VIEW_TIMEOUT: Duration = Duration::from_secs(10);

/// What the edge answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl ViewerReply {
    /// A header's value (the first, matched in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut headers = self.headers.iter();
        let found = headers.find(|(k, _)| k.eq_ignore_ascii_case(name));
        found.map(|(_, v)| v.as_str())
    }

    /// `Age` in seconds, when sent and a number.
    pub fn age(&self) -> Option<u64> {
        self.header("age")?.trim().parse().ok()
    }
}

/// local-aws (an edge, or its S3) could not be asked, or did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    #[error("cannot connect to {addr}: {source}; is the emulator still running?")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("'{path}' is not a path an HTTP request can carry: {source}")]
    Request {
        path: String,
        #[source]
        source: hyper::http::Error,
    },
    #[error("{method} http://{addr}{path} failed: {source}")]
    Http {
        method: String,
        addr: SocketAddr,
        path: String,
        #[source]
        source: hyper::Error,
    },
    #[error("{method} http://{addr}{path} got no answer within {}s", VIEW_TIMEOUT.as_secs())]
    TimedOut {
        method: String,
        addr: SocketAddr,
        path: String,
    },
}

/// A viewer's `GET path` to the edge at `addr`, over HTTP/1.1; `path` is sent as written, so
/// it must be percent-encoded as a URL carries it (`/caf%C3%A9.html`).
pub async fn get(addr: SocketAddr, path: &str) -> Result<ViewerReply, ViewerError> {
    request(addr, hyper::Method::GET, path, Bytes::new()).await
}

/// One HTTP/1.1 request to local-aws at `addr` (an edge, or its S3 REST API), on a connection
/// of its own, within 10 s.
pub async fn request(
    addr: SocketAddr,
    method: hyper::Method,
    path: &str,
    body: Bytes,
) -> Result<ViewerReply, ViewerError> {
    let timed_out = || ViewerError::TimedOut {
        method: method.to_string(),
        addr,
        path: path.to_string(),
    };
    tokio::time::timeout(VIEW_TIMEOUT, exchange(addr, &method, path, body))
        .await
        .unwrap_or_else(|_| Err(timed_out()))
}

async fn exchange(
    addr: SocketAddr,
    method: &hyper::Method,
    path: &str,
    body: Bytes,
) -> Result<ViewerReply, ViewerError> {
    let http = |source| ViewerError::Http {
        method: method.to_string(),
        addr,
        path: path.to_string(),
        source,
    };
    let request = hyper::Request::builder()
        .method(method.clone())
        .uri(path)
        .header(hyper::header::HOST, addr.to_string())
        .body(Full::new(body))
        .map_err(|source| ViewerError::Request {
            path: path.to_string(),
            source,
        })?;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|source| ViewerError::Connect { addr, source })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    let driver = tokio::spawn(connection);
    let answer = async {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let headers = (response.headers().iter())
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(ViewerReply {
            status,
            headers,
            body,
        })
    }
    .await;
    driver.abort();
    answer.map_err(http)
}

/// `--view PATH`: a path as a URL carries it.
pub(crate) fn view_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "invalid view path '{text}': begin it with '/', as in a URL (/index.html)"
        ));
    }
    match text.parse::<hyper::Uri>() {
        Ok(_) => Ok(text.to_string()),
        Err(_) => Err(format!(
            "invalid view path '{text}': percent-encode what a URL cannot carry as written (a space is %20, é is %C3%A9)"
        )),
    }
}

/// The first line of a text body, cut to 40 characters, so that a line of the timeline shows
/// which version was served.
fn body_head(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let head = crate::text::shorten(line, 40);
    (!head.is_empty()).then_some(head)
}

/// When the viewers look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum ViewMoment {
    /// After the previous execution deployed its artifact (viewers look twice).
    AfterPreviousDeploy,
    /// After this execution's deploy, before the action runs.
    AfterDeploy,
    /// When job `job` says it is still in progress.
    JobInProgress { job: u32 },
    /// After the action's verdict.
    AfterVerdict,
}

impl fmt::Display for ViewMoment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AfterPreviousDeploy => f.write_str("after the previous execution's deploy"),
            Self::AfterDeploy => f.write_str("after this execution's deploy"),
            Self::JobInProgress { job } => write!(f, "while job {job} is in progress"),
            Self::AfterVerdict => f.write_str("after the verdict"),
        }
    }
}

/// Whose version of the file the edge served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServedVersion {
    /// This execution's artifact's (and not the previous one's).
    Current,
    /// The previous execution's artifact's, which this execution's changed: stale.
    Previous,
    /// The same in both artifacts.
    Unchanged,
    /// Neither artifact's.
    Other,
    /// Not a 200 answer.
    NotServed,
}

/// One viewer's GET and what it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewReport {
    pub at_ms: u64,
    pub moment: ViewMoment,
    pub path: String,
    /// The status, `None` when the edge did not answer (see `error`).
    pub status: Option<u16>,
    pub x_cache: Option<String>,
    pub age: Option<u64>,
    /// The body's first line, up to 40 characters, when it is text.
    pub body_head: Option<String>,
    /// Whose file the body is.
    pub version: ServedVersion,
    /// Whether the body is what the origin held for the key at that moment (`None` when
    /// nothing was served).
    pub fresh: Option<bool>,
    pub error: Option<String>,
    /// The request log's record of this GET at the edge.
    pub request_seq: Option<u64>,
}

impl ViewReport {
    /// `GET /index.html -> 200, Hit from cloudfront, Age 3: the previous deploy's version (stale)`.
    pub fn describe(&self) -> String {
        let Some(status) = self.status else {
            let error = self.error.as_deref().unwrap_or("no answer");
            return format!("viewer GET {} -> {error}", self.path);
        };
        let mut text = format!("viewer GET {} -> {status}", self.path);
        if let Some(head) = &self.body_head {
            text.push_str(&format!(" {head:?}"));
        }
        if let Some(x_cache) = &self.x_cache {
            text.push_str(&format!(", {x_cache}"));
        }
        if let Some(age) = self.age {
            text.push_str(&format!(", Age {age}"));
        }
        let version = match self.version {
            ServedVersion::Current => "this artifact's file",
            ServedVersion::Previous => "the previous artifact's file",
            ServedVersion::Unchanged => "the file of both artifacts",
            ServedVersion::Other => "another file than this artifact's",
            ServedVersion::NotServed => return text,
        };
        let freshness = match self.fresh {
            Some(true) => ", fresh",
            Some(false) => ", STALE (the origin holds another)",
            None => "",
        };
        format!("{text}: {version}{freshness}")
    }
}

/// The viewers of one run: the edge serving the deploy bucket, and the deployed files to tell
/// versions apart.
pub(crate) struct Viewers {
    pub addr: SocketAddr,
    pub paths: Vec<String>,
    pub default_root_object: Option<String>,
    /// Object key to body, for each deploy.
    pub current: BTreeMap<String, Vec<u8>>,
    pub previous: BTreeMap<String, Vec<u8>>,
}

impl Viewers {
    pub fn new(
        addr: SocketAddr,
        paths: Vec<String>,
        default_root_object: Option<String>,
        target: &DeployTarget,
        current: &[SiteFile],
        previous: &[SiteFile],
    ) -> Self {
        let keyed = |files: &[SiteFile]| {
            let files = files.iter();
            files
                .map(|f| (target.key(&f.name), f.body.clone()))
                .collect()
        };
        Self {
            addr,
            paths,
            default_root_object,
            current: keyed(current),
            previous: keyed(previous),
        }
    }

    /// Each path requested once, in order; `origin` gives the body the origin holds for a key.
    pub async fn look(
        &self,
        moment: ViewMoment,
        at_ms: impl Fn() -> u64,
        origin: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> Vec<ViewReport> {
        let mut reports = Vec::with_capacity(self.paths.len());
        for path in &self.paths {
            let answer = get(self.addr, path).await;
            let mut report = ViewReport {
                at_ms: at_ms(),
                moment,
                path: path.clone(),
                status: None,
                x_cache: None,
                age: None,
                body_head: None,
                version: ServedVersion::NotServed,
                fresh: None,
                error: None,
                request_seq: None,
            };
            match answer {
                Ok(reply) => {
                    report.status = Some(reply.status);
                    report.x_cache = reply.header("x-cache").map(str::to_string);
                    report.age = reply.age();
                    report.body_head = body_head(&reply.body);
                    if reply.status == 200 {
                        let key = self.key_of(path);
                        report.version = self.version_of(&key, &reply.body);
                        report.fresh = Some(origin(&key).as_deref() == Some(&reply.body[..]));
                    }
                }
                Err(error) => report.error = Some(error.to_string()),
            }
            reports.push(report);
        }
        reports
    }

    /// The object key the edge reads for `path`, by the edge's rules: no query string, the
    /// path percent-decoded, `/` the default root object.
    pub fn key_of(&self, path: &str) -> String {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let decoded = cf_invalidate::text::percent_decode(path, false);
        let key = decoded.as_deref().unwrap_or(path).trim_start_matches('/');
        match (key, &self.default_root_object) {
            ("", Some(root)) => root.clone(),
            _ => key.to_string(),
        }
    }

    /// Which deploy's file `body` is, for `key`.
    fn version_of(&self, key: &str, body: &[u8]) -> ServedVersion {
        let current = self.current.get(key).map(Vec::as_slice);
        let previous = self.previous.get(key).map(Vec::as_slice);
        match (current == Some(body), previous == Some(body)) {
            (true, true) => ServedVersion::Unchanged,
            (true, false) => ServedVersion::Current,
            (false, true) => ServedVersion::Previous,
            (false, false) => ServedVersion::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_path_is_a_path_a_url_carries() {
        assert_eq!(view_path("/caf%C3%A9.html"), Ok("/caf%C3%A9.html".into()));
        assert!(view_path("index.html").is_err_and(|e| e.contains("begin it with '/'")));
        assert!(view_path("/a b.html").is_err_and(|e| e.contains("a space is %20")));
    }

    #[test]
    fn the_version_is_told_by_the_key_the_edge_reads() {
        let target = DeployTarget {
            bucket: "site".into(),
            prefix: String::new(),
        };
        let file = |name: &str, body: &str| SiteFile {
            name: name.into(),
            body: body.as_bytes().to_vec(),
        };
        let viewers = Viewers::new(
            "127.0.0.1:9"
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 9))),
            Vec::new(),
            Some("index.html".into()),
            &target,
            &[file("caf\u{e9}.html", "v2"), file("index.html", "home")],
            &[file("caf\u{e9}.html", "v1"), file("index.html", "home")],
        );
        let version = |path: &str, body: &[u8]| viewers.version_of(&viewers.key_of(path), body);
        assert_eq!(viewers.key_of("/caf%C3%A9.html?x=1"), "caf\u{e9}.html");
        assert_eq!(
            version("/caf%C3%A9.html?x=1", b"v1"),
            ServedVersion::Previous
        );
        assert_eq!(version("/caf%C3%A9.html", b"v2"), ServedVersion::Current);
        assert_eq!(version("/", b"home"), ServedVersion::Unchanged);
        assert_eq!(version("/other.html", b"v2"), ServedVersion::Other);
    }
}
