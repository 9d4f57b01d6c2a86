//! Arrays in both wire formats, written as nested Python lists.
//!
//! Lower bounds other than 1 (binary dimension headers, or the `[0:2]=` prefix of the text
//! form) are dropped, the same way in both formats: `'[0:2]={1,2,3}'::int4[]` is
//! `[1, 2, 3]`. Python lists are always indexed from 0, and a plain list is what every
//! caller wants from the common case; a query that needs the bounds can select
//! `array_lower(a, 1)` beside the array.

use crate::pickle::PickleWriter;

/// Decodes one non-NULL element into the stream.
pub(crate) type ElementDecoder<'f> = &'f dyn Fn(&[u8], &mut PickleWriter) -> Result<(), String>;

/// PostgreSQL's `MAXDIM`.
const MAX_DIMS: usize = 6;

/// Decodes a binary array; `element` decodes one non-NULL element's bytes.
pub(crate) fn array_from_binary(
    data: &[u8],
    expected_element_oid: u32,
    w: &mut PickleWriter,
    element: ElementDecoder,
) -> Result<(), String> {
    let mut r = BinReader { data, pos: 0 };
    let ndim = r.i32()?;
    let _has_nulls = r.i32()?;
    let element_oid = r.i32()? as u32;
    if !(0..=MAX_DIMS as i32).contains(&ndim) {
        return Err(format!("binary array has {ndim} dimensions"));
    }
    if element_oid != expected_element_oid {
        return Err(format!(
            "binary array has elements of type OID {element_oid}, expected {expected_element_oid}"
        ));
    }
    let mut dims = Vec::with_capacity(ndim as usize);
    let mut total: usize = 1;
    for _ in 0..ndim {
        let size = r.i32()?;
        let _lower_bound = r.i32()?;
        if size < 0 {
            return Err(format!("binary array has a dimension of size {size}"));
        }
        total = total.saturating_mul(size as usize);
        dims.push(size as usize);
    }
    // Every element takes at least its 4-byte length, which bounds work on corrupt input.
    if ndim > 0 && total > (data.len() - r.pos) / 4 {
        return Err("binary array is shorter than its dimensions say".to_string());
    }
    if ndim == 0 {
        // Opened and closed like every list, so marshal streams can count its items.
        w.empty_list();
        w.mark();
        w.appends();
    } else {
        binary_level(&mut r, &dims, w, element)?;
    }
    if r.pos != data.len() {
        return Err("binary array has trailing bytes".to_string());
    }
    Ok(())
}

fn binary_level(
    r: &mut BinReader,
    dims: &[usize],
    w: &mut PickleWriter,
    element: ElementDecoder,
) -> Result<(), String> {
    w.empty_list();
    w.mark();
    for _ in 0..dims[0] {
        if dims.len() > 1 {
            binary_level(r, &dims[1..], w, element)?;
        } else {
            let len = r.i32()?;
            if len == -1 {
                w.none();
            } else if len < 0 {
                return Err(format!("binary array element has length {len}"));
            } else {
                element(r.take(len as usize)?, w)?;
            }
        }
    }
    w.appends();
    Ok(())
}

struct BinReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BinReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.data.len() - self.pos {
            return Err("binary array is truncated".to_string());
        }
        self.pos += n;
        Ok(&self.data[self.pos - n..self.pos])
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Decodes the text form, e.g. `{{1,2},{3,NULL}}`, `{"a b","c\"d"}` or `[0:1]={1,2}`.
pub(crate) fn array_from_text(
    text: &[u8],
    w: &mut PickleWriter,
    element: ElementDecoder,
) -> Result<(), String> {
    array_from_text_delimited(text, b',', w, element)
}

/// [`array_from_text`] for elements separated by `delimiter` (the element type's
/// `typdelim`: `;` for `box`, whose own text holds commas, `,` for every other built-in).
pub(crate) fn array_from_text_delimited(
    text: &[u8],
    delimiter: u8,
    w: &mut PickleWriter,
    element: ElementDecoder,
) -> Result<(), String> {
    let mut p = TextParser {
        text,
        pos: 0,
        delimiter,
    };
    if p.peek() == Some(b'[') {
        // Explicit bounds: skip `[l:u]...=`.
        while let Some(b) = p.next() {
            if b == b'=' {
                break;
            }
        }
    }
    if p.next() != Some(b'{') {
        return Err(p.invalid());
    }
    p.level(1, w, element)?;
    if p.pos != text.len() {
        return Err(p.invalid());
    }
    Ok(())
}

struct TextParser<'a> {
    text: &'a [u8],
    pos: usize,
    delimiter: u8,
}

impl TextParser<'_> {
    fn invalid(&self) -> String {
        format!(
            "malformed array text at byte {}: '{}'",
            self.pos,
            String::from_utf8_lossy(self.text)
        )
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.pos += b.is_some() as usize;
        b
    }

    /// The items of one `{...}` whose `{` was consumed.
    fn level(
        &mut self,
        depth: usize,
        w: &mut PickleWriter,
        element: ElementDecoder,
    ) -> Result<(), String> {
        if depth > MAX_DIMS {
            return Err(self.invalid());
        }
        w.empty_list();
        w.mark();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            w.appends();
            return Ok(());
        }
        loop {
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    self.level(depth + 1, w, element)?;
                }
                Some(b'"') => {
                    self.pos += 1;
                    let mut item = Vec::new();
                    loop {
                        match self.next() {
                            Some(b'"') => break,
                            Some(b'\\') => item.push(self.next().ok_or_else(|| self.invalid())?),
                            Some(b) => item.push(b),
                            None => return Err(self.invalid()),
                        }
                    }
                    element(&item, w)?;
                }
                Some(_) => {
                    let mut item = Vec::new();
                    while let Some(b) = self.peek() {
                        match b {
                            b'}' => break,
                            _ if b == self.delimiter => break,
                            b'\\' => {
                                self.pos += 1;
                                item.push(self.next().ok_or_else(|| self.invalid())?);
                            }
                            b'{' | b'"' => return Err(self.invalid()),
                            _ => {
                                item.push(b);
                                self.pos += 1;
                            }
                        }
                    }
                    if item.eq_ignore_ascii_case(b"NULL") {
                        w.none();
                    } else {
                        element(&item, w)?;
                    }
                }
                None => return Err(self.invalid()),
            }
            match self.next() {
                Some(b'}') => break,
                Some(b) if b == self.delimiter => continue,
                _ => return Err(self.invalid()),
            }
        }
        w.appends();
        Ok(())
    }
}
