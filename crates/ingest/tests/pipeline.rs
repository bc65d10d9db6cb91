//! The ingestion pipeline end to end, on every storage backend: the sample files of every source
//! system, reject files, idempotent re-import, the identity rules (including the negative
//! evidence of shared e-mail addresses) and crash safety.

mod common;

use common::stores;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aloft_customers::{CustomerId, CustomerQuery, CustomerStore, Profile};
use aloft_ingest::import::{ImportArgs, ImportSummary, run_import};
use aloft_ingest::{BatchReport, Pipeline, SourceEvent, envelope};
use aloft_kernel::AccessContext;
use aloft_kernel::testing::{TestDatabase, backends};
use aloft_travel::{TimelineQuery, TravelStore};
use serde_json::{Value, json};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples");

fn ctx() -> AccessContext {
    AccessContext::system("test")
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("aloft-ingest-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every sample file with the source name of its records.
fn sample_files() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(SAMPLES).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("ndjson") => {
                let text = std::fs::read_to_string(&path).unwrap();
                let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
                let source = first["data"]["source"].as_str().unwrap().to_owned();
                out.push((path, source));
            }
            Some("csv") => out.push((path, "amadeus".to_owned())),
            _ => {}
        }
    }
    out.sort();
    out
}

async fn import_all(pipeline: &Pipeline, scratch: &Path) -> Vec<ImportSummary> {
    let mut out = Vec::new();
    for (file, source) in sample_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let summary = run_import(
            ImportArgs {
                reject_file: Some(scratch.join(format!("{name}.rejects.ndjson"))),
                ..ImportArgs::new(source, file)
            },
            pipeline,
            &ctx(),
            |_, _| {},
        )
        .await
        .unwrap();
        out.push(summary);
    }
    out
}

fn rejected_ids(summaries: &[ImportSummary]) -> BTreeSet<String> {
    summaries
        .iter()
        .flat_map(|s| s.report.rejected.iter())
        .filter_map(|r| r.event_id.clone())
        .filter(|id| !id.starts_with("csv:"))
        .collect()
}

#[tokio::test]
async fn every_sample_file_imports_rejecting_exactly_the_bad_lines_and_a_reimport_changes_nothing()
{
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, travel) = stores(&t.db);
        let scratch = Scratch::new();
        let first = import_all(&pipeline, &scratch.0).await;

        // Exactly the documented bad NDJSON events are rejected (data/samples/README.md).
        let expected: BTreeSet<String> = [
            "gds-amadeus-0003",
            "gds-amadeus-0006",
            "loyalty-0003",
            "partners-webshop-0004",
            "voice-genesys-0002",
            "email-zendesk-0002",
            "chat-livechat-0002",
            "inflight-skyshop-0002",
            "lounges-0002",
            "chauffeur-0003",
            "baggage-worldtracer-0005",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(rejected_ids(&first), expected, "{backend:?}");
        // The CSV: the bad row and the row of another source system are rejected, by column.
        let csv = first
            .iter()
            .find(|s| s.file.extension().unwrap() == "csv")
            .unwrap();
        assert_eq!(csv.report.rejected_events, 3, "{:?}", csv.report.rejected);
        assert!(csv.report.rejected.iter().all(|r| r.column.is_some()));
        assert!(csv.report.recorded >= 1);

        // Every rejection is in a reject file, with its reason and the line, card numbers masked.
        let mut reject_lines = 0;
        for s in &first {
            let problems = s.report.rejected.len();
            match &s.reject_file {
                None => assert_eq!(problems, 0),
                Some(path) => {
                    let text = std::fs::read_to_string(path).unwrap();
                    assert_eq!(text.lines().count(), problems, "{}", path.display());
                    for line in text.lines() {
                        let v: Value = serde_json::from_str(line).unwrap();
                        assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));
                        assert!(v["line"].as_u64().is_some());
                        assert!(v["text"].as_str().is_some());
                    }
                    assert!(
                        aloft_security::pan::find_card_numbers(&text).is_empty(),
                        "a card number reached a reject file"
                    );
                    reject_lines += problems;
                }
            }
        }
        assert!(reject_lines >= expected.len());

        // Two passengers, linked by loyalty number across all sources.
        let recorded: usize = first.iter().map(|s| s.report.recorded).sum();
        assert!(recorded >= 20, "recorded {recorded}");
        assert_eq!(customers.count().await.unwrap(), 2);
        let smith = one(&customers, "AL123456789").await;
        let smith_entries = travel.timeline_len(travel_id(smith)).await.unwrap();
        assert!(
            smith_entries >= 10,
            "Smith has {smith_entries} timeline entries"
        );

        // Re-importing everything changes nothing and rejects the same lines again.
        let again = import_all(&pipeline, &scratch.0).await;
        assert_eq!(again.iter().map(|s| s.report.recorded).sum::<usize>(), 0);
        assert_eq!(
            again.iter().map(|s| s.report.new_customers).sum::<usize>(),
            0
        );
        assert_eq!(rejected_ids(&again), expected);
        assert_eq!(customers.count().await.unwrap(), 2);
        assert_eq!(
            travel.timeline_len(travel_id(smith)).await.unwrap(),
            smith_entries
        );
        // A fresh pipeline (a restarted process) sees the same.
        let (restarted, _, _) = stores(&t.db);
        let third = import_all(&restarted, &scratch.0).await;
        assert_eq!(third.iter().map(|s| s.report.recorded).sum::<usize>(), 0);
        assert_eq!(customers.count().await.unwrap(), 2);
    }
}

async fn one(customers: &CustomerStore, loyalty: &str) -> CustomerId {
    let page = customers
        .search(
            &CustomerQuery {
                loyalty_number: Some(loyalty.into()),
                ..CustomerQuery::default()
            },
            aloft_customers::Reader::System,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "one profile with {loyalty}");
    page.items[0].id
}

fn travel_id(c: CustomerId) -> aloft_travel::CustomerId {
    aloft_travel::CustomerId::from_uuid(c.as_uuid())
}

/// A call record from the voice platform about whoever `hints` describe.
fn call(id: &str, record: &str, hints: &[(&str, &str)]) -> SourceEvent {
    let mut e = json!({
        "specversion": "1.0",
        "id": id,
        "source": "/voice/genesys",
        "type": "com.airline.voice.call",
        "data": {
            "source": "genesys",
            "source_record_id": record,
            "channel": "call",
            "direction": "inbound",
            "occurred_at": "2026-03-01T10:00:00Z",
            "subject": "Seat change"
        }
    });
    for (k, v) in hints {
        e[*k] = json!(v);
    }
    envelope::parse_value(0, &e).unwrap()
}

async fn ingest(pipeline: &Pipeline, events: Vec<SourceEvent>) -> BatchReport {
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.position = i as u64;
            e
        })
        .collect();
    pipeline.ingest(events, &ctx()).await.unwrap()
}

/// The customer the record `(genesys, record)` was linked to, from its timeline entry.
async fn owner(travel: &TravelStore, record: &str) -> aloft_travel::CustomerId {
    travel
        .find_by_source("genesys", record)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("record {record} not stored"))
        .customer_id
        .unwrap()
}

#[tokio::test]
async fn records_link_by_loyalty_passport_and_email_but_a_shared_email_never_merges_two_people() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, travel) = stores(&t.db);
        let ana = customers
            .create(
                Profile::parse(
                    &json!({
                        "first_name": "Ana", "last_name": "Silva",
                        "loyalty_number": "AL100000001", "email": "silva.family@example.com",
                        "date_of_birth": "1985-04-12", "passport_number": "X1234567",
                        "nationality": "PT", "phone": "+351912345678"
                    }),
                    chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
                )
                .unwrap(),
                &ctx(),
            )
            .await
            .unwrap()
            .id;
        let r = ingest(
            &pipeline,
            vec![
                call("e1", "r1", &[("loyaltynumber", "AL100000001")]),
                call(
                    "e2",
                    "r2",
                    &[
                        ("passportnumber", "X1234567"),
                        ("nationality", "PT"),
                        ("passengername", "SILVA/ANA"),
                    ],
                ),
                call(
                    "e3",
                    "r3",
                    &[
                        ("email", "Silva.Family@example.com"),
                        ("passengername", "SILVA/ANAMRS"),
                    ],
                ),
                // Her husband books with the family address: the same e-mail, another person.
                call(
                    "e4",
                    "r4",
                    &[
                        ("email", "silva.family@example.com"),
                        ("passengername", "SILVA/JOAOMR"),
                        ("dateofbirth", "1982-01-30"),
                    ],
                ),
                // Nothing to identify anyone by.
                call("e5", "r5", &[]),
                // A malformed hint is named.
                call(
                    "e6",
                    "r6",
                    &[("email", "not-an-address"), ("passengername", "X/Y")],
                ),
            ],
        )
        .await;
        assert_eq!(r.received, 6);
        assert_eq!(r.recorded, 4, "{:?}", r.rejected);
        assert_eq!(r.rejected_events, 2);
        let pointers: BTreeMap<String, String> = r
            .rejected
            .iter()
            .map(|x| (x.event_id.clone().unwrap(), x.pointer.clone()))
            .collect();
        assert_eq!(pointers["e5"], "/passengername");
        assert_eq!(pointers["e6"], "/email");
        assert_eq!(r.linked_by_method.get("loyalty"), Some(&1));
        assert_eq!(r.linked_by_method.get("passport"), Some(&1));
        assert_eq!(r.linked_by_method.get("email"), Some(&1));
        assert_eq!(r.new_customers, 1);
        let ana = travel_id(ana);
        for record in ["r1", "r2", "r3"] {
            assert_eq!(owner(&travel, record).await, ana, "{record}");
        }
        assert_ne!(
            owner(&travel, "r4").await,
            ana,
            "a shared e-mail merged two people"
        );
        assert_eq!(customers.count().await.unwrap(), 2);

        // Redelivery of a processed event id: nothing happens, even with other content.
        let mut again = call("e1", "r1-other", &[("loyaltynumber", "AL100000001")]);
        again.position = 0;
        let r = ingest(&pipeline, vec![again]).await;
        assert_eq!((r.unchanged, r.recorded), (1, 0));
        assert!(
            travel
                .find_by_source("genesys", "r1-other")
                .await
                .unwrap()
                .is_none()
        );

        // The same source record under a new event id keeps its customer, whatever the hints.
        let r = ingest(
            &pipeline,
            vec![call("e7", "r4", &[("loyaltynumber", "AL100000001")])],
        )
        .await;
        assert_eq!(r.linked_by_method.get("existing_link"), Some(&1));
        assert_ne!(owner(&travel, "r4").await, ana);
    }
}

#[tokio::test]
async fn an_import_interrupted_halfway_completes_on_rerun_without_duplicates() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, travel) = stores(&t.db);
        let scratch = Scratch::new();
        // 300 calls from 30 passengers, first seen in this file.
        let lines: Vec<String> = (0..300)
            .map(|i| {
                let p = i % 30;
                json!({
                    "specversion": "1.0", "id": format!("call-{i}"), "source": "/voice/genesys",
                    "type": "com.airline.voice.call",
                    "loyaltynumber": format!("AL2000000{p:02}"),
                    "passengername": format!("TRAVELLER{}/PAT", (b'A' + p as u8) as char),
                    "data": {"source": "genesys", "source_record_id": format!("call-{i}"),
                             "channel": "call", "direction": "inbound",
                             "occurred_at": format!("2026-03-01T10:{:02}:00Z", i % 60)}
                })
                .to_string()
            })
            .collect();
        let full = scratch.0.join("calls.ndjson");
        std::fs::write(&full, lines.join("\n")).unwrap();
        // The "crash": only the first 170 lines made it in.
        let partial = scratch.0.join("partial.ndjson");
        std::fs::write(&partial, lines[..170].join("\n")).unwrap();
        let args = |file: &Path| ImportArgs::new("genesys", file);
        let a = run_import(args(&partial), &pipeline, &ctx(), |_, _| {})
            .await
            .unwrap();
        assert_eq!((a.report.recorded, a.report.new_customers), (170, 30));
        let (restarted, _, _) = stores(&t.db);
        let b = run_import(args(&full), &restarted, &ctx(), |_, _| {})
            .await
            .unwrap();
        assert_eq!(b.report.recorded, 130);
        assert_eq!(b.report.unchanged, 170);
        assert_eq!(b.report.new_customers, 0);
        assert_eq!(customers.count().await.unwrap(), 30);
        let c = one(&customers, "AL200000007").await;
        assert_eq!(travel.timeline_len(travel_id(c)).await.unwrap(), 10);
        let _ = travel
            .timeline(travel_id(c), &TimelineQuery::default())
            .await
            .unwrap();
    }
}

/// Batch size of the tests that import several batches (at least the 500 passengers of the
/// first one).
const TEST_BATCH: usize = 1_000;

/// An import keeps two chunks in the pipeline at once (one records while the next links); the
/// outcome must be that of reading the file in order: a record changed at the start of the
/// next chunk ends with the change, a redelivery in the next chunk is unchanged, a passenger
/// first seen in one chunk is found again in the next, and bad lines are reported by line.
#[tokio::test]
async fn chunks_in_flight_together_land_in_file_order() {
    let chunk = TEST_BATCH;
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, travel) = stores(&t.db);
        let scratch = Scratch::new();
        // Three chunks; 500 passengers, each first seen in the first chunk.
        let mut lines: Vec<String> = (0..chunk * 2 + 500)
            .map(|i| {
                call_line(
                    format!("ev-{i}"),
                    format!("call-{i}"),
                    i % 500,
                    "Seat change",
                )
            })
            .collect();
        // The last record of chunk 1 is changed by the first line of chunk 2 ...
        lines[chunk] = call_line(
            "ev-change".into(),
            format!("call-{}", chunk - 1),
            (chunk - 1) % 500,
            "Refund",
        );
        // ... whose second line redelivers chunk 1's first event (content changed: still a no-op).
        lines[chunk + 1] = call_line("ev-0".into(), "call-0".into(), 0, "Anything");
        // And one bad line in each chunk.
        for bad in [7, chunk + 7, 2 * chunk + 7] {
            lines[bad] = "{ not json".into();
        }
        let file = scratch.0.join("calls.ndjson");
        std::fs::write(&file, lines.join("\n")).unwrap();
        let summary = import_in_batches(&pipeline, "genesys", file, TEST_BATCH).await;
        let r = &summary.report;
        assert_eq!(r.received, chunk * 2 + 500);
        assert_eq!(r.rejected_events, 3);
        let lines_rejected: BTreeSet<u64> = r.rejected.iter().map(|x| x.position).collect();
        let expected: BTreeSet<u64> = [8, chunk as u64 + 8, 2 * chunk as u64 + 8].into();
        assert_eq!(
            lines_rejected, expected,
            "1-based line numbers of the bad lines"
        );
        assert_eq!(r.unchanged, 1, "the redelivery");
        assert_eq!(r.recorded, chunk * 2 + 500 - 3 - 1);
        assert_eq!(r.new_customers, 500);
        assert_eq!(customers.count().await.unwrap(), 500);
        let changed = travel
            .find_by_source("genesys", &format!("call-{}", chunk - 1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changed.version, 2);
        assert_eq!(changed.record.to_document()["subject"], "Refund");
        let first = travel
            .find_by_source("genesys", "call-0")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.record.to_document()["subject"], "Seat change");
    }
}

/// In a sequence, a batch records only after the batch ahead of it succeeded: when that one
/// failed, the batch behind fails out of turn without recording (it would have overtaken the
/// failed one's changes), and succeeds when retried after it.
#[tokio::test]
async fn a_batch_behind_a_failed_one_in_a_sequence_records_nothing_until_retried_in_order() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, _customers, travel) = stores(&t.db);
        let first = |subject: &str| {
            let mut e = call(
                "ev-1",
                "call-1",
                &[
                    ("loyaltynumber", "AL400000001"),
                    ("passengername", "PAXTON/PAT"),
                ],
            );
            e.data["subject"] = json!(subject);
            vec![e]
        };
        let second = || {
            let mut e = call(
                "ev-2",
                "call-1",
                &[
                    ("loyaltynumber", "AL400000001"),
                    ("passengername", "PAXTON/PAT"),
                ],
            );
            e.data["subject"] = json!("Refund");
            vec![e]
        };
        let mut sequence = aloft_ingest::Sequence::default();
        // The batch ahead fails (its ticket is dropped without an outcome).
        drop(sequence.next().await);
        let behind = sequence.next().await;
        let out_of_turn = pipeline.ingest_in_order(second(), &ctx(), behind).await;
        assert!(
            matches!(out_of_turn, Err(aloft_ingest::IngestError::OutOfTurn)),
            "{out_of_turn:?}"
        );
        assert!(out_of_turn.unwrap_err().is_transient());
        assert!(
            travel
                .find_by_source("genesys", "call-1")
                .await
                .unwrap()
                .is_none(),
            "nothing recorded out of turn"
        );
        // An empty batch keeps the order too: it does not vouch for a failed batch ahead.
        let mut sequence = aloft_ingest::Sequence::default();
        drop(sequence.next().await);
        let empty = sequence.next().await;
        let empty = pipeline.ingest_in_order(vec![], &ctx(), empty).await;
        assert!(
            matches!(empty, Err(aloft_ingest::IngestError::OutOfTurn)),
            "{empty:?}"
        );
        // Retried in order, in a fresh sequence: the later change wins.
        let mut sequence = aloft_ingest::Sequence::default();
        let ahead = sequence.next().await;
        let ahead = tokio::spawn({
            let pipeline = pipeline.clone();
            async move {
                pipeline
                    .ingest_in_order(first("Seat change"), &ctx(), ahead)
                    .await
            }
        });
        let behind = sequence.next().await;
        let behind = pipeline
            .ingest_in_order(second(), &ctx(), behind)
            .await
            .unwrap();
        let ahead = ahead.await.unwrap().unwrap();
        assert_eq!(ahead.recorded, 1, "{ahead:?}");
        assert_eq!(behind.recorded, 1);
        let stored = travel
            .find_by_source("genesys", "call-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, 2);
        assert_eq!(stored.record.to_document()["subject"], "Refund");
    }
}

fn link_item(record: &str, loyalty: &str, name: &str) -> aloft_ingest::linker::LinkItem {
    let e = call(
        "ev",
        record,
        &[("loyaltynumber", loyalty), ("passengername", name)],
    );
    aloft_ingest::linker::LinkItem {
        position: 0,
        event_id: None,
        source: "genesys".into(),
        source_record_id: record.into(),
        hints: e.hints,
    }
}

/// The linker counts on what a batch decided before that batch commits (the next batch links
/// to its new profile); when the batch reports that it failed to commit, every batch linked
/// meanwhile is no longer valid, and the linker forgets the batch's profile.
#[tokio::test]
async fn a_batch_that_fails_to_commit_invalidates_the_batches_linked_after_it() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (_pipeline, customers, _travel) = stores(&t.db);
        let mut linker = aloft_ingest::Linker::unseeded(customers.clone());
        let first = linker
            .link_batch(&[link_item("call-1", "AL400000001", "PAXTON/PAT")])
            .await
            .unwrap();
        let pending = first.links[0].as_ref().unwrap().customer_id;
        assert_eq!(first.writes.new_customers.len(), 1);
        assert_eq!(customers.count().await.unwrap(), 0, "nothing written yet");
        let second = linker
            .link_batch(&[link_item("call-2", "AL400000001", "PAXTON/PAT")])
            .await
            .unwrap();
        assert_eq!(
            second.links[0].as_ref().unwrap().customer_id,
            pending,
            "the next batch links to the profile the first one will create"
        );
        assert!(second.writes.new_customers.is_empty());
        assert!(second.receipt.still_valid());
        drop(first.receipt); // the first batch failed to commit
        assert!(
            !second.receipt.still_valid(),
            "linked to a profile never stored"
        );
        // The pipeline asks before linking, and lets the batches in flight end first.
        assert!(linker.must_reseed().await.unwrap());
        drop(second);
        let again = linker
            .link_batch(&[link_item("call-2", "AL400000001", "PAXTON/PAT")])
            .await
            .unwrap();
        let relinked = again.links[0].as_ref().unwrap().customer_id;
        assert_ne!(relinked, pending, "the failed batch's profile is forgotten");
        assert_eq!(again.writes.new_customers.len(), 1);
        assert!(again.receipt.still_valid());
    }
}

/// A batch commits whole or not at all: when writing its records fails, none of its new
/// profiles, links or processed event ids remain, and the same batch succeeds once the fault
/// is gone.
#[tokio::test]
async fn a_batch_whose_records_fail_to_write_leaves_no_profile_link_or_mark_behind() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, travel) = stores(&t.db);
        // A fault injected below the pipeline: the database refuses one record.
        let (inject, remove): (&[&str], &[&str]) = match backend {
            aloft_kernel::Backend::Sqlite => (
                &["CREATE TRIGGER refuse BEFORE INSERT ON travel_records \
                   WHEN NEW.source_record_id = 'call-2' BEGIN SELECT RAISE(ABORT, 'injected'); END"],
                &["DROP TRIGGER refuse"],
            ),
            aloft_kernel::Backend::Postgres => (
                &[
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.source_record_id = 'call-2' THEN RAISE EXCEPTION 'injected'; END IF; \
                     RETURN NEW; END $$",
                    "CREATE TRIGGER refuse BEFORE INSERT ON travel_records FOR EACH ROW \
                     EXECUTE FUNCTION refuse()",
                ],
                &[
                    "DROP TRIGGER refuse ON travel_records",
                    "DROP FUNCTION refuse()",
                ],
            ),
        };
        for sql in inject {
            sqlx::query(sql).execute(t.db.pool()).await.unwrap();
        }
        let batch = || {
            vec![
                call(
                    "ev-1",
                    "call-1",
                    &[
                        ("loyaltynumber", "AL400000001"),
                        ("passengername", "PAXTON/PAT"),
                    ],
                ),
                call(
                    "ev-2",
                    "call-2",
                    &[
                        ("loyaltynumber", "AL400000002"),
                        ("passengername", "QUINN/ROBIN"),
                    ],
                ),
            ]
        };
        assert!(pipeline.ingest(batch(), &ctx()).await.is_err());
        assert_eq!(
            customers.count().await.unwrap(),
            0,
            "no profile left behind"
        );
        let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM identity_links")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        let marks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ingested_events")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(
            (links, marks),
            (0, 0),
            "no link or processed event id left behind"
        );
        assert!(
            travel
                .find_by_source("genesys", "call-1")
                .await
                .unwrap()
                .is_none()
        );
        for sql in remove {
            sqlx::query(sql).execute(t.db.pool()).await.unwrap();
        }
        let report = ingest(&pipeline, batch()).await;
        assert_eq!(
            (report.recorded, report.new_customers),
            (2, 2),
            "{report:?}"
        );
        assert_eq!(customers.count().await.unwrap(), 2);
        let call_1 = owner(&travel, "call-1").await;
        assert_eq!(call_1, travel_id(one(&customers, "AL400000001").await));
    }
}

/// A chunk is staged (and on SQLite planned) while the chunk ahead of it writes; when the
/// chunk ahead writes the same record, the plan waits for it. Here a stored record is changed
/// by one chunk and changed back by the next: a plan made before the first chunk committed
/// would find the record already as the second chunk has it and write nothing.
#[tokio::test]
async fn a_record_changed_and_changed_back_by_consecutive_chunks_ends_as_the_last_chunk_says() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, _customers, travel) = stores(&t.db);
        let scratch = Scratch::new();
        let first = scratch.0.join("first.ndjson");
        std::fs::write(
            &first,
            call_line("ev-a".into(), "call-x".into(), 1, "Seat change"),
        )
        .unwrap();
        import_in_batches(&pipeline, "genesys", first, TEST_BATCH).await;
        // Chunk 1 changes call-x at its end, chunk 2 changes it back at its start.
        let mut lines: Vec<String> = (0..TEST_BATCH * 2)
            .map(|i| call_line(format!("ev-{i}"), format!("call-{i}"), i % 200, "Baggage"))
            .collect();
        lines[TEST_BATCH - 1] = call_line("ev-b".into(), "call-x".into(), 1, "Refund");
        lines[TEST_BATCH] = call_line("ev-c".into(), "call-x".into(), 1, "Seat change");
        let second = scratch.0.join("second.ndjson");
        std::fs::write(&second, lines.join("\n")).unwrap();
        let summary = import_in_batches(&pipeline, "genesys", second, TEST_BATCH).await;
        assert_eq!(
            summary.report.rejected_events, 0,
            "{:?}",
            summary.report.rejected
        );
        let stored = travel
            .find_by_source("genesys", "call-x")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.record.to_document()["subject"], "Seat change");
        assert_eq!(stored.version, 3, "changed, then changed back");
    }
}

/// An NDJSON line: call `record` (event `id`) about passenger number `p`, with `subject`.
fn call_line(id: String, record: String, p: usize, subject: &str) -> String {
    json!({
        "specversion": "1.0", "id": id, "source": "/voice/genesys",
        "type": "com.airline.voice.call",
        "loyaltynumber": format!("AL4{p:08}"),
        "passengername": format!("PASSENGER{}/PAT", letters(p)),
        "data": {"source": "genesys", "source_record_id": record, "channel": "call",
                 "direction": "inbound", "occurred_at": "2026-03-01T10:00:00Z",
                 "subject": subject}
    })
    .to_string()
}

/// `n` written in letters (A, B, … Z, BA, BB, …): names may hold no digits.
fn letters(mut n: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// The CSV booking export goes through the same chunks in flight: every row of every chunk
/// lands, and a bad row in the middle chunk is reported with its line and column.
#[tokio::test]
async fn a_csv_export_of_several_chunks_lands_whole_with_its_bad_row_located() {
    let chunk = TEST_BATCH;
    let bookings = chunk * 2 + 100;
    let bad = chunk + 10;
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, _) = stores(&t.db);
        let scratch = Scratch::new();
        let mut text = String::from(
            "source,source_record_id,record_locator,segment,flight_number,origin,destination,\
             scheduled_departure_local,scheduled_arrival_local,cabin,rbd,ticket_number,seat,gate,\
             status,delay_minutes,bag_tags,loyalty_number,passenger_name\n",
        );
        for i in 0..bookings {
            let p = i % 300;
            let origin = if i == bad { "L1R" } else { "LHR" };
            text.push_str(&format!(
                "amadeus,BK{i},Q{i:05},1,BA117,{origin},JFK,2026-03-12T09:40,2026-03-12T12:35,\
                 economy,Y,125{i:010},,,scheduled,,,AL5{p:08},PASSENGER{}/PAT\n",
                letters(p)
            ));
        }
        let file = scratch.0.join("bookings.csv");
        std::fs::write(&file, text).unwrap();
        let summary = import_in_batches(&pipeline, "amadeus", file, TEST_BATCH).await;
        let r = &summary.report;
        assert_eq!(r.rejected_events, 1, "{:?}", r.rejected);
        assert_eq!(r.rejected[0].position, bad as u64 + 2, "header is line 1");
        assert_eq!(r.rejected[0].column.as_deref(), Some("origin"));
        assert_eq!(r.recorded, bookings - 1);
        assert_eq!(customers.count().await.unwrap(), 300);
    }
}

/// Imports `file` as `source` in batches of `batch_events`, with the default reject file (tests
/// of several batches use small batches, so their files stay small).
async fn import_in_batches(
    pipeline: &Pipeline,
    source: &str,
    file: PathBuf,
    batch_events: usize,
) -> ImportSummary {
    let args = ImportArgs {
        batch_events,
        ..ImportArgs::new(source, file)
    };
    run_import(args, pipeline, &ctx(), |_, _| {}).await.unwrap()
}

/// A database outage in the middle of an import does not end it: the chunk that failed and the
/// chunks behind it are retried in order once the database is back, and the import completes
/// with every record once and no duplicate profile (the linker re-seeds from what was stored).
/// PostgreSQL only: the outage is a cut TCP proxy.
#[tokio::test]
async fn an_import_rides_out_a_database_outage_and_completes_in_order() {
    if !backends().contains(&aloft_kernel::Backend::Postgres) {
        return;
    }
    let t = TestDatabase::new(aloft_kernel::Backend::Postgres).await;
    let proxy =
        std::sync::Arc::new(aloft_kernel::testing::FlakyProxy::start("127.0.0.1:5432").await);
    let mut settings = t.settings.clone();
    settings.url = aloft_kernel::testing::via_proxy(&settings.url, proxy.addr());
    let db = aloft_kernel::Database::connect(&settings).await.unwrap();
    let (pipeline, customers, travel) = stores(&db);
    let scratch = Scratch::new();
    // Ten chunks of 100 calls from 150 passengers; the last line changes the first record.
    let mut lines: Vec<String> = (0..1_000)
        .map(|i| {
            call_line(
                format!("ev-{i}"),
                format!("call-{i}"),
                i % 150,
                "Seat change",
            )
        })
        .collect();
    lines.push(call_line("ev-last".into(), "call-0".into(), 0, "Refund"));
    let file = scratch.0.join("calls.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let mut reported = 0;
    let outage = proxy.clone();
    let args = ImportArgs {
        batch_events: 100,
        ..ImportArgs::new("genesys", file)
    };
    let summary = run_import(args, &pipeline, &ctx(), move |done, _| {
        reported += 1;
        // After the second chunk: the database goes away for a second.
        if reported == 3 && done > 0 {
            outage.cut();
            let back = outage.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(1));
                back.restore();
            });
        }
    })
    .await
    .expect("the import rides out the outage");
    let r = &summary.report;
    assert_eq!(r.received, 1_001);
    assert_eq!(r.rejected_events, 0);
    // A chunk whose commit was acknowledged after the cut is found unchanged on its retry.
    assert_eq!(r.recorded + r.unchanged, 1_001, "{r:?}");
    assert_eq!(
        customers.count().await.unwrap(),
        150,
        "no duplicate profile"
    );
    let first = travel
        .find_by_source("genesys", "call-0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.record.to_document()["subject"],
        "Refund",
        "the file's last change wins: chunks were applied in order"
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM travel_records")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1_000);
    db.close().await;
}
