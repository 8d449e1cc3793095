"""`python -m salesgrid_expenses serve|migrate`."""

import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_expenses.app import DEFINITION, MIGRATIONS
from salesgrid_expenses.settings import ExpensesSettings

if __name__ == "__main__":
    sys.exit(run_service_cli(DEFINITION, MIGRATIONS, settings_cls=ExpensesSettings))
