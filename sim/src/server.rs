//! The HTTP/1.1 side of the simulator: one task per connection (keep-alive, Content-Length or
//! chunked bodies), then per request: log it, fire any armed fault, route it, answer.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use super::errors::{api_usage_exceeded, body_too_large, temporarily_unavailable, ApiFamily};
use super::faults::FaultAction;
use super::message::{SimRequest, SimResponse};
use super::request_log::{logged_body, RequestRecord};
use super::state::SimState;
use super::{inspect, limits, routes};

/// Largest request body accepted (API.md §3b/§3c: 50 MB); larger ones get `400`.
pub(crate) const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

/// What the server tasks and the [`super::Simulator`] handle share.
pub(crate) struct Shared {
    state: Mutex<SimState>,
    started: Instant,
    in_flight: AtomicU32,
}

impl Shared {
    pub(crate) fn new(state: SimState) -> Shared {
        Shared { state: Mutex::new(state), started: Instant::now(), in_flight: AtomicU32::new(0) }
    }

    /// The state; a handler that panicked mid-update does not lock everyone else out.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }
}

/// Accepts connections until the runtime shuts down.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_connection(stream, shared.clone()));
            }
            // Typically out of file descriptors: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    // hyper writes header names lower-case unless told to title-case them; it cannot keep
    // `X-RateLimit-*` exactly, so "not lower-case" means `X-Ratelimit-*` (see the module docs).
    let title_case = !shared.lock().rate_limit.lowercase_headers;
    let service = service_fn(move |request| exchange(shared.clone(), request));
    let mut builder = http1::Builder::new();
    builder.title_case_headers(title_case);
    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
}

/// Returned by the service to make hyper close the connection without writing a response.
#[derive(Debug)]
struct ConnectionDropped;

impl fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose by the simulator")
    }
}

impl std::error::Error for ConnectionDropped {}

type HttpResponse = Response<Full<Bytes>>;

async fn exchange(shared: Arc<Shared>, request: Request<Incoming>) -> Result<HttpResponse, ConnectionDropped> {
    let (parts, body) = request.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let host = header("host").or_else(|| parts.uri.authority().map(|a| a.to_string())).unwrap_or_default();
    let content_length = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = parts
        .headers
        .get_all("transfer-encoding")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains("chunked")));
    let method = parts.method.as_str().to_string();

    if inspect::is_inspection_path(&path_and_query) {
        let body = match read_body(body, content_length).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => return Ok(into_http(body_too_large(ApiFamily::V2))),
            Err(BodyError::Broken) => return Err(ConnectionDropped),
        };
        let request = SimRequest::new(&method, &path_and_query, &host, None, body);
        return Ok(into_http(inspect::handle(&shared, &request)));
    }

    let in_flight = InFlight::enter(&shared);
    let started_ms = shared.elapsed_ms();
    let mut entry = LogEntry::open(
        &shared,
        RequestRecord {
            method: method.clone(),
            path: path_and_query.clone(),
            host: host.clone(),
            account_id: None,
            status: 0,
            started_ms,
            finished_ms: started_ms,
            in_flight_at_start: in_flight.count_at_entry,
            content_length,
            chunked,
            user_agent: header("user-agent"),
            integration_token: header("x-ddg-integration-token"),
            body: String::new(),
        },
    );
    let family = ApiFamily::of_path(&path_and_query);
    let body = match read_body(body, content_length).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return Ok(entry.answer(body_too_large(family))),
        Err(BodyError::Broken) => return Err(ConnectionDropped),
    };
    let request = SimRequest::new(&method, &path_and_query, &host, header("authorization"), body);
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
            return Ok(entry.answer(limits::forced_throttle(family, &request.path, *seconds, &config)));
        }
        Some(FaultAction::ApiUsageExceeded) => return Ok(entry.answer(api_usage_exceeded())),
        Some(FaultAction::TemporarilyUnavailable) => return Ok(entry.answer(temporarily_unavailable())),
        _ => {}
    }

    let at_ms = shared.started.elapsed().as_millis() as u64;
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

/// Counts a request as being served for as long as it lives.
struct InFlight {
    shared: Arc<Shared>,
    count_at_entry: u32,
}

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> InFlight {
        let count_at_entry = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        InFlight { shared: shared.clone(), count_at_entry }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
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

enum BodyError {
    TooLarge,
    /// The client went away or sent a broken chunked encoding.
    Broken,
}

async fn read_body(body: Incoming, declared_length: Option<u64>) -> Result<Vec<u8>, BodyError> {
    if declared_length.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(error) if error.is::<LengthLimitError>() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Broken),
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

fn into_http(response: SimResponse) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if matches!(status.as_u16(), 204 | 304) { Vec::new() } else { response.body };
    let mut http = Response::new(Full::new(Bytes::from(body)));
    *http.status_mut() = status;
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            http.headers_mut().append(name, value);
        }
    }
    http
}
