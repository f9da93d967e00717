//! `inlet serve`: open the store, bind, announce the address, serve until
//! SIGINT or SIGTERM, then finish in-flight requests and exit 0.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use inlet_domain::SystemClock;
use inlet_server::{AppState, Limits};
use inlet_store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::{LogFormat, StoreArgs};

/// Options of `inlet serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "INLET_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    store: StoreArgs,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let store = SqliteStore::open(&args.store.data_dir)
        .with_context(|| format!("cannot open the store in {}", args.store.data_dir.display()))?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // The first line on stdout, for scripts and tests that bound port 0.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{address}").context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")?;
    tracing::info!(%address, data_dir = %args.store.data_dir.display(), "inlet serving");

    let state = AppState::new(Arc::new(store), Arc::new(SystemClock), Limits::default());
    inlet_server::serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("inlet stopped");
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("INLET_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
