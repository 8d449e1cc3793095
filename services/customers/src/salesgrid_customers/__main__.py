"""`python -m salesgrid_customers serve|migrate|restate-customers` (restate.py)."""

import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_customers.restate import restate_command
from salesgrid_customers.settings import CustomersSettings

if __name__ == "__main__":
    sys.exit(
        run_service_cli(
            DEFINITION,
            MIGRATIONS,
            settings_cls=CustomersSettings,
            extra_commands={"restate-customers": restate_command(DEFINITION)},
        )
    )
