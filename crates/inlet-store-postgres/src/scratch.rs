//! Throwaway databases for tests and the benchmark (feature `scratch`).
//!
//! Tests that need PostgreSQL read its URL from `INLET_TEST_PG_URL`; each
//! gets a database of its own, created empty and dropped afterwards. Without
//! the variable they are skipped, and the first skip says so on stderr (not
//! through the test harness's capture, so `cargo test` shows it).

use std::io::Write;
use std::sync::Once;

use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

/// The variable that names the PostgreSQL server tests may use.
pub const TEST_URL_VARIABLE: &str = "INLET_TEST_PG_URL";

/// A database made for one test or benchmark run; dropped (with its
/// connections) on drop.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates a fresh, empty database on the server `INLET_TEST_PG_URL`
    /// names; `None`, after saying so once, when the variable is unset.
    ///
    /// # Panics
    /// When the variable is set but the server cannot be used: a test run
    /// that was asked to cover PostgreSQL must not pass without it.
    pub async fn create(what: &str) -> Option<Self> {
        let Some(admin_url) = std::env::var(TEST_URL_VARIABLE)
            .ok()
            .filter(|url| !url.is_empty())
        else {
            say_skipped(what);
            return None;
        };
        let database = Self::create_on(&admin_url, "inlet_test")
            .await
            .unwrap_or_else(|err| panic!("{TEST_URL_VARIABLE}: {err}"));
        Some(database)
    }

    /// Creates a fresh, empty database named `prefix_<random>` on the server
    /// of `admin_url` (a URL of any database there).
    pub async fn create_on(admin_url: &str, prefix: &str) -> Result<Self, String> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let config: tokio_postgres::Config = admin_url
            .parse()
            .map_err(|err| format!("the URL does not parse: {err}"))?;
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|err| format!("cannot connect: {err}"))?;
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|err| format!("cannot create database {name}: {err}"))?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            url: connection_string(&config, &name),
            name,
        })
    }

    /// A `postgres://` URL of the test database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's `host:port`, for a test that puts a proxy in between.
    pub fn server(&self) -> String {
        let rest = self.url.rsplit_once('@').map_or("", |(_, rest)| rest);
        rest.split_once('/')
            .map_or(rest, |(server, _)| server)
            .to_owned()
    }

    /// The test database's URL with `server` (`host:port`) in place of the
    /// real one.
    pub fn url_through(&self, server: &str) -> String {
        self.url.replacen(&self.server(), server, 1)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside a test's runtime, which cannot be blocked on:
        // the drop gets a thread and a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&admin_url, NoTls)
                    .await
                    .map_err(std::io::Error::other)?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: scratch database {} was not dropped",
                self.name
            );
        }
    }
}

/// `config` pointed at database `name`, as a `postgres://` URL (the form
/// `inlet --database-url` takes).
fn connection_string(config: &tokio_postgres::Config, name: &str) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let credentials = match config.get_password() {
        Some(password) => format!("{user}:{}", String::from_utf8_lossy(password)),
        None => user.to_owned(),
    };
    format!("postgres://{credentials}@{host}:{port}/{name}")
}

fn say_skipped(what: &str) {
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        // Straight to stderr: the harness captures print!, not this.
        let _ = writeln!(
            std::io::stderr(),
            "note: {what} skipped: {TEST_URL_VARIABLE} is not set. Run them with \
             {TEST_URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/postgres cargo test --workspace"
        );
    });
}
