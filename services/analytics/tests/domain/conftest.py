"""Puts this folder on sys.path: --import-mode=importlib does not, and the tests import the builders."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
