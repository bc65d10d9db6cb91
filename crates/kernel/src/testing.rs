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
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create db");
                admin.close().await;
                let base = postgres_admin_url();
                let url = match base.rfind('/') {
                    Some(i) => format!("{}/{name}", &base[..i]),
                    None => base,
                };
                (DatabaseSettings::new(url), Cleanup::Postgres(name))
            }
        };
        let db = Database::connect(&settings)
            .await
            .expect("connect to test database");
        crate::migrate::run(&db)
            .await
            .expect("migrate test database");
        Self {
            db,
            settings,
            cleanup,
        }
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
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
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

/// A TCP proxy to a real service that a test can cut and restore, to simulate an outage of the
/// database or the broker without stopping the shared server.
pub struct FlakyProxy {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl FlakyProxy {
    /// Starts forwarding `127.0.0.1:<ephemeral>` to `upstream`.
    pub async fn start(upstream: &str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let upstream = upstream.to_owned();
        let (up2, cut2) = (up.clone(), cut.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut_rx = cut2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {},
                        _ = cut_rx.changed() => {},
                    }
                });
            }
        });
        Self {
            addr,
            up,
            cut,
            task,
        }
    }

    /// `host:port` of the proxy.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Simulates an outage: drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Ends the outage.
    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A database URL for the same PostgreSQL database as `url`, reached through `proxy`.
pub fn via_proxy(url: &str, proxy: std::net::SocketAddr) -> String {
    url.replace("127.0.0.1:5432", &proxy.to_string())
}
