//! The request body of a JSON endpoint: content type checked, size capped
//! before it is read in full, bytes handed over as UTF-8 text.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::{ApiError, AppState};

/// A JSON request body, read in full and known to be UTF-8.
#[derive(Debug)]
pub(crate) struct JsonBody(pub(crate) String);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.limits.max_body_bytes;
        check_content_type(&request)?;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(ApiError::body_too_large(limit));
        }
        let bytes = read_limited(request, limit, state.limits.body_read_timeout).await?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::bad_request("request body is not valid UTF-8"))?;
        if text.trim().is_empty() {
            return Err(ApiError::bad_request(
                "request body is empty; send a JSON object",
            ));
        }
        Ok(Self(text))
    }
}

fn check_content_type(request: &Request) -> Result<(), ApiError> {
    let value = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or("(not text)"));
    let essence = value
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/json") => Ok(()),
        Some(other) if other.starts_with("application/") && other.ends_with("+json") => Ok(()),
        _ => Err(ApiError::not_json(value)),
    }
}

/// Reads the body up to `limit` bytes; a pause longer than `idle` between
/// two pieces of it answers 408 (a stalled client cannot hold a request,
/// and its buffer, open for ever).
async fn read_limited(request: Request, limit: usize, idle: Duration) -> Result<Bytes, ApiError> {
    let mut body = Limited::new(request.into_body(), limit);
    let mut bytes = Vec::new();
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(ApiError::body_timeout(idle.as_secs())),
            Ok(None) => return Ok(Bytes::from(bytes)),
            Ok(Some(frame)) => frame,
        };
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(ApiError::body_too_large(limit));
            }
            Err(err) => {
                return Err(ApiError::bad_request(format!(
                    "could not read the request body: {err}"
                )));
            }
        }
    }
}
