//! The viewer side of each distribution that has an origin: a listener of its own that
//! answers GET and HEAD from the distribution's edge cache, filled from local-aws's S3.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use super::Shared;
use super::http::Stop;
use crate::cloudfront::edge::{
    self, CachedResponse, ERROR_TTL, EdgeCache, Lookup, cache_key, cache_tags,
};
use crate::faults::Api;
use crate::log::RequestRecord;
use crate::s3::{self, StoredObject};

/// What the edge of one distribution serves: its origin and the settings that shape its cache.
#[derive(Debug, Clone)]
pub(super) struct EdgeSite {
    pub distribution_id: String,
    pub bucket: String,
    pub default_root_object: Option<String>,
    pub cache_tag_header: Option<String>,
    /// 0: any free port.
    pub port: u16,
}

/// Accepts viewer connections for one distribution until `stop`.
pub(super) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    site: Arc<EdgeSite>,
    mut stop: Stop,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, shared.clone(), site.clone(), stop.clone()));
                }
                Err(e) => {
                    tracing::warn!("edge accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = stop.stopped() => return,
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    site: Arc<EdgeSite>,
    mut stop: Stop,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req: Request<Incoming>| {
        let answer = answer(&shared, &site, req.method().as_str(), req.uri().path());
        async move { Ok::<_, Infallible>(answer) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = stop.stopped() => {}
    }
}

/// How a response was served, as `X-Cache` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Hit,
    RefreshHit,
    Miss,
}

impl Served {
    fn x_cache(self, status: u16) -> &'static str {
        match self {
            _ if status >= 400 => "Error from cloudfront",
            Served::Hit => "Hit from cloudfront",
            Served::RefreshHit => "RefreshHit from cloudfront",
            Served::Miss => "Miss from cloudfront",
        }
    }
}

fn answer(shared: &Shared, site: &EdgeSite, method: &str, path: &str) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let arrived = shared.clock.elapsed_ms();
    let request_id = shared.lock().request_ids.uuid();
    let (response, detail, error_code) = if method == "GET" || method == "HEAD" {
        let key = match (&site.default_root_object, path) {
            (Some(root), "/") => format!("/{root}"),
            _ => cache_key(path),
        };
        let (cached, served, now_ms) = serve(shared, site, &key);
        let detail = format!("{key}: {}", served.x_cache(cached.status));
        let response = respond(&cached, served, now_ms, method == "HEAD", &request_id);
        (response, detail, cached.error_code)
    } else {
        let body = "This distribution is not configured to allow the HTTP request method that was used for this request. The distribution supports only cachable requests.";
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = hyper::StatusCode::FORBIDDEN;
        insert(&mut response, "content-type", "text/plain");
        insert(&mut response, "x-cache", "Error from cloudfront");
        (response, format!("{method} not allowed"), None)
    };
    let status = response.status().as_u16();
    shared.log.push(RequestRecord {
        seq: 0,
        at_ms: arrived,
        duration_ms: crate::clock::duration_ms(started.elapsed()),
        api: Api::CloudFront,
        operation: match method {
            "GET" => "ViewerGet",
            "HEAD" => "ViewerHead",
            _ => "Unsupported",
        }
        .to_string(),
        request_id,
        distribution_id: Some(site.distribution_id.clone()),
        distribution_tenant_id: None,
        invalidation_id: None,
        job_id: None,
        lambda_request_id: None,
        status: Some(status),
        error_code,
        fault: None,
        detail: Some(detail),
        caller_reference_reuse: None,
        body_bytes: None,
    });
    response
}

/// The response for `key`: from the cache when fresh, else from the origin (and then cached).
/// The state stays locked throughout, so that no invalidation slips between the origin read
/// and the store.
fn serve(shared: &Shared, site: &EdgeSite, key: &str) -> (CachedResponse, Served, u64) {
    let now = shared.clock.elapsed();
    let now_ms = crate::clock::duration_ms(now);
    let mut state = shared.lock();
    let super::State {
        cloudfront, edges, ..
    } = &mut *state;
    let cache = edges
        .entry(site.distribution_id.clone())
        .or_insert_with(EdgeCache::default);
    let at = shared.edge_invalidates_at;
    cache.apply(cloudfront.in_effect_at_edge(&site.distribution_id, now, at));
    let expired = match cache.lookup(key, now_ms) {
        Lookup::Fresh(cached) => return (cached, Served::Hit, now_ms),
        Lookup::Expired(cached) => Some(cached),
        Lookup::Absent => None,
    };
    let fetched = fetch(shared, site, key, now_ms);
    let served = match expired {
        Some(old) if old.status == 200 && old.etag.is_some() && old.etag == fetched.etag => {
            Served::RefreshHit
        }
        _ => Served::Miss,
    };
    cache.store(key.to_string(), fetched.clone());
    (fetched, served, now_ms)
}

/// Asks the origin for `key` (the cache key without its leading `/`), as an S3 REST origin
/// answers a caller without `s3:ListBucket`: a missing key is 403 AccessDenied.
fn fetch(shared: &Shared, site: &EdgeSite, key: &str, now_ms: u64) -> CachedResponse {
    let object_key = key.strip_prefix('/').unwrap_or(key);
    let found = shared.s3.store().get(&site.bucket, object_key);
    let error = |status: u16, code: &str, message: &str| {
        let reply = s3::error_reply(status, code, message, "");
        CachedResponse {
            status,
            error_code: Some(code.to_string()),
            headers: vec![("content-type".to_string(), "application/xml".to_string())],
            body: reply.body,
            etag: None,
            tags: Vec::new(),
            stored_ms: now_ms,
            ttl: ERROR_TTL,
        }
    };
    match found {
        Ok(Some(object)) => from_object(&object, site, now_ms),
        Ok(None) => error(403, "AccessDenied", "Access Denied"),
        Err(missing) => error(
            404,
            "NoSuchBucket",
            &format!("The specified bucket does not exist: {}", missing.0),
        ),
    }
}

fn from_object(object: &StoredObject, site: &EdgeSite, now_ms: u64) -> CachedResponse {
    let mut headers = vec![
        ("content-type".to_string(), object.content_type.clone()),
        ("etag".to_string(), object.etag.clone()),
        (
            "last-modified".to_string(),
            httpdate::fmt_http_date(object.last_modified),
        ),
    ];
    if let Some(cache_control) = &object.cache_control {
        headers.push(("cache-control".to_string(), cache_control.clone()));
    }
    for (name, value) in &object.metadata {
        headers.push((format!("x-amz-meta-{name}"), value.clone()));
    }
    let tag_header = site.cache_tag_header.as_deref();
    CachedResponse {
        status: 200,
        error_code: None,
        headers,
        body: object.body.clone(),
        etag: Some(object.etag.clone()),
        tags: cache_tags(tag_header.and_then(|h| object.stored_header(h))),
        stored_ms: now_ms,
        ttl: edge::ttl(object.cache_control.as_deref()),
    }
}

fn respond(
    cached: &CachedResponse,
    served: Served,
    now_ms: u64,
    head: bool,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let body = if head {
        Bytes::new()
    } else {
        cached.body.clone()
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = hyper::StatusCode::from_u16(cached.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &cached.headers {
        insert(&mut response, name, value);
    }
    // Set for HEAD too: the length of the body a GET would get.
    insert(
        &mut response,
        "content-length",
        &cached.body.len().to_string(),
    );
    insert(&mut response, "x-cache", served.x_cache(cached.status));
    if served != Served::Miss {
        insert(
            &mut response,
            "age",
            &cached.age_seconds(now_ms).to_string(),
        );
    }
    insert(&mut response, "x-amz-cf-id", request_id);
    response
}

/// Adds a header; a name or value HTTP cannot carry is left out (object metadata S3 took
/// from headers always can be carried).
fn insert(response: &mut Response<Full<Bytes>>, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        hyper::header::HeaderName::from_bytes(name.as_bytes()),
        hyper::header::HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}
