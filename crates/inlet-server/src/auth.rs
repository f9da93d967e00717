//! Who is calling: the `asapp-api-id` / `asapp-api-secret` headers checked
//! against stored key hashes, or an `Authorization: Bearer` token from
//! `POST /Token` ([`crate::token`]), with a short-lived cache of keys in
//! front of the store. Every endpoint takes either form; the key's roles
//! decide what the caller may do.
//!
//! The cache keeps an entry for [`CACHE_TTL`], so a key created or revoked by
//! the CLI (or another node) is honoured within that time without a store
//! read on every request. A caller that authenticates is then counted
//! against its key's limits ([`crate::limit`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use inlet_domain::{ApiId, Role, TenantId, Timestamp};
use inlet_store::{Credential, KeyLimits, SecretHash};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use crate::context::RequestContext;
use crate::limit::AllowanceSlot;
use crate::{ApiError, AppState};

/// How long a looked-up key (or its absence) is trusted: well inside the
/// 1 s within which new and revoked keys must be honoured.
const CACHE_TTL: Duration = Duration::from_millis(500);

/// Entries past which the cache is cleared, so random api ids sent by a
/// misbehaving client cannot grow it without bound.
const CACHE_MAX_ENTRIES: usize = 10_000;

/// The header carrying the api id (ASAPP).
pub const API_ID_HEADER: &str = "asapp-api-id";
/// The header carrying the api secret (ASAPP).
pub const API_SECRET_HEADER: &str = "asapp-api-secret";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's public id.
    pub api_id: ApiId,
    /// The tenant every read and write of this request is scoped to.
    pub tenant: TenantId,
    roles: Vec<Role>,
}

impl Caller {
    /// `Ok` when the key carries `role`, else 403 `403-01`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.roles.contains(&role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this key lacks the {role} role needed here"
            )))
        }
    }
}

/// Recently looked-up keys, by api id.
#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<ApiId, Lookup>>,
}

/// One store lookup: the key found (or `None` for "no such key") and when.
struct Lookup {
    credential: Option<Arc<Credential>>,
    fetched: Instant,
}

impl CredentialCache {
    fn get(&self, api_id: &ApiId) -> Option<Option<Arc<Credential>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let lookup = entries.get(api_id)?;
        (lookup.fetched.elapsed() < CACHE_TTL).then(|| lookup.credential.clone())
    }

    fn put(&self, api_id: ApiId, credential: Option<Arc<Credential>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_MAX_ENTRIES {
            entries.clear();
        }
        let fetched = Instant::now();
        entries.insert(
            api_id,
            Lookup {
                credential,
                fetched,
            },
        );
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let api_id = header(parts, API_ID_HEADER);
        let secret = header(parts, API_SECRET_HEADER);
        let authenticated = match (api_id, secret, bearer(parts)) {
            (Some(api_id), Some(secret), _) => authenticate(state, api_id, secret).await?,
            (None, None, Some(token)) => crate::token::verify(state, token).await?,
            _ => {
                return Err(ApiError::unauthorized(format!(
                    "send the {API_ID_HEADER} and {API_SECRET_HEADER} headers, or \
                     Authorization: Bearer <token> from POST /Token"
                )));
            }
        };
        let Authenticated { caller, limits, .. } = authenticated;
        if let Some(context) = parts.extensions.get::<Arc<RequestContext>>() {
            context.set_caller(&caller.api_id, &caller.tenant);
        }
        let limits = state.limits.rate.for_key(&limits);
        let admitted = state
            .limiter
            .admit(&caller.api_id, limits, state.clock.now());
        let allowance = match &admitted {
            Ok(allowance) | Err((_, allowance)) => *allowance,
        };
        if let Some(slot) = parts.extensions.get::<AllowanceSlot>() {
            let _ = slot.set(allowance);
        }
        admitted.map_err(|(error, _)| {
            metrics::counter!("inlet_rate_limited_total").increment(1);
            error
        })?;
        Ok(caller)
    }
}

/// Declares an extractor of a caller whose key carries `$role`.
///
/// The role is checked while extracting the request parts, so before
/// [`JsonBody`](crate::body::JsonBody) reads the body: a key that may not do
/// this gets 403 whatever it sent (not a 400 or 413 it would fix only to be
/// refused), and its body is never buffered.
macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub(crate) struct $name(pub(crate) Caller);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let caller = Caller::from_request_parts(parts, state).await?;
                caller.require($role)?;
                Ok(Self(caller))
            }
        }
    };
}

role_guard!(
    /// A caller with the `ingest` role (the ASAPP writes, calls).
    Ingester,
    Role::Ingest
);
role_guard!(
    /// A caller with the `AsyncMetaData` role (out-of-band call events).
    EventSender,
    Role::AsyncMetaData
);
role_guard!(
    /// A caller with the `admin` role (matching rules).
    Admin,
    Role::Admin
);

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name)?.to_str().ok()
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = header(parts, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A caller whose credentials checked out, with what its key says about
/// limits and lifetime.
pub(crate) struct Authenticated {
    /// Who it is.
    pub(crate) caller: Caller,
    /// The key's own request limits.
    pub(crate) limits: KeyLimits,
    /// When the key expires (a token never outlives it).
    pub(crate) expires_at: Timestamp,
}

/// Checks an api id and secret; the same answer for an unknown id and a
/// wrong secret, so ids cannot be probed.
pub(crate) async fn authenticate(
    state: &AppState,
    api_id: &str,
    secret: &str,
) -> Result<Authenticated, ApiError> {
    let invalid = || ApiError::unauthorized("invalid api id or secret");
    let api_id = ApiId::parse(api_id).map_err(|_| invalid())?;
    let credential = cached_credential(state, &api_id)
        .await?
        .ok_or_else(invalid)?;
    let presented = SecretHash::of(secret);
    let matches: bool = presented
        .as_bytes()
        .ct_eq(credential.key.secret_hash.as_bytes())
        .into();
    if !matches {
        return Err(invalid());
    }
    usable(state, api_id, &credential)
}

/// Checks that the key `api_id` (named by a verified token) still works.
pub(crate) async fn check_key(state: &AppState, api_id: ApiId) -> Result<Authenticated, ApiError> {
    let credential = cached_credential(state, &api_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the key of this bearer token no longer exists"))?;
    usable(state, api_id, &credential)
}

/// The key, from the cache or the store.
async fn cached_credential(
    state: &AppState,
    api_id: &ApiId,
) -> Result<Option<Arc<Credential>>, ApiError> {
    if let Some(cached) = state.credentials.get(api_id) {
        return Ok(cached);
    }
    let found = state.store.find_credential(api_id).await?.map(Arc::new);
    state.credentials.put(api_id.clone(), found.clone());
    Ok(found)
}

/// The caller of a key that is neither revoked nor expired.
fn usable(
    state: &AppState,
    api_id: ApiId,
    credential: &Credential,
) -> Result<Authenticated, ApiError> {
    if credential.revoked_at.is_some() {
        return Err(ApiError::unauthorized("this api key was revoked"));
    }
    if !credential.is_active(state.clock.now()) {
        return Err(ApiError::unauthorized("this api key has expired"));
    }
    Ok(Authenticated {
        caller: Caller {
            api_id,
            tenant: credential.key.tenant.clone(),
            roles: credential.key.roles.clone(),
        },
        limits: credential.key.limits,
        expires_at: credential.key.expires_at,
    })
}
