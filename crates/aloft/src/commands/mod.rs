//! The subcommands of `aloft`, one module each; `main.rs` parses the command line and hands
//! over here. Shared: where the data lives ([`StorageArgs`]).

pub(crate) mod audit;
pub(crate) mod compensation;
pub(crate) mod demo;
pub(crate) mod export;
pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod model;
pub(crate) mod resolve;
pub(crate) mod sentiment;
pub(crate) mod serve;
pub(crate) mod token;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use aloft_access::KeySource;
use aloft_kernel::{Database, DatabaseSettings, SqliteDurability};

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub(crate) struct StorageArgs {
    /// Database URL: `postgres://user@host/db` for PostgreSQL, or `sqlite://PATH`. Default: an
    /// embedded SQLite file in --data-dir.
    #[arg(long, env = "ALOFT_DATABASE_URL")]
    database_url: Option<String>,

    /// Directory of the embedded SQLite database (used when --database-url is not given).
    #[arg(long, env = "ALOFT_DATA_DIR", default_value = "aloft-data")]
    data_dir: PathBuf,

    /// Maximum pooled database connections.
    #[arg(long, env = "ALOFT_DB_MAX_CONNECTIONS", default_value_t = 16)]
    db_max_connections: u32,

    /// SQLite only. `normal`: a commit survives any crash of Aloft; `full`: it also survives the
    /// machine losing power, at one disk flush per write.
    #[arg(long, env = "ALOFT_SQLITE_DURABILITY", value_enum, default_value_t = Durability::Normal)]
    sqlite_durability: Durability,

    /// File holding the instance's master and index keys (created on first start; keep it
    /// secret and backed up apart from the database). Default: aloft.keys in --data-dir.
    #[arg(long, env = "ALOFT_KEY_FILE")]
    key_file: Option<PathBuf>,

    /// The master key itself (64 hex digits or base64), instead of a key file; needs
    /// ALOFT_INDEX_KEY too.
    #[arg(
        long,
        env = "ALOFT_MASTER_KEY",
        hide_env_values = true,
        requires = "index_key",
        hide = true
    )]
    master_key: Option<String>,

    /// The index key itself, instead of a key file; needs ALOFT_MASTER_KEY too.
    #[arg(
        long,
        env = "ALOFT_INDEX_KEY",
        hide_env_values = true,
        requires = "master_key",
        hide = true
    )]
    index_key: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Durability {
    /// Survives process crashes (WAL, synchronous=NORMAL).
    Normal,
    /// Survives power loss too (WAL, synchronous=FULL).
    Full,
}

impl StorageArgs {
    fn key_source(&self) -> KeySource {
        match (&self.master_key, &self.index_key) {
            (Some(m), Some(i)) => KeySource::Values {
                master: zeroize::Zeroizing::new(m.clone()),
                index: zeroize::Zeroizing::new(i.clone()),
            },
            _ => KeySource::File(
                self.key_file
                    .clone()
                    .unwrap_or_else(|| self.data_dir.join("aloft.keys")),
            ),
        }
    }

    fn settings(&self) -> DatabaseSettings {
        let mut s = match &self.database_url {
            Some(url) => DatabaseSettings::new(url.clone()),
            None => DatabaseSettings::sqlite_in(&self.data_dir),
        };
        s.max_connections = self.db_max_connections;
        s.sqlite_durability = match self.sqlite_durability {
            Durability::Normal => SqliteDurability::Normal,
            Durability::Full => SqliteDurability::Full,
        };
        s
    }

    /// The database of an existing instance (as it is: no migration runs). Refuses (naming
    /// `what` was not done) where no instance is: an offline command must never create a
    /// database and keys of its own, which the server would not know.
    async fn open_existing(&self, what: &str) -> anyhow::Result<Database> {
        let settings = self.settings();
        if let Some(path) = settings.sqlite_path()
            && !path.exists()
        {
            anyhow::bail!(
                "no Aloft instance at {}: run this where the server keeps its data (--data-dir) or give --database-url; {what}",
                path.display()
            );
        }
        let db = Database::connect(&settings)
            .await
            .context("cannot open the database")?;
        anyhow::ensure!(
            aloft_access::keys::instance_initialised(&db).await?,
            "this database holds no Aloft instance yet (start `aloft serve` on it first); {what}"
        );
        Ok(db)
    }
}

/// `aloft migrate`: applies pending migrations and exits.
pub(crate) async fn migrate(storage: StorageArgs) -> anyhow::Result<()> {
    let db = Database::connect(&storage.settings())
        .await
        .context("cannot open the database")?;
    let n = aloft_kernel::migrate::run(&db).await?;
    println!("Applied {n} migration(s); the schema is current.");
    Ok(())
}
