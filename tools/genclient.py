"""Generate the typed Python client for partners from the gateway's OpenAPI document with
openapi-python-client: `python tools/genclient.py [output dir]` (make client). The package
`salesgrid_client` lands in clients/python/ by default; it is generated, not committed, like the
protobuf code, so it always matches the API it is built with."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "clients" / "python"
PACKAGE = "salesgrid_client"


def openapi_document() -> dict:  # type: ignore[type-arg]
    from salesgrid_gateway.app import create_app
    from salesgrid_gateway.settings import GatewaySettings

    return create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1")).openapi_document()


def generate(out_dir: Path = DEFAULT_OUT) -> Path:
    """Write `<out_dir>/salesgrid_client` and return its path."""
    target = out_dir / PACKAGE
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "openapi.json"
        spec.write_text(json.dumps(openapi_document()))
        config = Path(scratch) / "config.json"
        config.write_text(json.dumps({"package_name_override": PACKAGE, "project_name_override": "salesgrid-client"}))
        generated = Path(scratch) / "out"
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "openapi-python-client"),
                "generate",
                "--path",
                str(spec),
                "--config",
                str(config),
                "--meta",
                "none",
                "--output-path",
                str(generated),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not (generated / "client.py").exists():
            raise RuntimeError(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(generated, target)
    return target


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT))
