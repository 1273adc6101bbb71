//! Records the commit this library is built from, for `--version` and the functions' first log
//! line: `CF_INVALIDATE_COMMIT` when the build sets it (scripts/release.sh does), else what git
//! says of this checkout, else `unknown` (a source tarball without .git).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CF_INVALIDATE_COMMIT");
    let commit = std::env::var("CF_INVALIDATE_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(|| {
            // Rebuilt when HEAD moves: a commit, a checkout or a fetch that repacks the refs.
            for path in ["HEAD", "packed-refs"] {
                if let Some(path) = git(&["rev-parse", "--git-path", path]) {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
            if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
                && let Some(path) = git(&["rev-parse", "--git-path", &reference])
            {
                println!("cargo:rerun-if-changed={path}");
            }
            git(&["rev-parse", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let commit = commit.trim();
    println!("cargo:rustc-env=CF_INVALIDATE_COMMIT={commit}");
    let short = commit.get(..12).unwrap_or(commit);
    println!("cargo:rustc-env=CF_INVALIDATE_COMMIT_SHORT={short}");
}

/// One line of git's answer in this package's directory, or None without git or a repository.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let line = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !line.trim().is_empty()).then(|| line.trim().to_owned())
}
