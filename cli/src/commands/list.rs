//! `cf-invalidate list`: the newest invalidations, pages followed.

use super::*;

/// ListInvalidations' own field names, so that jq habits carry over.
#[derive(Debug, Serialize)]
struct ListedInvalidation {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "CreateTime")]
    create_time: String,
}

#[derive(Debug, Serialize)]
struct ListView {
    #[serde(flatten)]
    target: TargetKey,
    invalidations: Vec<ListedInvalidation>,
}

pub(super) async fn list(args: ListArgs) -> Result<u8, CliError> {
    let distribution = &args.of.target()?;
    let cloudfront = connect(&args.aws).await?;
    let found = cloudfront
        .with_page_size(args.page_size)
        .list(distribution, args.limit)
        .await
        .map_err(|error| cloudfront_error(Operation::List, error, distribution, None))?;
    let view = ListView {
        target: TargetKey::of(distribution),
        invalidations: found
            .into_iter()
            .map(|item| ListedInvalidation {
                id: item.id,
                status: item.status,
                create_time: item.create_time,
            })
            .collect(),
    };
    match args.output.output {
        OutputFormat::Json => print_json(&view)?,
        OutputFormat::Text | OutputFormat::Summary if args.output.quiet => {}
        // Bare values, as `aws cloudfront list-invalidations --output text` prints them.
        OutputFormat::Text => print_stdout(
            &view
                .invalidations
                .iter()
                .map(|item| format!("{}\t{}\t{}\n", item.id, item.status, item.create_time))
                .collect::<String>(),
        )?,
        OutputFormat::Summary if view.invalidations.is_empty() => {
            print_stdout(&format!("No invalidations on {distribution}.\n"))?;
        }
        OutputFormat::Summary => {
            let width = view
                .invalidations
                .iter()
                .map(|item| item.id.len())
                .max()
                .unwrap_or(2)
                .max(2);
            let mut text = format!("{:<width$}  {:<10}  CREATED\n", "ID", "STATUS");
            for item in &view.invalidations {
                text.push_str(&format!(
                    "{:<width$}  {:<10}  {}\n",
                    item.id, item.status, item.create_time
                ));
            }
            print_stdout(&text)?;
        }
    }
    Ok(0)
}
