//! `spawn_app()` and one helper per endpoint.

// Not every test module uses every helper.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use inlet_domain::{FixedClock, Role, TenantId, Timestamp};
use inlet_server::{AppState, Limits, RateLimits, issue_key};
use inlet_store::{KeyLimits, Store};
use inlet_store_sqlite::SqliteStore;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

/// The instant every test app's clock starts at.
pub const START: &str = "2026-11-22T10:00:00Z";

/// `START` as the server renders timestamps (six fractional digits).
pub const START_RENDERED: &str = "2026-11-22T10:00:00.000000Z";

/// The prefix of every ASAPP route.
pub const V1: &str = "/metadata-ingestion/v1";

/// A key as the client holds it.
#[derive(Debug, Clone)]
pub struct Key {
    pub api_id: String,
    pub secret: String,
}

/// A running server, its store and clock, and a key of tenant `acme` with
/// every role.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<FixedClock>,
    pub key: Key,
    _shutdown: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// An app whose keys are not rate limited in practice: the test clock
/// stands still, so buckets never refill. Tests of the limits set their own.
pub async fn spawn_app() -> TestApp {
    let rate = RateLimits {
        burst: 1_000_000,
        ..RateLimits::default()
    };
    spawn_app_with(Limits {
        rate,
        ..Limits::default()
    })
    .await
}

pub async fn spawn_app_with(limits: Limits) -> TestApp {
    spawn_app_with_queue(limits, inlet_store_sqlite::DEFAULT_QUEUE_ITEMS).await
}

/// An app whose store lets `queue_items` items wait for its writer.
pub async fn spawn_app_with_queue(limits: Limits, queue_items: usize) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = inlet_store_sqlite::SqliteSettings {
        queue_items,
        ..Default::default()
    };
    let store = Arc::new(SqliteStore::open_with(dir.path(), &settings).expect("open store"));
    let clock = Arc::new(FixedClock::new(
        Timestamp::parse_rfc3339(START).expect("start time"),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let state = AppState::new(store.clone(), clock.clone(), limits);
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(inlet_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let mut app = TestApp {
        address,
        client: reqwest::Client::new(),
        store,
        clock,
        key: Key {
            api_id: String::new(),
            secret: String::new(),
        },
        _shutdown: shutdown,
        _dir: dir,
    };
    app.key = app.create_key("acme", &Role::ALL).await;
    app
}

impl TestApp {
    /// Holds the database's write lock until the returned connection is
    /// dropped or rolls back: the store's writer cannot commit meanwhile.
    pub fn block_writer(&self) -> rusqlite::Connection {
        let conn =
            rusqlite::Connection::open(self._dir.path().join(inlet_store_sqlite::DATABASE_FILE))
                .expect("open blocker");
        conn.execute_batch("BEGIN IMMEDIATE")
            .expect("take the write lock");
        conn
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Creates a key directly in the store, as `inlet keys create` does.
    pub async fn create_key(&self, tenant: &str, roles: &[Role]) -> Key {
        self.create_key_expiring(tenant, roles, 365).await
    }

    pub async fn create_key_expiring(&self, tenant: &str, roles: &[Role], days: u32) -> Key {
        self.create_key_with(tenant, roles, days, KeyLimits::default())
            .await
    }

    /// Creates a key with its own request limits.
    pub async fn create_key_with(
        &self,
        tenant: &str,
        roles: &[Role],
        days: u32,
        limits: KeyLimits,
    ) -> Key {
        use inlet_domain::Clock;
        let issued = issue_key(
            TenantId::parse(tenant).expect("tenant"),
            roles.to_vec(),
            days,
            limits,
            self.clock.now(),
        );
        let key = Key {
            api_id: issued.credential.api_id.to_string(),
            secret: secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned(),
        };
        self.store
            .insert_credential(issued.credential)
            .await
            .expect("insert key");
        key
    }

    /// POSTs `body` as JSON with the app's key.
    pub async fn post(&self, path: &str, body: &str) -> Response {
        self.post_as(&self.key, path, body).await
    }

    pub async fn post_as(&self, key: &Key, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .header("asapp-api-id", &key.api_id)
            .header("asapp-api-secret", &key.secret)
            .body(body.to_owned())
            .send()
            .await
            .expect("request")
    }

    /// POSTs raw bytes with the app's key and the given Content-Type (none
    /// when `None`).
    pub async fn post_bytes(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("asapp-api-id", &self.key.api_id)
            .header("asapp-api-secret", &self.key.secret)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.expect("request")
    }

    /// POSTs `body` as JSON with the given headers only (no key unless the
    /// headers carry one).
    pub async fn post_with_headers(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.key, path).await
    }

    pub async fn get_as(&self, key: &Key, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("asapp-api-id", &key.api_id)
            .header("asapp-api-secret", &key.secret)
            .send()
            .await
            .expect("request")
    }

    pub async fn many(&self, kind: &str, body: &str) -> Response {
        self.post(
            &format!("/metadata-ingestion/v1/many-{kind}-metadata"),
            body,
        )
        .await
    }

    pub async fn many_as(&self, key: &Key, kind: &str, body: &str) -> Response {
        self.post_as(key, &format!("{V1}/many-{kind}-metadata"), body)
            .await
    }

    pub async fn single_as(&self, key: &Key, kind: &str, body: &str) -> Response {
        self.post_as(key, &format!("{V1}/single-{kind}-metadata"), body)
            .await
    }

    pub async fn single(&self, kind: &str, body: &str) -> Response {
        self.post(
            &format!("/metadata-ingestion/v1/single-{kind}-metadata"),
            body,
        )
        .await
    }

    pub async fn conversation(&self, id: &str) -> Response {
        self.get(&format!("/metadata-ingestion/v1/conversations/{id}"))
            .await
    }

    pub async fn customer(&self, id: &str) -> Response {
        self.get(&format!("/metadata-ingestion/v1/customers/{id}"))
            .await
    }

    pub async fn agent(&self, id: &str) -> Response {
        self.get(&format!("/metadata-ingestion/v1/agents/{id}"))
            .await
    }

    pub async fn event(&self, id: &str) -> Response {
        self.get(&format!("/metadata-ingestion/v1/events/{id}"))
            .await
    }

    pub async fn rejections(&self, query: &str) -> Response {
        self.get(&format!("/metadata-ingestion/v1/rejections{query}"))
            .await
    }
}

/// The status and the JSON body of a response.
pub async fn json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("body is not JSON ({err}): {text}"));
    (status, body)
}

/// The body of a response that must be 200 OK.
pub async fn ok_json(response: Response) -> Value {
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::OK, "body: {body}");
    body
}

/// The `x-request-id` header of a response.
pub fn request_id(response: &Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("x-request-id header")
        .to_str()
        .expect("text")
        .to_owned()
}

/// `{"items": [..]}` around `items`, as a JSON text.
pub fn batch(items: &[Value]) -> String {
    serde_json::json!({ "items": items }).to_string()
}

/// Asserts an error envelope with `status` and `code`; returns the message.
pub async fn assert_error(response: Response, status: u16, code: &str) -> String {
    let request_id = request_id(&response);
    let (got, body) = json(response).await;
    assert_eq!(got.as_u16(), status, "body: {body}");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert_eq!(body["error"]["requestId"], request_id.as_str());
    body["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned()
}
