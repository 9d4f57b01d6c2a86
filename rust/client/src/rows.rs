//! Rows into the pickle stream: decoders resolved once per result, then a tight loop.

use std::sync::Arc;

use pyro_codecs::decode::{ColumnDecoder, DecodeOptions};
use pyro_codecs::pickle::PickleWriter;
use pyro_codecs::Format;
use pyro_protocol::backend::{DataRow, RowDescription};

use crate::statement::Statement;
use crate::ClientError;

/// The shape the caller wants the rows in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowMode {
    /// Every row: a list of tuples or of dicts.
    List { dicts: bool },
    /// The first row or None; later rows are read and discarded without decoding.
    First { dicts: bool },
    /// No rows: only the affected-row count.
    Drop,
    /// The first value of the first row as text, kept in Rust (for the driver's own
    /// probes such as `SHOW unix_socket_directories`).
    Scalar,
}

pub(crate) struct RowSink {
    mode: RowMode,
    columns: Columns,
    /// Pickle memo slots of the dict keys, so every row shares one key object per column.
    key_memo: Vec<u32>,
    rows: u64,
    pub scalar: Option<String>,
}

/// Where a result's column decoders and names come from.
enum Columns {
    /// Not described yet (a simple query before its RowDescription).
    None,
    /// A statement described when it was prepared.
    Statement(Arc<Statement>),
    /// A RowDescription of a simple query's result set (text format).
    Described { decoders: Arc<[ColumnDecoder]>, names: Arc<[String]> },
}

impl Columns {
    #[inline]
    fn decoders(&self) -> &[ColumnDecoder] {
        match self {
            Columns::None => &[],
            Columns::Statement(s) => &s.decoders,
            Columns::Described { decoders, .. } => decoders,
        }
    }

    fn names(&self) -> &[String] {
        match self {
            Columns::None => &[],
            Columns::Statement(s) => &s.columns,
            Columns::Described { names, .. } => names,
        }
    }
}

impl RowSink {
    pub fn new(mode: RowMode) -> Self {
        RowSink { mode, columns: Columns::None, key_memo: Vec::new(), rows: 0, scalar: None }
    }

    pub fn begin(&mut self, w: &mut PickleWriter) {
        if let RowMode::List { .. } = self.mode {
            w.empty_list();
            w.mark();
        }
    }

    /// Starts a new chunk in a fresh stream: the dict keys are written again there.
    pub fn restart(&mut self, w: &mut PickleWriter) {
        self.key_memo.clear();
        self.begin(w);
    }

    pub fn is_list(&self) -> bool {
        matches!(self.mode, RowMode::List { .. })
    }

    pub fn set_statement(&mut self, stmt: Arc<Statement>) {
        self.columns = Columns::Statement(stmt);
        self.key_memo.clear();
    }

    /// A result set of a simple query: every column arrives in text format.
    pub fn set_columns_text(&mut self, desc: RowDescription<'_>, opts: &DecodeOptions) -> Result<(), ClientError> {
        let mut decoders = Vec::with_capacity(desc.count as usize);
        let mut names = Vec::with_capacity(desc.count as usize);
        for field in desc.fields() {
            let field = field.map_err(|e| ClientError::Protocol(e.message))?;
            let format = if field.format == 1 { Format::Binary } else { Format::Text };
            decoders.push(ColumnDecoder::new(field.type_oid, format, opts));
            names.push(String::from_utf8_lossy(field.name).into_owned());
        }
        self.columns = Columns::Described { decoders: Arc::from(decoders), names: Arc::from(names) };
        self.key_memo.clear();
        Ok(())
    }

    #[inline]
    pub fn row(&mut self, row: DataRow<'_>, w: &mut PickleWriter) -> Result<(), ClientError> {
        let dicts = match self.mode {
            RowMode::Drop => {
                self.rows += 1;
                return Ok(());
            }
            RowMode::First { dicts } => {
                if self.rows > 0 {
                    self.rows += 1;
                    return Ok(());
                }
                dicts
            }
            RowMode::List { dicts } => dicts,
            RowMode::Scalar => {
                if self.rows == 0 {
                    if let Some(Ok(Some(v))) = row.values().next() {
                        self.scalar = Some(String::from_utf8_lossy(v).into_owned());
                    }
                }
                self.rows += 1;
                return Ok(());
            }
        };
        let decoders = self.columns.decoders();
        let n = decoders.len();
        if row.count as usize != n {
            return Err(ClientError::Protocol(format!(
                "the server sent a row of {} values for {} columns",
                row.count, n
            )));
        }
        if dicts {
            w.empty_dict();
            w.mark();
            for (i, value) in row.values().enumerate() {
                let value = value.map_err(|e| ClientError::Protocol(e.message))?;
                if let Some(&slot) = self.key_memo.get(i) {
                    w.memo_get(slot);
                } else {
                    w.str(&self.columns.names()[i]);
                    self.key_memo.push(w.memoize());
                }
                decoders[i].decode(value, w).map_err(|e| ClientError::Decode(e.message))?;
            }
            w.setitems();
        } else {
            w.begin_tuple(n);
            for (decoder, value) in decoders.iter().zip(row.values()) {
                let value = value.map_err(|e| ClientError::Protocol(e.message))?;
                decoder.decode(value, w).map_err(|e| ClientError::Decode(e.message))?;
            }
            w.end_tuple(n);
        }
        self.rows += 1;
        Ok(())
    }

    pub fn end(&mut self, w: &mut PickleWriter) {
        match self.mode {
            RowMode::List { .. } => {
                w.appends();
                w.stop();
            }
            RowMode::First { .. } => {
                if self.rows == 0 {
                    w.none();
                }
                w.stop();
            }
            RowMode::Drop | RowMode::Scalar => {}
        }
    }

    pub fn produces_rows(&self) -> bool {
        !matches!(self.mode, RowMode::Drop | RowMode::Scalar)
    }

    pub fn is_drop(&self) -> bool {
        self.mode == RowMode::Drop
    }

    pub fn row_count(&self) -> u64 {
        self.rows
    }
}
