//! The edge of a distribution with an S3 origin, as a viewer sees it over HTTP: what it
//! caches, for how long, and what an invalidation drops, on the emulator's clock.

mod support;

use std::time::Duration;

use local_aws::{
    Clock, DistributionConfig, DurationRange, EdgeInvalidatesAt, Emulator, EmulatorConfig,
    EmulatorHandle,
};
use support::{HttpReply, create, http};

const DIST: &str = "E2QWRUHEXAMPLE";
const BUCKET: &str = "site-bucket";
/// How long the distribution's invalidations stay InProgress.
const COMPLETES_AFTER: Duration = Duration::from_secs(5);

async fn start_with(dist: DistributionConfig, at: EdgeInvalidatesAt) -> EmulatorHandle {
    let config = EmulatorConfig {
        distributions: vec![dist.completes_after(DurationRange::fixed(COMPLETES_AFTER))],
        edge_invalidates_at: at,
        clock: Clock::manual(),
        seed: Some(3),
        ..EmulatorConfig::default()
    };
    match Emulator::start(config).await {
        Ok(emu) => emu,
        Err(e) => panic!("emulator did not start: {e}"),
    }
}

async fn start(at: EdgeInvalidatesAt) -> EmulatorHandle {
    start_with(DistributionConfig::new(DIST).origin(BUCKET), at).await
}

/// Uploads an object through the emulator's S3 over HTTP, with extra request headers.
async fn upload(emu: &EmulatorHandle, encoded_key: &str, body: &str, headers: &[(&str, &str)]) {
    let r = http(
        emu.addr(),
        "PUT",
        &format!("/{BUCKET}/{encoded_key}"),
        headers,
        body,
    )
    .await;
    assert_eq!(r.status, 200, "PutObject {encoded_key}: {}", r.body);
}

/// A viewer's request to the distribution's edge.
async fn viewer(emu: &EmulatorHandle, method: &str, path: &str) -> HttpReply {
    let Some(addr) = emu.edge_addr(DIST) else {
        panic!("{DIST} has no edge");
    };
    http(addr, method, path, &[], "").await
}

async fn get(emu: &EmulatorHandle, path: &str) -> HttpReply {
    viewer(emu, "GET", path).await
}

fn x_cache(r: &HttpReply) -> &str {
    r.header("x-cache").unwrap_or("(no X-Cache)")
}

fn advance(emu: &EmulatorHandle, by: Duration) {
    assert!(emu.clock().advance(by), "the clock is manual");
}

async fn invalidate(emu: &EmulatorHandle, paths: &[&str], reference: &str) {
    let r = create(emu.addr(), DIST, paths, reference).await;
    assert_eq!(r.status, 201, "CreateInvalidation {paths:?}: {}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_then_hits_with_a_growing_age_and_the_origin_headers() {
    let emu = start(EdgeInvalidatesAt::Completed).await;
    assert_eq!(
        emu.edge_endpoint(DIST),
        emu.edge_addr(DIST).map(|a| format!("http://{a}"))
    );
    upload(
        &emu,
        "index.html",
        "<h1>v1</h1>",
        &[("content-type", "text/html")],
    )
    .await;
    let stored = emu
        .object(BUCKET, "index.html")
        .unwrap_or_else(|| panic!("not stored"));

    let first = get(&emu, "/index.html").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body, "<h1>v1</h1>");
    assert_eq!(x_cache(&first), "Miss from cloudfront");
    assert_eq!(first.header("age"), None);
    assert_eq!(first.header("etag"), Some(stored.etag.as_str()));
    assert_eq!(first.header("content-type"), Some("text/html"));
    assert_eq!(first.header("content-length"), Some("11"));
    let last_modified = httpdate::fmt_http_date(stored.last_modified);
    assert_eq!(first.header("last-modified"), Some(last_modified.as_str()));

    advance(&emu, Duration::from_millis(2500));
    let second = get(&emu, "/index.html").await;
    assert_eq!(x_cache(&second), "Hit from cloudfront");
    assert_eq!(second.header("age"), Some("2"));
    assert_eq!(second.header("etag"), Some(stored.etag.as_str()));

    // The query string is not in the cache key: the same object, still from the cache.
    advance(&emu, Duration::from_secs(1));
    let queried = get(&emu, "/index.html?v=2&utm=x").await;
    assert_eq!(x_cache(&queried), "Hit from cloudfront");
    assert_eq!(queried.header("age"), Some("3"));

    // HEAD: the same headers, no body.
    let head = viewer(&emu, "HEAD", "/index.html").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.body, "");
    assert_eq!(head.header("content-length"), Some("11"));
    assert_eq!(x_cache(&head), "Hit from cloudfront");

    // Only cachable methods are allowed.
    let post = viewer(&emu, "POST", "/index.html").await;
    assert_eq!(post.status, 403);

    // The request log tells each viewer request.
    let viewed: Vec<String> = (emu.request_log().iter())
        .filter(|r| r.operation.starts_with("Viewer"))
        .filter_map(|r| r.detail.clone())
        .collect();
    assert_eq!(
        viewed[..2],
        [
            "/index.html: Miss from cloudfront",
            "/index.html: Hit from cloudfront"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttls_come_from_the_origin_within_the_policy_limits() {
    let emu = start(EdgeInvalidatesAt::Completed).await;
    let objects = [
        ("max-age.html", "max-age=60"),
        ("s-maxage.html", "max-age=600, s-maxage=5"),
        ("zero.html", "max-age=0"),
        ("huge.html", "max-age=99999999999"),
        ("default.html", ""),
    ];
    for (key, cache_control) in objects {
        let headers: Vec<(&str, &str)> = if cache_control.is_empty() {
            Vec::new()
        } else {
            vec![("cache-control", cache_control)]
        };
        upload(&emu, key, "v1", &headers).await;
        assert_eq!(
            x_cache(&get(&emu, &format!("/{key}")).await),
            "Miss from cloudfront"
        );
        upload(&emu, key, "v2", &headers).await;
    }
    // Each object is served from the cache until its TTL runs out, then fetched again.
    let expect = async |key: &str, body: &str, x: &str| {
        let r = get(&emu, &format!("/{key}")).await;
        assert_eq!((r.body.as_str(), x_cache(&r)), (body, x), "{key}");
    };
    advance(&emu, Duration::from_millis(999));
    expect("zero.html", "v1", "Hit from cloudfront").await;
    advance(&emu, Duration::from_millis(1));
    // max-age=0 is held to the minimum TTL, 1 s.
    expect("zero.html", "v2", "Miss from cloudfront").await;
    expect("s-maxage.html", "v1", "Hit from cloudfront").await;
    advance(&emu, Duration::from_secs(4));
    // s-maxage wins over max-age.
    expect("s-maxage.html", "v2", "Miss from cloudfront").await;
    expect("max-age.html", "v1", "Hit from cloudfront").await;
    advance(&emu, Duration::from_secs(55));
    expect("max-age.html", "v2", "Miss from cloudfront").await;
    advance(&emu, Duration::from_secs(86_400 - 61));
    expect("default.html", "v1", "Hit from cloudfront").await;
    advance(&emu, Duration::from_secs(1));
    // No Cache-Control: the default TTL, one day.
    expect("default.html", "v2", "Miss from cloudfront").await;
    advance(&emu, Duration::from_secs(31_536_000 - 86_400 - 1));
    expect("huge.html", "v1", "Hit from cloudfront").await;
    advance(&emu, Duration::from_secs(1));
    // A max-age beyond the maximum TTL is held to one year.
    expect("huge.html", "v2", "Miss from cloudfront").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_object_the_origin_still_has_is_a_refresh_hit() {
    let emu = start(EdgeInvalidatesAt::Completed).await;
    upload(&emu, "a.css", "a{}", &[("cache-control", "max-age=10")]).await;
    get(&emu, "/a.css").await;
    advance(&emu, Duration::from_secs(12));
    let refreshed = get(&emu, "/a.css").await;
    assert_eq!(x_cache(&refreshed), "RefreshHit from cloudfront");
    assert_eq!(refreshed.header("age"), Some("0"));
    advance(&emu, Duration::from_secs(3));
    let hit = get(&emu, "/a.css").await;
    assert_eq!(
        (x_cache(&hit), hit.header("age")),
        ("Hit from cloudfront", Some("3"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_s3_access_denied_cached_ten_seconds() {
    let emu = start(EdgeInvalidatesAt::Completed).await;
    let missing = get(&emu, "/late.html").await;
    assert_eq!(missing.status, 403);
    assert_eq!(missing.xml("Code").as_deref(), Some("AccessDenied"));
    let logged = (emu.request_log().pop()).map(|r| (r.outcome(), r.operation));
    assert_eq!(
        logged,
        Some(("403 AccessDenied".to_string(), "ViewerGet".to_string()))
    );
    assert_eq!(x_cache(&missing), "Error from cloudfront");
    // Without a default root object, `/` asks the origin for the bucket itself: refused too.
    assert_eq!(get(&emu, "/").await.status, 403);

    upload(&emu, "late.html", "here", &[]).await;
    advance(&emu, Duration::from_millis(9_999));
    assert_eq!(get(&emu, "/late.html").await.status, 403);
    advance(&emu, Duration::from_millis(1));
    let found = get(&emu, "/late.html").await;
    assert_eq!((found.status, found.body.as_str()), (200, "here"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_root_object_answers_for_the_root_and_is_invalidated_by_its_path() {
    let dist = DistributionConfig::new(DIST)
        .origin(BUCKET)
        .default_root_object("index.html");
    let emu = start_with(dist, EdgeInvalidatesAt::Created).await;
    upload(&emu, "index.html", "home v1", &[]).await;
    let root = get(&emu, "/").await;
    assert_eq!((root.status, root.body.as_str()), (200, "home v1"));
    assert_eq!(
        x_cache(&get(&emu, "/index.html").await),
        "Hit from cloudfront"
    );

    upload(&emu, "index.html", "home v2", &[]).await;
    invalidate(&emu, &["/index.html"], "root").await;
    let root = get(&emu, "/").await;
    assert_eq!(
        (root.body.as_str(), x_cache(&root)),
        ("home v2", "Miss from cloudfront")
    );
    // A subdirectory does not get the default root object.
    assert_eq!(get(&emu, "/docs/").await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_completed_an_invalidation_drops_objects_only_when_it_completes() {
    let emu = start(EdgeInvalidatesAt::Completed).await;
    upload(&emu, "app.js", "v1", &[]).await;
    get(&emu, "/app.js").await;
    upload(&emu, "app.js", "v2", &[]).await;
    invalidate(&emu, &["/app.js"], "deploy-2").await;

    advance(&emu, COMPLETES_AFTER - Duration::from_millis(1));
    assert_eq!(emu.invalidations(DIST)[0].status.as_str(), "InProgress");
    let stale = get(&emu, "/app.js").await;
    assert_eq!(
        (stale.body.as_str(), x_cache(&stale)),
        ("v1", "Hit from cloudfront")
    );

    advance(&emu, Duration::from_millis(1));
    assert_eq!(emu.invalidations(DIST)[0].status.as_str(), "Completed");
    let fresh = get(&emu, "/app.js").await;
    assert_eq!(
        (fresh.body.as_str(), x_cache(&fresh)),
        ("v2", "Miss from cloudfront")
    );
    // Stored after the invalidation took effect: kept.
    assert_eq!(x_cache(&get(&emu, "/app.js").await), "Hit from cloudfront");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_created_an_invalidation_drops_objects_at_once() {
    let emu = start(EdgeInvalidatesAt::Created).await;
    upload(&emu, "app.js", "v1", &[]).await;
    get(&emu, "/app.js").await;
    upload(&emu, "app.js", "v2", &[]).await;
    invalidate(&emu, &["/app.js"], "deploy-2").await;
    assert_eq!(emu.invalidations(DIST)[0].status.as_str(), "InProgress");
    let fresh = get(&emu, "/app.js").await;
    assert_eq!(
        (fresh.body.as_str(), x_cache(&fresh)),
        ("v2", "Miss from cloudfront")
    );
    assert_eq!(x_cache(&get(&emu, "/app.js").await), "Hit from cloudfront");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wildcard_drops_a_prefix_and_paths_are_case_sensitive() {
    let emu = start(EdgeInvalidatesAt::Created).await;
    let keys = ["assets/a.js", "assets/b/c.css", "assetsx.js", "index.html"];
    for key in keys {
        upload(&emu, key, "v1", &[]).await;
        get(&emu, &format!("/{key}")).await;
        upload(&emu, key, "v2", &[]).await;
    }
    invalidate(&emu, &["/assets/*", "/Index.html"], "wild").await;
    for (key, body) in [
        ("assets/a.js", "v2"),
        ("assets/b/c.css", "v2"),
        ("assetsx.js", "v1"),
        // `/Index.html` is another path than `/index.html`.
        ("index.html", "v1"),
    ] {
        assert_eq!(get(&emu, &format!("/{key}")).await.body, body, "{key}");
    }
    invalidate(&emu, &["/*"], "everything").await;
    assert_eq!(get(&emu, "/index.html").await.body, "v2");
    assert_eq!(get(&emu, "/assetsx.js").await.body, "v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_with_unsafe_characters_are_invalidated_through_their_encoded_form() {
    let emu = start(EdgeInvalidatesAt::Created).await;
    // (the object key, how a viewer asks for it, how the invalidation names it)
    let cases = [
        ("docs/a b.html", "/docs/a%20b.html", "/docs/a%20b.html"),
        ("docs/1+1.html", "/docs/1+1.html", "/docs/1+1.html"),
        ("docs/100%.html", "/docs/100%25.html", "/docs/100%25.html"),
        ("docs/~user.html", "/docs/~user.html", "/docs/%7Euser.html"),
        (
            "docs/caf\u{e9}.html",
            "/docs/caf%C3%A9.html",
            "/docs/caf%C3%A9.html",
        ),
    ];
    for (key, asked, _) in cases {
        if let Err(e) = emu.put_object(BUCKET, key, "v1", None) {
            panic!("{e}");
        }
        let r = get(&emu, asked).await;
        assert_eq!((r.status, r.body.as_str()), (200, "v1"), "{asked}");
        if let Err(e) = emu.put_object(BUCKET, key, "v2", None) {
            panic!("{e}");
        }
    }
    // Both forms of a key are the same cache entry.
    assert_eq!(
        x_cache(&get(&emu, "/docs/%7Euser.html").await),
        "Hit from cloudfront"
    );
    let paths: Vec<&str> = cases
        .iter()
        .map(|(_, _, invalidated)| *invalidated)
        .collect();
    invalidate(&emu, &paths, "unsafe").await;
    for (key, asked, _) in cases {
        let r = get(&emu, asked).await;
        assert_eq!(
            (r.body.as_str(), x_cache(&r)),
            ("v2", "Miss from cloudfront"),
            "{key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_tag_drops_the_objects_whose_metadata_carries_it() {
    let dist = DistributionConfig::new(DIST)
        .origin(BUCKET)
        .cache_tag_header("x-amz-meta-cache-tags");
    let emu = start_with(dist, EdgeInvalidatesAt::Created).await;
    let tagged = [("x-amz-meta-cache-tags", "Product:42, home")];
    let other = [("x-amz-meta-cache-tags", "product:7")];
    upload(&emu, "p42.html", "v1", &tagged).await;
    upload(&emu, "p7.html", "v1", &other).await;
    // S3 sends the metadata back as it was given; the edge passes it on.
    let origin = http(emu.addr(), "HEAD", &format!("/{BUCKET}/p42.html"), &[], "").await;
    assert_eq!(
        origin.header("x-amz-meta-cache-tags"),
        Some("Product:42, home")
    );
    let first = get(&emu, "/p42.html").await;
    assert_eq!(
        first.header("x-amz-meta-cache-tags"),
        Some("Product:42, home")
    );
    get(&emu, "/p7.html").await;
    upload(&emu, "p42.html", "v2", &tagged).await;
    upload(&emu, "p7.html", "v2", &other).await;

    // Tags are case-insensitive.
    invalidate(&emu, &["#PRODUCT:42"], "tag").await;
    assert_eq!(get(&emu, "/p42.html").await.body, "v2");
    assert_eq!(get(&emu, "/p7.html").await.body, "v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_settings_without_an_origin_are_refused() {
    let config = EmulatorConfig {
        distributions: vec![DistributionConfig::new(DIST).default_root_object("index.html")],
        ..EmulatorConfig::default()
    };
    let err = Emulator::start(config).await.err().map(|e| e.to_string());
    let err = err.unwrap_or_else(|| panic!("started without an origin"));
    assert!(err.contains(DIST) && err.contains("--origin"), "{err}");
    let config = EmulatorConfig {
        distributions: vec![DistributionConfig::new(DIST).origin("Bad_Bucket")],
        ..EmulatorConfig::default()
    };
    let err = Emulator::start(config).await.err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("'Bad_Bucket'")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_distribution_gives_the_edge_as_its_domain_name_to_the_cli() {
    let config = EmulatorConfig {
        distributions: vec![
            DistributionConfig::new(DIST)
                .origin(BUCKET)
                .default_root_object("index.html")
                .cache_tag_header("x-amz-meta-cache-tags")
                .completes_after(DurationRange::fixed(COMPLETES_AFTER)),
            DistributionConfig::new("EPLAIN"),
            DistributionConfig::denied("EDENIED"),
        ],
        clock: Clock::manual(),
        ..EmulatorConfig::default()
    };
    let emu = match Emulator::start(config).await {
        Ok(emu) => emu,
        Err(e) => panic!("emulator did not start: {e}"),
    };
    let ep = emu.endpoint();
    let got = support::aws(&ep, &["cloudfront", "get-distribution", "--id", DIST], &[])
        .await
        .ok();
    let d = &got["Distribution"];
    let edge = emu.edge_addr(DIST).map(|a| a.to_string());
    assert_eq!(d["DomainName"].as_str(), edge.as_deref(), "{got}");
    assert_eq!(d["Id"], DIST);
    assert_eq!(
        d["ARN"],
        format!("arn:aws:cloudfront::000000000000:distribution/{DIST}")
    );
    assert_eq!(d["Status"], "Deployed");
    assert_eq!(d["InProgressInvalidationBatches"], 0);
    assert!(d["LastModifiedTime"].as_str().is_some(), "{got}");
    let c = &d["DistributionConfig"];
    assert_eq!(c["DefaultRootObject"], "index.html");
    assert_eq!(c["Enabled"], true);
    assert_eq!(c["Origins"]["Quantity"], 1);
    assert_eq!(
        c["Origins"]["Items"][0]["DomainName"],
        format!("{BUCKET}.s3.us-east-1.amazonaws.com")
    );
    assert_eq!(
        c["DefaultCacheBehavior"]["TargetOriginId"],
        c["Origins"]["Items"][0]["Id"]
    );
    assert_eq!(c["CacheTagConfig"]["HeaderName"], "x-amz-meta-cache-tags");
    let etag = got["ETag"].as_str().unwrap_or_default();
    assert!(etag.starts_with('E') && etag.len() == 14, "{got}");

    // The DomainName is where viewers go.
    upload(&emu, "index.html", "home", &[]).await;
    let domain = d["DomainName"].as_str().unwrap_or_default();
    let addr: std::net::SocketAddr = domain
        .parse()
        .unwrap_or_else(|e| panic!("DomainName {domain}: {e}"));
    assert_eq!(http(addr, "GET", "/", &[], "").await.body, "home");

    invalidate(&emu, &["/index.html"], "r1").await;
    let got = support::aws(&ep, &["cloudfront", "get-distribution", "--id", DIST], &[])
        .await
        .ok();
    assert_eq!(got["Distribution"]["InProgressInvalidationBatches"], 1);

    // Without an origin: a CloudFront-shaped name and no origin.
    let plain = support::aws(
        &ep,
        &["cloudfront", "get-distribution", "--id", "EPLAIN"],
        &[],
    )
    .await
    .ok();
    assert_eq!(
        plain["Distribution"]["DomainName"],
        "deplain.cloudfront.net"
    );
    assert_eq!(
        plain["Distribution"]["DistributionConfig"]["Origins"]["Quantity"],
        0
    );
    for (id, code) in [
        ("EMISSING", "NoSuchDistribution"),
        ("EDENIED", "AccessDenied"),
    ] {
        support::aws(&ep, &["cloudfront", "get-distribution", "--id", id], &[])
            .await
            .fails_with(code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_port_can_be_chosen_and_a_taken_one_is_named() {
    let taken = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => l,
        Err(e) => panic!("cannot bind: {e}"),
    };
    let port = taken.local_addr().map(|a| a.port()).unwrap_or(0);
    let config = || EmulatorConfig {
        distributions: vec![DistributionConfig::new(DIST).origin(BUCKET).edge_port(port)],
        ..EmulatorConfig::default()
    };
    let err = Emulator::start(config()).await.err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains(DIST) && e.contains(&format!("127.0.0.1:{port}"))),
        "{err:?}"
    );
    drop(taken);
    let emu = match Emulator::start(config()).await {
        Ok(emu) => emu,
        Err(e) => panic!("emulator did not start on the freed port {port}: {e}"),
    };
    assert_eq!(emu.edge_addr(DIST).map(|a| a.port()), Some(port));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_through_the_cli_sets_the_ttl_and_the_tags_the_edge_reads() {
    let dist = DistributionConfig::new(DIST)
        .origin(BUCKET)
        .cache_tag_header("x-amz-meta-cache-tags");
    let emu = start_with(dist, EdgeInvalidatesAt::Created).await;
    let ep = emu.endpoint();
    let file = std::env::temp_dir().join(format!("local-aws-edge-{}.html", std::process::id()));
    if let Err(e) = std::fs::write(&file, "<p>page</p>") {
        panic!("cannot write {}: {e}", file.display());
    }
    let body = file.to_string_lossy().into_owned();
    let args = [
        "s3api",
        "put-object",
        "--bucket",
        BUCKET,
        "--key",
        "page.html",
        "--body",
        &body,
        "--content-type",
        "text/html",
        "--cache-control",
        "max-age=30",
        "--metadata",
        "cache-tags=Page:1",
    ];
    support::aws(&ep, &args, &[]).await.ok();
    let head = support::aws(
        &ep,
        &[
            "s3api",
            "head-object",
            "--bucket",
            BUCKET,
            "--key",
            "page.html",
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(head["CacheControl"], "max-age=30", "{head}");
    assert_eq!(head["Metadata"]["cache-tags"], "Page:1", "{head}");

    let first = get(&emu, "/page.html").await;
    assert_eq!(first.header("cache-control"), Some("max-age=30"));
    advance(&emu, Duration::from_secs(29));
    assert_eq!(
        x_cache(&get(&emu, "/page.html").await),
        "Hit from cloudfront"
    );
    invalidate(&emu, &["#page:1"], "tag").await;
    assert_eq!(
        x_cache(&get(&emu, "/page.html").await),
        "Miss from cloudfront"
    );
    let _ = std::fs::remove_file(&file);
}
