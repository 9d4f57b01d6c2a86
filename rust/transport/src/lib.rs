//! Blocking transport for the sync API: TCP or unix sockets, driving the sans-I/O
//! [`pyro_client::Client`] until each operation is done.
//!
//! Calls here block the calling thread on the socket. The FFI layer is called through
//! ctypes, which releases the GIL around every foreign call, so other Python threads run
//! while we wait for the server.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::Duration;

use pyro_client::{Client, ClientError, Progress, RowMode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    /// Full path of the server's socket file (e.g. `/run/pg/.s.PGSQL.5432`).
    pub socket: Option<String>,
    pub user: String,
    pub password: Option<String>,
    pub database: Option<String>,
    pub application_name: Option<String>,
    pub options: Option<String>,
    /// Further startup parameters (server settings).
    pub params: Vec<(String, String)>,
    pub ssl_mode: SslMode,
    pub upgrade_to_unix_socket: bool,
    pub connect_timeout: Option<Duration>,
    pub statement_cache_size: usize,
    /// `(module, name)` of the callable the result stream uses to build `Decimal`s.
    pub decimal_constructor: Option<(&'static str, &'static str)>,
    /// How result values decode on this connection.
    pub decode: pyro_codecs::decode::DecodeOptions,
    /// `(module, name, connection key)`: see `PickleWriter::set_python_callables`.
    pub python_callables: Option<(&'static str, &'static str, u32)>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            host: "localhost".into(),
            port: 5432,
            socket: None,
            user: String::new(),
            password: None,
            database: None,
            application_name: None,
            options: None,
            params: Vec::new(),
            ssl_mode: SslMode::Prefer,
            upgrade_to_unix_socket: true,
            connect_timeout: None,
            statement_cache_size: 256,
            decimal_constructor: None,
            decode: Default::default(),
            python_callables: None,
        }
    }
}

/// The StartupMessage parameters for `opts`.
pub fn startup_params(opts: &ConnectOptions) -> Vec<(String, String)> {
    let mut params = vec![("user".to_owned(), opts.user.clone()), ("client_encoding".to_owned(), "UTF8".to_owned())];
    if let Some(db) = &opts.database {
        params.push(("database".into(), db.clone()));
    }
    if let Some(app) = &opts.application_name {
        params.push(("application_name".into(), app.clone()));
    }
    if let Some(o) = &opts.options {
        params.push(("options".into(), o.clone()));
    }
    // Text results (simple queries) are parsed assuming ISO dates.
    if !opts.params.iter().any(|(k, _)| k.eq_ignore_ascii_case("datestyle")) {
        params.push(("DateStyle".into(), "ISO".into()));
    }
    params.extend(opts.params.iter().cloned());
    params
}

enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Stream {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(data),
            #[cfg(unix)]
            Stream::Unix(s) => s.write_all(data),
        }
    }

    /// One read; EINTR is returned to the caller (see [`BlockingConn::run`]).
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
        }
    }

    fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    fn is_loopback_peer(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(|a| a.ip().is_loopback()).unwrap_or(false),
            #[cfg(unix)]
            Stream::Unix(_) => false,
        }
    }
}

fn io_error(context: &str, e: std::io::Error) -> ClientError {
    ClientError::Io(format!("{context}: {e}"))
}

/// Where a CancelRequest goes: the address the session is connected to.
enum CancelTarget {
    Tcp(std::net::SocketAddr),
    #[cfg(unix)]
    Unix(String),
}

pub struct BlockingConn {
    /// None for a session whose bytes the caller moves itself (an asyncio transport):
    /// `run` then returns [`ClientError::WouldBlock`] instead of waiting.
    stream: Option<Stream>,
    target: CancelTarget,
    pub client: Client,
    pub is_unix_socket: bool,
    /// Where the session lives, for error messages and `repr`.
    pub endpoint: String,
    /// What happened while connecting, for the `zero_postgres` logger (debug level).
    pub connect_log: Vec<String>,
}

impl BlockingConn {
    pub fn connect(opts: &ConnectOptions) -> Result<BlockingConn, ClientError> {
        if matches!(opts.ssl_mode, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull) {
            // Refuse before opening a socket: nothing may travel in plain text when the
            // user asked for TLS.
            return Err(ClientError::Unsupported(format!(
                "sslmode={} needs TLS, which this build of pyro_postgres does not support yet; use sslmode=disable or prefer",
                match opts.ssl_mode {
                    SslMode::Require => "require",
                    SslMode::VerifyCa => "verify-ca",
                    _ => "verify-full",
                }
            )));
        }
        let conn = match &opts.socket {
            Some(path) => Self::connect_unix(path, opts)?,
            None => Self::connect_tcp(opts)?,
        };
        let mut conn = if opts.socket.is_none() && opts.upgrade_to_unix_socket && conn.stream.as_ref().is_some_and(Stream::is_loopback_peer) {
            conn.try_upgrade(opts)
        } else {
            conn
        };
        let info = &conn.client.info;
        let line = format!(
            "logged in: server {}, backend pid {}, protocol 3.{}",
            info.parameter("server_version").unwrap_or("?"),
            info.pid,
            info.protocol_minor
        );
        conn.connect_log.push(line);
        Ok(conn)
    }

    #[cfg(unix)]
    fn connect_unix(path: &str, opts: &ConnectOptions) -> Result<BlockingConn, ClientError> {
        let stream = UnixStream::connect(path).map_err(|e| io_error(&format!("cannot connect to unix socket {path}"), e))?;
        Self::login(Stream::Unix(stream), CancelTarget::Unix(path.to_owned()), path.to_owned(), opts)
    }

    #[cfg(not(unix))]
    fn connect_unix(_path: &str, _opts: &ConnectOptions) -> Result<BlockingConn, ClientError> {
        Err(ClientError::Unsupported("unix sockets are not available on this platform".into()))
    }

    fn connect_tcp(opts: &ConnectOptions) -> Result<BlockingConn, ClientError> {
        let endpoint = format!("{}:{}", opts.host, opts.port);
        let addrs = (opts.host.as_str(), opts.port)
            .to_socket_addrs()
            .map_err(|e| io_error(&format!("cannot resolve host {:?}", opts.host), e))?;
        let mut last_err = None;
        for addr in addrs {
            let attempt = match opts.connect_timeout {
                Some(t) => TcpStream::connect_timeout(&addr, t),
                None => TcpStream::connect(addr),
            };
            match attempt {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Self::login(Stream::Tcp(stream), CancelTarget::Tcp(addr), endpoint, opts);
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(match last_err {
            Some(e) => io_error(&format!("cannot connect to {endpoint}"), e),
            None => ClientError::Io(format!("host {:?} resolved to no addresses", opts.host)),
        })
    }

    fn login(stream: Stream, target: CancelTarget, endpoint: String, opts: &ConnectOptions) -> Result<BlockingConn, ClientError> {
        #[cfg(unix)]
        let is_unix = matches!(target, CancelTarget::Unix(_));
        #[cfg(not(unix))]
        let is_unix = false;
        let params = startup_params(opts);
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut client = Client::startup(&params, opts.password.as_deref(), opts.statement_cache_size)?;
        if let Some((module, name)) = opts.decimal_constructor {
            client.set_decimal_constructor(module, name);
        }
        client.set_decode_options(opts.decode.clone());
        if let Some((module, name, key)) = opts.python_callables {
            client.set_python_callables(module, name, key);
        }
        let connect_log = vec![format!("connected to {endpoint}")];
        let mut conn =
            BlockingConn { stream: Some(stream), target, client, is_unix_socket: is_unix, endpoint, connect_log };
        // Signals during login are not worth resuming: retry the wait.
        loop {
            match conn.run() {
                Err(ClientError::Interrupted) => continue,
                other => break other?,
            }
        }
        Ok(conn)
    }

    /// The unix-socket upgrade: ask a loopback server where its socket is and log in
    /// there. Any failure keeps this TCP session, which is in step because every probe
    /// runs to its ReadyForQuery.
    fn try_upgrade(mut self, opts: &ConnectOptions) -> BlockingConn {
        match self.upgrade_target() {
            Err(why) => {
                self.connect_log.push(format!("staying on TCP: {why}"));
                self
            }
            Ok(path) => match Self::connect_unix(&path, opts) {
                Ok(mut unix) => {
                    let mut log = std::mem::take(&mut self.connect_log);
                    log.push(format!("upgraded to the unix socket {path}"));
                    self.close();
                    unix.connect_log = log;
                    unix
                }
                Err(e) => {
                    self.connect_log.push(format!("staying on TCP: cannot log in over {path}: {}", e.message()));
                    self
                }
            },
        }
    }

    /// The socket path the server reports, or why there is none to use.
    fn upgrade_target(&mut self) -> Result<String, String> {
        self.client
            .start_query("SHOW unix_socket_directories", RowMode::Scalar)
            .map_err(|e| e.message())?;
        loop {
            match self.run() {
                Err(ClientError::Interrupted) => continue,
                Err(e) => return Err(e.message()),
                Ok(()) => break,
            }
        }
        if let Some(e) = self.client.result.error.take() {
            return Err(format!("cannot read unix_socket_directories: {}", e.message()));
        }
        let dirs = self.client.result.scalar.take().unwrap_or_default();
        let Some(dir) = dirs.split(',').map(str::trim).find(|d| !d.is_empty() && !d.starts_with('@')) else {
            return Err("the server listens on no unix socket directory".into());
        };
        let port = match &self.target {
            CancelTarget::Tcp(addr) => addr.port(),
            #[cfg(unix)]
            CancelTarget::Unix(_) => return Err("already on a unix socket".into()),
        };
        Ok(format!("{}/.s.PGSQL.{}", dir.trim_end_matches('/'), port))
    }

    /// A session whose bytes the caller moves (asyncio): the login has been started and
    /// the StartupMessage waits in [`Client::output`]. `endpoint` names where the caller
    /// connected, `tcp_addr` the address for cancel requests (None for a unix socket path
    /// given in `endpoint`).
    pub fn fed(opts: &ConnectOptions, endpoint: String, tcp_addr: Option<std::net::SocketAddr>) -> Result<BlockingConn, ClientError> {
        let target = match tcp_addr {
            Some(a) => CancelTarget::Tcp(a),
            #[cfg(unix)]
            None => CancelTarget::Unix(endpoint.clone()),
            #[cfg(not(unix))]
            None => return Err(ClientError::Unsupported("unix sockets are not available on this platform".into())),
        };
        let is_unix = tcp_addr.is_none();
        let params = startup_params(opts);
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut client = Client::startup(&params, opts.password.as_deref(), opts.statement_cache_size)?;
        if let Some((module, name)) = opts.decimal_constructor {
            client.set_decimal_constructor(module, name);
        }
        client.set_decode_options(opts.decode.clone());
        if let Some((module, name, key)) = opts.python_callables {
            client.set_python_callables(module, name, key);
        }
        let connect_log = vec![format!("connected to {endpoint} (I/O by the caller)")];
        Ok(BlockingConn { stream: None, target, client, is_unix_socket: is_unix, endpoint, connect_log })
    }

    pub fn is_fed(&self) -> bool {
        self.stream.is_none()
    }

    /// Sends what the client has queued and reads until the current operation is done.
    /// I/O failures and protocol violations mark the connection broken. For a fed
    /// session: processes what was fed and returns `WouldBlock` when more input is
    /// needed, leaving the bytes to send in [`Client::output`].
    pub fn run(&mut self) -> Result<(), ClientError> {
        if self.stream.is_none() {
            return match self.client.process() {
                Ok(Progress::Done) | Ok(Progress::Partial) => Ok(()),
                Ok(Progress::NeedInput) => Err(ClientError::WouldBlock),
                Err(e) => {
                    self.client.mark_broken(&e.message());
                    Err(e)
                }
            };
        }
        loop {
            // Process first: handling a message may queue a reply (authentication,
            // CopyFail) that must reach the server before we wait for more input. Right
            // after a request there is nothing to process yet.
            let progress = if self.client.awaits_input() { Ok(Progress::NeedInput) } else { self.client.process() };
            if !self.client.output().is_empty() {
                let stream = self.stream.as_mut().expect("only sessions with a stream get here");
                let sent = stream.write_all(self.client.output());
                self.client.clear_output();
                if let Err(e) = sent {
                    return Err(self.fail(io_error("cannot send to the server", e)));
                }
            }
            match progress {
                // A chunk of rows is ready: the caller takes it, then continues the op.
                Ok(Progress::Done) | Ok(Progress::Partial) => return Ok(()),
                Ok(Progress::NeedInput) => {
                    let want = self.client.missing_bytes();
                    let Some(stream) = self.stream.as_mut() else { return Err(ClientError::WouldBlock) };
                    let buf = self.client.read_buffer(want);
                    match stream.read(buf) {
                        Ok(0) => {
                            return Err(self.fail(ClientError::Closed("the server closed the connection".into())));
                        }
                        Ok(n) => self.client.commit_read(n),
                        // A signal (Ctrl-C) arrived: return so the application can run its
                        // handler; the operation stays in progress and in step.
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                            return Err(ClientError::Interrupted)
                        }
                        Err(e) => return Err(self.fail(io_error("cannot read from the server", e))),
                    }
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// Asks the server to cancel whatever this session is running, over a connection of
    /// its own (the protocol's CancelRequest). Best effort: the server may have finished.
    pub fn send_cancel(&self) -> Result<(), ClientError> {
        let info = &self.client.info;
        let mut msg = Vec::with_capacity(16 + info.secret_key.len());
        pyro_protocol::frontend::cancel_request(&mut msg, info.pid, &info.secret_key);
        let timeout = Some(Duration::from_secs(10));
        let mut stream = match &self.target {
            CancelTarget::Tcp(addr) => {
                let s = TcpStream::connect_timeout(addr, Duration::from_secs(10))
                    .map_err(|e| io_error("cannot connect to send a cancel request", e))?;
                let _ = s.set_read_timeout(timeout);
                Stream::Tcp(s)
            }
            #[cfg(unix)]
            CancelTarget::Unix(path) => {
                let s = UnixStream::connect(path).map_err(|e| io_error("cannot connect to send a cancel request", e))?;
                let _ = s.set_read_timeout(timeout);
                Stream::Unix(s)
            }
        };
        stream.write_all(&msg).map_err(|e| io_error("cannot send a cancel request", e))?;
        // The server closes the connection once it has handled the request.
        let mut sink = [0u8; 64];
        loop {
            match stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// Finishes an interrupted operation: cancels it on the server and reads until it is
    /// over, ignoring further signals (the wait is bounded by the cancellation). The
    /// operation's own result or error is dropped; the session stays in step.
    pub fn abandon(&mut self) -> Result<(), ClientError> {
        if self.client.is_idle() {
            return Ok(());
        }
        if self.stream.is_none() {
            // The caller owns the socket and abandoned the operation half-way: the
            // replies still due cannot be read here, so the session cannot be trusted.
            return Err(self.fail(ClientError::Closed(
                "an operation was abandoned half-way (its task was cancelled); the connection is closed".into(),
            )));
        }
        if let Err(e) = self.send_cancel() {
            // Without a cancel the drain could take as long as the query; better to give
            // up the session than to block for that long.
            return Err(self.fail(e));
        }
        while !self.client.is_idle() {
            if self.client.has_partial() {
                self.client.continue_partial()?;
            }
            match self.run() {
                Err(ClientError::Interrupted) => continue,
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
        self.client.result = Default::default();
        Ok(())
    }

    fn fail(&mut self, e: ClientError) -> ClientError {
        self.client.mark_broken(&e.message());
        if let Some(s) = &self.stream {
            s.shutdown();
        }
        e
    }

    /// Terminate and close; best effort, errors ignored.
    pub fn close(&mut self) {
        if self.client.broken().is_none() {
            self.client.clear_output();
            if let Some(stream) = self.stream.as_mut() {
                self.client.write_terminate();
                let _ = stream.write_all(self.client.output());
                self.client.clear_output();
            }
            self.client.mark_broken("the connection is closed");
        }
        if let Some(s) = &self.stream {
            s.shutdown();
        }
    }
}

impl Drop for BlockingConn {
    fn drop(&mut self) {
        self.close();
    }
}
