//! Each attack is chosen by the customer's `first_name`; `last_name` carries an argument
//! (a port, a URL, or counts). An attack that is stopped returns `transport("<what happened>")`, one
//! that is trapped never returns at all.

wit_bindgen::generate!({ world: "dotdigital-connector", path: "../../wit", generate_all });

use exports::ipaas::dotdigital::connector::Guest;
use ipaas::dotdigital::types::*;

struct Hostile;

/// The import whose status read fails with a huge reason (`bulk-failed-huge`).
const HUGE_FAILURE_IMPORT: &str = "ffffffff-ffff-4fff-bfff-ffffffffffff";
/// The import whose report carries the password (`bulk-secret`).
const SECRET_IMPORT: &str = "5ec2e700-0000-4000-8000-000000000000";

fn done(external_id: String) -> Result<SyncOutcome, SyncError> {
    Ok(SyncOutcome { external_id, action: SyncAction::Unchanged, api_calls: 0, messages: vec![] })
}

/// Holds as many wasi:http `fields` as the host gives, each with one header of `argument`
/// bytes (default 100 KiB): they live in host memory, outside the component's own.
fn fields(argument: &str) -> Result<SyncOutcome, SyncError> {
    use waki::bindings::wasi::http::types::Fields;
    let value = vec![b'v'; argument.parse().unwrap_or(100 << 10)];
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..200_000 {
        let fields = Fields::new();
        if fields.append(&"x-hoard".to_string(), &value).is_err() {
            refused += 1;
        }
        held.push(fields);
    }
    done(format!("held {} fields, {refused} refused a value", held.len()))
}

/// `[METHOD] URL [AUTHORIZATION]` (GET by default; POST and DELETE carry a small JSON body):
/// returns the status and up to 4 KiB of the body.
fn show(argument: &str) -> Result<SyncOutcome, SyncError> {
    let client = waki::Client::new();
    let (method, rest) = match argument.split_once(' ') {
        Some((method @ ("GET" | "POST" | "DELETE"), rest)) => (method, rest),
        _ => ("GET", argument),
    };
    let (url, authorization) = rest.split_once(' ').unwrap_or((rest, ""));
    let body = br#"{"action":"drop_before"}"#.to_vec();
    let mut request = match method {
        "POST" => client.post(url).header("Content-Length", body.len().to_string()).body(body),
        "DELETE" => client.delete(url),
        _ => client.get(url),
    };
    if !authorization.is_empty() {
        request = request.header("Authorization", authorization);
    }
    match request.send() {
        Ok(response) => {
            let status = response.status_code();
            let body = response.body().unwrap_or_default();
            let body = String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned();
            done(format!("HTTP {status}: {body}"))
        }
        Err(error) => Err(SyncError::Transport(format!("{error:?}"))),
    }
}

/// `COUNT HOST_LENGTH`: COUNT requests, one after the other, to a host name of HOST_LENGTH
/// letters under example.com (refused, each one); returns how many were refused.
fn deny_flood(argument: &str) -> Result<SyncOutcome, SyncError> {
    let mut numbers = argument.split(' ').map(|n| n.parse::<usize>().unwrap_or(1));
    let (count, length) = (numbers.next().unwrap_or(1), numbers.next().unwrap_or(10));
    let url = format!("https://{}.example.com/v2/account-info", "a".repeat(length));
    let denied = (0..count).filter(|_| waki::Client::new().get(&url).send().is_err()).count();
    Err(SyncError::Transport(format!("{denied} of {count} requests denied")))
}

/// The headers a proxy would add, which a component must not be able to send upstream. (The
/// ones wasi-http refuses outright, such as `Connection`, would fail the request here.)
const PROXY_HEADERS: &[(&str, &str)] = &[
    ("Forwarded", "for=203.0.113.7;host=evil.example.com;proto=http"),
    ("X-Forwarded-For", "203.0.113.7"),
    ("X-Forwarded-Host", "evil.example.com"),
    ("X-Forwarded-Proto", "http"),
    ("X-Real-IP", "203.0.113.7"),
    ("Via", "1.1 evil.example.com"),
    ("TE", "trailers"),
    ("Trailer", "X-Evil"),
    ("Proxy-Evil", "1"),
];

/// `URL`: a GET carrying `PROXY_HEADERS`; returns the status and body.
fn proxy_headers(url: &str) -> Result<SyncOutcome, SyncError> {
    let request = PROXY_HEADERS.iter().fold(waki::Client::new().get(url), |r, (name, value)| r.header(*name, *value));
    match request.send() {
        Ok(response) => {
            let status = response.status_code();
            let body = response.body().unwrap_or_default();
            done(format!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(4096)])))
        }
        Err(error) => Err(SyncError::Transport(format!("{error:?}"))),
    }
}

/// `spin|block|many`: POSTs to Dotdigital with a body that is started and never finished,
/// then spins on the CPU (`spin`), waits for the answer that cannot come (`block`), or
/// starts 50 such requests at once (`many`, each a body the host would have to hold).
fn held_open_body(how: &str) -> Result<SyncOutcome, SyncError> {
    use waki::bindings::wasi::http::outgoing_handler::handle;
    use waki::bindings::wasi::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
    let start = || {
        let request = OutgoingRequest::new(Fields::new());
        let _ = request.set_method(&Method::Post);
        let _ = request.set_scheme(Some(&Scheme::Https));
        let _ = request.set_authority(Some("r1-api.dotdigital.com"));
        let _ = request.set_path_with_query(Some("/v2/account-info"));
        let body: OutgoingBody = request.body().map_err(|_| "no body".to_string())?;
        let response = handle(request, None).map_err(|e| format!("handle: {e:?}"))?;
        let stream = body.write().map_err(|_| "no stream".to_string())?;
        // Half a body, then nothing: never `finish`ed.
        let _ = stream.write(b"{\"half\": ");
        // Children before parents when a tuple drops: the stream, then its body.
        Ok::<_, String>((stream, body, response))
    };
    match how {
        "many" => {
            let mut held = Vec::new();
            let mut refused = 0;
            for _ in 0..50 {
                match start() {
                    Ok(request) => held.push(request),
                    Err(_) => refused += 1,
                }
            }
            // Each answer: the ones the host accepted, then refused.
            let denied = held.iter().filter(|(_, _, response)| {
                response.subscribe().block();
                matches!(response.get(), Some(Ok(Err(_))))
            });
            Err(SyncError::Transport(format!("{} answered with an error, {refused} not started", denied.count())))
        }
        "block" => {
            let (stream, body, response) = start().map_err(SyncError::Transport)?;
            response.subscribe().block();
            let answer = format!("the answer: {:?}", response.get());
            drop((stream, body));
            Err(SyncError::Transport(answer))
        }
        _ => {
            let (_stream, _body, _response) = start().map_err(SyncError::Transport)?;
            let mut spins: u64 = 0;
            loop {
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
        }
    }
}

/// `COUNT`: COUNT GETs to Dotdigital started at once and left waiting (on the throttle or
/// the network), then spins on the CPU: computing beside them is still computing.
fn spin_while_waiting(argument: &str) -> Result<SyncOutcome, SyncError> {
    use waki::bindings::wasi::http::outgoing_handler::handle;
    use waki::bindings::wasi::http::types::{Fields, OutgoingRequest, Scheme};
    let mut waiting = Vec::new();
    for _ in 0..argument.parse().unwrap_or(2) {
        let request = OutgoingRequest::new(Fields::new());
        let _ = request.set_scheme(Some(&Scheme::Https));
        let _ = request.set_authority(Some("r1-api.dotdigital.com"));
        let _ = request.set_path_with_query(Some("/v2/account-info"));
        waiting.push(handle(request, None));
    }
    let mut spins: u64 = 0;
    loop {
        spins = std::hint::black_box(spins.wrapping_add(1));
    }
}

/// `COUNT`: COUNT GETs to Dotdigital, one after the other; says how many were answered.
fn request_flood(argument: &str) -> Result<SyncOutcome, SyncError> {
    let count: u32 = argument.parse().unwrap_or(1_000);
    let answered =
        (0..count).filter(|_| waki::Client::new().get("https://r1-api.dotdigital.com/v2/account-info").send().is_ok());
    Err(SyncError::Transport(format!("{} of {count} requests answered", answered.count())))
}

/// `COUNT MIB`: COUNT POSTs to Dotdigital (default 4, the most a call may have outstanding),
/// each with a finished body of MIB MiB (default 50, the most one may hold), all outstanding at
/// once: the host reads each whole before sending it. Returns how many were answered (an
/// outcome, not an error: the platform would retry a transport error).
fn big_bodies(argument: &str) -> Result<SyncOutcome, SyncError> {
    use waki::bindings::wasi::http::outgoing_handler::handle;
    use waki::bindings::wasi::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
    let mut numbers = argument.split(' ').map(|n| n.parse::<usize>().ok());
    let count = numbers.next().flatten().unwrap_or(4);
    let mebibytes = numbers.next().flatten().unwrap_or(50);
    let chunk = vec![b'x'; 1 << 20];
    let mut responses = Vec::new();
    for _ in 0..count {
        let request = OutgoingRequest::new(Fields::new());
        let _ = request.set_method(&Method::Post);
        let _ = request.set_scheme(Some(&Scheme::Https));
        let _ = request.set_authority(Some("r1-api.dotdigital.com"));
        let _ = request.set_path_with_query(Some("/v2/account-info"));
        let Ok(body) = request.body() else { break };
        let Ok(response) = handle(request, None) else { break };
        if let Ok(stream) = body.write() {
            // A refused body stops being read: its writes fail, and the next request starts.
            let _ = (0..mebibytes).try_for_each(|_| write_all(&stream, &chunk));
        }
        let _ = OutgoingBody::finish(body, None);
        responses.push(response);
    }
    let answered = responses.iter().filter(|response| {
        response.subscribe().block();
        matches!(response.get(), Some(Ok(Ok(_))))
    });
    done(format!("{} of {count} answered", answered.count()))
}

/// Writes `bytes` whole, as fast as the host takes them.
fn write_all(stream: &waki::bindings::wasi::io::streams::OutputStream, mut bytes: &[u8]) -> Result<(), ()> {
    while !bytes.is_empty() {
        let permit = stream.check_write().map_err(drop)? as usize;
        if permit == 0 {
            stream.subscribe().block();
            continue;
        }
        let (now, rest) = bytes.split_at(permit.min(bytes.len()));
        stream.write(now).map_err(drop)?;
        bytes = rest;
    }
    Ok(())
}

/// `COUNT MIB`: COUNT requests, never sent, each given an authority of MIB MiB (a valid one:
/// wasmtime-wasi-http sets no length limit); says how many still hold it afterwards.
fn long_authority(argument: &str) -> Result<SyncOutcome, SyncError> {
    use waki::bindings::wasi::http::types::{Fields, OutgoingRequest};
    let mut numbers = argument.split(' ').map(|n| n.parse::<usize>().ok());
    let count = numbers.next().flatten().unwrap_or(20);
    let big = "a".repeat(numbers.next().flatten().unwrap_or(8) << 20);
    let mut held = Vec::new();
    for _ in 0..count {
        let request = OutgoingRequest::new(Fields::new());
        let _ = request.set_authority(Some(&big));
        held.push(request);
    }
    let kept = held.iter().filter(|request| request.authority().is_some_and(|a| a.len() == big.len())).count();
    done(format!("{kept} of {count} kept the authority"))
}

fn get(url: &str) -> Result<SyncOutcome, SyncError> {
    match waki::Client::new().get(url).send() {
        Ok(response) => done(format!("got HTTP {}", response.status_code())),
        Err(error) => Err(SyncError::Transport(format!("{error:?}"))),
    }
}

impl Guest for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo {
            flows: vec!["contact".into()],
            settings: vec![
                SettingPreset {
                    name: "api_user".into(),
                    required: true,
                    default_value: None,
                    description: String::new(),
                },
                SettingPreset {
                    name: "api_password".into(),
                    required: true,
                    default_value: None,
                    description: String::new(),
                },
            ],
        }
    }

    fn validate_connection(_: Settings) -> Result<Account, SyncError> {
        Err(SyncError::Transport("not a real connector".into()))
    }

    fn sync_contact(settings: Settings, customer: Customer) -> Result<SyncOutcome, SyncError> {
        let argument = customer.last_name.clone().unwrap_or_default();
        match customer.first_name.as_deref().unwrap_or("") {
            "read-file" => match std::fs::read_to_string(if argument.is_empty() { "/etc/passwd" } else { &argument }) {
                Ok(text) => done(format!("read {} bytes", text.len())),
                Err(error) => Err(SyncError::Transport(format!("read-file: {error}"))),
            },
            "list-dir" => match std::fs::read_dir("/") {
                Ok(entries) => done(format!("listed {} entries", entries.count())),
                Err(error) => Err(SyncError::Transport(format!("list-dir: {error}"))),
            },
            "env" => done(format!("{} variables; HOME={:?}", std::env::vars().count(), std::env::var("HOME").ok())),
            "socket" => match std::net::TcpStream::connect(format!("127.0.0.1:{argument}")) {
                Ok(_) => done("connected".into()),
                Err(error) => Err(SyncError::Transport(format!("socket: {error}"))),
            },
            "http" => get(&argument),
            "deny-flood" => deny_flood(&argument),
            // One refused request, then an error the host would retry: it must not.
            "deny-then-unavailable" => {
                let _ = get("https://example.com/");
                Err(SyncError::Unavailable(RemoteError {
                    status: 503,
                    code: None,
                    message: "try again".into(),
                    endpoint: "GET https://example.com/".into(),
                }))
            }
            // `LINES COUNT HOST_LENGTH`: LINES log lines, then a deny flood.
            "log-then-deny" => {
                let (lines, flood) = argument.split_once(' ').unwrap_or((&argument, "1"));
                for n in 0..lines.parse::<u32>().unwrap_or(0) {
                    ipaas::dotdigital::host::log(ipaas::dotdigital::host::LogLevel::Info, &format!("line {n}"));
                }
                deny_flood(flood)
            }
            "proxy-headers" => proxy_headers(&argument),
            "held-open-body" => held_open_body(&argument),
            "big-bodies" => big_bodies(&argument),
            "http-show" => show(&argument),
            // The password stored as a value, and inside a key: both must be refused.
            "store-secret" => {
                use ipaas::dotdigital::host::{claim_data, set_data};
                let as_value = set_data("stash", &format!("pw={}", settings.api_password), None);
                let as_key = claim_data(&format!("k-{}", settings.api_password), "v", None);
                done(format!("value {}, key {}", as_value.is_ok(), as_key.is_ok()))
            }
            // Writes the host refuses (a 4 KiB key, over its limit), `last_name` times: each
            // refusal is logged.
            "refused-writes" => {
                let key = "k".repeat(4 << 10);
                let times: u32 = argument.parse().unwrap_or(5_000);
                let refused =
                    (0..times).filter(|_| ipaas::dotdigital::host::set_data(&key, "v", None).is_err()).count();
                done(format!("{refused} writes refused"))
            }
            "fields" => fields(&argument),
            "spin-while-waiting" => spin_while_waiting(&argument),
            "request-flood" => request_flood(&argument),
            "long-authority" => long_authority(&argument),
            // Persistent-data writes without end, little work of its own per write: small
            // values under up to 100,000 keys (the host's most), over and over.
            "data-churn" => {
                let mut round: u64 = 0;
                loop {
                    let _ = ipaas::dotdigital::host::set_data(&format!("churn-{}", round % 100_000), "v", None);
                    round += 1;
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    if hoard.len() > 100_000 {
                        return done(format!("{} MiB", hoard.len()));
                    }
                }
            }
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "huge-string" => done("x".repeat(argument.parse().unwrap_or(8 << 20))),
            "panic" => panic!("the hostile plugin panics"),
            _ => done("fine".into()),
        }
    }

    fn sync_order(_: Settings, _: Transaction) -> Result<SyncOutcome, SyncError> {
        done("fine".into())
    }

    fn sync_certificate(_: Settings, _: GiftCard) -> Result<SyncOutcome, SyncError> {
        done("fine".into())
    }

    fn start_import(_: Settings, _: ImportBatch) -> Result<ImportStarted, SyncError> {
        Err(SyncError::Transport("not a real connector".into()))
    }

    fn import_status(_: Settings, _: ImportKind, _: String) -> Result<ImportState, SyncError> {
        Err(SyncError::Transport("not a real connector".into()))
    }

    fn sync_order_with(_: Settings, _: OrderSettings, _: Transaction) -> Result<SyncOutcome, SyncError> {
        done("fine".into())
    }

    /// Bulk attacks, chosen by the first customer's `first_name`: `bulk-import-id` (a 1 MiB
    /// import id), `bulk-repeat` (one entry index 100,000 times), `bulk-failed-huge` (a
    /// Dotdigital-shaped import id whose `read-import` fails with an 8 MiB reason), `bulk-secret`
    /// (the password in each key, and in the report's failure code and detail).
    fn begin_import(settings: Settings, _: OrderSettings, batch: ImportBatch) -> Result<ImportBegun, SyncError> {
        let ImportBatch::Contacts(customers) = batch else {
            return Err(SyncError::Transport("not a real connector".into()));
        };
        let attack = customers.first().and_then(|c| c.first_name.clone()).unwrap_or_default();
        let key = |c: &Customer| c.email_address.clone().unwrap_or_default().to_lowercase();
        let every = || -> Vec<ImportRecord> {
            let record = |(i, c)| ImportRecord { index: i as u32, key: key(c), leaves_marketing_lists: false };
            customers.iter().enumerate().map(record).collect()
        };
        let (import_id, entries) = match attack.as_str() {
            "bulk-import-id" => ("x".repeat(1 << 20), every()),
            "bulk-repeat" => {
                let first = ImportRecord { index: 0, key: key(&customers[0]), leaves_marketing_lists: false };
                (HUGE_FAILURE_IMPORT.replace('f', "0"), vec![first; 100_000])
            }
            "bulk-failed-huge" => (HUGE_FAILURE_IMPORT.to_string(), every()),
            "bulk-secret" => {
                let mut entries = every();
                for entry in &mut entries {
                    entry.key = format!("{}+{}", settings.api_password, entry.key);
                }
                (SECRET_IMPORT.to_string(), entries)
            }
            _ => return Err(SyncError::Transport("not a real connector".into())),
        };
        Ok(ImportBegun { import_id: Some(import_id), entries, refused: vec![], skipped: vec![], api_calls: 1 })
    }

    fn read_import(settings: Settings, _: ImportKind, import_id: String) -> Result<ImportProgress, SyncError> {
        match import_id.as_str() {
            HUGE_FAILURE_IMPORT => Ok(ImportProgress::Failed("y".repeat(8 << 20))),
            // The keys `begin-import` gave (the password, then `h<n>@example.com`): the first
            // fails, with the password in its code and at the end of a detail as long as the
            // host keeps (so clipping first would keep part of it), the others are imported.
            SECRET_IMPORT => {
                let password = settings.api_password;
                let key = |n: u64| format!("{password}+h{n}@example.com");
                let contacts = (1..3)
                    .map(|n| ImportedContact { key: key(n), contact_id: 1000 + n, action: SyncAction::Created })
                    .collect();
                let failure = ImportFailure {
                    key: key(0),
                    code: format!("code-{password}"),
                    detail: Some(format!("{}{password}", "y".repeat(992))),
                };
                Ok(ImportProgress::Finished(ImportResult {
                    created: 2,
                    updated: 0,
                    contacts,
                    failures: vec![failure],
                    retry_without_contact_id: vec![],
                }))
            }
            _ => Err(SyncError::Transport("not a real connector".into())),
        }
    }

    fn leave_marketing_lists(_: Settings, _: Vec<u64>) -> Result<ListsLeft, SyncError> {
        Err(SyncError::Transport("not a real connector".into()))
    }

    /// The connector's limits, so the bulk attacks run as a real load would, with an endpoint
    /// of 10,000 characters that the host keeps no more of than an endpoint needs.
    fn describe_bulk() -> BulkLimits {
        let kind = |records_per_import, max_running| ImportLimits {
            records_per_import,
            max_records_per_import: 100_000,
            max_running,
            endpoint: "PUT /".to_string() + &"x".repeat(10_000),
        };
        BulkLimits { contacts: kind(20_000, 25), orders: kind(10_000, 5), contacts_per_removal: 5_000 }
    }
}

export!(Hostile);
