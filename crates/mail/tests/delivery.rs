//! Mail delivery end to end, on every backend, against a real SMTP server on loopback
//! (`smtp_sink.py`, aiosmtpd, started per test as a child process): a queued message arrives
//! once with its rendered subject, bodies and recipient, and a re-run of its job sends nothing
//! more; during an SMTP outage the message waits and is delivered once the server is up; a 5xx
//! rejection fails the job with the server's reason; without SMTP the catcher keeps the message
//! and its pages show it.
//!
//! Needs `python3` with `aiosmtpd`; the test installs it with pip when it is missing.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Once};
use std::time::Duration;

use aloft_kernel::jobs::{
    Attempt, Backoff, JobHandler, JobRunner, JobState, Jobs, Outcome, RunnerSettings,
};
use aloft_kernel::testing::{TestDatabase, backends};
use aloft_mail::{MailConfig, Mailer, Message, Queued, Template, Templates, Translation};
use tokio::sync::{broadcast, oneshot};
use tower::ServiceExt;

const PATIENCE: Duration = Duration::from_secs(60);

fn templates() -> Templates {
    Templates::new().with(
        Template::new(
            "case.acknowledged",
            Translation::new(
                "Your case {{case}} is open",
                "Dear {{name}},\nwe have opened case {{case}}.",
            )
            .html("<p>Dear {{name}},</p><p>we have opened case <b>{{case}}</b>.</p>"),
        )
        .language(
            "de",
            Translation::new(
                "Ihr Fall {{case}} ist eröffnet",
                "Guten Tag {{name}},\nwir haben den Fall {{case}} eröffnet.",
            )
            .html("<p>Guten Tag {{name}},</p><p>Fall <b>{{case}}</b> ist eröffnet.</p>"),
        ),
    )
}

fn message(key: &str) -> Message {
    Message {
        to: "ann.example@passenger.example".into(),
        template: "case.acknowledged".into(),
        language: "de-AT".into(),
        params: serde_json::json!({ "name": "Ann <Tester>", "case": "C-42" }),
        idempotency_key: key.into(),
    }
}

fn settings() -> RunnerSettings {
    RunnerSettings {
        concurrency: 2,
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(10),
        backoff: Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_millis(400),
        },
    }
}

/// A free loopback port (nothing listens on it once this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ensure_aiosmtpd() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let present = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            let installed = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
                .status()
                .expect("python3 runs");
            assert!(installed.success(), "pip install aiosmtpd");
        }
    });
}

/// The SMTP sink child process; killed when dropped.
struct Sink {
    child: Child,
    file: PathBuf,
}

impl Sink {
    async fn start(port: u16, reject: Option<&'static str>) -> Sink {
        tokio::task::spawn_blocking(move || {
            ensure_aiosmtpd();
            let file =
                std::env::temp_dir().join(format!("aloft-mail-{}.jsonl", uuid::Uuid::new_v4()));
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
            let mut command = Command::new("python3");
            command
                .arg(script)
                .arg(port.to_string())
                .arg(&file)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            if let Some(reply) = reject {
                command.arg(reply);
            }
            let mut child = command.spawn().expect("start the SMTP sink");
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(line.trim(), "READY", "the SMTP sink started");
            Sink { child, file }
        })
        .await
        .unwrap()
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

fn mailer(t: &TestDatabase, smtp: Option<String>) -> Mailer {
    Mailer::new(
        t.db.clone(),
        &MailConfig::new(smtp, "Aloft Airways <care@airline.example>"),
        templates(),
    )
    .unwrap()
}

/// The runner with the mail handler, started; returns its outcomes and its stop switch.
fn run_mail(
    t: &TestDatabase,
    mailer: &Mailer,
) -> (
    broadcast::Receiver<Attempt>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let handlers: HashMap<&'static str, Arc<dyn JobHandler>> =
        [(aloft_mail::JOB_KIND, mailer.handler())]
            .into_iter()
            .collect();
    let runner = JobRunner::new(t.db.clone(), handlers).with_settings(settings());
    let outcomes = runner.subscribe();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(runner.run(async move {
        let _ = stopped.await;
    }));
    (outcomes, stop, task)
}

async fn next_outcome(outcomes: &mut broadcast::Receiver<Attempt>) -> Attempt {
    tokio::time::timeout(PATIENCE, outcomes.recv())
        .await
        .expect("an attempt ends in time")
        .unwrap()
}

async fn queue(t: &TestDatabase, mailer: &Mailer, key: &str) -> Queued {
    let mut tx = t.db.begin_write().await.unwrap();
    let queued = mailer.queue(&mut tx, message(key)).await.unwrap();
    tx.commit().await.unwrap();
    queued
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_message_arrives_once_with_its_rendered_text() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let port = free_port();
        let sink = Sink::start(port, None).await;
        let mailer = mailer(&t, Some(format!("smtp://127.0.0.1:{port}?tls=none")));

        // A rolled-back change queues nothing.
        let mut tx = t.db.begin_write().await.unwrap();
        mailer.queue(&mut tx, message("case-ack:0")).await.unwrap();
        drop(tx);
        assert!(
            aloft_mail::message_by_key(&t.db, "case-ack:0")
                .await
                .unwrap()
                .is_none()
        );

        let Queued::New(id) = queue(&t, &mailer, "case-ack:42").await else {
            panic!("a new message")
        };
        assert_eq!(
            queue(&t, &mailer, "case-ack:42").await,
            Queued::Duplicate,
            "{backend:?}"
        );

        let (mut outcomes, stop, task) = run_mail(&t, &mailer);
        let attempt = next_outcome(&mut outcomes).await;
        assert_eq!(attempt.outcome, Outcome::Done, "{backend:?}");
        let _ = stop.send(());
        task.await.unwrap();

        let received = sink.messages();
        assert_eq!(received.len(), 1, "{backend:?}: {received:?}");
        let m = &received[0];
        assert_eq!(
            m["rcpt_tos"],
            serde_json::json!(["ann.example@passenger.example"])
        );
        assert_eq!(m["mail_from"], "care@airline.example");
        assert_eq!(m["subject"], "Ihr Fall C-42 ist eröffnet");
        assert_eq!(m["message_id"], format!("<{id}@airline.example>"));
        assert!(
            m["text"]
                .as_str()
                .unwrap()
                .replace("\r\n", "\n")
                .contains("Guten Tag Ann <Tester>,\nwir haben den Fall C-42 eröffnet."),
            "{m:?}"
        );
        assert!(
            m["html"]
                .as_str()
                .unwrap()
                .contains("<p>Guten Tag Ann &lt;Tester&gt;,</p>"),
            "{m:?}"
        );

        let stored = aloft_mail::message_by_key(&t.db, "case-ack:42")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.delivered_via.as_deref(), Some("smtp"));
        assert_eq!(stored.language, "de");

        // The job running again (its process died after the send) sends nothing more.
        let job = Jobs::by_dedupe_key(&t.db, &aloft_mail::job_key("case-ack:42"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.state, JobState::Done);
        mailer.handler().run(&job).await.unwrap();
        assert_eq!(sink.messages().len(), 1, "never twice ({backend:?})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_outage_delays_the_message_which_then_arrives_once() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let port = free_port();
        let mailer = mailer(&t, Some(format!("smtp://127.0.0.1:{port}?tls=none")));
        queue(&t, &mailer, "case-ack:7").await;
        let (mut outcomes, stop, task) = run_mail(&t, &mailer);

        // Nothing listens yet: the attempt is retried later.
        let first = next_outcome(&mut outcomes).await;
        assert!(
            matches!(first.outcome, Outcome::Retrying(_)),
            "{backend:?}: {first:?}"
        );
        let job = Jobs::by_dedupe_key(&t.db, &aloft_mail::job_key("case-ack:7"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            job.last_error
                .as_deref()
                .unwrap_or_default()
                .contains("SMTP delivery failed for now"),
            "{job:?}"
        );

        let sink = Sink::start(port, None).await;
        let delivered = loop {
            let attempt = next_outcome(&mut outcomes).await;
            match attempt.outcome {
                Outcome::Retrying(_) => continue,
                _ => break attempt,
            }
        };
        assert_eq!(delivered.outcome, Outcome::Done, "{backend:?}");
        assert!(delivered.attempt >= 2);
        let _ = stop.send(());
        task.await.unwrap();
        assert_eq!(sink.messages().len(), 1, "exactly once ({backend:?})");
        assert_eq!(sink.messages()[0]["subject"], "Ihr Fall C-42 ist eröffnet");
        let stored = aloft_mail::message_by_key(&t.db, "case-ack:7")
            .await
            .unwrap()
            .unwrap();
        assert!(stored.delivered_at.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_rejection_fails_the_job_with_the_servers_reason() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let port = free_port();
        let _sink = Sink::start(port, Some("550 5.7.1 Refused by policy")).await;
        let mailer = mailer(&t, Some(format!("smtp://127.0.0.1:{port}?tls=none")));
        queue(&t, &mailer, "case-ack:9").await;
        let (mut outcomes, stop, task) = run_mail(&t, &mailer);
        let attempt = next_outcome(&mut outcomes).await;
        let _ = stop.send(());
        task.await.unwrap();

        let Outcome::Failed(reason) = &attempt.outcome else {
            panic!("{backend:?}: {attempt:?}")
        };
        assert!(
            reason.contains("550") && reason.contains("Refused by policy"),
            "{reason}"
        );
        let job = Jobs::by_dedupe_key(&t.db, &aloft_mail::job_key("case-ack:9"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.state, JobState::Failed, "{backend:?}");
        assert_eq!(job.attempts, 1, "a 5xx reply is not retried");
        assert_eq!(job.last_error.as_deref(), Some(reason.as_str()));
        let stored = aloft_mail::message_by_key(&t.db, "case-ack:9")
            .await
            .unwrap()
            .unwrap();
        assert!(stored.delivered_at.is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_the_catcher_keeps_the_message_and_shows_it() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let mailer = mailer(&t, None);
        assert!(!mailer.sends_over_smtp());
        let Queued::New(id) = queue(&t, &mailer, "case-ack:1").await else {
            panic!("a new message")
        };
        let (mut outcomes, stop, task) = run_mail(&t, &mailer);
        assert_eq!(
            next_outcome(&mut outcomes).await.outcome,
            Outcome::Done,
            "{backend:?}"
        );
        let _ = stop.send(());
        task.await.unwrap();

        let kept = aloft_mail::caught(&t.db, 10).await.unwrap();
        assert_eq!(kept.len(), 1, "{backend:?}");
        assert_eq!(kept[0].id, id);
        assert_eq!(kept[0].delivered_via.as_deref(), Some("catcher"));

        let get = |path: String| {
            let app = aloft_mail::catcher_routes(t.db.clone());
            async move {
                let response = app
                    .oneshot(
                        http::Request::get(path)
                            .body(axum::body::Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                let status = response.status();
                let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                    .await
                    .unwrap();
                (status, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        let (status, list) = get("/mail/catcher".into()).await;
        assert_eq!(status, 200);
        assert!(list.contains("Ihr Fall C-42 ist eröffnet"), "{list}");
        assert!(list.contains("<th scope=\"col\">To</th>"));
        assert!(list.contains("ann.example@passenger.example"));
        let (status, one) = get(format!("/mail/catcher/{id}")).await;
        assert_eq!(status, 200);
        assert!(one.contains("Guten Tag Ann &lt;Tester&gt;,"), "{one}");
        let (status, _) = get("/mail/catcher/nope".into()).await;
        assert_eq!(status, 404);
    }
}
