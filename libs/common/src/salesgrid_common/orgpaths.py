"""Org paths: an org unit's position in the tree, e.g. "/acme/east/shanghai/team-1/".

The one parser of the platform (part of the pure shared kernel). Segments are unit ids, root first;
prefix checks are per segment so "/acme/east" does not contain "/acme/eastern". Depth 1 is the
company, 2 a region, 3 a branch, 4 a team (the tree may be deeper).

Two spellings of one path exist and both are produced here: the *stored* form identity publishes
and every service keeps in its rows and tokens ("/acme/east/", a trailing slash, so a plain string
prefix is also a subtree test), and the *normal* form used in memory by analytics' rules ("/acme/east",
no trailing slash; "/" for the root). `segments` reads either.
"""

from __future__ import annotations

from salesgrid_common.errors import ValidationFailed

ROOT = "/"
COMPANY_DEPTH = 1
REGION_DEPTH = 2
BRANCH_DEPTH = 3
TEAM_DEPTH = 4


def normalize(path: str, field: str = "org_path") -> str:
    """Return the canonical form ("/a/b", no trailing slash; "/" for the root) or raise."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValidationFailed("org path must start with '/'", field)
    stripped = path.strip("/")
    if not stripped:
        return ROOT
    segments = stripped.split("/")
    if any(not s or s != s.strip() for s in segments):
        raise ValidationFailed(f"org path {path!r} has an empty or padded segment", field)
    return "/" + "/".join(segments)


def segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("/") if s)


def depth(path: str) -> int:
    return len(segments(path))


def is_within(path: str, prefix: str) -> bool:
    """True when `path` is `prefix` itself or one of its descendants."""
    own, anc = segments(path), segments(prefix)
    return own[: len(anc)] == anc


def parent(path: str) -> str | None:
    own = segments(path)
    if not own:
        return None
    return "/" + "/".join(own[:-1]) if len(own) > 1 else ROOT


def truncate(path: str, to_depth: int) -> str:
    """The ancestor of `path` at `to_depth` (the path itself when it is shallower)."""
    own = segments(path)[:to_depth]
    return "/" + "/".join(own) if own else ROOT


def stored(path: str) -> str:
    """The stored form of `path` ("/a/b/"; "/" for the root), after validating it as `normalize` does."""
    normal = normalize(path)
    return normal if normal == ROOT else normal + "/"


def units_nearest_first(path: str) -> list[str]:
    """The unit ids of `path`, the unit itself first, then its ancestors up to the company (the
    order in which the nearest unit's setting wins)."""
    return list(reversed(segments(path)))


def ancestor_paths(path: str) -> list[str]:
    """ "/c/r1/b1/" -> ["/c/", "/c/r1/", "/c/r1/b1/"]: the stored paths of the unit and every unit
    above it, root first."""
    parts = segments(path)
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
