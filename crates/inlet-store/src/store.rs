//! The trait both storage backends implement.

use async_trait::async_trait;
use inlet_domain::{ApiId, EntityId, EntityKind, EventId, TenantId, Timestamp};

use inlet_match::{RuleSet, SessionId};

use crate::{
    CallBatch, CallEventOutcome, CallEventQuery, CallEventView, CallView, CallsWritten, Credential,
    EntityView, EntryOutcome, IngestBatch, NewCallEvent, NewCredential, Page, Rejection,
    RejectionQuery, StoreError, StoredEvent,
};

/// inlet's storage. Every method that touches data is scoped to a tenant.
///
/// Durability contract: when [`Store::ingest`] returns `Ok`, every entry of
/// the batch is committed and synced to disk.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Commits a request's items in one transaction and says what became of
    /// each, positionally. Within the batch and across batches, items are
    /// applied in commit order; a repeated eventId is a duplicate (same
    /// content) or a conflict (other content).
    async fn ingest(&self, batch: IngestBatch) -> Result<Vec<EntryOutcome>, StoreError>;

    /// The current state of one entity, with links and history.
    /// `NotFound` when the tenant has no such entity.
    async fn get_entity(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        id: &EntityId,
    ) -> Result<EntityView, StoreError>;

    /// One accepted submission. `NotFound` when the tenant has no such event.
    async fn get_event(
        &self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<StoredEvent, StoreError>;

    /// The tenant's rejected items, oldest first.
    async fn list_rejections(
        &self,
        tenant: &TenantId,
        query: RejectionQuery,
    ) -> Result<Page<Rejection>, StoreError>;

    /// Stores a new key. `Conflict` if the api id is taken.
    async fn insert_credential(&self, credential: NewCredential) -> Result<(), StoreError>;

    /// A key by api id, active or not.
    async fn find_credential(&self, api_id: &ApiId) -> Result<Option<Credential>, StoreError>;

    /// Every key, oldest first.
    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError>;

    /// Revokes a key. `NotFound` if there is no such key; revoking twice keeps
    /// the first time.
    async fn revoke_credential(&self, api_id: &ApiId, at: Timestamp) -> Result<(), StoreError>;

    /// Whether the store answers at all; for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Registers calls (new ones, or new versions replacing stored ones)
    /// in one transaction, and re-matches the events they may change.
    async fn put_calls(&self, batch: CallBatch) -> Result<CallsWritten, StoreError>;

    /// A call with its group and the events attached to it or its group.
    /// `NotFound` when the tenant has no such call.
    async fn get_call(
        &self,
        tenant: &TenantId,
        session_id: &SessionId,
    ) -> Result<CallView, StoreError>;

    /// Stores an out-of-band event and attaches it if a call matches now;
    /// a resent eventId is a duplicate (same content) or a conflict.
    async fn insert_call_event(
        &self,
        event: NewCallEvent,
        expired_before: Timestamp,
    ) -> Result<CallEventOutcome, StoreError>;

    /// The tenant's out-of-band events in the order received.
    async fn list_call_events(
        &self,
        tenant: &TenantId,
        query: CallEventQuery,
    ) -> Result<Page<CallEventView>, StoreError>;

    /// Replaces the tenant's matching rules and re-matches every event
    /// without a session id under them; how many events that were attached
    /// nowhere are attached now.
    async fn put_matching_rules(
        &self,
        tenant: &TenantId,
        rules: RuleSet,
        at: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Counts, once for all nodes sharing the store, the events that became
    /// `unmatched`: those attached nowhere that were received before
    /// `expired_before` and after the previous sweep's `expired_before`.
    /// A sweep with an earlier (or equal) bound than the last counts 0.
    async fn sweep_unmatched(&self, expired_before: Timestamp) -> Result<u64, StoreError>;

    /// The tenant's matching rules (none until set).
    async fn get_matching_rules(&self, tenant: &TenantId) -> Result<RuleSet, StoreError>;

    /// The secret that signs bearer tokens: `candidate` if none was stored
    /// yet, else the stored one, so every node sharing the store agrees.
    async fn token_secret(&self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError>;
}
