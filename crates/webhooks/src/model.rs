//! The pure rules of webhooks: which events an endpoint takes, which addresses are allowed, how
//! a message is signed, and what a receiver's answer means.
//!
//! Signatures follow Standard Webhooks (standardwebhooks.com), so receivers can use its
//! libraries: headers `webhook-id` (the CloudEvent's id — the same on every retry, the
//! receiver's idempotency key), `webhook-timestamp` (Unix seconds) and `webhook-signature`
//! (`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body` with the endpoint's secret, whose
//! text form is `whsec_` + base64 of its bytes).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The event families an endpoint may take: (type prefix, what it carries).
pub const FAMILIES: &[(&str, &str)] = &[
    (
        "aloft.case.",
        "Cases: opened, linked, moved, answered, assigned, escalated, rated, closed",
    ),
    (
        "aloft.compensation.",
        "Compensation: proposals, approvals, payment instructions",
    ),
    (
        "aloft.customer.",
        "Customer profiles: created, updated (field names only), merged, erased — so connected systems erase too",
    ),
    (
        "aloft.consent.",
        "Consent: given or withdrawn, per purpose and channel",
    ),
    (
        "aloft.segment.",
        "Segments: a customer entered or left a segment",
    ),
    (
        "aloft.offer.",
        "Next best action: an offer made, accepted or declined",
    ),
];

/// The longest address accepted.
const MAX_URL: usize = 2_000;

/// Whether an endpoint subscribed to `families` takes an event of `event_type`.
pub fn takes(families: &[String], event_type: &str) -> bool {
    families.iter().any(|f| event_type.starts_with(f.as_str()))
}

/// Checks an endpoint's address: HTTPS anywhere, plain HTTP only to this machine (a local
/// relay or a test receiver), no user name or password in it (secrets go in the signature).
pub fn check_url(url: &str) -> Result<http::Uri, String> {
    if url.len() > MAX_URL {
        return Err(format!("is longer than {MAX_URL} characters"));
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|_| "is not an absolute http(s) address".to_owned())?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err("is not an absolute http(s) address".into());
    };
    if authority.as_str().contains('@') {
        return Err("must not carry a user name or password".into());
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme {
        "https" => Ok(uri),
        "http" if loopback => Ok(uri),
        "http" => Err("must use https (plain http only to this machine)".into()),
        _ => Err("must use https".into()),
    }
}

/// The Standard Webhooks signature of one message.
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// A secret's text form (`whsec_…`), shown to the CMP manager once.
pub fn secret_text(bytes: &[u8]) -> String {
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The bytes of a secret's text form.
pub fn secret_bytes(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.strip_prefix("whsec_")?).ok()
}

/// What a receiver's answer means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 2xx: delivered.
    Delivered,
    /// Anything else, redirects included (they are not followed: a redirect could lead
    /// anywhere): try again later, until the attempts run out.
    Retry,
}

/// The meaning of HTTP status `code`.
pub fn answer(code: u16) -> Answer {
    if (200..300).contains(&code) {
        Answer::Delivered
    } else {
        Answer::Retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_takes_only_its_families() {
        let f = vec!["aloft.case.".to_owned()];
        assert!(takes(&f, "aloft.case.opened"));
        assert!(!takes(&f, "aloft.compensation.proposed"));
        assert!(!takes(&[], "aloft.case.opened"));
    }

    #[test]
    fn addresses_must_be_https_except_to_this_machine() {
        assert!(check_url("https://crm.example.com/hooks/aloft").is_ok());
        assert!(check_url("http://127.0.0.1:8080/in").is_ok());
        assert!(check_url("http://[::1]:8080/in").is_ok());
        assert!(check_url("http://localhost/in").is_ok());
        assert_eq!(
            check_url("http://crm.example.com/in").unwrap_err(),
            "must use https (plain http only to this machine)"
        );
        assert!(check_url("https://user:pw@crm.example.com/").is_err());
        assert!(check_url("ftp://crm.example.com/").is_err());
        assert!(check_url("/relative").is_err());
        assert!(check_url(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }

    /// The example of the Standard Webhooks specification: the same inputs give its signature.
    #[test]
    fn signatures_match_the_standard_webhooks_reference() {
        let secret = secret_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(
            secret_text(&secret),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        );
    }

    #[test]
    fn only_2xx_is_delivered() {
        assert_eq!(answer(200), Answer::Delivered);
        assert_eq!(answer(204), Answer::Delivered);
        for c in [301, 302, 400, 404, 408, 429, 500, 503] {
            assert_eq!(answer(c), Answer::Retry, "{c}");
        }
    }
}
