//! The bound on writes waiting for a store: a count of items, not requests,
//! so a few large batches cannot hold more memory than many small ones.
//! Past it a write is refused at once (503 with `Retry-After` upstream)
//! rather than parked with its body in memory. Both backends use it.

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::StoreError;

/// Room for items waiting for (or being written by) a store.
#[derive(Debug)]
pub struct WriteQueue {
    permits: Semaphore,
    capacity: usize,
    name: &'static str,
    /// `inlet_write_queue_items`, looked up once: a look-up per write cost
    /// more than the rest of the queue's work.
    depth: metrics::Gauge,
}

/// The room one write holds until it is answered; shown in the
/// `inlet_write_queue_items` gauge meanwhile.
///
/// The gauge moves by increments rather than being set from the free
/// permits: concurrent writers setting absolute values could leave a stale
/// one last, while increments always add up.
#[derive(Debug)]
pub struct QueuedItems<'a> {
    _permits: SemaphorePermit<'a>,
    items: u32,
    depth: &'a metrics::Gauge,
}

impl WriteQueue {
    /// Room for `capacity` items (at least 1) of the store `name`
    /// (`sqlite`, `postgres`), named in the refusal. Its gauge records only
    /// if the metrics recorder was installed before.
    pub fn new(capacity: usize, name: &'static str) -> Self {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Semaphore::new(capacity),
            capacity,
            name,
            depth: metrics::gauge!("inlet_write_queue_items"),
        }
    }

    /// Takes room for `items` (a write larger than the whole queue takes
    /// all of it), or refuses with `Unavailable` and counts the request in
    /// `inlet_shed_total`.
    pub fn enter(&self, items: usize) -> Result<QueuedItems<'_>, StoreError> {
        let items = u32::try_from(items.clamp(1, self.capacity)).unwrap_or(u32::MAX);
        let permits = self
            .permits
            .try_acquire_many(items)
            .map_err(|_| self.full())?;
        self.depth.increment(f64::from(items));
        Ok(QueuedItems {
            _permits: permits,
            items,
            depth: &self.depth,
        })
    }

    /// The refusal of a full queue, counted as shed.
    pub fn full(&self) -> StoreError {
        metrics::counter!("inlet_shed_total").increment(1);
        StoreError::Unavailable(format!("{} write queue is full", self.name))
    }
}

impl Drop for QueuedItems<'_> {
    fn drop(&mut self) {
        self.depth.decrement(f64::from(self.items));
    }
}
