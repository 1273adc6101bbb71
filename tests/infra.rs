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
    ("cloudfront:CreateInvalidationForDistributionTenant", false),
    ("cloudfront:GetInvalidationForDistributionTenant", false),
    ("cloudfront:ListInvalidationsForDistributionTenant", false),
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
const TENANT_A: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
const TENANT_B: &str = "dt_3xkEAj4iE2jwPYg7sqaKP2BC";

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

// ---------------------------------------------------------------------------------------------
// Deploying a template on paper: parameters, conditions and intrinsic functions resolved as
// CloudFormation resolves them, so that the checks below read the policies a stack would get.

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const STACK_NAME: &str = "cf-invalidate";
const STACK_UUID: &str = "51af3dc0-da77-11e4-872e-1234567db123";
const OTHER_STACK_UUID: &str = "8c3f1e20-5b6a-11f1-9d4e-0a1b2c3d4e5f";

/// One deployment of a template: its parameter values (given as CloudFormation receives them,
/// a `CommaDelimitedList` as one comma-separated string) and pseudo parameters.
struct Deployment<'t> {
    template: &'t Value,
    values: BTreeMap<String, Value>,
}

impl<'t> Deployment<'t> {
    fn new(template: &'t Value, parameters: &[(&str, &str)], stack_uuid: &str) -> Self {
        let declared = template["Parameters"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (name, _) in parameters {
            assert!(
                declared.contains_key(*name),
                "the template has no parameter {name}"
            );
        }
        let mut values = BTreeMap::new();
        for (name, declaration) in &declared {
            let given = parameters.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            let raw = match (given, declaration.get("Default")) {
                (Some(value), _) => Value::String(value.to_owned()),
                (None, Some(default)) => default.clone(),
                (None, None) => panic!("give the parameter {name} a value: it has no default"),
            };
            let value = if declaration["Type"] == "CommaDelimitedList" {
                let text = raw
                    .as_str()
                    .expect("a CommaDelimitedList is given as a string");
                Value::Array(text.split(',').map(|s| json!(s)).collect())
            } else {
                raw
            };
            values.insert(name.clone(), value);
        }
        for (name, value) in [
            ("AWS::AccountId", ACCOUNT.to_owned()),
            ("AWS::Partition", "aws".to_owned()),
            ("AWS::Region", REGION.to_owned()),
            ("AWS::URLSuffix", "amazonaws.com".to_owned()),
            ("AWS::StackName", STACK_NAME.to_owned()),
            (
                "AWS::StackId",
                format!(
                    "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/{stack_uuid}"
                ),
            ),
        ] {
            values.insert(name.to_owned(), Value::String(value));
        }
        Deployment { template, values }
    }

    /// The template as the stack would have it: resources whose condition is false left out,
    /// every other value resolved as far as parameters allow (`!GetAtt`, and `!Ref` to a
    /// resource, stay as they are).
    fn resolved(&self) -> Value {
        let mut out = self.template.clone();
        let kept: Map<String, Value> = resources(self.template)
            .iter()
            .filter(|(_, r)| {
                r.get("Condition")
                    .and_then(Value::as_str)
                    .is_none_or(|c| self.condition(c))
            })
            .filter_map(|(id, r)| Some((id.clone(), self.resolve(r)?)))
            .collect();
        out["Resources"] = Value::Object(kept);
        out
    }

    /// The `AssertDescription` of every rule assertion these parameters break.
    fn broken_rules(&self) -> Vec<String> {
        let rules = self.template["Rules"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut broken = Vec::new();
        for (name, rule) in &rules {
            if rule.get("RuleCondition").is_some_and(|c| !self.truth(c)) {
                continue;
            }
            for assertion in rule["Assertions"].as_array().expect("Assertions is a list") {
                if !self.truth(&assertion["Assert"]) {
                    let description = assertion["AssertDescription"].as_str().unwrap_or(name);
                    broken.push(description.to_owned());
                }
            }
        }
        broken
    }

    fn condition(&self, name: &str) -> bool {
        let condition = self.template["Conditions"]
            .get(name)
            .unwrap_or_else(|| panic!("no condition {name}"));
        self.truth(condition)
    }

    /// A condition function (or a rule function) evaluated.
    fn truth(&self, value: &Value) -> bool {
        let Some((function, args)) = single_key(value) else {
            panic!("{value} is not a condition");
        };
        let args_list = || args.as_array().map(Vec::as_slice).unwrap_or_default();
        match function {
            "Condition" => self.condition(args.as_str().expect("a condition's name")),
            "Fn::Not" => !self.truth(&args_list()[0]),
            "Fn::And" => args_list().iter().all(|c| self.truth(c)),
            "Fn::Or" => args_list().iter().any(|c| self.truth(c)),
            "Fn::Equals" => self.resolve(&args_list()[0]) == self.resolve(&args_list()[1]),
            "Fn::EachMemberEquals" | "Fn::Contains" => {
                let list = self.resolve(&args_list()[0]);
                let list = list.as_ref().and_then(Value::as_array).expect("a list");
                let item = self.resolve(&args_list()[1]);
                let same = |member: &Value| Some(member) == item.as_ref();
                if function == "Fn::Contains" {
                    list.iter().any(same)
                } else {
                    list.iter().all(same)
                }
            }
            other => panic!("this test cannot evaluate the condition function {other}"),
        }
    }

    /// `value` with parameters, conditions and functions resolved; `None` is `AWS::NoValue`.
    /// Refuses, as CloudFormation does, a computed delimiter for `Fn::Join` or `Fn::Split`
    /// and a computed template string for `Fn::Sub`.
    fn resolve(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Array(items) => Some(Value::Array(
                items.iter().filter_map(|v| self.resolve(v)).collect(),
            )),
            Value::Object(object) => {
                if let Some((function, args)) = single_key(value)
                    && (function == "Ref" || function.starts_with("Fn::"))
                {
                    return self.function(function, args, value);
                }
                Some(Value::Object(
                    object
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), self.resolve(v)?)))
                        .collect(),
                ))
            }
            other => Some(other.clone()),
        }
    }

    fn function(&self, function: &str, args: &Value, whole: &Value) -> Option<Value> {
        let list = || args.as_array().map(Vec::as_slice).unwrap_or_default();
        let literal = |what: &str, v: &Value| -> String {
            v.as_str()
                .unwrap_or_else(|| {
                    panic!("{what} must be a literal string, not {v}: CloudFormation refuses it")
                })
                .to_owned()
        };
        match function {
            "Ref" => {
                let name = args.as_str().expect("Ref names something");
                if name == "AWS::NoValue" {
                    return None;
                }
                Some(
                    self.values
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| whole.clone()),
                )
            }
            "Fn::If" => {
                let [condition, yes, no] = list() else {
                    panic!("Fn::If takes [condition, then, else]: {whole}");
                };
                let name = condition.as_str().expect("Fn::If names a condition");
                self.resolve(if self.condition(name) { yes } else { no })
            }
            "Fn::Join" => {
                let [delimiter, items] = list() else {
                    panic!("Fn::Join takes [delimiter, list]: {whole}");
                };
                let delimiter = literal("Fn::Join's delimiter", delimiter);
                let items = self.resolve(items)?;
                let strings: Option<Vec<&str>> = items
                    .as_array()
                    .expect("Fn::Join joins a list")
                    .iter()
                    .map(Value::as_str)
                    .collect();
                Some(match strings {
                    Some(strings) => Value::String(strings.join(&delimiter)),
                    None => json!({ "Fn::Join": [delimiter, items] }),
                })
            }
            "Fn::Split" => {
                let [delimiter, source] = list() else {
                    panic!("Fn::Split takes [delimiter, string]: {whole}");
                };
                let delimiter = literal("Fn::Split's delimiter", delimiter);
                let source = self.resolve(source)?;
                Some(match source.as_str() {
                    Some(s) => {
                        Value::Array(s.split(delimiter.as_str()).map(|p| json!(p)).collect())
                    }
                    None => json!({ "Fn::Split": [delimiter, source] }),
                })
            }
            "Fn::Select" => {
                let [index, items] = list() else {
                    panic!("Fn::Select takes [index, list]: {whole}");
                };
                let index = index
                    .as_u64()
                    .or_else(|| index.as_str().and_then(|s| s.parse().ok()))
                    .expect("Fn::Select's index is a number");
                let items = self.resolve(items)?;
                let item = items.as_array().expect("Fn::Select picks from a list");
                let i = usize::try_from(index).expect("a small index");
                Some(
                    item.get(i)
                        .cloned()
                        .unwrap_or_else(|| panic!("{whole}: no item {i}")),
                )
            }
            "Fn::Sub" => {
                let (text, variables) = match args {
                    Value::String(text) => (text.clone(), Map::new()),
                    Value::Array(parts) if parts.len() == 2 => (
                        literal("Fn::Sub's template string", &parts[0]),
                        parts[1].as_object().cloned().expect("Fn::Sub's variables"),
                    ),
                    other => panic!("Fn::Sub takes a string or [string, variables]: {other}"),
                };
                let mut variables: BTreeMap<String, Value> = variables
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), self.resolve(v)?)))
                    .collect();
                for (name, value) in &self.values {
                    variables
                        .entry(name.clone())
                        .or_insert_with(|| value.clone());
                }
                Some(
                    self.substitute(&text, &variables)
                        .map_or_else(|| whole.clone(), Value::String),
                )
            }
            _ => Some(whole.clone()),
        }
    }

    /// `Fn::Sub` on `text`; `None` when it names a resource or an attribute, which only a real
    /// stack can resolve.
    fn substitute(&self, text: &str, variables: &BTreeMap<String, Value>) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("an unclosed ${") + start;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(value) = variables.get(name) {
                out.push_str(
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned)
                        .as_str(),
                );
            } else if resources(self.template).contains_key(name.split('.').next().unwrap_or(name))
            {
                return None;
            } else {
                panic!(
                    "Fn::Sub: ${{{name}}} is no parameter, resource or variable; CloudFormation \
                     refuses it (${{!{name}}} writes it literally)"
                );
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// `{"Fn::X": args}` → `("Fn::X", args)`.
fn single_key(value: &Value) -> Option<(&str, &Value)> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// The function template as deployed with these distribution and tenant ids (comma-separated,
/// as given to `DistributionIds` and `DistributionTenantIds`).
fn function_stack(distributions: &str, tenants: &str) -> Value {
    deploy(&load(FUNCTION_TEMPLATE), distributions, tenants)
}

fn deploy(template: &Value, distributions: &str, tenants: &str) -> Value {
    Deployment::new(
        template,
        &[
            ("DistributionIds", distributions),
            ("DistributionTenantIds", tenants),
        ],
        STACK_UUID,
    )
    .resolved()
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

/// What a CloudFront statement may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloudFrontResource {
    Distribution,
    Tenant,
}

impl CloudFrontResource {
    /// The resource type an action applies to: the `...ForDistributionTenant` actions take a
    /// distribution tenant's ARN, the others a distribution's.
    fn of_action(action: &str) -> Self {
        if action
            .to_ascii_lowercase()
            .ends_with("fordistributiontenant")
        {
            Self::Tenant
        } else {
            Self::Distribution
        }
    }

    fn arn_path(self) -> &'static str {
        match self {
            Self::Distribution => "distribution/",
            Self::Tenant => "distribution-tenant/",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Distribution => "one distribution's ARN",
            Self::Tenant => "one distribution tenant's ARN",
        }
    }

    fn is_literal_id(self, id: &str) -> bool {
        match self {
            Self::Distribution => {
                !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            }
            Self::Tenant => id.strip_prefix("dt_").is_some_and(|rest| {
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
            }),
        }
    }
}

/// The partitions and account fields that name this stack's own account and nothing else:
/// the account id itself, `${AWS::AccountId}` in a `!Sub` not yet resolved, and the IAM policy
/// variable `${aws:PrincipalAccount}`, which IAM replaces with the calling role's account.
const OWN_PARTITIONS: &[&str] = &["aws", "${AWS::Partition}"];
const OWN_ACCOUNTS: &[&str] = &[ACCOUNT, "${AWS::AccountId}", "${aws:PrincipalAccount}"];

/// Is `resource` the ARN of exactly one `kind` in this account: a literal id or one
/// `${Parameter}`, never a wildcard, never another account?
fn is_one_arn_of(kind: CloudFrontResource, resource: &Value) -> bool {
    let text = match resource {
        Value::String(s) => s.as_str(),
        Value::Object(o) => match o.get("Fn::Sub") {
            Some(Value::String(s)) => s.as_str(),
            _ => return false,
        },
        _ => return false,
    };
    let id = OWN_PARTITIONS.iter().find_map(|partition| {
        OWN_ACCOUNTS.iter().find_map(|account| {
            text.strip_prefix(&format!(
                "arn:{partition}:cloudfront::{account}:{}",
                kind.arn_path()
            ))
        })
    });
    let Some(id) = id else {
        return false;
    };
    let parameter = id
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()));
    kind.is_literal_id(id) || parameter
}

fn is_star(resource: &Value) -> bool {
    resource.as_str() == Some("*")
}

/// What is wrong with `statements` for a role that may do only `allowed`: wildcard actions,
/// actions beyond the list, `*` resources where the action supports resource ARNs, CloudFront
/// actions on anything but single distribution (or distribution tenant) ARNs of this account,
/// NotAction / NotResource.
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
                let kind = CloudFrontResource::of_action(action);
                for resource in s.resources.iter().filter(|r| !is_one_arn_of(kind, r)) {
                    violations.push(format!(
                        "{}: {action} on {resource}, which is not {} in this account",
                        s.origin,
                        kind.what()
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

fn function_statements(stack: &Value) -> Vec<Statement> {
    role_statements(stack, &function_role(stack))
}

fn function_policy_violations(stack: &Value) -> Vec<String> {
    policy_violations(&function_statements(stack), FUNCTION_ACTIONS)
}

fn resource_text(resource: &Value) -> String {
    resource
        .as_str()
        .or_else(|| resource.get("Fn::Sub").and_then(Value::as_str))
        .map_or_else(|| resource.to_string(), str::to_owned)
}

/// The resources of every statement that grants `action`.
fn resources_of(statements: &[Statement], action: &str) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a == action))
        .flat_map(|s| s.resources.iter().map(resource_text))
        .collect()
}

fn cloudfront_resources(statements: &[Statement]) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("cloudfront:")))
        .flat_map(|s| s.resources.iter().map(resource_text))
        .collect()
}

fn distribution_arn(id: &str) -> String {
    format!("arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/{id}")
}

/// How the function's role names a distribution or a tenant once the stack resolved its lists.
fn granted_arn(kind: CloudFrontResource, id: &str) -> String {
    format!(
        "arn:aws:cloudfront::${{aws:PrincipalAccount}}:{}{id}",
        kind.arn_path()
    )
}

// ---------------------------------------------------------------------------------------------
// The function's template

/// The keys of every mapping in `value`, nested ones included.
fn all_keys(value: &Value) -> Vec<String> {
    match value {
        Value::Object(o) => o
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(all_keys(v)))
            .collect(),
        Value::Array(items) => items.iter().flat_map(all_keys).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_template_needs_no_language_extensions() {
    let template = load(FUNCTION_TEMPLATE);
    assert_eq!(
        template["Transform"], "AWS::Serverless-2016-10-31",
        "SAM CLI before 1.160 and older `aws cloudformation package` fail on \
         AWS::LanguageExtensions: the SAM transform only"
    );
    let for_each: Vec<String> = all_keys(&template)
        .into_iter()
        .filter(|k| k.starts_with("Fn::ForEach"))
        .collect();
    assert!(
        for_each.is_empty(),
        "{for_each:?} needs AWS::LanguageExtensions"
    );
}

#[test]
fn function_role_grants_only_the_listed_actions_on_the_listed_resources() {
    let stack = function_stack(
        &format!("{DIST_A},{DIST_B}"),
        &format!("{TENANT_A},{TENANT_B}"),
    );
    let statements = function_statements(&stack);
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
fn every_id_becomes_exactly_one_arn_and_an_empty_list_grants_nothing() {
    let cases: &[(&[&str], &[&str])] = &[
        (&[DIST_A], &[]),
        (&[DIST_A, DIST_B], &[]),
        (&[], &[TENANT_A]),
        (&[], &[TENANT_A, TENANT_B]),
        (&[DIST_A], &[TENANT_A, TENANT_B]),
    ];
    for (distributions, tenants) in cases {
        let stack = function_stack(&distributions.join(","), &tenants.join(","));
        let statements = function_statements(&stack);
        assert_no_violations(&statements, FUNCTION_ACTIONS, "the function's role");
        for (action, _) in FUNCTION_ACTIONS
            .iter()
            .filter(|(a, _)| a.starts_with("cloudfront:"))
        {
            let kind = CloudFrontResource::of_action(action);
            let ids = match kind {
                CloudFrontResource::Distribution => distributions,
                CloudFrontResource::Tenant => tenants,
            };
            let want: BTreeSet<String> = ids.iter().map(|id| granted_arn(kind, id)).collect();
            assert_eq!(
                resources_of(&statements, action),
                want,
                "{action} with DistributionIds={distributions:?} DistributionTenantIds={tenants:?}"
            );
        }
    }
}

#[test]
fn a_stack_needs_distributions_or_tenants() {
    let template = load(FUNCTION_TEMPLATE);
    let broken = |distributions: &str, tenants: &str| {
        Deployment::new(
            &template,
            &[
                ("DistributionIds", distributions),
                ("DistributionTenantIds", tenants),
            ],
            STACK_UUID,
        )
        .broken_rules()
    };
    assert_eq!(
        broken("", ""),
        ["Give DistributionIds, DistributionTenantIds or both."]
    );
    // The defaults are the empty lists: deploying without either parameter is refused too.
    assert!(
        !Deployment::new(&template, &[], STACK_UUID)
            .broken_rules()
            .is_empty()
    );
    assert!(broken(DIST_A, "").is_empty());
    assert!(broken("", TENANT_A).is_empty());
    assert!(broken(DIST_A, TENANT_A).is_empty());
}

#[test]
fn logs_go_only_to_the_templates_own_log_group() {
    let stack = function_stack(DIST_A, "");
    let logs: Vec<Statement> = function_statements(&stack)
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

/// The resources that outlive a deleted stack (`DeletionPolicy: Retain`) and whose name would
/// be the same in the next stack of that name: creating it again fails with AlreadyExists.
fn names_that_block_a_second_create(template: &Value) -> Vec<String> {
    let stack = |uuid| Deployment::new(template, &[("DistributionIds", DIST_A)], uuid).resolved();
    let (first, second) = (stack(STACK_UUID), stack(OTHER_STACK_UUID));
    let mut blocking = Vec::new();
    for (id, kept) in resources(&first) {
        if kept["DeletionPolicy"] != "Retain" {
            continue;
        }
        let properties = kept["Properties"].as_object().cloned().unwrap_or_default();
        for (key, name) in properties.iter().filter(|(k, _)| k.ends_with("Name")) {
            if Some(name) == resource(&second, id)["Properties"].get(key) {
                blocking.push(format!("{id}.{key} is {name} in every stack"));
            }
        }
    }
    blocking
}

#[test]
fn the_stack_can_be_deleted_and_created_again() {
    let template = load(FUNCTION_TEMPLATE);
    assert_eq!(
        names_that_block_a_second_create(&template),
        Vec::<String>::new()
    );

    let group = resource(&template, "LogGroup");
    assert_eq!(
        group["DeletionPolicy"], "Retain",
        "the log is the audit trail"
    );
    let stack = function_stack(DIST_A, "");
    let name = resource(&stack, "LogGroup")["Properties"]["LogGroupName"]
        .as_str()
        .expect("the log group's name is resolved")
        .to_owned();
    assert_eq!(name, format!("/aws/lambda/cf-invalidate/{STACK_UUID}"));
}

#[test]
fn the_checker_catches_a_retained_log_group_with_a_fixed_name() {
    let template = mutated_template(
        "      LogGroupName: !Sub\n        - /aws/lambda/${FunctionName}/${StackUuid}\n        - StackUuid: !Select [2, !Split [\"/\", !Ref AWS::StackId]]\n",
        "      LogGroupName: !Sub /aws/lambda/${FunctionName}\n",
    );
    assert_eq!(
        names_that_block_a_second_create(&template),
        ["LogGroup.LogGroupName is \"/aws/lambda/cf-invalidate\" in every stack"]
    );
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
fn the_outputs_give_the_function_name_arn_and_log_group() {
    let template = load(FUNCTION_TEMPLATE);
    let outputs = &template["Outputs"];
    assert_eq!(outputs["FunctionName"]["Value"], json!({"Ref": "Function"}));
    assert_eq!(
        outputs["FunctionArn"]["Value"],
        json!({"Fn::GetAtt": ["Function", "Arn"]})
    );
    assert_eq!(outputs["LogGroupName"]["Value"], json!({"Ref": "LogGroup"}));
}

// The checker itself must be able to fail: each broken copy of the policy is caught.

fn mutated_template_text(from: &str, to: &str) -> String {
    let text = read(FUNCTION_TEMPLATE);
    assert_eq!(
        text.matches(from).count(),
        1,
        "the template should contain {from:?} once"
    );
    text.replacen(from, to, 1)
}

fn mutated_template(from: &str, to: &str) -> Value {
    parse_template(&mutated_template_text(from, to))
}

/// The function's role in a stack of the broken template, with one distribution and one tenant.
fn mutated_policy_violations(from: &str, to: &str) -> Vec<String> {
    function_policy_violations(&deploy(&mutated_template(from, to), DIST_A, TENANT_A))
}

fn assert_caught(violations: &[String], expected: &str) {
    assert!(
        violations.iter().any(|v| v.contains(expected)),
        "expected a violation containing {expected:?}, got {violations:#?}"
    );
}

/// The distributions' Resource in the template, as written.
const DISTRIBUTION_RESOURCE: &str = r#"Resource: !Split
                    - ","
                    - !Join
                      - ""
                      - - "arn:aws:cloudfront::${aws:PrincipalAccount}:distribution/"
                        - !Join [",arn:aws:cloudfront::${aws:PrincipalAccount}:distribution/", !Ref DistributionIds]"#;

#[test]
fn the_checker_catches_cloudfront_star_in_the_template() {
    let violations = mutated_policy_violations(
        "- cloudfront:ListInvalidations\n",
        "- cloudfront:ListInvalidations\n                    - cloudfront:*\n",
    );
    assert_caught(&violations, "wildcard action \"cloudfront:*\"");
}

#[test]
fn the_checker_catches_cloudfront_on_resource_star_in_the_template() {
    let violations = mutated_policy_violations(DISTRIBUTION_RESOURCE, "Resource: \"*\"");
    assert_caught(
        &violations,
        "cloudfront:CreateInvalidation on Resource \"*\"",
    );
}

#[test]
fn the_checker_catches_a_distribution_wildcard_in_the_template() {
    let violations = mutated_policy_violations(
        DISTRIBUTION_RESOURCE,
        r#"Resource: "arn:aws:cloudfront::${aws:PrincipalAccount}:distribution/*""#,
    );
    assert_caught(&violations, "not one distribution's ARN in this account");
}

#[test]
fn the_checker_catches_a_wildcard_or_another_account_in_the_arns() {
    for account in ["*", "222233334444"] {
        let violations = mutated_policy_violations(
            r#"- - "arn:aws:cloudfront::${aws:PrincipalAccount}:distribution/""#,
            &format!(r#"- - "arn:aws:cloudfront::{account}:distribution/""#),
        );
        assert_caught(
            &violations,
            &format!(
                "cloudfront:CreateInvalidation on \"arn:aws:cloudfront::{account}:distribution/{DIST_A}\", \
                 which is not one distribution's ARN in this account"
            ),
        );
    }
}

#[test]
fn the_checker_catches_tenant_actions_on_distributions_and_the_reverse() {
    let violations = mutated_policy_violations(
        "- cloudfront:CreateInvalidation\n",
        "- cloudfront:CreateInvalidation\n                    - cloudfront:CreateInvalidationForDistributionTenant\n",
    );
    assert_caught(
        &violations,
        &format!(
            "cloudfront:CreateInvalidationForDistributionTenant on \"{}\", which is not one \
             distribution tenant's ARN",
            granted_arn(CloudFrontResource::Distribution, DIST_A)
        ),
    );

    let violations = mutated_policy_violations(
        "- cloudfront:GetInvalidationForDistributionTenant\n",
        "- cloudfront:GetInvalidationForDistributionTenant\n                    - cloudfront:GetInvalidation\n",
    );
    assert_caught(
        &violations,
        &format!(
            "cloudfront:GetInvalidation on \"{}\", which is not one distribution's ARN",
            granted_arn(CloudFrontResource::Tenant, TENANT_A)
        ),
    );
}

#[test]
fn the_checker_catches_star_actions_extra_actions_and_not_action() {
    let stack = function_stack(DIST_A, TENANT_A);
    let good = function_statements(&stack);
    assert!(policy_violations(&good, FUNCTION_ACTIONS).is_empty());

    let with = |change: &dyn Fn(&mut Statement)| {
        let mut statements = good.clone();
        change(&mut statements[0]);
        policy_violations(&statements, FUNCTION_ACTIONS)
    };
    assert_caught(
        &with(&|s| s.actions.push("*".to_owned())),
        "wildcard action \"*\"",
    );
    assert_caught(
        &with(&|s| s.actions.push("cloudfront:UpdateDistribution".to_owned())),
        "\"cloudfront:UpdateDistribution\" is not in the allowed list",
    );
    assert_caught(&with(&|s| s.not_action_or_resource = true), "NotAction");

    let mut logs_on_star = good.clone();
    for s in logs_on_star
        .iter_mut()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("logs:")))
    {
        s.resources = vec![json!("*")];
    }
    assert_caught(
        &policy_violations(&logs_on_star, FUNCTION_ACTIONS),
        "logs:PutLogEvents on Resource \"*\"",
    );
}

/// The account id cannot go into the distributions' delimiter: CloudFormation takes only a
/// literal string there. The evaluator refuses it the same way, and so does cfn-lint (below).
const COMPUTED_DELIMITER: (&str, &str) = (
    r#"!Join [",arn:aws:cloudfront::${aws:PrincipalAccount}:distribution/", !Ref DistributionIds]"#,
    r#"!Join [!Sub ",arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/", !Ref DistributionIds]"#,
);

#[test]
#[should_panic(expected = "Fn::Join's delimiter must be a literal string")]
fn a_computed_join_delimiter_is_refused() {
    let (from, to) = COMPUTED_DELIMITER;
    function_policy_violations(&deploy(&mutated_template(from, to), DIST_A, ""));
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
    assert_eq!(params.targets.len(), 1);
    assert_eq!(params.targets[0].as_str(), DIST_A);
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

#[path = "../local-aws/tests/support/tools.rs"]
mod tools;

/// cfn-lint: `$CFN_LINT`, else the test virtualenv's (prepared if need be).
fn cfn_lint() -> PathBuf {
    tools::python_tool("CFN_LINT", "cfn-lint", "cfn-lint")
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

/// cfn-lint on `text`, written to a temporary file.
fn lint_text(text: &str) -> (bool, String) {
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

static LINT_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn cfn_lint_does_fail_on_a_broken_template() {
    let text = read(FUNCTION_TEMPLATE).replacen("MemorySize: 128", "MemorySize: 1", 1);
    let (success, stdout) = lint_text(&text);
    assert!(!success, "cfn-lint accepted MemorySize: 1:\n{stdout}");
    assert!(
        stdout.contains("E3034"),
        "expected E3034 (minimum) for MemorySize: 1:\n{stdout}"
    );
}

#[test]
fn cfn_lint_refuses_a_computed_join_delimiter_too() {
    let (from, to) = COMPUTED_DELIMITER;
    let (success, stdout) = lint_text(&mutated_template_text(from, to));
    assert!(!success, "cfn-lint accepted !Join [!Sub ...]:\n{stdout}");
    assert!(
        stdout.contains("E1018"),
        "expected E1018 (not of type string) for the delimiter:\n{stdout}"
    );
}
