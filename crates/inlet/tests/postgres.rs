//! Many `inlet serve` nodes on one PostgreSQL, and PostgreSQL going away
//! under load. Each test runs real processes on a fresh database of the
//! server `INLET_TEST_PG_URL` names, and is skipped (saying so) without it.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inlet_domain::{EntityKind, Json, merge_into, parse_item};
use inlet_store_postgres::scratch::ScratchDatabase;
use serde_json::{Map, Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};

mod common;

use common::{Server, inlet};

/// One test at a time: listings show rows only behind every write
/// transaction running on the server, so another test's load would slow
/// this one's reads of what it just wrote.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A key made by the CLI.
#[derive(Clone)]
struct Key {
    api_id: String,
    secret: String,
}

/// `inlet ARGS --database-url URL`, expected to succeed; its stdout.
fn run(url: &str, args: &[&str]) -> String {
    let output = inlet(args)
        .args(["--database-url", url])
        .output()
        .expect("run inlet");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

fn create_key(url: &str, roles: &[&str]) -> Key {
    // Load tests: this key's rate limit must never be what they measure.
    let mut args = vec![
        "keys",
        "create",
        "--tenant",
        "acme",
        "--rate-per-second",
        "1000000",
        "--burst",
        "1000000",
    ];
    for role in roles {
        args.extend(["--role", role]);
    }
    let key: Value = serde_json::from_str(&run(url, &args)).expect("keys create prints JSON");
    Key {
        api_id: key["apiId"].as_str().expect("apiId").to_owned(),
        secret: key["apiSecret"].as_str().expect("apiSecret").to_owned(),
    }
}

/// `n` nodes on `url`, all started at the same moment (they migrate the
/// empty database concurrently).
fn start_nodes(url: &str, n: usize, env: &[(&str, &str)]) -> Vec<Server> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            let mut command = inlet(["serve", "--listen", "127.0.0.1:0", "--database-url", url]);
            command.envs(env.iter().copied());
            Server::spawn(&mut command)
        })
        .collect();
    children.into_iter().map(Server::announced).collect()
}

async fn send(request: reqwest::RequestBuilder, key: &Key) -> (u16, Value) {
    let response = request
        .header("asapp-api-id", &key.api_id)
        .header("asapp-api-secret", &key.secret)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    key: &Key,
    body: &Value,
) -> (u16, Value) {
    send(
        http.post(format!("{url}/metadata-ingestion/v1/{path}"))
            .json(body),
        key,
    )
    .await
}

async fn get(http: &reqwest::Client, url: &str, path: &str, key: &Key) -> (u16, Value) {
    send(http.get(format!("{url}{path}")), key).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_behave_as_one_service() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(database) = ScratchDatabase::create("the multi-node PostgreSQL tests").await else {
        return;
    };
    let nodes = start_nodes(database.url(), 2, &[]);
    let urls: Vec<String> = nodes.iter().map(|node| node.url.clone()).collect();
    let key = create_key(database.url(), &["ingest", "read"]);
    let http = reqwest::Client::new();

    same_event_id_at_both_nodes_is_stored_once(&http, &urls, &key).await;
    concurrent_updates_through_both_nodes_lose_no_field(&http, &urls, &key).await;
    keys_changed_by_the_cli_are_honoured_by_every_node(&http, &urls, database.url()).await;
    rejections_read_while_both_nodes_write_are_never_skipped(&http, &urls, &key).await;
}

/// Promise 1: one eventId sent to two nodes at the same moment is stored
/// once, and the second answer is the documented duplicate (409 `409-01`).
async fn same_event_id_at_both_nodes_is_stored_once(
    http: &reqwest::Client,
    urls: &[String],
    key: &Key,
) {
    for i in 0..40 {
        let item = json!({"externalConversationId": format!("dup-{i}"),
            "eventId": format!("dup-e{i}"), "lobId": "lob-1"});
        let (a, b) = tokio::join!(
            post(http, &urls[0], "single-convo-metadata", key, &item),
            post(http, &urls[1], "single-convo-metadata", key, &item),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "item {i}: {a:?} {b:?}");
        let duplicate = if a.0 == 409 { &a.1 } else { &b.1 };
        assert_eq!(duplicate["error"]["code"], "409-01", "{duplicate}");
        let (status, view) = get(
            http,
            &urls[i % 2],
            &format!("/metadata-ingestion/v1/conversations/dup-{i}"),
            key,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(view["history"].as_array().map(Vec::len), Some(1), "{view}");
    }
}

/// Promise 2: updates of one conversation through both nodes at once lose
/// no field, and the profile is the merge of its history in its order.
async fn concurrent_updates_through_both_nodes_lose_no_field(
    http: &reqwest::Client,
    urls: &[String],
    key: &Key,
) {
    const WRITERS: usize = 6;
    const UPDATES: usize = 20;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (http, url, key) = (http.clone(), urls[writer % 2].clone(), key.clone());
            tokio::spawn(async move {
                for update in 0..UPDATES {
                    let item = json!({"externalConversationId": "shared",
                        "campaign": format!("w{writer}-u{update}"),
                        "attributes": [{"name": format!("w{writer}-u{update}"), "value": "1"}]});
                    let (status, body) =
                        post(&http, &url, "single-convo-metadata", &key, &item).await;
                    assert_eq!(status, 200, "{body}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let (status, view) = get(
        http,
        &urls[0],
        "/metadata-ingestion/v1/conversations/shared",
        key,
    )
    .await;
    assert_eq!(status, 200);
    let history = view["history"].as_array().expect("history");
    assert_eq!(history.len(), WRITERS * UPDATES);
    let attributes = view["metadata"]["attributes"]
        .as_array()
        .expect("attributes");
    assert_eq!(attributes.len(), WRITERS * UPDATES, "no attribute lost");

    let mut replayed = Map::new();
    for entry in history {
        let text = entry["item"].to_string();
        let item = parse_item(EntityKind::Conversation, &Json::parse(&text).expect("json"))
            .expect("a stored item is valid");
        merge_into(&mut replayed, &item.changes);
    }
    assert_eq!(Value::Object(replayed), view["metadata"]);
}

/// Promise 3: a key created or revoked by the CLI is honoured by every node.
async fn keys_changed_by_the_cli_are_honoured_by_every_node(
    http: &reqwest::Client,
    urls: &[String],
    database_url: &str,
) {
    let key = create_key(database_url, &["read"]);
    for url in urls {
        let (status, body) = get(http, url, "/v1/health", &key).await;
        assert_eq!(status, 200, "a new key works at once on {url}: {body}");
    }
    run(database_url, &["keys", "revoke", &key.api_id]);
    for url in urls {
        // Bounded poll: a node's key cache may answer from memory for at
        // most 500 ms.
        let revoked = Instant::now();
        let mut status = 200;
        while status == 200 && revoked.elapsed() < Duration::from_secs(3) {
            status = get(http, url, "/v1/health", &key).await.0;
        }
        assert_eq!(status, 401, "{url} must refuse a revoked key");
    }
}

/// Promise 4: a reader paging through rejections while both nodes write
/// them never skips one, even though transactions commit out of order.
async fn rejections_read_while_both_nodes_write_are_never_skipped(
    http: &reqwest::Client,
    urls: &[String],
    key: &Key,
) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 60;
    const BAD_PER_BATCH: usize = 3;
    let (done, writers_done) = watch::channel(false);
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (http, url, key) = (http.clone(), urls[writer % 2].clone(), key.clone());
            tokio::spawn(async move {
                for batch in 0..BATCHES {
                    let mut items = vec![json!({"externalConversationId":
                        format!("ok-{writer}-{batch}")})];
                    items.extend((0..BAD_PER_BATCH).map(|n| {
                        json!({"externalConversationId": "bad", "lobId": 5,
                            "eventId": format!("rej-{writer}-{batch}-{n}")})
                    }));
                    let (status, body) = post(
                        &http,
                        &url,
                        "many-convo-metadata",
                        &key,
                        &json!({"items": items}),
                    )
                    .await;
                    assert_eq!(status, 200, "{body}");
                }
            })
        })
        .collect();
    let expected = WRITERS * BATCHES * BAD_PER_BATCH;
    let reader = {
        let (http, url, key) = (http.clone(), urls[1].clone(), key.clone());
        tokio::spawn(
            async move { read_rejections(&http, &url, &key, expected, writers_done).await },
        )
    };
    for writer in writers {
        writer.await.expect("writer");
    }
    // The reader may have seen every row already and stopped listening.
    let _ = done.send(true);
    let seen = reader.await.expect("reader");
    let missing: Vec<String> = (0..WRITERS)
        .flat_map(|w| (0..BATCHES).flat_map(move |b| (0..BAD_PER_BATCH).map(move |n| (w, b, n))))
        .map(|(w, b, n)| format!("rej-{w}-{b}-{n}"))
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(missing.is_empty(), "the reader skipped {missing:?}");
}

/// Pages through the rejections 5 at a time, following `nextCursor` as soon
/// as it is given, while writers run; at the end of the list it asks again
/// from the last cursor. Returns every id seen, once all `expected` were
/// seen or, after the writers finished, a bounded number of passes later.
async fn read_rejections(
    http: &reqwest::Client,
    url: &str,
    key: &Key,
    expected: usize,
    writers_done: watch::Receiver<bool>,
) -> BTreeSet<String> {
    /// Passes over the end of the list allowed after the writers finished:
    /// rows of a transaction become visible once every older one on the
    /// server has ended, which takes milliseconds, not hundreds of passes.
    const PASSES_AFTER_WRITERS: usize = 500;
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut passes_after = 0;
    while seen.len() < expected && passes_after < PASSES_AFTER_WRITERS {
        let path = match &cursor {
            Some(cursor) => format!("/metadata-ingestion/v1/rejections?limit=5&cursor={cursor}"),
            None => "/metadata-ingestion/v1/rejections?limit=5".to_owned(),
        };
        let (status, page) = get(http, url, &path, key).await;
        assert_eq!(status, 200, "{page}");
        for rejection in page["rejections"].as_array().expect("rejections") {
            seen.insert(rejection["id"].as_str().expect("id").to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None if *writers_done.borrow() => passes_after += 1,
            None => {}
        }
    }
    seen
}

/// A TCP proxy in front of PostgreSQL that the test can cut: while down, it
/// closes every open connection and refuses new ones, as a stopped server
/// would.
struct Proxy {
    address: String,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address").to_string();
        let (up, state) = watch::channel(true);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !*state.borrow() {
                    continue; // dropped: the connection is reset
                }
                let (upstream, mut state) = (upstream.clone(), state.clone());
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = state.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { address, up }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

/// What the load clients have seen so far.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    ok: usize,
    unavailable: usize,
}

/// Waits until the load clients have seen `until`; a bound, not a sleep:
/// past it the test fails, naming `what` did not happen.
async fn wait_until(seen: &watch::Receiver<Seen>, what: &str, until: impl Fn(&Seen) -> bool) {
    const BOUND: Duration = Duration::from_secs(60);
    let mut seen = seen.clone();
    tokio::time::timeout(BOUND, seen.wait_for(|s| until(s)))
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within {BOUND:?}"))
        .expect("the load clients run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_then_recovers_and_loses_no_acknowledged_item() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(database) = ScratchDatabase::create("the PostgreSQL outage test").await else {
        return;
    };
    run(database.url(), &["migrate"]);
    let key = create_key(database.url(), &["ingest", "read"]);
    let proxy = Proxy::start(database.server()).await;
    let through_proxy = database.url_through(&proxy.address);
    let request_timeout = Duration::from_secs(5);
    let node = start_nodes(
        &through_proxy,
        1,
        &[
            ("INLET_POSTGRES__CONNECT_TIMEOUT_SECONDS", "1"),
            ("INLET_POSTGRES__STATEMENT_TIMEOUT_SECONDS", "2"),
            ("INLET_LIMITS__REQUEST_TIMEOUT_SECONDS", "5"),
        ],
    )
    .remove(0);

    let (seen_tx, seen) = watch::channel(Seen::default());
    let seen_tx = Arc::new(seen_tx);
    let (stop, stopped) = watch::channel(false);
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (url, key, seen_tx, stopped) = (
                node.url.clone(),
                key.clone(),
                Arc::clone(&seen_tx),
                stopped.clone(),
            );
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    // A request past the server's timeout would be a hang.
                    .timeout(request_timeout + Duration::from_secs(5))
                    .build()
                    .expect("client");
                let mut acknowledged = Vec::new();
                let mut batch = 0;
                while !*stopped.borrow() {
                    let ids: Vec<String> =
                        (0..20).map(|i| format!("o-{client}-{batch}-{i}")).collect();
                    let items: Vec<Value> = ids
                        .iter()
                        .map(
                            |id| json!({"externalConversationId": id, "eventId": id, "lobId": "x"}),
                        )
                        .collect();
                    batch += 1;
                    let response = http
                        .post(format!("{url}/metadata-ingestion/v1/many-convo-metadata"))
                        .header("asapp-api-id", &key.api_id)
                        .header("asapp-api-secret", &key.secret)
                        .json(&json!({"items": items}))
                        .send()
                        .await
                        .expect("the server answers within its request timeout");
                    let status = response.status().as_u16();
                    let retry_after = response.headers().contains_key("retry-after");
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    match status {
                        200 => {
                            acknowledged.extend(ids);
                            seen_tx.send_modify(|seen| seen.ok += 1);
                        }
                        503 => {
                            assert_eq!(body["error"]["code"], "503-01", "{body}");
                            assert!(retry_after, "503 without Retry-After");
                            seen_tx.send_modify(|seen| seen.unavailable += 1);
                        }
                        other => panic!("unexpected {other} during the outage test: {body}"),
                    }
                }
                acknowledged
            })
        })
        .collect();

    wait_until(&seen, "load before the outage", |s| s.ok >= 10).await;
    proxy.set_up(false);
    wait_until(&seen, "503s during the outage", |s| s.unavailable >= 10).await;
    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{}/readyz", node.url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503, "not ready while the database is down");
    proxy.set_up(true);
    let ok_at_restore = seen.borrow().ok;
    wait_until(&seen, "recovery after the outage", |s| {
        s.ok >= ok_at_restore + 10
    })
    .await;
    stop.send_replace(true);
    let mut acknowledged = HashSet::new();
    for client in clients {
        acknowledged.extend(client.await.expect("client"));
    }

    let (client, connection) = tokio_postgres::connect(database.url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let ids: Vec<&str> = acknowledged.iter().map(String::as_str).collect();
    let row = client
        .query_one(
            "SELECT count(*) FROM events WHERE tenant = 'acme' AND event_id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("count");
    assert_eq!(
        usize::try_from(row.get::<_, i64>(0)).expect("count"),
        acknowledged.len(),
        "every acknowledged item is stored"
    );
    let some = ids.first().expect("some items were acknowledged");
    let (status, _) = get(
        &http,
        &node.url,
        &format!("/metadata-ingestion/v1/events/{some}"),
        &key,
    )
    .await;
    assert_eq!(status, 200);
}
