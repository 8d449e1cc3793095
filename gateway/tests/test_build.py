"""rest/build.py builds exactly the request message json_format.ParseDict builds, or leaves the
values to ParseDict: over every message of every Salesgrid API, with JSON values of the right
and of the wrong types drawn at random for its fields, and for the shapes it leaves alone."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesgrid
from salesgrid.activities.v1 import activities_pb2
from salesgrid.customers.v1 import customers_pb2
from salesgrid_gateway.clients import from_json
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest.build import build

REQUESTS = sorted(
    {
        method.input_type.full_name: method.input_type
        for base in map(Path, salesgrid.__path__)
        for path in sorted(base.rglob("*_pb2.py"))
        for service in importlib.import_module(
            ".".join(("salesgrid", *path.relative_to(base).with_suffix("").parts))
        ).DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }.items()
)
ANY_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(),
    st.text(max_size=5),
    st.sampled_from(["\ud800", "2026-12-01T08:00:00Z", "2026-12-01T08:00:00.5+08:00", "2026-13-01T00:00:00Z"]),
    st.lists(st.text(max_size=3), max_size=2),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _fitting(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Values ParseDict takes for `field` (or close to it: edges, enum names)."""
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return st.sampled_from([v.name for v in field.enum_type.values] + ["NOT_A_NAME"])
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=6)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64):
        return st.sampled_from([0, -1, 2**31 - 1, -(2**31), 2**31, 2**63 - 1, -(2**63)])
    if field.cpp_type in (FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64):
        return st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**64 - 1, -1])
    if field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
        return st.sampled_from(["2026-12-01T08:00:00Z", "2026-12-01T08:00:00.5+08:00", "2026-13-01T00:00:00Z", ""])
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)
    return ANY_JSON


@st.composite
def bodies(draw: Any, descriptor: Any) -> dict[str, Any]:
    """Half the bodies hold only fitting values under the fields' names, the others also values
    of any JSON type, camelCase names and unknown members."""
    mixed = draw(st.booleans())
    body: dict[str, Any] = {}
    for field in descriptor.fields:
        if draw(st.integers(0, 2)) == 0:
            continue
        fitting = _fitting(field)
        if field.is_repeated and not (field.message_type and field.message_type.GetOptions().map_entry):
            fitting = st.lists(fitting, max_size=2)
        value = draw(ANY_JSON if mixed and draw(st.integers(0, 3)) == 0 else fitting)
        body[field.camelcase_name if mixed and draw(st.integers(0, 9)) == 0 else field.name] = value
    if mixed and draw(st.integers(0, 9)) == 0:
        body["no_such_field"] = "x"
    return body


@pytest.mark.parametrize("name, descriptor", REQUESTS, ids=[name for name, _ in REQUESTS])
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_built_as_parse_dict_builds(name: str, descriptor: Any, data: st.DataObject) -> None:
    cls = _class_of(descriptor)
    body = data.draw(bodies(descriptor))
    built = build(cls, body)
    if built is not None:
        assert built == json_format.ParseDict(body, cls())
        assert built.SerializeToString(deterministic=True) == json_format.ParseDict(body, cls()).SerializeToString(
            deterministic=True
        )


def _class_of(descriptor: Any) -> type[Message]:
    module = importlib.import_module(descriptor.file.name.replace("/", ".").removesuffix(".proto") + "_pb2")
    return getattr(module, descriptor.name)  # type: ignore[no-any-return]


def test_the_hot_requests_are_built_directly() -> None:
    follow_up = {"kind": "call", "occurred_at": "2026-12-01T08:00:00Z", "notes": "注", "customer_id": "c1"}
    built = build(activities_pb2.LogFollowUpRequest, follow_up)
    assert built == json_format.ParseDict(follow_up, activities_pb2.LogFollowUpRequest())
    listing = {"page_size": 20, "cursor": "", "custom_fields": {"region": "east"}, "include_total": True, "query": "a"}
    built = build(customers_pb2.ListCustomersRequest, listing)
    assert built == json_format.ParseDict(listing, customers_pb2.ListCustomersRequest())
    assert built is not None and built.custom_fields["region"] == "east" and built.page_size == 20


@pytest.mark.parametrize(
    "values",
    [
        {"page_size": True},  # a bool is not an integer to ParseDict
        {"page_size": 2**31},  # out of the field's range
        {"page_size": 20.0},  # ParseDict takes it; left to it
        {"page_size": "20"},
        {"cursor": None},
        {"cursor": 3},
        {"cursor": "\ud800"},  # an unpaired surrogate ParseDict refuses
        {"pageSize": 20},  # a JSON (camelCase) name
        {"no_such_field": "x"},
        {"updated_since": "yesterday"},
        {"updated_since": 5},
        {"custom_fields": {"a": 1}},
        {"custom_fields": ["a"]},
        {"include_total": "true"},
    ],
)
def test_other_shapes_are_left_to_parse_dict(values: dict[str, Any]) -> None:
    assert build(customers_pb2.ListCustomersRequest, values) is None


def test_refusals_still_name_the_field() -> None:
    with pytest.raises(ApiProblem) as refused:
        from_json(customers_pb2.ListCustomersRequest, {"updated_since": "yesterday"})
    assert refused.value.status == 400 and refused.value.errors[0]["field"] == "updated_since"
    with pytest.raises(ApiProblem) as refused:
        from_json(customers_pb2.ListCustomersRequest, {"nope": 1})
    assert refused.value.errors[0] == {"field": "nope", "message": "nope: no such field"}
