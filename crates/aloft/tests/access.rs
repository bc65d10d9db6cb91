//! Access control end to end: every route's policy against every role, staff sign-in with
//! TOTP, lockout, CSRF, session fixation, bearer tokens, field masking, and the key checks.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use aloft::app::{AppConfig, Application};
use aloft::roles::{ROLES, ids};
use aloft_access::KeySource;
use aloft_authz::{Access, RoleDef};
use aloft_kernel::testing::TestDatabase;
use aloft_kernel::{AccessContext, Backend};
use bytes::Bytes;
use common::{StaffSession, TestApp, csrf_of, on_each_backend, totp_now};
use serde_json::{Value, json};

/// `(METHOD, path)` of every route the router really has, read from its `Debug` output (axum
/// prints each route's path and its `Allow` header). Brittle by design: if axum changes the
/// format, this fails loudly rather than checking nothing.
fn router_routes(debug: &str) -> BTreeSet<(String, String)> {
    // Only the main router; the fallback router holds axum's catch-all.
    let main = &debug[..debug
        .find("fallback_router")
        .expect("axum prints the router")];
    let mut paths = std::collections::HashMap::new();
    let mut methods = std::collections::HashMap::new();
    for chunk in main.split("RouteId(").skip(1) {
        let (id, rest) = chunk.split_once(')').unwrap();
        if let Some(path) = rest.strip_prefix(": \"") {
            // `RouteId(3): "/customers/{id}"` in the node's path table.
            paths.insert(id.to_owned(), path[..path.find('"').unwrap()].to_owned());
        } else if rest.starts_with(": MethodRouter(") {
            // `… allow_header: Bytes(b"GET,HEAD,POST") }`: the methods registered.
            let allow = rest
                .split_once("allow_header: Bytes(b\"")
                .map(|(_, m)| m[..m.find('"').unwrap()].to_owned())
                .unwrap_or_default();
            methods.insert(id.to_owned(), allow);
        }
    }
    let mut out = BTreeSet::new();
    for (id, allow) in methods {
        let path = paths
            .get(&id)
            .unwrap_or_else(|| panic!("route {id} has a path"));
        for m in allow.split(',').filter(|m| !m.is_empty() && *m != "HEAD") {
            out.insert((m.to_owned(), path.clone()));
        }
    }
    out
}

fn declared(app: &TestApp) -> Vec<(String, String, Access)> {
    app.policies
        .iter()
        .map(|p| (p.method.to_owned(), p.path.to_owned(), p.access))
        .collect()
}

/// Whether `role` (as a signed-in staff member, or bearer token for `passenger`) passes the gate.
fn expected_allowed(access: Access, role: &RoleDef, bearer: bool) -> bool {
    match access {
        Access::Public => true,
        Access::SignInStep | Access::Staff => !bearer && role.is_staff(),
        Access::Permission(p) => role.allows(p),
    }
}

#[tokio::test]
async fn every_route_declares_a_policy_and_every_role_is_held_to_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let real = router_routes(&app.route_debug);
    assert!(real.len() >= 20, "the route table was read: {real:?}");
    let declared = declared(&app);
    let declared_set: BTreeSet<(String, String)> = declared
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    let undeclared: Vec<_> = real.difference(&declared_set).collect();
    assert!(
        undeclared.is_empty(),
        "routes without an access policy: {undeclared:?}"
    );
    let stale: Vec<_> = declared_set.difference(&real).collect();
    assert!(
        stale.is_empty(),
        "policies for routes that do not exist: {stale:?}"
    );

    let customer = app
        .create_customer(json!({"first_name": "Ana", "last_name": "Silva"}))
        .await;
    let id = customer["id"].as_str().unwrap();
    let concrete = |path: &str| path.replace("{id}", id).replace("{name}", "app.css");
    // Routes that end the session are exercised in the sign-in test instead.
    let ends_session =
        |path: &str| path.starts_with("/sign-out") || path.ends_with("sign-out-everywhere");

    // Pages as each signed-in staff role.
    for role in ROLES.iter().filter(|r| r.is_staff()) {
        let session = app.sign_in_as(role.id).await;
        for (method, path, access) in declared
            .iter()
            .filter(|(_, p, _)| !p.starts_with("/api/") && !ends_session(p))
        {
            let url = concrete(path);
            let allowed = expected_allowed(*access, role, false);
            if path.ends_with("/live") {
                // A live stream (server-sent events) never ends for whoever may open it: a
                // refusal answers at once, an opened stream is still open after two seconds.
                let opened = tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    app.get_as(&session, &url),
                )
                .await;
                let denied = matches!(&opened, Ok(r) if r.status == 403 || r.status == 401);
                assert_eq!(!denied, allowed, "{} GET {path}", role.id);
                continue;
            }
            let r = match method.as_str() {
                "GET" => app.get_as(&session, &url).await,
                _ => app.post_form_as(&session, &url, "").await,
            };
            let denied = r.status == 403
                || r.status == 401
                || (r.status == 303 && r.header("location").starts_with("/sign-in?"));
            assert_eq!(
                !denied,
                allowed,
                "{} {method} {path}: {} {}",
                role.id,
                r.status,
                r.header("location")
            );
        }
    }
    // The API with each role's bearer token.
    for role in ROLES {
        for (method, path, access) in declared.iter().filter(|(_, p, _)| p.starts_with("/api/")) {
            let url = concrete(path);
            let body = if method == "GET" {
                Bytes::new()
            } else {
                Bytes::from("{}")
            };
            let r = app
                .request(
                    method,
                    &url,
                    &[
                        ("authorization", app.role_tokens.get(role.id)),
                        ("content-type", "application/json"),
                    ],
                    body,
                )
                .await;
            let allowed = expected_allowed(*access, role, true);
            assert_eq!(
                r.status != 403 && r.status != 401,
                allowed,
                "{} {method} {path}: {} {}",
                role.id,
                r.status,
                r.text()
            );
        }
    }
    // Anonymous: only public routes.
    for (method, path, access) in &declared {
        let r = app
            .request(
                method,
                &concrete(path),
                &[("authorization", "")],
                Bytes::new(),
            )
            .await;
        let refused =
            r.status == 401 || (r.status == 303 && r.header("location").starts_with("/sign-in?"));
        assert_eq!(
            !refused,
            *access == Access::Public,
            "anonymous {method} {path}: {}",
            r.status
        );
        if path.starts_with("/api/") && refused {
            assert_eq!(r.header("www-authenticate"), "Bearer realm=\"aloft\"");
            assert_eq!(r.header("content-type"), "application/problem+json");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn staff_sign_in_needs_password_and_second_factor_and_resists_guessing() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let form = |body: &str| Bytes::from(body.to_owned());
        let ct = ("content-type", "application/x-www-form-urlencoded");
        // Unknown user and wrong password look the same.
        for body in [
            "username=nobody&password=x",
            "username=contact_centre_agent&password=wrong",
        ] {
            let r = app
                .request("POST", "/sign-in", &[ct, ("authorization", "")], form(body))
                .await;
            assert_eq!(r.status, 401);
            assert!(r.text().contains("The username or password is not right."));
            assert!(r.header("set-cookie").is_empty());
        }
        // A half-signed-in session opens only the second-factor step.
        let r = app
            .request(
                "POST",
                "/sign-in",
                &[ct, ("authorization", "")],
                form("username=cabin_crew&password=aloft-demo-password"),
            )
            .await;
        assert_eq!(r.status, 303);
        let half = r.header("set-cookie").split(';').next().unwrap().to_owned();
        let home = app
            .request("GET", "/", &[("cookie", &half)], Bytes::new())
            .await;
        assert_eq!(home.status, 303, "no workspace before the second factor");
        let mfa = app
            .request("GET", "/sign-in/mfa", &[("cookie", &half)], Bytes::new())
            .await;
        let csrf = csrf_of(&mfa.text());
        // A form post without the CSRF token is refused.
        let r = app
            .request(
                "POST",
                "/sign-in/mfa",
                &[ct, ("cookie", &half)],
                form("code=000000"),
            )
            .await;
        assert_eq!(r.status, 403);
        let wrong = app
            .request(
                "POST",
                "/sign-in/mfa",
                &[ct, ("cookie", &half)],
                form(&format!("csrf={csrf}&code=000000")),
            )
            .await;
        assert_eq!(wrong.status, 401);
        // The right code completes it with a new session id; the old one is worthless.
        let code = totp_now(&aloft_access::demo::demo_secret(ids::CABIN_CREW));
        let ok = app
            .request(
                "POST",
                "/sign-in/mfa",
                &[ct, ("cookie", &half)],
                form(&format!("csrf={csrf}&code={code}&next=%2Faccount")),
            )
            .await;
        assert_eq!(ok.status, 303, "{}", ok.text());
        assert_eq!(ok.header("location"), "/account");
        let full = ok
            .header("set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        assert_ne!(full, half);
        assert_eq!(
            app.request("GET", "/account", &[("cookie", &half)], Bytes::new())
                .await
                .status,
            303
        );
        let account = app
            .request("GET", "/account", &[("cookie", &full)], Bytes::new())
            .await;
        assert_eq!(account.status, 200);
        assert!(account.text().contains("Cabin crew"));
        // The same code cannot be replayed.
        let again = app
            .request(
                "POST",
                "/sign-in",
                &[ct, ("authorization", "")],
                form("username=cabin_crew&password=aloft-demo-password"),
            )
            .await;
        let half2 = again
            .header("set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let csrf2 = csrf_of(
            &app.request("GET", "/sign-in/mfa", &[("cookie", &half2)], Bytes::new())
                .await
                .text(),
        );
        let replay = app
            .request(
                "POST",
                "/sign-in/mfa",
                &[ct, ("cookie", &half2)],
                form(&format!("csrf={csrf2}&code={code}")),
            )
            .await;
        assert_eq!(replay.status, 401, "a used code is refused");
        // Sign out ends the session.
        let session = StaffSession {
            cookie: full.clone(),
            csrf: csrf_of(&account.text()),
        };
        let out = app.post_form_as(&session, "/sign-out", "").await;
        assert_eq!(out.status, 303);
        assert!(out.header("set-cookie").contains("Max-Age=0"));
        assert_eq!(app.get_as(&session, "/account").await.status, 303);

        // Guessing locks the account progressively, with 429 and Retry-After.
        let mut last = 0;
        for _ in 0..5 {
            last = app
                .request(
                    "POST",
                    "/sign-in",
                    &[ct, ("authorization", "")],
                    form("username=loyalty_manager&password=guess"),
                )
                .await
                .status;
        }
        assert_eq!(last, 429, "the fifth failure locks");
        let locked = app
            .request(
                "POST",
                "/sign-in",
                &[ct, ("authorization", "")],
                form("username=loyalty_manager&password=aloft-demo-password"),
            )
            .await;
        assert_eq!(
            locked.status, 429,
            "even the right password waits out the lock"
        );
        assert!(locked.text().contains("locked"));
        assert!(!locked.header("retry-after").is_empty());

        // Everything above is in the audit trail.
        let all = aloft_kernel::audit::search(
            &app.test_db.db,
            &aloft_kernel::audit::AuditFilter {
                resource_id: None,
                actor_id: None,
                action: None,
                limit: 1000,
            },
        )
        .await
        .unwrap();
        let trail: Vec<String> = all.iter().map(|r| r.action.clone()).collect();
        let trail = trail.join(" ");
        for action in [
            "auth.password_failed",
            "auth.mfa_failed",
            "auth.mfa_passed",
            "auth.signed_out",
            "auth.locked",
            "auth.locked_attempt",
        ] {
            assert!(trail.contains(action), "{action} is audited");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn new_staff_enrol_a_totp_by_qr_code_and_recovery_codes_work_once() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.accounts
        .create(
            aloft_access::storage::NewAccount {
                username: "new.agent",
                display_name: "New Agent",
                role: ids::CONTACT_CENTRE_AGENT,
                station: None,
                password: "correct horse battery staple",
                totp: None,
                pending_approval: false,
            },
            &AccessContext::system("test"),
        )
        .await
        .unwrap();
    let ct = ("content-type", "application/x-www-form-urlencoded");
    let r = app
        .request(
            "POST",
            "/sign-in",
            &[ct, ("authorization", "")],
            Bytes::from("username=new.agent&password=correct+horse+battery+staple"),
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(r.header("location").starts_with("/sign-in/enrol"));
    let cookie = r.header("set-cookie").split(';').next().unwrap().to_owned();
    let page = app
        .request(
            "GET",
            "/sign-in/enrol",
            &[("cookie", &cookie)],
            Bytes::new(),
        )
        .await;
    let html = page.text();
    assert!(
        html.contains("<svg") && html.contains("QR code"),
        "a QR code is shown"
    );
    let key_at = html.find("id=\"totp-key\">").unwrap() + "id=\"totp-key\">".len();
    let key = &html[key_at..key_at + html[key_at..].find('<').unwrap()];
    let secret = aloft_security::TotpSecret::from_base32(key).unwrap();
    let csrf = csrf_of(&html);
    let done = app
        .request(
            "POST",
            "/sign-in/enrol",
            &[ct, ("cookie", &cookie)],
            Bytes::from(format!("csrf={csrf}&code={}", totp_now(&secret))),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let text = done.text();
    let codes: Vec<String> = text
        .match_indices("<li><code>")
        .map(|(i, _)| text[i + 10..i + 10 + 14].to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{text}");
    let full = done
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.request("GET", "/customers", &[("cookie", &full)], Bytes::new())
            .await
            .status,
        200
    );

    // Later: a recovery code instead of the app, once.
    for (attempt, expected) in [(1, 303), (2, 401)] {
        let r = app
            .request(
                "POST",
                "/sign-in",
                &[ct, ("authorization", "")],
                Bytes::from("username=new.agent&password=correct+horse+battery+staple"),
            )
            .await;
        assert!(
            r.header("location").starts_with("/sign-in/mfa"),
            "attempt {attempt}"
        );
        let c = r.header("set-cookie").split(';').next().unwrap().to_owned();
        let csrf = csrf_of(
            &app.request("GET", "/sign-in/mfa", &[("cookie", &c)], Bytes::new())
                .await
                .text(),
        );
        let r = app
            .request(
                "POST",
                "/sign-in/mfa",
                &[ct, ("cookie", &c)],
                Bytes::from(format!("csrf={csrf}&code={}", codes[0])),
            )
            .await;
        assert_eq!(r.status, expected, "recovery code attempt {attempt}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bearer_tokens_are_checked_and_denials_audited() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app
        .create_customer(
            json!({"first_name": "Ana", "last_name": "Silva", "passport_number": "X1234567"}),
        )
        .await;
    let path = format!("/api/v1/customers/{}", created["id"].as_str().unwrap());
    for (auth, why) in [
        ("", "missing"),
        ("Bearer not.a.token", "malformed"),
        ("Basic dXNlcjpwYXNz", "wrong scheme"),
    ] {
        let r = app
            .request("GET", &path, &[("authorization", auth)], Bytes::new())
            .await;
        assert_eq!(r.status, 401, "{why}");
        assert_eq!(r.json()["type"], "urn:aloft:problem:unauthenticated");
    }
    // A token from another installation (different keys) is forged as far as this one knows.
    let other = TestApp::spawn(Backend::Sqlite).await;
    let foreign = app
        .request(
            "GET",
            &path,
            &[(
                "authorization",
                other.role_tokens.get(ids::DATA_PRIVACY_OFFICER),
            )],
            Bytes::new(),
        )
        .await;
    assert_eq!(foreign.status, 401);
    other.stop().await;
    // The role decides; marketing may not read profiles — 403, and audited.
    let denied = app
        .request(
            "GET",
            &path,
            &[("authorization", app.role_tokens.get(ids::MARKETING_MANAGER))],
            Bytes::new(),
        )
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["type"], "urn:aloft:problem:forbidden");
    // Field masking: the contact centre sees the passport masked, the privacy officer sees it.
    let agent = app
        .request(
            "GET",
            &path,
            &[(
                "authorization",
                app.role_tokens.get(ids::CONTACT_CENTRE_AGENT),
            )],
            Bytes::new(),
        )
        .await
        .json();
    assert_eq!(agent["passport_number"], "•••••567");
    let dpo = app
        .request(
            "GET",
            &path,
            &[(
                "authorization",
                app.role_tokens.get(ids::DATA_PRIVACY_OFFICER),
            )],
            Bytes::new(),
        )
        .await
        .json();
    assert_eq!(dpo["passport_number"], "X1234567");
    // Row scope fails closed: a check-in agent's token without a station sees nobody (before,
    // it saw every customer with passports unmasked).
    let checkin = app
        .request(
            "GET",
            &path,
            &[("authorization", app.role_tokens.get(ids::CHECKIN_AGENT))],
            Bytes::new(),
        )
        .await;
    assert_eq!(checkin.status, 404, "{}", checkin.text());
    let mut found = false;
    for _ in 0..40 {
        let records = aloft_kernel::audit::search(
            &app.test_db.db,
            &aloft_kernel::audit::AuditFilter {
                resource_id: None,
                actor_id: None,
                action: Some("access.denied".into()),
                limit: 100,
            },
        )
        .await
        .unwrap();
        if records
            .iter()
            .any(|r| r.actor_role == "marketing_manager" && r.outcome == "denied")
        {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "the permission denial is audited");
    // A declared purpose travels into the audit record of the read.
    let with_purpose = app
        .request(
            "GET",
            &path,
            &[
                (
                    "authorization",
                    app.role_tokens.get(ids::CONTACT_CENTRE_AGENT),
                ),
                ("x-access-purpose", "rebooking after a cancellation"),
            ],
            Bytes::new(),
        )
        .await;
    assert_eq!(with_purpose.status, 200);
    let mut purpose_seen = false;
    for _ in 0..40 {
        let records = aloft_kernel::audit::search(
            &app.test_db.db,
            &aloft_kernel::audit::AuditFilter {
                resource_id: Some(created["id"].as_str().unwrap().to_owned()),
                actor_id: None,
                action: Some("customer.read".into()),
                limit: 100,
            },
        )
        .await
        .unwrap();
        if records.iter().any(|r| {
            r.purpose.as_deref() == Some("rebooking after a cancellation")
                && r.actor_role == "contact_centre_agent"
                && r.actor_id == "token:contact_centre_agent"
        }) {
            purpose_seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        purpose_seen,
        "who, which role and why are in the audit record"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_lost_key_file_stops_start_up_instead_of_making_new_keys() {
    let t = TestDatabase::new(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("aloft-keys-{}", uuid::Uuid::new_v4().simple()));
    let key_file = dir.join("aloft.keys");
    let config = || AppConfig {
        database: t.settings.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        nats: None,
        shutdown_grace: Duration::from_secs(1),
        tls: None,
        keys: KeySource::File(key_file.clone()),
        demo_accounts: false,
        external_issuers: vec![],
        sso: None,
        sources: None,
        trusted_proxies: Default::default(),
        mail: None,
        metrics_bind: None,
    };
    let first = Application::build(config())
        .await
        .expect("first start creates the key file");
    drop(first);
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert!(text.contains("master = ") && text.contains("index = "));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key file is private");
    }
    Application::build(config())
        .await
        .expect("a restart with the same keys works");
    std::fs::remove_file(&key_file).unwrap();
    let err = Application::build(config())
        .await
        .err()
        .expect("refused without the key file");
    let message = format!("{err:#}");
    assert!(
        message.contains("does not exist") && message.contains("will not create new keys"),
        "{message}"
    );
    assert!(!key_file.exists(), "no new key file was written");
    // Different keys are refused too.
    std::fs::write(
        &key_file,
        text.replace("index = ", "index = A")
            .replace("master = ", "master = B"),
    )
    .unwrap();
    assert!(Application::build(config()).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn integration_clients_get_scoped_tokens_and_can_be_revoked() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let admin = app.sign_in_as(ids::ADMINISTRATOR).await;
        let page = app
            .post_form_as(
                &admin,
                "/access/clients",
                "name=GDS+feed&role=contact_centre_agent&scope=customer.read&days=30",
            )
            .await;
        assert_eq!(page.status, 201, "{}", page.text());
        let html = page.text();
        let grab = |id: &str| {
            let marker = format!("id=\"{id}\">");
            let at = html.find(&marker).unwrap() + marker.len();
            html[at..at + html[at..].find('<').unwrap()].to_owned()
        };
        let (client_id, secret) = (grab("client-id"), grab("client-secret"));
        // The administrator does not hold customer.read: a second person approves the client.
        assert_eq!(app.approve_pending_grants().await, 1);
        // A scope the role lacks is refused.
        let wider = app
            .post_form_as(
                &admin,
                "/access/clients",
                "name=X&role=contact_centre_agent&scope=audit.read&days=30",
            )
            .await;
        assert_eq!(wider.status, 422);

        let form = |body: String| Bytes::from(body);
        let ct = ("content-type", "application/x-www-form-urlencoded");
        let wrong = app
            .request(
                "POST",
                "/api/v1/oauth/token",
                &[ct, ("authorization", "")],
                form(format!(
                    "grant_type=client_credentials&client_id={client_id}&client_secret=nope"
                )),
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert_eq!(wrong.json()["error"], "invalid_client");
        let got = app
            .request(
                "POST",
                "/api/v1/oauth/token",
                &[ct, ("authorization", "")],
                form(format!(
                    "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
                )),
            )
            .await;
        assert_eq!(got.status, 200, "{}", got.text());
        let body = got.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "customer.read");
        let bearer = format!("Bearer {}", body["access_token"].as_str().unwrap());
        let list = app
            .request(
                "GET",
                "/api/v1/customers?name=a",
                &[("authorization", &bearer)],
                Bytes::new(),
            )
            .await;
        assert_eq!(list.status, 200, "the scope allows reading");
        let create = app
            .request(
                "POST",
                "/api/v1/customers",
                &[
                    ("authorization", &bearer),
                    ("content-type", "application/json"),
                ],
                Bytes::from(r#"{"first_name":"A","last_name":"B"}"#),
            )
            .await;
        assert_eq!(create.status, 403, "the scope narrows the role: no writes");

        // Revoked: no new tokens.
        let revoke = app
            .post_form_as(&admin, &format!("/access/clients/{client_id}/revoke"), "")
            .await;
        assert_eq!(revoke.status, 303);
        let after = app
            .request(
                "POST",
                "/api/v1/oauth/token",
                &[ct, ("authorization", "")],
                form(format!(
                    "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
                )),
            )
            .await;
        assert_eq!(after.status, 401);
        assert!(
            app.get_as(&admin, "/access/clients")
                .await
                .text()
                .contains("revoked")
        );
        app.stop().await;
    })
    .await;
}

/// Sensitive values written through the API must not appear in plaintext anywhere the database
/// keeps data: the SQLite file and its write-ahead log, or a PostgreSQL dump (which covers the
/// outbox and audit tables too).
#[tokio::test]
async fn sensitive_fields_are_encrypted_at_rest_on_both_backends() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let canaries = [
            "canary.zq7@example.com",
            "+441632960777",
            "ZQ7CANARY",
            "1911-11-11",
            "Canarywharf Lane",
            // Travel records: call notes, feedback, a chauffeur address, a payment token.
            "Zqnotes",
            "Zqsubject",
            "Zqfeedback",
            "Zqpickup",
            "tok_zqcanary",
        ];
        let created = app
            .create_customer(json!({
                "first_name": "Ana", "last_name": "Silva",
                "email": "Canary.ZQ7@example.com", "phone": "+44 1632 960777",
                "passport_number": "ZQ7CANARY", "date_of_birth": "1911-11-11",
                "address": {"line1": "7 Canarywharf Lane", "city": "London", "country": "GB"}
            }))
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        // Updates re-encrypt; exact search still works through the blind indexes.
        let patched = app
            .patch_json(
                &format!("/api/v1/customers/{id}"),
                &json!({"phone": "+441632960777"}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(patched.status, 200);
        for query in [
            "email=canary.zq7%40example.com",
            "phone=%2B441632960777",
            "passport_number=ZQ7CANARY",
        ] {
            let found = app.get(&format!("/api/v1/customers?{query}")).await.json();
            assert_eq!(found["items"].as_array().unwrap().len(), 1, "{query}");
            assert_eq!(
                found["items"][0]["date_of_birth"], "1911-11-11",
                "read back decrypted"
            );
        }
        // What people wrote and how they paid, through the ingest API (the same pipeline as
        // imports and the broker), linked to this customer by loyalty number.
        let linked = app
            .patch_json(
                &format!("/api/v1/customers/{id}"),
                &json!({"loyalty_number": "ZQ7001"}),
                Some(patched.header("etag")),
            )
            .await;
        assert_eq!(linked.status, 200, "{}", linked.text());
        let event = |n: u32, kind: &str, data: Value| {
            json!({"specversion": "1.0", "id": format!("canary-{n}"), "source": "/canary",
                "type": format!("com.airline.{kind}"), "loyaltynumber": "ZQ7001",
                "passengername": "SILVA/ANA", "data": data})
        };
        let batch = json!([
            event(1, "voice.call", json!({"source": "genesys", "source_record_id": "zq-1", "channel": "call",
                "direction": "inbound", "occurred_at": "2026-03-01T10:00:00Z",
                "subject": "Zqsubject refund", "body": "Zqnotes: card 4111 1111 1111 1111"})),
            event(2, "feedback", json!({"source": "survey", "source_record_id": "zq-2", "kind": "complaint",
                "submitted_at": "2026-03-02T10:00:00Z", "text": "Zqfeedback was late"})),
            event(3, "chauffeur.ride", json!({"source": "limo", "source_record_id": "zq-3",
                "pickup_at": "2026-03-03T10:00:00Z", "pickup": "Zqpickup Road 1", "dropoff": "LHR T5",
                "status": "completed"})),
            event(4, "inflight.purchase", json!({"source": "skyshop", "source_record_id": "zq-4", "channel": "web",
                "purchased_at": "2026-03-04T10:00:00Z",
                "items": [{"sku": "S", "description": "Crisps", "quantity": 1, "unit_price": {"amount": "3.25", "currency": "EUR"}}],
                "total": {"amount": "3.25", "currency": "EUR"},
                "payment": {"method": "card", "token": "tok_zqcanary", "card": "4111111111111111"}})),
        ]);
        let sent = app
            .request(
                "POST",
                "/api/v1/ingest/events",
                &[
                    ("authorization", app.role_tokens.get(ids::CMP_MANAGER)),
                    ("content-type", "application/cloudevents-batch+json"),
                ],
                Bytes::from(batch.to_string()),
            )
            .await;
        assert_eq!(sent.status, 200, "{}", sent.text());
        assert_eq!(sent.json()["recorded"], 4, "{}", sent.text());
        // Readable through the product: the timeline shows the subject.
        let timeline = app
            .get(&format!("/api/v1/customers/{id}/timeline"))
            .await
            .text();
        assert!(timeline.contains("Zqsubject refund"), "{timeline}");
        let mut stored = Vec::new();
        match backend {
            Backend::Sqlite => {
                let path = app
                    .test_db
                    .settings
                    .url
                    .trim_start_matches("sqlite://")
                    .to_owned();
                for suffix in ["", "-wal", "-shm"] {
                    if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                        stored.extend_from_slice(&bytes);
                    }
                }
                assert!(stored.len() > 10_000, "the database files were read");
            }
            Backend::Postgres => {
                let out = std::process::Command::new("pg_dump")
                    .arg("--data-only")
                    .arg(&app.test_db.settings.url)
                    .output()
                    .expect("pg_dump runs");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                stored = out.stdout;
                assert!(
                    String::from_utf8_lossy(&stored).contains(&id),
                    "the dump holds the customer"
                );
            }
        }
        let text = String::from_utf8_lossy(&stored).to_lowercase();
        for canary in canaries {
            assert!(
                !text.contains(&canary.to_lowercase()),
                "{canary} is stored in plaintext ({backend:?})"
            );
        }
        assert!(text.contains("silva"), "names stay searchable in the clear");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn passengers_register_sign_in_and_see_and_change_only_their_own_profile() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let mine = app
            .create_customer(json!({"first_name": "Ana", "last_name": "Silva", "email": "ana.silva@example.com",
                "loyalty_number": "AL55501", "loyalty_tier": "silver", "passport_number": "P7654321"}))
            .await;
        let other = app.create_customer(json!({"first_name": "Bo", "last_name": "Li", "email": "bo@example.com"})).await;
        let anon = |method: &'static str, path: &'static str, body: Value| {
            let app = &app;
            async move {
                app.request(method, path, &[("authorization", ""), ("content-type", "application/json")], Bytes::from(body.to_string()))
                    .await
            }
        };
        let weak = anon("POST", "/api/v1/passenger/register", json!({"loyalty_number": "AL55501", "email": "ana.silva@example.com", "password": "short"})).await;
        assert_eq!(weak.status, 422);
        let wrong = anon("POST", "/api/v1/passenger/register", json!({"loyalty_number": "AL55501", "email": "bo@example.com", "password": "a long and unusual passphrase"})).await;
        let ok = anon("POST", "/api/v1/passenger/register", json!({"loyalty_number": "al 555 01", "email": "Ana.Silva@Example.com", "password": "a long and unusual passphrase"})).await;
        assert_eq!(ok.status, 202, "{}", ok.text());
        // Sign-up tells an outsider nothing: a mismatch, a match and a second sign-up of a
        // verified account get the same answer (only a matching one mails a code).
        assert_eq!(wrong.status, 202, "{}", wrong.text());
        assert_eq!(wrong.text(), ok.text(), "no difference between a match and a mismatch");

        let bad = anon("POST", "/api/v1/passenger/token", json!({"email": "ana.silva@example.com", "password": "nope"})).await;
        assert_eq!(bad.status, 401);
        // Knowing a loyalty number and an e-mail address is not enough: the account works only
        // once the code sent to the profile's address comes back (before, it worked at once and
        // read the full passport).
        let unproven = anon("POST", "/api/v1/passenger/token", json!({"email": "ana.silva@example.com", "password": "a long and unusual passphrase"})).await;
        assert_eq!(unproven.status, 403, "{}", unproven.text());
        assert_eq!(unproven.json()["type"], "urn:aloft:problem:email-not-verified");
        assert_eq!(ok.json()["verification"], "email_sent_if_the_details_match");
        let mail: Vec<(String, String)> = sqlx::query_as(
            "SELECT to_address, text_body FROM mail_messages WHERE template = 'passenger.verify_email'",
        )
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap();
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].0.to_lowercase(), "ana.silva@example.com");
        let code: String = mail[0].1.chars().filter(char::is_ascii_digit).take(8).collect();
        assert_eq!(code.len(), 8, "{}", mail[0].1);
        let wrong_code = if code == "00000000" { "11111111" } else { "00000000" };
        let guessed = anon("POST", "/api/v1/passenger/verify", json!({"email": "ana.silva@example.com", "code": wrong_code})).await;
        assert_eq!(guessed.status, 422);
        assert_eq!(guessed.json()["errors"][0]["pointer"], "/code");
        let resend_unknown = anon("POST", "/api/v1/passenger/verify/resend", json!({"email": "nobody@example.com"})).await;
        assert_eq!(resend_unknown.status, 202, "the same answer whether or not the account exists");
        let proven = anon("POST", "/api/v1/passenger/verify", json!({"email": "ana.silva@example.com", "code": code})).await;
        assert_eq!(proven.status, 204, "{}", proven.text());
        let signed_in = anon("POST", "/api/v1/passenger/token", json!({"email": "ana.silva@example.com", "password": "a long and unusual passphrase"})).await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.text());
        let bearer = format!("Bearer {}", signed_in.json()["access_token"].as_str().unwrap());
        let as_me = |method: &'static str, path: String, body: Value| {
            let (app, bearer) = (&app, bearer.clone());
            async move {
                app.request(method, &path, &[("authorization", &bearer), ("content-type", "application/merge-patch+json")], Bytes::from(body.to_string()))
                    .await
            }
        };
        let me = as_me("GET", "/api/v1/me".into(), json!(null)).await;
        assert_eq!(me.status, 200, "{}", me.text());
        assert_eq!(me.json()["id"], mine["id"]);
        let patch_me = |body: Value, etag: String| {
            let (app, bearer) = (&app, bearer.clone());
            async move {
                app.request("PATCH", "/api/v1/me", &[("authorization", &bearer), ("content-type", "application/merge-patch+json"), ("if-match", &etag)], Bytes::from(body.to_string()))
                    .await
            }
        };
        let changed = patch_me(json!({"preferences": {"seat": "window"}, "phone": "+351 21 000 0000"}), me.header("etag").to_owned()).await;
        assert_eq!(changed.status, 200, "{}", changed.text());
        assert_eq!(changed.json()["preferences"]["seat"], "window");
        let upgrade = patch_me(json!({"loyalty_tier": "platinum", "passport_number": "X0000000"}), changed.header("etag").to_owned()).await;
        assert_eq!(upgrade.status, 422);
        let pointers: Vec<String> = upgrade.json()["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap().to_owned()).collect();
        assert_eq!(pointers, vec!["/loyalty_tier", "/passport_number"]);
        // Nobody else's data, and no staff routes.
        let theirs = as_me("GET", format!("/api/v1/customers/{}", other["id"].as_str().unwrap()), json!(null)).await;
        assert_eq!(theirs.status, 403);
        assert_eq!(as_me("GET", "/api/v1/customers?name=li".into(), json!(null)).await.status, 403);
        // Staff tokens have no "me".
        let staff = app.request("GET", "/api/v1/me", &[("authorization", app.role_tokens.get(ids::CONTACT_CENTRE_AGENT))], Bytes::new()).await;
        assert_eq!(staff.status, 403);
        // Guessing locks the passenger account too.
        let mut last = 0;
        for _ in 0..5 {
            last = anon("POST", "/api/v1/passenger/token", json!({"email": "ana.silva@example.com", "password": "guess"})).await.status;
        }
        assert_eq!(last, 401);
        let locked = anon("POST", "/api/v1/passenger/token", json!({"email": "ana.silva@example.com", "password": "a long and unusual passphrase"})).await;
        assert_eq!(locked.status, 429, "{}", locked.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn administrators_manage_staff_accounts() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.sign_in_as(ids::ADMINISTRATOR).await;
    let bad = app
        .post_form_as(&admin, "/access/accounts", "display_name=Kim+Lee&username=kim.lee&role=checkin_agent&station=&password=a+long+enough+passphrase")
        .await;
    assert_eq!(bad.status, 422, "check-in agents need a station");
    let made = app
        .post_form_as(&admin, "/access/accounts", "display_name=Kim+Lee&username=kim.lee&role=checkin_agent&station=lhr&password=a+long+enough+passphrase")
        .await;
    assert_eq!(made.status, 201, "{}", made.text());
    let again = app
        .post_form_as(&admin, "/access/accounts", "display_name=Kim+Two&username=kim.lee&role=checkin_agent&station=LHR&password=a+long+enough+passphrase")
        .await;
    assert_eq!(again.status, 422, "usernames are unique");
    let account = app.accounts.by_username("kim.lee").await.unwrap().unwrap();
    assert_eq!(account.station.as_deref(), Some("LHR"));
    assert!(
        account.disabled,
        "disabled until a second person approves the role"
    );
    assert_eq!(app.approve_pending_grants().await, 1);
    let sign_in = || async {
        app.request(
            "POST",
            "/sign-in",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", ""),
            ],
            Bytes::from("username=kim.lee&password=a+long+enough+passphrase"),
        )
        .await
    };
    let first = sign_in().await;
    assert!(
        first.header("location").starts_with("/sign-in/enrol"),
        "a new account enrols MFA first"
    );
    let cookie = first
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // Disabling ends the session and refuses sign-in; enabling restores it.
    let id = account.id;
    assert_eq!(
        app.post_form_as(&admin, &format!("/access/accounts/{id}/disable"), "")
            .await
            .status,
        303
    );
    assert_eq!(
        app.request(
            "GET",
            "/sign-in/enrol",
            &[("cookie", &cookie)],
            Bytes::new()
        )
        .await
        .status,
        303
    );
    assert_eq!(sign_in().await.status, 401);
    assert_eq!(
        app.post_form_as(&admin, &format!("/access/accounts/{id}/enable"), "")
            .await
            .status,
        303
    );
    assert_eq!(
        app.post_form_as(&admin, &format!("/access/accounts/{id}/unlock"), "")
            .await
            .status,
        303
    );
    assert_eq!(sign_in().await.status, 303);
    // Other roles cannot manage accounts; nobody changes their own account here.
    let dpo = app.sign_in_as(ids::DATA_PRIVACY_OFFICER).await;
    assert_eq!(
        app.post_form_as(&dpo, &format!("/access/accounts/{id}/disable"), "")
            .await
            .status,
        403
    );
    let own = app
        .accounts
        .by_username("administrator")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.post_form_as(&admin, &format!("/access/accounts/{}/disable", own.id), "")
            .await
            .status,
        422
    );
    let page = app.get_as(&admin, "/access/accounts").await.text();
    assert!(page.contains("kim.lee") && page.contains("Check-in agent"));
    app.stop().await;
}
