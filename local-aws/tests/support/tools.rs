//! The Python tools the workspace's tests drive (the AWS CLI, cfn-lint, the benchmark's
//! Python), found the same way by every test crate, which includes this file by its path:
//! the path in the tool's environment variable when it is set; else `.venv/bin/<tool>` at the
//! workspace root, once `.venv` holds exactly `scripts/requirements-test.txt`; else
//! `scripts/prepare-tools.sh` makes it so first (once per test process; the script's lock
//! keeps processes that run it at once apart). Nothing is ever skipped: a tool that cannot be
//! had fails the test with one message that says what is missing and what to run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PREPARE: &str = "scripts/prepare-tools.sh";
const REQUIREMENTS: &str = "scripts/requirements-test.txt";
/// Where the script copies the requirements it installed.
const STAMP: &str = ".venv/.requirements";

/// The workspace root: the nearest folder above the test's crate that has the prepare script.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join(PREPARE).is_file())
        .unwrap_or(manifest)
        .to_path_buf()
}

/// `what` (`the AWS CLI`), the executable `tool` (`aws`) of the test virtualenv, or the one
/// `env_var` (`AWS_CLI`) names.
pub fn python_tool(env_var: &str, tool: &str, what: &str) -> PathBuf {
    let advice = format!(
        "run ./scripts/test.sh (it prepares .venv from {REQUIREMENTS} with python3 and pip), or set {env_var} to the path of a `{tool}` executable"
    );
    if let Some(path) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{what} is missing: {env_var}={} is not a file: {advice}",
            path.display()
        );
        return path;
    }
    let root = workspace_root();
    let path = root.join(".venv/bin").join(tool);
    if !(path.is_file() && venv_is_current(&root))
        && let Err(why) = prepare(&root)
    {
        panic!(
            "{what} is missing ({env_var} is not set, and .venv could not be prepared): {advice}. {why}"
        );
    }
    assert!(
        path.is_file(),
        "{what} is missing: {env_var} is not set and {PREPARE} left no {}: {advice}",
        path.display()
    );
    path
}

/// Whether `.venv` was prepared from the requirements as they are now.
fn venv_is_current(root: &Path) -> bool {
    match (
        std::fs::read(root.join(REQUIREMENTS)),
        std::fs::read(root.join(STAMP)),
    ) {
        (Ok(wanted), Ok(installed)) => wanted == installed,
        _ => false,
    }
}

/// Runs the prepare script, once for the whole test process.
fn prepare(root: &Path) -> Result<(), String> {
    static PREPARED: OnceLock<Result<(), String>> = OnceLock::new();
    PREPARED
        .get_or_init(|| {
            let out = Command::new("bash")
                .arg(root.join(PREPARE))
                .current_dir(root)
                .output()
                .map_err(|e| format!("cannot run bash {PREPARE}: {e}"))?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                eprint!("{stderr}");
                return Ok(());
            }
            // pip's own last words, each cut short: a missing version lists every other one.
            let lines: Vec<String> = stderr
                .trim()
                .lines()
                .map(|line| match line.char_indices().nth(300) {
                    Some((cut, _)) => format!("{}...", &line[..cut]),
                    None => line.to_string(),
                })
                .collect();
            let last = lines[lines.len().saturating_sub(10)..].join("\n");
            Err(format!("{PREPARE} ended with {}:\n{last}", out.status))
        })
        .clone()
}
