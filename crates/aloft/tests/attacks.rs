//! Attacks end to end, each against the real application over HTTP: open redirects after
//! sign-in, account lockout as a weapon, rate limits behind proxies, header and body tricks,
//! the metrics endpoint, and a lying identity provider.

mod common;

use aloft::roles::ids;
use aloft_kernel::http::TrustedProxies;
use bytes::Bytes;
use common::{Extras, TestApp, csrf_of, on_each_backend, totp_now};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// Where a browser on `http://aloft.test/` goes for this `Location` (WHATWG URL parsing, which
/// drops tabs and newlines and reads `\` as `/`).
fn browser_host(location: &str) -> Option<String> {
    let base = url::Url::parse("http://aloft.test/").unwrap();
    base.join(location)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
}

/// The password step for the demo account of `role` with a raw (already form-encoded) `next`;
/// returns the reply and the half-signed-in session cookie.
async fn password_step(app: &TestApp, role: &str, next_encoded: &str) -> (common::Reply, String) {
    let r = app
        .request(
            "POST",
            "/sign-in",
            &[FORM, ("authorization", "")],
            Bytes::from(format!(
                "username={role}&password={}&next={next_encoded}",
                aloft_access::demo::DEMO_PASSWORD
            )),
        )
        .await;
    let cookie = r
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned();
    (r, cookie)
}

/// The second-factor step with a raw `next`, after [`password_step`].
async fn mfa_step(app: &TestApp, role: &str, cookie: &str, next_encoded: &str) -> common::Reply {
    let page = app
        .request("GET", "/sign-in/mfa", &[("cookie", cookie)], Bytes::new())
        .await;
    let csrf = csrf_of(&page.text());
    let code = totp_now(&aloft_access::demo::demo_secret(role));
    app.request(
        "POST",
        "/sign-in/mfa",
        &[FORM, ("cookie", cookie)],
        Bytes::from(format!("csrf={csrf}&code={code}&next={next_encoded}")),
    )
    .await
}

#[tokio::test]
async fn sign_in_never_redirects_to_another_site() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        // `next=/<TAB>/evil.example`: browsers drop the tab and go to //evil.example.
        let (r, cookie) =
            password_step(&app, ids::CONTACT_CENTRE_AGENT, "%2F%09%2Fevil.example").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let location = r.header("location").to_owned();
        let carried = location.split_once("next=").map(|(_, n)| n).unwrap_or("");
        assert_eq!(
            percent_encoding::percent_decode_str(carried).decode_utf8_lossy(),
            "/",
            "the password step carries only a safe next: {location}"
        );
        let done = mfa_step(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &cookie,
            "%2F%09%2Fevil.example",
        )
        .await;
        assert_eq!(done.status, 303, "{}", done.text());
        assert_eq!(done.header("location"), "/");
        assert_eq!(
            browser_host(done.header("location")).as_deref(),
            Some("aloft.test")
        );

        // CR/LF in `next` (header injection) is refused, not a 500.
        let (_, cookie) = password_step(&app, ids::LOYALTY_MANAGER, "%2F").await;
        let done = mfa_step(
            &app,
            ids::LOYALTY_MANAGER,
            &cookie,
            "%2F%0D%0ASet-Cookie%3A%20planted%3D1",
        )
        .await;
        assert_eq!(done.status, 303, "{}", done.text());
        assert_eq!(done.header("location"), "/");

        // Other tricks on the sign-in page itself: never echoed into a link off the site.
        for trick in [
            "%2F%2Fevil.example",
            "%2F%5Cevil.example",
            "https%3A%2F%2Fevil.example",
            "%2F%252F%2Fevil.example",
            "%2F%0A%2Fevil.example",
        ] {
            let page = app
                .request(
                    "GET",
                    &format!("/sign-in?next={trick}"),
                    &[("authorization", "")],
                    Bytes::new(),
                )
                .await;
            assert_eq!(page.status, 200, "{trick}");
            assert!(
                page.text().contains(r#"name="next" value="/""#),
                "{trick}: {}",
                page.text()
            );
        }
        // A plain local path survives the whole sign-in.
        let (_, cookie) = password_step(
            &app,
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            "%2Fcustomers%3Fq%3DAna",
        )
        .await;
        let done = mfa_step(
            &app,
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            &cookie,
            "%2Fcustomers%3Fq%3DAna",
        )
        .await;
        assert_eq!(done.header("location"), "/customers?q=Ana");
        app.stop().await;
    })
    .await;
}

/// A failed sign-in attempt (a different unknown username each time, so that only the
/// per-address rate limit can refuse it), as if from `forwarded_for`.
async fn guess(app: &TestApp, n: usize, forwarded_for: &str) -> common::Reply {
    app.request(
        "POST",
        "/sign-in",
        &[
            FORM,
            ("authorization", ""),
            ("x-forwarded-for", forwarded_for),
        ],
        Bytes::from(format!("username=nobody{n}&password=guess")),
    )
    .await
}

#[tokio::test]
async fn rate_limits_follow_the_client_behind_a_trusted_proxy_and_ignore_forged_headers() {
    on_each_backend(|backend| async move {
        // The test client plays the load balancer at 127.0.0.1.
        let app = TestApp::spawn_full(
            backend,
            |s| s,
            None,
            Extras {
                trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
                ..Extras::default()
            },
        )
        .await;
        for n in 0..30 {
            let r = guess(&app, n, "198.51.100.1, 203.0.113.7").await;
            assert_eq!(r.status, 401, "attempt {n}: {}", r.text());
        }
        let limited = guess(&app, 30, "203.0.113.7").await;
        assert_eq!(limited.status, 429, "{}", limited.text());
        assert!(!limited.header("retry-after").is_empty());
        let other = guess(&app, 31, "203.0.113.8").await;
        assert_eq!(
            other.status, 401,
            "another client behind the same proxy is not limited"
        );
        // The audit trail names the client, not the proxy.
        let trail = aloft_kernel::audit::search(
            &app.test_db.db,
            &aloft_kernel::audit::AuditFilter {
                resource_id: None,
                actor_id: None,
                action: Some("auth.rate_limited".into()),
                limit: 10,
            },
        )
        .await
        .unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].client_address.as_deref(), Some("203.0.113.7"));
        app.stop().await;

        // Nobody trusted: a forged header is ignored, the peer is limited.
        let app = TestApp::spawn(backend).await;
        for n in 0..30 {
            let r = guess(&app, n, &format!("192.0.2.{n}")).await;
            assert_eq!(r.status, 401, "attempt {n}");
        }
        assert_eq!(guess(&app, 30, "192.0.2.200").await.status, 429);
        app.stop().await;
    })
    .await;
}
