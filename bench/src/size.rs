//! Size of what is shipped: the Lambda zip and the CLI binary.
//!
//! `scripts/release.sh --out target/dist` builds the release's assets; the Lambda zips and the
//! static CLI (its tarball, and the binary it holds) are reported when present, with their date. The binaries the
//! benchmark runs (this machine's architecture, the same release profile) are always reported,
//! and their Lambda zip is made here with the same layout (`bootstrap` at the root, deflate).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde::Serialize;

use crate::BenchError;

/// One artefact.
#[derive(Debug, Clone, Serialize)]
pub struct Artefact {
    /// What it is.
    pub what: String,
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// When it was built (UTC, ISO 8601).
    pub built: String,
}

/// Finds the artefacts and zips the benchmarked bootstrap (with `python`'s zipfile, which is
/// there anyway for the baseline) into `work_dir`.
pub fn measure(
    lambda: &Path,
    cli: Option<&Path>,
    target_dir: &Path,
    work_dir: &Path,
    python: &Path,
    profile: &str,
) -> Result<Vec<Artefact>, BenchError> {
    let mut found = Vec::new();
    let version = env!("CARGO_PKG_VERSION");
    let dist = target_dir.join("dist");
    for arch in ["arm64", "x86_64"] {
        push(
            &mut found,
            format!("Lambda zip, Linux {arch} (scripts/release.sh)"),
            &dist.join(format!("cf-invalidate-lambda-{version}-{arch}.zip")),
        );
    }
    for triple in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        let name = format!("cf-invalidate-{version}-{triple}");
        push(
            &mut found,
            format!("CLI tarball, {triple} (scripts/release.sh)"),
            &dist.join(format!("{name}.tar.gz")),
        );
        push(
            &mut found,
            format!("CLI binary, static, {triple} (scripts/release.sh)"),
            &target_dir
                .join("release-stage")
                .join(name)
                .join("cf-invalidate"),
        );
    }
    let arch = std::env::consts::ARCH;
    let zip = work_dir.join(format!("cf-invalidate-lambda-{arch}.zip"));
    zip_bootstrap(python, lambda, &zip)?;
    push(
        &mut found,
        format!("Lambda zip, Linux {arch}, {profile} (zipped by the harness)"),
        &zip,
    );
    push(
        &mut found,
        format!("Lambda bootstrap, Linux {arch}, {profile}, unpacked"),
        lambda,
    );
    if let Some(cli) = cli {
        push(
            &mut found,
            format!("CLI binary, Linux {arch}, {profile}"),
            cli,
        );
    }
    Ok(found)
}

fn push(found: &mut Vec<Artefact>, what: String, path: &Path) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if !meta.is_file() {
        return;
    }
    let built = meta
        .modified()
        .map(local_aws::iso8601)
        .unwrap_or_else(|_| local_aws::iso8601(SystemTime::now()));
    found.push(Artefact {
        what,
        path: path.to_path_buf(),
        bytes: meta.len(),
        built,
    });
}

/// `bootstrap` alone at the root of a deflated zip, executable, as cargo-lambda lays it out.
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
