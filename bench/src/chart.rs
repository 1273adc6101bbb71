//! The chart of the report: detection lag against invalidation duration, ours and the AWS CLI
//! waiter's, with the target max(1 s, 10 %), as SVG.

use std::path::Path;

use plotters::prelude::*;

use crate::BenchError;
use crate::run::LagCase;

const OURS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const WAITER: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const TARGET: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Draws `cases` into `path`: each run as a small dot, the medians as a labelled line.
pub fn draw(cases: &[LagCase], path: &Path) -> Result<(), BenchError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| BenchError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    plot(cases, path).map_err(|message| BenchError::Chart {
        path: path.to_path_buf(),
        message,
    })
}

fn plot(cases: &[LagCase], path: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let x_max = cases
        .iter()
        .map(|c| c.duration_s as f64)
        .fold(1.0, f64::max)
        * 1.1;
    let all_lags = cases.iter().flat_map(|c| {
        c.ours
            .iter()
            .map(|r| r.lag_ms)
            .chain(c.waiter.iter().map(|r| r.lag_ms))
    });
    let y_max = all_lags.map(|ms| ms as f64 / 1000.0).fold(2.0, f64::max) * 1.45;

    let root = SVGBackend::new(path, (860, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Completion-detection lag: time from Completed to the pipeline going on",
            ("sans-serif", 20),
        )
        .margin(18)
        .x_label_area_size(46)
        .y_label_area_size(58)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("invalidation duration (s)")
        .y_desc("lag after Completed (s)")
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| err(&e))?;

    // The target: max(1 s, 10 % of the duration).
    let knee = 10.0_f64.min(x_max);
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, 1.0), (knee, 1.0), (x_max, (x_max / 10.0).max(1.0))],
            6,
            4,
            TARGET.stroke_width(1),
        ))
        .map_err(|e| err(&e))?
        .label("target: max(1 s, 10 % of the duration)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], TARGET.stroke_width(1)));

    // Label offsets in pixels: ours sits near the axis, under the target line, so its labels go
    // higher up.
    type Series<'a> = (&'a str, RGBColor, i32, Vec<(f64, f64)>, Vec<(f64, f64)>);
    let seconds = |ms: i64| ms as f64 / 1000.0;
    let series: [Series<'_>; 2] = [
        (
            "aws cloudfront wait invalidation-completed (median; dots: runs)",
            WAITER,
            -16,
            cases
                .iter()
                .map(|c| (c.duration_s as f64, c.waiter_lag_s))
                .collect(),
            cases
                .iter()
                .flat_map(|c| c.waiter.iter())
                .map(|r| (r.duration_s, seconds(r.lag_ms)))
                .collect(),
        ),
        (
            "cf-invalidate-lambda (median; dots: runs)",
            OURS,
            -34,
            cases
                .iter()
                .map(|c| (c.duration_s as f64, c.ours_lag_s))
                .collect(),
            cases
                .iter()
                .flat_map(|c| c.ours.iter())
                .map(|r| (r.duration_s, seconds(r.lag_ms)))
                .collect(),
        ),
    ];
    for (label, color, label_dy, medians, runs) in series {
        chart
            .draw_series(LineSeries::new(medians.clone(), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                runs.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.mix(0.45).filled())),
            )
            .map_err(|e| err(&e))?;
        chart
            .draw_series(medians.iter().map(|&(x, y)| {
                EmptyElement::at((x, y))
                    + Circle::new((0, 0), 5, color.filled())
                    + Text::new(
                        if y < 1.0 {
                            format!("{y:.2} s")
                        } else {
                            format!("{y:.1} s")
                        },
                        (8, label_dy),
                        ("sans-serif", 13).into_font().color(&color),
                    )
            }))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
