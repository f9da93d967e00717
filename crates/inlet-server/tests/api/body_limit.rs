//! The request body cap: 413 `413-01` over `limits.max_body_bytes`, whether
//! the client declares the length or streams the body chunked.

use inlet_server::Limits;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, V1, assert_error, batch, ok_json, spawn_app, spawn_app_with};

/// A small cap, so tests need not send megabytes.
const SMALL_LIMIT: usize = 256;

/// One MiB.
const MIB: usize = 1024 * 1024;

/// A batch body of exactly `len` bytes: one valid item padded with spaces.
fn body_of_len(len: usize) -> String {
    let body = batch(&[json!({"externalConversationId": "c1", "eventId": "e1"})]);
    assert!(body.len() <= len, "padding cannot shrink a body");
    format!("{body}{}", " ".repeat(len - body.len()))
}

#[tokio::test]
async fn body_over_the_limit_answers_413_01() {
    let app = spawn_app_with(Limits {
        max_body_bytes: SMALL_LIMIT,
        ..Limits::default()
    })
    .await;
    for path in [
        format!("{V1}/many-convo-metadata"),
        format!("{V1}/single-convo-metadata"),
    ] {
        let body = body_of_len(SMALL_LIMIT + 1);
        let message = assert_error(app.post(&path, &body).await, 413, "413-01").await;
        assert_eq!(
            message,
            "request body is larger than 256 bytes; send fewer or smaller items"
        );
    }
    assert_error(app.conversation("c1").await, 404, "404-01").await;
}

#[tokio::test]
async fn body_of_exactly_the_limit_is_accepted() {
    let app = spawn_app_with(Limits {
        max_body_bytes: SMALL_LIMIT,
        ..Limits::default()
    })
    .await;
    let body = ok_json(app.many("convo", &body_of_len(SMALL_LIMIT)).await).await;
    assert_eq!(body["errorCount"], 0);
    ok_json(app.conversation("c1").await).await;
}

/// Sends a POST with a chunked body (no Content-Length) over a raw
/// connection and returns the whole response text.
async fn post_chunked(app: &TestApp, path: &str, chunks: &[&str]) -> String {
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\nasapp-api-id: {}\r\nasapp-api-secret: {}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        app.address, app.key.api_id, app.key.secret
    );
    let mut request = head.into_bytes();
    for chunk in chunks {
        request.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading everything; that is
    // fine, the answer is what this test is about.
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8(response).expect("utf-8 response")
}

#[tokio::test]
async fn chunked_body_over_the_limit_answers_413_01() {
    let app = spawn_app_with(Limits {
        max_body_bytes: SMALL_LIMIT,
        ..Limits::default()
    })
    .await;
    let body = body_of_len(SMALL_LIMIT + 100);
    let (first, rest) = body.split_at(100);
    let response = post_chunked(&app, &format!("{V1}/many-convo-metadata"), &[first, rest]).await;
    assert!(response.starts_with("HTTP/1.1 413"), "response: {response}");
    assert!(
        response.contains(r#""code":"413-01""#),
        "response: {response}"
    );
    assert!(response.contains("x-request-id: "), "response: {response}");
    assert_error(app.conversation("c1").await, 404, "404-01").await;
}

#[tokio::test]
async fn chunked_body_within_the_limit_is_accepted() {
    let app = spawn_app_with(Limits {
        max_body_bytes: SMALL_LIMIT,
        ..Limits::default()
    })
    .await;
    let body = body_of_len(SMALL_LIMIT);
    let (first, rest) = body.split_at(10);
    let response = post_chunked(&app, &format!("{V1}/many-convo-metadata"), &[first, rest]).await;
    assert!(response.starts_with("HTTP/1.1 200"), "response: {response}");
    ok_json(app.conversation("c1").await).await;
}

#[tokio::test]
async fn nine_mib_body_against_the_default_limit_answers_413_01() {
    let app = spawn_app().await;
    let body = body_of_len(9 * MIB);
    let message = assert_error(app.many("convo", &body).await, 413, "413-01").await;
    assert_eq!(
        message,
        "request body is larger than 8388608 bytes; send fewer or smaller items"
    );
    assert_error(app.conversation("c1").await, 404, "404-01").await;
    // The server goes on serving.
    let body = ok_json(app.many("convo", &body_of_len(1024)).await).await;
    assert_eq!(body["errorCount"], 0);
}
