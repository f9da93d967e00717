//! Read-back: entities by id, events by eventId, and the rejections list.
//! Role `read`; every lookup is scoped to the caller's tenant, so another
//! tenant's ids answer 404, never 403.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use inlet_domain::{ApiId, EntityId, EntityKind, EventId, Role, Timestamp};
use inlet_store::{EntityView, RejectionQuery, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::page;
use crate::{ApiError, AppState};

/// `GET /metadata-ingestion/v1/conversations/{externalConversationId}`
pub(crate) async fn show_conversation(
    state: State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    show_entity(state, caller, EntityKind::Conversation, path_id(id)?).await
}

/// `GET /metadata-ingestion/v1/customers/{externalCustomerId}`
pub(crate) async fn show_customer(
    state: State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    show_entity(state, caller, EntityKind::Customer, path_id(id)?).await
}

/// `GET /metadata-ingestion/v1/agents/{externalAgentId}`
pub(crate) async fn show_agent(
    state: State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    show_entity(state, caller, EntityKind::Agent, path_id(id)?).await
}

async fn show_entity(
    State(state): State<AppState>,
    caller: Caller,
    kind: EntityKind,
    id: String,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Read)?;
    let view = state
        .store
        .get_entity(&caller.tenant, kind, &EntityId::new(id.as_str()))
        .await
        .map_err(|err| not_found(err, || format!("no {kind} with id {id:?}")))?;
    Ok(Json(entity_json(view)))
}

/// The id segment of a read path. One that does not decode (percent-escapes
/// that are not UTF-8) names nothing that could exist: 404, like any unknown
/// id, in the envelope rather than axum's plain-text rejection.
fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id).map_err(|_| {
        ApiError::not_found("no such id: the id in the path is not UTF-8 once percent-decoded")
    })
}

fn entity_json(view: EntityView) -> Value {
    let mut body = Map::new();
    body.insert(
        view.kind.id_field().to_owned(),
        view.entity_id.as_str().into(),
    );
    body.insert("metadata".to_owned(), Value::Object(view.metadata));
    let links: Vec<Value> = view.links.iter().map(|id| id.as_str().into()).collect();
    match view.kind {
        EntityKind::Conversation => {
            body.insert("customers".to_owned(), links.into());
        }
        EntityKind::Customer => {
            body.insert("conversations".to_owned(), links.into());
        }
        EntityKind::Agent => {}
    }
    body.insert(
        "firstSeenAt".to_owned(),
        view.first_seen_at.to_string().into(),
    );
    body.insert("updatedAt".to_owned(), view.updated_at.to_string().into());
    let history: Vec<Value> = view
        .history
        .into_iter()
        .map(|entry| {
            serde_json::json!({
                "eventId": entry.event_id,
                "receivedAt": entry.received_at,
                "item": item_value(&entry.item),
            })
        })
        .collect();
    body.insert("history".to_owned(), history.into());
    Value::Object(body)
}

/// A stored item text as JSON; text that no longer parses (cut rejections)
/// is answered as a string.
fn item_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// `GET /metadata-ingestion/v1/events/{eventId}`
pub(crate) async fn show_event(
    State(state): State<AppState>,
    caller: Caller,
    event_id: Result<Path<String>, PathRejection>,
) -> Result<Json<EventResponse>, ApiError> {
    caller.require(Role::Read)?;
    let event_id = path_id(event_id)?;
    let missing = || ApiError::not_found(format!("no event with eventId {event_id:?}"));
    let parsed = EventId::parse(event_id.as_str()).map_err(|_| missing())?;
    let event = state
        .store
        .get_event(&caller.tenant, &parsed)
        .await
        .map_err(|err| not_found(err, || format!("no event with eventId {event_id:?}")))?;
    Ok(Json(EventResponse {
        event_id: event.event_id.into_string(),
        kind: event.kind.as_str(),
        entity_id: event.entity_id.as_str().to_owned(),
        received_at: event.received_at,
        api_id: event.api_id.into_string(),
        request_id: event.request_id,
        item: raw(event.item),
    }))
}

/// The answer of `GET /metadata-ingestion/v1/events/{eventId}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventResponse {
    event_id: String,
    kind: &'static str,
    entity_id: String,
    received_at: Timestamp,
    api_id: String,
    request_id: String,
    item: Box<RawValue>,
}

fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|err| {
        tracing::warn!(error = %err, "stored item is not JSON");
        RawValue::from_string("null".to_owned()).expect("null is JSON")
    })
}

/// Query of `GET /metadata-ingestion/v1/rejections`.
#[derive(Debug, Deserialize)]
pub(crate) struct RejectionParams {
    since: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /metadata-ingestion/v1/rejections?since=&limit=&cursor=`
pub(crate) async fn list_rejections(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<RejectionParams>, QueryRejection>,
) -> Result<Json<RejectionsResponse>, ApiError> {
    caller.require(Role::Read)?;
    // A repeated or undecodable parameter: 400 in the envelope, not axum's
    // plain-text rejection.
    let Query(params) = params.map_err(|rejection| {
        ApiError::bad_request(format!("invalid query string: {}", rejection.body_text()))
    })?;
    let query = rejection_query(&params)?;
    let page = state.store.list_rejections(&caller.tenant, query).await?;
    let next_cursor = page
        .has_more
        .then(|| page.items.last().map(|last| last.position.to_string()))
        .flatten();
    let rejections = page
        .items
        .into_iter()
        .map(|rejection| RejectionEntry {
            id: rejection.id,
            received_at: rejection.received_at,
            kind: rejection.kind.as_str(),
            request_id: rejection.request_id,
            api_id: rejection.api_id,
            errors: rejection.errors,
            item: AsSent::of(rejection.item),
            item_truncated: rejection.truncated,
        })
        .collect();
    Ok(Json(RejectionsResponse {
        rejections,
        next_cursor,
    }))
}

/// The answer of `GET /metadata-ingestion/v1/rejections`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RejectionsResponse {
    rejections: Vec<RejectionEntry>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// One rejected item, as listed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RejectionEntry {
    id: EventId,
    received_at: Timestamp,
    kind: &'static str,
    request_id: String,
    api_id: ApiId,
    errors: Vec<String>,
    item: AsSent,
    /// Present (and true) only when the stored item was cut to 64 KiB.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    item_truncated: bool,
}

/// A rejected item exactly as sent. Rejected items may hold what a parsed
/// value would lose (a duplicate key is a common reason to be rejected), so
/// the stored JSON text is answered as is; text that is not JSON (an item
/// cut to 64 KiB) is answered as a string.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum AsSent {
    Json(Box<RawValue>),
    Text(String),
}

impl AsSent {
    fn of(text: String) -> Self {
        match serde_json::from_str::<&RawValue>(&text) {
            Ok(raw) => Self::Json(raw.to_owned()),
            Err(_) => Self::Text(text),
        }
    }
}

fn rejection_query(params: &RejectionParams) -> Result<RejectionQuery, ApiError> {
    let since = params
        .since
        .as_deref()
        .map(|text| {
            Timestamp::parse_rfc3339(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "since must be an RFC 3339 date-time such as 2026-01-31T00:00:00Z, got {text:?}"
                ))
            })
        })
        .transpose()?;
    let limit = page::limit(params.limit.as_deref())?;
    let after = page::cursor(params.cursor.as_deref())?;
    Ok(RejectionQuery {
        since,
        after,
        limit,
    })
}

fn not_found(err: StoreError, message: impl FnOnce() -> String) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::not_found(message()),
        other => other.into(),
    }
}
