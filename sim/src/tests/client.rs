//! A tiny raw HTTP/1.1 client for the tests: exact control over framing (Content-Length or
//! chunked), keep-alive and headers, and it notices a connection closed without an answer.

use std::io;

use base64::Engine;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::{SimConfig, Simulator, DEMO_ACCOUNT, DEMO_R2_ACCOUNT};

pub(super) const R1: &str = "r1-api.dotdigital.com";
pub(super) const R2: &str = "r2-api.dotdigital.com";
pub(super) const R3: &str = "r3-api.dotdigital.com";
pub(super) const DEMO: (&str, &str) = (DEMO_ACCOUNT.api_user, DEMO_ACCOUNT.api_password);
pub(super) const DEMO_R2: (&str, &str) = (DEMO_R2_ACCOUNT.api_user, DEMO_R2_ACCOUNT.api_password);
pub(super) const ACME: i64 = DEMO_ACCOUNT.id;

pub(super) async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config, 0).await.expect("the simulator starts")
}

pub(super) async fn demo() -> Simulator {
    start(SimConfig::demo()).await
}

/// A request to build; defaults to the r1 host and the r1 demo credentials.
pub(super) struct Call {
    method: String,
    path: String,
    host: String,
    auth: Option<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunked: bool,
}

pub(super) fn call(method: &str, path: &str) -> Call {
    Call {
        method: method.to_string(),
        path: path.to_string(),
        host: R1.to_string(),
        auth: Some((DEMO.0.to_string(), DEMO.1.to_string())),
        headers: Vec::new(),
        body: Vec::new(),
        chunked: false,
    }
}

impl Call {
    pub(super) fn host(mut self, host: &str) -> Call {
        self.host = host.to_string();
        self
    }

    pub(super) fn auth(mut self, (user, password): (&str, &str)) -> Call {
        self.auth = Some((user.to_string(), password.to_string()));
        self
    }

    pub(super) fn no_auth(mut self) -> Call {
        self.auth = None;
        self
    }

    pub(super) fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub(super) fn json(self, body: Value) -> Call {
        self.raw_body(body.to_string().as_bytes()).header("Content-Type", "application/json")
    }

    pub(super) fn raw_body(mut self, body: &[u8]) -> Call {
        self.body = body.to_vec();
        self
    }

    pub(super) fn chunked(mut self) -> Call {
        self.chunked = true;
        self
    }

    fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {}\r\n", self.method, self.path, self.host);
        if let Some((user, password)) = &self.auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            head.push_str(&format!("Authorization: Basic {token}\r\n"));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(if keep_alive { "Connection: keep-alive\r\n" } else { "Connection: close\r\n" });
        let mut bytes;
        if self.chunked {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            bytes = head.into_bytes();
            let (first, second) = self.body.split_at(self.body.len() / 2);
            for chunk in [first, second] {
                if !chunk.is_empty() {
                    bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    bytes.extend_from_slice(chunk);
                    bytes.extend_from_slice(b"\r\n");
                }
            }
            bytes.extend_from_slice(b"0\r\n\r\n");
        } else {
            let has_length = self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
            if !has_length && (!self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH")) {
                head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
            }
            head.push_str("\r\n");
            bytes = head.into_bytes();
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    /// Names as they came over the wire (case kept).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(super) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One connection that can carry several requests.
pub(super) struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// A connection to the Dotdigital listener.
    pub(super) async fn open(sim: &Simulator) -> Connection {
        let stream = TcpStream::connect(sim.addr()).await.expect("connect to the simulator");
        Connection { reader: BufReader::new(stream) }
    }

    /// A connection to the control API's listener.
    pub(super) async fn open_control(sim: &Simulator) -> Connection {
        let stream = TcpStream::connect(sim.control_addr()).await.expect("connect to the control API");
        Connection { reader: BufReader::new(stream) }
    }

    pub(super) async fn send(&mut self, call: &Call, keep_alive: bool) -> io::Result<Reply> {
        self.reader.get_mut().write_all(&call.to_bytes(keep_alive)).await?;
        self.read_reply().await
    }

    /// Writes raw bytes (for malformed requests) and reads one reply.
    pub(super) async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<Reply> {
        self.reader.get_mut().write_all(bytes).await?;
        self.read_reply().await
    }

    async fn read_reply(&mut self) -> io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed without a response"));
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in the headers"));
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.to_string(), value.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await?;
        Ok(Reply { status, headers, body })
    }
}

/// Sends one request on its own connection; `Err` when the connection closes unanswered.
pub(super) async fn try_send(sim: &Simulator, call: Call) -> io::Result<Reply> {
    Connection::open(sim).await.send(&call, false).await
}

pub(super) async fn send(sim: &Simulator, call: Call) -> Reply {
    try_send(sim, call).await.expect("the simulator answers")
}

/// Sends one request to the control API, without credentials.
pub(super) async fn control(sim: &Simulator, call: Call) -> Reply {
    Connection::open_control(sim).await.send(&call.no_auth(), false).await.expect("the control API answers")
}

/// `PATCH /contacts/v3/email/{email}` with the r1 demo account.
pub(super) async fn upsert(sim: &Simulator, email: &str, body: Value) -> Reply {
    send(sim, call("PATCH", &format!("/contacts/v3/email/{email}")).json(body)).await
}

pub(super) async fn create_collection(sim: &Simulator, name: &str) -> Reply {
    send(
        sim,
        call("POST", &format!("/insightData/v3/collections/{name}?collectionScope=contact&collectionType=orders")),
    )
    .await
}

pub(super) async fn put_record(sim: &Simulator, email: &str, collection: &str, key: &str, record: Value) -> Reply {
    send(sim, call("PUT", &format!("/insightData/v3/contacts/email/{email}/{collection}/{key}")).json(record)).await
}
