//! Signing up, proving the address, signing in and out — the portal's face of
//! `aloft_access::passengers`, so the web and the API share one limiter, one back-off, one
//! audit trail.

use std::sync::Arc;

use aloft_access::passengers::{
    PortalSignIn, PortalVerified, clear_passenger_cookie, passenger_cookie, passenger_cookie_name,
    passenger_session,
};
use aloft_authz::{CSRF_FIELD, current_principal};
use aloft_kernel::{AccessContext, ApiError};
use aloft_web::kit::{
    self, Field, FieldKind, FormErrors, Tone, error_summary, redirect_with_notice,
};
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::{Markup, html};
use serde::Deserialize;

use crate::Portal;
use crate::shell::{
    Place, cookie, encode, form_genuine, form_token, layout, page, safe_next, token_field,
};

/// `?next=`.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

type Pairs = Form<Vec<(String, String)>>;

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn with_cookies(mut r: Response, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    for c in cookies {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// A refused post of a form that was not ours (another site, or no form token).
fn expired(portal: &Portal, headers: &HeaderMap, title: &str, action: &str) -> Response {
    let (token, set) = form_token(headers, portal.tls);
    let body = html! {
        (kit::page_header(&[], title, None, None))
        (kit::notice("This form has expired or did not come from this site. Please try again.", Tone::Bad))
        p { a href=(action) { "Open the form again" } }
        (token_field(&token))
    };
    with_cookies(
        page(StatusCode::FORBIDDEN, layout(title, Place::Outside, body)),
        set,
    )
}

fn outside_page(
    status: StatusCode,
    title: &str,
    intro: Option<Markup>,
    form: Markup,
    after: Markup,
    set: Option<HeaderValue>,
) -> Response {
    let body = html! {
        article.narrow.portal-card {
            (kit::page_header(&[], title, intro, None))
            (form)
            (after)
        }
    };
    with_cookies(page(status, layout(title, Place::Outside, body)), set)
}

/// The message of a refusal from the passenger accounts, shown on a form.
fn refusal(e: &ApiError) -> (StatusCode, String) {
    let p = e.to_problem();
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let text = match p.status {
        401 => "The e-mail address or password is not right.".to_owned(),
        403 => "Your e-mail address is not confirmed yet. Enter the code we sent you on the \
                confirmation page, or ask for a new one there."
            .to_owned(),
        429 => p
            .detail
            .unwrap_or_else(|| "Too many attempts; wait a minute.".into()),
        _ => p
            .errors
            .first()
            .map(|f| f.detail.clone())
            .or(p.detail)
            .unwrap_or_else(|| "That did not work; please try again.".into()),
    };
    (status, text)
}

fn sign_up_page(
    status: StatusCode,
    headers: &HeaderMap,
    tls: bool,
    values: &[(String, String)],
    errors: &FormErrors,
    message: Option<&str>,
) -> Response {
    let (token, set) = form_token(headers, tls);
    let form = html! {
        (error_summary(errors))
        @if let Some(m) = message { (kit::notice(m, Tone::Bad)) }
        form method="post" action="/my/sign-up" novalidate {
            (token_field(&token))
            (Field::text("loyalty_number", "Loyalty number").required().autocomplete("off")
                .hint("As on your membership card, e.g. AL123456.")
                .value(field(values, "loyalty_number")).render(errors))
            (Field::new("email", "E-mail address", FieldKind::Input("email")).required().autocomplete("email")
                .hint("The address you gave us with your membership.")
                .value(field(values, "email")).render(errors))
            (Field::new("password", "Choose a password", FieldKind::Input("password")).required()
                .autocomplete("new-password").hint("At least 12 characters; a few unusual words work well.")
                .render(errors))
            button type="submit" { "Create my account" }
        }
    };
    let after = html! {
        p { "Already have an account? " a href="/my/sign-in" { "Sign in" } }
    };
    outside_page(
        status,
        "Create your account",
        Some(
            html! { "See your trips, keep your preferences up to date and, soon, follow your requests and claims." },
        ),
        form,
        after,
        set,
    )
}

/// `GET /my/sign-up`.
pub async fn sign_up_form(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    sign_up_page(
        StatusCode::OK,
        &headers,
        portal.tls,
        &[],
        &FormErrors::new(),
        None,
    )
}

/// `POST /my/sign-up`: the same answer whether or not anything matched.
pub async fn sign_up(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(pairs): Pairs,
) -> Result<Response, ApiError> {
    if !form_genuine(&headers, portal.tls, field(&pairs, CSRF_FIELD)) {
        return Ok(expired(
            &portal,
            &headers,
            "Create your account",
            "/my/sign-up",
        ));
    }
    let mut errors = FormErrors::new();
    let loyalty = field(&pairs, "loyalty_number").unwrap_or("").trim();
    let email = field(&pairs, "email").unwrap_or("").trim();
    let password = field(&pairs, "password").unwrap_or("");
    if loyalty.is_empty() {
        errors.add("loyalty_number", "Enter your loyalty number.");
    }
    if !email.contains('@') {
        errors.add("email", "Enter your e-mail address, like name@example.com.");
    }
    if password.is_empty() {
        errors.add("password", "Choose a password.");
    }
    if !errors.is_empty() {
        return Ok(sign_up_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &headers,
            portal.tls,
            &pairs,
            &errors,
            None,
        ));
    }
    match portal
        .passengers
        .portal_sign_up(loyalty, email, password, ctx)
        .await
    {
        Ok(session) => Ok(with_cookies(
            redirect_with_notice(
                "/my/verify",
                "If these details match a membership, we have sent a code to its e-mail address.",
            ),
            [passenger_cookie(portal.tls, &session)],
        )),
        Err(ApiError::Invalid(fields)) => {
            for f in &fields {
                errors.add(
                    "password",
                    format!("The password {}.", f.detail.trim_end_matches('.')),
                );
            }
            Ok(sign_up_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &headers,
                portal.tls,
                &pairs,
                &errors,
                None,
            ))
        }
        Err(e @ (ApiError::Problem(_) | ApiError::Conflict(_))) => {
            let (status, text) = refusal(&e);
            Ok(sign_up_page(
                status,
                &headers,
                portal.tls,
                &pairs,
                &errors,
                Some(&text),
            ))
        }
        Err(e) => Err(e),
    }
}

fn verify_page(
    status: StatusCode,
    headers: &HeaderMap,
    tls: bool,
    values: &[(String, String)],
    errors: &FormErrors,
    message: Option<&str>,
) -> Response {
    let (token, set) = form_token(headers, tls);
    let form = html! {
        (error_summary(errors))
        @if let Some(m) = message { (kit::notice(m, Tone::Bad)) }
        form method="post" action="/my/verify" novalidate {
            (token_field(&token))
            (Field::new("email", "E-mail address", FieldKind::Input("email")).required().autocomplete("email")
                .value(field(values, "email")).render(errors))
            (Field::text("code", "Code from the e-mail").required().autocomplete("one-time-code")
                .hint("Eight digits. It is valid for 30 minutes.").render(errors))
            button type="submit" { "Confirm" }
        }
    };
    let after = html! {
        details.portal-resend {
            summary { "No e-mail? Send a new code" }
            form method="post" action="/my/verify/resend" {
                (token_field(&token))
                (Field::new("email", "E-mail address for the new code", FieldKind::Input("email")).required()
                    .autocomplete("email").render(&FormErrors::new()))
                button.secondary type="submit" { "Send a new code" }
            }
        }
        p { "Already confirmed? " a href="/my/sign-in" { "Sign in" } }
    };
    outside_page(
        status,
        "Confirm your e-mail address",
        Some(
            html! { "Enter the code we sent to your e-mail address. It proves the address is yours." },
        ),
        form,
        after,
        set,
    )
}

/// `GET /my/verify`.
pub async fn verify_form(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    verify_page(
        StatusCode::OK,
        &headers,
        portal.tls,
        &[],
        &FormErrors::new(),
        None,
    )
}

/// `POST /my/verify`: the code signs the passenger in when it comes back to the browser that
/// signed up; elsewhere they sign in next.
pub async fn verify(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(pairs): Pairs,
) -> Result<Response, ApiError> {
    if !form_genuine(&headers, portal.tls, field(&pairs, CSRF_FIELD)) {
        return Ok(expired(
            &portal,
            &headers,
            "Confirm your e-mail address",
            "/my/verify",
        ));
    }
    let email = field(&pairs, "email").unwrap_or("").trim();
    let code = field(&pairs, "code").unwrap_or("").trim();
    let mut errors = FormErrors::new();
    if email.is_empty() {
        errors.add("email", "Enter your e-mail address.");
    }
    if code.is_empty() {
        errors.add("code", "Enter the code from the e-mail.");
    }
    if !errors.is_empty() {
        return Ok(verify_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &headers,
            portal.tls,
            &pairs,
            &errors,
            None,
        ));
    }
    let db = portal.passengers.database();
    let sign_up = match cookie(&headers, passenger_cookie_name(portal.tls)) {
        Some(v) => passenger_session(db, v).await?,
        None => None,
    };
    match portal
        .passengers
        .portal_verify(email, code, sign_up.as_ref(), ctx)
        .await
    {
        Ok(Some(PortalVerified::SignedIn(session))) => Ok(with_cookies(
            redirect_with_notice("/my", "Your e-mail address is confirmed. Welcome aboard!"),
            [passenger_cookie(portal.tls, &session)],
        )),
        Ok(Some(PortalVerified::SignInNext)) => Ok(redirect_with_notice(
            "/my/sign-in",
            "Your e-mail address is confirmed. Sign in with your password.",
        )),
        Ok(None) => {
            errors.add(
                "code",
                "This code is not right or no longer valid. Check the e-mail, or send a new code.",
            );
            Ok(verify_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &headers,
                portal.tls,
                &pairs,
                &errors,
                None,
            ))
        }
        Err(e @ ApiError::Problem(_)) => {
            let (status, text) = refusal(&e);
            Ok(verify_page(
                status,
                &headers,
                portal.tls,
                &pairs,
                &errors,
                Some(&text),
            ))
        }
        Err(e) => Err(e),
    }
}

/// `POST /my/verify/resend`: the same answer whether or not an account waits for the address.
pub async fn resend(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(pairs): Pairs,
) -> Result<Response, ApiError> {
    if !form_genuine(&headers, portal.tls, field(&pairs, CSRF_FIELD)) {
        return Ok(expired(
            &portal,
            &headers,
            "Confirm your e-mail address",
            "/my/verify",
        ));
    }
    let email = field(&pairs, "email").unwrap_or("").trim();
    match portal.passengers.resend_code(email, &ctx).await {
        Ok(()) => Ok(redirect_with_notice(
            "/my/verify",
            "If an account is waiting for this address, a new code is on its way.",
        )),
        Err(e @ ApiError::Problem(_)) => {
            let (status, text) = refusal(&e);
            Ok(verify_page(
                status,
                &headers,
                portal.tls,
                &[],
                &FormErrors::new(),
                Some(&text),
            ))
        }
        Err(e) => Err(e),
    }
}

fn sign_in_page(
    status: StatusCode,
    headers: &HeaderMap,
    tls: bool,
    next: &str,
    email: Option<&str>,
    message: Option<&str>,
) -> Response {
    let (token, set) = form_token(headers, tls);
    let form = html! {
        @if let Some(m) = message { (kit::notice(m, Tone::Bad)) }
        form method="post" action="/my/sign-in" {
            (token_field(&token))
            input type="hidden" name="next" value=(next);
            (Field::new("email", "E-mail address", FieldKind::Input("email")).required().autocomplete("email")
                .value(email).render(&FormErrors::new()))
            (Field::new("password", "Password", FieldKind::Input("password")).required()
                .autocomplete("current-password").render(&FormErrors::new()))
            button type="submit" { "Sign in" }
        }
    };
    let after = html! {
        p { "New here? " a href="/my/sign-up" { "Create your account" } " with your loyalty number." }
        p { "Signed up but no code yet? " a href="/my/verify" { "Confirm your e-mail address" } }
    };
    outside_page(
        status,
        "Sign in to your account",
        Some(html! { "Your trips, preferences and details in one place." }),
        form,
        after,
        set,
    )
}

/// `GET /my/sign-in`.
pub async fn sign_in_form(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if current_principal().is_some_and(|p| p.realm == aloft_authz::Realm::Passenger) {
        return Redirect::to(&next).into_response();
    }
    sign_in_page(StatusCode::OK, &headers, portal.tls, &next, None, None)
}

/// `POST /my/sign-in`: a new session (never one the browser brought), at the second-factor
/// step if the passenger turned one on.
pub async fn sign_in(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(pairs): Pairs,
) -> Result<Response, ApiError> {
    let next = safe_next(field(&pairs, "next"));
    if !form_genuine(&headers, portal.tls, field(&pairs, CSRF_FIELD)) {
        return Ok(expired(
            &portal,
            &headers,
            "Sign in to your account",
            "/my/sign-in",
        ));
    }
    let email = field(&pairs, "email").unwrap_or("").trim();
    let password = field(&pairs, "password").unwrap_or("");
    if email.is_empty() || password.is_empty() {
        return Ok(sign_in_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &headers,
            portal.tls,
            &next,
            Some(email),
            Some("Enter your e-mail address and your password."),
        ));
    }
    match portal.passengers.portal_sign_in(email, password, ctx).await {
        Ok(PortalSignIn::Full(session)) => Ok(with_cookies(
            (StatusCode::SEE_OTHER, [(header::LOCATION, next.as_str())]).into_response(),
            [passenger_cookie(portal.tls, &session)],
        )),
        Ok(PortalSignIn::SecondFactor(session)) => Ok(with_cookies(
            (
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    format!("/my/sign-in/code?next={}", encode(&next)).as_str(),
                )],
            )
                .into_response(),
            [passenger_cookie(portal.tls, &session)],
        )),
        Err(e @ ApiError::Problem(_)) => {
            let (status, text) = refusal(&e);
            let mut r = sign_in_page(
                status,
                &headers,
                portal.tls,
                &next,
                Some(email),
                Some(&text),
            );
            if status == StatusCode::TOO_MANY_REQUESTS {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

fn code_page(
    status: StatusCode,
    headers: &HeaderMap,
    tls: bool,
    next: &str,
    message: Option<&str>,
) -> Response {
    let (token, set) = form_token(headers, tls);
    let form = html! {
        @if let Some(m) = message { (kit::notice(m, Tone::Bad)) }
        form method="post" action="/my/sign-in/code" {
            (token_field(&token))
            input type="hidden" name="next" value=(next);
            (Field::text("code", "Code from your authenticator app, or a recovery code").required()
                .autocomplete("one-time-code").render(&FormErrors::new()))
            button type="submit" { "Continue" }
        }
    };
    outside_page(
        status,
        "Second step",
        Some(html! { "You turned on a second step for signing in. Enter the current code." }),
        form,
        html! { p { a href="/my/sign-in" { "Start again" } } },
        set,
    )
}

async fn pending_code_session(
    portal: &Portal,
    headers: &HeaderMap,
) -> Result<Option<aloft_access::passengers::PassengerSession>, ApiError> {
    let Some(v) = cookie(headers, passenger_cookie_name(portal.tls)) else {
        return Ok(None);
    };
    Ok(passenger_session(portal.passengers.database(), v)
        .await?
        .filter(|s| s.stage == aloft_access::passengers::PassengerStage::Code))
}

/// `GET /my/sign-in/code`.
pub async fn code_form(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let next = safe_next(q.next.as_deref());
    if pending_code_session(&portal, &headers).await?.is_none() {
        return Ok(Redirect::to("/my/sign-in").into_response());
    }
    Ok(code_page(StatusCode::OK, &headers, portal.tls, &next, None))
}

/// `POST /my/sign-in/code`: the right code finishes signing in under a new session id.
pub async fn code(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(pairs): Pairs,
) -> Result<Response, ApiError> {
    let next = safe_next(field(&pairs, "next"));
    if !form_genuine(&headers, portal.tls, field(&pairs, CSRF_FIELD)) {
        return Ok(expired(&portal, &headers, "Second step", "/my/sign-in"));
    }
    let Some(session) = pending_code_session(&portal, &headers).await? else {
        return Ok(Redirect::to("/my/sign-in").into_response());
    };
    let code = field(&pairs, "code").unwrap_or("");
    match portal
        .passengers
        .portal_second_factor(&session, code, ctx)
        .await
    {
        Ok(Some(token)) => Ok(with_cookies(
            (StatusCode::SEE_OTHER, [(header::LOCATION, next.as_str())]).into_response(),
            [passenger_cookie(portal.tls, &token)],
        )),
        Ok(None) => Ok(code_page(
            StatusCode::UNAUTHORIZED,
            &headers,
            portal.tls,
            &next,
            Some(
                "That code is not right (or was already used). Try the newest code from your app.",
            ),
        )),
        Err(e @ ApiError::Problem(_)) => {
            let (status, text) = refusal(&e);
            Ok(with_cookies(
                code_page(status, &headers, portal.tls, &next, Some(&text)),
                [clear_passenger_cookie(portal.tls)],
            ))
        }
        Err(e) => Err(e),
    }
}

/// `POST /my/sign-out`.
pub async fn sign_out(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
) -> Result<Response, ApiError> {
    if let Some(id) = current_principal().and_then(|p| p.session) {
        portal.passengers.portal_sign_out(&id, &ctx).await?;
    }
    Ok(with_cookies(
        redirect_with_notice("/my/sign-in", "You are signed out."),
        [clear_passenger_cookie(portal.tls)],
    ))
}
