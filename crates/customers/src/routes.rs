//! The customer profile REST API under `/api/v1/customers`, documented in OpenAPI from this code.
//!
//! Optimistic concurrency: responses carry `ETag: "<version>"`; `PATCH` must send `If-Match` (428
//! without it) and fails with 412 when the profile changed meanwhile. Updates are JSON merge patches (RFC 7396): a member set
//! to `null` is removed, nested objects merge.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, FieldError, Problem};

use crate::disclosure::Disclosure;
use crate::model::{CustomerId, EmailAddress, LoyaltyNumber, PassportNumber, PhoneNumber, Profile};
use crate::storage::{Cursor, Customer, CustomerQuery, CustomerStore, Reader};

/// Who may call the customer API.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/customers",
        Access::Permission(crate::permissions::CUSTOMER_READ),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/customers",
        Access::Permission(crate::permissions::CUSTOMER_WRITE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}",
        Access::Permission(crate::permissions::CUSTOMER_READ),
    ),
    RoutePolicy::new(
        "PATCH",
        "/api/v1/customers/{id}",
        Access::Permission(crate::permissions::CUSTOMER_WRITE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/me",
        Access::Permission(crate::permissions::OWN_PROFILE),
    ),
    RoutePolicy::new(
        "PATCH",
        "/api/v1/me",
        Access::Permission(crate::permissions::OWN_PROFILE),
    ),
];

/// Fields a passenger may change about themselves. Identity documents, loyalty standing and
/// names stay with staff, who check documents; contact details and preferences are the
/// passenger's own to keep current.
pub const SELF_SERVICE_FIELDS: &[&str] = &["email", "phone", "address", "preferences", "title"];

/// The customer API routes, with their OpenAPI descriptions.
pub fn api_routes(store: CustomerStore) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(get_me, update_me))
        .with_state(store)
}

/// A page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    /// The customers on this page.
    pub items: Vec<Customer>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The customer as this caller may see it (travel documents masked without the permission).
fn disclosed(customer: &Customer, disclosure: Disclosure) -> serde_json::Value {
    let mut doc = serde_json::to_value(customer).unwrap_or(serde_json::Value::Null);
    disclosure.apply(&mut doc);
    doc
}

fn with_etag(status: StatusCode, customer: &Customer) -> Response {
    let body = disclosed(customer, Disclosure::current());
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(header::ETAG, etag(customer.version));
    r
}

fn parse_id(raw: &str) -> Result<CustomerId, ApiError> {
    // An id that cannot exist is simply not found: no need to teach clients our id format.
    CustomerId::parse(raw).ok_or(ApiError::NotFound("customer"))
}

/// The version named by `If-Match` (`"7"`, `W/"7"`), `None` with `*` (the caller's explicit
/// choice to overwrite any version). Without the header: 428, because a merge patch sent blind
/// silently overwrites whatever changed since the caller read the profile (a lost update).
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::Problem(
            Problem::new(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "If-Match is required",
            )
            .with_detail(
                "Read the profile and send its ETag in If-Match, so that you never overwrite a \
                 change you have not seen.",
            ),
        ));
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::PreconditionFailed)?
        .trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| ApiError::PreconditionFailed)
}

/// Validates the search parameters; every bad one is reported, each named as `#param`.
fn parse_query(pairs: Vec<(String, String)>) -> Result<CustomerQuery, ApiError> {
    let mut q = CustomerQuery {
        limit: 20,
        ..Default::default()
    };
    let mut errors = Vec::new();
    for (key, value) in pairs {
        let pointer = format!("#{key}");
        let v = value.trim();
        if v.is_empty() {
            continue;
        }
        let mut check = |r: Result<String, String>| match r {
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(FieldError::new(pointer.clone(), e));
                None
            }
        };
        match key.as_str() {
            "name" => q.name = Some(v.to_owned()),
            "email" => q.email = check(EmailAddress::parse(v).map(|e| e.key())),
            // A `+` left unencoded in a query string arrives as a space: accept both.
            "phone" => {
                let with_plus = if v.starts_with('+') { v.to_owned() } else { format!("+{v}") };
                q.phone = check(PhoneNumber::parse(&with_plus).map(|p| p.as_str().to_owned()));
            }
            "loyalty_number" => q.loyalty_number = check(LoyaltyNumber::parse(v).map(|l| l.as_str().to_owned())),
            "passport_number" => {
                q.passport_number = check(PassportNumber::parse(v).map(|p| p.as_str().to_owned()))
            }
            "cursor" => match Cursor::decode(v) {
                Some(c) => q.cursor = Some(c),
                None => errors.push(FieldError::new(pointer, "is not a cursor this API returned")),
            },
            "limit" => match v.parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => q.limit = n,
                _ => errors.push(FieldError::new(pointer, "must be a whole number from 1 to 100")),
            },
            _ => errors.push(FieldError::new(
                pointer,
                "is not a known parameter; expected name, email, phone, loyalty_number, passport_number, cursor or limit",
            )),
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// List or search customers.
///
/// Without filters, lists every customer in creation order. Filters combine with AND: `name`
/// matches a prefix of the first or last name, ignoring case and accents ("mull" finds Müller;
/// "zoe mul" finds Zoë Müller); the others match exactly after normalisation. Name results come
/// best match first — both words matched, then last name, then first name — alphabetically
/// within each.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "customers",
    params(
        ("name" = Option<String>, Query, description = "Name prefix (first and/or last name), case- and accent-insensitive"),
        ("email" = Option<String>, Query, description = "E-mail address, exact, case-insensitive"),
        ("phone" = Option<String>, Query, description = "Phone number, E.164 (`+` may be omitted)"),
        ("loyalty_number" = Option<String>, Query, description = "Frequent-flyer number"),
        ("passport_number" = Option<String>, Query, description = "Passport number"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, description = "Page size, 1–100 (default 20)"),
    ),
    responses(
        (status = 200, description = "A page of customers", body = CustomerList),
        (status = 422, description = "A parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry later", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_customers(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let query = parse_query(pairs)?;
    let principal = aloft_authz::current_principal();
    let page = store
        .search(&query, Reader::request(principal.as_ref()))
        .await?;
    store
        .record_reads(&ctx, crate::events::audit::CUSTOMER_SEARCH, &page.items)
        .await?;
    let disclosure = Disclosure::current();
    let items: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|c| disclosed(c, disclosure))
        .collect();
    let mut body = serde_json::json!({ "items": items });
    if let Some(next) = page.next {
        body["next_cursor"] = serde_json::Value::String(next.encode());
    }
    Ok(axum::Json(body).into_response())
}

/// Create a customer profile.
///
/// `first_name` and `last_name` are required; every other field is optional. Unknown fields are
/// rejected. Returns the stored profile with its id, version and `ETag`.
#[utoipa::path(
    post,
    path = "/api/v1/customers",
    tag = "customers",
    request_body(content = Profile, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Customer,
            headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The new profile's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Loyalty number already in use", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry later", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_customer(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let profile =
        Profile::parse(&body, chrono::Utc::now().date_naive()).map_err(ApiError::Invalid)?;
    let customer = store.create(profile, &ctx).await?;
    let mut r = with_etag(StatusCode::CREATED, &customer);
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/customers/{}", customer.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

/// Read a customer profile.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The profile", body = Customer, headers(("ETag" = String, description = "The version"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version"),
        (status = 308, description = "The profile was merged; `Location` is the profile it was merged into"),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry later", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_customer(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    ensure_visible(&store, id).await?;
    let customer = store.get(id).await?.ok_or(ApiError::NotFound("customer"))?;
    if let Some(survivor) = customer.merged_into {
        // Golden ids are stable: a merged profile's id leads to the profile it was merged into.
        let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
        if let Ok(v) = header::HeaderValue::from_str(&format!("/api/v1/customers/{survivor}")) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(r);
    }
    store
        .record_reads(
            &ctx,
            crate::events::audit::CUSTOMER_READ,
            std::slice::from_ref(&customer),
        )
        .await?;
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == etag(customer.version))
    {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut().insert(header::ETAG, etag(customer.version));
        return Ok(r);
    }
    Ok(with_etag(StatusCode::OK, &customer))
}

/// Change a customer profile (JSON merge patch).
///
/// Send only the fields to change; `null` clears an optional field. `If-Match` with the `ETag`
/// you read is required (428 without it), so that you never overwrite someone else's change
/// (412 if you would).
#[utoipa::path(
    patch,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(
        ("id" = String, Path, description = "Customer id"),
        ("If-Match" = String, Header, description = "The `ETag` you read (required)"),
    ),
    request_body(content = Object, content_type = "application/merge-patch+json", description = "Fields to change; same names as the profile"),
    responses(
        (status = 200, description = "The updated profile", body = Customer, headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Loyalty number already in use", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The profile changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match: read the profile and send its ETag", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry later", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_customer(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let id = parse_id(&id)?;
    ensure_visible(&store, id).await?;
    let customer = store
        .update(id, expected, &patch, chrono::Utc::now().date_naive(), &ctx)
        .await?;
    Ok(with_etag(StatusCode::OK, &customer))
}

/// Row scope: a customer outside the caller's scope does not exist for them (404, so that
/// probing ids reveals nothing).
async fn ensure_visible(store: &CustomerStore, id: CustomerId) -> Result<(), ApiError> {
    let principal = aloft_authz::current_principal();
    if store
        .visible(Reader::request(principal.as_ref()), id)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::NotFound("customer"))
    }
}

/// The signed-in passenger's own customer id (from their token's row scope).
fn own_id() -> Result<CustomerId, ApiError> {
    aloft_authz::current_principal()
        .and_then(|p| {
            p.scope
                .value_of(crate::permissions::OWN_RECORD)
                .and_then(CustomerId::parse)
        })
        .ok_or(ApiError::NotFound("customer"))
}

/// Your own profile (passengers).
///
/// With a passenger token, the profile the token belongs to — and only that one.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "passengers",
    responses(
        (status = 200, description = "Your profile", body = Customer, headers(("ETag" = String, description = "The version"))),
        (status = 401, description = "No or invalid passenger token", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_me(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
) -> Result<Response, ApiError> {
    let customer = store
        .get(own_id()?)
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    store
        .record_reads(
            &ctx,
            crate::events::audit::CUSTOMER_READ_OWN,
            std::slice::from_ref(&customer),
        )
        .await?;
    let mut r = (StatusCode::OK, axum::Json(&customer)).into_response();
    r.headers_mut().insert(header::ETAG, etag(customer.version));
    Ok(r)
}

/// Change your own contact details and preferences (passengers).
///
/// A JSON merge patch of `email`, `phone`, `address`, `preferences` and `title`; other fields
/// (names, travel documents, loyalty) are changed by airline staff.
#[utoipa::path(
    patch,
    path = "/api/v1/me",
    tag = "passengers",
    params(("If-Match" = String, Header, description = "The `ETag` you read (required)")),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Your updated profile", body = Customer),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match: read your profile and send its ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or fields you cannot change yourself", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_me(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    headers: HeaderMap,
    JsonBody(patch): JsonBody,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let id = own_id()?;
    if let serde_json::Value::Object(fields) = &patch {
        let refused: Vec<FieldError> = fields
            .keys()
            .filter(|k| !SELF_SERVICE_FIELDS.contains(&k.as_str()))
            .map(|k| {
                FieldError::new(
                    format!("/{k}"),
                    "is changed by airline staff, not through self-service",
                )
            })
            .collect();
        if !refused.is_empty() {
            return Err(ApiError::Invalid(refused));
        }
    }
    let customer = store
        .update(id, expected, &patch, chrono::Utc::now().date_naive(), &ctx)
        .await?;
    let mut r = (StatusCode::OK, axum::Json(&customer)).into_response();
    r.headers_mut().insert(header::ETAG, etag(customer.version));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_parameters_are_normalised() {
        let q = parse_query(pairs(&[
            ("phone", " 44 1632 960961"),
            ("email", "A@B.CO"),
            ("loyalty_number", "al 123456"),
        ]))
        .unwrap();
        assert_eq!(q.phone.as_deref(), Some("+441632960961"));
        assert_eq!(q.email.as_deref(), Some("a@b.co"));
        assert_eq!(q.loyalty_number.as_deref(), Some("AL123456"));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let Err(ApiError::Invalid(errs)) = parse_query(pairs(&[
            ("limit", "1000"),
            ("colour", "red"),
            ("email", "x"),
            ("cursor", "zz"),
        ])) else {
            panic!("expected invalid")
        };
        let names: Vec<_> = errs.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(names, vec!["#limit", "#colour", "#email", "#cursor"]);
    }

    #[test]
    fn if_match_is_required_and_accepts_strong_weak_and_star() {
        let mut h = HeaderMap::new();
        assert_eq!(
            if_match(&h).unwrap_err().to_problem().status,
            StatusCode::PRECONDITION_REQUIRED.as_u16()
        );
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"7\""));
        assert_eq!(if_match(&h).unwrap(), Some(7));
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"8\""));
        assert_eq!(if_match(&h).unwrap(), Some(8));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&h).unwrap(), None);
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"abc\""));
        assert!(if_match(&h).is_err());
    }
}
