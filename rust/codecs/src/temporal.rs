//! Calendar arithmetic and the date/time codecs shared by decode and encode.
//!
//! PostgreSQL counts dates in days and timestamps in microseconds from 2000-01-01
//! (proleptic Gregorian, year 0 = 1 BC). Python's types cover 0001-01-01..9999-12-31 only,
//! so every conversion ends in a range check that names the offending value.

use crate::pickle::PickleWriter;

pub(crate) const USECS_PER_DAY: i64 = 86_400_000_000;
const USECS_PER_SEC: i64 = 1_000_000;
/// Days from 0000-03-01 to 2000-01-01 in the era-based civil algorithm below.
const DAYS_0000_03_01_TO_2000_01_01: i64 = 730_425;
/// `timedelta.max.days`; `timedelta.min.days` is its negation.
const TIMEDELTA_MAX_DAYS: i64 = 999_999_999;

/// Days since 2000-01-01 of a proleptic Gregorian date (year 0 = 1 BC).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Years start in March so the leap day is the last day of the "year".
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month as i64 + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - DAYS_0000_03_01_TO_2000_01_01
}

/// Inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + DAYS_0000_03_01_TO_2000_01_01;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u8;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u8;
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 0,
    }
}

pub(crate) fn is_valid_date(year: i64, month: u32, day: u32) -> bool {
    (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)
}

/// PostgreSQL's spelling of a date, with `BC` for years <= 0.
fn format_date(year: i64, month: u8, day: u8) -> String {
    if year <= 0 {
        format!("{:04}-{month:02}-{day:02} BC", 1 - year)
    } else {
        format!("{year:04}-{month:02}-{day:02}")
    }
}

fn format_clock(usecs_of_day: i64) -> String {
    let secs = usecs_of_day / USECS_PER_SEC;
    let micro = usecs_of_day % USECS_PER_SEC;
    let mut s = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if micro != 0 {
        s.push_str(format!(".{micro:06}").trim_end_matches('0'));
    }
    s
}

fn python_year(year: i64) -> bool {
    (1..=9999).contains(&year)
}

// ---- date

pub(crate) fn date_from_days(days: i32, w: &mut PickleWriter) -> Result<(), String> {
    match days {
        i32::MAX => w.date(9999, 12, 31),
        i32::MIN => w.date(1, 1, 1),
        _ => {
            let (year, month, day) = civil_from_days(days as i64);
            if !python_year(year) {
                return Err(format!(
                    "date {} is outside Python's date range",
                    format_date(year, month, day)
                ));
            }
            w.date(year as i32, month, day);
        }
    }
    Ok(())
}

pub(crate) fn date_from_text(text: &str, w: &mut PickleWriter) -> Result<(), String> {
    match text {
        "infinity" => w.date(9999, 12, 31),
        "-infinity" => w.date(1, 1, 1),
        _ => {
            let mut p = Cursor::new(text);
            let parsed = p.date().and_then(|(y, m, d)| Ok((p.era_suffix(y)?, m, d)));
            let (year, month, day) = parsed
                .and_then(|v| p.end().map(|_| v))
                .map_err(|e| format!("date {e}"))?;
            if !python_year(year) {
                return Err(format!("date {text} is outside Python's date range"));
            }
            w.date(year as i32, month, day);
        }
    }
    Ok(())
}

// ---- time / timetz

fn check_clock(usecs: i64, type_name: &str) -> Result<(u8, u8, u8, u32), String> {
    if !(0..USECS_PER_DAY).contains(&usecs) {
        let shown = if (0..=USECS_PER_DAY).contains(&usecs) {
            format_clock(usecs)
        } else {
            format!("of {usecs} microseconds")
        };
        return Err(format!(
            "{type_name} {shown} is outside Python's time range"
        ));
    }
    let secs = usecs / USECS_PER_SEC;
    Ok((
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (usecs % USECS_PER_SEC) as u32,
    ))
}

fn check_offset(offset: i64, type_name: &str) -> Result<i32, String> {
    if offset.abs() >= 86_400 {
        return Err(format!(
            "{type_name} UTC offset of {offset} seconds is outside Python's range"
        ));
    }
    Ok(offset as i32)
}

pub(crate) fn time_from_usecs(usecs: i64, w: &mut PickleWriter) -> Result<(), String> {
    let (h, m, s, us) = check_clock(usecs, "time")?;
    w.time(h, m, s, us, None);
    Ok(())
}

/// `zone_west` is PostgreSQL's zone: seconds *west* of UTC, the negated UTC offset.
pub(crate) fn timetz_from_parts(
    usecs: i64,
    zone_west: i64,
    w: &mut PickleWriter,
) -> Result<(), String> {
    let (h, m, s, us) = check_clock(usecs, "timetz")?;
    let offset = check_offset(-zone_west, "timetz")?;
    w.time(h, m, s, us, Some(offset));
    Ok(())
}

pub(crate) fn time_from_text(text: &str, w: &mut PickleWriter) -> Result<(), String> {
    let mut p = Cursor::new(text);
    let usecs = p
        .clock()
        .and_then(|c| p.end().map(|_| c))
        .map_err(|e| format!("time {e}"))?;
    time_from_usecs(usecs, w)
}

pub(crate) fn timetz_from_text(text: &str, w: &mut PickleWriter) -> Result<(), String> {
    let mut p = Cursor::new(text);
    let parsed = p
        .clock()
        .and_then(|c| Ok((c, p.utc_offset()?)))
        .and_then(|v| p.end().map(|_| v));
    let (usecs, offset) = parsed.map_err(|e| format!("timetz {e}"))?;
    timetz_from_parts(usecs, -offset, w)
}

// ---- timestamp / timestamptz

/// Microseconds since 2000-01-01 as a naive (or, with `utc`, UTC) datetime.
fn datetime_from_usecs(usecs: i128, utc: bool, w: &mut PickleWriter) -> Result<(), String> {
    // Everything Python can hold is far inside i64, so the arithmetic stays in i64.
    let (year, month, day, of_day) = match i64::try_from(usecs) {
        Ok(us) => {
            let (y, m, d) = civil_from_days(us.div_euclid(USECS_PER_DAY));
            (y, m, d, us.rem_euclid(USECS_PER_DAY))
        }
        Err(_) => (i64::MAX, 1, 1, 0),
    };
    if !python_year(year) {
        let type_name = if utc { "timestamptz" } else { "timestamp" };
        let zone = if utc { "+00" } else { "" };
        let shown = if year == i64::MAX {
            format!("of {usecs} microseconds since 2000")
        } else {
            let era = if year <= 0 { " BC" } else { "" };
            let shown_year = if year <= 0 { 1 - year } else { year };
            format!(
                "{shown_year:04}-{month:02}-{day:02} {}{zone}{era}",
                format_clock(of_day)
            )
        };
        return Err(format!(
            "{type_name} {shown} is outside Python's datetime range"
        ));
    }
    let secs = of_day / USECS_PER_SEC;
    w.datetime(
        year as i32,
        month,
        day,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (of_day % USECS_PER_SEC) as u32,
        utc,
    );
    Ok(())
}

pub(crate) fn timestamp_from_usecs(
    usecs: i64,
    utc: bool,
    w: &mut PickleWriter,
) -> Result<(), String> {
    match usecs {
        i64::MAX => w.datetime(9999, 12, 31, 23, 59, 59, 999_999, utc),
        i64::MIN => w.datetime(1, 1, 1, 0, 0, 0, 0, utc),
        _ => return datetime_from_usecs(usecs as i128, utc, w),
    }
    Ok(())
}

/// `timestamp` text, or with `utc` the `timestamptz` text whose offset is folded in so the
/// result is the same UTC instant the binary form carries.
pub(crate) fn timestamp_from_text(
    text: &str,
    utc: bool,
    w: &mut PickleWriter,
) -> Result<(), String> {
    let type_name = if utc { "timestamptz" } else { "timestamp" };
    match text {
        "infinity" => return timestamp_from_usecs(i64::MAX, utc, w),
        "-infinity" => return timestamp_from_usecs(i64::MIN, utc, w),
        _ => {}
    }
    let mut p = Cursor::new(text);
    let parsed = (|| {
        let (year, month, day) = p.date()?;
        p.expect(b' ')?;
        let clock = p.clock()?;
        let offset = if utc { p.utc_offset()? } else { 0 };
        let year = p.era_suffix(year)?;
        p.end()?;
        Ok::<_, String>((year, month, day, clock, offset))
    })();
    let (year, month, day, clock, offset) = parsed.map_err(|e| format!("{type_name} {e}"))?;
    if year.abs() > 1 << 30 {
        return Err(format!(
            "{type_name} {text} is outside Python's datetime range"
        ));
    }
    let local = days_from_civil(year, month as u32, day as u32) as i128 * USECS_PER_DAY as i128
        + clock as i128;
    datetime_from_usecs(local - offset as i128 * USECS_PER_SEC as i128, utc, w)
        .map_err(|_| format!("{type_name} {text} is outside Python's datetime range"))
}

// ---- interval

/// Maps an interval onto a `timedelta`, which has no months. Policy (stated in the user
/// docs): `months` splits as PostgreSQL displays it, into years = months / 12 and the
/// remaining months (both truncated toward zero, so a negative interval maps to the exact
/// negation of its positive counterpart); a year counts as 365 days and a month as 30 days.
/// Days and microseconds are taken as they are.
pub(crate) fn interval_from_parts(
    usecs: i128,
    days: i64,
    months: i64,
    w: &mut PickleWriter,
) -> Result<(), String> {
    let day_count = (months / 12) * 365 + (months % 12) * 30 + days;
    let total = day_count as i128 * USECS_PER_DAY as i128 + usecs;
    let td_days = total.div_euclid(USECS_PER_DAY as i128);
    if td_days.abs() > TIMEDELTA_MAX_DAYS as i128 {
        return Err(String::new());
    }
    let rest = total.rem_euclid(USECS_PER_DAY as i128) as i64;
    w.timedelta(td_days as i64, rest / USECS_PER_SEC, rest % USECS_PER_SEC);
    Ok(())
}

pub(crate) fn interval_from_binary(
    usecs: i64,
    days: i32,
    months: i32,
    w: &mut PickleWriter,
) -> Result<(), String> {
    interval_from_parts(usecs as i128, days as i64, months as i64, w).map_err(|_| {
        // PostgreSQL 17's infinite intervals: every field at its extreme.
        match (usecs, days, months) {
            (i64::MAX, i32::MAX, i32::MAX) => infinite_interval("infinity"),
            (i64::MIN, i32::MIN, i32::MIN) => infinite_interval("-infinity"),
            _ => format!(
                "interval of {months} months {days} days {usecs} microseconds is outside Python's timedelta range"
            ),
        }
    })
}

fn infinite_interval(text: &str) -> String {
    format!("interval {text} is outside Python's timedelta range")
}

/// Parses `IntervalStyle = postgres` output: `[N year[s]] [N mon[s]] [N day[s]] [[+-]H:MM:SS[.f]]`.
pub(crate) fn interval_from_text(text: &str, w: &mut PickleWriter) -> Result<(), String> {
    match text {
        "infinity" | "-infinity" => return Err(infinite_interval(text)),
        _ => {}
    }
    let invalid = || format!("interval '{text}' is not in IntervalStyle postgres format");
    let (mut months, mut days, mut usecs) = (0i64, 0i64, 0i128);
    let mut tokens = text.split(' ').filter(|t| !t.is_empty());
    while let Some(token) = tokens.next() {
        if token.contains(':') {
            let (negative, clock) = match token.as_bytes()[0] {
                b'-' => (true, &token[1..]),
                b'+' => (false, &token[1..]),
                _ => (false, token),
            };
            let mut p = Cursor::new(clock);
            let value = p
                .long_clock()
                .and_then(|v| p.end().map(|_| v))
                .map_err(|_| invalid())?;
            usecs += if negative { -value } else { value };
            continue;
        }
        let number: i64 = token.parse().map_err(|_| invalid())?;
        match tokens.next() {
            Some("year" | "years") => months += number.checked_mul(12).ok_or_else(invalid)?,
            Some("mon" | "mons") => months += number,
            Some("day" | "days") => days += number,
            _ => return Err(invalid()),
        }
    }
    interval_from_parts(usecs, days, months, w)
        .map_err(|_| format!("interval {text} is outside Python's timedelta range"))
}

// ---- encoding helpers

/// Days since 2000-01-01, validating the date.
pub(crate) fn date_to_days(year: i64, month: i64, day: i64) -> Result<i32, String> {
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !is_valid_date(year, month as u32, day as u32)
    {
        return Err(format!("{year:04}-{month:02}-{day:02} is not a valid date"));
    }
    if year.abs() > 1 << 24 {
        return Err(format!("year {year} is out of range"));
    }
    Ok(days_from_civil(year, month as u32, day as u32) as i32)
}

pub(crate) fn clock_to_usecs(
    hour: i64,
    minute: i64,
    second: i64,
    micro: i64,
) -> Result<i64, String> {
    if !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..60).contains(&second)
        || !(0..1_000_000).contains(&micro)
    {
        return Err(format!(
            "{hour:02}:{minute:02}:{second:02}.{micro:06} is not a valid time"
        ));
    }
    Ok(((hour * 60 + minute) * 60 + second) * USECS_PER_SEC + micro)
}

/// Python's `str()` of a UTC offset given in microseconds: `+HH:MM[:SS[.ffffff]]`.
pub(crate) fn format_utc_offset(offset_us: i64) -> String {
    let sign = if offset_us < 0 { '-' } else { '+' };
    let abs = offset_us.unsigned_abs();
    let secs = abs / 1_000_000;
    let micro = abs % 1_000_000;
    let mut s = format!("{sign}{:02}:{:02}", secs / 3600, secs / 60 % 60);
    if !secs.is_multiple_of(60) || micro != 0 {
        s.push_str(&format!(":{:02}", secs % 60));
    }
    if micro != 0 {
        s.push_str(&format!(".{micro:06}"));
    }
    s
}

/// Python's `time.isoformat()` clock part: `HH:MM:SS[.ffffff]`.
pub(crate) fn format_python_clock(hour: i64, minute: i64, second: i64, micro: i64) -> String {
    if micro != 0 {
        format!("{hour:02}:{minute:02}:{second:02}.{micro:06}")
    } else {
        format!("{hour:02}:{minute:02}:{second:02}")
    }
}

/// Python's `str(timedelta)`: `[-]D day[s], H:MM:SS[.ffffff]` from normalised parts.
pub(crate) fn format_python_timedelta(days: i64, seconds: i64, micro: i64) -> String {
    let mut s = String::new();
    if days != 0 {
        let plural = if days.abs() != 1 { "s" } else { "" };
        s.push_str(&format!("{days} day{plural}, "));
    }
    s.push_str(&format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    ));
    if micro != 0 {
        s.push_str(&format!(".{micro:06}"));
    }
    s
}

// ---- values outside Python's range, as text (`temporal_out_of_range = "str"`)

/// PostgreSQL's ISO spelling of a timestamp given in microseconds since 2000 (UTC with
/// `+00` for timestamptz), or None when the value fits a `datetime`.
fn timestamp_text_if_outside(usecs: i128, utc: bool) -> Option<String> {
    let days = usecs.div_euclid(USECS_PER_DAY as i128);
    let of_day = usecs.rem_euclid(USECS_PER_DAY as i128) as i64;
    let (year, month, day) = civil_from_days(i64::try_from(days).ok()?);
    if python_year(year) {
        return None;
    }
    let zone = if utc { "+00" } else { "" };
    let (shown_year, era) = if year <= 0 {
        (1 - year, " BC")
    } else {
        (year, "")
    };
    Some(format!(
        "{shown_year:04}-{month:02}-{day:02} {}{zone}{era}",
        format_clock(of_day)
    ))
}

/// The text of a binary `date` that has no `datetime.date`: `infinity`, `-infinity`, or
/// the ISO date (`0044-03-15 BC`, `10000-01-01`). None when it fits.
pub(crate) fn date_text_if_outside(days: i32) -> Option<String> {
    match days {
        i32::MAX => Some("infinity".into()),
        i32::MIN => Some("-infinity".into()),
        _ => {
            let (year, month, day) = civil_from_days(days as i64);
            (!python_year(year)).then(|| format_date(year, month, day))
        }
    }
}

/// [`date_text_if_outside`] for the text format (None also when the text does not parse:
/// the ordinary decoder then reports it).
pub(crate) fn date_text_if_outside_text(text: &str) -> Option<String> {
    if text == "infinity" || text == "-infinity" {
        return Some(text.to_string());
    }
    let mut p = Cursor::new(text);
    let (year, month, day) = p.date().ok()?;
    let year = p.era_suffix(year).ok()?;
    p.end().ok()?;
    (!python_year(year)).then(|| format_date(year, month, day))
}

/// The text of a binary `timestamp`/`timestamptz` that has no `datetime`.
pub(crate) fn timestamp_text_if_outside_usecs(usecs: i64, utc: bool) -> Option<String> {
    match usecs {
        i64::MAX => Some("infinity".into()),
        i64::MIN => Some("-infinity".into()),
        _ => timestamp_text_if_outside(usecs as i128, utc),
    }
}

/// [`timestamp_text_if_outside_usecs`] for the text format. A timestamptz is shown in
/// UTC, as the binary form is, whatever the session's TimeZone.
pub(crate) fn timestamp_text_if_outside_text(text: &str, utc: bool) -> Option<String> {
    if text == "infinity" || text == "-infinity" {
        return Some(text.to_string());
    }
    let mut p = Cursor::new(text);
    let (year, month, day) = p.date().ok()?;
    p.expect(b' ').ok()?;
    let clock = p.clock().ok()?;
    let offset = if utc { p.utc_offset().ok()? } else { 0 };
    let year = p.era_suffix(year).ok()?;
    p.end().ok()?;
    if year.abs() > 1 << 30 {
        return None;
    }
    let local = days_from_civil(year, month as u32, day as u32) as i128 * USECS_PER_DAY as i128
        + clock as i128;
    timestamp_text_if_outside(local - offset as i128 * USECS_PER_SEC as i128, utc)
}

// ---- text parsing

/// A byte cursor over PostgreSQL's ISO date/time output.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn invalid(&self) -> String {
        format!("'{}' is not in the expected ISO format", self.text)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.invalid())
        }
    }

    fn end(&self) -> Result<(), String> {
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(self.invalid())
        }
    }

    /// An unsigned decimal of `min..=max` digits.
    fn number(&mut self, min: usize, max: usize) -> Result<i64, String> {
        let start = self.pos;
        while self.pos - start < max && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos - start < min {
            return Err(self.invalid());
        }
        self.text[start..self.pos]
            .parse()
            .map_err(|_| self.invalid())
    }

    /// `YYYY-MM-DD` (four or more year digits), validated; the year is as written (no era).
    fn date(&mut self) -> Result<(i64, u8, u8), String> {
        let year = self.number(4, 9)?;
        self.expect(b'-')?;
        let month = self.number(2, 2)?;
        self.expect(b'-')?;
        let day = self.number(2, 2)?;
        // Leap years count in astronomical years: 1 BC (year 0) has a February 29.
        let astronomical = if self.text.ends_with(" BC") { 1 - year } else { year };
        if !is_valid_date(astronomical, month as u32, day as u32) {
            return Err(self.invalid());
        }
        Ok((year, month as u8, day as u8))
    }

    /// An optional trailing ` BC`, turning the written year into the astronomical one.
    fn era_suffix(&mut self, year: i64) -> Result<i64, String> {
        if self.text[self.pos..] == *" BC" {
            self.pos += 3;
            Ok(1 - year)
        } else {
            Ok(year)
        }
    }

    fn fraction(&mut self) -> Result<i64, String> {
        if self.peek() != Some(b'.') {
            return Ok(0);
        }
        self.pos += 1;
        let start = self.pos;
        let digits = self.number(1, 6)?;
        Ok(digits * 10i64.pow((6 - (self.pos - start)) as u32))
    }

    /// `HH:MM:SS[.ffffff]` as microseconds of the day; 24:00:00 is allowed here (the
    /// caller's range check reports it).
    fn clock(&mut self) -> Result<i64, String> {
        let hour = self.number(2, 2)?;
        self.expect(b':')?;
        let minute = self.number(2, 2)?;
        self.expect(b':')?;
        let second = self.number(2, 2)?;
        let micro = self.fraction()?;
        if hour > 24 || minute > 59 || second > 60 {
            return Err(self.invalid());
        }
        Ok(((hour * 60 + minute) * 60 + second) * USECS_PER_SEC + micro)
    }

    /// An interval's unbounded `H+:MM:SS[.ffffff]` as microseconds.
    fn long_clock(&mut self) -> Result<i128, String> {
        let hour = self.number(1, 12)?;
        self.expect(b':')?;
        let minute = self.number(2, 2)?;
        self.expect(b':')?;
        let second = self.number(2, 2)?;
        let micro = self.fraction()?;
        Ok(
            ((hour as i128 * 60 + minute as i128) * 60 + second as i128) * USECS_PER_SEC as i128
                + micro as i128,
        )
    }

    /// `+HH[:MM[:SS]]` as seconds east of UTC.
    fn utc_offset(&mut self) -> Result<i64, String> {
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(self.invalid()),
        };
        self.pos += 1;
        let hours = self.number(2, 2)?;
        let mut seconds = hours * 3600;
        for scale in [60, 1] {
            if self.peek() != Some(b':') {
                break;
            }
            self.pos += 1;
            seconds += self.number(2, 2)? * scale;
        }
        Ok(sign * seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_days_before_christ_are_read_in_astronomical_years() {
        // 1 BC is year 0, a leap year; 2 BC (year -1) is not.
        assert_eq!(
            timestamp_text_if_outside_text("0001-02-29 23:59:00+00 BC", true).as_deref(),
            Some("0001-02-29 23:59:00+00 BC")
        );
        assert_eq!(date_text_if_outside_text("0001-02-29 BC").as_deref(), Some("0001-02-29 BC"));
        assert_eq!(date_text_if_outside_text("0002-02-29 BC"), None);
        assert_eq!(date_text_if_outside_text("0005-02-29 BC").as_deref(), Some("0005-02-29 BC"));
    }

    #[test]
    fn civil_conversion_round_trips_across_eras() {
        assert_eq!(days_from_civil(2000, 1, 1), 0);
        assert_eq!(days_from_civil(1970, 1, 1), -10957);
        assert_eq!(days_from_civil(2024, 2, 29), 8825);
        assert_eq!(civil_from_days(-1), (1999, 12, 31));
        for days in (-1_000_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!(is_valid_date(y, m as u32, d as u32));
            assert_eq!(days_from_civil(y, m as u32, d as u32), days);
        }
    }

    #[test]
    fn infinite_intervals_are_named_as_such() {
        let mut w = PickleWriter::new();
        let before = w.len();
        let want = |t: &str| format!("interval {t} is outside Python's timedelta range");
        assert_eq!(
            interval_from_binary(i64::MAX, i32::MAX, i32::MAX, &mut w),
            Err(want("infinity"))
        );
        assert_eq!(
            interval_from_binary(i64::MIN, i32::MIN, i32::MIN, &mut w),
            Err(want("-infinity"))
        );
        assert_eq!(
            interval_from_text("infinity", &mut w),
            Err(want("infinity"))
        );
        assert_eq!(
            interval_from_text("-infinity", &mut w),
            Err(want("-infinity"))
        );
        // Only the exact sentinel is infinity; other extremes are reported by their fields.
        let finite = interval_from_binary(i64::MAX, i32::MAX, 0, &mut w).unwrap_err();
        assert!(finite.starts_with("interval of 0 months"), "{finite}");
        assert_eq!(w.len(), before, "nothing is written for a value that fails");
    }

    #[test]
    fn python_formats() {
        assert_eq!(
            format_utc_offset(-(9 * 3600 + 30 * 60) * 1_000_000),
            "-09:30"
        );
        assert_eq!(
            format_utc_offset((5 * 3600 + 53 * 60 + 28) * 1_000_000),
            "+05:53:28"
        );
        assert_eq!(format_utc_offset(1), "+00:00:00.000001");
        assert_eq!(
            format_python_timedelta(-1, 86399, 999_999),
            "-1 day, 23:59:59.999999"
        );
        assert_eq!(format_python_timedelta(2, 3661, 0), "2 days, 1:01:01");
        assert_eq!(format_python_clock(1, 2, 3, 40), "01:02:03.000040");
    }
}
