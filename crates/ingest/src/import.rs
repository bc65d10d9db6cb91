//! `aloft import --source NAME FILE`: bulk import of a source system's export.
//!
//! `.ndjson` / `.jsonl` files hold one CloudEvent per line and are read in batches of
//! [`BATCH_EVENTS`] lines (memory stays flat whatever the file size); `.csv` files are booking
//! exports ([`crate::csv`]), read whole because a booking's rows may be anywhere in the file.
//! Either way three chunks are in the pipeline at once (one records, one waits for its turn,
//! one links), in file order.
//! `--source NAME` must equal every record's `data.source` (a mismatch is rejected: a file
//! imported under the wrong name would otherwise claim another system's records); CSV rows with
//! an empty `source` column take it.
//!
//! Nothing is dropped silently: every rejected line is written to the reject file (default
//! `<FILE>.rejects.ndjson`), one JSON object per rejection — `line`, `event_id`, `pointer`,
//! `column` (CSV), `reason` and the original `text` of the line (card numbers redacted) — and
//! counted in the summary.
//! Re-running an import (after fixing rows, or after a crash) is safe: every step is idempotent
//! (see [`crate::pipeline`]), so it completes the import without duplicates. A passing failure
//! while it runs (the database away for a moment, another writer's batch failing ahead of one
//! of its chunks) does not end it: the chunks concerned are retried in file order with back-off
//! (about 20 s in all) before the import gives up.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use aloft_kernel::AccessContext;

use crate::envelope::{Rejection, SourceEvent, parse_text};
use crate::pipeline::{BatchReport, Pipeline, Sequence};
use crate::{IngestError, csv};

/// Events per pipeline call (one link step and one write transaction) during an import, unless
/// [`ImportArgs::batch_events`] says otherwise. Larger batches amortise each commit over more
/// records: on SQLite every commit rewrites the index pages its inserts touched, and a bulk load
/// touches most of them in every batch. 8,000 imports 20-35 % faster than 2,000 (BENCHMARKS.md)
/// and holds SQLite's write slot for about half a second per batch; on PostgreSQL other writers
/// are not held up at all.
pub const BATCH_EVENTS: usize = 8_000;

/// Arguments of `aloft import`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportArgs {
    /// The source system's name (`data.source` of every record).
    pub source: String,
    /// The file: `.ndjson`, `.jsonl` or `.csv`.
    pub file: PathBuf,
    /// Where rejected lines go; default `<FILE>.rejects.ndjson`.
    pub reject_file: Option<PathBuf>,
    /// Events per batch (one link step and one write transaction); [`BATCH_EVENTS`] by default.
    pub batch_events: usize,
}

impl ImportArgs {
    /// Arguments with the default reject file and batch size.
    pub fn new(source: impl Into<String>, file: impl Into<PathBuf>) -> Self {
        Self {
            source: source.into(),
            file: file.into(),
            reject_file: None,
            batch_events: BATCH_EVENTS,
        }
    }

    /// The reject file path in effect.
    pub fn reject_path(&self) -> PathBuf {
        self.reject_file.clone().unwrap_or_else(|| {
            let mut s = self.file.clone().into_os_string();
            s.push(".rejects.ndjson");
            PathBuf::from(s)
        })
    }
}

/// What an import did; `Display` is the human summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    /// The file imported.
    pub file: PathBuf,
    /// Lines (NDJSON) or data rows (CSV) read.
    pub lines: u64,
    /// The pipeline's counts (events; CSV bookings).
    pub report: BatchReport,
    /// Where the rejections were written (`None` when there were none).
    pub reject_file: Option<PathBuf>,
    /// How long it took.
    pub elapsed: Duration,
}

impl ImportSummary {
    /// Records per second (recorded + unchanged over the elapsed time).
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        (self.report.recorded + self.report.unchanged) as f64 / secs
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        writeln!(
            f,
            "Imported {} ({} lines) in {:.1} s",
            self.file.display(),
            self.lines,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "  received:      {}", r.received)?;
        writeln!(f, "  recorded:      {}", r.recorded)?;
        writeln!(f, "  unchanged:     {} (already imported)", r.unchanged)?;
        writeln!(
            f,
            "  rejected:      {} ({} problems)",
            r.rejected_events,
            r.rejected.len()
        )?;
        writeln!(f, "  new customers: {}", r.new_customers)?;
        let methods: Vec<String> = r
            .linked_by_method
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        if methods.is_empty() {
            writeln!(f, "  linked by:     (nothing new to link)")?;
        } else {
            writeln!(f, "  linked by:     {}", methods.join(", "))?;
        }
        match &self.reject_file {
            Some(p) => write!(f, "  rejects:       {}", p.display()),
            None => write!(f, "  rejects:       none"),
        }
    }
}

/// Writes rejections with the text of their lines.
struct RejectWriter {
    path: PathBuf,
    out: Option<BufWriter<std::fs::File>>,
    written: usize,
}

impl RejectWriter {
    fn new(path: PathBuf) -> Result<Self, IngestError> {
        // A stale reject file from an earlier run would mislead: start afresh.
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
        Ok(Self {
            path,
            out: None,
            written: 0,
        })
    }

    fn write(
        &mut self,
        rejections: &[Rejection],
        text_of: impl Fn(u64) -> Option<String>,
    ) -> Result<(), IngestError> {
        for r in rejections {
            if self.out.is_none() {
                self.out = Some(BufWriter::new(std::fs::File::create(&self.path)?));
            }
            let Some(out) = self.out.as_mut() else {
                continue;
            };
            let line = json!({
                "line": r.position,
                "event_id": r.event_id,
                "pointer": r.pointer,
                "column": r.column,
                "reason": r.reason,
                // The line as given, but never a card number (PCI DSS: no PAN at rest).
                "text": text_of(r.position).map(|t| aloft_security::pan::redact_card_numbers(&t).0),
            });
            writeln!(out, "{line}")?;
            self.written += 1;
        }
        Ok(())
    }

    fn finish(self) -> Result<Option<PathBuf>, IngestError> {
        match self.out {
            Some(mut out) => {
                out.flush()?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Rejects events whose `data.source` is not `source`.
fn check_source(source: &str, events: Vec<SourceEvent>) -> (Vec<SourceEvent>, Vec<Rejection>) {
    let mut ok = Vec::with_capacity(events.len());
    let mut bad = Vec::new();
    for e in events {
        match e.data_source() {
            Some(s) if s == source => ok.push(e),
            Some(_) => bad.push(Rejection::new(
                e.position,
                Some(&e.id),
                "/data/source",
                "the record's source is not the one being imported (--source)",
            )),
            // Missing: the pipeline's validation reports it with the record's other problems.
            None => ok.push(e),
        }
    }
    (ok, bad)
}

/// Imports a file through the pipeline. `progress(done, total)` is called after every chunk
/// (lines or rows). See the module documentation.
pub async fn run_import(
    args: ImportArgs,
    pipeline: &Pipeline,
    ctx: &AccessContext,
    mut progress: impl FnMut(u64, u64),
) -> Result<ImportSummary, IngestError> {
    let started = Instant::now();
    let batch_events = args.batch_events.max(1);
    let mut rejects = RejectWriter::new(args.reject_path())?;
    let mut report = BatchReport::default();
    let lines;
    match extension(&args.file).as_str() {
        "ndjson" | "jsonl" => {
            let total = BufReader::new(std::fs::File::open(&args.file)?)
                .lines()
                .count() as u64;
            progress(0, total);
            let mut chunks = Chunks {
                lines: BufReader::new(std::fs::File::open(&args.file)?).lines(),
                line: 0,
                ended: false,
                batch_events,
            };
            in_flight(
                &args.source,
                pipeline,
                ctx,
                chunks.by_ref(),
                NdjsonChunk::events,
                |NdjsonChunk { early, texts, upto }, mut r| {
                    r.add_rejections(early);
                    r.rejected.sort_by_key(|x| x.position);
                    rejects.write(&r.rejected, |n| texts.get(&n).cloned())?;
                    report.absorb(r);
                    progress(upto, total);
                    Ok(())
                },
            )
            .await?;
            progress(chunks.line, total);
            lines = chunks.line;
        }
        "csv" => {
            let text = std::fs::read_to_string(&args.file)?;
            let line_texts: Vec<&str> = text.lines().collect();
            let text_of = |n: u64| {
                line_texts
                    .get((n as usize).wrapping_sub(1))
                    .map(|s| (*s).to_owned())
            };
            let batch = csv::read_bookings(&text, Some(&args.source))?;
            lines = batch.rows;
            progress(0, batch.rows);
            rejects.write(&batch.rejections, text_of)?;
            report.add_rejections(batch.rejections);
            let mut done = 0u64;
            let reads = batch.bookings.chunks(batch_events).map(|chunk| {
                let events: Vec<SourceEvent> = chunk.iter().map(|b| b.event.clone()).collect();
                Ok((events, chunk))
            });
            let again =
                |chunk: &&[csv::CsvBooking]| chunk.iter().map(|b| b.event.clone()).collect();
            in_flight(&args.source, pipeline, ctx, reads, again, |chunk, mut r| {
                let by_id: HashMap<&str, &csv::CsvBooking> =
                    chunk.iter().map(|b| (b.event.id.as_str(), b)).collect();
                r.rejected = r
                    .rejected
                    .into_iter()
                    .map(
                        |x| match x.event_id.as_deref().and_then(|id| by_id.get(id)) {
                            Some(b) => b.locate(x),
                            None => x,
                        },
                    )
                    .collect();
                rejects.write(&r.rejected, text_of)?;
                report.absorb(r);
                done += chunk
                    .iter()
                    .map(|b| b.segment_lines.len() as u64)
                    .sum::<u64>();
                progress(done, batch.rows);
                Ok(())
            })
            .await?;
            progress(batch.rows, batch.rows);
        }
        _ => return Err(IngestError::UnsupportedFile),
    }
    let reject_file = rejects.finish()?;
    let summary = ImportSummary {
        file: args.file,
        lines,
        report,
        reject_file,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        lines = summary.lines,
        recorded = summary.report.recorded,
        unchanged = summary.report.unchanged,
        rejected = summary.report.rejected_events,
        "import finished"
    );
    Ok(summary)
}

/// Chunks an import keeps in the pipeline at once: one records, the next waits for its turn to
/// record, and the one after it links (see [`crate::pipeline`]), so the write slot and both
/// cores of a small machine have work.
const IN_FLIGHT: usize = 3;

/// An NDJSON file read `batch_events` non-blank lines at a time: each item is a chunk's
/// events with what is needed to report on it.
struct Chunks {
    lines: std::io::Lines<BufReader<std::fs::File>>,
    /// Non-blank lines per chunk.
    batch_events: usize,
    /// Lines read so far (1-based number of the last one).
    line: u64,
    /// The file has been read to its end.
    ended: bool,
}

/// What reporting on an NDJSON chunk needs: the lines that did not parse, every line's text
/// (for the reject file) and the chunk's last line (for progress).
struct NdjsonChunk {
    early: Vec<Rejection>,
    texts: HashMap<u64, String>,
    upto: u64,
}

impl NdjsonChunk {
    /// The chunk's events parsed again from its lines (to retry it).
    fn events(&self) -> Vec<SourceEvent> {
        let mut lines: Vec<(&u64, &String)> = self.texts.iter().collect();
        lines.sort_unstable_by_key(|(n, _)| **n);
        lines
            .into_iter()
            .filter_map(|(n, text)| parse_text(*n, text).ok())
            .collect()
    }
}

impl Iterator for Chunks {
    type Item = Result<(Vec<SourceEvent>, NdjsonChunk), IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut events = Vec::with_capacity(self.batch_events);
        let mut early = Vec::new();
        let mut texts = HashMap::with_capacity(self.batch_events);
        while !self.ended && texts.len() < self.batch_events {
            let line = match self.lines.next() {
                None => {
                    self.ended = true;
                    break;
                }
                Some(Err(e)) => return Some(Err(e.into())),
                Some(Ok(line)) => line,
            };
            self.line += 1;
            if line.trim().is_empty() {
                continue;
            }
            match parse_text(self.line, &line) {
                Ok(e) => events.push(e),
                Err(r) => early.extend(r),
            }
            texts.insert(self.line, line);
        }
        if texts.is_empty() {
            return None;
        }
        let upto = self.line;
        Some(Ok((events, NdjsonChunk { early, texts, upto })))
    }
}

/// Feeds chunks to the pipeline with up to [`IN_FLIGHT`] of them in it at once, and hands each
/// chunk's report (events naming another source already rejected) with the chunk's own context
/// `C` to `done`, in file order. A chunk is submitted only once the one before it holds the
/// linker, so chunks link and record in file order.
///
/// A chunk that fails for a passing reason ([`IngestError::is_transient`]: the database briefly
/// away, or another writer's batch failing ahead of it) is not the end of the import: it and
/// every chunk behind it (which record nothing before it succeeds) are retried one at a time, in
/// order, with back-off — their events rebuilt by `again` from the chunk's context — and then
/// the import goes on. Another failure, or a passing one that outlasts [`RETRIES`], ends the
/// import once the chunks already submitted have ended (each is crash-safe either way); running
/// it again completes it.
async fn in_flight<C>(
    source: &str,
    pipeline: &Pipeline,
    ctx: &AccessContext,
    chunks: impl Iterator<Item = Result<(Vec<SourceEvent>, C), IngestError>>,
    again: impl Fn(&C) -> Vec<SourceEvent>,
    mut done: impl FnMut(C, BatchReport) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut queue: VecDeque<Submitted<C>> = VecDeque::with_capacity(IN_FLIGHT);
    let mut sequence = Sequence::default();
    let outcome = async {
        for chunk in chunks {
            let (events, context) = chunk?;
            // Resolves when the previous chunk holds the linker, or has ended.
            let ticket = sequence.next().await;
            let (ok, mismatched) = check_source(source, events);
            let handle = tokio::spawn({
                let (pipeline, ctx) = (pipeline.clone(), ctx.clone());
                async move { pipeline.ingest_in_order(ok, &ctx, ticket).await }
            });
            queue.push_back(Submitted {
                handle,
                mismatched,
                context,
            });
            while queue.len() >= IN_FLIGHT {
                if end_oldest(&mut queue, source, pipeline, ctx, &again, &mut done).await? {
                    // Retried in order: the chunks ahead of the next one have all ended.
                    sequence = Sequence::default();
                }
            }
        }
        while !queue.is_empty() {
            end_oldest(&mut queue, source, pipeline, ctx, &again, &mut done).await?;
        }
        Ok(())
    }
    .await;
    if outcome.is_err() {
        for s in queue {
            let _ = s.handle.await;
        }
    }
    outcome
}

/// How many times an import retries a chunk that failed for a passing reason, waiting 0.2 s,
/// then twice as long each time up to 5 s (about 20 s in all), before it gives up.
const RETRIES: u32 = 7;

/// A chunk in the pipeline.
struct Submitted<C> {
    handle: tokio::task::JoinHandle<Result<BatchReport, IngestError>>,
    /// Its events that named another source (rejected before the pipeline).
    mismatched: Vec<Rejection>,
    context: C,
}

/// Waits for the oldest chunk in flight and reports it. If it failed for a passing reason, it
/// and every chunk behind it are retried in order (see [`in_flight`]); returns whether that
/// happened (the queue is then empty).
async fn end_oldest<C>(
    queue: &mut VecDeque<Submitted<C>>,
    source: &str,
    pipeline: &Pipeline,
    ctx: &AccessContext,
    again: &impl Fn(&C) -> Vec<SourceEvent>,
    done: &mut impl FnMut(C, BatchReport) -> Result<(), IngestError>,
) -> Result<bool, IngestError> {
    let oldest = queue.pop_front().expect("a chunk in flight");
    let failure = match joined(oldest.handle).await {
        Ok(mut r) => {
            r.add_rejections(oldest.mismatched);
            done(oldest.context, r)?;
            return Ok(false);
        }
        Err(e) if e.is_transient() => e,
        Err(e) => return Err(e),
    };
    tracing::warn!(error = %failure, "import chunk failed; retrying it and the chunks behind it in order");
    // The chunks behind it record nothing before it succeeded (their turn never came); wait for
    // them all to end. (One that did succeed is reported as it is, in its place.)
    let mut behind = vec![(Err(failure), oldest.mismatched, oldest.context)];
    for s in queue.drain(..) {
        behind.push((joined(s.handle).await, s.mismatched, s.context));
    }
    let lasting = |r: &Result<BatchReport, IngestError>| matches!(r, Err(e) if !e.is_transient());
    if let Some(i) = behind.iter().position(|(r, _, _)| lasting(r))
        && let Err(e) = behind.swap_remove(i).0
    {
        return Err(e);
    }
    for (outcome, mismatched, context) in behind {
        let mut report = match outcome {
            Ok(r) => r,
            Err(_) => retried(pipeline, ctx, check_source(source, again(&context)).0).await?,
        };
        report.add_rejections(mismatched);
        done(context, report)?;
    }
    Ok(true)
}

/// Ingests `events` outside any sequence, retrying passing failures with back-off (see
/// [`RETRIES`]).
async fn retried(
    pipeline: &Pipeline,
    ctx: &AccessContext,
    events: Vec<SourceEvent>,
) -> Result<BatchReport, IngestError> {
    let mut wait = Duration::from_millis(200);
    let mut attempt = 0;
    loop {
        match pipeline.ingest(events.clone(), ctx).await {
            Err(e) if e.is_transient() && attempt < RETRIES => {
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "import chunk failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

/// A submitted chunk's outcome (a panic in it is passed on).
async fn joined(
    handle: tokio::task::JoinHandle<Result<BatchReport, IngestError>>,
) -> Result<BatchReport, IngestError> {
    match handle.await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(IngestError::Identity(format!("import batch stopped: {e}"))),
    }
}
