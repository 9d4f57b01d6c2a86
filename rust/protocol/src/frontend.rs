//! Frontend (client → server) message encoders. Each appends one whole message to `out`.
//!
//! Strings the protocol NUL-terminates must not contain NUL themselves; the encoders that
//! take user text check that and return an error before anything is appended, so a bad
//! statement never leaves half a message in the buffer.

use crate::ProtocolError;

pub const PROTOCOL_3_0: u32 = 196_608;
pub const PROTOCOL_3_2: u32 = 196_610;
const SSL_REQUEST_CODE: u32 = 80_877_103;
const CANCEL_REQUEST_CODE: u32 = 80_877_102;

/// Writes the tag and a length placeholder; returns where the length goes.
#[inline]
fn begin(out: &mut Vec<u8>, tag: u8) -> usize {
    out.push(tag);
    let at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    at
}

#[inline]
fn finish(out: &mut [u8], at: usize) {
    let len = (out.len() - at) as u32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

fn check_cstr(what: &str, s: &str) -> Result<(), ProtocolError> {
    if s.as_bytes().contains(&0) {
        return Err(ProtocolError::new(format!("{what} must not contain a NUL character")));
    }
    Ok(())
}

#[inline]
fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

pub fn startup(out: &mut Vec<u8>, version: u32, params: &[(&str, &str)]) -> Result<(), ProtocolError> {
    for (k, v) in params {
        check_cstr("a startup parameter", k)?;
        check_cstr("a startup parameter value", v)?;
    }
    let at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&version.to_be_bytes());
    for (k, v) in params {
        cstr(out, k);
        cstr(out, v);
    }
    out.push(0);
    finish(out, at);
    Ok(())
}

pub fn ssl_request(out: &mut Vec<u8>) {
    out.extend_from_slice(&8u32.to_be_bytes());
    out.extend_from_slice(&SSL_REQUEST_CODE.to_be_bytes());
}

pub fn cancel_request(out: &mut Vec<u8>, pid: u32, key: &[u8]) {
    let len = 12 + key.len() as u32;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&CANCEL_REQUEST_CODE.to_be_bytes());
    out.extend_from_slice(&pid.to_be_bytes());
    out.extend_from_slice(key);
}

/// PasswordMessage with a cleartext or md5 password (NUL-terminated).
pub fn password(out: &mut Vec<u8>, password: &str) -> Result<(), ProtocolError> {
    check_cstr("the password", password)?;
    let at = begin(out, b'p');
    cstr(out, password);
    finish(out, at);
    Ok(())
}

pub fn sasl_initial_response(out: &mut Vec<u8>, mechanism: &str, data: &[u8]) {
    let at = begin(out, b'p');
    cstr(out, mechanism);
    out.extend_from_slice(&(data.len() as i32).to_be_bytes());
    out.extend_from_slice(data);
    finish(out, at);
}

pub fn sasl_response(out: &mut Vec<u8>, data: &[u8]) {
    let at = begin(out, b'p');
    out.extend_from_slice(data);
    finish(out, at);
}

pub fn query(out: &mut Vec<u8>, sql: &str) -> Result<(), ProtocolError> {
    check_cstr("the SQL text", sql)?;
    let at = begin(out, b'Q');
    cstr(out, sql);
    finish(out, at);
    Ok(())
}

pub fn parse(out: &mut Vec<u8>, name: &str, sql: &str, param_types: &[u32]) -> Result<(), ProtocolError> {
    check_cstr("the SQL text", sql)?;
    check_cstr("a statement name", name)?;
    if param_types.len() > u16::MAX as usize {
        return Err(ProtocolError::new("too many parameter types"));
    }
    let at = begin(out, b'P');
    cstr(out, name);
    cstr(out, sql);
    out.extend_from_slice(&(param_types.len() as u16).to_be_bytes());
    for t in param_types {
        out.extend_from_slice(&t.to_be_bytes());
    }
    finish(out, at);
    Ok(())
}

/// Bind, with parameter values already encoded as a sequence of (length or -1, bytes)
/// in `values` (the wire layout of Bind's value list) and one format code per parameter.
pub fn bind(
    out: &mut Vec<u8>,
    portal: &str,
    statement: &str,
    param_formats: &[i16],
    param_count: u16,
    values: &[u8],
    result_formats: &[i16],
) {
    let at = begin(out, b'B');
    cstr(out, portal);
    cstr(out, statement);
    push_formats(out, param_formats);
    out.extend_from_slice(&param_count.to_be_bytes());
    out.extend_from_slice(values);
    push_formats(out, result_formats);
    finish(out, at);
}

/// Bind of the unnamed portal with the result format codes already encoded (see
/// [`encode_formats`]): what every `exec` writes, so a statement encodes its result
/// formats once.
pub fn bind_unnamed(
    out: &mut Vec<u8>,
    statement: &str,
    param_formats: &[i16],
    param_count: u16,
    values: &[u8],
    encoded_result_formats: &[u8],
) {
    let at = begin(out, b'B');
    out.push(0);
    cstr(out, statement);
    push_formats(out, param_formats);
    out.extend_from_slice(&param_count.to_be_bytes());
    out.extend_from_slice(values);
    out.extend_from_slice(encoded_result_formats);
    finish(out, at);
}

/// Format codes as Bind carries them (count, then codes), for [`bind_unnamed`].
pub fn encode_formats(formats: &[i16]) -> Vec<u8> {
    let mut out = Vec::new();
    push_formats(&mut out, formats);
    out
}

/// Execute of the unnamed portal followed by Sync, in one write.
pub fn execute_unnamed_and_sync(out: &mut Vec<u8>, max_rows: u32) {
    let m = max_rows.to_be_bytes();
    out.extend_from_slice(&[b'E', 0, 0, 0, 9, 0, m[0], m[1], m[2], m[3], b'S', 0, 0, 0, 4]);
}

/// Format codes, compressed the way the protocol allows: none means all text, one means
/// the same for all.
fn push_formats(out: &mut Vec<u8>, formats: &[i16]) {
    if formats.iter().all(|&f| f == 0) {
        out.extend_from_slice(&0u16.to_be_bytes());
    } else if formats.iter().all(|&f| f == formats[0]) {
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&formats[0].to_be_bytes());
    } else {
        out.extend_from_slice(&(formats.len() as u16).to_be_bytes());
        for f in formats {
            out.extend_from_slice(&f.to_be_bytes());
        }
    }
}

pub fn describe_statement(out: &mut Vec<u8>, name: &str) {
    let at = begin(out, b'D');
    out.push(b'S');
    cstr(out, name);
    finish(out, at);
}

pub fn describe_portal(out: &mut Vec<u8>, name: &str) {
    let at = begin(out, b'D');
    out.push(b'P');
    cstr(out, name);
    finish(out, at);
}

pub fn execute(out: &mut Vec<u8>, portal: &str, max_rows: u32) {
    let at = begin(out, b'E');
    cstr(out, portal);
    out.extend_from_slice(&max_rows.to_be_bytes());
    finish(out, at);
}

pub fn close_statement(out: &mut Vec<u8>, name: &str) {
    let at = begin(out, b'C');
    out.push(b'S');
    cstr(out, name);
    finish(out, at);
}

pub fn close_portal(out: &mut Vec<u8>, name: &str) {
    let at = begin(out, b'C');
    out.push(b'P');
    cstr(out, name);
    finish(out, at);
}

/// Ends a COPY FROM STDIN we cannot serve; the server answers with an error.
pub fn copy_fail(out: &mut Vec<u8>, reason: &str) {
    let at = begin(out, b'f');
    out.extend(reason.bytes().filter(|&b| b != 0));
    out.push(0);
    finish(out, at);
}

pub fn sync(out: &mut Vec<u8>) {
    out.extend_from_slice(&[b'S', 0, 0, 0, 4]);
}

pub fn flush(out: &mut Vec<u8>) {
    out.extend_from_slice(&[b'H', 0, 0, 0, 4]);
}

pub fn terminate(out: &mut Vec<u8>) {
    out.extend_from_slice(&[b'X', 0, 0, 0, 4]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_and_query_layout() {
        let mut out = Vec::new();
        query(&mut out, "SELECT 1").unwrap();
        assert_eq!(&out[..5], &[b'Q', 0, 0, 0, 13]);
        assert_eq!(&out[5..], b"SELECT 1\0");
        let mut s = Vec::new();
        sync(&mut s);
        assert_eq!(s, [b'S', 0, 0, 0, 4]);
    }

    #[test]
    fn nul_in_sql_is_rejected_before_anything_is_written() {
        let mut out = vec![1, 2, 3];
        assert!(query(&mut out, "SELECT '\0'").is_err());
        assert!(parse(&mut out, "s", "a\0b", &[]).is_err());
        assert_eq!(out, vec![1, 2, 3]);
    }

    #[test]
    fn startup_message_ends_with_double_nul() {
        let mut out = Vec::new();
        startup(&mut out, PROTOCOL_3_2, &[("user", "u")]).unwrap();
        assert_eq!(u32::from_be_bytes(out[0..4].try_into().unwrap()) as usize, out.len());
        assert_eq!(u32::from_be_bytes(out[4..8].try_into().unwrap()), PROTOCOL_3_2);
        assert_eq!(&out[8..], b"user\0u\0\0");
    }

    #[test]
    fn bind_compresses_format_codes() {
        let mut out = Vec::new();
        bind(&mut out, "", "s1", &[1, 1], 2, &[0, 0, 0, 1, 7, 255, 255, 255, 255], &[1]);
        // tag, len, portal "", stmt "s1\0", 1 format code (1), 2 params...
        assert_eq!(&out[5..10], b"\0s1\0\0");
        assert_eq!(&out[9..13], &[0, 1, 0, 1]);
    }

    #[test]
    fn unnamed_bind_and_execute_match_the_general_writers() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        bind(&mut a, "", "s1", &[1, 0], 2, b"\0\0\0\x01x\xff\xff\xff\xff", &[1, 1, 0]);
        execute(&mut a, "", 1);
        sync(&mut a);
        bind_unnamed(&mut b, "s1", &[1, 0], 2, b"\0\0\0\x01x\xff\xff\xff\xff", &encode_formats(&[1, 1, 0]));
        execute_unnamed_and_sync(&mut b, 1);
        assert_eq!(a, b);
    }
}
