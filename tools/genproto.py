"""Generate Python code for every .proto under proto/ (the one command behind `make proto`).

Output lands next to each .proto so the `salesgrid-proto` package serves every consumer.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc
import grpc_tools

PROTO_ROOT = Path(__file__).resolve().parent.parent / "proto"


def main() -> int:
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    if not sources:
        print(f"no .proto files under {PROTO_ROOT}", file=sys.stderr)
        return 1
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={PROTO_ROOT}",
        f"--pyi_out={PROTO_ROOT}",
        f"--grpc_python_out={PROTO_ROOT}",
        *sources,
    ]
    code = protoc.main(args)
    if code != 0:
        print("protoc failed", file=sys.stderr)
        return code
    # protoc does not write package markers; namespace packages below `salesgrid` need none.
    print(f"generated {len(sources)} proto files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
