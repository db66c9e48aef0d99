//! The hyper glue both listeners use: the accept loop, one HTTP/1.1 connection (keep-alive,
//! Content-Length or chunked bodies), reading a body under a cap, and turning a
//! [`SimResponse`] into a hyper response. Nothing here knows what a request means.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use super::shared::Shared;
use crate::api::message::SimResponse;

/// Largest request body the control API accepts (as large as an import); the Dotdigital
/// listener's cap is [`crate::ImportConfig::max_body_bytes`].
pub(crate) const CONTROL_MAX_BODY_BYTES: usize = crate::settings::MAX_BODY_BYTES;

pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// Returned by a service to make hyper close the connection without writing a response.
#[derive(Debug)]
pub(crate) struct ConnectionDropped;

impl fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose by the simulator")
    }
}

impl std::error::Error for ConnectionDropped {}

/// Accepts connections until the runtime shuts down, serving each with `exchange` per request.
pub(crate) async fn serve<F, Fut>(listener: TcpListener, shared: Arc<Shared>, exchange: F)
where
    F: Fn(Arc<Shared>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<HttpResponse, ConnectionDropped>> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_connection(stream, shared.clone(), exchange));
            }
            // Typically out of file descriptors: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn serve_connection<F, Fut>(stream: TcpStream, shared: Arc<Shared>, exchange: F)
where
    F: Fn(Arc<Shared>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<HttpResponse, ConnectionDropped>> + Send + 'static,
{
    let _ = stream.set_nodelay(true);
    // hyper writes header names lower-case unless told to title-case them; it cannot keep
    // `X-RateLimit-*` exactly, so "not lower-case" means `X-Ratelimit-*` (see the module docs).
    let title_case = !shared.lock().rate_limit.lowercase_headers;
    let service = service_fn(move |request| exchange(shared.clone(), request));
    let mut builder = http1::Builder::new();
    builder.title_case_headers(title_case);
    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
}

pub(crate) enum BodyError {
    TooLarge,
    /// The client went away or sent a broken chunked encoding.
    Broken,
}

/// Reads a body of at most `limit` bytes (declared or counted while reading).
pub(crate) async fn read_body(
    body: Incoming,
    declared_length: Option<u64>,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(error) if error.is::<LengthLimitError>() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Broken),
    }
}

pub(crate) fn into_http(response: SimResponse) -> HttpResponse {
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
