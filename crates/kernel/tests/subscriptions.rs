//! Durable event subscriptions on every backend: a subscriber acts once per event, in commit
//! order, only on its types and only on events after it first ran; a replay, a second runner
//! (another process) and a crash before commit never make it act twice; a failing event is
//! retried, then parked with its error, and the subscription goes on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aloft_kernel::subscriptions::{
    Delivery, EventHandler, HandlerError, MAX_ATTEMPTS, Subscription, SubscriptionRunner, status,
};
use aloft_kernel::testing::{TestDatabase, backends};
use aloft_kernel::{CloudEvent, Database, EventBus};
use futures_util::future::BoxFuture;

/// Records each event it acts on in `reactions` (in the delivery's transaction); fails on
/// events whose data says `fail`, and can be told to crash (drop the transaction) once.
struct Recorder {
    crash_once: AtomicU32,
    calls: AtomicU32,
}

impl EventHandler for Recorder {
    fn handle<'a>(
        &'a self,
        event: &'a CloudEvent,
        delivery: Delivery,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if event.data.get("fail").is_some() {
                return Err(HandlerError::Failed("this event cannot be handled".into()));
            }
            if event.data.get("skip").is_some() {
                return Ok(());
            }
            let Some(mut tx) = delivery.begin().await? else {
                return Ok(());
            };
            sqlx::query("INSERT INTO reactions (event_id, n) VALUES ($1, $2)")
                .bind(&event.id)
                .bind(event.data["n"].as_i64().unwrap_or(-1))
                .execute(tx.conn())
                .await
                .map_err(aloft_kernel::StorageError::from)?;
            if self.crash_once.swap(0, Ordering::SeqCst) == 1 {
                // The process dies before commit: nothing of this delivery stays.
                drop(tx);
                return Err(HandlerError::Failed("crashed".into()));
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

async fn emit(db: &Database, event_type: &str, data: serde_json::Value) -> String {
    let e = CloudEvent::new("/t", event_type, None, data);
    let mut tx = db.begin_write().await.unwrap();
    tx.emit(&e).await.unwrap();
    tx.commit().await.unwrap();
    e.id
}

async fn reactions(db: &Database) -> Vec<i64> {
    sqlx::query_scalar("SELECT n FROM reactions ORDER BY seq")
        .fetch_all(db.pool())
        .await
        .unwrap()
}

fn runner(db: &Database, handler: Arc<Recorder>) -> SubscriptionRunner {
    SubscriptionRunner::new(
        db.clone(),
        EventBus::default(),
        vec![Subscription {
            name: "test.recorder",
            event_types: vec!["aloft.test.wanted".into()],
            handler,
        }],
    )
}

#[tokio::test]
async fn each_event_is_acted_on_once_in_order_and_failures_are_parked() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let db = &t.db;
        sqlx::query(&format!(
            "CREATE TABLE reactions (seq {}, event_id TEXT NOT NULL UNIQUE, n BIGINT NOT NULL)",
            match backend {
                aloft_kernel::Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
                aloft_kernel::Backend::Postgres => "BIGSERIAL PRIMARY KEY",
            }
        ))
        .execute(db.pool())
        .await
        .unwrap();
        // Before the subscription first runs: not acted on (it starts at the newest event).
        emit(db, "aloft.test.wanted", serde_json::json!({"n": 0})).await;

        let handler = Arc::new(Recorder {
            crash_once: AtomicU32::new(0),
            calls: AtomicU32::new(0),
        });
        let mut first = runner(db, handler.clone());
        assert_eq!(first.pass().await.unwrap(), 0, "{backend:?}");

        for n in 1..=3 {
            emit(db, "aloft.test.wanted", serde_json::json!({"n": n})).await;
            emit(db, "aloft.test.other", serde_json::json!({"n": 100 + n})).await;
        }
        emit(
            db,
            "aloft.test.wanted",
            serde_json::json!({"n": 9, "skip": true}),
        )
        .await;
        assert_eq!(first.pass().await.unwrap(), 4, "{backend:?}");
        assert_eq!(
            reactions(db).await,
            vec![1, 2, 3],
            "{backend:?}: order, types"
        );

        // A second process (its own runner, the same subscription) and a replay of the pass.
        let mut second = runner(db, handler.clone());
        second.pass().await.unwrap();
        first.pass().await.unwrap();
        assert_eq!(
            reactions(db).await,
            vec![1, 2, 3],
            "{backend:?}: nothing twice"
        );

        // A crash before commit: acted on again as if for the first time, once.
        handler.crash_once.store(1, Ordering::SeqCst);
        emit(db, "aloft.test.wanted", serde_json::json!({"n": 4})).await;
        first.pass().await.unwrap();
        assert_eq!(
            reactions(db).await,
            vec![1, 2, 3],
            "{backend:?}: crashed, not kept"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        first.pass().await.unwrap();
        assert_eq!(
            reactions(db).await,
            vec![1, 2, 3, 4],
            "{backend:?}: retried once"
        );

        // A poison event: retried with back-off, then parked; the next event still goes through.
        let poison = emit(db, "aloft.test.wanted", serde_json::json!({"fail": true})).await;
        emit(db, "aloft.test.wanted", serde_json::json!({"n": 5})).await;
        let calls_before = handler.calls.load(Ordering::SeqCst);
        for _ in 0..80 {
            first.pass().await.unwrap();
            if reactions(db).await.len() == 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(reactions(db).await, vec![1, 2, 3, 4, 5], "{backend:?}");
        assert!(
            handler.calls.load(Ordering::SeqCst) - calls_before > MAX_ATTEMPTS,
            "{backend:?}: the poison event was tried {MAX_ATTEMPTS} times"
        );
        let parked: String = sqlx::query_scalar(
            "SELECT error FROM event_deliveries WHERE event_id = $1 AND outcome = 'failed'",
        )
        .bind(&poison)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(parked, "this event cannot be handled");
        let s = &status(db).await.unwrap()[0];
        assert_eq!(s.name, "test.recorder");
        assert_eq!(s.parked, 1, "{backend:?}");
        assert_eq!(s.handled_24h, 5, "{backend:?}");
        assert_eq!(
            s.last_error.as_deref(),
            Some("this event cannot be handled")
        );
    }
}

/// A late commit: an event whose transaction took its sequence number before a later one but
/// committed after the subscriber had moved past it is still acted on (PostgreSQL; SQLite
/// commits in order).
#[tokio::test]
async fn an_event_committed_late_behind_the_cursor_is_not_lost() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let db = &t.db;
        sqlx::query(
            "CREATE TABLE reactions (seq BIGINT, event_id TEXT NOT NULL UNIQUE, n BIGINT NOT NULL)",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let handler = Arc::new(Recorder {
            crash_once: AtomicU32::new(0),
            calls: AtomicU32::new(0),
        });
        let mut r = runner(db, handler);
        r.pass().await.unwrap();
        if backend == aloft_kernel::Backend::Postgres {
            // Open a transaction that takes a sequence number, commit another after it.
            let late =
                CloudEvent::new("/t", "aloft.test.wanted", None, serde_json::json!({"n": 1}));
            let mut slow = db.begin_write().await.unwrap();
            slow.emit(&late).await.unwrap();
            emit(db, "aloft.test.wanted", serde_json::json!({"n": 2})).await;
            r.pass().await.unwrap();
            slow.commit().await.unwrap();
            r.pass().await.unwrap();
            let mut got = sqlx::query_scalar::<_, i64>("SELECT n FROM reactions")
                .fetch_all(db.pool())
                .await
                .unwrap();
            got.sort();
            assert_eq!(got, vec![1, 2]);
        }
    }
}
