//! The types one connection registered (`Conn.register_type`, `Opts.json_dumps`): how
//! their result values decode, how parameters of them encode, and which parameters Python
//! must turn into text first. Also the anonymous `record` type, which needs no
//! registration.
//!
//! A registry is built by the connection and then shared read-only (behind an `Arc`) by
//! every statement described while it was current; registering another type makes a new
//! registry, and the connection re-derives its statements' decoders from it.
//!
//! Wire forms handled here:
//! * record/composite binary: field count (int32), then per field its type OID (uint32),
//!   length (int32, -1 for NULL) and bytes. Text: `(1,"a b",)`: fields split by commas,
//!   an empty unquoted field is NULL, quotes group, `""` inside quotes and a backslash
//!   anywhere escape a character.
//! * hstore binary: pair count, then per pair key length and bytes, value length (-1 for
//!   NULL) and bytes. Text: `"k"=>"v", "n"=>NULL` with backslash escapes in the quotes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::decode::{result_format_with, ColumnDecoder, DecodeOptions};
use crate::marshal::{ParamValue, Tag};
use crate::pickle::PickleWriter;
use crate::{array, oid, Format};

/// `record`, the type of `ROW(...)` and of a composite returned without its name.
pub const RECORD: u32 = 2249;
pub const RECORD_ARRAY: u32 = 2287;

/// How a registered type's values decode (and, for some, encode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeKind {
    /// Its text as `str` (a type without a loader); arrays of it become lists of str.
    /// Never replaces a built-in decoder.
    Text,
    /// An enum: its label as `str` in both formats (the binary form is the label too).
    Enum,
    /// The Python callable registered under the type's OID, called with the text.
    Loader,
    /// A composite: a tuple of its fields decoded by type, or, with `factory`, the Python
    /// callable registered under the type's OID called with the fields. Parameters: a
    /// tuple or list of the fields. Each field is `(declared type, type to decode it as)`:
    /// they differ for a field of a domain type, which decodes as the domain's base type.
    Composite {
        fields: Vec<(u32, u32)>,
        factory: bool,
    },
    /// The hstore extension's type: `dict[str, str | None]` both ways.
    Hstore,
    /// A domain: decodes and encodes as its base type.
    Domain { base: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Registered {
    kind: TypeKind,
    name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeRegistry {
    types: HashMap<u32, Registered>,
    /// Element types whose parameters Python turns into text with a dumper of its own
    /// (a registered `dumps`, or `Opts.json_dumps` for json/jsonb).
    python_dumped: HashSet<u32>,
    /// Array type → element type, for the registered and the Python-dumped types.
    arrays: HashMap<u32, u32>,
}

impl TypeRegistry {
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.python_dumped.is_empty() && self.arrays.is_empty()
    }

    /// Some parameter types may need Python's dumpers ([`Self::python_dumps_needed`] can
    /// return something).
    pub fn has_python_dumped(&self) -> bool {
        !self.python_dumped.is_empty()
    }

    /// Some parameter types have an encoder here ([`Self::encode`] can return `Some`).
    pub fn has_encoders(&self) -> bool {
        !self.types.is_empty()
    }

    /// Registers (or replaces) type `type_oid` named `name`; `array_oid` is its array type
    /// (0: none).
    pub fn register(&mut self, type_oid: u32, array_oid: u32, name: &str, kind: TypeKind) {
        self.python_dumped.remove(&type_oid);
        self.types.insert(
            type_oid,
            Registered {
                kind,
                name: name.to_string(),
            },
        );
        if array_oid != 0 {
            self.arrays.insert(array_oid, type_oid);
        }
    }

    /// Parameters of `element_oid` (and of `array_oid`, 0 for none, element-wise) are
    /// dumped by Python.
    pub fn add_python_dumped(&mut self, element_oid: u32, array_oid: u32) {
        self.python_dumped.insert(element_oid);
        if array_oid != 0 {
            self.arrays.insert(array_oid, element_oid);
        }
    }

    /// The element type of a registered array type.
    pub fn array_element(&self, array_oid: u32) -> Option<u32> {
        self.arrays.get(&array_oid).copied()
    }

    pub fn kind(&self, type_oid: u32) -> Option<&TypeKind> {
        self.types.get(&type_oid).map(|r| &r.kind)
    }

    fn name(&self, type_oid: u32) -> String {
        match self.types.get(&type_oid) {
            Some(r) => r.name.clone(),
            None => oid::describe(type_oid),
        }
    }

    /// `(parameter index, parameter type, element type)` of every parameter Python must
    /// dump first (the element type equals the parameter type except for arrays), or an
    /// empty list when `values` can be encoded as they are. Every parameter of a dumped
    /// type is listed once one value needs it, so one retry is enough even for the many
    /// rows of a batch.
    pub fn python_dumps_needed(
        &self,
        param_types: &[u32],
        values: &[ParamValue],
    ) -> Vec<(u32, u32, u32)> {
        if self.python_dumped.is_empty() {
            return Vec::new();
        }
        let dumped: Vec<(u32, u32, u32)> = param_types
            .iter()
            .enumerate()
            .filter_map(|(i, &t)| self.dumped_element(t).map(|e| (i as u32, t, e)))
            .collect();
        let needed = dumped.iter().any(|&(i, t, e)| {
            values.get(i as usize).is_some_and(|v| {
                if t == e {
                    is_not_text(v)
                } else {
                    has_leaf_not_text(v)
                }
            })
        });
        if needed {
            dumped
        } else {
            Vec::new()
        }
    }

    fn dumped_element(&self, type_oid: u32) -> Option<u32> {
        if self.python_dumped.contains(&type_oid) {
            return Some(type_oid);
        }
        self.arrays
            .get(&type_oid)
            .copied()
            .filter(|e| self.python_dumped.contains(e))
    }

    /// Encodes a parameter of a registered type (or an array of one) that the built-in
    /// encoder cannot: hstore from a dict, a composite from a tuple, a domain as its base
    /// type. None leaves the value to the built-in encoder.
    pub fn encode(
        &self,
        v: &ParamValue,
        type_oid: u32,
        out: &mut Vec<u8>,
    ) -> Option<Result<crate::Encoded, String>> {
        if self.types.is_empty() {
            return None;
        }
        if let Some(&element) = self.arrays.get(&type_oid) {
            if let ParamValue::List(items) = v {
                if self.types.contains_key(&element) && !self.python_dumped.contains(&element) {
                    return Some(
                        self.array_literal(items, element, out)
                            .map(|_| crate::Encoded::Value(Format::Text)),
                    );
                }
            }
            return None;
        }
        let kind = &self.types.get(&type_oid)?.kind;
        let text = match (kind, v) {
            (TypeKind::Hstore, ParamValue::Dict(pairs)) => hstore_text(pairs),
            (TypeKind::Composite { fields: types, .. }, ParamValue::List(fields)) => {
                self.record_text(fields, types, type_oid)
            }
            (TypeKind::Domain { base }, _) => {
                return Some(crate::encode::encode_param(v, *base, out).map_err(|e| e.message));
            }
            _ => return None,
        };
        Some(text.map(|t| {
            out.extend_from_slice(t.as_bytes());
            crate::Encoded::Value(Format::Text)
        }))
    }

    /// The input text of a value bound where a `field_type` is expected: composites,
    /// hstores and arrays by the registry, everything else as the built-in array literal
    /// writes an element.
    fn field_text(&self, v: &ParamValue, field_type: u32) -> Result<String, String> {
        match (self.kind(field_type), v) {
            (Some(TypeKind::Hstore), ParamValue::Dict(pairs)) => return hstore_text(pairs),
            (Some(TypeKind::Composite { fields: types, .. }), ParamValue::List(fields)) => {
                return self.record_text(fields, types, field_type)
            }
            (Some(TypeKind::Domain { base }), _) => return self.field_text(v, *base),
            _ => {}
        }
        if let ParamValue::List(items) = v {
            let element = oid::array_element(field_type).or_else(|| self.array_element(field_type));
            if let Some(element) = element {
                let mut out = Vec::new();
                self.array_literal(items, element, &mut out)?;
                return Ok(String::from_utf8_lossy(&out).into_owned());
            }
        }
        crate::encode::element_text(v)
    }

    fn record_text(
        &self,
        fields: &[ParamValue],
        field_types: &[(u32, u32)],
        type_oid: u32,
    ) -> Result<String, String> {
        if fields.len() != field_types.len() {
            return Err(format!(
                "{} has {} fields, the value has {}",
                self.name(type_oid),
                field_types.len(),
                fields.len()
            ));
        }
        let mut s = String::from("(");
        for (i, (v, &(_, t))) in fields.iter().zip(field_types).enumerate() {
            if i > 0 {
                s.push(',');
            }
            if !matches!(v, ParamValue::None) {
                let text = self
                    .field_text(v, t)
                    .map_err(|e| format!("field {} of {}: {e}", i + 1, self.name(type_oid)))?;
                push_quoted(&mut s, &text);
            }
        }
        s.push(')');
        Ok(s)
    }

    /// `{"…","…",NULL}` with each element written by [`TypeRegistry::field_text`].
    fn array_literal(
        &self,
        items: &[ParamValue],
        element: u32,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let mut s = String::from("{");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            match item {
                ParamValue::None => s.push_str("NULL"),
                ParamValue::List(inner)
                    if !matches!(self.kind(element), Some(TypeKind::Composite { .. })) =>
                {
                    let mut nested = Vec::new();
                    self.array_literal(inner, element, &mut nested)?;
                    s.push_str(&String::from_utf8_lossy(&nested));
                }
                other => push_quoted(&mut s, &self.field_text(other, element)?),
            }
        }
        s.push('}');
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `"text"` with `"` and `\` escaped by a backslash, which record, array and hstore input
/// all read.
fn push_quoted(s: &mut String, text: &str) {
    s.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
}

fn hstore_text(pairs: &[(ParamValue, ParamValue)]) -> Result<String, String> {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let ParamValue::Str(key) = k else {
            return Err(format!(
                "hstore keys must be str, not {}",
                k.python_type_name()
            ));
        };
        push_quoted(&mut s, key);
        s.push_str("=>");
        match v {
            ParamValue::None => s.push_str("NULL"),
            ParamValue::Str(value) => push_quoted(&mut s, value),
            other => {
                return Err(format!(
                    "hstore values must be str or None, not {}",
                    other.python_type_name()
                ))
            }
        }
    }
    Ok(s)
}

/// True unless the value is already text (a `str`, or what a dumper returned) or NULL.
fn is_not_text(v: &ParamValue) -> bool {
    !matches!(
        v,
        ParamValue::None | ParamValue::Str(_) | ParamValue::Tagged(Tag::Text | Tag::Json, _)
    )
}

/// For an array parameter: some element of the (nested) list is not text yet.
fn has_leaf_not_text(v: &ParamValue) -> bool {
    match v {
        ParamValue::List(items) => items.iter().any(has_leaf_not_text),
        other => is_not_text(other),
    }
}

// ---- decoding

/// The result format to request for a registered type, a record, or an array of either;
/// None for every other type.
pub(crate) fn result_format(type_oid: u32, opts: &DecodeOptions) -> Option<Format> {
    if type_oid == RECORD || type_oid == RECORD_ARRAY {
        return Some(Format::Binary);
    }
    let types = &opts.types;
    if types.types.is_empty() {
        return None;
    }
    let element = types.arrays.get(&type_oid).copied().unwrap_or(type_oid);
    let kind = types.kind(element)?;
    Some(match kind {
        TypeKind::Text => return None,
        TypeKind::Loader => Format::Text,
        TypeKind::Enum | TypeKind::Hstore => Format::Binary,
        TypeKind::Domain { base } => result_format_with(*base, opts),
        TypeKind::Composite { fields, .. } => {
            // Binary only when every field has a binary decoder; the text form can always
            // be decoded field by field.
            if fields
                .iter()
                .all(|&(_, t)| result_format_with(t, opts) == Format::Binary)
            {
                Format::Binary
            } else {
                Format::Text
            }
        }
    })
}

/// Decoders of the values [`result_format`] covers.
#[derive(Clone, Debug)]
pub(crate) enum CustomDecoder {
    /// The value's text (or an enum's binary label) as `str`.
    Str,
    /// The connection's callable for the type, with the text.
    Loader {
        key: u32,
    },
    /// An anonymous record: binary fields decoded by the type each names; in text, the
    /// fields cannot be typed and stay `str`.
    Record {
        opts: Box<DecodeOptions>,
    },
    Composite {
        name: Arc<str>,
        fields: Arc<[ColumnDecoder]>,
        factory: Option<u32>,
    },
    Hstore,
    Array {
        element: Box<ColumnDecoder>,
        element_oid: u32,
    },
}

impl CustomDecoder {
    /// The decoder for `type_oid` in `format`, when the registry (or `record`) covers it.
    pub(crate) fn for_type(
        type_oid: u32,
        format: Format,
        opts: &DecodeOptions,
    ) -> Option<CustomDecoder> {
        if type_oid == RECORD {
            return Some(CustomDecoder::Record {
                opts: Box::new(opts.clone()),
            });
        }
        if type_oid == RECORD_ARRAY {
            return Some(CustomDecoder::Array {
                element: Box::new(ColumnDecoder::new(RECORD, format, opts)),
                element_oid: RECORD,
            });
        }
        let types = &opts.types;
        if types.types.is_empty() {
            return None;
        }
        if let Some(&element_oid) = types.arrays.get(&type_oid) {
            types.types.get(&element_oid)?;
            return Some(CustomDecoder::Array {
                element: Box::new(ColumnDecoder::new(element_oid, format, opts)),
                element_oid,
            });
        }
        let registered = types.types.get(&type_oid)?;
        Some(match &registered.kind {
            // Never in place of a built-in decoder (a type registered for its dumper).
            TypeKind::Text
                if format == Format::Text
                    && crate::decode::result_format_for(type_oid) == Format::Text =>
            {
                CustomDecoder::Str
            }
            TypeKind::Text => return None,
            TypeKind::Enum => CustomDecoder::Str,
            TypeKind::Loader => CustomDecoder::Loader { key: type_oid },
            TypeKind::Hstore => CustomDecoder::Hstore,
            TypeKind::Domain { .. } => return None,
            TypeKind::Composite { fields, factory } => CustomDecoder::Composite {
                name: Arc::from(registered.name.as_str()),
                fields: fields
                    .iter()
                    .map(|&(declared, decode_as)| {
                        ColumnDecoder::new(decode_as, format, opts).declared_as(declared)
                    })
                    .collect(),
                factory: factory.then_some(type_oid),
            },
        })
    }

    /// The base type a registered domain decodes as.
    pub(crate) fn domain_base(type_oid: u32, opts: &DecodeOptions) -> Option<u32> {
        match opts.types.kind(type_oid) {
            Some(TypeKind::Domain { base }) => Some(*base),
            _ => None,
        }
    }

    pub(crate) fn is_marshal_native(&self) -> bool {
        match self {
            CustomDecoder::Str | CustomDecoder::Hstore => true,
            CustomDecoder::Array { element, .. } => element.is_marshal_native(),
            _ => false,
        }
    }

    pub(crate) fn decode(
        &self,
        format: Format,
        data: &[u8],
        w: &mut PickleWriter,
    ) -> Result<(), String> {
        match self {
            CustomDecoder::Str => w.str(text(data)?),
            CustomDecoder::Loader { key } => w.call_with_str(*key, text(data)?),
            CustomDecoder::Hstore => match format {
                Format::Binary => hstore_from_binary(data, w)?,
                Format::Text => hstore_from_text(data, w)?,
            },
            CustomDecoder::Array {
                element,
                element_oid,
            } => {
                let decode_element = |item: &[u8], w: &mut PickleWriter| {
                    element.decode(Some(item), w).map_err(|e| e.message)
                };
                match format {
                    Format::Binary => {
                        array::array_from_binary(data, *element_oid, w, &decode_element)?
                    }
                    Format::Text => array::array_from_text(data, w, &decode_element)?,
                }
            }
            CustomDecoder::Record { opts } => match format {
                Format::Binary => record_from_binary(data, w, opts)?,
                Format::Text => {
                    let fields = record_fields_from_text(data)?;
                    w.begin_tuple(fields.len());
                    for field in &fields {
                        match field {
                            None => w.none(),
                            Some(bytes) => w.str(text(bytes)?),
                        }
                    }
                    w.end_tuple(fields.len());
                }
            },
            CustomDecoder::Composite {
                name,
                fields,
                factory,
            } => {
                match factory {
                    Some(key) => {
                        w.push_callable(*key);
                        w.mark();
                    }
                    None => w.begin_tuple(fields.len()),
                }
                match format {
                    Format::Binary => composite_from_binary(data, w, name, fields)?,
                    Format::Text => {
                        let mut values = record_fields_from_text(data)?;
                        if fields.is_empty() && values == [None] {
                            values.clear(); // `()`: no fields (it also reads as one NULL)
                        }
                        if values.len() != fields.len() {
                            return Err(format!(
                                "{name} value has {} fields, expected {}",
                                values.len(),
                                fields.len()
                            ));
                        }
                        for (decoder, value) in fields.iter().zip(&values) {
                            decoder
                                .decode(value.as_deref(), w)
                                .map_err(|e| format!("{name}: {}", e.message))?;
                        }
                    }
                }
                match factory {
                    Some(_) => w.call_from_mark(),
                    None => w.end_tuple(fields.len()),
                }
            }
        }
        Ok(())
    }
}

fn text(data: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(data).map_err(|e| format!("value is not valid UTF-8: {e}"))
}

/// Reads the binary record layout (see the module documentation).
struct BinFields<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BinFields<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| "binary value is shorter than it says".to_string())?;
        let b = &self.data[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length-prefixed value; None for NULL (-1).
    fn value(&mut self) -> Result<Option<&'a [u8]>, String> {
        match self.i32()? {
            -1 => Ok(None),
            n if n < 0 => Err(format!("binary value has a length of {n}")),
            n => self.take(n as usize).map(Some),
        }
    }

    fn count(&mut self) -> Result<usize, String> {
        let n = self.i32()?;
        // Every item takes at least 4 bytes, which bounds work on corrupt input.
        if n < 0 || n as usize > (self.data.len() - self.pos) / 4 {
            return Err(format!("binary value claims {n} items"));
        }
        Ok(n as usize)
    }

    fn end(&self) -> Result<(), String> {
        if self.pos != self.data.len() {
            return Err("binary value has trailing bytes".to_string());
        }
        Ok(())
    }
}

fn record_from_binary(
    data: &[u8],
    w: &mut PickleWriter,
    opts: &DecodeOptions,
) -> Result<(), String> {
    let mut r = BinFields { data, pos: 0 };
    let n = r.count()?;
    w.begin_tuple(n);
    for i in 0..n {
        let field_type = u32::from_be_bytes(r.take(4)?.try_into().unwrap_or_default());
        let value = r.value()?;
        if value.is_some() && result_format_with(field_type, opts) != Format::Binary {
            return Err(format!(
                "record field {} is of {}, which has no binary decoder here: cast the field to text, \
                 or register the type on the connection (register_type)",
                i + 1,
                opts.types.name(field_type)
            ));
        }
        ColumnDecoder::new(field_type, Format::Binary, opts)
            .decode(value, w)
            .map_err(|e| format!("record field {}: {}", i + 1, e.message))?;
    }
    w.end_tuple(n);
    r.end()
}

fn composite_from_binary(
    data: &[u8],
    w: &mut PickleWriter,
    name: &str,
    fields: &[ColumnDecoder],
) -> Result<(), String> {
    let mut r = BinFields { data, pos: 0 };
    let n = r.count()?;
    if n != fields.len() {
        return Err(format!(
            "{name} value has {n} fields, expected {}",
            fields.len()
        ));
    }
    for (i, decoder) in fields.iter().enumerate() {
        let field_type = u32::from_be_bytes(r.take(4)?.try_into().unwrap_or_default());
        if field_type != decoder.type_oid() {
            return Err(format!(
                "{name} field {} is of type OID {field_type}, registered as {}: register the type again",
                i + 1,
                decoder.type_oid()
            ));
        }
        decoder
            .decode(r.value()?, w)
            .map_err(|e| format!("{name} field {}: {}", i + 1, e.message))?;
    }
    r.end()
}

/// The fields of a record's text form; None for NULL.
pub(crate) fn record_fields_from_text(data: &[u8]) -> Result<Vec<Option<Vec<u8>>>, String> {
    let invalid = || {
        format!(
            "malformed record text '{}'",
            String::from_utf8_lossy(&data[..data.len().min(200)])
        )
    };
    let inner = data
        .strip_prefix(b"(")
        .and_then(|d| d.strip_suffix(b")"))
        .ok_or_else(invalid)?;
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        // One field, up to an unquoted comma or the end.
        let mut value = Vec::new();
        let mut quoted_or_escaped = false;
        while i < inner.len() && inner[i] != b',' {
            match inner[i] {
                b'"' => {
                    quoted_or_escaped = true;
                    i += 1;
                    loop {
                        match inner.get(i) {
                            None => return Err(invalid()),
                            Some(b'"') if inner.get(i + 1) == Some(&b'"') => {
                                value.push(b'"');
                                i += 2;
                            }
                            Some(b'"') => {
                                i += 1;
                                break;
                            }
                            Some(b'\\') => {
                                value.push(*inner.get(i + 1).ok_or_else(invalid)?);
                                i += 2;
                            }
                            Some(&b) => {
                                value.push(b);
                                i += 1;
                            }
                        }
                    }
                }
                b'\\' => {
                    quoted_or_escaped = true;
                    value.push(*inner.get(i + 1).ok_or_else(invalid)?);
                    i += 2;
                }
                b => {
                    value.push(b);
                    i += 1;
                }
            }
        }
        fields.push(if value.is_empty() && !quoted_or_escaped {
            None
        } else {
            Some(value)
        });
        if i >= inner.len() {
            break;
        }
        i += 1; // the comma
    }
    Ok(fields)
}

fn hstore_from_binary(data: &[u8], w: &mut PickleWriter) -> Result<(), String> {
    let mut r = BinFields { data, pos: 0 };
    let n = r.count().map_err(|e| format!("hstore: {e}"))?;
    w.empty_dict();
    w.mark();
    for _ in 0..n {
        let key = r
            .value()?
            .ok_or_else(|| "hstore: a key is NULL".to_string())?;
        w.str(text(key).map_err(|e| format!("hstore key {e}"))?);
        match r.value()? {
            None => w.none(),
            Some(v) => w.str(text(v).map_err(|e| format!("hstore {e}"))?),
        }
    }
    w.setitems();
    r.end().map_err(|e| format!("hstore: {e}"))
}

fn hstore_from_text(data: &[u8], w: &mut PickleWriter) -> Result<(), String> {
    let invalid = |at: usize| {
        format!(
            "malformed hstore text at byte {at}: '{}'",
            String::from_utf8_lossy(&data[..data.len().min(200)])
        )
    };
    let quoted = |i: &mut usize| -> Result<Vec<u8>, String> {
        if data.get(*i) != Some(&b'"') {
            return Err(invalid(*i));
        }
        *i += 1;
        let mut out = Vec::new();
        loop {
            match data.get(*i) {
                None => return Err(invalid(*i)),
                Some(b'"') => {
                    *i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push(*data.get(*i + 1).ok_or_else(|| invalid(*i))?);
                    *i += 2;
                }
                Some(&b) => {
                    out.push(b);
                    *i += 1;
                }
            }
        }
    };
    let skip_spaces = |i: &mut usize| {
        while data.get(*i).is_some_and(|b| b.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    w.empty_dict();
    w.mark();
    let mut i = 0;
    skip_spaces(&mut i);
    while i < data.len() {
        let key = quoted(&mut i)?;
        w.str(text(&key).map_err(|e| format!("hstore key {e}"))?);
        skip_spaces(&mut i);
        if data.get(i..i + 2) != Some(b"=>") {
            return Err(invalid(i));
        }
        i += 2;
        skip_spaces(&mut i);
        if data
            .get(i..i + 4)
            .is_some_and(|b| b.eq_ignore_ascii_case(b"NULL"))
        {
            w.none();
            i += 4;
        } else {
            let value = quoted(&mut i)?;
            w.str(text(&value).map_err(|e| format!("hstore {e}"))?);
        }
        skip_spaces(&mut i);
        match data.get(i) {
            None => break,
            Some(b',') => {
                i += 1;
                skip_spaces(&mut i);
            }
            Some(_) => return Err(invalid(i)),
        }
    }
    w.setitems();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::option_tests::decode_with_options;
    use crate::decode::DecodeOptions;
    use crate::oid;
    use ParamValue as P;

    fn field(type_oid: u32, data: Option<&[u8]>) -> Vec<u8> {
        let mut v = type_oid.to_be_bytes().to_vec();
        match data {
            None => v.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(d) => {
                v.extend_from_slice(&(d.len() as i32).to_be_bytes());
                v.extend_from_slice(d);
            }
        }
        v
    }

    fn record(fields: &[Vec<u8>]) -> Vec<u8> {
        let mut v = (fields.len() as i32).to_be_bytes().to_vec();
        fields.iter().for_each(|f| v.extend_from_slice(f));
        v
    }

    fn registry(entries: &[(u32, u32, TypeKind)]) -> DecodeOptions {
        let mut types = TypeRegistry::default();
        for (type_oid, array_oid, kind) in entries {
            types.register(*type_oid, *array_oid, &format!("t{type_oid}"), kind.clone());
        }
        DecodeOptions {
            types: Arc::new(types),
            ..Default::default()
        }
    }

    #[test]
    fn records_in_both_formats() {
        let inner = record(&[field(oid::BOOL, Some(&[1]))]);
        let binary = record(&[
            field(oid::INT4, Some(&7i32.to_be_bytes())),
            field(oid::TEXT, Some(b"a b")),
            field(oid::INT8, None),
            field(RECORD, Some(&inner)),
        ]);
        let opts = DecodeOptions::default();
        let empty = record(&[]);
        assert_eq!(result_format(RECORD, &opts), Some(Format::Binary));
        let cells: Vec<(u32, Format, &[u8])> = vec![
            (RECORD, Format::Binary, &binary),
            (RECORD, Format::Text, br#"(7,"a b",,"(t)")"#),
            (RECORD, Format::Text, br#"(,"",\\,"x""y\"z",a\,b)"#),
            (RECORD, Format::Binary, &empty),
        ];
        assert_eq!(
            decode_with_options(&opts, &cells),
            [
                "(7, 'a b', None, (True,))",
                "('7', 'a b', None, '(t)')",
                "(None, '', '\\\\', 'x\"y\"z', 'a,b')",
                "()",
            ]
        );
    }

    #[test]
    fn malformed_records_and_unknown_fields_are_errors() {
        let good = record(&[
            field(oid::INT4, Some(&1i32.to_be_bytes())),
            field(oid::TEXT, Some(b"x")),
        ]);
        let opts = DecodeOptions::default();
        let decode = |format: Format, data: &[u8]| {
            let mut w = PickleWriter::new();
            ColumnDecoder::new(RECORD, format, &opts)
                .decode(Some(data), &mut w)
                .map_err(|e| e.message)
        };
        assert!(decode(Format::Binary, &good).is_ok());
        for cut in 0..good.len() {
            assert!(
                decode(Format::Binary, &good[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        assert!(decode(Format::Binary, &[good.clone(), vec![0]].concat()).is_err());
        let point = record(&[field(600, Some(&[0; 16]))]);
        let err = decode(Format::Binary, &point).unwrap_err();
        assert!(err.contains("record field 1 is of point, which has no binary decoder"), "{err}");
        for bad in ["", "(", "1,2", "(\"a)", "(a\\)"] {
            assert!(decode(Format::Text, bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn composites_hstore_enums_and_their_arrays() {
        const PT: u32 = 90001;
        const PT_ARRAY: u32 = 90002;
        const HSTORE: u32 = 90003;
        const MOOD: u32 = 90004;
        const MOOD_ARRAY: u32 = 90005;
        const POSINT: u32 = 90006;
        let composite = TypeKind::Composite {
            fields: vec![(oid::INT4, oid::INT4), (POSINT, oid::INT4), (MOOD, MOOD)],
            factory: false,
        };
        let opts = registry(&[
            (MOOD, MOOD_ARRAY, TypeKind::Enum),
            (PT, PT_ARRAY, composite),
            (HSTORE, 0, TypeKind::Hstore),
            (POSINT, 0, TypeKind::Domain { base: oid::INT4 }),
        ]);
        for t in [PT, PT_ARRAY, HSTORE, MOOD, MOOD_ARRAY] {
            assert_eq!(result_format(t, &opts), Some(Format::Binary), "{t}");
        }
        let pt = record(&[
            field(oid::INT4, Some(&1i32.to_be_bytes())),
            field(POSINT, None),
            field(MOOD, Some(b"ok")),
        ]);
        let mut hstore = 2i32.to_be_bytes().to_vec();
        for part in [
            &b"\0\0\0\x01a"[..],
            b"\0\0\0\x01b",
            b"\0\0\0\x01n",
            b"\xff\xff\xff\xff",
        ] {
            hstore.extend_from_slice(part);
        }
        let cells: Vec<(u32, Format, &[u8])> = vec![
            (PT, Format::Binary, &pt),
            (PT, Format::Text, b"(1,,ok)"),
            (PT_ARRAY, Format::Text, br#"{"(1,,ok)",NULL}"#),
            (HSTORE, Format::Binary, &hstore),
            (HSTORE, Format::Text, br#""a"=>"b", "n"=>NULL"#),
            (HSTORE, Format::Text, b""),
            (MOOD, Format::Binary, b"ok"),
            (MOOD_ARRAY, Format::Text, b"{ok,NULL}"),
        ];
        assert_eq!(
            decode_with_options(&opts, &cells),
            [
                "(1, None, 'ok')",
                "(1, None, 'ok')",
                "[(1, None, 'ok'), None]",
                "{'a': 'b', 'n': None}",
                "{'a': 'b', 'n': None}",
                "{}",
                "'ok'",
                "['ok', None]",
            ]
        );
        // Wrong field types or counts name the composite.
        let mut w = PickleWriter::new();
        let wrong = record(&[field(oid::INT8, Some(&1i64.to_be_bytes()))]);
        let e = ColumnDecoder::new(PT, Format::Binary, &opts)
            .decode(Some(&wrong), &mut w)
            .unwrap_err();
        assert!(
            e.message.contains("t90001 value has 1 fields, expected 3"),
            "{}",
            e.message
        );
        for bad in [&b"\"a\"=>"[..], b"\"a\"", b"a=>b", b"\"a\"=>\"b\" x"] {
            let mut w = PickleWriter::new();
            assert!(ColumnDecoder::new(HSTORE, Format::Text, &opts)
                .decode(Some(bad), &mut w)
                .is_err());
        }
        assert!(ColumnDecoder::new(HSTORE, Format::Binary, &opts).is_marshal_native());
        assert!(!ColumnDecoder::new(PT, Format::Binary, &opts).is_marshal_native());
    }

    #[test]
    fn registered_parameters_encode_as_text() {
        const PT: u32 = 90001;
        const PT_ARRAY: u32 = 90002;
        const HSTORE: u32 = 90003;
        const HSTORE_ARRAY: u32 = 90007;
        let opts = registry(&[
            (
                PT,
                PT_ARRAY,
                TypeKind::Composite {
                    fields: vec![
                        (oid::INT4, oid::INT4),
                        (oid::TEXT, oid::TEXT),
                        (oid::INT4_ARRAY, oid::INT4_ARRAY),
                        (HSTORE, HSTORE),
                    ],
                    factory: false,
                },
            ),
            (HSTORE, HSTORE_ARRAY, TypeKind::Hstore),
        ]);
        let text = |v: &ParamValue, t: u32| -> Result<String, String> {
            let mut out = Vec::new();
            opts.types.encode(v, t, &mut out).expect("registered")?;
            Ok(String::from_utf8(out).unwrap())
        };
        let pairs = P::Dict(vec![(P::Str("k\"\\"), P::Str("v")), (P::Str("n"), P::None)]);
        assert_eq!(text(&pairs, HSTORE).unwrap(), r#""k\"\\"=>"v", "n"=>NULL"#);
        let pt = P::List(vec![
            P::Int(1),
            P::Str("a\"b,"),
            P::List(vec![P::Int(2), P::None]),
            pairs.clone(),
        ]);
        assert_eq!(
            text(&pt, PT).unwrap(),
            r#"("1","a\"b,","{\"2\",NULL}","\"k\\\"\\\\\"=>\"v\", \"n\"=>NULL")"#
        );
        assert!(text(&P::List(vec![pt.clone(), P::None]), PT_ARRAY)
            .unwrap()
            .ends_with("\",NULL}"));
        assert_eq!(
            text(&P::List(vec![pairs.clone()]), HSTORE_ARRAY).unwrap(),
            r#"{"\"k\\\"\\\\\"=>\"v\", \"n\"=>NULL"}"#
        );
        assert!(text(&P::List(vec![P::Int(1)]), PT)
            .unwrap_err()
            .contains("4 fields, the value has 1"));
        assert!(text(&P::Dict(vec![(P::Int(1), P::None)]), HSTORE)
            .unwrap_err()
            .contains("keys must be str"));
        let mut out = Vec::new();
        assert!(opts
            .types
            .encode(&P::Str("(1,a,,)"), PT, &mut out)
            .is_none());
        assert!(opts.types.encode(&P::Int(1), oid::INT4, &mut out).is_none());
    }

    #[test]
    fn dumps_are_asked_for_values_that_are_not_text_yet() {
        let mut r = TypeRegistry::default();
        assert!(r
            .python_dumps_needed(&[oid::JSON], &[P::Dict(vec![])])
            .is_empty());
        r.add_python_dumped(oid::JSON, oid::JSON_ARRAY);
        let types = [oid::INT4, oid::JSON, oid::JSON_ARRAY];
        let text = P::Tagged(Tag::Text, vec![P::Str("{}")]);
        // Nothing to dump: NULL, str, dumped text, lists of those.
        for values in [
            vec![P::Int(1), P::None, P::None],
            vec![P::Int(1), P::Str("{}"), P::List(vec![P::Str("1"), P::None])],
            vec![P::Int(1), P::Tagged(Tag::Json, vec![P::Str("[]")]), P::None],
            vec![
                P::Int(1),
                text.clone(),
                P::List(vec![P::List(vec![text.clone()])]),
            ],
        ] {
            assert!(
                r.python_dumps_needed(&types, &values).is_empty(),
                "{values:?}"
            );
        }
        let all = vec![(1, oid::JSON, oid::JSON), (2, oid::JSON_ARRAY, oid::JSON)];
        for values in [
            vec![P::Int(1), P::Dict(vec![]), P::None],
            vec![P::Int(1), P::List(vec![P::Int(1)]), P::None],
            vec![P::Int(1), P::List(vec![P::Str("a")]), P::None],
            vec![
                P::Int(1),
                P::None,
                P::List(vec![P::List(vec![P::None, P::Bool(true)])]),
            ],
        ] {
            assert_eq!(r.python_dumps_needed(&types, &values), all, "{values:?}");
        }
    }
}
