//! Native HTTPS with a locally generated certificate (openssl), checked with curl: the API and
//! pages answer over TLS, HSTS is sent, and plain HTTP on the TLS port gets no answer.

use std::process::Command;
use std::time::Duration;

use aloft::app::{AppConfig, Application};
use aloft::tls::TlsFiles;
use aloft_kernel::Backend;
use aloft_kernel::testing::TestDatabase;

fn common_keys() -> aloft_access::KeySource {
    aloft_access::KeySource::Values {
        master: zeroize::Zeroizing::new(
            aloft_security::MasterKey::generate()
                .export_base64()
                .to_string(),
        ),
        index: zeroize::Zeroizing::new(
            aloft_security::IndexKey::generate()
                .export_base64()
                .to_string(),
        ),
    }
}

#[tokio::test]
async fn serves_https_with_hsts() {
    let dir = std::env::temp_dir().join(format!("aloft-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let t = TestDatabase::new(Backend::Sqlite).await;
    let app = Application::build(AppConfig {
        database: t.settings.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        nats: None,
        shutdown_grace: Duration::from_secs(5),
        tls: Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        keys: common_keys(),
        demo_accounts: false,
        external_issuers: vec![],
        sso: None,
        sources: None,
        trusted_proxies: Default::default(),
        mail: None,
        metrics_bind: None,
    })
    .await
    .unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let curl = |args: Vec<String>| async move {
        tokio::task::spawn_blocking(move || {
            Command::new("curl").args(args).output().expect("curl runs")
        })
        .await
        .unwrap()
    };
    let https = curl(vec![
        "-sS".into(),
        "-i".into(),
        "--cacert".into(),
        cert.display().to_string(),
        format!("https://127.0.0.1:{}/healthz", addr.port()),
    ])
    .await;
    let text = String::from_utf8_lossy(&https.stdout).to_lowercase();
    assert!(
        text.starts_with("http/1.1 200"),
        "{text}{}",
        String::from_utf8_lossy(&https.stderr)
    );
    assert!(
        text.contains("strict-transport-security: max-age=31536000"),
        "{text}"
    );
    let page = curl(vec![
        "-sS".into(),
        "--cacert".into(),
        cert.display().to_string(),
        format!("https://127.0.0.1:{}/sign-in", addr.port()),
    ])
    .await;
    assert!(String::from_utf8_lossy(&page.stdout).contains("Sign in"));

    let plain = curl(vec![
        "-sS".into(),
        "-m".into(),
        "3".into(),
        format!("http://127.0.0.1:{}/healthz", addr.port()),
    ])
    .await;
    assert!(
        !String::from_utf8_lossy(&plain.stdout).contains("\"up\""),
        "plain HTTP is not served on the TLS port"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_missing_certificate_stops_start_up_with_a_clear_message() {
    let t = TestDatabase::new(Backend::Sqlite).await;
    let result = Application::build(AppConfig {
        database: t.settings.clone(),
        bind: "127.0.0.1:0".parse().unwrap(),
        nats: None,
        shutdown_grace: Duration::from_secs(5),
        tls: Some(TlsFiles {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        }),
        keys: common_keys(),
        demo_accounts: false,
        external_issuers: vec![],
        sso: None,
        sources: None,
        trusted_proxies: Default::default(),
        mail: None,
        metrics_bind: None,
    })
    .await;
    let err = format!("{:#}", result.err().expect("start-up fails"));
    assert!(err.contains("cannot read /nonexistent/cert.pem"), "{err}");
}
