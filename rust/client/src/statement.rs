//! Server-side prepared statements: what the server told us about each, the LRU cache
//! that makes `exec(str)` one round trip after the first use, and the Close messages
//! that keep the server from accumulating statements.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use pyro_codecs::decode::{result_format_with, ColumnDecoder, DecodeOptions};
use pyro_codecs::encode::{encode_param, encode_scalar, Encoded};
use pyro_codecs::marshal::{parse_params, ParamValue, Params, Scalar};
use pyro_codecs::registry::TypeRegistry;
use pyro_protocol::backend::RowDescription;
use pyro_protocol::frontend;

use crate::ClientError;

/// Ids of `prepare()`d statements are unique in the process (until the 32-bit counter
/// wraps), so a statement handed to the wrong connection is recognised instead of running
/// whatever has the same name there. They are multiples of [`PREPARED_ID_STEP`]: the C ABI
/// passes a row mode in the low bits of the same argument (one ctypes argument fewer).
static NEXT_PREPARED_ID: AtomicU32 = AtomicU32::new(PREPARED_ID_STEP);

/// Prepared statement ids are multiples of this; the bits below it are free for the caller.
pub const PREPARED_ID_STEP: u32 = 8;

#[derive(Debug)]
pub struct Statement {
    pub name: String,
    pub sql: String,
    pub param_types: Vec<u32>,
    pub columns: Arc<[String]>,
    pub column_types: Vec<u32>,
    pub decoders: Arc<[ColumnDecoder]>,
    /// One format code per result column, chosen from its type: binary where we have a
    /// binary decoder, text otherwise (so unknown types still come back as `str`).
    pub result_formats: Vec<i16>,
    /// `result_formats` as Bind carries them.
    pub encoded_result_formats: Vec<u8>,
    /// Every column decodes to marshal-native values: rows may travel as a marshal
    /// stream (cheaper to load than pickle).
    pub marshal_rows: bool,
    /// The connection's registered types when the statement was described.
    pub types: Arc<TypeRegistry>,
    /// Parameter and column types neither built in nor registered (sorted, no
    /// duplicates): candidates for introspection. Empty in the common case, so executing
    /// costs one emptiness check.
    pub foreign_types: Box<[u32]>,
}

#[derive(Default)]
pub(crate) struct Partial {
    pub name: String,
    pub param_types: Vec<u32>,
    pub names: Vec<String>,
    pub types: Vec<u32>,
}

impl Partial {
    pub fn set_columns(&mut self, desc: RowDescription<'_>) -> Result<(), ClientError> {
        for field in desc.fields() {
            let field = field.map_err(|e| ClientError::Protocol(e.message))?;
            self.names.push(String::from_utf8_lossy(field.name).into_owned());
            self.types.push(field.type_oid);
        }
        Ok(())
    }

    pub fn finish(self, sql: String, opts: &DecodeOptions) -> Statement {
        let (decoders, result_formats, marshal_rows) = decoding(&self.types, opts);
        let foreign = foreign_types(&self.param_types, &self.types, &opts.types);
        Statement {
            marshal_rows,
            name: self.name,
            sql,
            param_types: self.param_types,
            columns: Arc::from(self.names),
            column_types: self.types,
            decoders,
            encoded_result_formats: frontend::encode_formats(&result_formats),
            result_formats,
            foreign_types: foreign,
            types: opts.types.clone(),
        }
    }
}

/// The types among `params` and `columns` that are neither built in nor registered in
/// `types` (`record` is handled without registration).
fn foreign_types(params: &[u32], columns: &[u32], types: &TypeRegistry) -> Box<[u32]> {
    let mut foreign: Vec<u32> = params
        .iter()
        .chain(columns)
        .copied()
        .filter(|&t| {
            t != 0
                && t != pyro_codecs::registry::RECORD
                && t != pyro_codecs::registry::RECORD_ARRAY
                && pyro_codecs::oid::builtin(t).is_none()
                && types.kind(t).is_none()
                && types.array_element(t).is_none()
        })
        .collect();
    foreign.sort_unstable();
    foreign.dedup();
    foreign.into_boxed_slice()
}

/// Decoders, result formats and marshal eligibility of columns of these types.
fn decoding(column_types: &[u32], opts: &DecodeOptions) -> (Arc<[ColumnDecoder]>, Vec<i16>, bool) {
    let formats: Vec<_> = column_types.iter().map(|&t| result_format_with(t, opts)).collect();
    let decoders: Vec<_> = column_types.iter().zip(&formats).map(|(&t, &f)| ColumnDecoder::new(t, f, opts)).collect();
    let marshal_rows = decoders.iter().all(|d| d.is_marshal_native());
    (Arc::from(decoders), formats.into_iter().map(|f| f as i16).collect(), marshal_rows)
}

impl Statement {
    /// The same server statement, decoding with `opts` (after a type was registered).
    fn with_options(&self, opts: &DecodeOptions) -> Statement {
        let (decoders, result_formats, marshal_rows) = decoding(&self.column_types, opts);
        Statement {
            name: self.name.clone(),
            sql: self.sql.clone(),
            param_types: self.param_types.clone(),
            columns: self.columns.clone(),
            column_types: self.column_types.clone(),
            decoders,
            encoded_result_formats: frontend::encode_formats(&result_formats),
            result_formats,
            marshal_rows,
            foreign_types: foreign_types(&self.param_types, &self.column_types, &opts.types),
            types: opts.types.clone(),
        }
    }
}

/// Hashes prepared statement ids: distinct integers of our own making, so a multiply and
/// a fold spread them well enough, at a fraction of SipHash's cost on every `exec`.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(b as u32 ^ (self.0 as u32));
        }
    }

    fn write_u32(&mut self, n: u32) {
        let h = (n as u64 ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub struct StatementCache {
    capacity: usize,
    by_sql: HashMap<String, (Arc<Statement>, u64)>,
    tick: u64,
    prepared: HashMap<u32, Arc<Statement>, BuildHasherDefault<IdHasher>>,
    next_name: u64,
    pending_closes: Vec<String>,
    /// Statements to close once the request using them has been written (cache size 0).
    close_after_use: Vec<String>,
}

impl StatementCache {
    pub fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            by_sql: HashMap::new(),
            tick: 0,
            prepared: HashMap::default(),
            next_name: 0,
            pending_closes: Vec::new(),
            close_after_use: Vec::new(),
        }
    }

    pub fn new_name(&mut self) -> String {
        self.next_name += 1;
        format!("pyro_{}", self.next_name)
    }

    pub fn lookup(&mut self, sql: &str) -> Option<Arc<Statement>> {
        self.tick += 1;
        let tick = self.tick;
        self.by_sql.get_mut(sql).map(|(s, used)| {
            *used = tick;
            s.clone()
        })
    }

    /// Caches a statement prepared for `exec(str)`, evicting (and closing) the least
    /// recently used one when full. With capacity 0 the statement is closed after use.
    pub fn insert_cached(&mut self, stmt: Statement) -> Arc<Statement> {
        let stmt = Arc::new(stmt);
        if self.capacity == 0 {
            self.close_after_use.push(stmt.name.clone());
            return stmt;
        }
        if self.by_sql.len() >= self.capacity {
            if let Some(oldest) = self.by_sql.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) {
                if let Some((old, _)) = self.by_sql.remove(&oldest) {
                    self.pending_closes.push(old.name.clone());
                }
            }
        }
        self.tick += 1;
        self.by_sql.insert(stmt.sql.clone(), (stmt.clone(), self.tick));
        stmt
    }

    pub fn insert_prepared(&mut self, stmt: Statement) -> u32 {
        let mut id = NEXT_PREPARED_ID.fetch_add(PREPARED_ID_STEP, Ordering::Relaxed);
        while id == 0 || self.prepared.contains_key(&id) {
            id = NEXT_PREPARED_ID.fetch_add(PREPARED_ID_STEP, Ordering::Relaxed);
        }
        self.prepared.insert(id, Arc::new(stmt));
        id
    }

    pub fn prepared(&self, id: u32) -> Option<&Arc<Statement>> {
        self.prepared.get(&id)
    }

    pub fn release_prepared(&mut self, id: u32) {
        if let Some(stmt) = self.prepared.remove(&id) {
            self.pending_closes.push(stmt.name.clone());
        }
    }

    pub fn queue_close(&mut self, name: String) {
        self.pending_closes.push(name);
    }

    /// Called once a Bind naming the statement is written: from then on its Close may
    /// follow.
    pub fn used(&mut self) {
        self.pending_closes.append(&mut self.close_after_use);
    }

    pub fn take_pending_closes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.pending_closes)
    }

    /// Every statement, cached or prepared, re-derives its decoders from `opts`. Portals
    /// and pipeline tickets already bound keep the statement they were bound with.
    pub fn set_options(&mut self, opts: &DecodeOptions) {
        for (stmt, _) in self.by_sql.values_mut() {
            *stmt = Arc::new(stmt.with_options(opts));
        }
        for stmt in self.prepared.values_mut() {
            *stmt = Arc::new(stmt.with_options(opts));
        }
    }

    pub fn cached_len(&self) -> usize {
        self.by_sql.len()
    }

    pub fn prepared_len(&self) -> usize {
        self.prepared.len()
    }
}

/// Encodes the marshalled parameters into Bind's value list, typed by the statement's
/// server-described parameter types. Nothing is sent when this fails.
pub(crate) fn encode_params(
    stmt: &Statement,
    params: &[u8],
    out: &mut Vec<u8>,
    formats: &mut Vec<i16>,
) -> Result<u16, ClientError> {
    if !stmt.types.has_python_dumped() {
        if let Some(count) = encode_streamed(stmt, params, out, formats) {
            return Ok(count);
        }
    }
    encode_parsed(stmt, params, out, formats)
}

/// Failures (and Python-dumped types, which need every value first) take this path: it
/// parses the whole list before counting and encoding it, so a buffer gets the same error
/// whichever of its problems the streamed path met first. Out of line: the streamed path
/// stays small.
#[inline(never)]
fn encode_parsed(stmt: &Statement, params: &[u8], out: &mut Vec<u8>, formats: &mut Vec<i16>) -> Result<u16, ClientError> {
    let values = parse_params(params).map_err(|e| ClientError::Encode(e.message))?;
    encode_values(stmt, &values, out, formats)
}

/// [`encode_params`] for the common case that succeeds: each value is encoded as it is
/// read, so no list of values is built (a heap allocation per call), and the common
/// scalars never become a [`ParamValue`]. `None` on any error.
fn encode_streamed(
    stmt: &Statement,
    params: &[u8],
    out: &mut Vec<u8>,
    formats: &mut Vec<i16>,
) -> Option<u16> {
    let mut values = Params::new(params).ok()?;
    if values.len() != stmt.param_types.len() {
        return None;
    }
    out.clear();
    formats.clear();
    let custom = stmt.types.has_encoders();
    for &oid in &stmt.param_types {
        let at = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
        let encoded = match values.next_scalar() {
            Some(s) => match if custom { None } else { encode_scalar(s, oid, out) } {
                Some(encoded) => encoded,
                None => encode_scalar_as_value(&stmt.types, custom, s, oid, out)?,
            },
            None => encode_next_value(&stmt.types, custom, &mut values, oid, out)?,
        };
        close_value(at, encoded, out, formats);
    }
    values.finish().ok()?;
    Some(stmt.param_types.len() as u16)
}

// The two below build a `ParamValue` (a large enum) in their own frames, not in the
// streamed loop's.

#[inline(never)]
fn encode_scalar_as_value(types: &TypeRegistry, custom: bool, s: Scalar<'_>, oid: u32, out: &mut Vec<u8>) -> Option<Encoded> {
    encode_one(types, custom, &s.into(), oid, out).ok()
}

#[inline(never)]
fn encode_next_value(types: &TypeRegistry, custom: bool, values: &mut Params<'_>, oid: u32, out: &mut Vec<u8>) -> Option<Encoded> {
    encode_one(types, custom, &values.next_value().ok()??, oid, out).ok()
}

/// The bytes of one Bind value, by the registry's encoder when it has one for the type.
#[inline(never)]
fn encode_one(
    types: &TypeRegistry,
    custom: bool,
    value: &ParamValue<'_>,
    oid: u32,
    out: &mut Vec<u8>,
) -> Result<Encoded, pyro_codecs::EncodeError> {
    match if custom { types.encode(value, oid, out) } else { None } {
        Some(custom) => custom.map_err(|message| pyro_codecs::EncodeError { message }),
        None => encode_param(value, oid, out),
    }
}

/// Fills in the length of the value started at `at` (a 4-byte placeholder) and records
/// its format.
#[inline]
fn close_value(at: usize, encoded: Encoded, out: &mut Vec<u8>, formats: &mut Vec<i16>) {
    match encoded {
        Encoded::Null => {
            out.truncate(at);
            out.extend_from_slice(&(-1i32).to_be_bytes());
            formats.push(1);
        }
        Encoded::Value(format) => {
            let len = (out.len() - at - 4) as i32;
            out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            formats.push(format as i16);
        }
    }
}

/// [`encode_params`] for values already parsed.
pub(crate) fn encode_values(
    stmt: &Statement,
    values: &[ParamValue<'_>],
    out: &mut Vec<u8>,
    formats: &mut Vec<i16>,
) -> Result<u16, ClientError> {
    if values.len() != stmt.param_types.len() {
        return Err(ClientError::Usage(format!(
            "the statement takes {} parameter{} but {} {} given",
            stmt.param_types.len(),
            if stmt.param_types.len() == 1 { "" } else { "s" },
            values.len(),
            if values.len() == 1 { "was" } else { "were" }
        )));
    }
    if !stmt.types.is_empty() {
        let needed = stmt.types.python_dumps_needed(&stmt.param_types, values);
        if !needed.is_empty() {
            return Err(ClientError::NeedsDump(needed));
        }
    }
    out.clear();
    formats.clear();
    let custom = stmt.types.has_encoders();
    for (i, (value, &oid)) in values.iter().zip(&stmt.param_types).enumerate() {
        let at = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
        let encoded = encode_one(&stmt.types, custom, value, oid, out)
            .map_err(|e| ClientError::Encode(format!("parameter ${}: {}", i + 1, e.message)))?;
        close_value(at, encoded, out, formats);
    }
    Ok(values.len() as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyro_codecs::registry::TypeKind;

    /// A statement taking parameters of these types, with the registry `types`.
    fn statement(param_types: &[u32], types: TypeRegistry) -> Statement {
        let opts = DecodeOptions { types: Arc::new(types), ..Default::default() };
        let partial = Partial { name: "s".into(), param_types: param_types.to_vec(), ..Default::default() };
        partial.finish("SELECT".into(), &opts)
    }

    #[test]
    fn streamed_encoding_matches_parsing_everything_first() {
        use pyro_codecs::oid;
        // Marshal (version 2) items, by hand: what Python writes, and some it would not.
        let u = |s: &[u8]| [&[b'u'][..], &(s.len() as i32).to_le_bytes(), s].concat();
        let items: Vec<Vec<u8>> = vec![
            b"N".to_vec(),
            b"T".to_vec(),
            [&b"i"[..], &7i32.to_le_bytes()].concat(),
            [&b"i"[..], &(-40000i32).to_le_bytes()].concat(),
            [&b"g"[..], &1.5f64.to_le_bytes()].concat(),
            u(b"text"),
            u("é".as_bytes()),
            u(b"\xed\xa0\x80"),
            u(b"2024-02-29"),
            [&b"s"[..], &2i32.to_le_bytes(), b"\x00\x01"].concat(),
            [&b"["[..], &1i32.to_le_bytes(), b"N"].concat(),
            [&b"<"[..], &0i32.to_le_bytes()].concat(),
            [&b"l"[..], &1i32.to_le_bytes(), &5u16.to_le_bytes()].concat(),
        ];
        let mut buffers: Vec<Vec<u8>> = vec![vec![], b"N".to_vec(), b")\x00".to_vec()];
        for a in &items {
            buffers.push([&b")\x01"[..], a].concat());
            for b in &items {
                let pair = [&b"(\x02\x00\x00\x00"[..], a, b].concat();
                buffers.push([&pair[..], b"N"].concat());
                buffers.push(pair[..pair.len() - 1].to_vec());
                buffers.push(pair);
            }
        }
        let mut registered = TypeRegistry::default();
        registered.register(70001, 70002, "mood", pyro_codecs::registry::TypeKind::Enum);
        let mut dumped = TypeRegistry::default();
        dumped.add_python_dumped(oid::JSON, 0);
        let (mut compared, mut encoded) = (0, 0);
        for types in [TypeRegistry::default(), registered, dumped] {
            for param_types in [
                &[][..],
                &[oid::INT4],
                &[oid::INT4, oid::TEXT],
                &[oid::INT2, oid::VARCHAR],
                &[oid::FLOAT8, oid::INT8],
                &[oid::DATE, oid::BYTEA],
                &[oid::BOOL, 70001],
                &[oid::NUMERIC, oid::JSON],
            ] {
                let stmt = statement(param_types, types.clone());
                for buf in &buffers {
                    let (mut out, mut formats) = (vec![9], vec![9]);
                    let got = encode_params(&stmt, buf, &mut out, &mut formats);
                    let (mut want_out, mut want_formats) = (vec![9], vec![9]);
                    let want = parse_params(buf)
                        .map_err(|e| ClientError::Encode(e.message))
                        .and_then(|v| encode_values(&stmt, &v, &mut want_out, &mut want_formats));
                    assert_eq!(got, want, "{param_types:?} {buf:?}");
                    if got.is_ok() {
                        assert_eq!((out, formats), (want_out, want_formats), "{param_types:?} {buf:?}");
                        encoded += 1;
                    }
                    compared += 1;
                }
            }
        }
        assert!(encoded > 100 && compared - encoded > 1000, "{encoded} of {compared}");
    }

    #[test]
    fn foreign_types_leave_out_builtin_registered_and_record_types() {
        let mut types = TypeRegistry::default();
        types.register(70001, 70002, "mood", TypeKind::Enum);
        let params = [23, 70001, 90001, 90001];
        let columns = [25, 1007, 70002, pyro_codecs::registry::RECORD, 90003, 90001, 0];
        assert_eq!(&*foreign_types(&params, &columns, &types), &[90001, 90003]);
        assert!(foreign_types(&[23, 25], &[16, 1009], &types).is_empty());
    }
}
