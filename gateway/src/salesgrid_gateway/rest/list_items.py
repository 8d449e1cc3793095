"""A list reply's items as JSON, each rendered once while it stays in a bounded memo.

The same records are listed again and again (a manager's first page of customers, a console that
polls its lists), and rendering twenty messages to JSON was most of what the gateway did for such a
page beyond the call itself. An item is keyed by its message type and serialized bytes: equal
bytes of one type parse to the same message, which renders to the same JSON, so a remembered
rendering is never stale; a record that changed is other bytes. Its JSON is kept as an
`orjson.Fragment`, written verbatim into the page (`web.dumps` of the page gives the bytes it gave
when every item was a dict: tests/test_list_items.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.message import Message

from salesgrid_common.memo import ContentMemo
from salesgrid_gateway.clients import to_json
from salesgrid_gateway.web import json_fragment

MAX_ITEMS = 2048  # rendered items per worker: a hundred pages of twenty, about a megabyte
_rendered: ContentMemo[tuple[type, bytes], Any] = ContentMemo(None, MAX_ITEMS)


def rendered_items(listed: Iterable[Message]) -> list[Any]:
    """The items of a page, each a JSON fragment for `web.dumps`."""
    get, put = _rendered.get, _rendered.put
    out = []
    for item in listed:
        key = (type(item), item.SerializeToString())
        found = get(key)
        if found is None:
            found = put(key, json_fragment(to_json(item)))
        out.append(found)
    return out
