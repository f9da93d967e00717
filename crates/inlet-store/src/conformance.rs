//! Scenarios every backend must pass, written once against `&dyn Store`.
//!
//! A backend instantiates them with [`store_conformance_tests!`](crate::store_conformance_tests),
//! passing an async expression that yields `(store, guard)`: a fresh, empty
//! store and whatever must live as long as it (a temp dir, a test database).

use inlet_domain::{
    ApiId, EntityId, EntityKind, EventId, Json, Role, TenantId, Timestamp, parse_item,
};
use serde_json::json;

mod calls;

pub use calls::*;

use crate::{
    AcceptedItem, EntryOutcome, IngestBatch, IngestEntry, KeyLimits, NewCredential, Position,
    RejectedItem, RejectionQuery, SecretHash, Store, StoreError,
};

/// Generates one `#[tokio::test]` per scenario of this module.
///
/// `store_conformance_tests!(make)` takes a `make` that always yields a
/// store; `store_conformance_tests!(optional make)` one that yields an
/// `Option`, for a backend whose server may be absent (the case then
/// passes without running, and `make` says why).
#[macro_export]
macro_rules! store_conformance_tests {
    (optional $make:expr) => {
        $crate::store_conformance_tests!(@each $make;
            accepted_items_read_back_as_merged_profile_and_history,
            history_follows_commit_order_within_and_across_batches,
            updated_at_never_moves_back,
            repeated_event_id_is_duplicate_or_conflict,
            same_event_id_twice_in_one_batch,
            event_id_reused_for_another_kind_is_a_conflict,
            customer_links_conversation_both_ways,
            stored_event_reads_back_by_event_id,
            rejections_page_by_cursor_and_since,
            tenants_never_see_each_other,
            credentials_insert_find_list_revoke,
            an_event_with_a_session_id_attaches_whenever_its_call_arrives,
            each_call_field_matches_through_its_rule,
            the_window_edges_match_and_one_second_past_does_not,
            the_nearest_call_wins_and_the_match_is_ambiguous,
            long_calls_and_widely_shared_values_match_as_any_other,
            a_call_group_match_reaches_calls_that_join_later,
            pending_events_wait_expire_and_are_retried_by_new_rules,
            a_changed_call_takes_its_events_along,
            attached_events_stay_within_reach_of_later_calls,
            resent_events_and_other_tenants,
            rules_read_back_and_the_token_secret_is_chosen_once,
            events_list_in_order_and_page,
        );
    };
    ($make:expr) => {
        $crate::store_conformance_tests!(optional async { Some($make.await) });
    };
    (@each $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if let Some((store, _guard)) = $make.await {
                    $crate::conformance::$case(&store).await;
                }
            }
        )*
    };
}

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).expect("valid tenant")
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_micros(1_700_000_000_000_000).plus_seconds(seconds)
}

/// Validates `raw` as `kind` and wraps it as an accepted entry.
fn accepted(kind: EntityKind, raw: serde_json::Value) -> IngestEntry {
    let text = raw.to_string();
    let item = parse_item(kind, &Json::parse(&text).expect("json")).expect("valid item");
    let event_id = item.event_id.clone().unwrap_or_else(EventId::generate);
    IngestEntry::Accepted(AcceptedItem::new(event_id, item, text))
}

fn rejected(kind: EntityKind, raw: &str, error: &str) -> IngestEntry {
    let (raw, truncated) = RejectedItem::cap(raw);
    IngestEntry::Rejected(RejectedItem {
        event_id: EventId::generate(),
        kind,
        errors: vec![error.to_owned()],
        raw,
        truncated,
    })
}

fn batch(tenant_name: &str, seconds: i64, entries: Vec<IngestEntry>) -> IngestBatch {
    IngestBatch {
        tenant: tenant(tenant_name),
        api_id: ApiId::parse("key-1").expect("api id"),
        request_id: format!("req-{seconds}"),
        received_at: at(seconds),
        entries,
    }
}

async fn ingest(store: &dyn Store, batch: IngestBatch) -> Vec<EntryOutcome> {
    store.ingest(batch).await.expect("ingest")
}

/// Merge rules and history order, through the store.
pub async fn accepted_items_read_back_as_merged_profile_and_history(store: &dyn Store) {
    let conversation = EntityKind::Conversation;
    let first = json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "a",
        "companySegment": ["S1", "S2"], "attributes": [{"name": "x", "value": "1"}]});
    let second = json!({"externalConversationId": "c1", "eventId": "e2", "lobId": null,
        "campaign": "k", "companySegment": ["S3"], "attributes": [{"name": "y", "value": "2"}]});
    let outcomes = ingest(
        store,
        batch("t1", 0, vec![accepted(conversation, first.clone())]),
    )
    .await;
    assert_eq!(outcomes, [EntryOutcome::Stored]);
    ingest(
        store,
        batch("t1", 5, vec![accepted(conversation, second.clone())]),
    )
    .await;

    let view = store
        .get_entity(&tenant("t1"), conversation, &EntityId::new("c1"))
        .await
        .expect("entity");
    assert_eq!(
        serde_json::Value::Object(view.metadata),
        json!({"campaign": "k", "companySegment": ["S3"],
            "attributes": [{"name": "x", "value": "1"}, {"name": "y", "value": "2"}]})
    );
    assert_eq!(view.first_seen_at, at(0));
    assert_eq!(view.updated_at, at(5));
    let ids: Vec<&str> = view.history.iter().map(|h| h.event_id.as_str()).collect();
    assert_eq!(ids, ["e1", "e2"]);
    let stored: serde_json::Value = serde_json::from_str(&view.history[0].item).expect("json");
    assert_eq!(stored, first);
    assert_eq!(view.history[1].received_at, at(5));
}

/// History is in commit order: the order sent within a batch, batch after
/// batch, interleaved with other entities' events.
pub async fn history_follows_commit_order_within_and_across_batches(store: &dyn Store) {
    let agent = |event: &str, id: &str| {
        accepted(
            EntityKind::Agent,
            json!({"externalAgentId": id, "eventId": event, "agentName": event}),
        )
    };
    ingest(
        store,
        batch(
            "t1",
            0,
            vec![agent("z", "a1"), agent("y", "a2"), agent("x", "a1")],
        ),
    )
    .await;
    ingest(store, batch("t1", 0, vec![agent("w", "a1")])).await;
    let view = store
        .get_entity(&tenant("t1"), EntityKind::Agent, &EntityId::new("a1"))
        .await
        .expect("entity");
    let ids: Vec<&str> = view.history.iter().map(|h| h.event_id.as_str()).collect();
    assert_eq!(ids, ["z", "x", "w"]);
    assert_eq!(view.metadata["agentName"], "w");
}

/// A request received earlier but committed later does not turn an
/// entity's `updatedAt` back.
pub async fn updated_at_never_moves_back(store: &dyn Store) {
    let item = |event: &str| {
        accepted(
            EntityKind::Conversation,
            json!({"externalConversationId": "c1", "eventId": event}),
        )
    };
    ingest(store, batch("t1", 10, vec![item("late")])).await;
    ingest(store, batch("t1", 5, vec![item("early")])).await;
    let view = store
        .get_entity(
            &tenant("t1"),
            EntityKind::Conversation,
            &EntityId::new("c1"),
        )
        .await
        .expect("entity");
    assert_eq!(view.first_seen_at, at(10));
    assert_eq!(view.updated_at, at(10));
    assert_eq!(view.history.len(), 2);
}

/// DESIGN.md §3.5: the same eventId with the same content stores nothing
/// new; with other content the first version stays and the item is rejected.
pub async fn repeated_event_id_is_duplicate_or_conflict(store: &dyn Store) {
    let kind = EntityKind::Agent;
    let original = json!({"externalAgentId": "a1", "eventId": "e1", "agentName": "Ann"});
    let reordered = json!({"agentName": "Ann", "eventId": "e1", "externalAgentId": "a1"});
    let changed = json!({"externalAgentId": "a1", "eventId": "e1", "agentName": "Bob"});
    ingest(store, batch("t1", 0, vec![accepted(kind, original)])).await;
    let outcomes = ingest(
        store,
        batch(
            "t1",
            1,
            vec![accepted(kind, reordered), accepted(kind, changed.clone())],
        ),
    )
    .await;
    assert_eq!(outcomes, [EntryOutcome::Duplicate, EntryOutcome::Conflict]);

    let view = store
        .get_entity(&tenant("t1"), kind, &EntityId::new("a1"))
        .await
        .expect("entity");
    assert_eq!(view.metadata["agentName"], "Ann");
    assert_eq!(view.history.len(), 1);

    let page = store
        .list_rejections(&tenant("t1"), query(None, None, 10))
        .await
        .expect("rejections");
    assert_eq!(page.items.len(), 1);
    let rejection = &page.items[0];
    assert_eq!(rejection.id.as_str(), "e1");
    assert!(rejection.errors[0].starts_with("FAIL_CONFLICT: "));
    let item: serde_json::Value = serde_json::from_str(&rejection.item).expect("json");
    assert_eq!(item, changed);
}

/// DESIGN.md §3b: within one batch, the same eventId with the same content is
/// stored once; with other content the later item conflicts.
pub async fn same_event_id_twice_in_one_batch(store: &dyn Store) {
    let kind = EntityKind::Conversation;
    let item = json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "a"});
    let other = json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "b"});
    let outcomes = ingest(
        store,
        batch(
            "t1",
            0,
            vec![
                accepted(kind, item.clone()),
                accepted(kind, item),
                accepted(kind, other),
            ],
        ),
    )
    .await;
    assert_eq!(
        outcomes,
        [
            EntryOutcome::Stored,
            EntryOutcome::Duplicate,
            EntryOutcome::Conflict
        ]
    );
    let view = store
        .get_entity(&tenant("t1"), kind, &EntityId::new("c1"))
        .await
        .expect("entity");
    assert_eq!(view.metadata["lobId"], "a");
    assert_eq!(view.history.len(), 1);
}

/// DESIGN.md §3b: one eventId names one submission whatever its kind.
pub async fn event_id_reused_for_another_kind_is_a_conflict(store: &dyn Store) {
    let conversation = json!({"externalConversationId": "x1", "eventId": "e1"});
    let agent = json!({"externalAgentId": "x1", "eventId": "e1"});
    ingest(
        store,
        batch(
            "t1",
            0,
            vec![accepted(EntityKind::Conversation, conversation)],
        ),
    )
    .await;
    let outcomes = ingest(
        store,
        batch("t1", 1, vec![accepted(EntityKind::Agent, agent)]),
    )
    .await;
    assert_eq!(outcomes, [EntryOutcome::Conflict]);
    let missing = store
        .get_entity(&tenant("t1"), EntityKind::Agent, &EntityId::new("x1"))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

/// DESIGN.md §3.8 and §3b: customer metadata links both ways, and a
/// conversation named only there exists with empty metadata.
pub async fn customer_links_conversation_both_ways(store: &dyn Store) {
    let kind = EntityKind::Customer;
    ingest(
        store,
        batch(
            "t1",
            0,
            vec![
                accepted(
                    kind,
                    json!({"externalConversationId": "c1", "externalCustomerId": "u1", "status": "new"}),
                ),
                accepted(
                    kind,
                    json!({"externalConversationId": "c1", "externalCustomerId": "u2"}),
                ),
                accepted(
                    kind,
                    json!({"externalConversationId": "c2", "externalCustomerId": "u1"}),
                ),
            ],
        ),
    )
    .await;
    let t1 = tenant("t1");
    let conversation = store
        .get_entity(&t1, EntityKind::Conversation, &EntityId::new("c1"))
        .await
        .expect("conversation exists");
    assert!(conversation.metadata.is_empty());
    assert!(conversation.history.is_empty());
    assert_eq!(
        conversation.links,
        [EntityId::new("u1"), EntityId::new("u2")]
    );
    let customer = store
        .get_entity(&t1, kind, &EntityId::new("u1"))
        .await
        .expect("customer");
    assert_eq!(customer.links, [EntityId::new("c1"), EntityId::new("c2")]);
    assert_eq!(customer.metadata["status"], "new");
    assert!(!customer.metadata.contains_key("externalConversationId"));
}

/// An accepted item is readable by its eventId with its provenance.
pub async fn stored_event_reads_back_by_event_id(store: &dyn Store) {
    let raw = json!({"externalAgentId": "a1", "eventId": "e9", "ranking": 3});
    ingest(
        store,
        batch("t1", 7, vec![accepted(EntityKind::Agent, raw.clone())]),
    )
    .await;
    let event = store
        .get_event(&tenant("t1"), &EventId::parse("e9").expect("id"))
        .await
        .expect("event");
    assert_eq!(event.kind, EntityKind::Agent);
    assert_eq!(event.entity_id, EntityId::new("a1"));
    assert_eq!(event.received_at, at(7));
    assert_eq!(event.api_id.as_str(), "key-1");
    assert_eq!(event.request_id, "req-7");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&event.item).expect("json"),
        raw
    );
    let missing = store
        .get_event(&tenant("t1"), &EventId::parse("nope").expect("id"))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

fn query(since: Option<Timestamp>, after: Option<Position>, limit: usize) -> RejectionQuery {
    RejectionQuery {
        since,
        after,
        limit,
    }
}

/// Rejections are kept in order and page without gaps or repeats.
pub async fn rejections_page_by_cursor_and_since(store: &dyn Store) {
    let kind = EntityKind::Conversation;
    for second in 0..5 {
        ingest(
            store,
            batch(
                "t1",
                second,
                vec![rejected(kind, &format!("{{\"n\":{second}}}"), "bad")],
            ),
        )
        .await;
    }
    let t1 = tenant("t1");
    let first = store
        .list_rejections(&t1, query(None, None, 2))
        .await
        .expect("page");
    assert_eq!(first.items.len(), 2);
    assert!(first.has_more);
    let rest = store
        .list_rejections(&t1, query(None, Some(first.items[1].position), 10))
        .await
        .expect("page");
    assert_eq!(rest.items.len(), 3);
    assert!(!rest.has_more);
    let items: Vec<&str> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|r| r.item.as_str())
        .collect();
    assert_eq!(
        items,
        [
            "{\"n\":0}",
            "{\"n\":1}",
            "{\"n\":2}",
            "{\"n\":3}",
            "{\"n\":4}"
        ]
    );
    let since = store
        .list_rejections(&t1, query(Some(at(3)), None, 10))
        .await
        .expect("page");
    assert_eq!(since.items.len(), 2);
    assert_eq!(since.items[0].received_at, at(3));
}

/// Every read is scoped to the tenant: the same ids in two tenants are two
/// entities, and one tenant's data is invisible to the other.
pub async fn tenants_never_see_each_other(store: &dyn Store) {
    let kind = EntityKind::Conversation;
    ingest(
        store,
        batch(
            "ta",
            0,
            vec![
                accepted(
                    kind,
                    json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "a"}),
                ),
                rejected(kind, "{}", "bad"),
            ],
        ),
    )
    .await;
    let outcomes = ingest(
        store,
        batch(
            "tb",
            1,
            vec![accepted(
                kind,
                json!({"externalConversationId": "c1", "eventId": "e1", "lobId": "b"}),
            )],
        ),
    )
    .await;
    assert_eq!(outcomes, [EntryOutcome::Stored], "eventIds are per tenant");
    let (ta, tb, tc) = (tenant("ta"), tenant("tb"), tenant("tc"));
    let a = store
        .get_entity(&ta, kind, &EntityId::new("c1"))
        .await
        .expect("a");
    let b = store
        .get_entity(&tb, kind, &EntityId::new("c1"))
        .await
        .expect("b");
    assert_eq!(a.metadata["lobId"], "a");
    assert_eq!(b.metadata["lobId"], "b");
    let e1 = EventId::parse("e1").expect("id");
    assert!(matches!(
        store.get_entity(&tc, kind, &EntityId::new("c1")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_event(&tc, &e1).await,
        Err(StoreError::NotFound)
    ));
    let none = store
        .list_rejections(&tb, query(None, None, 10))
        .await
        .expect("page");
    assert!(none.items.is_empty());
}

/// Keys: stored with a hash, found, listed, revoked once.
pub async fn credentials_insert_find_list_revoke(store: &dyn Store) {
    let api_id = ApiId::parse("key-a").expect("api id");
    let credential = NewCredential {
        api_id: api_id.clone(),
        tenant: tenant("t1"),
        secret_hash: SecretHash::of("s3cret"),
        roles: vec![Role::Ingest, Role::Read],
        created_at: at(0),
        expires_at: at(100),
        limits: KeyLimits {
            rate_per_second: Some(2.5),
            burst: None,
            daily_quota: Some(1_000),
        },
    };
    store
        .insert_credential(credential.clone())
        .await
        .expect("insert");
    assert!(matches!(
        store.insert_credential(credential).await,
        Err(StoreError::Conflict(_))
    ));
    let found = store
        .find_credential(&api_id)
        .await
        .expect("find")
        .expect("present");
    assert_eq!(found.key.secret_hash, SecretHash::of("s3cret"));
    assert_eq!(found.key.roles, [Role::Ingest, Role::Read]);
    assert_eq!(
        found.key.limits,
        KeyLimits {
            rate_per_second: Some(2.5),
            burst: None,
            daily_quota: Some(1_000)
        }
    );
    assert!(found.is_active(at(99)));
    assert!(!found.is_active(at(100)));

    store
        .revoke_credential(&api_id, at(5))
        .await
        .expect("revoke");
    store
        .revoke_credential(&api_id, at(9))
        .await
        .expect("revoke again");
    let revoked = store
        .find_credential(&api_id)
        .await
        .expect("find")
        .expect("present");
    assert_eq!(revoked.revoked_at, Some(at(5)));
    assert!(!revoked.is_active(at(6)));
    let unknown = ApiId::parse("key-zzz").expect("api id");
    assert!(matches!(
        store.revoke_credential(&unknown, at(5)).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .find_credential(&unknown)
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(store.list_credentials().await.expect("list").len(), 1);
}
