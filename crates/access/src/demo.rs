//! Demo staff accounts: one per role, so a newcomer can try every role. Created by
//! `aloft serve --demo` only when there are no accounts yet. Their passwords and TOTP secrets
//! are public (printed at start-up) — never use `--demo` on a real installation.

use aloft_platform::AccessContext;
use aloft_platform::StorageError;
use aloft_platform::access::Role;
use aloft_security::totp::TotpSecret;

use crate::storage::{AccountStore, NewAccount};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "aloft-demo-password";

/// One demo account's sign-in details.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    /// Username (the role id).
    pub username: String,
    /// The role.
    pub role: Role,
    /// Base32 TOTP secret, to add to an authenticator app or compute codes in tests.
    pub totp_secret: String,
}

/// The deterministic TOTP secret of a demo account (stable across runs, so documentation and
/// browser tests can rely on it).
pub fn demo_secret(role: Role) -> TotpSecret {
    let digest = aloft_security::sha256_hex(&format!("aloft-demo-totp:{}", role.as_str()));
    let bytes: Vec<u8> = (0..20)
        .map(|i| u8::from_str_radix(&digest[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    TotpSecret::from_bytes(&bytes).expect("20 bytes is a valid TOTP secret")
}

/// Every staff role's demo account (the passenger realm has its own sign-in).
pub fn accounts() -> Vec<DemoAccount> {
    Role::ALL
        .into_iter()
        .filter(|r| r.is_staff())
        .map(|role| DemoAccount {
            username: role.as_str().to_owned(),
            role,
            totp_secret: demo_secret(role).to_base32().to_string(),
        })
        .collect()
}

/// Creates the demo accounts unless any account exists. Returns them (created or not).
pub async fn ensure(store: &AccountStore) -> Result<Vec<DemoAccount>, StorageError> {
    let list = accounts();
    if store.list().await?.is_empty() {
        let ctx = AccessContext::system("demo");
        for a in &list {
            let station = (a.role == Role::CheckinAgent).then_some("DXB");
            store
                .create(
                    NewAccount {
                        username: &a.username,
                        display_name: a.role.label(),
                        role: a.role,
                        station,
                        password: DEMO_PASSWORD,
                        totp: Some(&demo_secret(a.role)),
                    },
                    &ctx,
                )
                .await?;
        }
    }
    Ok(list)
}
