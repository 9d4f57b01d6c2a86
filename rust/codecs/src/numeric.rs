//! `numeric`: PostgreSQL's binary form (base-10000 digits) to and from decimal text.
//!
//! Binary layout: `ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: [i16]`,
//! value = sign × Σ digits[i] × 10000^(weight − i), shown with exactly `dscale` fraction
//! digits. The text built here is character for character what `numeric_out` prints, so a
//! value decoded from either wire format gives the same `Decimal` (same exponent too).

use std::fmt::Write;

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;
/// Largest display scale the server accepts (`NUMERIC_DSCALE_MASK`).
const DSCALE_MAX: i64 = 0x3FFF;
const NBASE: i32 = 10000;

/// Appends the text of a binary numeric to `out`.
#[cfg(test)]
pub(crate) fn numeric_from_binary(data: &[u8], out: &mut String) -> Result<(), String> {
    let mut ascii = Vec::new();
    numeric_ascii_from_binary(data, &mut ascii)?;
    out.push_str(std::str::from_utf8(&ascii).map_err(|e| e.to_string())?);
    Ok(())
}

/// Appends the text of a binary numeric to `out` as ASCII (this runs once per numeric
/// cell, so it formats digits by hand and allocates nothing).
pub(crate) fn numeric_ascii_from_binary(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if data.len() < 8 {
        return Err(format!(
            "{} bytes are too short for a binary numeric",
            data.len()
        ));
    }
    // Unsigned: the largest numerics (131072 digits before the point plus 16383 after)
    // have more than i16::MAX base-10000 digits, and the server sends the count as uint16.
    let ndigits = u16::from_be_bytes([data[0], data[1]]);
    let weight = i16::from_be_bytes([data[2], data[3]]) as i32;
    let sign = u16::from_be_bytes([data[4], data[5]]);
    let dscale = u16::from_be_bytes([data[6], data[7]]) as i32;
    if data.len() != 8 + 2 * ndigits as usize {
        return Err(format!(
            "binary numeric with {ndigits} digits has {} bytes",
            data.len()
        ));
    }
    match sign {
        NUMERIC_NAN => {
            out.extend_from_slice(b"NaN");
            return Ok(());
        }
        NUMERIC_PINF => {
            out.extend_from_slice(b"Infinity");
            return Ok(());
        }
        NUMERIC_NINF => {
            out.extend_from_slice(b"-Infinity");
            return Ok(());
        }
        NUMERIC_POS | NUMERIC_NEG => {}
        _ => return Err(format!("binary numeric has an invalid sign 0x{sign:04x}")),
    }
    if dscale as i64 > DSCALE_MAX {
        return Err(format!("binary numeric has an invalid scale {dscale}"));
    }
    let digits = &data[8..];
    // Validated once here, so the formatting below reads groups without checks.
    for pair in digits.chunks_exact(2) {
        let value = i16::from_be_bytes([pair[0], pair[1]]);
        if !(0..NBASE as i16).contains(&value) {
            return Err(format!(
                "binary numeric has an invalid base-10000 digit {value}"
            ));
        }
    }
    // Group `d` (0 = the first stored one); groups outside the stored ones are zero.
    let group = |d: i32| -> u32 {
        if d < 0 || d as usize >= digits.len() / 2 {
            return 0;
        }
        let i = 2 * d as usize;
        u16::from_be_bytes([digits[i], digits[i + 1]]) as u32
    };
    let four = |g: u32| -> [u8; 4] {
        [
            b'0' + (g / 1000) as u8,
            b'0' + (g / 100 % 10) as u8,
            b'0' + (g / 10 % 10) as u8,
            b'0' + (g % 10) as u8,
        ]
    };
    out.reserve(16 + 4 * (weight.max(0) as usize + 1) + dscale as usize);

    if sign == NUMERIC_NEG {
        out.push(b'-');
    }
    if weight < 0 {
        out.push(b'0');
    } else {
        // The first group carries no leading zeros.
        let first = group(0);
        let skip = match first {
            0..=9 => 3,
            10..=99 => 2,
            100..=999 => 1,
            _ => 0,
        };
        out.extend_from_slice(&four(first)[skip..]);
        for d in 1..=weight {
            out.extend_from_slice(&four(group(d)));
        }
    }
    if dscale > 0 {
        out.push(b'.');
        let start = out.len();
        let mut d = weight + 1;
        while ((out.len() - start) as i32) < dscale {
            out.extend_from_slice(&four(group(d)));
            d += 1;
        }
        out.truncate(start + dscale as usize);
    }
    Ok(())
}

/// A decimal number as parsed from text: ±`digits` × 10^`exponent`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParsedDecimal {
    NaN,
    Infinity {
        negative: bool,
    },
    /// `digits` are ASCII digits without leading zeros (empty for zero), trailing zeros
    /// kept because they carry the scale.
    Finite {
        negative: bool,
        digits: Vec<u8>,
        exponent: i64,
    },
}

/// Parses the text forms that `str(Decimal)`, `repr(float)` and `str(int)` produce (plus
/// the same forms with surrounding whitespace). `sNaN` is rejected: it has no numeric
/// counterpart.
pub(crate) fn parse_decimal(text: &str) -> Result<ParsedDecimal, String> {
    let invalid = || format!("'{text}' is not a valid decimal number");
    let t = text.trim();
    let (negative, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = rest.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Ok(ParsedDecimal::Infinity { negative });
    }
    if lower.starts_with("nan") && lower[3..].bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ParsedDecimal::NaN);
    }
    if lower.starts_with("snan") {
        return Err(format!("signalling NaN '{text}' has no numeric value"));
    }
    let (mantissa, exp_text) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let mut exponent: i64 = match exp_text {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            // Anything beyond ±10^15 is out of numeric's range either way; saturating keeps
            // the arithmetic below overflow-free.
            let magnitude = digits.trim_start_matches('0');
            let value: i64 = if magnitude.len() > 15 {
                1_000_000_000_000_000
            } else {
                magnitude.parse().unwrap_or(0)
            };
            if e.starts_with('-') {
                -value
            } else {
                value
            }
        }
    };
    exponent -= frac_part.len() as i64;
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .skip_while(|b| *b == b'0')
        .collect();
    Ok(ParsedDecimal::Finite {
        negative,
        digits,
        exponent,
    })
}

/// Appends the binary numeric for a parsed decimal.
pub(crate) fn numeric_to_binary(value: &ParsedDecimal, out: &mut Vec<u8>) -> Result<(), String> {
    let (negative, digits, exponent) = match value {
        ParsedDecimal::Finite {
            negative,
            digits,
            exponent,
        } => (*negative, digits, *exponent),
        ParsedDecimal::NaN => return special(NUMERIC_NAN, out),
        ParsedDecimal::Infinity { negative: false } => return special(NUMERIC_PINF, out),
        ParsedDecimal::Infinity { negative: true } => return special(NUMERIC_NINF, out),
    };
    let dscale = (-exponent).max(0);
    if dscale > DSCALE_MAX {
        return Err(format!(
            "scale {dscale} exceeds numeric's maximum of {DSCALE_MAX}"
        ));
    }
    if digits.is_empty() {
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&(dscale as u16).to_be_bytes());
        return Ok(());
    }
    // Decimal digit with power p lands in group floor(p / 4), at position p mod 4.
    let lowest_power = exponent;
    let highest_power = exponent + digits.len() as i64 - 1;
    let top_group = highest_power.div_euclid(4);
    let bottom_group = lowest_power.div_euclid(4);
    if top_group > i16::MAX as i64 {
        return Err("value is too large for numeric".to_string());
    }
    let mut groups = vec![0i16; (top_group - bottom_group + 1) as usize];
    for (i, d) in digits.iter().enumerate() {
        let power = highest_power - i as i64;
        let slot = (top_group - power.div_euclid(4)) as usize;
        groups[slot] += (*d - b'0') as i16 * 10i16.pow(power.rem_euclid(4) as u32);
    }
    // `digits` has no leading zeros, so only trailing zero groups can exist.
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.len() > u16::MAX as usize {
        return Err("value has too many digits for numeric".to_string());
    }
    out.extend_from_slice(&(groups.len() as u16).to_be_bytes());
    out.extend_from_slice(&(top_group as i16).to_be_bytes());
    out.extend_from_slice(&(if negative { NUMERIC_NEG } else { NUMERIC_POS }).to_be_bytes());
    out.extend_from_slice(&(dscale as u16).to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Ok(())
}

fn special(sign: u16, out: &mut Vec<u8>) -> Result<(), String> {
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    Ok(())
}

/// The value as an integer if it has no fractional part (`1.500E+3` is 1500), `None` if it
/// has one; `Err` if it is integral but beyond i128 (which every caller reports as out of
/// range).
pub(crate) fn decimal_to_integer(value: &ParsedDecimal) -> Option<Result<i128, ()>> {
    let ParsedDecimal::Finite {
        negative,
        digits,
        exponent,
    } = value
    else {
        return None;
    };
    let mut kept: &[u8] = digits;
    if *exponent < 0 {
        let drop = (-*exponent) as usize;
        let cut = kept.len().saturating_sub(drop);
        if kept[cut..].iter().any(|d| *d != b'0') {
            return None;
        }
        kept = &kept[..cut];
    }
    let mut acc: i128 = 0;
    let zeros = if *exponent > 0 { *exponent as usize } else { 0 };
    for d in kept
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'0', zeros.min(40)))
    {
        acc = match acc
            .checked_mul(10)
            .and_then(|a| a.checked_add((d - b'0') as i128))
        {
            Some(a) => a,
            None => return Some(Err(())),
        };
    }
    if zeros > 40 && acc != 0 {
        return Some(Err(()));
    }
    Some(Ok(if *negative { -acc } else { acc }))
}

/// Decimal text of a non-negative integer given as base-2^15 digits, least significant
/// first (CPython's internal and marshal representation).
pub(crate) fn digits15_to_decimal(digits15: &[u16]) -> String {
    // Base-10^4 groups, least significant first; schoolbook conversion is plenty for the
    // sizes of integers people send to a database.
    let mut groups: Vec<u32> = Vec::new();
    for &d in digits15.iter().rev() {
        let mut carry = d as u32;
        for g in groups.iter_mut() {
            let v = (*g << 15) + carry;
            *g = v % NBASE as u32;
            carry = v / NBASE as u32;
        }
        while carry > 0 {
            groups.push(carry % NBASE as u32);
            carry /= NBASE as u32;
        }
    }
    let mut text = String::new();
    match groups.split_last() {
        None => text.push('0'),
        Some((top, rest)) => {
            write!(text, "{top}").unwrap();
            for g in rest.iter().rev() {
                write!(text, "{g:04}").unwrap();
            }
        }
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a binary numeric from its header fields and digits.
    pub(crate) fn numeric_bytes(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(digits.len() as u16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    fn text_of(data: &[u8]) -> String {
        let mut s = String::new();
        numeric_from_binary(data, &mut s).unwrap();
        s
    }

    fn round_trip(text: &str) -> String {
        let mut bin = Vec::new();
        numeric_to_binary(&parse_decimal(text).unwrap(), &mut bin).unwrap();
        text_of(&bin)
    }

    #[test]
    fn numeric_from_binary_matches_numeric_out() {
        assert_eq!(text_of(&numeric_bytes(0, 0, 0, &[])), "0");
        assert_eq!(text_of(&numeric_bytes(0, 0, 3, &[])), "0.000");
        assert_eq!(text_of(&numeric_bytes(0, 0, 3, &[1, 5000])), "1.500");
        assert_eq!(text_of(&numeric_bytes(-2, 0, 5, &[1000])), "0.00001");
        assert_eq!(
            text_of(&numeric_bytes(1, NUMERIC_NEG, 0, &[12, 3456])),
            "-123456"
        );
        assert_eq!(text_of(&numeric_bytes(2, 0, 0, &[1])), "100000000");
        assert_eq!(text_of(&numeric_bytes(0, 0, 2, &[3, 1415])), "3.14");
        assert_eq!(text_of(&numeric_bytes(0, NUMERIC_NAN, 0, &[])), "NaN");
        assert_eq!(text_of(&numeric_bytes(0, NUMERIC_PINF, 0, &[])), "Infinity");
        assert_eq!(
            text_of(&numeric_bytes(0, NUMERIC_NINF, 0, &[])),
            "-Infinity"
        );
        let tiny = text_of(&numeric_bytes(-250, 0, 1000, &[1]));
        assert_eq!(tiny, format!("0.{}1", "0".repeat(999)));
        let huge = text_of(&numeric_bytes(250, 0, 0, &[1]));
        assert_eq!(huge, format!("1{}", "0".repeat(1000)));
    }

    #[test]
    fn malformed_binary_numeric_is_an_error() {
        for bad in [
            vec![0u8; 7],
            numeric_bytes(0, 0x1234, 0, &[]),
            numeric_bytes(0, 0, 0, &[10000]),
            numeric_bytes(0, 0, 0, &[-1]),
            numeric_bytes(0, 0, 0x4000, &[]),
            [numeric_bytes(0, 0, 0, &[1]), vec![0]].concat(),
            vec![0xff, 0xff, 0, 0, 0, 0, 0, 0],
        ] {
            assert!(
                numeric_from_binary(&bad, &mut String::new()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn numeric_to_binary_round_trips() {
        for (input, shown) in [
            ("0", "0"),
            ("-0", "0"),
            ("0.000", "0.000"),
            ("0E-7", "0.0000000"),
            ("1.500", "1.500"),
            ("0.00001", "0.00001"),
            ("1E-5", "0.00001"),
            ("1.5E+3", "1500"),
            ("-123456.789", "-123456.789"),
            (
                "12345678901234567890.12345678901234567890",
                "12345678901234567890.12345678901234567890",
            ),
            ("100000000", "100000000"),
            ("0.1", "0.1"),
            ("9999.9999", "9999.9999"),
            ("NaN", "NaN"),
            ("Infinity", "Infinity"),
            ("-Infinity", "-Infinity"),
            ("-inf", "-Infinity"),
        ] {
            assert_eq!(round_trip(input), shown, "{input}");
        }
        assert_eq!(round_trip("1E-1000"), format!("0.{}1", "0".repeat(999)));
        assert_eq!(round_trip("1E+1000"), format!("1{}", "0".repeat(1000)));
    }

    #[test]
    fn largest_numerics_have_more_than_i16_max_digit_groups() {
        // 131072 digits before the point and 16383 after: 36864 base-10000 groups, which
        // the wire format counts in a uint16.
        let widest = format!("{}.{}", "9".repeat(131072), "9".repeat(16383));
        let mut bin = Vec::new();
        numeric_to_binary(&parse_decimal(&widest).unwrap(), &mut bin).unwrap();
        assert_eq!(u16::from_be_bytes([bin[0], bin[1]]), 36864);
        assert_eq!(text_of(&bin), widest);
        let integer = "9".repeat(131072);
        assert_eq!(round_trip(&integer), integer);
        let groups = vec![9999i16; 32768];
        assert_eq!(text_of(&numeric_bytes(32767, 0, 0, &groups)), integer);
    }

    #[test]
    fn out_of_range_and_invalid_decimals() {
        for bad in ["", "abc", "1.2.3", "1e", "--1", "sNaN", "1_000", ".", "1e+"] {
            assert!(parse_decimal(bad).is_err(), "{bad}");
        }
        for too_big in ["1E+200000", "1E-16384", "1E+999999999999999999999"] {
            let parsed = parse_decimal(too_big).unwrap();
            assert!(
                numeric_to_binary(&parsed, &mut Vec::new()).is_err(),
                "{too_big}"
            );
        }
    }

    #[test]
    fn integral_decimals() {
        let int = |t: &str| decimal_to_integer(&parse_decimal(t).unwrap());
        assert_eq!(int("1.500E+3"), Some(Ok(1500)));
        assert_eq!(int("-42.000"), Some(Ok(-42)));
        assert_eq!(int("0E-9"), Some(Ok(0)));
        assert_eq!(int("0E+99"), Some(Ok(0)));
        assert_eq!(int("1.5"), None);
        assert_eq!(int("NaN"), None);
        assert_eq!(int("1E+100"), Some(Err(())));
    }

    #[test]
    fn base_2_15_digits_to_decimal() {
        assert_eq!(digits15_to_decimal(&[]), "0");
        assert_eq!(digits15_to_decimal(&[5]), "5");
        // 2**70 = 2**(15*4) * 2**10
        assert_eq!(
            digits15_to_decimal(&[0, 0, 0, 0, 1 << 10]),
            "1180591620717411303424"
        );
    }
}
