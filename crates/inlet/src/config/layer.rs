//! How the layers stack: the defaults, then the file, then the environment,
//! then the flags, each overriding the one before.
//!
//! The decision: each layer is checked as it is applied, so an error names
//! where the bad value is (the file and key, the variable, the flag) — the
//! layers below were already valid. A bad value is refused even when a
//! higher layer would override it: the file is wrong either way.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};

use super::{Config, ConfigArgs, env};

/// Names the config file when `--config` does not.
const CONFIG_VAR: &str = "INLET_CONFIG";

/// The effective configuration for `args` and the environment `vars`.
pub(crate) fn load(
    args: &ConfigArgs,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> anyhow::Result<Config> {
    let vars: Vec<(OsString, OsString)> = vars.into_iter().collect();
    let mut config = match args.config.clone().or_else(|| file_from_env(&vars)) {
        Some(path) => read_file(&path)?,
        None => Config::default(),
    };
    env::apply(&mut config, vars)?;
    args.apply(&mut config)?;
    Ok(config)
}

/// The file `INLET_CONFIG` names; set but empty counts as unset, as a
/// shell's `INLET_CONFIG= inlet serve` means.
fn file_from_env(vars: &[(OsString, OsString)]) -> Option<PathBuf> {
    vars.iter()
        .find(|(name, value)| name == CONFIG_VAR && !value.is_empty())
        .map(|(_, value)| PathBuf::from(value))
}

fn read_file(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    parse(&text).map_err(|problem| anyhow!("config file {}: {problem}", path.display()))
}

/// Parses a config file's text over the defaults. Unknown keys are refused;
/// an error names the key, what was wrong and the line.
pub(crate) fn parse(text: &str) -> Result<Config, String> {
    let deserializer =
        toml::de::Deserializer::parse(text).map_err(|err| describe(&err, text, None))?;
    let config: Config = serde_path_to_error::deserialize(deserializer)
        .map_err(|err| describe(err.inner(), text, Some(&err.path().to_string())))?;
    config.validate()?;
    Ok(config)
}

/// `KEY: MESSAGE (line N)`, from a TOML error and the key it was at.
fn describe(err: &toml::de::Error, text: &str, key: Option<&str>) -> String {
    let mut described = String::new();
    // serde_path_to_error writes "." for an error at the top of the document.
    if let Some(key) = key.filter(|key| *key != ".") {
        described.push_str(key);
        described.push_str(": ");
    }
    described.push_str(err.message());
    if let Some(span) = err.span() {
        let before = &text.as_bytes()[..span.start.min(text.len())];
        let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
        described.push_str(&format!(" (line {line})"));
    }
    described
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::LogFormat;

    struct Setup {
        dir: tempfile::TempDir,
    }

    impl Setup {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().expect("temp dir"),
            }
        }

        fn file(&self, text: &str) -> PathBuf {
            let path = self.dir.path().join("inlet.toml");
            std::fs::write(&path, text).expect("write config");
            path
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(name, value)| (OsString::from(name), OsString::from(value)))
            .collect()
    }

    fn with_file(path: &Path) -> ConfigArgs {
        ConfigArgs {
            config: Some(path.to_owned()),
            ..ConfigArgs::default()
        }
    }

    fn refusal(text: &str) -> String {
        parse(text).expect_err("refused")
    }

    const FILE: &str = "listen = \"127.0.0.1:1001\"\n\
                        log_format = \"json\"\n\
                        [limits]\n\
                        max_body_bytes = 2001\n\
                        write_queue_items = 11\n";

    #[test]
    fn defaults_stand_when_no_layer_says_otherwise() {
        let config = load(&ConfigArgs::default(), vars(&[])).expect("defaults");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn the_file_overrides_the_defaults_and_leaves_the_rest() {
        let setup = Setup::new();
        let path = setup.file("[limits]\nmax_body_bytes = 2001\n");
        let config = load(&with_file(&path), vars(&[])).expect("valid");
        assert_eq!(config.limits.max_body_bytes, 2001);
        assert_eq!(
            config,
            Config {
                limits: crate::config::LimitsConfig {
                    max_body_bytes: 2001,
                    ..Config::default().limits
                },
                ..Config::default()
            }
        );
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let setup = Setup::new();
        let path = setup.file(FILE);
        let config = load(
            &with_file(&path),
            vars(&[
                ("INLET_LISTEN", "127.0.0.1:1002"),
                ("INLET_LIMITS__MAX_BODY_BYTES", "2002"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.listen, "127.0.0.1:1002");
        assert_eq!(config.limits.max_body_bytes, 2002);
        // Keys the environment does not name keep the file's values.
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.limits.write_queue_items, 11);
    }

    #[test]
    fn flags_override_the_environment() {
        let setup = Setup::new();
        let path = setup.file(FILE);
        let args = ConfigArgs {
            listen: Some("127.0.0.1:1003".to_owned()),
            data_dir: Some(PathBuf::from("/from/flag")),
            log_format: Some(LogFormat::Human),
            ..with_file(&path)
        };
        let config = load(
            &args,
            vars(&[
                ("INLET_LISTEN", "127.0.0.1:1002"),
                ("INLET_DATA_DIR", "/from/env"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.listen, "127.0.0.1:1003");
        assert_eq!(config.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(config.log_format, LogFormat::Human);
        assert_eq!(config.limits.max_body_bytes, 2001);
    }

    #[test]
    fn inlet_config_names_the_file_unless_config_does_and_empty_is_unset() {
        let setup = Setup::new();
        let path = setup.file("listen = \"127.0.0.1:1001\"\n");
        let from_env = load(
            &ConfigArgs::default(),
            vars(&[("INLET_CONFIG", path.to_str().expect("utf-8"))]),
        )
        .expect("valid");
        assert_eq!(from_env.listen, "127.0.0.1:1001");

        let absent = setup.dir.path().join("absent.toml");
        let flag_wins = load(
            &with_file(&path),
            vars(&[("INLET_CONFIG", absent.to_str().expect("utf-8"))]),
        )
        .expect("--config wins over INLET_CONFIG");
        assert_eq!(flag_wins.listen, "127.0.0.1:1001");

        let empty = load(&ConfigArgs::default(), vars(&[("INLET_CONFIG", "")])).expect("no file");
        assert_eq!(empty, Config::default());
    }

    #[test]
    fn a_bad_flag_is_refused_naming_the_flag() {
        let args = ConfigArgs {
            listen: Some("8080".to_owned()),
            ..ConfigArgs::default()
        };
        let message = format!("{:#}", load(&args, vars(&[])).expect_err("refused"));
        assert!(
            message.starts_with("--listen: listen must be HOST:PORT"),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_key_in_the_file_is_refused_naming_the_key_and_the_file() {
        let setup = Setup::new();
        let path = setup.file("[limits]\nmax_body_byte = 2048\n");
        let message = format!(
            "{:#}",
            load(&with_file(&path), vars(&[])).expect_err("refused")
        );
        assert_eq!(
            message,
            format!(
                "config file {}: limits.max_body_byte: unknown field `max_body_byte`, \
                 expected one of `max_body_bytes`, `write_queue_items`, `rate_per_second`, \
                 `burst`, `daily_quota`, `request_timeout_seconds`, \
                 `body_read_timeout_seconds` (line 2)",
                path.display()
            )
        );
    }

    #[test]
    fn an_unknown_section_or_top_level_key_is_refused() {
        let message = refusal("[call]\npending_ttl_seconds = 60\n");
        assert!(
            message.starts_with("call: unknown field `call`"),
            "{message}"
        );
        let message = refusal("database_uri = \"postgres://db\"\n");
        assert!(
            message.starts_with("database_uri: unknown field"),
            "{message}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_key_and_the_form() {
        assert_eq!(
            refusal("[limits]\nmax_body_bytes = \"8MiB\"\n"),
            "limits.max_body_bytes: invalid type: string \"8MiB\", expected a whole number (line 2)"
        );
        assert_eq!(
            refusal("[limits]\nwrite_queue_items = -1\n"),
            "limits.write_queue_items: invalid value: integer `-1`, expected a whole number \
             (line 2)"
        );
        assert_eq!(
            refusal("log_format = \"xml\"\n"),
            "log_format: unknown variant `xml`, expected `human` or `json` (line 1)"
        );
    }

    #[test]
    fn a_value_out_of_range_in_the_file_is_refused_naming_the_key() {
        assert_eq!(
            refusal("[limits]\nmax_body_bytes = 100\n"),
            "limits.max_body_bytes must be a whole number of bytes, at least 1024; got 100"
        );
        assert_eq!(
            refusal("[sqlite]\nmmap_mib = 4096\n"),
            "sqlite.mmap_mib must be a whole number of MiB from 0 (nothing mapped) to 2047, \
             SQLite's limit; got 4096"
        );
    }

    #[test]
    fn bad_toml_is_refused_with_its_line() {
        let message = refusal("listen = \n");
        assert!(message.ends_with("(line 1)"), "{message}");
    }

    #[test]
    fn a_missing_file_is_refused_naming_it() {
        let setup = Setup::new();
        let path = setup.dir.path().join("absent.toml");
        let message = format!(
            "{:#}",
            load(&with_file(&path), vars(&[])).expect_err("refused")
        );
        assert!(
            message.starts_with(&format!("cannot read config file {}", path.display())),
            "{message}"
        );
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(parse(""), Ok(Config::default()));
    }
}
