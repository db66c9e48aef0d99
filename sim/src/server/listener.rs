//! The Dotdigital listener: per request, log it, fire any armed fault, route it, answer.
//! Every path here is a Dotdigital path; the control API has a listener of its own
//! (`control.rs`), so nothing a client sends to a Dotdigital host can read or steer the
//! simulator.

use std::sync::Arc;

use http::request::Parts;
use http::Request;
use hyper::body::Incoming;
use tokio::net::TcpListener;

use super::faults::FaultAction;
use super::request_log::{logged_body, RequestRecord};
use super::shared::{InFlight, Shared};
use super::transport::{self, into_http, read_body, BodyError, ConnectionDropped, HttpResponse};
use super::{rate_limits, routes};
use crate::api::errors::{api_usage_exceeded, body_too_large, temporarily_unavailable, ApiFamily};
use crate::api::message::{SimRequest, SimResponse};
use crate::redacted::Redacted;

/// Accepts Dotdigital requests until the runtime shuts down.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    transport::serve(listener, shared, exchange).await;
}

async fn exchange(shared: Arc<Shared>, request: Request<Incoming>) -> Result<HttpResponse, ConnectionDropped> {
    let (parts, body) = request.into_parts();
    let in_flight = InFlight::enter(&shared);
    let record = arriving(&parts, shared.elapsed_ms(), in_flight.count_at_entry);
    let (method, path_and_query, host) = (record.method.clone(), record.path.clone(), record.host.clone());
    let content_length = record.content_length;
    let mut entry = LogEntry::open(&shared, record);
    let family = ApiFamily::of_path(&path_and_query);
    let (limit, oversize_status) = {
        let state = shared.lock();
        (state.import_config.max_body_bytes, state.import_config.oversize_body_status)
    };
    let body = match read_body(body, content_length, limit).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return Ok(entry.answer(body_too_large(family, oversize_status))),
        Err(BodyError::Broken) => return Err(ConnectionDropped),
    };
    let request = SimRequest::new(&method, &path_and_query, &host, header(&parts, "authorization"), body);
    let fault = {
        let mut state = shared.lock();
        let account_id = routes::account_id(&state, &request);
        state.log.update(entry.seq, |record| {
            record.account_id = account_id;
            record.body = logged_body(&request.body);
        });
        state.faults.fire(&method, &path_and_query)
    };

    match &fault {
        Some(FaultAction::Status { status, body }) => return Ok(entry.answer(SimResponse::raw(*status, body))),
        Some(FaultAction::DropBefore) => return Err(ConnectionDropped),
        Some(FaultAction::DelayBefore(delay)) => tokio::time::sleep(*delay).await,
        Some(FaultAction::RateLimited { seconds }) => {
            let config = shared.lock().rate_limit.clone();
            return Ok(entry.answer(rate_limits::forced_throttle(family, &request.path, *seconds, &config)));
        }
        Some(FaultAction::ApiUsageExceeded) => return Ok(entry.answer(api_usage_exceeded())),
        Some(FaultAction::TemporarilyUnavailable) => return Ok(entry.answer(temporarily_unavailable())),
        _ => {}
    }

    let at_ms = shared.elapsed_whole_ms();
    let response = routes::dispatch(&mut shared.lock(), &request, at_ms);

    match fault {
        Some(FaultAction::DelayAfter(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(entry.answer(response))
        }
        Some(FaultAction::DropAfter) => Err(ConnectionDropped),
        Some(FaultAction::MalformedAfter) => Ok(entry.answer(malformed(response))),
        _ => Ok(entry.answer(response)),
    }
}

fn header(parts: &Parts, name: &str) -> Option<String> {
    parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// The log's record of a request as it arrives: no account, status or body yet.
fn arriving(parts: &Parts, started_ms: f64, in_flight_at_start: u32) -> RequestRecord {
    let host = header(parts, "host").or_else(|| parts.uri.authority().map(|a| a.to_string())).unwrap_or_default();
    let chunked = parts
        .headers
        .get_all("transfer-encoding")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains("chunked")));
    RequestRecord {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
        host,
        account_id: None,
        status: 0,
        started_ms,
        finished_ms: started_ms,
        in_flight_at_start,
        content_length: header(parts, "content-length").and_then(|v| v.trim().parse::<u64>().ok()),
        chunked,
        user_agent: header(parts, "user-agent"),
        integration_token: header(parts, "x-ddg-integration-token").map(|token| Redacted::of(&token)),
        body: String::new(),
    }
}

/// A request's log entry; finished with status 0 if the request ends without an answer.
struct LogEntry {
    shared: Arc<Shared>,
    seq: u64,
    answered: bool,
}

impl LogEntry {
    fn open(shared: &Arc<Shared>, record: RequestRecord) -> LogEntry {
        let seq = shared.lock().log.open(record);
        LogEntry { shared: shared.clone(), seq, answered: false }
    }

    fn answer(&mut self, response: SimResponse) -> HttpResponse {
        self.finish(response.status);
        self.answered = true;
        into_http(response)
    }

    fn finish(&self, status: u16) {
        let finished_ms = self.shared.elapsed_ms();
        self.shared.lock().log.update(self.seq, |record| {
            record.status = status;
            record.finished_ms = finished_ms;
        });
    }
}

impl Drop for LogEntry {
    fn drop(&mut self) {
        if !self.answered {
            self.finish(0);
        }
    }
}

/// The response cut short: half its body (or the start of an object when it had none), so
/// it cannot parse. A 204 becomes a 200, as a 204 cannot carry a body.
fn malformed(response: SimResponse) -> SimResponse {
    let status = if response.status == 204 { 200 } else { response.status };
    let mut body = response.body[..response.body.len() / 2].to_vec();
    if body.is_empty() {
        body = b"{\"truncated".to_vec();
    } else if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
        body.push(b'{');
    }
    let mut headers: Vec<(String, String)> =
        response.headers.into_iter().filter(|(name, _)| !name.eq_ignore_ascii_case("content-type")).collect();
    headers.push(("Content-Type".into(), "application/json; charset=utf-8".into()));
    SimResponse { status, headers, body }
}
