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
    without_comments(&text)
}

/// Each line's code without its `//` comment; a `//` inside a string literal (a URL) is code,
/// and a string literal may go on over several lines. Char literals are skipped whole, so that
/// `'"'` opens no string.
fn without_comments(text: &str) -> Vec<(usize, String)> {
    let mut in_string = false;
    let mut lines = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut code = String::new();
        let mut index = 0;
        while let Some(&c) = chars.get(index) {
            if in_string {
                match c {
                    '\\' => {
                        code.push(c);
                        if let Some(&escaped) = chars.get(index + 1) {
                            code.push(escaped);
                        }
                        index += 2;
                        continue;
                    }
                    '"' => in_string = false,
                    _ => {}
                }
            } else {
                match (
                    c,
                    chars.get(index + 1),
                    chars.get(index + 2),
                    chars.get(index + 3),
                ) {
                    ('/', Some('/'), _, _) => break,
                    ('"', _, _, _) => in_string = true,
                    ('\'', Some('\\'), Some(_), Some('\'')) => {
                        code.extend(&chars[index..index + 4]);
                        index += 4;
                        continue;
                    }
                    ('\'', Some(_), Some('\''), _) => {
                        code.extend(&chars[index..index + 3]);
                        index += 3;
                        continue;
                    }
                    _ => {}
                }
            }
            code.push(c);
            index += 1;
        }
        lines.push((number + 1, code));
    }
    lines
}

#[test]
fn comments_are_cut_but_urls_and_strings_are_code() {
    let text = "let url = \"https://example.com/a\"; // a comment\n\
                let quote = '\"'; let s = \"PutJob // inside\"; // PutJob\n\
                let multi = \"first line\n\
                second // still the string\"; // gone";
    let lines = without_comments(text);
    assert_eq!(lines[0].1, "let url = \"https://example.com/a\"; ");
    assert_eq!(
        lines[1].1,
        "let quote = '\"'; let s = \"PutJob // inside\"; "
    );
    assert_eq!(lines[3].1, "second // still the string\"; ");
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
