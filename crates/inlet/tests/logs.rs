//! The real binary's logs carry no secret and no PII: a workload full of
//! both, and of error paths, runs against `inlet serve --log-format json`
//! at debug level, and every line it wrote to stderr is scanned.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const INLET: &str = env!("CARGO_BIN_EXE_inlet");

const V1: &str = "/metadata-ingestion/v1";

/// A secret no key has; sent as if it were one.
const WRONG_SECRET: &str = "WrongSecretQx7Vb2Nf9Lk4Rt8Zp3Hs6Jd1";
/// A bearer token that is no token.
const BOGUS_TOKEN: &str = "BogusBearerTk5Wm8Yc2Pq6Gn3Xe9Ua4";
/// Customer PII: an email address, a phone number, a user id.
const EMAIL: &str = "jroe.pii7731@example.com";
const PHONE: &str = "(555)555-7731";
const USER_ID: &str = "userPii7731";
/// Names, in agent items.
const AGENT_NAME: &str = "Janet Piiname";
const SUPERVISOR_NAME: &str = "Samuel Piisuper";
/// An invalid email address: its validation error names the field only.
const BAD_EMAIL: &str = "not-an-email-jroe7731";

/// Creates a key with the CLI; returns (api id, secret).
fn create_key(data_dir: &Path) -> (String, String) {
    let output = Command::new(INLET)
        .args(["keys", "create", "--tenant", "acme"])
        .args([
            "--role",
            "ingest",
            "--role",
            "read",
            "--role",
            "AsyncMetaData",
            "--data-dir",
        ])
        .arg(data_dir)
        .output()
        .expect("run inlet keys create");
    assert!(output.status.success(), "{output:?}");
    let key: Value = serde_json::from_slice(&output.stdout).expect("keys create prints JSON");
    let field = |name: &str| key[name].as_str().expect("a string").to_owned();
    (field("apiId"), field("apiSecret"))
}

/// Sends one request; returns its status.
async fn send(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.expect("request").status().as_u16()
}

/// The workload: PII in accepted, failed, duplicate and conflicting items,
/// in a path and in a malformed body, in call events and calls; secrets
/// right, wrong and misplaced, and a real bearer token. Returns the
/// statuses, in order, and the token.
async fn workload(url: &str, api_id: &str, secret: &str) -> (Vec<u16>, String) {
    let http = reqwest::Client::new();
    let post = |path: &str, id: &str, key: &str, body: String| {
        http.post(format!("{url}{V1}/{path}"))
            .header("content-type", "application/json")
            .header("asapp-api-id", id)
            .header("asapp-api-secret", key)
            .body(body)
    };
    let customer = json!({
        "externalConversationId": "conv-1",
        "externalCustomerId": EMAIL,
        "eventId": "cust-1",
        "phoneNumber": PHONE,
        "emailAddress": EMAIL,
        "userId": USER_ID,
        "attributes": [{"name": "fullName", "value": AGENT_NAME}],
    });
    let conflicting = json!({
        "externalConversationId": "conv-1",
        "externalCustomerId": EMAIL,
        "eventId": "cust-1",
        "phoneNumber": PHONE,
        "emailAddress": format!("other.{EMAIL}"),
    });
    let agents = json!({"items": [
        {"externalAgentId": "agent-1", "agentName": AGENT_NAME, "supervisorName": SUPERVISOR_NAME,
         "emailAddress": EMAIL},
        {"externalAgentId": "agent-2", "agentName": AGENT_NAME, "emailAddress": BAD_EMAIL},
    ]});
    let all_failing = json!({"items": [
        {"externalConversationId": "conv-2", "externalCustomerId": EMAIL, "emailAddress": BAD_EMAIL,
         "phoneNumber": format!("{PHONE} ext. {USER_ID}")},
    ]});
    let mut statuses = vec![
        // Accepted, then the same again (409-01), then other content (409-02).
        send(post(
            "single-customer-metadata",
            api_id,
            secret,
            customer.to_string(),
        ))
        .await,
        send(post(
            "single-customer-metadata",
            api_id,
            secret,
            customer.to_string(),
        ))
        .await,
        send(post(
            "single-customer-metadata",
            api_id,
            secret,
            conflicting.to_string(),
        ))
        .await,
        // One accepted and one failed agent item; a batch where every item fails.
        send(post(
            "many-agent-metadata",
            api_id,
            secret,
            agents.to_string(),
        ))
        .await,
        send(post(
            "many-customer-metadata",
            api_id,
            secret,
            all_failing.to_string(),
        ))
        .await,
        // Malformed bodies that carry PII.
        send(post(
            "many-customer-metadata",
            api_id,
            secret,
            format!(r#"{{"items": [{{"emailAddress": "{EMAIL}""#),
        ))
        .await,
        send(post(
            "single-agent-metadata",
            api_id,
            secret,
            format!(r#"{{"agentName": "{AGENT_NAME}", "agentName": "{SUPERVISOR_NAME}"}}"#),
        ))
        .await,
        // A wrong secret, an unknown api id, no key, a bogus bearer token.
        send(post(
            "single-customer-metadata",
            api_id,
            WRONG_SECRET,
            customer.to_string(),
        ))
        .await,
        send(post(
            "single-customer-metadata",
            "ak_NoSuchKey0000000000",
            secret,
            customer.to_string(),
        ))
        .await,
        send(
            http.post(format!("{url}{V1}/single-customer-metadata"))
                .body(customer.to_string()),
        )
        .await,
        send(
            http.get(format!("{url}{V1}/customers/{EMAIL}"))
                .bearer_auth(BOGUS_TOKEN),
        )
        .await,
    ];
    // Reads whose paths and query carry PII.
    let get = |path: String| {
        http.get(format!("{url}{V1}/{path}"))
            .header("asapp-api-id", api_id)
            .header("asapp-api-secret", secret)
    };
    statuses.push(send(get(format!("customers/{EMAIL}"))).await);
    statuses.push(send(get(format!("customers/missing-{USER_ID}"))).await);
    statuses.push(send(get(format!("rejections?since={BAD_EMAIL}"))).await);
    statuses.push(send(get("rejections".to_owned())).await);
    // Call metadata: a token, then an event and a call that carry PII.
    let response = http
        .post(format!("{url}/Token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", api_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token");
    statuses.push(response.status().as_u16());
    let token: Value = response.json().await.expect("token json");
    let token = token["access_token"].as_str().expect("token").to_owned();
    let event = json!({"EventTime": "2026-11-29T09:00:00Z",
        "Metadata": {"ani": PHONE, "email": EMAIL, "caller": AGENT_NAME}});
    statuses.push(
        send(
            http.post(format!("{url}/callevent/v1/outofband/event"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(event.to_string()),
        )
        .await,
    );
    let call = json!({"sessionId": "call-1", "startTime": "2026-11-29T08:59:00Z",
        "contacts": [{"type": "customer", "phoneNumber": PHONE, "referenceId": USER_ID,
                      "firstName": "Janet", "lastName": "Piiname"}]});
    statuses.push(
        send(
            http.post(format!("{url}/callevent/v1/calls"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(call.to_string()),
        )
        .await,
    );
    (statuses, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_at_debug_level_carry_no_secret_and_no_pii() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (api_id, secret) = create_key(dir.path());
    let mut child = Command::new(INLET)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("INLET_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start inlet serve");
    // Drain stderr as it comes, so a full pipe never stalls the server.
    let mut stderr = child.stderr.take().expect("stderr");
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).expect("read stderr");
        text
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read first line");
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();

    let (statuses, token) = workload(&url, &api_id, &secret).await;
    assert_eq!(
        statuses,
        [
            200, 409, 409, 200, 400, 400, 400, 401, 401, 401, 401, 200, 404, 400, 200, 200, 200,
            200
        ],
        "the workload reached every path it means to"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let exit = tokio::task::block_in_place(|| child.wait().expect("wait"));
    assert!(exit.success(), "{exit:?}");
    let logs = logs.join().expect("stderr reader");

    let lines: Vec<&str> = logs.lines().collect();
    for line in &lines {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|err| panic!("log line is not JSON ({err}): {line}"));
    }
    let requests = lines
        .iter()
        .filter(|line| line.contains(r#""message":"request""#))
        .count();
    assert_eq!(
        requests,
        statuses.len(),
        "one log line per request:\n{logs}"
    );
    let forbidden = [
        ("the secret", secret.as_str()),
        ("the start of the secret", &secret[..12]),
        ("the end of the secret", &secret[secret.len() - 12..]),
        ("the wrong secret", WRONG_SECRET),
        ("the bogus bearer token", BOGUS_TOKEN),
        ("the bearer token", token.as_str()),
        (
            "the token's signature",
            token.rsplit('.').next().unwrap_or_default(),
        ),
        ("the email address", EMAIL),
        ("the email's local part", "jroe.pii7731"),
        ("the phone number", PHONE),
        ("the phone digits", "555-7731"),
        ("the user id", USER_ID),
        ("the agent's name", AGENT_NAME),
        ("the agent's surname", "Piiname"),
        ("the supervisor's name", "Piisuper"),
        ("the invalid email", BAD_EMAIL),
    ];
    for (what, value) in forbidden {
        for line in &lines {
            assert!(!line.contains(value), "{what} is in a log line: {line}");
        }
    }
}
