//! The path planner: normalisation, encoding, coverage, collapse, and properties over generated
//! path sets.
use super::*;
use crate::testing::assert_mentions;
use proptest::prelude::*;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn options(max_paths: usize) -> PlanOptions {
    PlanOptions {
        max_paths,
        directory_index: None,
    }
}

fn indexed(max_paths: usize, index: &str) -> PlanOptions {
    PlanOptions {
        directory_index: Some(index.to_owned()),
        ..options(max_paths)
    }
}

fn plan(items: &[&str], max_paths: usize) -> InvalidationPlan {
    plan_paths(&strings(items), &options(max_paths)).expect("test input is valid")
}

#[test]
fn encodes_exactly_what_cloudfront_expects() {
    let table = [
        ("/a b", "/a%20b"),
        ("/a\"b", "/a%22b"),
        ("/a<b", "/a%3Cb"),
        ("/a>b", "/a%3Eb"),
        ("/a#b", "/a%23b"),
        ("/a{b", "/a%7Bb"),
        ("/a}b", "/a%7Db"),
        ("/a|b", "/a%7Cb"),
        ("/a\\b", "/a%5Cb"),
        ("/a^b", "/a%5Eb"),
        ("/a~b", "/a%7Eb"),
        ("/a[b", "/a%5Bb"),
        ("/a]b", "/a%5Db"),
        ("/a`b", "/a%60b"),
        ("/café", "/caf%C3%A9"),
        ("/日本/a.html", "/%E6%97%A5%E6%9C%AC/a.html"),
        ("/a%20b", "/a%20b"),
        ("/100%", "/100%25"),
        ("/a%zz", "/a%25zz"),
        ("/a%2", "/a%252"),
        ("/a%e9", "/a%e9"),
        ("/caf%C3%A9", "/caf%C3%A9"),
        ("/a.jpg?x=1&y=2", "/a.jpg?x=1&y=2"),
        ("/p?q=a b", "/p?q=a%20b"),
        ("/safe-._!$&'()+,;=:@/", "/safe-._!$&'()+,;=:@/"),
        ("img/a.png", "/img/a.png"),
        ("  /a \t\n", "/a"),
        ("/img/*", "/img/*"),
        ("*", "/*"),
        ("/a b/*", "/a%20b/*"),
    ];
    for (raw, expected) in table {
        let normalised = normalise_item(raw);
        assert_eq!(normalised.as_deref(), Ok(expected), "normalising {raw:?}");
        assert_eq!(
            normalise_item(expected).as_deref(),
            Ok(expected),
            "again {expected:?}"
        );
    }
}

#[test]
fn keeps_cache_tags_as_written() {
    assert_eq!(
        normalise_item(" #Product:42 ").as_deref(),
        Ok("#Product:42")
    );
    // CloudFront counts the tag without its '#'.
    let longest = format!("#{}", "a".repeat(MAX_TAG_LEN));
    assert_eq!(normalise_item(&longest), Ok(longest.clone()));
}

#[test]
fn empty_items_are_refused_with_advice() {
    for raw in ["", "   ", "\t\n"] {
        let message = normalise_item(raw).expect_err("empty").to_string();
        assert_eq!(
            message,
            "empty path: remove it, or use \"/*\" to invalidate everything"
        );
    }
    let message = plan_paths(&[], &options(10))
        .expect_err("no paths")
        .to_string();
    assert!(message.starts_with("no paths to invalidate"), "{message}");
}

#[test]
fn a_wildcard_before_the_end_is_refused_with_the_accepted_form() {
    let message = normalise_item("/img/*/a.png")
        .expect_err("mid wildcard")
        .to_string();
    assert_eq!(
        message,
        "path \"/img/*/a.png\" has '*' before its end: CloudFront accepts a wildcard only \
         as the last character, as in \"/img/*\""
    );
    let message = normalise_item("a*b").expect_err("mid wildcard").to_string();
    assert_mentions(&message, &["\"a*b\"", "\"/a*\""]);
}

#[test]
fn a_path_too_long_after_encoding_is_refused_with_its_length() {
    let raw = format!("/{}x", " ".repeat(1500));
    let message = normalise_item(&raw).expect_err("too long").to_string();
    assert!(message.starts_with("path \"/%20%20"), "{message}");
    assert_mentions(&message, &["…\"", "4502 characters"]);
    assert!(message.len() < 400, "quoted path is cut: {message}");

    let fits = format!("/{}", "a".repeat(MAX_PATH_LEN - 1));
    assert_eq!(normalise_item(&fits), Ok(fits.clone()));
    let over = format!("{fits}a");
    assert!(matches!(
        normalise_item(&over),
        Err(PlanError::PathTooLong { len: 4001, .. })
    ));
}

#[test]
fn control_characters_are_refused_and_shown() {
    let message = normalise_item("/a\0b").expect_err("NUL").to_string();
    assert!(message.starts_with("path \"/a\\0b\" contains"), "{message}");
    assert!(message.contains("'\\0'"), "{message}");
    let message = normalise_item("/a\tb\u{7f}").expect_err("tab").to_string();
    assert!(message.contains("\"/a\\tb\\u{7f}\""), "{message}");
}

#[test]
fn bad_cache_tags_are_refused_with_the_rules() {
    let rules =
        "cache tags are ASCII 33-126 without commas or '*', at most 256 characters after the '#'";
    let too_long = format!("#{}", "a".repeat(MAX_TAG_LEN + 1));
    let cases = [
        ("#a,b", "cache tag \"#a,b\" contains a comma".to_owned()),
        ("#a*", "cache tag \"#a*\" contains '*'".to_owned()),
        (
            "#a b",
            "cache tag \"#a b\" contains the character ' '".to_owned(),
        ),
        (
            "#caf\u{e9}",
            "cache tag \"#café\" contains the character 'é'".to_owned(),
        ),
        (
            "#a\u{1}",
            "cache tag \"#a\\u{1}\" contains the character '\\u{1}'".to_owned(),
        ),
        ("#", "cache tag \"#\" has no name after '#'".to_owned()),
        (
            too_long.as_str(),
            format!(
                "cache tag \"#{}…\" is 257 characters long after the '#'",
                "a".repeat(79)
            ),
        ),
    ];
    for (raw, start) in cases {
        let message = normalise_item(raw).expect_err(raw).to_string();
        assert_eq!(message, format!("{start}: {rules}"), "for {raw:?}");
    }
}

#[test]
fn planning_reports_the_first_error_in_input_order() {
    let error = plan_paths(&strings(&["/ok", "/a*b", ""]), &options(10));
    assert!(
        matches!(error, Err(PlanError::WildcardNotLast { .. })),
        "{error:?}"
    );
}

#[test]
fn duplicates_and_covered_paths_are_dropped() {
    let plan = plan(
        &[
            "/a",
            "a",
            " /a ",
            "/img*",
            "/img/a.png",
            "/imgs/b",
            "/img/*",
            "/img",
            "/b/*",
            "/b/c*",
            "/bc",
        ],
        100,
    );
    assert_eq!(plan.items(), strings(&["/a", "/b/*", "/bc", "/img*"]));
    assert_eq!(plan.requested_paths(), 9);
    assert_eq!(plan.wildcard_count(), 2);
    assert!(!plan.was_collapsed());
}

#[test]
fn wildcards_cover_paths_that_sort_before_them() {
    // '!', '$', '%' and ')' sort before '*', so a covered path can precede its wildcard.
    let plan = plan(
        &[
            "/img!", "/img%20x", "/img)", "/img", "/img*", "/imf", "/a/b$", "/a/b*",
        ],
        100,
    );
    assert_eq!(plan.items(), strings(&["/a/b*", "/imf", "/img*"]));
}

#[test]
fn directory_index_expansion_reaches_a_fixed_point() {
    let options = indexed(100, "index.html");
    let plan = plan_paths(&strings(&["/index.html/index.html"]), &options).expect("valid");
    assert_eq!(
        plan.items(),
        strings(&["/", "/index.html", "/index.html/", "/index.html/index.html"])
    );
    let again = plan_paths(plan.items(), &options).expect("valid");
    assert_eq!(again.items(), plan.items());
}

#[test]
fn everything_wildcard_covers_paths_and_tags() {
    let plan = plan(&["/a", "#t", "/*", "/b/*"], 100);
    assert_eq!(plan.items(), strings(&["/*"]));
    assert!(plan.covers("#other"));
    assert!(plan.covers("/x/y"));
}

#[test]
fn tags_dedupe_case_insensitively_keeping_the_first_spelling_in_byte_order() {
    let plan = plan(&["#abc", "/a", "#ABC", "#Abc", "#other"], 100);
    assert_eq!(plan.items(), strings(&["#ABC", "#other", "/a"]));
    assert_eq!(plan.requested_paths(), 3);
    assert!(plan.covers("#abc"));
    assert!(!plan.covers("#abcd"));
    assert!(!plan.covers("/b"));
}

#[test]
fn a_directory_index_adds_its_directory_with_and_without_slash() {
    let with_index = indexed(100, "index.html");
    let raw = strings(&[
        "/docs/index.html",
        "/index.html",
        "/a/INDEX.html",
        "/b/index.htm",
        "/c/index.html*",
    ]);
    let plan = plan_paths(&raw, &with_index).expect("valid");
    assert_eq!(
        plan.items(),
        strings(&[
            "/",
            "/a/INDEX.html",
            "/b/index.htm",
            "/c/index.html*",
            "/docs",
            "/docs/",
            "/docs/index.html",
            "/index.html",
        ])
    );
    assert_eq!(plan.requested_paths(), 8);

    let encoded_index = indexed(100, "índex page.html");
    let plan = plan_paths(&strings(&["/d/índex page.html"]), &encoded_index).expect("valid");
    assert_eq!(
        plan.items(),
        strings(&["/d", "/d/", "/d/%C3%ADndex%20page.html"])
    );
}

#[test]
fn fingerprint_is_short_stable_hex() {
    let plan = plan(&["/b", "/a"], 10);
    let fingerprint = plan.fingerprint();
    assert_eq!(fingerprint.len(), 8);
    assert!(
        fingerprint
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    );
    let expected: String = Sha256::digest(b"/a\n/b")[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(fingerprint, expected);
    assert_ne!(fingerprint, self::plan(&["/a"], 10).fingerprint());
}

fn worked_example_input() -> Vec<String> {
    let mut raw = Vec::new();
    raw.extend((0..150).map(|i| format!("/js/chunks/{i}.js")));
    for section in 0..25 {
        raw.push(format!("/docs/sec-{section}/a.html"));
        raw.push(format!("/docs/sec-{section}/b.html"));
    }
    raw.extend((0..30).map(|i| format!("/page-{i}.html")));
    raw
}

#[test]
fn collapses_the_deep_crowded_directory_first() {
    let raw = worked_example_input();
    let plan = plan_paths(&raw, &options(100)).expect("valid");
    assert_eq!(plan.billed_paths(), 81);
    assert!(plan.was_collapsed());
    assert_eq!(plan.requested_paths(), 230);
    assert!(plan.items().contains(&"/js/chunks/*".to_owned()));
    assert_eq!(plan.wildcard_count(), 1);
    let others: Vec<&String> = raw.iter().filter(|p| !p.starts_with("/js/")).collect();
    assert!(others.iter().all(|path| plan.items().contains(path)));
}

#[test]
fn collapses_further_up_when_the_budget_is_tighter() {
    let raw = worked_example_input();
    let plan = plan_paths(&raw, &options(40)).expect("valid");
    let mut expected = strings(&["/docs/*", "/js/chunks/*"]);
    expected.extend((0..30).map(|i| format!("/page-{i}.html")));
    expected.sort();
    assert_eq!(plan.items(), expected);
}

#[test]
fn collapses_to_everything_when_the_root_is_crowded() {
    let mut raw: Vec<String> = (0..148).map(|i| format!("/f{i}")).collect();
    raw.extend(strings(&["/x/y/a", "/x/y/b"]));
    let plan = plan_paths(&raw, &options(100)).expect("valid");
    assert_eq!(plan.items(), strings(&["/*"]));
    assert!(plan.was_collapsed());
}

#[test]
fn too_many_wildcards_collapse_into_their_common_directory() {
    let raw: Vec<String> = (1..=20).map(|i| format!("/a{i}/*")).collect();
    let plan = plan_paths(&raw, &options(100)).expect("valid");
    assert_eq!(plan.items(), strings(&["/*"]));

    let mut raw: Vec<String> = (1..=20).map(|i| format!("/x/a{i}/*")).collect();
    raw.push("/y.html".to_owned());
    let plan = plan_paths(&raw, &options(100)).expect("valid");
    assert_eq!(plan.items(), strings(&["/x/*", "/y.html"]));
    assert!(plan.was_collapsed());
}

#[test]
fn too_many_cache_tags_fall_back_to_everything() {
    let raw: Vec<String> = (0..5)
        .map(|i| format!("#t{i}"))
        .chain(["/a".to_owned()])
        .collect();
    let plan = plan_paths(&raw, &options(3)).expect("valid");
    assert_eq!(plan.items(), strings(&["/*"]));
    let plan = plan_paths(&raw, &options(6)).expect("valid");
    assert_eq!(plan.billed_paths(), 6);
    assert!(!plan.was_collapsed());
}

#[test]
fn tags_survive_collapsing_below_the_root() {
    let raw = strings(&["#t", "/a/1", "/a/2", "/a/3"]);
    let plan = plan_paths(&raw, &options(2)).expect("valid");
    assert_eq!(plan.items(), strings(&["#t", "/a/*"]));
}

#[test]
fn out_of_range_budgets_are_clamped() {
    let plan = plan(&["/a", "/b"], 0);
    assert_eq!(plan.items(), strings(&["/*"]));
    let raw: Vec<String> = (0..3500).map(|i| format!("/d{}/f{i}", i % 2)).collect();
    let plan = plan_paths(&raw, &options(usize::MAX)).expect("valid");
    assert!(plan.billed_paths() <= MAX_PATHS_PER_BATCH);
}

/// Mirrors `examples/plan_speed.rs`.
fn realistic_tree(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| match i % 100 {
            0..=39 => format!("/assets/{}/{}/chunk-{i}.js", i % 13, i % 101),
            40..=69 => format!("/docs/v{}/guide/page-{i}/index.html", i % 7),
            70..=98 => format!("/img/{}/{}/photo {i}.jpg", i % 17, i % 5),
            _ => format!("/p-{i}.html"),
        })
        .collect()
}

#[test]
fn ten_thousand_paths_without_directory_index_refine_instead_of_everything() {
    let plan = plan_paths(&realistic_tree(10_000), &options(3000)).expect("valid");
    assert!(plan.was_collapsed());
    assert_ne!(plan.items(), ["/*"]);
    assert!(plan.billed_paths() <= 3000 && plan.billed_paths() > 100);
    assert!(plan.items().contains(&"/p-99.html".to_owned()));
}

#[test]
fn a_hundred_thousand_paths_fit_the_largest_batch() {
    let raw = realistic_tree(100_000);
    let options = indexed(MAX_PATHS_PER_BATCH, "index.html");
    let plan = plan_paths(&raw, &options).expect("valid");
    assert_eq!(plan.requested_paths(), 160_000);
    assert!(plan.billed_paths() <= MAX_PATHS_PER_BATCH);
    assert!(plan.wildcard_count() <= MAX_WILDCARDS);
    // The thousand root pages cannot be merged without `/*`, and they fit: they stay,
    // and what is left of the wildcard budget refines the top-level directories.
    assert!(plan.billed_paths() > 1003, "{} items", plan.billed_paths());
    assert!(plan.items().contains(&"/p-99.html".to_owned()));
    for raw in raw.iter().step_by(997) {
        let normalised = normalise_item(raw).expect("valid");
        assert!(plan.covers(&normalised), "{normalised} not covered");
    }
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "img", "js", "index.html", "c.css"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["é", "x y", "日本", "a%20", "50%", "~u", "a?x=1", ""]).prop_map(str::to_owned),
    ]
}

fn raw_item() -> impl Strategy<Value = String> {
    let path = (
        prop::collection::vec(segment(), 1..=5),
        prop::sample::select(vec!["", "", "", "", "/", "*", "/*"]),
        any::<bool>(),
    )
        .prop_map(|(segments, end, slash)| {
            let joined = segments.join("/");
            let path = if slash {
                format!("/{joined}{end}")
            } else {
                format!("{joined}{end}")
            };
            // An empty item is an error, tested on its own; here it would only waste cases.
            if path.is_empty() {
                "/".to_owned()
            } else {
                path
            }
        });
    let tag = prop::sample::select(vec!["#a", "#A", "#b", "#Product:42", "#product:42"])
        .prop_map(str::to_owned);
    prop_oneof![9 => path, 1 => tag]
}

fn plan_options() -> impl Strategy<Value = PlanOptions> {
    (1usize..=200, any::<bool>()).prop_map(|(max_paths, index)| PlanOptions {
        max_paths,
        directory_index: index.then(|| "index.html".to_owned()),
    })
}

fn valid_raw_items() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(raw_item(), 1..300)
}

fn expected_covered(raw: &[String], options: &PlanOptions) -> Vec<String> {
    let mut items: Vec<String> = raw
        .iter()
        .filter_map(|item| normalise_item(item).ok())
        .collect();
    if let Some(index) = &options.directory_index {
        let extra: Vec<String> = items
            .iter()
            .filter_map(|item| {
                item.strip_suffix(index.as_str())
                    .filter(|dir| dir.ends_with('/'))
            })
            .flat_map(|dir| [dir.to_owned(), dir[..dir.len() - 1].to_owned()])
            .filter(|dir| !dir.is_empty())
            .collect();
        items.extend(extra);
    }
    items
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_plan_covers_every_requested_item(raw in valid_raw_items(), options in plan_options()) {
        let plan = plan_paths(&raw, &options).expect("valid input");
        for item in expected_covered(&raw, &options) {
            prop_assert!(plan.covers(&item), "{item:?} not covered by {:?}", plan.items());
        }
    }

    #[test]
    fn the_plan_respects_cloudfront_limits(raw in valid_raw_items(), options in plan_options()) {
        let plan = plan_paths(&raw, &options).expect("valid input");
        prop_assert!(plan.billed_paths() <= options.max_paths);
        prop_assert!(plan.wildcard_count() <= MAX_WILDCARDS);
        prop_assert!(plan.billed_paths() <= plan.requested_paths().max(1));
        for item in plan.items() {
            prop_assert!(item.len() <= MAX_PATH_LEN);
            prop_assert!(item.starts_with('/') || item.starts_with('#'));
            if let Some(star) = item.find('*') {
                prop_assert_eq!(star + 1, item.len());
            }
            prop_assert_eq!(normalise_item(item), Ok(item.clone()));
        }
    }

    #[test]
    fn normalising_is_idempotent(raw in prop_oneof![raw_item(), any::<String>(), "[ -~éü日%#*/]{0,40}"]) {
        if let Ok(once) = normalise_item(&raw) {
            prop_assert_eq!(normalise_item(&once), Ok(once.clone()));
        }
    }

    #[test]
    fn planning_never_panics(raw in prop::collection::vec(any::<String>(), 0..20), max_paths in any::<usize>()) {
        let _ = plan_paths(&raw, &options(max_paths));
    }

    #[test]
    fn planning_a_plan_changes_nothing(raw in valid_raw_items(), options in plan_options()) {
        let plan = plan_paths(&raw, &options).expect("valid input");
        let again = plan_paths(plan.items(), &options).expect("plan items are valid");
        prop_assert_eq!(again.items(), plan.items());
    }

    #[test]
    fn input_order_does_not_matter(
        (raw, shuffled) in valid_raw_items().prop_flat_map(|raw| (Just(raw.clone()), Just(raw).prop_shuffle())),
        options in plan_options(),
    ) {
        let plan = plan_paths(&raw, &options).expect("valid input");
        let other = plan_paths(&shuffled, &options).expect("valid input");
        prop_assert_eq!(other.fingerprint(), plan.fingerprint());
        prop_assert_eq!(other, plan);
    }

    #[test]
    fn no_item_of_the_plan_covers_another(raw in valid_raw_items(), options in plan_options()) {
        let plan = plan_paths(&raw, &options).expect("valid input");
        for (i, item) in plan.items().iter().enumerate() {
            let others = InvalidationPlan {
                items: plan.items().iter().enumerate().filter(|(j, _)| *j != i).map(|(_, o)| o.clone()).collect(),
                requested: 0,
                collapsed: false,
            };
            prop_assert!(!others.covers(item), "{item:?} is covered within {:?}", plan.items());
        }
    }
}
