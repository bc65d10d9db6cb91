//! Statements rendered ahead of their transaction, on every backend: multi-row inserts split at
//! the statement size, NULLs bound, events and audit entries counted and committed with the
//! rows — or, when one statement fails, none of it.

use aloft_kernel::testing::{TestDatabase, backends};
use aloft_kernel::{AccessContext, CloudEvent, Statements, StorageError, events};
use sqlx::Row;

/// Renders `ids` as rows of a scratch table (every third without a note), one event per row
/// and one audit entry.
fn render(backend: aloft_kernel::Backend, ids: &[String]) -> Statements {
    let mut s = Statements::new(backend);
    s.insert(
        "INSERT INTO scratch (id, seq, note) VALUES ",
        "",
        3,
        7,
        ids.iter().enumerate(),
        |v, (i, id)| {
            v.bind(id.clone())
                .bind(i as i64)
                .bind((i % 3 != 0).then(|| format!("note {i}")));
        },
    );
    let events: Vec<CloudEvent> = ids
        .iter()
        .map(|id| {
            CloudEvent::new(
                "/t",
                "aloft.test.rendered",
                Some(id.clone()),
                serde_json::json!({}),
            )
        })
        .collect();
    s.emit(&events).unwrap();
    s.audit([AccessContext::system("test").entry(
        aloft_kernel::audit::AuditAction::new("test.bulk"),
        "test",
        None,
        vec![],
        "success",
    )]);
    s
}

async fn count(t: &TestDatabase, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

#[tokio::test]
async fn rendered_statements_commit_together_or_not_at_all() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        sqlx::query("CREATE TABLE scratch (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, note TEXT)")
            .execute(t.db.pool())
            .await
            .unwrap();
        let ids: Vec<String> = (0..20).map(|i| format!("e{i:02}")).collect();
        let rendered = render(t.db.backend(), &ids);
        assert_eq!(rendered.events(), 20);
        let mut tx = t.db.begin_write().await.unwrap();
        tx.execute(rendered).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM scratch").await,
            20,
            "{backend:?}: 20 rows in statements of 7, 7 and 6"
        );
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM scratch WHERE note IS NULL").await,
            7,
            "{backend:?}: NULLs bound"
        );
        assert_eq!(events::backlog(&t.db).await.unwrap(), 20, "{backend:?}");
        let audited = count(
            &t,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'test.bulk'",
        )
        .await;
        assert_eq!(audited, 1, "{backend:?}");

        // The third statement repeats an id: the whole transaction fails, nothing of it stays.
        let mut again: Vec<String> = (20..33).map(|i| format!("e{i:02}")).collect();
        again.push("e00".into());
        let mut tx = t.db.begin_write().await.unwrap();
        let err = tx
            .execute(render(t.db.backend(), &again))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StorageError::Conflict(_)),
            "{backend:?}: {err}"
        );
        drop(tx);
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM scratch").await,
            20,
            "{backend:?}"
        );
        assert_eq!(events::backlog(&t.db).await.unwrap(), 20, "{backend:?}");
    }
}
