"""`python -m salesgrid_contracts serve|migrate`."""

import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_contracts.settings import ContractsSettings

if __name__ == "__main__":
    sys.exit(run_service_cli(DEFINITION, MIGRATIONS, settings_cls=ContractsSettings))
