//! `cf-invalidate plan`: what an invalidation would send and cost; nothing is sent.

use super::*;

pub(super) async fn plan(args: PlanArgs) -> Result<u8, CliError> {
    let directory_index = checked_directory_index(args.paths.directory_index.as_deref())?;
    let collected = collect_from_stdin(&args.paths, &Session::new(&args.aws)).await?;
    for warning in &collected.warnings {
        eprintln!("warning: {warning}");
    }
    // `plan` has no --quiet: it prints nothing else.
    let output = OutputArgs {
        output: args.output,
        quiet: false,
    };
    if collected.is_unchanged_sync() {
        let json = serde_json::json!({
            "command": "plan",
            "paths": [],
            "billed_paths": 0,
            "requested_paths": 0,
            "changes": collected.sync.as_ref().map(SyncCounts::from),
            "warnings": collected.warnings,
        });
        let summary = || {
            let unchanged = collected.unchanged_sentence();
            format!("{unchanged}: there is nothing to invalidate and nothing to pay.\n")
        };
        print_result(&output, &json, String::new, summary)?;
        return Ok(0);
    }
    if collected.paths.is_empty() {
        return Err(CliError::NoPaths);
    }
    let max_paths = args.paths.max_paths;
    let plan = plan_paths(
        &collected.paths,
        &PlanOptions {
            max_paths,
            directory_index,
        },
    )?;
    if let Some(build) = &collected.build
        && matches!(args.output, OutputFormat::Summary)
    {
        print_stdout(&format!("{}\n", build.sentence()))?;
    }
    let view = PlanView::new(
        "plan",
        &plan,
        max_paths,
        collected.sync.as_ref(),
        Vec::new(),
    );
    print_plan(&view, &collected.warnings, &output)?;
    Ok(0)
}
