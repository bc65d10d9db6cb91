//! The rules of signing in, as pure functions: lockout, session lifetime, stages. No IO.

use chrono::{DateTime, Duration, Utc};

/// Consecutive failures (password or second factor) allowed before the account locks.
pub const FREE_ATTEMPTS: i64 = 5;

/// How long an account stays locked after `failures` consecutive failures: nothing for the
/// first [`FREE_ATTEMPTS`], then one minute, doubling with every further failure, capped at one
/// hour. Progressive, so a typo costs nothing and a guessing script gets nowhere.
pub fn lockout_after(failures: i64) -> Option<Duration> {
    if failures < FREE_ATTEMPTS {
        return None;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(6) as u32;
    Some(Duration::minutes((1i64 << doublings).min(60)))
}

/// Failures of one username, from all addresses together, after which every further sign-in
/// for it is slowed down (never refused: refusing would hand anyone who can reach the sign-in
/// page a way to lock staff out; the per-address lockout stops guessing from one place).
pub const GLOBAL_FREE_FAILURES: i64 = 100;

/// A failure count older than this (since its last failure) starts again from zero.
pub const FAILURE_MEMORY: Duration = Duration::hours(24);

/// How long to hold every sign-in for a username that failed `failures` times from all
/// addresses together: nothing up to [`GLOBAL_FREE_FAILURES`], then one second, one more for
/// every further hundred, at most five. Enough to make a distributed guess at one account
/// costly; short enough that its owner still signs in.
pub fn global_slowdown(failures: i64) -> Option<std::time::Duration> {
    if failures < GLOBAL_FREE_FAILURES {
        return None;
    }
    let seconds = 1 + (failures - GLOBAL_FREE_FAILURES) / 100;
    Some(std::time::Duration::from_secs(seconds.min(5) as u64))
}

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// A half-finished sign-in (password given, second factor not yet) expires quickly.
pub const SIGN_IN_STEP_TIMEOUT: Duration = Duration::minutes(10);
/// `last_seen_at` is written at most this often, so reads do not each cost a write.
pub const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// Where a session is in the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Password accepted; the second factor is due.
    Password,
    /// Password accepted; the account has no second factor yet and must enrol one now.
    Enrol,
    /// Fully signed in.
    Full,
}

impl Stage {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Password => "password",
            Stage::Enrol => "enrol",
            Stage::Full => "full",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Stage> {
        match s {
            "password" => Some(Stage::Password),
            "enrol" => Some(Stage::Enrol),
            "full" => Some(Stage::Full),
            _ => None,
        }
    }
}

/// Whether a session is still alive at `now`.
pub fn session_alive(
    stage: Stage,
    created: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    if now >= expires {
        return false;
    }
    match stage {
        Stage::Full => now - last_seen < IDLE_TIMEOUT,
        Stage::Password | Stage::Enrol => now - created < SIGN_IN_STEP_TIMEOUT,
    }
}

/// A username: 3–64 characters of lower-case letters, digits, `.`, `_`, `-` or `@`. Kept
/// simple so it is typed the same way every time and is safe in logs' place of an id.
pub fn valid_username(name: &str) -> bool {
    (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b))
}

/// Where to go after signing in: only a same-origin absolute path, never another site (open
/// redirect); anything else becomes `/`.
///
/// Browsers are lenient with `Location`: they drop tabs and newlines anywhere (`/<TAB>/evil`
/// becomes `//evil`, another host), read `\` as `/`, and some tools decode `%2F`/`%5C`. So the
/// path must be printable ASCII (which also keeps it a valid header value: a CR/LF would
/// otherwise fail building the response), start with exactly one `/`, and — raw or
/// percent-decoded once — hold no `\`, no control or whitespace character, and not start with
/// `//`. A path starting with `/` cannot carry a scheme.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(n: &str) -> bool {
    let plain = |s: &str| {
        s.starts_with('/')
            && !s.starts_with("//")
            && !s.contains('\\')
            && !s.chars().any(|c| c.is_control() || c.is_whitespace())
    };
    n.bytes().all(|b| b.is_ascii_graphic())
        && plain(n)
        && plain(&percent_encoding::percent_decode_str(n).decode_utf8_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_is_progressive_and_capped() {
        assert_eq!(lockout_after(4), None);
        assert_eq!(lockout_after(5), Some(Duration::minutes(1)));
        assert_eq!(lockout_after(6), Some(Duration::minutes(2)));
        assert_eq!(lockout_after(8), Some(Duration::minutes(8)));
        assert_eq!(lockout_after(50), Some(Duration::minutes(60)));
    }

    #[test]
    fn the_global_ceiling_only_slows() {
        assert_eq!(global_slowdown(0), None);
        assert_eq!(global_slowdown(99), None);
        assert_eq!(
            global_slowdown(100),
            Some(std::time::Duration::from_secs(1))
        );
        assert_eq!(
            global_slowdown(250),
            Some(std::time::Duration::from_secs(2))
        );
        assert_eq!(
            global_slowdown(1_000_000),
            Some(std::time::Duration::from_secs(5))
        );
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let t0 = Utc::now();
        let exp = t0 + ABSOLUTE_TIMEOUT;
        assert!(session_alive(
            Stage::Full,
            t0,
            t0,
            exp,
            t0 + Duration::minutes(29)
        ));
        assert!(!session_alive(
            Stage::Full,
            t0,
            t0,
            exp,
            t0 + Duration::minutes(31)
        ));
        assert!(!session_alive(
            Stage::Full,
            t0,
            t0 + Duration::hours(12),
            exp,
            exp
        ));
        assert!(!session_alive(
            Stage::Password,
            t0,
            t0,
            exp,
            t0 + Duration::minutes(11)
        ));
    }

    #[test]
    fn usernames_and_redirects() {
        assert!(valid_username("ana.agent"));
        assert!(!valid_username("Ana"));
        assert!(!valid_username("a"));
        assert_eq!(safe_next(Some("/customers?q=x")), "/customers?q=x");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    /// What a browser makes of a `Location` value on `https://aloft.example/`: WHATWG URL
    /// parsing (which strips tabs and newlines, reads `\\` as `/`, resolves `.`/`..`).
    fn browser_host(location: &str) -> Option<String> {
        let base = url::Url::parse("https://aloft.example/").unwrap();
        base.join(location)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
    }

    /// Property: whatever the attacker sends, the redirect stays on this site, is a valid
    /// header value (no 500) and starts with exactly one `/`; plain local paths are kept.
    #[test]
    fn redirects_never_leave_the_site_whatever_the_input() {
        let heads = [
            "",
            "/",
            "//",
            "/\\",
            "\\",
            "/%09/",
            "/%0a/",
            "/%0d%0a/",
            "/%2f/",
            "/%5c/",
            "/\t/",
            "/\n/",
            "/\r\n/",
            "/ /",
            "/\u{0b}/",
            "/\u{a0}/",
            "/\u{2028}/",
            "https:",
            "http://",
            "javascript:",
            "/%252f/",
            "/./",
            "/../",
            "%2f%2f",
            "/\u{0}/",
            "/%00/",
            "/%e2%80%a8/",
            "///",
            "/\\/",
            "/%09%09/",
        ];
        let tails = [
            "evil.example",
            "evil.example/path?x=1",
            "@evil.example",
            "/evil.example",
            "\\evil.example",
            "customers?q=Ana",
            "",
        ];
        let mut checked = 0;
        for head in heads {
            for tail in tails {
                for input in [format!("{head}{tail}"), format!("/customers{head}{tail}")] {
                    let out = safe_next(Some(&input));
                    assert!(
                        http::HeaderValue::from_str(&out).is_ok(),
                        "{input:?} → {out:?} is no header value"
                    );
                    assert!(
                        out.starts_with('/') && !out.starts_with("//"),
                        "{input:?} → {out:?}"
                    );
                    assert_eq!(
                        browser_host(&out).as_deref(),
                        Some("aloft.example"),
                        "{input:?} → {out:?} leaves the site"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 400);
        for kept in [
            "/",
            "/customers",
            "/customers/0192?tab=timeline",
            "/search?q=%C3%A9",
        ] {
            assert_eq!(safe_next(Some(kept)), kept, "{kept} is a plain local path");
        }
        for refused in [
            "/%09/evil.example",
            "/\t/evil.example",
            "/\r\nSet-Cookie:%20x=1",
            "/%0d%0aSet-Cookie:%20x=1",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/ /evil.example",
            "/café",
        ] {
            assert_eq!(safe_next(Some(refused)), "/", "{refused:?}");
        }
    }
}
