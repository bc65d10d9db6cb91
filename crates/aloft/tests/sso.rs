//! Workforce SSO with OpenID Connect against a local identity provider over real HTTP:
//! authorization code + PKCE, state and nonce, ID-token verification through JWKS, role mapping,
//! and refusal without MFA or without a role.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aloft_access::issuers::IssuerConfig;
use aloft_access::sso::{SsoConfig, pkce_challenge};
use aloft_kernel::Backend;
use axum::extract::{Form, State};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use common::{Extras, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

const CLIENT_ID: &str = "aloft-web";
const CLIENT_SECRET: &str = "s3cret-for-tests";

/// A code the provider has handed out: who signed in and what the ID token will say.
struct Grant {
    challenge: String,
    nonce: String,
    claims: Value,
}

#[derive(Clone)]
struct Idp {
    base: String,
    pkcs8: Arc<Vec<u8>>,
    jwk: Value,
    grants: Arc<Mutex<HashMap<String, Grant>>>,
}

async fn start_idp() -> Idp {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public = pair.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "idp-1", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..65])});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let idp = Idp {
        base,
        pkcs8: Arc::new(pkcs8.as_ref().to_vec()),
        jwk,
        grants: Arc::new(Mutex::new(HashMap::new())),
    };
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(|State(idp): State<Idp>| async move {
                axum::Json(json!({
                    "issuer": idp.base, "authorization_endpoint": format!("{}/authorize", idp.base),
                    "token_endpoint": format!("{}/token", idp.base), "jwks_uri": format!("{}/keys", idp.base),
                }))
            }),
        )
        .route("/keys", axum::routing::get(|State(idp): State<Idp>| async move { axum::Json(json!({"keys": [idp.jwk]})) }))
        .route("/token", axum::routing::post(token))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    idp
}

async fn token(
    State(idp): State<Idp>,
    Form(form): Form<HashMap<String, String>>,
) -> (http::StatusCode, String) {
    let refuse = |why: &str| {
        (
            http::StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": why}).to_string(),
        )
    };
    if form.get("grant_type").map(String::as_str) != Some("authorization_code")
        || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return refuse("client");
    }
    let Some(grant) = form
        .get("code")
        .and_then(|c| idp.grants.lock().unwrap().remove(c))
    else {
        return refuse("unknown or used code");
    };
    if pkce_challenge(form.get("code_verifier").map(String::as_str).unwrap_or(""))
        != grant.challenge
    {
        return refuse("PKCE verifier does not match");
    }
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": idp.base, "aud": CLIENT_ID, "sub": "00u-ana-123", "name": "Ana Agent",
        "iat": now, "exp": now + 300, "nonce": grant.nonce, "amr": ["pwd", "mfa"], "roles": ["CRM.Agent"]});
    for (k, v) in grant.claims.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("idp-1".into());
    let id_token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&idp.pkcs8)).unwrap();
    (
        http::StatusCode::OK,
        json!({"id_token": id_token, "access_token": "opaque", "token_type": "Bearer"}).to_string(),
    )
}

fn query_param(url: &str, name: &str) -> String {
    let q = url.split_once('?').unwrap().1;
    let raw = q
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} in {url}"));
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Starts SSO in the "browser", lets the provider issue a code for `claims`, and returns the
/// callback's reply. `tamper_state` sends back a different state.
async fn sso_round_trip(
    app: &TestApp,
    idp: &Idp,
    claims: Value,
    tamper_state: bool,
) -> common::Reply {
    let start = app
        .request(
            "GET",
            "/sign-in/sso?next=%2Faccount",
            &[("authorization", "")],
            Bytes::new(),
        )
        .await;
    assert_eq!(start.status, 303, "{}", start.text());
    let location = start.header("location").to_owned();
    assert!(
        location.starts_with(&format!("{}/authorize?", idp.base)),
        "{location}"
    );
    assert_eq!(query_param(&location, "code_challenge_method"), "S256");
    assert_eq!(query_param(&location, "client_id"), CLIENT_ID);
    let flow_cookie = start
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(start.header("set-cookie").contains("HttpOnly"));
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    idp.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            challenge: query_param(&location, "code_challenge"),
            nonce: query_param(&location, "nonce"),
            claims,
        },
    );
    let state = if tamper_state {
        "forged".to_owned()
    } else {
        query_param(&location, "state")
    };
    app.request(
        "GET",
        &format!(
            "/sign-in/sso/callback?code={code}&state={}",
            percent_encoding::utf8_percent_encode(&state, percent_encoding::NON_ALPHANUMERIC)
        ),
        &[("cookie", &flow_cookie), ("authorization", "")],
        Bytes::new(),
    )
    .await
}

#[tokio::test]
async fn staff_sign_in_with_openid_connect_and_pkce() {
    let idp = start_idp().await;
    let sso = SsoConfig {
        issuer: idp.base.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: zeroize::Zeroizing::new(CLIENT_SECRET.into()),
        redirect_url: "http://aloft.test/sign-in/sso/callback".into(),
        role_claim: "roles".into(),
        role_map: IssuerConfig::parse_role_map(
            "CRM.Agent=contact_centre_agent,CRM.Privacy=data_privacy_officer",
            &aloft::roles::catalogue(),
        )
        .unwrap(),
        require_mfa: true,
    };
    let app = TestApp::spawn_full(
        Backend::Sqlite,
        |s| s,
        None,
        Extras {
            sso: Some(sso),
            ..Extras::default()
        },
    )
    .await;
    let page = app
        .request("GET", "/sign-in", &[("authorization", "")], Bytes::new())
        .await;
    assert!(page.text().contains("Sign in with your organisation (SSO)"));

    let done = sso_round_trip(&app, &idp, json!({}), false).await;
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(done.header("location"), "/account");
    let session = done
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("aloft_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let account = app
        .request("GET", "/account", &[("cookie", &session)], Bytes::new())
        .await;
    assert_eq!(account.status, 200);
    assert!(
        account.text().contains("Ana Agent") && account.text().contains("Contact centre agent")
    );
    assert_eq!(
        app.request("GET", "/customers", &[("cookie", &session)], Bytes::new())
            .await
            .status,
        200
    );

    // The role follows the provider: the next sign-in maps to the DPO.
    let again = sso_round_trip(&app, &idp, json!({"roles": ["CRM.Privacy"]}), false).await;
    assert_eq!(again.status, 303);

    for (claims, tamper, status, why) in [
        (json!({}), true, 400, "state from another flow"),
        (json!({"amr": ["pwd"]}), false, 403, "no second factor"),
        (json!({"roles": ["CRM.Pilot"]}), false, 403, "no Aloft role"),
        (json!({"nonce": "replayed"}), false, 401, "wrong nonce"),
        (json!({"aud": "another-app"}), false, 401, "wrong audience"),
    ] {
        let r = sso_round_trip(&app, &idp, claims, tamper).await;
        assert_eq!(r.status, status, "{why}: {}", r.text());
        assert!(
            !r.header("set-cookie").contains("aloft_session="),
            "{why}: no session"
        );
    }
    // A callback without the flow cookie (another browser) is refused.
    let r = app
        .request(
            "GET",
            "/sign-in/sso/callback?code=x&state=y",
            &[("authorization", "")],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 400);
    app.stop().await;
}
