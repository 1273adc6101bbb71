//! S3 for a pipeline's artifact bucket: an in-memory object store served through the `s3s`
//! crate (S3's routing, XML and headers), with S3's own answers for ranged reads.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use s3s::dto::{
    Bucket, CreateBucketInput, CreateBucketOutput, DeleteObjectInput, DeleteObjectOutput, ETag,
    GetObjectInput, GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput,
    HeadObjectOutput, ListBucketsInput, ListBucketsOutput, ListObjectsV2Input, ListObjectsV2Output,
    Object, PutObjectInput, PutObjectOutput, Range, StreamingBlob, Timestamp,
};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use crate::reply::{CallInfo, Reply};

/// Largest object body accepted by PutObject.
pub(crate) const MAX_OBJECT: usize = 256 * 1024 * 1024;

/// The most keys one ListObjectsV2 page returns, as on S3.
const MAX_KEYS: usize = 1000;

#[derive(Debug, Clone)]
pub struct StoredObject {
    pub body: Bytes,
    /// `"` + MD5 hex + `"`, as S3 gives a single-part upload.
    pub etag: String,
    pub last_modified: SystemTime,
    /// The Content-Type given on upload (`binary/octet-stream` when none was).
    pub content_type: String,
    /// The Cache-Control given on upload, sent back as it was.
    pub cache_control: Option<String>,
    /// User metadata (`x-amz-meta-NAME` on upload), keyed by NAME in lower case.
    pub metadata: BTreeMap<String, String>,
}

impl StoredObject {
    pub(crate) fn new(body: Bytes, content_type: Option<String>) -> Self {
        let hex = cf_invalidate::text::hex(&Md5::digest(&body));
        Self {
            body,
            etag: format!("\"{hex}\""),
            last_modified: SystemTime::now(),
            content_type: content_type.unwrap_or_else(|| "binary/octet-stream".to_string()),
            cache_control: None,
            metadata: BTreeMap::new(),
        }
    }

    /// The value of a response header S3 sends from what was stored with the object:
    /// `Cache-Control`, or `x-amz-meta-NAME` for user metadata. `name` is matched in any case.
    pub(crate) fn stored_header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        if name == "cache-control" {
            return self.cache_control.as_deref();
        }
        let key = name.strip_prefix("x-amz-meta-")?;
        self.metadata.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone)]
struct StoredBucket {
    created: SystemTime,
    objects: BTreeMap<String, StoredObject>,
}

/// Buckets and their objects, in memory.
#[derive(Debug, Default)]
pub(crate) struct ObjectStore {
    buckets: BTreeMap<String, StoredBucket>,
}

/// A bucket that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no bucket named '{0}' in local-aws: create it first (EmulatorHandle::create_bucket, or PutObject after CreateBucket)"
)]
pub struct NoSuchBucket(pub String);

impl ObjectStore {
    /// Creates a bucket; an existing one keeps its objects.
    pub(crate) fn create_bucket(&mut self, bucket: &str) {
        self.buckets
            .entry(bucket.to_string())
            .or_insert_with(|| StoredBucket {
                created: SystemTime::now(),
                objects: BTreeMap::new(),
            });
    }

    pub(crate) fn put(
        &mut self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: Option<String>,
    ) -> Result<StoredObject, NoSuchBucket> {
        self.insert(bucket, key, StoredObject::new(body, content_type))
    }

    /// Stores `object` under `key`, replacing any object there.
    pub(crate) fn insert(
        &mut self,
        bucket: &str,
        key: &str,
        object: StoredObject,
    ) -> Result<StoredObject, NoSuchBucket> {
        let objects = self.objects_mut(bucket)?;
        objects.insert(key.to_string(), object.clone());
        Ok(object)
    }

    /// `Err` when the bucket is missing, `Ok(None)` when the key is.
    pub(crate) fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<StoredObject>, NoSuchBucket> {
        Ok(self.objects(bucket)?.get(key).cloned())
    }

    /// The keys of `bucket` under `prefix` that come after `after`, in order, at most `max`,
    /// and whether more remain.
    pub(crate) fn list(
        &self,
        bucket: &str,
        prefix: &str,
        after: Option<&str>,
        max: usize,
    ) -> Result<(Vec<(String, StoredObject)>, bool), NoSuchBucket> {
        let mut matching = self
            .objects(bucket)?
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a));
        let page: Vec<(String, StoredObject)> = matching
            .by_ref()
            .take(max)
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        let truncated = matching.next().is_some();
        Ok((page, truncated))
    }

    fn objects(&self, bucket: &str) -> Result<&BTreeMap<String, StoredObject>, NoSuchBucket> {
        let found = self.buckets.get(bucket).map(|b| &b.objects);
        found.ok_or_else(|| NoSuchBucket(bucket.into()))
    }

    fn objects_mut(
        &mut self,
        bucket: &str,
    ) -> Result<&mut BTreeMap<String, StoredObject>, NoSuchBucket> {
        let found = self.buckets.get_mut(bucket).map(|b| &mut b.objects);
        found.ok_or_else(|| NoSuchBucket(bucket.into()))
    }

    fn bucket_names(&self) -> Vec<(String, SystemTime)> {
        self.buckets
            .iter()
            .map(|(name, b)| (name.clone(), b.created))
            .collect()
    }
}

/// A `Range` header that no byte of the object satisfies (S3: 416 `InvalidRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsatisfiable;

/// The inclusive byte span `first..=last` a range selects in an object of `len` bytes, as S3
/// reads it: an end past the object is cut to its last byte, a suffix longer than the object
/// is the whole object, and a start at or past the end (or any range of an empty object, or
/// a zero-length suffix) is unsatisfiable. (GetObject answers a non-empty suffix of an empty
/// object with the empty object itself, before asking this.)
pub(crate) fn resolve_range(range: Range, len: u64) -> Result<(u64, u64), Unsatisfiable> {
    if len == 0 {
        return Err(Unsatisfiable);
    }
    match range {
        Range::Int { first, last } => {
            if first >= len {
                return Err(Unsatisfiable);
            }
            let last = last.map_or(len - 1, |l| l.min(len - 1));
            Ok((first, last))
        }
        Range::Suffix { length } => {
            if length == 0 {
                return Err(Unsatisfiable);
            }
            Ok((len.saturating_sub(length), len - 1))
        }
    }
}

/// Whether S3 reads a `Range` header at all: one well-formed range whose end (when given) is
/// not before its start. Anything else (`bytes=abc`, `bytes=5-2`, several ranges) S3 ignores
/// and sends the whole object with 200 (versity/versitygw#1120, #2052; noobaa/noobaa-core#9889;
/// basho/riak_cs#304 for several ranges).
pub(crate) fn readable_range(header: &str) -> bool {
    match Range::parse(header) {
        Ok(Range::Int {
            first,
            last: Some(last),
        }) => last >= first,
        Ok(_) => true,
        Err(_) => false,
    }
}

/// The `s3s` storage backend over the shared store.
struct S3Backend {
    store: Arc<Mutex<ObjectStore>>,
    /// A missing key is 403 `AccessDenied`, not 404 `NoSuchKey`: S3's answer to credentials
    /// without `s3:ListBucket` on the bucket.
    missing_key_denied: bool,
}

impl S3Backend {
    fn store(&self) -> MutexGuard<'_, ObjectStore> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn find(&self, bucket: &str, key: &str) -> S3Result<StoredObject> {
        self.store().get(bucket, key)?.ok_or_else(|| {
            if self.missing_key_denied {
                // S3 will not say whether the key exists to a caller who may not list the bucket.
                s3_error!(AccessDenied, "Access Denied")
            } else {
                s3_error!(NoSuchKey, "The specified key does not exist: {key}")
            }
        })
    }
}

impl From<NoSuchBucket> for S3Error {
    fn from(e: NoSuchBucket) -> Self {
        s3_error!(NoSuchBucket, "The specified bucket does not exist: {}", e.0)
    }
}

fn etag(object: &StoredObject) -> ETag {
    ETag::Strong(object.etag.trim_matches('"').to_string())
}

/// The object's user metadata as s3s sends it (`x-amz-meta-NAME` headers), none if empty.
fn user_metadata(object: &StoredObject) -> Option<s3s::dto::Metadata> {
    let pairs = object.metadata.iter();
    (!object.metadata.is_empty()).then(|| pairs.map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl S3 for S3Backend {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.store().create_bucket(&req.input.bucket);
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{}", req.input.bucket)),
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.store().list(&req.input.bucket, "", None, 0)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let buckets = self
            .store()
            .bucket_names()
            .into_iter()
            .map(|(name, created)| Bucket {
                name: Some(name),
                creation_date: Some(Timestamp::from(created)),
                ..Bucket::default()
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            ..ListBucketsOutput::default()
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        let body = match input.body {
            Some(blob) => read_blob(blob).await?,
            None => Bytes::new(),
        };
        let mut object = StoredObject::new(body, input.content_type);
        object.cache_control = input.cache_control;
        let metadata = input.metadata.unwrap_or_default().into_iter();
        object.metadata = metadata
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        let object = self.store().insert(&input.bucket, &input.key, object)?;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&object)),
            ..PutObjectOutput::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let object = self.find(&input.bucket, &input.key)?;
        let len = object.body.len() as u64;
        let mut out = GetObjectOutput::default();
        let body = match input.range {
            // A suffix of an empty object: S3 sends the (empty) object, 200 without
            // Content-Range (apache/arrow-rs-object-store#846), where any other range is 416.
            Some(Range::Suffix { length }) if len == 0 && length > 0 => object.body.clone(),
            Some(range) => {
                let (first, last) = resolve_range(range, len).map_err(|Unsatisfiable| {
                    s3_error!(
                        InvalidRange,
                        "The requested range is not satisfiable: {} of an object of {len} bytes",
                        range.to_header_string()
                    )
                })?;
                out.content_range = Some(format!("bytes {first}-{last}/{len}"));
                // first <= last < len, and len came from a usize.
                object.body.slice(
                    usize::try_from(first).unwrap_or(0)..usize::try_from(last + 1).unwrap_or(0),
                )
            }
            None => object.body.clone(),
        };
        out.content_length = Some(to_i64(body.len()));
        out.accept_ranges = Some("bytes".to_string());
        out.e_tag = Some(etag(&object));
        out.last_modified = Some(Timestamp::from(object.last_modified));
        out.content_type = Some(object.content_type.clone());
        out.cache_control = object.cache_control.clone();
        out.metadata = user_metadata(&object);
        out.body = Some(StreamingBlob::from(s3s::Body::from(body)));
        Ok(S3Response::new(out))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let object = self.find(&input.bucket, &input.key)?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(to_i64(object.body.len())),
            accept_ranges: Some("bytes".to_string()),
            e_tag: Some(etag(&object)),
            last_modified: Some(Timestamp::from(object.last_modified)),
            content_type: Some(object.content_type.clone()),
            cache_control: object.cache_control.clone(),
            metadata: user_metadata(&object),
            ..HeadObjectOutput::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let mut store = self.store();
        store.objects_mut(&req.input.bucket)?.remove(&req.input.key);
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = match input.max_keys {
            Some(n) if n < 0 => {
                return Err(s3_error!(
                    InvalidArgument,
                    "max-keys must be 0 or more, got {n}"
                ));
            }
            Some(n) => usize::try_from(n).unwrap_or(MAX_KEYS).min(MAX_KEYS),
            None => MAX_KEYS,
        };
        // The continuation token is the last key of the previous page: opaque enough for
        // clients, which only pass it back.
        let after = input
            .continuation_token
            .as_deref()
            .or(input.start_after.as_deref());
        let (page, truncated) = self.store().list(&input.bucket, &prefix, after, max)?;
        let next_continuation_token = if truncated {
            page.last().map(|(k, _)| k.clone())
        } else {
            None
        };
        let key_count = i32::try_from(page.len()).unwrap_or(i32::MAX);
        let contents = page
            .into_iter()
            .map(|(key, object)| Object {
                size: Some(to_i64(object.body.len())),
                e_tag: Some(etag(&object)),
                last_modified: Some(Timestamp::from(object.last_modified)),
                key: Some(key),
                ..Object::default()
            })
            .collect();
        let out = ListObjectsV2Output {
            name: Some(input.bucket.clone()),
            prefix: Some(prefix),
            max_keys: Some(i32::try_from(max).unwrap_or(i32::MAX)),
            key_count: Some(key_count),
            is_truncated: Some(truncated),
            continuation_token: input.continuation_token.clone(),
            start_after: input.start_after.clone(),
            next_continuation_token,
            contents: Some(contents),
            ..ListObjectsV2Output::default()
        };
        Ok(S3Response::new(out))
    }
}

async fn read_blob(blob: StreamingBlob) -> S3Result<Bytes> {
    let body = s3s::Body::from(blob);
    let collected = http_body_util::Limited::new(body, MAX_OBJECT)
        .collect()
        .await
        .map_err(|e| {
            s3_error!(
                EntityTooLarge,
                "could not read the object body (local-aws keeps objects of at most {MAX_OBJECT} bytes): {e}"
            )
        })?;
    Ok(collected.to_bytes())
}

/// The S3 side of the emulator: the store and the `s3s` service over it.
#[derive(Clone)]
pub(crate) struct S3Server {
    store: Arc<Mutex<ObjectStore>>,
    service: S3Service,
    /// When set, requests signed with any other access key id are refused.
    required_access_key: Option<String>,
}

impl std::fmt::Debug for S3Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Server")
            .field("required_access_key", &self.required_access_key)
            .finish_non_exhaustive()
    }
}

/// One S3 request, as the router received it.
pub(crate) struct S3Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a hyper::HeaderMap,
    pub body: Bytes,
}

impl S3Server {
    pub(crate) fn new(required_access_key: Option<String>, missing_key_denied: bool) -> Self {
        let store = Arc::new(Mutex::new(ObjectStore::default()));
        let service = S3ServiceBuilder::new(S3Backend {
            store: store.clone(),
            missing_key_denied,
        })
        .build();
        Self {
            store,
            service,
            required_access_key,
        }
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, ObjectStore> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one request, and says what the log should show of it.
    pub(crate) async fn serve(&self, request: S3Call<'_>, request_id: &str) -> (Reply, CallInfo) {
        let mut call = CallInfo::op(&operation(request.method, request.path, request.query));
        let reply =
            self.forward(request, &mut call)
                .await
                .unwrap_or_else(|(status, code, message)| {
                    error_reply(status, code, &message, request_id)
                });
        (reply, call)
    }

    /// Hands the request to s3s; `Err` is a refusal local-aws words itself.
    async fn forward(
        &self,
        request: S3Call<'_>,
        call: &mut CallInfo,
    ) -> Result<Reply, (u16, &'static str, String)> {
        if let Some(required) = &self.required_access_key {
            let given = access_key_id(request.headers, request.query);
            if given.as_deref() != Some(required.as_str()) {
                let shown = given
                    .as_deref()
                    .unwrap_or("(none: the request is not signed)");
                call.detail = Some(format!("access key id {shown} refused"));
                return Err((
                    403,
                    "InvalidAccessKeyId",
                    format!(
                        "The AWS Access Key Id you provided does not exist in our records: {shown} (local-aws accepts only {required}: sign with the job's artifact credentials)"
                    ),
                ));
            }
        }
        let uri = unsigned_uri(request.path, request.query)
            .parse::<hyper::Uri>()
            .map_err(|e| {
                let message = format!("Couldn't parse the specified URI {}: {e}", request.path);
                (400, "InvalidURI", message)
            })?;
        let mut builder = hyper::Request::builder().method(request.method).uri(uri);
        for (name, value) in request.headers {
            // The signature is not checked (any credentials do): s3s sees an anonymous call.
            if name == hyper::header::AUTHORIZATION {
                continue;
            }
            // S3, as HTTP says a server may, ignores a Range it cannot read (a malformed one,
            // or several ranges, which S3 does not serve) and sends the whole object; s3s
            // would refuse the request instead.
            if name == hyper::header::RANGE && !value.to_str().is_ok_and(readable_range) {
                continue;
            }
            builder = builder.header(name, value);
        }
        let http_request = builder.body(s3s::Body::from(request.body)).map_err(|e| {
            let message = format!("local-aws could not read the request: {e}");
            (400, "InvalidRequest", message)
        })?;
        let response = self.service.call(http_request).await.map_err(|e| {
            let message = format!("local-aws could not answer the S3 request: {e:?}");
            (500, "InternalError", message)
        })?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| {
            let message = format!("local-aws could not write the S3 response: {e}");
            (500, "InternalError", message)
        })?;
        let body = body.to_bytes();
        let status = parts.status.as_u16();
        let mut reply = Reply::new(status, "application/xml", body.clone());
        reply.headers.extend(parts.headers);
        if status >= 300 {
            reply.error_code = error_code(&body).or_else(|| {
                (request.method == "HEAD" && status == 404).then(|| "NotFound".to_string())
            });
        } else if call.operation == "GetObject" {
            let range = reply
                .headers
                .get(hyper::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok());
            call.body_bytes = Some(body.len() as u64);
            call.detail = Some(match range {
                Some(range) => format!("{range}, {} body bytes sent", body.len()),
                None => format!("whole object, {} body bytes sent", body.len()),
            });
        }
        Ok(reply)
    }
}

/// The S3 operation a request names, as AWS names it (path-style addressing).
pub(crate) fn operation(method: &str, path: &str, query: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = match trimmed.split_once('/') {
        Some((b, k)) => (b, k),
        None => (trimmed, ""),
    };
    let has = |name: &str| query.split('&').any(|p| p.split('=').next() == Some(name));
    let op = match (method, bucket.is_empty(), key.is_empty()) {
        ("GET", true, _) => "ListBuckets",
        ("GET", false, true) if has("list-type") => "ListObjectsV2",
        ("GET", false, true) => "ListObjects",
        ("PUT", false, true) => "CreateBucket",
        ("HEAD", false, true) => "HeadBucket",
        ("DELETE", false, true) => "DeleteBucket",
        ("GET", false, false) => "GetObject",
        ("HEAD", false, false) => "HeadObject",
        ("PUT", false, false) => "PutObject",
        ("DELETE", false, false) => "DeleteObject",
        _ => "Unsupported",
    };
    op.to_string()
}

/// The access key id a request is signed with: from `Authorization: AWS4-HMAC-SHA256
/// Credential=AKID/...`, or a presigned URL's `X-Amz-Credential`.
pub(crate) fn access_key_id(headers: &hyper::HeaderMap, query: &str) -> Option<String> {
    if let Some(auth) = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let credential = auth.split("Credential=").nth(1)?;
        return credential.split('/').next().map(str::to_string);
    }
    query.split('&').find_map(|pair| {
        let value = pair.strip_prefix("X-Amz-Credential=")?;
        let decoded = crate::reply::decoded_or_raw(value, true);
        decoded.split('/').next().map(str::to_string)
    })
}

/// The path and query without a presigned URL's signature parameters (not checked).
fn unsigned_uri(path: &str, query: &str) -> String {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("X-Amz-"))
        .collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// The `<Code>` of an S3 error body.
fn error_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Error {
        #[serde(rename = "Code")]
        code: String,
    }
    let text = std::str::from_utf8(body).ok()?;
    quick_xml::de::from_str::<Error>(text).ok().map(|e| e.code)
}

/// An S3 error reply, the document s3s writes for its own errors:
/// `<Error><Code/><Message/><RequestId/></Error>`.
pub(crate) fn error_reply(status: u16, code: &str, message: &str, request_id: &str) -> Reply {
    let Ok(s3_code) = code.parse::<S3ErrorCode>();
    let mut error = S3Error::with_message(s3_code, message.to_string());
    error.set_request_id(request_id);
    let body = error
        .to_http_response()
        .ok()
        .and_then(|r| r.into_body().bytes())
        .unwrap_or_default();
    Reply::new(status, "application/xml", body).with_error_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(header: &str) -> Range {
        match Range::parse(header) {
            Ok(r) => r,
            Err(e) => panic!("{header}: {e}"),
        }
    }

    #[test]
    fn ranges_resolve_as_s3_reads_them() {
        assert_eq!(resolve_range(parsed("bytes=0-9"), 100), Ok((0, 9)));
        assert_eq!(resolve_range(parsed("bytes=90-"), 100), Ok((90, 99)));
        assert_eq!(resolve_range(parsed("bytes=-22"), 100), Ok((78, 99)));
        // An end past the object is cut to its last byte.
        assert_eq!(resolve_range(parsed("bytes=95-200"), 100), Ok((95, 99)));
        // A suffix longer than the object is the whole object.
        assert_eq!(resolve_range(parsed("bytes=-500"), 100), Ok((0, 99)));
        assert_eq!(resolve_range(parsed("bytes=99-99"), 100), Ok((99, 99)));
    }

    #[test]
    fn ranges_s3_cannot_read_are_ignored() {
        for header in ["bytes=0-9", "bytes=5-", "bytes=-3", "bytes=4-4"] {
            assert!(readable_range(header), "{header}");
        }
        for header in ["bytes=abc", "bytes=5-2", "bytes=0-1,4-5", "items=0-9", ""] {
            assert!(!readable_range(header), "{header}");
        }
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(resolve_range(parsed("bytes=100-"), 100), Err(Unsatisfiable));
        assert_eq!(
            resolve_range(parsed("bytes=100-200"), 100),
            Err(Unsatisfiable)
        );
        assert_eq!(resolve_range(parsed("bytes=-0"), 100), Err(Unsatisfiable));
        assert_eq!(resolve_range(parsed("bytes=0-0"), 0), Err(Unsatisfiable));
    }

    #[test]
    fn the_store_keeps_md5_etags_and_tells_a_missing_bucket_from_a_missing_key() {
        let mut store = ObjectStore::default();
        assert_eq!(
            store.put("b", "k", Bytes::from_static(b"x"), None).err(),
            Some(NoSuchBucket("b".to_string()))
        );
        store.create_bucket("b");
        let object = store
            .put("b", "k", Bytes::from_static(b"hello"), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(object.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
        assert_eq!(object.content_type, "binary/octet-stream");
        assert!(matches!(store.get("b", "k"), Ok(Some(o)) if o.body == "hello"));
        assert!(matches!(store.get("b", "other"), Ok(None)));
        assert!(store.get("nope", "k").is_err());
    }

    #[test]
    fn listing_pages_by_prefix_and_resumes_after_the_last_key() {
        let mut store = ObjectStore::default();
        store.create_bucket("b");
        for key in ["a/1", "a/2", "a/3", "b/1"] {
            let _ = store.put("b", key, Bytes::new(), None);
        }
        let keys = |page: &[(String, StoredObject)]| -> Vec<String> {
            page.iter().map(|(k, _)| k.clone()).collect()
        };
        let (page, more) = store.list("b", "a/", None, 2).unwrap_or_default();
        assert_eq!(
            (keys(&page), more),
            (vec!["a/1".into(), "a/2".into()], true)
        );
        let (page, more) = store.list("b", "a/", Some("a/2"), 2).unwrap_or_default();
        assert_eq!((keys(&page), more), (vec!["a/3".to_string()], false));
    }

    #[test]
    fn operations_and_access_keys_are_read_from_the_request() {
        assert_eq!(operation("GET", "/b/k/z.zip", ""), "GetObject");
        assert_eq!(
            operation("GET", "/b", "list-type=2&prefix=a"),
            "ListObjectsV2"
        );
        assert_eq!(operation("HEAD", "/b/k", ""), "HeadObject");
        assert_eq!(operation("PUT", "/b/", ""), "CreateBucket");
        let mut headers = hyper::HeaderMap::new();
        headers.insert(
            hyper::header::AUTHORIZATION,
            hyper::header::HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=ASIAJOB/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
            ),
        );
        assert_eq!(access_key_id(&headers, ""), Some("ASIAJOB".to_string()));
        assert_eq!(
            access_key_id(
                &hyper::HeaderMap::new(),
                "X-Amz-Credential=AKIDP%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&x=1"
            ),
            Some("AKIDP".to_string())
        );
        assert_eq!(access_key_id(&hyper::HeaderMap::new(), ""), None);
    }
}
