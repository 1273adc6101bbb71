//! The deployment templates in `infra/`: least-privilege IAM, the function's settings, the
//! reference pipeline's wiring, and cfn-lint on every template.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};

const FUNCTION_TEMPLATE: &str = "infra/template.yaml";
const PIPELINE_TEMPLATE: &str = "infra/pipeline-example.yaml";

/// Everything the function's role may do: (action, may it apply to `Resource: "*"`).
/// Only the two CodePipeline actions, which support no resource-level permissions, may.
const FUNCTION_ACTIONS: &[(&str, bool)] = &[
    ("cloudfront:CreateInvalidation", false),
    ("cloudfront:GetInvalidation", false),
    ("cloudfront:ListInvalidations", false),
    ("codepipeline:PutJobSuccessResult", true),
    ("codepipeline:PutJobFailureResult", true),
    ("logs:CreateLogStream", false),
    ("logs:PutLogEvents", false),
];

/// Everything the CodeBuild variant's role may do: invalidate, `aws s3 sync` the site, read the
/// CLI binary and the pipeline's artifacts, write its build logs. Nothing on `*`.
const CODEBUILD_ACTIONS: &[(&str, bool)] = &[
    ("cloudfront:CreateInvalidation", false),
    ("cloudfront:GetInvalidation", false),
    ("cloudfront:ListInvalidations", false),
    ("s3:ListBucket", false),
    ("s3:GetObject", false),
    ("s3:GetObjectVersion", false),
    ("s3:PutObject", false),
    ("s3:DeleteObject", false),
    ("logs:CreateLogGroup", false),
    ("logs:CreateLogStream", false),
    ("logs:PutLogEvents", false),
];

/// The output variables the action sets (README, "Results").
const OUTPUT_VARIABLES: &[&str] = &[
    "InvalidationId",
    "InvalidationIds",
    "DistributionIds",
    "PathCount",
    "Status",
];

const DIST_A: &str = "E2QWRUHAPOMQZL";
const DIST_B: &str = "E1ABCDEFGHIJKL";

// ---------------------------------------------------------------------------------------------
// Reading templates

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    let path = repo_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses a CloudFormation YAML template into JSON, short forms in their long form:
/// `!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` →
/// `{"Fn::Sub": s}`, and so on for every `!Fn` tag.
fn parse_template(text: &str) -> Value {
    let yaml: serde_norway::Value =
        serde_norway::from_str(text).unwrap_or_else(|e| panic!("the template is not YAML: {e}"));
    yaml_to_json(yaml)
}

fn load(relative: &str) -> Value {
    parse_template(&read(relative))
}

fn yaml_to_json(yaml: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = match yaml_to_json(key) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                object.insert(key, yaml_to_json(value));
            }
            Value::Object(object)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = yaml_to_json(tagged.value);
            let (key, value) = match name {
                "Ref" | "Condition" => (name.to_owned(), value),
                "GetAtt" => {
                    let value = match value {
                        Value::String(s) => match s.split_once('.') {
                            Some((resource, attribute)) => json!([resource, attribute]),
                            None => panic!("!GetAtt {s} names no attribute"),
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_owned(), value)
                }
                other => (format!("Fn::{other}"), value),
            };
            json!({ key: value })
        }
    }
}

fn resources(template: &Value) -> &Map<String, Value> {
    template["Resources"]
        .as_object()
        .expect("the template has a Resources mapping")
}

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    resources(template)
        .get(id)
        .unwrap_or_else(|| panic!("the template has no resource {id}"))
}

/// Expands every `Fn::ForEach::Name: [Identifier, Collection, {Key: Fragment}]` in Resources the
/// way AWS::LanguageExtensions does, with `collections` giving the values of parameters.
fn expand_for_each(template: &Value, collections: &BTreeMap<&str, Vec<&str>>) -> Value {
    let mut expanded = template.clone();
    let mut out = Map::new();
    for (key, value) in resources(template) {
        if !key.starts_with("Fn::ForEach::") {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let [identifier, collection, fragment] =
            value.as_array().map(Vec::as_slice).unwrap_or_default()
        else {
            panic!("{key} is not [Identifier, Collection, Fragment]: {value}");
        };
        let identifier = identifier
            .as_str()
            .expect("the loop identifier is a string");
        let items: Vec<String> = match collection {
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().expect("a string item").to_owned())
                .collect(),
            Value::Object(o) if o.contains_key("Ref") => {
                let name = o["Ref"].as_str().expect("Ref names a parameter");
                collections
                    .get(name)
                    .unwrap_or_else(|| panic!("{key} loops over {name}: give the test its values"))
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            }
            other => panic!("{key} loops over {other}, which this test cannot expand"),
        };
        let fragment = fragment
            .as_object()
            .expect("the loop fragment is a mapping");
        for item in &items {
            for (template_key, body) in fragment {
                let logical_id = substitute_identifier(template_key, identifier, item);
                let body = replace_identifier(body, identifier, item);
                assert!(
                    out.insert(logical_id.clone(), body).is_none(),
                    "{key} makes {logical_id} twice"
                );
            }
        }
    }
    expanded["Resources"] = Value::Object(out);
    expanded
}

fn substitute_identifier(text: &str, identifier: &str, item: &str) -> String {
    text.replace(&format!("${{{identifier}}}"), item)
        .replace(&format!("&{{{identifier}}}"), item)
}

fn replace_identifier(value: &Value, identifier: &str, item: &str) -> Value {
    match value {
        Value::Object(o)
            if o.len() == 1 && o.get("Ref").and_then(Value::as_str) == Some(identifier) =>
        {
            Value::String(item.to_owned())
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = if k == "Fn::Sub" {
                        match v {
                            Value::String(s) => {
                                Value::String(substitute_identifier(s, identifier, item))
                            }
                            Value::Array(parts) => {
                                let mut parts = parts.clone();
                                if let Some(Value::String(s)) = parts.first_mut() {
                                    *s = substitute_identifier(s, identifier, item);
                                }
                                replace_identifier(&Value::Array(parts), identifier, item)
                            }
                            other => replace_identifier(other, identifier, item),
                        }
                    } else {
                        replace_identifier(v, identifier, item)
                    };
                    (substitute_identifier(k, identifier, item), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| replace_identifier(v, identifier, item))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The function template with its distribution policies generated for `ids`.
fn function_template_for(ids: &[&str]) -> Value {
    expand_for_each(
        &load(FUNCTION_TEMPLATE),
        &BTreeMap::from([("DistributionIds", ids.to_vec())]),
    )
}

// ---------------------------------------------------------------------------------------------
// Policies

/// One IAM statement, flattened: where it came from, and what it grants on what.
#[derive(Debug, Clone)]
struct Statement {
    origin: String,
    effect: String,
    actions: Vec<String>,
    resources: Vec<Value>,
    not_action_or_resource: bool,
}

fn one_or_many(value: Option<&Value>) -> Vec<Value> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    }
}

/// Both branches of every `Fn::If` (a condition may take either), without `AWS::NoValue`.
fn both_branches(value: &Value) -> Vec<Value> {
    if let Some(branches) = value.get("Fn::If").and_then(Value::as_array) {
        return branches.iter().skip(1).flat_map(both_branches).collect();
    }
    if value.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
        return Vec::new();
    }
    vec![value.clone()]
}

fn statements_of(document: &Value, origin: &str) -> Vec<Statement> {
    one_or_many(document.get("Statement"))
        .iter()
        .flat_map(both_branches)
        .map(|statement| Statement {
            origin: origin.to_owned(),
            effect: statement["Effect"].as_str().unwrap_or("?").to_owned(),
            actions: one_or_many(statement.get("Action"))
                .iter()
                .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
                .collect(),
            resources: one_or_many(statement.get("Resource"))
                .iter()
                .flat_map(both_branches)
                .collect(),
            not_action_or_resource: statement.get("NotAction").is_some()
                || statement.get("NotResource").is_some(),
        })
        .collect()
}

fn refers_to(value: &Value, role: &str) -> bool {
    value.get("Ref").and_then(Value::as_str) == Some(role)
}

/// Every statement that reaches `role`: its inline policies, the in-template managed policies it
/// attaches, and the `AWS::IAM::RolePolicy` / `AWS::IAM::Policy` resources naming it. A managed
/// policy from outside the template cannot be checked, so it is an error.
fn role_statements(template: &Value, role: &str) -> Vec<Statement> {
    let role_resource = resource(template, role);
    assert_eq!(
        role_resource["Type"], "AWS::IAM::Role",
        "{role} is not an AWS::IAM::Role"
    );
    let properties = &role_resource["Properties"];
    let mut statements = Vec::new();
    for policy in one_or_many(properties.get("Policies"))
        .iter()
        .flat_map(both_branches)
    {
        let name = policy["PolicyName"].as_str().unwrap_or("?");
        statements.extend(statements_of(
            &policy["PolicyDocument"],
            &format!("{role}/{name}"),
        ));
    }
    for managed in one_or_many(properties.get("ManagedPolicyArns"))
        .iter()
        .flat_map(both_branches)
    {
        let Some(id) = managed.get("Ref").and_then(Value::as_str) else {
            panic!("{role} attaches the managed policy {managed}, which this test cannot check");
        };
        let policy = resource(template, id);
        assert_eq!(
            policy["Type"], "AWS::IAM::ManagedPolicy",
            "{role} attaches {id}"
        );
        statements.extend(statements_of(&policy["Properties"]["PolicyDocument"], id));
    }
    for (id, other) in resources(template) {
        let attaches = match other["Type"].as_str() {
            Some("AWS::IAM::RolePolicy") => refers_to(&other["Properties"]["RoleName"], role),
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy") => {
                one_or_many(other["Properties"].get("Roles"))
                    .iter()
                    .any(|r| refers_to(r, role))
            }
            _ => false,
        };
        if attaches {
            statements.extend(statements_of(&other["Properties"]["PolicyDocument"], id));
        }
    }
    statements
}

/// `arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/<one id>`, where the id is
/// a literal distribution id or one `${Parameter}`; never a wildcard.
fn is_one_distribution_arn(resource: &Value) -> bool {
    let text = match resource {
        Value::String(s) => s.as_str(),
        Value::Object(o) => match o.get("Fn::Sub") {
            Some(Value::String(s)) => s.as_str(),
            _ => return false,
        },
        _ => return false,
    };
    let Some(rest) = text
        .strip_prefix("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/")
        .or_else(|| text.strip_prefix("arn:aws:cloudfront::${AWS::AccountId}:distribution/"))
    else {
        return false;
    };
    let literal = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let parameter = rest
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()));
    literal || parameter
}

fn is_star(resource: &Value) -> bool {
    resource.as_str() == Some("*")
}

/// What is wrong with `statements` for a role that may do only `allowed`: wildcard actions,
/// actions beyond the list, `*` resources where the action supports resource ARNs, CloudFront
/// actions on anything but single distribution ARNs, NotAction / NotResource.
fn policy_violations(statements: &[Statement], allowed: &[(&str, bool)]) -> Vec<String> {
    let mut violations = Vec::new();
    for s in statements {
        if s.not_action_or_resource {
            violations.push(format!(
                "{}: NotAction/NotResource grants more than it names",
                s.origin
            ));
        }
        if s.effect != "Allow" {
            continue;
        }
        if s.actions.is_empty() {
            violations.push(format!("{}: a statement without Action", s.origin));
        }
        if s.resources.is_empty() {
            violations.push(format!("{}: a statement without Resource", s.origin));
        }
        for action in &s.actions {
            if action.contains('*') {
                violations.push(format!("{}: wildcard action {action:?}", s.origin));
                continue;
            }
            let Some((_, star_allowed)) =
                allowed.iter().find(|(a, _)| a.eq_ignore_ascii_case(action))
            else {
                violations.push(format!(
                    "{}: action {action:?} is not in the allowed list",
                    s.origin
                ));
                continue;
            };
            for resource in &s.resources {
                if is_star(resource) && !star_allowed {
                    violations.push(format!("{}: {action} on Resource \"*\"", s.origin));
                }
            }
            if action.to_ascii_lowercase().starts_with("cloudfront:") {
                for resource in s.resources.iter().filter(|r| !is_one_distribution_arn(r)) {
                    violations.push(format!(
                        "{}: {action} on {resource}, which is not one distribution's ARN",
                        s.origin
                    ));
                }
            }
        }
    }
    violations
}

fn assert_no_violations(statements: &[Statement], allowed: &[(&str, bool)], what: &str) {
    let violations = policy_violations(statements, allowed);
    assert!(
        violations.is_empty(),
        "{what} grants more than it should:\n  {}",
        violations.join("\n  ")
    );
}

/// The logical id behind `!GetAtt X.Arn`.
fn get_att_target(value: &Value) -> &str {
    value["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or_else(|| panic!("expected !GetAtt Role.Arn, found {value}"))
}

fn function_role(template: &Value) -> String {
    let function = resource(template, "Function");
    assert!(
        function["Properties"].get("Policies").is_none(),
        "the function must use its own FunctionRole, not SAM Policies"
    );
    get_att_target(&function["Properties"]["Role"]).to_owned()
}

fn function_policy_violations(template: &Value) -> Vec<String> {
    let role = function_role(template);
    policy_violations(&role_statements(template, &role), FUNCTION_ACTIONS)
}

fn cloudfront_resources(statements: &[Statement]) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("cloudfront:")))
        .flat_map(|s| s.resources.iter())
        .map(|r| {
            r.get("Fn::Sub")
                .and_then(Value::as_str)
                .map_or_else(|| r.to_string(), str::to_owned)
        })
        .collect()
}

fn distribution_arn(id: &str) -> String {
    format!("arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/{id}")
}

// ---------------------------------------------------------------------------------------------
// The function's template

#[test]
fn function_role_grants_only_the_listed_actions_on_the_listed_resources() {
    let template = function_template_for(&[DIST_A, DIST_B]);
    let role = function_role(&template);
    let statements = role_statements(&template, &role);
    assert_no_violations(&statements, FUNCTION_ACTIONS, "the function's role");

    let granted: BTreeSet<&str> = statements
        .iter()
        .flat_map(|s| s.actions.iter().map(String::as_str))
        .collect();
    let expected: BTreeSet<&str> = FUNCTION_ACTIONS.iter().map(|(a, _)| *a).collect();
    assert_eq!(
        granted, expected,
        "the function needs every listed action, and no other"
    );
}

#[test]
fn every_distribution_id_becomes_exactly_one_arn_in_the_role() {
    for ids in [vec![DIST_A], vec![DIST_A, DIST_B]] {
        let template = function_template_for(&ids);
        let role = function_role(&template);
        let got = cloudfront_resources(&role_statements(&template, &role));
        let want: BTreeSet<String> = ids.iter().map(|id| distribution_arn(id)).collect();
        assert_eq!(got, want, "DistributionIds={ids:?}");
    }
}

#[test]
fn logs_go_only_to_the_templates_own_log_group() {
    let template = function_template_for(&[DIST_A]);
    let role = function_role(&template);
    let logs: Vec<Statement> = role_statements(&template, &role)
        .into_iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("logs:")))
        .collect();
    assert!(!logs.is_empty(), "the function cannot write its logs");
    for statement in &logs {
        assert_eq!(
            statement.resources,
            vec![json!({"Fn::GetAtt": ["LogGroup", "Arn"]})],
            "{}",
            statement.origin
        );
    }
}

#[test]
fn the_function_is_a_small_arm64_provided_al2023_bootstrap_with_a_15_minute_timeout() {
    let template = load(FUNCTION_TEMPLATE);
    let function = resource(&template, "Function");
    assert_eq!(function["Type"], "AWS::Serverless::Function");
    let p = &function["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    assert_eq!(
        p["Timeout"], 900,
        "the engine hands over 3 s before a 900 s deadline"
    );
    assert_eq!(p["MemorySize"], 128);
    assert_eq!(p["Architectures"], json!([{"Ref": "Architecture"}]));
    let architecture = &template["Parameters"]["Architecture"];
    assert_eq!(architecture["Default"], "arm64");
    assert_eq!(architecture["AllowedValues"], json!(["arm64", "x86_64"]));

    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    let binary = function["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .expect("BuildProperties.Binary names the Cargo binary");
    assert!(
        read("Cargo.toml").contains(&format!("name = \"{binary}\"")),
        "Cargo.toml has no [[bin]] named {binary}"
    );
    let code_uri = p["CodeUri"].as_str().expect("CodeUri is a path");
    assert!(
        repo_path("infra")
            .join(code_uri)
            .join("Cargo.toml")
            .is_file(),
        "CodeUri {code_uri} (from infra/) must be the directory with Cargo.toml, for sam build"
    );
}

#[test]
fn package_sh_can_point_code_uri_at_the_zip() {
    // scripts/package.sh rewrites exactly this line for `aws cloudformation package`.
    let lines = read(FUNCTION_TEMPLATE)
        .lines()
        .filter(|line| *line == "      CodeUri: ..")
        .count();
    assert_eq!(
        lines, 1,
        "scripts/package.sh expects one line `      CodeUri: ..`"
    );
    assert!(read("scripts/package.sh").contains("s|^      CodeUri: \\.\\.$|"));
}

#[test]
fn the_function_logs_json_to_its_own_log_group_with_a_retention_parameter() {
    let template = load(FUNCTION_TEMPLATE);
    let logging = &resource(&template, "Function")["Properties"]["LoggingConfig"];
    assert_eq!(
        logging["LogFormat"], "JSON",
        "the function reads AWS_LAMBDA_LOG_FORMAT"
    );
    assert!(
        logging.get("ApplicationLogLevel").is_some(),
        "AWS_LAMBDA_LOG_LEVEL comes from here"
    );
    assert_eq!(logging["LogGroup"], json!({"Ref": "LogGroup"}));

    let group = resource(&template, "LogGroup");
    assert_eq!(group["Type"], "AWS::Logs::LogGroup");
    let retention = group["Properties"]["RetentionInDays"]["Ref"]
        .as_str()
        .expect("RetentionInDays is a parameter");
    assert!(
        template["Parameters"].get(retention).is_some(),
        "no parameter {retention}"
    );
}

#[test]
fn the_outputs_give_the_function_name_and_arn() {
    let template = load(FUNCTION_TEMPLATE);
    let outputs = &template["Outputs"];
    assert_eq!(outputs["FunctionName"]["Value"], json!({"Ref": "Function"}));
    assert_eq!(
        outputs["FunctionArn"]["Value"],
        json!({"Fn::GetAtt": ["Function", "Arn"]})
    );
}

// The checker itself must be able to fail: each broken copy of the policy is caught.

fn mutated_function_template(from: &str, to: &str) -> Value {
    let text = read(FUNCTION_TEMPLATE);
    assert_eq!(
        text.matches(from).count(),
        1,
        "the template should contain {from:?} once"
    );
    let template = parse_template(&text.replacen(from, to, 1));
    expand_for_each(
        &template,
        &BTreeMap::from([("DistributionIds", vec![DIST_A])]),
    )
}

const DISTRIBUTION_RESOURCE: &str = "Resource: !Sub arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${DistributionId}";

#[test]
fn the_checker_catches_cloudfront_star_in_the_template() {
    let template = mutated_function_template(
        "- cloudfront:ListInvalidations",
        "- cloudfront:ListInvalidations\n                  - cloudfront:*",
    );
    let violations = function_policy_violations(&template);
    assert!(
        violations
            .iter()
            .any(|v| v.contains("wildcard action \"cloudfront:*\"")),
        "{violations:?}"
    );
}

#[test]
fn the_checker_catches_cloudfront_on_resource_star_in_the_template() {
    let template = mutated_function_template(DISTRIBUTION_RESOURCE, "Resource: \"*\"");
    let violations = function_policy_violations(&template);
    assert!(
        violations
            .iter()
            .any(|v| v.contains("cloudfront:CreateInvalidation on Resource \"*\"")),
        "{violations:?}"
    );
}

#[test]
fn the_checker_catches_a_distribution_wildcard_in_the_template() {
    let template = mutated_function_template(
        DISTRIBUTION_RESOURCE,
        "Resource: !Sub arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*",
    );
    let violations = function_policy_violations(&template);
    assert!(
        violations
            .iter()
            .any(|v| v.contains("not one distribution's ARN")),
        "{violations:?}"
    );
}

#[test]
fn the_checker_catches_star_actions_extra_actions_and_not_action() {
    let template = function_template_for(&[DIST_A]);
    let role = function_role(&template);
    let good = role_statements(&template, &role);
    assert!(policy_violations(&good, FUNCTION_ACTIONS).is_empty());

    let with = |change: &dyn Fn(&mut Statement)| {
        let mut statements = good.clone();
        change(&mut statements[0]);
        policy_violations(&statements, FUNCTION_ACTIONS)
    };
    let star = with(&|s| s.actions.push("*".to_owned()));
    assert!(
        star.iter().any(|v| v.contains("wildcard action \"*\"")),
        "{star:?}"
    );
    let extra = with(&|s| s.actions.push("cloudfront:UpdateDistribution".to_owned()));
    assert!(
        extra
            .iter()
            .any(|v| v.contains("\"cloudfront:UpdateDistribution\" is not in the allowed list")),
        "{extra:?}"
    );
    let not_action = with(&|s| s.not_action_or_resource = true);
    assert!(
        not_action.iter().any(|v| v.contains("NotAction")),
        "{not_action:?}"
    );

    let mut logs_on_star = good.clone();
    for s in logs_on_star
        .iter_mut()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("logs:")))
    {
        s.resources = vec![json!("*")];
    }
    let violations = policy_violations(&logs_on_star, FUNCTION_ACTIONS);
    assert!(
        violations
            .iter()
            .any(|v| v.contains("logs:PutLogEvents on Resource \"*\"")),
        "{violations:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The reference pipeline

/// `Fn::Sub` with `values` for `${Name}`; `#{...}` (pipeline variables) stays as it is.
fn substitute(text: &str, values: &BTreeMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("an unclosed ${") + start;
        let name = &rest[start + 2..end];
        let value = values
            .get(name)
            .unwrap_or_else(|| panic!("the test has no value for ${{{name}}}"));
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every action of every stage, both variants: (stage name, action).
fn pipeline_actions(template: &Value) -> Vec<(String, Value)> {
    let stages = resource(template, "Pipeline")["Properties"]["Stages"]
        .as_array()
        .expect("Stages is a list")
        .iter()
        .flat_map(both_branches);
    let mut actions = Vec::new();
    for stage in stages {
        let name = stage["Name"].as_str().unwrap_or("?").to_owned();
        for action in stage["Actions"]
            .as_array()
            .expect("Actions is a list")
            .iter()
            .flat_map(both_branches)
        {
            actions.push((name.clone(), action));
        }
    }
    actions
}

fn provider(action: &Value) -> &str {
    action["ActionTypeId"]["Provider"].as_str().unwrap_or("?")
}

fn lambda_action(template: &Value) -> Value {
    let lambdas: Vec<Value> = pipeline_actions(template)
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| provider(a) == "Lambda")
        .collect();
    assert_eq!(lambdas.len(), 1, "one Lambda invoke action");
    lambdas.into_iter().next().expect("one")
}

#[test]
fn the_pipeline_user_parameters_are_valid_and_use_the_execution_id_as_caller_reference() {
    let template = load(PIPELINE_TEMPLATE);
    let action = lambda_action(&template);
    assert_eq!(action["ActionTypeId"]["Category"], "Invoke");
    assert_eq!(
        action["Configuration"]["FunctionName"],
        json!({"Ref": "FunctionName"})
    );
    let raw = action["Configuration"]["UserParameters"]["Fn::Sub"]
        .as_str()
        .expect("UserParameters is a !Sub string");
    assert!(raw.contains("#{codepipeline.PipelineExecutionId}"));

    let values = BTreeMap::from([
        ("DistributionId", DIST_A),
        ("InvalidationPaths", "/index.html /css/*"),
    ]);
    let execution_id = "0f7c8a42-1d2e-4b5f-9a6c-3e4d5f6a7b8c";
    let resolved =
        substitute(raw, &values).replace("#{codepipeline.PipelineExecutionId}", execution_id);
    let params = cf_invalidate::params::parse_user_parameters(&resolved)
        .unwrap_or_else(|e| panic!("the action would fail with: {e}\nUserParameters: {resolved}"));
    assert_eq!(params.caller_reference.as_deref(), Some(execution_id));
    assert_eq!(params.distribution_ids.len(), 1);
    assert_eq!(params.distribution_ids[0].as_str(), DIST_A);
    assert_eq!(params.paths, ["/index.html", "/css/*"]);
}

#[test]
fn a_later_action_reads_the_invalidation_output_variables() {
    let template = load(PIPELINE_TEMPLATE);
    let namespace = lambda_action(&template)["Namespace"]
        .as_str()
        .expect("the Lambda action has a Namespace")
        .to_owned();
    let actions = pipeline_actions(&template);
    let lambda_stage = actions
        .iter()
        .position(|(_, a)| provider(a) == "Lambda")
        .expect("a Lambda action");
    let marker = format!("#{{{namespace}.");
    let readers: Vec<&(String, Value)> = actions[lambda_stage + 1..]
        .iter()
        .filter(|(_, a)| a["Configuration"].to_string().contains(&marker))
        .collect();
    assert!(
        !readers.is_empty(),
        "no action after the invalidation reads {marker}...}}"
    );
    for (stage, action) in readers {
        let text = action["Configuration"].to_string();
        for reference in text.split(&marker).skip(1) {
            let variable = reference.split('}').next().unwrap_or_default();
            assert!(
                OUTPUT_VARIABLES.contains(&variable),
                "{stage}: #{{{namespace}.{variable}}} is not an output variable of the action"
            );
        }
    }
}

#[test]
fn the_pipeline_role_may_invoke_the_function_and_nothing_on_star() {
    let template = load(PIPELINE_TEMPLATE);
    let statements = role_statements(&template, "PipelineRole");
    let invoke: Vec<&Statement> = statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a == "lambda:InvokeFunction"))
        .collect();
    assert_eq!(
        invoke.len(),
        1,
        "one statement grants lambda:InvokeFunction"
    );
    assert_eq!(
        invoke[0].resources,
        vec![
            json!({"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionName}"})
        ]
    );
    for s in &statements {
        for action in &s.actions {
            assert!(
                !action.contains('*'),
                "{}: wildcard action {action}",
                s.origin
            );
        }
        assert!(
            !s.resources.iter().any(is_star),
            "{}: Resource \"*\"",
            s.origin
        );
    }
}

#[test]
fn the_codebuild_variant_role_grants_only_sync_and_invalidate() {
    let template = load(PIPELINE_TEMPLATE);
    let project = resource(&template, "InvalidateBuildProject");
    let role = get_att_target(&project["Properties"]["ServiceRole"]);
    let statements = role_statements(&template, role);
    assert_no_violations(
        &statements,
        CODEBUILD_ACTIONS,
        "the CodeBuild variant's role",
    );
    assert_eq!(
        cloudfront_resources(&statements),
        BTreeSet::from([distribution_arn("${DistributionId}")])
    );
}

#[test]
fn the_codebuild_variant_runs_the_buildspec_with_its_variables() {
    let template = load(PIPELINE_TEMPLATE);
    let project = resource(&template, "InvalidateBuildProject");
    let names: BTreeSet<&str> = project["Properties"]["Environment"]["EnvironmentVariables"]
        .as_array()
        .expect("environment variables")
        .iter()
        .filter_map(|v| v["Name"].as_str())
        .collect();
    for name in [
        "DISTRIBUTION_ID",
        "SITE_BUCKET",
        "SITE_DIR",
        "CF_INVALIDATE_S3_URI",
    ] {
        assert!(names.contains(name), "the buildspec needs {name}");
    }
    let buildspec = repo_path("buildspec.yml");
    if let Ok(text) = std::fs::read_to_string(&buildspec) {
        for name in [
            "DISTRIBUTION_ID",
            "SITE_BUCKET",
            "SITE_DIR",
            "CF_INVALIDATE_S3_URI",
        ] {
            assert!(
                text.contains(name),
                "buildspec.yml does not use {name}: keep them in step"
            );
        }
    }
    let variants: BTreeSet<&str> = template["Parameters"]["InvalidateWith"]["AllowedValues"]
        .as_array()
        .expect("InvalidateWith chooses the variant")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(variants, BTreeSet::from(["Lambda", "CodeBuild"]));
}

// ---------------------------------------------------------------------------------------------
// cfn-lint

fn templates() -> Vec<PathBuf> {
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

fn cfn_lint() -> PathBuf {
    let Some(path) = std::env::var_os("CFN_LINT") else {
        panic!(
            "CFN_LINT is not set: run ./scripts/test.sh (it creates .venv with cfn-lint and exports \
             CFN_LINT), or export CFN_LINT=$PWD/.venv/bin/cfn-lint"
        );
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "CFN_LINT={} does not exist: run ./scripts/test.sh to create .venv",
        path.display()
    );
    path
}

fn run_cfn_lint(files: &[PathBuf]) -> std::process::Output {
    Command::new(cfn_lint())
        .arg("--")
        .args(files)
        .output()
        .expect("cfn-lint runs")
}

#[test]
fn cfn_lint_finds_nothing_in_any_template() {
    let files = templates();
    assert!(
        files.len() >= 2,
        "infra/ should hold both templates: {files:?}"
    );
    let output = run_cfn_lint(&files);
    assert!(
        output.status.success(),
        "cfn-lint on {files:?} exited {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn cfn_lint_does_fail_on_a_broken_template() {
    let text = read(FUNCTION_TEMPLATE).replacen("MemorySize: 128", "MemorySize: 1", 1);
    let dir = std::env::temp_dir().join(format!("cf-invalidate-infra-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, text).expect("write the broken template");
    let output = run_cfn_lint(std::slice::from_ref(&broken));
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "cfn-lint accepted MemorySize: 1:\n{stdout}"
    );
    assert!(
        stdout.contains("E3034"),
        "expected E3034 (minimum) for MemorySize: 1:\n{stdout}"
    );
}
