//! Python's text spellings of numbers, for values sent in text format.

/// `repr(float)`: the shortest string that round-trips, fixed notation for exponents in
/// -4..16 (always with a fractional part), otherwise `d[.ddd]e±XX`.
pub(crate) fn python_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // `{:e}` is Rust's shortest round-trip digits in scientific form, e.g. "-1.2345e-7".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat((-exp - 1) as usize));
            out.push_str(&digits);
        } else {
            let point = exp as usize + 1;
            if digits.len() <= point {
                out.push_str(&digits);
                out.push_str(&"0".repeat(point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    }
    out
}

/// A float as PostgreSQL's float input reads it (`NaN`, `Infinity`, `-Infinity`).
pub(crate) fn postgres_float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        python_float_repr(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python_harness::run_python;

    #[test]
    fn float_repr_matches_python() {
        let values = [
            0.0,
            -0.0,
            1.0,
            -1.5,
            0.1,
            1e-4,
            1e-5,
            1.5e-5,
            123456789.125,
            1e15,
            1e16,
            1.5e16,
            9007199254740993.0,
            1e22,
            1e100,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            2.0f64.sqrt(),
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.30000000000000004,
            100.0,
            1234.5678,
        ];
        let ours: Vec<String> = values.iter().map(|v| python_float_repr(*v)).collect();
        let bits: Vec<String> = values.iter().map(|v| v.to_bits().to_string()).collect();
        let out = run_python(
            "for b in sys.stdin.read().split(): print(repr(struct.unpack('<d', int(b).to_bytes(8, 'little'))[0]))",
            bits.join(" ").as_bytes(),
        );
        let theirs: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(ours, theirs);
    }
}
