//! The action, end to end, as a viewer sees it: a site with awkward keys is deployed to the
//! distribution's origin and cached at local-aws's edge, v2 is deployed and the edge still
//! serves v1, then the real `cf-invalidate-lambda` runs as a CodePipeline job and every changed
//! key, fetched through the edge over HTTP, is v2. The edge drops objects only when an
//! invalidation is `Completed` (its default), so v2 after the verdict proves the action waited.

mod e2e_support;

use e2e_support::explain;

use std::time::Duration;

use local_aws::pipeline::{
    self, ArtifactSource, PipelineConfig, PipelineReport, ServedVersion, ViewMoment, ViewerReply,
    viewer, zip_directory,
};
use local_aws::{DistributionConfig, DurationRange, Emulator, EmulatorConfig, EmulatorHandle};

const DIST: &str = "E2EDGE0EXAMPLE";
const BUCKET: &str = "site-bucket";
const CACHE_CONTROL: &str = "max-age=600";

/// The site's keys: a space, `+`, `%`, `~`, non-ASCII and `?` in them, and the unchanged ones.
const AWKWARD: [&str; 6] = [
    "docs/a b.html",
    "c++/notes.html",
    "100%.html",
    "~user/index.html",
    "caf\u{e9}.html",
    "what?.html",
];
const UNCHANGED: [&str; 2] = ["css/site.css", "robots.txt"];

/// Every key with its body in `version` (`v1` or `v2`): the changed keys' bodies name the
/// version, the unchanged ones' do not.
fn site(version: &str) -> Vec<(String, String)> {
    let changed = AWKWARD.iter().chain(["index.html"].iter());
    let changed = changed.map(|key| (key.to_string(), format!("<p>{key} {version}</p>\n")));
    let unchanged = UNCHANGED.map(|key| (key.to_string(), format!("{key} is the same\n")));
    changed.chain(unchanged).collect()
}

fn changed_keys() -> Vec<&'static str> {
    AWKWARD.iter().copied().chain(["index.html"]).collect()
}

/// The site as a build directory zipped, as `local-aws pipeline --artifact DIR` zips it.
fn zip_of(version: &str) -> Vec<u8> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir =
        std::env::temp_dir().join(format!("e2e-edge-{version}-{}-{nanos}", std::process::id()));
    for (key, body) in site(version) {
        let path = dir.join(&key);
        let parent = path.parent().unwrap_or(&dir);
        std::fs::create_dir_all(parent).expect("site directory");
        std::fs::write(&path, body).expect("site file");
    }
    let zip = zip_directory(&dir).expect("zip the site");
    let _ = std::fs::remove_dir_all(&dir);
    zip
}

/// The key as a URL path carries it: every byte but the unreserved characters and `/` is
/// percent-encoded (`?` as `%3F`, so that it is the key's and not a query string).
fn url_path(key: &str) -> String {
    let mut path = String::from("/");
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                path.push(char::from(byte));
            }
            _ => path.push_str(&format!("%{byte:02X}")),
        }
    }
    path
}

async fn start() -> EmulatorHandle {
    let distribution = DistributionConfig::new(DIST)
        .origin(BUCKET)
        .completes_after(DurationRange::fixed(Duration::from_secs(2)));
    let config = EmulatorConfig {
        distributions: vec![distribution],
        seed: Some(21),
        ..EmulatorConfig::default()
    };
    Emulator::start(config).await.expect("the emulator starts")
}

/// A run of the action with `artifact` deployed to the origin bucket just before it.
fn deploy_and_invalidate(user_parameters: &str, artifact: Vec<u8>) -> PipelineConfig {
    let mut config =
        PipelineConfig::new(env!("CARGO_BIN_EXE_cf-invalidate-lambda"), user_parameters);
    config.artifact = Some(ArtifactSource::Bytes(artifact));
    config.deploy_to = Some(BUCKET.parse().expect("a deploy target"));
    config.deploy_cache_control = Some(CACHE_CONTROL.to_string());
    config.reinvoke_delay = Duration::from_millis(200);
    config.no_reply_timeout = Duration::from_secs(60);
    config
}

async fn run_on(config: PipelineConfig, emu: &EmulatorHandle) -> PipelineReport {
    match pipeline::run_on(config, emu).await {
        Ok(report) => report,
        Err(error) => panic!("the pipeline could not run: {error}"),
    }
}

async fn view(emu: &EmulatorHandle, key: &str) -> ViewerReply {
    let addr = emu.edge_addr(DIST).expect("the distribution has an edge");
    let path = url_path(key);
    match viewer::get(addr, &path).await {
        Ok(reply) => reply,
        Err(error) => panic!("GET {path} through the edge: {error}"),
    }
}

fn body(reply: &ViewerReply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// What the viewer got, for an assertion's message.
fn seen(key: &str, reply: &ViewerReply) -> String {
    format!(
        "{key} ({}): {} X-Cache {:?} Age {:?} body {:?}",
        url_path(key),
        reply.status,
        reply.header("x-cache"),
        reply.header("age"),
        body(reply)
    )
}

fn body_of(version: &str, key: &str) -> String {
    let site = site(version);
    let found = site.into_iter().find(|(k, _)| k == key);
    found.map(|(_, body)| body).expect("a key of the site")
}

/// GIVEN v1 deployed by a first pipeline run and cached at the edge, and v2 uploaded
/// afterwards: every changed key is still v1 there.
async fn v1_cached_then_v2_uploaded(emu: &EmulatorHandle) {
    let first = deploy_and_invalidate(
        &format!(r#"{{"distributionId": "{DIST}", "paths": ["/*"]}}"#),
        zip_of("v1"),
    );
    let report = run_on(first, emu).await;
    assert!(report.succeeded(), "v1's run: {}", explain(&report));
    assert_eq!(report.deploys.len(), 1, "{}", explain(&report));
    for (key, v1) in site("v1") {
        let miss = view(emu, &key).await;
        assert_eq!(
            (miss.status, miss.header("x-cache"), body(&miss)),
            (200, Some("Miss from cloudfront"), v1.clone()),
            "{}",
            seen(&key, &miss)
        );
        let expected_type = pipeline::content_type(&key);
        assert_eq!(miss.header("content-type"), Some(expected_type), "{key}");
        assert_eq!(miss.header("cache-control"), Some(CACHE_CONTROL), "{key}");
        let hit = view(emu, &key).await;
        assert_eq!(
            (hit.status, hit.header("x-cache"), body(&hit)),
            (200, Some("Hit from cloudfront"), v1),
            "{}",
            seen(&key, &hit)
        );
    }
    // WHEN v2 is uploaded (as the next pipeline's deploy does), the edge still serves v1.
    for (key, v2) in site("v2") {
        let content_type = pipeline::content_type(&key);
        emu.put_object(BUCKET, &key, v2, Some(content_type))
            .expect("the origin bucket exists");
    }
    for key in changed_keys() {
        let stale = view(emu, key).await;
        assert_eq!(
            (stale.header("x-cache"), body(&stale)),
            (Some("Hit from cloudfront"), body_of("v1", key)),
            "stale before the action: {}",
            seen(key, &stale)
        );
        assert!(stale.age().is_some(), "{}", seen(key, &stale));
    }
}

/// THEN every changed key is v2 through the edge, fetched from the origin again by this GET
/// (`first_look`) or by the run's own viewers; and the unchanged keys are still served from
/// the cache.
async fn every_changed_key_is_fresh(
    emu: &EmulatorHandle,
    report: &PipelineReport,
    first_look: bool,
) {
    assert!(report.succeeded(), "{}", explain(report));
    let x_cache = if first_look { "Miss" } else { "Hit" };
    for key in changed_keys() {
        let fresh = view(emu, key).await;
        assert_eq!(
            (fresh.status, fresh.header("x-cache"), body(&fresh)),
            (
                200,
                Some(&*format!("{x_cache} from cloudfront")),
                body_of("v2", key)
            ),
            "after the verdict: {}\n{}",
            seen(key, &fresh),
            explain(report)
        );
    }
    for key in UNCHANGED {
        let kept = view(emu, key).await;
        assert_eq!(kept.header("x-cache"), Some("Hit from cloudfront"), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_from_artifact_makes_every_changed_awkward_key_fresh_at_the_edge() {
    let emu = start().await;
    v1_cached_then_v2_uploaded(&emu).await;

    // WHEN the next pipeline execution deploys v2 and runs the action, which diffs its artifact
    // against the one of the first run (v1), found in the pipeline's history.
    let changed = format!(
        r#"{{"distributionId": "{DIST}", "pathsFromArtifact": "changed", "directoryIndex": "index.html"}}"#
    );
    let mut second = deploy_and_invalidate(&changed, zip_of("v2"));
    second.views = changed_keys().iter().map(|key| url_path(key)).collect();
    let report = run_on(second, &emu).await;

    every_changed_key_is_fresh(&emu, &report, false).await;
    let summary = report.summary.as_deref().unwrap_or_default();
    assert!(
        summary.starts_with("0 files added, 7 changed, 0 removed in input artifact"),
        "{summary}"
    );
    // The run's own viewers saw the cached v1 after its deploy and v2 after the verdict.
    let views = |moment| report.views.iter().filter(move |v| v.moment == moment);
    assert!(
        views(ViewMoment::AfterDeploy)
            .all(|v| v.version == ServedVersion::Other && v.fresh == Some(false)),
        "{:?}",
        report.views
    );
    assert_eq!(views(ViewMoment::AfterVerdict).count(), 7);
    assert!(
        views(ViewMoment::AfterVerdict)
            .all(|v| v.version == ServedVersion::Current && v.fresh == Some(true)),
        "{:?}",
        report.views
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_paths_make_every_changed_awkward_key_fresh_at_the_edge() {
    let emu = start().await;
    v1_cached_then_v2_uploaded(&emu).await;

    // WHEN the action is given the changed keys' paths as a user writes them: raw, except `?`,
    // which in a path begins a query string, so the key's `?` is written %3F.
    let paths: Vec<String> = changed_keys()
        .iter()
        .map(|key| format!("/{}", key.replace('?', "%3F")))
        .collect();
    let user_parameters = serde_json::json!({"distributionId": DIST, "paths": paths}).to_string();
    let report = run_on(deploy_and_invalidate(&user_parameters, zip_of("v2")), &emu).await;

    every_changed_key_is_fresh(&emu, &report, true).await;
    let invalidated: Vec<&str> = report
        .invalidations
        .iter()
        .flat_map(|i| &i.paths)
        .map(String::as_str)
        .collect();
    assert!(
        invalidated.contains(&"/caf%C3%A9.html") && invalidated.contains(&"/docs/a%20b.html"),
        "{invalidated:?}"
    );
    emu.shutdown().await;
}

/// GIVEN v2 deployed and v1 still cached WHEN the real action runs with `"verify": true` and
/// `pathsFromArtifact` THEN after Completed it fetches every changed file through the edge
/// (found by GetDistribution) and compares the bytes with the artifact's CRC-32: the summary
/// leads with the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_with_paths_from_artifact_checks_each_changed_file_against_the_artifact() {
    let emu = start().await;
    v1_cached_then_v2_uploaded(&emu).await;
    let changed = format!(
        r#"{{"distributionId": "{DIST}", "pathsFromArtifact": "changed", "verify": true}}"#
    );
    let report = run_on(deploy_and_invalidate(&changed, zip_of("v2")), &emu).await;
    assert!(report.succeeded(), "{}", explain(&report));
    let summary = report.summary.as_deref().unwrap_or_default();
    assert!(
        summary.starts_with(
            "Verified 7 of 7 changed files fresh at the edge. 0 files added, 7 changed, 0 removed"
        ),
        "{summary}"
    );
    // The function's own GETs went through the edge after Completed: each changed key was
    // fetched from the origin again (a miss) and compared.
    let gets = report
        .requests
        .iter()
        .filter(|r| r.operation == "ViewerGet")
        .count();
    assert!(
        gets >= 7,
        "{gets} GETs through the edge\n{}",
        explain(&report)
    );
    every_changed_key_is_fresh(&emu, &report, false).await;
    emu.shutdown().await;
}

/// GIVEN plain `paths` (a wildcard among them) WHEN verified THEN each object is compared by
/// ETag with the bucket the distribution's S3 origin names, the wildcard expanded by listing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_with_plain_paths_compares_each_object_with_the_origin_bucket() {
    let emu = start().await;
    v1_cached_then_v2_uploaded(&emu).await;
    let user_parameters = serde_json::json!({
        "distributionId": DIST,
        "paths": ["/docs/*", "/caf\u{e9}.html", "/what%3F.html", "/100%25.html"],
        "verify": true,
    })
    .to_string();
    let report = run_on(deploy_and_invalidate(&user_parameters, zip_of("v2")), &emu).await;
    assert!(report.succeeded(), "{}", explain(&report));
    let summary = report.summary.as_deref().unwrap_or_default();
    assert!(
        summary.starts_with("Verified 4 of 4 files fresh at the edge. Invalidated 4 paths"),
        "{summary}\n{}",
        explain(&report)
    );
    for key in ["docs/a b.html", "caf\u{e9}.html", "what?.html", "100%.html"] {
        let fresh = view(&emu, key).await;
        assert_eq!(body(&fresh), body_of("v2", key), "{}", seen(key, &fresh));
    }
    emu.shutdown().await;
}

/// GIVEN a second distribution on the same bucket that nobody invalidates WHEN the action
/// invalidates the first but verifies the site at the second's address THEN the job fails as
/// JobFailed, naming each stale file; with `"onStale": "warn"` it succeeds with a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_edge_fails_the_job_naming_the_files_or_warns() {
    const OTHER: &str = "E2OTHER0EXAMPLE";
    let config = EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DIST)
                .origin(BUCKET)
                .completes_after(DurationRange::fixed(Duration::from_secs(1))),
            DistributionConfig::new(OTHER).origin(BUCKET),
        ],
        seed: Some(21),
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(config).await.expect("the emulator starts");
    let other = emu.edge_addr(OTHER).expect("the second edge");
    let v1 = deploy_and_invalidate(
        &format!(r#"{{"distributionId": "{DIST}", "paths": ["/*"]}}"#),
        zip_of("v1"),
    );
    assert!(run_on(v1, &emu).await.succeeded());
    // v1 cached at the second edge, then v2 deployed with the action's run.
    for key in ["caf\u{e9}.html", "docs/a b.html"] {
        let cached = viewer::get(other, &url_path(key))
            .await
            .expect("the second edge");
        assert_eq!(body_of("v1", key), String::from_utf8_lossy(&cached.body));
    }
    let stale_at = |on_stale: &str| {
        serde_json::json!({
            "distributionId": DIST,
            "paths": ["/caf\u{e9}.html", "/docs/a b.html"],
            "verify": {"baseUrl": format!("http://{other}"), "onStale": on_stale},
            "callerReference": on_stale,
        })
        .to_string()
    };
    let report = run_on(deploy_and_invalidate(&stale_at("fail"), zip_of("v2")), &emu).await;
    let failure = report.failure.as_ref().unwrap_or_else(|| {
        panic!("expected a failure\n{}", explain(&report));
    });
    assert_eq!(failure.failure_type.as_deref(), Some("JobFailed"));
    for words in [
        "the invalidations completed, but the edge still serves files that are not the deployed ones",
        "Verified 0 of 2 files fresh at the edge.",
        "/caf%C3%A9.html (the edge serves ETag",
        "/docs/a%20b.html (the edge serves ETag",
    ] {
        assert!(
            failure.message.contains(words),
            "{words}\n{}",
            failure.message
        );
    }
    let report = run_on(deploy_and_invalidate(&stale_at("warn"), zip_of("v2")), &emu).await;
    assert!(report.succeeded(), "{}", explain(&report));
    let summary = report.summary.as_deref().unwrap_or_default();
    assert!(
        summary.starts_with("WARNING: the invalidations completed, but the edge still serves"),
        "{summary}"
    );
    emu.shutdown().await;
}
