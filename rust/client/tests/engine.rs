//! The client engine against scripted server replies: no socket, no server. Each test
//! plays the server's side byte for byte and checks what the client sends and reports.

use pyro_client::{Client, ClientError, Progress, RowMode, StatementRef};

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn ready() -> Vec<u8> {
    msg(b'Z', b"I")
}

fn error(code: &str, text: &str) -> Vec<u8> {
    msg(b'E', format!("SERROR\0VERROR\0C{code}\0M{text}\0\0").as_bytes())
}

fn row_description(cols: &[(&str, u32)]) -> Vec<u8> {
    let mut b = (cols.len() as u16).to_be_bytes().to_vec();
    for (name, oid) in cols {
        b.extend_from_slice(name.as_bytes());
        b.push(0);
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(&oid.to_be_bytes());
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&0u16.to_be_bytes());
    }
    msg(b'T', &b)
}

fn data_row(values: &[Option<&[u8]>]) -> Vec<u8> {
    let mut b = (values.len() as u16).to_be_bytes().to_vec();
    for v in values {
        match v {
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(v);
            }
        }
    }
    msg(b'D', &b)
}

fn command_complete(tag: &str) -> Vec<u8> {
    msg(b'C', format!("{tag}\0").as_bytes())
}

/// Frontend message tags in `out`, in order.
fn tags(out: &[u8]) -> String {
    let mut tags = String::new();
    let mut rest = out;
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        tags.push(rest[0] as char);
        rest = &rest[1 + len..];
    }
    tags
}

fn logged_in() -> Client {
    let mut c = Client::startup(&[("user", "u")], None, 8).unwrap();
    assert!(!c.output().is_empty());
    c.clear_output();
    let mut reply = msg(b'R', &0u32.to_be_bytes());
    reply.extend(msg(b'S', b"server_version\x0018.1\0"));
    reply.extend(msg(b'K', &[0, 0, 0, 7, 1, 2, 3, 4]));
    reply.extend(ready());
    c.feed(&reply);
    assert_eq!(c.process().unwrap(), Progress::Done);
    assert_eq!(c.info.pid, 7);
    c
}

/// exec(str) of a statement not seen before: Parse/Describe/Sync, then Bind/Execute/Sync.
fn prepare_and_execute(c: &mut Client, sql: &str, params: &[u8], types: &[u32], cols: &[(&str, u32)]) {
    c.start_exec(StatementRef::Sql(sql), params, RowMode::List { dicts: false }).unwrap();
    assert_eq!(tags(c.output()), "PDS");
    c.clear_output();
    let mut reply = msg(b'1', b"");
    let mut pd = (types.len() as u16).to_be_bytes().to_vec();
    for t in types {
        pd.extend_from_slice(&t.to_be_bytes());
    }
    reply.extend(msg(b't', &pd));
    reply.extend(if cols.is_empty() { msg(b'n', b"") } else { row_description(cols) });
    reply.extend(ready());
    c.feed(&reply);
    assert_eq!(c.process().unwrap(), Progress::NeedInput);
    assert_eq!(tags(c.output()), "BES");
    c.clear_output();
}

// marshal.dumps((5,), 2) and marshal.dumps((), 2)
const ONE_INT: &[u8] = b"(\x01\x00\x00\x00i\x05\x00\x00\x00";
const NO_PARAMS: &[u8] = b"(\x00\x00\x00\x00";

#[test]
fn simple_query_rows_and_count() {
    let mut c = logged_in();
    c.start_query("SELECT 1", RowMode::List { dicts: false }).unwrap();
    assert_eq!(tags(c.output()), "Q");
    c.clear_output();
    let mut reply = row_description(&[("x", 23)]);
    reply.extend(data_row(&[Some(b"1")]));
    reply.extend(data_row(&[None]));
    reply.extend(command_complete("SELECT 2"));
    reply.extend(ready());
    // Byte by byte: the engine must wait for whole messages.
    for b in &reply[..reply.len() - 1] {
        c.feed(std::slice::from_ref(b));
        assert_eq!(c.process().unwrap(), Progress::NeedInput);
    }
    c.feed(&reply[reply.len() - 1..]);
    assert_eq!(c.process().unwrap(), Progress::Done);
    assert!(c.result.error.is_none());
    assert!(c.result.has_rows);
    assert_eq!(c.result.value, 2);
    assert_eq!(c.result_bytes()[0], 0x80, "a pickle stream");
}

#[test]
fn exec_prepares_once_then_uses_the_cache() {
    let mut c = logged_in();
    prepare_and_execute(&mut c, "SELECT $1::int", ONE_INT, &[23], &[("int4", 23)]);
    let mut reply = msg(b'2', b"");
    reply.extend(data_row(&[Some(&5i32.to_be_bytes())]));
    reply.extend(command_complete("SELECT 1"));
    reply.extend(ready());
    c.feed(&reply);
    assert_eq!(c.process().unwrap(), Progress::Done);
    assert!(c.result.marshal, "int rows travel as marshal");
    assert_eq!(c.result_bytes(), b"[\x01\x00\x00\x00)\x01i\x05\x00\x00\x00");
    // Second time: straight to Bind/Execute/Sync.
    c.start_exec(StatementRef::Sql("SELECT $1::int"), ONE_INT, RowMode::Drop).unwrap();
    assert_eq!(tags(c.output()), "BES");
}

#[test]
fn wrong_parameter_count_sends_nothing() {
    let mut c = logged_in();
    prepare_and_execute(&mut c, "SELECT $1::int", ONE_INT, &[23], &[("int4", 23)]);
    let mut reply = msg(b'2', b"");
    reply.extend(command_complete("SELECT 0"));
    reply.extend(ready());
    c.feed(&reply);
    assert_eq!(c.process().unwrap(), Progress::Done);
    let err = c.start_exec(StatementRef::Sql("SELECT $1::int"), NO_PARAMS, RowMode::Drop).unwrap_err();
    assert!(matches!(err, ClientError::Usage(ref m) if m.contains("1 parameter but 0 were given")), "{err:?}");
    assert!(c.output().is_empty());
    assert!(c.is_idle());
}

#[test]
fn server_error_in_exec_is_reported_after_ready_for_query() {
    let mut c = logged_in();
    prepare_and_execute(&mut c, "SELECT 1/$1::int", ONE_INT, &[23], &[("x", 23)]);
    let mut reply = msg(b'2', b"");
    reply.extend(error("22012", "division by zero"));
    c.feed(&reply);
    // Not done until the Sync's ReadyForQuery: the connection must stay in step.
    assert_eq!(c.process().unwrap(), Progress::NeedInput);
    c.feed(&ready());
    assert_eq!(c.process().unwrap(), Progress::Done);
    match &c.result.error {
        Some(ClientError::Server(fields)) => assert!(fields.contains(&(b'C', "22012".to_owned()))),
        other => panic!("{other:?}"),
    }
    // And the next operation starts cleanly.
    c.start_ping().unwrap();
    assert_eq!(tags(c.output()), "S");
}

#[test]
fn failed_prepare_is_not_cached() {
    let mut c = logged_in();
    c.start_exec(StatementRef::Sql("SELEC 1"), NO_PARAMS, RowMode::Drop).unwrap();
    c.clear_output();
    let mut reply = error("42601", "syntax error");
    reply.extend(ready());
    c.feed(&reply);
    assert_eq!(c.process().unwrap(), Progress::Done);
    assert!(matches!(c.result.error, Some(ClientError::Server(_))));
    assert_eq!(c.statements().cached_len(), 0);
    c.start_exec(StatementRef::Sql("SELEC 1"), NO_PARAMS, RowMode::Drop).unwrap();
    assert_eq!(tags(c.output()), "PDS", "prepared again, not taken from the cache");
}

#[test]
fn large_results_come_in_chunks() {
    let mut c = logged_in();
    prepare_and_execute(&mut c, "SELECT t", NO_PARAMS, &[], &[("t", 25)]);
    let value = vec![b'x'; 1000];
    let mut reply = msg(b'2', b"");
    for _ in 0..200 {
        reply.extend(data_row(&[Some(&value)]));
    }
    reply.extend(command_complete("SELECT 200"));
    reply.extend(ready());
    c.feed(&reply);
    let mut chunks = 0;
    loop {
        match c.process().unwrap() {
            Progress::Partial => {
                chunks += 1;
                assert!(c.result.partial);
                c.continue_partial().unwrap();
            }
            Progress::Done => break,
            Progress::NeedInput => panic!("all input was fed"),
        }
    }
    assert!(chunks >= 3, "200 KB of rows in chunks of about 48 KB, got {chunks}");
    assert!(c.result.error.is_none());
    assert_eq!(c.result.value, 200);
}

#[test]
fn fatal_error_breaks_the_session() {
    let mut c = logged_in();
    c.start_ping().unwrap();
    c.feed(&msg(b'E', b"SFATAL\0VFATAL\0C57P01\0Mterminating connection\0\0"));
    assert_eq!(c.process().unwrap(), Progress::Done);
    assert!(c.broken().is_some());
    assert!(matches!(c.start_ping(), Err(ClientError::Closed(_))));
}

#[test]
fn unexpected_message_breaks_the_session() {
    let mut c = logged_in();
    c.start_ping().unwrap();
    c.feed(&msg(b'2', b""));
    assert!(matches!(c.process(), Err(ClientError::Protocol(_))));
    assert!(c.broken().is_some());
}
