"""rest/list_items.py: a page whose items come from the rendering memo is written byte for byte as
the page of freshly rendered dicts is, for the item types of every list route filled at random, the first time
(rendered and remembered) and the next (from the memo); an item that changed is rendered afresh;
messages of two types with the same bytes render as their own types."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_render import MESSAGES, _fill

from salesgrid.customers.v1 import customers_pb2
from salesgrid.pipeline.v1 import pipeline_pb2
from salesgrid_gateway.app import route_modules
from salesgrid_gateway.clients import to_json
from salesgrid_gateway.rest import list_items
from salesgrid_gateway.rest.list_items import rendered_items
from salesgrid_gateway.web import dumps


def _item_types() -> list[type[Message]]:
    """The message types the list routes render as items (route.items of each pass-through)."""
    by_name = {cls.DESCRIPTOR.full_name: cls for cls in MESSAGES}
    names = {
        route.method_descriptor.output_type.fields_by_name[route.items].message_type.full_name
        for module in route_modules()
        for route in module.ROUTES
        if route.items and route.method_descriptor is not None and not route.item_name
    }
    return [by_name[name] for name in sorted(names)]


ITEM_TYPES = _item_types()


def test_the_list_routes_item_types_are_found() -> None:
    assert len(ITEM_TYPES) > 30 and customers_pb2.Customer in ITEM_TYPES


def page(items: list[Any]) -> bytes:
    return dumps({"items": items, "next_cursor": "c\u00e9"})


@pytest.mark.parametrize("cls", ITEM_TYPES, ids=lambda c: c.DESCRIPTOR.full_name)
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_page_from_the_memo_is_the_page_of_fresh_renderings(cls: type[Message], data: st.DataObject) -> None:
    listed = [cls() for _ in range(3)]
    for item in listed:
        _fill(item, data.draw, 0)
    fresh = page([to_json(item) for item in listed])
    assert page(rendered_items(listed)) == fresh  # rendered, then remembered
    assert page(rendered_items(listed)) == fresh  # from the memo


def test_an_item_that_changed_is_rendered_afresh_and_the_memo_stays_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    customer = customers_pb2.Customer(id="c-1", legal_name="Acme", version=3)
    customer.custom_fields.update({"k": 1})
    rendered_items([customer])
    customer.custom_fields.update({"k": 2})  # the same id and version, another value
    assert page(rendered_items([customer])) == page([to_json(customer)])
    assert b'"k":2' in page(rendered_items([customer]))
    many = [customers_pb2.Customer(id=f"c-{n}") for n in range(list_items.MAX_ITEMS + 50)]
    assert page(rendered_items(many)) == page([to_json(item) for item in many])
    assert len(list_items._rendered) == list_items.MAX_ITEMS


def test_two_types_with_the_same_bytes_render_as_their_own() -> None:
    customer, opportunity = customers_pb2.Customer(id="x-1"), pipeline_pb2.Opportunity(id="x-1")
    assert customer.SerializeToString() == opportunity.SerializeToString()
    assert page(rendered_items([customer])) == page([to_json(customer)])
    assert page(rendered_items([opportunity])) == page([to_json(opportunity)])
    assert page([to_json(customer)]) != page([to_json(opportunity)])
