//! `inlet rules set|show` and `inlet migrate` on the embedded store, the
//! real binary in a temp dir.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

mod common;

use common::inlet;

fn run(dir: &Path, args: &[&str]) -> Output {
    inlet(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run inlet")
}

#[test]
fn rules_set_from_a_file_read_back_with_show_and_bad_ones_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = json!({"rules": [{"name": "caller", "eventField": "/ani",
        "callField": "customerPhoneNumber", "normalize": "digits", "windowSeconds": 60}]});
    let file = dir.path().join("rules.json");
    std::fs::write(&file, rules.to_string()).expect("write");
    let file = file.to_str().expect("utf-8");
    let set = run(dir.path(), &["rules", "set", file, "--tenant", "acme"]);
    assert!(set.status.success(), "{set:?}");
    let shown = run(dir.path(), &["rules", "show", "--tenant", "acme"]);
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["rules"][0]["name"], "caller");
    assert_eq!(
        shown["rules"][0]["target"], "call",
        "defaults are filled in"
    );
    let other = run(dir.path(), &["rules", "show", "--tenant", "other"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&other.stdout).expect("json"),
        json!({"rules": []})
    );

    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"rules": [{"name": "x", "eventField": "ani"}]}"#,
    )
    .expect("write");
    let bad = dir.path().join("bad.json");
    let refused = run(
        dir.path(),
        &[
            "rules",
            "set",
            bad.to_str().expect("utf-8"),
            "--tenant",
            "acme",
        ],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("rules[0].eventField must be a JSON pointer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rules[0].callField is required"),
        "{stderr}"
    );
    let still = run(dir.path(), &["rules", "show", "--tenant", "acme"]);
    let still: Value = serde_json::from_slice(&still.stdout).expect("json");
    assert_eq!(
        still["rules"][0]["name"], "caller",
        "a refused set changes nothing"
    );
}

#[test]
fn migrate_creates_the_store_then_finds_it_up_to_date() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = run(dir.path(), &["migrate"]);
    assert!(first.status.success(), "{first:?}");
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(
        text.starts_with("schema migrated from version 0 to "),
        "{text}"
    );
    let again = run(dir.path(), &["migrate"]);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.starts_with("schema is up to date (version "), "{text}");
}
