//! The run as a viewer sees it: the burst written to the origin bucket of each target
//! distribution that has an edge, a viewer's GET through each edge right after every upload,
//! and, once the last invalidation has completed, the check that each key's newest version is
//! what the edge serves.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::time::Instant;

use super::burst::{ObjectEvent, path_encode_key};
use super::config::{ConfigError, CoverageParameters};
use crate::clock::Clock;
use crate::cloudfront::InvalidationInfo;
use crate::pipeline::viewer::{ViewerError, request};
use crate::s3::StoredObject;
use crate::server::EmulatorHandle;

/// Stale answers listed in the report, at most.
const LISTED: usize = 10;
/// Attempts at one S3 write before the run stops (S3 faults answer some with 5xx).
const WRITE_ATTEMPTS: u32 = 5;

/// What a viewer got from an edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewed {
    pub status: u16,
    pub etag: Option<String>,
    /// `X-Cache`: `Hit from cloudfront`, `Miss from cloudfront`, ...
    pub x_cache: Option<String>,
    /// `Age`, in seconds (hits only).
    pub age: Option<u64>,
    pub body: Bytes,
}

/// Writing the burst to the origin bucket or reading it back through an edge failed.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error(transparent)]
    Http(#[from] ViewerError),
    #[error(
        "{method} of key {key:?} in bucket '{bucket}' answered {status} {attempts} times: {body}"
    )]
    Refused {
        method: &'static str,
        key: String,
        bucket: String,
        status: u16,
        attempts: u32,
        body: String,
    },
}

/// A GET of `path` (already percent-encoded, from its leading `/`) through the edge at `addr`,
/// over HTTP, as a viewer sends it.
pub async fn view(addr: SocketAddr, path: &str) -> Result<Viewed, ViewerError> {
    let reply = crate::pipeline::viewer::get(addr, path).await?;
    let header = |name: &str| reply.header(name).map(str::to_string);
    Ok(Viewed {
        status: reply.status,
        etag: header("etag"),
        x_cache: header("x-cache"),
        age: reply.age(),
        body: reply.body.clone(),
    })
}

/// One view through an edge that did not serve the version it should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EdgeView {
    pub key: String,
    /// The path asked for, percent-encoded.
    pub path: String,
    pub distribution: String,
    /// The ETag of the key's version at that moment; `None` when it was deleted.
    pub expected_etag: Option<String>,
    pub status: u16,
    pub etag: Option<String>,
    pub x_cache: Option<String>,
    pub age: Option<u64>,
}

/// The run's keys asked for through the edge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EdgeCheck {
    /// The target distributions with an edge, and the bucket they read.
    pub distributions: Vec<String>,
    pub bucket: String,
    /// Right after an upload or delete, before its notification: views through each edge,
    /// and those that served an older version (the stale cache the invalidations must cure).
    pub views_after_upload: u64,
    pub stale_after_upload: u64,
    /// Up to 10 of them.
    pub stale_after_upload_views: Vec<EdgeView>,
    /// How long the check waited, after the queue was empty, for the run's last invalidation
    /// on these distributions to complete.
    pub waited_ms: u64,
    /// (key, distribution) pairs asked for after that: every key under the key prefix, its
    /// newest change, directory markers excepted.
    pub checked: u64,
    /// Of those, served as the newest upload (its ETag and body) or, after a delete, not
    /// served at all.
    pub fresh: u64,
    pub stale: u64,
    /// Up to 10 of the stale ones.
    pub stale_keys: Vec<EdgeView>,
}

/// The newest change of a key, as an edge should serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Newest {
    Uploaded { etag: String, body: Bytes },
    Deleted,
}

impl Newest {
    fn etag(&self) -> Option<String> {
        match self {
            Newest::Uploaded { etag, .. } => Some(etag.clone()),
            Newest::Deleted => None,
        }
    }

    /// Whether `viewed` is this version: the same ETag and body, or, for a deleted key, no
    /// object at all (S3 answers 403 to the edge for a missing key).
    pub fn is_served_by(&self, viewed: &Viewed) -> bool {
        match self {
            Newest::Uploaded { etag, body } => {
                viewed.status == 200
                    && viewed.etag.as_deref() == Some(etag.as_str())
                    && viewed.body == *body
            }
            Newest::Deleted => viewed.status != 200,
        }
    }
}

/// The edges the run is checked through and what the burst writes to their bucket.
pub(super) struct Origin {
    s3: SocketAddr,
    bucket: String,
    /// (distribution id, edge address).
    edges: Vec<(String, SocketAddr)>,
    /// Per event: its key, and what it leaves in the bucket.
    keys: Vec<String>,
    versions: Vec<Newest>,
    /// Per event: whether its key is checked through the edge.
    checked: Vec<bool>,
    clock: Clock,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    views: u64,
    stale: u64,
    listed: Vec<EdgeView>,
    error: Option<EdgeError>,
}

impl Origin {
    /// The origin of the run when a target distribution has an edge (`None` otherwise): each
    /// such edge must read `bucket`, and each key checked must be asked for by its own path.
    /// Gives each upload its body, and the event its real size and ETag.
    pub(super) fn prepare(
        emu: &EmulatorHandle,
        bucket: &str,
        targets: &[String],
        params: &CoverageParameters,
        events: &mut [ObjectEvent],
        seed: u64,
    ) -> Result<Option<Self>, ConfigError> {
        let origins: BTreeMap<String, Option<String>> = (emu.distributions().into_iter())
            .map(|d| (d.id, d.origin))
            .collect();
        let mut edges = Vec::new();
        for target in targets {
            let (Some(addr), Some(Some(origin))) = (emu.edge_addr(target), origins.get(target))
            else {
                continue;
            };
            if origin != bucket {
                return Err(ConfigError::EdgeBucket {
                    distribution: target.clone(),
                    origin: origin.clone(),
                    bucket: bucket.to_string(),
                });
            }
            edges.push((target.clone(), addr));
        }
        if edges.is_empty() {
            return Ok(None);
        }
        let mut checked = Vec::with_capacity(events.len());
        for event in events.iter() {
            let path = params.url_path(&event.key);
            let is_checked = !event.is_directory_marker() && path.is_some();
            if let Some(path) = path.filter(|p| is_checked && *p != format!("/{}", event.key)) {
                return Err(ConfigError::EdgePath {
                    key: event.key.clone(),
                    path,
                });
            }
            checked.push(is_checked);
        }
        let versions = events
            .iter_mut()
            .map(|event| {
                if event.change.is_delete() {
                    return Newest::Deleted;
                }
                let body = if event.is_directory_marker() {
                    Bytes::new()
                } else {
                    let (index, key) = (event.index, &event.key);
                    Bytes::from(format!("{key}\nupload {index} of events run {seed}\n"))
                };
                let etag = StoredObject::new(body.clone(), None).etag;
                event.size = body.len() as u64;
                event.etag = etag.trim_matches('"').to_string();
                Newest::Uploaded { etag, body }
            })
            .collect();
        Ok(Some(Self {
            s3: emu.addr(),
            bucket: bucket.to_string(),
            edges,
            keys: events.iter().map(|e| e.key.clone()).collect(),
            versions,
            checked,
            clock: emu.clock().clone(),
            seen: Mutex::new(Seen::default()),
        }))
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Before the burst: every key checked holds a version in the bucket (one from before
    /// the run, written now if the bucket has none) and each edge has cached it, as a site
    /// that viewers read before a deploy.
    pub(super) async fn warm(&self, events: &[ObjectEvent], emu: &EmulatorHandle) {
        let mut done = std::collections::BTreeSet::new();
        for (event, _) in events.iter().zip(&self.checked).filter(|(_, c)| **c) {
            if !done.insert(event.key.as_str()) {
                continue;
            }
            let result = async {
                if emu.object(&self.bucket, &event.key).is_none() {
                    let body = format!("{}\nbefore events run\n", event.key);
                    self.write(&event.key, Some(Bytes::from(body))).await?;
                }
                for (_, addr) in &self.edges {
                    view(*addr, &format!("/{}", path_encode_key(&event.key))).await?;
                }
                Ok::<_, EdgeError>(())
            }
            .await;
            if let Err(e) = result {
                self.seen().error.get_or_insert(e);
                return;
            }
        }
    }

    /// Event `index` happens: its object is written (or deleted) in the bucket, and a viewer
    /// asks each edge for it before S3's notification goes out. A failure is kept for
    /// [`Self::finish`] and the burst goes on.
    pub(super) async fn play(&self, index: usize) {
        let (Some(key), Some(version)) = (self.keys.get(index), self.versions.get(index)) else {
            return;
        };
        let body = match version {
            Newest::Uploaded { body, .. } => Some(body.clone()),
            Newest::Deleted => None,
        };
        let result = async {
            self.write(key, body).await?;
            if !self.checked.get(index).copied().unwrap_or(false) {
                return Ok(Vec::new());
            }
            let mut stale = Vec::new();
            for (distribution, addr) in &self.edges {
                let path = format!("/{}", path_encode_key(key));
                let viewed = view(*addr, &path).await?;
                let fresh = version.is_served_by(&viewed);
                stale.push((!fresh).then(|| edge_view(key, version, distribution, path, viewed)));
            }
            Ok::<_, EdgeError>(stale)
        }
        .await;
        let mut seen = self.seen();
        match result {
            Ok(views) => {
                for view in views {
                    seen.views += 1;
                    if let Some(view) = view {
                        seen.stale += 1;
                        if seen.listed.len() < LISTED {
                            seen.listed.push(view);
                        }
                    }
                }
            }
            Err(e) => {
                seen.error.get_or_insert(e);
            }
        }
    }

    /// PutObject (`Some(body)`) or DeleteObject through local-aws's S3 REST API, tried again
    /// after a 5xx (an injected S3 fault).
    async fn write(&self, key: &str, body: Option<Bytes>) -> Result<(), EdgeError> {
        let path = format!("/{}/{}", self.bucket, path_encode_key(key));
        let method = if body.is_some() { "PUT" } else { "DELETE" };
        let verb = if body.is_some() {
            hyper::Method::PUT
        } else {
            hyper::Method::DELETE
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let sent = body.clone().unwrap_or_default();
            let reply = request(self.s3, verb.clone(), &path, sent).await?;
            let (status, answer) = (reply.status, reply.body);
            if (200..300).contains(&status) {
                return Ok(());
            }
            if status < 500 || attempts >= WRITE_ATTEMPTS {
                return Err(EdgeError::Refused {
                    method,
                    key: key.to_string(),
                    bucket: self.bucket.clone(),
                    status,
                    attempts,
                    body: String::from_utf8_lossy(&answer).into_owned(),
                });
            }
        }
    }

    /// After the run: waits until the last of the run's `invalidations` of these edges has
    /// completed on the emulator's clock (or until `limit`); then asks each edge for every key
    /// checked and compares with its newest change.
    pub(super) async fn finish(
        &self,
        events: &[ObjectEvent],
        sent_ms: &[Option<u64>],
        invalidations: &[InvalidationInfo],
        limit: Instant,
    ) -> Result<EdgeCheck, EdgeError> {
        let completes_ms = invalidations
            .iter()
            .filter(|i| i.distribution_tenant_id.is_none())
            .filter(|i| self.edges.iter().any(|(d, _)| *d == i.distribution_id))
            .map(|i| i.completes_at_ms);
        let waited_ms = self.settle(completes_ms, limit).await;
        let seen = std::mem::take(&mut *self.seen());
        if let Some(error) = seen.error {
            return Err(error);
        }
        // The newest change of each key whose notification went out, in order of first play.
        let mut newest: Vec<(&ObjectEvent, &Newest)> = Vec::new();
        let mut at: BTreeMap<&str, usize> = BTreeMap::new();
        let played = events.iter().zip(&self.versions).zip(&self.checked);
        for (((event, version), checked), sent) in played.zip(sent_ms) {
            if !*checked || sent.is_none() {
                continue;
            }
            match at.get(event.key.as_str()) {
                Some(&i) => newest[i] = (event, version),
                None => {
                    at.insert(&event.key, newest.len());
                    newest.push((event, version));
                }
            }
        }
        let mut check = EdgeCheck {
            distributions: self.edges.iter().map(|(d, _)| d.clone()).collect(),
            bucket: self.bucket.clone(),
            views_after_upload: seen.views,
            stale_after_upload: seen.stale,
            stale_after_upload_views: seen.listed,
            waited_ms,
            ..EdgeCheck::default()
        };
        for (event, version) in newest {
            for (distribution, addr) in &self.edges {
                let path = format!("/{}", path_encode_key(&event.key));
                let viewed = view(*addr, &path).await?;
                check.checked += 1;
                if version.is_served_by(&viewed) {
                    check.fresh += 1;
                } else {
                    check.stale += 1;
                    if check.stale_keys.len() < LISTED {
                        let view = edge_view(&event.key, version, distribution, path, viewed);
                        check.stale_keys.push(view);
                    }
                }
            }
        }
        Ok(check)
    }

    /// Waits for the emulator's clock to pass the last completion (advancing a manual clock
    /// instead); returns how long, in ms.
    async fn settle(&self, completes_ms: impl IntoIterator<Item = u64>, limit: Instant) -> u64 {
        let Some(last) = completes_ms.into_iter().max() else {
            return 0;
        };
        let started = self.clock.elapsed_ms();
        loop {
            let now = self.clock.elapsed_ms();
            if now > last {
                return now.saturating_sub(started);
            }
            let gap = Duration::from_millis(last + 1 - now);
            if !self.clock.advance(gap) {
                if Instant::now() + gap > limit {
                    return now.saturating_sub(started);
                }
                tokio::time::sleep(gap).await;
            }
        }
    }
}

fn edge_view(
    key: &str,
    version: &Newest,
    distribution: &str,
    path: String,
    viewed: Viewed,
) -> EdgeView {
    EdgeView {
        key: key.to_string(),
        path,
        distribution: distribution.to_string(),
        expected_etag: version.etag(),
        status: viewed.status,
        etag: viewed.etag,
        x_cache: viewed.x_cache,
        age: viewed.age,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewed(status: u16, etag: &str, body: &'static str) -> Viewed {
        Viewed {
            status,
            etag: Some(etag.to_string()),
            x_cache: Some("Hit from cloudfront".to_string()),
            age: Some(3),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn only_the_newest_version_or_no_object_after_a_delete_is_fresh() {
        let newest = Newest::Uploaded {
            etag: "\"e2\"".to_string(),
            body: Bytes::from_static(b"v2"),
        };
        assert!(newest.is_served_by(&viewed(200, "\"e2\"", "v2")));
        assert!(!newest.is_served_by(&viewed(200, "\"e1\"", "v1")));
        // The right ETag over another body is not the newest upload.
        assert!(!newest.is_served_by(&viewed(200, "\"e2\"", "v1")));
        assert!(!newest.is_served_by(&viewed(403, "\"e2\"", "v2")));
        assert!(Newest::Deleted.is_served_by(&viewed(403, "", "<Error/>")));
        assert!(!Newest::Deleted.is_served_by(&viewed(200, "\"e1\"", "v1")));
    }
}
