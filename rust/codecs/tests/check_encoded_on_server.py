#!/usr/bin/env python3
"""Sends every parameter the codec encoder produced to a real server and prints what the
server made of it (its text form), or FAIL with the server's error.

    cd rust && PYRO_CODECS_ENCODED=/tmp/encoded.tsv \
        cargo test -p pyro-codecs dump_encoded_params -- --ignored
    python3 scripts/pgserver.py run -- python3 rust/codecs/tests/check_encoded_on_server.py /tmp/encoded.tsv

Needs psycopg (its low-level libpq wrapper sends the bytes untouched). Exits 1 on any FAIL.
"""

import os
import sys

import psycopg


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/encoded.tsv"
    url = (f"host={os.environ['PYRO_PG_HOST']} port={os.environ['PYRO_PG_PORT']} "
           "user=postgres password=postgres dbname=pyro_test")
    failed = 0
    with psycopg.connect(url, autocommit=True) as conn:
        pg = conn.pgconn
        for setting in ("DateStyle = ISO", "IntervalStyle = postgres", "extra_float_digits = 3",
                        "TimeZone = 'Asia/Kathmandu'"):
            pg.exec_(f"SET {setting}".encode())
        for line in open(path, encoding="utf-8"):
            expr, oid, fmt, hexv = line.rstrip("\n").split("\t")
            value = None if fmt == "null" else bytes.fromhex(hexv)
            r = pg.exec_params(b"SELECT $1::text", [value], param_types=[int(oid)],
                               param_formats=[0 if fmt == "null" else int(fmt)])
            if r.status != 2:
                failed += 1
                print(f"FAIL {expr} -> {oid}: {r.error_message.decode().strip()}")
            else:
                shown = r.get_value(0, 0)
                print(f"{expr:60} {oid:>5} fmt={fmt}  {shown.decode()[:80] if shown is not None else None}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
