//! Who is calling: the `Authorization` header's Basic credentials pick the account. (Region
//! and denied areas are part of the account model; `routes.rs` applies them.)

use base64::Engine;

use crate::model::SimAccount;

/// The index of the account whose API user and password the `Authorization` header carries.
pub(crate) fn authenticate<'a>(
    accounts: impl IntoIterator<Item = &'a SimAccount>,
    authorization: Option<&str>,
) -> Option<usize> {
    let (user, password) = basic_credentials(authorization?)?;
    accounts.into_iter().position(|account| account.accepts(&user, &password))
}

fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}
