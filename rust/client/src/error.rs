//! The one error type of the client engine. The FFI layer turns it into a pickled
//! `(kind, message, fields)` triple, and `pyro_postgres.error._make_error` turns that
//! into the Python exception — the only place where that mapping happens.

use pyro_codecs::pickle::PickleWriter;
use pyro_protocol::startup::StartupError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// An ErrorResponse: its fields keyed by protocol code (S, V, C, M, D, H, ...).
    Server(Vec<(u8, String)>),
    Protocol(String),
    Io(String),
    /// The API was used wrongly (wrong parameter count, operation in progress, ...).
    Usage(String),
    /// A Python value could not be encoded for its parameter.
    Encode(String),
    /// A server value could not be turned into a Python value.
    Decode(String),
    /// The connection is closed or broken.
    Closed(String),
    Auth(String),
    Unsupported(String),
    /// A caught panic: a bug of ours.
    Bug(String),
    /// A fed session needs more input (the caller moves the bytes). Never reaches
    /// Python as an exception.
    WouldBlock,
    /// A pipeline request the server skipped because an earlier one in its Sync segment
    /// failed.
    Aborted,
    /// A signal interrupted the wait for the server. The operation is still in progress:
    /// resume it, or cancel and drain it. Never reaches Python as an exception.
    Interrupted,
    /// Parameters whose type has a Python dumper hold values that are not text yet:
    /// `(parameter index, parameter type, element type)` of every such parameter. Nothing
    /// was sent; the Python layer dumps them and calls again. Never reaches the user.
    NeedsDump(Vec<(u32, u32, u32)>),
    /// The statement's parameters or result columns have types that are neither built in
    /// nor registered, and this connection has not looked them up yet: their OIDs. Nothing
    /// was sent; the Python layer looks them up in the catalog, registers what it can,
    /// marks them introspected and calls again. Never reaches the user.
    NeedsTypes(Vec<u32>),
}

impl ClientError {
    pub fn from_startup(e: StartupError) -> Self {
        match e {
            StartupError::Server(fields) => ClientError::Server(fields),
            StartupError::Auth(m) => ClientError::Auth(m),
            StartupError::Unsupported(m) => ClientError::Unsupported(m),
            StartupError::Protocol(m) => ClientError::Protocol(m),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Server(_) => "server",
            ClientError::Protocol(_) => "protocol",
            ClientError::Io(_) => "io",
            ClientError::Usage(_) => "usage",
            ClientError::Encode(_) => "encode",
            ClientError::Decode(_) => "decode",
            ClientError::Closed(_) => "closed",
            ClientError::Auth(_) => "auth",
            ClientError::Unsupported(_) => "unsupported",
            ClientError::Bug(_) => "bug",
            ClientError::Interrupted => "interrupted",
            ClientError::Aborted => "pipeline_aborted",
            ClientError::WouldBlock => "would_block",
            ClientError::NeedsDump(_) => "needs_dump",
            ClientError::NeedsTypes(_) => "needs_types",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ClientError::Server(fields) => {
                fields.iter().find(|(c, _)| *c == b'M').map(|(_, v)| v.clone()).unwrap_or_default()
            }
            ClientError::Protocol(m)
            | ClientError::Io(m)
            | ClientError::Usage(m)
            | ClientError::Encode(m)
            | ClientError::Decode(m)
            | ClientError::Closed(m)
            | ClientError::Auth(m)
            | ClientError::Unsupported(m)
            | ClientError::Bug(m) => m.clone(),
            ClientError::Interrupted => "interrupted by a signal".to_owned(),
            ClientError::WouldBlock => "more input is needed".to_owned(),
            ClientError::NeedsDump(_) => "parameters need a Python dumper".to_owned(),
            ClientError::NeedsTypes(_) => "the statement uses types not introspected yet".to_owned(),
            ClientError::Aborted => {
                "the pipeline is aborted: an earlier request in this Sync segment failed, so the server skipped this one"
                    .to_owned()
            }
        }
    }

    /// `(kind, message, {code: value} | None)` as a complete pickle stream.
    pub fn write_pickle(&self, w: &mut PickleWriter) {
        w.begin_tuple(3);
        w.str(self.kind());
        w.str(&self.message());
        match self {
            ClientError::Server(fields) => {
                w.empty_dict();
                w.mark();
                for (code, value) in fields {
                    let key = [*code];
                    w.str(std::str::from_utf8(&key).unwrap_or("?"));
                    w.str(value);
                }
                w.setitems();
            }
            ClientError::NeedsDump(params) => {
                w.empty_list();
                w.mark();
                for &(index, type_oid, element_oid) in params {
                    w.begin_tuple(3);
                    w.int(index as i64);
                    w.int(type_oid as i64);
                    w.int(element_oid as i64);
                    w.end_tuple(3);
                }
                w.appends();
            }
            ClientError::NeedsTypes(oids) => {
                w.empty_list();
                w.mark();
                for &oid in oids {
                    w.int(oid as i64);
                }
                w.appends();
            }
            _ => w.none(),
        }
        w.end_tuple(3);
        w.stop();
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for ClientError {}
