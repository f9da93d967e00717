//! ASAPP's health check: `GET /v1/health` with any valid key.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::{ApiError, AppState};

/// `GET /v1/health`: `{"healthCheck":"SUCCESS"}` when the store answers,
/// 503 `503-01` when it does not.
pub(crate) async fn health_check(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(json!({"healthCheck": "SUCCESS"})))
}
