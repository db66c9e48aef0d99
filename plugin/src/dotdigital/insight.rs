//! Contact-scoped insight data (insight-data-v3.json): one record read
//! (`getContactInsightDataRecord`) or written (`putContactInsightDataRecord`), a collection
//! created (`postCreateInsightDataCollection`), and the 404s that say what is missing.

use serde_json::Value;

use super::{segment, Reply, Session};
use crate::platform::{LogLevel, Method};
use crate::wit::SyncError;

/// The 404 of a record call whose contact does not exist (a missing record or collection has
/// codes of their own).
const CONTACT_NOT_FOUND: &str = "insightData:contactNotFound";
const COLLECTION_NOT_FOUND: &str = "insightData:collectionNotFound";

/// Where a contact-scoped insight record lives.
pub struct RecordTarget<'a> {
    pub email: &'a str,
    pub collection: &'a str,
    /// `collectionType` used if the collection has to be created.
    pub collection_type: &'a str,
    pub key: &'a str,
}

impl RecordTarget<'_> {
    fn path(&self) -> String {
        format!(
            "/insightData/v3/contacts/email/{}/{}/{}",
            segment(self.email),
            segment(self.collection),
            segment(self.key)
        )
    }
}

/// What a record PUT came to. The PUT creates neither the contact nor the collection.
#[derive(Debug)]
pub enum Put {
    /// 201: a new record.
    Created,
    /// 200 or 204: the record replaced one with the same key.
    Replaced,
    /// 404: Dotdigital has no contact with the target's email.
    NoContact(Reply),
    /// 404: the account has no such collection.
    NoCollection(Reply),
}

/// What Dotdigital holds for a record.
#[derive(Debug, PartialEq)]
pub enum Stored {
    /// The record's JSON.
    Record(Value),
    /// No record, or no collection yet; the contact exists.
    Absent,
    /// No contact with the target's email, so no record either.
    NoContact,
}

pub fn put_record(session: &mut Session, target: &RecordTarget, record: &Value) -> Result<Put, SyncError> {
    let reply = session.send_json(Method::Put, &target.path(), record)?;
    match (reply.status(), reply.error_code().as_deref()) {
        (201, _) => Ok(Put::Created),
        (200 | 204, _) => Ok(Put::Replaced),
        (404, Some(CONTACT_NOT_FOUND)) => Ok(Put::NoContact(reply)),
        (404, Some(COLLECTION_NOT_FOUND)) => Ok(Put::NoCollection(reply)),
        _ => Err(reply.into_error()),
    }
}

/// `200 {key, json, …}`, or a 404 that says whether the contact, the collection or only the
/// record is missing.
pub fn get_record(session: &mut Session, target: &RecordTarget) -> Result<Stored, SyncError> {
    let reply = session.get(&target.path())?;
    match reply.status() {
        // The spec types `json` as a string holding JSON; the simulator returns the object.
        200 => Ok(match reply.json()?.get("json") {
            Some(Value::String(text)) => serde_json::from_str(text).map_or(Stored::Absent, Stored::Record),
            Some(json) => Stored::Record(json.clone()),
            None => Stored::Absent,
        }),
        404 if reply.error_code().as_deref() == Some(CONTACT_NOT_FOUND) => Ok(Stored::NoContact),
        404 => Ok(Stored::Absent),
        _ => Err(reply.into_error()),
    }
}

/// `POST /insightData/v3/collections/{name}` in contact scope: 201 created, 200 already there.
pub fn create_collection(session: &mut Session, name: &str, collection_type: &str) -> Result<(), SyncError> {
    let path = format!(
        "/insightData/v3/collections/{}?collectionScope=contact&collectionType={collection_type}",
        segment(name)
    );
    let reply = session.send_empty(Method::Post, &path)?;
    match reply.status() {
        200 | 201 => {
            session.platform().log(LogLevel::Info, &format!("insight collection {name} ready"));
            Ok(())
        }
        _ => Err(reply.into_error()),
    }
}

/// One cheap read (`getAllInsightDataCollections`): `Ok` when the API user may use insight
/// data (a 403 is `forbidden`).
pub fn can_read(session: &mut Session) -> Result<(), SyncError> {
    let reply = session.get("/insightData/v3/collections")?;
    match reply.status() {
        200 => Ok(()),
        _ => Err(reply.into_error()),
    }
}
