//! The outbox relay against the real NATS JetStream server on 127.0.0.1:4222, on every storage
//! backend: events arrive once each, in order, survive a broker outage, and a re-publish after a
//! crash (published but not yet stamped) is de-duplicated by event id.

use std::time::Duration;

use aloft_broker::{NatsSettings, NatsSink};
use aloft_kernel::testing::{FlakyProxy, TestDatabase, backends};
use aloft_kernel::{CloudEvent, Database, EventBus, OutboxRelay};

fn nats_url() -> String {
    std::env::var("ALOFT_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn unique_settings(url: String) -> NatsSettings {
    let id = uuid::Uuid::new_v4().simple().to_string();
    NatsSettings {
        stream: format!("ALOFT_TEST_{id}"),
        subject_prefix: format!("aloft_test_{id}"),
        ack_timeout: Duration::from_secs(1),
        ..NatsSettings::new(url)
    }
}

async fn write_events(db: &Database, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut tx = db.begin_write().await.unwrap();
        let e = CloudEvent::new(
            "/test",
            "aloft.customer.created",
            Some(format!("c{i}")),
            serde_json::json!({ "n": i }),
        );
        tx.emit(&e).await.unwrap();
        tx.commit().await.unwrap();
        ids.push(e.id);
    }
    ids
}

/// Reads every message stored in the stream: (event id, event).
async fn stream_contents(settings: &NatsSettings) -> Vec<(String, CloudEvent)> {
    let client = async_nats::connect(nats_url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream(&settings.stream).await.unwrap();
    let mut out = Vec::new();
    let last = stream.cached_info().state.last_sequence;
    for seq in 1..=last {
        if let Ok(msg) = stream.get_raw_message(seq).await {
            let event: CloudEvent = serde_json::from_slice(&msg.payload).unwrap();
            out.push((event.id.clone(), event));
        }
    }
    out
}

async fn delete_stream(settings: &NatsSettings) {
    if let Ok(client) = async_nats::connect(nats_url()).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(&settings.stream)
            .await;
    }
}

#[tokio::test]
async fn events_reach_jetstream_once_each_in_order() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let settings = unique_settings(nats_url());
        let sink = NatsSink::connect(settings.clone()).await.unwrap();
        let relay = OutboxRelay::new(t.db.clone(), sink, EventBus::default());
        let ids = write_events(&t.db, 30).await;
        let pass = relay.pass().await.unwrap();
        assert_eq!(pass.published, 30, "{pass:?}");
        assert_eq!(aloft_kernel::events::backlog(&t.db).await.unwrap(), 0);

        // Simulate a crash after publishing but before stamping: the relay publishes again.
        sqlx::query("UPDATE outbox SET published_at = NULL")
            .execute(t.db.pool())
            .await
            .unwrap();
        assert_eq!(relay.pass().await.unwrap().published, 30);

        let got = stream_contents(&settings).await;
        let got_ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            got_ids,
            ids.iter().map(String::as_str).collect::<Vec<_>>(),
            "once each, in commit order ({backend:?})"
        );
        assert_eq!(got[0].1.event_type, "aloft.customer.created");
        delete_stream(&settings).await;
    }
}

#[tokio::test]
async fn a_broker_outage_delays_events_but_loses_none() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let proxy = FlakyProxy::start("127.0.0.1:4222").await;
        let settings = unique_settings(format!("nats://{}", proxy.addr()));
        let direct = NatsSettings {
            url: nats_url(),
            ..settings.clone()
        };
        let sink = NatsSink::connect(settings.clone()).await.unwrap();
        let bus = EventBus::default();
        let mut local = bus.subscribe();
        let relay = OutboxRelay::new(t.db.clone(), sink, bus);
        let mut ids = write_events(&t.db, 5).await;
        assert_eq!(relay.pass().await.unwrap().published, 5);

        proxy.cut();
        // Writes keep succeeding while the broker is unreachable; events wait in the outbox.
        ids.extend(write_events(&t.db, 5).await);
        let during = relay.pass().await.unwrap();
        assert!(during.failed.is_some(), "{during:?}");
        assert!(aloft_kernel::events::backlog(&t.db).await.unwrap() >= 5);

        proxy.restore();
        let mut published = 0;
        for _ in 0..60 {
            if aloft_kernel::events::backlog(&t.db).await.unwrap() == 0 {
                break;
            }
            published += relay.pass().await.map(|p| p.published).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(
            aloft_kernel::events::backlog(&t.db).await.unwrap(),
            0,
            "backlog drains after the outage"
        );
        assert!(published >= 5);

        // An idempotent consumer (keyed by event id) sees every event exactly once.
        let got = stream_contents(&direct).await;
        let mut unique: Vec<String> = got.iter().map(|(id, _)| id.clone()).collect();
        unique.sort();
        unique.dedup();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(unique, expected, "{backend:?}");
        // Published events are also dispatched in-process.
        assert!(local.try_recv().is_ok());
        delete_stream(&direct).await;
    }
}
