//! An import's status answer → where the import stands, record by record: the words each
//! import service uses for done, ended and running, and its report of created, updated and
//! failed items.

use serde_json::Value;

use super::imports::Import;
use crate::mapping::import::contact_key;
use crate::wit::{ImportFailure, ImportProgress, ImportReport, ImportResult, ImportState, ImportedContact, SyncAction};

/// What is wrong with a status answer, for an `unreadable` error.
pub type Unreadable = String;

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn count(value: &Value, key: &str) -> u32 {
    value.get(key).and_then(Value::as_u64).map(|n| n.min(u32::MAX as u64) as u32).unwrap_or(0)
}

/// What a status word says about an import.
#[derive(Debug, PartialEq, Eq)]
enum Word {
    Done,
    Ended,
    Running,
}

/// `GET /contacts/v3/import/{id}`: `Finished` is done; the failure words of contacts-v3.json
/// `getImportStatus` (`RejectedByWatchdog`, `Failed`, `ExceedsAllowedContactLimit`) and of
/// v2.json `ApiContactImportStatuses` (`InvalidFileFormat`, `Unknown`,
/// `NotAvailableInThisVersion`) ended it; anything else (`NotFinished`, a queued `NotStarted`,
/// a word added later) is still running, as Dotdigital's Magento extension reads them. Any case.
fn contact_word(word: &str) -> Word {
    let ended = [
        "RejectedByWatchdog",
        "Failed",
        "ExceedsAllowedContactLimit",
        "InvalidFileFormat",
        "Unknown",
        "NotAvailableInThisVersion",
    ];
    classify(word, &["Finished"], &ended)
}

/// `GET /insightData/v3/import/{id}`: `Complete` (the schema's enum) or `Finished` (its
/// examples) is done; `Failed`, `RejectedByWatchdog` and `NotAvailableInThisVersion` (v2.json
/// `ApiTransactionalDataImportStatuses`) ended it; anything else is still running. Any case.
fn insight_word(word: &str) -> Word {
    classify(word, &["Finished", "Complete"], &["Failed", "RejectedByWatchdog", "NotAvailableInThisVersion"])
}

/// A status word, any case: one of `done`, one of `ended`, or (anything else) still running.
fn classify(word: &str, done: &[&str], ended: &[&str]) -> Word {
    let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(word));
    if is(done) {
        Word::Done
    } else if is(ended) {
        Word::Ended
    } else {
        Word::Running
    }
}

/// The failure codes Dotdigital gives an item matched by a contactId it no longer knows
/// (contacts-v3.json `getImportStatus` example `contactNotFound`; the docs page's
/// `InvalidContactId`). Any case.
fn is_unknown_contact_id(code: &str) -> bool {
    ["contactNotFound", "invalidContactId"].iter().any(|c| c.eq_ignore_ascii_case(code))
}

/// One `failures[]` entry of a contact import report, and whether it was matched by contactId.
fn contact_failure(failed: &Value) -> (ImportFailure, bool) {
    let identifiers = failed.get("identifiers").cloned().unwrap_or(Value::Null);
    let key = text(&identifiers, "email")
        .map(|e| contact_key(&e))
        .or_else(|| identifiers.get("contactId").map(|id| id.to_string()))
        .unwrap_or_default();
    let reasons: Vec<&Value> = failed.get("failures").and_then(Value::as_array).into_iter().flatten().collect();
    let code =
        reasons.iter().filter_map(|r| r.get("failureCode").and_then(Value::as_str)).collect::<Vec<_>>().join(", ");
    let detail = reasons.iter().filter_map(|r| r.get("description").and_then(Value::as_str)).next();
    let code = if code.is_empty() { "unknown".to_string() } else { code };
    let by_contact_id = text(failed, "matchIdentifier").is_some_and(|m| m.eq_ignore_ascii_case("contactId"));
    (ImportFailure { key, code, detail: detail.map(str::to_string) }, by_contact_id)
}

/// A finished contact import's report (contacts-v3.json `getImportStatus`: `summary`,
/// `created[]`/`updated[]` of `contactReference {contactId, identifiers}`, `failures[]`).
/// An item matched by a stored contactId that Dotdigital no longer knows is not a failure: it is
/// named in `retry_without_contact_id`, for a follow-up import matched by email.
fn contact_result(status: &Value) -> ImportResult {
    let summary = status.get("summary").cloned().unwrap_or(Value::Null);
    let mut contacts = Vec::new();
    for (field, action) in [("created", SyncAction::Created), ("updated", SyncAction::Updated)] {
        for reference in status.get(field).and_then(Value::as_array).into_iter().flatten() {
            let email = reference.get("identifiers").and_then(|i| text(i, "email"));
            let id = reference.get("contactId").and_then(Value::as_u64);
            if let (Some(email), Some(contact_id)) = (email, id) {
                contacts.push(ImportedContact { key: contact_key(&email), contact_id, action });
            }
        }
    }
    let mut failures = Vec::new();
    let mut retry_without_contact_id = Vec::new();
    for failed in status.get("failures").and_then(Value::as_array).into_iter().flatten() {
        let (failure, by_contact_id) = contact_failure(failed);
        if by_contact_id && failure.code.split(", ").all(is_unknown_contact_id) && !failure.key.is_empty() {
            retry_without_contact_id.push(failure.key);
        } else {
            failures.push(failure);
        }
    }
    ImportResult {
        created: count(&summary, "newContacts"),
        updated: count(&summary, "updatedContacts"),
        contacts,
        failures,
        retry_without_contact_id,
    }
}

/// A finished insight import's report (insight-data-v3.json `getImportStatus`): failures keyed
/// by `key`; every imported record counts as updated (the report does not tell them apart).
fn insight_result(status: &Value) -> ImportResult {
    let summary = status.get("summary").cloned().unwrap_or(Value::Null);
    let failures = status
        .get("failures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|failed| ImportFailure {
            key: match failed.get("key") {
                Some(Value::String(key)) => key.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            },
            code: text(failed, "failureReason").unwrap_or_else(|| "Unknown".into()),
            detail: failed
                .get("details")
                .and_then(Value::as_array)
                .map(|d| d.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
                .filter(|d| !d.is_empty()),
        })
        .collect();
    ImportResult {
        created: 0,
        updated: count(&summary, "totalImported"),
        contacts: vec![],
        failures,
        retry_without_contact_id: vec![],
    }
}

/// A status answer → where the import stands, record by record.
pub fn import_progress(of: Import, status: &Value) -> Result<ImportProgress, Unreadable> {
    let word = text(status, "status").ok_or("no status in the import status")?;
    let (classified, service) = match of {
        Import::Contacts => (contact_word(&word), "contact"),
        Import::Insight => (insight_word(&word), "insight"),
    };
    Ok(match classified {
        Word::Running => ImportProgress::Running,
        Word::Ended => ImportProgress::Failed(format!("Dotdigital ended the {service} import as {word}")),
        Word::Done => ImportProgress::Finished(match of {
            Import::Contacts => contact_result(status),
            Import::Insight => insight_result(status),
        }),
    })
}

/// The 1.0 answer (`import-state`): counts and failures only. A contactId Dotdigital no longer
/// knows is a failure there, as 1.0 has no way to say "send again by email".
pub fn import_state(of: Import, status: &Value) -> Result<ImportState, Unreadable> {
    Ok(match import_progress(of, status)? {
        ImportProgress::Running => ImportState::Running,
        ImportProgress::Failed(why) => ImportState::Failed(why),
        ImportProgress::Finished(result) => {
            let mut failures = result.failures;
            if of == Import::Contacts {
                // Recomputed whole: 1.0 reports every failure the report lists.
                failures = status
                    .get("failures")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|f| contact_failure(f).0)
                    .collect();
            }
            ImportState::Finished(ImportReport { created: result.created, updated: result.updated, failures })
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn contact_import_status_reads_the_documented_report() {
        // A report in the shape of contacts-v3.json `getImportStatus`.
        let status = json!({"importId": "3f1c0a52", "status": "Finished",
            "summary": {"newContacts": 1, "updatedContacts": 1, "globallySuppressed": 0, "invalidEntries": 1, "duplicateIdentifiers": 0},
            "created": [{"contactId": 40001300, "identifiers": {"email": "ana.silva@example.com"}}], "updated": [],
            "failures": [{"matchIdentifier": "email", "identifiers": {"email": "Bad@@example"},
                          "failures": [{"failureCode": "invalidEmail", "description": "Invalid value for 'email'"}]}]});
        let ImportState::Finished(report) = import_state(Import::Contacts, &status).unwrap() else {
            panic!("finished")
        };
        assert_eq!((report.created, report.updated), (1, 1));
        assert_eq!(report.failures.len(), 1);
        assert_eq!(report.failures[0].key, "bad@@example");
        assert_eq!(report.failures[0].code, "invalidEmail");
        assert_eq!(report.failures[0].detail.as_deref(), Some("Invalid value for 'email'"));
        assert!(matches!(import_state(Import::Contacts, &json!({"status": "NotFinished"})), Ok(ImportState::Running)));
        assert!(matches!(
            import_state(Import::Contacts, &json!({"status": "RejectedByWatchdog"})),
            Ok(ImportState::Failed(_))
        ));
        assert!(import_state(Import::Contacts, &json!({})).is_err());
    }

    #[test]
    fn insight_import_status_accepts_both_success_words() {
        // A report in the shape of insight-data-v3.json `getImportStatus`.
        let status = json!({"importId": "9b2e4f1a", "status": "Finished", "collectionName": "Orders",
            "summary": {"totalRecords": 2, "totalImported": 1, "totalRejected": 1},
            "failures": [{"collectionOwner": {"ownerType": "contact", "contactIdentity": {"identifier": "email", "value": "ghost@example.com"}},
                          "failureReason": "ContactEmailDoesNotExist", "details": [], "key": "100046", "json": {"id": "100046"}}]});
        let ImportState::Finished(report) = import_state(Import::Insight, &status).unwrap() else { panic!("finished") };
        assert_eq!((report.created, report.updated), (0, 1));
        assert_eq!(report.failures[0].key, "100046");
        assert_eq!(report.failures[0].code, "ContactEmailDoesNotExist");
        assert_eq!(report.failures[0].detail, None);
        let mut complete = status.clone();
        complete["status"] = json!("Complete");
        assert!(matches!(import_state(Import::Insight, &complete), Ok(ImportState::Finished(_))));
        for running in ["NotStarted", "Processing"] {
            assert!(matches!(import_state(Import::Insight, &json!({"status": running})), Ok(ImportState::Running)));
        }
        assert!(matches!(import_state(Import::Insight, &json!({"status": "Failed"})), Ok(ImportState::Failed(_))));
    }

    #[test]
    fn a_contact_report_gives_each_contact_its_id_and_sends_unknown_stored_ids_again() {
        let status = json!({"importId": "x", "status": "Finished",
            "summary": {"newContacts": 1, "updatedContacts": 1},
            "created": [{"contactId": 40001300, "identifiers": {"email": "Ana@Example.com"}}],
            "updated": [{"contactId": 17, "identifiers": {"email": "bo@example.com", "mobileNumber": "4477"}}],
            "failures": [
                {"matchIdentifier": "contactId", "identifiers": {"email": "Gone@example.com", "contactId": 99},
                 "failures": [{"failureCode": "ContactNotFound", "description": "No contact"}]},
                {"matchIdentifier": "contactId", "identifiers": {"email": "bad@example.com", "contactId": 5},
                 "failures": [{"failureCode": "invalidContactId"}, {"failureCode": "invalidEmail"}]},
                {"matchIdentifier": "email", "identifiers": {"email": "cy@example.com"},
                 "failures": [{"failureCode": "contactNotFound"}]}]});
        let Ok(ImportProgress::Finished(result)) = import_progress(Import::Contacts, &status) else { panic!() };
        let contacts: Vec<(&str, u64, SyncAction)> =
            result.contacts.iter().map(|c| (c.key.as_str(), c.contact_id, c.action)).collect();
        assert_eq!(
            contacts,
            [("ana@example.com", 40001300, SyncAction::Created), ("bo@example.com", 17, SyncAction::Updated)]
        );
        assert_eq!(result.retry_without_contact_id, ["gone@example.com"]);
        // Another failure beside the unknown id, or a match by email: a failure.
        let failed: Vec<&str> = result.failures.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(failed, ["bad@example.com", "cy@example.com"]);
        // 1.0 has no retry: every listed failure is reported.
        let Ok(ImportState::Finished(report)) = import_state(Import::Contacts, &status) else { panic!() };
        assert_eq!(report.failures.len(), 3);
    }

    #[test]
    fn status_words_failure_words_end_and_others_run() {
        let word = |of, w: &str| import_progress(of, &json!({"status": w})).unwrap();
        for ended in [
            "RejectedByWatchdog",
            "Failed",
            "ExceedsAllowedContactLimit",
            "InvalidFileFormat",
            "Unknown",
            "NotAvailableInThisVersion",
            "failed",
        ] {
            let ImportProgress::Failed(why) = word(Import::Contacts, ended) else { panic!("{ended} ends it") };
            assert!(why.ends_with(ended), "{why}");
        }
        for running in ["NotFinished", "NotStarted", "Queued", ""] {
            assert!(matches!(word(Import::Contacts, running), ImportProgress::Running), "{running}");
        }
        assert!(matches!(word(Import::Contacts, "finished"), ImportProgress::Finished(_)));
        for ended in ["Failed", "RejectedByWatchdog", "NotAvailableInThisVersion"] {
            assert!(matches!(word(Import::Insight, ended), ImportProgress::Failed(_)), "{ended}");
        }
        for running in ["NotStarted", "Processing", "NotFinished", "Whatever"] {
            assert!(matches!(word(Import::Insight, running), ImportProgress::Running), "{running}");
        }
        for done in ["Complete", "Finished"] {
            assert!(matches!(word(Import::Insight, done), ImportProgress::Finished(_)), "{done}");
        }
        // 1.0's import-status reads the words the same way (a queued import is not failed).
        assert!(matches!(import_state(Import::Contacts, &json!({"status": "NotStarted"})), Ok(ImportState::Running)));
    }
}
