//! The Dotdigital routes the simulator serves, and the checks every request passes on its way
//! to a handler: credentials (401), region (403), denied area (403), rate limit (429/400).

use std::time::Instant;

use super::access::authenticate;
use super::rate_limits::{self, tier_of_path};
use super::state::SimState;
use crate::api::contacts::ContactContext;
use crate::api::errors::{encoded_slash, forbidden, method_not_allowed, not_found, unauthorized, ApiFamily};
use crate::api::message::{SimRequest, SimResponse};
use crate::api::{account, address_books, campaigns, contacts, data_fields, imports, insight};
use crate::model::{AccountState, Admission, Area, ImportContext, ImportKind, Region, Send};
use crate::settings::{ContactConfig, RateLimitConfig};

/// A request matched to an endpoint; path parts are still percent-encoded.
enum Route<'a> {
    AccountInfo,
    ServerTime,
    GetContact {
        identifier: &'a str,
        value: &'a str,
    },
    PatchContact {
        identifier: &'a str,
        value: &'a str,
    },
    CreateContact,
    ImportContacts,
    ContactImportStatus {
        id: &'a str,
    },
    ImportInsight,
    InsightImportStatus {
        id: &'a str,
    },
    GetRecord([&'a str; 4]),
    PutRecord([&'a str; 4]),
    DeleteRecord([&'a str; 4]),
    ListCollections,
    CreateCollection {
        name: &'a str,
    },
    CollectionSchema {
        name: &'a str,
    },
    TriggeredSend,
    TriggeredBatch,
    GetCampaign {
        id: &'a str,
    },
    DataFields,
    GetAddressBook {
        id: &'a str,
    },
    RemoveFromAddressBook {
        book: &'a str,
        contact: &'a str,
    },
    RemoveManyFromAddressBook {
        book: &'a str,
    },
    /// A path segment holding an encoded `/`.
    EncodedSlash,
    MethodNotAllowed,
    NotFound,
}

impl<'a> Route<'a> {
    fn parse(method: &str, path: &'a str) -> Route<'a> {
        let trimmed = path.strip_suffix('/').unwrap_or(path);
        let raw: Vec<&'a str> = trimmed.split('/').skip(1).collect();
        let lower: Vec<String> = raw.iter().map(|s| s.to_ascii_lowercase()).collect();
        let literal: Vec<&str> = lower.iter().map(String::as_str).collect();
        let only = |wanted: &str, route: Route<'a>| if method == wanted { route } else { Route::MethodNotAllowed };
        // `%2F` would let a segment (an email, a record key) read as two once decoded. The
        // documents are silent; the stricter reading refuses it (see `encoded_slash`).
        if lower.iter().any(|segment| segment.contains("%2f")) {
            return Route::EncodedSlash;
        }
        match literal.as_slice() {
            ["v2", "account-info"] => only("GET", Route::AccountInfo),
            ["v2", "server-time"] => only("GET", Route::ServerTime),
            // Before `/contacts/v3/{identifier}/{value}`: "import" is not an identifier here.
            ["contacts", "v3", "import"] => only("PUT", Route::ImportContacts),
            ["contacts", "v3", "import", _] => only("GET", Route::ContactImportStatus { id: raw[3] }),
            ["insightdata", "v3", "import"] => only("PUT", Route::ImportInsight),
            ["insightdata", "v3", "import", _] => only("GET", Route::InsightImportStatus { id: raw[3] }),
            ["contacts", "v3", "import", ..] | ["insightdata", "v3", "import", ..] => Route::NotFound,
            ["contacts", "v3"] => only("POST", Route::CreateContact),
            ["contacts", "v3", _, _] => match method {
                "GET" => Route::GetContact { identifier: raw[2], value: raw[3] },
                "PATCH" => Route::PatchContact { identifier: raw[2], value: raw[3] },
                _ => Route::MethodNotAllowed,
            },
            ["insightdata", "v3", "contacts", _, _, _, _] => {
                let parts = [raw[3], raw[4], raw[5], raw[6]];
                match method {
                    "GET" => Route::GetRecord(parts),
                    "PUT" => Route::PutRecord(parts),
                    "DELETE" => Route::DeleteRecord(parts),
                    _ => Route::MethodNotAllowed,
                }
            }
            ["insightdata", "v3", "collections"] => only("GET", Route::ListCollections),
            ["insightdata", "v3", "collections", _] => only("POST", Route::CreateCollection { name: raw[3] }),
            ["insightdata", "v3", "collections", _, "schema"] => only("GET", Route::CollectionSchema { name: raw[3] }),
            ["v2", "email", "triggered-campaign"] => only("POST", Route::TriggeredSend),
            ["v2", "email", "triggered-campaign", "batch"] => only("POST", Route::TriggeredBatch),
            ["v2", "campaigns", _] => only("GET", Route::GetCampaign { id: raw[2] }),
            ["v2", "data-fields"] => only("GET", Route::DataFields),
            ["v2", "address-books", _] => only("GET", Route::GetAddressBook { id: raw[2] }),
            ["v2", "address-books", _, "contacts", "delete"] => {
                only("POST", Route::RemoveManyFromAddressBook { book: raw[2] })
            }
            ["v2", "address-books", _, "contacts", _] => {
                only("DELETE", Route::RemoveFromAddressBook { book: raw[2], contact: raw[4] })
            }
            _ => Route::NotFound,
        }
    }

    /// Triggered sends do not count toward the call allowance
    /// (developer.dotdigital.com/reference/send-transactional-email-using-a-triggered-campaign).
    fn is_rate_counted(&self) -> bool {
        !matches!(self, Route::TriggeredSend | Route::TriggeredBatch)
    }
}

/// The account id the request's credentials belong to, for the request log.
pub(crate) fn account_id(state: &SimState, request: &SimRequest) -> Option<i64> {
    let index = authenticate(state.accounts.iter().map(|a| &a.account), request.authorization.as_deref())?;
    Some(state.accounts[index].account.id)
}

/// What a handler may need besides the account: the request, and the run's settings, counters
/// and outbox.
struct Call<'a> {
    request: &'a SimRequest,
    /// Milliseconds since the simulator started.
    at_ms: u64,
    rate_limit: &'a RateLimitConfig,
    contact_config: &'a ContactConfig,
    imports: ImportContext<'a>,
    /// Run-wide job counter (import ids, bulk-removal ids).
    import_seq: &'a mut u64,
    outbox: &'a mut Vec<Send>,
}

/// Answers one Dotdigital request. `at_ms` is the time since the simulator started.
pub(crate) fn dispatch(state: &mut SimState, request: &SimRequest, at_ms: u64) -> SimResponse {
    let family = ApiFamily::of_path(&request.path);
    let SimState {
        accounts,
        rate_limit,
        contact_policy,
        import_config,
        contact_config,
        next_contact_id,
        import_seq,
        outbox,
        ..
    } = state;
    let Some(index) = authenticate(accounts.iter().map(|a| &a.account), request.authorization.as_deref()) else {
        return unauthorized(family);
    };
    let account = &mut accounts[index];
    let mut imports = ImportContext { config: import_config, policy: *contact_policy, next_contact_id };
    // Imports whose time is up finish before the account's next call is answered.
    account.advance_imports(Instant::now(), &mut imports);
    let route = Route::parse(&request.method, &request.path);
    let rate_headers = match admit(account, &route, request, family, rate_limit) {
        Ok(headers) => headers,
        Err(refused) => return refused,
    };
    let call = Call { request, at_ms, rate_limit, contact_config, imports, import_seq, outbox };
    answer(route, account, family, call).with_headers(rate_headers)
}

/// The checks after credentials: region (403), denied area (403), then the rate limit (429 or
/// the flat cap's 400). Answers the `X-RateLimit-*` headers of a counted call.
fn admit(
    account: &mut AccountState,
    route: &Route,
    request: &SimRequest,
    family: ApiFamily,
    rate_limit: &RateLimitConfig,
) -> Result<Vec<(String, String)>, SimResponse> {
    let region = Region::of_host(&request.host);
    // account-info answers on r1 for every account: that is how a client finds its region
    // (developer.dotdigital.com/docs/api-end-points).
    let region_ok = account.account.region == region || (matches!(route, Route::AccountInfo) && region == Region::R1);
    if !region_ok {
        return Err(forbidden());
    }
    if Area::of_path(&request.path).is_some_and(|area| account.account.denies(area)) {
        return Err(forbidden());
    }
    if !route.is_rate_counted() {
        return Ok(Vec::new());
    }
    let tier = tier_of_path(&request.path);
    match account.usage.admit(tier, rate_limit, Instant::now()) {
        Admission::Allowed(report) => Ok(rate_limits::headers(&report, rate_limit, false)),
        Admission::Throttled(report) => Err(rate_limits::throttled(family, &report, rate_limit)),
        Admission::FlatCapped => Err(rate_limits::flat_capped()),
    }
}

/// The route's handler, with what it needs.
fn answer(route: Route, account: &mut AccountState, family: ApiFamily, call: Call) -> SimResponse {
    let Call { request, at_ms, rate_limit, contact_config, mut imports, import_seq, outbox } = call;
    let body = &request.body;
    match route {
        Route::AccountInfo => account::account_info(account, rate_limit),
        Route::ServerTime => account::server_time(),
        Route::GetContact { identifier, value } => either(contacts::get(account, identifier, value, contact_config)),
        Route::PatchContact { identifier, value } => {
            let merge = request.query_param("merge-option");
            either(contacts::upsert(
                account,
                identifier,
                value,
                merge,
                body,
                contact_context(&mut imports, contact_config),
            ))
        }
        Route::CreateContact => either(contacts::create(account, body, contact_context(&mut imports, contact_config))),
        Route::ImportContacts => imports::put_contacts(account, body, imports.config, import_seq),
        Route::ContactImportStatus { id } => either(imports::status(account, ImportKind::Contacts, id, &mut imports)),
        Route::ImportInsight => imports::put_insight(account, body, imports.config, import_seq),
        Route::InsightImportStatus { id } => either(imports::status(account, ImportKind::Insight, id, &mut imports)),
        Route::GetRecord(parts) => either(insight::get_record(account, parts)),
        Route::PutRecord(parts) => either(insight::put_record(account, parts, body)),
        Route::DeleteRecord(parts) => either(insight::delete_record(account, parts)),
        Route::ListCollections => insight::list_collections(account),
        Route::CreateCollection { name } => either(insight::create_collection(
            account,
            name,
            request.query_param("collectionScope"),
            request.query_param("collectionType"),
        )),
        Route::CollectionSchema { name } => either(insight::collection_schema(account, name)),
        Route::TriggeredSend => either(campaigns::send(account, at_ms, body, outbox)),
        Route::TriggeredBatch => either(campaigns::send_batch(account, at_ms, body, outbox)),
        Route::GetCampaign { id } => either(campaigns::get(account, id)),
        Route::DataFields => data_fields::list(account),
        Route::GetAddressBook { id } => either(address_books::get(account, id)),
        Route::RemoveFromAddressBook { book, contact } => {
            either(address_books::remove(account, book, contact, contact_config))
        }
        Route::RemoveManyFromAddressBook { book } => {
            either(address_books::remove_many(account, book, body, import_seq))
        }
        Route::EncodedSlash => encoded_slash(family, &request.path),
        Route::MethodNotAllowed => method_not_allowed(family, &request.method),
        Route::NotFound => not_found(family, &request.path),
    }
}

/// The single-contact calls' share of the run: they count contact ids with the imports.
fn contact_context<'a>(imports: &'a mut ImportContext, config: &'a ContactConfig) -> ContactContext<'a> {
    ContactContext { policy: imports.policy, config, next_contact_id: &mut *imports.next_contact_id }
}

/// A handler's answer, success or error.
fn either<E: Into<SimResponse>>(result: Result<SimResponse, E>) -> SimResponse {
    result.unwrap_or_else(Into::into)
}
