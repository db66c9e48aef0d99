//! The Dotdigital routes the simulator serves, and the checks every request passes on its way
//! to a handler: credentials (401), region (403), denied area (403), rate limit (429/400).

use std::time::Instant;

use crate::access::authenticate;
use crate::accounts::server_time;
use crate::contacts::ContactContext;
use crate::errors::{encoded_slash, forbidden, method_not_allowed, not_found, unauthorized, ApiFamily};
use crate::imports::{ImportContext, ImportKind};
use crate::limits::{self, Admission, Tier};
use crate::message::{SimRequest, SimResponse};
use crate::model::{Area, Region};
use crate::state::SimState;

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

    /// Triggered sends do not count toward the call allowance (API.md §3e).
    fn is_rate_counted(&self) -> bool {
        !matches!(self, Route::TriggeredSend | Route::TriggeredBatch)
    }
}

/// The account id the request's credentials belong to, for the request log.
pub(crate) fn account_id(state: &SimState, request: &SimRequest) -> Option<i64> {
    let index = authenticate(state.accounts.iter().map(|a| &a.account), request.authorization.as_deref())?;
    Some(state.accounts[index].account.id)
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
    let region = Region::of_host(&request.host);
    // account-info answers on r1 for every account: that is how a client finds its region.
    let region_ok = account.account.region == region || (matches!(route, Route::AccountInfo) && region == Region::R1);
    if !region_ok {
        return forbidden();
    }
    if Area::of_path(&request.path).is_some_and(|area| account.account.denies(area)) {
        return forbidden();
    }

    let mut rate_headers = Vec::new();
    if route.is_rate_counted() {
        let tier = Tier::of_path(&request.path);
        match account.usage.admit(tier, rate_limit, Instant::now()) {
            Admission::Allowed(report) => rate_headers = limits::headers(&report, rate_limit, false),
            Admission::Throttled(report) => return limits::throttled(family, &report, rate_limit),
            Admission::FlatCapped => return limits::flat_capped(),
        }
    }

    let response = match route {
        Route::AccountInfo => account.account_info(rate_limit),
        Route::ServerTime => server_time(),
        Route::GetContact { identifier, value } => answer(account.get_contact(identifier, value, contact_config)),
        Route::PatchContact { identifier, value } => {
            let merge_option = request.query_param("merge-option");
            let context = ContactContext {
                policy: *contact_policy,
                config: contact_config,
                next_contact_id: &mut *imports.next_contact_id,
            };
            answer(account.upsert_contact(identifier, value, merge_option, &request.body, context))
        }
        Route::CreateContact => {
            let context = ContactContext {
                policy: *contact_policy,
                config: contact_config,
                next_contact_id: &mut *imports.next_contact_id,
            };
            answer(account.create_contact(&request.body, context))
        }
        Route::ImportContacts => account.put_contact_import(&request.body, import_config, import_seq),
        Route::ContactImportStatus { id } => answer(account.import_status(ImportKind::Contacts, id, &mut imports)),
        Route::ImportInsight => account.put_insight_import(&request.body, import_config, import_seq),
        Route::InsightImportStatus { id } => answer(account.import_status(ImportKind::Insight, id, &mut imports)),
        Route::GetRecord(parts) => answer(account.get_record(parts)),
        Route::PutRecord(parts) => answer(account.put_record(parts, &request.body)),
        Route::DeleteRecord(parts) => answer(account.delete_record(parts)),
        Route::ListCollections => account.list_collections(),
        Route::CreateCollection { name } => answer(account.create_collection(
            name,
            request.query_param("collectionScope"),
            request.query_param("collectionType"),
        )),
        Route::CollectionSchema { name } => answer(account.collection_schema(name)),
        Route::TriggeredSend => answer(account.send_triggered(at_ms, &request.body, outbox)),
        Route::TriggeredBatch => answer(account.send_batch(at_ms, &request.body, outbox)),
        Route::GetCampaign { id } => answer(account.get_campaign(id)),
        Route::DataFields => account.data_fields(),
        Route::GetAddressBook { id } => answer(account.get_address_book(id)),
        Route::RemoveFromAddressBook { book, contact } => {
            answer(account.remove_from_address_book(book, contact, contact_config))
        }
        Route::RemoveManyFromAddressBook { book } => {
            answer(account.remove_many_from_address_book(book, &request.body, import_seq))
        }
        Route::EncodedSlash => encoded_slash(family, &request.path),
        Route::MethodNotAllowed => method_not_allowed(family, &request.method),
        Route::NotFound => not_found(family, &request.path),
    };
    response.with_headers(rate_headers)
}

fn answer<E: Into<SimResponse>>(result: Result<SimResponse, E>) -> SimResponse {
    result.unwrap_or_else(Into::into)
}
