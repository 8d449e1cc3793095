"""Puts this folder on sys.path: --import-mode=importlib does not, and the service tests share the
people, permissions and World of activities_fixtures.py and the inbox tests the set-up of
activities_inbox_fixtures.py."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
