//! `cf-invalidate list`: the newest invalidations, pages followed.

use std::fmt::Write as _;

use super::*;

/// ListInvalidations' own field names, so that jq habits carry over.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListedInvalidation {
    id: String,
    status: String,
    create_time: String,
}

#[derive(Debug, Serialize)]
struct ListView {
    #[serde(flatten, serialize_with = "target_key")]
    target: Target,
    invalidations: Vec<ListedInvalidation>,
}

pub(super) async fn list(args: ListArgs) -> Result<u8, CliError> {
    let distribution = &args.of.target()?;
    let cloudfront = Session::new(&args.aws).cloudfront().await?;
    let found = cloudfront
        .with_page_size(args.page_size)
        .list(distribution, args.limit)
        .await
        .map_err(|error| cloudfront_error(Operation::List, error, distribution, None))?;
    let view = ListView {
        target: distribution.clone(),
        invalidations: found
            .into_iter()
            .map(|item| ListedInvalidation {
                id: item.id,
                status: item.status,
                create_time: item.create_time,
            })
            .collect(),
    };
    // Bare values, as `aws cloudfront list-invalidations --output text` prints them.
    let values = || {
        let rows = view.invalidations.iter();
        rows.map(|item| format!("{}\t{}\t{}\n", item.id, item.status, item.create_time))
            .collect()
    };
    let summary = || {
        if view.invalidations.is_empty() {
            return format!("No invalidations on {distribution}.\n");
        }
        let ids = view.invalidations.iter().map(|item| item.id.len());
        let width = ids.max().unwrap_or(2).max(2);
        let mut text = format!("{:<width$}  {:<10}  CREATED\n", "ID", "STATUS");
        for item in &view.invalidations {
            let _ = writeln!(
                text,
                "{:<width$}  {:<10}  {}",
                item.id, item.status, item.create_time
            );
        }
        text
    };
    print_result(&args.output, &view, values, summary)?;
    Ok(0)
}
