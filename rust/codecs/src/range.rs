//! Range and multirange values in both wire formats: each range becomes a
//! `pyro_postgres.Range` (see [`PickleWriter::begin_range`]), a multirange a list of them.
//!
//! The bounds are decoded by the subtype's own decoder, handed in as an
//! [`ElementDecoder`] exactly as for array elements, so a bound follows the same policies
//! as a column of the subtype (`infinity` timestamps become `datetime.max`, and so on).
//! An *unbounded* side is different from an infinite bound: `(,)` has `None` bounds,
//! `[-infinity,infinity]` has `datetime.min`/`datetime.max` ones.

use crate::array::ElementDecoder;
use crate::pickle::PickleWriter;

// Flag bits of the binary form (PostgreSQL's `rangetypes.h`).
pub(crate) const EMPTY: u8 = 0x01;
pub(crate) const LB_INC: u8 = 0x02;
pub(crate) const UB_INC: u8 = 0x04;
pub(crate) const LB_INF: u8 = 0x08;
pub(crate) const UB_INF: u8 = 0x10;

/// The flags `pyro_postgres._types._make_range` takes: empty, or the inclusive bits of
/// the sides that have a bound (the server never marks an unbounded side inclusive; a
/// hand-made value might, and the Python class does not allow it either).
fn python_flags(flags: u8) -> u8 {
    if flags & EMPTY != 0 {
        return EMPTY;
    }
    let mut f = flags & (LB_INC | UB_INC);
    if flags & LB_INF != 0 {
        f &= !LB_INC;
    }
    if flags & UB_INF != 0 {
        f &= !UB_INC;
    }
    f
}

fn empty_range(w: &mut PickleWriter) {
    w.begin_range();
    w.none();
    w.none();
    w.end_range(EMPTY);
}

struct BinReader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> BinReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.data.len() - self.pos {
            return Err(format!("binary {} is truncated", self.what));
        }
        self.pos += n;
        Ok(&self.data[self.pos - n..self.pos])
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length-prefixed part; a negative length (NULL) is never valid inside a range.
    fn part(&mut self) -> Result<&'a [u8], String> {
        let len = self.i32()?;
        if len < 0 {
            return Err(format!("binary {} has a part of length {len}", self.what));
        }
        self.take(len as usize)
    }
}

/// `flags (1 byte) [lower: i32 length + bytes] [upper: i32 length + bytes]`, where a bound
/// is present unless the range is empty or that side is unbounded.
pub(crate) fn range_from_binary(
    data: &[u8],
    w: &mut PickleWriter,
    bound: ElementDecoder,
) -> Result<(), String> {
    let Some((&flags, _)) = data.split_first() else {
        return Err("binary range is empty (no flags byte)".to_string());
    };
    let mut r = BinReader {
        data,
        pos: 1,
        what: "range",
    };
    if flags & EMPTY != 0 {
        if data.len() != 1 {
            return Err("binary empty range has trailing bytes".to_string());
        }
        empty_range(w);
        return Ok(());
    }
    // Read both bounds before writing anything, so a truncated value leaves no half-built
    // Range behind when only the second bound is missing.
    let lower = (flags & LB_INF == 0).then(|| r.part()).transpose()?;
    let upper = (flags & UB_INF == 0).then(|| r.part()).transpose()?;
    if r.pos != data.len() {
        return Err("binary range has trailing bytes".to_string());
    }
    w.begin_range();
    for b in [lower, upper] {
        match b {
            Some(bytes) => bound(bytes, w)?,
            None => w.none(),
        }
    }
    w.end_range(python_flags(flags));
    Ok(())
}

/// `count (i32)` then each range as `i32 length + range bytes`.
pub(crate) fn multirange_from_binary(
    data: &[u8],
    w: &mut PickleWriter,
    bound: ElementDecoder,
) -> Result<(), String> {
    let mut r = BinReader {
        data,
        pos: 0,
        what: "multirange",
    };
    let count = r.i32()?;
    // Every range takes at least a length and a flags byte, which bounds work on corrupt
    // input before anything is written.
    if count < 0 || count as usize > (data.len() - r.pos) / 5 {
        return Err(format!("binary multirange claims {count} ranges"));
    }
    w.empty_list();
    w.mark();
    for _ in 0..count {
        range_from_binary(r.part()?, w, bound)?;
    }
    w.appends();
    if r.pos != data.len() {
        return Err("binary multirange has trailing bytes".to_string());
    }
    Ok(())
}

/// One range in text form, bounds unquoted and unescaped (`None` when unbounded).
struct TextRange {
    flags: u8,
    lower: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
}

struct TextParser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl TextParser<'_> {
    fn invalid(&self, what: &str) -> String {
        format!(
            "malformed {what} text at byte {}: '{}'",
            self.pos,
            String::from_utf8_lossy(self.text)
        )
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn at_empty_keyword(&self) -> bool {
        self.text
            .get(self.pos..self.pos + 5)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"empty"))
    }

    /// A range as `range_out` prints it: `empty`, or `[`/`(`, lower, `,`, upper, `]`/`)`.
    /// Bounds follow `range_parse_bound`: nothing means unbounded, `"` toggles quoting
    /// (`""` inside quotes is a quote), `\` escapes the next byte anywhere.
    fn range(&mut self, what: &str) -> Result<TextRange, String> {
        if self.at_empty_keyword() {
            self.pos += 5;
            return Ok(TextRange {
                flags: EMPTY,
                lower: None,
                upper: None,
            });
        }
        let mut flags = match self.peek() {
            Some(b'[') => LB_INC,
            Some(b'(') => 0,
            _ => return Err(self.invalid(what)),
        };
        self.pos += 1;
        let lower = self.bound(b',', b',', what)?;
        self.pos += 1; // the ','
        let upper = self.bound(b')', b']', what)?;
        if self.peek() == Some(b']') {
            flags |= UB_INC;
        }
        self.pos += 1;
        if lower.is_none() {
            flags = (flags & !LB_INC) | LB_INF;
        }
        if upper.is_none() {
            flags = (flags & !UB_INC) | UB_INF;
        }
        Ok(TextRange {
            flags,
            lower,
            upper,
        })
    }

    /// The bound up to (not including) an unquoted `end1` or `end2`.
    fn bound(&mut self, end1: u8, end2: u8, what: &str) -> Result<Option<Vec<u8>>, String> {
        match self.peek() {
            Some(b) if b == end1 || b == end2 => return Ok(None),
            None => return Err(self.invalid(what)),
            _ => {}
        }
        let mut value = Vec::new();
        let mut quoted = false;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.invalid(what));
            };
            if !quoted && (b == end1 || b == end2) {
                return Ok(Some(value));
            }
            self.pos += 1;
            match b {
                b'\\' => {
                    value.push(self.peek().ok_or_else(|| self.invalid(what))?);
                    self.pos += 1;
                }
                b'"' if quoted && self.peek() == Some(b'"') => {
                    value.push(b'"');
                    self.pos += 1;
                }
                b'"' => quoted = !quoted,
                _ => value.push(b),
            }
        }
    }
}

fn write_text_range(
    r: TextRange,
    w: &mut PickleWriter,
    bound: ElementDecoder,
) -> Result<(), String> {
    if r.flags & EMPTY != 0 {
        empty_range(w);
        return Ok(());
    }
    w.begin_range();
    for b in [r.lower, r.upper] {
        match b {
            Some(bytes) => bound(&bytes, w)?,
            None => w.none(),
        }
    }
    w.end_range(python_flags(r.flags));
    Ok(())
}

/// `[1,5)`, `empty`, `(,)`, `["2024-01-01 00:00:00+05:45",infinity)`, …
pub(crate) fn range_from_text(
    text: &[u8],
    w: &mut PickleWriter,
    bound: ElementDecoder,
) -> Result<(), String> {
    let mut p = TextParser { text, pos: 0 };
    p.skip_space();
    let r = p.range("range")?;
    p.skip_space();
    if p.pos != text.len() {
        return Err(p.invalid("range"));
    }
    write_text_range(r, w, bound)
}

/// `{}`, `{[1,3),[5,7)}`; empty ranges inside are dropped, as the server does on input.
pub(crate) fn multirange_from_text(
    text: &[u8],
    w: &mut PickleWriter,
    bound: ElementDecoder,
) -> Result<(), String> {
    let mut p = TextParser { text, pos: 0 };
    p.skip_space();
    if p.peek() != Some(b'{') {
        return Err(p.invalid("multirange"));
    }
    p.pos += 1;
    let mut ranges = Vec::new();
    p.skip_space();
    if p.peek() == Some(b'}') {
        p.pos += 1;
    } else {
        loop {
            p.skip_space();
            let r = p.range("multirange")?;
            if r.flags & EMPTY == 0 {
                ranges.push(r);
            }
            p.skip_space();
            match p.peek() {
                Some(b',') => p.pos += 1,
                Some(b'}') => {
                    p.pos += 1;
                    break;
                }
                _ => return Err(p.invalid("multirange")),
            }
        }
    }
    p.skip_space();
    if p.pos != text.len() {
        return Err(p.invalid("multirange"));
    }
    w.empty_list();
    w.mark();
    for r in ranges {
        write_text_range(r, w, bound)?;
    }
    w.appends();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::python_harness::unhex;
    use super::*;
    use crate::decode::tests::decode_all;
    use crate::decode::{ColumnDecoder, DecodeOptions};
    use crate::oid;
    use crate::python_harness::{python_reprs, python_true};
    use crate::Format;


    /// (type, binary as the server sent it, text as the server sent it, Python repr), from
    /// PostgreSQL 18 with `TimeZone = 'Asia/Kathmandu'` (+05:45) and `DateStyle = ISO`.
    pub(crate) const SERVER_VALUES: &[(u32, &str, &str, &str)] = &[
        (oid::INT4RANGE, "0200000004000000010000000400000005", "[1,5)", "Range(1, 5, '[)')"),
        (oid::INT4RANGE, "01", "empty", "Range(empty=True)"),
        (oid::INT4RANGE, "18", "(,)", "Range(None, None, '()')"),
        // '(-2147483648,0]' made canonical
        (oid::INT4RANGE, "0200000004800000010000000400000001", "[-2147483647,1)", "Range(-2147483647, 1, '[)')"),
        (
            oid::INT8RANGE,
            "02000000088000000000000000000000087fffffffffffffff",
            "[-9223372036854775808,9223372036854775807)",
            "Range(-9223372036854775808, 9223372036854775807, '[)')",
        ),
        (oid::INT8RANGE, "08000000080000000000000006", "(,6)", "Range(None, 6, '()')"),
        (oid::NUMRANGE, "120000000c000200004000000200011388", "[-1.50,)", "Range(Decimal('-1.50'), None, '[)')"),
        (
            oid::NUMRANGE,
            "060000000800000000f00000200000000800000000c0000000",
            "[-Infinity,NaN]",
            "Range(Decimal('-Infinity'), Decimal('NaN'), '[]')",
        ),
        (
            oid::DATERANGE,
            "020000000400002279000000040000227b",
            "[2024-02-29,2024-03-02)",
            "Range(datetime.date(2024, 2, 29), datetime.date(2024, 3, 2), '[)')",
        ),
        // Infinite bounds follow the date policy; they are not unbounded sides.
        (
            oid::DATERANGE,
            "060000000480000000000000047fffffff",
            "[-infinity,infinity]",
            "Range(datetime.date(1, 1, 1), datetime.date(9999, 12, 31), '[]')",
        ),
        (oid::DATERANGE, "08000000047fffffff", "(,infinity)", "Range(None, datetime.date(9999, 12, 31), '()')"),
        (
            oid::TSRANGE,
            "0600000008fffc96188bb60220000000087fffffffffffffff",
            "[\"1969-07-20 20:17:40.5\",infinity]",
            "Range(datetime.datetime(1969, 7, 20, 20, 17, 40, 500000), datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), '[]')",
        ),
        (
            oid::TSTZRANGE,
            "02000000080002b0d103185100000000080002b340a02cf100",
            "[\"2024-01-01 00:00:00+05:45\",\"2024-02-01 00:00:00+05:45\")",
            "Range(datetime.datetime(2023, 12, 31, 18, 15, tzinfo=datetime.timezone.utc), \
             datetime.datetime(2024, 1, 31, 18, 15, tzinfo=datetime.timezone.utc), '[)')",
        ),
        (
            oid::TSTZRANGE,
            "04000000088000000000000000000000080000000000000001",
            "(-infinity,\"2000-01-01 05:45:00.000001+05:45\"]",
            "Range(datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), \
             datetime.datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=datetime.timezone.utc), '(]')",
        ),
        (
            oid::INT4MULTIRANGE,
            "00000002000000110200000004000000010000000400000003000000110200000004000000050000000400000007",
            "{[1,3),[5,7)}",
            "[Range(1, 3, '[)'), Range(5, 7, '[)')]",
        ),
        (oid::INT8MULTIRANGE, "00000000", "{}", "[]"),
        (
            oid::NUMMULTIRANGE,
            "000000020000000d080000000800000000000000000000001f060000000c0002000000000001000213880000000a00010000000000000003",
            "{(,0),[2.5,3]}",
            "[Range(None, Decimal('0'), '()'), Range(Decimal('2.5'), Decimal('3'), '[]')]",
        ),
        (
            oid::DATEMULTIRANGE,
            "000000020000001102000000040000223e00000004000022420000000912000000040000225d",
            "{[2024-01-01,2024-01-05),[2024-02-01,)}",
            "[Range(datetime.date(2024, 1, 1), datetime.date(2024, 1, 5), '[)'), \
             Range(datetime.date(2024, 2, 1), None, '[)')]",
        ),
        (
            oid::TSMULTIRANGE,
            "000000010000001902000000080002b0dfe3d4f000000000080002b0e0ba689400",
            "{[\"2024-01-01 12:00:00\",\"2024-01-01 13:00:00\")}",
            "[Range(datetime.datetime(2024, 1, 1, 12, 0), datetime.datetime(2024, 1, 1, 13, 0), '[)')]",
        ),
        (
            oid::TSTZMULTIRANGE,
            "000000010000000d08000000080002b0d5d4e94000",
            "{(,\"2024-01-01 05:45:00+05:45\")}",
            "[Range(None, datetime.datetime(2024, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), '()')]",
        ),
        (
            oid::INT4RANGE_ARRAY,
            "000000010000000100000f400000000300000001000000110200000004000000010000000400000002ffffffff0000000101",
            "{\"[1,2)\",NULL,empty}",
            "[Range(1, 2, '[)'), None, Range(empty=True)]",
        ),
        (
            oid::INT4MULTIRANGE_ARRAY,
            "00000001000000010000116300000003000000010000001900000001000000110200000004000000010000000400000002ffffffff0000000400000000",
            "{\"{[1,2)}\",NULL,\"{}\"}",
            "[[Range(1, 2, '[)')], None, []]",
        ),
        (
            oid::TSTZRANGE_ARRAY,
            "000000010000000000000f4600000001000000010000000d12000000080002b0d5d4e94000",
            "{\"[\\\"2024-01-01 05:45:00+05:45\\\",)\"}",
            "[Range(datetime.datetime(2024, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), None, '[)')]",
        ),
    ];

    #[test]
    fn server_values_decode_to_the_same_range_in_both_formats() {
        let mut cells = Vec::new();
        for (type_oid, binary, text, _) in SERVER_VALUES {
            cells.push((*type_oid, Format::Binary, unhex(binary)));
            cells.push((*type_oid, Format::Text, text.as_bytes().to_vec()));
        }
        let reprs = decode_all(&cells);
        for (i, (type_oid, _, text, expected)) in SERVER_VALUES.iter().enumerate() {
            let expected = expected.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(reprs[2 * i], expected, "{type_oid} binary of {text}");
            assert_eq!(reprs[2 * i + 1], expected, "{type_oid} text {text}");
        }
    }

    #[test]
    fn ranges_are_pyro_postgres_range_objects() {
        let cells: Vec<_> = SERVER_VALUES[..3]
            .iter()
            .map(|(t, b, _, _)| (*t, Format::Binary, unhex(b)))
            .collect();
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        for (t, f, data) in &cells {
            ColumnDecoder::new(*t, *f, &DecodeOptions::default())
                .decode(Some(data), &mut w)
                .unwrap();
        }
        w.appends();
        w.stop();
        assert!(python_true(
            w.as_bytes(),
            "type(v[0]).__module__ == 'pyro_postgres._types' and type(v[0]).__name__ == 'Range' \
             and v[0] == type(v[0])(1, 5) and 4 in v[0] and 5 not in v[0] \
             and v[1].isempty and not v[1] and v[2].lower_inf and v[2].upper_inf and 10**9 in v[2]"
        ));
        assert!(
            !ColumnDecoder::new(oid::INT4RANGE, Format::Binary, &DecodeOptions::default())
                .is_marshal_native()
        );
        assert!(!ColumnDecoder::new(
            oid::INT4MULTIRANGE_ARRAY,
            Format::Text,
            &DecodeOptions::default()
        )
        .is_marshal_native());
        for t in [
            oid::INT4RANGE,
            oid::TSTZMULTIRANGE,
            oid::DATERANGE_ARRAY,
            oid::NUMMULTIRANGE_ARRAY,
        ] {
            assert_eq!(crate::decode::result_format_for(t), Format::Binary);
        }
    }

    /// Bounds as `str`, to see exactly what the text parser extracted.
    fn text_bounds(text: &str, multi: bool) -> Result<Vec<String>, String> {
        let as_str = |b: &[u8], w: &mut PickleWriter| {
            w.str(std::str::from_utf8(b).map_err(|e| e.to_string())?);
            Ok(())
        };
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        if multi {
            multirange_from_text(text.as_bytes(), &mut w, &as_str)?;
        } else {
            range_from_text(text.as_bytes(), &mut w, &as_str)?;
        }
        w.appends();
        w.stop();
        Ok(python_reprs(w.as_bytes()))
    }

    #[test]
    fn text_bounds_are_unquoted_and_unescaped_like_range_parse_bound() {
        for (text, expected) in [
            (r#"["a b",c)"#, "Range('a b', 'c', '[)')"),
            (r#"("",)"#, "Range('', None, '()')"),
            (
                r#"["say ""hi""","back\\slash"]"#,
                r#"Range('say "hi"', 'back\\slash', '[]')"#,
            ),
            (r#"[a\,b,"x)y"]"#, "Range('a,b', 'x)y', '[]')"),
            (r#"[ab"c,d"e,f)"#, "Range('abc,de', 'f', '[)')"),
            ("  EMPTY ", "Range(empty=True)"),
            (" (,) ", "Range(None, None, '()')"),
            // An unbounded side is never inclusive, whatever the text says.
            ("[,]", "Range(None, None, '()')"),
        ] {
            assert_eq!(text_bounds(text, false).unwrap(), [expected], "{text}");
        }
        assert_eq!(
            text_bounds(r#"{ ["a}",b) , empty,(c,"d,e"]}"#, true).unwrap(),
            [r#"[Range('a}', 'b', '[)'), Range('c', 'd,e', '(]')]"#]
        );
        assert_eq!(text_bounds("{}", true).unwrap(), ["[]"]);
        assert_eq!(text_bounds(" { } ", true).unwrap(), ["[]"]);
    }

    #[test]
    fn malformed_ranges_are_errors() {
        for bad in [
            "",
            "[",
            "[1",
            "[1,",
            "[1,2",
            "1,2)",
            "[1;2)",
            "[1,2)x",
            "[1,2))",
            "emptyx",
            "empt",
            r#"["1,2)"#,
            r#"[1\"#,
            "{",
            "[1,2]]",
        ] {
            assert!(text_bounds(bad, false).is_err(), "range {bad:?}");
        }
        for bad in [
            "",
            "{",
            "{[1,2)",
            "{[1,2),}",
            "{,}",
            "[1,2)",
            "{[1,2)}x",
            "{[1,2) [3,4)}",
            "{x}",
        ] {
            assert!(text_bounds(bad, true).is_err(), "multirange {bad:?}");
        }
        let decode_err = |t: u32, f: Format, data: &[u8]| {
            let mut w = PickleWriter::new();
            ColumnDecoder::new(t, f, &DecodeOptions::default())
                .decode(Some(data), &mut w)
                .expect_err("should fail")
                .message
        };
        // Every truncation of every binary sample is an error, never a panic.
        for (t, binary, _, _) in SERVER_VALUES {
            let good = unhex(binary);
            for cut in 0..good.len() {
                decode_err(*t, Format::Binary, &good[..cut]);
            }
            decode_err(*t, Format::Binary, &[good.clone(), vec![0]].concat());
        }
        assert!(decode_err(
            oid::INT4RANGE,
            Format::Binary,
            &unhex("02ffffffff0000000400000005")
        )
        .contains("int4range"));
        assert!(decode_err(
            oid::INT4RANGE,
            Format::Binary,
            &unhex("020000000300000001000000040000000500")
        )
        .contains("int4"));
        assert!(
            decode_err(oid::INT4MULTIRANGE, Format::Binary, &unhex("7fffffff01"))
                .contains("int4multirange")
        );
        assert!(decode_err(oid::INT4RANGE, Format::Text, b"[1,x)").contains("invalid int4"));
        // Bounds beyond what Python holds follow the subtype's policy: an error.
        assert!(
            decode_err(oid::DATERANGE, Format::Text, b"[2024-01-01,10000-01-01)")
                .contains("outside")
        );
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let (t, binary, text, _) =
                SERVER_VALUES[(next() % SERVER_VALUES.len() as u64) as usize];
            for (f, mut data) in [
                (Format::Binary, unhex(binary)),
                (Format::Text, text.as_bytes().to_vec()),
            ] {
                if data.is_empty() {
                    continue;
                }
                let at = (next() as usize) % data.len();
                data[at] = next() as u8;
                let mut w = PickleWriter::new();
                let _ =
                    ColumnDecoder::new(t, f, &DecodeOptions::default()).decode(Some(&data), &mut w);
            }
        }
    }
}

#[cfg(test)]
mod encode_tests {
    use super::tests::SERVER_VALUES;
    use crate::encode::{encode_param, encode_param_text, Encoded};
    use crate::marshal::parse_params;
    use crate::oid;
    use crate::python_harness::run_python;
    use crate::Format;

    /// The parameter buffer `pyro_postgres._params.encode` makes of a Python expression
    /// (a list of values), so these tests go through the real `adapt`.
    fn python_params(values: &str) -> Vec<u8> {
        run_python(
            &format!(
                "from pyro_postgres import Range\n\
                 from pyro_postgres._params import encode\n\
                 from datetime import date, datetime, timezone\n\
                 sys.stdout.buffer.write(encode({values}))"
            ),
            b"",
        )
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn encoded(buf: &[u8], types: &[u32]) -> Vec<Result<(Encoded, String), String>> {
        let values = parse_params(buf).unwrap();
        assert_eq!(values.len(), types.len());
        values
            .iter()
            .zip(types)
            .map(|(v, t)| {
                let mut out = Vec::new();
                encode_param(v, *t, &mut out)
                    .map(|e| match e {
                        Encoded::Value(Format::Text) => (e, String::from_utf8(out).unwrap()),
                        _ => (e, hex(&out)),
                    })
                    .map_err(|e| e.message)
            })
            .collect()
    }

    fn server_binary(type_oid: u32, text: &str) -> String {
        SERVER_VALUES
            .iter()
            .find(|(t, _, x, _)| *t == type_oid && *x == text)
            .map(|(_, b, _, _)| b.to_string())
            .unwrap()
    }

    #[test]
    fn binary_parameters_are_the_bytes_the_server_sends() {
        let utc = "tzinfo=timezone.utc";
        let cases = [
            ("Range(1, 5)", oid::INT4RANGE, "[1,5)"),
            ("Range(empty=True)", oid::INT4RANGE, "empty"),
            ("Range()", oid::INT4RANGE, "(,)"),
            ("Range(None, 6, '[)')", oid::INT8RANGE, "(,6)"),
            ("Range(-2**63, 2**63 - 1)", oid::INT8RANGE, "[-9223372036854775808,9223372036854775807)"),
            ("Range(Decimal('-1.50'), None)", oid::NUMRANGE, "[-1.50,)"),
            ("Range(date(2024, 2, 29), date(2024, 3, 2))", oid::DATERANGE, "[2024-02-29,2024-03-02)"),
            // (datetime.max is sent as the finite 9999-12-31 23:59:59.999999, as for timestamp)
            (
                "[Range(datetime(2024, 1, 1, 12), datetime(2024, 1, 1, 13))]",
                oid::TSMULTIRANGE,
                "{[\"2024-01-01 12:00:00\",\"2024-01-01 13:00:00\")}",
            ),
            (
                &format!("Range(datetime(2023, 12, 31, 18, 15, {utc}), datetime(2024, 1, 31, 18, 15, {utc}))"),
                oid::TSTZRANGE,
                "[\"2024-01-01 00:00:00+05:45\",\"2024-02-01 00:00:00+05:45\")",
            ),
            ("[Range(1, 3), Range(5, 7)]", oid::INT4MULTIRANGE, "{[1,3),[5,7)}"),
            ("[]", oid::INT8MULTIRANGE, "{}"),
            (
                "[Range(None, Decimal('0'), '()'), Range(Decimal('2.5'), Decimal('3'), '[]')]",
                oid::NUMMULTIRANGE,
                "{(,0),[2.5,3]}",
            ),
            (
                "[Range(1, 2), None, Range(empty=True)]",
                oid::INT4RANGE_ARRAY,
                "{\"[1,2)\",NULL,empty}",
            ),
            ("[[Range(1, 2)], None, []]", oid::INT4MULTIRANGE_ARRAY, "{\"{[1,2)}\",NULL,\"{}\"}"),
        ];
        let values: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let types: Vec<u32> = cases.iter().map(|c| c.1).collect();
        let results = encoded(&python_params(&format!("[{}]", values.join(", "))), &types);
        for ((value, type_oid, text), got) in cases.iter().zip(results) {
            assert_eq!(
                got,
                Ok((
                    Encoded::Value(Format::Binary),
                    server_binary(*type_oid, text)
                )),
                "{value} as {}",
                oid::describe(*type_oid)
            );
        }
    }

    #[test]
    fn bounds_the_server_must_parse_make_a_text_literal() {
        let cases = [
            // str bounds are parsed by the server, as for a scalar parameter
            ("Range('1', '5', '[]')", oid::INT4RANGE, "[\"1\",\"5\"]"),
            // a naive datetime means the session time zone
            ("Range(datetime(2024, 1, 1), None)", oid::TSTZRANGE, "[\"2024-01-01 00:00:00\",)"),
            (
                "[Range(datetime(2024, 1, 1, tzinfo=timezone.utc), None), \
                 Range(datetime(2024, 1, 1, 12, 30), datetime(2024, 1, 2), '(]')]",
                oid::TSTZMULTIRANGE,
                "{[\"2024-01-01 00:00:00+00:00\",),(\"2024-01-01 12:30:00\",\"2024-01-02 00:00:00\"]}",
            ),
            (
                "[[Range(datetime(2024, 1, 1), None)], None]",
                oid::TSTZMULTIRANGE_ARRAY,
                "{\"{[\\\"2024-01-01 00:00:00\\\",)}\",NULL}",
            ),
            ("[Range('3', None), None]", oid::INT4RANGE_ARRAY, "{\"[\\\"3\\\",)\",NULL}"),
            // a type this crate does not know (a user-defined range): a quoted literal
            ("Range('a\"b', 'c\\\\d', '(]')", 99999, "(\"a\\\"b\",\"c\\\\d\"]"),
            ("Range(empty=True)", 99999, "empty"),
            ("Range(Decimal('1.5'), None)", 99999, "[\"1.5\",)"),
        ];
        let values: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let types: Vec<u32> = cases.iter().map(|c| c.1).collect();
        let results = encoded(&python_params(&format!("[{}]", values.join(", "))), &types);
        for ((value, type_oid, literal), got) in cases.iter().zip(results) {
            assert_eq!(
                got,
                Ok((Encoded::Value(Format::Text), literal.to_string())),
                "{value} as {type_oid}"
            );
        }
    }

    #[test]
    fn untyped_parameters_take_a_list_of_ranges_for_a_multirange() {
        let buf = python_params(
            "[[Range(1, 3), Range(5, None, '[]')], Range(None, 2, '(]'), [], [1, 2]]",
        );
        let got: Vec<String> = parse_params(&buf)
            .unwrap()
            .iter()
            .map(|v| {
                let mut out = Vec::new();
                assert!(encode_param_text(v, &mut out).unwrap());
                String::from_utf8(out).unwrap()
            })
            .collect();
        assert_eq!(
            got,
            [
                "{[\"1\",\"3\"),[\"5\",)}",
                "(,\"2\"]",
                "{}",
                "{\"1\",\"2\"}"
            ]
        );
    }

    #[test]
    fn mismatched_ranges_are_clear_errors() {
        let cases = [
            ("Range(1, 5)", oid::INT4, "cannot bind a Python Range to a parameter of type int4"),
            ("Range(1, 5)", oid::TEXT, "cannot bind a Python Range to a parameter of type text"),
            ("Range(1, 5)", oid::INT4_ARRAY, "cannot bind a Python Range to a parameter of type int4[]"),
            ("Range(1, 5)", oid::INT4MULTIRANGE, "cannot bind a Python Range to a parameter of type int4multirange"),
            ("[Range(1, 5)]", oid::INT4RANGE, "cannot bind a Python list to a parameter of type int4range"),
            ("5", oid::INT4RANGE, "cannot bind a Python int to a parameter of type int4range"),
            (
                "Range(date(2024, 1, 1), None)",
                oid::INT4RANGE,
                "parameter of type int4range: lower bound: cannot bind a Python date to a parameter of type int4",
            ),
            (
                "Range(1, 2**40)",
                oid::INT4RANGE,
                "parameter of type int4range: upper bound: parameter of type int4: 1099511627776 is out of range",
            ),
            (
                // checked even when the other bound already forces the text form
                "Range('1', date(2024, 1, 1))",
                oid::INT4RANGE,
                "upper bound: cannot bind a Python date",
            ),
            ("Range(1.5, 2)", oid::INT8RANGE, "lower bound: parameter of type int8: float 1.5 is not an integer"),
            ("[Range(1, 2), 3]", oid::INT4MULTIRANGE, "a multirange is a list of Range, not of int"),
            ("[Range(1, 2), None]", oid::INT4MULTIRANGE, "a multirange is a list of Range, not of NoneType"),
            ("[Range(1, 2)]", oid::INT4MULTIRANGE_ARRAY, "elements must be lists of Range (multiranges) or None, not Range"),
            ("Range([1], None)", 99999, "a list cannot be a range bound"),
        ];
        let values: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let types: Vec<u32> = cases.iter().map(|c| c.1).collect();
        let results = encoded(&python_params(&format!("[{}]", values.join(", "))), &types);
        for ((value, type_oid, needle), got) in cases.iter().zip(results) {
            let message = got.expect_err(value);
            assert!(message.contains(needle), "{value} as {type_oid}: {message}");
        }
    }
}
