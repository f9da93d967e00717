//! Calls (Creovai's call upload): `POST /callevent/v1/calls` registers one
//! call or `{"items": [...]}`, `GET /callevent/v1/calls/{sessionId}` reads a
//! call back with its group and the metadata of every event attached to it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use inlet_domain::Role;
use inlet_match::{Call, SessionId, parse_call};
use inlet_store::{AttachedEvent, CallBatch, CallView, StoreError};
use serde::Serialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

use crate::auth::{Caller, Ingester};
use crate::batch::{expect_object, parse_off_the_workers, split_batch};
use crate::body::JsonBody;
use crate::{ApiError, AppState};

/// The answer for one call.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CallResult {
    session_id: String,
    error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// One call of the request, validated.
struct Prepared {
    call: Option<Call>,
    result: CallResult,
}

fn prepare(text: &str) -> Prepared {
    match parse_call(text) {
        Ok(call) => Prepared {
            result: CallResult {
                session_id: call.session_id.as_str().to_owned(),
                error: String::new(),
                warnings: call.warnings.clone(),
            },
            call: Some(call),
        },
        Err(err) => Prepared {
            result: CallResult {
                session_id: err.session_id.clone().unwrap_or_default(),
                error: err.message(),
                warnings: Vec::new(),
            },
            call: None,
        },
    }
}

/// Whether the body is a batch: an object with an `items` key (the values
/// are skipped, not built).
fn is_batch(text: &str) -> bool {
    serde_json::from_str::<HashMap<String, IgnoredAny>>(text)
        .is_ok_and(|object| object.contains_key("items"))
}

/// The calls of a body: one call, or the items of a batch.
fn prepare_body(text: &str) -> Result<(bool, Vec<Prepared>), ApiError> {
    expect_object(text)?;
    if is_batch(text) {
        let items = split_batch(text)?;
        Ok((true, items.iter().map(|raw| prepare(raw.get())).collect()))
    } else {
        Ok((false, vec![prepare(text)]))
    }
}

/// `POST /callevent/v1/calls` (role `ingest`).
pub(crate) async fn register_calls(
    State(state): State<AppState>,
    Ingester(caller): Ingester,
    JsonBody(text): JsonBody,
) -> Result<Response, ApiError> {
    let (batch, prepared) =
        parse_off_the_workers(text.len(), move || prepare_body(&text)).await??;
    let (calls, results): (Vec<Option<Call>>, Vec<CallResult>) =
        prepared.into_iter().map(|p| (p.call, p.result)).unzip();
    let calls: Vec<Call> = calls.into_iter().flatten().collect();
    if !calls.is_empty() {
        let now = state.clock.now();
        let written = state
            .store
            .put_calls(CallBatch {
                tenant: caller.tenant.clone(),
                received_at: now,
                expired_before: state.calls.expired_before(now),
                calls,
            })
            .await?;
        crate::call_event::count_late_matches(written.late_matches);
    }
    let error_count = results.iter().filter(|r| !r.error.is_empty()).count();
    let status = if error_count == results.len() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if batch {
        json!({"errorCount": error_count, "results": results})
    } else {
        json!({"result": results.into_iter().next()})
    };
    Ok((status, Json(body)).into_response())
}

/// `GET /callevent/v1/calls/{sessionId}` (role `read`).
pub(crate) async fn show_call(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Read)?;
    let Path(id) = path.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let unknown = || ApiError::not_found(format!("no call with sessionId {id:?}"));
    let session_id = SessionId::parse(id.as_str()).map_err(|_| unknown())?;
    let view = state
        .store
        .get_call(&caller.tenant, &session_id)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => unknown(),
            other => other.into(),
        })?;
    Ok(Json(call_json(&view)))
}

/// The call as registered, with `createdAt`, `updatedAt`, `callGroup`,
/// `asyncMetadata` and `events`.
fn call_json(view: &CallView) -> Value {
    let mut body = match view.call.to_json() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("createdAt".into(), json!(view.created_at));
    body.insert("updatedAt".into(), json!(view.updated_at));
    let group = view
        .call
        .master_call_id
        .as_ref()
        .map(|id| json!({"id": id, "sessionIds": view.group_sessions}));
    body.insert("callGroup".into(), group.unwrap_or(Value::Null));
    body.insert(
        "asyncMetadata".into(),
        Value::Object(async_metadata(&view.events)),
    );
    let events: Vec<Value> = view.events.iter().map(event_json).collect();
    body.insert("events".into(), Value::Array(events));
    Value::Object(body)
}

/// The metadata of every attached event merged per top-level key, the
/// later event time winning (events come ordered by event time, then
/// receipt).
fn async_metadata(events: &[AttachedEvent]) -> Map<String, Value> {
    let mut merged = Map::new();
    for event in events {
        for (key, value) in &event.metadata {
            merged.insert(key.clone(), value.clone());
        }
    }
    merged
}

fn event_json(event: &AttachedEvent) -> Value {
    let mut body = json!({
        "eventId": event.event_id,
        "eventTime": event.event_time,
        "receivedAt": event.received_at,
        "metadata": event.metadata,
        "matchedBy": event.matched_by.label(),
        "via": event.via.name(),
    });
    if event.ambiguous {
        body["ambiguous"] = Value::Bool(true);
    }
    body
}

#[cfg(test)]
mod tests {
    use inlet_domain::{EventId, Timestamp};
    use inlet_match::{MatchedBy, Via};

    use super::*;

    fn event(id: &str, seconds: i64, metadata: Value) -> AttachedEvent {
        AttachedEvent {
            event_id: EventId::parse(id).expect("id"),
            event_time: Timestamp::from_micros(0).plus_seconds(seconds),
            received_at: Timestamp::from_micros(0),
            metadata: metadata.as_object().cloned().unwrap_or_default(),
            matched_by: MatchedBy::SessionId,
            via: Via::Call,
            ambiguous: false,
        }
    }

    #[test]
    fn the_later_event_wins_each_key_of_the_merged_metadata() {
        let merged = async_metadata(&[
            event("a", 1, json!({"x": 1, "y": 1})),
            event("b", 2, json!({"y": 2, "z": {"deep": true}})),
        ]);
        assert_eq!(
            Value::Object(merged),
            json!({"x": 1, "y": 2, "z": {"deep": true}})
        );
    }

    #[test]
    fn a_body_with_items_is_a_batch() {
        assert!(is_batch(r#"{"items": []}"#));
        assert!(!is_batch(r#"{"sessionId": "s"}"#));
        assert!(!is_batch("[1]"));
        assert_eq!(
            prepare_body("[1]")
                .map(|_| ())
                .expect_err("an array")
                .code(),
            "400-01"
        );
    }
}
