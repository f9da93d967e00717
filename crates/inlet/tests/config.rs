//! The real `inlet` binary and its configuration: a limit from a config
//! file reaches the server, the committed example is what `inlet config
//! example` prints, and bad configuration stops it before it serves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

mod common;

use common::{Server, inlet};

/// The example file at the repository root.
const COMMITTED_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../inlet.example.toml");

fn output(command: &mut Command) -> Output {
    command.output().expect("run inlet")
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("inlet.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_small_body_limit_from_the_config_file_answers_413_to_a_larger_body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let config = write_config(
        dir.path(),
        &format!(
            "data_dir = {:?}\n[limits]\nmax_body_bytes = 2048\n",
            data_dir.to_str().expect("utf-8 temp dir")
        ),
    );
    // `keys` reads data_dir from the same file, so the key lands where the server looks.
    let created = output(
        inlet(["keys", "create", "--tenant", "acme", "--role", "ingest"])
            .arg("--config")
            .arg(&config),
    );
    assert!(created.status.success(), "{created:?}");
    let key: Value = serde_json::from_slice(&created.stdout).expect("keys create prints JSON");
    let server =
        Server::start(inlet(["serve", "--listen", "127.0.0.1:0", "--config"]).arg(&config));

    let http = reqwest::Client::new();
    let send = |item: Value| {
        http.post(format!(
            "{}/metadata-ingestion/v1/single-convo-metadata",
            server.url
        ))
        .header("asapp-api-id", key["apiId"].as_str().expect("apiId"))
        .header(
            "asapp-api-secret",
            key["apiSecret"].as_str().expect("apiSecret"),
        )
        .json(&item)
        .send()
    };
    let small = json!({"externalConversationId": "c-1", "lobId": "lob"});
    assert_eq!(send(small).await.expect("send").status(), 200);

    let large = json!({"externalConversationId": "c-2", "lobId": "x".repeat(4096)});
    let response = send(large).await.expect("send");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("error body");
    assert_eq!(body["error"]["code"], "413-01", "{body}");
}

#[test]
fn the_committed_example_file_is_what_config_example_prints() {
    let printed = output(&mut inlet(["config", "example"]));
    assert!(printed.status.success(), "{printed:?}");
    let committed = std::fs::read_to_string(COMMITTED_EXAMPLE).expect("read inlet.example.toml");
    assert!(
        String::from_utf8_lossy(&printed.stdout) == committed,
        "inlet.example.toml is stale; regenerate it with \
         `cargo run -q -- config example > inlet.example.toml`"
    );
}

#[test]
fn config_print_shows_the_file_under_the_environment_under_the_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        dir.path(),
        "listen = \"127.0.0.1:1001\"\ndata_dir = \"/from/file\"\n\
         [limits]\nmax_body_bytes = 4096\n",
    );
    let printed = output(
        inlet(["config", "print", "--data-dir", "/from/flag"])
            .env("INLET_CONFIG", &config)
            .env("INLET_LISTEN", "127.0.0.1:1002")
            .env("INLET_DATA_DIR", "/from/env")
            .env("INLET_DATABASE_URL", "postgres://inlet:pa55word@db/inlet")
            .env("INLET_POSTGRES__POOL_SIZE", "4")
            .env("INLET_API_SECRET", "reserved-and-ignored"),
    );
    assert!(printed.status.success(), "{printed:?}");
    assert_eq!(
        String::from_utf8(printed.stdout).expect("utf-8"),
        "listen = \"127.0.0.1:1002\"\n\
         data_dir = \"/from/flag\"\n\
         log_format = \"human\"\n\
         metrics_listen = \"\"\n\
         metrics_enabled = true\n\
         database_url = \"[redacted]\"\n\
         \n\
         [limits]\n\
         max_body_bytes = 4096\n\
         write_queue_items = 20000\n\
         rate_per_second = 100.0\n\
         burst = 200\n\
         daily_quota = 0\n\
         request_timeout_seconds = 60\n\
         body_read_timeout_seconds = 30\n\
         \n\
         [sqlite]\n\
         mmap_mib = 2000\n\
         \n\
         [postgres]\n\
         pool_size = 4\n\
         statement_timeout_seconds = 30\n\
         connect_timeout_seconds = 5\n\
         \n\
         [calls]\n\
         pending_ttl_seconds = 86400\n\
         \n\
         [tokens]\n\
         lifetime_seconds = 1799\n"
    );
}

#[test]
fn serve_refuses_an_unknown_key_in_the_config_file_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "[limits]\nmax_body_byte = 2048\n");
    let refused = output(
        inlet(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .stdout(Stdio::null()),
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(&config.display().to_string()), "{stderr}");
    assert!(stderr.contains("limits.max_body_byte"), "{stderr}");
}

#[test]
fn serve_refuses_an_unknown_section_variable_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let refused = output(
        inlet(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("INLET_LIMITS__MAX_BODY_BYTE", "2048"),
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("unknown configuration variable INLET_LIMITS__MAX_BODY_BYTE;"),
        "{stderr}"
    );
}

#[test]
fn serve_on_an_unreachable_database_fails_naming_it_but_not_its_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Port 1 on loopback: nothing listens, so the connection is refused.
    let out = output(
        inlet(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env(
                "INLET_DATABASE_URL",
                "postgres://inlet:pa55word@127.0.0.1:1/inlet",
            )
            .env("INLET_POSTGRES__CONNECT_TIMEOUT_SECONDS", "2"),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot open the PostgreSQL store at postgres://127.0.0.1:1/inlet"),
        "{stderr}"
    );
    assert!(!stderr.contains("pa55word"), "{stderr}");
    assert!(
        !dir.path().join("inlet.db").exists(),
        "nothing may be written to the embedded store"
    );
}

#[test]
fn a_database_url_that_is_not_postgres_is_refused() {
    let out = output(&mut inlet([
        "config",
        "print",
        "--database-url",
        "mysql://root:pa55word@127.0.0.1/inlet",
    ]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--database-url: database_url must be a postgres:// URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("pa55word"), "{stderr}");
}
