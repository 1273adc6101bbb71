//! `pathsFromArtifact` against the in-memory history and bucket.

use super::*;
use crate::artifact::previous::ActionExecution;
use crate::testing::{
    BUCKET, FakeArtifacts, execution, job_context, job_credentials as credentials,
    located as location, stored_zip,
};

const NOW_KEY: &str = "site/BuildArtif/run3abc";
const OLD_KEY: &str = "site/BuildArtif/run1abc";
const PARAMS: &str = r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed"}"#;

fn run(id: &str, status: &str, key: &str) -> ActionExecution {
    execution(id, status, key, PARAMS)
}

fn context() -> JobContext {
    job_context("run-3")
}

const OLD: &[(&str, &[u8])] = &[
    ("index.html", b"home v1"),
    ("docs/", b""),
    ("docs/index.html", b"docs v1"),
    ("css/site.css", b"body{}"),
    ("old.html", b"gone soon"),
];

const NEW: &[(&str, &[u8])] = &[
    ("index.html", b"home v1"),
    ("docs/", b""),
    ("docs/index.html", b"docs v2"),
    ("css/site.css", b"body{}"),
    ("caf\u{e9} menu.html", b"new"),
];

/// A history whose last success deployed `OLD`, with `NEW` deployed now.
fn ports() -> FakeArtifacts {
    with_zips(
        FakeArtifacts::default()
            .with_context(context())
            .with_execution(run("run-3", "InProgress", NOW_KEY))
            .with_execution(run("run-2", "Failed", "site/BuildArtif/run2abc"))
            .with_execution(run("run-1", "Succeeded", OLD_KEY))
            .require_access_key("ASIAJOBKEY"),
    )
}

/// `ports` with `OLD` at `OLD_KEY` and `NEW` at `NOW_KEY` in the bucket.
fn with_zips(ports: FakeArtifacts) -> FakeArtifacts {
    ports.put(BUCKET, OLD_KEY, stored_zip(OLD));
    ports.put(BUCKET, NOW_KEY, stored_zip(NEW));
    ports
}

fn params(mode: ArtifactMode) -> ArtifactParams {
    ArtifactParams {
        mode,
        artifact: None,
        key_prefix: String::new(),
        path_prefix: "/".to_owned(),
        pipeline_name: None,
    }
}

async fn from(
    ports: &FakeArtifacts,
    params: &ArtifactParams,
    creds: &ArtifactCredentials,
    pinned: Option<&TokenArtifact>,
) -> Result<FromArtifact, ArtifactError> {
    let inputs = JobInputs {
        artifacts: vec![location(NOW_KEY)],
        credentials: Some(creds.clone()),
        encryption_key: Some(EncryptionKey {
            id: "arn:aws:kms:us-east-1:123456789012:key/1234abcd".to_owned(),
            kind: "KMS".to_owned(),
        }),
    };
    paths_from_artifact(
        ports,
        params,
        JobArtifacts {
            job_id: "11111111-2222-3333-4444-555555555555",
            user_parameters: PARAMS,
            inputs: &inputs,
        },
        pinned,
    )
    .await
}

/// `pathsFromArtifact: changed` with the job's credentials, expected to work.
async fn changed(ports: &FakeArtifacts) -> FromArtifact {
    from(ports, &params(ArtifactMode::Changed), &credentials(), None)
        .await
        .expect("the changes")
}

/// What `from` refuses with, for a first invocation.
async fn refusal(
    ports: &FakeArtifacts,
    params: &ArtifactParams,
    creds: &ArtifactCredentials,
) -> ArtifactError {
    from(ports, params, creds, None)
        .await
        .expect_err("a refusal")
}

#[tokio::test]
async fn changed_takes_the_files_added_changed_and_removed_since_the_last_success() {
    let ports = ports();
    let found = changed(&ports).await;
    assert_eq!(
        found.paths,
        ["/caf\u{e9} menu.html", "/docs/index.html", "/old.html"]
    );
    assert_eq!(found.facts.changed_files, 3);
    assert_eq!(
        found.facts.selection,
        Selection::Changes {
            added: 1,
            changed: 1,
            removed: 1,
            since: "run-1".to_owned()
        }
    );
    assert_eq!(found.facts.artifact, "BuildArtifact");
    assert_eq!(found.facts.pin.previous_execution.as_deref(), Some("run-1"));
    assert_eq!(found.facts.pin.previous_key.as_deref(), Some(OLD_KEY));
    assert_eq!(found.cost.reads, 2, "one tail read per small artifact");
    assert_eq!(
        ports.calls(),
        [
            format!("GetObject s3://{BUCKET}/{NOW_KEY}"),
            "GetJobDetails".to_owned(),
            "ListActionExecutions".to_owned(),
            format!("GetObject s3://{BUCKET}/{OLD_KEY}"),
        ]
    );

    // The next invocation compares the same artifacts without asking the history again.
    let again = with_zips(FakeArtifacts::default().require_access_key("ASIAJOBKEY"));
    let resumed = from(
        &again,
        &params(ArtifactMode::Changed),
        &credentials(),
        Some(&found.facts.pin),
    )
    .await
    .unwrap();
    assert_eq!(resumed.paths, found.paths);
    assert_eq!(resumed.facts, found.facts);
    assert!(
        !again
            .calls()
            .iter()
            .any(|call| !call.starts_with("GetObject")),
        "{:?}",
        again.calls()
    );
}

#[tokio::test]
async fn all_takes_every_file_and_asks_no_history() {
    let ports = ports();
    let found = from(&ports, &params(ArtifactMode::All), &credentials(), None)
        .await
        .unwrap();
    assert_eq!(found.paths.len(), 4, "{:?}", found.paths);
    assert_eq!(found.facts.changed_files, 4);
    assert_eq!(ports.calls().len(), 1, "{:?}", ports.calls());
}

#[tokio::test]
async fn zero_changes_give_no_paths_and_say_so() {
    let ports = ports();
    ports.put(BUCKET, OLD_KEY, stored_zip(NEW));
    let found = changed(&ports).await;
    assert!(found.paths.is_empty());
    assert_eq!(found.facts.changed_files, 0);
    assert_eq!(
        found.facts.selection,
        Selection::Changes {
            added: 0,
            changed: 0,
            removed: 0,
            since: "run-1".to_owned()
        }
    );
}

#[tokio::test]
async fn a_first_run_or_a_gone_artifact_falls_back_to_every_file() {
    let first = FakeArtifacts::default()
        .with_context(context())
        .with_execution(run("run-3", "InProgress", NOW_KEY));
    first.put(BUCKET, NOW_KEY, stored_zip(NEW));
    let found = changed(&first).await;
    assert_eq!(found.paths.len(), 4);
    assert_eq!(found.facts.pin.fallback, Some(FallbackCode::NoEarlierRun));
    assert_eq!(found.facts.changed_files, 4);
    assert!(
        matches!(
            found.facts.selection,
            Selection::Fallback {
                code: FallbackCode::NoEarlierRun,
                ..
            }
        ),
        "{:?}",
        found.facts.selection
    );

    let ports = ports();
    ports.remove(BUCKET, OLD_KEY);
    let found = changed(&ports).await;
    assert_eq!(found.paths.len(), 4);
    assert_eq!(found.facts.pin.fallback, Some(FallbackCode::Gone));
    assert_eq!(
        found.facts.selection,
        Selection::Fallback {
            code: FallbackCode::Gone,
            execution: Some("run-1".to_owned())
        }
    );
}

#[tokio::test]
async fn a_refused_get_job_details_asks_for_pipeline_name_which_then_works() {
    let refused = with_zips(
        FakeArtifacts::default()
            .with_execution(run("run-3", "InProgress", NOW_KEY))
            .with_execution(run("run-1", "Succeeded", OLD_KEY)),
    );
    let error = refusal(&refused, &params(ArtifactMode::Changed), &credentials()).await;
    assert!(
        matches!(&error, ArtifactError::JobDetailsRefused(refused)
            if refused.kind == HistoryErrorKind::Refused && refused.operation == "GetJobDetails"),
        "{error:?}"
    );

    let named = ArtifactParams {
        pipeline_name: Some("site".to_owned()),
        ..params(ArtifactMode::Changed)
    };
    let found = from(&refused, &named, &credentials(), None).await.unwrap();
    assert_eq!(found.facts.changed_files, 3);
    assert_eq!(
        refused
            .calls()
            .iter()
            .filter(|call| *call == "GetJobDetails")
            .count(),
        1,
        "pipelineName spares GetJobDetails: {:?}",
        refused.calls()
    );
}

#[tokio::test]
async fn prefixes_map_entries_and_a_prefix_that_matches_nothing_is_a_configuration_error() {
    let ports = FakeArtifacts::default()
        .with_context(context())
        .with_execution(run("run-1", "Succeeded", OLD_KEY));
    ports.put(
        BUCKET,
        OLD_KEY,
        stored_zip(&[("dist/a.html", b"1"), ("README.md", b"1")]),
    );
    ports.put(
        BUCKET,
        NOW_KEY,
        stored_zip(&[("dist/a.html", b"2"), ("README.md", b"2")]),
    );
    let prefixed = ArtifactParams {
        key_prefix: "dist/".to_owned(),
        path_prefix: "/blog/".to_owned(),
        ..params(ArtifactMode::Changed)
    };
    let found = from(&ports, &prefixed, &credentials(), None).await.unwrap();
    assert_eq!(found.paths, ["/blog/a.html"]);
    assert_eq!(found.facts.changed_files, 1);
    assert_eq!(
        (found.facts.outside_prefix, found.facts.key_prefix.as_str()),
        (1, "dist/")
    );

    let wrong = ArtifactParams {
        key_prefix: "build/".to_owned(),
        ..params(ArtifactMode::Changed)
    };
    let error = refusal(&ports, &wrong, &credentials()).await;
    assert_eq!(
        error,
        ArtifactError::NothingUnderPrefix {
            artifact: "BuildArtifact".to_owned(),
            prefix: "build/".to_owned(),
            files: 2,
            first: vec!["dist/a.html".to_owned(), "README.md".to_owned()],
        }
    );
}

#[tokio::test]
async fn artifacts_that_cannot_be_read_fail_clearly() {
    // No input artifact, or another name.
    let ports = ports();
    let none = paths_from_artifact(
        &ports,
        &params(ArtifactMode::All),
        JobArtifacts {
            job_id: "j",
            user_parameters: PARAMS,
            inputs: &JobInputs {
                credentials: Some(credentials()),
                ..JobInputs::default()
            },
        },
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(none, ArtifactError::NoInputs);
    let named = ArtifactParams {
        artifact: Some("SourceArtifact".to_owned()),
        ..params(ArtifactMode::All)
    };
    let other = refusal(&ports, &named, &credentials()).await;
    assert_eq!(
        other,
        ArtifactError::NotAnInput {
            name: "SourceArtifact".to_owned(),
            inputs: vec!["BuildArtifact".to_owned()],
        }
    );

    // Credentials S3 refuses: a permission error naming the KMS key, never the secret.
    let wrong = ArtifactCredentials {
        access_key_id: "ASIAOTHER".to_owned(),
        ..credentials()
    };
    let denied = refusal(&ports, &params(ArtifactMode::All), &wrong).await;
    assert!(
        matches!(&denied, ArtifactError::Unreadable { role: ArtifactRole::Input, error: ZipError::Denied(_), key: Some(key), .. }
            if key.kind == "KMS"),
        "{denied:?}"
    );
    assert!(!format!("{denied:?}").contains("job-secret"), "{denied:?}");

    // A damaged or truncated zip.
    let mut truncated = stored_zip(NEW);
    truncated.truncate(truncated.len() - 30);
    ports.put(BUCKET, NOW_KEY, truncated);
    let damaged = refusal(&ports, &params(ArtifactMode::All), &credentials()).await;
    assert!(
        matches!(&damaged, ArtifactError::Unreadable { role: ArtifactRole::Input, location, error: ZipError::NotAZip { .. }, .. }
            if location.key == NOW_KEY && location.bucket == BUCKET),
        "{damaged:?}"
    );
}

#[test]
fn credentials_never_show_in_debug() {
    let shown = format!("{:?}", credentials());
    assert!(
        !shown.contains("ASIAJOBKEY")
            && !shown.contains("job-secret")
            && !shown.contains("job-session")
    );
}

#[tokio::test]
async fn without_a_pipeline_execution_from_get_job_details_a_retry_is_not_its_own_previous_run() {
    // GetJobDetails documents pipelineExecutionId for custom actions only; this run (run-3)
    // already succeeded once, and a Retry runs the action again.
    let ports = with_zips(
        FakeArtifacts::default()
            .with_context(JobContext {
                pipeline_execution_id: None,
                ..context()
            })
            .with_execution(run("run-3", "InProgress", NOW_KEY))
            .with_execution(run("run-3", "Succeeded", NOW_KEY))
            .with_execution(run("run-1", "Succeeded", OLD_KEY))
            .require_access_key("ASIAJOBKEY"),
    );
    let found = changed(&ports).await;
    assert_eq!(found.facts.pin.previous_execution.as_deref(), Some("run-1"));
    assert_eq!(found.facts.changed_files, 3);
    // The running execution and the run before come from one read of the history.
    let lists = ports
        .calls()
        .iter()
        .filter(|call| *call == "ListActionExecutions")
        .count();
    assert_eq!(lists, 1, "{:?}", ports.calls());
}

#[tokio::test]
async fn a_previous_artifact_s3_refuses_falls_back_to_every_file() {
    // Credentials without s3:ListBucket get AccessDenied for an object that is gone.
    let ports = ports();
    ports.deny(BUCKET, OLD_KEY);
    let found = changed(&ports).await;
    assert_eq!(found.paths.len(), 4);
    assert_eq!(found.facts.pin.fallback, Some(FallbackCode::Unreadable));
    assert_eq!(
        found.facts.selection,
        Selection::Fallback {
            code: FallbackCode::Unreadable,
            execution: Some("run-1".to_owned())
        }
    );
}
