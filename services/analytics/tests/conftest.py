"""Puts these folders on sys.path: --import-mode=importlib does not, and the tests import the
builders (domain/analytics_factories.py) and the shared event sequence (test_analytics_service.py)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "domain")]
