//! Dotdigital's answers, canned: what the in-process upstream and the native run answer, so
//! both measure the connector and the host, not a server. Shapes as the simulator (and
//! Dotdigital's documents) give them; every record is new, every email is sent.

use std::sync::Arc;

use bytes::Bytes;

use dotdigital_harness::runtime::InProcessHandler;

const ACCOUNT_INFO: &str = r#"{"id":1,"properties":[{"name":"Name","type":"String","value":"Bench"},{"name":"ApiEndpoint","type":"String","value":"https://r1-api.dotdigital.com/"}]}"#;
const DATA_FIELDS: &str = r#"[{"name":"FIRSTNAME","type":"String","visibility":"Private","defaultValue":null},{"name":"LASTNAME","type":"String","visibility":"Private","defaultValue":null},{"name":"FULLNAME","type":"String","visibility":"Private","defaultValue":null},{"name":"LOYALTY_TIER","type":"String","visibility":"Private","defaultValue":null}]"#;
const CONTACT: &str = r#"{"contactId":1001,"status":"subscribed","created":"2025-03-14T10:30:00Z","updated":"2025-03-14T10:30:00Z","identifiers":{"email":"bench@example.com"},"dataFields":{"FIRSTNAME":"Bench","LASTNAME":"Mark","FULLNAME":"Bench Mark"},"channelProperties":{"email":{"status":"subscribed","emailType":"html","optInType":"single"}},"lists":[{"id":123456,"name":"List 123456","status":"subscribed"}]}"#;
const RECORD_NOT_FOUND: &str = r#"{"errorCode":"insightData:recordNotFound","description":"The record was not found"}"#;
const NOT_CANNED: &str = r#"{"message":"not canned"}"#;

/// Status and body for a request, by method and path.
pub fn answer(method: &str, path: &str) -> (u16, &'static str) {
    match method {
        "GET" if path.starts_with("/v2/account-info") => (200, ACCOUNT_INFO),
        "GET" if path.starts_with("/v2/data-fields") => (200, DATA_FIELDS),
        "PATCH" if path.starts_with("/contacts/v3/") => (201, CONTACT),
        "GET" if path.starts_with("/insightData/v3/contacts/") => (404, RECORD_NOT_FOUND),
        "PUT" if path.starts_with("/insightData/v3/contacts/") => (201, ""),
        "POST" if path.starts_with("/v2/email/triggered-campaign") => (200, ""),
        "DELETE" if path.starts_with("/v2/address-books/") => (204, ""),
        _ => (404, NOT_CANNED),
    }
}

/// The in-process upstream: `answer`, as HTTP.
pub fn handler() -> InProcessHandler {
    InProcessHandler(Arc::new(|request: http::Request<Bytes>| {
        let path = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let (status, body) = answer(request.method().as_str(), path);
        http::Response::builder()
            .status(status)
            .header("content-type", "application/json; charset=utf-8")
            .body(Bytes::from_static(body.as_bytes()))
            .expect("a canned answer is a valid response")
    }))
}
