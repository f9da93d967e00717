//! The call-matching scenario (issue 4): a tenant with 20 matching rules and
//! a large number of calls, then out-of-band events sent one per request,
//! with bearer tokens, from many clients.
//!
//! Each call carries a customer phone number, a CRM id shared with the next
//! call (a call group of two) and one `metaData` key among 18; each event
//! names its call's session id (one in five) or carries the value one rule
//! compares, at a time inside that call. Every event matches exactly one
//! call, found by an index look-up per rule the event has a field for.
//!
//! [`raw_events`] then measures the raw limit: more events of the same mix
//! straight into the store, once the server has stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use inlet_domain::{ApiId, Clock, EventId, SystemClock, TenantId};
use inlet_match::{CallEvent, parse_call_event};
use inlet_store::{CallEventOutcome, EventStatus, NewCallEvent, Store};
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
    // Built before the phase, so the load client's CPU goes to sending
    // (building them took an eighth of it).
    let bodies: Vec<String> = (0..events)
        .map(|n| event(n, registered_calls.max(1)))
        .collect();
    let cpu_before = server.cpu_seconds();
    let client_before = process_cpu_seconds("self");
    let events = load::run(
        server,
        &Auth::Bearer(token),
        "/callevent/v1/outofband/event",
        event_clients,
        events,
        cap,
        move |n| (bodies[n].clone(), 1),
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

/// The raw limit of matching: events straight into the store the server
/// used (after it stopped), with its calls and rules, from as many
/// concurrent submitters as the HTTP phase had clients. Same durability
/// (each call returns after its commit is synced); no HTTP, no parsing.
pub(crate) struct RawEvents {
    pub(crate) events: usize,
    pub(crate) elapsed: Duration,
    /// This process's CPU time per event (the store runs in it), in µs.
    pub(crate) cpu_us: Option<f64>,
}

impl RawEvents {
    pub(crate) fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends events `first..first + events` (the same mix as the HTTP phase,
/// so fresh ones after it) for `calls` registered calls straight into
/// `store`, from `submitters` tasks. Fails if any event does not match: the
/// scenario's events all have a call.
pub(crate) async fn raw_events<S: Store>(
    store: S,
    calls: usize,
    first: usize,
    events: usize,
    submitters: usize,
    cap: Duration,
) -> anyhow::Result<RawEvents> {
    let parsed: Vec<CallEvent> = (first..first + events)
        .map(|n| parse_call_event(&event(n, calls.max(1))).map_err(|err| anyhow::anyhow!(err.0)))
        .collect::<anyhow::Result<_>>()?;
    let parsed = Arc::new(parsed);
    let store = Arc::new(store);
    let tenant = TenantId::parse(crate::server::TENANT).context("tenant")?;
    let api_id = ApiId::parse("bench").context("api id")?;
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = process_cpu_seconds("self");
    let started = Instant::now();
    let tasks: Vec<_> = (0..submitters.max(1))
        .map(|_| {
            let (store, parsed, next) =
                (Arc::clone(&store), Arc::clone(&parsed), Arc::clone(&next));
            let (tenant, api_id) = (tenant.clone(), api_id.clone());
            tokio::spawn(async move {
                let mut sent = 0;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(event) = parsed.get(n) else { break };
                    if started.elapsed() > cap {
                        break;
                    }
                    let now = SystemClock.now();
                    let outcome = store
                        .insert_call_event(
                            NewCallEvent {
                                tenant: tenant.clone(),
                                api_id: api_id.clone(),
                                request_id: format!("raw-{n}"),
                                received_at: now,
                                event_id: EventId::generate(),
                                generated_id: true,
                                event: event.clone(),
                            },
                            now.plus_seconds(-PENDING_TTL_SECONDS),
                        )
                        .await
                        .context("raw event")?;
                    match outcome {
                        CallEventOutcome::Stored(state) if state.status == EventStatus::Matched => {
                        }
                        other => bail!("raw event {n} did not match its call: {other:?}"),
                    }
                    sent += 1;
                }
                Ok::<_, anyhow::Error>(sent)
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        sent += task.await??;
    }
    let elapsed = started.elapsed();
    let cpu_us = process_cpu_seconds("self")
        .zip(cpu_before)
        .map(|(after, before)| (after - before) * 1e6 / sent.max(1) as f64);
    Ok(RawEvents {
        events: sent,
        elapsed,
        cpu_us,
    })
}

/// The server's default pending TTL, in seconds (24 h).
const PENDING_TTL_SECONDS: i64 = 24 * 3600;

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

    /// The raw phase stores every event of the mix on its own call (it
    /// fails on any event that does not match), and counts them.
    #[tokio::test]
    async fn raw_events_attach_every_event_to_its_call() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = inlet_store_sqlite::SqliteStore::open(dir.path()).expect("open");
        let tenant = TenantId::parse(crate::server::TENANT).expect("tenant");
        let now = SystemClock.now();
        store
            .put_matching_rules(&tenant, parse_rules(&rules()).expect("rules"), now)
            .await
            .expect("rules stored");
        let calls: Vec<_> = (0..40)
            .map(|n| parse_call(&call(n).to_string()).expect("valid call"))
            .collect();
        store
            .put_calls(inlet_store::CallBatch {
                tenant: tenant.clone(),
                received_at: now,
                expired_before: now.plus_seconds(-PENDING_TTL_SECONDS),
                calls,
            })
            .await
            .expect("calls stored");
        let raw = raw_events(store, 40, 7, 25, 4, Duration::from_secs(60))
            .await
            .expect("every event matches");
        assert_eq!(raw.events, 25);
        let store = inlet_store_sqlite::SqliteStore::open(dir.path()).expect("reopen");
        let view = store
            .get_call(
                &tenant,
                &inlet_match::SessionId::parse("s00000029").expect("id"),
            )
            .await
            .expect("call 29");
        // Event n targets call n * 7919 % 40: event 12 (by CRM id, for the
        // group) call 28, in 29's group, and event 11 (by phone) call 29;
        // a call's events are read back in event time order.
        let attached: Vec<_> = view
            .events
            .iter()
            .map(|event| {
                (
                    event.matched_by.label(),
                    event.via,
                    event.metadata["n"].clone(),
                )
            })
            .collect();
        assert_eq!(
            attached,
            [
                (
                    "rule:crm".to_owned(),
                    inlet_match::Via::CallGroup,
                    json!(12)
                ),
                ("rule:caller".to_owned(), inlet_match::Via::Call, json!(11)),
            ]
        );
    }
}
