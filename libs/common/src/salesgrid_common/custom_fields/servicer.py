"""The salesgrid.common.v1.CustomFields servicer every service owning custom-field entities
registers."""

from __future__ import annotations

from typing import Any

import grpc

from salesgrid.common.v1 import custom_fields_pb2 as pb
from salesgrid.common.v1 import custom_fields_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.custom_fields.registry import CustomFieldRegistry
from salesgrid_common.protos import to_timestamp


def definition_pb(row: Any, values_stored: int = 0) -> pb.FieldDefinition:
    return pb.FieldDefinition(
        entity=row.entity,
        key=row.key,
        label=row.label,
        type=row.type,
        required=row.required,
        options=list(row.options or ()),
        business_lines=list(row.business_lines or ()),
        active=row.active,
        version=row.version,
        values_stored=values_stored,
        created_at=to_timestamp(row.created_at),
        updated_at=to_timestamp(row.updated_at),
    )


class CustomFieldsServicer(pb_grpc.CustomFieldsServicer):
    def __init__(self, registry: CustomFieldRegistry) -> None:
        self.registry = registry

    async def DefineField(
        self, request: pb.DefineFieldRequest, context: grpc.aio.ServicerContext
    ) -> pb.FieldDefinition:
        return definition_pb(
            await self.registry.define(
                caller(),
                request.entity,
                request.key,
                request.label,
                request.type,
                required=request.required,
                options=list(request.options),
                business_lines=list(request.business_lines),
            )
        )

    async def UpdateField(
        self, request: pb.UpdateFieldRequest, context: grpc.aio.ServicerContext
    ) -> pb.FieldDefinition:
        return definition_pb(
            await self.registry.change(
                caller(),
                request.entity,
                request.key,
                request.expected_version,
                label=request.label if request.HasField("label") else None,
                required=request.required if request.HasField("required") else None,
                options=list(request.options) if request.set_options else None,
                business_lines=list(request.business_lines) if request.set_business_lines else None,
            )
        )

    async def ListFields(
        self, request: pb.ListFieldsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFieldsResponse:
        found = await self.registry.list(caller(), request.entity, request.include_archived)
        return pb.ListFieldsResponse(fields=[definition_pb(row, held) for row, held in found])

    async def ArchiveField(self, request: pb.FieldRef, context: grpc.aio.ServicerContext) -> pb.FieldDefinition:
        return definition_pb(await self.registry.set_active(caller(), request.entity, request.key, False))

    async def RestoreField(self, request: pb.FieldRef, context: grpc.aio.ServicerContext) -> pb.FieldDefinition:
        return definition_pb(await self.registry.set_active(caller(), request.entity, request.key, True))

    async def DeleteField(self, request: pb.FieldRef, context: grpc.aio.ServicerContext) -> pb.DeleteFieldResponse:
        await self.registry.remove(caller(), request.entity, request.key)
        return pb.DeleteFieldResponse()


def register(server: grpc.aio.Server, registry: CustomFieldRegistry) -> str:
    pb_grpc.add_CustomFieldsServicer_to_server(CustomFieldsServicer(registry), server)  # type: ignore[no-untyped-call]
    return pb.DESCRIPTOR.services_by_name["CustomFields"].full_name
