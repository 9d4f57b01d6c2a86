//! The client engine shared by the sync and async front ends, sans I/O.
//!
//! Contract: a [`Client`] never touches a socket, a clock or a thread. A front end starts
//! one operation at a time (`start_*`), writes whatever [`Client::output`] holds, feeds
//! every received byte to the conversation ([`Client::feed`] or the zero-copy
//! [`Client::read_buffer`]/[`Client::commit_read`] pair) and calls [`Client::process`]
//! until it answers [`Progress::Done`]. The operation's result is then in
//! [`Client::result`]: rows as one pickle stream, a row count, or an error.
//!
//! Every operation runs until its final ReadyForQuery even when the server or a decoder
//! reports an error half-way, so after `Done` the connection is always in step with the
//! server — or marked broken, in which case every later operation fails at once.

mod error;
mod rows;
mod statement;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use pyro_codecs::decode::DecodeOptions;
use pyro_codecs::registry::{TypeKind, TypeRegistry};
use pyro_codecs::pickle::PickleWriter;
use pyro_protocol::backend;
use pyro_protocol::startup::{ServerInfo, Startup, Step};
use pyro_protocol::{frontend, Conversation, Event, Expect, Reply};

pub use error::ClientError;
pub use rows::RowMode;
use rows::RowSink;
pub use statement::{Statement, StatementCache, PREPARED_ID_STEP};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More bytes from the server are needed (after sending [`Client::output`]).
    NeedInput,
    Done,
    /// A chunk of rows is ready in [`Client::result_bytes`] and the operation goes on:
    /// hand the chunk over, then call [`Client::continue_partial`] and process again.
    Partial,
}

/// Rows are handed over in chunks of about this many encoded bytes, so the application
/// builds Python objects from one chunk while the server (on another CPU) keeps sending
/// the next, and the encoded stream never holds a whole large result.
const CHUNK_BYTES: usize = 48 * 1024;

/// What an operation produced.
#[derive(Debug, Default)]
pub struct OpResult {
    /// True when the pickle stream in [`Client::result_bytes`] holds the value.
    pub has_rows: bool,
    /// Rows affected (query_drop / exec_drop) or rows returned.
    pub value: u64,
    /// The value captured by [`RowMode::Scalar`].
    pub scalar: Option<String>,
    /// The stream is in `marshal` format rather than pickle.
    pub marshal: bool,
    /// The stream is one chunk of the rows; more follow (see [`Progress::Partial`]).
    pub partial: bool,
    pub error: Option<ClientError>,
}

/// What runs once the statement is known.
#[derive(Debug, Clone, Copy)]
enum Work {
    Execute(RowMode),
    Batch,
    /// Bind the unnamed portal and keep it open for `fetch` (exec_iter).
    Portal,
    /// Bind a named portal inside the current transaction (exec_portal).
    NamedPortal,
}

/// Rows of one `exec_batch` chunk, sent with one Sync. Chunks go one at a time: an error
/// stops the batch after the failing chunk, and the server's replies never pile up
/// unread.
const BATCH_CHUNK_ROWS: usize = 1000;

/// The unnamed portal of an `exec_iter`: its statement (for decoding) and whether the
/// server said it has no more rows.
struct PortalState {
    stmt: Arc<Statement>,
    exhausted: bool,
    /// An error ended it; the transaction is over and only the close remains.
    failed: bool,
}

/// An open pipeline: requests buffered until `sync`/`flush`/a claim sends them, and the
/// tickets not yet claimed, oldest first.
struct PipelineState {
    buffered: Vec<u8>,
    /// Tickets issued and not claimed: (id, how to decode its rows, already sent).
    tickets: VecDeque<PipelineTicket>,
    next_ticket: u32,
    /// The current Sync segment failed: later tickets in it are skipped by the server.
    aborted: bool,
}

struct PipelineTicket {
    id: u32,
    /// The statement, when its types were known (binary transfer); None for an
    /// unprepared string sent with text parameters and described by the server.
    stmt: Option<Arc<Statement>>,
    sent: bool,
}

/// Tags of pipeline Syncs; ticket tags are their id + TICKET_TAG_BASE.
const PIPE_SYNC_TAG: u64 = u64::MAX;
const TICKET_TAG_BASE: u64 = 2;

/// A portal of `exec_portal`: it lives until its transaction ends (or `close`).
struct NamedPortalState {
    name: String,
    stmt: Arc<Statement>,
    complete: bool,
}

/// How the caller names a statement in `exec`.
pub enum StatementRef<'a> {
    Sql(&'a str),
    Prepared(u32),
}

enum Op {
    Idle,
    Startup(Box<Startup>),
    SimpleQuery { sink: RowSink, affected: u64 },
    Prepare { names: Vec<String>, sqls: Vec<String>, partial: Vec<statement::Partial>, created: Vec<bool>, ids: Vec<u32> },
    /// First use of an SQL string by `exec`: prepare it, then run [`Op::Execute`].
    PrepareThenExecute { sql: String, partial: statement::Partial, created: bool, params: Vec<u8>, work: Work },
    Execute { sink: RowSink, affected: u64 },
    /// Bind of the unnamed portal for `exec_iter`, answered by BindComplete (then Flush).
    PortalBind,
    /// One `fetch` from the open portal (the unnamed one, or the named portal `named`):
    /// rows until PortalSuspended or CommandComplete.
    PortalFetch { sink: RowSink, named: Option<u32> },
    /// Bind of a named portal, answered by BindComplete (then Flush).
    NamedBind { id: u32, name: String, stmt: Arc<Statement> },
    /// Close of a named portal, answered by CloseComplete (then Flush).
    NamedClose,
    /// Reading the replies of one pipeline ticket.
    Claim { ticket: u32, sink: RowSink, affected: u64, started: bool },
    /// Leaving a pipeline: reading (and dropping) every reply still due.
    PipelineDrain,
    /// `exec_batch`: chunk `next - 1` is on the wire; the rest wait in `batch_buf`.
    Batch { next: usize, affected: u64 },
    Sync,
}

pub struct Client {
    conv: Box<Conversation>,
    /// An empty conversation that stands in for `conv` while [`Client::with_conv`] has it
    /// out: moving boxes costs two pointer writes, moving the conversation itself a copy
    /// and a drop.
    stand_in: Option<Box<Conversation>>,
    out: Vec<u8>,
    op: Op,
    error: Option<ClientError>,
    writer: PickleWriter,
    pub result: OpResult,
    pub info: ServerInfo,
    stmts: StatementCache,
    /// Server notices not yet handed to the application.
    pub notices: Vec<Vec<(u8, String)>>,
    scratch: Vec<u8>,
    formats: Vec<i16>,
    pending_execute: Option<(Arc<Statement>, Vec<u8>, Work)>,
    /// Set when a batch chunk finished cleanly and the next one should be sent.
    batch_continue: bool,
    /// The unnamed portal bound by `start_portal`, until `start_portal_close`.
    portal: Option<PortalState>,
    named_portals: HashMap<u32, NamedPortalState>,
    pipeline: Option<PipelineState>,
    next_named_portal: u32,
    /// A portal operation failed: a Sync must be written (the caller holds the
    /// conversation) and its ReadyForQuery awaited.
    portal_sync_pending: bool,
    /// Encoded Bind+Execute messages of an `exec_batch`, and where each chunk ends.
    batch_buf: Vec<u8>,
    /// (start, end, rows) of each chunk in `batch_buf`.
    batch_chunks: Vec<(usize, usize, usize)>,
    /// How result values decode on this connection (its `Opts`).
    decode_options: DecodeOptions,
    /// Types already reported by [`ClientError::NeedsTypes`] and looked up by the Python
    /// layer (found or not): never reported again, so no statement loops.
    introspected: HashSet<u32>,
}

const COPY_IN_REFUSED: &str = "COPY FROM STDIN is not supported by pyro_postgres yet";
const COPY_OUT_REFUSED: &str = "COPY TO STDOUT is not supported by pyro_postgres yet; its rows were discarded";

/// Decodes one row into the result, unless an earlier error already decided it.
#[inline]
fn take_row(error: &mut Option<ClientError>, sink: &mut RowSink, row: pyro_protocol::DataRow<'_>, w: &mut PickleWriter) {
    if error.is_none() {
        if let Err(e) = sink.row(row, w) {
            *error = Some(e);
        }
    }
}

/// SQL text travels NUL-terminated: refuse a NUL before anything is queued, so a bad
/// statement never leaves half a request (or an expectation) behind.
fn check_sql(sql: &str) -> Result<(), ClientError> {
    if sql.as_bytes().contains(&0) {
        return Err(ClientError::Usage("the SQL text must not contain a NUL character".into()));
    }
    Ok(())
}

fn write_closes(stmts: &mut StatementCache, out: &mut Vec<u8>, conv: &mut Conversation, then_sync: bool) {
    let names = stmts.take_pending_closes();
    if names.is_empty() {
        return;
    }
    for name in &names {
        frontend::close_statement(out, name);
        conv.expect(Expect::CloseComplete, TAG_HOUSEKEEPING);
    }
    if then_sync {
        frontend::sync(out);
        conv.expect(Expect::Sync, TAG_HOUSEKEEPING);
    }
}

const TAG_OP: u64 = 1;
const TAG_HOUSEKEEPING: u64 = 0;

impl Client {
    /// Begins a login: the StartupMessage is in [`Client::output`] afterwards.
    pub fn startup(params: &[(&str, &str)], password: Option<&str>, cache_size: usize) -> Result<Client, ClientError> {
        let mut out = Vec::with_capacity(4096);
        let startup = Startup::begin(params, password, &mut out).map_err(ClientError::from_startup)?;
        Ok(Client {
            conv: Box::new(Conversation::new()),
            stand_in: Some(Box::default()),
            out,
            op: Op::Startup(Box::new(startup)),
            error: None,
            writer: PickleWriter::new(),
            result: OpResult::default(),
            info: ServerInfo::default(),
            stmts: StatementCache::new(cache_size),
            notices: Vec::new(),
            scratch: Vec::new(),
            formats: Vec::new(),
            pending_execute: None,
            batch_continue: false,
            portal: None,
            portal_sync_pending: false,
            named_portals: HashMap::new(),
            pipeline: None,
            next_named_portal: 0,
            batch_buf: Vec::new(),
            batch_chunks: Vec::new(),
            decode_options: DecodeOptions::default(),
            introspected: HashSet::new(),
        })
    }

    /// The connection's decoding options; set once, before the first statement.
    pub fn set_decode_options(&mut self, options: DecodeOptions) {
        self.decode_options = options;
    }

    /// Registers a type for this connection (see [`TypeRegistry::register`]); statements
    /// already described decode with it from now on.
    pub fn register_type(&mut self, type_oid: u32, array_oid: u32, name: &str, kind: TypeKind) {
        let mut types = (*self.decode_options.types).clone();
        types.register(type_oid, array_oid, name, kind);
        self.set_types(types);
    }

    /// Parameters of this type (and element-wise of its array type) are dumped by Python
    /// first (see [`ClientError::NeedsDump`]).
    pub fn add_python_dumped(&mut self, element_oid: u32, array_oid: u32) {
        let mut types = (*self.decode_options.types).clone();
        types.add_python_dumped(element_oid, array_oid);
        self.set_types(types);
    }

    /// The Python layer looked these types up (see [`ClientError::NeedsTypes`]).
    pub fn types_introspected(&mut self, oids: &[u32]) {
        self.introspected.extend(oids.iter().copied());
    }

    /// Types of `stmt` not built in, not registered and not looked up yet. Checked once
    /// the statement's description is known and before anything of the execution is
    /// written, so the connection is idle and in step when it is reported.
    #[inline(never)] // off the per-query path (keeps its code and stack small)
    fn check_foreign_types(&self, stmt: &Statement) -> Result<(), ClientError> {
        let unknown: Vec<u32> = stmt.foreign_types.iter().copied().filter(|t| !self.introspected.contains(t)).collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ClientError::NeedsTypes(unknown))
        }
    }

    fn set_types(&mut self, types: TypeRegistry) {
        self.decode_options.types = Arc::new(types);
        self.stmts.set_options(&self.decode_options);
    }

    /// See [`PickleWriter::set_python_callables`].
    pub fn set_python_callables(&mut self, module: &'static str, name: &'static str, connection_key: u32) {
        self.writer.set_python_callables(module, name, connection_key);
    }

    /// See [`PickleWriter::set_decimal_constructor`].
    pub fn set_decimal_constructor(&mut self, module: &'static str, name: &'static str) {
        self.writer.set_decimal_constructor(module, name);
    }

    pub fn output(&self) -> &[u8] {
        &self.out
    }

    pub fn clear_output(&mut self) {
        self.out.clear();
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.conv.feed(data);
    }

    /// Spare space after the buffered input to read into; then call
    /// [`Client::commit_read`] with the number of bytes read.
    pub fn read_buffer(&mut self, at_least: usize) -> &mut [u8] {
        self.conv.read_buffer(at_least)
    }

    pub fn commit_read(&mut self, n: usize) {
        self.conv.commit_read(n);
    }

    pub fn missing_bytes(&self) -> usize {
        self.conv.missing_bytes()
    }

    pub fn result_bytes(&self) -> &[u8] {
        self.writer.as_bytes()
    }

    pub fn broken(&self) -> Option<&str> {
        self.conv.broken()
    }

    pub fn mark_broken(&mut self, why: &str) {
        self.conv.mark_broken(why);
        self.op = Op::Idle;
    }

    pub fn is_idle(&self) -> bool {
        matches!(self.op, Op::Idle)
    }

    /// True when [`Client::process`] would only answer `NeedInput`: an operation is
    /// running, no received bytes wait, and nothing is deferred. Lets a transport go
    /// straight to reading after sending a request.
    pub fn awaits_input(&self) -> bool {
        !matches!(self.op, Op::Idle)
            && self.conv.awaits_input()
            && self.pending_execute.is_none()
            && !self.portal_sync_pending
            && !self.batch_continue
            && !self.result.partial
    }

    pub fn transaction_status(&self) -> u8 {
        self.conv.transaction_status()
    }

    pub fn statements(&self) -> &StatementCache {
        &self.stmts
    }

    pub fn prepared(&self, id: u32) -> Option<&Arc<Statement>> {
        self.stmts.prepared(id)
    }

    fn begin_op(&mut self) -> Result<(), ClientError> {
        if let Some(why) = self.conv.broken() {
            return Err(ClientError::Closed(format!("the connection is broken: {why}")));
        }
        if !matches!(self.op, Op::Idle) {
            return Err(ClientError::Usage("another operation is in progress on this connection".into()));
        }
        if self.portal.is_some() {
            return Err(ClientError::Usage(
                "a portal of exec_iter is open on this connection: statements must wait until its callback returns"
                    .into(),
            ));
        }
        if self.pipeline.is_some() {
            return Err(ClientError::Usage(
                "a pipeline is open on this connection: use the pipeline, or leave its `with` block first".into(),
            ));
        }
        self.result = OpResult::default();
        self.error = None;
        self.writer.reset();
        Ok(())
    }

    /// Close messages for statements evicted or released since the last request; they
    /// ride along with the next request instead of costing a round trip of their own.
    fn write_pending_closes(&mut self, then_sync: bool) {
        write_closes(&mut self.stmts, &mut self.out, &mut self.conv, then_sync);
    }

    /// Runs `f` with the conversation moved out of `self`, so that `f` may hold events
    /// (which borrow the conversation's buffer) while mutating the rest of the client.
    fn with_conv<R>(&mut self, f: impl FnOnce(&mut Self, &mut Conversation) -> R) -> R {
        let stand_in = self.stand_in.take().unwrap_or_default();
        let mut conv = std::mem::replace(&mut self.conv, stand_in);
        let r = f(self, &mut conv);
        self.stand_in = Some(std::mem::replace(&mut self.conv, conv));
        r
    }

    pub fn start_query(&mut self, sql: &str, mode: RowMode) -> Result<(), ClientError> {
        self.begin_op()?;
        check_sql(sql)?;
        self.write_pending_closes(true);
        frontend::query(&mut self.out, sql).map_err(|e| ClientError::Usage(e.message))?;
        self.conv.expect(Expect::SimpleQuery, TAG_OP);
        let mut sink = RowSink::new(mode);
        sink.begin(&mut self.writer);
        self.op = Op::SimpleQuery { sink, affected: 0 };
        Ok(())
    }

    /// A Sync round trip: proves the session is alive and in step.
    pub fn start_ping(&mut self) -> Result<(), ClientError> {
        self.begin_op()?;
        self.write_pending_closes(false);
        frontend::sync(&mut self.out);
        self.conv.expect(Expect::Sync, TAG_OP);
        self.op = Op::Sync;
        Ok(())
    }

    /// Prepares named statements in one round trip; ids land in the result as a pickle
    /// list of ints (one per statement) on success.
    pub fn start_prepare(&mut self, sqls: &[&str]) -> Result<(), ClientError> {
        self.begin_op()?;
        for (i, sql) in sqls.iter().enumerate() {
            check_sql(sql).map_err(|e| ClientError::Usage(format!("statement {}: {}", i + 1, e.message())))?;
        }
        self.write_pending_closes(false);
        let mut names = Vec::with_capacity(sqls.len());
        for (i, sql) in sqls.iter().enumerate() {
            let name = self.stmts.new_name();
            frontend::parse(&mut self.out, &name, sql, &[])
                .map_err(|e| ClientError::Usage(format!("statement {}: {}", i + 1, e.message)))?;
            frontend::describe_statement(&mut self.out, &name);
            self.conv.expect(Expect::ParseComplete, i as u64 + 1);
            self.conv.expect(Expect::StatementDescription, i as u64 + 1);
            names.push(name);
        }
        frontend::sync(&mut self.out);
        self.conv.expect(Expect::Sync, TAG_OP);
        let n = sqls.len();
        self.op = Op::Prepare {
            names,
            sqls: sqls.iter().map(|s| s.to_string()).collect(),
            partial: (0..n).map(|_| statement::Partial::default()).collect(),
            created: vec![false; n],
            ids: Vec::new(),
        };
        Ok(())
    }

    pub fn start_exec(&mut self, stmt: StatementRef<'_>, params: &[u8], mode: RowMode) -> Result<(), ClientError> {
        self.start_work(stmt, params, Work::Execute(mode))
    }

    /// Executes the statement once per parameter set (`params_list` is the marshalled
    /// list of sequences), pipelined in chunks of [`BATCH_CHUNK_ROWS`] with one Sync
    /// each. Every row is encoded before anything is sent; the result is the total
    /// affected-row count.
    pub fn start_batch(&mut self, stmt: StatementRef<'_>, params_list: &[u8]) -> Result<(), ClientError> {
        self.start_work(stmt, params_list, Work::Batch)
    }

    /// Binds the unnamed portal for `exec_iter` and keeps it open (Flush, no Sync), so
    /// that [`Client::start_fetch`] can read its rows a slice at a time. Other operations
    /// are refused until [`Client::start_portal_close`].
    pub fn start_portal(&mut self, stmt: StatementRef<'_>, params: &[u8]) -> Result<(), ClientError> {
        self.start_work(stmt, params, Work::Portal)
    }

    #[inline(never)] // off the per-query path (keeps its code and stack small)
    fn write_portal_bind(&mut self, conv: &mut Conversation, stmt: Arc<Statement>, params: &[u8]) -> Result<(), ClientError> {
        let count = statement::encode_params(&stmt, params, &mut self.scratch, &mut self.formats)?;
        write_closes(&mut self.stmts, &mut self.out, conv, false);
        frontend::bind(&mut self.out, "", &stmt.name, &self.formats, count, &self.scratch, &stmt.result_formats);
        self.stmts.used();
        frontend::flush(&mut self.out);
        conv.expect(Expect::BindComplete, TAG_OP);
        self.portal = Some(PortalState { stmt, exhausted: false, failed: false });
        self.op = Op::PortalBind;
        Ok(())
    }

    /// Reads up to `max_rows` rows (0: all) from the open portal. The result is the rows;
    /// `result.value` is 1 when the portal has more.
    pub fn start_fetch(&mut self, max_rows: u32, mode: RowMode) -> Result<(), ClientError> {
        if let Some(why) = self.conv.broken() {
            return Err(ClientError::Closed(format!("the connection is broken: {why}")));
        }
        if !matches!(self.op, Op::Idle) {
            return Err(ClientError::Usage("another operation is in progress on this connection".into()));
        }
        let Some(portal) = &self.portal else {
            return Err(ClientError::Usage("the portal is closed".into()));
        };
        if portal.failed {
            return Err(ClientError::Usage("the portal was closed by an earlier error".into()));
        }
        let stmt = portal.stmt.clone();
        let exhausted = portal.exhausted;
        let mut sink = self.begin_rows(Some(stmt), mode);
        if exhausted {
            // Nothing left: an empty slice, no round trip.
            sink.end(&mut self.writer);
            self.result.has_rows = sink.produces_rows();
            return Ok(());
        }
        frontend::execute(&mut self.out, "", max_rows);
        frontend::flush(&mut self.out);
        self.conv.expect(Expect::Execute, TAG_OP);
        self.op = Op::PortalFetch { sink, named: None };
        Ok(())
    }

    /// Ends the portal's implicit transaction (Sync). A no-op when no portal is open.
    pub fn start_portal_close(&mut self) -> Result<(), ClientError> {
        match self.portal.take() {
            None => return Ok(()),
            // Its transaction already ended with the error's Sync.
            Some(p) if p.failed => return Ok(()),
            Some(_) => {}
        }
        self.result = OpResult::default();
        self.error = None;
        frontend::sync(&mut self.out);
        self.conv.expect(Expect::Sync, TAG_OP);
        self.op = Op::Sync;
        Ok(())
    }

    /// Binds a named portal (for `Transaction.exec_portal`); its id is the result's
    /// `value`. It lives until its transaction ends or [`Client::start_named_close`].
    pub fn start_named_portal(&mut self, stmt: StatementRef<'_>, params: &[u8]) -> Result<(), ClientError> {
        if self.conv.transaction_status() == b'I' {
            return Err(ClientError::Usage("exec_portal needs an open transaction".into()));
        }
        self.start_work(stmt, params, Work::NamedPortal)
    }

    #[inline(never)] // off the per-query path (keeps its code and stack small)
    fn write_named_bind(&mut self, conv: &mut Conversation, stmt: Arc<Statement>, params: &[u8]) -> Result<(), ClientError> {
        let count = statement::encode_params(&stmt, params, &mut self.scratch, &mut self.formats)?;
        self.next_named_portal = self.next_named_portal.wrapping_add(1).max(1);
        let id = self.next_named_portal;
        let name = format!("pyro_p{id}");
        write_closes(&mut self.stmts, &mut self.out, conv, false);
        frontend::bind(&mut self.out, &name, &stmt.name, &self.formats, count, &self.scratch, &stmt.result_formats);
        self.stmts.used();
        frontend::flush(&mut self.out);
        conv.expect(Expect::BindComplete, TAG_OP);
        self.op = Op::NamedBind { id, name, stmt };
        Ok(())
    }

    /// Drops named portals whose transaction has ended (the server already has).
    fn forget_dead_portals(&mut self) -> Result<(), ClientError> {
        if let Some(why) = self.conv.broken() {
            return Err(ClientError::Closed(format!("the connection is broken: {why}")));
        }
        if !matches!(self.op, Op::Idle) {
            return Err(ClientError::Usage("another operation is in progress on this connection".into()));
        }
        if self.conv.transaction_status() == b'I' {
            self.named_portals.clear();
        }
        Ok(())
    }

    /// Reads up to `max_rows` rows (0: all) from named portal `id`; `result.value` is 1
    /// when it has more.
    pub fn start_named_fetch(&mut self, id: u32, max_rows: u32, mode: RowMode) -> Result<(), ClientError> {
        self.forget_dead_portals()?;
        let Some(p) = self.named_portals.get(&id) else {
            return Err(ClientError::Usage("this portal is closed (closed, or its transaction ended)".into()));
        };
        let (name, stmt, complete) = (p.name.clone(), p.stmt.clone(), p.complete);
        let mut sink = self.begin_rows(Some(stmt), mode);
        if complete {
            sink.end(&mut self.writer);
            self.result.has_rows = sink.produces_rows();
            return Ok(());
        }
        frontend::execute(&mut self.out, &name, max_rows);
        frontend::flush(&mut self.out);
        self.conv.expect(Expect::Execute, TAG_OP);
        self.op = Op::PortalFetch { sink, named: Some(id) };
        Ok(())
    }

    /// Closes named portal `id` (a no-op when it is already gone).
    pub fn start_named_close(&mut self, id: u32) -> Result<(), ClientError> {
        self.forget_dead_portals()?;
        self.result = OpResult::default();
        self.error = None;
        let Some(p) = self.named_portals.remove(&id) else { return Ok(()) };
        frontend::close_portal(&mut self.out, &p.name);
        frontend::flush(&mut self.out);
        self.conv.expect(Expect::CloseComplete, TAG_OP);
        self.op = Op::NamedClose;
        Ok(())
    }

    pub fn named_portal_complete(&self, id: u32) -> Option<bool> {
        self.named_portals.get(&id).map(|p| p.complete)
    }

    /// Opens a pipeline: requests are buffered and replies claimed in order.
    pub fn start_pipeline(&mut self) -> Result<(), ClientError> {
        self.begin_op()?;
        self.pipeline = Some(PipelineState { buffered: Vec::new(), tickets: VecDeque::new(), next_ticket: 0, aborted: false });
        Ok(())
    }

    fn pipeline_mut(&mut self) -> Result<&mut PipelineState, ClientError> {
        if let Some(why) = self.conv.broken() {
            return Err(ClientError::Closed(format!("the connection is broken: {why}")));
        }
        if !matches!(self.op, Op::Idle) {
            return Err(ClientError::Usage("another operation is in progress on this connection".into()));
        }
        self.pipeline.as_mut().ok_or_else(|| ClientError::Usage("the pipeline is not open".into()))
    }

    /// Buffers a request; its ticket id is the result's `value`. A prepared or cached
    /// statement is bound with binary parameters typed by the statement; an SQL string
    /// not seen before goes as Parse+Bind+Describe+Execute with text parameters the server
    /// types (and text results, which decode to the same Python values), so the pipeline
    /// needs no round trip of its own.
    pub fn pipeline_exec(&mut self, stmt: StatementRef<'_>, params: &[u8]) -> Result<(), ClientError> {
        self.pipeline_mut()?;
        self.result = OpResult::default();
        let known = match stmt {
            StatementRef::Prepared(id) => Some(self.stmts.prepared(id).cloned().ok_or_else(|| {
                ClientError::Usage("this prepared statement belongs to another connection or was already released".into())
            })?),
            StatementRef::Sql(sql) => {
                check_sql(sql)?;
                self.stmts.lookup(sql)
            }
        };
        let pipe = self.pipeline.as_mut().expect("checked above");
        let id = pipe.next_ticket;
        let tag = id as u64 + TICKET_TAG_BASE;
        let mut msgs = Vec::new();
        let mut expects: Vec<Expect> = Vec::new();
        match (&known, stmt) {
            (Some(st), _) => {
                let count = statement::encode_params(st, params, &mut self.scratch, &mut self.formats)?;
                frontend::bind(&mut msgs, "", &st.name, &self.formats, count, &self.scratch, &st.result_formats);
                expects.push(Expect::BindComplete);
            }
            (None, StatementRef::Sql(sql)) => {
                let values = pyro_codecs::marshal::parse_params(params).map_err(|e| ClientError::Encode(e.message))?;
                self.scratch.clear();
                for (i, v) in values.iter().enumerate() {
                    let at = self.scratch.len();
                    self.scratch.extend_from_slice(&[0, 0, 0, 0]);
                    match pyro_codecs::encode::encode_param_text(v, &mut self.scratch) {
                        Ok(true) => {
                            let len = (self.scratch.len() - at - 4) as i32;
                            self.scratch[at..at + 4].copy_from_slice(&len.to_be_bytes());
                        }
                        Ok(false) => {
                            self.scratch.truncate(at);
                            self.scratch.extend_from_slice(&(-1i32).to_be_bytes());
                        }
                        Err(e) => return Err(ClientError::Encode(format!("parameter ${}: {}", i + 1, e.message))),
                    }
                }
                frontend::parse(&mut msgs, "", sql, &[]).map_err(|e| ClientError::Usage(e.message))?;
                frontend::bind(&mut msgs, "", "", &[], values.len() as u16, &self.scratch, &[]);
                frontend::describe_portal(&mut msgs, "");
                expects.extend([Expect::ParseComplete, Expect::BindComplete, Expect::RowDescription]);
            }
            (None, StatementRef::Prepared(_)) => unreachable!(),
        }
        frontend::execute(&mut msgs, "", 0);
        expects.push(Expect::Execute);
        let pipe = self.pipeline.as_mut().expect("checked above");
        pipe.buffered.extend_from_slice(&msgs);
        for e in expects {
            self.conv.expect(e, tag);
        }
        pipe.next_ticket = id.wrapping_add(1);
        pipe.tickets.push_back(PipelineTicket { id, stmt: known, sent: false });
        self.result.value = id as u64;
        Ok(())
    }

    /// Sends what is buffered, followed by Sync (`with_sync`) or Flush.
    pub fn pipeline_send(&mut self, with_sync: bool) -> Result<(), ClientError> {
        self.pipeline_mut()?;
        self.result = OpResult::default();
        self.send_buffered(with_sync);
        Ok(())
    }

    fn send_buffered(&mut self, with_sync: bool) {
        let Some(pipe) = self.pipeline.as_mut() else { return };
        self.out.append(&mut pipe.buffered);
        for t in pipe.tickets.iter_mut() {
            t.sent = true;
        }
        if with_sync {
            frontend::sync(&mut self.out);
            self.conv.expect(Expect::Sync, PIPE_SYNC_TAG);
        } else {
            frontend::flush(&mut self.out);
        }
    }

    /// Reads the replies of ticket `id`, which must be the oldest unclaimed one. If it is
    /// still buffered, what is buffered is sent first, with a Sync.
    pub fn pipeline_claim(&mut self, id: u32, mode: RowMode) -> Result<(), ClientError> {
        let pipe = self.pipeline_mut()?;
        let Some(front) = pipe.tickets.front() else {
            return Err(ClientError::Usage("there is no ticket left to claim in this pipeline".into()));
        };
        if front.id != id {
            return Err(ClientError::Usage(format!(
                "tickets are claimed in the order they were issued: expected ticket {}, got {id}",
                front.id
            )));
        }
        let sent = front.sent;
        let stmt = front.stmt.clone();
        if !sent {
            self.send_buffered(true);
        }
        let sink = self.begin_rows(stmt, mode);
        self.op = Op::Claim { ticket: id, sink, affected: 0, started: false };
        Ok(())
    }

    /// Leaving the pipeline: sends what is buffered (with Sync) and reads every reply due.
    pub fn pipeline_end(&mut self) -> Result<(), ClientError> {
        if self.pipeline.is_none() {
            return Ok(());
        }
        if let Some(why) = self.conv.broken() {
            self.pipeline = None;
            return Err(ClientError::Closed(format!("the connection is broken: {why}")));
        }
        self.result = OpResult::default();
        self.error = None;
        let pipe = self.pipeline.as_ref().expect("checked above");
        if !pipe.buffered.is_empty() || pipe.tickets.iter().any(|t| t.sent) || !self.conv.is_idle() {
            let need_sync = !pipe.buffered.is_empty() || !self.conv_ends_with_sync();
            if need_sync {
                self.send_buffered(true);
            }
        }
        self.pipeline = None;
        self.op = if self.conv.is_idle() { Op::Idle } else { Op::PipelineDrain };
        Ok(())
    }

    fn conv_ends_with_sync(&self) -> bool {
        self.conv.last_expect() == Some(Expect::Sync)
    }

    pub fn pipeline_pending(&self) -> usize {
        self.pipeline.as_ref().map_or(0, |p| p.tickets.len())
    }

    pub fn pipeline_aborted(&self) -> bool {
        self.pipeline.as_ref().is_some_and(|p| p.aborted)
    }

    pub fn portal_open(&self) -> bool {
        self.portal.is_some()
    }

    fn start_work(&mut self, stmt: StatementRef<'_>, params: &[u8], work: Work) -> Result<(), ClientError> {
        self.begin_op()?;
        let stmt = match stmt {
            StatementRef::Prepared(id) => match self.stmts.prepared(id) {
                Some(s) => s.clone(),
                None => {
                    return Err(ClientError::Usage(
                        "this prepared statement belongs to another connection or was already released".into(),
                    ))
                }
            },
            StatementRef::Sql(sql) => match self.stmts.lookup(sql) {
                Some(s) => s,
                None => {
                    // Check the parameters decode before spending a round trip on the prepare.
                    pyro_codecs::marshal::parse_params(params).map_err(|e| ClientError::Encode(e.message))?;
                    check_sql(sql)?;
                    let name = self.stmts.new_name();
                    self.write_pending_closes(false);
                    frontend::parse(&mut self.out, &name, sql, &[]).map_err(|e| ClientError::Usage(e.message))?;
                    frontend::describe_statement(&mut self.out, &name);
                    frontend::sync(&mut self.out);
                    self.conv.expect(Expect::ParseComplete, TAG_OP);
                    self.conv.expect(Expect::StatementDescription, TAG_OP);
                    self.conv.expect(Expect::Sync, TAG_OP);
                    self.op = Op::PrepareThenExecute {
                        sql: sql.to_owned(),
                        partial: statement::Partial { name, ..Default::default() },
                        created: false,
                        params: params.to_vec(),
                        work,
                    };
                    return Ok(());
                }
            },
        };
        self.with_conv(|c, conv| c.write_work(conv, stmt, params, work))
    }

    fn write_work(
        &mut self,
        conv: &mut Conversation,
        stmt: Arc<Statement>,
        params: &[u8],
        work: Work,
    ) -> Result<(), ClientError> {
        if !stmt.foreign_types.is_empty() {
            self.check_foreign_types(&stmt)?;
        }
        match work {
            Work::Execute(mode) => self.write_execute(conv, stmt, params, mode),
            Work::Batch => self.write_batch(conv, stmt, params),
            Work::Portal => self.write_portal_bind(conv, stmt, params),
            Work::NamedPortal => self.write_named_bind(conv, stmt, params),
        }
    }

    #[inline(never)] // off the per-query path (keeps its code and stack small)
    fn write_batch(&mut self, conv: &mut Conversation, stmt: Arc<Statement>, params_list: &[u8]) -> Result<(), ClientError> {
        let rows = pyro_codecs::marshal::parse_params(params_list).map_err(|e| ClientError::Encode(e.message))?;
        self.batch_buf.clear();
        self.batch_chunks.clear();
        let mut chunk_start = 0;
        let mut chunk_rows = 0;
        for (i, row) in rows.iter().enumerate() {
            let pyro_codecs::marshal::ParamValue::List(values) = row else {
                return Err(ClientError::Usage(format!(
                    "exec_batch: parameter set {} is a {}, not a tuple or list",
                    i + 1,
                    row.python_type_name()
                )));
            };
            let count = statement::encode_values(&stmt, values, &mut self.scratch, &mut self.formats)
                .map_err(|e| match e {
                    ClientError::Encode(m) => ClientError::Encode(format!("exec_batch: parameter set {}: {m}", i + 1)),
                    ClientError::Usage(m) => ClientError::Usage(format!("exec_batch: parameter set {}: {m}", i + 1)),
                    other => other,
                })?;
            frontend::bind(&mut self.batch_buf, "", &stmt.name, &self.formats, count, &self.scratch, &[]);
            frontend::execute(&mut self.batch_buf, "", 0);
            chunk_rows += 1;
            if chunk_rows == BATCH_CHUNK_ROWS || i + 1 == rows.len() {
                self.batch_chunks.push((chunk_start, self.batch_buf.len(), chunk_rows));
                chunk_start = self.batch_buf.len();
                chunk_rows = 0;
            }
        }
        self.stmts.used();
        if self.batch_chunks.is_empty() {
            // Nothing to run: finish without a round trip.
            self.op = Op::Idle;
            return Ok(());
        }
        write_closes(&mut self.stmts, &mut self.out, conv, false);
        self.op = Op::Batch { next: 0, affected: 0 };
        self.send_batch_chunk(conv);
        Ok(())
    }

    /// Sends the next chunk of the batch; returns false when none is left.
    fn send_batch_chunk(&mut self, conv: &mut Conversation) -> bool {
        let Op::Batch { next, .. } = &mut self.op else { return false };
        let Some(&(start, end, rows)) = self.batch_chunks.get(*next) else { return false };
        *next += 1;
        self.out.extend_from_slice(&self.batch_buf[start..end]);
        frontend::sync(&mut self.out);
        for _ in 0..rows {
            conv.expect(Expect::BindComplete, TAG_OP);
            conv.expect(Expect::Execute, TAG_OP);
        }
        conv.expect(Expect::Sync, TAG_OP);
        true
    }


    fn write_execute(
        &mut self,
        conv: &mut Conversation,
        stmt: Arc<Statement>,
        params: &[u8],
        mode: RowMode,
    ) -> Result<(), ClientError> {
        let count = statement::encode_params(&stmt, params, &mut self.scratch, &mut self.formats)?;
        write_closes(&mut self.stmts, &mut self.out, conv, false);
        frontend::bind_unnamed(&mut self.out, &stmt.name, &self.formats, count, &self.scratch, &stmt.encoded_result_formats);
        self.stmts.used();
        let max_rows = if matches!(mode, RowMode::First { .. }) { 1 } else { 0 };
        frontend::execute_unnamed_and_sync(&mut self.out, max_rows);
        conv.expect(Expect::BindComplete, TAG_OP);
        conv.expect(Expect::Execute, TAG_OP);
        conv.expect(Expect::Sync, TAG_OP);
        let sink = self.begin_rows(Some(stmt), mode);
        self.op = Op::Execute { sink, affected: 0 };
        Ok(())
    }

    /// Drives the current operation with whatever input is buffered.
    pub fn process(&mut self) -> Result<Progress, ClientError> {
        self.with_conv(|c, conv| c.process_with(conv))
    }

    fn process_with(&mut self, conv: &mut Conversation) -> Result<Progress, ClientError> {
        loop {
            if matches!(self.op, Op::Idle) {
                return Ok(Progress::Done);
            }
            if let Op::Startup(_) = self.op {
                match self.process_startup(conv)? {
                    Some(p) => return Ok(p),
                    None => continue,
                }
            }
            if self.error.is_none() {
                if let Op::Execute { sink, .. } | Op::SimpleQuery { sink, .. } | Op::PortalFetch { sink, .. } = &mut self.op {
                    while let Some(row) = conv.next_data_row() {
                        if let Err(e) = sink.row(row, &mut self.writer) {
                            self.error = Some(e);
                            break;
                        }
                        if self.writer.len() >= CHUNK_BYTES && sink.is_list() {
                            sink.end(&mut self.writer);
                            self.result.partial = true;
                            self.result.has_rows = true;
                            return Ok(Progress::Partial);
                        }
                    }
                }
            }
            if let Op::Execute { sink, affected } = &mut self.op {
                // The replies that close every exec, without the general dispatch below.
                if let Some((_, reply)) = conv.take_reply() {
                    match reply {
                        Reply::BindComplete => {}
                        Reply::CommandComplete(command) => {
                            if sink.is_drop() {
                                *affected = backend::affected_rows(command);
                            }
                        }
                        Reply::ReadyForQuery(_) => {
                            self.finish_execute();
                            return Ok(Progress::Done);
                        }
                    }
                    continue;
                }
            }
            if let Some(progress) = self.process_event(conv)? {
                return Ok(progress);
            }
        }
    }

    /// One message outside an Execute's fast path (notices, parameter status, errors, the
    /// other operations' replies): `Some(progress)` ends the processing, `None` goes on. Out
    /// of line so that the fast path of `process_with` stays small (code and stack).
    #[inline(never)]
    fn process_event(&mut self, conv: &mut Conversation) -> Result<Option<Progress>, ClientError> {
        let event = match conv.next_event() {
            Ok(Some(ev)) => ev,
            Ok(None) => return Ok(Some(Progress::NeedInput)),
            Err(e) => {
                self.op = Op::Idle;
                return Err(ClientError::Protocol(e.message));
            }
        };
        match event {
            Event::Notice(fields) => {
                self.notices.push(fields.to_owned_fields());
                return Ok(None);
            }
            Event::ParameterStatus { name, value } => {
                let name = String::from_utf8_lossy(name).into_owned();
                let value = String::from_utf8_lossy(value).into_owned();
                if name == "client_encoding" && !value.eq_ignore_ascii_case("UTF8") {
                    conv.mark_broken(format!(
                        "client_encoding was changed to {value}; pyro_postgres needs UTF8"
                    ));
                }
                self.info.parameters.retain(|(k, _)| *k != name);
                self.info.parameters.push((name, value));
                return Ok(None);
            }
            Event::Notification { .. } => return Ok(None),
            _ => {}
        }
        let tag = event_tag(&event);
        if tag == Some(TAG_HOUSEKEEPING) {
            // CloseComplete / ReadyForQuery of piggy-backed closes; errors there are
            // impossible in practice (closing a missing statement is not an error).
            return Ok(None);
        }
        let fatal = matches!(&event, Event::Error { fields, .. } if fields.is_fatal());
        let done = self.handle_event(event, fatal)?;
        if let Op::PipelineDrain = self.op {
            if conv.is_idle() {
                self.finish();
                return Ok(Some(Progress::Done));
            }
            return Ok(None);
        }
        if let Some((stmt, params, work)) = self.pending_execute.take() {
            if let Err(e) = self.write_work(conv, stmt, &params, work) {
                self.op = Op::Idle;
                self.result.error = Some(e);
                return Ok(Some(Progress::Done));
            }
            if matches!(self.op, Op::Idle) {
                return Ok(Some(Progress::Done));
            }
            return Ok(None);
        }
        if self.portal_sync_pending {
            self.portal_sync_pending = false;
            frontend::sync(&mut self.out);
            conv.expect(Expect::Sync, TAG_OP);
            self.op = Op::Sync;
            return Ok(None);
        }
        if self.batch_continue {
            self.batch_continue = false;
            if self.send_batch_chunk(conv) {
                return Ok(None);
            }
            return Ok(Some(Progress::Done));
        }
        if done {
            return Ok(Some(Progress::Done));
        }
        Ok(None)
    }

    #[inline(never)] // off the per-query path (keeps its code and stack small)
    fn process_startup(&mut self, conv: &mut Conversation) -> Result<Option<Progress>, ClientError> {
        let step = {
            let Op::Startup(startup) = &mut self.op else { unreachable!() };
            let msg = match conv.next_message() {
                Ok(Some(msg)) => msg,
                Ok(None) => return Ok(Some(Progress::NeedInput)),
                Err(e) => {
                    self.op = Op::Idle;
                    return Err(ClientError::Protocol(e.message));
                }
            };
            startup.handle(msg, &mut self.out)
        };
        match step {
            Ok(Step::Continue) => Ok(None),
            Ok(Step::Done) => {
                let Op::Startup(startup) = std::mem::replace(&mut self.op, Op::Idle) else { unreachable!() };
                let startup = *startup;
                self.notices.extend(startup.info.notices.iter().cloned());
                self.info = startup.info;
                Ok(Some(Progress::Done))
            }
            Err(e) => {
                self.op = Op::Idle;
                conv.mark_broken("login failed");
                Err(ClientError::from_startup(e))
            }
        }
    }

    fn record_error(&mut self, e: ClientError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Returns true when the operation is complete.
    fn handle_event(&mut self, event: Event<'_>, fatal: bool) -> Result<bool, ClientError> {
        if let Event::Error { fields, .. } = &event {
            if let Op::PipelineDrain = self.op {
                if !fatal {
                    return Ok(false);
                }
            }
            let e = ClientError::Server(fields.to_owned_fields());
            if fatal {
                // FATAL: the server is closing the session; there is nothing to wait for.
                self.op = Op::Idle;
                self.result.error = Some(e);
                return Ok(true);
            }
            self.record_error(e);
            if let Op::Claim { .. } = self.op {
                // The rest of the segment will be skipped by the server; this claim is over.
                if let Some(p) = self.pipeline.as_mut() {
                    p.aborted = true;
                }
                return Ok(self.finish_claim());
            }
            if let Op::PortalBind | Op::PortalFetch { .. } | Op::NamedBind { .. } | Op::NamedClose = self.op {
                // The server now skips everything until a Sync, and none is on its way:
                // send one, and finish when its ReadyForQuery arrives. That Sync ends the
                // portal's transaction: a failed bind leaves no portal, a failed fetch a
                // dead one for the caller to close.
                match self.op {
                    Op::PortalBind => self.portal = None,
                    Op::PortalFetch { named: None, .. } => {
                        if let Some(p) = &mut self.portal {
                            p.failed = true;
                        }
                    }
                    // Named portals: the transaction is now failed; the server keeps
                    // them until it ends, and every use reports the failure.
                    _ => {}
                }
                self.portal_sync_pending = true;
            }
            return Ok(false);
        }
        match &mut self.op {
            Op::Idle | Op::Startup(_) => unreachable!(),
            Op::Sync => {
                if let Event::ReadyForQuery { .. } = event {
                    return Ok(self.finish());
                }
            }
            Op::SimpleQuery { sink, affected } => match event {
                Event::RowDescription { desc, .. } => {
                    if let Err(e) = sink.set_columns_text(desc, &self.decode_options) {
                        self.error.get_or_insert(e);
                    }
                }
                Event::DataRow { row, .. } => take_row(&mut self.error, sink, row, &mut self.writer),
                Event::CommandComplete { command, .. } => *affected = backend::affected_rows(command),
                Event::CopyIn { .. } => {
                    frontend::copy_fail(&mut self.out, COPY_IN_REFUSED);
                }
                Event::CopyOut { .. } => {
                    self.error.get_or_insert(ClientError::Unsupported(COPY_OUT_REFUSED.into()));
                }
                Event::ReadyForQuery { .. } => {
                    let n = *affected;
                    sink.end(&mut self.writer);
                    self.result.value = n;
                    self.result.scalar = sink.scalar.take();
                    self.result.has_rows = sink.produces_rows();
                    return Ok(self.finish());
                }
                _ => {}
            },
            Op::Execute { sink, affected } => match event {
                Event::DataRow { row, .. } => take_row(&mut self.error, sink, row, &mut self.writer),
                // Only exec_drop reports the command's count (the others count rows).
                Event::CommandComplete { command, .. } if sink.is_drop() => *affected = backend::affected_rows(command),
                Event::CopyIn { .. } => {
                    // The server ignores Sync during COPY IN, so the Sync already sent is
                    // gone: send another after the CopyFail. The queued Sync expectation
                    // takes its ReadyForQuery.
                    frontend::copy_fail(&mut self.out, COPY_IN_REFUSED);
                    frontend::sync(&mut self.out);
                }
                Event::CopyOut { .. } => {
                    self.error.get_or_insert(ClientError::Unsupported(COPY_OUT_REFUSED.into()));
                }
                Event::ReadyForQuery { .. } => return Ok(self.finish_execute()),
                _ => {}
            },
            Op::PortalBind => {
                if let Event::BindComplete { .. } = event {
                    return Ok(self.finish());
                }
            }
            Op::NamedBind { .. } => {
                if let Event::BindComplete { .. } = event {
                    let Op::NamedBind { id, name, stmt } = std::mem::replace(&mut self.op, Op::Idle) else {
                        unreachable!()
                    };
                    self.named_portals.insert(id, NamedPortalState { name, stmt, complete: false });
                    self.result.value = id as u64;
                    return Ok(self.finish());
                }
            }
            Op::NamedClose => {
                if let Event::CloseComplete { .. } = event {
                    return Ok(self.finish());
                }
            }
            // Replies nobody claimed are dropped; process_with ends the drain once none
            // is due.
            Op::PipelineDrain => {}
            Op::Claim { ticket, sink, affected, started } => {
                let mine = Some(*ticket as u64 + TICKET_TAG_BASE);
                if event_tag(&event) == Some(PIPE_SYNC_TAG) {
                    // The Sync ending an earlier segment: that segment's abort is over.
                    if let Some(p) = self.pipeline.as_mut() {
                        p.aborted = false;
                    }
                    return Ok(false);
                }
                if event_tag(&event) != mine {
                    // Claims go in order, so another ticket's event here is the tail of an
                    // earlier ticket whose claim ended at its error: the skipped rest of
                    // its messages.
                    if let Event::Skipped { .. } = event {
                        return Ok(false);
                    }
                    return Err(ClientError::Bug(format!("pipeline reply for another ticket: {event:?}")));
                }
                *started = true;
                match event {
                    Event::RowDescription { desc, .. } => {
                        if let Err(e) = sink.set_columns_text(desc, &self.decode_options) {
                            self.error.get_or_insert(e);
                        }
                    }
                    Event::DataRow { row, .. } => take_row(&mut self.error, sink, row, &mut self.writer),
                    Event::CommandComplete { command, .. } => *affected = backend::affected_rows(command),
                    Event::Skipped { expect, .. } => {
                        self.error.get_or_insert(ClientError::Aborted);
                        if expect == Expect::Execute {
                            return Ok(self.finish_claim());
                        }
                        return Ok(false);
                    }
                    _ => {}
                }
                if matches!(event, Event::CommandComplete { .. } | Event::EmptyQuery { .. } | Event::PortalSuspended { .. }) {
                    return Ok(self.finish_claim());
                }
            }
            Op::PortalFetch { sink, named } => match event {
                Event::DataRow { row, .. } => take_row(&mut self.error, sink, row, &mut self.writer),
                Event::PortalSuspended { .. } | Event::CommandComplete { .. } | Event::EmptyQuery { .. } => {
                    let more = matches!(event, Event::PortalSuspended { .. });
                    if !more {
                        match named {
                            Some(id) => {
                                if let Some(p) = self.named_portals.get_mut(id) {
                                    p.complete = true;
                                }
                            }
                            None => {
                                if let Some(p) = &mut self.portal {
                                    p.exhausted = true;
                                }
                            }
                        }
                    }
                    sink.end(&mut self.writer);
                    self.result.value = more as u64;
                    self.result.has_rows = sink.produces_rows();
                    return Ok(self.finish());
                }
                _ => {}
            },
            Op::Batch { next, affected } => match event {
                Event::CommandComplete { command, .. } => *affected += backend::affected_rows(command),
                Event::ReadyForQuery { .. } => {
                    let done = self.error.is_some() || *next >= self.batch_chunks.len();
                    if done {
                        self.result.value = *affected;
                        self.batch_buf.clear();
                        self.batch_chunks.clear();
                        return Ok(self.finish());
                    }
                    self.batch_continue = true;
                }
                _ => {}
            },
            Op::Prepare { partial, created, .. } => match event {
                Event::ParseComplete { tag } => created[tag as usize - 1] = true,
                Event::ParameterDescription { tag, body } => {
                    partial[tag as usize - 1].param_types = backend::parameter_types(body).collect()
                }
                Event::RowDescription { tag, desc } => {
                    if let Err(e) = partial[tag as usize - 1].set_columns(desc) {
                        self.error.get_or_insert(e);
                    }
                }
                Event::NoData { .. } | Event::Skipped { .. } => {}
                Event::ReadyForQuery { .. } => {
                    let Op::Prepare { names, sqls, partial, created, mut ids } = std::mem::replace(&mut self.op, Op::Sync)
                    else {
                        unreachable!()
                    };
                    if self.error.is_some() {
                        for (name, made) in names.into_iter().zip(created) {
                            if made {
                                self.stmts.queue_close(name);
                            }
                        }
                    } else {
                        for ((name, sql), mut p) in names.into_iter().zip(sqls).zip(partial) {
                            p.name = name;
                            ids.push(self.stmts.insert_prepared(p.finish(sql, &self.decode_options)));
                        }
                        self.writer.empty_list();
                        self.writer.mark();
                        for id in &ids {
                            self.writer.int(*id as i64);
                        }
                        self.writer.appends();
                        self.writer.stop();
                        self.result.has_rows = true;
                    }
                    return Ok(self.finish());
                }
                _ => {}
            },
            Op::PrepareThenExecute { partial, created, .. } => match event {
                Event::ParseComplete { .. } => *created = true,
                Event::ParameterDescription { body, .. } => partial.param_types = backend::parameter_types(body).collect(),
                Event::RowDescription { desc, .. } => {
                    if let Err(e) = partial.set_columns(desc) {
                        self.error.get_or_insert(e);
                    }
                }
                Event::ReadyForQuery { .. } => {
                    let Op::PrepareThenExecute { sql, partial, created, params, work } =
                        std::mem::replace(&mut self.op, Op::Idle)
                    else {
                        unreachable!()
                    };
                    if self.error.is_some() {
                        if created {
                            self.stmts.queue_close(partial.name);
                        }
                        return Ok(self.finish());
                    }
                    let stmt = self.stmts.insert_cached(partial.finish(sql, &self.decode_options));
                    // Written by the caller once this event (which borrows the
                    // conversation) is gone.
                    self.pending_execute = Some((stmt, params, work));
                    return Ok(false);
                }
                _ => {}
            },
        }
        Ok(false)
    }

    fn finish_claim(&mut self) -> bool {
        if let Op::Claim { sink, affected, .. } = &mut self.op {
            sink.end(&mut self.writer);
            self.result.value = if sink.is_drop() { *affected } else { sink.row_count() };
            self.result.has_rows = sink.produces_rows();
        }
        if let Some(p) = self.pipeline.as_mut() {
            p.tickets.pop_front();
        }
        self.finish()
    }

    /// The end of an [`Op::Execute`] (its ReadyForQuery): the rows or the count.
    fn finish_execute(&mut self) -> bool {
        if let Op::Execute { sink, affected } = &mut self.op {
            sink.end(&mut self.writer);
            self.result.value = if sink.is_drop() { *affected } else { sink.row_count() };
            self.result.has_rows = sink.produces_rows();
        }
        self.finish()
    }

    fn finish(&mut self) -> bool {
        self.op = Op::Idle;
        if let Some(e) = self.error.take() {
            self.result.error = Some(e);
            self.result.has_rows = false;
            self.result.marshal = false;
        }
        true
    }

    /// After [`Progress::Partial`], once the chunk has been taken: starts the next chunk.
    pub fn continue_partial(&mut self) -> Result<(), ClientError> {
        if !self.result.partial {
            return Err(ClientError::Usage("there is no partial result to continue".into()));
        }
        self.result.partial = false;
        self.result.has_rows = false;
        if self.writer.is_marshal() {
            self.writer.reset_marshal();
        } else {
            self.writer.reset();
        }
        if let Op::Execute { sink, .. } | Op::SimpleQuery { sink, .. } | Op::PortalFetch { sink, .. } = &mut self.op {
            sink.restart(&mut self.writer);
        }
        Ok(())
    }

    pub fn has_partial(&self) -> bool {
        self.result.partial
    }

    /// A fresh result for rows of `stmt` (None: columns described later, in text): the
    /// stream in marshal format when every column allows it, pickle otherwise.
    fn begin_rows(&mut self, stmt: Option<Arc<Statement>>, mode: RowMode) -> RowSink {
        self.result = OpResult::default();
        self.error = None;
        let marshal = stmt.as_ref().is_some_and(|s| s.marshal_rows) && mode != RowMode::Drop;
        if marshal {
            self.writer.reset_marshal();
        } else {
            self.writer.reset();
        }
        self.result.marshal = marshal;
        let mut sink = RowSink::new(mode);
        sink.begin(&mut self.writer);
        if let Some(st) = stmt {
            sink.set_statement(st);
        }
        sink
    }

    /// Releases a statement made by `prepare`; its Close rides along with the next request.
    pub fn release_prepared(&mut self, id: u32) {
        self.stmts.release_prepared(id);
    }

    /// Appends Terminate; the caller sends it and closes the socket.
    pub fn write_terminate(&mut self) {
        frontend::terminate(&mut self.out);
    }

    /// Writes the error of the last operation as a pickle `(kind, message, fields)` into
    /// the result buffer.
    pub fn write_error(&mut self, e: &ClientError) {
        self.result.marshal = false;
        self.writer.reset();
        e.write_pickle(&mut self.writer);
    }
}

fn event_tag(ev: &Event<'_>) -> Option<u64> {
    Some(match ev {
        Event::ParseComplete { tag }
        | Event::BindComplete { tag }
        | Event::CloseComplete { tag }
        | Event::ParameterDescription { tag, .. }
        | Event::RowDescription { tag, .. }
        | Event::NoData { tag }
        | Event::DataRow { tag, .. }
        | Event::CommandComplete { tag, .. }
        | Event::EmptyQuery { tag }
        | Event::PortalSuspended { tag }
        | Event::Skipped { tag, .. }
        | Event::CopyIn { tag }
        | Event::CopyOut { tag }
        | Event::CopyData { tag, .. }
        | Event::ReadyForQuery { tag, .. } => *tag,
        Event::Error { tag, .. } => return *tag,
        _ => return None,
    })
}
