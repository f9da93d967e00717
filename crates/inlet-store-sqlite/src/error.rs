//! Maps rusqlite's errors to [`StoreError`]: the one place that knows them.

use inlet_store::StoreError;
use rusqlite::ErrorCode;

/// Classifies a driver error: lock contention and I/O trouble are
/// `Unavailable` (worth retrying), everything else `Other`.
pub(crate) fn store_error(err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::OutOfMemory => StoreError::Unavailable(err.to_string()),
            ErrorCode::ConstraintViolation => StoreError::Conflict(err.to_string()),
            _ => StoreError::Other(err.to_string()),
        },
        _ => StoreError::Other(err.to_string()),
    }
}
