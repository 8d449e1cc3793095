"""Puts this folder on sys.path: --import-mode=importlib does not, and the gRPC tests share the
identity set-up and helpers of identity_fixtures.py."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
