"""Plugging custom fields into a service: one registry per process (in ctx.extras) and its servicer."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from salesgrid_common.custom_fields.registry import CustomFieldRegistry, EntitySpec
from salesgrid_common.custom_fields.servicer import register
from salesgrid_common.service_context import ServiceContext


def custom_field_registry(ctx: ServiceContext, entities: Sequence[EntitySpec]) -> CustomFieldRegistry:
    """The process's registry; its events are named after the service's own outbox (its producer)."""
    if "custom_fields" not in ctx.extras:
        ctx.extras["custom_fields"] = CustomFieldRegistry(ctx.sessions, ctx.reader, ctx.outbox, ctx.clock, entities)
    return ctx.extras["custom_fields"]  # type: ignore[no-any-return]


def register_custom_fields(server: grpc.aio.Server, ctx: ServiceContext, entities: Sequence[EntitySpec]) -> str:
    """Serve salesgrid.common.v1.CustomFields for `entities`; returns the service name (reflection)."""
    return register(server, custom_field_registry(ctx, entities))
