//! What one request asks the store to write, and what became of each item.

use inlet_domain::{ApiId, EntityKind, EventId, NewItem, TenantId, Timestamp, new_profile_json};

/// Everything one request writes, committed together: accepted items and
/// rejected ones (quarantine) alike.
#[derive(Debug, Clone)]
pub struct IngestBatch {
    /// The caller's tenant.
    pub tenant: TenantId,
    /// The key that sent the request.
    pub api_id: ApiId,
    /// The request's id, as answered in `x-request-id`.
    pub request_id: String,
    /// When the server received the request.
    pub received_at: Timestamp,
    /// The items, in the order sent.
    pub entries: Vec<IngestEntry>,
}

/// One item of a batch.
#[derive(Debug, Clone)]
pub enum IngestEntry {
    /// Passed validation; stored unless its eventId is taken.
    Accepted(AcceptedItem),
    /// Failed validation; kept in the rejections list.
    Rejected(RejectedItem),
}

/// A valid item to store.
#[derive(Debug, Clone)]
pub struct AcceptedItem {
    /// The client's eventId, or a generated one.
    pub event_id: EventId,
    /// The validated item.
    pub item: NewItem,
    /// The item exactly as sent (a JSON text).
    pub raw: String,
    new_profile: String,
}

impl AcceptedItem {
    /// Wraps a validated item. Also computes the profile the item gives an
    /// entity seen for the first time, so that the store's single writer
    /// does not spend its time on JSON for the common case of a new entity.
    pub fn new(event_id: EventId, item: NewItem, raw: String) -> Self {
        Self {
            new_profile: new_profile_json(&item.changes),
            event_id,
            item,
            raw,
        }
    }

    /// The metadata (a JSON object text) of an entity first named by this
    /// item: its changes merged into an empty profile.
    pub fn new_profile(&self) -> &str {
        &self.new_profile
    }
}

/// An item that failed validation.
#[derive(Debug, Clone)]
pub struct RejectedItem {
    /// The eventId answered for it.
    pub event_id: EventId,
    /// The kind the endpoint expected.
    pub kind: EntityKind,
    /// Every problem, as answered to the client.
    pub errors: Vec<String>,
    /// The item as sent, possibly cut to [`RejectedItem::RAW_MAX_BYTES`].
    pub raw: String,
    /// Whether `raw` was cut.
    pub truncated: bool,
}

impl RejectedItem {
    /// How much of a rejected item is kept (issue 2: "capped at 64 KiB").
    pub const RAW_MAX_BYTES: usize = 64 * 1024;

    /// Cuts `raw` to [`RejectedItem::RAW_MAX_BYTES`] on a character boundary.
    pub fn cap(raw: &str) -> (String, bool) {
        if raw.len() <= Self::RAW_MAX_BYTES {
            return (raw.to_owned(), false);
        }
        let mut end = Self::RAW_MAX_BYTES;
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        (raw[..end].to_owned(), true)
    }
}

/// What the store did with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOutcome {
    /// A new event, now committed.
    Stored,
    /// The eventId was already stored with the same content; nothing written.
    Duplicate,
    /// The eventId was already stored with other content; the first version
    /// stays and this item went to the rejections list.
    Conflict,
    /// A validation failure, now in the rejections list.
    Rejected,
}
