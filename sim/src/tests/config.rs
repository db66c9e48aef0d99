//! Configuration: the demo accounts and accounts files.

use std::path::PathBuf;

use serde_json::json;

use crate::{
    AddressBook, Area, Campaign, CampaignStatus, DataField, DataFieldType, Region, SimConfig, Simulator, Visibility,
};

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
    for account in &config.accounts {
        let campaigns: Vec<(u32, CampaignStatus)> = account.campaigns.iter().map(|c| (c.id, c.status)).collect();
        assert_eq!(
            campaigns,
            [(9001, CampaignStatus::Triggered), (9002, CampaignStatus::Sent), (9003, CampaignStatus::Unsent)]
        );
        assert_eq!(account.lists, [AddressBook::new(123456, "Web shop"), AddressBook::new(123457, "Newsletter")]);
        let typed = |name: &str| account.data_fields.iter().find(|f| f.name == name).map(|f| f.kind);
        assert_eq!(typed("LOYALTY_TIER"), Some(DataFieldType::String));
        assert_eq!(typed("FIRSTNAME"), Some(DataFieldType::String));
        assert_eq!(typed("POINTS"), Some(DataFieldType::Numeric));
        assert_eq!(typed("BIRTHDAY"), Some(DataFieldType::Date));
        assert_eq!(typed("VIP"), Some(DataFieldType::Boolean));
        assert!(!account.legacy_endpoint);
    }
    assert_eq!(config.max_string_length, 255);
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
    // Plain ids and names still load: a triggered campaign, a list named after its id, a String field.
    assert_eq!(config.accounts[1].campaigns, vec![Campaign::triggered(5)]);
    assert_eq!(config.accounts[1].lists, vec![AddressBook::new(6, "List 6")]);
    assert_eq!(config.accounts[1].data_fields, vec![DataField::new("CITY", DataFieldType::String)]);
}

#[test]
fn accounts_files_may_type_data_fields_and_give_campaign_statuses_and_list_names() {
    let path = temp_file(
        "typed.json",
        r#"[{"id": 1, "name": "One", "api_user": "one@apiconnector.com", "api_password": "p", "legacy_endpoint": true,
             "campaigns": [7, {"id": 8, "status": "unsent"}, {"id": 9, "name": "Paused one", "status": "Paused"}],
             "lists": [{"id": 10, "name": "VIPs", "visibility": "public"}],
             "data_fields": ["CITY", {"name": "POINTS", "type": "numeric", "default_value": 0},
                             {"name": "JOINED", "type": "Date", "visibility": "Public"}]}]"#,
    );
    let config = SimConfig::from_accounts_file(&path).expect("parses");
    std::fs::remove_file(&path).ok();
    let account = &config.accounts[0];
    assert!(account.legacy_endpoint);
    let statuses: Vec<CampaignStatus> = account.campaigns.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [CampaignStatus::Triggered, CampaignStatus::Unsent, CampaignStatus::Paused]);
    assert_eq!(account.campaigns[2].name, "Paused one");
    assert_eq!(account.lists[0].name, "VIPs");
    assert_eq!(account.lists[0].visibility, Visibility::Public);
    assert_eq!(account.data_fields[1].kind, DataFieldType::Numeric);
    assert_eq!(account.data_fields[1].default_value, json!(0));
    assert_eq!(account.data_fields[2].visibility, Visibility::Public);
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
        (
            "type.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "data_fields": [{"name": "A", "type": "Text"}]}]"#,
            "type must be String, Numeric, Date or Boolean",
        ),
        (
            "untyped.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "data_fields": [{"name": "A"}]}]"#,
            "needs a type",
        ),
        (
            "default.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "data_fields": [{"name": "A", "type": "Numeric", "default_value": "1"}]}]"#,
            "default_value must be a JSON number",
        ),
        (
            "twice.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "data_fields": ["City", "CITY"]}]"#,
            "listed twice",
        ),
        (
            "status.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "campaigns": [{"id": 2, "status": "Live"}]}]"#,
            "status must be one of Unsent, Sending, Sent",
        ),
        (
            "list.json",
            r#"[{"id": 1, "name": "x", "api_user": "u", "api_password": "p", "lists": [0]}]"#,
            "positive int32",
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
