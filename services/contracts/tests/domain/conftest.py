"""Makes the shared builders importable as `contracts_builders` under --import-mode=importlib
(which puts no test directory on sys.path); the name is service-prefixed so it cannot clash."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if "contracts_builders" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "contracts_builders", Path(__file__).with_name("contracts_builders.py")
    )
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["contracts_builders"] = _module
    _spec.loader.exec_module(_module)
