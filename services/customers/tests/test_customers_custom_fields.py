"""Custom fields on customers and contacts, through gRPC on SQLite and PostgreSQL: definitions
(admin only, events), values validated on create/update, carried in events, filtered in lists,
imported from cf_ columns, exported as cf_ columns; archiving keeps values, deleting is refused
while values exist."""

from __future__ import annotations

import csv
import io

import grpc
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from sqlalchemy import select

from salesgrid.common.v1 import custom_fields_pb2 as cf
from salesgrid.common.v1 import custom_fields_pb2_grpc as cf_grpc
from salesgrid.common.v1 import exports_pb2 as ex
from salesgrid.common.v1 import exports_pb2_grpc as ex_grpc
from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.events.v1.custom_field_events_pb2 import CustomFieldDefinitionChanged
from salesgrid.events.v1.customers_events_pb2 import CustomerContactState, CustomerRecordState
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_customers.app import DEFINITION, MIGRATIONS, exports_for, usecases_for
from salesgrid_customers.settings import CustomersSettings
from salesgrid_dev.directory_seed import add_user, caller, replica
from salesgrid_dev.testing import RunningService, field_violations, run_service

PERMS = {
    "customers:read": "own",
    "customers:create": "own",
    "customers:update": "own",
    "customers:export": "own",
    "custom_fields:read": "all",
}
ADMIN = {**PERMS, "custom_fields:manage": "all"}


def who(keys, user: str, perms: dict[str, str] = PERMS):  # type: ignore[no-untyped-def]
    return caller(keys, user, "/c/b1/", perms)


def struct(**values: object) -> Struct:
    s = Struct()
    s.update(values)
    return s


def values(message) -> dict:  # type: ignore[no-untyped-def]
    return json_format.MessageToDict(message.custom_fields)


async def error(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc
    raise AssertionError("the call succeeded")


async def events(running: RunningService, subject: str, payload_type):  # type: ignore[no-untyped-def]
    async with running.app.ctx.sessions() as session:
        rows = (
            await session.execute(
                select(outbox.c.subject, outbox.c.envelope)
                .where(outbox.c.subject == subject)
                .order_by(outbox.c.created_at)
            )
        ).all()
    return [unpack(parse_envelope(r.envelope), payload_type) for r in rows]


async def define_fields(fields: cf_grpc.CustomFieldsStub, admin) -> None:  # type: ignore[no-untyped-def]
    for request in (
        cf.DefineFieldRequest(
            entity="customers",
            key="region",
            label="Sales region",
            type="choice",
            options=["north", "south"],
            required=True,
        ),
        cf.DefineFieldRequest(
            entity="customers", key="lines", label="Product lines", type="multi_choice", options=["erp", "crm", "bi"]
        ),
        cf.DefineFieldRequest(entity="customers", key="budget", label="Budget", type="money"),
        cf.DefineFieldRequest(entity="customers", key="since", label="Client since", type="date"),
        cf.DefineFieldRequest(entity="customers", key="buyer", label="Key account rep", type="user"),
        cf.DefineFieldRequest(entity="contacts", key="decision_maker", label="Decides", type="boolean"),
    ):
        await fields.DefineField(request, metadata=admin)


async def test_custom_fields_on_customers_end_to_end(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=CustomersSettings,
        import_seconds=3600,
        export_seconds=3600,
    ) as running:
        async with replica(running) as session:
            await add_user(session, "rep-a", "/c/b1/", roles="")
        api, fields = pb_grpc.CustomersStub(running.channel), cf_grpc.CustomFieldsStub(running.channel)
        rep, admin = who(test_keys, "rep-a"), who(test_keys, "admin", ADMIN)

        # Only custom_fields:manage defines; bad definitions name the field.
        denied = await error(
            fields.DefineField(cf.DefineFieldRequest(entity="customers", key="x", label="X", type="text"), metadata=rep)
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        bad = await error(
            fields.DefineField(
                cf.DefineFieldRequest(entity="customers", key="x", label="X", type="choice"), metadata=admin
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["options"]
        bad = await error(
            fields.DefineField(cf.DefineFieldRequest(entity="leads", key="x", label="X", type="text"), metadata=admin)
        )
        assert field_violations(bad) == ["entity"]
        await define_fields(fields, admin)
        listed = await fields.ListFields(cf.ListFieldsRequest(entity="customers"), metadata=rep)
        assert [f.key for f in listed.fields] == ["budget", "buyer", "lines", "region", "since"]
        assert [
            e.key
            for e in await events(running, "salesgrid.customers.custom_field.defined", CustomFieldDefinitionChanged)
        ][:2] == ["region", "lines"]

        # Values are validated by type; a required field must be filled at creation.
        bad = await error(
            api.CreateCustomer(
                pb.CreateCustomerRequest(
                    legal_name="Acme",
                    custom_fields=struct(
                        lines=["erp", "hr"],
                        budget={"amount": "1.234", "currency": "CNY"},
                        since="2026-02-30",
                        buyer="ghost",
                        nope=1,
                    ),
                ),
                metadata=rep,
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert sorted(field_violations(bad)) == [
            "custom_fields.budget.amount",
            "custom_fields.lines",
            "custom_fields.nope",
            "custom_fields.region",
            "custom_fields.since",
        ]
        bad = await error(
            api.CreateCustomer(
                pb.CreateCustomerRequest(legal_name="Acme", custom_fields=struct(region="north", buyer="ghost")),
                metadata=rep,
            )
        )
        assert field_violations(bad) == ["custom_fields.buyer"]  # not a known user
        acme = (
            await api.CreateCustomer(
                pb.CreateCustomerRequest(
                    legal_name="Acme",
                    custom_fields=struct(
                        region="north",
                        lines=["crm", "erp"],
                        budget={"amount": "12.5", "currency": "CNY"},
                        since="2026-02-01",
                        buyer="rep-a",
                    ),
                ),
                metadata=rep,
            )
        ).customer
        assert values(acme) == {
            "region": "north",
            "lines": ["crm", "erp"],
            "since": "2026-02-01",
            "buyer": "rep-a",
            "budget": {"amount": "12.50", "currency": "CNY"},
        }
        beta = (
            await api.CreateCustomer(
                pb.CreateCustomerRequest(legal_name="Beta", custom_fields=struct(region="south", lines=["bi", "erp"])),
                metadata=rep,
            )
        ).customer
        # Update: keys given are set, null clears; a required field cannot be cleared.
        beta = await api.UpdateCustomer(
            pb.UpdateCustomerRequest(
                id=beta.id, expected_version=beta.version, custom_fields=struct(lines=None, since="2025-01-01")
            ),
            metadata=rep,
        )
        assert values(beta) == {"region": "south", "since": "2025-01-01"}
        bad = await error(
            api.UpdateCustomer(
                pb.UpdateCustomerRequest(id=beta.id, expected_version=beta.version, custom_fields=struct(region=None)),
                metadata=rep,
            )
        )
        assert field_violations(bad) == ["custom_fields.region"]
        # Events carry the values.
        states = await events(running, "salesgrid.customers.customer.updated", CustomerRecordState)
        assert json_format.MessageToDict(states[-1].custom_fields) == {"region": "south", "since": "2025-01-01"}

        # List filters: equality, multi-choice contains, money by amount and currency; all must match.
        async def names(**filters: str) -> list[str]:
            found = await api.ListCustomers(pb.ListCustomersRequest(custom_fields=filters), metadata=rep)
            return sorted(c.legal_name for c in found.customers)

        assert await names(region="north") == ["Acme"]
        assert await names(lines="erp") == ["Acme"]
        assert await names(lines="bi") == []
        assert await names(budget="CNY 12.50") == ["Acme"]
        assert await names(since="2025-01-01", region="south") == ["Beta"]
        assert await names(since="2025-01-01", region="north") == []
        bad = await error(api.ListCustomers(pb.ListCustomersRequest(custom_fields={"lines": "hr"}), metadata=rep))
        assert field_violations(bad) == ["custom_fields.lines"]

        # Contacts: their own fields.
        contact = await api.AddContact(
            pb.AddContactRequest(customer_id=acme.id, full_name="Li Lei", custom_fields=struct(decision_maker="yes")),
            metadata=rep,
        )
        assert values(contact) == {"decision_maker": True}
        bad = await error(
            api.AddContact(
                pb.AddContactRequest(customer_id=acme.id, full_name="Han", custom_fields=struct(region="north")),
                metadata=rep,
            )
        )
        assert field_violations(bad) == ["custom_fields.region"]
        contact_states = await events(running, "salesgrid.customers.customer.contact_created", CustomerContactState)
        assert json_format.MessageToDict(contact_states[-1].custom_fields) == {"decision_maker": True}

        # Import: cf_ columns follow the same rules; unknown cf_ columns refuse the file.
        refused = await error(
            api.StartImport(iter([pb.ImportChunk(format="csv", data=b"legal_name,cf_colour\nX,red\n")]), metadata=rep)
        )
        assert field_violations(refused) == ["header"]
        body = (
            "legal_name,cf_region,cf_lines,cf_budget\nGamma,south,crm|bi,300 CNY\nDelta,west,,\nEpsilon,,,\n"
        ).encode()
        job = await api.StartImport(iter([pb.ImportChunk(format="csv", data=body)]), metadata=rep)
        await usecases_for(running.app.ctx).run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=rep)
        assert (done.created, done.failed) == (1, 2)
        assert sorted((e.row, e.column) for e in done.errors) == [(2, "cf_region"), (3, "cf_region")]
        assert await names(lines="bi") == ["Gamma"]

        # Export: one cf_<key> column per field, cf_ filters.
        exports = ex_grpc.ExportsStub(running.channel)
        job = await exports.CreateExport(
            ex.CreateExportRequest(entity="customers", format="csv", filters={"cf_lines": "crm"}), metadata=rep
        )
        bad = await error(
            exports.CreateExport(
                ex.CreateExportRequest(entity="customers", format="csv", filters={"cf_colour": "red"}), metadata=rep
            )
        )
        assert field_violations(bad) == ["filters.cf_colour"]
        await exports_for(running.app.ctx).run_all()
        chunk = await exports.DownloadExport(ex.DownloadExportRequest(id=job.id, seq=0), metadata=rep)
        rows = list(csv.DictReader(io.StringIO(chunk.data.decode("utf-8-sig"))))
        assert sorted((r["legal_name"], r["cf_lines"], r["cf_budget"], r["cf_region"]) for r in rows) == [
            ("Acme", "crm|erp", "12.50 CNY", "north"),
            ("Gamma", "bi|crm", "300.00 CNY", "south"),
        ]

        # Archive: no new values, stored ones kept (read, filtered); delete refused while values exist.
        held = await error(fields.DeleteField(cf.FieldRef(entity="customers", key="lines"), metadata=admin))
        assert held.code() == grpc.StatusCode.FAILED_PRECONDITION
        archived = await fields.ArchiveField(cf.FieldRef(entity="customers", key="lines"), metadata=admin)
        assert not archived.active and archived.version == 2
        bad = await error(
            api.UpdateCustomer(
                pb.UpdateCustomerRequest(id=acme.id, expected_version=acme.version, custom_fields=struct(lines=["bi"])),
                metadata=rep,
            )
        )
        assert field_violations(bad) == ["custom_fields.lines"]
        acme = await api.GetCustomer(pb.GetCustomerRequest(id=acme.id), metadata=rep)
        assert values(acme)["lines"] == ["crm", "erp"]
        assert await names(lines="erp") == ["Acme"]
        listed = await fields.ListFields(cf.ListFieldsRequest(entity="customers", include_archived=True), metadata=rep)
        assert {f.key: (f.active, f.values_stored) for f in listed.fields}["lines"] == (False, 2)
        restored = await fields.RestoreField(cf.FieldRef(entity="customers", key="lines"), metadata=admin)
        assert restored.active
        # A field without values can be deleted; an update bumps the version and refuses dropping options.
        held = await error(fields.DeleteField(cf.FieldRef(entity="contacts", key="decision_maker"), metadata=admin))
        assert held.code() == grpc.StatusCode.FAILED_PRECONDITION
        await fields.DefineField(
            cf.DefineFieldRequest(entity="contacts", key="hobby", label="Hobby", type="text"), metadata=admin
        )
        await fields.DeleteField(cf.FieldRef(entity="contacts", key="hobby"), metadata=admin)
        changed = await fields.UpdateField(
            cf.UpdateFieldRequest(
                entity="customers",
                key="region",
                expected_version=1,
                set_options=True,
                options=["north", "south", "east"],
            ),
            metadata=admin,
        )
        assert list(changed.options) == ["north", "south", "east"] and changed.version == 2
        bad = await error(
            fields.UpdateField(
                cf.UpdateFieldRequest(
                    entity="customers", key="region", expected_version=2, set_options=True, options=["north"]
                ),
                metadata=admin,
            )
        )
        assert field_violations(bad) == ["options"]
        verbs = [s.rsplit(".", 1)[1] async for s in _subjects(running, "salesgrid.customers.custom_field.")]
        assert verbs.count("archived") == 1 and verbs.count("deleted") == 1 and verbs.count("updated") == 1


async def _subjects(running: RunningService, prefix: str):  # type: ignore[no-untyped-def]
    async with running.app.ctx.sessions() as session:
        for subject in (
            await session.scalars(
                select(outbox.c.subject).where(outbox.c.subject.startswith(prefix)).order_by(outbox.c.created_at)
            )
        ).all():
            yield subject
