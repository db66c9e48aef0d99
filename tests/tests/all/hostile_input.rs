//! Hostile input, generated: arbitrary JSON in the places records are read (huge strings,
//! control characters, extreme numbers, deep nesting, wrong types), sent through the real
//! path. Whatever comes in, the answer is a typed line: never a panic, never a trap, and a
//! record refused as invalid never causes a request. The run is bounded (a fixed number of
//! cases) so it can be part of CI.

use std::io::Cursor;

use dotdigital_harness::input::read_records;
use dotdigital_harness::Flow;
use e2e_tests::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use test_support::fixtures::{DEMO_CERTIFICATE as CERTIFICATE, DEMO_ORDER as ORDER};

/// Kinds a hostile record may legitimately end in.
const TYPED: &[&str] = &["input", "invalid-record", "invalid-settings", "rejected"];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just(1e308),
            Just(-1e308),
            Just(5e-324),
            Just(-0.0),
            Just(12.345),
            Just(19.99),
            Just(1e15 + 0.01),
            any::<f64>()
        ]
        .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
        .prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
        "[\\x00-\\x1f\\u{7f}\\u{200b}\\u{202e}]{1,20}".prop_map(Value::String),
        (1usize..300_000).prop_map(|n| Value::String("é".repeat(n / 2))),
        Just(json!("jane.doe@example.com")),
        Just(json!("a@b")),
        Just(json!("http://rewards.example.com/x")),
        Just(json!("2025-02-30T25:61:00+14:00")),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,20}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys the records really have, so mutations hit the parser and the validators.
const KEYS: &[&str] = &[
    "id",
    "email_address",
    "first_name",
    "last_name",
    "addresses",
    "custom_fields",
    "transaction_number",
    "type",
    "status",
    "total",
    "subtotal",
    "discount_amount",
    "tax_amount",
    "shipping_amount",
    "created_datetime",
    "lines",
    "payments",
    "number",
    "balance",
    "original_amount",
    "receiving_customer_email",
    "customer_email",
    "expiration_date",
    "purchase_date",
    "receiving_customer",
];

/// A real record with some fields replaced by arbitrary values.
fn mutated(base: Value) -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS), any_json()), 1..6).prop_map(move |changes| {
        let mut record = base.clone();
        for (key, value) in changes {
            record[key] = value;
        }
        record
    })
}

fn custom_field_soup() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (prop::sample::select(&["Currency", "Mobile Number", "Certificate URL", "TriggeredCampaignId", "Loyalty Tier", "currency"][..]), leaf()),
        0..6,
    )
    .prop_map(|fields| {
        Value::Array(fields.into_iter().enumerate().map(|(i, (name, value))| json!({"id": i.to_string(), "custom_field_name": name, "value": value})).collect())
    })
}

async fn judge(world: &World, flow: Flow, record: &Value) {
    let before = world.sim.requests().len();
    let line = world.sync(flow, record).await;
    match line["ok"].as_bool() {
        Some(true) => {}
        Some(false) => {
            let kind = line["error"]["kind"].as_str().unwrap_or("");
            let shown: String = record.to_string().chars().take(600).collect();
            assert!(TYPED.contains(&kind), "{flow:?}: untyped or faulty answer {line} for {shown}");
            if matches!(kind, "input" | "invalid-record" | "invalid-settings") {
                assert_eq!(world.sim.requests().len(), before, "{flow:?}: a refused record sent a request: {line}");
            }
        }
        None => panic!("not an output line: {line}"),
    }
}

fn cases(flow: Flow, count: u32) -> Vec<Value> {
    let base = match flow {
        Flow::Contact => customer("1", "jane.doe@example.com"),
        Flow::Order => serde_json::from_str(ORDER).unwrap(),
        Flow::Certificate => serde_json::from_str(CERTIFICATE).unwrap(),
    };
    let strategy = prop_oneof![
        3 => mutated(base.clone()),
        1 => any_json(),
        1 => custom_field_soup().prop_map(move |fields| { let mut r = base.clone(); r["custom_fields"] = fields; r }),
    ];
    // A fixed seed: the same cases on every run, so CI is repeatable.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    (0..count).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_records_always_get_a_typed_answer() {
    let world = World::new(demo_settings()).await;
    // Hundreds of syncs in a few seconds: lift the simulator's per-minute limit.
    world.sim.set_rate_limit(dotdigital_sim::RateLimitConfig { default_limit: 1_000_000, ..Default::default() });
    for flow in [Flow::Contact, Flow::Order, Flow::Certificate] {
        for record in cases(flow, 120) {
            judge(&world, flow, &record).await;
        }
    }
}

#[test]
fn hostile_text_never_breaks_the_reader() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let inputs = [
        "{\"id\": \"\\ud800\"}\n".to_string(),
        "{\"id\": \"\\udc00\\ud800x\"}\n".to_string(),
        deep.clone(),
        format!("{{\"id\":1}}\n{deep}\n{{\"id\":3}}\n"),
        "{\"id\": 1e999}\n".to_string(),
        "\u{feff}{\"id\": 1}\n".to_string(),
        "{\"id\": \"unterminated\n".to_string(),
        "\0\0\0\n".to_string(),
    ];
    for input in inputs {
        let mut items = Vec::new();
        let _ = read_records(Box::new(Cursor::new(input.clone())), |item| {
            items.push(item);
            true
        });
        // Whatever parsed must convert or be refused with a message, never panic.
        for value in items.into_iter().filter_map(|item| item.record.ok()) {
            let _ = dotdigital_harness::records::customer(&value, Some(4412));
            let _ = dotdigital_harness::records::transaction(&value);
            let _ = dotdigital_harness::records::gift_card(&value);
        }
    }
}

#[test]
fn arbitrary_json_converts_or_names_the_bad_path() {
    let mut runner = TestRunner::new(Config { cases: 2000, ..Config::default() });
    runner
        .run(&any_json(), |value| {
            for result in [
                dotdigital_harness::records::customer(&value, Some(4412)).map(|_| ()),
                dotdigital_harness::records::transaction(&value).map(|_| ()),
                dotdigital_harness::records::gift_card(&value).map(|_| ()),
            ] {
                if let Err(message) = result {
                    prop_assert!(!message.problem.is_empty(), "{message}");
                }
            }
            Ok(())
        })
        .unwrap();
}
