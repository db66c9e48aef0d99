//! Keep-alive connections to the upstream: one pool per subscription's outbound policy, so
//! a run opens a connection per concurrent request slot instead of one per request (against
//! Dotdigital, a TLS handshake saved per call). The pool never holds more idle connections
//! than the subscription's `concurrent_connections`, and the throttle already bounds the
//! requests in flight, so the connections open at once stay within that bound too.
//!
//! A connection is reused only after its previous answer was read whole; one that failed, or
//! whose request was abandoned (a timeout), is closed. A request that found its idle
//! connection closed by the server before it was written is sent again on another: it never
//! left, so this cannot repeat it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// Where a pool connects: a plain-HTTP address, or a TLS host on 443.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    Plain(SocketAddr),
    /// A host name (one of the allowlist's), verified against webpki's roots.
    Tls(String),
}

/// The connections of one upstream.
pub struct ConnectionPool {
    idle: Mutex<HashMap<Destination, Vec<Connection>>>,
    max_idle: usize,
    opened: AtomicU64,
    requests: AtomicU64,
}

/// An open connection: the sender, and the task driving it (aborted, closing the socket,
/// when the connection is dropped).
struct Connection {
    sender: SendRequest<WasiBody>,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// A connection lent to one exchange: give it back with [`Lease::release`] once the answer
/// has been read whole; dropped otherwise, it closes.
pub struct Lease<'a> {
    pool: &'a ConnectionPool,
    destination: Destination,
    connection: Option<Connection>,
}

impl Lease<'_> {
    pub fn release(mut self) {
        if let Some(connection) = self.connection.take() {
            self.pool.put_back(&self.destination, connection);
        }
    }
}

impl ConnectionPool {
    /// A pool keeping at most `max_idle` idle connections per destination.
    pub fn new(max_idle: usize) -> ConnectionPool {
        ConnectionPool {
            idle: Mutex::new(HashMap::new()),
            max_idle: max_idle.max(1),
            opened: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// Connections opened so far.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends `request` (origin-form URI, `Host` set) on an idle connection to `destination`,
    /// else a new one (connect and TLS within `connect_timeout`); the answer's head, and the
    /// connection to release once its body has been read.
    pub async fn send(
        &self,
        destination: &Destination,
        mut request: http::Request<WasiBody>,
        connect_timeout: Duration,
    ) -> Result<(http::Response<Incoming>, Lease<'_>), HttpError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        loop {
            let (mut connection, reused) = match self.take_idle(destination) {
                Some(connection) => (connection, true),
                None => (self.connect(destination, connect_timeout).await?, false),
            };
            match connection.sender.try_send_request(request).await {
                Ok(response) => {
                    let lease = Lease { pool: self, destination: destination.clone(), connection: Some(connection) };
                    return Ok((response, lease));
                }
                Err(mut failed) => match failed.take_message() {
                    // Never written: the kept connection had been closed. Another, or a new one.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(HttpError::Hyper(failed.into_error())),
                },
            }
        }
    }

    fn take_idle(&self, destination: &Destination) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let connections = idle.get_mut(destination)?;
        while let Some(connection) = connections.pop() {
            if connection.sender.is_ready() {
                return Some(connection);
            }
        }
        None
    }

    fn put_back(&self, destination: &Destination, connection: Connection) {
        if connection.sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let connections = idle.entry(destination.clone()).or_default();
        if connections.len() < self.max_idle {
            connections.push(connection);
        }
    }

    async fn connect(&self, destination: &Destination, timeout: Duration) -> Result<Connection, HttpError> {
        let open = async {
            let stream: Box<dyn Stream> = match destination {
                Destination::Plain(addr) => Box::new(tcp(TcpStream::connect(addr).await)?),
                Destination::Tls(host) => {
                    let tcp = tcp(TcpStream::connect((host.as_str(), 443)).await)?;
                    let name = rustls::pki_types::ServerName::try_from(host.clone())
                        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
                    Box::new(tls().connect(name, tcp).await.map_err(HttpError::Tls)?)
                }
            };
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            let driver = tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok::<_, HttpError>(Connection { sender, driver })
        };
        let connection = tokio::time::timeout(timeout, open).await.map_err(|_| HttpError::ConnectionTimeout)??;
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(connection)
    }
}

/// What a connection runs over: TCP, or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A connected socket, without Nagle's delay (requests and answers are small, and each is
/// written whole).
fn tcp(connected: std::io::Result<TcpStream>) -> Result<TcpStream, HttpError> {
    let stream = connected.map_err(HttpError::Connect)?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// One TLS client configuration per process: webpki's roots, rustls's defaults (TLS 1.2
/// and 1.3, ring).
fn tls() -> &'static tokio_rustls::TlsConnector {
    static TLS: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();
    TLS.get_or_init(|| {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    })
}
