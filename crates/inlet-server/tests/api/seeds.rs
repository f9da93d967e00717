//! The vendor's own examples (DESIGN.md §2: the seeds are the contract), sent
//! exactly as the seed files show them, transcribed from YAML to JSON where
//! the seed is an OpenAPI document.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{batch, json, ok_json, spawn_app};

/// Seed 000 (`many-convo-metadata`): the request `example`. The second item
/// misspells `externalConversationId` as `externlConversationId`.
const MANY_CONVO_EXAMPLE: &str =
    include_str!("../../../../tests/fixtures/seeds/many-convo-metadata.json");

/// Seed 001 (`many-customer-metadata`): the curl `--data` body, verbatim.
const MANY_CUSTOMER_EXAMPLE: &str =
    include_str!("../../../../tests/fixtures/seeds/many-customer-metadata.json");

/// Seed 002 (`single-customer-metadata`): the request `example`.
const SINGLE_CUSTOMER_EXAMPLE: &str =
    include_str!("../../../../tests/fixtures/seeds/single-customer-metadata.json");

/// Seed 000's item `example`, which seed 003 (`single-convo-metadata`)
/// documents as its body.
const SINGLE_CONVO_EXAMPLE: &str =
    include_str!("../../../../tests/fixtures/seeds/single-convo-metadata.json");

/// The profile the seed's first conversation item produces.
fn seed_conversation_metadata() -> Value {
    json!({
        "lobId": "1038",
        "lobName": "manufacturing",
        "groupId": "group59",
        "groupName": "groupXYZ",
        "agentRoutingCode": "route-13988",
        "campaign": "campaign-A",
        "deviceType": "TABLET",
        "platform": "IOS",
        "companySegment": ["Sales", "Marketing"],
        "companySubdivision": "operating",
        "businessRule": "Apply customer's discount",
        "entryType": "reactive",
        "operatingSystem": "MAC_OS",
        "browserType": "Safari",
        "browserVersion": "14.1.2",
        "attributes": [
            {"name": "attr1_name", "value": "attr1_value"},
            {"name": "attr2_name", "value": "attr2_value"}
        ]
    })
}

#[tokio::test]
async fn many_convo_seed_example_answers_200_with_one_error_for_the_misspelled_id() {
    let app = spawn_app().await;
    let (status, body) = json(app.many("convo", MANY_CONVO_EXAMPLE).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errorCount"], 1);
    assert_eq!(
        body["results"][0],
        json!({"eventId": "eventId-1388", "error": ""})
    );
    assert_eq!(body["results"][1]["eventId"], "eventId-1268");
    assert_eq!(
        body["results"][1]["error"],
        "FAIL_BAD_PARAMS: ERROR: externalConversationId is required"
    );
    assert_eq!(
        body["results"][1]["warnings"],
        json!(["unknown field externlConversationId"])
    );
    assert_eq!(body["results"].as_array().map(Vec::len), Some(2));

    let conversation = ok_json(app.conversation("id-1389").await).await;
    assert_eq!(conversation["metadata"], seed_conversation_metadata());
    let rejections = ok_json(app.rejections("").await).await;
    assert_eq!(rejections["rejections"][0]["id"], "eventId-1268");
    assert_eq!(
        rejections["rejections"][0]["item"]["externlConversationId"],
        "issue1390"
    );
}

#[tokio::test]
async fn many_customer_seed_example_is_accepted_whole() {
    let app = spawn_app().await;
    let body = ok_json(app.many("customer", MANY_CUSTOMER_EXAMPLE).await).await;
    assert_eq!(body["errorCount"], 0, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 5);
    assert_eq!(results[0], json!({"eventId": "eventId-1938", "error": ""}));
    assert_eq!(results[1], json!({"eventId": "eventId-1331", "error": ""}));
    for result in &results[2..] {
        assert_eq!(result["error"], "");
        let generated = result["eventId"].as_str().expect("eventId");
        let uuid = Uuid::parse_str(generated).expect("generated eventId is a UUID");
        assert_eq!(uuid.get_version_num(), 7);
    }

    let customer = ok_json(app.customer("555.555.0100-jdoe@example.com").await).await;
    assert_eq!(
        customer["metadata"],
        json!({
            "status": "new",
            "phoneNumber": "(555)555-0100",
            "emailAddress": "jdoe@example.com",
            "userId": "user908038",
            "addressCountry": "United-States",
            "addressState": "New-York",
            "addressZipcode": "10001",
            "attributes": [
                {"name": "attr1_name", "value": "attr1_value"},
                {"name": "attr2_name", "value": "attr2_value"}
            ]
        })
    );
    assert_eq!(customer["conversations"], json!(["id-509"]));
    for (customer, conversation) in [
        ("555.555.0191", "id-69221"),
        ("555.555.0193", "id-69223"),
        ("zdoe@example.com", "id-69229"),
    ] {
        let read = ok_json(app.customer(customer).await).await;
        assert_eq!(read["metadata"], json!({}), "{customer}");
        assert_eq!(read["conversations"], json!([conversation]));
        let conversation = ok_json(app.conversation(conversation).await).await;
        assert_eq!(conversation["customers"], json!([customer]));
    }
}

#[tokio::test]
async fn single_customer_seed_example_is_accepted() {
    let app = spawn_app().await;
    let body = ok_json(app.single("customer", SINGLE_CUSTOMER_EXAMPLE).await).await;
    assert_eq!(
        body,
        json!({"result": {"eventId": "eventId-1938", "error": ""}})
    );
    let event = ok_json(app.event("eventId-1938").await).await;
    assert_eq!(event["kind"], "customer");
    assert_eq!(event["entityId"], "555.555.0100-jdoe@example.com");
    let sent: Value = serde_json::from_str(SINGLE_CUSTOMER_EXAMPLE).expect("seed is JSON");
    assert_eq!(event["item"], sent);
    let conversation = ok_json(app.conversation("id-509").await).await;
    assert_eq!(
        conversation["customers"],
        json!(["555.555.0100-jdoe@example.com"])
    );
}

#[tokio::test]
async fn single_convo_with_the_seed_item_is_accepted() {
    let app = spawn_app().await;
    let body = ok_json(app.single("convo", SINGLE_CONVO_EXAMPLE).await).await;
    assert_eq!(
        body,
        json!({"result": {"eventId": "eventId-1388", "error": ""}})
    );
    let conversation = ok_json(app.conversation("id-1389").await).await;
    assert_eq!(conversation["metadata"], seed_conversation_metadata());
    assert_eq!(conversation["customers"], json!([]));
}

#[tokio::test]
async fn seed_examples_sent_twice_are_duplicates_not_new_events() {
    let app = spawn_app().await;
    ok_json(app.many("customer", MANY_CUSTOMER_EXAMPLE).await).await;
    // Items with eventIds are recognised; the three without get new ones,
    // so they are new submissions of the same content.
    let again = ok_json(app.many("customer", MANY_CUSTOMER_EXAMPLE).await).await;
    assert_eq!(again["errorCount"], 0);
    let customer = ok_json(app.customer("555.555.0100-jdoe@example.com").await).await;
    assert_eq!(customer["history"].as_array().map(Vec::len), Some(1));
    let customer = ok_json(app.customer("555.555.0193").await).await;
    assert_eq!(customer["history"].as_array().map(Vec::len), Some(2));
    let single = batch(&[serde_json::from_str(SINGLE_CUSTOMER_EXAMPLE).expect("JSON")]);
    let body = ok_json(app.many("customer", &single).await).await;
    assert_eq!(
        body["results"][0],
        json!({"eventId": "eventId-1938", "error": "", "duplicate": true})
    );
}
