//! Test support: a fresh, uniquely named database per test, on either backend, dropped afterwards.
//!
//! PostgreSQL tests use the server at `ALOFT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test creates `aloft_test_<uuid>` and drops it
//! (`WITH (FORCE)`) when the handle is dropped, even if the test panicked. `ALOFT_TEST_BACKENDS`
//! (default `sqlite,postgres`) selects which backends [`backends`] yields.

use std::path::PathBuf;

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

use crate::db::{Backend, Database, DatabaseSettings};

/// The admin URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("ALOFT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The backends the test run covers.
pub fn backends() -> Vec<Backend> {
    let wanted = std::env::var("ALOFT_TEST_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut out = Vec::new();
    if wanted.contains("sqlite") {
        out.push(Backend::Sqlite);
    }
    if wanted.contains("postgres") {
        out.push(Backend::Postgres);
    }
    out
}

/// A throw-away database, migrated and ready.
pub struct TestDatabase {
    /// Connected handle.
    pub db: Database,
    /// Connection settings (to start a server on the same database).
    pub settings: DatabaseSettings,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Postgres(String),
}

impl TestDatabase {
    /// A fresh database on `backend`, with every migration applied.
    pub async fn new(backend: Backend) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (settings, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("aloft-test-{id}"));
                (DatabaseSettings::sqlite_in(&dir), Cleanup::Dir(dir))
            }
            Backend::Postgres => {
                let name = format!("aloft_test_{id}");
                sqlx::any::install_default_drivers();
                let admin = AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(&postgres_admin_url())
                    .await
                    .expect("the test PostgreSQL server is reachable");
                admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create db");
                admin.close().await;
                let base = postgres_admin_url();
                let url = match base.rfind('/') {
                    Some(i) => format!("{}/{name}", &base[..i]),
                    None => base,
                };
                (DatabaseSettings::new(url), Cleanup::Postgres(name))
            }
        };
        let db = Database::connect(&settings).await.expect("connect to test database");
        crate::migrate::run(&db).await.expect("migrate test database");
        Self { db, settings, cleanup }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres(name) => {
                let name = name.clone();
                // Drop runs outside async context guarantees; use a private runtime on a thread.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(rt) = rt {
                        rt.block_on(async move {
                            if let Ok(admin) = AnyPoolOptions::new()
                                .max_connections(1)
                                .connect(&postgres_admin_url())
                                .await
                            {
                                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                                let _ = admin.execute(sql.as_str()).await;
                                admin.close().await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}
