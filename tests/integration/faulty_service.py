"""`python faulty_service.py <service>`: the service's own `serve`, with one fault injected at a
point of a call made with an idempotency key (salesgrid_common.idempotency), chosen by
SALESGRID_TEST_FAULT:

- `exit-before-commit`: the process dies (os._exit, as kill -9 leaves it) after the use case's
  own commit, before the call's transaction commits;
- `exit-after-commit`: it dies right after the write, its events and the key with the answer
  committed, before the answer is sent;
- `delay-after-commit:<seconds>`: the answer leaves that much later (time to kill a caller)."""

from __future__ import annotations

import asyncio
import os
import runpy
import sys

from salesgrid_common.idempotency.calls import IdempotentCalls

FAULT = os.environ.get("SALESGRID_TEST_FAULT", "")
_keep = IdempotentCalls._keep


async def _keep_with_fault(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    if FAULT == "exit-before-commit":
        os._exit(137)
    kept = await _keep(self, *args, **kwargs)
    if FAULT == "exit-after-commit":
        os._exit(137)
    if FAULT.startswith("delay-after-commit:"):
        await asyncio.sleep(float(FAULT.partition(":")[2]))
    return kept


if __name__ == "__main__":
    IdempotentCalls._keep = _keep_with_fault  # type: ignore[method-assign]
    service = sys.argv[1]
    sys.argv = [f"salesgrid_{service}", "serve"]
    runpy.run_module(f"salesgrid_{service}", run_name="__main__", alter_sys=True)
