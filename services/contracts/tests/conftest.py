"""Puts this folder on sys.path: --import-mode=importlib does not, and the channel tests reuse the
service test's fixtures and helpers (test_contracts_service.py)."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
