//! The job queue on every backend, with several runners on separate connection pools to one
//! database (as several `aloft` processes would be): every job runs exactly once however the
//! runners race; retries back off and end done or failed with the reason; a job whose runner
//! died is taken over once its lease runs out, and a slow job keeps its lease while it runs;
//! dedupe keys make enqueueing idempotent; a schedule runs once per slot.
//!
//! Waits are on the runners' outcome channels (with a generous timeout so that a bug fails the
//! test instead of hanging it); sleeps appear only as a handler's simulated work.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aloft_kernel::Database;
use aloft_kernel::jobs::{
    Attempt, Backoff, Enqueued, JobError, JobHandler, JobRunner, JobState, Jobs, NewJob, Outcome,
    RunnerSettings, Schedule, handler_fn,
};
use aloft_kernel::testing::{TestDatabase, backends};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

const PATIENCE: Duration = Duration::from_secs(60);

fn settings() -> RunnerSettings {
    RunnerSettings {
        concurrency: 4,
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(10),
        backoff: Backoff {
            base: Duration::from_millis(50),
            max: Duration::from_secs(1),
        },
    }
}

/// A runner started in the background, stopped gracefully by [`Started::stop`] or killed by
/// dropping its task ([`Started::kill`]).
struct Started {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    owner: String,
}

impl Started {
    fn new(runner: JobRunner) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let owner = runner.owner().to_owned();
        let task = tokio::spawn(runner.run(async move {
            let _ = stopped.await;
        }));
        Self { stop, task, owner }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the runner stops")
            .expect("the runner does not panic");
    }

    /// Simulates the process dying: the runner's future (its loop, its running handlers and
    /// its lease renewal) is dropped without recording anything.
    async fn kill(self) {
        self.task.abort();
        assert!(self.task.await.unwrap_err().is_cancelled());
    }
}

/// Another connection pool to the same database: another `aloft` process.
async fn another_process(t: &TestDatabase) -> Database {
    Database::connect(&t.settings).await.unwrap()
}

fn handlers(
    pairs: impl IntoIterator<Item = (&'static str, Arc<dyn JobHandler>)>,
) -> HashMap<&'static str, Arc<dyn JobHandler>> {
    pairs.into_iter().collect()
}

/// Waits for the next outcome of `job_id` on `outcomes`.
async fn outcome_of(outcomes: &mut broadcast::Receiver<Attempt>, job_id: &str) -> Attempt {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let attempt = outcomes.recv().await.expect("the runner is alive");
            if attempt.job_id == job_id {
                return attempt;
            }
        }
    })
    .await
    .expect("the job's attempt ends in time")
}

fn new_id(e: Enqueued) -> String {
    match e {
        Enqueued::New(id) => id,
        Enqueued::Duplicate => panic!("expected a new job"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_runners_run_every_job_exactly_once() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        const JOBS: usize = 300;
        let mut tx = t.db.begin_write().await.unwrap();
        for i in 0..JOBS {
            Jobs::enqueue(&mut tx, NewJob::new("count", serde_json::json!({ "i": i })))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();

        let runs: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let counter = {
            let runs = runs.clone();
            handler_fn(move |job| {
                let runs = runs.clone();
                async move {
                    *runs.lock().unwrap().entry(job.id.clone()).or_default() += 1;
                    // A little work, so that runners overlap.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    Ok(())
                }
            })
        };
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(String, Attempt)>();
        let mut fleet = Vec::new();
        for _ in 0..3 {
            let db = another_process(&t).await;
            let runner = JobRunner::new(db, handlers([("count", counter.clone())]))
                .with_settings(settings());
            let mut outcomes = runner.subscribe();
            let owner = runner.owner().to_owned();
            let done_tx = done_tx.clone();
            tokio::spawn(async move {
                while let Ok(a) = outcomes.recv().await {
                    let _ = done_tx.send((owner.clone(), a));
                }
            });
            fleet.push(Started::new(runner));
        }
        let mut by_runner: HashMap<String, usize> = HashMap::new();
        tokio::time::timeout(PATIENCE, async {
            for _ in 0..JOBS {
                let (owner, attempt) = done_rx.recv().await.unwrap();
                assert_eq!(attempt.outcome, Outcome::Done, "{backend:?}");
                *by_runner.entry(owner).or_default() += 1;
            }
        })
        .await
        .expect("every job is done in time");
        for runner in fleet {
            runner.stop().await;
        }
        assert!(
            done_rx.try_recv().is_err(),
            "no job ran twice ({backend:?})"
        );

        let runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), JOBS, "{backend:?}");
        assert!(runs.values().all(|&n| n == 1), "{backend:?}: {runs:?}");
        let counts = Jobs::counts(&t.db).await.unwrap();
        assert_eq!(counts.done, JOBS as i64, "{backend:?}");
        assert_eq!(counts.pending + counts.running + counts.failed, 0);
        for job in Jobs::of_kind(&t.db, "count").await.unwrap() {
            assert_eq!(job.attempts, 1, "{backend:?}");
            assert!(job.finished_at.is_some());
        }
        eprintln!("{backend:?}: jobs per runner {:?}", by_runner.values());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_or_retrying_job_backs_off_and_is_done_eventually() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let starts: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let flaky = {
            let starts = starts.clone();
            handler_fn(move |job| {
                let starts = starts.clone();
                async move {
                    starts.lock().unwrap().push(Instant::now());
                    match job.attempts {
                        1 => panic!("the first attempt panics"),
                        2 => Err(JobError::Retry("the service is busy".into())),
                        _ => Ok(()),
                    }
                }
            })
        };
        let runner =
            JobRunner::new(t.db.clone(), handlers([("flaky", flaky)])).with_settings(settings());
        let mut outcomes = runner.subscribe();
        let id = new_id(
            Jobs::enqueue_now(&t.db, NewJob::new("flaky", serde_json::json!({})))
                .await
                .unwrap(),
        );
        let running = Started::new(runner);

        let first = outcome_of(&mut outcomes, &id).await;
        assert!(matches!(first.outcome, Outcome::Retrying(_)), "{first:?}");
        let stored = Jobs::get(&t.db, &id).await.unwrap().unwrap();
        assert!(
            stored.state == JobState::Pending || stored.state == JobState::Running,
            "{backend:?}"
        );
        let second = outcome_of(&mut outcomes, &id).await;
        assert!(matches!(second.outcome, Outcome::Retrying(_)), "{second:?}");
        let third = outcome_of(&mut outcomes, &id).await;
        assert_eq!(third.outcome, Outcome::Done);
        assert_eq!(third.attempt, 3);
        running.stop().await;

        let job = Jobs::get(&t.db, &id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Done, "{backend:?}");
        assert_eq!(job.attempts, 3);
        assert!(job.last_error.is_none());
        // Back-off: at least half the ceiling, which doubles (50 ms, then 100 ms).
        let starts = starts.lock().unwrap().clone();
        assert_eq!(starts.len(), 3);
        assert!(
            starts[1] - starts[0] >= Duration::from_millis(25),
            "{starts:?}"
        );
        assert!(
            starts[2] - starts[1] >= Duration::from_millis(50),
            "{starts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_recorded_with_their_reason() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let refuse = handler_fn(|_| async { Err(JobError::Fail("the case was closed".into())) });
        let busy = handler_fn(|_| async { Err(JobError::Retry("the service is busy".into())) });
        let runner = JobRunner::new(t.db.clone(), handlers([("refuse", refuse), ("busy", busy)]))
            .with_settings(settings());
        let mut outcomes = runner.subscribe();
        let mut outcomes_b = runner.subscribe();
        let refused = new_id(
            Jobs::enqueue_now(&t.db, NewJob::new("refuse", serde_json::json!({})))
                .await
                .unwrap(),
        );
        let exhausted = new_id(
            Jobs::enqueue_now(
                &t.db,
                NewJob::new("busy", serde_json::json!({})).max_attempts(2),
            )
            .await
            .unwrap(),
        );
        let running = Started::new(runner);

        let a = outcome_of(&mut outcomes, &refused).await;
        assert_eq!(a.outcome, Outcome::Failed("the case was closed".into()));
        let job = Jobs::get(&t.db, &refused).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Failed, "{backend:?}");
        assert_eq!(job.attempts, 1, "a permanent failure is not retried");
        assert_eq!(job.last_error.as_deref(), Some("the case was closed"));
        assert!(job.finished_at.is_some());

        let mut b = outcome_of(&mut outcomes_b, &exhausted).await;
        assert!(matches!(b.outcome, Outcome::Retrying(_)), "{b:?}");
        b = outcome_of(&mut outcomes_b, &exhausted).await;
        let reason = "gave up after 2 attempts: the service is busy";
        assert_eq!(b.outcome, Outcome::Failed(reason.into()));
        running.stop().await;
        let job = Jobs::get(&t.db, &exhausted).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Failed, "{backend:?}");
        assert_eq!(job.attempts, 2);
        assert_eq!(job.last_error.as_deref(), Some(reason));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_runners_job_is_taken_over_once_its_lease_expires() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let short = RunnerSettings {
            lease: Duration::from_millis(300),
            ..settings()
        };
        let calls = Arc::new(AtomicUsize::new(0));
        let (started_tx, mut started) = mpsc::unbounded_channel::<u32>();
        let hang_first = {
            let calls = calls.clone();
            handler_fn(move |job| {
                let calls = calls.clone();
                let started_tx = started_tx.clone();
                async move {
                    let _ = started_tx.send(job.attempts);
                    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        // The first run never ends: its process will die under it.
                        std::future::pending::<()>().await;
                    }
                    Ok(())
                }
            })
        };
        let a = Started::new(
            JobRunner::new(
                another_process(&t).await,
                handlers([("hang", hang_first.clone())]),
            )
            .with_settings(short.clone()),
        );
        let id = new_id(
            Jobs::enqueue_now(&t.db, NewJob::new("hang", serde_json::json!({})))
                .await
                .unwrap(),
        );
        assert_eq!(started.recv().await, Some(1));
        let held = Jobs::get(&t.db, &id).await.unwrap().unwrap();
        assert_eq!(held.state, JobState::Running, "{backend:?}");
        assert_eq!(held.lease_owner.as_deref(), Some(a.owner.as_str()));
        a.kill().await;

        let b = JobRunner::new(another_process(&t).await, handlers([("hang", hang_first)]))
            .with_settings(short);
        let b_owner = b.owner().to_owned();
        let mut outcomes = b.subscribe();
        let b = Started::new(b);
        let took_over = outcome_of(&mut outcomes, &id).await;
        assert_eq!(took_over.outcome, Outcome::Done, "{backend:?}");
        assert_eq!(took_over.attempt, 2);
        assert_eq!(started.recv().await, Some(2));
        b.stop().await;

        let job = Jobs::get(&t.db, &id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Done, "{backend:?}");
        assert_eq!(job.attempts, 2);
        assert_eq!(job.lease_owner.as_deref(), Some(b_owner.as_str()));
        assert!(
            job.finished_at.unwrap() >= held.lease_until.unwrap(),
            "taken over only after the lease expired"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_slower_than_its_lease_keeps_it_while_its_runner_lives() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let short = RunnerSettings {
            lease: Duration::from_millis(200),
            ..settings()
        };
        let calls = Arc::new(AtomicUsize::new(0));
        let slow = {
            let calls = calls.clone();
            handler_fn(move |_| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    // Work that takes four leases' time.
                    tokio::time::sleep(Duration::from_millis(800)).await;
                    Ok(())
                }
            })
        };
        let mut fleet = Vec::new();
        let (all_tx, mut all) = mpsc::unbounded_channel::<Attempt>();
        for _ in 0..2 {
            let runner = JobRunner::new(
                another_process(&t).await,
                handlers([("slow", slow.clone())]),
            )
            .with_settings(short.clone());
            let mut outcomes = runner.subscribe();
            let all_tx = all_tx.clone();
            tokio::spawn(async move {
                while let Ok(a) = outcomes.recv().await {
                    let _ = all_tx.send(a);
                }
            });
            fleet.push(Started::new(runner));
        }
        let id = new_id(
            Jobs::enqueue_now(&t.db, NewJob::new("slow", serde_json::json!({})))
                .await
                .unwrap(),
        );
        let attempt = tokio::time::timeout(PATIENCE, all.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(attempt.job_id, id);
        assert_eq!(attempt.outcome, Outcome::Done, "{backend:?}");
        for runner in fleet {
            runner.stop().await;
        }
        assert!(all.try_recv().is_err(), "no second attempt ({backend:?})");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{backend:?}");
        assert_eq!(Jobs::get(&t.db, &id).await.unwrap().unwrap().attempts, 1);
    }
}

#[tokio::test]
async fn a_dedupe_key_makes_enqueueing_idempotent() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let job = || NewJob::new("mail.send", serde_json::json!({ "m": 1 })).dedupe("event-1");

        // A rolled-back enqueue leaves nothing and does not take the key.
        let mut tx = t.db.begin_write().await.unwrap();
        assert!(matches!(
            Jobs::enqueue(&mut tx, job()).await.unwrap(),
            Enqueued::New(_)
        ));
        drop(tx);
        assert_eq!(Jobs::counts(&t.db).await.unwrap().pending, 0, "{backend:?}");

        let id = new_id(Jobs::enqueue_now(&t.db, job()).await.unwrap());
        assert_eq!(
            Jobs::enqueue_now(&t.db, job()).await.unwrap(),
            Enqueued::Duplicate
        );
        let mut tx = t.db.begin_write().await.unwrap();
        assert_eq!(
            Jobs::enqueue(&mut tx, job()).await.unwrap(),
            Enqueued::Duplicate,
            "inside a caller's transaction too ({backend:?})"
        );
        tx.commit().await.unwrap();
        assert_eq!(Jobs::counts(&t.db).await.unwrap().pending, 1);
        assert_eq!(
            Jobs::by_dedupe_key(&t.db, "event-1")
                .await
                .unwrap()
                .unwrap()
                .id,
            id
        );
        // Jobs without a key never collide.
        for _ in 0..2 {
            new_id(
                Jobs::enqueue_now(&t.db, NewJob::new("mail.send", serde_json::json!({})))
                    .await
                    .unwrap(),
            );
        }

        // Still a no-op after the job ran.
        let runner = JobRunner::new(
            t.db.clone(),
            handlers([("mail.send", handler_fn(|_| async { Ok(()) }))]),
        )
        .with_settings(settings());
        let mut outcomes = runner.subscribe();
        let running = Started::new(runner);
        assert_eq!(outcome_of(&mut outcomes, &id).await.outcome, Outcome::Done);
        running.stop().await;
        assert_eq!(
            Jobs::enqueue_now(&t.db, job()).await.unwrap(),
            Enqueued::Duplicate,
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_runs_once_per_slot_across_three_runners() {
    for backend in backends() {
        let t = TestDatabase::new(backend).await;
        let every = Duration::from_millis(300);
        let (ran_tx, mut ran) = mpsc::unbounded_channel::<String>();
        let tick = handler_fn(move |job| {
            let ran_tx = ran_tx.clone();
            async move {
                let slot = job.payload["slot"].as_str().unwrap_or_default().to_owned();
                let _ = ran_tx.send(slot);
                Ok(())
            }
        });
        let mut fleet = Vec::new();
        for _ in 0..3 {
            let runner = JobRunner::new(
                another_process(&t).await,
                handlers([("tick", tick.clone())]),
            )
            .with_settings(settings())
            .with_schedule(Schedule::every("tick", every));
            fleet.push(Started::new(runner));
        }
        let mut slots = Vec::new();
        tokio::time::timeout(PATIENCE, async {
            while slots.len() < 4 {
                slots.push(ran.recv().await.unwrap());
            }
        })
        .await
        .expect("four slots run in time");
        for runner in fleet {
            runner.stop().await;
        }
        while let Ok(slot) = ran.try_recv() {
            slots.push(slot);
        }

        let mut distinct = slots.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            slots.len(),
            "{backend:?}: a slot ran twice: {slots:?}"
        );
        let instants: Vec<chrono::DateTime<chrono::Utc>> =
            distinct.iter().map(|s| s.parse().unwrap()).collect();
        for pair in instants.windows(2) {
            assert_eq!(
                (pair[1] - pair[0]).to_std().unwrap(),
                every,
                "{backend:?}: consecutive slots {distinct:?}"
            );
        }
        let stored = Jobs::of_kind(&t.db, "tick").await.unwrap();
        let done: Vec<_> = stored
            .iter()
            .filter(|j| j.state == JobState::Done)
            .collect();
        assert_eq!(done.len(), slots.len(), "{backend:?}");
        assert!(done.iter().all(|j| j.attempts == 1));
        let waiting = stored
            .iter()
            .filter(|j| j.state == JobState::Pending)
            .count();
        assert!(
            (1..=2).contains(&waiting),
            "the next occurrence waits: {waiting}"
        );
    }
}
