"""Puts the services' test folders on sys.path (--import-mode=importlib does not): the gateway's
tests that drive a real service seed it and make its tokens with that service's own test helpers
(tests/test_<service>_*.py) rather than a copy of them; and this folder, whose tests share the
random message filling of test_render.py."""

import sys
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
for folder in [Path(__file__).resolve().parent, *sorted(SERVICES.glob("*/tests"))]:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
