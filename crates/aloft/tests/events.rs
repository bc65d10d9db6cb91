//! Typed, versioned events: every event names the published JSON Schema of its `data`, the
//! application serves those schemas, and the data of real events fits them.

mod common;

use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

/// A small structural check of `data` against a JSON Schema object (the shapes our events use:
/// objects of strings, integers, nullable strings and arrays of strings).
fn fits(schema: &Value, data: &Value) -> Result<(), String> {
    let props = schema["properties"].as_object().ok_or("no properties")?;
    for key in data.as_object().ok_or("data is not an object")?.keys() {
        if !props.contains_key(key) {
            return Err(format!("`{key}` is not in the schema"));
        }
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap();
        if data.get(name).is_none() {
            return Err(format!("required `{name}` is missing"));
        }
    }
    for (name, p) in props {
        let Some(v) = data.get(name) else { continue };
        let types: Vec<&str> = match &p["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        let ok = types.iter().any(|t| match *t {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "array" => v.is_array(),
            "null" => v.is_null(),
            "object" => v.is_object(),
            "boolean" => v.is_boolean(),
            _ => true,
        });
        if !ok {
            return Err(format!("`{name}` = {v} is not {types:?}"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn events_name_their_published_schema_and_fit_it() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let listed = app.get("/api/v1/events").await;
        assert_eq!(listed.status, 200, "{}", listed.text());
        let items = listed.json()["items"].as_array().unwrap().clone();
        let types: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
        for t in [
            "aloft.customer.created",
            "aloft.customer.updated",
            "aloft.customer.merged",
            "aloft.customer.unmerged",
            "aloft.travel.booking.recorded",
        ] {
            assert!(types.contains(&t), "{t} is published: {types:?}");
        }
        // Every family a webhook endpoint may take names events the application publishes.
        for (family, _) in aloft_webhooks::model::FAMILIES {
            assert!(
                types.iter().any(|t| t.starts_with(family)),
                "webhook family {family} has no published event: {types:?}"
            );
        }
        let c = app
            .create_customer(json!({"first_name": "Ana", "last_name": "Silva"}))
            .await;
        let id = c["id"].as_str().unwrap();
        let patched = app
            .request(
                "PATCH",
                &format!("/api/v1/customers/{id}"),
                &[
                    ("authorization", app.token.as_str()),
                    ("content-type", "application/merge-patch+json"),
                    ("if-match", "\"1\""),
                ],
                bytes::Bytes::from(r#"{"preferences":{"drink":"Tea"}}"#),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text());
        let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox ORDER BY seq")
            .fetch_all(app.test_db.db.pool())
            .await
            .unwrap();
        assert!(payloads.len() >= 2);
        for p in payloads {
            let event: Value = serde_json::from_str(&p).unwrap();
            let url = event["dataschema"]
                .as_str()
                .expect("every event names its schema");
            let schema = app.get(url).await;
            assert_eq!(schema.status, 200, "{url}");
            assert_eq!(schema.header("content-type"), "application/schema+json");
            let schema = schema.json();
            assert_eq!(schema["title"], event["type"]);
            fits(&schema, &event["data"]).unwrap_or_else(|e| panic!("{}: {e}", event["type"]));
        }
        assert_eq!(
            app.get("/api/v1/events/aloft.customer.created/v9")
                .await
                .status,
            404
        );
        app.stop().await;
    })
    .await;
}
