"""Puts this folder on sys.path: --import-mode=importlib does not, and the service tests share the
set-up and builders of expenses_fixtures.py."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
