//! The real `inlet` binary in a temp dir: start, announce, crash, restart,
//! stop, and keys changed by the CLI while a server runs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::Server;

struct Key {
    api_id: String,
    secret: String,
}

fn inlet(data_dir: &Path, args: &[&str]) -> std::process::Output {
    common::inlet(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run inlet")
}

fn create_key(data_dir: &Path, tenant: &str, roles: &[&str]) -> Key {
    // These tests load and poll hard with one key: lift its rate limit.
    let mut args = vec![
        "keys",
        "create",
        "--tenant",
        tenant,
        "--rate-per-second",
        "1000000",
        "--burst",
        "1000000",
    ];
    for role in roles {
        args.extend(["--role", role]);
    }
    let output = inlet(data_dir, &args);
    assert!(output.status.success(), "{output:?}");
    let key: Value = serde_json::from_slice(&output.stdout).expect("keys create prints JSON");
    Key {
        api_id: key["apiId"].as_str().expect("apiId").to_owned(),
        secret: key["apiSecret"].as_str().expect("apiSecret").to_owned(),
    }
}

async fn post_batch(
    client: &reqwest::Client,
    url: &str,
    key: &Key,
    items: &[Value],
) -> Option<u16> {
    client
        .post(format!("{url}/metadata-ingestion/v1/many-convo-metadata"))
        .header("asapp-api-id", &key.api_id)
        .header("asapp-api-secret", &key.secret)
        .json(&json!({ "items": items }))
        .send()
        .await
        .ok()
        .map(|response| response.status().as_u16())
}

async fn event_exists(client: &reqwest::Client, url: &str, key: &Key, event_id: &str) -> bool {
    let response = client
        .get(format!("{url}/metadata-ingestion/v1/events/{event_id}"))
        .header("asapp-api-id", &key.api_id)
        .header("asapp-api-secret", &key.secret)
        .send()
        .await
        .expect("read event");
    match response.status().as_u16() {
        200 => true,
        404 => false,
        other => panic!("unexpected status {other} reading {event_id}"),
    }
}

fn batch_items(client: usize, batch: usize, size: usize) -> Vec<Value> {
    (0..size)
        .map(|i| {
            json!({
                "externalConversationId": format!("c{client}-{batch}-{i}"),
                "eventId": format!("e{client}-{batch}-{i}"),
                "lobId": "lob",
                "attributes": [{"name": "n", "value": "v"}],
            })
        })
        .collect()
}

/// Sends batches from `clients` tasks until `stop` is set or each has sent
/// `max_batches`; returns, per client, how many batches were sent and which
/// were acknowledged with 200.
async fn load(
    url: &str,
    key: &Arc<Key>,
    clients: usize,
    max_batches: usize,
    size: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<(usize, Vec<usize>)> {
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (url, key, stop) = (url.to_owned(), Arc::clone(key), Arc::clone(stop));
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut acknowledged = Vec::new();
                let mut sent = 0;
                while sent < max_batches && !stop.load(Ordering::SeqCst) {
                    let items = batch_items(client, sent, size);
                    let status = post_batch(&http, &url, &key, &items).await;
                    sent += 1;
                    match status {
                        Some(200) => acknowledged.push(sent - 1),
                        Some(other) => panic!("unexpected status {other}"),
                        None => break, // the server is gone
                    }
                }
                (sent, acknowledged)
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("client task"));
    }
    results
}

#[test]
fn serve_announces_the_bound_address_on_the_first_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_on(dir.path());
    assert!(server.url.starts_with("http://127.0.0.1:"));
    assert!(!server.url.ends_with(":0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_item_and_writes_no_half_batch() {
    const CLIENTS: usize = 4;
    const BATCH: usize = 50;
    const MAX_BATCHES: usize = 400;
    const KILL_AFTER_ACKS: usize = 40;
    let dir = tempfile::tempdir().expect("temp dir");
    let key = Arc::new(create_key(dir.path(), "acme", &["ingest", "read"]));
    let mut server = Server::start_on(dir.path());
    let url = server.url.clone();
    let stop = Arc::new(AtomicBool::new(false));

    let killer = {
        let (url, key, stop) = (server.url.clone(), Arc::clone(&key), Arc::clone(&stop));
        // Watches acknowledged batches through the API and kills at the threshold.
        async move {
            let http = reqwest::Client::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let acked = count_present_prefix(&http, &url, &key, CLIENTS).await;
                if acked >= KILL_AFTER_ACKS || Instant::now() > deadline {
                    break;
                }
                tokio::task::yield_now().await;
            }
            stop.store(true, Ordering::SeqCst);
        }
    };
    let load = load(&url, &key, CLIENTS, MAX_BATCHES, BATCH, &stop);
    let (results, ()) = tokio::join!(load, async {
        killer.await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("wait");
    });

    let server = Server::start_on(dir.path());
    let http = reqwest::Client::new();
    let mut acknowledged_items = 0;
    for (client, (sent, acknowledged)) in results.iter().enumerate() {
        for batch in 0..*sent {
            let items = batch_items(client, batch, BATCH);
            let mut present = 0;
            for item in &items {
                let id = item["eventId"].as_str().expect("eventId");
                present += usize::from(event_exists(&http, &server.url, &key, id).await);
            }
            if acknowledged.contains(&batch) {
                assert_eq!(
                    present, BATCH,
                    "acknowledged batch {client}/{batch} lost items"
                );
                acknowledged_items += BATCH;
            } else {
                assert!(
                    present == 0 || present == BATCH,
                    "batch {client}/{batch} is half-written: {present} of {BATCH}"
                );
            }
        }
    }
    assert!(acknowledged_items > 0, "the load acknowledged nothing");
}

/// How many batches' first items are readable, counting each client's
/// batches from 0 until the first missing one.
async fn count_present_prefix(
    http: &reqwest::Client,
    url: &str,
    key: &Key,
    clients: usize,
) -> usize {
    let mut total = 0;
    for client in 0..clients {
        let mut batch = 0;
        while event_exists(http, url, key, &format!("e{client}-{batch}-0")).await {
            batch += 1;
        }
        total += batch;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = Arc::new(create_key(dir.path(), "acme", &["ingest", "read"]));
    let mut server = Server::start_on(dir.path());
    let url = server.url.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let load = load(&url, &key, 4, 1_000, 20, &stop);
    let (results, status) = tokio::join!(load, async {
        // Let some requests land before asking the server to stop.
        let http = reqwest::Client::new();
        while !event_exists(&http, &url, &key, "e0-2-0").await {
            tokio::task::yield_now().await;
        }
        server.signal("TERM");
        let status = tokio::task::block_in_place(|| server.child.wait().expect("wait"));
        stop.store(true, Ordering::SeqCst);
        status
    });
    assert!(status.success(), "exit status {status:?}");
    let wal = dir.path().join("inlet.db-wal");
    let wal_bytes = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
    assert_eq!(
        wal_bytes, 0,
        "a graceful stop checkpoints the WAL into the database"
    );

    let server = Server::start_on(dir.path());
    let http = reqwest::Client::new();
    for (client, (_, acknowledged)) in results.iter().enumerate() {
        for &batch in acknowledged {
            for item in batch_items(client, batch, 20) {
                let id = item["eventId"].as_str().expect("eventId");
                assert!(
                    event_exists(&http, &server.url, &key, id).await,
                    "{id} lost"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_created_and_revoked_by_the_cli_are_honoured_by_a_running_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_on(dir.path());
    let key = create_key(dir.path(), "acme", &["read"]);
    let http = reqwest::Client::new();
    let health = |key: &Key| {
        http.get(format!("{}/v1/health", server.url))
            .header("asapp-api-id", key.api_id.clone())
            .header("asapp-api-secret", key.secret.clone())
            .send()
    };
    let created = Instant::now();
    let response = health(&key).await.expect("health");
    assert_eq!(response.status(), 200, "a new key works at once");
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"healthCheck": "SUCCESS"})
    );
    assert!(created.elapsed() < Duration::from_secs(5));

    let output = inlet(dir.path(), &["keys", "revoke", &key.api_id]);
    assert!(output.status.success(), "{output:?}");
    // Bounded poll: the cache may serve the old answer for at most 500 ms.
    let revoked = Instant::now();
    let mut status = 200;
    while status == 200 && revoked.elapsed() < Duration::from_secs(3) {
        status = health(&key).await.expect("health").status().as_u16();
    }
    assert_eq!(status, 401, "a revoked key must stop working");

    let listed = inlet(dir.path(), &["keys", "list"]);
    let text = String::from_utf8(listed.stdout).expect("utf-8");
    assert!(text.contains(&key.api_id) && text.contains("\"revoked\""));
    assert!(
        !text.contains(&key.secret),
        "keys list must never show secrets"
    );
}

#[test]
fn keys_create_refuses_bad_roles_and_zero_days_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad_role = inlet(
        dir.path(),
        &["keys", "create", "--tenant", "acme", "--role", "writer"],
    );
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role \"writer\""));
    let zero = inlet(
        dir.path(),
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--role",
            "read",
            "--expires-in-days",
            "0",
        ],
    );
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr).contains("expires-in-days"));
    let negative_rate = inlet(
        dir.path(),
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--role",
            "read",
            "--rate-per-second",
            "-1",
        ],
    );
    assert!(!negative_rate.status.success());
    assert!(
        String::from_utf8_lossy(&negative_rate.stderr).contains("or 0 for no rate limit"),
        "{negative_rate:?}"
    );
}
