//! IAM statements read from a template, and the least-privilege checker the template tests share.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::template::{ACCOUNT, DIST_A, DIST_B, TENANT_A, TENANT_B, resource, resources};

/// One IAM statement, flattened: where it came from, and what it grants on what.
#[derive(Debug, Clone)]
pub struct Statement {
    pub origin: String,
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<Value>,
    pub not_action_or_resource: bool,
}

pub fn one_or_many(value: Option<&Value>) -> Vec<Value> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    }
}

/// Both branches of every `Fn::If` (a condition may take either), without `AWS::NoValue`.
pub fn both_branches(value: &Value) -> Vec<Value> {
    if let Some(branches) = value.get("Fn::If").and_then(Value::as_array) {
        return branches.iter().skip(1).flat_map(both_branches).collect();
    }
    if value.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
        return Vec::new();
    }
    vec![value.clone()]
}

pub fn statements_of(document: &Value, origin: &str) -> Vec<Statement> {
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

pub fn refers_to(value: &Value, role: &str) -> bool {
    value.get("Ref").and_then(Value::as_str) == Some(role)
}

/// Every statement that reaches `role`: its inline policies, the in-template managed policies it
/// attaches, and the `AWS::IAM::RolePolicy` / `AWS::IAM::Policy` resources naming it. A managed
/// policy from outside the template cannot be checked, so it is an error.
pub fn role_statements(template: &Value, role: &str) -> Vec<Statement> {
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
pub enum CloudFrontResource {
    Distribution,
    Tenant,
}

impl CloudFrontResource {
    /// The resource type an action applies to: the `...ForDistributionTenant` actions take a
    /// distribution tenant's ARN, the others a distribution's.
    pub fn of_action(action: &str) -> Self {
        if action
            .to_ascii_lowercase()
            .ends_with("fordistributiontenant")
        {
            Self::Tenant
        } else {
            Self::Distribution
        }
    }

    pub fn arn_path(self) -> &'static str {
        match self {
            Self::Distribution => "distribution/",
            Self::Tenant => "distribution-tenant/",
        }
    }

    pub fn what(self) -> &'static str {
        match self {
            Self::Distribution => "one distribution's ARN",
            Self::Tenant => "one distribution tenant's ARN",
        }
    }

    pub fn is_literal_id(self, id: &str) -> bool {
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
pub const OWN_PARTITIONS: &[&str] = &["aws", "${AWS::Partition}"];
pub const OWN_ACCOUNTS: &[&str] = &[ACCOUNT, "${AWS::AccountId}", "${aws:PrincipalAccount}"];

/// Is `resource` the ARN of exactly one `kind` in this account: a literal id or one
/// `${Parameter}`, never a wildcard, never another account?
pub fn is_one_arn_of(kind: CloudFrontResource, resource: &Value) -> bool {
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

pub fn is_star(resource: &Value) -> bool {
    resource.as_str() == Some("*")
}

/// What is wrong with `statements` for a role that may do only `allowed`: wildcard actions,
/// actions beyond the list, `*` resources where the action supports resource ARNs, CloudFront
/// actions on anything but single distribution (or distribution tenant) ARNs of this account,
/// NotAction / NotResource.
pub fn policy_violations(statements: &[Statement], allowed: &[(&str, bool)]) -> Vec<String> {
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

pub fn assert_no_violations(statements: &[Statement], allowed: &[(&str, bool)], what: &str) {
    let violations = policy_violations(statements, allowed);
    assert!(
        violations.is_empty(),
        "{what} grants more than it should:\n  {}",
        violations.join("\n  ")
    );
}

/// The logical id behind `!GetAtt X.Arn`.
pub fn get_att_target(value: &Value) -> &str {
    value["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or_else(|| panic!("expected !GetAtt Role.Arn, found {value}"))
}

pub fn function_role(template: &Value) -> String {
    let function = resource(template, "Function");
    assert!(
        function["Properties"].get("Policies").is_none(),
        "the function must use its own FunctionRole, not SAM Policies"
    );
    get_att_target(&function["Properties"]["Role"]).to_owned()
}

pub fn function_statements(stack: &Value) -> Vec<Statement> {
    role_statements(stack, &function_role(stack))
}

pub fn resource_text(resource: &Value) -> String {
    resource
        .as_str()
        .or_else(|| resource.get("Fn::Sub").and_then(Value::as_str))
        .map_or_else(|| resource.to_string(), str::to_owned)
}

/// The resources of every statement that grants `action`.
pub fn resources_of(statements: &[Statement], action: &str) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a == action))
        .flat_map(|s| s.resources.iter().map(resource_text))
        .collect()
}

pub fn cloudfront_resources(statements: &[Statement]) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("cloudfront:")))
        .flat_map(|s| s.resources.iter().map(resource_text))
        .collect()
}

pub fn distribution_arn(id: &str) -> String {
    format!("arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/{id}")
}

/// How the function's role names a distribution or a tenant once the stack resolved its lists.
pub fn granted_arn(kind: CloudFrontResource, id: &str) -> String {
    format!(
        "arn:aws:cloudfront::${{aws:PrincipalAccount}}:{}{id}",
        kind.arn_path()
    )
}

pub fn assert_caught(violations: &[String], expected: &str) {
    assert!(
        violations.iter().any(|v| v.contains(expected)),
        "expected a violation containing {expected:?}, got {violations:#?}"
    );
}

/// `statements` grant every action of `allowed`, none beyond it, and nothing it forbids.
pub fn assert_grants_exactly(statements: &[Statement], allowed: &[(&str, bool)], what: &str) {
    assert_no_violations(statements, allowed, what);
    let granted: BTreeSet<&str> = statements
        .iter()
        .flat_map(|s| s.actions.iter().map(String::as_str))
        .collect();
    let expected: BTreeSet<&str> = allowed.iter().map(|(a, _)| *a).collect();
    assert_eq!(
        granted, expected,
        "{what} needs every listed action, and no other"
    );
}

/// For several id lists, the role of `stack(distributions, tenants)` grants each CloudFront
/// action on exactly one ARN per id of its kind, and nothing for an empty list.
pub fn assert_every_id_is_one_arn(stack: impl Fn(&str, &str) -> Value, allowed: &[(&str, bool)]) {
    let cases: &[(&[&str], &[&str])] = &[
        (&[DIST_A], &[]),
        (&[DIST_A, DIST_B], &[]),
        (&[], &[TENANT_A]),
        (&[], &[TENANT_A, TENANT_B]),
        (&[DIST_A], &[TENANT_A, TENANT_B]),
    ];
    for (distributions, tenants) in cases {
        let stack = stack(&distributions.join(","), &tenants.join(","));
        let statements = function_statements(&stack);
        assert_no_violations(&statements, allowed, "the function's role");
        for (action, _) in allowed.iter().filter(|(a, _)| a.starts_with("cloudfront:")) {
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

/// The role writes logs, and only to the template's own `LogGroup`.
pub fn assert_logs_only_to_own_group(statements: &[Statement]) {
    let logs: Vec<&Statement> = statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("logs:")))
        .collect();
    assert!(!logs.is_empty(), "the function cannot write its logs");
    for statement in logs {
        assert_eq!(
            statement.resources,
            vec![json!({"Fn::GetAtt": ["LogGroup", "Arn"]})],
            "{}",
            statement.origin
        );
    }
}
