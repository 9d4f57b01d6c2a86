//! Client side of SCRAM-SHA-256 (RFC 5802 / RFC 7677) as used by PostgreSQL's
//! SASL authentication, without channel binding.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{saslprep_password, AuthError};

type HmacSha256 = Hmac<Sha256>;

/// Upper bound on the server-chosen iteration count.
///
/// The count comes from the (not yet authenticated) server, so without a cap
/// a hostile or misconfigured server could make the client spin on PBKDF2
/// for minutes. PostgreSQL's default is 4096; ten million is several seconds
/// of work, far beyond any sane configuration.
pub const MAX_SCRAM_ITERATIONS: u32 = 10_000_000;

/// "n,," — the client does not support channel binding, so a server that
/// offered SCRAM-SHA-256-PLUS cannot be tricked into a downgrade silently.
const GS2_HEADER: &str = "n,,";
/// base64("n,,"), echoed in the client-final `c=` attribute.
const GS2_HEADER_B64: &str = "biws";
const NONCE_BYTES: usize = 24;
const KEY_LEN: usize = 32;

enum State {
    AwaitingServerFirst {
        /// Already SASLprep'ed.
        password: String,
    },
    AwaitingServerFinal {
        server_key: [u8; KEY_LEN],
        auth_message: String,
    },
    /// A protocol error happened; the exchange cannot continue.
    Failed,
}

/// Client side of RFC 5802/7677 SCRAM-SHA-256 without channel binding.
pub struct ScramSha256 {
    client_nonce: String,
    client_first_bare: String,
    state: State,
}

impl fmt::Debug for ScramSha256 {
    // Hand-written so the password and derived keys never end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::AwaitingServerFirst { .. } => "AwaitingServerFirst",
            State::AwaitingServerFinal { .. } => "AwaitingServerFinal",
            State::Failed => "Failed",
        };
        f.debug_struct("ScramSha256")
            .field("client_nonce", &self.client_nonce)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl ScramSha256 {
    /// Starts an exchange with a fresh random 24-byte nonce (base64-encoded).
    pub fn new(password: &str) -> Result<Self, AuthError> {
        let mut raw = [0u8; NONCE_BYTES];
        getrandom::getrandom(&mut raw)
            .map_err(|e| AuthError::new(format!("could not generate SCRAM nonce: {e}")))?;
        Ok(Self::with_nonce(password, &BASE64.encode(raw)))
    }

    /// Deterministic constructor for tests. The nonce must consist of
    /// printable ASCII other than ','.
    pub fn with_nonce(password: &str, client_nonce: &str) -> Self {
        // PostgreSQL takes the user name from the startup packet and ignores
        // the SCRAM one, so libpq sends it empty; we do the same.
        Self::with_user_and_nonce("", password, client_nonce)
    }

    fn with_user_and_nonce(user: &str, password: &str, client_nonce: &str) -> Self {
        debug_assert!(!client_nonce.is_empty() && client_nonce.bytes().all(is_nonce_char));
        let client_first_bare = format!("n={},r={}", escape_saslname(user), client_nonce);
        ScramSha256 {
            client_nonce: client_nonce.to_owned(),
            client_first_bare,
            state: State::AwaitingServerFirst {
                password: saslprep_password(password).into_owned(),
            },
        }
    }

    /// The payload of SASLInitialResponse: `n,,n=,r=<nonce>`.
    pub fn client_first_message(&self) -> Vec<u8> {
        let mut msg = String::with_capacity(GS2_HEADER.len() + self.client_first_bare.len());
        msg.push_str(GS2_HEADER);
        msg.push_str(&self.client_first_bare);
        msg.into_bytes()
    }

    /// Consumes the AuthenticationSASLContinue payload and returns the
    /// SASLResponse payload (client-final-message).
    pub fn handle_server_first(&mut self, server_first: &[u8]) -> Result<Vec<u8>, AuthError> {
        // Any failure leaves the exchange unusable: a second server-first
        // would mean a confused or malicious peer.
        let password = match std::mem::replace(&mut self.state, State::Failed) {
            State::AwaitingServerFirst { password } => password,
            _ => return Err(AuthError::new("unexpected SCRAM server-first-message")),
        };

        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| malformed("server-first-message is not valid UTF-8"))?;
        let parsed = parse_server_first(server_first)?;

        // The server must extend our nonce; otherwise this is either a replay
        // or a response to some other exchange.
        if parsed.nonce.len() <= self.client_nonce.len()
            || !parsed.nonce.starts_with(&self.client_nonce)
        {
            return Err(AuthError::new(
                "SCRAM authentication failed: server nonce does not extend the client nonce",
            ));
        }

        let mut salted_password = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(
            password.as_bytes(),
            &parsed.salt,
            parsed.iterations,
            &mut salted_password,
        );

        let client_key = hmac_sha256(&salted_password, b"Client Key");
        let stored_key: [u8; KEY_LEN] = Sha256::digest(client_key).into();
        let server_key = hmac_sha256(&salted_password, b"Server Key");

        let without_proof = format!("c={GS2_HEADER_B64},r={}", parsed.nonce);
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, server_first, without_proof
        );

        let client_signature = hmac_sha256(&stored_key, auth_message.as_bytes());
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature.iter()) {
            *p ^= s;
        }

        let mut client_final = without_proof;
        client_final.push_str(",p=");
        client_final.push_str(&BASE64.encode(proof));

        self.state = State::AwaitingServerFinal {
            server_key,
            auth_message,
        };
        Ok(client_final.into_bytes())
    }

    /// Checks the AuthenticationSASLFinal payload. Succeeds only if the server
    /// proved knowledge of the password verifier.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), AuthError> {
        let server_final = std::str::from_utf8(server_final)
            .map_err(|_| malformed("server-final-message is not valid UTF-8"))?;
        let mut attrs = server_final.split(',');
        let (name, value) = split_attr(attrs.next().unwrap_or(""))
            .ok_or_else(|| malformed("server-final-message has no verifier"))?;

        // Reported first so the server's reason is not masked by state errors.
        if name == b'e' {
            return Err(AuthError::new(format!(
                "SCRAM authentication failed: server reported error: {value}"
            )));
        }
        if name != b'v' {
            return Err(malformed("server-final-message has no verifier"));
        }
        // RFC 5802 allows extensions after the verifier; they carry no
        // meaning for us but must still be well-formed.
        if attrs.any(|a| split_attr(a).is_none()) {
            return Err(malformed("garbage after verifier in server-final-message"));
        }

        let signature = BASE64
            .decode(value)
            .map_err(|_| malformed("server signature is not valid base64"))?;

        let (server_key, auth_message) = match &self.state {
            State::AwaitingServerFinal {
                server_key,
                auth_message,
            } => (server_key, auth_message),
            _ => return Err(AuthError::new("unexpected SCRAM server-final-message")),
        };

        // Mac::verify_slice compares in constant time, so a forged signature
        // cannot be discovered byte by byte.
        let mut mac = new_hmac(server_key);
        mac.update(auth_message.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| AuthError::new("SCRAM authentication failed: invalid server signature"))
    }
}

struct ServerFirst<'a> {
    nonce: &'a str,
    salt: Vec<u8>,
    iterations: u32,
}

fn parse_server_first(msg: &str) -> Result<ServerFirst<'_>, AuthError> {
    let mut attrs = msg.split(',');
    let mut next =
        |expected: u8, what: &str| -> Result<&str, AuthError> {
            match attrs.next().and_then(split_attr) {
            Some((name, value)) if name == expected => Ok(value),
            Some((b'm', _)) => Err(AuthError::new(
                "SCRAM authentication failed: server requires an unsupported mandatory extension",
            )),
            _ => Err(malformed(&format!("server-first-message is missing {what}"))),
        }
        };

    let nonce = next(b'r', "the nonce")?;
    let salt_b64 = next(b's', "the salt")?;
    let iterations = next(b'i', "the iteration count")?;

    if nonce.is_empty() || !nonce.bytes().all(is_nonce_char) {
        return Err(malformed("invalid nonce in server-first-message"));
    }

    let salt = BASE64
        .decode(salt_b64)
        .map_err(|_| malformed("salt in server-first-message is not valid base64"))?;
    if salt.is_empty() {
        return Err(malformed("empty salt in server-first-message"));
    }

    let iterations = parse_iterations(iterations)?;

    // Extensions may follow; ignoring them is what RFC 5802 prescribes, but
    // anything that is not attr=value is garbage.
    if attrs.any(|a| split_attr(a).is_none()) {
        return Err(malformed(
            "garbage after iteration count in server-first-message",
        ));
    }

    Ok(ServerFirst {
        nonce,
        salt,
        iterations,
    })
}

fn parse_iterations(s: &str) -> Result<u32, AuthError> {
    // posit-number = %x31-39 *DIGIT; u32::from_str alone would also take "+5".
    let b = s.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return Err(malformed("invalid iteration count in server-first-message"));
    }
    match s.parse::<u32>() {
        Ok(n) if n <= MAX_SCRAM_ITERATIONS => Ok(n),
        _ => Err(AuthError::new(format!(
            "SCRAM authentication failed: server requested an excessive iteration count ({s}, limit {MAX_SCRAM_ITERATIONS})"
        ))),
    }
}

/// Splits `a=value` into its single-letter name and value.
fn split_attr(s: &str) -> Option<(u8, &str)> {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b'=' {
        Some((b[0], &s[2..]))
    } else {
        None
    }
}

/// RFC 5802 "printable": %x21-2B / %x2D-7E.
fn is_nonce_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && b != b','
}

fn escape_saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

fn malformed(what: &str) -> AuthError {
    AuthError::new(format!("malformed SCRAM message: {what}"))
}

fn new_hmac(key: &[u8]) -> HmacSha256 {
    // HMAC is defined for keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; KEY_LEN] {
    let mut mac = new_hmac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    fn ok_final(scram: &mut ScramSha256, server_first: &str) -> String {
        String::from_utf8(scram.handle_server_first(server_first.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn rfc7677_example() {
        let mut scram = ScramSha256::with_user_and_nonce("user", "pencil", NONCE);
        assert_eq!(
            scram.client_first_message(),
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        assert_eq!(
            ok_final(&mut scram, SERVER_FIRST),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        scram
            .verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
    }

    // PostgreSQL's form sends an empty user name, which changes the
    // AuthMessage and hence both proofs. Expected values were computed
    // independently with Python's hashlib.pbkdf2_hmac / hmac.
    #[test]
    fn postgres_form_with_empty_user() {
        let mut scram = ScramSha256::with_nonce("pencil", NONCE);
        assert_eq!(
            scram.client_first_message(),
            b"n,,n=,r=rOprNGfwEbeRWgbNEkqO"
        );
        assert_eq!(
            ok_final(&mut scram, SERVER_FIRST),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k="
        );
        scram
            .verify_server_final(b"v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=")
            .unwrap();
        // Extensions after the verifier are allowed.
        scram
            .verify_server_final(b"v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=,x=whatever")
            .unwrap();
    }

    #[test]
    fn wrong_server_signature_rejected() {
        let mut scram = ScramSha256::with_user_and_nonce("user", "pencil", NONCE);
        ok_final(&mut scram, SERVER_FIRST);
        for bad in [
            // Right prefix, wrong tail.
            &b"v=6rriTRBi23WpRR/wt/+4KQ8tX1bUsOPiHzGOUuAJgd8="[..],
            // The signature for the empty-user exchange.
            b"v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=",
            // Truncated / empty / not base64 / not a verifier at all.
            b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9",
            b"v=",
            b"v=!!!!",
            b"",
            b"x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
            b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,garbage",
            b"\xff\xfe",
        ] {
            assert!(
                scram.verify_server_final(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // A wrong password yields a different signature too.
        let mut other = ScramSha256::with_user_and_nonce("user", "pencil2", NONCE);
        ok_final(&mut other, SERVER_FIRST);
        let err = other
            .verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert!(err.message.contains("invalid server signature"), "{err}");
    }

    #[test]
    fn server_error_is_reported() {
        let mut scram = ScramSha256::with_nonce("pencil", NONCE);
        ok_final(&mut scram, SERVER_FIRST);
        let err = scram.verify_server_final(b"e=invalid-proof").unwrap_err();
        assert!(err.message.contains("invalid-proof"), "{err}");
    }

    #[test]
    fn out_of_order_messages_rejected() {
        let scram = ScramSha256::with_nonce("pencil", NONCE);
        assert!(scram
            .verify_server_final(b"v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=")
            .is_err());

        let mut scram = ScramSha256::with_nonce("pencil", NONCE);
        ok_final(&mut scram, SERVER_FIRST);
        assert!(scram.handle_server_first(SERVER_FIRST.as_bytes()).is_err());

        // After a failed server-first nothing further is accepted.
        let mut scram = ScramSha256::with_nonce("pencil", NONCE);
        assert!(scram.handle_server_first(b"bogus").is_err());
        assert!(scram.handle_server_first(SERVER_FIRST.as_bytes()).is_err());
    }

    #[test]
    fn server_nonce_must_extend_ours() {
        for nonce in [
            "r=XXXXNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj",
            "r=rOprNGfwEbeRWgbNEkqO",
            "r=rOprNGfwEbeRWgbNEk",
            "r=rOprNGfwEbeRWgbNEkqP%hvYD",
            "r=%hvYDrOprNGfwEbeRWgbNEkqO",
        ] {
            let mut scram = ScramSha256::with_nonce("pencil", NONCE);
            let msg = format!("{nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
            let err = scram.handle_server_first(msg.as_bytes()).unwrap_err();
            assert!(err.message.contains("nonce"), "{msg}: {err}");
        }
    }

    #[test]
    fn malformed_server_first_rejected() {
        let cases: &[&[u8]] = &[
            b"",
            b",",
            b"r=",
            b"r",
            b"rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOabc",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==",
            b"r=rOprNGfwEbeRWgbNEkqOabc,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",
            b"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOabc,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=not base64!,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,garbage",
            b"r=rOprNGfwEbeRWgbNEkqOa\x01c,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOa c,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqO\xc3\xa9,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096\xff",
            // A mandatory extension we cannot understand must fail the exchange.
            b"m=ext,r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        ];
        for case in cases {
            let mut scram = ScramSha256::with_nonce("pencil", NONCE);
            assert!(
                scram.handle_server_first(case).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn mandatory_extension_has_clear_error() {
        let mut scram = ScramSha256::with_nonce("pencil", NONCE);
        let err = scram
            .handle_server_first(
                b"m=ext,r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap_err();
        assert!(err.message.contains("mandatory extension"), "{err}");
    }

    #[test]
    fn optional_extensions_after_iterations_are_ignored() {
        let mut scram = ScramSha256::with_nonce("pencil", NONCE);
        let msg = format!("{SERVER_FIRST},x=foo,y=");
        assert!(scram.handle_server_first(msg.as_bytes()).is_ok());
    }

    // Every truncation and single-byte corruption of a valid message must be
    // handled without panicking. i=1 keeps PBKDF2 cheap for the variants
    // that happen to stay valid.
    #[test]
    fn mutated_server_first_never_panics() {
        let base = b"r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1";
        for len in 0..=base.len() {
            let _ = ScramSha256::with_nonce("pencil", NONCE).handle_server_first(&base[..len]);
        }
        for pos in 0..base.len() {
            for byte in [0u8, b',', b'=', b'a', b'9', 0x7f, 0x80, 0xff] {
                let mut msg = base.to_vec();
                msg[pos] = byte;
                let _ = ScramSha256::with_nonce("pencil", NONCE).handle_server_first(&msg);
            }
        }
    }

    #[test]
    fn password_is_saslprepped() {
        let sf = "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1";
        let run = |pw: &str| ok_final(&mut ScramSha256::with_nonce(pw, NONCE), sf);
        assert_eq!(run("I\u{00AD}X"), run("IX"));
        assert_eq!(run("\u{2168}"), run("IX"));
        assert_ne!(run("IX"), run("ix"));
    }

    #[test]
    fn random_nonces() {
        let a = ScramSha256::new("pencil").unwrap();
        let b = ScramSha256::new("pencil").unwrap();
        assert_ne!(a.client_nonce, b.client_nonce);
        assert_eq!(a.client_nonce.len(), 32);
        assert!(a.client_nonce.bytes().all(is_nonce_char));
        let first = String::from_utf8(a.client_first_message()).unwrap();
        assert_eq!(first, format!("n,,n=,r={}", a.client_nonce));
    }

    #[test]
    fn user_name_is_escaped() {
        let scram = ScramSha256::with_user_and_nonce("a=b,c", "pw", NONCE);
        assert_eq!(
            scram.client_first_message(),
            b"n,,n=a=3Db=2Cc,r=rOprNGfwEbeRWgbNEkqO"
        );
    }

    #[test]
    fn debug_does_not_leak_password() {
        let scram = ScramSha256::with_nonce("hunter2", NONCE);
        let dbg = format!("{scram:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }
}
