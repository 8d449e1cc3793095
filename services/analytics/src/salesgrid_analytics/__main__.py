"""`python -m salesgrid_analytics serve|migrate|rebuild [DATABASE_URL]`."""

import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_analytics.app import DEFINITION, MIGRATIONS
from salesgrid_analytics.rebuild import RebuildCommand

if __name__ == "__main__":
    sys.exit(run_service_cli(DEFINITION, MIGRATIONS, extra_commands={"rebuild": RebuildCommand(MIGRATIONS)}))
