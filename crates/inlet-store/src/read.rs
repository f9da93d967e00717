//! What the read path returns.

use inlet_domain::{ApiId, EntityId, EntityKind, EventId, Timestamp};
use serde_json::{Map, Value};

use crate::Position;

/// The current state of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityView {
    /// What it is.
    pub kind: EntityKind,
    /// Its external id.
    pub entity_id: EntityId,
    /// The merged profile.
    pub metadata: Map<String, Value>,
    /// Linked entities: a conversation's customers, a customer's conversations.
    pub links: Vec<EntityId>,
    /// When any submission first named it.
    pub first_seen_at: Timestamp,
    /// When its profile or links last changed.
    pub updated_at: Timestamp,
    /// Its own submissions, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// One accepted submission in an entity's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The submission's eventId.
    pub event_id: EventId,
    /// When it was received.
    pub received_at: Timestamp,
    /// The item as sent (a JSON text).
    pub item: String,
}

/// One accepted submission, found by eventId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its eventId.
    pub event_id: EventId,
    /// What it describes.
    pub kind: EntityKind,
    /// The entity it describes.
    pub entity_id: EntityId,
    /// When it was received.
    pub received_at: Timestamp,
    /// The key that sent it.
    pub api_id: ApiId,
    /// The request that carried it.
    pub request_id: String,
    /// The item as sent (a JSON text).
    pub item: String,
}

/// A rejected item, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Its place in the tenant's rejections; cursors are built from it.
    pub position: Position,
    /// The eventId answered for it.
    pub id: EventId,
    /// When it was received.
    pub received_at: Timestamp,
    /// The kind the endpoint expected.
    pub kind: EntityKind,
    /// The request that carried it.
    pub request_id: String,
    /// The key that sent it.
    pub api_id: ApiId,
    /// Every problem, as answered.
    pub errors: Vec<String>,
    /// The item as sent, possibly cut.
    pub item: String,
    /// Whether `item` was cut to 64 KiB.
    pub truncated: bool,
}

/// Which rejections to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectionQuery {
    /// Only those received at or after this time.
    pub since: Option<Timestamp>,
    /// Only those after this position (from a cursor).
    pub after: Option<Position>,
    /// At most this many.
    pub limit: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, oldest first.
    pub items: Vec<T>,
    /// Whether more items follow this page.
    pub has_more: bool,
}
