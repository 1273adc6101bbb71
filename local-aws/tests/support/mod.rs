//! Helpers shared by the integration tests: a plain HTTP client and the AWS CLI runner.
#![allow(dead_code)]

mod tools;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response read by [`http`].
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of the first `<Name>` element.
    pub fn xml(&self, name: &str) -> Option<String> {
        xml_text(&self.body, name)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The text of the first `<name>` element of `doc`.
pub fn xml_text(doc: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&close)? + start;
    Some(doc[start..end].to_string())
}

/// Every `<name>` text of `doc`, in order.
pub fn xml_all(doc: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

/// One request on a fresh connection. `Err` when the connection closes without a response.
pub async fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<HttpReply, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(HttpReply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// One request that must get a response.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpReply {
    match try_http(addr, method, path, headers, body).await {
        Ok(r) => r,
        Err(e) => panic!("{method} {path}: no response: {e}"),
    }
}

/// An InvalidationBatch document.
pub fn batch_xml(paths: &[&str], caller_reference: &str) -> String {
    let items: String = paths
        .iter()
        .map(|p| {
            format!(
                "<Path>{}</Path>",
                p.replace('&', "&amp;").replace('<', "&lt;")
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Paths><Quantity>{}</Quantity><Items>{items}</Items></Paths><CallerReference>{caller_reference}</CallerReference></InvalidationBatch>",
        paths.len()
    )
}

/// POSTs a CreateInvalidation.
pub async fn create(
    addr: SocketAddr,
    dist: &str,
    paths: &[&str],
    caller_reference: &str,
) -> HttpReply {
    http(
        addr,
        "POST",
        &format!("/2020-05-31/distribution/{dist}/invalidation"),
        &[("content-type", "text/xml")],
        &batch_xml(paths, caller_reference),
    )
    .await
}

/// POSTs a CreateInvalidationForDistributionTenant.
pub async fn create_for_tenant(
    addr: SocketAddr,
    tenant: &str,
    paths: &[&str],
    caller_reference: &str,
) -> HttpReply {
    http(
        addr,
        "POST",
        &format!("/2020-05-31/distribution-tenant/{tenant}/invalidation"),
        &[("content-type", "text/xml")],
        &batch_xml(paths, caller_reference),
    )
    .await
}

/// POSTs a CodePipeline call.
pub async fn put_job(addr: SocketAddr, operation: &str, body: serde_json::Value) -> HttpReply {
    let target = format!("CodePipeline_20150709.{operation}");
    http(
        addr,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ],
        &body.to_string(),
    )
    .await
}

/// The AWS CLI: `$AWS_CLI`, else the test virtualenv's (prepared if need be; see `tools`).
pub fn aws_cli() -> PathBuf {
    tools::python_tool("AWS_CLI", "aws", "the AWS CLI")
}

/// What one AWS CLI run printed.
#[derive(Debug)]
pub struct CliRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "aws printed no JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts success and returns the JSON printed.
    pub fn ok(&self) -> serde_json::Value {
        assert!(self.success, "aws failed: {}", self.stderr);
        if self.stdout.trim().is_empty() {
            serde_json::Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts failure with `(code)` in the message.
    pub fn fails_with(&self, code: &str) {
        assert!(
            !self.success,
            "aws succeeded, expected {code}: {}",
            self.stdout
        );
        assert!(
            self.stderr.contains(&format!("({code})")),
            "expected error code {code}, stderr: {}",
            self.stderr
        );
    }
}

/// Runs the AWS CLI against `endpoint` with fake credentials, no retries and no user config.
pub async fn aws(endpoint: &str, args: &[&str], extra_env: &[(&str, &str)]) -> CliRun {
    aws_with(Some(endpoint), args, extra_env).await
}

/// Runs the AWS CLI with `--endpoint-url` when given (else the environment must point it),
/// fake credentials, no retries and no user config.
pub async fn aws_with(endpoint: Option<&str>, args: &[&str], extra_env: &[(&str, &str)]) -> CliRun {
    let cli = aws_cli();
    let mut cmd = tokio::process::Command::new(&cli);
    cmd.args(args).args(["--output", "json"]);
    if let Some(endpoint) = endpoint {
        cmd.args(["--endpoint-url", endpoint]);
    }
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ACCESS_KEY_ID", "AKIDLOCALAWSTEST")
        .env("AWS_SECRET_ACCESS_KEY", "local-aws-test-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_RETRY_MODE", "standard")
        .env("AWS_PAGER", "")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cli.display()));
    CliRun {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A `local-aws serve` process started with `args` (plus `--port 0 --quiet`), and the
/// endpoint it printed. The process is killed when the child is dropped.
pub async fn start_serve(args: &[&str]) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .arg("serve")
        .args(args)
        .args(["--port", "0", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start local-aws serve: {e}"));
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("local-aws serve has no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let mut endpoint = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(ep) = line.strip_prefix("export AWS_ENDPOINT_URL_CLOUDFRONT=") {
            endpoint = Some(ep.to_string());
        }
        let last = line.starts_with("# seed:");
        printed.push(line);
        if last && let Some(endpoint) = endpoint {
            // Keep reading: a closed pipe would end the server at its next line.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, endpoint);
        }
    }
    let stderr = match child.stderr.take() {
        Some(mut err) => {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut err, &mut text).await;
            text
        }
        None => String::new(),
    };
    panic!("local-aws serve {args:?} printed no endpoint: {printed:?}, stderr: {stderr}");
}

/// The fake function (`tests/support/fake_function.py`), for `python3`.
pub fn fake_function() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/fake_function.py")
        .display()
        .to_string()
}

/// A fresh directory for the fake function's attempt counters and logs.
pub fn state_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("local-aws-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir
}

/// The JSON lines the fake function wrote to `name` in `dir` (`events.jsonl`, one entry per
/// delivery; `history.jsonl`).
pub fn json_lines(dir: &std::path::Path, name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
