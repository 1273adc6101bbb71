//! The chart of the S3-events section: CreateInvalidation calls, paths billed, stale key events
//! and the time until the last key is covered, ours against the Python sample, as SVG bars.

use std::path::Path;

use plotters::prelude::*;

use crate::BenchError;
use crate::events::{EventsResults, SideResult};

const OURS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const SAMPLE: RGBColor = RGBColor(0xd6, 0x27, 0x28);

/// One panel: a title, and each side's value (`None`: never, drawn as a pale full bar).
struct Panel {
    title: &'static str,
    unit: &'static str,
    values: [Option<f64>; 2],
}

/// Draws the four panels into `path`.
pub fn draw(results: &EventsResults, path: &Path) -> Result<(), BenchError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| BenchError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    plot(results, path).map_err(|message| BenchError::Chart {
        path: path.to_path_buf(),
        message,
    })
}

fn panels(ours: &SideResult, sample: &SideResult) -> [Panel; 4] {
    let both = |f: fn(&SideResult) -> Option<f64>| [f(ours), f(sample)];
    [
        Panel {
            title: "CreateInvalidation calls",
            unit: "",
            values: both(|s| Some(s.report.cloudfront.create_calls as f64)),
        },
        Panel {
            title: "paths billed",
            unit: "",
            values: both(|s| Some(s.report.cloudfront.paths_billed as f64)),
        },
        Panel {
            title: "key events left stale",
            unit: "",
            values: both(|s| Some(s.stale_key_events as f64)),
        },
        Panel {
            title: "last key covered after",
            unit: " s",
            values: both(|s| s.last_key_covered_ms.map(|ms| ms as f64 / 1000.0)),
        },
    ]
}

fn plot(results: &EventsResults, path: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = SVGBackend::new(path, (960, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, rest) = root.split_vertically(64);
    top.draw(&Text::new(
        format!(
            "S3 events: {} uploads, cf-invalidate-events (SQS, batches of {}) against the Python sample (one invocation per upload)",
            results.plan.uploads, results.plan.batch_size
        ),
        (18, 12),
        ("sans-serif", 16),
    ))
    .map_err(|e| err(&e))?;
    for (i, (label, color)) in [
        (results.ours.side.label(), OURS),
        (results.sample.side.label(), SAMPLE),
    ]
    .into_iter()
    .enumerate()
    {
        let x = 18 + 240 * i as i32;
        top.draw(&Rectangle::new([(x, 40), (x + 14, 54)], color.filled()))
            .map_err(|e| err(&e))?;
        top.draw(&Text::new(label, (x + 20, 40), ("sans-serif", 13)))
            .map_err(|e| err(&e))?;
    }

    let areas = rest.split_evenly((1, 4));
    for (area, panel) in areas.iter().zip(panels(&results.ours, &results.sample)) {
        let known = panel.values.iter().flatten().copied().fold(0.0, f64::max);
        let y_max = if known > 0.0 { known * 1.25 } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, ("sans-serif", 15))
            .margin(14)
            .x_label_area_size(10)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..2f64, 0f64..y_max)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_x_axis()
            .label_style(("sans-serif", 12))
            .light_line_style(WHITE.mix(0.0))
            .y_label_formatter(&|v| compact(*v))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (value, color)) in panel.values.iter().zip([OURS, SAMPLE]).enumerate() {
            let left = i as f64 + 0.2;
            let right = i as f64 + 0.8;
            let (height, style, text) = match value {
                Some(v) => (*v, color.filled(), format!("{}{}", compact(*v), panel.unit)),
                None => (y_max, color.mix(0.2).filled(), "never".to_string()),
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(left, 0.0), (right, height)],
                    style,
                )))
                .map_err(|e| err(&e))?;
            let label_y = if value.is_some() {
                height
            } else {
                y_max * 0.55
            };
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((left, label_y))
                        + Text::new(
                            text,
                            (4, if value.is_some() { -16 } else { 0 }),
                            ("sans-serif", 13).into_font().color(&color),
                        ),
                ))
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
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
