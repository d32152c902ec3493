//! Errors as JSON `{"error", "detail"}`, and the request-body parsing that names the field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::planner::cutover::CutoverError;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub detail: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }
    pub fn unprocessable(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }
    pub fn body(&self) -> Value {
        json!({"error": self.error, "detail": self.detail})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        ApiError::internal(e.to_string())
    }
}

impl From<CutoverError> for ApiError {
    fn from(e: CutoverError) -> ApiError {
        let detail = e.to_string();
        match e {
            CutoverError::Unknown { .. } => ApiError::not_found(detail),
            CutoverError::Refused { .. } => ApiError::new(StatusCode::CONFLICT, "refused", detail),
            CutoverError::Unhealthy { .. } => {
                ApiError::new(StatusCode::CONFLICT, "unhealthy", detail)
            }
            CutoverError::Soak { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "soak",
                format!("{detail}; wait, or send \"skip_soak\": true"),
            ),
            CutoverError::Drift(_) => ApiError::new(StatusCode::CONFLICT, "drift", detail),
            CutoverError::Busy { holder, .. } => {
                ApiError::new(StatusCode::CONFLICT, "busy", format!("held by {holder}"))
            }
            CutoverError::Changed { .. } => ApiError::new(StatusCode::CONFLICT, "changed", detail),
            CutoverError::Planner(_) => ApiError::new(StatusCode::BAD_GATEWAY, "provider", detail),
            _ => ApiError::internal(detail),
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(r: axum::extract::rejection::BytesRejection) -> ApiError {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "payload_too_large",
                format!("the body is over {} bytes", super::BODY_LIMIT),
            )
        } else {
            ApiError::new(status, "bad_request", r.body_text())
        }
    }
}

/// A JSON object body: 400 when it is not JSON, 422 when it is not an object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::unprocessable(format!(
            "the body must be a JSON object, not {}",
            kind(&other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Take field `name` out of `m` as a `T` (422 naming the field when it has the wrong type;
/// when it is missing and `required`).
pub fn take<T: DeserializeOwned>(
    m: &mut Map<String, Value>,
    name: &str,
    required: bool,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    match m.remove(name) {
        None | Some(Value::Null) if required => Err(ApiError::unprocessable(format!(
            "missing field `{name}` ({expected})"
        ))),
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let k = kind(&v);
            serde_json::from_value(v).map(Some).map_err(|_| {
                ApiError::unprocessable(format!("field `{name}`: expected {expected}, got {k}"))
            })
        }
    }
}

/// 422 naming the first field left in `m` (unknown fields are refused: a typo must not turn
/// into a default).
pub fn deny_rest(m: &Map<String, Value>) -> Result<(), ApiError> {
    match m.keys().next() {
        Some(k) => Err(ApiError::unprocessable(format!("unknown field `{k}`"))),
        None => Ok(()),
    }
}
