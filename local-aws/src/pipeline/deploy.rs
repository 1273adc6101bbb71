//! The S3 deploy action before this one: an artifact's files extracted into a bucket of
//! local-aws's S3, one object each, as CodePipeline's S3 deploy action with "Extract file
//! before deploy" leaves them for the distribution's origin.

use std::fmt;
use std::io::{Cursor, Read};
use std::str::FromStr;

use serde::Serialize;

use super::artifact::{ArtifactError, ArtifactRole};
use crate::s3::StoredObject;
use crate::server::EmulatorHandle;

/// Where the deploy puts the files: the bucket (`BucketName`) and the deployment path
/// (`ObjectKey`, the console's "Deployment path"), without slashes at its ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployTarget {
    pub bucket: String,
    pub prefix: String,
}

impl DeployTarget {
    /// The object key of the artifact's file `name`.
    pub fn key(&self, name: &str) -> String {
        match self.prefix.as_str() {
            "" => name.to_string(),
            prefix => format!("{prefix}/{name}"),
        }
    }
}

impl fmt::Display for DeployTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix.as_str() {
            "" => write!(f, "s3://{}", self.bucket),
            prefix => write!(f, "s3://{}/{prefix}/", self.bucket),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid deploy target '{text}': {why}, e.g. site-bucket or site-bucket/releases/current")]
pub struct DeployTargetError {
    text: String,
    why: &'static str,
}

impl FromStr for DeployTarget {
    type Err = DeployTargetError;

    /// `BUCKET` or `BUCKET/PREFIX`; an `s3://` in front is allowed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why| DeployTargetError {
            text: text.to_string(),
            why,
        };
        let rest = text.strip_prefix("s3://").unwrap_or(text);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // The names S3 routes by path, as an --origin bucket is checked.
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
        if bucket.is_empty() {
            return Err(bad("give the bucket name first"));
        }
        if !bucket.chars().all(allowed) {
            return Err(bad(
                "a bucket name has lowercase letters, digits, '-' and '.' only",
            ));
        }
        Ok(Self {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }
}

/// One file of an artifact, as extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SiteFile {
    /// The entry's name in the zip (`css/site.css`).
    pub name: String,
    pub body: Vec<u8>,
}

/// The files of a zip (folder entries left out), in the zip's order. Only stored entries can
/// be read: local-aws's zip reader has no decompression, so a compressed entry is refused with
/// what to do instead.
pub(crate) fn extract(zip: &[u8], role: ArtifactRole) -> Result<Vec<SiteFile>, ArtifactError> {
    let bad = |source| ArtifactError::Extract { role, source };
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(bad)?;
    let mut files = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(bad)?;
        let name = entry.name().map_err(bad)?.into_owned();
        if entry.is_dir() {
            continue;
        }
        if entry.compression() != zip::CompressionMethod::Stored {
            return Err(ArtifactError::Compressed {
                role,
                name,
                method: entry.compression().to_string(),
            });
        }
        let mut body = Vec::new();
        entry
            .read_to_end(&mut body)
            .map_err(|e| bad(zip::result::ZipError::Io(e)))?;
        files.push(SiteFile { name, body });
    }
    Ok(files)
}

/// The Content-Type of a file by its extension, as the S3 deploy action sets it for a static
/// site; `binary/octet-stream` (S3's default) for any other.
pub fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref().unwrap_or("") {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" | "map" => "application/json",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        _ => "binary/octet-stream",
    }
}

/// One deploy of the run: the previous execution's, then this one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployReport {
    /// Whose artifact: the previous execution's or this one's.
    pub role: ArtifactRole,
    pub target: DeployTarget,
    /// The CacheControl set on every object, if any.
    pub cache_control: Option<String>,
    /// The keys written, in the zip's order.
    pub keys: Vec<String>,
    /// Their bodies' bytes in all.
    pub bytes: u64,
}

/// Puts each file in the bucket (created if missing), replacing what was there; objects not in
/// the artifact stay, as the S3 deploy action leaves them.
pub(crate) fn deploy(
    emu: &EmulatorHandle,
    role: ArtifactRole,
    target: &DeployTarget,
    cache_control: Option<&str>,
    files: &[SiteFile],
) -> DeployReport {
    emu.create_bucket(&target.bucket);
    let mut keys = Vec::with_capacity(files.len());
    let mut bytes = 0;
    for file in files {
        let key = target.key(&file.name);
        let mut object = StoredObject::new(file.body.clone().into(), None);
        object.content_type = content_type(&file.name).to_string();
        object.cache_control = cache_control.map(str::to_string);
        // The bucket was created just before: the insert cannot miss it.
        let _ = emu.insert_object(&target.bucket, &key, object);
        bytes += file.body.len() as u64;
        keys.push(key);
    }
    DeployReport {
        role,
        target: target.clone(),
        cache_control: cache_control.map(str::to_string),
        keys,
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_a_bucket_and_a_deployment_path() {
        let parse = |text: &str| text.parse::<DeployTarget>();
        let target = parse("site-bucket/releases/current/").ok();
        assert_eq!(
            target
                .as_ref()
                .map(|t| (t.bucket.as_str(), t.prefix.as_str())),
            Some(("site-bucket", "releases/current"))
        );
        assert_eq!(
            target.map(|t| t.key("a b.html")),
            Some("releases/current/a b.html".to_string())
        );
        let plain = parse("s3://site").ok();
        assert_eq!(
            plain.as_ref().map(|t| t.key("index.html")),
            Some("index.html".into())
        );
        assert_eq!(plain.map(|t| t.to_string()), Some("s3://site".into()));
        let message = parse("Site_Bucket").err().map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some(
                "invalid deploy target 'Site_Bucket': a bucket name has lowercase letters, digits, '-' and '.' only, e.g. site-bucket or site-bucket/releases/current"
            )
        );
        assert!(parse("/prefix").is_err());
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("docs/café menu.HTML"), "text/html");
        assert_eq!(content_type("css/site.css"), "text/css");
        assert_eq!(content_type("img/logo.png"), "image/png");
        assert_eq!(content_type("LICENSE"), "binary/octet-stream");
        assert_eq!(content_type("archive.tar.gz"), "binary/octet-stream");
    }

    #[test]
    fn a_zip_gives_its_files_without_folders_and_refuses_a_compressed_entry() {
        use std::io::Write;
        use zip::write::SimpleFileOptions;
        let stored =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let _ = writer.add_directory("docs/", stored);
        let _ = writer.start_file("docs/a b.html", stored);
        let _ = writer.write_all(b"v1");
        let zip = writer.finish().map(Cursor::into_inner).unwrap_or_default();
        let files = extract(&zip, ArtifactRole::Current).unwrap_or_default();
        assert_eq!(
            files,
            [SiteFile {
                name: "docs/a b.html".into(),
                body: b"v1".to_vec()
            }]
        );
        let message = extract(b"PK\x03\x04 not really", ArtifactRole::Previous)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.starts_with("cannot extract the previous artifact for the S3 deploy: "),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_deploy_writes_each_file_under_the_prefix_with_its_type_and_cache_control() {
        let config = crate::server::EmulatorConfig::default();
        let Ok(emu) = crate::server::Emulator::start(config).await else {
            panic!("the emulator did not start");
        };
        let target: DeployTarget = match "site/releases/".parse() {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let files = [
            SiteFile {
                name: "docs/a b.html".into(),
                body: b"v1".to_vec(),
            },
            SiteFile {
                name: "LICENSE".into(),
                body: b"MIT".to_vec(),
            },
        ];
        let report = deploy(
            &emu,
            ArtifactRole::Current,
            &target,
            Some("max-age=60"),
            &files,
        );
        assert_eq!(report.keys, ["releases/docs/a b.html", "releases/LICENSE"]);
        assert_eq!(report.bytes, 5);
        let stored = |key: &str| {
            let object = emu.object("site", key);
            object.map(|o| (o.body.to_vec(), o.content_type, o.cache_control))
        };
        let max_age = Some("max-age=60".to_string());
        assert_eq!(
            stored("releases/docs/a b.html"),
            Some((b"v1".to_vec(), "text/html".to_string(), max_age.clone()))
        );
        assert_eq!(
            stored("releases/LICENSE"),
            Some((b"MIT".to_vec(), "binary/octet-stream".to_string(), max_age))
        );
        emu.shutdown().await;
    }
}
