//! Out-of-band call events (Creovai's Async Metadata API):
//! `POST /callevent/v1/outofband/event` stores an event and attaches it to a
//! call by session id or matching rule, or leaves it waiting;
//! `GET /callevent/v1/outofband/events` lists events by status.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use inlet_domain::{EventId, Role};
use inlet_match::parse_call_event;
use inlet_store::{
    CallEventOutcome, CallEventQuery, CallEventView, EventState, EventStatus, NewCallEvent,
    StoreError,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Caller, EventSender};
use crate::batch::parse_off_the_workers;
use crate::body::JsonBody;
use crate::context::RequestContext;
use crate::page;
use crate::{ApiError, AppState};

/// `POST /callevent/v1/outofband/event` (role `AsyncMetaData`).
pub(crate) async fn receive_event(
    State(state): State<AppState>,
    EventSender(caller): EventSender,
    context: axum::extract::Extension<std::sync::Arc<RequestContext>>,
    JsonBody(text): JsonBody,
) -> Result<Response, ApiError> {
    let event = parse_off_the_workers(text.len(), move || parse_call_event(&text))
        .await?
        .map_err(|err| ApiError::bad_request(err.0))?;
    let generated_id = event.event_id.is_none();
    let event_id = event.event_id.clone().unwrap_or_else(EventId::generate);
    let now = state.clock.now();
    let outcome = state
        .store
        .insert_call_event(
            NewCallEvent {
                tenant: caller.tenant.clone(),
                api_id: caller.api_id.clone(),
                request_id: context.id.clone(),
                received_at: now,
                event_id: event_id.clone(),
                generated_id,
                event,
            },
            state.calls.expired_before(now),
        )
        .await?;
    let state = match outcome {
        CallEventOutcome::Stored(state) => {
            count_events(state.status.name(), 1);
            state
        }
        CallEventOutcome::Duplicate(state) => state,
        CallEventOutcome::Conflict => {
            return Err(ApiError::event_id_conflict(event_id.as_str()));
        }
    };
    Ok(Json(answer(&event_id, &state)).into_response())
}

/// `inlet_call_events_total{outcome}` counts events entering a status:
/// `matched` or `pending` on arrival, `matched` again when a call or new
/// rules attach a waiting event, `unmatched` when the TTL passes.
fn count_events(outcome: &'static str, events: u64) {
    if events > 0 {
        metrics::counter!("inlet_call_events_total", "outcome" => outcome).increment(events);
    }
}

/// Records waiting events that a call or new rules attached.
pub(crate) fn count_late_matches(events: u64) {
    count_events(EventStatus::Matched.name(), events);
}

/// How often [`crate::serve`] counts the events that reached their TTL.
pub const UNMATCHED_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Counts the pending events that reached their TTL since the last sweep
/// (of any node sharing the store) as `unmatched`; how many that was.
pub async fn sweep_unmatched(state: &AppState) -> Result<u64, StoreError> {
    let expired_before = state.calls.expired_before(state.clock.now());
    let events = state.store.sweep_unmatched(expired_before).await?;
    count_events(EventStatus::Unmatched.name(), events);
    Ok(events)
}

/// `{"eventId","status","sessionIds"}`.
fn answer(event_id: &EventId, state: &EventState) -> Value {
    json!({
        "eventId": event_id,
        "status": state.status.name(),
        "sessionIds": state.session_ids,
    })
}

/// Query of `GET /callevent/v1/outofband/events`.
#[derive(Debug, Deserialize)]
pub(crate) struct EventParams {
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /callevent/v1/outofband/events?status=&limit=&cursor=` (role `read`).
pub(crate) async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<EventParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Read)?;
    let Query(params) = params.map_err(|rejection| {
        ApiError::bad_request(format!("invalid query string: {}", rejection.body_text()))
    })?;
    let status = params
        .status
        .as_deref()
        .map(|text| {
            EventStatus::parse(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "status must be pending, unmatched or matched, got {text:?}"
                ))
            })
        })
        .transpose()?;
    let limit = page::limit(params.limit.as_deref())?;
    let after = page::cursor(params.cursor.as_deref())?;
    let page = state
        .store
        .list_call_events(
            &caller.tenant,
            CallEventQuery {
                status,
                expired_before: state.calls.expired_before(state.clock.now()),
                after,
                limit,
            },
        )
        .await?;
    let next_cursor = page
        .has_more
        .then(|| page.items.last().map(|last| last.position.to_string()))
        .flatten();
    let events: Vec<Value> = page.items.iter().map(listed).collect();
    let mut body = json!({ "events": events });
    if let Some(cursor) = next_cursor {
        body["nextCursor"] = Value::String(cursor);
    }
    Ok(Json(body))
}

fn listed(event: &CallEventView) -> Value {
    let mut body = json!({
        "eventId": event.event_id,
        "eventTime": event.event_time,
        "receivedAt": event.received_at,
        "status": event.status.name(),
        "metadata": event.metadata,
    });
    if let Some(session) = &event.session_id {
        body["sessionId"] = json!(session);
    }
    if let Some(attachment) = &event.attachment {
        let mut matched = json!({
            "sessionId": attachment.session_id,
            "matchedBy": attachment.matched_by.label(),
            "via": attachment.via().name(),
        });
        if let Some(group) = &attachment.group {
            matched["callGroup"] = json!(group);
        }
        if attachment.ambiguous {
            matched["ambiguous"] = Value::Bool(true);
        }
        body["match"] = matched;
    }
    body
}
