//! The S3 events template, `infra/events.yaml`: the function's least-privilege role, who may
//! send to its queue, the queue's redrive and visibility, the event source mapping, and the
//! `CF_INVALIDATE_PARAMETERS` JSON the function reads. cfn-lint runs on it with every template
//! (`tests/infra.rs`).

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use cf_invalidate::params::events::{EventsParams, VARIABLE, parse_events_parameters};
use support::policy::*;
use support::template::*;

const EVENTS_TEMPLATE: &str = "infra/events.yaml";
const SITE_BUCKET: &str = "my-site";

/// Everything the events function's role may do; nothing on `*`. The SQS actions are what
/// Lambda's event source mapping does with the role.
const EVENTS_ACTIONS: &[(&str, bool)] = &[
    ("cloudfront:CreateInvalidation", false),
    ("cloudfront:GetInvalidation", false),
    ("cloudfront:ListInvalidations", false),
    ("cloudfront:CreateInvalidationForDistributionTenant", false),
    ("cloudfront:GetInvalidationForDistributionTenant", false),
    ("cloudfront:ListInvalidationsForDistributionTenant", false),
    ("sqs:ReceiveMessage", false),
    ("sqs:DeleteMessage", false),
    ("sqs:GetQueueAttributes", false),
    ("sqs:ChangeMessageVisibility", false),
    ("logs:CreateLogStream", false),
    ("logs:PutLogEvents", false),
];

/// What Lambda hands the function at most in one invocation, in bytes.
const LAMBDA_PAYLOAD_LIMIT: u64 = 6 * 1024 * 1024;
/// One SQS record carrying an EventBridge S3 event with a 1,024-byte key, generously rounded.
const LARGEST_RECORD_BYTES: u64 = 3 * 1024;

/// The events template deployed with these ids and `others` (SiteBucket is `my-site` unless
/// `others` says otherwise).
fn events_stack_with(distributions: &str, tenants: &str, others: &[(&str, &str)]) -> Value {
    let template = load(EVENTS_TEMPLATE);
    let mut parameters = vec![
        ("DistributionIds", distributions),
        ("DistributionTenantIds", tenants),
        ("SiteBucket", SITE_BUCKET),
    ];
    for (name, value) in others {
        parameters.retain(|(n, _)| n != name);
        parameters.push((name, value));
    }
    Deployment::new(&template, &parameters, STACK_UUID).resolved()
}

fn events_stack(distributions: &str, tenants: &str) -> Value {
    events_stack_with(distributions, tenants, &[])
}

fn get_att(id: &str, attribute: &str) -> Value {
    json!({"Fn::GetAtt": [id, attribute]})
}

fn properties<'a>(stack: &'a Value, id: &str) -> &'a Value {
    &resource(stack, id)["Properties"]
}

// ---------------------------------------------------------------------------------------------
// The function's role

#[test]
fn the_events_template_needs_no_language_extensions() {
    assert_needs_no_language_extensions(&load(EVENTS_TEMPLATE));
}

#[test]
fn events_role_grants_only_the_listed_actions_on_the_listed_resources() {
    let stack = events_stack(
        &format!("{DIST_A},{DIST_B}"),
        &format!("{TENANT_A},{TENANT_B}"),
    );
    assert_grants_exactly(
        &function_statements(&stack),
        EVENTS_ACTIONS,
        "the events function's role",
    );
}

#[test]
fn every_id_becomes_exactly_one_arn_in_the_events_role() {
    assert_every_id_is_one_arn(events_stack, EVENTS_ACTIONS);
}

#[test]
fn an_events_stack_needs_distributions_or_tenants() {
    assert_needs_distributions_or_tenants(&load(EVENTS_TEMPLATE), &[("SiteBucket", SITE_BUCKET)]);
}

#[test]
fn the_events_function_logs_only_to_its_own_log_group() {
    assert_logs_only_to_own_group(&function_statements(&events_stack(DIST_A, "")));
}

#[test]
fn the_events_function_reads_only_its_own_queue() {
    let statements = function_statements(&events_stack(DIST_A, ""));
    for (action, _) in EVENTS_ACTIONS.iter().filter(|(a, _)| a.starts_with("sqs:")) {
        let on: Vec<&Value> = statements
            .iter()
            .filter(|s| s.actions.iter().any(|a| a == action))
            .flat_map(|s| &s.resources)
            .collect();
        assert_eq!(
            on,
            [&get_att("Queue", "Arn")],
            "{action}: the queue the event source mapping reads, and not the dead-letter queue"
        );
    }
}

#[test]
fn the_checker_catches_queue_actions_on_star_in_the_events_role() {
    let text = mutated_text(
        EVENTS_TEMPLATE,
        "                  - sqs:ChangeMessageVisibility\n                Resource: !GetAtt Queue.Arn",
        "                  - sqs:ChangeMessageVisibility\n                Resource: \"*\"",
    );
    let template = parse_template(&text);
    let stack = Deployment::new(
        &template,
        &[("DistributionIds", DIST_A), ("SiteBucket", SITE_BUCKET)],
        STACK_UUID,
    )
    .resolved();
    assert_caught(
        &policy_violations(&function_statements(&stack), EVENTS_ACTIONS),
        "sqs:ReceiveMessage on Resource \"*\"",
    );
}

// ---------------------------------------------------------------------------------------------
// Who may send to the queues

/// What is wrong with the queue policy of `stack`: a statement that allows anything but
/// `sqs:SendMessage` from `principal`, on anything but the two queues, or without a
/// condition that names exactly `source_arn` (and, for S3, this account).
fn queue_policy_violations(stack: &Value, principal: &str, source_arn: &Value) -> Vec<String> {
    let policy = properties(stack, "QueuePolicy");
    let queues: BTreeSet<String> = one_or_many(policy.get("Queues"))
        .iter()
        .map(Value::to_string)
        .collect();
    let expected_queues: BTreeSet<String> =
        [json!({"Ref": "Queue"}), json!({"Ref": "DeadLetterQueue"})]
            .iter()
            .map(Value::to_string)
            .collect();
    let mut violations = Vec::new();
    if queues != expected_queues {
        violations.push(format!("the policy is attached to {queues:?}"));
    }
    let statements = one_or_many(policy["PolicyDocument"].get("Statement"));
    if statements.is_empty() {
        violations.push("no statement lets the events in".to_owned());
    }
    for (index, statement) in statements.iter().enumerate() {
        let at = format!("statement {index}");
        if statement["Effect"] != "Allow" {
            continue;
        }
        if statement.get("NotPrincipal").is_some() || statement.get("NotAction").is_some() {
            violations.push(format!("{at}: NotPrincipal/NotAction"));
        }
        if statement["Principal"] != json!({"Service": principal}) {
            violations.push(format!("{at}: Principal {}", statement["Principal"]));
        }
        if one_or_many(statement.get("Action")) != [json!("sqs:SendMessage")] {
            violations.push(format!("{at}: Action {}", statement["Action"]));
        }
        let resource = &statement["Resource"];
        if *resource != get_att("Queue", "Arn") && *resource != get_att("DeadLetterQueue", "Arn") {
            violations.push(format!("{at}: Resource {resource}"));
        }
        let condition = &statement["Condition"];
        if condition["ArnEquals"]["aws:SourceArn"] != *source_arn {
            violations.push(format!(
                "{at}: no ArnEquals aws:SourceArn {source_arn}: {condition}"
            ));
        }
        if principal == "s3.amazonaws.com"
            && condition["StringEquals"]["aws:SourceAccount"] != ACCOUNT
        {
            violations.push(format!(
                "{at}: no StringEquals aws:SourceAccount {ACCOUNT}: a bucket ARN names no account"
            ));
        }
    }
    violations
}

#[test]
fn only_the_rule_may_send_to_the_queues_by_default() {
    let stack = events_stack(DIST_A, "");
    assert_eq!(
        queue_policy_violations(&stack, "events.amazonaws.com", &get_att("EventRule", "Arn")),
        Vec::<String>::new()
    );
    let policy = &properties(&stack, "QueuePolicy")["PolicyDocument"]["Statement"];
    let resources: BTreeSet<String> = one_or_many(Some(policy))
        .iter()
        .map(|s| s["Resource"].to_string())
        .collect();
    assert_eq!(
        resources,
        BTreeSet::from([
            get_att("Queue", "Arn").to_string(),
            get_att("DeadLetterQueue", "Arn").to_string()
        ]),
        "the rule sends to the queue, and to the dead-letter queue what it could not deliver"
    );
}

#[test]
fn with_s3_notifications_only_the_site_bucket_of_this_account_may_send() {
    let stack = events_stack_with(DIST_A, "", &[("EventSource", "S3")]);
    assert_eq!(
        queue_policy_violations(
            &stack,
            "s3.amazonaws.com",
            &json!(format!("arn:aws:s3:::{SITE_BUCKET}"))
        ),
        Vec::<String>::new()
    );
    assert!(
        resources(&stack).get("EventRule").is_none(),
        "no rule when S3 sends straight to the queue"
    );
    let statements =
        one_or_many(properties(&stack, "QueuePolicy")["PolicyDocument"].get("Statement"));
    assert_eq!(statements.len(), 1, "one sender: the bucket");
}

#[test]
fn the_checker_catches_a_queue_policy_without_its_condition_or_for_anyone() {
    let deploy = |text: String| {
        Deployment::new(
            &parse_template(&text),
            &[("DistributionIds", DIST_A), ("SiteBucket", SITE_BUCKET)],
            STACK_UUID,
        )
        .resolved()
    };
    let rule = get_att("EventRule", "Arn");
    let without_condition = deploy(mutated_text(
        EVENTS_TEMPLATE,
        "              Resource: !GetAtt Queue.Arn\n              Condition:\n                ArnEquals: { \"aws:SourceArn\": !GetAtt EventRule.Arn }\n",
        "              Resource: !GetAtt Queue.Arn\n",
    ));
    assert_caught(
        &queue_policy_violations(&without_condition, "events.amazonaws.com", &rule),
        "statement 0: no ArnEquals aws:SourceArn",
    );
    let anyone = deploy(mutated_text(
        EVENTS_TEMPLATE,
        "            - Sid: OnlyTheRule\n              Effect: Allow\n              Principal: { Service: events.amazonaws.com }",
        "            - Sid: OnlyTheRule\n              Effect: Allow\n              Principal: \"*\"",
    ));
    assert_caught(
        &queue_policy_violations(&anyone, "events.amazonaws.com", &rule),
        "statement 0: Principal \"*\"",
    );
}

// ---------------------------------------------------------------------------------------------
// The rule, the queues and the event source mapping

#[test]
fn the_rule_sends_the_site_buckets_created_and_deleted_objects_to_the_queue() {
    for (prefix, key_filter) in [
        ("", None),
        ("site/", Some(json!({"key": [{"prefix": "site/"}]}))),
    ] {
        let stack = events_stack_with(DIST_A, "", &[("KeyPrefix", prefix)]);
        let rule = properties(&stack, "EventRule");
        let pattern = &rule["EventPattern"];
        assert_eq!(pattern["source"], json!(["aws.s3"]));
        assert_eq!(
            pattern["detail-type"],
            json!(["Object Created", "Object Deleted"])
        );
        assert_eq!(pattern["detail"]["bucket"], json!({"name": [SITE_BUCKET]}));
        assert_eq!(
            pattern["detail"].get("object"),
            key_filter.as_ref(),
            "KeyPrefix={prefix:?}"
        );
        let targets = rule["Targets"].as_array().expect("Targets is a list");
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0]["Arn"], get_att("Queue", "Arn"));
        assert_eq!(
            targets[0]["DeadLetterConfig"]["Arn"],
            get_att("DeadLetterQueue", "Arn")
        );
    }
}

/// The function's Timeout, in seconds.
fn function_timeout(stack: &Value) -> u64 {
    properties(stack, "Function")["Timeout"]
        .as_u64()
        .expect("the function's Timeout is a number")
}

#[test]
fn the_queue_hides_a_batch_for_six_function_timeouts_and_dead_letters_after_retries() {
    let stack = events_stack(DIST_A, "");
    let queue = properties(&stack, "Queue");
    let visibility = queue["VisibilityTimeout"]
        .as_u64()
        .expect("VisibilityTimeout is a number");
    let timeout = function_timeout(&stack);
    assert!(
        visibility >= 6 * timeout,
        "VisibilityTimeout {visibility} s is less than 6 x the function's Timeout {timeout} s, \
         as AWS advises for a Lambda event source"
    );

    let redrive = &queue["RedrivePolicy"];
    assert_eq!(
        redrive["deadLetterTargetArn"],
        get_att("DeadLetterQueue", "Arn")
    );
    let receives = redrive["maxReceiveCount"]
        .as_u64()
        .expect("maxReceiveCount is a number");
    assert!(
        receives >= 5,
        "maxReceiveCount {receives}: AWS advises at least 5 for a Lambda event source"
    );

    let dead = properties(&stack, "DeadLetterQueue");
    let retention = |q: &Value| q["MessageRetentionPeriod"].as_u64().unwrap_or(345_600);
    assert!(
        retention(dead) > retention(queue),
        "a moved message keeps its first enqueue time: the dead-letter queue must keep it longer"
    );
    for (id, q) in [("Queue", queue), ("DeadLetterQueue", dead)] {
        assert_eq!(q["SqsManagedSseEnabled"], true, "{id}: SSE-SQS");
        assert!(q.get("KmsMasterKeyId").is_none(), "{id}: no KMS key");
    }
}

#[test]
fn the_checker_catches_a_visibility_timeout_below_six_function_timeouts() {
    let template = parse_template(&mutated_text(
        EVENTS_TEMPLATE,
        "VisibilityTimeout: 360",
        "VisibilityTimeout: 300",
    ));
    let stack = Deployment::new(
        &template,
        &[("DistributionIds", DIST_A), ("SiteBucket", SITE_BUCKET)],
        STACK_UUID,
    )
    .resolved();
    let visibility = properties(&stack, "Queue")["VisibilityTimeout"]
        .as_u64()
        .unwrap_or_default();
    assert!(visibility < 6 * function_timeout(&stack));
}

#[test]
fn the_event_source_mapping_reports_item_failures_in_bounded_batches() {
    let template = load(EVENTS_TEMPLATE);
    let stack = events_stack(DIST_A, "");
    let mapping = resource(&stack, "EventSourceMapping");
    assert_eq!(mapping["Type"], "AWS::Lambda::EventSourceMapping");
    let p = &mapping["Properties"];
    assert_eq!(p["EventSourceArn"], get_att("Queue", "Arn"));
    assert_eq!(p["FunctionName"], json!({"Ref": "Function"}));
    assert_eq!(
        p["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"]),
        "the function answers batchItemFailures; without this Lambda ignores it and retries \
         the whole batch"
    );
    let concurrency = p["ScalingConfig"]["MaximumConcurrency"]
        .as_u64()
        .expect("MaximumConcurrency is set");
    assert_eq!(
        concurrency, 2,
        "the least Lambda allows: CloudFront limits the invalidations in progress"
    );

    let parameters = &template["Parameters"];
    let batch = &parameters["BatchSize"];
    let window = &parameters["BatchingWindowSeconds"];
    assert_eq!(p["BatchSize"], batch["Default"]);
    assert_eq!(p["MaximumBatchingWindowInSeconds"], window["Default"]);
    // Lambda refuses a batch above 10 without a window of at least 1 s; the parameters'
    // bounds keep every allowed pair valid.
    assert!(batch["MaxValue"].as_u64().unwrap_or(0) <= 10_000);
    assert!(window["MinValue"].as_u64().unwrap_or(0) >= 1);
    assert!(window["MaxValue"].as_u64().unwrap_or(301) <= 300);
    let default_batch = batch["Default"].as_u64().expect("a default batch size");
    assert!(
        default_batch * LARGEST_RECORD_BYTES <= LAMBDA_PAYLOAD_LIMIT,
        "{default_batch} records could pass Lambda's 6 MB payload limit"
    );
}

#[test]
fn the_dead_letter_alarm_fires_on_the_first_message() {
    let stack = events_stack(DIST_A, "");
    let alarm = properties(&stack, "DeadLetterAlarm");
    assert_eq!(alarm["Namespace"], "AWS/SQS");
    assert_eq!(alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert_eq!(
        alarm["Dimensions"],
        json!([{"Name": "QueueName", "Value": get_att("DeadLetterQueue", "QueueName")}])
    );
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(alarm["Threshold"], 0);
    assert!(alarm.get("AlarmActions").is_none(), "no topic given");

    let topic = "arn:aws:sns:eu-west-1:111122223333:site-alarms";
    let stack = events_stack_with(DIST_A, "", &[("AlarmTopicArn", topic)]);
    assert_eq!(
        properties(&stack, "DeadLetterAlarm")["AlarmActions"],
        json!([topic])
    );
}

// ---------------------------------------------------------------------------------------------
// The function

#[test]
fn the_events_function_is_a_small_provided_al2023_bootstrap_logging_json() {
    let template = load(EVENTS_TEMPLATE);
    let function = resource(&template, "Function");
    assert_eq!(function["Type"], "AWS::Serverless::Function");
    let p = &function["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    assert_eq!(p["MemorySize"], 128);
    assert_eq!(p["Architectures"], json!([{"Ref": "Architecture"}]));
    assert_eq!(p["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(
        p["LoggingConfig"]["ApplicationLogLevel"],
        json!({"Ref": "LogLevel"})
    );
    assert_eq!(p["LoggingConfig"]["LogGroup"], json!({"Ref": "LogGroup"}));

    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"],
        "cf-invalidate-events"
    );
    assert!(
        read("Cargo.toml").contains("name = \"cf-invalidate-events\""),
        "Cargo.toml has no [[bin]] named cf-invalidate-events"
    );
    // The release's zip and packaged template: tests/release.rs.
}

#[test]
fn the_events_stack_can_be_deleted_and_created_again() {
    let template = load(EVENTS_TEMPLATE);
    assert_eq!(
        names_that_block_a_second_create(
            &template,
            &[("DistributionIds", DIST_A), ("SiteBucket", SITE_BUCKET)]
        ),
        Vec::<String>::new()
    );
    assert_eq!(resource(&template, "LogGroup")["DeletionPolicy"], "Retain");
    let stack = events_stack(DIST_A, "");
    assert_eq!(
        properties(&stack, "LogGroup")["LogGroupName"],
        format!("/aws/lambda/cf-invalidate-events/{STACK_UUID}")
    );
}

#[test]
fn the_outputs_give_the_queues_and_the_function() {
    let template = load(EVENTS_TEMPLATE);
    let outputs = &template["Outputs"];
    assert_eq!(outputs["QueueArn"]["Value"], get_att("Queue", "Arn"));
    assert_eq!(outputs["QueueUrl"]["Value"], json!({"Ref": "Queue"}));
    assert_eq!(
        outputs["DeadLetterQueueUrl"]["Value"],
        json!({"Ref": "DeadLetterQueue"})
    );
    assert_eq!(outputs["FunctionArn"]["Value"], get_att("Function", "Arn"));
}

// ---------------------------------------------------------------------------------------------
// CF_INVALIDATE_PARAMETERS

/// The function's parameters in a stack with these ids and other parameters: the JSON, and
/// what the function's own parser reads from it (it refuses what it cannot use).
fn function_parameters(
    distributions: &str,
    tenants: &str,
    others: &[(&str, &str)],
) -> (Value, EventsParams) {
    let stack = events_stack_with(distributions, tenants, others);
    let raw = properties(&stack, "Function")["Environment"]["Variables"][VARIABLE]
        .as_str()
        .unwrap_or_else(|| panic!("{VARIABLE} resolves to a string"))
        .to_owned();
    let json: Value = serde_json::from_str(&raw)
        .unwrap_or_else(|e| panic!("{VARIABLE} is not JSON ({e}): {raw}"));
    let params = parse_events_parameters(Some(&raw))
        .unwrap_or_else(|e| panic!("the function would refuse {VARIABLE}={raw}: {e}"));
    (json, params)
}

fn target_ids(params: &EventsParams) -> Vec<&str> {
    params.targets.iter().map(|t| t.as_str()).collect()
}

#[test]
fn cf_invalidate_parameters_is_the_json_the_function_reads_for_one_and_several_ids() {
    let cases: &[(&str, &str, Value)] = &[
        (
            DIST_A,
            "",
            json!({"distributionIds": [DIST_A], "directoryIndex": "index.html",
                   "maxPaths": 100, "bucket": SITE_BUCKET}),
        ),
        (
            &format!("{DIST_A},{DIST_B}"),
            "",
            json!({"distributionIds": [DIST_A, DIST_B], "directoryIndex": "index.html",
                   "maxPaths": 100, "bucket": SITE_BUCKET}),
        ),
        (
            "",
            TENANT_A,
            json!({"distributionTenantIds": [TENANT_A], "directoryIndex": "index.html",
                   "maxPaths": 100, "bucket": SITE_BUCKET}),
        ),
        (
            DIST_A,
            &format!("{TENANT_A},{TENANT_B}"),
            json!({"distributionIds": [DIST_A], "distributionTenantIds": [TENANT_A, TENANT_B],
                   "directoryIndex": "index.html", "maxPaths": 100, "bucket": SITE_BUCKET}),
        ),
    ];
    for (distributions, tenants, expected) in cases {
        let (json, params) = function_parameters(distributions, tenants, &[]);
        assert_eq!(&json, expected);
        let given: Vec<&str> = [distributions, tenants]
            .iter()
            .flat_map(|list| list.split(','))
            .filter(|id| !id.is_empty())
            .collect();
        assert_eq!(target_ids(&params), given);
        assert_eq!(params.bucket.as_deref(), Some(SITE_BUCKET));
        assert_eq!(params.max_paths, 100);
        assert_eq!(params.directory_index.as_deref(), Some("index.html"));
        assert_eq!(params.key_prefix, "");
        assert_eq!(params.path_prefix, "/");
    }
}

#[test]
fn cf_invalidate_parameters_carries_the_prefixes_and_leaves_out_what_is_empty() {
    let (json, params) = function_parameters(
        DIST_A,
        "",
        &[
            ("KeyPrefix", "public/site é/"),
            ("PathPrefix", "/docs/"),
            ("DirectoryIndex", ""),
            ("MaxPaths", "3000"),
        ],
    );
    assert_eq!(
        json,
        json!({"distributionIds": [DIST_A], "keyPrefix": "public/site é/",
               "pathPrefix": "/docs/", "maxPaths": 3000, "bucket": SITE_BUCKET})
    );
    assert_eq!(params.key_prefix, "public/site é/");
    assert_eq!(params.path_prefix, "/docs/");
    assert_eq!(params.max_paths, 3000);
    assert_eq!(params.directory_index, None);

    let (_, with_index) = function_parameters(
        DIST_A,
        "",
        &[("DirectoryIndex", "default.htm"), ("PathPrefix", "/")],
    );
    assert_eq!(with_index.directory_index.as_deref(), Some("default.htm"));
    assert_eq!(with_index.path_prefix, "/");
}

#[test]
fn no_value_that_would_break_the_json_is_accepted() {
    let template = load(EVENTS_TEMPLATE);
    let declared = &template["Parameters"];
    for (name, value) in [
        ("KeyPrefix", "site\"/"),
        ("KeyPrefix", "site\\"),
        ("KeyPrefix", "a\nb"),
        ("PathPrefix", "docs/"),
        ("PathPrefix", "/docs"),
        ("PathPrefix", "/a\"b/"),
        ("PathPrefix", "/blog/*/"),
        ("DirectoryIndex", "index\".html"),
        ("DirectoryIndex", "a/index.html"),
        ("SiteBucket", "my\"site"),
        ("MaxPaths", "0"),
        ("MaxPaths", "3001"),
        ("MaxPaths", "2.5"),
        ("MaxPaths", "1e3"),
        ("DistributionIds", "E2QW\"RUHAPOMQZL"),
        ("DistributionTenantIds", "dt_a\"b"),
        ("BatchingWindowSeconds", "0"),
    ] {
        assert!(
            parameter_problem(&declared[name], value).is_some(),
            "{name} accepts {value:?}"
        );
    }
    for (name, value) in [
        ("KeyPrefix", "site/"),
        ("PathPrefix", "/"),
        ("PathPrefix", "/blog/"),
        ("MaxPaths", "1"),
        ("MaxPaths", "999"),
        ("MaxPaths", "2999"),
        ("SiteBucket", "www.example.com"),
    ] {
        assert_eq!(
            parameter_problem(&declared[name], value),
            None,
            "{name}={value:?}"
        );
    }
}
