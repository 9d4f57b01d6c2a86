//! Backend (server → client) messages as borrowed views over the receive buffer.
//!
//! [`parse_message`] frames one message and returns a view; nothing is copied or
//! allocated per field. Row values, column descriptions and error fields are read lazily
//! by iterators that check every length against the message body, so a malformed message
//! is a [`ProtocolError`], never a panic or an out-of-bounds read.

use crate::ProtocolError;

/// Messages larger than this are treated as a protocol violation rather than buffered:
/// PostgreSQL itself caps a single field at 1 GiB.
pub const MAX_MESSAGE_LEN: usize = 1 << 30;

#[derive(Debug, Clone, Copy)]
pub enum BackendMessage<'a> {
    AuthenticationOk,
    AuthenticationCleartextPassword,
    AuthenticationMd5Password([u8; 4]),
    AuthenticationSasl(&'a [u8]),
    AuthenticationSaslContinue(&'a [u8]),
    AuthenticationSaslFinal(&'a [u8]),
    AuthenticationOther(u32),
    BackendKeyData { pid: u32, key: &'a [u8] },
    BindComplete,
    CloseComplete,
    CommandComplete(&'a [u8]),
    CopyInResponse,
    CopyOutResponse,
    CopyBothResponse,
    CopyData(&'a [u8]),
    CopyDone,
    DataRow(DataRow<'a>),
    EmptyQueryResponse,
    ErrorResponse(ErrorFields<'a>),
    NoticeResponse(ErrorFields<'a>),
    NotificationResponse { pid: u32, channel: &'a [u8], payload: &'a [u8] },
    NegotiateProtocolVersion { newest_minor: u32, unrecognized: &'a [u8] },
    NoData,
    ParameterDescription(&'a [u8]),
    ParameterStatus { name: &'a [u8], value: &'a [u8] },
    ParseComplete,
    PortalSuspended,
    ReadyForQuery(u8),
    RowDescription(RowDescription<'a>),
}

#[inline]
fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[inline]
fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn short(what: &str) -> ProtocolError {
    ProtocolError::new(format!("malformed {what} message from the server"))
}

/// Splits a NUL-terminated string off the front of `b`.
fn take_cstr<'a>(b: &'a [u8], what: &str) -> Result<(&'a [u8], &'a [u8]), ProtocolError> {
    match b.iter().position(|&c| c == 0) {
        Some(i) => Ok((&b[..i], &b[i + 1..])),
        None => Err(short(what)),
    }
}

/// Frames the next message in `buf`. Returns `Ok(None)` when more bytes are needed,
/// otherwise the message and the number of bytes it occupied.
pub fn parse_message(buf: &[u8]) -> Result<Option<(BackendMessage<'_>, usize)>, ProtocolError> {
    if buf.len() < 5 {
        return Ok(None);
    }
    let tag = buf[0];
    let len = be_u32(&buf[1..5]) as usize;
    if !(4..=MAX_MESSAGE_LEN).contains(&len) {
        return Err(ProtocolError::new(format!(
            "invalid message length {len} for message type {:?} from the server",
            tag as char
        )));
    }
    let total = len + 1;
    if buf.len() < total {
        return Ok(None);
    }
    let body = &buf[5..total];
    let msg = decode_body(tag, body)?;
    Ok(Some((msg, total)))
}

/// Bytes still missing before the message at the front of `buf` is complete (0 if it is,
/// or if even the header is incomplete). Lets transports size their reads.
pub fn missing_bytes(buf: &[u8]) -> usize {
    if buf.len() < 5 {
        return 0;
    }
    let total = be_u32(&buf[1..5]) as usize + 1;
    total.saturating_sub(buf.len())
}

fn decode_body(tag: u8, body: &[u8]) -> Result<BackendMessage<'_>, ProtocolError> {
    use BackendMessage as M;
    Ok(match tag {
        b'D' => {
            if body.len() < 2 {
                return Err(short("DataRow"));
            }
            M::DataRow(DataRow { count: be_u16(body), body: &body[2..] })
        }
        b'C' => M::CommandComplete(take_cstr(body, "CommandComplete")?.0),
        b'Z' => {
            if body.len() != 1 {
                return Err(short("ReadyForQuery"));
            }
            M::ReadyForQuery(body[0])
        }
        b'T' => {
            if body.len() < 2 {
                return Err(short("RowDescription"));
            }
            M::RowDescription(RowDescription { count: be_u16(body), body: &body[2..] })
        }
        b'1' => M::ParseComplete,
        b'2' => M::BindComplete,
        b'3' => M::CloseComplete,
        b'n' => M::NoData,
        b's' => M::PortalSuspended,
        b'I' => M::EmptyQueryResponse,
        b't' => {
            if body.len() < 2 || body.len() != 2 + 4 * be_u16(body) as usize {
                return Err(short("ParameterDescription"));
            }
            M::ParameterDescription(body)
        }
        b'E' => M::ErrorResponse(ErrorFields { body }),
        b'N' => M::NoticeResponse(ErrorFields { body }),
        b'S' => {
            let (name, rest) = take_cstr(body, "ParameterStatus")?;
            let (value, _) = take_cstr(rest, "ParameterStatus")?;
            M::ParameterStatus { name, value }
        }
        b'K' => {
            if body.len() < 8 {
                return Err(short("BackendKeyData"));
            }
            M::BackendKeyData { pid: be_u32(body), key: &body[4..] }
        }
        b'A' => {
            if body.len() < 4 {
                return Err(short("NotificationResponse"));
            }
            let (channel, rest) = take_cstr(&body[4..], "NotificationResponse")?;
            let (payload, _) = take_cstr(rest, "NotificationResponse")?;
            M::NotificationResponse { pid: be_u32(body), channel, payload }
        }
        b'R' => {
            if body.len() < 4 {
                return Err(short("Authentication"));
            }
            let code = be_u32(body);
            let rest = &body[4..];
            match code {
                0 => M::AuthenticationOk,
                3 => M::AuthenticationCleartextPassword,
                5 => {
                    if rest.len() != 4 {
                        return Err(short("AuthenticationMD5Password"));
                    }
                    M::AuthenticationMd5Password([rest[0], rest[1], rest[2], rest[3]])
                }
                10 => M::AuthenticationSasl(rest),
                11 => M::AuthenticationSaslContinue(rest),
                12 => M::AuthenticationSaslFinal(rest),
                other => M::AuthenticationOther(other),
            }
        }
        b'v' => {
            if body.len() < 8 {
                return Err(short("NegotiateProtocolVersion"));
            }
            M::NegotiateProtocolVersion { newest_minor: be_u32(body), unrecognized: &body[4..] }
        }
        b'G' => M::CopyInResponse,
        b'H' => M::CopyOutResponse,
        b'W' => M::CopyBothResponse,
        b'd' => M::CopyData(body),
        b'c' => M::CopyDone,
        other => {
            return Err(ProtocolError::new(format!(
                "unexpected message type {:?} from the server",
                other as char
            )))
        }
    })
}

/// One DataRow: `count` values, each an i32 length (-1 for NULL) and that many bytes.
#[derive(Debug, Clone, Copy)]
pub struct DataRow<'a> {
    pub count: u16,
    pub body: &'a [u8],
}

impl<'a> DataRow<'a> {
    pub fn values(&self) -> DataRowValues<'a> {
        DataRowValues { rest: self.body, left: self.count }
    }
}

pub struct DataRowValues<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for DataRowValues<'a> {
    type Item = Result<Option<&'a [u8]>, ProtocolError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        if self.rest.len() < 4 {
            self.left = 0;
            return Some(Err(short("DataRow")));
        }
        let len = i32::from_be_bytes([self.rest[0], self.rest[1], self.rest[2], self.rest[3]]);
        self.rest = &self.rest[4..];
        if len < 0 {
            return Some(Ok(None));
        }
        let len = len as usize;
        if self.rest.len() < len {
            self.left = 0;
            return Some(Err(short("DataRow")));
        }
        let (v, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(Ok(Some(v)))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RowDescription<'a> {
    pub count: u16,
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
pub struct FieldDescription<'a> {
    pub name: &'a [u8],
    pub table_oid: u32,
    pub column_id: i16,
    pub type_oid: u32,
    pub type_size: i16,
    pub type_modifier: i32,
    pub format: i16,
}

impl<'a> RowDescription<'a> {
    pub fn fields(&self) -> impl Iterator<Item = Result<FieldDescription<'a>, ProtocolError>> + 'a {
        let mut rest = self.body;
        let mut left = self.count;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let parsed = (|| {
                let (name, after) = take_cstr(rest, "RowDescription")?;
                if after.len() < 18 {
                    return Err(short("RowDescription"));
                }
                let f = FieldDescription {
                    name,
                    table_oid: be_u32(after),
                    column_id: be_u16(&after[4..]) as i16,
                    type_oid: be_u32(&after[6..]),
                    type_size: be_u16(&after[10..]) as i16,
                    type_modifier: be_u32(&after[12..]) as i32,
                    format: be_u16(&after[16..]) as i16,
                };
                rest = &after[18..];
                Ok(f)
            })();
            if parsed.is_err() {
                left = 0;
            }
            Some(parsed)
        })
    }
}

/// Parameter type OIDs of a ParameterDescription body (length already validated).
pub fn parameter_types(body: &[u8]) -> impl Iterator<Item = u32> + '_ {
    body[2..].chunks_exact(4).map(be_u32)
}

/// The fields of an ErrorResponse or NoticeResponse: (code byte, text) pairs.
#[derive(Debug, Clone, Copy)]
pub struct ErrorFields<'a> {
    pub body: &'a [u8],
}

impl<'a> ErrorFields<'a> {
    pub fn iter(&self) -> impl Iterator<Item = (u8, &'a [u8])> + 'a {
        let mut rest = self.body;
        std::iter::from_fn(move || {
            let (&code, after) = rest.split_first()?;
            if code == 0 {
                return None;
            }
            let end = after.iter().position(|&c| c == 0).unwrap_or(after.len());
            let value = &after[..end];
            rest = if end < after.len() { &after[end + 1..] } else { &[] };
            Some((code, value))
        })
    }

    pub fn get(&self, code: u8) -> Option<&'a [u8]> {
        self.iter().find(|(c, _)| *c == code).map(|(_, v)| v)
    }

    pub fn get_str(&self, code: u8) -> String {
        self.get(code).map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default()
    }

    /// FATAL or PANIC: the server ends the session after sending this.
    pub fn is_fatal(&self) -> bool {
        let severity = self.get(b'V').or_else(|| self.get(b'S')).unwrap_or(b"");
        severity == b"FATAL" || severity == b"PANIC"
    }

    /// The owned form, for errors that outlive the receive buffer.
    pub fn to_owned_fields(&self) -> Vec<(u8, String)> {
        self.iter().map(|(c, v)| (c, String::from_utf8_lossy(v).into_owned())).collect()
    }
}

/// Rows affected, from a CommandComplete tag such as `INSERT 0 5`, `UPDATE 3`, `MERGE 2`,
/// `SELECT 10`, `COPY 7`. Tags without a count (DDL, BEGIN) give 0.
pub fn affected_rows(tag: &[u8]) -> u64 {
    let last = tag.rsplit(|&c| c == b' ').next().unwrap_or(b"");
    if last.is_empty() || last.len() == tag.len() || !last.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    std::str::from_utf8(last).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn frames_need_all_bytes() {
        let m = msg(b'Z', b"I");
        for cut in 0..m.len() {
            assert!(parse_message(&m[..cut]).unwrap().is_none());
        }
        let (parsed, used) = parse_message(&m).unwrap().unwrap();
        assert_eq!(used, m.len());
        assert!(matches!(parsed, BackendMessage::ReadyForQuery(b'I')));
    }

    #[test]
    fn data_row_values_and_nulls() {
        let mut body = vec![0, 3];
        body.extend_from_slice(&2i32.to_be_bytes());
        body.extend_from_slice(b"hi");
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes());
        let m = msg(b'D', &body);
        let (parsed, _) = parse_message(&m).unwrap().unwrap();
        let BackendMessage::DataRow(row) = parsed else { panic!() };
        let vals: Vec<_> = row.values().map(|v| v.unwrap()).collect();
        assert_eq!(vals, vec![Some(&b"hi"[..]), None, Some(&b""[..])]);
    }

    #[test]
    fn truncated_data_row_is_an_error_not_a_panic() {
        let mut body = vec![0, 2];
        body.extend_from_slice(&10i32.to_be_bytes());
        body.extend_from_slice(b"abc");
        let m = msg(b'D', &body);
        let (parsed, _) = parse_message(&m).unwrap().unwrap();
        let BackendMessage::DataRow(row) = parsed else { panic!() };
        let vals: Vec<_> = row.values().collect();
        assert_eq!(vals.len(), 1);
        assert!(vals[0].is_err());
    }

    #[test]
    fn error_fields() {
        let m = msg(b'E', b"SERROR\0C42P01\0Mrelation \"x\" does not exist\0\0");
        let (parsed, _) = parse_message(&m).unwrap().unwrap();
        let BackendMessage::ErrorResponse(f) = parsed else { panic!() };
        assert_eq!(f.get(b'C'), Some(&b"42P01"[..]));
        assert_eq!(f.get_str(b'M'), "relation \"x\" does not exist");
        assert_eq!(f.iter().count(), 3);
    }

    #[test]
    fn bad_length_is_rejected() {
        assert!(parse_message(&[b'Z', 0, 0, 0, 1]).is_err());
        assert!(parse_message(&[b'Z', 0x7f, 0, 0, 0]).is_err());
    }

    #[test]
    fn row_counts_from_tags() {
        assert_eq!(affected_rows(b"INSERT 0 5"), 5);
        assert_eq!(affected_rows(b"UPDATE 3"), 3);
        assert_eq!(affected_rows(b"MERGE 2"), 2);
        assert_eq!(affected_rows(b"SELECT 10"), 10);
        assert_eq!(affected_rows(b"CREATE TABLE"), 0);
        assert_eq!(affected_rows(b"BEGIN"), 0);
    }

    #[test]
    fn row_description_fields() {
        let mut body = vec![0, 1];
        body.extend_from_slice(b"id\0");
        body.extend_from_slice(&0u32.to_be_bytes());
        body.extend_from_slice(&0u16.to_be_bytes());
        body.extend_from_slice(&23u32.to_be_bytes());
        body.extend_from_slice(&4u16.to_be_bytes());
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&1u16.to_be_bytes());
        let m = msg(b'T', &body);
        let (parsed, _) = parse_message(&m).unwrap().unwrap();
        let BackendMessage::RowDescription(rd) = parsed else { panic!() };
        let f: Vec<_> = rd.fields().map(|f| f.unwrap()).collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name, b"id");
        assert_eq!(f[0].type_oid, 23);
        assert_eq!(f[0].format, 1);
    }
}
