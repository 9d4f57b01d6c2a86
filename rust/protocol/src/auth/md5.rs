//! Legacy `AuthenticationMD5Password` response.

use ::md5::{Digest, Md5};

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// "md5" + hex(md5(hex(md5(password + user)) + salt)) as PostgreSQL expects in
/// PasswordMessage (without the trailing NUL).
///
/// The inner hash is exactly what the server stores in `pg_authid`, which is
/// why the user name acts as the salt there and the 4 random bytes only in
/// the outer hash.
pub fn md5_password(user: &str, password: &str, salt: [u8; 4]) -> String {
    let mut inner = Md5::new();
    inner.update(password.as_bytes());
    inner.update(user.as_bytes());
    let inner_hex = hex_lower(&inner.finalize());

    let mut outer = Md5::new();
    outer.update(inner_hex.as_bytes());
    outer.update(salt);
    let mut result = String::with_capacity(35);
    result.push_str("md5");
    result.push_str(&hex_lower(&outer.finalize()));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed independently with Python:
    //   h = hashlib.md5((password + user).encode()).hexdigest()
    //   "md5" + hashlib.md5(h.encode() + salt).hexdigest()
    #[test]
    fn matches_python_hashlib() {
        assert_eq!(
            md5_password("postgres", "secret", [0x01, 0x02, 0x03, 0x04]),
            "md5bb41a296aab6baccb36ff243a562abff"
        );
        assert_eq!(
            md5_password("user", "pencil", [0xde, 0xad, 0xbe, 0xef]),
            "md50f5b636d891e9860623ac8ca91fc9dfc"
        );
        assert_eq!(
            md5_password("", "", [0, 0, 0, 0]),
            "md591b86670dcd47857d222fa05653500aa"
        );
    }

    #[test]
    fn has_expected_shape() {
        let s = md5_password("ü", "pässword", [0xff; 4]);
        assert_eq!(s.len(), 35);
        assert!(s.starts_with("md5"));
        assert!(s[3..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
