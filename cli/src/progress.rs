//! Progress on standard error: live lines on a terminal, plain lines and heartbeats in build logs.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use cf_invalidate::engine::{JobObserver, ProgressEvent};
use cf_invalidate::params::Target;
use cf_invalidate::ports::FailureType;
use cf_invalidate::text::format_duration;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// `--quiet`: nothing.
    Quiet,
    /// No terminal (CodeBuild, CI logs, a pipe): a line per status change, and heartbeats.
    Plain,
    /// A terminal: one live line per distribution.
    Live,
}

/// Where one distribution stands, as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not created yet (about to be, or CloudFront asked us to come back later).
    Waiting,
    /// `wait`: an existing invalidation whose status has not been read yet.
    Checking,
    InProgress,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting",
            Self::Checking => "Checking",
            Self::InProgress => "InProgress",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
        }
    }

    fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// One distribution's story so far; the final report is built from these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub distribution: Target,
    pub status: Status,
    pub invalidation_id: Option<String>,
    /// When CloudFront accepted the invalidation, counted from the start of the run.
    pub created_after: Option<Duration>,
    /// When it was first seen Completed, counted from the start of the run.
    pub completed_after: Option<Duration>,
    pub failure: Option<FailureType>,
}

impl Entry {
    pub fn new(distribution: Target) -> Self {
        Self {
            distribution,
            status: Status::Waiting,
            invalidation_id: None,
            created_after: None,
            completed_after: None,
            failure: None,
        }
    }

    /// An invalidation that exists already (`wait`).
    pub fn existing(distribution: Target, invalidation_id: String) -> Self {
        Self {
            status: Status::Checking,
            invalidation_id: Some(invalidation_id),
            ..Self::new(distribution)
        }
    }
}

/// One plain progress line: `[    2s] E2QWRUHAPOMQZL I2J0I21PCUYOIK Completed`.
pub fn status_line(elapsed: Duration, entry: &Entry, note: &str) -> String {
    format!(
        "[{:>6}] {} {} {}{note}",
        format_duration(elapsed),
        entry.distribution,
        entry.invalidation_id.as_deref().unwrap_or("-"),
        entry.status.as_str()
    )
}

/// The message of a live line; the distribution and the elapsed time are around it.
pub fn live_message(entry: &Entry) -> String {
    match (&entry.invalidation_id, entry.status) {
        (None, Status::Waiting) => "creating the invalidation…".to_owned(),
        (None, status) => status.as_str().to_owned(),
        (Some(id), status) => format!("{:<10} {id}", status.as_str()),
    }
}

struct Live {
    multi: MultiProgress,
    bars: Vec<ProgressBar>,
    done_style: ProgressStyle,
    failed_style: ProgressStyle,
}

/// Receives the engine's events, keeps each distribution's story, and shows it.
pub struct Tracker {
    mode: ProgressMode,
    started: Instant,
    heartbeat: Duration,
    entries: Mutex<Vec<Entry>>,
    sink: Mutex<Box<dyn Write + Send>>,
    live: Option<Live>,
}

impl Tracker {
    /// Progress for `entries`, written to standard error.
    pub fn new(mode: ProgressMode, entries: Vec<Entry>, heartbeat: Duration) -> Self {
        Self::with_sink(mode, entries, heartbeat, Box::new(std::io::stderr()))
    }

    fn with_sink(
        mode: ProgressMode,
        entries: Vec<Entry>,
        heartbeat: Duration,
        sink: Box<dyn Write + Send>,
    ) -> Self {
        let live = (mode == ProgressMode::Live).then(|| start_live(&entries));
        Self {
            mode,
            started: Instant::now(),
            heartbeat,
            entries: Mutex::new(entries),
            sink: Mutex::new(sink),
            live,
        }
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .map(|entries| entries.clone())
            .unwrap_or_default()
    }

    /// A line of context (what is about to happen); above the live lines on a terminal.
    pub fn note(&self, line: &str) {
        match (&self.live, self.mode) {
            (_, ProgressMode::Quiet) => {}
            (Some(live), _) => {
                let _ = live.multi.println(line);
            }
            (None, _) => self.write_line(line),
        }
    }

    fn write_line(&self, line: &str) {
        if let Ok(mut sink) = self.sink.lock() {
            // Progress is best effort: a closed stderr must not stop the invalidation.
            let _ = writeln!(sink, "{line}");
            let _ = sink.flush();
        }
    }

    /// Every `heartbeat`, a "still waiting" line per unfinished distribution (plain mode only):
    /// a silent build log looks hung. Never returns; the caller races it against the work.
    pub async fn heartbeats(&self) {
        if self.mode != ProgressMode::Plain {
            return std::future::pending().await;
        }
        let mut beats = 1u32;
        loop {
            let next = self.heartbeat.saturating_mul(beats);
            tokio::time::sleep_until(self.started + next).await;
            beats = beats.saturating_add(1);
            for line in self.heartbeat_lines(self.started.elapsed()) {
                self.write_line(&line);
            }
        }
    }

    /// The heartbeat at `elapsed`: one line per distribution still waiting or in progress.
    pub fn heartbeat_lines(&self, elapsed: Duration) -> Vec<String> {
        self.entries()
            .iter()
            .filter(|entry| !entry.status.is_finished())
            .map(|entry| status_line(elapsed, entry, ", still waiting"))
            .collect()
    }

    /// Ends the live lines, leaving them on screen.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            for bar in &live.bars {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }

    fn update(
        &self,
        elapsed: Duration,
        event: ProgressEvent<'_>,
    ) -> Option<(usize, Entry, String)> {
        let mut entries = self.entries.lock().ok()?;
        let distribution = match event {
            ProgressEvent::Created { distribution, .. }
            | ProgressEvent::StillInProgress { distribution, .. }
            | ProgressEvent::Completed { distribution, .. }
            | ProgressEvent::Deferred { distribution, .. }
            | ProgressEvent::Failed { distribution, .. } => distribution,
        };
        let index = entries
            .iter()
            .position(|entry| &entry.distribution == distribution)?;
        let entry = &mut entries[index];
        let before = entry.status;
        let note = match event {
            ProgressEvent::Created {
                invalidation_id, ..
            } => {
                entry.status = Status::InProgress;
                entry.invalidation_id = Some(invalidation_id.to_owned());
                entry.created_after = Some(elapsed);
                " (created)".to_owned()
            }
            ProgressEvent::StillInProgress { .. } => {
                entry.status = Status::InProgress;
                String::new()
            }
            ProgressEvent::Completed {
                invalidation_id, ..
            } => {
                entry.status = Status::Completed;
                entry.invalidation_id = Some(invalidation_id.to_owned());
                entry.completed_after = Some(elapsed);
                String::new()
            }
            ProgressEvent::Deferred {
                attempts,
                retry_in,
                reason,
                ..
            } => {
                entry.status = Status::Waiting;
                format!(
                    ": CloudFront did not accept the invalidation yet ({}, attempt {attempts}); trying again in {}",
                    reason.unwrap_or("no answer"),
                    format_duration(retry_in)
                )
            }
            ProgressEvent::Failed { cause, .. } => {
                let kind = FailureType::of(cause.kind);
                entry.status = Status::Failed;
                entry.failure = Some(kind);
                format!(" ({})", crate::report::failure_word(kind))
            }
        };
        // A poll that finds it still in progress changes nothing worth a log line.
        let changed = before != entry.status || matches!(event, ProgressEvent::Deferred { .. });
        changed.then(|| (index, entry.clone(), note))
    }
}

impl JobObserver for Tracker {
    fn on_event(&self, elapsed: Duration, event: ProgressEvent<'_>) {
        let Some((index, entry, note)) = self.update(elapsed, event) else {
            return;
        };
        match (self.mode, &self.live) {
            (ProgressMode::Quiet, _) => {}
            (ProgressMode::Live, Some(live)) => {
                if let Some(bar) = live.bars.get(index) {
                    bar.set_message(live_message(&entry));
                    match entry.status {
                        Status::Completed => {
                            bar.set_style(live.done_style.clone());
                            bar.finish();
                        }
                        Status::Failed => {
                            bar.set_style(live.failed_style.clone());
                            bar.abandon();
                        }
                        _ => {}
                    }
                }
            }
            _ => self.write_line(&status_line(elapsed, &entry, &note)),
        }
    }
}

fn start_live(entries: &[Entry]) -> Live {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let since = |state: &ProgressState, out: &mut dyn std::fmt::Write| {
        let _ = write!(out, "{}", format_duration(state.elapsed()));
    };
    // The templates are constants; should one ever fail to parse, a plain spinner still works.
    let style = |template| {
        ProgressStyle::with_template(template)
            .map(|style| style.with_key("since", since))
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
    };
    let running = style("{spinner:.cyan} {prefix:.bold} {msg} {since:.dim}");
    let done_style = style("✓ {prefix:.bold.green} {msg} {since:.dim}");
    let failed_style = style("✗ {prefix:.bold.red} {msg} {since:.dim}");
    let bars = entries
        .iter()
        .map(|entry| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(running.clone());
            bar.set_prefix(entry.distribution.to_string());
            bar.set_message(live_message(entry));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        })
        .collect();
    Live {
        multi,
        bars,
        done_style,
        failed_style,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().map(|b| b.clone()).unwrap_or_default())
                .unwrap_or_default()
        }
    }

    fn dist(id: &str) -> Target {
        Target::parse(id).expect("id")
    }

    fn plain(entries: Vec<Entry>, heartbeat: Duration, out: &Shared) -> Tracker {
        let sink = Box::new(out.clone());
        Tracker::with_sink(ProgressMode::Plain, entries, heartbeat, sink)
    }

    #[test]
    fn a_build_log_gets_one_line_per_status_change() {
        let out = Shared::default();
        let a = dist("E2QWRUHAPOMQZL");
        let tracker = plain(vec![Entry::new(a.clone())], Duration::from_secs(30), &out);
        let secs = Duration::from_secs;
        let (distribution, invalidation_id) = (&a, "I2J0I21PCUYOIK");
        let created = ProgressEvent::Created {
            distribution,
            invalidation_id,
        };
        tracker.on_event(secs(0), created);
        for n in 1..5 {
            let polled = ProgressEvent::StillInProgress {
                distribution,
                invalidation_id,
            };
            tracker.on_event(secs(n), polled);
        }
        let completed = ProgressEvent::Completed {
            distribution,
            invalidation_id,
        };
        tracker.on_event(secs(65), completed);
        assert_eq!(
            out.text(),
            "[    0s] E2QWRUHAPOMQZL I2J0I21PCUYOIK InProgress (created)\n\
             [ 1m05s] E2QWRUHAPOMQZL I2J0I21PCUYOIK Completed\n"
        );
        let entry = &tracker.entries()[0];
        assert_eq!(
            (entry.created_after, entry.completed_after),
            (Some(secs(0)), Some(secs(65)))
        );
    }

    #[test]
    fn heartbeats_name_what_is_still_running() {
        let (a, b) = (dist("E2QWRUHAPOMQZL"), dist("E1ABCDEFGHIJKL"));
        let entries = vec![Entry::new(a.clone()), Entry::new(b.clone())];
        let tracker = plain(entries, Duration::from_secs(30), &Shared::default());
        let (distribution, invalidation_id) = (&a, "IAAAA");
        let created = ProgressEvent::Created {
            distribution,
            invalidation_id,
        };
        tracker.on_event(Duration::ZERO, created);
        let completed = ProgressEvent::Completed {
            distribution,
            invalidation_id,
        };
        tracker.on_event(Duration::from_secs(1), completed);
        let deferred = ProgressEvent::Deferred {
            distribution: &b,
            reason: Some("TooManyInvalidationsInProgress"),
            attempts: 1,
            retry_in: Duration::from_secs(2),
        };
        tracker.on_event(Duration::from_secs(1), deferred);
        assert_eq!(
            tracker.heartbeat_lines(Duration::from_secs(30)),
            vec!["[   30s] E1ABCDEFGHIJKL - Waiting, still waiting".to_owned()]
        );
    }

    #[tokio::test]
    async fn heartbeats_repeat_at_the_interval() {
        let out = Shared::default();
        let a = dist("E2QWRUHAPOMQZL");
        let entries = vec![Entry::existing(a, "IAAAA".to_owned())];
        let tracker = plain(entries, Duration::from_millis(20), &out);
        // Beats are due at 20, 40, ... 140 ms; a busy machine may run late, never early.
        let _ = tokio::time::timeout(Duration::from_millis(150), tracker.heartbeats()).await;
        let text = out.text();
        let count = text.lines().count();
        assert!((1..=7).contains(&count), "{text}");
        assert!(
            text.lines()
                .all(|line| line.ends_with("E2QWRUHAPOMQZL IAAAA Checking, still waiting")),
            "{text}"
        );
    }

    #[test]
    fn live_messages_show_status_and_id() {
        let mut entry = Entry::new(dist("E2QWRUHAPOMQZL"));
        assert_eq!(live_message(&entry), "creating the invalidation…");
        entry.status = Status::InProgress;
        entry.invalidation_id = Some("I2J0I21PCUYOIK".to_owned());
        assert_eq!(live_message(&entry), "InProgress I2J0I21PCUYOIK");
    }
}
