"""An upload retried with its idempotency key through the real customers service (StartImport,
client-streaming), on SQLite and PostgreSQL: one import job, the retry answered with it."""

from __future__ import annotations

from sqlalchemy import func, select

from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_customers import models

from customers_fixtures import chunks, running_customers, seed_directory, token


async def test_a_retried_upload_with_its_key_starts_one_import(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        keyed = (*token(test_keys, "rep-a"), ("idempotency-key", "upload-1.1"), ("idempotency-request", "f1"))
        body = "legal_name\n幂等导入有限公司\n".encode()
        first = await api.StartImport(chunks(body, size=8), metadata=keyed)
        retry = api.StartImport(chunks(body, size=8), metadata=keyed)
        assert await retry == first
        assert ("idempotent-replayed", "true") in tuple(await retry.trailing_metadata())
        other = await api.StartImport(chunks(body, size=8), metadata=token(test_keys, "rep-a"))
        assert other.id != first.id
        async with running.app.ctx.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(models.ImportJob)) == 2
