//! Self-protection: per-key rate limits and quotas (429 with headers), the
//! body-read timeout (408), the bounded write queue and the request timeout
//! (503 with Retry-After). Time for the limits comes from the app's clock.

use std::time::Duration;

use inlet_domain::{Role, Timestamp};
use inlet_server::{Limits, RateLimits};
use inlet_store::KeyLimits;
use reqwest::Response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Key, TestApp, assert_error, spawn_app_with, spawn_app_with_queue};

const ITEM: &str = r#"{"externalConversationId":"c1","lobId":"a"}"#;

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("text")
        .to_owned()
}

async fn health(app: &TestApp, key: &Key) -> Response {
    app.get_as(key, "/v1/health").await
}

fn limited(rate_per_second: f64, burst: u32) -> KeyLimits {
    KeyLimits {
        rate_per_second: Some(rate_per_second),
        burst: Some(burst),
        daily_quota: None,
    }
}

#[tokio::test]
async fn a_burst_over_the_bucket_answers_429_01_until_retry_after_has_passed() {
    let app = spawn_app_with(Limits::default()).await;
    let key = app
        .create_key_with("acme", &[Role::Read], 365, limited(1.0, 3))
        .await;
    for remaining in ["2", "1", "0"] {
        let response = health(&app, &key).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), "3");
        assert_eq!(header(&response, "x-ratelimit-remaining"), remaining);
    }
    let refused = health(&app, &key).await;
    let retry_after: i64 = header(&refused, "retry-after").parse().expect("seconds");
    assert_eq!(retry_after, 1);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&refused, "x-ratelimit-reset"), "3");
    let message = assert_error(refused, 429, "429-01").await;
    assert!(message.contains("rate limit"), "{message}");

    let other = app
        .create_key_with("acme", &[Role::Read], 365, limited(1.0, 3))
        .await;
    assert_eq!(
        health(&app, &other).await.status(),
        200,
        "another key is unaffected"
    );

    app.clock.advance_seconds(retry_after);
    assert_eq!(health(&app, &key).await.status(), 200);
}

#[tokio::test]
async fn server_defaults_apply_to_keys_without_their_own_limits() {
    let rate = RateLimits {
        rate_per_second: 1.0,
        burst: 2,
        daily_quota: None,
    };
    let app = spawn_app_with(Limits {
        rate,
        ..Limits::default()
    })
    .await;
    let key = app.create_key("acme", &[Role::Read]).await;
    assert_eq!(health(&app, &key).await.status(), 200);
    assert_eq!(health(&app, &key).await.status(), 200);
    assert_error(health(&app, &key).await, 429, "429-01").await;
}

#[tokio::test]
async fn the_daily_quota_answers_429_02_and_resets_at_midnight_utc() {
    let app = spawn_app_with(Limits::default()).await;
    let quota = KeyLimits {
        daily_quota: Some(2),
        ..KeyLimits::default()
    };
    app.clock
        .set(Timestamp::parse_rfc3339("2026-11-22T23:59:00Z").expect("time"));
    let key = app.create_key_with("acme", &[Role::Read], 365, quota).await;
    assert_eq!(health(&app, &key).await.status(), 200);
    let last = health(&app, &key).await;
    assert_eq!(header(&last, "x-ratelimit-limit"), "2");
    assert_eq!(header(&last, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&last, "x-ratelimit-reset"), "60");
    let refused = health(&app, &key).await;
    assert_eq!(header(&refused, "retry-after"), "60");
    assert_error(refused, 429, "429-02").await;

    app.clock
        .set(Timestamp::parse_rfc3339("2026-11-23T00:00:00Z").expect("time"));
    assert_eq!(health(&app, &key).await.status(), 200, "a new UTC day");
}

#[tokio::test]
async fn a_stalled_body_answers_408_01() {
    let app = spawn_app_with(Limits {
        body_read_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(app.address)
        .await
        .expect("connect");
    let head = format!(
        "POST /metadata-ingestion/v1/single-convo-metadata HTTP/1.1\r\nhost: x\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\
         asapp-api-id: {}\r\nasapp-api-secret: {}\r\n\r\n{{\"externalConv",
        app.key.api_id, app.key.secret
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    // The rest of the body never comes; the server answers on its own.
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"408-01\""), "{answer}");
}

#[tokio::test]
async fn a_full_write_queue_answers_503_01_with_retry_after_and_keeps_nothing_half_done() {
    let app = spawn_app_with_queue(Limits::default(), 1).await;
    let blocker = app.block_writer();
    // Two writes race for the queue's one slot: one waits for the blocked
    // writer, the other is refused at once, so it answers first.
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    for event_id in ["left", "right"] {
        let (client, url, key) = (
            app.client.clone(),
            app.url("/metadata-ingestion/v1/single-convo-metadata"),
            app.key.clone(),
        );
        let answers = answers.clone();
        tokio::spawn(async move {
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .header("asapp-api-id", key.api_id)
                .header("asapp-api-secret", key.secret)
                .body(format!(
                    r#"{{"externalConversationId":"c1","eventId":"{event_id}"}}"#
                ))
                .send()
                .await
                .expect("request");
            let _ = answers.send((event_id, response));
        });
    }
    let (refused_id, refused) = answered.recv().await.expect("an answer");
    assert_eq!(header(&refused, "retry-after"), "1");
    assert_error(refused, 503, "503-01").await;

    blocker
        .execute_batch("ROLLBACK")
        .expect("release the writer");
    let (queued_id, queued) = answered.recv().await.expect("an answer");
    assert_eq!(
        queued.status(),
        200,
        "the queued write commits once the writer runs"
    );
    assert_eq!(app.event(queued_id).await.status(), 200);
    assert_eq!(
        app.event(refused_id).await.status(),
        404,
        "nothing of the refused write"
    );
}

#[tokio::test]
async fn a_request_past_the_request_timeout_answers_503_01() {
    let app = spawn_app_with(Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let blocker = app.block_writer();
    let response = app
        .post("/metadata-ingestion/v1/single-convo-metadata", ITEM)
        .await;
    assert_eq!(header(&response, "retry-after"), "1");
    let message = assert_error(response, 503, "503-01").await;
    assert!(message.contains("longer than"), "{message}");
    drop(blocker);
}
