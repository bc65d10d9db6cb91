//! Merging and unmerging stored golden profiles, on every storage backend: survivorship, the
//! absorbed id leading to the survivor, records and links moving (and readable under the
//! survivor's key), lineage, unmerge restoring both profiles exactly, the stack order of undo,
//! and the review queue's decisions.

mod common;

use aloft_customers::{CustomerId, CustomerQuery, CustomerStore, Profile};
use aloft_ingest::merge::{self, Decision};
use aloft_ingest::{BatchReport, Pipeline, SourceEvent, envelope};
use aloft_kernel::testing::{TestDatabase, backends};
use aloft_kernel::{AccessContext, Database};
use aloft_travel::{TimelineQuery, TravelStore};
use common::stores;
use serde_json::{Value, json};

fn ctx() -> AccessContext {
    AccessContext::system("steward-test")
}

fn call(id: &str, subject: &str, hints: &[(&str, &str)]) -> SourceEvent {
    let mut e = json!({
        "specversion": "1.0", "id": format!("{id}:{subject}"), "source": "/voice/genesys", "type": "com.airline.voice.call",
        "data": {"source": "genesys", "source_record_id": id, "channel": "call",
                 "direction": "inbound", "occurred_at": "2026-03-01T10:00:00Z", "subject": subject}
    });
    for (k, v) in hints {
        e[*k] = json!(v);
    }
    envelope::parse_value(0, &e).unwrap()
}

async fn ingest(pipeline: &Pipeline, events: Vec<SourceEvent>) -> BatchReport {
    let r = pipeline.ingest(events, &ctx()).await.unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    r
}

fn tid(c: CustomerId) -> aloft_travel::CustomerId {
    aloft_travel::CustomerId::from_uuid(c.as_uuid())
}

async fn owner(travel: &TravelStore, record: &str) -> CustomerId {
    let c = travel
        .find_by_source("genesys", record)
        .await
        .unwrap()
        .unwrap()
        .customer_id
        .unwrap();
    CustomerId::parse(&c.to_string()).unwrap()
}

async fn lines(travel: &TravelStore, c: CustomerId) -> Vec<String> {
    let mut l: Vec<String> = travel
        .timeline(tid(c), &TimelineQuery::newest(50))
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.line())
        .collect();
    l.sort();
    l
}

async fn by_loyalty(customers: &CustomerStore, loyalty: &str) -> Vec<CustomerId> {
    customers
        .search(
            &CustomerQuery {
                loyalty_number: Some(loyalty.into()),
                limit: 10,
                ..CustomerQuery::default()
            },
            aloft_customers::Reader::System,
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect()
}

async fn by_name(customers: &CustomerStore, name: &str) -> Vec<CustomerId> {
    customers
        .search(
            &CustomerQuery {
                name: Some(name.into()),
                limit: 10,
                ..CustomerQuery::default()
            },
            aloft_customers::Reader::System,
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect()
}

async fn profile(customers: &CustomerStore, doc: Value) -> CustomerId {
    let p = Profile::parse(&doc, chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()).unwrap();
    customers.create(p, &ctx()).await.unwrap().id
}

async fn outbox_types(db: &Database) -> Vec<String> {
    sqlx::query_scalar("SELECT event_type FROM outbox ORDER BY seq")
        .fetch_all(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_merge_moves_everything_to_the_survivor_and_unmerge_restores_both_profiles_exactly() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, travel) = stores(&t.db);
        let ana = profile(
            &customers,
            json!({"first_name": "Ana", "last_name": "Silva", "email": "ana@example.com",
                   "date_of_birth": "1985-04-12"}),
        )
        .await;
        ingest(
            &pipeline,
            vec![call(
                "r1",
                "Seat change",
                &[("email", "ana@example.com"), ("passengername", "SILVA/ANA")],
            )],
        )
        .await;
        // A second profile of the same woman, from the voice platform, with her loyalty number.
        ingest(
            &pipeline,
            vec![call(
                "r2",
                "Lost bag",
                &[
                    ("loyaltynumber", "AL100000002"),
                    ("passengername", "SILVA/ANAMRS"),
                    ("phone", "+351912345678"),
                ],
            )],
        )
        .await;
        assert_eq!(owner(&travel, "r1").await, ana);
        let dup = owner(&travel, "r2").await;
        assert_ne!(dup, ana);
        let before_ana = customers.get(ana).await.unwrap().unwrap();
        let before_dup = customers.get(dup).await.unwrap().unwrap();

        let m = pipeline
            .merge(ana, dup, "same passenger, confirmed by phone", &ctx())
            .await
            .unwrap();
        assert_eq!((m.moved_records, m.moved_links), (1, 1));
        // Survivorship: the loyalty number and phone come from the duplicate (only value), the
        // e-mail stays, the names are the same.
        let golden = customers.get(ana).await.unwrap().unwrap();
        assert_eq!(
            golden.profile.loyalty_number.as_ref().unwrap().as_str(),
            "AL100000002"
        );
        assert_eq!(
            golden.profile.phone.as_ref().unwrap().as_str(),
            "+351912345678"
        );
        assert_eq!(
            golden.profile.email.as_ref().unwrap().as_str(),
            "ana@example.com"
        );
        assert_eq!(golden.version, before_ana.version + 1);
        let loyalty = m
            .survivorship
            .iter()
            .find(|c| c.field == "loyalty_number")
            .unwrap();
        assert_eq!(
            serde_json::to_value(loyalty).unwrap(),
            json!({"field": "loyalty_number", "kept": "absorbed", "rule": "only_value"})
        );
        // The absorbed id leads to the survivor and leaves every search.
        assert_eq!(
            customers.get(dup).await.unwrap().unwrap().merged_into,
            Some(ana)
        );
        assert_eq!(by_loyalty(&customers, "AL100000002").await, vec![ana]);
        assert_eq!(by_name(&customers, "silva").await, vec![ana]);
        assert!(
            customers
                .update(
                    dup,
                    None,
                    &json!({"first_name": "X"}),
                    chrono::Utc::now().date_naive(),
                    &ctx()
                )
                .await
                .is_err()
        );
        // Records and links moved; the moved call's subject still decrypts (re-sealed).
        assert_eq!(owner(&travel, "r2").await, ana);
        let l = lines(&travel, ana).await;
        assert_eq!(l.len(), 2);
        assert!(l.iter().any(|x| x.contains("Lost bag")), "{l:?}");
        let sources = aloft_ingest::sources::sources_of(&t.db, &ana.to_string())
            .await
            .unwrap();
        assert_eq!(sources.links.len(), 2);
        // A re-sent record of the duplicate, changed, goes to the survivor; so does a new one.
        ingest(
            &pipeline,
            vec![call(
                "r2",
                "Lost bag, found",
                &[("loyaltynumber", "AL100000002")],
            )],
        )
        .await;
        ingest(
            &pipeline,
            vec![call("r3", "Upgrade", &[("loyaltynumber", "AL100000002")])],
        )
        .await;
        assert_eq!(owner(&travel, "r2").await, ana);
        assert_eq!(owner(&travel, "r3").await, ana);
        // Lineage on both profiles; the event and the audit trail.
        assert_eq!(merge::lineage(&t.db, ana).await.unwrap(), vec![m.clone()]);
        assert_eq!(merge::lineage(&t.db, dup).await.unwrap().len(), 1);
        assert!(
            outbox_types(&t.db)
                .await
                .contains(&"aloft.customer.merged".to_owned())
        );

        let undone = pipeline.unmerge(m.id, &ctx()).await.unwrap();
        assert!(undone.unmerged_at.is_some());
        let after_ana = customers.get(ana).await.unwrap().unwrap();
        let after_dup = customers.get(dup).await.unwrap().unwrap();
        assert_eq!(after_ana.profile, before_ana.profile);
        assert_eq!(after_dup.profile, before_dup.profile);
        assert_eq!(after_dup.merged_into, None);
        assert_eq!(by_loyalty(&customers, "AL100000002").await, vec![dup]);
        assert_eq!(by_name(&customers, "silva").await.len(), 2);
        // What the merge moved goes back; what arrived since stays with the survivor.
        assert_eq!(owner(&travel, "r1").await, ana);
        assert_eq!(owner(&travel, "r2").await, dup);
        assert_eq!(owner(&travel, "r3").await, ana);
        assert!(
            lines(&travel, dup)
                .await
                .iter()
                .any(|x| x.contains("Lost bag, found"))
        );
        let links = aloft_ingest::sources::sources_of(&t.db, &dup.to_string())
            .await
            .unwrap();
        assert_eq!(links.links.len(), 1);
        assert!(
            outbox_types(&t.db)
                .await
                .contains(&"aloft.customer.unmerged".to_owned())
        );
        assert!(
            pipeline.unmerge(m.id, &ctx()).await.is_err(),
            "undone twice"
        );
        let audit: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('customer.merge', 'customer.unmerge')",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(audit, 4);
    }
}

#[tokio::test]
async fn merges_are_refused_when_wrong_and_undone_only_in_reverse_order() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, _) = stores(&t.db);
        let a = profile(
            &customers,
            json!({"first_name": "Lee", "last_name": "Wong"}),
        )
        .await;
        let b = profile(
            &customers,
            json!({"first_name": "Lee", "last_name": "Wong", "middle_name": "K"}),
        )
        .await;
        let c = profile(&customers, json!({"first_name": "L", "last_name": "Wong"})).await;
        assert!(
            pipeline.merge(a, a, "", &ctx()).await.is_err(),
            "into itself"
        );
        let m1 = pipeline.merge(a, b, "", &ctx()).await.unwrap();
        assert!(
            pipeline.merge(c, b, "", &ctx()).await.is_err(),
            "already merged"
        );
        assert!(
            pipeline.merge(b, c, "", &ctx()).await.is_err(),
            "into a merged profile"
        );
        let m2 = pipeline.merge(a, c, "", &ctx()).await.unwrap();
        let err = pipeline.unmerge(m1.id, &ctx()).await.unwrap_err();
        assert!(err.to_string().contains("undo it first"), "{err}");
        pipeline.unmerge(m2.id, &ctx()).await.unwrap();
        pipeline.unmerge(m1.id, &ctx()).await.unwrap();
        for id in [a, b, c] {
            assert_eq!(customers.get(id).await.unwrap().unwrap().merged_into, None);
        }
        assert_eq!(
            customers.get(a).await.unwrap().unwrap().profile.middle_name,
            None
        );
    }
}

async fn raise_review(db: &Database, customer: CustomerId, candidate: CustomerId) -> i64 {
    sqlx::query(
        "INSERT INTO identity_review (source, source_record_id, customer_id, candidate_customer_id, weight, explanation, status, created_at) \
         VALUES ('genesys', 'r9', $1, $2, 4.5, '{}', 'open', '2026-12-01T00:00:00.000000Z')",
    )
    .bind(customer.to_string())
    .bind(candidate.to_string())
    .execute(db.pool())
    .await
    .unwrap();
    sqlx::query_scalar("SELECT MAX(id) FROM identity_review")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_steward_decides_reviews_distinct_or_merge() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, _) = stores(&t.db);
        let old = profile(
            &customers,
            json!({"first_name": "Sam", "last_name": "Park"}),
        )
        .await;
        let new = profile(
            &customers,
            json!({"first_name": "Sam", "last_name": "Park", "email": "sam@example.com"}),
        )
        .await;
        let r1 = raise_review(&t.db, new, old).await;
        assert_eq!(merge::open_reviews(&t.db).await.unwrap(), 1);
        assert_eq!(
            aloft_ingest::sources::sources_of(&t.db, &old.to_string())
                .await
                .unwrap()
                .pending_reviews,
            1
        );
        assert_eq!(
            pipeline
                .decide(r1, Decision::Distinct, &ctx())
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            merge::review(&t.db, r1).await.unwrap().unwrap().status,
            "distinct"
        );
        assert!(
            pipeline.decide(r1, Decision::Merge, &ctx()).await.is_err(),
            "decided twice"
        );
        let r2 = raise_review(&t.db, new, old).await;
        let m = pipeline
            .decide(r2, Decision::Merge, &ctx())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.survivor_id.as_str(), m.review_id),
            (old.to_string().as_str(), Some(r2))
        );
        let r = merge::review(&t.db, r2).await.unwrap().unwrap();
        assert_eq!(
            (r.status.as_str(), r.decided_by.as_deref()),
            ("merged", Some("system:steward-test"))
        );
        assert_eq!(merge::open_reviews(&t.db).await.unwrap(), 0);
        assert_eq!(
            customers
                .get(old)
                .await
                .unwrap()
                .unwrap()
                .profile
                .email
                .unwrap()
                .as_str(),
            "sam@example.com"
        );
        assert_eq!(
            merge::reviews(&t.db, "open", None, 50).await.unwrap(),
            vec![]
        );
        assert_eq!(
            merge::reviews(&t.db, "distinct", None, 50)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

/// Unmerge gives back what the merge took, not what was corrected since: a field edited on the
/// survivor after the merge keeps its edited value; the others return to the survivor's
/// pre-merge profile, and the absorbed profile is restored as it was.
#[tokio::test]
async fn unmerge_keeps_the_survivors_edits_made_after_the_merge() {
    // Mode 0: the customers domain's change log (the audit trail is made useless to prove it is
    // not read); 1: a merge recorded before the change log (its audit position); 2: before the
    // audit position was kept too (found by time).
    for (backend, legacy) in backends()
        .into_iter()
        .flat_map(|b| [(b, 0), (b, 1), (b, 2)])
    {
        let t = TestDatabase::new(backend).await;
        let (pipeline, customers, _travel) = stores(&t.db);
        let ana = profile(
            &customers,
            json!({"first_name": "Ana", "last_name": "Silva", "email": "ana@example.com"}),
        )
        .await;
        let dup = profile(
            &customers,
            json!({"first_name": "Ana", "last_name": "Silva", "phone": "+351912345678",
                   "loyalty_number": "AL100000009"}),
        )
        .await;
        let before_dup = customers.get(dup).await.unwrap().unwrap();
        let m = pipeline
            .merge(ana, dup, "same passenger", &ctx())
            .await
            .unwrap();
        let position: Option<i64> =
            sqlx::query_scalar("SELECT audit_seq FROM identity_merges WHERE id = $1")
                .bind(m.id.to_string())
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert!(
            position.is_some(),
            "the merge's place in the audit chain is kept"
        );
        let sql = match legacy {
            0 => "UPDATE identity_merges SET audit_seq = 999999999",
            1 => "UPDATE identity_merges SET survivor_version_after = NULL",
            _ => "UPDATE identity_merges SET survivor_version_after = NULL, audit_seq = NULL",
        };
        sqlx::query(sql).execute(t.db.pool()).await.unwrap();
        // After the merge an agent corrects the phone number the merge brought in.
        let today = chrono::Utc::now().date_naive();
        customers
            .update(ana, None, &json!({"phone": "+351900000001"}), today, &ctx())
            .await
            .unwrap();
        pipeline.unmerge(m.id, &ctx()).await.unwrap();
        let after = customers.get(ana).await.unwrap().unwrap();
        assert_eq!(
            after.profile.phone.as_ref().unwrap().as_str(),
            "+351900000001",
            "the correction made after the merge stays"
        );
        assert!(
            after.profile.loyalty_number.is_none(),
            "the loyalty number the merge took goes back"
        );
        assert_eq!(
            after.profile.email.as_ref().unwrap().as_str(),
            "ana@example.com"
        );
        let restored = customers.get(dup).await.unwrap().unwrap();
        assert_eq!(restored.merged_into, None);
        assert_eq!(restored.profile, before_dup.profile);
        assert_eq!(by_loyalty(&customers, "AL100000009").await, vec![dup]);
    }
}
