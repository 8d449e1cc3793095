"""`python -m salesgrid_identity serve|migrate|bootstrap`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.clock import utc_now
from salesgrid_identity.app import DEFINITION, MIGRATIONS
from salesgrid_identity.keys import SigningKeys
from salesgrid_identity.settings import IdentitySettings
from salesgrid_identity.usecases import IdentityUseCases


def bootstrap(settings: IdentitySettings, options: argparse.Namespace) -> int:  # type: ignore[override]
    """Create the company root and first admin; the password comes from SALESGRID_ADMIN_PASSWORD."""
    login = os.environ.get("SALESGRID_ADMIN_LOGIN", "admin")
    password = os.environ.get("SALESGRID_ADMIN_PASSWORD")
    if not password:
        print("SALESGRID_ADMIN_PASSWORD is required for bootstrap", file=sys.stderr)
        return 2

    async def run() -> str:
        engine = create_engine(settings.database_url)
        try:
            keys = SigningKeys(settings.private_key_pem(), settings.signing_key_id, settings.retired_public_keys)
            usecases = IdentityUseCases(session_factory(engine), Outbox("identity"), settings, keys, utc_now)
            return await usecases.bootstrap_admin(
                login,
                password,
                os.environ.get("SALESGRID_COMPANY_NAME", "Salesgrid Demo Co."),
                os.environ.get("SALESGRID_COMPANY_TIME_ZONE", "Asia/Shanghai"),
                os.environ.get("SALESGRID_COMPANY_CURRENCY", "CNY"),
            )
        finally:
            await engine.dispose()

    print(asyncio.run(run()))
    return 0


if __name__ == "__main__":
    sys.exit(
        run_service_cli(DEFINITION, MIGRATIONS, settings_cls=IdentitySettings, extra_commands={"bootstrap": bootstrap})
    )
