"""Puts this folder on sys.path: --import-mode=importlib does not, and the tests import the
builders of contracts_fixtures.py (the channel tests also reuse test_contracts_service.py's
platform fixture)."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
