//! The release's files, short of compiling them: the packaged templates (`scripts/assets.py
//! template`) deploy the release's zip and lint clean, the Serverless Application Repository
//! metadata is complete and carries the workspace version, every place that names a version
//! agrees, and the archives' bytes depend only on their contents and the commit's time. The
//! binaries' reproducibility is proven by `scripts/check-reproducible.sh`, which CI runs.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use support::lint::run_cfn_lint;
use support::template::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TEMPLATES: [(&str, &str); 2] = [
    ("infra/template.yaml", "cf-invalidate-lambda"),
    ("infra/events.yaml", "cf-invalidate-events"),
];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cf-invalidate-release-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// `python3 scripts/assets.py ARGS...` with this SOURCE_DATE_EPOCH; panics with its stderr.
fn assets(epoch: &str, args: &[&Path]) -> std::process::Output {
    Command::new("python3")
        .arg(repo_path("scripts/assets.py"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .expect("python3 runs (the release scripts need it)")
}

fn ok(output: std::process::Output) -> std::process::Output {
    assert!(
        output.status.success(),
        "assets.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn serverless_repo(template: &Value) -> &Value {
    &template["Metadata"]["AWS::ServerlessRepo::Application"]
}

#[test]
fn the_packaged_templates_deploy_the_release_zip_on_its_architecture_and_lint_clean() {
    let dir = scratch("templates");
    let mut written = Vec::new();
    for (source, function) in TEMPLATES {
        for arch in ["arm64", "x86_64"] {
            let zip = format!("{function}-{VERSION}-{arch}.zip");
            let out = dir.join(format!("{function}-{VERSION}-{arch}.yaml"));
            ok(assets(
                "1700000000",
                &[
                    Path::new("template"),
                    &repo_path(source),
                    Path::new(&zip),
                    Path::new(arch),
                    &out,
                ],
            ));
            let packaged = parse_template(&std::fs::read_to_string(&out).expect("written"));
            let original = load(source);
            assert_eq!(
                resource(&packaged, "Function")["Properties"]["CodeUri"],
                zip.as_str()
            );
            assert_eq!(packaged["Parameters"]["Architecture"]["Default"], arch);
            assert_eq!(
                packaged["Parameters"]["Architecture"]["AllowedValues"],
                serde_json::json!([arch])
            );
            // The SAR metadata points at the README and licence the release ships beside it.
            assert_eq!(serverless_repo(&packaged)["LicenseUrl"], "LICENSE");
            assert_eq!(serverless_repo(&packaged)["ReadmeUrl"], "README.md");
            // Nothing else changed: same resources, same outputs.
            assert_eq!(
                resources(&packaged).keys().collect::<Vec<_>>(),
                resources(&original).keys().collect::<Vec<_>>()
            );
            assert_eq!(packaged["Outputs"], original["Outputs"]);
            // cfn-lint reads the zip and the SAR files as local paths, as `sam package` does.
            std::fs::write(
                dir.join(&zip),
                b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            )
            .expect("a zip");
            written.push(out);
        }
    }
    std::fs::copy(repo_path("README.md"), dir.join("README.md")).expect("README");
    std::fs::copy(repo_path("LICENSE"), dir.join("LICENSE")).expect("LICENSE");
    let output = run_cfn_lint(&written);
    assert!(
        output.status.success(),
        "cfn-lint on the packaged templates:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_template_the_packager_does_not_recognise_fails_the_release() {
    let dir = scratch("changed-template");
    let changed = dir.join("template.yaml");
    std::fs::write(
        &changed,
        read("infra/template.yaml").replace("      CodeUri: ..", "      CodeUri: ../"),
    )
    .expect("write");
    let output = assets(
        "1700000000",
        &[
            Path::new("template"),
            &changed,
            Path::new("x.zip"),
            Path::new("arm64"),
            &dir.join("out.yaml"),
        ],
    );
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("CodeUri") && message.contains("found 0"),
        "{message}"
    );
    assert!(!dir.join("out.yaml").exists(), "no half-packaged template");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_serverless_repo_metadata_is_complete_literal_and_at_the_workspace_version() {
    for (source, function) in TEMPLATES {
        let template = load(source);
        let app = serverless_repo(&template);
        let field = |name: &str| {
            app[name]
                .as_str()
                .unwrap_or_else(|| {
                    panic!(
                        "{source}: {name} must be a literal string, got {}",
                        app[name]
                    )
                })
                .to_owned()
        };
        // SAR's own limits (CreateApplication): Name [a-zA-Z0-9-]{1,140}, Description <= 256,
        // Author lower-case words joined by single dashes, <= 127, Labels <= 10 of <= 127.
        // The action is the product: its app is plain `cf-invalidate` (docs/deploy.md).
        let name = field("Name");
        let expected = if function == "cf-invalidate-lambda" {
            "cf-invalidate"
        } else {
            function
        };
        assert_eq!(name, expected, "{source}");
        assert!(name.len() <= 140 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let description = field("Description");
        assert!(
            !description.is_empty() && description.len() <= 256,
            "{source}: {} characters",
            description.len()
        );
        let author = field("Author");
        assert!(
            author.len() <= 127
                && !author.starts_with('-')
                && !author.ends_with('-')
                && !author.contains("--")
                && author
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{source}: Author {author:?}"
        );
        assert_eq!(field("SpdxLicenseId"), "Apache-2.0");
        assert!(read("LICENSE").contains("Apache License\n                           Version 2.0"));
        for (key, file) in [("LicenseUrl", "LICENSE"), ("ReadmeUrl", "README.md")] {
            // Relative to the template, as `sam package` reads it.
            assert_eq!(field(key), format!("../{file}"), "{source}");
            assert!(repo_path("infra").join(field(key)).is_file());
        }
        let labels = app["Labels"].as_array().expect("Labels is a list");
        assert!(!labels.is_empty() && labels.len() <= 10);
        for label in labels {
            let label = label.as_str().expect("a literal label");
            assert!(
                label.len() <= 127
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-_:/@".contains(c)),
                "{source}: label {label:?}"
            );
        }
        assert_eq!(
            field("HomePageUrl"),
            "https://github.com/cf-invalidate/cf-invalidate"
        );
        assert_eq!(
            field("SemanticVersion"),
            VERSION,
            "{source}: bump it with the workspace"
        );
        assert_eq!(
            field("SourceCodeUrl"),
            format!("https://github.com/cf-invalidate/cf-invalidate/tree/v{VERSION}")
        );
        // No intrinsic function anywhere in it: SAR reads the metadata as it is.
        assert!(!app.to_string().contains("\"Ref\"") && !app.to_string().contains("Fn::"));
    }
}

#[test]
fn every_place_that_names_the_version_names_the_workspace_version() {
    assert!(
        read("install.sh")
            .lines()
            .any(|line| line == format!("DEFAULT_VERSION={VERSION}")),
        "install.sh's DEFAULT_VERSION must be {VERSION}"
    );
    for file in ["cli/Cargo.toml", "local-aws/Cargo.toml", "bench/Cargo.toml"] {
        assert!(
            read(file).contains("version.workspace = true"),
            "{file} must take the workspace version"
        );
    }
    let buildspec = read("buildspec.yml");
    assert!(
        buildspec.contains(&format!("CF_INVALIDATE_VERSION: \"{VERSION}\"")),
        "buildspec.yml pins the current release"
    );
    // cargo binstall finds the release's tarball and the binary inside it.
    let cli = read("cli/Cargo.toml");
    assert!(cli.contains("[package.metadata.binstall]"));
    assert!(cli.contains(
        "pkg-url = \"{ repo }/releases/download/v{ version }/cf-invalidate-{ version }-{ target }.tar.gz\""
    ));
    assert!(
        cli.contains("bin-dir = \"cf-invalidate-{ version }-{ target }/{ bin }{ binary-ext }\"")
    );
    let release = read("scripts/release.sh");
    assert!(release.contains("name=\"cf-invalidate-$version-$triple.tar.gz\""));
    assert!(release.contains("dir=\"$stage/cf-invalidate-$version-$triple\""));
}

/// Bytes of an archive `assets.py` writes of `files` (name, content, executable) in a fresh
/// directory named `top` under `parent`, whose files have the modification time `mtime`.
fn archive_of(kind: &str, parent: &Path, top: &str, mtime: i64) -> Vec<u8> {
    let dir = parent.join(top);
    std::fs::create_dir_all(&dir).expect("dir");
    let files: [(&str, &[u8], bool); 2] = [
        ("cf-invalidate", b"\x7fELF not really", true),
        ("README.md", b"# cf-invalidate\n", false),
    ];
    for (name, content, executable) in files {
        let path = dir.join(name);
        std::fs::write(&path, content).expect("write");
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o775 } else { 0o664 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let status = Command::new("touch")
            .arg("-d")
            .arg(format!("@{mtime}"))
            .arg(&path)
            .status()
            .expect("touch");
        assert!(status.success());
    }
    let out = parent.join(format!("out.{kind}"));
    ok(assets(
        "1764000000",
        &[
            Path::new(kind),
            &out,
            &dir,
            Path::new("cf-invalidate"),
            Path::new("README.md"),
        ],
    ));
    std::fs::read(out).expect("the archive")
}

#[test]
fn archives_depend_on_their_contents_and_the_commit_time_only() {
    let one = scratch("archive-one");
    let two = scratch("archive-two");
    for kind in ["tar", "zip"] {
        let first = archive_of(
            kind,
            &one,
            "cf-invalidate-0.2.0-x86_64-unknown-linux-musl",
            1,
        );
        let second = archive_of(
            kind,
            &two.join("elsewhere"),
            "cf-invalidate-0.2.0-x86_64-unknown-linux-musl",
            2_000_000_000,
        );
        assert!(
            first == second,
            "{kind}: the same files in another place at another time differ"
        );
    }
    // What the tarball says of its entries: fixed owner, mode by executability, the commit's time.
    let listing = Command::new("tar")
        .arg("--numeric-owner")
        .arg("--full-time")
        .arg("-tvzf")
        .arg(one.join("out.tar"))
        .env("TZ", "UTC")
        .output()
        .expect("tar runs");
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(lines[0].starts_with("drwxr-xr-x 0/0"), "{listing}");
    assert!(
        lines[1].starts_with("-rwxr-xr-x 0/0")
            && lines[1].ends_with(
                "2025-11-24 16:00:00 cf-invalidate-0.2.0-x86_64-unknown-linux-musl/cf-invalidate"
            ),
        "{listing}"
    );
    assert!(lines[2].starts_with("-rw-r--r-- 0/0"), "{listing}");
    let _ = std::fs::remove_dir_all(&one);
    let _ = std::fs::remove_dir_all(&two);
}
