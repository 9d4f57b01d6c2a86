//! The session after login: which reply belongs to which request.
//!
//! Theory of operation. Every frontend message that draws a reply pushes an
//! [`Expect`] (with a caller-chosen `tag`) onto a queue, in the order the messages were
//! written. Each backend message is matched against the oldest expectation and reported
//! as an [`Event`] carrying that tag. The rules the server follows, mirrored here:
//!
//! * Extended protocol: after an ErrorResponse the server ignores every message up to
//!   the next Sync. So after reporting the error we report every expectation queued
//!   before that Sync as [`Event::Skipped`], without reading anything, and resume at the
//!   Sync's ReadyForQuery. This is what keeps pipelines, batches and portals in step.
//! * Simple Query: one expectation covers every result set of the string and ends with
//!   its own ReadyForQuery; an error ends the string early, ReadyForQuery still follows.
//! * NoticeResponse, NotificationResponse and ParameterStatus can arrive at any time and
//!   belong to nobody: they are reported with no tag and change no expectation.
//! * A message that matches no expectation, a malformed message, or a FATAL error marks
//!   the conversation broken; the caller must then close the connection.

use std::collections::VecDeque;

use crate::backend::{self, BackendMessage, DataRow, ErrorFields, RowDescription};
use crate::ProtocolError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    ParseComplete,
    BindComplete,
    CloseComplete,
    /// Describe(statement): ParameterDescription, then RowDescription or NoData.
    StatementDescription,
    /// Describe(portal), or the second half of a statement description.
    RowDescription,
    /// Execute: DataRows, then CommandComplete, EmptyQueryResponse or PortalSuspended.
    Execute,
    /// A Query message: everything up to and including its ReadyForQuery.
    SimpleQuery,
    /// Sync: ReadyForQuery.
    Sync,
}

/// What [`Conversation::peek_reply`] found.
#[derive(Clone, Copy)]
enum ReplyShape {
    Bind,
    /// CommandComplete with a tag of this many bytes.
    Command(usize),
    Ready(u8),
}

/// A reply taken by [`Conversation::next_reply`].
#[derive(Debug, Clone, Copy)]
pub enum Reply<'a> {
    BindComplete,
    CommandComplete(&'a [u8]),
    ReadyForQuery(u8),
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    expect: Expect,
    tag: u64,
}

#[derive(Debug)]
pub enum Event<'a> {
    ParseComplete { tag: u64 },
    BindComplete { tag: u64 },
    CloseComplete { tag: u64 },
    ParameterDescription { tag: u64, body: &'a [u8] },
    RowDescription { tag: u64, desc: RowDescription<'a> },
    NoData { tag: u64 },
    DataRow { tag: u64, row: DataRow<'a> },
    CommandComplete { tag: u64, command: &'a [u8] },
    EmptyQuery { tag: u64 },
    PortalSuspended { tag: u64 },
    /// The server refused the request `tag` (None when nothing was outstanding, e.g. an
    /// administrator terminating the session).
    Error { tag: Option<u64>, fields: ErrorFields<'a> },
    /// A request the server never ran because an earlier one in its Sync segment failed.
    Skipped { tag: u64, expect: Expect },
    /// COPY FROM STDIN started inside a simple query; the caller must answer (CopyFail).
    CopyIn { tag: u64 },
    CopyOut { tag: u64 },
    CopyData { tag: u64, data: &'a [u8] },
    ReadyForQuery { tag: u64, status: u8 },
    Notice(ErrorFields<'a>),
    Notification { pid: u32, channel: &'a [u8], payload: &'a [u8] },
    ParameterStatus { name: &'a [u8], value: &'a [u8] },
}

pub struct Conversation {
    /// Receive buffer; bytes `pos..end` are received and not yet parsed, the rest is
    /// spare room for the next read.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    state: State,
}

/// Everything but the receive buffer, so that routing can mutate it while the event
/// still borrows the buffer.
struct State {
    queue: VecDeque<Pending>,
    /// Set after an extended-protocol error until the next Sync's ReadyForQuery.
    skipping: bool,
    broken: Option<String>,
    transaction_status: u8,
}

impl Default for Conversation {
    /// Allocates nothing: the receive buffer grows on the first read.
    fn default() -> Self {
        Conversation {
            buf: Vec::new(),
            pos: 0,
            end: 0,
            state: State { queue: VecDeque::new(), skipping: false, broken: None, transaction_status: b'I' },
        }
    }
}

impl Conversation {
    pub fn new() -> Self {
        Conversation {
            buf: vec![0; 64 * 1024],
            pos: 0,
            end: 0,
            state: State { queue: VecDeque::new(), skipping: false, broken: None, transaction_status: b'I' },
        }
    }

    /// Records that a message drawing `expect` was written, on behalf of `tag`.
    #[inline]
    pub fn expect(&mut self, expect: Expect, tag: u64) {
        self.state.queue.push_back(Pending { expect, tag });
    }

    pub fn outstanding(&self) -> usize {
        self.state.queue.len()
    }

    /// The newest expectation queued, if any.
    pub fn last_expect(&self) -> Option<Expect> {
        self.state.queue.back().map(|p| p.expect)
    }

    pub fn is_idle(&self) -> bool {
        self.state.queue.is_empty()
    }

    /// `b'I'` idle, `b'T'` in a transaction, `b'E'` in a failed transaction — as of the
    /// last ReadyForQuery.
    pub fn transaction_status(&self) -> u8 {
        self.state.transaction_status
    }

    pub fn broken(&self) -> Option<&str> {
        self.state.broken.as_deref()
    }

    pub fn mark_broken(&mut self, why: impl Into<String>) {
        if self.state.broken.is_none() {
            self.state.broken = Some(why.into());
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        let spare = self.read_buffer(data.len());
        spare[..data.len()].copy_from_slice(data);
        self.commit_read(data.len());
    }

    /// A spare region after the buffered bytes for a transport to read into directly (no
    /// intermediate copy); then call [`Conversation::commit_read`] with the count read.
    /// The region is at least `at_least` bytes, and at least 8 KiB.
    pub fn read_buffer(&mut self, at_least: usize) -> &mut [u8] {
        self.compact();
        let want = self.end + at_least.max(8192);
        if self.buf.len() < want {
            // Grow geometrically; the zero fill happens only when the buffer grows.
            let new_len = want.max(self.buf.len() * 2);
            self.buf.resize(new_len, 0);
        }
        &mut self.buf[self.end..]
    }

    pub fn commit_read(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Bytes still missing to complete the message at the front, 0 if unknown.
    pub fn missing_bytes(&self) -> usize {
        backend::missing_bytes(&self.buf[self.pos..self.end])
    }

    fn compact(&mut self) {
        if self.pos == 0 {
            return;
        }
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        } else if self.pos > self.buf.len() / 2 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
    }

    /// Fast path for result rows: takes the next message if it is a complete DataRow
    /// answering the request at the front of the queue. Anything else (other messages,
    /// partial or malformed ones) is left for [`Conversation::next_event`], which applies
    /// every rule; this only skips the general dispatch for the one message that comes by
    /// the hundred thousand.
    #[inline]
    pub fn next_data_row(&mut self) -> Option<DataRow<'_>> {
        if self.state.skipping || self.state.broken.is_some() {
            return None;
        }
        let front = self.state.queue.front()?;
        if !matches!(front.expect, Expect::Execute | Expect::SimpleQuery) {
            return None;
        }
        let buf = &self.buf[self.pos..self.end];
        if buf.len() < 7 || buf[0] != b'D' {
            return None;
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if !(6..=backend::MAX_MESSAGE_LEN).contains(&len) || len + 1 > buf.len() {
            return None;
        }
        let body = &buf[5..len + 1];
        self.pos += len + 1;
        Some(DataRow { count: u16::from_be_bytes([body[0], body[1]]), body: &body[2..] })
    }

    /// The next message without routing it: for the login phase, which has its own
    /// state machine ([`crate::startup::Startup`]).
    pub fn next_message(&mut self) -> Result<Option<BackendMessage<'_>>, ProtocolError> {
        if let Some(why) = &self.state.broken {
            return Err(ProtocolError::new(why.clone()));
        }
        match backend::parse_message(&self.buf[self.pos..self.end]) {
            Ok(Some((msg, used))) => {
                self.pos += used;
                Ok(Some(msg))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.state.broken = Some(e.message.clone());
                Err(e)
            }
        }
    }

    /// True when nothing can happen before more bytes arrive: none are buffered, no
    /// skipped requests wait to be reported, and the conversation is not broken.
    pub fn awaits_input(&self) -> bool {
        self.pos == self.end && !self.state.skipping && self.state.broken.is_none()
    }

    /// Fast path for the replies that close every extended-protocol request: a complete
    /// BindComplete, CommandComplete or ReadyForQuery at the front of the buffer that
    /// answers the request at the front of the queue. Returns what it is, the request,
    /// and the message's length; anything else (None) goes the general way.
    #[inline]
    fn peek_reply(&self) -> Option<(ReplyShape, Pending, usize)> {
        let front = *self.state.queue.front()?;
        let buf = &self.buf[self.pos..self.end];
        if buf.len() < 6 {
            return None;
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        let body = buf.get(5..len.checked_add(1)?)?;
        let reply = match (buf[0], front.expect) {
            (b'2', Expect::BindComplete) if body.is_empty() => ReplyShape::Bind,
            (b'C', Expect::Execute) => match body.iter().position(|&c| c == 0) {
                Some(n) if n + 1 == body.len() => ReplyShape::Command(n),
                _ => return None,
            },
            (b'Z', Expect::Sync) if body.len() == 1 => ReplyShape::Ready(body[0]),
            _ => return None,
        };
        Some((reply, front, len + 1))
    }

    /// The next message if it is a BindComplete, CommandComplete or ReadyForQuery that
    /// answers the request at the front of the queue (what [`Conversation::next_event`]
    /// would report as that event, with its tag); `None` leaves everything else, and
    /// every message while an error is being skipped past, to `next_event`.
    #[inline]
    pub fn take_reply(&mut self) -> Option<(u64, Reply<'_>)> {
        if self.state.skipping || self.state.broken.is_some() {
            return None;
        }
        let found = self.peek_reply()?;
        Some(self.consume_reply(found))
    }

    fn consume_reply(&mut self, (shape, front, total): (ReplyShape, Pending, usize)) -> (u64, Reply<'_>) {
        let body = self.pos + 5;
        self.pos += total;
        self.state.queue.pop_front();
        let reply = match shape {
            ReplyShape::Bind => Reply::BindComplete,
            ReplyShape::Command(n) => Reply::CommandComplete(&self.buf[body..body + n]),
            ReplyShape::Ready(status) => {
                self.state.transaction_status = status;
                Reply::ReadyForQuery(status)
            }
        };
        (front.tag, reply)
    }

    /// The next event, or `None` when more bytes must be fed first.
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ProtocolError> {
        if let Some(why) = &self.state.broken {
            return Err(ProtocolError::new(why.clone()));
        }
        let found = if self.state.skipping { None } else { self.peek_reply() };
        if let Some(found) = found {
            let (tag, reply) = self.consume_reply(found);
            return Ok(Some(match reply {
                Reply::BindComplete => Event::BindComplete { tag },
                Reply::CommandComplete(command) => Event::CommandComplete { tag, command },
                Reply::ReadyForQuery(status) => Event::ReadyForQuery { tag, status },
            }));
        }
        if self.state.skipping {
            if let Some(front) = self.state.queue.front().copied() {
                if front.expect != Expect::Sync {
                    self.state.queue.pop_front();
                    return Ok(Some(Event::Skipped { tag: front.tag, expect: front.expect }));
                }
            }
        }
        let parsed = match backend::parse_message(&self.buf[self.pos..self.end]) {
            Ok(p) => p,
            Err(e) => {
                self.state.broken = Some(e.message.clone());
                return Err(e);
            }
        };
        let Some((msg, used)) = parsed else {
            return Ok(None);
        };
        self.pos += used;
        match self.state.route(msg) {
            Ok(ev) => Ok(Some(ev)),
            Err(e) => {
                self.state.broken = Some(e.message.clone());
                Err(e)
            }
        }
    }
}

impl State {
    fn route<'a>(&mut self, msg: BackendMessage<'a>) -> Result<Event<'a>, ProtocolError> {
        use BackendMessage as M;
        // Messages that belong to nobody.
        match msg {
            M::NoticeResponse(f) => return Ok(Event::Notice(f)),
            M::NotificationResponse { pid, channel, payload } => {
                return Ok(Event::Notification { pid, channel, payload })
            }
            M::ParameterStatus { name, value } => return Ok(Event::ParameterStatus { name, value }),
            _ => {}
        }
        let Some(front) = self.queue.front().copied() else {
            if let M::ErrorResponse(fields) = msg {
                // Unsolicited errors are FATAL terminations (admin shutdown, idle timeout).
                self.broken = Some(format!("the server closed the session: {}", fields.get_str(b'M')));
                return Ok(Event::Error { tag: None, fields });
            }
            return Err(unexpected(&msg, None));
        };
        let tag = front.tag;
        if let M::ErrorResponse(fields) = msg {
            if fields.is_fatal() {
                self.broken = Some(format!("the server closed the session: {}", fields.get_str(b'M')));
            }
            match front.expect {
                // The simple query stays queued: its ReadyForQuery is still to come.
                Expect::SimpleQuery => {}
                // An error at Sync itself: the implicit transaction failed to commit
                // (a deferred constraint, say). ReadyForQuery still follows.
                Expect::Sync => {}
                _ => {
                    self.queue.pop_front();
                    self.skipping = true;
                }
            }
            return Ok(Event::Error { tag: Some(tag), fields });
        }
        let ev = match (front.expect, msg) {
            (Expect::ParseComplete, M::ParseComplete) => Event::ParseComplete { tag },
            (Expect::BindComplete, M::BindComplete) => Event::BindComplete { tag },
            (Expect::CloseComplete, M::CloseComplete) => Event::CloseComplete { tag },
            (Expect::StatementDescription, M::ParameterDescription(body)) => {
                self.queue.front_mut().expect("front exists").expect = Expect::RowDescription;
                return Ok(Event::ParameterDescription { tag, body });
            }
            (Expect::RowDescription, M::RowDescription(desc)) => Event::RowDescription { tag, desc },
            (Expect::RowDescription, M::NoData) => Event::NoData { tag },
            (Expect::Execute, M::DataRow(row)) | (Expect::SimpleQuery, M::DataRow(row)) => {
                return Ok(Event::DataRow { tag, row })
            }
            (Expect::Execute, M::CommandComplete(command)) => Event::CommandComplete { tag, command },
            (Expect::Execute, M::EmptyQueryResponse) => Event::EmptyQuery { tag },
            (Expect::Execute, M::PortalSuspended) => Event::PortalSuspended { tag },
            (Expect::SimpleQuery, M::RowDescription(desc)) => return Ok(Event::RowDescription { tag, desc }),
            (Expect::SimpleQuery, M::CommandComplete(command)) => return Ok(Event::CommandComplete { tag, command }),
            (Expect::SimpleQuery, M::EmptyQueryResponse) => return Ok(Event::EmptyQuery { tag }),
            (Expect::SimpleQuery | Expect::Execute, M::CopyInResponse) => return Ok(Event::CopyIn { tag }),
            (Expect::SimpleQuery | Expect::Execute, M::CopyOutResponse) => return Ok(Event::CopyOut { tag }),
            (Expect::SimpleQuery | Expect::Execute, M::CopyData(data)) => return Ok(Event::CopyData { tag, data }),
            (Expect::SimpleQuery | Expect::Execute, M::CopyDone) => return Ok(Event::CopyData { tag, data: &[] }),
            (Expect::SimpleQuery | Expect::Sync, M::ReadyForQuery(status)) => {
                self.transaction_status = status;
                self.skipping = false;
                Event::ReadyForQuery { tag, status }
            }
            (expect, msg) => return Err(unexpected(&msg, Some(expect))),
        };
        self.queue.pop_front();
        Ok(ev)
    }
}

fn unexpected(msg: &BackendMessage<'_>, expected: Option<Expect>) -> ProtocolError {
    let name = format!("{msg:?}");
    let name = name.split(['(', ' ', '{']).next().unwrap_or("message").to_owned();
    match expected {
        Some(e) => ProtocolError::new(format!("unexpected {name} from the server while waiting for {e:?}")),
        None => ProtocolError::new(format!("unexpected {name} from the server with no request outstanding")),
    }
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

    fn kinds(conv: &mut Conversation) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(ev) = conv.next_event().unwrap() {
            let s = format!("{ev:?}");
            out.push(s.split([' ', '{', '(']).next().unwrap().to_owned());
        }
        out
    }

    #[test]
    fn error_skips_to_sync() {
        let mut c = Conversation::new();
        c.expect(Expect::ParseComplete, 1);
        c.expect(Expect::BindComplete, 1);
        c.expect(Expect::Execute, 1);
        c.expect(Expect::Sync, 1);
        c.expect(Expect::BindComplete, 2);
        c.expect(Expect::Execute, 2);
        c.expect(Expect::Sync, 2);
        c.feed(&msg(b'E', b"SERROR\0C42601\0Msyntax\0\0"));
        c.feed(&msg(b'Z', b"I"));
        c.feed(&msg(b'2', b""));
        c.feed(&msg(b'C', b"SELECT 0\0"));
        c.feed(&msg(b'Z', b"I"));
        assert_eq!(
            kinds(&mut c),
            ["Error", "Skipped", "Skipped", "ReadyForQuery", "BindComplete", "CommandComplete", "ReadyForQuery"]
        );
        assert!(c.is_idle());
    }

    #[test]
    fn error_at_sync_is_reported_and_ready_follows() {
        let mut c = Conversation::new();
        c.expect(Expect::BindComplete, 1);
        c.expect(Expect::Execute, 1);
        c.expect(Expect::Sync, 1);
        c.feed(&msg(b'2', b""));
        c.feed(&msg(b'C', b"INSERT 0 2\0"));
        c.feed(&msg(b'E', b"SERROR\0C23505\0Mduplicate key\0\0"));
        c.feed(&msg(b'Z', b"I"));
        assert_eq!(kinds(&mut c), ["BindComplete", "CommandComplete", "Error", "ReadyForQuery"]);
        assert!(c.is_idle());
        assert!(c.broken().is_none());
    }

    #[test]
    fn simple_query_error_waits_for_ready() {
        let mut c = Conversation::new();
        c.expect(Expect::SimpleQuery, 7);
        c.feed(&msg(b'E', b"SERROR\0C22012\0Mdivision by zero\0\0"));
        c.feed(&msg(b'Z', b"I"));
        assert_eq!(kinds(&mut c), ["Error", "ReadyForQuery"]);
        assert!(c.is_idle());
    }

    #[test]
    fn unsolicited_message_breaks() {
        let mut c = Conversation::new();
        c.feed(&msg(b'2', b""));
        assert!(c.next_event().is_err());
        assert!(c.broken().is_some());
    }

    #[test]
    fn notices_do_not_consume_expectations() {
        let mut c = Conversation::new();
        c.expect(Expect::Sync, 1);
        c.feed(&msg(b'N', b"SWARNING\0Mhey\0\0"));
        c.feed(&msg(b'Z', b"T"));
        assert_eq!(kinds(&mut c), ["Notice", "ReadyForQuery"]);
        assert_eq!(c.transaction_status(), b'T');
    }

    #[test]
    fn partial_messages_wait_for_more_bytes() {
        let mut c = Conversation::new();
        c.expect(Expect::Sync, 1);
        let m = msg(b'Z', b"I");
        c.feed(&m[..3]);
        assert!(c.next_event().unwrap().is_none());
        c.feed(&m[3..]);
        assert!(matches!(c.next_event().unwrap(), Some(Event::ReadyForQuery { .. })));
    }
}
