//! One HTTP exchange over wasi:http, through `wasip2`'s bindings: the request and its body
//! written, the answer read whole. Only the component build has it (the native build, for the
//! tests and the bench, has no wasi:http); the URL split is pure and in `platform::url_parts`.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    http_error_code, ErrorCode, Fields, HeaderError, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest,
    Scheme,
};
use wasip2::io::streams::StreamError;

use crate::platform::{url_parts, HttpRequest, HttpResponse, Method};

/// The most `blocking-write-and-flush` takes in one call (wasi:io/streams).
const ONE_WRITE: usize = 4096;
/// Read at a time from the answer's body: Dotdigital's answers are small, and the host caps
/// their size.
const READ_CHUNK: u64 = 64 * 1024;

/// Sends `request` and reads the whole answer, or says in words why not.
pub fn send(request: &HttpRequest) -> Result<HttpResponse, String> {
    let (scheme, authority, path) = url_parts(&request.url)?;
    let entries: Vec<(String, Vec<u8>)> =
        request.headers.iter().map(|(name, value)| (name.to_string(), value.as_bytes().to_vec())).collect();
    let headers = Fields::from_list(&entries).map_err(|error| refused_header(&entries, error))?;
    let outgoing = OutgoingRequest::new(headers);
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => Scheme::Other(other.to_string()),
    };
    outgoing.set_method(&method(request.method)).map_err(|()| refused("method"))?;
    outgoing.set_scheme(Some(&scheme)).map_err(|()| refused("scheme"))?;
    outgoing.set_authority(Some(authority)).map_err(|()| refused("host"))?;
    outgoing.set_path_with_query(Some(&path)).map_err(|()| refused("path"))?;
    let body = outgoing.body().map_err(|()| refused("body"))?;
    // No request options: the host bounds each request and the whole call itself (a connect
    // timeout here would only be one more resource per request).
    let future = outgoing_handler::handle(outgoing, None).map_err(|code| describe(&code))?;
    // The host reads the body while it is written (its task started with `handle`).
    let written = write_body(body, request.body.as_deref().unwrap_or_default());
    let response = loop {
        match future.get() {
            // An answer counts even after a failed write: a server may answer (413, 429)
            // before it has read the whole body.
            Some(Ok(Ok(response))) => break response,
            Some(Ok(Err(code))) => {
                // A write that failed says more than the protocol error it ends in.
                return Err(match (written, code) {
                    (Err(why), ErrorCode::HttpProtocolError) => why,
                    (_, code) => describe(&code),
                });
            }
            Some(Err(())) => return Err("the answer was taken twice".into()),
            None => future.subscribe().block(),
        }
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let incoming = response.consume().map_err(|()| "the answer's body was taken twice".to_string())?;
    let body = read_body(incoming)?;
    Ok(HttpResponse { status, headers, body })
}

fn method(method: Method) -> WasiMethod {
    match method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Patch => WasiMethod::Patch,
        Method::Delete => WasiMethod::Delete,
    }
}

fn refused(part: &str) -> String {
    format!("the host refused the request's {part}")
}

/// Which header the host refused (it refuses the list, not a name).
fn refused_header(entries: &[(String, Vec<u8>)], error: HeaderError) -> String {
    let name = entries.iter().find(|entry| Fields::from_list(std::slice::from_ref(entry)).is_err());
    match name {
        Some((name, _)) => format!("the host refused the request header {name} ({error:?})"),
        None => format!("the host refused the request's headers ({error:?})"),
    }
}

/// Writes `bytes` to the request's body, then finishes it; the stream is dropped first, as
/// wasi:http requires of a child resource. No body (a GET) is no write; a small one is one
/// `blocking-write-and-flush`; a large one goes as fast as the host takes it (as much as
/// `check-write` permits at a time: a 50 MB import body is a few writes, not thousands).
fn write_body(body: OutgoingBody, mut bytes: &[u8]) -> Result<(), String> {
    let failed = |error| stream_error(error, "sending the request body");
    if !bytes.is_empty() {
        let stream = body.write().map_err(|()| refused("body"))?;
        if bytes.len() <= ONE_WRITE {
            stream.blocking_write_and_flush(bytes).map_err(failed)?;
        } else {
            let ready = stream.subscribe();
            while !bytes.is_empty() {
                ready.block();
                let permitted = stream.check_write().map_err(failed)?;
                let (now, rest) = bytes.split_at(bytes.len().min(usize::try_from(permitted).unwrap_or(usize::MAX)));
                stream.write(now).map_err(failed)?;
                bytes = rest;
            }
            stream.flush().map_err(failed)?;
            ready.block();
            stream.check_write().map_err(failed)?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|code| describe(&code))
}

/// The answer's body, read to its end.
fn read_body(incoming: IncomingBody) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    {
        let stream = incoming.stream().map_err(|()| "the answer's body was taken twice".to_string())?;
        loop {
            match stream.blocking_read(READ_CHUNK) {
                // The first chunk is usually the whole answer: kept, not copied.
                Ok(chunk) if body.is_empty() => body = chunk,
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(error) => return Err(stream_error(error, "reading the answer")),
            }
        }
    }
    drop(IncomingBody::finish(incoming));
    Ok(body)
}

fn stream_error(error: StreamError, doing: &str) -> String {
    match error {
        StreamError::Closed => format!("{doing} failed: the host closed the stream"),
        StreamError::LastOperationFailed(error) => match http_error_code(&error) {
            Some(code) => format!("{doing} failed: {}", describe(&code)),
            None => format!("{doing} failed: {}", error.to_debug_string()),
        },
    }
}

/// wasi:http error codes in words (`HttpRequestDenied`, `DnsError(…)` tell an operator nothing).
fn describe(code: &ErrorCode) -> String {
    use ErrorCode as E;
    let text = match code {
        E::HttpRequestDenied => "denied by the sandbox",
        E::DnsTimeout => "the host name could not be resolved in time",
        E::DnsError(_) | E::DestinationNotFound => "the host name could not be resolved",
        E::DestinationUnavailable | E::DestinationIpUnroutable => "the server cannot be reached",
        E::DestinationIpProhibited => "the server's address is not allowed",
        E::ConnectionRefused => "connection refused",
        E::ConnectionTerminated => "the connection was closed",
        E::ConnectionTimeout => "connection timed out",
        E::ConnectionReadTimeout | E::HttpResponseTimeout => "timed out waiting for the answer",
        E::ConnectionWriteTimeout => "timed out sending the request",
        E::ConnectionLimitReached => "too many connections are open",
        E::TlsProtocolError | E::TlsAlertReceived(_) => "the TLS handshake failed",
        E::TlsCertificateError => "the server's TLS certificate was refused",
        E::HttpRequestBodySize(_) => "the request body is larger than allowed",
        E::HttpResponseBodySize(_) => "the answer is larger than allowed",
        E::HttpResponseIncomplete => "the answer ended early",
        E::InternalError(Some(detail)) => return format!("the host failed: {detail}"),
        _ => "the HTTP exchange failed",
    };
    text.to_string()
}
