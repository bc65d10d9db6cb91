//! RFC 9457 problem details: the one error shape every Aloft API speaks.
//!
//! Domain code reports [`FieldError`]s (a JSON pointer to the offending field and a sentence a
//! person can act on); HTTP code turns an [`ApiError`] into `application/problem+json` once, here.
//! Problem bodies never echo submitted values back, so they never carry personal data.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::StorageError;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field, e.g. `/address/country`. Query parameters use
    /// `#name`.
    pub pointer: String,
    /// What is wrong and what would be right.
    pub detail: String,
}

impl FieldError {
    /// An error for the field at `pointer`.
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

/// The RFC 9457 body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` for plain HTTP statuses).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every invalid field, when the problem is about the request's content.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem of type `urn:aloft:problem:<slug>`.
    pub fn new(status: StatusCode, slug: &str, title: &str) -> Self {
        Self {
            problem_type: format!("urn:aloft:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            errors: vec![],
        }
    }

    /// Adds what went wrong in this occurrence.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Every way an API call can fail, mapped once to status and problem type.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not well-formed (bad JSON syntax, wrong content type).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The request is well-formed but some fields are invalid.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// The addressed resource does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// `If-Match` named a version that is no longer current.
    #[error("precondition failed")]
    PreconditionFailed,
    /// A uniqueness rule was violated (e.g. a loyalty number already in use).
    #[error("conflict: {}", .0.detail)]
    Conflict(FieldError),
    /// The body exceeds the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The content type is not one this endpoint accepts.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A dependency (the database) is down; the client should retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or unexpected failure; details go to the log, not to the client.
    #[error("internal error: {0}")]
    Internal(String),
    /// A fully formed problem (authentication, authorisation, rate limits…).
    #[error("{}", .0.title)]
    Problem(Problem),
}

impl ApiError {
    /// An `Invalid` error with a single field.
    pub fn field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(pointer, detail)])
    }

    /// The problem body and status for this error.
    pub fn to_problem(&self) -> Problem {
        if let ApiError::Problem(p) = self {
            return p.clone();
        }
        let (status, slug, title, detail, errors) = match self {
            ApiError::Malformed(d) => {
                (400, "malformed-request", "Malformed request", Some(d.clone()), vec![])
            }
            ApiError::Invalid(errs) => (
                422,
                "validation-error",
                "Some fields are invalid",
                Some(format!("{} field(s) need attention; see `errors`.", errs.len())),
                errs.clone(),
            ),
            ApiError::NotFound(what) => {
                (404, "not-found", "Not found", Some(format!("No such {what}.")), vec![])
            }
            ApiError::PreconditionFailed => (
                412,
                "stale-version",
                "The resource changed since you read it",
                Some("If-Match does not name the current version; read it again and reapply your change.".into()),
                vec![],
            ),
            ApiError::Conflict(e) => (
                409,
                "conflict",
                "Conflicts with existing data",
                Some(e.detail.clone()),
                vec![e.clone()],
            ),
            ApiError::PayloadTooLarge => (
                413,
                "payload-too-large",
                "Request body too large",
                Some(format!("The limit is {} bytes.", crate::http::BODY_LIMIT)),
                vec![],
            ),
            ApiError::UnsupportedMediaType => (
                415,
                "unsupported-media-type",
                "Unsupported media type",
                Some("Send `Content-Type: application/json`.".into()),
                vec![],
            ),
            ApiError::Unavailable(_) => (
                503,
                "service-unavailable",
                "Temporarily unavailable",
                Some("A dependency is unavailable; retry after the time in Retry-After.".into()),
                vec![],
            ),
            ApiError::Internal(_) => (
                500,
                "internal-error",
                "Internal error",
                Some("Something went wrong on our side; the request id identifies it in our logs.".into()),
                vec![],
            ),
            ApiError::Problem(_) => unreachable!("returned above"),
        };
        Problem {
            problem_type: format!("urn:aloft:problem:{slug}"),
            title: title.into(),
            status,
            detail,
            errors,
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(d) => ApiError::Unavailable(d),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "dependency unavailable")
            }
            _ => {}
        }
        problem_response(&self.to_problem())
    }
}

/// Serialises `problem` with the right status, content type and, for 503, `Retry-After`.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problems_list_every_field() {
        let p = ApiError::Invalid(vec![
            FieldError::new("/email", "not an e-mail address"),
            FieldError::new("/phone", "not E.164"),
        ])
        .to_problem();
        assert_eq!(p.status, 422);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["errors"][1]["pointer"], "/phone");
        assert_eq!(json["type"], "urn:aloft:problem:validation-error");
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let r = ApiError::Unavailable("db down".into()).into_response();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
