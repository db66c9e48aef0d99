//! Configuration: the demo accounts and accounts files.

use std::path::PathBuf;

use crate::{Area, Region, SimConfig, Simulator};

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("dd-sim-{}-{}-{name}", std::process::id(), fastrand::u64(..)));
    std::fs::write(&path, text).expect("write temp file");
    path
}

#[test]
fn demo_has_an_r1_and_an_r2_account() {
    let config = SimConfig::demo();
    let ids: Vec<(i64, Region)> = config.accounts.iter().map(|a| (a.id, a.region)).collect();
    assert_eq!(ids, vec![(4711, Region::R1), (4712, Region::R2)]);
    assert!(config.accounts.iter().all(|a| a.campaigns == [9001] && a.lists == [123456]));
    assert!(config.accounts[0].data_fields.contains(&"LOYALTY_TIER".to_string()));
    assert_eq!(config.max_string_length, 256);
    assert_eq!(config.rate_limit.low_limit, 35);
    assert_eq!(config.rate_limit.default_limit, 1000);
}

#[test]
fn accounts_files_fill_in_optional_fields() {
    let path = temp_file(
        "ok.json",
        r#"[{"id": 1, "name": "One", "api_user": "one@apiconnector.com", "api_password": "p"},
            {"id": 2, "name": "Two", "api_user": "two@apiconnector.com", "api_password": "q", "region": "r3",
             "campaigns": [5], "lists": [6], "data_fields": ["CITY"], "denied_areas": ["contacts", "Insight-Data"]}]"#,
    );
    let config = SimConfig::from_accounts_file(&path).expect("parses");
    std::fs::remove_file(&path).ok();
    assert_eq!(config.accounts.len(), 2);
    assert_eq!(config.accounts[0].region, Region::R1);
    assert_eq!(config.accounts[1].region, Region::R3);
    assert!(config.accounts[0].campaigns.is_empty());
    assert_eq!(config.accounts[1].denied_areas, vec![Area::Contacts, Area::InsightData], "parsed in any casing");
    assert_eq!(config.rate_limit.default_limit, 1000, "demo defaults otherwise");
}

#[test]
fn bad_accounts_files_are_refused_with_the_reason() {
    for (name, text, reason) in [
        (
            "region.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "region": "eu"}]"#,
            r#"region must be one of r1, r2, r3, not "eu""#,
        ),
        ("typo.json", r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "regoin": "r1"}]"#, "`regoin`"),
        (
            "dup.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p"}, {"id": 1, "name": "y", "api_user": "v", "api_password": "p"}]"#,
            "account 1 (v): the id 1 is used twice",
        ),
        (
            "field.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "data_fields": ["NO SPACES"]}]"#,
            r#"data field "NO SPACES" must be"#,
        ),
        (
            "area.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "denied_areas": ["sms"]}]"#,
            r#"denied_areas may hold contacts, insight-data, triggered-campaigns, not "sms""#,
        ),
        ("empty.json", "[]", "at least one"),
        ("object.json", "{}", "JSON array"),
    ] {
        let path = temp_file(name, text);
        let error = SimConfig::from_accounts_file(&path).expect_err(name);
        std::fs::remove_file(&path).ok();
        let chain = format!("{error:#}");
        assert!(chain.contains(reason), "{name}: {chain}");
    }
    assert!(SimConfig::from_accounts_file(std::path::Path::new("/nonexistent/accounts.json")).is_err());
}

#[tokio::test]
async fn start_refuses_unusable_accounts() {
    let mut config = SimConfig::demo();
    config.accounts[1].id = 4711;
    assert!(Simulator::start(config, 0).await.is_err());
}
