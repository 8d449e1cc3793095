"""What a PostgreSQL read pays for its connection, not run by `make bench` (see
docs/performance/rounds/17-fifteenth-round.md): one `SELECT 1` per read, 4,000 reads per way, two
rounds, on a throwaway cluster and uvloop, through

- `reading` (a connection the engine keeps for reads, salesgrid_common.held_reads; before the
  fifteenth round SQLAlchemy's pool checkout via the greenlet bridge, the autocommit flag, the checkin),
- asyncpg's own pool (its release runs a reset query),
- one connection already held (the floor: the statement alone),

printing the wall time and this process's CPU time per read, and each way's CPU as a multiple of
the held connection's, measured in the same run."""

from __future__ import annotations

import resource
import time
from collections.abc import Awaitable, Callable

import asyncpg
import uvloop
from salesgrid_common.db import create_engine, reading, session_factory
from salesgrid_dev.processes import ThrowawayPostgres
from sqlalchemy import text

READS = 4000


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def per_read(read: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    for _ in range(200):  # warm
        await read()
    wall, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(READS):
        await read()
    return (time.perf_counter() - wall) / READS, (cpu_seconds() - cpu) / READS


async def main(url: str) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    pool = await asyncpg.create_pool(url.replace("postgresql+asyncpg", "postgresql"), min_size=2, max_size=4)
    held = await pool.acquire()

    async def through_reading() -> None:
        async with reading(sessions) as reads:
            raw = await reads.get_raw_connection()  # type: ignore[union-attr]
            await raw.driver_connection.fetch("SELECT 1")

    async def through_asyncpg_pool() -> None:
        async with pool.acquire() as connection:
            await connection.fetch("SELECT 1")

    async def on_a_held_connection() -> None:
        await held.fetch("SELECT 1")

    ways = {"reading (SQLAlchemy)": through_reading, "asyncpg pool": through_asyncpg_pool, "held": on_a_held_connection}
    try:
        for _ in range(2):
            measured = {name: await per_read(read) for name, read in ways.items()}
            floor = measured["held"][1]
            for name, (wall, cpu) in measured.items():
                print(f"{name:22s} wall {wall * 1e6:6.1f} µs  CPU {cpu * 1e6:6.1f} µs  ({cpu / floor:4.1f}× held)")
    finally:
        await pool.release(held)
        await pool.close()
        await engine.dispose()


if __name__ == "__main__":
    cluster = ThrowawayPostgres().start()
    try:
        uvloop.run(main(cluster.create_database("bench")))
    finally:
        cluster.stop()
