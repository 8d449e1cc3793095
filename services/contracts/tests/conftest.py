"""Puts this folder on sys.path: --import-mode=importlib does not, and the tests import the
builders of contracts_fixtures.py and the gRPC tests the platform fixture of
contracts_service_fixtures.py."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
