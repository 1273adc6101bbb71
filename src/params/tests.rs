//! UserParameters: the documented forms, every malformed input refused with its message, and
//! properties over generated parameters.
use super::*;
use proptest::prelude::*;
use serde_json::json;

const ID: &str = "E2QWRUHAPOMQZL";

fn id(raw: &str) -> Target {
    Target::parse(raw).expect("test id is valid")
}

fn defaults(ids: &[&str], paths: &[&str]) -> JobParams {
    JobParams {
        targets: ids.iter().map(|raw| id(raw)).collect(),
        paths: paths.iter().map(|path| (*path).to_owned()).collect(),
        wait: true,
        timeout: Duration::from_secs(30 * 60),
        on_timeout: OnTimeout::Fail,
        max_paths: DEFAULT_MAX_PATHS,
        directory_index: None,
        caller_reference: None,
        from_artifact: None,
        verify: None,
    }
}

fn error_of(input: &str) -> String {
    match parse_user_parameters(input) {
        Ok(params) => panic!("expected an error for {input:?}, got {params:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn minimal_json_invalidates_everything_with_defaults() {
    let params = parse_user_parameters(r#"{"distributionId": "E2QWRUHAPOMQZL"}"#);
    assert_eq!(params, Ok(defaults(&[ID], &["/*"])));
}

#[test]
fn full_json_sets_every_key() {
    let input = r##"{
        "distributionIds": ["E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL"],
        "paths": ["/index.html", "/css/*", "#product-42", "/a b.html"],
        "wait": false,
        "timeoutMinutes": 90,
        "onTimeout": "succeed",
        "maxPaths": 3000,
        "directoryIndex": "index.html",
        "callerReference": "  6b5ed6a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b\n"
    }"##;
    let expected = JobParams {
        targets: vec![id(ID), id("E1ABCDEFGHIJKL")],
        paths: vec![
            "/index.html".to_owned(),
            "/css/*".to_owned(),
            "#product-42".to_owned(),
            "/a b.html".to_owned(),
        ],
        wait: false,
        timeout: Duration::from_secs(90 * 60),
        on_timeout: OnTimeout::Succeed,
        max_paths: 3000,
        directory_index: Some("index.html".to_owned()),
        caller_reference: Some("6b5ed6a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b".to_owned()),
        from_artifact: None,
        verify: None,
    };
    assert_eq!(parse_user_parameters(input), Ok(expected));
}

#[test]
fn paths_may_be_one_space_separated_string() {
    let input = r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": " /index.html\t/css/*  "}"#;
    assert_eq!(
        parse_user_parameters(input),
        Ok(defaults(&[ID], &["/index.html", "/css/*"]))
    );
}

#[test]
fn plain_id_alone_invalidates_everything() {
    assert_eq!(
        parse_user_parameters("  E2QWRUHAPOMQZL\n"),
        Ok(defaults(&[ID], &["/*"]))
    );
}

#[test]
fn plain_ids_then_paths() {
    assert_eq!(
        parse_user_parameters("E2QWRUHAPOMQZL,E1ABCDEFGHIJKL /index.html /css/*"),
        Ok(defaults(
            &[ID, "E1ABCDEFGHIJKL"],
            &["/index.html", "/css/*"]
        ))
    );
}

#[test]
fn several_distributions_share_a_caller_reference() {
    let input = r#"{"distributionIds": ["E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL", "E3ZZZ"],
                    "callerReference": "6b5ed6a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b"}"#;
    let mut expected = defaults(&[ID, "E1ABCDEFGHIJKL", "E3ZZZ"], &["/*"]);
    expected.caller_reference = Some("6b5ed6a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b".to_owned());
    assert_eq!(parse_user_parameters(input), Ok(expected));
}

#[test]
fn duplicate_ids_are_dropped_keeping_first_order() {
    let json = r#"{"distributionIds": ["E2", "E1", "E2", "E1", "E3"]}"#;
    assert_eq!(
        parse_user_parameters(json),
        Ok(defaults(&["E2", "E1", "E3"], &["/*"]))
    );
    // Eleven entries but ten distinct distributions: the limit is on distributions.
    let ids: Vec<String> = (0..10).map(|n| format!("E{n}")).collect();
    let plain = format!("{},E0", ids.join(","));
    let parsed = parse_user_parameters(&plain).map(|params| params.targets.len());
    assert_eq!(parsed, Ok(10));
}

#[test]
fn leading_byte_order_mark_is_ignored() {
    assert_eq!(
        parse_user_parameters("\u{feff}{\"distributionId\": \"E2QWRUHAPOMQZL\"}"),
        Ok(defaults(&[ID], &["/*"]))
    );
}

#[test]
fn size_limit_is_inclusive() {
    let frame = r#"{"distributionId":"E2QWRUHAPOMQZL","paths":"/"}"#;
    let padding = MAX_USER_PARAMETERS_BYTES - frame.len();
    let at_limit = frame.replace("\"/\"", &format!("\"/{}\"", "a".repeat(padding)));
    assert_eq!(at_limit.len(), MAX_USER_PARAMETERS_BYTES);
    assert!(parse_user_parameters(&at_limit).is_ok());
    let over = at_limit.replace("\"/", "\"/b");
    assert_eq!(
        parse_user_parameters(&over),
        Err(ParamsError::TooLong {
            len: MAX_USER_PARAMETERS_BYTES + 1
        })
    );
}

const TENANT: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";

#[test]
fn tenants_are_named_with_their_own_keys_and_combine_with_distributions() {
    let one = parse_user_parameters(&format!(r#"{{"distributionTenantId": "{TENANT}"}}"#))
        .expect("tenant");
    assert_eq!(one.targets, vec![id(TENANT)]);
    assert!(one.targets[0].is_tenant());
    let both = parse_user_parameters(&format!(
        r#"{{"distributionTenantIds": ["{TENANT}", "dt_other1"], "distributionId": "{ID}"}}"#
    ))
    .expect("both");
    assert_eq!(both.targets, vec![id(ID), id(TENANT), id("dt_other1")]);
    let plain = parse_user_parameters(&format!("{ID},{TENANT} /a")).expect("plain");
    assert_eq!(plain.targets, vec![id(ID), id(TENANT)]);
}

#[test]
fn tenant_mistakes_say_what_a_tenant_id_looks_like() {
    let cases = [
        (
            format!(r#"{{"distributionId": "{TENANT}"}}"#),
            "did you mean distributionTenantId?",
        ),
        (
            format!(r#"{{"distributionTenantId": "{ID}"}}"#),
            "that looks like a distribution id",
        ),
        (
            r#"{"distributionTenantId": "dt_a-b"}"#.to_owned(),
            "a tenant id is \"dt_\" followed by letters and digits",
        ),
        (
            format!(r#"{{"distributionTenantId": " {TENANT}"}}"#),
            "without the surrounding spaces",
        ),
        (
            format!(
                r#"{{"distributionTenantId": "arn:aws:cloudfront::111122223333:distribution-tenant/{TENANT}"}}"#
            ),
            "not the ARN",
        ),
        (
            format!(r#"{{"distributionTenantId": "{TENANT}", "distributionTenantIds": []}}"#),
            "both \"distributionTenantId\" and \"distributionTenantIds\"",
        ),
        (
            r#"{"distributionTenantIds": []}"#.to_owned(),
            "list at least one distribution tenant id",
        ),
        (
            r#"{"distributionTenantIds": "dt_a"}"#.to_owned(),
            "write [\"dt_2wjDZi3hD1ivOXf6rpZJO1AB\", ...]",
        ),
        (
            r#"{"distributionIds": ["E0","E1","E2","E3","E4","E5"], "distributionTenantIds": ["dt_0","dt_1","dt_2","dt_3","dt_4"]}"#
                .to_owned(),
            "11 distributions, more than the 10",
        ),
        (
            r#"{"paths": ["/a"]}"#.to_owned(),
            "\"distributionTenantId\"",
        ),
    ];
    for (input, expected) in cases {
        let message = error_of(&input);
        assert!(message.contains(expected), "{input}: {message}");
    }
    assert_eq!(
        DistributionTenantId::parse("dt_a-b")
            .expect_err("invalid")
            .to_string(),
        "\"dt_a-b\" is not a valid CloudFront distribution tenant id: a tenant id is \"dt_\" \
         followed by letters and digits, as in \"dt_2wjDZi3hD1ivOXf6rpZJO1AB\" (shown in the \
         CloudFront console)"
    );
}

#[test]
fn typo_message_is_exactly_as_documented() {
    assert_eq!(
        error_of(r#"{"distributionID": "E2QWRUHAPOMQZL"}"#),
        r#"unknown key "distributionID" in UserParameters: did you mean "distributionId"?"#
    );
}

#[test]
fn distribution_id_parse_and_display() {
    assert_eq!(id(ID).to_string(), ID);
    assert_eq!(id(ID).as_str(), ID);
    assert!(DistributionId::parse(&"A".repeat(64)).is_ok());
    let error = DistributionId::parse("e2qwruhapomqzl").map_err(|e| e.to_string());
    assert_eq!(
        error,
        Err(r#""e2qwruhapomqzl" is not a valid CloudFront distribution id: did you mean "E2QWRUHAPOMQZL"? (ids are uppercase)"#.to_owned())
    );
}

fn malformed_inputs() -> Vec<(String, &'static str)> {
    let with_id = |rest: &str| format!(r#"{{"distributionId": "{ID}", {rest}}}"#);
    let many_paths = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!("\"/p{i}\"")).collect();
        with_id(&format!(r#""paths": [{}]"#, items.join(",")))
    };
    let eleven: Vec<String> = (0..11).map(|n| format!("\"E{n}\"")).collect();
    let long_value = "x".repeat(1000);
    vec![
        // Form and syntax.
        (String::new(), "UserParameters is empty"),
        (" \t\r\n ".to_owned(), "plain form E2QWRUHAPOMQZL"),
        (
            "[]".to_owned(),
            "must be a JSON object or the plain form, got a JSON array",
        ),
        (r#""just a string""#.to_owned(), "got a quoted string"),
        ("null".to_owned(), "got JSON null"),
        ("true".to_owned(), "got a JSON boolean"),
        ("[".repeat(10_000), "got a JSON array"),
        (
            format!("{{\"paths\": {}", "[".repeat(10_000)),
            "more than 32 levels deep",
        ),
        (
            r#"{"distributionId": "E2", }"#.to_owned(),
            "line 1 column 26",
        ),
        (r#"{'distributionId': 'E2'}"#.to_owned(), "double quotes"),
        (r#"{"distributionId": "E2""#.to_owned(), "ends too early"),
        (
            r#"{"distributionId": "E2"} x"#.to_owned(),
            "trailing characters",
        ),
        ("E".repeat(70_000), "more than the 65536 accepted"),
        // Keys.
        (
            r#"{"distributionID": "E2"}"#.to_owned(),
            r#"did you mean "distributionId"?"#,
        ),
        (
            r#"{"DistributionId": "E2"}"#.to_owned(),
            r#"did you mean "distributionId"?"#,
        ),
        (
            with_id(r#""timeout": 5"#),
            r#"unknown key "timeout" in UserParameters: did you mean "onTimeout"?"#,
        ),
        (
            with_id(r#""bucket": "x""#),
            r#"the keys are "distributionId", "distributionIds""#,
        ),
        (
            with_id(&format!(r#""{long_value}": 1"#)),
            "(1000 characters)",
        ),
        // Distributions.
        (
            r#"{"distributionId": "E2", "distributionIds": ["E3"]}"#.to_owned(),
            "both \"distributionId\" and \"distributionIds\"",
        ),
        (r#"{"paths": ["/a"]}"#.to_owned(), "names no distribution"),
        (
            r#"{"distributionIds": []}"#.to_owned(),
            "\"distributionIds\" in UserParameters is an empty array",
        ),
        (
            format!(r#"{{"distributionIds": [{}]}}"#, eleven.join(",")),
            "11 distributions, more than the 10",
        ),
        (
            r#"{"distributionId": "e2qwruhapomqzl"}"#.to_owned(),
            r#"did you mean "E2QWRUHAPOMQZL"?"#,
        ),
        (
            r#"{"distributionId": "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"}"#
                .to_owned(),
            r#"did you mean "E2QWRUHAPOMQZL"? (give the id at the end of the ARN"#,
        ),
        (
            "{\"distributionId\": \"\u{415}2QWRUHAPOMQZL\"}".to_owned(),
            "U+0415",
        ),
        (
            r#"{"distributionId": "d111111abcdef8.cloudfront.net"}"#.to_owned(),
            "domain name",
        ),
        (r#"{"distributionId": ""}"#.to_owned(), "it is empty"),
        (
            format!(r#"{{"distributionId": "{}"}}"#, "A".repeat(65)),
            "it has 65 characters",
        ),
        (
            r#"{"distributionId": 42}"#.to_owned(),
            "\"distributionId\" in UserParameters must be a distribution id string, got the number 42",
        ),
        (
            r#"{"distributionId": ["E2"]}"#.to_owned(),
            "use \"distributionIds\"",
        ),
        (
            r#"{"distributionId": null}"#.to_owned(),
            "\"distributionId\" in UserParameters is null",
        ),
        (
            r#"{"distributionIds": "E2,E3"}"#.to_owned(),
            "got the string \"E2,E3\"",
        ),
        (
            r#"{"distributionIds": ["E2", 7]}"#.to_owned(),
            "\"distributionIds\"[1] in UserParameters must be a distribution id string, got the number 7",
        ),
        (
            r##"{"distributionIds": ["E2", "#{variables.Dist}"]}"##.to_owned(),
            "\"distributionIds\"[1] in UserParameters is \"#{variables.Dist}\", which contains a pipeline variable (\"#{...}\") that was not resolved",
        ),
        // Paths.
        (
            with_id(r#""paths": []"#),
            "omit \"paths\" to invalidate everything",
        ),
        (with_id(r#""paths": "   ""#), "a string with no paths"),
        (
            with_id(r#""paths": ["/a", null]"#),
            "\"paths\"[1] in UserParameters must be a string",
        ),
        (with_id(r#""paths": ["/a", 3]"#), "got the number 3"),
        (
            with_id(r#""paths": 5"#),
            "\"paths\" in UserParameters must be an array of strings",
        ),
        (
            with_id(r#""paths": null"#),
            "\"paths\" in UserParameters is null",
        ),
        (
            with_id(r#""paths": ["/ok", "/a\u0000b"]"#),
            r#""paths"[1] in UserParameters is "/a\0b", which contains a control character"#,
        ),
        (
            with_id(r#""paths": "/ok /a\u0007b""#),
            r#"path 2 of "paths" in UserParameters is "/a\u{7}b""#,
        ),
        (
            with_id("\"paths\": \"/ok /a\u{7}b\""),
            r#"control character '\u{7}' inside a JSON string at line 1, column 54"#,
        ),
        (
            with_id("\"paths\": [\"/raw\tTab\"]"),
            "control character '\\t' inside a JSON string",
        ),
        (
            with_id(r#""paths": ["/escaped\tTab"]"#),
            "control character (such as NUL",
        ),
        (
            "{\"distributionId\":\n \"E2\u{0}\"}".to_owned(),
            "at line 2, column 5",
        ),
        (
            with_id(&format!(r#""paths": ["/{long_value}\u0001"]"#)),
            "… (1002 characters)",
        ),
        (many_paths(3001), "has 3001 paths, more than the 3000"),
        (
            with_id(&format!(r#""paths": "{}""#, "/a ".repeat(10_000))),
            "has 10000 paths",
        ),
        // wait.
        (
            with_id(r#""wait": "true""#),
            "\"wait\" in UserParameters must be a boolean (true or false), got the string \"true\": write true or false without quotes",
        ),
        (with_id(r#""wait": 1"#), "got the number 1"),
        (
            with_id(r#""wait": null"#),
            "\"wait\" in UserParameters is null: remove the key, or give a boolean",
        ),
        // timeoutMinutes.
        (
            with_id(r#""timeoutMinutes": 0"#),
            "\"timeoutMinutes\" in UserParameters is 0, out of range: give a whole number from 1 to 1440",
        ),
        (with_id(r#""timeoutMinutes": -5"#), "is -5, out of range"),
        (
            with_id(r#""timeoutMinutes": 1441"#),
            "is 1441, out of range",
        ),
        (
            with_id(r#""timeoutMinutes": 99999999999999999999"#),
            "is 100000000000000000000, out of range",
        ),
        (
            with_id(r#""timeoutMinutes": 1e9"#),
            "is 1000000000, out of range",
        ),
        (
            with_id(r#""timeoutMinutes": 2.5"#),
            "\"timeoutMinutes\" in UserParameters must be a whole number of minutes from 1 to 1440, got the number 2.5",
        ),
        (
            with_id(r#""timeoutMinutes": 30.0"#),
            "write it without a decimal point or exponent, as 30",
        ),
        (
            with_id(r#""timeoutMinutes": "30""#),
            "write the number without quotes",
        ),
        (with_id(r#""timeoutMinutes": true"#), "got the boolean true"),
        // maxPaths.
        (
            with_id(r#""maxPaths": 0"#),
            "\"maxPaths\" in UserParameters is 0, out of range: give a whole number from 1 to 3000",
        ),
        (with_id(r#""maxPaths": 3001"#), "is 3001, out of range"),
        (with_id(r#""maxPaths": [100]"#), "got an array [100]"),
        // onTimeout.
        (
            with_id(r#""onTimeout": "FAIL""#),
            "\"onTimeout\" in UserParameters is \"FAIL\": did you mean \"fail\"?",
        ),
        (with_id(r#""onTimeout": "ignore""#), "give \"fail\""),
        (
            with_id(r#""onTimeout": false"#),
            "\"onTimeout\" in UserParameters must be \"fail\" or \"succeed\", got the boolean false",
        ),
        // directoryIndex.
        (
            with_id(r#""directoryIndex": "a/b""#),
            "\"directoryIndex\" in UserParameters is \"a/b\", which contains \"/\"",
        ),
        (
            with_id(r#""directoryIndex": """#),
            "is \"\", which is empty",
        ),
        (with_id(r#""directoryIndex": "*.html""#), "contains \"*\""),
        (
            with_id(r#""directoryIndex": "index .html""#),
            "contains whitespace",
        ),
        (
            with_id(&format!(r#""directoryIndex": "{long_value}""#)),
            "longer than 255 characters",
        ),
        (
            with_id(r#""directoryIndex": {"file": "index.html"}"#),
            "got an object {\"file\":\"index.html\"}",
        ),
        // callerReference.
        (
            with_id(r##""callerReference": "#{codepipeline.PipelineExecutionId}""##),
            "\"callerReference\" in UserParameters is \"#{codepipeline.PipelineExecutionId}\", which contains a pipeline variable (\"#{...}\") that was not resolved",
        ),
        (
            with_id(&format!(r#""callerReference": "{}""#, "r".repeat(129))),
            "(129 characters), which is longer than 128 characters",
        ),
        (
            with_id(&format!(r#""callerReference": "{long_value}""#)),
            "… (1000 characters), which is longer than 128",
        ),
        (with_id(r#""callerReference": "  ""#), "which is empty"),
        (
            with_id(r#""callerReference": "run 1""#),
            "contains ' ' at position 4",
        ),
        (
            with_id(r#""callerReference": "run-é""#),
            "contains 'é' at position 5",
        ),
        (
            with_id(r#""callerReference": 12345"#),
            "\"callerReference\" in UserParameters must be a string",
        ),
        // Plain form.
        (
            "/index.html E2QWRUHAPOMQZL".to_owned(),
            "starts with \"/index.html\", which looks like a path: the distribution id must come first",
        ),
        (
            "E2QWRUHAPOMQZL, /index.html".to_owned(),
            "list \"E2QWRUHAPOMQZL,\" in plain-form UserParameters has an empty entry at position 2",
        ),
        (",E2QWRUHAPOMQZL".to_owned(), "empty entry at position 1"),
        (
            "E2QWRUHAPOMQZL,e1abc".to_owned(),
            "distribution id 2 in plain-form UserParameters is \"e1abc\", which is not a valid CloudFront distribution id: did you mean \"E1ABC\"?",
        ),
        ("distributionId=E2 /a".to_owned(), "it contains 'd'"),
        (
            "E2QWRUHAPOMQZL /a\u{0}b".to_owned(),
            "path 1 in plain-form UserParameters is \"/a\\0b\"",
        ),
        (
            format!("{ID} {}", "/a ".repeat(3001)),
            "plain-form UserParameters has 3001 paths",
        ),
        (
            (0..11)
                .map(|n| format!("E{n}"))
                .collect::<Vec<_>>()
                .join(","),
            "11 distributions",
        ),
        (
            "#{variables.DistributionId} /a".to_owned(),
            "that was not resolved",
        ),
        (
            "-5".to_owned(),
            "is \"-5\", which is not a valid CloudFront distribution id",
        ),
    ]
}

#[test]
fn malformed_inputs_are_rejected_with_a_message_naming_the_problem() {
    let rows = malformed_inputs();
    assert!(rows.len() >= 35);
    let mut failures = Vec::new();
    for (input, needle) in &rows {
        match parse_user_parameters(input) {
            Ok(params) => failures.push(format!("{:?} was accepted: {params:?}", clipped(input))),
            Err(error) => {
                let message = error.to_string();
                if !message.contains(needle) {
                    failures.push(format!(
                        "{:?}: {message:?} lacks {needle:?}",
                        clipped(input)
                    ));
                }
                // CodePipeline failure messages are limited; a message must never carry
                // the user's whole input back.
                if message.chars().count() > 600 {
                    failures.push(format!(
                        "{:?}: message too long: {message:?}",
                        clipped(input)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Renders params as JSON the way a user could write them; the inverse of the parser.
fn render(params: &JobParams, single_id_key: bool, paths_as_string: bool) -> String {
    let mut object = serde_json::Map::new();
    for (tenants, keys) in [(false, &ID_KEYS[0]), (true, &ID_KEYS[1])] {
        let ids: Vec<&str> = params
            .targets
            .iter()
            .filter(|target| target.is_tenant() == tenants)
            .map(Target::as_str)
            .collect();
        match ids.as_slice() {
            [] => None,
            [only] if single_id_key => object.insert(keys.one.to_owned(), json!(only)),
            _ => object.insert(keys.many.to_owned(), json!(ids)),
        };
    }
    let joinable = params
        .paths
        .iter()
        .all(|path| !path.is_empty() && !path.bytes().any(|b| b.is_ascii_whitespace()));
    let paths = if paths_as_string && joinable {
        json!(params.paths.join(" "))
    } else {
        json!(params.paths)
    };
    object.insert("paths".to_owned(), paths);
    object.insert("wait".to_owned(), json!(params.wait));
    object.insert(
        "timeoutMinutes".to_owned(),
        json!(params.timeout.as_secs() / 60),
    );
    let on_timeout = match params.on_timeout {
        OnTimeout::Fail => "fail",
        OnTimeout::Succeed => "succeed",
    };
    object.insert("onTimeout".to_owned(), json!(on_timeout));
    object.insert("maxPaths".to_owned(), json!(params.max_paths));
    if let Some(index) = &params.directory_index {
        object.insert("directoryIndex".to_owned(), json!(index));
    }
    if let Some(reference) = &params.caller_reference {
        object.insert("callerReference".to_owned(), json!(reference));
    }
    Value::Object(object).to_string()
}

fn job_params() -> impl Strategy<Value = JobParams> {
    (
        prop::collection::vec("[A-Z0-9]{1,64}|dt_[A-Za-z0-9]{1,61}", 1..=MAX_DISTRIBUTIONS),
        prop::collection::vec("[^\\x00-\\x1F\\x7F]{0,30}", 1..=20),
        any::<bool>(),
        1..=MAX_TIMEOUT_MINUTES,
        prop_oneof![Just(OnTimeout::Fail), Just(OnTimeout::Succeed)],
        1..=MAX_PATHS_PER_BATCH,
        prop::option::of("[A-Za-z0-9._~-]{1,40}"),
        prop::option::of("[!-~]{1,128}".prop_filter("resolved", |r| !r.contains("#{"))),
    )
        .prop_map(
            |(ids, paths, wait, minutes, on_timeout, max_paths, index, reference)| {
                let mut seen = HashSet::new();
                let mut targets: Vec<Target> = ids
                    .into_iter()
                    .filter(|raw| seen.insert(raw.clone()))
                    .map(|raw| Target::parse(&raw).expect("the strategy draws valid ids"))
                    .collect();
                // The parser reads distributions first, then tenants.
                targets.sort_by_key(Target::is_tenant);
                JobParams {
                    targets,
                    paths,
                    wait,
                    timeout: Duration::from_secs(minutes * 60),
                    on_timeout,
                    max_paths,
                    directory_index: index,
                    caller_reference: reference,
                    from_artifact: None,
                    verify: None,
                }
            },
        )
}

fn near_json() -> impl Strategy<Value = String> {
    let fragments = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("null".to_owned()),
        Just("1e400".to_owned()),
        Just("-0.0".to_owned()),
        prop::sample::select(KNOWN_KEYS.to_vec()).prop_map(|key| format!("\"{key}\"")),
        "[ -~]{0,8}",
        any::<String>(),
    ];
    prop::collection::vec(fragments, 0..40).prop_map(|parts| format!("{{{}", parts.concat()))
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(input in any::<String>()) {
        let _ = parse_user_parameters(&input);
    }

    #[test]
    fn parse_never_panics_on_near_json(input in near_json()) {
        let _ = parse_user_parameters(&input);
    }

    #[test]
    fn rendered_params_parse_back_unchanged(
        params in job_params(),
        single_id_key in any::<bool>(),
        paths_as_string in any::<bool>(),
    ) {
        let rendered = render(&params, single_id_key, paths_as_string);
        prop_assert_eq!(parse_user_parameters(&rendered), Ok(params));
    }

    #[test]
    fn error_messages_stay_short(input in any::<String>()) {
        if let Err(error) = parse_user_parameters(&input) {
            prop_assert!(error.to_string().chars().count() <= 600);
        }
    }
}

#[test]
fn paths_from_artifact_replaces_the_default_path() {
    let params = parse_user_parameters(
        r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "changed"}"#,
    )
    .unwrap();
    assert!(params.paths.is_empty(), "{:?}", params.paths);
    assert_eq!(
        params.from_artifact,
        Some(ArtifactParams {
            mode: ArtifactMode::Changed,
            artifact: None,
            key_prefix: String::new(),
            path_prefix: "/".to_owned(),
            pipeline_name: None,
        })
    );
}

#[test]
fn paths_from_artifact_keeps_explicit_paths_and_reads_its_companions() {
    let params = parse_user_parameters(
        r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "all",
            "paths": ["/sitemap.xml"], "artifact": "Build_Output-2",
            "keyPrefix": "dist/", "pathPrefix": "/blog/", "pipelineName": "site.pipeline@1"}"#,
    )
    .unwrap();
    assert_eq!(params.paths, ["/sitemap.xml"]);
    assert_eq!(
        params.from_artifact,
        Some(ArtifactParams {
            mode: ArtifactMode::All,
            artifact: Some("Build_Output-2".to_owned()),
            key_prefix: "dist/".to_owned(),
            path_prefix: "/blog/".to_owned(),
            pipeline_name: Some("site.pipeline@1".to_owned()),
        })
    );
}

#[test]
fn paths_from_artifact_mistakes_are_named() {
    let cases = [
        (
            r#""pathsFromArtifact": "Changed""#,
            "\"pathsFromArtifact\" in UserParameters is \"Changed\": did you mean \"changed\"?",
        ),
        (
            r#""pathsFromArtifact": "diff""#,
            "give \"changed\" (the files changed since the last successful run) or \"all\"",
        ),
        (
            r#""pathsFromArtifact": true"#,
            "\"pathsFromArtifact\" in UserParameters must be \"changed\" or \"all\", got the boolean true",
        ),
        (
            r#""keyPrefix": "dist/""#,
            "\"keyPrefix\" in UserParameters applies only with \"pathsFromArtifact\"",
        ),
        (
            r#""pipelineName": "site""#,
            "\"pipelineName\" in UserParameters applies only with \"pathsFromArtifact\"",
        ),
        (
            r#""pathsFromArtifact": "changed", "pathPrefix": "blog""#,
            "\"pathPrefix\" in UserParameters is \"blog\", which does not start and end with \"/\"",
        ),
        (
            r#""pathsFromArtifact": "changed", "artifact": "Build Output""#,
            "\"artifact\" in UserParameters is \"Build Output\", which is not an artifact name",
        ),
        (
            r#""pathsFromArtifact": "changed", "pipelineName": "arn:aws:codepipeline:us-east-1:123456789012:site""#,
            "which is not a pipeline name (letters, digits, \".\", \"@\", \"-\" and \"_\" only): give the name as the console shows it, not an ARN",
        ),
        (
            r#""pathsFromArtifact": "changed", "pipelineName": """#,
            "\"pipelineName\" in UserParameters is \"\", which is empty",
        ),
        (
            r##""pathsFromArtifact": "changed", "artifact": "#{Build.Name}""##,
            "#{Build.Name}",
        ),
    ];
    for (keys, expected) in cases {
        let input = format!(r#"{{"distributionId": "E2QWRUHAPOMQZL", {keys}}}"#);
        let message = error_of(&input);
        assert!(message.contains(expected), "{input}\n{message}");
    }
}

#[test]
fn messages_of_choices_are_exact() {
    let cases = [
        (
            r#""onTimeout": " Succeed""#,
            "\"onTimeout\" in UserParameters is \" Succeed\": did you mean \"succeed\"? (the value \
             is case-sensitive)",
        ),
        (
            r#""onTimeout": "ignore""#,
            "\"onTimeout\" in UserParameters is \"ignore\": give \"fail\" (the job fails when the \
             wait runs out) or \"succeed\"",
        ),
        (
            r#""pathsFromArtifact": "ALL""#,
            "\"pathsFromArtifact\" in UserParameters is \"ALL\": did you mean \"all\"? (the value \
             is case-sensitive)",
        ),
        (
            r#""pathsFromArtifact": "diff""#,
            "\"pathsFromArtifact\" in UserParameters is \"diff\": give \"changed\" (the files \
             changed since the last successful run) or \"all\" (every file of the input artifact)",
        ),
    ];
    for (keys, expected) in cases {
        let input = format!(r#"{{"distributionId": "E2QWRUHAPOMQZL", {keys}}}"#);
        assert_eq!(error_of(&input), expected, "{input}");
    }
    for (raw, mode) in [
        ("all", ArtifactMode::All),
        ("changed", ArtifactMode::Changed),
    ] {
        let input =
            format!(r#"{{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "{raw}"}}"#);
        let params = parse_user_parameters(&input).unwrap();
        assert_eq!(params.from_artifact.map(|from| from.mode), Some(mode));
    }
    for (raw, on_timeout) in [("fail", OnTimeout::Fail), ("succeed", OnTimeout::Succeed)] {
        let input = format!(r#"{{"distributionId": "E2QWRUHAPOMQZL", "onTimeout": "{raw}"}}"#);
        assert_eq!(
            parse_user_parameters(&input).unwrap().on_timeout,
            on_timeout
        );
    }
}

#[test]
fn unresolved_variables_are_named_where_they_are() {
    let cases = [
        (
            r##"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "all", "artifact": "#{B.n}"}"##,
            "\"artifact\" in UserParameters is \"#{B.n}\", which contains a pipeline variable",
        ),
        (
            r##"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "all", "pipelineName": "#{p}"}"##,
            "\"pipelineName\" in UserParameters is \"#{p}\", which contains a pipeline variable",
        ),
        (
            r##"{"distributionId": "E2QWRUHAPOMQZL", "callerReference": "#{x.y}"}"##,
            "\"callerReference\" in UserParameters is \"#{x.y}\", which contains a pipeline variable",
        ),
        (
            "#{v.id},E2QWRUHAPOMQZL /a",
            "the distribution id list in plain-form UserParameters is \"#{v.id},E2QWRUHAPOMQZL\", \
             which contains a pipeline variable",
        ),
    ];
    for (input, expected) in cases {
        let message = error_of(input);
        assert!(message.starts_with(expected), "{input}\n{message}");
    }
}

#[test]
fn messages_of_the_events_variable_are_exact() {
    let example = r#"{"distributionId": "E2QWRUHAPOMQZL", "keyPrefix": "site/"}"#;
    assert_eq!(
        ParamsError::EventsUnset.to_string(),
        format!(
            "CF_INVALIDATE_PARAMETERS is not set or empty: set it to a JSON object that names the \
             distribution, such as {example}"
        )
    );
    assert_eq!(
        ParamsError::EventsNotAnObject {
            got: "\"x\"".to_owned()
        }
        .to_string(),
        format!("CF_INVALIDATE_PARAMETERS must be a JSON object, got \"x\": write {example}")
    );
    assert_eq!(
        ParamsError::NotForEvents {
            key: "wait",
            why: "because"
        }
        .to_string(),
        "\"wait\" does not apply in CF_INVALIDATE_PARAMETERS: because; remove it (it is a key of \
         the pipeline action's UserParameters)"
    );
    assert_eq!(Source::EventsEnvironment.name(), "CF_INVALIDATE_PARAMETERS");
}

#[test]
fn prefixes_default_and_follow_their_rules() {
    let with_artifact =
        |rest: &str| format!(r#"{{"distributionId": "{ID}", "pathsFromArtifact": "all"{rest}}}"#);
    let from = parse_user_parameters(&with_artifact("")).map(|params| params.from_artifact);
    let prefixes = from.map(|from| from.map(|from| (from.key_prefix, from.path_prefix)));
    assert_eq!(prefixes, Ok(Some((String::new(), "/".to_owned()))));
    assert_eq!(
        error_of(&with_artifact(r#", "keyPrefix": 3"#)),
        "\"keyPrefix\" in UserParameters must be a string such as \"site/\", got the number 3"
    );
    assert_eq!(
        error_of(&with_artifact(r#", "pathPrefix": null"#)),
        "\"pathPrefix\" in UserParameters is null: remove the key, or give a string such as \
         \"/\" or \"/blog/\""
    );
}

/// `verify`: true, false, an object with its defaults, and every mistake named with the value.
#[test]
fn verify_is_true_or_an_object_and_its_mistakes_are_named() {
    let parsed = |text: &str| parse_user_parameters(text).map(|p| p.verify);
    let with = |verify: &str| format!(r#"{{"distributionId": "{ID}", "verify": {verify}}}"#);
    assert_eq!(parsed(&with("false")), Ok(None));
    assert_eq!(parsed(&with("true")), Ok(Some(VerifyParams::default())));
    assert_eq!(
        parsed(&with(
            r#"{"baseUrl": "https://www.example.com/", "maxObjects": 5, "onStale": "warn", "bucket": "example-site", "prefix": "/site"}"#
        )),
        Ok(Some(VerifyParams {
            base_url: Some("https://www.example.com".to_owned()),
            max_objects: 5,
            on_stale: OnStale::Warn,
            bucket: Some("example-site".to_owned()),
            prefix: "site/".to_owned(),
        }))
    );
    let cases = [
        (
            with("\"yes\""),
            "\"verify\" in UserParameters must be true, or an object such as {\"baseUrl\": \"https://www.example.com\"}, got the string \"yes\"",
        ),
        (
            format!(r#"{{"distributionId": "{ID}", "wait": false, "verify": true}}"#),
            "\"verify\" in UserParameters is \"true\", which needs the wait: the edge is checked once the invalidations are Completed; remove \"wait\": false, or remove \"verify\"",
        ),
        (
            with(r#"{"baseURL": "https://x.example"}"#),
            "\"verify\" in UserParameters is \"baseURL\", which is not a key of \"verify\": it takes \"baseUrl\", \"maxObjects\", \"onStale\", \"bucket\", \"prefix\"",
        ),
        (
            with(r#"{"baseUrl": "www.example.com"}"#),
            "\"verify.baseUrl\" in UserParameters is \"www.example.com\", which does not start with http:// or https://: give the site's root, such as https://www.example.com",
        ),
        (
            with(r#"{"baseUrl": "https://www.example.com/blog"}"#),
            "\"verify.baseUrl\" in UserParameters is \"https://www.example.com/blog\", which has a path or query: give the site's root, such as https://www.example.com",
        ),
        (
            with(r#"{"maxObjects": 0}"#),
            "\"verify.maxObjects\" in UserParameters is 0, out of range: give a whole number from 1 to 1000 (each object is one request through the edge; a larger site is sampled evenly)",
        ),
        (
            with(r#"{"onStale": "Warn"}"#),
            "\"verify.onStale\" in UserParameters is \"Warn\": did you mean \"warn\"? (the value is case-sensitive)",
        ),
        (
            with(r#"{"prefix": "site/"}"#),
            "\"verify.prefix\" in UserParameters is \"site/\", which applies only with \"verify.bucket\": without it the objects are looked up where the distribution's S3 origin and its OriginPath put them; add the bucket, or remove the prefix",
        ),
        (
            r#"{"distributionTenantId": "dt_2wjDZi3hD1ivOXf6rpZJO1AB", "verify": true}"#.to_owned(),
            "\"verify\" in UserParameters is \"true\", which names no \"baseUrl\", which a distribution tenant needs: a tenant is served at a domain of its own; give \"verify\": {\"baseUrl\": \"https://tenant.example.com\"}",
        ),
        (
            with(r#"{"bucket": "s3://example-site"}"#),
            "\"verify.bucket\" in UserParameters is \"s3://example-site\", which is an ARN or a URL: give the bucket's name alone, such as \"example-site\"",
        ),
    ];
    for (input, message) in cases {
        assert_eq!(error_of(&input), message, "{input}");
    }
}

#[test]
fn base_urls_are_a_scheme_and_a_host() {
    for good in [
        "https://www.example.com",
        "http://127.0.0.1:8080/",
        "HTTPS://d111111abcdef8.cloudfront.net",
    ] {
        assert_eq!(base_url_problem(good), None, "{good}");
    }
    for bad in [
        "ftp://x",
        "https://",
        "https://:80",
        "https://user@host",
        "https://a b",
        "https://x?y",
    ] {
        assert!(base_url_problem(bad).is_some(), "{bad}");
    }
}
