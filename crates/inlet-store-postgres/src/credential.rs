//! Keys: the SQL of inserting, finding, listing and revoking credentials.

use deadpool_postgres::Client;
use inlet_domain::{ApiId, Role, TenantId, Timestamp};
use inlet_store::{Credential, KeyLimits, NewCredential, SecretHash, StoreError};
use tokio_postgres::Row;

use crate::error::store_error;
use crate::read::{corrupt, parse};

const COLUMNS: &str = "api_id, tenant, secret_hash, roles, created_at, expires_at, revoked_at, \
                       rate_per_second, burst, daily_quota";

pub(crate) async fn insert(client: &Client, credential: &NewCredential) -> Result<(), StoreError> {
    let roles: Vec<&str> = credential.roles.iter().map(|role| role.as_str()).collect();
    let statement = client
        .prepare_cached(&format!(
            "INSERT INTO credentials ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9) ON CONFLICT (api_id) DO NOTHING"
        ))
        .await
        .map_err(store_error)?;
    let limits = &credential.limits;
    let inserted = client
        .execute(
            &statement,
            &[
                &credential.api_id.as_str(),
                &credential.tenant.as_str(),
                &&credential.secret_hash.as_bytes()[..],
                &roles.join(","),
                &credential.created_at.as_micros(),
                &credential.expires_at.as_micros(),
                &limits.rate_per_second,
                &limits.burst.map(i64::from),
                &limits
                    .daily_quota
                    .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            ],
        )
        .await
        .map_err(store_error)?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "api id {} exists",
            credential.api_id
        )));
    }
    Ok(())
}

pub(crate) async fn revoke(
    client: &Client,
    api_id: &ApiId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let statement = client
        .prepare_cached(
            "UPDATE credentials SET revoked_at = COALESCE(revoked_at, $2) WHERE api_id = $1",
        )
        .await
        .map_err(store_error)?;
    let changed = client
        .execute(&statement, &[&api_id.as_str(), &at.as_micros()])
        .await
        .map_err(store_error)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) async fn find(
    client: &Client,
    api_id: &ApiId,
) -> Result<Option<Credential>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM credentials WHERE api_id = $1"
        ))
        .await
        .map_err(store_error)?;
    client
        .query_opt(&statement, &[&api_id.as_str()])
        .await
        .map_err(store_error)?
        .map(|row| from_row(&row))
        .transpose()
}

pub(crate) async fn list(client: &Client) -> Result<Vec<Credential>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM credentials ORDER BY created_at, api_id"
        ))
        .await
        .map_err(store_error)?;
    client
        .query(&statement, &[])
        .await
        .map_err(store_error)?
        .iter()
        .map(from_row)
        .collect()
}

fn from_row(row: &Row) -> Result<Credential, StoreError> {
    let hash: Vec<u8> = row.get(2);
    let roles: &str = row.get(3);
    Ok(Credential {
        key: NewCredential {
            api_id: parse(row, 0, ApiId::parse)?,
            tenant: parse(row, 1, TenantId::parse)?,
            secret_hash: SecretHash::from_bytes(
                hash.try_into()
                    .map_err(|_| corrupt("credentials.secret_hash"))?,
            ),
            roles: roles
                .split(',')
                .filter(|name| !name.is_empty())
                .map(Role::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| corrupt("credentials.roles"))?,
            created_at: Timestamp::from_micros(row.get(4)),
            expires_at: Timestamp::from_micros(row.get(5)),
            limits: KeyLimits {
                rate_per_second: row.get(7),
                burst: row
                    .get::<_, Option<i64>>(8)
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                daily_quota: row
                    .get::<_, Option<i64>>(9)
                    .map(|n| u64::try_from(n).unwrap_or(0)),
            },
        },
        revoked_at: row.get::<_, Option<i64>>(6).map(Timestamp::from_micros),
    })
}
