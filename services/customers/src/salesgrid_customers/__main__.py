"""`python -m salesgrid_customers serve|migrate`."""

import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_customers.settings import CustomersSettings

if __name__ == "__main__":
    sys.exit(run_service_cli(DEFINITION, MIGRATIONS, settings_cls=CustomersSettings))
