"""Puts this folder on sys.path (--import-mode=importlib does not): the webhooks tests share the
service set-up and builders of webhooks_fixtures.py."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
