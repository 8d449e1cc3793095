"""Custom fields on opportunities through gRPC on SQLite and PostgreSQL: per business line,
validated on create and update, carried in events, filtered in lists, exported, and required by a
stage gate (a missing value is a recorded gate violation; an archived field no longer gates)."""

from __future__ import annotations

import csv
import io

import grpc
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from salesgrid.common.v1 import custom_fields_pb2 as cf
from salesgrid.common.v1 import custom_fields_pb2_grpc as cf_grpc
from salesgrid.common.v1 import exports_pb2 as ex
from salesgrid.common.v1 import exports_pb2_grpc as ex_grpc
from salesgrid.events.v1.pipeline_events_pb2 import PipelineGateViolated, PipelineLeadState, PipelineOpportunityState
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.exports.wiring import export_jobs
from salesgrid_dev.testing import bearer, eventually, field_violations, principal
from salesgrid_pipeline.exports import EXPORTERS
from test_pipeline_lead_imports import import_leads_file
from pipeline_fixtures import (  # noqa: F401 - fixtures
    REP_PERMS,
    START,
    customers_service,
    events,
    expect_error,
    money,
    new_customer,
    pipeline,
    services_model,
)

PERMS = {**REP_PERMS, "custom_fields:read": "all", "opportunities:export": "own"}
ADMIN = {**PERMS, "custom_fields:manage": "all", "stage_models:update": "all"}


def struct(**values: object) -> Struct:
    s = Struct()
    s.update(values)
    return s


async def _ready(exports: ex_grpc.ExportsStub, job_id: str, who) -> bool:  # type: ignore[no-untyped-def]
    return (await exports.GetExport(ex.GetExportRequest(id=job_id), metadata=who)).status == "ready"


async def test_opportunity_custom_fields_filters_events_and_gates(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:  # noqa: F811
    async with pipeline(database_url, nats_url, test_keys, customers_addr=customers_service.address) as running:
        api, fields = pb_grpc.PipelineStub(running.channel), cf_grpc.CustomFieldsStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=PERMS)))
        admin = bearer(test_keys.token(principal("dir-1", org_path="/c/", permissions=ADMIN)))
        customer = await new_customer(customers_service, rep, "华东精密机械有限公司")

        # the services business line: its proposal gate needs the tender number custom field
        model = services_model()
        model.stages[2].required_custom_fields.append("tender_no")
        await api.PutStageModel(pb.PutStageModelRequest(model=model), metadata=admin)
        bad = services_model()
        bad.stages[1].required_custom_fields.append("Not A Key")
        error = await expect_error(
            api.PutStageModel(pb.PutStageModelRequest(model=bad), metadata=admin), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert field_violations(error) == ["stages[1].required_custom_fields"]
        assert list(
            (await api.GetStageModel(pb.GetStageModelRequest(code="services"), metadata=rep))
            .stages[2]
            .required_custom_fields
        ) == ["tender_no"]

        await fields.DefineField(
            cf.DefineFieldRequest(
                entity="opportunities", key="tender_no", label="Tender number", type="text", business_lines=["services"]
            ),
            metadata=admin,
        )
        await fields.DefineField(
            cf.DefineFieldRequest(
                entity="opportunities",
                key="segment",
                label="Segment",
                type="choice",
                options=["smb", "enterprise"],
                required=True,
            ),
            metadata=admin,
        )
        await fields.DefineField(
            cf.DefineFieldRequest(entity="opportunities", key="seats", label="Seats", type="number"), metadata=admin
        )
        bad_line = await expect_error(
            fields.DefineField(
                cf.DefineFieldRequest(entity="leads", key="x", label="X", type="text", business_lines=["services"]),
                metadata=admin,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert field_violations(bad_line) == ["business_lines"]

        def create(name: str, stage_model: str = "", **values: object) -> pb.CreateOpportunityRequest:
            return pb.CreateOpportunityRequest(
                customer_id=customer,
                name=name,
                amount=money("1000"),
                expected_close_date="2026-09-30",
                stage_model=stage_model,
                custom_fields=struct(**values),
            )

        # required, typed, per business line
        error = await expect_error(
            api.CreateOpportunity(create("A", seats="many"), metadata=rep), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert sorted(field_violations(error)) == ["custom_fields.seats", "custom_fields.segment"]
        error = await expect_error(
            api.CreateOpportunity(create("A", segment="smb", tender_no="T-1"), metadata=rep),
            grpc.StatusCode.INVALID_ARGUMENT,
        )  # the default line has no tender numbers
        assert field_violations(error) == ["custom_fields.tender_no"]
        plain = await api.CreateOpportunity(create("A", segment="smb", seats=25), metadata=rep)
        assert json_format.MessageToDict(plain.custom_fields) == {"segment": "smb", "seats": "25"}
        deal = await api.CreateOpportunity(create("B", "services", segment="enterprise"), metadata=rep)

        # the gate: advancing into proposal without the tender number is refused and recorded
        error = await expect_error(
            api.AdvanceOpportunity(
                pb.AdvanceOpportunityRequest(
                    id=deal.id, target_stage="proposal", facts=[pb.Fact(code="po_number", text="PO-9")]
                ),
                metadata=rep,
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert "custom_fields.tender_no" in field_violations(error)
        violated = await events(running, "salesgrid.pipeline.gate.violated", PipelineGateViolated)
        assert list(violated[-1].missing_facts) == ["custom_fields.tender_no"]
        deal = await api.UpdateOpportunity(
            pb.UpdateOpportunityRequest(
                id=deal.id, expected_version=deal.version, custom_fields=struct(tender_no="T-2026-17", seats="3.50")
            ),
            metadata=rep,
        )
        assert json_format.MessageToDict(deal.custom_fields) == {
            "segment": "enterprise",
            "tender_no": "T-2026-17",
            "seats": "3.5",
        }
        deal = await api.AdvanceOpportunity(
            pb.AdvanceOpportunityRequest(
                id=deal.id, target_stage="proposal", facts=[pb.Fact(code="po_number", text="PO-9")]
            ),
            metadata=rep,
        )
        assert deal.stage == "proposal"
        states = await events(running, "salesgrid.pipeline.opportunity.stage_changed", PipelineOpportunityState)
        assert json_format.MessageToDict(states[-1].custom_fields)["tender_no"] == "T-2026-17"

        # list filters
        async def names(**filters: str) -> list[str]:
            found = await api.ListOpportunities(pb.ListOpportunitiesRequest(custom_fields=filters), metadata=rep)
            return sorted(o.name for o in found.opportunities)

        assert await names(segment="smb") == ["A"]
        assert await names(seats="3.5") == ["B"]
        assert await names(tender_no="t-2026-17") == ["B"]  # text compares case-insensitively
        assert await names(segment="enterprise", seats="25") == []
        error = await expect_error(
            api.ListOpportunities(pb.ListOpportunitiesRequest(custom_fields={"seats": "x"}), metadata=rep),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert field_violations(error) == ["custom_fields.seats"]

        # export: cf_ columns and filters
        exports = ex_grpc.ExportsStub(running.channel)
        job = await exports.CreateExport(
            ex.CreateExportRequest(entity="opportunities", format="csv", filters={"cf_segment": "enterprise"}),
            metadata=rep,
        )
        await export_jobs(running.app.ctx, "pipeline", EXPORTERS).run_all()
        await eventually(lambda: _ready(exports, job.id, rep))
        chunk = await exports.DownloadExport(ex.DownloadExportRequest(id=job.id, seq=0), metadata=rep)
        rows = list(csv.DictReader(io.StringIO(chunk.data.decode("utf-8-sig"))))
        assert [(r["name"], r["cf_segment"], r["cf_seats"], r["cf_tender_no"]) for r in rows] == [
            ("B", "enterprise", "3.5", "T-2026-17")
        ]

        # an archived field no longer gates (it takes no values), and its values stay
        other = await api.CreateOpportunity(create("C", "services", segment="smb"), metadata=rep)
        await fields.ArchiveField(cf.FieldRef(entity="opportunities", key="tender_no"), metadata=admin)
        other = await api.AdvanceOpportunity(
            pb.AdvanceOpportunityRequest(
                id=other.id, target_stage="proposal", facts=[pb.Fact(code="po_number", text="PO-10")]
            ),
            metadata=rep,
        )
        assert other.stage == "proposal"
        kept = await api.GetOpportunity(pb.GetOpportunityRequest(id=deal.id), metadata=rep)
        assert json_format.MessageToDict(kept.custom_fields)["tender_no"] == "T-2026-17"


async def test_lead_custom_fields_create_list_import_and_events(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:  # noqa: F811
    async with pipeline(database_url, nats_url, test_keys, customers_addr=customers_service.address) as running:
        api, fields = pb_grpc.PipelineStub(running.channel), cf_grpc.CustomFieldsStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=PERMS)))
        admin = bearer(test_keys.token(principal("dir-1", org_path="/c/", permissions=ADMIN)))
        await fields.DefineField(
            cf.DefineFieldRequest(
                entity="leads", key="channel", label="Channel", type="choice", options=["fair", "web"], required=True
            ),
            metadata=admin,
        )
        await fields.DefineField(
            cf.DefineFieldRequest(entity="leads", key="met_on", label="Met on", type="date"), metadata=admin
        )

        error = await expect_error(
            api.CreateLead(pb.CreateLeadRequest(company_name="甲公司"), metadata=rep), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert field_violations(error) == ["custom_fields.channel"]
        lead = await api.CreateLead(
            pb.CreateLeadRequest(company_name="甲公司", custom_fields=struct(channel="fair", met_on="2026-03-01")),
            metadata=rep,
        )
        assert json_format.MessageToDict(lead.custom_fields) == {"channel": "fair", "met_on": "2026-03-01"}
        created = await events(running, "salesgrid.pipeline.lead.created", PipelineLeadState)
        assert json_format.MessageToDict(created[-1].custom_fields)["channel"] == "fair"
        stale = await expect_error(
            api.UpdateLeadCustomFields(
                pb.UpdateLeadCustomFieldsRequest(
                    id=lead.id, expected_version=lead.version + 5, custom_fields=struct(met_on=None)
                ),
                metadata=rep,
            ),
            grpc.StatusCode.ABORTED,
        )
        assert field_violations(stale) == ["expected_version"]
        error = await expect_error(
            api.UpdateLeadCustomFields(
                pb.UpdateLeadCustomFieldsRequest(
                    id=lead.id, expected_version=lead.version, custom_fields=struct(channel=None)
                ),
                metadata=rep,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert field_violations(error) == ["custom_fields.channel"]  # required: cannot be cleared
        lead = await api.UpdateLeadCustomFields(
            pb.UpdateLeadCustomFieldsRequest(
                id=lead.id, expected_version=lead.version, custom_fields=struct(met_on=None, channel="web")
            ),
            metadata=rep,
        )
        assert json_format.MessageToDict(lead.custom_fields) == {"channel": "web"}
        changed = await events(running, "salesgrid.pipeline.lead.custom_fields_changed", PipelineLeadState)
        assert json_format.MessageToDict(changed[-1].custom_fields) == {"channel": "web"}
        lead = await api.UpdateLeadCustomFields(
            pb.UpdateLeadCustomFieldsRequest(
                id=lead.id, expected_version=lead.version, custom_fields=struct(channel="fair", met_on="2026-03-01")
            ),
            metadata=rep,
        )

        imported = await import_leads_file(
            running, "company_name,cf_channel\n乙公司,web\n丙公司,tv\n丁公司,\n".encode(), rep
        )
        assert imported.created == 1
        assert [(e.row, e.column) for e in imported.errors] == [(2, "cf_channel"), (3, "cf_channel")]

        async def names(**filters: str) -> list[str]:
            found = await api.ListLeads(pb.ListLeadsRequest(custom_fields=filters), metadata=rep)
            return sorted(lead.company_name for lead in found.leads)

        assert await names(channel="web") == ["乙公司"]
        assert await names(channel="fair", met_on="2026-03-01") == ["甲公司"]
