//! Repository story tests, run against every storage backend.

use aloft_customers::storage::{CUSTOMER_CREATED, CUSTOMER_UPDATED, CustomerQuery};
use aloft_customers::{CustomerError, CustomerStore, Profile};
use aloft_kernel::testing::{TestDatabase, backends};
use chrono::NaiveDate;
use serde_json::json;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn ctx() -> aloft_kernel::AccessContext {
    aloft_kernel::AccessContext::system("test")
}

fn profile(doc: serde_json::Value) -> Profile {
    Profile::parse(&doc, today()).unwrap()
}

#[tokio::test]
async fn concurrent_updates_without_if_match_all_apply_and_each_bumps_the_version() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = CustomerStore::new(t.db.clone(), test_keys());
        let c = store
            .create(
                profile(json!({"first_name": "Ana", "last_name": "Silva"})),
                &ctx(),
            )
            .await
            .unwrap();
        let fields = [
            "title",
            "middle_name",
            "nationality",
            "gender",
            "loyalty_tier",
            "passport_number",
            "loyalty_number",
            "email",
        ];
        let values = [
            "Dr",
            "Maria",
            "PT",
            "female",
            "gold",
            "P1234567",
            "AL555000111",
            "ana@example.com",
        ];
        let mut tasks = Vec::new();
        for (f, v) in fields.iter().zip(values) {
            let store = store.clone();
            let patch = json!({ *f: v });
            tasks.push(tokio::spawn(async move {
                store.update(c.id, None, &patch, today(), &ctx()).await
            }));
        }
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("{backend:?}: {e:?}"));
        }
        let after = store.get(c.id).await.unwrap().unwrap();
        assert_eq!(after.version, 1 + fields.len() as i64, "{backend:?}");
        let doc = after.profile.to_document();
        for (f, v) in fields.iter().zip(values) {
            assert_eq!(
                doc[f], v,
                "{backend:?}: {f} survived the concurrent writers"
            );
        }
        let events = aloft_kernel::events::events_for(&t.db, &c.id.to_string())
            .await
            .unwrap();
        assert_eq!(events.len(), 1 + fields.len());
        assert_eq!(events[0].event_type, CUSTOMER_CREATED);
        assert!(events[1..].iter().all(|e| e.event_type == CUSTOMER_UPDATED));
        // Every change was audited in its own transaction, and the chain holds together.
        let audit = aloft_kernel::audit::load(&t.db, Some(&c.id.to_string()))
            .await
            .unwrap();
        assert_eq!(audit.len(), 1 + fields.len(), "{backend:?}");
        assert_eq!(audit[0].action, "customer.create");
        assert!(
            audit[1..]
                .iter()
                .all(|r| r.action == "customer.update" && r.fields.len() == 1)
        );
        assert_eq!(
            aloft_kernel::audit::verify(&t.db).await.unwrap(),
            Ok(1 + fields.len() as u64)
        );
        // Cutting records off the end is caught too (the chain tip is kept apart).
        sqlx::query("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
            .execute(t.db.pool())
            .await
            .unwrap();
        let broken = aloft_kernel::audit::verify(&t.db)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                broken.reason,
                aloft_security::audit_chain::BreakReason::Truncated { .. }
            ),
            "{backend:?}: {broken}"
        );
    }
}

#[tokio::test]
async fn a_stale_expected_version_changes_nothing_and_a_no_op_patch_writes_nothing() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = CustomerStore::new(t.db.clone(), test_keys());
        let c = store
            .create(
                profile(json!({"first_name": "Li", "last_name": "Wei"})),
                &ctx(),
            )
            .await
            .unwrap();
        store
            .update(
                c.id,
                Some(1),
                &json!({"middle_name": "Ming"}),
                today(),
                &ctx(),
            )
            .await
            .unwrap();
        let stale = store
            .update(
                c.id,
                Some(1),
                &json!({"middle_name": "Other"}),
                today(),
                &ctx(),
            )
            .await;
        assert!(
            matches!(stale, Err(CustomerError::StaleVersion)),
            "{backend:?}"
        );
        let same = store
            .update(
                c.id,
                Some(2),
                &json!({"middle_name": "Ming"}),
                today(),
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!(same.version, 2, "nothing changed, nothing written");
        let events = aloft_kernel::events::events_for(&t.db, &c.id.to_string())
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
    }
}

#[tokio::test]
async fn a_failed_write_leaves_neither_the_change_nor_its_event() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = CustomerStore::new(t.db.clone(), test_keys());
        store
            .create(
                profile(json!({"first_name": "A", "last_name": "A", "loyalty_number": "AL0001"})),
                &ctx(),
            )
            .await
            .unwrap();
        let dup = store
            .create(
                profile(json!({"first_name": "B", "last_name": "B", "loyalty_number": "al 0001"})),
                &ctx(),
            )
            .await;
        assert!(
            matches!(dup, Err(CustomerError::Duplicate(_))),
            "{backend:?}: {dup:?}"
        );
        assert_eq!(store.count().await.unwrap(), 1);
        assert_eq!(
            aloft_kernel::events::backlog(&t.db).await.unwrap(),
            1,
            "the rolled-back insert left no event"
        );
        let page = store
            .search(
                &CustomerQuery {
                    loyalty_number: Some("AL0001".into()),
                    limit: 10,
                    ..Default::default()
                },
                aloft_customers::Reader::System,
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
    }
}

/// The last names a name search finds, in order.
async fn found(store: &CustomerStore, name: &str) -> Vec<String> {
    let page = store
        .search(
            &CustomerQuery {
                name: Some(name.into()),
                limit: 10,
                ..Default::default()
            },
            aloft_customers::Reader::System,
        )
        .await
        .unwrap();
    page.items
        .iter()
        .map(|c| c.profile.last_name.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn umlauts_are_found_as_written_as_a_pnr_spells_them_and_without_them() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = CustomerStore::new(t.db.clone(), test_keys());
        for (first, last) in [("Zoë", "Müller"), ("Søren", "Ørsted"), ("Anna", "Mulan")] {
            store
                .create(
                    profile(json!({"first_name": first, "last_name": last})),
                    &ctx(),
                )
                .await
                .unwrap();
        }
        for typed in [
            "Müller",
            "Mueller",
            "MUELLER",
            "Muller",
            "mull",
            "MÜLL",
            "zoe mü",
            "mueller zo",
        ] {
            assert_eq!(
                found(&store, typed).await,
                ["Müller"],
                "{backend:?}: {typed}"
            );
        }
        assert_eq!(
            found(&store, "mul").await,
            ["Mulan", "Müller"],
            "{backend:?}"
        );
        for typed in ["Ørsted", "Oersted", "Orsted", "soeren", "soren ors"] {
            assert_eq!(
                found(&store, typed).await,
                ["Ørsted"],
                "{backend:?}: {typed}"
            );
        }
    }
}

#[tokio::test]
async fn rows_keyed_by_the_previous_fold_are_rekeyed_once_at_start_up() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let store = CustomerStore::new(t.db.clone(), test_keys());
        for (first, last) in [("Zoë", "Müller-Lüdenscheidt"), ("Seán", "O'Brien")] {
            store
                .create(
                    profile(json!({"first_name": first, "last_name": last})),
                    &ctx(),
                )
                .await
                .unwrap();
        }
        // As written before migration 0022: umlauts dropped, punctuation kept, no plain keys.
        sqlx::query(
            "UPDATE customers SET last_name_key = 'muller-ludenscheidt', first_name_key = 'zoe', \
             first_name_plain_key = NULL, last_name_plain_key = NULL WHERE last_name_key LIKE 'mue%'",
        )
        .execute(t.db.pool())
        .await
        .unwrap();
        sqlx::query(
            "UPDATE customers SET last_name_key = 'o''brien', first_name_plain_key = NULL, \
             last_name_plain_key = NULL WHERE last_name_key = 'obrien'",
        )
        .execute(t.db.pool())
        .await
        .unwrap();
        assert_eq!(
            found(&store, "obrien").await,
            Vec::<String>::new(),
            "{backend:?}"
        );
        assert_eq!(store.seal_plaintext_rows().await.unwrap(), 2, "{backend:?}");
        assert_eq!(
            store.seal_plaintext_rows().await.unwrap(),
            0,
            "{backend:?}: idempotent"
        );
        assert_eq!(found(&store, "obrien").await, ["O'Brien"], "{backend:?}");
        for typed in ["Müller-Lü", "mueller lued", "muller"] {
            assert_eq!(
                found(&store, typed).await,
                ["Müller-Lüdenscheidt"],
                "{backend:?}: {typed}"
            );
        }
    }
}

fn test_keys() -> std::sync::Arc<aloft_kernel::keys::InstanceKeys> {
    std::sync::Arc::new(aloft_kernel::keys::InstanceKeys::new(
        aloft_security::MasterKey::generate(),
        aloft_security::IndexKey::generate(),
    ))
}
