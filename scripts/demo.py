"""pyro-postgres quick start, as a user would write it.

    python scripts/demo.py [URL]      (default: $PYRO_PG_URL; scripts/demo sets it)
"""

import os
import sys

from pyro_postgres.sync import Conn

url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
    "PYRO_PG_URL", "pg://postgres:postgres@localhost:5432/pyro_test")

conn = Conn(url)

conn.query_drop("DROP TABLE IF EXISTS users")
conn.query_drop("CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL)")

# Simple query
rows = conn.query("SELECT id, name FROM users")
print("users before:", rows)

# Parameterized query
user = conn.exec_first("SELECT * FROM users WHERE id = $1", (42,))
print("user 42:", user)

# Transaction: committed when the block ends without an exception
with conn.tx():
    conn.exec_drop("INSERT INTO users (name) VALUES ($1)", ("Alice",))
    conn.exec_drop("INSERT INTO users (name) VALUES ($1)", ("Bob",))

rows = conn.query("SELECT id, name FROM users ORDER BY id")
print("users after:", rows)

bob = conn.exec_first("SELECT id, name FROM users WHERE name = $1", ("Bob",), as_dict=True)
print("Bob:", bob)

conn.close()
