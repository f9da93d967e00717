//! Customer metadata links a customer to a conversation, readable from both
//! sides (DESIGN.md §3.8); a conversation named only that way still exists.

use serde_json::json;

use crate::helpers::{START_RENDERED, assert_error, batch, ok_json, spawn_app};

#[tokio::test]
async fn customer_metadata_links_both_ways() {
    let app = spawn_app().await;
    ok_json(
        app.single(
            "convo",
            &json!({"externalConversationId": "c1", "lobId": "l1"}).to_string(),
        )
        .await,
    )
    .await;
    let body = batch(&[
        json!({"externalConversationId": "c1", "externalCustomerId": "u1"}),
        json!({"externalConversationId": "c1", "externalCustomerId": "u2"}),
        json!({"externalConversationId": "c2", "externalCustomerId": "u1"}),
    ]);
    ok_json(app.many("customer", &body).await).await;

    let c1 = ok_json(app.conversation("c1").await).await;
    assert_eq!(c1["customers"], json!(["u1", "u2"]));
    assert_eq!(c1["metadata"], json!({"lobId": "l1"}));
    let u1 = ok_json(app.customer("u1").await).await;
    assert_eq!(u1["conversations"], json!(["c1", "c2"]));
    let u2 = ok_json(app.customer("u2").await).await;
    assert_eq!(u2["conversations"], json!(["c1"]));
}

#[tokio::test]
async fn linking_the_same_pair_twice_lists_it_once() {
    let app = spawn_app().await;
    for status in ["new", "existing"] {
        let item = json!({"externalConversationId": "c1", "externalCustomerId": "u1",
                          "status": status});
        ok_json(app.single("customer", &item.to_string()).await).await;
    }
    let c1 = ok_json(app.conversation("c1").await).await;
    assert_eq!(c1["customers"], json!(["u1"]));
    let u1 = ok_json(app.customer("u1").await).await;
    assert_eq!(u1["conversations"], json!(["c1"]));
    assert_eq!(u1["metadata"], json!({"status": "existing"}));
    assert_eq!(u1["history"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn conversation_named_only_by_customer_metadata_reads_back_with_empty_metadata() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "only-linked", "externalCustomerId": "u1",
                      "phoneNumber": "+1-555-0100"});
    ok_json(app.single("customer", &item.to_string()).await).await;
    let conversation = ok_json(app.conversation("only-linked").await).await;
    assert_eq!(
        conversation,
        json!({
            "externalConversationId": "only-linked",
            "metadata": {},
            "customers": ["u1"],
            "firstSeenAt": START_RENDERED,
            "updatedAt": START_RENDERED,
            "history": [],
        })
    );
    // Conversation metadata sent later fills it in.
    app.clock.advance_seconds(5);
    let later = json!({"externalConversationId": "only-linked", "eventId": "e2", "lobId": "l1"});
    ok_json(app.single("convo", &later.to_string()).await).await;
    let conversation = ok_json(app.conversation("only-linked").await).await;
    assert_eq!(conversation["metadata"], json!({"lobId": "l1"}));
    assert_eq!(conversation["customers"], json!(["u1"]));
    assert_eq!(conversation["firstSeenAt"], START_RENDERED);
    assert_eq!(conversation["history"][0]["eventId"], "e2");
}

#[tokio::test]
async fn customer_reads_back_with_its_own_fields_only() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "externalCustomerId": "u1",
                      "eventId": "e1", "userId": "user1"});
    ok_json(app.single("customer", &item.to_string()).await).await;
    let customer = ok_json(app.customer("u1").await).await;
    assert_eq!(customer["externalCustomerId"], "u1");
    assert_eq!(customer["metadata"], json!({"userId": "user1"}));
    assert_eq!(customer["history"][0]["item"], item);
}

#[tokio::test]
async fn failed_customer_items_link_nothing() {
    let app = spawn_app().await;
    let item = json!({"externalConversationId": "c1", "externalCustomerId": "u1",
                      "phoneNumber": "call me"});
    let (status, _) = crate::helpers::json(app.single("customer", &item.to_string()).await).await;
    assert_eq!(status, 400);
    assert_error(app.conversation("c1").await, 404, "404-01").await;
    assert_error(app.customer("u1").await, 404, "404-01").await;
}

#[tokio::test]
async fn agents_have_no_links() {
    let app = spawn_app().await;
    ok_json(
        app.single("agent", &json!({"externalAgentId": "a1"}).to_string())
            .await,
    )
    .await;
    let agent = ok_json(app.agent("a1").await).await;
    assert!(agent.get("customers").is_none(), "{agent}");
    assert!(agent.get("conversations").is_none(), "{agent}");
}
