//! Publishing to NATS over TLS. The machine's NATS service on 4222 has no TLS, so this test
//! starts a second, real `nats-server` (JetStream on, TLS required, a certificate from a private
//! CA made here with openssl) on a free loopback port, and checks that:
//! - with the CA configured, events are published and acknowledged over TLS;
//! - without the CA (web PKI roots only) the server's certificate is refused: nothing is sent;
//! - mutual TLS works with a client certificate when the server demands one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aloft_broker::{NatsSettings, NatsSink, NatsTls};
use aloft_kernel::{CloudEvent, EventSink, PendingEvent};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it.
fn make_pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "1", "-subj", "/CN=Aloft test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let subject = format!("/CN=aloft-{name}");
        let mut req = vec!["req", "-new", "-subj", subject.as_str()];
        req.extend(ec);
        let (key, csr, pem, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        req.extend(["-keyout", key.as_str(), "-out", csr.as_str()]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &extfile,
                "-out",
                &pem,
            ],
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `nats-server` with TLS required, stopped (and its store removed) on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(dir: &Path, verify_clients: bool) -> Self {
        let port = free_port();
        let store = dir.join(format!("js-{port}"));
        let mut cmd = Command::new(
            std::env::var("ALOFT_TEST_NATS_SERVER")
                .unwrap_or_else(|_| "/usr/sbin/nats-server".into()),
        );
        cmd.args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&store)
            .arg("--tls")
            .arg("--tlscert")
            .arg(dir.join("server.pem"))
            .arg("--tlskey")
            .arg(dir.join("server.key"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if verify_clients {
            cmd.arg("--tlsverify")
                .arg("--tlscacert")
                .arg(dir.join("ca.pem"));
        }
        let child = cmd.spawn().expect("nats-server starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("tls://127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event() -> PendingEvent {
    let event = CloudEvent::new(
        "/test",
        "aloft.customer.created",
        Some("c1".into()),
        serde_json::json!({"n": 1}),
    );
    PendingEvent {
        seq: 1,
        payload: serde_json::to_string(&event).unwrap(),
        event,
    }
}

fn settings(url: String, tls: NatsTls) -> NatsSettings {
    NatsSettings {
        ack_timeout: Duration::from_secs(2),
        tls,
        ..NatsSettings::new(url)
    }
}

async fn publish(settings: NatsSettings) -> Result<(), String> {
    let sink = NatsSink::connect(settings)
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::timeout(Duration::from_secs(6), sink.publish(&event()))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())
}

fn scratch() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("aloft-nats-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn events_are_published_over_tls_only_to_a_server_the_ca_vouches_for() {
    let dir = scratch();
    make_pki(&dir);
    let server = TlsServer::start(&dir, false);
    let trusted = NatsTls {
        ca_file: Some(dir.join("ca.pem")),
        ..NatsTls::default()
    };
    publish(settings(server.url(), trusted.clone()))
        .await
        .expect("published and acknowledged over TLS");
    // The web PKI roots do not know the private CA: the handshake fails, nothing is published.
    assert!(
        publish(settings(server.url(), NatsTls::default()))
            .await
            .is_err(),
        "an unknown CA must be refused"
    );
    drop(server);

    // Mutual TLS: the server demands a client certificate signed by the CA.
    let server = TlsServer::start(&dir, true);
    assert!(
        publish(settings(server.url(), trusted.clone()))
            .await
            .is_err(),
        "no client certificate, no connection"
    );
    let mutual = NatsTls {
        client_cert: Some(dir.join("client.pem")),
        client_key: Some(dir.join("client.key")),
        ..trusted
    };
    publish(settings(server.url(), mutual))
        .await
        .expect("published with a client certificate");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
