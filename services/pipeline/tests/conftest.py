"""Puts this folder on sys.path: --import-mode=importlib does not, and the stage-model and merge
tests reuse the service test's fixtures and builders (test_pipeline_service.py)."""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]
