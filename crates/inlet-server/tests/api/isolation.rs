//! Tenants own everything (DESIGN.md §5): another tenant's ids are simply
//! not found (404, never 403), its rejections are invisible, and the same
//! ids and eventIds under another tenant are independent data.

use inlet_domain::Role;
use serde_json::{Value, json};

use crate::helpers::{Key, TestApp, V1, assert_error, batch, json, ok_json, spawn_app};

/// Tenant `acme` (the app's key) writes one of everything and one rejection.
async fn seed_tenant_a(app: &TestApp) {
    let conversation = json!({"externalConversationId": "c1", "eventId": "ec", "lobId": "a-lob"});
    ok_json(app.single("convo", &conversation.to_string()).await).await;
    let customer = json!({"externalConversationId": "c1", "externalCustomerId": "u1",
                          "eventId": "eu", "status": "a-status"});
    ok_json(app.single("customer", &customer.to_string()).await).await;
    let agent = json!({"externalAgentId": "a1", "eventId": "ea", "agentName": "A"});
    ok_json(app.single("agent", &agent.to_string()).await).await;
    let bad = json!({"externalConversationId": "c1", "eventId": "bad", "lobId": 1});
    let (status, _) = json(app.single("convo", &bad.to_string()).await).await;
    assert_eq!(status, 400);
}

async fn get_as(app: &TestApp, key: &Key, path: &str) -> reqwest::Response {
    app.get_as(key, &format!("{V1}/{path}")).await
}

#[tokio::test]
async fn other_tenant_cannot_read_entities_or_events_and_gets_404_not_403() {
    let app = spawn_app().await;
    seed_tenant_a(&app).await;
    let beta = app.create_key("beta", &Role::ALL).await;
    for path in [
        "conversations/c1",
        "customers/u1",
        "agents/a1",
        "events/ec",
        "events/eu",
        "events/ea",
    ] {
        let theirs = get_as(&app, &beta, path).await;
        assert_error(theirs, 404, "404-01").await;
        // Same answer as for an id that exists nowhere.
        let missing = get_as(
            &app,
            &beta,
            &path.replace('1', "-none").replace("/e", "/none"),
        )
        .await;
        assert_error(missing, 404, "404-01").await;
        ok_json(get_as(&app, &app.key, path).await).await;
    }
}

#[tokio::test]
async fn other_tenant_does_not_see_rejections() {
    let app = spawn_app().await;
    seed_tenant_a(&app).await;
    let beta = app.create_key("beta", &Role::ALL).await;
    let page = ok_json(get_as(&app, &beta, "rejections").await).await;
    assert_eq!(page, json!({"rejections": []}));
    let own = json!({"eventId": "beta-bad"});
    let (status, _) = json(app.single_as(&beta, "convo", &own.to_string()).await).await;
    assert_eq!(status, 400);
    let page = ok_json(get_as(&app, &beta, "rejections").await).await;
    assert_eq!(page["rejections"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["rejections"][0]["id"], "beta-bad");
    let page = ok_json(app.rejections("").await).await;
    let ids: Vec<&Value> = page["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, [&json!("bad")]);
}

#[tokio::test]
async fn same_ids_and_event_ids_under_another_tenant_do_not_touch_the_first() {
    let app = spawn_app().await;
    seed_tenant_a(&app).await;
    let beta = app.create_key("beta", &Role::ALL).await;

    // Same eventIds, other content: no conflict across tenants.
    let conversation = json!({"externalConversationId": "c1", "eventId": "ec", "lobId": "b-lob"});
    let body = ok_json(
        app.single_as(&beta, "convo", &conversation.to_string())
            .await,
    )
    .await;
    assert_eq!(body, json!({"result": {"eventId": "ec", "error": ""}}));
    let customer = json!({"externalConversationId": "c1", "externalCustomerId": "u2",
                          "eventId": "eu"});
    let body = ok_json(app.many_as(&beta, "customer", &batch(&[customer])).await).await;
    assert_eq!(body["errorCount"], 0);
    // Same eventId, same content as tenant A's: a new event for B, not a 409.
    let agent = json!({"externalAgentId": "a1", "eventId": "ea", "agentName": "A"});
    ok_json(app.single_as(&beta, "agent", &agent.to_string()).await).await;

    // Tenant A is untouched.
    let a_conversation = ok_json(app.conversation("c1").await).await;
    assert_eq!(a_conversation["metadata"], json!({"lobId": "a-lob"}));
    assert_eq!(a_conversation["customers"], json!(["u1"]));
    assert_eq!(a_conversation["history"].as_array().map(Vec::len), Some(1));
    let a_event = ok_json(app.event("ec").await).await;
    assert_eq!(a_event["item"]["lobId"], "a-lob");
    assert_eq!(a_event["apiId"], app.key.api_id.as_str());
    assert_error(app.customer("u2").await, 404, "404-01").await;
    let a_agent = ok_json(app.agent("a1").await).await;
    assert_eq!(a_agent["history"].as_array().map(Vec::len), Some(1));

    // Tenant B sees its own.
    let b_conversation = ok_json(get_as(&app, &beta, "conversations/c1").await).await;
    assert_eq!(b_conversation["metadata"], json!({"lobId": "b-lob"}));
    assert_eq!(b_conversation["customers"], json!(["u2"]));
    let b_event = ok_json(get_as(&app, &beta, "events/ec").await).await;
    assert_eq!(b_event["apiId"], beta.api_id.as_str());
    assert_error(get_as(&app, &beta, "customers/u1").await, 404, "404-01").await;

    // And A's resend is still A's duplicate.
    let a_resend = json!({"externalConversationId": "c1", "eventId": "ec", "lobId": "a-lob"});
    assert_error(
        app.single("convo", &a_resend.to_string()).await,
        409,
        "409-01",
    )
    .await;
}

#[tokio::test]
async fn keys_of_one_tenant_share_its_data() {
    let app = spawn_app().await;
    seed_tenant_a(&app).await;
    let second = app.create_key("acme", &[Role::Read]).await;
    let event = ok_json(get_as(&app, &second, "events/ec").await).await;
    assert_eq!(event["apiId"], app.key.api_id.as_str());
    let page = ok_json(get_as(&app, &second, "rejections").await).await;
    assert_eq!(page["rejections"].as_array().map(Vec::len), Some(1));
}
