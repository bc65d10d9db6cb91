//! The JetStream consumer against the real NATS server on 127.0.0.1:4222, on every storage
//! backend: source events reach the timeline, a redelivered event id is processed once, poisoned
//! events go to the dead-letter subject with their reason and the consumer goes on, an event the
//! database refuses is found among its batch and dead-lettered alone, and events published while
//! Aloft is stopped are processed when it returns.

mod common;

use std::time::Duration;

use aloft_customers::CustomerQuery;
use aloft_ingest::Pipeline;
use aloft_ingest::consumer::{ConsumerSettings, REASON_HEADER, run_consumer};
use aloft_kernel::testing::{TestDatabase, backends};
use async_nats::jetstream;
use common::stores;
use serde_json::{Value, json};

fn nats_url() -> String {
    std::env::var("ALOFT_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn unique_settings() -> ConsumerSettings {
    let id = uuid::Uuid::new_v4().simple().to_string();
    ConsumerSettings {
        stream: format!("SRC_TEST_{id}"),
        subject_prefix: format!("src_test_{id}"),
        durable: format!("ingest_{id}"),
        dead_letter_subject: format!("dlq_test_{id}"),
        dead_letter_stream: format!("DLQ_TEST_{id}"),
        ..ConsumerSettings::new(nats_url())
    }
}

fn call(id: &str, loyalty: &str, name: &str) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "/voice/genesys", "type": "com.airline.voice.call",
        "loyaltynumber": loyalty, "passengername": name,
        "data": {"source": "genesys", "source_record_id": id, "channel": "call",
                 "direction": "inbound", "occurred_at": "2026-03-01T10:00:00Z"}
    })
}

async fn publish(js: &jetstream::Context, subject: &str, payload: String) {
    js.publish(subject.to_owned(), payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

async fn wait_for(mut check: impl AsyncFnMut() -> bool, what: &str) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn dead_letters(js: &jetstream::Context, stream: &str) -> Vec<(String, Value)> {
    let Ok(mut s) = js.get_stream(stream).await else {
        return vec![];
    };
    let last = s.info().await.unwrap().state.last_sequence;
    let mut out = Vec::new();
    for seq in 1..=last {
        if let Ok(m) = s.get_raw_message(seq).await {
            let reason = m
                .headers
                .get(REASON_HEADER)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default();
            out.push((
                String::from_utf8_lossy(&m.payload).into_owned(),
                serde_json::from_str(&reason).unwrap_or(Value::Null),
            ));
        }
    }
    out
}

#[tokio::test]
async fn source_events_reach_the_timeline_and_poisoned_ones_are_dead_lettered() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, travel) = stores(&t.db);
        let settings = unique_settings();
        let js = jetstream::new(async_nats::connect(nats_url()).await.unwrap());

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let consumer = tokio::spawn(run_consumer(settings.clone(), pipeline.clone(), async {
            let _ = stopped.await;
        }));
        // The consumer creates the stream; wait for it before publishing.
        wait_for(
            async || js.get_stream(&settings.stream).await.is_ok(),
            "the source stream",
        )
        .await;
        let subject = format!("{}.voice.call", settings.subject_prefix);
        publish(
            &js,
            &subject,
            call("ev-1", "AL300000001", "OKAFOR/NGOZIMS").to_string(),
        )
        .await;
        publish(&js, &subject, "{ this is not json".into()).await;
        let mut bad = call("ev-2", "AL300000001", "OKAFOR/NGOZIMS");
        bad["data"]["channel"] = json!("pigeon");
        publish(&js, &subject, bad.to_string()).await;
        // Redelivered by the source: processed once.
        publish(
            &js,
            &subject,
            call("ev-1", "AL300000001", "OKAFOR/NGOZIMS").to_string(),
        )
        .await;
        publish(
            &js,
            &subject,
            call("ev-3", "AL300000001", "OKAFOR/NGOZIMS").to_string(),
        )
        .await;

        let find = async || {
            customers
                .search(
                    &CustomerQuery {
                        loyalty_number: Some("AL300000001".into()),
                        ..CustomerQuery::default()
                    },
                    aloft_customers::Reader::System,
                )
                .await
                .unwrap()
                .items
                .first()
                .map(|c| aloft_travel::CustomerId::from_uuid(c.id.as_uuid()))
        };
        wait_for(
            async || match find().await {
                Some(c) => travel.timeline_len(c).await.unwrap() == 2,
                None => false,
            },
            "two calls on the timeline",
        )
        .await;
        wait_for(
            async || dead_letters(&js, &settings.dead_letter_stream).await.len() == 2,
            "two dead letters",
        )
        .await;
        let dead = dead_letters(&js, &settings.dead_letter_stream).await;
        assert!(dead.iter().any(|(p, r)| {
            p.starts_with("{ this is not")
                && r[0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("not a JSON document")
        }));
        assert!(dead.iter().any(|(p, r)| p.contains("pigeon")
            && r[0]["pointer"] == "/data/channel"
            && r[0]["event_id"] == "ev-2"));

        // Stop Aloft; publish; start again: nothing is lost.
        let _ = stop.send(());
        consumer.await.unwrap();
        // Stopped as the broker sees it: no pull request waiting (the consumer withdrew its own).
        wait_for(
            async || {
                let mut durable: jetstream::consumer::PullConsumer = js
                    .get_stream(&settings.stream)
                    .await
                    .unwrap()
                    .get_consumer(&settings.durable)
                    .await
                    .unwrap();
                durable.info().await.unwrap().num_waiting == 0
            },
            "the broker to see the consumer gone",
        )
        .await;
        publish(
            &js,
            &subject,
            call("ev-4", "AL300000001", "OKAFOR/NGOZIMS").to_string(),
        )
        .await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let restarted = Pipeline::new(t.db.clone(), customers.clone(), travel.clone());
        let consumer = tokio::spawn(run_consumer(settings.clone(), restarted, async {
            let _ = stopped.await;
        }));
        wait_for(
            async || travel.timeline_len(find().await.unwrap()).await.unwrap() == 3,
            "the call published while Aloft was stopped",
        )
        .await;
        assert_eq!(customers.count().await.unwrap(), 1);
        let _ = stop.send(());
        consumer.await.unwrap();
        let _ = js.delete_stream(&settings.stream).await;
        let _ = js.delete_stream(&settings.dead_letter_stream).await;
    }
}

/// Makes the database refuse to store the record `ev-poison` (a lasting error that is neither a
/// bad event nor an outage, as a bug or a constraint would give).
async fn refuse_poison(t: &TestDatabase) {
    let statements: &[&str] = match t.db.backend() {
        aloft_kernel::Backend::Sqlite => &[
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON travel_records \
             WHEN NEW.source_record_id = 'ev-poison' \
             BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END",
        ],
        aloft_kernel::Backend::Postgres => &[
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN \
             IF NEW.source_record_id = 'ev-poison' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON travel_records \
             FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        ],
    };
    for sql in statements {
        sqlx::query(sql).execute(t.db.pool()).await.unwrap();
    }
}

#[tokio::test]
async fn an_event_the_database_refuses_is_dead_lettered_alone_and_its_batch_goes_on() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        refuse_poison(&t).await;
        let (pipeline, customers, travel) = stores(&t.db);
        let settings = unique_settings();
        let js = jetstream::new(async_nats::connect(nats_url()).await.unwrap());
        // Published before the consumer starts, so that the three arrive in one batch.
        js.create_stream(jetstream::stream::Config {
            name: settings.stream.clone(),
            subjects: vec![format!("{}.>", settings.subject_prefix)],
            ..Default::default()
        })
        .await
        .unwrap();
        let subject = format!("{}.voice.call", settings.subject_prefix);
        for id in ["ev-before", "ev-poison", "ev-after"] {
            publish(
                &js,
                &subject,
                call(id, "AL300000002", "OKAFOR/NGOZIMS").to_string(),
            )
            .await;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let consumer = tokio::spawn(run_consumer(settings.clone(), pipeline.clone(), async {
            let _ = stopped.await;
        }));
        wait_for(
            async || dead_letters(&js, &settings.dead_letter_stream).await.len() == 1,
            "the refused event's dead letter",
        )
        .await;
        let dead = dead_letters(&js, &settings.dead_letter_stream).await;
        let (payload, reason) = &dead[0];
        assert!(payload.contains("ev-poison"), "{payload}");
        assert_eq!(reason[0]["event_id"], "ev-poison");
        let why = reason[0]["reason"].as_str().unwrap();
        assert!(why.contains("could not be processed"), "{why}");
        for id in ["ev-before", "ev-after"] {
            wait_for(
                async || {
                    travel
                        .find_by_source("genesys", id)
                        .await
                        .unwrap()
                        .is_some()
                },
                "the other events of the batch",
            )
            .await;
        }
        assert!(
            travel
                .find_by_source("genesys", "ev-poison")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(customers.count().await.unwrap(), 1);
        let _ = stop.send(());
        consumer.await.unwrap();
        let _ = js.delete_stream(&settings.stream).await;
        let _ = js.delete_stream(&settings.dead_letter_stream).await;
    }
}
