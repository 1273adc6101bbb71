//! What a deploy changed, from its artifacts: two zips' listings ([`zipdir`]) compared by
//! name, CRC-32 and size. The pipeline action's `pathsFromArtifact` ([`job`]) and the CLI's
//! `--changed-between` both build on it.

pub mod job;
pub mod previous;
pub mod zipdir;

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

pub use zipdir::{Listing, RangeSource, ZipEntry, ZipError, read_listing};

/// The files a deploy added, changed and removed, each list sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Changes {
    /// How many files differ.
    pub fn count(&self) -> usize {
        self.added.len() + self.changed.len() + self.removed.len()
    }

    /// Every name that differs, added, then changed, then removed.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.added
            .iter()
            .chain(&self.changed)
            .chain(&self.removed)
            .map(String::as_str)
    }
}

/// Compares two listings: a file counts as changed when its CRC-32 or its size differs.
/// Directory entries were left out of the listings already.
pub fn compare(old: &Listing, new: &Listing) -> Changes {
    let before: HashMap<&str, &ZipEntry> = old
        .files
        .iter()
        .map(|entry| (entry.name.as_str(), entry))
        .collect();
    let mut changes = Changes::default();
    let mut seen = std::collections::HashSet::with_capacity(new.files.len());
    for entry in &new.files {
        if !seen.insert(entry.name.as_str()) {
            continue;
        }
        match before.get(entry.name.as_str()) {
            None => changes.added.push(entry.name.clone()),
            Some(previous) if previous.crc32 != entry.crc32 || previous.size != entry.size => {
                changes.changed.push(entry.name.clone());
            }
            Some(_) => {}
        }
    }
    changes.removed = old
        .files
        .iter()
        .filter(|entry| !seen.contains(entry.name.as_str()))
        .map(|entry| entry.name.clone())
        .collect();
    changes.added.sort_unstable();
    changes.changed.sort_unstable();
    changes.removed.sort_unstable();
    changes.removed.dedup();
    changes
}

/// The URL paths of `names` (such as [`Changes::names`]): each name under `key_prefix`,
/// without it, after `path_prefix`, as the S3-events function maps keys; names outside the
/// prefix are counted.
pub fn changed_paths<'a>(
    names: impl IntoIterator<Item = &'a str>,
    key_prefix: &str,
    path_prefix: &str,
) -> (Vec<String>, usize) {
    let mut outside = 0;
    let paths = names
        .into_iter()
        .filter_map(|name| {
            let path = crate::events::keys::object_path(name, key_prefix, path_prefix);
            path.map_err(|_| outside += 1).ok()
        })
        .collect();
    (paths, outside)
}

/// A zip on disk, read range by range.
pub struct LocalZip {
    path: PathBuf,
    len: u64,
}

impl LocalZip {
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, ZipError> {
        let path = path.into();
        let len = std::fs::metadata(&path)
            .map_err(|error| ZipError::Source(format!("cannot read {}: {error}", path.display())))?
            .len();
        Ok(Self { path, len })
    }
}

impl RangeSource for LocalZip {
    fn size(&self) -> u64 {
        self.len
    }

    async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, ZipError> {
        let failed = |error: std::io::Error| {
            ZipError::Source(format!("cannot read {}: {error}", self.path.display()))
        };
        let mut file = std::fs::File::open(&self.path).map_err(failed)?;
        file.seek(SeekFrom::Start(offset)).map_err(failed)?;
        let mut bytes = vec![0; usize::try_from(len).unwrap_or(0)];
        file.read_exact(&mut bytes).map_err(failed)?;
        Ok(bytes)
    }
}

/// A zip held in memory (tests, small artifacts).
pub struct InMemoryZip(pub Vec<u8>);

impl RangeSource for InMemoryZip {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, ZipError> {
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(offset.saturating_add(len)).ok());
        range
            .and_then(|(from, to)| self.0.get(from..to))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| ZipError::Source(format!("no bytes {offset}..+{len}")))
    }
}
