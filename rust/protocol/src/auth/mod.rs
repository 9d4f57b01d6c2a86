//! Password authentication exchanges for the PostgreSQL startup phase.
//!
//! Everything here is sans-I/O: callers feed in the bytes carried by the
//! server's `Authentication*` messages and send back the bytes we return.

use std::fmt;

mod md5;
mod saslprep;
mod scram;

pub use self::md5::md5_password;
pub use self::saslprep::saslprep_password;
pub use self::scram::{ScramSha256, MAX_SCRAM_ITERATIONS};

/// Mechanism name as it appears in `AuthenticationSASL` and `SASLInitialResponse`.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";

/// Failure during an authentication exchange (malformed server data, bad
/// server signature, or an error reported by the server itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    /// Human-readable reason, suitable for surfacing to the user.
    pub message: String,
}

impl AuthError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        AuthError {
            message: message.into(),
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuthError {}

/// Picks the mechanism from an AuthenticationSASL list; returns None when only
/// unsupported ones (e.g. only SCRAM-SHA-256-PLUS) are offered.
///
/// Channel binding (`-PLUS`) is deliberately not chosen: it needs the TLS
/// server certificate, which the sans-I/O core does not see. Plain
/// SCRAM-SHA-256 with the "n,," header remains valid when a server offers both.
pub fn choose_sasl_mechanism<'a>(
    offered: impl IntoIterator<Item = &'a str>,
) -> Option<&'static str> {
    offered
        .into_iter()
        .any(|m| m == SCRAM_SHA_256)
        .then_some(SCRAM_SHA_256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_scram_when_offered() {
        assert_eq!(
            choose_sasl_mechanism(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]),
            Some(SCRAM_SHA_256)
        );
        assert_eq!(
            choose_sasl_mechanism(["SCRAM-SHA-256"]),
            Some(SCRAM_SHA_256)
        );
    }

    #[test]
    fn rejects_only_unsupported_mechanisms() {
        assert_eq!(choose_sasl_mechanism(["SCRAM-SHA-256-PLUS"]), None);
        assert_eq!(
            choose_sasl_mechanism(["OAUTHBEARER", "scram-sha-256"]),
            None
        );
        assert_eq!(choose_sasl_mechanism(std::iter::empty()), None);
    }

    #[test]
    fn error_displays_message() {
        let e = AuthError::new("boom");
        assert_eq!(e.to_string(), "boom");
        let _: &dyn std::error::Error = &e;
    }
}
