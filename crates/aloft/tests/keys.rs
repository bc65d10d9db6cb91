//! Master-key rotation without downtime: `aloft keys rotate` runs beside a serving instance,
//! re-wraps every customer's data key, and the server keeps reading and writing throughout.

mod common;

use std::process::Command;
use std::time::Duration;

use aloft_access::KeySource;
use common::{Extras, TestApp, on_each_backend};
use serde_json::json;

#[tokio::test]
async fn the_master_key_rotates_while_the_server_runs() {
    on_each_backend(|backend| async move {
        let dir =
            std::env::temp_dir().join(format!("aloft-rotate-{}", uuid::Uuid::new_v4().simple()));
        let key_file = dir.join("aloft.keys");
        let app = TestApp::spawn_full(
            backend,
            |s| s,
            None,
            Extras {
                keys: Some(KeySource::File(key_file.clone())),
                ..Extras::default()
            },
        )
        .await;
        let mut ids = Vec::new();
        for i in 0..30u8 {
            let c = app
                .create_customer(
                    json!({"first_name": format!("Ana{}", (b'a' + i % 26) as char), "last_name": "Silva",
                    "email": format!("ana{i}@example.com"), "date_of_birth": "1980-01-02"}),
                )
                .await;
            ids.push(c["id"].as_str().unwrap().to_owned());
        }
        let before = std::fs::read_to_string(&key_file).unwrap();
        let out = tokio::task::spawn_blocking({
            let (key_file, url) = (key_file.clone(), app.test_db.settings.url.clone());
            move || {
                Command::new(env!("CARGO_BIN_EXE_aloft"))
                    .args(["keys", "rotate", "--database-url", &url, "--key-file"])
                    .arg(&key_file)
                    .output()
                    .expect("aloft keys rotate runs")
            }
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = String::from_utf8_lossy(&out.stdout);
        assert!(
            summary.contains("30 customer data key(s) re-wrapped"),
            "{summary}"
        );
        let after = std::fs::read_to_string(&key_file).unwrap();
        let line = |text: &str, name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .map(str::to_owned)
                .unwrap()
        };
        assert_ne!(line(&before, "master"), line(&after, "master"));
        assert_eq!(
            line(&before, "index"),
            line(&after, "index"),
            "the index key never rotates"
        );
        assert_eq!(
            line(&before, "master").replace("master", "previous"),
            line(&after, "previous")
        );

        // The running server reads what was re-wrapped under a key it learns from the file,
        // and new customers are written under the new key (after the watcher's next look).
        for id in &ids {
            let r = app.get(&format!("/api/v1/customers/{id}")).await;
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.json()["date_of_birth"], "1980-01-02");
        }
        tokio::time::sleep(Duration::from_secs(6)).await;
        let late = app
            .create_customer(
                json!({"first_name": "Bo", "last_name": "Li", "email": "bo@example.com"}),
            )
            .await;
        let found = app
            .get("/api/v1/customers?email=ana7%40example.com")
            .await
            .json();
        assert_eq!(
            found["items"].as_array().unwrap().len(),
            1,
            "blind indexes are unaffected"
        );
        let keys: Vec<String> = sqlx::query_scalar("SELECT data_key FROM customers")
            .fetch_all(app.test_db.db.pool())
            .await
            .unwrap();
        let new_id = keys
            .iter()
            .find(|k| k.contains(':'))
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_owned();
        assert!(
            keys.iter().all(|k| k.starts_with(&format!("{new_id}:"))),
            "every data key is under the new master key"
        );
        let rotated: Vec<String> =
            sqlx::query_scalar("SELECT action FROM audit_log WHERE action = 'keys.master_rotated'")
                .fetch_all(app.test_db.db.pool())
                .await
                .unwrap();
        assert_eq!(rotated.len(), 1, "the rotation is audited");
        assert_eq!(
            app.get(&format!(
                "/api/v1/customers/{}",
                late["id"].as_str().unwrap()
            ))
            .await
            .status,
            200
        );
        app.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}
