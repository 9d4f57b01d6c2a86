//! SASLprep (RFC 4013) with PostgreSQL's fallback semantics.

use std::borrow::Cow;

use stringprep::tables;

/// SASLprep (RFC 4013) as PostgreSQL applies it: if the password is not valid
/// UTF-8-preparable (prohibited chars, bidi violation), PostgreSQL uses the
/// raw bytes, so this returns the raw password in that case.
///
/// Both libpq and the server (`pg_saslprep`) treat a failed preparation as
/// "use the password verbatim" rather than as an error, because PostgreSQL
/// passwords are arbitrary byte strings. Matching that exactly matters: the
/// verifier stored by `CREATE ROLE ... PASSWORD` was derived the same way, so
/// any divergence makes the login fail.
pub fn saslprep_password(password: &str) -> Cow<'_, str> {
    // PostgreSQL skips all processing for pure ASCII, even control
    // characters; returning early keeps that case borrowed and exact.
    if password.is_ascii() {
        return Cow::Borrowed(password);
    }

    // pg_saslprep refuses a string that maps to nothing (so the stored
    // verifier came from the raw bytes); the stringprep crate would happily
    // return "", so that case is handled here.
    // U+200B sits in both RFC 3454 tables; like PostgreSQL, space mapping wins.
    let maps_to_empty = password
        .chars()
        .all(|c| tables::commonly_mapped_to_nothing(c) && !tables::non_ascii_space_character(c));
    if maps_to_empty {
        return Cow::Borrowed(password);
    }

    match stringprep::saslprep(password) {
        Ok(prepared) => prepared,
        Err(_) => Cow::Borrowed(password),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(s: &str) -> String {
        saslprep_password(s).into_owned()
    }

    #[test]
    fn ascii_is_untouched_and_borrowed() {
        assert!(matches!(
            saslprep_password("pencil"),
            Cow::Borrowed("pencil")
        ));
        assert!(matches!(saslprep_password(""), Cow::Borrowed("")));
        // ASCII control characters are prohibited by RFC 4013, but
        // PostgreSQL's ASCII shortcut never looks at them.
        assert_eq!(prep("pass\u{7}word"), "pass\u{7}word");
    }

    #[test]
    fn non_ascii_spaces_map_to_space() {
        assert_eq!(prep("a\u{00A0}b"), "a b");
        assert_eq!(prep("a\u{3000}b\u{2003}c"), "a b c");
    }

    #[test]
    fn mapped_to_nothing_is_removed() {
        assert_eq!(prep("I\u{00AD}X"), "IX");
        assert_eq!(prep("pen\u{200C}cil\u{FEFF}"), "pencil");
        // U+200B is in both tables; the space mapping takes precedence.
        assert_eq!(prep("pen\u{200B}cil"), "pen cil");
    }

    #[test]
    fn nfkc_is_applied() {
        assert_eq!(prep("\u{2168}"), "IX");
        assert_eq!(prep("\u{00AA}"), "a");
        // Decomposed "e" + combining acute composes to U+00E9.
        assert_eq!(prep("caf\u{0065}\u{0301}"), "caf\u{00E9}");
        assert_eq!(prep("p\u{00E4}ssword"), "p\u{00E4}ssword");
    }

    #[test]
    fn prohibited_characters_return_raw_password() {
        // U+0080 is a non-ASCII control character (C.2.2); the soft hyphen
        // must survive because nothing at all is prepared.
        assert_eq!(prep("I\u{00AD}X\u{0080}"), "I\u{00AD}X\u{0080}");
        // Private use (C.3).
        assert_eq!(prep("pw\u{E000}"), "pw\u{E000}");
        // Unassigned in Unicode 3.2 (A.1).
        assert_eq!(prep("pw\u{0221}"), "pw\u{0221}");
    }

    #[test]
    fn bidi_violations_return_raw_password() {
        // RandALCat mixed with LCat.
        assert_eq!(prep("\u{0627}a\u{0627}"), "\u{0627}a\u{0627}");
        // RandALCat string not ending with RandALCat.
        assert_eq!(prep("\u{0627}1"), "\u{0627}1");
        // A well-formed RTL string is accepted.
        assert_eq!(prep("\u{0627}1\u{0628}"), "\u{0627}1\u{0628}");
    }

    #[test]
    fn empty_after_mapping_returns_raw_password() {
        assert_eq!(prep("\u{00AD}"), "\u{00AD}");
        assert_eq!(prep("\u{200C}\u{00AD}"), "\u{200C}\u{00AD}");
        assert_eq!(prep("\u{200B}"), " ");
        // A non-ASCII space maps to a space, not to nothing.
        assert_eq!(prep("\u{00A0}"), " ");
    }
}
