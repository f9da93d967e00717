//! Keys: the SQL of inserting, finding, listing and revoking credentials.

use inlet_domain::{ApiId, Role, TenantId, Timestamp};
use inlet_store::{Credential, KeyLimits, NewCredential, SecretHash, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLUMNS: &str = "api_id, tenant, secret_hash, roles, created_at, expires_at, revoked_at, \
                       rate_per_second, burst, daily_quota";

pub(crate) fn insert(
    tx: &Connection,
    credential: &NewCredential,
) -> rusqlite::Result<Result<(), StoreError>> {
    let roles: Vec<&str> = credential.roles.iter().map(|role| role.as_str()).collect();
    let inserted = tx
        .prepare_cached(&format!(
            "INSERT INTO credentials ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9) \
             ON CONFLICT (api_id) DO NOTHING"
        ))?
        .execute(params![
            credential.api_id.as_str(),
            credential.tenant.as_str(),
            &credential.secret_hash.as_bytes()[..],
            roles.join(","),
            credential.created_at.as_micros(),
            credential.expires_at.as_micros(),
            credential.limits.rate_per_second,
            credential.limits.burst,
            credential
                .limits
                .daily_quota
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        ])?;
    Ok(if inserted == 0 {
        Err(StoreError::Conflict(format!(
            "api id {} exists",
            credential.api_id
        )))
    } else {
        Ok(())
    })
}

pub(crate) fn revoke(
    tx: &Connection,
    api_id: &ApiId,
    at: Timestamp,
) -> rusqlite::Result<Result<(), StoreError>> {
    let changed = tx
        .prepare_cached(
            "UPDATE credentials SET revoked_at = COALESCE(revoked_at, ?2) WHERE api_id = ?1",
        )?
        .execute(params![api_id.as_str(), at.as_micros()])?;
    Ok(if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    })
}

pub(crate) fn find(conn: &Connection, api_id: &ApiId) -> rusqlite::Result<Option<Credential>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM credentials WHERE api_id = ?1"
    ))?
    .query_row([api_id.as_str()], from_row)
    .optional()
}

pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<Credential>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM credentials ORDER BY created_at, api_id"
    ))?
    .query_map([], from_row)?
    .collect()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Credential> {
    let hash: Vec<u8> = row.get(2)?;
    let roles: String = row.get(3)?;
    Ok(Credential {
        key: NewCredential {
            api_id: parse(row, 0, ApiId::parse)?,
            tenant: parse(row, 1, TenantId::parse)?,
            secret_hash: SecretHash::from_bytes(hash.try_into().map_err(|_| corrupt(2))?),
            roles: roles
                .split(',')
                .filter(|name| !name.is_empty())
                .map(Role::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| corrupt(3))?,
            created_at: Timestamp::from_micros(row.get(4)?),
            expires_at: Timestamp::from_micros(row.get(5)?),
            limits: KeyLimits {
                rate_per_second: row.get(7)?,
                burst: row.get(8)?,
                daily_quota: row
                    .get::<_, Option<i64>>(9)?
                    .map(|n| u64::try_from(n).unwrap_or(0)),
            },
        },
        revoked_at: row.get::<_, Option<i64>>(6)?.map(Timestamp::from_micros),
    })
}

/// Reads column `index` as text and parses it with `parse`; a value that no
/// longer parses is reported as a conversion failure of that column.
pub(crate) fn parse<T, E>(
    row: &Row<'_>,
    index: usize,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> rusqlite::Result<T> {
    parse(row.get(index)?).map_err(|_| corrupt(index))
}

pub(crate) fn corrupt(index: usize) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(index, "stored value".into(), rusqlite::types::Type::Text)
}
