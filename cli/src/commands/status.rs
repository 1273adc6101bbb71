//! `cf-invalidate status`: one GetInvalidation.

use super::*;

#[derive(Debug, Serialize)]
struct StatusView {
    #[serde(flatten)]
    target: TargetKey,
    invalidation_id: String,
    status: String,
    completed: bool,
}

pub(super) async fn status(args: StatusArgs) -> Result<u8, CliError> {
    let distribution = &args.target.of.target();
    let id = &args.target.invalidation_id;
    let cloudfront = connect(&args.aws).await?;
    let status = cloudfront
        .get(distribution, id)
        .await
        .map_err(|error| cloudfront_error(Operation::Get, error, distribution, Some(id)))?;
    let view = StatusView {
        target: TargetKey::of(distribution),
        invalidation_id: status.id.clone(),
        completed: status.is_completed(),
        status: status.status,
    };
    match args.output.output {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text if !args.output.quiet => print_stdout(&format!(
            "{} on {}: {}\n",
            view.invalidation_id, view.target, view.status
        ))?,
        OutputFormat::Text => {}
    }
    Ok(0)
}
