"""Customer merges: the merged customers' opportunities move to the survivor, keeping every one.

Opportunity names are unique per customer, so a moved opportunity whose name the survivor already
uses gets a suffix (" (merged)", then " (merged 2)", …) instead of being dropped or refused.
"""

from __future__ import annotations

from collections.abc import Set

from ._checks import normalise_key

MAX_NAME = 200


def name_on_survivor(name: str, taken_keys: Set[str]) -> str:
    """`name` unchanged if free among `taken_keys` (normalised names), else the first free suffixed form."""
    if normalise_key(name) not in taken_keys:
        return name
    n = 1
    while True:
        suffix = " (merged)" if n == 1 else f" (merged {n})"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        if normalise_key(candidate) not in taken_keys:
            return candidate
        n += 1
