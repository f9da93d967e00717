//! The trait both storage backends implement.

use async_trait::async_trait;
use inlet_domain::{ApiId, EntityId, EntityKind, EventId, TenantId, Timestamp};

use crate::{
    Credential, EntityView, EntryOutcome, IngestBatch, NewCredential, Page, Rejection,
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
}
