"""`make lint` (and so `make test`): ruff's lint rules over the repository, and mypy --strict over
libs/common and every service's domain/ package (configuration: pyproject.toml). Exits non-zero
on any finding, including a file `ruff format` would change (`make format` applies it)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def domain_packages() -> list[str]:
    roster = tomllib.loads((ROOT / "services" / "roster.toml").read_text(encoding="utf-8"))
    return [f"salesgrid_{entry['name']}.domain" for entry in roster["service"]]


def main() -> int:
    failed = 0
    commands = [
        [str(BIN / "ruff"), "check", "--quiet", "."],
        [str(BIN / "ruff"), "format", "--check", "--quiet", "."],
        [str(BIN / "mypy"), "-p", "salesgrid_common", *(arg for p in domain_packages() for arg in ("-p", p))],
    ]
    for command in commands:
        print("+", " ".join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command)), flush=True)
        failed |= subprocess.run(command, cwd=ROOT, check=False).returncode
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
