//! `cf-invalidate status`: one GetInvalidation.

use super::*;

/// GetInvalidation's own field names (`Id`, `Status`), so that jq habits carry over; ours beside.
#[derive(Debug, Serialize)]
struct StatusView {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Status")]
    status: String,
    #[serde(flatten, serialize_with = "target_key")]
    target: Target,
    completed: bool,
}

pub(super) async fn status(args: StatusArgs) -> Result<u8, CliError> {
    let distribution = &args.target.of.target()?;
    let id = &args.target.invalidation_id;
    let cloudfront = Session::new(&args.aws).cloudfront().await?;
    let status = cloudfront
        .get(distribution, id)
        .await
        .map_err(|error| cloudfront_error(Operation::Get, error, distribution, Some(id)))?;
    let view = StatusView {
        target: distribution.clone(),
        id: status.id.clone(),
        completed: status.is_completed(),
        status: status.status,
    };
    // The status alone, so that `[ "$(cf-invalidate status ...)" = Completed ]` works.
    let status = || format!("{}\n", view.status);
    print_result(&args.output, &view, status, status)?;
    Ok(0)
}
