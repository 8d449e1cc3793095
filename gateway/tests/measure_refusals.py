"""How often the API refuses requests its own document says are valid: for every operation,
draw schema-valid requests (Schemathesis, positive mode, derandomized), send them as an admin to
an embedded platform and count the 400 answers. Prints the operations where more than half of
them were refused, and the fraction of such operations. A measurement, not a test:

    .venv/bin/python gateway/tests/measure_refusals.py [examples per operation, default 10]
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform, Ports
from salesgrid_dev.gateway_client import test_client

from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings


def main(examples: int) -> None:
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    schema = schemathesis.openapi.from_dict(test_client(app).get("/openapi.json").get_json())
    platform = Platform(
        Path(tempfile.mkdtemp(prefix="refusals")),
        Ports.free(),
        gateway_workers=2,
        settings={"SALESGRID_GATEWAY__RATE_LIMIT_PER_MINUTE": "1000000"},
    ).start()
    try:
        login = httpx.post(
            f"{platform.gateway_url}/v1/auth/login", json={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}
        )
        token = login.json()["access_token"]
        refused: dict[str, tuple[int, int, Counter[str]]] = {}
        with requests.Session() as session:
            for result in schema.get_all_operations():
                operation = result.ok()
                answers: list[int] = []
                fields: Counter[str] = Counter()

                @given(case=operation.as_strategy())
                @settings(
                    max_examples=examples,
                    derandomize=True,
                    database=None,
                    deadline=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                def send(case: schemathesis.Case) -> None:
                    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
                    response = case.call(base_url=platform.gateway_url, session=session, timeout=30)
                    answers.append(response.status_code)
                    if response.status_code == 400:
                        problem = response.json()
                        fields.update(e.get("field", "?") for e in problem.get("errors", [])[:1] or [{"field": "?"}])

                send()
                label = f"{operation.method.upper()} {operation.path}"
                refused[label] = (answers.count(400), len(answers), fields)
    finally:
        platform.stop()
    mostly = {label: value for label, value in refused.items() if value[1] and value[0] * 2 > value[1]}
    for label, (count, total, fields) in sorted(mostly.items()):
        print(f"{count:3}/{total:<3} {label}  {dict(fields.most_common(4))}")
    print(f"operations with > half of the schema-valid requests refused (400): {len(mostly)} of {len(refused)}")
    print(f"requests refused: {sum(v[0] for v in refused.values())} of {sum(v[1] for v in refused.values())}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
