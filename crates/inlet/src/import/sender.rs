//! Sending rows to the server the way it asks to be treated: `429` and
//! `503` wait `Retry-After` (else 1 s, 2 s, 4 s …), other `5xx`, timeouts
//! and lost connections back off from 250 ms, `413` splits the batch in
//! half, and other `4xx` are never retried. Past the give-up time a batch
//! that still cannot be delivered stops the import with the last answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Mutex;

use super::item::{Kind, Prepared};

/// Longest wait between two tries of a rate-limited or unavailable request.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// First and longest back-off after a server error or a lost connection.
const FIRST_ERROR_BACKOFF: Duration = Duration::from_millis(250);
const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(8);

/// What became of one row at the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Stored; `duplicate` when it had been stored before.
    Accepted { duplicate: bool },
    /// Refused, with the server's message.
    Rejected(String),
}

/// The key the import runs with.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) api_id: String,
    pub(crate) secret: String,
}

/// An HTTP client for one import.
pub(crate) struct Sender {
    http: reqwest::Client,
    base: String,
    kind: Kind,
    credentials: Credentials,
    /// The bearer token of call events, fetched at `/Token` when needed.
    token: Mutex<Option<String>>,
    give_up: Duration,
    retried: AtomicU64,
}

/// What a delivered request answered.
enum Answer {
    /// 200 or 400 with a body.
    Body(StatusCode, Value),
    /// 413: the body was over the server's limit.
    TooLarge,
}

impl Sender {
    pub(crate) fn new(base: &str, kind: Kind, credentials: Credentials, give_up: Duration) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            kind,
            credentials,
            token: Mutex::new(None),
            give_up,
            retried: AtomicU64::new(0),
        }
    }

    /// Requests sent again after a retryable answer, so far.
    pub(crate) fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Delivers `rows` (one request, or several if the server finds the
    /// body too large) and says what became of each, in order.
    pub(crate) async fn send(&self, rows: &[&Prepared]) -> anyhow::Result<Vec<Outcome>> {
        if self.kind.batched() {
            self.send_batch(rows).await
        } else {
            let mut outcomes = Vec::with_capacity(rows.len());
            for row in rows {
                outcomes.push(self.send_one(row).await?);
            }
            Ok(outcomes)
        }
    }

    async fn send_batch(&self, rows: &[&Prepared]) -> anyhow::Result<Vec<Outcome>> {
        let mut body =
            String::with_capacity(rows.iter().map(|row| row.text.len() + 1).sum::<usize>() + 12);
        body.push_str("{\"items\":[");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&row.text);
        }
        body.push_str("]}");
        match self.post(self.kind.path(), body).await? {
            Answer::TooLarge if rows.len() == 1 => Ok(vec![Outcome::Rejected(
                "FAIL_BAD_PARAMS: ERROR: the row alone is larger than the server's body limit"
                    .to_owned(),
            )]),
            Answer::TooLarge => {
                let (first, second) = rows.split_at(rows.len() / 2);
                let mut outcomes = Box::pin(self.send_batch(first)).await?;
                outcomes.extend(Box::pin(self.send_batch(second)).await?);
                Ok(outcomes)
            }
            Answer::Body(status, body) => results(status, &body, rows.len()),
        }
    }

    async fn send_one(&self, row: &Prepared) -> anyhow::Result<Outcome> {
        match self.post(self.kind.path(), row.text.clone()).await? {
            Answer::TooLarge => Ok(Outcome::Rejected(
                "FAIL_BAD_PARAMS: ERROR: the row is larger than the server's body limit".into(),
            )),
            Answer::Body(status, _) if status.is_success() => {
                Ok(Outcome::Accepted { duplicate: false })
            }
            Answer::Body(_, body) => Ok(Outcome::Rejected(envelope_message(&body))),
        }
    }

    /// POSTs `body` to `path` until the server answers something other
    /// than a retryable error, or the give-up time passes.
    async fn post(&self, path: &str, body: impl Into<Bytes>) -> anyhow::Result<Answer> {
        // Bytes: each try sends the same buffer, not a copy of it.
        let body: Bytes = body.into();
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        loop {
            let request = self
                .http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.clone());
            let request = self.authorize(request).await?;
            let (wait, last) = match request.send().await {
                Err(err) => (
                    backoff(FIRST_ERROR_BACKOFF, attempt, MAX_ERROR_BACKOFF),
                    format!("cannot reach the server: {err}"),
                ),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(&response);
                    match status.as_u16() {
                        413 => return Ok(Answer::TooLarge),
                        429 | 503 => {
                            let text = response.text().await.unwrap_or_default();
                            let wait = retry_after.unwrap_or_else(|| {
                                backoff(Duration::from_secs(1), attempt, MAX_RETRY_AFTER)
                            });
                            (wait, format!("{status}: {}", message_of(&text)))
                        }
                        408 | 500..=599 => {
                            let text = response.text().await.unwrap_or_default();
                            (
                                backoff(FIRST_ERROR_BACKOFF, attempt, MAX_ERROR_BACKOFF),
                                format!("{status}: {}", message_of(&text)),
                            )
                        }
                        401 if self.kind == Kind::CallEvent && !refreshed => {
                            // The token may have expired: fetch a new one, once.
                            refreshed = true;
                            *self.token.lock().await = None;
                            continue;
                        }
                        401 | 403 => {
                            let text = response.text().await.unwrap_or_default();
                            bail!(
                                "the server refused the key ({status}): {}",
                                message_of(&text)
                            );
                        }
                        _ => {
                            let value = response.json::<Value>().await.unwrap_or(Value::Null);
                            return Ok(Answer::Body(status, value));
                        }
                    }
                }
            };
            if started.elapsed() + wait > self.give_up {
                bail!(
                    "gave up after {} s (--give-up-after): the server kept answering {last}",
                    started.elapsed().as_secs()
                );
            }
            self.retried.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            attempt = attempt.saturating_add(1);
        }
    }

    async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::RequestBuilder> {
        if self.kind != Kind::CallEvent {
            return Ok(request
                .header("asapp-api-id", &self.credentials.api_id)
                .header("asapp-api-secret", &self.credentials.secret));
        }
        let mut token = self.token.lock().await;
        if token.is_none() {
            *token = Some(self.fetch_token().await?);
        }
        Ok(request.bearer_auth(token.as_deref().unwrap_or_default()))
    }

    async fn fetch_token(&self) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/Token", self.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.credentials.api_id.as_str()),
                ("client_secret", self.credentials.secret.as_str()),
            ])
            .send()
            .await
            .context("cannot reach the server for a token at /Token")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match body["access_token"].as_str() {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => bail!(
                "the server refused a token ({status}): {}",
                body["error_description"]
                    .as_str()
                    .unwrap_or("no description")
            ),
        }
    }
}

/// `first`, doubled `attempt` times, at most `max`.
fn backoff(first: Duration, attempt: u32, max: Duration) -> Duration {
    first
        .checked_mul(1 << attempt.min(16))
        .map_or(max, |wait| wait.min(max))
}

/// The `Retry-After` of a response, in seconds (capped).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// The message of an error envelope text, or the text itself.
fn message_of(text: &str) -> String {
    serde_json::from_str::<Value>(text).map_or_else(
        |_| text.chars().take(200).collect(),
        |body| envelope_message(&body),
    )
}

/// `error.message` of `{"error": {"code", "message"}}`.
fn envelope_message(body: &Value) -> String {
    let error = &body["error"];
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) => format!("{code} {message}"),
        _ => body.to_string(),
    }
}

/// The per-row outcomes of a batch answer.
fn results(status: StatusCode, body: &Value, rows: usize) -> anyhow::Result<Vec<Outcome>> {
    let Some(results) = body["results"].as_array() else {
        bail!(
            "the server answered {status} without per-row results: {}",
            envelope_message(body)
        );
    };
    if results.len() != rows {
        bail!(
            "the server answered {} results for {rows} rows",
            results.len()
        );
    }
    Ok(results
        .iter()
        .map(|result| match result["error"].as_str() {
            Some("") => Outcome::Accepted {
                duplicate: result["duplicate"].as_bool().unwrap_or(false),
            },
            Some(error) => Outcome::Rejected(error.to_owned()),
            None => Outcome::Rejected(format!("the server's result has no error field: {result}")),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<u128> = (0..7)
            .map(|attempt| backoff(FIRST_ERROR_BACKOFF, attempt, MAX_ERROR_BACKOFF).as_millis())
            .collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(
            backoff(Duration::from_secs(1), 40, MAX_RETRY_AFTER),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn batch_results_map_to_outcomes_in_order() {
        let body = json!({"errorCount": 1, "results": [
            {"eventId": "a", "error": ""},
            {"eventId": "b", "error": "", "duplicate": true},
            {"eventId": "c", "error": "FAIL_BAD_PARAMS: ERROR: x"}]});
        assert_eq!(
            results(StatusCode::OK, &body, 3).expect("results"),
            [
                Outcome::Accepted { duplicate: false },
                Outcome::Accepted { duplicate: true },
                Outcome::Rejected("FAIL_BAD_PARAMS: ERROR: x".into())
            ]
        );
        assert!(results(StatusCode::OK, &body, 2).is_err());
        let envelope = json!({"error": {"requestId": "r", "code": "400-01", "message": "bad"}});
        let err = results(StatusCode::BAD_REQUEST, &envelope, 1).expect_err("no results");
        assert!(err.to_string().contains("400-01 bad"), "{err}");
    }
}
