//! `inlet config print | example`: show the configuration in effect, or a
//! commented file with every key to start one from.

use std::io::Write;

use anyhow::Context;
use clap::Subcommand;

use super::{ConfigArgs, render};

/// `inlet config` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the configuration in effect (defaults, file, environment,
    /// flags) as TOML; secrets are redacted.
    Print(ConfigArgs),
    /// Print an example configuration file: every key at its default, each
    /// with one line saying what it does.
    Example,
}

/// Runs an `inlet config` subcommand.
pub(crate) fn run(command: ConfigCommand) -> anyhow::Result<()> {
    let text = match command {
        ConfigCommand::Print(args) => render::print(&args.load()?)?,
        ConfigCommand::Example => render::example()?,
    };
    // Not `print!`: it panics when stdout is a closed pipe (`| head`).
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("cannot write to stdout")
}
