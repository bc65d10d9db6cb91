//! Demo staff accounts: one per role, so a newcomer can try every role. Created by
//! `aloft serve --demo` only when there are no accounts yet. Their passwords and TOTP secrets
//! are public (printed at start-up) — never use `--demo` on a real installation.

use aloft_authz::{RoleDef, Roles, ScopeRule};
use aloft_kernel::AccessContext;
use aloft_kernel::StorageError;
use aloft_security::totp::TotpSecret;

use crate::storage::{AccountStore, NewAccount};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "aloft-demo-password";

/// One demo account's sign-in details.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    /// Username (the role id).
    pub username: String,
    /// The role's id.
    pub role: &'static str,
    /// Base32 TOTP secret, to add to an authenticator app or compute codes in tests.
    pub totp_secret: String,
}

/// The deterministic TOTP secret of a demo account (stable across runs, so documentation and
/// browser tests can rely on it).
pub fn demo_secret(role: &str) -> TotpSecret {
    let digest = aloft_security::sha256_hex(&format!("aloft-demo-totp:{role}"));
    let bytes: Vec<u8> = (0..20)
        .map(|i| u8::from_str_radix(&digest[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    TotpSecret::from_bytes(&bytes).expect("20 bytes is a valid TOTP secret")
}

/// Every staff role's demo account (the passenger realm has its own sign-in).
pub fn accounts(roles: &Roles) -> Vec<DemoAccount> {
    roles
        .all()
        .iter()
        .filter(|r| r.is_staff())
        .map(|role| DemoAccount {
            username: role.id.to_owned(),
            role: role.id,
            totp_secret: demo_secret(role.id).to_base32().to_string(),
        })
        .collect()
}

/// The demo station of roles scoped by a value on the credential (check-in agents: Dubai).
fn demo_scope_value(role: &RoleDef) -> Option<&'static str> {
    matches!(role.scope, ScopeRule::FromCredential(_)).then_some(DEMO_STATION)
}

/// The station of demo accounts whose role is scoped to one.
pub const DEMO_STATION: &str = "DXB";

/// Creates the demo accounts unless any account exists. Returns them (created or not).
pub async fn ensure(store: &AccountStore, roles: &Roles) -> Result<Vec<DemoAccount>, StorageError> {
    let list = accounts(roles);
    if store.list().await?.is_empty() {
        let ctx = AccessContext::system("demo");
        for a in &list {
            let def = roles
                .get(a.role)
                .expect("demo accounts come from the catalogue");
            let station = demo_scope_value(def);
            store
                .create(
                    NewAccount {
                        username: &a.username,
                        display_name: def.label,
                        role: a.role,
                        station,
                        password: DEMO_PASSWORD,
                        totp: Some(&demo_secret(a.role)),
                        // The demo is set up by the system, not by a person.
                        pending_approval: false,
                    },
                    &ctx,
                )
                .await?;
        }
    }
    Ok(list)
}
