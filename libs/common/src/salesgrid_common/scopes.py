"""Data scopes of a permission (part of the pure shared kernel: domain code names a scope from
here without importing JWT or SQL code; `salesgrid_common.auth` holds the principal and tokens)."""

from __future__ import annotations

import enum


class Scope(enum.IntEnum):
    """Data scope of a permission, ordered from narrowest to widest."""

    OWN = 1
    TEAM = 2
    SUBTREE = 3
    ALL = 4

    @classmethod
    def parse(cls, value: str) -> "Scope":
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown data scope {value!r}; expected own, team, subtree or all") from None
