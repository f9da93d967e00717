//! Maps the driver's and the pool's errors to [`StoreError`]: the one place
//! that knows them.

use deadpool_postgres::PoolError;
use inlet_store::StoreError;
use tokio_postgres::error::SqlState;

/// Classifies a driver error. Lost or refused connections, a server that is
/// shutting down or out of connections, and statement timeouts are
/// `Unavailable` (503 upstream, worth retrying); a taken unique key is
/// `Conflict`; anything else is `Other`.
pub(crate) fn store_error(err: tokio_postgres::Error) -> StoreError {
    let message = cause_chain(&err);
    let Some(code) = err.code() else {
        // No SQLSTATE: the connection failed (I/O, closed, timeout), or a
        // value did not convert, which is a bug here, not an outage.
        let text = err.to_string();
        if text.starts_with("error serializing") || text.starts_with("error deserializing") {
            return StoreError::Other(message);
        }
        return StoreError::Unavailable(message);
    };
    if *code == SqlState::UNIQUE_VIOLATION {
        return StoreError::Conflict(message);
    }
    if is_transient(code) {
        return StoreError::Unavailable(message);
    }
    StoreError::Other(message)
}

/// Whether retrying the same work later may succeed.
fn is_transient(code: &SqlState) -> bool {
    let class = &code.code()[..2];
    // 08: connection exception; 53: insufficient resources;
    // 57: operator intervention (shutdown, query canceled by timeout).
    matches!(class, "08" | "53" | "57")
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
}

/// Whether the transaction lost a race with another one and may simply run
/// again: a deadlock or a serialisation failure.
pub(crate) fn is_retryable(err: &tokio_postgres::Error) -> bool {
    err.code().is_some_and(|code| {
        *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// A connection could not be had from the pool: always `Unavailable`.
pub(crate) fn pool_error(err: PoolError) -> StoreError {
    match err {
        PoolError::Backend(err) => store_error(err),
        other => StoreError::Unavailable(format!("postgres connection pool: {other}")),
    }
}

/// The error and its sources, `: `-joined, so the log shows why a
/// connection failed, not only that it did.
fn cause_chain(err: &tokio_postgres::Error) -> String {
    let mut message = format!("postgres: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
