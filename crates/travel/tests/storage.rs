//! Travel storage stories, run against every storage backend.

use std::collections::HashSet;

use aloft_kernel::testing::{TestDatabase, backends};
use aloft_kernel::{AccessContext, Database};
use aloft_travel::model::SegmentForecast;
use aloft_travel::storage::{EVENT_SOURCE, event_type};
use aloft_travel::{
    CustomerId, Outcome, Record, RecordKind, TimelineKind, TimelineQuery, TravelError, TravelStore,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

fn ctx() -> AccessContext {
    AccessContext::system("test")
}

fn record(kind: RecordKind, doc: Value) -> Record {
    Record::parse(kind, &doc).unwrap_or_else(|e| panic!("{kind}: {e:?}"))
}

fn booking(id: &str, departure_local: &str, status: &str) -> Record {
    record(
        RecordKind::Booking,
        json!({"source": "amadeus", "source_record_id": id, "record_locator": "K7XQ2M", "segments": [{
            "flight_number": "EK1", "origin": "DXB", "destination": "LHR",
            "scheduled_departure_local": departure_local, "scheduled_arrival_local": "2026-03-12T23:59",
            "cabin": "business", "rbd": "J", "status": status
        }]}),
    )
}

fn interaction(id: &str, at: DateTime<Utc>, body: &str) -> Record {
    record(
        RecordKind::Interaction,
        json!({"source": "genesys", "source_record_id": id, "channel": "chat", "direction": "inbound",
            "occurred_at": at.to_rfc3339(), "subject": "Seat change", "body": body}),
    )
}

fn bag(id: &str, at: DateTime<Utc>) -> Record {
    record(
        RecordKind::BaggageEvent,
        json!({"source": "worldtracer", "source_record_id": id, "bag_tag": "0176123456", "event": "arrived",
            "airport": "LHR", "occurred_at": at.to_rfc3339()}),
    )
}

fn feedback(id: &str, at: DateTime<Utc>) -> Record {
    record(
        RecordKind::Feedback,
        json!({"source": "medallia", "source_record_id": id, "kind": "compliment", "submitted_at": at.to_rfc3339(),
            "text": "Lovely crew", "rating": 5}),
    )
}

/// A travel store on `db` with throw-away customer keys.
fn store_on(db: &Database) -> TravelStore {
    TravelStore::new(
        db.clone(),
        std::sync::Arc::new(aloft_travel::EphemeralKeys::new()),
    )
}

async fn count(db: &Database, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

async fn outbox_types(db: &Database, subject: &str) -> Vec<String> {
    aloft_kernel::events::events_for(db, subject)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!(e.source, EVENT_SOURCE);
            e.event_type
        })
        .collect()
}

fn base() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

#[tokio::test]
async fn recording_is_idempotent_and_a_changed_record_updates_it_and_its_timeline() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        let audit_before = count(&t.db, "SELECT COUNT(*) FROM audit_log").await;

        let first = store
            .record(
                customer,
                booking("PNR-1", "2026-03-12T14:30", "scheduled"),
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!((first.version, &first.outcome), (1, &Outcome::Created));
        let id = first.record_id.to_string();
        assert_eq!(
            outbox_types(&t.db, &id).await,
            vec!["aloft.travel.booking.recorded"]
        );
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM audit_log").await,
            audit_before + 1
        );

        // The same record again: nothing is written.
        let again = store
            .record(
                customer,
                booking("PNR-1", "2026-03-12T14:30", "scheduled"),
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!(again.outcome, Outcome::AlreadyRecorded);
        assert_eq!((again.record_id, again.version), (first.record_id, 1));
        assert_eq!(outbox_types(&t.db, &id).await.len(), 1);
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM audit_log").await,
            audit_before + 1
        );
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM travel_records").await, 1);

        // Changed: updated in place, timeline entry replaced, event and audit written.
        let changed = store
            .record(
                customer,
                booking("PNR-1", "2026-03-12T16:00", "cancelled"),
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!(changed.record_id, first.record_id);
        assert_eq!(changed.version, 2);
        assert_eq!(
            changed.outcome,
            Outcome::Updated {
                changed_fields: vec!["segments".into()]
            }
        );
        let events = aloft_kernel::events::events_for(&t.db, &id).await.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].data["outcome"], "updated");
        assert_eq!(events[1].data["version"], 2);
        assert_eq!(events[1].data["changed_fields"], json!(["segments"]));
        // Events carry ids and names, never values such as the record locator.
        assert!(!events[1].data.to_string().contains("K7XQ2M"));
        assert!(!events[1].data.to_string().contains("PNR-1"));
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM audit_log").await,
            audit_before + 2
        );
        let action: String =
            sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(action, "travel.record");

        let page = store
            .timeline(customer, &TimelineQuery::default())
            .await
            .unwrap();
        assert_eq!(page.entries.len(), 1);
        assert!(
            page.entries[0].summary.contains("cancelled"),
            "{}",
            page.entries[0].summary
        );
        assert_eq!(
            page.entries[0].occurred_at.to_rfc3339(),
            "2026-03-12T12:00:00+00:00"
        );
        let stored = store.get(first.record_id).await.unwrap().unwrap();
        assert_eq!(stored.version, 2);
        assert_eq!(stored.customer_id, Some(customer));
        assert_eq!(
            stored.record,
            booking("PNR-1", "2026-03-12T16:00", "cancelled")
        );
        let by_source = store
            .find_by_source("amadeus", "PNR-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_source.id, first.record_id);

        // Identity resolution moved the record to another customer: the timeline follows.
        let other = CustomerId::generate();
        let moved = store
            .record(
                other,
                booking("PNR-1", "2026-03-12T16:00", "cancelled"),
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!(
            moved.outcome,
            Outcome::Updated {
                changed_fields: vec!["customer_id".into()]
            }
        );
        assert_eq!(store.timeline_len(customer).await.unwrap(), 0);
        assert_eq!(store.timeline_len(other).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn record_event_and_audit_commit_together_or_not_at_all() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        store
            .record(customer, interaction("C-1", base(), "hello"), &ctx())
            .await
            .unwrap();
        let (records, entries, events, audits) = (
            count(&t.db, "SELECT COUNT(*) FROM travel_records").await,
            count(&t.db, "SELECT COUNT(*) FROM timeline").await,
            count(&t.db, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.travel.interaction.recorded'").await,
            count(&t.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'travel.record'").await,
        );
        assert_eq!((records, entries, events, audits), (1, 1, 1, 1));
        // A batch that fails half-way (a segment forecast given to a customer) writes nothing.
        let forecast = record(
            RecordKind::SegmentForecast,
            json!({"source": "rm", "source_record_id": "FC-1", "flight_number": "EK1", "departure_date": "2026-03-12",
                "origin": "DXB", "cabin": "economy", "capacity": 300, "booked": 250, "forecast_at": "2026-03-01T00:00:00Z"}),
        );
        let err = store
            .record_many(
                vec![
                    (customer, interaction("C-2", base(), "x")),
                    (customer, forecast.clone()),
                ],
                &ctx(),
            )
            .await
            .unwrap_err();
        match err {
            TravelError::Invalid(errs) => assert_eq!(errs[0].pointer, "/1"),
            other => panic!("{other:?}"),
        }
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM travel_records").await, 1);
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM outbox").await, 1);
        // Forecasts are recorded without a customer and never reach a timeline.
        let Record::SegmentForecast(f) = forecast else {
            unreachable!()
        };
        let f: SegmentForecast = f;
        let r = store.record_forecast(f, &ctx()).await.unwrap();
        assert_eq!(r.outcome, Outcome::Created);
        assert_eq!(
            store.get(r.record_id).await.unwrap().unwrap().customer_id,
            None
        );
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM timeline").await, 1);
        assert_eq!(
            outbox_types(&t.db, &r.record_id.to_string()).await,
            vec![event_type(RecordKind::SegmentForecast)]
        );
    }
}

#[tokio::test]
async fn free_text_is_stored_with_card_numbers_masked() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        store
            .record(
                customer,
                interaction("C-1", base(), "my card is 5555 5555 5555 4444 thanks"),
                &ctx(),
            )
            .await
            .unwrap();
        let (doc, sealed): (String, String) =
            sqlx::query_as("SELECT document, sealed FROM travel_records")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert!(
            !doc.contains("5555") && !sealed.contains("5555") && !doc.contains("thanks"),
            "the body is sealed: {doc}"
        );
        let read = store
            .find_by_source("genesys", "C-1")
            .await
            .unwrap()
            .unwrap();
        let Record::Interaction(i) = read.record else {
            panic!("an interaction")
        };
        let body = i.body.unwrap();
        assert!(
            !body.as_str().contains("5555 5555 5555 4444")
                && body.as_str().contains("555555******4444"),
            "{body}"
        );
        let outbox: String = sqlx::query_scalar("SELECT payload FROM outbox")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert!(
            !outbox.contains("5555") && !outbox.contains("Seat change"),
            "{outbox}"
        );
    }
}

/// 300 mixed records, several sharing an instant, for one customer; another customer's records
/// interleaved so filters must hold.
async fn fill(store: &TravelStore, customer: CustomerId) -> Vec<(DateTime<Utc>, TimelineKind)> {
    let other = CustomerId::generate();
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..300 {
        // Every third record shares its instant with the previous one (ties broken by entry id).
        let at = base() + Duration::minutes(i / 3 * 7);
        let (r, kind) = match i % 3 {
            0 => (
                interaction(&format!("C-{i}"), at, "hi"),
                TimelineKind::Interaction,
            ),
            1 => (bag(&format!("B-{i}"), at), TimelineKind::Baggage),
            _ => (feedback(&format!("F-{i}"), at), TimelineKind::Feedback),
        };
        batch.push((customer, r));
        expected.push((at, kind));
        batch.push((other, bag(&format!("OB-{i}"), at)));
    }
    let out = store.record_many(batch, &ctx()).await.unwrap();
    assert!(out.iter().all(|r| r.outcome == Outcome::Created));
    expected.sort_by_key(|e| std::cmp::Reverse(e.0));
    expected
}

async fn all_pages(
    store: &TravelStore,
    customer: CustomerId,
    mut q: TimelineQuery,
) -> Vec<aloft_travel::TimelineEntry> {
    let mut out = Vec::new();
    loop {
        let page = store.timeline(customer, &q).await.unwrap();
        assert!(page.entries.len() <= q.page_size() as usize);
        out.extend(page.entries);
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

#[tokio::test]
async fn the_timeline_is_newest_first_filtered_and_paginated_without_gaps_or_duplicates() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        let expected = fill(&store, customer).await;
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'travel.bulk_record'"
            )
            .await,
            1
        );
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM outbox").await, 600);

        // Every entry once, newest first, across pages of 7.
        let all = all_pages(&store, customer, TimelineQuery::newest(7)).await;
        assert_eq!(all.len(), 300);
        let ids: HashSet<&str> = all.iter().map(|e| e.entry_id.as_str()).collect();
        assert_eq!(ids.len(), 300);
        assert!(all.iter().all(|e| e.customer_id == customer));
        for w in all.windows(2) {
            assert!(
                (w[0].occurred_at, &w[0].entry_id) > (w[1].occurred_at, &w[1].entry_id),
                "order"
            );
        }
        let times: Vec<DateTime<Utc>> = all.iter().map(|e| e.occurred_at).collect();
        assert_eq!(times, expected.iter().map(|e| e.0).collect::<Vec<_>>());

        // One kind, two kinds.
        let bags = all_pages(
            &store,
            customer,
            TimelineQuery::newest(9).of_kinds(&[TimelineKind::Baggage]),
        )
        .await;
        assert_eq!(bags.len(), 100);
        assert!(bags.iter().all(|e| e.kind == TimelineKind::Baggage));
        let two = all_pages(
            &store,
            customer,
            TimelineQuery::newest(11)
                .of_kinds(&[TimelineKind::Feedback, TimelineKind::Interaction]),
        )
        .await;
        assert_eq!(two.len(), 200);
        assert_eq!(
            two.iter()
                .map(|e| &e.entry_id)
                .collect::<HashSet<_>>()
                .len(),
            200
        );
        let mut expected_two: Vec<&str> = all
            .iter()
            .filter(|e| e.kind != TimelineKind::Baggage)
            .map(|e| e.entry_id.as_str())
            .collect();
        let got_two: Vec<&str> = two.iter().map(|e| e.entry_id.as_str()).collect();
        assert_eq!(got_two, expected_two);
        expected_two.clear();

        // Date range [from, to).
        let from = base() + Duration::minutes(70);
        let to = base() + Duration::minutes(140);
        let mut q = TimelineQuery::newest(4);
        q.from = Some(from);
        q.to = Some(to);
        let ranged = all_pages(&store, customer, q).await;
        let want = expected
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .count();
        assert_eq!(ranged.len(), want);
        assert_eq!(want, 30);
        assert!(
            ranged
                .iter()
                .all(|e| e.occurred_at >= from && e.occurred_at < to)
        );

        // A kind and a date range together; an unknown customer has an empty timeline.
        let mut q = TimelineQuery::newest(100).of_kinds(&[TimelineKind::Feedback]);
        q.from = Some(from);
        let page = store.timeline(customer, &q).await.unwrap();
        assert!(
            page.entries
                .iter()
                .all(|e| e.kind == TimelineKind::Feedback && e.occurred_at >= from)
        );
        assert!(page.next.is_none());
        let empty = store
            .timeline(CustomerId::generate(), &TimelineQuery::default())
            .await
            .unwrap();
        assert!(empty.entries.is_empty() && empty.next.is_none());
    }
}

#[tokio::test]
async fn a_batch_is_idempotent_and_repeated_keys_apply_in_order() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        let batch = vec![
            (customer, bag("B-1", base())),
            (customer, bag("B-1", base())),
            (customer, bag("B-1", base() + Duration::hours(1))),
            (customer, bag("B-2", base())),
        ];
        let out = store.record_many(batch.clone(), &ctx()).await.unwrap();
        let outcomes: Vec<&Outcome> = out.iter().map(|r| &r.outcome).collect();
        assert_eq!(outcomes[0], &Outcome::Created);
        assert_eq!(outcomes[1], &Outcome::AlreadyRecorded);
        assert!(matches!(outcomes[2], Outcome::Updated { .. }));
        assert_eq!(outcomes[3], &Outcome::Created);
        assert_eq!(out[0].record_id, out[2].record_id);
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM travel_records").await, 2);
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM timeline").await, 2);
        let page = store
            .timeline(customer, &TimelineQuery::default())
            .await
            .unwrap();
        assert_eq!(page.entries[0].occurred_at, base() + Duration::hours(1));

        // The whole batch again: the final state of B-1 differs from its first line only.
        let events_before = count(&t.db, "SELECT COUNT(*) FROM outbox").await;
        let again = store
            .record_many(batch[2..].to_vec(), &ctx())
            .await
            .unwrap();
        assert!(again.iter().all(|r| r.outcome == Outcome::AlreadyRecorded));
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM outbox").await,
            events_before
        );
        let changed = store
            .record_many(
                vec![(customer, bag("B-2", base() + Duration::hours(2)))],
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!(changed[0].version, 2);
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM timeline").await, 2);
    }
}

#[tokio::test]
async fn concurrent_recording_of_the_same_record_creates_it_once() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.record(customer, bag("B-1", base()), &ctx()).await
            }));
        }
        let mut created = 0;
        for task in tasks {
            if task.await.unwrap().unwrap().outcome == Outcome::Created {
                created += 1;
            }
        }
        assert_eq!(created, 1);
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM travel_records").await, 1);
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM outbox").await, 1);
    }
}

/// Different contents of one record written at the same time: every write lands as its own
/// version, none overwrites another unseen. (SQLite reads before it takes the write slot, so a
/// write that read a version another writer has since replaced must start again.)
#[tokio::test]
async fn concurrent_changes_of_one_record_are_all_applied_in_turn() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        let writers = 4;
        let mut tasks = Vec::new();
        for i in 0..writers {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let body = format!("Version {i} of the chat");
                store
                    .record(customer, interaction("I-1", base(), &body), &ctx())
                    .await
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap().unwrap());
        }
        let created = outcomes
            .iter()
            .filter(|r| r.outcome == Outcome::Created)
            .count();
        assert_eq!(created, 1, "{outcomes:?}");
        let mut versions: Vec<i64> = outcomes.iter().map(|r| r.version).collect();
        versions.sort_unstable();
        assert_eq!(
            versions,
            (1..=writers as i64).collect::<Vec<_>>(),
            "{backend:?}"
        );
        assert_eq!(
            count(&t.db, "SELECT MAX(version) FROM travel_records").await,
            writers as i64
        );
        assert_eq!(
            count(&t.db, "SELECT COUNT(*) FROM outbox").await,
            writers as i64
        );
        assert_eq!(count(&t.db, "SELECT COUNT(*) FROM timeline").await, 1);
    }
}

#[tokio::test]
async fn what_people_wrote_is_sealed_and_destroying_the_key_shreds_it() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let keys = std::sync::Arc::new(aloft_travel::EphemeralKeys::new());
        let store = TravelStore::new(t.db.clone(), keys.clone());
        let customer = CustomerId::generate();
        let call = interaction("C-9", base(), "Zqbody lives at 7 Canary Lane");
        let first = store.record(customer, call.clone(), &ctx()).await.unwrap();
        // Re-sending the same record is recognised through the keyed digest.
        let again = store.record(customer, call, &ctx()).await.unwrap();
        assert_eq!(again.outcome, Outcome::AlreadyRecorded);
        assert_eq!(again.record_id, first.record_id);
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT document || COALESCE(sealed, '') FROM travel_records \
             UNION ALL SELECT summary || COALESCE(detail, '') FROM timeline",
        )
        .fetch_all(t.db.pool())
        .await
        .unwrap();
        let stored = stored.join("\n");
        for secret in ["Zqbody", "Canary", "Seat change"] {
            assert!(!stored.contains(secret), "{secret} is stored in the clear");
        }
        // Read back: the timeline line shows the subject, the record its body.
        let page = store
            .timeline(customer, &TimelineQuery::default())
            .await
            .unwrap();
        assert_eq!(page.entries[0].summary, "Inbound chat · Seat change");
        // A changed body is an update naming the field.
        let changed = store
            .record(customer, interaction("C-9", base(), "New words"), &ctx())
            .await
            .unwrap();
        assert_eq!(
            changed.outcome,
            Outcome::Updated {
                changed_fields: vec!["body".into()]
            }
        );
        // Erasure destroys the data key: the words are gone, the facts stay.
        keys.destroy(customer);
        assert!(store.find_by_source("genesys", "C-9").await.is_err());
        let page = store
            .timeline(customer, &TimelineQuery::default())
            .await
            .unwrap();
        assert_eq!(page.entries[0].summary, "Inbound chat");
    }
}

#[tokio::test]
async fn rows_from_before_encryption_are_sealed_at_start_up() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        let call = interaction("C-7", base(), "Zqlegacy notes");
        store.record(customer, call.clone(), &ctx()).await.unwrap();
        // Make it look like a row written before migration 0009: plaintext, no digest.
        sqlx::query("UPDATE travel_records SET document = $1, sealed = NULL, digest = NULL")
            .bind(call.to_document().to_string())
            .execute(t.db.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE timeline SET summary = 'Inbound chat · Seat change', detail = NULL")
            .execute(t.db.pool())
            .await
            .unwrap();
        // Still recognised as the same record before conversion.
        let again = store.record(customer, call.clone(), &ctx()).await.unwrap();
        assert_eq!(again.outcome, Outcome::AlreadyRecorded);
        assert_eq!(store.seal_plaintext_rows().await.unwrap(), 1);
        assert_eq!(store.seal_plaintext_rows().await.unwrap(), 0, "idempotent");
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT document || COALESCE(digest, 'NODIGEST') FROM travel_records \
             UNION ALL SELECT summary FROM timeline",
        )
        .fetch_all(t.db.pool())
        .await
        .unwrap();
        let stored = stored.join("\n");
        assert!(
            !stored.contains("Zqlegacy")
                && !stored.contains("Seat change")
                && !stored.contains("NODIGEST"),
            "{stored}"
        );
        let page = store
            .timeline(customer, &TimelineQuery::default())
            .await
            .unwrap();
        assert_eq!(page.entries[0].summary, "Inbound chat · Seat change");
        let read = store
            .find_by_source("genesys", "C-7")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.record, call);
        let again = store.record(customer, call, &ctx()).await.unwrap();
        assert_eq!(again.outcome, Outcome::AlreadyRecorded);
    }
}

/// Flight entries carry the station and flight that row scopes query; entries written before
/// those columns existed get them at start-up, and one whose record cannot say gets empty keys
/// rather than being looked at again.
#[tokio::test]
async fn flight_entries_carry_their_scope_keys_and_old_ones_are_filled_in() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = store_on(&t.db);
        let customer = CustomerId::generate();
        store
            .record(
                customer,
                booking("PNR-KEYS", "2026-03-12T09:40", "scheduled"),
                &ctx(),
            )
            .await
            .unwrap();
        let keys = || async {
            sqlx::query_as::<_, (Option<String>, Option<String>)>(
                "SELECT station, flight FROM timeline WHERE kind = 'flight'",
            )
            .fetch_all(t.db.pool())
            .await
            .unwrap()
        };
        let written = vec![(Some("DXB".to_owned()), Some("EK1 2026-03-12".to_owned()))];
        assert_eq!(keys().await, written, "{backend:?}: written with the entry");
        sqlx::query("UPDATE timeline SET station = NULL, flight = NULL")
            .execute(t.db.pool())
            .await
            .unwrap();
        assert_eq!(store.fill_flight_keys().await.unwrap(), 1);
        assert_eq!(keys().await, written, "{backend:?}: filled in");
        assert_eq!(store.fill_flight_keys().await.unwrap(), 0, "idempotent");
        // A record whose document no longer parses: its entry gets empty keys, once.
        sqlx::query("UPDATE timeline SET station = NULL, flight = NULL")
            .execute(t.db.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE travel_records SET document = '{}'")
            .execute(t.db.pool())
            .await
            .unwrap();
        assert_eq!(store.fill_flight_keys().await.unwrap(), 0);
        assert_eq!(
            keys().await,
            vec![(Some(String::new()), Some(String::new()))]
        );
    }
}
