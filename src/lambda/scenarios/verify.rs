//! `verify` through whole jobs: the edge asked after `Completed`, stale files failing or
//! warning, the checks carried across continuations, and an edge that never answers.

use std::sync::Arc;

use super::*;
use crate::testing::{BUCKET, FakeSite, execution, job_context, located, stored_zip};

const PATHS: &str = r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/index.html", "/a b+c.html"], "verify": true}"#;

fn with_site(completes_after: u64, site: impl FnOnce(&mut FakeSite)) -> (Scenario, Arc<FakeSite>) {
    let mut s = Scenario::new(&[(DIST, completes_after)]);
    let mut fake = FakeSite::new(&s.clock);
    site(&mut fake);
    let fake = Arc::new(fake);
    s.site = Some(fake.clone());
    (s, fake)
}

/// GIVEN files whose new bytes the edge serves WHEN the job runs with "verify": true THEN the
/// summary leads with the figures, after every invalidation completed.
#[tokio::test]
async fn fresh_files_are_verified_after_completed() {
    let (s, site) = with_site(30, |site| {
        site.put("index.html", b"v2", Some(b"v2"));
        site.put("a b+c.html", b"v2", Some(b"v2"));
    });
    let outcome = s.once(PATHS).await;
    let done = success(&outcome);
    assert_starts(
        &done.details.summary,
        "Verified 2 of 2 files fresh at the edge. Invalidated 2 paths on E2QWRUHAPOMQZL",
    );
    assert_eq!(*site.asked.lock().unwrap(), ["index.html", "a b+c.html"]);
    assert_eq!(s.count(&format!("Create {DIST}")), 1);
}

/// GIVEN an edge that still serves the old bytes of one file WHEN verified THEN the job fails
/// as JobFailed naming it, or, with onStale "warn", succeeds with a warning that names it.
#[tokio::test]
async fn a_stale_file_fails_the_job_or_warns() {
    let (s, _) = with_site(30, |site| {
        site.put("index.html", b"v2", Some(b"v2"));
        site.put("a b+c.html", b"v2", Some(b"v1"));
    });
    failure(
        s.once(PATHS).await,
        FailureType::JobFailed,
        &[
            "the edge still serves files that are not the deployed ones",
            "Verified 1 of 2 files fresh at the edge",
            "Not fresh: /a%20b+c.html (the edge serves ETag",
        ],
    );
    let warn = r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/index.html", "/a b+c.html"], "verify": {"onStale": "warn"}, "callerReference": "warned"}"#;
    let outcome = s.once(warn).await;
    assert_starts(
        &success(&outcome).details.summary,
        "WARNING: the invalidations completed, but the edge still serves files that are not the deployed ones. Verified 1 of 2",
    );
}

/// GIVEN the artifact's changed files WHEN verified THEN they are compared with the bytes
/// deployed (CRC-32), removed files must be gone from the edge, and the words say "changed".
#[tokio::test]
async fn the_artifacts_files_are_compared_with_their_crc32() {
    let params =
        r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed", "verify": true}"#;
    let (mut s, site) = with_site(30, |site| {
        site.put("docs/index.html", b"docs v2", Some(b"docs v2"));
        site.put("b.css", b"b", Some(b"b"));
    });
    s.artifacts = FakeArtifacts::default()
        .with_context(job_context("run-2"))
        .with_execution(execution(
            "run-1",
            "Succeeded",
            "site/BuildArtif/old",
            params,
        ))
        .require_access_key("ASIAJOBKEY");
    let old: &[(&str, &[u8])] = &[("docs/index.html", b"docs v1"), ("a.css", b"a")];
    let new: &[(&str, &[u8])] = &[("docs/index.html", b"docs v2"), ("b.css", b"b")];
    s.artifacts
        .put(BUCKET, "site/BuildArtif/old", stored_zip(old));
    s.artifacts
        .put(BUCKET, "site/BuildArtif/new", stored_zip(new));
    s.inputs.artifacts = vec![located("site/BuildArtif/new")];
    let outcome = s.once(params).await;
    assert_starts(
        &success(&outcome).details.summary,
        "Verified 3 of 3 changed files fresh at the edge.",
    );
    let mut asked = site.asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, ["a.css", "b.css", "docs/index.html"]);
    // The edge serving the old docs page is stale, by its bytes alone.
    site.edge
        .lock()
        .unwrap()
        .insert("docs/index.html".into(), b"docs v1".to_vec());
    let again = r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed", "verify": true, "callerReference": "again"}"#;
    failure(
        s.once(again).await,
        FailureType::JobFailed,
        &["Verified 2 of 3 changed files", "/docs/index.html"],
    );
}

/// GIVEN more checks than one invocation has time for WHEN the job runs THEN it goes on in
/// continuations and asks the edge for each file once.
#[tokio::test]
async fn verification_is_carried_across_continuations() {
    let (s, site) = with_site(5, |site| {
        // The fake's requests take their time one after the other: 0.8 s a round of 8, within
        // the 1 s a round needs at least.
        site.latency = Duration::from_millis(100);
        for n in 0..60 {
            site.put(&format!("f{n:02}.html"), b"v2", Some(b"v2"));
        }
    });
    let params = r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/*"], "verify": true}"#;
    let (outcome, invocations) = s.run_to_end(params, secs(7)).await;
    assert_starts(
        &success(&outcome).details.summary,
        "Verified 60 of 60 files fresh at the edge.",
    );
    assert!(invocations > 2, "{invocations} invocations");
    let asked = site.asked.lock().unwrap().clone();
    let mut unique = asked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(asked.len(), 60, "each file asked once: {asked:?}");
    assert_eq!(unique.len(), 60);
}

/// GIVEN an edge that never answers WHEN verified THEN the job fails, saying so.
#[tokio::test]
async fn an_edge_that_never_answers_fails_the_job_clearly() {
    let (s, _) = with_site(5, |site| {
        site.silent = true;
        site.put("index.html", b"v2", Some(b"v2"));
    });
    failure(
        s.once(PATHS).await,
        FailureType::JobFailed,
        &[
            "the invalidations completed, but the edge could not be verified",
            "did not answer",
        ],
    );
}

/// GIVEN a sample smaller than the files WHEN verified THEN it is spread and said to be one.
#[tokio::test]
async fn max_objects_samples_the_files_evenly() {
    let (s, site) = with_site(5, |site| {
        for n in 0..10 {
            site.put(&format!("f{n}.html"), b"v2", Some(b"v2"));
        }
    });
    let params =
        r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/*"], "verify": {"maxObjects": 3}}"#;
    let outcome = s.once(params).await;
    assert_starts(
        &success(&outcome).details.summary,
        "Verified 3 of 3 files fresh at the edge (a sample of 3 across the 10 listed, maxObjects).",
    );
    assert_eq!(
        *site.asked.lock().unwrap(),
        ["f0.html", "f4.html", "f9.html"]
    );
}

/// GIVEN a Lambda timeout shorter than a request's own 10 s WHEN verified THEN each round gets
/// what is left before the deadline, and the job still ends (it once went on forever).
#[tokio::test]
async fn a_short_lambda_timeout_still_verifies() {
    let (s, site) = with_site(5, |site| {
        site.latency = Duration::from_millis(100);
        for n in 0..20 {
            site.put(&format!("f{n:02}.html"), b"v2", Some(b"v2"));
        }
    });
    let params = r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/*"], "verify": true}"#;
    let (outcome, _) = s.run_to_end(params, secs(6)).await;
    assert_starts(
        &success(&outcome).details.summary,
        "Verified 20 of 20 files fresh at the edge.",
    );
    assert_eq!(site.asked.lock().unwrap().len(), 20);
}
