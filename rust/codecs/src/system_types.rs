//! Small built-in types with an obvious Python value, in both wire formats:
//!
//! * `bit`, `varbit` → `str` of `0`/`1` characters, as the server prints them.
//! * `xid`, `cid` (unsigned 32-bit) and `xid8` (unsigned 64-bit) → `int`.
//! * `tid` → `(block, offset)` tuple of ints.
//! * `int2vector`, `oidvector` → `list` of ints (their text form is space-separated; the
//!   binary form is a one-dimensional array with lower bound 0).
//!
//! Parameters: these are sent as text for the server to parse; a `tid` also takes a
//! `(block, offset)` tuple and the vectors a list of ints.

use crate::array;
use crate::decode::{int2_from_binary, oid_from_binary};
use crate::marshal::ParamValue;
use crate::oid;
use crate::pickle::PickleWriter;

/// Binary `bit`/`varbit`: an int32 bit count, then the bits, most significant first.
pub(crate) fn bits_from_binary(data: &[u8], w: &mut PickleWriter) -> Result<(), String> {
    let invalid = || format!("invalid binary bit string {data:02x?}");
    let (count, bytes) = data.split_at_checked(4).ok_or_else(invalid)?;
    let count = i32::from_be_bytes(count.try_into().map_err(|_| invalid())?);
    let count = usize::try_from(count).map_err(|_| invalid())?;
    if bytes.len() != count.div_ceil(8) {
        return Err(invalid());
    }
    let text: String = (0..count)
        .map(|i| {
            if bytes[i / 8] & (0x80 >> (i % 8)) != 0 {
                '1'
            } else {
                '0'
            }
        })
        .collect();
    w.str(&text);
    Ok(())
}

pub(crate) fn bits_from_text(text: &str, w: &mut PickleWriter) -> Result<(), String> {
    if !text.bytes().all(|b| b == b'0' || b == b'1') {
        return Err(format!("invalid bit string text '{text}'"));
    }
    w.str(text);
    Ok(())
}

/// An unsigned integer of up to 64 bits.
pub(crate) fn write_u64(v: u64, w: &mut PickleWriter) {
    match i64::try_from(v) {
        Ok(small) => w.int(small),
        // Nine little-endian bytes keep the two's-complement sign bit clear.
        Err(_) => w.int_from_le_bytes(&(v as u128).to_le_bytes()[..9]),
    }
}

pub(crate) fn unsigned_from_binary(
    data: &[u8],
    type_name: &str,
    w: &mut PickleWriter,
) -> Result<(), String> {
    let v = match data.len() {
        4 => u32::from_be_bytes(data.try_into().unwrap_or_default()) as u64,
        8 => u64::from_be_bytes(data.try_into().unwrap_or_default()),
        n => return Err(format!("binary {type_name} value has {n} bytes")),
    };
    write_u64(v, w);
    Ok(())
}

pub(crate) fn unsigned_from_text(
    text: &str,
    type_name: &str,
    w: &mut PickleWriter,
) -> Result<(), String> {
    let v: u64 = text
        .parse()
        .map_err(|_| format!("invalid {type_name} text '{text}'"))?;
    write_u64(v, w);
    Ok(())
}

/// Binary `tid`: uint32 block number, uint16 line pointer.
pub(crate) fn tid_from_binary(data: &[u8], w: &mut PickleWriter) -> Result<(), String> {
    let [b0, b1, b2, b3, o0, o1] = data else {
        return Err(format!(
            "binary tid value must be 6 bytes, got {}",
            data.len()
        ));
    };
    write_tid(
        u32::from_be_bytes([*b0, *b1, *b2, *b3]),
        u16::from_be_bytes([*o0, *o1]),
        w,
    );
    Ok(())
}

/// Text `tid`: `(block,offset)`.
pub(crate) fn tid_from_text(text: &str, w: &mut PickleWriter) -> Result<(), String> {
    let invalid = || format!("invalid tid text '{text}'");
    let (block, offset) = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .and_then(|t| t.split_once(','))
        .ok_or_else(invalid)?;
    write_tid(
        block.parse().map_err(|_| invalid())?,
        offset.parse().map_err(|_| invalid())?,
        w,
    );
    Ok(())
}

fn write_tid(block: u32, offset: u16, w: &mut PickleWriter) {
    w.begin_tuple(2);
    w.int(block as i64);
    w.int(offset as i64);
    w.end_tuple(2);
}

/// Binary `int2vector` (`oid::INT2`) or `oidvector` (`oid::OID`): an array.
pub(crate) fn int_vector_from_binary(
    data: &[u8],
    element_oid: u32,
    w: &mut PickleWriter,
) -> Result<(), String> {
    let element = |item: &[u8], w: &mut PickleWriter| -> Result<(), String> {
        match element_oid {
            oid::INT2 => w.int(int2_from_binary(item)? as i64),
            _ => w.int(oid_from_binary(item)? as i64),
        }
        Ok(())
    };
    array::array_from_binary(data, element_oid, w, &element)
}

/// Text `int2vector`/`oidvector`: `1 2 3`, empty for no elements.
pub(crate) fn int_vector_from_text(
    text: &str,
    type_name: &str,
    w: &mut PickleWriter,
) -> Result<(), String> {
    let max = if type_name == "int2vector" {
        i16::MAX as i64
    } else {
        u32::MAX as i64
    };
    let min = if type_name == "int2vector" {
        i16::MIN as i64
    } else {
        0
    };
    // Parsed before anything is written, so an error leaves no half-built list.
    let values = text
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().ok().filter(|v| (min..=max).contains(v)))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| format!("invalid {type_name} text '{text}'"))?;
    w.empty_list();
    w.mark();
    for v in values {
        w.int(v);
    }
    w.appends();
    Ok(())
}

/// The input text of `tid` from a `(block, offset)` tuple, or of `int2vector`/`oidvector`
/// from a list of ints (a tuple or list parameter arrives as a list).
pub(crate) fn int_list_param_text(
    items: &[ParamValue],
    type_oid: u32,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let name = oid::describe(type_oid);
    let ints = items
        .iter()
        .map(|v| match v {
            ParamValue::Int(i) => Some(*i),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| format!("parameter of type {name}: every item must be an int"))?;
    let text = match (type_oid, ints.as_slice()) {
        (oid::TID, [block, offset]) => format!("({block},{offset})"),
        (oid::TID, _) => {
            return Err(format!(
                "parameter of type tid: expected (block, offset), got {} items",
                ints.len()
            ))
        }
        _ => ints
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    };
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::python_harness::unhex;
    use crate::decode::tests::assert_both_formats_decode_to;
    use crate::decode::{ColumnDecoder, DecodeOptions};
    use crate::oid;
    use crate::pickle::PickleWriter;
    use crate::Format::{self, Binary, Text};


    /// Binary and text forms as PostgreSQL 18 sent them, and the Python value of both.
    #[test]
    fn system_types_from_server_bytes() {
        let cases: &[(u32, &str, &str, &str)] = &[
            (oid::BIT, "00000005b0", "10110", "'10110'"),
            (oid::VARBIT, "00000003a0", "101", "'101'"),
            (oid::VARBIT, "00000000", "", "''"),
            (oid::VARBIT, "0000000aff40", "1111111101", "'1111111101'"),
            (oid::XID, "0000002a", "42", "42"),
            (oid::XID, "ffffffff", "4294967295", "4294967295"),
            (oid::CID, "00000001", "1", "1"),
            (oid::XID8, "000000000000002a", "42", "42"),
            (
                oid::XID8,
                "ffffffffffffffff",
                "18446744073709551615",
                "18446744073709551615",
            ),
            (oid::TID, "000000000001", "(0,1)", "(0, 1)"),
            (
                oid::TID,
                "ffffffffffff",
                "(4294967295,65535)",
                "(4294967295, 65535)",
            ),
            (
                oid::INT2VECTOR,
                "0000000100000000000000150000000300000000000000020001000000020002000000020003",
                "1 2 3",
                "[1, 2, 3]",
            ),
            (
                oid::INT2VECTOR,
                "0000000100000000000000150000000000000000",
                "",
                "[]",
            ),
            (
                oid::OIDVECTOR,
                "00000001000000000000001a000000020000000000000004000000010000000400000002",
                "1 2",
                "[1, 2]",
            ),
        ];
        assert_both_formats_decode_to(cases);
    }

    #[test]
    fn malformed_system_values_are_errors() {
        let bad: &[(u32, Format, &[u8])] = &[
            (oid::BIT, Binary, &[0, 0, 0, 9, 0xff]),
            (oid::BIT, Binary, &[0xff, 0xff, 0xff, 0xff]),
            (oid::BIT, Binary, &[0, 0]),
            (oid::BIT, Text, b"012"),
            (oid::XID, Binary, &[0, 0, 1]),
            (oid::XID, Text, b"-1"),
            (oid::XID8, Text, b"18446744073709551616"),
            (oid::TID, Binary, &[0; 5]),
            (oid::TID, Text, b"(1,65536)"),
            (oid::TID, Text, b"1,2"),
            (oid::INT2VECTOR, Text, b"1 x"),
            (oid::INT2VECTOR, Text, b"40000"),
            (oid::OIDVECTOR, Text, b"-1"),
            (
                oid::INT2VECTOR,
                Binary,
                &unhex("00000001000000000000001a0000000000000000"),
            ),
        ];
        for (type_oid, format, data) in bad {
            let mut w = PickleWriter::new();
            let r = ColumnDecoder::new(*type_oid, *format, &DecodeOptions::default())
                .decode(Some(data), &mut w);
            assert!(r.is_err(), "{type_oid} {format:?} {data:?}");
        }
    }
}
