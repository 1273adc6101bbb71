//! The action's input artifacts as CodePipeline keeps them: zips in the pipeline's artifact
//! bucket. A directory is zipped on the fly, the same bytes for the same files every time.

use std::fmt;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use zip::write::SimpleFileOptions;

use super::PipelineConfig;
use super::deploy::{SiteFile, extract};
use crate::codepipeline::executions::S3Artifact;
use crate::rng::SeededRng;

/// Where an input artifact's zip comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum ArtifactSource {
    /// A directory, zipped when the run starts (see [`zip_directory`]).
    Directory(PathBuf),
    /// A zip file, uploaded as it is.
    Zip(PathBuf),
    /// A zip already in memory (tests, benchmarks).
    Bytes(Vec<u8>),
}

impl fmt::Debug for ArtifactSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArtifactSource::Directory(path) => f.debug_tuple("Directory").field(path).finish(),
            ArtifactSource::Zip(path) => f.debug_tuple("Zip").field(path).finish(),
            ArtifactSource::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
        }
    }
}

/// The four bytes every zip with at least one entry starts with (a local file header); an
/// empty zip is its end-of-central-directory record alone.
const LOCAL_HEADER: [u8; 4] = *b"PK\x03\x04";
const EMPTY_ZIP: [u8; 4] = *b"PK\x05\x06";

impl ArtifactSource {
    /// A directory, or an existing file that is a zip (by its first bytes).
    pub fn from_path(path: impl Into<PathBuf>) -> Result<Self, ArtifactError> {
        let path = path.into();
        if std::fs::metadata(&path)
            .map_err(ArtifactError::read(&path))?
            .is_dir()
        {
            return Ok(ArtifactSource::Directory(path));
        }
        let mut head = [0u8; 4];
        let read = std::fs::File::open(&path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .map_err(ArtifactError::read(&path))?;
        if read == 4 && (head == LOCAL_HEADER || head == EMPTY_ZIP) {
            return Ok(ArtifactSource::Zip(path));
        }
        Err(ArtifactError::NotZip(path))
    }

    pub fn zip_bytes(&self) -> Result<Vec<u8>, ArtifactError> {
        match self {
            ArtifactSource::Directory(dir) => zip_directory(dir),
            ArtifactSource::Zip(path) => std::fs::read(path).map_err(ArtifactError::read(path)),
            ArtifactSource::Bytes(bytes) => Ok(bytes.clone()),
        }
    }
}

/// An artifact could not be read or zipped.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Neither a directory nor a file that starts as a zip does.
    #[error(
        "{} is neither a directory nor a zip: give a directory to zip, or a .zip file",
        .0.display()
    )]
    NotZip(PathBuf),
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file name a zip entry cannot carry as written.
    #[error("{} is not valid UTF-8: rename it, or zip the directory yourself", .0.display())]
    NonUtf8Name(PathBuf),
    #[error("cannot zip {}: {source}", .path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("cannot extract {role} for the S3 deploy: {source}")]
    Extract {
        role: ArtifactRole,
        #[source]
        source: zip::result::ZipError,
    },
    /// A compressed entry: local-aws reads stored entries only.
    #[error(
        "cannot extract '{name}' of {role} for the S3 deploy: it is compressed ({method}), and local-aws extracts stored entries only: give the directory instead (it is zipped stored), or zip it with `zip -0`"
    )]
    Compressed {
        role: ArtifactRole,
        name: String,
        method: String,
    },
}

impl ArtifactError {
    fn read(path: &Path) -> impl Fn(std::io::Error) -> Self + '_ {
        move |source| Self::Read {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Zips the files under `dir` (following symbolic links), named by their path relative to it
/// with `/` between folders, in byte order of those names, stored without compression, each
/// dated 1980-01-01 00:00 with mode 0644: the same files always give the same bytes. Empty
/// folders are left out, as they carry nothing to deploy.
pub fn zip_directory(dir: &Path) -> Result<Vec<u8>, ArtifactError> {
    let mut files = Vec::new();
    collect_files(dir, "", &mut files)?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let zip_error = |source| ArtifactError::Zip {
        path: dir.to_path_buf(),
        source,
    };
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, path) in files {
        let body = std::fs::read(&path).map_err(ArtifactError::read(&path))?;
        writer.start_file(name, options).map_err(zip_error)?;
        writer.write_all(&body).map_err(|e| zip_error(e.into()))?;
    }
    let cursor = writer.finish().map_err(zip_error)?;
    Ok(cursor.into_inner())
}

fn collect_files(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<(String, PathBuf)>,
) -> Result<(), ArtifactError> {
    for entry in std::fs::read_dir(dir).map_err(ArtifactError::read(dir))? {
        let path = entry.map_err(ArtifactError::read(dir))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(ArtifactError::NonUtf8Name(path));
        };
        let name = format!("{prefix}{name}");
        if std::fs::metadata(&path)
            .map_err(ArtifactError::read(&path))?
            .is_dir()
        {
            collect_files(&path, &format!("{name}/"), files)?;
        } else {
            files.push((name, path));
        }
    }
    Ok(())
}

/// The zips of a run's artifacts, read before the run starts, and with a deploy target their
/// files, extracted.
#[derive(Debug, Default)]
pub(crate) struct ArtifactBytes {
    pub current: Option<Vec<u8>>,
    pub previous: Option<Vec<u8>>,
    pub current_files: Option<Vec<SiteFile>>,
    pub previous_files: Option<Vec<SiteFile>>,
}

pub(crate) fn read_all(config: &PipelineConfig) -> Result<ArtifactBytes, ArtifactError> {
    let read = |source: &Option<ArtifactSource>| source.as_ref().map(ArtifactSource::zip_bytes);
    let current = read(&config.artifact).transpose()?;
    let previous = read(&config.previous_artifact).transpose()?;
    // Extracted now, so that an artifact the deploy cannot read is a usage error before the run.
    let files = |zip: &Option<Vec<u8>>, role| match (&config.deploy_to, zip) {
        (Some(_), Some(zip)) => extract(zip, role).map(Some),
        _ => Ok(None),
    };
    Ok(ArtifactBytes {
        current_files: files(&current, ArtifactRole::Current)?,
        previous_files: files(&previous, ArtifactRole::Previous)?,
        current,
        previous,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactRole {
    Current,
    /// The input artifact of the previous execution in the history.
    Previous,
}

impl fmt::Display for ArtifactRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArtifactRole::Current => "the artifact",
            ArtifactRole::Previous => "the previous artifact",
        })
    }
}

/// An artifact the run put in the artifact bucket (or recorded without its object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StagedArtifact {
    pub role: ArtifactRole,
    pub location: S3Artifact,
    pub size: u64,
    /// Whether the object is in the bucket (`false`: `previous_artifact_gone`).
    pub stored: bool,
    /// For the previous artifact: the action execution that took it as input.
    pub action_execution_id: Option<String>,
}

/// CodePipeline's default artifact bucket for a region and account.
pub(crate) fn artifact_bucket(region: &str, account_id: &str) -> String {
    format!("codepipeline-{region}-{account_id}")
}

/// `PIPELINE/ARTIFACT/ID`, the pipeline name cut to 20 characters and the artifact's to 10, as
/// CodePipeline writes artifact keys.
pub(crate) fn object_key(pipeline_name: &str, artifact_name: &str, id: &str) -> String {
    let pipeline: String = pipeline_name.chars().take(20).collect();
    let artifact: String = artifact_name.chars().take(10).collect();
    format!("{pipeline}/{artifact}/{id}")
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// An access key id of temporary credentials (`ASIA` + 16 characters), one per seed.
pub(crate) fn job_access_key_id(seed: u64) -> String {
    let mut rng = SeededRng::with_stream(seed, 8);
    format!("ASIA{}", rng.string_from(UPPER_ALNUM, 16))
}

/// A new object id for an artifact key (7 letters and digits).
pub(crate) fn object_id(rng: &mut SeededRng) -> String {
    rng.string_from(ALNUM, 7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::tests::scratch;

    /// The entry names in the zip's central directory, in order, with their sizes.
    fn entries(bytes: &[u8]) -> Vec<(String, u64)> {
        let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(a) => a,
            Err(e) => panic!("not a zip: {e}"),
        };
        (0..archive.len())
            .map(|i| match archive.by_index(i) {
                Ok(f) => (
                    f.name().map(|n| n.to_string()).unwrap_or_default(),
                    f.size(),
                ),
                Err(e) => panic!("entry {i}: {e}"),
            })
            .collect()
    }

    #[test]
    fn a_directory_zips_to_the_same_bytes_whatever_the_order_of_creation() {
        // GIVEN the same files written in two orders, at different times
        let files = [
            ("index.html", "<h1>home</h1>"),
            ("assets/css/site.css", "body{}"),
            ("assets/app.js", "run()"),
            ("about/index.html", "about"),
        ];
        let first = scratch("zip-first", &files);
        let mut reversed = files;
        reversed.reverse();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = scratch("zip-second", &reversed);
        // WHEN both are zipped
        let a = zip_directory(&first).unwrap_or_default();
        let b = zip_directory(&second).unwrap_or_default();
        // THEN the bytes are the same, and the names sorted, nested with '/'
        assert!(!a.is_empty());
        assert_eq!(a, b);
        assert_eq!(
            entries(&a),
            [
                ("about/index.html".to_string(), 5),
                ("assets/app.js".to_string(), 5),
                ("assets/css/site.css".to_string(), 6),
                ("index.html".to_string(), 13),
            ]
        );
        let _ = std::fs::remove_dir_all(&first);
        let _ = std::fs::remove_dir_all(&second);
    }

    #[test]
    fn entries_are_stored_and_dated_1980() {
        let dir = scratch("zip-stored", &[("a/b/c.txt", "hello")]);
        let bytes = zip_directory(&dir).unwrap_or_default();
        let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(a) => a,
            Err(e) => panic!("not a zip: {e}"),
        };
        let entry = match archive.by_index(0) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(entry.name().ok().as_deref(), Some("a/b/c.txt"));
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        let modified = entry.last_modified().unwrap_or_default();
        assert_eq!(
            (modified.year(), modified.month(), modified.day()),
            (1980, 1, 1)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn keys_and_buckets_are_named_as_codepipeline_names_them() {
        assert_eq!(
            artifact_bucket("eu-west-1", "123456789012"),
            "codepipeline-eu-west-1-123456789012"
        );
        assert_eq!(
            object_key("a-very-long-pipeline-name", "BuildArtifact", "Ab3xYz1"),
            "a-very-long-pipeline/BuildArtif/Ab3xYz1"
        );
        let key = job_access_key_id(7);
        assert_eq!(key, job_access_key_id(7));
        assert_ne!(key, job_access_key_id(8));
        assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    }

    #[test]
    fn sources_are_told_apart_by_what_they_are() {
        let files = [("site/index.html", "x"), ("notes.txt", "not a zip")];
        let dir = scratch("zip-sources", &files);
        let zipped = zip_directory(&dir.join("site")).unwrap_or_default();
        let _ = std::fs::write(dir.join("site.zip"), &zipped);
        let _ = std::fs::write(dir.join("empty.zip"), b"");

        assert_eq!(
            ArtifactSource::from_path(dir.join("site")).ok(),
            Some(ArtifactSource::Directory(dir.join("site")))
        );
        let zip = ArtifactSource::from_path(dir.join("site.zip"));
        assert_eq!(zip.ok(), Some(ArtifactSource::Zip(dir.join("site.zip"))));
        assert_eq!(
            ArtifactSource::Zip(dir.join("site.zip"))
                .zip_bytes()
                .unwrap_or_default(),
            zipped
        );
        for bad in ["notes.txt", "empty.zip"] {
            let message = ArtifactSource::from_path(dir.join(bad))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(
                message,
                format!(
                    "{} is neither a directory nor a zip: give a directory to zip, or a .zip file",
                    dir.join(bad).display()
                )
            );
        }
        let missing = ArtifactSource::from_path(dir.join("missing"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            missing.starts_with(&format!("cannot read {}: ", dir.join("missing").display())),
            "{missing}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
