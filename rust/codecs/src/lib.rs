//! PostgreSQL value codecs for pyro_postgres.
//!
//! Two directions, both designed around a single buffer crossing the C ABI:
//!
//! * **Rows out**: a [`decode::ColumnDecoder`] is chosen once per result column from the
//!   row description, then called per cell to append the Python value to a
//!   [`pickle::PickleWriter`]. Python turns the whole result into objects with one
//!   `pickle.loads`. Server bytes only ever land inside length-prefixed pickle payloads
//!   (strings, bytes), so no server value can be interpreted as an opcode.
//! * **Parameters in**: Python sends `marshal.dumps(params, 2)`; [`marshal::parse_params`]
//!   turns it into borrowed [`marshal::ParamValue`]s and [`encode::encode_param`] encodes each
//!   one for the parameter type the *server* reported, so an `int` bound to `numeric` or a
//!   `str` bound to `date` just works.
//!
//! Nothing here does I/O or touches Python; everything is a pure function over bytes.

pub mod decode;
pub mod encode;
pub mod marshal;
pub mod oid;
pub mod pickle;
pub mod registry;

mod array;
mod builtin_types;
mod json;
mod money;
mod network;
mod numeric;
mod range;
mod system_types;
mod temporal;
mod textrepr;

#[cfg(test)]
mod python_harness;
#[cfg(test)]
mod server_values_tests;

/// Wire format of a value, with the numeric codes the protocol uses in Bind and
/// RowDescription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i16)]
pub enum Format {
    Text = 0,
    Binary = 1,
}

pub use decode::{result_format_for, ColumnDecoder, DecodeError, DecodeOptions};
pub use encode::{encode_param, EncodeError, Encoded};
pub use marshal::{parse_params, ParamError, ParamValue, Params, Scalar, Tag};
pub use pickle::PickleWriter;
