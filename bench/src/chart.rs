//! The report's two SVG charts: detection lag against invalidation duration (ours, the AWS CLI
//! waiter's and the target), and the S3-events figures as bars, ours against the sample.

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::BenchError;
use crate::events::{EventsResults, SideResult};
use crate::run::LagCase;

const OURS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const THEIRS: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const TARGET: RGBColor = RGBColor(0x55, 0x55, 0x55);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), Box<dyn Error>>;

/// A white `size` SVG at `path`, drawn by `draw`.
fn svg(path: &Path, size: (u32, u32), draw: impl FnOnce(&Area) -> Drawn) -> Result<(), BenchError> {
    crate::create_parent(path)?;
    let root = SVGBackend::new(path, size).into_drawing_area();
    let drawn = root
        .fill(&WHITE)
        .map_err(Box::from)
        .and_then(|()| draw(&root));
    drawn
        .and_then(|()| Ok(root.present()?))
        .map_err(|e| BenchError::Chart {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

fn font(size: u32) -> (&'static str, u32) {
    ("sans-serif", size)
}

fn legend(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(width))
}

/// The lag chart: each run as a small dot, the medians as a labelled line.
pub fn lag(cases: &[LagCase], path: &Path) -> Result<(), BenchError> {
    svg(path, (860, 500), |root| {
        let x_max = cases
            .iter()
            .map(|c| c.duration_s as f64)
            .fold(1.0, f64::max)
            * 1.1;
        let seconds = |ms: i64| ms as f64 / 1000.0;
        let medians = |lag: fn(&LagCase) -> f64| -> Vec<(f64, f64)> {
            cases
                .iter()
                .map(|c| (c.duration_s as f64, lag(c)))
                .collect()
        };
        let waiter_runs = cases.iter().flat_map(|c| &c.waiter);
        let our_runs = cases.iter().flat_map(|c| &c.ours);
        // Ours sits near the axis, under the target line, so its labels go higher up.
        let series = [
            (
                "aws cloudfront wait invalidation-completed (median; dots: runs)",
                THEIRS,
                -16,
                medians(|c| c.waiter_lag_s),
                waiter_runs
                    .map(|r| (r.duration_s, seconds(r.lag_ms)))
                    .collect::<Vec<_>>(),
            ),
            (
                "cf-invalidate-lambda (median; dots: runs)",
                OURS,
                -34,
                medians(|c| c.ours_lag_s),
                our_runs
                    .map(|r| (r.duration_s, seconds(r.lag_ms)))
                    .collect(),
            ),
        ];
        let runs = series.iter().flat_map(|s| &s.4);
        let y_max = runs.map(|&(_, lag)| lag).fold(2.0, f64::max) * 1.45;
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Completion-detection lag: time from Completed to the pipeline going on",
                font(20),
            )
            .margin(18)
            .x_label_area_size(46)
            .y_label_area_size(58)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc("invalidation duration (s)")
            .y_desc("lag after Completed (s)")
            .axis_desc_style(font(15))
            .label_style(font(13))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let knee = 10.0_f64.min(x_max);
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 1.0), (knee, 1.0), (x_max, (x_max / 10.0).max(1.0))],
                6,
                4,
                TARGET.stroke_width(1),
            ))?
            .label("target: max(1 s, 10 % of the duration)")
            .legend(legend(TARGET, 1));
        for (label, color, label_dy, medians, runs) in series {
            chart
                .draw_series(LineSeries::new(medians.clone(), color.stroke_width(2)))?
                .label(label)
                .legend(legend(color, 2));
            chart.draw_series(
                runs.iter()
                    .map(|&xy| Circle::new(xy, 3, color.mix(0.45).filled())),
            )?;
            chart.draw_series(medians.iter().map(|&(x, y)| {
                let text = if y < 1.0 {
                    format!("{y:.2} s")
                } else {
                    format!("{y:.1} s")
                };
                EmptyElement::at((x, y))
                    + Circle::new((0, 0), 5, color.filled())
                    + Text::new(text, (8, label_dy), font(13).into_font().color(&color))
            }))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .label_font(font(13))
            .draw()?;
        Ok(())
    })
}

/// The S3-events chart: four panels of two bars, ours and the sample's; a value that never
/// came (a key never covered) is a pale full bar.
pub fn events(results: &EventsResults, path: &Path) -> Result<(), BenchError> {
    let both = |f: fn(&SideResult) -> Option<f64>| [f(&results.ours), f(&results.sample)];
    let panels = [
        (
            "CreateInvalidation calls",
            "",
            both(|s| Some(s.report.cloudfront.create_calls as f64)),
        ),
        (
            "paths billed",
            "",
            both(|s| Some(s.report.cloudfront.paths_billed as f64)),
        ),
        (
            "key events left stale",
            "",
            both(|s| Some(s.stale_key_events as f64)),
        ),
        (
            "last key covered after",
            " s",
            both(|s| s.last_key_covered_ms.map(|ms| ms as f64 / 1000.0)),
        ),
    ];
    svg(path, (960, 420), |root| {
        let (top, rest) = root.split_vertically(64);
        top.draw(&Text::new(
            format!(
                "S3 events: {} uploads, cf-invalidate-events (SQS, batches of {}) against the Python sample (one invocation per upload)",
                results.plan.uploads, results.plan.batch_size
            ),
            (18, 12),
            font(16),
        ))?;
        let sides = [
            (results.ours.side.label(), OURS),
            (results.sample.side.label(), THEIRS),
        ];
        for (x, (label, color)) in (18..).step_by(240).zip(sides) {
            top.draw(&Rectangle::new([(x, 40), (x + 14, 54)], color.filled()))?;
            top.draw(&Text::new(label, (x + 20, 40), font(13)))?;
        }
        for (area, (title, unit, values)) in rest.split_evenly((1, 4)).iter().zip(panels) {
            let known = values.iter().flatten().copied().fold(0.0, f64::max);
            let y_max = if known > 0.0 { known * 1.25 } else { 1.0 };
            let mut chart = ChartBuilder::on(area)
                .caption(title, font(15))
                .margin(14)
                .x_label_area_size(10)
                .y_label_area_size(52)
                .build_cartesian_2d(0f64..2f64, 0f64..y_max)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .disable_x_axis()
                .label_style(font(12))
                .light_line_style(WHITE.mix(0.0))
                .y_label_formatter(&|v| compact(*v))
                .draw()?;
            for (left, (value, color)) in [0.2, 1.2]
                .into_iter()
                .zip(values.into_iter().zip([OURS, THEIRS]))
            {
                let (height, style, text, at, dy) = match value {
                    Some(v) => (v, color.filled(), format!("{}{unit}", compact(v)), v, -16),
                    None => (
                        y_max,
                        color.mix(0.2).filled(),
                        "never".into(),
                        y_max * 0.55,
                        0,
                    ),
                };
                chart.draw_series([Rectangle::new([(left, 0.0), (left + 0.6, height)], style)])?;
                chart.draw_series([EmptyElement::at((left, at))
                    + Text::new(text, (4, dy), font(13).into_font().color(&color))])?;
            }
        }
        Ok(())
    })
}

/// `0`, `12`, `1.5`, `12.3k`.
fn compact(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v.fract() == 0.0 || v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
