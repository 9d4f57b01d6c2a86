//! The PostgreSQL frontend/backend protocol (versions 3.0 and 3.2), sans I/O.
//!
//! Contract: nothing in this crate touches a socket, a clock or a thread. Callers
//! encode requests with [`frontend`] into a byte buffer they send themselves, and hand
//! every byte they receive to [`Conversation::feed`] (or, during login, to
//! [`startup::Startup::handle`]). The conversation answers with [`Event`]s that say which
//! request each backend message belongs to.
//!
//! Theory of operation lives in [`conversation`]: every frontend message that draws a
//! reply pushes an expectation; backend messages are matched against the oldest one; an
//! ErrorResponse in the extended protocol makes the server skip everything up to the next
//! Sync, and the conversation skips the same expectations, so the client can never fall
//! out of step with the server.

pub mod auth;
pub mod backend;
pub mod conversation;
pub mod frontend;
pub mod startup;

pub use backend::{BackendMessage, DataRow, ErrorFields, RowDescription};
pub use conversation::{Conversation, Event, Expect, Reply};

/// A violation of the protocol by the peer (or a message we cannot frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub message: String,
}

impl ProtocolError {
    pub fn new(message: impl Into<String>) -> Self {
        ProtocolError { message: message.into() }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProtocolError {}
