//! Login: StartupMessage, authentication, and the messages up to the first ReadyForQuery.
//!
//! We ask for protocol 3.2. A server that only speaks 3.0 (PostgreSQL 17 and older)
//! answers with NegotiateProtocolVersion and carries on in 3.0 on the same connection, so
//! the downgrade costs nothing: we record the minor version it named and continue.

use crate::auth::{self, ScramSha256};
use crate::backend::BackendMessage;
use crate::frontend;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupError {
    /// An ErrorResponse from the server: its fields, owned.
    Server(Vec<(u8, String)>),
    /// The client could not authenticate (no password, bad server signature, …).
    Auth(String),
    /// The server offered a method we do not implement.
    Unsupported(String),
    Protocol(String),
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartupError::Server(fields) => {
                let get = |c: u8| fields.iter().find(|(k, _)| *k == c).map(|(_, v)| v.as_str()).unwrap_or("");
                write!(f, "{}: {} (SQLSTATE {})", get(b'S'), get(b'M'), get(b'C'))
            }
            StartupError::Auth(m) | StartupError::Unsupported(m) | StartupError::Protocol(m) => f.write_str(m),
        }
    }
}

/// What the server told us during login.
#[derive(Debug, Clone, Default)]
pub struct ServerInfo {
    pub parameters: Vec<(String, String)>,
    pub pid: u32,
    pub secret_key: Vec<u8>,
    /// 2 when the server accepted protocol 3.2, 0 when it negotiated down to 3.0.
    pub protocol_minor: u32,
    pub notices: Vec<Vec<(u8, String)>>,
}

impl ServerInfo {
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub enum Step {
    /// Keep reading; anything to send has been appended to the output buffer.
    Continue,
    /// ReadyForQuery arrived: the session is open.
    Done,
}

enum AuthState {
    Waiting,
    Scram(Box<ScramSha256>),
    ScramFinal(Box<ScramSha256>),
    Authenticated,
}

pub struct Startup {
    user: String,
    password: Option<String>,
    auth: AuthState,
    pub info: ServerInfo,
}

impl Startup {
    /// Appends the StartupMessage. `params` must contain `user`.
    pub fn begin(
        params: &[(&str, &str)],
        password: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Result<Startup, StartupError> {
        frontend::startup(out, frontend::PROTOCOL_3_2, params).map_err(|e| StartupError::Protocol(e.message))?;
        let user = params.iter().find(|(k, _)| *k == "user").map(|(_, v)| v.to_string()).unwrap_or_default();
        Ok(Startup {
            user,
            password: password.map(str::to_owned),
            auth: AuthState::Waiting,
            info: ServerInfo { protocol_minor: 2, ..Default::default() },
        })
    }

    fn password(&self) -> Result<&str, StartupError> {
        self.password
            .as_deref()
            .ok_or_else(|| StartupError::Auth("the server asked for a password but none was given".into()))
    }

    pub fn handle(&mut self, msg: BackendMessage<'_>, out: &mut Vec<u8>) -> Result<Step, StartupError> {
        use BackendMessage as M;
        match msg {
            M::NegotiateProtocolVersion { newest_minor, .. } => {
                // Servers before 18 send the whole version code (3.0 = 196608) in the field
                // the protocol calls "newest minor version"; keep only the minor part.
                let newest_minor = if newest_minor >= 0x1_0000 { newest_minor & 0xffff } else { newest_minor };
                if newest_minor > 2 {
                    return Err(StartupError::Protocol(format!(
                        "the server negotiated protocol 3.{newest_minor}, newer than the 3.2 requested"
                    )));
                }
                self.info.protocol_minor = newest_minor;
            }
            M::AuthenticationOk => {
                // A server that skips the SCRAM final message has not proved it knows the
                // password; accepting it would let an impostor in.
                if matches!(self.auth, AuthState::Scram(_) | AuthState::ScramFinal(_)) {
                    return Err(StartupError::Auth("the server ended SCRAM authentication without proving its identity".into()));
                }
                self.auth = AuthState::Authenticated;
            }
            M::AuthenticationCleartextPassword => {
                let pw = self.password()?.to_owned();
                frontend::password(out, &pw).map_err(|e| StartupError::Auth(e.message))?;
            }
            M::AuthenticationMd5Password(salt) => {
                let hashed = auth::md5_password(&self.user, self.password()?, salt);
                frontend::password(out, &hashed).map_err(|e| StartupError::Auth(e.message))?;
            }
            M::AuthenticationSasl(list) => {
                let offered = list.split(|&b| b == 0).filter(|m| !m.is_empty()).filter_map(|m| std::str::from_utf8(m).ok());
                let names: Vec<&str> = offered.collect();
                let Some(mech) = auth::choose_sasl_mechanism(names.iter().copied()) else {
                    return Err(StartupError::Unsupported(format!(
                        "the server offered only unsupported SASL mechanisms: {}",
                        names.join(", ")
                    )));
                };
                let scram = ScramSha256::new(self.password()?).map_err(|e| StartupError::Auth(e.message))?;
                frontend::sasl_initial_response(out, mech, &scram.client_first_message());
                self.auth = AuthState::Scram(Box::new(scram));
            }
            M::AuthenticationSaslContinue(data) => {
                let AuthState::Scram(mut scram) = std::mem::replace(&mut self.auth, AuthState::Waiting) else {
                    return Err(StartupError::Protocol("unexpected SASL continue message".into()));
                };
                let reply = scram.handle_server_first(data).map_err(|e| StartupError::Auth(e.message))?;
                frontend::sasl_response(out, &reply);
                self.auth = AuthState::ScramFinal(scram);
            }
            M::AuthenticationSaslFinal(data) => {
                let AuthState::ScramFinal(scram) = std::mem::replace(&mut self.auth, AuthState::Waiting) else {
                    return Err(StartupError::Protocol("unexpected SASL final message".into()));
                };
                scram.verify_server_final(data).map_err(|e| StartupError::Auth(e.message))?;
            }
            M::AuthenticationOther(code) => {
                let name = match code {
                    2 => "Kerberos V5",
                    6 => "SCM credentials",
                    7 | 8 => "GSSAPI",
                    9 => "SSPI",
                    _ => "unknown",
                };
                return Err(StartupError::Unsupported(format!(
                    "the server requested {name} authentication (code {code}), which is not supported"
                )));
            }
            M::ParameterStatus { name, value } => {
                self.info.parameters.push((
                    String::from_utf8_lossy(name).into_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                ));
            }
            M::BackendKeyData { pid, key } => {
                self.info.pid = pid;
                self.info.secret_key = key.to_vec();
            }
            M::NoticeResponse(fields) => self.info.notices.push(fields.to_owned_fields()),
            M::ErrorResponse(fields) => return Err(StartupError::Server(fields.to_owned_fields())),
            M::ReadyForQuery(_) => {
                if !matches!(self.auth, AuthState::Authenticated) {
                    return Err(StartupError::Protocol("ReadyForQuery before authentication completed".into()));
                }
                return Ok(Step::Done);
            }
            other => {
                return Err(StartupError::Protocol(format!("unexpected message during login: {other:?}")));
            }
        }
        Ok(Step::Continue)
    }
}
