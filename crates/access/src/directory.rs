//! Names for the ids the audit trail keeps: the trail records account and client ids (never a
//! username or e-mail), and the pages that show it say who that was.

use std::collections::{BTreeSet, HashMap};

use aloft_kernel::db::{Database, StorageError};
use sqlx::Row;

/// Who an actor or record id stands for, as the trail pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The readable name (`Dana Ortiz`, `Booking engine`).
    pub name: String,
    /// What tells it apart: the username of a staff account, empty for a client.
    pub detail: String,
    /// What kind of party it is (`staff account`, `integration client`).
    pub kind: &'static str,
}

/// The names of the staff accounts and integration clients among `ids` (actor ids, record
/// ids; `token:<subject>` ids are looked up by their subject). Ids not found are left out.
pub async fn names_of(
    db: &Database,
    ids: &BTreeSet<String>,
) -> Result<HashMap<String, Named>, StorageError> {
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    for id in ids {
        let bare = id.strip_prefix("token:").unwrap_or(id);
        // Only ids that can name an account or a client (uuids, client ids): not addresses,
        // routes or system actors.
        if !bare.is_empty()
            && bare.len() <= 64
            && bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            wanted.insert(bare);
        }
    }
    let mut found: HashMap<String, Named> = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let list: Vec<&str> = wanted.into_iter().collect();
    for chunk in list.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let marks = marks.join(", ");
        let sql =
            format!("SELECT id, username, display_name FROM staff_accounts WHERE id IN ({marks})");
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(db.pool()).await? {
            let (id, username, display): (String, String, String) = (
                r.try_get("id")?,
                r.try_get("username")?,
                r.try_get("display_name")?,
            );
            found.insert(
                id,
                Named {
                    name: display,
                    detail: username,
                    kind: "staff account",
                },
            );
        }
        let sql = format!("SELECT id, name FROM api_clients WHERE id IN ({marks})");
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(db.pool()).await? {
            let (id, name): (String, String) = (r.try_get("id")?, r.try_get("name")?);
            found.insert(
                id,
                Named {
                    name,
                    detail: String::new(),
                    kind: "integration client",
                },
            );
        }
    }
    // `token:<subject>` resolves as its subject does.
    for id in ids {
        if let Some(bare) = id.strip_prefix("token:")
            && let Some(n) = found.get(bare).cloned()
        {
            found.insert(id.clone(), n);
        }
    }
    Ok(found)
}

/// The id of the staff account signed in as `username`, if there is one (the trail's actor
/// filter accepts a username as well as an id).
pub async fn account_id_of(db: &Database, username: &str) -> Result<Option<String>, StorageError> {
    let row = sqlx::query("SELECT id FROM staff_accounts WHERE username = $1")
        .bind(username)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| r.try_get("id")).transpose().map_err(Into::into)
}

impl Named {
    /// The name with its username, for text without markup (`Dana Ortiz (dortiz)`).
    pub fn full(&self) -> String {
        if self.detail.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.detail)
        }
    }
}

/// How an actor id reads when no account or client has it (`anonymous`, `system:demo`).
pub fn fallback_name(id: &str) -> String {
    if id == "anonymous" {
        "Not signed in".to_owned()
    } else if let Some(what) = id.strip_prefix("system:") {
        format!("Aloft ({what})")
    } else if let Some(subject) = id.strip_prefix("token:") {
        format!("Token {subject}")
    } else {
        id.to_owned()
    }
}
