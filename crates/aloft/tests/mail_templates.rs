//! Mail templates edited by the CMP manager, end to end on both backends: the API lists the
//! shipped templates; a text with a placeholder the message does not provide is refused naming
//! the field and nothing is saved; a Portuguese text added for "case opened" is what a
//! Portuguese-speaking passenger receives when their case opens (others keep theirs); a stale
//! save is refused; a reset returns to the shipped text; every save is evented and audited; the
//! pages show and save texts with errors in the form's words; only the CMP manager may.

mod common;

use common::{TestApp, on_each_backend};
use serde_json::json;

use aloft::roles::ids;

async fn scalar(app: &TestApp, sql: &str, bind: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(bind)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
    n
}

/// Opens a complaint for a new passenger speaking `language`; the subject of the
/// acknowledgement queued for them.
async fn acknowledgement(app: &TestApp, email: &str, language: &str) -> (String, String) {
    let customer = app
        .create_customer(
            json!({"first_name": "Rita", "last_name": "Lopes", "email": email,
            "preferences": {"language": language}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .call(
            "POST",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/cases",
            Some(&json!({"customer_id": customer, "category": "complaint",
            "subject": "Cold meal", "description": "The meal on TP123 was cold.",
            "channel": "phone"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (subject, lang): (String, String) = sqlx::query_as(
        "SELECT subject, language FROM mail_messages WHERE to_address = $1 AND template = 'case-opened'",
    )
    .bind(email)
    .fetch_one(app.test_db.db.pool())
    .await
    .unwrap();
    (subject, lang)
}

#[tokio::test]
async fn the_cmp_manager_edits_texts_per_language_and_passengers_receive_them() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;

        // Listed, with the languages the code ships.
        let r = app.call("GET", ids::CMP_MANAGER, "/api/v1/mail-templates", None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let list = r.json();
        let opened = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "case-opened")
            .expect("the case templates are listed")
            .clone();
        let langs: Vec<&str> = opened["texts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["language"].as_str().unwrap())
            .collect();
        assert_eq!(langs, ["en", "de"]);
        assert_eq!(opened["placeholders"], json!(["reference", "subject"]));
        for role in [ids::CONTACT_CENTRE_AGENT, ids::DATA_PRIVACY_OFFICER, ids::PASSENGER] {
            let r = app.call("GET", role, "/api/v1/mail-templates", None).await;
            assert_eq!(r.status, 403, "{role}");
            let r = app.call("PUT", role, "/api/v1/mail-templates/case-opened/pt",
                Some(&json!({"subject": "x", "text": "y"}))).await;
            assert_eq!(r.status, 403, "{role}");
        }

        // Before any edit a Portuguese speaker gets English.
        let (subject, lang) = acknowledgement(&app, "rita.one@example.com", "pt").await;
        assert_eq!((subject.as_str(), lang.as_str()), ("We have your request: Cold meal", "en"));

        // Refused: a placeholder the message does not provide, an empty subject, a bad tag.
        let path = "/api/v1/mail-templates/case-opened/pt";
        let r = app.call("PUT", ids::CMP_MANAGER, path,
            Some(&json!({"subject": " ", "text": "Olá {{first_name}}, o seu caso {{reference}}."}))).await;
        assert_eq!(r.status, 422, "{}", r.text());
        let problem = r.json();
        let pointers: Vec<&str> = problem["errors"].as_array().unwrap().iter()
            .map(|e| e["pointer"].as_str().unwrap()).collect();
        assert_eq!(pointers, ["/subject", "/text"]);
        assert!(r.text().contains("{{first_name}}"), "the unknown placeholder is named");
        let r = app.call("PUT", ids::CMP_MANAGER, "/api/v1/mail-templates/case-opened/Portuguese",
            Some(&json!({"subject": "x", "text": "y"}))).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.json()["errors"][0]["pointer"], "/language");
        let r = app.call("PUT", ids::CMP_MANAGER, "/api/v1/mail-templates/no-such/pt",
            Some(&json!({"subject": "x", "text": "y"}))).await;
        assert_eq!(r.status, 404);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM mail_template_texts WHERE template = $1", "case-opened").await, 0);

        // Saved as version 1, evented and audited in the same transaction.
        let r = app.call("PUT", ids::CMP_MANAGER, path,
            Some(&json!({"subject": "Recebemos o seu pedido: {{subject}}",
                "text": "Obrigado. O seu caso {{reference}} está aberto.", "version": 0}))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["version"], 1);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = $1", "aloft.mail.template_saved").await, 1);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_log WHERE action = $1", "mail.template_saved").await, 1);

        // A Portuguese (and a Brazilian) passenger now get it; a German keeps the German text.
        let (subject, lang) = acknowledgement(&app, "rita.two@example.com", "pt").await;
        assert_eq!((subject.as_str(), lang.as_str()), ("Recebemos o seu pedido: Cold meal", "pt"));
        let (subject, _) = acknowledgement(&app, "rita.three@example.com", "pt-BR").await;
        assert_eq!(subject, "Recebemos o seu pedido: Cold meal");
        let (subject, _) = acknowledgement(&app, "rita.four@example.com", "de").await;
        assert_eq!(subject, "Wir haben Ihr Anliegen erhalten: Cold meal");

        // A save from an older version is refused; nothing changes.
        let r = app.call("PUT", ids::CMP_MANAGER, path,
            Some(&json!({"subject": "Pedido {{subject}}", "text": "Caso {{reference}}.", "version": 0}))).await;
        assert_eq!(r.status, 409, "{}", r.text());
        let view = app.call("GET", ids::CMP_MANAGER, "/api/v1/mail-templates/case-opened", None).await.json();
        let pt = view["texts"].as_array().unwrap().iter().find(|t| t["language"] == "pt").unwrap().clone();
        assert_eq!((pt["source"].as_str(), pt["version"].as_i64()), (Some("added"), Some(1)));

        // Reset: back to English for Portuguese speakers; the history keeps both versions.
        let r = app.call("DELETE", ids::CMP_MANAGER, path, None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["version"], 2);
        let r = app.call("DELETE", ids::CMP_MANAGER, path, None).await;
        assert_eq!(r.status, 404, "nothing left to reset");
        let (subject, lang) = acknowledgement(&app, "rita.five@example.com", "pt").await;
        assert_eq!((subject.as_str(), lang.as_str()), ("We have your request: Cold meal", "en"));
        let view = app.call("GET", ids::CMP_MANAGER, "/api/v1/mail-templates/case-opened", None).await.json();
        assert_eq!(view["history"].as_array().unwrap().len(), 2);

        // The pages: listed, a refused text in the form's words, a saved one.
        let manager = app.sign_in_as(ids::CMP_MANAGER).await;
        let page = app.get_as(&manager, "/mail/templates").await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.text().contains("href=\"/mail/templates/case-opened\""));
        let page = app.get_as(&manager, "/mail/templates/case-opened").await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.text().contains("Back to the shipped text"), "the history says so");
        let r = app.post_form_as(&manager, "/mail/templates/case-opened",
            "language=de&other_language=&subject=Fall+%7B%7Breference%7D%7D&text=Hallo+%7B%7Bname%7D%7D").await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("href=\"#f-text\""), "{}", r.text());
        let r = app.post_form_as(&manager, "/mail/templates/case-opened",
            "language=de&other_language=&subject=Ihr+Fall+%7B%7Breference%7D%7D&text=Danke.+Fall+%7B%7Breference%7D%7D+ist+offen.").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let (subject, _) = acknowledgement(&app, "rita.six@example.com", "de").await;
        assert!(subject.starts_with("Ihr Fall "), "{subject}");
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        assert_eq!(app.get_as(&agent, "/mail/templates").await.status, 403);
        app.stop().await;
    })
    .await;
}
