//! Matching does not depend on arrival order: for random sets of calls and
//! out-of-band events, every order in which they arrive leaves every event
//! attached the same way as when all calls came first. Some calls are sent
//! again changed (other times, numbers, group); what counts is the version
//! that arrived last.
//!
//! The decisions are made once in `inlet_store::matching` for both
//! backends; this runs them on the embedded store, where a case is cheap.

use inlet_domain::{ApiId, EventId, TenantId, Timestamp};
use inlet_match::{Attachment, parse_call, parse_call_event, parse_rules};
use inlet_store::{CallBatch, CallEventQuery, NewCallEvent, Store};
use inlet_store_sqlite::SqliteStore;
use proptest::prelude::*;
use serde_json::{Value, json};

fn at(seconds: i64) -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-29T09:00:00Z")
        .expect("time")
        .plus_seconds(seconds)
}

/// Something that arrives: a call or an event, as its JSON body.
#[derive(Debug, Clone)]
enum Arrival {
    Call(Value),
    Event(String, Value),
}

/// Calls with ids `c0..`: overlapping times, shared phone numbers, CRM ids
/// and groups, so that events have several candidates and rules compete.
fn call() -> impl Strategy<Value = Value> {
    (
        0..300_i64,
        proptest::option::of(0..200_i64),
        proptest::option::of(0..3_u8),
        proptest::option::of(0..3_u8),
        proptest::option::of(0..2_u8),
    )
        .prop_map(|(start, length, phone, crm, group)| {
            let mut call = json!({"startTime": at(start).to_string()});
            if let Some(length) = length {
                call["endTime"] = json!(at(start + length).to_string());
            }
            let mut contacts = Vec::new();
            if let Some(phone) = phone {
                contacts
                    .push(json!({"type": "customer", "phoneNumber": format!("+1 555 010{phone}")}));
            }
            if let Some(crm) = crm {
                contacts.push(json!({"type": "customer", "referenceId": format!("CRM-{crm}")}));
            }
            call["contacts"] = Value::Array(contacts);
            if let Some(group) = group {
                call["masterCallId"] = json!(format!("g{group}"));
            }
            call
        })
}

/// Events naming a phone number (or two), a CRM id (in any case), both, or
/// a session id (possibly of a call that never comes).
fn event() -> impl Strategy<Value = Value> {
    (
        -100..500_i64,
        proptest::option::of(0..3_u8),
        proptest::option::of(0..3_u8),
        proptest::option::of(0..6_u8),
        proptest::option::of(0..3_u8),
    )
        .prop_map(|(time, phone, crm, session, other_phone)| {
            let mut metadata = json!({"time": time});
            match (phone, other_phone) {
                (Some(phone), Some(other)) => {
                    metadata["ani"] =
                        json!([format!("1-555-010-{phone}"), format!("1-555-010-{other}")]);
                }
                (Some(phone), None) => metadata["ani"] = json!(format!("1-555-010-{phone}")),
                _ => {}
            }
            if let Some(crm) = crm {
                metadata["crm"] = json!(format!("crm-{crm}"));
            }
            let mut body = json!({"eventTime": at(time).to_string(), "metadata": metadata});
            if let Some(session) = session.filter(|n| n % 2 == 0) {
                body["sessionId"] = json!(format!("c{}", session / 2));
            }
            body
        })
}

/// A set of calls, events and changed versions of some calls, and an order
/// to send them in.
fn scenario() -> impl Strategy<Value = (Vec<Arrival>, Vec<usize>)> {
    (
        proptest::collection::vec(call(), 1..6),
        proptest::collection::vec(event(), 1..7),
        proptest::collection::vec((0..6_usize, call()), 0..3),
    )
        .prop_flat_map(|(calls, events, changes)| {
            let count = calls.len();
            let with_id = |i: usize, mut call: Value| {
                call["sessionId"] = json!(format!("c{i}"));
                Arrival::Call(call)
            };
            let arrivals: Vec<Arrival> = calls
                .into_iter()
                .enumerate()
                .map(|(i, call)| with_id(i, call))
                .chain(
                    events
                        .into_iter()
                        .enumerate()
                        .map(|(i, event)| Arrival::Event(format!("e{i}"), event)),
                )
                .chain(
                    changes
                        .into_iter()
                        .map(|(i, call)| with_id(i % count, call)),
                )
                .collect();
            let order: Vec<usize> = (0..arrivals.len()).collect();
            (Just(arrivals), Just(order).prop_shuffle())
        })
}

/// The calls-first order of what `order` leaves: each call's version that
/// arrives last, then the events.
fn calls_first<'a>(arrivals: &'a [Arrival], order: &[usize]) -> Vec<&'a Arrival> {
    let mut last: Vec<(String, &Arrival)> = Vec::new();
    for &index in order {
        if let Arrival::Call(call) = &arrivals[index] {
            let id = call["sessionId"].as_str().expect("session id").to_owned();
            last.retain(|(seen, _)| *seen != id);
            last.push((id, &arrivals[index]));
        }
    }
    last.sort_by(|a, b| a.0.cmp(&b.0));
    last.into_iter()
        .map(|(_, call)| call)
        .chain(
            arrivals
                .iter()
                .filter(|arrival| matches!(arrival, Arrival::Event(..))),
        )
        .collect()
}

const RULES: &str = r#"{"rules": [
    {"name": "crm", "priority": 1, "eventField": "/crm", "callField": "customerReferenceId",
     "normalize": "caseInsensitive", "windowSeconds": 60, "target": "callGroup"},
    {"name": "ani", "priority": 2, "eventField": "/ani", "callField": "customerPhoneNumber",
     "normalize": "digits", "windowSeconds": 120}
]}"#;

/// Sends `arrivals` in order to a fresh store; every event's attachment.
async fn attachments(arrivals: &[&Arrival]) -> Vec<(String, Option<Attachment>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("store");
    let tenant = TenantId::parse("t").expect("tenant");
    let rules = parse_rules(&serde_json::from_str(RULES).expect("json")).expect("rules");
    store
        .put_matching_rules(&tenant, rules, at(0))
        .await
        .expect("rules");
    // Nothing expires: arrival order is the only difference.
    let expired_before = at(-1_000_000);
    for arrival in arrivals {
        match arrival {
            Arrival::Call(body) => {
                let call = parse_call(&body.to_string()).expect("valid call");
                store
                    .put_calls(CallBatch {
                        tenant: tenant.clone(),
                        received_at: at(1000),
                        expired_before,
                        calls: vec![call],
                    })
                    .await
                    .expect("put call");
            }
            Arrival::Event(id, body) => {
                store
                    .insert_call_event(
                        NewCallEvent {
                            tenant: tenant.clone(),
                            api_id: ApiId::parse("k").expect("api id"),
                            request_id: "r".into(),
                            received_at: at(1000),
                            event_id: EventId::parse(id.as_str()).expect("id"),
                            generated_id: false,
                            event: parse_call_event(&body.to_string()).expect("valid event"),
                        },
                        expired_before,
                    )
                    .await
                    .expect("insert event");
            }
        }
    }
    let page = store
        .list_call_events(
            &tenant,
            CallEventQuery {
                status: None,
                expired_before,
                after: None,
                limit: 100,
            },
        )
        .await
        .expect("list");
    let mut found: Vec<(String, Option<Attachment>)> = page
        .items
        .into_iter()
        .map(|event| (event.event_id.as_str().to_owned(), event.attachment))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_arrival_order_gives_the_same_attachments((arrivals, order) in scenario()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let expected = runtime.block_on(attachments(&calls_first(&arrivals, &order)));
        let shuffled: Vec<&Arrival> = order.iter().map(|&index| &arrivals[index]).collect();
        let shuffled = runtime.block_on(attachments(&shuffled));
        prop_assert_eq!(shuffled, expected);
    }
}
