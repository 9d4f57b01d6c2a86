//! Result values into the pickle stream.
//!
//! A [`ColumnDecoder`] is resolved once per column from the row description (type OID and
//! format), then [`ColumnDecoder::decode`] runs per cell. Both wire formats of a type give
//! the same Python value: the text parsers follow what the server prints with
//! `DateStyle=ISO`, `IntervalStyle=postgres`, `extra_float_digits=3` and either
//! `bytea_output`.
//!
//! Range policy, because Python's types are narrower than PostgreSQL's:
//! * `date` ±infinity → `date.max`/`date.min`; `timestamp` ±infinity → `datetime.max`/
//!   `datetime.min`; `timestamptz` the same with `tzinfo=timezone.utc`.
//! * Values Python cannot hold (BC dates, years after 9999, `time '24:00:00'`, intervals
//!   beyond `timedelta`'s ±999999999 days) are a [`DecodeError`] naming type and value.
//! * `interval` months become days: see [`crate::temporal::interval_from_parts`].
//! * Types without a decoder here arrive in text format and become `str`.
//! * With [`DecodeOptions::temporal_as_str`], ±infinity and the out-of-range dates and
//!   timestamps become their ISO text instead (timestamptz in UTC, `+00`).
//!
//! The built-in range types become `pyro_postgres.Range` objects, multiranges lists of
//! them; their bounds follow the policies above (see [`crate::range`]).

use std::fmt;

use crate::array;
use crate::json::json_to_pickle;
use crate::money;
use crate::network;
use crate::numeric::numeric_ascii_from_binary;
use crate::oid;
use crate::pickle::PickleWriter;
use crate::range;
use crate::system_types;
use crate::temporal;
use crate::Format;

/// Decoding choices of one connection (`Opts` in Python); the default is what a
/// connection does without options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    pub json: JsonMode,
    /// `temporal_out_of_range = "str"`: ±infinity and dates/timestamps outside Python's
    /// years 1..9999 become their ISO text instead of `date.max`/… or an error.
    pub temporal_as_str: bool,
    /// The connection's registered types.
    pub types: std::sync::Arc<crate::registry::TypeRegistry>,
}

/// What json/jsonb values become.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JsonMode {
    /// Parsed here into dicts, lists, str, int, float, bool and None.
    #[default]
    Parse,
    /// The document's text as `str`.
    Str,
    /// The connection's own `loads` called with the text: the Python callable registered
    /// under the type's OID (see [`PickleWriter::set_python_callables`]).
    Loads,
}

/// The options that change how a built-in scalar decodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ScalarOptions {
    json: JsonMode,
    temporal_as_str: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

/// The types with a decoder of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalar {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    /// text, varchar, bpchar, name, unknown: UTF-8 in both formats.
    Text,
    /// `"char"`: one byte.
    Char,
    Bytea,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    Inet,
    Cidr,
    MacAddr,
    MacAddr8,
    Money,
    /// bit, varbit: str of '0'/'1'.
    Bits,
    /// xid, cid: unsigned 32-bit.
    Xid,
    Xid8,
    Tid,
    Int2Vector,
    OidVector,
}

fn scalar_for(type_oid: u32) -> Option<Scalar> {
    Some(match type_oid {
        oid::BOOL => Scalar::Bool,
        oid::INT2 => Scalar::Int2,
        oid::INT4 => Scalar::Int4,
        oid::INT8 => Scalar::Int8,
        oid::OID => Scalar::Oid,
        oid::FLOAT4 => Scalar::Float4,
        oid::FLOAT8 => Scalar::Float8,
        oid::NUMERIC => Scalar::Numeric,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN => Scalar::Text,
        oid::CHAR => Scalar::Char,
        oid::BYTEA => Scalar::Bytea,
        oid::DATE => Scalar::Date,
        oid::TIME => Scalar::Time,
        oid::TIMETZ => Scalar::TimeTz,
        oid::TIMESTAMP => Scalar::Timestamp,
        oid::TIMESTAMPTZ => Scalar::TimestampTz,
        oid::INTERVAL => Scalar::Interval,
        oid::UUID => Scalar::Uuid,
        oid::JSON => Scalar::Json,
        oid::JSONB => Scalar::Jsonb,
        oid::INET => Scalar::Inet,
        oid::CIDR => Scalar::Cidr,
        oid::MACADDR => Scalar::MacAddr,
        oid::MACADDR8 => Scalar::MacAddr8,
        oid::MONEY => Scalar::Money,
        oid::BIT | oid::VARBIT => Scalar::Bits,
        oid::XID | oid::CID => Scalar::Xid,
        oid::XID8 => Scalar::Xid8,
        oid::TID => Scalar::Tid,
        oid::INT2VECTOR => Scalar::Int2Vector,
        oid::OIDVECTOR => Scalar::OidVector,
        _ => return None,
    })
}

/// A built-in range (`multi` false) or multirange type, by the decoder of its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RangeOf {
    subtype: Scalar,
    multi: bool,
}

fn range_for(type_oid: u32) -> Option<RangeOf> {
    let (range_oid, multi) = match oid::multirange_range(type_oid) {
        Some(r) => (r, true),
        None => (type_oid, false),
    };
    let subtype = scalar_for(oid::range_subtype(range_oid)?)?;
    Some(RangeOf { subtype, multi })
}

/// [`result_format_for`] on a connection with options: registered types and records
/// choose their own format.
pub fn result_format_with(type_oid: u32, opts: &DecodeOptions) -> Format {
    crate::registry::result_format(type_oid, opts).unwrap_or_else(|| result_format_for(type_oid))
}

/// The format to request for a result column of this type: binary wherever a binary
/// decoder exists (cheaper to decode), text otherwise (the value then becomes `str`).
pub fn result_format_for(type_oid: u32) -> Format {
    let decodable = scalar_for(type_oid).is_some()
        || oid::array_element(type_oid).and_then(scalar_for).is_some()
        || range_for(type_oid).is_some()
        || oid::array_element(type_oid).and_then(range_for).is_some();
    if decodable {
        Format::Binary
    } else {
        Format::Text
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Scalar(Scalar),
    Array {
        element: Scalar,
        element_oid: u32,
    },
    /// A range (a `pyro_postgres.Range`) or multirange (a list of them).
    Range(RangeOf),
    /// An array of ranges or multiranges.
    RangeArray {
        element: RangeOf,
        element_oid: u32,
    },
    /// A built-in array whose elements have no decoder, in text format: a list of the
    /// elements' texts as `str`. `delimiter` separates elements (`;` for box).
    TextArray {
        delimiter: u8,
    },
    /// A type without a decoder, in text format: its text as `str`.
    TextAsStr,
    /// A type without a decoder in binary format, which `result_format_for` never asks for.
    Unsupported,
    /// A registered type, a record, or an array of either (see [`crate::registry`]).
    Custom(crate::registry::CustomDecoder),
}

/// The commonest column kinds, decoded inline before the general dispatch: in a wide
/// result the per-cell dispatch costs as much as the decoding itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fast {
    Int2,
    Int4,
    Int8,
    Float8,
    Text,
    No,
}

impl Fast {
    fn of(kind: &Kind, format: Format) -> Fast {
        match (kind, format) {
            (Kind::Scalar(Scalar::Text), _) => Fast::Text,
            (Kind::Scalar(Scalar::Int2), Format::Binary) => Fast::Int2,
            (Kind::Scalar(Scalar::Int4), Format::Binary) => Fast::Int4,
            (Kind::Scalar(Scalar::Int8), Format::Binary) => Fast::Int8,
            (Kind::Scalar(Scalar::Float8), Format::Binary) => Fast::Float8,
            _ => Fast::No,
        }
    }
}

/// Decodes the values of one result column; chosen once, used for every row.
#[derive(Clone, Debug)]
pub struct ColumnDecoder {
    fast: Fast,
    kind: Kind,
    format: Format,
    type_oid: u32,
    scalar_options: ScalarOptions,
}

impl ColumnDecoder {
    pub fn new(type_oid: u32, format: Format, opts: &DecodeOptions) -> Self {
        if let Some(custom) = crate::registry::CustomDecoder::for_type(type_oid, format, opts) {
            return ColumnDecoder {
                fast: Fast::No,
                kind: Kind::Custom(custom),
                format,
                type_oid,
                scalar_options: ScalarOptions::default(),
            };
        }
        if let Some(base) = crate::registry::CustomDecoder::domain_base(type_oid, opts) {
            return ColumnDecoder::new(base, format, opts).declared_as(type_oid);
        }
        let mut decoder = Self::new_default(type_oid, format);
        decoder.scalar_options = ScalarOptions {
            json: opts.json,
            temporal_as_str: opts.temporal_as_str,
        };
        decoder
    }

    fn new_default(type_oid: u32, format: Format) -> Self {
        let kind = if let Some(s) = scalar_for(type_oid) {
            Kind::Scalar(s)
        } else if let Some((element_oid, element)) =
            oid::array_element(type_oid).and_then(|e| scalar_for(e).map(|s| (e, s)))
        {
            Kind::Array {
                element,
                element_oid,
            }
        } else if let Some(r) = range_for(type_oid) {
            Kind::Range(r)
        } else if let Some((element_oid, element)) =
            oid::array_element(type_oid).and_then(|e| range_for(e).map(|r| (e, r)))
        {
            Kind::RangeArray {
                element,
                element_oid,
            }
        } else if let (Some(element_oid), Format::Text) = (oid::array_element(type_oid), format) {
            Kind::TextArray {
                delimiter: oid::array_delimiter(element_oid),
            }
        } else if format == Format::Text {
            Kind::TextAsStr
        } else {
            Kind::Unsupported
        };
        ColumnDecoder {
            fast: Fast::of(&kind, format),
            kind,
            format,
            type_oid,
            scalar_options: ScalarOptions::default(),
        }
    }

    pub fn type_oid(&self) -> u32 {
        self.type_oid
    }

    /// The same decoder for values whose declared type is `type_oid` (a domain decodes
    /// as its base type).
    pub(crate) fn declared_as(mut self, type_oid: u32) -> Self {
        self.type_oid = type_oid;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Appends the Python value of one cell; `None` is SQL NULL and becomes `None`.
    ///
    /// On error the stream may hold part of a value (an unfinished list, say): abandon the
    /// result and [`PickleWriter::reset`] before reusing the writer.
    /// True when every value this column can produce is a built-in that `marshal`
    /// can carry (int, float, str, bytes, bool, None, lists and dicts of those), so a
    /// result made only of such columns may use [`PickleWriter::reset_marshal`].
    /// Parsed json/jsonb are not: a document may nest deeper than `marshal.loads` goes
    /// (2000 levels), and `pickle.loads` has no such limit.
    pub fn is_marshal_native(&self) -> bool {
        let native = |s: &Scalar| {
            matches!(
                s,
                Scalar::Bool
                    | Scalar::Int2
                    | Scalar::Int4
                    | Scalar::Int8
                    | Scalar::Oid
                    | Scalar::Float4
                    | Scalar::Float8
                    | Scalar::Text
                    | Scalar::Char
                    | Scalar::Bytea
                    | Scalar::MacAddr
                    | Scalar::MacAddr8
                    | Scalar::Bits
                    | Scalar::Xid
                    | Scalar::Xid8
                    | Scalar::Tid
                    | Scalar::Int2Vector
                    | Scalar::OidVector
            ) || (self.scalar_options.json == JsonMode::Str
                && matches!(s, Scalar::Json | Scalar::Jsonb))
        };
        match &self.kind {
            Kind::Scalar(s) => native(s),
            Kind::Array { element, .. } => native(element),
            Kind::Range(_) | Kind::RangeArray { .. } => false,
            Kind::TextArray { .. } | Kind::TextAsStr => true,
            Kind::Unsupported => false,
            Kind::Custom(c) => c.is_marshal_native(),
        }
    }

    // Inlined into the row loop: a call per cell costs as much as the commonest cells'
    // decoding; everything but the fast arms stays behind the one out-of-line call.
    #[inline(always)]
    pub fn decode(&self, value: Option<&[u8]>, w: &mut PickleWriter) -> Result<(), DecodeError> {
        let Some(data) = value else {
            w.none();
            return Ok(());
        };
        // A value the fast path cannot take (a wrong size, invalid UTF-8) goes on to the
        // general path, which reports the error.
        match self.fast {
            Fast::Int2 => {
                if let Ok(b) = <[u8; 2]>::try_from(data) {
                    w.int(i16::from_be_bytes(b) as i64);
                    return Ok(());
                }
            }
            Fast::Int4 => {
                if let Ok(b) = <[u8; 4]>::try_from(data) {
                    w.int(i32::from_be_bytes(b) as i64);
                    return Ok(());
                }
            }
            Fast::Int8 => {
                if let Ok(b) = <[u8; 8]>::try_from(data) {
                    w.int(i64::from_be_bytes(b));
                    return Ok(());
                }
            }
            Fast::Float8 => {
                if let Ok(b) = <[u8; 8]>::try_from(data) {
                    w.float(f64::from_be_bytes(b));
                    return Ok(());
                }
            }
            Fast::Text => {
                if w.text(data).is_ok() {
                    return Ok(());
                }
            }
            Fast::No => {}
        }
        self.decode_general(data, w)
    }

    #[inline(never)]
    fn decode_general(&self, data: &[u8], w: &mut PickleWriter) -> Result<(), DecodeError> {
        let result = match &self.kind {
            Kind::Scalar(s) => decode_with(*s, self.format, self.scalar_options, data, w),
            Kind::Array {
                element,
                element_oid,
            } => {
                let (element, format, options) = (*element, self.format, self.scalar_options);
                let decode_element = |item: &[u8], w: &mut PickleWriter| {
                    decode_with(element, format, options, item, w)
                };
                match format {
                    Format::Binary => {
                        array::array_from_binary(data, *element_oid, w, &decode_element)
                    }
                    Format::Text => array::array_from_text(data, w, &decode_element),
                }
                .map_err(|e| format!("{}: {e}", oid::describe(self.type_oid)))
            }
            Kind::Range(r) => decode_range(*r, self.format, self.scalar_options, data, w)
                .map_err(|e| format!("{}: {e}", oid::describe(self.type_oid))),
            Kind::RangeArray {
                element,
                element_oid,
            } => {
                let (element, format, options) = (*element, self.format, self.scalar_options);
                let decode_element = |item: &[u8], w: &mut PickleWriter| {
                    decode_range(element, format, options, item, w)
                };
                match format {
                    Format::Binary => {
                        array::array_from_binary(data, *element_oid, w, &decode_element)
                    }
                    Format::Text => array::array_from_text(data, w, &decode_element),
                }
                .map_err(|e| format!("{}: {e}", oid::describe(self.type_oid)))
            }
            Kind::TextArray { delimiter } => {
                let element = |item: &[u8], w: &mut PickleWriter| {
                    w.text(item).map_err(|e| not_utf8(self.type_oid, e))
                };
                array::array_from_text_delimited(data, *delimiter, w, &element)
                    .map_err(|e| format!("{}: {e}", oid::describe(self.type_oid)))
            }
            Kind::TextAsStr => w.text(data).map_err(|e| not_utf8(self.type_oid, e)),
            Kind::Custom(c) => c.decode(self.format, data, w),
            Kind::Unsupported => Err(format!(
                "no binary decoder for {}; request it in text format",
                oid::describe(self.type_oid)
            )),
        };
        result.map_err(|message| DecodeError { message })
    }
}

/// [`decode_scalar`], after the connection's options had their say.
#[inline]
fn decode_with(
    s: Scalar,
    format: Format,
    options: ScalarOptions,
    data: &[u8],
    w: &mut PickleWriter,
) -> Result<(), String> {
    if options != ScalarOptions::default() {
        if let Some(done) = decode_optional(s, format, options, data, w) {
            return done;
        }
    }
    decode_scalar(s, format, data, w)
}

/// The values whose decoding an option changes; None for every other value.
fn decode_optional(
    s: Scalar,
    format: Format,
    options: ScalarOptions,
    data: &[u8],
    w: &mut PickleWriter,
) -> Option<Result<(), String>> {
    use Format::{Binary, Text};
    let json_text = |type_oid: u32| -> Result<&str, String> {
        let document = match (type_oid, format) {
            (oid::JSONB, Binary) => match data.split_first() {
                Some((1, document)) => document,
                _ => return Err("jsonb: unsupported binary format version".to_string()),
            },
            _ => data,
        };
        text_from_bytes(document, type_oid)
    };
    let json_oid = match s {
        Scalar::Json => Some(oid::JSON),
        Scalar::Jsonb => Some(oid::JSONB),
        _ => None,
    };
    if let Some(type_oid) = json_oid {
        return match options.json {
            JsonMode::Parse => None,
            JsonMode::Str => Some(json_text(type_oid).map(|t| w.str(t))),
            JsonMode::Loads => Some(json_text(type_oid).map(|t| w.call_with_str(type_oid, t))),
        };
    }
    if !options.temporal_as_str {
        return None;
    }
    let outside = match (s, format) {
        (Scalar::Date, Binary) => temporal::date_text_if_outside(int4_from_binary(data).ok()?),
        (Scalar::Date, Text) => {
            temporal::date_text_if_outside_text(std::str::from_utf8(data).ok()?)
        }
        (Scalar::Timestamp | Scalar::TimestampTz, Binary) => {
            temporal::timestamp_text_if_outside_usecs(
                int8_from_binary(data).ok()?,
                s == Scalar::TimestampTz,
            )
        }
        (Scalar::Timestamp | Scalar::TimestampTz, Text) => {
            temporal::timestamp_text_if_outside_text(
                std::str::from_utf8(data).ok()?,
                s == Scalar::TimestampTz,
            )
        }
        _ => None,
    }?;
    w.str(&outside);
    Some(Ok(()))
}

fn decode_scalar(
    s: Scalar,
    format: Format,
    data: &[u8],
    w: &mut PickleWriter,
) -> Result<(), String> {
    use Format::{Binary, Text};
    match (s, format) {
        (Scalar::Bool, Binary) => w.bool(bool_from_binary(data)?),
        (Scalar::Bool, Text) => w.bool(bool_from_text(data)?),
        (Scalar::Int2, Binary) => w.int(int2_from_binary(data)? as i64),
        (Scalar::Int4, Binary) => w.int(int4_from_binary(data)? as i64),
        (Scalar::Int8, Binary) => w.int(int8_from_binary(data)?),
        (Scalar::Oid, Binary) => w.int(oid_from_binary(data)? as i64),
        (Scalar::Int2, Text) => w.int(int_from_text(data, "int2")?),
        (Scalar::Int4, Text) => w.int(int_from_text(data, "int4")?),
        (Scalar::Int8, Text) => w.int(int_from_text(data, "int8")?),
        (Scalar::Oid, Text) => w.int(int_from_text(data, "oid")?),
        (Scalar::Float4, Binary) => w.float(float4_from_binary(data)? as f64),
        (Scalar::Float8, Binary) => w.float(float8_from_binary(data)?),
        (Scalar::Float4, Text) => w.float(float4_from_text(data)? as f64),
        (Scalar::Float8, Text) => w.float(float8_from_text(data)?),
        (Scalar::Numeric, Binary) => w
            .decimal_with(|text| numeric_ascii_from_binary(data, text))
            .map_err(|e| format!("numeric: {e}"))?,
        (Scalar::Numeric, Text) => w.decimal_from_str(text_from_bytes(data, oid::NUMERIC)?),
        (Scalar::Text, _) => w.text(data).map_err(|e| not_utf8(oid::TEXT, e))?,
        (Scalar::Char, Binary) => w.str(&char_from_binary(data)?),
        (Scalar::Char, Text) => w.str(text_from_bytes(data, oid::CHAR)?),
        (Scalar::Bytea, Binary) => w.bytes(data),
        (Scalar::Bytea, Text) => w.bytes(&bytea_from_text(data)?),
        (Scalar::Date, Binary) => temporal::date_from_days(
            int4_from_binary(data).map_err(|_| size_error("date", 4, data))?,
            w,
        )?,
        (Scalar::Date, Text) => temporal::date_from_text(text_from_bytes(data, oid::DATE)?, w)?,
        (Scalar::Time, Binary) => temporal::time_from_usecs(
            int8_from_binary(data).map_err(|_| size_error("time", 8, data))?,
            w,
        )?,
        (Scalar::Time, Text) => temporal::time_from_text(text_from_bytes(data, oid::TIME)?, w)?,
        (Scalar::TimeTz, Binary) => {
            let b: &[u8; 12] = data
                .try_into()
                .map_err(|_| size_error("timetz", 12, data))?;
            let usecs = i64::from_be_bytes(b[..8].try_into().unwrap_or_default());
            let zone = i32::from_be_bytes(b[8..].try_into().unwrap_or_default());
            temporal::timetz_from_parts(usecs, zone as i64, w)?
        }
        (Scalar::TimeTz, Text) => {
            temporal::timetz_from_text(text_from_bytes(data, oid::TIMETZ)?, w)?
        }
        (Scalar::Timestamp | Scalar::TimestampTz, Binary) => {
            let utc = s == Scalar::TimestampTz;
            let name = if utc { "timestamptz" } else { "timestamp" };
            temporal::timestamp_from_usecs(
                int8_from_binary(data).map_err(|_| size_error(name, 8, data))?,
                utc,
                w,
            )?
        }
        (Scalar::Timestamp, Text) => {
            temporal::timestamp_from_text(text_from_bytes(data, oid::TIMESTAMP)?, false, w)?
        }
        (Scalar::TimestampTz, Text) => {
            temporal::timestamp_from_text(text_from_bytes(data, oid::TIMESTAMPTZ)?, true, w)?
        }
        (Scalar::Interval, Binary) => {
            let b: &[u8; 16] = data
                .try_into()
                .map_err(|_| size_error("interval", 16, data))?;
            let usecs = i64::from_be_bytes(b[..8].try_into().unwrap_or_default());
            let days = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
            let months = i32::from_be_bytes(b[12..].try_into().unwrap_or_default());
            temporal::interval_from_binary(usecs, days, months, w)?
        }
        (Scalar::Interval, Text) => {
            temporal::interval_from_text(text_from_bytes(data, oid::INTERVAL)?, w)?
        }
        (Scalar::Uuid, Binary) => {
            w.uuid(data.try_into().map_err(|_| size_error("uuid", 16, data))?)
        }
        (Scalar::Uuid, Text) => w.uuid(uuid_from_text(data)?),
        (Scalar::Json, _) => json_to_pickle(data, w).map_err(|e| format!("json: {e}"))?,
        (Scalar::Jsonb, Binary) => match data.split_first() {
            Some((1, document)) => {
                json_to_pickle(document, w).map_err(|e| format!("jsonb: {e}"))?
            }
            _ => return Err("jsonb: unsupported binary format version".to_string()),
        },
        (Scalar::Jsonb, Text) => json_to_pickle(data, w).map_err(|e| format!("jsonb: {e}"))?,
        (Scalar::Inet | Scalar::Cidr, Binary) => {
            network::inet_from_binary(data, s == Scalar::Cidr, w)?
        }
        (Scalar::Inet, Text) => {
            network::inet_from_text(text_from_bytes(data, oid::INET)?, false, w)?
        }
        (Scalar::Cidr, Text) => {
            network::inet_from_text(text_from_bytes(data, oid::CIDR)?, true, w)?
        }
        (Scalar::MacAddr, Binary) => network::macaddr_from_binary(data, 6, w)?,
        (Scalar::MacAddr8, Binary) => network::macaddr_from_binary(data, 8, w)?,
        (Scalar::MacAddr | Scalar::MacAddr8, Text) => w.str(text_from_bytes(data, oid::MACADDR)?),
        (Scalar::Money, Binary) => money::money_from_binary(data, w)?,
        (Scalar::Money, Text) => money::money_from_text(text_from_bytes(data, oid::MONEY)?, w)?,
        (Scalar::Bits, Binary) => system_types::bits_from_binary(data, w)?,
        (Scalar::Bits, Text) => {
            system_types::bits_from_text(text_from_bytes(data, oid::VARBIT)?, w)?
        }
        (Scalar::Xid, Binary) => {
            system_types::unsigned_from_binary(fixed::<4>(data, "xid")?.as_slice(), "xid", w)?
        }
        (Scalar::Xid8, Binary) => {
            system_types::unsigned_from_binary(fixed::<8>(data, "xid8")?.as_slice(), "xid8", w)?
        }
        (Scalar::Xid, Text) => {
            system_types::unsigned_from_text(text_from_bytes(data, oid::XID)?, "xid", w)?
        }
        (Scalar::Xid8, Text) => {
            system_types::unsigned_from_text(text_from_bytes(data, oid::XID8)?, "xid8", w)?
        }
        (Scalar::Tid, Binary) => system_types::tid_from_binary(data, w)?,
        (Scalar::Tid, Text) => system_types::tid_from_text(text_from_bytes(data, oid::TID)?, w)?,
        (Scalar::Int2Vector, Binary) => system_types::int_vector_from_binary(data, oid::INT2, w)
            .map_err(|e| format!("int2vector: {e}"))?,
        (Scalar::OidVector, Binary) => system_types::int_vector_from_binary(data, oid::OID, w)
            .map_err(|e| format!("oidvector: {e}"))?,
        (Scalar::Int2Vector, Text) => system_types::int_vector_from_text(
            text_from_bytes(data, oid::INT2VECTOR)?,
            "int2vector",
            w,
        )?,
        (Scalar::OidVector, Text) => system_types::int_vector_from_text(
            text_from_bytes(data, oid::OIDVECTOR)?,
            "oidvector",
            w,
        )?,
    }
    Ok(())
}

fn decode_range(
    r: RangeOf,
    format: Format,
    options: ScalarOptions,
    data: &[u8],
    w: &mut PickleWriter,
) -> Result<(), String> {
    let bound =
        |item: &[u8], w: &mut PickleWriter| decode_with(r.subtype, format, options, item, w);
    match (r.multi, format) {
        (false, Format::Binary) => range::range_from_binary(data, w, &bound),
        (false, Format::Text) => range::range_from_text(data, w, &bound),
        (true, Format::Binary) => range::multirange_from_binary(data, w, &bound),
        (true, Format::Text) => range::multirange_from_text(data, w, &bound),
    }
}

fn size_error(type_name: &str, expected: usize, data: &[u8]) -> String {
    format!(
        "binary {type_name} value must be {expected} bytes, got {}",
        data.len()
    )
}

fn fixed<const N: usize>(data: &[u8], type_name: &str) -> Result<[u8; N], String> {
    data.try_into().map_err(|_| size_error(type_name, N, data))
}

// ---- codecs by PostgreSQL type

pub(crate) fn bool_from_binary(data: &[u8]) -> Result<bool, String> {
    match data {
        [b] => Ok(*b != 0),
        _ => Err(size_error("bool", 1, data)),
    }
}

pub(crate) fn bool_from_text(data: &[u8]) -> Result<bool, String> {
    match data {
        b"t" => Ok(true),
        b"f" => Ok(false),
        _ => Err(format!(
            "invalid bool text '{}'",
            String::from_utf8_lossy(data)
        )),
    }
}

pub(crate) fn int2_from_binary(data: &[u8]) -> Result<i16, String> {
    Ok(i16::from_be_bytes(fixed(data, "int2")?))
}

pub(crate) fn int4_from_binary(data: &[u8]) -> Result<i32, String> {
    Ok(i32::from_be_bytes(fixed(data, "int4")?))
}

pub(crate) fn int8_from_binary(data: &[u8]) -> Result<i64, String> {
    Ok(i64::from_be_bytes(fixed(data, "int8")?))
}

pub(crate) fn oid_from_binary(data: &[u8]) -> Result<u32, String> {
    Ok(u32::from_be_bytes(fixed(data, "oid")?))
}

pub(crate) fn int_from_text(data: &[u8], type_name: &str) -> Result<i64, String> {
    std::str::from_utf8(data)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| {
            format!(
                "invalid {type_name} text '{}'",
                String::from_utf8_lossy(data)
            )
        })
}

pub(crate) fn float4_from_binary(data: &[u8]) -> Result<f32, String> {
    Ok(f32::from_be_bytes(fixed(data, "float4")?))
}

pub(crate) fn float8_from_binary(data: &[u8]) -> Result<f64, String> {
    Ok(f64::from_be_bytes(fixed(data, "float8")?))
}

/// Parsed as f32 and then widened, so "1.1" gives the same float the binary form does.
pub(crate) fn float4_from_text(data: &[u8]) -> Result<f32, String> {
    std::str::from_utf8(data)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("invalid float4 text '{}'", String::from_utf8_lossy(data)))
}

pub(crate) fn float8_from_text(data: &[u8]) -> Result<f64, String> {
    std::str::from_utf8(data)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("invalid float8 text '{}'", String::from_utf8_lossy(data)))
}

/// Validates UTF-8 here: the unpickler would otherwise fail the whole result with a
/// `UnicodeDecodeError` that names no column.
pub(crate) fn text_from_bytes(data: &[u8], type_oid: u32) -> Result<&str, String> {
    std::str::from_utf8(data).map_err(|e| not_utf8(type_oid, e))
}

fn not_utf8(type_oid: u32, e: std::str::Utf8Error) -> String {
    format!("{} value is not valid UTF-8: {e}", oid::describe(type_oid))
}

/// `"char"` is one raw byte; rendered as `charout` prints it (`\ooo` for bytes >= 0x80,
/// nothing for 0) so both formats give the same str.
pub(crate) fn char_from_binary(data: &[u8]) -> Result<String, String> {
    match data {
        [] | [0] => Ok(String::new()),
        [b] if *b >= 0x80 => Ok(format!("\\{:03o}", b)),
        [b] => Ok((*b as char).to_string()),
        _ => Err(size_error("char", 1, data)),
    }
}

/// Both `bytea_output` styles: `\x` + hex, or escape (`\\` and `\ooo`).
pub(crate) fn bytea_from_text(data: &[u8]) -> Result<Vec<u8>, String> {
    let invalid = || {
        format!(
            "invalid bytea text '{}'",
            String::from_utf8_lossy(&data[..data.len().min(64)])
        )
    };
    if let Some(hex) = data.strip_prefix(b"\\x") {
        let digits: Vec<u8> = hex
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if !digits.len().is_multiple_of(2) {
            return Err(invalid());
        }
        return digits
            .chunks_exact(2)
            .map(|pair| {
                Ok((hex_value(pair[0]).ok_or_else(invalid)? << 4)
                    | hex_value(pair[1]).ok_or_else(invalid)?)
            })
            .collect();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] != b'\\' {
            out.push(data[i]);
            i += 1;
        } else if data.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let octal = data.get(i + 1..i + 4).ok_or_else(invalid)?;
            if !octal.iter().all(|b| (b'0'..=b'7').contains(b)) || octal[0] > b'3' {
                return Err(invalid());
            }
            out.push(octal.iter().fold(0u8, |acc, b| (acc << 3) | (b - b'0')));
            i += 4;
        }
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Canonical `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (the only form the server prints).
pub(crate) fn uuid_from_text(data: &[u8]) -> Result<[u8; 16], String> {
    let invalid = || format!("invalid uuid text '{}'", String::from_utf8_lossy(data));
    if data.len() != 36 || [8, 13, 18, 23].iter().any(|&i| data[i] != b'-') {
        return Err(invalid());
    }
    let digits: Vec<u8> = data.iter().copied().filter(|b| *b != b'-').collect();
    if digits.len() != 32 {
        return Err(invalid());
    }
    let mut out = [0u8; 16];
    for (dst, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *dst = (hex_value(pair[0]).ok_or_else(invalid)? << 4)
            | hex_value(pair[1]).ok_or_else(invalid)?;
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::numeric::tests::numeric_bytes;
    use crate::python_harness::{python_reprs, python_true};

    /// Decodes each `(oid, format, bytes)` into one list and returns the Python reprs.
    pub(crate) fn decode_all(cells: &[(u32, Format, Vec<u8>)]) -> Vec<String> {
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        for (type_oid, format, data) in cells {
            ColumnDecoder::new(*type_oid, *format, &DecodeOptions::default())
                .decode(Some(data), &mut w)
                .unwrap_or_else(|e| {
                    panic!(
                        "oid {type_oid} {format:?} {:?}: {e}",
                        String::from_utf8_lossy(data)
                    )
                });
        }
        w.appends();
        w.stop();
        python_reprs(w.as_bytes())
    }

    /// `(type, binary as hex, text, Python repr)` as a server sent them: both forms of each
    /// value must decode to that repr (one Python run for all of them).
    pub(crate) fn assert_both_formats_decode_to(cases: &[(u32, &str, &str, &str)]) {
        let cells: Vec<(u32, Format, Vec<u8>)> = cases
            .iter()
            .flat_map(|(type_oid, binary, text, _)| {
                [
                    (*type_oid, Format::Binary, crate::python_harness::unhex(binary)),
                    (*type_oid, Format::Text, text.as_bytes().to_vec()),
                ]
            })
            .collect();
        let got = decode_all(&cells);
        for (i, (_, _, text, want)) in cases.iter().enumerate() {
            assert_eq!([&got[2 * i], &got[2 * i + 1]], [want, want], "{text}");
        }
    }

    fn decode_err(type_oid: u32, format: Format, data: &[u8]) -> String {
        let mut w = PickleWriter::new();
        ColumnDecoder::new(type_oid, format, &DecodeOptions::default())
            .decode(Some(data), &mut w)
            .expect_err("decoding should fail")
            .message
    }

    fn be(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    const DAY_US: i64 = 86_400_000_000;

    /// Each case: type, binary form, text form as the server prints it, expected repr.
    fn both_format_cases() -> Vec<(u32, Vec<u8>, &'static str, &'static str)> {
        let hms = |h: i64, m: i64, s: i64, us: i64| ((h * 60 + m) * 60 + s) * 1_000_000 + us;
        let interval = |us: i64, days: i32, months: i32| {
            be(&[
                &us.to_be_bytes(),
                &days.to_be_bytes(),
                &months.to_be_bytes(),
            ])
        };
        let timetz = |us: i64, zone: i32| be(&[&us.to_be_bytes(), &zone.to_be_bytes()]);
        vec![
            (oid::BOOL, vec![1], "t", "True"),
            (oid::BOOL, vec![0], "f", "False"),
            (oid::INT2, (-32768i16).to_be_bytes().to_vec(), "-32768", "-32768"),
            (oid::INT4, i32::MAX.to_be_bytes().to_vec(), "2147483647", "2147483647"),
            (oid::INT8, i64::MIN.to_be_bytes().to_vec(), "-9223372036854775808", "-9223372036854775808"),
            (oid::INT8, i64::MAX.to_be_bytes().to_vec(), "9223372036854775807", "9223372036854775807"),
            (oid::OID, u32::MAX.to_be_bytes().to_vec(), "4294967295", "4294967295"),
            (oid::FLOAT4, 1.1f32.to_be_bytes().to_vec(), "1.1", "1.100000023841858"),
            (oid::FLOAT4, f32::NAN.to_be_bytes().to_vec(), "NaN", "nan"),
            (oid::FLOAT8, 0.1f64.to_be_bytes().to_vec(), "0.1", "0.1"),
            (oid::FLOAT8, 1e300f64.to_be_bytes().to_vec(), "1e+300", "1e+300"),
            (oid::FLOAT8, (-0.0f64).to_be_bytes().to_vec(), "-0", "-0.0"),
            (oid::FLOAT8, f64::INFINITY.to_be_bytes().to_vec(), "Infinity", "inf"),
            (oid::FLOAT8, f64::NEG_INFINITY.to_be_bytes().to_vec(), "-Infinity", "-inf"),
            (oid::FLOAT8, f64::NAN.to_be_bytes().to_vec(), "NaN", "nan"),
            (oid::NUMERIC, numeric_bytes(0, 0, 0, &[]), "0", "Decimal('0')"),
            (oid::NUMERIC, numeric_bytes(-2, 0, 5, &[1000]), "0.00001", "Decimal('0.00001')"),
            (oid::NUMERIC, numeric_bytes(0, 0, 3, &[1, 5000]), "1.500", "Decimal('1.500')"),
            (oid::NUMERIC, numeric_bytes(1, 0x4000, 2, &[1, 2345, 6700]), "-12345.67", "Decimal('-12345.67')"),
            (oid::NUMERIC, numeric_bytes(0, 0xC000, 0, &[]), "NaN", "Decimal('NaN')"),
            (oid::NUMERIC, numeric_bytes(0, 0xD000, 0, &[]), "Infinity", "Decimal('Infinity')"),
            (oid::NUMERIC, numeric_bytes(0, 0xF000, 0, &[]), "-Infinity", "Decimal('-Infinity')"),
            (oid::TEXT, "héllo 😀 \u{0}".as_bytes().to_vec(), "héllo 😀 \u{0}", "'héllo 😀 \\x00'"),
            (oid::VARCHAR, b"v".to_vec(), "v", "'v'"),
            (oid::BPCHAR, b"ab  ".to_vec(), "ab  ", "'ab  '"),
            (oid::NAME, b"pg_class".to_vec(), "pg_class", "'pg_class'"),
            (oid::UNKNOWN, b"?".to_vec(), "?", "'?'"),
            (oid::CHAR, b"a".to_vec(), "a", "'a'"),
            (oid::CHAR, vec![0xE9], "\\351", "'\\\\351'"),
            (oid::CHAR, vec![0], "", "''"),
            (oid::BYTEA, vec![0, 1, 0xff, b'\\', b'a'], "\\x0001ff5c61", "b'\\x00\\x01\\xff\\\\a'"),
            (oid::BYTEA, vec![0, 1, 0xff, b'\\', b'a'], "\\000\\001\\377\\\\a", "b'\\x00\\x01\\xff\\\\a'"),
            (oid::BYTEA, vec![], "\\x", "b''"),
            (oid::DATE, 8825i32.to_be_bytes().to_vec(), "2024-02-29", "datetime.date(2024, 2, 29)"),
            (oid::DATE, 0i32.to_be_bytes().to_vec(), "2000-01-01", "datetime.date(2000, 1, 1)"),
            (oid::DATE, (-730119i32).to_be_bytes().to_vec(), "0001-01-01", "datetime.date(1, 1, 1)"),
            (oid::DATE, i32::MAX.to_be_bytes().to_vec(), "infinity", "datetime.date(9999, 12, 31)"),
            (oid::DATE, i32::MIN.to_be_bytes().to_vec(), "-infinity", "datetime.date(1, 1, 1)"),
            (oid::TIME, hms(20, 17, 40, 500_000).to_be_bytes().to_vec(), "20:17:40.5", "datetime.time(20, 17, 40, 500000)"),
            (oid::TIME, 0i64.to_be_bytes().to_vec(), "00:00:00", "datetime.time(0, 0)"),
            (oid::TIME, (DAY_US - 1).to_be_bytes().to_vec(), "23:59:59.999999", "datetime.time(23, 59, 59, 999999)"),
            (
                oid::TIMETZ,
                timetz(hms(12, 34, 56, 789_000), -20700),
                "12:34:56.789+05:45",
                "datetime.time(12, 34, 56, 789000, tzinfo=datetime.timezone(datetime.timedelta(seconds=20700)))",
            ),
            (
                oid::TIMETZ,
                timetz(hms(1, 0, 0, 0), 34200),
                "01:00:00-09:30",
                "datetime.time(1, 0, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=52200)))",
            ),
            (
                oid::TIMETZ,
                timetz(hms(1, 0, 0, 0), -21208),
                "01:00:00+05:53:28",
                "datetime.time(1, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=21208)))",
            ),
            (oid::TIMETZ, timetz(0, 0), "00:00:00+00", "datetime.time(0, 0, tzinfo=datetime.timezone.utc)"),
            (
                oid::TIMESTAMP,
                (-DAY_US / 2).to_be_bytes().to_vec(),
                "1999-12-31 12:00:00",
                "datetime.datetime(1999, 12, 31, 12, 0)",
            ),
            (
                oid::TIMESTAMP,
                (-10957 * DAY_US + (-165 * DAY_US) + hms(20, 17, 40, 500_000)).to_be_bytes().to_vec(),
                "1969-07-20 20:17:40.5",
                "datetime.datetime(1969, 7, 20, 20, 17, 40, 500000)",
            ),
            (oid::TIMESTAMP, 0i64.to_be_bytes().to_vec(), "2000-01-01 00:00:00", "datetime.datetime(2000, 1, 1, 0, 0)"),
            (
                oid::TIMESTAMP,
                (-730119 * DAY_US).to_be_bytes().to_vec(),
                "0001-01-01 00:00:00",
                "datetime.datetime(1, 1, 1, 0, 0)",
            ),
            (
                oid::TIMESTAMP,
                i64::MAX.to_be_bytes().to_vec(),
                "infinity",
                "datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)",
            ),
            (oid::TIMESTAMP, i64::MIN.to_be_bytes().to_vec(), "-infinity", "datetime.datetime(1, 1, 1, 0, 0)"),
            (
                oid::TIMESTAMPTZ,
                (8766 * DAY_US + hms(6, 15, 0, 0)).to_be_bytes().to_vec(),
                "2024-01-01 12:00:00+05:45",
                "datetime.datetime(2024, 1, 1, 6, 15, tzinfo=datetime.timezone.utc)",
            ),
            (
                oid::TIMESTAMPTZ,
                (-11121 * DAY_US + hms(5, 47, 40, 500_000)).to_be_bytes().to_vec(),
                "1969-07-20 20:17:40.5-09:30",
                "datetime.datetime(1969, 7, 21, 5, 47, 40, 500000, tzinfo=datetime.timezone.utc)",
            ),
            (
                oid::TIMESTAMPTZ,
                (-36524 * DAY_US - hms(5, 53, 28, 0)).to_be_bytes().to_vec(),
                "1900-01-01 00:00:00+05:53:28",
                "datetime.datetime(1899, 12, 31, 18, 6, 32, tzinfo=datetime.timezone.utc)",
            ),
            (
                oid::TIMESTAMPTZ,
                i64::MAX.to_be_bytes().to_vec(),
                "infinity",
                "datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc)",
            ),
            (
                oid::TIMESTAMPTZ,
                i64::MIN.to_be_bytes().to_vec(),
                "-infinity",
                "datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)",
            ),
            (
                oid::INTERVAL,
                interval(hms(4, 5, 6, 789_000), 3, 14),
                "1 year 2 mons 3 days 04:05:06.789",
                "datetime.timedelta(days=428, seconds=14706, microseconds=789000)",
            ),
            (
                oid::INTERVAL,
                interval(-hms(4, 5, 6, 789_000), 3, -14),
                "-1 years -2 mons +3 days -04:05:06.789",
                "datetime.timedelta(days=-423, seconds=71693, microseconds=211000)",
            ),
            (oid::INTERVAL, interval(0, 0, 0), "00:00:00", "datetime.timedelta(0)"),
            (oid::INTERVAL, interval(-1, 0, 0), "-00:00:00.000001", "datetime.timedelta(days=-1, seconds=86399, microseconds=999999)"),
            (oid::INTERVAL, interval(0, 1, 0), "1 day", "datetime.timedelta(days=1)"),
            (oid::INTERVAL, interval(hms(100, 0, 0, 0), 0, 0), "100:00:00", "datetime.timedelta(days=4, seconds=14400)"),
            (
                oid::UUID,
                vec![0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
                "12345678-9abc-def0-1234-56789abcdef0",
                "UUID('12345678-9abc-def0-1234-56789abcdef0')",
            ),
            (oid::JSON, br#"{"a": [1, 2.5, null, "x"]}"#.to_vec(), r#"{"a": [1, 2.5, null, "x"]}"#, "{'a': [1, 2.5, None, 'x']}"),
            (oid::JSONB, b"\x01{\"b\": true}".to_vec(), r#"{"b": true}"#, "{'b': True}"),
        ]
    }

    #[test]
    fn binary_and_text_forms_give_the_same_python_value() {
        let cases = both_format_cases();
        let mut cells = Vec::new();
        for (type_oid, binary, text, _) in &cases {
            cells.push((*type_oid, Format::Binary, binary.clone()));
            cells.push((*type_oid, Format::Text, text.as_bytes().to_vec()));
        }
        let reprs = decode_all(&cells);
        for (i, (type_oid, _, text, expected)) in cases.iter().enumerate() {
            assert_eq!(&reprs[2 * i], expected, "binary {type_oid} {text}");
            assert_eq!(&reprs[2 * i + 1], expected, "text {type_oid} {text}");
        }
    }

    #[test]
    fn numeric_extremes_keep_every_digit() {
        let tiny = format!("0.{}1", "0".repeat(999));
        let huge = format!("1{}", "0".repeat(1000));
        let cells = vec![
            (
                oid::NUMERIC,
                Format::Binary,
                numeric_bytes(-250, 0, 1000, &[1]),
            ),
            (oid::NUMERIC, Format::Text, tiny.clone().into_bytes()),
            (oid::NUMERIC, Format::Binary, numeric_bytes(250, 0, 0, &[1])),
            (oid::NUMERIC, Format::Text, huge.clone().into_bytes()),
        ];
        let reprs = decode_all(&cells);
        // Python's repr switches to exponent notation; the exponent is still -1000.
        assert_eq!(reprs[0], "Decimal('1E-1000')");
        assert_eq!(reprs[1], reprs[0]);
        assert_eq!(reprs[2], format!("Decimal('{huge}')"));
        assert_eq!(reprs[3], reprs[2]);
    }

    #[test]
    fn null_and_unknown_types() {
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        let d = ColumnDecoder::new(oid::INT4, Format::Binary, &DecodeOptions::default());
        d.decode(None, &mut w).unwrap();
        let point = ColumnDecoder::new(600, Format::Text, &DecodeOptions::default());
        point.decode(Some(b"(1,2)"), &mut w).unwrap();
        w.appends();
        w.stop();
        assert_eq!(python_reprs(w.as_bytes()), ["None", "'(1,2)'"]);
        assert_eq!(result_format_for(600), Format::Text);
        assert_eq!(result_format_for(oid::INT4), Format::Binary);
        assert_eq!(result_format_for(oid::INT4_ARRAY), Format::Binary);
        assert_eq!(result_format_for(1017), Format::Text); // point[]
        assert!(decode_err(600, Format::Binary, b"x").contains("no binary decoder for point"));
        assert!(decode_err(70000, Format::Binary, b"x").contains("OID 70000"));
    }

    #[test]
    fn out_of_range_values_are_errors_naming_type_and_value() {
        let days_10000 = temporal::days_from_civil(10000, 1, 1) as i32;
        for (type_oid, format, data, needle) in [
            (oid::DATE, Format::Binary, days_10000.to_be_bytes().to_vec(), "date 10000-01-01 is outside Python's date range"),
            (oid::DATE, Format::Text, b"10000-01-01".to_vec(), "date 10000-01-01 is outside Python's date range"),
            (oid::DATE, Format::Binary, (-730120i32).to_be_bytes().to_vec(), "date 0001-12-31 BC is outside"),
            (oid::DATE, Format::Text, b"0044-03-15 BC".to_vec(), "date 0044-03-15 BC is outside"),
            (oid::TIME, Format::Binary, DAY_US.to_be_bytes().to_vec(), "time 24:00:00 is outside Python's time range"),
            (oid::TIME, Format::Text, b"24:00:00".to_vec(), "time 24:00:00 is outside Python's time range"),
            (oid::TIMESTAMP, Format::Text, b"10000-01-01 00:00:00".to_vec(), "timestamp 10000-01-01 00:00:00 is outside"),
            (
                oid::TIMESTAMP,
                Format::Binary,
                (days_10000 as i64 * DAY_US).to_be_bytes().to_vec(),
                "timestamp 10000-01-01 00:00:00 is outside",
            ),
            (oid::TIMESTAMPTZ, Format::Text, b"0001-01-01 00:30:00+01".to_vec(), "timestamptz 0001-01-01 00:30:00+01 is outside"),
            (oid::TIMESTAMPTZ, Format::Text, b"2000-01-01 00:00:00+00 BC".to_vec(), "outside"),
            (
                oid::INTERVAL,
                Format::Binary,
                be(&[&0i64.to_be_bytes(), &0i32.to_be_bytes(), &i32::MAX.to_be_bytes()]),
                "interval of 2147483647 months 0 days 0 microseconds is outside Python's timedelta range",
            ),
            (oid::INTERVAL, Format::Text, b"178956970 years 7 mons".to_vec(), "interval 178956970 years 7 mons is outside"),
            (oid::INTERVAL, Format::Text, b"@ 1 hour".to_vec(), "IntervalStyle"),
            (oid::INT4, Format::Binary, vec![0, 0, 1], "int4 value must be 4 bytes"),
            (oid::INT4, Format::Text, b"12x".to_vec(), "invalid int4 text"),
            (oid::TEXT, Format::Binary, vec![0xff], "not valid UTF-8"),
            (oid::UUID, Format::Text, b"not-a-uuid".to_vec(), "invalid uuid"),
            (oid::BYTEA, Format::Text, b"\\x0".to_vec(), "invalid bytea"),
            (oid::BYTEA, Format::Text, b"\\9".to_vec(), "invalid bytea"),
            (oid::JSONB, Format::Binary, b"\x02{}".to_vec(), "jsonb"),
            (oid::NUMERIC, Format::Binary, vec![0; 3], "numeric"),
            (oid::TIMETZ, Format::Binary, vec![0; 8], "timetz value must be 12 bytes"),
            (oid::BOOL, Format::Text, b"x".to_vec(), "invalid bool"),
        ] {
            let message = decode_err(type_oid, format, &data);
            assert!(message.contains(needle), "{type_oid} {format:?}: {message}");
        }
        // A value just inside the range after the offset is applied.
        assert_eq!(
            decode_all(&[(
                oid::TIMESTAMPTZ,
                Format::Text,
                b"10000-01-01 00:30:00+01".to_vec()
            )]),
            ["datetime.datetime(9999, 12, 31, 23, 30, tzinfo=datetime.timezone.utc)"]
        );
    }

    fn binary_array(element_oid: u32, dims: &[i32], elements: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(dims.len() as i32).to_be_bytes());
        v.extend_from_slice(&(elements.iter().any(Option::is_none) as i32).to_be_bytes());
        v.extend_from_slice(&element_oid.to_be_bytes());
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
            v.extend_from_slice(&1i32.to_be_bytes());
        }
        for e in elements {
            match e {
                None => v.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(b) => {
                    v.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    v.extend_from_slice(b);
                }
            }
        }
        v
    }

    #[test]
    fn arrays_in_both_formats() {
        let int4 = |v: i32| Some(v.to_be_bytes().to_vec());
        let text = |s: &str| Some(s.as_bytes().to_vec());
        let cells = vec![
            (
                oid::INT4_ARRAY,
                Format::Binary,
                binary_array(oid::INT4, &[2, 2], &[int4(1), int4(2), int4(3), None]),
            ),
            (oid::INT4_ARRAY, Format::Text, b"{{1,2},{3,NULL}}".to_vec()),
            (
                oid::INT4_ARRAY,
                Format::Binary,
                binary_array(oid::INT4, &[], &[]),
            ),
            (oid::INT4_ARRAY, Format::Text, b"{}".to_vec()),
            (oid::INT4_ARRAY, Format::Text, b"[0:1]={7,8}".to_vec()),
            (
                oid::TEXT_ARRAY,
                Format::Binary,
                binary_array(
                    oid::TEXT,
                    &[5],
                    &[text("a b"), text("c\"d\\"), None, text("NULL"), text("")],
                ),
            ),
            (
                oid::TEXT_ARRAY,
                Format::Text,
                br#"{"a b","c\"d\\",NULL,"NULL",""}"#.to_vec(),
            ),
            (
                oid::DATE_ARRAY,
                Format::Binary,
                binary_array(oid::DATE, &[1], &[Some(8825i32.to_be_bytes().to_vec())]),
            ),
            (oid::DATE_ARRAY, Format::Text, b"{2024-02-29}".to_vec()),
            (oid::BYTEA_ARRAY, Format::Text, br#"{"\\x00ff"}"#.to_vec()),
            (
                oid::JSONB_ARRAY,
                Format::Text,
                br#"{"{\"a\": 1}",null}"#.to_vec(),
            ),
            (
                oid::NUMERIC_ARRAY,
                Format::Binary,
                binary_array(
                    oid::NUMERIC,
                    &[1, 1, 2],
                    &[Some(numeric_bytes(0, 0, 1, &[1, 5000])), None],
                ),
            ),
            (oid::NUMERIC_ARRAY, Format::Text, b"{{{1.5,NULL}}}".to_vec()),
        ];
        assert_eq!(
            decode_all(&cells),
            [
                "[[1, 2], [3, None]]",
                "[[1, 2], [3, None]]",
                "[]",
                "[]",
                "[7, 8]",
                "['a b', 'c\"d\\\\', None, 'NULL', '']",
                "['a b', 'c\"d\\\\', None, 'NULL', '']",
                "[datetime.date(2024, 2, 29)]",
                "[datetime.date(2024, 2, 29)]",
                "[b'\\x00\\xff']",
                "[{'a': 1}, None]",
                "[[[Decimal('1.5'), None]]]",
                "[[[Decimal('1.5'), None]]]",
            ]
        );
    }

    /// Arrays of element types without a binary decoder come as text (as PostgreSQL 18
    /// prints them) and become lists of the elements' text.
    #[test]
    fn text_only_element_arrays_are_lists_of_str() {
        let cells: Vec<(u32, Format, Vec<u8>)> = [
            (1017, &br#"{"(1,2)",NULL,"(3.5,-4)"}"#[..]),
            (1020, b"{(1,1),(0,0);(2,2),(1,1)}"),
            (1020, b"{{(1,1),(0,0)};{NULL}}"),
            (3643, br#"{"'a' 'cat'",""}"#),
            (3221, b"[0:1]={0/16,16/B374D848}"),
            (2287, br#"{"(1,x)","(2,\"y z\")"}"#),
            (1017, b"{}"),
        ]
        .iter()
        .map(|(t, v)| (*t, Format::Text, v.to_vec()))
        .collect();
        assert_eq!(
            decode_all(&cells),
            [
                "['(1,2)', None, '(3.5,-4)']",
                "['(1,1),(0,0)', '(2,2),(1,1)']",
                "[['(1,1),(0,0)'], [None]]",
                "[\"'a' 'cat'\", '']",
                "['0/16', '16/B374D848']",
                "[('1', 'x'), ('2', 'y z')]",
                "[]",
            ]
        );
        assert_eq!(result_format_for(1017), Format::Text);
        assert_eq!(result_format_for(1041), Format::Binary); // inet[]
        assert!(decode_err(1017, Format::Binary, b"x").contains("no binary decoder for point[]"));
        decode_err(1020, Format::Text, b"{(1,1),(0,0),(2,2),(1,1)}x");
        decode_err(1017, Format::Text, b"{\"(1,2)\"");
    }

    #[test]
    fn every_builtin_array_is_a_list() {
        let arrays: Vec<u32> = crate::builtin_types::BUILTIN_TYPES
            .iter()
            .filter(|t| t.element != 0)
            .map(|t| t.oid)
            .collect();
        assert!(arrays.len() > 80);
        let mut cells = Vec::new();
        for &array in &arrays {
            cells.push((array, Format::Text, b"{}".to_vec()));
            cells.push((array, Format::Text, b"{NULL}".to_vec()));
            if result_format_for(array) == Format::Binary {
                let element = oid::array_element(array).unwrap();
                cells.push((array, Format::Binary, binary_array(element, &[1], &[None])));
            }
        }
        let reprs = decode_all(&cells);
        assert!(
            reprs.iter().all(|r| r == "[]" || r == "[None]"),
            "{reprs:?}"
        );
    }

    #[test]
    fn lower_bounds_are_dropped_in_both_formats() {
        let int4 = |v: i32| Some(v.to_be_bytes().to_vec());
        let mut bounded = binary_array(oid::INT4, &[3], &[int4(1), int4(2), int4(3)]);
        bounded[16..20].copy_from_slice(&0i32.to_be_bytes());
        let cells = vec![
            (oid::INT4_ARRAY, Format::Binary, bounded),
            (oid::INT4_ARRAY, Format::Text, b"[0:2]={1,2,3}".to_vec()),
            (
                oid::INT4_ARRAY,
                Format::Text,
                b"[-5:-4][3:3]={{1},{2}}".to_vec(),
            ),
        ];
        assert_eq!(decode_all(&cells), ["[1, 2, 3]", "[1, 2, 3]", "[[1], [2]]"]);
    }

    #[test]
    fn malformed_arrays_are_errors() {
        let int4 = |v: i32| Some(v.to_be_bytes().to_vec());
        let good = binary_array(oid::INT4, &[2], &[int4(1), int4(2)]);
        for cut in 0..good.len() {
            decode_err(oid::INT4_ARRAY, Format::Binary, &good[..cut]);
        }
        decode_err(
            oid::INT4_ARRAY,
            Format::Binary,
            &binary_array(oid::TEXT, &[1], &[int4(1)]),
        );
        decode_err(
            oid::INT4_ARRAY,
            Format::Binary,
            &binary_array(oid::INT4, &[1 << 30, 1 << 30], &[int4(1)]),
        );
        decode_err(
            oid::INT4_ARRAY,
            Format::Binary,
            &binary_array(oid::INT4, &[1, 1, 1, 1, 1, 1, 1], &[int4(1)]),
        );
        decode_err(
            oid::INT4_ARRAY,
            Format::Binary,
            &[good.clone(), vec![0]].concat(),
        );
        for bad in [
            "",
            "{",
            "{1",
            "{1,}",
            "{{1}",
            "{\"1}",
            "1",
            "{1}x",
            "{{{{{{{1}}}}}}}",
            "{a}",
        ] {
            decode_err(oid::INT4_ARRAY, Format::Text, bad.as_bytes());
        }
    }

    #[test]
    fn uuid_objects_are_real_uuids() {
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        let d = ColumnDecoder::new(oid::UUID, Format::Binary, &DecodeOptions::default());
        for i in 0..300u32 {
            let mut b = [0u8; 16];
            b[12..].copy_from_slice(&i.to_be_bytes());
            d.decode(Some(&b), &mut w).unwrap();
        }
        w.appends();
        w.stop();
        assert!(python_true(
            w.as_bytes(),
            "[x.int for x in v] == list(range(300)) and all(type(x) is uuid.UUID and x.is_safe is uuid.SafeUUID.unknown for x in v)"
        ));
    }
}

#[cfg(test)]
mod injection_tests {
    use super::*;
    use crate::python_harness::run_python;

    /// Server bytes full of pickle opcodes must come back as the same data, never as
    /// instructions: each value is checked against an independent hex copy.
    #[test]
    fn server_bytes_never_become_opcodes() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let opts = DecodeOptions::default();
        let bytea_bin = ColumnDecoder::new(oid::BYTEA, Format::Binary, &opts);
        let bytea_text = ColumnDecoder::new(oid::BYTEA, Format::Text, &opts);
        let text = ColumnDecoder::new(oid::TEXT, Format::Binary, &opts);
        let json = ColumnDecoder::new(oid::JSONB, Format::Text, &opts);
        let mut w = PickleWriter::new();
        let mut expected = String::new();
        w.empty_list();
        w.mark();
        for _ in 0..2000 {
            let len = [0, 1, 2, 255, 256, 300][(next() % 6) as usize].min((next() % 400) as usize);
            let raw: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            bytea_bin.decode(Some(&raw), &mut w).unwrap();
            bytea_text
                .decode(Some(format!("\\x{hex}").as_bytes()), &mut w)
                .unwrap();
            let s = String::from_utf8_lossy(&raw).replace('\0', "");
            text.decode(Some(s.as_bytes()), &mut w).unwrap();
            let json_doc: String = std::iter::once('"')
                .chain(s.chars().flat_map(|c| match c {
                    '"' | '\\' => vec!['\\', c],
                    c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32).chars().collect(),
                    c => vec![c],
                }))
                .chain(std::iter::once('"'))
                .collect();
            json.decode(Some(json_doc.as_bytes()), &mut w).unwrap();
            let text_hex: String = s.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            expected.push_str(&format!("{hex} {text_hex}\n"));
        }
        w.appends();
        w.stop();
        let mut input = (w.len() as u32).to_le_bytes().to_vec();
        input.extend_from_slice(w.as_bytes());
        input.extend_from_slice(expected.as_bytes());
        let out = run_python(
            "data = sys.stdin.buffer.read(); n = int.from_bytes(data[:4], 'little')\n\
             values = pickle.loads(data[4:4 + n])\n\
             rows = data[4 + n:].decode().splitlines()\n\
             ok = len(values) == 4 * len(rows)\n\
             for i, row in enumerate(rows):\n\
             \x20   raw, text = (bytes.fromhex(x) for x in (row.split(' ') + [''])[:2])\n\
             \x20   got = values[4 * i:4 * i + 4]\n\
             \x20   ok = ok and got == [raw, raw, text.decode(), text.decode()]\n\
             print(ok)",
            &input,
        );
        assert_eq!(String::from_utf8_lossy(&out).trim(), "True");
    }
}

#[cfg(test)]
mod speed {
    use super::*;
    use crate::numeric::tests::numeric_bytes;

    /// `cargo test --release -p pyro-codecs decode_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn decode_speed() {
        let opts = DecodeOptions::default();
        let columns = [
            ColumnDecoder::new(oid::INT4, Format::Binary, &opts),
            ColumnDecoder::new(oid::TEXT, Format::Binary, &opts),
            ColumnDecoder::new(oid::NUMERIC, Format::Binary, &opts),
            ColumnDecoder::new(oid::FLOAT8, Format::Binary, &opts),
            ColumnDecoder::new(oid::TIMESTAMPTZ, Format::Binary, &opts),
        ];
        let rows: Vec<[Vec<u8>; 5]> = (0..100_000i32)
            .map(|i| {
                [
                    i.to_be_bytes().to_vec(),
                    format!("user_{i}").into_bytes(),
                    numeric_bytes(1, 0, 1, &[(i / 10000) as i16, (i % 10000) as i16, 5000]),
                    (i as f64 * 1.5).to_be_bytes().to_vec(),
                    (i as i64 * 1_000_000_007).to_be_bytes().to_vec(),
                ]
            })
            .collect();
        let mut w = PickleWriter::new();
        for _ in 0..3 {
            let start = std::time::Instant::now();
            w.reset();
            w.empty_list();
            w.mark();
            for row in &rows {
                w.begin_tuple(5);
                for (d, v) in columns.iter().zip(row.iter()) {
                    d.decode(Some(v), &mut w).unwrap();
                }
                w.end_tuple(5);
            }
            w.appends();
            w.stop();
            let elapsed = start.elapsed();
            println!("100000 rows x 5 columns: {elapsed:?} ({} bytes)", w.len());
        }
        for (c, d) in columns.iter().enumerate() {
            let start = std::time::Instant::now();
            w.reset();
            for row in &rows {
                d.decode(Some(&row[c]), &mut w).unwrap();
            }
            println!(
                "column {c}: {:?} per value",
                start.elapsed() / rows.len() as u32
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod option_tests {
    use super::*;
    use crate::python_harness::run_python;

    /// Reprs of the values decoded with `opts`; the connection's callables are
    /// `reg.callable(connection, key)`, which here returns a function that tags its
    /// arguments with the connection and key.
    pub(crate) fn decode_with_options(
        opts: &DecodeOptions,
        cells: &[(u32, Format, &[u8])],
    ) -> Vec<String> {
        let mut w = PickleWriter::new();
        w.set_python_callables("reg", "callable", 7);
        w.empty_list();
        w.mark();
        for (type_oid, format, data) in cells {
            ColumnDecoder::new(*type_oid, *format, opts)
                .decode(Some(data), &mut w)
                .unwrap_or_else(|e| panic!("oid {type_oid} {format:?}: {e}"));
        }
        w.appends();
        w.stop();
        let out = run_python(
            "import types\n\
             reg = types.ModuleType('reg')\n\
             reg.callable = lambda conn, key: (lambda *a: ('called', conn, key) + a)\n\
             sys.modules['reg'] = reg\n\
             v = pickle.loads(sys.stdin.buffer.read())\n\
             sys.stdout.write(''.join(repr(x) + '\\n' for x in v))",
            w.as_bytes(),
        );
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn json_as_str_and_loads_in_both_formats() {
        let cells: Vec<(u32, Format, &[u8])> = vec![
            (oid::JSON, Format::Text, b"[1,  2]"),
            (oid::JSON, Format::Binary, b"[1,  2]"),
            (oid::JSONB, Format::Text, br#"{"a": 1}"#),
            (oid::JSONB, Format::Binary, b"\x01{\"a\": 1}"),
            (oid::JSONB_ARRAY, Format::Text, br#"{"{\"a\": 1}",NULL}"#),
        ];
        let str_opts = DecodeOptions {
            json: JsonMode::Str,
            ..Default::default()
        };
        assert_eq!(
            decode_with_options(&str_opts, &cells),
            [
                "'[1,  2]'",
                "'[1,  2]'",
                "'{\"a\": 1}'",
                "'{\"a\": 1}'",
                "['{\"a\": 1}', None]"
            ]
        );
        let loads = DecodeOptions {
            json: JsonMode::Loads,
            ..Default::default()
        };
        assert_eq!(
            decode_with_options(&loads, &cells),
            [
                "('called', 7, 114, '[1,  2]')",
                "('called', 7, 114, '[1,  2]')",
                "('called', 7, 3802, '{\"a\": 1}')",
                "('called', 7, 3802, '{\"a\": 1}')",
                "[('called', 7, 3802, '{\"a\": 1}'), None]",
            ]
        );
        assert!(!ColumnDecoder::new(oid::JSONB, Format::Binary, &loads).is_marshal_native());
        assert!(ColumnDecoder::new(oid::JSONB, Format::Binary, &str_opts).is_marshal_native());
        let mut w = PickleWriter::new();
        let bad = ColumnDecoder::new(oid::JSONB, Format::Binary, &str_opts)
            .decode(Some(b"\x02{}"), &mut w);
        assert!(bad.unwrap_err().message.contains("jsonb"));
    }

    #[test]
    fn temporal_values_outside_python_as_text() {
        let opts = DecodeOptions {
            temporal_as_str: true,
            ..Default::default()
        };
        let days = |y, m, d| temporal::days_from_civil(y, m, d) as i32;
        let usecs = |y, m, d, us: i64| days(y, m, d) as i64 * 86_400_000_000 + us;
        let date_bc = days(-43, 3, 15).to_be_bytes();
        let date_10k = days(10000, 1, 1).to_be_bytes();
        let date_ok = days(2024, 2, 29).to_be_bytes();
        let ts_bc = usecs(-43, 3, 15, 43_200_500_000).to_be_bytes();
        let tstz_bc = usecs(0, 12, 31, 84_600_000_000).to_be_bytes();
        let ts_big = usecs(12345, 6, 7, 3_723_000_000).to_be_bytes();
        let (date_max, date_min, ts_max) = (
            i32::MAX.to_be_bytes(),
            i32::MIN.to_be_bytes(),
            i64::MAX.to_be_bytes(),
        );
        let cells: Vec<(u32, Format, &[u8])> = vec![
            (oid::DATE, Format::Binary, &date_max),
            (oid::DATE, Format::Text, b"infinity"),
            (oid::DATE, Format::Binary, &date_min),
            (oid::DATE, Format::Text, b"-infinity"),
            (oid::DATE, Format::Binary, &date_bc),
            (oid::DATE, Format::Text, b"0044-03-15 BC"),
            (oid::DATE, Format::Binary, &date_10k),
            (oid::DATE, Format::Text, b"10000-01-01"),
            (oid::DATE, Format::Binary, &date_ok),
            (oid::DATE, Format::Text, b"2024-02-29"),
            (oid::TIMESTAMP, Format::Binary, &ts_max),
            (oid::TIMESTAMPTZ, Format::Text, b"-infinity"),
            (oid::TIMESTAMP, Format::Binary, &ts_bc),
            (oid::TIMESTAMP, Format::Text, b"0044-03-15 12:00:00.5 BC"),
            (oid::TIMESTAMPTZ, Format::Binary, &tstz_bc),
            (oid::TIMESTAMPTZ, Format::Text, b"0001-01-01 00:30:00+01"),
            (oid::TIMESTAMP, Format::Binary, &ts_big),
            (oid::TIMESTAMP, Format::Text, b"12345-06-07 01:02:03"),
            (oid::TIMESTAMPTZ, Format::Text, b"10000-01-01 00:30:00+01"),
            (oid::DATE_ARRAY, Format::Text, b"{infinity,2000-01-01,NULL}"),
        ];
        assert_eq!(
            decode_with_options(&opts, &cells),
            [
                "'infinity'",
                "'infinity'",
                "'-infinity'",
                "'-infinity'",
                "'0044-03-15 BC'",
                "'0044-03-15 BC'",
                "'10000-01-01'",
                "'10000-01-01'",
                "datetime.date(2024, 2, 29)",
                "datetime.date(2024, 2, 29)",
                "'infinity'",
                "'-infinity'",
                "'0044-03-15 12:00:00.5 BC'",
                "'0044-03-15 12:00:00.5 BC'",
                "'0001-12-31 23:30:00+00 BC'",
                "'0001-12-31 23:30:00+00 BC'",
                "'12345-06-07 01:02:03'",
                "'12345-06-07 01:02:03'",
                "datetime.datetime(9999, 12, 31, 23, 30, tzinfo=datetime.timezone.utc)",
                "['infinity', datetime.date(2000, 1, 1), None]",
            ]
        );
        // Malformed text still fails, naming the value.
        let mut w = PickleWriter::new();
        let bad =
            ColumnDecoder::new(oid::DATE, Format::Text, &opts).decode(Some(b"20x4-01-01"), &mut w);
        assert!(bad.unwrap_err().message.contains("20x4"));
    }
}
