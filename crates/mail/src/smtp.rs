//! The SMTP server Aloft hands mail to, configured by one URL, and how its answers map onto the
//! job queue's retry rules.
//!
//! Supported URLs (user and password percent-encoded; both optional, together):
//!
//! | URL                                      | Connection                                          | Default port |
//! |------------------------------------------|-----------------------------------------------------|--------------|
//! | `smtp://user:pass@host:port`             | STARTTLS when the server offers it, else plain text | 587          |
//! | `smtp://host:port?tls=required`          | STARTTLS required: no TLS, no mail                  | 587          |
//! | `smtp://host:port?tls=none`              | plain text only (a relay on loopback)               | 587          |
//! | `smtps://user:pass@host:port`            | TLS from the first byte (implicit TLS)              | 465          |
//!
//! TLS is rustls with the `ring` provider and the Mozilla root certificates compiled in
//! (webpki-roots): no OpenSSL, no system store. Credentials are sent only with AUTH (PLAIN or
//! LOGIN, whichever the server offers); since `smtp://` without `tls=required` may fall back
//! to plain text, use `tls=required` or `smtps://` whenever a password is set.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use aloft_kernel::jobs::JobError;

/// How long one SMTP conversation may take before the attempt is retried later.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a mail configuration was refused at start-up. Never quotes the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The SMTP URL is not one of the supported forms.
    #[error("SMTP URL: {0}")]
    Url(String),
    /// The From address is not a mailbox (`Name <addr@host>` or `addr@host`).
    #[error("the From address is not a valid mailbox: {0}")]
    From(String),
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// STARTTLS if offered, else plain text (`smtp://`).
    Opportunistic,
    /// STARTTLS or no delivery (`smtp://…?tls=required`).
    StartTlsRequired,
    /// Never TLS (`smtp://…?tls=none`): loopback relays and tests.
    None,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// A parsed SMTP URL. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// Server name (also the name its certificate must carry).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection security.
    pub security: Security,
    user: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

impl SmtpUrl {
    /// Parses one of the forms in the module documentation.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let url = url::Url::parse(text.trim()).map_err(|e| ConfigError::Url(e.to_string()))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ConfigError::Url("no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("opportunistic")) => Security::Opportunistic,
            ("smtp", Some("required")) => Security::StartTlsRequired,
            ("smtp", Some("none")) => Security::None,
            ("smtps", None | Some("required")) => Security::Implicit,
            (scheme @ ("smtp" | "smtps"), Some(other)) => {
                return Err(ConfigError::Url(format!(
                    "{scheme}: tls={other} is not supported (required, opportunistic or none)"
                )));
            }
            (scheme, _) => {
                return Err(ConfigError::Url(format!(
                    "scheme {scheme:?} is not supported (smtp or smtps)"
                )));
            }
        };
        let port = url.port().unwrap_or(match security {
            Security::Implicit => 465,
            _ => 587,
        });
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| ConfigError::Url("user or password is not UTF-8".into()))
        };
        let user = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(pass)) if !user.is_empty() => Some((decode(user)?, decode(pass)?)),
            _ => {
                return Err(ConfigError::Url(
                    "give both a user and a password, or neither".into(),
                ));
            }
        };
        Ok(Self {
            host,
            port,
            security,
            user,
        })
    }

    /// The user name, if the server wants authentication.
    pub fn user(&self) -> Option<&str> {
        self.user.as_ref().map(|(u, _)| u.as_str())
    }

    /// The transport that talks to this server (no connection is made until a send).
    pub(crate) fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, ConfigError> {
        let tls = |required: bool| {
            TlsParameters::new(self.host.clone())
                .map(|p| {
                    if required {
                        Tls::Required(p)
                    } else {
                        Tls::Opportunistic(p)
                    }
                })
                .map_err(|e| ConfigError::Url(format!("TLS setup: {e}")))
        };
        let tls = match self.security {
            Security::Opportunistic => tls(false)?,
            Security::StartTlsRequired => tls(true)?,
            Security::None => Tls::None,
            Security::Implicit => Tls::Wrapper(
                TlsParameters::new(self.host.clone())
                    .map_err(|e| ConfigError::Url(format!("TLS setup: {e}")))?,
            ),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if let Some((user, pass)) = &self.user {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(builder.build())
    }
}

/// How an SMTP failure affects the `mail.send` job: a 5xx reply is final (the server will not
/// take this message); everything else — 4xx replies, refused or dropped connections, TLS
/// trouble, timeouts — passes, so the job retries with back-off.
pub(crate) fn classify(error: &lettre::transport::smtp::Error) -> JobError {
    if error.is_permanent() {
        JobError::Fail(format!("the SMTP server refused the message: {error}"))
    } else {
        JobError::Retry(format!("SMTP delivery failed for now: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_forms_parse() {
        let u = SmtpUrl::parse("smtp://mailer:p%40ss@mail.example.org:2525").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.security),
            ("mail.example.org", 2525, Security::Opportunistic)
        );
        assert_eq!(u.user(), Some("mailer"));
        assert_eq!(u.user.as_ref().unwrap().1, "p@ss");
        assert!(
            !format!("{u:?}").contains("p@ss"),
            "Debug hides the password"
        );

        let u = SmtpUrl::parse("smtp://mail.example.org?tls=required").unwrap();
        assert_eq!((u.port, u.security), (587, Security::StartTlsRequired));
        let u = SmtpUrl::parse("smtps://a:b@mail.example.org").unwrap();
        assert_eq!((u.port, u.security), (465, Security::Implicit));
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((u.host.as_str(), u.security), ("127.0.0.1", Security::None));
        for u in [&u, &SmtpUrl::parse("smtps://mail.example.org").unwrap()] {
            u.transport().unwrap();
        }
    }

    #[test]
    fn other_forms_are_refused() {
        for bad in [
            "http://mail.example.org",
            "smtp://",
            "smtp://mail.example.org?tls=sometimes",
            "smtps://mail.example.org?tls=none",
            "smtp://user@mail.example.org",
            "not a url",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
