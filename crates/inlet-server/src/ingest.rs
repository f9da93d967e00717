//! The six ASAPP write endpoints: `single-` and `many-` × conversation,
//! customer, agent metadata.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use inlet_domain::{EntityKind, EventId, conflict_message};
use inlet_store::{EntryOutcome, IngestBatch, IngestEntry};
use serde::Serialize;

use crate::auth::{Caller, Ingester};
use crate::batch::{
    PreparedItem, parse_off_the_workers, parse_single, prepare, prepare_raw, split_batch,
};
use crate::body::JsonBody;
use crate::context::RequestContext;
use crate::{ApiError, AppState};

/// The answer for one item (seed: `{"eventId", "error"}`; `warnings` is additive).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemResult {
    event_id: String,
    error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    /// Present (and true) when the eventId was already stored with this
    /// content: nothing new was written (additive, like `warnings`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

/// The answer of a batch endpoint.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchResponse {
    error_count: usize,
    results: Vec<ItemResult>,
}

/// The answer of a single-item endpoint.
#[derive(Debug, Serialize)]
struct SingleResponse {
    result: ItemResult,
}

type Ctx = Extension<Arc<RequestContext>>;

macro_rules! endpoints {
    ($($single:ident, $many:ident => $kind:expr;)*) => {
        $(
            /// `POST /metadata-ingestion/v1/single-*-metadata`
            pub(crate) async fn $single(state: State<AppState>, Ingester(caller): Ingester, ctx: Ctx, body: JsonBody) -> Result<Response, ApiError> {
                ingest_single($kind, state, caller, ctx, body).await
            }

            /// `POST /metadata-ingestion/v1/many-*-metadata`
            pub(crate) async fn $many(state: State<AppState>, Ingester(caller): Ingester, ctx: Ctx, body: JsonBody) -> Result<Response, ApiError> {
                ingest_many($kind, state, caller, ctx, body).await
            }
        )*
    };
}

endpoints! {
    ingest_conversation, ingest_conversations => EntityKind::Conversation;
    ingest_customer, ingest_customers => EntityKind::Customer;
    ingest_agent, ingest_agents => EntityKind::Agent;
}

async fn ingest_many(
    kind: EntityKind,
    State(state): State<AppState>,
    caller: Caller,
    Extension(ctx): Ctx,
    JsonBody(text): JsonBody,
) -> Result<Response, ApiError> {
    // Parsing and validating 1000 items takes milliseconds of CPU: off the
    // async workers, so other requests keep flowing meanwhile.
    let prepared = tokio::task::spawn_blocking(move || {
        split_batch(&text).map(|items| {
            items
                .iter()
                .map(|raw| prepare_raw(kind, raw.get()))
                .collect::<Vec<_>>()
        })
    })
    .await
    .map_err(|err| ApiError::internal(&err))??;
    let (entries, answers) = split(prepared);
    let outcomes = commit(kind, &state, &caller, &ctx, entries).await?;
    let results: Vec<ItemResult> = answers
        .into_iter()
        .zip(&outcomes)
        .map(|(answer, outcome)| answer.result(*outcome))
        .collect();
    let error_count = results.iter().filter(|r| !r.error.is_empty()).count();
    let status = if error_count == results.len() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BatchResponse {
            error_count,
            results,
        }),
    )
        .into_response())
}

async fn ingest_single(
    kind: EntityKind,
    State(state): State<AppState>,
    caller: Caller,
    Extension(ctx): Ctx,
    JsonBody(text): JsonBody,
) -> Result<Response, ApiError> {
    let prepared =
        parse_off_the_workers(text.len(), move || parse_and_prepare(kind, &text)).await??;
    let (entries, mut answers) = split(vec![prepared]);
    let outcomes = commit(kind, &state, &caller, &ctx, entries).await?;
    let (Some(answer), Some(&outcome)) = (answers.pop(), outcomes.first()) else {
        return Err(ApiError::internal(&"store answered no outcome"));
    };
    match outcome {
        EntryOutcome::Duplicate => Err(ApiError::already_persisted(answer.event_id.as_str())),
        EntryOutcome::Conflict => Err(ApiError::event_id_conflict(answer.event_id.as_str())),
        EntryOutcome::Stored => Ok(single(StatusCode::OK, answer.result(outcome))),
        EntryOutcome::Rejected => Ok(single(StatusCode::BAD_REQUEST, answer.result(outcome))),
    }
}

fn parse_and_prepare(kind: EntityKind, text: &str) -> Result<PreparedItem, ApiError> {
    let json = parse_single(text)?;
    Ok(prepare(kind, &json, text.trim()))
}

fn single(status: StatusCode, result: ItemResult) -> Response {
    (status, Json(SingleResponse { result })).into_response()
}

/// What to answer for an item once the store has said what became of it.
struct Answer {
    event_id: EventId,
    error: Option<String>,
    warnings: Vec<String>,
}

impl Answer {
    fn result(self, outcome: EntryOutcome) -> ItemResult {
        let error = match outcome {
            EntryOutcome::Stored | EntryOutcome::Duplicate => String::new(),
            EntryOutcome::Conflict => conflict_message(&self.event_id),
            EntryOutcome::Rejected => self.error.unwrap_or_default(),
        };
        ItemResult {
            event_id: self.event_id.into_string(),
            error,
            warnings: self.warnings,
            duplicate: outcome == EntryOutcome::Duplicate,
        }
    }
}

fn split(prepared: Vec<PreparedItem>) -> (Vec<IngestEntry>, Vec<Answer>) {
    prepared
        .into_iter()
        .map(|item| {
            let answer = Answer {
                event_id: item.event_id,
                error: item.error,
                warnings: item.warnings,
            };
            (item.entry, answer)
        })
        .unzip()
}

async fn commit(
    kind: EntityKind,
    state: &AppState,
    caller: &Caller,
    ctx: &RequestContext,
    entries: Vec<IngestEntry>,
) -> Result<Vec<EntryOutcome>, ApiError> {
    let count = entries.len();
    let outcomes = state
        .store
        .ingest(IngestBatch {
            tenant: caller.tenant.clone(),
            api_id: caller.api_id.clone(),
            request_id: ctx.id.clone(),
            received_at: state.clock.now(),
            entries,
        })
        .await?;
    if outcomes.len() != count {
        return Err(ApiError::internal(&format!(
            "store answered {} outcomes for {count} items",
            outcomes.len()
        )));
    }
    count_outcomes(kind, &outcomes);
    Ok(outcomes)
}

/// The `outcome` label of each store outcome (DESIGN.md §3b).
const OUTCOME_LABELS: [(EntryOutcome, &str); 4] = [
    (EntryOutcome::Stored, "accepted"),
    (EntryOutcome::Rejected, "rejected"),
    (EntryOutcome::Duplicate, "duplicate"),
    (EntryOutcome::Conflict, "conflict"),
];

/// Adds a request's committed outcomes to `inlet_items_total{kind,outcome}`:
/// one counter update per outcome present, not one per item.
fn count_outcomes(kind: EntityKind, outcomes: &[EntryOutcome]) {
    for (outcome, label) in OUTCOME_LABELS {
        let count = outcomes.iter().filter(|o| **o == outcome).count();
        if count > 0 {
            crate::metrics::count_items(kind, label, u64::try_from(count).unwrap_or(u64::MAX));
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    #[test]
    fn outcomes_are_counted_under_their_kind_and_outcome_labels() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let outcomes = [
            EntryOutcome::Stored,
            EntryOutcome::Rejected,
            EntryOutcome::Stored,
            EntryOutcome::Conflict,
        ];
        metrics::with_local_recorder(&recorder, || {
            count_outcomes(EntityKind::Customer, &outcomes);
        });
        let page = recorder.handle().render();
        for line in [
            r#"inlet_items_total{kind="customer",outcome="accepted"} 2"#,
            r#"inlet_items_total{kind="customer",outcome="rejected"} 1"#,
            r#"inlet_items_total{kind="customer",outcome="conflict"} 1"#,
        ] {
            assert!(page.lines().any(|l| l == line), "no {line:?} in\n{page}");
        }
        assert!(!page.contains("duplicate"), "absent outcomes add no series");
    }
}
