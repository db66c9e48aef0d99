//! The embedded Dotdigital simulator: an HTTP/1.1 server on loopback that plays Dotdigital for
//! every endpoint the connector uses (the routes below, each from Dotdigital's OpenAPI files),
//! and a control API on a second loopback port. [`Simulator::start`] starts both;
//! [`serve_until_interrupted`] is the `dotdigital-harness sim` command.
//!
//! # Layers
//!
//! Each layer imports only from the layers below it (`model` ← `api` ← `server`):
//!
//! * `clock`, `redacted` and `settings` (the run's knobs: [`ImportConfig`], [`ContactConfig`],
//!   [`RateLimitConfig`] …) depend on nothing else in the crate.
//! * `model/`: pure state and Dotdigital's rules, no HTTP. Regions, areas, accounts with their
//!   typed data fields, lists and campaigns; contacts and how one is validated and written
//!   (`contact_patch`, `merge`, `contact_writes`); Insight collections and records; the two
//!   bulk imports (`import_book`, `import_progress`, `contact_import`, `insight_import`); sends;
//!   the rate-limit counters (`usage`); and `AccountState`, one account with all it holds.
//! * `config` parses accounts into the model once ([`SimConfig`]).
//! * `api/`: one file per API family (`account`, `data_fields`, `contacts`, `address_books`,
//!   `insight`, `campaigns`, `imports`), each reading its requests and building its answers,
//!   over `errors` (Dotdigital's two error formats) and `message` (request and response).
//! * `server/`: `routes` matches a request to a handler after credentials (`access`), region,
//!   area and rate limits (`rate_limits`); `listener` (Dotdigital) and `control` (`/_sim/`) are
//!   the two listeners over `transport`; `state` holds the accounts behind one lock; `simulator`
//!   is the public handle and `serve` the `sim` command.
//!
//! # Requests
//!
//! A harness forwards the connector's requests to `http://127.0.0.1:PORT/…` and keeps the original
//! `Host` header: the region is its `rN-` prefix (`r2-api.dotdigital.com` → r2); any other host
//! (such as `127.0.0.1:PORT`) counts as r1. Every request passes, in order: fault injection,
//! Basic credentials (401), region (403), denied area (403), rate limit (429 / flat-cap 400),
//! then its handler.
//!
//! | Route | Answers |
//! |---|---|
//! | `GET /v2/account-info` | `{id, properties:[{name,type,value}]}`; on r1 for every account, and on the account's own region; `ApiEndpoint` is `https://rN-api.dotdigital.com/`, or `https://rN-api.dotmailer.com/` for an account with `legacy_endpoint` |
//! | `GET /v2/server-time` | the UTC time as a JSON string |
//! | `GET /v2/data-fields` | `[{name, type, visibility, defaultValue}]` (v2.json `ApiDataField`) |
//! | `PATCH /contacts/v3/{identifier}/{value}?merge-option=` | 201 + contact (new; an unknown `contactId` creates a contact with a new id from the body's identifiers) / 200 + contact (existing); 409 `contacts:idAlreadyExists` `{errorCode, description}`; 400 `contacts:badJson` for an unknown `contactId` with no email or mobile number in the body |
//! | `GET /contacts/v3/{identifier}/{value}` | 200 contact / 404 `contacts:contactNotFound` |
//! | `POST /contacts/v3` | 201 + contact when every identifier is new / 409 `contacts:idAlreadyExists` `{errorCode, description}` when any exists / 400 `contacts:badJson` (a `createContactRequest`: `identifiers` with an email or mobile number required, no `resubscribeOptions`, no `matchIdentifier`) |
//! | `GET /v2/address-books/{id}` | 200 `{id, name, visibility, contacts}` / 404 `Error: ERROR_ADDRESSBOOK_NOT_FOUND` |
//! | `DELETE /v2/address-books/{addressBookId}/contacts/{contactId}` | 204 / 404 `Error: ERROR_ADDRESSBOOK_NOT_FOUND` or `Error: ERROR_CONTACT_NOT_FOUND` / 400 `Contact is suppressed. ERROR_CONTACT_SUPPRESSED` for a contact whose email channel is unsubscribed or suppressed (it stays on the list; [`ContactConfig::unsubscribed_list_removal`] `ignored` answers 204 instead) |
//! | `POST /v2/address-books/{addressBookId}/contacts/delete` (array of ≤5000 contact ids) | 202 `{id, status: "Started"}` / 400 `… ERROR_PARAMETER_INVALID` / 404 `Error: ERROR_ADDRESSBOOK_NOT_FOUND` |
//! | `PUT·GET·DELETE /insightData/v3/contacts/{identifier}/{value}/{collection}/{key}` | 201/204 · 200 record · 204 |
//! | `POST /insightData/v3/collections/{name}?collectionScope=&collectionType=` | 201 new / 200 existing / 412 over 1000 |
//! | `GET /insightData/v3/collections`, `…/collections/{name}/schema` | list · `{collectionName, collectionType, schema: {path: type}}` |
//! | `POST /v2/email/triggered-campaign` (`/batch`) | 200 empty (batch: `[{index, failureCode?, failureReason?}]`); 404 unknown campaign; 400 `ERROR_CAMPAIGN_SENDNOTPERMITTED` unless its status is `Triggered` |
//! | `GET /v2/campaigns/{id}` | `ApiCampaign`: `{id, name, subject, fromName, htmlContent, plainTextContent, replyAction, replyToAddress, isSplitTest, status}` |
//! | `PUT /contacts/v3/import` | 202 `{importId}` / 400 `contacts:badJson` / 429 `contacts:tooManyActiveImports` |
//! | `GET /contacts/v3/import/{importId}` | 200 `{importId, status: "NotFinished"}`, then `{importId, status: "Finished", summary, created, updated, failures}` / 400 `contacts:invalidId` / 404 `contacts:importNotFound` |
//! | `PUT /insightData/v3/import` | 202 `{importId}` / 400 `insightData:badJson` / 429 `insightData:tooManyActiveImports` / 412 over 1000 collections |
//! | `GET /insightData/v3/import/{importId}` | 200 `{importId, status: "NotStarted"\|"Processing"}`, then `{importId, status: "Finished", collectionName, summary, failures?}` / 400 `insightData:invalidId` / 404 `insightData:importNotFound` |
//!
//! Contact answers (PATCH, POST, GET) carry no `lists` unless
//! [`ContactConfig::contact_answers_include_lists`] is set (see "Choices" below).
//! Paths are matched case-insensitively,
//! one trailing slash is ignored, a known path with another method gets 405, an unknown one 404,
//! and a path with an encoded `/` (`%2F`, any case) in a segment 400.
//! Request bodies over [`ImportConfig::max_body_bytes`] (default 50,000,000: both import pages'
//! "50 MB", developer.dotdigital.com/reference/importcontacts-1 and
//! …/reference-link/importinsightdata, read as decimal megabytes, the stricter reading;
//! Content-Length or counted while reading) get [`ImportConfig::oversize_body_status`] (default
//! 400, assumed: the answer is not documented) and `Connection: close`.
//!
//! # Bulk imports (contacts-v3.json `importContacts`, `getImportStatus`; insight-data-v3.json `importInsightData`, `getImportStatus`)
//!
//! Both imports are asynchronous, as Dotdigital's are: the `PUT` checks only the body's shape
//! and the active-import cap, and answers `202 {"importId": "<guid>"}`; the import is
//! **applied when it finishes**, and nothing it carries is visible before. It finishes at the
//! status GET after [`ImportConfig::contact_polls_to_finish`] / `insight_polls_to_finish`
//! unfinished answers (default 1: the first GET says `NotFinished` / `NotStarted`, the second
//! `Finished`; later unfinished Insight answers say `Processing`), or
//! [`ImportConfig::finish_after_ms`] after it was accepted (default 10 s; `None` = polls only),
//! checked whenever the account calls, the control API is read or a [`Simulator`] read-out is
//! taken. The running contact word is [`ImportConfig::contact_running_status`] (`NotStarted` or
//! any word); [`ImportConfig::contact_end_status`] / `insight_end_status` make imports end with a
//! failure word (`RejectedByWatchdog`, `Failed`, …) instead, applying nothing. Unfinished imports count against the caps ([`ImportConfig::max_active_contact_imports`]
//! 25, contacts-v3.json's 429 example; [`ImportConfig::max_active_insight_imports`] 5,
//! developer.dotdigital.com/reference-link/importinsightdata). An import belongs to its account: another account's id, or the other kind's, is 404.
//! Import ids are version-4-shaped GUIDs; a status path with anything else gets 400 `invalidId`
//! (braces and any casing are accepted).
//!
//! * **Contacts** (`model/contact_import.rs`): each contact is validated with the PATCH's rules, matched
//!   by its `matchIdentifier` (`email`, `mobileNumber` or `contactId`; `identifiers.contactId` only
//!   matches, contacts-v3.json `importContacts` note), then created or updated with the body's
//!   `mergeOption` (`overwrite` default, `overwriteIfNotEmpty`, `overwriteIfEmpty`, any casing).
//!   Problems never change the 202: they land in `failures` with a `failureCode` spelled per
//!   [`ImportConfig::failure_code_casing`] (camel default). The mapping of problems to codes, and
//!   which summary count each goes to, is tabled in `model/contact_import.rs`. A suppressed contact is
//!   not updated and counts in `summary.globallySuppressed` (contacts-v3.json
//!   `inline_response_200_2.summary.globallySuppressed`: "suppressed at the account level, so
//!   can't be updated").
//! * **Insight** (`model/insight_import.rs`): the collection is created when the import is applied if
//!   missing; records are upserted by key and owned by the contact their `contactIdentity` names;
//!   contacts are never created. Per-record `failureReason`s are tabled in `model/insight_import.rs`;
//!   a key another contact owns gets [`ImportConfig::key_owned_by_other_contact`]
//!   (`DuplicateKey`); type clashes with the inferred schema are also listed in
//!   `/_sim/schema-conflicts`. The finished word is [`ImportConfig::insight_finished_status`]
//!   (`Finished` default, or `Complete`).
//!
//! # What the documents say, and where
//!
//! Each behaviour cites its source beside the code; the main ones:
//!
//! * **New contacts are `subscribed`** unless the PATCH sets `channelProperties.email.status`
//!   (contacts-v3.json `channelProperties.email.status`: "for new contacts this defaults to
//!   subscribed"); with `optInType: verifiedDouble` the channel is `pendingOptIn` until confirmed
//!   and a confirmation email is recorded (`optInType` description, which does not limit this
//!   to new contacts). An existing contact's status otherwise changes only when sent.
//!   By default ([`ContactConfig::verified_double`] `every_request`) any PATCH or POST carrying
//!   `verifiedDouble` challenges a contact whose email channel is subscribed or pending; with
//!   `new_or_status_sent` only a new contact or a request sending `status: subscribed` is
//!   challenged. assumed: an unsubscribed or suppressed channel, or a contact without an email,
//!   is never challenged unless the request sends a status (a challenge would resubscribe it).
//!   Contact imports always read it the narrower way.
//! * **Typed data fields** (v2.json `ApiDataField`, `ApiDataTypes`): `String`, `Numeric`, `Date`,
//!   `Boolean`. Values that do not fit are refused (rules in `model/data_fields.rs`).
//! * **Campaign status** (v2.json `ApiCampaign.status`, `ApiCampaignStatuses`) and **lists**
//!   (v2.json `ApiAddressBook`; contacts-v3.json `contact_lists` `{id, name, status}`).
//! * **409 on PATCH and POST** is exactly contacts-v3.json's example: `{errorCode:
//!   "contacts:idAlreadyExists", description}`, no `details`. `POST /contacts/v3` is create-only
//!   (`createContact`); a new contact's channels default as on the PATCH.
//!
//! # Choices where Dotdigital is silent
//!
//! Where the documents say nothing the simulator takes the stricter reading, and every error
//! code the documents do not give for that call is marked `assumed:` beside the code.
//!
//! * **Error codes the simulator invented** (v3): `<service>:resourceNotFound` (unknown path),
//!   `<service>:methodNotAllowed` (405), `<service>:tooManyRequests` (429; v2 paths get
//!   `"… ERROR_RATE_LIMIT_EXCEEDED"`), `insightData:keyExistsForDifferentContact` (400: a record
//!   key owned by another contact, after v2's `KeyExistingForDifferentContact`) and
//!   `insightData:collectionScopeMismatch` (400: a contact record PUT into an account-scoped
//!   collection). Every invalid contact body gets `contacts:badJson` with one `details` entry per
//!   problem (`item` = the JSON path); a bad `merge-option` or path value gets `contacts:invalidId`;
//!   a missing or bad `collectionScope`/`collectionType` gets `insightData:invalidId`. A record
//!   whose type clashes with the collection schema gets `insightData:badJson` naming the path and
//!   both types. A body over 50 MiB gets `<service>:badJson` (v3) or `ERROR_MALFORMED_REQUEST` (v2).
//! * **403** (wrong region, denied area), the flat cap and the transient outage use the v2 body
//!   `{"message"}` on every path.
//! * **`lists` in contact answers**: contacts-v3.json declares `contact.lists` optional, and
//!   `getContacts` returns lists only with `include=lists`; what the single-contact answers
//!   carry is not documented. The stricter reading: the PATCH, POST and GET answers have no `lists`
//!   key; [`ContactConfig::contact_answers_include_lists`] restores `[{id, name, status}]`.
//!   The control API's contact view always has them.
//! * **Contacts**: the contact `status` follows the email channel (the SMS one without email);
//!   SMS starts `noSubscription` (its default is an account setting the simulator fixes).
//!   Emails are stored lower-case. A PATCH by `contactId` that matches nothing creates the
//!   contact from the body's identifiers (importcontact page, quoted in `api/contacts.rs`); with
//!   neither email nor mobile number in the body it gets `400 contacts:badJson` naming
//!   `identifiers` (assumed: no code is documented).
//!   A list's `status` on a contact is `suppressed` / `pending` / `subscribed` after the email
//!   channel. An unknown list id in a PATCH is refused (`contacts:badJson`).
//! * **Data-field values**: `String` takes JSON strings only, up to `max_string_length`
//!   (default 255, Dotdigital support's figure for text fields); `Numeric` JSON numbers only;
//!   `Boolean` `true`/`false` only; `Date` a `YYYY-MM-DD` or RFC 3339 string, returned as
//!   `YYYY-MM-DDTHH:MM:SSZ` (UTC). `null` clears any of them. A value that does not fit gets
//!   `400 contacts:badJson` with `details[{item: "dataFields.NAME", description}]` (assumed:
//!   no code is declared for it). Auto-created fields take their type from the value.
//! * **Triggered sends** go only to campaigns whose status is `Triggered`; any other status gets
//!   `400 "… ERROR_CAMPAIGN_SENDNOTPERMITTED"` (assumed; the transactional-email docs speak only
//!   of "a triggered campaign").
//! * **Lists**: removing a contact that exists but is not on the list gets
//!   `404 Error: ERROR_CONTACT_NOT_FOUND`; non-numeric v2 path ids get
//!   `400 "… ERROR_PARAMETER_INVALID"`. A v2 removal of a contact whose email channel is
//!   unsubscribed or suppressed is not processed (developer.dotdigital.com/reference/unified-contacts,
//!   quoted in `api/address_books.rs`); how it is answered is not documented: assumed `400
//!   "Contact is suppressed. ERROR_CONTACT_SUPPRESSED"` (the stricter reading), or a `204` with
//!   [`ContactConfig::unsubscribed_list_removal`] `ignored`.
//! * **Encoded `/`** in a path segment: `400` with `<service>:invalidId` (v3) or
//!   `"… ERROR_PARAMETER_INVALID"` (v2), after credentials, region and rate limit.
//! * **Merge options** apply to data fields and identifiers: `overwrite` writes what is sent
//!   (`null` clears, kept as `null`); `overwrite-if-not-empty` ignores `null` and blank strings;
//!   `overwrite-if-empty` writes only fields that are absent, `null` or blank. Channel properties
//!   are written when sent; lists are only ever added. The response's `dataFields` hold the fields
//!   the contact was ever given.
//! * **Insight data**: collection names are matched exactly (case-sensitive). The schema types are
//!   `string`, `number`, `boolean`, `object`, `array`; array elements are at `path[]`.
//! * **Rate limits**: windows open at the first counted call after the previous window ended.
//!   Every call except triggered sends counts; `/import` paths count in the Low tier, the rest in
//!   the `High` tier (`default_limit`). With `flat_hourly_limit` set, both the flat cap and the
//!   tiers apply. Counted responses always carry `X-RateLimit-*` headers; a 429 also carries
//!   `Retry-After` when configured. `account-info` reports `ApiCallsInLastHour` from an hourly
//!   window and `ApiCallsRemaining` against the flat cap (2000 when off).
//! * **Header case**: hyper cannot write `X-RateLimit-*` in that exact case. By default headers are
//!   title-cased (`X-Ratelimit-Limit`, `Content-Type`); with `lowercase_headers` they are all
//!   lower-case. Clients must match names case-insensitively either way. The setting is read per
//!   connection.
//! * **Request log**: every request to the Dotdigital port is logged, control API requests are
//!   not; `status` 0 means no response was written (dropped on purpose, the client went away, or
//!   still in flight); bodies are kept up to 1 MiB. Secrets are not: the `Authorization` header is
//!   never kept (`account_id` names the account whose credentials were valid) and
//!   `x-ddg-integration-token` only as a [`Redacted`] fingerprint (`sha256:` + 16 hex digits).
//!   `Send::at_ms` and the log's times are milliseconds since the simulator started.
//! * `reset` keeps accounts, current passwords and the contact config but restores their
//!   configured data fields and forgets confirmation emails;
//!   it forgets imports but keeps the import config and the import counter (ids never repeat).
//! * **Imports** (assumed, each marked beside its code): unknown top-level keys, and contacts or
//!   records that are not objects, fail the whole PUT with `badJson`; of items repeating an
//!   identifier (contacts) or a key (records) the first is imported and each later one fails
//!   (the spec's example lists one `duplicateIdentifier` failure); an in-progress status has only
//!   `importId` and `status`; a finished Insight report leaves out `failures` when there are none
//!   (`minItems: 1`); an existing collection of another scope or type refuses an Insight import
//!   with the invented `insightData:collectionScopeMismatch` / `collectionTypeMismatch` (400);
//!   a sixth Insight import gets `429` with the invented `insightData:tooManyActiveImports`.
//!
//! # Accounts file
//!
//! A JSON array of `{id, name, api_user, api_password, region?, legacy_endpoint?, campaigns?,
//! lists?, data_fields?, denied_areas?}`. `campaigns`: ids (status `Triggered`) or
//! `{id, name?, status?}`; `lists`: ids (named `List <id>`) or `{id, name?, visibility?}`;
//! `data_fields`: names (`String`) or `{name, type, visibility?, default_value?}`.
//!
//! # Faults
//!
//! A [`Fault`] matches by method (any when absent) and by a prefix of the raw path and query, in
//! injection order; `times` counts down (absent = every time). Faults fire before credentials are
//! checked and faulted requests are logged. `MalformedAfter` sends half the real body (or
//! `{"truncated` when there was none) with the handler's status, a 204 becoming 200.
//! As JSON (`POST /_sim/faults`):
//!
//! ```json
//! {"method": "PATCH", "path_prefix": "/contacts/v3", "times": 2,
//!  "action": {"status": {"status": 503, "body": ""}}}
//! {"action": "drop_before"}
//! ```
//!
//! `action` is one of `{"status": {"status": N, "body": "…"}}`, `{"delay_before": {"ms": N}}`,
//! `{"delay_after": {"ms": N}}`, `"drop_before"`, `"drop_after"`, `"malformed_after"`,
//! `{"rate_limited": {"seconds": N}}`, `"api_usage_exceeded"`, `"temporarily_unavailable"`.
//!
//! # Control API (its own port, no auth)
//!
//! Served on [`Simulator::control_addr`], a loopback port apart from the Dotdigital one, so no
//! request sent to a Dotdigital host can reach it: on the Dotdigital port `/_sim/…` is an unknown
//! path like any other (401 without valid credentials, else 404 with the usual not-found body),
//! and is logged. Control requests are neither logged nor faulted. The `sim` command prints both
//! addresses as one stdout line: `{"api":"http://127.0.0.1:P","control":"http://127.0.0.1:Q"}`.
//!
//! `GET /_sim/accounts` (passwords left out) · `GET /_sim/contacts?account=ID` (each contact
//! as `GET /contacts/v3/…` answers it, always with `lists` `[{id, name, status}]`; the email
//! status and opt-in type are `channelProperties.email.status` / `.optInType`) ·
//! `GET /_sim/records?account=ID&collection=NAME` · `GET /_sim/collections?account=ID` ·
//! `GET /_sim/schema?account=ID&collection=NAME` · `GET /_sim/schema-conflicts?account=ID` ·
//! `GET /_sim/imports[?account=ID]` (`[{id, account, kind: "contacts"|"insight", status,
//! finished, polls, submitted, collectionName, summary}]`, oldest first; reading it does not
//! count as a poll; `summary` is `null` until finished) ·
//! `GET /_sim/import-config` · `PATCH /_sim/import-config` (a JSON object of the
//! [`ImportConfig`] fields to change; answers the new config) ·
//! `GET /_sim/confirmation-emails?account=ID` (`[{contactId, email, sent}]`, oldest first: the
//! confirmation emails verified double opt-in sent) ·
//! `GET /_sim/contact-config` · `PATCH /_sim/contact-config` (likewise for [`ContactConfig`]:
//! `{"contact_answers_include_lists": false, "unsubscribed_list_removal": "error"|"ignored",
//! "verified_double": "every_request"|"new_or_status_sent"}`) ·
//! `GET /_sim/sends` · `GET /_sim/requests` (the request log, redacted as above) ·
//! `POST /_sim/faults` (a fault as above) · `DELETE /_sim/faults` · `POST /_sim/reset`.

mod api;
mod clock;
mod config;
mod model;
mod redacted;
mod server;
mod settings;

#[cfg(test)]
mod tests;

pub use config::{DemoAccount, SimConfig, DEMO_ACCOUNT, DEMO_R2_ACCOUNT};
pub use model::{
    AddressBook, Area, Campaign, CampaignStatus, DataField, DataFieldType, Region, Send, SimAccount, Visibility,
};
pub use redacted::Redacted;
pub use server::faults::{Fault, FaultAction};
pub use server::request_log::RequestRecord;
pub use server::serve::serve_until_interrupted;
pub use server::simulator::Simulator;
pub use settings::{
    ContactConfig, FailureCodeCasing, ImportConfig, InsightFinishedStatus, RateLimitConfig, ResetMode,
    UnknownDataField, UnprocessedListRemoval, VerifiedDoubleReading,
};
