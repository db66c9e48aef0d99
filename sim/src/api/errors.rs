//! Dotdigital's two error formats (developer.dotdigital.com/docs/error-handling): v2 paths
//! answer `{"message": "… ERROR_CODE"}`, v3 paths `{"errorCode": "<service>:<code>",
//! "description", "details"?}` (contacts-v3.json / insight-data-v3.json `errorResponse`), and
//! the answers every family shares.

use serde_json::{json, Value};

use super::message::SimResponse;
use crate::model::ContactKey;

/// The description of a `…:badJson` for a body that cannot be read (contacts-v3.json
/// `importContacts` and insight-data-v3.json `importInsightData` 400 examples).
pub(crate) const BADLY_FORMED: &str = "The request JSON is badly formed";

/// Which error format a path gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ApiFamily {
    /// `/contacts/v3/…`: service prefix `contacts`.
    ContactsV3,
    /// `/insightData/v3/…`: service prefix `insightData`.
    InsightV3,
    /// Everything else, including unknown paths.
    V2,
}

impl ApiFamily {
    pub(crate) fn of_path(path: &str) -> ApiFamily {
        let lower = path.to_ascii_lowercase();
        if lower.starts_with("/contacts/v3") {
            ApiFamily::ContactsV3
        } else if lower.starts_with("/insightdata/v3") {
            ApiFamily::InsightV3
        } else {
            ApiFamily::V2
        }
    }

    /// The `errorCode` prefix of a v3 family; `None` for v2.
    pub(crate) fn service(self) -> Option<&'static str> {
        match self {
            ApiFamily::ContactsV3 => Some("contacts"),
            ApiFamily::InsightV3 => Some("insightData"),
            ApiFamily::V2 => None,
        }
    }

    /// An error in this family's format; v2 gets `"<description>. <v2_code>"`.
    pub(crate) fn error(self, status: u16, v3_code: &str, description: &str, v2_code: &str) -> SimResponse {
        match self.service() {
            Some(service) => V3Error::new(status, &format!("{service}:{v3_code}"), description).into(),
            None => V2Error::new(status, &format!("{}. {v2_code}", description.trim_end_matches('.'))).into(),
        }
    }
}

/// A v2 error: a message that ends in an `ERROR_*` code (or is the bare 401 text).
#[derive(Clone, Debug)]
pub(crate) struct V2Error {
    pub status: u16,
    pub message: String,
}

impl V2Error {
    pub(crate) fn new(status: u16, message: &str) -> V2Error {
        V2Error { status, message: message.to_string() }
    }

    /// `400 "<what is wrong>. ERROR_PARAMETER_INVALID"`.
    pub(crate) fn parameter_invalid(what: &str) -> V2Error {
        V2Error::new(400, &format!("{}. ERROR_PARAMETER_INVALID", what.trim_end_matches('.')))
    }
}

impl From<V2Error> for SimResponse {
    fn from(error: V2Error) -> SimResponse {
        SimResponse::json(error.status, &json!({ "message": error.message }))
    }
}

/// A v3 error; `details` name the items (field, identifier, key) the error is about.
#[derive(Clone, Debug)]
pub(crate) struct V3Error {
    pub status: u16,
    pub code: String,
    pub description: String,
    pub details: Vec<(String, String)>,
}

impl V3Error {
    pub(crate) fn new(status: u16, code: &str, description: &str) -> V3Error {
        V3Error { status, code: code.to_string(), description: description.to_string(), details: Vec::new() }
    }

    pub(crate) fn detail(mut self, item: &str, description: &str) -> V3Error {
        self.details.push((item.to_string(), description.to_string()));
        self
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut body = json!({ "errorCode": self.code, "description": self.description });
        if !self.details.is_empty() {
            body["details"] = self
                .details
                .iter()
                .map(|(item, description)| json!({ "item": item, "description": description }))
                .collect();
        }
        body
    }
}

impl From<V3Error> for SimResponse {
    fn from(error: V3Error) -> SimResponse {
        SimResponse::json(error.status, &error.to_json())
    }
}

/// No contact matches the identifier; `service` is `contacts` or `insightData`.
pub(crate) fn contact_not_found(service: &str, key: &ContactKey) -> V3Error {
    V3Error::new(404, &format!("{service}:contactNotFound"), "The following contacts could not be found")
        .detail(&key.value(), &format!("Not found using the identifier '{}'", key.identifier()))
}

/// Bad or missing credentials: v2 carries Dotdigital's text, v3 has no body.
pub(crate) fn unauthorized(family: ApiFamily) -> SimResponse {
    let response = match family {
        ApiFamily::V2 => V2Error::new(401, "Authorization has been denied for this request.").into(),
        _ => SimResponse::empty(401),
    };
    response.with_headers(vec![("WWW-Authenticate".into(), "Basic realm=\"dotdigital\"".into())])
}

/// Wrong region or a denied area; the same body on every path. assumed: the docs give the
/// status and the text "Forbidden: Access is denied" (developer.dotdigital.com/docs/api-end-points),
/// not the body.
pub(crate) fn forbidden() -> SimResponse {
    V2Error::new(403, "Forbidden: Access is denied").into()
}

/// The flat hourly cap (developer.dotdigital.com/docs/call-rate-limits), on every path.
pub(crate) fn api_usage_exceeded() -> SimResponse {
    V2Error::new(
        400,
        "Your account has generated excess API activity and is being temporarily capped. Please contact support. ERROR_APIUSAGE_EXCEEDED",
    )
    .into()
}

/// The transient v2 outage code (Dotdigital's v2 error list,
/// developer.dotdigital.com/docs/error-handling), on every path.
pub(crate) fn temporarily_unavailable() -> SimResponse {
    V2Error::new(
        400,
        "The service is temporarily unavailable, please try again later. ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE",
    )
    .into()
}

/// No route matches the path. assumed: `<service>:resourceNotFound` is invented (no v3 code is
/// declared for an unknown path); the v2 text is ASP.NET's.
pub(crate) fn not_found(family: ApiFamily, path: &str) -> SimResponse {
    match family.service() {
        Some(service) => {
            V3Error::new(404, &format!("{service}:resourceNotFound"), &format!("No resource matches the path '{path}'"))
                .into()
        }
        None => V2Error::new(404, &format!("No HTTP resource was found that matches the request URI '{path}'.")).into(),
    }
}

/// A path segment holds an encoded `/` (`%2F`, any case). assumed: the documents are silent;
/// the stricter reading refuses the request with `400`, `<service>:invalidId` on v3 paths (the
/// code contacts-v3.json and insight-data-v3.json declare for a path value that does not fit)
/// and `ERROR_PARAMETER_INVALID` on v2 paths.
pub(crate) fn encoded_slash(family: ApiFamily, path: &str) -> SimResponse {
    family.error(
        400,
        "invalidId",
        &format!("The path '{path}' holds an encoded '/' (%2F) in a segment, which is not accepted"),
        "ERROR_PARAMETER_INVALID",
    )
}

/// The path exists but not with this method. assumed: `<service>:methodNotAllowed` is invented.
pub(crate) fn method_not_allowed(family: ApiFamily, method: &str) -> SimResponse {
    match family.service() {
        Some(service) => V3Error::new(
            405,
            &format!("{service}:methodNotAllowed"),
            &format!("The requested resource does not support http method '{method}'"),
        )
        .into(),
        None => V2Error::new(405, &format!("The requested resource does not support http method '{method}'.")).into(),
    }
}

/// A request body over the 50 MB limit. assumed: the docs give the limit, not the answer
/// ([`crate::ImportConfig::oversize_body_status`], default `400`).
pub(crate) fn body_too_large(family: ApiFamily, status: u16) -> SimResponse {
    family
        .error(status, "badJson", "The request body exceeds the 50 MB limit", "ERROR_MALFORMED_REQUEST")
        .with_headers(vec![("Connection".into(), "close".into())])
}
