"""requirements.lock pins every third-party package our packages need (make setup installs with it
as the constraint): a dependency added to a pyproject.toml without `make lock` fails here."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = {"pip", "setuptools", "wheel"}  # the venv's own tools (pip freeze leaves them out)


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not a pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def _needed() -> set[str]:
    """Every distribution our installed packages require, transitively (extras not taken)."""
    ours = {
        canonicalize_name(d.metadata["Name"])
        for d in metadata.distributions()
        if re.match(r"salesgrid", d.metadata["Name"] or "")
    }
    seen: set[str] = set()
    todo = list(ours)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen - ours - BOOTSTRAP


def test_every_dependency_is_pinned_at_the_installed_version() -> None:
    pins = _pins()
    missing = sorted(_needed() - set(pins))
    assert missing == [], "run `make lock`"
    drifted = {name: (pins[name], metadata.version(name)) for name in _needed() if metadata.version(name) != pins[name]}
    assert drifted == {}, "the venv differs from requirements.lock: run `make setup` (or `make lock`)"
