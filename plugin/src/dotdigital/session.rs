//! A connection to one account for the length of one sync: it resolves the region once,
//! sets the headers Dotdigital expects on every call, counts calls, and rediscovers the
//! region once when a discovered endpoint answers 403.

use base64::Engine as _;

use super::errors::{classify, is_blocking, unreadable};
use super::region::{self, Endpoint, EndpointSource, DISCOVERY_BASE};
use crate::platform::{HttpRequest, HttpResponse, LogLevel, Method, Platform};
use crate::settings::{normalise_api_endpoint, Settings};
use crate::wit::{RemoteError, SyncError};

const USER_AGENT: &str = concat!("ipaas-dotdigital-connector/", env!("CARGO_PKG_VERSION"));

/// The account behind the credentials, from `GET /v2/account-info`.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountInfo {
    pub id: i64,
    pub name: String,
    /// The account's regional base URL, normalised.
    pub base: String,
}

/// An answer a flow may read: a success, or a 4xx it might know how to recover from.
#[derive(Debug)]
pub struct Reply {
    pub response: HttpResponse,
    /// `METHOD /path`, for error reports.
    pub endpoint: String,
    now_unix: i64,
}

impl Reply {
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// The v3 `errorCode` / v2 code of an error answer.
    pub fn error_code(&self) -> Option<String> {
        super::errors::parse_error_body(&self.response.body).code
    }

    /// This answer as the typed error the platform acts on.
    pub fn into_error(self) -> SyncError {
        classify(&self.response, &self.endpoint, self.now_unix)
    }

    /// This answer as a `rejected` error, explained in the connector's own words.
    pub fn rejected(self, message: String) -> SyncError {
        let code = self.error_code();
        SyncError::Rejected(RemoteError { status: self.status(), code, message, endpoint: self.endpoint })
    }

    /// The JSON body of a success; a body that does not parse is an outage, not a success.
    pub fn json(&self) -> Result<serde_json::Value, SyncError> {
        serde_json::from_slice(&self.response.body)
            .map_err(|e| unreadable(self.response.status, &self.endpoint, &e.to_string()))
    }

    /// A success's body read by `read`; what it cannot read is an outage, as [`Reply::json`].
    pub fn read<T>(&self, read: impl FnOnce(&serde_json::Value) -> Result<T, String>) -> Result<T, SyncError> {
        read(&self.json()?).map_err(|what| unreadable(self.response.status, &self.endpoint, &what))
    }
}

/// The transport: only `dotdigital`'s area files make calls through it.
pub struct Session<'a> {
    platform: &'a dyn Platform,
    settings: &'a Settings,
    endpoint: Endpoint,
    authorization: String,
    calls: u32,
    rediscovered: bool,
    account: Option<AccountInfo>,
}

impl<'a> Session<'a> {
    /// Resolves the endpoint: the setting, else host data, else discovery on r1.
    pub fn open(platform: &'a dyn Platform, settings: &'a Settings) -> Result<Self, SyncError> {
        let credentials = format!("{}:{}", settings.api_user, settings.api_password);
        let authorization = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials));
        let (base, source) = match (&settings.api_endpoint, region::cached(platform, &settings.api_user)) {
            (Some(configured), _) => (configured.clone(), EndpointSource::Configured),
            (None, Some(cached)) => (cached, EndpointSource::Cached),
            (None, None) => (String::new(), EndpointSource::Discovered),
        };
        let mut session = Session {
            platform,
            settings,
            endpoint: Endpoint { base, source },
            authorization,
            calls: 0,
            rediscovered: false,
            account: None,
        };
        if session.endpoint.base.is_empty() {
            session.discover()?;
        }
        Ok(session)
    }

    /// Every HTTP call made so far, discovery included.
    pub fn calls(&self) -> u32 {
        self.calls
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The API user the session speaks for: host-data keys are scoped by it.
    pub fn api_user(&self) -> &'a str {
        &self.settings.api_user
    }

    pub fn platform(&self) -> &'a dyn Platform {
        self.platform
    }

    pub fn now_unix(&self) -> i64 {
        self.platform.now_unix()
    }

    /// The account found by discovery in this session, if one ran.
    pub fn account(&self) -> Option<&AccountInfo> {
        self.account.as_ref()
    }

    /// `GET /v2/account-info` on r1: the account's id, name and regional endpoint, cached.
    pub fn discover(&mut self) -> Result<AccountInfo, SyncError> {
        let path = "/v2/account-info";
        let response = self.raw(Method::Get, DISCOVERY_BASE, path, None)?;
        let endpoint = format!("GET {path}");
        if !(200..300).contains(&response.status) {
            return Err(classify(&response, &endpoint, self.now_unix()));
        }
        let info = parse_account_info(&response.body).map_err(|problem| match problem {
            AccountInfoProblem::Unreadable(what) => unreadable(response.status, &endpoint, &what),
            // Dotdigital answered, and what it named is not a host the connector may call:
            // asking again gives the same answer, so this is final, not an outage.
            AccountInfoProblem::ForeignEndpoint(why) => SyncError::Rejected(RemoteError {
                status: response.status,
                code: None,
                message: format!("{why}; set api_endpoint to the account's region"),
                endpoint: endpoint.clone(),
            }),
        })?;
        if self.endpoint.source != EndpointSource::Configured {
            region::remember(self.platform, &self.settings.api_user, &info.base);
            self.endpoint = Endpoint { base: info.base.clone(), source: EndpointSource::Discovered };
        }
        self.account = Some(info.clone());
        Ok(info)
    }

    pub(super) fn get(&mut self, path: &str) -> Result<Reply, SyncError> {
        self.call(Method::Get, path, None)
    }

    pub(super) fn send_json(
        &mut self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Reply, SyncError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| SyncError::Transport(format!("could not encode the request body: {e}")))?;
        self.call(method, path, Some(bytes))
    }

    /// A call with a body already encoded as JSON (an import of many records).
    pub(super) fn send_encoded(&mut self, method: Method, path: &str, body: Vec<u8>) -> Result<Reply, SyncError> {
        self.call(method, path, Some(body))
    }

    /// A call without a body, e.g. taking a contact out of a list.
    pub(super) fn delete(&mut self, path: &str) -> Result<Reply, SyncError> {
        self.call(Method::Delete, path, None)
    }

    /// A call with an empty body (`Content-Length: 0`), e.g. creating a collection.
    pub(super) fn send_empty(&mut self, method: Method, path: &str) -> Result<Reply, SyncError> {
        self.call(method, path, Some(Vec::new()))
    }

    /// One logical call. A 403 from an endpoint the connector chose (not configured) may mean
    /// the account moved region: forget it, rediscover once, and repeat the call there.
    fn call(&mut self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Reply, SyncError> {
        let endpoint = format!("{} {}", method.as_str(), path.split('?').next().unwrap_or(path));
        loop {
            let base = self.endpoint.base.clone();
            let response = self.raw(method, &base, path, body.clone())?;
            if response.status == 403 && self.endpoint.source != EndpointSource::Configured && !self.rediscovered {
                self.rediscovered = true;
                self.platform
                    .log(LogLevel::Warn, &format!("{endpoint} answered 403 on {base}: rediscovering the region"));
                region::forget(self.platform, &self.settings.api_user);
                let info = self.discover()?;
                if info.base != base {
                    continue;
                }
            }
            if is_blocking(&response) {
                return Err(classify(&response, &endpoint, self.now_unix()));
            }
            return Ok(Reply { response, endpoint, now_unix: self.now_unix() });
        }
    }

    /// Sends exactly one request; a failure without an HTTP answer is `transport`.
    fn raw(
        &mut self,
        method: Method,
        base: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<HttpResponse, SyncError> {
        let mut headers = vec![
            ("Authorization", self.authorization.clone()),
            ("Accept", "application/json".to_string()),
            ("User-Agent", USER_AGENT.to_string()),
        ];
        if let Some(body) = &body {
            // A plain length-delimited body, never chunked: what Dotdigital's examples send.
            headers.push(("Content-Type", "application/json".to_string()));
            headers.push(("Content-Length", body.len().to_string()));
        }
        if let Some(token) = &self.settings.integration_token {
            headers.push(("x-ddg-integration-token", token.clone()));
        }
        let request = HttpRequest { method, url: format!("{base}{path}"), headers, body };
        self.calls += 1;
        let label = format!("{} {}", method.as_str(), path.split('?').next().unwrap_or(path));
        match self.platform.send(&request) {
            Ok(response) => {
                self.platform.log(LogLevel::Debug, &format!("{label} on {base} → {}", response.status));
                Ok(response)
            }
            Err(problem) => {
                self.platform.log(LogLevel::Warn, &format!("{label} on {base} failed: {problem}"));
                Err(SyncError::Transport(format!("{label}: {problem}")))
            }
        }
    }
}

/// Why account-info could not give an endpoint.
#[derive(Debug, PartialEq)]
enum AccountInfoProblem {
    /// Not the documented shape: an outage or something in between.
    Unreadable(String),
    /// Well formed, but `ApiEndpoint` is not a Dotdigital API host.
    ForeignEndpoint(String),
}

/// Reads `{"id", "properties":[{"name","value"}]}`; values are always strings.
fn parse_account_info(body: &[u8]) -> Result<AccountInfo, AccountInfoProblem> {
    use AccountInfoProblem::Unreadable;
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| Unreadable(e.to_string()))?;
    let id = value.get("id").and_then(|i| i.as_i64()).ok_or_else(|| Unreadable("no account id".into()))?;
    let property = |name: &str| {
        value
            .get("properties")
            .and_then(|p| p.as_array())
            .and_then(|props| props.iter().find(|p| p.get("name").and_then(|n| n.as_str()) == Some(name)))
            .and_then(|p| p.get("value"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let raw_endpoint = property("ApiEndpoint").ok_or_else(|| Unreadable("no ApiEndpoint property".into()))?;
    let base = normalise_api_endpoint(&raw_endpoint)
        .map_err(|why| AccountInfoProblem::ForeignEndpoint(format!("account-info's ApiEndpoint: {why}")))?;
    Ok(AccountInfo { id, name: property("Name").unwrap_or_default(), base })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_info_is_read_from_properties() {
        let body = br#"{"id":4711,"properties":[{"name":"Name","type":"String","value":"Acme"},{"name":"ApiEndpoint","type":"String","value":"https://r2-api.dotdigital.com/"}]}"#;
        let info = parse_account_info(body).unwrap();
        assert_eq!(info, AccountInfo { id: 4711, name: "Acme".into(), base: "https://r2-api.dotdigital.com".into() });
        // The legacy host is the same region, rewritten as the setting is.
        let legacy = br#"{"id":1,"properties":[{"name":"ApiEndpoint","value":"https://r3-api.dotmailer.com/"}]}"#;
        assert_eq!(parse_account_info(legacy).unwrap().base, "https://r3-api.dotdigital.com");
        assert!(matches!(
            parse_account_info(br#"{"id":1,"properties":[{"name":"ApiEndpoint","value":"https://evil.example/"}]}"#),
            Err(AccountInfoProblem::ForeignEndpoint(_))
        ));
        assert!(matches!(parse_account_info(b"{"), Err(AccountInfoProblem::Unreadable(_))));
        assert!(matches!(parse_account_info(br#"{"id":1,"properties":[]}"#), Err(AccountInfoProblem::Unreadable(_))));
    }
}
