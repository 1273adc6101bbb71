//! cfn-lint, as the tests run it: on every template in `infra/`, or on a broken copy of one.

use std::path::PathBuf;
use std::process::Command;

use super::template::repo_path;

/// Every template in `infra/`, sorted.
pub fn templates() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(repo_path("infra"))
        .expect("infra/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        })
        .collect();
    found.sort();
    found
}

#[path = "../../local-aws/tests/support/tools.rs"]
mod tools;

/// cfn-lint: `$CFN_LINT`, else the test virtualenv's (prepared if need be).
pub fn cfn_lint() -> PathBuf {
    tools::python_tool("CFN_LINT", "cfn-lint", "cfn-lint")
}

pub fn run_cfn_lint(files: &[PathBuf]) -> std::process::Output {
    Command::new(cfn_lint())
        .arg("--")
        .args(files)
        .output()
        .expect("cfn-lint runs")
}

/// cfn-lint on `text`, written to a temporary file.
pub fn lint_text(text: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!(
        "cf-invalidate-infra-{}-{}",
        std::process::id(),
        LINT_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, text).expect("write the broken template");
    let output = run_cfn_lint(std::slice::from_ref(&broken));
    let _ = std::fs::remove_dir_all(&dir);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

pub static LINT_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
