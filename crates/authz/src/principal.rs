//! Who is asking and what they may do: permissions (declared by the domain that checks them),
//! roles (data, assembled by the composition root), row scopes (fail-closed) and the
//! [`Principal`] every request carries after the gate.
//!
//! Nothing here names an airline job or a domain: the catalogue of roles is handed in by the
//! binary, and each domain module declares the permissions it checks.

use std::sync::Arc;

use aloft_kernel::audit::Actor;
use serde::Serialize;

/// One thing a role may be allowed to do, identified by a stable dotted id (`customer.read`),
/// which is also the OAuth scope that grants it. Declared as a constant by the domain whose
/// routes and storage check it, and registered through that domain's module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission(&'static str);

impl Permission {
    /// A permission with a stable id.
    pub const fn new(id: &'static str) -> Self {
        Self(id)
    }

    /// The stable identifier (also the OAuth scope that grants it).
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// A permission with the sentence shown to whoever reviews access (`/access/roles`).
#[derive(Debug, Clone, Copy)]
pub struct PermissionInfo {
    /// The permission.
    pub permission: Permission,
    /// What it allows, in a sentence.
    pub description: &'static str,
}

/// How the principal proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Realm {
    /// Airline staff signed in to the workspace.
    Staff,
    /// A passenger using self-service.
    Passenger,
    /// A machine: integration client or operator token.
    Service,
}

/// A kind of row limit (`station`, `roster`, `customer`): the data owner names the kinds it
/// understands; a kind it does not understand matches no row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeKind(&'static str);

impl ScopeKind {
    /// A scope kind with a stable id.
    pub const fn new(id: &'static str) -> Self {
        Self(id)
    }

    /// The stable identifier.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// Which rows a principal may see. **Fail-closed**: a role that needs a scope (a check-in
/// agent's station) but whose credential carries none gets [`RowScope::Nothing`], never `All`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum RowScope {
    /// No row limit beyond the permissions.
    All,
    /// No rows at all (a scoped role without its scope).
    Nothing,
    /// Only rows matching this grant, as the data owner interprets its kind.
    Only(ScopeGrant),
}

/// One row limit: a kind and its value (`station` = `DXB`; `roster` = the crew member's
/// subject; `customer` = a customer id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeGrant {
    /// What kind of limit.
    #[serde(serialize_with = "kind_id")]
    pub kind: ScopeKind,
    /// Its value.
    pub value: String,
}

fn kind_id<S: serde::Serializer>(k: &ScopeKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

impl RowScope {
    /// A grant of `kind` with `value`.
    pub fn only(kind: ScopeKind, value: impl Into<String>) -> Self {
        RowScope::Only(ScopeGrant {
            kind,
            value: value.into(),
        })
    }

    /// The value of a grant of `kind`, if this scope is one.
    pub fn value_of(&self, kind: ScopeKind) -> Option<&str> {
        match self {
            RowScope::Only(g) if g.kind == kind => Some(&g.value),
            _ => None,
        }
    }
}

/// What a role's row scope depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRule {
    /// The role sees every row its permissions allow.
    Unlimited,
    /// The role sees only rows of a grant of this kind; its value comes from the credential
    /// (account, token or client). Without one, the principal sees nothing.
    FromCredential(ScopeKind),
    /// The role sees only rows of this kind whose value is the principal's own subject (cabin
    /// crew: the roster of the signed-in crew member).
    OfSubject(ScopeKind),
}

/// A job in the airline, as data: the composition root lists them; tokens, accounts and the
/// CLI name them by `id`.
#[derive(Debug, Clone, Copy)]
pub struct RoleDef {
    /// Stable identifier (`contact_centre_agent`).
    pub id: &'static str,
    /// Human label.
    pub label: &'static str,
    /// What the job is, in a sentence.
    pub description: &'static str,
    /// Staff sign in to the workspace with MFA; passengers are their own realm.
    pub realm: Realm,
    /// What this role may do (least privilege).
    pub permissions: &'static [Permission],
    /// Which rows it sees.
    pub scope: ScopeRule,
}

impl RoleDef {
    /// Whether staff of this role sign in to the workspace.
    pub fn is_staff(&self) -> bool {
        self.realm == Realm::Staff
    }

    /// Whether this role holds `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// The row scope of a principal of this role whose credential carries `scope_value` (a
    /// station for a check-in agent) and whose subject is `subject`. Fail-closed.
    pub fn row_scope(&self, subject: &str, scope_value: Option<&str>) -> RowScope {
        match self.scope {
            ScopeRule::Unlimited => RowScope::All,
            ScopeRule::FromCredential(kind) => match scope_value.filter(|v| !v.is_empty()) {
                Some(v) => RowScope::only(kind, v),
                None => RowScope::Nothing,
            },
            ScopeRule::OfSubject(kind) => RowScope::only(kind, subject),
        }
    }
}

/// The role catalogue and the permission registry of one assembled application.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    roles: Arc<Vec<RoleDef>>,
    permissions: Arc<Vec<PermissionInfo>>,
}

impl Roles {
    /// A catalogue of `roles` over the registered `permissions`.
    ///
    /// # Panics
    /// If a role holds a permission no module registered, or an id is used twice: both are
    /// programming errors found at start-up (and by the tests).
    pub fn new(roles: Vec<RoleDef>, permissions: Vec<PermissionInfo>) -> Self {
        for (i, p) in permissions.iter().enumerate() {
            assert!(
                !permissions[..i]
                    .iter()
                    .any(|q| q.permission == p.permission),
                "permission {} registered twice",
                p.permission
            );
        }
        for (i, r) in roles.iter().enumerate() {
            assert!(
                !roles[..i].iter().any(|q| q.id == r.id),
                "role {} declared twice",
                r.id
            );
            for p in r.permissions {
                assert!(
                    permissions.iter().any(|q| q.permission == *p),
                    "role {} holds {p}, which no module registers",
                    r.id
                );
            }
        }
        Self {
            roles: Arc::new(roles),
            permissions: Arc::new(permissions),
        }
    }

    /// Every role, in catalogue order.
    pub fn all(&self) -> &[RoleDef] {
        &self.roles
    }

    /// The role with this id.
    pub fn get(&self, id: &str) -> Option<&RoleDef> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// Every registered permission with its description.
    pub fn permissions(&self) -> &[PermissionInfo] {
        &self.permissions
    }

    /// The registered permission with this id (token scopes, CLI flags).
    pub fn permission(&self, id: &str) -> Option<Permission> {
        self.permissions
            .iter()
            .map(|p| p.permission)
            .find(|p| p.as_str() == id)
    }

    /// A principal of role `role`: its permissions narrowed by `scopes` (OAuth scopes; `None`
    /// = the role's set), its row scope from `scope_value` (fail-closed). `None` for an
    /// unknown role.
    #[allow(clippy::too_many_arguments)]
    pub fn principal(
        &self,
        role: &str,
        subject: String,
        display_name: String,
        realm: Realm,
        scope_value: Option<&str>,
        scopes: Option<&[String]>,
        fully_authenticated: bool,
    ) -> Option<Principal> {
        let def = self.get(role)?;
        let permissions: Vec<Permission> = def
            .permissions
            .iter()
            .copied()
            .filter(|p| scopes.is_none_or(|s| s.iter().any(|x| x == p.as_str())))
            .collect();
        Some(Principal {
            scope: def.row_scope(&subject, scope_value),
            subject,
            display_name,
            role: def.id,
            role_label: def.label,
            realm,
            fully_authenticated,
            permissions: permissions.into(),
            csrf_token: None,
            session: None,
        })
    }
}

/// A signed-in (or token-bearing) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable subject: account id, client id or token subject.
    pub subject: String,
    /// What to call them on screen.
    pub display_name: String,
    /// The id of the role they act in.
    pub role: &'static str,
    /// The role's label.
    pub role_label: &'static str,
    /// How they signed in.
    pub realm: Realm,
    /// Row limits.
    pub scope: RowScope,
    /// `false` while a staff member has given a password but not yet the second factor: only the
    /// sign-in steps are open to them.
    pub fully_authenticated: bool,
    /// What they may do: the role's permissions, narrowed by token scopes.
    pub permissions: Arc<[Permission]>,
    /// The session's CSRF token when authenticated by cookie (forms must echo it).
    pub csrf_token: Option<String>,
    /// The session id hash, for sign-out.
    pub session: Option<String>,
}

impl Principal {
    /// Whether this principal holds `permission` (role and token scopes both allow it).
    pub fn can(&self, permission: Permission) -> bool {
        self.fully_authenticated && self.permissions.contains(&permission)
    }

    /// The audit actor.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.subject.clone(),
            role: self.role.to_owned(),
        }
    }
}
