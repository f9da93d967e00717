//! The HTTP phases: batches and single items from concurrent clients.
//!
//! Each client holds one HTTP/1.1 connection of its own (hyper's connection
//! API): the load generator shares the machine's two cores with the server,
//! and a pooled client that parses the URL and builds a header map per
//! request took as much CPU per request as the server's whole HTTP layer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;

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

    /// The headers that carry it.
    fn headers(&self) -> anyhow::Result<Vec<(HeaderName, HeaderValue)>> {
        Ok(match self {
            Self::Key { api_id, secret } => vec![
                (
                    HeaderName::from_static("asapp-api-id"),
                    HeaderValue::from_str(api_id)?,
                ),
                (
                    HeaderName::from_static("asapp-api-secret"),
                    HeaderValue::from_str(secret)?,
                ),
            ],
            Self::Bearer(token) => vec![(
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}"))?,
            )],
        })
    }
}

/// A connection to `base` (`http://host:port`), and the `Host` it names.
async fn connect(base: &str) -> anyhow::Result<(SendRequest<Full<Bytes>>, HeaderValue)> {
    let address = base
        .strip_prefix("http://")
        .with_context(|| format!("{base}: the benchmark speaks plain http"))?;
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("connect to {address}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // Runs until the sender is dropped or the server closes the connection.
    tokio::spawn(connection);
    Ok((sender, HeaderValue::from_str(address)?))
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
    let headers = Arc::new(auth.headers()?);
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            // Clients spread over the nodes, as behind a load balancer.
            let base = server.urls[client % server.urls.len()].clone();
            let path = path.to_owned();
            let (next, body, headers) =
                (Arc::clone(&next), Arc::clone(&body), Arc::clone(&headers));
            tokio::spawn(async move {
                let (mut sender, host) = connect(&base).await?;
                let mut latencies = Vec::new();
                let mut items = 0;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total || started.elapsed() > cap {
                        break;
                    }
                    let (text, count) = body(n);
                    let mut request = hyper::Request::post(path.as_str())
                        .header(HOST, host.clone())
                        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    for (name, value) in headers.iter() {
                        request = request.header(name, value.clone());
                    }
                    let request = request.body(Full::new(Bytes::from(text)))?;
                    let sent = Instant::now();
                    if sender.ready().await.is_err() {
                        // The server closed the connection between requests:
                        // nothing was sent, so open another.
                        sender = connect(&base).await?.0;
                    }
                    let response = sender
                        .send_request(request)
                        .await
                        .with_context(|| format!("request {n} to {base}{path}"))?;
                    let status = response.status();
                    response.into_body().collect().await?;
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
