//! `inlet serve`: open the store, bind, announce the address, serve until
//! SIGINT or SIGTERM, then finish in-flight requests and exit 0.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::Context;
use inlet_domain::SystemClock;
use inlet_server::AppState;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::config::{ConfigArgs, LogFormat};
use crate::log_buffer::{self, LogGuard};
use crate::log_format;

/// Options of `inlet serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config.load()?;
    // Dropped last, after the store's threads have ended and logged.
    let _log_guard = init_logging(config.log_format);
    // Before anything records a metric: earlier records would be lost.
    if config.metrics_enabled {
        inlet_server::install_recorder();
    }
    let limits = &config.limits;
    let opened = crate::store::open(&config).await?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // The first line on stdout, for scripts and tests that bound port 0.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{address}").context("cannot write to stdout")?;
    if !config.metrics_listen.is_empty() {
        let metrics = TcpListener::bind(&config.metrics_listen)
            .await
            .with_context(|| format!("cannot listen on {} for metrics", config.metrics_listen))?;
        let metrics_address = metrics
            .local_addr()
            .context("cannot read the metrics address")?;
        writeln!(stdout, "metrics on http://{metrics_address}/metrics")
            .context("cannot write to stdout")?;
        // Scrapes hold no data that needs finishing: this listener simply
        // ends with the process.
        tokio::spawn(async move {
            if let Err(err) = inlet_server::serve_metrics(metrics, std::future::pending()).await {
                tracing::error!(error = %err, "metrics listener failed");
            }
        });
    }
    stdout.flush().context("cannot write to stdout")?;
    tracing::info!(
        %address,
        store = %opened.location,
        max_body_bytes = limits.max_body_bytes,
        write_queue_items = limits.write_queue_items,
        "inlet serving"
    );

    let closed = opened.closed;
    let state = AppState::new(opened.store, Arc::new(SystemClock), limits.server_limits())
        .with_call_settings(config.call_settings());
    // Returns once in-flight requests are answered; the router, and with it
    // the last handle on the store, is dropped by then.
    inlet_server::serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    if let Some(closed) = closed {
        let ended = tokio::task::spawn_blocking(move || closed.wait(STORE_CLOSE_TIMEOUT))
            .await
            .unwrap_or(false);
        if !ended {
            tracing::warn!(
                "the store did not close in time; its WAL is checkpointed at next start"
            );
        }
    }
    tracing::info!("inlet stopped");
    Ok(())
}

/// How long a stopping server waits for the store's last checkpoint.
const STORE_CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Logs to stderr through a background thread that writes the lines of
/// many requests at once (see [`crate::log_buffer`]), one line per event,
/// without the module path (it cost more than the rest of a request's log
/// line), in [`crate::log_format::Plain`] or JSON, and without colour codes
/// unless stderr is a terminal. Nothing is
/// dropped: loggers wait when the buffer is full, and the guard writes the
/// rest when dropped.
fn init_logging(format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_from_env("INLET_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = log_buffer::buffered(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_writer(writer);
    match format {
        LogFormat::Human => builder.event_format(log_format::Plain).init(),
        LogFormat::Json => builder.json().init(),
    }
    guard
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
