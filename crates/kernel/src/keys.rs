//! The instance's keys: where they come from, and the refusal to start with the wrong ones.
//!
//! Two secrets, both 32 random bytes, live **outside** the database:
//! - the **master key** wraps every customer's data key (rotated with `aloft keys rotate`);
//! - the **index key** keys the blind indexes and, through HKDF under distinct labels, signs
//!   Aloft's own bearer tokens and encrypts staff TOTP secrets. It never rotates, because
//!   rotating it would make every blind index unmatchable.
//!
//! They come from `ALOFT_MASTER_KEY` / `ALOFT_INDEX_KEY` (64 hex digits or base64) or from a key
//! file (`master = …` and `index = …` lines, mode 0600). A fresh installation generates the file.
//! The database remembers the key fingerprints; if the file is missing or different while the
//! database holds data, start-up stops with a clear message instead of creating new keys over
//! existing encrypted data.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The audit action of a master-key rotation.
pub const MASTER_ROTATED: crate::audit::AuditAction =
    crate::audit::AuditAction::new("keys.master_rotated");

use crate::Database;
use crate::db::{now, to_db_time};
use aloft_security::{DataKey, IndexKey, Keyring, LocalKeyProvider, MasterKey};
use sqlx::Row;
use zeroize::Zeroizing;

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A key file; created (with fresh keys) only when the database has never had keys.
    File(PathBuf),
    /// Values given directly (environment variables), never written anywhere.
    Values {
        /// The master key text.
        master: Zeroizing<String>,
        /// The index key text.
        index: Zeroizing<String>,
    },
}

/// Why the keys could not be loaded. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database was set up with keys, and the key file is gone.
    #[error(
        "the key file {0} does not exist, but this database was set up with keys (index key {1}). \
         Restore the key file from your secret store or backup, or point --key-file / ALOFT_KEY_FILE \
         at it. Aloft will not create new keys over existing encrypted data."
    )]
    Missing(PathBuf, String),
    /// The keys given are not the ones this database was set up with.
    #[error(
        "the {which} key given ({given}) is not the one this database was set up with ({expected}). \
         Use the original key file; for the master key, rotate with `aloft keys rotate`."
    )]
    Mismatch {
        /// `master` or `index`.
        which: &'static str,
        /// Fingerprint given.
        given: String,
        /// Fingerprint on record.
        expected: String,
    },
    /// The key file or value is malformed.
    #[error("cannot read the keys from {0}: {1}")]
    Malformed(String, String),
    /// Reading or writing the key file failed.
    #[error("key file {0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] crate::StorageError),
}

/// The loaded keys.
pub struct InstanceKeys {
    /// Wraps and unwraps customers' data keys; computes blind indexes.
    pub keyring: Keyring,
    index: IndexKey,
    master_id: String,
    previous_ids: Vec<String>,
}

impl std::fmt::Debug for InstanceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceKeys")
            .field("master", &self.master_id)
            .field("index", &self.index.fingerprint())
            .finish()
    }
}

impl InstanceKeys {
    /// Builds from explicit keys (tests, the CLI).
    pub fn new(master: MasterKey, index: IndexKey) -> Self {
        Self::with_previous(master, Vec::new(), index)
    }

    /// Keys mid-rotation: `master` wraps new data keys; the `previous` master keys still unwrap
    /// data keys that have not been re-wrapped yet.
    pub fn with_previous(master: MasterKey, previous: Vec<MasterKey>, index: IndexKey) -> Self {
        let master_id = master.id().to_owned();
        let previous_ids = previous.iter().map(|k| k.id().to_owned()).collect();
        let mut keyring = Keyring::new(LocalKeyProvider::new(master), index.clone());
        for old in previous {
            keyring = keyring.with_previous(LocalKeyProvider::new(old));
        }
        Self {
            keyring,
            index,
            master_id,
            previous_ids,
        }
    }

    /// Fingerprints of master keys kept only to unwrap not-yet-re-wrapped data keys.
    pub fn previous_master_ids(&self) -> &[String] {
        &self.previous_ids
    }

    /// The key that signs Aloft's own bearer tokens (HS256).
    pub fn token_signing_key(&self) -> Zeroizing<[u8; 32]> {
        self.index.derive_secret("token-signing")
    }

    /// The key that encrypts staff accounts' TOTP secrets.
    pub fn account_secrets_key(&self) -> DataKey {
        DataKey::from_bytes(*self.index.derive_secret("account-secrets"))
    }

    /// A secret for `purpose`, derived from the index key (stable across master-key rotation).
    pub fn derive_secret(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        self.index.derive_secret(purpose)
    }

    /// Fingerprint of the master key.
    pub fn master_key_id(&self) -> &str {
        &self.master_id
    }

    /// Fingerprint of the index key.
    pub fn index_key_id(&self) -> String {
        self.index.fingerprint()
    }

    /// Loads the keys from `source` and checks them against what `db` was set up with, creating
    /// a key file (and recording its fingerprints) only on a database that never had keys.
    pub async fn load(db: &Database, source: &KeySource) -> Result<Self, KeyError> {
        let recorded = recorded(db).await?;
        let keys = match source {
            KeySource::Values { master, index } => Self::parse(master, index, "the environment")?,
            KeySource::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => {
                    let text = Zeroizing::new(text);
                    Self::from_file_text(&text, &path.display().to_string())?
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if let Some((index_id, _)) = &recorded {
                        return Err(KeyError::Missing(path.clone(), index_id.clone()));
                    }
                    let (master, index) = (MasterKey::generate(), IndexKey::generate());
                    write_key_file(path, &master, &[], &index)?;
                    let keys = Self::new(master, index);
                    tracing::info!(master = %keys.master_id, index = %keys.index.fingerprint(), "generated a new key file");
                    keys
                }
                Err(e) => return Err(KeyError::Io(path.clone(), e)),
            },
        };
        match recorded {
            Some((index_id, master_id)) => {
                if index_id != keys.index.fingerprint() {
                    return Err(KeyError::Mismatch {
                        which: "index",
                        given: keys.index.fingerprint(),
                        expected: index_id,
                    });
                }
                // Mid-rotation the database may still name the previous master key.
                if master_id != keys.master_id && !keys.previous_ids.contains(&master_id) {
                    return Err(KeyError::Mismatch {
                        which: "master",
                        given: keys.master_id.clone(),
                        expected: master_id,
                    });
                }
            }
            None => record(db, &keys).await?,
        }
        Ok(keys)
    }

    /// Parses the text of a key file (`master`, `index`, and any `previous` lines).
    pub fn from_file_text(text: &str, origin: &str) -> Result<Self, KeyError> {
        let parsed = parse_file(text).ok_or_else(|| {
            KeyError::Malformed(
                origin.to_owned(),
                "expected `master = …`, `index = …` and optional `previous = …` lines".into(),
            )
        })?;
        let mut keys = Self::parse(&parsed.master, &parsed.index, origin)?;
        if !parsed.previous.is_empty() {
            let previous = parsed
                .previous
                .iter()
                .map(|p| {
                    MasterKey::parse(p.trim()).map_err(|e| {
                        KeyError::Malformed(origin.to_owned(), format!("previous key: {e}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let master = MasterKey::parse(parsed.master.trim())
                .map_err(|e| KeyError::Malformed(origin.to_owned(), format!("master key: {e}")))?;
            keys = Self::with_previous(master, previous, keys.index.clone());
        }
        Ok(keys)
    }

    /// Rotates the master key in the key file at `path`: a new master key becomes current, the
    /// old one is kept as `previous` (so nothing becomes unreadable), the index key is unchanged.
    /// Written to a temporary file and renamed over the old one, so a crash leaves either file
    /// whole. Keys older than the current one are dropped: call only once no data key is still
    /// wrapped by them. Returns the new keys.
    pub fn rotate_key_file(path: &Path) -> Result<Self, KeyError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| KeyError::Io(path.to_owned(), e))?,
        );
        let parsed = parse_file(&text).ok_or_else(|| {
            KeyError::Malformed(path.display().to_string(), "not a key file".into())
        })?;
        let old = MasterKey::parse(parsed.master.trim()).map_err(|e| {
            KeyError::Malformed(path.display().to_string(), format!("master key: {e}"))
        })?;
        let index = IndexKey::parse(parsed.index.trim()).map_err(|e| {
            KeyError::Malformed(path.display().to_string(), format!("index key: {e}"))
        })?;
        let new = MasterKey::generate();
        let tmp = path.with_extension("keys.new");
        let _ = std::fs::remove_file(&tmp);
        write_key_file(&tmp, &new, std::slice::from_ref(&old), &index)?;
        std::fs::rename(&tmp, path).map_err(|e| KeyError::Io(path.to_owned(), e))?;
        Ok(Self::with_previous(new, vec![old], index))
    }

    /// Records `self`'s master key as the one every data key is now wrapped by.
    pub async fn record_rotation(&self, db: &Database) -> Result<(), KeyError> {
        let mut tx = db.begin_write().await?;
        sqlx::query("UPDATE instance_keys SET master_key_id = $1 WHERE id = 1")
            .bind(self.master_id.clone())
            .execute(tx.conn())
            .await
            .map_err(crate::StorageError::from)?;
        tx.audit(&[crate::AccessContext::system("keys").entry(
            MASTER_ROTATED,
            "instance_keys",
            Some(self.master_id.clone()),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    fn parse(master: &str, index: &str, origin: &str) -> Result<Self, KeyError> {
        let master = MasterKey::parse(master.trim())
            .map_err(|e| KeyError::Malformed(origin.to_owned(), format!("master key: {e}")))?;
        let index = IndexKey::parse(index.trim())
            .map_err(|e| KeyError::Malformed(origin.to_owned(), format!("index key: {e}")))?;
        Ok(Self::new(master, index))
    }
}

struct KeyFile {
    master: Zeroizing<String>,
    previous: Vec<Zeroizing<String>>,
    index: Zeroizing<String>,
}

fn parse_file(text: &str) -> Option<KeyFile> {
    let mut master = None;
    let mut index = None;
    let mut previous = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=')?;
        let v = Zeroizing::new(v.trim().to_owned());
        match k.trim() {
            "master" => master = Some(v),
            "index" => index = Some(v),
            "previous" => previous.push(v),
            _ => return None,
        }
    }
    Some(KeyFile {
        master: master?,
        previous,
        index: index?,
    })
}

fn write_key_file(
    path: &Path,
    master: &MasterKey,
    previous: &[MasterKey],
    index: &IndexKey,
) -> Result<(), KeyError> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| KeyError::Io(path.to_owned(), e))?;
    }
    let mut body = Zeroizing::new(format!(
        "# Aloft instance keys. Keep this file secret and backed up separately from the database:\n\
         # without it, encrypted customer data cannot be read.\n\
         master = {}\nindex = {}\n",
        master.export_base64().as_str(),
        index.export_base64().as_str()
    ));
    for old in previous {
        body.push_str(&format!("previous = {}\n", old.export_base64().as_str()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| KeyError::Io(path.to_owned(), e))?;
    file.write_all(body.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| KeyError::Io(path.to_owned(), e))
}

/// Whether `db` already holds an Aloft instance (its schema and key fingerprints). Tools that
/// only make sense against an existing instance (`aloft token issue`) check this first, so they
/// never create a database and keys of their own.
pub async fn instance_initialised(db: &Database) -> Result<bool, crate::StorageError> {
    match sqlx::query("SELECT index_key_id FROM instance_keys WHERE id = 1")
        .fetch_optional(db.pool())
        .await
    {
        Ok(row) => Ok(row.is_some()),
        // No such table: the schema was never created here.
        Err(sqlx::Error::Database(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn recorded(db: &Database) -> Result<Option<(String, String)>, KeyError> {
    let row = sqlx::query("SELECT index_key_id, master_key_id FROM instance_keys WHERE id = 1")
        .fetch_optional(db.pool())
        .await
        .map_err(crate::StorageError::from)?;
    Ok(match row {
        Some(r) => Some((
            r.try_get("index_key_id")
                .map_err(crate::StorageError::from)?,
            r.try_get("master_key_id")
                .map_err(crate::StorageError::from)?,
        )),
        None => None,
    })
}

async fn record(db: &Database, keys: &InstanceKeys) -> Result<(), KeyError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO instance_keys (id, index_key_id, master_key_id, created_at) VALUES (1, $1, $2, $3)")
        .bind(keys.index.fingerprint())
        .bind(keys.master_id.clone())
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(crate::StorageError::from)?;
    tx.commit().await?;
    Ok(())
}

/// The instance keys as a running server holds them: replaceable while it runs, so that a
/// master-key rotation by `aloft keys rotate` takes effect without a restart. Readers take a
/// cheap snapshot (`get`); [`SharedKeys::reload`] re-reads the key file.
#[derive(Clone)]
pub struct SharedKeys {
    current: Arc<RwLock<Arc<InstanceKeys>>>,
    file: Option<PathBuf>,
}

impl std::fmt::Debug for SharedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedKeys")
            .field("keys", &*self.get())
            .field("file", &self.file)
            .finish()
    }
}

impl From<Arc<InstanceKeys>> for SharedKeys {
    fn from(keys: Arc<InstanceKeys>) -> Self {
        Self {
            current: Arc::new(RwLock::new(keys)),
            file: None,
        }
    }
}

impl SharedKeys {
    /// Keys loaded from `source` (only a key file can be reloaded).
    pub fn new(keys: Arc<InstanceKeys>, source: &KeySource) -> Self {
        Self {
            current: Arc::new(RwLock::new(keys)),
            file: match source {
                KeySource::File(path) => Some(path.clone()),
                KeySource::Values { .. } => None,
            },
        }
    }

    /// The keys now.
    pub fn get(&self) -> Arc<InstanceKeys> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-reads the key file; adopts it if its master key changed and its index key did not
    /// (a different index key would make every blind index unmatchable: refused). Returns
    /// whether the keys changed.
    pub fn reload(&self) -> Result<bool, KeyError> {
        let Some(path) = &self.file else {
            return Ok(false);
        };
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| KeyError::Io(path.clone(), e))?,
        );
        let fresh = InstanceKeys::from_file_text(&text, &path.display().to_string())?;
        let now = self.get();
        if fresh.index_key_id() != now.index_key_id() {
            return Err(KeyError::Mismatch {
                which: "index",
                given: fresh.index_key_id(),
                expected: now.index_key_id(),
            });
        }
        if fresh.master_key_id() == now.master_key_id()
            && fresh.previous_master_ids() == now.previous_master_ids()
        {
            return Ok(false);
        }
        tracing::info!(master = %fresh.master_key_id(), "adopted rotated instance keys");
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(true)
    }

    /// Checks the key file every `every` and adopts a rotation (see [`SharedKeys::reload`]).
    pub fn watch(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let keys = self.clone();
        tokio::spawn(async move {
            if keys.file.is_none() {
                return;
            }
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = keys.reload() {
                    tracing::error!(error = %e, "cannot reload the instance keys; keeping the current ones");
                }
            }
        })
    }
}

/// The answer of [`CustomerKeys::data_keys`], boxed so the trait stays object-safe.
pub type CustomerKeysFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    std::collections::HashMap<uuid::Uuid, DataKey>,
                    crate::StorageError,
                >,
            > + Send
            + 'a,
    >,
>;

/// Where a customer's data key comes from, for domains that encrypt customer data outside the
/// profile (travel records' free text, later case messages). The customers domain holds the
/// keys and implements this; others receive it as `Arc<dyn CustomerKeys>`, so one key per
/// customer covers all their data and destroying it erases all of it (crypto-shredding).
pub trait CustomerKeys: Send + Sync + 'static {
    /// The unwrapped data keys of these customers. A customer missing from the answer has no
    /// key: they do not exist, or their key was destroyed (erasure).
    fn data_keys<'a>(&'a self, customers: &'a [uuid::Uuid]) -> CustomerKeysFuture<'a>;
}

/// Moves `fields` out of the JSON object `doc` and encrypts each under `key` — the one format of
/// encrypted fields at rest, for every domain: a JSON object of field name → unpadded base64 of
/// the AES-256-GCM ciphertext of the field's JSON value, with `record_id` and the field name
/// bound as associated data (so a ciphertext moved to another record or field does not open).
/// Fields absent from `doc` are skipped; the answer is empty if none was present.
pub fn seal_fields(
    key: &DataKey,
    record_id: &str,
    doc: &mut serde_json::Value,
    fields: &[&str],
) -> serde_json::Map<String, serde_json::Value> {
    use base64::Engine;
    let mut sealed = serde_json::Map::new();
    if let serde_json::Value::Object(map) = doc {
        for field in fields {
            if let Some(value) = map.remove(*field) {
                let plain = Zeroizing::new(value.to_string());
                let ct = aloft_security::encrypt_field(key, record_id, field, plain.as_bytes());
                sealed.insert(
                    (*field).to_owned(),
                    serde_json::Value::String(SEALED_B64.encode(ct)),
                );
            }
        }
    }
    sealed
}

/// Decrypts what [`seal_fields`] produced for the same record back into the JSON object `doc`.
pub fn open_fields(
    key: &DataKey,
    record_id: &str,
    doc: &mut serde_json::Value,
    sealed: serde_json::Map<String, serde_json::Value>,
) -> Result<(), aloft_security::CryptoError> {
    use aloft_security::CryptoError;
    use base64::Engine;
    let serde_json::Value::Object(map) = doc else {
        return Err(CryptoError::Malformed);
    };
    for (field, ct) in sealed {
        let ct = ct
            .as_str()
            .and_then(|t| SEALED_B64.decode(t).ok())
            .ok_or(CryptoError::Malformed)?;
        let plain = aloft_security::decrypt_field(key, record_id, &field, &ct)?;
        let value = serde_json::from_slice(&plain).map_err(|_| CryptoError::Malformed)?;
        map.insert(field, value);
    }
    Ok(())
}

/// The base64 alphabet of [`seal_fields`] (part of the stored format).
const SEALED_B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;
