//! The overall request timeout: no request holds a connection longer than
//! `limits.request_timeout_seconds`; past it the client gets 503 `503-01`
//! with `Retry-After` instead of a hang.
//!
//! A write whose answer timed out may still commit afterwards: clients that
//! send their own eventIds can retry it safely.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// Middleware: runs the request under the configured timeout.
pub(crate) async fn request_timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_s = limit.as_secs(), "request timed out");
            ApiError::too_slow(limit.as_secs()).into_response()
        }
    }
}
