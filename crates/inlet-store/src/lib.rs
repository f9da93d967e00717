//! The storage contract of inlet: one [`Store`] trait that both backends
//! (embedded SQLite, PostgreSQL) implement, the models that cross it, and one
//! [`StoreError`]. No driver type crosses this boundary. The matching of
//! call events is decided here once ([`matching`]), on top of a small
//! per-backend seam.
//!
//! The `conformance` feature adds the suite of scenarios that every backend
//! must pass; each backend instantiates it in its own tests.

mod call;
mod credential;
mod error;
mod ingest;
pub mod matching;
mod position;
mod queue;
mod read;
mod store;
pub mod stored;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use call::{
    AttachedEvent, CallBatch, CallEventOutcome, CallEventQuery, CallEventView, CallOutcome,
    CallView, CallsWritten, EventState, EventStatus, NewCallEvent,
};
pub use credential::{Credential, KeyLimits, NewCredential, SecretHash};
pub use error::StoreError;
pub use ingest::{AcceptedItem, EntryOutcome, IngestBatch, IngestEntry, RejectedItem};
pub use position::{BadPosition, Position};
pub use queue::{QueuedItems, WriteQueue};
pub use read::{EntityView, HistoryEntry, Page, Rejection, RejectionQuery, StoredEvent};
pub use store::Store;
