"""Puts this folder on sys.path: --import-mode=importlib does not, and the tests share the
fixtures and builders of pipeline_fixtures.py."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
