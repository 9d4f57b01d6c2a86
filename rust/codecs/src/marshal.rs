//! Parameters from Python: the buffer is `marshal.dumps(params, 2)` (the Python layer's
//! choice: no back-references; versions 3 and 4, which CPython 3.10–3.14 all write alike,
//! parse too), read into values that borrow from the buffer.
//!
//! Types that marshal cannot carry (Decimal, date, UUID, …) arrive from the Python layer as
//! *tagged tuples* whose first item is `Ellipsis`, which no real parameter tuple starts
//! with: `(..., "dec", str)`, `(..., "date", y, m, d)`, `(..., "time", h, mi, s, us,
//! offset_us | None)`, `(..., "dt", y, mo, d, h, mi, s, us, offset_us | None)`,
//! `(..., "td", days, seconds, us)`, `(..., "uuid", bytes16)`, `(..., "json", str)`,
//! `(..., "text", str)`, `(..., "range", lower, upper, flags)`. Their shape is checked here,
//! so encoders can rely on it.
//!
//! The input is untrusted in the sense that a bug or a hostile caller can hand us any
//! bytes: every length is checked against what is left, nesting is bounded, and
//! back-references are bounded in how much they may expand; nothing panics.

use std::fmt;

/// A Python value, borrowing strings and bytes from the marshal buffer.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// An int beyond i64: magnitude as base-2^15 digits, least significant first.
    BigInt {
        negative: bool,
        digits15: Vec<u16>,
    },
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// A list or a tuple.
    List(Vec<ParamValue<'a>>),
    Dict(Vec<(ParamValue<'a>, ParamValue<'a>)>),
    /// A tagged tuple; the values are the items after the tag name.
    Tagged(Tag, Vec<ParamValue<'a>>),
}

/// The parameter values that own nothing, which most parameters are: read by
/// [`Params::next_scalar`] and encoded without a [`ParamValue`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> From<Scalar<'a>> for ParamValue<'a> {
    #[inline]
    fn from(s: Scalar<'a>) -> Self {
        match s {
            Scalar::None => ParamValue::None,
            Scalar::Bool(b) => ParamValue::Bool(b),
            Scalar::Int(i) => ParamValue::Int(i),
            Scalar::Float(f) => ParamValue::Float(f),
            Scalar::Str(s) => ParamValue::Str(s),
            Scalar::Bytes(b) => ParamValue::Bytes(b),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    /// `[str]`: `str(Decimal)`, e.g. `1.5E+3`, `NaN`, `-Infinity`.
    Decimal,
    /// `[year, month, day]`.
    Date,
    /// `[hour, minute, second, microsecond, utc_offset_us | None]`.
    Time,
    /// `[year, month, day, hour, minute, second, microsecond, utc_offset_us | None]`.
    DateTime,
    /// `[days, seconds, microseconds]` (normalised as `timedelta` stores them).
    TimeDelta,
    /// `[bytes]` of length 16.
    Uuid,
    /// `[str]`: a JSON document.
    Json,
    /// `[str]`: sent in text format whatever the parameter type.
    Text,
    /// `[lower, upper, flags]`: a `pyro_postgres.Range`; a bound is any parameter value,
    /// `None` when that side is unbounded; flags as the binary range format has them:
    /// 1 empty, 2 lower bound inclusive, 4 upper bound inclusive.
    Range,
}

impl ParamValue<'_> {
    /// The name of the Python type this value came from, for error messages.
    pub fn python_type_name(&self) -> &'static str {
        match self {
            ParamValue::None => "NoneType",
            ParamValue::Bool(_) => "bool",
            ParamValue::Int(_) | ParamValue::BigInt { .. } => "int",
            ParamValue::Float(_) => "float",
            ParamValue::Str(_) => "str",
            ParamValue::Bytes(_) => "bytes",
            ParamValue::List(_) => "list",
            ParamValue::Dict(_) => "dict",
            ParamValue::Tagged(tag, _) => match tag {
                Tag::Decimal => "Decimal",
                Tag::Date => "date",
                Tag::Time => "time",
                Tag::DateTime => "datetime",
                Tag::TimeDelta => "timedelta",
                Tag::Uuid => "UUID",
                Tag::Json => "Json",
                Tag::Text => "Text",
                Tag::Range => "Range",
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    pub message: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

#[cold]
fn err<T>(message: impl Into<String>) -> Result<T, ParamError> {
    Err(ParamError {
        message: message.into(),
    })
}

/// Parses the parameter buffer; the top level must be a tuple or a list.
pub fn parse_params(buf: &[u8]) -> Result<Vec<ParamValue<'_>>, ParamError> {
    let mut params = Params::new(buf)?;
    let mut items = Vec::with_capacity(params.len());
    while let Some(v) = params.next_value()? {
        items.push(v);
    }
    params.finish()?;
    Ok(items)
}

/// Splits `marshal.dumps((handle, statement, params), 2)` (the one buffer of
/// `pyro_conn_exec_call`) into the two leading integers, each in `0..2**32`, and the
/// bytes of `params` (itself a whole marshal value, for [`parse_params`]). None when the
/// buffer does not start that way.
pub fn split_call(buf: &[u8]) -> Option<(u32, u32, &[u8])> {
    let rest = match buf {
        [TYPE_TUPLE, 3, 0, 0, 0, rest @ ..] => rest,
        [TYPE_SMALL_TUPLE, 3, rest @ ..] => rest,
        _ => return None,
    };
    let (handle, rest) = call_u32(rest)?;
    let (statement, rest) = call_u32(rest)?;
    Some((handle, statement, rest))
}

/// One integer of [`split_call`]: TYPE_INT, or TYPE_LONG (base 2**15 digits) for values
/// from 2**31 on.
fn call_u32(buf: &[u8]) -> Option<(u32, &[u8])> {
    match buf {
        [TYPE_INT, a, b, c, d, rest @ ..] => {
            let v = i32::from_le_bytes([*a, *b, *c, *d]);
            Some((u32::try_from(v).ok()?, rest))
        }
        [TYPE_LONG, a, b, c, d, rest @ ..] => {
            let n = i32::from_le_bytes([*a, *b, *c, *d]);
            if !(1..=3).contains(&n) {
                return None;
            }
            let digits = rest.get(..2 * n as usize)?;
            let mut v: u64 = 0;
            for (i, pair) in digits.chunks_exact(2).enumerate() {
                let digit = u16::from_le_bytes([pair[0], pair[1]]);
                if digit >= 1 << 15 {
                    return None;
                }
                v |= (digit as u64) << (15 * i);
            }
            Some((u32::try_from(v).ok()?, &rest[2 * n as usize..]))
        }
        _ => None,
    }
}

/// The parameters of a buffer one at a time, for callers that consume each as it is read
/// and so need no list of them. Reading every item and then [`Params::finish`] accepts
/// and rejects exactly what [`parse_params`] does, with the same errors in the same order.
pub struct Params<'a> {
    r: Reader<'a>,
    len: usize,
    left: usize,
}

impl<'a> Params<'a> {
    /// Reads the outer tuple or list's header.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Result<Self, ParamError> {
        let mut r = Reader::new(buf);
        let len = match r.plain_top() {
            Some(len) => len,
            None => r.top()?,
        };
        // The items are one level down (cannot fail at this depth).
        r.depth = 1;
        Ok(Params { r, len, left: len })
    }

    /// How many parameters the buffer says it holds (checked against its size only).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next parameter; `None` after the last.
    #[inline]
    pub fn next_value(&mut self) -> Result<Option<ParamValue<'a>>, ParamError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        if let Some(v) = self.r.scalar() {
            return Ok(Some(v.into()));
        }
        match self.r.value()? {
            Item::Value(v) => Ok(Some(v)),
            Item::Ellipsis => err("Ellipsis is not a supported parameter type"),
        }
    }

    /// The next parameter when it is a [`Scalar`] that reads without error; otherwise
    /// `None`, with nothing consumed: [`Params::next_value`] reads it (or reports it).
    #[inline(always)]
    pub fn next_scalar(&mut self) -> Option<Scalar<'a>> {
        if self.left == 0 {
            return None;
        }
        let v = self.r.scalar()?;
        self.left -= 1;
        Some(v)
    }

    /// Checks that nothing follows the parameters (call after the last one was read).
    #[inline]
    pub fn finish(&self) -> Result<(), ParamError> {
        debug_assert_eq!(self.left, 0);
        if self.r.pos != self.r.buf.len() {
            return err(format!(
                "bad marshal data: {} bytes after the parameters",
                self.r.buf.len() - self.r.pos
            ));
        }
        Ok(())
    }
}

const TYPE_NULL: u8 = b'0';
const TYPE_NONE: u8 = b'N';
const TYPE_FALSE: u8 = b'F';
const TYPE_TRUE: u8 = b'T';
const TYPE_STOPITER: u8 = b'S';
const TYPE_ELLIPSIS: u8 = b'.';
const TYPE_INT: u8 = b'i';
const TYPE_INT64: u8 = b'I';
const TYPE_FLOAT: u8 = b'f';
const TYPE_BINARY_FLOAT: u8 = b'g';
const TYPE_COMPLEX: u8 = b'x';
const TYPE_BINARY_COMPLEX: u8 = b'y';
const TYPE_LONG: u8 = b'l';
const TYPE_STRING: u8 = b's';
const TYPE_INTERNED: u8 = b't';
const TYPE_REF: u8 = b'r';
const TYPE_TUPLE: u8 = b'(';
const TYPE_LIST: u8 = b'[';
const TYPE_DICT: u8 = b'{';
const TYPE_CODE: u8 = b'c';
const TYPE_UNICODE: u8 = b'u';
const TYPE_SET: u8 = b'<';
const TYPE_FROZENSET: u8 = b'>';
const TYPE_ASCII: u8 = b'a';
const TYPE_ASCII_INTERNED: u8 = b'A';
const TYPE_SMALL_TUPLE: u8 = b')';
const TYPE_SHORT_ASCII: u8 = b'z';
const TYPE_SHORT_ASCII_INTERNED: u8 = b'Z';
const TYPE_SLICE: u8 = b':';
const FLAG_REF: u8 = 0x80;

/// Deepest container nesting accepted. Parsing recurses, and this keeps the stack use far
/// below any thread's stack, including small ones Python programs create.
const MAX_DEPTH: usize = 256;
/// Values a parse may create beyond four per input byte. Back-references can share one
/// object many times (`[x] * 1000`), and each share is expanded into a copy here; the
/// budget stops a few bytes of nested references from expanding exponentially.
const NODE_BUDGET_BASE: usize = 1 << 20;

enum Item<'a> {
    Value(ParamValue<'a>),
    /// Only meaningful as the first item of a tuple (a tag marker).
    Ellipsis,
}

#[derive(Clone, Copy)]
enum RefSlot {
    /// Reserved when the object's type byte was read; its contents are still being read.
    InProgress,
    /// Complete; re-reading from this offset reproduces the object.
    Done(usize),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    refs: Vec<RefSlot>,
    /// Non-zero while re-reading a referenced object, when FLAG_REF must not reserve slots
    /// again (they were reserved the first time).
    replaying: u32,
    depth: usize,
    nodes_left: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`, with the node budget for its size.
    #[inline]
    fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            refs: Vec::new(),
            replaying: 0,
            depth: 0,
            nodes_left: NODE_BUDGET_BASE + buf.len().saturating_mul(4),
        }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParamError> {
        // `pos <= buf.len()` always holds, so the slice below cannot fail.
        let rest = &self.buf[self.pos..];
        if n > rest.len() {
            return err("bad marshal data: truncated");
        }
        self.pos += n;
        Ok(&rest[..n])
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, ParamError> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => err("bad marshal data: truncated"),
        }
    }

    #[inline]
    fn i32(&mut self) -> Result<i32, ParamError> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A non-negative 32-bit count, which must not exceed what is left of the buffer.
    #[inline]
    fn count(&mut self) -> Result<usize, ParamError> {
        let n = self.i32()?;
        if n < 0 || n as usize > self.buf.len() - self.pos {
            return err("bad marshal data: invalid length");
        }
        Ok(n as usize)
    }

    #[inline]
    fn str_of(&mut self, n: usize) -> Result<&'a str, ParamError> {
        let bytes = self.take(n)?;
        if let Some(s) = ascii(bytes) {
            return Ok(s);
        }
        // marshal writes str with `surrogatepass`, so a lone surrogate arrives as an
        // encoded surrogate, which is not UTF-8 and is rejected here.
        std::str::from_utf8(bytes).map_err(|_| ParamError {
            message: "str parameter is not valid Unicode (lone surrogate?)".to_string(),
        })
    }

    /// The scalars most parameters are (None, bool, int, float, ASCII str, bytes), read as
    /// [`Self::value`] reads them but without its general machinery. `None`, with nothing
    /// consumed, for anything else, including everything that is an error there.
    #[inline(always)]
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        let (&code, rest) = self.buf.get(self.pos..)?.split_first()?;
        if self.nodes_left == 0 {
            return None;
        }
        let (v, used) = match code {
            TYPE_NONE => (Scalar::None, 0),
            TYPE_TRUE => (Scalar::Bool(true), 0),
            TYPE_FALSE => (Scalar::Bool(false), 0),
            TYPE_INT => {
                let b = rest.first_chunk::<4>()?;
                (Scalar::Int(i32::from_le_bytes(*b) as i64), 4)
            }
            TYPE_BINARY_FLOAT => {
                let b = rest.first_chunk::<8>()?;
                (Scalar::Float(f64::from_le_bytes(*b)), 8)
            }
            TYPE_UNICODE | TYPE_INTERNED | TYPE_ASCII | TYPE_ASCII_INTERNED => {
                let n = usize::try_from(i32::from_le_bytes(*rest.first_chunk::<4>()?)).ok()?;
                (Scalar::Str(ascii(rest.get(4..)?.get(..n)?)?), 4 + n)
            }
            TYPE_STRING => {
                let n = usize::try_from(i32::from_le_bytes(*rest.first_chunk::<4>()?)).ok()?;
                (Scalar::Bytes(rest.get(4..)?.get(..n)?), 4 + n)
            }
            TYPE_SHORT_ASCII | TYPE_SHORT_ASCII_INTERNED => {
                let n = *rest.first()? as usize;
                (Scalar::Str(ascii(rest.get(1..)?.get(..n)?)?), 1 + n)
            }
            _ => return None,
        };
        self.pos += 1 + used;
        self.nodes_left -= 1;
        Some(v)
    }

    fn value(&mut self) -> Result<Item<'a>, ParamError> {
        if self.nodes_left == 0 {
            return err("parameters expand to too many values (shared references)");
        }
        self.nodes_left -= 1;
        let start = self.pos;
        let code = self.byte()?;
        let flagged = code & FLAG_REF != 0 && self.replaying == 0;
        let slot = if flagged {
            self.refs.push(RefSlot::InProgress);
            Some(self.refs.len() - 1)
        } else {
            None
        };
        let value = self.body(code & !FLAG_REF)?;
        if let Some(slot) = slot {
            self.refs[slot] = RefSlot::Done(start);
        }
        Ok(value)
    }

    /// The outer tuple or list's header: its item count. The items are parameters (never
    /// a tag marker).
    #[cold]
    fn top(&mut self) -> Result<usize, ParamError> {
        let code = self.byte()?;
        if code & FLAG_REF != 0 {
            self.refs.push(RefSlot::InProgress);
        }
        match code & !FLAG_REF {
            TYPE_TUPLE | TYPE_LIST => self.count(),
            TYPE_SMALL_TUPLE => Ok(self.byte()? as usize),
            _ => {
                self.pos -= 1;
                let name = match self.value()? {
                    Item::Value(v) => v.python_type_name(),
                    Item::Ellipsis => "ellipsis",
                };
                err(format!("parameters must be a tuple or a list, not {name}"))
            }
        }
    }

    /// [`Self::top`] for the headers Python writes for a parameter tuple or list (no
    /// back-reference flag, a valid count); `None`, with nothing consumed, for anything
    /// else.
    #[inline]
    fn plain_top(&mut self) -> Option<usize> {
        let (&code, rest) = self.buf.split_first()?;
        let (n, used) = match code {
            TYPE_TUPLE | TYPE_LIST => {
                let n = usize::try_from(i32::from_le_bytes(*rest.first_chunk::<4>()?)).ok()?;
                (n, 4)
            }
            TYPE_SMALL_TUPLE => (*rest.first()? as usize, 1),
            _ => return None,
        };
        if n > rest.len() - used {
            return None;
        }
        self.pos = 1 + used;
        Some(n)
    }

    fn body(&mut self, code: u8) -> Result<Item<'a>, ParamError> {
        let v = match code {
            TYPE_NONE => ParamValue::None,
            TYPE_TRUE => ParamValue::Bool(true),
            TYPE_FALSE => ParamValue::Bool(false),
            TYPE_ELLIPSIS => return Ok(Item::Ellipsis),
            TYPE_INT => ParamValue::Int(self.i32()? as i64),
            TYPE_INT64 => {
                let b = self.take(8)?;
                ParamValue::Int(i64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            }
            TYPE_LONG => self.long()?,
            TYPE_BINARY_FLOAT => {
                let b = self.take(8)?;
                ParamValue::Float(f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            }
            TYPE_FLOAT => {
                let n = self.byte()? as usize;
                let text = self.str_of(n)?;
                ParamValue::Float(
                    text.parse()
                        .or_else(|_| err("bad marshal data: invalid float"))?,
                )
            }
            TYPE_STRING => {
                let n = self.count()?;
                ParamValue::Bytes(self.take(n)?)
            }
            TYPE_UNICODE | TYPE_INTERNED | TYPE_ASCII | TYPE_ASCII_INTERNED => {
                let n = self.count()?;
                ParamValue::Str(self.str_of(n)?)
            }
            TYPE_SHORT_ASCII | TYPE_SHORT_ASCII_INTERNED => {
                let n = self.byte()? as usize;
                ParamValue::Str(self.str_of(n)?)
            }
            TYPE_TUPLE | TYPE_SMALL_TUPLE => {
                let n = if code == TYPE_TUPLE {
                    self.count()?
                } else {
                    self.byte()? as usize
                };
                return self.tuple(n);
            }
            TYPE_LIST => {
                let n = self.count()?;
                ParamValue::List(self.items(n)?)
            }
            TYPE_DICT => self.dict()?,
            TYPE_REF => return self.reference(),
            TYPE_NULL => return err("bad marshal data: unexpected NULL"),
            _ => {
                return err(format!(
                    "{} is not a supported parameter type",
                    unsupported_name(code)
                ))
            }
        };
        Ok(Item::Value(v))
    }

    fn long(&mut self) -> Result<ParamValue<'a>, ParamError> {
        let n = self.i32()?;
        let count = n.unsigned_abs() as usize;
        if count > (self.buf.len() - self.pos) / 2 {
            return err("bad marshal data: truncated int");
        }
        let mut digits15 = Vec::with_capacity(count);
        for _ in 0..count {
            let b = self.take(2)?;
            let d = u16::from_le_bytes([b[0], b[1]]);
            if d >= 1 << 15 {
                return err("bad marshal data: digit out of range in int");
            }
            digits15.push(d);
        }
        if digits15.last() == Some(&0) {
            return err("bad marshal data: unnormalized int");
        }
        let negative = n < 0;
        if count <= 5 {
            let magnitude = digits15
                .iter()
                .rev()
                .fold(0u128, |acc, d| (acc << 15) | *d as u128);
            let value = if negative {
                -(magnitude as i128)
            } else {
                magnitude as i128
            };
            if let Ok(v) = i64::try_from(value) {
                return Ok(ParamValue::Int(v));
            }
        }
        Ok(ParamValue::BigInt { negative, digits15 })
    }

    fn enter(&mut self) -> Result<(), ParamError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(format!(
                "parameters are nested more than {MAX_DEPTH} levels deep"
            ));
        }
        Ok(())
    }

    fn items(&mut self, n: usize) -> Result<Vec<ParamValue<'a>>, ParamError> {
        self.enter()?;
        // `n` was checked against the bytes left, each item needs at least one.
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(v) = self.scalar() {
                items.push(v.into());
                continue;
            }
            match self.value()? {
                Item::Value(v) => items.push(v),
                Item::Ellipsis => return err("Ellipsis is not a supported parameter type"),
            }
        }
        self.depth -= 1;
        Ok(items)
    }

    fn tuple(&mut self, n: usize) -> Result<Item<'a>, ParamError> {
        if n > self.buf.len() - self.pos {
            return err("bad marshal data: invalid length");
        }
        if n == 0 {
            return Ok(Item::Value(ParamValue::List(Vec::new())));
        }
        self.enter()?;
        let first = self.value()?;
        self.depth -= 1;
        match first {
            Item::Ellipsis => self.tagged(n - 1).map(Item::Value),
            Item::Value(first) => {
                let mut items = vec![first];
                items.extend(self.items(n - 1)?);
                Ok(Item::Value(ParamValue::List(items)))
            }
        }
    }

    fn tagged(&mut self, n: usize) -> Result<ParamValue<'a>, ParamError> {
        let mut items = self.items(n)?;
        if items.is_empty() {
            return err("malformed tagged parameter: no tag");
        }
        let name = match items.remove(0) {
            ParamValue::Str(s) => s,
            _ => return err("malformed tagged parameter: tag is not a str"),
        };
        use ParamValue as P;
        let int = |v: &P| matches!(v, P::Int(_));
        let int_or_none = |v: &P| matches!(v, P::Int(_) | P::None);
        let str_ = |v: &P| matches!(v, P::Str(_));
        let (tag, ok) = match name {
            "dec" => (Tag::Decimal, items.len() == 1 && str_(&items[0])),
            "date" => (Tag::Date, items.len() == 3 && items.iter().all(int)),
            "time" => (
                Tag::Time,
                items.len() == 5 && items[..4].iter().all(int) && int_or_none(&items[4]),
            ),
            "dt" => (
                Tag::DateTime,
                items.len() == 8 && items[..7].iter().all(int) && int_or_none(&items[7]),
            ),
            "td" => (Tag::TimeDelta, items.len() == 3 && items.iter().all(int)),
            "uuid" => (
                Tag::Uuid,
                items.len() == 1 && matches!(items[0], P::Bytes(b) if b.len() == 16),
            ),
            "json" => (Tag::Json, items.len() == 1 && str_(&items[0])),
            "text" => (Tag::Text, items.len() == 1 && str_(&items[0])),
            "range" => (
                Tag::Range,
                items.len() == 3 && matches!(items[2], P::Int(0..=7)),
            ),
            _ => return err(format!("malformed tagged parameter: unknown tag '{name}'")),
        };
        if !ok {
            return err(format!("malformed tagged parameter '{name}'"));
        }
        Ok(ParamValue::Tagged(tag, items))
    }

    fn dict(&mut self) -> Result<ParamValue<'a>, ParamError> {
        self.enter()?;
        let mut entries = Vec::new();
        loop {
            if self.buf.get(self.pos) == Some(&TYPE_NULL) {
                self.pos += 1;
                break;
            }
            let key = self.value()?;
            let value = self.value()?;
            match (key, value) {
                (Item::Value(k), Item::Value(v)) => entries.push((k, v)),
                _ => return err("Ellipsis is not a supported parameter type"),
            }
        }
        self.depth -= 1;
        Ok(ParamValue::Dict(entries))
    }

    fn reference(&mut self) -> Result<Item<'a>, ParamError> {
        let idx = self.i32()?;
        let slot = usize::try_from(idx)
            .ok()
            .and_then(|i| self.refs.get(i).copied());
        match slot {
            None => err("bad marshal data: invalid reference"),
            Some(RefSlot::InProgress) => err("parameters must not contain themselves"),
            Some(RefSlot::Done(offset)) => {
                let resume = self.pos;
                self.pos = offset;
                self.replaying += 1;
                let value = self.value();
                self.replaying -= 1;
                self.pos = resume;
                value
            }
        }
    }
}

/// `bytes` as a str when they are all ASCII. Parameters mostly are, and this check costs a
/// fraction of `from_utf8`'s; anything else must go through `from_utf8`.
#[inline]
fn ascii(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: every ASCII byte sequence is valid UTF-8 (tested by
        // `str_bytes_are_validated_past_an_ascii_prefix`).
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        None
    }
}

fn unsupported_name(code: u8) -> String {
    match code {
        TYPE_SET => "set".to_string(),
        TYPE_FROZENSET => "frozenset".to_string(),
        TYPE_COMPLEX | TYPE_BINARY_COMPLEX => "complex".to_string(),
        TYPE_CODE => "code".to_string(),
        TYPE_STOPITER => "StopIteration".to_string(),
        TYPE_SLICE => "slice".to_string(),
        _ => format!("marshal type code 0x{code:02x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python_harness::python_bytes;

    fn dumps(expr: &str) -> Vec<u8> {
        python_bytes(&format!("marshal.dumps({expr}, 4)"))
    }

    #[test]
    fn parses_what_python_writes() {
        let buf = dumps(
            r#"(1, "é", None, 2**70, 1.5, b"x", [1,[2]], {"a": 1}, (..., "dec", "1.5"), True, False, -2**70, 2**63-1, -2**63, 2**63, -2**31, "", "a"*300, (), [], "😀", 0.1)"#,
        );
        let v = parse_params(&buf).unwrap();
        use ParamValue as P;
        let two70 = vec![0, 0, 0, 0, 1 << 10];
        assert_eq!(
            v,
            vec![
                P::Int(1),
                P::Str("é"),
                P::None,
                P::BigInt {
                    negative: false,
                    digits15: two70.clone()
                },
                P::Float(1.5),
                P::Bytes(b"x"),
                P::List(vec![P::Int(1), P::List(vec![P::Int(2)])]),
                P::Dict(vec![(P::Str("a"), P::Int(1))]),
                P::Tagged(Tag::Decimal, vec![P::Str("1.5")]),
                P::Bool(true),
                P::Bool(false),
                P::BigInt {
                    negative: true,
                    digits15: two70
                },
                P::Int(i64::MAX),
                P::Int(i64::MIN),
                P::BigInt {
                    negative: false,
                    digits15: vec![0, 0, 0, 0, 1 << 3]
                },
                P::Int(-(1 << 31)),
                P::Str(""),
                P::Str(&"a".repeat(300)),
                P::List(vec![]),
                P::List(vec![]),
                P::Str("😀"),
                P::Float(0.1),
            ]
        );
    }

    #[test]
    fn shared_objects_and_back_references() {
        // Shared objects get FLAG_REF and later occurrences become TYPE_REF.
        let buf = python_bytes(
            "marshal.dumps((lambda s, l: [s, s, l, l, (s, l)])('shared' + str(1), [1, 'x' + str(2)]), 4)",
        );
        assert!(buf.contains(&TYPE_REF));
        use ParamValue as P;
        let l = P::List(vec![P::Int(1), P::Str("x2")]);
        assert_eq!(
            parse_params(&buf).unwrap(),
            vec![
                P::Str("shared1"),
                P::Str("shared1"),
                l.clone(),
                l.clone(),
                P::List(vec![P::Str("shared1"), l])
            ]
        );
    }

    #[test]
    fn every_tag_parses() {
        let buf = dumps(
            r#"[(..., "date", 2024, 2, 29), (..., "time", 1, 2, 3, 4, None), (..., "time", 1, 2, 3, 4, 3600000000),
                (..., "dt", 2000, 1, 1, 0, 0, 0, 0, None), (..., "td", -1, 86399, 0), (..., "uuid", bytes(16)),
                (..., "json", "[]"), (..., "text", "x"), (..., "range", 1, None, 2)]"#,
        );
        let tags: Vec<Tag> = parse_params(&buf)
            .unwrap()
            .iter()
            .map(|v| match v {
                ParamValue::Tagged(t, _) => *t,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            tags,
            [
                Tag::Date,
                Tag::Time,
                Tag::Time,
                Tag::DateTime,
                Tag::TimeDelta,
                Tag::Uuid,
                Tag::Json,
                Tag::Text,
                Tag::Range
            ]
        );
    }

    #[test]
    fn rejects_unsupported_types_and_bad_tags() {
        for (expr, needle) in [
            ("({1},)", "set"),
            ("(frozenset(),)", "frozenset"),
            ("(1j,)", "complex"),
            ("((lambda: 0).__code__,)", "code"),
            ("(StopIteration,)", "StopIteration"),
            ("(...,)", "Ellipsis"),
            ("(..., 'dec', '1')", "Ellipsis"),
            ("...", "not ellipsis"),
            ("(1, ...)", "Ellipsis"),
            ("({...: 1},)", "Ellipsis"),
            ("((..., 'nope', 1),)", "unknown tag"),
            ("((..., 'date', 1, 2),)", "malformed"),
            ("((..., 'uuid', b'short'),)", "malformed"),
            ("((..., 'range', 1, 2),)", "malformed"),
            ("((..., 'range', 1, 2, 8),)", "malformed"),
            ("((..., 1),)", "malformed"),
            ("((...,),)", "malformed"),
            ("('\\ud800',)", "surrogate"),
            ("1", "tuple or a list"),
            ("'x'", "tuple or a list"),
        ] {
            let e = parse_params(&dumps(expr)).unwrap_err();
            assert!(e.message.contains(needle), "{expr}: {e}");
        }
    }

    #[test]
    fn str_bytes_are_validated_past_an_ascii_prefix() {
        // A 'u' string of `body`, as the only parameter.
        let one = |body: &[u8]| {
            let mut b = vec![TYPE_SMALL_TUPLE, 1, TYPE_UNICODE];
            b.extend_from_slice(&(body.len() as i32).to_le_bytes());
            b.extend_from_slice(body);
            b
        };
        let ascii = "0123456789abcdefghijklmnopqrstuvwxyz";
        for bad in [&b"\xed\xa0\x80"[..], b"\x80", b"\xff", b"\xc3"] {
            for at in [0, 1, 7, 8, 15, 16, 17, ascii.len()] {
                let mut body = ascii.as_bytes()[..at].to_vec();
                body.extend_from_slice(bad);
                body.extend_from_slice(b"tail");
                let e = parse_params(&one(&body)).unwrap_err();
                assert!(e.message.contains("not valid Unicode"), "{body:?}: {e}");
            }
        }
        let mixed = format!("{ascii}é{ascii}😀");
        assert_eq!(
            parse_params(&one(mixed.as_bytes())).unwrap(),
            vec![ParamValue::Str(&mixed)]
        );
        assert_eq!(
            parse_params(&one(ascii.as_bytes())).unwrap(),
            vec![ParamValue::Str(ascii)]
        );
    }

    #[test]
    fn scalar_shortcut_reads_what_value_reads() {
        let reader = |buf| Reader { nodes_left: 10, ..Reader::new(buf) };
        let mut buffers: Vec<Vec<u8>> = Vec::new();
        for version in [2, 3, 4] {
            let exprs = r#"[None, True, False, 0, -1, 2**31-1, -2**31, 2**31, 2**62, 1.5, -0.0, float("nan"),
                "", "a", "é", "ascii text", "x"*300, sys.intern("interned"), b"bytes", [1], (2,), 1j]"#;
            let listed = python_bytes(&format!(
                "b''.join(len(b).to_bytes(4, 'little') + b for b in (marshal.dumps(v, {version}) for v in {exprs}))"
            ));
            let mut rest = &listed[..];
            while let Some((len, tail)) = rest.split_first_chunk::<4>() {
                let (one, tail) = tail.split_at(u32::from_le_bytes(*len) as usize);
                buffers.push(one.to_vec());
                rest = tail;
            }
        }
        buffers.push(vec![TYPE_UNICODE, 0xff, 0xff, 0xff, 0xff]);
        buffers.push(vec![TYPE_SHORT_ASCII, 2, b'a', 0x80]);
        buffers.push(vec![TYPE_ASCII, 1, 0, 0, 0, 0xc3]);
        let mut shortcuts = 0;
        for buf in &buffers {
            for cut in 0..=buf.len() {
                let buf = &buf[..cut];
                let mut fast = reader(buf);
                match fast.scalar() {
                    None => assert_eq!(fast.pos, 0),
                    Some(v) => {
                        let v = ParamValue::from(v);
                        shortcuts += 1;
                        let mut slow = reader(buf);
                        match slow.value() {
                            Ok(Item::Value(w)) => {
                                assert_eq!(format!("{v:?}"), format!("{w:?}"), "{buf:?}")
                            }
                            _ => panic!("{buf:?}: the shortcut read {v:?}"),
                        }
                        assert_eq!((fast.pos, fast.nodes_left), (slow.pos, slow.nodes_left));
                    }
                }
            }
            let mut spent = reader(buf);
            spent.nodes_left = 0;
            assert!(spent.scalar().is_none());
        }
        assert!(shortcuts >= 16, "{shortcuts}");
    }

    #[test]
    fn plain_header_shortcut_reads_what_top_reads() {
        let reader = |buf| Reader { nodes_left: 10, ..Reader::new(buf) };
        let mut headers: Vec<Vec<u8>> = ["(1, 'a')", "[1, 'a']", "()", "[]", "tuple(range(300))"]
            .iter()
            .flat_map(|e| [2, 4].map(|v| python_bytes(&format!("marshal.dumps({e}, {v})"))))
            .collect();
        for code in [
            TYPE_TUPLE,
            TYPE_LIST,
            TYPE_TUPLE | FLAG_REF,
            TYPE_SMALL_TUPLE | FLAG_REF,
        ] {
            for n in [-1i32, 0, 1, 2, 3, i32::MAX] {
                let mut h = vec![code];
                h.extend_from_slice(&n.to_le_bytes());
                h.extend_from_slice(b"NN");
                headers.push(h);
            }
        }
        headers.push(vec![TYPE_SMALL_TUPLE, 3, TYPE_NONE]);
        let mut shortcuts = 0;
        for h in &headers {
            for cut in 0..=h.len() {
                let buf = &h[..cut];
                let mut fast = reader(buf);
                match fast.plain_top() {
                    None => assert_eq!(fast.pos, 0),
                    Some(n) => {
                        shortcuts += 1;
                        let mut slow = reader(buf);
                        assert_eq!(slow.top().ok(), Some(n), "{buf:?}");
                        assert_eq!((fast.pos, fast.refs.len()), (slow.pos, slow.refs.len()));
                    }
                }
            }
        }
        assert!(shortcuts > 20, "{shortcuts}");
    }

    #[test]
    fn self_containing_list_is_rejected() {
        let buf = python_bytes("(lambda l: (l.append(l), marshal.dumps((l,), 4))[1])([])");
        assert!(parse_params(&buf)
            .unwrap_err()
            .message
            .contains("contain themselves"));
    }

    #[test]
    fn exponential_reference_expansion_is_bounded() {
        // Each level is a list holding the previous level twice: 2^60 values if expanded.
        let buf = python_bytes(
            "(lambda: [(x := [1, 'a' + str(1)])] and [ (x := [x, x]) for _ in range(60)] and marshal.dumps((x,), 4))()",
        );
        assert!(parse_params(&buf)
            .unwrap_err()
            .message
            .contains("too many values"));
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let buf = python_bytes("(lambda: [(x := [])] and [(x := [x]) for _ in range(1500)] and marshal.dumps((x,), 4))()");
        assert!(parse_params(&buf).unwrap_err().message.contains("nested"));
        let mut handmade = vec![b'['; 0];
        for _ in 0..100_000 {
            handmade.extend_from_slice(&[TYPE_LIST, 1, 0, 0, 0]);
        }
        handmade.push(TYPE_NONE);
        assert!(parse_params(&handmade).is_err());
    }

    #[test]
    fn truncated_and_garbage_buffers_are_errors() {
        let buf = dumps(
            r#"(1, "é", None, 2**70, 1.5, b"x", [1,[2]], {"a": 1}, (..., "dec", "1.5"), "s"*300)"#,
        );
        for cut in 0..buf.len() {
            assert!(parse_params(&buf[..cut]).is_err(), "prefix {cut}");
        }
        assert!(parse_params(&[buf.clone(), vec![0]].concat()).is_err());
        // Deterministic pseudo-random garbage and single-byte corruptions must never panic.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = parse_params(&garbage);
            let mut corrupt = buf.clone();
            let at = (next() as usize) % corrupt.len();
            corrupt[at] = next() as u8;
            let _ = parse_params(&corrupt);
        }
        for bad in [
            vec![TYPE_TUPLE, 0xff, 0xff, 0xff, 0x7f],
            vec![TYPE_LIST, 0xff, 0xff, 0xff, 0xff],
            vec![TYPE_SMALL_TUPLE, 1, TYPE_LONG, 0xff, 0xff, 0xff, 0x7f],
            vec![TYPE_SMALL_TUPLE, 1, TYPE_LONG, 1, 0, 0, 0, 0, 0],
            vec![TYPE_SMALL_TUPLE, 1, TYPE_LONG, 1, 0, 0, 0, 0xff, 0xff],
            vec![TYPE_SMALL_TUPLE, 1, TYPE_REF, 0, 0, 0, 0],
            vec![TYPE_SMALL_TUPLE | FLAG_REF, 1, TYPE_REF, 0, 0, 0, 0],
            vec![TYPE_SMALL_TUPLE, 1, TYPE_NULL],
            vec![TYPE_SMALL_TUPLE, 1, TYPE_DICT, TYPE_NONE],
        ] {
            assert!(parse_params(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn split_call_reads_the_header_python_writes() {
        // marshal.dumps((5, 16, ()), 2)
        let small = b"(\x03\x00\x00\x00i\x05\x00\x00\x00i\x10\x00\x00\x00(\x00\x00\x00\x00";
        assert_eq!(split_call(small), Some((5, 16, &b"(\x00\x00\x00\x00"[..])));
        // marshal.dumps((2**31, 2**32 - 8, (1,)), 2): both as TYPE_LONG
        let long = b"(\x03\x00\x00\x00l\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00l\x03\x00\x00\x00\xf8\x7f\xff\x7f\x03\x00(\x01\x00\x00\x00i\x01\x00\x00\x00";
        let (h, st, params) = split_call(long).unwrap();
        assert_eq!((h, st), (1 << 31, u32::MAX - 7));
        assert_eq!(parse_params(params).unwrap().len(), 1);
        // out of range or malformed: (2**32, 8, ()), (-1, 8, ()), a 2-tuple, truncation
        assert!(split_call(b"(\x03\x00\x00\x00l\x03\x00\x00\x00\x00\x00\x00\x00\x04\x00i\x08\x00\x00\x00(\x00\x00\x00\x00").is_none());
        assert!(split_call(b"(\x03\x00\x00\x00i\xff\xff\xff\xffi\x08\x00\x00\x00(\x00\x00\x00\x00").is_none());
        assert!(split_call(b"(\x02\x00\x00\x00i\x05\x00\x00\x00i\x10\x00\x00\x00").is_none());
        for cut in 0..small.len() - 5 {
            assert!(split_call(&small[..cut]).is_none() || cut >= 15);
        }
    }
}
