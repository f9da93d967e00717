//! The paging parameters every listing takes: `limit` and `cursor`.

use inlet_store::Position;

use crate::ApiError;

/// Rows per page unless `limit` says otherwise.
pub(crate) const DEFAULT_PAGE_LIMIT: usize = 100;
/// The largest `limit`.
pub(crate) const MAX_PAGE_LIMIT: usize = 1000;

/// `limit`: 1 to [`MAX_PAGE_LIMIT`], [`DEFAULT_PAGE_LIMIT`] when absent.
pub(crate) fn limit(text: Option<&str>) -> Result<usize, ApiError> {
    let Some(text) = text else {
        return Ok(DEFAULT_PAGE_LIMIT);
    };
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_PAGE_LIMIT).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "limit must be an integer from 1 to {MAX_PAGE_LIMIT}, got {text:?}"
            ))
        })
}

/// `cursor`: a `nextCursor` this server gave out, passed back unchanged.
pub(crate) fn cursor(text: Option<&str>) -> Result<Option<Position>, ApiError> {
    text.map(|text| {
        text.parse::<Position>().map_err(|_| {
            ApiError::bad_request(format!(
                "cursor {text:?} is not one this server gave out; pass nextCursor unchanged"
            ))
        })
    })
    .transpose()
}
