//! What the call-metadata half of the store takes and returns: calls,
//! out-of-band events, their attachments and the tenant's rules.

use inlet_domain::{ApiId, EventId, TenantId, Timestamp};
use inlet_match::{Attachment, Call, CallEvent, MatchedBy, SessionId, Via};
use serde_json::{Map, Value};

use crate::Position;

/// The calls of one request, all valid, written in one transaction.
#[derive(Debug, Clone)]
pub struct CallBatch {
    /// The caller's tenant.
    pub tenant: TenantId,
    /// When the server received the request.
    pub received_at: Timestamp,
    /// Pending events received before this are past their TTL: they no
    /// longer wait for calls (they are `unmatched`).
    pub expired_before: Timestamp,
    /// The calls, in the order sent; a repeated session id updates.
    pub calls: Vec<Call>,
}

/// What became of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// A call not seen before.
    Created,
    /// An existing call, now replaced by this version.
    Updated,
}

/// What a batch of calls did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallsWritten {
    /// What became of each call, in the order sent.
    pub outcomes: Vec<CallOutcome>,
    /// Waiting events (pending, or named a session not registered yet) that
    /// the calls attached.
    pub late_matches: u64,
}

/// An out-of-band event to store.
#[derive(Debug, Clone)]
pub struct NewCallEvent {
    /// The caller's tenant.
    pub tenant: TenantId,
    /// The key that sent it.
    pub api_id: ApiId,
    /// The request that carried it.
    pub request_id: String,
    /// When the server received it; its TTL counts from here.
    pub received_at: Timestamp,
    /// The client's eventId, or a generated one.
    pub event_id: EventId,
    /// Whether the server generated `event_id` for this request (the client
    /// sent none): then no stored event can have it, and the store skips
    /// looking for one.
    pub generated_id: bool,
    /// The validated event.
    pub event: CallEvent,
}

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    /// Attached to a call or call group.
    Matched,
    /// Waiting for a call that matches.
    Pending,
    /// Past its TTL without a match.
    Unmatched,
}

impl EventStatus {
    /// `matched`, `pending` or `unmatched`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Matched => "matched",
            Self::Pending => "pending",
            Self::Unmatched => "unmatched",
        }
    }

    /// Reads back a [`EventStatus::name`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "matched" => Some(Self::Matched),
            "pending" => Some(Self::Pending),
            "unmatched" => Some(Self::Unmatched),
            _ => None,
        }
    }

    /// The status of an event with `attachment`, received at `received_at`.
    pub fn of(
        attachment: Option<&Attachment>,
        received_at: Timestamp,
        expired_before: Timestamp,
    ) -> Self {
        match attachment {
            Some(_) => Self::Matched,
            None if received_at < expired_before => Self::Unmatched,
            None => Self::Pending,
        }
    }
}

/// An event's standing as answered to its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventState {
    /// Matched, pending or unmatched.
    pub status: EventStatus,
    /// The calls its metadata belongs to now: the matched call, or every
    /// call of the matched group.
    pub session_ids: Vec<SessionId>,
}

/// What became of an out-of-band event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEventOutcome {
    /// Stored now.
    Stored(EventState),
    /// Its eventId was stored before with the same content; nothing new
    /// was written. The event's standing now.
    Duplicate(EventState),
    /// Its eventId was stored before with other content; the first stays.
    Conflict,
}

/// A call as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    /// The call as last registered.
    pub call: Call,
    /// When it was first registered.
    pub created_at: Timestamp,
    /// When it was last registered.
    pub updated_at: Timestamp,
    /// Every call of its group (itself included), when it has a
    /// `masterCallId`.
    pub group_sessions: Vec<SessionId>,
    /// The events attached to the call or its group, by event time.
    pub events: Vec<AttachedEvent>,
}

/// An event attached to a call, as read back with the call.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedEvent {
    /// Its eventId.
    pub event_id: EventId,
    /// When it happened.
    pub event_time: Timestamp,
    /// When it was received.
    pub received_at: Timestamp,
    /// Its metadata.
    pub metadata: Map<String, Value>,
    /// What attached it.
    pub matched_by: MatchedBy,
    /// Whether it belongs to the call or to its group.
    pub via: Via,
    /// Whether other calls matched too.
    pub ambiguous: bool,
}

/// An out-of-band event as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEventView {
    /// Its place in the tenant's events; cursors are built from it.
    pub position: Position,
    /// Its eventId.
    pub event_id: EventId,
    /// The session id it named, if any.
    pub session_id: Option<SessionId>,
    /// When it happened.
    pub event_time: Timestamp,
    /// When it was received.
    pub received_at: Timestamp,
    /// Its metadata.
    pub metadata: Map<String, Value>,
    /// Matched, pending or unmatched.
    pub status: EventStatus,
    /// Where it is attached, when matched.
    pub attachment: Option<Attachment>,
}

/// Which out-of-band events to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallEventQuery {
    /// Only events of this status; `None` for all.
    pub status: Option<EventStatus>,
    /// Pending events received before this count as unmatched.
    pub expired_before: Timestamp,
    /// Only those after this position (from a cursor).
    pub after: Option<Position>,
    /// At most this many.
    pub limit: usize,
}
