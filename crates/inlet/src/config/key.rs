//! The catalogue of configuration keys: where each lives in the file, the
//! environment variable that sets it, one line saying what it does, and how
//! to set it from text.
//!
//! The environment layer, `inlet config print` and `inlet config example` all
//! walk [`KEYS`]; a test checks that it names every field of [`Config`] and
//! nothing else, so a key cannot be added without its variable and its line
//! in the example, and no listed key can be one that does nothing.

use std::path::PathBuf;

use super::{Config, LogFormat};

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// The file's `[section]`, or `None` for a top-level key.
    pub(crate) section: Option<&'static str>,
    /// The name within its section, as written in the file.
    pub(crate) name: &'static str,
    /// One line for `inlet config example`.
    pub(crate) help: &'static str,
    /// Whether `inlet config print` must hide the value (and errors must not
    /// echo it): `database_url`, which may hold a password.
    pub(crate) secret: bool,
    /// Parses `text` into the key's field; on failure, the form expected.
    pub(crate) setter: fn(&mut Config, &str) -> Result<(), &'static str>,
}

/// Every key, top-level ones first, then each section's together.
pub(crate) const KEYS: &[Key] = &[
    Key {
        section: None,
        name: "listen",
        help: "Address to serve on, HOST:PORT; port 0 picks a free port.",
        secret: false,
        setter: |config, text| {
            config.listen = text.to_owned();
            Ok(())
        },
    },
    Key {
        section: None,
        name: "data_dir",
        help: "Directory of the embedded store (inlet.db); relative to the working directory.",
        secret: false,
        setter: |config, text| {
            config.data_dir = PathBuf::from(text);
            Ok(())
        },
    },
    Key {
        section: None,
        name: "log_format",
        help: "Log lines on stderr: \"human\" or \"json\" (one object per line).",
        secret: false,
        setter: |config, text| {
            config.log_format = match text {
                "human" => LogFormat::Human,
                "json" => LogFormat::Json,
                _ => return Err("human or json"),
            };
            Ok(())
        },
    },
    Key {
        section: None,
        name: "metrics_listen",
        help: "A second address serving only /metrics, HOST:PORT; empty: none (/metrics is always on listen too).",
        secret: false,
        setter: |config, text| {
            config.metrics_listen = text.to_owned();
            Ok(())
        },
    },
    Key {
        section: None,
        name: "metrics_enabled",
        help: "Record metrics for /metrics: true or false (false answers /metrics with 404).",
        secret: false,
        setter: |config, text| {
            config.metrics_enabled = text.parse().map_err(|_| "true or false")?;
            Ok(())
        },
    },
    Key {
        section: None,
        name: "database_url",
        help: "PostgreSQL to store in, postgres://USER:PASSWORD@HOST:PORT/DATABASE; empty: the embedded store in data_dir.",
        secret: true,
        setter: |config, text| {
            config.database_url = text.to_owned();
            Ok(())
        },
    },
    Key {
        section: Some("limits"),
        name: "max_body_bytes",
        help: "Largest request body in bytes (8 MiB); larger answers 413 413-01. At least 1024.",
        secret: false,
        setter: |config, text| {
            config.limits.max_body_bytes = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("limits"),
        name: "write_queue_items",
        help: "Items that may wait for the store's writer; past that, writes answer 503. At least 1.",
        secret: false,
        setter: |config, text| {
            config.limits.write_queue_items = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("limits"),
        name: "rate_per_second",
        help: "Sustained requests per second per key; past it, 429 429-01; 0: no rate limit. A key's own limit wins.",
        secret: false,
        setter: |config, text| {
            config.limits.rate_per_second =
                text.parse().map_err(|_| "a number, e.g. 100 or 2.5")?;
            Ok(())
        },
    },
    Key {
        section: Some("limits"),
        name: "burst",
        help: "Requests per key that may arrive at once, above the sustained rate. At least 1.",
        secret: false,
        setter: |config, text| {
            config.limits.burst = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("limits"),
        name: "daily_quota",
        help: "Requests per key per UTC day, reset at 00:00 UTC; past it, 429 429-02. 0 means none.",
        secret: false,
        setter: |config, text| {
            config.limits.daily_quota = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("limits"),
        name: "request_timeout_seconds",
        help: "Longest a request may take; past it, 503 503-01. At least 1.",
        secret: false,
        setter: |config, text| {
            config.limits.request_timeout_seconds = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("limits"),
        name: "body_read_timeout_seconds",
        help: "Longest pause while a request body arrives; past it, 408 408-01. At least 1.",
        secret: false,
        setter: |config, text| {
            config.limits.body_read_timeout_seconds = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("sqlite"),
        name: "mmap_mib",
        help: "MiB of the embedded store's file its writer maps into memory (faster reads; they count in RSS); 0: none. At most 2047.",
        secret: false,
        setter: |config, text| {
            config.sqlite.mmap_mib = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("postgres"),
        name: "pool_size",
        help: "Connections to PostgreSQL this node keeps at most. At least 1.",
        secret: false,
        setter: |config, text| {
            config.postgres.pool_size = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("postgres"),
        name: "statement_timeout_seconds",
        help: "Longest one SQL statement may run; past it the request answers 503 503-01. At least 1.",
        secret: false,
        setter: |config, text| {
            config.postgres.statement_timeout_seconds = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("postgres"),
        name: "connect_timeout_seconds",
        help: "Longest a new connection to PostgreSQL may take to open; past it, 503 503-01. At least 1.",
        secret: false,
        setter: |config, text| {
            config.postgres.connect_timeout_seconds = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("calls"),
        name: "pending_ttl_seconds",
        help: "How long an out-of-band event waits for a matching call (24 h); then it is unmatched. At least 1.",
        secret: false,
        setter: |config, text| {
            config.calls.pending_ttl_seconds = whole_number(text)?;
            Ok(())
        },
    },
    Key {
        section: Some("tokens"),
        name: "lifetime_seconds",
        help: "How long a bearer token from POST /Token lives; 60 to 86400.",
        secret: false,
        setter: |config, text| {
            config.tokens.lifetime_seconds = whole_number(text)?;
            Ok(())
        },
    },
];

impl Key {
    /// `section.name`, or `name` for a top-level key: `limits.max_body_bytes`.
    pub(crate) fn path(&self) -> String {
        match self.section {
            Some(section) => format!("{section}.{}", self.name),
            None => self.name.to_owned(),
        }
    }

    /// `INLET_SECTION__NAME`, or `INLET_NAME` for a top-level key:
    /// `INLET_LIMITS__MAX_BODY_BYTES`, `INLET_LISTEN`.
    pub(crate) fn env_var(&self) -> String {
        format!("INLET_{}", self.path().replace('.', "__").to_uppercase())
    }

    /// Sets the key in `config` from `text`; on failure, the form expected.
    pub(crate) fn set(&self, config: &mut Config, text: &str) -> Result<(), &'static str> {
        (self.setter)(config, text)
    }
}

/// Digits only: an environment variable has no TOML syntax to lean on.
fn whole_number(text: &str) -> Result<usize, &'static str> {
    text.parse().map_err(|_| "a whole number")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::{CallsConfig, LimitsConfig, PostgresConfig, SqliteConfig, TokensConfig};

    /// `section.name` of every leaf of the serialized defaults.
    fn field_paths() -> BTreeSet<String> {
        let table = toml::Table::try_from(Config::default()).expect("defaults serialize");
        let mut paths = BTreeSet::new();
        for (name, value) in table {
            match value {
                toml::Value::Table(section) => {
                    paths.extend(section.keys().map(|key| format!("{name}.{key}")));
                }
                _ => {
                    paths.insert(name);
                }
            }
        }
        paths
    }

    /// How a value of the defaults is written in an environment variable.
    fn text_of(value: &toml::Value) -> String {
        match value {
            toml::Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }

    #[test]
    fn every_field_of_the_config_has_exactly_one_key() {
        let keys: Vec<String> = KEYS.iter().map(Key::path).collect();
        let unique: BTreeSet<String> = keys.iter().cloned().collect();
        assert_eq!(unique.len(), keys.len(), "a key is listed twice");
        assert_eq!(unique, field_paths());
    }

    #[test]
    fn top_level_keys_come_first_and_each_section_is_together() {
        let mut seen: Vec<Option<&str>> = Vec::new();
        for key in KEYS {
            if seen.last() != Some(&key.section) {
                assert!(!seen.contains(&key.section), "{} is apart", key.path());
                seen.push(key.section);
            }
        }
        assert!(
            seen.iter().skip(1).all(Option::is_some),
            "top-level keys must come before any section, as TOML requires"
        );
    }

    #[test]
    fn every_key_set_from_its_default_text_gives_the_default() {
        let table = toml::Table::try_from(Config::default()).expect("defaults serialize");
        for key in KEYS {
            let value = match key.section {
                Some(section) => &table[section][key.name],
                None => &table[key.name],
            };
            let mut config = Config::default();
            key.set(&mut config, &text_of(value))
                .unwrap_or_else(|form| panic!("{}: expected {form}", key.path()));
            assert_eq!(config, Config::default(), "{}", key.path());
        }
    }

    #[test]
    fn every_key_changes_its_own_field() {
        let changed = [
            ("listen", "0.0.0.0:9000"),
            ("data_dir", "/var/lib/inlet"),
            ("log_format", "json"),
            ("metrics_listen", "127.0.0.1:9090"),
            ("metrics_enabled", "false"),
            ("database_url", "postgres://db.internal/inlet"),
            ("limits.max_body_bytes", "2048"),
            ("limits.write_queue_items", "7"),
            ("limits.rate_per_second", "2.5"),
            ("limits.burst", "9"),
            ("limits.daily_quota", "1000"),
            ("limits.request_timeout_seconds", "11"),
            ("limits.body_read_timeout_seconds", "4"),
            ("sqlite.mmap_mib", "128"),
            ("postgres.pool_size", "3"),
            ("postgres.statement_timeout_seconds", "8"),
            ("postgres.connect_timeout_seconds", "2"),
            ("calls.pending_ttl_seconds", "600"),
            ("tokens.lifetime_seconds", "900"),
        ];
        assert_eq!(changed.len(), KEYS.len(), "cover every key");
        let mut config = Config::default();
        for (path, text) in changed {
            let key = KEYS.iter().find(|key| key.path() == path).expect(path);
            key.set(&mut config, text).expect(path);
        }
        let expected = Config {
            listen: "0.0.0.0:9000".to_owned(),
            data_dir: PathBuf::from("/var/lib/inlet"),
            log_format: LogFormat::Json,
            metrics_listen: "127.0.0.1:9090".to_owned(),
            metrics_enabled: false,
            database_url: "postgres://db.internal/inlet".to_owned(),
            limits: LimitsConfig {
                max_body_bytes: 2048,
                write_queue_items: 7,
                rate_per_second: 2.5,
                burst: 9,
                daily_quota: 1000,
                request_timeout_seconds: 11,
                body_read_timeout_seconds: 4,
            },
            sqlite: SqliteConfig { mmap_mib: 128 },
            postgres: PostgresConfig {
                pool_size: 3,
                statement_timeout_seconds: 8,
                connect_timeout_seconds: 2,
            },
            calls: CallsConfig {
                pending_ttl_seconds: 600,
            },
            tokens: TokensConfig {
                lifetime_seconds: 900,
            },
        };
        assert_eq!(config, expected);
    }

    #[test]
    fn text_of_the_wrong_form_says_what_is_expected() {
        let key = |path: &str| *KEYS.iter().find(|key| key.path() == path).expect(path);
        let mut config = Config::default();
        assert_eq!(
            key("limits.max_body_bytes").set(&mut config, "8MiB"),
            Err("a whole number")
        );
        assert_eq!(
            key("limits.write_queue_items").set(&mut config, "-1"),
            Err("a whole number")
        );
        assert_eq!(
            key("log_format").set(&mut config, "xml"),
            Err("human or json")
        );
        assert_eq!(config, Config::default());
    }

    #[test]
    fn variables_are_named_inlet_section_then_key() {
        let vars: Vec<String> = KEYS.iter().map(Key::env_var).collect();
        assert_eq!(
            vars,
            [
                "INLET_LISTEN",
                "INLET_DATA_DIR",
                "INLET_LOG_FORMAT",
                "INLET_METRICS_LISTEN",
                "INLET_METRICS_ENABLED",
                "INLET_DATABASE_URL",
                "INLET_LIMITS__MAX_BODY_BYTES",
                "INLET_LIMITS__WRITE_QUEUE_ITEMS",
                "INLET_LIMITS__RATE_PER_SECOND",
                "INLET_LIMITS__BURST",
                "INLET_LIMITS__DAILY_QUOTA",
                "INLET_LIMITS__REQUEST_TIMEOUT_SECONDS",
                "INLET_LIMITS__BODY_READ_TIMEOUT_SECONDS",
                "INLET_SQLITE__MMAP_MIB",
                "INLET_POSTGRES__POOL_SIZE",
                "INLET_POSTGRES__STATEMENT_TIMEOUT_SECONDS",
                "INLET_POSTGRES__CONNECT_TIMEOUT_SECONDS",
                "INLET_CALLS__PENDING_TTL_SECONDS",
                "INLET_TOKENS__LIFETIME_SECONDS",
            ]
        );
    }
}
