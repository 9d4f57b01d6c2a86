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
pub const INT2VECTOR: u32 = 22;
pub const TID: u32 = 27;
pub const XID: u32 = 28;
pub const CID: u32 = 29;
pub const OIDVECTOR: u32 = 30;
pub const BOX: u32 = 603;
pub const CIDR: u32 = 650;
pub const MACADDR8: u32 = 774;
pub const MONEY: u32 = 790;
pub const MACADDR: u32 = 829;
pub const INET: u32 = 869;
pub const BIT: u32 = 1560;
pub const VARBIT: u32 = 1562;
pub const XID8: u32 = 5069;

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

/// (array type, element type) for every array type above; the generated table knows
/// these and every other built-in array (checked by a test below).
#[cfg(test)]
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

/// One built-in type, as `pg_type` describes it (see `builtin_types.rs`, generated by
/// `scripts/gen_oids.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinType {
    pub oid: u32,
    /// `typname`, except that arrays are shown as `element[]`.
    pub name: &'static str,
    /// `typarray`: the array type of this type, 0 if none.
    pub array: u32,
    /// For an array type, its element type; 0 otherwise (also for `int2vector`,
    /// `oidvector`, `name` and the geometric types, whose `typelem` is not an array's).
    pub element: u32,
    /// `typcategory` (`b'A'` arrays, `b'N'` numeric, `b'S'` string, ...).
    pub category: u8,
    /// `typdelim`: what separates this type's values in an array literal (`;` for box).
    pub delimiter: u8,
}

/// The `pg_type` facts of a built-in type.
pub fn builtin(oid: u32) -> Option<&'static BuiltinType> {
    let table = crate::builtin_types::BUILTIN_TYPES;
    table
        .binary_search_by_key(&oid, |t| t.oid)
        .ok()
        .map(|i| &table[i])
}

/// The element type of a built-in array type.
pub fn array_element(array_oid: u32) -> Option<u32> {
    builtin(array_oid).map(|t| t.element).filter(|&e| e != 0)
}

/// The built-in array type whose elements are `element_oid`, if any.
pub fn array_of(element_oid: u32) -> Option<u32> {
    builtin(element_oid).map(|t| t.array).filter(|&a| a != 0)
}

/// The separator of `element_oid` values in an array literal: `,` except for `box`.
pub fn array_delimiter(element_oid: u32) -> u8 {
    builtin(element_oid).map_or(b',', |t| t.delimiter)
}

/// The `pg_type.typname` of a built-in type (arrays as `int4[]`), for error messages.
pub fn type_name(oid: u32) -> Option<&'static str> {
    builtin(oid).map(|t| t.name)
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

    #[test]
    fn generated_table_knows_every_builtin_array() {
        let table = crate::builtin_types::BUILTIN_TYPES;
        assert!(
            table.windows(2).all(|w| w[0].oid < w[1].oid),
            "sorted by OID"
        );
        assert!(table.len() > 150);
        for t in table.iter().filter(|t| t.element != 0) {
            assert_eq!(array_of(t.element), Some(t.oid), "{}", t.name);
            assert_eq!(
                type_name(t.oid),
                Some(format!("{}[]", type_name(t.element).unwrap()).as_str())
            );
        }
        assert_eq!(type_name(INT4_ARRAY), Some("int4[]"));
        assert_eq!(type_name(CHAR), Some("char"));
        assert_eq!(array_element(1017), Some(600)); // point[]
        assert_eq!(array_element(651), Some(650)); // cidr[]
        assert_eq!(array_element(1041), Some(869)); // inet[]
        assert_eq!(array_element(2287), Some(2249)); // record[]
                                                     // Not arrays in the array_in/array_out sense.
        assert_eq!(array_element(22), None); // int2vector
        assert_eq!(array_element(30), None); // oidvector
        assert_eq!(array_element(NAME), None);
        assert_eq!(array_element(600), None);
        assert_eq!(array_delimiter(603), b';'); // box
        assert_eq!(array_delimiter(INT4), b',');
        assert_eq!(array_delimiter(70000), b',');
        assert_eq!(type_name(70000), None);
    }
}
