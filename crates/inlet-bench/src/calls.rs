//! The call-matching scenario (issue 4): a tenant with 20 matching rules and
//! a large number of calls, then out-of-band events sent one per request,
//! with bearer tokens, from many clients.
//!
//! Each call carries a customer phone number, a CRM id shared with the next
//! call (a call group of two) and one `metaData` key among 18; each event
//! names its call's session id (one in five) or carries the value one rule
//! compares, at a time inside that call. Every event matches exactly one
//! call, found by an index look-up per rule the event has a field for.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::load::{self, Auth, Phase};
use crate::server::{Server, process_cpu_seconds};

/// Calls per registration request.
const CALLS_PER_REQUEST: usize = 1000;

/// Rules comparing a `metaData` key; two more compare the phone and CRM id.
const META_RULES: usize = 18;

/// What the scenario measured.
pub(crate) struct Calls {
    /// Calls registered, and how long that took.
    pub(crate) calls: usize,
    pub(crate) calls_elapsed: Duration,
    /// The events phase.
    pub(crate) events: Phase,
    /// The server's CPU time (user and system) per event in that phase, in
    /// µs: steadier than the rate when the machine's speed drifts.
    pub(crate) event_cpu_us: Option<f64>,
    /// The same for this benchmark's own load clients.
    pub(crate) client_cpu_us: Option<f64>,
}

/// The 20 rules: 18 on `metaData` keys, the caller's phone, the CRM id.
fn rules() -> Value {
    let mut rules: Vec<Value> = (0..META_RULES)
        .map(|k| {
            json!({"name": format!("meta-{k:02}"), "priority": k, "eventField": format!("/f{k}"),
                "callField": format!("metaData/k{k}"), "windowSeconds": 300})
        })
        .collect();
    rules.push(
        json!({"name": "caller", "priority": 100, "eventField": "/ani",
        "callField": "customerPhoneNumber", "normalize": "digits", "windowSeconds": 600}),
    );
    rules.push(json!({"name": "crm", "priority": 101, "eventField": "/crm",
        "callField": "customerReferenceId", "normalize": "caseInsensitive", "windowSeconds": 600,
        "target": "callGroup"}));
    json!({ "rules": rules })
}

/// Seconds between the starts of two consecutive calls.
const CALL_SPACING_SECONDS: usize = 2;

/// `2026-01-01T00:00:00Z` plus `seconds`, as RFC 3339.
fn time(seconds: usize) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (hours, minutes, secs) = (rest / 3600, rest % 3600 / 60, rest % 60);
    // Days past January run on into the following months: good enough for
    // distinct, ordered times, as long as they stay within a year.
    let (month, day) = (1 + days / 28, 1 + days % 28);
    format!("2026-{month:02}-{day:02}T{hours:02}:{minutes:02}:{secs:02}Z")
}

fn call(n: usize) -> Value {
    let start = n * CALL_SPACING_SECONDS;
    json!({
        "sessionId": format!("s{n:08}"),
        "masterCallId": format!("g{:08}", n / 2),
        "startTime": time(start),
        "endTime": time(start + 120),
        "direction": "inbound",
        "numberDialed": "+18005550100",
        "contacts": [
            {"type": "customer", "phoneNumber": format!("+1 (555) {:07}", n), "referenceId": format!("CRM-{:08}", n / 2)},
            {"type": "agent", "referenceId": format!("A-{}", n % 500)}
        ],
        "metaData": {format!("k{}", n % META_RULES): format!("v{n:08}"), "queue": "cards"}
    })
}

/// Event `n`: for call `n * 7919 % calls` (spread over all calls), by
/// session id, phone, CRM id or a metaData rule.
fn event(n: usize, calls: usize) -> String {
    let target = n.wrapping_mul(7919) % calls;
    let at = time(target * CALL_SPACING_SECONDS + 60);
    let body = match n % 5 {
        0 => {
            json!({"SessionId": format!("s{target:08}"), "EventTime": at, "Metadata": {"ivr": "card_lost", "n": n}})
        }
        1 => json!({"eventTime": at, "metadata": {"ani": format!("+1-555-{target:07}"), "n": n}}),
        2 => {
            json!({"eventTime": at, "metadata": {"crm": format!("crm-{:08}", target / 2), "n": n}})
        }
        _ => {
            json!({"eventTime": at, "metadata": {format!("f{}", target % META_RULES): format!("v{target:08}"), "n": n}})
        }
    };
    body.to_string()
}

/// Sets the rules, registers `calls` calls with `clients` clients, then sends
/// `events` events one per request from `event_clients` clients.
pub(crate) async fn run(
    server: &Server,
    calls: usize,
    clients: usize,
    events: usize,
    event_clients: usize,
    cap: Duration,
) -> anyhow::Result<Calls> {
    let http = reqwest::Client::new();
    let base = &server.urls[0];
    let response = http
        .put(format!("{base}/callevent/v1/matching-rules"))
        .header("asapp-api-id", &server.api_id)
        .header("asapp-api-secret", &server.secret)
        .json(&rules())
        .send()
        .await
        .context("set the rules")?;
    if !response.status().is_success() {
        bail!(
            "rules refused: {}",
            response.text().await.unwrap_or_default()
        );
    }
    let requests = calls.div_ceil(CALLS_PER_REQUEST);
    let started = Instant::now();
    let registered = load::run(
        server,
        &Auth::key(server),
        "/callevent/v1/calls",
        clients,
        requests,
        cap * 10,
        move |r| {
            let first = r * CALLS_PER_REQUEST;
            let last = (first + CALLS_PER_REQUEST).min(calls);
            let items: Vec<Value> = (first..last).map(call).collect();
            (json!({ "items": items }).to_string(), last - first)
        },
    )
    .await
    .context("register the calls")?;
    let calls_elapsed = started.elapsed();
    let token = token(&http, server).await?;
    let registered_calls = registered.items;
    // Progress on stderr: registering a million calls takes half a minute.
    eprintln!(
        "registered {registered_calls} calls in {:.1} s; sending {events} events",
        calls_elapsed.as_secs_f64()
    );
    let cpu_before = server.cpu_seconds();
    let client_before = process_cpu_seconds("self");
    let events = load::run(
        server,
        &Auth::Bearer(token),
        "/callevent/v1/outofband/event",
        event_clients,
        events,
        cap,
        move |n| (event(n, registered_calls.max(1)), 1),
    )
    .await
    .context("send the events")?;
    let per_event = |after: Option<f64>, before: Option<f64>| {
        Some((after? - before?) * 1e6 / events.items.max(1) as f64)
    };
    let event_cpu_us = per_event(server.cpu_seconds(), cpu_before);
    let client_cpu_us = per_event(process_cpu_seconds("self"), client_before);
    Ok(Calls {
        calls: registered_calls,
        calls_elapsed,
        events,
        event_cpu_us,
        client_cpu_us,
    })
}

async fn token(http: &reqwest::Client, server: &Server) -> anyhow::Result<String> {
    let response: Value = http
        .post(format!("{}/Token", server.urls[0]))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &server.api_id),
            ("client_secret", &server.secret),
        ])
        .send()
        .await
        .context("POST /Token")?
        .json()
        .await
        .context("the token answer")?;
    Ok(response["access_token"]
        .as_str()
        .context("access_token")?
        .to_owned())
}

#[cfg(test)]
mod tests {
    use inlet_match::{parse_call, parse_call_event, parse_rules};

    use super::*;

    #[test]
    fn the_scenario_is_valid_and_each_event_targets_its_call() {
        let rules = parse_rules(&rules()).expect("valid rules");
        assert_eq!(rules.rules().len(), 20);
        for n in [0, 1, 2, 3, 4, 999_999] {
            let call = parse_call(&call(n).to_string()).expect("valid call");
            assert!(call.end_time > Some(call.start_time));
        }
        for n in 0..10 {
            parse_call_event(&event(n, 1_000_000)).expect("valid event");
        }
        assert_eq!(time(0), "2026-01-01T00:00:00Z");
        assert_eq!(time(2_000_000), "2026-01-24T03:33:20Z");
    }
}
