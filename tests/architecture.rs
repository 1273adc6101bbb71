//! Rules that keep the layers apart, checked on the sources: the engine returns facts, and only
//! the shells speak CodePipeline's (or a terminal's) language.

use std::path::Path;

/// Words of the shells that must never appear in the domain's code (comments may explain them).
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

/// The domain: the engine, the artifact reader, the path planner, the values every shell reads
/// and the events' planning. Their own tests may build jobs from UserParameters for brevity.
const DOMAIN: [&str; 5] = [
    "src/engine",
    "src/artifact",
    "src/plan.rs",
    "src/values.rs",
    "src/events",
];

fn domain_files(path: &Path, files: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
            let entry = entry.expect("a directory entry").path();
            if entry.file_stem().is_none_or(|stem| stem != "tests") {
                domain_files(&entry, files);
            }
        }
    } else if path.extension().is_some_and(|ext| ext == "rs") {
        files.push(path.to_owned());
    }
}

#[test]
fn the_domain_carries_no_shell_wording() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for module in DOMAIN {
        domain_files(&root.join(module), &mut files);
    }
    for expected in [
        "src/engine/drive.rs",
        "src/artifact/job.rs",
        "src/artifact/zipdir.rs",
    ] {
        assert!(
            files.contains(&root.join(expected)),
            "expected {expected} among the domain's files: {files:?}"
        );
    }
    let found: Vec<String> = files
        .iter()
        .flat_map(|path| {
            code_lines(path)
                .into_iter()
                .flat_map(move |(number, code)| {
                    SHELL_WORDS
                        .into_iter()
                        .filter(move |word| code.contains(word))
                        .map(move |word| format!("{}:{number}: {word}", path.display()))
                })
        })
        .collect();
    assert!(
        found.is_empty(),
        "shell wording in the domain:\n{}",
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
