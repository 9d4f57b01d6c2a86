//! Parameters to wire values, chosen by the parameter type the *server* reported.
//!
//! Each Python value is encoded for the type PostgreSQL inferred for its placeholder: an
//! `int` bound to `numeric` becomes a binary numeric, a `str` bound to `date` is sent as
//! text for the server to parse, and so on. Binary is used where we produce the exact
//! value; text where the server's own parser is the authority (strings for non-text
//! types, naive datetimes for `timestamptz`, types this crate does not know).
//!
//! Rules that are policy rather than mechanics:
//! * A `str` bound to `json`/`jsonb` is the JSON document itself (`'{"a": 1}'` is an
//!   object), sent as text and validated by the server; every other value (dict, list,
//!   int, bool, …) is serialised as `json.dumps` would. To send a JSON string value,
//!   serialise it yourself or use the Json wrapper.
//! * A naive `datetime`/`time` bound to `timestamptz`/`timetz` is sent as ISO text, so the
//!   server applies the session `TimeZone` exactly as it does for an SQL literal; an aware
//!   one is converted to the same instant in UTC.
//! * An aware `datetime` bound to `timestamp` keeps its wall-clock time and drops the
//!   offset, as PostgreSQL does for the literal `'2024-01-01 12:00+05'::timestamp`; an
//!   aware `time` bound to `time` likewise.
//! * Types this crate does not know (extensions, enums, domains) get text: the value's
//!   text form for scalars, an array literal for lists. That text is PostgreSQL's input
//!   syntax for the matching built-in (`true`/`false`, `\x..` hex for bytes, JSON for a
//!   dict, ISO dates and times), so the server's input function of a domain's base
//!   type parses it.
//! * `money` takes `Decimal`/`int`/`float` as binary cents (two fraction digits, see
//!   `money.rs`); a `str` goes as text to the server's locale-aware parser.
//! * A `Range` is encoded for a range parameter with the subtype's encoders, in binary
//!   unless a bound needs the server's parser (a `str` bound, a naive `datetime` for
//!   `tstzrange`), when the whole range goes as a text literal; a list of `Range` is a
//!   multirange. A `Range` bound to a type this crate does not know goes as a range
//!   literal (user-defined range types); to any other known type it is an error.

use std::fmt;

use crate::json::json_from_param;
use crate::marshal::{ParamValue, Scalar, Tag};
use crate::money;
use crate::numeric::{
    decimal_to_integer, digits15_to_decimal, numeric_to_binary, parse_decimal, ParsedDecimal,
};
use crate::oid;
use crate::range::{EMPTY, LB_INC, LB_INF, UB_INC, UB_INF};
use crate::system_types;
use crate::temporal;
use crate::textrepr::{postgres_float_text, python_float_repr};
use crate::Format;

/// What [`encode_param`] appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoded {
    /// SQL NULL: nothing was appended; send length -1.
    Null,
    /// The value's bytes were appended, in this format.
    Value(Format),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    pub message: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EncodeError {}

/// Appends the wire bytes of `v` for a parameter of type `type_oid` (no length prefix).
/// On error nothing is left appended.
#[inline]
pub fn encode_param(
    v: &ParamValue,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, EncodeError> {
    match encode_common(v, type_oid, out) {
        Some(done) => Ok(done),
        None => encode_param_any(v, type_oid, out),
    }
}

/// The pairings most parameters are, written without the general dispatch.
#[inline]
fn encode_common(v: &ParamValue, type_oid: u32, out: &mut Vec<u8>) -> Option<Encoded> {
    let scalar = match *v {
        ParamValue::None => Scalar::None,
        ParamValue::Bool(b) => Scalar::Bool(b),
        ParamValue::Int(i) => Scalar::Int(i),
        ParamValue::Float(f) => Scalar::Float(f),
        ParamValue::Str(s) => Scalar::Str(s),
        ParamValue::Bytes(b) => Scalar::Bytes(b),
        _ => return None,
    };
    encode_scalar(scalar, type_oid, out)
}

/// [`encode_param`] of a scalar, for the pairings most parameters are (None to anything;
/// str to a text type; int, float, bool, bytes to their own types), written without the
/// general dispatch. Each gives exactly what [`encode_param`] gives; `None`, with nothing
/// appended, leaves everything else, and every error, to it.
#[inline(always)]
pub fn encode_scalar(v: Scalar, type_oid: u32, out: &mut Vec<u8>) -> Option<Encoded> {
    match (v, type_oid) {
        (Scalar::None, _) => return Some(Encoded::Null),
        (Scalar::Str(s), oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN) => {
            out.extend_from_slice(s.as_bytes())
        }
        (Scalar::Int(i), oid::INT8) => int8_to_binary(i, out),
        (Scalar::Int(i), oid::INT4) => int4_to_binary(i32::try_from(i).ok()?, out),
        (Scalar::Int(i), oid::INT2) => int2_to_binary(i16::try_from(i).ok()?, out),
        (Scalar::Float(f), oid::FLOAT8) => float8_to_binary(f, out),
        (Scalar::Bool(b), oid::BOOL) => out.push(b as u8),
        (Scalar::Bytes(b), oid::BYTEA) => out.extend_from_slice(b),
        _ => return None,
    }
    Some(Encoded::Value(Format::Binary))
}

#[inline(never)]
fn encode_param_any(
    v: &ParamValue,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, EncodeError> {
    let start = out.len();
    let result = encode(v, type_oid, out);
    if result.is_err() {
        out.truncate(start);
    }
    result.map_err(|message| EncodeError { message })
}

/// Text form of a value for a parameter whose type the server will infer (sent with
/// type 0, in text format). Returns false for NULL. Used where no parameter types are
/// known yet (an unprepared statement in a pipeline).
pub fn encode_param_text(v: &ParamValue, out: &mut Vec<u8>) -> Result<bool, EncodeError> {
    let start = out.len();
    let result = match v {
        ParamValue::None => return Ok(false),
        ParamValue::Bool(b) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" });
            Ok(Encoded::Value(Format::Text))
        }
        ParamValue::Bytes(b) => {
            out.extend_from_slice(b"\\x");
            for byte in b.iter() {
                out.extend_from_slice(format!("{byte:02x}").as_bytes());
            }
            Ok(Encoded::Value(Format::Text))
        }
        // json's binary form is its text.
        ParamValue::Dict(_) | ParamValue::Tagged(Tag::Json, _) => {
            encode(v, oid::JSON, out).map(|e| if let Encoded::Value(_) = e { Encoded::Value(Format::Text) } else { e })
        }
        // Without a type, a list of Range is taken for a multirange (its Python form) rather
        // than an array of ranges: the two literals differ and only one can be sent.
        ParamValue::List(items) if !items.is_empty() && items.iter().all(is_range) => {
            multirange_literal(items, out).map(|_| Encoded::Value(Format::Text))
        }
        _ => encode(v, 0, out),
    };
    match result {
        Ok(Encoded::Value(Format::Text)) => Ok(true),
        Ok(Encoded::Null) => {
            out.truncate(start);
            Ok(false)
        }
        Ok(Encoded::Value(Format::Binary)) => {
            out.truncate(start);
            Err(EncodeError { message: format!("a {} has no text form here", v.python_type_name()) })
        }
        Err(message) => {
            out.truncate(start);
            Err(EncodeError { message })
        }
    }
}

/// The parameter types as far as encoding is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    /// text, varchar, bpchar, name, unknown: the value's Python `str()` as UTF-8.
    TextLike,
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
    /// Binary int64 cents (see `money.rs`).
    Money,
    Array {
        element_oid: u32,
    },
    Range {
        subtype_oid: u32,
    },
    Multirange {
        range_oid: u32,
    },
    /// Not known here (or `"char"`): the server parses our text.
    Other,
}

fn target_for(type_oid: u32) -> Target {
    match type_oid {
        oid::BOOL => Target::Bool,
        oid::INT2 => Target::Int2,
        oid::INT4 => Target::Int4,
        oid::INT8 => Target::Int8,
        oid::OID => Target::Oid,
        oid::FLOAT4 => Target::Float4,
        oid::FLOAT8 => Target::Float8,
        oid::NUMERIC => Target::Numeric,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN => Target::TextLike,
        oid::BYTEA => Target::Bytea,
        oid::DATE => Target::Date,
        oid::TIME => Target::Time,
        oid::TIMETZ => Target::TimeTz,
        oid::TIMESTAMP => Target::Timestamp,
        oid::TIMESTAMPTZ => Target::TimestampTz,
        oid::INTERVAL => Target::Interval,
        oid::UUID => Target::Uuid,
        oid::JSON => Target::Json,
        oid::JSONB => Target::Jsonb,
        oid::MONEY => Target::Money,
        _ => match oid::array_element(type_oid) {
            Some(element_oid) => Target::Array { element_oid },
            None => match (
                oid::range_subtype(type_oid),
                oid::multirange_range(type_oid),
            ) {
                (Some(subtype_oid), _) => Target::Range { subtype_oid },
                (_, Some(range_oid)) => Target::Multirange { range_oid },
                _ => Target::Other,
            },
        },
    }
}

const BINARY: Result<Encoded, String> = Ok(Encoded::Value(Format::Binary));

fn mismatch(v: &ParamValue, type_oid: u32) -> String {
    format!(
        "cannot bind a Python {} to a parameter of type {}",
        v.python_type_name(),
        oid::describe(type_oid)
    )
}

fn out_of_range(type_oid: u32, shown: &str) -> String {
    format!(
        "parameter of type {}: {shown} is out of range",
        oid::describe(type_oid)
    )
}

fn text(out: &mut Vec<u8>, s: &str, format: Format) -> Result<Encoded, String> {
    out.extend_from_slice(s.as_bytes());
    Ok(Encoded::Value(format))
}

fn encode(v: &ParamValue, type_oid: u32, out: &mut Vec<u8>) -> Result<Encoded, String> {
    let target = target_for(type_oid);
    match v {
        ParamValue::None => Ok(Encoded::Null),
        ParamValue::Tagged(Tag::Text, parts) => text(out, tagged_str(parts), Format::Text),
        _ if matches!(target, Target::Json | Target::Jsonb) => json_param(v, target, type_oid, out),
        ParamValue::List(items) => match target {
            Target::Array { element_oid } if oid::multirange_range(element_oid).is_some() => {
                multirange_array_param(items, type_oid, element_oid, out)
            }
            Target::Array { element_oid } => array_param(items, type_oid, element_oid, out),
            Target::Multirange { range_oid } => multirange_param(items, type_oid, range_oid, out),
            Target::Other if matches!(type_oid, oid::TID | oid::INT2VECTOR | oid::OIDVECTOR) => {
                system_types::int_list_param_text(items, type_oid, out)
                    .map(|_| Encoded::Value(Format::Text))
            }
            Target::Other => array_literal(items, b',', out).map(|_| Encoded::Value(Format::Text)),
            _ => Err(mismatch(v, type_oid)),
        },
        // A type we do not know (a domain over json, say) parses the JSON text itself.
        ParamValue::Dict(_) if target == Target::Other => {
            let mut s = String::new();
            json_from_param(v, &mut s)?;
            text(out, &s, Format::Text)
        }
        ParamValue::Dict(_) => Err(mismatch(v, type_oid)),
        ParamValue::Bool(b) => match target {
            Target::Bool => {
                out.push(*b as u8);
                BINARY
            }
            Target::TextLike => text(out, if *b { "true" } else { "false" }, Format::Binary),
            Target::Other => text(out, if *b { "true" } else { "false" }, Format::Text),
            _ => Err(mismatch(v, type_oid)),
        },
        ParamValue::Int(i) => match int_binary(*i, target, out) {
            Some(done) => done,
            None => int_param(*i as i128, &i.to_string(), v, target, type_oid, out),
        },
        ParamValue::BigInt { negative, digits15 } => {
            let digits = digits15_to_decimal(digits15);
            let shown = if *negative {
                format!("-{digits}")
            } else {
                digits
            };
            // Beyond i64 by construction, so beyond every integer type: i128::MAX stands in.
            let as_i128 = if *negative { i128::MIN } else { i128::MAX };
            int_param(as_i128, &shown, v, target, type_oid, out)
        }
        ParamValue::Float(f) => float_param(*f, v, target, type_oid, out),
        ParamValue::Str(s) => match target {
            Target::TextLike => text(out, s, Format::Binary),
            _ => text(out, s, Format::Text),
        },
        ParamValue::Bytes(b) => match target {
            Target::Bytea => {
                out.extend_from_slice(b);
                BINARY
            }
            // bytea's hex input syntax, for a domain over bytea and the like.
            Target::Other => text(out, &bytea_hex_text(b), Format::Text),
            _ => Err(mismatch(v, type_oid)),
        },
        ParamValue::Tagged(Tag::Decimal, parts) => {
            decimal_param(tagged_str(parts), v, target, type_oid, out)
        }
        ParamValue::Tagged(Tag::Date, parts) => date_param(&ints(parts), v, target, type_oid, out),
        ParamValue::Tagged(Tag::Time, parts) => {
            time_param(&ints(parts), offset(parts, 4), v, target, type_oid, out)
        }
        ParamValue::Tagged(Tag::DateTime, parts) => {
            datetime_param(&ints(parts), offset(parts, 7), v, target, type_oid, out)
        }
        ParamValue::Tagged(Tag::TimeDelta, parts) => {
            timedelta_param(&ints(parts), v, target, type_oid, out)
        }
        ParamValue::Tagged(Tag::Uuid, parts) => {
            let bytes = match parts.first() {
                Some(ParamValue::Bytes(b)) if b.len() == 16 => *b,
                _ => return Err("malformed UUID parameter".to_string()),
            };
            match target {
                Target::Uuid => {
                    out.extend_from_slice(bytes);
                    BINARY
                }
                Target::TextLike => text(out, &uuid_text(bytes), Format::Binary),
                Target::Other => text(out, &uuid_text(bytes), Format::Text),
                _ => Err(mismatch(v, type_oid)),
            }
        }
        ParamValue::Tagged(Tag::Json, parts) => match target {
            Target::TextLike => text(out, tagged_str(parts), Format::Binary),
            Target::Other => text(out, tagged_str(parts), Format::Text),
            _ => Err(mismatch(v, type_oid)),
        },
        ParamValue::Tagged(Tag::Range, parts) => match target {
            Target::Range { subtype_oid } => range_param(parts, type_oid, subtype_oid, out),
            Target::Other => {
                let mut s = String::new();
                range_literal(parts, &mut s)?;
                text(out, &s, Format::Text)
            }
            _ => Err(mismatch(v, type_oid)),
        },
    }
}

/// The str payload of a tagged value (shape checked by the marshal parser).
fn tagged_str<'a>(parts: &[ParamValue<'a>]) -> &'a str {
    match parts.first() {
        Some(ParamValue::Str(s)) => s,
        _ => "",
    }
}

/// The int payloads of a tagged value; the optional trailing offset reads as 0 here.
fn ints(parts: &[ParamValue]) -> Vec<i64> {
    parts
        .iter()
        .map(|p| match p {
            ParamValue::Int(i) => *i,
            _ => 0,
        })
        .collect()
}

fn offset(parts: &[ParamValue], at: usize) -> Option<i64> {
    match parts.get(at) {
        Some(ParamValue::Int(i)) => Some(*i),
        _ => None,
    }
}

// ---- codecs by PostgreSQL type

pub(crate) fn int2_to_binary(v: i16, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn int4_to_binary(v: i32, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn int8_to_binary(v: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn float4_to_binary(v: f32, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn float8_to_binary(v: f64, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// An `int` bound to an integer type it fits, the common case: no decimal text needed.
/// `None` leaves everything else (and every error) to [`int_param`].
#[inline]
fn int_binary(i: i64, target: Target, out: &mut Vec<u8>) -> Option<Result<Encoded, String>> {
    match target {
        Target::Int8 => int8_to_binary(i, out),
        Target::Int4 => int4_to_binary(i32::try_from(i).ok()?, out),
        Target::Int2 => int2_to_binary(i16::try_from(i).ok()?, out),
        Target::Oid => out.extend_from_slice(&u32::try_from(i).ok()?.to_be_bytes()),
        _ => return None,
    }
    Some(BINARY)
}

/// An integer value (exact when it fits i64; `shown` is its decimal text either way).
fn int_param(
    value: i128,
    shown: &str,
    v: &ParamValue,
    target: Target,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    let range = || out_of_range(type_oid, shown);
    match target {
        Target::Int2 => int2_to_binary(i16::try_from(value).map_err(|_| range())?, out),
        Target::Int4 => int4_to_binary(i32::try_from(value).map_err(|_| range())?, out),
        Target::Int8 => int8_to_binary(i64::try_from(value).map_err(|_| range())?, out),
        Target::Oid => {
            out.extend_from_slice(&u32::try_from(value).map_err(|_| range())?.to_be_bytes())
        }
        Target::Float4 | Target::Float8 => {
            // Correctly rounded, as Python's float(int) is.
            let f: f64 = shown.parse().map_err(|_| range())?;
            if !f.is_finite() {
                return Err(range());
            }
            return float_param(f, v, target, type_oid, out).map_err(|_| range());
        }
        Target::Numeric => {
            let parsed = parse_decimal(shown)?;
            numeric_to_binary(&parsed, out)
                .map_err(|e| format!("parameter of type numeric: {e}"))?;
        }
        Target::Money => {
            let cents = value.checked_mul(100).and_then(|c| i64::try_from(c).ok());
            int8_to_binary(cents.ok_or_else(range)?, out);
        }
        Target::TextLike => return text(out, shown, Format::Binary),
        Target::Other => return text(out, shown, Format::Text),
        _ => return Err(mismatch(v, type_oid)),
    }
    BINARY
}

fn float_param(
    f: f64,
    v: &ParamValue,
    target: Target,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    match target {
        Target::Float8 => float8_to_binary(f, out),
        Target::Float4 => {
            let narrow = f as f32;
            if f.is_finite() && narrow.is_infinite() {
                return Err(out_of_range(type_oid, &python_float_repr(f)));
            }
            float4_to_binary(narrow, out);
        }
        Target::Numeric => {
            // The decimal Python shows for the float: Decimal(repr(f)), not Decimal(f).
            let parsed = parse_decimal(&python_float_repr(f))?;
            numeric_to_binary(&parsed, out)
                .map_err(|e| format!("parameter of type numeric: {e}"))?;
        }
        Target::Int2 | Target::Int4 | Target::Int8 | Target::Oid => {
            if !f.is_finite() || f.fract() != 0.0 {
                return Err(format!(
                    "parameter of type {}: float {} is not an integer",
                    oid::describe(type_oid),
                    python_float_repr(f)
                ));
            }
            let shown = python_float_repr(f);
            // |f| < 2^127 keeps the cast exact; larger values are out of range anyway.
            let value = if f.abs() < 1.7e38 {
                f as i128
            } else {
                i128::MAX
            };
            return int_param(value, &shown, v, target, type_oid, out);
        }
        Target::Money => {
            let shown = python_float_repr(f);
            let parsed = parse_decimal(&shown)?;
            int8_to_binary(money::cents_from_decimal(&parsed, &shown)?, out);
        }
        Target::TextLike => return text(out, &python_float_repr(f), Format::Binary),
        Target::Other => return text(out, &postgres_float_text(f), Format::Text),
        _ => return Err(mismatch(v, type_oid)),
    }
    BINARY
}

fn decimal_param(
    decimal: &str,
    v: &ParamValue,
    target: Target,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    match target {
        Target::Numeric => {
            let parsed =
                parse_decimal(decimal).map_err(|e| format!("parameter of type numeric: {e}"))?;
            numeric_to_binary(&parsed, out)
                .map_err(|e| format!("parameter of type numeric: Decimal('{decimal}'): {e}"))?;
            BINARY
        }
        Target::Float4 | Target::Float8 => {
            let f = match parse_decimal(decimal)
                .map_err(|e| format!("parameter of type {}: {e}", oid::describe(type_oid)))?
            {
                ParsedDecimal::NaN => f64::NAN,
                ParsedDecimal::Infinity { negative } => {
                    if negative {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    }
                }
                ParsedDecimal::Finite { .. } => decimal
                    .trim()
                    .parse()
                    .map_err(|_| out_of_range(type_oid, decimal))?,
            };
            if f.is_infinite() && !decimal.to_ascii_lowercase().contains("inf") {
                return Err(out_of_range(type_oid, decimal));
            }
            float_param(f, v, target, type_oid, out)
        }
        Target::Int2 | Target::Int4 | Target::Int8 | Target::Oid => {
            let parsed = parse_decimal(decimal)
                .map_err(|e| format!("parameter of type {}: {e}", oid::describe(type_oid)))?;
            match decimal_to_integer(&parsed) {
                None => Err(format!(
                    "parameter of type {}: Decimal('{decimal}') is not an integer",
                    oid::describe(type_oid)
                )),
                Some(Err(())) => Err(out_of_range(type_oid, decimal)),
                Some(Ok(i)) => int_param(i, decimal, v, target, type_oid, out),
            }
        }
        Target::Money => {
            let parsed =
                parse_decimal(decimal).map_err(|e| format!("parameter of type money: {e}"))?;
            int8_to_binary(money::cents_from_decimal(&parsed, decimal)?, out);
            BINARY
        }
        Target::TextLike => text(out, decimal, Format::Binary),
        Target::Other => text(out, decimal, Format::Text),
        _ => Err(mismatch(v, type_oid)),
    }
}

pub(crate) fn date_to_binary(
    year: i64,
    month: i64,
    day: i64,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    int4_to_binary(temporal::date_to_days(year, month, day)?, out);
    Ok(())
}

fn iso_date(p: &[i64]) -> String {
    format!("{:04}-{:02}-{:02}", p[0], p[1], p[2])
}

fn date_param(
    p: &[i64],
    v: &ParamValue,
    target: Target,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    match target {
        Target::Date => date_to_binary(p[0], p[1], p[2], out)?,
        Target::Timestamp => {
            let days = temporal::date_to_days(p[0], p[1], p[2])?;
            int8_to_binary(days as i64 * temporal::USECS_PER_DAY, out);
        }
        // Midnight where? In the session time zone, as for the literal '2024-01-01'.
        Target::TimestampTz | Target::Other => return text(out, &iso_date(p), Format::Text),
        Target::TextLike => return text(out, &iso_date(p), Format::Binary),
        _ => return Err(mismatch(v, type_oid)),
    }
    BINARY
}

/// Python's `str(time)`.
fn iso_time(p: &[i64], offset_us: Option<i64>) -> String {
    let mut s = temporal::format_python_clock(p[0], p[1], p[2], p[3]);
    if let Some(o) = offset_us {
        s.push_str(&temporal::format_utc_offset(o));
    }
    s
}

pub(crate) fn time_to_binary(
    hour: i64,
    minute: i64,
    second: i64,
    micro: i64,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    int8_to_binary(temporal::clock_to_usecs(hour, minute, second, micro)?, out);
    Ok(())
}

/// `offset_us` east of UTC; PostgreSQL stores whole seconds *west* of UTC.
pub(crate) fn timetz_to_binary(
    clock: &[i64],
    offset_us: i64,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    if offset_us % 1_000_000 != 0 || offset_us.abs() >= temporal::USECS_PER_DAY {
        return Err(format!(
            "UTC offset {} cannot be sent to PostgreSQL",
            temporal::format_utc_offset(offset_us)
        ));
    }
    time_to_binary(clock[0], clock[1], clock[2], clock[3], out)?;
    out.extend_from_slice(&(-(offset_us / 1_000_000) as i32).to_be_bytes());
    Ok(())
}

fn time_param(
    p: &[i64],
    offset_us: Option<i64>,
    v: &ParamValue,
    target: Target,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    match (target, offset_us) {
        (Target::Time, _) => time_to_binary(p[0], p[1], p[2], p[3], out)?,
        (Target::TimeTz, Some(o)) => timetz_to_binary(p, o, out)?,
        (Target::TimeTz | Target::Other, _) => {
            return text(out, &iso_time(p, offset_us), Format::Text)
        }
        (Target::TextLike, _) => return text(out, &iso_time(p, offset_us), Format::Binary),
        _ => return Err(mismatch(v, type_oid)),
    }
    BINARY
}

/// Microseconds since 2000-01-01 of the wall-clock date and time in `p`.
pub(crate) fn timestamp_to_usecs(p: &[i64]) -> Result<i64, String> {
    let days = temporal::date_to_days(p[0], p[1], p[2])? as i64;
    let clock = temporal::clock_to_usecs(p[3], p[4], p[5], p[6])?;
    Ok(days * temporal::USECS_PER_DAY + clock)
}

/// Python's `str(datetime)`.
fn iso_datetime(p: &[i64], offset_us: Option<i64>) -> String {
    format!("{} {}", iso_date(p), iso_time(&p[3..], offset_us))
}

fn datetime_param(
    p: &[i64],
    offset_us: Option<i64>,
    v: &ParamValue,
    target: Target,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    match (target, offset_us) {
        (Target::Timestamp, _) => int8_to_binary(timestamp_to_usecs(p)?, out),
        (Target::TimestampTz, Some(o)) => int8_to_binary(timestamp_to_usecs(p)? - o, out),
        (Target::TimestampTz | Target::Other, _) => {
            return text(out, &iso_datetime(p, offset_us), Format::Text)
        }
        (Target::TextLike, _) => return text(out, &iso_datetime(p, offset_us), Format::Binary),
        _ => return Err(mismatch(v, type_oid)),
    }
    BINARY
}

pub(crate) fn interval_to_binary(
    days: i64,
    seconds: i64,
    micros: i64,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let days = i32::try_from(days)
        .map_err(|_| format!("timedelta of {days} days is out of range for interval"))?;
    let usecs = seconds
        .checked_mul(1_000_000)
        .and_then(|us| us.checked_add(micros))
        .ok_or_else(|| "timedelta is out of range for interval".to_string())?;
    int8_to_binary(usecs, out);
    int4_to_binary(days, out);
    int4_to_binary(0, out);
    Ok(())
}

fn timedelta_param(
    p: &[i64],
    v: &ParamValue,
    target: Target,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    match target {
        Target::Interval => interval_to_binary(p[0], p[1], p[2], out)?,
        Target::TextLike => {
            return text(
                out,
                &temporal::format_python_timedelta(p[0], p[1], p[2]),
                Format::Binary,
            )
        }
        Target::Other => return text(out, &interval_text(p), Format::Text),
        _ => return Err(mismatch(v, type_oid)),
    }
    BINARY
}

/// An interval literal PostgreSQL's input accepts, from timedelta's normalised parts.
fn interval_text(p: &[i64]) -> String {
    format!("{} days {}.{:06} seconds", p[0], p[1], p[2])
}

/// bytea's hex input syntax: `\x0aff`.
fn bytea_hex_text(b: &[u8]) -> String {
    let mut t = String::with_capacity(2 + 2 * b.len());
    t.push_str("\\x");
    for x in b.iter() {
        t.push_str(&format!("{x:02x}"));
    }
    t
}

fn uuid_text(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `jsonb`'s binary form is a version byte followed by the JSON text.
pub(crate) fn jsonb_to_binary(json_text: &str, out: &mut Vec<u8>) {
    out.push(1);
    out.extend_from_slice(json_text.as_bytes());
}

fn json_param(
    v: &ParamValue,
    target: Target,
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    let document = match v {
        // A str is the document (see the module documentation), as is a Json-tagged value.
        ParamValue::Str(s) => return text(out, s, Format::Text),
        ParamValue::Tagged(Tag::Json, parts) => tagged_str(parts).to_string(),
        ParamValue::Bytes(_) => return Err(mismatch(v, type_oid)),
        _ => {
            let mut s = String::new();
            json_from_param(v, &mut s)
                .map_err(|e| format!("parameter of type {}: {e}", oid::describe(type_oid)))?;
            s
        }
    };
    if target == Target::Jsonb {
        jsonb_to_binary(&document, out);
    } else {
        out.extend_from_slice(document.as_bytes());
    }
    BINARY
}

// ---- arrays

/// PostgreSQL's `MAXDIM`.
const MAX_DIMS: usize = 6;

/// The dimensions of a rectangular nested list (empty for `[]` or any zero-length level).
fn array_shape(items: &[ParamValue]) -> Result<Vec<usize>, String> {
    let mut dims = vec![items.len()];
    let mut level: Vec<&ParamValue> = items.iter().collect();
    loop {
        let lists = level
            .iter()
            .filter(|v| matches!(v, ParamValue::List(_)))
            .count();
        if lists == 0 {
            break;
        }
        if lists != level.len() {
            return Err("nested lists for an array parameter must be rectangular (no mix of lists and values)".to_string());
        }
        let mut next = Vec::new();
        let mut width = None;
        for v in level {
            if let ParamValue::List(inner) = v {
                if *width.get_or_insert(inner.len()) != inner.len() {
                    return Err("nested lists for an array parameter must be rectangular (sub-lists differ in length)".to_string());
                }
                next.extend(inner.iter());
            }
        }
        dims.push(width.unwrap_or(0));
        if dims.len() > MAX_DIMS {
            return Err(format!(
                "array parameters have at most {MAX_DIMS} dimensions"
            ));
        }
        level = next;
    }
    if dims.contains(&0) {
        dims.clear();
    }
    Ok(dims)
}

fn leaves<'v, 'a>(items: &'v [ParamValue<'a>], into: &mut Vec<&'v ParamValue<'a>>) {
    for v in items {
        match v {
            ParamValue::List(inner) => leaves(inner, into),
            other => into.push(other),
        }
    }
}

/// Binary when every element encodes to binary for the element type, else the text form
/// (for example `str` elements for `int4[]`, which the server then parses).
pub(crate) fn array_param(
    items: &[ParamValue],
    type_oid: u32,
    element_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    let dims = array_shape(items)
        .map_err(|e| format!("parameter of type {}: {e}", oid::describe(type_oid)))?;
    // Elements we have no binary form for go as text anyway, and the element type may
    // have no binary input at all (aclitem): even `[]` and `[None]` must be a literal.
    if target_for(element_oid) == Target::Other {
        return array_literal(items, oid::array_delimiter(element_oid), out)
            .map(|_| Encoded::Value(Format::Text))
            .map_err(|e| format!("parameter of type {}: {e}", oid::describe(type_oid)));
    }
    let mut elements = Vec::new();
    leaves(items, &mut elements);
    let start = out.len();
    out.extend_from_slice(&(dims.len() as i32).to_be_bytes());
    let has_nulls_at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&element_oid.to_be_bytes());
    for d in &dims {
        let size = i32::try_from(*d).map_err(|_| {
            format!(
                "parameter of type {}: too many elements",
                oid::describe(type_oid)
            )
        })?;
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    let mut has_nulls = false;
    for element in if dims.is_empty() {
        &[][..]
    } else {
        &elements[..]
    } {
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        match encode(element, element_oid, out)
            .map_err(|e| format!("element of {}: {e}", oid::describe(type_oid)))?
        {
            Encoded::Null => {
                has_nulls = true;
                out[len_at..len_at + 4].copy_from_slice(&(-1i32).to_be_bytes());
            }
            Encoded::Value(Format::Binary) => {
                let len = i32::try_from(out.len() - len_at - 4)
                    .map_err(|_| "array element is too large".to_string())?;
                out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            }
            Encoded::Value(Format::Text) => {
                out.truncate(start);
                return array_literal(items, oid::array_delimiter(element_oid), out)
                    .map(|_| Encoded::Value(Format::Text))
                    .map_err(|e| format!("parameter of type {}: {e}", oid::describe(type_oid)));
            }
        }
    }
    out[has_nulls_at..has_nulls_at + 4].copy_from_slice(&(has_nulls as i32).to_be_bytes());
    BINARY
}

/// The array input syntax: `{{"1","2"},{"3",NULL}}`, every element quoted, elements
/// separated by the element type's `delimiter` (`;` for box).
fn array_literal(items: &[ParamValue], delimiter: u8, out: &mut Vec<u8>) -> Result<(), String> {
    array_shape(items)?;
    let mut s = String::new();
    literal_level(items, delimiter as char, &mut s)?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn literal_level(items: &[ParamValue], delimiter: char, s: &mut String) -> Result<(), String> {
    s.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(delimiter);
        }
        match item {
            ParamValue::List(inner) => literal_level(inner, delimiter, s)?,
            ParamValue::None => s.push_str("NULL"),
            other => {
                s.push('"');
                for c in element_text(other)?.chars() {
                    if c == '"' || c == '\\' {
                        s.push('\\');
                    }
                    s.push(c);
                }
                s.push('"');
            }
        }
    }
    s.push('}');
    Ok(())
}

/// The text a PostgreSQL input function reads for a scalar.
pub(crate) fn element_text(v: &ParamValue) -> Result<String, String> {
    Ok(match v {
        ParamValue::Bool(b) => (if *b { "t" } else { "f" }).to_string(),
        ParamValue::Int(i) => i.to_string(),
        ParamValue::BigInt { negative, digits15 } => {
            format!(
                "{}{}",
                if *negative { "-" } else { "" },
                digits15_to_decimal(digits15)
            )
        }
        ParamValue::Float(f) => postgres_float_text(*f),
        ParamValue::Str(s) => s.to_string(),
        ParamValue::Bytes(b) => bytea_hex_text(b),
        ParamValue::Tagged(Tag::Decimal | Tag::Json | Tag::Text, parts) => {
            tagged_str(parts).to_string()
        }
        ParamValue::Tagged(Tag::Date, parts) => iso_date(&ints(parts)),
        ParamValue::Tagged(Tag::Time, parts) => iso_time(&ints(parts), offset(parts, 4)),
        ParamValue::Tagged(Tag::DateTime, parts) => iso_datetime(&ints(parts), offset(parts, 7)),
        ParamValue::Tagged(Tag::TimeDelta, parts) => interval_text(&ints(parts)),
        ParamValue::Tagged(Tag::Uuid, parts) => match parts.first() {
            Some(ParamValue::Bytes(b)) if b.len() == 16 => uuid_text(b),
            _ => return Err("malformed UUID parameter".to_string()),
        },
        ParamValue::Tagged(Tag::Range, parts) => {
            let mut t = String::new();
            range_literal(parts, &mut t)?;
            t
        }
        ParamValue::Dict(_) | ParamValue::List(_) => {
            let mut t = String::new();
            json_from_param(v, &mut t)?;
            t
        }
        ParamValue::None => "NULL".to_string(),
    })
}

// ---- ranges and multiranges

fn is_range(v: &ParamValue) -> bool {
    matches!(v, ParamValue::Tagged(Tag::Range, _))
}

/// `(lower, upper, flags)` of a range tag (shape checked by the marshal parser).
fn range_parts<'v, 'a>(
    parts: &'v [ParamValue<'a>],
) -> (&'v ParamValue<'a>, &'v ParamValue<'a>, u8) {
    const NONE: &ParamValue = &ParamValue::None;
    let flags = match parts.get(2) {
        Some(ParamValue::Int(f)) => *f as u8,
        _ => EMPTY,
    };
    (
        parts.first().unwrap_or(NONE),
        parts.get(1).unwrap_or(NONE),
        flags,
    )
}

/// The binary range format: a flags byte, then each bound that is present as an i32 length
/// and the subtype's binary value. Falls back to the text literal when a bound has to be
/// sent as text, after every bound has been checked (so a bad bound is an error here, not
/// a server error about a literal).
fn range_param(
    parts: &[ParamValue],
    type_oid: u32,
    subtype_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    let (lower, upper, flags) = range_parts(parts);
    if flags & EMPTY != 0 {
        out.push(EMPTY);
        return BINARY;
    }
    let start = out.len();
    let mut wire = flags & (LB_INC | UB_INC);
    if matches!(lower, ParamValue::None) {
        wire = (wire & !LB_INC) | LB_INF;
    }
    if matches!(upper, ParamValue::None) {
        wire = (wire & !UB_INC) | UB_INF;
    }
    out.push(wire);
    let mut as_text = false;
    for (bound, side) in [(lower, "lower"), (upper, "upper")] {
        if matches!(bound, ParamValue::None) {
            continue;
        }
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        match encode(bound, subtype_oid, out).map_err(|e| {
            format!(
                "parameter of type {}: {side} bound: {e}",
                oid::describe(type_oid)
            )
        })? {
            Encoded::Value(Format::Binary) => {
                let len = i32::try_from(out.len() - len_at - 4)
                    .map_err(|_| "range bound is too large".to_string())?;
                out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            }
            Encoded::Value(Format::Text) => as_text = true,
            Encoded::Null => return Err(format!("range {side} bound is NULL")),
        }
    }
    if as_text {
        out.truncate(start);
        let mut s = String::new();
        range_literal(parts, &mut s)?;
        return text(out, &s, Format::Text);
    }
    BINARY
}

/// The range input syntax, `["1","5")`, `(,"2024-01-01")` or `empty`, every bound quoted
/// (inside quotes `range_parse_bound` takes a backslash to escape the next character).
fn range_literal(parts: &[ParamValue], s: &mut String) -> Result<(), String> {
    let (lower, upper, flags) = range_parts(parts);
    if flags & EMPTY != 0 {
        s.push_str("empty");
        return Ok(());
    }
    s.push(if flags & LB_INC != 0 { '[' } else { '(' });
    for (i, bound) in [lower, upper].into_iter().enumerate() {
        if i == 1 {
            s.push(',');
        }
        if matches!(bound, ParamValue::None) {
            continue;
        }
        if matches!(
            bound,
            ParamValue::List(_) | ParamValue::Dict(_) | ParamValue::Tagged(Tag::Range, _)
        ) {
            return Err(format!(
                "a {} cannot be a range bound",
                bound.python_type_name()
            ));
        }
        s.push('"');
        for c in element_text(bound)?.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
    }
    s.push(if flags & UB_INC != 0 { ']' } else { ')' });
    Ok(())
}

fn not_a_range(item: &ParamValue, type_oid: u32) -> String {
    format!(
        "parameter of type {}: a multirange is a list of Range, not of {}",
        oid::describe(type_oid),
        item.python_type_name()
    )
}

/// The binary multirange format: an i32 count, then each range as an i32 length and its
/// binary range value; the text literal when any range has to go as text.
fn multirange_param(
    items: &[ParamValue],
    type_oid: u32,
    range_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    let subtype_oid = oid::range_subtype(range_oid).unwrap_or(oid::UNKNOWN);
    let start = out.len();
    let count = i32::try_from(items.len()).map_err(|_| {
        format!(
            "parameter of type {}: too many ranges",
            oid::describe(type_oid)
        )
    })?;
    out.extend_from_slice(&count.to_be_bytes());
    let mut as_text = false;
    for item in items {
        let ParamValue::Tagged(Tag::Range, parts) = item else {
            return Err(not_a_range(item, type_oid));
        };
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        match range_param(parts, type_oid, subtype_oid, out)? {
            Encoded::Value(Format::Binary) => {
                let len = i32::try_from(out.len() - len_at - 4)
                    .map_err(|_| "range is too large".to_string())?;
                out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            }
            _ => as_text = true,
        }
    }
    if as_text {
        out.truncate(start);
        multirange_literal(items, out)
            .map_err(|e| format!("parameter of type {}: {e}", oid::describe(type_oid)))?;
        return Ok(Encoded::Value(Format::Text));
    }
    BINARY
}

/// `{[1,3),[5,7)}`: ranges unquoted, as `multirange_in` reads them.
fn multirange_literal(items: &[ParamValue], out: &mut Vec<u8>) -> Result<(), String> {
    let mut s = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        match item {
            ParamValue::Tagged(Tag::Range, parts) => range_literal(parts, &mut s)?,
            other => {
                return Err(format!(
                    "a multirange is a list of Range, not of {}",
                    other.python_type_name()
                ))
            }
        }
    }
    s.push('}');
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// A one-dimensional array of multiranges (each item a list of Range, or None): the nested
/// lists are the elements here, not dimensions, so `array_param` cannot be used.
fn multirange_array_param(
    items: &[ParamValue],
    type_oid: u32,
    element_oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, String> {
    let start = out.len();
    let n = i32::try_from(items.len()).map_err(|_| {
        format!(
            "parameter of type {}: too many elements",
            oid::describe(type_oid)
        )
    })?;
    out.extend_from_slice(&((n > 0) as i32).to_be_bytes());
    out.extend_from_slice(
        &(items.iter().any(|v| matches!(v, ParamValue::None)) as i32).to_be_bytes(),
    );
    out.extend_from_slice(&element_oid.to_be_bytes());
    if n > 0 {
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    let mut as_text = false;
    for item in items {
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        match item {
            ParamValue::None => out[len_at..len_at + 4].copy_from_slice(&(-1i32).to_be_bytes()),
            ParamValue::List(ranges) => match multirange_param(ranges, element_oid, oid::multirange_range(element_oid).unwrap_or(0), out)
                .map_err(|e| format!("element of {}: {e}", oid::describe(type_oid)))?
            {
                Encoded::Value(Format::Binary) => {
                    let len = i32::try_from(out.len() - len_at - 4)
                        .map_err(|_| "array element is too large".to_string())?;
                    out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
                }
                _ => as_text = true,
            },
            other => {
                return Err(format!(
                    "parameter of type {}: elements must be lists of Range (multiranges) or None, not {}",
                    oid::describe(type_oid),
                    other.python_type_name()
                ))
            }
        }
    }
    if as_text {
        out.truncate(start);
        let mut s = String::from("{");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            match item {
                ParamValue::List(ranges) => {
                    let mut m = Vec::new();
                    multirange_literal(ranges, &mut m)?;
                    s.push('"');
                    for c in String::from_utf8_lossy(&m).chars() {
                        if c == '"' || c == '\\' {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                    s.push('"');
                }
                _ => s.push_str("NULL"),
            }
        }
        s.push('}');
        return text(out, &s, Format::Text);
    }
    BINARY
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tests::decode_all;
    use crate::marshal::parse_params;
    use crate::python_harness::python_bytes;
    use ParamValue as P;

    fn enc(v: &ParamValue, type_oid: u32) -> Result<(Encoded, Vec<u8>), String> {
        let mut out = Vec::new();
        encode_param(v, type_oid, &mut out)
            .map(|e| (e, out))
            .map_err(|e| e.message)
    }

    fn binary(v: &ParamValue, type_oid: u32) -> Vec<u8> {
        match enc(v, type_oid) {
            Ok((Encoded::Value(Format::Binary), bytes)) => bytes,
            other => panic!("{v:?} as {type_oid}: {other:?}"),
        }
    }

    fn text_of(v: &ParamValue, type_oid: u32) -> String {
        match enc(v, type_oid) {
            Ok((Encoded::Value(Format::Text), bytes)) => String::from_utf8(bytes).unwrap(),
            other => panic!("{v:?} as {type_oid}: {other:?}"),
        }
    }

    fn tagged<'a>(tag: Tag, parts: Vec<ParamValue<'a>>) -> ParamValue<'a> {
        P::Tagged(tag, parts)
    }

    /// Encodes each `(value, type)` to binary and decodes it back into Python reprs.
    fn round_trip(cases: &[(ParamValue, u32)]) -> Vec<String> {
        let cells: Vec<(u32, Format, Vec<u8>)> = cases
            .iter()
            .map(|(v, t)| (*t, Format::Binary, binary(v, *t)))
            .collect();
        decode_all(&cells)
    }

    #[test]
    fn scalars_round_trip_through_the_binary_decoders() {
        let date = |y, m, d| tagged(Tag::Date, vec![P::Int(y), P::Int(m), P::Int(d)]);
        let dt = |p: [i64; 7], off: Option<i64>| {
            let mut parts: Vec<P> = p.iter().map(|x| P::Int(*x)).collect();
            parts.push(off.map_or(P::None, P::Int));
            tagged(Tag::DateTime, parts)
        };
        let time = |p: [i64; 4], off: Option<i64>| {
            let mut parts: Vec<P> = p.iter().map(|x| P::Int(*x)).collect();
            parts.push(off.map_or(P::None, P::Int));
            tagged(Tag::Time, parts)
        };
        let dec = |s| tagged(Tag::Decimal, vec![P::Str(s)]);
        let hour_us = 3_600_000_000i64;
        let uuid_bytes: &[u8] = &[
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
            0xde, 0xf0,
        ];
        let big = P::BigInt {
            negative: true,
            digits15: vec![0, 0, 0, 0, 1 << 10],
        };
        let cases = vec![
            (P::Bool(true), oid::BOOL),
            (P::Int(-32768), oid::INT2),
            (P::Int(i32::MIN as i64), oid::INT4),
            (P::Int(i64::MIN), oid::INT8),
            (P::Int(i64::MAX), oid::INT8),
            (P::Int(4294967295), oid::OID),
            (P::Int(3), oid::FLOAT8),
            (P::Int(i64::MAX), oid::NUMERIC),
            (big.clone(), oid::NUMERIC),
            (P::Float(3.0), oid::INT4),
            (P::Float(0.1), oid::FLOAT8),
            (P::Float(0.1), oid::FLOAT4),
            (P::Float(f64::NAN), oid::FLOAT8),
            (P::Float(0.1), oid::NUMERIC),
            (P::Float(1.0), oid::NUMERIC),
            (P::Float(1e-5), oid::NUMERIC),
            (P::Float(1e22), oid::NUMERIC),
            (P::Float(f64::NEG_INFINITY), oid::NUMERIC),
            (dec("1.500"), oid::NUMERIC),
            (dec("1.5E+3"), oid::NUMERIC),
            (dec("-0.00001"), oid::NUMERIC),
            (dec("1E-1000"), oid::NUMERIC),
            (dec("NaN"), oid::NUMERIC),
            (dec("-Infinity"), oid::NUMERIC),
            (dec("1.5E+3"), oid::INT4),
            (dec("2.5"), oid::FLOAT8),
            (P::Str("héllo 😀"), oid::TEXT),
            (P::Int(42), oid::VARCHAR),
            (P::Float(1e-5), oid::TEXT),
            (P::Bool(false), oid::TEXT),
            (P::Bytes(b"\x00\xff"), oid::BYTEA),
            (date(2024, 2, 29), oid::DATE),
            (date(1, 1, 1), oid::DATE),
            (date(1969, 7, 20), oid::TIMESTAMP),
            (date(2024, 2, 29), oid::TEXT),
            (time([20, 17, 40, 500_000], None), oid::TIME),
            (
                time([12, 0, 0, 0], Some(5 * hour_us + 45 * 60_000_000)),
                oid::TIMETZ,
            ),
            (
                time([12, 0, 0, 0], Some(-(9 * hour_us + 30 * 60_000_000))),
                oid::TIME,
            ),
            (dt([1969, 7, 20, 20, 17, 40, 500_000], None), oid::TIMESTAMP),
            (dt([1999, 12, 31, 12, 0, 0, 0], None), oid::TIMESTAMP),
            (
                dt(
                    [2024, 1, 1, 12, 0, 0, 0],
                    Some(5 * hour_us + 45 * 60_000_000),
                ),
                oid::TIMESTAMPTZ,
            ),
            (
                dt([2024, 1, 1, 12, 0, 0, 0], Some(5 * hour_us)),
                oid::TIMESTAMP,
            ),
            (dt([2024, 1, 1, 12, 0, 0, 1], Some(-hour_us)), oid::TEXT),
            (
                tagged(
                    Tag::TimeDelta,
                    vec![P::Int(-1), P::Int(86399), P::Int(999_999)],
                ),
                oid::INTERVAL,
            ),
            (
                tagged(
                    Tag::TimeDelta,
                    vec![P::Int(428), P::Int(14706), P::Int(789_000)],
                ),
                oid::INTERVAL,
            ),
            (
                tagged(Tag::TimeDelta, vec![P::Int(-2), P::Int(3600), P::Int(0)]),
                oid::TEXT,
            ),
            (tagged(Tag::Uuid, vec![P::Bytes(uuid_bytes)]), oid::UUID),
            (tagged(Tag::Uuid, vec![P::Bytes(uuid_bytes)]), oid::TEXT),
            (
                P::Dict(vec![(P::Str("a"), P::List(vec![P::Int(1), P::None]))]),
                oid::JSONB,
            ),
            (P::List(vec![P::Int(1), P::Bool(true)]), oid::JSON),
            (tagged(Tag::Json, vec![P::Str("{\"x\": 2}")]), oid::JSONB),
            (P::Int(7), oid::JSONB),
            (
                P::List(vec![
                    P::List(vec![P::Int(1), P::Int(2)]),
                    P::List(vec![P::Int(3), P::None]),
                ]),
                oid::INT4_ARRAY,
            ),
            (P::List(vec![]), oid::INT4_ARRAY),
            (P::List(vec![P::List(vec![])]), oid::TEXT_ARRAY),
            (
                P::List(vec![P::Str("a"), P::None, P::Str("NULL")]),
                oid::TEXT_ARRAY,
            ),
            (
                P::List(vec![dec("1.5"), P::Int(2), P::Float(0.25)]),
                oid::NUMERIC_ARRAY,
            ),
            (P::List(vec![date(2024, 2, 29)]), oid::DATE_ARRAY),
            (P::List(vec![P::Dict(vec![]), P::Int(1)]), oid::JSONB_ARRAY),
        ];
        assert_eq!(
            round_trip(&cases),
            [
                "True",
                "-32768",
                "-2147483648",
                "-9223372036854775808",
                "9223372036854775807",
                "4294967295",
                "3.0",
                "Decimal('9223372036854775807')",
                "Decimal('-1180591620717411303424')",
                "3",
                "0.1",
                "0.10000000149011612",
                "nan",
                "Decimal('0.1')",
                "Decimal('1.0')",
                "Decimal('0.00001')",
                "Decimal('10000000000000000000000')",
                "Decimal('-Infinity')",
                "Decimal('1.500')",
                "Decimal('1500')",
                "Decimal('-0.00001')",
                "Decimal('1E-1000')",
                "Decimal('NaN')",
                "Decimal('-Infinity')",
                "1500",
                "2.5",
                "'héllo 😀'",
                "'42'",
                "'1e-05'",
                "'false'",
                "b'\\x00\\xff'",
                "datetime.date(2024, 2, 29)",
                "datetime.date(1, 1, 1)",
                "datetime.datetime(1969, 7, 20, 0, 0)",
                "'2024-02-29'",
                "datetime.time(20, 17, 40, 500000)",
                "datetime.time(12, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=20700)))",
                "datetime.time(12, 0)",
                "datetime.datetime(1969, 7, 20, 20, 17, 40, 500000)",
                "datetime.datetime(1999, 12, 31, 12, 0)",
                "datetime.datetime(2024, 1, 1, 6, 15, tzinfo=datetime.timezone.utc)",
                "datetime.datetime(2024, 1, 1, 12, 0)",
                "'2024-01-01 12:00:00.000001-01:00'",
                "datetime.timedelta(days=-1, seconds=86399, microseconds=999999)",
                "datetime.timedelta(days=428, seconds=14706, microseconds=789000)",
                "'-2 days, 1:00:00'",
                "UUID('12345678-9abc-def0-1234-56789abcdef0')",
                "'12345678-9abc-def0-1234-56789abcdef0'",
                "{'a': [1, None]}",
                "[1, True]",
                "{'x': 2}",
                "7",
                "[[1, 2], [3, None]]",
                "[]",
                "[]",
                "['a', None, 'NULL']",
                "[Decimal('1.5'), Decimal('2'), Decimal('0.25')]",
                "[datetime.date(2024, 2, 29)]",
                "[{}, 1]",
            ]
        );
    }

    #[test]
    fn text_format_choices() {
        let dt_naive = tagged(
            Tag::DateTime,
            [2024, 1, 2, 3, 4, 5, 6]
                .iter()
                .map(|x| P::Int(*x))
                .chain([P::None])
                .collect(),
        );
        let time_naive = tagged(
            Tag::Time,
            vec![P::Int(1), P::Int(2), P::Int(3), P::Int(0), P::None],
        );
        let date = tagged(Tag::Date, vec![P::Int(2024), P::Int(1), P::Int(2)]);
        assert_eq!(
            text_of(&dt_naive, oid::TIMESTAMPTZ),
            "2024-01-02 03:04:05.000006"
        );
        assert_eq!(text_of(&time_naive, oid::TIMETZ), "01:02:03");
        assert_eq!(text_of(&date, oid::TIMESTAMPTZ), "2024-01-02");
        assert_eq!(text_of(&P::Str("2024-01-01"), oid::DATE), "2024-01-01");
        assert_eq!(text_of(&P::Str("42"), oid::INT4), "42");
        assert_eq!(text_of(&P::Str("{\"a\": 1}"), oid::JSONB), "{\"a\": 1}");
        assert_eq!(text_of(&P::Int(5), 16385), "5");
        assert_eq!(text_of(&P::Float(f64::INFINITY), 16385), "Infinity");
        assert_eq!(
            text_of(&tagged(Tag::Text, vec![P::Str("(1,2)")]), oid::INT4),
            "(1,2)"
        );
        assert_eq!(
            text_of(
                &tagged(Tag::TimeDelta, vec![P::Int(-1), P::Int(5), P::Int(7)]),
                16385
            ),
            "-1 days 5.000007 seconds"
        );
        assert_eq!(
            text_of(
                &P::List(vec![P::Str("1"), P::Str("a\"b\\"), P::None]),
                oid::INT4_ARRAY
            ),
            r#"{"1","a\"b\\",NULL}"#
        );
        assert_eq!(
            text_of(
                &P::List(vec![P::List(vec![P::Bytes(b"\x01"), P::Bool(true)])]),
                16390
            ),
            r#"{{"\\x01","t"}}"#
        );
        assert_eq!(enc(&P::None, oid::INT4).unwrap(), (Encoded::Null, vec![]));
    }

    #[test]
    fn money_parameters_are_binary_cents() {
        let dec = |s: &'static str| tagged(Tag::Decimal, vec![P::Str(s)]);
        for (v, cents) in [
            (dec("12.345"), 1235i64),
            (dec("-0.005"), -1),
            (dec("1E+2"), 10000),
            (P::Int(-7), -700),
            (P::Float(0.1), 10),
            (P::Float(-2.675), -268),
        ] {
            assert_eq!(binary(&v, oid::MONEY), cents.to_be_bytes(), "{v:?}");
        }
        assert_eq!(
            round_trip(&[(dec("-12345.67"), oid::MONEY)]),
            ["Decimal('-12345.67')"]
        );
        // A str goes to the server's money_in, which knows lc_monetary.
        assert_eq!(text_of(&P::Str("$1,234.56"), oid::MONEY), "$1,234.56");
        for (v, needle) in [
            (P::Int(i64::MAX), "out of range"),
            (P::Float(f64::NAN), "not a finite number"),
            (dec("1E+20"), "out of range"),
            (P::Bool(true), "Python bool"),
        ] {
            let e = enc(&v, oid::MONEY).expect_err(needle);
            assert!(e.contains(needle), "{v:?}: {e}");
        }
    }

    #[test]
    fn unknown_types_get_the_values_text_form() {
        // A domain, an enum, an extension type: OIDs the codecs do not know.
        let other = 16390;
        assert_eq!(text_of(&P::Bool(true), other), "true");
        assert_eq!(text_of(&P::Bool(false), other), "false");
        assert_eq!(text_of(&P::Bytes(b"\x00\xff"), other), "\\x00ff");
        assert_eq!(
            text_of(
                &P::Dict(vec![(P::Str("a"), P::List(vec![P::Int(1)]))]),
                other
            ),
            r#"{"a": [1]}"#
        );
        assert_eq!(text_of(&P::Str("happy"), other), "happy");
        assert_eq!(
            text_of(&tagged(Tag::Decimal, vec![P::Str("1.50")]), other),
            "1.50"
        );
        // box[] separates its elements with ';' (a box's own text holds commas).
        assert_eq!(
            text_of(&P::List(vec![P::Str("(1,1),(0,0)"), P::None]), 1020),
            r#"{"(1,1),(0,0)";NULL}"#
        );
        assert_eq!(
            text_of(&P::List(vec![P::Int(3), P::Int(7)]), oid::TID),
            "(3,7)"
        );
        assert_eq!(
            text_of(&P::List(vec![P::Int(1), P::Int(-2)]), oid::INT2VECTOR),
            "1 -2"
        );
        assert_eq!(text_of(&P::List(vec![]), oid::OIDVECTOR), "");
        assert!(enc(&P::List(vec![P::Int(3)]), oid::TID)
            .unwrap_err()
            .contains("(block, offset)"));
        assert!(enc(&P::List(vec![P::Str("3")]), oid::OIDVECTOR)
            .unwrap_err()
            .contains("int"));
        assert_eq!(
            text_of(
                &P::List(vec![tagged(Tag::Text, vec![P::Str("10.0.0.0/8")])]),
                651
            ),
            r#"{"10.0.0.0/8"}"#
        );
    }

    #[test]
    fn scalar_shortcut_encodes_as_the_general_path() {
        use crate::marshal::Scalar as S;
        let scalars = [
            S::None,
            S::Bool(true),
            S::Bool(false),
            S::Int(0),
            S::Int(-1),
            S::Int(i16::MAX as i64 + 1),
            S::Int(i32::MIN as i64 - 1),
            S::Int(i64::MAX),
            S::Float(1.5),
            S::Float(f64::NAN),
            S::Float(-0.0),
            S::Str(""),
            S::Str("é1"),
            S::Str("2024-01-01"),
            S::Bytes(b""),
            S::Bytes(b"\x00\xff"),
        ];
        let mut oids: Vec<u32> = (0..4000).filter(|&t| oid::builtin(t).is_some()).collect();
        oids.extend([0, 90001]);
        let mut shortcuts = 0;
        for s in scalars {
            for &t in &oids {
                let mut fast = vec![7];
                let Some(e) = encode_scalar(s, t, &mut fast) else {
                    assert_eq!(fast, [7], "{s:?} {t}");
                    continue;
                };
                shortcuts += 1;
                let mut slow = vec![7];
                assert_eq!(
                    encode_param_any(&s.into(), t, &mut slow),
                    Ok(e),
                    "{s:?} {t}"
                );
                assert_eq!(fast, slow, "{s:?} {t}");
            }
        }
        assert!(shortcuts > oids.len(), "{shortcuts}");
    }

    #[test]
    fn int_bounds_of_each_integer_type() {
        let enc = |i: i64, t: u32| {
            let mut out = vec![];
            encode_param(&P::Int(i), t, &mut out)
                .map(|e| (e, out))
                .map_err(|e| e.message)
        };
        let bin = Encoded::Value(Format::Binary);
        for (t, lo, hi) in [
            (oid::INT2, i16::MIN as i64, i16::MAX as i64),
            (oid::INT4, i32::MIN as i64, i32::MAX as i64),
            (oid::OID, 0, u32::MAX as i64),
        ] {
            for i in [lo, hi] {
                let (e, out) = enc(i, t).unwrap();
                assert_eq!(e, bin);
                assert_eq!(out, i.to_be_bytes()[8 - out.len()..], "{i}");
            }
            for i in [lo - 1, hi + 1] {
                let want = format!(
                    "parameter of type {}: {i} is out of range",
                    oid::describe(t)
                );
                assert_eq!(enc(i, t).unwrap_err(), want);
            }
        }
        for i in [i64::MIN, -1, 0, i64::MAX] {
            assert_eq!(enc(i, oid::INT8).unwrap(), (bin, i.to_be_bytes().to_vec()));
        }
    }

    #[test]
    fn mismatches_and_ranges_are_clear_errors() {
        for (v, type_oid, needle) in [
            (
                P::Int(70000),
                oid::INT2,
                "parameter of type int2: 70000 is out of range",
            ),
            (
                P::BigInt {
                    negative: false,
                    digits15: vec![1; 80],
                },
                oid::FLOAT8,
                "out of range",
            ),
            (
                P::BigInt {
                    negative: true,
                    digits15: vec![1; 10],
                },
                oid::FLOAT4,
                "out of range",
            ),
            (P::Int(-1), oid::OID, "out of range"),
            (
                P::BigInt {
                    negative: false,
                    digits15: vec![0, 0, 0, 0, 1 << 10],
                },
                oid::INT8,
                "1180591620717411303424 is out of range",
            ),
            (
                P::Int(1),
                oid::BOOL,
                "cannot bind a Python int to a parameter of type bool",
            ),
            (P::Float(1.5), oid::INT4, "float 1.5 is not an integer"),
            (P::Float(f64::NAN), oid::INT8, "not an integer"),
            (P::Float(1e300), oid::FLOAT4, "out of range"),
            (P::Float(1e300), oid::INT8, "out of range"),
            (
                P::Bytes(b"x"),
                oid::TEXT,
                "cannot bind a Python bytes to a parameter of type text",
            ),
            (P::Bool(true), oid::INT4, "Python bool"),
            (P::Dict(vec![]), oid::TEXT, "Python dict"),
            (P::List(vec![P::Int(1)]), oid::INT4, "Python list"),
            (
                P::List(vec![P::Int(1), P::List(vec![])]),
                oid::INT4_ARRAY,
                "rectangular",
            ),
            (
                P::List(vec![P::List(vec![P::Int(1)]), P::List(vec![])]),
                oid::INT4_ARRAY,
                "rectangular",
            ),
            (
                P::List(vec![P::Int(70000)]),
                oid::INT2_ARRAY,
                "out of range",
            ),
            (
                tagged(Tag::Decimal, vec![P::Str("sNaN")]),
                oid::NUMERIC,
                "signalling",
            ),
            (
                tagged(Tag::Decimal, vec![P::Str("1.5")]),
                oid::INT4,
                "Decimal('1.5') is not an integer",
            ),
            (
                tagged(Tag::Decimal, vec![P::Str("1E+100")]),
                oid::INT8,
                "out of range",
            ),
            (
                tagged(Tag::Decimal, vec![P::Str("1E+400")]),
                oid::FLOAT8,
                "out of range",
            ),
            (
                tagged(Tag::Decimal, vec![P::Str("1E-20000")]),
                oid::NUMERIC,
                "scale",
            ),
            (
                tagged(
                    Tag::DateTime,
                    [2024, 1, 1, 0, 0, 0, 0]
                        .iter()
                        .map(|x| P::Int(*x))
                        .chain([P::None])
                        .collect(),
                ),
                oid::DATE,
                "Python datetime to a parameter of type date",
            ),
            (
                tagged(Tag::Date, vec![P::Int(2023), P::Int(2), P::Int(29)]),
                oid::DATE,
                "not a valid date",
            ),
            (
                tagged(Tag::Date, vec![P::Int(2023), P::Int(2), P::Int(28)]),
                oid::TIME,
                "Python date",
            ),
            (
                tagged(
                    Tag::Time,
                    vec![P::Int(1), P::Int(0), P::Int(0), P::Int(0), P::Int(1)],
                ),
                oid::TIMETZ,
                "UTC offset",
            ),
            (
                tagged(Tag::TimeDelta, vec![P::Int(1), P::Int(0), P::Int(0)]),
                oid::DATE,
                "Python timedelta",
            ),
            (
                tagged(Tag::Uuid, vec![P::Bytes(&[0; 16])]),
                oid::INT4,
                "Python UUID",
            ),
            (P::Float(f64::NAN), oid::JSONB, "not valid JSON"),
            (
                P::Dict(vec![(P::Int(1), P::Int(2))]),
                oid::JSON,
                "keys must be str",
            ),
            (P::Bytes(b"x"), oid::JSONB, "Python bytes"),
        ] {
            let mut out = vec![9];
            let e = encode_param(&v, type_oid, &mut out)
                .expect_err(needle)
                .message;
            assert!(e.contains(needle), "{v:?} as {type_oid}: {e}");
            assert_eq!(out, [9], "nothing is left appended on error");
        }
    }

    #[test]
    fn params_from_real_marshal_buffers_encode() {
        let buf = python_bytes(
            "marshal.dumps((1, 'é', None, 2**70, 1.5, b'x', [1, [2]], {'a': 1}, (..., 'dec', '1.5')), 4)",
        );
        let params = parse_params(&buf).unwrap();
        let types = [
            oid::INT8,
            oid::TEXT,
            oid::INT4,
            oid::NUMERIC,
            oid::FLOAT8,
            oid::BYTEA,
            oid::JSONB,
            oid::JSON,
            oid::NUMERIC,
        ];
        let cells: Vec<(u32, Format, Vec<u8>)> = params
            .iter()
            .zip(types)
            .filter(|(v, _)| !matches!(v, P::None))
            .map(|(v, t)| (t, Format::Binary, binary(v, t)))
            .collect();
        assert_eq!(
            decode_all(&cells),
            [
                "1",
                "'é'",
                "Decimal('1180591620717411303424')",
                "1.5",
                "b'x'",
                "[1, [2]]",
                "{'a': 1}",
                "Decimal('1.5')"
            ]
        );
    }
}

#[cfg(test)]
mod server_check {
    use super::*;
    use crate::marshal::parse_params;
    use crate::python_harness::python_bytes;

    /// Writes `$PYRO_CODECS_ENCODED` with each encoded parameter for a manual check against
    /// a server (see `tests/check_encoded_on_server.py`).
    #[test]
    #[ignore]
    fn dump_encoded_params() {
        let Ok(path) = std::env::var("PYRO_CODECS_ENCODED") else {
            return;
        };
        let cases: &[(&str, u32)] = &[
            ("1", oid::INT2),
            ("-2147483648", oid::INT4),
            ("2**63-1", oid::INT8),
            ("2**32-1", oid::OID),
            ("1.5", oid::FLOAT4),
            ("float('nan')", oid::FLOAT8),
            ("2**70", oid::NUMERIC),
            ("-2**70", oid::NUMERIC),
            ("12345", oid::NUMERIC),
            ("0.1", oid::NUMERIC),
            ("1e-5", oid::NUMERIC),
            ("1e22", oid::NUMERIC),
            ("float('-inf')", oid::NUMERIC),
            ("(..., 'dec', '1.500')", oid::NUMERIC),
            ("(..., 'dec', '-1.5E+3')", oid::NUMERIC),
            ("(..., 'dec', '1E-1000')", oid::NUMERIC),
            ("(..., 'dec', '0E-7')", oid::NUMERIC),
            ("(..., 'dec', 'NaN')", oid::NUMERIC),
            (
                "(..., 'dec', '123456789012345678901234567890.000000001')",
                oid::NUMERIC,
            ),
            ("'héllo'", oid::TEXT),
            ("42", oid::VARCHAR),
            ("True", oid::BOOL),
            ("b'\\x00\\xff'", oid::BYTEA),
            ("'2024-02-29'", oid::DATE),
            ("(..., 'date', 2024, 2, 29)", oid::DATE),
            ("(..., 'date', 1, 1, 1)", oid::DATE),
            ("(..., 'time', 20, 17, 40, 500000, None)", oid::TIME),
            (
                "(..., 'time', 12, 0, 0, 0, (5*3600+45*60)*10**6)",
                oid::TIMETZ,
            ),
            (
                "(..., 'time', 12, 0, 0, 0, -(9*3600+30*60)*10**6)",
                oid::TIMETZ,
            ),
            (
                "(..., 'dt', 1969, 7, 20, 20, 17, 40, 500000, None)",
                oid::TIMESTAMP,
            ),
            (
                "(..., 'dt', 2024, 1, 1, 12, 0, 0, 0, (5*3600+45*60)*10**6)",
                oid::TIMESTAMPTZ,
            ),
            (
                "(..., 'dt', 2024, 1, 1, 12, 0, 0, 0, None)",
                oid::TIMESTAMPTZ,
            ),
            ("(..., 'td', -1, 86399, 999999)", oid::INTERVAL),
            ("(..., 'td', 428, 14706, 789000)", oid::INTERVAL),
            ("(..., 'uuid', bytes(range(16)))", oid::UUID),
            ("{'a': [1, None, 'x', 1.5, True]}", oid::JSONB),
            ("[1, {'b': 'c'}]", oid::JSON),
            ("'{\"k\": 1}'", oid::JSONB),
            ("(..., 'json', '[1,2]')", oid::JSONB),
            ("[[1, 2], [3, None]]", oid::INT4_ARRAY),
            ("[]", oid::INT4_ARRAY),
            ("[[]]", oid::TEXT_ARRAY),
            ("['a', None, 'b\"\\\\c', '']", oid::TEXT_ARRAY),
            ("['1', '2']", oid::INT4_ARRAY),
            ("[(..., 'dec', '1.5'), 2, 0.25]", oid::NUMERIC_ARRAY),
            (
                "[(..., 'dt', 2024, 1, 1, 0, 0, 0, 0, None)]",
                oid::TIMESTAMPTZ_ARRAY,
            ),
            ("[{'a': 1}, 2]", oid::JSONB_ARRAY),
            ("[b'\\x01', None]", oid::BYTEA_ARRAY),
            ("[(..., 'uuid', bytes(16))]", oid::UUID_ARRAY),
            ("[True, False]", oid::BOOL_ARRAY),
            ("(..., 'text', '(1,2)')", 600),
            ("'(1,2)'", 600),
        ];
        let mut lines = String::new();
        for (expr, type_oid) in cases {
            let buf = python_bytes(&format!("marshal.dumps(({expr},), 4)"));
            let params = parse_params(&buf).unwrap();
            let mut out = Vec::new();
            let encoded = encode_param(&params[0], *type_oid, &mut out).unwrap();
            let format = match encoded {
                Encoded::Null => "null",
                Encoded::Value(Format::Binary) => "1",
                Encoded::Value(Format::Text) => "0",
            };
            let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
            lines.push_str(&format!("{expr}\t{type_oid}\t{format}\t{hex}\n"));
        }
        std::fs::write(path, lines).unwrap();
    }
}
