//! The passenger portal (`/my`) end to end over real HTTP on both backends: sign-up with the
//! mailed code, sign-in with and without a second factor, profile and preferences, trips,
//! sign-out — and the same portal attacked as an outsider: other passengers' data, staff pages
//! and APIs, a staff session acting as a passenger, open redirects, account enumeration through
//! sign-up, forms without their token, guessing.

mod common;

use bytes::Bytes;
use common::portal::{Browser, PASSWORD, codes_sent, enc, sign_up_and_verify};
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

async fn customers(app: &TestApp) -> (Value, Value) {
    let ana = app
        .create_customer(
            json!({"first_name": "Ana", "last_name": "Silva", "email": "ana.silva@example.com",
            "loyalty_number": "AL55501", "loyalty_tier": "gold", "passport_number": "P7654321",
            "preferences": {"seat": "aisle"}}),
        )
        .await;
    let bo = app
        .create_customer(
            json!({"first_name": "Bo", "last_name": "Li", "email": "bo.li@example.com",
            "loyalty_number": "AL55502", "phone": "+44 20 7946 0001"}),
        )
        .await;
    (ana, bo)
}

fn totp_key(html: &str) -> aloft_security::TotpSecret {
    let marker = "class=\"totp-key\">";
    let start = html.find(marker).expect("the key is shown") + marker.len();
    let key = &html[start..start + html[start..].find('<').unwrap()];
    aloft_security::TotpSecret::from_base32(key).unwrap()
}

#[tokio::test]
async fn a_passenger_signs_up_signs_in_and_keeps_their_own_preferences() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let (ana, _) = customers(&app).await;

        // Sign-up, then the mailed code in the same browser: signed in, under a new session id.
        let mut b = Browser::default();
        let r = b
            .submit(&app, "/my/sign-up", "/my/sign-up", &[("loyalty_number", "al 555 01"), ("email", "Ana.Silva@example.com"), ("password", PASSWORD)])
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let set = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).find(|c| c.starts_with("aloft_passenger=")).expect("a sign-up session");
        for attribute in ["Path=/my", "HttpOnly", "SameSite=Strict"] {
            assert!(set.contains(attribute), "{set}");
        }
        let signing_up = b.passenger_cookie().cloned().unwrap();
        assert_eq!(b.get(&app, "/my").await.status, 303, "a sign-up session is not signed in");
        let code = codes_sent(&app).await.pop().unwrap();
        let wrong = if code == "00000000" { "11111111" } else { "00000000" };
        let r = b.submit(&app, "/my/verify", "/my/verify", &[("email", "ana.silva@example.com"), ("code", wrong)]).await;
        assert_eq!(r.status, 422);
        let r = b.submit(&app, "/my/verify", "/my/verify", &[("email", "ana.silva@example.com"), ("code", &code)]).await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(r.header("location"), "/my");
        assert_ne!(b.passenger_cookie(), Some(&signing_up), "the session id changes at sign-in");

        let home = b.get(&app, "/my").await;
        assert_eq!(home.status, 200, "{}", home.text());
        let html = home.text();
        for expected in ["Hello, Ana", "Gold member", "Your details", "href=\"/my/trips\"", "href=\"/my/profile\"", "href=\"/my/security\"", "action=\"/my/sign-out\""] {
            assert!(html.contains(expected), "home lacks {expected}");
        }
        for staff in ["nav class=\"rail\"", "href=\"/customers", "global-search", "href=\"/ui\"", "href=\"/account\""] {
            assert!(!html.contains(staff), "the portal shows staff navigation: {staff}");
        }

        // Preferences through the customers store, with optimistic concurrency.
        let form = b.get(&app, "/my/profile").await;
        assert_eq!(form.status, 200);
        let csrf = common::csrf_of(&form.text());
        let saved = b
            .post(&app, "/my/profile", &format!("csrf={csrf}&version=1&email=ana.silva%40example.com&phone=%2B351210000000&preferences.seat=window&preferences.meal=VGML&preferences.drink=Sparkling+water&preferences.language=pt&preferences.communication_channel=sms"))
            .await;
        assert_eq!(saved.status, 303, "{}", saved.text());
        let stored = app.get(&format!("/api/v1/customers/{}", ana["id"].as_str().unwrap())).await.json();
        assert_eq!(stored["preferences"]["seat"], "window");
        assert_eq!(stored["preferences"]["meal"], "VGML");
        assert_eq!(stored["preferences"]["communication_channel"], "sms");
        assert_eq!(stored["passport_number"], "P7654321", "fields outside the form are untouched");
        let stale = b
            .post(&app, "/my/profile", &format!("csrf={csrf}&version=1&email=ana.silva%40example.com&preferences.seat=aisle"))
            .await;
        assert_eq!(stale.status, 409, "a form of an older version does not overwrite");
        let invalid = b.post(&app, "/my/profile", &format!("csrf={csrf}&version=2&email=not-an-email")).await;
        assert_eq!(invalid.status, 422);
        assert!(invalid.text().contains("error-summary"));
        let partial = b.post(&app, "/my/profile", &format!("csrf={csrf}&version=2&address.line1=Rua+Augusta+1&address.city=&address.country=")).await;
        assert_eq!(partial.status, 422, "an address needs its city and country");
        assert!(partial.text().contains("f-address-city-error") || partial.text().contains("f-address-country-error"), "{}", partial.text());
        let moved = b.post(&app, "/my/profile", &format!("csrf={csrf}&version=2&address.line1=Rua+Augusta+1&address.line2=&address.city=Lisboa&address.region=&address.postal_code=1100-048&address.country=PT")).await;
        assert_eq!(moved.status, 303, "{}", moved.text());
        let stored = app.get(&format!("/api/v1/customers/{}", ana["id"].as_str().unwrap())).await.json();
        assert_eq!(stored["address"]["city"], "Lisboa");
        assert_eq!(stored["preferences"]["seat"], "window", "preferences the form did not send stay");
        assert_eq!(b.get(&app, "/my/trips").await.status, 200);

        // Reads are audited as the passenger's own.
        let reads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'customer.read_own' AND resource_id = $1")
            .bind(ana["id"].as_str().unwrap())
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
        assert!(reads >= 2, "{reads}");

        // A second factor, with recovery codes.
        let security = b.get(&app, "/my/security").await;
        assert_eq!(security.status, 200);
        let secret = totp_key(&security.text());
        let csrf = common::csrf_of(&security.text());
        let on = b.post(&app, "/my/security/enable", &format!("csrf={csrf}&code={}", common::totp_now(&secret))).await;
        assert_eq!(on.status, 200, "{}", on.text());
        let html = on.text();
        let start = html.find("recovery-codes").unwrap();
        let recovery: String = html[start..].split("<code>").nth(1).unwrap().split('<').next().unwrap().to_owned();

        // Sign out: the session ends on the server.
        let before = b.clone();
        let csrf = common::csrf_of(&b.get(&app, "/my").await.text());
        let out = b.post(&app, "/my/sign-out", &format!("csrf={csrf}")).await;
        assert_eq!(out.status, 303);
        assert!(b.passenger_cookie().is_none());
        let mut replay = before.clone();
        assert_eq!(replay.get(&app, "/my").await.status, 303, "the old cookie is worthless");

        // Sign in again: now the second step is due.
        let r = b.submit(&app, "/my/sign-in?next=%2Fmy%2Ftrips", "/my/sign-in", &[("email", "ana.silva@example.com"), ("password", PASSWORD), ("next", "/my/trips")]).await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(r.header("location").starts_with("/my/sign-in/code"), "{}", r.header("location"));
        assert_eq!(b.get(&app, "/my").await.status, 303, "not signed in before the second step");
        let r = b.submit(&app, "/my/sign-in/code", "/my/sign-in/code", &[("code", "000000"), ("next", "/my/trips")]).await;
        assert_eq!(r.status, 401);
        let r = b.submit(&app, "/my/sign-in/code", "/my/sign-in/code", &[("code", &recovery), ("next", "/my/trips")]).await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(r.header("location"), "/my/trips");
        assert_eq!(b.get(&app, "/my/trips").await.status, 200);
        // The used recovery code is gone; the API asks for the second factor too.
        let api = app.request("POST", "/api/v1/passenger/token", &[("authorization", ""), ("content-type", "application/json")],
            Bytes::from(json!({"email": "ana.silva@example.com", "password": PASSWORD}).to_string())).await;
        assert_eq!(api.status, 401);
        assert_eq!(api.json()["type"], "urn:aloft:problem:second-factor-required");
        let api = app.request("POST", "/api/v1/passenger/token", &[("authorization", ""), ("content-type", "application/json")],
            Bytes::from(json!({"email": "ana.silva@example.com", "password": PASSWORD, "code": recovery}).to_string())).await;
        assert_eq!(api.status, 401, "a recovery code works once");

        let actions: Vec<String> = sqlx::query_scalar("SELECT DISTINCT action FROM audit_log WHERE action LIKE 'passenger.%'")
            .fetch_all(app.test_db.db.pool())
            .await
            .unwrap();
        for a in ["passenger.registered", "passenger.email_verified", "passenger.signed_in", "passenger.mfa_enrolled",
                  "passenger.signed_out", "passenger.password_accepted", "passenger.mfa_failed", "passenger.recovery_code_used"] {
            assert!(actions.iter().any(|x| x == a), "{a} not audited: {actions:?}");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_portal_holds_against_an_outsider() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let (ana, bo) = customers(&app).await;
        let bo_id = bo["id"].as_str().unwrap();
        let mut ana_b = sign_up_and_verify(&app, "AL55501", "ana.silva@example.com").await;

        // Changing ids reaches nobody else: no portal page takes one, and staff pages and APIs
        // are closed to a passenger session whatever cookie it sends where.
        let cookie = format!("aloft_passenger={}", ana_b.passenger_cookie().unwrap());
        for path in [format!("/customers/{bo_id}"), format!("/customers/{bo_id}/timeline"), "/customers".into(), "/".into(), "/access/roles".into(), "/audit".into(), "/mail/catcher".into()] {
            let r = app.request("GET", &path, &[("authorization", ""), ("cookie", &cookie)], Bytes::new()).await;
            assert!(r.status == 303 && r.header("location").starts_with("/sign-in"), "{path}: {} {}", r.status, r.header("location"));
        }
        for path in [format!("/api/v1/customers/{bo_id}"), "/api/v1/customers?name=li".into(), "/api/v1/me".into()] {
            let r = app.request("GET", &path, &[("authorization", ""), ("cookie", &cookie)], Bytes::new()).await;
            assert_eq!(r.status, 401, "{path}");
        }
        let profile = ana_b.get(&app, &format!("/my/profile?id={bo_id}&customer_id={bo_id}")).await;
        assert_eq!(profile.status, 200);
        assert!(profile.text().contains("ana.silva@example.com") && !profile.text().contains("bo.li@example.com"));
        let csrf = common::csrf_of(&profile.text());
        let r = ana_b.post(&app, "/my/profile", &format!("csrf={csrf}&version=1&id={bo_id}&customer_id={bo_id}&email=ana.silva%40example.com&phone=%2B351210000009")).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let bo_now = app.get(&format!("/api/v1/customers/{bo_id}")).await.json();
        assert_eq!(bo_now["version"], 1, "the other passenger is untouched");
        assert_eq!(bo_now["phone"], "+442079460001");
        let ana_now = app.get(&format!("/api/v1/customers/{}", ana["id"].as_str().unwrap())).await.json();
        assert_eq!(ana_now["phone"], "+351210000009");
        assert_eq!(ana_now["preferences"]["seat"], "aisle", "fields the form did not send stay");

        // A staff session is no passenger, and the portal refuses it.
        let staff = app.sign_in_as("contact_centre_agent").await;
        for path in ["/my", "/my/profile", "/my/trips", "/my/security"] {
            assert_eq!(app.get_as(&staff, path).await.status, 403, "{path}");
        }
        assert_eq!(app.post_form_as(&staff, "/my/profile", "version=1&preferences.seat=window").await.status, 403);
        let bearer = app.request("GET", "/my", &[("authorization", app.role_tokens.get("data_privacy_officer"))], Bytes::new()).await;
        assert_eq!(bearer.status, 403, "staff tokens neither");
        // With both cookies, the portal sees the passenger and staff pages see the staff member.
        let both = format!("{}; {cookie}", staff.cookie);
        let r = app.request("GET", "/my", &[("authorization", ""), ("cookie", &both)], Bytes::new()).await;
        assert!(r.status == 200 && r.text().contains("Hello, Ana"));
        let r = app.request("GET", "/customers", &[("authorization", ""), ("cookie", &both)], Bytes::new()).await;
        assert_eq!(r.status, 200);

        // No open redirect through next=, and no staff page as a destination.
        for (i, next) in ["https://evil.example/", "//evil.example/my", "/\\evil.example", "/customers", "/my/../customers", "javascript:alert(1)"].into_iter().enumerate() {
            let mut b = Browser::default();
            let email = format!("nobody{i}@example.com");
            let r = b.submit(&app, "/my/sign-in", "/my/sign-in", &[("email", &email), ("password", "wrong password!"), ("next", next)]).await;
            assert_eq!(r.status, 401);
            assert!(r.text().contains("name=\"next\" value=\"/my\""), "{next}");
        }
        let mut b = Browser::default();
        let r = b.submit(&app, "/my/sign-in", "/my/sign-in", &[("email", "ana.silva@example.com"), ("password", PASSWORD), ("next", "//evil.example")]).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), "/my");
        let r = app.request("GET", "/my/trips", &[("authorization", "")], Bytes::new()).await;
        assert_eq!(r.status, 303);
        let r = app.request("GET", r.header("location"), &[("authorization", "")], Bytes::new()).await;
        assert_eq!(r.status, 303, "the staff sign-in sends passengers to theirs");
        assert_eq!(r.header("location"), "/my/sign-in?next=%2Fmy%2Ftrips");

        // Sign-up tells nobody who is a customer or who has an account: the same answer for a
        // new match, an unknown loyalty number, a known number with another e-mail, and an
        // account that exists.
        let mut answers = Vec::new();
        for (loyalty, email) in [("AL55502", "bo.li@example.com"), ("AL99999", "nobody@example.com"), ("AL55502", "ana.silva@example.com"), ("AL55501", "ana.silva@example.com")] {
            let mut b = Browser::default();
            let r = b.submit(&app, "/my/sign-up", "/my/sign-up", &[("loyalty_number", loyalty), ("email", email), ("password", PASSWORD)]).await;
            let cookies: Vec<String> = r.headers.get_all("set-cookie").iter().map(|v| {
                let v = v.to_str().unwrap();
                let (name, rest) = v.split_once('=').unwrap();
                format!("{name}={}", rest.split_once(';').map(|(value, attrs)| format!("<{}>;{attrs}", value.len())).unwrap_or_default())
            }).collect();
            answers.push((r.status, r.header("location").to_owned(), cookies, r.text()));
        }
        assert_eq!(answers[0].0, 303);
        for a in &answers[1..] {
            assert_eq!(a, &answers[0], "sign-up answers differ");
        }
        assert_eq!(codes_sent(&app).await.len(), 2, "codes went only to Ana's first and Bo's sign-up");

        // Forms need their token; posts from elsewhere are refused.
        let mut fresh = Browser::default();
        let r = fresh.post(&app, "/my/sign-in", &format!("email=ana.silva%40example.com&password={}", enc(PASSWORD))).await;
        assert_eq!(r.status, 403, "a sign-in form without its token");
        let form = fresh.get(&app, "/my/sign-in").await;
        let token = common::csrf_of(&form.text());
        let cookie = fresh.header();
        let r = app.request("POST", "/my/sign-in", &[("authorization", ""), ("cookie", &cookie), ("origin", "https://evil.example"),
            ("content-type", "application/x-www-form-urlencoded")],
            Bytes::from(format!("csrf={token}&email=ana.silva%40example.com&password={}", enc(PASSWORD)))).await;
        assert_eq!(r.status, 403, "a cross-site post (login CSRF)");
        let r = ana_b.post(&app, "/my/profile", "version=2&preferences.seat=middle").await;
        assert_eq!(r.status, 403, "a signed-in form without the session's token");

        // The API's back-off: guessing locks out the guesser's address for this e-mail, with
        // the same answer as for an address that has no account.
        let mut guesser = Browser::default();
        let mut last = 0;
        for _ in 0..5 {
            last = guesser.submit(&app, "/my/sign-in", "/my/sign-in", &[("email", "ana.silva@example.com"), ("password", "not the password")]).await.status;
        }
        assert_eq!(last, 401);
        let locked = guesser.submit(&app, "/my/sign-in", "/my/sign-in", &[("email", "ana.silva@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(locked.status, 429, "{}", locked.text());
        app.stop().await;
    })
    .await;
}
