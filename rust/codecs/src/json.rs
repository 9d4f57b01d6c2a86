//! JSON documents straight into the pickle stream (no intermediate tree), and Python
//! values into JSON text for `json`/`jsonb` parameters.
//!
//! The parser gives what `json.loads` gives: objects → dict (later duplicate keys win),
//! arrays → list, integers → int of any size, numbers with a fraction or exponent →
//! float (correctly rounded, overflow → inf), `NaN`/`Infinity`/`-Infinity` accepted, and
//! `\uD800`-style lone surrogates kept as surrogates. It is iterative: nesting depth costs
//! heap, never stack, and pickle's own containers are built with MARK/APPENDS/SETITEMS.

use crate::marshal::{ParamValue, Tag};
use crate::pickle::PickleWriter;

/// CPython's default `sys.get_int_max_str_digits()`: `json.loads` refuses longer integers,
/// and the conversion below is quadratic in the digit count.
const MAX_INT_DIGITS: usize = 4300;

enum Frame {
    Array,
    Object,
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

/// Writes the Python value of the JSON document `text` (one value) to `w`.
pub(crate) fn json_to_pickle(text: &[u8], w: &mut PickleWriter) -> Result<(), String> {
    std::str::from_utf8(text).map_err(|_| "JSON document is not valid UTF-8".to_string())?;
    let mut p = Parser { text, pos: 0 };
    let mut stack: Vec<Frame> = Vec::new();
    'value: loop {
        p.skip_ws();
        match p.peek() {
            Some(b'{') => {
                p.pos += 1;
                w.empty_dict();
                w.mark();
                p.skip_ws();
                if p.peek() == Some(b'}') {
                    p.pos += 1;
                    w.setitems();
                } else {
                    stack.push(Frame::Object);
                    p.key(w)?;
                    continue 'value;
                }
            }
            Some(b'[') => {
                p.pos += 1;
                w.empty_list();
                w.mark();
                p.skip_ws();
                if p.peek() == Some(b']') {
                    p.pos += 1;
                    w.appends();
                } else {
                    stack.push(Frame::Array);
                    continue 'value;
                }
            }
            _ => p.scalar(w)?,
        }
        // A value is complete: close containers until one expects another item.
        loop {
            p.skip_ws();
            match stack.last() {
                None => {
                    return if p.pos == p.text.len() {
                        Ok(())
                    } else {
                        Err(p.error("extra data after the document"))
                    };
                }
                Some(Frame::Array) => match p.next() {
                    Some(b',') => continue 'value,
                    Some(b']') => {
                        w.appends();
                        stack.pop();
                    }
                    _ => return Err(p.error("expected ',' or ']'")),
                },
                Some(Frame::Object) => match p.next() {
                    Some(b',') => {
                        p.skip_ws();
                        p.key(w)?;
                        continue 'value;
                    }
                    Some(b'}') => {
                        w.setitems();
                        stack.pop();
                    }
                    _ => return Err(p.error("expected ',' or '}'")),
                },
            }
        }
    }
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("invalid JSON at byte {}: {what}", self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.pos += b.is_some() as usize;
        b
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// An object key, the ':' after it, and nothing more.
    fn key(&mut self, w: &mut PickleWriter) -> Result<(), String> {
        if self.next() != Some(b'"') {
            return Err(self.error("expected a string key"));
        }
        self.string(w)?;
        self.skip_ws();
        if self.next() != Some(b':') {
            return Err(self.error("expected ':'"));
        }
        Ok(())
    }

    fn scalar(&mut self, w: &mut PickleWriter) -> Result<(), String> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string(w)
            }
            Some(b'-' | b'0'..=b'9') => {
                if self.literal(b"-Infinity") {
                    w.float(f64::NEG_INFINITY);
                    Ok(())
                } else {
                    self.number(w)
                }
            }
            _ if self.literal(b"null") => {
                w.none();
                Ok(())
            }
            _ if self.literal(b"true") => {
                w.bool(true);
                Ok(())
            }
            _ if self.literal(b"false") => {
                w.bool(false);
                Ok(())
            }
            _ if self.literal(b"NaN") => {
                w.float(f64::NAN);
                Ok(())
            }
            _ if self.literal(b"Infinity") => {
                w.float(f64::INFINITY);
                Ok(())
            }
            _ => Err(self.error("expected a value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self, w: &mut PickleWriter) -> Result<(), String> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        self.pos += negative as usize;
        let int_start = self.pos;
        let int_digits = self.digits();
        if int_digits == 0 || (int_digits > 1 && self.text[int_start] == b'0') {
            return Err(self.error("invalid number"));
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
            is_float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
            is_float = true;
        }
        // Only ASCII digits and signs were consumed, so this is valid UTF-8.
        let literal = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or_default();
        if is_float {
            w.float(literal.parse().map_err(|_| self.error("invalid number"))?);
        } else if let Ok(v) = literal.parse::<i64>() {
            w.int(v);
        } else if int_digits > MAX_INT_DIGITS {
            return Err(format!("JSON integer has {int_digits} digits, more than Python's limit of {MAX_INT_DIGITS}"));
        } else {
            w.int_from_le_bytes(&decimal_to_twos_complement_le(
                &self.text[int_start..self.pos],
                negative,
            ));
        }
        Ok(())
    }

    /// The rest of a string whose opening quote was consumed.
    fn string(&mut self, w: &mut PickleWriter) -> Result<(), String> {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b'"') => {
                    w.utf8(&self.text[start..self.pos]);
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => break,
                Some(0..=0x1f) | None => {
                    return Err(self.error("unterminated string or control character in string"))
                }
                Some(_) => self.pos += 1,
            }
        }
        let mut buf = self.text[start..self.pos].to_vec();
        loop {
            match self.next() {
                Some(b'"') => {
                    w.utf8(&buf);
                    return Ok(());
                }
                Some(b'\\') => {
                    let c = match self.next() {
                        Some(b'"') => '"' as u32,
                        Some(b'\\') => '\\' as u32,
                        Some(b'/') => '/' as u32,
                        Some(b'b') => 0x08,
                        Some(b'f') => 0x0c,
                        Some(b'n') => '\n' as u32,
                        Some(b'r') => '\r' as u32,
                        Some(b't') => '\t' as u32,
                        Some(b'u') => {
                            let first = self.hex4()?;
                            let is_high = (0xD800..0xDC00).contains(&first);
                            if is_high && self.text[self.pos..].starts_with(b"\\u") {
                                let save = self.pos;
                                self.pos += 2;
                                let second = self.hex4()?;
                                if (0xDC00..0xE000).contains(&second) {
                                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                                } else {
                                    self.pos = save;
                                    first
                                }
                            } else {
                                first
                            }
                        }
                        _ => return Err(self.error("invalid escape")),
                    };
                    push_wtf8(&mut buf, c);
                }
                Some(0..=0x1f) | None => {
                    return Err(self.error("unterminated string or control character in string"))
                }
                Some(b) => buf.push(b),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("invalid \\u escape"))?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("invalid \\u escape"));
        }
        self.pos += 4;
        Ok(u32::from_str_radix(text, 16).unwrap_or(0))
    }
}

/// UTF-8 encoding generalised to surrogate code points, which the unpickler's
/// `surrogatepass` decoding turns back into the lone surrogate `json.loads` would keep.
fn push_wtf8(buf: &mut Vec<u8>, c: u32) {
    match char::from_u32(c) {
        Some(ch) => buf.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
        None => buf.extend_from_slice(&[
            0xE0 | (c >> 12) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]),
    }
}

/// Two's-complement little-endian bytes of a decimal integer given as ASCII digits.
fn decimal_to_twos_complement_le(digits: &[u8], negative: bool) -> Vec<u8> {
    let mut magnitude: Vec<u8> = Vec::new();
    for d in digits {
        let mut carry = (d - b'0') as u32;
        for byte in magnitude.iter_mut() {
            let v = *byte as u32 * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        if carry > 0 {
            magnitude.push(carry as u8);
        }
    }
    magnitude.push(0); // room for the sign bit
    if negative {
        let mut carry = 1u16;
        for byte in magnitude.iter_mut() {
            let v = (!*byte) as u16 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
    }
    magnitude
}

/// Deepest nesting serialised; `marshal` input is bounded the same way.
const MAX_DEPTH: usize = 1000;

/// Appends the JSON text of a Python value, as `json.dumps` would write it except that NaN
/// and infinities are refused (PostgreSQL rejects them) and dict keys must be str.
pub(crate) fn json_from_param(v: &ParamValue, out: &mut String) -> Result<(), String> {
    json_value(v, out, 0)
}

fn json_value(v: &ParamValue, out: &mut String, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("value is nested too deeply for JSON".to_string());
    }
    match v {
        ParamValue::None => out.push_str("null"),
        ParamValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ParamValue::Int(i) => out.push_str(&i.to_string()),
        ParamValue::BigInt { negative, digits15 } => {
            if *negative {
                out.push('-');
            }
            out.push_str(&crate::numeric::digits15_to_decimal(digits15));
        }
        ParamValue::Float(f) => {
            if !f.is_finite() {
                return Err(format!(
                    "float {} is not valid JSON",
                    crate::textrepr::python_float_repr(*f)
                ));
            }
            out.push_str(&format!("{f:?}"));
        }
        ParamValue::Str(s) => json_string(s, out),
        ParamValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_value(item, out, depth + 1)?;
            }
            out.push(']');
        }
        ParamValue::Dict(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match key {
                    ParamValue::Str(k) => json_string(k, out),
                    other => {
                        return Err(format!(
                            "JSON object keys must be str, not {}",
                            other.python_type_name()
                        ));
                    }
                }
                out.push_str(": ");
                json_value(value, out, depth + 1)?;
            }
            out.push('}');
        }
        ParamValue::Tagged(Tag::Decimal, parts) => {
            let text = match parts.first() {
                Some(ParamValue::Str(t)) => *t,
                _ => return Err("malformed Decimal".to_string()),
            };
            match crate::numeric::parse_decimal(text) {
                Ok(crate::numeric::ParsedDecimal::Finite { .. }) => out.push_str(text.trim()),
                _ => return Err(format!("Decimal('{text}') is not valid JSON")),
            }
        }
        ParamValue::Tagged(Tag::Json, parts) => match parts.first() {
            Some(ParamValue::Str(t)) => out.push_str(t),
            _ => return Err("malformed Json value".to_string()),
        },
        ParamValue::Tagged(Tag::Text, parts) => match parts.first() {
            Some(ParamValue::Str(t)) => json_string(t, out),
            _ => return Err("malformed Text value".to_string()),
        },
        other => {
            return Err(format!(
                "Object of type {} is not JSON serializable",
                other.python_type_name()
            ));
        }
    }
    Ok(())
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python_harness::run_python;

    /// Checks that our pickle of each document equals `json.loads` of it.
    fn assert_same_as_json_loads(docs: &[&str]) {
        let mut w = PickleWriter::new();
        w.empty_list();
        w.mark();
        for doc in docs {
            json_to_pickle(doc.as_bytes(), &mut w).unwrap_or_else(|e| panic!("{doc}: {e}"));
        }
        w.appends();
        w.stop();
        let mut input = (w.len() as u32).to_le_bytes().to_vec();
        input.extend_from_slice(w.as_bytes());
        input.extend_from_slice(docs.join("\n\u{1}\n").as_bytes());
        let out = run_python(
            "data = sys.stdin.buffer.read(); n = int.from_bytes(data[:4], 'little')\n\
             ours = pickle.loads(data[4:4 + n])\n\
             docs = data[4 + n:].decode('utf-8').split('\\n\\x01\\n')\n\
             for doc, mine in zip(docs, ours):\n\
             \x20   ref = json.loads(doc)\n\
             \x20   same = repr(ref) == repr(mine) and type(ref) is type(mine)\n\
             \x20   print('ok' if same else f'MISMATCH {doc!r}: {mine!r} != {ref!r}')\n",
            &input,
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), docs.len());
        assert!(text.lines().all(|l| l == "ok"), "{text}");
    }

    #[test]
    fn documents_match_json_loads() {
        let big = format!("[{}, -{}]", "9".repeat(300), "1".repeat(4300));
        assert_same_as_json_loads(&[
            "null",
            " true ",
            "false",
            "0",
            "-0",
            "-0.0",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
            &big,
            "1.5",
            "1e400",
            "-1E-400",
            "2.5e-3",
            "NaN",
            "Infinity",
            "[-Infinity]",
            "\"\"",
            "\"plain é 😀\"",
            r#""esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \ud800 x \udc00 \ud800\u0041""#,
            "[]",
            "{}",
            "[[], {}, [[]]]",
            r#"{"a": 1, "b": [1, 2, {"c": null}], "a": 2}"#,
            r#"{"k\u00e9y": {"nested": {"deep": [true, false]}}}"#,
            "  [ 1 , 2 ]  ",
        ]);
    }

    #[test]
    fn deep_nesting_uses_no_stack() {
        let depth = 100_000;
        let doc = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let mut w = PickleWriter::new();
        json_to_pickle(doc.as_bytes(), &mut w).unwrap();
    }

    #[test]
    fn invalid_documents_are_errors() {
        for bad in [
            "",
            " ",
            "[",
            "]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{1: 2}",
            "[1,]",
            "[1 2]",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "tru",
            "nul",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"a\nb\"",
            "1 2",
            "[1]]",
            "{\"a\":1,}",
            "-Inf",
            "+1",
        ] {
            let mut w = PickleWriter::new();
            assert!(json_to_pickle(bad.as_bytes(), &mut w).is_err(), "{bad:?}");
        }
        assert!(json_to_pickle(&[b'"', 0xff, b'"'], &mut PickleWriter::new()).is_err());
        let too_long = "1".repeat(4301);
        assert!(json_to_pickle(too_long.as_bytes(), &mut PickleWriter::new()).is_err());
    }

    #[test]
    fn json_from_param_matches_json_semantics() {
        let v = ParamValue::Dict(vec![
            (
                ParamValue::Str("a\"\\\n\u{1}é"),
                ParamValue::List(vec![
                    ParamValue::Int(1),
                    ParamValue::None,
                    ParamValue::Bool(true),
                ]),
            ),
            (ParamValue::Str("f"), ParamValue::Float(1e-7)),
            (ParamValue::Str("g"), ParamValue::Float(2.0)),
            (
                ParamValue::Str("big"),
                ParamValue::BigInt {
                    negative: true,
                    digits15: vec![0, 0, 0, 0, 1 << 10],
                },
            ),
            (
                ParamValue::Str("d"),
                ParamValue::Tagged(Tag::Decimal, vec![ParamValue::Str("1.50E+3")]),
            ),
            (
                ParamValue::Str("j"),
                ParamValue::Tagged(Tag::Json, vec![ParamValue::Str("[1, 2]")]),
            ),
        ]);
        let mut text = String::new();
        json_from_param(&v, &mut text).unwrap();
        let out = run_python("print(json.loads(sys.stdin.read()))", text.as_bytes());
        assert_eq!(
            String::from_utf8(out).unwrap().trim(),
            "{'a\"\\\\\\n\\x01é': [1, None, True], 'f': 1e-07, 'g': 2.0, 'big': -1180591620717411303424, 'd': 1500.0, 'j': [1, 2]}"
        );
        for bad in [
            ParamValue::Float(f64::NAN),
            ParamValue::Bytes(b"x"),
            ParamValue::Dict(vec![(ParamValue::Int(1), ParamValue::None)]),
            ParamValue::Tagged(Tag::Decimal, vec![ParamValue::Str("NaN")]),
            ParamValue::Tagged(
                Tag::Date,
                vec![
                    ParamValue::Int(2000),
                    ParamValue::Int(1),
                    ParamValue::Int(1),
                ],
            ),
        ] {
            assert!(
                json_from_param(&bad, &mut String::new()).is_err(),
                "{bad:?}"
            );
        }
    }
}
