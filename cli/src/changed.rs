//! `--changed-between OLD NEW`: what differs between two builds of a site, each a directory, a
//! `.zip` or an `s3://bucket/key.zip`, as the pipeline action compares the deployed artifact
//! with the last one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use cf_invalidate::adapters::s3::S3Zip;
use cf_invalidate::artifact::{
    Changes, Listing, LocalZip, ZipEntry, ZipError, changed_paths, compare, read_listing,
};

use super::args::PathArgs;
use super::aws::Session;
use super::error::CliError;

/// The listings of the `s3://` sides, read (asynchronously, with the SDK) before the paths are
/// collected; keyed by the side as given.
pub type S3Listings = HashMap<String, Listing>;

/// `s3://BUCKET/KEY` as bucket and key; `None` for a side that is not an S3 URL.
fn s3_location(side: &str) -> Option<Result<(&str, &str), CliError>> {
    let rest = side.strip_prefix("s3://")?;
    Some(match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok((bucket, key)),
        _ => Err(problem(
            Path::new(side),
            "is not an S3 object URL: write s3://BUCKET/KEY, such as s3://my-artifacts/site/build.zip",
        )),
    })
}

/// Reads the central directory of each `s3://` side of `--changed-between` (the tail of the
/// object only, with ranged GetObject calls), once the prefixes are known to be valid. No S3
/// client is made when no side is in S3.
pub async fn read_s3_sides(
    paths: &PathArgs,
    session: &Session<'_>,
) -> Result<S3Listings, CliError> {
    let mut listings = S3Listings::new();
    let wanted: Vec<(&str, _)> = paths
        .changed_between
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|side| side.to_str())
        .filter_map(|side| Some((side, s3_location(side)?)))
        .collect();
    if wanted.is_empty() {
        return Ok(listings);
    }
    // A mistake in the prefixes is reported before anything is read.
    super::sources::prefixes(paths)?;
    let client = session.s3().await?;
    for (side, location) in wanted {
        if listings.contains_key(side) {
            continue;
        }
        let (bucket, key) = location?;
        let failed = |error: ZipError| match error {
            ZipError::Missing(_) => problem(Path::new(side), "does not exist"),
            ZipError::Denied(detail) | ZipError::Source(detail) => {
                problem(Path::new(side), format!("cannot be read: {detail}"))
            }
            other => problem(Path::new(side), format!("is not a zip: {other}")),
        };
        let zip = S3Zip::open(client.clone(), bucket, key)
            .await
            .map_err(failed)?;
        let listing = read_listing(&zip).await.map_err(failed)?;
        listings.insert(side.to_owned(), listing);
    }
    Ok(listings)
}

/// What the two builds differ in, and the URL paths that makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildChanges {
    pub changes: Changes,
    /// Raw URL paths for the planner (not yet encoded); collecting moves them out.
    pub paths: Vec<String>,
    /// Differing files outside `--key-prefix` (or directory entries), not invalidated.
    pub outside: usize,
}

impl BuildChanges {
    /// "The builds differ in 3 files: 1 added, 1 changed, 1 removed."
    pub fn sentence(&self) -> String {
        let c = &self.changes;
        let total = c.count();
        let outside = if self.outside > 0 {
            format!(" ({} outside --key-prefix)", self.outside)
        } else {
            String::new()
        };
        format!(
            "The builds differ in {total} file{}: {} added, {} changed, {} removed{outside}.",
            cf_invalidate::text::plural(total),
            c.added.len(),
            c.changed.len(),
            c.removed.len()
        )
    }
}

/// Compares `old` with `new` and maps what differs to URL paths.
pub fn changed_between(
    old: &Path,
    new: &Path,
    key_prefix: &str,
    path_prefix: &str,
    s3: &S3Listings,
) -> Result<BuildChanges, CliError> {
    let changes = compare(&*listing_of(old, s3)?, &*listing_of(new, s3)?);
    let (paths, outside) = changed_paths(changes.names(), key_prefix, path_prefix);
    Ok(BuildChanges {
        changes,
        paths,
        outside,
    })
}

fn problem(side: &Path, problem: impl Into<String>) -> CliError {
    CliError::Build {
        side: side.display().to_string(),
        problem: problem.into(),
    }
}

/// A directory's files, each with the CRC-32 and size of its contents, or a zip's listing
/// (read from S3 already for an `s3://` side).
fn listing_of<'a>(side: &Path, s3: &'a S3Listings) -> Result<Cow<'a, Listing>, CliError> {
    if let Some(url) = side.to_str().filter(|side| side.starts_with("s3://")) {
        if let Some(Err(error)) = s3_location(url) {
            return Err(error);
        }
        return s3
            .get(url)
            .map(Cow::Borrowed)
            .ok_or_else(|| problem(side, "was not read from S3"));
    }
    let metadata = std::fs::metadata(side).map_err(|error| match error.kind() {
        ErrorKind::NotFound => problem(side, "does not exist: give a directory or a .zip file"),
        _ => problem(side, format!("cannot be read: {error}")),
    })?;
    if metadata.is_dir() {
        return directory_listing(side).map(Cow::Owned);
    }
    let zip = LocalZip::open(side).map_err(|error| problem(side, error.to_string()))?;
    futures::executor::block_on(read_listing(&zip))
        .map(Cow::Owned)
        .map_err(|error| problem(side, format!("is not a directory, and as a zip: {error}")))
}

fn directory_listing(root: &Path) -> Result<Listing, CliError> {
    let mut listing = Listing::default();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let entries = std::fs::read_dir(&directory)
            .map_err(|error| problem(&directory, error.to_string()))?;
        for entry in entries {
            let entry = entry.map_err(|error| problem(&directory, error.to_string()))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|error| problem(&path, error.to_string()))?;
            // A link to a directory could loop: only the tree itself is walked.
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            if kind.is_symlink() && path.is_dir() {
                continue;
            }
            let name = relative_name(root, &path)?;
            let (crc32, size) = checksum(&path, &mut buffer)?;
            listing.files.push(ZipEntry { name, crc32, size });
        }
    }
    Ok(listing)
}

/// The name as a zip holds it: relative, with "/" between parts.
fn relative_name(root: &Path, path: &Path) -> Result<String, CliError> {
    let relative = path
        .strip_prefix(root)
        .map_err(|_| problem(path, "is outside the directory compared"))?;
    let parts: Option<Vec<&str>> = relative.iter().map(|part| part.to_str()).collect();
    parts
        .map(|parts| parts.join("/"))
        .ok_or_else(|| problem(path, "has a name that is not UTF-8: rename it"))
}

fn checksum(path: &Path, buffer: &mut [u8]) -> Result<(u32, u64), CliError> {
    let mut file = File::open(path).map_err(|error| problem(path, error.to_string()))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut size = 0u64;
    loop {
        let read = file
            .read(buffer)
            .map_err(|error| problem(path, error.to_string()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hasher.finalize(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (name, contents) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }

    fn zip_of(root: &Path, target: &Path) {
        let mut writer = zip::ZipWriter::new(File::create(target).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = relative_name(root, &path).unwrap();
                    writer.start_file(name, options).unwrap();
                    std::io::Write::write_all(&mut writer, &std::fs::read(&path).unwrap()).unwrap();
                }
            }
        }
        writer.finish().unwrap();
    }

    #[test]
    fn directories_and_zips_compare_alike() {
        let scratch = std::env::temp_dir().join(format!("cfi-changed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        let (old, new) = (scratch.join("old"), scratch.join("new"));
        write(
            &old,
            &[
                ("dist/index.html", "v1"),
                ("dist/docs/index.html", "same"),
                ("dist/gone.css", "x"),
                ("README.txt", "not served"),
            ],
        );
        write(
            &new,
            &[
                ("dist/index.html", "v2"),
                ("dist/docs/index.html", "same"),
                ("dist/my file.html", "new"),
                ("README.txt", "changed, not served"),
            ],
        );
        let from_dirs = changed_between(&old, &new, "dist/", "/", &S3Listings::new()).unwrap();
        assert_eq!(
            from_dirs.paths,
            ["/my file.html", "/index.html", "/gone.css"]
        );
        assert_eq!(from_dirs.outside, 1);
        assert_eq!(
            from_dirs.sentence(),
            "The builds differ in 4 files: 1 added, 2 changed, 1 removed (1 outside --key-prefix)."
        );
        let zip = scratch.join("old.zip");
        zip_of(&old, &zip);
        let mixed = changed_between(&zip, &new, "dist/", "/", &S3Listings::new()).unwrap();
        assert_eq!(mixed.paths, from_dirs.paths);
        let same = changed_between(&zip, &old, "", "/", &S3Listings::new()).unwrap();
        assert_eq!(same.changes.count(), 0);
        let missing =
            changed_between(&scratch.join("nope"), &new, "", "/", &S3Listings::new()).unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        let not_zip = changed_between(
            &old.join("dist/index.html"),
            &new,
            "",
            "/",
            &S3Listings::new(),
        )
        .unwrap_err();
        assert!(
            not_zip.to_string().contains("not a zip archive"),
            "{not_zip}"
        );
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
