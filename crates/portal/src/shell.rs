//! The portal's page frame and the small rules every portal form keeps.

use aloft_authz::{CSRF_FIELD, current_principal};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::{Markup, html};

/// Cookie of the token that forms shown before sign-in echo (double submit): set with the
/// form, compared on post. Path `/my`, HttpOnly, SameSite=Strict.
const FORM_COOKIE: &str = "aloft_portal_form";
/// The same over HTTPS (`Secure` required by the prefix).
const FORM_COOKIE_TLS: &str = "__Secure-aloft_portal_form";

/// Where a portal page sits in the portal's navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Signed out (sign-up, sign-in, verify): no navigation.
    Outside,
    /// `/my`.
    Home,
    /// `/my/trips`.
    Trips,
    /// `/my/profile`.
    Profile,
    /// `/my/security`.
    Security,
}

impl Place {
    /// The href of the portal tab (empty when signed out).
    pub fn href(self) -> &'static str {
        match self {
            Place::Outside => "",
            Place::Home => "/my",
            Place::Trips => "/my/trips",
            Place::Profile => "/my/profile",
            Place::Security => "/my/security",
        }
    }
}

/// A portal page in the shared portal frame ([`aloft_web::portal::layout`]), whose tabs are
/// these pages and those other modules declare.
pub fn layout(title: &str, place: Place, content: Markup) -> Markup {
    aloft_web::portal::layout(title, place.href(), content)
}

/// An HTML response.
pub fn page(status: StatusCode, markup: Markup) -> Response {
    aloft_web::page(status, markup)
}

/// The CSRF field of a signed-in passenger's forms (the gate checks it).
pub fn csrf_field() -> Markup {
    aloft_web::csrf_field()
}

fn form_cookie_name(tls: bool) -> &'static str {
    if tls { FORM_COOKIE_TLS } else { FORM_COOKIE }
}

/// The value of cookie `name` in `headers`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// The token a form shown before sign-in carries, and the cookie to set if the browser has
/// none yet. When the request has a session (the gate then checks its own token on post), the
/// session's token instead.
pub fn form_token(headers: &HeaderMap, tls: bool) -> (String, Option<HeaderValue>) {
    if let Some(token) = current_principal().and_then(|p| p.csrf_token) {
        return (token, None);
    }
    if let Some(v) = cookie(headers, form_cookie_name(tls)).filter(|v| {
        v.len() >= 32
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return (v.to_owned(), None);
    }
    let token = aloft_security::random_token();
    let secure = if tls { "; Secure" } else { "" };
    let set = HeaderValue::from_str(&format!(
        "{}={token}; Path=/my; HttpOnly; SameSite=Strict; Max-Age=3600{secure}",
        form_cookie_name(tls)
    ))
    .ok();
    (token, set)
}

/// The hidden field of [`form_token`].
pub fn token_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// Whether a post of a form shown before sign-in is genuine: it comes from this site (not
/// cross-site: login CSRF) and echoes the browser's form token (or, with a session, the gate
/// already checked the session's).
pub fn form_genuine(headers: &HeaderMap, tls: bool, sent: Option<&str>) -> bool {
    if cross_site(headers) {
        return false;
    }
    if current_principal().and_then(|p| p.csrf_token).is_some() {
        return true;
    }
    match (cookie(headers, form_cookie_name(tls)), sent) {
        (Some(expected), Some(sent)) => {
            aloft_security::constant_time_eq(expected.as_bytes(), sent.as_bytes())
        }
        _ => false,
    }
}

/// Browsers say where a post comes from (`Sec-Fetch-Site`, `Origin`); anything from another
/// site is refused.
fn cross_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return true;
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => {
            origin != "null" && origin.split_once("://").map(|(_, h)| h) != Some(host)
        }
        _ => false,
    }
}

/// Where to go after signing in: a portal path of this site only (never another site, never a
/// staff page); anything else is `/my`.
pub fn safe_next(next: Option<&str>) -> String {
    let next = aloft_access::model::safe_next(next);
    let path = next.split(['?', '#']).next().unwrap_or("");
    // No dot segments either (`/my/../customers` is `/customers` to a browser).
    let dots = path.contains("..") || path.to_ascii_lowercase().contains("%2e");
    if aloft_access::passengers::is_portal_path(path) && !path.starts_with("/my/sign-") && !dots {
        next
    } else {
        "/my".to_owned()
    }
}

/// The percent-encoded `next` for a query string.
pub fn encode(next: &str) -> String {
    percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_portal() {
        assert_eq!(safe_next(Some("/my/trips")), "/my/trips");
        assert_eq!(
            safe_next(Some("/my/profile?saved=1")),
            "/my/profile?saved=1"
        );
        for bad in [
            "https://evil.example/my",
            "//evil.example/my",
            "/\\evil.example",
            "/%2F%2Fevil.example",
            "/customers",
            "/myself",
            "/my/sign-in",
            "/my/../customers",
            "/my/%2e%2e/customers",
            "javascript:alert(1)",
            "",
        ] {
            let got = safe_next(Some(bad));
            assert_eq!(got, "/my", "{bad}");
        }
        assert_eq!(safe_next(None), "/my");
    }
}
