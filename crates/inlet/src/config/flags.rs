//! The command-line layer, the top one: `--config FILE` says where the file
//! layer comes from; `--listen`, `--data-dir` and `--log-format` override
//! everything below them.
//!
//! The decision: flags have no clap defaults and no clap `env`, or they
//! would always be "given" and hide the file and the environment; the
//! defaults live in [`Config::default`] and the variables in the environment
//! layer; `INLET_CONFIG` is read beside them ([`layer`](super::layer)).

use std::path::PathBuf;

use anyhow::anyhow;

use super::{Config, LogFormat, layer};

/// The configuration flags of `inlet serve` and `inlet config print`.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ConfigArgs {
    /// TOML configuration file; `inlet config example` prints one with every
    /// key [env: INLET_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on, HOST:PORT; port 0 picks a free port
    /// [default: 127.0.0.1:8080] [env: INLET_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Directory of the embedded SQLite store
    /// [default: ./inlet-data] [env: INLET_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Log format on stderr [default: human] [env: INLET_LOG_FORMAT]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) log_format: Option<LogFormat>,
    /// A second address serving only /metrics, HOST:PORT
    /// [default: none] [env: INLET_METRICS_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_listen: Option<String>,
    /// Store in PostgreSQL instead of --data-dir:
    /// postgres://USER:PASSWORD@HOST:PORT/DATABASE [env: INLET_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

impl ConfigArgs {
    /// The effective configuration: defaults, the file, this process's
    /// environment, then these flags.
    pub(crate) fn load(&self) -> anyhow::Result<Config> {
        layer::load(self, std::env::vars_os())
    }

    /// Applies the flags given, each checked as it is applied.
    pub(crate) fn apply(&self, config: &mut Config) -> anyhow::Result<()> {
        let checked = |config: &Config, flag: &str| {
            config
                .validate()
                .map_err(|problem| anyhow!("{flag}: {problem}"))
        };
        if let Some(listen) = &self.listen {
            config.listen.clone_from(listen);
            checked(config, "--listen")?;
        }
        if let Some(data_dir) = &self.data_dir {
            config.data_dir.clone_from(data_dir);
            checked(config, "--data-dir")?;
        }
        if let Some(log_format) = self.log_format {
            config.log_format = log_format;
        }
        if let Some(metrics_listen) = &self.metrics_listen {
            config.metrics_listen.clone_from(metrics_listen);
            checked(config, "--metrics-listen")?;
        }
        if let Some(database_url) = &self.database_url {
            config.database_url.clone_from(database_url);
            checked(config, "--database-url")?;
        }
        Ok(())
    }
}

/// Where the store is, for the commands that open it without serving
/// (`inlet keys`, `inlet migrate`): the same layers as `inlet serve`, so a
/// `data_dir` or `database_url` in the config file or the environment
/// reaches them too.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StoreArgs {
    /// TOML configuration file; only its store settings are used here
    /// [env: INLET_CONFIG]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the embedded SQLite store
    /// [default: ./inlet-data] [env: INLET_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of --data-dir [env: INLET_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

impl StoreArgs {
    /// The effective configuration, of which these commands use the store
    /// settings.
    pub(crate) fn load(&self) -> anyhow::Result<Config> {
        let args = ConfigArgs {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..ConfigArgs::default()
        };
        args.load()
    }
}
