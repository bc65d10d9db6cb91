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
        // A burst of 30, then one attempt every two seconds: the limit bites within a few more.
        let mut limited = None;
        for n in 0..40 {
            let r = guess(&app, n, "198.51.100.1, 203.0.113.7").await;
            if r.status == 429 {
                assert!(n >= 30, "limited after only {n} attempts");
                limited = Some(r);
                break;
            }
            assert_eq!(r.status, 401, "attempt {n}: {}", r.text());
        }
        let limited = limited.expect("the client is rate limited");
        assert!(!limited.header("retry-after").is_empty());
        let other = guess(&app, 99, "203.0.113.8").await;
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
        let limited_at = {
            let mut at = None;
            for n in 0..40 {
                if guess(&app, n, &format!("192.0.2.{n}")).await.status == 429 {
                    at = Some(n);
                    break;
                }
            }
            at
        };
        assert!(
            limited_at.is_some_and(|n| n >= 30),
            "forged headers do not escape the limit: {limited_at:?}"
        );
        app.stop().await;
    })
    .await;
}

/// A password attempt for `username` from client `from` (behind the trusted test proxy).
async fn attempt(app: &TestApp, username: &str, password: &str, from: &str) -> common::Reply {
    app.request(
        "POST",
        "/sign-in",
        &[FORM, ("authorization", ""), ("x-forwarded-for", from)],
        Bytes::from(format!("username={username}&password={password}&next=%2F")),
    )
    .await
}

async fn behind_proxy(backend: aloft_kernel::Backend) -> TestApp {
    TestApp::spawn_full(
        backend,
        |s| s,
        None,
        Extras {
            trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
            ..Extras::default()
        },
    )
    .await
}

#[tokio::test]
async fn lockout_is_per_address_and_unknown_names_answer_like_locked_accounts() {
    on_each_backend(|backend| async move {
        let app = behind_proxy(backend).await;
        let password = aloft_access::demo::DEMO_PASSWORD;
        let (attacker, office) = ("203.0.113.66", "198.51.100.77");
        for (username, why) in [
            (ids::CONTACT_CENTRE_AGENT, "a real account"),
            ("ghost.user", "a name that does not exist"),
        ] {
            for n in 1..=4 {
                let r = attempt(&app, username, "guess", attacker).await;
                assert_eq!(r.status, 401, "{why}: failure {n}");
            }
            let r = attempt(&app, username, "guess", attacker).await;
            assert_eq!(r.status, 429, "{why}: the fifth failure locks");
        }
        // Both now answer alike: same status, same page (so nobody can tell which exists).
        let real = attempt(&app, ids::CONTACT_CENTRE_AGENT, password, attacker).await;
        let ghost = attempt(&app, "ghost.user", password, attacker).await;
        assert_eq!(
            real.status, 429,
            "even the right password waits out the lock"
        );
        assert_eq!(ghost.status, real.status);
        assert_eq!(ghost.text(), real.text(), "same body");
        assert!(real.text().contains("locked"));
        assert!(!ghost.header("retry-after").is_empty());
        // The attacker's failures do not lock the owner out from the office.
        let owner = attempt(&app, ids::CONTACT_CENTRE_AGENT, password, office).await;
        assert_eq!(owner.status, 303, "{}", owner.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn failures_from_everywhere_only_slow_the_owner_down() {
    on_each_backend(|backend| async move {
        let app = behind_proxy(backend).await;
        // 100 failures from 25 addresses, each staying under its own lockout.
        for n in 0..100 {
            let from = format!("192.0.2.{}", n % 25 + 1);
            let r = attempt(&app, ids::LOYALTY_MANAGER, "guess", &from).await;
            assert_eq!(r.status, 401, "failure {n} from {from}: {}", r.text());
        }
        let started = std::time::Instant::now();
        let owner = attempt(
            &app,
            ids::LOYALTY_MANAGER,
            aloft_access::demo::DEMO_PASSWORD,
            "198.51.100.9",
        )
        .await;
        assert_eq!(owner.status, 303, "slowed, never refused: {}", owner.text());
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "past the ceiling every attempt is held"
        );
        app.stop().await;
    })
    .await;
}

/// An identity provider whose discovery document names another issuer than its own URL.
async fn lying_idp() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = serde_json::json!({
        "issuer": "https://evil.example",
        "authorization_endpoint": "https://evil.example/authorize",
        "token_endpoint": "https://evil.example/token",
        "jwks_uri": "https://evil.example/keys",
    });
    let app = axum::Router::new().route(
        "/.well-known/openid-configuration",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn an_identity_provider_naming_another_issuer_is_refused() {
    let issuer = lying_idp().await;
    let sso = aloft_access::sso::SsoConfig {
        issuer: format!("{issuer}/"),
        client_id: "aloft-web".into(),
        client_secret: zeroize::Zeroizing::new("secret".into()),
        redirect_url: "http://aloft.test/sign-in/sso/callback".into(),
        role_claim: "roles".into(),
        role_map: vec![],
        require_mfa: true,
    };
    let app = TestApp::spawn_full(
        aloft_kernel::Backend::Sqlite,
        |s| s,
        None,
        Extras {
            sso: Some(sso),
            ..Extras::default()
        },
    )
    .await;
    let r = app
        .request(
            "GET",
            "/sign-in/sso?next=%2F",
            &[("authorization", "")],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 503, "{} {}", r.header("location"), r.text());
    assert_eq!(r.header("content-type"), "application/problem+json");
    let problem = r.json();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("https://evil.example") && detail.contains(&issuer),
        "{detail}"
    );
    assert!(
        r.header("location").is_empty(),
        "never sent to the other issuer"
    );
    app.stop().await;
}

#[tokio::test]
async fn responses_that_may_carry_personal_data_are_never_stored_by_caches() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = app
            .create_customer(serde_json::json!({
                "first_name": "Ana", "last_name": "Lima", "email": "ana.lima@example.com"
            }))
            .await;
        let id = customer["id"].as_str().unwrap();
        let staff = app.sign_in_as(ids::CUSTOMER_AFFAIRS_EXECUTIVE).await;
        for (path, reply) in [
            (
                "/api/v1/customers/{id}",
                app.get(&format!("/api/v1/customers/{id}")).await,
            ),
            (
                "/api/v1/customers?q=Ana",
                app.get("/api/v1/customers?q=Ana").await,
            ),
            ("/api/v1/nowhere", app.get("/api/v1/nowhere").await),
            ("/", app.get_as(&staff, "/").await),
            (
                "/customers/{id}",
                app.get_as(&staff, &format!("/customers/{id}")).await,
            ),
            (
                "/sign-in",
                app.request("GET", "/sign-in", &[("authorization", "")], Bytes::new())
                    .await,
            ),
        ] {
            assert!(reply.status < 500, "{path}: {}", reply.status);
            assert_eq!(reply.header("cache-control"), "no-store", "{path}");
        }
        // Public, personal-data-free responses keep their own caching.
        let css = app.get("/assets/app.css").await;
        assert_eq!(css.header("cache-control"), "public, max-age=3600");
        for path in ["/healthz", "/readyz"] {
            let r = app
                .request("GET", path, &[("authorization", "")], Bytes::new())
                .await;
            assert_eq!(r.status, 200, "{path}");
            assert_ne!(r.header("cache-control"), "no-store", "{path}");
        }
        app.stop().await;
    })
    .await;
}

/// Whether `s` is a UUID as the server generates them.
fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

#[tokio::test]
async fn a_client_chosen_request_id_is_kept_only_when_short_and_plain() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let with_id = |id: String| {
            let app = &app;
            async move {
                app.request("GET", "/healthz", &[("x-request-id", &id)], Bytes::new())
                    .await
                    .header("x-request-id")
                    .to_owned()
            }
        };
        for good in ["a", "trace-42_A.b", &"x".repeat(64)] {
            assert_eq!(with_id(good.to_owned()).await, good);
        }
        let long = "x".repeat(65);
        for bad in [
            "has space",
            "a/b",
            "x;drop",
            "\"quoted\"",
            "tab\there",
            long.as_str(),
        ] {
            let echoed = with_id(bad.to_owned()).await;
            assert!(
                is_uuid(&echoed),
                "{bad:?} replaced by a fresh id: {echoed:?}"
            );
        }
        let none = app.get("/healthz").await;
        assert!(is_uuid(none.header("x-request-id")));

        // The audit trail records the id the response carried, not the client's.
        let r = app
            .request(
                "POST",
                "/api/v1/customers",
                &[
                    ("content-type", "application/json"),
                    ("x-request-id", "forged id with spaces"),
                ],
                Bytes::from(
                    serde_json::json!({ "first_name": "Rui", "last_name": "Costa" }).to_string(),
                ),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let echoed = r.header("x-request-id").to_owned();
        assert!(is_uuid(&echoed), "{echoed:?}");
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let trail = aloft_kernel::audit::search(
            &app.test_db.db,
            &aloft_kernel::audit::AuditFilter {
                resource_id: Some(id),
                actor_id: None,
                action: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
        assert!(!trail.is_empty());
        assert!(trail.iter().all(|e| e.request_id == echoed), "{trail:?}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refused_tokens_are_explained_without_library_internals_or_echoes() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let good = app.issuer.issue(
            ids::DATA_PRIVACY_OFFICER,
            "t",
            chrono::Duration::hours(1),
            None,
        );
        let mut tampered = good.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let expired = app.issuer.issue(
            ids::DATA_PRIVACY_OFFICER,
            "t",
            chrono::Duration::hours(-2),
            None,
        );
        let unknown = app.issuer.issue(
            "role_of_<script>evil",
            "t",
            chrono::Duration::hours(1),
            None,
        );
        let unknown_scope = app.issuer.issue(
            ids::DATA_PRIVACY_OFFICER,
            "t",
            chrono::Duration::hours(1),
            Some(&[aloft_authz::Permission::new("scope.<script>evil")]),
        );
        for (token, detail) in [
            (tampered.as_str(), "the token is not valid"),
            ("not-a-jwt", "the token is not valid"),
            ("e30.e30.!!!", "the token is not valid"),
            (expired.as_str(), "the token has expired"),
            (unknown.as_str(), "the token names no role Aloft knows"),
            (
                unknown_scope.as_str(),
                "the token names no role Aloft knows",
            ),
        ] {
            let r = app
                .request(
                    "GET",
                    "/api/v1/customers",
                    &[("authorization", &format!("Bearer {token}"))],
                    Bytes::new(),
                )
                .await;
            assert_eq!(r.status, 401, "{token}");
            assert_eq!(r.json()["detail"], detail, "{token}");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn json_bodies_naming_a_key_twice_are_refused_with_its_pointer() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let send = |path: &'static str, body: &'static str, auth: String| {
            let app = &app;
            async move {
                app.request(
                    "POST",
                    path,
                    &[("content-type", "application/json"), ("authorization", &auth)],
                    Bytes::from(body),
                )
                .await
            }
        };
        let staff = app.token.clone();
        let ingest = app.role_tokens.get(ids::CMP_MANAGER).to_owned();
        for (path, body, auth, pointer) in [
            // Which value wins differs between parsers: a check that read the first
            // `first_name` and a store that keeps the last would disagree.
            (
                "/api/v1/customers",
                r#"{"first_name":"Ana","last_name":"Lima","last_name":"Other"}"#,
                staff.clone(),
                "/last_name",
            ),
            (
                "/api/v1/customers",
                r#"{"first_name":"Ana","last_name":"Lima","address":{"country":"PT","city":"Porto","country":"ZZ"}}"#,
                staff.clone(),
                "/address/country",
            ),
            (
                "/api/v1/passenger/register",
                r#"{"email":"a@example.com","email":"b@example.com","password":"x"}"#,
                String::new(),
                "/email",
            ),
            (
                "/api/v1/ingest/events",
                r#"[{"id":"1"},{"id":"2","data":{"a/b":1,"a/b":2}}]"#,
                ingest,
                "/1/data/a~1b",
            ),
        ] {
            let r = send(path, body, auth).await;
            assert_eq!(r.status, 400, "{path} {body}: {}", r.text());
            assert_eq!(r.header("content-type"), "application/problem+json");
            let problem = r.json();
            assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
            assert!(
                problem["detail"].as_str().unwrap().contains(pointer),
                "{problem}"
            );
        }
        // The same key in different objects is no duplicate.
        let r = send(
            "/api/v1/customers",
            r#"{"first_name":"Ana","last_name":"Lima","address":{"city":"Porto","country":"PT"},"city":1}"#,
            staff,
        )
        .await;
        assert_ne!(r.status, 400, "{}", r.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_profile_update_must_name_the_version_it_overwrites() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let created = app
            .create_customer(serde_json::json!({"first_name": "Ana", "last_name": "Lima"}))
            .await;
        let id = created["id"].as_str().unwrap();
        let path = format!("/api/v1/customers/{id}");
        // Without If-Match a client would silently overwrite whatever changed since it read.
        let blind = app
            .patch_json(&path, &serde_json::json!({"middle_name": "Blind"}), None)
            .await;
        assert_eq!(blind.status, 428, "{}", blind.text());
        assert_eq!(blind.header("content-type"), "application/problem+json");
        assert!(
            blind.json()["detail"]
                .as_str()
                .unwrap()
                .contains("If-Match")
        );
        let read = app.get(&path).await;
        assert!(read.json().get("middle_name").is_none(), "nothing changed");
        let etag = read.header("etag").to_owned();
        let patched = app
            .patch_json(
                &path,
                &serde_json::json!({"middle_name": "Seen"}),
                Some(&etag),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text());

        // Passengers changing their own profile alike.
        let me = app
            .request(
                "PATCH",
                "/api/v1/me",
                &[
                    ("authorization", app.role_tokens.get(ids::PASSENGER)),
                    ("content-type", "application/merge-patch+json"),
                ],
                Bytes::from(r#"{"preferences":{"seat":"window"}}"#),
            )
            .await;
        assert_eq!(me.status, 428, "{}", me.text());
        app.stop().await;
    })
    .await;
}

/// A passenger sign-in attempt from client `from` (behind the trusted test proxy).
async fn passenger_attempt(
    app: &TestApp,
    email: &str,
    password: &str,
    from: &str,
) -> common::Reply {
    app.request(
        "POST",
        "/api/v1/passenger/token",
        &[
            ("authorization", ""),
            ("content-type", "application/json"),
            ("x-forwarded-for", from),
        ],
        Bytes::from(serde_json::json!({"email": email, "password": password}).to_string()),
    )
    .await
}

#[tokio::test]
async fn guessing_a_passengers_password_locks_out_only_the_guesser() {
    on_each_backend(|backend| async move {
        let app = behind_proxy(backend).await;
        app.create_customer(serde_json::json!({
            "first_name": "Ana", "last_name": "Lima",
            "email": "ana.lima@example.com", "loyalty_number": "AL77701"
        }))
        .await;
        let passphrase = "a long and unusual passphrase";
        let registered = app
            .request(
                "POST",
                "/api/v1/passenger/register",
                &[("authorization", ""), ("content-type", "application/json")],
                Bytes::from(
                    serde_json::json!({
                        "loyalty_number": "AL77701",
                        "email": "ana.lima@example.com",
                        "password": passphrase
                    })
                    .to_string(),
                ),
            )
            .await;
        assert_eq!(registered.status, 202, "{}", registered.text());
        // The e-mail round trip is another test's subject.
        sqlx::query(
            "UPDATE passenger_accounts SET email_verified_at = '2026-01-01T00:00:00.000000Z'",
        )
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
        let (attacker, home) = ("203.0.113.66", "198.51.100.77");
        let mut locked = Vec::new();
        for (email, why) in [
            ("ana.lima@example.com", "a real account"),
            ("nobody.here@example.com", "an address with no account"),
        ] {
            for n in 1..=5 {
                let r = passenger_attempt(&app, email, "guess", attacker).await;
                assert!(r.status == 401 || r.status == 429, "{why}: failure {n}");
            }
            let r = passenger_attempt(&app, email, passphrase, attacker).await;
            assert_eq!(
                r.status, 429,
                "{why}: even the right password waits out the lock"
            );
            locked.push(r.json());
        }
        assert_eq!(
            locked[0], locked[1],
            "a locked account and no account answer alike"
        );
        // The attacker's failures do not lock the passenger out from home.
        let owner = passenger_attempt(&app, "ana.lima@example.com", passphrase, home).await;
        assert_eq!(owner.status, 200, "{}", owner.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn metrics_need_a_token_holding_their_permission_or_the_separate_listener() {
    on_each_backend(|backend| async move {
        // Without --metrics-bind: /metrics on the main listener needs ops.metrics.read.
        let app = TestApp::spawn(backend).await;
        let scrape = |auth: String| {
            let app = &app;
            async move {
                app.request("GET", "/metrics", &[("authorization", &auth)], Bytes::new())
                    .await
            }
        };
        assert_eq!(scrape(String::new()).await.status, 401, "anonymous");
        for role in [ids::CONTACT_CENTRE_AGENT, ids::DATA_PRIVACY_OFFICER] {
            let r = scrape(app.role_tokens.get(role).to_owned()).await;
            assert_eq!(r.status, 403, "{role}");
        }
        for role in [ids::SECURITY_OPERATIONS_MANAGER, ids::ADMINISTRATOR] {
            let r = scrape(app.role_tokens.get(role).to_owned()).await;
            assert_eq!(r.status, 200, "{role}");
            assert!(r.text().contains("aloft_http_requests_total"));
        }
        for probe in ["/healthz", "/readyz"] {
            let r = app
                .request("GET", probe, &[("authorization", "")], Bytes::new())
                .await;
            assert_eq!(r.status, 200, "{probe} stays public");
        }
        app.stop().await;

        // With --metrics-bind: the scrape listener serves the operational endpoints only,
        // without authentication; the main listener still wants the token.
        let app = TestApp::spawn_full(
            backend,
            |s| s,
            None,
            Extras {
                metrics_bind: Some("127.0.0.1:0".parse().unwrap()),
                ..Extras::default()
            },
        )
        .await;
        let ops = app.metrics_addr.expect("a metrics listener");
        assert_ne!(ops, app.addr);
        let metrics = app.request_at(ops, "GET", "/metrics").await;
        assert_eq!(metrics.status, 200, "{}", metrics.text());
        assert!(metrics.text().contains("aloft_http_requests_total"));
        for probe in ["/healthz", "/readyz"] {
            assert_eq!(
                app.request_at(ops, "GET", probe).await.status,
                200,
                "{probe}"
            );
        }
        for elsewhere in ["/api/v1/customers", "/", "/sign-in", "/api/openapi.json"] {
            let r = app.request_at(ops, "GET", elsewhere).await;
            assert_eq!(
                r.status, 404,
                "{elsewhere} is not served on the metrics listener"
            );
        }
        let main = app
            .request("GET", "/metrics", &[("authorization", "")], Bytes::new())
            .await;
        assert_eq!(main.status, 401);
        app.stop().await;
    })
    .await;
}
