//! The one error type of the storage layer.

/// Why a store operation failed. Each backend maps its driver's errors into
/// these in one function.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist (for the caller's tenant).
    #[error("not found")]
    NotFound,
    /// A unique key is taken (for example an api id).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store cannot serve now (unreachable, busy, writer queue full);
    /// retrying later may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the message carries the cause for the log.
    #[error("store error: {0}")]
    Other(String),
}
