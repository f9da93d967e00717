//! A tenant's matching rules: `PUT /callevent/v1/matching-rules` replaces
//! them (and re-matches waiting, unmatched and rule-matched events),
//! `GET` answers them; both need the `admin` role.

use axum::Json;
use axum::extract::State;
use inlet_match::parse_rules;
use serde_json::Value;

use crate::auth::Admin;
use crate::body::JsonBody;
use crate::{ApiError, AppState};

/// `PUT /callevent/v1/matching-rules`: `{"rules": [...]}`.
pub(crate) async fn replace_rules(
    State(state): State<AppState>,
    Admin(caller): Admin,
    JsonBody(text): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body: Value = serde_json::from_str(&text)
        .map_err(|err| ApiError::bad_request(format!("request body is not valid JSON: {err}")))?;
    let rules =
        parse_rules(&body).map_err(|problems| ApiError::bad_request(problems.join("; ")))?;
    let answer = rules.to_json();
    let late_matches = state
        .store
        .put_matching_rules(&caller.tenant, rules, state.clock.now())
        .await?;
    crate::call_event::count_late_matches(late_matches);
    Ok(Json(answer))
}

/// `GET /callevent/v1/matching-rules`.
pub(crate) async fn show_rules(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<Json<Value>, ApiError> {
    let rules = state.store.get_matching_rules(&caller.tenant).await?;
    Ok(Json(rules.to_json()))
}
