//! Publishes Aloft's outbox to NATS JetStream, the enterprise message broker.
//!
//! Each CloudEvent goes to subject `<prefix>.<type without "aloft.">` (e.g.
//! `aloft.customer.created`) on a JetStream stream that captures `<prefix>.>`. The event id is sent
//! as `Nats-Msg-Id`, so JetStream drops a re-publish of the same event inside its duplicate window,
//! and the relay marks an event published only after JetStream acknowledged it (stored on disk).
//!
//! Invariants: connecting never blocks start-up — a broker outage at boot or later only delays
//! events, which wait in the outbox; the NATS client reconnects by itself.

use std::path::PathBuf;
use std::time::Duration;

use aloft_kernel::{EventSink, PendingEvent, SinkError};
use async_nats::jetstream::{self, stream};
use tokio::sync::OnceCell;

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct NatsSettings {
    /// Server URL, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// JetStream stream name (created if missing).
    pub stream: String,
    /// Subject prefix; the stream captures `<prefix>.>`.
    pub subject_prefix: String,
    /// How long to wait for JetStream's acknowledgement.
    pub ack_timeout: Duration,
    /// TLS to the server (a `tls://` URL or a CA file requires it).
    pub tls: NatsTls,
}

/// TLS for connections to NATS. With a CA file the server's certificate must chain to it (a
/// private CA); without one the compiled-in web PKI roots are used. A client certificate and
/// key give mutual TLS where the server asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsTls {
    /// PEM file of the CA(s) that sign the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain (mutual TLS).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub client_key: Option<PathBuf>,
}

impl NatsTls {
    /// Client options with these TLS settings applied: TLS is required as soon as anything is
    /// configured, so a server that offers plain text is refused rather than used silently.
    pub fn options(&self, name: &str) -> async_nats::ConnectOptions {
        let mut options = async_nats::ConnectOptions::new().name(name);
        if let Some(ca) = &self.ca_file {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            options = options
                .add_client_certificate(cert.clone(), key.clone())
                .require_tls(true);
        }
        options
    }
}

impl NatsSettings {
    /// Defaults: stream `ALOFT`, prefix `aloft`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: "ALOFT".into(),
            subject_prefix: "aloft".into(),
            ack_timeout: Duration::from_secs(5),
            tls: NatsTls::default(),
        }
    }

    /// The subject an event type is published on.
    pub fn subject_for(&self, event_type: &str) -> String {
        let tail = event_type.strip_prefix("aloft.").unwrap_or(event_type);
        format!("{}.{tail}", self.subject_prefix)
    }
}

/// Why the broker could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The URL or options are invalid.
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
}

/// An [`EventSink`] backed by JetStream.
pub struct NatsSink {
    settings: NatsSettings,
    context: jetstream::Context,
    stream_ready: OnceCell<()>,
}

impl NatsSink {
    /// Starts a client that connects (and reconnects) in the background.
    pub async fn connect(settings: NatsSettings) -> Result<Self, BrokerError> {
        let client = settings
            .tls
            .options("aloft")
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .connect(settings.url.as_str())
            .await
            .map_err(|e| BrokerError::Connect(e.to_string()))?;
        let mut context = jetstream::new(client);
        context.set_timeout(settings.ack_timeout);
        Ok(Self {
            settings,
            context,
            stream_ready: OnceCell::new(),
        })
    }

    async fn ensure_stream(&self) -> Result<(), SinkError> {
        self.stream_ready
            .get_or_try_init(|| async {
                self.context
                    .get_or_create_stream(stream::Config {
                        name: self.settings.stream.clone(),
                        subjects: vec![format!("{}.>", self.settings.subject_prefix)],
                        duplicate_window: Duration::from_secs(120),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ())
                    .map_err(|e| SinkError(format!("cannot create stream: {e}")))
            })
            .await
            .map(|_| ())
    }
}

impl EventSink for NatsSink {
    async fn publish(&self, event: &PendingEvent) -> Result<(), SinkError> {
        self.ensure_stream().await?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.event.id.as_str());
        headers.insert("Content-Type", "application/cloudevents+json");
        let subject = self.settings.subject_for(&event.event.event_type);
        let ack = self
            .context
            .publish_with_headers(subject, headers, event.payload.clone().into_bytes().into())
            .await
            .map_err(|e| SinkError(format!("publish: {e}")))?;
        ack.await
            .map_err(|e| SinkError(format!("no acknowledgement: {e}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_event_types() {
        let mut s = NatsSettings::new("nats://x");
        assert_eq!(
            s.subject_for("aloft.customer.created"),
            "aloft.customer.created"
        );
        s.subject_prefix = "t1".into();
        assert_eq!(
            s.subject_for("aloft.customer.updated"),
            "t1.customer.updated"
        );
    }
}
