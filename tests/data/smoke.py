import asyncio, datetime as dt, decimal, os, sys, uuid
from pyro_postgres.sync import Conn
from pyro_postgres import async_
url = os.environ["PYRO_TEST_URL"]
c = Conn(url)
v = (decimal.Decimal("1.50"), dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc), uuid.UUID(int=5), {"a": [1]}, b"\x00", 2**62, "é")
got = c.exec_first("SELECT $1::numeric, $2::timestamptz, $3::uuid, $4::jsonb, $5::bytea, $6::int8, $7::text", v)
assert got == v, got
assert c.query("SELECT 1, 'x', now()::date IS NOT NULL") == [(1, "x", True)]
rows = c.exec("SELECT g FROM generate_series(1, 100000) g")
assert len(rows) == 100000
with c.pipeline() as p:
    t = p.exec("SELECT 2")
    assert p.claim(t) == [(2,)]
async def main():
    a = await async_.Conn.new(url)
    assert await a.exec_first("SELECT $1::int", (3,)) == (3,)
    await a.close()
asyncio.run(main())
print(sys.version.split()[0], "ok")
