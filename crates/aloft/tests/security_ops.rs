//! Security operations: the audit trail pages (keyset paging, date range, actors by name, CSV
//! export), who may read them, the sign-in anomalies view, and the start-page panels of the
//! roles that watch access.

mod common;

use std::collections::BTreeSet;

use aloft::roles::{ROLES, ids};
use aloft_access::permissions::{AUDIT_READ, SECURITY_MONITOR};
use aloft_kernel::AccessContext;
use aloft_kernel::audit::{self, Grouping};
use aloft_kernel::db::Database;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use common::{TestApp, on_each_backend};

const CUSTOMER_READ: aloft_kernel::audit::AuditAction =
    aloft_customers::events::audit::CUSTOMER_READ;

/// Appends `n` `customer.read` records by `actor`, the i-th at `start + i minutes`.
async fn seed(db: &Database, n: usize, start: DateTime<Utc>, actor: &str, purpose: Option<&str>) {
    let mut ctx = AccessContext::system("test");
    ctx.actor.id = actor.to_owned();
    ctx.actor.role = ids::CONTACT_CENTRE_AGENT.to_owned();
    ctx.purpose = purpose.map(str::to_owned);
    let entries: Vec<_> = (0..n)
        .map(|i| {
            let mut e = ctx.entry(
                CUSTOMER_READ,
                "customer",
                Some(uuid::Uuid::now_v7().to_string()),
                vec!["name".into()],
                "success",
            );
            e.occurred_at = start + Duration::minutes(i as i64);
            e
        })
        .collect();
    let mut tx = db.begin_write().await.unwrap();
    tx.audit(&entries).await.unwrap();
    tx.commit().await.unwrap();
}

/// The record numbers a trail page shows (`#123`).
fn record_numbers(html: &str) -> Vec<u64> {
    html.match_indices("\">#")
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('<')?].parse().ok()
        })
        .collect()
}

fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    Some(html[at..at + html[at..].find('"')?].replace("&amp;", "&"))
}

#[tokio::test]
async fn the_trail_pages_through_every_record_once_filtered_by_date_and_actor_by_name() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let db = app.accounts.database().clone();
        let agent = app
            .accounts
            .by_username(ids::CONTACT_CENTRE_AGENT)
            .await
            .unwrap()
            .unwrap();
        let agent_id = agent.id.to_string();
        let day1 = DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // 70 records on 1 November, 60 on 2 November (some minutes apart), 1 on 3 November.
        seed(&db, 70, day1, &agent_id, None).await;
        seed(&db, 60, day1 + Duration::days(1), &agent_id, None).await;
        seed(&db, 1, day1 + Duration::days(2), &agent_id, None).await;

        let som = app.sign_in_as(ids::SECURITY_OPERATIONS_MANAGER).await;
        let mut seen: Vec<u64> = Vec::new();
        let mut href = Some("/audit?action=customer.read".to_owned());
        let mut pages = 0;
        while let Some(h) = href {
            let page = app.get_as(&som, &h).await;
            assert_eq!(page.status, 200, "{h}: {}", page.text());
            let html = page.text();
            seen.extend(record_numbers(&html));
            href = next_link(&html);
            pages += 1;
            assert!(pages < 10, "paging does not end");
        }
        let unique: BTreeSet<u64> = seen.iter().copied().collect();
        assert_eq!(seen.len(), 131, "every record shown (no 200-row stop)");
        assert_eq!(unique.len(), 131, "no record shown twice");
        assert_eq!(pages, 3, "50 a page");
        // A family of actions (merged per action) pages the same way.
        let mut family: Vec<u64> = Vec::new();
        let mut href = Some("/audit?action=customer.*".to_owned());
        while let Some(h) = href {
            let html = app.get_as(&som, &h).await.text();
            family.extend(record_numbers(&html));
            href = next_link(&html);
        }
        assert_eq!(family, seen, "the family pages like the single action");

        // The date range (UTC days, the end day included).
        let page = app
            .get_as(
                &som,
                "/audit?action=customer.read&from=2026-11-02&to=2026-11-02",
            )
            .await;
        let html = page.text();
        assert_eq!(record_numbers(&html).len(), 50);
        let rest = app
            .get_as(&som, &next_link(&html).expect("a second page"))
            .await
            .text();
        assert_eq!(record_numbers(&rest).len(), 10);
        assert!(next_link(&rest).is_none());
        assert!(
            html.contains("Mon 2 Nov 2026, 10:59:00 UTC"),
            "readable instants"
        );
        let bad = app
            .get_as(&som, "/audit?from=2026-11-03&to=2026-11-01")
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.text().contains("error-summary"));

        // Actors by name (the id stays in the title and the filter link).
        assert!(
            html.contains(
                ">Contact centre agent</a><br><small class=\"muted\">contact_centre_agent · Contact centre agent"
            ),
            "{html}"
        );
        assert!(html.contains(&format!("title=\"staff account {agent_id}\"")));
        // Filtering by username finds the account's records.
        let by_name = app
            .get_as(&som, "/audit?actor=contact_centre_agent&from=2026-11-03")
            .await
            .text();
        assert_eq!(record_numbers(&by_name).len(), 1, "{by_name}");

        // Sign-in events are filterable as a family, and refusals by their action.
        let auth = app.get_as(&som, "/audit?action=auth.*").await.text();
        assert!(auth.contains("auth.mfa_passed") && auth.contains("auth.password_accepted"));
        assert!(!auth.contains("<code>customer.read</code>"));
        let agent_session = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        assert_eq!(app.get_as(&agent_session, "/audit").await.status, 403);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let denied = app.get_as(&som, "/audit?action=access.denied").await.text();
        assert!(denied.contains("GET /audit"), "{denied}");
        assert!(denied.contains(">Contact centre agent</a>"));
    })
    .await;
}

#[tokio::test]
async fn the_csv_export_holds_the_filtered_trail_inert_to_spreadsheets_and_is_audited() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let db = app.accounts.database().clone();
        let start = Utc::now() - Duration::hours(2);
        seed(
            &db,
            3,
            start,
            "token:=cmd|' /C calc'!A0",
            Some("=HYPERLINK(\"http://x\")"),
        )
        .await;
        seed(&db, 2, start, "@evil", Some("+1, \"quoted\"")).await;
        let dpo = app.sign_in_as(ids::DATA_PRIVACY_OFFICER).await;
        let r = app
            .get_as(&dpo, "/audit/export.csv?action=customer.read")
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.header("content-type").starts_with("text/csv"));
        assert!(r.header("content-disposition").starts_with("attachment;"));
        let csv = r.text();
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 6, "a header and the five records: {csv}");
        assert!(lines[0].starts_with("sequence,occurred_at_utc,actor_id,actor_name"));
        assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
        assert!(csv.contains("\"'@evil\""));
        assert!(csv.contains("\"'+1, \"\"quoted\"\"\""));
        // No cell starts with a formula character unguarded.
        for line in &lines {
            for bad in [",\"=", ",\"+", ",\"-", ",\"@"] {
                assert!(!line.contains(bad), "{line}");
            }
        }
        // The export is in the trail: who, which filters.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let exports = audit::trail(
            &db,
            &audit::TrailQuery {
                actions: vec!["audit.exported".into()],
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(exports.records.len(), 1);
        assert_eq!(exports.records[0].fields, vec!["action".to_owned()]);
        assert_eq!(exports.records[0].actor_role, ids::DATA_PRIVACY_OFFICER);
    })
    .await;
}

#[tokio::test]
async fn only_audit_readers_get_the_trail_and_only_security_monitors_the_anomalies() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        for role in ROLES {
            let token = app.role_tokens.get(role.id);
            for (path, permission) in [
                ("/audit", AUDIT_READ),
                ("/audit/export.csv", AUDIT_READ),
                ("/audit/verify", AUDIT_READ),
                ("/security", SECURITY_MONITOR),
            ] {
                let r = app
                    .request("GET", path, &[("authorization", token)], Bytes::new())
                    .await;
                if role.allows(permission) {
                    assert_eq!(r.status, 200, "{} {path}", role.id);
                } else {
                    assert_eq!(r.status, 403, "{} {path}", role.id);
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn failed_sign_ins_show_as_anomalies_by_account_and_address() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let db = app.accounts.database().clone();
        let admin = app
            .accounts
            .by_username(ids::ADMINISTRATOR)
            .await
            .unwrap()
            .unwrap();
        for _ in 0..6 {
            let r = app
                .request(
                    "POST",
                    "/sign-in",
                    &[
                        ("content-type", "application/x-www-form-urlencoded"),
                        ("authorization", ""),
                    ],
                    Bytes::from("username=administrator&password=wrong-guess&next=%2F"),
                )
                .await;
            assert!(matches!(r.status, 401 | 429 | 200), "{}", r.status);
        }
        let since = Utc::now() - Duration::hours(1);
        let counts =
            audit::grouped_counts(&db, &["auth.password_failed"], since, Grouping::Subject)
                .await
                .unwrap();
        let failed: u64 = counts
            .iter()
            .filter(|c| c.key.as_deref() == Some(admin.id.to_string().as_str()))
            .map(|c| c.count)
            .sum();
        assert!(failed >= 5, "{counts:?}");

        let som = app.sign_in_as(ids::SECURITY_OPERATIONS_MANAGER).await;
        let html = app.get_as(&som, "/security").await.text();
        assert!(html.contains("id=\"top-accounts\""), "{html}");
        let row_at = html
            .find("Administrator (administrator)")
            .expect("the account by name");
        let row = &html[row_at..row_at + html[row_at..].find("</tr>").unwrap()];
        assert!(
            row.contains("Unusual") || row.contains("Likely attack"),
            "{row}"
        );
        assert!(html.contains("id=\"top-addresses\"") && html.contains("127.0.0.1"));
        let fortnight = app.get_as(&som, "/security?window=14d").await;
        assert_eq!(fortnight.status, 200);
        assert!(fortnight.text().contains("last 14 days"));

        // The security operations manager's start page: the same figures, the chain status.
        let home = app.get_as(&som, "/").await.text();
        assert!(home.contains("Security: sign-ins and refusals"), "{home}");
        assert!(home.contains("Not verified yet"));
        assert_eq!(app.get_as(&som, "/audit/verify").await.status, 200);
        let home = app.get_as(&som, "/").await.text();
        assert!(home.contains("Intact"), "{home}");
    })
    .await;
}

#[tokio::test]
async fn each_role_that_runs_access_lands_on_its_own_panels() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        for (role, wanted, not_wanted) in [
            (
                ids::ADMINISTRATOR,
                "Accounts and integration clients",
                "Security: sign-ins and refusals",
            ),
            (
                ids::DATA_PRIVACY_OFFICER,
                "Privacy: access to customer data",
                "Security: sign-ins and refusals",
            ),
            (
                ids::CMP_MANAGER,
                "Configuration: roles, sources, policies",
                "Privacy: access to customer data",
            ),
            (
                ids::SECURITY_OPERATIONS_MANAGER,
                "Security: sign-ins and refusals",
                "Accounts and integration clients",
            ),
        ] {
            let s = app.sign_in_as(role).await;
            let home = app.get_as(&s, "/").await;
            assert_eq!(home.status, 200);
            let html = home.text();
            assert!(html.contains(wanted), "{role}: {html}");
            assert!(!html.contains(not_wanted), "{role} sees {not_wanted}");
            if role == ids::ADMINISTRATOR {
                assert!(html.contains("Recent account changes"));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_admin_forms_report_every_bad_field_and_keep_what_was_typed() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let admin = app.sign_in_as(ids::ADMINISTRATOR).await;
        let r = app
            .post_form_as(
                &admin,
                "/access/accounts",
                "display_name=Ada+Lovelace&username=A&role=checkin_agent&station=&password=short",
            )
            .await;
        assert_eq!(r.status, 422);
        let html = r.text();
        assert!(html.contains("Please correct 3 fields"), "{html}");
        for field in ["f-username", "f-station", "f-password"] {
            assert!(html.contains(&format!("href=\"#{field}\"")), "{field}");
        }
        assert!(
            html.contains("value=\"Ada Lovelace\""),
            "the typed name is kept"
        );
        let r = app
            .post_form_as(&admin, "/access/clients", "name=&role=nobody&days=9999")
            .await;
        assert_eq!(r.status, 422);
        let html = r.text();
        assert!(html.contains("Please correct 3 fields"), "{html}");
    })
    .await;
}
