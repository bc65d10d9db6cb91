//! A real SMTP server on loopback for the application's tests: aiosmtpd through
//! `crates/mail/tests/smtp_sink.py`, one child process per test, killed when dropped. Each
//! accepted message becomes one JSON line (recipients, subject, text and HTML parts).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The sink and the file it writes.
pub struct SmtpSink {
    child: Child,
    file: PathBuf,
    /// Its loopback port.
    pub port: u16,
}

impl SmtpSink {
    /// Starts it on a free loopback port (installs `aiosmtpd` with pip when missing) — off the
    /// runtime, which must not block.
    pub async fn start() -> SmtpSink {
        tokio::task::spawn_blocking(|| {
            let present = Command::new("python3")
                .args(["-c", "import aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success());
            if !present {
                let ok = Command::new("python3")
                    .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "pip install aiosmtpd");
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let file =
                std::env::temp_dir().join(format!("aloft-smtp-{}.jsonl", uuid::Uuid::new_v4()));
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../mail/tests/smtp_sink.py");
            let mut child = Command::new("python3")
                .arg(script)
                .arg(port.to_string())
                .arg(&file)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start the SMTP sink");
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(line.trim(), "READY", "the SMTP sink started");
            SmtpSink { child, file, port }
        })
        .await
        .unwrap()
    }

    /// `smtp://127.0.0.1:PORT?tls=none`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits (up to 30 s) until at least `n` messages arrived; all received then.
    pub async fn wait_for(&self, n: usize) -> Vec<serde_json::Value> {
        for _ in 0..300 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}
