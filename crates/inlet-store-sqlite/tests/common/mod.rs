//! Helpers the store's integration tests share.

use inlet_domain::{ApiId, TenantId, Timestamp};
use inlet_store::IngestBatch;

/// A batch without items: one job for the writer, one item of the queue.
pub(crate) fn empty_batch(n: usize) -> IngestBatch {
    IngestBatch {
        tenant: TenantId::parse("t1").expect("tenant"),
        api_id: ApiId::parse("key").expect("api id"),
        request_id: format!("req-{n}"),
        received_at: Timestamp::from_micros(0),
        entries: Vec::new(),
    }
}
