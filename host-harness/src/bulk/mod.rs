//! `bulk contacts|orders`: a subscription's existing records loaded through Dotdigital's
//! import APIs (contacts-v3.json `importContacts`, insight-data-v3.json `importInsightData`) instead
//! of one call per record. The input is cut in
//! batches in input order; each batch becomes one import, built by the component (which
//! validates and maps every record as its single-record flow does). The host keeps at most
//! the documented number of imports running, waits between status reads, and records each
//! batch in the ledger (`ledger.rs`), so a run killed at any moment resumes where it was:
//! a started import is polled, not sent again; a batch whose `PUT` got no recorded answer
//! is sent again whole (imports are upserts).
//!
//! Every record gets one output line, in input order, in the `sync` command's shape. With a
//! contract 1.1 component the report gives each contact its Dotdigital id, records the
//! component asks to send again without their stored id go in a follow-up import, and
//! customers who said no to marketing are taken off the marketing lists once their import
//! finished (`leave-marketing-lists`). A 1.0 component has none of that: its contacts' lines
//! carry no external id (with a message saying why), and a contacts load with marketing lists
//! is refused, as it could not take anyone off them.
//!
//! Within one load the last version of a record wins, as it does when `sync` runs the same
//! input: a first pass over the input finds, per key (a contact's email, an order's transaction
//! number, as the component keys its imports), the last record holding it; earlier ones are
//! not sent, and their lines say which line superseded them. A load that already finished
//! says so when run again, and its ledger is pruned a while after it finished.
//!
//! A load is the bytes it sent: the first pass keeps a digest of each record, and every later
//! pass checks each record it reads against it before a batch holding it is sent. An input
//! changed since the load began stops the load (exit 2) with nothing of the change sent, so
//! the ledger, keyed by the input's hash, never holds a batch of other bytes.

pub mod ledger;
pub mod limits;
mod progress;

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use self::ledger::{BatchRow, BatchState, Entry, FinishedLoad, Ledger, RecordFailure, FINISHED_LOADS_KEPT};
use self::limits::BulkLimits;
use self::progress::Progress;
use crate::digest::hex;
use crate::failure::Failure;
use crate::host::log::{clip, Level, Redactor};
use crate::input::Item;
use crate::interrupt::{self, Interrupted};
use crate::output;
use crate::platform::Platform;
use crate::records;
use crate::runtime::bindings::{
    ImportBatch, ImportBegun, ImportFailure, ImportKind, ImportProgress, ImportRecord, ImportResult, ImportState,
    SyncAction, SyncError,
};

/// Input JSON per import, whatever the record count: a batch of large orders (many lines) is
/// cut sooner, so the batch stays a small part of the component's memory (`bulk` runs it with
/// 256 MiB) whatever the component says its imports may take.
pub const MAX_BATCH_INPUT_BYTES: usize = 12 << 20;
/// Dotdigital asks for a status read every 5–30 s (developer.dotdigital.com/reference-link/
/// importinsightdata): the first after
/// `poll_interval`, then half as long again each time, up to this.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// The age an import may reach, from its start, across runs, before the load stops (exit 2)
/// with the import kept in the ledger: an import of 20,000 contacts takes minutes, never an hour.
pub const DEFAULT_IMPORT_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BulkFlow {
    Contacts,
    Orders,
}

impl BulkFlow {
    pub fn parse(value: &str) -> Option<BulkFlow> {
        match value {
            "contact" | "contacts" => Some(BulkFlow::Contacts),
            "order" | "orders" => Some(BulkFlow::Orders),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BulkFlow::Contacts => "contacts",
            BulkFlow::Orders => "orders",
        }
    }

    /// The import kind its records go in (an orders load also imports contacts first, in
    /// batches of the same size).
    pub fn import_kind(self) -> ImportKind {
        match self {
            BulkFlow::Contacts => ImportKind::Contacts,
            BulkFlow::Orders => ImportKind::Orders,
        }
    }

    /// The `flow` of a failed record's line, as `sync` names it.
    fn record_flow(self) -> &'static str {
        match self {
            BulkFlow::Contacts => "contact",
            BulkFlow::Orders => "order",
        }
    }

    /// The phases, in order: orders need their contacts first, since Dotdigital's insight
    /// import never creates contacts (developer.dotdigital.com/reference-link/importinsightdata) and
    /// rejects records for unknown ones.
    fn phases(self) -> &'static [Phase] {
        match self {
            BulkFlow::Contacts => &[Phase::Contacts],
            BulkFlow::Orders => &[Phase::OrderContacts, Phase::Orders],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Contacts,
    /// The contacts the component asked to send again without their stored id, after every
    /// batch of `Contacts` finished.
    ContactsAgain,
    OrderContacts,
    Orders,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Contacts => "contacts",
            Phase::ContactsAgain => "contacts-again",
            Phase::OrderContacts => "order-contacts",
            Phase::Orders => "orders",
        }
    }

    fn kind(self) -> ImportKind {
        match self {
            Phase::Contacts | Phase::ContactsAgain | Phase::OrderContacts => ImportKind::Contacts,
            Phase::Orders => ImportKind::Orders,
        }
    }

    /// Imports of this phase's kind that may run at once, as the component says.
    fn max_active(self, limits: &BulkLimits) -> usize {
        limits::of_kind(limits, self.kind()).max_running as usize
    }

    /// The phase whose failures are the records' own (the order-contacts phase only prepares).
    fn reports_records(self) -> bool {
        self != Phase::OrderContacts
    }
}

pub struct BulkOptions {
    pub flow: BulkFlow,
    pub input: PathBuf,
    pub batch_size: usize,
    /// How imports are sized and paced: the component's word (`bulk::limits::of`).
    pub limits: BulkLimits,
    pub poll_interval: Duration,
    /// Forget the ledger of this load and send everything again.
    pub restart: bool,
    /// The age an import may reach, counted from its start across runs, before the load stops
    /// (resumably).
    pub import_timeout: Duration,
    /// What shapes the imports besides the input: the settings without their secrets, and the
    /// component's SHA-256. A load resumes only with the same; changed settings are a new load.
    pub shape: String,
}

/// Totals of one phase, from the ledger (so each record counts once, whatever the runs).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct PhaseTotals {
    pub created: u64,
    pub updated: u64,
    pub failed: u64,
    pub skipped: u64,
    pub imports: u64,
}

/// What a load did: the summary line's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkSummary {
    pub flow: BulkFlow,
    pub total: u64,
    pub records: PhaseTotals,
    /// Orders only: the contacts made for them.
    pub contacts: Option<PhaseTotals>,
    /// The load had finished in an earlier run: nothing was sent, the lines are its record.
    pub already_loaded: bool,
}

impl BulkSummary {
    pub fn to_json(&self) -> Value {
        let t = &self.records;
        let mut line = json!({
            "summary": true, "flow": self.flow.record_flow(), "total": self.total, "created": t.created,
            "updated": t.updated, "failed": t.failed, "skipped": t.skipped, "imports": t.imports,
        });
        if let Some(c) = &self.contacts {
            line["contacts"] =
                json!({"created": c.created, "updated": c.updated, "failed": c.failed, "imports": c.imports});
        }
        if self.already_loaded {
            line["already_loaded"] = json!(true);
        }
        line
    }
}

/// One input record as the batch holds it: its position, its id, the line of the file it
/// starts on, and the JSON; when a later record holds the same key, that one's position and line.
struct InputRecord {
    position: usize,
    id: String,
    line: usize,
    value: Result<Value, String>,
    superseded_by: Option<(usize, usize)>,
}

/// What makes two records of a load the same Dotdigital object, as the component keys its
/// imports (`plugin/src/mapping/import.rs`): a contact's email, trimmed and lower-cased; an
/// order's transaction number, trimmed. Only a record the flow would send has a key: one that
/// is not JSON, not readable as its type, without the field, or an order of a type the
/// subscription does not sync never supersedes another and is never superseded.
struct KeyRule {
    flow: BulkFlow,
    /// The transaction types synced as orders (`None`: not known, every type counts).
    order_types: Option<Vec<String>>,
}

/// A record key as the first pass keeps it: 16 bytes of its SHA-256, so memory grows by a
/// few dozen bytes per distinct record, never by the records.
type KeyHash = u128;

/// A record as the first pass read it: 16 bytes of the SHA-256 of its line and its JSON (or
/// why it is not JSON), what a batch would send of it. 16 bytes a record, never the records.
type RecordDigest = u128;

fn record_digest(item: &Item) -> RecordDigest {
    let mut hasher = Sha256::new();
    hasher.update((item.line as u64).to_be_bytes());
    match &item.record {
        Ok(value) => {
            hasher.update(b"+");
            // Writing to a hasher cannot fail.
            let _ = serde_json::to_writer(&mut hasher, value);
        }
        Err(not_json) => hasher.update(format!("-{not_json}")),
    }
    first_16(&hasher.finalize())
}

/// The first 16 bytes of a SHA-256 digest.
fn first_16(digest: &[u8]) -> u128 {
    let mut bytes = [0; 16];
    bytes.iter_mut().zip(digest).for_each(|(to, from)| *to = *from);
    u128::from_be_bytes(bytes)
}

impl KeyRule {
    fn key(&self, value: &Value) -> Option<KeyHash> {
        let text = match self.flow {
            BulkFlow::Contacts => records::customer(value, None).ok()?.email_address?.trim().to_lowercase(),
            BulkFlow::Orders => {
                let order = records::transaction(value).ok()?;
                if let Some(types) = &self.order_types {
                    let kind = order.transaction_type?;
                    if !types.iter().any(|known| known.trim().eq_ignore_ascii_case(kind.trim())) {
                        return None;
                    }
                }
                order.transaction_number?.trim().to_string()
            }
        };
        if text.is_empty() {
            return None;
        }
        Some(first_16(&Sha256::digest(text.as_bytes())))
    }
}

/// Per key, the last record of the input holding it: its position and line.
struct LastVersions {
    rule: KeyRule,
    last: HashMap<KeyHash, (usize, usize)>,
}

impl LastVersions {
    /// The later record (position, line) that supersedes the record at `position`, if any.
    fn superseding(&self, position: usize, value: &Value) -> Option<(usize, usize)> {
        let later = *self.last.get(&self.rule.key(value)?)?;
        (later.0 > position).then_some(later)
    }
}

/// What the first pass over the input found: the SHA-256 of its bytes (the load's
/// fingerprint), per record key the last record holding it, and each record's digest.
struct FirstPass {
    fingerprint: String,
    last_versions: LastVersions,
    digests: Arc<[RecordDigest]>,
}

fn first_pass(path: &Path, rule: KeyRule) -> Result<FirstPass> {
    let mut last = HashMap::new();
    let mut digests = Vec::new();
    let fingerprint = read_input(path, |item| {
        digests.push(record_digest(&item));
        if let Some(key) = item.record.as_ref().ok().and_then(|value| rule.key(value)) {
            last.insert(key, (digests.len(), item.line));
        }
        true
    })?;
    Ok(FirstPass { fingerprint, last_versions: LastVersions { rule, last }, digests: digests.into() })
}

/// Reads the input's records to `push` and returns the SHA-256 of all its bytes (read to the
/// end even when the records stop early).
fn read_input(path: &Path, push: impl FnMut(Item) -> bool) -> Result<String> {
    let file = std::fs::File::open(path).map_err(|e| input_error(path, &e))?;
    let hasher = std::sync::Arc::new(std::sync::Mutex::new((Sha256::new(), 0u64)));
    let hashing = HashingReader { inner: file, hasher: hasher.clone() };
    crate::input::read_records(Box::new(BufReader::with_capacity(1 << 16, hashing)), push)
        .with_context(|| format!("reading {}", path.display()))?;
    let (mut hasher, read) = std::mem::take(&mut *hasher.lock().unwrap_or_else(|p| p.into_inner()));
    let mut rest = std::fs::File::open(path).map_err(|e| input_error(path, &e))?;
    std::io::Seek::seek(&mut rest, std::io::SeekFrom::Start(read))?;
    std::io::copy(&mut rest, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

/// Reads the input for a phase, sending on each record once it proved to be the one the first
/// pass read: a record that differs, or an input that ends sooner, is sent as the error that
/// stops the phase, so no batch holding it (or cut otherwise) is sent.
fn read_phase(path: &Path, digests: &[RecordDigest], sender: &tokio::sync::mpsc::Sender<Result<InputRecord>>) {
    let mut position = 0;
    let mut changed = None;
    let mut open = true;
    let read = std::fs::File::open(path).map_err(|e| input_error(path, &e)).and_then(|file| {
        crate::input::read_records(Box::new(BufReader::with_capacity(1 << 16, file)), |item| {
            position += 1;
            if digests.get(position - 1) != Some(&record_digest(&item)) {
                changed = Some(item.line);
                return false;
            }
            open = sender.blocking_send(Ok(InputRecord::new(position, item))).is_ok();
            open
        })
        .with_context(|| format!("reading {}", path.display()))
    });
    let stop = match (read, changed) {
        (Err(e), _) => e,
        (Ok(()), Some(line)) => input_changed(path, &format!("line {line}")),
        (Ok(()), None) if open && position < digests.len() => {
            input_changed(path, &format!("it now ends after {position} of its {} records", digests.len()))
        }
        (Ok(()), None) => return,
    };
    let _ = sender.blocking_send(Err(stop));
}

/// The error that stops a load whose input is not the one its first pass read.
fn input_changed(path: &Path, at: &str) -> anyhow::Error {
    anyhow!(
        "--input {}: the input changed since this load began ({at}): nothing more was sent; run again to load the \
         file as it is now",
        path.display()
    )
}

impl InputRecord {
    /// The record at `position` of the input (1-based), as a batch holds it.
    fn new(position: usize, item: Item) -> InputRecord {
        let (id, value) = match item.record {
            Ok(value) => (records::record_id(&value).unwrap_or_else(|| format!("#{position}")), Ok(value)),
            Err(problem) => (format!("#{position}"), Err(Failure::NotJson(problem).to_json().to_string())),
        };
        InputRecord { position, id, line: item.line, value, superseded_by: None }
    }
}

/// An import that is running, when to read its status next, and when it is too old.
struct Running {
    batch: usize,
    import_id: String,
    row: BatchRow,
    next_read: Instant,
    interval: Duration,
    /// When it reaches `--import-timeout`'s age, counted from its start, across runs.
    deadline: Instant,
    /// How old it was when this run took it up, and when that was.
    taken_up: (Duration, Instant),
}

/// Which records a phase reads from the input, and how.
#[derive(Clone, Copy)]
struct Selection<'a> {
    /// Only these input positions (`None`: all).
    only: Option<&'a std::collections::HashSet<usize>>,
    /// Records carry the external id the platform stored (the follow-up import leaves it out).
    stored_ids: bool,
}

/// Why a load stopped before its summary: the caller's decision is the exit status.
#[derive(Debug)]
pub enum BulkError {
    /// Ctrl-C stopped the load: how far it got, and how to go on.
    Interrupted(Interrupted),
    /// Anything else stopped it (the input, the ledger, the component, Dotdigital, the
    /// output), in words. Not redacted: it may carry Dotdigital's answers and the plugin's
    /// text, so the caller redacts it with the subscription's secrets before showing it.
    Stopped(String),
}

impl std::fmt::Display for BulkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BulkError::Interrupted(interrupted) => interrupted.fmt(f),
            BulkError::Stopped(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for BulkError {}

/// Runs a load; failed records' lines and the summary line go to `out`.
pub async fn run(
    platform: &Platform,
    options: &BulkOptions,
    out: &mut (dyn Write + Send),
) -> Result<BulkSummary, BulkError> {
    // An interruption keeps its type, so the command exits with its own status.
    run_load(platform, options, out).await.map_err(|e| match e.downcast::<Interrupted>() {
        Ok(interrupted) => BulkError::Interrupted(interrupted),
        Err(e) => BulkError::Stopped(format!("{e:#}")),
    })
}

async fn run_load(platform: &Platform, options: &BulkOptions, out: &mut (dyn Write + Send)) -> Result<BulkSummary> {
    check_load(platform, options)?;
    let exclusive = platform.data().lock_bulk_load()?;
    let rule = KeyRule { flow: options.flow, order_types: platform.order_types() };
    let input = first_pass(&options.input, rule)?;
    let ledger = open_ledger(platform, options, &input)?.with_lock(exclusive);
    // Finished in an earlier run: every phase below finds each batch finished and sends nothing.
    let finished = ledger.finished()?;
    let (total, phases) = run_phases(platform, options, &ledger, &input).await?;
    let mut summary = BulkSummary {
        flow: options.flow,
        total,
        records: PhaseTotals::default(),
        contacts: None,
        already_loaded: finished.is_some(),
    };
    let removals = removals(platform, options, &ledger, &phases, finished.as_ref()).await?;
    let mut reported = Vec::new();
    for phase in phases {
        let rows = ledger.all(phase.name())?;
        let totals = totals(&rows);
        if !phase.reports_records() {
            summary.contacts = Some(totals);
            continue;
        }
        summary.records.add(&totals);
        reported.push(rows);
    }
    let lines = record_lines(options.flow, &reported, &removals, &mut summary);
    let removal_failed = removals.values().any(Result::is_err);
    match &finished {
        Some(load) => platform.log().emit(
            Level::Info,
            &format!("already loaded at {}, nothing sent (use --restart to send it again)", load.at),
        ),
        // A removal that failed is asked again by the next run: the load is not done yet.
        None if !removal_failed => {
            let removal = removals.values().find_map(|outcome| outcome.as_ref().ok());
            ledger.finish(removal.map(String::as_str))?;
        }
        None => {}
    }
    print_lines(platform, lines, &summary, out).map_err(|e| {
        anyhow!(
            "writing to stdout: {} (the load itself is done and kept: run the same command to print its lines again)",
            crate::errors::io_reason(&e)
        )
    })?;
    Ok(summary)
}

/// What refuses a load before anything is read: an input that cannot be read twice, and a
/// 1.0 component asked to honour marketing lists it cannot leave.
fn check_load(platform: &Platform, options: &BulkOptions) -> Result<()> {
    let metadata = std::fs::metadata(&options.input).map_err(|e| input_error(&options.input, &e))?;
    if !metadata.is_file() {
        // Each phase reads the input again, and resuming needs the same bytes: a pipe has neither.
        return Err(anyhow!(
            "--input {}: not a regular file: a load reads its input more than once and resumes from it, so save the \
             records to a file first",
            options.input.display()
        ));
    }
    if !platform.speaks_1_1() {
        if options.flow == BulkFlow::Contacts && !platform.subscription().plugin.marketing_list_ids.is_empty() {
            return Err(anyhow!(
                "this component implements contract {}, which cannot take customers who said no to marketing off \
                 the marketing_list_ids in a bulk load: use a component of contract 1.1 or later, or `sync contact`",
                platform.contract_version()
            ));
        }
        platform.log().emit(
            Level::Warn,
            &format!(
                "the component implements contract {}: bulk lines carry no contact ids (contract 1.1 reports them)",
                platform.contract_version()
            ),
        );
    }
    Ok(())
}

/// The ledger of this load (its key: the flow, the input, the batch size and the shape), with
/// old finished loads pruned, and this one forgotten on `--restart`.
fn open_ledger(platform: &Platform, options: &BulkOptions, input: &FirstPass) -> Result<Ledger> {
    let shape = hex(&Sha256::digest(options.shape.as_bytes()));
    // `last-wins`: batches of a load without superseded records are cut otherwise; `ledger2`:
    // rows whose failures may refer to their batch's error. A ledger of an older harness is
    // another load, never half-resumed.
    let load = format!(
        "{}:{}:{}:{}:{shape}:last-wins:ledger2",
        options.flow.name(),
        input.fingerprint,
        options.batch_size,
        MAX_BATCH_INPUT_BYTES
    );
    let ledger = Ledger::new(platform.data().clone(), load);
    let pruned = ledger.prune(FINISHED_LOADS_KEPT)?;
    if pruned > 0 {
        platform.log().emit(
            Level::Info,
            &format!(
                "{pruned} bulk load(s) finished more than {} days ago forgotten",
                FINISHED_LOADS_KEPT.as_secs() / 86_400
            ),
        );
    }
    if options.restart {
        let forgotten = ledger.forget()?;
        platform.log().emit(Level::Info, &format!("--restart: {forgotten} batch(es) of this load forgotten"));
    }
    Ok(ledger)
}

/// Every phase of the flow, then, for contacts matched by a stored id Dotdigital no longer
/// knows, the follow-up by email. Returns the records read and the phases that ran.
async fn run_phases(
    platform: &Platform,
    options: &BulkOptions,
    ledger: &Ledger,
    input: &FirstPass,
) -> Result<(u64, Vec<Phase>)> {
    let everything = Selection { only: None, stored_ids: true };
    let mut total = 0;
    let mut phases: Vec<Phase> = options.flow.phases().to_vec();
    for phase in &phases {
        total = run_phase(platform, options, ledger, *phase, input, everything).await?;
    }
    if options.flow == BulkFlow::Contacts {
        let again: std::collections::HashSet<usize> = ledger
            .all(Phase::Contacts.name())?
            .iter()
            .flat_map(|row| &row.entries)
            .filter(|entry| entry.retry_without_stored_id)
            .map(|entry| entry.record)
            .collect();
        if !again.is_empty() {
            platform.log().emit(
                Level::Info,
                &format!("{} contact(s) whose stored id Dotdigital no longer knows: sent again by email", again.len()),
            );
            let selection = Selection { only: Some(&again), stored_ids: false };
            run_phase(platform, options, ledger, Phase::ContactsAgain, input, selection).await?;
            phases.push(Phase::ContactsAgain);
        }
    }
    Ok((total, phases))
}

/// What taking the customers who said no off the marketing lists came to, per contact id:
/// done now, or, for a load finished earlier, what was done then.
async fn removals(
    platform: &Platform,
    options: &BulkOptions,
    ledger: &Ledger,
    phases: &[Phase],
    finished: Option<&FinishedLoad>,
) -> Result<HashMap<u64, Result<String, Value>>> {
    if options.flow != BulkFlow::Contacts || !platform.speaks_1_1() {
        return Ok(HashMap::new());
    }
    let mut rows = Vec::new();
    for phase in phases.iter().filter(|phase| phase.reports_records()) {
        rows.extend(ledger.all(phase.name())?);
    }
    Ok(match finished {
        // Done when the load finished: its lines say what it did then.
        Some(FinishedLoad { removal: Some(message), .. }) => {
            leaving(&rows).into_iter().map(|id| (id, Ok(message.clone()))).collect()
        }
        Some(FinishedLoad { removal: None, .. }) => HashMap::new(),
        None => leave_marketing_lists(platform, &rows, options.limits.contacts_per_removal as usize).await,
    })
}

/// A record's line, and its batch's error when that is the record's (put in as the line is
/// printed, so the batch's reason is held once, not once a record).
type RecordLine<'a> = (usize, Value, Option<&'a Value>);

/// Each record's line in input order; a failed removal turns its record's line into a failure
/// (and the summary with it).
fn record_lines<'a>(
    flow: BulkFlow,
    reported: &'a [Vec<BatchRow>],
    removals: &HashMap<u64, Result<String, Value>>,
    summary: &mut BulkSummary,
) -> Vec<RecordLine<'a>> {
    let mut lines: Vec<RecordLine<'a>> = Vec::new();
    for row in reported.iter().flatten() {
        for failure in &row.failures {
            let line = json!({"ok": false, "flow": flow.record_flow(), "record": failure.id,
                              "line": failure.line, "error": failure.error, "attempts": 1});
            lines.push((failure.record, line, failure.error.is_none().then(|| row.error_of(failure))));
        }
        let failed: std::collections::HashSet<usize> = row.failures.iter().map(|f| f.record).collect();
        for entry in row.entries.iter().filter(|e| !e.retry_without_stored_id && !failed.contains(&e.record)) {
            let removal = entry
                .external_id
                .as_deref()
                .and_then(|id| id.parse::<u64>().ok())
                .filter(|_| entry.leaves_marketing_lists)
                .and_then(|id| removals.get(&id));
            let line = match removal {
                Some(Err(error)) => {
                    summary.records.updated = summary.records.updated.saturating_sub(1);
                    summary.records.failed += 1;
                    json!({"ok": false, "flow": flow.record_flow(), "record": entry.id,
                           "line": entry.line, "error": error, "attempts": 1})
                }
                Some(Ok(message)) => {
                    let mut entry = entry.clone();
                    entry.messages.push(message.clone());
                    ok_line(flow, &entry)
                }
                None => ok_line(flow, entry),
            };
            lines.push((entry.record, line, None));
        }
    }
    // A record sent again has its line from the follow-up import only (its first gave none).
    lines.sort_by_key(|(record, _, _)| *record);
    carry_later_external_ids(&mut lines);
    lines
}

/// A superseded record's line carries the external id its later version got.
fn carry_later_external_ids(lines: &mut [RecordLine<'_>]) {
    let external_ids: HashMap<usize, Value> = lines
        .iter()
        .filter(|(_, line, _)| line["ok"] == true && !line["outcome"]["external_id"].is_null())
        .map(|(record, line, _)| (*record, line["outcome"]["external_id"].clone()))
        .collect();
    for (_, line, _) in lines.iter_mut() {
        if let Some(later) = line.get("superseded_by").and_then(Value::as_u64) {
            if let Some(id) = external_ids.get(&(later as usize)) {
                line["outcome"]["external_id"] = id.clone();
            }
            if let Some(fields) = line.as_object_mut() {
                fields.remove("superseded_by");
            }
        }
    }
}

/// The records' lines (each with its batch's error put in, redacted) and the summary line.
fn print_lines(
    platform: &Platform,
    lines: Vec<RecordLine<'_>>,
    summary: &BulkSummary,
    out: &mut (dyn Write + Send),
) -> std::io::Result<()> {
    for (_, mut line, batch_error) in lines {
        if let Some(error) = batch_error {
            line["error"] = error.clone();
        }
        writeln!(out, "{}", platform.redact(line))?;
    }
    writeln!(out, "{}", summary.to_json())?;
    out.flush()
}

/// `--input PATH: why`, in words.
fn input_error(path: &Path, error: &std::io::Error) -> anyhow::Error {
    anyhow!("--input {}: cannot be read ({})", path.display(), crate::errors::io_reason(error))
}

/// A record's `ok` line, in `sync`'s shape. `api_calls` is 0: a bulk record makes no call of
/// its own (its import's calls are shared by the whole batch).
fn ok_line(flow: BulkFlow, entry: &Entry) -> Value {
    let mut line = json!({"ok": true, "flow": flow.record_flow(), "record": entry.id, "line": entry.line,
           "outcome": {"external_id": entry.external_id, "action": entry.action, "api_calls": 0,
                       "messages": entry.messages},
           "attempts": 1});
    if let Some(later) = entry.superseded_by {
        // Taken off once the later record's external id is known (`run_load`).
        line["superseded_by"] = json!(later);
    }
    line
}

impl PhaseTotals {
    fn add(&mut self, other: &PhaseTotals) {
        self.created += other.created;
        self.updated += other.updated;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.imports += other.imports;
    }
}

fn totals(rows: &[BatchRow]) -> PhaseTotals {
    rows.iter().fold(PhaseTotals::default(), |mut t, row| {
        t.created += u64::from(row.created);
        t.updated += u64::from(row.updated);
        t.failed += row.failures.len() as u64;
        t.skipped += u64::from(row.skipped);
        t.imports += u64::from(row.imports);
        t
    })
}

/// Reads the input and hashes what it read, counting the bytes ([`read_input`]).
struct HashingReader<R> {
    inner: R,
    hasher: std::sync::Arc<std::sync::Mutex<(Sha256, u64)>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut hasher = self.hasher.lock().unwrap_or_else(|p| p.into_inner());
        hasher.0.update(&buf[..n]);
        hasher.1 += n as u64;
        Ok(n)
    }
}

/// One pass over the input: every batch of the phase finished, in the ledger. Returns how
/// many records the input holds.
async fn run_phase(
    platform: &Platform,
    options: &BulkOptions,
    ledger: &Ledger,
    phase: Phase,
    input: &FirstPass,
    selection: Selection<'_>,
) -> Result<u64> {
    // A batch whose import Dotdigital no longer knew is forgotten while the phase runs; one
    // more pass sends it (and only it: every other batch is in the ledger).
    for _ in 0..MAX_PASSES {
        let (total, resend) = run_phase_once(platform, options, ledger, phase, input, selection).await?;
        if !resend {
            return Ok(total);
        }
    }
    Err(anyhow!(
        "{}: imports were still unknown to Dotdigital after {MAX_PASSES} passes; run the same command again",
        phase.name()
    ))
}

/// Passes over the input in one phase of one run, when imports turn out unknown (404).
const MAX_PASSES: usize = 3;

/// One pass: returns how many records the input holds, and whether a batch was forgotten
/// (its import unknown) and must be sent again.
async fn run_phase_once(
    platform: &Platform,
    options: &BulkOptions,
    ledger: &Ledger,
    phase: Phase,
    input: &FirstPass,
    selection: Selection<'_>,
) -> Result<(u64, bool)> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<InputRecord>>(options.batch_size.min(4096));
    // The bar runs over the input's bytes (a follow-up phase reads only some records: no bar length).
    let length = std::fs::metadata(&options.input).ok().map(|m| m.len()).filter(|_| selection.only.is_none());
    let (path, digests) = (options.input.clone(), input.digests.clone());
    let reader = std::thread::spawn(move || read_phase(&path, &digests, &sender));
    let mut progress = Progress::new(platform.log().clone(), phase.name(), length);
    let mut running: Vec<Running> = Vec::new();
    let mut batch_number = 0;
    let mut total = 0u64;
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let mut more = true;
    while more {
        match receiver.recv().await {
            // The input changed (or could not be read): the batch read so far is not sent.
            Some(Err(stop)) => return Err(stop),
            Some(Ok(mut record)) => {
                total += 1;
                if selection.only.is_some_and(|only| !only.contains(&record.position)) {
                    continue;
                }
                record.superseded_by = record
                    .value
                    .as_ref()
                    .ok()
                    .and_then(|value| input.last_versions.superseding(record.position, value));
                if record.superseded_by.is_none() {
                    batch_bytes += record.value.as_ref().map(|v| v.to_string().len()).unwrap_or(0);
                }
                batch.push(record);
                if batch.len() < options.batch_size && batch_bytes < MAX_BATCH_INPUT_BYTES {
                    continue;
                }
            }
            None => more = false,
        }
        if batch.is_empty() {
            break;
        }
        let records = std::mem::take(&mut batch);
        batch_bytes = 0;
        progress.read(&records);
        let this = Batch { phase, number: batch_number, records, last: !more };
        dispatch(platform, (options, ledger, selection), this, &mut running, &mut progress).await?;
        batch_number += 1;
    }
    reader.join().map_err(|_| anyhow!("the input reader panicked"))?;
    while !running.is_empty() && !interrupt::requested() {
        read_next(platform, ledger, phase, &mut running, &mut progress, options).await?;
    }
    if interrupt::requested() {
        return Err(progress.interrupted(true, running.len()).into());
    }
    progress.done();
    let mut forgotten = false;
    for batch in 0..batch_number {
        forgotten |= ledger.get(phase.name(), batch)?.is_none();
    }
    Ok((total, forgotten))
}

impl Running {
    /// `age`: how long ago the import was started (zero for one this run started).
    fn new(batch: usize, import_id: String, row: BatchRow, age: Duration, options: &BulkOptions) -> Running {
        let now = Instant::now();
        let interval = options.poll_interval;
        let deadline = now + options.import_timeout.saturating_sub(age);
        // One already too old is read once, at once: it may have finished since.
        let next_read = (now + interval).min(deadline);
        Running { batch, import_id, row, next_read, interval, deadline, taken_up: (age, now) }
    }
}

/// How long ago a batch's import was started, by the ledger's clock (a row without a start
/// time, which this harness never writes for a started import, counts as new).
fn import_age(ledger: &Ledger, row: &BatchRow) -> Result<Duration> {
    let Some(started_at) = row.started_at else { return Ok(Duration::ZERO) };
    let now = ledger.now()?;
    Ok(Duration::from_secs(u64::try_from(now - started_at).unwrap_or(0)))
}

/// Sends one batch as an import and records it: `Started` with the import id, or
/// `Finished` when no record was left to send. Returns the running import.
async fn start(
    platform: &Platform,
    ledger: &Ledger,
    phase: Phase,
    batch_number: usize,
    records: Vec<InputRecord>,
    options: &BulkOptions,
    selection: Selection<'_>,
) -> Result<Option<Running>> {
    let prepared = prepare_batch(platform, phase, records, selection);
    ledger.ensure_exclusive()?;
    let started = if prepared.sent.is_empty() {
        // Nothing left to send: no import, no call.
        ImportBegun { import_id: None, entries: vec![], refused: vec![], skipped: vec![], api_calls: 0 }
    } else {
        begin(platform, &prepared.batch).await.map_err(|failure| {
            anyhow!(
                "{} batch {batch_number}: the import could not be started ({}); the records before it are kept in the \
             ledger: {}",
                phase.name(),
                failure.text(),
                then_what(platform, &failure)
            )
        })?
    };
    check_begun(&started, prepared.sent.len(), platform.log().redactor()).map_err(|problem| {
        anyhow!(
            "{} batch {batch_number}: the component's answer to begin-import is not usable ({problem}); nothing of \
             this batch is recorded: check the component (--plugin)",
            phase.name()
        )
    })?;
    let mut row = begun_row(platform, phase, prepared, &started);
    let Some(import_id) = started.import_id else {
        ledger.put(phase.name(), batch_number, &row)?;
        return Ok(None);
    };
    row.imports += 1;
    row.state = BatchState::Started { import_id: import_id.clone() };
    row.started_at = Some(ledger.now()?);
    ledger.put(phase.name(), batch_number, &row)?;
    platform.log().emit(
        Level::Info,
        &format!("{} batch {batch_number}: import {import_id} started ({} records)", phase.name(), row.entries.len()),
    );
    Ok(Some(Running::new(batch_number, import_id, row, Duration::ZERO, options)))
}

/// A batch as the host read it, before the component sees it.
struct PreparedBatch {
    batch: ImportBatch,
    /// Positions in the batch the component sees → input records (position, id, line).
    sent: Vec<(usize, String, usize)>,
    /// Records a later record of the same key supersedes: not sent, their lines say so.
    superseded: Vec<Entry>,
    /// Records the host could not read.
    failures: Vec<RecordFailure>,
    /// Transactions' numbers by position in the batch: a skipped one's external id.
    skip_keys: Vec<String>,
}

/// Reads a batch's records into the contract's types; superseded and unreadable ones stay out.
fn prepare_batch(
    platform: &Platform,
    phase: Phase,
    records: Vec<InputRecord>,
    selection: Selection<'_>,
) -> PreparedBatch {
    let (mut failures, mut sent, mut superseded, mut skip_keys) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut customers, mut transactions) = (Vec::new(), Vec::new());
    // Without the subscription id, a customer carries no stored contact id (matched by email).
    let subscription_id = platform.subscription().host.subscription_id.filter(|_| selection.stored_ids);
    for record in records {
        let failure = |error: Value| RecordFailure {
            record: record.position,
            id: record.id.clone(),
            line: record.line,
            error: Some(platform.redact(error)),
        };
        if let Some((later, later_line)) = record.superseded_by {
            superseded.push(Entry {
                record: record.position,
                id: record.id,
                line: record.line,
                skipped: true,
                superseded_by: Some(later),
                action: Some("skipped".into()),
                messages: vec![format!(
                    "superseded by line {later_line} of the input: within one load the last version of a record wins"
                )],
                ..Entry::default()
            });
            continue;
        }
        let value = match &record.value {
            Ok(value) => value,
            Err(not_json) => {
                failures.push(failure(serde_json::from_str(not_json).unwrap_or(Value::Null)));
                continue;
            }
        };
        let read = match phase {
            Phase::Contacts | Phase::ContactsAgain => {
                records::customer(value, subscription_id).map(|c| customers.push(c))
            }
            Phase::OrderContacts | Phase::Orders => records::transaction(value).map(|t| {
                skip_keys.push(t.transaction_number.clone().unwrap_or_else(|| t.id.clone()));
                transactions.push(t)
            }),
        };
        match read {
            Ok(()) => sent.push((record.position, record.id, record.line)),
            Err(problem) => failures.push(failure(Failure::Record(problem).to_json())),
        }
    }
    let batch = match phase {
        Phase::Contacts | Phase::ContactsAgain => ImportBatch::Contacts(customers),
        Phase::OrderContacts => ImportBatch::OrderContacts(transactions),
        Phase::Orders => ImportBatch::Orders(transactions),
    };
    PreparedBatch { batch, sent, superseded, failures, skip_keys }
}

/// The ledger's row for a batch the component took: its entries (by the component's keys,
/// redacted), the records it refused or skipped, and the superseded ones.
fn begun_row(platform: &Platform, phase: Phase, prepared: PreparedBatch, started: &ImportBegun) -> BatchRow {
    let PreparedBatch { batch, sent, superseded, mut failures, skip_keys } = prepared;
    let at = |index: u32| sent.get(index as usize).cloned();
    let stored_id = |index: u32| match &batch {
        ImportBatch::Contacts(customers) => customers.get(index as usize).is_some_and(|c| c.contact_id.is_some()),
        _ => false,
    };
    for problem in &started.refused {
        if let Some((record, id, line)) = at(problem.index) {
            let error = Some(platform.redact(output::error_json(&problem.error)));
            failures.push(RecordFailure { record, id, line, error });
        }
    }
    // Keys are the component's text: stored redacted (the report's are matched redacted too).
    let redactor = platform.log().redactor();
    let mut entries: Vec<Entry> = started
        .entries
        .iter()
        .filter_map(|entry| {
            at(entry.index).map(|(record, id, line)| Entry {
                record,
                id,
                line,
                key: redactor.apply(&entry.key),
                leaves_marketing_lists: entry.leaves_marketing_lists,
                stored_id: stored_id(entry.index),
                ..Entry::default()
            })
        })
        .collect();
    for index in &started.skipped {
        if let Some((record, id, line)) = at(*index) {
            entries.push(Entry {
                record,
                id,
                line,
                skipped: true,
                external_id: skip_keys.get(*index as usize).cloned(),
                action: Some("skipped".into()),
                messages: vec!["not a transaction type this subscription syncs as an order".into()],
                ..Entry::default()
            });
        }
    }
    if !phase.reports_records() {
        // Refused here, the order is refused again (and reported) by the orders phase.
        failures.clear();
    }
    let skipped = (started.skipped.len() + superseded.len()) as u32;
    entries.extend(superseded);
    BatchRow {
        state: BatchState::Finished,
        imports: 0,
        entries,
        failures,
        skipped,
        created: 0,
        updated: 0,
        started_at: None,
        import_error: None,
    }
}

/// What to do after a failure that stopped the load: a failure of the whole subscription
/// (credentials, an area, settings) fails again on a rerun, so the settings come first.
fn then_what(platform: &Platform, failure: &Failure) -> String {
    // Without --state the ledger was in memory: nothing is left to resume from.
    let resume = match !platform.data().shared() {
        true => "run it again (with --state DIR, a later run resumes where one stopped)",
        false => "run the same command to resume",
    };
    match failure.kind() {
        "unauthorized" | "forbidden" | "invalid-settings" => {
            format!("it concerns the whole subscription: fix the settings (or the API user's access), then {resume}")
        }
        _ => resume.to_string(),
    }
}

/// `begin-import`, or for a 1.0 component `start-import` (no after-import duties).
async fn begin(platform: &Platform, batch: &ImportBatch) -> Result<ImportBegun, Failure> {
    if platform.speaks_1_1() {
        return platform.begin_import(batch).await;
    }
    let started = platform.start_import(batch).await?;
    Ok(ImportBegun {
        import_id: started.import_id,
        entries: started
            .entries
            .into_iter()
            .map(|e| ImportRecord { index: e.index, key: e.key, leaves_marketing_lists: false })
            .collect(),
        refused: started.refused,
        skipped: started.skipped,
        api_calls: started.api_calls,
    })
}

/// `read-import`, or for a 1.0 component `import-status` (a report without contact ids).
async fn read(platform: &Platform, kind: ImportKind, import_id: &str) -> Result<ImportProgress, Failure> {
    if platform.speaks_1_1() {
        return platform.read_import(kind, import_id).await;
    }
    Ok(match platform.import_status(kind, import_id).await? {
        ImportState::Running => ImportProgress::Running,
        ImportState::Failed(why) => ImportProgress::Failed(why),
        ImportState::Finished(report) => ImportProgress::Finished(ImportResult {
            created: report.created,
            updated: report.updated,
            contacts: vec![],
            failures: report.failures,
            retry_without_contact_id: vec![],
        }),
    })
}

/// Waits for the running import whose read is due first, reads its status, and records it
/// when it finished.
/// A batch read from the input, about to be resumed, skipped or started.
struct Batch {
    phase: Phase,
    number: usize,
    records: Vec<InputRecord>,
    /// The input has no record after it.
    last: bool,
}

/// A batch finished in an earlier run is skipped, one started then is waited for again, and a
/// new one is started once fewer imports than the component allows are running.
async fn dispatch(
    platform: &Platform,
    (options, ledger, selection): (&BulkOptions, &Ledger, Selection<'_>),
    batch: Batch,
    running: &mut Vec<Running>,
    progress: &mut Progress,
) -> Result<()> {
    let Batch { phase, number, records, last } = batch;
    match ledger.get(phase.name(), number)? {
        Some(row) => {
            let BatchState::Started { import_id } = row.state.clone() else {
                progress.resumed(&row);
                return Ok(());
            };
            let age = import_age(ledger, &row)?;
            platform.log().emit(
                Level::Info,
                &format!("batch {number}: import {import_id} resumed (started {}s ago)", age.as_secs()),
            );
            running.push(Running::new(number, import_id, row, age, options));
        }
        None => {
            while running.len() >= phase.max_active(&options.limits) && !interrupt::requested() {
                read_next(platform, ledger, phase, running, progress, options).await?;
            }
            // Ctrl-C: no new import; those running stay in the ledger, read by the next run.
            if interrupt::requested() {
                return Err(progress.interrupted(last, running.len()).into());
            }
            if let Some(started) = start(platform, ledger, phase, number, records, options, selection).await? {
                running.push(started);
            } else if let Some(row) = ledger.get(phase.name(), number)? {
                progress.finished(&row);
            }
        }
    }
    Ok(())
}

/// Dotdigital no longer knows the import (an old id from an earlier run, or a simulator that
/// was restarted): its batch is forgotten, and sent again before the phase ends (imports are
/// upserts).
fn forget_unknown(platform: &Platform, ledger: &Ledger, phase: Phase, import: &Running) -> Result<()> {
    ledger.forget_batch(phase.name(), import.batch)?;
    platform.log().emit(
        Level::Warn,
        &format!(
            "{} import {} is unknown to Dotdigital (404): its batch {} is sent again",
            phase.name(),
            import.import_id,
            import.batch
        ),
    );
    Ok(())
}

async fn read_next(
    platform: &Platform,
    ledger: &Ledger,
    phase: Phase,
    running: &mut Vec<Running>,
    progress: &mut Progress,
    options: &BulkOptions,
) -> Result<()> {
    let Some(next) = running.iter().enumerate().min_by_key(|(_, r)| r.next_read).map(|(i, _)| i) else {
        return Ok(());
    };
    // Ctrl-C ends the wait (not a read or a ledger write): the caller stops the run.
    tokio::select! {
        () = tokio::time::sleep_until(running[next].next_read.into()) => {}
        () = interrupt::wait() => return Ok(()),
    }
    let import_id = running[next].import_id.clone();
    let state = match read(platform, phase.kind(), &import_id).await {
        Ok(state) => state,
        Err(Failure::Sync(SyncError::Rejected(remote))) if remote.status == 404 => {
            let import = running.swap_remove(next);
            return forget_unknown(platform, ledger, phase, &import);
        }
        Err(failure) => {
            return Err(anyhow!(
                "{} import {import_id}: its status could not be read ({}); {}",
                phase.name(),
                failure.text(),
                then_what(platform, &failure)
            ))
        }
    };
    let outcome = match state {
        ImportProgress::Running => {
            let import = &mut running[next];
            if Instant::now() >= import.deadline {
                return Err(too_old(phase, import, options));
            }
            import.interval = (import.interval.mul_f32(1.5)).min(MAX_POLL_INTERVAL);
            import.next_read = (Instant::now() + import.interval).min(import.deadline);
            return Ok(());
        }
        ImportProgress::Finished(report) => Ok(report),
        ImportProgress::Failed(why) => Err(why),
    };
    let import = running.swap_remove(next);
    let mut row = import.row;
    let endpoint = &limits::of_kind(&options.limits, phase.kind()).endpoint;
    match outcome {
        Ok(report) => record_report(platform, phase, &mut row, (&import.import_id, endpoint), report).await?,
        Err(why) => fail_batch(platform, phase, &mut row, (&import.import_id, endpoint), &why),
    }
    row.state = BatchState::Finished;
    ledger.put(phase.name(), import.batch, &row)?;
    platform.log().emit(
        Level::Info,
        &format!(
            "{} batch {}: import {} finished: {} created, {} updated, {} failed",
            phase.name(),
            import.batch,
            import.import_id,
            row.created,
            row.updated,
            row.failures.len()
        ),
    );
    progress.finished(&row);
    Ok(())
}

/// The error that stops a load when an import is older than `--import-timeout`: the import
/// stays in the ledger, and a later run reads it again (or `--restart` sends the load again).
fn too_old(phase: Phase, import: &Running, options: &BulkOptions) -> anyhow::Error {
    let (age, taken_up) = import.taken_up;
    anyhow!(
        "{} import {} (batch {}) is still running {}s after it was started, past --import-timeout {}s (the age an \
         import may reach, across runs): it stays in the ledger; to wait longer, run the same command with a \
         larger --import-timeout; to send the load again, add --restart",
        phase.name(),
        import.import_id,
        import.batch,
        (age + taken_up.elapsed()).as_secs(),
        options.import_timeout.as_secs()
    )
}

/// A component's text as the host keeps it: redacted, then clipped (clipped first, the part of
/// a secret before the cut would survive redaction).
fn redacted(platform: &Platform, text: &str, max_chars: usize) -> String {
    clip(&platform.log().redactor().apply(text), max_chars).into_owned()
}

/// An import Dotdigital ended without importing fails each record it held, with its word. The
/// error is the batch's, stored once: its records' failures refer to it, so a batch of 20,000
/// records does not hold 20,000 copies of one reason. A key the batch holds twice fails both.
fn fail_batch(platform: &Platform, phase: Phase, row: &mut BatchRow, (import_id, endpoint): (&str, &str), why: &str) {
    let failures: Vec<RecordFailure> = row
        .entries
        .iter()
        .filter(|entry| !entry.skipped)
        .map(|entry| RecordFailure { record: entry.record, id: entry.id.clone(), line: entry.line, error: None })
        .collect();
    if !phase.reports_records() {
        refused_for_orders(platform, failures.len(), import_id);
        return;
    }
    row.import_error = Some(json!({"kind": "rejected", "code": "importFailed",
        "message": redacted(platform, why, MAX_REASON_CHARS), "endpoint": redacted(platform, endpoint, MAX_ENDPOINT_CHARS), "import_id": import_id}));
    row.failures.extend(failures);
}

/// The order-contacts phase only prepares: its refused contacts are logged, and their orders
/// are refused (and reported) by the orders phase.
fn refused_for_orders(platform: &Platform, count: usize, import_id: &str) {
    if count > 0 {
        platform.log().emit(Level::Warn, &format!("{count} contact(s) for orders were refused by import {import_id}"));
    }
}

/// The report's keys redacted as its entries' are ([`start`]), so the two still match.
fn redact_keys(platform: &Platform, mut report: ImportResult) -> ImportResult {
    let redactor = platform.log().redactor();
    report.failures.iter_mut().for_each(|failed| failed.key = redactor.apply(&failed.key));
    report.contacts.iter_mut().for_each(|contact| contact.key = redactor.apply(&contact.key));
    report.retry_without_contact_id.iter_mut().for_each(|key| *key = redactor.apply(key));
    report
}

/// A finished import's report into its batch's row: the counts, each record's failure, and
/// each imported record's external id and action.
/// `import` is the import's id and its endpoint (as the component names it).
async fn record_report(
    platform: &Platform,
    phase: Phase,
    row: &mut BatchRow,
    (import_id, endpoint): (&str, &str),
    report: ImportResult,
) -> Result<()> {
    let report = redact_keys(platform, report);
    let mut by_key: HashMap<&str, Vec<&Entry>> = HashMap::new();
    for entry in row.entries.iter().filter(|e| !e.skipped) {
        by_key.entry(entry.key.as_str()).or_default().push(entry);
    }
    // A key the batch holds more than once (a repeated email) may fail once for all: the
    // report names the key, so its failures go to its last entries, the first having been
    // imported (contacts-v3.json `getImportStatus` counts such records in `duplicateIdentifiers`).
    let mut failed_per_key: HashMap<&str, Vec<&ImportFailure>> = HashMap::new();
    for failed in &report.failures {
        failed_per_key.entry(failed.key.as_str()).or_default().push(failed);
    }
    let mut failures = Vec::new();
    let unmatched: usize =
        failed_per_key.iter().filter(|(key, _)| !by_key.contains_key(*key)).map(|(_, failed)| failed.len()).sum();
    if unmatched > 0 {
        platform.log().emit(
            Level::Warn,
            &format!("import {import_id}: {unmatched} failure(s) in its report name no record of the batch"),
        );
    }
    for (key, failed) in failed_per_key {
        let entries = by_key.get(key).map(Vec::as_slice).unwrap_or_default();
        let skip = entries.len().saturating_sub(failed.len());
        for (entry, failed) in entries.iter().skip(skip).zip(failed.iter().cycle()) {
            let message = failed.detail.as_deref().unwrap_or(&failed.code);
            failures.push(RecordFailure {
                record: entry.record,
                id: entry.id.clone(),
                line: entry.line,
                error: Some(json!({"kind": "rejected", "code": redacted(platform, &failed.code, MAX_CODE_CHARS),
                    "message": redacted(platform, message, MAX_REASON_CHARS), "endpoint": redacted(platform, endpoint, MAX_ENDPOINT_CHARS),
                    "import_id": import_id})),
            });
        }
    }
    let failed: std::collections::HashSet<usize> = failures.iter().map(|f| f.record).collect();
    identify(platform, phase, &mut row.entries, &report, &failed, &mut failures).await?;
    if phase.reports_records() {
        row.failures.extend(failures);
    } else {
        refused_for_orders(platform, failures.len(), import_id);
    }
    row.created = report.created;
    row.updated = report.updated;
    Ok(())
}

/// Gives each imported entry its external id and action from the report, and marks those the
/// component asked to send again without their stored id. Whose customers said no is kept
/// (`leaves_marketing_lists`, for a contact the import updated); the removal itself is the
/// load's last step ([`leave_marketing_lists`]).
async fn identify(
    platform: &Platform,
    phase: Phase,
    entries: &mut [Entry],
    report: &ImportResult,
    failed: &std::collections::HashSet<usize>,
    failures: &mut Vec<RecordFailure>,
) -> Result<()> {
    let contacts: HashMap<&str, (u64, SyncAction)> =
        report.contacts.iter().map(|c| (c.key.as_str(), (c.contact_id, c.action))).collect();
    let again: std::collections::HashSet<&str> = report.retry_without_contact_id.iter().map(String::as_str).collect();
    let identified = platform.speaks_1_1();
    for entry in entries.iter_mut().filter(|e| !e.skipped && !failed.contains(&e.record)) {
        match phase.kind() {
            ImportKind::Orders => {
                entry.external_id = Some(entry.key.clone());
                entry.action = Some("updated".into());
            }
            // Only a record sent with a stored id can be the one whose id Dotdigital no longer
            // knows: another record of the same email, matched by email, was imported.
            ImportKind::Contacts if entry.stored_id && again.contains(entry.key.as_str()) && phase == Phase::Contacts => {
                entry.retry_without_stored_id = true;
            }
            ImportKind::Contacts if !identified => {
                entry.messages.push(format!(
                    "imported; the component implements contract {}, whose import report names no contact ids",
                    platform.contract_version()
                ));
            }
            ImportKind::Contacts => match contacts.get(entry.key.as_str()) {
                Some((contact_id, action)) => {
                    entry.external_id = Some(contact_id.to_string());
                    entry.action = Some(output::action_name(*action).to_string());
                    if phase == Phase::ContactsAgain {
                        entry.messages.push("the stored contact id is unknown to Dotdigital: matched by email".into());
                    }
                    // A contact this import created joined no marketing list (its item named
                    // none): only an existing one may be on one.
                    if *action != SyncAction::Updated {
                        entry.leaves_marketing_lists = false;
                    }
                }
                None if phase.reports_records() => failures.push(RecordFailure {
                    record: entry.record,
                    id: entry.id.clone(),
                    line: entry.line,
                    error: Some(json!({"kind": "unavailable", "code": "notInReport",
                                  "message": "the import report names this contact neither as imported nor as failed: sync it again"})),
                }),
                None => {}
            },
        }
    }
    Ok(())
}

/// The load's last step: the customers whose **last** record in the input said no to marketing
/// are taken off the marketing lists, once every import of the load has finished. Earlier, a
/// removal (which Dotdigital runs in the background) could undo a later record's yes in another
/// batch, or a follow-up import could re-apply an older record. Returns, per contact id, the
/// message for its line, or the error its line carries when the removal failed for good.
///
/// A call takes `per_call` contacts: the component's size of one removal request
/// (`describe-bulk`), so a call makes one request per marketing list, well within the
/// sandbox's requests per call.
async fn leave_marketing_lists(
    platform: &Platform,
    rows: &[BatchRow],
    per_call: usize,
) -> HashMap<u64, Result<String, Value>> {
    let mut outcomes = HashMap::new();
    for group in leaving(rows).chunks(per_call) {
        let outcome = leave_group(platform, group).await;
        outcomes.extend(group.iter().map(|id| (*id, outcome.clone())));
    }
    outcomes
}

async fn leave_group(platform: &Platform, leaving: &[u64]) -> Result<String, Value> {
    match platform.leave_marketing_lists(leaving).await {
        Ok(left) => {
            let lists = left.list_ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
            Ok(format!("consent is no: taken off marketing lists {lists}"))
        }
        Err(failure) => {
            platform.log().emit(
                Level::Error,
                &format!(
                    "{} contact(s) who said no to marketing could not be taken off the marketing lists: their \
                     records fail, and a run of the same command tries again",
                    leaving.len()
                ),
            );
            Err(platform.redact(failure.to_json()))
        }
    }
}

/// The contact ids of the customers whose **last** imported record in the input said no.
fn leaving(rows: &[BatchRow]) -> Vec<u64> {
    // The last imported entry of each key, in input order, decides.
    let mut last: HashMap<&str, &Entry> = HashMap::new();
    for row in rows {
        let failed: std::collections::HashSet<usize> = row.failures.iter().map(|f| f.record).collect();
        for entry in
            row.entries.iter().filter(|e| !e.skipped && !e.retry_without_stored_id && !failed.contains(&e.record))
        {
            let slot = last.entry(entry.key.as_str()).or_insert(entry);
            if entry.record > slot.record {
                *slot = entry;
            }
        }
    }
    last.values()
        .filter(|entry| entry.leaves_marketing_lists)
        .filter_map(|entry| entry.external_id.as_deref()?.parse().ok())
        .collect()
}

/// The most of a component's text (a reason, a detail) the host keeps: a report line is read by
/// a person, and a report may give each of 20,000 records a detail of its own.
const MAX_REASON_CHARS: usize = 1_000;
/// An endpoint is a method and a path: more is the component's text, clipped.
const MAX_ENDPOINT_CHARS: usize = 200;
/// Dotdigital's failure codes are words (`invalidEmail`, `ContactEmailDoesNotExist`).
const MAX_CODE_CHARS: usize = 100;
/// The longest key an import entry may have: an email (254) or an insight record key.
const MAX_KEY_CHARS: usize = 1_024;

/// What the host keeps from a component's `begin-import` must be what Dotdigital could have
/// said and the batch could hold: an import id shaped like Dotdigital's (a GUID: contacts-v3.json
/// `importContacts` answers `{"importId": "<guid>"}`), each record index in the batch and used once, keys of a sane
/// length. Anything else is the component's fault, refused before it is stored or echoed.
fn check_begun(begun: &ImportBegun, records: usize, redactor: &Redactor) -> Result<(), String> {
    if let Some(id) = &begun.import_id {
        if !is_guid(id) {
            return Err(format!("import id {:?} is not a GUID as Dotdigital's are", clip(&redactor.apply(id), 60)));
        }
    }
    let mut seen = vec![false; records];
    let indices = begun.entries.iter().map(|e| e.index).chain(begun.refused.iter().map(|r| r.index));
    for index in indices.chain(begun.skipped.iter().copied()) {
        match seen.get_mut(index as usize) {
            None => return Err(format!("record index {index} is outside the batch of {records}")),
            Some(true) => return Err(format!("record index {index} is named more than once")),
            Some(slot) => *slot = true,
        }
    }
    if let Some(entry) = begun.entries.iter().find(|e| e.key.chars().count() > MAX_KEY_CHARS) {
        return Err(format!("the key of record index {} is longer than {MAX_KEY_CHARS} characters", entry.index));
    }
    Ok(())
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a phase reads of `text` after the first pass read `first`: the records' ids, then
    /// the error that stopped it, if any.
    fn phase_reads(first: &str, text: &str) -> (Vec<String>, Option<String>) {
        let path = std::env::temp_dir().join(format!("dd-bulk-phase-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::write(&path, first).unwrap();
        let pass = first_pass(&path, KeyRule { flow: BulkFlow::Contacts, order_types: None }).unwrap();
        std::fs::write(&path, text).unwrap();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(100);
        read_phase(&path, &pass.digests, &sender);
        drop(sender);
        let _ = std::fs::remove_file(&path);
        let (mut ids, mut stop) = (Vec::new(), None);
        while let Some(read) = receiver.blocking_recv() {
            match read {
                Ok(record) => ids.push(record.id),
                Err(e) => stop = Some(format!("{e:#}")),
            }
        }
        (ids, stop)
    }

    #[test]
    fn a_phase_sends_on_only_the_records_the_first_pass_read() {
        let a = "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n";
        assert_eq!(phase_reads(a, a), (vec!["a".into(), "b".into(), "c".into()], None));
        // Other whitespace around the same records sends the same.
        assert_eq!(phase_reads(a, &a.replace(':', ": ")).1, None);
        let changed = phase_reads(a, "{\"id\":\"a\"}\n{\"id\":\"B\"}\n{\"id\":\"c\"}\n");
        assert_eq!(changed.0, vec!["a".to_string()]);
        assert!(changed.1.unwrap().contains("the input changed since this load began (line 2)"));
        // A record moved to another line is another record: its line is in its output.
        assert!(phase_reads(a, &format!("\n{a}")).1.unwrap().contains("(line 2)"));
        let shorter = phase_reads(a, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
        assert_eq!(shorter.0.len(), 2);
        assert!(shorter.1.unwrap().contains("it now ends after 2 of its 3 records"));
        assert!(phase_reads(a, &format!("{a}{{\"id\":\"d\"}}\n")).1.unwrap().contains("(line 4)"));
    }
}
