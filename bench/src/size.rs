//! Size of what is shipped: the release's assets from `scripts/release.sh --out target/dist`
//! when they are there (Lambda zips, the static CLI's tarballs and binaries), and always the
//! binaries this run measured, their Lambda zip made here with cargo-lambda's layout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde::Serialize;

use crate::BenchError;
use crate::run::Settings;

#[derive(Debug, Clone, Serialize)]
pub struct Artefact {
    pub what: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// When it was built (UTC, ISO 8601).
    pub built: String,
}

/// The artefacts that exist, after zipping the benchmarked bootstrap into the work directory.
pub fn measure(settings: &Settings) -> Result<Vec<Artefact>, BenchError> {
    let version = env!("CARGO_PKG_VERSION");
    let (dist, profile) = (settings.target_dir.join("dist"), &settings.profile);
    let mut candidates: Vec<(String, PathBuf)> = ["arm64", "x86_64"]
        .map(|arch| {
            (
                format!("Lambda zip, Linux {arch} (scripts/release.sh)"),
                dist.join(format!("cf-invalidate-lambda-{version}-{arch}.zip")),
            )
        })
        .to_vec();
    for triple in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        let name = format!("cf-invalidate-{version}-{triple}");
        candidates.push((
            format!("CLI tarball, {triple} (scripts/release.sh)"),
            dist.join(format!("{name}.tar.gz")),
        ));
        candidates.push((
            format!("CLI binary, static, {triple} (scripts/release.sh)"),
            settings
                .target_dir
                .join("release-stage")
                .join(name)
                .join("cf-invalidate"),
        ));
    }
    let arch = std::env::consts::ARCH;
    let zip = settings
        .work_dir
        .join(format!("cf-invalidate-lambda-{arch}.zip"));
    let lambda = settings.lambda()?;
    zip_bootstrap(&settings.python, lambda, &zip)?;
    candidates.push((
        format!("Lambda zip, Linux {arch}, {profile} (zipped by the harness)"),
        zip,
    ));
    candidates.push((
        format!("Lambda bootstrap, Linux {arch}, {profile}, unpacked"),
        lambda.to_path_buf(),
    ));
    if let Some(cli) = &settings.cli {
        candidates.push((format!("CLI binary, Linux {arch}, {profile}"), cli.clone()));
    }
    Ok(candidates
        .into_iter()
        .filter_map(|(what, path)| {
            let meta = std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
            let built = meta.modified().unwrap_or_else(|_| SystemTime::now());
            Some(Artefact {
                what,
                bytes: meta.len(),
                built: local_aws::iso8601(built),
                path,
            })
        })
        .collect())
}

/// `bootstrap` alone at the root of a deflated zip, executable, as cargo-lambda lays it out
/// (with Python's zipfile: the baseline's interpreter is there anyway).
fn zip_bootstrap(python: &Path, bootstrap: &Path, zip: &Path) -> Result<(), BenchError> {
    const SCRIPT: &str = "import sys, zipfile\n\
        info = zipfile.ZipInfo('bootstrap', date_time=(1980, 1, 1, 0, 0, 0))\n\
        info.external_attr = 0o100755 << 16\n\
        info.compress_type = zipfile.ZIP_DEFLATED\n\
        with open(sys.argv[2], 'rb') as f, zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.writestr(info, f.read())\n";
    let output = Command::new(python)
        .args(["-c", SCRIPT])
        .arg(zip)
        .arg(bootstrap)
        .output()
        .map_err(|source| BenchError::Spawn {
            program: python.to_path_buf(),
            source,
        })?;
    if !output.status.success() {
        return Err(BenchError::Run(format!(
            "zipping {} failed: {}",
            bootstrap.display(),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}
