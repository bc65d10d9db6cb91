//! The access administration pages: roles and their permissions, staff accounts and crew
//! rosters, integration clients, and four-eyes grants.

use super::*;
use aloft_web::kit::form::FormData;
use aloft_web::kit::{self, Field, FieldKind, FormErrors};

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

/// A submitted form and what is wrong with it, to show it again with every error.
pub(super) type Submitted<'a> = Option<(&'a FormData, &'a FormErrors)>;

/// The staff roles as select options.
fn staff_role_options(roles: &Roles) -> Vec<(String, String)> {
    roles
        .all()
        .iter()
        .filter(|r| r.is_staff())
        .map(|r| (r.id.to_owned(), r.label.to_owned()))
        .collect()
}

pub(super) fn clients_page(
    roles: &Roles,
    status: StatusCode,
    list: &[crate::storage::ApiClient],
    created: Option<(&str, &str)>,
    submitted: Submitted<'_>,
) -> Response {
    let t = now();
    let none = FormErrors::new();
    let errors = submitted.map_or(&none, |(_, e)| e);
    let value = |name: &str| submitted.and_then(|(f, _)| f.text(name)).map(str::to_owned);
    let ticked: Vec<String> = submitted
        .map(|(f, _)| f.all("scope").into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
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
                h2 #new-client { "New client" }
                (kit::error_summary(errors))
                form method="post" action="/access/clients" novalidate {
                    (csrf_field())
                    (Field::text("name", "Name").required().autocomplete("off").value(value("name")).render(errors))
                    (Field::new("role", "Role", FieldKind::Select(staff_role_options(roles))).required().value(value("role")).render(errors))
                    (Field::text("station", "Station").hint("IATA airport code, for roles limited to a station's passengers").autocomplete("off").value(value("station")).render(errors))
                    fieldset #f-scope aria-describedby=[errors.of("scope").map(|_| "f-scope-error")] {
                        legend { "Narrow to these permissions (none: the whole role)" }
                        @if let Some(e) = errors.of("scope") { small.field-error #f-scope-error { (e) } }
                        @for p in roles.permissions() {
                            @let id = p.permission.as_str();
                            label for={ "scope-" (id) } {
                                input #{ "scope-" (id) } type="checkbox" name="scope" value=(id) checked[ticked.iter().any(|t| t == id)];
                                (id) " — " (p.description)
                            }
                        }
                    }
                    (Field::new("days", "Valid for (days)", FieldKind::Input("number")).hint("1 to 730").required().value(value("days").or(Some("365".to_owned()))).render(errors))
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
    form: FormData,
) -> Result<Response, ApiError> {
    let mut errors = FormErrors::new();
    let name = form.text("name").unwrap_or_default().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "Give the client a name (up to 100 characters).");
    }
    let role = form
        .text("role")
        .and_then(|r| state.roles.get(r).copied())
        .filter(|r| r.is_staff());
    if role.is_none() {
        errors.add("role", "Choose a staff role.");
    }
    let station = form.text("station").map(|s| s.to_ascii_uppercase());
    if station
        .as_deref()
        .is_some_and(|s| s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()))
    {
        errors.add(
            "station",
            "A station is an IATA airport code: three letters.",
        );
    }
    let days = form
        .text("days")
        .and_then(|d| d.parse::<i64>().ok())
        .filter(|d| (1..=730).contains(d));
    if days.is_none() {
        errors.add("days", "Enter a number of days from 1 to 730.");
    }
    let scopes: Vec<Permission> = form
        .all("scope")
        .into_iter()
        .filter_map(|v| state.roles.permission(v))
        .collect();
    if let Some(role) = &role
        && let Some(p) = scopes.iter().find(|p| !role.allows(**p))
    {
        errors.add(
            "scope",
            format!(
                "The role {} does not include {}; a client can only be narrower than its role.",
                role.id,
                p.as_str()
            ),
        );
    }
    let (Some(role), Some(days), true) = (role, days, errors.is_empty()) else {
        let list = state.accounts.clients().await?;
        return Ok(clients_page(
            &state.roles,
            StatusCode::UNPROCESSABLE_ENTITY,
            &list,
            None,
            Some((&form, &errors)),
        ));
    };
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
    submitted: Submitted<'_>,
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
        submitted,
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
            None,
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
            accounts_view(state, StatusCode::OK, Some(&message), None, None).await
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
                None,
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
    submitted: Submitted<'_>,
) -> Response {
    let t = now();
    let none = FormErrors::new();
    let errors = submitted.map_or(&none, |(_, e)| e);
    let value = |name: &str| submitted.and_then(|(f, _)| f.text(name)).map(str::to_owned);
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
                @if let Some(e) = error { p.form-error role="alert" #account-error { (e) } }
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
                h2 #new-account { "New staff account" }
                (kit::error_summary(errors))
                form method="post" action="/access/accounts" novalidate {
                    (csrf_field())
                    (Field::text("display_name", "Full name").required().autocomplete("off").value(value("display_name")).render(errors))
                    (Field::text("username", "Username").hint("3–64 lower-case letters, digits, . _ - @").required().autocomplete("off").value(value("username")).render(errors))
                    (Field::new("role", "Role", FieldKind::Select(staff_role_options(roles))).required().value(value("role")).render(errors))
                    (Field::text("station", "Station").hint("IATA airport code; check-in agents").autocomplete("off").value(value("station")).render(errors))
                    (Field::new("password", "Initial password", FieldKind::Input("password")).hint("At least 12 characters; share it securely").required().autocomplete("new-password").render(errors))
                    button type="submit" { "Create account" }
                }
            },
        ),
    )
}

pub(super) async fn accounts(State(state): State<SignInState>) -> Result<Response, ApiError> {
    accounts_view(&state, StatusCode::OK, None, None, None).await
}

pub(super) async fn create_account(
    State(state): State<SignInState>,
    ctx: AccessContext,
    form: FormData,
) -> Result<Response, ApiError> {
    let get = |k: &str| form.text(k).unwrap_or_default().to_owned();
    let (name, username, password) = (
        get("display_name"),
        get("username").to_lowercase(),
        form.pairs()
            .iter()
            .find(|(k, _)| k == "password")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    );
    let station = get("station").to_ascii_uppercase();
    let role = state
        .roles
        .get(&get("role"))
        .copied()
        .filter(|r| r.is_staff());
    let mut errors = FormErrors::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add(
            "display_name",
            "Give the person's full name (up to 100 characters).",
        );
    }
    if !crate::model::valid_username(&username) {
        errors.add("username", "The username must be 3–64 lower-case letters, digits, dots, hyphens, underscores or @.");
    } else if state.accounts.by_username(&username).await?.is_some() {
        errors.add("username", "That username is taken.");
    }
    if role.is_none() {
        errors.add("role", "Choose a staff role.");
    } else if needs_station(role.as_ref())
        && !(station.len() == 3 && station.bytes().all(|b| b.is_ascii_uppercase()))
    {
        errors.add(
            "station",
            "Check-in agents need their station: a three-letter IATA airport code.",
        );
    }
    if let Err(why) = aloft_security::check_password_policy(&password) {
        errors.add(
            "password",
            format!("The initial password is not strong enough: {why}."),
        );
    }
    if !errors.is_empty() {
        return accounts_view(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            None,
            Some((&form, &errors)),
        )
        .await;
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
    accounts_view(&state, StatusCode::CREATED, Some(&message), None, None).await
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
            None,
        )
        .await;
    }
    if !state.accounts.apply(id, action, &ctx).await? {
        return Err(ApiError::NotFound("account"));
    }
    Ok(Redirect::to("/access/accounts").into_response())
}
