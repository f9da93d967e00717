//! The HTTP phases: batches and single items from concurrent clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::item;
use crate::server::Server;

/// What one HTTP phase measured.
#[derive(Debug, Clone)]
pub(crate) struct Phase {
    pub(crate) requests: usize,
    pub(crate) items: usize,
    pub(crate) elapsed: Duration,
    pub(crate) latencies: Vec<Duration>,
}

impl Phase {
    pub(crate) fn items_per_second(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile latency (0..=100).
    pub(crate) fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len().saturating_sub(1)) as f64 * p / 100.0).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }
}

/// How the clients authenticate.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// The `asapp-api-id` / `asapp-api-secret` headers.
    Key { api_id: String, secret: String },
    /// `Authorization: Bearer <token>` from `POST /Token`.
    Bearer(String),
}

impl Auth {
    /// The server's key, as headers.
    pub(crate) fn key(server: &Server) -> Self {
        Self::Key {
            api_id: server.api_id.clone(),
            secret: server.secret.clone(),
        }
    }

    fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::Key { api_id, secret } => request
                .header("asapp-api-id", api_id)
                .header("asapp-api-secret", secret),
            Self::Bearer(token) => request.bearer_auth(token),
        }
    }
}

/// `total` batch requests of `size` items from `clients` clients; the
/// items are numbered from `first`, so phases on one server stay new.
pub(crate) async fn batches(
    server: &Server,
    clients: usize,
    total: usize,
    size: usize,
    first: usize,
    cap: Duration,
) -> anyhow::Result<Phase> {
    let path = "/metadata-ingestion/v1/many-convo-metadata";
    let bodies = item::Numbered::batch("b", size);
    run(
        server,
        &Auth::key(server),
        path,
        clients,
        total,
        cap,
        move |n| (bodies.body(first + n * size), size),
    )
    .await
}

/// `total` single-item requests from `clients` clients, items numbered
/// from `first`.
pub(crate) async fn singles(
    server: &Server,
    clients: usize,
    total: usize,
    first: usize,
    cap: Duration,
) -> anyhow::Result<Phase> {
    let path = "/metadata-ingestion/v1/single-convo-metadata";
    let bodies = item::Numbered::single("s");
    run(
        server,
        &Auth::key(server),
        path,
        clients,
        total,
        cap,
        move |n| (bodies.body(first + n), 1),
    )
    .await
}

/// `total` requests to `path` from `clients` clients; request `n` sends
/// `body(n)`, which says how many items it carries.
pub(crate) async fn run(
    server: &Server,
    auth: &Auth,
    path: &str,
    clients: usize,
    total: usize,
    cap: Duration,
    body: impl Fn(usize) -> (String, usize) + Send + Sync + 'static,
) -> anyhow::Result<Phase> {
    let next = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(body);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            // Clients spread over the nodes, as behind a load balancer.
            let url = format!("{}{path}", server.urls[client % server.urls.len()]);
            let (next, body, auth) = (Arc::clone(&next), Arc::clone(&body), auth.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut latencies = Vec::new();
                let mut items = 0;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total || started.elapsed() > cap {
                        break;
                    }
                    let (text, count) = body(n);
                    let sent = Instant::now();
                    let request = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(text);
                    let response = auth.apply(request).send().await?;
                    let status = response.status();
                    response.bytes().await?;
                    latencies.push(sent.elapsed());
                    if status != 200 {
                        bail!("request {n} answered {status}");
                    }
                    items += count;
                }
                Ok::<_, anyhow::Error>((latencies, items))
            })
        })
        .collect();
    let mut phase = Phase {
        requests: 0,
        items: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        let (latencies, items) = task.await??;
        phase.requests += latencies.len();
        phase.items += items;
        phase.latencies.extend(latencies);
    }
    phase.elapsed = started.elapsed();
    Ok(phase)
}
