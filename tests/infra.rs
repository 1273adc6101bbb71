//! The pipeline action's deployment templates in `infra/`: least-privilege IAM, the function's
//! settings, the reference pipeline's wiring, and cfn-lint on every template. The S3 events
//! template has its own file, `tests/infra_events.rs`; both read templates through `support`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use cf_invalidate::values::{SITE_BUCKET_IAM_ACTIONS, SITE_OBJECT_IAM_ACTIONS, VERIFY_IAM_ACTIONS};
use support::lint::{lint_text, run_cfn_lint, templates};
use support::policy::*;
use support::template::*;

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
    ("cloudfront:GetDistribution", false),
    ("s3:GetObject", false),
    ("s3:ListBucket", false),
    ("codepipeline:PutJobSuccessResult", true),
    ("codepipeline:PutJobFailureResult", true),
    ("codepipeline:GetJobDetails", true),
    ("codepipeline:ListActionExecutions", false),
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
    "ChangedFiles",
    "Status",
];

/// The site buckets most stacks here are deployed with (`SiteBucketNames`); a dot is allowed.
const SITE_BUCKETS: [&str; 2] = ["example-site", "docs.example.com"];

/// The function template as deployed with these distribution and tenant ids (comma-separated,
/// as given to `DistributionIds` and `DistributionTenantIds`) and [`SITE_BUCKETS`].
fn function_stack(distributions: &str, tenants: &str) -> Value {
    deploy(&load(FUNCTION_TEMPLATE), distributions, tenants)
}

fn deploy(template: &Value, distributions: &str, tenants: &str) -> Value {
    deploy_with_buckets(template, distributions, tenants, &SITE_BUCKETS.join(","))
}

fn deploy_with_buckets(
    template: &Value,
    distributions: &str,
    tenants: &str,
    buckets: &str,
) -> Value {
    Deployment::new(
        template,
        &[
            ("DistributionIds", distributions),
            ("DistributionTenantIds", tenants),
            ("SiteBucketNames", buckets),
        ],
        STACK_UUID,
    )
    .resolved()
}

fn function_policy_violations(stack: &Value) -> Vec<String> {
    policy_violations(&function_statements(stack), FUNCTION_ACTIONS)
}

// ---------------------------------------------------------------------------------------------
// The function's template

#[test]
fn the_template_needs_no_language_extensions() {
    assert_needs_no_language_extensions(&load(FUNCTION_TEMPLATE));
}

#[test]
fn function_role_grants_only_the_listed_actions_on_the_listed_resources() {
    let stack = function_stack(
        &format!("{DIST_A},{DIST_B}"),
        &format!("{TENANT_A},{TENANT_B}"),
    );
    assert_grants_exactly(
        &function_statements(&stack),
        FUNCTION_ACTIONS,
        "the function's role",
    );
}

#[test]
fn every_id_becomes_exactly_one_arn_and_an_empty_list_grants_nothing() {
    assert_every_id_is_one_arn(function_stack, FUNCTION_ACTIONS);
}

/// What is wrong with the role's S3 grants for `buckets` (given as `SiteBucketNames`): each of
/// [`SITE_OBJECT_IAM_ACTIONS`] on exactly `arn:aws:s3:::BUCKET/*` and each of
/// [`SITE_BUCKET_IAM_ACTIONS`] on exactly `arn:aws:s3:::BUCKET` for every listed bucket, and
/// no other S3 action or resource.
fn site_read_violations(statements: &[Statement], buckets: &[&str]) -> Vec<String> {
    let objects: BTreeSet<String> = buckets
        .iter()
        .map(|bucket| format!("arn:aws:s3:::{bucket}/*"))
        .collect();
    let listed: BTreeSet<String> = buckets
        .iter()
        .map(|bucket| format!("arn:aws:s3:::{bucket}"))
        .collect();
    let mut violations = Vec::new();
    for s in statements {
        for action in s.actions.iter().filter(|a| a.starts_with("s3:")) {
            let (allowed, what) = if SITE_OBJECT_IAM_ACTIONS.contains(&action.as_str()) {
                (&objects, "a listed bucket's objects")
            } else if SITE_BUCKET_IAM_ACTIONS.contains(&action.as_str()) {
                (&listed, "a listed bucket")
            } else {
                violations.push(format!("{}: {action} is not what verify needs", s.origin));
                continue;
            };
            for resource in s.resources.iter().map(resource_text) {
                if !allowed.contains(&resource) {
                    violations.push(format!(
                        "{}: {action} on {resource:?}, which is not {what}",
                        s.origin
                    ));
                }
            }
        }
    }
    for (actions, want) in [
        (&SITE_OBJECT_IAM_ACTIONS, &objects),
        (&SITE_BUCKET_IAM_ACTIONS, &listed),
    ] {
        for action in actions {
            let granted = resources_of(statements, action);
            for missing in want.difference(&granted) {
                violations.push(format!("{action} is not granted on {missing:?}"));
            }
        }
    }
    violations
}

#[test]
fn verify_may_read_each_distribution_and_exactly_the_listed_site_buckets() {
    // The actions the rules name (the CDK construct grants the same) are the template's.
    for action in VERIFY_IAM_ACTIONS
        .iter()
        .chain(&SITE_OBJECT_IAM_ACTIONS)
        .chain(&SITE_BUCKET_IAM_ACTIONS)
    {
        assert!(
            FUNCTION_ACTIONS.contains(&(action, false)),
            "{action} is not in FUNCTION_ACTIONS"
        );
    }
    let template = load(FUNCTION_TEMPLATE);
    let stack = deploy(&template, &format!("{DIST_A},{DIST_B}"), TENANT_A);
    let statements = function_statements(&stack);
    for action in VERIFY_IAM_ACTIONS {
        assert_eq!(
            resources_of(&statements, action),
            BTreeSet::from([
                granted_arn(CloudFrontResource::Distribution, DIST_A),
                granted_arn(CloudFrontResource::Distribution, DIST_B)
            ]),
            "{action}: each distribution, and no tenant (a tenant is verified at its baseUrl)"
        );
    }
    assert_eq!(
        site_read_violations(&statements, &SITE_BUCKETS),
        Vec::<String>::new()
    );
    for buckets in [&["example-site"][..], &["a.b.c", "site-2", "x0y"][..]] {
        let stack = deploy_with_buckets(&template, DIST_A, "", &buckets.join(","));
        let statements = function_statements(&stack);
        assert_eq!(
            site_read_violations(&statements, buckets),
            Vec::<String>::new()
        );
        assert_no_violations(&statements, FUNCTION_ACTIONS, "the function's role");
    }
    // No SiteBucketNames (the default): no S3 permission at all.
    let without = Deployment::new(&template, &[("DistributionIds", DIST_A)], STACK_UUID).resolved();
    let granted: Vec<String> = function_statements(&without)
        .into_iter()
        .flat_map(|s| s.actions)
        .filter(|a| a.starts_with("s3:"))
        .collect();
    assert_eq!(granted, Vec::<String>::new());
}

#[test]
fn site_bucket_names_are_bucket_names() {
    let declared = &load(FUNCTION_TEMPLATE)["Parameters"]["SiteBucketNames"];
    for value in ["example-site,docs.example.com", "abc", ""] {
        assert_eq!(parameter_problem(declared, value), None, "{value:?}");
    }
    for value in [
        "*",
        "site*",
        "Site",
        "a",
        "site/",
        "arn:aws:s3:::site",
        "site,*",
        "my\"site",
    ] {
        assert!(
            parameter_problem(declared, value).is_some(),
            "SiteBucketNames accepts {value:?}"
        );
    }
}

#[test]
fn a_stack_needs_distributions_or_tenants() {
    assert_needs_distributions_or_tenants(&load(FUNCTION_TEMPLATE), &[]);
}

#[test]
fn logs_go_only_to_the_templates_own_log_group() {
    assert_logs_only_to_own_group(&function_statements(&function_stack(DIST_A, "")));
}

#[test]
fn the_stack_can_be_deleted_and_created_again() {
    let template = load(FUNCTION_TEMPLATE);
    assert_eq!(
        names_that_block_a_second_create(&template, &[("DistributionIds", DIST_A)]),
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
        names_that_block_a_second_create(&template, &[("DistributionIds", DIST_A)]),
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
    mutated_text(FUNCTION_TEMPLATE, from, to)
}

fn mutated_template(from: &str, to: &str) -> Value {
    parse_template(&mutated_template_text(from, to))
}

/// The function's role in a stack of the broken template, with one distribution and one tenant.
fn mutated_policy_violations(from: &str, to: &str) -> Vec<String> {
    function_policy_violations(&deploy(&mutated_template(from, to), DIST_A, TENANT_A))
}

/// The distributions' Resource in the template, as written.
const DISTRIBUTION_RESOURCE: &str = r#"Resource: !Split
                    - ","
                    - !Join
                      - ""
                      - - "arn:aws:cloudfront::${aws:PrincipalAccount}:distribution/"
                        - !Join [",arn:aws:cloudfront::${aws:PrincipalAccount}:distribution/", !Ref DistributionIds]"#;

#[test]
fn the_checker_catches_a_site_read_widened_or_missing() {
    let violations = |from: &str, to: &str| {
        site_read_violations(
            &function_statements(&deploy(&mutated_template(from, to), DIST_A, "")),
            &SITE_BUCKETS,
        )
    };
    // Every bucket's objects.
    assert_caught(
        &violations(
            r#"!Join ["/*,arn:aws:s3:::", !Ref SiteBucketNames]"#,
            r#"!Join ["/*,arn:aws:s3:::*/*,arn:aws:s3:::", !Ref SiteBucketNames]"#,
        ),
        "s3:GetObject on \"arn:aws:s3:::*/*\", which is not a listed bucket's objects",
    );
    // Every bucket whose name starts like a listed one.
    assert_caught(
        &violations(
            r#"!Join [",arn:aws:s3:::", !Ref SiteBucketNames]"#,
            r#"!Join ["*,arn:aws:s3:::", !Ref SiteBucketNames]"#,
        ),
        "s3:ListBucket on \"arn:aws:s3:::example-site*\", which is not a listed bucket",
    );
    // An action beyond reading.
    assert_caught(
        &violations(
            "                  Action: s3:GetObject\n",
            "                  Action: [s3:GetObject, s3:PutObject]\n",
        ),
        "s3:PutObject is not what verify needs",
    );
    // The listing left out: a missing key would be a 403, and no wildcard could be expanded.
    assert_caught(
        &violations(
            "                  Action: s3:ListBucket\n",
            "                  Action: s3:GetObject\n",
        ),
        "s3:ListBucket is not granted on \"arn:aws:s3:::example-site\"",
    );
}

#[test]
fn the_checker_catches_get_distribution_missing_or_on_every_distribution() {
    let stack = deploy(
        &mutated_template("                    - cloudfront:GetDistribution\n", ""),
        DIST_A,
        "",
    );
    let statements = function_statements(&stack);
    assert_eq!(
        resources_of(&statements, VERIFY_IAM_ACTIONS[0]),
        BTreeSet::new()
    );
    let granted: BTreeSet<&str> = statements
        .iter()
        .flat_map(|s| s.actions.iter().map(String::as_str))
        .collect();
    assert!(
        !granted.contains(VERIFY_IAM_ACTIONS[0]),
        "the mutation should remove the grant"
    );

    let good = function_statements(&function_stack(DIST_A, ""));
    for (resource, expected) in [
        (json!("*"), "cloudfront:GetDistribution on Resource \"*\""),
        (
            json!("arn:aws:cloudfront::${aws:PrincipalAccount}:distribution/*"),
            "which is not one distribution's ARN in this account",
        ),
    ] {
        let mut widened = good.clone();
        widened.push(Statement {
            origin: "FunctionRole/widened".to_owned(),
            effect: "Allow".to_owned(),
            actions: vec![VERIFY_IAM_ACTIONS[0].to_owned()],
            resources: vec![resource],
            not_action_or_resource: false,
        });
        assert_caught(&policy_violations(&widened, FUNCTION_ACTIONS), expected);
    }
}

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
fn the_pipeline_user_parameters_are_valid_and_invalidate_what_the_deploy_changed() {
    let template = load(PIPELINE_TEMPLATE);
    let action = lambda_action(&template);
    assert_eq!(action["ActionTypeId"]["Category"], "Invoke");
    assert_eq!(
        action["Configuration"]["FunctionName"],
        json!({"Ref": "FunctionName"})
    );
    // The action reads the artifact the S3 deploy action deployed.
    let deploy = pipeline_actions(&template)
        .into_iter()
        .map(|(_, a)| a)
        .find(|a| provider(a) == "S3" && a["ActionTypeId"]["Category"] == "Deploy")
        .expect("an S3 deploy action");
    assert_eq!(action["InputArtifacts"], deploy["InputArtifacts"]);
    // The pipeline is named after the stack, as pipelineName says.
    assert_eq!(
        resource(&template, "Pipeline")["Properties"]["Name"],
        json!({"Ref": "AWS::StackName"})
    );

    // Both branches: with extra paths and without.
    let branches = both_branches(&action["Configuration"]["UserParameters"]);
    assert_eq!(branches.len(), 2);
    let execution_id = "0f7c8a42-1d2e-4b5f-9a6c-3e4d5f6a7b8c";
    let mut listed = Vec::new();
    for branch in branches {
        let raw = branch["Fn::Sub"]
            .as_str()
            .expect("UserParameters is a !Sub string");
        assert!(raw.contains("#{codepipeline.PipelineExecutionId}"));
        let values = BTreeMap::from([
            ("DistributionId", DIST_A),
            ("InvalidationPaths", "/sitemap.xml /feed.xml"),
            ("AWS::StackName", "site-pipeline"),
        ]);
        let resolved =
            substitute(raw, &values).replace("#{codepipeline.PipelineExecutionId}", execution_id);
        let params = cf_invalidate::params::parse_user_parameters(&resolved).unwrap_or_else(|e| {
            panic!("the action would fail with: {e}\nUserParameters: {resolved}")
        });
        assert_eq!(params.caller_reference.as_deref(), Some(execution_id));
        assert_eq!(params.targets.len(), 1);
        assert_eq!(params.targets[0].as_str(), DIST_A);
        let from = params.from_artifact.expect("pathsFromArtifact");
        assert_eq!(from.mode, cf_invalidate::params::ArtifactMode::Changed);
        assert_eq!(from.pipeline_name.as_deref(), Some("site-pipeline"));
        assert_eq!(params.directory_index.as_deref(), Some("index.html"));
        // The viewer's check after Completed, at the distribution's own domain, failing the job
        // on a stale file.
        assert_eq!(
            params.verify,
            Some(cf_invalidate::params::VerifyParams::default())
        );
        listed.push(params.paths);
    }
    listed.sort();
    assert_eq!(
        listed,
        [
            Vec::<String>::new(),
            vec!["/sitemap.xml".to_owned(), "/feed.xml".to_owned()]
        ]
    );
}

#[test]
fn the_history_is_read_only_on_the_named_pipelines() {
    let template = load(FUNCTION_TEMPLATE);
    let history = |stack: &Value| -> Vec<Value> {
        function_statements(stack)
            .into_iter()
            .filter(|s| {
                s.actions
                    .iter()
                    .any(|a| a == "codepipeline:ListActionExecutions")
            })
            .flat_map(|s| s.resources)
            .collect()
    };
    let named = Deployment::new(
        &template,
        &[
            ("DistributionIds", DIST_A),
            ("PipelineNames", "site,blog.v2"),
        ],
        STACK_UUID,
    )
    .resolved();
    assert_eq!(
        history(&named),
        [
            json!("arn:aws:codepipeline:*:${aws:PrincipalAccount}:site"),
            json!("arn:aws:codepipeline:*:${aws:PrincipalAccount}:blog.v2")
        ]
    );
    let unnamed = function_stack(DIST_A, "");
    assert_eq!(
        history(&unnamed),
        [json!(format!("arn:aws:codepipeline:{REGION}:{ACCOUNT}:*"))]
    );
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
    for name in CLI_VARIABLES {
        assert!(names.contains(name), "the buildspec needs {name}");
    }
    let buildspec = read("buildspec.yml");
    for name in CLI_VARIABLES {
        assert!(
            buildspec.contains(&format!("${name}")),
            "buildspec.yml does not use {name}: keep them in step"
        );
    }
    let variants: BTreeSet<&str> = template["Parameters"]["InvalidateWith"]["AllowedValues"]
        .as_array()
        .expect("InvalidateWith chooses the variant")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        variants,
        BTreeSet::from(["Lambda", "CodeBuild", "Commands"])
    );
}

/// What the CLI variants (CodeBuild and Commands) are given: the site, and the release to
/// install.
const CLI_VARIABLES: [&str; 4] = [
    "DISTRIBUTION_ID",
    "SITE_BUCKET",
    "SITE_DIR",
    "CF_INVALIDATE_VERSION",
];

fn commands_action(template: &Value) -> (String, Value) {
    let mut found: Vec<(String, Value)> = pipeline_actions(template)
        .into_iter()
        .filter(|(_, a)| provider(a) == "Commands")
        .collect();
    assert_eq!(found.len(), 1, "one Commands action");
    found.remove(0)
}

#[test]
fn the_commands_variant_installs_the_pinned_release_then_syncs_and_invalidates() {
    let template = load(PIPELINE_TEMPLATE);
    let (stage, action) = commands_action(&template);
    assert_eq!(stage, "Deploy");
    assert_eq!(action["ActionTypeId"]["Category"], "Compute");
    assert_eq!(action["ActionTypeId"]["Owner"], "AWS");
    let commands: Vec<&str> = action["Commands"]
        .as_array()
        .expect("Commands is a list")
        .iter()
        .map(|c| c.as_str().expect("each command is a literal string"))
        .collect();
    // CodePipeline's limits: 1 to 50 commands, each one line of at most 1,000 characters.
    assert!((1..=50).contains(&commands.len()));
    for command in &commands {
        assert!(
            command.len() <= 1000 && !command.contains('\n'),
            "{command:?}"
        );
    }
    let position = |start: &str| {
        commands
            .iter()
            .position(|c| c.starts_with(start))
            .unwrap_or_else(|| panic!("no command starts with {start:?}: {commands:#?}"))
    };
    // The release's own install.sh, for the version the stack pins (it checks the checksum).
    let fetch = position("curl -fsSL");
    assert!(commands[fetch].contains(
        "https://raw.githubusercontent.com/cf-invalidate/cf-invalidate/v$CF_INVALIDATE_VERSION/install.sh"
    ));
    let install = position("sh /tmp/cf-invalidate-install.sh");
    assert!(commands[install].contains("--version \"$CF_INVALIDATE_VERSION\""));
    let sync = position("aws s3 sync \"$SITE_DIR\" \"s3://$SITE_BUCKET/\" --delete");
    let invalidate = position("cf-invalidate invalidate");
    assert!(fetch < install && install < sync && sync < invalidate);
    let line = commands[invalidate];
    for flag in [
        "--distribution-id \"$DISTRIBUTION_ID\"",
        "--paths-from-s3-sync /tmp/s3-sync.txt",
        "--caller-reference \"#{codepipeline.PipelineExecutionId}\"",
        "--outputs-file /tmp/cf-invalidate.env",
    ] {
        assert!(line.contains(flag), "{line} lacks {flag}");
    }
    // The step's timeout is within the Commands action's 55 minutes.
    assert!(line.contains("--timeout 45m"), "{line}");
    // The variables it is given are the ones the commands use.
    let given: BTreeSet<&str> = action["EnvironmentVariables"]
        .as_array()
        .expect("EnvironmentVariables")
        .iter()
        .filter_map(|v| v["Name"].as_str())
        .collect();
    assert_eq!(given, BTreeSet::from(CLI_VARIABLES));
    let text = commands.join("\n");
    for name in CLI_VARIABLES {
        assert!(
            text.contains(&format!("${name}")),
            "the commands never use {name}"
        );
    }
    // Its output variables are the Lambda action's names, so the Report stage reads either.
    let exported: Vec<&str> = action["OutputVariables"]
        .as_array()
        .expect("OutputVariables")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(exported, ["InvalidationId", "Status"]);
    for name in &exported {
        assert!(OUTPUT_VARIABLES.contains(name));
        assert!(
            commands
                .last()
                .expect("commands")
                .contains(&format!("{name}=")),
            "the last command exports {name}"
        );
    }
    assert_eq!(action["Namespace"], lambda_action(&template)["Namespace"]);
}

#[test]
fn the_commands_variant_runs_under_its_own_least_privilege_role() {
    let template = load(PIPELINE_TEMPLATE);
    let (_, action) = commands_action(&template);
    let role = get_att_target(&action["RoleArn"]);
    let statements = role_statements(&template, role);
    // The CodeBuild variant's rights, its log group being the pipeline's (checked below).
    assert_no_violations(&statements, CODEBUILD_ACTIONS, "the Commands action's role");
    assert_eq!(
        cloudfront_resources(&statements),
        BTreeSet::from([distribution_arn("${DistributionId}")])
    );
    // Only the pipeline's own log group, which CodePipeline names after the pipeline.
    let logs: BTreeSet<String> = statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("logs:")))
        .flat_map(|s| s.resources.iter().map(Value::to_string))
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(
        logs.iter()
            .all(|arn| arn.contains(":log-group:/aws/codepipeline/${AWS::StackName}")),
        "{logs:?}"
    );
    // Only the pipeline role may assume it, and the pipeline role may assume only it.
    let trust = &resource(&template, role)["Properties"]["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(
        trust[0]["Principal"],
        json!({"AWS": {"Fn::GetAtt": ["PipelineRole", "Arn"]}})
    );
    let grant = resource(&template, "PipelineAssumesCommandsRole");
    assert_eq!(
        grant["Properties"]["RoleName"],
        json!({"Ref": "PipelineRole"})
    );
    assert_eq!(
        grant["Properties"]["PolicyDocument"]["Statement"],
        json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": {"Fn::GetAtt": [role, "Arn"]}}])
    );
    // The pipeline role itself gets no CloudFront right for it.
    let pipeline = role_statements(&template, "PipelineRole");
    assert!(
        pipeline
            .iter()
            .all(|s| s.actions.iter().all(|a| !a.starts_with("cloudfront:"))),
        "the pipeline role must not invalidate"
    );
}

// ---------------------------------------------------------------------------------------------
// cfn-lint

#[test]
fn cfn_lint_finds_nothing_in_any_template() {
    let files = templates();
    for expected in ["events.yaml", "pipeline-example.yaml", "template.yaml"] {
        assert!(
            files.iter().any(|f| f.ends_with(expected)),
            "infra/ should hold {expected}: {files:?}"
        );
    }
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
