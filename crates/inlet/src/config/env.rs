//! The environment layer: `INLET_SECTION__KEY` sets `[section] key`
//! (`INLET_LIMITS__MAX_BODY_BYTES`), and `INLET_KEY` sets a top-level key
//! (`INLET_LISTEN`).
//!
//! The decision: a name with `__` after `INLET_` claims to be a configuration
//! key, so an unknown one is refused, naming it: a typo must not be ignored
//! while the operator believes it applied. A flat `INLET_*` name that is no
//! top-level key is left alone, because the namespace is shared with inlet's
//! clients and tests (`INLET_URL`, `INLET_TEST_PG_URL`).

use std::ffi::OsString;

use anyhow::{anyhow, bail};

use super::Config;
use super::key::{KEYS, Key};

/// Every variable inlet reads starts with this.
const PREFIX: &str = "INLET_";

/// Separates the section from the key, as `.` does in the file.
const SEPARATOR: &str = "__";

/// Flat variables read elsewhere (the config file's path, the log filter)
/// or by inlet's clients. Never refused, never taken for a key.
const RESERVED: &[&str] = &[
    "INLET_CONFIG",
    "INLET_LOG",
    "INLET_URL",
    "INLET_API_ID",
    "INLET_API_SECRET",
];

/// Applies the `INLET_*` variables among `vars` to `config`, in name order
/// so the first error is the same on every run. Each value is checked as it
/// is applied, and an error names the variable.
pub(crate) fn apply(
    config: &mut Config,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> anyhow::Result<()> {
    let mut ours: Vec<(String, OsString)> = vars
        .into_iter()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
        .filter(|(name, _)| name.starts_with(PREFIX) && !RESERVED.contains(&name.as_str()))
        .collect();
    ours.sort();
    for (name, value) in ours {
        match KEYS.iter().find(|key| key.env_var() == name) {
            Some(key) => set(config, key, &name, &value)?,
            None if name[PREFIX.len()..].contains(SEPARATOR) => bail!(
                "unknown configuration variable {name}; the known ones are {}",
                known_vars()
            ),
            None => {}
        }
    }
    Ok(())
}

fn set(config: &mut Config, key: &Key, name: &str, value: &OsString) -> anyhow::Result<()> {
    let path = key.path();
    let text = value
        .to_str()
        .ok_or_else(|| anyhow!("{name}: {path} must be UTF-8 text"))?;
    key.set(config, text).map_err(|form| {
        if key.secret {
            anyhow!("{name}: {path} must be {form}")
        } else {
            anyhow!("{name}: {path} must be {form}; got {text:?}")
        }
    })?;
    config
        .validate()
        .map_err(|problem| anyhow!("{name}: {problem}"))
}

fn known_vars() -> String {
    KEYS.iter().map(Key::env_var).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::LogFormat;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(name, value)| (OsString::from(name), OsString::from(value)))
            .collect()
    }

    fn applied(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
        let mut config = Config::default();
        apply(&mut config, vars(pairs))?;
        Ok(config)
    }

    fn refusal(pairs: &[(&str, &str)]) -> String {
        format!("{:#}", applied(pairs).expect_err("refused"))
    }

    #[test]
    fn section_variables_and_flat_top_level_variables_set_their_keys() {
        let config = applied(&[
            ("INLET_LIMITS__MAX_BODY_BYTES", "4096"),
            ("INLET_LIMITS__WRITE_QUEUE_ITEMS", "3"),
            ("INLET_LISTEN", "0.0.0.0:9000"),
            ("INLET_DATA_DIR", "/srv/inlet"),
            ("INLET_LOG_FORMAT", "json"),
            ("INLET_SQLITE__MMAP_MIB", "0"),
        ])
        .expect("valid");
        assert_eq!(config.limits.max_body_bytes, 4096);
        assert_eq!(config.limits.write_queue_items, 3);
        assert_eq!(
            config.sqlite_settings(),
            inlet_store_sqlite::SqliteSettings {
                queue_items: 3,
                mmap_bytes: 0
            }
        );
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.data_dir, PathBuf::from("/srv/inlet"));
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn reserved_and_other_flat_variables_are_accepted_and_change_nothing() {
        let config = applied(&[
            ("INLET_URL", "http://127.0.0.1:8080"),
            ("INLET_API_ID", "abc"),
            ("INLET_API_SECRET", "s3cret"),
            ("INLET_CONFIG", "/etc/inlet.toml"),
            ("INLET_LOG", "debug"),
            ("INLET_TEST_PG_URL", "postgres://localhost/test"),
            ("PATH", "/usr/bin"),
            ("inlet_limits__max_body_bytes", "1"),
        ])
        .expect("accepted");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn an_unknown_section_variable_is_refused_naming_it() {
        let message = refusal(&[("INLET_LIMITS__MAX_BODY_BYTE", "4096")]);
        assert!(
            message.starts_with("unknown configuration variable INLET_LIMITS__MAX_BODY_BYTE;"),
            "{message}"
        );
        assert!(
            message.contains("INLET_LIMITS__MAX_BODY_BYTES"),
            "{message}"
        );
        let message = refusal(&[("INLET_CALLS__PENDING_TTL", "60")]);
        assert!(
            message.starts_with("unknown configuration variable INLET_CALLS__PENDING_TTL;"),
            "{message}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_form_names_the_variable_the_key_and_the_form() {
        assert_eq!(
            refusal(&[("INLET_LIMITS__MAX_BODY_BYTES", "8MiB")]),
            "INLET_LIMITS__MAX_BODY_BYTES: limits.max_body_bytes must be a whole number; got \"8MiB\""
        );
        assert_eq!(
            refusal(&[("INLET_LOG_FORMAT", "xml")]),
            "INLET_LOG_FORMAT: log_format must be human or json; got \"xml\""
        );
    }

    #[test]
    fn a_value_out_of_range_names_the_variable() {
        assert_eq!(
            refusal(&[("INLET_LIMITS__MAX_BODY_BYTES", "10")]),
            "INLET_LIMITS__MAX_BODY_BYTES: limits.max_body_bytes must be a whole number of \
             bytes, at least 1024; got 10"
        );
        let message = refusal(&[("INLET_LIMITS__WRITE_QUEUE_ITEMS", "0")]);
        assert!(
            message.starts_with("INLET_LIMITS__WRITE_QUEUE_ITEMS: "),
            "{message}"
        );
        let message = refusal(&[("INLET_LISTEN", "8080")]);
        assert!(
            message.starts_with("INLET_LISTEN: listen must be HOST:PORT"),
            "{message}"
        );
    }

    #[test]
    fn a_secret_value_is_not_echoed_in_an_error() {
        let mut config = Config::default();
        let secret = Key {
            secret: true,
            ..*KEYS
                .iter()
                .find(|key| key.name == "max_body_bytes")
                .expect("key")
        };
        let name = secret.env_var();
        let message = set(&mut config, &secret, &name, &OsString::from("hunter2"))
            .expect_err("not a number")
            .to_string();
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_is_refused_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let mut config = Config::default();
        let bad = vec![(
            OsString::from("INLET_DATA_DIR"),
            OsString::from_vec(vec![0x66, 0xff]),
        )];
        let message = apply(&mut config, bad).expect_err("not UTF-8").to_string();
        assert_eq!(message, "INLET_DATA_DIR: data_dir must be UTF-8 text");
    }
}
