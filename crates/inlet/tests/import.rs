//! `inlet import`, the real binary against a real `inlet serve`: every
//! format with bad rows among good ones, a server that rate-limits hard, an
//! import killed halfway and resumed, and a server whose body cap forces
//! batches to split. The store is read directly to count what landed.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::{Server, inlet};

/// Rows of each file in the format test.
const ROWS: usize = 10_000;

/// Every 997th row is bad: its `lobId` is a number.
fn is_bad(n: usize) -> bool {
    n % 997 == 5
}

fn row(n: usize) -> Value {
    if is_bad(n) {
        json!({"externalConversationId": format!("c-{n}"), "lobId": n})
    } else {
        json!({"externalConversationId": format!("c-{n}"), "lobId": "lob-1", "campaign": format!("k{}", n % 7)})
    }
}

struct Key {
    api_id: String,
    secret: String,
}

fn create_key(dir: &Path, limits: &[&str]) -> Key {
    let output = inlet([
        "keys", "create", "--tenant", "acme", "--role", "ingest", "--role", "read",
    ])
    .args(limits)
    .arg("--data-dir")
    .arg(dir)
    .output()
    .expect("run inlet keys create");
    assert!(output.status.success(), "{output:?}");
    let key: Value = serde_json::from_slice(&output.stdout).expect("json");
    Key {
        api_id: key["apiId"].as_str().expect("apiId").to_owned(),
        secret: key["apiSecret"].as_str().expect("apiSecret").to_owned(),
    }
}

fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
    let mut command = inlet(["serve", "--listen", "127.0.0.1:0", "--data-dir"]);
    command.arg(dir).envs(env.iter().copied());
    Server::start(&mut command)
}

/// `inlet import --url .. --kind conversation ARGS` with the key.
fn import(server: &Server, key: &Key, args: &[&str]) -> Command {
    let mut command = inlet(["import", "--url", &server.url, "--kind", "conversation"]);
    command
        .env("INLET_API_ID", &key.api_id)
        .env("INLET_API_SECRET", &key.secret)
        .args(args);
    command
}

/// The summary an import prints on stdout.
fn summary(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|err| panic!("summary ({err}): {output:?}"))
}

/// The conversation events stored for tenant acme, read from the store.
fn stored_events(dir: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("inlet.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the store");
    let mut statement = conn
        .prepare("SELECT entity_id, event_id FROM events WHERE tenant = 'acme' ORDER BY entity_id")
        .expect("query");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("read")
}

/// The distinct entities among stored events, and whether any repeats.
fn each_once(events: &[(String, String)]) -> (usize, bool) {
    let mut entities: Vec<&str> = events.iter().map(|(entity, _)| entity.as_str()).collect();
    let all = entities.len();
    entities.dedup();
    (entities.len(), entities.len() == all)
}

fn write_file(dir: &Path, name: &str, rows: usize, format: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let text = match format {
        "ndjson" => (0..rows)
            .map(|n| format!("{}\n", row(n)))
            .collect::<String>(),
        "json" => Value::Array((0..rows).map(row).collect()).to_string(),
        _ => {
            let mut text = "externalConversationId,lobId,campaign\n".to_owned();
            for n in 0..rows {
                let lob = if is_bad(n) {
                    "lob 1".to_owned()
                } else {
                    "lob-1".to_owned()
                };
                text.push_str(&format!("c-{n},{lob},k{}\n", n % 7));
            }
            text
        }
    };
    std::fs::write(&path, text).expect("write rows");
    path
}

#[test]
fn csv_ndjson_and_json_files_store_every_good_row_once_and_reject_the_bad_with_their_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let key = create_key(&data, &["--rate-per-second", "0"]);
    let server = start(&data, &[]);
    let bad: Vec<usize> = (0..ROWS).filter(|n| is_bad(*n)).collect();
    for format in ["csv", "ndjson", "json"] {
        let file = write_file(dir.path(), &format!("rows.{format}"), ROWS, format);
        let rejects = dir.path().join(format!("rejects-{format}.ndjson"));
        let output = import(&server, &key, &["--rejects"])
            .arg(&rejects)
            .arg(&file)
            .output()
            .expect("run import");
        assert_eq!(output.status.code(), Some(1), "{format}: {output:?}");
        let counts = summary(&output);
        assert_eq!(counts["rejected"], bad.len(), "{format}");
        assert_eq!(counts["accepted"], ROWS - bad.len(), "{format}");
        let lines: Vec<Value> = std::fs::read_to_string(&rejects)
            .expect("rejects")
            .lines()
            .map(|line| serde_json::from_str(line).expect("json line"))
            .collect();
        let expected_lines: Vec<u64> = bad
            .iter()
            .map(|n| match format {
                "csv" => *n as u64 + 2, // the header is line 1
                _ => *n as u64 + 1,
            })
            .collect();
        let found: Vec<u64> = lines
            .iter()
            .map(|line| line["line"].as_u64().expect("line"))
            .collect();
        assert_eq!(found, expected_lines, "{format}");
        let error = lines[0]["error"].as_str().expect("error");
        let expected = if format == "csv" {
            "FAIL_BAD_PARAMS: ERROR: lobId may contain only"
        } else {
            "FAIL_BAD_PARAMS: ERROR: lobId must be a string, got a number"
        };
        assert!(error.starts_with(expected), "{format}: {error}");
        assert_eq!(lines[0]["file"], file.to_str().expect("utf-8"));
    }
    // Each format imported the same good rows: stored once, whatever the
    // file they came from (eventIds derive from the content).
    let events = stored_events(&data);
    let good_csv_and_json = ROWS - bad.len();
    let (entities, once) = each_once(&events);
    assert_eq!(entities, good_csv_and_json);
    assert!(once, "no row stored twice");
    // Importing a file again stores nothing new: every row is a duplicate.
    let file = dir.path().join("rows.ndjson");
    let output = import(&server, &key, &["--rejects", "/dev/null"])
        .arg(&file)
        .output()
        .expect("run import");
    assert_eq!(summary(&output)["duplicate"], ROWS - bad.len());
    assert_eq!(stored_events(&data).len(), events.len());
}

#[test]
fn a_hard_rate_limit_slows_the_import_but_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let key = create_key(&data, &["--rate-per-second", "50", "--burst", "3"]);
    let server = start(&data, &[]);
    let file = write_file(dir.path(), "rows.ndjson", 1000, "ndjson");
    let output = import(
        &server,
        &key,
        &[
            "--batch-items",
            "10",
            "--concurrency",
            "8",
            "--rejects",
            "/dev/null",
        ],
    )
    .arg(&file)
    .output()
    .expect("run import");
    let counts = summary(&output);
    assert!(
        counts["retried"].as_u64() > Some(0),
        "the server rate-limited: {counts}"
    );
    let bad = (0..1000).filter(|n| is_bad(*n)).count();
    assert_eq!(counts["accepted"], 1000 - bad);
    let events = stored_events(&data);
    assert_eq!(each_once(&events), (1000 - bad, true));
}

#[test]
fn an_import_killed_halfway_resumes_and_stores_every_row_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    // 50 requests a second of 10 rows: 2000 rows take seconds, so a kill
    // lands in the middle of the import.
    let key = create_key(&data, &["--rate-per-second", "50", "--burst", "50"]);
    let server = start(&data, &[]);
    let rows = 2000;
    let file = write_file(dir.path(), "rows.ndjson", rows, "ndjson");
    let checkpoint = dir.path().join("import.checkpoint");
    let rejects = dir.path().join("rejects.ndjson");
    let mut first = import(&server, &key, &["--batch-items", "10", "--checkpoint"])
        .arg(&checkpoint)
        .arg("--rejects")
        .arg(&rejects)
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start import");
    // Bounded poll of the checkpoint: some rows done, not all.
    let started = Instant::now();
    let done_line = loop {
        let line = std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|checkpoint| checkpoint["done"]["line"].as_u64());
        if line.is_some_and(|line| line >= 200) {
            break line;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    };
    first.kill().expect("kill");
    first.wait().expect("reap");
    let done_line = done_line.expect("progress");
    assert!(
        done_line < rows as u64,
        "killed halfway, at line {done_line}"
    );

    let output = import(
        &server,
        &key,
        &["--batch-items", "10", "--resume", "--checkpoint"],
    )
    .arg(&checkpoint)
    .arg("--rejects")
    .arg(&rejects)
    .arg(&file)
    .output()
    .expect("resume");
    assert_eq!(
        output.status.code(),
        Some(1),
        "some rows are bad: {output:?}"
    );
    let counts = summary(&output);
    let bad = (0..rows).filter(|n| is_bad(*n)).count();
    assert!(
        counts["sent"].as_u64() < Some(rows as u64 - done_line + 100),
        "the resumed import skips what was done: {counts}"
    );
    let events = stored_events(&data);
    assert_eq!(each_once(&events), (rows - bad, true));
    let rejected: Vec<u64> = std::fs::read_to_string(&rejects)
        .expect("rejects")
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).expect("json")["line"]
                .as_u64()
                .expect("line")
        })
        .collect();
    let mut distinct = rejected.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), bad, "every bad row is in the rejects file");
    assert_eq!(rejected.len(), bad, "and only once, across the kill");
}

#[test]
fn a_small_body_cap_splits_batches_until_every_row_lands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let key = create_key(&data, &["--rate-per-second", "0"]);
    let server = start(&data, &[("INLET_LIMITS__MAX_BODY_BYTES", "4096")]);
    let file = write_file(dir.path(), "rows.ndjson", 600, "ndjson");
    let output = import(&server, &key, &["--rejects", "/dev/null"])
        .arg(&file)
        .output()
        .expect("run import");
    let counts = summary(&output);
    let bad = (0..600).filter(|n| is_bad(*n)).count();
    assert_eq!(counts["accepted"], 600 - bad, "{output:?}");
    assert_eq!(each_once(&stored_events(&data)), (600 - bad, true));
}

#[test]
fn a_server_restarted_in_the_middle_of_an_import_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let key = create_key(&data, &["--rate-per-second", "50", "--burst", "50"]);
    // A fixed port, so the restarted server is where the import expects it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let serve = || {
        let mut command = inlet(["serve", "--listen", &listen, "--data-dir"]);
        command.arg(&data);
        Server::start(&mut command)
    };
    let mut server = serve();
    let rows = 1500;
    // Gzip on the way, since the file is read through the same reader.
    let plain = write_file(dir.path(), "rows.ndjson", rows, "ndjson");
    let file = dir.path().join("rows.ndjson.gz");
    let status = Command::new("gzip")
        .arg("-k")
        .arg(&plain)
        .status()
        .expect("gzip");
    assert!(status.success());
    let importer = import(
        &server,
        &key,
        &["--batch-items", "10", "--rejects", "/dev/null"],
    )
    .arg(&file)
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("start import");
    // Bounded poll of the store: some rows landed, then the server dies.
    let started = Instant::now();
    while stored_events(&data).len() < 200 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.child.kill().expect("kill the server");
    server.child.wait().expect("reap");
    server = serve();
    let output = importer.wait_with_output().expect("import ends");
    drop(server);
    let counts = summary(&output);
    let bad = (0..rows).filter(|n| is_bad(*n)).count();
    assert_eq!(output.status.code(), Some(1), "{counts}");
    assert!(counts["retried"].as_u64() > Some(0), "{counts}");
    assert_eq!(counts["accepted"], rows - bad);
    assert_eq!(each_once(&stored_events(&data)), (rows - bad, true));
}

#[test]
fn an_unreachable_server_or_a_wrong_key_is_a_fatal_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(dir.path(), "rows.ndjson", 10, "ndjson");
    let output = inlet([
        "import",
        "--kind",
        "conversation",
        "--url",
        "http://127.0.0.1:1",
        "--give-up-after",
        "1",
    ])
    .env("INLET_API_ID", "ak_x")
    .env("INLET_API_SECRET", "y")
    .arg(&file)
    .output()
    .expect("run import");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("gave up after"), "{stderr}");

    let data = dir.path().join("data");
    let server = start(&data, &[]);
    let wrong = Key {
        api_id: "ak_nobody".into(),
        secret: "nothing".into(),
    };
    let output = import(&server, &wrong, &[])
        .arg(&file)
        .output()
        .expect("run import");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the server refused the key (401 Unauthorized)"),
        "{stderr}"
    );
}
