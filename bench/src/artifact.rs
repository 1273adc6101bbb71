//! `pathsFromArtifact` at 10,000 and 100,000 files: a generated site, then a build that changes
//! 12 files and deletes 1. The real function reads both artifacts from local-aws's S3 and
//! invalidates; the planning (both central directories read, compared and planned) is also
//! timed in this process, in CPU time.

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};
use std::path::Path;
use std::time::Duration;

use cf_invalidate::artifact::{InMemoryZip, changed_paths, compare, read_listing};
use cf_invalidate::plan::{PlanOptions, plan_paths};
use local_aws::pipeline::{ArtifactSource, PipelineConfig, run};
use local_aws::{DistributionConfig, DurationRange};
use zip::write::SimpleFileOptions;

use crate::BenchError;
use crate::report::{mib, yes};

/// The distribution the runs invalidate.
const DIST: &str = "E2QWRUHAPOMQZL";
/// Files changed by the second build; one more is deleted.
pub const CHANGED: usize = 12;

/// The name of file `i` of an `n`-file site: folders of 10 files, one in five an `index.html`.
fn name(i: usize) -> String {
    let folder = format!("section-{}/topic-{}", i / 1000, i / 10);
    if i.is_multiple_of(10) {
        format!("{folder}/index.html")
    } else {
        format!("{folder}/page-{i}.html")
    }
}

/// The site's two builds: `old`, then `new` with [`CHANGED`] files rewritten and one deleted.
fn builds(n: usize) -> Result<(Vec<u8>, Vec<u8>), BenchError> {
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let step = n / (CHANGED + 1);
    let changed: Vec<usize> = (1..=CHANGED).map(|k| k * step).collect();
    let deleted = n - 1;
    let write = |second: bool| -> Result<Vec<u8>, BenchError> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let fail = |e: &dyn std::fmt::Display| BenchError::Run(format!("zip: {e}"));
        for i in 0..n {
            if second && i == deleted {
                continue;
            }
            writer.start_file(name(i), options).map_err(|e| fail(&e))?;
            let version = if second && changed.contains(&i) { 2 } else { 1 };
            write!(writer, "<p>page {i}, build {version}</p>").map_err(|e| fail(&e))?;
        }
        Ok(writer.finish().map_err(|e| fail(&e))?.into_inner())
    };
    Ok((write(false)?, write(true)?))
}

/// The central directory's size, from the end records (ZIP64 when there are more than 65,535
/// entries).
fn central_directory_size(zip: &[u8]) -> u64 {
    let Some(eocd) = (0..zip.len().saturating_sub(21))
        .rev()
        .find(|&at| zip[at..at + 4] == [0x50, 0x4b, 0x05, 0x06])
    else {
        return 0;
    };
    let small = u32::from_le_bytes([
        zip[eocd + 12],
        zip[eocd + 13],
        zip[eocd + 14],
        zip[eocd + 15],
    ]);
    if small != u32::MAX && eocd >= 20 && zip[eocd - 20..eocd - 16] != [0x50, 0x4b, 0x06, 0x07] {
        return u64::from(small);
    }
    let locator = eocd - 20;
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&zip[locator + 8..locator + 16]);
    let record = usize::try_from(u64::from_le_bytes(offset)).unwrap_or(0);
    let mut size = [0u8; 8];
    size.copy_from_slice(&zip[record + 40..record + 48]);
    u64::from_le_bytes(size)
}

/// CPU time of this process (user + system), from getrusage.
fn cpu() -> Duration {
    // SAFETY: getrusage writes into the struct it is given and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Planning in this process: both listings from memory, compared, mapped and planned. The
/// median CPU time of 5 rounds, and the planned items.
async fn plan_cpu(old: &[u8], new: &[u8]) -> Result<(Duration, usize), BenchError> {
    let mut times = Vec::new();
    let mut items = 0;
    for _ in 0..5 {
        let (old, new) = (InMemoryZip(old.to_vec()), InMemoryZip(new.to_vec()));
        let start = cpu();
        let before = read_listing(&old)
            .await
            .map_err(|e| BenchError::Run(format!("old listing: {e}")))?;
        let after = read_listing(&new)
            .await
            .map_err(|e| BenchError::Run(format!("new listing: {e}")))?;
        let changes = compare(&before, &after);
        let (paths, _) = changed_paths(changes.names(), "", "/");
        let plan = plan_paths(
            &paths,
            &PlanOptions {
                max_paths: 100,
                directory_index: Some("index.html".to_owned()),
            },
        )
        .map_err(|e| BenchError::Run(format!("plan: {e}")))?;
        times.push(cpu() - start);
        items = plan.items().len();
    }
    times.sort();
    Ok((times[times.len() / 2], items))
}

/// One job through the real function: its invalidated paths, S3 bytes sent and GetObject
/// calls, the function's peak RSS and its own planning time.
struct Job {
    paths: Vec<String>,
    s3_bytes: u64,
    gets: u32,
    peak_rss_kib: Option<u64>,
    /// From the function's "artifact read" log line: finding the previous run, reading both
    /// central directories from S3 and comparing, as the function timed it.
    plan_ms: Option<u64>,
}

async fn job(lambda: &Path, mode: &str, old: &[u8], new: &[u8]) -> Result<Job, BenchError> {
    let params = format!(
        r#"{{"distributionId": "{DIST}", "pathsFromArtifact": "{mode}", "directoryIndex": "index.html"}}"#
    );
    let mut config = PipelineConfig::new(lambda, &params).distribution(
        DistributionConfig::new(DIST).completes_after(DurationRange::fixed(Duration::from_secs(1))),
    );
    config.world.seed = Some(14);
    config.artifact = Some(ArtifactSource::Bytes(new.to_vec()));
    config.previous_artifact = Some(ArtifactSource::Bytes(old.to_vec()));
    let report = run(config)
        .await
        .map_err(|e| BenchError::Run(format!("the pipeline could not run: {e}")))?;
    if !report.succeeded() {
        return Err(BenchError::Run(format!(
            "the {mode} job failed: {:?}",
            report.failure
        )));
    }
    Ok(Job {
        paths: report
            .invalidations
            .first()
            .map(|i| i.paths.clone())
            .unwrap_or_default(),
        s3_bytes: report.counts.s3_body_bytes_sent,
        gets: report.counts.s3_get_object_calls,
        peak_rss_kib: report.function_peak_rss_kib,
        plan_ms: report
            .function_output_text()
            .lines()
            .find(|line| line.contains("artifact read"))
            .and_then(|line| line.split("elapsed_ms=").nth(1))
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok()),
    })
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Runs the comparison at each size and returns the figures as a markdown table with notes.
pub async fn measure(lambda: &Path, sizes: &[usize]) -> Result<String, BenchError> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| files | artifacts (old + new) | central directories | read from S3 (GetObject calls) | within CDs + 128 KiB | planning CPU (median of 5) | \"changed\" paths | \"all\" paths | `/*` | function peak RSS | planning in the function (wall, calls included) |\n| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut exact = Vec::new();
    for &n in sizes {
        let (old, new) = builds(n)?;
        let cds = central_directory_size(&old) + central_directory_size(&new);
        let (cpu, planned) = plan_cpu(&old, &new).await?;
        let changed = job(lambda, "changed", &old, &new).await?;
        let all = job(lambda, "all", &old, &new).await?;
        let within = changed.s3_bytes <= cds + 128 * 1024;
        let _ = writeln!(
            out,
            "| {n} | {} | {} | {} ({}) | {} | {:.0} ms | {} | {} | 1 (every object) | {} | {} |",
            kib((old.len() + new.len()) as u64),
            kib(cds),
            kib(changed.s3_bytes),
            changed.gets,
            yes(within),
            cpu.as_secs_f64() * 1000.0,
            changed.paths.len(),
            all.paths.len(),
            changed.peak_rss_kib.map_or("n/a".into(), |k| mib(k as f64)),
            changed
                .plan_ms
                .map_or("n/a".to_owned(), |ms| format!("{ms} ms")),
        );
        if planned != changed.paths.len() {
            return Err(BenchError::Run(format!(
                "in-process plan has {planned} items, the function invalidated {}",
                changed.paths.len()
            )));
        }
        exact.push((n, changed.paths));
    }
    for (n, paths) in exact {
        let _ = writeln!(out, "\n\"changed\" at {n} files: {}", paths.join(" "));
    }
    Ok(out)
}
