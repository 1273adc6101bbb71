//! `local-aws serve` as a user runs it: the exports it prints point the AWS CLI at it.

mod support;

use std::process::Stdio;

use support::aws_with;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_exports_that_the_cli_can_use() {
    let job = "11111111-abcd-1111-abcd-111111abcdef";
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .args([
            "serve",
            "--port",
            "0",
            "--distribution",
            "EPRINTED:1s",
            "--job",
            job,
            "--seed",
            "1",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start local-aws serve: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut exports = Vec::new();
    let mut printed = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        printed.push(line.clone());
        if let Some(kv) = line.strip_prefix("export ")
            && let Some((k, v)) = kv.split_once('=')
        {
            exports.push((k.to_string(), v.to_string()));
        }
        if line.starts_with("# seed:") {
            break;
        }
    }
    let get = |name: &str| {
        exports
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let endpoint =
        get("AWS_ENDPOINT_URL_CLOUDFRONT").unwrap_or_else(|| panic!("no export in {printed:?}"));
    assert_eq!(get("AWS_ENDPOINT_URL_CODEPIPELINE"), Some(endpoint.clone()));
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(printed.iter().any(|l| l.contains(job)), "{printed:?}");

    // Only the printed variables point the CLI at the emulator (no --endpoint-url).
    let env: Vec<(&str, &str)> = exports
        .iter()
        .filter(|(k, _)| k.starts_with("AWS_ENDPOINT_URL"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let created = aws_with(
        None,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            "EPRINTED",
            "--paths",
            "/x",
        ],
        &env,
    )
    .await
    .ok();
    assert_eq!(created["Invalidation"]["Status"], "InProgress");
    aws_with(
        None,
        &["codepipeline", "put-job-success-result", "--job-id", job],
        &env,
    )
    .await
    .ok();
    aws_with(
        None,
        &["codepipeline", "put-job-success-result", "--job-id", job],
        &env,
    )
    .await
    .fails_with("InvalidJobStateException");

    // The control endpoint creates jobs too.
    let addr: std::net::SocketAddr = endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("bad endpoint {endpoint}: {e}"));
    let r = support::http(addr, "POST", "/_local/jobs", &[], "").await;
    let new_job = r.json()["jobId"].as_str().unwrap_or_default().to_string();
    aws_with(
        None,
        &[
            "codepipeline",
            "put-job-failure-result",
            "--job-id",
            &new_job,
            "--failure-details",
            "type=JobFailed,message=m",
        ],
        &env,
    )
    .await
    .ok();
    let _ = child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_each_edge_and_serves_its_viewers() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .args([
            "serve",
            "--port",
            "0",
            "--origin",
            "EEDGE=site-bucket",
            "--default-root-object",
            "EEDGE=index.html",
            "--edge-invalidates-at",
            "created",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start local-aws serve: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let last = line.starts_with("# seed:");
        printed.push(line);
        if last {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let endpoint = (printed.iter())
        .find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL_CLOUDFRONT="))
        .unwrap_or_else(|| panic!("no endpoint in {printed:?}"));
    let edge_line = (printed.iter())
        .find_map(|l| l.strip_prefix("# edge of EEDGE: "))
        .unwrap_or_else(|| panic!("no edge in {printed:?}"));
    assert!(
        edge_line.ends_with("(origin bucket site-bucket, default root object index.html)"),
        "{edge_line}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains("when an invalidation is created")),
        "{printed:?}"
    );
    let parse = |url: &str| -> std::net::SocketAddr {
        let host = url.trim_start_matches("http://");
        let host = host.split_whitespace().next().unwrap_or(host);
        host.parse()
            .unwrap_or_else(|e| panic!("bad address in {url}: {e}"))
    };
    let (api, edge) = (parse(endpoint), parse(edge_line));

    // The origin bucket exists from the start: upload, then read through the edge.
    let put = support::http(api, "PUT", "/site-bucket/index.html", &[], "hello").await;
    assert_eq!(put.status, 200, "{}", put.body);
    let root = support::http(edge, "GET", "/", &[], "").await;
    assert_eq!((root.status, root.body.as_str()), (200, "hello"));
    assert_eq!(root.header("x-cache"), Some("Miss from cloudfront"));
    let _ = child.kill().await;
}
