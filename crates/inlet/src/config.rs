//! The configuration of `inlet serve`: its keys, their defaults and the
//! values they may take.
//!
//! Values come in layers, each overriding the one before: these defaults, an
//! optional TOML file (`--config FILE` or `INLET_CONFIG`), `INLET_*`
//! environment variables, then command-line flags ([`layer`]). A key exists
//! only when the code uses it: [`key::KEYS`] lists them, and tests hold this
//! struct, that list and the committed `inlet.example.toml` together.

mod command;
mod env;
mod flags;
mod key;
mod layer;
mod render;

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize};

pub(crate) use command::{ConfigCommand, run};
pub(crate) use flags::{ConfigArgs, StoreArgs};

/// Default `listen`: loopback only, so a first run exposes nothing.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Default `data_dir`, relative to the working directory.
const DEFAULT_DATA_DIR: &str = "./inlet-data";

/// Smallest `limits.max_body_bytes`. One small item needs a few hundred
/// bytes, so anything under 1 KiB is a typo that would refuse every request.
const MIN_MAX_BODY_BYTES: usize = 1024;

/// Bounds of `tokens.lifetime_seconds`: a token shorter than a minute is
/// spent before it is used; one longer than a day outlives the point of
/// expiring it.
const MIN_TOKEN_LIFETIME_SECONDS: usize = 60;
const MAX_TOKEN_LIFETIME_SECONDS: usize = 86_400;

/// Smallest `limits.write_queue_items`: with no room, every write would fail.
const MIN_WRITE_QUEUE_ITEMS: usize = 1;

/// The effective configuration, as `inlet config print` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// Address to serve on, `HOST:PORT`; port 0 picks a free port.
    pub(crate) listen: String,
    /// Directory of the embedded SQLite store.
    pub(crate) data_dir: PathBuf,
    /// How log lines on stderr are written.
    pub(crate) log_format: LogFormat,
    /// A second address serving only `/metrics`; empty: none (`/metrics`
    /// is always on the main address too).
    pub(crate) metrics_listen: String,
    /// Whether metrics are recorded at all; off, `/metrics` answers 404.
    pub(crate) metrics_enabled: bool,
    /// A PostgreSQL URL; set, inlet uses PostgreSQL instead of `data_dir`.
    pub(crate) database_url: String,
    /// The `[limits]` section.
    pub(crate) limits: LimitsConfig,
    /// The `[sqlite]` section, used only without `database_url`.
    pub(crate) sqlite: SqliteConfig,
    /// The `[postgres]` section, used only with `database_url`.
    pub(crate) postgres: PostgresConfig,
    /// The `[calls]` section.
    pub(crate) calls: CallsConfig,
    /// The `[tokens]` section.
    pub(crate) tokens: TokensConfig,
}

/// `[calls]`: out-of-band call events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct CallsConfig {
    /// How long an event waits for a matching call, in seconds, before it
    /// is reported unmatched.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) pending_ttl_seconds: usize,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            pending_ttl_seconds: inlet_server::DEFAULT_PENDING_TTL.as_secs() as usize,
        }
    }
}

/// `[tokens]`: bearer tokens from `POST /Token`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TokensConfig {
    /// How long a token lives, in seconds.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) lifetime_seconds: usize,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            lifetime_seconds: inlet_server::DEFAULT_TOKEN_LIFETIME.as_secs() as usize,
        }
    }
}

impl Config {
    /// The call-metadata settings of the server.
    pub(crate) fn call_settings(&self) -> inlet_server::CallSettings {
        let seconds = |n: usize| std::time::Duration::from_secs(n as u64);
        inlet_server::CallSettings {
            pending_ttl: seconds(self.calls.pending_ttl_seconds),
            token_lifetime: seconds(self.tokens.lifetime_seconds),
        }
    }
}

/// `[sqlite]`: how the embedded store uses the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SqliteConfig {
    /// How much of the database file the writer maps into memory, in MiB;
    /// 0: none (see `inlet_store_sqlite::SqliteSettings::mmap_bytes`).
    #[serde(deserialize_with = "whole_number")]
    pub(crate) mmap_mib: usize,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            mmap_mib: (inlet_store_sqlite::DEFAULT_MMAP_BYTES >> 20) as usize,
        }
    }
}

/// SQLite maps at most this much, in MiB, whatever it is asked.
const MAX_MMAP_MIB: usize = (inlet_store_sqlite::MAX_MMAP_BYTES >> 20) as usize;

impl Config {
    /// The embedded store's settings.
    pub(crate) fn sqlite_settings(&self) -> inlet_store_sqlite::SqliteSettings {
        inlet_store_sqlite::SqliteSettings {
            queue_items: self.limits.write_queue_items,
            mmap_bytes: (self.sqlite.mmap_mib as u64) << 20,
        }
    }
}

/// `[postgres]`: how much of PostgreSQL one node takes, and how long it
/// waits for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PostgresConfig {
    /// Connections this node keeps at most.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) pool_size: usize,
    /// Longest one statement may run, in seconds.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) statement_timeout_seconds: usize,
    /// Longest a new connection may take to open, in seconds.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) connect_timeout_seconds: usize,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            pool_size: inlet_store_postgres::DEFAULT_POOL_SIZE,
            statement_timeout_seconds: inlet_store_postgres::DEFAULT_STATEMENT_TIMEOUT.as_secs()
                as usize,
            connect_timeout_seconds: inlet_store_postgres::DEFAULT_CONNECT_TIMEOUT.as_secs()
                as usize,
        }
    }
}

/// `[limits]`: bounds on requests and on the store's write queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LimitsConfig {
    /// Largest request body in bytes; larger answers 413 `413-01`.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) max_body_bytes: usize,
    /// Items that may wait for the store's writer; past that, writes answer 503.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) write_queue_items: usize,
    /// Sustained requests per second per key (token bucket refill); 0: none.
    pub(crate) rate_per_second: f64,
    /// Requests per key that may arrive at once (token bucket size).
    #[serde(deserialize_with = "whole_number")]
    pub(crate) burst: usize,
    /// Requests per key per UTC day; 0 means no quota.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) daily_quota: usize,
    /// Longest a request may take, in seconds; longer answers 503.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) request_timeout_seconds: usize,
    /// Longest pause while a request body arrives, in seconds; longer answers 408.
    #[serde(deserialize_with = "whole_number")]
    pub(crate) body_read_timeout_seconds: usize,
}

impl LimitsConfig {
    /// The server's request limits from these settings.
    pub(crate) fn server_limits(&self) -> inlet_server::Limits {
        let seconds = |n: usize| std::time::Duration::from_secs(n as u64);
        inlet_server::Limits {
            max_body_bytes: self.max_body_bytes,
            rate: inlet_server::RateLimits {
                rate_per_second: self.rate_per_second,
                burst: u32::try_from(self.burst).unwrap_or(u32::MAX),
                daily_quota: (self.daily_quota > 0).then_some(self.daily_quota as u64),
            },
            body_read_timeout: seconds(self.body_read_timeout_seconds),
            request_timeout: seconds(self.request_timeout_seconds),
        }
    }
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_owned(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            log_format: LogFormat::default(),
            metrics_listen: String::new(),
            metrics_enabled: true,
            database_url: String::new(),
            limits: LimitsConfig::default(),
            sqlite: SqliteConfig::default(),
            postgres: PostgresConfig::default(),
            calls: CallsConfig::default(),
            tokens: TokensConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: inlet_server::DEFAULT_MAX_BODY_BYTES,
            write_queue_items: inlet_store_sqlite::DEFAULT_QUEUE_ITEMS,
            rate_per_second: inlet_server::DEFAULT_RATE_PER_SECOND,
            burst: inlet_server::DEFAULT_BURST as usize,
            daily_quota: 0,
            request_timeout_seconds: inlet_server::DEFAULT_REQUEST_TIMEOUT.as_secs() as usize,
            body_read_timeout_seconds: inlet_server::DEFAULT_BODY_READ_TIMEOUT.as_secs() as usize,
        }
    }
}

impl Config {
    /// Checks the values that parse but make no sense, naming the first such
    /// key and the form it expects.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !is_host_and_port(&self.listen) {
            return Err(format!(
                "listen must be HOST:PORT, e.g. {DEFAULT_LISTEN}; got {:?}",
                self.listen
            ));
        }
        if !self.metrics_listen.is_empty() && !is_host_and_port(&self.metrics_listen) {
            return Err(format!(
                "metrics_listen must be HOST:PORT, e.g. 127.0.0.1:9090, or empty for none; got {:?}",
                self.metrics_listen
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err("data_dir must be a directory path; got \"\"".to_owned());
        }
        if self.limits.max_body_bytes < MIN_MAX_BODY_BYTES {
            return Err(format!(
                "limits.max_body_bytes must be a whole number of bytes, at least \
                 {MIN_MAX_BODY_BYTES}; got {}",
                self.limits.max_body_bytes
            ));
        }
        let limits = &self.limits;
        if !(limits.rate_per_second.is_finite() && limits.rate_per_second >= 0.0) {
            return Err(format!(
                "limits.rate_per_second must be a number, 0 for no rate limit; got {}",
                limits.rate_per_second
            ));
        }
        if limits.burst < 1 || u32::try_from(limits.burst).is_err() {
            return Err(format!(
                "limits.burst must be a whole number from 1 to {}; got {}",
                u32::MAX,
                limits.burst
            ));
        }
        for (name, seconds) in [
            ("request_timeout_seconds", limits.request_timeout_seconds),
            (
                "body_read_timeout_seconds",
                limits.body_read_timeout_seconds,
            ),
        ] {
            if seconds < 1 {
                return Err(format!(
                    "limits.{name} must be a whole number of seconds, at least 1; got {seconds}"
                ));
            }
        }
        if self.sqlite.mmap_mib > MAX_MMAP_MIB {
            return Err(format!(
                "sqlite.mmap_mib must be a whole number of MiB from 0 (nothing mapped) to \
                 {MAX_MMAP_MIB}, SQLite's limit; got {}",
                self.sqlite.mmap_mib
            ));
        }
        let postgres = &self.postgres;
        for (name, value) in [
            ("pool_size", postgres.pool_size),
            (
                "statement_timeout_seconds",
                postgres.statement_timeout_seconds,
            ),
            ("connect_timeout_seconds", postgres.connect_timeout_seconds),
        ] {
            if value < 1 {
                return Err(format!(
                    "postgres.{name} must be a whole number, at least 1; got {value}"
                ));
            }
        }
        if !self.database_url.is_empty()
            && !self.database_url.starts_with("postgres://")
            && !self.database_url.starts_with("postgresql://")
        {
            // The URL may hold a password: it is not echoed.
            return Err("database_url must be a postgres:// URL, e.g. \
                 postgres://inlet:PASSWORD@db.internal:5432/inlet, or empty for the embedded store"
                .to_owned());
        }
        if self.calls.pending_ttl_seconds < 1 {
            return Err(format!(
                "calls.pending_ttl_seconds must be a whole number of seconds, at least 1; got {}",
                self.calls.pending_ttl_seconds
            ));
        }
        if !(MIN_TOKEN_LIFETIME_SECONDS..=MAX_TOKEN_LIFETIME_SECONDS)
            .contains(&self.tokens.lifetime_seconds)
        {
            return Err(format!(
                "tokens.lifetime_seconds must be from {MIN_TOKEN_LIFETIME_SECONDS} to \
                 {MAX_TOKEN_LIFETIME_SECONDS} (a day); got {}",
                self.tokens.lifetime_seconds
            ));
        }
        if self.limits.write_queue_items < MIN_WRITE_QUEUE_ITEMS {
            return Err(format!(
                "limits.write_queue_items must be a whole number, at least \
                 {MIN_WRITE_QUEUE_ITEMS}; got {}",
                self.limits.write_queue_items
            ));
        }
        Ok(())
    }
}

/// `HOST:PORT` with a port that fits 16 bits; the host is resolved at bind.
fn is_host_and_port(text: &str) -> bool {
    text.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

/// Deserializes a count, so that a wrong value says "expected a whole
/// number" rather than "expected usize".
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    struct WholeNumber;

    impl Visitor<'_> for WholeNumber {
        type Value = usize;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a whole number")
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<usize, E> {
            usize::try_from(value).map_err(|_| E::invalid_value(Unexpected::Signed(value), &self))
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<usize, E> {
            usize::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
        }
    }

    deserializer.deserialize_u64(WholeNumber)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_design() {
        let config = Config::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./inlet-data"));
        assert_eq!(config.log_format, LogFormat::Human);
        // DESIGN.md §6: request body 8 MiB.
        assert_eq!(config.limits.max_body_bytes, 8 * 1024 * 1024);
        assert_eq!(
            config.limits.write_queue_items,
            inlet_store_sqlite::DEFAULT_QUEUE_ITEMS
        );
    }

    #[test]
    fn a_body_limit_under_1_kib_is_refused_with_the_key_and_the_form() {
        let mut config = Config::default();
        config.limits.max_body_bytes = 1023;
        let message = config.validate().expect_err("too small");
        assert_eq!(
            message,
            "limits.max_body_bytes must be a whole number of bytes, at least 1024; got 1023"
        );
        config.limits.max_body_bytes = 1024;
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn an_empty_write_queue_is_refused() {
        let mut config = Config::default();
        config.limits.write_queue_items = 0;
        let message = config.validate().expect_err("empty queue");
        assert!(
            message.starts_with("limits.write_queue_items must be"),
            "{message}"
        );
    }

    #[test]
    fn listen_must_be_host_and_port() {
        for bad in [
            "8080",
            ":8080",
            "localhost",
            "localhost:http",
            "127.0.0.1:65536",
        ] {
            let config = Config {
                listen: bad.to_owned(),
                ..Config::default()
            };
            let message = config.validate().expect_err(bad);
            assert!(message.starts_with("listen must be HOST:PORT"), "{message}");
        }
        for good in ["localhost:0", "0.0.0.0:80", "[::1]:8080"] {
            let config = Config {
                listen: good.to_owned(),
                ..Config::default()
            };
            assert_eq!(config.validate(), Ok(()), "{good}");
        }
    }

    #[test]
    fn an_empty_data_dir_is_refused() {
        let config = Config {
            data_dir: PathBuf::new(),
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }
}
