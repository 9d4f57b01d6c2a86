//! The C ABI of pyro_postgres (see `include/pyro_postgres.h`, generated from this file).
//!
//! Conventions, in the manner of rustls-ffi:
//! * Connections are opaque `uint32_t` handles from [`pyro_conn_new`]: a slot index and a
//!   generation number, so a stale or made-up handle is answered with
//!   [`PyroStatus::BadHandle`], never undefined behaviour. Freed slots are reused in FIFO
//!   order, so a slot's generation advances slowly and old handles stay detectable.
//! * Every integer argument is 32 bits wide. That lets ctypes call the hot functions
//!   without declared argument types (its default conversion passes Python ints as C
//!   ints), which costs a third of a declared call; see `pyro_postgres/_ffi.py`.
//! * Every fallible function returns a [`PyroStatus`] and writes its result into the
//!   connection's [`PyroOut`] (address from [`pyro_conn_out`]): `data`/`len` hold a pickle
//!   stream (the rows, or `(kind, message, fields)` for an error), `value` a count. The
//!   out area stays valid until the next call on the same handle; callers that share a
//!   handle between threads must copy it out before letting another call start.
//! * A caller may register a buffer of its own ([`pyro_conn_set_result_buffer`]): results
//!   that fit are copied there, so the caller reads them without another foreign call
//!   (Python unpickles straight from its `bytearray`).
//! * Every body runs inside [`ffi_guard`], so a panic becomes `PyroStatus::Panic`
//!   instead of unwinding into C.
//! * A connection is guarded by a mutex: concurrent calls on one handle are serialised.
//!   No call ever runs foreign code while holding it, so nothing here can deadlock on
//!   re-entry.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyro_client::{ClientError, RowMode, StatementRef};
use pyro_codecs::decode::JsonMode;
use pyro_codecs::registry::TypeKind;
use pyro_codecs::pickle::PickleWriter;
use pyro_transport::{BlockingConn, ConnectOptions, SslMode};

/// Result of every fallible call.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyroStatus {
    /// Success; the result is in the out area.
    Ok = 0,
    /// Failure; `data`/`len` hold the pickled `(kind, message, fields)` error triple.
    Error = 1,
    /// The handle is unknown, freed, or from an older generation.
    BadHandle = 2,
    /// An internal panic was caught; the connection is unusable.
    Panic = 3,
    /// Success, and server notices are waiting ([`pyro_conn_take_notices`]).
    OkWithNotices = 4,
    /// Success; the result did not fit the buffer given to
    /// [`pyro_conn_set_result_buffer`] and stays in the library's memory (`data`/`len`).
    OkLarge = 5,
    /// A signal interrupted the wait for the server; the operation is still running.
    /// Call [`pyro_conn_resume`] to wait on, or [`pyro_conn_abandon`] to cancel it. Any
    /// other call abandons it first.
    Interrupted = 6,
    /// As `Ok`, but the result is a `marshal` stream (version 4) rather than pickle: all
    /// its values were built-in scalars and containers. (`OkLarge`/`OkWithNotices` results
    /// tell the formats apart by the first byte: 0x80 starts every pickle stream, never a
    /// marshal one.)
    OkMarshal = 7,
    /// One chunk of the rows (pickle or marshal, told apart by the first byte); the
    /// operation goes on: take the chunk, then call [`pyro_conn_resume`] for the next.
    OkPartial = 8,
    /// A session fed by the caller needs more input: write `send_data`, read from the
    /// socket, and pass what arrives to [`pyro_conn_feed`].
    NeedIo = 9,
}

/// Where results land. One per connection, at a stable address.
#[repr(C)]
pub struct PyroOut {
    /// A pickle stream (protocol 5): the rows, a value, or the error triple.
    pub data: *const u8,
    pub len: usize,
    /// Rows affected (`*_drop`), or rows read.
    pub value: u64,
    /// 1 when `data` holds a result value, 0 when the call produced none.
    pub has_data: u32,
    /// Server notices buffered and not yet taken.
    pub notices: u32,
    /// Sessions whose I/O the caller does ([`pyro_conn_connect_fed`]): bytes to write to
    /// the server before waiting for input, after every call (empty otherwise).
    pub send_data: *const u8,
    pub send_len: usize,
}

/// How rows are returned by query/exec calls.
pub const PYRO_ROWS_TUPLES: u32 = 0;
pub const PYRO_ROWS_DICTS: u32 = 1;
pub const PYRO_FIRST_TUPLE: u32 = 2;
pub const PYRO_FIRST_DICT: u32 = 3;
pub const PYRO_DROP: u32 = 4;

/// Prepared statement ids are multiples of this ([`pyro_conn_exec_call`] adds the row
/// mode to them).
pub const PYRO_STATEMENT_ID_STEP: u32 = 8;
const _: () = assert!(PYRO_STATEMENT_ID_STEP == pyro_client::PREPARED_ID_STEP);

struct ConnState {
    conn: Option<BlockingConn>,
    closed_reason: Option<String>,
    /// For results produced without a live session (errors, info).
    scratch: PickleWriter,
    notices: Vec<Vec<(u8, String)>>,
    cancel_message: Vec<u8>,
}

struct ConnEntry {
    state: Mutex<ConnState>,
    out: UnsafeCell<PyroOut>,
    /// The caller's result buffer (pointer, capacity); written only with `state` locked.
    result_buffer: UnsafeCell<(*mut u8, usize)>,
    /// Statement releases from finalizers; kept apart from `state` so that releasing never
    /// waits for a query running on another thread.
    releases: Mutex<Vec<u32>>,
}

// `out` is only written while `state` is locked; readers follow the documented rule.
unsafe impl Sync for ConnEntry {}
unsafe impl Send for ConnEntry {}

#[derive(Default)]
struct Registry {
    slots: Vec<(u16, Option<Arc<ConnEntry>>)>,
    free: std::collections::VecDeque<usize>,
}

/// At most this many connections exist at once (the index is 16 bits).
const MAX_HANDLES: usize = 0xffff;

fn split_handle(handle: u32) -> (usize, u16) {
    ((handle & 0xffff) as usize, (handle >> 16) as u16)
}

fn registry() -> &'static Mutex<Registry> {
    static REG: OnceLock<Mutex<Registry>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(Registry::default()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a panic was caught while it was held; the data is
    // still consistent enough to report errors with.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn lookup(handle: u32) -> Option<Arc<ConnEntry>> {
    let (index, generation) = split_handle(handle);
    if index == 0 {
        return None;
    }
    let reg = lock(registry());
    match reg.slots.get(index - 1) {
        Some((g, Some(entry))) if *g == generation => Some(entry.clone()),
        _ => None,
    }
}

fn ffi_guard(f: impl FnOnce() -> PyroStatus) -> PyroStatus {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(PyroStatus::Panic)
}

fn set_out(entry: &ConnEntry, data: &[u8], value: u64, has_data: bool, notices: usize) {
    // SAFETY: called with `entry.state` locked, which serialises all writers.
    unsafe {
        let out = &mut *entry.out.get();
        out.data = data.as_ptr();
        out.len = data.len();
        out.value = value;
        out.has_data = has_data as u32;
        out.notices = notices as u32;
    }
}

/// What a fed session must write next (empty for the others).
fn set_send(entry: &ConnEntry, data: &[u8]) {
    // SAFETY: called with `entry.state` locked, which serialises all writers.
    unsafe {
        let out = &mut *entry.out.get();
        out.send_data = data.as_ptr();
        out.send_len = data.len();
    }
}

fn fail(entry: &ConnEntry, state: &mut ConnState, e: &ClientError) -> PyroStatus {
    state.scratch.reset();
    e.write_pickle(&mut state.scratch);
    let notices = state.notices.len();
    set_out(entry, state.scratch.as_bytes(), 0, true, notices);
    PyroStatus::Error
}

/// Runs `f` with the live session, or fails with a "closed" error. An operation left
/// running by an interrupted call is cancelled and drained first.
fn with_conn(handle: u32, f: impl FnOnce(&mut BlockingConn) -> Result<(), ClientError>) -> PyroStatus {
    run_on_conn(handle, false, f)
}

fn run_on_conn(
    handle: u32,
    resume: bool,
    f: impl FnOnce(&mut BlockingConn) -> Result<(), ClientError>,
) -> PyroStatus {
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        let mut guard = lock(&entry.state);
        let state = &mut *guard;
        let releases = std::mem::take(&mut *lock(&entry.releases));
        let Some(conn) = state.conn.as_mut() else {
            let why = state.closed_reason.clone().unwrap_or_else(|| "the connection is not open".into());
            return fail(&entry, state, &ClientError::Closed(why));
        };
        for id in releases {
            conn.client.release_prepared(id);
        }
        let fed = conn.is_fed();
        if fed {
            // The previous call handed these bytes over.
            conn.client.clear_output();
        }
        set_send(&entry, &[]);
        if let Some(why) = conn.client.broken() {
            let e = ClientError::Closed(format!("the connection is broken: {why}"));
            return fail(&entry, state, &e);
        }
        if !resume {
            if let Err(e) = conn.abandon() {
                return fail(&entry, state, &e);
            }
        }
        let outcome = f(conn);
        if fed {
            set_send(&entry, conn.client.output());
        }
        if let Err(ClientError::Interrupted) = outcome {
            return PyroStatus::Interrupted;
        }
        if let Err(ClientError::WouldBlock) = outcome {
            let notices = state.notices.len();
            set_out(&entry, &[], 0, false, notices);
            return PyroStatus::NeedIo;
        }
        let outcome = outcome.and_then(|()| match conn.client.result.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        });
        state.notices.append(&mut conn.client.notices);
        let notices = state.notices.len();
        match outcome {
            Ok(()) => {
                let r = &conn.client.result;
                let (has, value, partial) = (r.has_rows, r.value, r.partial);
                let bytes = conn.client.result_bytes();
                // SAFETY: `state` is locked; the caller keeps the buffer alive while it is
                // registered (see pyro_conn_set_result_buffer).
                let (buf, cap) = unsafe { *entry.result_buffer.get() };
                if !has || buf.is_null() || bytes.len() > cap {
                    set_out(&entry, bytes, value, has, notices);
                    return if partial {
                        PyroStatus::OkPartial
                    } else if notices > 0 {
                        PyroStatus::OkWithNotices
                    } else if has && !buf.is_null() {
                        PyroStatus::OkLarge
                    } else {
                        PyroStatus::Ok
                    };
                }
                // SAFETY: as above; the regions cannot overlap (ours is a Vec).
                let copied = unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
                    std::slice::from_raw_parts(buf as *const u8, bytes.len())
                };
                let marshal = conn.client.result.marshal;
                set_out(&entry, copied, value, has, notices);
                if partial {
                    PyroStatus::OkPartial
                } else if notices > 0 {
                    PyroStatus::OkWithNotices
                } else if marshal {
                    PyroStatus::OkMarshal
                } else {
                    PyroStatus::Ok
                }
            }
            Err(e) => {
                if let Some(why) = conn.client.broken() {
                    state.closed_reason = Some(format!("the connection is broken: {why}"));
                }
                fail(&entry, state, &e)
            }
        }
    })
}

/// Borrowed bytes from C; a null pointer is only accepted with length 0.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len)
    }
}

fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str, ClientError> {
    std::str::from_utf8(b).map_err(|_| ClientError::Usage(format!("{what} is not valid UTF-8")))
}

fn row_mode(mode: u32) -> Result<RowMode, ClientError> {
    Ok(match mode {
        PYRO_ROWS_TUPLES => RowMode::List { dicts: false },
        PYRO_ROWS_DICTS => RowMode::List { dicts: true },
        PYRO_FIRST_TUPLE => RowMode::First { dicts: false },
        PYRO_FIRST_DICT => RowMode::First { dicts: true },
        PYRO_DROP => RowMode::Drop,
        other => return Err(ClientError::Usage(format!("unknown row mode {other}"))),
    })
}

/// A prepared statement's id, or (when it is 0) the SQL text.
fn statement_ref(statement_id: u32, sql: &[u8]) -> Result<StatementRef<'_>, ClientError> {
    Ok(if statement_id != 0 { StatementRef::Prepared(statement_id) } else { StatementRef::Sql(utf8(sql, "the SQL text")?) })
}

/// The library version, NUL-terminated, static.
#[no_mangle]
pub extern "C" fn pyro_version() -> *const u8 {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr()
}

/// Allocates a connection handle (not yet connected). Returns 0 when 65535 handles are
/// already live, or when a panic was caught.
#[no_mangle]
pub extern "C" fn pyro_conn_new() -> u32 {
    catch_unwind(|| {
        let entry = Arc::new(ConnEntry {
            state: Mutex::new(ConnState {
                conn: None,
                closed_reason: Some("the connection is not open yet".into()),
                scratch: PickleWriter::new(),
                notices: Vec::new(),
                cancel_message: Vec::new(),
            }),
            out: UnsafeCell::new(PyroOut {
                data: std::ptr::null(),
                len: 0,
                value: 0,
                has_data: 0,
                notices: 0,
                send_data: std::ptr::null(),
                send_len: 0,
            }),
            result_buffer: UnsafeCell::new((std::ptr::null_mut(), 0)),
            releases: Mutex::new(Vec::new()),
        });
        let mut reg = lock(registry());
        let index = match reg.free.pop_front() {
            Some(i) => i,
            None if reg.slots.len() < MAX_HANDLES => {
                reg.slots.push((0, None));
                reg.slots.len() - 1
            }
            None => return 0,
        };
        let slot = &mut reg.slots[index];
        slot.0 = slot.0.wrapping_add(1);
        slot.1 = Some(entry);
        ((slot.0 as u32) << 16) | (index as u32 + 1)
    })
    .unwrap_or(0)
}

/// The out area of a handle (stable until [`pyro_conn_free`]), or null for a bad handle.
#[no_mangle]
pub extern "C" fn pyro_conn_out(handle: u32) -> *const PyroOut {
    catch_unwind(|| match lookup(handle) {
        Some(entry) => entry.out.get() as *const PyroOut,
        None => std::ptr::null(),
    })
    .unwrap_or(std::ptr::null())
}

/// Frees a handle: closes the session (sending Terminate) if still open. Later calls
/// with the handle answer `BadHandle`.
#[no_mangle]
pub extern "C" fn pyro_conn_free(handle: u32) -> PyroStatus {
    ffi_guard(|| {
        let (index, generation) = split_handle(handle);
        let entry = {
            let mut reg = lock(registry());
            match reg.slots.get_mut(index.wrapping_sub(1)) {
                Some((g, slot @ Some(_))) if *g == generation => {
                    let e = slot.take();
                    reg.free.push_back(index - 1);
                    e
                }
                _ => return PyroStatus::BadHandle,
            }
        };
        if let Some(entry) = entry {
            let mut state = lock(&entry.state);
            if let Some(mut conn) = state.conn.take() {
                conn.close();
            }
        }
        PyroStatus::Ok
    })
}

/// The Python function that hands result streams a connection's callables (JSON
/// `loads`, type loaders, composite factories): `callable(registry_key, key)`.
const PYTHON_CALLABLES: (&str, &str) = ("pyro_postgres._registry", "callable");

fn parse_options(raw: &[u8]) -> Result<ConnectOptions, ClientError> {
    let mut opts = ConnectOptions {
        // Results are unpickled by pyro_postgres, which provides a faster Decimal builder.
        decimal_constructor: Some(("pyro_postgres._ffi", "decimal_from_text")),
        ..ConnectOptions::default()
    };
    let text = utf8(raw, "the connection options")?;
    let mut parts = text.split('\0');
    while let Some(key) = parts.next() {
        if key.is_empty() {
            continue;
        }
        let value = parts.next().ok_or_else(|| ClientError::Usage(format!("option {key} has no value")))?;
        let number = |what: &str| -> Result<u64, ClientError> {
            value.parse().map_err(|_| ClientError::Usage(format!("{what} must be a whole number, not {value:?}")))
        };
        match key {
            "host" => opts.host = value.to_owned(),
            "port" => {
                opts.port = u16::try_from(number("port")?)
                    .map_err(|_| ClientError::Usage(format!("port {value} is out of range")))?
            }
            "socket" => opts.socket = Some(value.to_owned()),
            "user" => opts.user = value.to_owned(),
            "password" => opts.password = Some(value.to_owned()),
            "database" => opts.database = Some(value.to_owned()),
            "application_name" => opts.application_name = Some(value.to_owned()),
            "options" => opts.options = Some(value.to_owned()),
            "sslmode" => {
                opts.ssl_mode = SslMode::parse(value)
                    .ok_or_else(|| ClientError::Usage(format!("unknown sslmode {value:?}")))?
            }
            "upgrade_to_unix_socket" => opts.upgrade_to_unix_socket = value == "1",
            "connect_timeout_ms" => {
                let ms = number("connect_timeout")?;
                opts.connect_timeout = (ms > 0).then(|| Duration::from_millis(ms));
            }
            "statement_cache_size" => opts.statement_cache_size = number("statement_cache_size")? as usize,
            "json" => {
                opts.decode.json = match value {
                    "parse" => JsonMode::Parse,
                    "str" => JsonMode::Str,
                    "loads" => JsonMode::Loads,
                    _ => return Err(ClientError::Usage(format!("unknown json mode {value:?}"))),
                }
            }
            "json_dumps" => {
                if value != "python" {
                    return Err(ClientError::Usage(format!("unknown json_dumps {value:?}")));
                }
                let mut types = (*opts.decode.types).clone();
                types.add_python_dumped(pyro_codecs::oid::JSON, pyro_codecs::oid::JSON_ARRAY);
                types.add_python_dumped(pyro_codecs::oid::JSONB, pyro_codecs::oid::JSONB_ARRAY);
                opts.decode.types = Arc::new(types);
            }
            "temporal_out_of_range" => {
                opts.decode.temporal_as_str = match value {
                    "default" => false,
                    "str" => true,
                    _ => return Err(ClientError::Usage(format!("unknown temporal_out_of_range {value:?}"))),
                }
            }
            "registry_key" => {
                let key = u32::try_from(number("registry_key")?)
                    .map_err(|_| ClientError::Usage(format!("registry_key {value} is out of range")))?;
                opts.python_callables = Some((PYTHON_CALLABLES.0, PYTHON_CALLABLES.1, key));
            }
            _ => {
                let setting = key.strip_prefix("param:").ok_or_else(|| ClientError::Usage(format!("unknown option {key}")))?;
                opts.params.push((setting.to_owned(), value.to_owned()));
            }
        }
    }
    Ok(opts)
}

/// Connects using `opts`: NUL-separated `key\0value\0` pairs (keys: host, port, socket,
/// user, password, database, application_name, options, sslmode,
/// upgrade_to_unix_socket (0/1), connect_timeout_ms, statement_cache_size, json
/// (parse/str/loads), temporal_out_of_range (default/str), registry_key (the key under
/// which `pyro_postgres._registry` holds the connection's Python callables), and
/// `param:<name>` for any server setting sent at startup).
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_connect(handle: u32, opts: *const u8, opts_len: u32) -> PyroStatus {
    let raw = bytes(opts, opts_len as usize);
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        let mut guard = lock(&entry.state);
        let state = &mut *guard;
        if state.conn.is_some() {
            return fail(&entry, state, &ClientError::Usage("the handle is already connected".into()));
        }
        let connected = parse_options(raw).and_then(|o| BlockingConn::connect(&o));
        match connected {
            Ok(mut conn) => {
                state.notices.append(&mut conn.client.notices);
                state.conn = Some(conn);
                state.closed_reason = None;
                state.scratch.reset();
                state.scratch.none();
                state.scratch.stop();
                let n = state.notices.len();
                set_out(&entry, state.scratch.as_bytes(), 0, false, n);
                if n > 0 {
                    PyroStatus::OkWithNotices
                } else {
                    PyroStatus::Ok
                }
            }
            Err(e) => fail(&entry, state, &e),
        }
    })
}

/// Starts a session whose bytes the caller moves (asyncio): the caller has connected to
/// the server itself (`endpoint`: the socket path, or `ip:port` when `tcp` is 1) and now
/// writes `send_data` and feeds what it reads to [`pyro_conn_feed`] until the status is
/// `Ok`. Every later call works the same way (status `NeedIo` until done). Options as in
/// [`pyro_conn_connect`]; the unix-socket upgrade does not apply.
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_connect_fed(
    handle: u32,
    opts: *const u8,
    opts_len: u32,
    endpoint: *const u8,
    endpoint_len: u32,
    tcp: u32,
) -> PyroStatus {
    let raw = bytes(opts, opts_len as usize);
    let endpoint = bytes(endpoint, endpoint_len as usize);
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        let mut guard = lock(&entry.state);
        let state = &mut *guard;
        if state.conn.is_some() {
            return fail(&entry, state, &ClientError::Usage("the handle is already connected".into()));
        }
        let started = parse_options(raw).and_then(|o| {
            let endpoint = utf8(endpoint, "the endpoint")?.to_owned();
            let addr = if tcp != 0 { endpoint.parse().ok() } else { None };
            if tcp != 0 && addr.is_none() {
                return Err(ClientError::Usage(format!("{endpoint:?} is not an ip:port address")));
            }
            pyro_transport::BlockingConn::fed(&o, endpoint, addr)
        });
        match started {
            Ok(conn) => {
                state.conn = Some(conn);
                state.closed_reason = None;
                let conn = state.conn.as_ref().expect("just set");
                set_send(&entry, conn.client.output());
                set_out(&entry, &[], 0, false, 0);
                PyroStatus::NeedIo
            }
            Err(e) => fail(&entry, state, &e),
        }
    })
}

/// The CancelRequest message for this session (its backend pid and secret key) in the out
/// area, for a caller that sends it over a connection of its own (asyncio).
#[no_mangle]
pub extern "C" fn pyro_conn_cancel_message(handle: u32) -> PyroStatus {
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        let mut guard = lock(&entry.state);
        let state = &mut *guard;
        let Some(conn) = state.conn.as_ref() else {
            return fail(&entry, state, &ClientError::Closed("the connection is not open".into()));
        };
        let info = &conn.client.info;
        let mut msg = Vec::new();
        pyro_protocol::frontend::cancel_request(&mut msg, info.pid, &info.secret_key);
        state.cancel_message = msg;
        set_out(&entry, &state.cancel_message, 0, true, 0);
        PyroStatus::Ok
    })
}

/// Hands bytes read from the server to a fed session and goes on with its operation.
///
/// # Safety
/// `data` must be null (with a zero length) or point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_feed(handle: u32, data: *const u8, len: u32) -> PyroStatus {
    let data = bytes(data, len as usize);
    run_on_conn(handle, true, |conn| {
        conn.client.feed(data);
        if conn.client.has_partial() {
            // A chunk of rows waits for the caller (it resumes when it has taken it):
            // keep the bytes, touch nothing.
            return Ok(());
        }
        conn.run()
    })
}

/// Simple query (text results, several statements allowed). `mode` is one of the
/// `PYRO_ROWS_*`/`PYRO_FIRST_*`/`PYRO_DROP` constants.
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_query(handle: u32, sql: *const u8, sql_len: u32, mode: u32) -> PyroStatus {
    let sql = bytes(sql, sql_len as usize);
    with_conn(handle, |conn| {
        let sql = utf8(sql, "the SQL text")?;
        conn.client.start_query(sql, row_mode(mode)?)?;
        conn.run()
    })
}

/// Extended query with binary results. `statement_id` names a prepared statement
/// (from [`pyro_conn_prepare`]); when it is 0, `sql` is used through the statement cache.
/// `params` is `marshal.dumps(params, version)` of a tuple or list (any format version
/// from 2 on; Python's layer uses 2, which needs no back-reference table).
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_exec(
    handle: u32,
    statement_id: u32,
    sql: *const u8,
    sql_len: u32,
    params: *const u8,
    params_len: u32,
    mode: u32,
) -> PyroStatus {
    let sql = bytes(sql, sql_len as usize);
    let params = bytes(params, params_len as usize);
    with_conn(handle, |conn| {
        let stmt = statement_ref(statement_id, sql)?;
        conn.client.start_exec(stmt, params, row_mode(mode)?)?;
        conn.run()
    })
}

/// [`pyro_conn_exec`] for a prepared statement, all in one buffer, because a ctypes
/// caller pays for every argument of every call: `call` is
/// `marshal.dumps((handle, statement, params), 2)`, where `statement` is the statement's
/// id plus the row mode (ids are multiples of [`PYRO_STATEMENT_ID_STEP`], so the mode fits
/// below) and `params` is as for [`pyro_conn_exec`]. Returns a [`PyroStatus`], except that
/// a successful `PYRO_DROP` with fewer than 2**31 - 1 affected rows `n` returns `-1 - n`
/// (the caller then needs nothing from the out area). A buffer that does not start with
/// two such integers answers `BadHandle`.
///
/// # Safety
/// `call` must point to `call_len` readable bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_exec_call(call: *const u8, call_len: u32) -> i32 {
    let Some((handle, statement, params)) = pyro_codecs::marshal::split_call(bytes(call, call_len as usize)) else {
        return PyroStatus::BadHandle as i32;
    };
    let mut count = None;
    let status = with_conn(handle, |conn| {
        let mode = row_mode(statement % PYRO_STATEMENT_ID_STEP)?;
        let id = statement - statement % PYRO_STATEMENT_ID_STEP;
        conn.client.start_exec(StatementRef::Prepared(id), params, mode)?;
        conn.run()?;
        if mode == RowMode::Drop {
            count = Some(conn.client.result.value);
        }
        Ok(())
    });
    match (status, count) {
        (PyroStatus::Ok, Some(n)) if n < i32::MAX as u64 => -1 - n as i32,
        (status, _) => status as i32,
    }
}

/// Runs the statement once per parameter set: `params_list` is `marshal.dumps(list of
/// tuples, 4)`. Pipelined in chunks of 1000 rows with one Sync each; every row is encoded
/// before anything is sent. `value` is the total affected-row count.
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_exec_batch(
    handle: u32,
    statement_id: u32,
    sql: *const u8,
    sql_len: u32,
    params_list: *const u8,
    params_list_len: u32,
) -> PyroStatus {
    let sql = bytes(sql, sql_len as usize);
    let params = bytes(params_list, params_list_len as usize);
    with_conn(handle, |conn| {
        let stmt = statement_ref(statement_id, sql)?;
        conn.client.start_batch(stmt, params)?;
        conn.run()
    })
}

/// Binds the unnamed portal for streaming (`exec_iter`): like [`pyro_conn_exec`], but the
/// rows are read by [`pyro_conn_portal_fetch`] until [`pyro_conn_portal_close`]. Other
/// statements are refused meanwhile.
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_portal_open(
    handle: u32,
    statement_id: u32,
    sql: *const u8,
    sql_len: u32,
    params: *const u8,
    params_len: u32,
) -> PyroStatus {
    let sql = bytes(sql, sql_len as usize);
    let params = bytes(params, params_len as usize);
    with_conn(handle, |conn| {
        let stmt = statement_ref(statement_id, sql)?;
        conn.client.start_portal(stmt, params)?;
        conn.run()
    })
}

/// Up to `max_rows` rows (0: all that are left) from the open portal; `value` is 1 when
/// the portal has more.
#[no_mangle]
pub extern "C" fn pyro_conn_portal_fetch(handle: u32, max_rows: u32, mode: u32) -> PyroStatus {
    with_conn(handle, |conn| {
        let mode = row_mode(mode)?;
        conn.client.start_fetch(max_rows, mode)?;
        conn.run()
    })
}

/// Closes the portal and ends its transaction (Sync). A no-op when none is open.
#[no_mangle]
pub extern "C" fn pyro_conn_portal_close(handle: u32) -> PyroStatus {
    with_conn(handle, |conn| {
        conn.client.start_portal_close()?;
        conn.run()
    })
}

/// Binds a named portal inside the open transaction (`Transaction.exec_portal`); `value`
/// is its id for [`pyro_conn_named_portal_fetch`] and [`pyro_conn_named_portal_close`].
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_named_portal_open(
    handle: u32,
    statement_id: u32,
    sql: *const u8,
    sql_len: u32,
    params: *const u8,
    params_len: u32,
) -> PyroStatus {
    let sql = bytes(sql, sql_len as usize);
    let params = bytes(params, params_len as usize);
    with_conn(handle, |conn| {
        let stmt = statement_ref(statement_id, sql)?;
        conn.client.start_named_portal(stmt, params)?;
        conn.run()
    })
}

/// Up to `max_rows` rows (0: the rest) of named portal `portal_id`; `value` is 1 when it
/// has more.
#[no_mangle]
pub extern "C" fn pyro_conn_named_portal_fetch(handle: u32, portal_id: u32, max_rows: u32, mode: u32) -> PyroStatus {
    with_conn(handle, |conn| {
        let mode = row_mode(mode)?;
        conn.client.start_named_fetch(portal_id, max_rows, mode)?;
        conn.run()
    })
}

/// Closes named portal `portal_id` (a no-op when it is already gone).
#[no_mangle]
pub extern "C" fn pyro_conn_named_portal_close(handle: u32, portal_id: u32) -> PyroStatus {
    with_conn(handle, |conn| {
        conn.client.start_named_close(portal_id)?;
        conn.run()
    })
}

/// Opens a pipeline on the connection: other statements are refused until
/// [`pyro_conn_pipeline_end`].
#[no_mangle]
pub extern "C" fn pyro_conn_pipeline_begin(handle: u32) -> PyroStatus {
    with_conn(handle, |conn| conn.client.start_pipeline())
}

/// Buffers a request in the pipeline (nothing is sent); `value` is its ticket.
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_pipeline_exec(
    handle: u32,
    statement_id: u32,
    sql: *const u8,
    sql_len: u32,
    params: *const u8,
    params_len: u32,
) -> PyroStatus {
    let sql = bytes(sql, sql_len as usize);
    let params = bytes(params, params_len as usize);
    with_conn(handle, |conn| {
        let stmt = statement_ref(statement_id, sql)?;
        conn.client.pipeline_exec(stmt, params)
    })
}

/// Sends what the pipeline has buffered, followed by Sync (`with_sync` = 1) or Flush.
#[no_mangle]
pub extern "C" fn pyro_conn_pipeline_send(handle: u32, with_sync: u32) -> PyroStatus {
    with_conn(handle, |conn| {
        conn.client.pipeline_send(with_sync != 0)?;
        conn.run()
    })
}

/// Reads the replies of `ticket` (the oldest unclaimed one), sending it first with a
/// Sync if it is still buffered. Rows as in [`pyro_conn_exec`].
#[no_mangle]
pub extern "C" fn pyro_conn_pipeline_claim(handle: u32, ticket: u32, mode: u32) -> PyroStatus {
    with_conn(handle, |conn| {
        let mode = row_mode(mode)?;
        conn.client.pipeline_claim(ticket, mode)?;
        conn.run()
    })
}

/// Closes the pipeline: sends what is buffered (with Sync) and reads every reply still
/// due, dropping them.
#[no_mangle]
pub extern "C" fn pyro_conn_pipeline_end(handle: u32) -> PyroStatus {
    with_conn(handle, |conn| {
        conn.client.pipeline_end()?;
        conn.run()
    })
}

/// Tickets not yet claimed times two, plus one when the current Sync segment is aborted;
/// -1 for a bad handle.
#[no_mangle]
pub extern "C" fn pyro_conn_pipeline_status(handle: u32) -> i64 {
    catch_unwind(|| {
        let Some(entry) = lookup(handle) else { return -1 };
        let state = lock(&entry.state);
        match &state.conn {
            Some(conn) => (conn.client.pipeline_pending() as i64) * 2 + conn.client.pipeline_aborted() as i64,
            None => 0,
        }
    })
    .unwrap_or(-1)
}

/// Prepares `count` statements (NUL-separated SQL texts) in one round trip; the result
/// is a pickled list of statement ids.
///
/// # Safety
/// Pointer arguments must be null (with a zero length) or point to that many readable
/// bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_prepare(handle: u32, sqls: *const u8, sqls_len: u32, count: u32) -> PyroStatus {
    let raw = bytes(sqls, sqls_len as usize);
    with_conn(handle, |conn| {
        let text = utf8(raw, "the SQL text")?;
        let list: Vec<&str> = if count == 0 { Vec::new() } else { text.split('\0').collect() };
        if list.len() != count as usize {
            return Err(ClientError::Usage("statement count does not match the texts given".into()));
        }
        conn.client.start_prepare(&list)?;
        conn.run()
    })
}

/// Registers a type for the connection's results and parameters (`Conn.register_type`).
/// `spec` is `marshal.dumps((oid, array_oid, name, kind, python_dumped, factory, fields))`:
/// `kind` one of `text`, `enum`, `loader`, `composite`, `hstore`, `domain`; `fields` the
/// composite's `(declared type, decode-as type)` pairs, or for a domain `[(base, base)]`;
/// `python_dumped` 1 when Python dumps its parameters; `factory` 1 when a composite's
/// values go through the connection's callable for the OID. No I/O.
///
/// # Safety
/// `spec` must be null (with a zero length) or point to `spec_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_register_type(handle: u32, spec: *const u8, spec_len: u32) -> PyroStatus {
    let spec = bytes(spec, spec_len as usize);
    with_conn(handle, |conn| {
        conn.client.result = Default::default();
        let bad = |what: &str| ClientError::Usage(format!("register_type: bad specification ({what})"));
        let items = pyro_codecs::marshal::parse_params(spec).map_err(|e| bad(&e.message))?;
        use pyro_codecs::marshal::ParamValue as P;
        let int = |v: &P| match v {
            P::Int(i) => u32::try_from(*i).map_err(|_| bad("an OID is out of range")),
            P::Bool(b) => Ok(*b as u32),
            _ => Err(bad("expected an int")),
        };
        let [oid, array_oid, P::Str(name), P::Str(kind), dumped, factory, P::List(fields)] = &items[..] else {
            return Err(bad("shape"));
        };
        let (oid, array_oid, dumped, factory) = (int(oid)?, int(array_oid)?, int(dumped)? != 0, int(factory)? != 0);
        let mut pairs = Vec::with_capacity(fields.len());
        for f in fields {
            let P::List(pair) = f else { return Err(bad("fields")) };
            let [declared, decode_as] = &pair[..] else { return Err(bad("fields")) };
            pairs.push((int(declared)?, int(decode_as)?));
        }
        let kind = match *kind {
            "text" => TypeKind::Text,
            "enum" => TypeKind::Enum,
            "loader" => TypeKind::Loader,
            "hstore" => TypeKind::Hstore,
            "composite" => TypeKind::Composite { fields: pairs, factory },
            "domain" => TypeKind::Domain { base: pairs.first().ok_or_else(|| bad("domain base"))?.1 },
            other => return Err(bad(&format!("kind {other:?}"))),
        };
        conn.client.register_type(oid, array_oid, name, kind);
        if dumped {
            conn.client.add_python_dumped(oid, array_oid);
        }
        Ok(())
    })
}

/// Marks types as introspected: `oids` is a marshalled list of the type OIDs a
/// `needs_types` error reported, which the caller has looked up (and registered where it
/// could). They are never reported again on this connection. No I/O.
///
/// # Safety
/// `oids` must be null (with a zero length) or point to `oids_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pyro_conn_types_introspected(handle: u32, oids: *const u8, oids_len: u32) -> PyroStatus {
    let oids = bytes(oids, oids_len as usize);
    with_conn(handle, |conn| {
        conn.client.result = Default::default();
        let bad = || ClientError::Usage("types_introspected: expected a marshalled list of type OIDs".into());
        let items = pyro_codecs::marshal::parse_params(oids).map_err(|_| bad())?;
        let mut list = Vec::with_capacity(items.len());
        for item in &items {
            let pyro_codecs::marshal::ParamValue::Int(i) = item else { return Err(bad()) };
            list.push(u32::try_from(*i).map_err(|_| bad())?);
        }
        conn.client.types_introspected(&list);
        Ok(())
    })
}

/// Registers a buffer for results: those of at most `capacity` bytes are copied there
/// (status `Ok`), larger ones stay in the library (status `OkLarge`). The buffer must stay
/// valid until another one is registered (a null pointer unregisters) or the handle is
/// freed.
#[no_mangle]
pub extern "C" fn pyro_conn_set_result_buffer(handle: u32, buffer: *mut u8, capacity: u32) -> PyroStatus {
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        let _state = lock(&entry.state);
        // SAFETY: `state` is locked, which serialises every access to the registration.
        unsafe {
            *entry.result_buffer.get() = if buffer.is_null() { (std::ptr::null_mut(), 0) } else { (buffer, capacity as usize) };
        }
        PyroStatus::Ok
    })
}

/// Forgets a prepared statement; its Close is sent with the next request. Never blocks
/// on a running query.
#[no_mangle]
pub extern "C" fn pyro_conn_release_statement(handle: u32, statement_id: u32) -> PyroStatus {
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        lock(&entry.releases).push(statement_id);
        PyroStatus::Ok
    })
}

/// Goes on with the operation a call left running — interrupted by a signal, or paused
/// after a chunk of rows (`OkPartial`) — and reports its result as that call would have.
#[no_mangle]
pub extern "C" fn pyro_conn_resume(handle: u32) -> PyroStatus {
    run_on_conn(handle, true, |conn| {
        if conn.client.is_idle() {
            return Err(ClientError::Usage("there is no interrupted operation to resume".into()));
        }
        if conn.client.has_partial() {
            conn.client.continue_partial()?;
        }
        conn.run()
    })
}

/// Cancels the operation an interrupted call left running (CancelRequest) and reads
/// until it is over; its result is dropped. A no-op when nothing is running.
#[no_mangle]
pub extern "C" fn pyro_conn_abandon(handle: u32) -> PyroStatus {
    run_on_conn(handle, true, |conn| conn.abandon())
}

/// One Sync round trip.
#[no_mangle]
pub extern "C" fn pyro_conn_ping(handle: u32) -> PyroStatus {
    with_conn(handle, |conn| {
        conn.client.start_ping()?;
        conn.run()
    })
}

/// A pickled dict describing the session: pid, parameters (server settings reported by
/// the server), protocol_minor, transaction_status, unix_socket, endpoint, and the
/// statement counts.
#[no_mangle]
pub extern "C" fn pyro_conn_info(handle: u32) -> PyroStatus {
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        let mut guard = lock(&entry.state);
        let state = &mut *guard;
        let w = &mut state.scratch;
        w.reset();
        w.empty_dict();
        w.mark();
        match &state.conn {
            Some(conn) => {
                let info = &conn.client.info;
                w.str("pid");
                w.int(info.pid as i64);
                w.str("protocol_minor");
                w.int(info.protocol_minor as i64);
                w.str("parameters");
                w.empty_dict();
                w.mark();
                for (k, v) in &info.parameters {
                    w.str(k);
                    w.str(v);
                }
                w.setitems();
                w.str("transaction_status");
                w.str(std::str::from_utf8(&[conn.client.transaction_status()]).unwrap_or("?"));
                w.str("unix_socket");
                w.bool(conn.is_unix_socket);
                w.str("endpoint");
                w.str(&conn.endpoint);
                w.str("cached_statements");
                w.int(conn.client.statements().cached_len() as i64);
                w.str("prepared_statements");
                w.int(conn.client.statements().prepared_len() as i64);
                w.str("broken");
                match conn.client.broken() {
                    Some(why) => w.str(why),
                    None => w.none(),
                }
                w.str("connect_log");
                w.empty_list();
                w.mark();
                for line in &conn.connect_log {
                    w.str(line);
                }
                w.appends();
            }
            None => {
                w.str("closed");
                w.str(state.closed_reason.as_deref().unwrap_or("closed"));
            }
        }
        w.setitems();
        w.stop();
        let n = state.notices.len();
        set_out(&entry, state.scratch.as_bytes(), 0, true, n);
        PyroStatus::Ok
    })
}

/// Moves the buffered server notices into the out area as a pickled list of dicts
/// (protocol field code → text).
#[no_mangle]
pub extern "C" fn pyro_conn_take_notices(handle: u32) -> PyroStatus {
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        let mut guard = lock(&entry.state);
        let state = &mut *guard;
        let notices = std::mem::take(&mut state.notices);
        let w = &mut state.scratch;
        w.reset();
        w.empty_list();
        w.mark();
        for fields in &notices {
            w.empty_dict();
            w.mark();
            for (code, value) in fields {
                w.str(std::str::from_utf8(&[*code]).unwrap_or("?"));
                w.str(value);
            }
            w.setitems();
        }
        w.appends();
        w.stop();
        set_out(&entry, state.scratch.as_bytes(), notices.len() as u64, true, 0);
        PyroStatus::Ok
    })
}

/// Sends Terminate and closes the socket. Later calls fail with a "closed" error; the
/// handle stays valid until [`pyro_conn_free`].
#[no_mangle]
pub extern "C" fn pyro_conn_close(handle: u32) -> PyroStatus {
    ffi_guard(|| {
        let Some(entry) = lookup(handle) else { return PyroStatus::BadHandle };
        let mut state = lock(&entry.state);
        if let Some(mut conn) = state.conn.take() {
            conn.close();
        }
        state.closed_reason = Some("the connection is closed".into());
        PyroStatus::Ok
    })
}

/// 1 when the handle has a live, in-step session; 0 when closed or broken; -1 for a bad
/// handle.
#[no_mangle]
pub extern "C" fn pyro_conn_is_open(handle: u32) -> i32 {
    catch_unwind(|| {
        let Some(entry) = lookup(handle) else { return -1 };
        let state = lock(&entry.state);
        match &state.conn {
            Some(conn) if conn.client.broken().is_none() => 1,
            _ => 0,
        }
    })
    .unwrap_or(-1)
}

/// The transaction status byte of the last ReadyForQuery (`'I'`, `'T'` or `'E'`), 0 when
/// closed, -1 for a bad handle.
#[no_mangle]
pub extern "C" fn pyro_conn_transaction_status(handle: u32) -> i32 {
    catch_unwind(|| {
        let Some(entry) = lookup(handle) else { return -1 };
        let state = lock(&entry.state);
        match &state.conn {
            Some(conn) if conn.client.broken().is_none() => conn.client.transaction_status() as i32,
            _ => 0,
        }
    })
    .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_and_forged_handles_are_rejected() {
        assert_eq!(pyro_conn_ping(0), PyroStatus::BadHandle);
        assert_eq!(pyro_conn_ping(12345), PyroStatus::BadHandle);
        let h = pyro_conn_new();
        assert_ne!(h, 0);
        assert!(!pyro_conn_out(h).is_null());
        // Not connected yet: a clear error, not a crash.
        assert_eq!(pyro_conn_ping(h), PyroStatus::Error);
        assert_eq!(pyro_conn_free(h), PyroStatus::Ok);
        assert_eq!(pyro_conn_ping(h), PyroStatus::BadHandle);
        assert_eq!(pyro_conn_free(h), PyroStatus::BadHandle);
        assert!(pyro_conn_out(h).is_null());
        // The slot is reused with a new generation; the old handle stays dead.
        let h2 = pyro_conn_new();
        assert_ne!(h2, h);
        assert_eq!(pyro_conn_ping(h), PyroStatus::BadHandle);
        pyro_conn_free(h2);
    }

    #[test]
    fn options_are_parsed_and_unknown_keys_rejected() {
        let o = parse_options(b"host\0db.example\0port\x005433\0param:search_path\0s\0upgrade_to_unix_socket\x000\0").unwrap();
        assert_eq!(o.host, "db.example");
        assert_eq!(o.port, 5433);
        assert_eq!(o.params, vec![("search_path".to_owned(), "s".to_owned())]);
        assert!(!o.upgrade_to_unix_socket);
        assert!(parse_options(b"bogus\0x\0").is_err());
        assert!(parse_options(b"port\x0070000\0").is_err());
    }

    #[test]
    fn decoding_options_are_parsed() {
        let o = parse_options(b"json\0str\0temporal_out_of_range\0str\0registry_key\x0042\0").unwrap();
        assert_eq!(o.decode.json, JsonMode::Str);
        assert!(o.decode.temporal_as_str);
        assert_eq!(o.python_callables, Some(("pyro_postgres._registry", "callable", 42)));
        assert!(o.decode.types.is_empty());
        let o = parse_options(b"json\0loads\0json_dumps\0python\0").unwrap();
        assert_eq!(o.decode.json, JsonMode::Loads);
        assert_eq!(o.decode.types.array_element(pyro_codecs::oid::JSONB_ARRAY), Some(pyro_codecs::oid::JSONB));
        for bad in [&b"json\0yaml\0"[..], b"temporal_out_of_range\0clamp\0", b"json_dumps\0x\0", b"registry_key\0-1\0"] {
            assert!(parse_options(bad).is_err());
        }
    }

    #[test]
    fn header_is_current() {
        let crate_dir = env!("CARGO_MANIFEST_DIR");
        let header = std::path::Path::new(crate_dir).join("../../include/pyro_postgres.h");
        let config = cbindgen::Config::from_file(std::path::Path::new(crate_dir).join("cbindgen.toml")).unwrap();
        let mut generated = Vec::new();
        cbindgen::Builder::new()
            .with_crate(crate_dir)
            .with_config(config)
            .generate()
            .expect("cbindgen runs")
            .write(&mut generated);
        if std::env::var_os("PYRO_UPDATE_HEADER").is_some() {
            std::fs::write(&header, &generated).unwrap();
        }
        let current = std::fs::read(&header).unwrap_or_default();
        assert!(
            current == generated,
            "include/pyro_postgres.h is stale: run `PYRO_UPDATE_HEADER=1 cargo test -p pyro-ffi header_is_current`"
        );
    }
}
