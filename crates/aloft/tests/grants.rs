//! Four-eyes grants, tried as an attacker would: an administrator (who reads no customer data)
//! must not be able to reach customer data by creating a client or account in a data role.

mod common;

use aloft::roles::ids;
use aloft_kernel::AccessContext;
use bytes::Bytes;
use common::{TestApp, on_each_backend};

fn grab(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let at = html.find(&marker).unwrap() + marker.len();
    html[at..at + html[at..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn an_administrator_cannot_reach_customer_data_through_a_client_or_account_alone() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = app
            .create_customer(serde_json::json!({"first_name": "Ana", "last_name": "Silva", "passport_number": "X1234567"}))
            .await;
        let admin = app.sign_in_as(ids::ADMINISTRATOR).await;
        // A client acting as the data privacy officer (unmasked passports, the audit trail).
        let page = app
            .post_form_as(&admin, "/access/clients", "name=Exfil&role=data_privacy_officer&days=30")
            .await;
        assert_eq!(page.status, 201, "{}", page.text());
        let html = page.text();
        let (client_id, secret) = (grab(&html, "client-id"), grab(&html, "client-secret"));
        let token = || async {
            app.request(
                "POST",
                "/api/v1/oauth/token",
                &[("content-type", "application/x-www-form-urlencoded"), ("authorization", "")],
                Bytes::from(format!(
                    "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
                )),
            )
            .await
        };
        assert_eq!(token().await.status, 401, "no token before a second person approves");
        // The administrator cannot approve it: they lack access.approve…
        assert_eq!(app.get_as(&admin, "/access/grants").await.status, 403);
        // …and whoever asked may never decide their own grant, whatever their role.
        let grants = app.accounts.pending_grants().await.unwrap();
        assert_eq!(grants.len(), 1);
        let mut as_requester = AccessContext::system("test");
        as_requester.actor.id = grants[0].requested_by.clone();
        assert!(matches!(
            app.accounts.decide_grant(&grants[0].id, true, &as_requester).await,
            Err(aloft_access::grants::GrantError::SamePerson)
        ));
        assert_eq!(token().await.status, 401);
        // A second person approves: now the client works, and the grant is in the audit trail.
        assert_eq!(app.approve_pending_grants().await, 1);
        let got = token().await;
        assert_eq!(got.status, 200, "{}", got.text());
        let bearer = format!("Bearer {}", got.json()["access_token"].as_str().unwrap());
        let id = customer["id"].as_str().unwrap();
        let read = app
            .request("GET", &format!("/api/v1/customers/{id}"), &[("authorization", &bearer)], Bytes::new())
            .await;
        assert_eq!(read.json()["passport_number"], "X1234567");
        for action in ["access.grant_requested", "access.grant_approved"] {
            let found = aloft_kernel::audit::search(
                &app.test_db.db,
                &aloft_kernel::audit::AuditFilter {
                    resource_id: None,
                    actor_id: None,
                    action: Some(action.into()),
                    limit: 10,
                },
            )
            .await
            .unwrap();
            assert_eq!(found.len(), 1, "{action} audited");
        }

        // An account in a data role starts disabled; a rejected one stays so.
        let made = app
            .post_form_as(&admin, "/access/accounts", "display_name=Kim+Lee&username=kim.lee&role=contact_centre_agent&station=&password=a+long+enough+passphrase")
            .await;
        assert_eq!(made.status, 201, "{}", made.text());
        let kim = app.accounts.by_username("kim.lee").await.unwrap().unwrap();
        assert!(kim.disabled);
        let pending = app.accounts.pending_grants().await.unwrap();
        let dpo = app.sign_in_as(ids::DATA_PRIVACY_OFFICER).await;
        let rejected = app
            .post_form_as(&dpo, &format!("/access/grants/{}/reject", pending[0].id), "")
            .await;
        assert_eq!(rejected.status, 200, "{}", rejected.text());
        assert!(app.accounts.by_username("kim.lee").await.unwrap().unwrap().disabled);
        // A role within the administrator's own permissions needs nobody else.
        let peer = app
            .post_form_as(&admin, "/access/accounts", "display_name=Sam+Ray&username=sam.ray&role=administrator&station=&password=a+long+enough+passphrase")
            .await;
        assert_eq!(peer.status, 201);
        assert!(!app.accounts.by_username("sam.ray").await.unwrap().unwrap().disabled);
        assert!(app.accounts.pending_grants().await.unwrap().is_empty());
        // Every action in the trail is one the application declares (typed audit actions):
        // the audit page offers exactly these.
        let recorded: Vec<String> = sqlx::query_scalar("SELECT DISTINCT action FROM audit_log")
            .fetch_all(app.test_db.db.pool())
            .await
            .unwrap();
        let declared: Vec<&str> = aloft::app::audit_actions()
            .iter()
            .map(|a| a.as_str())
            .collect();
        assert!(recorded.len() >= 8, "{recorded:?}");
        for action in &recorded {
            assert!(declared.contains(&action.as_str()), "{action} is not declared");
        }
        let audit_page = app.get_as(&dpo, "/audit").await.text();
        assert!(audit_page.contains("access.grant_approved"), "the filter offers it");
        app.stop().await;
    })
    .await;
}
