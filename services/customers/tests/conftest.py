"""Puts this folder on sys.path: --import-mode=importlib does not, and the import tests share the
service helpers of test_customers_service.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
