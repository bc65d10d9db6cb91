//! A passenger's browser for the portal's tests (`/my`): a cookie jar over the test app, forms
//! posted with their token, and sign-up with the mailed code.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{Reply, TestApp};

pub const PASSWORD: &str = "a long and unusual passphrase";

/// A browser: a cookie jar (names only; paths are the server's business) over the test app.
#[derive(Default, Clone)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn keep(&mut self, r: &Reply) {
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, app: &TestApp, path: &str) -> Reply {
        let cookie = self.header();
        let r = app
            .request(
                "GET",
                path,
                &[("authorization", ""), ("cookie", &cookie)],
                Bytes::new(),
            )
            .await;
        self.keep(&r);
        r
    }

    pub async fn post(&mut self, app: &TestApp, path: &str, body: &str) -> Reply {
        let cookie = self.header();
        let r = app
            .request(
                "POST",
                path,
                &[
                    ("authorization", ""),
                    ("cookie", &cookie),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                Bytes::from(body.to_owned()),
            )
            .await;
        self.keep(&r);
        r
    }

    /// Opens the form at `page`, then posts `fields` with the form's token.
    pub async fn submit(
        &mut self,
        app: &TestApp,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Reply {
        let form = self.get(app, page).await;
        assert_eq!(form.status, 200, "{page}: {}", form.text());
        let token = super::csrf_of(&form.text());
        let mut body = format!("csrf={}", enc(&token));
        for (k, v) in fields {
            body.push_str(&format!("&{}={}", enc(k), enc(v)));
        }
        self.post(app, action, &body).await
    }

    pub fn passenger_cookie(&self) -> Option<&String> {
        self.cookies.get("aloft_passenger")
    }
}

pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub async fn codes_sent(app: &TestApp) -> Vec<String> {
    let mail: Vec<(String,)> = sqlx::query_as(
        "SELECT text_body FROM mail_messages WHERE template = 'passenger.verify_email' ORDER BY queued_at, id",
    )
    .fetch_all(app.test_db.db.pool())
    .await
    .unwrap();
    mail.into_iter()
        .map(|(body,)| body.chars().filter(char::is_ascii_digit).take(8).collect())
        .collect()
}

/// Signs up `loyalty`/`email` and enters the mailed code in the same browser.
pub async fn sign_up_and_verify(app: &TestApp, loyalty: &str, email: &str) -> Browser {
    let mut b = Browser::default();
    let r = b
        .submit(
            app,
            "/my/sign-up",
            "/my/sign-up",
            &[
                ("loyalty_number", loyalty),
                ("email", email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), "/my/verify");
    let code = codes_sent(app).await.pop().expect("a code was mailed");
    let r = b
        .submit(
            app,
            "/my/verify",
            "/my/verify",
            &[("email", email), ("code", &code)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), "/my");
    b
}
