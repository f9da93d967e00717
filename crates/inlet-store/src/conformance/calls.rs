//! Conformance scenarios of calls, out-of-band events and matching rules:
//! the golden cases of each rule kind, normalisation, window edges,
//! ambiguity, call groups, late binding, TTL and rule changes.

use inlet_domain::{ApiId, EventId, TenantId, Timestamp};
use inlet_match::{CallEvent, RuleSet, SessionId, parse_call, parse_call_event, parse_rules};
use serde_json::{Value, json};

use crate::{
    CallBatch, CallEventOutcome, CallEventQuery, CallOutcome, CallView, CallsWritten, EventState,
    EventStatus, NewCallEvent, Store, StoreError,
};

/// The TTL of pending events in these scenarios: one hour.
const TTL_SECONDS: i64 = 3600;

fn tenant() -> TenantId {
    TenantId::parse("t1").expect("tenant")
}

/// `2026-11-29T09:00:00Z` moved by `seconds`.
fn at(seconds: i64) -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-29T09:00:00Z")
        .expect("time")
        .plus_seconds(seconds)
}

/// RFC 3339 text of [`at`].
fn text(seconds: i64) -> String {
    at(seconds).to_string()
}

fn session(id: &str) -> SessionId {
    SessionId::parse(id).expect("session id")
}

fn sessions(ids: &[&str]) -> Vec<SessionId> {
    ids.iter().map(|id| session(id)).collect()
}

/// A call from `start` to `end` seconds (no end when `None`).
fn call(id: &str, start: i64, end: Option<i64>, extra: Value) -> Value {
    let mut call = json!({"sessionId": id, "startTime": text(start)});
    if let Some(end) = end {
        call["endTime"] = json!(text(end));
    }
    if let (Value::Object(call), Value::Object(extra)) = (&mut call, extra) {
        call.extend(extra);
    }
    call
}

/// Registers `calls` at `now` seconds.
async fn put(store: &dyn Store, now: i64, calls: &[Value]) -> CallsWritten {
    let calls = calls
        .iter()
        .map(|value| parse_call(&value.to_string()).expect("valid call"))
        .collect();
    store
        .put_calls(CallBatch {
            tenant: tenant(),
            received_at: at(now),
            expired_before: at(now - TTL_SECONDS),
            calls,
        })
        .await
        .expect("put calls")
}

fn parsed_event(body: &Value) -> CallEvent {
    parse_call_event(&body.to_string()).expect("valid event")
}

/// Sends the event `body` as `id`, received at `now` seconds.
async fn send(store: &dyn Store, now: i64, id: &str, body: Value) -> CallEventOutcome {
    store
        .insert_call_event(
            NewCallEvent {
                tenant: tenant(),
                api_id: ApiId::parse("key-1").expect("api id"),
                request_id: format!("req-{id}"),
                received_at: at(now),
                event_id: EventId::parse(id).expect("event id"),
                generated_id: false,
                event: parsed_event(&body),
            },
            at(now - TTL_SECONDS),
        )
        .await
        .expect("insert event")
}

/// An event at `time` seconds with `metadata` and no session id.
fn unnamed(time: i64, metadata: Value) -> Value {
    json!({"eventTime": text(time), "metadata": metadata})
}

fn stored(status: EventStatus, ids: &[&str]) -> CallEventOutcome {
    CallEventOutcome::Stored(EventState {
        status,
        session_ids: sessions(ids),
    })
}

/// Sets the tenant's rules; how many waiting events they attached.
async fn set_rules(store: &dyn Store, now: i64, rules: Value) -> u64 {
    let rules = parse_rules(&json!({ "rules": rules })).expect("valid rules");
    store
        .put_matching_rules(&tenant(), rules, at(now))
        .await
        .expect("put rules")
}

/// `(matchedBy, via)` of each event attached to `id`, by event id.
async fn attached(store: &dyn Store, id: &str) -> Vec<(String, String, String)> {
    let view = store
        .get_call(&tenant(), &session(id))
        .await
        .expect("call exists");
    view.events
        .iter()
        .map(|event| {
            (
                event.event_id.as_str().to_owned(),
                event.matched_by.label(),
                event.via.name().to_owned(),
            )
        })
        .collect()
}

fn triple(event: &str, by: &str, via: &str) -> (String, String, String) {
    (event.to_owned(), by.to_owned(), via.to_owned())
}

/// An event naming its session attaches to that call, whether the call
/// comes before or after it.
pub async fn an_event_with_a_session_id_attaches_whenever_its_call_arrives(store: &dyn Store) {
    put(store, 0, &[call("s1", 0, Some(60), json!({}))]).await;
    let before = send(
        store,
        1,
        "e1",
        json!({"SessionId": "s1", "EventTime": text(1), "Metadata": {"a": 1}}),
    )
    .await;
    assert_eq!(before, stored(EventStatus::Matched, &["s1"]));
    let early = send(
        store,
        2,
        "e2",
        json!({"sessionId": "s2", "eventTime": text(2), "metadata": {"b": 2}}),
    )
    .await;
    assert_eq!(early, stored(EventStatus::Pending, &[]));
    let late = put(store, 3, &[call("s2", 0, None, json!({}))]).await;
    assert_eq!(late.late_matches, 1, "e2 waited for s2");
    assert_eq!(
        attached(store, "s1").await,
        [triple("e1", "sessionId", "call")]
    );
    assert_eq!(
        attached(store, "s2").await,
        [triple("e2", "sessionId", "call")]
    );
    let view = store
        .get_call(&tenant(), &session("s2"))
        .await
        .expect("call");
    assert_eq!(view.events[0].metadata["b"], 2);
}

/// Each call field a rule can compare, with each normalisation.
pub async fn each_call_field_matches_through_its_rule(store: &dyn Store) {
    set_rules(store, 0, json!([
        {"name": "dialed", "priority": 1, "eventField": "/dnis", "callField": "numberDialed", "windowSeconds": 60},
        {"name": "phone", "priority": 2, "eventField": "/ani", "callField": "customerPhoneNumber", "normalize": "digits", "windowSeconds": 60},
        {"name": "customer", "priority": 3, "eventField": "/crm/customer", "callField": "customerReferenceId", "normalize": "caseInsensitive", "windowSeconds": 60},
        {"name": "agent", "priority": 4, "eventField": "/agent", "callField": "agentReferenceId", "windowSeconds": 60},
        {"name": "master", "priority": 5, "eventField": "/group", "callField": "masterCallId", "windowSeconds": 60},
        {"name": "case", "priority": 6, "eventField": "/case", "callField": "metaData/crm/caseId", "windowSeconds": 60}
    ])).await;
    put(
        store,
        0,
        &[
            call(
                "c-dialed",
                0,
                Some(100),
                json!({"numberDialed": "8005550100"}),
            ),
            call(
                "c-phone",
                0,
                Some(100),
                json!({"contacts": [{"type": "customer", "phoneNumber": "+1 (555) 010-0199"}]}),
            ),
            call(
                "c-customer",
                0,
                Some(100),
                json!({"contacts": [{"type": "customer", "referenceId": "CUST-42"}]}),
            ),
            call(
                "c-agent",
                0,
                Some(100),
                json!({"contacts": [{"type": "agent", "referenceId": "A-7"}]}),
            ),
            call("c-master", 0, Some(100), json!({"masterCallId": "G-1"})),
            call(
                "c-case",
                0,
                Some(100),
                json!({"metaData": {"crm": {"caseId": "CASE-9"}}}),
            ),
        ],
    )
    .await;
    let cases = [
        (
            "e-dialed",
            json!({"dnis": "8005550100"}),
            "c-dialed",
            "rule:dialed",
        ),
        (
            "e-phone",
            json!({"ani": "15550100199"}),
            "c-phone",
            "rule:phone",
        ),
        (
            "e-customer",
            json!({"crm": {"customer": "cust-42"}}),
            "c-customer",
            "rule:customer",
        ),
        ("e-agent", json!({"agent": "A-7"}), "c-agent", "rule:agent"),
        (
            "e-master",
            json!({"group": "G-1"}),
            "c-master",
            "rule:master",
        ),
        ("e-case", json!({"case": "CASE-9"}), "c-case", "rule:case"),
    ];
    for (id, metadata, call_id, by) in cases {
        let outcome = send(store, 10, id, unnamed(50, metadata)).await;
        assert_eq!(outcome, stored(EventStatus::Matched, &[call_id]), "{id}");
        assert_eq!(
            attached(store, call_id).await,
            [triple(id, by, "call")],
            "{id}"
        );
    }
    // Exact means exact: case and punctuation matter.
    let outcome = send(
        store,
        10,
        "e-miss",
        unnamed(50, json!({"agent": "a-7", "dnis": "800-555-0100"})),
    )
    .await;
    assert_eq!(outcome, stored(EventStatus::Pending, &[]));
}

/// `[start - window, (end or start) + window]`: the edges match, one second
/// past them does not.
pub async fn the_window_edges_match_and_one_second_past_does_not(store: &dyn Store) {
    set_rules(store, 0, json!([{"name": "n", "eventField": "/n", "callField": "numberDialed", "windowSeconds": 30}])).await;
    put(
        store,
        0,
        &[
            call("closed", 1000, Some(1100), json!({"numberDialed": "1"})),
            call("open", 5000, None, json!({"numberDialed": "2"})),
        ],
    )
    .await;
    let cases = [
        ("a", 970, "1", EventStatus::Matched),
        ("b", 969, "1", EventStatus::Pending),
        ("c", 1130, "1", EventStatus::Matched),
        ("d", 1131, "1", EventStatus::Pending),
        ("e", 4970, "2", EventStatus::Matched),
        ("f", 5030, "2", EventStatus::Matched),
        ("g", 5031, "2", EventStatus::Pending),
    ];
    for (id, time, number, status) in cases {
        let CallEventOutcome::Stored(state) =
            send(store, 2000, id, unnamed(time, json!({"n": number}))).await
        else {
            panic!("{id} stored");
        };
        assert_eq!(state.status, status, "event {id} at {time}");
    }
}

/// Several calls match: the nearest in time wins and the event says the
/// match was ambiguous; rules are tried by priority.
pub async fn the_nearest_call_wins_and_the_match_is_ambiguous(store: &dyn Store) {
    set_rules(store, 0, json!([
        {"name": "second", "priority": 2, "eventField": "/phone", "callField": "customerPhoneNumber", "normalize": "digits", "windowSeconds": 3600},
        {"name": "first", "priority": 1, "eventField": "/case", "callField": "metaData/case", "windowSeconds": 0}
    ])).await;
    let phone = json!({"contacts": [{"type": "customer", "phoneNumber": "555 0100"}]});
    put(
        store,
        0,
        &[
            call("early", 0, Some(60), phone.clone()),
            call("late", 600, Some(660), phone.clone()),
            call(
                "by-case",
                3000,
                Some(3060),
                json!({"metaData": {"case": "K"}}),
            ),
        ],
    )
    .await;
    let outcome = send(
        store,
        10,
        "near-late",
        unnamed(500, json!({"phone": "5550100"})),
    )
    .await;
    assert_eq!(outcome, stored(EventStatus::Matched, &["late"]));
    let view = store
        .get_call(&tenant(), &session("late"))
        .await
        .expect("call");
    assert!(view.events[0].ambiguous, "two calls were candidates");
    // Both rules could match: the lower priority number is tried first.
    let outcome = send(
        store,
        10,
        "both",
        unnamed(3000, json!({"phone": "5550100", "case": "K"})),
    )
    .await;
    assert_eq!(outcome, stored(EventStatus::Matched, &["by-case"]));
}

/// A value every call shares, and a call much longer than the others
/// registered after them: look-ups are bounded by time (the tenant's
/// longest call, the rules' widest window), and the bounds still reach
/// every call and event they must.
pub async fn long_calls_and_widely_shared_values_match_as_any_other(store: &dyn Store) {
    set_rules(store, 0, json!([{"name": "n", "eventField": "/n", "callField": "numberDialed", "windowSeconds": 60}])).await;
    let dialed = || json!({"numberDialed": "1"});
    put(
        store,
        0,
        &[
            call("early", 0, Some(100), dialed()),
            call("late", 100_000, Some(100_100), dialed()),
        ],
    )
    .await;
    put(store, 1, &[call("long", 1_000, Some(50_000), dialed())]).await;
    let cases = [
        ("e1", 50, "early"),
        // 48,940 s after the long call's start: found only because its
        // length widened the bound when it was registered.
        ("e2", 49_990, "long"),
        ("e3", 100_050, "late"),
    ];
    for (id, time, call) in cases {
        let outcome = send(store, 2, id, unnamed(time, json!({"n": "1"}))).await;
        assert_eq!(outcome, stored(EventStatus::Matched, &[call]), "event {id}");
    }
    assert_eq!(
        send(store, 3, "e4", unnamed(200_000, json!({"n": "1"}))).await,
        stored(EventStatus::Pending, &[])
    );
    put(store, 4, &[call("near", 199_990, Some(200_100), dialed())]).await;
    assert_eq!(
        attached(store, "near").await,
        [triple("e4", "rule:n", "call")]
    );
    // Moved far away, the call leaves the event behind: found through the
    // call's old times.
    put(store, 5, &[call("near", 300_000, Some(300_100), dialed())]).await;
    assert_eq!(attached(store, "near").await, []);
    assert_eq!(
        attached(store, "early").await,
        [triple("e1", "rule:n", "call")]
    );
    assert_eq!(
        attached(store, "long").await,
        [triple("e2", "rule:n", "call")]
    );
}

/// An attached event keeps only some of its keys indexed, yet every call
/// that could take it still finds it: a farther call with the attaching
/// key (through the call the event is on), a call matching an earlier rule,
/// and a nearer call with the second of two values the event has.
pub async fn attached_events_stay_within_reach_of_later_calls(store: &dyn Store) {
    set_rules(store, 0, json!([
        {"name": "case", "priority": 1, "eventField": "/case", "callField": "metaData/case", "windowSeconds": 600},
        {"name": "phone", "priority": 2, "eventField": "/phone", "callField": "customerPhoneNumber", "normalize": "digits", "windowSeconds": 3600}
    ])).await;
    let phone = |number: &str| json!({"contacts": [{"type": "customer", "phoneNumber": number}]});
    put(store, 0, &[call("a", 0, Some(60), phone("555 0100"))]).await;
    let both = unnamed(30, json!({"phone": "5550100", "case": "K"}));
    assert_eq!(
        send(store, 1, "e1", both).await,
        stored(EventStatus::Matched, &["a"])
    );
    let ambiguous = |view: CallView| {
        view.events
            .iter()
            .map(|event| event.ambiguous)
            .collect::<Vec<_>>()
    };
    let view = store.get_call(&tenant(), &session("a")).await.expect("a");
    assert_eq!(ambiguous(view), [false]);
    // A farther call with the same number: e1 stays, but is ambiguous now.
    put(store, 2, &[call("b", 1000, Some(1060), phone("5550100"))]).await;
    let view = store.get_call(&tenant(), &session("a")).await.expect("a");
    assert_eq!(ambiguous(view), [true]);
    // A call the earlier rule matches takes it.
    put(
        store,
        3,
        &[call(
            "k",
            100,
            Some(160),
            json!({"metaData": {"case": "K"}}),
        )],
    )
    .await;
    assert_eq!(attached(store, "a").await, []);
    assert_eq!(
        attached(store, "k").await,
        [triple("e1", "rule:case", "call")]
    );
    // Two numbers: on b by the first; a nearer call with the second takes it.
    let two = unnamed(4000, json!({"phone": ["555 0100", "555 0199"]}));
    assert_eq!(
        send(store, 4, "e2", two).await,
        stored(EventStatus::Matched, &["b"])
    );
    put(store, 5, &[call("q", 3900, Some(3960), phone("5550199"))]).await;
    assert_eq!(attached(store, "b").await, []);
    assert_eq!(
        attached(store, "q").await,
        [triple("e2", "rule:phone", "call")]
    );
    let view = store.get_call(&tenant(), &session("q")).await.expect("q");
    assert_eq!(ambiguous(view), [true]);
}

/// A callGroup rule attaches the metadata to every call of the group,
/// including calls that join it later.
pub async fn a_call_group_match_reaches_calls_that_join_later(store: &dyn Store) {
    set_rules(
        store,
        0,
        json!([{"name": "crm", "eventField": "/crm", "callField": "customerReferenceId",
        "windowSeconds": 600, "target": "callGroup"}]),
    )
    .await;
    put(
        store,
        0,
        &[call(
            "leg-1",
            0,
            Some(120),
            json!({"masterCallId": "G",
        "contacts": [{"type": "customer", "referenceId": "C-1"}]}),
        )],
    )
    .await;
    let outcome = send(
        store,
        10,
        "e1",
        unnamed(60, json!({"crm": "C-1", "tier": "gold"})),
    )
    .await;
    assert_eq!(outcome, stored(EventStatus::Matched, &["leg-1"]));
    put(
        store,
        200,
        &[call("leg-2", 130, Some(300), json!({"masterCallId": "G"}))],
    )
    .await;
    assert_eq!(
        attached(store, "leg-2").await,
        [triple("e1", "rule:crm", "callGroup")]
    );
    let view = store
        .get_call(&tenant(), &session("leg-2"))
        .await
        .expect("call");
    assert_eq!(view.group_sessions, sessions(&["leg-1", "leg-2"]));
    let again = send(
        store,
        300,
        "e1",
        unnamed(60, json!({"tier": "gold", "crm": "C-1"})),
    )
    .await;
    assert_eq!(
        again,
        CallEventOutcome::Duplicate(EventState {
            status: EventStatus::Matched,
            session_ids: sessions(&["leg-1", "leg-2"]),
        }),
        "a resend answers the event's standing now"
    );
}

/// An event that matches nothing waits; a call that arrives within the
/// TTL picks it up; after the TTL it is unmatched and calls no longer wake
/// it, but new rules retry it.
pub async fn pending_events_wait_expire_and_are_retried_by_new_rules(store: &dyn Store) {
    set_rules(store, 0, json!([{"name": "n", "eventField": "/n", "callField": "numberDialed", "windowSeconds": 60}])).await;
    assert_eq!(
        send(store, 0, "soon", unnamed(0, json!({"n": "1"}))).await,
        stored(EventStatus::Pending, &[])
    );
    assert_eq!(
        send(store, 0, "never", unnamed(0, json!({"n": "2"}))).await,
        stored(EventStatus::Pending, &[])
    );
    assert_eq!(
        send(store, 0, "other", unnamed(0, json!({"m": "3"}))).await,
        stored(EventStatus::Pending, &[])
    );
    // Within the TTL: the call picks its event up.
    let c1 = put(
        store,
        60,
        &[call("c1", 0, None, json!({"numberDialed": "1"}))],
    )
    .await;
    assert_eq!(c1.late_matches, 1);
    assert_eq!(
        attached(store, "c1").await,
        [triple("soon", "rule:n", "call")]
    );
    // Past the TTL: "never" is unmatched, and a matching call leaves it so.
    let later = TTL_SECONDS + 1;
    let c2 = put(
        store,
        later,
        &[call("c2", 0, None, json!({"numberDialed": "2"}))],
    )
    .await;
    assert_eq!(c2.late_matches, 0);
    assert!(attached(store, "c2").await.is_empty());
    // The sweep counts each event that crossed its TTL unattached once:
    // none at the last moment of its TTL, both right after (two sweeps at
    // once, as two nodes would, count them once between them), none again.
    let sweep = |expired_before| store.sweep_unmatched(expired_before);
    assert_eq!(sweep(at(0)).await.expect("sweep"), 0);
    let (first, second) = tokio::join!(
        sweep(at(later - TTL_SECONDS)),
        sweep(at(later - TTL_SECONDS))
    );
    assert_eq!(first.expect("sweep") + second.expect("sweep"), 2);
    assert_eq!(sweep(at(later - TTL_SECONDS)).await.expect("sweep"), 0);
    assert_eq!(sweep(at(0)).await.expect("sweep"), 0, "never backwards");
    let unmatched = list(store, later, Some(EventStatus::Unmatched)).await;
    assert_eq!(unmatched, ["never", "other"]);
    assert_eq!(
        list(store, later, Some(EventStatus::Matched)).await,
        ["soon"]
    );
    assert!(
        list(store, later, Some(EventStatus::Pending))
            .await
            .is_empty()
    );
    // New rules retry pending and unmatched events.
    let retried = set_rules(
        store,
        later,
        json!([
            {"name": "n", "eventField": "/n", "callField": "numberDialed", "windowSeconds": 60},
            {"name": "m", "eventField": "/m", "callField": "metaData/m", "windowSeconds": 60}
        ]),
    )
    .await;
    assert_eq!(retried, 1);
    assert_eq!(
        attached(store, "c2").await,
        [triple("never", "rule:n", "call")]
    );
    put(
        store,
        later,
        &[call("c3", 0, None, json!({"metaData": {"m": "3"}}))],
    )
    .await;
    assert!(
        attached(store, "c3").await.is_empty(),
        "a call does not wake an unmatched event"
    );
    let swapped = set_rules(
        store,
        later + 1,
        json!([{"name": "m", "eventField": "/m", "callField": "metaData/m", "windowSeconds": 60}]),
    )
    .await;
    assert_eq!(
        swapped, 1,
        "other attached; never, detached, is not counted"
    );
    assert_eq!(
        attached(store, "c3").await,
        [triple("other", "rule:m", "call")]
    );
    assert!(attached(store, "c2").await.is_empty(), "rule n is gone");
}

async fn list(store: &dyn Store, now: i64, status: Option<EventStatus>) -> Vec<String> {
    store
        .list_call_events(
            &tenant(),
            CallEventQuery {
                status,
                expired_before: at(now - TTL_SECONDS),
                after: None,
                limit: 100,
            },
        )
        .await
        .expect("list")
        .items
        .iter()
        .map(|event| event.event_id.as_str().to_owned())
        .collect()
}

/// A call that changes moves the events that matched it by rule; a call
/// re-sent is updated.
pub async fn a_changed_call_takes_its_events_along(store: &dyn Store) {
    set_rules(
        store,
        0,
        json!([{"name": "n", "eventField": "/n", "callField": "numberDialed", "windowSeconds": 0}]),
    )
    .await;
    assert_eq!(
        put(
            store,
            0,
            &[call("a", 0, Some(100), json!({"numberDialed": "1"}))]
        )
        .await
        .outcomes,
        [CallOutcome::Created]
    );
    send(store, 0, "e", unnamed(50, json!({"n": "1"}))).await;
    assert_eq!(attached(store, "a").await.len(), 1);
    assert_eq!(
        put(
            store,
            5,
            &[call("a", 0, Some(100), json!({"numberDialed": "2"}))]
        )
        .await
        .outcomes,
        [CallOutcome::Updated]
    );
    assert!(attached(store, "a").await.is_empty());
    let b = put(
        store,
        6,
        &[call("b", 40, Some(60), json!({"numberDialed": "1"}))],
    )
    .await;
    assert_eq!(b.late_matches, 1, "e waited again once a lost it");
    assert_eq!(attached(store, "b").await, [triple("e", "rule:n", "call")]);
    let view = store
        .get_call(&tenant(), &session("a"))
        .await
        .expect("call");
    assert_eq!(view.call.number_dialed.as_deref(), Some("2"));
    assert_eq!((view.created_at, view.updated_at), (at(0), at(5)));
}

/// A resent eventId is a duplicate with the same content, a conflict with
/// other content; calls and reads of other tenants see nothing.
pub async fn resent_events_and_other_tenants(store: &dyn Store) {
    put(store, 0, &[call("s", 0, None, json!({}))]).await;
    let body = json!({"sessionId": "s", "eventTime": text(0), "metadata": {"a": 1}});
    assert_eq!(
        send(store, 0, "e", body.clone()).await,
        stored(EventStatus::Matched, &["s"])
    );
    assert!(matches!(
        send(store, 1, "e", body).await,
        CallEventOutcome::Duplicate(_)
    ));
    let other = json!({"sessionId": "s", "eventTime": text(0), "metadata": {"a": 2}});
    assert_eq!(send(store, 1, "e", other).await, CallEventOutcome::Conflict);
    let stranger = TenantId::parse("t2").expect("tenant");
    assert!(matches!(
        store.get_call(&stranger, &session("s")).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .get_matching_rules(&stranger)
            .await
            .expect("rules")
            .is_empty()
    );
}

/// Rules read back as set; the token secret is chosen once.
pub async fn rules_read_back_and_the_token_secret_is_chosen_once(store: &dyn Store) {
    assert_eq!(
        store.get_matching_rules(&tenant()).await.expect("rules"),
        RuleSet::default()
    );
    let rules = json!([{"name": "n", "priority": 3, "eventField": "/n", "callField": "metaData/x~1y",
        "normalize": "caseInsensitive", "windowSeconds": 5, "target": "callGroup"}]);
    set_rules(store, 0, rules.clone()).await;
    let read = store.get_matching_rules(&tenant()).await.expect("rules");
    assert_eq!(read.to_json(), json!({"rules": rules}));
    let first = store.token_secret([1; 32]).await.expect("secret");
    let second = store.token_secret([2; 32]).await.expect("secret");
    assert_eq!(first, [1; 32]);
    assert_eq!(second, first);
}

/// Events list in the order received and page without gaps.
pub async fn events_list_in_order_and_page(store: &dyn Store) {
    for n in 0..5 {
        send(store, n, &format!("e{n}"), unnamed(n, json!({"n": n}))).await;
    }
    let first = store
        .list_call_events(
            &tenant(),
            CallEventQuery {
                status: None,
                expired_before: at(-TTL_SECONDS),
                after: None,
                limit: 2,
            },
        )
        .await
        .expect("page");
    assert!(first.has_more);
    let rest = store
        .list_call_events(
            &tenant(),
            CallEventQuery {
                status: None,
                expired_before: at(-TTL_SECONDS),
                after: Some(first.items[1].position),
                limit: 10,
            },
        )
        .await
        .expect("page");
    assert!(!rest.has_more);
    let ids: Vec<&str> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|e| e.event_id.as_str())
        .collect();
    assert_eq!(ids, ["e0", "e1", "e2", "e3", "e4"]);
}
