//! The emulator's rules, over real HTTP with a plain client: CloudFront rules and limits,
//! lifecycle, paging, CodePipeline job state, the Runtime API, faults and the request log.

mod support;

use std::time::Duration;

use local_aws::{
    Api, CallerReferenceReuse, Clock, DistributionConfig, DistributionTenantConfig, DurationRange,
    Emulator, EmulatorConfig, EmulatorHandle, FaultKind, InvalidationStatus, InvocationOutcome,
    JobResult, UnknownIds,
};
use serde_json::json;
use support::{batch_xml, create, create_for_tenant, http, put_job, try_http, xml_all};

const DIST: &str = "EDIST1";

async fn start(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(config)
        .await
        .unwrap_or_else(|e| panic!("emulator did not start: {e}"))
}

/// A manual clock and one distribution whose invalidations take 10 s.
async fn manual() -> EmulatorHandle {
    start(EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DIST)
                .completes_after(DurationRange::fixed(Duration::from_secs(10))),
            DistributionConfig::new("EDIST2"),
        ],
        clock: Clock::manual(),
        seed: Some(1),
        ..EmulatorConfig::default()
    })
    .await
}

fn paths(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn create_answers_201_with_location_and_the_batch() {
    let emu = manual().await;
    let r = create(emu.addr(), DIST, &["/a&b", "/c/*"], "ref-1").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.xml("Id").unwrap_or_default();
    assert!(id.starts_with('I') && (13..=26).contains(&id.len()));
    assert!(
        id[1..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(
        r.header("location"),
        Some(
            format!(
                "{}/2020-05-31/distribution/{DIST}/invalidation/{id}",
                emu.endpoint()
            )
            .as_str()
        )
    );
    assert!(r.header("x-amz-request-id").is_some());
    assert!(
        r.body
            .contains("<Invalidation xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">")
    );
    assert_eq!(r.xml("Status").as_deref(), Some("InProgress"));
    assert_eq!(xml_all(&r.body, "Path"), ["/a&amp;b", "/c/*"]);
    assert_eq!(r.xml("Quantity").as_deref(), Some("2"));
    assert_eq!(r.xml("CallerReference").as_deref(), Some("ref-1"));
    let t = r.xml("CreateTime").unwrap_or_default();
    assert_eq!(t.len(), "2026-11-22T01:02:03.456Z".len(), "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T' && t.as_bytes()[19] == b'.');

    let got = http(
        emu.addr(),
        "GET",
        &format!("/2020-05-31/distribution/{DIST}/invalidation/{id}"),
        &[],
        "",
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.xml("Id"), Some(id.clone()));
    assert_eq!(emu.invalidations(DIST)[0].paths, ["/a&b", "/c/*"]);
}

#[tokio::test]
async fn ids_are_unique() {
    let emu = manual().await;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..200 {
        let r = create(emu.addr(), "EDIST2", &["/x"], &format!("r{i}")).await;
        assert_eq!(r.status, 201);
        assert!(seen.insert(r.xml("Id").unwrap_or_default()));
    }
}

#[tokio::test]
async fn lifecycle_follows_the_clock() {
    let emu = manual().await;
    let r = create(emu.addr(), DIST, &["/a"], "r").await;
    let id = r.xml("Id").unwrap_or_default();
    let addr = emu.addr();
    let path = format!("/2020-05-31/distribution/{DIST}/invalidation/{id}");
    let get = || {
        let path = path.clone();
        async move { http(addr, "GET", &path, &[], "").await }
    };
    assert_eq!(get().await.xml("Status").as_deref(), Some("InProgress"));
    emu.clock().advance(Duration::from_millis(9_999));
    assert_eq!(get().await.xml("Status").as_deref(), Some("InProgress"));
    emu.clock().advance(Duration::from_millis(1));
    assert_eq!(get().await.xml("Status").as_deref(), Some("Completed"));
    let info = &emu.invalidations(DIST)[0];
    assert_eq!((info.created_ms, info.completes_at_ms), (0, 10_000));
    assert_eq!(info.status, InvalidationStatus::Completed);
}

#[tokio::test]
async fn completion_times_are_drawn_from_the_range() {
    let emu = start(EmulatorConfig {
        distributions: vec![DistributionConfig::new(DIST)],
        default_completion: DurationRange::between(Duration::from_secs(2), Duration::from_secs(5)),
        clock: Clock::manual(),
        seed: Some(3),
        ..EmulatorConfig::default()
    })
    .await;
    for i in 0..20 {
        create(emu.addr(), DIST, &["/a"], &format!("r{i}")).await;
    }
    let spans: Vec<u64> = emu
        .invalidations(DIST)
        .iter()
        .map(|i| i.completes_at_ms - i.created_ms)
        .collect();
    assert!(spans.iter().all(|s| (2000..=5000).contains(s)), "{spans:?}");
    assert!(spans.iter().any(|s| *s != spans[0]), "{spans:?}");
}

#[tokio::test]
async fn body_and_path_rules() {
    let emu = manual().await;
    let post = |body: String| {
        let addr = emu.addr();
        async move {
            http(
                addr,
                "POST",
                &format!("/2020-05-31/distribution/{DIST}/invalidation"),
                &[],
                &body,
            )
            .await
        }
    };
    let code = |r: &support::HttpReply| (r.status, r.xml("Code").unwrap_or_default());

    assert_eq!(
        code(&post(String::new()).await),
        (400, "MissingBody".into())
    );
    assert_eq!(
        code(&post("<InvalidationBatch><Paths>".into()).await),
        (400, "MalformedInput".into())
    );
    let inconsistent =
        batch_xml(&["/a", "/b"], "r").replace("<Quantity>2</Quantity>", "<Quantity>3</Quantity>");
    assert_eq!(
        code(&post(inconsistent).await),
        (400, "InconsistentQuantities".into())
    );
    let too_long = format!("/{}", "a".repeat(4000));
    for bad in [
        "a.html",
        "/a*/b",
        "/a b",
        "/caf\u{e9}",
        too_long.as_str(),
        "#a,b",
        "#a*",
    ] {
        let r = post(batch_xml(&[bad], "r")).await;
        assert_eq!(code(&r), (400, "InvalidArgument".into()), "{bad}");
    }
    let big = paths("/f", 3001);
    assert_eq!(
        code(&post(batch_xml(&refs(&big), "big")).await),
        (413, "BatchTooLarge".into())
    );
    // Exactly at the limits is fine.
    let ok = format!("/{}", "a".repeat(3999));
    assert_eq!(
        post(batch_xml(&[ok.as_str(), "/*", "#product:42"], "ok"))
            .await
            .status,
        201
    );
    assert!(
        emu.request_log()
            .iter()
            .all(|r| r.api == Api::CloudFront && r.operation == "CreateInvalidation")
    );

    // The error document, exactly.
    let r = post(String::new()).await;
    let rid = r.header("x-amz-request-id").unwrap_or_default().to_string();
    assert_eq!(
        r.body,
        format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>MissingBody</Code><Message>This operation requires a body. Ensure that the body is present and the Content-Type header is set.</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
    );
}

#[tokio::test]
async fn distributions_must_exist_and_be_allowed() {
    let emu = manual().await;
    emu.add_distribution(DistributionConfig::denied("EDENIED"));
    let r = create(emu.addr(), "ENOPE", &["/a"], "r").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (404, Some("NoSuchDistribution"))
    );
    let r = create(emu.addr(), "EDENIED", &["/a"], "r").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (403, Some("AccessDenied"))
    );
    assert!(r.xml("Message").unwrap_or_default().starts_with(
        "User: arn:aws:sts::000000000000:assumed-role/cf-invalidate-role/cf-invalidate is not authorized to perform: cloudfront:CreateInvalidation on resource: arn:aws:cloudfront::000000000000:distribution/EDENIED"
    ));
    let r = http(
        emu.addr(),
        "GET",
        "/2020-05-31/distribution/EDENIED/invalidation",
        &[],
        "",
    )
    .await;
    assert!(
        r.xml("Message")
            .unwrap_or_default()
            .contains("cloudfront:ListInvalidations")
    );
    // An invalidation of another distribution is not found.
    let id = create(emu.addr(), DIST, &["/a"], "r")
        .await
        .xml("Id")
        .unwrap_or_default();
    let r = http(
        emu.addr(),
        "GET",
        &format!("/2020-05-31/distribution/EDIST2/invalidation/{id}"),
        &[],
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (404, Some("NoSuchInvalidation"))
    );
}

#[tokio::test]
async fn a_reused_caller_reference_is_answered_as_cloudfront_answers_it() {
    let emu = manual().await;
    let first = create(emu.addr(), DIST, &["/a", "/b"], "ref").await;
    // The same batch (as a set of paths): the existing invalidation, as AWS documents.
    let again = create(emu.addr(), DIST, &["/b", "/a", "/a"], "ref").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.xml("Id"), first.xml("Id"));
    assert_eq!(emu.invalidations(DIST).len(), 1);
    // Other paths: InvalidArgument with the words CloudFront uses.
    let other = create(emu.addr(), DIST, &["/a", "/c"], "ref").await;
    assert_eq!(
        (other.status, other.xml("Code").as_deref()),
        (400, Some("InvalidArgument"))
    );
    assert_eq!(
        other.xml("Message").as_deref(),
        Some(
            "Your request contains a caller reference that was used for a previous invalidation batch for the same distribution."
        )
    );
    assert_eq!(other.xml("Type").as_deref(), Some("Sender"));
    assert_eq!(emu.invalidations(DIST).len(), 1);
    // Still the existing one after completion, and the answer shows the current status.
    emu.clock().advance(Duration::from_secs(10));
    let late = create(emu.addr(), DIST, &["/a", "/b"], "ref").await;
    assert_eq!(
        (late.xml("Id"), late.xml("Status").as_deref()),
        (first.xml("Id"), Some("Completed"))
    );
    // References are per distribution.
    assert_ne!(
        create(emu.addr(), "EDIST2", &["/a", "/b"], "ref")
            .await
            .xml("Id"),
        first.xml("Id")
    );
    let log = emu.request_log();
    assert_eq!(
        log.iter()
            .map(|r| r.caller_reference_reuse)
            .collect::<Vec<_>>(),
        [
            None,
            Some(CallerReferenceReuse::ReturnedExisting),
            Some(CallerReferenceReuse::RefusedOtherPaths),
            Some(CallerReferenceReuse::ReturnedExisting),
            None
        ]
    );
    let first_id = first.xml("Id").unwrap_or_default();
    assert!(
        log[1]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(&format!("existing invalidation {first_id} returned"))),
        "{:?}",
        log[1].detail
    );
    assert_eq!(log[1].invalidation_id.as_deref(), Some(first_id.as_str()));
    // A refused call created nothing, so it names no invalidation.
    assert_eq!(log[2].invalidation_id, None);
    assert!(
        log[2]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(&format!("used by {first_id} with other paths"))),
        "{:?}",
        log[2].detail
    );
    assert!(
        log.iter()
            .all(|r| r.error_code.as_deref() != Some("InvalidationBatchAlreadyExists"))
    );
}

#[tokio::test]
async fn strict_mode_refuses_even_the_same_batch() {
    let emu = start(EmulatorConfig {
        distributions: vec![DistributionConfig::new(DIST)],
        strict_caller_reference: true,
        clock: Clock::manual(),
        seed: Some(2),
        ..EmulatorConfig::default()
    })
    .await;
    let first = create(emu.addr(), DIST, &["/a"], "ref").await;
    assert_eq!(first.status, 201);
    let again = create(emu.addr(), DIST, &["/a"], "ref").await;
    assert_eq!(
        (
            again.status,
            again.xml("Code").as_deref(),
            again.xml("Message").as_deref()
        ),
        (
            400,
            Some("InvalidArgument"),
            Some(local_aws::cloudfront::CALLER_REFERENCE_REUSED)
        )
    );
    assert_eq!(emu.invalidations(DIST).len(), 1);
    let refused = &emu.request_log()[1];
    assert_eq!(
        refused.caller_reference_reuse,
        Some(CallerReferenceReuse::RefusedStrict)
    );
    assert_eq!(refused.outcome(), "400 InvalidArgument");
    let first_id = first.xml("Id").unwrap_or_default();
    assert!(
        refused
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(&format!(
                "same batch as {first_id}, refused by the strict CallerReference mode"
            ))),
        "{:?}",
        refused.detail
    );
    // The mode can be switched off on a running emulator.
    emu.set_strict_caller_reference(false);
    let lenient = create(emu.addr(), DIST, &["/a"], "ref").await;
    assert_eq!(lenient.xml("Id"), first.xml("Id"));
}

#[tokio::test]
async fn unknown_ids_can_be_answered_as_iam_does() {
    let emu = start(EmulatorConfig {
        distributions: vec![DistributionConfig::new(DIST)],
        distribution_tenants: vec![DistributionTenantConfig::new(TENANT)],
        unknown_ids: UnknownIds::AccessDenied,
        clock: Clock::manual(),
        seed: Some(4),
        ..EmulatorConfig::default()
    })
    .await;
    let addr = emu.addr();
    let batch = batch_xml(&["/a"], "r");
    let calls = [
        (
            "POST",
            "distribution/ETYPO/invalidation",
            "CreateInvalidation",
            "distribution/ETYPO",
        ),
        (
            "GET",
            "distribution/ETYPO/invalidation/I1",
            "GetInvalidation",
            "distribution/ETYPO",
        ),
        (
            "GET",
            "distribution/ETYPO/invalidation",
            "ListInvalidations",
            "distribution/ETYPO",
        ),
        (
            "POST",
            "distribution-tenant/dt_typo/invalidation",
            "CreateInvalidationForDistributionTenant",
            "distribution-tenant/dt_typo",
        ),
        (
            "GET",
            "distribution-tenant/dt_typo/invalidation/I1",
            "GetInvalidationForDistributionTenant",
            "distribution-tenant/dt_typo",
        ),
        (
            "GET",
            "distribution-tenant/dt_typo/invalidation",
            "ListInvalidationsForDistributionTenant",
            "distribution-tenant/dt_typo",
        ),
    ];
    for (method, path, action, resource) in calls {
        let r = http(addr, method, &format!("/2020-05-31/{path}"), &[], &batch).await;
        assert_eq!(
            (r.status, r.xml("Code").as_deref()),
            (403, Some("AccessDenied")),
            "{path}"
        );
        assert_eq!(
            r.xml("Message").unwrap_or_default(),
            format!(
                "User: arn:aws:sts::000000000000:assumed-role/cf-invalidate-role/cf-invalidate is not authorized to perform: cloudfront:{action} on resource: arn:aws:cloudfront::000000000000:{resource} because no identity-based policy allows the cloudfront:{action} action"
            )
        );
    }
    let operations: Vec<String> = emu
        .request_log()
        .iter()
        .map(|r| r.operation.clone())
        .collect();
    assert_eq!(
        operations,
        calls.map(|(_, _, action, _)| action.to_string())
    );
    assert!(emu.request_log().iter().all(|r| {
        r.detail
            .as_deref()
            .is_some_and(|d| d.contains("access-denied"))
    }));
    // Ids that exist are not affected: an unknown invalidation is still NoSuchInvalidation.
    let r = http(
        addr,
        "GET",
        &format!("/2020-05-31/distribution/{DIST}/invalidation/INOPE"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.xml("Code").as_deref(), Some("NoSuchInvalidation"));
    // And the default answers are back when the mode is switched.
    emu.set_unknown_ids(UnknownIds::NotFound);
    let r = create(addr, "ETYPO", &["/a"], "r").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (404, Some("NoSuchDistribution"))
    );
    let r = create_for_tenant(addr, "dt_typo", &["/a"], "r").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (404, Some("EntityNotFound"))
    );
}

const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
const OTHER_TENANT: &str = "dt_2x9GhoK0TZRsohWzv1b9It8J1AB";

/// A multi-tenant distribution (10 s) with two tenants: one inheriting its completion time,
/// one completing after 1 s; and a standard distribution.
async fn tenants() -> EmulatorHandle {
    start(EmulatorConfig {
        distributions: vec![
            DistributionConfig::multi_tenant("EMULTI")
                .completes_after(DurationRange::fixed(Duration::from_secs(10))),
            DistributionConfig::new(DIST),
        ],
        distribution_tenants: vec![
            DistributionTenantConfig::new(TENANT),
            DistributionTenantConfig::new(OTHER_TENANT)
                .completes_after(DurationRange::fixed(Duration::from_secs(1))),
        ],
        clock: Clock::manual(),
        seed: Some(5),
        ..EmulatorConfig::default()
    })
    .await
}

#[tokio::test]
async fn distribution_tenants_are_invalidated_like_distributions() {
    let emu = tenants().await;
    let addr = emu.addr();
    let r = create_for_tenant(addr, TENANT, &["/a&b", "/c/*"], "ref-1").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.xml("Id").unwrap_or_default();
    assert!(id.starts_with('I') && (13..=26).contains(&id.len()), "{id}");
    assert_eq!(
        r.header("location"),
        Some(
            format!(
                "{}/2020-05-31/distribution-tenant/{TENANT}/invalidation/{id}",
                emu.endpoint()
            )
            .as_str()
        )
    );
    assert!(
        r.body
            .contains("<Invalidation xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">")
    );
    assert_eq!(xml_all(&r.body, "Path"), ["/a&amp;b", "/c/*"]);
    assert_eq!(r.xml("CallerReference").as_deref(), Some("ref-1"));

    let tenant_path = |tenant: &str, rest: &str| {
        format!("/2020-05-31/distribution-tenant/{tenant}/invalidation{rest}")
    };
    let got = http(
        addr,
        "GET",
        &tenant_path(TENANT, &format!("/{id}")),
        &[],
        "",
    )
    .await;
    assert_eq!((got.status, got.xml("Id")), (200, Some(id.clone())));
    assert_eq!(got.xml("Status").as_deref(), Some("InProgress"));
    // The tenant inherits its distribution's 10 s.
    emu.clock().advance(Duration::from_secs(10));
    let got = http(
        addr,
        "GET",
        &tenant_path(TENANT, &format!("/{id}")),
        &[],
        "",
    )
    .await;
    assert_eq!(got.xml("Status").as_deref(), Some("Completed"));
    // Another tenant's invalidation is not found.
    let r = http(
        addr,
        "GET",
        &tenant_path(OTHER_TENANT, &format!("/{id}")),
        &[],
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (404, Some("NoSuchInvalidation"))
    );

    // Paging, newest first.
    let second = create_for_tenant(addr, TENANT, &["/d"], "ref-2")
        .await
        .xml("Id")
        .unwrap_or_default();
    let page = http(addr, "GET", &tenant_path(TENANT, "?MaxItems=1"), &[], "").await;
    assert_eq!(page.status, 200);
    assert_eq!(xml_all(&page.body, "Id"), [second.as_str()]);
    assert_eq!(page.xml("NextMarker"), Some(second.clone()));
    assert_eq!(page.xml("IsTruncated").as_deref(), Some("true"));
    let rest = http(
        addr,
        "GET",
        &tenant_path(TENANT, &format!("?Marker={second}&MaxItems=1")),
        &[],
        "",
    )
    .await;
    assert_eq!(xml_all(&rest.body, "Id"), [id.as_str()]);
    assert_eq!(rest.xml("IsTruncated").as_deref(), Some("false"));
    let bad = http(addr, "GET", &tenant_path(TENANT, "?Marker=INOPE"), &[], "").await;
    assert_eq!(bad.xml("Code").as_deref(), Some("InvalidArgument"));
    assert!(
        bad.xml("Message")
            .is_some_and(|m| m.contains("this distribution tenant")),
        "{}",
        bad.body
    );

    // CallerReference rules, per tenant.
    let other = create_for_tenant(addr, OTHER_TENANT, &["/a&b", "/c/*"], "ref-1").await;
    assert_eq!(other.status, 201);
    assert_ne!(other.xml("Id"), Some(id.clone()));
    let reused = create_for_tenant(addr, TENANT, &["/x"], "ref-1").await;
    assert_eq!(
        (reused.status, reused.xml("Message").as_deref()),
        (400, Some(local_aws::cloudfront::CALLER_REFERENCE_REUSED))
    );
    let same = create_for_tenant(addr, TENANT, &["/c/*", "/a&b"], "ref-1").await;
    assert_eq!(same.xml("Id"), Some(id.clone()));

    // What the handle shows.
    let mine = emu.tenant_invalidations(TENANT);
    assert_eq!(
        mine.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        [second.clone(), id.clone()]
    );
    assert!(mine.iter().all(|i| i.distribution_id == "EMULTI"
        && i.distribution_tenant_id.as_deref() == Some(TENANT)
        && i.target() == TENANT));
    assert_eq!(mine[1].completes_at_ms - mine[1].created_ms, 10_000);
    let theirs = emu.tenant_invalidations(OTHER_TENANT);
    assert_eq!(theirs[0].completes_at_ms - theirs[0].created_ms, 1_000);
    assert!(emu.invalidations("EMULTI").is_empty());
    assert_eq!(emu.all_invalidations().len(), 3);
    assert_eq!(
        emu.distribution_tenants()
            .iter()
            .map(|t| (t.id.as_str(), t.distribution_id.as_deref()))
            .collect::<Vec<_>>(),
        [(TENANT, Some("EMULTI")), (OTHER_TENANT, Some("EMULTI"))]
    );
    let log = emu.request_log();
    assert_eq!(log[0].operation, "CreateInvalidationForDistributionTenant");
    assert_eq!(log[0].distribution_tenant_id.as_deref(), Some(TENANT));
    assert_eq!(log[0].distribution_id, None);
    assert_eq!(log[1].operation, "GetInvalidationForDistributionTenant");
    assert_eq!(log[5].operation, "ListInvalidationsForDistributionTenant");
    assert!(log.iter().all(|r| r.api == Api::CloudFront));
}

#[tokio::test]
async fn unknown_tenants_and_the_multi_tenant_distribution_itself_are_refused() {
    let emu = tenants().await;
    let addr = emu.addr();
    let r = create_for_tenant(addr, "dt_nope", &["/a"], "r").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref(), r.xml("Type").as_deref()),
        (404, Some("EntityNotFound"), Some("Sender"))
    );
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("The specified distribution tenant does not exist.")
    );
    for (method, path) in [
        (
            "GET",
            "/2020-05-31/distribution-tenant/dt_nope/invalidation",
        ),
        (
            "GET",
            "/2020-05-31/distribution-tenant/dt_nope/invalidation/I1",
        ),
    ] {
        let r = http(addr, method, path, &[], "").await;
        assert_eq!(r.xml("Code").as_deref(), Some("EntityNotFound"), "{path}");
    }
    // A multi-tenant distribution refuses the distribution calls: its tenants are invalidated.
    let r = create(addr, "EMULTI", &["/a"], "r").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (404, Some("NoSuchDistribution"))
    );
    for path in [
        "/2020-05-31/distribution/EMULTI/invalidation",
        "/2020-05-31/distribution/EMULTI/invalidation/I1",
    ] {
        let r = http(addr, "GET", path, &[], "").await;
        assert_eq!(
            r.xml("Code").as_deref(),
            Some("NoSuchDistribution"),
            "{path}"
        );
    }
    assert!(emu.all_invalidations().is_empty());
    let refused = &emu.request_log()[3];
    assert_eq!(refused.operation, "CreateInvalidation");
    assert!(
        refused
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("multi-tenant distribution")
                && d.contains("CreateInvalidationForDistributionTenant")),
        "{:?}",
        refused.detail
    );
    // A standard distribution and a denied tenant.
    assert_eq!(create(addr, DIST, &["/a"], "r").await.status, 201);
    emu.add_distribution_tenant(DistributionTenantConfig::denied("dt_denied"));
    let r = create_for_tenant(addr, "dt_denied", &["/a"], "r").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (403, Some("AccessDenied"))
    );
    assert!(r.xml("Message").is_some_and(|m| m.contains(
        "cloudfront:CreateInvalidationForDistributionTenant on resource: arn:aws:cloudfront::000000000000:distribution-tenant/dt_denied"
    )));
}

#[tokio::test]
async fn tenant_limits_and_faults_are_counted_per_tenant() {
    let emu = tenants().await;
    let addr = emu.addr();
    let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
    assert_eq!(
        create_for_tenant(addr, TENANT, &refs(&wild), "w")
            .await
            .status,
        201
    );
    let r = create_for_tenant(addr, TENANT, &["/more/*"], "w2").await;
    assert_eq!(
        r.xml("Code").as_deref(),
        Some("TooManyInvalidationsInProgress")
    );
    // Another tenant of the same distribution has its own count.
    assert_eq!(
        create_for_tenant(addr, OTHER_TENANT, &refs(&wild), "w")
            .await
            .status,
        201
    );
    let big = paths("/f", 3001);
    assert_eq!(
        create_for_tenant(addr, OTHER_TENANT, &refs(&big), "big")
            .await
            .status,
        413
    );
    // Faults hit the tenant calls too; too-many only the create call.
    emu.set_faults("cloudfront.too-many=1".parse().unwrap_or_default());
    let listed = http(
        addr,
        "GET",
        &format!("/2020-05-31/distribution-tenant/{TENANT}/invalidation"),
        &[],
        "",
    )
    .await;
    assert_eq!(listed.status, 200);
    let r = create_for_tenant(addr, OTHER_TENANT, &["/x"], "x").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (400, Some("TooManyInvalidationsInProgress"))
    );
    emu.set_faults("cloudfront.throttle=1".parse().unwrap_or_default());
    let r = create_for_tenant(addr, OTHER_TENANT, &["/x"], "x").await;
    assert_eq!(r.xml("Code").as_deref(), Some("Throttling"));
    let faults: Vec<Option<FaultKind>> = emu
        .request_log()
        .iter()
        .rev()
        .take(2)
        .map(|r| r.fault)
        .collect();
    assert_eq!(
        faults,
        [Some(FaultKind::Throttle), Some(FaultKind::TooMany)]
    );
}

#[tokio::test]
async fn tenants_must_fit_the_declared_distributions() {
    let err = Emulator::start(EmulatorConfig {
        distributions: vec![DistributionConfig::new("ESTANDARD")],
        distribution_tenants: vec![
            DistributionTenantConfig::new(TENANT).of_distribution("ESTANDARD"),
        ],
        ..EmulatorConfig::default()
    })
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.contains(TENANT) && err.contains("--multi-tenant-distribution ESTANDARD"),
        "{err}"
    );
}

#[tokio::test]
async fn final_report_throttles_spare_continuations() {
    let emu = manual().await;
    emu.set_faults("codepipeline.throttle-final=2".parse().unwrap_or_default());
    let job = emu.create_job(None);
    let r = put_job(
        emu.addr(),
        "PutJobSuccessResult",
        json!({"jobId": job, "continuationToken": "t"}),
    )
    .await;
    assert_eq!(r.status, 200, "a continuation is not a final report");
    let next = emu.create_job(Some("t".into()));
    for _ in 0..2 {
        let r = put_job(emu.addr(), "PutJobSuccessResult", json!({"jobId": next})).await;
        assert_eq!(
            (
                r.status,
                r.json()["__type"].as_str(),
                r.json()["message"].as_str()
            ),
            (400, Some("ThrottlingException"), Some("Rate exceeded"))
        );
    }
    let r = put_job(emu.addr(), "PutJobSuccessResult", json!({"jobId": next})).await;
    assert_eq!(r.status, 200);
    let faults: Vec<Option<FaultKind>> = emu.request_log().iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [
            None,
            Some(FaultKind::ThrottleFinal),
            Some(FaultKind::ThrottleFinal),
            None
        ]
    );
    // A failure report is a final report too.
    emu.set_faults("codepipeline.throttle-final=1".parse().unwrap_or_default());
    let failing = emu.create_job(None);
    let r = put_job(
        emu.addr(),
        "PutJobFailureResult",
        json!({"jobId": failing, "failureDetails": {"type": "JobFailed", "message": "m"}}),
    )
    .await;
    assert_eq!(r.json()["__type"], "ThrottlingException");
    assert_eq!(emu.job(&failing).and_then(|j| j.result), None);
}

#[tokio::test]
async fn in_progress_limits_count_files_and_wildcards_separately() {
    let emu = manual().await;
    let wild = paths("/w", 15)
        .into_iter()
        .map(|p| format!("{p}/*"))
        .collect::<Vec<_>>();
    assert_eq!(
        create(emu.addr(), DIST, &refs(&wild), "w").await.status,
        201
    );
    let r = create(emu.addr(), DIST, &["/more/*"], "w2").await;
    assert_eq!(
        r.xml("Code").as_deref(),
        Some("TooManyInvalidationsInProgress")
    );
    // Files are counted apart: 2999 files and one cache tag fit, one more file does not.
    let mut files = paths("/f", 2999);
    files.push("#tag".into());
    assert_eq!(
        create(emu.addr(), DIST, &refs(&files), "f").await.status,
        201
    );
    let r = create(emu.addr(), DIST, &["/one-more"], "f2").await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (400, Some("TooManyInvalidationsInProgress"))
    );
    // Other distributions have their own limits.
    assert_eq!(
        create(emu.addr(), "EDIST2", &["/more/*"], "w2")
            .await
            .status,
        201
    );
    // Completed invalidations no longer count.
    emu.clock().advance(Duration::from_secs(10));
    assert_eq!(
        create(emu.addr(), DIST, &["/more/*"], "w3").await.status,
        201
    );
    assert_eq!(
        create(emu.addr(), DIST, &["/one-more"], "f3").await.status,
        201
    );
}

#[tokio::test]
async fn list_pages_newest_first() {
    let emu = manual().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create(emu.addr(), DIST, &["/a"], &format!("r{i}"))
                .await
                .xml("Id")
                .unwrap_or_default(),
        );
        emu.clock().advance(Duration::from_secs(3));
    }
    ids.reverse();
    let addr = emu.addr();
    let list = |q: String| async move {
        http(
            addr,
            "GET",
            &format!("/2020-05-31/distribution/{DIST}/invalidation{q}"),
            &[],
            "",
        )
        .await
    };
    let page = list("?MaxItems=2".into()).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(
            "<InvalidationList xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">"
        )
    );
    assert_eq!(page.xml("Marker").as_deref(), Some(""));
    assert_eq!(page.xml("MaxItems").as_deref(), Some("2"));
    assert_eq!(page.xml("IsTruncated").as_deref(), Some("true"));
    assert_eq!(page.xml("Quantity").as_deref(), Some("2"));
    assert_eq!(xml_all(&page.body, "Id"), ids[..2]);
    assert_eq!(page.xml("NextMarker"), Some(ids[1].clone()));
    // Created at 0, 3, 6, 9 and 12 s, 10 s each, now 15 s: the oldest two are Completed.
    let statuses = xml_all(&list(String::new()).await.body, "Status");
    assert_eq!(
        statuses,
        [
            "InProgress",
            "InProgress",
            "InProgress",
            "Completed",
            "Completed"
        ]
    );

    let next = list(format!("?Marker={}&MaxItems=2", ids[1])).await;
    assert_eq!(xml_all(&next.body, "Id"), ids[2..4]);
    let last = list(format!("?Marker={}&MaxItems=2", ids[3])).await;
    assert_eq!(xml_all(&last.body, "Id"), ids[4..]);
    assert_eq!(last.xml("IsTruncated").as_deref(), Some("false"));
    assert_eq!(last.xml("NextMarker"), None);
    let all = list(String::new()).await;
    assert_eq!(all.xml("MaxItems").as_deref(), Some("100"));
    assert_eq!(all.xml("Quantity").as_deref(), Some("5"));
    let empty = http(
        emu.addr(),
        "GET",
        "/2020-05-31/distribution/EDIST2/invalidation",
        &[],
        "",
    )
    .await;
    assert_eq!(
        (empty.xml("Quantity").as_deref(), empty.xml("Items")),
        (Some("0"), None)
    );
    for bad in ["?MaxItems=x", "?Marker=INOPE"] {
        assert_eq!(
            list(bad.into()).await.xml("Code").as_deref(),
            Some("InvalidArgument"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn codepipeline_job_state_and_5xx() {
    let emu = manual().await;
    emu.set_faults("codepipeline.unavailable=1".parse().unwrap_or_default());
    let job = emu.create_job(None);
    let r = put_job(emu.addr(), "PutJobSuccessResult", json!({"jobId": job})).await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (503, Some("ServiceUnavailableException"))
    );
    assert_eq!(
        emu.job(&job).and_then(|j| j.result),
        None,
        "a 5xx must not change the job"
    );
    emu.set_faults(Default::default());
    let r = put_job(
        emu.addr(),
        "PutJobSuccessResult",
        json!({"jobId": job, "continuationToken": "t"}),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    assert!(r.header("x-amzn-requestid").is_some());
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let r = put_job(
        emu.addr(),
        "PutJobFailureResult",
        json!({"jobId": job, "failureDetails": {"type": "JobFailed", "message": "m"}}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("InvalidJobStateException"))
    );
    let r = put_job(emu.addr(), "AcknowledgeJob", json!({"jobId": job})).await;
    assert_eq!(
        r.json()["__type"].as_str(),
        Some("UnknownOperationException")
    );
    let ops: Vec<(String, String)> = emu
        .request_log()
        .iter()
        .map(|r| (r.operation.clone(), r.outcome()))
        .collect();
    assert_eq!(
        ops,
        [
            (
                "PutJobSuccessResult".to_string(),
                "503 ServiceUnavailableException".to_string()
            ),
            ("PutJobSuccessResult".into(), "200".into()),
            (
                "PutJobFailureResult".into(),
                "400 InvalidJobStateException".into()
            ),
            (
                "AcknowledgeJob".into(),
                "400 UnknownOperationException".into()
            ),
        ]
    );
    assert!(
        emu.request_log()
            .iter()
            .take(3)
            .all(|r| r.job_id.as_deref() == Some(job.as_str()))
    );
    assert_eq!(emu.request_log()[0].fault, Some(FaultKind::Unavailable));
}

#[tokio::test]
async fn runtime_api_delivers_and_collects() {
    let emu = manual().await;
    let addr = emu.addr();
    // A long poll that starts before the event exists.
    let poll = tokio::spawn(async move {
        http(addr, "GET", "/2018-06-01/runtime/invocation/next", &[], "").await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let event = json!({"CodePipeline.job": {"id": "11111111-abcd-1111-abcd-111111abcdef"}});
    let mut inv = emu.invoke(&event, Duration::from_secs(30));
    let next = poll.await.unwrap_or_else(|e| panic!("poll task: {e}"));
    assert_eq!(next.status, 200);
    assert_eq!(next.json(), event);
    assert_eq!(
        next.header("lambda-runtime-aws-request-id"),
        Some(inv.request_id())
    );
    assert_eq!(
        next.header("lambda-runtime-invoked-function-arn"),
        Some("arn:aws:lambda:us-east-1:000000000000:function:cf-invalidate")
    );
    assert!(
        next.header("lambda-runtime-trace-id")
            .is_some_and(|t| t.starts_with("Root=1-"))
    );
    let deadline: u64 = next
        .header("lambda-runtime-deadline-ms")
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    assert!(
        deadline > now + 25_000 && deadline <= now + 30_000,
        "{deadline} vs {now}"
    );
    assert!(inv.started().await.is_some());

    let rid = inv.request_id().to_string();
    let r = http(
        addr,
        "POST",
        &format!("/2018-06-01/runtime/invocation/{rid}/response"),
        &[],
        "\"done\"",
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(
        inv.finished().await,
        Some(InvocationOutcome::Response {
            body: "\"done\"".into()
        })
    );
    let r = http(
        addr,
        "POST",
        &format!("/2018-06-01/runtime/invocation/{rid}/response"),
        &[],
        "{}",
    )
    .await;
    assert_eq!(r.status, 400);

    let mut failing = emu.invoke(&json!({"n": 2}), Duration::from_secs(3));
    let next = http(addr, "GET", "/2018-06-01/runtime/invocation/next", &[], "").await;
    let rid2 = next
        .header("lambda-runtime-aws-request-id")
        .unwrap_or_default()
        .to_string();
    let body = r#"{"errorType":"HandlerError","errorMessage":"boom"}"#;
    let r = http(
        addr,
        "POST",
        &format!("/2018-06-01/runtime/invocation/{rid2}/error"),
        &[("lambda-runtime-function-error-type", "unhandled")],
        body,
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(
        failing.finished().await,
        Some(InvocationOutcome::Error {
            error_type: "HandlerError".into(),
            error_message: "boom".into()
        })
    );
    let r = http(
        addr,
        "POST",
        "/2018-06-01/runtime/init/error",
        &[],
        r#"{"errorType":"Runtime.InitError","errorMessage":"no config"}"#,
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(emu.init_errors()[0].error_message, "no config");

    let ops: Vec<(String, Option<String>, Option<String>)> = emu
        .request_log()
        .iter()
        .map(|r| {
            (
                r.operation.clone(),
                r.lambda_request_id.clone(),
                r.job_id.clone(),
            )
        })
        .collect();
    let job = Some("11111111-abcd-1111-abcd-111111abcdef".to_string());
    assert_eq!(
        ops[0],
        ("NextInvocation".to_string(), Some(rid.clone()), job)
    );
    assert_eq!(
        ops[1],
        ("InvocationResponse".to_string(), Some(rid.clone()), None)
    );
    assert_eq!(ops[2].0, "InvocationResponse");
    assert_eq!(ops[4], ("InvocationError".to_string(), Some(rid2), None));
    assert_eq!(ops[5].0, "InitError");
    assert!(
        emu.request_log()
            .iter()
            .all(|r| r.api == Api::LambdaRuntime)
    );
}

#[tokio::test]
async fn hung_requests_get_no_answer_until_the_caller_gives_up() {
    let emu = manual().await;
    emu.set_faults("cloudfront.hang=1".parse().unwrap_or_default());
    let path = format!("/2020-05-31/distribution/{DIST}/invalidation");
    let body = batch_xml(&["/a"], "r");
    let held = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        try_http(emu.addr(), "POST", &path, &[], &body),
    )
    .await;
    assert!(held.is_err(), "expected no answer at all, got {held:?}");
    assert!(
        emu.invalidations(DIST).is_empty(),
        "a hung request is not processed"
    );
    // The fault was for one call only: the next one is answered.
    let answered = create(emu.addr(), DIST, &["/a"], "r").await;
    assert!(answered.xml("Id").is_some());
    let outcomes: Vec<String> = emu.request_log().iter().map(|r| r.outcome()).collect();
    assert_eq!(outcomes, ["hung", "201"]);
}

#[tokio::test]
async fn dropped_connections_close_without_a_response() {
    let emu = manual().await;
    emu.set_faults("cloudfront.drop=1".parse().unwrap_or_default());
    let r = try_http(
        emu.addr(),
        "POST",
        &format!("/2020-05-31/distribution/{DIST}/invalidation"),
        &[],
        &batch_xml(&["/a"], "r"),
    )
    .await;
    assert!(r.is_err(), "expected no response, got {r:?}");
    assert!(
        emu.invalidations(DIST).is_empty(),
        "a dropped request must not be processed"
    );
    emu.set_faults("cloudfront.drop-after=1".parse().unwrap_or_default());
    let r = try_http(
        emu.addr(),
        "POST",
        &format!("/2020-05-31/distribution/{DIST}/invalidation"),
        &[],
        &batch_xml(&["/a"], "r"),
    )
    .await;
    assert!(r.is_err(), "expected no response, got {r:?}");
    assert_eq!(
        emu.invalidations(DIST).len(),
        1,
        "drop-after processes the request"
    );
    emu.set_faults(Default::default());
    // The retry with the same CallerReference finds the invalidation that was created.
    let retry = create(emu.addr(), DIST, &["/a"], "r").await;
    assert_eq!(retry.xml("Id"), Some(emu.invalidations(DIST)[0].id.clone()));
    let log = emu.request_log();
    assert_eq!(
        log.iter()
            .map(|r| (r.outcome(), r.fault))
            .collect::<Vec<_>>(),
        [
            ("dropped".to_string(), Some(FaultKind::Drop)),
            ("dropped".to_string(), Some(FaultKind::DropAfter)),
            ("201".to_string(), None),
        ]
    );
    assert_eq!(log[1].invalidation_id, retry.xml("Id"));
}

#[tokio::test]
async fn injected_errors_latency_and_storms() {
    let emu = manual().await;
    emu.set_faults(
        "cloudfront.too-many=2,cloudfront.latency=200ms"
            .parse()
            .unwrap_or_default(),
    );
    let codes: Vec<Option<String>> = {
        let mut v = Vec::new();
        for i in 0..3 {
            v.push(
                create(emu.addr(), DIST, &["/a"], &format!("s{i}"))
                    .await
                    .xml("Code"),
            );
        }
        v
    };
    assert_eq!(
        codes,
        [
            Some("TooManyInvalidationsInProgress".to_string()),
            Some("TooManyInvalidationsInProgress".into()),
            None
        ]
    );
    // too-many only hits CreateInvalidation, and the count is used up.
    assert_eq!(
        emu.faults().cloudfront.too_many,
        Some(local_aws::Dose::Next(0))
    );
    let log = emu.request_log();
    assert!(
        log.iter().all(|r| r.duration_ms >= 200),
        "latency is added to every call"
    );
    assert_eq!(log[0].fault, Some(FaultKind::TooMany));

    emu.set_faults("cloudfront.throttle=1".parse().unwrap_or_default());
    let r = http(
        emu.addr(),
        "GET",
        "/2020-05-31/distribution/EDIST1/invalidation",
        &[],
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref()),
        (400, Some("Throttling"))
    );
    emu.set_faults("cloudfront.unavailable=1".parse().unwrap_or_default());
    let r = http(
        emu.addr(),
        "GET",
        "/2020-05-31/distribution/EDIST1/invalidation",
        &[],
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.xml("Code").as_deref(), r.xml("Type").as_deref()),
        (503, Some("ServiceUnavailable"), Some("Receiver"))
    );
}

#[tokio::test]
async fn throttling_is_answered_as_aws_answers_it() {
    let emu = manual().await;
    let job = emu.create_job(None);
    emu.set_faults(
        "codepipeline.throttle=1,cloudfront.throttle=1"
            .parse()
            .unwrap_or_default(),
    );

    // CodePipeline: HTTP 400, JSON 1.1, `__type` and AWS's own message, a request id header.
    let r = put_job(emu.addr(), "PutJobSuccessResult", json!({"jobId": job})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
    );
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let request_id = r.header("x-amzn-requestid").unwrap_or_default();
    assert_eq!(request_id.len(), 36, "{:?}", r.headers);
    assert_eq!(emu.job(&job).and_then(|j| j.result), None);

    // CloudFront: HTTP 400, the XML error document with code Throttling, type Sender.
    let r = http(
        emu.addr(),
        "GET",
        &format!("/2020-05-31/distribution/{DIST}/invalidation"),
        &[],
        "",
    )
    .await;
    let rid = r.header("x-amz-request-id").unwrap_or_default().to_string();
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
    );
    let log = emu.request_log();
    assert_eq!(
        log.iter()
            .map(|r| (r.outcome(), r.fault))
            .collect::<Vec<_>>(),
        [
            (
                "400 ThrottlingException".to_string(),
                Some(FaultKind::Throttle)
            ),
            ("400 Throttling".to_string(), Some(FaultKind::Throttle)),
        ]
    );
    assert_eq!(log[0].request_id, request_id);
}

#[tokio::test]
async fn seeded_rates_repeat() {
    async fn outcomes(seed: u64) -> Vec<String> {
        let emu = start(EmulatorConfig {
            distributions: vec![DistributionConfig::new(DIST)],
            faults: "cloudfront.unavailable=0.3,cloudfront.throttle=0.3"
                .parse()
                .unwrap_or_default(),
            seed: Some(seed),
            clock: Clock::manual(),
            ..EmulatorConfig::default()
        })
        .await;
        for _ in 0..30 {
            http(
                emu.addr(),
                "GET",
                "/2020-05-31/distribution/EDIST1/invalidation",
                &[],
                "",
            )
            .await;
        }
        emu.request_log().iter().map(|r| r.outcome()).collect()
    }
    let a = outcomes(42).await;
    assert_eq!(a, outcomes(42).await);
    assert!(
        a.iter().any(|o| o == "200")
            && a.iter().any(|o| o == "503 ServiceUnavailable")
            && a.iter().any(|o| o == "400 Throttling"),
        "{a:?}"
    );
}

#[tokio::test]
async fn control_endpoints() {
    let emu = manual().await;
    let r = http(emu.addr(), "POST", "/_local/jobs", &[], "").await;
    assert_eq!(r.status, 201);
    let job = r.json()["jobId"].as_str().unwrap_or_default().to_string();
    assert!(emu.job(&job).is_some());
    let r = http(
        emu.addr(),
        "POST",
        "/_local/jobs",
        &[],
        r#"{"jobId":"22222222-abcd-2222-abcd-222222abcdef"}"#,
    )
    .await;
    assert_eq!(r.json()["jobId"], "22222222-abcd-2222-abcd-222222abcdef");
    let r = http(
        emu.addr(),
        "POST",
        "/_local/jobs",
        &[],
        r#"{"jobId":"nope"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = http(
        emu.addr(),
        "PUT",
        "/_local/faults",
        &[],
        "codepipeline.throttle=1",
    )
    .await;
    assert_eq!(
        (r.status, r.json()["faults"].as_str()),
        (200, Some("codepipeline.throttle=1"))
    );
    let r = put_job(emu.addr(), "PutJobSuccessResult", json!({"jobId": job})).await;
    assert_eq!(r.json()["__type"], "ThrottlingException");
    let r = http(
        emu.addr(),
        "PUT",
        "/_local/faults",
        &[],
        "codepipeline.bogus=1",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("codepipeline.bogus=1")
    );
    let r = http(emu.addr(), "GET", "/_local/requests", &[], "").await;
    assert!(r.json().as_array().is_some_and(|a| a.len() >= 5));
    let r = http(emu.addr(), "GET", "/_local/jobs", &[], "").await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn wait_for_job_result_sees_reports() {
    let emu = manual().await;
    let job = emu.create_job(None);
    let addr = emu.addr();
    let j = job.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        put_job(
            addr,
            "PutJobFailureResult",
            json!({"jobId": j, "failureDetails": {"type": "JobFailed", "message": "x"}}),
        )
        .await;
    });
    let result = emu.wait_for_job_result(&job, Duration::from_secs(5)).await;
    assert!(matches!(result, Some(JobResult::Failed { .. })));
    assert!(emu.time_out_job(&emu.create_job(None), "no reply"));
}
