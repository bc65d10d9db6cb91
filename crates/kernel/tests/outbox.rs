//! The outbox without a broker, on every backend: events commit with their change, are dispatched
//! in-process in commit order, and published ones are pruned — unpublished ones never are.

use std::time::Duration;

use aloft_kernel::testing::{TestDatabase, backends};
use aloft_kernel::{CloudEvent, EventBus, NoBroker, OutboxRelay, events};

#[tokio::test]
async fn events_are_dispatched_in_order_and_only_published_ones_are_pruned() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let bus = EventBus::default();
        let mut local = bus.subscribe();
        let relay = OutboxRelay::new(t.db.clone(), NoBroker, bus);

        // A rolled-back transaction leaves no event.
        let mut tx = t.db.begin_write().await.unwrap();
        tx.emit(&CloudEvent::new(
            "/t",
            "aloft.test.discarded",
            None,
            serde_json::json!({}),
        ))
        .await
        .unwrap();
        drop(tx);

        let mut ids = Vec::new();
        for i in 0..3 {
            let e = CloudEvent::new(
                "/t",
                "aloft.test.happened",
                Some(format!("s{i}")),
                serde_json::json!({ "i": i }),
            );
            let mut tx = t.db.begin_write().await.unwrap();
            tx.emit(&e).await.unwrap();
            tx.commit().await.unwrap();
            ids.push(e.id);
        }
        assert_eq!(events::backlog(&t.db).await.unwrap(), 3, "{backend:?}");
        assert_eq!(relay.pass().await.unwrap().published, 3);
        for id in &ids {
            assert_eq!(
                &local.try_recv().unwrap().id,
                id,
                "commit order ({backend:?})"
            );
        }

        let pending = CloudEvent::new(
            "/t",
            "aloft.test.pending",
            Some("p".into()),
            serde_json::json!({}),
        );
        let mut tx = t.db.begin_write().await.unwrap();
        tx.emit(&pending).await.unwrap();
        tx.commit().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            events::prune(&t.db, Duration::ZERO).await.unwrap(),
            3,
            "{backend:?}"
        );
        assert_eq!(
            events::backlog(&t.db).await.unwrap(),
            1,
            "the unpublished event is kept"
        );
        assert_eq!(
            events::events_for(&t.db, "p").await.unwrap()[0].id,
            pending.id
        );
    }
}

/// PostgreSQL over TLS: `sslmode=require` (or `verify-ca`/`verify-full` with `sslrootcert=`) in
/// the URL encrypts the connection; the server confirms it for our own session.
#[tokio::test]
async fn postgres_connections_can_be_encrypted() {
    if !backends().contains(&aloft_kernel::Backend::Postgres) {
        return;
    }
    let url = format!(
        "{}?sslmode=require",
        aloft_kernel::testing::postgres_admin_url()
    );
    let db = aloft_kernel::Database::connect(&aloft_kernel::DatabaseSettings::new(url))
        .await
        .expect("the local PostgreSQL accepts TLS");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(encrypted);
    db.close().await;
}
