//! The account's contact data fields (`GET /v2/data-fields`), read at most once a day: the
//! list is kept in the subscription's persistent data under `data-fields:{api user}` for
//! [`CACHE_TTL_SECONDS`], since every customer sync needs the fields' types.

use super::Session;
use crate::mapping::data_fields::AccountFields;
use crate::platform::LogLevel;
use crate::wit::SyncError;

const PATH: &str = "/v2/data-fields";
/// A day: data fields are created by hand in Dotdigital and change rarely.
pub const CACHE_TTL_SECONDS: u32 = 86_400;

/// The host-data key of an API user's data fields. Users are emails, so lowercase them.
pub fn cache_key(api_user: &str) -> String {
    format!("data-fields:{}", api_user.trim().to_ascii_lowercase())
}

/// Where the fields came from: a cached list may be up to a day old.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Cached,
    Fetched,
}

/// The cached list when there is a readable one, else [`fetch`].
pub fn account_fields(session: &mut Session) -> Result<(AccountFields, Freshness), SyncError> {
    let cached = session
        .platform()
        .get_data(&cache_key(session.api_user()))
        .and_then(|text| serde_json::from_str(&text).ok())
        .and_then(|json| AccountFields::from_json(&json).ok());
    match cached {
        Some(fields) => Ok((fields, Freshness::Cached)),
        None => Ok((fetch(session)?, Freshness::Fetched)),
    }
}

/// `GET /v2/data-fields` (200, `[ApiDataField]`), cached for the next day's syncs. A cache
/// that cannot be written only costs another read next time.
pub fn fetch(session: &mut Session) -> Result<AccountFields, SyncError> {
    let reply = session.get(PATH)?;
    if reply.status() != 200 {
        return Err(reply.into_error());
    }
    let json = reply.json()?;
    let fields = AccountFields::from_json(&json)
        .map_err(|what| super::errors::unreadable(reply.status(), &reply.endpoint, &what))?;
    let platform = session.platform();
    let key = cache_key(session.api_user());
    if let Err(why) = platform.set_data(&key, &fields.to_json().to_string(), Some(CACHE_TTL_SECONDS)) {
        platform.log(LogLevel::Warn, &format!("data-field list not cached: {why}"));
    }
    Ok(fields)
}
