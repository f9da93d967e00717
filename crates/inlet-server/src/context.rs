//! Per-request context: the request id, who called, and the one log line per
//! request, and the request metrics. Also where an [`ApiError`] becomes its
//! JSON envelope.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use inlet_domain::{ApiId, TenantId};
use tokio::time::Instant;

use crate::ApiError;

/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`REQUEST_ID_HEADER`] parsed once, not on every answer.
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// What the server knows about the request being handled.
#[derive(Debug)]
pub(crate) struct RequestContext {
    /// A fresh UUIDv7 naming this request in answers, logs and stored rows.
    pub(crate) id: String,
    caller: OnceLock<(ApiId, TenantId)>,
}

impl RequestContext {
    /// Records who called, once auth has succeeded; for the request log.
    pub(crate) fn set_caller(&self, api_id: &ApiId, tenant: &TenantId) {
        let _ = self.caller.set((api_id.clone(), tenant.clone()));
    }
}

/// Middleware: assigns the request id, renders error envelopes, sets
/// `x-request-id` and logs one line per request (no bodies, no secrets).
pub(crate) async fn request_context(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let context = Arc::new(RequestContext {
        id: uuid::Uuid::now_v7().to_string(),
        caller: OnceLock::new(),
    });
    // A clone of the matched path is a reference count, not a copy.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().clone();
    request.extensions_mut().insert(Arc::clone(&context));

    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        response = render(&context.id, &error, response);
    }
    if let Ok(value) = HeaderValue::from_str(&context.id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let latency = started.elapsed();
    let status = response.status().as_u16();
    crate::metrics::record_request(route, status, latency);
    let (api_id, tenant) = context.caller.get().map_or(("-", "-"), |(api_id, tenant)| {
        (api_id.as_str(), tenant.as_str())
    });
    tracing::info!(
        request_id = %context.id,
        %method,
        route,
        status,
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        api_id,
        tenant,
        "request"
    );
    response
}

fn render(request_id: &str, error: &ApiError, original: Response) -> Response {
    let body = serde_json::json!({
        "error": {"requestId": request_id, "code": error.code(), "message": error.message()}
    });
    let (mut parts, _) = original.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string())).into_response()
}
