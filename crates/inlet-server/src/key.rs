//! Making new API keys: a public api id and a random secret shown once.

use inlet_domain::{ApiId, Role, TenantId, Timestamp};
use inlet_store::{KeyLimits, NewCredential, SecretHash};
use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::SecretString;

/// Random characters in an api id after its prefix.
const API_ID_RANDOM_CHARS: usize = 20;

/// Characters in a secret: 43 alphanumerics carry 43 × log2(62) ≈ 256 bits,
/// twice the 128 bits DESIGN.md §5 asks for.
const SECRET_CHARS: usize = 43;

/// Seconds in a day, for `--expires-in-days`.
const SECONDS_PER_DAY: i64 = 86_400;

/// A new key: what to store and the secret to show its owner once.
#[derive(Debug)]
pub struct IssuedKey {
    /// The stored form (with the secret's hash only).
    pub credential: NewCredential,
    /// The secret itself; never stored, never logged (its `Debug` is redacted).
    pub secret: SecretString,
}

/// Makes a key for `tenant` with `roles` and its own `limits`, valid for
/// `expires_in_days` from `now`.
pub fn issue_key(
    tenant: TenantId,
    roles: Vec<Role>,
    expires_in_days: u32,
    limits: KeyLimits,
    now: Timestamp,
) -> IssuedKey {
    let api_id = format!("ak_{}", random_alphanumeric(API_ID_RANDOM_CHARS));
    let secret = random_alphanumeric(SECRET_CHARS);
    IssuedKey {
        credential: NewCredential {
            // Generated from the id alphabet and far below the length limit.
            api_id: ApiId::parse(api_id).expect("generated api ids are valid"),
            tenant,
            secret_hash: SecretHash::of(&secret),
            roles,
            created_at: now,
            expires_at: now.plus_seconds(i64::from(expires_in_days) * SECONDS_PER_DAY),
            limits,
        },
        secret: SecretString::from(secret),
    }
}

fn random_alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn issued_keys_are_distinct_and_store_only_a_hash() {
        let tenant = TenantId::parse("t").unwrap();
        let limits = KeyLimits::default();
        let a = issue_key(
            tenant.clone(),
            vec![Role::Read],
            1,
            limits,
            Timestamp::from_micros(0),
        );
        let b = issue_key(
            tenant,
            vec![Role::Read],
            1,
            limits,
            Timestamp::from_micros(0),
        );
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert!(!format!("{a:?}").contains(a.secret.expose_secret()));
        assert_ne!(a.credential.api_id, b.credential.api_id);
        assert_eq!(a.secret.expose_secret().len(), SECRET_CHARS);
        assert_eq!(
            a.credential.secret_hash,
            SecretHash::of(a.secret.expose_secret())
        );
        assert_eq!(
            a.credential.expires_at,
            Timestamp::from_micros(SECONDS_PER_DAY * 1_000_000)
        );
    }
}
