#!/usr/bin/env python3
"""Regenerates server_values.tsv: how a real PostgreSQL server sends each SQL value below,
in binary and in text format, under several session time zones and both bytea_output
styles. The codec tests decode every line in both formats and require the same Python
value (or an error in both, for lines marked ERR).

    python3 scripts/pgserver.py run -- python3 rust/codecs/tests/gen_server_values.py

Needs psycopg (only its low-level libpq wrapper is used, to get raw wire bytes).
Columns: session settings, expectation (OK/ERR), SQL, type OID, binary value as hex
(or NULL), text value as hex (or NULL).
"""

import os
import sys
from pathlib import Path

import psycopg

OK, ERR = "OK", "ERR"

VALUES = [
    (OK, "true"), (OK, "false"), (OK, "NULL::int4"),
    (OK, "0::int2"), (OK, "(-32768)::int2"), (OK, "2147483647::int4"), (OK, "(-2147483648)::int4"),
    (OK, "(-9223372036854775808)::int8"), (OK, "9223372036854775807::int8"), (OK, "4294967295::oid"),
    (OK, "1.1::float4"), (OK, "'NaN'::float4"), (OK, "'-Infinity'::float4"), (OK, "3.4028235e38::float4"),
    (OK, "1e-45::float4"), (OK, "0.1::float8"), (OK, "'Infinity'::float8"), (OK, "'-0'::float8"),
    (OK, "1e300::float8"), (OK, "5e-324::float8"), (OK, "sqrt(2.0::float8)"), (OK, "1e22::float8"),
    (OK, "0::numeric"), (OK, "0.00001::numeric"), (OK, "1.500::numeric"), (OK, "(-12345.67)::numeric"),
    (OK, "'NaN'::numeric"), (OK, "'Infinity'::numeric"), (OK, "'-Infinity'::numeric"),
    (OK, "'1e-1000'::numeric"), (OK, "'1e1000'::numeric"), (OK, "123456789012345678901234567890.123456789::numeric"),
    (OK, "0.000::numeric"), (OK, "(-0.0)::numeric"), (OK, "10000::numeric"), (OK, "round(1/3::numeric, 20)"),
    (OK, "1e-5::numeric(10,8)"), (OK, "(2::numeric ^ 200)"), (OK, "0.1::numeric(1000,999)"),
    (OK, "'héllo 😀'::text"), (OK, "''::text"), (OK, "'ab'::char(4)"), (OK, "'x'::varchar"),
    (OK, "'pg_class'::name"), (OK, "E'tab\\there\\nline'::text"), (OK, "'unknown literal'"),
    (OK, "'a'::\"char\""), (OK, "chr(233)::\"char\""), (OK, "''::\"char\""), (OK, "'\\'::\"char\""),
    (OK, "'\\x0001ff5c61'::bytea"), (OK, "''::bytea"), (OK, "convert_to('héllo \\ x', 'UTF8')"),
    (OK, "'2024-02-29'::date"), (OK, "'infinity'::date"), (OK, "'-infinity'::date"),
    (OK, "'0001-01-01'::date"), (OK, "'9999-12-31'::date"), (OK, "'1969-07-20'::date"),
    (ERR, "'10000-01-01'::date"), (ERR, "'0044-03-15 BC'::date"),
    (OK, "'20:17:40.5'::time"), (OK, "'00:00:00'::time"), (OK, "'23:59:59.999999'::time"),
    (ERR, "'24:00:00'::time"),
    (OK, "'12:34:56.789+05:45'::timetz"), (OK, "'01:00:00-09:30'::timetz"), (OK, "'00:00:00+00'::timetz"),
    (OK, "'12:00:00+15:59'::timetz"), (OK, "'12:00:00-15:59:59'::timetz"), (ERR, "'24:00:00+01'::timetz"),
    (OK, "'1999-12-31 12:00'::timestamp"), (OK, "'1969-07-20 20:17:40.5'::timestamp"),
    (OK, "'2000-01-01'::timestamp"), (OK, "'infinity'::timestamp"), (OK, "'-infinity'::timestamp"),
    (OK, "'0001-01-01 00:00'::timestamp"), (OK, "'9999-12-31 23:59:59.999999'::timestamp"),
    (OK, "'1900-02-28 23:59:59.000001'::timestamp"),
    (ERR, "'10000-01-01'::timestamp"), (ERR, "'0001-12-31 23:59 BC'::timestamp"),
    (OK, "'2024-01-01 12:00+05:45'::timestamptz"), (OK, "'1969-07-20 20:17:40.5-09:30'::timestamptz"),
    (OK, "'1900-01-01 00:00 Asia/Kolkata'::timestamptz"), (OK, "'1850-06-01 12:00 Europe/Amsterdam'::timestamptz"),
    (OK, "'infinity'::timestamptz"), (OK, "'-infinity'::timestamptz"), (OK, "'2024-07-01 03:30:00.25+00'::timestamptz"),
    (OK, "'0001-01-02 00:00+00'::timestamptz"), (OK, "'9999-12-30 23:59:59.999999+00'::timestamptz"),
    (ERR, "'10001-01-01 00:00+00'::timestamptz"), (ERR, "'0002-01-01 00:00+00 BC'::timestamptz"),
    (OK, "'1 year 2 mons 3 days 04:05:06.789'::interval"), (OK, "'-1 years -2 mons +3 days -04:05:06.789'::interval"),
    (OK, "'0'::interval"), (OK, "'-1 microsecond'::interval"), (OK, "'1 day'::interval"), (OK, "'100 hours'::interval"),
    (OK, "'-14 months'::interval"), (OK, "'1000000 days'::interval"), (OK, "'2 years -3 months'::interval"),
    (OK, "'1 mon -1 sec'::interval"), (OK, "'-2562047788:00:54.775807'::interval"),
    (ERR, "'178956970 years 7 mons'::interval"), (ERR, "'-2147483648 days'::interval"),
    (OK, "'12345678-9abc-def0-1234-56789abcdef0'::uuid"), (OK, "'00000000-0000-0000-0000-000000000000'::uuid"),
    (OK, "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"),
    (OK, """'{"a": [1, 2.5, null, "x", 1e400, 12345678901234567890123, true], "a": 2}'::json"""),
    (OK, """'{"a": [1, 2.5, null, "x", 1e40, 12345678901234567890123, true], "b": {}}'::jsonb"""),
    (OK, """'"\\u00e9\\ud83d\\ude00 \\" \\\\ \\n"'::jsonb"""), (OK, "'[]'::jsonb"), (OK, "'null'::jsonb"),
    (OK, "'  [1 , {\"k\" : -0.0e0}]  '::json"), (OK, "'1.000'::jsonb"),
    (OK, "ARRAY[[1,2],[3,NULL]]::int4[]"), (OK, "'{}'::int4[]"), (OK, "'[0:1]={7,8}'::int4[]"),
    (OK, "'[2:2][-1:0]={{5,6}}'::int8[]"), (OK, "ARRAY[ARRAY[ARRAY[1::int2]]]"),
    (OK, """ARRAY['a b', 'c"d\\', NULL, 'NULL', '', 'a,b', '{c}', ' d ', 'null']::text[]"""),
    (OK, "ARRAY['é'::varchar, 'x']"), (OK, "ARRAY['ab'::char(3)]"), (OK, "ARRAY['x'::name]"),
    (OK, "ARRAY['2024-02-29'::date, 'infinity']"), (OK, "ARRAY['\\x00ff'::bytea, '']"),
    (OK, """ARRAY['{"a": 1}'::jsonb, NULL, '"s"', '[1, "x,y"]']"""), (OK, """ARRAY['{"a": 1}'::json]"""),
    (OK, "ARRAY[1.5, NULL, 'NaN']::numeric[]"),
    (OK, "ARRAY['infinity'::timestamptz, '2024-01-01 00:00+05:45']"), (OK, "ARRAY['2024-01-01 01:02:03'::timestamp]"),
    (OK, "ARRAY['1 year'::interval, '-3 days 01:00']"), (OK, "ARRAY[true, false, NULL]"), (OK, "ARRAY['a'::\"char\", chr(200)::\"char\"]"),
    (OK, "ARRAY[1.1::float4, 'NaN', '-Infinity']"), (OK, "ARRAY[0.1::float8, 1e300]"),
    (OK, "ARRAY['12345678-9abc-def0-1234-56789abcdef0'::uuid]"), (OK, "ARRAY['12:00+05'::timetz]"),
    (OK, "ARRAY['12:00'::time]"), (OK, "ARRAY[42::oid]"), (ERR, "ARRAY['10000-01-01'::date]"),
    (OK, "point(1, 2)"), (OK, "'1.2.3.4/32'::inet"), (OK, "'a fat cat'::tsvector"), (OK, "42::money"),
    (OK, "B'101'"), (OK, "'[1,5)'::int4range"), (OK, "ARRAY[point(1,2)]"), (OK, "ROW(1, 'x')"),
    (OK, "'{\"(1,2)\"}'::point[]"),
    (OK, "'1.2.3.4/24'::inet"), (OK, "'::1'::inet"), (OK, "'2001:4f8:3:ba::1/64'::inet"),
    (OK, "'::ffff:1.2.3.4'::inet"), (OK, "'10.0.0.0/8'::cidr"), (OK, "'2001:db8::/32'::cidr"), (OK, "'::/0'::cidr"),
    (OK, "'08:00:2b:01:02:03'::macaddr"), (OK, "'08:00:2b:01:02:03:04:05'::macaddr8"),
    (OK, "(-12345.67)::money"), (OK, "'-92233720368547758.08'::money"), (OK, "'92233720368547758.07'::money"),
    (OK, "0::money"), (OK, "B'10110'::bit(5)"), (OK, "''::varbit"), (OK, "B'1111111101'::varbit"),
    (OK, "'4294967295'::xid"), (OK, "'18446744073709551615'::xid8"), (OK, "'7'::cid"),
    (OK, "'(4294967295,65535)'::tid"), (OK, "'1 -2 3'::int2vector"), (OK, "''::int2vector"), (OK, "'23 25'::oidvector"),
    (OK, "'16/B374D848'::pg_lsn"), (OK, "'10:20:10,14,15'::pg_snapshot"), (OK, "'pg_class'::regclass"),
    (OK, "'$.a[*]'::jsonpath"), (OK, "'a & !b'::tsquery"),
    (OK, "ARRAY['1.2.3.4'::inet, NULL, '::1/64']"), (OK, "'[0:1]={10.0.0.0/8,::/0}'::cidr[]"),
    (OK, "ARRAY[1.5::money, NULL]"), (OK, "ARRAY[B'101'::varbit]"), (OK, "ARRAY['(1,1),(0,0)'::box, '(2,2),(1,1)']"),
    (OK, "ARRAY['1 2'::int2vector, NULL]"), (OK, "ARRAY['(0,1)'::tid]"), (OK, "ARRAY['16/0'::pg_lsn, NULL]"),
    (OK, "ARRAY[[point(1,2)],[NULL::point]]"), (OK, "ARRAY['08:00:2b:01:02:03'::macaddr]"), (OK, "ARRAY['1'::xid8]"),
]

SESSIONS = [
    ("UTC", "hex"),
    ("Asia/Kathmandu", "escape"),
    ("America/St_Johns", "hex"),
    ("Europe/Amsterdam", "escape"),
]


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    url = (f"host={os.environ['PYRO_PG_HOST']} port={os.environ['PYRO_PG_PORT']} "
           "user=postgres password=postgres dbname=pyro_test")
    lines = []
    with psycopg.connect(url, autocommit=True) as conn:
        pg = conn.pgconn
        version = conn.info.server_version
        for tz, bytea in SESSIONS:
            for setting in (
                "DateStyle = ISO", "IntervalStyle = postgres", "extra_float_digits = 3",
                f"TimeZone = '{tz}'", f"bytea_output = {bytea}", "client_encoding = UTF8",
            ):
                r = pg.exec_(f"SET {setting}".encode())
                assert r.status == 1, r.error_message
            for expect, sql in VALUES:
                values = []
                oid = None
                for fmt in (1, 0):
                    r = pg.exec_params(f"SELECT {sql}".encode(), [], result_format=fmt)
                    if r.status != 2:
                        if fmt == 1:  # no binary send function for this type
                            values.append("NOBINARY")
                            continue
                        raise SystemExit(f"{sql}: {r.error_message.decode()}")
                    oid = r.ftype(0)
                    v = r.get_value(0, 0)
                    values.append("NULL" if v is None else v.hex())
                assert "\t" not in sql and "\n" not in sql
                lines.append("\t".join([f"{tz}/{bytea}", expect, sql, str(oid), *values]))
    out = Path(__file__).with_name("server_values.tsv")
    out.write_text(f"# generated by gen_server_values.py from PostgreSQL {version}; do not edit\n" + "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
