//! OAuth2 client-credentials tokens (Creovai's `POST /Token`) and their
//! verification.
//!
//! A token is `v1.<apiId>.<expiry>.<mac>`: the key it was issued to, when it
//! expires (Unix seconds), and an HMAC-SHA256 over both with a secret every
//! node shares through the store. Any node can verify a token without a
//! store write, it expires on time by the injected clock, and it dies with
//! its key: verification looks the key up (through the 500 ms cache), so a
//! revoked or expired key fails its tokens within a second.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use inlet_domain::ApiId;
use rand::RngCore;
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::OnceCell;

use crate::auth::{Authenticated, authenticate};
use crate::{ApiError, AppState};

/// Token lifetime, in seconds: Creovai answers `"expires_in": 1799`.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(1799);

/// Largest `/Token` form body: credentials and a grant type fit in a few
/// hundred bytes.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// The version tag every token starts with.
const VERSION: &str = "v1";

/// The shared signing secret, read from the store on first use.
#[derive(Default)]
pub struct TokenKey(OnceCell<[u8; 32]>);

impl TokenKey {
    /// The secret: the store's, made (by the first node to ask) if none.
    async fn get(&self, state: &AppState) -> Result<&[u8; 32], ApiError> {
        self.0
            .get_or_try_init(|| async {
                let mut candidate = [0_u8; 32];
                rand::rng().fill_bytes(&mut candidate);
                Ok(state.store.token_secret(candidate).await?)
            })
            .await
    }
}

fn mac(secret: &[u8; 32], payload: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac accepts any key length");
    mac.update(payload.as_bytes());
    mac
}

/// A token for `api_id` expiring at `expires` (Unix seconds).
fn mint(secret: &[u8; 32], api_id: &ApiId, expires: i64) -> String {
    let payload = format!("{VERSION}.{api_id}.{expires}");
    let tag = mac(secret, &payload).finalize().into_bytes();
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The key and expiry a token was minted with, when its MAC is right.
fn open(secret: &[u8; 32], token: &str) -> Option<(ApiId, i64)> {
    let (payload, tag) = token.rsplit_once('.')?;
    let mut parts = payload.splitn(3, '.');
    let (version, api_id, expires) = (parts.next()?, parts.next()?, parts.next()?);
    if version != VERSION {
        return None;
    }
    let expected = mac(secret, payload).finalize().into_bytes();
    let presented = URL_SAFE_NO_PAD.decode(tag).ok()?;
    if !bool::from(presented.as_slice().ct_eq(expected.as_slice())) {
        return None;
    }
    Some((ApiId::parse(api_id).ok()?, expires.parse().ok()?))
}

/// Verifies a bearer token at `now`; on success, the key it was issued to.
pub(crate) async fn verify(state: &AppState, token: &str) -> Result<Authenticated, ApiError> {
    let secret = state.tokens.get(state).await?;
    let Some((api_id, expires)) = open(secret, token) else {
        return Err(ApiError::unauthorized(
            "invalid bearer token; request one at POST /Token",
        ));
    };
    let now = state.clock.now();
    if now.as_micros() >= expires.saturating_mul(1_000_000) {
        return Err(ApiError::unauthorized(
            "this bearer token has expired; request a new one at POST /Token",
        ));
    }
    crate::auth::check_key(state, api_id).await
}

/// An OAuth2 error answer (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    no_store(response.headers_mut());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"inlet\""),
        );
    }
    response
}

/// Token answers must not be cached (RFC 6749 §5.1).
fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// `POST /Token`: `grant_type=client_credentials` with the key's api id and
/// secret as `client_id` and `client_secret` (form fields or HTTP Basic).
pub(crate) async fn issue_token(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let Ok(body) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return invalid_request(&format!(
            "the form body is over {MAX_FORM_BYTES} bytes or did not arrive whole"
        ));
    };
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return invalid_request(
            "send the request as application/x-www-form-urlencoded: \
             grant_type=client_credentials&client_id=..&client_secret=..",
        );
    }
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return invalid_request("the form body does not parse");
    };
    for (i, (name, _)) in fields.iter().enumerate() {
        if fields[..i].iter().any(|(seen, _)| seen == name) {
            return invalid_request(&format!("{name} is given more than once"));
        }
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    match field("grant_type") {
        None => return invalid_request("grant_type is required (client_credentials)"),
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            );
        }
    }
    let basic = basic_credentials(&headers);
    let (client_id, client_secret) = match (basic, field("client_id"), field("client_secret")) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return invalid_request(
                "send the client credentials once: in the form or as Basic auth",
            );
        }
        (Some((id, secret)), None, None) => (id, secret),
        (None, Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
        (None, _, _) => {
            return invalid_request("client_id and client_secret are required");
        }
    };
    let authenticated = match authenticate(&state, &client_id, &client_secret).await {
        Ok(authenticated) => authenticated,
        Err(err) if err.status() == StatusCode::UNAUTHORIZED => {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", err.message());
        }
        Err(err) => return err.into_response(),
    };
    let secret = match state.tokens.get(&state).await {
        Ok(secret) => secret,
        Err(err) => return err.into_response(),
    };
    // Unix seconds; a token never outlives its key.
    let now = state.clock.now().as_micros() / 1_000_000;
    let lifetime = i64::try_from(state.calls.token_lifetime.as_secs()).unwrap_or(i64::MAX);
    let key_expires = authenticated.expires_at.as_micros() / 1_000_000;
    let expires = now.saturating_add(lifetime).min(key_expires);
    let token = mint(secret, &authenticated.caller.api_id, expires);
    let expires_in = expires - now;
    let mut response = axum::Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": expires_in,
    }))
    .into_response();
    no_store(response.headers_mut());
    response
}

/// `Authorization: Basic base64(id:secret)`, decoded.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use inlet_domain::Timestamp;

    use super::*;

    const SECRET: [u8; 32] = [7; 32];

    #[test]
    fn a_minted_token_opens_with_its_key_and_expiry() {
        let api_id = ApiId::parse("ak_abc").expect("id");
        let now = Timestamp::from_micros(1_800_000_000_000_000);
        let expires = now.as_micros() / 1_000_000 + 1799;
        let token = mint(&SECRET, &api_id, expires);
        assert_eq!(open(&SECRET, &token), Some((api_id, expires)));
    }

    #[test]
    fn a_token_changed_anywhere_or_signed_with_another_secret_does_not_open() {
        let api_id = ApiId::parse("ak_abc").expect("id");
        let token = mint(&SECRET, &api_id, 1_900_000_000);
        assert_eq!(open(&[8; 32], &token), None);
        let longer = token.replace(".1900000000.", ".1900000001.");
        assert_eq!(open(&SECRET, &longer), None);
        let other = token.replace("ak_abc", "ak_abd");
        assert_eq!(open(&SECRET, &other), None);
        assert_eq!(open(&SECRET, "v1.ak_abc"), None);
        assert_eq!(open(&SECRET, ""), None);
    }

    #[test]
    fn basic_credentials_decode() {
        let mut headers = HeaderMap::new();
        // base64("ak_1:s3cret")
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWtfMTpzM2NyZXQ="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("ak_1".to_owned(), "s3cret".to_owned()))
        );
    }
}
