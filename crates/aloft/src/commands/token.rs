//! `aloft token issue`: a signed bearer token for scripts and operators, only for an instance
//! that exists (its keys sign it).

use clap::Subcommand;

use super::StorageArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Print a signed bearer token (needs this instance's keys).
    Issue {
        #[command(flatten)]
        storage: StorageArgs,
        /// The role the token acts in, e.g. contact_centre_agent.
        #[arg(long, value_parser = parse_role)]
        role: &'static str,
        /// Who or what the token is for (appears in the audit trail).
        #[arg(long, default_value = "operator")]
        subject: String,
        /// Lifetime: 90s, 15m, 1h, 7d (at most 30d).
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: chrono::Duration,
        /// Narrow the role to these permissions (repeatable), e.g. customer.read.
        #[arg(long = "scope", value_parser = parse_permission)]
        scopes: Vec<aloft_authz::Permission>,
        /// The station (IATA code) of a role limited to a station's passengers (check-in
        /// agents); without it, such a token sees no passenger.
        #[arg(long)]
        station: Option<String>,
    },
}

pub(crate) fn parse_role(s: &str) -> Result<&'static str, String> {
    let roles = aloft::roles::catalogue();
    roles.get(s).map(|r| r.id).ok_or_else(|| {
        let all: Vec<&str> = roles.all().iter().map(|r| r.id).collect();
        format!("unknown role; one of: {}", all.join(", "))
    })
}

pub(crate) fn parse_permission(s: &str) -> Result<aloft_authz::Permission, String> {
    let roles = aloft::roles::catalogue();
    roles.permission(s).ok_or_else(|| {
        let all: Vec<&str> = roles
            .permissions()
            .iter()
            .map(|p| p.permission.as_str())
            .collect();
        format!("unknown permission; one of: {}", all.join(", "))
    })
}

pub(crate) fn parse_ttl(s: &str) -> Result<chrono::Duration, String> {
    aloft_access::tokens::parse_ttl(s)
        .ok_or_else(|| "expected e.g. 90s, 15m, 1h or 7d (at most 30d)".into())
}

/// Runs `aloft token …`.
pub(crate) async fn run(command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Issue {
        storage,
        role,
        subject,
        ttl,
        scopes,
        station,
    } = command;
    let roles = aloft::roles::catalogue();
    let def = roles.get(role).expect("parsed from the catalogue");
    anyhow::ensure!(
        def.is_staff(),
        "passenger tokens come from passenger sign-in (POST /api/v1/passenger/token), not from the CLI"
    );
    if let Some(p) = scopes.iter().find(|p| !def.allows(**p)) {
        anyhow::bail!(
            "the role {role} does not include {p}; a token can only be narrower than its role"
        );
    }
    // A token is only worth something to an existing instance: never create a database
    // and keys here (the server would reject the token, signed with keys it never had).
    let db = storage.open_existing("no token was issued").await?;
    let keys = aloft_access::InstanceKeys::load(&db, &storage.key_source()).await?;
    let issuer = aloft_access::TokenIssuer::new(&keys, roles.clone());
    let scopes = (!scopes.is_empty()).then_some(scopes.as_slice());
    let station = station.map(|s| s.trim().to_ascii_uppercase());
    println!(
        "{}",
        issuer.issue_scoped(role, &subject, ttl, scopes, station.as_deref())
    );
    Ok(())
}
