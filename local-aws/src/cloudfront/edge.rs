//! A distribution's edge cache as a viewer sees it: the cache key, the TTL an origin response
//! gets, and which cached objects an invalidation drops. docs/local-aws.md ("The edge") gives
//! the source of each rule.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use crate::reply::decoded_or_raw;

/// CachingOptimized's default TTL: for a response without `max-age` or `s-maxage`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(86_400);
/// CachingOptimized's minimum TTL.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// CachingOptimized's maximum TTL.
pub const MAX_TTL: Duration = Duration::from_secs(31_536_000);
/// How long an error from the origin stays cached: CloudFront's default error caching
/// minimum TTL.
pub const ERROR_TTL: Duration = Duration::from_secs(10);
/// CloudFront reads at most this many tags from one origin response.
pub const MAX_TAGS_PER_OBJECT: usize = 50;

/// From when an invalidation drops cached objects at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeInvalidatesAt {
    /// From its creation: as soon as CreateInvalidation answers.
    Created,
    /// From its completion (`Completed`), the only moment AWS guarantees: a caller that does
    /// not wait for `Completed` sees stale objects.
    #[default]
    Completed,
}

impl EdgeInvalidatesAt {
    /// The flag spelling: `created` or `completed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeInvalidatesAt::Created => "created",
            EdgeInvalidatesAt::Completed => "completed",
        }
    }
}

impl fmt::Display for EdgeInvalidatesAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --edge-invalidates-at '{0}': use created or completed")]
pub struct EdgeInvalidatesAtError(pub String);

impl FromStr for EdgeInvalidatesAt {
    type Err = EdgeInvalidatesAtError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "created" => Ok(EdgeInvalidatesAt::Created),
            "completed" => Ok(EdgeInvalidatesAt::Completed),
            _ => Err(EdgeInvalidatesAtError(s.to_string())),
        }
    }
}

/// The cache key of a viewer request: its URI path, percent-decoded (a path whose escapes are
/// not UTF-8 is kept as sent). The query string is not part of it.
pub(crate) fn cache_key(path: &str) -> String {
    decoded_or_raw(path, false)
}

/// How long an origin response stays fresh: `s-maxage`, else `max-age`, else the default TTL,
/// held between the minimum and maximum TTL. `no-cache`, `no-store` and `private` get the
/// minimum TTL, as CloudFront caches for the minimum TTL when it is above 0.
pub(crate) fn ttl(cache_control: Option<&str>) -> Duration {
    let mut max_age = None;
    let mut s_maxage = None;
    let mut uncacheable = false;
    for directive in cache_control.unwrap_or("").split(',') {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        let seconds = value.and_then(|v| v.parse::<u64>().ok());
        match name.to_ascii_lowercase().as_str() {
            "s-maxage" => s_maxage = s_maxage.or(seconds),
            "max-age" => max_age = max_age.or(seconds),
            "no-cache" | "no-store" | "private" => uncacheable = true,
            _ => {}
        }
    }
    if uncacheable {
        return MIN_TTL;
    }
    s_maxage
        .or(max_age)
        .map_or(DEFAULT_TTL, Duration::from_secs)
        .clamp(MIN_TTL, MAX_TTL)
}

/// The cache tags of an origin response: the header's comma-separated values, trimmed, in
/// lower case (tags are case-insensitive), at most [`MAX_TAGS_PER_OBJECT`].
pub(crate) fn cache_tags(header: Option<&str>) -> Vec<String> {
    let tags = header.unwrap_or("").split(',').map(str::trim);
    tags.filter(|t| !t.is_empty())
        .take(MAX_TAGS_PER_OBJECT)
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Whether an invalidation item drops a cached object: a `#tag` matches an object carrying
/// that tag (in any case); a path ending in `*` matches every key it begins; any other path
/// matches its key alone, case-sensitively. Paths are compared percent-decoded, so that the
/// encoded and the plain form of one key are the same key; a trailing `*` is the wildcard,
/// `%2A` a literal asterisk.
pub(crate) fn item_matches(item: &str, key: &str, tags: &[String]) -> bool {
    if let Some(tag) = item.strip_prefix('#') {
        return tags.iter().any(|t| t.eq_ignore_ascii_case(tag));
    }
    match item.strip_suffix('*') {
        Some(prefix) => key.starts_with(&cache_key(prefix)),
        None => key == cache_key(item),
    }
}

/// One response the edge keeps.
#[derive(Debug, Clone)]
pub(crate) struct CachedResponse {
    pub status: u16,
    /// The origin's error code (`AccessDenied`), for an error.
    pub error_code: Option<String>,
    /// The origin's headers the edge sends on: Content-Type, ETag, Last-Modified,
    /// Cache-Control, user metadata.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The origin's ETag, to tell a changed object from an unchanged one on refresh.
    pub etag: Option<String>,
    pub tags: Vec<String>,
    /// When it was stored (or last refreshed), in milliseconds on the emulator's clock.
    pub stored_ms: u64,
    pub ttl: Duration,
}

impl CachedResponse {
    fn expires_ms(&self) -> u64 {
        let ttl = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        self.stored_ms.saturating_add(ttl)
    }

    /// Whole seconds since it was stored: the `Age` header.
    pub(crate) fn age_seconds(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.stored_ms) / 1000
    }
}

/// What the cache holds for a key.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Within its TTL: served from the cache.
    Fresh(CachedResponse),
    /// Past its TTL: the origin must be asked again.
    Expired(CachedResponse),
    Absent,
}

/// One distribution's cache.
#[derive(Debug, Default)]
pub(crate) struct EdgeCache {
    entries: BTreeMap<String, CachedResponse>,
    /// The invalidations already applied, by id.
    applied: BTreeSet<String>,
}

impl EdgeCache {
    /// Drops what every invalidation in effect and not applied before matches. Every object
    /// held was stored before such an invalidation took effect (each lookup applies first),
    /// so each matching object is dropped, whatever its age.
    pub(crate) fn apply<'a>(
        &mut self,
        in_effect: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) {
        for (id, items) in in_effect {
            if self.applied.contains(id) {
                continue;
            }
            self.entries.retain(|key, cached| {
                !items
                    .iter()
                    .any(|item| item_matches(item, key, &cached.tags))
            });
            self.applied.insert(id.to_string());
        }
    }

    pub(crate) fn lookup(&self, key: &str, now_ms: u64) -> Lookup {
        match self.entries.get(key) {
            Some(cached) if now_ms < cached.expires_ms() => Lookup::Fresh(cached.clone()),
            Some(cached) => Lookup::Expired(cached.clone()),
            None => Lookup::Absent,
        }
    }

    pub(crate) fn store(&mut self, key: String, cached: CachedResponse) {
        self.entries.insert(key, cached);
    }

    /// The keys held, in order.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn ttls_follow_the_origin_within_the_policy() {
        assert_eq!(ttl(None), DEFAULT_TTL);
        assert_eq!(ttl(Some("public")), DEFAULT_TTL);
        assert_eq!(ttl(Some("max-age=60")), secs(60));
        assert_eq!(ttl(Some("max-age=60, s-maxage=5")), secs(5));
        assert_eq!(ttl(Some("S-MAXAGE=7,max-age=60")), secs(7));
        assert_eq!(ttl(Some("max-age=0")), MIN_TTL);
        assert_eq!(ttl(Some("max-age=99999999999")), MAX_TTL);
        assert_eq!(ttl(Some("no-store")), MIN_TTL);
        assert_eq!(ttl(Some("max-age=600, private")), MIN_TTL);
        // A value that is not a number is no directive at all.
        assert_eq!(ttl(Some("max-age=soon")), DEFAULT_TTL);
    }

    #[test]
    fn tags_are_split_trimmed_and_folded() {
        assert_eq!(
            cache_tags(Some("Product:42, category:TV,,")),
            ["product:42", "category:tv"]
        );
        assert!(cache_tags(None).is_empty());
        let many: Vec<String> = (0..60).map(|i| format!("t{i}")).collect();
        assert_eq!(cache_tags(Some(&many.join(","))).len(), MAX_TAGS_PER_OBJECT);
    }

    #[test]
    fn items_match_decoded_paths_prefixes_and_tags() {
        let tags = vec!["product:42".to_string()];
        assert!(item_matches("/a b.html", "/a b.html", &[]));
        assert!(item_matches("/a%20b.html", "/a b.html", &[]));
        assert!(item_matches("/caf%C3%A9", "/caf\u{e9}", &[]));
        assert!(item_matches("/%7Euser", "/~user", &[]));
        assert!(item_matches("/100%25.html", "/100%.html", &[]));
        assert!(!item_matches("/Index.html", "/index.html", &[]));
        assert!(item_matches("/assets/*", "/assets/app.js", &[]));
        assert!(item_matches("/*", "/anything", &[]));
        assert!(!item_matches("/assets/*", "/assets", &[]));
        // An escaped asterisk is a character of the key, not the wildcard.
        assert!(!item_matches("/a%2A", "/ab", &[]));
        assert!(item_matches("/a%2A", "/a*", &[]));
        assert!(item_matches("#Product:42", "/x", &tags));
        assert!(!item_matches("#product:4", "/x", &tags));
        assert!(!item_matches("#product:42", "/x", &[]));
    }

    fn cached(stored_ms: u64, ttl: Duration) -> CachedResponse {
        CachedResponse {
            status: 200,
            error_code: None,
            headers: Vec::new(),
            body: Bytes::from_static(b"x"),
            etag: None,
            tags: Vec::new(),
            stored_ms,
            ttl,
        }
    }

    #[test]
    fn an_invalidation_applies_once_and_spares_later_objects() {
        let mut cache = EdgeCache::default();
        cache.store("/a".into(), cached(0, secs(60)));
        cache.store("/b".into(), cached(0, secs(60)));
        let items = vec!["/a".to_string()];
        cache.apply([("I1", items.as_slice())]);
        assert_eq!(cache.keys(), ["/b"]);
        // Stored again after it took effect: the same invalidation does not drop it again.
        cache.store("/a".into(), cached(5, secs(60)));
        cache.apply([("I1", items.as_slice())]);
        assert_eq!(cache.keys(), ["/a", "/b"]);
    }

    #[test]
    fn an_object_expires_at_its_ttl() {
        let mut cache = EdgeCache::default();
        cache.store("/a".into(), cached(1000, secs(2)));
        assert!(matches!(cache.lookup("/a", 2999), Lookup::Fresh(_)));
        assert!(matches!(cache.lookup("/a", 3000), Lookup::Expired(_)));
        assert!(matches!(cache.lookup("/b", 0), Lookup::Absent));
        assert_eq!(cached(1000, secs(2)).age_seconds(3999), 2);
    }

    #[test]
    fn the_flag_reads_both_moments() {
        assert_eq!("created".parse(), Ok(EdgeInvalidatesAt::Created));
        assert_eq!(" Completed".parse(), Ok(EdgeInvalidatesAt::Completed));
        let err = "done".parse::<EdgeInvalidatesAt>().unwrap_err().to_string();
        assert!(err.contains("'done'") && err.contains("completed"), "{err}");
    }
}
