//! The durable NATS JetStream consumer of source-system CloudEvents.
//!
//! Source systems publish one CloudEvent per message on `sources.<system>.<kind>` (any subject
//! under [`ConsumerSettings::subject_prefix`]); the stream [`ConsumerSettings::stream`] keeps them
//! until Aloft has processed them. Aloft reads them with a durable pull consumer
//! ([`ConsumerSettings::durable`]), so messages published while Aloft is down are processed when
//! it returns.
//!
//! Delivery is at least once, processing exactly once: messages are acknowledged only after the
//! pipeline committed them, and the pipeline skips event ids it has processed before. Messages are
//! taken in micro-batches (up to [`ConsumerSettings::batch_size`], or whatever arrived within
//! [`ConsumerSettings::linger`] of the first one): the batch amortises the database round trips,
//! the linger bounds the added latency.
//!
//! A message that cannot be processed — not a CloudEvent, an invalid record, nobody to link it to
//! — goes to the **dead-letter subject** ([`ConsumerSettings::dead_letter_subject`], kept by its
//! own stream) with its original payload and the headers `Aloft-Dead-Letter-Reason` (the
//! rejections as a JSON array), `Aloft-Original-Subject` and `Aloft-Stream-Sequence`; then it is
//! acknowledged and the consumer goes on. A database outage is different: nothing is
//! acknowledged, the batch is retried after a back-off, and nothing is lost. A batch that fails
//! for a lasting reason (an error that is neither a bad event nor an outage) is processed again
//! one message at a time, in order; a message that still fails on its own is left for
//! redelivery, and dead-lettered with the error as its reason once it has failed alone on three
//! deliveries, so one such event never holds up or loops the others.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use futures_util::StreamExt;

use aloft_kernel::AccessContext;

use crate::IngestError;
use crate::envelope::{Rejection, SourceEvent, parse_text};
use crate::pipeline::{Pipeline, Sequence, Ticket};

/// Header naming why a message was dead-lettered (a JSON array of rejections).
pub const REASON_HEADER: &str = "Aloft-Dead-Letter-Reason";

/// Where and how to consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// NATS server URL (`nats://127.0.0.1:4222`; `tls://` for TLS).
    pub url: String,
    /// The stream holding source events (created if missing).
    pub stream: String,
    /// Subjects `<prefix>.>` are source events.
    pub subject_prefix: String,
    /// The durable consumer's name: its position survives restarts.
    pub durable: String,
    /// Where unprocessable messages go.
    pub dead_letter_subject: String,
    /// The stream keeping dead letters (created if missing).
    pub dead_letter_stream: String,
    /// Most messages per pipeline batch.
    pub batch_size: usize,
    /// How long to wait for more messages after the first of a batch.
    pub linger: Duration,
    /// TLS to the server (the same settings as the publisher's).
    pub tls: aloft_broker::NatsTls,
}

impl ConsumerSettings {
    /// Defaults: stream `ALOFT_SOURCES` on `sources.>`, durable `aloft-ingest`, dead letters on
    /// `dead_letter.sources` in `ALOFT_SOURCES_DLQ` (outside `aloft.>`, which the outbox stream
    /// owns), batches of up to 2,000, 20 ms linger. A batch is whatever arrived within the linger and while the
    /// previous batch was processed, so batches stay small at low rates and grow under load:
    /// a larger batch costs less per event (fewer commits), so a consumer that fell behind
    /// catches up instead of hitting a cap (at 500, batches hit the cap at 2,000 events/s on a
    /// 2-core machine and the latency tail passed 1 s whenever the machine slowed).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: "ALOFT_SOURCES".into(),
            subject_prefix: "sources".into(),
            durable: "aloft-ingest".into(),
            dead_letter_subject: "dead_letter.sources".into(),
            dead_letter_stream: "ALOFT_SOURCES_DLQ".into(),
            batch_size: 2_000,
            linger: Duration::from_millis(20),
            tls: aloft_broker::NatsTls::default(),
        }
    }
}

/// A connected consumer.
pub struct SourceConsumer {
    settings: ConsumerSettings,
    client: async_nats::Client,
    context: jetstream::Context,
    consumer: jetstream::consumer::Consumer<pull::Config>,
}

impl std::fmt::Debug for SourceConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceConsumer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn broker(what: &str) -> impl Fn(String) -> IngestError + '_ {
    move |e| IngestError::Broker(format!("{what}: {e}"))
}

impl SourceConsumer {
    /// Connects and creates the streams and the durable consumer if they do not exist.
    pub async fn connect(settings: ConsumerSettings) -> Result<Self, IngestError> {
        let client = settings
            .tls
            .options("aloft-ingest")
            .connection_timeout(Duration::from_secs(2))
            .connect(settings.url.as_str())
            .await
            .map_err(|e| broker("connect")(e.to_string()))?;
        let context = jetstream::new(client.clone());
        let source = context
            .get_or_create_stream(stream::Config {
                name: settings.stream.clone(),
                subjects: vec![format!("{}.>", settings.subject_prefix)],
                // Producers may set Nats-Msg-Id to the event id: JetStream then drops
                // re-publishes within the window, and the ledger catches the rest.
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|e| broker("source stream")(e.to_string()))?;
        context
            .get_or_create_stream(stream::Config {
                name: settings.dead_letter_stream.clone(),
                subjects: vec![settings.dead_letter_subject.clone()],
                ..Default::default()
            })
            .await
            .map_err(|e| broker("dead-letter stream")(e.to_string()))?;
        let consumer = source
            .get_or_create_consumer(
                &settings.durable,
                pull::Config {
                    durable_name: Some(settings.durable.clone()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(60),
                    max_ack_pending: 20_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| broker("consumer")(e.to_string()))?;
        Ok(Self {
            settings,
            client,
            context,
            consumer,
        })
    }

    /// Leaves the broker cleanly: the drain withdraws the pending pull request (so the server
    /// stops handing this consumer messages it would never see, which would otherwise wait out
    /// the one-minute acknowledgement deadline before redelivery) and the flush writes the last
    /// acknowledgements out before the process goes away.
    async fn close(&self) {
        if self.client.drain().await.is_ok() {
            let _ = self.client.flush().await;
        }
    }

    /// Consumes until `shutdown` resolves. Up to [`IN_FLIGHT`] batches are in the pipeline at
    /// once (one records while the next links), applied in the order read. When a batch fails,
    /// the batches behind it fail too before recording anything ([`Sequence`]); they are retried
    /// one by one, in order, until they succeed. Every batch taken is processed to the end
    /// (committed and acknowledged, or left for redelivery) before shutdown is honoured.
    pub async fn run(
        &self,
        pipeline: &Pipeline,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), IngestError> {
        tokio::pin!(shutdown);
        let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(IN_FLIGHT);
        let mut sequence = Sequence::default();
        loop {
            let mut messages = self
                .consumer
                .stream()
                .max_messages_per_batch(self.settings.batch_size)
                .heartbeat(Duration::from_secs(5))
                .expires(Duration::from_secs(30))
                .messages()
                .await
                .map_err(|e| broker("pull")(e.to_string()))?;
            loop {
                if in_flight.len() >= IN_FLIGHT {
                    // Wait for a free place before reading on, so the next batch takes
                    // everything that arrived meanwhile.
                    let oldest = in_flight.pop_front().expect("full");
                    let ended = (oldest.task).await;
                    self.after(
                        pipeline,
                        oldest.messages,
                        ended,
                        &mut in_flight,
                        &mut sequence,
                    )
                    .await;
                    continue;
                }
                let first = tokio::select! {
                    _ = &mut shutdown => {
                        self.settle(pipeline, in_flight).await;
                        self.close().await;
                        return Ok(());
                    }
                    ended = async { (&mut in_flight.front_mut().expect("checked").task).await },
                        if !in_flight.is_empty() =>
                    {
                        let oldest = in_flight.pop_front().expect("checked");
                        self.after(pipeline, oldest.messages, ended, &mut in_flight, &mut sequence)
                            .await;
                        continue;
                    }
                    m = messages.next() => m,
                };
                let first = match first {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "source stream interrupted; resubscribing");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        break;
                    }
                    None => break,
                };
                let mut batch = vec![first];
                let deadline = tokio::time::Instant::now() + self.settings.linger;
                while batch.len() < self.settings.batch_size {
                    match tokio::time::timeout_at(deadline, messages.next()).await {
                        Ok(Some(Ok(m))) => batch.push(m),
                        _ => break,
                    }
                }
                // Starts once the batch ahead holds the linker, so batches link in order.
                let ticket = sequence.next().await;
                let task = tokio::spawn(process(
                    self.dead_letters(),
                    pipeline.clone(),
                    batch.clone(),
                    Some(ticket),
                ));
                in_flight.push_back(InFlight {
                    messages: batch,
                    task,
                });
            }
        }
    }

    /// Handles the end of the oldest batch in flight. If it failed, the batches behind it have
    /// failed too, or will, before recording anything: all are retried in order, and the
    /// sequence starts afresh.
    async fn after(
        &self,
        pipeline: &Pipeline,
        messages: Vec<jetstream::Message>,
        ended: Result<Result<(), IngestError>, tokio::task::JoinError>,
        in_flight: &mut VecDeque<InFlight>,
        sequence: &mut Sequence,
    ) {
        if succeeded(ended) {
            return;
        }
        let mut failed = vec![messages];
        failed.extend(self.finish(in_flight.drain(..)).await);
        self.retry_in_order(pipeline, failed).await;
        *sequence = Sequence::default();
    }

    /// Waits for the batches in flight; those that failed are retried in order.
    async fn settle(&self, pipeline: &Pipeline, in_flight: VecDeque<InFlight>) {
        let failed = self.finish(in_flight).await;
        self.retry_in_order(pipeline, failed).await;
    }

    /// Waits for these batches to end; returns the messages of those that failed, in order.
    async fn finish(
        &self,
        batches: impl IntoIterator<Item = InFlight>,
    ) -> Vec<Vec<jetstream::Message>> {
        let mut failed = Vec::new();
        for b in batches {
            if !succeeded(b.task.await) {
                failed.push(b.messages);
            }
        }
        failed
    }

    /// Processes these batches one at a time, in order, each until it succeeds: a transient
    /// failure (database or broker away) is retried with back-off, since the messages'
    /// acknowledgement deadline is long. A batch that fails for a lasting reason is taken apart
    /// and its messages processed one at a time, in order, so that the one that cannot be
    /// processed is found; that one goes to the dead-letter subject with the error as its
    /// reason, and the others are processed as usual.
    async fn retry_in_order(&self, pipeline: &Pipeline, batches: Vec<Vec<jetstream::Message>>) {
        let mut queue: VecDeque<Vec<jetstream::Message>> = batches.into();
        while let Some(batch) = queue.pop_front() {
            let mut backoff = Duration::from_millis(200);
            loop {
                let attempt = process(self.dead_letters(), pipeline.clone(), batch.clone(), None);
                match attempt.await {
                    Ok(()) => break,
                    Err(e) if e.is_transient() => {
                        tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "source batch failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                    Err(e) if batch.len() > 1 => {
                        tracing::error!(error = %e, messages = batch.len(), "source batch failed; processing its messages one at a time");
                        for m in batch.into_iter().rev() {
                            queue.push_front(vec![m]);
                        }
                        break;
                    }
                    Err(e) => {
                        self.give_up(&batch[0], &e).await;
                        break;
                    }
                }
            }
        }
    }

    /// A message that failed on its own for a lasting reason: left for redelivery the first
    /// [`LONE_FAILURES`] − 1 times (a cause that is not the event's own may have passed by
    /// then), then dead-lettered with the error as its reason and acknowledged. If the
    /// dead-letter subject cannot take it, it is left for redelivery instead.
    async fn give_up(&self, m: &jetstream::Message, error: &IngestError) {
        let (position, delivered) = m
            .info()
            .map(|i| (i.stream_sequence, i.delivered))
            .unwrap_or_default();
        if delivered < LONE_FAILURES {
            tracing::warn!(error = %error, position, delivered, "source event failed on its own; left for redelivery");
            let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
            return;
        }
        let event_id = std::str::from_utf8(&m.payload)
            .ok()
            .and_then(|text| parse_text(position, text).ok())
            .map(|e| e.id);
        let reason = [Rejection::new(
            position,
            event_id.as_deref(),
            "",
            format!("the event could not be processed: {error}"),
        )];
        tracing::error!(error = %error, position, "source event dead-lettered after failing on its own");
        let sent = self.dead_letters().send(m, &reason).await;
        let acked = match sent {
            Ok(()) => m.ack().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = acked {
            tracing::warn!(error = %e, "dead-lettering failed; left for redelivery");
            let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await;
        }
    }

    fn dead_letters(&self) -> DeadLetters {
        DeadLetters {
            context: self.context.clone(),
            subject: self.settings.dead_letter_subject.clone(),
            stream: self.settings.stream.clone(),
        }
    }
}

/// Deliveries after which a message that keeps failing on its own is dead-lettered.
const LONE_FAILURES: i64 = 3;

/// Batches the consumer keeps in the pipeline at once: one records while the next links.
const IN_FLIGHT: usize = 2;

/// A batch in the pipeline.
struct InFlight {
    messages: Vec<jetstream::Message>,
    task: tokio::task::JoinHandle<Result<(), IngestError>>,
}

/// Whether a batch's task succeeded; a failure is logged (a panic is passed on).
fn succeeded(ended: Result<Result<(), IngestError>, tokio::task::JoinError>) -> bool {
    match ended {
        Ok(Ok(())) => true,
        // The batch behind a failed one: the failure was logged for the batch ahead.
        Ok(Err(IngestError::OutOfTurn)) => false,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "source batch failed; retrying in order");
            false
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            tracing::warn!(error = %e, "source batch stopped; retrying in order");
            false
        }
    }
}

/// Where unprocessable messages go; a clonable part of the consumer for batch tasks.
#[derive(Clone)]
struct DeadLetters {
    context: jetstream::Context,
    subject: String,
    /// The source stream's name (de-duplicates a re-dead-lettered message).
    stream: String,
}

/// Processes one batch of messages: parse, ingest (in `ticket`'s order when given), dead-letter
/// what cannot be processed, acknowledge everything (only after the pipeline committed).
async fn process(
    dead_letters: DeadLetters,
    pipeline: Pipeline,
    batch: Vec<jetstream::Message>,
    ticket: Option<Ticket>,
) -> Result<(), IngestError> {
    let ctx = AccessContext::system("ingest-consumer");
    let mut events: Vec<SourceEvent> = Vec::with_capacity(batch.len());
    let mut rejections: HashMap<u64, Vec<Rejection>> = HashMap::new();
    let mut by_position: HashMap<u64, &jetstream::Message> = HashMap::new();
    for m in &batch {
        let position = m.info().map(|i| i.stream_sequence).unwrap_or_default();
        by_position.insert(position, m);
        match std::str::from_utf8(&m.payload) {
            Ok(text) => match parse_text(position, text) {
                Ok(e) => events.push(e),
                Err(r) => rejections.entry(position).or_default().extend(r),
            },
            Err(_) => rejections.entry(position).or_default().push(Rejection::new(
                position,
                None,
                "",
                "the message is not UTF-8 text",
            )),
        }
    }
    let report = match ticket {
        Some(ticket) => pipeline.ingest_in_order(events, &ctx, ticket).await?,
        None => pipeline.ingest(events, &ctx).await?,
    };
    for r in report.rejected {
        rejections.entry(r.position).or_default().push(r);
    }
    let dead_lettered = rejections.len();
    for (position, reasons) in &rejections {
        if let Some(m) = by_position.get(position) {
            dead_letters.send(m, reasons).await?;
        }
    }
    for m in &batch {
        m.ack().await.map_err(|e| broker("ack")(e.to_string()))?;
    }
    if dead_lettered > 0 {
        tracing::warn!(dead_lettered, "source events dead-lettered");
    }
    Ok(())
}

impl DeadLetters {
    async fn send(&self, m: &jetstream::Message, reasons: &[Rejection]) -> Result<(), IngestError> {
        let mut headers = async_nats::HeaderMap::new();
        let reason = serde_json::to_string(reasons).unwrap_or_else(|_| "[]".into());
        headers.insert(REASON_HEADER, reason.as_str());
        headers.insert("Aloft-Original-Subject", m.subject.as_str());
        if let Ok(info) = m.info() {
            headers.insert(
                "Aloft-Stream-Sequence",
                info.stream_sequence.to_string().as_str(),
            );
            // Re-dead-lettering after a crash between publish and ack is de-duplicated.
            headers.insert(
                "Nats-Msg-Id",
                format!("dlq-{}-{}", self.stream, info.stream_sequence).as_str(),
            );
        }
        self.context
            .publish_with_headers(self.subject.clone(), headers, m.payload.clone())
            .await
            .map_err(|e| broker("dead letter")(e.to_string()))?
            .await
            .map_err(|e| broker("dead letter")(e.to_string()))?;
        Ok(())
    }
}

/// Connects (retrying while the broker is away) and consumes until `shutdown` resolves; for the
/// server, which must not fail because the broker is down.
pub async fn run_consumer(
    settings: ConsumerSettings,
    pipeline: Pipeline,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(500);
    loop {
        let attempt = async {
            let consumer = SourceConsumer::connect(settings.clone()).await?;
            tracing::info!(stream = %settings.stream, durable = %settings.durable, "consuming source events");
            consumer.run(&pipeline, &mut shutdown).await
        };
        match attempt.await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "source consumer unavailable");
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
