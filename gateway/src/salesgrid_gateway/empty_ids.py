"""A URL built with an empty id loses that segment on the way (`/v1/opportunities//regress` is
sent as `/v1/opportunities/regress`) and then names another route, which answers 405 for the
method. Such a request is the operation it was meant for with an empty id: 404, like any id that
names no record (Schemathesis follows an empty `opportunity_id` of one answer into the next call)."""

from __future__ import annotations

import re
from functools import lru_cache

from werkzeug.routing import Map

_PARAMETER = re.compile(r"/<(?:[^:>]+:)?[^>]+>")


@lru_cache(maxsize=512)
def _pattern(rule: str) -> re.Pattern[str]:
    """The rule's paths with any of its inner parameter segments left out (a last one left out is
    the collection's own URL, where 405 is the right answer)."""
    parts = _PARAMETER.split(rule)
    pattern = ""
    for index, part in enumerate(parts[:-1]):
        last = index == len(parts) - 2 and not parts[-1]
        pattern += re.escape(part) + ("/[^/]+" if last else "(?:/[^/]+)?")
    return re.compile(pattern + re.escape(parts[-1]) + "$")


def names_an_empty_id(url_map: Map, path: str, method: str) -> bool:
    """Whether `path` is a route for `method` with at least one parameter segment empty."""
    for rule in url_map.iter_rules():
        if method in (rule.methods or ()) and "<" in rule.rule and _pattern(rule.rule).match(path):
            return True
    return False
