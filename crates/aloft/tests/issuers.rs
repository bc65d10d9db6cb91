//! Bearer tokens from an external OAuth issuer (Okta / Entra ID style), checked against a local
//! JWKS served over real HTTP: signature, issuer, audience, expiry, algorithm, role mapping,
//! scopes, key rotation and the issuer being down. Keys are generated here; nothing leaves the
//! machine.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aloft::roles::ids;
use aloft_access::issuers::IssuerConfig;
use aloft_kernel::Backend;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use common::{Extras, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.example.test/tenant-1/v2.0";
const AUDIENCE: &str = "api://aloft";

struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn signing_key(kid: &str) -> SigningKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public = pair.public_key().as_ref(); // 0x04 ‖ x ‖ y
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
    });
    SigningKey {
        kid: kid.into(),
        pkcs8: pkcs8.as_ref().to_vec(),
        jwk,
    }
}

fn sign(key: &SigningKey, claims: Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&key.pkcs8)).unwrap()
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "svc-booking-feed", "azp": "booking-feed",
        "iat": now, "nbf": now, "exp": now + 600, "roles": ["CRM.Agent"], "scp": "customer.read"
    });
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// A JWKS endpoint whose key set the test changes, and which can be taken down.
struct Jwks {
    keys: Arc<Mutex<Vec<Value>>>,
    up: Arc<Mutex<bool>>,
    fetches: Arc<Mutex<u32>>,
    url: String,
}

async fn jwks_server() -> Jwks {
    let keys = Arc::new(Mutex::new(Vec::<Value>::new()));
    let up = Arc::new(Mutex::new(true));
    let fetches = Arc::new(Mutex::new(0u32));
    let (k, u, f) = (keys.clone(), up.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/keys",
        axum::routing::get(move || {
            let (k, u, f) = (k.clone(), u.clone(), f.clone());
            async move {
                *f.lock().unwrap() += 1;
                if !*u.lock().unwrap() {
                    return (http::StatusCode::SERVICE_UNAVAILABLE, String::new());
                }
                (
                    http::StatusCode::OK,
                    json!({ "keys": *k.lock().unwrap() }).to_string(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Jwks {
        keys,
        up,
        fetches,
        url,
    }
}

#[tokio::test]
async fn external_issuer_tokens_are_verified_against_its_jwks() {
    let jwks = jwks_server().await;
    let k1 = signing_key("k1");
    jwks.keys.lock().unwrap().push(k1.jwk.clone());
    let config = IssuerConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_url: jwks.url.clone(),
        role_claim: "roles".into(),
        role_map: IssuerConfig::parse_role_map(
            "CRM.Agent=contact_centre_agent,CRM.Marketing=marketing_manager",
            &aloft::roles::catalogue(),
        )
        .unwrap(),
        refresh_cooldown: Duration::ZERO,
    };
    let app = TestApp::spawn_full(
        Backend::Sqlite,
        |s| s,
        None,
        Extras {
            external_issuers: vec![config],
            ..Extras::default()
        },
    )
    .await;
    let customer = app
        .create_customer(json!({"first_name": "Ana", "last_name": "Silva"}))
        .await;
    let path = format!("/api/v1/customers/{}", customer["id"].as_str().unwrap());
    let call = |token: String, method: &'static str| {
        let path = path.clone();
        let app = &app;
        async move {
            let body = if method == "GET" {
                Bytes::new()
            } else {
                Bytes::from("{}")
            };
            app.request(
                method,
                &path,
                &[
                    ("authorization", &format!("Bearer {token}")),
                    ("content-type", "application/merge-patch+json"),
                ],
                body,
            )
            .await
        }
    };

    // A good token: the mapped role, narrowed by its scope.
    let good = sign(&k1, claims(json!({})));
    assert_eq!(call(good.clone(), "GET").await.status, 200);
    assert_eq!(
        call(good.clone(), "PATCH").await.status,
        403,
        "scp narrows to customer.read"
    );
    let marketing = sign(&k1, claims(json!({"roles": ["CRM.Marketing"]})));
    assert_eq!(
        call(marketing, "GET").await.status,
        403,
        "a mapped role without the permission"
    );

    // Every way a token can be wrong is a 401.
    let now = chrono::Utc::now().timestamp();
    for (why, token) in [
        (
            "wrong audience",
            sign(&k1, claims(json!({"aud": "api://other"}))),
        ),
        (
            "expired",
            sign(&k1, claims(json!({"exp": now - 120, "nbf": now - 600}))),
        ),
        (
            "not yet valid",
            sign(&k1, claims(json!({"nbf": now + 600}))),
        ),
        (
            "unmapped role",
            sign(&k1, claims(json!({"roles": ["CRM.Pilot"]}))),
        ),
        (
            "forged: another key, same kid",
            sign(
                &SigningKey {
                    kid: "k1".into(),
                    ..signing_key("x")
                },
                claims(json!({})),
            ),
        ),
        (
            "symmetric algorithm",
            jsonwebtoken::encode(
                &Header {
                    kid: Some("k1".into()),
                    ..Header::new(Algorithm::HS256)
                },
                &claims(json!({})),
                &EncodingKey::from_secret(b"anyone can guess"),
            )
            .unwrap(),
        ),
    ] {
        let r = call(token, "GET").await;
        assert_eq!(r.status, 401, "{why}: {}", r.text());
    }

    // The issuer rotates its key: an unknown kid makes Aloft fetch the key set again.
    let k2 = signing_key("k2");
    jwks.keys.lock().unwrap().push(k2.jwk.clone());
    let before = *jwks.fetches.lock().unwrap();
    assert_eq!(call(sign(&k2, claims(json!({}))), "GET").await.status, 200);
    assert_eq!(
        *jwks.fetches.lock().unwrap(),
        before + 1,
        "one refetch for the new key"
    );
    assert_eq!(
        call(good.clone(), "GET").await.status,
        200,
        "cached keys need no fetch"
    );
    assert_eq!(*jwks.fetches.lock().unwrap(), before + 1);

    // The issuer is down: known keys keep working; an unknown key is a 503 to retry.
    *jwks.up.lock().unwrap() = false;
    assert_eq!(call(good, "GET").await.status, 200);
    let k3 = signing_key("k3");
    let r = call(sign(&k3, claims(json!({}))), "GET").await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), "5");
    // Aloft's own tokens are unaffected.
    let own = app
        .request(
            "GET",
            &path,
            &[(
                "authorization",
                app.role_tokens.get(ids::CONTACT_CENTRE_AGENT),
            )],
            Bytes::new(),
        )
        .await;
    assert_eq!(own.status, 200);
    app.stop().await;
}
