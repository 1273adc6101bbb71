//! CodePipeline's variables in an action configuration: `#{Namespace.Name}` references,
//! resolved once per action execution before the action runs.
//!
//! The user guide ("Variables reference", *Variable resolution*): before it runs an action,
//! CodePipeline resolves every variable reference in the action's configuration. A reference
//! is `#{namespace.variable_key}`: the reserved `codepipeline` namespace
//! (`PipelineExecutionId`), the pipeline-level `variables` namespace, or an action's namespace.
//! The service model's patterns: a namespace is `[A-Za-z0-9@\-_]+` (1 to 100 characters), a
//! variable key `[A-Za-z0-9@\-_]+`; both are case-sensitive.

/// The reserved namespace of the variables CodePipeline sets itself.
pub const CODEPIPELINE_NAMESPACE: &str = "codepipeline";
/// The one variable of [`CODEPIPELINE_NAMESPACE`]: the id of the pipeline execution.
pub const PIPELINE_EXECUTION_ID: &str = "PipelineExecutionId";
/// The longest namespace (`ActionNamespace` in the service model).
const MAX_NAMESPACE_LEN: usize = 100;
/// CodePipeline's limit on the whole action configuration once resolved (user guide,
/// "Quotas", *Variable quotas*: "a maximum size limit of 100 KB for the total resolved
/// action configuration"), in bytes.
pub const MAX_RESOLVED_CONFIGURATION_BYTES: usize = 100 * 1024;

/// A name given for a variable that CodePipeline could not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableNameError {
    /// Not `NAMESPACE.NAME` with the characters CodePipeline allows.
    #[error(
        "invalid variable '{0}': expected NAMESPACE.NAME, e.g. Deploy.CommitId or variables.Stage, each part made of letters, digits, @, - and _ (a namespace at most 100 characters)"
    )]
    Malformed(String),
    /// A variable of the reserved `codepipeline` namespace.
    #[error(
        "invalid variable '{0}': the codepipeline namespace is reserved to CodePipeline; give the execution id with --pipeline-execution-id (PipelineConfig::pipeline_execution_id)"
    )]
    Reserved(String),
}

/// Checks a variable's full name (`Deploy.CommitId`) as `--variable` and
/// [`super::PipelineConfig::variables`] take it.
pub fn check_variable_name(name: &str) -> Result<(), VariableNameError> {
    let Some((namespace, key)) = name.split_once('.') else {
        return Err(VariableNameError::Malformed(name.to_string()));
    };
    if !is_token(namespace) || !is_token(key) || namespace.len() > MAX_NAMESPACE_LEN {
        return Err(VariableNameError::Malformed(name.to_string()));
    }
    if namespace == CODEPIPELINE_NAMESPACE {
        return Err(VariableNameError::Reserved(name.to_string()));
    }
    Ok(())
}

/// `NAMESPACE.NAME=VALUE`, as `--variable` takes it: the name checked, the value as is (it
/// may hold `=`).
pub fn parse_variable_assignment(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!(
            "invalid variable '{text}': expected NAMESPACE.NAME=VALUE, e.g. Deploy.CommitId=abc123"
        ));
    };
    check_variable_name(name).map_err(|e| e.to_string())?;
    Ok((name.to_string(), value.to_string()))
}

/// Whether `text` is a pipeline execution id as CodePipeline writes them (the
/// `PipelineExecutionId` pattern of the service model: 8-4-4-4-12 lowercase hex digits).
pub fn is_pipeline_execution_id(text: &str) -> bool {
    crate::codepipeline::is_job_id(text)
}

fn is_token(text: &str) -> bool {
    crate::codepipeline::is_name(text, b"")
}

/// The values one action execution resolves references with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VariableValues<'a> {
    pub pipeline_execution_id: &'a str,
    pub variables: &'a [(String, String)],
}

impl VariableValues<'_> {
    fn value(&self, namespace: &str, key: &str) -> Option<&str> {
        if namespace == CODEPIPELINE_NAMESPACE {
            return (key == PIPELINE_EXECUTION_ID).then_some(self.pipeline_execution_id);
        }
        // The last value given for a name wins, as on a command line.
        let name = format!("{namespace}.{key}");
        let mut given = self.variables.iter().rev();
        given.find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// What resolving a configuration value gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolution {
    /// The value with every reference replaced (meaningful only when `unresolved` is empty).
    pub text: String,
    /// The references replaced, as `Namespace.Name`, in order of first appearance.
    pub resolved: Vec<String>,
    /// The references that name no variable, as `Namespace.Name`, in order of first
    /// appearance.
    pub unresolved: Vec<String>,
}

/// Replaces each `#{Namespace.Name}` of `text` with its value, in one pass (a value is not
/// itself searched for references). Text that does not form a reference (`#{`, `#{a b}`, `#{x}`)
/// is left as it is.
pub(crate) fn resolve(text: &str, values: &VariableValues<'_>) -> Resolution {
    let mut out = String::with_capacity(text.len());
    let mut resolved: Vec<String> = Vec::new();
    let mut unresolved: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("#{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let reference = after.find('}').and_then(|end| {
            let inner = &after[..end];
            let (namespace, key) = inner.split_once('.')?;
            (is_token(namespace) && is_token(key)).then_some((inner, namespace, key, end))
        });
        match reference {
            Some((inner, namespace, key, end)) => {
                let (names, replacement) = match values.value(namespace, key) {
                    Some(value) => (&mut resolved, value),
                    None => (&mut unresolved, &rest[start..start + 3 + end]),
                };
                out.push_str(replacement);
                if !names.iter().any(|n| n == inner) {
                    names.push(inner.to_string());
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("#{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Resolution {
        text: out,
        resolved,
        unresolved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXECUTION: &str = "0f7c8a42-1d2e-4b5f-9a6c-3e4d5f6a7b8c";

    fn resolve_with(text: &str, variables: &[(&str, &str)]) -> Resolution {
        let variables: Vec<(String, String)> = variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve(
            text,
            &VariableValues {
                pipeline_execution_id: EXECUTION,
                variables: &variables,
            },
        )
    }

    #[test]
    fn every_reference_is_replaced_once_per_occurrence() {
        let r = resolve_with(
            r##"{"callerReference": "#{codepipeline.PipelineExecutionId}-#{Deploy.CommitId}", "x": "#{Deploy.CommitId}"}"##,
            &[("Deploy.CommitId", "abc123")],
        );
        assert_eq!(
            r.text,
            format!(r#"{{"callerReference": "{EXECUTION}-abc123", "x": "abc123"}}"#)
        );
        assert_eq!(
            r.resolved,
            ["codepipeline.PipelineExecutionId", "Deploy.CommitId"]
        );
        assert!(r.unresolved.is_empty());
    }

    #[test]
    fn unknown_references_are_named_in_order_and_left_in_place() {
        let r = resolve_with(
            "#{Deploy.CommitID} #{codepipeline.PipelineExecutionID} #{variables.Stage} #{Deploy.CommitID}",
            &[("Deploy.CommitId", "abc123")],
        );
        // Namespaces and names are case-sensitive.
        assert_eq!(
            r.unresolved,
            [
                "Deploy.CommitID",
                "codepipeline.PipelineExecutionID",
                "variables.Stage"
            ]
        );
        assert!(r.resolved.is_empty());
        assert_eq!(
            r.text,
            "#{Deploy.CommitID} #{codepipeline.PipelineExecutionID} #{variables.Stage} #{Deploy.CommitID}"
        );
    }

    #[test]
    fn text_that_is_not_a_reference_stays_as_it_is() {
        for text in [
            "#{",
            "#{}",
            "#{x}",
            "#{a b.c}",
            "#{a.b",
            "#{.b}",
            "#{a.}",
            "#product:42",
            "a}b#{",
            "#{a.b.c}",
        ] {
            let r = resolve_with(text, &[("a.b", "V")]);
            assert_eq!(r.text, text, "{text}");
            assert!(r.resolved.is_empty() && r.unresolved.is_empty(), "{text}");
        }
        // A reference right after a false start is still found.
        let r = resolve_with("#{#{a.b}}", &[("a.b", "V")]);
        assert_eq!(r.text, "#{V}");
    }

    #[test]
    fn a_value_is_not_resolved_again() {
        let r = resolve_with("#{a.b}", &[("a.b", "#{a.b}")]);
        assert_eq!(r.text, "#{a.b}");
        assert_eq!(r.resolved, ["a.b"]);
    }

    #[test]
    fn variable_names_follow_the_service_model() {
        for ok in ["Deploy.CommitId", "variables.Stage", "a@b-c_d.E-1@_"] {
            assert_eq!(check_variable_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "CommitId",
            ".CommitId",
            "Deploy.",
            "De ploy.CommitId",
            "Deploy.Commit.Id",
            "Déploy.CommitId",
        ] {
            assert_eq!(
                check_variable_name(bad),
                Err(VariableNameError::Malformed(bad.to_string())),
                "{bad}"
            );
        }
        let long = format!("{}.Name", "n".repeat(101));
        assert!(matches!(
            check_variable_name(&long),
            Err(VariableNameError::Malformed(_))
        ));
        assert_eq!(
            check_variable_name("codepipeline.PipelineExecutionId"),
            Err(VariableNameError::Reserved(
                "codepipeline.PipelineExecutionId".to_string()
            ))
        );
    }

    #[test]
    fn assignments_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_variable_assignment("Deploy.CommitId=abc=123"),
            Ok(("Deploy.CommitId".to_string(), "abc=123".to_string()))
        );
        assert_eq!(
            parse_variable_assignment("variables.Empty="),
            Ok(("variables.Empty".to_string(), String::new()))
        );
        let missing = parse_variable_assignment("Deploy.CommitId")
            .err()
            .unwrap_or_default();
        assert!(missing.contains("NAMESPACE.NAME=VALUE"), "{missing}");
        let reserved = parse_variable_assignment("codepipeline.PipelineExecutionId=x")
            .err()
            .unwrap_or_default();
        assert!(reserved.contains("--pipeline-execution-id"), "{reserved}");
    }

    #[test]
    fn execution_ids_have_codepipelines_shape() {
        assert!(is_pipeline_execution_id(EXECUTION));
        assert!(!is_pipeline_execution_id(
            "0F7C8A42-1D2E-4B5F-9A6C-3E4D5F6A7B8C"
        ));
        assert!(!is_pipeline_execution_id("run-1"));
    }
}
