"""Customers benchmark (not part of `make test`): seed N customers in a throwaway PostgreSQL
(SALESGRID_BENCH_CUSTOMERS, default 1000000 as issue 4 asks) and report p50/p99 of the duplicate
check, of a manager's scoped first page and of name searches in that scope, each as a ratio to a
bare indexed primary-key lookup measured in the same run through the same session machinery.

    .venv/bin/python bench/customers_dedup.py
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import select

from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.migrations import upgrade
from salesgrid_customers import models
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.domain.dedup import normalise_name
from salesgrid_customers.domain.search import index_keys
from salesgrid_customers.usecases import CustomersUseCases
from salesgrid_dev.processes import ThrowawayPostgres
from salesgrid_dev.testing import principal

N = int(os.environ.get("SALESGRID_BENCH_CUSTOMERS", "1000000"))
SAMPLES = int(os.environ.get("SALESGRID_BENCH_SAMPLES", "300"))
WARM_UP = 50
REGIONS, TEAMS_PER_REGION, REPS_PER_TEAM = 10, 10, 10
CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "武汉", "南京", "苏州", "西安", "重庆", "天津"]
SYLLABLES = list("华中国新星辰宏远恒泰创达信诚天瑞博润鑫源盛丰汇通海金银龙凤云山川明德安康佳美联合正大东方")
TRADES = ["科技", "信息技术", "医药", "贸易", "制造", "物流", "电子", "软件", "能源", "环保", "建设", "食品"]
SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
LATIN = ["Acme", "Nova", "Orbit", "Zenith", "Apex", "Vertex", "Summit", "Pioneer", "Harbor", "Cobalt"]


def company_name(rng: random.Random, index: int) -> str:
    if rng.random() < 0.15:
        return f"{rng.choice(LATIN)} {rng.choice(LATIN)} {index} Co., Ltd."
    core = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    # The index keeps every normalised name unique, as the duplicate guard requires.
    return f"{rng.choice(CITIES)}{core}{rng.choice(TRADES)}{index}{rng.choice(SUFFIXES)}"


async def seed(url: str, n: int) -> list[tuple[str, str]]:
    """Bulk-load customers and their candidate keys with COPY; returns (id, legal name) samples."""
    rng = random.Random(7)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    now = datetime.now(UTC)
    samples: list[tuple[str, str]] = []
    try:
        batch = 20000
        for start in range(0, n, batch):
            customers, keys = [], []
            for i in range(start, min(n, start + batch)):
                region, team, rep = (
                    rng.randrange(REGIONS),
                    rng.randrange(TEAMS_PER_REGION),
                    rng.randrange(REPS_PER_TEAM),
                )
                cid, name = new_id(), company_name(rng, i)
                normalised = normalise_name(name)
                pooled = rng.random() < 0.05
                at = now - timedelta(days=rng.randrange(700))
                customers.append(
                    (
                        cid,
                        name,
                        normalised,
                        None,
                        None,
                        None,
                        None,
                        None,
                        "potential",
                        "[]",
                        None,
                        None if pooled else f"rep-{region}-{team}-{rep}",
                        f"/c/r{region}/t{region}-{team}/",
                        None,
                        None,
                        None if pooled else at,
                        True,
                        1,
                        "bench",
                        at,
                        at,
                    )
                )
                keys.extend((key, cid) for key in index_keys(normalised))
                if rng.random() < SAMPLES * 2 / n:
                    samples.append((cid, name))
            await conn.copy_records_to_table(
                "customers",
                records=customers,
                columns=[
                    "id",
                    "legal_name",
                    "normalised_name",
                    "credit_code",
                    "industry",
                    "address_text",
                    "latitude",
                    "longitude",
                    "tier",
                    "tags",
                    "source",
                    "owner_id",
                    "org_path",
                    "previous_owner_id",
                    "released_at",
                    "assigned_at",
                    "active",
                    "version",
                    "created_by",
                    "created_at",
                    "updated_at",
                ],
            )
            await conn.copy_records_to_table("customer_name_keys", records=keys, columns=["key", "customer_id"])
            print(f"  seeded {min(n, start + batch)}/{n}", file=sys.stderr, end="\r")
        # As autovacuum leaves a loaded table: statistics, and a visibility map so index-only
        # scans need not visit the heap.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(file=sys.stderr)
    return samples


async def timed(samples: int, operation: Callable[[int], Awaitable[Any]]) -> list[float]:
    # Warm the pool, the caches and each statement shape (a duplicate check's query differs by
    # its number of keys) as a running service has, on inputs not measured afterwards.
    for i in range(samples, samples + WARM_UP):
        await operation(i)
    durations = []
    for i in range(samples):
        started = time.perf_counter()
        await operation(i)
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if q < 100 else max(values)


def near_variant(name: str, rng: random.Random) -> str:
    """What a rep types for an existing company: a bracketed city, another suffix, or a word more."""
    choice = rng.randrange(3)
    if choice == 0:
        return f"{name}（{rng.choice(CITIES)}）"
    if choice == 1:
        return name.replace("有限公司", "集团") if "有限公司" in name else name + " Inc."
    return name.replace("有限", "服务有限", 1) if "有限" in name else name + " Trading"


async def main() -> None:
    cluster = ThrowawayPostgres().start()
    try:
        url = cluster.create_database("bench")
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        print(f"seeding {N} customers …", file=sys.stderr)
        started = time.perf_counter()
        samples = await seed(url, N)
        print(f"seeded in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        engine = create_engine(url)
        sessions = session_factory(engine)
        uc = CustomersUseCases(sessions, Outbox("customers"), lambda: datetime.now(UTC))
        rng = random.Random(11)
        rep = principal("rep-1-1-1", "/c/r1/t1-1/", "t1-1", {"customers:read": "own"}, roles=("rep",))
        manager = principal("mgr-3", "/c/r3/", "r3", {"customers:read": "subtree"}, roles=("manager",))
        probes = [near_variant(name, rng) for _, name in samples]

        async def pk_lookup(i: int) -> None:
            async with sessions() as session:
                await session.scalar(select(models.Customer).where(models.Customer.id == samples[i % len(samples)][0]))

        async def duplicate_check(i: int) -> None:
            await uc.check_duplicates(rep, probes[i % len(probes)])

        async def scoped_first_page(i: int) -> None:
            await uc.list_customers(manager, page_size=50)

        # What a manager types: a common trade word, a company's distinctive part, a first letter.
        common_words = TRADES
        distinctive = [normalise_name(name)[2:6] for _, name in samples]

        async def search_common_word(i: int) -> None:
            await uc.list_customers(manager, page_size=50, query=common_words[i % len(common_words)])

        async def search_distinctive(i: int) -> None:
            await uc.list_customers(manager, page_size=50, query=distinctive[i % len(distinctive)])

        async def search_prefix(i: int) -> None:
            await uc.list_customers(manager, page_size=50, query=CITIES[i % len(CITIES)][0])

        gc.freeze()  # as a service does once started (ServiceApp.serve_until_signalled)
        results = {
            name: await timed(SAMPLES, op)
            for name, op in (
                ("primary-key lookup", pk_lookup),
                ("duplicate check", duplicate_check),
                ("manager's scoped first page", scoped_first_page),
                ("search: common word", search_common_word),
                ("search: distinctive part", search_distinctive),
                ("search: first character", search_prefix),
            )
        }
        await engine.dispose()
    finally:
        cluster.stop()

    base50, base99 = p(results["primary-key lookup"], 50), p(results["primary-key lookup"], 99)
    print(f"customers: {N}, samples per measure: {SAMPLES}")
    print(f"{'measure':30} {'p50 ms':>8} {'p99 ms':>8} {'p50 ×pk':>8} {'p99 ×pk':>8}")
    for name, values in results.items():
        p50, p99 = p(values, 50), p(values, 99)
        print(f"{name:30} {p50:8.2f} {p99:8.2f} {p50 / base50:8.1f} {p99 / base99:8.1f}")
    print("targets (issue 4, at 1M): duplicate check p99 ≤ 30 ms, scoped first page p99 ≤ 50 ms")


if __name__ == "__main__":
    asyncio.run(main())
