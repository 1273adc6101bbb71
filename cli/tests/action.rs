//! The ways in without a build: `install.sh` and the GitHub Action's script (`action/run.sh`),
//! run as a CodeBuild project and a GitHub runner run them, against a local HTTP server that
//! plays the release download (a tarball in the release's layout holding this build's
//! `cf-invalidate`, made by `scripts/assets.py`, and its `SHA256SUMS`) and local-aws.
//!
//! The action's contract: its inputs arrive as `INPUT_<NAME>` variables, and from the runner it
//! reads only `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `RUNNER_OS`, `RUNNER_ARCH`, `RUNNER_TEMP`
//! and `RUNNER_TOOL_CACHE`; every run here starts from an empty environment with just those.

mod support;

use support::{code, stderr, stdout};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use local_aws::{DistributionConfig, DurationRange, Emulator, EmulatorConfig, EmulatorHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cf-invalidate");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const DIST: &str = "E2QWRUHAPOMQZL";
const DENIED: &str = "EDENIED0000001";

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// This machine's release triple and the runner's name for its CPU.
fn machine() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "aarch64" => ("aarch64-unknown-linux-musl", "ARM64"),
        _ => ("x86_64-unknown-linux-musl", "X64"),
    }
}

fn asset_name() -> String {
    format!("cf-invalidate-{VERSION}-{}.tar.gz", machine().0)
}

/// The release tarball of this build's binary, made once per build (every test process shares
/// it: nextest runs each test in a process of its own) by the release's own archiver.
fn tarball() -> &'static [u8] {
    static TARBALL: OnceLock<Vec<u8>> = OnceLock::new();
    TARBALL.get_or_init(|| {
        let binary = std::fs::metadata(BIN).expect("the binary");
        let stamp = binary
            .modified()
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |time| time.as_nanos());
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "release-{}-{stamp}-{}",
            binary.len(),
            asset_name()
        ));
        if let Ok(bytes) = std::fs::read(&cache) {
            return bytes;
        }
        let stage = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "release-stage-{}/cf-invalidate-{VERSION}-{}",
            std::process::id(),
            machine().0
        ));
        std::fs::create_dir_all(&stage).expect("stage");
        std::fs::copy(BIN, stage.join("cf-invalidate")).expect("binary staged");
        std::fs::copy(repo("README.md"), stage.join("README.md")).expect("README");
        std::fs::copy(repo("LICENSE"), stage.join("LICENSE")).expect("LICENSE");
        let partial = cache.with_extension(format!("partial-{}", std::process::id()));
        let output = std::process::Command::new("python3")
            .arg(repo("scripts/assets.py"))
            .arg("tar")
            .arg(&partial)
            .arg(&stage)
            .args(["cf-invalidate", "README.md", "LICENSE"])
            .env("SOURCE_DATE_EPOCH", "1764000000")
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Renamed into place whole, so that a process running beside this one never reads half.
        std::fs::rename(&partial, &cache).expect("cached");
        let _ = std::fs::remove_dir_all(stage.parent().expect("stage parent"));
        std::fs::read(&cache).expect("the tarball")
    })
}

fn sha256(bytes: &[u8]) -> String {
    let mut child = std::process::Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &data));
    let output = child.wait_with_output().expect("sha256sum ends");
    writer.join().expect("written").expect("written");
    String::from_utf8_lossy(&output.stdout)[..64].to_owned()
}

/// A release download over HTTP: `GET /v{VERSION}/{asset}` answers the asset, anything else 404.
struct Releases {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl Releases {
    /// The release of this build: its tarball and a SHA256SUMS whose line for it is `listed_sum`
    /// (the tarball's own sum when None).
    async fn start(tarball: Vec<u8>, listed_sum: Option<String>) -> Self {
        let sum = listed_sum.unwrap_or_else(|| sha256(&tarball));
        let mut files = HashMap::new();
        files.insert(
            format!("/v{VERSION}/SHA256SUMS"),
            format!(
                "{sum}  {}\n{}  cf-invalidate-lambda-{VERSION}-arm64.zip\n",
                asset_name(),
                "0".repeat(64)
            )
            .into_bytes(),
        );
        files.insert(format!("/v{VERSION}/{}", asset_name()), tarball);
        let files = Arc::new(Mutex::new(files));
        let requests = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (served, counted) = (files.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (served, counted) = (served.clone(), counted.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let body = served.lock().expect("files").get(&path).cloned();
                    let (status, body) = match body {
                        Some(body) => ("200 OK", body),
                        None => ("404 Not Found", b"Not Found".to_vec()),
                    };
                    let header = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(header.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { url, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A directory of one test's own, removed when the test ends: every runner and install holds a
/// copy of the debug binary, hundreds of MB each.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("action-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    Scratch(dir)
}

/// A command with nothing of this machine's environment but a PATH of system tools.
fn bare(program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", std::env::temp_dir())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

async fn install(releases: &Releases, dir: &Path, args: &[&str]) -> Output {
    bare("sh")
        .arg(repo("install.sh"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env("CF_INVALIDATE_DOWNLOAD_URL", &releases.url)
        .output()
        .await
        .expect("sh runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_sh_installs_the_checked_binary_for_this_machine_and_says_what() {
    let releases = Releases::start(tarball().to_vec(), None).await;
    let scratch_dir = scratch("install");
    let dir = scratch_dir.join("bin");
    let output = install(&releases, &dir, &["--version", &format!("v{VERSION}")]).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let installed = dir.join("cf-invalidate");
    assert_eq!(
        std::fs::read(&installed).expect("installed"),
        std::fs::read(BIN).expect("built")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&installed)
        .expect("installed")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let said = stdout(&output);
    assert!(
        said.contains(&format!("cf-invalidate {VERSION} (commit "))
            && said.contains(&installed.display().to_string()),
        "{said}"
    );
    // Nothing is left beside it.
    let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_sh_refuses_a_tampered_tarball_and_names_both_sums() {
    let genuine = tarball().to_vec();
    let expected = sha256(&genuine);
    let mut tampered = genuine;
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x20;
    let actual = sha256(&tampered);
    let releases = Releases::start(tampered, Some(expected.clone())).await;
    let scratch_dir = scratch("tampered");
    let dir = scratch_dir.join("bin");
    let output = install(&releases, &dir, &["--version", VERSION]).await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&expected) && message.contains(&actual) && message.contains(&asset_name()),
        "{message}"
    );
    assert!(!dir.join("cf-invalidate").exists(), "nothing installed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_sh_names_a_bad_version_a_bad_target_and_a_missing_release() {
    let releases = Releases::start(tarball().to_vec(), None).await;
    let scratch_dir = scratch("bad-input");
    let dir = scratch_dir.join("bin");
    let bad_version = install(&releases, &dir, &["--version", "latest-ish"]).await;
    assert_eq!(code(&bad_version), 2);
    assert!(
        stderr(&bad_version).contains("latest-ish"),
        "{}",
        stderr(&bad_version)
    );
    let bad_target = install(&releases, &dir, &["--target", "x86_64-pc-windows-msvc"]).await;
    assert_eq!(code(&bad_target), 2);
    assert!(
        stderr(&bad_target).contains("x86_64-pc-windows-msvc"),
        "{}",
        stderr(&bad_target)
    );
    assert_eq!(releases.requests(), 0, "bad input downloads nothing");
    let missing = install(&releases, &dir, &["--version", "9.9.9"]).await;
    assert_eq!(code(&missing), 1);
    let message = stderr(&missing);
    assert!(
        message.contains(&format!("{}/v9.9.9/", releases.url)),
        "{message}"
    );
    assert!(!dir.join("cf-invalidate").exists());
}

async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DIST)
                .completes_after(DurationRange::fixed(Duration::from_millis(800))),
            DistributionConfig::denied(DENIED),
        ],
        seed: Some(11),
        ..EmulatorConfig::default()
    })
    .await
    .expect("local-aws starts")
}

/// A GitHub runner's view: a temp dir, a tool cache, the outputs and summary files.
struct Runner {
    root: Scratch,
}

impl Runner {
    fn new(name: &str) -> Self {
        let root = scratch(name);
        for dir in ["temp", "tool-cache"] {
            std::fs::create_dir_all(root.join(dir)).expect("runner dir");
        }
        Self { root }
    }

    fn outputs(&self) -> String {
        std::fs::read_to_string(self.root.join("outputs")).unwrap_or_default()
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.root.join("summary")).unwrap_or_default()
    }

    /// `action/run.sh` with these inputs, as the composite step runs it.
    async fn run(
        &self,
        releases: &Releases,
        emu: &EmulatorHandle,
        inputs: &[(&str, &str)],
    ) -> Output {
        let mut command = bare("bash");
        command
            .arg(repo("action/run.sh"))
            .env("GITHUB_OUTPUT", self.root.join("outputs"))
            .env("GITHUB_STEP_SUMMARY", self.root.join("summary"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", machine().1)
            .env("RUNNER_TEMP", self.root.join("temp"))
            .env("RUNNER_TOOL_CACHE", self.root.join("tool-cache"))
            .env("CF_INVALIDATE_DOWNLOAD_URL", &releases.url)
            // What aws-actions/configure-aws-credentials leaves in the environment.
            .env("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE00")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_SESSION_TOKEN", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", emu.endpoint())
            .env("CF_INVALIDATE_HEARTBEAT", "200ms");
        // The action's defaults, as action.yml gives them when a workflow leaves them out.
        let defaults = [
            ("WAIT", "true"),
            ("TIMEOUT", "30m"),
            ("ON_TIMEOUT", "fail"),
            ("CALLER_REFERENCE", "gh-7311873411-1"),
        ];
        for (name, value) in defaults.iter().chain(inputs) {
            command.env(format!("INPUT_{name}"), value);
        }
        command.output().await.expect("bash runs")
    }
}

fn output_value(outputs: &str, name: &str) -> Option<String> {
    outputs
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_installs_invalidates_waits_and_reports_to_the_runner() {
    let releases = Releases::start(tarball().to_vec(), None).await;
    let emu = emulator().await;
    let runner = Runner::new("success");
    // Several lines: one path a line, spaces kept; `/*` reaches CloudFront as it is.
    let paths = "/index.html\n/docs/my file.html\n/assets/*\n";
    let output = runner
        .run(
            &releases,
            &emu,
            &[("DISTRIBUTION_ID", DIST), ("PATHS", paths)],
        )
        .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));

    let invalidations = emu.invalidations(DIST);
    assert_eq!(invalidations.len(), 1);
    let id = invalidations[0].id.clone();
    let mut sent = invalidations[0].paths.clone();
    sent.sort();
    assert_eq!(sent, ["/assets/*", "/docs/my%20file.html", "/index.html"]);
    // The run's reference, then the distribution and the plan (so other paths are another one).
    assert!(
        invalidations[0]
            .caller_reference
            .starts_with(&format!("gh-7311873411-1-{DIST}-")),
        "{}",
        invalidations[0].caller_reference
    );

    let outputs = runner.outputs();
    assert_eq!(
        output_value(&outputs, "invalidation-ids").as_deref(),
        Some(id.as_str()),
        "{outputs}"
    );
    assert_eq!(
        output_value(&outputs, "status").as_deref(),
        Some("Completed"),
        "{outputs}"
    );
    assert_eq!(
        output_value(&outputs, "path-count").as_deref(),
        Some("3"),
        "{outputs}"
    );
    let summary = runner.summary();
    assert!(
        summary.contains("| Distribution | Invalidation | Status | Paths billed | Time |"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("| `{DIST}` | `{id}` | Completed | 3 |")),
        "{summary}"
    );
    assert!(summary.contains("/docs/my%20file.html"), "{summary}");

    // A re-run of the job: the binary comes from the tool cache, and the same caller reference
    // reuses the invalidation instead of paying for another.
    let downloads = releases.requests();
    let again = runner
        .run(
            &releases,
            &emu,
            &[("DISTRIBUTION_ID", DIST), ("PATHS", paths)],
        )
        .await;
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(releases.requests(), downloads, "the tool cache is used");
    assert_eq!(
        emu.invalidations(DIST).len(),
        1,
        "the same invalidation, not a second"
    );
    assert_eq!(
        output_value(&runner.outputs(), "invalidation-ids").as_deref(),
        Some(id.as_str())
    );
    let cached = runner.root.join("tool-cache/cf-invalidate").join(VERSION);
    assert!(cached.is_dir(), "the tool cache holds {}", cached.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_line_of_paths_is_split_on_spaces_as_the_aws_cli_splits_them() {
    let releases = Releases::start(tarball().to_vec(), None).await;
    let emu = emulator().await;
    let runner = Runner::new("one-line");
    let output = runner
        .run(
            &releases,
            &emu,
            &[
                ("DISTRIBUTION_ID", DIST),
                ("PATHS", "/index.html /css/*"),
                ("WAIT", "false"),
            ],
        )
        .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let mut sent = emu.invalidations(DIST)[0].paths.clone();
    sent.sort();
    assert_eq!(sent, ["/css/*", "/index.html"]);
    assert_eq!(
        output_value(&runner.outputs(), "status").as_deref(),
        Some("InProgress")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_distribution_fails_the_step_and_says_so_in_outputs_and_summary() {
    let releases = Releases::start(tarball().to_vec(), None).await;
    let emu = emulator().await;
    let runner = Runner::new("denied");
    let output = runner
        .run(
            &releases,
            &emu,
            &[("DISTRIBUTION_ID", DENIED), ("PATHS", "/*")],
        )
        .await;
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("cloudfront:CreateInvalidation") && message.contains(DENIED),
        "{message}"
    );
    let outputs = runner.outputs();
    assert_eq!(
        output_value(&outputs, "status").as_deref(),
        Some("Failed"),
        "{outputs}"
    );
    assert_eq!(
        output_value(&outputs, "invalidation-ids").as_deref(),
        Some(""),
        "{outputs}"
    );
    let summary = runner.summary();
    assert!(
        summary.starts_with("### CloudFront invalidation: failed"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("| `{DENIED}` | none created | Failed | 0 |")),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checksum_mismatch_stops_the_action_before_anything_runs() {
    let mut tampered = tarball().to_vec();
    let expected = sha256(&tampered);
    let last = tampered.len() - 20;
    tampered[last] ^= 1;
    let releases = Releases::start(tampered, Some(expected.clone())).await;
    let emu = emulator().await;
    let runner = Runner::new("mismatch");
    let output = runner
        .run(
            &releases,
            &emu,
            &[("DISTRIBUTION_ID", DIST), ("PATHS", "/index.html")],
        )
        .await;
    assert_ne!(code(&output), 0);
    let message = stderr(&output);
    assert!(message.contains(&expected), "{message}");
    assert!(
        emu.invalidations(DIST).is_empty(),
        "nothing sent to CloudFront"
    );
    assert!(
        !runner
            .root
            .join(format!("tool-cache/cf-invalidate/{VERSION}"))
            .join(format!("{}.complete", machine().1.to_lowercase()))
            .exists(),
        "a refused download is not cached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_named_and_nothing_is_sent() {
    let releases = Releases::start(tarball().to_vec(), None).await;
    let emu = emulator().await;
    let runner = Runner::new("bad-inputs");
    // (the inputs, what the error must name, the exit code)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, i32);
    let cases: [Case; 4] = [
        (
            &[
                ("DISTRIBUTION_ID", DIST),
                ("PATHS", "/a"),
                ("WAIT", "maybe"),
            ],
            "maybe",
            2,
        ),
        (&[("PATHS", "/a")], "distribution-id", 2),
        (&[("DISTRIBUTION_ID", DIST)], "paths", 2),
        (
            &[("DISTRIBUTION_ID", "my-distribution"), ("PATHS", "/a")],
            "my-distribution",
            2,
        ),
    ];
    for (inputs, named, exit) in cases {
        let output = runner.run(&releases, &emu, inputs).await;
        let message = stderr(&output);
        assert_eq!(code(&output), exit, "{inputs:?}: {message}");
        assert!(
            message.contains(named),
            "{inputs:?} must name {named}: {message}"
        );
    }
    assert!(
        emu.invalidations(DIST).is_empty(),
        "nothing sent to CloudFront"
    );
}

/// action.yml hands every input to the script as `INPUT_<NAME>` (upper case, dashes as
/// underscores) and nothing else, and its outputs are the script step's.
#[test]
fn action_yml_maps_each_input_to_its_input_variable_and_the_outputs_to_the_step() {
    let text = std::fs::read_to_string(repo("action.yml")).expect("action.yml");
    let action: serde_norway::Value = serde_norway::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let inputs: Vec<&str> = action["inputs"]
        .as_mapping()
        .expect("inputs")
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    for name in [
        "distribution-id",
        "distribution-tenant-id",
        "paths",
        "paths-from-s3-sync",
        "changed-between",
        "directory-index",
        "max-paths",
        "wait",
        "timeout",
        "on-timeout",
        "caller-reference",
        "version",
    ] {
        assert!(inputs.contains(&name), "action.yml lacks the input {name}");
    }
    assert_eq!(
        action["inputs"]["caller-reference"]["default"].as_str(),
        Some("gh-${{ github.run_id }}-${{ github.run_attempt }}")
    );
    assert_eq!(action["inputs"]["wait"]["default"].as_str(), Some("true"));
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    assert_eq!(steps.len(), 1);
    let step = &steps[0];
    assert_eq!(step["id"].as_str(), Some("invalidate"));
    // The script is run, never an input spliced into its text.
    let run = step["run"].as_str().expect("run");
    assert_eq!(run, "bash \"$GITHUB_ACTION_PATH/action/run.sh\"");
    let env = step["env"].as_mapping().expect("env");
    assert_eq!(env.len(), inputs.len(), "one variable per input");
    let script = std::fs::read_to_string(repo("action/run.sh")).expect("run.sh");
    for name in &inputs {
        let variable = format!("INPUT_{}", name.to_uppercase().replace('-', "_"));
        assert_eq!(
            env.get(variable.as_str()).and_then(|v| v.as_str()),
            Some(format!("${{{{ inputs.{name} }}}}").as_str()),
            "{variable}"
        );
        assert!(
            script.contains(&format!("${{{variable}:-}}")),
            "action/run.sh never reads {variable}"
        );
    }
    for output in ["invalidation-ids", "status", "path-count"] {
        assert_eq!(
            action["outputs"][output]["value"].as_str(),
            Some(format!("${{{{ steps.invalidate.outputs.{output} }}}}").as_str())
        );
    }
}
