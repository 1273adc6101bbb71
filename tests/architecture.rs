//! Rules that keep the layers apart, checked on the sources: the engine returns facts, and only
//! the shells speak CodePipeline's (or a terminal's) language.

use std::path::Path;

/// Words of the shells that must never appear in the engine's code (comments may explain them).
const SHELL_WORDS: [&str; 12] = [
    "CodePipeline",
    "UserParameters",
    "PutJob",
    "FailureType",
    "JobFailure",
    "JobSuccess",
    "JobOutcome",
    "ExecutionDetails",
    "crate::lambda",
    "clap",
    "--distribution",
    "outputVariables",
];

fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.split("//").next().unwrap_or("").to_owned()))
        .collect()
}

#[test]
fn the_engine_carries_no_shell_wording() {
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut found = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&engine).expect("src/engine") {
        let path = entry.expect("entry").path();
        // The engine's own tests may build jobs from UserParameters for brevity.
        if path.file_name().is_some_and(|name| name == "tests.rs") {
            continue;
        }
        files += 1;
        for (number, code) in code_lines(&path) {
            for word in SHELL_WORDS {
                if code.contains(word) {
                    found.push(format!("{}:{number}: {word}", path.display()));
                }
            }
        }
    }
    assert!(
        files >= 3,
        "expected the engine's modules in {}",
        engine.display()
    );
    assert!(
        found.is_empty(),
        "shell wording in the engine:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_lambda_function_does_not_link_the_command_line() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    let package = manifest
        .split("[package]")
        .nth(1)
        .expect("a [package] section");
    for crate_name in ["clap", "indicatif"] {
        assert!(
            !package
                .lines()
                .any(|line| line.trim_start().starts_with(crate_name)),
            "the cf-invalidate package (the Lambda function) depends on {crate_name}"
        );
    }
}
