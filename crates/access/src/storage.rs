//! Staff accounts and their sessions, on either backend.
//!
//! Every sign-in event (success, failure, lockout, second factor, sign-out) is written to the
//! audit chain in the same transaction as the account change it causes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::{AccessContext, AuditEntry, Database, StorageError, WriteTx};
use aloft_security::totp::{TotpSecret, normalize_recovery_code};
use aloft_security::{decrypt_text, encrypt_text, hash_password, random_token, sha256_hex};

use crate::keys::InstanceKeys;
use crate::model::{ABSOLUTE_TIMEOUT, FAILURE_MEMORY, Stage, lockout_after};

/// A staff member's account (secrets stay encrypted or hashed in here).
#[derive(Debug, Clone)]
pub struct Account {
    /// Stable id (used in the audit trail instead of the username).
    pub id: Uuid,
    /// What they type to sign in.
    pub username: String,
    /// What the UI calls them.
    pub display_name: String,
    /// Their one role (an id of the application's role catalogue).
    pub role: String,
    /// Airport station (check-in agents).
    pub station: Option<String>,
    password_hash: String,
    totp_secret: Option<String>,
    totp_last_step: i64,
    recovery_codes: Vec<String>,
    /// Failed attempts since the last sign-in, from any address (shown to administrators).
    pub failed_attempts: i64,
    /// Some client address is locked out until then (shown to administrators; sign-in itself
    /// checks the back-off of the (username, address) asking, [`AccountStore::backoff`]).
    pub locked_until: Option<DateTime<Utc>>,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
}

impl Account {
    /// The Argon2id hash to verify a password against.
    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }

    /// Whether a second factor is enrolled.
    pub fn has_totp(&self) -> bool {
        self.totp_secret.is_some()
    }

    /// Unused recovery codes left.
    pub fn recovery_codes_left(&self) -> usize {
        self.recovery_codes.len()
    }
}

/// A live session with its account.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of the cookie value (the cookie value itself is never stored).
    pub id_hash: String,
    /// Whose.
    pub account: Account,
    /// How far the sign-in got.
    pub stage: Stage,
    /// Echoed by every form.
    pub csrf_token: String,
    /// When it began.
    pub created_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
    /// Hard end.
    pub expires_at: DateTime<Utc>,
    pending_totp: Option<String>,
}

/// What it takes to create a staff account.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    /// Sign-in name (see [`crate::model::valid_username`]).
    pub username: &'a str,
    /// Shown in the UI.
    pub display_name: &'a str,
    /// The one role (an id of the application's role catalogue).
    pub role: &'a str,
    /// Airport station, for check-in agents.
    pub station: Option<&'a str>,
    /// Initial password.
    pub password: &'a str,
    /// A pre-enrolled second factor.
    pub totp: Option<&'a TotpSecret>,
    /// The role holds permissions its creator does not: the account is created disabled with a
    /// pending four-eyes grant ([`crate::grants`]).
    pub pending_approval: bool,
}

/// Staff accounts and sessions.
#[derive(Clone)]
pub struct AccountStore {
    db: Database,
    keys: Arc<InstanceKeys>,
}

const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.display_name, a.role, a.station, a.password_hash, \
     a.totp_secret, a.totp_last_step, a.recovery_codes, a.failed_attempts, a.locked_until, a.disabled_at";

fn storage(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

fn decode_account(r: &AnyRow) -> Result<Account, StorageError> {
    let id: String = r.try_get("id")?;
    let role: String = r.try_get("role")?;
    let codes: String = r.try_get("recovery_codes")?;
    let locked: Option<String> = r.try_get("locked_until")?;
    let disabled: Option<String> = r.try_get("disabled_at")?;
    Ok(Account {
        id: Uuid::parse_str(&id).map_err(storage)?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role,
        station: r.try_get("station")?,
        password_hash: r.try_get("password_hash")?,
        totp_secret: r.try_get("totp_secret")?,
        totp_last_step: r.try_get("totp_last_step")?,
        recovery_codes: serde_json::from_str(&codes).map_err(storage)?,
        failed_attempts: r.try_get("failed_attempts")?,
        locked_until: locked.as_deref().map(from_db_time).transpose()?,
        disabled: disabled.is_some(),
    })
}

/// Where a username stands in the sign-in back-off, seen from one client address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backoff {
    /// Sign-ins for the username from this address are refused until then.
    pub blocked_until: Option<DateTime<Utc>>,
    /// Recent failures of the username from every address together.
    pub global_failures: i64,
}

/// Whose sign-ins a back-off row counts. Staff and passengers share one rule and one table; the
/// realm is part of the key so that a username and an e-mail never share a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInSubject<'a> {
    /// A staff username as typed (lower-cased by the caller), so unknown names count too.
    Staff(&'a str),
    /// A passenger's e-mail blind index (or, for text that is no e-mail address, that text):
    /// known and unknown addresses count alike.
    Passenger(&'a str),
}

/// The back-off rows of `subject`: (from the request's client address, from anywhere).
fn backoff_keys(subject: SignInSubject<'_>, ctx: &AccessContext) -> (String, String) {
    let client = ctx.client_address.as_deref().unwrap_or("-");
    let name = match subject {
        SignInSubject::Staff(username) => format!("aloft-signin:{username}"),
        SignInSubject::Passenger(email) => format!("aloft-passenger-signin:{email}"),
    };
    (sha256_hex(&format!("{name}\n{client}")), sha256_hex(&name))
}

/// Where `subject` stands in the sign-in back-off as seen from the request's client address.
/// Asked for every sign-in attempt, whether or not the account exists.
pub async fn backoff_of(
    db: &Database,
    subject: SignInSubject<'_>,
    ctx: &AccessContext,
) -> Result<Backoff, StorageError> {
    let (pair, whole) = backoff_keys(subject, ctx);
    let rows = sqlx::query(
        "SELECT key_hash, failures, blocked_until FROM signin_backoff \
         WHERE key_hash IN ($1, $2) AND updated_at >= $3",
    )
    .bind(&pair)
    .bind(&whole)
    .bind(to_db_time(now() - FAILURE_MEMORY))
    .fetch_all(db.pool())
    .await?;
    let mut backoff = Backoff::default();
    for r in rows {
        let key: String = r.try_get("key_hash")?;
        if key == pair {
            let until: Option<String> = r.try_get("blocked_until")?;
            backoff.blocked_until = until.as_deref().map(from_db_time).transpose()?;
        } else {
            backoff.global_failures = r.try_get("failures")?;
        }
    }
    Ok(backoff)
}

/// Counts a failed attempt of `subject` from the request's client address in `tx` (its first
/// statement writes): the progressive lockout of that (subject, address) and the subject's count
/// across all addresses. Returns the end of the lock if this address is now locked out. Counts
/// nobody added to for a day are forgotten (bounded under a spraying attack).
pub async fn count_failure(
    tx: &mut WriteTx,
    subject: SignInSubject<'_>,
    ctx: &AccessContext,
) -> Result<Option<DateTime<Utc>>, StorageError> {
    let (pair, whole) = backoff_keys(subject, ctx);
    let t = now();
    let stale = to_db_time(t - FAILURE_MEMORY);
    let mut failures = 0;
    for key in [&pair, &whole] {
        let row = sqlx::query(
            "INSERT INTO signin_backoff (key_hash, subject_hash, failures, blocked_until, updated_at) \
             VALUES ($1, $2, 1, NULL, $3) ON CONFLICT (key_hash) DO UPDATE SET \
             failures = CASE WHEN signin_backoff.updated_at < $4 THEN 1 ELSE signin_backoff.failures + 1 END, \
             blocked_until = CASE WHEN signin_backoff.updated_at < $4 THEN NULL ELSE signin_backoff.blocked_until END, \
             updated_at = $3 RETURNING failures",
        )
        .bind(key)
        .bind(&whole)
        .bind(to_db_time(t))
        .bind(&stale)
        .fetch_one(tx.conn())
        .await?;
        if key == &pair {
            failures = row.try_get("failures")?;
        }
    }
    let locked_until = lockout_after(failures).map(|d| t + d);
    if let Some(until) = locked_until {
        sqlx::query("UPDATE signin_backoff SET blocked_until = $2 WHERE key_hash = $1")
            .bind(&pair)
            .bind(to_db_time(until))
            .execute(tx.conn())
            .await?;
    }
    sqlx::query("DELETE FROM signin_backoff WHERE updated_at < $1")
        .bind(&stale)
        .execute(tx.conn())
        .await?;
    Ok(locked_until)
}

/// After a successful sign-in, clears the back-off of `subject` from this client address (not
/// other addresses'), in `tx`.
pub async fn clear_backoff(
    tx: &mut WriteTx,
    subject: SignInSubject<'_>,
    ctx: &AccessContext,
) -> Result<(), StorageError> {
    sqlx::query("DELETE FROM signin_backoff WHERE key_hash = $1")
        .bind(backoff_keys(subject, ctx).0)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Hash of a recovery code, bound to the account so equal codes of two accounts differ.
fn recovery_hash(account: Uuid, code: &str) -> String {
    sha256_hex(&format!("aloft-recovery:{account}:{code}"))
}

impl AccountStore {
    /// A store over `db`, encrypting TOTP secrets with a key derived from `keys`.
    pub fn new(db: Database, keys: Arc<InstanceKeys>) -> Self {
        Self { db, keys }
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The instance's keys, for other stores that seal secrets of the installation itself
    /// (webhook signing secrets) with the same account-secrets key.
    pub fn instance_keys(&self) -> Arc<InstanceKeys> {
        self.keys.clone()
    }

    /// Creates an account. With `totp` the second factor is pre-enrolled (demo accounts,
    /// provisioning); without it the user enrols at first sign-in.
    pub async fn create(
        &self,
        new: NewAccount<'_>,
        ctx: &AccessContext,
    ) -> Result<Account, StorageError> {
        let NewAccount {
            username,
            display_name,
            role,
            station,
            password,
            totp,
            pending_approval,
        } = new;
        let id = Uuid::now_v7();
        let hash = hash_password(password).map_err(storage)?;
        let secret = totp.map(|t| self.seal_totp(id, t));
        let t = to_db_time(now());
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO staff_accounts (id, username, display_name, role, station, password_hash, \
             totp_secret, totp_last_step, recovery_codes, failed_attempts, locked_until, disabled_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, '[]', 0, NULL, $9, $8, $8)",
        )
        .bind(id.to_string())
        .bind(username)
        .bind(display_name)
        .bind(role)
        .bind(station)
        .bind(&hash)
        .bind(secret)
        .bind(&t)
        .bind(pending_approval.then(|| t.clone()))
        .execute(tx.conn())
        .await?;
        if pending_approval {
            crate::grants::request(
                &mut tx,
                crate::grants::Subject::Account,
                &id.to_string(),
                role,
                ctx,
            )
            .await?;
        }
        tx.audit(&[ctx.entry(
            crate::events::audit::ACCOUNT_CREATED,
            "staff_account",
            Some(id.to_string()),
            vec!["role".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.by_username(username)
            .await?
            .ok_or_else(|| storage("account vanished after insert"))
    }

    /// The account with this username.
    pub async fn by_username(&self, username: &str) -> Result<Option<Account>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM staff_accounts a WHERE a.username = $1"
        ))
        .bind(username)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(decode_account).transpose()
    }

    /// Every account, by username.
    pub async fn list(&self) -> Result<Vec<Account>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM staff_accounts a ORDER BY a.username"
        ))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode_account).collect()
    }

    /// Where `username` stands in the sign-in back-off as seen from the request's client
    /// address. Asked for every sign-in attempt, whether or not the username exists.
    pub async fn backoff(
        &self,
        username: &str,
        ctx: &AccessContext,
    ) -> Result<Backoff, StorageError> {
        backoff_of(&self.db, SignInSubject::Staff(username), ctx).await
    }

    /// Counts a failed password or second-factor attempt for `username` (an `account` or a
    /// name that does not exist, counted alike) from the request's client address: the
    /// progressive lockout of that (username, address), and the username's count across all
    /// addresses. Audited with `action` (e.g. `auth.password_failed`). Returns the end of the
    /// lock if this address is now locked out.
    pub async fn record_failure(
        &self,
        username: &str,
        account: Option<&Account>,
        action: aloft_kernel::audit::AuditAction,
        ctx: &AccessContext,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        let t = now();
        let mut tx = self.db.begin_write().await?;
        let locked_until = count_failure(&mut tx, SignInSubject::Staff(username), ctx).await?;
        let resource = account.map(|a| a.id.to_string());
        let mut entries =
            vec![ctx.entry(action, "staff_account", resource.clone(), vec![], "failure")];
        if locked_until.is_some() {
            entries.push(ctx.entry(
                crate::events::audit::AUTH_LOCKED,
                "staff_account",
                resource,
                vec![],
                "denied",
            ));
        }
        if let Some(account) = account {
            // Shown to administrators ("locked" while some address is locked out).
            sqlx::query(
                "UPDATE staff_accounts SET failed_attempts = failed_attempts + 1, \
                 locked_until = COALESCE($2, locked_until), updated_at = $3 WHERE id = $1",
            )
            .bind(account.id.to_string())
            .bind(locked_until.map(to_db_time))
            .bind(to_db_time(t))
            .execute(tx.conn())
            .await?;
        }
        tx.audit(&entries).await?;
        tx.commit().await?;
        Ok(locked_until)
    }

    /// Audits an attempt that was refused before any check (locked account, unknown user, rate
    /// limit), without changing an account.
    pub async fn audit(&self, entry: AuditEntry) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write().await?;
        // The first statement of a write transaction must write (see `WriteTx`).
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(tx.conn())
            .await?;
        tx.audit(&[entry]).await?;
        tx.commit().await
    }

    /// Starts a session at `stage` after a correct password. Returns the cookie value.
    pub async fn start_session(
        &self,
        account: &Account,
        stage: Stage,
        ctx: &AccessContext,
    ) -> Result<String, StorageError> {
        self.start_session_at(
            account,
            stage,
            crate::events::audit::AUTH_PASSWORD_ACCEPTED,
            ctx,
        )
        .await
    }

    /// Starts a session at `stage`, auditing it as `action`. Returns the cookie value.
    pub async fn start_session_at(
        &self,
        account: &Account,
        stage: Stage,
        action: aloft_kernel::audit::AuditAction,
        ctx: &AccessContext,
    ) -> Result<String, StorageError> {
        let token = random_token();
        let t = now();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO staff_sessions (id_hash, account_id, stage, csrf_token, pending_totp, \
             created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, NULL, $5, $5, $6)",
        )
        .bind(sha256_hex(&token))
        .bind(account.id.to_string())
        .bind(stage.as_str())
        .bind(random_token())
        .bind(to_db_time(t))
        .bind(to_db_time(t + ABSOLUTE_TIMEOUT))
        .execute(tx.conn())
        .await?;
        let mut actor_ctx = ctx.clone();
        actor_ctx.actor = aloft_kernel::Actor {
            id: account.id.to_string(),
            role: account.role.clone(),
        };
        tx.audit(&[actor_ctx.entry(
            action,
            "staff_account",
            Some(account.id.to_string()),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The staff account of an SSO subject, created on first sign-in; its display name and role
    /// follow the identity provider's claims at every sign-in. It has no usable password.
    pub async fn upsert_sso_account(
        &self,
        subject: &str,
        display_name: &str,
        role: &str,
        ctx: &AccessContext,
    ) -> Result<Account, StorageError> {
        // The subject is opaque and may be long: its digest keeps the username bounded.
        let username = format!("sso:{}", &sha256_hex(subject)[..32]);
        let display: String = display_name.chars().take(100).collect();
        let t = to_db_time(now());
        let mut tx = self.db.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE staff_accounts SET display_name = $2, role = $3, updated_at = $4 WHERE username = $1",
        )
        .bind(&username)
        .bind(&display)
        .bind(role)
        .bind(&t)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() == 0 {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO staff_accounts (id, username, display_name, role, station, password_hash, \
                 totp_secret, totp_last_step, recovery_codes, failed_attempts, locked_until, disabled_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, NULL, '!sso', NULL, 0, '[]', 0, NULL, NULL, $5, $5)",
            )
            .bind(id.to_string())
            .bind(&username)
            .bind(&display)
            .bind(role)
            .bind(&t)
            .execute(tx.conn())
            .await?;
            tx.audit(&[ctx.entry(
                crate::events::audit::ACCOUNT_CREATED_BY_SSO,
                "staff_account",
                Some(id.to_string()),
                vec!["role".into()],
                "success",
            )])
            .await?;
        }
        tx.commit().await?;
        self.by_username(&username)
            .await?
            .ok_or_else(|| storage("SSO account vanished after upsert"))
    }

    /// The session behind a cookie value, with its account (`None` if unknown).
    pub async fn session(&self, token: &str) -> Result<Option<Session>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT s.id_hash, s.stage, s.csrf_token, s.pending_totp, s.created_at, s.last_seen_at, \
             s.expires_at, {ACCOUNT_COLUMNS} FROM staff_sessions s \
             JOIN staff_accounts a ON a.id = s.account_id WHERE s.id_hash = $1"
        ))
        .bind(sha256_hex(token))
        .fetch_optional(self.db.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let stage: String = r.try_get("stage")?;
        Ok(Some(Session {
            id_hash: r.try_get("id_hash")?,
            account: decode_account(&r)?,
            stage: Stage::parse(&stage).ok_or_else(|| storage("unknown session stage"))?,
            csrf_token: r.try_get("csrf_token")?,
            created_at: from_db_time(&r.try_get::<String, _>("created_at")?)?,
            last_seen_at: from_db_time(&r.try_get::<String, _>("last_seen_at")?)?,
            expires_at: from_db_time(&r.try_get::<String, _>("expires_at")?)?,
            pending_totp: r.try_get("pending_totp")?,
        }))
    }

    /// Records activity (called at most once a minute per session).
    pub async fn touch(&self, id_hash: &str) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(to_db_time(now()))
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// Completes the sign-in: the second factor was right. The session gets a **new** id (so
    /// an id planted before sign-in is worthless) and the failure count resets. Returns the new
    /// cookie value.
    pub async fn complete_sign_in(
        &self,
        session: &Session,
        totp_step: Option<u64>,
        action: aloft_kernel::audit::AuditAction,
        ctx: &AccessContext,
    ) -> Result<String, StorageError> {
        let token = random_token();
        let t = now();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE staff_sessions SET id_hash = $2, stage = 'full', csrf_token = $3, pending_totp = NULL, \
             last_seen_at = $4 WHERE id_hash = $1",
        )
        .bind(&session.id_hash)
        .bind(sha256_hex(&token))
        .bind(random_token())
        .bind(to_db_time(t))
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "UPDATE staff_accounts SET failed_attempts = 0, locked_until = NULL, \
             totp_last_step = CASE WHEN $2 > totp_last_step THEN $2 ELSE totp_last_step END, updated_at = $3 WHERE id = $1",
        )
        .bind(session.account.id.to_string())
        .bind(totp_step.map(|s| s as i64).unwrap_or(0))
        .bind(to_db_time(t))
        .execute(tx.conn())
        .await?;
        // A full sign-in from this address clears its back-off (not other addresses').
        clear_backoff(
            &mut tx,
            SignInSubject::Staff(&session.account.username),
            ctx,
        )
        .await?;
        tx.audit(&[ctx.entry(
            action,
            "staff_account",
            Some(session.account.id.to_string()),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Ends one session.
    pub async fn end_session(
        &self,
        id_hash: &str,
        account: Uuid,
        ctx: &AccessContext,
    ) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(tx.conn())
            .await?;
        tx.audit(&[ctx.entry(
            crate::events::audit::AUTH_SIGNED_OUT,
            "staff_account",
            Some(account.to_string()),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await
    }

    /// Ends every session of an account ("sign out everywhere"); returns how many.
    pub async fn end_all_sessions(
        &self,
        account: Uuid,
        ctx: &AccessContext,
    ) -> Result<u64, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query("DELETE FROM staff_sessions WHERE account_id = $1")
            .bind(account.to_string())
            .execute(tx.conn())
            .await?;
        tx.audit(&[ctx.entry(
            crate::events::audit::AUTH_SIGNED_OUT_EVERYWHERE,
            "staff_account",
            Some(account.to_string()),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Live sessions of an account.
    pub async fn session_count(&self, account: Uuid) -> Result<i64, StorageError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM staff_sessions WHERE account_id = $1 AND expires_at > $2",
        )
        .bind(account.to_string())
        .bind(to_db_time(now()))
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Removes expired sessions (run periodically).
    pub async fn prune_sessions(&self) -> Result<u64, StorageError> {
        let cutoff = now() - crate::model::IDLE_TIMEOUT;
        let mut tx = self.db.begin_write().await?;
        let done =
            sqlx::query("DELETE FROM staff_sessions WHERE expires_at < $1 OR last_seen_at < $2")
                .bind(to_db_time(now()))
                .bind(to_db_time(cutoff))
                .execute(tx.conn())
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Encrypts a passenger account's secret `field` with the account-secret key, bound to
    /// the passenger account id and the field name (passenger accounts' second factor).
    pub(crate) fn seal_passenger_secret(&self, account: &str, field: &str, text: &str) -> String {
        encrypt_text(&self.keys.account_secrets_key(), account, field, text)
    }

    /// Decrypts what [`AccountStore::seal_passenger_secret`] sealed.
    pub(crate) fn open_passenger_secret(
        &self,
        account: &str,
        field: &str,
        sealed: &str,
    ) -> Result<String, StorageError> {
        decrypt_text(&self.keys.account_secrets_key(), account, field, sealed).map_err(storage)
    }

    fn seal_totp(&self, account: Uuid, secret: &TotpSecret) -> String {
        encrypt_text(
            &self.keys.account_secrets_key(),
            &account.to_string(),
            "totp_secret",
            &secret.to_base32(),
        )
    }

    fn open_totp(&self, account: Uuid, sealed: &str) -> Result<TotpSecret, StorageError> {
        let text = decrypt_text(
            &self.keys.account_secrets_key(),
            &account.to_string(),
            "totp_secret",
            sealed,
        )
        .map_err(storage)?;
        TotpSecret::from_base32(&text).map_err(storage)
    }

    /// Checks a TOTP code; replays of an already used time step are refused. Returns the step.
    pub fn check_totp(&self, account: &Account, code: &str) -> Result<Option<u64>, StorageError> {
        let Some(sealed) = &account.totp_secret else {
            return Ok(None);
        };
        let secret = self.open_totp(account.id, sealed)?;
        let unix = now().timestamp().max(0) as u64;
        Ok(aloft_security::totp::verify(&secret, code, unix, 1)
            .filter(|step| *step as i64 > account.totp_last_step))
    }

    /// Consumes a recovery code if it is one of the account's unused ones.
    pub async fn use_recovery_code(
        &self,
        account: &Account,
        typed: &str,
    ) -> Result<bool, StorageError> {
        let Some(code) = normalize_recovery_code(typed) else {
            return Ok(false);
        };
        let hash = recovery_hash(account.id, &code);
        if !account
            .recovery_codes
            .iter()
            .any(|h| aloft_security::constant_time_eq(h.as_bytes(), hash.as_bytes()))
        {
            return Ok(false);
        }
        let left: Vec<&String> = account
            .recovery_codes
            .iter()
            .filter(|h| **h != hash)
            .collect();
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE staff_accounts SET recovery_codes = $2, updated_at = $3 WHERE id = $1")
            .bind(account.id.to_string())
            .bind(serde_json::to_string(&left).map_err(storage)?)
            .bind(to_db_time(now()))
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Remembers the secret being enrolled in this session (shown as a QR code until confirmed).
    pub async fn set_pending_totp(
        &self,
        session: &Session,
        secret: &TotpSecret,
    ) -> Result<(), StorageError> {
        let sealed = self.seal_totp(session.account.id, secret);
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE staff_sessions SET pending_totp = $2 WHERE id_hash = $1")
            .bind(&session.id_hash)
            .bind(sealed)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// The secret being enrolled in this session, if any.
    pub fn pending_totp(&self, session: &Session) -> Result<Option<TotpSecret>, StorageError> {
        session
            .pending_totp
            .as_deref()
            .map(|s| self.open_totp(session.account.id, s))
            .transpose()
    }

    /// Makes `secret` the account's second factor and issues fresh recovery codes (returned
    /// once, in the clear, to show; only their hashes are kept).
    pub async fn enrol_totp(
        &self,
        account: &Account,
        secret: &TotpSecret,
        ctx: &AccessContext,
    ) -> Result<Vec<String>, StorageError> {
        let codes = aloft_security::recovery_codes(10);
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(account.id, c)).collect();
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE staff_accounts SET totp_secret = $2, recovery_codes = $3, updated_at = $4 WHERE id = $1")
            .bind(account.id.to_string())
            .bind(self.seal_totp(account.id, secret))
            .bind(serde_json::to_string(&hashes).map_err(storage)?)
            .bind(to_db_time(now()))
            .execute(tx.conn())
            .await?;
        tx.audit(&[ctx.entry(
            crate::events::audit::AUTH_MFA_ENROLLED,
            "staff_account",
            Some(account.id.to_string()),
            vec!["totp_secret".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(codes)
    }
}

/// An integration client managed in Aloft (credentials for the client-credentials grant).
#[derive(Debug, Clone)]
pub struct ApiClient {
    /// Client id (`client_id`).
    pub id: String,
    /// What it is, e.g. "GDS booking feed".
    pub name: String,
    /// The role its tokens act in (an id of the application's role catalogue).
    pub role: String,
    /// Permission ids narrowing the role (empty = the whole role).
    pub scopes: Vec<String>,
    /// The row-scope value of a scoped role (a check-in kiosk's station).
    pub station: Option<String>,
    /// Waiting for a second person to approve its role (four-eyes): no tokens until then.
    pub awaiting_approval: bool,
    /// Credentials stop working then.
    pub expires_at: DateTime<Utc>,
    /// Revoked (no new tokens).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who created it.
    pub created_by: String,
}

impl ApiClient {
    /// Whether its credentials may get a token now.
    pub fn active(&self, at: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && !self.awaiting_approval && at < self.expires_at
    }
}

fn decode_client(r: &AnyRow) -> Result<(ApiClient, String), StorageError> {
    let role: String = r.try_get("role")?;
    let scopes: String = r.try_get("scopes")?;
    let revoked: Option<String> = r.try_get("revoked_at")?;
    Ok((
        ApiClient {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            role,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            station: r.try_get("station")?,
            awaiting_approval: r.try_get::<i64, _>("awaiting_approval")? != 0,
            expires_at: from_db_time(&r.try_get::<String, _>("expires_at")?)?,
            revoked_at: revoked.as_deref().map(from_db_time).transpose()?,
            created_by: r.try_get("created_by")?,
        },
        r.try_get("secret_hash")?,
    ))
}

/// What registering an integration client needs: grouped so that the call site names each
/// value (a role and a station are both plain strings, easily swapped in a positional list).
#[derive(Debug, Clone, Copy)]
pub struct NewClient<'a> {
    /// Its display name.
    pub name: &'a str,
    /// The role it acts in.
    pub role: &'a str,
    /// Permissions it is narrowed to (empty: the whole role).
    pub scopes: &'a [aloft_authz::Permission],
    /// The row-scope value of a scoped role (a check-in agent's station).
    pub station: Option<&'a str>,
    /// Whether it waits for a second person's approval before it may get tokens.
    pub pending_approval: bool,
    /// How long its secret stays valid.
    pub valid_for: chrono::Duration,
}

impl AccountStore {
    /// Registers an integration client; returns it and its secret (shown once, stored only as
    /// a digest).
    pub async fn create_client(
        &self,
        new: NewClient<'_>,
        ctx: &AccessContext,
    ) -> Result<(ApiClient, String), StorageError> {
        let NewClient {
            name,
            role,
            scopes,
            station,
            pending_approval,
            valid_for,
        } = new;
        let id = format!("cli_{}", Uuid::now_v7().simple());
        let secret = random_token();
        let t = now();
        let scope_text: Vec<&str> = scopes.iter().map(|p| p.as_str()).collect();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_clients (id, name, role, scopes, secret_hash, expires_at, revoked_at, created_at, created_by, station, awaiting_approval) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(name)
        .bind(role)
        .bind(scope_text.join(" "))
        .bind(sha256_hex(&secret))
        .bind(to_db_time(t + valid_for))
        .bind(to_db_time(t))
        .bind(&ctx.actor.id)
        .bind(station)
        .bind(i64::from(pending_approval))
        .execute(tx.conn())
        .await?;
        if pending_approval {
            crate::grants::request(&mut tx, crate::grants::Subject::Client, &id, role, ctx).await?;
        }
        tx.audit(&[ctx.entry(
            crate::events::audit::API_CLIENT_CREATED,
            "api_client",
            Some(id.clone()),
            vec!["role".into(), "scopes".into(), "station".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        let client = self
            .client(&id)
            .await?
            .ok_or_else(|| storage("client vanished after insert"))?;
        Ok((client, secret))
    }

    /// One client.
    pub async fn client(&self, id: &str) -> Result<Option<ApiClient>, StorageError> {
        let row = sqlx::query("SELECT * FROM api_clients WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(decode_client).transpose()?.map(|(c, _)| c))
    }

    /// Every client, newest first.
    pub async fn clients(&self) -> Result<Vec<ApiClient>, StorageError> {
        let rows = sqlx::query("SELECT * FROM api_clients ORDER BY created_at DESC")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| decode_client(r).map(|(c, _)| c))
            .collect()
    }

    /// The client if `secret` is its current secret and it is active.
    pub async fn authenticate_client(
        &self,
        id: &str,
        secret: &str,
    ) -> Result<Option<ApiClient>, StorageError> {
        let row = sqlx::query("SELECT * FROM api_clients WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        let Some((client, hash)) = row.as_ref().map(decode_client).transpose()? else {
            return Ok(None);
        };
        let ok = aloft_security::constant_time_eq(hash.as_bytes(), sha256_hex(secret).as_bytes());
        Ok((ok && client.active(now())).then_some(client))
    }

    /// Revokes a client: it gets no new tokens (tokens already issued live out their minutes).
    pub async fn revoke_client(&self, id: &str, ctx: &AccessContext) -> Result<bool, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE api_clients SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await?;
        if done.rows_affected() > 0 {
            tx.audit(&[ctx.entry(
                crate::events::audit::API_CLIENT_REVOKED,
                "api_client",
                Some(id.to_owned()),
                vec![],
                "success",
            )])
            .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}

/// What an administrator can do to a staff account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    /// No more sign-ins; every session ends.
    Disable,
    /// Sign-ins allowed again.
    Enable,
    /// Forget the second factor and recovery codes (lost phone); every session ends and the
    /// next sign-in enrols a new authenticator.
    ResetMfa,
    /// Clear the failure count and lock.
    Unlock,
}

impl AccountAction {
    /// Parses the URL segment.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "disable" => Some(Self::Disable),
            "enable" => Some(Self::Enable),
            "reset-mfa" => Some(Self::ResetMfa),
            "unlock" => Some(Self::Unlock),
            _ => None,
        }
    }

    fn audit_action(self) -> aloft_kernel::audit::AuditAction {
        match self {
            Self::Disable => crate::events::audit::ACCOUNT_DISABLED,
            Self::Enable => crate::events::audit::ACCOUNT_ENABLED,
            Self::ResetMfa => crate::events::audit::ACCOUNT_MFA_RESET,
            Self::Unlock => crate::events::audit::ACCOUNT_UNLOCKED,
        }
    }
}

impl AccountStore {
    /// Applies an administrator's action to account `id`; `false` if there is no such account.
    pub async fn apply(
        &self,
        id: Uuid,
        action: AccountAction,
        ctx: &AccessContext,
    ) -> Result<bool, StorageError> {
        let t = to_db_time(now());
        let sql = match action {
            AccountAction::Disable => {
                "UPDATE staff_accounts SET disabled_at = $2, updated_at = $2 WHERE id = $1"
            }
            AccountAction::Enable => {
                "UPDATE staff_accounts SET disabled_at = NULL, updated_at = $2 WHERE id = $1"
            }
            AccountAction::ResetMfa => {
                "UPDATE staff_accounts SET totp_secret = NULL, recovery_codes = '[]', totp_last_step = 0, updated_at = $2 WHERE id = $1"
            }
            AccountAction::Unlock => {
                "UPDATE staff_accounts SET failed_attempts = 0, locked_until = NULL, updated_at = $2 WHERE id = $1"
            }
        };
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(sql)
            .bind(id.to_string())
            .bind(&t)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if action == AccountAction::Unlock {
            let row = sqlx::query("SELECT username FROM staff_accounts WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(tx.conn())
                .await?;
            let username: String = row.try_get("username")?;
            sqlx::query("DELETE FROM signin_backoff WHERE subject_hash = $1")
                .bind(backoff_keys(SignInSubject::Staff(&username), ctx).1)
                .execute(tx.conn())
                .await?;
        }
        if matches!(action, AccountAction::Disable | AccountAction::ResetMfa) {
            sqlx::query("DELETE FROM staff_sessions WHERE account_id = $1")
                .bind(id.to_string())
                .execute(tx.conn())
                .await?;
        }
        tx.audit(&[ctx.entry(
            action.audit_action(),
            "staff_account",
            Some(id.to_string()),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
