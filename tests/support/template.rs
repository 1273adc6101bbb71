//! Reading CloudFormation templates, and deploying one on paper: parameters, conditions and
//! intrinsic functions resolved as CloudFormation resolves them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// Sample ids, valid for CloudFront and for the templates' patterns.
pub const DIST_A: &str = "E2QWRUHAPOMQZL";
pub const DIST_B: &str = "E1ABCDEFGHIJKL";
pub const TENANT_A: &str = "dt_2wjDZi3hD1ivOXf6rpZJO1AB";
pub const TENANT_B: &str = "dt_3xkEAj4iE2jwPYg7sqaKP2BC";

// ---------------------------------------------------------------------------------------------
// Reading templates

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn read(relative: &str) -> String {
    let path = repo_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses a CloudFormation YAML template into JSON, short forms in their long form:
/// `!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` →
/// `{"Fn::Sub": s}`, and so on for every `!Fn` tag.
pub fn parse_template(text: &str) -> Value {
    let yaml: serde_norway::Value =
        serde_norway::from_str(text).unwrap_or_else(|e| panic!("the template is not YAML: {e}"));
    yaml_to_json(yaml)
}

pub fn load(relative: &str) -> Value {
    parse_template(&read(relative))
}

pub fn yaml_to_json(yaml: serde_norway::Value) -> Value {
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

pub fn resources(template: &Value) -> &Map<String, Value> {
    template["Resources"]
        .as_object()
        .expect("the template has a Resources mapping")
}

pub fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    resources(template)
        .get(id)
        .unwrap_or_else(|| panic!("the template has no resource {id}"))
}

// ---------------------------------------------------------------------------------------------
// Deploying a template on paper: parameters, conditions and intrinsic functions resolved as
// CloudFormation resolves them, so that the checks below read the policies a stack would get.

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "eu-west-1";
pub const STACK_NAME: &str = "cf-invalidate";
pub const STACK_UUID: &str = "51af3dc0-da77-11e4-872e-1234567db123";
pub const OTHER_STACK_UUID: &str = "8c3f1e20-5b6a-11f1-9d4e-0a1b2c3d4e5f";

/// One deployment of a template: its parameter values (given as CloudFormation receives them,
/// a `CommaDelimitedList` as one comma-separated string) and pseudo parameters.
pub struct Deployment<'t> {
    template: &'t Value,
    values: BTreeMap<String, Value>,
}

impl<'t> Deployment<'t> {
    pub fn new(template: &'t Value, parameters: &[(&str, &str)], stack_uuid: &str) -> Self {
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
            let text = raw.as_str().map_or_else(|| raw.to_string(), str::to_owned);
            if let Some(problem) = parameter_problem(declaration, &text) {
                panic!("CloudFormation refuses {name}={text:?}: {problem}");
            }
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
    pub fn resolved(&self) -> Value {
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
    pub fn broken_rules(&self) -> Vec<String> {
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

    pub fn condition(&self, name: &str) -> bool {
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
    pub fn resolve(&self, value: &Value) -> Option<Value> {
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

/// Why CloudFormation refuses `value` (as given on the command line, a `CommaDelimitedList`
/// comma-separated) for the parameter `declaration`, if it does: `AllowedPattern` (which must
/// match the whole value, or each item of a list), `AllowedValues`, `MinValue` / `MaxValue`.
pub fn parameter_problem(declaration: &Value, value: &str) -> Option<String> {
    let items: Vec<&str> = if declaration["Type"] == "CommaDelimitedList" {
        value.split(',').collect()
    } else {
        vec![value]
    };
    if let Some(pattern) = declaration["AllowedPattern"].as_str() {
        let whole = regex::Regex::new(&format!("^(?:{pattern})$"))
            .unwrap_or_else(|e| panic!("AllowedPattern {pattern:?} is no regular expression: {e}"));
        if let Some(item) = items.iter().find(|item| !whole.is_match(item)) {
            return Some(format!(
                "{item:?} does not match AllowedPattern {pattern:?}"
            ));
        }
    }
    if let Some(allowed) = declaration["AllowedValues"].as_array() {
        let spelled = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        if !allowed.iter().any(|v| spelled(v) == value) {
            return Some(format!("{value:?} is not in AllowedValues {allowed:?}"));
        }
    }
    if declaration["Type"] == "Number" {
        let Ok(number) = value.parse::<f64>() else {
            return Some(format!("{value:?} is not a number"));
        };
        if declaration["MinValue"]
            .as_f64()
            .is_some_and(|min| number < min)
        {
            return Some(format!("{value} is below MinValue"));
        }
        if declaration["MaxValue"]
            .as_f64()
            .is_some_and(|max| number > max)
        {
            return Some(format!("{value} is above MaxValue"));
        }
    }
    None
}

/// `{"Fn::X": args}` → `("Fn::X", args)`.
pub fn single_key(value: &Value) -> Option<(&str, &Value)> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// The keys of every mapping in `value`, nested ones included.
pub fn all_keys(value: &Value) -> Vec<String> {
    match value {
        Value::Object(o) => o
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(all_keys(v)))
            .collect(),
        Value::Array(items) => items.iter().flat_map(all_keys).collect(),
        _ => Vec::new(),
    }
}

/// The resources that outlive a deleted stack (`DeletionPolicy: Retain`) and whose name would
/// be the same in the next stack of that name, deployed with `parameters`: creating it again
/// fails with AlreadyExists.
pub fn names_that_block_a_second_create(
    template: &Value,
    parameters: &[(&str, &str)],
) -> Vec<String> {
    let stack = |uuid| Deployment::new(template, parameters, uuid).resolved();
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

/// The text of the template `relative` with `from`, which must appear in it exactly once, replaced
/// by `to`: a broken copy, to prove that a check can fail.
pub fn mutated_text(relative: &str, from: &str, to: &str) -> String {
    let text = read(relative);
    assert_eq!(
        text.matches(from).count(),
        1,
        "{relative} should contain {from:?} once"
    );
    text.replacen(from, to, 1)
}

/// The SAM transform alone: SAM CLI before 1.160 and older `aws cloudformation package` fail on
/// `AWS::LanguageExtensions`, which `Fn::ForEach` needs.
pub fn assert_needs_no_language_extensions(template: &Value) {
    assert_eq!(
        template["Transform"], "AWS::Serverless-2016-10-31",
        "SAM CLI before 1.160 and older `aws cloudformation package` fail on \
         AWS::LanguageExtensions: the SAM transform only"
    );
    let for_each: Vec<String> = all_keys(template)
        .into_iter()
        .filter(|k| k.starts_with("Fn::ForEach"))
        .collect();
    assert!(
        for_each.is_empty(),
        "{for_each:?} needs AWS::LanguageExtensions"
    );
}

/// The template's rule refuses a stack without distributions and tenants, and accepts one with
/// either or both; `others` are the values of its other required parameters.
pub fn assert_needs_distributions_or_tenants(template: &Value, others: &[(&str, &str)]) {
    let broken = |distributions: &str, tenants: &str| {
        let mut parameters = vec![
            ("DistributionIds", distributions),
            ("DistributionTenantIds", tenants),
        ];
        parameters.extend_from_slice(others);
        Deployment::new(template, &parameters, STACK_UUID).broken_rules()
    };
    assert_eq!(
        broken("", ""),
        ["Give DistributionIds, DistributionTenantIds or both."]
    );
    // The defaults are the empty lists: deploying without either parameter is refused too.
    assert!(
        !Deployment::new(template, others, STACK_UUID)
            .broken_rules()
            .is_empty()
    );
    assert!(broken(DIST_A, "").is_empty());
    assert!(broken("", TENANT_A).is_empty());
    assert!(broken(DIST_A, TENANT_A).is_empty());
}
