//! The one error type of the HTTP surface: each variant is a row of the
//! outcome table in DESIGN.md §3.9.
//!
//! An [`ApiError`] becomes a response carrying itself as an extension; the
//! request-context middleware renders the `{"error":{"requestId","code","message"}}`
//! envelope, because only it knows the request id. 5xx causes are logged
//! once, here, and answered with an opaque message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use inlet_store::StoreError;

/// Seconds a client should wait before retrying a 503.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 1;

/// An error answered in the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// 408 `408-01`: the body stopped arriving.
    pub fn body_timeout(idle_seconds: u64) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "408-01",
            format!(
                "no request body data arrived for {idle_seconds} s; send the body without pauses"
            ),
        )
    }

    /// 429 `429-01` with `Retry-After`: the key's request rate is spent.
    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "429-01",
            format!("rate limit reached for this key; retry after {retry_after_seconds} s"),
        )
        .retry_after(retry_after_seconds)
    }

    /// 429 `429-02` with `Retry-After`: the key's daily quota is spent.
    pub fn quota_exhausted(retry_after_seconds: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "429-02",
            "daily request quota reached for this key; it resets at 00:00 UTC",
        )
        .retry_after(retry_after_seconds)
    }

    /// 503 `503-01` for a request that ran past the request timeout.
    pub fn too_slow(timeout_seconds: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "503-01",
            format!(
                "the request took longer than {timeout_seconds} s; retry with the same eventIds, \
                 which makes the retry safe if it was stored after all"
            ),
        )
        .retry_after(UNAVAILABLE_RETRY_AFTER_SECONDS)
    }

    /// 400 `400-01`: the body is not JSON or not the expected shape, or a
    /// query parameter is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "400-01", message)
    }

    /// 401 `401-01`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "401-01", message)
    }

    /// 403 `403-01`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "403-01", message)
    }

    /// 404 `404-01`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "404-01", message)
    }

    /// 405 `405-01`: the path exists, the method does not.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "405-01",
            "method not allowed on this path",
        )
    }

    /// 409 `409-01`: the eventId was already persisted with this content.
    pub fn already_persisted(event_id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "409-01",
            format!("eventId {event_id} was already persisted"),
        )
    }

    /// 409 `409-02`: the eventId was already used for other content.
    pub fn event_id_conflict(event_id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "409-02",
            format!(
                "eventId {event_id} was already used for different content; the first version is kept"
            ),
        )
    }

    /// 413 `413-01`: the body is over the byte limit.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "413-01",
            format!("request body is larger than {limit} bytes; send fewer or smaller items"),
        )
    }

    /// 413 `413-02`: more items than a batch may hold.
    pub fn too_many_items(count: usize, max: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "413-02",
            format!("items has {count} entries; a batch holds at most {max}"),
        )
    }

    /// 422 `422-01`: `items` is empty.
    pub fn no_items() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "422-01",
            "items is empty; send 1 to 1000 items",
        )
    }

    /// 422 `422-02`: the content type is not JSON.
    pub fn not_json(content_type: Option<&str>) -> Self {
        let got = content_type.map_or_else(|| "none".to_owned(), |value| format!("{value:?}"));
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "422-02",
            format!("Content-Type must be application/json, got {got}"),
        )
    }

    /// 503 `503-01` with `Retry-After`.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "503-01",
            "service unavailable; retry after the Retry-After delay",
        )
        .retry_after(UNAVAILABLE_RETRY_AFTER_SECONDS)
    }

    /// 500 `500-01`; the cause is logged here and never answered.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500-01",
            "internal server error",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `STATUS-SUBCODE` code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message answered to the client.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found("not found"),
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "store unavailable");
                Self::unavailable()
            }
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_store_answers_503_01_with_retry_after() {
        let error = ApiError::from(StoreError::Unavailable("queue full".into()));
        assert_eq!(
            (error.status(), error.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "503-01")
        );
        assert!(
            !error.message().contains("queue"),
            "causes are not answered"
        );
        let response = error.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn other_store_errors_answer_an_opaque_500_01() {
        let error = ApiError::from(StoreError::Other("disk I/O error at page 7".into()));
        assert_eq!(error.code(), "500-01");
        assert_eq!(error.message(), "internal server error");
    }
}
