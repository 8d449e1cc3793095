"""Stored JSON read back as `json.loads` reads it, parsed by orjson.

The services' JSON columns (tags, custom-field values: canonical JSON with numbers as decimal
strings, bank details, settings) hold strings, booleans, numbers, lists and objects of them;
orjson parses them in a fraction of json.loads's time (on PostgreSQL every JSON value of a page of
customers went through json.loads in asyncpg's codec). Where the two differ, json.loads reads the
text: what orjson refuses (NaN or Infinity, a number too large for a float, a lone surrogate),
and any text with a run of 19 or more digits, since orjson reads an integer outside 64 bits as a
float where json.loads keeps it an int (the check also sends some long decimals and digit strings
to json.loads, which reads them right too)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGIT_BYTES = re.compile(rb"\d{19}")


def json_loads(text: str | bytes) -> Any:
    if (_LONG_DIGIT_BYTES if isinstance(text, bytes) else _LONG_DIGITS).search(text):  # type: ignore[arg-type]
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
