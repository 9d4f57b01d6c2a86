//! A writer for the subset of pickle protocol 5 that result rows need.
//!
//! The stream is produced only by this writer, so only opcodes we chose can appear in it.
//! Every byte that came from the server is written inside a length-prefixed payload
//! (`SHORT_BINUNICODE`, `BINBYTES`, …), where the unpickler never looks for opcodes.
//!
//! Objects other than builtins are built the way CPython's own pickler builds them, because
//! those are the C-level fast paths of their constructors: `date(b'<4 bytes>')`,
//! `time(b'<6 bytes>'[, tz])`, `datetime(b'<10 bytes>'[, tz])` (the states returned by the
//! `__reduce__` of the C `datetime` types), `timedelta(d, s, us)` and `Decimal(str)`.
//! Classes and other shared objects are emitted once per stream (`STACK_GLOBAL` + `MEMOIZE`)
//! and then fetched from the memo with `BINGET`, which costs one array lookup.
//!
//! UUIDs are the exception: both `UUID.__init__` and the default `__setstate__` path run
//! Python code. Measured (`pickle.loads` of 1000 UUIDs, Python 3.11, ns per UUID):
//! `UUID(None, None, None, None, int)` 890, `UUID(hex)` 1350, `UUID(None, bytes)` 1110,
//! NEWOBJ + BUILD `{'int': …}` (what `pickle.dumps` emits) 1070–1190, and
//! NEWOBJ + two `object.__setattr__` calls 556. The last is what `UUID.__init__` itself does
//! after validating (and what 3.14's `UUID._from_int` does), so it builds an identical,
//! fully valid object with `is_safe = SafeUUID.unknown`; it is used here.
//!
//! `pyro_postgres.Range` has no C constructor to reach, so ranges go through the module's
//! `_make_range(lower, upper, flags)`, which fills the slots without `__init__`'s checks:
//! about 330 ns per range against 590 for NEWOBJ + BUILD of the slot state (pickle.loads of
//! 1000 int ranges, Python 3.11).

const PROTO: u8 = 0x80;
const STOP: u8 = b'.';
const MARK: u8 = b'(';
const POP: u8 = b'0';
const EMPTY_LIST: u8 = b']';
const APPEND: u8 = b'a';
const APPENDS: u8 = b'e';
const EMPTY_DICT: u8 = b'}';
const SETITEM: u8 = b's';
const SETITEMS: u8 = b'u';
const EMPTY_TUPLE: u8 = b')';
const TUPLE: u8 = b't';
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const NONE: u8 = b'N';
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const LONG1: u8 = 0x8a;
const LONG4: u8 = 0x8b;
const BINFLOAT: u8 = b'G';
const SHORT_BINUNICODE: u8 = 0x8c;
const BINUNICODE: u8 = b'X';
const BINUNICODE8: u8 = 0x8d;
const SHORT_BINBYTES: u8 = b'C';
const BINBYTES: u8 = b'B';
const BINBYTES8: u8 = 0x8e;
const MEMOIZE: u8 = 0x94;
const BINGET: u8 = b'h';
const LONG_BINGET: u8 = b'j';
const BINPUT: u8 = b'q';
const LONG_BINPUT: u8 = b'r';
const STACK_GLOBAL: u8 = 0x93;
const REDUCE: u8 = b'R';
const NEWOBJ: u8 = 0x81;

/// Objects emitted at most once per stream and then fetched from the memo.
#[derive(Clone, Copy)]
enum Shared {
    Date,
    Time,
    DateTime,
    TimeDelta,
    TimeZone,
    Utc,
    Decimal,
    Uuid,
    SafeUuidUnknown,
    ObjectSetattr,
    IntAttrName,
    IsSafeAttrName,
    RangeFactory,
    Ipv4Address,
    Ipv6Address,
    Ipv4Interface,
    Ipv6Interface,
    Ipv4Network,
    Ipv6Network,
}

const SHARED_COUNT: usize = 19;

impl Shared {
    /// `(module, qualified name)` for globals, `("", text)` for plain strings. Dotted names
    /// resolve through attributes, which `STACK_GLOBAL` allows from protocol 4 on.
    fn source(self) -> (&'static str, &'static str) {
        match self {
            Shared::Date => ("datetime", "date"),
            Shared::Time => ("datetime", "time"),
            Shared::DateTime => ("datetime", "datetime"),
            Shared::TimeDelta => ("datetime", "timedelta"),
            Shared::TimeZone => ("datetime", "timezone"),
            Shared::Utc => ("datetime", "timezone.utc"),
            Shared::Decimal => ("decimal", "Decimal"),
            Shared::Uuid => ("uuid", "UUID"),
            Shared::SafeUuidUnknown => ("uuid", "SafeUUID.unknown"),
            Shared::ObjectSetattr => ("builtins", "object.__setattr__"),
            Shared::IntAttrName => ("", "int"),
            Shared::IsSafeAttrName => ("", "is_safe"),
            Shared::RangeFactory => ("pyro_postgres._types", "_make_range"),
            Shared::Ipv4Address => ("ipaddress", "IPv4Address"),
            Shared::Ipv6Address => ("ipaddress", "IPv6Address"),
            Shared::Ipv4Interface => ("ipaddress", "IPv4Interface"),
            Shared::Ipv6Interface => ("ipaddress", "IPv6Interface"),
            Shared::Ipv4Network => ("ipaddress", "IPv4Network"),
            Shared::Ipv6Network => ("ipaddress", "IPv6Network"),
        }
    }
}

const NOT_EMITTED: u32 = u32::MAX;

/// Builds one pickle stream; see the module documentation.
///
/// The memo is shared between this writer's own objects and the caller's [`memoize`]
/// calls, which is why every memo index comes from the writer.
///
/// [`memoize`]: PickleWriter::memoize
#[derive(Clone, Debug)]
pub struct PickleWriter {
    buf: Vec<u8>,
    memo_len: u32,
    shared: [u32; SHARED_COUNT],
    /// Memo slot that holds the UUID under construction; reused (overwritten) for every
    /// UUID so the memo does not grow with the row count.
    uuid_slot: u32,
    /// `(utc offset in seconds, memo index)` of fixed-offset timezones already emitted.
    timezones: Vec<(i32, u32)>,
    /// Reused buffer for values whose text is built before it is written.
    scratch: Vec<u8>,
    /// `(module, name)` of the callable that turns numeric text into a `Decimal`.
    decimal_constructor: (&'static str, &'static str),
    /// Writing the `marshal` format instead (see [`PickleWriter::reset_marshal`]).
    marshal: bool,
    /// The innermost open marshal container: where its item count goes (`NO_COUNT_AT`
    /// for dicts, tuples and the top level, which have none) and its items so far. Kept
    /// out of `open` so that counting a value is one add, whatever the container.
    cur_at: usize,
    cur_count: u32,
    /// The marshal containers around the innermost one, outermost first, as `(cur_at,
    /// cur_count)` were when it was opened.
    open: Vec<(usize, u32)>,
    /// Start of the last value written, where a marshal back-reference flag goes.
    last_value: usize,
    /// Marshal objects flagged for back-references so far.
    refs: u32,
    /// `(module, name, connection key)` of the function that hands out a connection's
    /// Python callables (see [`PickleWriter::call_python`]).
    callables_source: (&'static str, &'static str, u32),
    /// `(key, memo index)` of the callables already fetched in this stream.
    callables: Vec<(u32, u32)>,
}

// Marshal type codes (CPython's Python/marshal.c, format version 4).
const M_NONE: u8 = b'N';
const M_TRUE: u8 = b'T';
const M_FALSE: u8 = b'F';
const M_INT: u8 = b'i';
const M_LONG: u8 = b'l';
const M_FLOAT: u8 = b'g';
const M_UNICODE: u8 = b'u';
const M_ASCII: u8 = b'a';
const M_SHORT_ASCII: u8 = b'z';
const M_BYTES: u8 = b's';
const M_LIST: u8 = b'[';
const M_DICT: u8 = b'{';
const M_DICT_END: u8 = b'0';
const M_SMALL_TUPLE: u8 = b')';
const M_TUPLE: u8 = b'(';
const M_REF: u8 = b'r';
const M_FLAG_REF: u8 = 0x80;
const NO_COUNT_AT: usize = usize::MAX;

impl Default for PickleWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl PickleWriter {
    /// A writer with the protocol header already written.
    pub fn new() -> Self {
        let mut w = PickleWriter {
            buf: Vec::with_capacity(4096),
            memo_len: 0,
            shared: [NOT_EMITTED; SHARED_COUNT],
            uuid_slot: NOT_EMITTED,
            timezones: Vec::new(),
            scratch: Vec::new(),
            decimal_constructor: ("decimal", "Decimal"),
            marshal: false,
            cur_at: NO_COUNT_AT,
            cur_count: 0,
            open: Vec::new(),
            last_value: 0,
            refs: 0,
            callables_source: ("", "", 0),
            callables: Vec::new(),
        };
        w.reset();
        w
    }

    /// Starts a new stream: forgets the buffer and every memoised object (a memo index is
    /// meaningless in another stream) and writes the protocol header.
    pub fn reset(&mut self) {
        self.forget();
        self.buf.extend_from_slice(&[PROTO, 5]);
    }

    /// An empty buffer and no state from the previous stream, in pickle mode.
    fn forget(&mut self) {
        self.buf.clear();
        self.memo_len = 0;
        self.shared = [NOT_EMITTED; SHARED_COUNT];
        self.uuid_slot = NOT_EMITTED;
        self.timezones.clear();
        self.callables.clear();
        self.marshal = false;
        self.cur_at = NO_COUNT_AT;
        self.cur_count = 0;
        self.open.clear();
        self.refs = 0;
    }

    /// Starts a new stream in CPython's `marshal` format (version 4) instead of pickle:
    /// `marshal.loads` builds lists, tuples, dicts, str, bytes, int, float, bool and None
    /// with less fixed cost than an unpickler. Only for results whose every value is one
    /// of those (see `ColumnDecoder::is_marshal_native`); the same calls are made as for
    /// pickle, and the writer translates them. Containers must be closed the pickle way
    /// (`appends`/`setitems`/`end_tuple`), which is how every caller here uses them.
    pub fn reset_marshal(&mut self) {
        self.forget();
        self.marshal = true;
    }

    pub fn is_marshal(&self) -> bool {
        self.marshal
    }

    /// Marshal: counts a value into the innermost open container (only lists use the
    /// count) and remembers where it starts.
    #[inline(always)]
    fn m_value(&mut self) {
        self.cur_count = self.cur_count.wrapping_add(1);
        self.last_value = self.buf.len();
    }

    /// Opens a container; `counted` ones get their item count patched in on close.
    fn m_open(&mut self, code: u8, counted: bool) {
        self.m_value();
        let at = if counted {
            self.put([code, 0, 0, 0, 0], &[]);
            self.buf.len() - 4
        } else {
            self.put([code], &[]);
            NO_COUNT_AT
        };
        self.open.push((self.cur_at, self.cur_count));
        self.cur_at = at;
        self.cur_count = 0;
    }

    fn m_close(&mut self) {
        if self.cur_at != NO_COUNT_AT {
            let at = self.cur_at;
            self.buf[at..at + 4].copy_from_slice(&self.cur_count.to_le_bytes());
        }
        (self.cur_at, self.cur_count) = self.open.pop().unwrap_or((NO_COUNT_AT, 0));
    }

    /// Appends a short header and then `payload` (possibly empty) with one capacity check.
    ///
    /// The hot writes of the row loop go through here: `extend_from_slice` leaves its copy
    /// to a generic helper that the compiler stops inlining once the loop is large, and
    /// then every cell pays a call and a second capacity check.
    #[inline(always)]
    fn put<const N: usize>(&mut self, header: [u8; N], payload: &[u8]) {
        let len = self.buf.len();
        let total = N + payload.len();
        self.buf.reserve(total);
        // SAFETY: `reserve` left room for at least `total` bytes after `len`; both copies
        // stay inside it (N + payload.len() == total), their sources are a local array and
        // a slice that cannot alias the vector's spare capacity (we hold `&mut self`), and
        // `set_len` exposes exactly the bytes just written.
        unsafe {
            let dst = self.buf.as_mut_ptr().add(len);
            std::ptr::copy_nonoverlapping(header.as_ptr(), dst, N);
            copy_payload(payload, dst.add(N));
            self.buf.set_len(len + total);
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Never true: the header is always there.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn stop(&mut self) {
        if !self.marshal {
            self.buf.push(STOP);
        }
    }

    pub fn mark(&mut self) {
        if !self.marshal {
            self.buf.push(MARK);
        }
    }

    pub fn pop(&mut self) {
        self.buf.push(POP);
    }

    pub fn empty_list(&mut self) {
        if self.marshal {
            return self.m_open(M_LIST, true);
        }
        self.buf.push(EMPTY_LIST);
    }

    pub fn append(&mut self) {
        self.buf.push(APPEND);
    }

    pub fn appends(&mut self) {
        if self.marshal {
            return self.m_close();
        }
        self.buf.push(APPENDS);
    }

    pub fn empty_dict(&mut self) {
        if self.marshal {
            return self.m_open(M_DICT, false);
        }
        self.buf.push(EMPTY_DICT);
    }

    pub fn setitem(&mut self) {
        self.buf.push(SETITEM);
    }

    pub fn setitems(&mut self) {
        if self.marshal {
            self.buf.push(M_DICT_END);
            return self.m_close();
        }
        self.buf.push(SETITEMS);
    }

    pub fn empty_tuple(&mut self) {
        self.buf.push(EMPTY_TUPLE);
    }

    pub fn tuple_from_mark(&mut self) {
        self.buf.push(TUPLE);
    }

    /// Opens a tuple of `ncols` items, which the caller writes next and closes with
    /// [`end_tuple`]`(ncols)`. In pickle, tuples of up to three items need no MARK; in
    /// marshal, the header carries the size, and nothing is kept open (see `end_tuple`).
    ///
    /// [`end_tuple`]: PickleWriter::end_tuple
    #[inline]
    pub fn begin_tuple(&mut self, ncols: usize) {
        if self.marshal {
            self.m_value();
            if ncols < 256 {
                self.put([M_SMALL_TUPLE, ncols as u8], &[]);
            } else {
                let b = (ncols as u32).to_le_bytes();
                self.put([M_TUPLE, b[0], b[1], b[2], b[3]], &[]);
            }
            return;
        }
        if ncols > 3 {
            self.buf.push(MARK);
        }
    }

    #[inline]
    pub fn end_tuple(&mut self, ncols: usize) {
        if self.marshal {
            // The tuple's items were counted into the enclosing container as if they
            // were its own (a tuple has no count to patch): take them back out. That
            // costs less than opening and closing a container for every row.
            self.cur_count = self.cur_count.wrapping_sub(ncols as u32);
            return;
        }
        self.buf.push(match ncols {
            0 => EMPTY_TUPLE,
            1 => TUPLE1,
            2 => TUPLE2,
            3 => TUPLE3,
            _ => TUPLE,
        });
    }

    #[inline(always)]
    pub fn none(&mut self) {
        if self.marshal {
            self.m_value();
            return self.put([M_NONE], &[]);
        }
        self.put([NONE], &[]);
    }

    pub fn bool(&mut self, v: bool) {
        if self.marshal {
            self.m_value();
            return self.buf.push(if v { M_TRUE } else { M_FALSE });
        }
        self.buf.push(if v { NEWTRUE } else { NEWFALSE });
    }

    #[inline(always)]
    pub fn int(&mut self, v: i64) {
        // The commonest forms inline, for the row loop; the rest out of line.
        if self.marshal {
            if let Ok(v32) = i32::try_from(v) {
                self.m_value();
                let b = v32.to_le_bytes();
                self.put([M_INT, b[0], b[1], b[2], b[3]], &[]);
                return;
            }
        } else if (0..=0xff).contains(&v) {
            self.put([BININT1, v as u8], &[]);
            return;
        }
        self.int_general(v);
    }

    /// The ints that [`int`](PickleWriter::int) does not write inline: beyond i32 in
    /// marshal, beyond 0..=255 in pickle.
    #[inline(never)]
    fn int_general(&mut self, v: i64) {
        if self.marshal {
            self.m_value();
            // At most five 15-bit digits, built in place: no allocation per value, which
            // matters for int8 columns of large values (ids, epoch microseconds).
            let mut magnitude = v.unsigned_abs();
            let mut digits = [0u8; 10];
            let mut n = 0;
            while magnitude != 0 {
                digits[2 * n..2 * n + 2].copy_from_slice(&((magnitude & 0x7fff) as u16).to_le_bytes());
                magnitude >>= 15;
                n += 1;
            }
            let count = if v < 0 { -(n as i32) } else { n as i32 }.to_le_bytes();
            self.put([M_LONG, count[0], count[1], count[2], count[3]], &digits[..2 * n]);
            return;
        }
        if (0..=0xffff).contains(&v) {
            self.buf.push(BININT2);
            self.buf.extend_from_slice(&(v as u16).to_le_bytes());
        } else if let Ok(v32) = i32::try_from(v) {
            self.buf.push(BININT);
            self.buf.extend_from_slice(&v32.to_le_bytes());
        } else {
            let bytes = v.to_le_bytes();
            let len = minimal_twos_complement_len(&bytes);
            self.int_from_le_bytes(&bytes[..len]);
        }
    }

    /// Marshal's arbitrary-size int: a signed count of 15-bit digits, least significant
    /// first, from the magnitude's little-endian bytes.
    fn m_long(&mut self, negative: bool, magnitude_le: &[u8]) {
        let mut digits: Vec<u16> = Vec::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in magnitude_le {
            acc |= (b as u32) << bits;
            bits += 8;
            while bits >= 15 {
                digits.push((acc & 0x7fff) as u16);
                acc >>= 15;
                bits -= 15;
            }
        }
        if bits > 0 {
            digits.push(acc as u16);
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            self.buf.push(M_INT);
            self.buf.extend_from_slice(&0i32.to_le_bytes());
            return;
        }
        let n = digits.len() as i32;
        self.buf.push(M_LONG);
        self.buf.extend_from_slice(&(if negative { -n } else { n }).to_le_bytes());
        for d in digits {
            self.buf.extend_from_slice(&d.to_le_bytes());
        }
    }

    /// An int of any size from its two's-complement little-endian bytes (empty = 0).
    pub fn int_from_le_bytes(&mut self, twos_complement_le: &[u8]) {
        if self.marshal {
            self.m_value();
            let negative = twos_complement_le.last().is_some_and(|b| b & 0x80 != 0);
            if negative {
                // Magnitude of a negative two's-complement number: invert and add one.
                let mut mag: Vec<u8> = twos_complement_le.iter().map(|b| !b).collect();
                for b in mag.iter_mut() {
                    let (v, carry) = b.overflowing_add(1);
                    *b = v;
                    if !carry {
                        break;
                    }
                }
                return self.m_long(true, &mag);
            }
            return self.m_long(false, twos_complement_le);
        }
        let n = twos_complement_le.len();
        if n < 256 {
            self.buf.extend_from_slice(&[LONG1, n as u8]);
        } else {
            self.buf.push(LONG4);
            // LONG4 lengths are signed; a 2 GiB integer is not a value anyone sends.
            self.buf
                .extend_from_slice(&(n.min(i32::MAX as usize) as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(twos_complement_le);
    }

    /// Bit-exact, including NaN payloads and signed zeros.
    #[inline]
    pub fn float(&mut self, v: f64) {
        if self.marshal {
            self.m_value();
            let b = v.to_le_bytes();
            self.put([M_FLOAT, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]], &[]);
            return;
        }
        let b = v.to_be_bytes();
        self.put([BINFLOAT, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]], &[]);
    }

    pub fn str(&mut self, v: &str) {
        self.utf8(v.as_bytes());
    }

    /// A str from UTF-8 bytes the caller has validated, or from bytes that may carry
    /// surrogate code points encoded as UTF-8 (the unpickler decodes with
    /// `surrogatepass`, which is how a JSON `"\ud800"` becomes the same str `json.loads`
    /// gives).
    pub(crate) fn utf8(&mut self, v: &[u8]) {
        let n = v.len();
        if self.marshal {
            // marshal decodes TYPE_UNICODE with "surrogatepass" too.
            self.m_value();
            self.buf.push(M_UNICODE);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
            self.buf.extend_from_slice(v);
            return;
        }
        if n < 256 {
            self.buf.extend_from_slice(&[SHORT_BINUNICODE, n as u8]);
        } else if let Ok(n32) = u32::try_from(n) {
            self.buf.push(BINUNICODE);
            self.buf.extend_from_slice(&n32.to_le_bytes());
        } else {
            self.buf.push(BINUNICODE8);
            self.buf.extend_from_slice(&(n as u64).to_le_bytes());
        }
        self.buf.extend_from_slice(v);
    }

    /// A str from text the server sent. ASCII, the common case, needs no UTF-8
    /// validation, and in a marshal stream it travels as an ASCII string, which
    /// `marshal.loads` copies instead of decoding.
    #[inline(always)]
    pub fn text(&mut self, v: &[u8]) -> Result<(), std::str::Utf8Error> {
        // Short ASCII inline (most cells of most results); the rest out of line.
        let n = v.len();
        if n < 256 && is_short_ascii(v) {
            let code = if self.marshal {
                self.m_value();
                M_SHORT_ASCII
            } else {
                SHORT_BINUNICODE
            };
            self.put([code, n as u8], v);
            return Ok(());
        }
        self.text_general(v)
    }

    #[inline(never)]
    fn text_general(&mut self, v: &[u8]) -> Result<(), std::str::Utf8Error> {
        if !v.is_ascii() {
            std::str::from_utf8(v)?;
            self.utf8(v);
            return Ok(());
        }
        if !self.marshal {
            self.utf8(v);
            return Ok(());
        }
        self.m_value();
        let n = v.len();
        if n < 256 {
            self.buf.extend_from_slice(&[M_SHORT_ASCII, n as u8]);
        } else {
            self.buf.push(M_ASCII);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(v);
        Ok(())
    }

    pub fn bytes(&mut self, v: &[u8]) {
        let n = v.len();
        if self.marshal {
            self.m_value();
            self.buf.push(M_BYTES);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
            self.buf.extend_from_slice(v);
            return;
        }
        if n < 256 {
            self.buf.extend_from_slice(&[SHORT_BINBYTES, n as u8]);
        } else if let Ok(n32) = u32::try_from(n) {
            self.buf.push(BINBYTES);
            self.buf.extend_from_slice(&n32.to_le_bytes());
        } else {
            self.buf.push(BINBYTES8);
            self.buf.extend_from_slice(&(n as u64).to_le_bytes());
        }
        self.buf.extend_from_slice(v);
    }

    /// Stores the top of the stack in the memo (without popping it) and returns its index.
    pub fn memoize(&mut self) -> u32 {
        if self.marshal {
            // Flag the value just written; marshal numbers flagged objects in order.
            let at = self.last_value;
            self.buf[at] |= M_FLAG_REF;
            let idx = self.refs;
            self.refs += 1;
            return idx;
        }
        self.buf.push(MEMOIZE);
        let idx = self.memo_len;
        self.memo_len += 1;
        idx
    }

    pub fn memo_get(&mut self, idx: u32) {
        if self.marshal {
            self.m_value();
            self.buf.push(M_REF);
            self.buf.extend_from_slice(&idx.to_le_bytes());
            return;
        }
        if idx < 256 {
            self.buf.extend_from_slice(&[BINGET, idx as u8]);
        } else {
            self.buf.push(LONG_BINGET);
            self.buf.extend_from_slice(&idx.to_le_bytes());
        }
    }

    fn memo_put(&mut self, idx: u32) {
        if idx < 256 {
            self.buf.extend_from_slice(&[BINPUT, idx as u8]);
        } else {
            self.buf.push(LONG_BINPUT);
            self.buf.extend_from_slice(&idx.to_le_bytes());
        }
    }

    fn shared(&mut self, which: Shared) {
        debug_assert!(!self.marshal, "marshal streams hold only built-in containers and scalars");
        let idx = self.shared[which as usize];
        if idx != NOT_EMITTED {
            self.memo_get(idx);
            return;
        }
        let (module, name) = match which {
            Shared::Decimal => self.decimal_constructor,
            _ => which.source(),
        };
        if module.is_empty() {
            self.str(name);
        } else {
            self.str(module);
            self.str(name);
            self.buf.push(STACK_GLOBAL);
        }
        self.shared[which as usize] = self.memoize();
    }

    /// Uses `module.name` instead of `decimal.Decimal` to build decimals from their text:
    /// any one-argument callable that returns the exact `Decimal` of the text. The Python
    /// layer names a bound `Context.create_decimal` of a context wide enough never to
    /// round, which skips `Decimal()`'s keyword parsing (about a fifth of the cost of each
    /// value).
    pub fn set_decimal_constructor(&mut self, module: &'static str, name: &'static str) {
        self.decimal_constructor = (module, name);
    }

    /// Names the function `module.name(connection_key, key)` that returns the Python
    /// callable registered under `key` for this connection (a JSON `loads`, a type's
    /// loader, a composite's factory). The callable is fetched once per stream and then
    /// called from the memo, which costs one call per value and nothing else.
    pub fn set_python_callables(&mut self, module: &'static str, name: &'static str, connection_key: u32) {
        self.callables_source = (module, name, connection_key);
    }

    /// Pushes the connection's callable `key` (see [`set_python_callables`]). Call it
    /// with [`call_with_str`], or push `mark()`, the arguments, and [`call_from_mark`].
    ///
    /// [`set_python_callables`]: PickleWriter::set_python_callables
    /// [`call_with_str`]: PickleWriter::call_with_str
    /// [`call_from_mark`]: PickleWriter::call_from_mark
    pub fn push_callable(&mut self, key: u32) {
        debug_assert!(!self.marshal, "marshal streams cannot call functions");
        if let Some(&(_, idx)) = self.callables.iter().find(|(k, _)| *k == key) {
            self.memo_get(idx);
            return;
        }
        let (module, name, connection) = self.callables_source;
        self.str(module);
        self.str(name);
        self.buf.push(STACK_GLOBAL);
        self.int(connection as i64);
        self.int(key as i64);
        self.buf.extend_from_slice(&[TUPLE2, REDUCE]);
        let idx = self.memoize();
        self.callables.push((key, idx));
    }

    /// Calls the callable below the last mark with the values pushed after the mark.
    pub fn call_from_mark(&mut self) {
        self.buf.extend_from_slice(&[TUPLE, REDUCE]);
    }

    /// `callable(text)` for the connection's callable `key`.
    pub fn call_with_str(&mut self, key: u32, text: &str) {
        self.push_callable(key);
        self.str(text);
        self.buf.extend_from_slice(&[TUPLE1, REDUCE]);
    }

    /// `decimal.Decimal(text)`; the text is passed as is, so `Decimal` keeps its exponent
    /// (trailing zeros) and parses `NaN`/`Infinity`/`-Infinity`.
    pub fn decimal_from_str(&mut self, text: &str) {
        self.shared(Shared::Decimal);
        self.str(text);
        self.buf.extend_from_slice(&[TUPLE1, REDUCE]);
    }

    /// `decimal.Decimal` of the ASCII text that `build` appends to the (empty) buffer it is
    /// given. Nothing is written when `build` fails, and no allocation happens per value.
    pub(crate) fn decimal_with<E>(
        &mut self,
        build: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        let built = build(&mut text);
        if built.is_ok() {
            self.shared(Shared::Decimal);
            self.utf8(&text);
            self.buf.extend_from_slice(&[TUPLE1, REDUCE]);
        }
        self.scratch = text;
        built
    }

    /// `datetime.date`; the caller guarantees 1 <= year <= 9999 and a valid day.
    pub fn date(&mut self, year: i32, month: u8, day: u8) {
        debug_assert!((1..=9999).contains(&year));
        self.shared(Shared::Date);
        let y = year as u16;
        self.buf
            .extend_from_slice(&[SHORT_BINBYTES, 4, (y >> 8) as u8, y as u8, month, day]);
        self.buf.extend_from_slice(&[TUPLE1, REDUCE]);
    }

    /// `datetime.time`, aware with a fixed-offset timezone when `utc_offset_seconds` is
    /// given (offset east of UTC, |offset| < 24 h).
    pub fn time(
        &mut self,
        hour: u8,
        minute: u8,
        second: u8,
        micro: u32,
        utc_offset_seconds: Option<i32>,
    ) {
        debug_assert!(hour < 24 && minute < 60 && second < 60 && micro < 1_000_000);
        self.shared(Shared::Time);
        self.buf.extend_from_slice(&[
            SHORT_BINBYTES,
            6,
            hour,
            minute,
            second,
            (micro >> 16) as u8,
            (micro >> 8) as u8,
            micro as u8,
        ]);
        match utc_offset_seconds {
            None => self.buf.push(TUPLE1),
            Some(offset) => {
                self.timezone(offset);
                self.buf.push(TUPLE2);
            }
        }
        self.buf.push(REDUCE);
    }

    /// `datetime.datetime`, naive or in `datetime.timezone.utc`.
    #[allow(clippy::too_many_arguments)]
    pub fn datetime(
        &mut self,
        year: i32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        micro: u32,
        utc: bool,
    ) {
        debug_assert!((1..=9999).contains(&year));
        debug_assert!(hour < 24 && minute < 60 && second < 60 && micro < 1_000_000);
        self.shared(Shared::DateTime);
        let y = year as u16;
        self.buf.extend_from_slice(&[
            SHORT_BINBYTES,
            10,
            (y >> 8) as u8,
            y as u8,
            month,
            day,
            hour,
            minute,
            second,
            (micro >> 16) as u8,
            (micro >> 8) as u8,
            micro as u8,
        ]);
        if utc {
            self.shared(Shared::Utc);
            self.buf.push(TUPLE2);
        } else {
            self.buf.push(TUPLE1);
        }
        self.buf.push(REDUCE);
    }

    /// `datetime.timedelta(days, seconds, micros)`; Python normalises the parts, the caller
    /// guarantees the result fits (|days| <= 999999999).
    pub fn timedelta(&mut self, days: i64, seconds: i64, micros: i64) {
        self.shared(Shared::TimeDelta);
        self.int(days);
        self.int(seconds);
        self.int(micros);
        self.buf.extend_from_slice(&[TUPLE3, REDUCE]);
    }

    /// An `ipaddress` object from a packed address (4 or 16 bytes): `IPv4Address`/
    /// `IPv6Address(packed)` without a prefix, else `IPv4Interface`/`IPv6Interface((packed,
    /// prefix))`, or `IPv4Network`/`IPv6Network((packed, prefix))` for a `network` (whose
    /// host bits the caller guarantees are zero).
    pub fn ip(&mut self, packed: &[u8], prefix: Option<u8>, network: bool) {
        let v6 = packed.len() == 16;
        self.shared(match (prefix.is_some() && network, prefix.is_some(), v6) {
            (true, _, false) => Shared::Ipv4Network,
            (true, _, true) => Shared::Ipv6Network,
            (false, true, false) => Shared::Ipv4Interface,
            (false, true, true) => Shared::Ipv6Interface,
            (false, false, false) => Shared::Ipv4Address,
            (false, false, true) => Shared::Ipv6Address,
        });
        self.bytes(packed);
        if let Some(bits) = prefix {
            self.int(bits as i64);
            self.buf.push(TUPLE2);
        }
        self.buf.extend_from_slice(&[TUPLE1, REDUCE]);
    }

    /// `datetime.timezone.utc` for 0, else a memoised `timezone(timedelta(seconds=offset))`.
    fn timezone(&mut self, offset_seconds: i32) {
        if offset_seconds == 0 {
            self.shared(Shared::Utc);
            return;
        }
        if let Some(&(_, idx)) = self.timezones.iter().find(|(o, _)| *o == offset_seconds) {
            self.memo_get(idx);
            return;
        }
        self.shared(Shared::TimeZone);
        self.timedelta(0, offset_seconds as i64, 0);
        self.buf.extend_from_slice(&[TUPLE1, REDUCE]);
        let idx = self.memoize();
        // Real data has a handful of distinct offsets; the cap only bounds a pathological
        // column, which then simply builds its timezones again.
        if self.timezones.len() < 64 {
            self.timezones.push((offset_seconds, idx));
        }
    }

    /// Starts a `pyro_postgres.Range`: the caller then writes its lower and upper bound
    /// values (`None` for an unbounded side) and finishes with [`end_range`].
    ///
    /// [`end_range`]: PickleWriter::end_range
    pub fn begin_range(&mut self) {
        self.shared(Shared::RangeFactory);
    }

    /// Finishes a Range begun with [`begin_range`]; `flags` are the wire format's `EMPTY`
    /// (1), `LB_INC` (2) and `UB_INC` (4) bits.
    ///
    /// [`begin_range`]: PickleWriter::begin_range
    pub fn end_range(&mut self, flags: u8) {
        debug_assert!(flags < 8);
        self.buf
            .extend_from_slice(&[BININT1, flags, TUPLE3, REDUCE]);
    }

    /// `uuid.UUID` from its 16 bytes in network order (see the module documentation).
    pub fn uuid(&mut self, v: [u8; 16]) {
        self.shared(Shared::Uuid);
        self.buf.extend_from_slice(&[EMPTY_TUPLE, NEWOBJ]);
        if self.uuid_slot == NOT_EMITTED {
            self.uuid_slot = self.memoize();
        } else {
            self.memo_put(self.uuid_slot);
        }
        let slot = self.uuid_slot;

        self.shared(Shared::ObjectSetattr);
        self.memo_get(slot);
        self.shared(Shared::IntAttrName);
        // UUID.int is unsigned; a 17th zero byte keeps the two's-complement value positive.
        let mut le = [0u8; 17];
        for (dst, src) in le.iter_mut().zip(v.iter().rev()) {
            *dst = *src;
        }
        let len = minimal_twos_complement_len(&le);
        self.int_from_le_bytes(&le[..len]);
        self.buf.extend_from_slice(&[TUPLE3, REDUCE, POP]);

        self.shared(Shared::ObjectSetattr);
        self.memo_get(slot);
        self.shared(Shared::IsSafeAttrName);
        self.shared(Shared::SafeUuidUnknown);
        self.buf.extend_from_slice(&[TUPLE3, REDUCE, POP]);
    }
}

/// Copies `src` to `dst`. Cells are mostly a few dozen bytes, for which a call to
/// `memcpy` costs more than the copy: up to 32 bytes move as two overlapping words.
///
/// # Safety
/// `dst` must be valid for `src.len()` bytes of writes and not overlap `src`.
#[inline(always)]
unsafe fn copy_payload(src: &[u8], dst: *mut u8) {
    let n = src.len();
    // SAFETY (every arm): each write ends at or before `dst + n`; the reads are
    // bounds-checked slices of `src`.
    unsafe {
        if n > 32 {
            std::ptr::copy_nonoverlapping(src.as_ptr(), dst, n);
        } else if n >= 16 {
            let (head, tail): ([u8; 16], [u8; 16]) = (src[..16].try_into().unwrap(), src[n - 16..].try_into().unwrap());
            dst.cast::<[u8; 16]>().write_unaligned(head);
            dst.add(n - 16).cast::<[u8; 16]>().write_unaligned(tail);
        } else if n >= 8 {
            let (head, tail): ([u8; 8], [u8; 8]) = (src[..8].try_into().unwrap(), src[n - 8..].try_into().unwrap());
            dst.cast::<[u8; 8]>().write_unaligned(head);
            dst.add(n - 8).cast::<[u8; 8]>().write_unaligned(tail);
        } else if n >= 4 {
            let (head, tail): ([u8; 4], [u8; 4]) = (src[..4].try_into().unwrap(), src[n - 4..].try_into().unwrap());
            dst.cast::<[u8; 4]>().write_unaligned(head);
            dst.add(n - 4).cast::<[u8; 4]>().write_unaligned(tail);
        } else {
            for (i, &b) in src.iter().enumerate() {
                dst.add(i).write(b);
            }
        }
    }
}

/// `v.is_ascii()` for the short values of a typical cell (callers pass under 256 bytes):
/// whole words and one overlapping word for the tail, without an early exit, which for
/// a few dozen bytes costs less than the standard version's byte-wise head and tail.
#[inline(always)]
fn is_short_ascii(v: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let n = v.len();
    if n >= 8 {
        let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap());
        let mut chunks = v.chunks_exact(8);
        let mut acc = word(&v[n - 8..]);
        for c in &mut chunks {
            acc |= word(c);
        }
        acc & HIGH == 0
    } else if n >= 4 {
        let word = |c: &[u8]| u32::from_le_bytes(c.try_into().unwrap());
        (word(&v[..4]) | word(&v[n - 4..])) & HIGH as u32 == 0
    } else {
        v.iter().fold(0, |acc, &b| acc | b) < 0x80
    }
}

/// Length of the shortest prefix of a two's-complement little-endian number that still has
/// the same value (at least one byte).
fn minimal_twos_complement_len(le: &[u8]) -> usize {
    let mut n = le.len();
    while n > 1 {
        let top = le[n - 1];
        let next_sign = le[n - 2] & 0x80;
        if (top == 0 && next_sign == 0) || (top == 0xff && next_sign != 0) {
            n -= 1;
        } else {
            break;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python_harness::{python_reprs, python_true, run_python};

    /// The same calls in both formats must give equal values, and identical reprs.
    fn both_formats(calls: impl Fn(&mut PickleWriter)) {
        let mut p = PickleWriter::new();
        calls(&mut p);
        p.stop();
        let mut m = PickleWriter::new();
        m.reset_marshal();
        calls(&mut m);
        m.stop();
        let mut data = (p.as_bytes().len() as u32).to_le_bytes().to_vec();
        data.extend_from_slice(p.as_bytes());
        data.extend_from_slice(m.as_bytes());
        data.extend_from_slice(b"trailing bytes are ignored");
        let out = run_python(
            "d = sys.stdin.buffer.read(); n = struct.unpack('<I', d[:4])[0]\n\
             a = pickle.loads(d[4:4 + n]); b = marshal.loads(d[4 + n:])\n\
             assert repr(a) == repr(b), (a, b)\n\
             sys.stdout.write(repr(b))",
            &data,
        );
        assert!(!out.is_empty());
    }

    #[test]
    fn server_text_in_both_formats() {
        both_formats(|w| {
            w.empty_list();
            w.mark();
            for t in ["", "a", "plain ascii", "héllo ✓", "\u{7f}"] {
                w.text(t.as_bytes()).unwrap();
            }
            for n in [255usize, 256, 70_000] {
                w.text("y".repeat(n).as_bytes()).unwrap();
            }
            // an ASCII value memoised and fetched again (as dict keys are)
            w.text(b"key").unwrap();
            let k = w.memoize();
            w.memo_get(k);
            w.appends();
        });
        let mut w = PickleWriter::new();
        w.reset_marshal();
        let before = w.as_bytes().len();
        assert!(w.text(b"bad \xff byte").is_err());
        assert_eq!(w.as_bytes().len(), before, "nothing is written for invalid UTF-8");
    }

    #[test]
    fn marshal_matches_pickle() {
        both_formats(|w| {
            w.empty_list();
            w.mark();
            for v in [0i64, 1, -1, 255, 256, 65535, 65536, i32::MAX as i64, i32::MIN as i64, i64::MAX, i64::MIN, 1 << 40, -(1 << 40)] {
                w.int(v);
            }
            w.int_from_le_bytes(&[0xff; 20]);
            w.int_from_le_bytes(&[0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80]);
            w.int_from_le_bytes(&[]);
            for f in [0.0, -0.0, 1.5, f64::INFINITY, f64::NEG_INFINITY, 1e308] {
                w.float(f);
            }
            w.str("héllo ✓");
            w.str(&"x".repeat(300));
            w.utf8(b"\xed\xa0\x80");
            w.bytes(b"\x00\xff");
            w.none();
            w.bool(true);
            w.bool(false);
            // rows as dicts with shared keys
            let mut keys = Vec::new();
            for row in 0..3 {
                w.empty_dict();
                w.mark();
                for (i, k) in ["a", "b"].iter().enumerate() {
                    if row == 0 {
                        w.str(k);
                        keys.push(w.memoize());
                    } else {
                        w.memo_get(keys[i]);
                    }
                    w.int(row);
                }
                w.setitems();
            }
            // tuples of every size, nested and empty lists
            for n in [0usize, 1, 2, 3, 5, 300] {
                w.begin_tuple(n);
                for i in 0..n {
                    w.int(i as i64);
                }
                w.end_tuple(n);
            }
            w.empty_list();
            w.mark();
            w.empty_list();
            w.mark();
            w.appends();
            w.none();
            w.appends();
            w.appends();
        });
    }

    #[test]
    fn marshal_counts_around_tuples_with_containers_inside() {
        // end_tuple takes the tuple's items back out of the enclosing list's count:
        // containers inside the tuple (arrays, dicts, other tuples) must not disturb that.
        both_formats(|w| {
            w.empty_list();
            w.mark();
            for row in 0..4i64 {
                w.begin_tuple(5);
                w.int(row);
                w.empty_list();
                w.mark();
                for i in 0..row {
                    w.begin_tuple(2);
                    w.int(i);
                    w.text(b"x").unwrap();
                    w.end_tuple(2);
                }
                w.appends();
                w.empty_dict();
                w.mark();
                w.str("k");
                w.none();
                w.setitems();
                w.begin_tuple(0);
                w.end_tuple(0);
                w.begin_tuple(300);
                for i in 0..300 {
                    w.int(i);
                }
                w.end_tuple(300);
                w.end_tuple(5);
            }
            w.float(1.5);
            w.appends();
        });
    }

    #[test]
    fn small_values_past_the_initial_capacity() {
        // The inline writers check the capacity themselves: cross the first 4 KiB (and
        // several growths after it) with values of every inline form, and compare with
        // what Python builds itself (both formats share the writers, so comparing them
        // with each other would not catch a bad copy).
        let calls = |w: &mut PickleWriter| {
            w.empty_list();
            w.mark();
            for i in 0..5000i64 {
                w.int(i % 300 - 20);
                w.float(i as f64 / 4.0);
                w.none();
                // every length the inline copy treats apart: 0..=3, 4..=7, 8..=15,
                // 16..=32 and beyond
                w.text(&TEXT[..(i % 47) as usize]).unwrap();
            }
            w.appends();
        };
        const TEXT: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
        both_formats(calls);
        let mut m = PickleWriter::new();
        m.reset_marshal();
        calls(&mut m);
        let out = run_python(
            "t = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ'\n\
             want = [x for i in range(5000) for x in (i % 300 - 20, i / 4, None, t[:i % 47])]\n\
             got = marshal.loads(sys.stdin.buffer.read())\n\
             print(got == want)",
            m.as_bytes(),
        );
        assert_eq!(out, b"True\n");
    }

    #[test]
    fn short_ascii_check_agrees_with_the_standard_one() {
        let mut v = vec![b'a'; 300];
        for n in 0..300 {
            assert!(is_short_ascii(&v[..n]));
            for at in 0..n {
                v[at] = 0x80 | (at as u8);
                assert!(!is_short_ascii(&v[..n]), "len {n}, high byte at {at}");
                assert!(is_short_ascii(&v[at + 1..n]));
                v[at] = b'a';
            }
        }
    }

    fn list_of(items: impl FnOnce(&mut PickleWriter)) -> Vec<u8> {
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        items(&mut w);
        w.appends();
        w.stop();
        w.as_bytes().to_vec()
    }

    #[test]
    fn ints_of_every_width_round_trip() {
        let values = [
            0i64,
            1,
            255,
            256,
            65535,
            65536,
            -1,
            -128,
            -129,
            -32768,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i32::MIN as i64 - 1,
            i64::MAX,
            i64::MIN,
            1 << 40,
            -(1 << 40),
        ];
        let stream = list_of(|w| values.iter().for_each(|v| w.int(*v)));
        let expected: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        assert_eq!(python_reprs(&stream), expected);
    }

    #[test]
    fn big_ints_from_le_bytes() {
        let stream = list_of(|w| {
            w.int_from_le_bytes(&[]);
            w.int_from_le_bytes(&[0xff; 300]);
            let mut big = vec![0u8; 300];
            big[299] = 0x40;
            w.int_from_le_bytes(&big);
        });
        assert_eq!(
            python_reprs(&stream)[..2],
            ["0".to_string(), "-1".to_string()]
        );
        assert!(python_true(&stream, "v[2] == 0x40 << (299*8)"));
    }

    #[test]
    fn floats_are_bit_exact() {
        let values = [
            0.0,
            -0.0,
            1.5,
            f64::MIN_POSITIVE,
            f64::MAX,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.1,
        ];
        let stream = list_of(|w| values.iter().for_each(|v| w.float(*v)));
        assert!(python_true(
            &stream,
            "[struct.pack('>d', x).hex() for x in v] == ['0000000000000000', '8000000000000000', '3ff8000000000000', \
             '0010000000000000', '7fefffffffffffff', '0000000000000001', '7ff0000000000000', 'fff0000000000000', \
             '7ff8000000000000', '3fb999999999999a']"
        ));
    }

    #[test]
    fn strings_and_bytes_of_every_length() {
        let long = "é".repeat(200); // 400 bytes: BINUNICODE
        let tricky = "a\u{0}b.\u{1F600}\u{FFFF}(";
        let stream = list_of(|w| {
            w.str("");
            w.str(tricky);
            w.str(&long);
            w.bytes(b"");
            w.bytes(&[0u8, b'.', b'(', 0x80, 0xff]);
            w.bytes(&vec![7u8; 70000]);
        });
        assert!(python_true(
            &stream,
            "v[:2] == ['', 'a\\x00b.\\U0001F600\\uffff('] and v[2] == 'é'*200 and v[3] == b'' \
             and v[4] == b'\\x00.(\\x80\\xff' and v[5] == bytes([7])*70000"
        ));
    }

    #[test]
    fn containers_tuples_and_memo() {
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        for n in 0..6 {
            w.begin_tuple(n);
            for i in 0..n {
                w.int(i as i64);
            }
            w.end_tuple(n);
        }
        w.empty_dict();
        w.str("key");
        let key = w.memoize();
        w.none();
        w.setitem();
        w.empty_dict();
        w.mark();
        w.memo_get(key);
        w.bool(true);
        w.str("other");
        w.bool(false);
        w.setitems();
        w.mark();
        w.int(1);
        w.tuple_from_mark();
        w.empty_tuple();
        w.empty_list();
        w.int(9);
        w.append();
        w.appends();
        w.stop();
        assert_eq!(
            python_reprs(w.as_bytes()),
            [
                "()",
                "(0,)",
                "(0, 1)",
                "(0, 1, 2)",
                "(0, 1, 2, 3)",
                "(0, 1, 2, 3, 4)",
                "{'key': None}",
                "{'key': True, 'other': False}",
                "(1,)",
                "()",
                "[9]"
            ]
        );
    }

    #[test]
    fn many_memo_entries_use_long_binget() {
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        let mut idx = Vec::new();
        for i in 0..300 {
            w.str(&format!("k{i}"));
            idx.push(w.memoize());
        }
        w.memo_get(idx[299]);
        w.memo_get(idx[3]);
        w.appends();
        w.stop();
        assert!(python_true(
            w.as_bytes(),
            "v[-2:] == ['k299', 'k3'] and len(v) == 302"
        ));
    }

    #[test]
    fn temporal_decimal_and_uuid_objects() {
        let u = [
            0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34,
            0x56, 0x78,
        ];
        let stream = list_of(|w| {
            w.date(2024, 2, 29);
            w.date(1, 1, 1);
            w.time(23, 59, 59, 999_999, None);
            w.time(1, 2, 3, 4, Some(5 * 3600 + 45 * 60));
            w.time(1, 2, 3, 4, Some(-(9 * 3600 + 30 * 60)));
            w.time(0, 0, 0, 0, Some(0));
            w.time(1, 2, 3, 4, Some(5 * 3600 + 45 * 60));
            w.datetime(9999, 12, 31, 23, 59, 59, 999_999, false);
            w.datetime(1969, 7, 20, 20, 17, 40, 500_000, true);
            w.timedelta(-1, 86399, 999_999);
            w.timedelta(999_999_999, 0, 0);
            w.decimal_from_str("1.500");
            w.decimal_from_str("-Infinity");
            w.uuid(u);
            w.uuid([0xff; 16]);
            w.uuid([0; 16]);
            w.date(2024, 2, 29);
        });
        assert_eq!(
            python_reprs(&stream),
            [
                "datetime.date(2024, 2, 29)",
                "datetime.date(1, 1, 1)",
                "datetime.time(23, 59, 59, 999999)",
                "datetime.time(1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(seconds=20700)))",
                "datetime.time(1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=52200)))",
                "datetime.time(0, 0, tzinfo=datetime.timezone.utc)",
                "datetime.time(1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(seconds=20700)))",
                "datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)",
                "datetime.datetime(1969, 7, 20, 20, 17, 40, 500000, tzinfo=datetime.timezone.utc)",
                "datetime.timedelta(days=-1, seconds=86399, microseconds=999999)",
                "datetime.timedelta(days=999999999)",
                "Decimal('1.500')",
                "Decimal('-Infinity')",
                "UUID('12345678-1234-5678-1234-567812345678')",
                "UUID('ffffffff-ffff-ffff-ffff-ffffffffffff')",
                "UUID('00000000-0000-0000-0000-000000000000')",
                "datetime.date(2024, 2, 29)",
            ]
        );
        assert!(python_true(
            &stream,
            "all(type(x) is uuid.UUID and x.is_safe is uuid.SafeUUID.unknown for x in v[13:16]) \
             and v[13] == uuid.UUID('12345678-1234-5678-1234-567812345678') and v[13] is not v[14] \
             and hash(v[14]) == hash(uuid.UUID(int=2**128-1)) and v[4].tzinfo is v[4].tzinfo \
             and v[3].tzinfo is v[6].tzinfo and v[8].tzinfo is datetime.timezone.utc"
        ));
    }

    #[test]
    fn reset_forgets_globals() {
        let mut w = PickleWriter::new();
        w.date(2000, 1, 1);
        w.stop();
        w.reset();
        w.empty_list();
        w.mark();
        w.date(2001, 1, 1);
        w.uuid([1; 16]);
        w.appends();
        w.stop();
        assert_eq!(
            python_reprs(w.as_bytes()),
            [
                "datetime.date(2001, 1, 1)",
                "UUID('01010101-0101-0101-0101-010101010101')"
            ]
        );
    }
}
