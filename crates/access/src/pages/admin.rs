//! The access administration pages: roles and their permissions, staff accounts and crew
//! rosters, integration clients, and four-eyes grants.

use super::*;

/// The label of role `id` (the id itself for a role the catalogue no longer has).
pub(super) fn role_label<'a>(roles: &Roles, id: &'a str) -> &'a str {
    roles.get(id).map_or(id, |r| r.label)
}

/// Roles whose rows follow a per-account roster (cabin crew).
pub(super) fn rostered(role: Option<&RoleDef>) -> bool {
    role.is_some_and(|r| matches!(r.scope, ScopeRule::OfSubject(_)))
}

/// Roles whose rows follow a value on the credential (a check-in agent's station).
pub(super) fn needs_station(role: Option<&RoleDef>) -> bool {
    role.is_some_and(|r| matches!(r.scope, ScopeRule::FromCredential(_)))
}

pub(super) async fn roles(State(state): State<SignInState>) -> Response {
    let roles = &state.roles;
    page(
        StatusCode::OK,
        layout(
            "Roles and permissions",
            SECTION,
            html! {
                h1 { "Roles and permissions" }
                @if aloft_authz::current_principal().is_some_and(|p| p.can(ACCOUNTS_MANAGE)) {
                    p { a href="/access/accounts" { "Manage staff accounts" } }
                }
                @if aloft_authz::current_principal().is_some_and(|p| p.can(API_CLIENTS_MANAGE)) {
                    p { a href="/access/clients" { "Manage integration clients" } }
                }
                @if aloft_authz::current_principal().is_some_and(|p| p.can(crate::permissions::ACCESS_APPROVE)) {
                    p { a href="/access/grants" { "Pending grants (four-eyes approval)" } }
                }
                p { "What each role may do: one row per permission, one column per role. Everything not marked is denied. Travel document numbers are masked for roles without that permission." }
                div.table-scroll tabindex="0" role="region" aria-label="Permissions by role" {
                    table.roles-matrix #roles-matrix {
                        caption { "Roles × permissions" }
                        thead {
                            tr {
                                th scope="col" { "Permission" }
                                @for r in roles.all() {
                                    th scope="col" id={ "role-" (r.id) } title=(r.description) { (r.label) }
                                }
                            }
                        }
                        tbody {
                            @for p in roles.permissions() {
                                tr {
                                    th scope="row" {
                                        (p.description) br;
                                        small.muted { code { (p.permission.as_str()) } }
                                    }
                                    @for r in roles.all() {
                                        td.matrix-cell {
                                            @if r.allows(p.permission) {
                                                span title={ (r.label) ": " (p.description) } { "✓" span.visually-hidden { " allowed" } }
                                            } @else {
                                                span.muted aria-hidden="true" { "·" } span.visually-hidden { "not allowed" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        ),
    )
}

pub(super) fn clients_page(
    roles: &Roles,
    status: StatusCode,
    list: &[crate::storage::ApiClient],
    created: Option<(&str, &str)>,
    error: Option<&str>,
) -> Response {
    let t = now();
    page(
        status,
        layout(
            "Integration clients",
            SECTION,
            html! {
                h1 { "Integration clients" }
                p { "Systems that call the API (booking channels, loyalty, partners) get their own credentials: a role, optional narrower permissions, an expiry, and revocation. They trade them at " code { "POST /api/v1/oauth/token" } " (client-credentials grant) for ten-minute bearer tokens." }
                @if let Some((id, secret)) = created {
                    article.created role="status" {
                        h2 { "Client created" }
                        p { "Copy the secret now: it is shown only once and stored only as a digest." }
                        dl.profile {
                            dt { "Client id" } dd { code #client-id { (id) } }
                            dt { "Client secret" } dd { code #client-secret { (secret) } }
                        }
                    }
                }
                @if !list.is_empty() {
                    div.table-scroll tabindex="0" role="region" aria-label="Clients" {
                        table {
                            thead { tr { th scope="col" { "Name" } th scope="col" { "Client id" } th scope="col" { "Role" } th scope="col" { "Permissions" } th scope="col" { "Expires" } th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Actions" } } } }
                            tbody {
                                @for c in list {
                                    tr {
                                        td { (c.name) }
                                        td { code { (c.id) } }
                                        td { (c.role) @if let Some(s) = &c.station { " (" (s) ")" } }
                                        td { @if c.scopes.is_empty() { "whole role" } @else { (c.scopes.join(", ")) } }
                                        td { (c.expires_at.format("%Y-%m-%d %H:%M UTC")) }
                                        td { @if c.revoked_at.is_some() { "revoked" } @else if c.active(t) { "active" } @else { "expired" } }
                                        td {
                                            @if c.active(t) {
                                                form method="post" action={ "/access/clients/" (c.id) "/revoke" } {
                                                    (csrf_field())
                                                    button.secondary.outline type="submit" aria-label={ "Revoke " (c.name) } { "Revoke" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "New client" }
                @if let Some(e) = error { p.form-error role="alert" #client-error { (e) } }
                form method="post" action="/access/clients" {
                    (csrf_field())
                    label for="name" { "Name" }
                    input #name name="name" type="text" required maxlength="100";
                    label for="role" { "Role" }
                    select #role name="role" required {
                        @for r in roles.all().iter().filter(|r| r.is_staff()) { option value=(r.id) { (r.label) } }
                    }
                    label for="station" { "Station (IATA code; for roles limited to a station's passengers)" }
                    input #station name="station" type="text" maxlength="3" pattern="[A-Za-z]{3}" autocomplete="off";
                    fieldset {
                        legend { "Narrow to these permissions (none: the whole role)" }
                        @for p in roles.permissions() {
                            @let id = p.permission.as_str();
                            label for={ "scope-" (id) } {
                                input #{ "scope-" (id) } type="checkbox" name="scope" value=(id);
                                (id) " — " (p.description)
                            }
                        }
                    }
                    label for="days" { "Valid for (days)" }
                    input #days name="days" type="number" min="1" max="730" value="365" required;
                    button type="submit" { "Create client" }
                }
            },
        ),
    )
}

pub(super) async fn clients(State(state): State<SignInState>) -> Result<Response, ApiError> {
    let list = state.accounts.clients().await?;
    Ok(clients_page(
        &state.roles,
        StatusCode::OK,
        &list,
        None,
        None,
    ))
}

pub(super) async fn create_client(
    State(state): State<SignInState>,
    ctx: AccessContext,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
    };
    let name = get("name").unwrap_or_default();
    let role = get("role")
        .and_then(|r| state.roles.get(&r).copied())
        .filter(|r| r.is_staff());
    let station = get("station")
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_uppercase());
    let days = get("days")
        .and_then(|d| d.parse::<i64>().ok())
        .filter(|d| (1..=730).contains(d));
    let scopes: Vec<Permission> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .filter_map(|(_, v)| state.roles.permission(v))
        .collect();
    let (Some(role), Some(days), false) =
        (role, days, name.is_empty() || name.chars().count() > 100)
    else {
        let list = state.accounts.clients().await?;
        return Ok(clients_page(
            &state.roles,
            StatusCode::UNPROCESSABLE_ENTITY,
            &list,
            None,
            Some("Give a name (up to 100 characters), a staff role and 1–730 days."),
        ));
    };
    if station
        .as_deref()
        .is_some_and(|s| s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()))
    {
        let list = state.accounts.clients().await?;
        return Ok(clients_page(
            &state.roles,
            StatusCode::UNPROCESSABLE_ENTITY,
            &list,
            None,
            Some("A station is an IATA airport code: three letters."),
        ));
    }
    if let Some(p) = scopes.iter().find(|p| !role.allows(**p)) {
        let list = state.accounts.clients().await?;
        return Ok(clients_page(
            &state.roles,
            StatusCode::UNPROCESSABLE_ENTITY,
            &list,
            None,
            Some(&format!(
                "The role {} does not include {}; a client can only be narrower than its role.",
                role.id,
                p.as_str()
            )),
        ));
    }
    let (client, secret) = state
        .accounts
        .create_client(
            crate::storage::NewClient {
                name: &name,
                role: role.id,
                scopes: &scopes,
                station: station.as_deref(),
                pending_approval: escalates(&role),
                valid_for: chrono::Duration::days(days),
            },
            &ctx,
        )
        .await?;
    let list = state.accounts.clients().await?;
    let mut r = clients_page(
        &state.roles,
        StatusCode::CREATED,
        &list,
        Some((&client.id, &secret)),
        None,
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

pub(super) async fn revoke_client(
    State(state): State<SignInState>,
    ctx: AccessContext,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    state.accounts.revoke_client(&id, &ctx).await?;
    Ok(Redirect::to("/access/clients").into_response())
}

/// The accounts page with every account and the cabin crew's rosters.
pub(super) async fn accounts_view(
    state: &SignInState,
    status: StatusCode,
    message: Option<&str>,
    error: Option<&str>,
) -> Result<Response, ApiError> {
    let list = state.accounts.list().await?;
    let mut rosters = Vec::new();
    for a in list.iter().filter(|a| rostered(state.roles.get(&a.role))) {
        rosters.push((a.id, state.accounts.roster(&a.id.to_string()).await?));
    }
    Ok(accounts_page(
        &state.roles,
        status,
        &list,
        &rosters,
        message,
        error,
    ))
}

/// Replaces a cabin crew member's roster from the form's `flights` (one `BA117 2026-03-12` a
/// line); every bad line is named and nothing changes.
pub(super) async fn set_roster(
    state: &SignInState,
    ctx: &AccessContext,
    id: &str,
    pairs: &[(String, String)],
) -> Result<Response, ApiError> {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Err(ApiError::NotFound("account"));
    };
    let list = state.accounts.list().await?;
    let Some(account) = list.iter().find(|a| a.id == id) else {
        return Err(ApiError::NotFound("account"));
    };
    if !rostered(state.roles.get(&account.role)) {
        return accounts_view(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("Only cabin crew have a flight roster."),
        )
        .await;
    }
    let text = pairs
        .iter()
        .find(|(k, _)| k == "flights")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    match crate::roster::RosteredFlight::parse_list(text) {
        Ok(flights) => {
            state.accounts.set_roster(id, &flights, ctx).await?;
            let message = format!(
                "Roster of {} set: {} flight{}.",
                account.display_name,
                flights.len(),
                if flights.len() == 1 { "" } else { "s" }
            );
            accounts_view(state, StatusCode::OK, Some(&message), None).await
        }
        Err(errors) => {
            let message = format!(
                "The roster of {} was not changed: {}",
                account.display_name,
                errors.join("; ")
            );
            accounts_view(
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(&message),
            )
            .await
        }
    }
}

pub(super) fn accounts_page(
    roles: &Roles,
    status: StatusCode,
    list: &[crate::storage::Account],
    rosters: &[(uuid::Uuid, Vec<crate::roster::RosteredFlight>)],
    message: Option<&str>,
    error: Option<&str>,
) -> Response {
    let t = now();
    let me = aloft_authz::current_principal()
        .map(|p| p.subject)
        .unwrap_or_default();
    page(
        status,
        layout(
            "Staff accounts",
            SECTION,
            html! {
                h1 { "Staff accounts" }
                p { "Each person has one account and one role. New accounts set up their authenticator app at first sign-in. Accounts that sign in through your organisation (SSO) appear here after their first sign-in; their role follows the identity provider." }
                @if let Some(m) = message { p role="status" #account-message { (m) } }
                div.table-scroll tabindex="0" role="region" aria-label="Staff accounts" {
                    table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Username" } th scope="col" { "Role" } th scope="col" { "Station" } th scope="col" { "Two-step" } th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Actions" } } } }
                        tbody {
                            @for a in list {
                                tr {
                                    td { (a.display_name) }
                                    td { code { (a.username) } }
                                    td { (role_label(roles, &a.role)) }
                                    td { (a.station.as_deref().unwrap_or("—")) }
                                    td { @if a.has_totp() { "on" } @else if a.username.starts_with("sso:") { "by SSO" } @else { "at next sign-in" } }
                                    td {
                                        @if a.disabled { "disabled" }
                                        @else if a.locked_until.is_some_and(|u| u > t) { "locked" }
                                        @else { "active" }
                                    }
                                    td {
                                        @if a.id.to_string() != me {
                                            div.actions {
                                                @for (action, label) in [("disable", "Disable"), ("enable", "Enable"), ("reset-mfa", "Reset two-step"), ("unlock", "Unlock")] {
                                                    @let show = match action {
                                                        "disable" => !a.disabled,
                                                        "enable" => a.disabled,
                                                        "reset-mfa" => a.has_totp(),
                                                        _ => a.locked_until.is_some_and(|u| u > t) || a.failed_attempts > 0,
                                                    };
                                                    @if show {
                                                        form method="post" action={ "/access/accounts/" (a.id) "/" (action) } {
                                                            (csrf_field())
                                                            button.secondary.outline type="submit" aria-label={ (label) " " (a.display_name) } { (label) }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !rosters.is_empty() {
                    h2 #rosters { "Cabin crew rosters" }
                    p { "Cabin crew see the passengers of the flights on their roster, from the day before departure to the day after, and nobody else. One flight and its local departure date per line, e.g. " code { "BA117 2026-03-12" } "." }
                    @for (id, flights) in rosters {
                        @let name = list.iter().find(|a| a.id == *id).map(|a| a.display_name.as_str()).unwrap_or("");
                        form method="post" action={ "/access/accounts/" (id) "/roster" } {
                            (csrf_field())
                            label for={ "roster-" (id) } { "Flights of " (name) }
                            textarea id={ "roster-" (id) } name="flights" rows="3" {
                                @for f in flights { (f.flight_number) " " (f.departure_date) "\n" }
                            }
                            button.secondary type="submit" aria-label={ "Save roster of " (name) } { "Save roster" }
                        }
                    }
                }
                h2 { "New staff account" }
                @if let Some(e) = error { p.form-error role="alert" #account-error { (e) } }
                form method="post" action="/access/accounts" {
                    (csrf_field())
                    label for="display_name" { "Full name" }
                    input #display_name name="display_name" type="text" required maxlength="100" autocomplete="off";
                    label for="username" { "Username (lower-case letters, digits, . _ - @)" }
                    input #username name="username" type="text" required minlength="3" maxlength="64" autocomplete="off";
                    label for="role" { "Role" }
                    select #role name="role" required {
                        @for r in roles.all().iter().filter(|r| r.is_staff()) { option value=(r.id) { (r.label) } }
                    }
                    label for="station" { "Station (IATA airport code; check-in agents)" }
                    input #station name="station" type="text" maxlength="3" autocomplete="off";
                    label for="password" { "Initial password (at least 12 characters; share it securely)" }
                    input #password name="password" type="password" required minlength="12" autocomplete="new-password";
                    button type="submit" { "Create account" }
                }
            },
        ),
    )
}

pub(super) async fn accounts(State(state): State<SignInState>) -> Result<Response, ApiError> {
    accounts_view(&state, StatusCode::OK, None, None).await
}

pub(super) async fn create_account(
    State(state): State<SignInState>,
    ctx: AccessContext,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (name, username, password) = (
        get("display_name"),
        get("username").to_lowercase(),
        get("password"),
    );
    let station = get("station").to_ascii_uppercase();
    let role = state
        .roles
        .get(&get("role"))
        .copied()
        .filter(|r| r.is_staff());
    let problem = if name.is_empty() || name.chars().count() > 100 {
        Some("Give the person's full name (up to 100 characters).".to_owned())
    } else if !crate::model::valid_username(&username) {
        Some("The username must be 3–64 lower-case letters, digits, dots, hyphens, underscores or @.".to_owned())
    } else if role.is_none() {
        Some("Choose a staff role.".to_owned())
    } else if needs_station(role.as_ref())
        && !(station.len() == 3 && station.bytes().all(|b| b.is_ascii_uppercase()))
    {
        Some("Check-in agents need their station: a three-letter IATA airport code.".to_owned())
    } else if let Err(why) = aloft_security::check_password_policy(&password) {
        Some(format!("The initial password is not strong enough: {why}."))
    } else if state.accounts.by_username(&username).await?.is_some() {
        Some("That username is taken.".to_owned())
    } else {
        None
    };
    if let Some(p) = problem {
        return accounts_view(&state, StatusCode::UNPROCESSABLE_ENTITY, None, Some(&p)).await;
    }
    let role = role.expect("checked above");
    let station = (!station.is_empty()).then_some(station.as_str());
    let pending_approval = escalates(&role);
    state
        .accounts
        .create(
            crate::storage::NewAccount {
                username: &username,
                display_name: &name,
                role: role.id,
                station,
                password: &password,
                totp: None,
                pending_approval,
            },
            &ctx,
        )
        .await?;
    let message = if pending_approval {
        format!(
            "Account {username} created and disabled until a second person approves its role at Access › Pending grants (you do not hold all of its permissions)."
        )
    } else {
        format!("Account {username} created; they set up two-step sign-in when they first sign in.")
    };
    accounts_view(&state, StatusCode::CREATED, Some(&message), None).await
}

/// Whether granting `role` gives permissions the signed-in requester does not hold: such a
/// grant needs a second person ([`crate::grants`]).
pub(super) fn escalates(role: &RoleDef) -> bool {
    let me = aloft_authz::current_principal();
    role.permissions
        .iter()
        .any(|p| !me.as_ref().is_some_and(|me| me.can(*p)))
}

/// Grants waiting for a second person.
pub(super) async fn grants(State(state): State<SignInState>) -> Result<Response, ApiError> {
    grants_view(&state, StatusCode::OK, None).await
}

pub(super) async fn grants_view(
    state: &SignInState,
    status: StatusCode,
    message: Option<&str>,
) -> Result<Response, ApiError> {
    let pending = state.accounts.pending_grants().await?;
    let accounts = state.accounts.list().await?;
    let clients = state.accounts.clients().await?;
    let me = aloft_authz::current_principal()
        .map(|p| p.subject)
        .unwrap_or_default();
    let name_of = |g: &crate::grants::PendingGrant| -> String {
        match g.subject {
            crate::grants::Subject::Account => accounts
                .iter()
                .find(|a| a.id.to_string() == g.subject_id)
                .map(|a| format!("{} ({})", a.display_name, a.username))
                .unwrap_or_else(|| g.subject_id.clone()),
            crate::grants::Subject::Client => clients
                .iter()
                .find(|c| c.id == g.subject_id)
                .map(|c| format!("{} (client {})", c.name, c.id))
                .unwrap_or_else(|| g.subject_id.clone()),
        }
    };
    let requester = |id: &str| -> String {
        accounts
            .iter()
            .find(|a| a.id.to_string() == id)
            .map(|a| a.display_name.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    Ok(page(
        status,
        layout(
            "Pending grants",
            SECTION,
            html! {
                h1 { "Pending grants" }
                p { "An account or client whose role holds permissions its creator does not hold stays disabled until a second person approves it here. You cannot decide a grant you asked for." }
                @if let Some(m) = message { p role="status" #grant-message { (m) } }
                @if pending.is_empty() {
                    p { "Nothing is waiting for approval." }
                } @else {
                    div.table-scroll tabindex="0" role="region" aria-label="Pending grants" {
                        table {
                            thead { tr { th scope="col" { "For" } th scope="col" { "Role" } th scope="col" { "Asked by" } th scope="col" { "Asked at" } th scope="col" { span.visually-hidden { "Decision" } } } }
                            tbody {
                                @for g in &pending {
                                    tr {
                                        td { (name_of(g)) }
                                        td { (role_label(&state.roles, &g.role)) }
                                        td { (requester(&g.requested_by)) }
                                        td { (g.requested_at.format("%Y-%m-%d %H:%M UTC")) }
                                        td {
                                            @if g.requested_by == me {
                                                small { "Awaiting someone else" }
                                            } @else {
                                                form.inline method="post" action={ "/access/grants/" (g.id) "/approve" } {
                                                    (csrf_field())
                                                    button type="submit" aria-label={ "Approve " (name_of(g)) } { "Approve" }
                                                }
                                                form.inline method="post" action={ "/access/grants/" (g.id) "/reject" } {
                                                    (csrf_field())
                                                    button.secondary.outline type="submit" aria-label={ "Reject " (name_of(g)) } { "Reject" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        ),
    ))
}

pub(super) async fn decide_grant(
    State(state): State<SignInState>,
    ctx: AccessContext,
    axum::extract::Path((id, decision)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::NotFound("grant decision")),
    };
    match state.accounts.decide_grant(&id, approve, &ctx).await {
        Ok(g) => {
            let done = if approve { "approved" } else { "rejected" };
            let message = format!(
                "The {} grant was {done}.",
                role_label(&state.roles, &g.role)
            );
            grants_view(&state, StatusCode::OK, Some(&message)).await
        }
        Err(crate::grants::GrantError::NotFound) => Err(ApiError::NotFound("pending grant")),
        Err(crate::grants::GrantError::SamePerson) => Err(ApiError::Problem(
            aloft_kernel::Problem::new(
                StatusCode::FORBIDDEN,
                "four-eyes",
                "A second person must decide",
            )
            .with_detail("You asked for this grant, so someone else must approve or reject it."),
        )),
        Err(crate::grants::GrantError::Storage(e)) => Err(e.into()),
    }
}

pub(super) async fn account_action(
    State(state): State<SignInState>,
    ctx: AccessContext,
    axum::extract::Path((id, action)): axum::extract::Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    if action == "roster" {
        return set_roster(&state, &ctx, &id, &pairs).await;
    }
    let (Ok(id), Some(action)) = (
        uuid::Uuid::parse_str(&id),
        crate::storage::AccountAction::parse(&action),
    ) else {
        return Err(ApiError::NotFound("account action"));
    };
    if ctx.actor.id == id.to_string() {
        return accounts_view(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("You cannot change your own account here; ask another administrator."),
        )
        .await;
    }
    if !state.accounts.apply(id, action, &ctx).await? {
        return Err(ApiError::NotFound("account"));
    }
    Ok(Redirect::to("/access/accounts").into_response())
}
