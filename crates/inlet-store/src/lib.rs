//! The storage contract of inlet: one [`Store`] trait that both backends
//! (embedded SQLite, PostgreSQL) implement, the models that cross it, and one
//! [`StoreError`]. No driver type crosses this boundary.
//!
//! The `conformance` feature adds the suite of scenarios that every backend
//! must pass; each backend instantiates it in its own tests.

mod credential;
mod error;
mod ingest;
mod position;
mod read;
mod store;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use credential::{Credential, KeyLimits, NewCredential, SecretHash};
pub use error::StoreError;
pub use ingest::{AcceptedItem, EntryOutcome, IngestBatch, IngestEntry, RejectedItem};
pub use position::{BadPosition, Position};
pub use read::{EntityView, HistoryEntry, Page, Rejection, RejectionQuery, StoredEvent};
pub use store::Store;
