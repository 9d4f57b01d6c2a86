//! `money` ↔ `Decimal` with two fraction digits.
//!
//! The server stores money as an int64 count of minor units and prints it through
//! `lc_monetary` (`$1,234.56`, `-$1,234.56`, `1.234,56 €`, `(1,234.56)`, …). The binary
//! form is that int64; the number of fraction digits it implies comes from the locale,
//! which the client cannot see. We assume two, as in the C and most other locales, for
//! both formats: the text is read by keeping its digits (so any symbol, separator and
//! decimal point works) and taking `-` or `(` as negative. In a locale with another
//! number of fraction digits both formats still agree, but the decimal point is off.
//!
//! Parameters go in binary, also locale-independent: a `Decimal`, `int` or `float` is
//! rounded to cents half away from zero, as the server's `money_in` rounds.

use crate::numeric::ParsedDecimal;
use crate::pickle::PickleWriter;

pub(crate) fn money_from_binary(data: &[u8], w: &mut PickleWriter) -> Result<(), String> {
    let cents = i64::from_be_bytes(
        data.try_into()
            .map_err(|_| format!("binary money value must be 8 bytes, got {}", data.len()))?,
    );
    write_cents(cents < 0, cents.unsigned_abs(), w);
    Ok(())
}

pub(crate) fn money_from_text(text: &str, w: &mut PickleWriter) -> Result<(), String> {
    let invalid = || format!("invalid money text '{text}'");
    let negative = text.contains('-') || text.contains('(');
    let mut magnitude: u64 = 0;
    let mut digits = 0;
    for d in text.bytes().filter(u8::is_ascii_digit) {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add((d - b'0') as u64))
            .ok_or_else(invalid)?;
        digits += 1;
    }
    let limit = if negative {
        1u64 << 63
    } else {
        i64::MAX as u64
    };
    if digits == 0 || magnitude > limit {
        return Err(invalid());
    }
    write_cents(negative && magnitude != 0, magnitude, w);
    Ok(())
}

/// `Decimal('-1234.56')` from a sign and a count of cents.
fn write_cents(negative: bool, cents: u64, w: &mut PickleWriter) {
    let text = format!(
        "{}{}.{:02}",
        if negative { "-" } else { "" },
        cents / 100,
        cents % 100
    );
    w.decimal_from_str(&text);
}

/// Cents of a decimal value, rounded half away from zero; `Err` names the problem.
pub(crate) fn cents_from_decimal(value: &ParsedDecimal, shown: &str) -> Result<i64, String> {
    let out_of_range = || format!("parameter of type money: {shown} is out of range");
    let ParsedDecimal::Finite {
        negative,
        digits,
        exponent,
    } = value
    else {
        return Err(format!(
            "parameter of type money: {shown} is not a finite number"
        ));
    };
    // value = digits * 10^exponent, so cents = digits * 10^(exponent + 2).
    let scale = exponent.saturating_add(2);
    let mut kept: &[u8] = digits;
    let mut round_up = false;
    if scale < 0 {
        let drop = usize::try_from(-scale).unwrap_or(usize::MAX);
        let cut = kept.len().saturating_sub(drop);
        // The first dropped digit decides; it is a leading zero when everything is dropped.
        round_up = drop <= kept.len() && kept[cut] >= b'5';
        kept = &kept[..cut];
    }
    let zeros = if scale > 0 { scale as usize } else { 0 };
    if !kept.is_empty() && kept.len() + zeros > 19 {
        return Err(out_of_range());
    }
    let mut magnitude: u128 = 0;
    for d in kept.iter().copied().chain(std::iter::repeat_n(
        b'0',
        if kept.is_empty() { 0 } else { zeros },
    )) {
        magnitude = magnitude * 10 + (d - b'0') as u128;
    }
    magnitude += round_up as u128;
    let signed = if *negative {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    i64::try_from(signed).map_err(|_| out_of_range())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tests::decode_all;
    use crate::numeric::parse_decimal;
    use crate::oid;
    use crate::Format::{Binary, Text};

    #[test]
    fn money_from_server_bytes_in_both_formats() {
        // (binary int64, text in lc_monetary C, other locales' texts, Decimal)
        let cases: &[(i64, &str, &[&str], &str)] = &[
            (
                4200,
                "$42.00",
                &["42,00 €", "EUR 42.00"],
                "Decimal('42.00')",
            ),
            (
                -1234567,
                "-$12,345.67",
                &["(12.345,67 €)", "-12 345,67 €"],
                "Decimal('-12345.67')",
            ),
            (5, "$0.05", &["0,05 €"], "Decimal('0.05')"),
            (0, "$0.00", &["-0,00"], "Decimal('0.00')"),
            (
                i64::MIN,
                "-$92,233,720,368,547,758.08",
                &[],
                "Decimal('-92233720368547758.08')",
            ),
            (
                i64::MAX,
                "$92,233,720,368,547,758.07",
                &[],
                "Decimal('92233720368547758.07')",
            ),
        ];
        for (cents, text, others, want) in cases {
            let mut cells = vec![
                (oid::MONEY, Binary, cents.to_be_bytes().to_vec()),
                (oid::MONEY, Text, text.as_bytes().to_vec()),
            ];
            cells.extend(
                others
                    .iter()
                    .map(|t| (oid::MONEY, Text, t.as_bytes().to_vec())),
            );
            let got = decode_all(&cells);
            assert!(got.iter().all(|g| g == want), "{text}: {got:?}");
        }
    }

    #[test]
    fn cents_round_half_away_from_zero() {
        for (decimal, cents) in [
            ("1", Ok(100)),
            ("12.345", Ok(1235)),
            ("-12.345", Ok(-1235)),
            ("12.3449", Ok(1234)),
            ("0.005", Ok(1)),
            ("0.0049", Ok(0)),
            ("0.00000001", Ok(0)),
            ("1E+3", Ok(100000)),
            ("0E+30", Ok(0)),
            ("-92233720368547758.08", Ok(i64::MIN)),
            ("92233720368547758.07", Ok(i64::MAX)),
            ("92233720368547758.08", Err(())),
            ("1E+30", Err(())),
            ("NaN", Err(())),
            ("-Infinity", Err(())),
        ] {
            let got = cents_from_decimal(&parse_decimal(decimal).unwrap(), decimal).map_err(|_| ());
            assert_eq!(got, cents, "{decimal}");
        }
    }

    #[test]
    fn malformed_money_is_an_error() {
        use crate::decode::{ColumnDecoder, DecodeOptions};
        for (format, data) in [
            (Text, &b"$"[..]),
            (Text, b"99999999999999999999"),
            (Binary, &[0; 4]),
        ] {
            let mut w = PickleWriter::new();
            let r = ColumnDecoder::new(oid::MONEY, format, &DecodeOptions::default())
                .decode(Some(data), &mut w);
            assert!(r.is_err(), "{data:?}");
        }
    }
}
