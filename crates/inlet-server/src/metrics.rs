//! Prometheus metrics (`/metrics`) and the unauthenticated probes
//! (`/livez`, `/readyz`). (Being written.)

use axum::Router;

use crate::AppState;

/// The routes of the probes (and of `/metrics` when not on its own listener).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
