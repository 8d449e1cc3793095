"""Org paths are the shared kernel's (salesgrid_common.orgpaths): one parser for the platform."""

from salesgrid_common.orgpaths import (
    BRANCH_DEPTH,
    COMPANY_DEPTH,
    REGION_DEPTH,
    ROOT,
    TEAM_DEPTH,
    depth,
    is_within,
    normalize,
    parent,
    segments,
    stored,
    truncate,
)

__all__ = [
    "BRANCH_DEPTH",
    "COMPANY_DEPTH",
    "REGION_DEPTH",
    "ROOT",
    "TEAM_DEPTH",
    "depth",
    "is_within",
    "normalize",
    "parent",
    "segments",
    "stored",
    "truncate",
]
