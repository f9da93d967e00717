//! Opens the store the configuration names: PostgreSQL when `database_url`
//! is set, else the embedded SQLite store in `data_dir`. The one place that
//! names both backends.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use inlet_store::Store;
use inlet_store_postgres::{PgSettings, PgStore};
use inlet_store_sqlite::{Closed, SqliteStore};

use crate::config::Config;

/// An open store, and for SQLite the handle that tells when its writer has
/// finished after the last clone is dropped.
pub(crate) struct OpenStore {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) closed: Option<Closed>,
    /// Where it is, for the log: a directory, or PostgreSQL's host and
    /// database (never the URL, which may hold a password).
    pub(crate) location: String,
}

/// Opens (and migrates) the configured store.
pub(crate) async fn open(config: &Config) -> anyhow::Result<OpenStore> {
    if config.database_url.is_empty() {
        let store = SqliteStore::open_with(&config.data_dir, &config.sqlite_settings())
            .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
        return Ok(OpenStore {
            closed: store.closed(),
            store: Arc::new(store),
            location: config.data_dir.display().to_string(),
        });
    }
    let settings = pg_settings(config);
    let store = PgStore::connect(&settings)
        .await
        .with_context(|| format!("cannot open the PostgreSQL store at {}", location(config)))?;
    Ok(OpenStore {
        store: Arc::new(store),
        closed: None,
        location: location(config),
    })
}

/// What `inlet migrate` did: the schema version before and after.
pub(crate) async fn migrate(config: &Config) -> anyhow::Result<(usize, usize)> {
    if config.database_url.is_empty() {
        let before = inlet_store_sqlite::schema_version(&config.data_dir)
            .with_context(|| format!("cannot read the store in {}", config.data_dir.display()))?;
        let opened = open(config).await?;
        drop(opened.store);
        if let Some(closed) = opened.closed {
            closed.wait(Duration::from_secs(30));
        }
        let after = inlet_store_sqlite::schema_version(&config.data_dir)
            .with_context(|| format!("cannot read the store in {}", config.data_dir.display()))?;
        return Ok((before, after));
    }
    let store = PgStore::connect_without_migrating(&pg_settings(config))?;
    let migration = store.migrate().await.with_context(|| {
        format!(
            "cannot migrate the PostgreSQL store at {}",
            location(config)
        )
    })?;
    Ok((migration.before, migration.after))
}

fn pg_settings(config: &Config) -> PgSettings {
    let postgres = &config.postgres;
    let seconds = |n: usize| Duration::from_secs(n as u64);
    PgSettings {
        url: config.database_url.clone(),
        pool_size: postgres.pool_size,
        statement_timeout: seconds(postgres.statement_timeout_seconds),
        connect_timeout: seconds(postgres.connect_timeout_seconds),
        queue_items: config.limits.write_queue_items,
    }
}

/// `host:port/database` of the database URL, without user or password.
fn location(config: &Config) -> String {
    let url = &config.database_url;
    let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    format!("postgres://{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_location_never_shows_the_password() {
        let config = Config {
            database_url: "postgres://inlet:s3cr%40t@db.internal:5432/inlet?sslmode=disable"
                .to_owned(),
            ..Config::default()
        };
        assert_eq!(location(&config), "postgres://db.internal:5432/inlet");
    }
}
