//! The OpenAPI document of inlet's API, served at `/openapi.json`, with a
//! reference page at `/docs`. (Being written.)

use axum::Router;

use crate::AppState;

/// The routes serving the document and the reference page.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
