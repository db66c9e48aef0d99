//! One HTTP exchange as the handlers see it: a request already read into memory, and the
//! response they want written. Keeps hyper out of the handlers: only the listeners
//! (`server/transport.rs`, `server/listener.rs`, `server/control.rs`) speak it.

use percent_encoding::percent_decode_str;
use serde_json::Value;

pub(crate) struct SimRequest {
    pub method: String,
    /// The raw (still percent-encoded) path, without the query.
    pub path: String,
    /// Query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    pub host: String,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl SimRequest {
    /// Splits `path_and_query` and decodes the query.
    pub(crate) fn new(
        method: &str,
        path_and_query: &str,
        host: &str,
        authorization: Option<String>,
        body: Vec<u8>,
    ) -> SimRequest {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        SimRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: parse_query(query),
            host: host.to_string(),
            authorization,
            body,
        }
    }

    /// The first value of a query parameter; names compare case-insensitively as ASP.NET does.
    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_query_part(k), decode_query_part(v))
        })
        .collect()
}

fn decode_query_part(part: &str) -> String {
    percent_decode_str(&part.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// Path segments are decoded by the model's rule (identifiers and keys are written there).
pub(crate) use crate::model::decode_segment;

#[derive(Clone, Debug)]
pub(crate) struct SimResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl SimResponse {
    pub(crate) fn empty(status: u16) -> SimResponse {
        SimResponse { status, headers: Vec::new(), body: Vec::new() }
    }

    pub(crate) fn json(status: u16, value: &Value) -> SimResponse {
        SimResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// A body given verbatim (fault injection); typed as JSON when it is not empty.
    pub(crate) fn raw(status: u16, body: &str) -> SimResponse {
        let mut response = SimResponse::empty(status);
        if !body.is_empty() {
            response.headers.push(("Content-Type".into(), "application/json; charset=utf-8".into()));
            response.body = body.as_bytes().to_vec();
        }
        response
    }

    pub(crate) fn with_headers(mut self, headers: Vec<(String, String)>) -> SimResponse {
        self.headers.extend(headers);
        self
    }
}
