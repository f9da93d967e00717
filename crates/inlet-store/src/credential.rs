//! API keys as the store keeps them: a public api id and the hash of the secret.

use inlet_domain::{ApiId, Role, TenantId, Timestamp};
use sha2::{Digest, Sha256};

/// SHA-256 of an API secret.
///
/// A fast hash is enough: secrets carry at least 128 random bits, so there is
/// no dictionary to try, and auth stays cheap on every request.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes a secret as presented by a client.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Wraps a stored hash.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw hash, for storing.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// The public id.
    pub api_id: ApiId,
    /// The tenant whose data the key reaches.
    pub tenant: TenantId,
    /// Hash of the secret; the secret itself is never stored.
    pub secret_hash: SecretHash,
    /// What the key may do.
    pub roles: Vec<Role>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Limits of this key that differ from the server's defaults.
    pub limits: KeyLimits,
}

/// Per-key overrides of the server's request limits; `None` means "the
/// server's default".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeyLimits {
    /// Sustained requests per second (token bucket refill rate).
    pub rate_per_second: Option<f64>,
    /// Requests that may arrive at once (token bucket size).
    pub burst: Option<u32>,
    /// Requests per UTC day.
    pub daily_quota: Option<u64>,
}

/// A stored key.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The key as created.
    pub key: NewCredential,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl Credential {
    /// Whether the key authenticates at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.key.expires_at
    }
}
