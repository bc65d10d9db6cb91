//! Native HTTPS: serves the same router over TLS (rustls) when `--tls-cert` and `--tls-key` are
//! given, with graceful shutdown like the plain listener. Handshakes run in each connection's own
//! task, so a slow client never holds up the accept loop.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::{Error as PemError, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tower::ServiceExt;

/// PEM files of the server certificate chain and its private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain (leaf first).
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Loads the certificate and key into a TLS acceptor (TLS 1.2 and 1.3, HTTP/1.1 over ALPN).
pub fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    // rustls' own PEM reader (rustls-pki-types); rustls-pemfile is unmaintained
    // (RUSTSEC-2025-0134).
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(&files.cert, "certificate chain", e))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{} holds no certificate",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| pem_error(&files.key, "private key", e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not match or are unsupported")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Says what is wrong with a PEM file: unreadable, or not holding what it should.
fn pem_error(path: &Path, what: &str, e: PemError) -> anyhow::Error {
    match e {
        PemError::Io(io) => anyhow::anyhow!("cannot read {}: {io}", path.display()),
        PemError::NoItemsFound => anyhow::anyhow!("{} holds no PEM {what}", path.display()),
        other => anyhow::anyhow!("{} is not a PEM {what}: {other}", path.display()),
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` resolves, then stops accepting and
/// waits for open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let app = router
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo::<SocketAddr>(
                peer,
            )));
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
            };
            let service = TowerToHyperService::new(app.map_request(
                |req: http::Request<hyper::body::Incoming>| req.map(axum::body::Body::new),
            ));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("aloft-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn unusable_pem_files_are_named_with_what_is_wrong() {
        let empty = file("empty.pem", "not a PEM file\n");
        let files = TlsFiles {
            cert: empty.clone(),
            key: empty.clone(),
        };
        let err = acceptor(&files).err().expect("refused").to_string();
        assert!(err.contains("holds no certificate"), "{err}");
        let missing = TlsFiles {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let err = acceptor(&missing).err().expect("refused").to_string();
        assert!(
            err.starts_with("cannot read /nonexistent/cert.pem"),
            "{err}"
        );
        let broken = file(
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        let err = acceptor(&TlsFiles {
            cert: broken.clone(),
            key: empty.clone(),
        })
        .err()
        .expect("refused")
        .to_string();
        assert!(err.contains("is not a PEM certificate chain"), "{err}");
        let _ = std::fs::remove_file(empty);
        let _ = std::fs::remove_file(broken);
    }
}
