//! Type OIDs of the built-in PostgreSQL types this crate knows (from `pg_type.dat`; these
//! are fixed at initdb and identical on every server version we support).

pub const BOOL: u32 = 16;
pub const BYTEA: u32 = 17;
pub const CHAR: u32 = 18;
pub const NAME: u32 = 19;
pub const INT8: u32 = 20;
pub const INT2: u32 = 21;
pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
pub const OID: u32 = 26;
pub const JSON: u32 = 114;
pub const FLOAT4: u32 = 700;
pub const FLOAT8: u32 = 701;
pub const UNKNOWN: u32 = 705;
pub const BPCHAR: u32 = 1042;
pub const VARCHAR: u32 = 1043;
pub const DATE: u32 = 1082;
pub const TIME: u32 = 1083;
pub const TIMESTAMP: u32 = 1114;
pub const TIMESTAMPTZ: u32 = 1184;
pub const INTERVAL: u32 = 1186;
pub const TIMETZ: u32 = 1266;
pub const NUMERIC: u32 = 1700;
pub const UUID: u32 = 2950;
pub const JSONB: u32 = 3802;
pub const INT4RANGE: u32 = 3904;
pub const NUMRANGE: u32 = 3906;
pub const TSRANGE: u32 = 3908;
pub const TSTZRANGE: u32 = 3910;
pub const DATERANGE: u32 = 3912;
pub const INT8RANGE: u32 = 3926;
pub const INT4MULTIRANGE: u32 = 4451;
pub const NUMMULTIRANGE: u32 = 4532;
pub const TSMULTIRANGE: u32 = 4533;
pub const TSTZMULTIRANGE: u32 = 4534;
pub const DATEMULTIRANGE: u32 = 4535;
pub const INT8MULTIRANGE: u32 = 4536;

pub const BOOL_ARRAY: u32 = 1000;
pub const BYTEA_ARRAY: u32 = 1001;
pub const CHAR_ARRAY: u32 = 1002;
pub const NAME_ARRAY: u32 = 1003;
pub const INT2_ARRAY: u32 = 1005;
pub const INT4_ARRAY: u32 = 1007;
pub const TEXT_ARRAY: u32 = 1009;
pub const BPCHAR_ARRAY: u32 = 1014;
pub const VARCHAR_ARRAY: u32 = 1015;
pub const INT8_ARRAY: u32 = 1016;
pub const FLOAT4_ARRAY: u32 = 1021;
pub const FLOAT8_ARRAY: u32 = 1022;
pub const OID_ARRAY: u32 = 1028;
pub const TIMESTAMP_ARRAY: u32 = 1115;
pub const DATE_ARRAY: u32 = 1182;
pub const TIME_ARRAY: u32 = 1183;
pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
pub const INTERVAL_ARRAY: u32 = 1187;
pub const JSON_ARRAY: u32 = 199;
pub const NUMERIC_ARRAY: u32 = 1231;
pub const TIMETZ_ARRAY: u32 = 1270;
pub const UUID_ARRAY: u32 = 2951;
pub const JSONB_ARRAY: u32 = 3807;
pub const INT4RANGE_ARRAY: u32 = 3905;
pub const NUMRANGE_ARRAY: u32 = 3907;
pub const TSRANGE_ARRAY: u32 = 3909;
pub const TSTZRANGE_ARRAY: u32 = 3911;
pub const DATERANGE_ARRAY: u32 = 3913;
pub const INT8RANGE_ARRAY: u32 = 3927;
pub const INT4MULTIRANGE_ARRAY: u32 = 6150;
pub const NUMMULTIRANGE_ARRAY: u32 = 6151;
pub const TSMULTIRANGE_ARRAY: u32 = 6152;
pub const TSTZMULTIRANGE_ARRAY: u32 = 6153;
pub const DATEMULTIRANGE_ARRAY: u32 = 6155;
pub const INT8MULTIRANGE_ARRAY: u32 = 6157;

/// (array type, element type) for every array type above.
const ARRAYS: [(u32, u32); 35] = [
    (BOOL_ARRAY, BOOL),
    (BYTEA_ARRAY, BYTEA),
    (CHAR_ARRAY, CHAR),
    (NAME_ARRAY, NAME),
    (INT2_ARRAY, INT2),
    (INT4_ARRAY, INT4),
    (TEXT_ARRAY, TEXT),
    (BPCHAR_ARRAY, BPCHAR),
    (VARCHAR_ARRAY, VARCHAR),
    (INT8_ARRAY, INT8),
    (FLOAT4_ARRAY, FLOAT4),
    (FLOAT8_ARRAY, FLOAT8),
    (OID_ARRAY, OID),
    (TIMESTAMP_ARRAY, TIMESTAMP),
    (DATE_ARRAY, DATE),
    (TIME_ARRAY, TIME),
    (TIMESTAMPTZ_ARRAY, TIMESTAMPTZ),
    (INTERVAL_ARRAY, INTERVAL),
    (JSON_ARRAY, JSON),
    (NUMERIC_ARRAY, NUMERIC),
    (TIMETZ_ARRAY, TIMETZ),
    (UUID_ARRAY, UUID),
    (JSONB_ARRAY, JSONB),
    (INT4RANGE_ARRAY, INT4RANGE),
    (NUMRANGE_ARRAY, NUMRANGE),
    (TSRANGE_ARRAY, TSRANGE),
    (TSTZRANGE_ARRAY, TSTZRANGE),
    (DATERANGE_ARRAY, DATERANGE),
    (INT8RANGE_ARRAY, INT8RANGE),
    (INT4MULTIRANGE_ARRAY, INT4MULTIRANGE),
    (NUMMULTIRANGE_ARRAY, NUMMULTIRANGE),
    (TSMULTIRANGE_ARRAY, TSMULTIRANGE),
    (TSTZMULTIRANGE_ARRAY, TSTZMULTIRANGE),
    (DATEMULTIRANGE_ARRAY, DATEMULTIRANGE),
    (INT8MULTIRANGE_ARRAY, INT8MULTIRANGE),
];

/// (range type, its subtype, its multirange type) for the built-in range types.
const RANGES: [(u32, u32, u32); 6] = [
    (INT4RANGE, INT4, INT4MULTIRANGE),
    (NUMRANGE, NUMERIC, NUMMULTIRANGE),
    (TSRANGE, TIMESTAMP, TSMULTIRANGE),
    (TSTZRANGE, TIMESTAMPTZ, TSTZMULTIRANGE),
    (DATERANGE, DATE, DATEMULTIRANGE),
    (INT8RANGE, INT8, INT8MULTIRANGE),
];

/// The subtype (bound type) of a known range type.
pub fn range_subtype(range_oid: u32) -> Option<u32> {
    RANGES
        .iter()
        .find(|(r, _, _)| *r == range_oid)
        .map(|(_, s, _)| *s)
}

/// The range type of a known multirange type.
pub fn multirange_range(multirange_oid: u32) -> Option<u32> {
    RANGES
        .iter()
        .find(|(_, _, m)| *m == multirange_oid)
        .map(|(r, _, _)| *r)
}

/// The element type of a known array type.
pub fn array_element(array_oid: u32) -> Option<u32> {
    ARRAYS
        .iter()
        .find(|(a, _)| *a == array_oid)
        .map(|(_, e)| *e)
}

/// The array type whose elements are `element_oid`, if known.
pub fn array_of(element_oid: u32) -> Option<u32> {
    ARRAYS
        .iter()
        .find(|(_, e)| *e == element_oid)
        .map(|(a, _)| *a)
}

/// The `pg_type.typname` of a known type (arrays as `int4[]`), for error messages.
pub fn type_name(oid: u32) -> Option<&'static str> {
    Some(match oid {
        BOOL => "bool",
        BYTEA => "bytea",
        CHAR => "char",
        NAME => "name",
        INT8 => "int8",
        INT2 => "int2",
        INT4 => "int4",
        TEXT => "text",
        OID => "oid",
        JSON => "json",
        FLOAT4 => "float4",
        FLOAT8 => "float8",
        UNKNOWN => "unknown",
        BPCHAR => "bpchar",
        VARCHAR => "varchar",
        DATE => "date",
        TIME => "time",
        TIMESTAMP => "timestamp",
        TIMESTAMPTZ => "timestamptz",
        INTERVAL => "interval",
        TIMETZ => "timetz",
        NUMERIC => "numeric",
        UUID => "uuid",
        JSONB => "jsonb",
        INT4RANGE => "int4range",
        NUMRANGE => "numrange",
        TSRANGE => "tsrange",
        TSTZRANGE => "tstzrange",
        DATERANGE => "daterange",
        INT8RANGE => "int8range",
        INT4MULTIRANGE => "int4multirange",
        NUMMULTIRANGE => "nummultirange",
        TSMULTIRANGE => "tsmultirange",
        TSTZMULTIRANGE => "tstzmultirange",
        DATEMULTIRANGE => "datemultirange",
        INT8MULTIRANGE => "int8multirange",
        BOOL_ARRAY => "bool[]",
        BYTEA_ARRAY => "bytea[]",
        CHAR_ARRAY => "char[]",
        NAME_ARRAY => "name[]",
        INT2_ARRAY => "int2[]",
        INT4_ARRAY => "int4[]",
        TEXT_ARRAY => "text[]",
        BPCHAR_ARRAY => "bpchar[]",
        VARCHAR_ARRAY => "varchar[]",
        INT8_ARRAY => "int8[]",
        FLOAT4_ARRAY => "float4[]",
        FLOAT8_ARRAY => "float8[]",
        OID_ARRAY => "oid[]",
        TIMESTAMP_ARRAY => "timestamp[]",
        DATE_ARRAY => "date[]",
        TIME_ARRAY => "time[]",
        TIMESTAMPTZ_ARRAY => "timestamptz[]",
        INTERVAL_ARRAY => "interval[]",
        JSON_ARRAY => "json[]",
        NUMERIC_ARRAY => "numeric[]",
        TIMETZ_ARRAY => "timetz[]",
        UUID_ARRAY => "uuid[]",
        JSONB_ARRAY => "jsonb[]",
        INT4RANGE_ARRAY => "int4range[]",
        NUMRANGE_ARRAY => "numrange[]",
        TSRANGE_ARRAY => "tsrange[]",
        TSTZRANGE_ARRAY => "tstzrange[]",
        DATERANGE_ARRAY => "daterange[]",
        INT8RANGE_ARRAY => "int8range[]",
        INT4MULTIRANGE_ARRAY => "int4multirange[]",
        NUMMULTIRANGE_ARRAY => "nummultirange[]",
        TSMULTIRANGE_ARRAY => "tsmultirange[]",
        TSTZMULTIRANGE_ARRAY => "tstzmultirange[]",
        DATEMULTIRANGE_ARRAY => "datemultirange[]",
        INT8MULTIRANGE_ARRAY => "int8multirange[]",
        _ => return None,
    })
}

/// A printable name for any OID: the type name when known, else `type with OID n`.
pub(crate) fn describe(oid: u32) -> String {
    match type_name(oid) {
        Some(name) => name.to_string(),
        None => format!("type with OID {oid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_table_is_a_bijection_between_known_types() {
        for (array, element) in ARRAYS {
            assert_eq!(array_element(array), Some(element));
            assert_eq!(array_of(element), Some(array));
            assert!(type_name(array).unwrap().ends_with("[]"));
            assert!(type_name(element).is_some());
        }
        assert_eq!(array_element(INT4), None);
    }

    #[test]
    fn range_table_links_ranges_subtypes_and_multiranges() {
        for (range, subtype, multirange) in RANGES {
            assert_eq!(range_subtype(range), Some(subtype));
            assert_eq!(multirange_range(multirange), Some(range));
            assert!(type_name(range).unwrap().ends_with("range"));
            assert!(type_name(multirange).unwrap().ends_with("multirange"));
            assert!(array_of(range).is_some() && array_of(multirange).is_some());
        }
        assert_eq!(range_subtype(INT4), None);
        assert_eq!(multirange_range(INT4RANGE), None);
    }
}
