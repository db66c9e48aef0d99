//! Fixtures the plugin's unit tests share: settings as the platform sends them, and the
//! example customer in iPaaS.com's Customer shape.

use crate::wit;

/// Valid platform settings with every optional value left out.
pub fn raw_settings() -> wit::Settings {
    wit::Settings {
        api_user: "apiuser-abc123@apiconnector.com".into(),
        api_password: "s3cr3t-Pa55".into(),
        api_endpoint: None,
        integration_token: None,
        email_type: None,
        opt_in_type: None,
        list_ids: vec![],
        marketing_list_ids: vec![],
        consent_field: None,
        data_field_map: vec![],
        collection_name: None,
        default_currency: None,
        order_types: None,
        certificate_campaign_id: None,
        certificate_collection: None,
    }
}

pub fn address() -> wit::Address {
    wit::Address {
        address_type: None,
        first_name: None,
        last_name: None,
        company: None,
        phone_number: None,
        address1: None,
        address2: None,
        address3: None,
        city: None,
        region: None,
        country: None,
        postal_code: None,
        is_primary_billing: false,
        is_primary_shipping: false,
        shipping_method: None,
        shipping_method_description: None,
    }
}

pub fn field(name: &str, value: Option<&str>) -> wit::CustomField {
    wit::CustomField { name: name.into(), value: value.map(Into::into) }
}

pub fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

/// A customer in iPaaS.com's Customer shape (support.ipaas.com/en/articles/9052184-customers).
pub fn jane() -> wit::Customer {
    wit::Customer {
        id: "150437".into(),
        tracking_guid: s("3f2b9c1e-7a41-4d0e-9b6a-2c8e5d1f0a77"),
        customer_number: s("C-004821"),
        first_name: s("Jane"),
        last_name: s("Doe"),
        email_address: s("jane.doe@example.com"),
        company: s("Doe Outdoor Ltd"),
        addresses: vec![wit::Address {
            first_name: s("Jane"),
            last_name: s("Doe"),
            company: s("Doe Outdoor Ltd"),
            phone_number: s("+44 7700 900123"),
            address1: s("12 Harbour Row"),
            address2: s("Flat 3"),
            city: s("Bristol"),
            region: s("Bristol"),
            country: s("GB"),
            postal_code: s("BS1 5TY"),
            is_primary_billing: true,
            is_primary_shipping: true,
            ..address()
        }],
        custom_fields: vec![
            field("Mobile Number", Some("+447700900123")),
            field("Email Opt In Type", Some("Double")),
            field("Loyalty Tier", Some("Gold")),
        ],
        contact_id: None,
    }
}

/// A customer's contact upsert in an account that has every name field and holds every mapped
/// data field as String: the mapping without the account's types in play.
pub fn string_upsert(
    settings: &crate::settings::Settings,
    customer: &wit::Customer,
) -> Result<crate::mapping::ContactUpsert, Vec<wit::FieldIssue>> {
    use crate::mapping::data_fields::{DataFieldType, NameFields, TypedMapping};
    let typed: Vec<TypedMapping> = settings
        .data_field_map
        .iter()
        .map(|mapping| TypedMapping { mapping: mapping.clone(), kind: DataFieldType::String })
        .collect();
    crate::mapping::contact::customer_contact(settings, customer)?.upsert(settings, NameFields::ALL, &typed)
}

/// A scripted platform for flow tests: each request must match the next expected method and
/// path (query included) and gets its canned answer; host data is a map that keeps TTLs.
pub struct FakePlatform {
    script: std::cell::RefCell<std::collections::VecDeque<(crate::platform::Method, String, u16, String)>>,
    pub sent: std::cell::RefCell<Vec<crate::platform::HttpRequest>>,
    pub data: std::cell::RefCell<std::collections::BTreeMap<String, (String, Option<u32>)>>,
    /// What another run stores under a key between this run's read and its claim.
    rival: std::cell::RefCell<Option<String>>,
    /// Every write and claim fails (the platform cannot store anything).
    writes_fail: std::cell::Cell<bool>,
}

impl FakePlatform {
    pub fn new() -> Self {
        FakePlatform {
            script: Default::default(),
            sent: Default::default(),
            data: Default::default(),
            rival: Default::default(),
            writes_fail: Default::default(),
        }
    }

    /// Another run claims the next claimed key with `value` just before this run's claim.
    pub fn with_rival_claim(self, value: &str) -> Self {
        *self.rival.borrow_mut() = Some(value.to_string());
        self
    }

    /// Host data refuses every write (`set-data` and `claim-data` answer an error).
    pub fn with_failing_writes(self) -> Self {
        self.writes_fail.set(true);
        self
    }

    /// Expects `method url` next (the full URL, base included) and answers `status` with `body`.
    pub fn expect(self, method: crate::platform::Method, url: &str, status: u16, body: &str) -> Self {
        self.script.borrow_mut().push_back((method, url.to_string(), status, body.to_string()));
        self
    }

    pub fn with_data(self, key: &str, value: &str) -> Self {
        self.data.borrow_mut().insert(key.to_string(), (value.to_string(), None));
        self
    }

    /// The JSON body of the `n`th request sent.
    pub fn body(&self, n: usize) -> serde_json::Value {
        serde_json::from_slice(self.sent.borrow()[n].body.as_deref().expect("a body")).expect("JSON")
    }

    /// Every scripted answer was asked for.
    pub fn assert_done(&self) {
        let left = self.script.borrow();
        assert!(left.is_empty(), "requests never made: {:?}", left.iter().map(|(m, u, ..)| (m, u)).collect::<Vec<_>>());
    }
}

impl crate::platform::Platform for FakePlatform {
    fn send(&self, request: &crate::platform::HttpRequest) -> Result<crate::platform::HttpResponse, String> {
        self.sent.borrow_mut().push(request.clone());
        let (method, url, status, body) = self
            .script
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected request {:?} {}", request.method, request.url));
        assert_eq!((request.method, request.url.as_str()), (method, url.as_str()), "request out of script");
        Ok(crate::platform::HttpResponse { status, headers: vec![], body: body.into_bytes() })
    }

    fn log(&self, _level: crate::platform::LogLevel, message: &str) {
        assert!(!message.contains("s3cr3t-Pa55"), "a log line carries the password: {message}");
    }

    fn get_data(&self, key: &str) -> Option<String> {
        self.data.borrow().get(key).map(|(value, _)| value.clone()).filter(|v| !v.is_empty())
    }

    fn set_data(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), String> {
        if self.writes_fail.get() {
            return Err("the state database is locked".into());
        }
        self.data.borrow_mut().insert(key.to_string(), (value.to_string(), ttl_seconds));
        Ok(())
    }

    fn claim_data(&self, key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<bool, String> {
        if self.writes_fail.get() {
            return Err("the state database is locked".into());
        }
        if let Some(rival) = self.rival.borrow_mut().take() {
            self.data.borrow_mut().insert(key.to_string(), (rival, None));
        }
        if self.get_data(key).is_some() {
            return Ok(false);
        }
        self.set_data(key, value, ttl_seconds).map(|()| true)
    }

    fn now_unix(&self) -> i64 {
        1_750_000_000
    }
}
